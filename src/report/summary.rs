//! The input summary: what was read, per shape, regime, register, type and state, the period
//! covered, and what was rejected.
//!
//! Built incrementally from the ingest stream, so it never needs the history in memory; all
//! maps are ordered so that the same input always renders the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::ingest::{InputFiles, Reject};
use crate::model::{Operation, Timestamp};

/// Counts over one register's operations.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct RegisterSummary {
    /// Regimes named by this register's fiscal blocks (normally one).
    pub regimes: Vec<String>,
    /// Shapes seen on this register (normally one).
    pub shapes: Vec<String>,
    /// Number of operations.
    pub operations: u64,
    /// Earliest effective timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Timestamp>,
    /// Latest effective timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<Timestamp>,
}

/// The period covered by the accepted operations.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Period {
    /// Earliest effective timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<Timestamp>,
    /// Latest effective timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<Timestamp>,
}

/// Everything `fiskal check` reports.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct InputSummary {
    /// Files read, skipped, unreadable.
    pub files: InputFiles,
    /// Operations accepted.
    pub accepted: u64,
    /// Records rejected.
    pub rejected: u64,
    /// Accepted operations per wire shape.
    pub by_shape: BTreeMap<String, u64>,
    /// Accepted operations per regime of their register (the regime its fiscal blocks name;
    /// `none` for registers without any fiscal block).
    pub by_regime: BTreeMap<String, u64>,
    /// Accepted operations that carry no fiscal block (session events, voids, unsigned ops).
    pub without_fiscal_block: u64,
    /// Per register.
    pub by_register: BTreeMap<String, RegisterSummary>,
    /// Per operation type, then per lifecycle state.
    pub by_type_state: BTreeMap<String, BTreeMap<String, u64>>,
    /// Rejections per class.
    pub rejected_by_class: BTreeMap<String, u64>,
    /// The period covered.
    pub period: Period,
}

impl InputSummary {
    /// Counts one accepted operation.
    pub fn add(&mut self, op: &Operation) {
        self.accepted += 1;
        let shape = serde_plain(&op.shape);
        *self.by_shape.entry(shape.clone()).or_default() += 1;
        if op.fiscal.is_none() {
            self.without_fiscal_block += 1;
        }
        *self
            .by_type_state
            .entry(op.kind.name().to_string())
            .or_default()
            .entry(op.state.name().to_string())
            .or_default() += 1;
        let register = op
            .register_id
            .clone()
            .unwrap_or_else(|| "(online)".to_string());
        let reg = self.by_register.entry(register).or_default();
        reg.operations += 1;
        if let Some(regime) = op.regime().map(|r| r.name().to_string())
            && !reg.regimes.contains(&regime)
        {
            reg.regimes.push(regime);
            reg.regimes.sort();
        }
        if !reg.shapes.contains(&shape) {
            reg.shapes.push(shape);
            reg.shapes.sort();
        }
        if let Some(t) = op.timestamps.effective() {
            widen(&mut reg.first, &mut reg.last, t);
            widen(&mut self.period.from, &mut self.period.to, t);
        }
    }

    /// Completes the per-regime counts once all operations are in.
    pub fn finish(&mut self) {
        self.by_regime.clear();
        for r in self.by_register.values() {
            let key = if r.regimes.is_empty() {
                "none".to_string()
            } else {
                r.regimes.join("+")
            };
            *self.by_regime.entry(key).or_default() += r.operations;
        }
    }

    /// Counts one rejection.
    pub fn add_reject(&mut self, r: &Reject) {
        self.rejected += 1;
        *self
            .rejected_by_class
            .entry(r.class.name().to_string())
            .or_default() += 1;
    }

    /// The human rendering (rejections are listed by the caller as they stream by).
    pub fn render_human(&self) -> String {
        let mut s = String::new();
        let f = &self.files;
        let _ = writeln!(
            s,
            "read {} file(s){}{}",
            f.read.len(),
            if f.skipped.is_empty() {
                String::new()
            } else {
                format!(", skipped {}", f.skipped.len())
            },
            if f.unreadable.is_empty() {
                String::new()
            } else {
                format!(", unreadable {}", f.unreadable.len())
            },
        );
        for m in &f.master_data {
            let _ = writeln!(s, "master data: {}", m.display());
        }
        let _ = writeln!(
            s,
            "operations: {} accepted ({} without fiscal block), {} rejected",
            self.accepted, self.without_fiscal_block, self.rejected
        );
        if let (Some(a), Some(b)) = (self.period.from, self.period.to) {
            let _ = writeln!(s, "period: {} .. {} (UTC)", fmt_ts(a), fmt_ts(b));
        }
        section(&mut s, "by shape", &self.by_shape);
        section(&mut s, "by regime", &self.by_regime);
        if !self.by_register.is_empty() {
            let _ = writeln!(s, "\nby register");
            let w = self.by_register.keys().map(String::len).max().unwrap_or(0);
            let rw = self
                .by_register
                .values()
                .map(|r| r.regimes.join(",").len())
                .max()
                .unwrap_or(0)
                .max(4);
            for (id, r) in &self.by_register {
                let span = match (r.first, r.last) {
                    (Some(a), Some(b)) => format!("{} .. {}", fmt_ts(a), fmt_ts(b)),
                    _ => String::new(),
                };
                let _ = writeln!(
                    s,
                    "  {id:<w$}  {:<rw$}  {:<11} {:>8}  {span}",
                    if r.regimes.is_empty() {
                        "none".to_string()
                    } else {
                        r.regimes.join(",")
                    },
                    r.shapes.join(","),
                    r.operations
                );
            }
        }
        if !self.by_type_state.is_empty() {
            let _ = writeln!(s, "\nby type and state");
            for (kind, states) in &self.by_type_state {
                let parts: Vec<String> = states.iter().map(|(st, n)| format!("{st} {n}")).collect();
                let _ = writeln!(s, "  {kind:<24} {}", parts.join(", "));
            }
        }
        if !self.rejected_by_class.is_empty() {
            section(&mut s, "rejected by class", &self.rejected_by_class);
        }
        s
    }
}

fn widen(lo: &mut Option<Timestamp>, hi: &mut Option<Timestamp>, t: Timestamp) {
    if lo.is_none_or(|l| t.utc() < l.utc()) {
        *lo = Some(t);
    }
    if hi.is_none_or(|h| t.utc() > h.utc()) {
        *hi = Some(t);
    }
}

/// A timestamp in UTC, `2026-03-02T09:15:00Z`.
pub(crate) fn fmt_ts(t: Timestamp) -> String {
    t.utc().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn section(s: &mut String, title: &str, map: &BTreeMap<String, u64>) {
    let _ = writeln!(s, "\n{title}");
    let w = map.keys().map(String::len).max().unwrap_or(0);
    for (k, n) in map {
        let _ = writeln!(s, "  {k:<w$}  {n:>8}");
    }
}

fn serde_plain<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        other => format!("{other:?}"),
    }
}
