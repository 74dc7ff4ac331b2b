//! The DSFinV-K receipt QR code (`V0;…`, 12 fields) as a [`SignedLog`].
//!
//! Field order (spec §3.1): V0; clientId; processType; processData; transactionNumber;
//! signatureCounter; startTime; logTime; sigAlg; logTimeFormat; signature; publicKey.
//! processData may contain ';' (Bestellung-V1), so the three leading and eight trailing
//! fields are taken from the ends and whatever lies between is processData.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use chrono::{DateTime, Utc};

use super::logmsg::{SignatureAlgorithm, SignedLog, TimeFormat};

/// Standard alphabet, padding optional: receipts are printed by many POS systems and some
/// drop the trailing '='; the decoded bytes are what matters.
pub(crate) const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a QR string (or a fiscal block) cannot be turned into a log message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Not a `V0;` code.
    #[error("not a DSFinV-K V0 QR code (starts with {0:?})")]
    NotV0(String),
    /// Fewer than 12 `;`-separated fields.
    #[error("expected 12 ';'-separated fields, found {0}")]
    FieldCount(usize),
    /// A counter is not a non-negative integer.
    #[error("{field} is not a non-negative integer: {value:?}")]
    Number {
        /// The field name.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// A time is not ISO 8601 / RFC 3339.
    #[error("{field} is not an ISO 8601 time: {value:?}")]
    Time {
        /// The field name.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// Unknown or unsupported signature algorithm.
    #[error("unsupported signature algorithm {0:?} (known: ecdsa-plain-SHA224/256/384/512)")]
    Algorithm(String),
    /// Unknown time format.
    #[error("unknown log time format {0:?} (known: unixTime, utcTime, generalizedTime)")]
    TimeFormat(String),
    /// Not Base64.
    #[error("{field} is not Base64: {reason}")]
    Base64 {
        /// The field name.
        field: &'static str,
        /// The decoder's complaint.
        reason: String,
    },
    /// Values needed for the rebuild that are absent from every source, all of them.
    #[error("{} missing (not in the fiscal block, the master data or the QR code)", .0.join(", "))]
    Missing(Vec<&'static str>),
}

/// The fields of a V0 QR code, as text (nothing decoded yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrFields<'a> {
    /// Field 2, clientId.
    pub client_id: &'a str,
    /// Field 3, processType.
    pub process_type: &'a str,
    /// Field 4, processData.
    pub process_data: &'a str,
    /// Field 5, transactionNumber.
    pub transaction_number: &'a str,
    /// Field 6, signatureCounter.
    pub signature_counter: &'a str,
    /// Field 7, start time (not signed in the Finish log).
    pub start_time: &'a str,
    /// Field 8, logTime.
    pub log_time: &'a str,
    /// Field 9, signature algorithm.
    pub algorithm: &'a str,
    /// Field 10, logTime format.
    pub time_format: &'a str,
    /// Field 11, signature Base64.
    pub signature: &'a str,
    /// Field 12, public key Base64.
    pub public_key: &'a str,
}

/// Splits a V0 QR string into its fields (see the module doc for ';' in processData).
pub fn split_qr(qr: &str) -> Result<QrFields<'_>, QrError> {
    // A trailing CR from Windows files or scanners is never part of the signed data.
    let qr = qr.trim_end_matches(['\r', '\n']);
    let parts: Vec<&str> = qr.split(';').collect();
    if parts.first() != Some(&"V0") {
        let head: String = qr.chars().take(8).collect();
        return Err(QrError::NotV0(head));
    }
    if parts.len() < 12 {
        return Err(QrError::FieldCount(parts.len()));
    }
    let tail = &parts[parts.len() - 8..];
    let middle_end = qr.len() - tail.iter().map(|s| s.len() + 1).sum::<usize>();
    let middle_start = parts[..3].iter().map(|s| s.len() + 1).sum::<usize>();
    Ok(QrFields {
        client_id: parts[1],
        process_type: parts[2],
        process_data: &qr[middle_start..middle_end],
        transaction_number: tail[0],
        signature_counter: tail[1],
        start_time: tail[2],
        log_time: tail[3],
        algorithm: tail[4],
        time_format: tail[5],
        signature: tail[6],
        public_key: tail[7],
    })
}

pub(crate) fn number(field: &'static str, value: &str) -> Result<u64, QrError> {
    value.parse::<u64>().map_err(|_| QrError::Number {
        field,
        value: value.to_string(),
    })
}

pub(crate) fn time(field: &'static str, value: &str) -> Result<DateTime<Utc>, QrError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.to_utc())
        .map_err(|_| QrError::Time {
            field,
            value: value.to_string(),
        })
}

pub(crate) fn algorithm(value: &str) -> Result<SignatureAlgorithm, QrError> {
    SignatureAlgorithm::parse(value).ok_or_else(|| QrError::Algorithm(value.to_string()))
}

pub(crate) fn time_format(value: &str) -> Result<TimeFormat, QrError> {
    TimeFormat::parse(value).ok_or_else(|| QrError::TimeFormat(value.to_string()))
}

pub(crate) fn base64(field: &'static str, value: &str) -> Result<Vec<u8>, QrError> {
    B64.decode(value.trim()).map_err(|e| QrError::Base64 {
        field,
        reason: e.to_string(),
    })
}

/// Parses a V0 QR string into the FinishTransaction log it attests.
pub fn parse_qr(qr: &str) -> Result<SignedLog, QrError> {
    let f = split_qr(qr)?;
    Ok(SignedLog {
        operation_type: "FinishTransaction".to_string(),
        client_id: f.client_id.to_string(),
        process_type: f.process_type.to_string(),
        process_data: f.process_data.to_string(),
        transaction_number: number("transactionNumber", f.transaction_number)?,
        signature_counter: number("signatureCounter", f.signature_counter)?,
        log_time: time("logTime", f.log_time)?,
        algorithm: algorithm(f.algorithm)?,
        time_format: time_format(f.time_format)?,
        signature: base64("signature", f.signature)?,
        public_key: base64("publicKey", f.public_key)?,
        stated_serial: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const QR: &str = "V0;AMA-6200;KassenBeleg-V1;Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar;160504;344413;2021-07-23T10:12:54.000Z;2021-07-23T10:12:55.000Z;ecdsa-plain-SHA384;unixTime;AAEC;BAEC";

    #[test]
    fn splits_twelve_fields() {
        let f = split_qr(QR).unwrap();
        assert_eq!(f.client_id, "AMA-6200");
        assert_eq!(f.process_data, "Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar");
        assert_eq!(f.signature_counter, "344413");
        assert_eq!(f.public_key, "BAEC");
    }

    #[test]
    fn semicolons_in_process_data_stay_in_process_data() {
        let qr = QR.replace("Beleg^2.90", "1;\"Salad\";7.90\r1;Beleg^2.90");
        let f = split_qr(&qr).unwrap();
        assert_eq!(
            f.process_data,
            "1;\"Salad\";7.90\r1;Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar"
        );
        assert_eq!(f.transaction_number, "160504");
    }

    #[test]
    fn empty_process_data_is_kept() {
        let qr = QR.replace("Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar", "");
        assert_eq!(split_qr(&qr).unwrap().process_data, "");
    }

    #[test]
    fn malformed_codes_are_errors_not_panics() {
        assert_eq!(split_qr("V1;a"), Err(QrError::NotV0("V1;a".into())));
        assert_eq!(split_qr("V0;a;b"), Err(QrError::FieldCount(3)));
        assert!(matches!(
            parse_qr(&QR.replace(";160504;", ";-5;")),
            Err(QrError::Number {
                field: "transactionNumber",
                ..
            })
        ));
        assert!(matches!(
            parse_qr(&QR.replace("2021-07-23T10:12:55.000Z", "gestern")),
            Err(QrError::Time {
                field: "logTime",
                ..
            })
        ));
        assert!(matches!(
            parse_qr(&QR.replace("ecdsa-plain-SHA384", "rsa")),
            Err(QrError::Algorithm(_))
        ));
        assert!(matches!(
            parse_qr(&QR.replace(";AAEC;", ";!!;")),
            Err(QrError::Base64 {
                field: "signature",
                ..
            })
        ));
        assert_eq!(parse_qr(QR).unwrap().public_key, [4, 1, 2]);
    }
}
