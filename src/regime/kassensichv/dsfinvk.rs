//! A DSFinV-K `transactions_tse` row plus its `tse` row (Stamm_TSE) as the FinishTransaction
//! [`SignedLog`] the TSE signed.
//!
//! Mapping (DSFinV-K spec §5.2, KassenSichV spec §6): transactionNumber = TSE_TANR,
//! signatureCounter = TSE_TA_SIGZ, logTime = TSE_TA_ENDE, processType = TSE_TA_VORGANGSART,
//! processData = TSE_VORGANGSDATEN (named TSE_TA_VORGANGSDATEN before DSFinV-K 2.4),
//! signature = TSE_TA_SIG; from the tse row the algorithm TSE_SIG_ALGO, the logTime format
//! TSE_ZEITFORMAT, the processData encoding TSE_PD_ENCODING, the key TSE_PUBLIC_KEY and the
//! stated serial TSE_SERIAL. The clientId is in neither table: it is KASSE_SERIENNR
//! (cashregister.csv) or, for a Vorgang from a terminal, TERMINAL_SERIENNR (slaves.csv), so
//! the caller passes it. The rows are plain text as in the CSV; this module knows nothing of
//! how they were read or written. Values are used byte-exact: signed data is never normalised.

use base64::Engine;

use super::logmsg::{SignatureAlgorithm, SignedLog, TimeFormat, hex};
use super::qr::B64;

/// The `transactions_tse.csv` (TSE_Transaktionen) columns the rebuild reads, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransactionsTse {
    /// Z_KASSE_ID: the register of the closing.
    pub z_kasse_id: String,
    /// Z_ERSTELLUNG: when the closing was made.
    pub z_erstellung: String,
    /// Z_NR: the closing number.
    pub z_nr: String,
    /// BON_ID: the Vorgang.
    pub bon_id: String,
    /// TSE_ID: the TSE, as numbered in the closing's tse.csv.
    pub tse_id: String,
    /// TSE_TANR: transactionNumber.
    pub tse_tanr: String,
    /// TSE_TA_ENDE: logTime of the Finish log, `YYYY-MM-DDThh:mm:ss.fffZ`.
    pub tse_ta_ende: String,
    /// TSE_TA_VORGANGSART: processType.
    pub tse_ta_vorgangsart: String,
    /// TSE_TA_SIGZ: signatureCounter of the Finish log.
    pub tse_ta_sigz: String,
    /// TSE_TA_SIG: the Finish log's signature, Base64.
    pub tse_ta_sig: String,
    /// TSE_VORGANGSDATEN: processData; optional in DSFinV-K, `None` when the cell is empty.
    pub tse_vorgangsdaten: Option<String>,
}

/// The `tse.csv` (Stamm_TSE) columns the rebuild reads, as text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tse {
    /// Z_KASSE_ID.
    pub z_kasse_id: String,
    /// Z_ERSTELLUNG.
    pub z_erstellung: String,
    /// Z_NR.
    pub z_nr: String,
    /// TSE_ID.
    pub tse_id: String,
    /// TSE_SERIAL: SHA-256 of the public key, hex (Base64 in older files, DSFinV-K spec §2).
    pub tse_serial: String,
    /// TSE_SIG_ALGO: `ecdsa-plain-SHA384` etc.
    pub tse_sig_algo: String,
    /// TSE_ZEITFORMAT: `unixTime`, `utcTime`, `utcTimeWithSeconds`, `generalizedTime`, …
    pub tse_zeitformat: String,
    /// TSE_PD_ENCODING: `UTF-8` or `ASCII`.
    pub tse_pd_encoding: String,
    /// TSE_PUBLIC_KEY: Base64.
    pub tse_public_key: String,
}

/// Why a row cannot be turned into a log message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A cell does not hold what the column must.
    #[error("BON_ID {bon_id:?}: {column} {value:?}: {problem}")]
    Value {
        /// The Vorgang whose row it is.
        bon_id: String,
        /// The column.
        column: &'static str,
        /// The cell as found.
        value: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// The tse row is not the one the transactions_tse row refers to.
    #[error(
        "BON_ID {bon_id:?}: transactions_tse {column} {row:?} differs from the tse row's {tse:?}"
    )]
    Mismatch {
        /// The Vorgang.
        bon_id: String,
        /// The key column that differs.
        column: &'static str,
        /// Its value in transactions_tse.
        row: String,
        /// Its value in tse.
        tse: String,
    },
}

/// Builds the FinishTransaction log of `row`, signed by the TSE of `tse`, for the client
/// `client_id` (KASSE_SERIENNR or TERMINAL_SERIENNR).
pub fn signed_log(row: &TransactionsTse, tse: &Tse, client_id: &str) -> Result<SignedLog, Error> {
    let value = |column, value: &str, problem| Error::Value {
        bon_id: row.bon_id.clone(),
        column,
        value: value.to_string(),
        problem,
    };
    // TSE_ID numbers TSEs only within one closing, so the closing key must match too.
    for (column, a, b) in [
        ("Z_KASSE_ID", &row.z_kasse_id, &tse.z_kasse_id),
        ("Z_ERSTELLUNG", &row.z_erstellung, &tse.z_erstellung),
        ("Z_NR", &row.z_nr, &tse.z_nr),
        ("TSE_ID", &row.tse_id, &tse.tse_id),
    ] {
        if a != b {
            return Err(Error::Mismatch {
                bon_id: row.bon_id.clone(),
                column,
                row: a.clone(),
                tse: b.clone(),
            });
        }
    }
    // DSFinV-K integers are Numeric without Accuracy: digits only, no grouping, no sign.
    let integer = |column, v: &str| {
        v.parse::<u64>()
            .ok()
            .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| value(column, v, "is not an integer (digits only, no grouping)"))
    };
    let base64 = |column, v: &str| {
        B64.decode(v.trim())
            .map_err(|_| value(column, v, "is not Base64"))
    };
    if client_id.is_empty() {
        return Err(value(
            "KASSE_SERIENNR/TERMINAL_SERIENNR",
            client_id,
            "is empty: the clientId the TSE signed is the register's or terminal's serial number",
        ));
    }
    let log_time = chrono::DateTime::parse_from_rfc3339(&row.tse_ta_ende)
        .map(|t| t.to_utc())
        .map_err(|_| {
            value(
                "TSE_TA_ENDE",
                &row.tse_ta_ende,
                "is not an ISO 8601 time (YYYY-MM-DDThh:mm:ss.fffZ)",
            )
        })?;
    let algorithm = SignatureAlgorithm::parse(&tse.tse_sig_algo).ok_or_else(|| {
        value(
            "TSE_SIG_ALGO",
            &tse.tse_sig_algo,
            "is not supported (ecdsa-plain-SHA224/256/384/512)",
        )
    })?;
    let time_format = match tse.tse_zeitformat.as_str() {
        "unixTime" => TimeFormat::UnixTime,
        // DSFinV-K describes utcTime as YYMMDDhhmmZ, but TSEs sign UTCTime with seconds
        // (every sample, spec §2.3), and the verifier tries the other formats anyway.
        "utcTime" | "utcTimeWithSeconds" => TimeFormat::UtcTime,
        "generalizedTime" => TimeFormat::GeneralizedTime,
        "generalizedTimeWithMilliseconds" => {
            return Err(value(
                "TSE_ZEITFORMAT",
                &tse.tse_zeitformat,
                "is not supported: no TSE sample shows how its fraction is encoded",
            ));
        }
        _ => {
            return Err(value(
                "TSE_ZEITFORMAT",
                &tse.tse_zeitformat,
                "is not a DSFinV-K time format (unixTime, utcTime, utcTimeWithSeconds, generalizedTime, generalizedTimeWithMilliseconds)",
            ));
        }
    };
    let data = row.tse_vorgangsdaten.as_deref().ok_or_else(|| {
        value(
            "TSE_VORGANGSDATEN",
            "",
            "is empty: processData must then be rebuilt from transactions_vat.csv and datapayment.csv (DSFinV-K Anhang I), which this function does not do",
        )
    })?;
    let process_data = match tse.tse_pd_encoding.as_str() {
        "UTF-8" => data.to_string(),
        // DSFinV-K Anhang I: with ASCII, characters it cannot represent are sent as '?'.
        "ASCII" => data
            .chars()
            .map(|c| if c.is_ascii() { c } else { '?' })
            .collect(),
        _ => {
            return Err(value(
                "TSE_PD_ENCODING",
                &tse.tse_pd_encoding,
                "is not UTF-8 or ASCII",
            ));
        }
    };
    let serial = tse.tse_serial.trim();
    let stated_serial = if serial.len() == 64 && serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        serial.to_string()
    } else {
        match B64.decode(serial) {
            Ok(bytes) if bytes.len() == 32 => hex(&bytes),
            _ => {
                return Err(value(
                    "TSE_SERIAL",
                    &tse.tse_serial,
                    "is neither 64 hex digits nor the Base64 of 32 bytes",
                ));
            }
        }
    };
    Ok(SignedLog {
        operation_type: "FinishTransaction".to_string(),
        client_id: client_id.to_string(),
        process_type: row.tse_ta_vorgangsart.clone(),
        process_data,
        transaction_number: integer("TSE_TANR", &row.tse_tanr)?,
        signature_counter: integer("TSE_TA_SIGZ", &row.tse_ta_sigz)?,
        log_time,
        algorithm,
        time_format,
        signature: base64("TSE_TA_SIG", &row.tse_ta_sig)?,
        public_key: base64("TSE_PUBLIC_KEY", &tse.tse_public_key)?,
        stated_serial: Some(stated_serial),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regime::kassensichv::qr::split_qr;
    use crate::regime::kassensichv::verify::{PublicKey, Verdict, verify};
    use sha2::Digest;

    const QR: &str = include_str!("../../../fixtures/conformance/kassensichv/qr-berohndo/qr.txt");
    const QR_UTC: &str = include_str!(
        "../../../fixtures/conformance/kassensichv/qr-fiskaltrust-interface-doc/qr.txt"
    );

    /// A QR vector (berohndo `line`) as DSFinV-K would hold it: the receipt's fields in a
    /// transactions_tse row, the TSE's in its tse row, and the clientId.
    fn rows(line: usize) -> (TransactionsTse, Tse, String) {
        rows_of(QR.lines().nth(line - 1).unwrap())
    }

    fn rows_of(qr: &str) -> (TransactionsTse, Tse, String) {
        let f = split_qr(qr).unwrap();
        let key = PublicKey::read(&B64.decode(f.public_key).unwrap()).unwrap();
        let row = TransactionsTse {
            z_kasse_id: "KASSE-1".into(),
            z_erstellung: "2021-08-23T23:59:59".into(),
            z_nr: "17".into(),
            bon_id: "4711".into(),
            tse_id: "1".into(),
            tse_tanr: f.transaction_number.into(),
            tse_ta_ende: f.log_time.into(),
            tse_ta_vorgangsart: f.process_type.into(),
            tse_ta_sigz: f.signature_counter.into(),
            tse_ta_sig: f.signature.into(),
            tse_vorgangsdaten: Some(f.process_data.into()),
        };
        let tse = Tse {
            z_kasse_id: "KASSE-1".into(),
            z_erstellung: "2021-08-23T23:59:59".into(),
            z_nr: "17".into(),
            tse_id: "1".into(),
            tse_serial: hex(&key.serial()),
            tse_sig_algo: f.algorithm.into(),
            tse_zeitformat: f.time_format.into(),
            tse_pd_encoding: "UTF-8".into(),
            tse_public_key: f.public_key.into(),
        };
        (row, tse, f.client_id.to_string())
    }

    #[test]
    fn real_receipts_as_dsfinvk_rows_verify() {
        for line in [1, 2] {
            let (row, tse, client) = rows(line);
            let log = signed_log(&row, &tse, &client).unwrap();
            let v = verify(&log);
            assert_eq!(v.verdict, Verdict::Valid, "line {line}: {v:?}");
            assert_eq!(v.serial.as_deref(), log.stated_serial.as_deref());
        }
    }

    #[test]
    fn a_changed_amount_fails() {
        for line in [1, 2] {
            let (mut row, tse, client) = rows(line);
            let data = row.tse_vorgangsdaten.take().unwrap();
            let changed = data.replacen(".", "1.", 1);
            assert_ne!(changed, data);
            row.tse_vorgangsdaten = Some(changed);
            let v = verify(&signed_log(&row, &tse, &client).unwrap());
            assert_eq!(v.verdict, Verdict::Invalid, "line {line}");
            assert!(v.problems.iter().any(|p| p.contains("no variant verifies")));
        }
    }

    /// DSFinV-K names UTCTime twice; both are the UTCTime with seconds TSEs sign
    /// (fiskaltrust line 2: utcTime, key as SubjectPublicKeyInfo).
    #[test]
    fn utc_time_names_map_to_utc_time() {
        for name in ["utcTime", "utcTimeWithSeconds"] {
            let (row, mut tse, client) = rows_of(QR_UTC.lines().nth(1).unwrap());
            tse.tse_zeitformat = name.into();
            let log = signed_log(&row, &tse, &client).unwrap();
            assert_eq!(log.time_format, TimeFormat::UtcTime);
            let v = verify(&log);
            assert_eq!(v.verdict, Verdict::Valid, "{name}: {v:?}");
            assert!(v.notes.is_empty());
        }
        let (row, mut tse, client) = rows(1);
        tse.tse_zeitformat = "generalizedTime".into();
        let log = signed_log(&row, &tse, &client).unwrap();
        assert_eq!(log.time_format, TimeFormat::GeneralizedTime);
        // Stated wrongly, found under unixTime: valid with a note (the verifier's fallback).
        assert_eq!(verify(&log).notes.len(), 1);
    }

    #[test]
    fn base64_serial_and_ascii_encoding() {
        let (row, mut tse, client) = rows(2);
        let key = B64.decode(&tse.tse_public_key).unwrap();
        tse.tse_serial = B64.encode(sha2::Sha256::digest(&key));
        tse.tse_pd_encoding = "ASCII".into();
        let log = signed_log(&row, &tse, &client).unwrap();
        assert_eq!(verify(&log).verdict, Verdict::Valid);
        let mut row = row;
        row.tse_vorgangsdaten = Some("Beleg^2.90€".into());
        assert_eq!(
            signed_log(&row, &tse, &client).unwrap().process_data,
            "Beleg^2.90?"
        );
    }

    #[test]
    fn errors_name_the_column_and_the_value() {
        let (row, tse, client) = rows(2);
        let err = |row: &TransactionsTse, tse: &Tse| signed_log(row, tse, &client).unwrap_err();

        let mut r = row.clone();
        r.tse_ta_sigz = "344.413".into();
        let e = err(&r, &tse);
        assert_eq!(
            e.to_string(),
            "BON_ID \"4711\": TSE_TA_SIGZ \"344.413\": is not an integer (digits only, no grouping)"
        );
        let mut r = row.clone();
        r.tse_tanr = "+1".into();
        assert!(matches!(
            err(&r, &tse),
            Error::Value {
                column: "TSE_TANR",
                ..
            }
        ));
        let mut r = row.clone();
        r.tse_ta_ende = "2021-07-23 10:12:55".into();
        assert!(matches!(
            err(&r, &tse),
            Error::Value {
                column: "TSE_TA_ENDE",
                ..
            }
        ));
        let mut r = row.clone();
        r.tse_vorgangsdaten = None;
        assert!(matches!(
            err(&r, &tse),
            Error::Value {
                column: "TSE_VORGANGSDATEN",
                ..
            }
        ));
        let mut r = row.clone();
        r.tse_ta_sig = "!!".into();
        assert!(matches!(
            err(&r, &tse),
            Error::Value {
                column: "TSE_TA_SIG",
                ..
            }
        ));
        let mut r = row.clone();
        r.tse_id = "2".into();
        assert_eq!(
            err(&r, &tse),
            Error::Mismatch {
                bon_id: "4711".into(),
                column: "TSE_ID",
                row: "2".into(),
                tse: "1".into()
            }
        );

        for (column, change) in [
            (
                "TSE_SIG_ALGO",
                (|t: &mut Tse| t.tse_sig_algo = "ecdsa-plain-SHA3-256".into()) as fn(&mut Tse),
            ),
            ("TSE_ZEITFORMAT", |t| t.tse_zeitformat = "localTime".into()),
            ("TSE_ZEITFORMAT", |t| {
                t.tse_zeitformat = "generalizedTimeWithMilliseconds".into()
            }),
            ("TSE_PD_ENCODING", |t| t.tse_pd_encoding = "Latin-1".into()),
            ("TSE_SERIAL", |t| t.tse_serial = "abc".into()),
            ("TSE_PUBLIC_KEY", |t| t.tse_public_key = "%%%".into()),
        ] {
            let mut t = tse.clone();
            change(&mut t);
            match err(&row, &t) {
                Error::Value { column: c, .. } => assert_eq!(c, column),
                other => panic!("{column}: {other}"),
            }
        }
        assert!(matches!(
            signed_log(&row, &tse, ""),
            Err(Error::Value {
                column: "KASSE_SERIENNR/TERMINAL_SERIENNR",
                ..
            })
        ));
    }

    /// The stated TSE_SERIAL is checked against the key by the verifier.
    #[test]
    fn a_wrong_serial_is_invalid() {
        let (row, mut tse, client) = rows(1);
        tse.tse_serial = "00".repeat(32);
        let v = verify(&signed_log(&row, &tse, &client).unwrap());
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.problems[0].contains("stated TSE serial"));
    }
}
