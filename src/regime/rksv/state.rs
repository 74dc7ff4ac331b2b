//! The DEP7 verifier's carried state ([`Carry`]) as a file, so that a DEP checked in parts
//! over several runs (quarterly exports, nightly increments) is checked as one: the next run
//! starts where the last one stopped, with the chain, the turnover counter, the receipt ids
//! and the failure state (shared spec rksv.md §11, "continuation" mode).
//!
//! The file is JSON with a format name and a version. It is deterministic: the same carried
//! state gives the same bytes (sorted keys and receipt-id hashes, no time stamp, no path).
//! Version 1 stores each receipt id as the first 8 bytes of SHA-256 of its UTF-8 text, read
//! big-endian: a hash fixed by a standard, so a saved state stays valid whatever Rust or
//! fiskal version reads it. A file that is not such a state, or of another version, is an
//! [`Error`] naming what is wrong; it is never guessed at.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::crypto::PublicKey;
use super::dep::{Carry, RESTORE_GRACE};
use crate::model::keyset::KeySet;

/// The `format` every state file names.
pub const FORMAT: &str = "fiskal rksv dep7 state";
/// The version this fiskal writes and reads.
pub const VERSION: u64 = 1;

/// How receipt dates are written, the receipt's own form (spec §2.1 field 4).
const DATE_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// Why bytes are not a state this fiskal can resume from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not JSON, or JSON without the format name.
    #[error("not a fiskal DEP7 state file ({0})")]
    NotState(String),
    /// A state file of another version.
    #[error("state file version {found}, but this fiskal reads version {VERSION} only")]
    Version {
        /// The version the file names.
        found: u64,
    },
    /// A field that is missing, unknown or out of range.
    #[error("{field}: {problem}")]
    Field {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// The file as written; field order is output order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    format: String,
    version: u64,
    /// The register id of the receipts so far.
    cashbox_id: Option<String>,
    /// `open`, `closed` or null before the first readable receipt.
    system: Option<String>,
    /// Base64 of the 8-byte chaining value the next receipt must carry; null before the
    /// first receipt, which must then be the Startbeleg.
    next_chain: Option<String>,
    /// The id of the receipt `next_chain` was taken from (named in a chain finding).
    #[serde(default)]
    last_receipt: Option<String>,
    /// The running turnover counter in cents, as a decimal string: it may exceed what JSON
    /// readers hold exactly in a number.
    counter_cents: String,
    /// Bytes of the encrypted counter so far.
    counter_bytes: Option<usize>,
    /// The latest receipt date so far.
    last_date: Option<String>,
    /// Signed receipts with amounts still allowed before the Sammelbeleg of an open device
    /// failure; null when there is none.
    restore_grace: Option<u8>,
    /// How many receipt ids are in `receipt_id_hashes`.
    receipt_ids: usize,
    /// Base64 of the sorted 8-byte hashes of every receipt id so far.
    receipt_id_hashes: String,
    /// Keys of the certificates the DEP's groups carried, by serial: Base64 of the
    /// uncompressed SEC1 point.
    dep_keys: BTreeMap<String, String>,
}

/// Just enough to tell the format and version before reading the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    version: Option<u64>,
}

/// The receipt-id hash of version 1 (see the module documentation).
pub fn receipt_id_hash(receipt_id: &str) -> u64 {
    u64::from_be_bytes(super::crypto::chain_value(receipt_id.as_bytes()))
}

/// The state file of `carry`.
pub fn to_bytes(carry: &Carry) -> Vec<u8> {
    crate::fsutil::pretty_json(&to_file(carry))
}

fn to_file(carry: &Carry) -> StateFile {
    // In ascending order, as the file wants them.
    let hashes: Vec<u64> = carry.ids.iter().collect();
    let packed: Vec<u8> = hashes.iter().flat_map(|h| h.to_be_bytes()).collect();
    StateFile {
        format: FORMAT.into(),
        version: VERSION,
        cashbox_id: carry.cashbox_id.clone(),
        system: carry
            .closed
            .map(|c| if c { "closed" } else { "open" }.to_string()),
        next_chain: carry.next_chain.map(|c| B64.encode(c)),
        last_receipt: carry.last_receipt.clone(),
        counter_cents: carry.counter.to_string(),
        counter_bytes: carry.counter_len,
        last_date: carry.last_date.map(|d| d.format(DATE_FORMAT).to_string()),
        restore_grace: carry.restore_grace,
        receipt_ids: hashes.len(),
        receipt_id_hashes: B64.encode(packed),
        dep_keys: carry
            .dep_keys
            .iter()
            .map(|(serial, key)| (serial.clone(), B64.encode(key.to_sec1())))
            .collect(),
    }
}

/// A [`Carry`] as the state file's JSON object (format and version included), for a file
/// that holds the states of several cash boxes (the validator's carry, `validate::carry`):
/// `#[serde(with = "state::serde_carry")]`. Reading checks what [`from_bytes`] checks.
pub(crate) mod serde_carry {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{Carry, FORMAT, StateFile, VERSION, carry_of, to_file};

    pub fn serialize<S: Serializer>(carry: &Carry, s: S) -> Result<S::Ok, S::Error> {
        to_file(carry).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Carry, D::Error> {
        use serde::de::Error as _;
        let file = StateFile::deserialize(d)?;
        if file.format != FORMAT {
            return Err(D::Error::custom(format!(
                "\"format\" is {:?}, expected {FORMAT:?}",
                file.format
            )));
        }
        if file.version != VERSION {
            return Err(D::Error::custom(super::Error::Version {
                found: file.version,
            }));
        }
        carry_of(file).map_err(D::Error::custom)
    }
}

/// The carried state a state file holds.
pub fn from_bytes(bytes: &[u8]) -> Result<Carry, Error> {
    let header: Header =
        serde_json::from_slice(bytes).map_err(|e| Error::NotState(e.to_string()))?;
    if header.format.as_deref() != Some(FORMAT) {
        return Err(Error::NotState(format!(
            "\"format\" is {:?}, expected {FORMAT:?}",
            header.format.unwrap_or_default()
        )));
    }
    match header.version {
        Some(VERSION) => {}
        Some(found) => return Err(Error::Version { found }),
        None => {
            return Err(field("version", "missing"));
        }
    }
    let file: StateFile = serde_json::from_slice(bytes).map_err(|e| Error::Field {
        field: "(structure)",
        problem: e.to_string(),
    })?;
    carry_of(file)
}

fn field(field: &'static str, problem: impl Into<String>) -> Error {
    Error::Field {
        field,
        problem: problem.into(),
    }
}

fn carry_of(file: StateFile) -> Result<Carry, Error> {
    let closed = match file.system.as_deref() {
        None => None,
        Some("open") => Some(false),
        Some("closed") => Some(true),
        Some(other) => {
            return Err(field(
                "system",
                format!("{other:?}, expected open or closed"),
            ));
        }
    };
    let next_chain = file
        .next_chain
        .map(|c| {
            B64.decode(&c)
                .ok()
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .ok_or_else(|| field("next_chain", format!("{c:?} is not Base64 of 8 bytes")))
        })
        .transpose()?;
    let counter = file.counter_cents.parse::<i128>().map_err(|_| {
        field(
            "counter_cents",
            format!("{:?} is not a whole number of cents", file.counter_cents),
        )
    })?;
    if let Some(n) = file.counter_bytes
        && !(5..=16).contains(&n)
    {
        return Err(field("counter_bytes", format!("{n}, expected 5 to 16")));
    }
    let last_date = file
        .last_date
        .map(|d| {
            NaiveDateTime::parse_from_str(&d, DATE_FORMAT)
                .map_err(|_| field("last_date", format!("{d:?} is not YYYY-MM-DDThh:mm:ss")))
        })
        .transpose()?;
    if let Some(g) = file.restore_grace
        && g > RESTORE_GRACE
    {
        return Err(field(
            "restore_grace",
            format!("{g}, at most {RESTORE_GRACE}"),
        ));
    }
    Ok(Carry {
        next_chain,
        last_receipt: file.last_receipt,
        cashbox_id: file.cashbox_id,
        closed,
        counter,
        counter_len: file.counter_bytes,
        last_date,
        restore_grace: file.restore_grace,
        ids: receipt_ids(&file.receipt_id_hashes, file.receipt_ids)?,
        dep_keys: dep_keys(file.dep_keys)?,
    })
}

fn receipt_ids(packed: &str, count: usize) -> Result<KeySet<u64>, Error> {
    let bytes = B64
        .decode(packed)
        .map_err(|e| field("receipt_id_hashes", format!("not Base64: {e}")))?;
    if Some(bytes.len()) != count.checked_mul(8) {
        return Err(field(
            "receipt_id_hashes",
            format!(
                "{} bytes, expected 8 for each of the {count} receipt ids",
                bytes.len()
            ),
        ));
    }
    let hashes: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u64::from_be_bytes(b)
        })
        .collect();
    // Written sorted and without repeats; anything else was not written by fiskal.
    if hashes.windows(2).any(|w| w[0] >= w[1]) {
        return Err(field(
            "receipt_id_hashes",
            "not sorted ascending without repeats",
        ));
    }
    Ok(hashes.into_iter().collect())
}

fn dep_keys(
    keys: BTreeMap<String, String>,
) -> Result<std::collections::HashMap<String, PublicKey>, Error> {
    keys.into_iter()
        .map(|(serial, text)| {
            let key = B64
                .decode(&text)
                .map_err(|e| e.to_string())
                .and_then(|sec1| PublicKey::from_sec1(&sec1))
                .map_err(|e| field("dep_keys", format!("{serial}: {e}")))?;
            Ok((serial.to_ascii_lowercase(), key))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::rksv::dep::{Finding, KeyMaterial, Summary, Verifier};

    const CLOSED_S1: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/rksv/asit-example-0.7.1/closed-S1/"
    );

    fn keys() -> KeyMaterial {
        let bytes =
            std::fs::read(format!("{CLOSED_S1}cryptographicMaterialContainer.json")).unwrap();
        KeyMaterial::from_container(&bytes).unwrap()
    }

    /// The receipts of closed-S1 in order.
    fn receipts() -> Vec<String> {
        let dep: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{CLOSED_S1}dep-export.json")).unwrap())
                .unwrap();
        dep["Belege-Gruppe"][0]["Belege-kompakt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect()
    }

    fn verify(carry: Carry, receipts: &[String]) -> (Vec<Finding>, Carry, Summary) {
        let keys = keys();
        let mut found = Vec::new();
        let mut sink = |f: Finding| found.push(f);
        let mut v = Verifier::resume(&keys, carry, &mut sink);
        v.receipts_at("part", 0, receipts);
        let (carry, summary) = v.into_parts();
        (found, carry, summary)
    }

    /// The hash is SHA-256's first 8 bytes, big-endian: fixed values, whatever the platform.
    #[test]
    fn receipt_id_hash_is_stable() {
        assert_eq!(receipt_id_hash("CASHBOX-DEMO-1"), 0x720f_2135_4e62_86da);
        assert_eq!(receipt_id_hash(""), 0xe3b0_c442_98fc_1c14);
    }

    /// Verified in two parts with the state written and read between them, closed-S1 gives
    /// what one run gives: no finding and the official final counter.
    #[test]
    fn a_dep_in_two_parts_is_one_dep() {
        let all = receipts();
        let (found, whole, _) = verify(Carry::default(), &all);
        assert!(found.is_empty(), "{found:#?}");
        let (found, first, _) = verify(Carry::default(), &all[..40]);
        assert!(found.is_empty(), "{found:#?}");
        let bytes = to_bytes(&first);
        let restored = from_bytes(&bytes).unwrap();
        assert_eq!(restored, first);
        assert_eq!(to_bytes(&restored), bytes, "writing is deterministic");
        let (found, second, summary) = verify(restored, &all[40..]);
        assert!(found.is_empty(), "{found:#?}");
        assert_eq!(summary.final_counter, 1_324_168);
        assert_eq!(second, whole);
        assert_eq!(to_bytes(&second), to_bytes(&whole));
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("\"receipt_ids\": 40"), "{text}");
        assert!(text.contains("\"system\": \"closed\""), "{text}");
    }

    /// The carried keys of group certificates survive the file, under lowercase serials.
    #[test]
    fn dep_keys_round_trip() {
        let container: serde_json::Value = serde_json::from_slice(
            &std::fs::read(format!("{CLOSED_S1}cryptographicMaterialContainer.json")).unwrap(),
        )
        .unwrap();
        let spki = container["certificateOrPublicKeyMap"]["U:ATU12345678-K1"]
            ["signatureCertificateOrPublicKey"]
            .as_str()
            .unwrap();
        let key = PublicKey::from_spki_der(&B64.decode(spki).unwrap()).unwrap();
        let mut carry = Carry::default();
        carry.dep_keys.insert("1a2b".into(), key.clone());
        let bytes = to_bytes(&carry);
        let back = from_bytes(&bytes).unwrap();
        assert_eq!(back, carry);
        let file: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let sec1 = B64
            .decode(file["dep_keys"]["1a2b"].as_str().unwrap())
            .unwrap();
        assert_eq!((sec1.len(), sec1[0]), (65, 4));
    }

    proptest::proptest! {
        /// State files of any bytes are read or refused, never a panic.
        #[test]
        fn arbitrary_state_files_never_panic(text in ".{0,300}") {
            let _ = from_bytes(text.as_bytes());
        }
    }

    #[test]
    fn broken_state_files_say_what_is_wrong() {
        let (_, carry, _) = verify(Carry::default(), &receipts()[..3]);
        let good: serde_json::Value = serde_json::from_slice(&to_bytes(&carry)).unwrap();
        let spoil = |key: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[key] = value;
            serde_json::to_vec(&v).unwrap()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"{".to_vec(), "not a fiskal DEP7 state file"),
            (b"[]".to_vec(), "not a fiskal DEP7 state file"),
            (spoil("format", "other".into()), "\"format\" is \"other\""),
            (
                spoil("version", 2.into()),
                "version 2, but this fiskal reads version 1",
            ),
            (
                spoil("next_chain", "AAAA".into()),
                "next_chain: \"AAAA\" is not Base64 of 8 bytes",
            ),
            (
                spoil("counter_cents", "12.5".into()),
                "counter_cents: \"12.5\" is not a whole number",
            ),
            (spoil("counter_cents", 12.into()), "(structure)"),
            (
                spoil("counter_bytes", 4.into()),
                "counter_bytes: 4, expected 5 to 16",
            ),
            (spoil("last_date", "2016-03-11".into()), "last_date"),
            (
                spoil("restore_grace", 7.into()),
                "restore_grace: 7, at most 1",
            ),
            (spoil("system", "half".into()), "system: \"half\""),
            (
                spoil("receipt_ids", 4.into()),
                "24 bytes, expected 8 for each of the 4",
            ),
            (spoil("receipt_id_hashes", "!".into()), "not Base64"),
            (spoil("extra", 1.into()), "unknown field `extra`"),
            (
                spoil("dep_keys", serde_json::json!({"1a": "AAAA"})),
                "dep_keys: 1a: not an uncompressed P-256 point",
            ),
        ];
        for (bytes, says) in cases {
            let e = from_bytes(&bytes).unwrap_err().to_string();
            assert!(e.contains(says), "{e:?} should say {says:?}");
        }
        // Hashes out of order are refused: they were not written by fiskal.
        let mut v = good.clone();
        let packed = B64
            .decode(v["receipt_id_hashes"].as_str().unwrap())
            .unwrap();
        let swapped = [&packed[8..16], &packed[..8], &packed[16..]].concat();
        v["receipt_id_hashes"] = B64.encode(swapped).into();
        let e = from_bytes(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(e.to_string().contains("not sorted"), "{e}");
    }
}
