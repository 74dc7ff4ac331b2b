//! A software TSE: signs transaction log messages the way a certified TSE does, so that
//! generated histories carry signatures the verifier can check end to end.
//!
//! The key is derived from caller-supplied seed bytes and signing follows RFC 6979
//! (deterministic nonces), so the same seed and log give the same signature bytes: generated
//! data stays byte-identical run after run. The two curves are the two TSE families seen in
//! the field (spec §2.5): NIST P-256 with SHA-256 (cloud TSEs) and brainpoolP384r1 with
//! SHA-384 (hardware TSEs). These keys sign test data only; nothing here is a secure TSE.

use ecdsa::signature::hazmat::PrehashSigner;
use sha2::Digest;

use super::logmsg::{ProcessDataEncoding, SignatureAlgorithm, SignedLog, dtbs};
use super::tlv::push_tlv;

/// The curve of a simulated TSE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TseCurve {
    /// NIST P-256, signing `ecdsa-plain-SHA256`.
    P256,
    /// brainpoolP384r1, signing `ecdsa-plain-SHA384`.
    BrainpoolP384r1,
}

impl TseCurve {
    /// The signature algorithm TSEs pair with this curve.
    pub fn algorithm(self) -> SignatureAlgorithm {
        match self {
            TseCurve::P256 => SignatureAlgorithm::EcdsaPlainSha256,
            TseCurve::BrainpoolP384r1 => SignatureAlgorithm::EcdsaPlainSha384,
        }
    }
}

#[derive(Clone)]
enum SigningKey {
    P256(ecdsa::SigningKey<p256::NistP256>),
    Bp384(ecdsa::SigningKey<bp384::BrainpoolP384r1>),
}

/// One simulated TSE: key pair, serial number and the encodings it signs with.
#[derive(Clone)]
pub struct TseSigner {
    curve: TseCurve,
    key: SigningKey,
    public_key: Vec<u8>,
    serial: [u8; 32],
}

impl std::fmt::Debug for TseSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key stays out of debug output, as with a real TSE.
        f.debug_struct("TseSigner")
            .field("curve", &self.curve)
            .field("serial", &super::logmsg::hex(&self.serial))
            .finish_non_exhaustive()
    }
}

impl TseSigner {
    /// A TSE whose private scalar is derived from `seed`: the hash of seed and a counter,
    /// taking the first value that is a valid scalar (a miss has probability about 2⁻¹²⁸).
    pub fn from_seed(curve: TseCurve, seed: &[u8]) -> TseSigner {
        let mut counter: u32 = 0;
        loop {
            let mut h = sha2::Sha512::new();
            h.update(b"fiskal software TSE key");
            h.update(seed);
            h.update(counter.to_be_bytes());
            let material = h.finalize();
            let key = match curve {
                TseCurve::P256 => ecdsa::SigningKey::from_slice(&material[..32])
                    .ok()
                    .map(SigningKey::P256),
                TseCurve::BrainpoolP384r1 => ecdsa::SigningKey::from_slice(&material[..48])
                    .ok()
                    .map(SigningKey::Bp384),
            };
            if let Some(key) = key {
                let public_key = match &key {
                    SigningKey::P256(k) => {
                        k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
                    }
                    SigningKey::Bp384(k) => {
                        k.verifying_key().to_sec1_point(false).as_bytes().to_vec()
                    }
                };
                let serial = sha2::Sha256::digest(&public_key).into();
                return TseSigner {
                    curve,
                    key,
                    public_key,
                    serial,
                };
            }
            counter += 1;
        }
    }

    /// The curve.
    pub fn curve(&self) -> TseCurve {
        self.curve
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.curve.algorithm()
    }

    /// The public key as an uncompressed SEC1 point (what receipts and the API carry).
    pub fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The TSE serial number: SHA-256 of the public key point.
    pub fn serial(&self) -> &[u8; 32] {
        &self.serial
    }

    /// Signs `log` as it stands (its `algorithm` must be this TSE's; its signature, key and
    /// stated serial are ignored) with logTime in its stated format and processData
    /// DER-encoded, the form cloud and brainpool hardware TSEs use. Returns r‖s.
    pub fn sign(&self, log: &SignedLog) -> Vec<u8> {
        debug_assert_eq!(log.algorithm, self.algorithm());
        let tbs = dtbs(
            log,
            &self.serial,
            log.time_format,
            ProcessDataEncoding::DerPrimitive,
        );
        self.sign_digest(&self.algorithm().digest(&tbs))
    }

    /// Signs `message` with the curve's hash (SHA-256 on P-256, SHA-384 on brainpoolP384r1);
    /// returns r‖s. Other signature creation devices built on this key (the RKSV cash box of
    /// `regime::rksv::sign`) sign their own formats through this.
    pub fn sign_message(&self, message: &[u8]) -> Vec<u8> {
        self.sign_digest(&self.algorithm().digest(message))
    }

    /// Signs a digest of the curve's size; returns r‖s.
    fn sign_digest(&self, digest: &[u8]) -> Vec<u8> {
        // The digest has the curve's size and the key is valid, so signing cannot fail.
        match &self.key {
            SigningKey::P256(k) => {
                let s: ecdsa::Signature<p256::NistP256> = k
                    .sign_prehash(digest)
                    .expect("a valid key signs a digest of the curve's size");
                s.to_bytes().to_vec()
            }
            SigningKey::Bp384(k) => {
                let s: ecdsa::Signature<bp384::BrainpoolP384r1> = k
                    .sign_prehash(digest)
                    .expect("a valid key signs a digest of the curve's size");
                s.to_bytes().to_vec()
            }
        }
    }
}

/// OID content octets: id-ecPublicKey (1.2.840.10045.2.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// prime256v1 (1.2.840.10045.3.1.7).
const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// brainpoolP384r1 (1.3.36.3.3.2.8.1.1.11).
const OID_BP384: &[u8] = &[0x2B, 0x24, 0x03, 0x03, 0x02, 0x08, 0x01, 0x01, 0x0B];
/// ecdsa-with-SHA256 (1.2.840.10045.4.3.2) and ecdsa-with-SHA384 (…4.3.3).
const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const OID_ECDSA_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
/// id-at-commonName (2.5.4.3).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 4);
    push_tlv(&mut out, tag, content);
    out
}

fn seq(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// INTEGER content octets of an unsigned big-endian number of any length.
fn unsigned_big(bytes: &[u8]) -> Vec<u8> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let digits = &bytes[skip.min(bytes.len().saturating_sub(1))..];
    let mut out = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_some_and(|b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(digits);
    out
}

/// The curve's OID and the OID of ECDSA with the hash the curve is used with here.
fn curve_oids(curve: TseCurve) -> (&'static [u8], &'static [u8]) {
    match curve {
        TseCurve::P256 => (OID_P256, OID_ECDSA_SHA256),
        TseCurve::BrainpoolP384r1 => (OID_BP384, OID_ECDSA_SHA384),
    }
}

impl TseSigner {
    /// A self-signed X.509 v3 certificate (DER) for this TSE's key, issued to and by
    /// `common_name` and valid from `not_before` to `not_after` (UTCTime `YYMMDDhhmmssZ`).
    ///
    /// Real TSE certificates are issued by the manufacturer's CA under the BSI root; a
    /// simulated TSE has no such CA, so it certifies itself. What the certificate is for in
    /// an export — tying TSE_PUBLIC_KEY and TSE_SERIAL to a certificate (DSFinV-K tse.csv
    /// TSE_ZERTIFIKAT_I/II) — works the same. The serial number is taken from the key hash,
    /// so the same key always gives the same bytes.
    pub fn certificate(&self, common_name: &str, not_before: &str, not_after: &str) -> Vec<u8> {
        self.issue(
            common_name,
            common_name,
            (self.curve, self.public_key()),
            (not_before, not_after),
        )
    }

    /// An X.509 v3 certificate (DER) for `subject_key` (curve and uncompressed point) issued
    /// to `subject` by `issuer` and signed with this key: what a manufacturer CA issues to a
    /// TSE. Validity as in [`certificate`](Self::certificate).
    pub fn issue(
        &self,
        issuer: &str,
        subject: &str,
        subject_key: (TseCurve, &[u8]),
        (not_before, not_after): (&str, &str),
    ) -> Vec<u8> {
        let (_, sig_oid) = curve_oids(self.curve);
        let (curve_oid, _) = curve_oids(subject_key.0);
        let key = subject_key.1;
        let version = tlv(0xA0, &tlv(0x02, &[2]));
        let serial = tlv(0x02, &unsigned_big(&self.serial[..16]));
        let algorithm = seq(&[&tlv(0x06, sig_oid)]);
        let name = |cn: &str| {
            seq(&[&tlv(
                0x31,
                &seq(&[&tlv(0x06, OID_COMMON_NAME), &tlv(0x0C, cn.as_bytes())]),
            )])
        };
        let validity = seq(&[
            &tlv(0x17, not_before.as_bytes()),
            &tlv(0x17, not_after.as_bytes()),
        ]);
        let mut point = vec![0u8];
        point.extend_from_slice(key);
        let spki = seq(&[
            &seq(&[&tlv(0x06, OID_EC_PUBLIC_KEY), &tlv(0x06, curve_oid)]),
            &tlv(0x03, &point),
        ]);
        let tbs = seq(&[
            &version,
            &serial,
            &algorithm,
            &name(issuer),
            &validity,
            &name(subject),
            &spki,
        ]);
        let rs = self.sign_digest(&self.algorithm().digest(&tbs));
        let (r, s) = rs.split_at(rs.len() / 2);
        let ecdsa_sig = seq(&[&tlv(0x02, &unsigned_big(r)), &tlv(0x02, &unsigned_big(s))]);
        let mut bits = vec![0u8];
        bits.extend_from_slice(&ecdsa_sig);
        seq(&[&tbs, &algorithm, &tlv(0x03, &bits)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::kassensichv::TimeFormat;
    use crate::regime::kassensichv::verify::{Curve, Verdict, verify};
    use chrono::DateTime;

    fn log(algorithm: SignatureAlgorithm) -> SignedLog {
        SignedLog {
            operation_type: "FinishTransaction".into(),
            client_id: "KASSE-01".into(),
            process_type: "Kassenbeleg-V1".into(),
            process_data: "Beleg^11.90_0.00_0.00_0.00_0.00^11.90:Bar".into(),
            transaction_number: 218,
            signature_counter: 437,
            log_time: DateTime::parse_from_rfc3339("2026-03-02T10:00:05Z")
                .unwrap()
                .to_utc(),
            algorithm,
            time_format: TimeFormat::UnixTime,
            signature: Vec::new(),
            public_key: Vec::new(),
            stated_serial: None,
        }
    }

    #[test]
    fn signatures_verify_on_the_right_curve_and_are_deterministic() {
        for (curve, expect, len) in [
            (TseCurve::P256, Curve::P256, 64),
            (TseCurve::BrainpoolP384r1, Curve::BrainpoolP384r1, 96),
        ] {
            let tse = TseSigner::from_seed(curve, b"register 1");
            let mut l = log(curve.algorithm());
            l.signature = tse.sign(&l);
            assert_eq!(l.signature.len(), len);
            assert_eq!(l.signature, tse.sign(&l));
            l.public_key = tse.public_key().to_vec();
            l.stated_serial = Some(crate::regime::kassensichv::logmsg::hex(tse.serial()));
            let v = verify(&l);
            assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
            assert_eq!(v.curve, Some(expect));

            l.process_data = l.process_data.replace("11.90", "11.80");
            assert_eq!(verify(&l).verdict, Verdict::Invalid);
        }
    }

    #[test]
    fn certificates_carry_the_key_and_verify_under_it() {
        use crate::regime::kassensichv::export::{ber, cert};
        use crate::regime::kassensichv::verify::verify_signed_bytes;
        for (curve, expect) in [
            (TseCurve::P256, Curve::P256),
            (TseCurve::BrainpoolP384r1, Curve::BrainpoolP384r1),
        ] {
            let tse = TseSigner::from_seed(curve, b"register 1");
            let der = tse.certificate("fiskal simulated TSE", "260101000000Z", "351231235959Z");
            assert_eq!(
                der,
                tse.certificate("fiskal simulated TSE", "260101000000Z", "351231235959Z")
            );
            let serial = crate::regime::kassensichv::logmsg::hex(tse.serial());
            let c = cert::read("c.der", &format!("{serial}_X509.der"), &der);
            assert!(c.problems.is_empty(), "{:?}", c.problems);
            assert_eq!(c.key_hash.as_deref(), Some(serial.as_str()));
            assert_eq!(c.curve, Some(expect));
            // The outer SEQUENCE holds TBSCertificate, algorithm and signature; the signature
            // verifies over the TBSCertificate's bytes with the certified key.
            let outer = ber::read(&der, 0).unwrap();
            assert_eq!(outer.raw.len(), der.len());
            let parts = ber::children(&outer).unwrap();
            assert_eq!(parts.len(), 3);
            let (sig, _) = ber::octets(&parts[2]).unwrap();
            // A BIT STRING with no unused bits holding the DER ECDSA-Sig-Value.
            assert_eq!(sig[0], 0);
            let rs = &sig[1..];
            let v = verify_signed_bytes(parts[0].raw, tse.public_key(), tse.algorithm(), rs);
            assert_eq!(v.verdict, Verdict::Valid, "{v:?}");
            let mut tampered = parts[0].raw.to_vec();
            let last = tampered.len() - 1;
            tampered[last] ^= 1;
            let v = verify_signed_bytes(&tampered, tse.public_key(), tse.algorithm(), rs);
            assert_eq!(v.verdict, Verdict::Invalid);
        }
    }

    #[test]
    fn seeds_give_distinct_keys() {
        let a = TseSigner::from_seed(TseCurve::P256, b"a");
        let b = TseSigner::from_seed(TseCurve::P256, b"b");
        assert_ne!(a.public_key(), b.public_key());
        assert_eq!(
            a.public_key(),
            TseSigner::from_seed(TseCurve::P256, b"a").public_key()
        );
        assert_eq!(a.public_key().len(), 65);
        assert_eq!(
            TseSigner::from_seed(TseCurve::BrainpoolP384r1, b"a")
                .public_key()
                .len(),
            97
        );
    }

    #[test]
    fn utc_time_signatures_verify_under_the_stated_format() {
        let tse = TseSigner::from_seed(TseCurve::BrainpoolP384r1, b"utc");
        let mut l = log(tse.algorithm());
        l.time_format = TimeFormat::UtcTime;
        l.signature = tse.sign(&l);
        l.public_key = tse.public_key().to_vec();
        let v = verify(&l);
        assert_eq!(v.verdict, Verdict::Valid);
        assert_eq!(v.matched.unwrap().time_format, TimeFormat::UtcTime);
        assert!(v.notes.is_empty());
    }
}
