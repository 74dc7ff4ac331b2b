//! Every container format reads the same records, with locations that point back to them.

use crate::util::{Workdir, ops_sale, read, reg_sale};

fn ndjson(ids: &[&str]) -> String {
    ids.iter().map(|id| reg_sale(id) + "\n").collect()
}

#[test]
fn ndjson_reports_line_numbers_and_skips_blank_lines() {
    let w = Workdir::new();
    let p = w.write(
        "a.ndjson",
        format!("\n{}\n\n{}\n", reg_sale("a1"), ops_sale("a2")),
    );
    let r = read(&[&p]);
    assert_eq!(r.ids(), ["a1", "a2"]);
    assert_eq!(r.ops[0].source.line, Some(2));
    assert_eq!(r.ops[1].source.line, Some(4));
    assert!(r.rejects.is_empty());
}

#[test]
fn json_array_is_read_element_by_element_with_indexes() {
    let w = Workdir::new();
    let p = w.write(
        "a.json",
        format!("[\n{},\n  {}\n]\n", reg_sale("b1"), ops_sale("b2")),
    );
    let r = read(&[&p]);
    assert_eq!(r.ids(), ["b1", "b2"]);
    assert_eq!(r.ops[1].source.index, Some(1));
    assert_eq!(r.ops[1].source.to_string(), format!("{}[#1]", p.display()));
}

#[test]
fn single_pretty_printed_operation() {
    let w = Workdir::new();
    let v: serde_json::Value = serde_json::from_str(&ops_sale("c1")).unwrap();
    let p = w.write("one.json", serde_json::to_string_pretty(&v).unwrap());
    let r = read(&[&p]);
    assert_eq!(r.ids(), ["c1"]);
    assert_eq!(r.ops[0].source.index, Some(0));
}

#[test]
fn list_pages_expand_their_data_with_pointers() {
    let w = Workdir::new();
    let page = format!(
        r#"{{"object":"list","data":[{},{}],"cursor":"abc"}}"#,
        reg_sale("d1"),
        reg_sale("d2")
    );
    let page2 = format!(
        r#"{{"object":"list","data":[{}],"cursor":null}}"#,
        reg_sale("d3")
    );
    // Pages as NDJSON lines, and a JSON array of pages.
    let p1 = w.write("pages.ndjson", format!("{page}\n{page2}\n"));
    let r = read(&[&p1]);
    assert_eq!(r.ids(), ["d1", "d2", "d3"]);
    assert_eq!(r.ops[1].source.pointer, "/data/1");
    assert_eq!(r.ops[2].source.line, Some(2));
    let w2 = Workdir::new();
    let p2 = w2.write("pages.json", format!("[{page},{page2}]"));
    let r = read(&[&p2]);
    assert_eq!(r.ids(), ["d1", "d2", "d3"]);
    assert_eq!(
        (r.ops[2].source.index, r.ops[2].source.pointer.as_str()),
        (Some(1), "/data/0")
    );
}

#[test]
fn gzip_is_detected_by_magic_bytes_not_name() {
    let w = Workdir::new();
    let p = w.write_gz("dump.ndjson.gz", ndjson(&["e1", "e2"]));
    let q = w.write_gz("noext.json", format!("[{}]", reg_sale("e3")));
    let r = read(&[&p, &q]);
    assert_eq!(r.ids(), ["e1", "e2", "e3"]);
    assert_eq!(r.ops[1].source.line, Some(2));
}

#[test]
fn zip_entries_are_read_in_name_order_including_gzip_entries() {
    let w = Workdir::new();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, ndjson(&["f3"]).as_bytes()).unwrap();
    let p = w.write_zip(
        "dump.zip",
        &[
            ("b/second.ndjson", ndjson(&["f2"]).into_bytes()),
            ("a/first.json", format!("[{}]", reg_sale("f1")).into_bytes()),
            ("c/third.ndjson.gz", gz.finish().unwrap()),
            ("_meta.json", b"not operations".to_vec()),
        ],
    );
    let r = read(&[&p]);
    assert_eq!(r.ids(), ["f1", "f2", "f3"]);
    assert_eq!(
        r.ops[1].source.to_string(),
        format!("{}!b/second.ndjson:1", p.display())
    );
    assert!(r.rejects.is_empty(), "{:?}", r.rejects);
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let w = Workdir::new();
    w.write("d/z.ndjson", ndjson(&["g3"]));
    w.write("d/a/b.json", format!("[{}]", reg_sale("g1")));
    w.write("d/m.jsonl", ndjson(&["g2"]));
    w.write("d/notes.txt", "ignored");
    w.write("d/.hidden.json", "ignored");
    // A fetch in progress beside its dump: its resume point is no operation data.
    w.write(
        "d/night.ndjson.checkpoint.json",
        r#"{"format":"checkpoint"}"#,
    );
    w.write("d/masterdata.toml", "");
    let r = read(&[&w.path("d")]);
    assert_eq!(r.ids(), ["g1", "g2", "g3"]);
    assert!(r.rejects.is_empty());
}

#[test]
fn a_large_array_streams_without_holding_it() {
    // 20 000 elements through the streaming array reader: every one arrives, in order.
    let w = Workdir::new();
    let mut s = String::from("[");
    for i in 0..20_000 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&reg_sale(&format!("h{i}")));
    }
    s.push(']');
    let p = w.write("big.json", s);
    let r = read(&[&p]);
    assert_eq!(r.ops.len(), 20_000);
    assert_eq!(r.ops[19_999].id, "h19999");
    assert_eq!(r.ops[19_999].source.index, Some(19_999));
}
