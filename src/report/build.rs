//! Builds the [`Report`]: an accumulator that follows the operation and finding streams in
//! one pass, then assembles the bounded report from it and from what the run produced
//! (input and finding summaries, session reconciliations, closings, files written).
//!
//! A run over a shard of the registers saves its accumulator (serde, amounts as exact decimal
//! strings) and [`Accumulator::merge`] combines the shards' into what one pass over all
//! registers gives.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::analytics::{self, Analytics, DayAnalytics, ParkedDays, RegisterAnalytics, UNDATED};
use super::benford::{Benford, ChiSquareVerdict, Conformity, Test};
use super::devices::Devices;
use super::drawer::Drawer;
use super::findings::FindingSummary;
use super::model::*;
use super::pauses::Pauses;
use super::summary::{InputSummary, fmt_ts as utc};
use crate::export::ZTotals;
use crate::model::{Finding, Operation, Severity};
use crate::nightly::manifest::{FileEntry, Inputs};
use crate::validate::{Reconciliation, SessionStatus, catalog};

/// How many entries a list keeps unless told otherwise.
pub const DEFAULT_TOP: usize = 25;

/// A period longer than this many days is shown per month.
const MAX_DAYS: usize = 120;

/// Registers drawn in the cash chart.
const CHART_REGISTERS: usize = 8;

/// What the report follows while the operations stream by.
#[derive(Serialize, Deserialize)]
pub struct Accumulator {
    analytics: Analytics,
    devices: Devices,
    drawer: Drawer,
    pauses: Pauses,
    /// Register → currency code (`mixed` once two differ).
    currency: BTreeMap<String, String>,
    merchants: BTreeSet<String>,
    locations: BTreeSet<String>,
    /// Register → findings per severity (error, warning, info).
    register_findings: BTreeMap<String, [u64; 3]>,
    /// Rule code → registers with a finding of it.
    #[serde(deserialize_with = "crate::model::finding::rule_code::keys")]
    rule_registers: BTreeMap<&'static str, BTreeSet<String>>,
    top: usize,
    /// Days of `analytics` out of memory until [`settle`](Self::settle). Never serialised:
    /// an accumulator with parked days refuses to be.
    #[serde(
        skip_deserializing,
        skip_serializing_if = "ParkedDays::is_empty",
        serialize_with = "refuse_parked"
    )]
    parked: ParkedDays,
    /// Operations pushed, to look at the days held every [`PARK_EVERY`].
    #[serde(skip)]
    pushed: u64,
}

/// How often (in operations) the days held are counted.
const PARK_EVERY: u64 = 1 << 14;
/// Days held, beyond two per register, before all but each register's latest are parked:
/// about 4 MB. The two per register keep a park from coming again soon after the last one,
/// when the registers have moved on by a day.
const PARK_AFTER: usize = 4096;

fn refuse_parked<S: serde::Serializer>(_: &ParkedDays, _: S) -> Result<S::Ok, S::Error> {
    Err(serde::ser::Error::custom(
        "report accumulator serialised with days parked; settle it first",
    ))
}

/// What the run produced besides the streams.
pub struct Produced<'a> {
    /// What was read.
    pub input: &'a InputSummary,
    /// What was found.
    pub findings: &'a FindingSummary,
    /// Every session's cash reconciliation.
    pub sessions: &'a [Reconciliation],
    /// The closings the exports wrote.
    pub closings: Vec<ZTotals>,
    /// The inputs with their digests, when hashed.
    pub inputs: Option<&'a Inputs>,
    /// The files written, with their digests.
    pub exports: Vec<FileEntry>,
    /// Exports that failed (an error verdict even without findings).
    pub failed_exports: u64,
}

impl Accumulator {
    /// An accumulator whose lists keep `top` entries.
    pub fn new(top: usize) -> Accumulator {
        Accumulator {
            analytics: Analytics::default(),
            devices: Devices::new(),
            drawer: Drawer::default(),
            pauses: Pauses::new(top),
            currency: BTreeMap::new(),
            merchants: BTreeSet::new(),
            locations: BTreeSet::new(),
            register_findings: BTreeMap::new(),
            rule_registers: BTreeMap::new(),
            top,
            parked: ParkedDays::default(),
            pushed: 0,
        }
    }

    /// Brings the days parked during [`push`](Self::push) back, so that the accumulator can
    /// be serialised, merged or finished. An error if the temporary file they were in cannot
    /// be read back whole.
    pub fn settle(&mut self) -> std::io::Result<()> {
        self.analytics.unpark(&mut self.parked)
    }

    /// Follows one accepted operation.
    pub fn push(&mut self, op: &Operation) {
        let in_range = self.analytics.push(op);
        self.pushed += 1;
        if self.pushed.is_multiple_of(PARK_EVERY)
            && self.analytics.held_days() > PARK_AFTER + 2 * self.analytics.registers.len()
        {
            self.analytics.park(&mut self.parked);
        }
        self.devices.push(op);
        if in_range {
            self.drawer.push(op);
        }
        self.pauses.push(op);
        let register = op
            .register_id
            .clone()
            .unwrap_or_else(|| analytics::NO_REGISTER.to_string());
        note_currency(&mut self.currency, register, op.currency.to_string());
        if let Some(m) = &op.merchant_id
            && !self.merchants.contains(m)
        {
            self.merchants.insert(m.clone());
        }
        if let Some(l) = &op.location_id
            && !self.locations.contains(l)
        {
            self.locations.insert(l.clone());
        }
    }

    /// Follows one finding.
    pub fn finding(&mut self, f: &Finding) {
        self.devices.finding(f);
        let register = f
            .register_id
            .clone()
            .unwrap_or_else(|| analytics::NO_REGISTER.to_string());
        let i = match f.severity {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Info => 2,
        };
        self.register_findings.entry(register.clone()).or_default()[i] += 1;
        let regs = self.rule_registers.entry(f.code).or_default();
        if !regs.contains(&register) {
            regs.insert(register);
        }
    }

    /// Adds what `other` followed, so that finishing the result gives the report one pass
    /// over both streams would have given, whichever of the two is `self`.
    ///
    /// Precondition: the two followed disjoint sets of registers, each register's operations
    /// and findings in their order, and the operations and findings without a register all
    /// went to one of them: pauses, drawers and device failure runs follow a register's
    /// operations one after the other and cannot be joined across a split. Both lists keep
    /// the same number of entries; `self`'s is kept.
    ///
    /// An error if either has days parked that cannot be read back ([`settle`](Self::settle)).
    pub fn merge(&mut self, mut other: Accumulator) -> std::io::Result<()> {
        debug_assert_eq!(
            self.top, other.top,
            "accumulators of different list lengths"
        );
        self.settle()?;
        other.settle()?;
        self.analytics.merge(other.analytics);
        self.devices.merge(other.devices);
        self.drawer.merge(other.drawer);
        self.pauses.merge(other.pauses);
        for (register, code) in other.currency {
            note_currency(&mut self.currency, register, code);
        }
        self.merchants.extend(other.merchants);
        self.locations.extend(other.locations);
        for (register, counts) in other.register_findings {
            let mine = self.register_findings.entry(register).or_default();
            for (m, n) in mine.iter_mut().zip(counts) {
                *m += n;
            }
        }
        for (code, registers) in other.rule_registers {
            self.rule_registers
                .entry(code)
                .or_default()
                .extend(registers);
        }
        Ok(())
    }

    /// The report; an error if days parked cannot be read back ([`settle`](Self::settle)).
    pub fn finish(mut self, p: Produced<'_>) -> std::io::Result<Report> {
        self.settle()?;
        let top = self.top;
        let findings = findings(p.findings, &self.rule_registers);
        let errors = p.findings.errors + p.input.rejected + p.failed_exports;
        let scope = self.scope(&p);
        let money = money(&self.analytics, &self.currency, top);
        let analytics = auditor(&self.analytics, self.pauses.finish(), top);
        Ok(Report {
            tool: Tool {
                name: "fiskal",
                version: env!("CARGO_PKG_VERSION"),
            },
            verdict: Verdict::of(errors, p.findings.warnings),
            scope,
            findings,
            money,
            closings: closings(p.closings, top),
            cash: cash(p.sessions, self.drawer.finish(), top),
            devices: Listing::top(device_order(self.devices.finish()), top),
            exports: p.exports,
            analytics,
            top,
        })
    }

    fn scope(&self, p: &Produced<'_>) -> Scope {
        let mut registers: Vec<RegisterScope> = p
            .input
            .by_register
            .iter()
            .map(|(id, r)| {
                let [errors, warnings, infos] =
                    self.register_findings.get(id).copied().unwrap_or_default();
                RegisterScope {
                    register: id.clone(),
                    regimes: r.regimes.clone(),
                    shapes: r.shapes.clone(),
                    currency: self.currency.get(id).cloned().unwrap_or_default(),
                    operations: r.operations,
                    first: r.first.map(utc),
                    last: r.last.map(utc),
                    errors,
                    warnings,
                    infos,
                    verdict: Verdict::of(errors, warnings),
                }
            })
            .collect();
        registers.sort_by(|a, b| {
            b.verdict
                .cmp(&a.verdict)
                .then(b.errors.cmp(&a.errors))
                .then(b.warnings.cmp(&a.warnings))
                .then_with(|| a.register.cmp(&b.register))
        });
        let by_type = p
            .input
            .by_type_state
            .iter()
            .map(|(k, states)| (k.clone(), states.values().sum()))
            .collect();
        Scope {
            inputs: p.inputs.map(|i| i.files.clone()).unwrap_or_default(),
            master_data: p.inputs.and_then(|i| i.master_data.clone()),
            config: p.inputs.and_then(|i| i.config.clone()),
            period: Period {
                from: p.input.period.from.map(utc),
                to: p.input.period.to.map(utc),
            },
            merchants: Listing::top(self.merchants.iter().cloned(), self.top),
            locations: Listing::top(self.locations.iter().cloned(), self.top),
            regimes: p.input.by_regime.clone(),
            accepted: p.input.accepted,
            rejected: p.input.rejected,
            rejected_by_class: p.input.rejected_by_class.clone(),
            by_type,
            registers: Listing::top(registers, self.top),
        }
    }
}

/// Notes that `register` used `code` (`mixed` once two differ, whatever came first).
fn note_currency(currency: &mut BTreeMap<String, String>, register: String, code: String) {
    match currency.get_mut(&register) {
        None => {
            currency.insert(register, code);
        }
        Some(c) if *c != code => *c = "mixed".to_string(),
        Some(_) => {}
    }
}

fn findings(s: &FindingSummary, registers: &BTreeMap<&'static str, BTreeSet<String>>) -> Findings {
    let rank = |sev: Severity| match sev {
        Severity::Error => 0,
        Severity::Warning => 1,
        Severity::Info => 2,
    };
    let mut rules: Vec<RuleFindings> = s
        .by_rule
        .iter()
        .map(|(code, t)| {
            let rule = catalog::rule(code);
            RuleFindings {
                code,
                severity: t.severity,
                title: t.title,
                rationale: rule.map_or("", |r| r.rationale),
                source: rule.map_or("", |r| r.source),
                count: t.count,
                registers: registers.get(code).map_or(0, |r| r.len() as u64),
                examples: t.examples.clone(),
            }
        })
        .collect();
    rules.sort_by(|a, b| {
        rank(a.severity)
            .cmp(&rank(b.severity))
            .then(b.count.cmp(&a.count))
            .then(a.code.cmp(b.code))
    });
    Findings {
        errors: s.errors,
        warnings: s.warnings,
        infos: s.infos,
        rules,
    }
}

/// A day's (or several days' merged) figures as the report shows them.
fn totals(d: &DayAnalytics) -> MoneyTotals {
    let mut revenue = analytics::VatAmounts::default();
    for v in d.revenue_by_rate.values() {
        revenue.add(v);
    }
    MoneyTotals {
        by_rate: (&d.revenue_by_rate).into(),
        revenue,
        payments: (&d.payments).into(),
        sales: d.sales,
        returns: d.returns,
        voids: d.voids,
        cancelled: d.cancelled,
    }
}

fn money(a: &Analytics, currency: &BTreeMap<String, String>, top: usize) -> Money {
    let currency_of = |r: &str| currency.get(r).cloned().unwrap_or_default();
    let all_days: BTreeSet<&str> = a
        .registers
        .values()
        .flat_map(|r| r.days.keys().map(String::as_str))
        .collect();
    let monthly = all_days.len() > MAX_DAYS;
    let unit = |day: &str| -> String {
        if monthly && day != UNDATED {
            day.get(..7).unwrap_or(day).to_string()
        } else {
            day.to_string()
        }
    };
    let mut currencies: BTreeMap<String, DayAnalytics> = BTreeMap::new();
    let mut days: BTreeMap<(String, String), DayAnalytics> = BTreeMap::new();
    let mut registers = Vec::new();
    for (id, r) in &a.registers {
        let cur = currency_of(id);
        let mut all = DayAnalytics::default();
        for (day, d) in &r.days {
            all.merge(d);
            days.entry((unit(day), cur.clone())).or_default().merge(d);
        }
        currencies.entry(cur.clone()).or_default().merge(&all);
        registers.push(RegisterMoney {
            register: id.clone(),
            currency: cur,
            totals: totals(&all),
        });
    }
    // Only the first `top` register-days are shown: the rest are counted, never built (at ten
    // million operations there are 200,000, each with its maps of rates and methods).
    let register_days = a
        .registers
        .iter()
        .flat_map(|(id, r)| r.days.iter().map(move |(day, d)| (id, day, d)));
    let (total, shown) = (
        register_days.clone().count(),
        register_days
            .take(top)
            .map(|(id, day, d)| DayMoney {
                day: day.clone(),
                register: Some(id.clone()),
                currency: currency_of(id),
                totals: totals(d),
            })
            .collect::<Vec<_>>(),
    );
    Money {
        currencies: currencies
            .iter()
            .map(|(c, d)| (c.clone(), totals(d)))
            .collect(),
        registers: Listing::top(registers, top),
        granularity: if monthly { "month" } else { "day" },
        days: days
            .iter()
            .map(|((day, currency), d)| DayMoney {
                day: day.clone(),
                register: None,
                currency: currency.clone(),
                totals: totals(d),
            })
            .collect(),
        register_days: Listing::counted(shown, total),
    }
}

fn closings(mut all: Vec<ZTotals>, top: usize) -> Closings {
    all.sort_by(|a, b| {
        (a.format, &a.register, a.z_nr, a.business_day).cmp(&(
            b.format,
            &b.register,
            b.z_nr,
            b.business_day,
        ))
    });
    let mut ranges: Vec<ClosingRange> = Vec::new();
    for z in &all {
        match ranges.last_mut() {
            Some(r) if r.format == z.format && r.register == z.register => {
                r.closings += 1;
                r.first_z = r.first_z.min(z.z_nr);
                r.last_z = r.last_z.max(z.z_nr);
                r.first_day = match (r.first_day, z.business_day) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                r.last_day = r.last_day.max(z.business_day);
                r.gross += z.gross;
                r.payments_total += z.payments_total;
                r.cash += z.cash;
            }
            _ => ranges.push(ClosingRange {
                format: z.format,
                register: z.register.clone(),
                closings: 1,
                first_z: z.z_nr,
                last_z: z.z_nr,
                first_day: z.business_day,
                last_day: z.business_day,
                gross: z.gross,
                payments_total: z.payments_total,
                cash: z.cash,
            }),
        }
    }
    Closings {
        registers: Listing::top(ranges, top),
        closings: Listing::top(all, top),
    }
}

fn cash(sessions: &[Reconciliation], negative: Vec<NegativeCashDay>, top: usize) -> Cash {
    let mut registers: BTreeMap<&str, RegisterCash> = BTreeMap::new();
    let mut per_day: BTreeMap<&str, BTreeMap<String, Decimal>> = BTreeMap::new();
    let mut abs_total: BTreeMap<&str, Decimal> = BTreeMap::new();
    for s in sessions {
        let r = registers
            .entry(s.register.as_str())
            .or_insert_with(|| RegisterCash {
                register: s.register.clone(),
                ..RegisterCash::default()
            });
        r.sessions += 1;
        if s.status == SessionStatus::Open || s.status == SessionStatus::Counted {
            r.open += 1;
        }
        if s.counted.is_some() {
            r.counted += 1;
        }
        if let Some(diff) = s.difference {
            if diff.is_sign_negative() && !diff.is_zero() {
                r.shortages += 1;
                r.shortage_sum += diff;
            } else if !diff.is_zero() {
                r.overages += 1;
                r.overage_sum += diff;
            }
            if !diff.is_zero() && !s.explained {
                r.unexplained += 1;
            }
            let day = s
                .counted_at
                .map(|t| t.0.date_naive().to_string())
                .or_else(|| s.business_date.map(|d| d.to_string()));
            if let Some(day) = day {
                *per_day
                    .entry(s.register.as_str())
                    .or_default()
                    .entry(day)
                    .or_default() += diff;
                *abs_total.entry(s.register.as_str()).or_default() += diff.abs();
            }
            r.absolute_difference += diff.abs();
        }
    }
    // The registers whose drawers were furthest off, drawn in register order.
    let mut by_size: Vec<(&str, Decimal)> = abs_total.into_iter().collect();
    by_size.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut charted: Vec<&str> = by_size
        .into_iter()
        .take(CHART_REGISTERS)
        .map(|(r, _)| r)
        .collect();
    charted.sort();
    let series = charted
        .into_iter()
        .map(|r| {
            let points: Vec<(String, Decimal)> =
                per_day.remove(r).unwrap_or_default().into_iter().collect();
            // The most recent days when a register has more than a chart can show.
            let skip = points.len().saturating_sub(MAX_DAYS);
            CashSeries {
                register: r.to_string(),
                points: points.into_iter().skip(skip).collect(),
            }
        })
        .collect();
    let mut ranked: Vec<&Reconciliation> = sessions.iter().collect();
    ranked.sort_by(|a, b| {
        let size = |s: &Reconciliation| s.difference.map(|d| d.abs());
        size(b)
            .cmp(&size(a))
            .then_with(|| a.register.cmp(&b.register))
            .then_with(|| a.session.cmp(&b.session))
    });
    let mut registers: Vec<RegisterCash> = registers.into_values().collect();
    registers.sort_by(|a, b| {
        b.absolute_difference
            .cmp(&a.absolute_difference)
            .then_with(|| a.register.cmp(&b.register))
    });
    Cash {
        registers: Listing::top(registers, top),
        sessions: Listing::top(ranked.into_iter().cloned(), top),
        series,
        negative_days: Listing::top(negative, top),
    }
}

/// Devices with problems first (failed, unverifiable, chain breaks, counter findings, gaps,
/// failure periods), then by regime and id.
fn device_order(mut devices: Vec<Device>) -> Vec<Device> {
    let trouble = |d: &Device| {
        d.failed
            + d.unverifiable
            + d.chain_breaks
            + d.counter_findings
            + d.counter_missing
            + d.failed_operations
    };
    devices.sort_by(|a, b| {
        trouble(b)
            .cmp(&trouble(a))
            .then_with(|| a.regime.cmp(&b.regime))
            .then_with(|| a.device.cmp(&b.device))
    });
    devices
}

fn auditor(a: &Analytics, time_gaps: Vec<TimeGap>, top: usize) -> AuditorAnalytics {
    let mut receipts = Benford::default();
    let mut lines = Benford::default();
    let mut hours: BTreeMap<u8, analytics::Counted> = BTreeMap::new();
    let mut weekdays: BTreeMap<u8, analytics::Counted> = BTreeMap::new();
    let mut round = analytics::RoundAmounts::default();
    let mut per_register = Vec::new();
    let mut gaps = Vec::new();
    let mut cashiers = Vec::new();
    for (id, r) in &a.registers {
        receipts.merge(&r.benford_receipts);
        lines.merge(&r.benford_lines);
        for (h, c) in &r.sales_by_hour {
            hours.entry(*h).or_default().merge(c);
        }
        for (d, c) in &r.sales_by_weekday {
            weekdays.entry(*d).or_default().merge(c);
        }
        round.merge(&r.round_amounts);
        let result = r.benford_receipts.result(Test::FirstDigit);
        if result.enough
            && (result.chi_square.verdict == ChiSquareVerdict::Fail
                || result.mad.verdict == Conformity::Nonconformity)
        {
            per_register.push(RegisterBenford {
                register: id.clone(),
                result,
            });
        }
        if r.sequence.n_missing() > 0 || r.sequence.n_duplicates() > 0 {
            gaps.push(sequence_gaps(id, r));
        }
        for (c, counts) in &r.cashiers {
            cashiers.push(CashierRate {
                register: id.clone(),
                cashier: c.clone(),
                counts: *counts,
            });
        }
    }
    per_register.sort_by(|a, b| {
        b.result
            .mad
            .value
            .total_cmp(&a.result.mad.value)
            .then_with(|| a.register.cmp(&b.register))
    });
    gaps.sort_by(|a, b| {
        b.missing
            .cmp(&a.missing)
            .then(b.duplicates.cmp(&a.duplicates))
            .then_with(|| a.register.cmp(&b.register))
    });
    cashiers.sort_by(|a, b| {
        let ranked = |c: &CashierRate| c.counts.sales >= MIN_SALES_FOR_RATE;
        let rate = |c: &CashierRate| c.counts.storno_rate().unwrap_or(0.0);
        ranked(b)
            .cmp(&ranked(a))
            .then(rate(b).total_cmp(&rate(a)))
            .then_with(|| a.register.cmp(&b.register))
            .then_with(|| a.cashier.cmp(&b.cashier))
    });
    let nonzero = round.n_receipts - round.n_zero;
    AuditorAnalytics {
        benford: vec![
            BenfordSection {
                subject: "receipts",
                first_digit: receipts.result(Test::FirstDigit),
                first_two_digits: receipts.result(Test::FirstTwoDigits),
            },
            BenfordSection {
                subject: "lines",
                first_digit: lines.result(Test::FirstDigit),
                first_two_digits: lines.result(Test::FirstTwoDigits),
            },
        ],
        benford_registers: Listing::top(per_register, top),
        sequence_gaps: Listing::top(gaps, top),
        time_gaps: Listing::top(time_gaps, top),
        sales_by_hour: (0..24)
            .map(|h| Bucket {
                key: h,
                sales: hours.get(&h).copied().unwrap_or_default(),
            })
            .collect(),
        sales_by_weekday: (1..=7)
            .map(|d| Bucket {
                key: d,
                sales: weekdays.get(&d).copied().unwrap_or_default(),
            })
            .collect(),
        round_amounts: RoundShare {
            counts: round,
            whole_share: (nonzero > 0).then(|| round.whole as f64 / nonzero as f64),
        },
        cashiers: Listing::top(cashiers, top),
        out_of_range: a.out_of_range,
    }
}

/// How many missing ranges a register lists.
const GAPS_LISTED: usize = 5;

fn sequence_gaps(id: &str, r: &RegisterAnalytics) -> SequenceGaps {
    SequenceGaps {
        register: id.to_string(),
        missing: r.sequence.n_missing(),
        duplicates: r.sequence.n_duplicates(),
        gaps: r.sequence.gaps().into_iter().take(GAPS_LISTED).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use super::*;
    use crate::ingest::{self, Item, Reject};
    use crate::model::hash::id_hash;
    use crate::model::masterdata::MasterData;
    use crate::synth::{self, Anomaly, SynthOptions, SynthRegime, SynthShape};
    use crate::validate::Validator;
    use crate::validate::config::Config;

    /// A history read and validated in one pass, as the audit does it.
    #[derive(Default)]
    struct History {
        ops: Vec<Operation>,
        rejects: Vec<Reject>,
        findings: Vec<Finding>,
        sessions: Vec<Reconciliation>,
    }

    fn history(dir: &Path) -> History {
        let md = MasterData::load(&dir.join("masterdata.toml")).expect("master data");
        let mut v = Validator::with_master_data(Config::default(), Some(&md));
        let mut h = History::default();
        ingest::read(&[dir.to_path_buf()], &mut |item| match item {
            Item::Operation(op) => {
                v.push(&op, &mut |f| h.findings.push(f));
                h.ops.push(*op);
            }
            Item::Reject(r) => h.rejects.push(r),
        })
        .expect("reads");
        h.sessions = v.reconciliations();
        v.finish(&mut |f| h.findings.push(f));
        h
    }

    fn demo() -> &'static History {
        static DEMO: OnceLock<History> = OnceLock::new();
        DEMO.get_or_init(|| {
            history(Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/fixtures/demo"
            )))
        })
    }

    /// Six registers of all regimes and shapes with every anomaly planted: findings of most
    /// rules, gaps, failed devices, negative drawers.
    fn anomalous() -> &'static History {
        static ANOMALOUS: OnceLock<History> = OnceLock::new();
        ANOMALOUS.get_or_init(|| {
            let dir = tempfile::tempdir().expect("temp dir");
            let opts = SynthOptions {
                registers: 6,
                days: 3,
                ops_per_day: 40,
                seed: 11,
                regime: SynthRegime::Mixed,
                shape: SynthShape::Mixed,
                start: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).expect("date"),
                inject: Anomaly::ALL.to_vec(),
                placeholder_tse_signatures: false,
                out: dir.path().to_path_buf(),
            };
            synth::generate(&opts, &|_| {}).expect("generates");
            history(dir.path())
        })
    }

    /// What a report is built from, over the operations and findings of the registers `keep`
    /// takes (`None`: those without a register, and the rejections).
    struct Part {
        acc: Accumulator,
        input: InputSummary,
        findings: FindingSummary,
    }

    fn part(h: &History, top: usize, keep: &dyn Fn(Option<&str>) -> bool) -> Part {
        let mut p = Part {
            acc: Accumulator::new(top),
            input: InputSummary::default(),
            findings: FindingSummary::default(),
        };
        for op in h.ops.iter().filter(|o| keep(o.register_id.as_deref())) {
            p.acc.push(op);
            p.input.add(op);
        }
        if keep(None) {
            h.rejects.iter().for_each(|r| p.input.add_reject(r));
        }
        for f in h.findings.iter().filter(|f| keep(f.register_id.as_deref())) {
            p.acc.finding(f);
            p.findings.add(f);
        }
        p
    }

    fn merged(mut a: Part, b: Part) -> Part {
        a.acc.merge(b.acc).expect("nothing lost");
        a.input.merge(&b.input);
        a.findings.merge(&b.findings);
        a
    }

    fn report(h: &History, mut p: Part) -> String {
        p.input.finish();
        let r = p
            .acc
            .finish(Produced {
                input: &p.input,
                findings: &p.findings,
                sessions: &h.sessions,
                closings: Vec::new(),
                inputs: None,
                exports: Vec::new(),
                failed_exports: 0,
            })
            .expect("nothing lost");
        serde_json::to_string_pretty(&r).expect("serialises")
    }

    /// Days parked while the operations stream by (here after every operation, so that a day
    /// comes back after it was parked) give the report one pass in memory gives; merged
    /// before they come back too. Serialising refuses while days are parked.
    #[test]
    fn parked_days_give_the_same_report() {
        for h in [demo(), anomalous()] {
            let whole = report(h, part(h, 3, &|_| true));
            let mut p = part(h, 3, &|_| false);
            for op in &h.ops {
                p.acc.push(op);
                p.input.add(op);
                p.acc.analytics.park(&mut p.acc.parked);
            }
            h.rejects.iter().for_each(|r| p.input.add_reject(r));
            for f in &h.findings {
                p.acc.finding(f);
                p.findings.add(f);
            }
            assert!(!p.acc.parked.is_empty());
            assert!(p.acc.analytics.held_days() <= p.acc.analytics.registers.len());
            let refused = serde_json::to_string(&p.acc).expect_err("parked days");
            assert!(refused.to_string().contains("settle"), "{refused}");
            assert_eq!(report(h, p), whole);

            let odd = |r: Option<&str>| id_hash(r.unwrap_or_default()) % 2 == 1;
            let (mut a, mut b) = (part(h, 3, &odd), part(h, 3, &|r| !odd(r)));
            a.acc.analytics.park(&mut a.acc.parked);
            b.acc.analytics.park(&mut b.acc.parked);
            assert!(!a.acc.parked.is_empty() && !b.acc.parked.is_empty());
            assert_eq!(report(h, merged(a, b)), whole);
        }
    }

    /// The registers, and `None` for what has no register.
    fn registers(h: &History) -> Vec<Option<&str>> {
        let mut set: BTreeSet<Option<&str>> =
            h.ops.iter().map(|o| o.register_id.as_deref()).collect();
        set.insert(None);
        set.into_iter().collect()
    }

    /// Every split of the registers (and of what has none) into two sides, accumulated apart
    /// and merged either way round, reports what one pass reports.
    fn every_split_merges_to_one_pass(h: &History, top: usize) {
        let whole = report(h, part(h, top, &|_| true));
        let regs = registers(h);
        assert!(regs.len() >= 6, "{regs:?}");
        for mask in 0u32..1 << regs.len() {
            let left = |r: Option<&str>| {
                regs.iter()
                    .position(|x| *x == r)
                    .is_some_and(|i| mask & (1 << i) != 0)
            };
            let right = |r: Option<&str>| !left(r);
            let ab = merged(part(h, top, &left), part(h, top, &right));
            assert_eq!(report(h, ab), whole, "split {mask:b}, top {top}");
            let ba = merged(part(h, top, &right), part(h, top, &left));
            assert_eq!(report(h, ba), whole, "split {mask:b} reversed, top {top}");
        }
    }

    #[test]
    fn demo_split_by_register_merges_to_one_pass() {
        for top in [2, DEFAULT_TOP] {
            every_split_merges_to_one_pass(demo(), top);
        }
    }

    #[test]
    fn anomalous_history_split_by_register_merges_to_one_pass() {
        let h = anomalous();
        let whole = report(h, part(h, 3, &|_| true));
        // The history exercises what a split could get wrong.
        let v: serde_json::Value = serde_json::from_str(&whole).expect("json");
        assert!(
            v["findings"]["rules"].as_array().expect("rules").len() > 5,
            "{whole}"
        );
        assert_eq!(v["analytics"]["time_gaps"]["total"].as_u64(), Some(3));
        assert!(v["analytics"]["sequence_gaps"]["total"].as_u64() > Some(0));
        for top in [1, 3, DEFAULT_TOP] {
            every_split_merges_to_one_pass(h, top);
        }
    }

    /// Three shards by the hash of the register (as `--shard I/3` would cut), merged in two
    /// orders.
    #[test]
    fn three_shards_by_hash_merge_to_one_pass() {
        for h in [demo(), anomalous()] {
            let whole = report(h, part(h, 4, &|_| true));
            let shard = |i: u64| move |r: Option<&str>| id_hash(r.unwrap_or_default()) % 3 == i;
            let [a, b, c] = [0, 1, 2].map(|i| part(h, 4, &shard(i)));
            assert_eq!(report(h, merged(merged(a, b), c)), whole);
            let [a, b, c] = [0, 1, 2].map(|i| part(h, 4, &shard(i)));
            assert_eq!(report(h, merged(c, merged(b, a))), whole);
        }
    }

    /// A saved accumulator reads back to the same text and the same report, also when the
    /// parts are saved and merged after reading.
    #[test]
    fn an_accumulator_round_trips_through_json() {
        for h in [demo(), anomalous()] {
            let whole = report(h, part(h, 3, &|_| true));
            let text = serde_json::to_string(&part(h, 3, &|_| true).acc).expect("serialises");
            let back: Accumulator = serde_json::from_str(&text).expect("reads back");
            assert_eq!(serde_json::to_string(&back).expect("serialises"), text);
            let mut p = part(h, 3, &|_| true);
            p.acc = back;
            assert_eq!(report(h, p), whole);

            let odd = |r: Option<&str>| id_hash(r.unwrap_or_default()) % 2 == 1;
            let (mut a, b) = (part(h, 3, &odd), part(h, 3, &|r| !odd(r)));
            let saved = |acc: &Accumulator| serde_json::to_string(acc).expect("serialises");
            let read = |s: &str| serde_json::from_str::<Accumulator>(s).expect("reads back");
            a.acc = read(&saved(&a.acc));
            let b = Part {
                acc: read(&saved(&b.acc)),
                ..b
            };
            assert_eq!(report(h, merged(a, b)), whole);
        }
    }

    #[test]
    fn an_unknown_rule_code_is_refused() {
        let mut acc = Accumulator::new(3);
        acc.finding(&tot001());
        let text = serde_json::to_string(&acc).expect("serialises");
        assert!(text.contains("\"TOT001\""), "{text}");
        let bad = text.replace("\"TOT001\"", "\"XYZ999\"");
        let err = serde_json::from_str::<Accumulator>(&bad)
            .err()
            .expect("refused");
        assert!(err.to_string().contains("XYZ999"), "{err}");
    }

    fn tot001() -> Finding {
        Finding {
            code: "TOT001",
            severity: Severity::Error,
            operation_id: Some("op".into()),
            register_id: Some("r1".into()),
            location: None,
            message: "m".into(),
            expected: None,
            found: None,
        }
    }
}
