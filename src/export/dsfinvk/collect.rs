//! Gathering each German register's operations until the input ends.
//!
//! A DSFinV-K archive covers all closings of a register, and the input may give a register's
//! operations anywhere (files per day, pages of an API), so an export can only be built when
//! everything is read. Holding every German operation in memory until then made memory grow
//! with the input (about 4 KB per operation). The collector therefore keeps operations in
//! memory only while they are few ([`SPILL_AFTER`]); beyond that it writes them, serialised
//! as JSON lines of the canonical model, to an unnamed temporary file in the output
//! directory, in chunks per register, and the export reads back one register at a time. The
//! file has no name (`tempfile::tempfile_in`), so a crash leaves nothing behind.
//!
//! Serialised operations read back equal to the originals (`Operation` round-trips through
//! serde: the `round_trip` tests), so a spilled export is byte-identical to one built in
//! memory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::Error;
use crate::model::{Operation, Regime};

/// Operations kept in memory before the collector spills: about 270 MB of model at 5.4 KB an
/// operation (heaptrack of `audit`, strings and the `Vec`'s slack included), so that
/// histories of up to this size pay nothing for serialising. Spilling after 10,000 instead
/// made `export dsfinvk` of 100,000 operations (a third of them German) take 2.14 s instead of 1.23 s,
/// for no lower peak at a million.
pub const SPILL_AFTER: usize = 50_000;

/// Bytes of serialised operations a register gathers before they are written as one chunk:
/// large enough that a register reads back in a few reads, small enough that thousands of
/// registers hold little.
const CHUNK: usize = 64 * 1024;

/// Gathers KassenSichV operations per register from a stream of operations.
///
/// Operations without a fiscal block (session records, unsigned cash movements) are kept
/// while their register is not known to be of another regime; a register showing an RKSV or
/// RT block is dropped with everything gathered for it.
#[derive(Debug, Default)]
pub struct Collector {
    registers: BTreeMap<String, Gathered>,
    kassensichv: BTreeSet<String>,
    other: BTreeSet<String>,
    /// Operations held in memory (not spilled).
    held: usize,
    /// Where to spill; `None`: everything stays in memory.
    spill_dir: Option<PathBuf>,
    limit: usize,
    spill: Option<Spill>,
}

/// One register's operations: in memory, or in chunks of the spill file plus the bytes of the
/// chunk being filled.
#[derive(Debug, Default)]
pub struct Gathered {
    /// The register.
    pub register: String,
    ops: Vec<Operation>,
    pending: Vec<u8>,
    chunks: Vec<(u64, usize)>,
}

#[derive(Debug)]
struct Spill {
    file: File,
    len: u64,
    /// The first write error: the spilled registers cannot be exported, which each of them
    /// then reports (no operation is silently missing from an archive).
    broken: Option<String>,
}

impl Collector {
    /// A collector that spills to an unnamed file in `dir` once it holds more than
    /// [`SPILL_AFTER`] operations.
    pub fn spilling_to(dir: &Path) -> Collector {
        Collector::spilling_after(dir, SPILL_AFTER)
    }

    /// [`Collector::spilling_to`] with another limit (tests).
    pub fn spilling_after(dir: &Path, limit: usize) -> Collector {
        Collector {
            spill_dir: Some(dir.to_path_buf()),
            limit,
            ..Collector::default()
        }
    }

    /// Whether operations went to the spill file.
    pub fn spilled(&self) -> bool {
        self.spill.is_some()
    }

    /// Takes one operation.
    pub fn push(&mut self, op: Operation) {
        let Some(register) = op.register_id.as_deref() else {
            return;
        };
        if self.other.contains(register) {
            return;
        }
        match op.regime() {
            Some(Regime::KassenSichV) if !self.kassensichv.contains(register) => {
                self.kassensichv.insert(register.to_string());
            }
            Some(Regime::KassenSichV) | None => {}
            Some(_) => {
                self.other.insert(register.to_string());
                if let Some(g) = self.registers.remove(register) {
                    self.held -= g.ops.len();
                }
                return;
            }
        }
        if !self.registers.contains_key(register) {
            let register = register.to_string();
            self.registers.insert(
                register.clone(),
                Gathered {
                    register,
                    ..Gathered::default()
                },
            );
        }
        let g = self
            .registers
            .get_mut(op.register_id.as_deref().unwrap_or_default())
            .expect("inserted above");
        match &mut self.spill {
            Some(spill) => spill.add(g, &op),
            None => {
                g.ops.push(op);
                self.held += 1;
                if self.held > self.limit
                    && let Some(dir) = self.spill_dir.clone()
                {
                    self.start_spill(&dir);
                }
            }
        }
    }

    /// Moves everything held to a new spill file in `dir`.
    fn start_spill(&mut self, dir: &Path) {
        let mut spill = match tempfile::tempfile_in(dir) {
            Ok(file) => Spill {
                file,
                len: 0,
                broken: None,
            },
            // Without a spill file the operations stay in memory, as before there was one.
            Err(_) => {
                self.spill_dir = None;
                return;
            }
        };
        for g in self.registers.values_mut() {
            for op in std::mem::take(&mut g.ops) {
                spill.add(g, &op);
            }
        }
        self.held = 0;
        self.spill = Some(spill);
    }

    /// The registers with at least one KassenSichV operation, in register order, and the
    /// spill file to read them back from.
    pub fn finish(self) -> Collected {
        let mut spill = self.spill;
        let kassensichv = self.kassensichv;
        let registers = self
            .registers
            .into_iter()
            .filter(|(r, _)| kassensichv.contains(r))
            .map(|(_, mut g)| {
                if let Some(s) = &mut spill {
                    s.flush(&mut g);
                }
                g
            })
            .collect();
        Collected {
            registers,
            spill: SpillFile(spill),
        }
    }
}

impl Spill {
    fn add(&mut self, g: &mut Gathered, op: &Operation) {
        if self.broken.is_some() {
            return;
        }
        if let Err(e) = serde_json::to_writer(&mut g.pending, op) {
            self.broken = Some(format!("operation {}: {e}", op.id));
            return;
        }
        g.pending.push(b'\n');
        if g.pending.len() >= CHUNK {
            self.flush(g);
        }
    }

    fn flush(&mut self, g: &mut Gathered) {
        if g.pending.is_empty() || self.broken.is_some() {
            return;
        }
        match self.file.write_all(&g.pending) {
            Ok(()) => {
                g.chunks.push((self.len, g.pending.len()));
                self.len += g.pending.len() as u64;
                g.pending.clear();
            }
            Err(e) => self.broken = Some(e.to_string()),
        }
    }
}

/// What [`Collector::finish`] hands on.
#[derive(Debug)]
pub struct Collected {
    /// The KassenSichV registers, in register order.
    pub registers: Vec<Gathered>,
    /// Where spilled registers are read back from.
    pub spill: SpillFile,
}

/// The spill file, if the collector spilled.
#[derive(Debug)]
pub struct SpillFile(Option<Spill>);

impl SpillFile {
    /// A register's operations in input order, read back from the spill file if they went
    /// there. Readable from several threads at once (positioned reads).
    pub fn load(&self, g: Gathered) -> Result<Vec<Operation>, Error> {
        let Some(spill) = &self.0 else {
            return Ok(g.ops);
        };
        let fail = |message: String| Error::Spill {
            register: g.register.clone(),
            message,
        };
        if let Some(e) = &spill.broken {
            return Err(fail(format!("the spill file could not be written: {e}")));
        }
        let mut ops = g.ops;
        let mut buf = Vec::new();
        for &(offset, len) in &g.chunks {
            buf.resize(len, 0);
            read_at(&spill.file, &mut buf, offset).map_err(|e| fail(e.to_string()))?;
            for line in buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                ops.push(serde_json::from_slice(line).map_err(|e| fail(e.to_string()))?);
            }
        }
        Ok(ops)
    }
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::export::dsfinvk::{Options, export};
    use crate::ingest::{self, Item};
    use crate::model::masterdata::MasterData;
    use crate::synth::{self, Anomaly, SynthOptions, SynthRegime, SynthShape};

    fn operations(dir: &Path) -> Vec<Operation> {
        let mut ops = Vec::new();
        ingest::read(&[dir.to_path_buf()], &mut |item| {
            if let Item::Operation(op) = item {
                ops.push(*op);
            }
        })
        .expect("reads");
        ops
    }

    /// Six registers of all regimes and shapes with the `inject`ed anomalies, and its master
    /// data.
    fn history(inject: &[Anomaly]) -> (tempfile::TempDir, Vec<Operation>, MasterData) {
        let dir = tempfile::tempdir().expect("temp dir");
        let opts = SynthOptions {
            registers: 6,
            days: 3,
            ops_per_day: 30,
            seed: 5,
            regime: SynthRegime::Mixed,
            shape: SynthShape::Mixed,
            start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
            inject: inject.to_vec(),
            placeholder_tse_signatures: false,
            out: dir.path().to_path_buf(),
        };
        synth::generate(&opts, &|_| {}).expect("generates");
        let ops = operations(dir.path());
        let md = MasterData::load(&dir.path().join("masterdata.toml")).expect("master data");
        (dir, ops, md)
    }

    fn anomalous() -> (tempfile::TempDir, Vec<Operation>, MasterData) {
        history(&Anomaly::ALL)
    }

    fn collect(ops: &[Operation], mut c: Collector) -> Vec<(String, Vec<Operation>)> {
        for op in ops {
            c.push(op.clone());
        }
        let Collected { registers, spill } = c.finish();
        registers
            .into_iter()
            .map(|g| (g.register.clone(), spill.load(g).expect("loads")))
            .collect()
    }

    #[test]
    fn operations_round_trip_through_serde() {
        let demo = operations(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/demo"
        )));
        let (_dir, anomalous, _) = anomalous();
        assert!(demo.len() > 100 && anomalous.len() > 300);
        for op in demo.iter().chain(&anomalous) {
            let json = serde_json::to_vec(op).expect("serialises");
            let back: Operation = serde_json::from_slice(&json).expect("reads back");
            assert_eq!(&back, op, "{}", String::from_utf8_lossy(&json));
        }
    }

    #[test]
    fn spilled_registers_equal_held_ones_and_export_the_same_bytes() {
        let (_dir, ops, md) = history(&[]);
        let held = collect(&ops, Collector::default());
        let spill_dir = tempfile::tempdir().expect("temp dir");
        // A limit of 25 spills within the first register's first day.
        let mut c = Collector::spilling_after(spill_dir.path(), 25);
        for op in &ops[..20] {
            c.push(op.clone());
        }
        assert!(!c.spilled());
        for op in &ops[20..] {
            c.push(op.clone());
        }
        assert!(c.spilled());
        let Collected { registers, spill } = c.finish();
        let spilled: Vec<(String, Vec<Operation>)> = registers
            .into_iter()
            .map(|g| (g.register.clone(), spill.load(g).expect("loads")))
            .collect();
        // Only the German registers, each with its operations in input order.
        let names: Vec<&str> = held.iter().map(|(r, _)| r.as_str()).collect();
        assert!(!names.is_empty());
        assert!(names.iter().all(|r| r.starts_with("reg_de_")), "{names:?}");
        assert_eq!(held, spilled);
        for (register, collected) in &held {
            let input = ops
                .iter()
                .filter(|o| o.register_id.as_deref() == Some(register.as_str()))
                .count();
            assert_eq!(collected.len(), input, "{register}");
        }
        let zip = |ops: &[Operation], register: &str| {
            let e = export(register, ops, &md, &Options::default());
            e.expect("exports")
                .expect("has closings")
                .to_zip()
                .expect("zips")
        };
        for ((register, a), (_, b)) in held.iter().zip(&spilled) {
            assert_eq!(zip(a, register), zip(b, register));
        }
        // The spill file has no name: nothing is left in the directory.
        assert_eq!(std::fs::read_dir(spill_dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_register_of_another_regime_is_dropped_after_the_spill_too() {
        let (_dir, ops, _) = anomalous();
        let spill_dir = tempfile::tempdir().expect("temp dir");
        let mut c = Collector::spilling_after(spill_dir.path(), 1);
        let of = |register: &str| -> Vec<Operation> {
            ops.iter()
                .filter(|o| o.register_id.as_deref() == Some(register))
                .cloned()
                .collect()
        };
        let (at, de) = (of("reg_at_01"), of("reg_de_01"));
        assert!(at.len() > 2 && de.len() > 2);
        // An Austrian register whose first record has no fiscal block (a session record):
        // gathered, spilled with the German one, then dropped at its first RKSV receipt.
        let mut unsigned = at[0].clone();
        unsigned.id = "op_at01_unsigned".into();
        unsigned.fiscal = None;
        c.push(unsigned);
        for op in &de[..2] {
            c.push(op.clone());
        }
        assert!(c.spilled());
        for op in at.into_iter().chain(de[2..].iter().cloned()) {
            c.push(op);
        }
        let Collected { registers, spill } = c.finish();
        let names: Vec<&str> = registers.iter().map(|g| g.register.as_str()).collect();
        assert_eq!(names, ["reg_de_01"]);
        let g = registers.into_iter().next().expect("one register");
        assert_eq!(spill.load(g).expect("loads"), de);
    }

    #[test]
    fn a_failed_spill_is_reported_for_the_register_not_swallowed() {
        let (_dir, ops, _) = anomalous();
        let spill_dir = tempfile::tempdir().expect("temp dir");
        let mut c = Collector::spilling_after(spill_dir.path(), 1);
        for op in &ops {
            c.push(op.clone());
        }
        c.spill.as_mut().expect("spilled").broken = Some("No space left on device".into());
        let Collected { registers, spill } = c.finish();
        let g = registers.into_iter().next().expect("a German register");
        let register = g.register.clone();
        let e = spill.load(g).expect_err("cannot be read back");
        assert_eq!(
            e.to_string(),
            format!(
                "register {register}: spilled operations: the spill file could not be \
                 written: No space left on device"
            )
        );
    }
}
