//! RKSV cryptography (shared spec rksv.md §4): the ES256 receipt signature, the chaining value,
//! the AES-256-ICM turnover counter, keys from certificates and SubjectPublicKeyInfo, and the
//! FinanzOnline checksum of the AES key.
//!
//! Everything here is a pure function of its input. Hashing inputs are the UTF-8 bytes the
//! caller passes (§4.1); which receipt or string goes in is the DEP verifier's business.

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};

use crate::regime::kassensichv::export::ber;

/// First 8 bytes of SHA-256 over `input` (chaining value, Anlage Z 4).
pub fn chain_value(input: &[u8]) -> [u8; 8] {
    let digest = Sha256::digest(input);
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// IV of the turnover counter: SHA-256(UTF-8 cashbox_id || UTF-8 receipt_id)[0..16].
pub fn counter_iv(cashbox_id: &str, receipt_id: &str) -> [u8; 16] {
    // Plain concatenation without a separator, as the reference code does (§4.3).
    let mut h = Sha256::new();
    h.update(cashbox_id.as_bytes());
    h.update(receipt_id.as_bytes());
    let digest = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// Shortest and longest counter the verifiers accept (§4.3: Anlage minimum 5, ZTP and the
/// Prüfmodul up to 16).
const COUNTER_LEN: std::ops::RangeInclusive<usize> = 5..=16;

/// The first keystream block of AES-256-CTR with the whole IV as initial counter block. A
/// counter is at most one block long, so no later block is ever needed.
fn keystream(key: &[u8; 32], iv: &[u8; 16]) -> [u8; 16] {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let cipher = aes::Aes256::new(&(*key).into());
    let mut block = (*iv).into();
    cipher.encrypt_block(&mut block);
    block.into()
}

/// Decrypts a 5..=16-byte counter (AES-256 ICM: first block keystream = AES_k(IV), XOR) and sign-extends it (two's complement, big endian). None for a length outside 5..=16.
pub fn decrypt_counter(key: &[u8; 32], iv: &[u8; 16], ciphertext: &[u8]) -> Option<i128> {
    if !COUNTER_LEN.contains(&ciphertext.len()) {
        return None;
    }
    let ks = keystream(key, iv);
    let plain: Vec<u8> = ciphertext.iter().zip(ks).map(|(c, k)| c ^ k).collect();
    Some(from_twos_complement(&plain))
}

/// Encrypts `value` into `len` (5..=16) bytes; None when the length is out of range or the value does not fit.
pub fn encrypt_counter(key: &[u8; 32], iv: &[u8; 16], value: i128, len: usize) -> Option<Vec<u8>> {
    if !COUNTER_LEN.contains(&len) {
        return None;
    }
    let full = value.to_be_bytes();
    let plain = full.get(full.len().checked_sub(len)?..)?;
    // Truncating to `len` bytes keeps the value only if sign extension gives it back.
    if from_twos_complement(plain) != value {
        return None;
    }
    let ks = keystream(key, iv);
    Some(plain.iter().zip(ks).map(|(p, k)| p ^ k).collect())
}

/// Big-endian two's complement of at most 16 bytes, like Java's `new BigInteger(bytes)`.
fn from_twos_complement(bytes: &[u8]) -> i128 {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut full = if negative { [0xFF; 16] } else { [0; 16] };
    let start = full.len().saturating_sub(bytes.len());
    for (dst, src) in full.iter_mut().skip(start).zip(bytes) {
        *dst = *src;
    }
    i128::from_be_bytes(full)
}

/// A P-256 public key for ES256 verification.
///
/// The point is validated once by RustCrypto's p256 when the key is read; each signature is
/// then verified by ring, whose P-256 is about three times faster (spec rust-crates.md: 69 µs
/// against 194 µs), which decides how fast a DEP of millions of receipts is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// The uncompressed SEC1 point (65 bytes), on the curve.
    sec1: Vec<u8>,
}

impl PublicKey {
    /// From DER SubjectPublicKeyInfo (a crypto container's PUBLIC_KEY entry).
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
        p256::ecdsa::VerifyingKey::from_public_key_der(der)
            .map(|k| PublicKey {
                sec1: k.to_sec1_point(false).as_bytes().to_vec(),
            })
            .map_err(|e| format!("not a P-256 SubjectPublicKeyInfo: {e}"))
    }

    /// From an uncompressed SEC1 point (65 bytes).
    pub fn from_sec1(bytes: &[u8]) -> Result<PublicKey, String> {
        // Compressed points would decode too, but certificates and containers never carry
        // them; accepting only the documented form keeps key comparison byte-exact.
        if bytes.len() != 65 || bytes.first() != Some(&0x04) {
            return Err(format!(
                "not an uncompressed P-256 point (65 bytes starting 04): {} bytes",
                bytes.len()
            ));
        }
        p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .map(|_| PublicKey {
                sec1: bytes.to_vec(),
            })
            .map_err(|_| "point is not on the P-256 curve".to_string())
    }

    /// The uncompressed SEC1 point (65 bytes), the form [`PublicKey::from_sec1`] reads.
    pub fn to_sec1(&self) -> Vec<u8> {
        self.sec1.clone()
    }

    /// ES256: 64-byte r||s signature over `signing_input`. false for any other length or an invalid signature.
    pub fn verify_es256(&self, signing_input: &[u8], signature: &[u8]) -> bool {
        if signature.len() != 64 {
            return false;
        }
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            &self.sec1,
        )
        .verify(signing_input, signature)
        .is_ok()
    }
}

/// A certificate's serial number and public key, with what chain building needs: names,
/// the signed part and the issuer's signature over it.
#[derive(Debug, Clone)]
pub struct CertificateKey {
    /// Lowercase hex of the serial number without leading zeros, the form of receipt field 11
    /// (§4.5). A negative serial (early reference data had some) gets a leading `-` before the
    /// hex of its magnitude, as both reference implementations print it.
    pub serial_hex: String,
    /// The issuer Name as stored (DER, tag and length included), for chain building.
    pub issuer_der: Vec<u8>,
    /// The subject Name as stored (DER, tag and length included).
    pub subject_der: Vec<u8>,
    /// The key, or None when the certificate does not hold a P-256 key.
    pub key: Option<PublicKey>,
    /// SHA-256 of the whole certificate: two certificates are the same only if this is.
    pub fingerprint: [u8; 32],
    /// The TBSCertificate as stored, the bytes the issuer signed.
    pub tbs_der: Vec<u8>,
    /// The content of the signatureAlgorithm's OBJECT IDENTIFIER.
    pub signature_algorithm: Vec<u8>,
    /// The signatureValue's bits (for ECDSA a DER Ecdsa-Sig-Value).
    pub signature: Vec<u8>,
    /// The SubjectPublicKeyInfo as stored, whatever its algorithm: an issuer's key may be on
    /// a curve receipts never use.
    pub spki_der: Vec<u8>,
}

/// Reads an X.509 certificate (DER). Error text says what could not be read.
pub fn read_certificate(der: &[u8]) -> Result<CertificateKey, String> {
    let not_ber = |e: ber::BerError| format!("certificate is not DER: {e}");
    let cert = ber::read(der, 0).map_err(not_ber)?;
    if cert.tag != 0x30 {
        return Err(format!(
            "certificate does not start with a SEQUENCE (found tag 0x{:02X})",
            cert.tag
        ));
    }
    if cert.raw.len() != der.len() {
        return Err(format!(
            "{} bytes after the certificate's end",
            der.len().saturating_sub(cert.raw.len())
        ));
    }
    let parts = ber::children(&cert).map_err(not_ber)?;
    let tbs = parts
        .first()
        .filter(|t| t.tag == 0x30)
        .ok_or("certificate holds no TBSCertificate SEQUENCE")?;
    let fields = ber::children(tbs).map_err(not_ber)?;
    // RFC 5280 4.1: the version [0] is optional; the fields after it are positional.
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == 0xA0));
    let field = |idx: usize, tag: u8, name: &str| {
        fields
            .get(skip + idx)
            .filter(|f| f.tag == tag)
            .copied()
            .ok_or_else(|| format!("TBSCertificate has no {name} at its place"))
    };
    let serial = field(0, 0x02, "serial number INTEGER")?;
    let issuer = field(2, 0x30, "issuer Name")?;
    let subject = field(4, 0x30, "subject Name")?;
    let spki = field(5, 0x30, "SubjectPublicKeyInfo")?;
    // Keys are read from certificates whatever their signature; only a chain check needs it,
    // and there a missing one cannot verify.
    let (signature_algorithm, signature) = signature_parts(&parts).unwrap_or_default();
    Ok(CertificateKey {
        serial_hex: serial_hex(serial.content)?,
        issuer_der: issuer.raw.to_vec(),
        subject_der: subject.raw.to_vec(),
        key: PublicKey::from_spki_der(spki.raw).ok(),
        fingerprint: Sha256::digest(der).into(),
        tbs_der: tbs.raw.to_vec(),
        signature_algorithm,
        signature,
        spki_der: spki.raw.to_vec(),
    })
}

/// The signatureAlgorithm OID and the signatureValue bits after the TBSCertificate, when
/// both are there and the bits are whole octets (the leading unused-bits octet 0).
fn signature_parts(parts: &[ber::Tlv<'_>]) -> Option<(Vec<u8>, Vec<u8>)> {
    let algorithm = parts.get(1).filter(|a| a.tag == 0x30)?;
    let oid = ber::children(algorithm)
        .ok()?
        .into_iter()
        .next()
        .filter(|oid| oid.tag == 0x06)?;
    let bits = parts.get(2).filter(|b| b.tag == 0x03)?;
    match bits.content.split_first() {
        Some((0, signature)) => Some((oid.content.to_vec(), signature.to_vec())),
        _ => None,
    }
}

/// OID contents (DER, without tag and length) of the certificate signature algorithms a
/// chain can be checked with, and the digests they name.
const ECDSA_WITH_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
const ECDSA_WITH_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];
const ECDSA_WITH_SHA512: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04];

/// Whether `issuer`'s key verifies the signature over `cert`'s TBSCertificate. `Err` says why
/// it cannot be checked at all: an algorithm other than ECDSA with SHA-2, or an issuer key
/// on neither P-256 nor P-384 (every certificate of the conformance data is ECDSA P-256
/// with SHA-256; open systems' trust services use P-256 or P-384).
pub fn issued_by(cert: &CertificateKey, issuer: &CertificateKey) -> Result<bool, String> {
    use ecdsa::signature::hazmat::PrehashVerifier;
    let digest: Vec<u8> = match cert.signature_algorithm.as_slice() {
        [] => {
            return Err(format!(
                "certificate {} carries no signature",
                cert.serial_hex
            ));
        }
        ECDSA_WITH_SHA256 => Sha256::digest(&cert.tbs_der).to_vec(),
        ECDSA_WITH_SHA384 => sha2::Sha384::digest(&cert.tbs_der).to_vec(),
        ECDSA_WITH_SHA512 => sha2::Sha512::digest(&cert.tbs_der).to_vec(),
        other => {
            return Err(format!(
                "signature algorithm {} is not ECDSA with SHA-256, -384 or -512",
                ber::oid_text(other)
            ));
        }
    };
    if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(&issuer.spki_der) {
        let sig = p256::ecdsa::Signature::from_der(&cert.signature);
        return Ok(sig.is_ok_and(|s| key.verify_prehash(&digest, &s).is_ok()));
    }
    if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(&issuer.spki_der) {
        let sig = p384::ecdsa::Signature::from_der(&cert.signature);
        return Ok(sig.is_ok_and(|s| key.verify_prehash(&digest, &s).is_ok()));
    }
    Err(format!(
        "the key of issuer {} is neither P-256 nor P-384",
        issuer.serial_hex
    ))
}

/// The INTEGER content as field 11 writes it: hex of the value, no leading zeros.
fn serial_hex(content: &[u8]) -> Result<String, String> {
    let (&first, _) = content
        .split_first()
        .ok_or("serial number INTEGER is empty")?;
    let negative = first & 0x80 != 0;
    let magnitude = if negative {
        // Two's complement negation of the whole byte string.
        let mut bytes: Vec<u8> = content.iter().map(|b| !b).collect();
        for b in bytes.iter_mut().rev() {
            let (sum, carry) = b.overflowing_add(1);
            *b = sum;
            if !carry {
                break;
            }
        }
        bytes
    } else {
        content.to_vec()
    };
    let hex: String = magnitude.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    let digits = if trimmed.is_empty() { "0" } else { trimmed };
    Ok(if negative {
        format!("-{digits}")
    } else {
        digits.to_string()
    })
}

/// The FinanzOnline checksum of an AES key: standard Base64 (no '=') of SHA-256(ASCII of the Base64 key text)[0..3] (spec §4.6).
pub fn aes_key_checksum(base64_key: &str) -> String {
    // §4.6: the hash is over the Base64 text as typed, not over the 32 key bytes.
    let digest = Sha256::digest(base64_key.as_bytes());
    STANDARD_NO_PAD.encode(&digest[..3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::rksv::receipt::{self, Counter};
    use base64::engine::general_purpose::STANDARD;
    use proptest::prelude::*;

    const AES_KEY_B64: &str = "WQRtiiya3hYh/Uz44Bv3x8ETl1nrH6nCdErn69g5/lU=";
    const CLOSED_S1_DEP: &str = include_str!(
        "../../../fixtures/conformance/rksv/asit-example-0.7.1/closed-S1/dep-export.json"
    );
    const CLOSED_S1_CONTAINER: &str = include_str!(
        "../../../fixtures/conformance/rksv/asit-example-0.7.1/closed-S1/cryptographicMaterialContainer.json"
    );
    /// Open system, one group per certificate, serials of 8 and 16 bytes (one with the high
    /// bit set, so its DER INTEGER has a 00 pad byte).
    const OPEN_GROUPS_DEP: &str = include_str!(
        "../../../fixtures/conformance/rksv/generated/ztp/regkassen-test-cases-0.7.1-groups-splits/TESTSUITE_TEST_SZENARIO_2/open/dep-export0.json"
    );

    fn aes_key() -> [u8; 32] {
        STANDARD.decode(AES_KEY_B64).unwrap().try_into().unwrap()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Every compact receipt of a DEP7 file with the certificate of its group (either key
    /// name, §6), in order.
    fn dep_receipts(json: &str) -> Vec<(String, Option<Vec<u8>>)> {
        let dep: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut out = Vec::new();
        for group in dep["Belege-Gruppe"].as_array().unwrap() {
            let cert = ["Signaturzertifikat", "Signatur- bzw. Siegelzertifikat"]
                .iter()
                .filter_map(|k| group[k].as_str())
                .find(|s| !s.is_empty())
                .map(|s| STANDARD.decode(s).unwrap());
            for jws in group["Belege-kompakt"].as_array().unwrap() {
                out.push((jws.as_str().unwrap().to_string(), cert.clone()));
            }
        }
        out
    }

    fn closed_s1_receipt(n: usize) -> receipt::Receipt {
        let (jws, _) = &dep_receipts(CLOSED_S1_DEP)[n - 1];
        receipt::parse_jws(jws).unwrap()
    }

    /// §4.2 and §8: every Startbeleg of the register chains to SHA-256 of its id.
    #[test]
    fn chain_value_of_the_worked_example() {
        let v = chain_value(b"CASHBOX-DEMO-1");
        assert_eq!(hex(&v), "720f21354e6286da");
        assert_eq!(STANDARD.encode(v), "cg8hNU5ihto=");
        assert_eq!(closed_s1_receipt(1).chain, v);
    }

    /// §8: receipt #2 chains over the whole stored JWS of #1, header and signature included.
    #[test]
    fn chain_value_over_the_previous_jws() {
        let receipts = dep_receipts(CLOSED_S1_DEP);
        let second = receipt::parse_jws(&receipts[1].0).unwrap();
        assert_eq!(chain_value(receipts[0].0.as_bytes()), second.chain);
        assert_eq!(STANDARD.encode(second.chain), "DDl38rp8Qi8=");
        // Every later receipt of the official file chains the same way.
        for pair in receipts.windows(2) {
            let next = receipt::parse_jws(&pair[1].0).unwrap();
            assert_eq!(chain_value(pair[0].0.as_bytes()), next.chain);
        }
    }

    #[test]
    fn counter_iv_of_the_worked_example() {
        let iv = counter_iv("CASHBOX-DEMO-1", "CASHBOX-DEMO-1-Receipt-ID-1");
        assert_eq!(hex(&iv), "4229bc5028e623692c1e7ae498b47f3f");
        // No separator: moving a character across the boundary gives the same IV.
        assert_eq!(
            counter_iv("CASHBOX-DEMO-", "1CASHBOX-DEMO-1-Receipt-ID-1"),
            iv
        );
        assert_ne!(
            counter_iv("CASHBOX-DEMO-1", "CASHBOX-DEMO-1-Receipt-ID-2"),
            iv
        );
    }

    /// §4.3 and §8: the counters of the worked example.
    #[test]
    fn decrypts_the_worked_example_counters() {
        let key = aes_key();
        for (n, want) in [
            (1, 0),
            (2, 0),
            (6, 50501),
            (7, 50501),
            (11, 60243),
            (13, 97719),
        ] {
            let r = closed_s1_receipt(n);
            let Counter::Encrypted(ct) = &r.counter else {
                panic!("receipt #{n} has no encrypted counter: {:?}", r.counter)
            };
            let iv = counter_iv(&r.cashbox_id, &r.receipt_id);
            assert_eq!(decrypt_counter(&key, &iv, ct), Some(want), "receipt #{n}");
        }
        let first = closed_s1_receipt(1);
        assert_eq!(
            first.counter,
            Counter::Encrypted(vec![0xe2, 0xbd, 0x62, 0x21, 0xd6, 0x46])
        );
        // The wrong IV gives garbage, not 0.
        let Counter::Encrypted(ct) = &first.counter else {
            unreachable!()
        };
        let wrong_iv = counter_iv("CASHBOX-DEMO-1", "CASHBOX-DEMO-1-Receipt-ID-2");
        assert_ne!(decrypt_counter(&key, &wrong_iv, ct), Some(0));
    }

    /// §8: the last receipt of closed-S1 carries the file's final counter.
    #[test]
    fn final_counter_of_closed_s1() {
        let key = aes_key();
        let last = dep_receipts(CLOSED_S1_DEP)
            .iter()
            .map(|(jws, _)| receipt::parse_jws(jws).unwrap())
            .rfind(|r| matches!(r.counter, Counter::Encrypted(_)))
            .unwrap();
        let Counter::Encrypted(ct) = &last.counter else {
            unreachable!()
        };
        let iv = counter_iv(&last.cashbox_id, &last.receipt_id);
        assert_eq!(decrypt_counter(&key, &iv, ct), Some(1324168));
    }

    #[test]
    fn counter_lengths_outside_5_to_16_are_refused() {
        let key = aes_key();
        let iv = [7u8; 16];
        for len in [0, 1, 4, 17, 32] {
            assert_eq!(decrypt_counter(&key, &iv, &vec![0; len]), None, "len {len}");
            assert_eq!(encrypt_counter(&key, &iv, 0, len), None, "len {len}");
        }
        assert!(decrypt_counter(&key, &iv, &[0; 5]).is_some());
        assert!(decrypt_counter(&key, &iv, &[0; 16]).is_some());
    }

    #[test]
    fn encrypt_reproduces_the_official_ciphertext() {
        let iv = counter_iv("CASHBOX-DEMO-1", "CASHBOX-DEMO-1-Receipt-ID-1");
        let ct = encrypt_counter(&aes_key(), &iv, 0, 6).unwrap();
        assert_eq!(STANDARD.encode(ct), "4r1iIdZG");
    }

    #[test]
    fn values_that_do_not_fit_are_refused() {
        let key = aes_key();
        let iv = [1u8; 16];
        let max5 = (1i128 << 39) - 1;
        let min5 = -(1i128 << 39);
        assert!(encrypt_counter(&key, &iv, max5, 5).is_some());
        assert!(encrypt_counter(&key, &iv, min5, 5).is_some());
        assert_eq!(encrypt_counter(&key, &iv, max5 + 1, 5), None);
        assert_eq!(encrypt_counter(&key, &iv, min5 - 1, 5), None);
        assert!(encrypt_counter(&key, &iv, i128::MIN, 16).is_some());
        assert!(encrypt_counter(&key, &iv, i128::MAX, 16).is_some());
        assert_eq!(
            encrypt_counter(&key, &iv, i128::from(i64::MAX) + 1, 8),
            None
        );
    }

    #[test]
    fn negative_counters_are_sign_extended() {
        let key = aes_key();
        let iv = [9u8; 16];
        let ct = encrypt_counter(&key, &iv, -1, 8).unwrap();
        // The plaintext is all ones; decryption must read it as -1, not 2^64 - 1.
        let ks = keystream(&key, &iv);
        let plain: Vec<u8> = ct.iter().zip(ks).map(|(c, k)| c ^ k).collect();
        assert_eq!(plain, vec![0xFF; 8]);
        assert_eq!(decrypt_counter(&key, &iv, &ct), Some(-1));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn counter_round_trip_5_bytes(v in -(1i128 << 39)..(1i128 << 39), iv in any::<[u8; 16]>()) {
            let ct = encrypt_counter(&aes_key(), &iv, v, 5).unwrap();
            prop_assert_eq!(ct.len(), 5);
            prop_assert_eq!(decrypt_counter(&aes_key(), &iv, &ct), Some(v));
        }

        #[test]
        fn counter_round_trip_8_bytes(v in any::<i64>(), iv in any::<[u8; 16]>()) {
            let ct = encrypt_counter(&aes_key(), &iv, i128::from(v), 8).unwrap();
            prop_assert_eq!(ct.len(), 8);
            prop_assert_eq!(decrypt_counter(&aes_key(), &iv, &ct), Some(i128::from(v)));
        }

        #[test]
        fn counter_round_trip_16_bytes(v in any::<i128>(), iv in any::<[u8; 16]>()) {
            let ct = encrypt_counter(&aes_key(), &iv, v, 16).unwrap();
            prop_assert_eq!(ct.len(), 16);
            prop_assert_eq!(decrypt_counter(&aes_key(), &iv, &ct), Some(v));
        }

        /// Arbitrary certificate bytes are read or refused, never a panic.
        #[test]
        fn arbitrary_certificate_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_certificate(&bytes);
            let _ = PublicKey::from_spki_der(&bytes);
            let _ = PublicKey::from_sec1(&bytes);
        }
    }

    /// The keys of closed-S1's crypto container by id (§4.7, PUBLIC_KEY entries).
    fn container_keys(json: &str) -> Vec<(String, PublicKey)> {
        let c: serde_json::Value = serde_json::from_str(json).unwrap();
        c["certificateOrPublicKeyMap"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(id, entry)| {
                assert_eq!(entry["id"].as_str(), Some(id.as_str()));
                assert_eq!(entry["signatureDeviceType"].as_str(), Some("PUBLIC_KEY"));
                let der = STANDARD
                    .decode(entry["signatureCertificateOrPublicKey"].as_str().unwrap())
                    .unwrap();
                (id.clone(), PublicKey::from_spki_der(&der).unwrap())
            })
            .collect()
    }

    /// §8: every signed receipt of closed-S1 verifies under the key named by its field 11.
    #[test]
    fn closed_s1_signatures_verify_under_the_container_keys() {
        let keys = container_keys(CLOSED_S1_CONTAINER);
        assert_eq!(keys.len(), 3);
        let (mut n_verified, mut n_failed_device) = (0, 0);
        for (jws, _) in dep_receipts(CLOSED_S1_DEP) {
            let r = receipt::parse_jws(&jws).unwrap();
            let (_, key) = keys.iter().find(|(id, _)| *id == r.serial).unwrap();
            if r.device_failed() {
                n_failed_device += 1;
                assert!(!key.verify_es256(r.signing_input().as_bytes(), &r.signature));
                continue;
            }
            assert!(
                key.verify_es256(r.signing_input().as_bytes(), &r.signature),
                "{}",
                r.receipt_id
            );
            // Any other device's key must not verify it.
            for (id, other) in &keys {
                if *id != r.serial {
                    assert!(!other.verify_es256(r.signing_input().as_bytes(), &r.signature));
                }
            }
            n_verified += 1;
        }
        assert_eq!(n_verified + n_failed_device, 81);
        assert!(
            n_verified > 40 && n_failed_device > 10,
            "{n_verified} {n_failed_device}"
        );
    }

    #[test]
    fn tampered_payload_or_signature_fails() {
        let keys = container_keys(CLOSED_S1_CONTAINER);
        let r = closed_s1_receipt(13); // a signed standard receipt
        let (_, key) = keys.iter().find(|(id, _)| *id == r.serial).unwrap();
        let input = r.signing_input();
        assert!(key.verify_es256(input.as_bytes(), &r.signature));

        let mut tampered = r.clone();
        tampered.payload = r.payload.replace("19,30", "19,31");
        assert_ne!(tampered.payload, r.payload);
        assert!(!key.verify_es256(tampered.signing_input().as_bytes(), &r.signature));

        let mut sig = r.signature.clone();
        sig[10] ^= 1;
        assert!(!key.verify_es256(input.as_bytes(), &sig));
        // Wrong lengths, including a DER-encoded signature's typical size, are refused.
        assert!(!key.verify_es256(input.as_bytes(), &r.signature[..63]));
        assert!(!key.verify_es256(input.as_bytes(), &[r.signature.clone(), vec![0]].concat()));
        assert!(!key.verify_es256(input.as_bytes(), &[0u8; 64]));
    }

    /// Open system: each group's certificate carries the serial written in field 11 of its
    /// receipts and verifies them (§4.5).
    #[test]
    fn open_group_certificates_match_and_verify_their_receipts() {
        let mut serials = std::collections::BTreeSet::new();
        let mut n_verified = 0;
        for (jws, cert) in dep_receipts(OPEN_GROUPS_DEP) {
            let cert = read_certificate(&cert.unwrap()).unwrap();
            let r = receipt::parse_jws(&jws).unwrap();
            assert_eq!(cert.serial_hex, r.serial);
            assert!(!cert.issuer_der.is_empty() && !cert.subject_der.is_empty());
            serials.insert(cert.serial_hex.clone());
            let key = cert.key.as_ref().unwrap();
            if r.device_failed() {
                continue;
            }
            assert!(key.verify_es256(r.signing_input().as_bytes(), &r.signature));
            n_verified += 1;
        }
        assert!(n_verified >= 8, "{n_verified}");
        let serials: Vec<_> = serials.into_iter().collect();
        assert_eq!(
            serials,
            [
                "1a2b3c4d5e6f7001",
                "3f206c6bc2ce49159186807c43392ecf",
                "dff5fd8002914560b3c130401324f1d9",
            ]
        );
    }

    /// The self-signed test certificate names itself as issuer; the intermediate-issued ones
    /// do not.
    #[test]
    fn certificate_names_are_read() {
        let mut self_signed = 0;
        for (_, cert) in dep_receipts(OPEN_GROUPS_DEP) {
            let c = read_certificate(&cert.unwrap()).unwrap();
            assert_eq!(c.subject_der[0], 0x30);
            assert_eq!(c.issuer_der[0], 0x30);
            if c.issuer_der == c.subject_der {
                assert_eq!(c.serial_hex, "1a2b3c4d5e6f7001");
                self_signed += 1;
            }
        }
        assert!(self_signed > 0);
    }

    #[test]
    fn serial_hex_strips_padding_and_handles_negatives() {
        assert_eq!(serial_hex(&[0x00, 0xdf, 0xf5]).unwrap(), "dff5");
        assert_eq!(serial_hex(&[0x01, 0x02]).unwrap(), "102");
        assert_eq!(serial_hex(&[0x00]).unwrap(), "0");
        assert_eq!(serial_hex(&[0xFF]).unwrap(), "-1");
        assert_eq!(serial_hex(&[0x80]).unwrap(), "-80");
        assert_eq!(serial_hex(&[0xFE, 0xFF]).unwrap(), "-101");
        assert!(serial_hex(&[]).is_err());
    }

    #[test]
    fn broken_certificates_are_errors_that_say_what() {
        let (_, cert) = &dep_receipts(OPEN_GROUPS_DEP)[0];
        let der = cert.clone().unwrap();
        assert!(read_certificate(&der).is_ok());
        let e = read_certificate(&der[..der.len() - 1]).unwrap_err();
        assert!(e.contains("not DER"), "{e}");
        let e = read_certificate(&[der.clone(), vec![0]].concat()).unwrap_err();
        assert!(e.contains("after the certificate"), "{e}");
        let e = read_certificate(&[0x02, 0x01, 0x01]).unwrap_err();
        assert!(e.contains("SEQUENCE"), "{e}");
        let e = read_certificate(&[0x30, 0x03, 0x02, 0x01, 0x01]).unwrap_err();
        assert!(e.contains("TBSCertificate"), "{e}");
        let e = read_certificate(&[0x30, 0x04, 0x30, 0x02, 0x05, 0x00]).unwrap_err();
        assert!(e.contains("serial number"), "{e}");
    }

    #[test]
    fn non_p256_key_gives_none() {
        // A minimal TBSCertificate whose SPKI is an RSA key: serial, names read, key None.
        let rsa_spki = [
            0x30, 0x1c, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01,
            0x01, 0x05, 0x00, 0x03, 0x0b, 0x00, 0x30, 0x08, 0x02, 0x03, 0x01, 0x00, 0x01, 0x02,
            0x01, 0x03,
        ];
        let mut tbs = vec![0xA0, 0x03, 0x02, 0x01, 0x02]; // version v3
        tbs.extend([0x02, 0x02, 0x00, 0x9a]); // serial 0x9a, padded
        tbs.extend([0x30, 0x00]); // signature algorithm (never read)
        tbs.extend([0x30, 0x02, 0x05, 0x00]); // issuer
        tbs.extend([0x30, 0x00]); // validity (never read)
        tbs.extend([0x30, 0x00]); // subject
        tbs.extend(rsa_spki);
        let mut tbs_seq = vec![0x30, tbs.len() as u8];
        tbs_seq.extend(&tbs);
        let mut cert = vec![0x30, tbs_seq.len() as u8];
        cert.extend(&tbs_seq);
        let c = read_certificate(&cert).unwrap();
        assert_eq!(c.serial_hex, "9a");
        assert!(c.key.is_none());
        assert_eq!(c.issuer_der, vec![0x30, 0x02, 0x05, 0x00]);
        assert_eq!(c.subject_der, vec![0x30, 0x00]);
    }

    #[test]
    fn sec1_and_spki_give_the_same_key() {
        let spki_b64 = serde_json::from_str::<serde_json::Value>(CLOSED_S1_CONTAINER).unwrap()
            ["certificateOrPublicKeyMap"]["U:ATU12345678-K1"]["signatureCertificateOrPublicKey"]
            .as_str()
            .unwrap()
            .to_string();
        let der = STANDARD.decode(spki_b64).unwrap();
        let from_spki = PublicKey::from_spki_der(&der).unwrap();
        // A P-256 SPKI ends with the 65-byte uncompressed point.
        let point = &der[der.len() - 65..];
        let from_sec1 = PublicKey::from_sec1(point).unwrap();
        assert_eq!(from_spki, from_sec1);
        let r = closed_s1_receipt(1);
        assert!(from_sec1.verify_es256(r.signing_input().as_bytes(), &r.signature));

        assert!(PublicKey::from_sec1(&point[..64]).is_err());
        let mut off_curve = point.to_vec();
        off_curve[64] ^= 1;
        assert!(PublicKey::from_sec1(&off_curve).is_err());
        assert!(PublicKey::from_spki_der(&der[..der.len() - 1]).is_err());
        assert!(PublicKey::from_spki_der(point).is_err());
    }

    /// §4.6 example.
    #[test]
    fn aes_key_checksum_example() {
        assert_eq!(aes_key_checksum(AES_KEY_B64), "omRR");
        assert_eq!(hex(&Sha256::digest(AES_KEY_B64.as_bytes())[..3]), "a26451");
        // Over the text, so a differently padded spelling of the same key differs.
        assert_ne!(aes_key_checksum(AES_KEY_B64.trim_end_matches('=')), "omRR");
    }
}
