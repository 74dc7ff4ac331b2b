//! The certificates of a TSE export: the key each holds, the curve it names, and whether the
//! file name states that key's hash.
//!
//! Only the SubjectPublicKeyInfo is read; chains and validity periods are out of scope (spec
//! §11). Reading is lenient because real test certificates carry oddities (a non-positive
//! serial number, a curve OID OpenSSL refuses, spec §5) that must not stop the log check: the
//! TBSCertificate is walked by position, and a certificate that cannot be read is a problem
//! of that certificate, not an error of the export.

use base64::Engine;
use serde::Serialize;

use super::ber;
use super::names::certificate_hash;
use crate::regime::kassensichv::logmsg::hex;
use crate::regime::kassensichv::qr::B64;
use crate::regime::kassensichv::verify::{Curve, PublicKey};

/// One certificate file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Certificate {
    /// Its path in the archive.
    pub file: String,
    /// SHA-256 of its public key point, lower-case hex: the serial of the TSE it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_hash: Option<String>,
    /// The curve its SubjectPublicKeyInfo names, if fiskal knows the OID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    /// The SubjectPublicKeyInfo as stored (what the log signatures are verified with).
    #[serde(skip)]
    pub spki: Option<Vec<u8>>,
    /// What is wrong with it: unreadable, or a name that does not state its key hash.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// Reads the certificate `file` (DER, or PEM by its `-----BEGIN` line) with base name `base`.
pub fn read(file: &str, base: &str, bytes: &[u8]) -> Certificate {
    let mut cert = Certificate {
        file: file.to_string(),
        key_hash: None,
        curve: None,
        spki: None,
        problems: Vec::new(),
    };
    let key = der(bytes).and_then(|der| {
        let spki = spki(&der)?.to_vec();
        let key = PublicKey::read(&spki)?;
        Ok((spki, key))
    });
    let (spki, key) = match key {
        Ok(k) => k,
        Err(p) => {
            cert.problems
                .push(format!("cannot read the public key: {p}"));
            return cert;
        }
    };
    let key_hash = hex(&key.serial());
    match certificate_hash(base) {
        Some(named) if named != key_hash => cert.problems.push(format!(
            "file name states key hash {named}, but SHA-256 of the certificate's public key point is {key_hash}"
        )),
        Some(_) => {}
        None => cert.problems.push(
            "file name does not state the key hash (<SHA-256 of the key point, hex>_X509.<ext>)"
                .to_string(),
        ),
    }
    cert.key_hash = Some(key_hash);
    cert.curve = key.named_curve;
    cert.spki = Some(spki);
    cert
}

/// The DER bytes: as stored, or decoded from PEM.
fn der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) if t.trim_start().starts_with("-----BEGIN") => t,
        _ => return Ok(bytes.to_vec()),
    };
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    B64.decode(body)
        .map_err(|e| format!("PEM body is not Base64: {e}"))
}

/// The SubjectPublicKeyInfo element: the seventh field of the TBSCertificate when the
/// optional `[0]` version is present, else the sixth (RFC 5280 4.1).
fn spki(der: &[u8]) -> Result<&[u8], String> {
    let cert = ber::read(der, 0).map_err(|e| format!("not BER: {e}"))?;
    let tbs = ber::children(&cert)
        .map_err(|e| format!("not BER: {e}"))?
        .into_iter()
        .next()
        .filter(|t| cert.tag == 0x30 && t.tag == 0x30)
        .ok_or("not an X.509 certificate (no TBSCertificate SEQUENCE)")?;
    let fields = ber::children(&tbs).map_err(|e| format!("not BER: {e}"))?;
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == 0xA0));
    fields
        .get(skip + 5)
        .filter(|f| f.tag == 0x30)
        .map(|f| f.raw)
        .ok_or_else(|| "no SubjectPublicKeyInfo at its place in the TBSCertificate".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal certificate shape: TBSCertificate with version, five placeholder fields and
    /// the SPKI; signature algorithm and value left out (never read).
    fn cert_with(spki: &[u8], version: bool) -> Vec<u8> {
        let mut tbs = Vec::new();
        if version {
            tbs.extend([0xA0, 0x03, 0x02, 0x01, 0x02]);
        }
        tbs.extend([0x02, 0x01, 0x00]); // a non-positive serial, as one D-Trust test cert has
        for _ in 0..4 {
            tbs.extend([0x30, 0x00]);
        }
        tbs.extend(spki);
        let mut tbs_seq = vec![0x30, 0x81, tbs.len() as u8];
        tbs_seq.extend(tbs);
        let mut out = vec![0x30, 0x81, tbs_seq.len() as u8];
        out.extend(tbs_seq);
        out
    }

    /// The SPKI of the fiskaltrust P-256 vector (spec §7).
    fn p256_spki() -> Vec<u8> {
        B64.decode("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAENFFPGk1vDk92IL6tjsVQ6kpwc4TCsYNNGGoc0cN4dUPQZwOo2tuQlrQAVvMfO+XHWsnphAtN5cUbIwdtMk/Z6g==").unwrap()
    }

    const P256_HASH: &str = "ea2d4edbd67e3c13b893219870da0b48f40a8885bbdc34fe5fde6717f98214bc";

    #[test]
    fn reads_the_key_and_checks_the_name() {
        let der = cert_with(&p256_spki(), true);
        let name = format!("{}_X509.der", P256_HASH.to_ascii_uppercase());
        let c = read(&format!("dir/{name}"), &name, &der);
        assert_eq!(c.problems, Vec::<String>::new());
        assert_eq!(c.key_hash.as_deref(), Some(P256_HASH));
        assert_eq!(c.curve, Some(Curve::P256));
        assert_eq!(c.spki, Some(p256_spki()));
        assert_eq!(c.file, format!("dir/{name}"));

        let c = read(
            "x",
            &format!("{}_X509.der", "0".repeat(64)),
            &cert_with(&p256_spki(), false),
        );
        assert_eq!(c.key_hash.as_deref(), Some(P256_HASH));
        assert!(
            c.problems[0].contains("file name states key hash 0000"),
            "{c:?}"
        );
        assert!(read("x", "ca.der", &der).problems[0].contains("does not state the key hash"));
    }

    #[test]
    fn pem_is_accepted() {
        let der = cert_with(&p256_spki(), true);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            B64.encode(&der)
        );
        let c = read("c.pem", &format!("{P256_HASH}_X509.pem"), pem.as_bytes());
        assert_eq!(
            (c.key_hash.as_deref(), c.problems.len()),
            (Some(P256_HASH), 0)
        );
    }

    #[test]
    fn unreadable_certificates_are_problems_not_errors() {
        for bytes in [
            &b""[..],
            b"garbage",
            &[0x30, 0x03, 0x02, 0x01, 0x01],
            &[0x30, 0x80],
        ] {
            let c = read("c.der", "c.der", bytes);
            assert!(c.key_hash.is_none());
            assert!(
                c.problems[0].starts_with("cannot read the public key"),
                "{c:?}"
            );
        }
    }
}
