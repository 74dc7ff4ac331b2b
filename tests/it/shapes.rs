//! Both API shapes normalise field by field into the canonical model.

use std::path::Path;

use rust_decimal::Decimal;
use std::str::FromStr;

use fiskal::model::*;

use crate::util::read;

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn shape_ops(name: &str) -> Vec<Operation> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/shapes")
        .join(name);
    let r = read(&[&p]);
    assert!(r.rejects.is_empty(), "{:#?}", r.rejects);
    r.ops
}

/// Snapshot with the machine-specific path prefix removed.
fn snapshot_json(ops: &[Operation]) -> serde_json::Value {
    let mut v = serde_json::to_value(ops).unwrap();
    for op in v.as_array_mut().unwrap() {
        let file = op["source"]["file"].as_str().unwrap().to_string();
        let short = file.rsplit("tests/data/").next().unwrap().to_string();
        op["source"]["file"] = short.into();
    }
    v
}

#[test]
fn register_shape_field_by_field() {
    let ops = shape_ops("register.json");
    insta::assert_json_snapshot!("register_shape", snapshot_json(&ops));
    let sale = &ops[0];
    assert_eq!(
        (sale.kind, sale.state, sale.shape),
        (
            OperationKind::Sale,
            LifecycleState::Completed,
            WireShape::Register
        )
    );
    assert_eq!(sale.lines[0].unit_price, dec("18.00"));
    assert_eq!(sale.lines[0].total_gross, dec("29.16"));
    assert_eq!(sale.lines[0].taxes[0].tax_amount, dec("4.66"));
    assert_eq!(sale.lines[0].discounts[0].amount, dec("3.60"));
    assert_eq!(sale.lines[0].cart_allocations[0].amount, dec("3.24"));
    assert_eq!(sale.lines[1].kind, LineKind::Tip);
    assert_eq!(sale.tip, Some(dec("1.00")));
    let chf = &sale.payments[1];
    assert_eq!(chf.foreign_currency.unwrap().code(), "CHF");
    assert_eq!(
        (chf.amount, chf.tendered, chf.change),
        (dec("10.16"), Some(dec("10.00")), None)
    );
    assert_eq!(sale.payments[0].change, Some(dec("30.00")));
    let totals = sale.totals.as_ref().unwrap();
    assert_eq!(
        (totals.gross, totals.net, totals.tax),
        (dec("30.16"), dec("25.50"), dec("4.66"))
    );
    match sale.fiscal.as_ref().unwrap() {
        Fiscal::KassenSichV(t) => {
            assert_eq!(sale.fiscal_state, Some(FiscalState::Succeeded));
            assert_eq!(
                t.finish.as_ref().unwrap().process_type.as_deref(),
                Some("Kassenbeleg-V1")
            );
            assert_eq!(t.start.as_ref().unwrap().transaction_counter, Some(4821));
        }
        other => panic!("expected KassenSichV, got {other:?}"),
    }
    let exchange = &ops[1];
    assert_eq!(
        exchange.lines.iter().map(|l| l.role).collect::<Vec<_>>(),
        [LineRole::Returned, LineRole::Sold]
    );
    assert_eq!(
        exchange.references.original_operation_id.as_deref(),
        Some("op_reg_sale_1")
    );
    assert_eq!(ops[2].kind, OperationKind::Void);
    assert_eq!(
        ops[3].cash,
        Some(CashEvent::Movement {
            amount: dec("-500.00"),
            reason: Some("bank_deposit".into())
        })
    );
    assert_eq!(ops[4].regime(), Some(Regime::Rksv));
    match ops[5].fiscal.as_ref().unwrap() {
        Fiscal::Rt(rt) => assert_eq!(
            (rt.daily_closing_number, rt.progressive_number),
            (Some(2), Some(3))
        ),
        other => panic!("expected RT, got {other:?}"),
    }
    assert_eq!(ops[5].lines[0].quantity, dec("0.5"));
    assert_eq!(
        ops[5].timestamps.created.unwrap().source_offset_seconds(),
        3600
    );
}

#[test]
fn operations_shape_field_by_field() {
    let ops = shape_ops("operations.ndjson");
    insta::assert_json_snapshot!("operations_shape", snapshot_json(&ops));
    assert_eq!(
        ops[0].cash,
        Some(CashEvent::Open {
            opening_balance: dec("150.00")
        })
    );
    let sale = &ops[1];
    assert_eq!(sale.shape, WireShape::Operations);
    assert_eq!(sale.tip, Some(dec("0.50")));
    assert_eq!(sale.lines[1].kind, LineKind::GiftCard);
    assert_eq!(sale.cart_discounts[0].amount, dec("0.50"));
    let t = sale.totals.as_ref().unwrap();
    assert_eq!(
        (t.gross, t.net, t.tax),
        (dec("10.45"), dec("9.00"), dec("0.95"))
    );
    assert_eq!(
        sale.timestamps.completed.unwrap().source_offset_seconds(),
        3600
    );
    assert_eq!(
        sale.timestamps.completed.unwrap().utc().to_rfc3339(),
        "2026-03-02T08:16:00+00:00"
    );
    match sale.fiscal.as_ref().unwrap() {
        Fiscal::KassenSichV(t) => {
            assert_eq!(t.client_id.as_deref(), Some("Kasse2"));
            assert_eq!(
                t.finish.as_ref().unwrap().public_key.as_deref(),
                Some("BAAA")
            );
        }
        other => panic!("expected KassenSichV, got {other:?}"),
    }
    assert_eq!(
        ops[3].cash,
        Some(CashEvent::Count {
            counted: dec("129.50"),
            expected: Some(dec("130.00")),
            difference: Some(dec("-0.50"))
        })
    );
    assert_eq!(
        ops[4].cash,
        Some(CashEvent::Close {
            business_date: chrono::NaiveDate::from_ymd_opt(2026, 3, 2),
            adjustment: Some(dec("-50.00"))
        })
    );
    let ret = &ops[5];
    assert_eq!(ret.kind, OperationKind::Return);
    assert_eq!(ret.payments[0].direction, Direction::Out);
    assert_eq!(
        ret.references.external_operation_id.as_deref(),
        Some("shopify-4711")
    );
    match ret.fiscal.as_ref().unwrap() {
        Fiscal::Rksv(r) => assert_eq!(r.turnover_counter, Some(dec("-10.00"))),
        other => panic!("expected RKSV, got {other:?}"),
    }
    let ex = &ops[6];
    assert_eq!(ex.state, LifecycleState::Voided);
    assert_eq!(ex.references.reason.as_deref(), Some("operator error"));
    assert_eq!(ex.lines[0].role, LineRole::Returned);
    assert_eq!(ops[7].channel, Channel::Online);
    assert_eq!(ops[7].register_id, None);
}
