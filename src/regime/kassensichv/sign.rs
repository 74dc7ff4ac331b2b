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
        let digest = self.algorithm().digest(&tbs);
        // The digest has the curve's size and the key is valid, so signing cannot fail.
        match &self.key {
            SigningKey::P256(k) => {
                let s: ecdsa::Signature<p256::NistP256> = k
                    .sign_prehash(&digest)
                    .expect("a valid key signs a digest of the curve's size");
                s.to_bytes().to_vec()
            }
            SigningKey::Bp384(k) => {
                let s: ecdsa::Signature<bp384::BrainpoolP384r1> = k
                    .sign_prehash(&digest)
                    .expect("a valid key signs a digest of the curve's size");
                s.to_bytes().to_vec()
            }
        }
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
