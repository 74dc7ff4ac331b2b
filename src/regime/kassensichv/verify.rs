//! Signature verification of a [`SignedLog`], trying the encoding variants real TSEs use,
//! and of to-be-signed bytes as a TSE stored them.
//!
//! Neither the algorithm name nor a raw key names the curve, and a receipt cannot show how
//! the TSE encoded logTime or processData. So the verifier decodes the key on every curve of
//! the right size (the on-curve check leaves one), rebuilds the to-be-signed bytes for the
//! stated time format first and the other formats after, each with DER then BER processData,
//! and reports every attempt when none verifies (spec §10). A TAR export stores the signed
//! bytes themselves: `verify_signed_bytes` checks them as given, sharing the key, curve and
//! signature-form handling (`PublicKey`, `Candidates`) with the receipt path.

use std::cell::OnceCell;

use ecdsa::signature::hazmat::PrehashVerifier;
use serde::Serialize;
use sha2::Digest;

use super::bp512;
use super::logmsg::{ProcessDataEncoding, SignatureAlgorithm, SignedLog, TimeFormat, dtbs, hex};
use super::tlv::{push_tlv, read_tlv};

/// An elliptic curve a TSE key can live on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Curve {
    /// NIST P-256 (fiskaly cloud TSE).
    #[serde(rename = "secp256r1")]
    P256,
    /// brainpoolP256r1.
    #[serde(rename = "brainpoolP256r1")]
    BrainpoolP256r1,
    /// brainpoolP384r1 (most hardware TSEs).
    #[serde(rename = "brainpoolP384r1")]
    BrainpoolP384r1,
    /// NIST P-384 (D-Trust cloud TSE).
    #[serde(rename = "secp384r1")]
    P384,
    /// brainpoolP512r1 (no crate implements it; verified by the `bp512` module).
    #[serde(rename = "brainpoolP512r1")]
    BrainpoolP512r1,
}

impl Curve {
    /// The name used in certificates, conformance files and output.
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "secp256r1",
            Curve::BrainpoolP256r1 => "brainpoolP256r1",
            Curve::BrainpoolP384r1 => "brainpoolP384r1",
            Curve::P384 => "secp384r1",
            Curve::BrainpoolP512r1 => "brainpoolP512r1",
        }
    }

    fn field_bytes(self) -> usize {
        match self {
            Curve::P256 | Curve::BrainpoolP256r1 => 32,
            Curve::P384 | Curve::BrainpoolP384r1 => 48,
            Curve::BrainpoolP512r1 => 64,
        }
    }

    /// Candidates for an uncompressed point of `len` bytes; brainpool first for 384 bits
    /// because hardware TSEs (the common case) use it.
    fn candidates(len: usize) -> &'static [Curve] {
        match len {
            65 => &[Curve::P256, Curve::BrainpoolP256r1],
            97 => &[Curve::BrainpoolP384r1, Curve::P384],
            129 => &[Curve::BrainpoolP512r1],
            _ => &[],
        }
    }

    /// The curve named by a DER-encoded OID (content octets), from a SubjectPublicKeyInfo.
    fn from_oid(oid: &[u8]) -> Option<Curve> {
        match oid {
            [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07] => Some(Curve::P256),
            [0x2B, 0x81, 0x04, 0x00, 0x22] => Some(Curve::P384),
            [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x07] => Some(Curve::BrainpoolP256r1),
            [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B] => Some(Curve::BrainpoolP384r1),
            [0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D] => Some(Curve::BrainpoolP512r1),
            _ => None,
        }
    }
}

/// How the public key was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyFormat {
    /// SEC1 uncompressed point 04‖X‖Y.
    Raw,
    /// X.509 SubjectPublicKeyInfo (DER).
    Spki,
}

/// How the signature was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureFormat {
    /// r‖s, each the field size (BSI ecdsa-plain).
    Plain,
    /// DER ECDSA-Sig-Value.
    Der,
}

impl SignatureFormat {
    /// The name used in output (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            SignatureFormat::Plain => "plain",
            SignatureFormat::Der => "der",
        }
    }
}

/// The verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The signature verifies over the rebuilt log message (and the serial, if stated, fits).
    Valid,
    /// No variant verifies, or the key, signature or serial is unusable or wrong.
    Invalid,
}

/// One combination of the choices a receipt leaves open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Variant {
    /// Curve the key was decoded on.
    pub curve: Curve,
    /// logTime encoding.
    pub time_format: TimeFormat,
    /// processData encoding.
    pub process_data: ProcessDataEncoding,
    /// Signature form as found.
    pub signature: SignatureFormat,
}

/// One verification attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// What was tried.
    #[serde(flatten)]
    pub variant: Variant,
    /// Whether it verified.
    pub verified: bool,
}

/// The result of verifying one log message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Valid or invalid.
    pub verdict: Verdict,
    /// The stated algorithm's name.
    pub algorithm: &'static str,
    /// How the key was given, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_format: Option<KeyFormat>,
    /// The curve that verified, else the only curve the key lies on, if just one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    /// SHA-256 of the raw key point, lower-case hex: the TSE serial number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// The variant that verified (receipt rebuilds only: stored bytes have no variants).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<Variant>,
    /// Why it is not valid (invalid key, signature form, serial mismatch, no variant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Remarks on a valid result (e.g. verified under another time format than stated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Not valid only: hex of the to-be-signed bytes of the primary attempt (stated time
    /// format, DER processData), or of the stored bytes given, for comparison with a TSE
    /// export or another tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tbs_hex: Option<String>,
    /// Not valid only: every attempt, in order (receipt rebuilds only; for stored bytes the
    /// curves and signature forms tried are named in `problems`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
}

/// A decoded key on one supported curve.
///
/// ring verifies P-256 about five times and P-384 about a fifth faster than p256 and p384
/// (docs/performance.md), but only with SHA-256 or SHA-384 and given the message, not a
/// digest. So the NIST keys keep the uncompressed point for ring next to the RustCrypto key,
/// which decoding needs anyway (it is the on-curve check that picks the curve) and which
/// covers SHA-224 and SHA-512.
enum Key {
    P256 {
        point: Vec<u8>,
        key: ecdsa::VerifyingKey<p256::NistP256>,
    },
    Bp256(ecdsa::VerifyingKey<bp256::BrainpoolP256r1>),
    Bp384(ecdsa::VerifyingKey<bp384::BrainpoolP384r1>),
    P384 {
        point: Vec<u8>,
        key: ecdsa::VerifyingKey<p384::NistP384>,
    },
    Bp512(bp512::PublicKey),
}

impl Key {
    /// Decodes `point` on `curve`; `None` when it is not on the curve.
    fn decode(curve: Curve, point: &[u8]) -> Option<Key> {
        match curve {
            // Re-encoded once here because ring reads nothing but 04‖X‖Y.
            Curve::P256 => ecdsa::VerifyingKey::<p256::NistP256>::from_sec1_bytes(point)
                .ok()
                .map(|key| Key::P256 {
                    point: key.to_sec1_point(false).as_bytes().to_vec(),
                    key,
                }),
            Curve::BrainpoolP256r1 => ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .map(Key::Bp256),
            Curve::BrainpoolP384r1 => ecdsa::VerifyingKey::from_sec1_bytes(point)
                .ok()
                .map(Key::Bp384),
            Curve::P384 => ecdsa::VerifyingKey::<p384::NistP384>::from_sec1_bytes(point)
                .ok()
                .map(|key| Key::P384 {
                    point: key.to_sec1_point(false).as_bytes().to_vec(),
                    key,
                }),
            Curve::BrainpoolP512r1 => {
                bp512::PublicKey::from_sec1_uncompressed(point).map(Key::Bp512)
            }
        }
    }

    /// Verifies a plain r‖s signature over `message`. Brainpool verification does not demand
    /// low S (TSEs do not normalise), and a digest longer than the field is truncated as
    /// ECDSA prescribes, so any SHA-2 size works with any curve. ring accepts high S too, and
    /// rejects r or s outside [1, n−1] as `Signature::from_slice` does, so which path checks a
    /// signature does not change the verdict.
    fn verify(&self, message: &Message, rs: &[u8]) -> bool {
        use SignatureAlgorithm::{EcdsaPlainSha256, EcdsaPlainSha384};
        use ring::signature as ring_sig;
        match (self, message.algorithm) {
            (Key::P256 { point, .. }, EcdsaPlainSha256) => {
                ring_verify(&ring_sig::ECDSA_P256_SHA256_FIXED, point, message.bytes, rs)
            }
            (Key::P256 { point, .. }, EcdsaPlainSha384) => ring_verify(
                &ring_sig::ECDSA_P256_SHA384_ASN1,
                point,
                message.bytes,
                &der_signature(rs),
            ),
            (Key::P256 { key, .. }, _) => ecdsa::Signature::from_slice(rs)
                .is_ok_and(|s| key.verify_prehash(message.digest(), &s).is_ok()),
            (Key::P384 { point, .. }, EcdsaPlainSha384) => {
                ring_verify(&ring_sig::ECDSA_P384_SHA384_FIXED, point, message.bytes, rs)
            }
            (Key::P384 { point, .. }, EcdsaPlainSha256) => ring_verify(
                &ring_sig::ECDSA_P384_SHA256_ASN1,
                point,
                message.bytes,
                &der_signature(rs),
            ),
            (Key::P384 { key, .. }, _) => ecdsa::Signature::from_slice(rs)
                .is_ok_and(|s| key.verify_prehash(message.digest(), &s).is_ok()),
            (Key::Bp256(k), _) => ecdsa::Signature::from_slice(rs)
                .is_ok_and(|s| k.verify_prehash(message.digest(), &s).is_ok()),
            (Key::Bp384(k), _) => ecdsa::Signature::from_slice(rs)
                .is_ok_and(|s| k.verify_prehash(message.digest(), &s).is_ok()),
            (Key::Bp512(k), _) => k.verify_prehash(message.digest(), rs),
        }
    }
}

/// ring has no parsed-key type for ECDSA, so it reads the point on every call; that is a
/// field-equation check, nothing next to the verification.
fn ring_verify(
    algorithm: &'static ring::signature::EcdsaVerificationAlgorithm,
    point: &[u8],
    message: &[u8],
    signature: &[u8],
) -> bool {
    ring::signature::UnparsedPublicKey::new(algorithm, point)
        .verify(message, signature)
        .is_ok()
}

/// r‖s as a DER ECDSA-Sig-Value, for the ring algorithms that take no other form. Encoded
/// minimally, as ring's parser demands, whatever form the TSE used; a zero r or s stays a
/// zero INTEGER, which ring rejects as p256 would.
fn der_signature(rs: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(rs.len() + 6);
    for int in rs.chunks(rs.len() / 2) {
        let digits = &int[int.iter().take_while(|b| **b == 0).count()..];
        let mut content = Vec::with_capacity(digits.len() + 1);
        if digits.first().is_none_or(|b| b & 0x80 != 0) {
            content.push(0);
        }
        content.extend_from_slice(digits);
        push_tlv(&mut body, 0x02, &content);
    }
    let mut out = Vec::with_capacity(body.len() + 2);
    push_tlv(&mut out, 0x30, &body);
    out
}

/// To-be-signed bytes under the stated algorithm. ring hashes the message itself, so the
/// digest the other verifiers take is computed only when one of them asks, and then once for
/// every curve tried.
struct Message<'a> {
    bytes: &'a [u8],
    algorithm: SignatureAlgorithm,
    digest: OnceCell<Vec<u8>>,
}

impl<'a> Message<'a> {
    fn new(algorithm: SignatureAlgorithm, bytes: &'a [u8]) -> Message<'a> {
        Message {
            bytes,
            algorithm,
            digest: OnceCell::new(),
        }
    }

    fn digest(&self) -> &[u8] {
        self.digest
            .get_or_init(|| self.algorithm.digest(self.bytes))
    }
}

/// A public key as given: the raw point and, for a SubjectPublicKeyInfo, the curve it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// How the key was given.
    pub format: KeyFormat,
    /// The uncompressed SEC1 point 04‖X‖Y.
    pub point: Vec<u8>,
    /// The curve a SubjectPublicKeyInfo names, if fiskal knows its OID; `None` for a raw point.
    pub named_curve: Option<Curve>,
}

impl PublicKey {
    /// Reads an uncompressed point, or a SubjectPublicKeyInfo holding one.
    pub fn read(bytes: &[u8]) -> Result<PublicKey, String> {
        match bytes.first() {
            Some(0x04) => Ok(PublicKey {
                format: KeyFormat::Raw,
                point: bytes.to_vec(),
                named_curve: None,
            }),
            Some(0x30) => {
                let bad =
                    || "public key looks like a SubjectPublicKeyInfo but is malformed".to_string();
                let (spki, _) = read_tlv(bytes).ok_or_else(bad)?;
                let (alg, rest) = read_tlv(spki.content).ok_or_else(bad)?;
                let (bits, _) = read_tlv(rest).ok_or_else(bad)?;
                if alg.tag != 0x30 || bits.tag != 0x03 {
                    return Err(bad());
                }
                let (alg_oid, params) = read_tlv(alg.content).ok_or_else(bad)?;
                // id-ecPublicKey 1.2.840.10045.2.1; anything else is not an EC key.
                if alg_oid.content != [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01] {
                    return Err("public key is a SubjectPublicKeyInfo but not an EC key".into());
                }
                let named_curve = read_tlv(params)
                    .filter(|(p, _)| p.tag == 0x06)
                    .and_then(|(p, _)| Curve::from_oid(p.content));
                match bits.content.split_first() {
                    Some((0, point)) if point.first() == Some(&0x04) => Ok(PublicKey {
                        format: KeyFormat::Spki,
                        point: point.to_vec(),
                        named_curve,
                    }),
                    _ => Err("SubjectPublicKeyInfo does not hold an uncompressed EC point".into()),
                }
            }
            Some(0x02 | 0x03) => Err(
                "public key is a compressed point; the TSE serial is defined over the uncompressed one"
                    .into(),
            ),
            _ => Err(format!(
                "public key ({} bytes) is neither an uncompressed EC point nor a SubjectPublicKeyInfo",
                bytes.len()
            )),
        }
    }

    /// SHA-256 of the point: the TSE serial number (spec §2.7), never over the SPKI bytes.
    pub fn serial(&self) -> Vec<u8> {
        sha2::Sha256::digest(&self.point).to_vec()
    }
}

/// A signature brought into r‖s, with the form it was given in.
type ReadSignature = (SignatureFormat, Vec<u8>);

/// Brings the signature into r‖s for a curve with `n`-byte field elements.
fn read_signature(sig: &[u8], n: usize) -> Result<ReadSignature, String> {
    if sig.len() == 2 * n {
        return Ok((SignatureFormat::Plain, sig.to_vec()));
    }
    let bad = || {
        format!(
            "signature of {} bytes is neither r||s ({} bytes) nor a DER ECDSA-Sig-Value",
            sig.len(),
            2 * n
        )
    };
    let (seq, trailing) = read_tlv(sig)
        .filter(|(e, _)| e.tag == 0x30)
        .ok_or_else(bad)?;
    let (r, rest) = read_tlv(seq.content)
        .filter(|(e, _)| e.tag == 0x02)
        .ok_or_else(bad)?;
    let (s, rest) = read_tlv(rest)
        .filter(|(e, _)| e.tag == 0x02)
        .ok_or_else(bad)?;
    if !trailing.is_empty() || !rest.is_empty() {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(2 * n);
    for int in [r.content, s.content] {
        let skip = int.iter().take_while(|b| **b == 0).count();
        let digits = &int[skip..];
        if digits.len() > n {
            return Err(bad());
        }
        out.resize(out.len() + n - digits.len(), 0);
        out.extend_from_slice(digits);
    }
    Ok((SignatureFormat::Der, out))
}

/// The key decoded on every candidate curve it lies on, each with the signature in r‖s for
/// that curve's size: what both verification paths (rebuilt receipt, stored bytes) share.
struct Candidates {
    /// The curves tried: the one the key names, else every curve of the point's size.
    tried: Vec<Curve>,
    /// Curves the point lies on, with the signature for that curve (`None`: unusable form).
    keys: Vec<(Curve, Key, Option<ReadSignature>)>,
}

impl Candidates {
    fn new(key: &PublicKey) -> Candidates {
        let tried: Vec<Curve> = match key.named_curve {
            Some(c) => vec![c],
            None => Curve::candidates(key.point.len()).to_vec(),
        };
        let keys = tried
            .iter()
            .filter_map(|c| Key::decode(*c, &key.point).map(|k| (*c, k, None)))
            .collect();
        Candidates { tried, keys }
    }

    /// Why the point is unusable: it lies on no curve of its size.
    fn unusable(&self, key: &PublicKey) -> String {
        let tried: Vec<&str> = self.tried.iter().map(|c| c.name()).collect();
        format!(
            "public key point ({} bytes) is not on any supported curve (tried: {})",
            key.point.len(),
            if tried.is_empty() {
                "none of this size".to_string()
            } else {
                tried.join(", ")
            }
        )
    }

    /// Reads the signature for each decoded curve; a form unusable on a curve is a problem.
    fn read_signatures(&mut self, signature: &[u8], problems: &mut Vec<String>) {
        for (curve, _, sig) in &mut self.keys {
            match read_signature(signature, curve.field_bytes()) {
                Ok(s) => *sig = Some(s),
                Err(p) => problems.push(format!("{}: {p}", curve.name())),
            }
        }
    }

    /// The only curve the point lies on, if there is just one.
    fn unique_curve(&self) -> Option<Curve> {
        match self.keys.as_slice() {
            [(curve, _, _)] => Some(*curve),
            _ => None,
        }
    }

    /// Checks `message` under every decoded key in order, telling `tried` about each check;
    /// returns the first curve and signature form that verify.
    fn first_verifying(
        &self,
        message: &Message,
        mut tried: impl FnMut(Curve, SignatureFormat, bool),
    ) -> Option<(Curve, SignatureFormat)> {
        for (curve, key, sig) in &self.keys {
            let Some((form, rs)) = sig else { continue };
            let verified = key.verify(message, rs);
            tried(*curve, *form, verified);
            if verified {
                return Some((*curve, *form));
            }
        }
        None
    }
}

fn invalid(algorithm: SignatureAlgorithm, problem: String) -> Verification {
    Verification {
        verdict: Verdict::Invalid,
        algorithm: algorithm.name(),
        key_format: None,
        curve: None,
        serial: None,
        matched: None,
        problems: vec![problem],
        notes: Vec::new(),
        tbs_hex: None,
        attempts: Vec::new(),
    }
}

/// Verifies the signature of `log`, trying the variants in the order of the module doc and
/// stopping at the first that verifies.
pub fn verify(log: &SignedLog) -> Verification {
    let key = match PublicKey::read(&log.public_key) {
        Ok(k) => k,
        Err(problem) => return invalid(log.algorithm, problem),
    };
    let serial = key.serial();
    let serial_hex = hex(&serial);
    let mut problems = Vec::new();
    if let Some(stated) = &log.stated_serial
        && !stated.trim().eq_ignore_ascii_case(&serial_hex)
    {
        problems.push(format!(
            "stated TSE serial {} is not SHA-256 of the public key ({serial_hex})",
            stated.trim()
        ));
    }

    let base = Verification {
        verdict: Verdict::Invalid,
        algorithm: log.algorithm.name(),
        key_format: Some(key.format),
        curve: None,
        serial: Some(serial_hex),
        matched: None,
        problems: Vec::new(),
        notes: Vec::new(),
        tbs_hex: None,
        attempts: Vec::new(),
    };
    // Only a failure shows these bytes; hex-formatting them for every receipt was about a
    // tenth of the P-256 path through ring.
    let primary_tbs_hex = || {
        Some(hex(&dtbs(
            log,
            &serial,
            log.time_format,
            ProcessDataEncoding::DerPrimitive,
        )))
    };
    let mut candidates = Candidates::new(&key);
    if candidates.keys.is_empty() {
        problems.push(candidates.unusable(&key));
        return Verification {
            problems,
            tbs_hex: primary_tbs_hex(),
            ..base
        };
    }
    candidates.read_signatures(&log.signature, &mut problems);

    let time_formats = std::iter::once(log.time_format).chain(
        TimeFormat::ALL
            .into_iter()
            .filter(|t| *t != log.time_format),
    );
    let mut attempts = Vec::new();
    for time_format in time_formats {
        for process_data in ProcessDataEncoding::ALL {
            let tbs = dtbs(log, &serial, time_format, process_data);
            let variant = |curve, signature| Variant {
                curve,
                time_format,
                process_data,
                signature,
            };
            let Some((curve, signature)) = candidates.first_verifying(
                &Message::new(log.algorithm, &tbs),
                |curve, signature, verified| {
                    attempts.push(Attempt {
                        variant: variant(curve, signature),
                        verified,
                    })
                },
            ) else {
                continue;
            };
            let mut notes = Vec::new();
            if time_format != log.time_format {
                notes.push(format!(
                    "verified with logTime as {} although {} is stated",
                    time_format.name(),
                    log.time_format.name()
                ));
            }
            let ok = problems.iter().all(|p| !p.starts_with("stated TSE serial"));
            return if ok {
                Verification {
                    verdict: Verdict::Valid,
                    curve: Some(curve),
                    matched: Some(variant(curve, signature)),
                    notes,
                    ..base
                }
            } else {
                Verification {
                    curve: Some(curve),
                    matched: Some(variant(curve, signature)),
                    problems,
                    notes,
                    tbs_hex: primary_tbs_hex(),
                    attempts,
                    ..base
                }
            };
        }
    }
    if !attempts.is_empty() {
        problems.push(format!(
            "no variant verifies ({} tried): the signed data differs from what the receipt shows, or the signature is not from this key",
            attempts.len()
        ));
    }
    Verification {
        curve: candidates.unique_curve(),
        problems,
        tbs_hex: primary_tbs_hex(),
        attempts,
        ..base
    }
}

/// Verifies `signature` over exactly `tbs`, the to-be-signed bytes as a TSE stored them (a
/// log message of a TAR export, spec §5): nothing is rebuilt, so there are no variants, and a
/// SubjectPublicKeyInfo key (a certificate's) fixes the curve. Curve, key and signature forms
/// are handled as for receipts; a failure carries the problems and the hex of `tbs`.
pub fn verify_signed_bytes(
    tbs: &[u8],
    public_key: &[u8],
    algorithm: SignatureAlgorithm,
    signature: &[u8],
) -> Verification {
    let key = match PublicKey::read(public_key) {
        Ok(k) => k,
        Err(problem) => return invalid(algorithm, problem),
    };
    let base = Verification {
        verdict: Verdict::Invalid,
        algorithm: algorithm.name(),
        key_format: Some(key.format),
        curve: None,
        serial: Some(hex(&key.serial())),
        matched: None,
        problems: Vec::new(),
        notes: Vec::new(),
        tbs_hex: None,
        attempts: Vec::new(),
    };
    let mut problems = Vec::new();
    let mut candidates = Candidates::new(&key);
    if candidates.keys.is_empty() {
        problems.push(candidates.unusable(&key));
        return Verification {
            problems,
            tbs_hex: Some(hex(tbs)),
            ..base
        };
    }
    candidates.read_signatures(signature, &mut problems);
    let mut tried = Vec::new();
    if let Some((curve, _)) = candidates
        .first_verifying(&Message::new(algorithm, tbs), |curve, form, _| {
            tried.push(format!("{} with a {} signature", curve.name(), form.name()))
        })
    {
        return Verification {
            verdict: Verdict::Valid,
            curve: Some(curve),
            ..base
        };
    }
    if !tried.is_empty() {
        problems.push(format!(
            "signature does not verify over the stored to-be-signed bytes ({}): the log message was changed after signing, or it was not signed by this key",
            tried.join("; ")
        ));
    }
    Verification {
        curve: candidates.unique_curve(),
        problems,
        tbs_hex: Some(hex(tbs)),
        ..base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::kassensichv::qr::parse_qr;

    /// berohndo line 1: fiskaly-style P-256, raw key, plain signature, unixTime.
    const P256_QR: &str = "V0;ERS 8cb8e2de-4052-481b-945b-118022951944;Kassenbeleg-V1;Beleg^21.42_0.00_0.00_0.00_0.00^21.42:Unbar;1;31;2021-08-23T14:36:27.000Z;2021-08-23T14:36:33.000Z;ecdsa-plain-SHA256;unixTime;TGnWiq3ZW7gi4Vs+DxLGsJZj9v271dHmhQAcb057F3oWkdKJ61UW2LLVTZQhW673yLa53Mm6oPeMU1Ns3ZOH7w==;BGFKQP7EENf3s5hTDXvlh+xyJ1Q9BNIa9LyYbYK+pTAKAGQ2fmI40p5QOrpHpvb+UuOrNQJdhzggHNfyyyDyf/g=";
    /// fiskaltrust line 2: P-256 key as SubjectPublicKeyInfo, utcTime.
    const SPKI_QR: &str = "V0;220130d5-9060-4e26-b75c-35968f49aae3;Kassenbeleg-V1;Beleg^7.50_0.00_0.00_0.00_0.00^7.50:Bar;11;21;2020-05-22T11:33:01.000Z;2020-05-22T11:33:02.000Z;ecdsa-plain-SHA256;utcTime;HSmIZw0g6tpJ/UeNYutHic5PXORANAH5V9+Fon9SfCvx3A/gO7Dguaxd8Mn/YKadgfLTV7s1VzWPe/QolS6dAg==;MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENFFPGk1vDk92IL6tjsVQ6kpwc4TCsYNNGGoc0cN4dUPQZwOo2tuQlrQAVvMfO+XHWsnphAtN5cUbIwdtMk/Z6g==";
    /// berohndo line 2: brainpoolP384r1, the worked example of spec §3.3.
    const BP384_QR: &str = "V0;AMA-6200;KassenBeleg-V1;Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar;160504;344413;2021-07-23T10:12:54.000Z;2021-07-23T10:12:55.000Z;ecdsa-plain-SHA384;unixTime;NgqBkWMvhLmCKa9cJJ8JodfAdlkfcFFyW0J7Ks9lTz9I4QFKhLzyGF/02kWsCRg0LoiJtkq+0Ak9GovodNFLOBG00ewEj40/GbI9zLtNt9j90w4Sz3GcxTSrr3rqhIhN;BCd1vZvSJsJwBTqshgDVsrG4Gg+oN3jeeFEgjGiKs9ELd170vy/jO3iMMF6tAVUfjyYn9jRXng8Z4qWXaqoJ53+y+OFeSY/lQsdZWCODkzhlhkJxJw2k9Z1A4gFX6Riotw==";
    /// Synthetic brainpoolP512r1 vector `synth-qr-bp512-unix`, ecdsa-plain-SHA512.
    const BP512_QR: &str = "V0;SYNTH-KASSE-01;Kassenbeleg-V1;Beleg^10.00_5.35_0.00_0.00_0.00^10.00:Bar_5.35:Unbar;4711;9423;2024-01-02T03:04:05.000Z;2024-01-02T03:04:06.000Z;ecdsa-plain-SHA512;unixTime;CF7MYYcI/CCVJR4DrpodOtH1N4OhT1QDGEFzlRtZz1+fb52k7SXNthBK06wp7oNYx1+uHEV+h+8xnZIEyWZfYFfTmlGIvXDhhsYbtCCDyifhvkxBH6jFC/kt+TKO9WdLyqpPtxamcrEubj/YQeBWFougEU6WIpJ0sDSNIhbQu0c=;BAnGYnZjMwym/+I76NX91mXkTy3cSDKX76JLubYvGhyTs4TWV7avfK13d0IwDECW+PAxMzkQkoOcUCmTwhv4MNCjw8xfIvwFQAgVFLpZncN36lk+OPRSBuwWYzYVe29kuSuXij/xb427AEAwvwVJJ2UxqWAmMiEXSsSrKxsdnoel";

    fn der_int(out: &mut Vec<u8>, v: &[u8]) {
        let skip = v.iter().take_while(|b| **b == 0).count();
        let mut c = v[skip..].to_vec();
        if c.first().is_none_or(|b| b & 0x80 != 0) {
            c.insert(0, 0);
        }
        push_tlv(out, 0x02, &c);
    }

    fn to_der(rs: &[u8]) -> Vec<u8> {
        let (r, s) = rs.split_at(rs.len() / 2);
        let mut body = Vec::new();
        der_int(&mut body, r);
        der_int(&mut body, s);
        let mut out = Vec::new();
        push_tlv(&mut out, 0x30, &body);
        out
    }

    #[test]
    fn real_p256_receipt_verifies_on_p256() {
        let v = verify(&parse_qr(P256_QR).unwrap());
        assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
        assert_eq!(v.curve, Some(Curve::P256));
        assert_eq!(v.key_format, Some(KeyFormat::Raw));
        let m = v.matched.unwrap();
        assert_eq!(m.process_data, ProcessDataEncoding::DerPrimitive);
        assert_eq!(m.signature, SignatureFormat::Plain);
        assert!(v.tbs_hex.is_none() && v.attempts.is_empty());
    }

    #[test]
    fn brainpool_384_is_picked_by_the_on_curve_check() {
        let v = verify(&parse_qr(BP384_QR).unwrap());
        assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
        assert_eq!(v.curve, Some(Curve::BrainpoolP384r1));
        assert_eq!(
            v.serial.as_deref(),
            Some("2ddbd6b0df57a4d8c1e4578a89952922dfe979e94f5c7444192cf8d04e063127")
        );
    }

    #[test]
    fn spki_and_raw_key_give_the_same_result_and_serial() {
        let spki = verify(&parse_qr(SPKI_QR).unwrap());
        assert_eq!(spki.verdict, Verdict::Valid, "{spki:?}");
        assert_eq!(spki.key_format, Some(KeyFormat::Spki));
        assert_eq!(spki.matched.unwrap().time_format, TimeFormat::UtcTime);
        let mut raw_log = parse_qr(SPKI_QR).unwrap();
        raw_log.public_key = raw_log.public_key[raw_log.public_key.len() - 65..].to_vec();
        let raw = verify(&raw_log);
        assert_eq!(raw.verdict, Verdict::Valid);
        assert_eq!(raw.key_format, Some(KeyFormat::Raw));
        assert_eq!(raw.serial, spki.serial);
        // Serial is over the point, not the SPKI bytes (spec §2.7).
        assert_eq!(
            spki.serial.as_deref(),
            Some("ea2d4edbd67e3c13b893219870da0b48f40a8885bbdc34fe5fde6717f98214bc")
        );
    }

    #[test]
    fn der_signature_verifies_like_plain() {
        for qr in [P256_QR, BP384_QR, BP512_QR] {
            let mut log = parse_qr(qr).unwrap();
            log.signature = to_der(&log.signature);
            let v = verify(&log);
            assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
            assert_eq!(v.matched.unwrap().signature, SignatureFormat::Der);
        }
    }

    #[test]
    fn tampered_inputs_are_rejected_with_diagnostics() {
        let tamper: [fn(&mut SignedLog); 7] = [
            |l| l.process_data = l.process_data.replace("21.42", "21.43"),
            |l| l.client_id = l.client_id.to_uppercase(),
            |l| l.process_type = "KassenBeleg-V1".into(),
            |l| l.transaction_number += 1,
            |l| l.signature_counter += 1,
            |l| l.log_time += chrono::Duration::seconds(1),
            |l| l.signature[10] ^= 1,
        ];
        for (i, t) in tamper.iter().enumerate() {
            let mut log = parse_qr(P256_QR).unwrap();
            t(&mut log);
            let v = verify(&log);
            assert_eq!(v.verdict, Verdict::Invalid, "tamper #{i}");
            // 3 time formats x 2 processData forms; the key is on P-256 only.
            assert_eq!(v.attempts.len(), 6, "tamper #{i}");
            assert!(
                v.attempts
                    .iter()
                    .all(|a| !a.verified && a.variant.curve == Curve::P256)
            );
            assert_eq!(v.curve, Some(Curve::P256));
            assert!(
                v.tbs_hex
                    .as_deref()
                    .unwrap()
                    .starts_with("020102060904007f000703070101")
            );
            assert!(v.problems.iter().any(|p| p.contains("no variant verifies")));
        }
    }

    #[test]
    fn wrong_stated_time_format_still_verifies_with_a_note() {
        let mut log = parse_qr(P256_QR).unwrap();
        log.time_format = TimeFormat::UtcTime;
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Valid);
        assert_eq!(v.matched.unwrap().time_format, TimeFormat::UnixTime);
        assert_eq!(v.notes.len(), 1);
    }

    #[test]
    fn serial_is_checked_case_insensitively() {
        let mut log = parse_qr(BP384_QR).unwrap();
        log.stated_serial =
            Some("2DDBD6B0DF57A4D8C1E4578A89952922DFE979E94F5C7444192CF8D04E063127".into());
        assert_eq!(verify(&log).verdict, Verdict::Valid);
        log.stated_serial = Some("00".repeat(32));
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.matched.is_some());
        assert!(v.problems[0].contains("stated TSE serial"));
    }

    #[test]
    fn unusable_keys_and_signatures_are_invalid_not_panics() {
        let mut log = parse_qr(P256_QR).unwrap();
        log.public_key[64] ^= 1;
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(
            v.problems[0].contains("not on any supported curve"),
            "{v:?}"
        );

        for key in [
            vec![],
            vec![0x02; 33],
            vec![0x30, 0x03, 0x01],
            vec![0x04; 10],
        ] {
            let mut log = parse_qr(P256_QR).unwrap();
            log.public_key = key;
            assert_eq!(verify(&log).verdict, Verdict::Invalid);
        }

        let mut log = parse_qr(P256_QR).unwrap();
        log.signature.truncate(63);
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.problems[0].contains("neither r||s"), "{v:?}");
        assert!(v.attempts.is_empty());
    }

    /// Every invalid result carries the primary to-be-signed bytes, whichever stage failed
    /// (they are built only then); a valid one carries none.
    #[test]
    fn every_failure_shows_the_primary_tbs() {
        let primary = |log: &SignedLog| {
            let serial = PublicKey::read(&log.public_key).unwrap().serial();
            Some(hex(&dtbs(
                log,
                &serial,
                log.time_format,
                ProcessDataEncoding::DerPrimitive,
            )))
        };
        let mut off_curve = parse_qr(P256_QR).unwrap();
        off_curve.public_key[64] ^= 1;
        let mut wrong_serial = parse_qr(P256_QR).unwrap();
        wrong_serial.stated_serial = Some("00".repeat(32));
        let mut bad_signature = parse_qr(P256_QR).unwrap();
        bad_signature.signature[0] ^= 1;
        for log in [off_curve, wrong_serial, bad_signature] {
            let v = verify(&log);
            assert_eq!(v.verdict, Verdict::Invalid);
            assert_eq!(v.tbs_hex, primary(&log), "{v:?}");
        }
        assert_eq!(verify(&parse_qr(P256_QR).unwrap()).tbs_hex, None);

        let log = parse_qr(P256_QR).unwrap();
        let v = verify_signed_bytes(b"tbs", &[0x04; 65], log.algorithm, &log.signature);
        assert_eq!(v.tbs_hex, Some(hex(b"tbs")), "{v:?}");
    }

    /// The stored-bytes path: the same signature, key and bytes the receipt rebuild uses,
    /// given as they are; no variant is tried and a failure shows the bytes given.
    #[test]
    fn stored_bytes_verify_as_given() {
        let log = parse_qr(P256_QR).unwrap();
        let serial = PublicKey::read(&log.public_key).unwrap().serial();
        let tbs = dtbs(
            &log,
            &serial,
            TimeFormat::UnixTime,
            ProcessDataEncoding::DerPrimitive,
        );
        let v = verify_signed_bytes(&tbs, &log.public_key, log.algorithm, &log.signature);
        assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
        assert_eq!(v.curve, Some(Curve::P256));
        assert_eq!(v.serial, Some(hex(&serial)));
        assert!(v.matched.is_none() && v.attempts.is_empty() && v.tbs_hex.is_none());
        let der = verify_signed_bytes(
            &tbs,
            &log.public_key,
            log.algorithm,
            &to_der(&log.signature),
        );
        assert_eq!(der.verdict, Verdict::Valid);

        // The same bytes under another time format are other bytes: no fallback here.
        let utc = dtbs(
            &log,
            &serial,
            TimeFormat::UtcTime,
            ProcessDataEncoding::DerPrimitive,
        );
        let v = verify_signed_bytes(&utc, &log.public_key, log.algorithm, &log.signature);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert_eq!(v.tbs_hex, Some(hex(&utc)));
        assert_eq!(v.curve, Some(Curve::P256));
        assert_eq!(
            v.problems,
            [
                "signature does not verify over the stored to-be-signed bytes (secp256r1 with a plain signature): the log message was changed after signing, or it was not signed by this key"
            ]
        );

        let v = verify_signed_bytes(&tbs, &[0x04; 10], log.algorithm, &log.signature);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.problems[0].contains("not on any supported curve"));
        let v = verify_signed_bytes(&tbs, &log.public_key, log.algorithm, &[1, 2, 3]);
        assert!(v.problems[0].contains("neither r||s"), "{v:?}");
        let v = verify_signed_bytes(&tbs, b"", log.algorithm, &log.signature);
        assert_eq!((v.verdict, v.serial), (Verdict::Invalid, None));
    }

    /// A SubjectPublicKeyInfo names its curve, and then only that curve is tried.
    #[test]
    fn a_named_curve_is_the_only_candidate() {
        let spki = parse_qr(SPKI_QR).unwrap().public_key;
        let key = PublicKey::read(&spki).unwrap();
        assert_eq!(
            (key.format, key.named_curve),
            (KeyFormat::Spki, Some(Curve::P256))
        );
        assert_eq!(Candidates::new(&key).tried, [Curve::P256]);
        let raw = PublicKey::read(&key.point).unwrap();
        assert_eq!(raw.named_curve, None);
        assert_eq!(
            Candidates::new(&raw).tried,
            [Curve::P256, Curve::BrainpoolP256r1]
        );
    }

    #[test]
    fn brainpool_512_verifies_and_rejects_a_flipped_signature_or_a_point_off_the_curve() {
        let v = verify(&parse_qr(BP512_QR).unwrap());
        assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
        assert_eq!(v.curve, Some(Curve::BrainpoolP512r1));
        assert_eq!(v.matched.unwrap().signature, SignatureFormat::Plain);

        let mut log = parse_qr(BP512_QR).unwrap();
        log.signature[100] ^= 1;
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert_eq!(v.curve, Some(Curve::BrainpoolP512r1));
        assert_eq!(v.attempts.len(), 6);
        assert!(v.attempts.iter().all(|a| !a.verified));

        let mut log = parse_qr(BP512_QR).unwrap();
        log.public_key[128] ^= 1;
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.attempts.is_empty());
        assert!(
            v.problems[0].contains("not on any supported curve (tried: brainpoolP512r1)"),
            "{v:?}"
        );
    }

    /// n − s: the other valid S of an ECDSA signature, which TSEs may emit (no low-S rule).
    fn high_s(rs: &[u8], order: &[u8]) -> Vec<u8> {
        let (r, s) = rs.split_at(rs.len() / 2);
        let mut out = r.to_vec();
        let mut neg = vec![0; s.len()];
        let mut borrow = 0i16;
        for i in (0..s.len()).rev() {
            let d = i16::from(order[i]) - i16::from(s[i]) - borrow;
            borrow = i16::from(d < 0);
            neg[i] = d.rem_euclid(256) as u8;
        }
        out.extend_from_slice(&neg);
        out
    }

    const P256_ORDER: [u8; 32] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63,
        0x25, 0x51,
    ];
    const P384_ORDER: [u8; 48] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC7, 0x63, 0x4D, 0x81, 0xF4, 0x37,
        0x2D, 0xDF, 0x58, 0x1A, 0x0D, 0xB2, 0x48, 0xB0, 0xA7, 0x7A, 0xEC, 0xEC, 0x19, 0x6A, 0xCC,
        0xC5, 0x29, 0x73,
    ];

    /// Checks one signature over `tbs` the way a TAR export presents it: the right signature
    /// in every form verifies on `curve`, and one flipped bit anywhere in r or s, or one
    /// changed byte of the message, makes it invalid.
    fn assert_verifies_exactly(
        tbs: &[u8],
        key: &[u8],
        algorithm: SignatureAlgorithm,
        rs: &[u8],
        order: &[u8],
        curve: Curve,
    ) {
        let case = format!("{} {}", curve.name(), algorithm.name());
        for (form, sig) in [
            ("plain", rs.to_vec()),
            ("der", to_der(rs)),
            ("plain high S", high_s(rs, order)),
            ("der high S", to_der(&high_s(rs, order))),
        ] {
            let v = verify_signed_bytes(tbs, key, algorithm, &sig);
            assert_eq!(v.verdict, Verdict::Valid, "{case} {form}: {v:?}");
            assert_eq!(v.curve, Some(curve), "{case} {form}");
        }
        for bit in (0..rs.len() * 8).step_by(7) {
            let mut bad = rs.to_vec();
            bad[bit / 8] ^= 1 << (bit % 8);
            for (form, sig) in [("plain", bad.clone()), ("der", to_der(&bad))] {
                let v = verify_signed_bytes(tbs, key, algorithm, &sig);
                assert_eq!(v.verdict, Verdict::Invalid, "{case} {form}, bit {bit}");
            }
        }
        let mut changed = tbs.to_vec();
        *changed.last_mut().unwrap() ^= 1;
        let v = verify_signed_bytes(&changed, key, algorithm, rs);
        assert_eq!(v.verdict, Verdict::Invalid, "{case}, message changed");
    }

    /// The real fiskaly vector goes through ring (P-256, SHA-256): it and its DER and high-S
    /// forms verify, no bit flip does, and p256's verdict on the same bytes is the same.
    #[test]
    fn real_p256_vector_verifies_exactly_through_ring() {
        let log = parse_qr(P256_QR).unwrap();
        let key = PublicKey::read(&log.public_key).unwrap();
        let tbs = dtbs(
            &log,
            &key.serial(),
            TimeFormat::UnixTime,
            ProcessDataEncoding::DerPrimitive,
        );
        assert_verifies_exactly(
            &tbs,
            &log.public_key,
            log.algorithm,
            &log.signature,
            &P256_ORDER,
            Curve::P256,
        );

        let Some(Key::P256 { key: p256_key, .. }) = Key::decode(Curve::P256, &key.point) else {
            panic!("the vector's key is on P-256");
        };
        let digest = log.algorithm.digest(&tbs);
        let message = Message::new(log.algorithm, &tbs);
        let ring_key = Key::decode(Curve::P256, &key.point).unwrap();
        for sig in [log.signature.clone(), high_s(&log.signature, &P256_ORDER)]
            .into_iter()
            .chain((0..64).map(|i| {
                let mut bad = log.signature.clone();
                bad[i] ^= 0x80 >> (i % 8);
                bad
            }))
        {
            let by_p256 = ecdsa::Signature::from_slice(&sig)
                .is_ok_and(|s| p256_key.verify_prehash(&digest, &s).is_ok());
            assert_eq!(ring_key.verify(&message, &sig), by_p256, "{}", hex(&sig));
        }
    }

    /// Every SHA-2 size on both NIST curves, signed by RustCrypto: the combinations ring has
    /// (P-256 with SHA-256 or SHA-384, P-384 with SHA-256 or SHA-384) and those left to the
    /// prehash path must give the same verdicts, for raw keys and a SubjectPublicKeyInfo.
    #[test]
    fn nist_curves_verify_every_sha2_size_and_reject_any_change() {
        use SignatureAlgorithm::*;
        use ecdsa::signature::hazmat::PrehashSigner;
        let tbs = dtbs(
            &parse_qr(P256_QR).unwrap(),
            &[0x5A; 32],
            TimeFormat::UnixTime,
            ProcessDataEncoding::DerPrimitive,
        );
        let p256_key = ecdsa::SigningKey::<p256::NistP256>::from_slice(&[0x17; 32]).unwrap();
        let p384_key = ecdsa::SigningKey::<p384::NistP384>::from_slice(&[0x29; 48]).unwrap();
        let p256_point = p256_key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        let p384_point = p384_key
            .verifying_key()
            .to_sec1_point(false)
            .as_bytes()
            .to_vec();
        let mut alg = Vec::new();
        push_tlv(&mut alg, 0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]);
        push_tlv(&mut alg, 0x06, &[0x2B, 0x81, 0x04, 0x00, 0x22]);
        let mut body = Vec::new();
        push_tlv(&mut body, 0x30, &alg);
        push_tlv(&mut body, 0x03, &[&[0][..], &p384_point].concat());
        let mut p384_spki = Vec::new();
        push_tlv(&mut p384_spki, 0x30, &body);

        for algorithm in [
            EcdsaPlainSha224,
            EcdsaPlainSha256,
            EcdsaPlainSha384,
            EcdsaPlainSha512,
        ] {
            let digest = algorithm.digest(&tbs);
            let rs: ecdsa::Signature<p256::NistP256> = p256_key.sign_prehash(&digest).unwrap();
            let rs = rs.to_bytes().to_vec();
            assert_verifies_exactly(&tbs, &p256_point, algorithm, &rs, &P256_ORDER, Curve::P256);
            let rs: ecdsa::Signature<p384::NistP384> = p384_key.sign_prehash(&digest).unwrap();
            let rs = rs.to_bytes().to_vec();
            for key in [&p384_point, &p384_spki] {
                assert_verifies_exactly(&tbs, key, algorithm, &rs, &P384_ORDER, Curve::P384);
            }
        }
    }

    /// A compressed point is still refused (the serial is defined over the uncompressed one),
    /// although p256 would decompress it for ring: the faster path changes no verdict.
    #[test]
    fn compressed_p256_key_is_still_refused() {
        let log = parse_qr(P256_QR).unwrap();
        let point = &log.public_key;
        let mut compressed = vec![0x02 | (point[64] & 1)];
        compressed.extend_from_slice(&point[1..33]);
        assert!(ecdsa::VerifyingKey::<p256::NistP256>::from_sec1_bytes(&compressed).is_ok());
        let mut log = log;
        log.public_key = compressed.clone();
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.problems[0].contains("compressed point"), "{v:?}");
        let v = verify_signed_bytes(b"x", &compressed, log.algorithm, &log.signature);
        assert_eq!((v.verdict, v.serial), (Verdict::Invalid, None));
    }

    #[test]
    fn brainpool_512_key_as_spki_is_read_by_its_oid() {
        let mut log = parse_qr(BP512_QR).unwrap();
        let mut alg = Vec::new();
        push_tlv(&mut alg, 0x06, &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01]);
        push_tlv(
            &mut alg,
            0x06,
            &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0D],
        );
        let mut body = Vec::new();
        push_tlv(&mut body, 0x30, &alg);
        push_tlv(&mut body, 0x03, &[&[0][..], &log.public_key].concat());
        let mut spki = Vec::new();
        push_tlv(&mut spki, 0x30, &body);
        log.public_key = spki;
        let v = verify(&log);
        assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
        assert_eq!(v.key_format, Some(KeyFormat::Spki));
        assert_eq!(v.curve, Some(Curve::BrainpoolP512r1));
    }
}
