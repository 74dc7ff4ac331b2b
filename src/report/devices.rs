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
//!
//! Everything is kept per register or adds up, so accumulators of disjoint registers
//! [`merge`](Devices::merge) into what one pass gives, also for a device several registers
//! share.

use std::collections::BTreeMap;
#[cfg(test)]
use std::collections::BTreeSet;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::analytics::SequenceRanges;
use super::model::{Device, FailurePeriod};
use super::summary::widen;
use crate::model::finding::rule_code;
use crate::model::{Finding, Fiscal, FiscalState, Operation, Timestamp};
use crate::regime::rksv::receipt::FAILED_DEVICE;

/// The regimes' names, as devices are keyed by them.
const REGIMES: [&str; 3] = ["KassenSichV", "RKSV", "RT"];

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

#[derive(Default, Serialize, Deserialize)]
struct Acc {
    registers: BTreeMap<String, u64>,
    operations: u64,
    signed: u64,
    /// Register → the counter values its operations showed. Kept per register, so that what
    /// a device several registers share shows does not depend on how their operations
    /// interleave.
    counters: BTreeMap<String, Counters>,
    #[serde(with = "crate::validate::carry::time_serde::option")]
    first: Option<Timestamp>,
    #[serde(with = "crate::validate::carry::time_serde::option")]
    last: Option<Timestamp>,
}

/// The counter values one register's operations showed on one device.
#[derive(Default, Serialize, Deserialize)]
struct Counters {
    seen: SequenceRanges,
    /// The value of its last operation with one.
    last: Option<u64>,
}

impl Acc {
    fn merge(&mut self, other: Acc) {
        for (register, n) in other.registers {
            *self.registers.entry(register).or_default() += n;
        }
        self.operations += other.operations;
        self.signed += other.signed;
        self.counters.extend(other.counters);
        for t in [other.first, other.last].into_iter().flatten() {
            widen(&mut self.first, &mut self.last, t);
        }
    }

    /// The device's counter values over all its registers. A TSE's transaction counter and a
    /// cash box's receipt number run across the registers, so a value two of them show is a
    /// duplicate; an RT's daily closing is one for all the registers it serves, so its
    /// number repeats at each of them without being one.
    fn counters(&self, regime: &str) -> SequenceRanges {
        let mut all = SequenceRanges::default();
        for c in self.counters.values() {
            if regime == "RT" {
                all.union(&c.seen);
            } else {
                all.merge(&c.seen);
            }
        }
        all
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Failures {
    operations: u64,
    periods: Vec<Run>,
    /// Whether the register's last operation was recorded with the device failed.
    open: bool,
}

/// A [`FailurePeriod`] while it is followed.
#[derive(Serialize, Deserialize)]
struct Run {
    from: Option<String>,
    to: Option<String>,
    operations: u64,
}

/// The devices accumulator.
#[derive(Default, Serialize, Deserialize)]
pub struct Devices {
    /// (regime, device id) → what its operations show.
    #[serde(with = "device_map")]
    devices: BTreeMap<(&'static str, String), Acc>,
    /// Register → its failure runs (a failed fiscalisation often has no block to name the
    /// device).
    failures: BTreeMap<String, Failures>,
    /// Register → device-rule code → findings.
    #[serde(deserialize_with = "rule_counts")]
    findings: BTreeMap<String, BTreeMap<&'static str, u64>>,
    #[serde(skip, default = "failed_marker")]
    failed_marker: String,
}

fn failed_marker() -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(FAILED_DEVICE)
}

/// The devices as a list of `[regime, id, accumulator]`: JSON keys can only be strings.
mod device_map {
    use super::*;

    type Map = BTreeMap<(&'static str, String), Acc>;

    pub fn serialize<S: Serializer>(map: &Map, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter().map(|((regime, id), acc)| (regime, id, acc)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Map, D::Error> {
        Vec::<(String, String, Acc)>::deserialize(d)?
            .into_iter()
            .map(|(regime, id, acc)| {
                let regime = REGIMES.into_iter().find(|r| *r == regime).ok_or_else(|| {
                    serde::de::Error::custom(format!("{regime:?} is not a regime"))
                })?;
                Ok(((regime, id), acc))
            })
            .collect()
    }
}

fn rule_counts<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, BTreeMap<&'static str, u64>>, D::Error> {
    BTreeMap::<String, BTreeMap<String, u64>>::deserialize(d)?
        .into_iter()
        .map(|(register, codes)| {
            let codes = codes
                .into_iter()
                .map(|(code, n)| Ok((rule_code::of(&code)?, n)))
                .collect::<Result<_, D::Error>>()?;
            Ok((register, codes))
        })
        .collect()
}

fn ts(t: Option<Timestamp>) -> Option<String> {
    t.map(|t| t.0.to_rfc3339())
}

impl Devices {
    /// An empty accumulator.
    pub fn new() -> Devices {
        Devices {
            failed_marker: failed_marker(),
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
            // of number at a register is a new value (a closing that comes back later is a
            // duplicate).
            if let Some(n) = counter {
                let c = acc.counters.entry(register.clone()).or_default();
                if !(regime == "RT" && c.last == Some(n)) {
                    c.seen.insert(n);
                }
                c.last = Some(n);
            }
            if let Some(t) = at {
                widen(&mut acc.first, &mut acc.last, t);
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
                _ => f.periods.push(Run {
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

    /// Adds what `other` followed. Precondition: the two followed disjoint sets of registers
    /// (operations without a register all in one of them); a device both saw, used by
    /// registers of either side, combines.
    pub fn merge(&mut self, other: Devices) {
        for (key, theirs) in other.devices {
            match self.devices.get_mut(&key) {
                None => {
                    self.devices.insert(key, theirs);
                }
                Some(mine) => mine.merge(theirs),
            }
        }
        self.failures.extend(other.failures);
        for (register, codes) in other.findings {
            let mine = self.findings.entry(register).or_default();
            for (code, n) in codes {
                *mine.entry(code).or_default() += n;
            }
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
            let counters = acc.counters(regime);
            let d = Device {
                regime: regime.to_string(),
                device: id.clone(),
                registers: acc.registers.keys().cloned().collect(),
                counter,
                operations: acc.operations,
                signed: acc.signed,
                counter_ranges: counters.ranges(),
                counter_missing: counters.n_missing(),
                counter_duplicates: counters.n_duplicates(),
                first: ts(acc.first),
                last: ts(acc.last),
                ..Device::default()
            };
            out.insert((regime, id), d);
        }
        let device_of = |register: &str, regime: Option<&'static str>| {
            let regimes: Vec<&'static str> = match regime {
                Some(r) => vec![r],
                None => REGIMES.to_vec(),
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
                d.failure_periods
                    .extend(f.periods.into_iter().map(|r| FailurePeriod {
                        from: r.from,
                        to: r.to,
                        operations: r.operations,
                    }));
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

    fn rt_op(id: &str, register: &str, closing: u32) -> Operation {
        let mut op = Operation::bare(id, crate::model::OperationKind::Sale);
        op.register_id = Some(register.into());
        op.timestamps.completed = Timestamp::parse("2026-03-02T09:00:00+01:00");
        op.fiscal = Some(Fiscal::Rt(crate::model::RtFiscal {
            rt_serial: Some("RT-1".into()),
            daily_closing_number: Some(closing),
            ..crate::model::RtFiscal::default()
        }));
        op
    }

    /// Two registers on one RT, both in closings 1 and 2: no closing number is a duplicate,
    /// however their documents interleave, and accumulators of one register each merge into
    /// the same device.
    #[test]
    fn registers_sharing_an_rt_do_not_make_duplicates_and_merge() {
        let r1 = [
            rt_op("a1", "r1", 1),
            rt_op("a2", "r1", 1),
            rt_op("a3", "r1", 2),
        ];
        let r2 = [
            rt_op("b1", "r2", 1),
            rt_op("b2", "r2", 2),
            rt_op("b3", "r2", 2),
        ];
        let interleaved = [&r1[0], &r2[0], &r1[1], &r2[1], &r1[2], &r2[2]];
        let json = |d: Devices| serde_json::to_string(&d.finish()).expect("serialises");
        let mut one = Devices::new();
        interleaved.iter().for_each(|o| one.push(o));
        let one = json(one);
        assert!(one.contains(r#""counter_ranges":[[1,2]]"#), "{one}");
        assert!(one.contains(r#""counter_duplicates":0"#), "{one}");
        let mut returning = Devices::new();
        [&r1[0], &r1[2], &r1[1]]
            .iter()
            .for_each(|o| returning.push(o));
        let returning = json(returning);
        assert!(
            returning.contains(r#""counter_duplicates":1"#),
            "{returning}"
        );
        let side = |ops: &[Operation]| {
            let mut d = Devices::new();
            ops.iter().for_each(|o| d.push(o));
            d.finding(&finding(
                "RTD001",
                &ops[0].register_id.clone().unwrap_or_default(),
            ));
            d
        };
        let mut with_findings = Devices::new();
        interleaved.iter().for_each(|o| with_findings.push(o));
        with_findings.finding(&finding("RTD001", "r1"));
        with_findings.finding(&finding("RTD001", "r2"));
        let whole = json(with_findings);
        let mut ab = side(&r1);
        ab.merge(side(&r2));
        assert_eq!(json(ab), whole);
        let mut ba = side(&r2);
        ba.merge(side(&r1));
        let text = serde_json::to_string(&ba).expect("serialises");
        let back: Devices = serde_json::from_str(&text).expect("reads back");
        assert_eq!(serde_json::to_string(&back).expect("serialises"), text);
        assert_eq!(json(back), whole);
    }
}
