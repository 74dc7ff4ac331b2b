//! One TR-03151 log message as a TSE stored it: its fields, and the exact bytes it signed.
//!
//! Layout (spec §2.1): SEQUENCE { version, certifiedDataType, certifiedData fields inlined as
//! context-tagged elements, serialNumber, signatureAlgorithm, [seAuditData], signatureCounter,
//! logTime, signatureValue }. The signed bytes are the stored TLVs from version through
//! logTime, without the outer header (spec §2.6); they are sliced from the file, never
//! re-encoded, so BER forms (indefinite lengths, chunked processData) verify as stored.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::ber::{self, BerError, Tlv};
use crate::regime::kassensichv::logmsg::{SignatureAlgorithm, TimeFormat};

/// What a log message records (its certifiedDataType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// 0.4.0.127.0.7.3.7.1.1: a transaction step (Start, Update, Finish).
    Transaction,
    /// 0.4.0.127.0.7.3.7.1.2: a TSE management operation.
    System,
    /// 0.4.0.127.0.7.3.7.1.3: audit data of the secure element.
    Audit,
}

impl LogKind {
    /// The name used in output (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            LogKind::Transaction => "transaction",
            LogKind::System => "system",
            LogKind::Audit => "audit",
        }
    }

    /// The `Log-…` part of a file name (TR-03151 §5.1.2).
    pub fn file_tag(self) -> &'static str {
        match self {
            LogKind::Transaction => "Log-Tra",
            LogKind::System => "Log-Sys",
            LogKind::Audit => "Log-Aud",
        }
    }
}

/// How processData is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessDataForm {
    /// `82 LL data`.
    Primitive,
    /// `A2 LL` with OCTET STRING chunks.
    Constructed,
    /// `A2 80` with OCTET STRING chunks and `00 00` (D-Trust, spec §3.5).
    ConstructedIndefinite,
}

/// processData: the chunks concatenated for display; the signature covers the stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessData {
    /// The value.
    pub bytes: Vec<u8>,
    /// How it is stored.
    pub form: ProcessDataForm,
    /// Primitive chunks it is made of (1 for the primitive form).
    pub chunks: usize,
}

/// The fields of one log message, borrowing the signed bytes from the file.
#[derive(Debug, Clone, PartialEq)]
pub struct LogMessage<'a> {
    /// Transaction, system or audit log.
    pub kind: LogKind,
    /// version (2 in every message seen).
    pub version: u64,
    /// operationType: `StartTransaction` etc., or the system operation.
    pub operation_type: Option<String>,
    /// clientId (transaction logs).
    pub client_id: Option<String>,
    /// processType (transaction logs; optional in practice).
    pub process_type: Option<String>,
    /// processData (transaction logs).
    pub process_data: Option<ProcessData>,
    /// transactionNumber (transaction logs).
    pub transaction_number: Option<u64>,
    /// serialNumber: SHA-256 of the TSE's public key point.
    pub serial: Vec<u8>,
    /// The signature algorithm OID, dotted.
    pub algorithm_oid: String,
    /// The algorithm, when it is one this build verifies.
    pub algorithm: Option<SignatureAlgorithm>,
    /// The algorithm parameters as stored (absent in every message seen).
    pub algorithm_parameters: Option<Vec<u8>>,
    /// signatureCounter.
    pub signature_counter: u64,
    /// logTime.
    pub log_time: DateTime<Utc>,
    /// How logTime is encoded.
    pub time_format: TimeFormat,
    /// signatureValue.
    pub signature: Vec<u8>,
    /// The signed bytes: version through logTime, exactly as stored.
    pub tbs: &'a [u8],
}

/// Why a file is not a log message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not BER.
    #[error(transparent)]
    Ber(#[from] BerError),
    /// An element is not what the layout demands at its place.
    #[error("byte {offset}: {field}: expected {expected}, found {found}")]
    Field {
        /// Where the element starts.
        offset: usize,
        /// The field the layout expects there.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
        /// What is there.
        found: String,
    },
    /// A required field is absent.
    #[error("{field} is missing")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// Bytes after the message.
    #[error("{count} bytes after the log message, from byte {offset}")]
    Trailing {
        /// Where they start.
        offset: usize,
        /// How many.
        count: usize,
    },
}

const OID_LOG_PREFIX: [u8; 8] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x07, 0x01];

/// Parses one log message file.
pub fn parse(file: &[u8]) -> Result<LogMessage<'_>, MessageError> {
    let outer = ber::read(file, 0)?;
    if outer.tag != 0x30 {
        return Err(field_error(&outer, "LogMessage", "SEQUENCE (0x30)"));
    }
    if outer.raw.len() < file.len() {
        return Err(MessageError::Trailing {
            offset: outer.raw.len(),
            count: file.len() - outer.raw.len(),
        });
    }
    let elements = ber::children(&outer)?;
    let (signature_value, body) = elements.split_last().ok_or(MessageError::Missing {
        field: "signatureValue",
    })?;
    let mut it = body.iter().peekable();
    let mut next = |field: &'static str| it.next().ok_or(MessageError::Missing { field });

    let version = expect(next("version")?, "version", &[0x02], "INTEGER (0x02)")?;
    let version = unsigned(version, "version")?;
    let data_type = expect(
        next("certifiedDataType")?,
        "certifiedDataType",
        &[0x06],
        "OBJECT IDENTIFIER (0x06)",
    )?;
    let kind = match data_type.content.split_last() {
        Some((1, prefix)) if prefix == OID_LOG_PREFIX => LogKind::Transaction,
        Some((2, prefix)) if prefix == OID_LOG_PREFIX => LogKind::System,
        Some((3, prefix)) if prefix == OID_LOG_PREFIX => LogKind::Audit,
        _ => {
            return Err(MessageError::Field {
                offset: data_type.offset,
                field: "certifiedDataType",
                expected: "a transaction, system or audit log OID (0.4.0.127.0.7.3.7.1.1/2/3)",
                found: oid_string(data_type.content),
            });
        }
    };

    // certifiedData: context-specific elements, keyed by tag number (spec §2.2).
    let mut certified: [Option<&Tlv<'_>>; 32] = [None; 32];
    while let Some(e) = it.next_if(|e| e.tag & 0xC0 == 0x80) {
        let slot = &mut certified[usize::from(e.tag & 0x1F)];
        if slot.is_some() {
            return Err(field_error(e, "certifiedData", "each tag once"));
        }
        *slot = Some(e);
    }
    let mut next = |field: &'static str| it.next().ok_or(MessageError::Missing { field });
    let serial = expect(
        next("serialNumber")?,
        "serialNumber",
        &[0x04, 0x24],
        "OCTET STRING (0x04)",
    )?;
    let serial = ber::octets(serial)?.0;
    let algorithm = expect(
        next("signatureAlgorithm")?,
        "signatureAlgorithm",
        &[0x30],
        "SEQUENCE (0x30)",
    )?;
    let algorithm_parts = ber::children(algorithm)?;
    let oid = algorithm_parts
        .first()
        .ok_or(MessageError::Missing {
            field: "signatureAlgorithm.algorithm",
        })
        .and_then(|e| {
            expect(
                e,
                "signatureAlgorithm.algorithm",
                &[0x06],
                "OBJECT IDENTIFIER (0x06)",
            )
        })?;
    let algorithm_parameters = algorithm_parts.get(1).map(|first| {
        let start = first.offset - algorithm.content_offset;
        algorithm.content[start..].to_vec()
    });
    let mut counter = next("signatureCounter")?;
    // seAuditData (audit logs) sits between the algorithm and the counter.
    if counter.tag & 0xDF == 0x04 {
        counter = next("signatureCounter")?;
    }
    let counter = expect(counter, "signatureCounter", &[0x02], "INTEGER (0x02)")?;
    let signature_counter = unsigned(counter, "signatureCounter")?;
    let time = next("logTime")?;
    let (log_time, time_format) = log_time(time)?;
    if let Some(extra) = it.next() {
        return Err(field_error(
            extra,
            "signatureValue",
            "the last element after logTime",
        ));
    }
    let signature = expect(
        signature_value,
        "signatureValue",
        &[0x04, 0x24],
        "OCTET STRING (0x04)",
    )?;
    let signature = ber::octets(signature)?.0;

    let text = |tag: usize| -> Result<Option<String>, MessageError> {
        Ok(match certified[tag] {
            Some(e) => Some(String::from_utf8_lossy(&ber::octets(e)?.0).into_owned()),
            None => None,
        })
    };
    let required = |value: Option<String>, field: &'static str| {
        value.map(Some).ok_or(MessageError::Missing { field })
    };
    let mut message = LogMessage {
        kind,
        version,
        operation_type: None,
        client_id: None,
        process_type: None,
        process_data: None,
        transaction_number: None,
        serial,
        algorithm_oid: oid_string(oid.content),
        algorithm: SignatureAlgorithm::from_oid(oid.content),
        algorithm_parameters,
        signature_counter,
        log_time,
        time_format,
        signature,
        tbs: &file[outer.content_offset..signature_value.offset],
    };
    match kind {
        LogKind::Transaction => {
            message.operation_type = required(text(0)?, "operationType")?;
            message.client_id = required(text(1)?, "clientId")?;
            message.process_data = certified[2].map(process_data).transpose()?;
            message.process_type = text(3)?;
            let number = certified[5].ok_or(MessageError::Missing {
                field: "transactionNumber",
            })?;
            message.transaction_number = Some(unsigned(number, "transactionNumber")?);
        }
        LogKind::System => message.operation_type = required(text(0)?, "operationType")?,
        LogKind::Audit => {}
    }
    Ok(message)
}

fn field_error(e: &Tlv<'_>, field: &'static str, expected: &'static str) -> MessageError {
    MessageError::Field {
        offset: e.offset,
        field,
        expected,
        found: format!("tag 0x{:02X}", e.tag),
    }
}

fn expect<'e, 'a>(
    e: &'e Tlv<'a>,
    field: &'static str,
    tags: &[u8],
    expected: &'static str,
) -> Result<&'e Tlv<'a>, MessageError> {
    if tags.contains(&e.tag) {
        Ok(e)
    } else {
        Err(field_error(e, field, expected))
    }
}

/// A non-negative INTEGER (content octets, minimal or not) that fits 64 bits.
fn unsigned(e: &Tlv<'_>, field: &'static str) -> Result<u64, MessageError> {
    let bad = |expected| MessageError::Field {
        offset: e.offset,
        field,
        expected,
        found: format!(
            "content {}",
            crate::regime::kassensichv::logmsg::hex(e.content)
        ),
    };
    if e.constructed() {
        return Err(field_error(e, field, "a primitive INTEGER"));
    }
    match e.content {
        [] => Err(bad("at least one content octet")),
        [first, ..] if first & 0x80 != 0 => Err(bad("a non-negative INTEGER")),
        c => {
            let digits = c.strip_prefix(&[0]).filter(|d| !d.is_empty()).unwrap_or(c);
            if digits.len() > 8 {
                return Err(bad("an INTEGER of at most 64 bits"));
            }
            Ok(digits
                .iter()
                .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
        }
    }
}

fn process_data(e: &Tlv<'_>) -> Result<ProcessData, MessageError> {
    let (bytes, chunks) = ber::octets(e)?;
    let form = match (e.constructed(), e.indefinite) {
        (false, _) => ProcessDataForm::Primitive,
        (true, false) => ProcessDataForm::Constructed,
        (true, true) => ProcessDataForm::ConstructedIndefinite,
    };
    Ok(ProcessData {
        bytes,
        form,
        chunks,
    })
}

fn log_time(e: &Tlv<'_>) -> Result<(DateTime<Utc>, TimeFormat), MessageError> {
    let bad = |expected| MessageError::Field {
        offset: e.offset,
        field: "logTime",
        expected,
        found: format!("{:?}", String::from_utf8_lossy(e.content)),
    };
    match e.tag {
        0x02 => {
            let secs = unsigned(e, "logTime")?;
            i64::try_from(secs)
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .map(|t| (t, TimeFormat::UnixTime))
                .ok_or_else(|| bad("seconds within chrono's range"))
        }
        0x17 => parse_utc_time(e.content)
            .map(|t| (t, TimeFormat::UtcTime))
            .ok_or_else(|| bad("UTCTime YYMMDDhhmm[ss]Z")),
        0x18 => parse_generalized_time(e.content)
            .map(|t| (t, TimeFormat::GeneralizedTime))
            .ok_or_else(|| bad("GeneralizedTime YYYYMMDDhhmmss[.f]Z")),
        _ => Err(field_error(
            e,
            "logTime",
            "INTEGER, UTCTime or GeneralizedTime (0x02, 0x17, 0x18)",
        )),
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |acc, d| acc * 10 + u32::from(d - b'0')))
}

fn civil(year: i32, rest: &[u8], nanos: u32) -> Option<DateTime<Utc>> {
    let field = |i: usize| rest.get(2 * i..2 * i + 2).and_then(digits);
    let seconds = if rest.len() == 10 { field(4)? } else { 0 };
    NaiveDate::from_ymd_opt(year, field(0)?, field(1)?)?
        .and_hms_nano_opt(field(2)?, field(3)?, seconds, nanos)
        .map(|t| t.and_utc())
}

/// UTCTime `YYMMDDhhmm[ss]Z`; years 50–99 are 19xx, 00–49 20xx (RFC 5280 4.1.2.5.1). Local
/// offsets are refused: a TSE keeps UTC (spec §2.3).
pub fn parse_utc_time(s: &[u8]) -> Option<DateTime<Utc>> {
    let body = s.strip_suffix(b"Z")?;
    if body.len() != 10 && body.len() != 12 {
        return None;
    }
    let yy = i32::try_from(digits(&body[..2])?).ok()?;
    civil(if yy < 50 { 2000 + yy } else { 1900 + yy }, &body[2..], 0)
}

/// GeneralizedTime `YYYYMMDDhhmmss[.f…]Z` in UTC; the fraction is kept (no real sample shows
/// whether TSEs write one, spec §11).
pub fn parse_generalized_time(s: &[u8]) -> Option<DateTime<Utc>> {
    let body = s.strip_suffix(b"Z")?;
    let (main, fraction) = match body.iter().position(|b| *b == b'.' || *b == b',') {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    if main.len() != 14 {
        return None;
    }
    let nanos = match fraction {
        None => 0,
        Some(f) if f.is_empty() || f.len() > 9 => return None,
        Some(f) => digits(f)? * 10u32.pow(9 - f.len() as u32),
    };
    civil(i32::try_from(digits(&main[..4])?).ok()?, &main[4..], nanos)
}

/// An OID in dotted form, from its content octets (`?` for a malformed arc).
pub fn oid_string(content: &[u8]) -> String {
    let mut arcs: Vec<String> = Vec::new();
    let mut value: u64 = 0;
    let mut overflow = false;
    for (i, b) in content.iter().enumerate() {
        overflow |= value > (u64::MAX >> 7);
        value = (value << 7) | u64::from(b & 0x7F);
        if b & 0x80 != 0 && i + 1 < content.len() {
            continue;
        }
        let arc = |v: u64| {
            if overflow {
                "?".to_string()
            } else {
                v.to_string()
            }
        };
        if arcs.is_empty() {
            // The first octets join the first two arcs as 40 * first + second (X.690 8.19.4).
            let (first, second) = match value {
                _ if overflow => (2, 0),
                0..40 => (0, value),
                40..80 => (1, value - 40),
                _ => (2, value - 80),
            };
            arcs.push(first.to_string());
            arcs.push(arc(second));
        } else {
            arcs.push(arc(value));
        }
        value = 0;
        overflow = false;
    }
    arcs.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    /// synth-ber-processdata-p384 of the synthetic conformance set: a complete log message
    /// with processData as A2 80 04 LL … 00 00.
    const BER_LOG: &str = "MIIBEwIBAgYJBAB/AAcDBwEBgBFGaW5pc2hUcmFuc2FjdGlvboEOU1lOVEgtQ0xJRU5ULTeigAQsQmVsZWdeMjkuNDFfMjguMDRfMC4wMF8wLjAwXzAuMDBeNjUuMDA6VW5iYXIAAIMOS2Fzc2VuYmVsZWctVjGFAgDaBCA1Tp8WSwbhIPnjOqaS8UFkiIglRYSJwvct+Sx000mJxTAMBgoEAH8ABwEBBAEEAgICdgIEYS4OLARgK0XSk8USaau/8MU2ksRQvuA93qBUZVuxn2gMFLXGFbkDjTHmN/tYbZ2k67UU1XxYFLWCJCogrzAJJJKLLwuqeWQBE00WtazKNMyK8YT4z/GuZnJf7hyDmO2ivZm3FhK9";

    fn ber_log() -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(BER_LOG)
            .unwrap()
    }

    #[test]
    fn reads_every_field_and_slices_the_signed_bytes() {
        let bytes = ber_log();
        let m = parse(&bytes).unwrap();
        assert_eq!(m.kind, LogKind::Transaction);
        assert_eq!(m.version, 2);
        assert_eq!(m.operation_type.as_deref(), Some("FinishTransaction"));
        assert_eq!(m.client_id.as_deref(), Some("SYNTH-CLIENT-7"));
        assert_eq!(m.process_type.as_deref(), Some("Kassenbeleg-V1"));
        let pd = m.process_data.as_ref().unwrap();
        assert_eq!(pd.bytes, b"Beleg^29.41_28.04_0.00_0.00_0.00^65.00:Unbar");
        assert_eq!(
            (pd.form, pd.chunks),
            (ProcessDataForm::ConstructedIndefinite, 1)
        );
        assert_eq!(m.transaction_number, Some(218));
        assert_eq!(m.signature_counter, 630);
        assert_eq!(m.log_time.timestamp(), 1_630_408_236);
        assert_eq!(m.time_format, TimeFormat::UnixTime);
        assert_eq!(m.algorithm, Some(SignatureAlgorithm::EcdsaPlainSha384));
        assert_eq!(m.algorithm_oid, "0.4.0.127.0.7.1.1.4.1.4");
        assert_eq!(m.algorithm_parameters, None);
        assert_eq!(m.signature.len(), 96);
        // The tbs_hex the conformance file gives for this vector.
        assert_eq!(
            crate::regime::kassensichv::logmsg::hex(m.tbs),
            "020102060904007f000703070101801146696e6973685472616e73616374696f6e810e53594e54482d434c49454e542d37a280042c42656c65675e32392e34315f32382e30345f302e30305f302e30305f302e30305e36352e30303a556e6261720000830e4b617373656e62656c65672d5631850200da0420354e9f164b06e120f9e33aa692f14164888825458489c2f72df92c74d34989c5300c060a04007f00070101040104020202760204612e0e2c"
        );
    }

    /// The same message with an indefinite outer SEQUENCE and processData in two chunks: the
    /// value is the concatenation, the signed bytes stay as stored.
    #[test]
    fn indefinite_outer_sequence_and_multi_chunk_process_data() {
        let bytes = ber_log();
        let m = parse(&bytes).unwrap();
        let split = b"Beleg^29.41_28.04_0.00_0.00_0.00^65.00:Unbar";
        let mut chunked = vec![0xA2, 0x80, 0x04, 0x05];
        chunked.extend(&split[..5]);
        chunked.push(0x04);
        chunked.push((split.len() - 5) as u8);
        chunked.extend(&split[5..]);
        chunked.extend([0, 0]);
        let old_pd = [&[0xA2, 0x80, 0x04, 0x2C][..], &split[..], &[0, 0]].concat();
        let hex_tbs = crate::regime::kassensichv::logmsg::hex(m.tbs);
        let new_tbs_hex = hex_tbs.replace(
            &crate::regime::kassensichv::logmsg::hex(&old_pd),
            &crate::regime::kassensichv::logmsg::hex(&chunked),
        );
        let tbs: Vec<u8> = (0..new_tbs_hex.len() / 2)
            .map(|i| u8::from_str_radix(&new_tbs_hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let mut file = vec![0x30, 0x80];
        file.extend(&tbs);
        file.extend([0x04, 0x60]);
        file.extend(&m.signature);
        file.extend([0, 0]);
        let c = parse(&file).unwrap();
        let pd = c.process_data.unwrap();
        assert_eq!(pd.bytes, split);
        assert_eq!(
            (pd.form, pd.chunks),
            (ProcessDataForm::ConstructedIndefinite, 2)
        );
        assert_eq!(c.tbs, &tbs[..]);
        assert_eq!(c.signature, m.signature);
    }

    #[test]
    fn broken_messages_are_errors_not_panics() {
        let bytes = ber_log();
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            parse(&trailing),
            Err(MessageError::Trailing {
                offset: bytes.len(),
                count: 1
            })
        );
        let mut wrong = bytes.clone();
        wrong[4] = 0x03; // version INTEGER -> BIT STRING
        assert!(matches!(
            parse(&wrong),
            Err(MessageError::Field {
                offset: 4,
                field: "version",
                ..
            })
        ));
    }

    /// A message around `certified` (already encoded certifiedData elements) of `kind`
    /// (last OID arc), with a UTCTime logTime and an unknown algorithm with parameters.
    fn message(kind: u8, certified: &[u8], se_audit: bool) -> Vec<u8> {
        let mut body = vec![0x02, 0x01, 0x02, 0x06, 0x09];
        body.extend(OID_LOG_PREFIX);
        body.push(kind);
        body.extend(certified);
        body.extend([0x04, 0x02, 0xAB, 0xCD]);
        // ecdsa-plain-SHA3-256 (…4.1.9) with a NULL parameter.
        body.extend([
            0x30, 0x0E, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04,
        ]);
        body.extend([0x01, 0x09, 0x05, 0x00]);
        if se_audit {
            body.extend([0x04, 0x01, 0x77]);
        }
        body.extend([0x02, 0x02, 0x00, 0x80]);
        body.extend([0x17, 0x0D]);
        body.extend(b"200522113302Z");
        let tbs_len = body.len();
        body.extend([0x04, 0x02, 0x01, 0x02]);
        let mut out = vec![0x30, 0x81, body.len() as u8];
        out.extend(body);
        assert!(tbs_len < out.len());
        out
    }

    #[test]
    fn system_and_audit_logs() {
        let mut op = vec![0x80, 0x0A];
        op.extend(b"updateTime");
        op.extend([0x81, 0x03, 0x30, 0x01, 0x00]); // systemOperationData, opaque
        let bytes = message(2, &op, false);
        let m = parse(&bytes).unwrap();
        assert_eq!(m.kind, LogKind::System);
        assert_eq!(m.operation_type.as_deref(), Some("updateTime"));
        assert_eq!((m.client_id.as_ref(), m.transaction_number), (None, None));
        assert_eq!(m.algorithm, None);
        assert_eq!(m.algorithm_oid, "0.4.0.127.0.7.1.1.4.1.9");
        assert_eq!(m.algorithm_parameters, Some(vec![0x05, 0x00]));
        assert_eq!(m.signature_counter, 128);
        assert_eq!(m.time_format, TimeFormat::UtcTime);
        assert_eq!(m.log_time.timestamp(), 1_590_147_182);
        assert_eq!(m.signature, [1, 2]);
        assert_eq!(m.tbs, &bytes[3..bytes.len() - 4]);

        let bytes = message(3, &[], true);
        let m = parse(&bytes).unwrap();
        assert_eq!((m.kind, m.operation_type), (LogKind::Audit, None));
        assert_eq!(m.signature_counter, 128);
        assert_eq!(m.tbs, &bytes[3..bytes.len() - 4]);

        assert_eq!(
            parse(&message(2, &[], false)),
            Err(MessageError::Missing {
                field: "operationType"
            })
        );
        assert!(matches!(
            parse(&message(4, &[], false)),
            Err(MessageError::Field {
                field: "certifiedDataType",
                ..
            })
        ));
        let mut tx = vec![0x80, 0x01, b'S', 0x81, 0x01, b'C'];
        assert_eq!(
            parse(&message(1, &tx, false)),
            Err(MessageError::Missing {
                field: "transactionNumber"
            })
        );
        tx.extend([0x85, 0x01, 0x80]);
        assert!(matches!(
            parse(&message(1, &tx, false)),
            Err(MessageError::Field {
                field: "transactionNumber",
                ..
            })
        ));
        tx.extend([0x80, 0x00]);
        assert!(matches!(
            parse(&message(1, &tx, false)),
            Err(MessageError::Field {
                field: "certifiedData",
                ..
            })
        ));
    }

    #[test]
    fn times_in_all_three_formats() {
        let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        assert_eq!(
            parse_utc_time(b"200522113302Z"),
            Some(t("2020-05-22T11:33:02Z"))
        );
        assert_eq!(
            parse_utc_time(b"2005221133Z"),
            Some(t("2020-05-22T11:33:00Z"))
        );
        assert_eq!(
            parse_utc_time(b"990101000000Z"),
            Some(t("1999-01-01T00:00:00Z"))
        );
        assert_eq!(parse_utc_time(b"200522113302+0100"), None);
        assert_eq!(parse_utc_time(b"201322113302Z"), None);
        assert_eq!(
            parse_generalized_time(b"20240102030406Z"),
            Some(t("2024-01-02T03:04:06Z"))
        );
        assert_eq!(
            parse_generalized_time(b"20240102030406.5Z"),
            Some(t("2024-01-02T03:04:06.500Z"))
        );
        assert_eq!(parse_generalized_time(b"20240102030406.Z"), None);
        assert_eq!(parse_generalized_time(b"2024010203040Z"), None);
    }

    #[test]
    fn oids_in_dotted_form() {
        assert_eq!(
            oid_string(&[0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x07, 0x01, 0x01]),
            "0.4.0.127.0.7.3.7.1.1"
        );
        assert_eq!(
            oid_string(&[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07]),
            "1.2.840.10045.3.1.7"
        );
        assert_eq!(oid_string(&[]), "");
        assert_eq!(oid_string(&[0xFF; 12]), "2.?");
    }
}
