//! A DEP7 export checked the way the Austrian rules require: every receipt on its own, then
//! the sequence (shared spec `rksv.md` §5–§7).
//!
//! [`Verifier`] takes one or more DEP7 files of one register in order (split exports and
//! nightly increments carry the chain, the turnover counter and the receipt ids across
//! files) and reports every finding instead of stopping at the first. What it keeps between
//! receipts is small and fixed: the previous receipt's hash, the running counter, the last
//! date, the failure state and a 64-bit hash per receipt id ([`Carry`]; [`super::state`]
//! saves it for a later run).
//!
//! Key material comes from a BMF crypto container (`cryptographicMaterialContainer.json`,
//! spec §4.7) and from the DEP groups' certificates. Without the AES key the counter cannot be
//! checked; without a key for a receipt's serial its signature cannot be, and that is
//! reported as such, never as a wrong signature. Whether a certificate is trusted is checked
//! only when the caller gives a [`TrustStore`] ([`Verifier::with_trust`]): neither the BMF's
//! checker nor FinanzOnline look at certificate chains (spec §4.5).

use std::collections::{HashMap, HashSet};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{NaiveDate, NaiveDateTime};
use serde::Deserialize;

use super::crypto::{self, CertificateKey, PublicKey};
use super::receipt::{self, Counter, FormatClass, Receipt};
use super::trust::{Distrust, TrustStore};
use crate::model::Severity;
use crate::model::keyset::KeySet;
use crate::validate::catalog::Rule as Check;

const RECEIPT: &str = "One receipt";
const START: &str = "Startbeleg";
const SEQUENCE: &str = "Sequence";
const GROUPS: &str = "DEP file and groups";
const TRUST: &str = "Certificate trust (only with --trust)";

/// Every DEP7 check, in documentation order. [`ZTP_CLASSES`] maps each to the exception class
/// of the ztp reference verifier and [`PT_CHECKS`] to the check ids of the BMF Prüftool
/// (spec §7, §10).
pub static CHECKS: &[Check] = &[
    Check {
        code: "RKS001",
        family: RECEIPT,
        severity: Severity::Error,
        title: "A receipt is not well formed",
        rationale: "Every receipt has 13 fields in fixed formats: Base64URL without padding in the JWS, amounts -?d+,dd, date YYYY-MM-DDThh:mm:ss, counter and chaining value Base64 of the right length. Anything else cannot be read as the law defines it.",
        source: "RKSV Anlage Z 3, Z 12; spec rksv.md §2.1, §7 R1–R9",
    },
    Check {
        code: "RKS002",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The JWS header is not {\"alg\":\"ES256\"}",
        rationale: "Suite R1 signs with ES256 only; another header means the stored JWS is not what the suite prescribes.",
        source: "RKSV Anlage Z 2; spec rksv.md §4.1",
    },
    Check {
        code: "RKS003",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The algorithm suite is unknown",
        rationale: "R1 is the only suite defined; a receipt of another suite cannot be verified.",
        source: "RKSV Anlage Z 2; spec rksv.md §2.2",
    },
    Check {
        code: "RKS004",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The certificate serial or key id is not valid",
        rationale: "An open system names its certificate by its serial in hex without leading zeros; a closed system by U:, S: or G: and its key id. FinanzOnline and the Belegcheck app cannot find the device otherwise.",
        source: "spec rksv.md §2.1 field 11; BMF answer #557",
    },
    Check {
        code: "RKS005",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The ZDA does not fit the serial (AT0 with a certificate serial, or a VDA with a closed-system key id)",
        rationale: "AT0 marks a closed system, which signs with registered keys; any other ZDA signs with a certificate of that trust service.",
        source: "spec rksv.md §2.2",
    },
    Check {
        code: "RKS006",
        family: RECEIPT,
        severity: Severity::Warning,
        title: "The certificate serial is written in decimal",
        rationale: "Field 11 names an open system's certificate by its serial in hex; the serial here is found only when read as a decimal number. The BMF's checker and the Belegcheck app do not find the device then; the signature is still checked with the certificate so found.",
        source: "spec rksv.md §2.1 field 11, §10.2; BMF answer #557",
    },
    Check {
        code: "RKS007",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The machine-readable code is shorter than 100 or longer than 1000 characters",
        rationale: "The BMF's checker takes a receipt's QR form (the payload, '_' and the Base64 signature) only with 100 to 1000 characters, and so does FinanzOnline's receipt check; a code outside that range cannot be checked there.",
        source: "spec rksv.md §2.1 (whole QR string), §7 R3, §11 (belegpruefung); PT BASICCONSTRAINTS_RECEIPT_LENGTH",
    },
    Check {
        code: "RKS008",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The receipt is dated before 2015-09-01",
        rationale: "The BMF's checker accepts receipt dates from 2015-09-01 on; an earlier one is a wrong clock or not an RKSV receipt. Its other bound, not in the future, is not checked here: the verdict on a DEP would then depend on the day fiskal runs.",
        source: "spec rksv.md §2.1 field 4, §7 R5; PT TIMEOFRECEIPT_WITHIN_PERIOD",
    },
    Check {
        code: "RKS010",
        family: RECEIPT,
        severity: Severity::Error,
        title: "No key for the receipt's serial: its signature cannot be verified",
        rationale: "Neither the crypto container nor a certificate of the DEP holds a key for field 11. The receipt is not shown to be wrong, but it is not shown to be signed either.",
        source: "spec rksv.md §4.1, §7 R10",
    },
    Check {
        code: "RKS011",
        family: RECEIPT,
        severity: Severity::Error,
        title: "The signature does not verify",
        rationale: "ES256 over header.payload with the key of field 11 fails: the receipt was changed after signing or signed with another key.",
        source: "RKSV Anlage Z 2; spec rksv.md §4.1, §7 R11",
    },
    Check {
        code: "RKS012",
        family: RECEIPT,
        severity: Severity::Warning,
        title: "A null receipt was not signed (device failed)",
        rationale: "Monthly, closing and control null receipts should be signed; the BMF's checker marks an unsigned one as a hint only. (Start and collective receipts are checked by RKS022 and RKS044.)",
        source: "spec rksv.md §5 (MC-README 2016-11-18)",
    },
    Check {
        code: "RKS020",
        family: START,
        severity: Severity::Error,
        title: "The first receipt does not chain to the register id",
        rationale: "The Startbeleg's chaining value is the first 8 bytes of SHA-256 of the Kassen-ID; a first receipt that chains to something else means the DEP does not start at the register's beginning.",
        source: "RKSV Anlage Z 4; spec rksv.md §4.2, §7 D2",
    },
    Check {
        code: "RKS021",
        family: START,
        severity: Severity::Error,
        title: "The Startbeleg is a training or storno receipt",
        rationale: "The Startbeleg carries the encrypted counter 0; TRA or STO in its place leaves the counter's start unproven.",
        source: "spec rksv.md §5 (Startbeleg)",
    },
    Check {
        code: "RKS022",
        family: START,
        severity: Severity::Error,
        title: "The Startbeleg was not signed (device failed)",
        rationale: "The Startbeleg is verified with the Belegcheck app after registration; it must be validly signed.",
        source: "spec rksv.md §5 (Startbeleg); PT START_RECEIPT_NOT_SIGNED",
    },
    Check {
        code: "RKS023",
        family: START,
        severity: Severity::Error,
        title: "The Startbeleg has amounts or a counter other than 0",
        rationale: "All five amounts of the Startbeleg are 0 and its counter decrypts to 0.",
        source: "RKSV § 8; spec rksv.md §5",
    },
    Check {
        code: "RKS030",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "The chaining value is not the hash of the previous receipt",
        rationale: "Field 12 of every receipt after the first is the first 8 bytes of SHA-256 of the previous receipt's JWS as stored. A mismatch means a receipt is missing, reordered, inserted or changed.",
        source: "RKSV Anlage Z 4; spec rksv.md §4.2, §7 D3",
    },
    Check {
        code: "RKS031",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "The turnover counter is not the running sum of the receipts",
        rationale: "Decrypted, the counter of every receipt equals the previous counter plus the receipt's five amounts in cents (training receipts add nothing; storno receipts add but show STO).",
        source: "RKSV § 8 Abs 1, Anlage Z 8/9; spec rksv.md §4.3, §7 D4",
    },
    Check {
        code: "RKS032",
        family: SEQUENCE,
        severity: Severity::Warning,
        title: "The turnover counter's length changes",
        rationale: "A register encrypts its counter in a fixed number of bytes; a change points to receipts of another register or a reset.",
        source: "spec rksv.md §4.3, §7 D11",
    },
    Check {
        code: "RKS040",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "A receipt id occurs twice",
        rationale: "The Belegnummer identifies a receipt of the register; the counter's IV is derived from it, so a repeated one repeats the keystream.",
        source: "spec rksv.md §1, §7 D5",
    },
    Check {
        code: "RKS041",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "The register id changes",
        rationale: "A DEP7 export holds the receipts of one register.",
        source: "RKSV § 7 Abs 5; spec rksv.md §6, §7 D6",
    },
    Check {
        code: "RKS042",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "Open and closed system receipts are mixed",
        rationale: "A register signs either with certificates (open) or with registered keys (closed, AT0), not both.",
        source: "spec rksv.md §7 D7",
    },
    Check {
        code: "RKS043",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "A receipt is dated before the previous one",
        rationale: "Receipts are stored in the order they were signed; a date going backwards means a wrong clock or a reordered DEP. The BMF's checker enforces it from version 1.1.",
        source: "spec rksv.md §7 D8",
    },
    Check {
        code: "RKS044",
        family: SEQUENCE,
        severity: Severity::Error,
        title: "No signed null receipt after a device failure",
        rationale: "After receipts marked 'Sicherheitseinrichtung ausgefallen', a signed null receipt (Sammelbeleg) must come before the next signed receipt with amounts.",
        source: "spec rksv.md §5 (failure sequence), §7 D9",
    },
    Check {
        code: "RKS050",
        family: GROUPS,
        severity: Severity::Error,
        title: "The DEP file is not a DEP7 export",
        rationale: "A DEP7 export is a JSON object with a Belege-Gruppe list; each group has Belege-kompakt (a list of JWS strings) and optionally Signaturzertifikat and Zertifizierungsstellen.",
        source: "RKSV Anlage Z 3; spec rksv.md §6",
    },
    Check {
        code: "RKS051",
        family: GROUPS,
        severity: Severity::Error,
        title: "A group has no certificate although the DEP has several groups",
        rationale: "Groups exist to carry the certificate of each signing device; a group without one leaves its receipts unattributed.",
        source: "spec rksv.md §6, §7 D10",
    },
    Check {
        code: "RKS052",
        family: GROUPS,
        severity: Severity::Error,
        title: "A group's certificate is not the one its receipts name",
        rationale: "The certificate of a group signs its receipts; a receipt naming another serial belongs to another group.",
        source: "spec rksv.md §4.5, §7 D10",
    },
    Check {
        code: "RKS060",
        family: TRUST,
        severity: Severity::Error,
        title: "A certificate does not chain to a trust anchor",
        rationale: "With a trust store, every certificate that verifies receipts (a group's Signaturzertifikat, a crypto container certificate) must be an anchor or be issued by one, directly or through the group's Zertifizierungsstellen and the other certificates known. Without one, nothing shows the key belongs to a trust service's signature device. Neither the BMF's checker nor FinanzOnline check this (the device's registration does that); ztp does.",
        source: "spec rksv.md §4.5, §7 D10, §10.2",
    },
    Check {
        code: "RKS061",
        family: TRUST,
        severity: Severity::Error,
        title: "A certificate was not signed by its issuer",
        rationale: "The certificate names an issuer that is known by name (an anchor or a certificate of the DEP or the container), but the issuer's key does not verify the certificate's signature, or the signature is not ECDSA on P-256 or P-384 with SHA-2 and cannot be checked: the chain was put together from unrelated certificates or changed.",
        source: "spec rksv.md §4.5, §7 D10, §10.2",
    },
    Check {
        code: "RKS062",
        family: TRUST,
        severity: Severity::Error,
        title: "A certificate has a trust anchor's serial but is another certificate",
        rationale: "Receipts, crypto containers and key stores name certificates by serial; a second certificate under an anchor's serial could pass for it (ztp calls it a possible attack).",
        source: "spec rksv.md §4.5, §10.2",
    },
];

/// The ztp reference verifier's exception for each check (spec §7), for the conformance
/// mapping in docs.
pub static ZTP_CLASSES: &[(&str, &str)] = &[
    ("RKS001", "MalformedReceiptException"),
    ("RKS002", "AlgorithmMismatchException"),
    ("RKS003", "UnknownAlgorithmException"),
    ("RKS004", "CertSerialInvalidException"),
    ("RKS005", "InvalidCertificateProviderException"),
    ("RKS006", "(accepted: decimal serials are looked up)"),
    ("RKS007", "(not checked: any length is accepted)"),
    ("RKS008", "(not checked: any date is accepted)"),
    ("RKS010", "NoPublicKeyException"),
    ("RKS011", "InvalidSignatureException"),
    ("RKS012", "UnsignedNullReceiptException"),
    ("RKS020", "InvalidChainingOnInitialReceiptException"),
    ("RKS021", "NonstandardTypeOnInitialReceiptException"),
    ("RKS022", "SignatureSystemFailedOnInitialReceiptException"),
    ("RKS023", "NonzeroTurnoverOnInitialReceiptException"),
    ("RKS030", "ChainingException"),
    ("RKS031", "InvalidTurnoverCounterException"),
    ("RKS032", "ChangingTurnoverCounterSizeException"),
    ("RKS040", "DuplicateReceiptIdException"),
    ("RKS041", "ChangingRegisterIdException"),
    ("RKS042", "ChangingSystemTypeException"),
    ("RKS043", "DecreasingDateException"),
    (
        "RKS044",
        "NoRestoreReceiptAfterSignatureSystemFailureException",
    ),
    ("RKS050", "MalformedDEPException"),
    ("RKS051", "NoCertificateGivenException"),
    ("RKS052", "CertSerialMismatchException"),
    ("RKS060", "UntrustedCertificateException"),
    ("RKS061", "CertificateChainBrokenException"),
    ("RKS062", "CertificateSerialCollisionException"),
];

/// The BMF Prüftool's check ids for each check (spec §7 tables; ids seen in the Prüftool
/// 1.0.0 runs of cases.json where they differ), or in parentheses why it has none.
pub static PT_CHECKS: &[(&str, &str)] = &[
    (
        "RKS001",
        "FORMAT_BASE64_CHARS, BASICCONSTRAINTS_NUMBER_OF_ELEMENTS, FORMAT_RK_STRING, FORMAT_CHECK_TIMEANDDATE, FORMAT_TAX_SET, FORMAT_ENCRYPTED_TURN_OVER_VALUE_BASE64, TURNOVER_COUNTER_INVALID_LENGTH, FORMAT_CHAIN_VALUE_PREVIOUS_RECEIPT_BASE64, CHAINING_VALUE_INVALID_LENGTH",
    ),
    (
        "RKS002",
        "(none: it rebuilds the JWS with the fixed header)",
    ),
    ("RKS003", "RKSUITE"),
    (
        "RKS004",
        "FORMAT_SERIAL_NUMBER, FORMAT_HEX_CHARS, FORMAT_CLOSED_SYSTEM_SERIAL",
    ),
    ("RKS005", "FORMAT_HEX_CHARS, FORMAT_CLOSED_SYSTEM_SERIAL"),
    (
        "RKS006",
        "(none: the key lookup fails, VERIFICATION_FROM_CASHBOX)",
    ),
    ("RKS007", "BASICCONSTRAINTS_RECEIPT_LENGTH"),
    ("RKS008", "TIMEOFRECEIPT_WITHIN_PERIOD"),
    ("RKS010", "VERIFICATION_FROM_CASHBOX, CERT_NOT_PROVIDED"),
    ("RKS011", "CRYPTO_SIGNATURE, SIGNATURE_INVALID"),
    ("RKS012", "NULL_RECEIPT_NOT_SIGNED"),
    (
        "RKS020",
        "DEP_STATE (DEP_FAIL_START_MISSING), CHAINING_VALUE_COUNTER_NEQ",
    ),
    ("RKS021", "TYPE_OF_RECEIPT_START"),
    ("RKS022", "START_RECEIPT_NOT_SIGNED, STATE_SIGDEVICE"),
    ("RKS023", "TYPE_OF_RECEIPT_START, TURNOVER_COUNTER_NONZERO"),
    (
        "RKS030",
        "DEP_CHAINING_VALUE (DEP_FAIL_CHAIN), DEP_STATE (DEP_FAIL_START_SOMEWHERE)",
    ),
    ("RKS031", "DEP_TURNOVER_COMPARE (DEP_FAIL_TURNOVER)"),
    ("RKS032", "(none: it does not know the counter's length)"),
    ("RKS040", "DEP_UNIQUE_RECEIPT_ID"),
    ("RKS041", "DEP_ONLY_ONE_CASHBOX_ID"),
    ("RKS042", "DEP_ONLY_ONE_SYTEM_TYPE"),
    ("RKS043", "DEP_STATE (from version 1.1.0)"),
    ("RKS044", "DEP_FAIL_NULL_MISSING"),
    ("RKS050", "(DEP-global checks, from version 1.1.0)"),
    ("RKS051", "(none: it ignores groups)"),
    (
        "RKS052",
        "(none: it looks keys up in the crypto container only)",
    ),
    ("RKS060", "(none: no trust check)"),
    ("RKS061", "(none: no trust check)"),
    ("RKS062", "(none: no trust check)"),
];

/// The check with `code`.
pub fn check(code: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.code == code)
}

/// One finding: the check, where (file, group, position, receipt id), expected and found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Check code (`RKS030`).
    pub code: &'static str,
    /// The check's severity.
    pub severity: Severity,
    /// The DEP file.
    pub file: String,
    /// 0-based group in the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    /// 0-based position of the receipt in its group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
    /// The receipt id (Belegnummer), when the receipt could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub found: String,
}

/// Key material: the AES key of the register and public keys by serial or key id.
#[derive(Debug, Clone, Default)]
pub struct KeyMaterial {
    /// The register's AES-256 key (the counter cannot be checked without it).
    pub aes_key: Option<[u8; 32]>,
    keys: HashMap<String, PublicKey>,
    /// The container's CERTIFICATE entries by id, for the trust check.
    certificates: HashMap<String, CertificateKey>,
    /// Leave every signature unchecked (`--no-signatures`): chain, counter and format checks
    /// still run, and no receipt is reported for a missing key either.
    pub skip_signatures: bool,
}

#[derive(Deserialize)]
struct ContainerWire {
    #[serde(rename = "base64AESKey")]
    aes_key: Option<String>,
    #[serde(rename = "certificateOrPublicKeyMap", default)]
    keys: HashMap<String, ContainerEntry>,
}

#[derive(Deserialize)]
struct ContainerEntry {
    #[serde(rename = "signatureDeviceType")]
    kind: String,
    #[serde(rename = "signatureCertificateOrPublicKey")]
    value: String,
}

impl KeyMaterial {
    /// Reads a `cryptographicMaterialContainer.json` (spec §4.7). An entry that cannot be read
    /// is an error naming it: a container is written by hand or by a tool, and a silently
    /// skipped key would turn every receipt it signed into "no key".
    pub fn from_container(bytes: &[u8]) -> Result<KeyMaterial, String> {
        let wire: ContainerWire =
            serde_json::from_slice(bytes).map_err(|e| format!("not a crypto container: {e}"))?;
        let mut out = KeyMaterial::default();
        if let Some(text) = wire.aes_key {
            let raw = B64
                .decode(text.trim())
                .map_err(|e| format!("base64AESKey: not Base64: {e}"))?;
            let key: [u8; 32] = raw
                .try_into()
                .map_err(|r: Vec<u8>| format!("base64AESKey: {} bytes, expected 32", r.len()))?;
            out.aes_key = Some(key);
        }
        for (id, entry) in wire.keys {
            let der = B64
                .decode(entry.value.trim())
                .map_err(|e| format!("key {id}: not Base64: {e}"))?;
            let key = match entry.kind.as_str() {
                "CERTIFICATE" => {
                    let cert =
                        crypto::read_certificate(&der).map_err(|e| format!("key {id}: {e}"))?;
                    let key = cert
                        .key
                        .clone()
                        .ok_or_else(|| format!("key {id}: the certificate's key is not P-256"))?;
                    out.certificates.insert(key_id(&id), cert);
                    key
                }
                "PUBLIC_KEY" => {
                    PublicKey::from_spki_der(&der).map_err(|e| format!("key {id}: {e}"))?
                }
                other => {
                    return Err(format!(
                        "key {id}: signatureDeviceType {other:?}, expected CERTIFICATE or PUBLIC_KEY"
                    ));
                }
            };
            out.keys.insert(key_id(&id), key);
        }
        Ok(out)
    }

    /// Adds a key under a serial or key id.
    pub fn insert(&mut self, id: &str, key: PublicKey) {
        self.keys.insert(key_id(id), key);
    }

    /// The container's certificates (CERTIFICATE entries), sorted by id. For ztp the
    /// container is also the trust store: these are its anchors (spec §4.5).
    pub fn certificates(&self) -> Vec<&CertificateKey> {
        let mut ids: Vec<&String> = self.certificates.keys().collect();
        ids.sort();
        ids.into_iter().map(|id| &self.certificates[id]).collect()
    }
}

/// Serials are hex and compared without regard to case (spec §10.2: uppercase is valid);
/// closed-system key ids are kept as written.
fn key_id(id: &str) -> String {
    if id.contains(':') {
        id.to_string()
    } else {
        id.to_ascii_lowercase()
    }
}

/// Signed receipts that may come between a device failure and the Sammelbeleg: the BMF's
/// checker and ztp accept the Sammelbeleg as the first or the second receipt after the failure
/// (spec rksv.md §5, §7 D9).
pub(crate) const RESTORE_GRACE: u8 = 1;

/// What the verifier carries from one receipt to the next, across files and across runs:
/// [`Verifier::resume`] starts from it and [`Verifier::into_parts`] hands it back, so a
/// nightly increment or an operation history fed in batches continues the chain where the
/// last part stopped. [`super::state`] writes it to a file and reads it back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Carry {
    /// The chaining value the next receipt must carry: SHA-256 of this receipt's JWS. `None`
    /// before the first receipt, which must then be the Startbeleg.
    pub(crate) next_chain: Option<[u8; 8]>,
    /// The id of the receipt `next_chain` was taken from, to name the chaining input in a
    /// chain finding.
    pub(crate) last_receipt: Option<String>,
    pub(crate) cashbox_id: Option<String>,
    pub(crate) closed: Option<bool>,
    pub(crate) counter: i128,
    pub(crate) counter_len: Option<usize>,
    pub(crate) last_date: Option<NaiveDateTime>,
    /// Signed receipts with amounts still allowed before the Sammelbeleg, while a device
    /// failure is not yet closed by one: `None` when there is no open failure.
    pub(crate) restore_grace: Option<u8>,
    /// [`super::state::receipt_id_hash`] of every receipt id so far: a [`KeySet`], about 9
    /// bytes a receipt where a `HashSet` took 17 and twice that while it grew.
    pub(crate) ids: KeySet<u64>,
    /// Keys of the certificates the DEP's groups carried so far, by serial: a receipt that
    /// names a certificate of another group is still verified with it.
    pub(crate) dep_keys: HashMap<String, PublicKey>,
}

impl Carry {
    /// Receipts seen so far (their ids).
    pub fn receipt_count(&self) -> usize {
        self.ids.len()
    }

    /// The running turnover counter after the last receipt, in cents.
    pub fn counter(&self) -> i128 {
        self.counter
    }
}

/// Counts of a verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// DEP files read.
    pub files: usize,
    /// Receipts read.
    pub receipts: u64,
    /// Signatures that verified.
    pub signatures_valid: u64,
    /// Receipts with the failed-device marker instead of a signature.
    pub device_failed: u64,
    /// Receipts whose counter was decrypted and compared.
    pub counters_checked: u64,
    /// The running turnover counter after the last receipt, in cents.
    pub final_counter: i128,
    /// Findings of error severity.
    pub errors: u64,
    /// Findings of warning severity.
    pub warnings: u64,
}

/// Checks DEP7 files of one register in order.
pub struct Verifier<'a> {
    keys: &'a KeyMaterial,
    state: Carry,
    summary: Summary,
    sink: &'a mut dyn FnMut(Finding),
    /// Present only when the caller asked for the trust check (spec §4.5: opt-in).
    trust: Option<Trust<'a>>,
}

/// The trust check's state: the anchors, the certificates seen that may stand between a
/// certificate and an anchor, and which certificates were already judged.
struct Trust<'a> {
    store: &'a TrustStore,
    /// Group certificates and Zertifizierungsstellen read so far, each once.
    known: Vec<CertificateKey>,
    /// Fingerprints of the certificates already checked: each is reported once, not for
    /// every group or receipt it serves.
    checked: HashSet<[u8; 32]>,
}

/// Receipt dates before this fail the BMF checker's TIMEOFRECEIPT_WITHIN_PERIOD (spec §2.1
/// field 4).
const EARLIEST_DATE: NaiveDate = NaiveDate::from_ymd_opt(2015, 9, 1).expect("a calendar date");

/// The QR form's length range of the BMF checker's BASICCONSTRAINTS_RECEIPT_LENGTH and of
/// FinanzOnline's receipt check (spec §2.1, §11).
const QR_LENGTH: std::ops::RangeInclusive<usize> = 100..=1000;

/// Where a receipt stands.
struct At<'f> {
    file: &'f str,
    group: usize,
    position: usize,
}

impl<'a> Verifier<'a> {
    /// A verifier with `keys`, handing every finding to `sink`.
    pub fn new(keys: &'a KeyMaterial, sink: &'a mut dyn FnMut(Finding)) -> Verifier<'a> {
        Verifier::resume(keys, Carry::default(), sink)
    }

    /// A verifier that continues after the receipts `carry` was taken from: the next receipt
    /// must chain to the last one and its counter go on from there.
    pub fn resume(
        keys: &'a KeyMaterial,
        carry: Carry,
        sink: &'a mut dyn FnMut(Finding),
    ) -> Verifier<'a> {
        Verifier {
            keys,
            state: carry,
            summary: Summary::default(),
            sink,
            trust: None,
        }
    }

    /// Also checks that every certificate that verifies receipts chains to an anchor of
    /// `store` (RKS060–RKS062). A group's certificate is checked where the group is read, a
    /// container certificate at the first receipt it verifies; a key carried in from an
    /// earlier run ([`Verifier::resume`]) was checked, or not, in that run.
    pub fn with_trust(mut self, store: &'a TrustStore) -> Verifier<'a> {
        self.trust = Some(Trust {
            store,
            known: Vec::new(),
            checked: HashSet::new(),
        });
        self
    }

    /// Whether the trust check runs: only then are Zertifizierungsstellen read.
    fn checks_trust(&self) -> bool {
        self.trust.is_some()
    }

    /// Adds certificates of the DEP to those a chain may pass through.
    fn know(&mut self, certs: impl IntoIterator<Item = CertificateKey>) {
        if let Some(t) = &mut self.trust {
            for c in certs {
                if !t.known.iter().any(|k| k.fingerprint == c.fingerprint) {
                    t.known.push(c);
                }
            }
        }
    }

    /// Checks `cert` once against the trust store and reports why it is not trusted. The
    /// chain may pass through every certificate known: the DEP's so far and the container's.
    fn check_trust(
        &mut self,
        cert: &CertificateKey,
        file: &str,
        at: Option<(usize, Option<usize>)>,
        receipt: Option<&str>,
    ) {
        let Some(t) = &mut self.trust else {
            return;
        };
        if !t.checked.insert(cert.fingerprint) {
            return;
        }
        let pool: Vec<&CertificateKey> = t.known.iter().chain(self.keys.certificates()).collect();
        let Err(distrust) = t.store.check(cert, &pool) else {
            return;
        };
        let (code, expected, found) = distrust_finding(distrust);
        self.report(code, file, at, receipt, expected, found);
    }

    /// Checks receipts given as JWS strings, in chain order, outside any DEP file: `label`
    /// stands for the file in findings and `position` is the first receipt's position (group
    /// 0). This is how receipts rebuilt from an operation history are checked.
    pub fn receipts_at(&mut self, label: &str, position: usize, batch: &[String]) {
        self.receipts((label, 0, position), batch, None);
    }

    /// Checks the next DEP file, named `file` in findings.
    pub fn file(&mut self, file: &str, bytes: &[u8]) {
        self.file_reader(file, bytes);
    }

    /// Checks the next DEP file read from `reader`, streaming: one receipt at a time is held,
    /// so a DEP of millions of receipts needs no more memory than one of ten. A file that
    /// breaks off or stops being JSON is one RKS050 finding after the receipts before the
    /// break were checked.
    pub fn file_reader(&mut self, file: &str, reader: impl std::io::Read) {
        self.summary.files += 1;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
        // A byte order mark is tolerated, as the reference tools do (spec §6).
        if let Ok(head) = std::io::BufRead::fill_buf(&mut reader)
            && head.starts_with(b"\xEF\xBB\xBF")
        {
            std::io::BufRead::consume(&mut reader, 3);
        }
        let mut de = serde_json::Deserializer::from_reader(reader);
        let result =
            serde::de::DeserializeSeed::deserialize(stream::DepSeed { v: self, file }, &mut de)
                .and_then(|()| de.end());
        if let Err(e) = result {
            self.report(
                "RKS050",
                file,
                None,
                None,
                "a JSON object with a Belege-Gruppe list of groups with Belege-kompakt",
                e.to_string(),
            );
        }
    }

    /// The group's Zertifizierungsstellen that can be read; each that cannot is RKS050.
    fn group_authorities(
        &mut self,
        file: &str,
        g: usize,
        texts: Vec<String>,
    ) -> Vec<CertificateKey> {
        let mut out = Vec::with_capacity(texts.len());
        for (i, text) in texts.iter().enumerate() {
            let read = B64
                .decode(text.trim())
                .map_err(|e| e.to_string())
                .and_then(|der| crypto::read_certificate(&der));
            match read {
                Ok(c) => out.push(c),
                Err(e) => self.report(
                    "RKS050",
                    file,
                    Some((g, None)),
                    None,
                    format!("Zertifizierungsstellen[{i}]: Base64 of a DER X.509 certificate"),
                    e,
                ),
            }
        }
        out
    }

    /// The trust check of group `g`'s certificate, once its authorities are known.
    fn group_trust(
        &mut self,
        file: &str,
        g: usize,
        certificate: Option<&CertificateKey>,
        authorities: Vec<CertificateKey>,
    ) {
        if !self.checks_trust() {
            return;
        }
        self.know(authorities);
        if let Some(c) = certificate {
            self.know([c.clone()]);
            self.check_trust(c, file, Some((g, None)), None);
        }
    }

    /// RKS051 for group `g` of a file with several groups.
    fn no_certificate(&mut self, file: &str, g: usize) {
        self.report(
            "RKS051",
            file,
            Some((g, None)),
            None,
            "a Signaturzertifikat in each of several groups",
            format!("group {g} without one"),
        );
    }

    /// The group's certificate with its serial, when it has one that can be read.
    fn group_certificate(
        &mut self,
        file: &str,
        g: usize,
        text: Option<&str>,
    ) -> Option<crypto::CertificateKey> {
        let text = text.filter(|c| !c.is_empty())?;
        let read = B64
            .decode(text.trim())
            .map_err(|e| e.to_string())
            .and_then(|der| crypto::read_certificate(&der));
        match read {
            Ok(c) => {
                if let Some(k) = &c.key {
                    self.state.dep_keys.insert(key_id(&c.serial_hex), k.clone());
                }
                Some(c)
            }
            Err(e) => {
                self.report(
                    "RKS050",
                    file,
                    Some((g, None)),
                    None,
                    "Signaturzertifikat: Base64 of a DER X.509 certificate",
                    e,
                );
                None
            }
        }
    }

    /// Checks receipts of one group in order: parsing and signatures, which need no state, in
    /// parallel, then everything that depends on the receipts before, one after the other.
    fn receipts(
        &mut self,
        at: (&str, usize, usize),
        batch: &[String],
        certificate: Option<&crypto::CertificateKey>,
    ) {
        use rayon::prelude::*;
        let (keys, dep_keys) = (self.keys, &self.state.dep_keys);
        let prepared: Vec<Prepared> = batch
            .par_iter()
            .map(|jws| prepare(keys, dep_keys, jws, certificate))
            .collect();
        for (i, (jws, p)) in batch.iter().zip(prepared).enumerate() {
            let here = At {
                file: at.0,
                group: at.1,
                position: at.2 + i,
            };
            self.apply(&here, jws, p);
        }
    }

    fn apply(&mut self, at: &At<'_>, jws: &str, prepared: Prepared) {
        let first = self.state.next_chain.is_none();
        self.summary.receipts += 1;
        let want_chain = self.state.next_chain.replace(prepared.chain);
        let chained_to = std::mem::replace(
            &mut self.state.last_receipt,
            match &prepared.parsed {
                Ok(r) => Some(r.receipt_id.clone()),
                Err(_) => receipt_id_of(jws),
            },
        );
        let r = match prepared.parsed {
            Ok(r) => r,
            Err(e) => {
                let code = match e.class {
                    FormatClass::Malformed => "RKS001",
                    FormatClass::AlgorithmMismatch => "RKS002",
                    FormatClass::UnknownAlgorithm => "RKS003",
                    FormatClass::CertSerialInvalid => "RKS004",
                    FormatClass::InvalidCertificateProvider => "RKS005",
                };
                let id = receipt_id_of(jws);
                self.report(
                    code,
                    at.file,
                    Some((at.group, Some(at.position))),
                    id.as_deref(),
                    format!("{}: {}", e.field, e.expected),
                    e.found,
                );
                return;
            }
        };
        let id = Some(r.receipt_id.as_str());
        let here = Some((at.group, Some(at.position)));
        let mut find = |v: &mut Self, code: &'static str, expected: String, found: String| {
            v.report(code, at.file, here, id, expected, found);
        };

        let qr_length = r.qr_length();
        if !QR_LENGTH.contains(&qr_length) {
            find(
                self,
                "RKS007",
                "100 to 1000 characters in the QR form".into(),
                format!("{qr_length} characters"),
            );
        }
        if r.date.date() < EARLIEST_DATE {
            find(
                self,
                "RKS008",
                format!("a date from {EARLIEST_DATE} on"),
                r.date.format("%Y-%m-%dT%H:%M:%S").to_string(),
            );
        }

        // Register and system type stay the same for the whole DEP.
        match &self.state.cashbox_id {
            Some(c) if *c != r.cashbox_id => {
                let c = c.clone();
                find(
                    self,
                    "RKS041",
                    format!("register {c}"),
                    r.cashbox_id.clone(),
                );
            }
            Some(_) => {}
            None => self.state.cashbox_id = Some(r.cashbox_id.clone()),
        }
        match self.state.closed {
            Some(closed) if closed != r.is_closed_system() => {
                let system = |c: bool| if c { "closed (AT0)" } else { "open" };
                find(
                    self,
                    "RKS042",
                    format!("{} system, as the receipts before", system(closed)),
                    format!("{} system ({}-{})", system(!closed), r.suite, r.zda),
                );
            }
            Some(_) => {}
            None => self.state.closed = Some(r.is_closed_system()),
        }
        if !self.state.ids.insert(prepared.id_hash) {
            find(
                self,
                "RKS040",
                "a receipt id not used before".into(),
                r.receipt_id.clone(),
            );
        }
        if let Some(last) = self.state.last_date
            && r.date < last
        {
            find(
                self,
                "RKS043",
                format!("a date not before {last}"),
                r.date.to_string(),
            );
        }
        self.state.last_date = Some(self.state.last_date.map_or(r.date, |d| d.max(r.date)));

        // Chaining: the first receipt to the register id, every other to its predecessor.
        let start_chain = || crypto::chain_value(r.cashbox_id.as_bytes());
        if first {
            let start_chain = start_chain();
            if r.chain != start_chain {
                find(
                    self,
                    "RKS020",
                    format!(
                        "{} (SHA-256 of the register id {:?})",
                        B64.encode(start_chain),
                        r.cashbox_id
                    ),
                    B64.encode(r.chain),
                );
            }
            if matches!(r.counter, Counter::Training | Counter::Storno) {
                find(
                    self,
                    "RKS021",
                    "an encrypted counter of 0".into(),
                    counter_text(&r.counter),
                );
            }
            if r.device_failed() {
                find(
                    self,
                    "RKS022",
                    "a valid signature".into(),
                    "Sicherheitseinrichtung ausgefallen".into(),
                );
            }
            if !r.is_null() {
                find(
                    self,
                    "RKS023",
                    "all five amounts 0,00".into(),
                    amounts_text(&r.amounts),
                );
            }
        } else if let Some(want) = want_chain
            && r.chain != want
        {
            let found = if r.chain == start_chain() {
                format!(
                    "{} (the register id's: a second Startbeleg)",
                    B64.encode(r.chain)
                )
            } else {
                B64.encode(r.chain)
            };
            find(
                self,
                "RKS030",
                format!(
                    "{} (SHA-256 of the JWS of the previous receipt, {})",
                    B64.encode(want),
                    chained_to.as_deref().unwrap_or("whose id cannot be read")
                ),
                found,
            );
        }

        // Signature, and the failure/restore sequence.
        if r.device_failed() {
            self.summary.device_failed += 1;
            // Once a signed receipt has used the grace, only the Sammelbeleg may follow: a
            // further failed receipt does not open a new grace.
            if self.state.restore_grace == Some(0) {
                find(
                    self,
                    "RKS044",
                    "a signed null receipt (Sammelbeleg) as the first or second receipt after the device failure".into(),
                    format!(
                        "another receipt with the device failed: {} with amounts {}",
                        kind(&r),
                        amounts_text(&r.amounts)
                    ),
                );
            }
            self.state.restore_grace = Some(RESTORE_GRACE);
            if r.is_null() && !first && !matches!(r.counter, Counter::Training | Counter::Storno) {
                find(
                    self,
                    "RKS012",
                    "a signed null receipt".into(),
                    "Sicherheitseinrichtung ausgefallen".into(),
                );
            }
        } else {
            if let Some(sig) = &prepared.signature {
                let keys = self.keys;
                if let Some(cert) = sig
                    .container_certificate
                    .as_ref()
                    .and_then(|c| keys.certificates.get(c))
                {
                    self.check_trust(cert, at.file, here, id);
                }
                self.signature_findings(&r, sig, &mut find);
            }
            match self.state.restore_grace {
                None => {}
                Some(_) if r.is_null() && matches!(r.counter, Counter::Encrypted(_)) => {
                    self.state.restore_grace = None;
                }
                Some(0) => {
                    find(
                        self,
                        "RKS044",
                        "a signed null receipt (Sammelbeleg) as the first or second receipt after the device failure".into(),
                        format!(
                            "a second signed receipt without it: {} with amounts {}",
                            kind(&r),
                            amounts_text(&r.amounts)
                        ),
                    );
                    self.state.restore_grace = None;
                }
                Some(n) => self.state.restore_grace = Some(n - 1),
            }
        }

        // Turnover counter: training adds nothing; everything else adds its amounts.
        let sum = r.amount_sum().map(i128::from);
        let expected = match (&r.counter, sum) {
            (Counter::Training, _) => Some(self.state.counter),
            (_, Some(s)) if !first => self.state.counter.checked_add(s),
            (_, Some(_)) => Some(0),
            (_, None) => None,
        };
        if let Counter::Encrypted(ct) = &r.counter {
            if let Some(len) = self.state.counter_len
                && len != ct.len()
            {
                find(
                    self,
                    "RKS032",
                    format!("{len} bytes, as before"),
                    format!("{} bytes", ct.len()),
                );
            }
            self.state.counter_len = Some(ct.len());
            if let Some(key) = &self.keys.aes_key {
                let iv = crypto::counter_iv(&r.cashbox_id, &r.receipt_id);
                let found = crypto::decrypt_counter(key, &iv, ct);
                self.summary.counters_checked += 1;
                let want = if first { Some(0) } else { expected };
                // A Startbeleg with amounts is already RKS023; its counter says nothing new.
                if found != want && (!first || r.is_null()) {
                    find(
                        self,
                        "RKS031",
                        want.map_or("a counter within range".into(), |w| {
                            format!("{w} cents (previous {} + amounts)", self.state.counter)
                        }),
                        found.map_or("undecryptable".into(), |f| format!("{f} cents")),
                    );
                }
                // The sum goes on from what the receipt states, so one wrong receipt is one
                // finding, not one for every receipt after it.
                if let Some(f) = found {
                    self.state.counter = f;
                    return;
                }
            }
        }
        if let Some(e) = expected {
            self.state.counter = e;
        }
    }

    fn signature_findings(
        &mut self,
        r: &Receipt,
        sig: &Signature,
        find: &mut dyn FnMut(&mut Self, &'static str, String, String),
    ) {
        if let Some(serial) = &sig.group_serial {
            find(
                self,
                "RKS052",
                format!("serial {serial} of the group's certificate"),
                r.serial.clone(),
            );
        }
        if let Some(hex) = &sig.decimal {
            find(
                self,
                "RKS006",
                format!("the serial in hex: {hex}"),
                format!("{} (decimal)", r.serial),
            );
        }
        match sig.valid {
            None => find(
                self,
                "RKS010",
                format!("a key or certificate for {}", r.serial),
                "none in the crypto container or the DEP's groups".into(),
            ),
            Some(true) => self.summary.signatures_valid += 1,
            Some(false) => find(
                self,
                "RKS011",
                format!("an ES256 signature by {}", r.serial),
                "a signature that does not verify".into(),
            ),
        }
    }

    fn report(
        &mut self,
        code: &'static str,
        file: &str,
        at: Option<(usize, Option<usize>)>,
        receipt: Option<&str>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) {
        let severity = check(code).map_or(Severity::Error, |c| c.severity);
        match severity {
            Severity::Error => self.summary.errors += 1,
            Severity::Warning => self.summary.warnings += 1,
            Severity::Info => {}
        }
        (self.sink)(Finding {
            code,
            severity,
            file: file.to_string(),
            group: at.map(|a| a.0),
            position: at.and_then(|a| a.1),
            receipt: receipt.map(str::to_string),
            expected: expected.into(),
            found: found.into(),
        });
    }

    /// The counts so far.
    pub fn finish(self) -> Summary {
        self.into_parts().1
    }

    /// What to resume from, and the counts so far.
    pub fn into_parts(mut self) -> (Carry, Summary) {
        self.summary.final_counter = self.state.counter;
        (self.state, self.summary)
    }
}

/// The check, expected and found text of a distrusted certificate.
fn distrust_finding(distrust: Distrust) -> (&'static str, String, String) {
    match distrust {
        Distrust::Untrusted { serial } => (
            "RKS060",
            "a certificate that is a trust anchor or chains to one".to_string(),
            format!("certificate {serial}: no chain to an anchor through the certificates known"),
        ),
        Distrust::ChainBroken {
            serial,
            issuer,
            reason,
        } => (
            "RKS061",
            format!("certificate {serial} signed by its issuer {issuer}"),
            reason,
        ),
        Distrust::SerialCollision { serial } => (
            "RKS062",
            format!("certificate {serial} to be the trust anchor of that serial"),
            "another certificate with the same serial".to_string(),
        ),
    }
}

/// What a receipt gives without looking at the receipts before it.
struct Prepared {
    parsed: Result<Receipt, receipt::FormatError>,
    /// SHA-256 of the JWS as stored, the chaining value of the receipt after it.
    chain: [u8; 8],
    /// `None` for a receipt that could not be parsed or carries the failed-device marker.
    signature: Option<Signature>,
    /// [`super::state::receipt_id_hash`] of the receipt id (0 when it could not be parsed).
    id_hash: u64,
}

/// The signature check of one receipt, reported in order later.
struct Signature {
    /// The serial of the group's certificate when the receipt names another one.
    group_serial: Option<String>,
    /// The hex a decimal serial was found under.
    decimal: Option<String>,
    /// `None` when no key was found.
    valid: Option<bool>,
    /// The crypto container id of the certificate whose key was used, when it was one.
    container_certificate: Option<String>,
}

/// Parses `jws`, hashes it for the next receipt's chaining value and verifies its signature
/// with the key its field 11 names: the group's certificate, then the crypto container, then
/// certificates of the DEP's other groups.
fn prepare(
    keys: &KeyMaterial,
    dep_keys: &HashMap<String, PublicKey>,
    jws: &str,
    certificate: Option<&crypto::CertificateKey>,
) -> Prepared {
    let parsed = receipt::parse_jws(jws);
    let signature = parsed
        .as_ref()
        .ok()
        .filter(|r| !r.device_failed() && !keys.skip_signatures)
        .map(|r| {
            // A serial of decimal digits only is first taken as the hex it must be, then, failing
            // that, as the decimal number some early registers wrote (spec rksv.md §10.2).
            let as_decimal = (!r.is_closed_system()
                && r.serial.bytes().all(|b| b.is_ascii_digit()))
            .then(|| r.serial.parse::<u128>().ok())
            .flatten()
            .map(|n| format!("{n:x}"));
            let names = |serial: &str| {
                serial.eq_ignore_ascii_case(&r.serial) || as_decimal.as_deref() == Some(serial)
            };
            let from_group = certificate.filter(|c| names(&c.serial_hex));
            let group_serial = certificate
                .filter(|_| from_group.is_none() && !r.is_closed_system())
                .map(|c| c.serial_hex.clone());
            let mut decimal =
                from_group.is_some_and(|c| !c.serial_hex.eq_ignore_ascii_case(&r.serial));
            let (key, container_certificate) = match from_group.and_then(|c| c.key.as_ref()) {
                Some(k) => (Some(k), None),
                None => match lookup(keys, dep_keys, &r.serial) {
                    Some(found) => found,
                    None => {
                        let found = as_decimal
                            .as_deref()
                            .and_then(|d| lookup(keys, dep_keys, d));
                        decimal |= found.is_some();
                        found.unwrap_or((None, None))
                    }
                },
            };
            Signature {
                group_serial,
                decimal: as_decimal.filter(|_| decimal),
                valid: key.map(|k| k.verify_es256(r.signing_input().as_bytes(), &r.signature)),
                container_certificate,
            }
        });
    Prepared {
        id_hash: parsed
            .as_ref()
            .map_or(0, |r| super::state::receipt_id_hash(&r.receipt_id)),
        parsed,
        chain: crypto::chain_value(jws.as_bytes()),
        signature,
    }
}

/// The key for a serial or key id: the crypto container's first, with the container id when
/// it is a certificate's, then the DEP's other groups'.
fn lookup<'k>(
    keys: &'k KeyMaterial,
    dep_keys: &'k HashMap<String, PublicKey>,
    id: &str,
) -> Option<(Option<&'k PublicKey>, Option<String>)> {
    let id = key_id(id);
    if let Some(k) = keys.keys.get(&id) {
        let certificate = keys.certificates.contains_key(&id).then_some(id);
        return Some((Some(k), certificate));
    }
    dep_keys.get(&id).map(|k| (Some(k), None))
}

/// Receipts parsed and verified in parallel at a time: enough to keep both cores busy, few
/// enough that a DEP of any size is held a batch at a time.
const BATCH: usize = 512;

/// The DEP7 JSON read as a stream: receipts are handed to the verifier as the parser reaches
/// them instead of being collected first.
mod stream {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

    use super::{BATCH, Verifier, crypto};

    /// The root object: only `Belege-Gruppe` is read (ztp's multi-file keys and anything
    /// else are skipped).
    pub(super) struct DepSeed<'v, 'a> {
        pub(super) v: &'v mut Verifier<'a>,
        pub(super) file: &'v str,
    }

    impl<'de> DeserializeSeed<'de> for DepSeed<'_, '_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for DepSeed<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a DEP7 object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = false;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                if key == "Belege-Gruppe" {
                    map.next_value_seed(Groups {
                        v: &mut *self.v,
                        file: self.file,
                    })?;
                    seen = true;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            if seen {
                Ok(())
            } else {
                Err(de::Error::missing_field("Belege-Gruppe"))
            }
        }
    }

    struct Groups<'v, 'a> {
        v: &'v mut Verifier<'a>,
        file: &'v str,
    }

    impl<'de> DeserializeSeed<'de> for Groups<'_, '_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Groups<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of receipt groups")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut g = 0;
            // Whether group 0 lacked a certificate: only a second group makes that a finding.
            let mut first_uncertified = false;
            while let Some(certified) = seq.next_element_seed(Group {
                v: &mut *self.v,
                file: self.file,
                g,
            })? {
                if g == 0 {
                    first_uncertified = !certified;
                } else {
                    if g == 1 && first_uncertified {
                        self.v.no_certificate(self.file, 0);
                    }
                    if !certified {
                        self.v.no_certificate(self.file, g);
                    }
                }
                g += 1;
            }
            Ok(())
        }
    }

    /// One group; its value says whether it carried a certificate.
    struct Group<'v, 'a> {
        v: &'v mut Verifier<'a>,
        file: &'v str,
        g: usize,
    }

    impl<'de> DeserializeSeed<'de> for Group<'_, '_> {
        type Value = bool;
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Group<'_, '_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a receipt group (Belege-kompakt, Signaturzertifikat)")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
            // `None` until the certificate key was read; the receipts are streamed when it
            // comes first, as every writer orders it, and held only when it comes after them.
            let mut certificate: Option<Option<crypto::CertificateKey>> = None;
            let mut certified = false;
            // Read only for the trust check, which nothing else needs them for. `None` until
            // read; the check runs before the receipts when they come after both keys.
            let mut authorities: Option<Vec<crypto::CertificateKey>> = None;
            let mut trust_checked = !self.v.checks_trust();
            let mut held: Option<Vec<String>> = None;
            let mut receipts = false;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                match key.as_ref() {
                    "Signaturzertifikat" | "Signatur- bzw. Siegelzertifikat" => {
                        let text: Option<String> = map.next_value()?;
                        certified = text.as_deref().is_some_and(|t| !t.is_empty());
                        let c = self.v.group_certificate(self.file, self.g, text.as_deref());
                        certificate = Some(c);
                    }
                    "Zertifizierungsstellen" if self.v.checks_trust() => {
                        let texts: Option<Vec<String>> = map.next_value()?;
                        let read =
                            self.v
                                .group_authorities(self.file, self.g, texts.unwrap_or_default());
                        authorities = Some(read);
                    }
                    "Belege-kompakt" => {
                        receipts = true;
                        match &certificate {
                            Some(c) => {
                                if !trust_checked && let Some(a) = authorities.take() {
                                    self.v.group_trust(self.file, self.g, c.as_ref(), a);
                                    trust_checked = true;
                                }
                                map.next_value_seed(Receipts {
                                    v: &mut *self.v,
                                    at: (self.file, self.g),
                                    certificate: c.as_ref(),
                                })?
                            }
                            None => held = Some(map.next_value()?),
                        }
                    }
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            if !receipts {
                return Err(de::Error::missing_field("Belege-kompakt"));
            }
            let c = certificate.flatten();
            if !trust_checked {
                let a = authorities.unwrap_or_default();
                self.v.group_trust(self.file, self.g, c.as_ref(), a);
            }
            let held = held.unwrap_or_default();
            for (i, chunk) in held.chunks(BATCH).enumerate() {
                self.v
                    .receipts((self.file, self.g, i * BATCH), chunk, c.as_ref());
            }
            Ok(certified)
        }
    }

    struct Receipts<'v, 'a> {
        v: &'v mut Verifier<'a>,
        at: (&'v str, usize),
        certificate: Option<&'v crypto::CertificateKey>,
    }

    impl<'de> DeserializeSeed<'de> for Receipts<'_, '_> {
        type Value = ();
        fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    impl<'de> Visitor<'de> for Receipts<'_, '_> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of JWS receipts")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut position = 0;
            let mut batch = Vec::with_capacity(BATCH);
            // A break in the JSON ends the loop with an error; the receipts read before it are
            // checked first, so that the report says how far the file was good.
            let mut result = Ok(());
            loop {
                match seq.next_element::<String>() {
                    Ok(Some(jws)) => {
                        batch.push(jws);
                        if batch.len() == BATCH {
                            self.v.receipts(
                                (self.at.0, self.at.1, position),
                                &batch,
                                self.certificate,
                            );
                            position += batch.len();
                            batch.clear();
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            self.v
                .receipts((self.at.0, self.at.1, position), &batch, self.certificate);
            result
        }
    }
}

/// The receipt id of a receipt that could not be parsed, when its payload still shows one,
/// so that the finding names the receipt as an auditor would look it up.
fn receipt_id_of(jws: &str) -> Option<String> {
    let payload = jws.split('.').nth(1)?;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    let text = engine.decode(payload).ok()?;
    let text = String::from_utf8_lossy(&text);
    let id = text.split('_').nth(3)?;
    (!id.is_empty()).then(|| id.to_string())
}

fn kind(r: &Receipt) -> &'static str {
    match r.counter {
        Counter::Training => "training",
        Counter::Storno => "storno",
        Counter::Encrypted(_) if r.is_null() => "null",
        Counter::Encrypted(_) => "standard",
    }
}

fn counter_text(c: &Counter) -> String {
    match c {
        Counter::Training => "TRA".into(),
        Counter::Storno => "STO".into(),
        Counter::Encrypted(b) => B64.encode(b),
    }
}

fn amounts_text(a: &[i64; 5]) -> String {
    a.iter()
        .map(|c| {
            let sign = if *c < 0 { "-" } else { "" };
            let c = c.unsigned_abs();
            format!("{sign}{},{:02}", c / 100, c % 100)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// docs/rksv-verify.md, generated from [`CHECKS`], [`ZTP_CLASSES`] and [`PT_CHECKS`].
pub fn markdown() -> String {
    let mut s = crate::validate::catalog::render_markdown(
        "# RKSV DEP7 checks\n\n<!-- Generated from src/regime/rksv/dep.rs by `cargo test` (regime::rksv::dep::tests::docs_rksv_verify_md_is_current); do not edit. -->\n\nEvery check `fiskal verify dep7` runs on a DEP7 export, with its code, severity, what it checks, why, and its source. docs/rksv.md describes the command.\n",
        CHECKS,
        "check",
    );
    s.push_str(
        "\n## Reference verifiers\n\nThe conformance cases (fixtures/conformance/rksv/cases.json) name the exception the ztp verifier raises and record the checks of the BMF Prüftool 1.0.0 that fail; this is how each check of fiskal maps to both (spec rksv.md §7, §10). A text in parentheses says why the tool has no such check.\n\n| code | ztp exception | Prüftool check |\n|---|---|---|\n",
    );
    for c in CHECKS {
        let ztp = lookup_text(ZTP_CLASSES, c.code);
        let pt = lookup_text(PT_CHECKS, c.code);
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            c.code,
            code_or_note(ztp),
            code_or_note(pt)
        ));
    }
    s
}

fn lookup_text(table: &[(&str, &'static str)], code: &str) -> &'static str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map_or("?", |(_, t)| t)
}

/// Identifiers as code, notes in parentheses as text.
fn code_or_note(text: &str) -> String {
    if text.starts_with('(') {
        text.to_string()
    } else {
        text.split(", ")
            .map(|id| match id.split_once(' ') {
                Some((id, note)) => format!("`{id}` {note}"),
                None => format!("`{id}`"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_ordered_and_mapped() {
        for w in CHECKS.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        for (name, table) in [("ztp", ZTP_CLASSES), ("Prüftool", PT_CHECKS)] {
            let codes: Vec<&str> = table.iter().map(|(c, _)| *c).collect();
            let want: Vec<&str> = CHECKS.iter().map(|c| c.code).collect();
            assert_eq!(codes, want, "{name} table");
        }
        // Prüftool ids are upper snake case, each maybe followed by a note in parentheses.
        for (code, text) in PT_CHECKS {
            if text.starts_with('(') {
                continue;
            }
            for id in text.split(", ") {
                let id = id.split(' ').next().unwrap_or_default();
                assert!(
                    !id.is_empty()
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit()),
                    "{code}: {id:?}"
                );
            }
        }
    }

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/conformance/rksv/");

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}{path}")).unwrap()
    }

    fn run(keys: &KeyMaterial, files: &[(&str, &[u8])]) -> (Vec<Finding>, Summary) {
        let mut found = Vec::new();
        let mut sink = |f: Finding| found.push(f);
        let mut v = Verifier::new(keys, &mut sink);
        for (name, bytes) in files {
            v.file(name, bytes);
        }
        let s = v.finish();
        (found, s)
    }

    fn codes(found: &[Finding]) -> Vec<&'static str> {
        let mut c: Vec<_> = found.iter().map(|f| f.code).collect();
        c.dedup();
        c
    }

    #[test]
    fn a_file_that_is_no_dep7_export_is_one_finding_and_reading_goes_on() {
        let keys = KeyMaterial::default();
        let closed = read("asit-example-0.7.1/closed-S1/dep-export.json");
        let (found, s) = run(
            &keys,
            &[("a.json", b"{\"Belege\": []}"), ("b.json", &closed)],
        );
        assert_eq!(found[0].code, "RKS050");
        assert_eq!(found[0].file, "a.json");
        assert!(found[0].found.contains("Belege-Gruppe"), "{:?}", found[0]);
        // The second file is still read: 81 receipts, none of them verifiable without keys.
        assert_eq!(s.receipts, 81);
        assert!(found[1..].iter().all(|f| f.code == "RKS010"), "{found:#?}");

        let broken =
            br#"{"Belege-Gruppe": [{"Signaturzertifikat": "not base64!", "Belege-kompakt": []}]}"#;
        let (found, _) = run(&keys, &[("c.json", broken)]);
        assert_eq!(codes(&found), ["RKS050"]);
        assert_eq!(found[0].group, Some(0));
    }

    #[test]
    fn a_change_of_counter_length_is_reported() {
        // Scenario 1 with 5-byte counters, then the same scenario with 8-byte ones.
        let dir = "generated/bmf/TESTSUITE_TEST_SZENARIO_1/";
        let keys = KeyMaterial::from_container(&read(&format!(
            "{dir}closed-tc5/cryptographicMaterialContainer.json"
        )))
        .unwrap();
        let five = read(&format!("{dir}closed-tc5/dep-export.json"));
        let eight = read(&format!("{dir}closed-tc8/dep-export.json"));
        let (found, _) = run(&keys, &[("five.json", &five)]);
        assert!(found.is_empty(), "{found:#?}");
        let (found, _) = run(&keys, &[("five.json", &five), ("eight.json", &eight)]);
        let change: Vec<&Finding> = found.iter().filter(|f| f.code == "RKS032").collect();
        assert_eq!(change.len(), 1, "{found:#?}");
        assert_eq!(
            (change[0].file.as_str(), change[0].position),
            ("eight.json", Some(0))
        );
        assert_eq!(change[0].expected, "5 bytes, as before");
        // The second file restarts the register: its Startbeleg breaks the chain and repeats
        // every receipt id.
        assert!(
            found
                .iter()
                .any(|f| f.code == "RKS030" && f.found.contains("second Startbeleg"))
        );
        assert!(found.iter().any(|f| f.code == "RKS040"));
    }

    #[test]
    fn a_group_certificate_of_another_serial_is_reported() {
        let dir = "generated/ztp/regkassen-test-cases-0.7.1-groups-splits/TESTSUITE_TEST_SZENARIO_2/open/";
        let keys = KeyMaterial::from_container(&read(&format!(
            "{dir}cryptographicMaterialContainer.json"
        )))
        .unwrap();
        let bytes = read(&format!("{dir}dep-export0.json"));
        let (found, s) = run(&keys, &[("dep.json", &bytes)]);
        assert!(found.is_empty(), "{found:#?}");
        assert!(s.signatures_valid > 0);
        // Groups 0 and 1 swap certificates: their receipts name the other serial. (Written
        // back through serde_json's sorted maps, every group now stores its receipts before
        // its certificate, so the held path is taken too.)
        let mut dep: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let groups = dep["Belege-Gruppe"].as_array_mut().unwrap();
        let c0 = groups[0]["Signaturzertifikat"].clone();
        groups[0]["Signaturzertifikat"] = groups[1]["Signaturzertifikat"].clone();
        groups[1]["Signaturzertifikat"] = c0;
        let swapped = serde_json::to_vec(&dep).unwrap();
        let (found, s2) = run(&keys, &[("dep.json", &swapped)]);
        let groups: Vec<Option<usize>> = found.iter().map(|f| f.group).collect();
        assert_eq!(codes(&found), ["RKS052"], "{found:#?}");
        assert_eq!(groups, [Some(0), Some(1)]);
        // Both certificates are still in the DEP: the signatures verify all the same.
        assert_eq!(s2.signatures_valid, s.signatures_valid);
    }

    /// A DEP that breaks off is checked up to the break, then one RKS050 says where; a byte
    /// order mark is tolerated; a certificate stored after its receipts still serves them.
    #[test]
    fn a_broken_off_file_is_checked_up_to_the_break() {
        let keys = KeyMaterial::from_container(&read(
            "asit-example-0.7.1/closed-S1/cryptographicMaterialContainer.json",
        ))
        .unwrap();
        let whole = read("asit-example-0.7.1/closed-S1/dep-export.json");
        let cut = &whole[..whole.len() / 2];
        let (found, s) = run(&keys, &[("cut.json", cut)]);
        assert_eq!(codes(&found), ["RKS050"], "{found:#?}");
        assert!(found[0].found.contains("EOF"), "{:?}", found[0]);
        assert!(s.receipts > 30 && s.receipts < 50, "{s:?}");
        assert_eq!(s.signatures_valid + s.device_failed, s.receipts);

        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(&whole);
        let (found, s) = run(&keys, &[("bom.json", &bom)]);
        assert!(found.is_empty(), "{found:#?}");
        assert_eq!(s.receipts, 81);
    }

    fn closed_s1() -> (KeyMaterial, Vec<String>) {
        let keys = KeyMaterial::from_container(&read(
            "asit-example-0.7.1/closed-S1/cryptographicMaterialContainer.json",
        ))
        .unwrap();
        let dep: serde_json::Value =
            serde_json::from_slice(&read("asit-example-0.7.1/closed-S1/dep-export.json")).unwrap();
        let receipts = dep["Belege-Gruppe"][0]["Belege-kompakt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        (keys, receipts)
    }

    fn run_receipts(keys: &KeyMaterial, receipts: &[String]) -> Vec<Finding> {
        let mut found = Vec::new();
        let mut sink = |f: Finding| found.push(f);
        let mut v = Verifier::new(keys, &mut sink);
        v.receipts_at("receipts", 0, receipts);
        v.finish();
        found
    }

    /// closed-S1's first receipt with its payload changed by `edit` (the signature then no
    /// longer verifies, which is beside the point here).
    fn edited_start(receipts: &[String], edit: impl Fn(&str) -> String) -> String {
        let mut r = receipt::parse_jws(&receipts[0]).unwrap();
        r.payload = edit(&r.payload);
        receipt::to_jws(&r)
    }

    /// PT TIMEOFRECEIPT_WITHIN_PERIOD: 2015-09-01 is the first day accepted.
    #[test]
    fn a_receipt_dated_before_2015_09_01_is_reported() {
        let (keys, receipts) = closed_s1();
        let early = edited_start(&receipts, |p| {
            p.replace("2016-03-11T03:57:08", "2015-08-31T23:59:59")
        });
        let found = run_receipts(&keys, &[early]);
        let early: Vec<&Finding> = found.iter().filter(|f| f.code == "RKS008").collect();
        assert_eq!(early.len(), 1, "{found:#?}");
        assert_eq!(early[0].found, "2015-08-31T23:59:59");
        assert_eq!(early[0].expected, "a date from 2015-09-01 on");
        assert_eq!(early[0].position, Some(0));
        assert_eq!(
            early[0].receipt.as_deref(),
            Some("CASHBOX-DEMO-1-Receipt-ID-1")
        );
        let first_day = edited_start(&receipts, |p| {
            p.replace("2016-03-11T03:57:08", "2015-09-01T00:00:00")
        });
        let found = run_receipts(&keys, &[first_day]);
        assert!(found.iter().all(|f| f.code != "RKS008"), "{found:#?}");
        // Only the signature suffers from the edit.
        assert_eq!(codes(&found), ["RKS011"]);
    }

    /// PT BASICCONSTRAINTS_RECEIPT_LENGTH: at most 1000 characters in the QR form. (A
    /// well-formed receipt has at least 131, so the lower bound of 100 cannot fail.)
    #[test]
    fn a_receipt_longer_than_1000_characters_is_reported() {
        let (keys, receipts) = closed_s1();
        let qr_len = |jws: &str| {
            receipt::to_qr(&receipt::parse_jws(jws).unwrap())
                .chars()
                .count()
        };
        assert_eq!(qr_len(&receipts[0]), 223, "spec rksv.md §2.1");
        // 777 more characters give exactly 1000: accepted; one more is not.
        for (extra, fires) in [(777, false), (778, true)] {
            let id = format!("CASHBOX-DEMO-1{}", "ä".repeat(extra));
            let long = edited_start(&receipts, |p| {
                p.replace("_CASHBOX-DEMO-1_", &format!("_{id}_"))
            });
            assert_eq!(qr_len(&long), 223 + extra);
            let found = run_receipts(&keys, &[long]);
            let length: Vec<&Finding> = found.iter().filter(|f| f.code == "RKS007").collect();
            assert_eq!(length.len(), usize::from(fires), "{extra}: {found:#?}");
            if fires {
                assert_eq!(length[0].found, "1001 characters");
                assert_eq!(length[0].expected, "100 to 1000 characters in the QR form");
            }
        }
        let shortest = "_R1-AT0_K_B_2016-03-11T03:57:08_0,00_0,00_0,00_0,00_0,00_AAAAAAA=_U:A_cg8hNU5ihto=_U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg==";
        let r = receipt::parse_qr(shortest).unwrap();
        assert_eq!((r.qr_length(), shortest.len()), (131, 131));
    }

    fn trust_of(paths: &[&str]) -> TrustStore {
        TrustStore::new(
            paths
                .iter()
                .flat_map(|p| crate::regime::rksv::trust::read_certificates(&read(p)).unwrap())
                .collect(),
        )
    }

    fn run_trusted(
        keys: &KeyMaterial,
        trust: &TrustStore,
        files: &[(&str, &[u8])],
    ) -> (Vec<Finding>, Summary) {
        let mut found = Vec::new();
        let mut sink = |f: Finding| found.push(f);
        let mut v = Verifier::new(keys, &mut sink).with_trust(trust);
        for (name, bytes) in files {
            v.file(name, bytes);
        }
        let s = v.finish();
        (found, s)
    }

    /// ztp test_cert_untrusted (open): the group's certificate is issued by device 0's root,
    /// which the group's Zertifizierungsstellen carry. Trusted when that root is an anchor,
    /// not when only another one is; without a trust store nothing is checked.
    #[test]
    fn a_group_certificate_is_trusted_only_through_an_anchor() {
        let dep = read("generated/ztp/test_cert_untrusted/open/dep-export.json");
        let keys = KeyMaterial::default();
        let (found, s) = run(&keys, &[("dep.json", &dep)]);
        assert!(found.is_empty(), "{found:#?}");
        assert_eq!(s.signatures_valid, 1);

        let own_root = trust_of(&["generated/keys/dev0.crt"]);
        let (found, _) = run_trusted(&keys, &own_root, &[("dep.json", &dep)]);
        assert!(found.is_empty(), "{found:#?}");

        let other_root = trust_of(&["generated/keys/dev1.crt"]);
        let (found, s) = run_trusted(&keys, &other_root, &[("dep.json", &dep)]);
        assert_eq!(codes(&found), ["RKS060"], "{found:#?}");
        assert_eq!((found[0].group, found[0].position), (Some(0), None));
        assert_eq!(
            found[0].found,
            "certificate 27a214d7674a471381ed0ec813565816: no chain to an anchor through the certificates known"
        );
        // The signature is still verified: trust is a finding of its own.
        assert_eq!(s.signatures_valid, 1);
    }

    /// A crypto container certificate is checked at the first receipt it verifies, once.
    #[test]
    fn a_container_certificate_is_checked_where_it_is_first_used() {
        let dir = "generated/ztp/regkassen-test-cases-0.7.1/TESTSUITE_TEST_SZENARIO_1/open/";
        let keys = KeyMaterial::from_container(&read(&format!(
            "{dir}cryptographicMaterialContainer.json"
        )))
        .unwrap();
        assert_eq!(keys.certificates().len(), 3);
        let dep = read(&format!("{dir}dep-export.json"));
        let all = trust_of(&[
            "generated/keys/dev0.crt",
            "generated/keys/dev1.crt",
            "generated/keys/dev2.crt",
        ]);
        let (found, s) = run_trusted(&keys, &all, &[("dep.json", &dep)]);
        assert!(found.is_empty(), "{found:#?}");
        assert!(s.signatures_valid > 20, "{s:?}");

        let two = trust_of(&["generated/keys/dev0.crt", "generated/keys/dev1.crt"]);
        let (found, _) = run_trusted(&keys, &two, &[("dep.json", &dep)]);
        assert_eq!(codes(&found), ["RKS060"], "{found:#?}");
        assert_eq!(found.len(), 1);
        // The first receipt device 2 signed, with a signature.
        let json: serde_json::Value = serde_json::from_slice(&dep).unwrap();
        let first_by_2 = json["Belege-Gruppe"][0]["Belege-kompakt"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| receipt::parse_jws(r.as_str().unwrap()).unwrap())
            .position(|r| r.serial == "1a2b3c4d5e6f7003" && !r.device_failed())
            .unwrap();
        assert_eq!(found[0].position, Some(first_by_2));
        assert!(found[0].found.starts_with("certificate 1a2b3c4d5e6f7003:"));
    }

    /// Scenario 1 with groups, device 2 signing through two intermediates: with the first
    /// intermediate of another generated scenario (same name, other key) the chain breaks;
    /// with an unreadable one the group is RKS050, and without a trust store neither is read.
    #[test]
    fn a_chain_through_a_foreign_intermediate_is_broken() {
        let dir = "generated/ztp/regkassen-test-cases-0.7.1-with-groups/";
        let s1 = read(&format!(
            "{dir}TESTSUITE_TEST_SZENARIO_1/open/dep-export.json"
        ));
        let s4 = read(&format!(
            "{dir}TESTSUITE_TEST_SZENARIO_4/open/dep-export.json"
        ));
        let keys = KeyMaterial::from_container(&read(&format!(
            "{dir}TESTSUITE_TEST_SZENARIO_1/open/cryptographicMaterialContainer.json"
        )))
        .unwrap();
        let roots = trust_of(&[
            "generated/keys/dev0.crt",
            "generated/keys/dev1.crt",
            "generated/keys/dev2.crt",
        ]);
        let (found, _) = run_trusted(&keys, &roots, &[("s1.json", &s1)]);
        assert!(found.is_empty(), "{found:#?}");

        let two_intermediates = |dep: &serde_json::Value| {
            dep["Belege-Gruppe"]
                .as_array()
                .unwrap()
                .iter()
                .position(|g| g["Zertifizierungsstellen"].as_array().unwrap().len() == 2)
                .unwrap()
        };
        let mut dep: serde_json::Value = serde_json::from_slice(&s1).unwrap();
        let foreign: serde_json::Value = serde_json::from_slice(&s4).unwrap();
        let g = two_intermediates(&dep);
        let intermediate =
            foreign["Belege-Gruppe"][two_intermediates(&foreign)]["Zertifizierungsstellen"][0]
                .clone();
        dep["Belege-Gruppe"][g]["Zertifizierungsstellen"][0] = intermediate;
        let spliced = serde_json::to_vec(&dep).unwrap();
        let (found, _) = run_trusted(&keys, &roots, &[("s1.json", &spliced)]);
        assert_eq!(codes(&found), ["RKS061"], "{found:#?}");
        assert_eq!(found.len(), 1, "reported for the first group only");
        assert_eq!(found[0].group, Some(g));
        assert_eq!(
            found[0].found,
            "the issuer's key does not verify the signature"
        );

        dep["Belege-Gruppe"][g]["Zertifizierungsstellen"][0] = "bm90IGEgY2VydGlmaWNhdGU=".into();
        let unreadable = serde_json::to_vec(&dep).unwrap();
        let (found, _) = run_trusted(&keys, &roots, &[("s1.json", &unreadable)]);
        assert_eq!(codes(&found), ["RKS050", "RKS060"], "{found:#?}");
        assert!(found[0].expected.starts_with("Zertifizierungsstellen[0]"));
        let (found, _) = run(&keys, &[("s1.json", &unreadable)]);
        assert!(found.is_empty(), "{found:#?}");
    }

    #[test]
    fn docs_rksv_verify_md_is_current() {
        crate::validate::catalog::assert_generated_doc(
            "docs/rksv-verify.md",
            &markdown(),
            "docs_rksv_verify_md_is_current",
        );
    }
}
