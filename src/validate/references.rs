//! References between operations (REF001–REF005).
//!
//! Every operation is indexed by a hash of its id with what a later reference needs (kind,
//! state, currency, time, what it sold); references are resolved at the end, so a return may
//! come before its sale in the input (another file, another order) and still be judged right.
//!
//! Across runs ([`super::carry`]) the index is handed on whole, and so are the references
//! whose original has not come yet.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::carry::{is_false, kind_serde, state_serde, time_serde};
use super::sequence::hash as key;
use super::totals::sign;
use super::{Emit, OpRef};
use crate::model::keyset::KeySet;
use crate::model::templog::KeyedLog;
use crate::model::*;

/// What a later reference needs to know of an operation: about 60 bytes plus its products,
/// because one is kept for every operation of the input. Saved with one-letter names: a
/// carry holds one for every operation ever validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Target {
    #[serde(rename = "k", with = "kind_serde")]
    kind: OperationKind,
    #[serde(rename = "s", with = "state_serde")]
    state: LifecycleState,
    #[serde(rename = "v", default, skip_serializing_if = "is_false")]
    voided: bool,
    #[serde(rename = "c")]
    currency: Currency,
    /// Start time in milliseconds since the epoch; `i64::MIN` when unknown.
    #[serde(rename = "t", default = "no_time", skip_serializing_if = "is_no_time")]
    time_ms: i64,
    #[serde(rename = "g")]
    gross: Decimal,
    /// Quantity sold per product key.
    #[serde(rename = "p", default, skip_serializing_if = "<[_]>::is_empty")]
    sold: Box<[(u64, Decimal)]>,
    /// What returns and exchanges took back so far; allocated on the first one.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    returned: Option<Box<Returned>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Returned {
    lines: Vec<(u64, Decimal)>,
    gross: Decimal,
}

const NO_TIME: i64 = i64::MIN;

fn no_time() -> i64 {
    NO_TIME
}

fn is_no_time(t: &i64) -> bool {
    *t == NO_TIME
}

fn millis(t: Option<Timestamp>) -> i64 {
    t.map_or(NO_TIME, |t| t.utc().timestamp_millis())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    at: OpRef,
    #[serde(with = "kind_serde")]
    kind: OperationKind,
    completed: bool,
    target: Option<String>,
    external: bool,
    currency: Currency,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "time_serde::option"
    )]
    time: Option<Timestamp>,
    lines: Vec<(u64, Decimal)>,
    gross: Decimal,
}

/// What the references hand on to the next run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ReferencesCarry {
    /// Every operation so far, by [`key()`] of its id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub targets: BTreeMap<u64, Target>,
    /// References whose original has not come yet, in input order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<Pending>,
}

/// The index of operations and the references still to resolve.
///
/// A target is needed only if a reference names it, and references are resolved at the end:
/// so targets go to a [`Spill`] file as they come, only the ids stay in memory (eight bytes
/// each, for [`References::contains`]), and [`References::finish`] reads back the targets
/// that the waiting references name. A run of ten million operations kept them all in a
/// hash table before: about 100 bytes an operation, the largest index of the validator.
#[derive(Default)]
pub(crate) struct References {
    /// Targets of an earlier run (resumed), and at the end those read back from the spill.
    targets: HashMap<u64, Target>,
    /// The key of every operation of this run.
    keys: KeySet<u64>,
    spill: Spill,
    /// The waiting references of an earlier run (resumed), resolved before this run's.
    pending: Vec<Pending>,
    /// This run's references, as JSON of [`Pending`] in input order (a few hundred bytes
    /// each, and one operation in twenty is a return or void), with the keys they name.
    queued: Queue,
    named: KeySet<u64>,
}

/// This run's references in a [`KeyedLog`].
struct Queue(KeyedLog);

impl Default for Queue {
    fn default() -> Self {
        Queue(KeyedLog::new("the waiting references"))
    }
}

/// Where this run's targets wait for the end: the JSON of each [`Target`] by key.
struct Spill(KeyedLog);

impl Default for Spill {
    fn default() -> Self {
        Spill(KeyedLog::new("the reference index"))
    }
}

impl Spill {
    fn push(&mut self, key: u64, t: &Target) {
        // Plain fields: serialising into a Vec cannot fail.
        self.0.push(key, |b| {
            serde_json::to_writer(b, t).expect("a Target serialises")
        });
    }

    /// Reads the wanted targets back into `into` (a later record of a key replaces an
    /// earlier one, as inserting them in input order would).
    fn load(&mut self, wanted: &mut dyn FnMut(u64) -> bool, into: &mut HashMap<u64, Target>) {
        let read = self.0.scan(wanted, &mut |k, b| {
            let t = serde_json::from_slice(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            into.insert(k, t);
            Ok(())
        });
        if let Err(e) = read {
            eprintln!(
                "fiskal: the reference index's temporary file could not be read back ({e}); references to the operations it held are reported as missing (REF001)"
            );
        }
    }
}

fn product(l: &Line) -> u64 {
    key(l.sku.as_deref().unwrap_or(&l.description))
}

impl References {
    pub fn push(&mut self, op: &Operation) {
        let time = op
            .timestamps
            .started
            .or(op.timestamps.created)
            .or(op.timestamps.completed);
        let sold_lines: Vec<&Line> = match op.kind {
            OperationKind::Sale
            | OperationKind::Exchange
            | OperationKind::Deposit
            | OperationKind::DepositCapture => op
                .lines
                .iter()
                .filter(|l| l.role == LineRole::Sold && l.quantity > Decimal::ZERO)
                .collect(),
            _ => Vec::new(),
        };
        let mut sold: Vec<(u64, Decimal)> = Vec::new();
        for l in &sold_lines {
            add(&mut sold, product(l), l.quantity);
        }
        let target = Target {
            kind: op.kind,
            state: op.state,
            currency: op.currency,
            time_ms: millis(time),
            sold: sold.into_boxed_slice(),
            gross: sold_lines.iter().map(|l| l.total_gross).sum(),
            returned: None,
            voided: op.state == LifecycleState::Voided,
        };
        let k = key(&op.id);
        self.keys.insert(k);
        self.spill.push(k, &target);
        if matches!(
            op.kind,
            OperationKind::Return
                | OperationKind::Exchange
                | OperationKind::Void
                | OperationKind::DepositCapture
        ) {
            let back: Vec<&Line> = match op.kind {
                OperationKind::Return => op.lines.iter().collect(),
                OperationKind::Exchange => op
                    .lines
                    .iter()
                    .filter(|l| l.role == LineRole::Returned)
                    .collect(),
                _ => Vec::new(),
            };
            let mut lines = Vec::new();
            for l in &back {
                add(&mut lines, product(l), l.quantity.abs());
            }
            let p = Pending {
                at: OpRef::of(op),
                kind: op.kind,
                completed: op.state == LifecycleState::Completed,
                target: op.references.original_operation_id.clone(),
                external: op.references.external_operation_id.is_some(),
                currency: op.currency,
                time,
                lines,
                gross: back.iter().map(|l| (l.total_gross * sign(l)).abs()).sum(),
            };
            if let Some(t) = &p.target {
                self.named.insert(key(t));
            }
            // Plain fields: serialising into a Vec cannot fail.
            self.queued.0.push(0, |b| {
                serde_json::to_writer(b, &p).expect("a Pending serialises")
            });
        }
    }

    /// Whether an operation with this id is in the input.
    pub fn contains(&self, id: &str) -> bool {
        let k = key(id);
        self.keys.contains(k) || self.targets.contains_key(&k)
    }

    /// The references continuing from an earlier run.
    pub fn resume(c: ReferencesCarry) -> References {
        References {
            targets: c.targets.into_iter().collect(),
            pending: c.pending,
            ..References::default()
        }
    }

    /// Reads back from the spill the targets the waiting references name.
    fn load_named(&mut self) {
        let carried: std::collections::HashSet<u64> = self
            .pending
            .iter()
            .filter_map(|p| p.target.as_deref().map(key))
            .collect();
        let named = &self.named;
        if !carried.is_empty() || !named.is_empty() {
            self.spill.load(
                &mut |k| named.contains(k) || carried.contains(&k),
                &mut self.targets,
            );
        }
    }

    /// Resolves every reference; an original that never came is REF001.
    pub fn finish(mut self, emit: &mut Emit) {
        self.load_named();
        self.resolve(true, emit);
    }

    /// Resolves the references whose original is known as [`References::finish`] does, and
    /// hands on the others with the index: their original may still come.
    pub fn finish_carry(mut self, emit: &mut Emit) -> ReferencesCarry {
        // The carry holds every target, so all are read back.
        self.spill.load(&mut |_| true, &mut self.targets);
        let pending = self.resolve(false, emit);
        ReferencesCarry {
            targets: self.targets.into_iter().collect(),
            pending,
        }
    }

    /// Resolves the references in input order; returns those whose original is missing,
    /// unless `last` (then they are REF001).
    fn resolve(&mut self, last: bool, emit: &mut Emit) -> Vec<Pending> {
        let mut waiting = Vec::new();
        for p in std::mem::take(&mut self.pending) {
            resolve_one(&mut self.targets, p, last, emit, &mut waiting);
        }
        let targets = &mut self.targets;
        let read = self.queued.0.scan(&mut |_| true, &mut |_, b| {
            let p = serde_json::from_slice(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
            resolve_one(targets, p, last, emit, &mut waiting);
            Ok(())
        });
        if let Err(e) = read {
            eprintln!(
                "fiskal: the waiting references' temporary file could not be read back ({e}); the references it held are not judged (REF001–REF005)"
            );
        }
        waiting
    }
}

/// Resolves one reference against the targets; one whose original is missing goes to
/// `waiting`, unless `last` (then it is REF001).
fn resolve_one(
    targets: &mut HashMap<u64, Target>,
    p: Pending,
    last: bool,
    emit: &mut Emit,
    waiting: &mut Vec<Pending>,
) {
    let what = p.kind.name();
    let Some(target_id) = &p.target else {
        if !p.external {
            emit.finding(
                "REF001",
                &p.at,
                format!("{what} references no operation"),
                Some("original_operation_id".into()),
                Some("none".into()),
            );
        }
        return;
    };
    let Some(t) = targets.get_mut(&key(target_id)) else {
        if !last {
            waiting.push(p);
            return;
        }
        emit.mismatch(
            "REF001",
            &p.at,
            format!("{what} references {target_id}, which is not in the input"),
            "an operation in the input",
            target_id,
        );
        return;
    };
    if t.currency != p.currency {
        emit.mismatch(
            "REF005",
            &p.at,
            format!(
                "{what} in {} references {target_id} in {}",
                p.currency, t.currency
            ),
            t.currency,
            p.currency,
        );
    }
    let pt = millis(p.time);
    if t.time_ms != NO_TIME && pt != NO_TIME && t.time_ms > pt {
        let later = chrono::DateTime::from_timestamp_millis(t.time_ms)
            .map_or_else(String::new, |d| d.to_rfc3339());
        let before = chrono::DateTime::from_timestamp_millis(pt)
            .map_or_else(String::new, |d| d.to_rfc3339());
        emit.mismatch(
            "REF002",
            &p.at,
            format!("{what} references {target_id}, which is later"),
            format!("before {before}"),
            later,
        );
    }
    match p.kind {
        OperationKind::Void => {
            if t.voided || matches!(t.state, LifecycleState::Cancelled | LifecycleState::Voided) {
                emit.mismatch(
                    "REF004",
                    &p.at,
                    format!("void of {target_id}, which is already voided or cancelled"),
                    "a completed operation not voided before",
                    "voided",
                );
            } else if t.state != LifecycleState::Completed {
                emit.mismatch(
                    "REF004",
                    &p.at,
                    format!("void of {target_id}, which is not completed"),
                    "completed",
                    t.state.name(),
                );
            } else if p.completed {
                t.voided = true;
            }
        }
        OperationKind::Return | OperationKind::Exchange => {
            let returnable = matches!(
                t.kind,
                OperationKind::Sale | OperationKind::Exchange | OperationKind::DepositCapture
            );
            if !returnable || t.voided || t.state != LifecycleState::Completed {
                let why = if !returnable {
                    t.kind.name()
                } else if t.voided {
                    "voided"
                } else {
                    t.state.name()
                };
                emit.mismatch(
                    "REF004",
                    &p.at,
                    format!("{what} against {target_id}, which is {why}"),
                    "a completed, not voided sale",
                    why,
                );
                return;
            }
            if !p.completed {
                return;
            }
            let back = t.returned.get_or_insert_with(Box::default);
            for &(prod, qty) in &p.lines {
                add(&mut back.lines, prod, qty);
            }
            back.gross += p.gross;
            let sold_of = |prod: u64| {
                t.sold
                    .iter()
                    .find(|s| s.0 == prod)
                    .map_or(Decimal::ZERO, |s| s.1)
            };
            if let Some(&(prod, q)) = back.lines.iter().find(|(prod, q)| *q > sold_of(*prod)) {
                let sold = sold_of(prod);
                emit.mismatch("REF003", &p.at, format!("returns against {target_id} now take back {q} of a product it sold {sold} of"), format!("≤ {sold}"), q);
            } else if back.gross > t.gross {
                emit.mismatch(
                    "REF003",
                    &p.at,
                    format!(
                        "returns against {target_id} now refund {} of a sale of {}",
                        back.gross, t.gross
                    ),
                    format!("≤ {}", t.gross),
                    back.gross,
                );
            }
        }
        _ => {}
    }
}

fn add(v: &mut Vec<(u64, Decimal)>, k: u64, q: Decimal) {
    match v.iter_mut().find(|(x, _)| *x == k) {
        Some(e) => e.1 += q,
        None => v.push((k, q)),
    }
}
