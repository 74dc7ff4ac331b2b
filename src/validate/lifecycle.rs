//! Lifecycle and fiscal state (LIF001, LIF002).

use super::{Emit, OpRef, RegisterState};
use crate::model::*;

/// Kinds that a fiscal device must record when completed (training is exempt everywhere).
fn must_be_fiscalised(kind: OperationKind) -> bool {
    matches!(
        kind,
        OperationKind::Sale
            | OperationKind::Return
            | OperationKind::Exchange
            | OperationKind::Void
            | OperationKind::Deposit
            | OperationKind::DepositCapture
    )
}

pub(super) fn check(op: &Operation, reg: &mut RegisterState, emit: &mut Emit) {
    let at = OpRef::of(op);
    if op.state == LifecycleState::Open {
        emit.finding(
            "LIF001",
            &at,
            format!("{} is still open", op.kind.name()),
            Some("completed or cancelled".into()),
            Some("open".into()),
        );
    }
    if op.state != LifecycleState::Completed || !must_be_fiscalised(op.kind) {
        return;
    }
    match op.fiscal_state {
        Some(s @ (FiscalState::Pending | FiscalState::Failed)) => {
            let name = if s == FiscalState::Pending {
                "pending"
            } else {
                "failed"
            };
            emit.mismatch(
                "LIF002",
                &at,
                format!("completed {} whose fiscalisation is {name}", op.kind.name()),
                "succeeded",
                name,
            );
        }
        _ if op.fiscal.is_none() => reg.unsigned.push(at),
        _ => {}
    }
}

/// Reported at the end, once the register's regime is known from its other operations.
pub(super) fn unsigned(at: &OpRef, regime: Option<Regime>, emit: &mut Emit) {
    let regime = regime.map_or("fiscal", Regime::name);
    emit.mismatch(
        "LIF002",
        at,
        format!("completed operation without fiscal block on a {regime} register"),
        "a fiscal block",
        "none",
    );
}
