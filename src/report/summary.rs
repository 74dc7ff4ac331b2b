//! The input summary: what was read, per shape, regime, register, type and state, the period
//! covered, and what was rejected.
//!
//! Built incrementally from the ingest stream, so it never needs the history in memory; all
//! maps are ordered so that the same input always renders the same bytes. Summaries of
//! shards (disjoint registers over the same files) combine with [`InputSummary::merge`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::ingest::{InputFiles, Reject};
use crate::model::{Operation, Timestamp};

/// Counts over one register's operations.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterSummary {
    /// Regimes named by this register's fiscal blocks (normally one).
    pub regimes: Vec<String>,
    /// Shapes seen on this register (normally one).
    pub shapes: Vec<String>,
    /// Number of operations.
    pub operations: u64,
    /// Earliest effective timestamp.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time"
    )]
    pub first: Option<Timestamp>,
    /// Latest effective timestamp.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time"
    )]
    pub last: Option<Timestamp>,
}

/// The period covered by the accepted operations.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Period {
    /// Earliest effective timestamp.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time"
    )]
    pub from: Option<Timestamp>,
    /// Latest effective timestamp.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "time"
    )]
    pub to: Option<Timestamp>,
}

fn time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
    crate::validate::carry::time_serde::option::deserialize(d)
}

/// Everything `fiskal check` reports.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
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
        if let Some(regime) = op.regime().map(|r| r.name().to_string()) {
            insert_sorted(&mut reg.regimes, regime);
        }
        insert_sorted(&mut reg.shapes, shape);
        if let Some(t) = op.timestamps.effective() {
            widen(&mut reg.first, &mut reg.last, t);
            widen(&mut self.period.from, &mut self.period.to, t);
        }
    }

    /// Adds what `other` counted, as if its operations and rejections had been added here:
    /// counts add, registers and periods combine. `files` stays this summary's, since every
    /// shard reads the same files, but for the operations each left to other shards, which
    /// add up. (`by_regime` adds too, which is exact when the two followed disjoint sets of
    /// registers; `finish` recomputes it from the registers in any case.)
    pub fn merge(&mut self, other: &InputSummary) {
        self.files.other_shards += other.files.other_shards;
        self.accepted += other.accepted;
        self.rejected += other.rejected;
        add_counts(&mut self.by_shape, &other.by_shape);
        add_counts(&mut self.by_regime, &other.by_regime);
        self.without_fiscal_block += other.without_fiscal_block;
        for (id, theirs) in &other.by_register {
            self.by_register
                .entry(id.clone())
                .or_default()
                .merge(theirs);
        }
        for (kind, states) in &other.by_type_state {
            add_counts(self.by_type_state.entry(kind.clone()).or_default(), states);
        }
        add_counts(&mut self.rejected_by_class, &other.rejected_by_class);
        for t in [other.period.from, other.period.to].into_iter().flatten() {
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
        if f.other_shards > 0 {
            let _ = writeln!(
                s,
                "left to other shards: {} operations of their registers",
                f.other_shards
            );
        }
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

impl RegisterSummary {
    fn merge(&mut self, other: &RegisterSummary) {
        for r in &other.regimes {
            insert_sorted(&mut self.regimes, r.clone());
        }
        for s in &other.shapes {
            insert_sorted(&mut self.shapes, s.clone());
        }
        self.operations += other.operations;
        for t in [other.first, other.last].into_iter().flatten() {
            widen(&mut self.first, &mut self.last, t);
        }
    }
}

fn insert_sorted(names: &mut Vec<String>, name: String) {
    if let Err(at) = names.binary_search(&name) {
        names.insert(at, name);
    }
}

fn add_counts(mine: &mut BTreeMap<String, u64>, theirs: &BTreeMap<String, u64>) {
    for (k, n) in theirs {
        *mine.entry(k.clone()).or_default() += n;
    }
}

/// Widens `lo..=hi` to take in `t`. Instants are ordered by [`instant_order`], so that which
/// of two equal instants written with different offsets is kept does not depend on which
/// came first.
pub(crate) fn widen(lo: &mut Option<Timestamp>, hi: &mut Option<Timestamp>, t: Timestamp) {
    if lo.is_none_or(|l| instant_order(&t, &l).is_lt()) {
        *lo = Some(t);
    }
    if hi.is_none_or(|h| instant_order(&t, &h).is_gt()) {
        *hi = Some(t);
    }
}

/// A total order on timestamps: by instant, then by the offset the source wrote.
pub(crate) fn instant_order(a: &Timestamp, b: &Timestamp) -> std::cmp::Ordering {
    a.utc()
        .cmp(&b.utc())
        .then(a.source_offset_seconds().cmp(&b.source_offset_seconds()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Item;
    use crate::model::hash::id_hash;

    /// The demo's summary over the registers `keep` takes (rejections with `None`), finished.
    fn demo(keep: &dyn Fn(Option<&str>) -> bool) -> InputSummary {
        let dir = std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo"));
        let mut s = InputSummary::default();
        let files = crate::ingest::read(&[dir], &mut |item| match item {
            Item::Operation(op) if keep(op.register_id.as_deref()) => s.add(&op),
            Item::Reject(r) if keep(None) => s.add_reject(&r),
            _ => {}
        })
        .expect("demo reads");
        s.files = files;
        s.finish();
        s
    }

    fn json(s: &InputSummary) -> String {
        serde_json::to_string(s).expect("serialises")
    }

    #[test]
    fn summaries_of_a_split_merge_to_one_pass() {
        let whole = demo(&|_| true);
        assert!(whole.by_register.len() >= 6 && whole.period.from.is_some());
        let parity = |r: Option<&str>| id_hash(r.unwrap_or_default()).is_multiple_of(2);
        let first_half = |r: Option<&str>| r.is_none_or(|r| r < "reg_de");
        for left in [&parity as &dyn Fn(Option<&str>) -> bool, &first_half] {
            let (a, b) = (demo(left), demo(&|r| !left(r)));
            assert!(a.accepted > 0 && b.accepted > 0);
            let mut ab = a.clone();
            ab.merge(&b);
            assert_eq!(json(&ab), json(&whole));
            let mut ba = b;
            ba.merge(&a);
            assert_eq!(json(&ba), json(&whole));
        }
    }

    #[test]
    fn the_files_stay_and_operations_left_to_other_shards_add_up() {
        let mut a = demo(&|_| true);
        let mut b = InputSummary::default();
        b.files.read.push("elsewhere.ndjson".into());
        a.files.other_shards = 2;
        b.files.other_shards = 3;
        let files = a.files.read.clone();
        a.merge(&b);
        assert_eq!((a.files.read, a.files.other_shards), (files, 5));
    }

    #[test]
    fn a_summary_reads_back_as_it_was() {
        let s = demo(&|_| true);
        let back: InputSummary = serde_json::from_str(&json(&s)).expect("reads back");
        assert_eq!(json(&back), json(&s));
        assert_eq!(back, s);
    }

    /// The same instant written with two offsets: the period keeps the same one whichever
    /// comes first.
    #[test]
    fn equal_instants_widen_the_same_way_in_any_order() {
        let utc = Timestamp::parse("2026-03-02T09:00:00Z").unwrap();
        let local = Timestamp::parse("2026-03-02T10:00:00+01:00").unwrap();
        let text = |t: Timestamp| t.0.to_rfc3339();
        let span = |ts: [Timestamp; 2]| {
            let (mut lo, mut hi) = (None, None);
            ts.into_iter().for_each(|t| widen(&mut lo, &mut hi, t));
            (lo.map(text), hi.map(text))
        };
        assert_eq!(span([utc, local]), span([local, utc]));
    }
}
