//! DSFinV-K: the German tax-audit export of a register's closings (DSFinV-K 2.4).
//!
//! An export is one folder or zip with 20 CSV files, `index.xml` describing them and the
//! GDPdU DTD `index.xml` names (DSFinV-K spec §1.1). Its foundation lives here:
//!
//! - [`tables`]: the 20 tables declared once (file, IDEA name, module, typed columns with
//!   their Mussfeld flag), the closed value lists and the VAT keys;
//! - [`index_xml`]: index.xml rendered from those declarations, byte for byte the official
//!   file but for `DataSupplier`, and a reader for the index.xml of any export;
//! - [`csv`]: the CSV dialect and [`csv::TableWriter`], which checks every value against its
//!   column and never truncates;
//! - [`check`]: the validator of any export (`fiskal verify dsfinvk`), with its catalog of
//!   checks.
//!
//! The exporter builds on it:
//!
//! - [`closing`]: one register's operations grouped into Kassenabschlüsse;
//! - [`mapping`]: one operation as Vorgänge (header, lines, payments, TSE transaction,
//!   references);
//! - [`export`] here: all 20 tables of one register's closings from those Vorgänge and the
//!   master data, and [`Export::to_zip`] / [`Export::write`] for the archive;
//! - `totals`: [`Export::z_totals`], each closing's totals as the archive states them.
//!
//! Memory: an export holds one register's KassenSichV operations and its rows at a time (a
//! closing's aggregates need all its Vorgänge, and references need the closings of earlier
//! ones), the rows packed into bytes (`rows`); [`Collector`] gathers the operations per
//! register from the stream and drops every register of another regime as soon as it shows
//! one.
//!
//! docs/dsfinvk.md describes the format choices for users, docs/dsfinvk-mapping.md how
//! operations become rows.

pub mod check;
pub mod closing;
mod collect;
pub mod csv;
pub mod index_xml;
pub mod mapping;
mod rows;
pub mod tables;
mod totals;

#[cfg(test)]
mod export_tests;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate};
use chrono_tz::Tz;
use rayon::prelude::*;
use rust_decimal::Decimal;

use crate::model::masterdata::MasterData;
use crate::model::{Fiscal, Operation, OperationKind};
pub use collect::{Collected, Collector, Gathered, SPILL_AFTER, SpillFile};
use mapping::{Context, Target, Vorgang};
use rows::Rows;
use tables::{TABLES, Table};

/// TAXONOMIE_VERSION written into cashpointclosing.csv: the DSFinV-K version of the tables.
pub const TAXONOMIE_VERSION: &str = "2.4";

/// Why an export could not be made.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Master data the Stamm tables need is missing or unusable.
    #[error("register {register}: {message}")]
    MasterData {
        /// The register being exported.
        register: String,
        /// What is missing, naming the entry and the column that needs it.
        message: String,
    },
    /// An operation cannot be expressed in DSFinV-K.
    #[error("operation {operation}: {message}")]
    Operation {
        /// The operation id.
        operation: String,
        /// Why, naming the line or value.
        message: String,
    },
    /// A value does not fit its column.
    #[error(transparent)]
    Csv(#[from] csv::Error),
    /// index.xml could not be rendered (a DataSupplier value XML cannot hold).
    #[error("index.xml: {0}")]
    IndexXml(String),
    /// The zip archive could not be built.
    #[error("building the archive: {0}")]
    Zip(String),
    /// The archive could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The archive.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The register's operations could not be read back from the collector's spill file.
    #[error("register {register}: spilled operations: {message}")]
    Spill {
        /// The register.
        register: String,
        /// What failed.
        message: String,
    },
}

/// Export options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// Local hour (0–23) a business day starts for registers without session records.
    pub cutoff_hour: u32,
}

/// One cell of a row, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Text.
    Text(String),
    /// Text many rows repeat (the closing key, a Vorgang's BON_ID): shared, not copied per row.
    Shared(Arc<str>),
    /// Text fixed in the program (value-list entries, flags): no copy at all.
    Fixed(&'static str),
    /// An integer.
    Int(i64),
    /// A decimal number.
    Dec(Decimal),
    /// Empty.
    Empty,
}

impl Cell {
    /// The cell as text (numbers as their digits); empty for an empty cell.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone(),
            Cell::Shared(s) => s.to_string(),
            Cell::Fixed(s) => (*s).to_string(),
            Cell::Int(v) => v.to_string(),
            Cell::Dec(v) => v.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

fn text(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

fn fixed(s: &'static str) -> Cell {
    Cell::Fixed(s)
}

fn shared(s: &Arc<str>) -> Cell {
    Cell::Shared(Arc::clone(s))
}

fn opt_text(s: Option<impl Into<String>>) -> Cell {
    s.map_or(Cell::Empty, |s| Cell::Text(s.into()))
}

fn dec(v: Decimal) -> Cell {
    Cell::Dec(v)
}

fn int(v: u64) -> Cell {
    i64::try_from(v).map_or_else(|_| Cell::Text(v.to_string()), Cell::Int)
}

/// One DSFinV-K export: the 20 tables of one register's closings.
#[derive(Debug, Clone)]
pub struct Export {
    /// The register (Z_KASSE_ID).
    pub register_id: String,
    /// Business day of the first closing.
    pub first_day: NaiveDate,
    /// Business day of the last closing.
    pub last_day: NaiveDate,
    /// Number of closings.
    pub n_closings: usize,
    /// Number of Vorgänge (transactions.csv rows).
    pub n_vorgaenge: usize,
    /// Operations in no closing (sessions not closed yet).
    pub left_out: usize,
    /// Where a later export of the register goes on from.
    pub continuation: Continuation,
    /// index.xml DataSupplier Name and Location.
    pub supplier: (String, String),
    /// tse.csv as written: [`tables::TSE`], with TSE_ZERTIFIKAT_III… when a certificate
    /// needs them.
    tse_table: &'static Table,
    rows: Vec<Rows>,
}

impl Export {
    /// The rows of `table`, as cells (texts as [`Cell::Text`]).
    pub fn rows(&self, table: &Table) -> Vec<Vec<Cell>> {
        self.packed(table).map(Rows::cells).unwrap_or_default()
    }

    /// Calls `f` with the values of every row of `table` in order, padded to its written
    /// width.
    fn each_row<E>(
        &self,
        table: &'static Table,
        f: &mut dyn FnMut(&[csv::Value<'_>]) -> Result<(), E>,
    ) -> Result<(), E> {
        match self.packed(table) {
            Some(rows) => rows.for_each(self.as_written(table).columns.len(), f),
            None => Ok(()),
        }
    }

    fn packed(&self, table: &Table) -> Option<&Rows> {
        table_index(table).and_then(|i| self.rows.get(i))
    }

    /// The 20 tables as written, in index.xml order: [`TABLES`], with tse.csv widened when
    /// a certificate is longer than two columns hold.
    pub fn tables(&self) -> Vec<&'static Table> {
        TABLES.iter().map(|t| self.as_written(t)).collect()
    }

    /// `table` as this export writes it: tse.csv with its certificate columns, any other
    /// table as declared.
    fn as_written(&self, table: &'static Table) -> &'static Table {
        if table.file == tables::TSE.file {
            self.tse_table
        } else {
            table
        }
    }

    /// The archive's file name: `<register_id>_<first day>_<last day>.zip`.
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}.zip",
            self.register_id, self.first_day, self.last_day
        )
    }

    /// One table as CSV bytes (tse.csv with as many certificate columns as it needs).
    pub fn csv(&self, table: &'static Table) -> Result<Vec<u8>, Error> {
        let mut w = csv::TableWriter::new(self.as_written(table), Vec::new())?;
        self.each_row(table, &mut |row| w.write_row(row))?;
        Ok(w.finish()?)
    }

    /// index.xml with the merchant as DataSupplier.
    pub fn index_xml(&self) -> Result<Vec<u8>, Error> {
        let supplier = index_xml::DataSupplier {
            name: &self.supplier.0,
            location: &self.supplier.1,
            comment: index_xml::DataSupplier::OFFICIAL.comment,
        };
        index_xml::render(&supplier, &self.tables()).map_err(|e| Error::IndexXml(e.to_string()))
    }

    /// The zip archive: the 20 CSVs in index.xml order, index.xml and the DTD, deflated,
    /// every entry dated 1980-01-01 00:00 so that the same export gives the same bytes.
    pub fn to_zip(&self) -> Result<Vec<u8>, Error> {
        use zip::write::SimpleFileOptions;
        let zerr = |e: zip::result::ZipError| Error::Zip(e.to_string());
        // Deflate level 1: about three times faster than the default 6 for archives about
        // 40 % larger (7.2 MB → 10.3 MB for 40,000 operations, docs/performance.md); an
        // export is written every night and read once.
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let mut put = |name: &str, bytes: &[u8]| -> Result<(), Error> {
            zip.start_file(name, options).map_err(zerr)?;
            zip.write_all(bytes).map_err(|e| Error::Zip(e.to_string()))
        };
        // The tables are independent: rendered in parallel, added in index.xml order (and the
        // first failing table in that order reported, as a serial run would).
        let tables = self.tables();
        let csvs: Vec<Result<Vec<u8>, Error>> = tables.par_iter().map(|t| self.csv(t)).collect();
        for (table, csv) in tables.iter().zip(csvs) {
            put(table.file, &csv?)?;
        }
        put("index.xml", &self.index_xml()?)?;
        put(DTD_FILE_NAME, DTD)?;
        Ok(zip.finish().map_err(zerr)?.into_inner())
    }

    /// Writes the archive into `dir` (through a temporary file renamed when complete) and
    /// returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, Error> {
        let path = dir.join(self.file_name());
        let bytes = self.to_zip()?;
        crate::fsutil::write_atomic(&path, &bytes).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

/// ISO 3166 alpha-3 of an alpha-2 country code (LAND, LOC_LAND).
pub fn alpha3(alpha2: &str) -> Option<&'static str> {
    Some(match alpha2.to_ascii_uppercase().as_str() {
        "DE" => "DEU",
        "AT" => "AUT",
        "IT" => "ITA",
        "CH" => "CHE",
        "FR" => "FRA",
        "NL" => "NLD",
        "BE" => "BEL",
        "LU" => "LUX",
        "DK" => "DNK",
        "PL" => "POL",
        "CZ" => "CZE",
        "ES" => "ESP",
        _ => return None,
    })
}

/// Builds the DSFinV-K tables of every closing of `register_id` from its operations `ops`
/// (all KassenSichV, all of that register) and the master data. `Ok(None)` when no closing is
/// complete.
pub fn export(
    register_id: &str,
    ops: &[Operation],
    md: &MasterData,
    options: &Options,
) -> Result<Option<Export>, Error> {
    export_continuing(register_id, ops, md, options, &Continuation::default())
}

/// Where an earlier export of the same register stopped: a nightly run (`audit --state`)
/// numbers its closings on from there and points references at originals exported before.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Continuation {
    /// Z_NR of the last closing exported so far (0: none).
    pub last_z_nr: u64,
    /// Where the goods operations exported so far landed, by operation id: what a later
    /// return, void or exchange references (REF_Z_NR, REF_DATUM, REF_BON_ID).
    pub targets: BTreeMap<String, CarriedTarget>,
}

/// An operation's place in an earlier export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CarriedTarget {
    /// Z_NR of its closing.
    pub z_nr: u64,
    /// Its BON_ENDE, as written.
    pub bon_ende: DateTime<FixedOffset>,
}

/// [`export`], continuing `earlier`: Z_NR goes on from `earlier.last_z_nr`, and references
/// to operations of earlier exports point into them. The export's
/// [`Export::continuation`] is where the next one goes on from.
pub fn export_continuing(
    register_id: &str,
    ops: &[Operation],
    md: &MasterData,
    options: &Options,
    earlier: &Continuation,
) -> Result<Option<Export>, Error> {
    let md_err = |message: String| Error::MasterData {
        register: register_id.to_string(),
        message,
    };
    let register = md
        .register(register_id)
        .ok_or_else(|| md_err("not in the master data (cashregister.csv needs it)".into()))?;
    let location = md.location(&register.location_id).ok_or_else(|| {
        md_err(format!(
            "location {:?} not in the master data (location.csv needs it)",
            register.location_id
        ))
    })?;
    let merchant = md.merchant(&location.merchant_id).ok_or_else(|| {
        md_err(format!(
            "merchant {:?} not in the master data (cashpointclosing.csv needs it)",
            location.merchant_id
        ))
    })?;
    let tz: Tz = location
        .time_zone
        .parse()
        .map_err(|_| md_err(format!("location {}: bad time zone", location.id)))?;
    let land = |code: &str, what: &str| {
        alpha3(code)
            .ok_or_else(|| md_err(format!("{what}: no ISO alpha-3 code known for {code:?}")))
    };
    let merchant_land = land(&merchant.country, "merchant country (LAND)")?;
    let location_land = land(&location.country, "location country (LOC_LAND)")?;
    let stnr = merchant.tax_number.clone().ok_or_else(|| {
        md_err(format!(
            "merchant {} has no tax_number (STNR is a Mussfeld of cashpointclosing.csv)",
            merchant.id
        ))
    })?;

    let grouping = closing::group(ops, tz, options.cutoff_hour)?;
    let by_id: HashMap<&str, &Operation> = ops.iter().map(|o| (o.id.as_str(), o)).collect();
    // A closing whose operations give no Vorgang (only a sale abandoned before the TSE
    // started, say) would have no first and last BON_ID; it is dropped and the others
    // renumbered, so that Z_NR stays gap-free.
    let no_targets = HashMap::new();
    let probe = Context {
        tz,
        by_id: &by_id,
        targets: &no_targets,
    };
    let mut closings = grouping.closings;
    closings.retain(|c| {
        c.operations
            .iter()
            .any(|op| mapping::map_operation(op, &probe).map_or(true, |v| !v.is_empty()))
    });
    if closings.is_empty() {
        return Ok(None);
    }
    for (i, c) in closings.iter_mut().enumerate() {
        c.z_nr = earlier.last_z_nr + i as u64 + 1;
    }
    let mut targets: HashMap<&str, Target> = earlier
        .targets
        .iter()
        .map(|(id, t)| {
            (
                id.as_str(),
                Target {
                    z_nr: t.z_nr,
                    bon_id: id.clone(),
                    bon_ende: t.bon_ende,
                },
            )
        })
        .collect();
    for c in &closings {
        for op in &c.operations {
            let end = closing::effective_utc(op)?;
            targets.insert(
                op.id.as_str(),
                Target {
                    z_nr: c.z_nr,
                    bon_id: op.id.clone(),
                    bon_ende: end.with_timezone(&tz).fixed_offset(),
                },
            );
        }
    }
    let mut continuation = Continuation {
        last_z_nr: earlier.last_z_nr + closings.len() as u64,
        targets: earlier.targets.clone(),
    };
    for c in &closings {
        // Only what a later operation can reference: the goods movements and deposits.
        for op in c
            .operations
            .iter()
            .filter(|o| o.kind.moves_goods() || o.kind == OperationKind::Deposit)
        {
            if let Some(t) = targets.get(op.id.as_str()) {
                continuation.targets.insert(
                    op.id.clone(),
                    CarriedTarget {
                        z_nr: t.z_nr,
                        bon_ende: t.bon_ende,
                    },
                );
            }
        }
    }
    let ctx = Context {
        tz,
        by_id: &by_id,
        targets: &targets,
    };
    // KASSE_SERIENNR is the client id the TSE signed for, so that signatures can be checked
    // from the export alone (spec §5.2); the hardware serial only when nothing was signed.
    let client_id = ops
        .iter()
        .find_map(|o| match &o.fiscal {
            Some(Fiscal::KassenSichV(t)) => t.client_id.clone().or_else(|| {
                let qr = t.qr_data.as_deref()?;
                crate::regime::kassensichv::qr::split_qr(qr)
                    .ok()
                    .map(|q| q.client_id.to_string())
            }),
            _ => None,
        })
        .unwrap_or_else(|| register.serial.clone());

    let mut rows: Vec<Rows> = vec![Rows::default(); TABLES.len()];
    let mut n_vorgaenge = 0;
    let kasse: Arc<str> = Arc::from(register_id);
    for c in &closings {
        let mut vorgaenge: Vec<Vorgang> = Vec::new();
        for op in &c.operations {
            vorgaenge.extend(mapping::map_operation(op, &ctx)?);
        }
        // BON_NR must be unique in the closing: the operation's own number where it has one,
        // else the Vorgang's position.
        let mut used: BTreeSet<u64> = vorgaenge.iter().filter_map(|v| v.bon_nr).collect();
        let mut next = 1u64;
        for v in &mut vorgaenge {
            if v.bon_nr.is_none() {
                while used.contains(&next) {
                    next += 1;
                }
                v.bon_nr = Some(next);
                used.insert(next);
            }
        }
        n_vorgaenge += vorgaenge.len();
        let key = ClosingKey {
            kasse: Arc::clone(&kasse),
            erstellung: Arc::from(csv::timestamp_local(c.created)),
            z_nr: c.z_nr,
        };
        let mut b = Builder {
            key: &key,
            rows: &mut rows,
        };
        build_einzel(&mut b, &vorgaenge)?;
        build_tse(&mut b, &vorgaenge, md, register_id)?;
        let (z_se, z_bar) = build_aggregates(&mut b, &vorgaenge, &register.base_currency)?;
        build_vat(&mut b, &vorgaenge);
        let buchungstag = (c.business_day != c.created.date_naive())
            .then(|| c.business_day.format("%Y-%m-%d").to_string());
        b.push(
            &tables::CASHPOINTCLOSING,
            [
                ("Z_BUCHUNGSTAG", opt_text(buchungstag)),
                ("TAXONOMIE_VERSION", fixed(TAXONOMIE_VERSION)),
                (
                    "Z_START_ID",
                    opt_text(vorgaenge.first().map(|v| v.bon_id.clone())),
                ),
                (
                    "Z_ENDE_ID",
                    opt_text(vorgaenge.last().map(|v| v.bon_id.clone())),
                ),
                ("NAME", text(&merchant.name)),
                ("STRASSE", text(&merchant.street)),
                ("PLZ", text(&merchant.postal_code)),
                ("ORT", text(&merchant.city)),
                ("LAND", fixed(merchant_land)),
                ("STNR", text(&stnr)),
                ("USTID", opt_text(merchant.vat_id.clone())),
                ("Z_SE_ZAHLUNGEN", dec(z_se)),
                ("Z_SE_BARZAHLUNGEN", dec(z_bar)),
            ],
        );
        b.push(
            &tables::LOCATION,
            [
                ("LOC_NAME", text(&location.name)),
                ("LOC_STRASSE", text(&location.street)),
                ("LOC_PLZ", text(&location.postal_code)),
                ("LOC_ORT", text(&location.city)),
                ("LOC_LAND", fixed(location_land)),
                ("LOC_USTID", opt_text(merchant.vat_id.clone())),
            ],
        );
        b.push(
            &tables::CASHREGISTER,
            [
                ("KASSE_BRAND", text(&register.brand)),
                ("KASSE_MODELL", text(&register.model)),
                ("KASSE_SERIENNR", text(&client_id)),
                ("KASSE_SW_BRAND", text(&register.software_brand)),
                ("KASSE_SW_VERSION", text(&register.software_version)),
                ("KASSE_BASISWAEH_CODE", text(&register.base_currency)),
                // Key 7 (UmsatzsteuerNichtErmittelbar) is never used.
                ("KEINE_UST_ZUORDNUNG", fixed("0")),
            ],
        );
    }
    let tse_table = widen_certificate_columns(&rows);
    let first_day = closings
        .iter()
        .map(|c| c.business_day)
        .min()
        .unwrap_or_default();
    let last_day = closings
        .iter()
        .map(|c| c.business_day)
        .max()
        .unwrap_or_default();
    Ok(Some(Export {
        register_id: register_id.to_string(),
        first_day,
        last_day,
        n_closings: closings.len(),
        n_vorgaenge,
        left_out: grouping.left_out,
        continuation,
        supplier: (
            merchant.name.clone(),
            format!(
                "{}, {} {}",
                merchant.street, merchant.postal_code, merchant.city
            ),
        ),
        tse_table,
        rows,
    }))
}

/// The declaration of tse.csv as wide as its widest row (a certificate of more than 2000
/// characters adds TSE_ZERTIFIKAT_III…); shorter rows are padded when written.
fn widen_certificate_columns(rows: &[Rows]) -> &'static Table {
    let Some(tse_rows) = table_index(&tables::TSE).and_then(|i| rows.get(i)) else {
        return &tables::TSE;
    };
    let width = tse_rows.widest().max(tables::TSE.columns.len());
    tables::tse_with_certificate_parts(width + 2 - tables::TSE.columns.len())
}

/// The position of `table` in [`TABLES`], which is also its slot in an export's rows.
fn table_index(table: &Table) -> Option<usize> {
    TABLES.iter().position(|t| t.file == table.file)
}

struct ClosingKey {
    kasse: Arc<str>,
    erstellung: Arc<str>,
    z_nr: u64,
}

struct Builder<'a> {
    key: &'a ClosingKey,
    rows: &'a mut Vec<Rows>,
}

impl Builder<'_> {
    /// Appends a row of `table`: the closing key, then the named cells, the rest empty.
    fn push<const N: usize>(&mut self, table: &'static Table, cells: [(&'static str, Cell); N]) {
        let mut row = vec![Cell::Empty; table.columns.len()];
        row[0] = shared(&self.key.kasse);
        row[1] = shared(&self.key.erstellung);
        row[2] = int(self.key.z_nr);
        for (name, cell) in cells {
            match table.column(name) {
                Some((i, _)) => row[i] = cell,
                None => debug_assert!(false, "{} has no column {name}", table.file),
            }
        }
        if let Some(i) = table_index(table) {
            self.rows[i].push(row);
        }
    }

    /// Appends `cells` to the last row of `table`: columns beyond its declaration (the
    /// certificate parts TSE_ZERTIFIKAT_III… of tse.csv).
    fn extend_last(&mut self, table: &'static Table, cells: impl Iterator<Item = Cell>) {
        if let Some(i) = table_index(table) {
            self.rows[i].extend_last(cells);
        }
    }
}

fn build_einzel(b: &mut Builder<'_>, vorgaenge: &[Vorgang]) -> Result<(), Error> {
    for v in vorgaenge {
        let bon_id: Arc<str> = Arc::from(v.bon_id.as_str());
        b.push(
            &tables::TRANSACTIONS,
            [
                ("BON_ID", shared(&bon_id)),
                ("BON_NR", int(v.bon_nr.unwrap_or_default())),
                ("BON_TYP", fixed(v.bon_typ)),
                ("BON_STORNO", csv_flag(v.storno)),
                ("BON_START", text(csv::timestamp_local(v.start))),
                ("BON_ENDE", text(csv::timestamp_local(v.end))),
                ("BEDIENER_ID", text(&v.cashier.0)),
                ("BEDIENER_NAME", opt_text(v.cashier.1.clone())),
                ("UMS_BRUTTO", dec(v.ums_brutto)),
                ("KUNDE_NAME", opt_text(v.customer.0.clone())),
                ("KUNDE_ID", opt_text(v.customer.1.clone())),
                ("KUNDE_USTID", opt_text(v.customer.2.clone())),
                ("BON_NOTIZ", opt_text(v.notiz.clone())),
            ],
        );
        for p in &v.payments {
            b.push(
                &tables::DATAPAYMENT,
                [
                    ("BON_ID", shared(&bon_id)),
                    ("ZAHLART_TYP", fixed(p.typ)),
                    ("ZAHLART_NAME", opt_text(p.name.clone())),
                    ("ZAHLWAEH_CODE", text(&p.currency)),
                    ("ZAHLWAEH_BETRAG", p.foreign_amount.map_or(Cell::Empty, dec)),
                    ("BASISWAEH_BETRAG", dec(p.base_amount)),
                ],
            );
        }
        for (i, l) in v.lines.iter().enumerate() {
            let pos: Arc<str> = Arc::from((i + 1).to_string());
            b.push(
                &tables::LINES,
                [
                    ("BON_ID", shared(&bon_id)),
                    ("POS_ZEILE", shared(&pos)),
                    ("GUTSCHEIN_NR", opt_text(l.gutschein_nr.clone())),
                    ("ARTIKELTEXT", text(&l.text)),
                    ("GV_TYP", fixed(l.gv_typ)),
                    ("P_STORNO", fixed("0")),
                    ("ART_NR", opt_text(l.art_nr.clone())),
                    ("MENGE", l.menge.map_or(Cell::Empty, dec)),
                    ("EINHEIT", opt_text(l.einheit.clone())),
                    ("STK_BR", l.stk_br.map_or(Cell::Empty, dec)),
                ],
            );
            b.push(
                &tables::LINES_VAT,
                [
                    ("BON_ID", shared(&bon_id)),
                    ("POS_ZEILE", shared(&pos)),
                    ("UST_SCHLUESSEL", int(u64::from(l.key))),
                    ("POS_BRUTTO", dec(l.brutto)),
                    ("POS_NETTO", dec(l.netto)),
                    ("POS_UST", dec(l.ust)),
                ],
            );
            if let Some((base, discount)) = l.price_parts {
                for (typ, amount) in [("base_amount", base), ("discount", discount)] {
                    b.push(
                        &tables::ITEMAMOUNTS,
                        [
                            ("BON_ID", shared(&bon_id)),
                            ("POS_ZEILE", shared(&pos)),
                            ("TYP", fixed(typ)),
                            ("UST_SCHLUESSEL", int(u64::from(l.key))),
                            ("PF_BRUTTO", dec(amount)),
                        ],
                    );
                }
            }
        }
        // transactions_vat: the Vorgang's VAT split per key, from its lines.
        let mut per_key: BTreeMap<u32, (Decimal, Decimal, Decimal)> = BTreeMap::new();
        for l in &v.lines {
            let e = per_key.entry(l.key).or_default();
            *e = (
                checked(e.0, l.brutto, &v.bon_id)?,
                checked(e.1, l.netto, &v.bon_id)?,
                checked(e.2, l.ust, &v.bon_id)?,
            );
        }
        for (key, (brutto, netto, ust)) in per_key {
            b.push(
                &tables::TRANSACTIONS_VAT,
                [
                    ("BON_ID", shared(&bon_id)),
                    ("UST_SCHLUESSEL", int(u64::from(key))),
                    ("BON_BRUTTO", dec(brutto)),
                    ("BON_NETTO", dec(netto)),
                    ("BON_UST", dec(ust)),
                ],
            );
        }
        for r in &v.refs {
            let (datum, z_kasse, z_nr) = match r.target {
                Some((datum, z_nr)) => (
                    text(csv::timestamp_local(datum)),
                    shared(&b.key.kasse),
                    int(z_nr),
                ),
                None if r.typ == "Transaktion" => (
                    text(csv::timestamp_local(v.end)),
                    shared(&b.key.kasse),
                    int(b.key.z_nr),
                ),
                None => (Cell::Empty, Cell::Empty, Cell::Empty),
            };
            b.push(
                &tables::REFERENCES,
                [
                    ("BON_ID", shared(&bon_id)),
                    ("REF_TYP", fixed(r.typ)),
                    ("REF_NAME", opt_text(r.name)),
                    ("REF_DATUM", datum),
                    ("REF_Z_KASSE_ID", z_kasse),
                    ("REF_Z_NR", z_nr),
                    ("REF_BON_ID", text(&r.bon_id)),
                ],
            );
        }
    }
    Ok(())
}

fn csv_flag(on: bool) -> Cell {
    fixed(if on { "1" } else { "0" })
}

fn checked(a: Decimal, b: Decimal, bon_id: &str) -> Result<Decimal, Error> {
    a.checked_add(b).ok_or_else(|| Error::Operation {
        operation: bon_id.to_string(),
        message: "amounts overflow".into(),
    })
}

/// tse.csv and transactions_tse.csv; TSE_ID numbers the TSEs of the closing in order of first
/// use.
fn build_tse(
    b: &mut Builder<'_>,
    vorgaenge: &[Vorgang],
    md: &MasterData,
    register_id: &str,
) -> Result<(), Error> {
    let mut serials: Vec<String> = Vec::new();
    for v in vorgaenge {
        let Some(t) = &v.tse else { continue };
        let bon_id: Arc<str> = Arc::from(v.bon_id.as_str());
        let tse_id = match serials.iter().position(|s| *s == t.serial) {
            Some(i) => i + 1,
            None => {
                serials.push(t.serial.clone());
                let known = md
                    .tse
                    .iter()
                    .find(|x| x.serial.eq_ignore_ascii_case(&t.serial));
                let missing = |what: &str| Error::MasterData {
                    register: register_id.to_string(),
                    message: format!(
                        "TSE {}: {what} unknown (neither in the master data nor in the fiscal block)",
                        t.serial
                    ),
                };
                let public_key = known
                    .map(|k| k.public_key.clone())
                    .or_else(|| t.public_key.clone())
                    .ok_or_else(|| missing("public key (TSE_PUBLIC_KEY)"))?;
                let algorithm = known
                    .map(|k| k.signature_algorithm.clone())
                    .or_else(|| t.algorithm.clone())
                    .ok_or_else(|| missing("signature algorithm (TSE_SIG_ALGO)"))?;
                let time_format = known
                    .map(|k| k.time_format.clone())
                    .or_else(|| t.time_format.clone())
                    .ok_or_else(|| missing("time format (TSE_ZEITFORMAT)"))?;
                let cert = known
                    .and_then(|k| k.certificate.clone())
                    .unwrap_or_default();
                // 1000 characters per column; parts beyond the second go into
                // TSE_ZERTIFIKAT_III… (DSFinV-K 2.2 §3.2.7, Anhang E 7).
                let chars: Vec<char> = cert.chars().collect();
                let mut parts = chars
                    .chunks(tables::CERTIFICATE_PART_LEN)
                    .map(|c| Cell::Text(c.iter().collect()));
                let first = parts.next().unwrap_or(Cell::Empty);
                let second = parts.next().unwrap_or(Cell::Empty);
                b.push(
                    &tables::TSE,
                    [
                        ("TSE_ID", int(serials.len() as u64)),
                        ("TSE_SERIAL", text(t.serial.to_ascii_lowercase())),
                        ("TSE_SIG_ALGO", text(algorithm)),
                        ("TSE_ZEITFORMAT", text(time_format)),
                        ("TSE_PD_ENCODING", fixed("UTF-8")),
                        ("TSE_PUBLIC_KEY", text(public_key)),
                        ("TSE_ZERTIFIKAT_I", first),
                        ("TSE_ZERTIFIKAT_II", second),
                    ],
                );
                b.extend_last(&tables::TSE, parts);
                serials.len()
            }
        };
        b.push(
            &tables::TRANSACTIONS_TSE,
            [
                ("BON_ID", shared(&bon_id)),
                ("TSE_ID", int(tse_id as u64)),
                ("TSE_TANR", int(t.tanr)),
                ("TSE_TA_START", text(csv::tse_time(t.start))),
                ("TSE_TA_ENDE", text(csv::tse_time(t.end))),
                ("TSE_TA_VORGANGSART", text(&t.process_type)),
                ("TSE_TA_SIGZ", int(t.sigz)),
                ("TSE_TA_SIG", text(&t.signature)),
                ("TSE_VORGANGSDATEN", opt_text(t.process_data.clone())),
            ],
        );
    }
    Ok(())
}

/// businesscases, payment and cash_per_currency over the closing's `Beleg` Vorgänge; returns
/// Z_SE_ZAHLUNGEN and Z_SE_BARZAHLUNGEN.
fn build_aggregates(
    b: &mut Builder<'_>,
    vorgaenge: &[Vorgang],
    base_currency: &str,
) -> Result<(Decimal, Decimal), Error> {
    let belege: Vec<&Vorgang> = vorgaenge.iter().filter(|v| v.is_beleg()).collect();
    if belege.is_empty() {
        return Ok((Decimal::ZERO, Decimal::ZERO));
    }
    let mut cases: BTreeMap<(&str, u32), (Decimal, Decimal, Decimal)> = BTreeMap::new();
    let mut payments: BTreeMap<(&str, Option<&str>), Decimal> = BTreeMap::new();
    let mut cash: BTreeMap<&str, Decimal> = BTreeMap::new();
    cash.insert(base_currency, Decimal::ZERO);
    let (mut total, mut bar) = (Decimal::ZERO, Decimal::ZERO);
    for v in &belege {
        for l in &v.lines {
            let e = cases.entry((l.gv_typ, l.key)).or_default();
            *e = (
                checked(e.0, l.brutto, &v.bon_id)?,
                checked(e.1, l.netto, &v.bon_id)?,
                checked(e.2, l.ust, &v.bon_id)?,
            );
        }
        for p in &v.payments {
            let e = payments.entry((p.typ, p.name.as_deref())).or_default();
            *e = checked(*e, p.base_amount, &v.bon_id)?;
            total = checked(total, p.base_amount, &v.bon_id)?;
            if p.typ == "Bar" {
                bar = checked(bar, p.base_amount, &v.bon_id)?;
                let amount = if p.currency == base_currency {
                    p.base_amount
                } else {
                    p.foreign_amount.unwrap_or(p.base_amount)
                };
                let e = cash.entry(p.currency.as_str()).or_default();
                *e = checked(*e, amount, &v.bon_id)?;
            }
        }
    }
    for ((gv, key), (brutto, netto, ust)) in cases {
        b.push(
            &tables::BUSINESSCASES,
            [
                ("GV_TYP", fixed(gv)),
                ("UST_SCHLUESSEL", int(u64::from(key))),
                ("Z_UMS_BRUTTO", dec(brutto)),
                ("Z_UMS_NETTO", dec(netto)),
                ("Z_UST", dec(ust)),
            ],
        );
    }
    for ((typ, name), amount) in payments {
        b.push(
            &tables::PAYMENT,
            [
                ("ZAHLART_TYP", fixed(typ)),
                ("ZAHLART_NAME", opt_text(name)),
                ("Z_ZAHLART_BETRAG", dec(amount)),
            ],
        );
    }
    for (currency, amount) in cash {
        b.push(
            &tables::CASH_PER_CURRENCY,
            [
                ("ZAHLART_WAEH", text(currency)),
                ("ZAHLART_BETRAG_WAEH", dec(amount)),
            ],
        );
    }
    Ok((total, bar))
}

/// vat.csv: every key used in the closing.
fn build_vat(b: &mut Builder<'_>, vorgaenge: &[Vorgang]) {
    let keys: BTreeSet<u32> = vorgaenge
        .iter()
        .flat_map(|v| v.lines.iter().map(|l| l.key))
        .collect();
    for key in keys {
        let Some(entry) = tables::ust_schluessel_entry(key) else {
            continue;
        };
        b.push(
            &tables::VAT,
            [
                ("UST_SCHLUESSEL", int(u64::from(key))),
                ("UST_SATZ", dec(entry.rate_percent())),
                ("UST_BESCHR", fixed(entry.description)),
            ],
        );
    }
}

/// File name of the GDPdU DTD, as index.xml's DOCTYPE names it.
pub const DTD_FILE_NAME: &str = "gdpdu-01-09-2004.dtd";

/// The GDPdU DTD (version 1.5 of 2004-09-01) every export ships beside index.xml, byte-identical
/// to the one in the official DSFinV-K package.
pub const DTD: &[u8] = include_bytes!("../../../templates/dsfinvk/gdpdu-01-09-2004.dtd");

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    /// sha256 of the official DTD (fixtures/conformance/dsfinvk/SOURCES.md).
    const OFFICIAL_DTD_SHA256: &str =
        "af3d4c5a19e991f2d8c53995bc708680bbd7ff9326fde539c55b7e2c63f848a2";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn shipped_dtd_is_the_official_one() {
        let official = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/conformance/dsfinvk/gdpdu-01-09-2004.dtd"
        ));
        assert_eq!(DTD, official);
        assert_eq!(hex(&Sha256::digest(DTD)), OFFICIAL_DTD_SHA256);
    }

    #[test]
    fn docs_list_every_table_and_vat_key() {
        let docs = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/dsfinvk.md"));
        for t in tables::TABLES {
            let row = format!("| `{}` | {} | {} |", t.file, t.name, t.module);
            assert!(docs.contains(&row), "docs/dsfinvk.md lacks {row}");
        }
        for u in &tables::UST_SCHLUESSEL {
            let rate = csv::format_number(u.rate_percent(), 2).unwrap();
            let row = format!("| {} | {rate} % | {} |", u.key, u.description);
            assert!(docs.contains(&row), "docs/dsfinvk.md lacks {row}");
        }
    }

    #[test]
    fn fixture_index_xml_is_the_official_one() {
        let official = include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/conformance/dsfinvk/index.xml"
        ));
        assert_eq!(
            hex(&Sha256::digest(official)),
            "d0b1fed31a50dc6370d7a54528034a1e0ac2f982f82e3c0a9250a15c64c85160"
        );
    }
}
