//! Validation of any DSFinV-K export, as strict as the auditors' import: `fiskal verify
//! dsfinvk`.
//!
//! An export (a directory or a zip, [`source`]) is read the way IDEA and AmadeusVerify read
//! it: index.xml first ([`index_xml::parse`]), compared with fiskal's declarations of the 20
//! tables; then every declared table's CSV in the declared dialect, one record at a time
//! ([`reader`]), each value checked against its column ([`fields`]); then the keys and the
//! reconciliation rules V1–V13 and C1–C9 of DSFinV-K spec §4 and the TSE replay of §5
//! ([`rules`]). Tables are read in a fixed order (master data, then Vorgänge, lines, closing
//! aggregates, TSE transactions last) so that every rule has what it needs when a row arrives.
//!
//! Every problem is a [`Finding`] with a code of [`catalog::CHECKS`], the file, line and
//! column, what was expected and what was found; findings go to a sink as they are found, so
//! none are held. Memory grows with the number of Vorgänge and lines (a few strings and sums
//! each, kept per closing for the reconciliation), never with the size of a value or a file.
//! Only an input that is not an export at all is an [`OpenError`]: not a directory or zip, no
//! index.xml, an index.xml that cannot be read.

pub mod catalog;
pub mod fields;
mod reader;
mod rules;
mod source;

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::index_xml::{self, ColumnSchema, IndexError, IndexXml, TableSchema};
use super::tables::{self, Table};
use crate::model::Severity;
use reader::{Ending, RecordReader};
use source::Source;

/// One problem found in an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Check code (`DSF010`).
    pub code: &'static str,
    /// The check's severity.
    pub severity: Severity,
    /// The file, relative to the export (`index.xml`, `lines.csv`).
    pub file: String,
    /// The line (1 = header), when the finding is about one row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The column, when about one value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// What the rule expects.
    pub expected: String,
    /// What the export has.
    pub found: String,
}

/// What was read, and the findings counted per code.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Data rows read per file.
    pub rows: BTreeMap<String, u64>,
    /// Closings (distinct closing keys).
    pub closings: usize,
    /// TSE transactions whose signature verified.
    pub tse_verified: usize,
    /// Findings per code.
    pub findings: BTreeMap<&'static str, u64>,
    /// Findings of error severity.
    pub errors: u64,
    /// Findings of warning severity.
    pub warnings: u64,
}

/// Why an input is not an export that can be checked.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The path cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// Neither a directory nor a zip.
    #[error("not a DSFinV-K export: {reason}")]
    NotAnExport {
        /// Why.
        reason: String,
    },
    /// No index.xml.
    #[error("not a DSFinV-K export: no index.xml")]
    NoIndex,
    /// index.xml cannot be read.
    #[error("{0}")]
    Index(#[from] IndexError),
}

/// Collects findings for the sink and counts them.
struct Ctx<'a> {
    sink: &'a mut dyn FnMut(Finding),
    summary: Summary,
}

impl Ctx<'_> {
    fn report(
        &mut self,
        code: &'static str,
        file: &str,
        line: Option<u64>,
        column: Option<&str>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        let severity = catalog::check(code).map_or(Severity::Error, |c| c.severity);
        *self.summary.findings.entry(code).or_default() += 1;
        match severity {
            Severity::Error => self.summary.errors += 1,
            Severity::Warning => self.summary.warnings += 1,
            Severity::Info => {}
        }
        (self.sink)(Finding {
            code,
            severity,
            file: file.to_string(),
            line,
            column: column.map(str::to_string),
            expected: expected.into(),
            found: found.into(),
        });
    }
}

/// Checks the export at `path` (a directory or a zip), handing every finding to `sink`.
pub fn check_path(path: &Path, sink: &mut dyn FnMut(Finding)) -> Result<Summary, OpenError> {
    run(Source::open(path)?, sink)
}

/// Checks a zipped export held in memory.
pub fn check_zip_bytes(
    bytes: Vec<u8>,
    sink: &mut dyn FnMut(Finding),
) -> Result<Summary, OpenError> {
    run(Source::zip(Box::new(io::Cursor::new(bytes)))?, sink)
}

/// The order tables are read in: what a rule looks up comes before what it checks.
const READ_ORDER: [&str; 20] = [
    "cashpointclosing.csv",
    "location.csv",
    "cashregister.csv",
    "slaves.csv",
    "pa.csv",
    "tse.csv",
    "vat.csv",
    "transactions.csv",
    "transactions_vat.csv",
    "datapayment.csv",
    "lines.csv",
    "lines_vat.csv",
    "itemamounts.csv",
    "subitems.csv",
    "references.csv",
    "allocation_groups.csv",
    "businesscases.csv",
    "payment.csv",
    "cash_per_currency.csv",
    "transactions_tse.csv",
];

fn run(mut src: Source, sink: &mut dyn FnMut(Finding)) -> Result<Summary, OpenError> {
    let index = index_xml::parse(&src.index_bytes()?)?;
    let mut ctx = Ctx {
        sink,
        summary: Summary::default(),
    };
    compare_index(&index, &mut ctx);
    let names = src.names();
    for t in &index.tables {
        if !names.contains(&t.url) {
            ctx.report(
                "DSF001",
                &t.url,
                None,
                None,
                format!("the file listed in index.xml line {}", t.line),
                "no such file",
            );
        }
    }
    for n in &names {
        if n.to_ascii_lowercase().ends_with(".csv") && !index.tables.iter().any(|t| &t.url == n) {
            ctx.report(
                "DSF002",
                n,
                None,
                None,
                "a table listed in index.xml",
                "not listed",
            );
        }
    }
    if !names.iter().any(|n| n == super::DTD_FILE_NAME) {
        ctx.report(
            "DSF009",
            super::DTD_FILE_NAME,
            None,
            None,
            "the DTD named by index.xml's DOCTYPE",
            "no such file",
        );
    }
    let mut order: Vec<&TableSchema> = index.tables.iter().collect();
    order.sort_by_key(|t| {
        READ_ORDER
            .iter()
            .position(|f| *f == t.url)
            .unwrap_or(READ_ORDER.len())
    });
    let mut state = rules::State::default();
    for t in order {
        if names.contains(&t.url) {
            read_table(&mut src, t, &mut state, &mut ctx);
        }
    }
    state.finish(&mut ctx);
    ctx.summary.closings = state.closings();
    ctx.summary.tse_verified = state.tse_verified;
    Ok(ctx.summary)
}

/// index.xml against fiskal's declarations: tables, columns, types and dialect.
fn compare_index(index: &IndexXml, ctx: &mut Ctx<'_>) {
    const FILE: &str = index_xml::FILE_NAME;
    for table in tables::TABLES {
        if !index.tables.iter().any(|t| t.url == table.file) {
            ctx.report(
                "DSF004",
                FILE,
                None,
                None,
                format!("a <Table> for {}", table.file),
                "none",
            );
        }
    }
    for t in &index.tables {
        let Some(decl) = tables::table_by_file(&t.url) else {
            ctx.report(
                "DSF003",
                FILE,
                Some(u64::from(t.line)),
                None,
                "one of the 20 DSFinV-K files",
                format!("{:?}", t.url),
            );
            continue;
        };
        compare_dialect(t, ctx);
        compare_columns(t, decl, ctx);
    }
}

fn compare_dialect(t: &TableSchema, ctx: &mut Ctx<'_>) {
    let line = Some(u64::from(t.line));
    let checks: [(&str, Option<String>, &str); 7] = [
        ("UTF8", t.encoding.clone(), "UTF8"),
        ("DecimalSymbol", t.decimal_symbol.clone(), ","),
        ("ColumnDelimiter", t.column_delimiter.clone(), ";"),
        ("RecordDelimiter", t.record_delimiter.clone(), "\r\n"),
        ("TextEncapsulator", t.text_encapsulator.clone(), "\""),
        ("Range/From", t.range_from.map(|n| n.to_string()), "2"),
        ("DigitGroupingSymbol", t.digit_grouping_symbol.clone(), "."),
    ];
    for (what, have, want) in checks {
        if have.as_deref() != Some(want) {
            ctx.report(
                "DSF008",
                index_xml::FILE_NAME,
                line,
                Some(what),
                format!("{}: {want:?}", t.url),
                have.map_or("not declared".to_string(), |h| format!("{h:?}")),
            );
        }
    }
}

/// Whether a column beyond the official ones is an allowed extension: more certificate parts
/// in tse.csv.
fn is_certificate_extension(file: &str, name: &str) -> bool {
    file == "tse.csv" && name.starts_with("TSE_ZERTIFIKAT_")
}

fn compare_columns(t: &TableSchema, decl: &Table, ctx: &mut Ctx<'_>) {
    let file = index_xml::FILE_NAME;
    for (i, want) in decl.columns.iter().enumerate() {
        match t.columns.get(i) {
            Some(have) if have.name == want.name => {
                if have.ty.as_column_type() != Some(want.ty) {
                    ctx.report(
                        "DSF007",
                        file,
                        Some(u64::from(have.line)),
                        Some(&have.name),
                        format!("{}: {:?}", t.url, want.ty),
                        format!("{:?}", have.ty),
                    );
                }
            }
            other => ctx.report(
                "DSF005",
                file,
                Some(u64::from(other.map_or(t.line, |c| c.line))),
                Some(want.name),
                format!("{} column {} is {}", t.url, i + 1, want.name),
                other.map_or("no such column".to_string(), |c| c.name.clone()),
            ),
        }
    }
    for have in t.columns.iter().skip(decl.columns.len()) {
        if decl.column(&have.name).is_some() {
            continue;
        }
        if !is_certificate_extension(&t.url, &have.name) {
            ctx.report(
                "DSF006",
                file,
                Some(u64::from(have.line)),
                Some(&have.name),
                format!("{}: the {} DSFinV-K columns", t.url, decl.columns.len()),
                format!("vendor column {}", have.name),
            );
        }
    }
}

/// The single ASCII byte of a declared delimiter, or the DSFinV-K default.
fn single_byte(declared: Option<&str>, default: u8) -> u8 {
    match declared.map(str::as_bytes) {
        Some([b]) if b.is_ascii() && *b != b'\r' && *b != b'\n' => *b,
        _ => default,
    }
}

/// A data row by column name.
pub(crate) struct Row<'a> {
    columns: &'a [ColumnSchema],
    values: &'a [String],
}

impl Row<'_> {
    /// The value of `name`, `""` when the table has no such column.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| self.values.get(i))
            .map_or("", String::as_str)
    }

    /// The values of every column whose name starts with `prefix`, concatenated in column
    /// order (the certificate parts TSE_ZERTIFIKAT_I, _II, _III…).
    pub(crate) fn joined(&self, prefix: &str) -> String {
        self.columns
            .iter()
            .zip(self.values)
            .filter(|(c, _)| c.name.starts_with(prefix))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

fn read_table(src: &mut Source, t: &TableSchema, state: &mut rules::State, ctx: &mut Ctx<'_>) {
    let file = t.url.as_str();
    let decl = tables::table_by_file(file);
    let delimiter = single_byte(t.column_delimiter.as_deref(), b';');
    let quote = single_byte(t.text_encapsulator.as_deref(), b'"');
    let ncols = t.columns.len();
    let mut rows = 0u64;
    let mut problems = Vec::new();
    let result = src.with_file(file, &mut |r| {
        let mut reader = RecordReader::new(r, delimiter, quote)?;
        if reader.bom {
            ctx.report(
                "DSF012",
                file,
                Some(1),
                None,
                "UTF-8 without byte order mark",
                "a byte order mark",
            );
        }
        while let Some(rec) = reader.next_record()? {
            match rec.ending {
                Ending::Crlf => {}
                Ending::Lf | Ending::Cr => ctx.report(
                    "DSF010",
                    file,
                    Some(rec.line),
                    None,
                    "CRLF after the record",
                    if rec.ending == Ending::Lf { "LF" } else { "CR" },
                ),
                Ending::Eof => ctx.report(
                    "DSF011",
                    file,
                    Some(rec.line),
                    None,
                    "CRLF after the last record",
                    "end of file",
                ),
            }
            if rec.bad_utf8 {
                ctx.report(
                    "DSF012",
                    file,
                    Some(rec.line),
                    None,
                    "UTF-8",
                    "invalid UTF-8",
                );
            }
            if let Some(m) = &rec.malformed {
                ctx.report(
                    "DSF015",
                    file,
                    Some(rec.line),
                    None,
                    "well-formed quoting",
                    m.clone(),
                );
            }
            if rec.line == 1 {
                check_header(file, t, &rec.values, ctx);
                continue;
            }
            rows += 1;
            if rec.values.len() != ncols {
                ctx.report(
                    "DSF014",
                    file,
                    Some(rec.line),
                    None,
                    format!("{ncols} values"),
                    format!("{} values", rec.values.len()),
                );
                if rec.values.len() < ncols {
                    continue;
                }
            }
            let row = Row {
                columns: &t.columns,
                values: &rec.values,
            };
            for (col, value) in t.columns.iter().zip(&rec.values) {
                let dcol = decl.and_then(|d| d.column(&col.name)).map(|(_, c)| c);
                fields::check_value(file, col, dcol, value, &row, &mut problems);
                for (code, expected, found) in problems.drain(..) {
                    ctx.report(code, file, Some(rec.line), Some(&col.name), expected, found);
                }
            }
            if let Some(d) = decl {
                state.row(d, rec.line, &row, ctx);
            }
        }
        Ok(())
    });
    if let Some(Err(e)) = result {
        ctx.report(
            "DSF012",
            file,
            None,
            None,
            "a readable file",
            format!("read error: {e}"),
        );
    }
    ctx.summary.rows.insert(file.to_string(), rows);
}

fn check_header(file: &str, t: &TableSchema, header: &[String], ctx: &mut Ctx<'_>) {
    if header.len() != t.columns.len() {
        ctx.report(
            "DSF013",
            file,
            Some(1),
            None,
            format!("{} column names", t.columns.len()),
            format!("{} names", header.len()),
        );
    }
    for (col, name) in t.columns.iter().zip(header) {
        if &col.name != name {
            ctx.report(
                "DSF013",
                file,
                Some(1),
                Some(&col.name),
                col.name.clone(),
                format!("{name:?}"),
            );
        }
    }
}

#[cfg(test)]
mod tests;
