//! The RKSV DEP7 export (Datenerfassungsprotokoll, RKSV § 7, Anlage Z 3; spec rksv.md §6): one
//! JSON file per cash box with its signed receipts in chain order, grouped by signing
//! certificate.
//!
//! Receipts are never re-signed or re-encoded beyond the one lossless step from the QR form
//! the history stores to the JWS form the DEP holds (`to_jws(parse_qr(q))`; the chain is over
//! that string, spec §6.1 step 1). A new group starts where field 11 (the certificate serial)
//! changes, so that concatenating the groups gives the unbroken chain; a group carries the
//! certificate and its CA chain when the master data has them for that serial, and `""`/`[]`
//! otherwise, which every checker accepts (spec §6, #202).
//!
//! The export streams: each receipt is spooled, one line, to its cash box's temporary file as
//! the operation passes, with only the runs of equal serial counted in memory; at the end the
//! file is written from the spool and appears under its name only when complete
//! (`AtomicFile`). Knowing every run before writing lets the grouping be chosen so that the
//! checkers accept it (see `write_file`). Whether the
//! receipts are right is the verifier's business — `fiskal export dep7` runs it over every
//! file it wrote, and `check`/`audit` run the same checks on the history.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::fsutil::AtomicFile;
use crate::model::masterdata::{MasterData, RksvCashbox};
use crate::model::{Fiscal, Operation};
use crate::regime::rksv::receipt;

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// One written DEP7 file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DepFile {
    /// The Kassen-ID.
    pub cashbox: String,
    /// Path of the file (relative to the export directory's parent in an audit).
    pub path: String,
    /// Receipts written.
    pub receipts: u64,
    /// Belege-Gruppen written.
    pub groups: u64,
    /// Groups that carry their signing certificate.
    pub groups_with_certificate: u64,
    /// Receipts of the cash box whose code could not be read and so are not in the file
    /// (`check` reports each as RKS101).
    pub unreadable: u64,
}

/// One cash box's receipts while the stream runs: spooled to a temporary file, one JWS a line,
/// with the runs of equal certificate serial counted beside it.
struct Open {
    spool: std::io::BufWriter<std::fs::File>,
    spool_path: PathBuf,
    path: PathBuf,
    /// Consecutive receipts of one serial: the serial, how many, and whether the master data
    /// holds that serial's certificate.
    runs: Vec<(String, u64, bool)>,
    stats: DepFile,
}

/// Writes a DEP7 file per cash box from the operation stream.
pub struct Writer<'m> {
    dir: PathBuf,
    open: BTreeMap<String, Open>,
    /// Certificates and CA chains by (Kassen-ID, lower-case serial), from the master data.
    certificates: BTreeMap<(String, String), &'m RksvCashbox>,
    /// The first write error: the export stops writing and reports it at the end.
    error: Option<Error>,
}

/// Write buffer per cash box: many spools are open at once, one per cash box.
const BUFFER: usize = 32 * 1024;

impl<'m> Writer<'m> {
    /// A writer into `dir` (created when the first file is), taking certificates from `md`.
    pub fn new(dir: &Path, md: Option<&'m MasterData>) -> Writer<'m> {
        let certificates = md
            .map(|m| m.rksv.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|c| c.certificate.as_deref().is_some_and(|t| !t.is_empty()))
            .map(|c| {
                let key = (
                    c.cashbox_id.clone(),
                    c.certificate_serial.to_ascii_lowercase(),
                );
                (key, c)
            })
            .collect();
        Writer {
            dir: dir.to_path_buf(),
            open: BTreeMap::new(),
            certificates,
            error: None,
        }
    }

    /// Appends the operation's receipt, if it carries an RKSV one, to its cash box's spool.
    pub fn push(&mut self, op: &Operation) {
        let Some(Fiscal::Rksv(f)) = &op.fiscal else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let Some(r) = f.qr_data.as_deref().and_then(|q| receipt::parse_qr(q).ok()) else {
            // Without a readable code the cash box is known only from the block, if at all.
            if let Some(id) = f.cashbox_id.as_deref()
                && let Some(o) = self.open_spool(id)
            {
                o.stats.unreadable += 1;
            }
            return;
        };
        let jws = receipt::to_jws(&r);
        let known = self
            .certificates
            .contains_key(&(r.cashbox_id.clone(), r.serial.to_ascii_lowercase()));
        let Some(o) = self.open_spool(&r.cashbox_id) else {
            return;
        };
        match o.runs.last_mut() {
            Some((serial, n, _)) if serial.eq_ignore_ascii_case(&r.serial) => *n += 1,
            _ => o.runs.push((r.serial.clone(), 1, known)),
        }
        o.stats.receipts += 1;
        let written = o
            .spool
            .write_all(jws.as_bytes())
            .and_then(|()| o.spool.write_all(b"\n"));
        if let Err(source) = written {
            let path = o.spool_path.clone();
            self.error = Some(Error::Io { path, source });
        }
    }

    fn open_spool(&mut self, cashbox: &str) -> Option<&mut Open> {
        if !self.open.contains_key(cashbox) {
            let name = file_name(cashbox);
            let path = self.dir.join(&name);
            let spool_path = self
                .dir
                .join(format!(".{name}.receipts{}", std::process::id()));
            let created = std::fs::create_dir_all(&self.dir)
                .and_then(|()| std::fs::File::create(&spool_path));
            match created {
                Ok(file) => {
                    self.open.insert(
                        cashbox.to_string(),
                        Open {
                            spool: std::io::BufWriter::with_capacity(BUFFER, file),
                            spool_path,
                            path: path.clone(),
                            runs: Vec::new(),
                            stats: DepFile {
                                cashbox: cashbox.to_string(),
                                path: path.display().to_string(),
                                receipts: 0,
                                groups: 0,
                                groups_with_certificate: 0,
                                unreadable: 0,
                            },
                        },
                    );
                }
                Err(source) => {
                    self.error = Some(Error::Io {
                        path: spool_path,
                        source,
                    });
                    return None;
                }
            }
        }
        self.open.get_mut(cashbox)
    }

    /// Writes every cash box's file from its spool and renames it into place; the files in
    /// cash-box order. Spools are removed, also on error.
    pub fn finish(self) -> Result<Vec<DepFile>, Error> {
        let mut result = match self.error {
            Some(e) => Err(e),
            None => Ok(Vec::new()),
        };
        for (_, o) in self.open {
            let spool_path = o.spool_path.clone();
            if let Ok(files) = &mut result {
                match write_file(o, &self.certificates) {
                    Ok(f) => files.push(f),
                    Err(e) => result = Err(e),
                }
            }
            let _ = std::fs::remove_file(&spool_path);
        }
        result
    }
}

/// The groups of a file (spec rksv.md §6.1 step 3): one per run of a serial, each with its
/// certificate, when the master data has the certificate of every run; otherwise a single
/// group without certificate, because several groups of which one lacks its certificate are
/// an error for the checkers (ztp NoCertificateGivenException, RKS051) while one uncertified
/// group is accepted everywhere.
fn write_file(
    mut o: Open,
    certificates: &BTreeMap<(String, String), &RksvCashbox>,
) -> Result<DepFile, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    o.spool.flush().map_err(io(&o.spool_path))?;
    let certified = o.runs.iter().all(|r| r.2);
    let groups: Vec<(u64, Option<&RksvCashbox>)> = if certified {
        o.runs
            .iter()
            .map(|(serial, n, _)| {
                let key = (o.stats.cashbox.clone(), serial.to_ascii_lowercase());
                (*n, certificates.get(&key).copied())
            })
            .collect()
    } else {
        vec![(o.stats.receipts, None)]
    };
    let spool = std::fs::File::open(&o.spool_path).map_err(io(&o.spool_path))?;
    let mut lines = std::io::BufRead::lines(std::io::BufReader::with_capacity(BUFFER, spool));
    let mut file = AtomicFile::with_buffer(&o.path, 256 * 1024).map_err(io(&o.path))?;
    let mut write = || -> std::io::Result<()> {
        file.write_all(b"{\n  \"Belege-Gruppe\": [")?;
        for (g, (n, cert)) in groups.iter().enumerate() {
            let text = cert.and_then(|c| c.certificate.as_deref()).unwrap_or("");
            let chain: &[String] = cert.map_or(&[], |c| &c.ca_certificates);
            file.write_all(if g == 0 { b"\n    {" } else { b",\n    {" })?;
            file.write_all(b"\n      \"Signaturzertifikat\": ")?;
            serde_json::to_writer(&mut file, text)?;
            file.write_all(b",\n      \"Zertifizierungsstellen\": ")?;
            serde_json::to_writer(&mut file, chain)?;
            file.write_all(b",\n      \"Belege-kompakt\": [")?;
            for i in 0..*n {
                let jws = lines.next().transpose()?.unwrap_or_default();
                file.write_all(if i == 0 {
                    b"\n        "
                } else {
                    b",\n        "
                })?;
                serde_json::to_writer(&mut file, &jws)?;
            }
            file.write_all(b"\n      ]\n    }")?;
        }
        file.write_all(if groups.is_empty() {
            b"]\n}\n"
        } else {
            b"\n  ]\n}\n"
        })
    };
    write().map_err(io(&o.path))?;
    file.commit().map_err(io(&o.path))?;
    o.stats.groups = groups.len() as u64;
    o.stats.groups_with_certificate = groups.iter().filter(|g| g.1.is_some()).count() as u64;
    Ok(o.stats)
}

/// `dep7-<Kassen-ID>.json`, with every character outside `[A-Za-z0-9._-]` replaced by `_` so
/// that any Kassen-ID gives a portable file name. Kassen-IDs that differ only there would
/// collide; they name one register each in one company, and a collision is refused by
/// the caller's check of the written list.
pub fn file_name(cashbox: &str) -> String {
    let safe: String = cashbox
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("dep7-{safe}.json")
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    use super::*;
    use crate::model::*;
    use crate::regime::rksv::dep::{KeyMaterial, Verifier};
    use crate::regime::rksv::sign::{Cashbox, Chain, Input, Kind};

    /// An operation that carries only `qr` in an RKSV fiscal block.
    fn carrying(id: &str, qr: String) -> Operation {
        Operation {
            register_id: Some("reg_at".into()),
            fiscal: Some(Fiscal::Rksv(RksvFiscal {
                cashbox_id: Some("AT/1".into()),
                qr_data: Some(qr),
                ..RksvFiscal::default()
            })),
            ..Operation::bare(id, OperationKind::Sale)
        }
    }

    fn master_data(devices: &[&Cashbox]) -> MasterData {
        MasterData {
            rksv: devices
                .iter()
                .map(|d| RksvCashbox {
                    cashbox_id: "AT/1".into(),
                    register_id: "reg_at".into(),
                    aes_key: Some(STANDARD.encode(d.aes_key())),
                    certificate: Some(STANDARD.encode(d.certificate())),
                    certificate_serial: d.serial().into(),
                    public_key: None,
                    ca_certificates: vec!["Q0E=".into()],
                })
                .collect(),
            ..MasterData::default()
        }
    }

    /// Nine receipts of a cash box whose signature device is replaced by B for receipts 4–6.
    fn device_change() -> (Cashbox, Cashbox, Vec<Operation>) {
        let a = Cashbox::from_seed("AT/1", b"device a", [4; 32]);
        let b = Cashbox::from_seed("AT/1", b"device b", [4; 32]);
        let mut chain = Chain::default();
        let mut ops = Vec::new();
        for i in 0..9u32 {
            let device = if (3..6).contains(&i) { &b } else { &a };
            let id = (i + 1).to_string();
            let signed = device.sign(
                &mut chain,
                &Input {
                    kind: if i == 0 { Kind::Start } else { Kind::Standard },
                    receipt_id: &id,
                    date: chrono::NaiveDate::from_ymd_opt(2026, 7, 1)
                        .unwrap()
                        .and_hms_opt(9, 0, i)
                        .unwrap(),
                    amounts: if i == 0 {
                        [0; 5]
                    } else {
                        [100 * i64::from(i), 0, 0, 0, 490]
                    },
                    device_failed: false,
                },
            );
            ops.push(carrying(&id, signed.qr));
        }
        (a, b, ops)
    }

    fn export(ops: &[Operation], md: &MasterData, dir: &Path) -> (DepFile, Vec<u8>) {
        let mut w = Writer::new(dir, Some(md));
        for op in ops {
            w.push(op);
        }
        let mut files = w.finish().unwrap();
        assert_eq!(files.len(), 1);
        let f = files.remove(0);
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            1,
            "the spool is gone"
        );
        let bytes = std::fs::read(&f.path).unwrap();
        (f, bytes)
    }

    fn verify(bytes: &[u8], keys: &KeyMaterial) -> (Vec<crate::regime::rksv::dep::Finding>, u64) {
        let mut found = Vec::new();
        let mut sink = |x| found.push(x);
        let mut v = Verifier::new(keys, &mut sink);
        v.file("dep", bytes);
        let s = v.finish();
        (found, s.signatures_valid)
    }

    /// Both devices' certificates known: a group per device run, each with its certificate
    /// and CA chain, and the file verifies as one chain from the certificates alone.
    #[test]
    fn a_device_change_starts_a_group_and_the_chain_runs_through() {
        let (a, b, ops) = device_change();
        let dir = tempfile::tempdir().unwrap();
        let (f, bytes) = export(&ops, &master_data(&[&a, &b]), dir.path());
        assert_eq!((f.receipts, f.groups, f.groups_with_certificate), (9, 3, 3));
        assert!(f.path.ends_with("dep7-AT_1.json"), "{}", f.path);
        let dep: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let groups = dep["Belege-Gruppe"].as_array().unwrap();
        let sizes: Vec<usize> = groups
            .iter()
            .map(|g| g["Belege-kompakt"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [3, 3, 3]);
        assert_eq!(
            groups[1]["Signaturzertifikat"],
            STANDARD.encode(b.certificate())
        );
        assert_eq!(
            groups[2]["Zertifizierungsstellen"],
            serde_json::json!(["Q0E="])
        );
        // Exactly the three keys, in the order of the Anlage.
        assert_eq!(groups[0].as_object().unwrap().len(), 3);
        let text = String::from_utf8(bytes.clone()).unwrap();
        let at = |k: &str| text.find(k).unwrap();
        assert!(at("Signaturzertifikat") < at("Zertifizierungsstellen"));
        assert!(at("Zertifizierungsstellen") < at("Belege-kompakt"));
        let mut keys = KeyMaterial::default();
        keys.aes_key = Some([4; 32]);
        assert_eq!(verify(&bytes, &keys), (vec![], 9));
    }

    /// Device B unknown to the master data: one uncertified group, which the checkers accept,
    /// instead of three of which one lacks its certificate (RKS051).
    #[test]
    fn an_unknown_certificate_puts_everything_into_one_group() {
        let (a, b, ops) = device_change();
        let dir = tempfile::tempdir().unwrap();
        let (f, bytes) = export(&ops, &master_data(&[&a]), dir.path());
        assert_eq!((f.receipts, f.groups, f.groups_with_certificate), (9, 1, 0));
        let dep: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(dep["Belege-Gruppe"][0]["Signaturzertifikat"], "");
        assert_eq!(
            dep["Belege-Gruppe"][0]["Belege-kompakt"]
                .as_array()
                .unwrap()
                .len(),
            9
        );
        // With both keys from a crypto container, everything verifies.
        let mut keys = KeyMaterial::default();
        keys.aes_key = Some([4; 32]);
        for d in [&a, &b] {
            keys.insert(
                d.serial(),
                crate::regime::rksv::crypto::PublicKey::from_sec1(d.public_key()).unwrap(),
            );
        }
        assert_eq!(verify(&bytes, &keys), (vec![], 9));
    }

    #[test]
    fn no_receipts_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let w = Writer::new(&dir.path().join("sub"), None);
        assert_eq!(w.finish().unwrap(), []);
        assert!(!dir.path().join("sub").exists());
    }
}
