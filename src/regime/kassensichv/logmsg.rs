//! The TR-03151 transaction log message and its to-be-signed bytes.
//!
//! DTBS = the TLVs of every LogMessage element except the final signatureValue, concatenated
//! with no outer SEQUENCE header (spec §2.6). Elements are encoded from the receipt values as
//! the TSE would have; the encodings a receipt cannot pin down (time format, processData
//! form) are parameters so the verifier can try the variants real TSEs use.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::Digest;

use super::tlv::{integer_content, push_len, push_tlv, unsigned_content};

/// OID 0.4.0.127.0.7.3.7.1.1 (transaction log), DER content octets.
const OID_TRANSACTION_LOG: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x03, 0x07, 0x01, 0x01];
/// OID prefix 0.4.0.127.0.7.1.1.4.1 (ecdsa-plain-*); the last arc names the hash.
const OID_ECDSA_PLAIN_PREFIX: [u8; 9] = [0x04, 0x00, 0x7F, 0x00, 0x07, 0x01, 0x01, 0x04, 0x01];

/// A BSI TR-03111 `ecdsa-plain-*` signature algorithm (the SHA-2 family; SHA-3 has no hash
/// implementation in this build and is refused as unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SignatureAlgorithm {
    /// `ecdsa-plain-SHA224`, OID …4.1.2.
    #[serde(rename = "ecdsa-plain-SHA224")]
    EcdsaPlainSha224,
    /// `ecdsa-plain-SHA256`, OID …4.1.3.
    #[serde(rename = "ecdsa-plain-SHA256")]
    EcdsaPlainSha256,
    /// `ecdsa-plain-SHA384`, OID …4.1.4.
    #[serde(rename = "ecdsa-plain-SHA384")]
    EcdsaPlainSha384,
    /// `ecdsa-plain-SHA512`, OID …4.1.5.
    #[serde(rename = "ecdsa-plain-SHA512")]
    EcdsaPlainSha512,
}

impl SignatureAlgorithm {
    /// Parses the TR-03111 name; the hash part is matched case-insensitively because POS
    /// systems print both `SHA256` and `sha256` (the name itself is not signed, its OID is).
    pub fn parse(name: &str) -> Option<SignatureAlgorithm> {
        let rest = name.trim().strip_prefix("ecdsa-plain-")?;
        match rest.to_ascii_uppercase().as_str() {
            "SHA224" => Some(SignatureAlgorithm::EcdsaPlainSha224),
            "SHA256" => Some(SignatureAlgorithm::EcdsaPlainSha256),
            "SHA384" => Some(SignatureAlgorithm::EcdsaPlainSha384),
            "SHA512" => Some(SignatureAlgorithm::EcdsaPlainSha512),
            _ => None,
        }
    }

    /// The TR-03111 name.
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::EcdsaPlainSha224 => "ecdsa-plain-SHA224",
            SignatureAlgorithm::EcdsaPlainSha256 => "ecdsa-plain-SHA256",
            SignatureAlgorithm::EcdsaPlainSha384 => "ecdsa-plain-SHA384",
            SignatureAlgorithm::EcdsaPlainSha512 => "ecdsa-plain-SHA512",
        }
    }

    /// The algorithm of a DER OID (content octets), if it is one of these four.
    pub fn from_oid(oid: &[u8]) -> Option<SignatureAlgorithm> {
        match oid.split_last() {
            Some((2, prefix)) if prefix == OID_ECDSA_PLAIN_PREFIX => {
                Some(SignatureAlgorithm::EcdsaPlainSha224)
            }
            Some((3, prefix)) if prefix == OID_ECDSA_PLAIN_PREFIX => {
                Some(SignatureAlgorithm::EcdsaPlainSha256)
            }
            Some((4, prefix)) if prefix == OID_ECDSA_PLAIN_PREFIX => {
                Some(SignatureAlgorithm::EcdsaPlainSha384)
            }
            Some((5, prefix)) if prefix == OID_ECDSA_PLAIN_PREFIX => {
                Some(SignatureAlgorithm::EcdsaPlainSha512)
            }
            _ => None,
        }
    }

    fn oid_last_arc(self) -> u8 {
        match self {
            SignatureAlgorithm::EcdsaPlainSha224 => 2,
            SignatureAlgorithm::EcdsaPlainSha256 => 3,
            SignatureAlgorithm::EcdsaPlainSha384 => 4,
            SignatureAlgorithm::EcdsaPlainSha512 => 5,
        }
    }

    /// The message digest this algorithm signs.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            SignatureAlgorithm::EcdsaPlainSha224 => sha2::Sha224::digest(data).to_vec(),
            SignatureAlgorithm::EcdsaPlainSha256 => sha2::Sha256::digest(data).to_vec(),
            SignatureAlgorithm::EcdsaPlainSha384 => sha2::Sha384::digest(data).to_vec(),
            SignatureAlgorithm::EcdsaPlainSha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

/// How the TSE encodes logTime (TR-03151 CHOICE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TimeFormat {
    /// INTEGER seconds since the epoch.
    #[serde(rename = "unixTime")]
    UnixTime,
    /// UTCTime `YYMMDDhhmmssZ`.
    #[serde(rename = "utcTime")]
    UtcTime,
    /// GeneralizedTime `YYYYMMDDhhmmssZ` (no fraction; no real sample seen, spec §2.3).
    #[serde(rename = "generalizedTime")]
    GeneralizedTime,
}

impl TimeFormat {
    /// Every format, in the order the verifier falls back to them.
    pub const ALL: [TimeFormat; 3] = [
        TimeFormat::UnixTime,
        TimeFormat::UtcTime,
        TimeFormat::GeneralizedTime,
    ];

    /// Parses the API / QR name (`unixTime`, `utcTime`, `generalizedTime`), ignoring case.
    pub fn parse(name: &str) -> Option<TimeFormat> {
        match name.trim().to_ascii_lowercase().as_str() {
            "unixtime" => Some(TimeFormat::UnixTime),
            "utctime" => Some(TimeFormat::UtcTime),
            "generalizedtime" => Some(TimeFormat::GeneralizedTime),
            _ => None,
        }
    }

    /// The API / QR name.
    pub fn name(self) -> &'static str {
        match self {
            TimeFormat::UnixTime => "unixTime",
            TimeFormat::UtcTime => "utcTime",
            TimeFormat::GeneralizedTime => "generalizedTime",
        }
    }

    fn push(self, out: &mut Vec<u8>, t: DateTime<Utc>) {
        match self {
            TimeFormat::UnixTime => push_tlv(out, 0x02, &integer_content(t.timestamp())),
            TimeFormat::UtcTime => {
                push_tlv(out, 0x17, t.format("%y%m%d%H%M%SZ").to_string().as_bytes())
            }
            TimeFormat::GeneralizedTime => {
                push_tlv(out, 0x18, t.format("%Y%m%d%H%M%SZ").to_string().as_bytes())
            }
        }
    }
}

/// How processData sits in the log message (spec §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessDataEncoding {
    /// DER primitive `82 LL data` (fiskaly, brainpool hardware TSEs).
    DerPrimitive,
    /// BER constructed indefinite `A2 80 04 LL data 00 00` (single-chunk D-Trust logs).
    BerIndefinite,
}

impl ProcessDataEncoding {
    /// Every encoding, in the order the verifier tries them.
    pub const ALL: [ProcessDataEncoding; 2] = [
        ProcessDataEncoding::DerPrimitive,
        ProcessDataEncoding::BerIndefinite,
    ];
}

/// Everything a FinishTransaction log message holds, as read from a receipt, with the key
/// and signature still raw (the verifier decides their form).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedLog {
    /// operationType, normally `FinishTransaction` (the log a receipt carries).
    pub operation_type: String,
    /// clientId, byte-exact as signed.
    pub client_id: String,
    /// processType, byte-exact (`KassenBeleg-V1` and `Kassenbeleg-V1` are different data).
    pub process_type: String,
    /// processData, byte-exact.
    pub process_data: String,
    /// transactionNumber.
    pub transaction_number: u64,
    /// signatureCounter.
    pub signature_counter: u64,
    /// logTime.
    pub log_time: DateTime<Utc>,
    /// The algorithm stated with the signature.
    pub algorithm: SignatureAlgorithm,
    /// The logTime format stated with the signature.
    pub time_format: TimeFormat,
    /// Signature bytes (r‖s or DER), Base64-decoded.
    pub signature: Vec<u8>,
    /// Public key bytes (SEC1 point or SubjectPublicKeyInfo), Base64-decoded.
    pub public_key: Vec<u8>,
    /// The TSE serial the source states (hex), if any; checked against the key.
    pub stated_serial: Option<String>,
}

/// The to-be-signed bytes of `log` under one encoding variant; `serial` is the 32-byte
/// SHA-256 of the raw public key point.
pub fn dtbs(
    log: &SignedLog,
    serial: &[u8],
    time_format: TimeFormat,
    process_data: ProcessDataEncoding,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + log.process_data.len());
    push_tlv(&mut out, 0x02, &[0x02]);
    push_tlv(&mut out, 0x06, &OID_TRANSACTION_LOG);
    push_tlv(&mut out, 0x80, log.operation_type.as_bytes());
    push_tlv(&mut out, 0x81, log.client_id.as_bytes());
    let data = log.process_data.as_bytes();
    match process_data {
        ProcessDataEncoding::DerPrimitive => push_tlv(&mut out, 0x82, data),
        ProcessDataEncoding::BerIndefinite => {
            out.extend_from_slice(&[0xA2, 0x80]);
            push_tlv(&mut out, 0x04, data);
            out.extend_from_slice(&[0x00, 0x00]);
        }
    }
    push_tlv(&mut out, 0x83, log.process_type.as_bytes());
    push_tlv(&mut out, 0x85, &unsigned_content(log.transaction_number));
    push_tlv(&mut out, 0x04, serial);
    let mut oid = OID_ECDSA_PLAIN_PREFIX.to_vec();
    oid.push(log.algorithm.oid_last_arc());
    out.push(0x30);
    push_len(&mut out, oid.len() + 2);
    push_tlv(&mut out, 0x06, &oid);
    push_tlv(&mut out, 0x02, &unsigned_content(log.signature_counter));
    time_format.push(&mut out, log.log_time);
    out
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ama_6200() -> SignedLog {
        SignedLog {
            operation_type: "FinishTransaction".into(),
            client_id: "AMA-6200".into(),
            process_type: "KassenBeleg-V1".into(),
            process_data: "Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar".into(),
            transaction_number: 160_504,
            signature_counter: 344_413,
            log_time: DateTime::parse_from_rfc3339("2021-07-23T10:12:55.000Z")
                .unwrap()
                .to_utc(),
            algorithm: SignatureAlgorithm::EcdsaPlainSha384,
            time_format: TimeFormat::UnixTime,
            signature: Vec::new(),
            public_key: Vec::new(),
            stated_serial: None,
        }
    }

    fn serial() -> Vec<u8> {
        (0..32)
            .map(|i| {
                u8::from_str_radix(
                    &"2ddbd6b0df57a4d8c1e4578a89952922dfe979e94f5c7444192cf8d04e063127"
                        [2 * i..2 * i + 2],
                    16,
                )
                .unwrap()
            })
            .collect()
    }

    /// The worked example of spec §3.3, byte for byte.
    #[test]
    fn worked_example_matches_the_spec() {
        let got = dtbs(
            &ama_6200(),
            &serial(),
            TimeFormat::UnixTime,
            ProcessDataEncoding::DerPrimitive,
        );
        assert_eq!(got.len(), 166);
        assert_eq!(
            hex(&got),
            "020102060904007f000703070101801146696e6973685472616e73616374696f6e8108414d412d36323030822942656c65675e322e39305f302e30305f302e30305f302e30305f322e31305e352e30303a556e626172830e4b617373656e42656c65672d563185030272f804202ddbd6b0df57a4d8c1e4578a89952922dfe979e94f5c7444192cf8d04e063127300c060a04007f00070101040104020305415d020460fa9627"
        );
    }

    #[test]
    fn time_formats_encode_as_the_spec_says() {
        let mut log = ama_6200();
        log.log_time = DateTime::parse_from_rfc3339("2020-05-22T11:33:02Z")
            .unwrap()
            .to_utc();
        let tail = |tf| {
            let d = dtbs(&log, &serial(), tf, ProcessDataEncoding::DerPrimitive);
            hex(&d[d.len() - 17..])
        };
        assert!(tail(TimeFormat::UnixTime).ends_with("02045ec7b86e"));
        assert!(tail(TimeFormat::UtcTime).ends_with(&format!("170d{}", hex(b"200522113302Z"))));
        assert_eq!(
            tail(TimeFormat::GeneralizedTime),
            format!("180f{}", hex(b"20200522113302Z"))
        );
    }

    #[test]
    fn ber_process_data_wraps_an_octet_string_in_indefinite_length() {
        let mut log = ama_6200();
        log.process_data = "ab".into();
        let d = dtbs(
            &log,
            &serial(),
            TimeFormat::UnixTime,
            ProcessDataEncoding::BerIndefinite,
        );
        assert!(hex(&d).contains("a28004026162000083"));
        let d = dtbs(
            &log,
            &serial(),
            TimeFormat::UnixTime,
            ProcessDataEncoding::DerPrimitive,
        );
        assert!(hex(&d).contains("8202616283"));
    }

    #[test]
    fn names_parse() {
        assert_eq!(
            SignatureAlgorithm::parse("ecdsa-plain-SHA384"),
            Some(SignatureAlgorithm::EcdsaPlainSha384)
        );
        assert_eq!(SignatureAlgorithm::parse("ecdsa-plain-SHA3-256"), None);
        assert_eq!(SignatureAlgorithm::parse("rsa"), None);
        assert_eq!(TimeFormat::parse("utcTime"), Some(TimeFormat::UtcTime));
        assert_eq!(TimeFormat::parse("localTime"), None);
    }

    #[test]
    fn algorithms_round_trip_through_their_oid() {
        for alg in [
            SignatureAlgorithm::EcdsaPlainSha224,
            SignatureAlgorithm::EcdsaPlainSha256,
            SignatureAlgorithm::EcdsaPlainSha384,
            SignatureAlgorithm::EcdsaPlainSha512,
        ] {
            let mut oid = OID_ECDSA_PLAIN_PREFIX.to_vec();
            oid.push(alg.oid_last_arc());
            assert_eq!(SignatureAlgorithm::from_oid(&oid), Some(alg));
        }
        // ecdsa-plain-SHA3-256 (…4.1.9) has no hash implementation here.
        let mut sha3 = OID_ECDSA_PLAIN_PREFIX.to_vec();
        sha3.push(9);
        assert_eq!(SignatureAlgorithm::from_oid(&sha3), None);
    }
}
