//! [`verify`]: one daily closing file from bytes to a [`Report`], the library call behind
//! `fiskal verify rt-xml` (and behind tests of the closings fiskal rebuilds and seals).
//!
//! It parses (`xml`), checks the document as a closing (`cor10`), replays the seal (`dsig`)
//! and judges the signer's certificate (`cert`): the chain to the CAs of [`Options::anchors`]
//! when there are any, the kind of signer, the CN against the device serial, the validity at
//! the closing's time. Bad data never makes it fail: everything wrong is a finding, and what
//! could not be checked says so in the report.

use chrono::{NaiveDateTime, TimeZone};

use super::cert::{self, Certificate, Chain, SignerKind};
use super::cor10::{self, Closing, Finding};
use super::dsig::{self, Status};
use super::xml;
use crate::model::Severity;

/// What to verify against.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Trusted CA certificates (`--ca`). Empty: the chain is not checked and the report says
    /// [`ChainStatus::NotChecked`].
    pub anchors: Vec<Certificate>,
    /// The device serial (matricola) the certificate's CN must be (`--serial`). Without it,
    /// Trasmissione/Dispositivo/IdDispositivo is used when present.
    pub serial: Option<String>,
}

/// The signer as reported.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Signer {
    /// Device certificate or another seal.
    pub kind: SignerKind,
    /// Subject, RFC 4514 order.
    pub subject: String,
    /// Issuer, RFC 4514 order.
    pub issuer: String,
    /// Serial number (hex).
    pub serial_number: String,
    /// notBefore (UTC).
    pub not_before: NaiveDateTime,
    /// notAfter (UTC).
    pub not_after: NaiveDateTime,
    /// "RSA 2048".
    pub key: String,
}

/// The chain's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ChainStatus {
    /// No CA was given, or there was no certificate.
    NotChecked,
    /// Chains to this CA.
    Trusted {
        /// The CA's subject.
        anchor: String,
    },
    /// Does not chain (RTX020 or RTX021 says why).
    Untrusted,
}

/// Where the serial the CN was compared with came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SerialSource {
    /// [`Options::serial`].
    Option,
    /// Trasmissione/Dispositivo/IdDispositivo.
    IdDispositivo,
}

/// The serial the CN was compared with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExpectedSerial {
    /// The matricola.
    pub value: String,
    /// Where it came from.
    pub source: SerialSource,
}

/// The result of verifying one file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// Every finding, ordered by code, then as found.
    pub findings: Vec<Finding>,
    /// The digest of the signed document.
    pub digest: Status,
    /// The signature over SignedInfo.
    pub signature: Status,
    /// The signing certificate, when one could be read.
    pub signer: Option<Signer>,
    /// The chain to [`Options::anchors`].
    pub chain: ChainStatus,
    /// The serial the CN was compared with, if any (device certificates only).
    pub expected_serial: Option<ExpectedSerial>,
    /// The closing's values, when the root is a DatiCorrispettivi.
    #[serde(skip)]
    pub closing: Option<Closing>,
}

impl Report {
    /// Findings of error severity.
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    /// Findings of warning severity.
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }

    /// Whether the seal verified (digest and signature valid) and nothing is an error.
    pub fn is_valid(&self) -> bool {
        self.errors() == 0 && self.digest == Status::Valid && self.signature == Status::Valid
    }

    /// The codes of the findings, in order (for tests and summaries).
    pub fn codes(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.code).collect()
    }
}

/// Verifies one daily closing file.
pub fn verify(bytes: &[u8], options: &Options) -> Report {
    let mut report = Report {
        findings: Vec::new(),
        digest: Status::NotChecked,
        signature: Status::NotChecked,
        signer: None,
        chain: ChainStatus::NotChecked,
        expected_serial: None,
        closing: None,
    };
    let doc = match xml::parse(bytes) {
        Ok(doc) => doc,
        Err(e) => {
            report.findings.push(Finding::new(
                "RTX001",
                "",
                Some(e.line),
                "well-formed UTF-8 XML 1.0 with namespaces, without DOCTYPE",
                format!("line {}, column {}: {}", e.line, e.column, e.message),
            ));
            return report;
        }
    };
    let mut findings = Vec::new();
    let closing = cor10::examine(&doc, &mut findings);
    let replay = dsig::replay(&doc, &mut findings);
    report.digest = replay.digest;
    report.signature = replay.signature;
    if let Some(cert) = &replay.signer {
        let (path, line) = replay
            .signer_at
            .clone()
            .unwrap_or_else(|| (format!("/{}", doc.root.qname()), doc.root.line));
        let at = At { path: &path, line };
        report.chain = chain(cert, &replay.others, options, at, &mut findings);
        report.expected_serial = identity(cert, closing.as_ref(), options, at, &mut findings);
        validity(cert, closing.as_ref(), at, &mut findings);
        report.signer = Some(Signer {
            kind: cert.signer_kind(),
            subject: cert.subject.to_string(),
            issuer: cert.issuer.to_string(),
            serial_number: cert.serial_hex.clone(),
            not_before: cert.not_before,
            not_after: cert.not_after,
            key: cert.key_description(),
        });
    }
    findings.sort_by_key(|f| f.code);
    report.findings = findings;
    report.closing = closing;
    report
}

/// Where certificate findings point: the X509Certificate element.
#[derive(Clone, Copy)]
struct At<'a> {
    path: &'a str,
    line: usize,
}

impl At<'_> {
    fn finding(
        self,
        code: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Finding {
        Finding::new(code, self.path, Some(self.line), expected, found)
    }
}

/// Step 5a: the chain to the CAs given (RTX020, RTX021).
fn chain(
    cert: &Certificate,
    others: &[Certificate],
    options: &Options,
    at: At<'_>,
    out: &mut Vec<Finding>,
) -> ChainStatus {
    if options.anchors.is_empty() {
        return ChainStatus::NotChecked;
    }
    match cert::chain(cert, others, &options.anchors) {
        Chain::Trusted { anchor } => ChainStatus::Trusted { anchor },
        Chain::UnknownIssuer { issuer } => {
            out.push(at.finding(
                "RTX020",
                format!(
                    "a certificate issued by a CA given with --ca ({} given)",
                    options.anchors.len()
                ),
                format!("issuer {issuer}, not among them"),
            ));
            ChainStatus::Untrusted
        }
        Chain::Broken {
            subject,
            issuer,
            reason,
        } => {
            out.push(at.finding(
                "RTX021",
                format!("the signature of {issuer} on the certificate of {subject}"),
                reason,
            ));
            ChainStatus::Untrusted
        }
    }
}

/// Whether `s` has the form of a matricola (spec §2.1): `^[0-9A-Z]{2}[A-Z][0-9A-Z]{2}[0-9]{6}$`.
pub fn is_matricola(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum = |c: &u8| c.is_ascii_digit() || c.is_ascii_uppercase();
    b.len() == 11
        && b[..2].iter().all(alnum)
        && b[2].is_ascii_uppercase()
        && b[3..5].iter().all(alnum)
        && b[5..].iter().all(u8::is_ascii_digit)
}

/// Step 5b: signer kind (RTX025) and, for device certificates, CN = matricola (RTX022,
/// RTX023).
fn identity(
    cert: &Certificate,
    closing: Option<&Closing>,
    options: &Options,
    at: At<'_>,
    out: &mut Vec<Finding>,
) -> Option<ExpectedSerial> {
    if cert.signer_kind() == SignerKind::OtherSeal {
        out.push(at.finding(
            "RTX025",
            format!(
                "an RT device certificate (CN=matricola,OU={},O={},C={})",
                cert::DEVICE_OU,
                cert::DEVICE_O,
                cert::DEVICE_C
            ),
            format!("subject {}", cert.subject),
        ));
        return None;
    }
    let cn = cert.common_name().unwrap_or_default();
    let expected = match (
        &options.serial,
        closing.and_then(|c| c.id_dispositivo.as_ref()),
    ) {
        (Some(s), _) => Some(ExpectedSerial {
            value: s.trim().to_string(),
            source: SerialSource::Option,
        }),
        (None, Some(id)) => Some(ExpectedSerial {
            value: id.trim().to_string(),
            source: SerialSource::IdDispositivo,
        }),
        (None, None) => None,
    };
    match &expected {
        Some(e) if e.value != cn => {
            let from = match e.source {
                SerialSource::Option => "--serial",
                SerialSource::IdDispositivo => "IdDispositivo",
            };
            out.push(at.finding(
                "RTX022",
                format!("CN={} ({from})", e.value),
                format!("CN={cn}"),
            ));
        }
        Some(_) => {}
        None if !is_matricola(cn) => out.push(at.finding(
            "RTX023",
            "a CN of the matricola's form ^[0-9A-Z]{2}[A-Z][0-9A-Z]{2}[0-9]{6}$",
            format!("CN={cn}"),
        )),
        None => {}
    }
    expected
}

/// Step 6: the closing's time within the certificate's validity (RTX024). A time without
/// offset is Italian local time, where RTs are used.
fn validity(cert: &Certificate, closing: Option<&Closing>, at: At<'_>, out: &mut Vec<Finding>) {
    let Some(text) = closing.and_then(|c| c.data_ora_rilevazione.as_deref()) else {
        return;
    };
    let Some(t) = cor10::parse_datetime(text) else {
        return;
    };
    let utc = match t.offset_minutes {
        Some(m) => t
            .local
            .checked_sub_signed(chrono::TimeDelta::minutes(i64::from(m))),
        None => chrono_tz::Europe::Rome
            .from_local_datetime(&t.local)
            .earliest()
            .map(|d| d.naive_utc()),
    };
    let Some(utc) = utc else {
        return;
    };
    if utc < cert.not_before || utc > cert.not_after {
        out.push(at.finding(
            "RTX024",
            format!(
                "DataOraRilevazione within {} – {} UTC",
                cert.not_before, cert.not_after
            ),
            format!("{text} ({utc} UTC)"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &[u8] = include_bytes!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/conformance/rt/samples/dati/RT_7CIMG990005_24_02_2020__16_16_07_5.xml"
    ));

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// A signed closing with bytes changed, inserted or removed goes through every check
        /// without a panic, and a report that calls itself valid has a valid seal and no
        /// error.
        #[test]
        fn damaged_closings_never_panic(edits in prop::collection::vec((0usize..4000, any::<u8>(), 0u8..3), 1..4)) {
            let mut bytes = SAMPLE.to_vec();
            for (idx, byte, op) in edits {
                let i = idx % bytes.len().max(1);
                match op {
                    0 if !bytes.is_empty() => bytes[i] = byte,
                    1 => bytes.insert(i.min(bytes.len()), byte),
                    _ if !bytes.is_empty() => { bytes.remove(i); }
                    _ => {}
                }
            }
            let r = verify(&bytes, &Options::default());
            if r.is_valid() {
                prop_assert_eq!(r.errors(), 0);
                prop_assert_eq!((r.digest, r.signature), (Status::Valid, Status::Valid));
            }
            for f in &r.findings {
                prop_assert!(cor10::check(f.code).is_some());
            }
        }
    }

    #[test]
    fn matricola_form() {
        for ok in [
            "7CIMG990005",
            "72MAA000001",
            "80M08002493",
            "99MEY026532",
            "96IAB000123",
        ] {
            assert!(is_matricola(ok), "{ok}");
        }
        for bad in [
            "7C1MG990005",
            "7CIMG99000",
            "7CIMG9900051",
            "7cimg990005",
            "7CIMG99000A",
            "",
            "7CIMGé90005",
        ] {
            assert!(!is_matricola(bad), "{bad}");
        }
    }
}
