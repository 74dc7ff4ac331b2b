//! Shared test harness: a scratch directory, the fiskal binary, and ingest helpers.

use std::io::Write;
use std::path::{Path, PathBuf};

use fiskal::ingest::{self, Item, Reject};
use fiskal::model::Operation;

/// A fresh temporary directory for one test.
pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file (creating parent directories) and returns its path.
    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Writes gzip-compressed bytes.
    pub fn write_gz(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(bytes.as_ref()).unwrap();
        self.write(name, enc.finish().unwrap())
    }

    /// Writes a zip archive with the given entries (in the given order).
    pub fn write_zip(&self, name: &str, entries: &[(&str, Vec<u8>)]) -> PathBuf {
        let p = self.path(name);
        let f = std::fs::File::create(&p).unwrap();
        let mut z = zip::ZipWriter::new(f);
        for (entry, bytes) in entries {
            z.start_file(*entry, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
        p
    }
}

/// Everything ingest produced for some inputs.
pub struct Read {
    pub ops: Vec<Operation>,
    pub rejects: Vec<Reject>,
}

impl Read {
    pub fn ids(&self) -> Vec<&str> {
        self.ops.iter().map(|o| o.id.as_str()).collect()
    }

    /// The one rejection there must be.
    pub fn only_reject(&self) -> &Reject {
        assert_eq!(
            self.rejects.len(),
            1,
            "expected exactly one rejection, got {:#?}",
            self.rejects
        );
        &self.rejects[0]
    }
}

pub fn read(inputs: &[&Path]) -> Read {
    let mut ops = Vec::new();
    let mut rejects = Vec::new();
    let paths: Vec<PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
    ingest::read(&paths, &mut |item| match item {
        Item::Operation(op) => ops.push(*op),
        Item::Reject(r) => rejects.push(r),
    })
    .expect("ingest runs");
    Read { ops, rejects }
}

/// A minimal valid register-scoped sale with the given id, as one JSON line.
pub fn reg_sale(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","object":"operation","type":"sale","state":"completed","register_id":"reg_1","sequence_number":1,"completed_at":"2026-03-02T10:00:00Z","data":{{"currency":"EUR","line_items":[{{"description":"Brot","quantity":1,"unit_price_gross":250,"total_gross":250,"tax":{{"rate":"0.07","tax_amount":16}}}}],"payments":[{{"method":"cash","direction":"inbound","amount":250}}],"totals":{{"total_gross":250,"total_net":234,"total_tax":16}}}}}}"#
    )
}

/// A minimal valid /operations v1.1 sale with the given id, as one JSON line.
pub fn ops_sale(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","merchant_id":"m","register_id":"reg_2","source":"POS","status":"completed","currency":"EUR","resource_version":1,"created_at":"2026-03-02T10:00:00+01:00","updated_at":"2026-03-02T10:00:00+01:00","type":"sale","pretax_amount":"2.34","tax_amount":"0.16","tip_amount":"0.00","total_amount":"2.50","line_items":[{{"id":"l","title":"Brot","quantity":1,"unit_price":"2.50","total_amount":"2.50","sku_identifier":"B","taxes":[{{"id":"t","name":"USt","rate":"0.07","tax_amount":"0.16"}}]}}],"payments":[{{"id":"p","payment_id":"p","method":"cash","amount":"2.50","currency":"EUR","status":"captured"}}],"cart_level_discounts":[]}}"#
    )
}

/// The fiskal binary.
pub fn fiskal() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("fiskal").unwrap();
    c.env_remove("RUST_LOG");
    c
}

/// The NDJSON files of a directory (a synth history), sorted by name.
pub fn ndjson_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "ndjson"))
        .collect();
    files.sort();
    files
}

/// A JSON file, read and parsed (the path in the panic message).
pub fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON lines a `--json` run printed.
pub fn json_lines(stdout: Vec<u8>) -> Vec<serde_json::Value> {
    String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `(code, operation id)` of every finding in `--json` output, in output order.
pub fn finding_keys<C: FromIterator<(String, String)>>(stdout: Vec<u8>) -> C {
    json_lines(stdout)
        .into_iter()
        .filter(|v| v["type"] == "finding")
        .map(|v| {
            (
                v["code"].as_str().unwrap().to_string(),
                v["operation_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}
