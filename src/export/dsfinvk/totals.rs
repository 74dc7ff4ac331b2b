//! The totals of each closing of an export ([`ZTotals`]), read from its rows as they are
//! written: cashpointclosing.csv for Z_SE_ZAHLUNGEN and Z_SE_BARZAHLUNGEN, businesscases.csv
//! for the amounts per VAT key, transactions.csv for the Vorgänge.
//!
//! Columns are found by name in the declarations of [`tables`], so a change of column order
//! there cannot shift a total onto another column; amounts go through the CSV writer's own
//! formatting and are read back, so a total is the figure in the file to the cent.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;

use super::Export;
use super::csv::{self, Value};
use super::tables::{self, ColumnType, Table};
use crate::export::{KeyedSums, ZTotals};

impl Export {
    /// Every closing's totals in Z_NR order, `file` left empty: the archive's path is known
    /// only to whoever writes it.
    pub fn z_totals(&self) -> Vec<ZTotals> {
        let closing = Reader::new(&tables::CASHPOINTCLOSING);
        let mut by_z: BTreeMap<u64, ZTotals> = BTreeMap::new();
        let _ = self.each_row::<()>(&tables::CASHPOINTCLOSING, &mut |row| {
            let Some(z_nr) = closing.int(row, "Z_NR") else {
                return Ok(());
            };
            let day = closing.text(row, "Z_BUCHUNGSTAG");
            let business_day = if day.is_empty() {
                DateTime::parse_from_rfc3339(&closing.text(row, "Z_ERSTELLUNG"))
                    .ok()
                    .map(|t| t.date_naive())
            } else {
                NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()
            };
            by_z.insert(
                z_nr,
                ZTotals {
                    format: "dsfinvk",
                    register: closing.text(row, "Z_KASSE_ID"),
                    device: None,
                    z_nr,
                    business_day,
                    by_rate: KeyedSums::default(),
                    gross: Decimal::ZERO,
                    net: Decimal::ZERO,
                    tax: Decimal::ZERO,
                    payments_total: closing.amount(row, "Z_SE_ZAHLUNGEN"),
                    cash: closing.amount(row, "Z_SE_BARZAHLUNGEN"),
                    documents: 0,
                    resi: None,
                    annulli: None,
                    file: String::new(),
                },
            );
            Ok(())
        });
        let cases = Reader::new(&tables::BUSINESSCASES);
        let _ = self.each_row::<()>(&tables::BUSINESSCASES, &mut |row| {
            let Some(z) = cases.int(row, "Z_NR").and_then(|z| by_z.get_mut(&z)) else {
                return Ok(());
            };
            let rate = match cases.int(row, "UST_SCHLUESSEL") {
                Some(key) => rate_of_key(key),
                None => cases.text(row, "UST_SCHLUESSEL"),
            };
            let a = z.by_rate.slot(&rate);
            // Only amounts of at least 10^28 could overflow; the report must not panic on them.
            a.gross = a.gross.saturating_add(cases.amount(row, "Z_UMS_BRUTTO"));
            a.net = a.net.saturating_add(cases.amount(row, "Z_UMS_NETTO"));
            a.tax = a.tax.saturating_add(cases.amount(row, "Z_UST"));
            Ok(())
        });
        let transactions = Reader::new(&tables::TRANSACTIONS);
        let _ = self.each_row::<()>(&tables::TRANSACTIONS, &mut |row| {
            if let Some(z) = transactions.int(row, "Z_NR").and_then(|z| by_z.get_mut(&z)) {
                z.documents += 1;
            }
            Ok(())
        });
        by_z.into_values()
            .map(|mut z| {
                z.sum_rates();
                z
            })
            .collect()
    }
}

/// UST_SATZ of a VAT key as vat.csv states it, with a decimal point (`19.00`). Keys 1000 and
/// up are the business's own and have no rate fiskal knows; they keep their number.
fn rate_of_key(key: u64) -> String {
    u32::try_from(key)
        .ok()
        .and_then(tables::ust_schluessel_entry)
        .map_or_else(
            || format!("UST_SCHLUESSEL {key}"),
            |u| u.rate_percent().to_string(),
        )
}

/// Cells of one table's rows by column name.
struct Reader {
    table: &'static Table,
}

impl Reader {
    fn new(table: &'static Table) -> Reader {
        Reader { table }
    }

    fn column(&self, name: &str) -> Option<(usize, &'static tables::Column)> {
        let column = self.table.column(name);
        debug_assert!(column.is_some(), "{} has no column {name}", self.table.file);
        column
    }

    fn cell<'r>(&self, row: &'r [Value<'r>], name: &str) -> Option<&'r Value<'r>> {
        let (i, _) = self.column(name)?;
        row.get(i)
    }

    /// The cell's text as [`super::Cell::text`] gives it.
    fn text(&self, row: &[Value<'_>], name: &str) -> String {
        match self.cell(row, name) {
            Some(Value::Text(s)) => (*s).to_string(),
            Some(Value::Int(v)) => v.to_string(),
            Some(Value::Dec(v)) => v.to_string(),
            Some(Value::Empty) | None => String::new(),
        }
    }

    fn int(&self, row: &[Value<'_>], name: &str) -> Option<u64> {
        self.text(row, name).parse().ok()
    }

    /// The amount as the CSV shows it: rounded to the column's accuracy by the writer's own
    /// formatting and read back. Empty is zero, as an empty amount adds nothing.
    fn amount(&self, row: &[Value<'_>], name: &str) -> Decimal {
        let Some((_, column)) = self.column(name) else {
            return Decimal::ZERO;
        };
        let value = match self.cell(row, name) {
            Some(Value::Int(v)) => Decimal::from(*v),
            Some(Value::Dec(v)) => *v,
            _ => return Decimal::ZERO,
        };
        let ColumnType::Numeric { accuracy } = column.ty else {
            return value;
        };
        csv::format_number(value, accuracy)
            .ok()
            .and_then(|s| s.replace(csv::DECIMAL_SYMBOL, ".").parse().ok())
            .unwrap_or(value)
    }
}
