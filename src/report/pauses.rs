//! Pauses between a register's operations within a day (Zeitlücken).
//!
//! A till that rings up a sale every few minutes and then falls silent for hours in the
//! middle of a trading day was either closed or its takings were not recorded; auditors ask
//! which. Only pauses within one local day are counted, so nights and closing days do not
//! drown the list. Operations are taken in the order the input lists them per register
//! (sequence order in both API shapes); a timestamp earlier than its predecessor is the
//! validator's SEQ003, not a pause.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::model::TimeGap;
use crate::model::{Operation, Timestamp};

/// Per register the last operation, and the longest pauses so far.
///
/// The pauses kept are the first `keep` in the order the report lists them, a total order, so
/// they do not depend on the order registers arrive in: accumulators of disjoint registers
/// [`merge`](Pauses::merge) into what one pass keeps.
#[derive(Serialize, Deserialize)]
pub struct Pauses {
    keep: usize,
    last: BTreeMap<String, Last>,
    /// The kept pauses; the top is the one listed last, the first to go.
    #[serde(serialize_with = "listed", deserialize_with = "heap")]
    longest: BinaryHeap<Gap>,
}

/// A register's last operation with a time.
#[derive(Serialize, Deserialize)]
struct Last {
    operation: String,
    #[serde(with = "time")]
    at: Timestamp,
}

/// A pause, ordered as listed: longest first, then by register, the operation before (id,
/// time) and the one after.
#[derive(PartialEq, Eq, Serialize, Deserialize)]
struct Gap {
    minutes: i64,
    register: String,
    before: (String, String),
    after: (String, String),
}

impl Ord for Gap {
    fn cmp(&self, other: &Gap) -> Ordering {
        other
            .minutes
            .cmp(&self.minutes)
            .then_with(|| self.register.cmp(&other.register))
            .then_with(|| self.before.cmp(&other.before))
            .then_with(|| self.after.cmp(&other.after))
    }
}

impl PartialOrd for Gap {
    fn partial_cmp(&self, other: &Gap) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn listed<S: Serializer>(gaps: &BinaryHeap<Gap>, s: S) -> Result<S::Ok, S::Error> {
    let mut sorted: Vec<&Gap> = gaps.iter().collect();
    sorted.sort();
    s.collect_seq(sorted)
}

fn heap<'de, D: Deserializer<'de>>(d: D) -> Result<BinaryHeap<Gap>, D::Error> {
    Ok(Vec::<Gap>::deserialize(d)?.into())
}

/// A timestamp as RFC 3339 with the offset the source wrote (it decides the local day).
mod time {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        t.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not an RFC 3339 time")))
    }
}

impl Pauses {
    /// Keeps the `keep` longest pauses.
    pub fn new(keep: usize) -> Pauses {
        Pauses {
            keep,
            last: BTreeMap::new(),
            longest: BinaryHeap::new(),
        }
    }

    /// Follows one operation.
    pub fn push(&mut self, op: &Operation) {
        let (Some(register), Some(at)) = (&op.register_id, op.timestamps.effective()) else {
            return;
        };
        let last = Last {
            operation: op.id.clone(),
            at,
        };
        let Some(previous) = self.last.insert(register.clone(), last) else {
            return;
        };
        if previous.at.0.date_naive() != at.0.date_naive() {
            return;
        }
        let minutes = (at.utc() - previous.at.utc()).num_minutes();
        if minutes <= 0 {
            return;
        }
        self.offer(Gap {
            minutes,
            register: register.clone(),
            before: (previous.operation, previous.at.0.to_rfc3339()),
            after: (op.id.clone(), at.0.to_rfc3339()),
        });
    }

    fn offer(&mut self, gap: Gap) {
        if self.longest.len() < self.keep {
            self.longest.push(gap);
        } else if self.longest.peek().is_some_and(|worst| gap < *worst) {
            self.longest.pop();
            self.longest.push(gap);
        }
    }

    /// Adds the pauses `other` kept. Precondition: the two followed disjoint sets of
    /// registers (a register's pauses need its operations in order); this one's `keep` stays.
    pub fn merge(&mut self, other: Pauses) {
        self.last.extend(other.last);
        for gap in other.longest {
            self.offer(gap);
        }
    }

    /// The longest pauses, longest first (ties by register and time).
    pub fn finish(self) -> Vec<TimeGap> {
        self.longest
            .into_sorted_vec()
            .into_iter()
            .map(|g| TimeGap {
                minutes: g.minutes,
                register: g.register,
                before: g.before,
                after: g.after,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::OperationKind;

    fn op(id: &str, register: &str, at: &str) -> Operation {
        let mut op = Operation::bare(id, OperationKind::Sale);
        op.register_id = Some(register.into());
        op.timestamps.completed = Timestamp::parse(at);
        op
    }

    #[test]
    fn the_longest_same_day_pauses_are_kept_longest_first() {
        let mut p = Pauses::new(2);
        p.push(&op("a", "r1", "2026-03-02T09:00:00+01:00"));
        p.push(&op("b", "r1", "2026-03-02T09:05:00+01:00"));
        p.push(&op("c", "r1", "2026-03-02T12:05:00+01:00"));
        p.push(&op("x", "r2", "2026-03-02T10:00:00+01:00"));
        p.push(&op("y", "r2", "2026-03-02T11:00:00+01:00"));
        // Overnight: not a pause.
        p.push(&op("d", "r1", "2026-03-03T09:00:00+01:00"));
        p.push(&op("e", "r1", "2026-03-03T09:30:00+01:00"));
        let gaps = p.finish();
        assert_eq!(gaps.len(), 2);
        assert_eq!((gaps[0].minutes, gaps[0].after.0.as_str()), (180, "c"));
        assert_eq!((gaps[1].minutes, gaps[1].register.as_str()), (60, "r2"));
    }

    /// A pause of 60 minutes at each of four registers, two kept: the first two registers,
    /// as listed, whatever order the registers come in or are merged in.
    fn hour_at(register: &str) -> [Operation; 2] {
        [
            op(
                &format!("{register}-a"),
                register,
                "2026-03-02T09:00:00+01:00",
            ),
            op(
                &format!("{register}-b"),
                register,
                "2026-03-02T10:00:00+01:00",
            ),
        ]
    }

    fn kept(p: Pauses) -> Vec<String> {
        p.finish().into_iter().map(|g| g.register).collect()
    }

    #[test]
    fn ties_keep_the_same_pauses_in_any_order_and_merge() {
        let registers = ["r3", "r1", "r4", "r2"];
        for order in [
            registers,
            ["r4", "r3", "r2", "r1"],
            ["r1", "r2", "r3", "r4"],
        ] {
            let mut p = Pauses::new(2);
            order
                .iter()
                .flat_map(|r| hour_at(r))
                .for_each(|o| p.push(&o));
            assert_eq!(kept(p), ["r1", "r2"], "{order:?}");
        }
        let side = |rs: &[&str]| {
            let mut p = Pauses::new(2);
            rs.iter().flat_map(|r| hour_at(r)).for_each(|o| p.push(&o));
            p
        };
        let mut a = side(&["r4", "r2"]);
        a.merge(side(&["r3", "r1"]));
        assert_eq!(kept(a), ["r1", "r2"]);
    }

    #[test]
    fn pauses_read_back_as_they_were() {
        let mut p = Pauses::new(2);
        ["r3", "r1", "r2"]
            .iter()
            .flat_map(|r| hour_at(r))
            .for_each(|o| p.push(&o));
        let text = serde_json::to_string(&p).expect("serialises");
        let mut back: Pauses = serde_json::from_str(&text).expect("reads back");
        assert_eq!(serde_json::to_string(&back).expect("serialises"), text);
        // The last operation per register came back too: the next pause is measured from it.
        back.push(&op("r3-c", "r3", "2026-03-02T13:00:00+01:00"));
        assert_eq!(back.finish()[0].before.0, "r3-b");
    }
}
