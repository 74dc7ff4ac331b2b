//! One RKSV receipt from its JWS compact form (a DEP7 `Belege-kompakt` entry) or its QR form,
//! with every format rule of the machine-readable code (shared spec rksv.md §2, §3, §7 R1–R9).
//!
//! Parsing is strict where the two reference verifiers disagree (§10.2): amounts only with a
//! decimal comma and two decimals, dates without fraction or zone, Base64 only in canonical
//! form. Canonical Base64 also makes the forms reversible: `to_jws(parse_jws(x)) == x` for
//! every accepted `x`, so the chaining value, which is taken over the stored string, can be
//! recomputed from a parsed receipt. Nothing here panics on input; every rejection is a
//! [`FormatError`] naming the field.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{NaiveDate, NaiveDateTime};

/// Base64URL of `{"alg":"ES256"}`, the only JWS header of suite R1.
pub const ES256_HEADER: &str = "eyJhbGciOiJFUzI1NiJ9";
/// The signature bytes of a receipt signed while the signature device had failed.
pub const FAILED_DEVICE: &[u8] = b"Sicherheitseinrichtung ausgefallen";

/// The decoded JWS header of suite R1.
const ES256_HEADER_JSON: &str = r#"{"alg":"ES256"}"#;

/// Field 10, the turnover counter (§2.1, §4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Counter {
    /// The AES-256-ICM ciphertext, 5 to 16 bytes.
    Encrypted(Vec<u8>),
    /// `TRA`: a training receipt, which leaves the counter unchanged.
    Training,
    /// `STO`: a reversal, whose amounts still go into the internal counter.
    Storno,
}

/// One receipt, every field decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// Field 1 before `-`: the algorithm suite, `R1`.
    pub suite: String,
    /// Field 1 after `-`: the trust service provider, `AT0` for a closed system.
    pub zda: String,
    /// Field 2, Kassen-ID.
    pub cashbox_id: String,
    /// Field 3, Belegnummer.
    pub receipt_id: String,
    /// Field 4, local time without zone.
    pub date: NaiveDateTime,
    /// Fields 5 to 9 in cents: Normal, Ermaessigt-1, Ermaessigt-2, Null, Besonders.
    pub amounts: [i64; 5],
    /// Field 10.
    pub counter: Counter,
    /// Field 11 exactly as written: a hex certificate serial or a `U:`/`S:`/`G:` key id.
    pub serial: String,
    /// Field 12, the chaining value.
    pub chain: [u8; 8],
    /// The raw signature: 64 bytes r‖s, or [`FAILED_DEVICE`].
    pub signature: Vec<u8>,
    /// The signed payload, fields 1 to 12 each after a `_`. The forms are built from this
    /// string, not from the decoded fields, so they reproduce what was signed.
    pub payload: String,
}

impl Receipt {
    /// Whether the receipt belongs to a closed system (ZDA `AT0`).
    pub fn is_closed_system(&self) -> bool {
        self.zda == "AT0"
    }

    /// Whether the signature is the "ausgefallen" marker instead of a signature.
    pub fn device_failed(&self) -> bool {
        self.signature == FAILED_DEVICE
    }

    /// The sum of the five amounts in cents; None on overflow.
    pub fn amount_sum(&self) -> Option<i64> {
        self.amounts
            .iter()
            .try_fold(0i64, |acc, a| acc.checked_add(*a))
    }

    /// Whether all five amounts are zero (Start-, Null- and Sammelbelege).
    pub fn is_null(&self) -> bool {
        self.amounts.iter().all(|a| *a == 0)
    }

    /// Characters of the QR form ([`to_qr`]), counted without building it: the payload, `_`
    /// and the padded standard Base64 of the signature.
    pub fn qr_length(&self) -> usize {
        self.payload.chars().count() + 1 + self.signature.len().div_ceil(3) * 4
    }

    /// The JWS signing input: ES256_HEADER + "." + base64url-no-pad(payload).
    pub fn signing_input(&self) -> String {
        format!("{ES256_HEADER}.{}", URL_SAFE_NO_PAD.encode(&self.payload))
    }
}

/// Why a receipt string is not a well-formed receipt. `class` mirrors the error classes of the
/// reference verifiers (shared spec rksv.md §7 table R1–R9), `field` names the field
/// ("jws", "header", "payload", "suite", "zda", "cashbox_id", "receipt_id", "date", "amount_normal",
/// "amount_ermaessigt1", "amount_ermaessigt2", "amount_null", "amount_besonders", "counter", "serial",
/// "chain", "signature"), expected/found are short human texts (found = the offending value, shortened to <= 80 chars).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Which reference error class the problem falls into.
    pub class: FormatClass,
    /// The field at fault.
    pub field: &'static str,
    /// What the field must look like.
    pub expected: String,
    /// What it holds, shortened to at most 80 characters.
    pub found: String,
}

/// The error classes of the reference verifiers (ztp exception names) a format problem maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatClass {
    /// ztp MalformedReceiptException: any syntax problem.
    Malformed,
    /// The header is not exactly `{"alg":"ES256"}` for suite R1.
    AlgorithmMismatch,
    /// The suite is syntactically `R<n>` but not `R1`.
    UnknownAlgorithm,
    /// Field 11 is neither a hex serial without leading zeros nor a `U:`/`S:`/`G:` key id.
    CertSerialInvalid,
    /// `AT0` with a hex serial, or a non-`AT0` ZDA with a `U:`/`S:`/`G:` key id.
    InvalidCertificateProvider,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let class = match self.class {
            FormatClass::Malformed => "malformed receipt",
            FormatClass::AlgorithmMismatch => "algorithm mismatch",
            FormatClass::UnknownAlgorithm => "unknown algorithm",
            FormatClass::CertSerialInvalid => "certificate serial invalid",
            FormatClass::InvalidCertificateProvider => "invalid certificate provider",
        };
        write!(
            f,
            "{class}: {} must be {}, found {:?}",
            self.field, self.expected, self.found
        )
    }
}

impl std::error::Error for FormatError {}

/// Longest `found` text; receipts run to hundreds of characters and DEPs to millions of
/// receipts, so reports quote only the start.
const MAX_FOUND: usize = 80;

fn error(
    class: FormatClass,
    field: &'static str,
    expected: impl Into<String>,
    found: &str,
) -> FormatError {
    let found = if found.chars().count() > MAX_FOUND {
        let mut s: String = found.chars().take(MAX_FOUND - 1).collect();
        s.push('…');
        s
    } else {
        found.to_string()
    };
    FormatError {
        class,
        field,
        expected: expected.into(),
        found,
    }
}

fn malformed(field: &'static str, expected: impl Into<String>, found: &str) -> FormatError {
    error(FormatClass::Malformed, field, expected, found)
}

/// Parses a JWS compact receipt as stored in a DEP7 "Belege-kompakt" list.
pub fn parse_jws(jws: &str) -> Result<Receipt, FormatError> {
    let mut segments = jws.split('.');
    let (Some(header), Some(payload), Some(signature), None) = (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) else {
        return Err(malformed(
            "jws",
            "three '.'-separated Base64URL segments",
            jws,
        ));
    };
    let header_text = String::from_utf8(base64url(header, "header")?)
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| malformed("header", "a UTF-8 JSON object", header))?;
    let payload_text = String::from_utf8(base64url(payload, "payload")?)
        .map_err(|_| malformed("payload", "UTF-8 text", payload))?;
    let signature_bytes = base64url(signature, "signature")?;
    parse_payload(payload_text, Some(&header_text), signature_bytes, signature)
}

/// Parses the QR form (payload + "_" + standard Base64 signature).
pub fn parse_qr(qr: &str) -> Result<Receipt, FormatError> {
    let Some((payload, signature)) = qr.rsplit_once('_') else {
        return Err(malformed(
            "payload",
            "12 fields each after a '_', then '_' and the signature",
            qr,
        ));
    };
    let signature_bytes = STANDARD
        .decode(signature)
        .map_err(|_| malformed("signature", "standard Base64 with '=' padding", signature))?;
    parse_payload(payload.to_string(), None, signature_bytes, signature)
}

/// The QR form of a receipt.
pub fn to_qr(r: &Receipt) -> String {
    format!("{}_{}", r.payload, STANDARD.encode(&r.signature))
}

/// The JWS compact form of a receipt (header fixed, Base64URL without padding).
pub fn to_jws(r: &Receipt) -> String {
    format!(
        "{}.{}",
        r.signing_input(),
        URL_SAFE_NO_PAD.encode(&r.signature)
    )
}

/// One JWS segment. RFC 7515 forbids padding, and the Prüfmodul re-encodes the payload, so a
/// padded one fails there as a signature error (§4.1, #634); canonical trailing bits keep the
/// segment identical to what `to_jws` writes.
fn base64url(segment: &str, field: &'static str) -> Result<Vec<u8>, FormatError> {
    if segment.contains('=') {
        return Err(malformed(field, "Base64URL without '=' padding", segment));
    }
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| malformed(field, "Base64URL", segment))
}

/// The amount fields in payload order.
const AMOUNT_FIELDS: [&str; 5] = [
    "amount_normal",
    "amount_ermaessigt1",
    "amount_ermaessigt2",
    "amount_null",
    "amount_besonders",
];

/// Checks fields 1 to 12 of `payload` and the signature. Order: structure, then the suite
/// (an unknown suite's fields cannot be read), then the header it implies, then each field in
/// turn, the signature, and last the consistency of ZDA and field 11.
fn parse_payload(
    payload: String,
    header: Option<&str>,
    signature: Vec<u8>,
    signature_text: &str,
) -> Result<Receipt, FormatError> {
    let parts: Vec<&str> = payload.split('_').collect();
    let [
        "",
        algorithm,
        cashbox_id,
        receipt_id,
        date,
        a_normal,
        a_erm1,
        a_erm2,
        a_null,
        a_besonders,
        counter,
        serial,
        chain,
    ] = parts.as_slice()
    else {
        return Err(malformed(
            "payload",
            format!(
                "12 fields each after a '_' (found {} '_'-separated parts)",
                parts.len()
            ),
            &payload,
        ));
    };

    let Some((suite, zda)) = algorithm.split_once('-') else {
        return Err(malformed("suite", "<suite>-<ZDA>, e.g. R1-AT0", algorithm));
    };
    if !is_suite(suite) {
        return Err(malformed("suite", "R followed by a number from 1", suite));
    }
    if !is_zda(zda) {
        return Err(malformed(
            "zda",
            "AT0 or two capital letters and a number from 1",
            zda,
        ));
    }
    if suite != "R1" {
        return Err(error(
            FormatClass::UnknownAlgorithm,
            "suite",
            "R1, the only suite defined",
            suite,
        ));
    }
    if let Some(h) = header.filter(|h| *h != ES256_HEADER_JSON) {
        return Err(error(
            FormatClass::AlgorithmMismatch,
            "header",
            ES256_HEADER_JSON,
            h,
        ));
    }

    if cashbox_id.is_empty() {
        return Err(malformed(
            "cashbox_id",
            "a non-empty register id",
            cashbox_id,
        ));
    }
    // The Prüfmodul lets an empty receipt id through, ztp and FinanzOnline do not (§2.1).
    if receipt_id.is_empty() {
        return Err(malformed(
            "receipt_id",
            "a non-empty receipt id",
            receipt_id,
        ));
    }
    let date = parse_date(date)
        .ok_or_else(|| malformed("date", "a local time YYYY-MM-DDThh:mm:ss", date))?;

    let mut amounts = [0i64; 5];
    for ((slot, text), field) in amounts
        .iter_mut()
        .zip([a_normal, a_erm1, a_erm2, a_null, a_besonders])
        .zip(AMOUNT_FIELDS)
    {
        *slot = parse_amount(text).ok_or_else(|| {
            malformed(
                field,
                "euros with a decimal comma and two decimals, no leading zeros, e.g. 12,50 or -0,99",
                text,
            )
        })?;
    }

    let counter = parse_counter(counter).ok_or_else(|| {
        malformed(
            "counter",
            "standard Base64 with padding of 5 to 16 bytes, or of TRA or STO",
            counter,
        )
    })?;

    let closed_id = check_serial(serial)?;

    let chain = STANDARD
        .decode(chain)
        .ok()
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .ok_or_else(|| malformed("chain", "standard Base64 with padding of 8 bytes", chain))?;

    if signature.len() != 64 && signature != FAILED_DEVICE {
        return Err(malformed(
            "signature",
            "64 bytes r‖s or the text 'Sicherheitseinrichtung ausgefallen'",
            signature_text,
        ));
    }

    // §2.2: a closed system signs with a registered key id, an open one with a certificate.
    let closed = zda == "AT0";
    if closed != closed_id {
        let expected = if closed {
            "a U:/S:/G: key id, as ZDA AT0 is a closed system".to_string()
        } else {
            format!("a hex certificate serial, as ZDA {zda} is an open system")
        };
        return Err(error(
            FormatClass::InvalidCertificateProvider,
            "serial",
            expected,
            serial,
        ));
    }

    Ok(Receipt {
        suite: suite.to_string(),
        zda: zda.to_string(),
        cashbox_id: cashbox_id.to_string(),
        receipt_id: receipt_id.to_string(),
        date,
        amounts,
        counter,
        serial: serial.to_string(),
        chain,
        signature,
        payload,
    })
}

/// `^R[1-9]\d*$` (ztp).
fn is_suite(s: &str) -> bool {
    s.strip_prefix('R')
        .is_some_and(|n| starts_nonzero_digits(n.as_bytes()))
}

/// `^([A-Z][A-Z][1-9]\d*|AT0)$` (ztp).
fn is_zda(s: &str) -> bool {
    match s.as_bytes() {
        b"AT0" => true,
        [a, b, rest @ ..] => {
            a.is_ascii_uppercase() && b.is_ascii_uppercase() && starts_nonzero_digits(rest)
        }
        _ => false,
    }
}

/// `[1-9]\d*`.
fn starts_nonzero_digits(s: &[u8]) -> bool {
    matches!(s.first(), Some(b'1'..=b'9')) && s.iter().all(u8::is_ascii_digit)
}

/// Exactly `YYYY-MM-DDThh:mm:ss`, a real calendar date and time (no leap second).
fn parse_date(s: &str) -> Option<NaiveDateTime> {
    let b = s.as_bytes();
    if b.len() != 19 {
        return None;
    }
    let shape_ok = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        10 => *c == b'T',
        13 | 16 => *c == b':',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return None;
    }
    let num = |from: usize, to: usize| s.get(from..to)?.parse::<u32>().ok();
    let year = i32::try_from(num(0, 4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5, 7)?, num(8, 10)?)?.and_hms_opt(
        num(11, 13)?,
        num(14, 16)?,
        num(17, 19)?,
    )
}

/// `^-?([1-9]\d+|\d),\d\d$` in cents; None also when it does not fit an i64.
fn parse_amount(s: &str) -> Option<i64> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (euros, cents) = unsigned.split_once(',')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    if !digits(euros) || !digits(cents) || cents.len() != 2 {
        return None;
    }
    if euros.len() > 1 && euros.starts_with('0') {
        return None;
    }
    // The magnitude in i128 so that i64::MIN, whose magnitude is no i64, still parses.
    let magnitude = i128::from(euros.parse::<u64>().ok()?)
        .checked_mul(100)?
        .checked_add(i128::from(cents.parse::<u8>().ok()?))?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn parse_counter(s: &str) -> Option<Counter> {
    let bytes = STANDARD.decode(s).ok()?;
    match bytes.as_slice() {
        b"TRA" => Some(Counter::Training),
        b"STO" => Some(Counter::Storno),
        b if (5..=16).contains(&b.len()) => Some(Counter::Encrypted(bytes)),
        _ => None,
    }
}

/// Field 11: whether it is a closed-system key id (`true`) or a certificate serial (`false`).
fn check_serial(serial: &str) -> Result<bool, FormatError> {
    // ztp reports an empty field as malformed, any other bad value as an invalid serial.
    if serial.is_empty() {
        return Err(malformed(
            "serial",
            "a certificate serial or key id",
            serial,
        ));
    }
    if serial.contains(':') {
        let is_key_id = ["U:", "S:", "G:"]
            .iter()
            .any(|p| serial.strip_prefix(p).is_some_and(|id| !id.is_empty()));
        return if is_key_id {
            Ok(true)
        } else {
            Err(error(
                FormatClass::CertSerialInvalid,
                "serial",
                "U:, S: or G: followed by the key id",
                serial,
            ))
        };
    }
    // BMF (#557): hex without leading zeros. A decimal-looking serial is still hex digits and
    // is accepted here (ztp test_serial_decimal is valid); the key lookup decides.
    let is_hex = serial.bytes().all(|c| c.is_ascii_hexdigit()) && !serial.starts_with('0');
    if is_hex {
        Ok(false)
    } else {
        Err(error(
            FormatClass::CertSerialInvalid,
            "serial",
            "the certificate serial in hex without leading zeros",
            serial,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CLOSED_S1_DEP: &str = include_str!(
        "../../../fixtures/conformance/rksv/asit-example-0.7.1/closed-S1/dep-export.json"
    );
    const CLOSED_S1_QR: &str = include_str!(
        "../../../fixtures/conformance/rksv/asit-example-0.7.1/closed-S1/qr-code-rep.json"
    );

    /// §3: closed-S1 receipt #1 in its forms.
    const EXAMPLE_QR: &str = "_R1-AT0_CASHBOX-DEMO-1_CASHBOX-DEMO-1-Receipt-ID-1_2016-03-11T03:57:08_0,00_0,00_0,00_0,00_0,00_4r1iIdZG_U:ATU12345678-K1_cg8hNU5ihto=_9ojJtO0+NpvVQcrJf4PNt0p6isCt3IWDXsy4GvXRXssI29EJNXLF7m0+oUbFOFCjhfrB7fYqjhD/0BFFv47K7g==";
    const EXAMPLE_JWS: &str = "eyJhbGciOiJFUzI1NiJ9.X1IxLUFUMF9DQVNIQk9YLURFTU8tMV9DQVNIQk9YLURFTU8tMS1SZWNlaXB0LUlELTFfMjAxNi0wMy0xMVQwMzo1NzowOF8wLDAwXzAsMDBfMCwwMF8wLDAwXzAsMDBfNHIxaUlkWkdfVTpBVFUxMjM0NTY3OC1LMV9jZzhoTlU1aWh0bz0.9ojJtO0-NpvVQcrJf4PNt0p6isCt3IWDXsy4GvXRXssI29EJNXLF7m0-oUbFOFCjhfrB7fYqjhD_0BFFv47K7g";

    fn closed_s1_jws() -> Vec<String> {
        let dep: serde_json::Value = serde_json::from_str(CLOSED_S1_DEP).unwrap();
        dep["Belege-Gruppe"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["Belege-kompakt"].as_array().unwrap().iter())
            .map(|j| j.as_str().unwrap().to_string())
            .collect()
    }

    fn closed_s1_qr() -> Vec<String> {
        serde_json::from_str(CLOSED_S1_QR).unwrap()
    }

    /// The twelve fields of a valid closed-system receipt, to be spoiled one at a time.
    fn fields() -> [String; 12] {
        [
            "R1-AT0",
            "KASSE-1",
            "B-1",
            "2016-03-11T03:57:08",
            "1,00",
            "0,00",
            "0,00",
            "0,00",
            "0,00",
            "AAAAAAAAAAA=",
            "U:ATU12345678-K1",
            "cg8hNU5ihto=",
        ]
        .map(String::from)
    }

    fn payload_of(fields: &[String]) -> String {
        fields.iter().map(|f| format!("_{f}")).collect()
    }

    /// A JWS over `fields` with a placeholder 64-byte signature.
    fn jws_of(fields: &[String]) -> String {
        format!(
            "{ES256_HEADER}.{}.{}",
            URL_SAFE_NO_PAD.encode(payload_of(fields)),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        )
    }

    fn qr_of(fields: &[String]) -> String {
        format!("{}_{}", payload_of(fields), STANDARD.encode([7u8; 64]))
    }

    /// `fields()` with field `idx` (0-based) replaced.
    fn with(idx: usize, value: &str) -> [String; 12] {
        let mut f = fields();
        f[idx] = value.to_string();
        f
    }

    /// Both forms of the spoiled receipt fail with the same class and field.
    fn assert_both_fail(fields: &[String], class: FormatClass, field: &str) {
        for (form, result) in [
            ("jws", parse_jws(&jws_of(fields))),
            ("qr", parse_qr(&qr_of(fields))),
        ] {
            let e = result.expect_err(&format!("{form} of {fields:?} must fail"));
            assert_eq!((e.class, e.field), (class, field), "{form}: {e}");
        }
    }

    #[test]
    fn the_valid_template_parses() {
        let r = parse_jws(&jws_of(&fields())).unwrap();
        assert_eq!(r.amounts, [100, 0, 0, 0, 0]);
        assert_eq!(r.counter, Counter::Encrypted(vec![0; 8]));
        assert_eq!(parse_qr(&qr_of(&fields())).unwrap(), r);
    }

    /// §3 and §8: every field of closed-S1 #1 and its exact forms.
    #[test]
    fn worked_example_receipt_1() {
        let r = parse_jws(EXAMPLE_JWS).unwrap();
        assert_eq!(r.suite, "R1");
        assert_eq!(r.zda, "AT0");
        assert!(r.is_closed_system());
        assert_eq!(r.cashbox_id, "CASHBOX-DEMO-1");
        assert_eq!(r.receipt_id, "CASHBOX-DEMO-1-Receipt-ID-1");
        assert_eq!(
            r.date,
            NaiveDate::from_ymd_opt(2016, 3, 11)
                .unwrap()
                .and_hms_opt(3, 57, 8)
                .unwrap()
        );
        assert_eq!(r.amounts, [0; 5]);
        assert!(r.is_null());
        assert_eq!(r.amount_sum(), Some(0));
        assert_eq!(
            r.counter,
            Counter::Encrypted(vec![0xe2, 0xbd, 0x62, 0x21, 0xd6, 0x46])
        );
        assert_eq!(r.serial, "U:ATU12345678-K1");
        assert_eq!(r.chain, [0x72, 0x0f, 0x21, 0x35, 0x4e, 0x62, 0x86, 0xda]);
        assert_eq!(r.signature.len(), 64);
        assert!(!r.device_failed());
        assert_eq!(
            r.payload,
            EXAMPLE_QR.rsplit_once('_').unwrap().0,
            "payload is the QR form without the signature"
        );
        assert!(r.payload.starts_with("_R1-AT0_"));
        assert_eq!(to_qr(&r), EXAMPLE_QR);
        assert_eq!(to_jws(&r), EXAMPLE_JWS);
        assert_eq!(EXAMPLE_JWS.len(), 287);
        assert_eq!(EXAMPLE_QR.len(), 223);
        assert_eq!(parse_qr(EXAMPLE_QR).unwrap(), r);
        assert_eq!(r.signing_input(), EXAMPLE_JWS.rsplit_once('.').unwrap().0);
        assert_eq!(closed_s1_jws()[0], EXAMPLE_JWS);
    }

    /// §8: the standard, training, storno and failed-device receipts of closed-S1.
    #[test]
    fn worked_example_receipt_kinds() {
        let all: Vec<Receipt> = closed_s1_jws()
            .iter()
            .map(|j| parse_jws(j).unwrap())
            .collect();
        let r6 = &all[5];
        assert_eq!(r6.amounts, [12034, 2149, 13572, 3439, 19307]);
        assert_eq!(r6.amount_sum(), Some(50501));
        assert!(r6.device_failed());
        assert_eq!(r6.signature, FAILED_DEVICE);
        assert_eq!(r6.serial, "U:ATU12345678-K2");
        assert_eq!(STANDARD.encode(r6.chain), "MixQa4ssS50=");
        let r8 = &all[7];
        assert_eq!(r8.counter, Counter::Training);
        assert_eq!(r8.amounts, [9122, 19823, 8989, 17201, 384]);
        let r10 = &all[9];
        assert_eq!(r10.counter, Counter::Storno);
        assert_eq!(r10.amounts, [11775, -3711, 358, 2710, -1390]);
        assert_eq!(r10.amount_sum(), Some(9742));
        assert!(!all[12].is_null() && all[12].amount_sum() == Some(37476));
        assert_eq!(STANDARD.encode(all[12].chain), "3DnwHHzyK5U=");
    }

    /// Every receipt of the official file: parse, rebuild the stored JWS byte for byte, and
    /// give the line of the official QR file.
    #[test]
    fn closed_s1_round_trips_and_matches_the_qr_file() {
        let jws = closed_s1_jws();
        let qr = closed_s1_qr();
        assert_eq!(jws.len(), 81);
        assert_eq!(qr.len(), 81);
        for (j, q) in jws.iter().zip(&qr) {
            let r = parse_jws(j).unwrap();
            assert_eq!(&to_jws(&r), j);
            assert_eq!(&to_qr(&r), q);
            assert_eq!(parse_qr(q).unwrap(), r);
        }
    }

    #[test]
    fn malformed_has_its_own_minimal_case() {
        // R2: payload of 11 fields.
        let short = &fields()[..11];
        assert_both_fail(short, FormatClass::Malformed, "payload");
    }

    #[test]
    fn algorithm_mismatch_has_its_own_minimal_case() {
        // ztp test_algorithm_mismatch: header {"alg":"ES512"}.
        let jws = jws_of(&fields()).replacen(ES256_HEADER, "eyJhbGciOiJFUzUxMiJ9", 1);
        let e = parse_jws(&jws).unwrap_err();
        assert_eq!(
            (e.class, e.field, e.found.as_str()),
            (
                FormatClass::AlgorithmMismatch,
                "header",
                r#"{"alg":"ES512"}"#
            )
        );
        // Same algorithm, different spelling: still not the R1 header.
        let spaced = URL_SAFE_NO_PAD.encode(r#"{"alg": "ES256"}"#);
        let jws = jws_of(&fields()).replacen(ES256_HEADER, &spaced, 1);
        assert_eq!(
            parse_jws(&jws).unwrap_err().class,
            FormatClass::AlgorithmMismatch
        );
    }

    #[test]
    fn unknown_algorithm_has_its_own_minimal_case() {
        // ztp test_unknown_algorithm: R7.
        assert_both_fail(&with(0, "R7-AT0"), FormatClass::UnknownAlgorithm, "suite");
        assert_both_fail(&with(0, "R10-AT1"), FormatClass::UnknownAlgorithm, "suite");
    }

    #[test]
    fn cert_serial_invalid_has_its_own_minimal_case() {
        // ztp test_serial_invalid: "asdf"; then the rules of §2.1 field 11.
        for serial in [
            "asdf", "001a2b3c", "0", "-1a", "1a 2b", "X:ATU1", "U:", "u:ATU1",
        ] {
            assert_both_fail(&with(10, serial), FormatClass::CertSerialInvalid, "serial");
        }
        let open = |s: &str| {
            let mut f = with(10, s);
            f[0] = "R1-AT1".into();
            f
        };
        for serial in ["asdf", "01", "1a2b-3c"] {
            assert_both_fail(&open(serial), FormatClass::CertSerialInvalid, "serial");
        }
    }

    #[test]
    fn invalid_certificate_provider_has_its_own_minimal_case() {
        // ztp test_cp_invalid_open: AT0 with a hex serial.
        assert_both_fail(
            &with(10, "1a2b3c4d5e6f7001"),
            FormatClass::InvalidCertificateProvider,
            "serial",
        );
        // ztp test_cp_invalid_closed: AT7 with a key id.
        assert_both_fail(
            &with(0, "R1-AT7"),
            FormatClass::InvalidCertificateProvider,
            "serial",
        );
    }

    #[test]
    fn accepted_serials() {
        let open = |s: &str| {
            let mut f = with(10, s);
            f[0] = "R1-AT100".into();
            f
        };
        // Decimal-looking (ztp test_serial_decimal), uppercase hex (probe), lowercase hex.
        for serial in [
            "1885667171979194369",
            "1A2B3C4D5E6F7001",
            "dff5fd8002914560",
        ] {
            let r = parse_jws(&jws_of(&open(serial))).unwrap();
            assert_eq!(r.serial, serial);
            assert!(!r.is_closed_system());
        }
        // ztp test_serial_tax, test_serial_uid, and a GLN.
        for serial in ["S:123456789-K0", "U:ATU12345678-K0", "G:9012345678901-K3"] {
            assert_eq!(parse_qr(&qr_of(&with(10, serial))).unwrap().serial, serial);
        }
    }

    /// The malformed cases of the ztp suite (ztp-specs/malformed), by field.
    #[test]
    fn ztp_malformed_fields() {
        let cases: &[(usize, &str, &str)] = &[
            (0, "R0-AT0", "suite"), // test_alg_invalid
            (0, "R1-AT7-7", "zda"), // test_algZda_invalid
            (0, "R1-", "zda"),      // test_zda_empty
            (0, "R1AT0", "suite"),
            (0, "r1-AT0", "suite"),
            (0, "R1-at1", "zda"),
            (0, "R1-AT01", "zda"),
            (0, "R1-ATX", "zda"),
            (1, "", "cashbox_id"),
            (2, "", "receipt_id"),
            (3, "", "date"),               // test_timestamp_empty
            (4, "", "amount_normal"),      // test_taxNormal_empty
            (4, "00,00", "amount_normal"), // test_taxNormal_invalid
            (5, "", "amount_ermaessigt1"),
            (5, "00,00", "amount_ermaessigt1"),
            (6, "", "amount_ermaessigt2"),
            (7, "", "amount_null"),
            (7, "00,00", "amount_null"),
            (8, "00,00", "amount_besonders"), // test_taxSpecial_invalid
            (9, "", "counter"),               // test_turnoverCounter_empty
            (9, "abc&", "counter"),           // test_turnoverCounter_invalid
            (9, "==", "counter"),             // test_turnoverCounter_pad
            (9, "X5hMYA==", "counter"),       // test_turnoverCounter_short (4 bytes)
            (9, "AAAAAAA", "counter"),        // 5 bytes without padding
            (9, "AAAAAAAAAAAAAAAAAAAAAAA=", "counter"), // 17 bytes
            (9, "VFJC", "counter"),           // "TRB"
            (10, "", "serial"),               // test_certSerial_empty
            (11, "", "chain"),                // test_previousChain_empty
            (11, "abc&", "chain"),            // test_previousChain_invalid
            (11, "RVhOVqzBpwcc", "chain"),    // test_previousChain_long (9 bytes)
            (11, "cg8hNU5ihto", "chain"),     // unpadded
            (11, "cg8hNU5ihtp=", "chain"),    // non-canonical trailing bits
        ];
        for (idx, value, field) in cases {
            assert_both_fail(&with(*idx, value), FormatClass::Malformed, field);
        }
        // test_payload_too_long: a register id with '_' gives 13 fields.
        assert_both_fail(
            &with(1, "CASHBOX-DEMO-1_TEST"),
            FormatClass::Malformed,
            "payload",
        );
        // The leading part must be empty.
        let mut f = fields().to_vec();
        f.insert(0, "X".into());
        let payload = payload_of(&f);
        let jws = format!(
            "{ES256_HEADER}.{}.{}",
            URL_SAFE_NO_PAD.encode(payload.trim_start_matches('_')),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        );
        assert_eq!(parse_jws(&jws).unwrap_err().field, "payload");
    }

    /// The JWS-level malformed cases of the ztp suite.
    #[test]
    fn ztp_malformed_jws() {
        let good = jws_of(&fields());
        let (header, rest) = good.split_once('.').unwrap();
        let (payload, signature) = rest.split_once('.').unwrap();
        let cases = [
            (format!("abc&.{payload}.{signature}"), "header"), // test_header_invalid_encoding
            (format!("{good}."), "jws"),                       // test_jws_segments
            (format!("{header}.{payload}"), "jws"),
            (format!("{header}.{payload}=.{signature}"), "payload"), // test_payload_pad
            (format!("{header}.{payload}.abc&"), "signature"), // test_signature_invalid_encoding
            (format!("{header}=.{payload}.{signature}"), "header"),
            (format!("{header}.{payload}.{signature}=="), "signature"),
            // Standard-alphabet '+' and '/' are not Base64URL (63 bytes: no padding).
            (
                format!("{header}.{payload}.{}", STANDARD.encode([0xfbu8; 63])),
                "signature",
            ),
            (format!(".{payload}.{signature}"), "header"),
            (String::new(), "jws"),
        ];
        for (jws, field) in cases {
            let e = parse_jws(&jws).unwrap_err();
            assert_eq!(
                (e.class, e.field),
                (FormatClass::Malformed, field),
                "{jws}: {e}"
            );
        }
    }

    #[test]
    fn signature_must_be_64_bytes_or_the_failure_marker() {
        let f = fields();
        let payload = URL_SAFE_NO_PAD.encode(payload_of(&f));
        for (len, ok) in [
            (0, false),
            (63, false),
            (64, true),
            (65, false),
            (72, false),
        ] {
            let jws = format!(
                "{ES256_HEADER}.{payload}.{}",
                URL_SAFE_NO_PAD.encode(vec![1u8; len])
            );
            let r = parse_jws(&jws);
            assert_eq!(r.is_ok(), ok, "{len}: {r:?}");
            if let Err(e) = r {
                assert_eq!((e.class, e.field), (FormatClass::Malformed, "signature"));
            }
        }
        let failed = format!(
            "{ES256_HEADER}.{payload}.{}",
            URL_SAFE_NO_PAD.encode(FAILED_DEVICE)
        );
        assert!(failed.ends_with(".U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg"));
        let r = parse_jws(&failed).unwrap();
        assert!(r.device_failed());
        assert!(to_qr(&r).ends_with("_U2ljaGVyaGVpdHNlaW5yaWNodHVuZyBhdXNnZWZhbGxlbg=="));
        assert_eq!(to_jws(&r), failed);

        // QR: standard Base64 with padding only.
        let qr = qr_of(&f);
        let unpadded = qr.trim_end_matches('=');
        assert_ne!(unpadded, qr);
        assert_eq!(parse_qr(unpadded).unwrap_err().field, "signature");
        let urlsafe = format!(
            "{}_{}",
            payload_of(&f),
            URL_SAFE_NO_PAD.encode([0xfbu8; 63])
        );
        assert_eq!(
            parse_qr(&urlsafe).unwrap_err().class,
            FormatClass::Malformed
        );
        assert_eq!(parse_qr("no-underscore").unwrap_err().field, "payload");
    }

    #[test]
    fn amounts() {
        let good = [
            ("0,00", 0),
            ("-0,00", 0),
            ("0,01", 1),
            ("-0,99", -99),
            ("1,00", 100),
            ("120,34", 12034),
            ("-37,11", -3711),
            ("10,00", 1000),
            ("92233720368547758,07", i64::MAX),
            ("-92233720368547758,08", i64::MIN),
        ];
        for (text, cents) in good {
            assert_eq!(parse_amount(text), Some(cents), "{text}");
        }
        let bad = [
            "",
            "-",
            ",",
            "0",
            "1",
            "12,5",
            "12,500",
            "12.50",
            "1.200,34",
            "1 200,34",
            "00,00",
            "01,00",
            "+1,00",
            "--1,00",
            " 1,00",
            "1,00 ",
            "1,0a",
            "١,٠٠",
            ",00",
            "1,",
            "92233720368547758,08",
            "-92233720368547758,09",
            "99999999999999999999,00",
        ];
        for text in bad {
            assert_eq!(parse_amount(text), None, "{text}");
        }
        // Through the parser, each amount lands in its own slot.
        for idx in 0..5 {
            let r = parse_jws(&jws_of(&with(4 + idx, "-3,21"))).unwrap();
            let mut want = [100, 0, 0, 0, 0];
            want[idx] = -321;
            assert_eq!(r.amounts, want, "slot {idx}");
        }
    }

    #[test]
    fn amount_sum_is_checked() {
        let mut r = parse_jws(&jws_of(&fields())).unwrap();
        r.amounts = [i64::MAX, 1, 0, 0, 0];
        assert_eq!(r.amount_sum(), None);
        r.amounts = [i64::MAX, -1, 1, 0, 0];
        assert_eq!(r.amount_sum(), Some(i64::MAX));
        r.amounts = [0, 0, 0, 0, 1];
        assert!(!r.is_null());
    }

    #[test]
    fn dates() {
        assert_eq!(
            parse_date("2016-03-11T03:57:08"),
            NaiveDate::from_ymd_opt(2016, 3, 11).and_then(|d| d.and_hms_opt(3, 57, 8))
        );
        assert!(parse_date("2016-02-29T23:59:59").is_some());
        let bad = [
            "",
            "2016-03-11T03:57:08.123", // probe_date_fraction
            "2016-03-11T03:57:08Z",    // probe_date_zulu
            "2016-03-11 03:57:08",     // probe_date_space
            "2016-03-11T03:57",
            "16-03-11T03:57:08",
            "2016-3-11T03:57:08",
            "2015-02-29T00:00:00",
            "2016-13-01T00:00:00",
            "2016-03-11T24:00:00",
            "2016-03-11T23:60:00",
            "2016-03-11T23:59:60",
            "+016-03-11T03:57:08",
            "2016-03-11t03:57:08",
            "２016-03-11T03:57:0",
        ];
        for text in bad {
            assert_eq!(parse_date(text), None, "{text}");
            assert_both_fail(&with(3, text), FormatClass::Malformed, "date");
        }
    }

    #[test]
    fn counters() {
        for (text, want) in [
            ("VFJB", Counter::Training),
            ("U1RP", Counter::Storno),
            ("AAAAAAA=", Counter::Encrypted(vec![0; 5])),
            (
                "4r1iIdZG",
                Counter::Encrypted(vec![0xe2, 0xbd, 0x62, 0x21, 0xd6, 0x46]),
            ),
            ("AAAAAAAAAAAAAAAAAAAAAA==", Counter::Encrypted(vec![0; 16])),
        ] {
            assert_eq!(
                parse_jws(&jws_of(&with(9, text))).unwrap().counter,
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn found_is_shortened_and_display_names_everything() {
        let long_serial = format!("1{}", "a".repeat(500));
        let e = parse_qr(&qr_of(&with(10, &long_serial))).unwrap_err();
        assert_eq!(e.class, FormatClass::InvalidCertificateProvider);
        assert_eq!(e.found, format!("1{}…", "a".repeat(78)));
        let e = parse_jws(&"ä".repeat(300)).unwrap_err();
        assert_eq!(e.field, "jws");
        assert_eq!(e.found.chars().count(), 80);
        assert!(e.found.ends_with('…'));
        let text = e.to_string();
        assert!(
            text.starts_with("malformed receipt: jws must be three"),
            "{text}"
        );

        let e = parse_jws(&jws_of(&with(10, "asdf"))).unwrap_err();
        assert_eq!(
            e.to_string(),
            "certificate serial invalid: serial must be the certificate serial in hex without leading zeros, found \"asdf\""
        );
        let e: Box<dyn std::error::Error> = Box::new(e);
        assert!(e.to_string().contains("asdf"));
    }

    /// A generated receipt in QR form: the fields as `to_qr` must give them back.
    fn arb_qr() -> impl Strategy<Value = String> {
        let amount = any::<i64>().prop_map(|c| {
            let sign = if c < 0 { "-" } else { "" };
            let abs = c.unsigned_abs();
            format!("{sign}{},{:02}", abs / 100, abs % 100)
        });
        let counter = prop_oneof![
            Just("VFJB".to_string()),
            Just("U1RP".to_string()),
            proptest::collection::vec(any::<u8>(), 5..=16).prop_map(|b| STANDARD.encode(b)),
        ];
        let system = prop_oneof![
            ("[USG]:[A-Za-z0-9.-]{1,20}").prop_map(|id| ("AT0".to_string(), id)),
            // [1-9] after the letters: never AT0.
            ("[A-Z]{2}[1-9][0-9]{0,3}", "[1-9a-fA-F][0-9a-fA-F]{0,31}"),
        ];
        let signature = prop_oneof![
            proptest::collection::vec(any::<u8>(), 64).prop_map(|b| STANDARD.encode(b)),
            Just(STANDARD.encode(FAILED_DEVICE)),
        ];
        (
            system,
            "[^_]{1,20}",
            "[^_]{1,20}",
            (2000u32..2100, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u32..60),
            proptest::collection::vec(amount, 5),
            counter,
            any::<[u8; 8]>(),
            signature,
        )
            .prop_map(|((zda, serial), cashbox, rid, (y, mo, d, h, mi, s), amounts, counter, chain, sig)| {
                format!(
                    "_R1-{zda}_{cashbox}_{rid}_{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}_{}_{counter}_{serial}_{}_{sig}",
                    amounts.join("_"),
                    STANDARD.encode(chain),
                )
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Anything is parsed or refused, never a panic.
        #[test]
        fn arbitrary_text_never_panics(s in ".{0,300}") {
            let _ = parse_jws(&s);
            let _ = parse_qr(&s);
        }

        /// Valid receipts with one byte changed are parsed or refused, never a panic.
        #[test]
        fn mutated_receipts_never_panic(idx in 0usize..287, byte in any::<u8>()) {
            let mut bytes = EXAMPLE_JWS.as_bytes().to_vec();
            let at = idx % bytes.len();
            bytes[at] = byte;
            let s = String::from_utf8_lossy(&bytes);
            if let Ok(r) = parse_jws(&s) {
                prop_assert_eq!(to_jws(&r), s.as_ref());
            }
            let mut bytes = EXAMPLE_QR.as_bytes().to_vec();
            let at = idx % bytes.len();
            bytes[at] = byte;
            let s = String::from_utf8_lossy(&bytes);
            if let Ok(r) = parse_qr(&s) {
                prop_assert_eq!(to_qr(&r), s.as_ref());
            }
        }

        /// QR → receipt → QR and → JWS → receipt give back the same text and receipt.
        #[test]
        fn generated_receipts_round_trip(qr in arb_qr()) {
            let r = parse_qr(&qr).unwrap();
            prop_assert_eq!(&to_qr(&r), &qr);
            let jws = to_jws(&r);
            prop_assert_eq!(parse_jws(&jws).unwrap(), r);
        }
    }
}
