//! One Parquet table being written: typed column buffers that become a row group whenever a
//! batch is full, in a file that keeps a temporary name until every table is complete.

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use polars::prelude::*;
use rust_decimal::Decimal;

use super::Error;
use crate::fsutil::AtomicFile;
use crate::model::Timestamp;

/// Digits of every decimal column: the most a 128-bit Parquet DECIMAL holds.
pub const PRECISION: usize = 38;

/// Fraction digits of every decimal column. With 38 digits in all, 29 remain before the
/// point: all of rust_decimal's range (below 7.93e28), so only a value with more than nine
/// significant fraction digits can fail to fit.
pub const SCALE: u32 = 9;

/// Rows per row group: what a table buffers before it writes.
pub const BATCH_ROWS: usize = 65_536;

/// Rows the buffers make room for at first: a small input should not pay for a whole batch
/// of every column up front; the builders grow from there.
const INITIAL_CAPACITY: usize = 1024;

/// A column's type as it is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    /// UTF-8 text.
    Str,
    /// True or false.
    Bool,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 64-bit integer.
    U64,
    /// `DECIMAL(38, 9)`.
    Decimal,
    /// Two columns: the instant in UTC (microseconds) and, as `<name>_offset_s`, the offset
    /// from UTC in seconds the source wrote it with, which the instant alone loses.
    Timestamp,
    /// A calendar date.
    Date,
}

impl Type {
    /// The type as docs/parquet.md names it (Arrow's names).
    pub fn name(self) -> &'static str {
        match self {
            Type::Str => "string",
            Type::Bool => "bool",
            Type::U32 => "uint32",
            Type::U64 => "uint64",
            Type::Decimal => "decimal128(38, 9)",
            Type::Timestamp => "timestamp[us, tz=UTC]",
            Type::Date => "date32",
        }
    }
}

/// One declared column.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// Column name (for [`Type::Timestamp`], also the prefix of its offset column).
    pub name: &'static str,
    /// Type.
    pub ty: Type,
    /// Where the value comes from, for docs/parquet.md.
    pub doc: &'static str,
}

/// The offset column of a timestamp column.
pub fn offset_name(name: &str) -> String {
    format!("{name}_offset_s")
}

/// What a row is about, for the message when one of its values cannot be written.
#[derive(Debug, Clone, Copy)]
pub enum Ctx<'a> {
    /// An operation.
    Operation(&'a str),
    /// An operation's line or payment (`what`) at `index`.
    Item(&'a str, &'static str, usize),
    /// A register session.
    Session(&'a str),
    /// A finding, by its place in the findings table.
    Finding(u64),
}

impl fmt::Display for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ctx::Operation(id) => write!(f, "operation {id}"),
            Ctx::Item(id, what, i) => write!(f, "operation {id}, {what} {i}"),
            Ctx::Session(id) => write!(f, "session {id}"),
            Ctx::Finding(n) => write!(f, "finding {n}"),
        }
    }
}

/// The exact `DECIMAL(38, 9)` integer of `d`, or `None` when `d` has more significant
/// fraction digits than [`SCALE`].
pub fn decimal_to_i128(d: Decimal) -> Option<i128> {
    let d = if d.scale() > SCALE { d.normalize() } else { d };
    if d.scale() > SCALE {
        return None;
    }
    // |mantissa| < 2^96 and 10^9 < 2^30: the product stays far inside i128 and within 38
    // digits.
    Some(d.mantissa() * 10i128.pow(SCALE - d.scale()))
}

/// Microseconds since the epoch (UTC) and the source's offset, or why the instant has no
/// exact microsecond.
fn timestamp_parts(t: &Timestamp) -> Result<(i64, i32), &'static str> {
    let nanos = t.0.timestamp_subsec_nanos();
    if nanos >= 1_000_000_000 {
        return Err("is a leap second, which a Parquet timestamp cannot hold");
    }
    if !nanos.is_multiple_of(1_000) {
        return Err("has a fraction of a microsecond, finer than the column holds");
    }
    Ok((t.0.timestamp_micros(), t.source_offset_seconds()))
}

fn days_since_epoch(d: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date");
    // chrono's dates span about ±262,000 years: ±96 million days fit an i32.
    d.signed_duration_since(epoch).num_days() as i32
}

enum Buf {
    Str(StringChunkedBuilder),
    Bool(BooleanChunkedBuilder),
    U32(PrimitiveChunkedBuilder<UInt32Type>),
    U64(PrimitiveChunkedBuilder<UInt64Type>),
    Dec(PrimitiveChunkedBuilder<Int128Type>),
    Ts(
        PrimitiveChunkedBuilder<Int64Type>,
        PrimitiveChunkedBuilder<Int32Type>,
    ),
    Date(PrimitiveChunkedBuilder<Int32Type>),
}

impl Buf {
    fn new(col: &Col, capacity: usize) -> Buf {
        let name = PlSmallStr::from_static(col.name);
        match col.ty {
            Type::Str => Buf::Str(StringChunkedBuilder::new(name, capacity)),
            Type::Bool => Buf::Bool(BooleanChunkedBuilder::new(name, capacity)),
            Type::U32 => Buf::U32(PrimitiveChunkedBuilder::new(name, capacity)),
            Type::U64 => Buf::U64(PrimitiveChunkedBuilder::new(name, capacity)),
            Type::Decimal => Buf::Dec(PrimitiveChunkedBuilder::new(name, capacity)),
            Type::Timestamp => Buf::Ts(
                PrimitiveChunkedBuilder::new(name, capacity),
                PrimitiveChunkedBuilder::new(offset_name(col.name).into(), capacity),
            ),
            Type::Date => Buf::Date(PrimitiveChunkedBuilder::new(name, capacity)),
        }
    }

    fn finish(self, out: &mut Vec<Column>) {
        match self {
            Buf::Str(b) => out.push(b.finish().into_column()),
            Buf::Bool(b) => out.push(b.finish().into_column()),
            Buf::U32(b) => out.push(b.finish().into_column()),
            Buf::U64(b) => out.push(b.finish().into_column()),
            Buf::Dec(b) => out.push(
                b.finish()
                    .into_decimal_unchecked(PRECISION, SCALE as usize)
                    .into_column(),
            ),
            Buf::Ts(t, o) => {
                out.push(
                    t.finish()
                        .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                        .into_column(),
                );
                out.push(o.finish().into_column());
            }
            Buf::Date(b) => out.push(b.finish().into_date().into_column()),
        }
    }
}

/// The temporary file, shared between polars' writer, which owns its sink until the footer
/// is written, and the table, which commits the file afterwards.
#[derive(Clone)]
struct Sink(Arc<Mutex<AtomicFile>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .flush()
    }
}

/// A table being written.
pub struct Table {
    cols: &'static [Col],
    bufs: Vec<Buf>,
    pending: usize,
    rows: u64,
    batch_rows: usize,
    path: PathBuf,
    sink: Sink,
    writer: BatchedWriter<Sink>,
}

/// A table whose footer is written, waiting to be renamed to its final name.
pub struct Closed {
    /// Where it goes.
    pub path: PathBuf,
    /// Its rows.
    pub rows: u64,
    file: AtomicFile,
}

impl Closed {
    /// Syncs the file and renames it to its final name.
    pub fn commit(self) -> Result<(), Error> {
        let path = self.path;
        self.file
            .commit()
            .map_err(|source| Error::Io { path, source })
    }
}

impl Table {
    /// Starts `path` with the columns `cols`, writing a row group every `batch_rows` rows.
    pub fn create(path: &Path, cols: &'static [Col], batch_rows: usize) -> Result<Table, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let sink = Sink(Arc::new(Mutex::new(AtomicFile::create(path).map_err(io)?)));
        let schema = frame(cols, new_bufs(cols, 0))
            .map_err(|source| polars_error(path, source))?
            .schema()
            .clone();
        let writer = ParquetWriter::new(sink.clone())
            // zstd at its default level: compact, and the same bytes on every run.
            .with_compression(ParquetCompression::Zstd(None))
            .batched(&schema)
            .map_err(|source| polars_error(path, source))?;
        Ok(Table {
            cols,
            bufs: new_bufs(cols, INITIAL_CAPACITY.min(batch_rows)),
            pending: 0,
            rows: 0,
            batch_rows,
            path: path.to_path_buf(),
            sink,
            writer,
        })
    }

    /// Starts a row about `ctx`; its values follow in column order.
    pub fn row<'t>(&'t mut self, ctx: Ctx<'t>) -> Row<'t> {
        Row {
            table: self,
            ctx,
            col: 0,
        }
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.pending as u64
    }

    fn flush(&mut self) -> Result<(), Error> {
        if self.pending == 0 {
            return Ok(());
        }
        let capacity = INITIAL_CAPACITY.min(self.batch_rows);
        let bufs = std::mem::replace(&mut self.bufs, new_bufs(self.cols, capacity));
        let df = frame(self.cols, bufs).map_err(|e| polars_error(&self.path, e))?;
        self.writer
            .write_batch(&df)
            .map_err(|e| polars_error(&self.path, e))?;
        self.rows += self.pending as u64;
        self.pending = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer; the file keeps its temporary name until
    /// [`Closed::commit`].
    pub fn close(mut self) -> Result<Closed, Error> {
        self.flush()?;
        self.writer
            .finish()
            .map_err(|e| polars_error(&self.path, e))?;
        let Table {
            path, sink, writer, ..
        } = self;
        drop(writer);
        let file = Arc::try_unwrap(sink.0)
            .ok()
            .and_then(|m| m.into_inner().ok())
            .expect("the writer, the only other owner of the sink, is dropped");
        Ok(Closed {
            path,
            rows: self.rows,
            file,
        })
    }
}

fn new_bufs(cols: &[Col], capacity: usize) -> Vec<Buf> {
    cols.iter().map(|c| Buf::new(c, capacity)).collect()
}

fn frame(cols: &[Col], bufs: Vec<Buf>) -> PolarsResult<DataFrame> {
    let mut columns = Vec::with_capacity(cols.len() + 4);
    for b in bufs {
        b.finish(&mut columns);
    }
    let height = columns.first().map_or(0, |c| c.len());
    DataFrame::new(height, columns)
}

fn polars_error(path: &Path, source: PolarsError) -> Error {
    Error::Polars {
        path: path.to_path_buf(),
        source,
    }
}

/// A row being filled, value by value in column order.
pub struct Row<'t> {
    table: &'t mut Table,
    ctx: Ctx<'t>,
    col: usize,
}

impl Row<'_> {
    fn next(&mut self, ty: Type) -> (&'static str, &mut Buf) {
        let col = self.table.cols[self.col];
        assert_eq!(col.ty, ty, "column {} is {:?}", col.name, col.ty);
        self.col += 1;
        (col.name, &mut self.table.bufs[self.col - 1])
    }

    fn refuse(&self, column: &str, value: String, why: &str) -> Error {
        Error::Unrepresentable {
            context: self.ctx.to_string(),
            column: column.to_string(),
            value,
            why: why.to_string(),
        }
    }

    /// A text value.
    pub fn str(&mut self, v: Option<&str>) {
        if let (_, Buf::Str(b)) = self.next(Type::Str) {
            b.append_option(v);
        }
    }

    /// A boolean.
    pub fn bool(&mut self, v: bool) {
        if let (_, Buf::Bool(b)) = self.next(Type::Bool) {
            b.append_value(v);
        }
    }

    /// An unsigned 32-bit integer.
    pub fn u32(&mut self, v: Option<u32>) {
        if let (_, Buf::U32(b)) = self.next(Type::U32) {
            b.append_option(v);
        }
    }

    /// An unsigned 64-bit integer.
    pub fn u64(&mut self, v: Option<u64>) {
        if let (_, Buf::U64(b)) = self.next(Type::U64) {
            b.append_option(v);
        }
    }

    /// An exact decimal; refused, never rounded, when it has more fraction digits than the
    /// column.
    pub fn dec(&mut self, v: Option<Decimal>) -> Result<(), Error> {
        let (name, buf) = self.next(Type::Decimal);
        let Buf::Dec(b) = buf else { unreachable!() };
        match v {
            None => b.append_null(),
            Some(d) => match decimal_to_i128(d) {
                Some(x) => b.append_value(x),
                None => {
                    let why = format!(
                        "has {} fraction digits; the Parquet column holds {SCALE} \
                         (decimal128({PRECISION}, {SCALE})), and a value is never rounded",
                        d.normalize().scale()
                    );
                    return Err(self.refuse(name, d.to_string(), &why));
                }
            },
        }
        Ok(())
    }

    /// An instant and the offset it was written with.
    pub fn ts(&mut self, v: Option<&Timestamp>) -> Result<(), Error> {
        let (name, buf) = self.next(Type::Timestamp);
        let Buf::Ts(t, o) = buf else { unreachable!() };
        match v.map(timestamp_parts) {
            None => {
                t.append_null();
                o.append_null();
            }
            Some(Ok((micros, offset))) => {
                t.append_value(micros);
                o.append_value(offset);
            }
            Some(Err(why)) => {
                let value = v.expect("present").0.to_rfc3339();
                return Err(self.refuse(name, value, why));
            }
        }
        Ok(())
    }

    /// A calendar date.
    pub fn date(&mut self, v: Option<NaiveDate>) {
        if let (_, Buf::Date(b)) = self.next(Type::Date) {
            b.append_option(v.map(days_since_epoch));
        }
    }

    /// Ends the row; a full batch is written as a row group.
    pub fn end(self) -> Result<(), Error> {
        assert_eq!(self.col, self.table.cols.len(), "a row fills every column");
        self.table.pending += 1;
        if self.table.pending >= self.table.batch_rows {
            self.table.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn decimals_scale_exactly_or_not_at_all() {
        assert_eq!(decimal_to_i128(d("19.99")), Some(19_990_000_000));
        assert_eq!(decimal_to_i128(d("-0.5")), Some(-500_000_000));
        assert_eq!(decimal_to_i128(d("0.123456789")), Some(123_456_789));
        // Trailing zeros beyond the scale are not digits that would be lost.
        assert_eq!(decimal_to_i128(d("1.50000000000")), Some(1_500_000_000));
        assert_eq!(decimal_to_i128(d("0.1234567891")), None);
        // The largest Decimal still fits 38 digits.
        let max = decimal_to_i128(Decimal::MAX).unwrap();
        assert_eq!(max.to_string().len(), 38);
        assert_eq!(max, Decimal::MAX.mantissa() * 1_000_000_000);
    }

    #[test]
    fn timestamps_keep_microseconds_and_offset() {
        let t = Timestamp::parse("2026-03-02T09:15:00.123456+01:00").unwrap();
        assert_eq!(timestamp_parts(&t), Ok((1_772_439_300_123_456, 3600)));
        let t = Timestamp::parse("2026-03-02T09:15:00.1234567Z").unwrap();
        assert!(timestamp_parts(&t).is_err());
        assert_eq!(
            days_since_epoch(NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()),
            20_514
        );
    }
}
