//! Fiscal devices for the report: per TSE, RKSV cash box and RT, what its operations show
//! (signed operations, counter ranges and gaps, periods of device failure) and what the
//! validator found on them (failed and unverifiable signatures, chain breaks, counter
//! findings).
//!
//! Findings name an operation and its register, not a device, and keeping every operation's
//! device to look it up later would cost memory per operation. So a register's device
//! findings are attributed to the device of the finding's regime that register used most.
//! A register that changed its TSE mid-history has its findings shown under the TSE it used
//! most; the counters and periods, which come from the operations, are exact per device.

use std::collections::BTreeMap;
#[cfg(test)]
use std::collections::BTreeSet;

use base64::Engine as _;

use super::analytics::SequenceRanges;
use super::model::{Device, FailurePeriod};
use crate::model::{Finding, Fiscal, FiscalState, Operation, Timestamp};
use crate::regime::rksv::receipt::FAILED_DEVICE;

/// Codes of failed signatures.
const FAILED: &[&str] = &["TSE001", "RKS011"];
/// Codes of signatures that could not be checked.
const UNVERIFIABLE: &[&str] = &["TSE007", "RKS010", "RKS105"];
/// Codes of chain breaks.
const CHAIN: &[&str] = &["RKS020", "RKS030"];
/// Codes of counter problems.
const COUNTER: &[&str] = &["FIS001", "FIS002", "FIS003", "TSE004", "RKS031"];

/// Which regime's devices a rule code is about (`None`: not a device rule).
fn regime_of(code: &str) -> Option<Option<&'static str>> {
    if code.starts_with("TSE") {
        Some(Some("KassenSichV"))
    } else if code.starts_with("RKS") {
        Some(Some("RKSV"))
    } else if code.starts_with("RTD") {
        Some(Some("RT"))
    } else if code.starts_with("FIS") {
        // The counter rules apply to every regime: the register's own device.
        Some(None)
    } else {
        None
    }
}

#[derive(Default)]
struct Acc {
    registers: BTreeMap<String, u64>,
    operations: u64,
    signed: u64,
    counters: SequenceRanges,
    last_counter: Option<u64>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

#[derive(Default)]
struct Failures {
    operations: u64,
    periods: Vec<FailurePeriod>,
    /// Whether the register's last operation was recorded with the device failed.
    open: bool,
}

/// The devices accumulator.
#[derive(Default)]
pub struct Devices {
    /// (regime, device id) → what its operations show.
    devices: BTreeMap<(&'static str, String), Acc>,
    /// Register → its failure runs (a failed fiscalisation often has no block to name the
    /// device).
    failures: BTreeMap<String, Failures>,
    /// Register → device-rule code → findings.
    findings: BTreeMap<String, BTreeMap<&'static str, u64>>,
    failed_marker: String,
}

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.0.to_rfc3339())
}

impl Devices {
    /// An empty accumulator.
    pub fn new() -> Devices {
        Devices {
            failed_marker: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(FAILED_DEVICE),
            ..Devices::default()
        }
    }

    /// Counts one operation.
    pub fn push(&mut self, op: &Operation) {
        let register = op.register_id.clone().unwrap_or_default();
        let at = op.timestamps.effective();
        let mut failed = op.fiscal_state == Some(FiscalState::Failed);
        if let Some(fiscal) = &op.fiscal {
            let (regime, id, counter, signed) = match fiscal {
                Fiscal::KassenSichV(t) => {
                    let ev = t.finish.as_ref().or(t.start.as_ref());
                    (
                        "KassenSichV",
                        t.tse_serial
                            .clone()
                            .or_else(|| t.client_id.clone())
                            .unwrap_or_else(|| format!("(register {register})")),
                        ev.and_then(|e| e.transaction_counter),
                        ev.is_some_and(|e| e.signature.is_some()),
                    )
                }
                Fiscal::Rksv(r) => {
                    let marker = r.signature.as_deref() == Some(self.failed_marker.as_str());
                    failed |= marker;
                    (
                        "RKSV",
                        r.cashbox_id
                            .clone()
                            .unwrap_or_else(|| format!("(register {register})")),
                        r.transaction_counter,
                        r.signature.is_some() && !marker,
                    )
                }
                Fiscal::Rt(r) => (
                    "RT",
                    r.rt_serial
                        .clone()
                        .unwrap_or_else(|| format!("(register {register})")),
                    r.daily_closing_number.map(u64::from),
                    r.signature.is_some(),
                ),
            };
            let acc = self.devices.entry((regime, id)).or_default();
            *acc.registers.entry(register.clone()).or_default() += 1;
            acc.operations += 1;
            acc.signed += u64::from(signed);
            // An RT's closing number repeats on every document of its closing: only a change
            // of number is a new value (a closing that comes back later is a duplicate).
            if let Some(n) = counter
                && !(regime == "RT" && acc.last_counter == Some(n))
            {
                acc.counters.insert(n);
                acc.last_counter = Some(n);
            }
            if let Some(t) = at {
                if acc.first.is_none_or(|f| t.utc() < f.utc()) {
                    acc.first = Some(t);
                }
                if acc.last.is_none_or(|l| t.utc() > l.utc()) {
                    acc.last = Some(t);
                }
            }
        }
        let f = self.failures.entry(register).or_default();
        if failed {
            f.operations += 1;
            match (f.open, f.periods.last_mut()) {
                (true, Some(p)) => {
                    p.to = ts(at).or(p.to.take());
                    p.operations += 1;
                }
                _ => f.periods.push(FailurePeriod {
                    from: ts(at),
                    to: ts(at),
                    operations: 1,
                }),
            }
        }
        f.open = failed;
    }

    /// Counts one finding if it is about a fiscal device.
    pub fn finding(&mut self, f: &Finding) {
        if regime_of(f.code).is_some() {
            let register = f.register_id.clone().unwrap_or_default();
            *self
                .findings
                .entry(register)
                .or_default()
                .entry(f.code)
                .or_default() += 1;
        }
    }

    /// The devices, by regime and id.
    pub fn finish(self) -> Vec<Device> {
        // Each register's main device per regime: the one it used most (ties: smallest id).
        let mut main: BTreeMap<(String, &'static str), (u64, String)> = BTreeMap::new();
        for ((regime, id), acc) in &self.devices {
            for (register, n) in &acc.registers {
                let e = main
                    .entry((register.clone(), *regime))
                    .or_insert((0, id.clone()));
                if *n > e.0 {
                    *e = (*n, id.clone());
                }
            }
        }
        let mut out: BTreeMap<(&'static str, String), Device> = BTreeMap::new();
        for ((regime, id), acc) in self.devices {
            let counter = match regime {
                "KassenSichV" => "TSE transaction number",
                "RKSV" => "receipt number",
                _ => "daily closing number",
            };
            let d = Device {
                regime: regime.to_string(),
                device: id.clone(),
                registers: acc.registers.keys().cloned().collect(),
                counter,
                operations: acc.operations,
                signed: acc.signed,
                counter_ranges: acc.counters.ranges(),
                counter_missing: acc.counters.n_missing(),
                counter_duplicates: acc.counters.n_duplicates(),
                first: ts(acc.first),
                last: ts(acc.last),
                ..Device::default()
            };
            out.insert((regime, id), d);
        }
        let device_of = |register: &str, regime: Option<&'static str>| {
            let regimes: Vec<&'static str> = match regime {
                Some(r) => vec![r],
                None => vec!["KassenSichV", "RKSV", "RT"],
            };
            regimes.into_iter().find_map(|r| {
                main.get(&(register.to_string(), r))
                    .map(|(_, id)| (r, id.clone()))
            })
        };
        for (register, codes) in &self.findings {
            for (code, n) in codes {
                let Some(regime) = regime_of(code) else {
                    continue;
                };
                let Some(key) = device_of(register, regime) else {
                    continue;
                };
                if let Some(d) = out.get_mut(&key) {
                    *d.findings.entry(*code).or_default() += n;
                }
            }
        }
        for (register, f) in self.failures {
            if f.operations == 0 {
                continue;
            }
            if let Some(d) = device_of(&register, None).and_then(|k| out.get_mut(&k)) {
                d.failed_operations += f.operations;
                d.failure_periods.extend(f.periods);
            }
        }
        let sum = |d: &Device, codes: &[&str]| -> u64 {
            codes
                .iter()
                .map(|c| d.findings.get(c).copied().unwrap_or(0))
                .sum()
        };
        let mut devices: Vec<Device> = out.into_values().collect();
        for d in &mut devices {
            d.failed = sum(d, FAILED);
            d.unverifiable = sum(d, UNVERIFIABLE);
            d.chain_breaks = sum(d, CHAIN);
            d.counter_findings = sum(d, COUNTER);
            d.verified = d.signed.saturating_sub(d.failed + d.unverifiable);
        }
        devices
    }
}

/// Register ids of the devices, for tests.
#[cfg(test)]
fn ids(devices: &[Device]) -> BTreeSet<String> {
    devices.iter().map(|d| d.device.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RksvFiscal, Severity};

    fn rksv_op(id: &str, register: &str, n: u64, signature: &str, at: &str) -> Operation {
        let mut op = Operation::bare(id, crate::model::OperationKind::Sale);
        op.register_id = Some(register.into());
        op.timestamps.completed = Timestamp::parse(at);
        op.fiscal = Some(Fiscal::Rksv(RksvFiscal {
            cashbox_id: Some("KASSE-1".into()),
            transaction_counter: Some(n),
            signature: Some(signature.into()),
            ..RksvFiscal::default()
        }));
        op
    }

    fn finding(code: &'static str, register: &str) -> Finding {
        Finding {
            code,
            severity: Severity::Error,
            operation_id: None,
            register_id: Some(register.into()),
            location: None,
            message: String::new(),
            expected: None,
            found: None,
        }
    }

    #[test]
    fn counters_gaps_failures_and_findings_per_device() {
        let marker = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(FAILED_DEVICE);
        let mut d = Devices::new();
        d.push(&rksv_op("a", "r1", 1, "sig", "2026-03-02T09:00:00+01:00"));
        d.push(&rksv_op("b", "r1", 2, &marker, "2026-03-02T09:10:00+01:00"));
        d.push(&rksv_op("c", "r1", 3, &marker, "2026-03-02T09:20:00+01:00"));
        d.push(&rksv_op("d", "r1", 6, "sig", "2026-03-02T09:30:00+01:00"));
        d.push(&rksv_op("e", "r1", 7, &marker, "2026-03-02T09:40:00+01:00"));
        d.finding(&finding("RKS011", "r1"));
        d.finding(&finding("RKS030", "r1"));
        d.finding(&finding("FIS002", "r1"));
        d.finding(&finding("TOT001", "r1"));
        let devices = d.finish();
        assert_eq!(ids(&devices), BTreeSet::from(["KASSE-1".to_string()]));
        let k = &devices[0];
        assert_eq!(k.operations, 5);
        assert_eq!(k.signed, 2);
        assert_eq!(k.failed, 1);
        assert_eq!(k.verified, 1);
        assert_eq!(k.chain_breaks, 1);
        assert_eq!(k.counter_findings, 1);
        assert_eq!(k.counter_ranges, vec![(1, 3), (6, 7)]);
        assert_eq!(k.counter_missing, 2);
        assert_eq!(k.failed_operations, 3);
        assert_eq!(k.failure_periods.len(), 2);
        assert_eq!(k.failure_periods[0].operations, 2);
        assert_eq!(
            k.failure_periods[0].to.as_deref(),
            Some("2026-03-02T09:20:00+01:00")
        );
        assert!(!k.findings.contains_key("TOT001"));
    }
}
