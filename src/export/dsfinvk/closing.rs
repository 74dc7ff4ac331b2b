//! Grouping one register's operations into Kassenabschlüsse (closings).
//!
//! Two shapes, as docs/dsfinvk-mapping.md ("Closings") describes:
//!
//! - a register that records sessions (the /operations v1.1 shape): each completed
//!   `session_close` ends one closing holding every operation of its session; operations of
//!   a session that never closed are left out, they belong to a later export;
//! - a register without session records (the register shape): one closing per business day
//!   in the location's time zone, the day starting at the configurable cut-off hour.
//!
//! Closings are numbered Z_NR = 1, 2, … in time order: an export knows no closings before its
//! input, so the numbering restarts with each export of a register — unless it continues an
//! earlier one (`export_continuing`, as nightly runs do), which numbers on from its last Z_NR.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use chrono_tz::Tz;

use super::Error;
use crate::model::{CashEvent, LifecycleState, Operation, OperationKind};

/// One Kassenabschluss: its number, time, business day and operations in time order.
#[derive(Debug, Clone)]
pub struct Closing<'a> {
    /// Z_NR, from 1.
    pub z_nr: u64,
    /// Z_ERSTELLUNG: when the closing was made, in the location's local time.
    pub created: DateTime<FixedOffset>,
    /// The business day the closing books (Z_BUCHUNGSTAG when it differs from `created`'s
    /// date).
    pub business_day: NaiveDate,
    /// The operations, sorted by time.
    pub operations: Vec<&'a Operation>,
}

/// The closings of one register and the number of operations in none of them.
#[derive(Debug, Clone)]
pub struct Grouping<'a> {
    /// The closings in Z_NR order.
    pub closings: Vec<Closing<'a>>,
    /// Operations of sessions that did not close, or without a session in a session register.
    pub left_out: usize,
}

/// The instant an operation counts for, or an error naming it.
pub fn effective_utc(op: &Operation) -> Result<DateTime<Utc>, Error> {
    op.timestamps
        .effective()
        .map(|t| t.utc())
        .ok_or_else(|| Error::Operation {
            operation: op.id.clone(),
            message: "has no completion, start or creation time".into(),
        })
}

/// Whether the register records sessions (the v1.1 shape): its closings are then its
/// closed sessions, not business days.
fn has_sessions(ops: &[Operation]) -> bool {
    ops.iter().any(|o| {
        matches!(
            o.kind,
            OperationKind::SessionOpen | OperationKind::SessionClose
        )
    })
}

/// The operations [`group`] leaves out because their session has not closed yet: the ones a
/// later export of the register will take (in the order given). Operations without a session
/// in a session register are not among them: no later close can take them in.
pub fn unclosed(ops: &[Operation]) -> Vec<&Operation> {
    let closed: std::collections::HashSet<&str> = ops
        .iter()
        .filter(|o| o.kind == OperationKind::SessionClose && o.state == LifecycleState::Completed)
        .filter_map(|o| o.session_id.as_deref())
        .collect();
    if !has_sessions(ops) {
        return Vec::new();
    }
    ops.iter()
        .filter(|o| o.session_id.as_deref().is_some_and(|s| !closed.contains(s)))
        .collect()
}

/// Groups `ops` (all of one register) into closings; `tz` is the location's time zone and
/// `cutoff_hour` (0–23) the local hour a register-shape business day starts.
pub fn group<'a>(ops: &'a [Operation], tz: Tz, cutoff_hour: u32) -> Result<Grouping<'a>, Error> {
    let mut sorted: Vec<(DateTime<Utc>, &Operation)> = Vec::with_capacity(ops.len());
    for op in ops {
        sorted.push((effective_utc(op)?, op));
    }
    // Ties are broken by sequence number and id so that the order never depends on input order.
    sorted.sort_by(|(ta, a), (tb, b)| {
        ta.cmp(tb)
            .then(a.sequence_number.cmp(&b.sequence_number))
            .then(a.id.cmp(&b.id))
    });
    let has_sessions = has_sessions(ops);
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).fixed_offset();
    let mut closings = Vec::new();
    let mut left_out = 0;
    if has_sessions {
        let mut sessions: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
        let mut closes: Vec<(DateTime<Utc>, &str, &Operation)> = Vec::new();
        for (t, op) in &sorted {
            let Some(session) = op.session_id.as_deref() else {
                left_out += 1;
                continue;
            };
            sessions.entry(session).or_default().push(op);
            if op.kind == OperationKind::SessionClose && op.state == LifecycleState::Completed {
                closes.push((*t, session, op));
            }
        }
        for (t, session, close) in closes {
            let Some(members) = sessions.remove(session) else {
                // A second close of the same session: its operations are in the first closing.
                continue;
            };
            let created = local(t);
            let business_day = match &close.cash {
                Some(CashEvent::Close {
                    business_date: Some(d),
                    ..
                }) => *d,
                _ => created.date_naive(),
            };
            closings.push(Closing {
                z_nr: 0,
                created,
                business_day,
                operations: members,
            });
        }
        left_out += sessions.values().map(Vec::len).sum::<usize>();
    } else {
        let cutoff = Duration::hours(i64::from(cutoff_hour));
        let mut days: BTreeMap<NaiveDate, Vec<(DateTime<Utc>, &Operation)>> = BTreeMap::new();
        for (t, op) in &sorted {
            let day = (local(*t).naive_local() - cutoff).date();
            days.entry(day).or_default().push((*t, op));
        }
        for (day, members) in days {
            // Without a closing record the closing is dated by the day's last operation.
            let last = members.last().map(|(t, _)| *t).unwrap_or_default();
            closings.push(Closing {
                z_nr: 0,
                created: local(last),
                business_day: day,
                operations: members.into_iter().map(|(_, op)| op).collect(),
            });
        }
    }
    closings.sort_by_key(|c| c.created);
    for (i, c) in closings.iter_mut().enumerate() {
        c.z_nr = i as u64 + 1;
    }
    Ok(Grouping { closings, left_out })
}
