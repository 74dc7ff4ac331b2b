//! TSE TAR exports (BSI TR-03151 §5, spec §5): every log message verified over its stored
//! bytes with the key of its TSE's certificate, and each TSE's logs checked as a whole.
//!
//! `tar` lists the files; `cert` reads each certificate's key; `message` parses each log
//! message (over the BER reader `ber`) and slices the bytes it signed; `names` compares each
//! file name with the content. A signature is checked with `verify::verify_signed_bytes`,
//! using the certificate whose key point hashes (SHA-256) to the message's serialNumber, on
//! the curve that certificate names. Per TSE (serialNumber) follow the checks across logs:
//! signatureCounter gaps and repeats, transactionNumbers rising with the Start logs, and
//! each transaction's Start before its Update and Finish logs, by counter and by time.
//!
//! The archive is read whole, because certificates may come after the logs they verify.
//! **Invariant:** a broken file is a finding on that file and the rest is checked; only an
//! input that is not a tar archive, or holds no log message at all, is an `Err`.

pub mod ber;
pub mod cert;
pub mod message;
pub mod names;
pub mod tar;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::logmsg::{TimeFormat, hex};
use super::verify::{Curve, Verdict, Verification, verify_signed_bytes};
use cert::Certificate;
use message::{LogKind, LogMessage, ProcessDataForm};

/// Why a file cannot be checked as a TSE export at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// Not a tar archive, or a damaged one.
    #[error("not a readable tar archive")]
    Tar(#[from] tar::TarError),
    /// A tar archive without a single `.log` file.
    #[error(
        "no TSE log message (*.log) among the {entries} files of the archive: not a TSE export"
    )]
    NoLogs {
        /// Regular files in the archive.
        entries: usize,
    },
}

/// The verdict on one log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogVerdict {
    /// The signature verifies over the stored bytes.
    Valid,
    /// The signature does not verify, or there is no certificate to verify it with.
    Invalid,
    /// The key's curve or the signature algorithm is one this build cannot verify.
    Unsupported,
    /// The file is not a TR-03151 log message.
    Unparsable,
}

/// The content of a log message, for output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogFields {
    /// Transaction, system or audit log.
    pub kind: LogKind,
    /// version.
    pub version: u64,
    /// operationType.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    /// clientId.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// processType.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_type: Option<String>,
    /// processData, chunks concatenated (invalid UTF-8 replaced: display only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_data: Option<String>,
    /// How processData is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_data_form: Option<ProcessDataForm>,
    /// How many chunks processData is stored in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_data_chunks: Option<usize>,
    /// transactionNumber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_number: Option<u64>,
    /// serialNumber, lower-case hex.
    pub serial: String,
    /// The signature algorithm's name, or its OID when unknown.
    pub algorithm: String,
    /// signatureAlgorithm parameters as stored, hex (absent in every message seen).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithm_parameters: Option<String>,
    /// signatureCounter.
    pub signature_counter: u64,
    /// logTime.
    pub log_time: DateTime<Utc>,
    /// How logTime is encoded.
    pub time_format: TimeFormat,
}

impl LogFields {
    fn of(m: &LogMessage<'_>) -> LogFields {
        LogFields {
            kind: m.kind,
            version: m.version,
            operation_type: m.operation_type.clone(),
            client_id: m.client_id.clone(),
            process_type: m.process_type.clone(),
            process_data: m
                .process_data
                .as_ref()
                .map(|p| String::from_utf8_lossy(&p.bytes).into_owned()),
            process_data_form: m.process_data.as_ref().map(|p| p.form),
            process_data_chunks: m.process_data.as_ref().map(|p| p.chunks),
            transaction_number: m.transaction_number,
            serial: hex(&m.serial),
            algorithm: m
                .algorithm
                .map(|a| a.name().to_string())
                .unwrap_or_else(|| m.algorithm_oid.clone()),
            algorithm_parameters: m.algorithm_parameters.as_deref().map(hex),
            signature_counter: m.signature_counter,
            log_time: m.log_time,
            time_format: m.time_format,
        }
    }
}

/// The result for one log file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogReport {
    /// Its path in the archive.
    pub file: String,
    /// The verdict on its signature (or `unparsable`).
    pub verdict: LogVerdict,
    /// What it holds, when it could be parsed.
    #[serde(flatten)]
    pub fields: Option<LogFields>,
    /// The signature check: curve, problems, and when not valid the signed bytes in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<Verification>,
    /// Everything else that is wrong with it: why it cannot be parsed, file name against
    /// content, no certificate, an unknown operationType.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

/// signatureCounter values missing between two logs of one TSE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// The counter before the gap.
    pub after: u64,
    /// The counter after the gap.
    pub before: u64,
    /// How many counters are missing (`before - after - 1`).
    pub missing: u64,
    /// The log with counter `after`.
    pub after_file: String,
    /// The log with counter `before`.
    pub before_file: String,
}

/// A signatureCounter value that occurs in more than one log of one TSE.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repeat {
    /// The counter.
    pub counter: u64,
    /// The logs that carry it.
    pub files: Vec<String>,
}

/// The summary of one TSE (one serialNumber).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TseReport {
    /// serialNumber, lower-case hex.
    pub serial: String,
    /// The certificate holding its key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// The curve of its key: as the certificate names it, else as verification found it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    /// Log messages.
    pub logs: usize,
    /// … with a valid signature.
    pub valid: usize,
    /// … with an invalid signature or none to check.
    pub invalid: usize,
    /// … on a curve or algorithm this build cannot verify.
    pub unsupported: usize,
    /// Transaction logs among them.
    pub transaction_logs: usize,
    /// System logs among them.
    pub system_logs: usize,
    /// Audit logs among them.
    pub audit_logs: usize,
    /// The lowest signatureCounter.
    pub counter_first: u64,
    /// The highest signatureCounter.
    pub counter_last: u64,
    /// signatureCounter gaps.
    pub gaps: Vec<Gap>,
    /// signatureCounter values in more than one log.
    pub repeats: Vec<Repeat>,
    /// Distinct transactionNumbers.
    pub transactions: usize,
    /// … with a Finish log.
    pub transactions_finished: usize,
    /// The lowest transactionNumber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_first: Option<u64>,
    /// The highest transactionNumber.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_last: Option<u64>,
    /// The clientIds of its transaction logs, sorted.
    pub clients: Vec<String>,
    /// The earliest logTime.
    pub time_first: DateTime<Utc>,
    /// The latest logTime.
    pub time_last: DateTime<Utc>,
    /// Failed checks across logs: counters, transaction order, missing certificate.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Remarks that need not be wrong in a partial export (transactions cut off at its
    /// ends).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Everything found in one export.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReport {
    /// Regular files in the archive.
    pub entries: usize,
    /// info.csv as key/value pairs (keys without their trailing ':').
    pub info: BTreeMap<String, String>,
    /// Every certificate file.
    pub certificates: Vec<Certificate>,
    /// Every log file, in archive order.
    pub logs: Vec<LogReport>,
    /// One summary per TSE, by serial.
    pub tses: Vec<TseReport>,
    /// Files that are neither info.csv, a certificate nor a log.
    pub ignored: Vec<String>,
    /// Remarks on the export as a whole (no info.csv).
    pub notes: Vec<String>,
}

/// The counts of an [`ExportReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Counts {
    /// Log files.
    pub logs: usize,
    /// … with a valid signature.
    pub valid: usize,
    /// … with an invalid signature, or none to check.
    pub invalid: usize,
    /// … that this build cannot verify.
    pub unsupported: usize,
    /// … that are not log messages.
    pub unparsable: usize,
    /// TSEs (serialNumbers).
    pub tses: usize,
    /// Certificate files.
    pub certificates: usize,
    /// Problems besides signature verdicts: of logs, TSEs and certificates.
    pub problems: usize,
}

impl ExportReport {
    /// The counts.
    pub fn counts(&self) -> Counts {
        let mut c = Counts {
            logs: self.logs.len(),
            tses: self.tses.len(),
            certificates: self.certificates.len(),
            ..Counts::default()
        };
        for log in &self.logs {
            match log.verdict {
                LogVerdict::Valid => c.valid += 1,
                LogVerdict::Invalid => c.invalid += 1,
                LogVerdict::Unsupported => c.unsupported += 1,
                LogVerdict::Unparsable => c.unparsable += 1,
            }
            c.problems += log.problems.len();
        }
        c.problems += self.tses.iter().map(|t| t.problems.len()).sum::<usize>();
        c.problems += self
            .certificates
            .iter()
            .map(|t| t.problems.len())
            .sum::<usize>();
        c
    }

    /// Whether every log verifies and no check failed.
    pub fn is_clean(&self) -> bool {
        let c = self.counts();
        c.valid == c.logs && c.problems == 0
    }
}

/// What the checks across logs need of one parsed log.
struct Seen {
    file: String,
    counter: u64,
    kind: LogKind,
    step: Option<Step>,
    transaction: Option<u64>,
    time: DateTime<Utc>,
    client: Option<String>,
    verdict: LogVerdict,
    curve: Option<Curve>,
}

/// The step of a transaction a transaction log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Start,
    Update,
    Finish,
}

impl Step {
    fn of(operation_type: &str) -> Option<Step> {
        match operation_type {
            "StartTransaction" => Some(Step::Start),
            "UpdateTransaction" => Some(Step::Update),
            "FinishTransaction" => Some(Step::Finish),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Step::Start => "Start",
            Step::Update => "Update",
            Step::Finish => "Finish",
        }
    }
}

/// Verifies a TSE TAR export (module doc).
pub fn verify_export(bytes: &[u8]) -> Result<ExportReport, Error> {
    let entries = tar::entries(bytes)?;
    let mut info = None;
    let mut certificates = Vec::new();
    let mut log_entries = Vec::new();
    let mut ignored = Vec::new();
    for e in &entries {
        let base = e.name.rsplit('/').next().unwrap_or(&e.name);
        if base.eq_ignore_ascii_case("info.csv") {
            info = Some(read_info(e.data));
        } else if names::is_log(base) {
            log_entries.push((base, e));
        } else if names::is_certificate(base) {
            certificates.push(cert::read(&e.name, base, e.data));
        } else if !base.is_empty() {
            ignored.push(e.name.clone());
        }
    }
    if log_entries.is_empty() {
        return Err(Error::NoLogs {
            entries: entries.len(),
        });
    }
    let mut by_key: BTreeMap<&str, &Certificate> = BTreeMap::new();
    for c in &certificates {
        if let Some(hash) = &c.key_hash {
            by_key.entry(hash.as_str()).or_insert(c);
        }
    }

    let mut logs = Vec::with_capacity(log_entries.len());
    let mut by_tse: BTreeMap<String, Vec<Seen>> = BTreeMap::new();
    for (base, entry) in log_entries {
        let (report, seen) = check_log(base, entry, &by_key);
        if let Some((serial, seen)) = seen {
            by_tse.entry(serial).or_default().push(seen);
        }
        logs.push(report);
    }
    let tses = by_tse
        .into_iter()
        .map(|(serial, seen)| {
            let cert = by_key.get(serial.as_str()).copied();
            tse_report(serial, &seen, cert)
        })
        .collect();
    let mut notes = Vec::new();
    if info.is_none() {
        notes.push("no info.csv (TR-03151 §5.1 puts the TSE's description there)".to_string());
    }
    Ok(ExportReport {
        entries: entries.len(),
        info: info.unwrap_or_default(),
        certificates,
        logs,
        tses,
        ignored,
        notes,
    })
}

/// Parses and verifies one log file; returns its report and, when it could be parsed, its
/// serial and what the checks across logs need.
fn check_log(
    base: &str,
    entry: &tar::Entry<'_>,
    by_key: &BTreeMap<&str, &Certificate>,
) -> (LogReport, Option<(String, Seen)>) {
    let mut problems = Vec::new();
    let name = names::parse_log_name(base);
    let message = match message::parse(entry.data) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!("not a TR-03151 log message: {e}"));
            problems.extend(name.err());
            let report = LogReport {
                file: entry.name.clone(),
                verdict: LogVerdict::Unparsable,
                fields: None,
                signature: None,
                problems,
            };
            return (report, None);
        }
    };
    match &name {
        Ok(n) => problems.extend(names::compare(n, &message)),
        Err(p) => problems.push(p.clone()),
    }
    let step = message.operation_type.as_deref().and_then(Step::of);
    if message.kind == LogKind::Transaction && step.is_none() {
        problems.push(format!(
            "operationType {:?} is not StartTransaction, UpdateTransaction or FinishTransaction",
            message.operation_type.as_deref().unwrap_or_default()
        ));
    }
    let serial = hex(&message.serial);
    let spki = by_key.get(serial.as_str()).and_then(|c| c.spki.as_deref());
    let (verdict, signature) = match (spki, message.algorithm) {
        (None, _) => {
            problems.push(format!(
                "no certificate in the export holds the key of serialNumber {serial}"
            ));
            (LogVerdict::Invalid, None)
        }
        (Some(_), None) => {
            problems.push(format!(
                "signature algorithm {} is not one this build verifies (ecdsa-plain-SHA224/256/384/512)",
                message.algorithm_oid
            ));
            (LogVerdict::Unsupported, None)
        }
        (Some(spki), Some(algorithm)) => {
            let v = verify_signed_bytes(message.tbs, spki, algorithm, &message.signature);
            let verdict = match v.verdict {
                Verdict::Valid => LogVerdict::Valid,
                Verdict::Invalid => LogVerdict::Invalid,
            };
            (verdict, Some(v))
        }
    };
    let seen = Seen {
        file: entry.name.clone(),
        counter: message.signature_counter,
        kind: message.kind,
        step,
        transaction: message.transaction_number,
        time: message.log_time,
        client: message.client_id.clone(),
        verdict,
        curve: signature.as_ref().and_then(|s| s.curve),
    };
    let report = LogReport {
        file: entry.name.clone(),
        verdict,
        fields: Some(LogFields::of(&message)),
        signature,
        problems,
    };
    (report, Some((serial, seen)))
}

/// info.csv: one CSV line of alternating keys and values (`"description:","…",…`).
fn read_info(data: &[u8]) -> BTreeMap<String, String> {
    let text = String::from_utf8_lossy(data);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(std::mem::take(&mut field)),
            '\r' | '\n' if !quoted => {}
            c => field.push(c),
        }
    }
    fields.push(field);
    fields
        .chunks(2)
        .filter(|pair| !pair[0].trim().is_empty())
        .map(|pair| {
            let key = pair[0].trim().trim_end_matches(':').to_string();
            (key, pair.get(1).cloned().unwrap_or_default())
        })
        .collect()
}

/// Gaps and repeats in the signatureCounters of one TSE's logs, given as (counter, file).
pub fn counter_checks(logs: &[(u64, &str)]) -> (Vec<Gap>, Vec<Repeat>) {
    let mut sorted = logs.to_vec();
    sorted.sort();
    let mut gaps = Vec::new();
    let mut repeats: Vec<Repeat> = Vec::new();
    for w in sorted.windows(2) {
        let ((a, a_file), (b, b_file)) = (w[0], w[1]);
        if a == b {
            match repeats.last_mut() {
                Some(r) if r.counter == a => r.files.push(b_file.to_string()),
                _ => repeats.push(Repeat {
                    counter: a,
                    files: vec![a_file.to_string(), b_file.to_string()],
                }),
            }
        } else if b - a > 1 {
            gaps.push(Gap {
                after: a,
                before: b,
                missing: b - a - 1,
                after_file: a_file.to_string(),
                before_file: b_file.to_string(),
            });
        }
    }
    (gaps, repeats)
}

/// Up to ten numbers, then "…".
fn list(numbers: &[u64]) -> String {
    let mut s: Vec<String> = numbers.iter().take(10).map(u64::to_string).collect();
    if numbers.len() > 10 {
        s.push("…".to_string());
    }
    s.join(", ")
}

fn tse_report(serial: String, seen: &[Seen], cert: Option<&Certificate>) -> TseReport {
    let count = |f: &dyn Fn(&Seen) -> bool| seen.iter().filter(|s| f(s)).count();
    let counters: Vec<(u64, &str)> = seen.iter().map(|s| (s.counter, s.file.as_str())).collect();
    let (gaps, repeats) = counter_checks(&counters);
    let mut problems = Vec::new();
    if cert.is_none() {
        problems.push(
            "no certificate in the export holds this TSE's key: none of its logs can be verified"
                .to_string(),
        );
    }
    for g in &gaps {
        problems.push(format!(
            "signatureCounter gap: {} missing between {} ({}) and {} ({})",
            g.missing, g.after, g.after_file, g.before, g.before_file
        ));
    }
    for r in &repeats {
        problems.push(format!(
            "signatureCounter {} occurs in {} logs: {}",
            r.counter,
            r.files.len(),
            r.files.join(", ")
        ));
    }
    let tx = transaction_checks(seen);
    problems.extend(tx.problems);
    let clients: BTreeSet<&str> = seen
        .iter()
        .filter(|s| s.kind == LogKind::Transaction)
        .filter_map(|s| s.client.as_deref())
        .collect();
    // A TSE has at least one log, or it would not be in the map.
    let time_first = seen.iter().map(|s| s.time).min().unwrap_or_default();
    let time_last = seen.iter().map(|s| s.time).max().unwrap_or_default();
    TseReport {
        certificate: cert.map(|c| c.file.clone()),
        curve: cert
            .and_then(|c| c.curve)
            .or_else(|| seen.iter().find_map(|s| s.curve)),
        serial,
        logs: seen.len(),
        valid: count(&|s| s.verdict == LogVerdict::Valid),
        invalid: count(&|s| s.verdict == LogVerdict::Invalid),
        unsupported: count(&|s| s.verdict == LogVerdict::Unsupported),
        transaction_logs: count(&|s| s.kind == LogKind::Transaction),
        system_logs: count(&|s| s.kind == LogKind::System),
        audit_logs: count(&|s| s.kind == LogKind::Audit),
        counter_first: seen.iter().map(|s| s.counter).min().unwrap_or_default(),
        counter_last: seen.iter().map(|s| s.counter).max().unwrap_or_default(),
        gaps,
        repeats,
        transactions: tx.transactions,
        transactions_finished: tx.finished,
        transaction_first: tx.first,
        transaction_last: tx.last,
        clients: clients.into_iter().map(str::to_string).collect(),
        time_first,
        time_last,
        problems,
        notes: tx.notes,
    }
}

struct TransactionChecks {
    problems: Vec<String>,
    notes: Vec<String>,
    transactions: usize,
    finished: usize,
    first: Option<u64>,
    last: Option<u64>,
}

/// The transaction logs of one TSE: Starts raise the transactionNumber, and within a
/// transaction no Update or Finish precedes the Start, by signatureCounter or by logTime.
fn transaction_checks(seen: &[Seen]) -> TransactionChecks {
    let mut steps: Vec<(&Seen, Step, u64)> = seen
        .iter()
        .filter(|s| s.kind == LogKind::Transaction)
        .filter_map(|s| Some((s, s.step?, s.transaction?)))
        .collect();
    steps.sort_by_key(|(s, _, _)| s.counter);
    let mut problems = Vec::new();
    let starts: Vec<&(&Seen, Step, u64)> = steps
        .iter()
        .filter(|(_, step, _)| *step == Step::Start)
        .collect();
    for w in starts.windows(2) {
        let ((a, _, a_tx), (b, _, b_tx)) = (w[0], w[1]);
        if b_tx <= a_tx {
            problems.push(format!(
                "transactionNumber does not rise: transaction {b_tx} starts at signatureCounter {} ({}) after transaction {a_tx} started at signatureCounter {} ({})",
                b.counter, b.file, a.counter, a.file
            ));
        }
    }
    let mut by_number: BTreeMap<u64, Vec<(&Seen, Step)>> = BTreeMap::new();
    for (s, step, tx) in &steps {
        by_number.entry(*tx).or_default().push((*s, *step));
    }
    let (mut without_start, mut unfinished) = (Vec::new(), Vec::new());
    let mut finished = 0;
    for (tx, logs) in &by_number {
        let of = |step: Step| -> Vec<&Seen> {
            logs.iter()
                .filter(|(_, s)| *s == step)
                .map(|(l, _)| *l)
                .collect()
        };
        let (starts, finishes) = (of(Step::Start), of(Step::Finish));
        for (step, found) in [(Step::Start, &starts), (Step::Finish, &finishes)] {
            if found.len() > 1 {
                let files: Vec<&str> = found.iter().map(|s| s.file.as_str()).collect();
                problems.push(format!(
                    "transaction {tx} has {} {} logs: {}",
                    found.len(),
                    step.name(),
                    files.join(", ")
                ));
            }
        }
        match starts.first() {
            Some(start) => {
                for (later, step) in logs.iter().filter(|(_, s)| *s != Step::Start) {
                    if later.counter < start.counter {
                        problems.push(format!(
                            "transaction {tx}: {} log {} (signatureCounter {}) precedes its Start log {} (signatureCounter {})",
                            step.name(), later.file, later.counter, start.file, start.counter
                        ));
                    }
                    if later.time < start.time {
                        problems.push(format!(
                            "transaction {tx}: {} log {} has logTime {}, before its Start log {} ({})",
                            step.name(),
                            later.file,
                            later.time.format("%Y-%m-%dT%H:%M:%SZ"),
                            start.file,
                            start.time.format("%Y-%m-%dT%H:%M:%SZ")
                        ));
                    }
                }
            }
            None => without_start.push(*tx),
        }
        match finishes.first() {
            Some(finish) => {
                finished += 1;
                for (update, _) in logs.iter().filter(|(_, s)| *s == Step::Update) {
                    if update.counter > finish.counter {
                        problems.push(format!(
                            "transaction {tx}: Update log {} (signatureCounter {}) follows its Finish log {} (signatureCounter {})",
                            update.file, update.counter, finish.file, finish.counter
                        ));
                    }
                }
            }
            None => unfinished.push(*tx),
        }
    }
    let mut notes = Vec::new();
    if !without_start.is_empty() {
        notes.push(format!(
            "no Start log in this export for {} transaction(s) (started before it?): {}",
            without_start.len(),
            list(&without_start)
        ));
    }
    if !unfinished.is_empty() {
        notes.push(format!(
            "no Finish log in this export for {} transaction(s) (still open, or finished after it?): {}",
            unfinished.len(),
            list(&unfinished)
        ));
    }
    TransactionChecks {
        problems,
        notes,
        transactions: by_number.len(),
        finished,
        first: by_number.keys().next().copied(),
        last: by_number.keys().next_back().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_gap_is_reported_with_its_bounds_and_files() {
        let (gaps, repeats) = counter_checks(&[(7, "g"), (1, "a"), (2, "b"), (3, "c")]);
        assert_eq!(
            gaps,
            [Gap {
                after: 3,
                before: 7,
                missing: 3,
                after_file: "c".into(),
                before_file: "g".into()
            }]
        );
        assert!(repeats.is_empty());
    }

    #[test]
    fn repeats_list_every_file_and_gaps_around_them_still_count() {
        let (gaps, repeats) =
            counter_checks(&[(5, "e2"), (5, "e1"), (2, "b"), (5, "e3"), (9, "i")]);
        assert_eq!(
            repeats,
            [Repeat {
                counter: 5,
                files: vec!["e1".into(), "e2".into(), "e3".into()]
            }]
        );
        let spans: Vec<(u64, u64, u64)> = gaps
            .iter()
            .map(|g| (g.after, g.before, g.missing))
            .collect();
        assert_eq!(spans, [(2, 5, 2), (5, 9, 3)]);
        assert_eq!(counter_checks(&[]), (vec![], vec![]));
        assert_eq!(
            counter_checks(&[(u64::MAX, "x"), (0, "y")]).0[0].missing,
            u64::MAX - 1
        );
    }

    fn seen(file: &str, counter: u64, step: Step, tx: u64, time: i64) -> Seen {
        Seen {
            file: file.into(),
            counter,
            kind: LogKind::Transaction,
            step: Some(step),
            transaction: Some(tx),
            time: DateTime::from_timestamp(time, 0).unwrap(),
            client: Some("K".into()),
            verdict: LogVerdict::Valid,
            curve: None,
        }
    }

    #[test]
    fn clean_transactions() {
        let t = transaction_checks(&[
            seen("s1", 1, Step::Start, 1, 100),
            seen("s2", 2, Step::Start, 2, 101),
            seen("u1", 3, Step::Update, 1, 101),
            seen("f2", 4, Step::Finish, 2, 102),
            seen("f1", 5, Step::Finish, 1, 102),
        ]);
        assert_eq!(t.problems, Vec::<String>::new());
        assert_eq!(
            (t.transactions, t.finished, t.first, t.last),
            (2, 2, Some(1), Some(2))
        );
        assert!(t.notes.is_empty());
    }

    #[test]
    fn out_of_order_transactions_are_problems() {
        let t = transaction_checks(&[
            seen("s5", 1, Step::Start, 5, 100),
            seen("s4", 2, Step::Start, 4, 100),
            seen("f4", 3, Step::Finish, 4, 99),
            seen("f6", 4, Step::Finish, 6, 100),
            seen("s6", 5, Step::Start, 6, 100),
            seen("f4b", 6, Step::Finish, 4, 101),
        ]);
        assert_eq!(t.problems.len(), 4, "{:#?}", t.problems);
        assert!(t.problems[0].starts_with("transactionNumber does not rise: transaction 4"));
        assert!(t.problems[1].contains("transaction 4 has 2 Finish logs: f4, f4b"));
        assert!(t.problems[2].contains("logTime 1970-01-01T00:01:39Z, before its Start log s4"));
        assert!(
            t.problems[3].contains("Finish log f6 (signatureCounter 4) precedes its Start log s6")
        );
        assert_eq!(t.notes.len(), 1);
        assert!(t.notes[0].starts_with("no Finish log in this export for 1 transaction(s)"));
        assert!(t.notes[0].ends_with(": 5"));
    }

    #[test]
    fn a_second_start_and_an_update_after_the_finish_are_problems() {
        let t = transaction_checks(&[
            seen("s1", 1, Step::Start, 1, 100),
            seen("s1b", 2, Step::Start, 1, 100),
            seen("f1", 3, Step::Finish, 1, 101),
            seen("u1", 4, Step::Update, 1, 102),
        ]);
        assert_eq!(
            t.problems,
            [
                "transactionNumber does not rise: transaction 1 starts at signatureCounter 2 (s1b) after transaction 1 started at signatureCounter 1 (s1)",
                "transaction 1 has 2 Start logs: s1, s1b",
                "transaction 1: Update log u1 (signatureCounter 4) follows its Finish log f1 (signatureCounter 3)",
            ]
        );
    }

    #[test]
    fn info_csv_pairs() {
        let info = read_info(
            br#""description:","SYNTHETIC, ""quoted""","manufacturer:","none","version:","0.0""#,
        );
        assert_eq!(info["description"], "SYNTHETIC, \"quoted\"");
        assert_eq!(info["manufacturer"], "none");
        assert_eq!(info["version"], "0.0");
        assert_eq!(read_info(b"").len(), 0);
        assert_eq!(read_info(b"\"lonely:\"")["lonely"], "");
    }

    #[test]
    fn not_a_tse_export_is_an_error() {
        assert_eq!(verify_export(b""), Err(Error::Tar(tar::TarError::Empty)));
        let tar = tar::tests::archive(&[("info.csv", b"x")]);
        assert_eq!(verify_export(&tar), Err(Error::NoLogs { entries: 1 }));
    }

    #[test]
    fn broken_logs_and_certificates_are_findings_not_errors() {
        let tar = tar::tests::archive(&[
            ("Unixt_1_Sig-1_Log-Aud.log", b"\x30\x03\x02\x01"),
            ("nonsense.log", b""),
            ("AB_X509.der", b"\x30"),
            ("readme.txt", b"hi"),
        ]);
        let r = verify_export(&tar).unwrap();
        assert_eq!(r.logs.len(), 2);
        assert!(r.logs.iter().all(|l| l.verdict == LogVerdict::Unparsable));
        assert!(
            r.logs[1]
                .problems
                .iter()
                .any(|p| p.contains("does not follow"))
        );
        assert_eq!(r.certificates.len(), 1);
        assert_eq!(r.ignored, ["readme.txt"]);
        assert_eq!(r.notes.len(), 1);
        let c = r.counts();
        assert_eq!((c.logs, c.unparsable, c.tses, c.problems), (2, 2, 0, 4));
        assert!(!r.is_clean());
    }

    const EXPORT: &[u8] = include_bytes!(
        "../../../../fixtures/conformance/kassensichv/synthetic/synthetic_export.tar"
    );

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// The synthetic export with one byte changed, or cut anywhere, gives a report or an
        /// error: never a panic.
        #[test]
        fn corrupted_exports_never_panic(pos in 0usize..EXPORT.len(), byte in any::<u8>()) {
            let mut bytes = EXPORT.to_vec();
            bytes[pos] = byte;
            let _ = verify_export(&bytes);
        }

        #[test]
        fn truncated_exports_never_panic(cut in 0usize..EXPORT.len()) {
            let _ = verify_export(&EXPORT[..cut]);
        }

        /// Arbitrary bytes as a log file inside a valid archive, and as the archive itself,
        /// give a report or an error: never a panic.
        #[test]
        fn arbitrary_log_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let tar = tar::tests::archive(&[("Unixt_1_Sig-1_Log-Tra_No-1_Start_Client-A.log", &bytes)]);
            let report = verify_export(&tar).unwrap();
            prop_assert_eq!(report.logs.len(), 1);
            let _ = verify_export(&bytes);
        }
    }
}
