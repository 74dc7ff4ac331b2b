//! Validation: the checks an auditor runs first, over the canonical operation stream.
//!
//! [`Validator::push`] takes operations one at a time, in input order, and runs the rules that
//! need only the operation (totals, VAT, lifecycle) at once; rules that need the neighbours
//! (sequences, sessions, references) keep a compact per-register state and report in
//! [`Validator::finish`]. Every rule is an entry of [`catalog::RULES`]. A run over one night's
//! operations can hand on what the next night needs ([`Validator::finish_carry`],
//! [`Validator::resume`], [`Carry`]; the `carry` module says what each stage keeps).
//! **Invariant:** bad data never returns `Err`; it becomes a [`Finding`], and all findings are
//! found in one run.

pub(crate) mod carry;
pub mod catalog;
pub mod config;
mod lifecycle;
mod num;
mod references;
pub(crate) mod sequence;
mod session;
mod totals;
mod vat;

use std::collections::BTreeMap;

pub use carry::{Carry, CarryError};
pub use config::Config;
pub use session::{Reconciliation, SessionStatus};

use crate::model::masterdata::MasterData;
use crate::model::{Finding, Operation, Regime, SourceLoc};
use crate::regime::kassensichv::check::TseCheck;
use crate::regime::rksv::check::RksvCheck;
use crate::regime::rt::check::RtCheck;

/// Enough of an operation to report a finding about it later.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct OpRef {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<String>,
    #[serde(with = "carry::loc_serde")]
    pub location: SourceLoc,
}

impl OpRef {
    pub fn of(op: &Operation) -> OpRef {
        OpRef {
            id: op.id.clone(),
            register: op.register_id.clone(),
            location: op.source.clone(),
        }
    }
}

/// Emits findings with the configured severity, dropping those of disabled rules.
pub(crate) struct Emit<'a> {
    config: &'a Config,
    sink: &'a mut dyn FnMut(Finding),
}

impl Emit<'_> {
    pub fn finding(
        &mut self,
        code: &'static str,
        op: &OpRef,
        message: String,
        expected: Option<String>,
        found: Option<String>,
    ) {
        debug_assert!(
            catalog::rule(code).is_some(),
            "{code} is not in the catalog"
        );
        if let Some(severity) = self.config.severity(code) {
            (self.sink)(Finding {
                code,
                severity,
                operation_id: Some(op.id.clone()),
                register_id: op.register.clone(),
                location: Some(op.location.clone()),
                message,
                expected,
                found,
            });
        }
    }

    /// A finding about `op` with expected and found values.
    pub fn mismatch(
        &mut self,
        code: &'static str,
        op: &OpRef,
        message: String,
        expected: impl ToString,
        found: impl ToString,
    ) {
        self.finding(
            code,
            op,
            message,
            Some(expected.to_string()),
            Some(found.to_string()),
        );
    }

    pub fn config(&self) -> &Config {
        self.config
    }
}

/// Reports the first problem of a rule on an operation, and how many there were.
pub(crate) struct FirstOf {
    n: usize,
    first: Option<(String, String, String)>,
}

impl FirstOf {
    pub fn new() -> FirstOf {
        FirstOf { n: 0, first: None }
    }
    pub fn add(&mut self, message: String, expected: impl ToString, found: impl ToString) {
        self.n += 1;
        if self.first.is_none() {
            self.first = Some((message, expected.to_string(), found.to_string()));
        }
    }
    pub fn emit(self, code: &'static str, at: &OpRef, emit: &mut Emit) {
        if let Some((m, e, f)) = self.first {
            let m = if self.n > 1 {
                format!("{m} (and {} more)", self.n - 1)
            } else {
                m
            };
            emit.mismatch(code, at, m, e, f);
        }
    }
}

/// Per-register state of the stream.
#[derive(Default)]
pub(crate) struct RegisterState {
    /// The regime the register's fiscal blocks name.
    pub regime: Option<Regime>,
    pub sequence: sequence::RegisterSequence,
    pub unsigned: Vec<OpRef>,
}

/// The validation engine.
pub struct Validator {
    config: Config,
    registers: BTreeMap<String, RegisterState>,
    sessions: session::Sessions,
    devices: sequence::Devices,
    references: references::References,
    tse: TseCheck,
    rksv: RksvCheck,
    rt: RtCheck,
    ops: sequence::OpLog,
    n_ops: u64,
}

impl Validator {
    /// A validator with this configuration and no master data.
    pub fn new(config: Config) -> Validator {
        Validator::with_master_data(config, None)
    }

    /// A validator with this configuration; the master data supplies what older API shapes
    /// leave out of the fiscal blocks (TSE keys, algorithms, time formats).
    pub fn with_master_data(config: Config, md: Option<&MasterData>) -> Validator {
        let verify = !config.skip_signatures;
        Validator {
            config,
            registers: BTreeMap::new(),
            sessions: session::Sessions::default(),
            devices: sequence::Devices::default(),
            references: references::References::default(),
            tse: TseCheck::new(md, verify),
            rksv: RksvCheck::new(md, verify),
            rt: RtCheck::new(),
            ops: sequence::OpLog::default(),
            n_ops: 0,
        }
    }

    /// Checks one operation; findings that need only this operation are emitted at once.
    pub fn push(&mut self, op: &Operation, sink: &mut dyn FnMut(Finding)) {
        let mut emit = Emit {
            config: &self.config,
            sink,
        };
        let index = self.n_ops;
        self.n_ops += 1;
        let reg = self
            .registers
            .entry(op.register_id.clone().unwrap_or_default())
            .or_default();
        if reg.regime.is_none() {
            reg.regime = op.regime();
        }
        let regime = op.regime().or(reg.regime);
        totals::check(op, &mut emit);
        vat::check(op, regime, &mut emit);
        lifecycle::check(op, reg, &mut emit);
        reg.sequence.push(op, index, &mut self.ops, &mut emit);
        self.devices.push(op, &mut emit);
        self.sessions.push(op, &mut emit);
        self.references.push(op);
        self.tse.push(op, &mut emit);
        self.rksv.push(op, &mut emit);
        self.rt.push(op, &mut emit);
    }

    /// Whether an operation with this id was validated before, in this run or (resumed) an
    /// earlier one.
    pub fn audited_before(&self, id: &str) -> bool {
        self.references.contains(id)
    }

    /// The cash reconciliation of every register session seen so far (before `finish`, which
    /// consumes them).
    pub fn reconciliations(&mut self) -> Vec<Reconciliation> {
        self.sessions.reconciliations()
    }

    /// Runs the rules that need the whole stream and emits their findings.
    pub fn finish(mut self, sink: &mut dyn FnMut(Finding)) {
        let mut emit = Emit {
            config: &self.config,
            sink,
        };
        for (register, reg) in self.registers {
            reg.sequence.finish(&register, &mut self.ops, &mut emit);
            if reg.regime.is_some() {
                for op in &reg.unsigned {
                    lifecycle::unsigned(op, reg.regime, &mut emit);
                }
            }
        }
        self.sessions.finish(&mut emit);
        // The RT stage asks the reference index whether an original is in the input at all.
        self.rt
            .finish(&|id| self.references.contains(id), &mut emit);
        self.references.finish(&mut emit);
        self.tse.finish(&mut emit);
        self.rksv.finish(&mut emit);
    }
}

/// Validates a whole slice of operations (tests, small inputs).
pub fn validate_all(ops: &[Operation], config: Config) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut v = Validator::new(config);
    for op in ops {
        v.push(op, &mut |f| findings.push(f));
    }
    v.finish(&mut |f| findings.push(f));
    findings
}
