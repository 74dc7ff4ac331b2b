//! Dump readers: from paths on the command line to a stream of raw JSON records.
//!
//! Handles directories (sorted walk), zip archives (entries in name order), gzip (by magic
//! bytes), and the three JSON containers: NDJSON, a JSON array read element by element, and
//! whole documents (a single operation or a list page, possibly pretty-printed). Nothing here
//! knows what an operation is; records are handed on as text with their location.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::reject::{FieldError, Reject, RejectClass};
use crate::model::SourceLoc;

/// What the reader hands on.
pub enum Unit<'a> {
    /// One top-level JSON value (or array element / NDJSON line) with its location.
    Record(SourceLoc, &'a str),
    /// A file, entry or record that could not be read.
    Reject(Reject),
}

/// Which files an input run touched.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InputFiles {
    /// Files and archive entries read as data.
    pub read: Vec<String>,
    /// Files passed over in directories, with the reason.
    pub skipped: Vec<(String, String)>,
    /// Master-data files found in input directories.
    pub master_data: Vec<PathBuf>,
    /// Inputs that could not be opened at all.
    pub unreadable: Vec<String>,
    /// Operations read but left to another shard (`--shard`): their registers belong there.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other_shards: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl InputFiles {
    /// Adds what another reader of other files touched.
    pub(crate) fn absorb(&mut self, other: InputFiles) {
        self.read.extend(other.read);
        self.skipped.extend(other.skipped);
        self.master_data.extend(other.master_data);
        self.unreadable.extend(other.unreadable);
        self.other_shards += other.other_shards;
    }
}

const DATA_EXTENSIONS: &[&str] = &["json", "ndjson", "jsonl", "gz", "zip"];

/// True for the file names fiskal takes as master data inside an input directory.
pub fn is_master_data_name(name: &str) -> bool {
    name == "masterdata.toml" || name == "masterdata.json"
}

/// Expands the inputs into the files to read, in a deterministic order.
pub fn collect_files(inputs: &[PathBuf], files: &mut InputFiles) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found = Vec::new();
            walk(input, &mut found, files);
            found.sort();
            out.extend(found);
        } else if input
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(is_master_data_name)
        {
            files.master_data.push(input.clone());
        } else {
            out.push(input.clone());
        }
    }
    out
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>, files: &mut InputFiles) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            files.skipped.push((
                dir.display().to_string(),
                format!("cannot list directory: {e}"),
            ));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.starts_with('_') {
            // Hidden files and `_`-prefixed side files (e.g. synth's `_injected.json`) are
            // metadata, not operation data.
            files
                .skipped
                .push((path.display().to_string(), "hidden or metadata file".into()));
        } else if name.ends_with(".checkpoint.json") {
            // `fiskal fetch` keeps its resume point beside the dump it is building.
            files
                .skipped
                .push((path.display().to_string(), "fetch checkpoint".into()));
        } else if path.is_dir() {
            walk(&path, found, files);
        } else if is_master_data_name(&name) {
            files.master_data.push(path);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| DATA_EXTENSIONS.iter().any(|d| e.eq_ignore_ascii_case(d)))
        {
            found.push(path);
        } else {
            files.skipped.push((
                path.display().to_string(),
                "not a .json/.ndjson/.jsonl/.gz/.zip file".into(),
            ));
        }
    }
}

/// Reads one file (plain, gzip or zip) and hands every record to `visit`.
pub fn read_file(path: &Path, files: &mut InputFiles, visit: &mut dyn FnMut(Unit)) {
    let name: Arc<str> = Arc::from(path.display().to_string());
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            files.unreadable.push(name.to_string());
            visit(Unit::Reject(unreadable(
                SourceLoc::file(name, None),
                format!("cannot open: {e}"),
            )));
            return;
        }
    };
    let mut magic = [0u8; 4];
    let n = read_prefix(&mut file, &mut magic);
    if n == 4 && magic == *b"PK\x03\x04" {
        read_zip(file, name, files, visit);
        return;
    }
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) => {
            files.unreadable.push(name.to_string());
            visit(Unit::Reject(unreadable(
                SourceLoc::file(name, None),
                format!("cannot open: {e}"),
            )));
            return;
        }
    };
    files.read.push(name.to_string());
    read_stream(
        Box::new(BufReader::with_capacity(256 * 1024, file)),
        SourceLoc::file(name, None),
        visit,
    );
}

fn read_prefix(r: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => n += k,
        }
    }
    n
}

fn read_zip(file: File, name: Arc<str>, files: &mut InputFiles, visit: &mut dyn FnMut(Unit)) {
    let mut archive = match zip::ZipArchive::new(file) {
        Ok(a) => a,
        Err(e) => {
            files.unreadable.push(name.to_string());
            visit(Unit::Reject(unreadable(
                SourceLoc::file(name, None),
                format!("not a readable zip archive: {e}"),
            )));
            return;
        }
    };
    let mut entries: Vec<(String, usize)> = (0..archive.len())
        .filter_map(|i| {
            archive
                .name_for_index(i)
                .and_then(|n| n.ok())
                .map(|n| (n.to_string(), i))
        })
        .collect();
    entries.sort();
    for (entry_name, idx) in entries {
        let base = entry_name
            .rsplit('/')
            .next()
            .unwrap_or(&entry_name)
            .to_string();
        if entry_name.ends_with('/')
            || base.starts_with('.')
            || base.starts_with('_')
            || base.is_empty()
        {
            continue;
        }
        let loc = SourceLoc::file(name.clone(), Some(Arc::from(entry_name.as_str())));
        let entry = match archive.by_index(idx) {
            Ok(e) => e,
            Err(e) => {
                visit(Unit::Reject(unreadable(
                    loc,
                    format!("cannot read zip entry: {e}"),
                )));
                continue;
            }
        };
        let mut reader = BufReader::with_capacity(256 * 1024, entry);
        if reader
            .fill_buf()
            .map(|b| b.starts_with(b"PK\x03\x04"))
            .unwrap_or(false)
        {
            visit(Unit::Reject(unreadable(
                loc,
                "zip archives inside zip archives are not read; unpack the outer archive".into(),
            )));
            continue;
        }
        files.read.push(format!("{name}!{entry_name}"));
        read_stream(Box::new(reader), loc, visit);
    }
}

/// Reads an in-memory byte buffer exactly as a file of that content.
pub fn read_bytes(bytes: &[u8], loc: SourceLoc, visit: &mut dyn FnMut(Unit)) {
    read_stream(Box::new(io::Cursor::new(bytes)), loc, visit);
}

/// Reads one byte stream (after decompressing gzip) as NDJSON, array or documents.
fn read_stream(mut reader: Box<dyn BufRead + '_>, loc: SourceLoc, visit: &mut dyn FnMut(Unit)) {
    if reader
        .fill_buf()
        .map(|b| b.starts_with(&[0x1f, 0x8b]))
        .unwrap_or(false)
    {
        let gz = flate2::bufread::MultiGzDecoder::new(reader);
        reader = Box::new(BufReader::with_capacity(256 * 1024, gz));
    }
    let mut line_no: u64 = 1;
    // Skip a UTF-8 byte-order mark and leading blank space, counting newlines.
    let first = loop {
        let buf = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) => {
                visit(Unit::Reject(unreadable(loc, format!("read error: {e}"))));
                return;
            }
        };
        if buf.is_empty() {
            return;
        }
        if buf.starts_with(b"\xEF\xBB\xBF") {
            reader.consume(3);
            continue;
        }
        let skip = buf.iter().take_while(|b| b.is_ascii_whitespace()).count();
        line_no += buf[..skip].iter().filter(|&&b| b == b'\n').count() as u64;
        let first = buf.get(skip).copied();
        reader.consume(skip);
        if let Some(b) = first {
            break b;
        }
    };
    if first == b'[' {
        read_array(reader, loc, line_no, visit);
        return;
    }
    let mut line = Vec::new();
    if let Err(e) = reader.read_until(b'\n', &mut line) {
        visit(Unit::Reject(unreadable(
            loc.clone(),
            format!("read error: {e}"),
        )));
        return;
    }
    let first_is_complete = match std::str::from_utf8(&line) {
        Ok(text) => match serde_json::from_str::<&RawValue>(text.trim()) {
            Ok(_) => true,
            Err(e) => !e.is_eof(),
        },
        Err(_) => true,
    };
    if first_is_complete {
        read_ndjson(reader, line, loc, line_no, visit);
    } else {
        read_documents(
            Box::new(io::Cursor::new(line).chain(reader)),
            loc,
            line_no,
            visit,
        );
    }
}

fn read_ndjson(
    mut reader: Box<dyn BufRead + '_>,
    mut line: Vec<u8>,
    loc: SourceLoc,
    mut line_no: u64,
    visit: &mut dyn FnMut(Unit),
) {
    loop {
        let here = SourceLoc {
            line: Some(line_no),
            ..loc.clone()
        };
        match std::str::from_utf8(&line) {
            Ok(text) => {
                let text = text.trim();
                if !text.is_empty() {
                    visit(Unit::Record(here, text));
                }
            }
            Err(e) => visit(Unit::Reject(
                FieldError::new(
                    RejectClass::MalformedJson,
                    "",
                    None,
                    None,
                    format!("malformed JSON: invalid UTF-8 ({e})"),
                )
                .at(here, None),
            )),
        }
        line.clear();
        line_no += 1;
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                let here = SourceLoc {
                    line: Some(line_no),
                    ..loc
                };
                visit(Unit::Reject(unreadable(
                    here,
                    format!("read error, rest of the file not read: {e}"),
                )));
                return;
            }
        }
    }
}

fn read_documents(
    reader: Box<dyn Read + '_>,
    loc: SourceLoc,
    first_line: u64,
    visit: &mut dyn FnMut(Unit),
) {
    let stream = serde_json::Deserializer::from_reader(reader).into_iter::<Box<RawValue>>();
    for (index, value) in stream.enumerate() {
        let here = SourceLoc {
            index: Some(index as u64),
            ..loc.clone()
        };
        match value {
            Ok(raw) => visit(Unit::Record(here, raw.get())),
            Err(e) => {
                visit(Unit::Reject(json_stream_error(here, &e, first_line)));
                return;
            }
        }
    }
}

fn read_array(
    reader: Box<dyn BufRead + '_>,
    loc: SourceLoc,
    first_line: u64,
    visit: &mut dyn FnMut(Unit),
) {
    struct Elements<'v, 'l> {
        loc: &'l SourceLoc,
        visit: &'v mut dyn FnMut(Unit),
        count: &'l mut u64,
    }
    impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }
    impl<'de> Visitor<'de> for Elements<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON array of operations")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            // One element at a time: a multi-gigabyte array is never held whole.
            while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
                let here = SourceLoc {
                    index: Some(*self.count),
                    ..self.loc.clone()
                };
                (self.visit)(Unit::Record(here, raw.get()));
                *self.count += 1;
            }
            Ok(())
        }
    }
    let mut count = 0u64;
    let mut de = serde_json::Deserializer::from_reader(reader);
    let result = Elements {
        loc: &loc,
        visit: &mut *visit,
        count: &mut count,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end());
    if let Err(e) = result {
        let here = SourceLoc {
            index: Some(count),
            ..loc
        };
        visit(Unit::Reject(json_stream_error(here, &e, first_line)));
    }
}

fn json_stream_error(loc: SourceLoc, e: &serde_json::Error, first_line: u64) -> Reject {
    // serde_json counts lines from where the stream started, after the skipped blank lines.
    let line = e.line() as u64 + first_line - 1;
    let detail = e.to_string();
    let detail = match detail.rfind(" at line ") {
        Some(i) => &detail[..i],
        None => &detail[..],
    };
    FieldError::new(
        RejectClass::MalformedJson,
        "",
        None,
        None,
        format!("malformed JSON: {detail} at line {line} column {}; the rest of this file cannot be read", e.column()),
    )
    .at(loc, None)
}

fn unreadable(loc: SourceLoc, message: String) -> Reject {
    FieldError::new(RejectClass::Unreadable, "", None, None, message).at(loc, None)
}
