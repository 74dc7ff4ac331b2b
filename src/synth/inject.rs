//! Where `--inject` plants each anomaly.
//!
//! Every requested anomaly gets exactly one deterministic place: a register (register 0
//! unless the anomaly needs a particular shape) and either a goods slot near the middle of
//! that register's history or the end of its middle day. The simulator asks this plan at each
//! slot; the rest of the history stays clean, so a validator should report exactly the
//! planted findings.

use super::Anomaly;
use super::masterdata::{RegisterSpec, Shape};

/// What the simulator does at the planned place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write a plain sale and then break it as the anomaly says (total, tax, payment, id, or
    /// fiscal counter).
    BrokenSale,
    /// Write a return whose reference names no operation.
    DanglingReturn,
    /// Register shape: the sequence number skips one before this operation.
    SequenceGap,
    /// v1.1: the day's cash count states a wrong expected amount.
    WrongCashCount,
    /// Register shape (no v1.1 register in the run): the evening bank deposit does not empty
    /// the drawer.
    WrongBankDeposit,
}

/// Where in the day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum At {
    /// The goods operation with this global slot number (`day × ops_per_day + k`).
    Slot(u64),
    /// The closing of this day (0-based).
    DayEnd(u32),
}

/// One planted anomaly.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planned {
    /// Which anomaly was asked for.
    pub anomaly: Anomaly,
    /// Index of the register it goes into.
    pub register: usize,
    /// Where.
    pub at: At,
    /// What to do there.
    pub action: Action,
    /// Why the anomaly was planted differently from its name, if it was.
    pub substitute: Option<&'static str>,
}

/// Plans `anomalies` (deduplicated, in order) over `specs`.
pub(crate) fn plan(
    anomalies: &[Anomaly],
    specs: &[RegisterSpec],
    days: u32,
    ops_per_day: u32,
) -> Result<Vec<Planned>, String> {
    let first = |shape: Shape| specs.iter().find(|s| s.shape == shape).map(|s| s.idx);
    let mid_day = (days - 1) / 2;
    let n_slots = u64::from(days) * u64::from(ops_per_day);
    let mut next_slot =
        vec![u64::from(mid_day) * u64::from(ops_per_day) + u64::from(ops_per_day / 2); specs.len()];
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for &a in anomalies {
        if seen.contains(&a) {
            continue;
        }
        seen.push(a);
        let (register, action, substitute, day_end) = match a {
            Anomaly::TotalMismatch
            | Anomaly::TaxMismatch
            | Anomaly::DuplicateId
            | Anomaly::PaymentMismatch
            | Anomaly::FiscalCounterGap => (0, Action::BrokenSale, None, false),
            Anomaly::DanglingReference => (0, Action::DanglingReturn, None, false),
            Anomaly::SequenceGap => match first(Shape::Register) {
                Some(r) => (r, Action::SequenceGap, None, false),
                None => (
                    0,
                    Action::BrokenSale,
                    Some(
                        "no register-scoped register in this run (v1.1 has no sequence numbers): a fiscal counter skips one instead",
                    ),
                    false,
                ),
            },
            Anomaly::CashCountError => match first(Shape::Operations) {
                Some(r) => (r, Action::WrongCashCount, None, true),
                None => (
                    0,
                    Action::WrongBankDeposit,
                    Some(
                        "no v1.1 register in this run (the register shape has no cash counts): the evening bank deposit leaves cash in the drawer instead",
                    ),
                    true,
                ),
            },
        };
        let at = if day_end {
            if days < 2 {
                return Err(format!(
                    "--inject {}: needs --days 2 or more (the last day's session is still open)",
                    super::anomaly_name(a)
                ));
            }
            At::DayEnd(mid_day)
        } else {
            let slot = next_slot[register];
            // Two clean operations between planted ones: a duplicate id then always copies a
            // clean operation, and findings never overlap.
            next_slot[register] += 3;
            // The last slot of the history is the operation left open.
            if slot + 1 >= n_slots {
                return Err(format!(
                    "--inject: too few operations to place {} anomalies; raise --ops-per-day or --days",
                    anomalies.len()
                ));
            }
            At::Slot(slot)
        };
        out.push(Planned {
            anomaly: a,
            register,
            at,
            action,
            substitute,
        });
    }
    Ok(out)
}
