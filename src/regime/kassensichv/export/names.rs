//! The names a TSE export gives its files (TR-03151 §5.1.2, spec §5), read so they can be
//! compared with what the files hold.
//!
//! Log messages: `<Unixt|Utc|Gent>_<logTime>_Sig-<signatureCounter>_Log-<Tra|Sys|Aud>…` then,
//! for transaction logs, `_No-<transactionNumber>_<Start|Update|Finish>_Client-<clientId>`;
//! for system logs `_<operationType>`; an optional `_Fc-<n>` file counter before `.log`
//! tells apart names that would collide. Client ids may contain `_`, `-` and spaces, so the
//! client is everything after `_Client-`. Certificates: `<SHA-256 of the key point, hex>_X509`
//! with `.der`, `.crt`, `.cer` or `.pem`.

use chrono::{DateTime, Utc};

use super::message::{LogKind, LogMessage, parse_generalized_time, parse_utc_time};
use crate::regime::kassensichv::logmsg::TimeFormat;

/// The fields of a log file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogName {
    /// The time format prefix as written (`Unixt`, `Utc`, `Gent`).
    pub prefix: String,
    /// The time as written.
    pub time: String,
    /// `Sig-<n>`.
    pub counter: u64,
    /// `Log-Tra`, `Log-Sys` or `Log-Aud`.
    pub kind: LogKind,
    /// `No-<n>` (transaction logs).
    pub transaction: Option<u64>,
    /// `Start`, `Update` or `Finish` (transaction logs).
    pub operation: Option<String>,
    /// `Client-<id>` (transaction logs).
    pub client: Option<String>,
    /// The operationType of a system log.
    pub system_operation: Option<String>,
}

/// Whether an entry name is a log message file.
pub fn is_log(base: &str) -> bool {
    base.to_ascii_lowercase().ends_with(".log")
}

/// Whether an entry name is a certificate file (by extension; case varies between vendors).
pub fn is_certificate(base: &str) -> bool {
    let lower = base.to_ascii_lowercase();
    [".der", ".crt", ".cer", ".pem"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The key hash a certificate's name states (lower-case hex), if it follows
/// `<64 hex digits>_X509…`.
pub fn certificate_hash(base: &str) -> Option<String> {
    let (hash, rest) = base.split_once('_')?;
    let valid = hash.len() == 64
        && hash.bytes().all(|b| b.is_ascii_hexdigit())
        && rest.to_ascii_uppercase().starts_with("X509");
    valid.then(|| hash.to_ascii_lowercase())
}

/// Reads a log file name; the error says what does not follow the pattern.
pub fn parse_log_name(base: &str) -> Result<LogName, String> {
    let bad = |what: &str| format!("file name does not follow TR-03151 §5.1.2: {what}");
    let stem = match base
        .len()
        .checked_sub(4)
        .and_then(|n| base.split_at_checked(n))
    {
        Some((stem, ext)) if ext.eq_ignore_ascii_case(".log") => stem,
        _ => return Err(bad("no .log extension")),
    };
    let stem = match stem.rsplit_once("_Fc-") {
        Some((before, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => before,
        _ => stem,
    };
    let mut parts = stem.splitn(4, '_');
    let mut part = |what: &str| parts.next().ok_or_else(|| bad(what));
    let prefix = part("no time format prefix")?.to_string();
    let time = part("no time")?.to_string();
    let counter = part("no Sig-<signatureCounter>")?
        .strip_prefix("Sig-")
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("no Sig-<signatureCounter> after the time"))?;
    let rest = part("no Log-<Tra|Sys|Aud>")?;
    let (kind, rest) = if let Some(r) = rest.strip_prefix("Log-Tra") {
        (LogKind::Transaction, r)
    } else if let Some(r) = rest.strip_prefix("Log-Sys") {
        (LogKind::System, r)
    } else if let Some(r) = rest.strip_prefix("Log-Aud") {
        (LogKind::Audit, r)
    } else {
        return Err(bad("no Log-Tra, Log-Sys or Log-Aud after Sig-<n>"));
    };
    let mut name = LogName {
        prefix,
        time,
        counter,
        kind,
        transaction: None,
        operation: None,
        client: None,
        system_operation: None,
    };
    match kind {
        LogKind::Transaction => {
            let r = rest
                .strip_prefix("_No-")
                .ok_or_else(|| bad("no _No-<transactionNumber> after Log-Tra"))?;
            let (number, r) = r
                .split_once('_')
                .ok_or_else(|| bad("nothing after No-<n>"))?;
            name.transaction = Some(number.parse().map_err(|_| bad("No-<n> is not a number"))?);
            let (operation, client) = r
                .split_once("_Client-")
                .ok_or_else(|| bad("no _Client-<clientId>"))?;
            name.operation = Some(operation.to_string());
            name.client = Some(client.to_string());
        }
        LogKind::System => {
            name.system_operation = Some(
                rest.strip_prefix('_')
                    .filter(|op| !op.is_empty())
                    .ok_or_else(|| bad("no operationType after Log-Sys"))?
                    .to_string(),
            );
        }
        LogKind::Audit if !rest.is_empty() => {
            return Err(bad("unexpected text after Log-Aud"));
        }
        LogKind::Audit => {}
    }
    Ok(name)
}

/// The time a name states, in the format its prefix names (`Unix` is accepted for `Unixt`:
/// konfidas TTC, spec S3, writes it so).
fn name_time(name: &LogName) -> Option<(TimeFormat, Option<DateTime<Utc>>)> {
    match name.prefix.as_str() {
        "Unixt" | "Unix" => Some((
            TimeFormat::UnixTime,
            name.time
                .parse::<i64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s, 0)),
        )),
        "Utc" => Some((TimeFormat::UtcTime, parse_utc_time(name.time.as_bytes()))),
        "Gent" => Some((
            TimeFormat::GeneralizedTime,
            parse_generalized_time(name.time.as_bytes()),
        )),
        _ => None,
    }
}

/// Where the name and the message disagree, each as a sentence.
pub fn compare(name: &LogName, m: &LogMessage<'_>) -> Vec<String> {
    let mut out = Vec::new();
    match name_time(name) {
        None => out.push(format!(
            "file name starts with {:?}, not a time format (Unixt, Utc, Gent)",
            name.prefix
        )),
        Some((format, time)) => {
            if format != m.time_format {
                out.push(format!(
                    "file name says {} ({}), the message's logTime is {}",
                    name.prefix,
                    format.name(),
                    m.time_format.name()
                ));
            }
            match time {
                None => out.push(format!(
                    "file name time {:?} is not a {} time",
                    name.time,
                    format.name()
                )),
                Some(t) if t != m.log_time => out.push(format!(
                    "file name time {} is {}, the message's logTime is {}",
                    name.time,
                    t.format("%Y-%m-%dT%H:%M:%SZ"),
                    m.log_time.format("%Y-%m-%dT%H:%M:%SZ")
                )),
                Some(_) => {}
            }
        }
    }
    if name.counter != m.signature_counter {
        out.push(format!(
            "file name says Sig-{}, the message has signatureCounter {}",
            name.counter, m.signature_counter
        ));
    }
    if name.kind != m.kind {
        out.push(format!(
            "file name says {}, the message is a {} log",
            name.kind.file_tag(),
            m.kind.name()
        ));
        return out;
    }
    if let (Some(no), Some(tx)) = (name.transaction, m.transaction_number)
        && no != tx
    {
        out.push(format!(
            "file name says No-{no}, the message has transactionNumber {tx}"
        ));
    }
    if let (Some(op), Some(found)) = (&name.operation, &m.operation_type)
        && format!("{op}Transaction") != *found
    {
        out.push(format!(
            "file name says {op}, the message's operationType is {found:?}"
        ));
    }
    if let (Some(client), Some(found)) = (&name.client, &m.client_id)
        && client != found
    {
        out.push(format!(
            "file name says Client-{client}, the message's clientId is {found:?}"
        ));
    }
    if let (Some(op), Some(found)) = (&name.system_operation, &m.operation_type)
        && op != found
    {
        out.push(format!(
            "file name says operation {op:?}, the message's operationType is {found:?}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_names_with_awkward_clients_and_file_counters() {
        let n = parse_log_name("Unixt_1717236063_Sig-2_Log-Tra_No-1_Finish_Client-KASSE-01.log")
            .unwrap();
        assert_eq!(
            (n.prefix.as_str(), n.time.as_str()),
            ("Unixt", "1717236063")
        );
        assert_eq!(
            (n.counter, n.kind, n.transaction),
            (2, LogKind::Transaction, Some(1))
        );
        assert_eq!(n.operation.as_deref(), Some("Finish"));
        assert_eq!(n.client.as_deref(), Some("KASSE-01"));
        let n = parse_log_name(
            "Utc_200522113302Z_Sig-21_Log-Tra_No-11_Start_Client-ERS a_b-c_Fc-2.log",
        )
        .unwrap();
        assert_eq!(n.client.as_deref(), Some("ERS a_b-c"));
        assert_eq!(n.counter, 21);
    }

    #[test]
    fn system_and_audit_names() {
        let n = parse_log_name("Unixt_1_Sig-7_Log-Sys_updateTime.log").unwrap();
        assert_eq!(n.system_operation.as_deref(), Some("updateTime"));
        let n = parse_log_name("Gent_20240102030406Z_Sig-8_Log-Aud_Fc-1.log").unwrap();
        assert_eq!(n.kind, LogKind::Audit);
        assert!(parse_log_name("Unixt_1_Sig-8_Log-Aud_extra.log").is_err());
    }

    #[test]
    fn names_that_do_not_follow_the_pattern() {
        for name in [
            "x.log",
            "Unixt_1_Sig-x_Log-Tra_No-1_Start_Client-A.log",
            "Unixt_1_Sig-1_Log-Foo.log",
            "Unixt_1_Sig-1_Log-Tra_No-1_Start.log",
            "Unixt_1_Sig-1_Log-Tra_No-a_Start_Client-A.log",
            "Unixt_1_Sig-1_Log-Sys.log",
            ".log",
            "",
        ] {
            assert!(parse_log_name(name).is_err(), "{name}");
        }
    }

    fn finish_log() -> LogMessage<'static> {
        LogMessage {
            kind: LogKind::Transaction,
            version: 2,
            operation_type: Some("FinishTransaction".into()),
            client_id: Some("KASSE-01".into()),
            process_type: None,
            process_data: None,
            transaction_number: Some(1),
            serial: Vec::new(),
            algorithm_oid: String::new(),
            algorithm: None,
            algorithm_parameters: None,
            signature_counter: 2,
            log_time: DateTime::from_timestamp(1_717_236_063, 0).unwrap(),
            time_format: TimeFormat::UnixTime,
            signature: Vec::new(),
            tbs: &[],
        }
    }

    #[test]
    fn every_field_of_the_name_is_compared_with_the_message() {
        let m = finish_log();
        let same = "Unixt_1717236063_Sig-2_Log-Tra_No-1_Finish_Client-KASSE-01.log";
        assert!(compare(&parse_log_name(same).unwrap(), &m).is_empty());
        let utc = "Utc_240601100103Z_Sig-2_Log-Tra_No-1_Finish_Client-KASSE-01.log";
        let mut m_utc = finish_log();
        m_utc.time_format = TimeFormat::UtcTime;
        assert!(compare(&parse_log_name(utc).unwrap(), &m_utc).is_empty());

        let all_wrong = "Utc_240601100104Z_Sig-3_Log-Tra_No-9_Start_Client-KASSE-02.log";
        assert_eq!(
            compare(&parse_log_name(all_wrong).unwrap(), &m),
            [
                "file name says Utc (utcTime), the message's logTime is unixTime",
                "file name time 240601100104Z is 2024-06-01T10:01:04Z, the message's logTime is 2024-06-01T10:01:03Z",
                "file name says Sig-3, the message has signatureCounter 2",
                "file name says No-9, the message has transactionNumber 1",
                "file name says Start, the message's operationType is \"FinishTransaction\"",
                "file name says Client-KASSE-02, the message's clientId is \"KASSE-01\"",
            ]
        );
        let n = parse_log_name("Zulu_x_Sig-2_Log-Sys_updateTime.log").unwrap();
        assert_eq!(
            compare(&n, &m),
            [
                "file name starts with \"Zulu\", not a time format (Unixt, Utc, Gent)",
                "file name says Log-Sys, the message is a transaction log",
            ]
        );
        let mut sys = finish_log();
        sys.kind = LogKind::System;
        sys.operation_type = Some("updateTime".into());
        let n = parse_log_name("Unixt_nope_Sig-2_Log-Sys_initialize.log").unwrap();
        assert_eq!(
            compare(&n, &sys),
            [
                "file name time \"nope\" is not a unixTime time",
                "file name says operation \"initialize\", the message's operationType is \"updateTime\"",
            ]
        );
    }

    #[test]
    fn certificate_names() {
        let hash = "42B8EA73525EFC28A892423FE5665E5B7AFFC03254AD02E81C7DC5FC61F2C3E7";
        assert_eq!(
            certificate_hash(&format!("{hash}_X509.der")),
            Some(hash.to_ascii_lowercase())
        );
        assert!(certificate_hash(&format!("{hash}_x509_Fc-1.CRT")).is_some());
        assert_eq!(certificate_hash("CA_X509.der"), None);
        assert!(is_certificate("a.PEM") && !is_certificate("a.log"));
        assert!(is_log("A.LOG"));
    }
}
