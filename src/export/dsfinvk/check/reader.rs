//! A strict, streaming reader of one DSFinV-K CSV file.
//!
//! It yields one record at a time with the line it starts on and how it ended, so the caller
//! can report a bare LF or CR (the dialect demands CRLF) with its line instead of failing, and
//! go on reading. Values are split on the declared column delimiter, a value starting with the
//! declared encapsulator is quoted (CR and LF inside are data, `""` is one `"`). Memory is
//! bounded: a value longer than [`MAX_VALUE_BYTES`] or a record with more than [`MAX_VALUES`]
//! values is cut and flagged, so hostile input cannot exhaust it.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};

/// Longest value kept: 256 times the longest DSFinV-K column (1000 characters of 4 bytes).
pub(crate) const MAX_VALUE_BYTES: usize = 1 << 20;
/// Most values kept per record; DSFinV-K tables have at most 23 columns.
pub(crate) const MAX_VALUES: usize = 4096;

/// How a record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// CR LF, as declared.
    Crlf,
    /// A bare LF.
    Lf,
    /// A bare CR.
    Cr,
    /// The end of the file, without a record delimiter.
    Eof,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    /// Physical line the record starts on (1-based).
    pub line: u64,
    /// The values, decoded (invalid UTF-8 replaced, see `bad_utf8`).
    pub values: Vec<String>,
    /// How it ended.
    pub ending: Ending,
    /// Some value was not valid UTF-8.
    pub bad_utf8: bool,
    /// What is wrong with the quoting or size of a value, if anything.
    pub malformed: Option<String>,
}

/// Reads records from a byte stream.
pub(crate) struct RecordReader<R: Read> {
    inner: BufReader<R>,
    pending: VecDeque<u8>,
    line: u64,
    delimiter: u8,
    quote: u8,
    /// The stream started with a UTF-8 byte order mark (skipped).
    pub bom: bool,
}

impl<R: Read> RecordReader<R> {
    /// A reader with the given column delimiter and text encapsulator (ASCII bytes).
    pub(crate) fn new(inner: R, delimiter: u8, quote: u8) -> io::Result<Self> {
        let mut r = RecordReader {
            inner: BufReader::new(inner),
            pending: VecDeque::new(),
            line: 1,
            delimiter,
            quote,
            bom: false,
        };
        for _ in 0..3 {
            if let Some(b) = r.read_raw()? {
                r.pending.push_back(b);
            }
        }
        if r.pending.iter().copied().eq([0xEF, 0xBB, 0xBF]) {
            r.pending.clear();
            r.bom = true;
        }
        Ok(r)
    }

    fn read_raw(&mut self) -> io::Result<Option<u8>> {
        let buf = loop {
            match self.inner.fill_buf() {
                Ok(buf) => break buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.inner.consume(1);
        Ok(Some(b))
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        match self.pending.pop_front() {
            Some(b) => Ok(Some(b)),
            None => self.read_raw(),
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        if self.pending.is_empty()
            && let Some(b) = self.read_raw()?
        {
            self.pending.push_back(b);
        }
        Ok(self.pending.front().copied())
    }

    /// The next record, `None` at the end of the stream.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        let line = self.line;
        let mut raw: Vec<Vec<u8>> = Vec::new();
        let mut field: Vec<u8> = Vec::new();
        let mut malformed: Option<String> = None;
        let mut started = false;
        let mut at_start = true;
        let mut in_quotes = false;
        let mut after_close = false;
        let note = |m: &mut Option<String>, what: String| {
            m.get_or_insert(what);
        };
        let ending = loop {
            let Some(b) = self.next_byte()? else {
                if !started {
                    return Ok(None);
                }
                if in_quotes {
                    note(
                        &mut malformed,
                        format!("quoted value opened on line {line} is never closed"),
                    );
                }
                break Ending::Eof;
            };
            started = true;
            if in_quotes {
                if b == self.quote {
                    if self.peek()? == Some(self.quote) {
                        self.pending.pop_front();
                        push_capped(&mut field, b, &mut malformed);
                    } else {
                        in_quotes = false;
                        after_close = true;
                    }
                } else {
                    if b == b'\n' || (b == b'\r' && self.peek()? != Some(b'\n')) {
                        self.line += 1;
                    }
                    push_capped(&mut field, b, &mut malformed);
                }
                continue;
            }
            if b == self.delimiter {
                push_value(&mut raw, std::mem::take(&mut field), &mut malformed);
                at_start = true;
                after_close = false;
                continue;
            }
            match b {
                b'\r' => {
                    self.line += 1;
                    if self.peek()? == Some(b'\n') {
                        self.pending.pop_front();
                        break Ending::Crlf;
                    }
                    break Ending::Cr;
                }
                b'\n' => {
                    self.line += 1;
                    break Ending::Lf;
                }
                _ if b == self.quote && at_start => {
                    in_quotes = true;
                    at_start = false;
                }
                _ => {
                    if after_close {
                        note(
                            &mut malformed,
                            "text after the closing quote of a value".to_string(),
                        );
                    } else if b == self.quote {
                        note(
                            &mut malformed,
                            "quote inside a value that does not start with one".to_string(),
                        );
                    }
                    at_start = false;
                    push_capped(&mut field, b, &mut malformed);
                }
            }
        };
        push_value(&mut raw, field, &mut malformed);
        let mut bad_utf8 = false;
        let values = raw
            .into_iter()
            .map(|v| {
                String::from_utf8(v).unwrap_or_else(|e| {
                    bad_utf8 = true;
                    String::from_utf8_lossy(e.as_bytes()).into_owned()
                })
            })
            .collect();
        Ok(Some(Record {
            line,
            values,
            ending,
            bad_utf8,
            malformed,
        }))
    }
}

fn push_capped(field: &mut Vec<u8>, b: u8, malformed: &mut Option<String>) {
    if field.len() < MAX_VALUE_BYTES {
        field.push(b);
    } else if malformed.is_none() {
        *malformed = Some(format!(
            "a value longer than {MAX_VALUE_BYTES} bytes (cut; an unclosed quote?)"
        ));
    }
}

fn push_value(raw: &mut Vec<Vec<u8>>, value: Vec<u8>, malformed: &mut Option<String>) {
    if raw.len() < MAX_VALUES {
        raw.push(value);
    } else if malformed.is_none() {
        *malformed = Some(format!("more than {MAX_VALUES} values in one record"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(bytes: &[u8]) -> (Vec<Record>, bool) {
        let mut r = RecordReader::new(bytes, b';', b'"').unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec);
        }
        (out, r.bom)
    }

    #[test]
    fn reads_quoted_values_and_keeps_line_numbers() {
        let (recs, bom) = all(b"A;B\r\n\"x;\"\"y\"\"\";\"a\r\nb\"\r\n1;2\n3;4");
        assert!(!bom);
        assert_eq!(recs.len(), 4);
        assert_eq!(recs[1].values, ["x;\"y\"", "a\r\nb"]);
        assert_eq!(recs[1].ending, Ending::Crlf);
        assert_eq!((recs[2].line, recs[2].ending), (4, Ending::Lf));
        assert_eq!((recs[3].line, recs[3].ending), (5, Ending::Eof));
        assert!(recs.iter().all(|r| r.malformed.is_none()));
    }

    #[test]
    fn flags_bom_bad_quotes_and_bad_utf8() {
        let (recs, bom) = all(b"\xEF\xBB\xBFA;B\r\n\"x\"y;\xFF\r\n\"open");
        assert!(bom);
        assert_eq!(recs[0].values, ["A", "B"]);
        assert!(recs[1].malformed.is_some());
        assert!(recs[1].bad_utf8);
        assert!(
            recs[2]
                .malformed
                .as_deref()
                .unwrap()
                .contains("never closed")
        );
    }

    #[test]
    fn huge_values_and_records_are_cut_and_flagged() {
        let mut long = vec![b'"'];
        long.resize(MAX_VALUE_BYTES + 10, b'x');
        let (recs, _) = all(&long);
        assert_eq!(recs[0].values[0].len(), MAX_VALUE_BYTES);
        assert!(
            recs[0]
                .malformed
                .as_deref()
                .unwrap()
                .contains("longer than")
        );
        let wide = vec![b';'; MAX_VALUES + 5];
        let (recs, _) = all(&wide);
        assert_eq!(recs[0].values.len(), MAX_VALUES);
        assert!(recs[0].malformed.as_deref().unwrap().contains("more than"));
    }

    proptest! {
        #[test]
        fn never_panics_and_always_ends(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let (recs, _) = all(&bytes);
            prop_assert!(recs.len() <= bytes.len() + 1);
        }
    }
}
