//! The API's fiscal block (`TseFiscal`) plus optional master data (`Tse`) as a [`SignedLog`].
//!
//! Each value comes from the first source that has it: the block's Finish event and fields,
//! then the master-data TSE (key, algorithm, time format: older API shapes lack them), then
//! the receipt QR code inside the block. The counters come from the QR code when there is
//! one: the API's single `transaction_counter` cannot supply both transactionNumber and
//! signatureCounter (spec §11 Q1), so without a QR code it is taken as transactionNumber and
//! the signatureCounter is missing.

use super::logmsg::SignedLog;
use super::qr::{self, QrError, QrFields, split_qr};
use crate::model::masterdata::Tse;
use crate::model::operation::TseFiscal;

/// The first present value of each field; every absent one is named in `missing`, so one
/// error lists all that a source lacks instead of one per attempt.
struct Picker {
    missing: Vec<&'static str>,
}

impl Picker {
    fn pick<'a>(
        &mut self,
        name: &'static str,
        sources: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Option<&'a str> {
        let v = sources.into_iter().flatten().next();
        if v.is_none() {
            self.missing.push(name);
        }
        v
    }
}

fn q<'a>(qr: &Option<QrFields<'a>>, f: fn(&QrFields<'a>) -> &'a str) -> Option<&'a str> {
    qr.as_ref().map(f)
}

/// Builds the FinishTransaction log of `fiscal`, filling gaps from `tse`.
pub fn from_fiscal(fiscal: &TseFiscal, tse: Option<&Tse>) -> Result<SignedLog, QrError> {
    let qr: Option<QrFields<'_>> = fiscal.qr_data.as_deref().map(split_qr).transpose()?;
    let finish = fiscal.finish.as_ref();
    let ev = |f: fn(&crate::model::operation::TseEvent) -> Option<&String>| {
        finish.and_then(f).map(String::as_str)
    };
    let mut p = Picker {
        missing: Vec::new(),
    };

    let client_id = p.pick(
        "clientId",
        [fiscal.client_id.as_deref(), q(&qr, |x| x.client_id)],
    );
    let process_type = p.pick(
        "processType",
        [ev(|e| e.process_type.as_ref()), q(&qr, |x| x.process_type)],
    );
    let process_data = p.pick(
        "processData",
        [ev(|e| e.process_data.as_ref()), q(&qr, |x| x.process_data)],
    );
    let transaction_number = match &qr {
        Some(x) => Some(qr::number("transactionNumber", x.transaction_number)?),
        None => {
            let n = finish.and_then(|e| e.transaction_counter);
            if n.is_none() {
                p.missing.push("transactionNumber");
            }
            n
        }
    };
    let signature_counter = p.pick("signatureCounter", [q(&qr, |x| x.signature_counter)]);
    let log_time = match finish.and_then(|e| e.signed_at) {
        Some(t) => Some(t.utc()),
        None => p
            .pick("logTime", [q(&qr, |x| x.log_time)])
            .map(|t| qr::time("logTime", t))
            .transpose()?,
    };
    let algorithm = p.pick(
        "signatureAlgorithm",
        [
            fiscal.signature_algorithm.as_deref(),
            tse.map(|t| t.signature_algorithm.as_str()),
            q(&qr, |x| x.algorithm),
        ],
    );
    let time_format = p.pick(
        "logTimeFormat",
        [
            fiscal.time_format.as_deref(),
            tse.map(|t| t.time_format.as_str()),
            q(&qr, |x| x.time_format),
        ],
    );
    let signature = p.pick(
        "signature",
        [ev(|e| e.signature.as_ref()), q(&qr, |x| x.signature)],
    );
    let public_key = p.pick(
        "publicKey",
        [
            ev(|e| e.public_key.as_ref()),
            tse.map(|t| t.public_key.as_str()),
            q(&qr, |x| x.public_key),
        ],
    );
    let (
        Some(client_id),
        Some(process_type),
        Some(process_data),
        Some(transaction_number),
        Some(signature_counter),
        Some(log_time),
        Some(algorithm),
        Some(time_format),
        Some(signature),
        Some(public_key),
    ) = (
        client_id,
        process_type,
        process_data,
        transaction_number,
        signature_counter,
        log_time,
        algorithm,
        time_format,
        signature,
        public_key,
    )
    else {
        return Err(QrError::Missing(p.missing));
    };
    Ok(SignedLog {
        operation_type: "FinishTransaction".to_string(),
        client_id: client_id.to_string(),
        process_type: process_type.to_string(),
        process_data: process_data.to_string(),
        transaction_number,
        signature_counter: qr::number("signatureCounter", signature_counter)?,
        log_time,
        algorithm: qr::algorithm(algorithm)?,
        time_format: qr::time_format(time_format)?,
        signature: qr::base64("signature", signature)?,
        public_key: qr::base64("publicKey", public_key)?,
        stated_serial: fiscal
            .tse_serial
            .clone()
            .or_else(|| tse.map(|t| t.serial.clone())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::operation::{Timestamp, TseEvent};
    use crate::regime::kassensichv::{Verdict, parse_qr, verify};

    const QR: &str = "V0;AMA-6200;KassenBeleg-V1;Beleg^2.90_0.00_0.00_0.00_2.10^5.00:Unbar;160504;344413;2021-07-23T10:12:54.000Z;2021-07-23T10:12:55.000Z;ecdsa-plain-SHA384;unixTime;NgqBkWMvhLmCKa9cJJ8JodfAdlkfcFFyW0J7Ks9lTz9I4QFKhLzyGF/02kWsCRg0LoiJtkq+0Ak9GovodNFLOBG00ewEj40/GbI9zLtNt9j90w4Sz3GcxTSrr3rqhIhN;BCd1vZvSJsJwBTqshgDVsrG4Gg+oN3jeeFEgjGiKs9ELd170vy/jO3iMMF6tAVUfjyYn9jRXng8Z4qWXaqoJ53+y+OFeSY/lQsdZWCODkzhlhkJxJw2k9Z1A4gFX6Riotw==";
    const SERIAL: &str = "2ddbd6b0df57a4d8c1e4578a89952922dfe979e94f5c7444192cf8d04e063127";

    fn field(i: usize) -> String {
        QR.split(';').nth(i).unwrap().to_string()
    }

    /// An older-shape block: no key, algorithm or time format; the QR code carries counters.
    fn block() -> TseFiscal {
        TseFiscal {
            tse_serial: Some(SERIAL.into()),
            client_id: Some("AMA-6200".into()),
            finish: Some(TseEvent {
                signed_at: Timestamp::parse("2021-07-23T12:12:55+02:00"),
                transaction_counter: Some(160_504),
                signature: Some(field(10)),
                process_type: Some(field(2)),
                process_data: Some(field(3)),
                ..TseEvent::default()
            }),
            qr_data: Some(QR.into()),
            ..TseFiscal::default()
        }
    }

    fn master() -> Tse {
        Tse {
            serial: SERIAL.into(),
            client_ids: vec!["AMA-6200".into()],
            public_key: field(11),
            certificate: None,
            signature_algorithm: "ecdsa-plain-SHA384".into(),
            time_format: "unixTime".into(),
        }
    }

    #[test]
    fn block_plus_master_data_rebuilds_the_qr_log() {
        let log = from_fiscal(&block(), Some(&master())).unwrap();
        let mut expected = parse_qr(QR).unwrap();
        expected.stated_serial = Some(SERIAL.into());
        // signed_at with an offset is the same instant: logTime is UTC.
        assert_eq!(log, expected);
        assert_eq!(verify(&log).verdict, Verdict::Valid);
    }

    #[test]
    fn structured_fields_win_over_the_qr_code() {
        let mut b = block();
        b.finish.as_mut().unwrap().process_data =
            Some("Beleg^9.99_0.00_0.00_0.00_2.10^5.00:Unbar".into());
        let v = verify(&from_fiscal(&b, Some(&master())).unwrap());
        assert_eq!(v.verdict, Verdict::Invalid);
    }

    #[test]
    fn a_foreign_master_data_serial_is_reported() {
        let mut b = block();
        b.tse_serial = None;
        let mut m = master();
        m.serial = "ab".repeat(32);
        let v = verify(&from_fiscal(&b, Some(&m)).unwrap());
        assert_eq!(v.verdict, Verdict::Invalid);
        assert!(v.problems[0].contains("stated TSE serial"));
    }

    #[test]
    fn missing_values_name_the_field() {
        let mut b = block();
        b.qr_data = None;
        assert_eq!(
            from_fiscal(&b, Some(&master())),
            Err(QrError::Missing(vec!["signatureCounter"]))
        );
        // Everything absent is named at once.
        let mut b = block();
        b.qr_data = None;
        b.finish = None;
        assert_eq!(
            from_fiscal(&b, None),
            Err(QrError::Missing(vec![
                "processType",
                "processData",
                "transactionNumber",
                "signatureCounter",
                "logTime",
                "signatureAlgorithm",
                "logTimeFormat",
                "signature",
                "publicKey"
            ]))
        );
    }
}
