//! The canonical data as Parquet tables, for auditors who work in DuckDB, Python or R
//! (`fiskal export parquet`, cargo feature `parquet`; docs/parquet.md).
//!
//! Five files, one row per record, joined on `operation_id`:
//!
//! - `operations.parquet`: one row per [`Operation`](crate::model::Operation) as read and
//!   normalised: ids, kind, state, sequence number, timestamps, currency, the totals as the
//!   source stated them, the cash-drawer event, references, and of the fiscal block the regime,
//!   device id, document number and counters;
//! - `lines.parquet` and `payments.parquet`: one row per goods line and per payment, with the
//!   operation id and the 0-based place in its operation;
//! - `sessions.parquet`: one row per register session with the validator's cash
//!   reconciliation (expected cash recomputed, difference to the count);
//! - `findings.parquet`: one row per validation finding.
//!
//! The columns are declared once in `rows` (name, type, origin) and docs/parquet.md is
//! tested against them.
//!
//! **Exactness.** Amounts, quantities and rates are `decimal128(38, 9)` (`table::SCALE`):
//! 29 digits before the point hold any `rust_decimal` value, and a value with more than nine
//! significant fraction digits is an [`Error::Unrepresentable`] naming the operation and the
//! column, never rounded. Instants are UTC microseconds with the source's offset beside them in
//! seconds (a finer fraction is refused likewise); dates are dates.
//!
//! **Memory.** Each table buffers at most one batch ([`BATCH_ROWS`] rows) and writes it as a
//! row group; nothing else of the stream is kept.
//!
//! **Files.** Each table is written under a temporary name, and only when all five are
//! complete are they renamed; after an error none is. polars writes no clock and a fixed
//! `created_by`, zstd compression is deterministic: the same input gives the same bytes.

mod rows;
mod table;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{Finding, Operation};
use crate::validate::Reconciliation;
pub use table::{BATCH_ROWS, Col, PRECISION, SCALE, Type, offset_name};
use table::{Closed, Table};

/// Why the tables could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value has no exact representation in its column.
    #[error("{context}: {column} = {value} {why}")]
    Unrepresentable {
        /// The operation (and line or payment), session or finding.
        context: String,
        /// The column.
        column: String,
        /// The value as the model holds it.
        value: String,
        /// Why it does not fit.
        why: String,
    },
    /// A file could not be written.
    #[error("writing {path}")]
    Io {
        /// The table's file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// polars refused to encode or write a table.
    #[error("writing {path}")]
    Polars {
        /// The table's file.
        path: PathBuf,
        /// The cause.
        source: polars::prelude::PolarsError,
    },
}

/// The tables: file stem and columns, in the order they are written.
pub const TABLES: &[(&str, &[Col])] = &[
    ("operations", rows::OPERATIONS),
    ("lines", rows::LINES),
    ("payments", rows::PAYMENTS),
    ("sessions", rows::SESSIONS),
    ("findings", rows::FINDINGS),
];

/// A written table, as `--json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableFile {
    /// `operations`, `lines`, `payments`, `sessions` or `findings`.
    pub table: &'static str,
    /// The file.
    pub path: String,
    /// Its rows.
    pub rows: u64,
}

/// The five tables being written into one directory.
pub struct Writer {
    tables: Vec<(&'static str, Table)>,
}

impl Writer {
    /// Starts the tables in `dir` (created if missing), a row group per [`BATCH_ROWS`] rows.
    pub fn create(dir: &Path) -> Result<Writer, Error> {
        Writer::with_batch_rows(dir, BATCH_ROWS)
    }

    /// [`create`](Self::create) with row groups of `batch_rows` rows.
    pub fn with_batch_rows(dir: &Path, batch_rows: usize) -> Result<Writer, Error> {
        let tables = TABLES
            .iter()
            .map(|(name, cols)| {
                let path = dir.join(format!("{name}.parquet"));
                Ok((*name, Table::create(&path, cols, batch_rows.max(1))?))
            })
            .collect::<Result<_, Error>>()?;
        Ok(Writer { tables })
    }

    fn table(&mut self, i: usize) -> &mut Table {
        &mut self.tables[i].1
    }

    /// Adds an operation with its lines and payments.
    pub fn push_operation(&mut self, op: &Operation) -> Result<(), Error> {
        rows::operation(self.table(0), op)?;
        rows::lines(self.table(1), op)?;
        rows::payments(self.table(2), op)
    }

    /// Adds a register session's reconciliation.
    pub fn push_session(&mut self, s: &Reconciliation) -> Result<(), Error> {
        rows::session(self.table(3), s)
    }

    /// Adds a finding.
    pub fn push_finding(&mut self, f: &Finding) -> Result<(), Error> {
        rows::finding(self.table(4), f)
    }

    /// Completes every table, then gives each its final name.
    pub fn finish(self) -> Result<Vec<TableFile>, Error> {
        let closed: Vec<(&'static str, Closed)> = self
            .tables
            .into_iter()
            .map(|(name, t)| Ok((name, t.close()?)))
            .collect::<Result<_, Error>>()?;
        closed
            .into_iter()
            .map(|(table, c)| {
                let file = TableFile {
                    table,
                    path: c.path.display().to_string(),
                    rows: c.rows,
                };
                c.commit()?;
                Ok(file)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
