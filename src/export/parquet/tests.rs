use std::fs::File;
use std::path::Path;
use std::str::FromStr;

use polars::prelude::*;
use rust_decimal::Decimal;

use super::*;
use crate::model::*;

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

fn read(path: &Path) -> DataFrame {
    ParquetReader::new(File::open(path).unwrap())
        .finish()
        .unwrap()
}

fn row_groups(path: &Path) -> usize {
    ParquetReader::new(File::open(path).unwrap())
        .get_metadata()
        .unwrap()
        .row_groups
        .len()
}

fn dec_at(df: &DataFrame, col: &str, i: usize) -> Option<Decimal> {
    match df.column(col).unwrap().get(i).unwrap() {
        AnyValue::Decimal(v, _, s) => Some(
            Decimal::try_from_i128_with_scale(v, s as u32)
                .unwrap()
                .normalize(),
        ),
        AnyValue::Null => None,
        other => panic!("{col}: {other:?}"),
    }
}

fn str_at(df: &DataFrame, col: &str, i: usize) -> Option<String> {
    match df.column(col).unwrap().get(i).unwrap() {
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        AnyValue::Null => None,
        other => panic!("{col}: {other:?}"),
    }
}

/// A completed sale with one line of `qty` × `price` at 19 % and one card payment.
fn sale(id: &str, qty: &str, price: &str) -> Operation {
    let mut op = Operation::bare(id, OperationKind::Sale);
    let gross = d(qty) * d(price);
    op.register_id = Some("reg_1".into());
    op.timestamps.completed = Timestamp::parse("2026-03-02T09:15:00.5+01:00");
    op.lines.push(Line {
        id: Some(format!("{id}_l0")),
        position: Some(1),
        kind: LineKind::Item,
        role: LineRole::Sold,
        description: "Brot".into(),
        sku: None,
        gift_card_id: None,
        quantity: d(qty),
        unit: Some("kg".into()),
        unit_price: d(price),
        subtotal: None,
        discounts: Vec::new(),
        cart_allocations: Vec::new(),
        total_gross: gross,
        total_net: None,
        taxes: vec![LineTax {
            name: None,
            rate: d("0.19"),
            category: None,
            taxable_amount: None,
            tax_amount: d("0.01"),
        }],
    });
    op.payments.push(Payment::new(
        PaymentMethod::Other("bank_transfer".into()),
        Direction::In,
        gross,
    ));
    op.totals = Some(Totals {
        gross,
        net: gross,
        tax: Decimal::ZERO,
        ..Totals::default()
    });
    op
}

#[test]
fn tables_read_back_exactly_one_row_group_per_batch() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::with_batch_rows(dir.path(), 2).unwrap();
    for i in 0..5 {
        w.push_operation(&sale(&format!("op_{i}"), "1.005", &format!("{i}.99")))
            .unwrap();
    }
    let files = w.finish().unwrap();
    let rows: Vec<(&str, u64)> = files.iter().map(|f| (f.table, f.rows)).collect();
    assert_eq!(
        rows,
        [
            ("operations", 5),
            ("lines", 5),
            ("payments", 5),
            ("sessions", 0),
            ("findings", 0)
        ]
    );
    let ops = dir.path().join("operations.parquet");
    assert_eq!(row_groups(&ops), 3);
    let df = read(&ops);
    assert_eq!(df.height(), 5);
    assert_eq!(
        df.column("total_gross").unwrap().dtype(),
        &DataType::Decimal(38, 9)
    );
    assert_eq!(
        df.column("completed_at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    assert_eq!(str_at(&df, "operation_id", 3).as_deref(), Some("op_3"));
    // 1.005 × 3.99, to the last digit.
    assert_eq!(dec_at(&df, "total_gross", 3), Some(d("4.00995")));
    assert_eq!(dec_at(&df, "tip", 3), None);
    match df.column("completed_at").unwrap().get(0).unwrap() {
        AnyValue::Datetime(us, TimeUnit::Microseconds, _) => {
            assert_eq!(us, 1_772_439_300_500_000)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        df.column("completed_at_offset_s").unwrap().get(0).unwrap(),
        AnyValue::Int32(3600)
    );
    let lines = read(&dir.path().join("lines.parquet"));
    assert_eq!(dec_at(&lines, "quantity", 0), Some(d("1.005")));
    assert_eq!(dec_at(&lines, "vat_rate", 0), Some(d("0.19")));
    assert_eq!(str_at(&lines, "unit", 0).as_deref(), Some("kg"));
    let payments = read(&dir.path().join("payments.parquet"));
    assert_eq!(
        str_at(&payments, "method", 4).as_deref(),
        Some("bank_transfer")
    );
    let sessions = read(&dir.path().join("sessions.parquet"));
    assert_eq!(sessions.height(), 0);
    assert_eq!(
        sessions
            .get_column_names()
            .iter()
            .map(|n| n.as_str())
            .collect::<Vec<_>>(),
        SESSIONS_COLUMNS
    );
}

const SESSIONS_COLUMNS: &[&str] = &[
    "register_id",
    "session_id",
    "currency",
    "opened_at",
    "opened_at_offset_s",
    "counted_at",
    "counted_at_offset_s",
    "closed_at",
    "closed_at_offset_s",
    "business_date",
    "opening",
    "cash_in",
    "cash_out",
    "adjustments",
    "expected",
    "expected_stated",
    "counted",
    "difference",
    "explained",
    "status",
];

#[test]
fn a_value_finer_than_the_scale_is_refused_and_no_file_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path()).unwrap();
    w.push_operation(&sale("op_ok", "1", "2.50")).unwrap();
    let mut op = sale("op_fine", "1", "0.12");
    op.lines[0].unit_price = d("0.1234567891");
    let err = w.push_operation(&op).unwrap_err();
    assert_eq!(
        err.to_string(),
        "operation op_fine, line 0: unit_price = 0.1234567891 has 10 fraction digits; the \
         Parquet column holds 9 (decimal128(38, 9)), and a value is never rounded"
    );
    drop(w);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_sub_microsecond_instant_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::create(dir.path()).unwrap();
    let mut op = sale("op_ns", "1", "1");
    op.timestamps.created = Timestamp::parse("2026-03-02T09:15:00.000000001Z");
    let err = w.push_operation(&op).unwrap_err().to_string();
    assert!(err.starts_with("operation op_ns: created_at = "), "{err}");
}

#[test]
fn the_same_rows_give_the_same_bytes() {
    let write = || {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Writer::with_batch_rows(dir.path(), 3).unwrap();
        for i in 0..7 {
            w.push_operation(&sale(&format!("op_{i}"), "2", "1.10"))
                .unwrap();
        }
        w.finish().unwrap();
        let bytes: Vec<Vec<u8>> = TABLES
            .iter()
            .map(|(t, _)| std::fs::read(dir.path().join(format!("{t}.parquet"))).unwrap())
            .collect();
        bytes
    };
    assert_eq!(write(), write());
}

/// docs/parquet.md has a row `| `column` | type |` for every column, in each table's
/// section, and no column the code does not write.
#[test]
fn docs_list_every_column_with_its_type() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/parquet.md")).unwrap();
    for (table, cols) in TABLES {
        let head = format!("### `{table}.parquet`");
        let start = doc.find(&head).unwrap_or_else(|| panic!("no {head}"));
        let section = &doc[start + head.len()..];
        let section = &section[..section.find("\n#").unwrap_or(section.len())];
        let mut want = Vec::new();
        for c in *cols {
            if c.ty == Type::Timestamp {
                want.push(format!("| `{}` | {} |", c.name, c.ty.name()));
                want.push(format!("| `{}` | int32 |", offset_name(c.name)));
            } else {
                want.push(format!("| `{}` | {} |", c.name, c.ty.name()));
            }
        }
        let got: Vec<String> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.splitn(4, " |").take(2).collect::<Vec<_>>().join(" |") + " |")
            .collect();
        assert_eq!(got, want, "docs/parquet.md, {table}");
    }
}
