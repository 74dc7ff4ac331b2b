//! Where `--inject` plants each anomaly.
//!
//! Every requested anomaly gets exactly one deterministic place: a register (register 0
//! unless the anomaly needs a particular shape) and either a goods slot near the middle of
//! that register's history, the very last goods slot, or the end of a day. The simulator asks
//! this plan at each slot; the rest of the history stays clean, so a validator should report
//! exactly the planted findings, one each.

use super::Anomaly;
use super::catalog::Country;
use super::masterdata::{RegisterSpec, Shape};

/// What the simulator does at the planned place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Write a plain sale and then break it as the anomaly says (total, tax, payment, id,
    /// fiscal counter, fiscalisation, VAT rate, TSE signature, signed processData, RT
    /// document number).
    BrokenSale,
    /// Write a return whose reference names no operation.
    DanglingReturn,
    /// Register shape: the sequence number skips one before this operation.
    SequenceGap,
    /// v1.1: the day's cash count states a wrong expected amount.
    WrongCashCount,
    /// v1.1: the day's session is neither counted nor closed.
    UnclosedSession,
    /// The last goods operation is a sale left open.
    OpenSale,
    /// A sale stamped two hours before the operation written just before it.
    ClockBackwards,
    /// A return of one unit more than an earlier sale sold.
    OverReturn,
    /// Register shape: a sale is voided, then voided again.
    DoubleVoid,
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

/// Where a planned anomaly goes within its register.
enum Place {
    /// The next free goods slot near the middle of the history.
    MidSlot,
    /// The last goods slot of the history.
    LastSlot,
    /// The closing of this day.
    DayEnd(u32),
}

/// Plans `anomalies` (deduplicated, in order) over `specs`.
pub(crate) fn plan(
    anomalies: &[Anomaly],
    specs: &[RegisterSpec],
    days: u32,
    ops_per_day: u32,
) -> Result<Vec<Planned>, String> {
    let first = |shape: Shape| specs.iter().find(|s| s.shape == shape).map(|s| s.idx);
    let first_de = specs
        .iter()
        .find(|s| s.country == Country::De)
        .map(|s| s.idx);
    let first_it = specs
        .iter()
        .find(|s| s.country == Country::It)
        .map(|s| s.idx);
    let needs =
        |a: Anomaly, what: &str| format!("--inject {}: needs {what}", super::anomaly_name(a));
    let mid_day = (days - 1) / 2;
    let n_slots = u64::from(days) * u64::from(ops_per_day);
    // Two clean operations between planted ones: a duplicate id then always copies a clean
    // operation, and findings never overlap.
    let mut next_slot =
        vec![u64::from(mid_day) * u64::from(ops_per_day) + u64::from(ops_per_day / 2); specs.len()];
    // The clock-backwards sale goes two hours behind its predecessor: it takes the first slot,
    // in the middle of a business day, so that it still falls after the day's opening.
    let clock_slot = anomalies.contains(&Anomaly::ClockBackwards).then(|| {
        let slot = next_slot[0];
        next_slot[0] += 3;
        slot
    });
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for &a in anomalies {
        if seen.contains(&a) {
            continue;
        }
        seen.push(a);
        let (register, action, substitute, place) = match a {
            Anomaly::TotalMismatch
            | Anomaly::TaxMismatch
            | Anomaly::DuplicateId
            | Anomaly::PaymentMismatch
            | Anomaly::FiscalCounterGap
            | Anomaly::FiscalFailed
            | Anomaly::VatRate => (0, Action::BrokenSale, None, Place::MidSlot),
            Anomaly::DanglingReference => (0, Action::DanglingReturn, None, Place::MidSlot),
            Anomaly::BadSignature | Anomaly::WrongProcessData => match first_de {
                Some(r) => (r, Action::BrokenSale, None, Place::MidSlot),
                None => {
                    return Err(needs(
                        a,
                        "a German register in the run (--regime kassensichv or mixed)",
                    ));
                }
            },
            Anomaly::RtDocumentNumber => match first_it {
                Some(r) => (r, Action::BrokenSale, None, Place::MidSlot),
                None => {
                    return Err(needs(
                        a,
                        "an Italian register in the run (--regime rt or mixed)",
                    ));
                }
            },
            Anomaly::ClockBackwards => (0, Action::ClockBackwards, None, Place::MidSlot),
            Anomaly::OverReturn => (0, Action::OverReturn, None, Place::MidSlot),
            Anomaly::OpenAtEnd => (0, Action::OpenSale, None, Place::LastSlot),
            Anomaly::DoubleVoid => match first(Shape::Register) {
                Some(r) => (r, Action::DoubleVoid, None, Place::MidSlot),
                None => {
                    return Err(needs(
                        a,
                        "a register-scoped register in the run (v1.1 has no void operations)",
                    ));
                }
            },
            Anomaly::SequenceGap => match first(Shape::Register) {
                Some(r) => (r, Action::SequenceGap, None, Place::MidSlot),
                None => (
                    0,
                    Action::BrokenSale,
                    Some(
                        "no register-scoped register in this run (v1.1 has no sequence numbers): a fiscal counter skips one instead",
                    ),
                    Place::MidSlot,
                ),
            },
            Anomaly::CashCountError => match first(Shape::Operations) {
                // An unclosed session has no count to get wrong: take the next day then.
                Some(r) => {
                    let day = if anomalies.contains(&Anomaly::UnclosedSession) {
                        mid_day + 1
                    } else {
                        mid_day
                    };
                    (r, Action::WrongCashCount, None, Place::DayEnd(day))
                }
                None => {
                    return Err(needs(
                        a,
                        "a v1.1 register in the run (the register shape has no cash counts)",
                    ));
                }
            },
            Anomaly::UnclosedSession => match first(Shape::Operations) {
                Some(r) => {
                    if days < 2 {
                        return Err(format!(
                            "--inject {}: needs --days 2 or more (a next day must open a new session)",
                            super::anomaly_name(a)
                        ));
                    }
                    (r, Action::UnclosedSession, None, Place::DayEnd(mid_day))
                }
                None => {
                    return Err(needs(
                        a,
                        "a v1.1 register in the run (the register shape has no sessions)",
                    ));
                }
            },
        };
        let at = match place {
            Place::DayEnd(day) => At::DayEnd(day),
            Place::LastSlot => At::Slot(n_slots - 1),
            Place::MidSlot => {
                let slot = match (a, clock_slot) {
                    (Anomaly::ClockBackwards, Some(slot)) => slot,
                    _ => {
                        let slot = next_slot[register];
                        next_slot[register] += 3;
                        slot
                    }
                };
                // The last slot of the history is reserved for the open-at-end sale.
                if slot + 1 >= n_slots {
                    return Err(format!(
                        "--inject: too few operations to place {} anomalies; raise --ops-per-day or --days",
                        anomalies.len()
                    ));
                }
                At::Slot(slot)
            }
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

/// The validator rule a planted anomaly breaks in a register of `country` and `shape`
/// (docs/synth.md, "`--inject`"); `None` for a duplicate id, which the readers reject.
pub(crate) fn rule(p: &Planned, country: Country, shape: Shape) -> Option<&'static str> {
    // DSFinV-K numbers TSE transactions on their own; RKSV receipts and RT documents share the
    // counter-gap rule.
    let counter_gap = if country == Country::De {
        "FIS003"
    } else {
        "FIS002"
    };
    Some(match p.anomaly {
        Anomaly::TotalMismatch if shape == Shape::Register => "TOT003",
        Anomaly::TotalMismatch => "TOT004",
        Anomaly::TaxMismatch => "VAT001",
        Anomaly::SequenceGap if p.action == Action::SequenceGap => "SEQ001",
        Anomaly::SequenceGap | Anomaly::FiscalCounterGap => counter_gap,
        Anomaly::DuplicateId => return None,
        Anomaly::CashCountError => "SES002",
        Anomaly::DanglingReference => "REF001",
        Anomaly::PaymentMismatch => "PAY001",
        Anomaly::OpenAtEnd => "LIF001",
        Anomaly::UnclosedSession => "SES005",
        Anomaly::ClockBackwards => "SEQ003",
        Anomaly::FiscalFailed => "LIF002",
        Anomaly::OverReturn => "REF003",
        Anomaly::VatRate => "VAT003",
        Anomaly::DoubleVoid => "REF004",
        Anomaly::BadSignature => "TSE001",
        Anomaly::WrongProcessData => "TSE002",
        // The register shape's block carries the printed number only: its form is what breaks.
        Anomaly::RtDocumentNumber if shape == Shape::Register => "RTD001",
        Anomaly::RtDocumentNumber => "RTD002",
    })
}
