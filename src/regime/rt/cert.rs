//! X.509 certificates of RT seals: the RSA key that verifies a daily closing's signature, the
//! names that tell a device certificate from another seal, and the chain to the Agenzia delle
//! Entrate's CA (shared spec `rt.md` §1.5).
//!
//! Certificates are read with the BER reader of the TSE exports
//! (`kassensichv::export::ber`), which bounds nesting and reports every malformation with
//! its offset. Keys and certificate signatures are RSA PKCS#1 v1.5, verified by ring: the AdE
//! CAs sign with SHA-256 (the older test and response CAs with SHA-1), devices hold 2048-bit
//! keys. A chain is built by names and each link's signature verified; revocation is not
//! looked at (no CRL is available offline) and validity is reported against the closing's
//! time by the caller, as the spec's step 6 suggests.

use chrono::{NaiveDate, NaiveDateTime};
use sha2::{Digest, Sha256};

use crate::regime::kassensichv::export::ber::{self, BerError, Tlv};
use crate::regime::pem;

/// Longest chain followed from the signer to a CA. AdE issues device certificates directly
/// from its CA; the bound only stops a crafted ring of certificates.
const MAX_CHAIN: usize = 4;

const OID_RSA_ENCRYPTION: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01];
const OID_SHA1_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x05];
const OID_SHA256_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0B];
const OID_SHA384_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0C];
const OID_SHA512_RSA: &[u8] = &[0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x0D];

/// Attribute types of the names RT certificates carry (X.520).
pub const OID_CN: &[u8] = &[0x55, 0x04, 0x03];
/// countryName.
pub const OID_C: &[u8] = &[0x55, 0x04, 0x06];
/// organizationName.
pub const OID_O: &[u8] = &[0x55, 0x04, 0x0A];
/// organizationalUnitName.
pub const OID_OU: &[u8] = &[0x55, 0x04, 0x0B];

/// The subject of every RT device certificate but its CN (spec §1.5, and all three device
/// certificates of the conformance samples): AdE issues it for the matricola in the CSR.
pub const DEVICE_OU: &str = "Servizio AE Corrispettivi IVA";
/// See [`DEVICE_OU`].
pub const DEVICE_O: &str = "Agenzia delle Entrate";
/// See [`DEVICE_OU`].
pub const DEVICE_C: &str = "IT";

/// A distinguished name: its DER as stored and its attributes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The Name as stored (tag and length included).
    pub der: Vec<u8>,
    /// (attribute type OID content, value as text), in RDN order.
    pub attributes: Vec<(Vec<u8>, String)>,
}

impl Name {
    /// The first value of attribute type `oid`.
    pub fn get(&self, oid: &[u8]) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(o, _)| o == oid)
            .map(|(_, v)| v.as_str())
    }

    /// Whether two names are the same: equal DER, or (RFC 5280 §7.1, simplified) the same
    /// attribute types in the same order with values equal up to case and runs of spaces.
    pub fn matches(&self, other: &Name) -> bool {
        if self.der == other.der {
            return true;
        }
        let fold = |s: &str| {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        self.attributes.len() == other.attributes.len()
            && self
                .attributes
                .iter()
                .zip(&other.attributes)
                .all(|((oa, va), (ob, vb))| oa == ob && fold(va) == fold(vb))
    }
}

impl std::fmt::Display for Name {
    /// RFC 4514 order (last RDN first), the form XML-DSig's X509SubjectName uses.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .attributes
            .iter()
            .rev()
            .map(|(oid, value)| {
                let key = match oid.as_slice() {
                    OID_CN => "CN".to_string(),
                    OID_C => "C".into(),
                    OID_O => "O".into(),
                    OID_OU => "OU".into(),
                    [0x55, 0x04, 0x07] => "L".into(),
                    [0x55, 0x04, 0x08] => "ST".into(),
                    [0x55, 0x04, 0x05] => "SERIALNUMBER".into(),
                    [0x55, 0x04, 0x61] => "organizationIdentifier".into(),
                    other => ber::oid_text(other),
                };
                let escaped: String = value
                    .chars()
                    .flat_map(|c| {
                        let esc = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=');
                        esc.then_some('\\').into_iter().chain(std::iter::once(c))
                    })
                    .collect();
                format!("{key}={escaped}")
            })
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// An RSA public key: the RSAPublicKey DER ring verifies with, and its modulus size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaKey {
    /// RSAPublicKey (PKCS#1) DER.
    pub der: Vec<u8>,
    /// Bits of the modulus.
    pub bits: usize,
}

/// The digest of an RSA PKCS#1 v1.5 signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    /// SHA-1 (legacy: the AdE test CA and the 2011 AdE CA sign their own certificates so).
    Sha1,
    /// SHA-256, what RT seals and device certificates use.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl RsaKey {
    /// Whether `signature` is this key's RSA PKCS#1 v1.5 signature of `message` with `hash`.
    /// `Err` when the key cannot verify at all: ring refuses moduli under 2048 bits (and
    /// over 8192), so such a key is reported as such, never as a wrong signature.
    pub fn verify(&self, hash: Hash, message: &[u8], signature: &[u8]) -> Result<bool, String> {
        use ring::signature as rs;
        if !(2048..=8192).contains(&self.bits) {
            return Err(format!(
                "RSA key of {} bits: only 2048 to 8192 bits are verified",
                self.bits
            ));
        }
        let alg: &dyn rs::VerificationAlgorithm = match hash {
            Hash::Sha1 => &rs::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Hash::Sha256 => &rs::RSA_PKCS1_2048_8192_SHA256,
            Hash::Sha384 => &rs::RSA_PKCS1_2048_8192_SHA384,
            Hash::Sha512 => &rs::RSA_PKCS1_2048_8192_SHA512,
        };
        Ok(rs::UnparsedPublicKey::new(alg, &self.der)
            .verify(message, signature)
            .is_ok())
    }
}

/// What of a certificate the RT checks need.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// Lowercase hex of the serial number as stored (two's complement, no sign handling:
    /// it only identifies the certificate in messages).
    pub serial_hex: String,
    /// The issuer.
    pub issuer: Name,
    /// The subject.
    pub subject: Name,
    /// notBefore, UTC.
    pub not_before: NaiveDateTime,
    /// notAfter, UTC.
    pub not_after: NaiveDateTime,
    /// The key, or `None` when it is not RSA.
    pub key: Option<RsaKey>,
    /// Dotted OID of the key's algorithm, for messages when it is not RSA.
    pub key_algorithm: String,
    /// The TBSCertificate as stored: what the issuer signed.
    pub tbs_der: Vec<u8>,
    /// The signatureAlgorithm OID's content.
    pub signature_algorithm: Vec<u8>,
    /// The signatureValue's octets.
    pub signature: Vec<u8>,
    /// SHA-256 of the whole DER: two certificates are the same only if this is.
    pub fingerprint: [u8; 32],
}

/// Whether a certificate is an AdE device certificate or another seal (a merchant's or an
/// auditor's, as on a closing fiskal rebuilt).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerKind {
    /// Subject `CN=…, OU=Servizio AE Corrispettivi IVA, O=Agenzia delle Entrate, C=IT`.
    Device,
    /// Any other subject.
    OtherSeal,
}

impl SignerKind {
    /// How people read it.
    pub fn name(self) -> &'static str {
        match self {
            SignerKind::Device => "device",
            SignerKind::OtherSeal => "other seal",
        }
    }
}

impl Certificate {
    /// The subject's CN.
    pub fn common_name(&self) -> Option<&str> {
        self.subject.get(OID_CN)
    }

    /// [`SignerKind::Device`] when the subject has exactly the four attributes of an AdE
    /// device certificate (CN any, the others as in [`DEVICE_OU`]); whether the CN is the
    /// right matricola is a separate check.
    pub fn signer_kind(&self) -> SignerKind {
        let s = &self.subject;
        let device = s.attributes.len() == 4
            && s.get(OID_CN).is_some()
            && s.get(OID_OU) == Some(DEVICE_OU)
            && s.get(OID_O) == Some(DEVICE_O)
            && s.get(OID_C) == Some(DEVICE_C);
        if device {
            SignerKind::Device
        } else {
            SignerKind::OtherSeal
        }
    }

    /// "RSA 2048" or the algorithm's OID.
    pub fn key_description(&self) -> String {
        match &self.key {
            Some(k) => format!("RSA {}", k.bits),
            None => format!("not RSA (algorithm {})", self.key_algorithm),
        }
    }
}

/// Reads a DER certificate. The error says what could not be read.
pub fn read(der: &[u8]) -> Result<Certificate, String> {
    let not_der = |e: BerError| format!("not DER: {e}");
    let cert = ber::read(der, 0).map_err(not_der)?;
    if cert.tag != 0x30 || cert.raw.len() != der.len() {
        return Err("not one DER SEQUENCE".into());
    }
    let parts = ber::children(&cert).map_err(not_der)?;
    let [tbs, algorithm, value] = parts.as_slice() else {
        return Err(format!(
            "{} parts where a certificate has 3 (TBSCertificate, algorithm, signature)",
            parts.len()
        ));
    };
    if tbs.tag != 0x30 || algorithm.tag != 0x30 || value.tag != 0x03 {
        return Err("not TBSCertificate, AlgorithmIdentifier, BIT STRING".into());
    }
    let fields = ber::children(tbs).map_err(not_der)?;
    // RFC 5280 §4.1: the version [0] is optional; the fields after it are positional.
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == 0xA0));
    let field = |idx: usize, tag: u8, what: &str| {
        fields
            .get(skip + idx)
            .filter(|f| f.tag == tag)
            .copied()
            .ok_or_else(|| format!("TBSCertificate has no {what} at its place"))
    };
    let serial = field(0, 0x02, "serialNumber")?;
    let issuer = field(2, 0x30, "issuer")?;
    let validity = field(3, 0x30, "validity")?;
    let subject = field(4, 0x30, "subject")?;
    let spki = field(5, 0x30, "subjectPublicKeyInfo")?;
    let (not_before, not_after) = read_validity(&validity)?;
    let (key, key_algorithm) = read_spki(&spki)?;
    Ok(Certificate {
        serial_hex: serial.content.iter().map(|b| format!("{b:02x}")).collect(),
        issuer: read_name(&issuer)?,
        subject: read_name(&subject)?,
        not_before,
        not_after,
        key,
        key_algorithm,
        tbs_der: tbs.raw.to_vec(),
        signature_algorithm: first_oid(algorithm).unwrap_or_default(),
        signature: match value.content.split_first() {
            Some((0, bits)) => bits.to_vec(),
            _ => Vec::new(),
        },
        fingerprint: Sha256::digest(der).into(),
    })
}

fn first_oid(seq: &Tlv<'_>) -> Option<Vec<u8>> {
    let kids = ber::children(seq).ok()?;
    kids.first()
        .filter(|o| o.tag == 0x06)
        .map(|o| o.content.to_vec())
}

fn read_name(tlv: &Tlv<'_>) -> Result<Name, String> {
    let mut attributes = Vec::new();
    for rdn in ber::children(tlv).map_err(|e| format!("name: {e}"))? {
        for atv in ber::children(&rdn).map_err(|e| format!("name: {e}"))? {
            let parts = ber::children(&atv).map_err(|e| format!("name: {e}"))?;
            let [oid, value] = parts.as_slice() else {
                return Err("name: an attribute is not (type, value)".into());
            };
            if oid.tag != 0x06 {
                return Err("name: an attribute type is not an OID".into());
            }
            attributes.push((oid.content.to_vec(), directory_string(value)));
        }
    }
    Ok(Name {
        der: tlv.raw.to_vec(),
        attributes,
    })
}

/// The text of a DirectoryString or similar; unknown types as hex, so names still compare.
fn directory_string(v: &Tlv<'_>) -> String {
    match v.tag {
        // UTF8String, PrintableString, IA5String, NumericString, VisibleString.
        0x0C | 0x13 | 0x16 | 0x12 | 0x1A => String::from_utf8_lossy(v.content).into_owned(),
        // TeletexString: read as Latin-1, as most software does.
        0x14 => v.content.iter().map(|b| char::from(*b)).collect(),
        // BMPString: UTF-16BE.
        0x1E => {
            let units: Vec<u16> = v
                .content
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            String::from_utf16_lossy(&units)
        }
        // UniversalString: UTF-32BE.
        0x1C => v
            .content
            .chunks(4)
            .map(|c| {
                let mut b = [0u8; 4];
                b[..c.len()].copy_from_slice(c);
                char::from_u32(u32::from_be_bytes(b)).unwrap_or('\u{FFFD}')
            })
            .collect(),
        _ => format!(
            "#{}",
            v.content
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ),
    }
}

fn read_validity(tlv: &Tlv<'_>) -> Result<(NaiveDateTime, NaiveDateTime), String> {
    let kids = ber::children(tlv).map_err(|e| format!("validity: {e}"))?;
    let [from, to] = kids.as_slice() else {
        return Err("validity is not (notBefore, notAfter)".into());
    };
    Ok((read_time(from)?, read_time(to)?))
}

/// RFC 5280 §4.1.2.5: UTCTime YYMMDDHHMMSSZ (years 50–99 are 19xx) or GeneralizedTime
/// YYYYMMDDHHMMSSZ.
fn read_time(tlv: &Tlv<'_>) -> Result<NaiveDateTime, String> {
    let text = std::str::from_utf8(tlv.content).map_err(|_| "time is not ASCII")?;
    let bad = || format!("time {text:?} is not as RFC 5280 writes it");
    let digits = text.strip_suffix('Z').ok_or_else(bad)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (year, rest) = match (tlv.tag, digits.len()) {
        (0x17, 12) => {
            let yy: i32 = digits[..2].parse().map_err(|_| bad())?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &digits[2..])
        }
        (0x18, 14) => (digits[..4].parse().map_err(|_| bad())?, &digits[4..]),
        _ => return Err(bad()),
    };
    let n = |i: usize| rest[i..i + 2].parse::<u32>().map_err(|_| bad());
    let (month, day, hour, minute, second) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(hour, minute, second))
        .ok_or_else(bad)
}

/// The RSA key of a SubjectPublicKeyInfo, or `None` with the algorithm's OID.
fn read_spki(tlv: &Tlv<'_>) -> Result<(Option<RsaKey>, String), String> {
    let kids = ber::children(tlv).map_err(|e| format!("subjectPublicKeyInfo: {e}"))?;
    let [algorithm, bits] = kids.as_slice() else {
        return Err("subjectPublicKeyInfo is not (algorithm, key)".into());
    };
    let oid = first_oid(algorithm).ok_or("subjectPublicKeyInfo has no algorithm OID")?;
    let text = ber::oid_text(&oid);
    if oid != OID_RSA_ENCRYPTION {
        return Ok((None, text));
    }
    let der = match bits.content.split_first() {
        Some((0, der)) if bits.tag == 0x03 => der,
        _ => return Err("the RSA key is not a BIT STRING of whole octets".into()),
    };
    let key = ber::read(der, 0).map_err(|e| format!("RSAPublicKey: {e}"))?;
    let parts = ber::children(&key).map_err(|e| format!("RSAPublicKey: {e}"))?;
    let [modulus, _exponent] = parts.as_slice() else {
        return Err("RSAPublicKey is not (modulus, exponent)".into());
    };
    let significant = modulus.content.iter().skip_while(|b| **b == 0).count();
    let bits = modulus
        .content
        .iter()
        .find(|b| **b != 0)
        .map_or(0, |b| significant * 8 - b.leading_zeros() as usize);
    Ok((
        Some(RsaKey {
            der: key.raw.to_vec(),
            bits,
        }),
        text,
    ))
}

/// Whether `issuer`'s key verifies `cert`'s signature. `Err` says why it cannot be checked
/// at all (an algorithm other than RSA PKCS#1 v1.5 with SHA-1/2, a key that is not RSA).
pub fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<bool, String> {
    let hash = match cert.signature_algorithm.as_slice() {
        OID_SHA1_RSA => Hash::Sha1,
        OID_SHA256_RSA => Hash::Sha256,
        OID_SHA384_RSA => Hash::Sha384,
        OID_SHA512_RSA => Hash::Sha512,
        other => {
            return Err(format!(
                "signature algorithm {} is not RSA PKCS#1 v1.5 with SHA-1 or SHA-2",
                ber::oid_text(other)
            ));
        }
    };
    let key = issuer
        .key
        .as_ref()
        .ok_or_else(|| format!("the issuer's key is {}", issuer.key_description()))?;
    key.verify(hash, &cert.tbs_der, &cert.signature)
}

/// How a certificate stands against the CAs given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chain {
    /// It is a CA given, or issued by one through valid links: the anchor's subject.
    Trusted {
        /// The CA it chains to.
        anchor: String,
    },
    /// No certificate known has its issuer's name.
    UnknownIssuer {
        /// The issuer named.
        issuer: String,
    },
    /// A certificate of the issuer's name is known but does not verify the signature, or
    /// cannot: the first such link.
    Broken {
        /// The certificate whose signature fails.
        subject: String,
        /// The issuer by name.
        issuer: String,
        /// Why.
        reason: String,
    },
}

/// Follows `cert` to one of `anchors` through `pool` (other certificates the file carries).
/// Any path to an anchor wins; failing that, the first broken link is what an auditor must
/// see, and only without one is the issuer merely unknown.
pub fn chain(cert: &Certificate, pool: &[Certificate], anchors: &[Certificate]) -> Chain {
    let mut seen = Vec::new();
    walk(cert, pool, anchors, 0, &mut seen).unwrap_or_else(|| Chain::UnknownIssuer {
        issuer: cert.issuer.to_string(),
    })
}

fn walk(
    cert: &Certificate,
    pool: &[Certificate],
    anchors: &[Certificate],
    depth: usize,
    seen: &mut Vec<[u8; 32]>,
) -> Option<Chain> {
    if let Some(a) = anchors.iter().find(|a| a.fingerprint == cert.fingerprint) {
        return Some(Chain::Trusted {
            anchor: a.subject.to_string(),
        });
    }
    if depth >= MAX_CHAIN || seen.contains(&cert.fingerprint) {
        return None;
    }
    seen.push(cert.fingerprint);
    let mut broken = None;
    let candidates = anchors
        .iter()
        .map(|a| (a, true))
        .chain(pool.iter().map(|c| (c, false)))
        .filter(|(c, _)| c.subject.matches(&cert.issuer) && c.fingerprint != cert.fingerprint);
    for (issuer, is_anchor) in candidates {
        let link = match issued_by(cert, issuer) {
            Ok(true) if is_anchor => {
                return Some(Chain::Trusted {
                    anchor: issuer.subject.to_string(),
                });
            }
            Ok(true) => walk(issuer, pool, anchors, depth + 1, seen),
            Ok(false) => Some(Chain::Broken {
                subject: cert.subject.to_string(),
                issuer: issuer.subject.to_string(),
                reason: "the issuer's key does not verify the certificate's signature".into(),
            }),
            Err(reason) => Some(Chain::Broken {
                subject: cert.subject.to_string(),
                issuer: issuer.subject.to_string(),
                reason,
            }),
        };
        match link {
            Some(t @ Chain::Trusted { .. }) => return Some(t),
            Some(b) => {
                broken.get_or_insert(b);
            }
            None => {}
        }
    }
    broken
}

/// Reads the certificates of a CA file: DER (one or more one after the other) or PEM (every
/// `CERTIFICATE` block). The error says which certificate and what is wrong.
pub fn read_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, String> {
    let ders = if bytes.first() == Some(&0x30) {
        pem::der_sequence(bytes)?
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect()
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| "neither DER nor PEM")?;
        pem::blocks(text, "CERTIFICATE")?
    };
    let out = ders
        .iter()
        .enumerate()
        .map(|(i, der)| read(der).map_err(|e| format!("certificate {}: {e}", i + 1)))
        .collect::<Result<Vec<_>, _>>()?;
    if out.is_empty() {
        return Err("no certificate in it (DER or PEM)".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;

    const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/conformance/rt/ca/");

    fn ca(name: &str) -> Certificate {
        let mut certs = read_certificates(&std::fs::read(format!("{CA}{name}")).unwrap()).unwrap();
        assert_eq!(certs.len(), 1);
        certs.remove(0)
    }

    #[test]
    fn production_ca_is_read_with_its_names_key_and_validity() {
        let c = ca("prod_ca_servizio_ae_corrispettivi_iva.pem");
        assert_eq!(
            c.subject.to_string(),
            "CN=CA Servizio AE Corrispettivi IVA,OU=Servizio AE Corrispettivi IVA,O=Agenzia delle Entrate,C=IT"
        );
        assert!(c.subject.matches(&c.issuer));
        assert_eq!(c.serial_hex, "0da78a905ba2cbe6");
        assert_eq!(c.key_description(), "RSA 4096");
        assert_eq!(c.not_before.to_string(), "2016-06-01 15:41:01");
        assert_eq!(c.not_after.to_string(), "2031-06-01 15:41:01");
        // The CA's subject has the device form (OU, O, C and a CN): the kind is decided by
        // the subject alone, and the CN check is what rejects a CN that is no matricola.
        assert_eq!(c.signer_kind(), SignerKind::Device);
        // Self-signed with SHA-256 (its own signature verifies with its own key).
        assert_eq!(issued_by(&c, &c), Ok(true));
    }

    #[test]
    fn sha1_self_signed_test_ca_verifies_and_a_foreign_key_does_not() {
        let sogei = ca("test_ca_sogei_test.pem");
        assert_eq!(sogei.subject.to_string(), "CN=CA Sogei Test,O=Sogei,C=IT");
        assert_eq!(sogei.signer_kind(), SignerKind::OtherSeal);
        assert_eq!(issued_by(&sogei, &sogei), Ok(true));
        let prod = ca("prod_ca_servizio_ae_corrispettivi_iva.pem");
        assert_eq!(issued_by(&sogei, &prod), Ok(false));
    }

    #[test]
    fn chain_reports_unknown_issuer_and_broken_link() {
        let prod = ca("prod_ca_servizio_ae_corrispettivi_iva.pem");
        let sogei = ca("test_ca_sogei_test.pem");
        assert_eq!(
            chain(&prod, &[], std::slice::from_ref(&prod)),
            Chain::Trusted {
                anchor: prod.subject.to_string()
            }
        );
        assert_eq!(
            chain(&sogei, &[], std::slice::from_ref(&prod)),
            Chain::UnknownIssuer {
                issuer: "CN=CA Sogei Test,O=Sogei,C=IT".into()
            }
        );
        // A look-alike: another certificate whose subject is the issuer's name.
        let mut fake = prod.clone();
        fake.subject = sogei.subject.clone();
        fake.fingerprint = [7; 32];
        let mut leaf = sogei.clone();
        leaf.fingerprint = [9; 32];
        match chain(&leaf, &[], &[fake]) {
            Chain::Broken { reason, .. } => assert!(reason.contains("does not verify"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn pem_and_der_files_read_alike_and_junk_is_an_error() {
        let pem =
            std::fs::read(format!("{CA}test_sogei_certification_authority_test.pem")).unwrap();
        let from_pem = read_certificates(&pem).unwrap();
        let text = std::str::from_utf8(&pem).unwrap();
        let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = B64.decode(body).unwrap();
        let mut two = der.clone();
        two.extend(&der);
        let from_der = read_certificates(&two).unwrap();
        assert_eq!(from_der.len(), 2);
        assert_eq!(from_der[0].fingerprint, from_pem[0].fingerprint);
        assert!(
            read_certificates(b"hello")
                .unwrap_err()
                .contains("no certificate")
        );
        assert!(
            read_certificates(&der[..100])
                .unwrap_err()
                .starts_with("certificate 1")
        );
    }

    #[test]
    fn times_follow_rfc_5280() {
        let t = |tag: u8, s: &str| {
            let mut der = vec![tag, s.len() as u8];
            der.extend(s.as_bytes());
            read_time(&ber::read(&der, 0).unwrap()).map(|t| t.to_string())
        };
        assert_eq!(t(0x17, "490101000000Z").unwrap(), "2049-01-01 00:00:00");
        assert_eq!(t(0x17, "500101000000Z").unwrap(), "1950-01-01 00:00:00");
        assert_eq!(t(0x18, "20310601154101Z").unwrap(), "2031-06-01 15:41:01");
        assert!(t(0x17, "501301000000Z").is_err());
        assert!(t(0x17, "5001010000Z").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Arbitrary bytes, and a real certificate with one byte changed, are read or
        /// refused, never a panic.
        #[test]
        fn arbitrary_certificates_never_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            idx in 0usize..1500,
            byte in proptest::prelude::any::<u8>(),
        ) {
            let _ = read_certificates(&bytes);
            let pem = std::fs::read(format!("{CA}prod_ca_servizio_ae_corrispettivi_iva.pem")).unwrap();
            let body: String = std::str::from_utf8(&pem).unwrap().lines().filter(|l| !l.starts_with("-----")).collect();
            let mut der = B64.decode(body).unwrap();
            let i = idx % der.len();
            der[i] = byte;
            if let Ok(c) = read(&der) {
                let _ = issued_by(&c, &c);
                let _ = c.subject.to_string();
            }
        }
    }
}
