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
//! The export streams: each receipt is appended to its cash box's file as the operation
//! passes, and a file appears under its name only when complete (`AtomicFile`). Whether the
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

/// One cash box's file while it is written.
struct Open {
    file: AtomicFile,
    path: PathBuf,
    /// Field 11 of the open group; `None` before the first receipt.
    group_serial: Option<String>,
    stats: DepFile,
}

/// Writes a DEP7 file per cash box from the operation stream.
pub struct Writer<'m> {
    dir: PathBuf,
    md: Option<&'m MasterData>,
    open: BTreeMap<String, Open>,
    /// The first write error: the export stops writing and reports it at the end.
    error: Option<Error>,
}

/// Write buffer per cash box: many files are open at once, one per cash box.
const BUFFER: usize = 32 * 1024;

impl<'m> Writer<'m> {
    /// A writer into `dir` (created when the first file is), taking certificates from `md`.
    pub fn new(dir: &Path, md: Option<&'m MasterData>) -> Writer<'m> {
        Writer {
            dir: dir.to_path_buf(),
            md,
            open: BTreeMap::new(),
            error: None,
        }
    }

    /// Appends the operation's receipt, if it carries an RKSV one, to its cash box's file.
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
                && let Some(o) = self.open_file(id)
            {
                o.stats.unreadable += 1;
            }
            return;
        };
        let jws = receipt::to_jws(&r);
        let certificate = self.certificate_for(&r.cashbox_id, &r.serial);
        let Some(o) = self.open_file(&r.cashbox_id) else {
            return;
        };
        let result = append(o, &r.serial, &jws, certificate);
        if let Err(source) = result {
            let path = o.path.clone();
            self.error = Some(Error::Io { path, source });
        }
    }

    /// The certificate and CA chain of the master data's cash box when `serial` is its
    /// certificate's.
    fn certificate_for(&self, cashbox: &str, serial: &str) -> Option<&'m RksvCashbox> {
        self.md?
            .rksv
            .iter()
            .find(|c| c.cashbox_id == cashbox)
            .filter(|c| {
                c.certificate.is_some() && c.certificate_serial.eq_ignore_ascii_case(serial)
            })
    }

    fn open_file(&mut self, cashbox: &str) -> Option<&mut Open> {
        if !self.open.contains_key(cashbox) {
            let path = self.dir.join(file_name(cashbox));
            let created = AtomicFile::with_buffer(&path, BUFFER)
                .and_then(|mut f| f.write_all(b"{\n  \"Belege-Gruppe\": [").map(|()| f));
            match created {
                Ok(file) => {
                    self.open.insert(
                        cashbox.to_string(),
                        Open {
                            file,
                            path: path.clone(),
                            group_serial: None,
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
                    self.error = Some(Error::Io { path, source });
                    return None;
                }
            }
        }
        self.open.get_mut(cashbox)
    }

    /// Closes every file and renames it into place; the files in cash-box order.
    pub fn finish(self) -> Result<Vec<DepFile>, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut out = Vec::new();
        for (_, mut o) in self.open {
            let tail: &[u8] = if o.group_serial.is_some() {
                b"\n      ]\n    }\n  ]\n}\n"
            } else {
                b"]\n}\n"
            };
            let path = o.path.clone();
            o.file
                .write_all(tail)
                .and_then(|()| o.file.commit())
                .map_err(|source| Error::Io { path, source })?;
            out.push(o.stats);
        }
        Ok(out)
    }
}

/// Appends one receipt, opening a new group when the serial changes.
fn append(
    o: &mut Open,
    serial: &str,
    jws: &str,
    certificate: Option<&RksvCashbox>,
) -> std::io::Result<()> {
    let same_group = o
        .group_serial
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case(serial));
    if same_group {
        o.file.write_all(b",\n        ")?;
    } else {
        if o.group_serial.is_some() {
            o.file.write_all(b"\n      ]\n    },")?;
        }
        let cert = certificate
            .and_then(|c| c.certificate.as_deref())
            .unwrap_or("");
        let chain: &[String] = certificate.map_or(&[], |c| &c.ca_certificates);
        o.file
            .write_all(b"\n    {\n      \"Signaturzertifikat\": ")?;
        serde_json::to_writer(&mut o.file, cert)?;
        o.file.write_all(b",\n      \"Zertifizierungsstellen\": ")?;
        serde_json::to_writer(&mut o.file, chain)?;
        o.file
            .write_all(b",\n      \"Belege-kompakt\": [\n        ")?;
        o.group_serial = Some(serial.to_string());
        o.stats.groups += 1;
        o.stats.groups_with_certificate += u64::from(!cert.is_empty());
    }
    serde_json::to_writer(&mut o.file, jws)?;
    o.stats.receipts += 1;
    Ok(())
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
