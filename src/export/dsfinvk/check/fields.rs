//! Checks of single values: the declared type, MaxLength, Accuracy and Mussfeld flag, the
//! closed value lists and the formats DSFinV-K gives some text columns (timestamps, TSE times,
//! country and currency codes, flags).
//!
//! Which empty Mussfelder are errors comes from the declaration's [`Required`] class: `Always`
//! is an error (DSF024); `IfAvailable` (required only when the recording system has the data)
//! is reported (DSF025) only where the row itself shows that the data exists, see
//! [`data_exists`].

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::Row;
use crate::export::dsfinvk::csv::format_number;
use crate::export::dsfinvk::index_xml::{ColumnSchema, DeclaredType};
use crate::export::dsfinvk::tables::{self, Column, Required};
use crate::model::money::Currency;

const TIMESTAMPS: [&str; 4] = ["Z_ERSTELLUNG", "BON_START", "BON_ENDE", "REF_DATUM"];
const DATES: [&str; 1] = ["Z_BUCHUNGSTAG"];
const TSE_TIMES: [&str; 2] = ["TSE_TA_START", "TSE_TA_ENDE"];
const COUNTRIES: [&str; 4] = ["LAND", "LOC_LAND", "AGENTUR_LAND", "KUNDE_LAND"];
const CURRENCIES: [&str; 3] = ["KASSE_BASISWAEH_CODE", "ZAHLWAEH_CODE", "ZAHLART_WAEH"];
const FLAGS: [&str; 4] = ["KEINE_UST_ZUORDNUNG", "BON_STORNO", "INHAUS", "P_STORNO"];
/// Closing amounts shown with two decimals (C9), as (file, column).
const CLOSING_AMOUNTS: [(&str, &str); 7] = [
    ("cashpointclosing.csv", "Z_SE_ZAHLUNGEN"),
    ("cashpointclosing.csv", "Z_SE_BARZAHLUNGEN"),
    ("businesscases.csv", "Z_UMS_BRUTTO"),
    ("businesscases.csv", "Z_UMS_NETTO"),
    ("businesscases.csv", "Z_UST"),
    ("payment.csv", "Z_ZAHLART_BETRAG"),
    ("cash_per_currency.csv", "ZAHLART_BETRAG_WAEH"),
];

/// Why a number is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumError {
    /// Not `-`, digits, `,`, digits.
    Malformed,
    /// Digits grouped with `.` (`1.234,50`).
    Grouping,
    /// More decimals than allowed.
    TooManyDecimals(usize),
}

/// Parses a DSFinV-K number strictly: optional `-`, digits, optionally `,` and digits.
pub(crate) fn parse_number(s: &str, accuracy: u32) -> Result<Decimal, NumError> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once(',') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return Err(if is_grouped(int) && frac.is_none_or(digits) {
            NumError::Grouping
        } else {
            NumError::Malformed
        });
    }
    let decimals = frac.map_or(0, str::len);
    if decimals > accuracy as usize {
        return Err(NumError::TooManyDecimals(decimals));
    }
    Decimal::from_str_exact(&s.replacen(',', ".", 1)).map_err(|_| NumError::Malformed)
}

/// `1.234` or `12.345.678`: digit groups of three after the first.
fn is_grouped(int: &str) -> bool {
    let mut parts = int.split('.');
    let first = parts.next().unwrap_or("");
    let rest: Vec<&str> = parts.collect();
    !rest.is_empty()
        && (1..=3).contains(&first.len())
        && first.bytes().all(|b| b.is_ascii_digit())
        && rest
            .iter()
            .all(|p| p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A number as the reconciliation reads it: digit grouping is forgiven (DSF020 reports it),
/// so one formatting fault does not also show up as every sum being wrong.
pub(crate) fn lenient_number(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let int = body.split_once(',').map_or(body, |(i, _)| i);
    let cleaned = if is_grouped(int) {
        s.replace('.', "")
    } else {
        s.to_string()
    };
    parse_number(&cleaned, 28).ok()
}

/// A decimal in DSFinV-K notation, for messages.
pub(crate) fn show(d: Decimal) -> String {
    format_number(d, 5).unwrap_or_else(|_| d.to_string())
}

fn is_timestamp(s: &str) -> bool {
    s.len() >= 19
        && s.as_bytes()[10] == b'T'
        && (DateTime::parse_from_rfc3339(s).is_ok()
            || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok())
}

fn is_date(s: &str) -> bool {
    s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn is_tse_time(s: &str) -> bool {
    s.len() == 24
        && s.is_ascii()
        && s.ends_with('Z')
        && s.as_bytes()[10] == b'T'
        && s.as_bytes()[19] == b'.'
        && s[20..23].bytes().all(|b| b.is_ascii_digit())
        && NaiveDateTime::parse_from_str(&s[..19], "%Y-%m-%dT%H:%M:%S").is_ok()
}

fn is_alpha3(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// One problem with a value: check code, expected, found.
pub(crate) type Problem = (&'static str, String, String);

/// Why an empty "if available" Mussfeld's data evidently exists, judged from its own row;
/// `None` when nothing shows it does, which is not a
/// finding: an anonymous sale has no customer, a discount line no article number.
///
/// - KUNDE_NAME, KUNDE_ID, KUNDE_TYP: another customer field of the row is filled, or the
///   Vorgang is an `AVSachbezug`, which must name the employee (spec Anhang B).
/// - ART_NR, MENGE, STK_BR: the line sells goods (`GV_TYP` `Umsatz`), "only if an article line"
///   in the later reading of Anhang G.
/// - ZAHLWAEH_CODE: ZAHLWAEH_BETRAG, the amount in that currency, is filled.
/// - TSE_ZERTIFIKAT_I: always: every certified TSE has a certificate, and without it the
///   public key in TSE_PUBLIC_KEY cannot be tied to one.
/// - TSE_ZERTIFIKAT_II: TSE_ZERTIFIKAT_I is full (1000 characters), so the rest must follow.
pub(crate) fn data_exists(file: &str, name: &str, row: &Row<'_>) -> Option<&'static str> {
    let filled = |c: &str| !row.get(c).is_empty();
    match (file, name) {
        ("transactions.csv", "KUNDE_NAME" | "KUNDE_ID" | "KUNDE_TYP") => {
            if row.get("BON_TYP") == "AVSachbezug" {
                return Some("BON_TYP AVSachbezug names the employee");
            }
            const CUSTOMER: [&str; 8] = [
                "KUNDE_NAME",
                "KUNDE_ID",
                "KUNDE_TYP",
                "KUNDE_STRASSE",
                "KUNDE_PLZ",
                "KUNDE_ORT",
                "KUNDE_LAND",
                "KUNDE_USTID",
            ];
            CUSTOMER
                .iter()
                .any(|c| *c != name && filled(c))
                .then_some("other customer fields are filled")
        }
        ("lines.csv", "ART_NR" | "MENGE" | "STK_BR") => {
            (row.get("GV_TYP") == "Umsatz").then_some("an article line (GV_TYP Umsatz)")
        }
        ("datapayment.csv", "ZAHLWAEH_CODE") => {
            filled("ZAHLWAEH_BETRAG").then_some("ZAHLWAEH_BETRAG is filled")
        }
        ("tse.csv", "TSE_ZERTIFIKAT_I") => Some("every certified TSE has a certificate"),
        ("tse.csv", "TSE_ZERTIFIKAT_II") => (row.get("TSE_ZERTIFIKAT_I").chars().count() >= 1000)
            .then_some("TSE_ZERTIFIKAT_I is full (1000 characters)"),
        _ => Some("the recording system has the data"),
    }
}

/// Checks `value` of column `col` (as index.xml declares it; `decl` is fiskal's declaration
/// of the same column, when it is a DSFinV-K column) of `file`, in `row`.
pub(crate) fn check_value(
    file: &str,
    col: &ColumnSchema,
    decl: Option<&Column>,
    value: &str,
    row: &Row<'_>,
    out: &mut Vec<Problem>,
) {
    let name = col.name.as_str();
    if value.is_empty() {
        match decl.map(|c| c.required) {
            Some(Required::Always) => {
                out.push(("DSF024", "a value (Mussfeld)".into(), "empty".into()))
            }
            Some(Required::IfAvailable) => {
                if let Some(why) = data_exists(file, name, row) {
                    out.push(("DSF025", format!("a value ({why})"), "empty".into()));
                }
            }
            _ => {}
        }
        return;
    }
    match &col.ty {
        DeclaredType::AlphaNumeric { max_len: Some(max) } => {
            let len = value.chars().count();
            if len > *max as usize {
                out.push((
                    "DSF022",
                    format!("at most {max} characters"),
                    format!("{len} characters"),
                ));
            }
        }
        DeclaredType::Numeric { accuracy, .. } => match parse_number(value, *accuracy) {
            Ok(_) => {}
            Err(NumError::TooManyDecimals(n)) => out.push((
                "DSF021",
                format!("at most {accuracy} decimals"),
                format!("{value:?} ({n} decimals)"),
            )),
            Err(NumError::Grouping) => out.push((
                "DSF020",
                "a number without digit grouping".into(),
                format!("{value:?}"),
            )),
            Err(NumError::Malformed) => out.push((
                "DSF020",
                format!("a number with decimal comma and at most {accuracy} decimals"),
                format!("{value:?}"),
            )),
        },
        _ => {}
    }
    if let Some(list) = tables::enum_for(file, name)
        && !list.contains(value)
    {
        out.push((
            "DSF023",
            format!("one of {}", list.values.join(", ")),
            format!("{value:?}"),
        ));
    }
    let bad = |expected: &str| ("", expected.to_string(), format!("{value:?}"));
    let format_problem = if TIMESTAMPS.contains(&name) && !is_timestamp(value) {
        Some(("DSF026", bad("YYYY-MM-DDThh:mm:ss[.f][offset]")))
    } else if DATES.contains(&name) && !is_date(value) {
        Some(("DSF026", bad("YYYY-MM-DD")))
    } else if TSE_TIMES.contains(&name) && !is_tse_time(value) {
        Some(("DSF027", bad("YYYY-MM-DDThh:mm:ss.fffZ")))
    } else if COUNTRIES.contains(&name) && !is_alpha3(value) {
        Some(("DSF028", bad("an ISO 3166 alpha-3 code (DEU)")))
    } else if CURRENCIES.contains(&name) && !(is_alpha3(value) && Currency::parse(value).is_some())
    {
        Some(("DSF028", bad("an ISO 4217 code (EUR)")))
    } else if FLAGS.contains(&name) && value != "0" && value != "1" {
        Some(("DSF029", bad("0 or 1")))
    } else {
        None
    };
    if let Some((code, (_, expected, found))) = format_problem {
        out.push((code, expected, found));
    }
    if CLOSING_AMOUNTS.contains(&(file, name)) {
        let decimals = value.split_once(',').map_or(0, |(_, f)| f.len());
        if decimals != 2 {
            out.push((
                "DSF209",
                "two decimals".into(),
                format!("{value:?} ({decimals} decimals)"),
            ));
        }
    }
}

/// Parses an integer key (UST_SCHLUESSEL, Z_NR), forgiving nothing.
pub(crate) fn integer(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    u64::from_str(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("-12,50", 2), Ok(Decimal::new(-1250, 2)));
        assert_eq!(parse_number("1.234,50", 2), Err(NumError::Grouping));
        assert_eq!(parse_number("1.234", 0), Err(NumError::Grouping));
        assert_eq!(parse_number("1,234", 2), Err(NumError::TooManyDecimals(3)));
        assert_eq!(parse_number("12.5", 2), Err(NumError::Malformed));
        assert_eq!(parse_number(",5", 2), Err(NumError::Malformed));
        assert_eq!(lenient_number("1.234,50"), Some(Decimal::new(123450, 2)));
    }

    #[test]
    fn formats() {
        assert!(is_timestamp("2024-08-24T23:59:00"));
        assert!(is_timestamp("2024-08-24T23:59:00+02:00"));
        assert!(!is_timestamp("24.08.2024 23:59"));
        assert!(is_tse_time("2024-08-24T10:00:40.000Z"));
        assert!(!is_tse_time("2024-08-24T10:00:40Z"));
        assert!(is_date("2024-08-24"));
        assert!(is_alpha3("DEU") && !is_alpha3("DE"));
    }
}
