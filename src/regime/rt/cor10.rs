//! The daily closing (`DatiCorrispettivi`, format COR10) checked as the tracciato 7.0 schema
//! and the arithmetic of shared spec `rt.md` §1.2–§1.4 require, and the catalog of every check
//! `fiskal verify rt-xml` runs ([`CHECKS`]; docs/rt-verify.md is generated from it).
//!
//! [`examine`] walks a parsed document: the root, then the schema's content model element by
//! element (`schema`, hand-written from `CorrispettiviTypes_v1.0.xsd` and tested against it),
//! then reads the values it needs into a [`Closing`] (`closing`, with the checks the XSD
//! cannot express) and checks its sums (`arithmetic`).
//! [`compare`] lists how two closings differ. Amounts are `Decimal`, never floats; a value
//! that does not fit its type is reported once, by the schema check, and left out of the
//! sums. Signature and certificate checks live in `dsig` and `cert`; their codes are here so
//! that one catalog documents them all.

mod arithmetic;
mod closing;
mod compare;
mod schema;

pub use compare::compare;
pub(crate) use schema::parse_datetime;

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::xml::{Document, Element};
use crate::model::Severity;
use crate::validate::catalog::Rule as Check;

/// Namespace of the daily closing's root element (spec §1.1); its children are unqualified.
pub const DATI_NS: &str =
    "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0";

const READ: &str = "Reading the file";
const SIGNATURE: &str = "Signature (XML-DSig replay)";
const CERTIFICATE: &str = "Certificate";
const STRUCTURE: &str = "Structure (XSD, tracciato 7.0)";
const ARITHMETIC: &str = "Arithmetic";
const COMPARE: &str = "Comparison with another file (--compare)";

const XSD: &str = "CorrispettiviTypes_v1.0.xsd (tracciato 7.0, fixtures/conformance/rt/xsd/)";

/// Every check of `fiskal verify rt-xml`, in documentation order.
pub static CHECKS: &[Check] = &[
    Check {
        code: "RTX001",
        family: READ,
        severity: Severity::Error,
        title: "The file is not well-formed XML that fiskal reads",
        rationale: "A daily closing is a UTF-8 XML 1.0 document with namespaces. Anything else (broken markup, an undeclared prefix, another encoding, a DOCTYPE, nesting deeper than 64 levels) cannot be canonicalised the way the device did, so nothing else is checked. The finding names the line and column.",
        source: "spec rt.md §1.1 (encoding UTF-8), §1.5 (C14N 1.0); XML 1.0, Namespaces in XML 1.0",
    },
    Check {
        code: "RTX002",
        family: READ,
        severity: Severity::Error,
        title: "The root element is not DatiCorrispettivi in the corrispettivi/dati/v1.0 namespace",
        rationale: "The schema's only global element is DatiCorrispettivi in http://ivaservizi.agenziaentrate.gov.it/docs/xsd/corrispettivi/dati/v1.0 (any prefix). Another root is another document (an outcome, a lottery batch, the AdE portal's export): its structure and sums are not checked; its signature still is.",
        source: "spec rt.md §1.1; XSD element DatiCorrispettivi",
    },
    Check {
        code: "RTX010",
        family: SIGNATURE,
        severity: Severity::Error,
        title: "The root has no ds:Signature child, or more than one",
        rationale: "The RT seals every daily closing with one enveloped XML-DSig signature, the last child of the root. Without it the file is not what a device sent (the AdE portal's export has none); with two it is not known which the device made.",
        source: "spec rt.md §1.5 (placement), §1.1 (flavours); XSD DatiCorrispettiviType (ds:Signature required)",
    },
    Check {
        code: "RTX011",
        family: SIGNATURE,
        severity: Severity::Error,
        title: "The signature lacks an element the replay needs, or a value is not Base64",
        rationale: "Replaying the seal needs SignedInfo with CanonicalizationMethod, SignatureMethod and exactly one Reference (Transforms, DigestMethod, DigestValue), then SignatureValue and KeyInfo/X509Data/X509Certificate: the RT carries its certificate in the file. DigestValue, SignatureValue and the certificate are Base64.",
        source: "spec rt.md §1.5 (Reference, KeyInfo); W3C XML-DSig §4",
    },
    Check {
        code: "RTX012",
        family: SIGNATURE,
        severity: Severity::Error,
        title: "An algorithm or reference is not the RT seal's",
        rationale: "RT seals use inclusive C14N 1.0, the enveloped-signature transform (optionally followed by an explicit C14N 1.0 transform), SHA-256 and RSA-SHA256 over Reference URI=\"\". Anything else is not what the AdE accepts and is not replayed; the finding names what was found.",
        source: "spec rt.md §1.5 (table)",
    },
    Check {
        code: "RTX013",
        family: SIGNATURE,
        severity: Severity::Error,
        title: "The digest does not match the document",
        rationale: "SHA-256 of the canonical document without its signature, recomputed, differs from DigestValue: the content was changed after it was sealed (one digit suffices). Expected is the recomputed digest, found the stored one.",
        source: "spec rt.md §1.5 replay steps 2–3; W3C XML-DSig §3.2.1",
    },
    Check {
        code: "RTX014",
        family: SIGNATURE,
        severity: Severity::Error,
        title: "The SignatureValue does not verify with the certificate's key",
        rationale: "RSA PKCS#1 v1.5 with SHA-256 over the canonical SignedInfo (in its original context, so the namespaces in scope of its ancestors are part of it) fails with the key of the embedded certificate: SignedInfo was changed, or another key signed. Reported separately from the digest, which it does not cover.",
        source: "spec rt.md §1.5 replay step 4; W3C XML-DSig §3.2.2",
    },
    Check {
        code: "RTX015",
        family: SIGNATURE,
        severity: Severity::Error,
        title: "The certificate cannot be read or holds no RSA key",
        rationale: "X509Certificate must be a DER X.509 certificate with an RSA key (RT devices hold 2048-bit keys); without one the signature cannot be verified.",
        source: "spec rt.md §1.5 (KeyInfo, signature)",
    },
    Check {
        code: "RTX020",
        family: CERTIFICATE,
        severity: Severity::Error,
        title: "The certificate does not chain to a CA given with --ca",
        rationale: "No certificate given with --ca (nor another one in the file) has the name of the certificate's issuer. A device certificate is issued by the AdE CA (production: CA Servizio AE Corrispettivi IVA); one that is not was not issued to an RT in service. Checked only with --ca.",
        source: "spec rt.md §1.5 (issuing CA), §3 (offline checks)",
    },
    Check {
        code: "RTX021",
        family: CERTIFICATE,
        severity: Severity::Error,
        title: "A CA of the issuer's name does not verify the certificate",
        rationale: "The CA's RSA key does not verify the signature over the certificate's TBSCertificate (or the algorithm is not RSA PKCS#1 v1.5 with SHA-1/SHA-2): a look-alike certificate, or the wrong CA file. Checked only with --ca.",
        source: "spec rt.md §1.5; RFC 5280 §6.1",
    },
    Check {
        code: "RTX022",
        family: CERTIFICATE,
        severity: Severity::Error,
        title: "The device certificate's CN is not the device serial (matricola)",
        rationale: "AdE issues each device certificate for its matricola: CN = matricola. The serial compared is --serial when given, else Trasmissione/Dispositivo/IdDispositivo. Only for device certificates (another seal's CN is a company's name).",
        source: "spec rt.md §1.5 (device certificate), §3 item 1, §6 (rt_serial)",
    },
    Check {
        code: "RTX023",
        family: CERTIFICATE,
        severity: Severity::Warning,
        title: "The device certificate's CN does not look like a matricola",
        rationale: "Without a serial to compare with, the CN is checked against the form of every matricola observed: 11 characters, ^[0-9A-Z]{2}[A-Z][0-9A-Z]{2}[0-9]{6}$. The form is derived from observed serials, not an official text, hence a warning.",
        source: "spec rt.md §2.1 (matricola RT)",
    },
    Check {
        code: "RTX024",
        family: CERTIFICATE,
        severity: Severity::Warning,
        title: "The closing is dated outside the certificate's validity",
        rationale: "DataOraRilevazione (read as Italian time when it has no offset) is before notBefore or after notAfter of the signing certificate. A device cannot have sealed a closing before it had its certificate; the laboratory samples show it happens with re-signed test files, so it is reported, not failed.",
        source: "spec rt.md §1.5 replay step 6 (optional)",
    },
    Check {
        code: "RTX025",
        family: CERTIFICATE,
        severity: Severity::Info,
        title: "The file is sealed by another seal, not by an RT device certificate",
        rationale: "The signing certificate's subject is not CN=…, OU=Servizio AE Corrispettivi IVA, O=Agenzia delle Entrate, C=IT: a merchant's or auditor's seal, as on a closing fiskal rebuilt from operations. Its signature is checked all the same; the CN checks do not apply.",
        source: "spec rt.md §1.5 (device certificate)",
    },
    Check {
        code: "RTX030",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "versione is missing or not COR10, or simulazione is not \"true\"",
        rationale: "The root requires versione, whose only value is COR10; simulazione is optional with the fixed value true.",
        source: "spec rt.md §1.1; XSD DatiCorrispettiviType attributes, FormatoTrasmissioneType",
    },
    Check {
        code: "RTX031",
        family: STRUCTURE,
        severity: Severity::Warning,
        title: "The closing is a simulation (simulazione=\"true\")",
        rationale: "A simulation file is test data of a device in test mode; a production closing has no simulazione attribute.",
        source: "spec rt.md §1.1, §3 item 1",
    },
    Check {
        code: "RTX032",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "A required element is missing",
        rationale: "Every element the schema declares without minOccurs=\"0\" must be there, in its place (Trasmissione, DataOraRilevazione, Ammontare, AliquotaIVA and Imposta of IVA, NumeroDocCommerciali of Totali, …).",
        source: XSD,
    },
    Check {
        code: "RTX033",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "An element is not allowed where it is (unknown, out of order, or too many)",
        rationale: "The schema's sequences fix the order of the children and their number: at most 40 Riepilogo (20 in tracciato 6.0), 50 InterventoTecnico, 50 Segnalazione, one of everything else. Elements it does not declare (IdCassa, DataOraAttivazione) are not allowed.",
        source: "spec rt.md §1.2; XSD",
    },
    Check {
        code: "RTX034",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "Not exactly one of a choice (IVA | Natura | VentilazioneIVA, DatiRT | DatiDA, Periodo | Cumulato)",
        rationale: "A Riepilogo is either a VAT rate with its tax, or a Natura code, or ventilazione: exactly one of them. Likewise a closing holds DatiRT or DatiDA.",
        source: "spec rt.md §1.3 (rules for the exporter); XSD DatiRegistratoriTelematiciType, DatiCorrispettiviType, DatiDistributoriAutomaticiType",
    },
    Check {
        code: "RTX035",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "An element is in the wrong namespace",
        rationale: "Only the root is qualified: the schema has no elementFormDefault, so its children are in no namespace (a default xmlns on the root puts them in one, and the AdE rejects that). ds:Signature is in the XML-DSig namespace.",
        source: "spec rt.md §1.1 (child prefixes); XSD",
    },
    Check {
        code: "RTX036",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "Text where only elements are allowed, or elements inside a value",
        rationale: "Complex elements hold elements and white space only; simple elements hold text only.",
        source: XSD,
    },
    Check {
        code: "RTX037",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "An attribute the schema does not declare",
        rationale: "The schema declares attributes only on the root (versione, simulazione); xsi: attributes and namespace declarations are allowed anywhere. The signature's attributes are checked by the replay.",
        source: XSD,
    },
    Check {
        code: "RTX040",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "An amount is not an Amount2 ([\\-]?[0-9]{1,11}\\.[0-9]{2})",
        rationale: "Every amount has exactly two decimals after a point, at most 11 integer digits, an optional minus and no other characters (no comma, no grouping, no exponent).",
        source: "spec rt.md §1.2 (Amount2DecimalType); XSD Amount2DecimalType",
    },
    Check {
        code: "RTX041",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "AliquotaIVA is not a rate ([0-9]{1,3}\\.[0-9]{2}, at most 100.00)",
        rationale: "A VAT rate is written with two decimals (22.00, 10.00, 5.00, 4.00) and is at most 100.00.",
        source: "spec rt.md §1.2 (RateType); XSD RateType",
    },
    Check {
        code: "RTX042",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "A value is not in its closed list (Natura N1–N6, VentilazioneIVA SI, Formato COR10, Tipo DA/MC)",
        rationale: "Natura codes of the corrispettivi are N1 to N6 only (not the e-invoicing sub-codes N2.1…, not N7); VentilazioneIVA is SI; Formato is COR10; Dispositivo/Tipo is DA or MC in this schema.",
        source: "spec rt.md §1.3; XSD NaturaType, VentilazioneIVAType, FormatoTrasmissioneType, TipoDispositivoType",
    },
    Check {
        code: "RTX043",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "An integer is out of its range",
        rationale: "Progressivo and NumeroTicket are 1 to 999999999999999, NumeroDocCommerciali and ProgressivoPrelievo 0 to 999999999999999, CodiceAttivita 1 to 999999; digits only (leading zeros allowed).",
        source: "spec rt.md §1.2 (simple types); XSD Integer15Type, ProgressivoPrelievoType, Integer6Type",
    },
    Check {
        code: "RTX044",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "A date and time is not an xs:dateTime",
        rationale: "DataOraRilevazione, PeriodoInattivo/Dal and Al, and the DataOra fields are YYYY-MM-DDThh:mm:ss with optional fraction and offset, each part in range.",
        source: "XSD (xs:dateTime); XML Schema Part 2 §3.2.7",
    },
    Check {
        code: "RTX045",
        family: STRUCTURE,
        severity: Severity::Error,
        title: "A text or identifier breaks its facet (length, Latin-1, pattern)",
        rationale: "RifNormativo, Note and NumeroSw are 1 to 100, 1000 and 10 Basic Latin or Latin-1 characters; IdDispositivo at most 100; CFTecnico [A-Z0-9]{11,16}; IdPaese [A-Z]{2}; IdCodice 11 characters; Lat and Long [\\-]?[0-9]{1,3}\\.[0-9]{2,9}.",
        source: "spec rt.md §1.2; XSD String100LatinType, String1000LatinType, String10LatinType, IdDispositivoType, CodiceFiscaleType, NazioneType, IdCodiceType, GeoType",
    },
    Check {
        code: "RTX046",
        family: STRUCTURE,
        severity: Severity::Warning,
        title: "AliquotaIVA 0.00: a 0 % row should be a Natura row",
        rationale: "The schema accepts a rate of 0.00, but a 0 % row cannot say why it is 0 %; the Natura code (N1–N6) does.",
        source: "spec rt.md §1.3 (rules for the exporter)",
    },
    Check {
        code: "RTX047",
        family: STRUCTURE,
        severity: Severity::Warning,
        title: "NumeroDocCommerciali is 0",
        rationale: "The laboratory's copy of the schema allows 0 where the original type (Integer15) starts at 1; a closing without documents should not report a document count of 0.",
        source: "spec rt.md §1.2 (ProgressivoPrelievoType) [UNCERTAIN]",
    },
    Check {
        code: "RTX048",
        family: STRUCTURE,
        severity: Severity::Warning,
        title: "A closing from 2022 on lacks ImportoParziale or Totali",
        rationale: "From 1 January 2022 only tracciato 7.0 is accepted, which expects ImportoParziale in every Riepilogo and Totali; the laboratory's schema keeps them optional for 6.0 files, so closings dated before 2022 are not held to it. The official cardinality was not seen, hence a warning.",
        source: "spec rt.md §0 (timeline), §1.2 [UNCERTAIN: exact official cardinality]",
    },
    Check {
        code: "RTX049",
        family: STRUCTURE,
        severity: Severity::Warning,
        title: "Two Riepilogo rows have the same key",
        rationale: "There is one Riepilogo per VAT rate, Natura code or ventilazione (with CodiceAttivita); two rows with the same key split what the AdE sums per key.",
        source: "spec rt.md §1.3 (one Riepilogo per distinct key)",
    },
    Check {
        code: "RTX050",
        family: ARITHMETIC,
        severity: Severity::Warning,
        title: "Ammontare is not ImportoParziale plus returns, voids and uncollected parts",
        rationale: "Ammontare = ImportoParziale + TotaleAmmontareResi + TotaleAmmontareAnnulli + BeniInSospeso + NonRiscossoServizi + NonRiscossoFatture + NonRiscossoDCRaSSN, with or without NonRiscossoOmaggio and TotaleDaFattureRT (whether those two belong is not known: each combination is accepted), ±0.01 for rounding. Checked only when ImportoParziale is present (tracciato 7.0). The identity comes from the certifying laboratory's checker and real files, not the official text.",
        source: "spec rt.md §1.4 (component identity) [UNCERTAIN]",
    },
    Check {
        code: "RTX051",
        family: ARITHMETIC,
        severity: Severity::Error,
        title: "Imposta is not the VAT on ImportoParziale",
        rationale: "Imposta = round half up (ImportoParziale × AliquotaIVA / 100, 2 decimals), ±0.01: the RT computes the tax by scorporo from the gross amount, so the tax recomputed from the net amount may differ by one cent, never more. Amounts are exact decimals; rounding is half away from zero.",
        source: "spec rt.md §1.4 (Imposta = VAT on ImportoParziale; scorporo, round_half_up)",
    },
    Check {
        code: "RTX052",
        family: ARITHMETIC,
        severity: Severity::Warning,
        title: "Imposta is not the VAT on Ammontare (tracciato 6.0 row without ImportoParziale)",
        rationale: "Without ImportoParziale the tax is checked against Ammontare, as the 6.0 sample of the laboratory shows (8.20 at 22 % → 1.80), with the same rounding and ±0.01. How 6.0 devices treated returns and voids here is not known, hence a warning.",
        source: "spec rt.md §1.4 (table, CNR sample RT_7CIMG990005)",
    },
    Check {
        code: "RTX053",
        family: ARITHMETIC,
        severity: Severity::Warning,
        title: "The day's gross amount does not match the payments plus uncollected amounts",
        rationale: "Σ Ammontare × (1 + rate/100) over all rows (rate 0 for Natura and ventilazione rows) = PagatoContanti + PagatoElettronico + ScontoApagare + Ticket/PagatoTicket + Σ (BeniInSospeso + NonRiscossoDCRaSSN + NonRiscossoFatture + NonRiscossoServizi + NonRiscossoOmaggio) × (1 + rate/100), within 0.02 per Riepilogo row. Checked only when Totali holds at least one payment element. From the laboratory's checker, no official text: a warning.",
        source: "spec rt.md §1.4 (day-level check) [UNCERTAIN]",
    },
    Check {
        code: "RTX060",
        family: COMPARE,
        severity: Severity::Error,
        title: "A value differs between the device's file and the other file",
        rationale: "Progressivo, DataOraRilevazione, each amount of each Riepilogo (matched by rate, Natura or ventilazione and CodiceAttivita), RifNormativo and each value of Totali are compared; an absent amount counts as 0.00. Expected is the device file's value, found the other file's.",
        source: "spec rt.md §6 (compare with the device's signed file)",
    },
    Check {
        code: "RTX061",
        family: COMPARE,
        severity: Severity::Warning,
        title: "An amount differs by 0.01",
        rationale: "A difference of one cent per row comes from the rounding of the scorporo and is expected when a closing is rebuilt from its documents.",
        source: "spec rt.md §6 (differences of ±0.01 per row)",
    },
    Check {
        code: "RTX062",
        family: COMPARE,
        severity: Severity::Error,
        title: "A Riepilogo or Totali is in one file only",
        rationale: "The other file lacks a row of the device's file, or has one the device's file does not: a rate, Natura or activity was left out or invented.",
        source: "spec rt.md §6",
    },
];

/// The check with `code`.
pub fn check(code: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.code == code)
}

/// One finding: the check, where in the file (element path and line), expected and found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Check code (`RTX013`).
    pub code: &'static str,
    /// The check's severity.
    pub severity: Severity,
    /// The element, as `/p:DatiCorrispettivi/DatiRT/Riepilogo[2]/Imposta` (names as written,
    /// `[n]` among siblings of the same name); empty for the file as a whole.
    pub path: String,
    /// The element's line (of its start tag), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What was expected.
    pub expected: String,
    /// What was found.
    pub found: String,
}

impl Finding {
    /// A finding of check `code` with the catalog's severity.
    pub fn new(
        code: &'static str,
        path: impl Into<String>,
        line: Option<usize>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Finding {
        debug_assert!(check(code).is_some(), "{code} is not in the catalog");
        Finding {
            code,
            severity: check(code).map_or(Severity::Error, |c| c.severity),
            path: path.into(),
            line,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// A finding about element `el` at `path`.
    pub fn at(
        code: &'static str,
        path: &str,
        el: &Element,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Finding {
        Finding::new(code, path, Some(el.line), expected, found)
    }
}

/// The paths of the element children of the element at `parent_path`, in order: each name as
/// written, with `[n]` when siblings share it. Linear in the number of children, so that a
/// file with many siblings costs no more than its size.
pub fn child_paths(parent_path: &str, parent: &Element) -> Vec<String> {
    let mut totals: HashMap<(&str, &str), usize> = HashMap::new();
    for k in parent.elements() {
        *totals.entry((&k.prefix, &k.local)).or_default() += 1;
    }
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    parent
        .elements()
        .map(|k| {
            let key = (k.prefix.as_str(), k.local.as_str());
            let n = seen.entry(key).or_default();
            *n += 1;
            if totals.get(&key).copied().unwrap_or(0) > 1 {
                format!("{parent_path}/{}[{n}]", k.qname())
            } else {
                format!("{parent_path}/{}", k.qname())
            }
        })
        .collect()
}

/// The key of a Riepilogo row: what it totals.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowKind {
    /// A VAT rate (AliquotaIVA), with Imposta.
    Iva(Decimal),
    /// A Natura code (N1–N6).
    Natura(String),
    /// VentilazioneIVA = SI.
    Ventilazione,
}

/// One Riepilogo as read: the values that fit their types (others are `None` and were
/// reported by the schema check).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Row {
    /// Its element path.
    pub path: String,
    /// Its line.
    pub line: usize,
    /// Rate, Natura or ventilazione; `None` when the choice is broken.
    pub kind: Option<RowKind>,
    /// IVA/Imposta.
    pub imposta: Option<Decimal>,
    /// Ammontare.
    pub ammontare: Option<Decimal>,
    /// RifNormativo.
    pub rif_normativo: Option<String>,
    /// The optional amounts present, in schema order (ImportoParziale … NonRiscossoOmaggio).
    pub parts: Vec<(&'static str, Decimal)>,
    /// CodiceAttivita as written.
    pub codice_attivita: Option<String>,
}

impl Row {
    /// The optional amount `name`, when present.
    pub fn part(&self, name: &str) -> Option<Decimal> {
        self.parts.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// The row's key as people read it: `IVA 22.00`, `Natura N4`, `VentilazioneIVA SI`,
    /// followed by ` CodiceAttivita n` when present.
    pub fn key(&self) -> String {
        let mut k = match &self.kind {
            Some(RowKind::Iva(rate)) => format!("IVA {rate}"),
            Some(RowKind::Natura(n)) => format!("Natura {n}"),
            Some(RowKind::Ventilazione) => "VentilazioneIVA SI".into(),
            None => "(no IVA, Natura or VentilazioneIVA)".into(),
        };
        if let Some(c) = &self.codice_attivita {
            k += &format!(" CodiceAttivita {}", c.trim_start_matches('0'));
        }
        k
    }

    /// The rate as a percentage: AliquotaIVA, or 0 for Natura and ventilazione rows.
    pub fn rate(&self) -> Decimal {
        match &self.kind {
            Some(RowKind::Iva(r)) => *r,
            _ => Decimal::ZERO,
        }
    }
}

/// Totali as read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Totals {
    /// Its element path.
    pub path: String,
    /// Its line.
    pub line: usize,
    /// NumeroDocCommerciali.
    pub numero_doc_commerciali: Option<u64>,
    /// The payment amounts present: PagatoContanti, PagatoElettronico, ScontoApagare,
    /// Ticket/PagatoTicket.
    pub payments: Vec<(&'static str, Decimal)>,
    /// Ticket/NumeroTicket.
    pub numero_ticket: Option<u64>,
}

/// The values of a daily closing the checks and the comparison need.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Closing {
    /// The root's path (`/p:DatiCorrispettivi`).
    pub root_path: String,
    /// Trasmissione/Progressivo as written.
    pub progressivo: Option<String>,
    /// Trasmissione/Dispositivo/IdDispositivo.
    pub id_dispositivo: Option<String>,
    /// DataOraRilevazione as written (white space trimmed), when it is an xs:dateTime.
    pub data_ora_rilevazione: Option<String>,
    /// Whether simulazione="true".
    pub simulazione: bool,
    /// The Riepilogo rows of DatiRT.
    pub rows: Vec<Row>,
    /// DatiRT/Totali.
    pub totals: Option<Totals>,
}

/// Checks a parsed document as a daily closing: the root (RTX002), the schema (RTX030–
/// RTX049) and the sums (RTX050–RTX053), appending findings to `out`. Returns the values read,
/// or `None` when the root is not a DatiCorrispettivi.
pub fn examine(doc: &Document, out: &mut Vec<Finding>) -> Option<Closing> {
    let root = &doc.root;
    let root_path = format!("/{}", root.qname());
    if !root.is(DATI_NS, "DatiCorrispettivi") {
        out.push(Finding::at(
            "RTX002",
            &root_path,
            root,
            format!("DatiCorrispettivi in {DATI_NS}"),
            format!(
                "{} in {}",
                root.local,
                if root.namespace.is_empty() {
                    "no namespace"
                } else {
                    &root.namespace
                }
            ),
        ));
        return None;
    }
    schema::validate(root, &root_path, out);
    let closing = closing::read_closing(root, &root_path);
    closing::closing_checks(&closing, out);
    arithmetic::check(&closing, out);
    Some(closing)
}

/// docs/rt-verify.md, generated from [`CHECKS`].
pub fn markdown() -> String {
    crate::validate::catalog::render_markdown(
        "# RT daily closing checks\n\n<!-- Generated from src/regime/rt/cor10.rs by `cargo test` (regime::rt::cor10::tests::docs_rt_verify_md_is_current); do not edit. -->\n\nEvery check `fiskal verify rt-xml` runs on an Italian daily closing (`DatiCorrispettivi`, COR10), with its code, severity, what it checks, why, and its source. docs/rt.md describes the command; the shared spec is `rt.md`.\n",
        CHECKS,
        "check",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_ordered_and_documented() {
        for w in CHECKS.windows(2) {
            assert!(w[0].code < w[1].code, "{} before {}", w[0].code, w[1].code);
        }
        for c in CHECKS {
            assert!(c.code.starts_with("RTX") && c.code.len() == 6, "{}", c.code);
            assert!(
                !c.rationale.is_empty() && !c.source.is_empty(),
                "{}",
                c.code
            );
            // Where the spec marks a rule uncertain, it is not an error (spec rt.md, intro).
            if c.source.contains("[UNCERTAIN") {
                assert_ne!(c.severity, Severity::Error, "{}", c.code);
            }
        }
    }

    /// Every code the RT modules emit is in the catalog, and every catalog code is emitted
    /// somewhere: a renamed code cannot drift from its documentation.
    #[test]
    fn every_code_used_is_declared_and_every_declared_code_used() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/regime/rt/");
        let mut sources = String::new();
        for f in [
            "xml.rs",
            "dsig.rs",
            "cert.rs",
            "verify.rs",
            "cor10/schema.rs",
            "cor10/arithmetic.rs",
            "cor10/compare.rs",
        ] {
            sources += &std::fs::read_to_string(format!("{dir}{f}")).unwrap();
        }
        let cor10 = std::fs::read_to_string(format!("{dir}cor10.rs")).unwrap();
        // The catalog's own entries aside, cor10.rs emits RTX002 only.
        sources += &cor10[cor10.find("pub fn examine").unwrap()..];
        let mut used = std::collections::BTreeSet::new();
        for (i, _) in sources.match_indices("\"RTX") {
            let code = sources.get(i + 1..i + 7).unwrap_or_default();
            if code[3..].bytes().all(|b| b.is_ascii_digit()) {
                used.insert(code);
            }
        }
        let declared: std::collections::BTreeSet<&str> = CHECKS.iter().map(|c| c.code).collect();
        assert_eq!(used, declared);
    }

    #[test]
    fn docs_rt_verify_md_is_current() {
        crate::validate::catalog::assert_generated_doc(
            "docs/rt-verify.md",
            &markdown(),
            "docs_rt_verify_md_is_current",
        );
    }
}
