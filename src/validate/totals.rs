//! Totals and payments (TOT001–TOT005, PAY001–PAY003): each operation against itself.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::num::{close, mul_round, sum};
use super::{Emit, FirstOf, OpRef};
use crate::model::*;

pub(super) fn check(op: &Operation, emit: &mut Emit) {
    if !op.kind.moves_goods() {
        return;
    }
    let at = OpRef::of(op);
    let tol = emit.config().tolerance.amount;
    match op.shape {
        WireShape::Register => {
            register_lines(op, &at, tol, emit);
            cart_allocations(op, &at, tol, emit);
            if let Some(t) = &op.totals {
                register_totals(op, t, &at, tol, emit);
                breakdown(op, t, &at, tol, emit);
            }
        }
        WireShape::Operations => {
            operations_lines(op, &at, tol, emit);
            if let Some(t) = &op.totals {
                operations_totals(op, t, &at, tol, emit);
            }
        }
    }
    if op.totals.is_none() && op.state == LifecycleState::Completed {
        emit.finding(
            "TOT003",
            &at,
            "a completed operation without totals".into(),
            Some("a totals block".into()),
            Some("none".into()),
        );
    }
    payments(op, &at, tol, emit);
}

/// The sign a line counts with in the operation's totals.
pub(super) fn sign(line: &Line) -> Decimal {
    if line.role == LineRole::Returned && line.quantity > Decimal::ZERO {
        Decimal::NEGATIVE_ONE
    } else {
        Decimal::ONE
    }
}

fn line_name(i: usize, l: &Line) -> String {
    match &l.id {
        Some(id) => format!("line {} ({id})", l.position.unwrap_or(i as u32 + 1)),
        None => format!("line {}", l.position.unwrap_or(i as u32 + 1)),
    }
}

fn register_lines(op: &Operation, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    let dp = op.currency.exponent();
    let mut bad = FirstOf::new();
    for (i, l) in op.lines.iter().enumerate() {
        let name = line_name(i, l);
        let Some(computed) = mul_round(l.quantity, l.unit_price, dp) else {
            continue;
        };
        if let Some(sub) = l.subtotal
            && !close(sub, computed, tol)
        {
            bad.add(
                format!(
                    "{name}: subtotal_gross is not quantity {} × unit price {}",
                    l.quantity, l.unit_price
                ),
                computed,
                sub,
            );
            continue;
        }
        let base = l.subtotal.unwrap_or(computed);
        let (Some(disc), Some(alloc)) = (
            sum(l.discounts.iter().map(|d| d.amount)),
            sum(l.cart_allocations.iter().map(|a| a.amount)),
        ) else {
            continue;
        };
        let want = base - disc - alloc;
        if !close(l.total_gross, want, tol) {
            bad.add(format!("{name}: total_gross is not {base} − line discounts {disc} − cart-discount share {alloc}"), want, l.total_gross);
            continue;
        }
        let Some(tax) = sum(l.taxes.iter().map(|t| t.tax_amount)) else {
            continue;
        };
        if let Some(net) = l.total_net
            && !close(net, l.total_gross - tax, tol)
        {
            bad.add(
                format!(
                    "{name}: total_net is not total_gross {} − tax {tax}",
                    l.total_gross
                ),
                l.total_gross - tax,
                net,
            );
            continue;
        }
        if let [t] = l.taxes.as_slice()
            && let Some(taxable) = t.taxable_amount
            && !close(taxable, l.total_gross - t.tax_amount, tol)
        {
            bad.add(
                format!(
                    "{name}: taxable_amount is not total_gross {} − tax {}",
                    l.total_gross, t.tax_amount
                ),
                l.total_gross - t.tax_amount,
                taxable,
            );
        }
    }
    bad.emit("TOT001", at, emit);
}

fn operations_lines(op: &Operation, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    let dp = op.currency.exponent();
    let mut bad = FirstOf::new();
    for (i, l) in op.lines.iter().enumerate() {
        if let Some(want) = mul_round(l.quantity, l.unit_price, dp)
            && !close(l.total_gross, want, tol)
        {
            bad.add(
                format!(
                    "{}: total_amount is not quantity {} × unit price {}",
                    line_name(i, l),
                    l.quantity,
                    l.unit_price
                ),
                want,
                l.total_gross,
            );
        }
    }
    bad.emit("TOT001", at, emit);
}

fn cart_allocations(op: &Operation, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    let mut bad = FirstOf::new();
    let single = op.cart_discounts.len() == 1;
    for d in &op.cart_discounts {
        let shares = op
            .lines
            .iter()
            .flat_map(|l| &l.cart_allocations)
            .filter(|a| single || (a.discount_id.is_some() && a.discount_id == d.id))
            .map(|a| a.amount);
        let Some(allocated) = sum(shares) else {
            continue;
        };
        if !close(allocated, d.amount, tol) {
            let name =
                d.id.as_deref()
                    .or(d.label.as_deref())
                    .unwrap_or("cart discount");
            bad.add(
                format!(
                    "cart discount {name} of {} is allocated to the lines with {allocated}",
                    d.amount
                ),
                d.amount,
                allocated,
            );
        }
    }
    bad.emit("TOT002", at, emit);
}

fn register_totals(op: &Operation, t: &Totals, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    let signed = |f: &dyn Fn(&Line) -> Option<Decimal>| {
        sum(op
            .lines
            .iter()
            .map(|l| f(l).map(|v| v * sign(l)).unwrap_or_default()))
    };
    let all_subtotals = op.lines.iter().all(|l| l.subtotal.is_some());
    let line_tax = |l: &Line| sum(l.taxes.iter().map(|x| x.tax_amount));
    let mut diffs: Vec<(String, Decimal, Decimal)> = Vec::new();
    let mut compare = |name: &str, stated: Option<Decimal>, lines: Option<Decimal>| {
        if let (Some(s), Some(l)) = (stated, lines)
            && !close(s, l, tol)
        {
            diffs.push((name.to_string(), l, s));
        }
    };
    if all_subtotals {
        compare("subtotal_gross", t.subtotal_gross, signed(&|l| l.subtotal));
    }
    compare(
        "total_line_discounts",
        t.line_discounts,
        signed(&|l| sum(l.discounts.iter().map(|d| d.amount))),
    );
    compare(
        "total_cart_discounts",
        t.cart_discounts,
        signed(&|l| sum(l.cart_allocations.iter().map(|a| a.amount))),
    );
    let rounding = t.rounding_adjustment.unwrap_or_default();
    compare(
        "total_gross",
        Some(t.gross - rounding),
        signed(&|l| Some(l.total_gross)),
    );
    compare("total_tax", Some(t.tax), signed(&line_tax));
    compare(
        "total_net",
        Some(t.net),
        signed(&|l| {
            l.total_net
                .or_else(|| line_tax(l).map(|x| l.total_gross - x))
        }),
    );
    if let Some((first, lines, stated)) = diffs.first() {
        let names: Vec<&str> = diffs.iter().map(|d| d.0.as_str()).collect();
        emit.mismatch(
            "TOT003",
            at,
            format!(
                "{} differ(s) from the sum of the lines ({first}: lines give {lines})",
                names.join(", ")
            ),
            lines,
            stated,
        );
    }
    // TOT004: the block against itself.
    if !close(t.gross, t.net + t.tax, tol) {
        emit.mismatch(
            "TOT004",
            at,
            format!(
                "total_gross is not total_net {} + total_tax {}",
                t.net, t.tax
            ),
            t.net + t.tax,
            t.gross,
        );
    } else if let Some(p) = t.payable
        && !close(p, t.gross, tol)
    {
        emit.mismatch(
            "TOT004",
            at,
            "net_payable is not total_gross".into(),
            t.gross,
            p,
        );
    }
}

fn operations_totals(op: &Operation, t: &Totals, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    let (Some(lines), Some(cart), Some(taxes)) = (
        sum(op.lines.iter().map(|l| l.total_gross)),
        sum(op.cart_discounts.iter().map(|d| d.amount)),
        sum(op.lines.iter().flat_map(|l| &l.taxes).map(|x| x.tax_amount)),
    ) else {
        return;
    };
    let goods = lines - cart;
    if !close(goods, t.net + t.tax, tol) {
        emit.mismatch(
            "TOT003",
            at,
            format!("pretax_amount {} + tax_amount {} is not Σ line totals {lines} − cart discounts {cart}", t.net, t.tax),
            goods,
            t.net + t.tax,
        );
    } else if !close(taxes, t.tax, tol) {
        emit.mismatch(
            "TOT003",
            at,
            "tax_amount is not the sum of the line taxes".into(),
            taxes,
            t.tax,
        );
    }
    let tip = op.tip.unwrap_or_default();
    if !close(t.gross, t.net + t.tax + tip, tol) {
        emit.mismatch(
            "TOT004",
            at,
            format!(
                "total_amount is not pretax {} + tax {} + tip {tip}",
                t.net, t.tax
            ),
            t.net + t.tax + tip,
            t.gross,
        );
    }
}

fn breakdown(op: &Operation, t: &Totals, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    if t.tax_breakdown.is_empty() {
        return;
    }
    // (rate, category) → (net, tax, gross) over the lines.
    let mut lines: BTreeMap<(Decimal, Option<String>), (Decimal, Decimal, Decimal)> =
        BTreeMap::new();
    for l in &op.lines {
        let s = sign(l);
        for x in &l.taxes {
            let net = x
                .taxable_amount
                .or(l.total_net)
                .unwrap_or(l.total_gross - x.tax_amount);
            let e = lines
                .entry((x.rate.normalize(), x.category.clone()))
                .or_default();
            e.0 += net * s;
            e.1 += x.tax_amount * s;
            e.2 += l.total_gross * s;
        }
    }
    let mut bad = FirstOf::new();
    for b in &t.tax_breakdown {
        let key = (b.rate.normalize(), b.category.clone());
        match lines.remove(&key) {
            None => bad.add(
                format!(
                    "tax_breakdown has a row for rate {} that no line has",
                    b.rate
                ),
                "no row",
                format!("tax {}", b.tax),
            ),
            Some((net, tax, gross)) => {
                if !close(net, b.net, tol)
                    || !close(tax, b.tax, tol)
                    || b.gross.is_some_and(|g| !close(g, gross, tol))
                {
                    bad.add(
                        format!(
                            "tax_breakdown row for rate {} differs from its lines",
                            b.rate
                        ),
                        format!("net {net}, tax {tax}, gross {gross}"),
                        format!(
                            "net {}, tax {}, gross {}",
                            b.net,
                            b.tax,
                            b.gross.map_or("-".into(), |g| g.to_string())
                        ),
                    );
                }
            }
        }
    }
    for ((rate, _), (net, tax, _)) in lines {
        if !(net.is_zero() && tax.is_zero()) {
            bad.add(
                format!("lines at rate {rate} have no tax_breakdown row"),
                format!("net {net}, tax {tax}"),
                "no row",
            );
        }
    }
    bad.emit("TOT005", at, emit);
}

fn payments(op: &Operation, at: &OpRef, tol: Decimal, emit: &mut Emit) {
    // PAY002 and PAY003 look at every payment; PAY001 only at completed operations.
    let mut direction = FirstOf::new();
    let mut tendered = FirstOf::new();
    for (i, p) in op.payments.iter().enumerate() {
        let n = i + 1;
        let wrong = match (op.shape, op.kind) {
            (_, OperationKind::Return) => p.direction != Direction::Out,
            (_, OperationKind::Exchange) => {
                (p.amount < Decimal::ZERO && p.direction == Direction::In)
                    || (p.amount > Decimal::ZERO
                        && p.direction == Direction::Out
                        && op.shape == WireShape::Operations)
            }
            _ => p.direction != Direction::In,
        };
        let negative = p.amount < Decimal::ZERO && op.kind != OperationKind::Exchange;
        if wrong || negative {
            let dir = match p.direction {
                Direction::In => "in",
                Direction::Out => "out",
            };
            direction.add(
                format!(
                    "payment {n} of a {} moves {} money {dir}",
                    op.kind.name(),
                    p.amount
                ),
                "the direction of the operation",
                format!("{dir} {}", p.amount),
            );
        }
        if p.method == PaymentMethod::Cash
            && p.foreign_currency.is_none()
            && let Some(t) = p.tendered
            && t < p.amount
        {
            tendered.add(
                format!(
                    "payment {n}: cash tendered {t} is less than the amount {}",
                    p.amount
                ),
                format!("≥ {}", p.amount),
                t,
            );
        }
    }
    direction.emit("PAY002", at, emit);
    tendered.emit("PAY003", at, emit);
    if op.state != LifecycleState::Completed {
        return;
    }
    let Some(t) = &op.totals else { return };
    match op.shape {
        WireShape::Register => {
            let Some(net_in) = sum(op.payments.iter().map(|p| {
                if p.direction == Direction::In {
                    p.amount
                } else {
                    -p.amount
                }
            })) else {
                return;
            };
            let due = t.payable.unwrap_or(t.gross);
            let paid = if op.kind == OperationKind::Return {
                -net_in
            } else {
                net_in
            };
            if !close(paid, due, tol) {
                emit.mismatch(
                    "PAY001",
                    at,
                    format!("payments net of change come to {paid}, the amount due is {due}"),
                    due,
                    paid,
                );
            }
        }
        WireShape::Operations => {
            let Some(paid) = sum(op.payments.iter().map(|p| p.amount)) else {
                return;
            };
            if !close(paid, t.gross, tol) {
                emit.mismatch(
                    "PAY001",
                    at,
                    format!("payments come to {paid}, total_amount is {}", t.gross),
                    t.gross,
                    paid,
                );
            }
        }
    }
}
