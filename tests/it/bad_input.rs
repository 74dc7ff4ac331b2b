//! Each class of bad input gives a clear rejection naming file, record, field, expected and
//! found; the records around it are still read.

use fiskal::ingest::RejectClass;

use crate::util::{Workdir, ops_sale, read, reg_sale};

/// Reads `good, bad, good` as NDJSON and returns the single rejection of line 2.
fn reject_of(bad: &str) -> fiskal::ingest::Reject {
    let w = Workdir::new();
    let p = w.write(
        "in.ndjson",
        format!("{}\n{bad}\n{}\n", reg_sale("ok1"), ops_sale("ok2")),
    );
    let r = read(&[&p]);
    assert_eq!(
        r.ids(),
        ["ok1", "ok2"],
        "the good records around the bad one are read"
    );
    let rej = r.only_reject().clone();
    assert_eq!(rej.location.line, Some(2));
    assert_eq!(rej.location.file.as_ref(), p.display().to_string());
    rej
}

fn edit(json: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    f(&mut v);
    serde_json::to_string(&v).unwrap()
}

#[test]
fn truncated_ndjson_line() {
    let line = reg_sale("t1");
    let r = reject_of(&line[..line.len() / 2]);
    assert_eq!(r.class, RejectClass::MalformedJson);
    assert!(
        r.message.starts_with("malformed JSON: EOF while parsing"),
        "{}",
        r.message
    );
}

#[test]
fn truncated_json_array_stops_that_file_only() {
    let w = Workdir::new();
    let line = reg_sale("t3");
    let p = w.write("cut.json", format!("[{},\n{}", reg_sale("t2"), &line[..40]));
    let q = w.write("next.ndjson", reg_sale("t4"));
    let r = read(&[&p, &q]);
    assert_eq!(r.ids(), ["t2", "t4"]);
    let rej = r.only_reject();
    assert_eq!(rej.class, RejectClass::MalformedJson);
    assert_eq!(rej.location.index, Some(1));
    assert!(rej.message.contains("at line 2 column"), "{}", rej.message);
    assert!(
        rej.message.contains("the rest of this file cannot be read"),
        "{}",
        rej.message
    );
}

#[test]
fn wrong_type_names_field_expected_and_found() {
    let bad = edit(&reg_sale("w1"), |v| {
        v["data"]["line_items"][0]["unit_price_gross"] = "250".into()
    });
    let r = reject_of(&bad);
    assert_eq!(r.class, RejectClass::WrongType);
    assert_eq!(r.field, "/data/line_items/0/unit_price_gross");
    assert_eq!(r.found.as_deref(), Some("string \"250\""));
    assert_eq!(
        r.expected.as_deref(),
        Some("an integer amount in minor units")
    );
    assert_eq!(r.record_id.as_deref(), Some("w1"));
    assert!(r.to_string().ends_with(
        ":2 /data/line_items/0/unit_price_gross: expected an integer amount in minor units, found string \"250\""
    ), "{r}");
}

#[test]
fn fractional_minor_units_are_wrong_type() {
    let bad = edit(&reg_sale("w2"), |v| {
        v["data"]["totals"]["total_gross"] = serde_json::json!(250.5)
    });
    let r = reject_of(&bad);
    assert_eq!(r.class, RejectClass::WrongType);
    assert_eq!(r.field, "/data/totals/total_gross");
}

#[test]
fn unknown_operation_type() {
    let r = reject_of(&edit(&reg_sale("u1"), |v| v["type"] = "layaway".into()));
    assert_eq!(r.class, RejectClass::UnknownValue);
    assert_eq!(r.field, "/type");
    assert_eq!(r.found.as_deref(), Some("`layaway`"));
    assert!(
        r.expected.as_deref().unwrap().contains("`sale`"),
        "{:?}",
        r.expected
    );
    let r = reject_of(&edit(&ops_sale("u2"), |v| v["type"] = "refund".into()));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::UnknownValue, "/type")
    );
}

#[test]
fn missing_required_fields() {
    let r = reject_of(&edit(&reg_sale("m1"), |v| {
        v.as_object_mut().unwrap().remove("id");
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::MissingField, "/id")
    );
    let r = reject_of(&edit(&ops_sale("m2"), |v| {
        v.as_object_mut().unwrap().remove("total_amount");
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::MissingField, "/total_amount")
    );
    let r = reject_of(&edit(&reg_sale("m3"), |v| {
        v["data"].as_object_mut().unwrap().remove("currency");
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::MissingField, "/data/currency")
    );
    let r = reject_of(&edit(&ops_sale("m4"), |v| {
        v["line_items"][0].as_object_mut().unwrap().remove("taxes");
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::MissingField, "/line_items/0/taxes")
    );
}

#[test]
fn invalid_decimal_strings() {
    for bad in ["9,95", "1e3", " 2.34", "two"] {
        let r = reject_of(&edit(&ops_sale("d1"), |v| v["pretax_amount"] = bad.into()));
        assert_eq!(r.class, RejectClass::InvalidDecimal, "{bad}");
        assert_eq!(r.field, "/pretax_amount");
        assert_eq!(r.found.as_deref(), Some(format!("{bad:?}").as_str()));
        assert_eq!(
            r.message,
            format!("expected a decimal string like \"9.95\", found {bad:?}")
        );
    }
    let r = reject_of(&edit(&ops_sale("d2"), |v| {
        v["pretax_amount"] = serde_json::json!(2.34)
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::WrongType, "/pretax_amount")
    );
}

#[test]
fn amounts_that_overflow() {
    let big = r#"{"id":"o1","object":"operation","type":"cash_movement","state":"completed","register_id":"r","data":{"currency":"EUR","amount":99999999999999999999}}"#;
    let r = reject_of(big);
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::Overflow, "/data/amount")
    );
    let r = reject_of(&edit(&ops_sale("o2"), |v| {
        v["total_amount"] = "99999999999999999999999999999999".into()
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::Overflow, "/total_amount")
    );
}

#[test]
fn mixed_currencies() {
    let r = reject_of(&edit(&ops_sale("c1"), |v| {
        v["payments"][0]["method"] = "card".into();
        v["payments"][0]["currency"] = "USD".into();
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::MixedCurrency, "/payments/0/currency")
    );
    assert!(
        r.message
            .contains("card payment in USD, operation currency EUR"),
        "{}",
        r.message
    );
    // Foreign cash is legitimate and read.
    let w = Workdir::new();
    let ok = edit(&ops_sale("c2"), |v| {
        v["payments"][0]["currency"] = "CHF".into()
    });
    let rr = read(&[&w.write("ok.ndjson", ok)]);
    assert_eq!(
        rr.ops[0].payments[0]
            .foreign_currency
            .map(|c| c.to_string())
            .as_deref(),
        Some("CHF")
    );
}

#[test]
fn unknown_currency_code() {
    let r = reject_of(&edit(&ops_sale("k1"), |v| v["currency"] = "EURO".into()));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::InvalidValue, "/currency")
    );
    assert!(
        r.message.contains("not an ISO 4217 currency code"),
        "{}",
        r.message
    );
}

#[test]
fn invalid_timestamp() {
    let r = reject_of(&edit(&ops_sale("ts"), |v| {
        v["created_at"] = "yesterday".into()
    }));
    assert_eq!(
        (r.class, r.field.as_str()),
        (RejectClass::InvalidValue, "/created_at")
    );
    assert_eq!(r.found.as_deref(), Some("string \"yesterday\""));
}

#[test]
fn duplicate_ids_point_at_the_first_occurrence() {
    let w = Workdir::new();
    let a = w.write(
        "a.ndjson",
        format!("{}\n{}\n", reg_sale("x0"), reg_sale("dup")),
    );
    let b = w.write("b.ndjson", ops_sale("dup"));
    let r = read(&[&a, &b]);
    assert_eq!(r.ids(), ["x0", "dup"]);
    let rej = r.only_reject();
    assert_eq!(rej.class, RejectClass::DuplicateId);
    assert_eq!(rej.location.file.as_ref(), b.display().to_string());
    assert_eq!(
        rej.message,
        format!("duplicate id dup, first read at {}:2", a.display())
    );
}

#[test]
fn records_of_no_known_shape() {
    let r = reject_of(r#"{"id":"s1","type":"sale"}"#);
    assert_eq!(r.class, RejectClass::UnknownShape);
    assert_eq!(r.record_id.as_deref(), Some("s1"));
    let r = reject_of("42");
    assert_eq!(r.class, RejectClass::WrongType);
}

#[test]
fn unreadable_inputs_are_reported_and_the_rest_is_read() {
    let w = Workdir::new();
    let good = w.write("good.ndjson", reg_sale("r1"));
    let missing = w.path("missing.ndjson");
    let broken_zip = w.write("broken.zip", b"PK\x03\x04garbage");
    let r = read(&[&missing, &good, &broken_zip]);
    assert_eq!(r.ids(), ["r1"]);
    assert_eq!(r.rejects.len(), 2);
    assert!(r.rejects.iter().all(|x| x.class == RejectClass::Unreadable));
    let only_missing = fiskal::ingest::read(&[missing], &mut |_| {});
    assert!(matches!(
        only_missing,
        Err(fiskal::ingest::Error::NothingRead(_))
    ));
}

#[test]
fn duplicate_inside_a_list_page_points_at_the_page_element() {
    let w = Workdir::new();
    let page = format!(
        r#"{{"object":"list","data":[{},{}],"cursor":null}}"#,
        reg_sale("p0"),
        reg_sale("p1")
    );
    let p = w.write("pages.ndjson", format!("{page}\n{}\n", reg_sale("p1")));
    let r = read(&[&p]);
    assert_eq!(r.ids(), ["p0", "p1"]);
    let rej = r.only_reject();
    assert_eq!(rej.class, RejectClass::DuplicateId);
    assert_eq!(rej.location.line, Some(2));
    assert_eq!(
        rej.message,
        format!("duplicate id p1, first read at {}:1 /data/1", p.display())
    );
}
