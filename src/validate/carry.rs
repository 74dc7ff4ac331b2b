//! The validator's state carried from one run to the next, so that a nightly run over only
//! that night's new operations judges the boundary to the nights before it as one run over
//! the whole history would.
//!
//! # Contract
//!
//! ```text
//! night 1:  Validator::resume(config, md, Carry::default())   (= Validator::with_master_data)
//!           push(op)…  →  finish_carry(sink) → carry₁ → carry₁.to_bytes() (saved)
//! night k:  Carry::from_bytes(saved) → Validator::resume(config, md, carryₖ₋₁)
//!           push(op)…  →  finish_carry(sink) → carryₖ
//! the end:  carryₙ.report_open(config, md, sink)     (or night n with finish(sink) instead)
//! ```
//!
//! [`Validator::finish_carry`] reports everything [`Validator::finish`] would, except what a
//! later night can still change: that stays in the returned [`Carry`] and is reported by the
//! night that decides it, or by [`Carry::report_open`] (`resume` + `finish` without
//! operations) once the history is declared to end. `finish` on a resumed validator reports
//! everything it holds, the deferred items included; so `finish_carry` + `report_open` on the
//! last night equals `finish`. The findings of all nights together, with `report_open` (or
//! `finish`) at the end, are the findings of one run over the nights' operations in the same
//! order — same code, severity, operation, register, expected, found and message — but for
//! the cases under *Where a split run differs*. A deferred finding keeps its operation and the
//! location it was read from in its own night; no message names a carried location.
//! Severities and disabled rules are those of the run that reports.
//!
//! What waits for an original that never comes (a reference, a TSE void, an RT reso) is
//! reported only by `report_open`, as one run reports it only at its end; the overview counts
//! it under `deferred`, and the orchestration decides when a history ends.
//!
//! Operations are numbered across runs ([`Carry`] counts them), so ties in input order (two
//! operations with one sequence number, two RT documents without time) break as in one run.
//!
//! # Per stage: carried, deferred, size
//!
//! Sizes are of the compact JSON of [`Carry::to_bytes`]. The carry grows with the history, as
//! the index of one run over it does (in one run partly in temporary files, `model::templog`): a
//! return may name a sale of any earlier night, so the index of every operation is kept and
//! nothing is forgotten. Measured on a synthetic history
//! of six registers (all regimes and shapes, 2565 operations; test `carry_size_per_operation`):
//! 231 B per operation in all — references 159, TSE 24 (of all operations; ≈ 70 per German
//! one), registers 21 (external ids), RKSV 19, RT 7, sessions 1.3, devices 0.1.
//!
//! | stage | carried | deferred to a later night or `report_open` | size |
//! |---|---|---|---|
//! | sequence (SEQ001–SEQ004), per register | regime; last entry in number order (number, input position, time, id); every number seen, as ranges; time of the last operation without number; hash of every completed external id | nothing: the boundary pair (last of the earlier nights, first of this one) is judged in this night | ≈ 150 B per register, 16 B per gap, ≈ 20 B per external id |
//! | fiscal counters (FIS001–FIS003), per device | last TSE transaction number / RKSV receipt number / RT (Z, progressive) | nothing (judged in input order) | ≈ 40 B per device |
//! | lifecycle (LIF002 without fiscal block) | completed operations without fiscal block on a register whose regime no operation has named yet | those, until an operation names the regime (one run reports them only if one ever does) | only while a register's regime is unknown |
//! | sessions (SES001–SES008) | sessions not settled, whole (sums, events); per register what the last settled session left in the drawer (SES004); per settled session its currency and order flags (SES001/SES007 of operations still naming it) | the sessions after the register's last closed one. A session is *settled* at the end of a night when it or a later session of its register is closed, and is then judged as `finish` judges it (a session left open while a later one closed is SES005 then) | ≈ 0.5 kB per open session (normally at most one per register); ≈ 80 B per settled session, i.e. per register and business day |
//! | references (REF001–REF005) | per operation its target (kind, state, voided, currency, time, gross, quantity per product, what returns took back so far) by id hash; the references waiting for their original | references whose original is not in the input yet: one run would resolve them against an original read later; REF001 "not in the input" only at the end | ≈ 80 B + 27 B per product line, per operation; ≈ 0.3 kB per waiting reference |
//! | TSE (TSE001–TSE007) | per TSE the last signature counter and its operation (TSE004 names it); per signed goods operation the expected processData amounts (TSE002 of a later void); voids whose original has not come | those voids (judged when the original comes; never reported if it does not, as in one run). Signature batches are verified at the end of every night | ≈ 70 B per signed goods operation, ≈ 100 B per TSE |
//! | RKSV (RKS001–RKS105) | per cash box the DEP verifier's `dep::Carry` as `rksv::state` writes it (chain tail and the receipt it came from, turnover counter, receipt-id hashes, failure state), receipts verified, the master data entry of its key, whether RKS105 was said; per goods operation its booked amounts (RKS103 of a later Stornobeleg) | nothing: every batch is verified at the end of its night, so a chain break at the boundary is found in the later night | ≈ 11 B per receipt, ≈ 45 B per goods operation, ≈ 0.4 kB per cash box |
//! | RT (RTD001–RTD010) | hash of every RT document, with or without lottery code (RTD004/RTD008); per original the time and position of every completed reso and exchange (RTD005); serials RTD010 was said for; resi, annulli and exchanges whose original has not come | those references (judged when the original comes; RTD004 needs it to be in the input at all) | ≈ 20 B per RT document, ≈ 60 B per reso |
//!
//! Totals, VAT, payments and the lifecycle state of one operation need nothing from other
//! operations and are reported in the operation's own night (VAT takes the register's regime
//! from the carry).
//!
//! # Where a split run differs
//!
//! Each is pinned by a test of `tests/it/validate_carry.rs` (named in brackets; the RT one is
//! in `regime::rt::check`).
//!
//! - **A sequence number below the register's last one of an earlier night** (an operation
//!   that arrives nights late) belongs among operations no longer held. It is judged for
//!   reuse only: SEQ002 when the number was seen before, naming "an operation of an earlier
//!   run" instead of the operation (only number ranges are carried). A gap it fills was
//!   reported in its night and stays reported, and it gets no SEQ003 against its neighbours
//!   in number. (`late_sequence_number_is_judged_for_reuse_only`)
//! - **SEQ004 across nights** says the external id was completed "in an earlier run" instead of
//!   naming the operation (only the external id's hash is carried); code, operation, expected
//!   and found are one run's. (`external_id_reused_across_nights`)
//! - **A settled session is not judged again.** Operations that name it in a later night get
//!   the checks made as they come (SES001 order, SES007 currency) exactly as in one run, but a
//!   late `session_open`, cash count or close of it changes neither its SES002–SES006/SES008
//!   nor the SES004 of the session after it; a session settled as never closed (SES005,
//!   because a later session of its register closed first) stays reported if its close comes
//!   in a later night. (`a_settled_session_is_not_judged_again`)
//! - **RTD005 is judged at the end of the annullo's night**, against the resi and exchanges of
//!   that night and the nights before; a reso of the same document that comes in a later night
//!   but is dated before the annullo is not held against it.
//!   (`rtd005_is_judged_in_the_annullos_night`)
//! - **RKS105** is said in the first night with an unverifiable receipt of a cash box, and its
//!   message counts the receipts up to that night; later nights say nothing more for it.
//!   (`rks105_is_said_once_in_its_first_night`)
//! - **Duplicate operation ids across nights** are the readers' reject within one run only.
//!   The orchestration refuses them across nights with [`Carry::has_operation`]; one that
//!   reaches the validator replaces the earlier operation's reference target.
//!   (`has_operation_knows_earlier_nights`)
//!
//! # Bytes
//!
//! Compact JSON with a format name and [`Carry::VERSION`]; maps are ordered and hash lists
//! sorted, so the same carry always gives the same bytes. Ids are carried as
//! [`crate::model::hash::id_hash`], which is fixed across builds. Cash boxes embed the
//! `rksv::state` file of their verifier (with its own format name and version).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::references::{References, ReferencesCarry};
use super::sequence::{self, Devices, Last, RegisterSequence, SequenceCarry};
use super::session::{Sessions, SessionsCarry};
use super::{Config, Emit, OpRef, RegisterState, Validator, lifecycle};
use crate::model::masterdata::MasterData;
use crate::model::{Finding, Regime};
use crate::regime::kassensichv::check::TseCarry;
use crate::regime::rksv::check::RksvCarry;
use crate::regime::rt::check::{RtCarry, RtCheck};

/// The `format` every carry names.
const FORMAT: &str = "fiskal validator carry";
/// The version this fiskal writes and reads.
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Format(String);

impl Default for Format {
    fn default() -> Format {
        Format(FORMAT.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Version(u32);

impl Default for Version {
    fn default() -> Version {
        Version(VERSION)
    }
}

/// What the validator's continuity checks need from earlier nights: per register the
/// sequence tail, number ranges and external ids; per device the last counters; the sessions
/// still open; every operation's reference target; the TSE, RKSV and RT stages' counters,
/// chains and originals; and what waits for an original that has not come yet (source
/// `src/validate/carry.rs` says per stage what and why, and where a split run differs from
/// one run). [`Carry::default`] is the state before the first night.
///
/// A night runs [`Validator::resume`] → `push`… → [`Validator::finish_carry`], and saves
/// [`Carry::to_bytes`]. The findings of all nights plus [`Carry::report_open`] at the end
/// are those of one run over everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Carry {
    format: Format,
    version: Version,
    /// Operations validated so far, over all runs: the input position the next run starts at.
    operations: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    registers: BTreeMap<String, RegisterCarry>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    devices: BTreeMap<String, Last>,
    #[serde(default)]
    sessions: SessionsCarry,
    #[serde(default)]
    references: ReferencesCarry,
    #[serde(default)]
    tse: TseCarry,
    #[serde(default)]
    rksv: RksvCarry,
    #[serde(default)]
    rt: RtCarry,
}

/// What one register hands on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterCarry {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "regime_serde"
    )]
    regime: Option<Regime>,
    #[serde(default)]
    sequence: SequenceCarry,
    /// Completed operations without fiscal block, waiting for the register's regime.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unsigned: Vec<OpRef>,
}

/// Why bytes are not a carry this fiskal can resume from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CarryError {
    /// Not JSON, or JSON without the format name.
    #[error("not a fiskal validator carry ({0})")]
    NotCarry(String),
    /// A carry of another version.
    #[error(
        "validator carry version {found}, but this fiskal reads version {} only",
        Carry::VERSION
    )]
    Version {
        /// The version the bytes name.
        found: u64,
    },
    /// The format and version are right, but the content is not what fiskal writes.
    #[error("damaged validator carry: {0}")]
    Invalid(String),
}

impl Carry {
    /// The version [`Carry::to_bytes`] writes and [`Carry::from_bytes`] reads.
    pub const VERSION: u32 = VERSION;

    /// Deterministic compact JSON: the same carry always gives the same bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Plain data with string and integer map keys: serialising cannot fail.
        serde_json::to_vec(self).expect("a carry serialises to JSON")
    }

    /// The carry `bytes` hold, after checking the format name and version.
    pub fn from_bytes(b: &[u8]) -> Result<Carry, CarryError> {
        #[derive(Deserialize)]
        struct Header {
            format: Option<String>,
            version: Option<u64>,
        }
        let header: Header =
            serde_json::from_slice(b).map_err(|e| CarryError::NotCarry(e.to_string()))?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(CarryError::NotCarry(format!(
                "\"format\" is {:?}, expected {FORMAT:?}",
                header.format.unwrap_or_default()
            )));
        }
        match header.version {
            Some(v) if v == u64::from(VERSION) => {}
            Some(found) => return Err(CarryError::Version { found }),
            None => return Err(CarryError::Invalid("\"version\" is missing".into())),
        }
        serde_json::from_slice(b).map_err(|e| CarryError::Invalid(e.to_string()))
    }

    /// Operations validated so far, over all runs.
    pub fn operations(&self) -> u64 {
        self.operations
    }

    /// Whether an operation with this id was validated in an earlier run: the readers refuse
    /// a repeated id within one run, and this lets the orchestration refuse one across runs.
    pub fn has_operation(&self, id: &str) -> bool {
        self.references.targets.contains_key(&sequence::hash(id))
    }

    /// Reports what the carry still defers, as [`Validator::finish`] would if the history
    /// ended here: `finish_carry` of the last night followed by this equals `finish`.
    pub fn report_open(
        self,
        config: Config,
        md: Option<&MasterData>,
        sink: &mut dyn FnMut(Finding),
    ) {
        Validator::resume(config, md, self).finish(sink);
    }

    /// A small deterministic overview for a run manifest: per register the last sequence
    /// number and the open sessions, per device the last counters, and what is deferred.
    pub fn overview(&self) -> Value {
        let mut open_sessions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &self.sessions.open {
            open_sessions
                .entry(s.register())
                .or_default()
                .push(s.id().to_string());
        }
        let mut registers = serde_json::Map::new();
        let ids: std::collections::BTreeSet<&String> =
            self.registers.keys().chain(open_sessions.keys()).collect();
        for id in ids {
            let r = self.registers.get(id);
            let last = r.and_then(|r| r.sequence.last.as_ref());
            registers.insert(
                id.clone(),
                json!({
                    "regime": r.and_then(|r| r.regime).map(Regime::name),
                    "last_sequence_number": last.map(|l| l.seq),
                    "last_sequenced_operation": last.map(|l| l.id.as_str()),
                    "sequence_gaps": r.map_or(0, |r| r.sequence.seen.len().saturating_sub(1)),
                    "open_sessions": open_sessions.get(id).cloned().unwrap_or_default(),
                }),
            );
        }
        // Per device its last counters: the fiscal counter of FIS001–FIS003 under the
        // device's name there ("TSE <serial>", "cash box <Kassen-ID>", "RT <matricola>"),
        // with the TSE's signature counter and the cash box's chain beside it.
        let mut devices = serde_json::Map::new();
        for (device, last) in &self.devices {
            let v = match last {
                Last::Counter(c) if device.starts_with("TSE ") => {
                    json!({ "transaction_number": c })
                }
                Last::Counter(c) => json!({ "receipt_number": c }),
                Last::Rt(z, p) => json!({ "daily_closing": z, "progressive": p }),
            };
            devices.insert(device.clone(), v);
        }
        let mut add = |name: String, fields: Value| {
            let name = devices
                .keys()
                .find(|k| k.eq_ignore_ascii_case(&name))
                .cloned()
                .unwrap_or(name);
            let entry = devices.entry(name).or_insert_with(|| json!({}));
            if let (Value::Object(to), Value::Object(from)) = (entry, fields) {
                to.extend(from);
            }
        };
        for (serial, (counter, op)) in &self.tse.last_counter {
            add(
                format!("TSE {serial}"),
                json!({ "signature_counter": counter, "signature_counter_operation": op }),
            );
        }
        for (id, b) in &self.rksv.boxes {
            add(
                format!("cash box {id}"),
                json!({
                    "chain_position": b.position,
                    "last_receipt": b.state.last_receipt,
                    "turnover_counter_cents": b.state.counter().to_string(),
                    "system": b.state.closed.map(|c| if c { "closed" } else { "open" }),
                }),
            );
        }
        json!({
            "format": FORMAT,
            "version": VERSION,
            "operations": self.operations,
            "registers": registers,
            "devices": devices,
            "deferred": {
                "references": self.references.pending.len(),
                "tse_voids": self.tse.pending_voids.len(),
                "rt_references": self.rt.pending.len(),
                "unsigned_operations": self.registers.values().map(|r| r.unsigned.len()).sum::<usize>(),
                "open_sessions": self.sessions.open.len(),
            },
            "indexed": {
                "operations": self.references.targets.len(),
                "tse_originals": self.tse.originals.len(),
                "rksv_originals": self.rksv.originals.len(),
                "rt_documents": self.rt.documents.len() + self.rt.lottery_documents.len(),
                "settled_sessions": self.sessions.settled.values().map(BTreeMap::len).sum::<usize>(),
            },
        })
    }
}

impl Validator {
    /// A validator continuing from an earlier run's carry (`Carry::default()` for the first
    /// run, which makes it [`Validator::with_master_data`]).
    pub fn resume(config: Config, md: Option<&MasterData>, carry: Carry) -> Validator {
        let mut v = Validator::with_master_data(config, md);
        v.n_ops = carry.operations;
        v.registers = carry
            .registers
            .into_iter()
            .map(|(id, r)| {
                let state = RegisterState {
                    regime: r.regime,
                    sequence: RegisterSequence::resume(r.sequence),
                    unsigned: r.unsigned,
                };
                (id, state)
            })
            .collect();
        v.devices = Devices::resume(carry.devices);
        v.sessions = Sessions::resume(carry.sessions);
        v.references = References::resume(carry.references);
        v.tse.resume(carry.tse);
        v.rksv.resume(carry.rksv);
        v.rt = RtCheck::resume(carry.rt, carry.operations);
        v
    }

    /// Like [`Validator::finish`], but what a later night may still resolve is kept in the
    /// returned [`Carry`] instead of being reported now (module `carry` says what).
    pub fn finish_carry(mut self, sink: &mut dyn FnMut(Finding)) -> Carry {
        let mut emit = Emit {
            config: &self.config,
            sink,
        };
        let mut registers = BTreeMap::new();
        for (register, reg) in self.registers {
            let sequence = reg
                .sequence
                .finish_carry(&register, &mut self.ops, &mut emit);
            let unsigned = if reg.regime.is_some() {
                for op in &reg.unsigned {
                    lifecycle::unsigned(op, reg.regime, &mut emit);
                }
                Vec::new()
            } else {
                reg.unsigned
            };
            let carried = RegisterCarry {
                regime: reg.regime,
                sequence,
                unsigned,
            };
            registers.insert(register, carried);
        }
        let sessions = self.sessions.finish_carry(&mut emit);
        let rt = self
            .rt
            .finish_carry(&|id| self.references.contains(id), &mut emit);
        let references = self.references.finish_carry(&mut emit);
        let tse = self.tse.finish_carry(&mut emit);
        let rksv = self.rksv.finish_carry(&mut emit);
        Carry {
            format: Format::default(),
            version: Version::default(),
            operations: self.n_ops,
            registers,
            devices: self.devices.into_carry(),
            sessions,
            references,
            tse,
            rksv,
            rt,
        }
    }
}

/// `skip_serializing_if` for flags that are usually false.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// A source location as `SourceLoc` serialises, and back.
pub(crate) mod loc_serde {
    use super::*;
    use crate::model::SourceLoc;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Loc {
        file: String,
        #[serde(default)]
        entry: Option<String>,
        #[serde(default)]
        line: Option<u64>,
        #[serde(default)]
        index: Option<u64>,
        #[serde(default)]
        pointer: String,
    }

    pub fn serialize<S: serde::Serializer>(loc: &SourceLoc, s: S) -> Result<S::Ok, S::Error> {
        loc.serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SourceLoc, D::Error> {
        let l = Loc::deserialize(d)?;
        Ok(SourceLoc {
            file: Arc::from(l.file),
            entry: l.entry.map(Arc::from),
            line: l.line,
            index: l.index,
            pointer: l.pointer,
        })
    }
}

/// A `Timestamp` as RFC 3339 with its own offset (the offset decides local dates, SES006).
pub(crate) mod time_serde {
    use super::*;
    use crate::model::Timestamp;

    fn text(t: &Timestamp) -> String {
        t.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    }

    fn parse<E: serde::de::Error>(s: &str) -> Result<Timestamp, E> {
        Timestamp::parse(s).ok_or_else(|| E::custom(format!("{s:?} is not an RFC 3339 time")))
    }

    /// `Option<Timestamp>` (`null` for none).
    pub mod option {
        use super::*;

        pub fn serialize<S: serde::Serializer>(
            t: &Option<Timestamp>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            t.as_ref().map(text).serialize(s)
        }

        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Timestamp>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| parse(&s))
                .transpose()
        }
    }
}

/// Serde of a model enum by the name it has in output.
macro_rules! by_name {
    ($module:ident, $ty:ty, [$($variant:expr),+ $(,)?], $name:expr, $what:literal) => {
        pub(crate) mod $module {
            use super::*;
            #[allow(unused_imports)]
            use crate::model::*;

            const ALL: &[$ty] = &[$($variant),+];

            fn name(v: $ty) -> &'static str {
                ($name)(v)
            }

            pub fn of<E: serde::de::Error>(s: &str) -> Result<$ty, E> {
                ALL.iter()
                    .copied()
                    .find(|v| name(*v) == s)
                    .ok_or_else(|| E::custom(format!(concat!("{:?} is not ", $what), s)))
            }

            #[allow(dead_code)]
            pub fn serialize<S: serde::Serializer>(v: &$ty, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(name(*v))
            }

            #[allow(dead_code)]
            pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<$ty, D::Error> {
                of(&String::deserialize(d)?)
            }

            #[cfg(test)]
            pub fn all() -> &'static [$ty] {
                ALL
            }
        }
    };
}

by_name!(
    kind_serde,
    OperationKind,
    [
        OperationKind::Sale,
        OperationKind::Return,
        OperationKind::Exchange,
        OperationKind::Void,
        OperationKind::CashMovement,
        OperationKind::Deposit,
        OperationKind::DepositCapture,
        OperationKind::Training,
        OperationKind::SessionOpen,
        OperationKind::SessionCashAdjustment,
        OperationKind::SessionCashCount,
        OperationKind::SessionClose,
    ],
    OperationKind::name,
    "an operation type"
);

by_name!(
    state_serde,
    LifecycleState,
    [
        LifecycleState::Open,
        LifecycleState::Completed,
        LifecycleState::Cancelled,
        LifecycleState::Voided,
    ],
    LifecycleState::name,
    "a lifecycle state"
);

by_name!(
    regime_name,
    Regime,
    [Regime::KassenSichV, Regime::Rksv, Regime::Rt],
    Regime::name,
    "a regime"
);

/// An `Option<Regime>` by name.
mod regime_serde {
    use super::*;

    pub fn serialize<S: serde::Serializer>(r: &Option<Regime>, s: S) -> Result<S::Ok, S::Error> {
        r.map(Regime::name).serialize(s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Regime>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| regime_name::of(&s))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LifecycleState, OperationKind};

    /// Every variant the model has is named, and read back by its name. A variant added to
    /// the model must be added to the lists (the matches below stop compiling otherwise).
    #[test]
    fn names_round_trip() {
        for k in kind_serde::all() {
            let name = k.name();
            assert_eq!(kind_serde::of::<serde_json::Error>(name).unwrap(), *k);
            match k {
                OperationKind::Sale
                | OperationKind::Return
                | OperationKind::Exchange
                | OperationKind::Void
                | OperationKind::CashMovement
                | OperationKind::Deposit
                | OperationKind::DepositCapture
                | OperationKind::Training
                | OperationKind::SessionOpen
                | OperationKind::SessionCashAdjustment
                | OperationKind::SessionCashCount
                | OperationKind::SessionClose => {}
            }
        }
        assert_eq!(kind_serde::all().len(), 12);
        for s in state_serde::all() {
            assert_eq!(state_serde::of::<serde_json::Error>(s.name()).unwrap(), *s);
            match s {
                LifecycleState::Open
                | LifecycleState::Completed
                | LifecycleState::Cancelled
                | LifecycleState::Voided => {}
            }
        }
        assert_eq!(state_serde::all().len(), 4);
        assert_eq!(regime_name::all().len(), 3);
        assert!(kind_serde::of::<serde_json::Error>("refund").is_err());
    }

    #[test]
    fn the_empty_carry_round_trips() {
        let c = Carry::default();
        let bytes = c.to_bytes();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"format":"fiskal validator carry","version":1,"operations":0,"sessions":{},"references":{},"tse":{},"rksv":{},"rt":{}}"#
        );
        assert_eq!(Carry::from_bytes(&bytes).unwrap(), c);
    }

    #[test]
    fn wrong_bytes_say_what_is_wrong() {
        let good: Value = serde_json::from_slice(&Carry::default().to_bytes()).unwrap();
        let spoil = |key: &str, value: Value| {
            let mut v = good.clone();
            v[key] = value;
            serde_json::to_vec(&v).unwrap()
        };
        let cases: Vec<(Vec<u8>, CarryError)> = vec![
            (
                b"[]".to_vec(),
                CarryError::NotCarry(
                    "invalid length 0, expected struct Header with 2 elements at line 1 column 2"
                        .into(),
                ),
            ),
            (
                spoil("format", "fiskal rksv dep7 state".into()),
                CarryError::NotCarry(
                    "\"format\" is \"fiskal rksv dep7 state\", expected \"fiskal validator carry\""
                        .into(),
                ),
            ),
            (spoil("version", 2.into()), CarryError::Version { found: 2 }),
        ];
        for (bytes, want) in cases {
            assert_eq!(Carry::from_bytes(&bytes).unwrap_err(), want);
        }
        let e = Carry::from_bytes(&spoil("extra", 1.into())).unwrap_err();
        assert!(
            matches!(&e, CarryError::Invalid(m) if m.contains("unknown field `extra`")),
            "{e}"
        );
        assert_eq!(
            CarryError::Version { found: 2 }.to_string(),
            "validator carry version 2, but this fiskal reads version 1 only"
        );
    }
}
