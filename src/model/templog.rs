//! Append-only byte logs in unnamed temporary files.
//!
//! Some indexes of a run keep something for every operation but read little of it back:
//! where each id was first read (needed only for a duplicate), the id of each sequenced
//! operation (needed only for a finding), every reference target (needed only for the
//! operations a reference names). Kept in memory they cost tens of bytes an operation, a
//! gigabyte at ten million; in a [`TempLog`] they cost disk, written 64 KiB at a time, and a
//! seek when one is read back.
//!
//! The file is unnamed (`tempfile::tempfile`), so nothing is left behind whatever happens to
//! the process. Without one (none can be made, or a write fails) the log goes on in memory:
//! what was written before is read back into memory, and if even that fails, those records
//! are reported lost once on stderr and [`TempLog::read_at`] says `false` for them, so that
//! callers name nothing rather than something wrong.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

const CHUNK: usize = 1 << 16;

/// An append-only log of bytes (see the module documentation).
#[derive(Debug, Default)]
pub struct TempLog {
    file: Option<File>,
    opened: bool,
    /// Bytes from offset `base` on, not in the file yet (or never, without a file).
    buf: Vec<u8>,
    /// With a file, the bytes in it; without, the offsets below this are lost.
    base: u64,
    /// What the log is for, in a message about lost records.
    what: &'static str,
}

impl TempLog {
    /// An empty log; `what` names its records in the one message about losing them.
    pub fn new(what: &'static str) -> TempLog {
        TempLog {
            what,
            ..TempLog::default()
        }
    }

    /// The offset the next append will have.
    pub fn len(&self) -> u64 {
        self.base + self.buf.len() as u64
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends `bytes` and returns their offset.
    pub fn append(&mut self, bytes: &[u8]) -> u64 {
        if !self.opened {
            self.opened = true;
            self.file = tempfile::tempfile().ok();
        }
        let at = self.len();
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= CHUNK {
            self.flush();
        }
        at
    }

    /// Writes the buffer to the file; on failure the log moves to memory.
    fn flush(&mut self) {
        let Some(file) = &mut self.file else { return };
        if self.buf.is_empty() {
            return;
        }
        let wrote = file
            .seek(SeekFrom::Start(self.base))
            .and_then(|_| file.write_all(&self.buf));
        if wrote.is_ok() {
            self.base += self.buf.len() as u64;
            self.buf.clear();
            return;
        }
        let mut all = Vec::new();
        let back = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| Read::by_ref(file).take(self.base).read_to_end(&mut all));
        match back {
            Ok(n) if n as u64 == self.base => {
                all.append(&mut self.buf);
                self.buf = all;
                self.base = 0;
            }
            _ => eprintln!(
                "fiskal: a temporary file failed; the first {} bytes of {} are lost",
                self.base, self.what
            ),
        }
        self.file = None;
    }

    /// Reads `out.len()` bytes at `offset`; false if they are not (or no longer) there.
    pub fn read_at(&mut self, offset: u64, out: &mut [u8]) -> bool {
        let end = offset + out.len() as u64;
        if offset >= self.base {
            let from = (offset - self.base) as usize;
            return match self.buf.get(from..from + out.len()) {
                Some(b) => {
                    out.copy_from_slice(b);
                    true
                }
                None => false,
            };
        }
        if end > self.base {
            // Straddles the file and the buffer: the buffer goes out first.
            self.flush();
            return self.file.is_some() && self.read_at(offset, out);
        }
        let Some(file) = &mut self.file else {
            return false;
        };
        file.seek(SeekFrom::Start(offset))
            .and_then(|_| file.read_exact(out))
            .is_ok()
    }

    /// The whole log from its start, as one reader (without the lost part, if any).
    pub fn reader(&mut self) -> io::Result<impl Read + '_> {
        let file: Box<dyn Read + '_> = match &mut self.file {
            Some(f) => {
                f.seek(SeekFrom::Start(0))?;
                Box::new(io::BufReader::with_capacity(CHUNK, f.take(self.base)))
            }
            None => Box::new(io::empty()),
        };
        Ok(file.chain(&self.buf[..]))
    }
}

/// A [`TempLog`] of keyed records (key, length, bytes), read back by a scan that picks the
/// keys wanted: for indexes that keep a record per operation but need only those that a later
/// operation names, once all are in.
#[derive(Debug)]
pub struct KeyedLog {
    log: TempLog,
    record: Vec<u8>,
}

impl KeyedLog {
    /// An empty log; `what` as for [`TempLog::new`].
    pub fn new(what: &'static str) -> KeyedLog {
        KeyedLog {
            log: TempLog::new(what),
            record: Vec::new(),
        }
    }

    /// Appends a record; `write` puts its bytes.
    pub fn push(&mut self, key: u64, write: impl FnOnce(&mut Vec<u8>)) {
        let r = &mut self.record;
        r.clear();
        r.extend_from_slice(&key.to_le_bytes());
        r.extend_from_slice(&[0; 4]);
        write(r);
        let len = u32::try_from(r.len() - 12).expect("a record under 4 GiB");
        r[8..12].copy_from_slice(&len.to_le_bytes());
        self.log.append(r);
    }

    /// Hands every record whose key is `wanted` to `found`, in the order they were pushed.
    pub fn scan(
        &mut self,
        wanted: &mut dyn FnMut(u64) -> bool,
        found: &mut dyn FnMut(u64, &[u8]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.log.is_empty() {
            return Ok(());
        }
        let mut r = self.log.reader()?;
        let mut head = [0u8; 12];
        let mut body = Vec::new();
        loop {
            match r.read_exact(&mut head) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
            let key = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
            let len = u32::from_le_bytes(head[8..].try_into().expect("4 bytes"));
            body.resize(len as usize, 0);
            r.read_exact(&mut body)?;
            if wanted(key) {
                found(key, &body)?;
            }
        }
    }
}

/// A [`TempLog`] of values as JSON lines, all read back at once in the order written; for
/// what a run only needs again at its end. Reading back is an error if a record is missing,
/// since a caller summing or listing them would otherwise go on with part of them.
#[derive(Debug)]
pub struct JsonLines {
    log: TempLog,
    /// Records written.
    n: u64,
    line: Vec<u8>,
}

impl JsonLines {
    /// An empty log; `what` names its records, as for [`TempLog::new`].
    pub fn new(what: &'static str) -> JsonLines {
        JsonLines {
            log: TempLog::new(what),
            n: 0,
            line: Vec::new(),
        }
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Appends `value` as one line.
    pub fn push<T: serde::Serialize>(&mut self, value: &T) {
        self.line.clear();
        // Into a vector, and of types whose serialisation cannot fail (no map with keys
        // that are not strings).
        serde_json::to_writer(&mut self.line, value).expect("a record serialises");
        self.line.push(b'\n');
        self.log.append(&self.line);
        self.n += 1;
    }

    /// Hands every record to `each` in the order written; an error if the file cannot be
    /// read, a record does not parse, or fewer records come back than were written.
    pub fn read_all<T: serde::de::DeserializeOwned>(
        &mut self,
        each: &mut dyn FnMut(T),
    ) -> io::Result<()> {
        let mut read = 0u64;
        for line in io::BufRead::lines(io::BufReader::new(self.log.reader()?)) {
            each(serde_json::from_str(&line?)?);
            read += 1;
        }
        if read != self.n {
            return Err(io::Error::other(format!(
                "{} of {} {} were lost from a temporary file",
                self.n - read,
                self.n,
                self.log.what
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_read_back_in_order() {
        let mut log = JsonLines::new("test values");
        assert!(log.is_empty());
        for i in 0..10_000u32 {
            log.push(&(i, format!("v{i}")));
        }
        assert!(!log.is_empty());
        let mut back = Vec::new();
        log.read_all(&mut |v: (u32, String)| back.push(v)).unwrap();
        assert_eq!(back.len(), 10_000);
        assert!(
            back.iter()
                .enumerate()
                .all(|(i, (n, s))| *n as usize == i && *s == format!("v{i}"))
        );
    }

    #[test]
    fn json_lines_missing_records_are_an_error() {
        let mut log = JsonLines::new("test values");
        log.push(&1u32);
        log.push(&2u32);
        // As if the log had lost its last record.
        log.log.buf.truncate(2);
        let e = log.read_all(&mut |_: u32| {}).expect_err("one is missing");
        assert_eq!(
            e.to_string(),
            "1 of 2 test values were lost from a temporary file"
        );
    }

    #[test]
    fn reads_back_records_from_the_file_and_the_buffer() {
        let mut log = TempLog::new("test records");
        let rec = |i: u32| format!("record {i};").into_bytes();
        let offsets: Vec<u64> = (0..20_000).map(|i| log.append(&rec(i))).collect();
        assert!(log.file.is_some(), "a temporary file is used");
        assert!(
            log.base > 0 && !log.buf.is_empty(),
            "some in the file, some buffered"
        );
        for i in [0u32, 1, 7_000, 19_999] {
            let mut out = vec![0; rec(i).len()];
            assert!(log.read_at(offsets[i as usize], &mut out));
            assert_eq!(out, rec(i));
        }
        // Reading does not disturb appending.
        let next = log.append(b"last");
        let mut out = [0; 4];
        assert!(log.read_at(next, &mut out));
        assert_eq!(&out, b"last");
        assert!(!log.read_at(log.len(), &mut out));
        let mut all = Vec::new();
        log.reader().unwrap().read_to_end(&mut all).unwrap();
        let expected: Vec<u8> = (0..20_000).flat_map(rec).chain(*b"last").collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn without_a_file_the_log_is_kept_in_memory() {
        let mut log = TempLog::new("test records");
        log.opened = true;
        let offsets: Vec<u64> = (0..10_000u32)
            .map(|i| log.append(&i.to_le_bytes()))
            .collect();
        let mut out = [0; 4];
        assert!(log.read_at(offsets[9_999], &mut out));
        assert_eq!(u32::from_le_bytes(out), 9_999);
        let mut all = Vec::new();
        log.reader().unwrap().read_to_end(&mut all).unwrap();
        assert_eq!(all.len(), 40_000);
    }

    #[test]
    fn a_keyed_log_hands_back_the_wanted_records_in_order() {
        let mut log = KeyedLog::new("test records");
        for i in 0..30_000u64 {
            log.push(i % 1000, |b| {
                b.extend_from_slice(format!("#{i}").as_bytes())
            });
        }
        let mut got = Vec::new();
        log.scan(&mut |k| k == 7 || k == 999, &mut |k, b| {
            got.push((k, String::from_utf8(b.to_vec()).unwrap()));
            Ok(())
        })
        .unwrap();
        let want: Vec<(u64, String)> = (0..30_000u64)
            .filter(|i| i % 1000 == 7 || i % 1000 == 999)
            .map(|i| (i % 1000, format!("#{i}")))
            .collect();
        assert_eq!(got, want);
    }
}
