//! Pauses between a register's operations within a day (Zeitlücken).
//!
//! A till that rings up a sale every few minutes and then falls silent for hours in the
//! middle of a trading day was either closed or its takings were not recorded; auditors ask
//! which. Only pauses within one local day are counted, so nights and closing days do not
//! drown the list. Operations are taken in the order the input lists them per register
//! (sequence order in both API shapes); a timestamp earlier than its predecessor is the
//! validator's SEQ003, not a pause.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use super::model::TimeGap;
use crate::model::{Operation, Timestamp};

/// Per register the last operation, and the longest pauses so far.
pub struct Pauses {
    keep: usize,
    last: BTreeMap<String, (String, Timestamp)>,
    /// A min-heap of the `keep` longest pauses.
    longest: BinaryHeap<Reverse<TimeGap>>,
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
        let previous = self.last.insert(register.clone(), (op.id.clone(), at));
        let Some((before, then)) = previous else {
            return;
        };
        if then.0.date_naive() != at.0.date_naive() {
            return;
        }
        let minutes = (at.utc() - then.utc()).num_minutes();
        if minutes <= 0 || self.keep == 0 {
            return;
        }
        let gap = TimeGap {
            minutes,
            register: register.clone(),
            before: (before, then.0.to_rfc3339()),
            after: (op.id.clone(), at.0.to_rfc3339()),
        };
        if self.longest.len() < self.keep {
            self.longest.push(Reverse(gap));
        } else if self.longest.peek().is_some_and(|Reverse(min)| gap > *min) {
            self.longest.pop();
            self.longest.push(Reverse(gap));
        }
    }

    /// The longest pauses, longest first (ties by register and time).
    pub fn finish(self) -> Vec<TimeGap> {
        let mut gaps: Vec<TimeGap> = self.longest.into_iter().map(|Reverse(g)| g).collect();
        gaps.sort_by(|a, b| {
            b.minutes
                .cmp(&a.minutes)
                .then_with(|| a.register.cmp(&b.register))
                .then_with(|| a.before.cmp(&b.before))
        });
        gaps
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
}
