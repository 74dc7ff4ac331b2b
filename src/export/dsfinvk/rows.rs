//! One table's rows, packed into a byte vector until the archive is written.
//!
//! An export holds every row of a register's closings until its CSVs are rendered: at ten
//! million operations a register has about 16,600 operations and ten times as many rows. As
//! vectors of [`Cell`]s every cell took 32 bytes, empty ones included, and every text its own
//! allocation; two registers being exported at once held about half a gigabyte. Packed, a cell
//! is a tag byte and its bytes: an empty cell one byte, an amount 17, a text its length (one
//! byte up to 127) and its bytes.
//!
//! Rows are read back in order only, as values borrowing from the bytes
//! ([`Rows::for_each`]), or as cells for whoever wants to look at them ([`Rows::cells`]).

use rust_decimal::Decimal;

use super::Cell;
use super::csv::Value;

const EMPTY: u8 = 0;
const TEXT: u8 = 1;
const INT: u8 = 2;
const DEC: u8 = 3;

/// Rows of one table (see the module documentation).
#[derive(Debug, Clone, Default)]
pub struct Rows {
    bytes: Vec<u8>,
    len: usize,
    /// Where the last row starts: its cell count, which [`Rows::extend_last`] updates.
    last: usize,
}

impl Rows {
    /// Appends a row.
    pub fn push(&mut self, cells: impl IntoIterator<Item = Cell>) {
        self.last = self.bytes.len();
        self.bytes.extend_from_slice(&0u32.to_le_bytes());
        self.len += 1;
        self.extend_last(cells);
    }

    /// Appends cells to the last row (none if there is no row).
    pub fn extend_last(&mut self, cells: impl IntoIterator<Item = Cell>) {
        if self.len == 0 {
            return;
        }
        let mut n = self.count_at(self.last);
        for cell in cells {
            self.put(&cell);
            n += 1;
        }
        self.bytes[self.last..self.last + 4].copy_from_slice(&n.to_le_bytes());
    }

    /// The most cells any row has.
    pub fn widest(&self) -> usize {
        let mut widest = 0;
        let _ = self.for_each::<()>(0, &mut |row| {
            widest = widest.max(row.len());
            Ok(())
        });
        widest
    }

    /// Calls `f` with every row's values in order, each row padded with empty values to at
    /// least `width`; stops at the first error.
    pub fn for_each<E>(
        &self,
        width: usize,
        f: &mut dyn FnMut(&[Value<'_>]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut values = Vec::with_capacity(width);
        let mut at = 0;
        while at < self.bytes.len() {
            let n = self.count_at(at);
            at += 4;
            values.clear();
            for _ in 0..n {
                let (value, next) = self.value_at(at);
                values.push(value);
                at = next;
            }
            if values.len() < width {
                values.resize(width, Value::Empty);
            }
            f(&values)?;
        }
        Ok(())
    }

    /// Every row as owned cells (texts as [`Cell::Text`]).
    pub fn cells(&self) -> Vec<Vec<Cell>> {
        let mut rows = Vec::with_capacity(self.len);
        let _ = self.for_each::<()>(0, &mut |row| {
            rows.push(row.iter().map(cell_of).collect());
            Ok(())
        });
        rows
    }

    fn put(&mut self, cell: &Cell) {
        match cell {
            Cell::Text(s) => self.put_text(s),
            Cell::Shared(s) => self.put_text(s),
            Cell::Fixed(s) => self.put_text(s),
            Cell::Int(v) => {
                self.bytes.push(INT);
                self.bytes.extend_from_slice(&v.to_le_bytes());
            }
            Cell::Dec(d) => {
                self.bytes.push(DEC);
                self.bytes.extend_from_slice(&d.serialize());
            }
            Cell::Empty => self.bytes.push(EMPTY),
        }
    }

    fn put_text(&mut self, s: &str) {
        self.bytes.push(TEXT);
        // The length as LEB128: one byte below 128, and no limit.
        let mut n = s.len();
        while n >= 0x80 {
            self.bytes.push((n as u8 & 0x7f) | 0x80);
            n >>= 7;
        }
        self.bytes.push(n as u8);
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn count_at(&self, at: usize) -> u32 {
        u32::from_le_bytes(array(&self.bytes[at..at + 4]))
    }

    /// The value at `at` and where the next one starts. The bytes are only ever written by
    /// [`Rows::put`], so every tag and length is one it wrote.
    fn value_at(&self, at: usize) -> (Value<'_>, usize) {
        let b = &self.bytes;
        match b[at] {
            TEXT => {
                let (mut n, mut shift, mut i) = (0usize, 0, at + 1);
                loop {
                    let byte = b[i];
                    n |= usize::from(byte & 0x7f) << shift;
                    i += 1;
                    if byte < 0x80 {
                        break;
                    }
                    shift += 7;
                }
                // Written from a `&str`, so always UTF-8.
                let text = std::str::from_utf8(&b[i..i + n]).unwrap_or_default();
                (Value::Text(text), i + n)
            }
            INT => (
                Value::Int(i64::from_le_bytes(array(&b[at + 1..at + 9]))),
                at + 9,
            ),
            DEC => (
                Value::Dec(Decimal::deserialize(array(&b[at + 1..at + 17]))),
                at + 17,
            ),
            _ => (Value::Empty, at + 1),
        }
    }
}

fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(bytes);
    a
}

fn cell_of(v: &Value<'_>) -> Cell {
    match v {
        Value::Text(s) => Cell::Text((*s).to_string()),
        Value::Int(v) => Cell::Int(*v),
        Value::Dec(d) => Cell::Dec(*d),
        Value::Empty => Cell::Empty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;

    fn text_of(cells: &[Cell]) -> Vec<String> {
        cells.iter().map(Cell::text).collect()
    }

    #[test]
    fn rows_read_back_as_written_and_the_last_grows() {
        let mut rows = Rows::default();
        rows.push([
            Cell::Shared(Arc::from("kasse")),
            Cell::Fixed("Beleg"),
            Cell::Int(-7),
            Cell::Dec("-11.90".parse().unwrap()),
            Cell::Empty,
            Cell::Text("ä".repeat(200)),
        ]);
        rows.push([Cell::Text(String::new())]);
        rows.extend_last([Cell::Int(1), Cell::Empty]);
        assert_eq!(rows.widest(), 6);
        let cells = rows.cells();
        assert_eq!(cells.len(), 2);
        assert_eq!(
            text_of(&cells[0]),
            ["kasse", "Beleg", "-7", "-11.90", "", &"ä".repeat(200)]
        );
        assert_eq!(text_of(&cells[1]), ["", "1", ""]);
        let mut widths = Vec::new();
        rows.for_each::<()>(5, &mut |r| {
            widths.push(r.len());
            Ok(())
        })
        .unwrap();
        assert_eq!(widths, [6, 5]);
    }

    proptest! {
        #[test]
        fn any_cells_round_trip(
            row in proptest::collection::vec(prop_oneof![
                any::<i64>().prop_map(Cell::Int),
                (any::<i64>(), 0u32..=28).prop_map(|(m, s)| Cell::Dec(Decimal::new(m, s))),
                ".{0,300}".prop_map(Cell::Text),
                Just(Cell::Empty),
            ], 0..40)
        ) {
            let mut rows = Rows::default();
            rows.push(row.clone());
            rows.push(row.clone());
            let back = rows.cells();
            prop_assert_eq!(&back[0], &row);
            prop_assert_eq!(&back[1], &row);
        }
    }
}
