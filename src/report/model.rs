//! The audit report's content: one serialisable value from which the HTML, the Markdown and
//! the JSON report are all rendered (`report.json` is this value as it is).
//!
//! Everything here is bounded whatever the size of the history: per-register and per-day
//! figures are aggregates, and every list that grows with registers, sessions, closings or
//! findings is a [`Listing`] that keeps the first `top` entries in a stated order and counts
//! the rest. The full detail stays where it belongs: findings.jsonl, the exports, and the
//! Parquet tables.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use super::analytics::{CashierCounts, Counted, PaymentTotals, RoundAmounts, VatAmounts};
use super::benford::BenfordResult;
use crate::export::ZTotals;
use crate::model::{Finding, Severity};
use crate::nightly::manifest::FileEntry;
use crate::validate::Reconciliation;

/// The verdict at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Nothing of warning or error severity.
    Clean,
    /// Warnings, no errors.
    Warnings,
    /// Errors (findings of error severity, rejected records or failed exports).
    Errors,
}

impl Verdict {
    /// The verdict of these counts.
    pub fn of(errors: u64, warnings: u64) -> Verdict {
        if errors > 0 {
            Verdict::Errors
        } else if warnings > 0 {
            Verdict::Warnings
        } else {
            Verdict::Clean
        }
    }
}

/// The first `top` entries of a list, in the order the field documents, and how many there
/// were in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing<T> {
    /// Entries in all.
    pub total: u64,
    /// Entries left out of `shown`.
    pub omitted: u64,
    /// The first entries.
    pub shown: Vec<T>,
}

impl<T> Listing<T> {
    /// The first `top` of `all` (already in order).
    pub fn top(all: impl IntoIterator<Item = T>, top: usize) -> Listing<T> {
        let mut shown = Vec::new();
        let mut total = 0u64;
        for item in all {
            total += 1;
            if shown.len() < top {
                shown.push(item);
            }
        }
        Listing {
            total,
            omitted: total - shown.len() as u64,
            shown,
        }
    }

    /// `shown`, the first of `total` entries.
    pub fn counted(shown: Vec<T>, total: usize) -> Listing<T> {
        let total = total as u64;
        Listing {
            total,
            omitted: total.saturating_sub(shown.len() as u64),
            shown,
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Which tool wrote it.
    pub tool: Tool,
    /// The verdict over everything.
    pub verdict: Verdict,
    /// What was audited.
    pub scope: Scope,
    /// Findings per rule.
    pub findings: Findings,
    /// Revenue, payments, returns and voids.
    pub money: Money,
    /// The closings (Z) the exports wrote.
    pub closings: Closings,
    /// Cash sessions.
    pub cash: Cash,
    /// Fiscal devices.
    pub devices: Listing<Device>,
    /// The files the run wrote (exports and machine outputs), with sizes and SHA-256.
    pub exports: Vec<FileEntry>,
    /// The analyses tax auditors run.
    pub analytics: AuditorAnalytics,
    /// How many entries each list keeps.
    pub top: usize,
}

/// The tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    /// `fiskal`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
}

/// What was audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scope {
    /// Input files with sizes and SHA-256 (absent when the report was made without hashing).
    pub inputs: Vec<FileEntry>,
    /// The master-data file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_data: Option<FileEntry>,
    /// The configuration file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<FileEntry>,
    /// First and last effective timestamp (UTC, RFC 3339).
    pub period: Period,
    /// Merchant ids, in order.
    pub merchants: Listing<String>,
    /// Location ids, in order.
    pub locations: Listing<String>,
    /// Operations per regime.
    pub regimes: BTreeMap<String, u64>,
    /// Operations accepted.
    pub accepted: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Rejections per class.
    pub rejected_by_class: BTreeMap<String, u64>,
    /// Operations per type.
    pub by_type: BTreeMap<String, u64>,
    /// Per register: errors first, then warnings, then by id.
    pub registers: Listing<RegisterScope>,
}

/// A period.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Period {
    /// First.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// One register at a glance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterScope {
    /// Register id.
    pub register: String,
    /// Regimes its fiscal blocks name.
    pub regimes: Vec<String>,
    /// API shapes.
    pub shapes: Vec<String>,
    /// Currency (`mixed` when several).
    pub currency: String,
    /// Operations.
    pub operations: u64,
    /// First effective timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last effective timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// Findings of error severity.
    pub errors: u64,
    /// Findings of warning severity.
    pub warnings: u64,
    /// Findings of info severity.
    pub infos: u64,
    /// Clean, warnings or errors.
    pub verdict: Verdict,
}

/// Findings grouped by rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Findings {
    /// Findings of error severity.
    pub errors: u64,
    /// Findings of warning severity.
    pub warnings: u64,
    /// Findings of info severity.
    pub infos: u64,
    /// Per rule: errors first, then warnings, then info; within a severity the most frequent
    /// first, then by code.
    pub rules: Vec<RuleFindings>,
}

/// One rule's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleFindings {
    /// Rule code.
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// What the rule checks.
    pub title: &'static str,
    /// Why it matters.
    pub rationale: &'static str,
    /// Where the requirement comes from.
    pub source: &'static str,
    /// Findings.
    pub count: u64,
    /// Registers with at least one.
    pub registers: u64,
    /// The least few by `findings::example_order` (source location first, so the earliest in
    /// input order), with operation, location, expected and found.
    pub examples: Vec<Finding>,
}

/// Money for one currency or register: what was sold, returned, voided and paid.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MoneyTotals {
    /// Revenue per VAT rate (fraction, `untaxed`, `tip`), signed.
    pub by_rate: BTreeMap<String, VatAmounts>,
    /// Sum of `by_rate`.
    pub revenue: VatAmounts,
    /// Payments per method.
    pub payments: BTreeMap<String, PaymentTotals>,
    /// Completed sales.
    pub sales: Counted,
    /// Completed returns.
    pub returns: Counted,
    /// Voids (Storno).
    pub voids: Counted,
    /// Cancelled before completion.
    pub cancelled: Counted,
}

/// Money, per currency, per register and per day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Money {
    /// Per currency over the whole period.
    pub currencies: BTreeMap<String, MoneyTotals>,
    /// Per register, by id.
    pub registers: Listing<RegisterMoney>,
    /// `day` or `month`: the unit of `days` (months when the period has more days than a
    /// report lists).
    pub granularity: &'static str,
    /// Per currency and day (or month) over all registers, in date order.
    pub days: Vec<DayMoney>,
    /// Per register and day, by register then date.
    pub register_days: Listing<DayMoney>,
}

/// One register's money.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterMoney {
    /// Register id.
    pub register: String,
    /// Currency.
    pub currency: String,
    /// Totals.
    #[serde(flatten)]
    pub totals: MoneyTotals,
}

/// One day's (or month's) money.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayMoney {
    /// `YYYY-MM-DD`, `YYYY-MM` or `undated`.
    pub day: String,
    /// Register id, for per-register rows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    /// Currency.
    pub currency: String,
    /// Totals.
    #[serde(flatten)]
    pub totals: MoneyTotals,
}

/// The closings the exports wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Closings {
    /// Per register and format, by format and register.
    pub registers: Listing<ClosingRange>,
    /// Each closing, by format, register and number.
    pub closings: Listing<ZTotals>,
}

/// One register's closings in one format.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClosingRange {
    /// `dsfinvk` or `rt`.
    pub format: &'static str,
    /// Register (or RT) id.
    pub register: String,
    /// Closings.
    pub closings: u64,
    /// First closing number.
    pub first_z: u64,
    /// Last closing number.
    pub last_z: u64,
    /// First business day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_day: Option<NaiveDate>,
    /// Last business day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_day: Option<NaiveDate>,
    /// Sum of the closings' gross.
    pub gross: Decimal,
    /// Sum of their payments.
    pub payments_total: Decimal,
    /// Sum of their cash.
    pub cash: Decimal,
}

/// Cash sessions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cash {
    /// Per register with sessions: the largest total |difference| first, then by id.
    pub registers: Listing<RegisterCash>,
    /// The sessions with the largest differences first (|difference| descending, then
    /// register and session).
    pub sessions: Listing<Reconciliation>,
    /// counted − expected per day (summed over the day's counts) for the registers with the
    /// largest total |difference|, the chart's data.
    pub series: Vec<CashSeries>,
    /// Days on which the cash in a drawer, recomputed operation by operation, went below
    /// zero: more paid out than was there. Largest shortfall first.
    pub negative_days: Listing<NegativeCashDay>,
}

/// One register's sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RegisterCash {
    /// Register id.
    pub register: String,
    /// Sessions.
    pub sessions: u64,
    /// Sessions with a cash count.
    pub counted: u64,
    /// Sessions never closed.
    pub open: u64,
    /// Counts below expected.
    pub shortages: u64,
    /// Their sum (negative).
    pub shortage_sum: Decimal,
    /// Counts above expected.
    pub overages: u64,
    /// Their sum.
    pub overage_sum: Decimal,
    /// Differences without a note.
    pub unexplained: u64,
    /// The sum of |difference| over its sessions.
    pub absolute_difference: Decimal,
}

/// A chart series: one register's cash differences over time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CashSeries {
    /// Register id.
    pub register: String,
    /// (day, sum of the day's differences).
    pub points: Vec<(String, Decimal)>,
}

/// A day on which a drawer went negative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NegativeCashDay {
    /// Register id.
    pub register: String,
    /// Local date.
    pub day: String,
    /// The lowest recomputed drawer balance.
    pub lowest: Decimal,
    /// The operation after which it was lowest.
    pub operation_id: String,
}

/// One fiscal device.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Device {
    /// `KassenSichV`, `RKSV` or `RT`.
    pub regime: String,
    /// TSE serial, Kassen-ID or matricola.
    pub device: String,
    /// Registers that used it.
    pub registers: Vec<String>,
    /// What the counter is: TSE transaction number, RKSV receipt number, RT closing number.
    pub counter: &'static str,
    /// Operations with a fiscal block of this device.
    pub operations: u64,
    /// Those carrying a signature.
    pub signed: u64,
    /// Signatures that verified: signed minus failed minus unverifiable.
    pub verified: u64,
    /// Signatures that failed (TSE001, RKS011).
    pub failed: u64,
    /// Signatures that could not be checked, e.g. no key (TSE007, RKS010, RKS105).
    pub unverifiable: u64,
    /// Counter ranges seen, `first-last`.
    pub counter_ranges: Vec<(u64, u64)>,
    /// Counter values missing between the ranges.
    pub counter_missing: u64,
    /// Counter values seen twice.
    pub counter_duplicates: u64,
    /// Chain breaks (RKS020, RKS030).
    pub chain_breaks: u64,
    /// Counter findings (FIS001–FIS003, TSE004, RKS031).
    pub counter_findings: u64,
    /// Operations recorded while the device had failed.
    pub failed_operations: u64,
    /// The periods of device failure, in order.
    pub failure_periods: Vec<FailurePeriod>,
    /// First operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
    /// All findings of the device's rules on its registers, per code.
    pub findings: BTreeMap<&'static str, u64>,
}

/// A run of operations recorded with the fiscal device failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailurePeriod {
    /// First such operation's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Last such operation's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Operations in the run.
    pub operations: u64,
}

/// The analyses of a Kassennachschau or Außenprüfung.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditorAnalytics {
    /// Benford tests over all registers: completed sales' totals and their line amounts.
    pub benford: Vec<BenfordSection>,
    /// Registers whose receipt totals fail a first-digit test (chi-square or MAD), with enough
    /// amounts to judge; worst MAD first.
    pub benford_registers: Listing<RegisterBenford>,
    /// Registers with missing or repeated sequence numbers; most missing first.
    pub sequence_gaps: Listing<SequenceGaps>,
    /// The longest pauses between two operations of a register within one day; longest first.
    pub time_gaps: Listing<TimeGap>,
    /// Completed sales per local hour (0–23), over all registers.
    pub sales_by_hour: Vec<Bucket>,
    /// Completed sales per ISO weekday (1 = Monday), over all registers.
    pub sales_by_weekday: Vec<Bucket>,
    /// Round receipt totals over all registers.
    pub round_amounts: RoundShare,
    /// Cashiers by Storno rate (voids and returns per sale), highest first; cashiers with
    /// fewer than [`MIN_SALES_FOR_RATE`] sales are listed after the others.
    pub cashiers: Listing<CashierRate>,
    /// Operations whose amounts are too large to aggregate (counted, not summed).
    pub out_of_range: u64,
}

/// Cashiers with fewer sales than this are ranked after the others: a rate over a handful of
/// sales says little.
pub const MIN_SALES_FOR_RATE: u64 = 20;

/// One Benford subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenfordSection {
    /// `receipts` or `lines`.
    pub subject: &'static str,
    /// The first-digit test.
    pub first_digit: BenfordResult,
    /// The first-two-digits test.
    pub first_two_digits: BenfordResult,
}

/// A register's first-digit test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisterBenford {
    /// Register id.
    pub register: String,
    /// The test.
    pub result: BenfordResult,
}

/// A register's sequence-number gaps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SequenceGaps {
    /// Register id.
    pub register: String,
    /// Numbers missing.
    pub missing: u64,
    /// Numbers seen twice.
    pub duplicates: u64,
    /// The first missing ranges.
    pub gaps: Vec<(u64, u64)>,
}

/// A pause between two operations of a register.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TimeGap {
    /// Minutes between them.
    pub minutes: i64,
    /// Register id.
    pub register: String,
    /// The operation before the pause, and its time.
    pub before: (String, String),
    /// The operation after it, and its time.
    pub after: (String, String),
}

/// Sales in one hour or weekday.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    /// Hour (0–23) or weekday (1–7).
    pub key: u8,
    /// Sales and their gross.
    #[serde(flatten)]
    pub sales: Counted,
}

/// Round receipt totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundShare {
    /// The counts.
    #[serde(flatten)]
    pub counts: RoundAmounts,
    /// `whole / (n_receipts − n_zero)`, when there are non-zero totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub whole_share: Option<f64>,
}

/// A cashier's Storno rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CashierRate {
    /// Register id.
    pub register: String,
    /// Cashier id.
    pub cashier: String,
    /// Counts and rate.
    #[serde(flatten)]
    pub counts: CashierCounts,
}
