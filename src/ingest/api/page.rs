//! One list page as the API serves it: `{"object": "list", "data": [...], "cursor": ...}`.
//!
//! The page is checked strictly because a page taken for valid decides what the dump holds:
//! a missing `cursor` read as "end of listing" would silently cut a register's history short,
//! so anything that is not exactly a list page is [`Malformed`] and the caller retries it.
//! The records are kept as the raw JSON text the server sent (via `RawValue`), never
//! re-serialised, so the dump holds the wire JSON exactly as served.

use serde::Deserialize;
use serde_json::value::RawValue;

/// A list page that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Each item of `data` as one line of JSON text, in page order.
    pub records: Vec<Record>,
    /// The cursor of the next page; `None` at the end of the listing.
    pub cursor: Option<String>,
}

/// One item of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its `id`.
    pub id: String,
    /// Its JSON text, on one line.
    pub json: String,
}

/// Why a response body is not a list page; the text names the JSON problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Malformed(pub String);

#[derive(Deserialize)]
struct Wire<'a> {
    object: Option<String>,
    #[serde(borrow)]
    data: Option<Vec<&'a RawValue>>,
    // `Option<Option<_>>` tells a `null` cursor (the end) from a missing one (malformed).
    #[serde(default, deserialize_with = "present")]
    cursor: Option<Option<String>>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct Head {
    id: Option<serde_json::Value>,
}

/// Parses and checks a response body as a list page.
pub fn parse(body: &str) -> Result<Page, Malformed> {
    let wire: Wire =
        serde_json::from_str(body).map_err(|e| Malformed(format!("not a list page: {e}")))?;
    match wire.object.as_deref() {
        Some("list") => {}
        Some(other) => {
            return Err(Malformed(format!(
                "not a list page: \"object\" is {other:?}, expected \"list\""
            )));
        }
        None => return Err(Malformed("not a list page: no \"object\" field".into())),
    }
    let data = wire
        .data
        .ok_or_else(|| Malformed("not a list page: no \"data\" array".into()))?;
    let cursor = wire.cursor.ok_or_else(|| {
        Malformed("not a list page: no \"cursor\" field (null marks the last page)".into())
    })?;
    if cursor.as_deref() == Some("") {
        return Err(Malformed("not a list page: \"cursor\" is empty".into()));
    }
    let mut records = Vec::with_capacity(data.len());
    for (i, raw) in data.into_iter().enumerate() {
        let text = raw.get();
        if !text.starts_with('{') {
            return Err(Malformed(format!("/data/{i} is not a JSON object")));
        }
        let head: Head = serde_json::from_str(text)
            .map_err(|e| Malformed(format!("/data/{i}: invalid JSON: {e}")))?;
        let id = match head.id {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s,
            Some(other) => {
                return Err(Malformed(format!(
                    "/data/{i}/id: expected a non-empty string, found {other}"
                )));
            }
            None => return Err(Malformed(format!("/data/{i}/id: missing"))),
        };
        records.push(Record {
            id,
            json: one_line(text),
        });
    }
    Ok(Page { records, cursor })
}

/// The JSON text on one line: a pretty-printed record loses the whitespace between tokens
/// (never inside strings, where JSON allows no raw line break anyway); a record already on
/// one line is kept byte for byte.
pub fn one_line(text: &str) -> String {
    if !text.contains(['\n', '\r']) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_page_keeps_records_byte_for_byte() {
        let body = r#"{"object":"list","data":[{"id":"op_1","x": 1.50},{"id":"op_2","s":"a b"}],"cursor":"c2"}"#;
        let page = parse(body).unwrap();
        assert_eq!(page.cursor.as_deref(), Some("c2"));
        assert_eq!(page.records.len(), 2);
        assert_eq!(page.records[0].id, "op_1");
        assert_eq!(page.records[0].json, r#"{"id":"op_1","x": 1.50}"#);
        assert_eq!(page.records[1].json, r#"{"id":"op_2","s":"a b"}"#);
    }

    #[test]
    fn null_cursor_ends_the_listing() {
        let page = parse(r#"{"object":"list","data":[],"cursor":null}"#).unwrap();
        assert_eq!(page.cursor, None);
        assert!(page.records.is_empty());
    }

    #[test]
    fn pretty_records_are_put_on_one_line_outside_strings_only() {
        let body = "{\"object\":\"list\",\"data\":[\n  {\n    \"id\": \"op_1\",\n    \"note\": \"a  b\\\"  c\"\n  }\n],\"cursor\":null}";
        let page = parse(body).unwrap();
        assert_eq!(page.records[0].json, r#"{"id":"op_1","note":"a  b\"  c"}"#);
    }

    #[test]
    fn everything_that_is_not_exactly_a_list_page_is_malformed() {
        let cases = [
            (
                r#"{"object":"list","data":[{"id":"a"}"#,
                "not a list page: EOF while parsing",
            ),
            (r#"<html>502</html>"#, "not a list page: expected value"),
            (
                r#"{"object":"operation","data":[],"cursor":null}"#,
                "\"object\" is \"operation\"",
            ),
            (r#"{"data":[],"cursor":null}"#, "no \"object\" field"),
            (r#"{"object":"list","cursor":null}"#, "no \"data\" array"),
            (r#"{"object":"list","data":[]}"#, "no \"cursor\" field"),
            (
                r#"{"object":"list","data":[],"cursor":""}"#,
                "\"cursor\" is empty",
            ),
            (
                r#"{"object":"list","data":[],"cursor":7}"#,
                "invalid type: integer `7`",
            ),
            (
                r#"{"object":"list","data":[[1]],"cursor":null}"#,
                "/data/0 is not a JSON object",
            ),
            (
                r#"{"object":"list","data":[{"x":1}],"cursor":null}"#,
                "/data/0/id: missing",
            ),
            (
                r#"{"object":"list","data":[{"id":""}],"cursor":null}"#,
                "/data/0/id: expected a non-empty string",
            ),
            (
                r#"{"object":"list","data":[{"id":"a"},{"id":3}],"cursor":null}"#,
                "/data/1/id: expected a non-empty string, found 3",
            ),
        ];
        for (body, expected) in cases {
            let err = parse(body).unwrap_err();
            assert!(err.0.contains(expected), "{body}: {err}");
        }
    }
}
