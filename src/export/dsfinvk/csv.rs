//! The DSFinV-K CSV dialect, written value by value from a column's declaration.
//!
//! The dialect is what the official index.xml declares for every table (DSFinV-K spec §1.2,
//! §1.3): UTF-8 without BOM, `;` between values, CRLF after every record (the last one too),
//! a header row of column names, data from line 2. A value is put in `"` only when it contains
//! `;`, `"`, CR or LF or starts or ends with a blank; a `"` inside is doubled.
//!
//! Numbers have a decimal comma, `-` for negatives and no digit grouping (index.xml declares a
//! grouping symbol, which says how to read one, not that one must be written). How many
//! decimals a `Numeric` column gets is [`format_number`]'s rule. Timestamps are text made by
//! [`timestamp_local`] and [`tse_time`].
//!
//! [`TableWriter`] checks every value of a row against its column before anything is written,
//! so a bad row leaves the output untouched and returns an [`Error`] naming the table, line,
//! column and value. Nothing is truncated, guessed or padded to fit.

use std::borrow::Cow;
use std::fmt;
use std::io::{self, Write};

use chrono::{DateTime, Datelike, FixedOffset, Timelike, Utc};
use rust_decimal::Decimal;

use super::tables::{Column, ColumnType, Required, Table};
use crate::model::money::round_commercial;

/// `ColumnDelimiter` of every table.
pub const COLUMN_DELIMITER: char = ';';
/// `RecordDelimiter` of every table: CR LF, also after the last record.
pub const RECORD_DELIMITER: &str = "\r\n";
/// `TextEncapsulator` of every table.
pub const TEXT_ENCAPSULATOR: char = '"';
/// `DecimalSymbol` of every table.
pub const DECIMAL_SYMBOL: char = ',';
/// `DigitGroupingSymbol` of every table: declared in index.xml, never written.
pub const DIGIT_GROUPING_SYMBOL: char = '.';
/// `Range/From`: line 1 is the header, data starts on line 2.
pub const FIRST_DATA_LINE: u64 = 2;

/// One value of a row, checked against its column when written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Text, for `AlphaNumeric` columns; `""` counts as empty.
    Text(&'a str),
    /// An integer, for `Numeric` columns and for `AlphaNumeric` ones (written as its digits).
    Int(i64),
    /// A decimal number, for `Numeric` columns only.
    Dec(Decimal),
    /// No value: an empty field.
    Empty,
}

impl Value<'static> {
    /// A flag column (`BON_STORNO`, `P_STORNO`, `INHAUS`, `KEINE_UST_ZUORDNUNG`): `1` or `0`
    /// (Anhang G legend, DSFinV-K spec §1.3).
    pub fn flag(on: bool) -> Value<'static> {
        Value::Text(if on { "1" } else { "0" })
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Text(s)
    }
}

impl<'a> From<&'a String> for Value<'a> {
    fn from(s: &'a String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<Decimal> for Value<'_> {
    fn from(v: Decimal) -> Self {
        Value::Dec(v)
    }
}

impl<'a, T: Into<Value<'a>>> From<Option<T>> for Value<'a> {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Empty, Into::into)
    }
}

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(s) => write!(f, "{s:?}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Dec(v) => write!(f, "{v}"),
            Value::Empty => f.write_str("(empty)"),
        }
    }
}

/// Why a value does not fit its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The column is a Mussfeld every row fills ([`Required::Always`]) and the value is
    /// empty.
    Missing,
    /// The text is longer than the column's MaxLength.
    TooLong {
        /// MaxLength in characters.
        max_len: u32,
        /// The value's length in characters.
        len: usize,
    },
    /// Text given for a `Numeric` column: numbers must come typed so their format is fiskal's.
    TextInNumeric,
    /// A decimal number given for an `AlphaNumeric` column.
    DecimalInText,
    /// A fraction given for an integer column (`Numeric` without `Accuracy`).
    NotAnInteger,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing => f.write_str("is a Mussfeld but empty"),
            Problem::TooLong { max_len, len } => {
                write!(f, "has {len} characters, MaxLength is {max_len}")
            }
            Problem::TextInNumeric => f.write_str("is text in a Numeric column"),
            Problem::DecimalInText => f.write_str("is a decimal number in an AlphaNumeric column"),
            Problem::NotAnInteger => f.write_str("has decimals in an integer column"),
        }
    }
}

/// Why a row could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The row has more or fewer values than the table has columns.
    #[error("{table} line {line}: {found} values for {expected} columns")]
    ColumnCount {
        /// The table's file name.
        table: &'static str,
        /// The line the row would have had (the header is line 1).
        line: u64,
        /// Number of columns.
        expected: usize,
        /// Number of values given.
        found: usize,
    },
    /// A value does not fit its column.
    #[error("{table} line {line}, {column}: value {} {problem}", preview(.value))]
    Value {
        /// The table's file name.
        table: &'static str,
        /// The line the row would have had.
        line: u64,
        /// The column's name.
        column: &'static str,
        /// The value as given, in full.
        value: String,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The output could not be written.
    #[error("writing {table}: {source}")]
    Io {
        /// The table's file name.
        table: &'static str,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// The value quoted, or the start of a long one, enough to find it; the error keeps the value
/// in full.
fn preview(value: &str) -> String {
    const SHOWN: usize = 60;
    let n = value.chars().count();
    if n <= SHOWN {
        return format!("{value:?}");
    }
    let head: String = value.chars().take(SHOWN).collect();
    format!("{head:?}… ({n} characters)")
}

/// Writes one table: the header row on creation, then checked rows.
///
/// Output goes to any [`Write`], so the exporter can stream into a zip entry; wrap a file in
/// a `BufWriter`, since every row is one `write_all`.
pub struct TableWriter<W: Write> {
    table: &'static Table,
    out: W,
    n_rows: u64,
    buf: String,
}

impl<W: Write> TableWriter<W> {
    /// Starts `table` on `out` by writing its header row.
    pub fn new(table: &'static Table, mut out: W) -> Result<Self, Error> {
        let mut buf = String::new();
        for (i, c) in table.columns.iter().enumerate() {
            if i > 0 {
                buf.push(COLUMN_DELIMITER);
            }
            buf.push_str(c.name);
        }
        buf.push_str(RECORD_DELIMITER);
        out.write_all(buf.as_bytes()).map_err(|source| Error::Io {
            table: table.file,
            source,
        })?;
        Ok(TableWriter {
            table,
            out,
            n_rows: 0,
            buf,
        })
    }

    /// Checks `row` against the columns and writes it; on error nothing is written.
    pub fn write_row(&mut self, row: &[Value<'_>]) -> Result<(), Error> {
        let table = self.table;
        let line = self.n_rows + FIRST_DATA_LINE;
        if row.len() != table.columns.len() {
            return Err(Error::ColumnCount {
                table: table.file,
                line,
                expected: table.columns.len(),
                found: row.len(),
            });
        }
        self.buf.clear();
        for (i, (column, value)) in table.columns.iter().zip(row).enumerate() {
            if i > 0 {
                self.buf.push(COLUMN_DELIMITER);
            }
            push_field(&mut self.buf, column, value).map_err(|problem| Error::Value {
                table: table.file,
                line,
                column: column.name,
                value: match value {
                    Value::Text(s) => (*s).to_owned(),
                    Value::Int(v) => v.to_string(),
                    Value::Dec(v) => v.to_string(),
                    Value::Empty => String::new(),
                },
                problem,
            })?;
        }
        self.buf.push_str(RECORD_DELIMITER);
        self.out
            .write_all(self.buf.as_bytes())
            .map_err(|source| Error::Io {
                table: table.file,
                source,
            })?;
        self.n_rows += 1;
        Ok(())
    }

    /// The table being written.
    pub fn table(&self) -> &'static Table {
        self.table
    }

    /// Data rows written so far (the header not counted).
    pub fn rows_written(&self) -> u64 {
        self.n_rows
    }

    /// Flushes and hands back the output.
    pub fn finish(mut self) -> Result<W, Error> {
        self.out.flush().map_err(|source| Error::Io {
            table: self.table.file,
            source,
        })?;
        Ok(self.out)
    }
}

/// Appends `value` formatted for `column`, or says why it does not fit.
fn push_field(buf: &mut String, column: &Column, value: &Value<'_>) -> Result<(), Problem> {
    let is_empty = matches!(value, Value::Empty | Value::Text(""));
    if is_empty {
        return if column.required == Required::Always {
            Err(Problem::Missing)
        } else {
            Ok(())
        };
    }
    match (column.ty, value) {
        (ColumnType::AlphaNumeric { max_len }, Value::Text(s)) => push_text(buf, s, max_len),
        (ColumnType::AlphaNumeric { max_len }, Value::Int(v)) => {
            push_text(buf, &v.to_string(), max_len)
        }
        (ColumnType::AlphaNumeric { .. }, Value::Dec(_)) => Err(Problem::DecimalInText),
        (ColumnType::Numeric { accuracy }, Value::Int(v)) => {
            push_number(buf, Decimal::from(*v), accuracy)
        }
        (ColumnType::Numeric { accuracy }, Value::Dec(v)) => push_number(buf, *v, accuracy),
        (ColumnType::Numeric { .. }, Value::Text(_)) => Err(Problem::TextInNumeric),
        (_, Value::Empty) => Ok(()),
    }
}

fn push_text(buf: &mut String, s: &str, max_len: u32) -> Result<(), Problem> {
    // A text has at most as many characters as bytes: only one longer in bytes needs counting.
    if s.len() > max_len as usize {
        let len = s.chars().count();
        if len > max_len as usize {
            return Err(Problem::TooLong { max_len, len });
        }
    }
    buf.push_str(&quote(s));
    Ok(())
}

/// `s` as a CSV field: unchanged, or in `"` with inner `"` doubled when it contains `;`, `"`,
/// CR or LF, or starts or ends with a blank (which a reader might trim otherwise).
pub fn quote(s: &str) -> Cow<'_, str> {
    // Bytes, not chars: the four specials are ASCII and never part of a multi-byte character,
    // and every text of an export passes here.
    const DELIMITER: u8 = COLUMN_DELIMITER as u8;
    const ENCAPSULATOR: u8 = TEXT_ENCAPSULATOR as u8;
    let needs = s
        .bytes()
        .any(|b| matches!(b, DELIMITER | ENCAPSULATOR | b'\r' | b'\n'))
        || s.starts_with(char::is_whitespace)
        || s.ends_with(char::is_whitespace);
    if !needs {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push(TEXT_ENCAPSULATOR);
    for ch in s.chars() {
        if ch == TEXT_ENCAPSULATOR {
            out.push(TEXT_ENCAPSULATOR);
        }
        out.push(ch);
    }
    out.push(TEXT_ENCAPSULATOR);
    Cow::Owned(out)
}

/// A number as a `Numeric` column with `accuracy` decimals shows it.
///
/// - Accuracy 0 (integers: Z_NR, BON_NR, UST_SCHLUESSEL, TSE_TANR…): the digits; a value with
///   a fraction is refused, since an identifier or counter must not be rounded.
/// - Accuracy 1 to 3: exactly that many decimals. N2 are amounts, N3 quantities (MENGE,
///   FAKTOR: the DSFinV-K 2.2 Anhang E example writes `2,000` and `1,500`).
/// - Accuracy above 3 (the N5 columns): two decimals, more only for significant digits, up to
///   the accuracy. DSFinV-K 2.2 §4.1 and Anhang E 13 show amounts with two decimals even in
///   5-decimal columns (closing aggregates, printed BON_BRUTTO/NETTO/UST); the extra places
///   exist for unit prices (STK_BR, 5 decimals since 2.1).
///
/// Values with more decimals than written are rounded half away from zero
/// ([`round_commercial`]); writing more than the accuracy would break the import (AmadeusVerify
/// error 115, DSFinV-K spec §1.3). Decimal comma, `-` for negatives, never `-0`, no grouping.
pub fn format_number(value: Decimal, accuracy: u32) -> Result<String, Problem> {
    let mut out = String::new();
    push_number(&mut out, value, accuracy)?;
    Ok(out)
}

/// [`format_number`] appended to `buf` (every amount of an export goes through here, so it
/// allocates nothing).
fn push_number(buf: &mut String, value: Decimal, accuracy: u32) -> Result<(), Problem> {
    if accuracy == 0 {
        if !value.fract().is_zero() {
            return Err(Problem::NotAnInteger);
        }
        push_plain(buf, value.trunc(), 0);
        return Ok(());
    }
    let rounded = round_commercial(value, accuracy);
    let min = if accuracy <= 3 { accuracy } else { 2 };
    let decimals = rounded.normalize().scale().clamp(min, accuracy);
    push_plain(buf, rounded, decimals);
    Ok(())
}

/// `value` (with at most `decimals` significant decimals) with exactly `decimals` decimals.
fn push_plain(buf: &mut String, value: Decimal, decimals: u32) {
    // The digits come from the mantissa and scale rather than from rescaling, which could
    // overflow the mantissa for values near the type's limit. A 96-bit mantissa has at most
    // 29 digits and the scale at most 28, so 30 places hold every value with its leading 0.
    let mut digits = [b'0'; 30];
    let mut m = value.mantissa().unsigned_abs();
    let mut n = 0;
    while m > 0 && n < digits.len() {
        digits[n] = b'0' + (m % 10) as u8;
        m /= 10;
        n += 1;
    }
    // digits[..n] is the mantissa least significant first; the last `scale` are the fraction.
    let scale = (value.scale() as usize).min(digits.len() - 1);
    let n = n.max(scale + 1);
    if value.is_sign_negative() && !value.is_zero() {
        buf.push('-');
    }
    buf.extend(digits[scale..n].iter().rev().map(|&d| char::from(d)));
    if decimals > 0 {
        buf.push(DECIMAL_SYMBOL);
        let significant = digits[..scale].iter().take_while(|&&d| d == b'0').count();
        let frac = &digits[significant..scale];
        buf.extend(frac.iter().rev().map(|&d| char::from(d)));
        for _ in frac.len()..decimals as usize {
            buf.push('0');
        }
    }
}

/// A point in time for Z_ERSTELLUNG, BON_START, BON_ENDE and REF_DATUM: RFC 3339 local time
/// with its UTC offset, to the second (`2024-08-24T23:59:00+02:00`).
///
/// DSFinV-K 2.2 Anhang E asks for "ISO 8601 und RFC3339" and shows an example without offset;
/// fiskal writes the offset so that the time is unambiguous across the DST switch (DSFinV-K
/// spec §1.3, §10.5). Fractions of a second are cut, as are the seconds of an offset (RFC 3339
/// has none). At most 30 characters, the columns' MaxLength, for any time chrono holds.
pub fn timestamp_local(at: DateTime<FixedOffset>) -> String {
    // Only at the ends of chrono's range (year ±262143) can the local time overflow; the same
    // instant is then written in UTC.
    let (local, offset) = match at.naive_utc().checked_add_offset(*at.offset()) {
        Some(local) => (local, at.offset().local_minus_utc()),
        None => (at.naive_utc(), 0),
    };
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.second(),
        offset / 3600,
        offset % 3600 / 60,
    )
}

/// A TSE time for TSE_TA_START and TSE_TA_ENDE: `YYYY-MM-DDThh:mm:ss.fffZ` in UTC, whatever
/// the TSE's TSE_ZEITFORMAT (DSFinV-K 2.2 Anhang E 20). Milliseconds are cut, not rounded,
/// so the written time never lies after the real one.
pub fn tse_time(at: DateTime<Utc>) -> String {
    let t = at.naive_utc();
    // A leap second is held as nanoseconds past 1e9; its milliseconds stay below 1000.
    let millis = t.nanosecond() % 1_000_000_000 / 1_000_000;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::dsfinvk::tables::{self, ColumnType};
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn written(table: &'static Table, rows: &[&[Value<'_>]]) -> String {
        let mut w = TableWriter::new(table, Vec::new()).unwrap();
        for row in rows {
            w.write_row(row).unwrap();
        }
        String::from_utf8(w.finish().unwrap()).unwrap()
    }

    #[test]
    fn amounts_have_two_decimals_a_comma_and_no_grouping() {
        assert_eq!(format_number(d("1234.5"), 2).unwrap(), "1234,50");
        assert_eq!(format_number(d("-0.5"), 2).unwrap(), "-0,50");
        assert_eq!(format_number(d("1234567.891"), 2).unwrap(), "1234567,89");
        assert_eq!(format_number(d("2.345"), 2).unwrap(), "2,35");
        assert_eq!(format_number(d("-2.345"), 2).unwrap(), "-2,35");
        assert_eq!(format_number(d("-0.001"), 2).unwrap(), "0,00");
        assert_eq!(format_number(d("0"), 2).unwrap(), "0,00");
        assert_eq!(format_number(d("7.10000"), 2).unwrap(), "7,10");
    }

    #[test]
    fn integers_are_plain_digits() {
        assert_eq!(format_number(d("1234"), 0).unwrap(), "1234");
        assert_eq!(format_number(d("1234.00"), 0).unwrap(), "1234");
        assert_eq!(format_number(d("-7"), 0).unwrap(), "-7");
        assert_eq!(format_number(d("-0"), 0).unwrap(), "0");
        assert_eq!(format_number(d("1.5"), 0), Err(Problem::NotAnInteger));
    }

    #[test]
    fn quantities_have_three_decimals() {
        assert_eq!(format_number(d("2"), 3).unwrap(), "2,000");
        assert_eq!(format_number(d("1.5"), 3).unwrap(), "1,500");
        assert_eq!(format_number(d("0.0005"), 3).unwrap(), "0,001");
        assert_eq!(format_number(d("-0.25"), 3).unwrap(), "-0,250");
    }

    #[test]
    fn five_decimal_columns_show_two_unless_more_are_significant() {
        assert_eq!(format_number(d("19"), 5).unwrap(), "19,00");
        assert_eq!(format_number(d("19.5"), 5).unwrap(), "19,50");
        assert_eq!(format_number(d("19.50000"), 5).unwrap(), "19,50");
        assert_eq!(format_number(d("0.125"), 5).unwrap(), "0,125");
        assert_eq!(format_number(d("1.23456"), 5).unwrap(), "1,23456");
        assert_eq!(format_number(d("1.234565"), 5).unwrap(), "1,23457");
        assert_eq!(format_number(d("-1.234565"), 5).unwrap(), "-1,23457");
        assert_eq!(format_number(d("1.000004"), 5).unwrap(), "1,00");
        assert_eq!(format_number(d("1.1"), 1).unwrap(), "1,1");
    }

    #[test]
    fn numbers_near_the_decimal_limit_format() {
        assert_eq!(
            format_number(Decimal::MAX, 2).unwrap(),
            "79228162514264337593543950335,00"
        );
        assert_eq!(
            format_number(Decimal::MIN, 0).unwrap(),
            "-79228162514264337593543950335"
        );
        assert_eq!(format_number(Decimal::new(1, 28), 5).unwrap(), "0,00");
    }

    #[test]
    fn quoting_only_when_needed() {
        assert_eq!(quote("Kaffee"), "Kaffee");
        assert_eq!(quote(""), "");
        assert_eq!(quote("Brot; hell"), "\"Brot; hell\"");
        assert_eq!(quote("12\" Pizza"), "\"12\"\" Pizza\"");
        assert_eq!(quote("a\r\nb"), "\"a\r\nb\"");
        assert_eq!(quote("a\nb"), "\"a\nb\"");
        assert_eq!(quote(" lead"), "\" lead\"");
        assert_eq!(quote("trail "), "\"trail \"");
        assert_eq!(quote("in side"), "in side");
        assert_eq!(quote("Straße"), "Straße");
    }

    #[test]
    fn header_and_rows_end_in_crlf_without_bom() {
        let text = written(
            &tables::VAT,
            &[
                &[
                    "K1".into(),
                    "2024-05-02T22:00:00+02:00".into(),
                    Value::Int(1234),
                    Value::Int(1),
                    Value::Dec(d("19")),
                    "Allgemeiner Steuersatz; Regel".into(),
                ],
                &[
                    "K1".into(),
                    "2024-05-02T22:00:00+02:00".into(),
                    1234i64.into(),
                    5u32.into(),
                    Value::Int(0),
                    "Nicht \"steuerbar\"".into(),
                ],
            ],
        );
        assert_eq!(
            text,
            "Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;UST_SCHLUESSEL;UST_SATZ;UST_BESCHR\r\n\
             K1;2024-05-02T22:00:00+02:00;1234;1;19,00;\"Allgemeiner Steuersatz; Regel\"\r\n\
             K1;2024-05-02T22:00:00+02:00;1234;5;0,00;\"Nicht \"\"steuerbar\"\"\"\r\n"
        );
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        let text = written(&tables::ALLOCATION_GROUPS, &[]);
        assert_eq!(
            text,
            "Z_KASSE_ID;Z_ERSTELLUNG;Z_NR;BON_ID;ABRECHNUNGSKREIS\r\n"
        );
    }

    #[test]
    fn optional_columns_may_be_empty_and_flags_are_digits() {
        let text = written(
            &tables::ALLOCATION_GROUPS,
            &[&[
                "K1".into(),
                "T".into(),
                1i64.into(),
                42i64.into(),
                None::<&str>.into(),
            ]],
        );
        assert!(text.ends_with("\r\nK1;T;1;42;\r\n"), "{text}");
        assert_eq!(Value::flag(true), Value::Text("1"));
        assert_eq!(Value::flag(false), Value::Text("0"));
        assert_eq!(Value::from(Some(d("1.5"))), Value::Dec(d("1.5")));
    }

    fn vat_row<'a>(key: Value<'a>, rate: Value<'a>, text: Value<'a>) -> [Value<'a>; 6] {
        ["K1".into(), "T".into(), Value::Int(1), key, rate, text]
    }

    fn vat_error(row: &[Value<'_>]) -> (Error, String) {
        let mut w = TableWriter::new(&tables::VAT, Vec::new()).unwrap();
        w.write_row(&vat_row(1u32.into(), Value::Int(19), "ok".into()))
            .unwrap();
        let err = w.write_row(row).unwrap_err();
        assert_eq!(w.rows_written(), 1);
        let out = String::from_utf8(w.finish().unwrap()).unwrap();
        // The failed row left nothing behind.
        assert_eq!(out.matches("\r\n").count(), 2, "{out}");
        (err, out)
    }

    #[test]
    fn over_long_text_is_refused_naming_table_column_and_value() {
        let long = "x".repeat(56);
        let (err, _) = vat_error(&vat_row(1u32.into(), Value::Int(19), long.as_str().into()));
        match &err {
            Error::Value {
                table,
                line,
                column,
                value,
                problem,
            } => {
                assert_eq!((*table, *line, *column), ("vat.csv", 3, "UST_BESCHR"));
                assert_eq!(value, &long);
                assert_eq!(
                    *problem,
                    Problem::TooLong {
                        max_len: 55,
                        len: 56
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert_eq!(
            msg,
            format!(
                "vat.csv line 3, UST_BESCHR: value \"{long}\" has 56 characters, MaxLength is 55"
            )
        );
        // Length is counted in characters: 55 umlauts fit although they are 110 bytes.
        let umlauts = "ä".repeat(55);
        let mut w = TableWriter::new(&tables::VAT, Vec::new()).unwrap();
        w.write_row(&vat_row(
            1u32.into(),
            Value::Int(19),
            umlauts.as_str().into(),
        ))
        .unwrap();
    }

    #[test]
    fn long_values_are_shortened_in_the_message_only() {
        let long = "y".repeat(1500);
        let (err, _) = vat_error(&vat_row(1u32.into(), Value::Int(19), long.as_str().into()));
        let msg = err.to_string();
        assert!(
            msg.contains("(1500 characters)") && msg.len() < 200,
            "{msg}"
        );
        let Error::Value { value, .. } = err else {
            panic!("value error")
        };
        assert_eq!(value.len(), 1500);
    }

    #[test]
    fn wrong_column_count_is_refused() {
        let (err, _) = vat_error(&["K1".into(), "T".into()]);
        assert!(
            matches!(
                err,
                Error::ColumnCount {
                    table: "vat.csv",
                    line: 3,
                    expected: 6,
                    found: 2
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "vat.csv line 3: 2 values for 6 columns");
    }

    #[test]
    fn only_always_mussfelder_refuse_an_empty_value() {
        use super::super::tables::DATAPAYMENT;
        let mut w = TableWriter::new(&DATAPAYMENT, Vec::new()).unwrap();
        // ZAHLWAEH_CODE is IfAvailable: a base-currency payment may leave it empty.
        let mut row = [
            Value::Text("K"),
            Value::Text("2026-03-02T20:00:00+01:00"),
            Value::Int(1),
            Value::Text("B1"),
            Value::Text("Bar"),
            Value::Empty,
            Value::Empty,
            Value::Empty,
            Value::Dec(Decimal::ONE),
        ];
        w.write_row(&row).unwrap();
        // BASISWAEH_BETRAG is Always.
        row[8] = Value::Empty;
        let err = w.write_row(&row).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Value {
                    column: "BASISWAEH_BETRAG",
                    problem: Problem::Missing,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(w.rows_written(), 1);
    }

    #[test]
    fn values_are_checked_against_their_column() {
        let cases: [(&[Value<'_>], &str, Problem); 5] = [
            (
                &vat_row(Value::Empty, Value::Int(19), "x".into()),
                "UST_SCHLUESSEL",
                Problem::Missing,
            ),
            (
                &vat_row(1u32.into(), Value::Int(19), "".into()),
                "UST_BESCHR",
                Problem::Missing,
            ),
            (
                &vat_row("1".into(), Value::Int(19), "x".into()),
                "UST_SCHLUESSEL",
                Problem::TextInNumeric,
            ),
            (
                &vat_row(Value::Dec(d("1.5")), Value::Int(19), "x".into()),
                "UST_SCHLUESSEL",
                Problem::NotAnInteger,
            ),
            (
                &vat_row(1u32.into(), Value::Int(19), Value::Dec(d("1"))),
                "UST_BESCHR",
                Problem::DecimalInText,
            ),
        ];
        for (row, want_column, want) in cases {
            let (err, _) = vat_error(row);
            match err {
                Error::Value {
                    column, problem, ..
                } => assert_eq!((column, problem), (want_column, want)),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn integers_fit_text_columns_by_their_digits() {
        let mut w = TableWriter::new(&tables::ALLOCATION_GROUPS, Vec::new()).unwrap();
        w.write_row(&[
            "K1".into(),
            "T".into(),
            1i64.into(),
            Value::Int(-42),
            Value::Empty,
        ])
        .unwrap();
        let (_, bon_id) = tables::ALLOCATION_GROUPS.column("BON_ID").unwrap();
        assert_eq!(bon_id.ty, ColumnType::AlphaNumeric { max_len: 40 });
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        assert!(text.ends_with("K1;T;1;-42;\r\n"));
    }

    struct FailingWriter;

    impl Write for FailingWriter {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn io_errors_name_the_table() {
        let Err(err) = TableWriter::new(&tables::LINES, FailingWriter) else {
            panic!("header written to a failing writer")
        };
        assert_eq!(err.to_string(), "writing lines.csv: disk full");
    }

    #[test]
    fn local_timestamps_carry_their_offset_to_the_second() {
        let berlin_summer = FixedOffset::east_opt(2 * 3600).unwrap();
        let at = berlin_summer
            .with_ymd_and_hms(2024, 8, 24, 23, 59, 0)
            .unwrap()
            + chrono::Duration::milliseconds(999);
        assert_eq!(timestamp_local(at), "2024-08-24T23:59:00+02:00");
        let back = DateTime::parse_from_rfc3339(&timestamp_local(at)).unwrap();
        assert_eq!(back, at.with_nanosecond(0).unwrap());
        assert_eq!(back.offset(), at.offset());
        let west = FixedOffset::west_opt(3 * 3600 + 30 * 60).unwrap();
        let at = west.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp_local(at), "2024-01-02T03:04:05-03:30");
        let odd = FixedOffset::east_opt(3630).unwrap();
        let at = odd.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(timestamp_local(at), "2024-01-02T03:04:05+01:00");
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(
            timestamp_local(utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap()),
            "2024-01-02T03:04:05+00:00"
        );
        for extreme in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            for offset in [
                FixedOffset::east_opt(86_399).unwrap(),
                FixedOffset::west_opt(86_399).unwrap(),
            ] {
                let text = timestamp_local(extreme.with_timezone(&offset));
                assert!(text.chars().count() <= 30, "{text}");
            }
        }
    }

    #[test]
    fn tse_times_are_utc_with_milliseconds() {
        let at = Utc.with_ymd_and_hms(2024, 5, 2, 20, 0, 1).unwrap()
            + chrono::Duration::microseconds(123_999);
        assert_eq!(tse_time(at), "2024-05-02T20:00:01.123Z");
        let whole = Utc.with_ymd_and_hms(2024, 5, 2, 20, 0, 1).unwrap();
        assert_eq!(tse_time(whole), "2024-05-02T20:00:01.000Z");
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_milli_opt(23, 59, 59, 1_500)
            .unwrap()
            .and_utc();
        assert_eq!(tse_time(leap), "2016-12-31T23:59:59.500Z");
    }

    fn any_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (any::<i64>(), 0u32..=12).prop_map(|(m, s)| Decimal::new(m, s)),
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                0u32..=28
            )
                .prop_map(|(lo, mid, hi, neg, s)| Decimal::from_parts(lo, mid, hi, neg, s)),
        ]
    }

    /// The written text read back the way a GDPdU reader does (comma → point), compared
    /// as a number; trailing zeros are cut first so a value near the limit still parses.
    fn read_back(text: &str) -> Decimal {
        let point = text.replace(',', ".");
        let trimmed = if point.contains('.') {
            point.trim_end_matches('0').trim_end_matches('.')
        } else {
            &point
        };
        Decimal::from_str(trimmed).unwrap()
    }

    proptest! {
        #[test]
        fn n2_and_n5_values_read_back_as_the_rounded_value(v in any_decimal()) {
            for accuracy in [2u32, 5] {
                let text = format_number(v, accuracy).unwrap();
                let (_, frac) = text.split_once(',').unwrap();
                prop_assert!(frac.len() >= 2 && frac.len() <= accuracy as usize, "{}", text);
                prop_assert!(!text.contains('.'), "{}", text);
                prop_assert_eq!(read_back(&text), round_commercial(v, accuracy));
            }
        }

        /// Integer and N3 columns: exactly the digits Decimal's own Display gives for the
        /// (rounded) value, with a comma, never `-0`, and only integers in N0.
        #[test]
        fn n0_and_n3_values_match_the_decimal_display(v in any_decimal()) {
            match format_number(v, 0) {
                Ok(text) => {
                    prop_assert!(v.fract().is_zero());
                    let want = v.trunc().normalize().to_string();
                    prop_assert_eq!(text, if want == "-0" { "0".to_string() } else { want });
                }
                Err(e) => {
                    prop_assert_eq!(e, Problem::NotAnInteger);
                    prop_assert!(!v.fract().is_zero());
                }
            }
            let rounded = round_commercial(v, 3);
            let text = format_number(v, 3).unwrap();
            let mut want = rounded.abs().to_string();
            if !want.contains('.') {
                want.push('.');
            }
            let (int, frac) = want.split_once('.').unwrap();
            let want = format!(
                "{}{int},{:0<3}",
                if rounded.is_sign_negative() && !rounded.is_zero() { "-" } else { "" },
                frac.trim_end_matches('0')
            );
            prop_assert_eq!(text, want);
        }
    }
}
