//! Rejected records: what could not be normalised, where, and why.
//!
//! A rejection is data, not an error: the run continues with the next record and the
//! rejection is counted and reported. Each carries the record's location, the JSON pointer of
//! the offending field, and what was expected against what was found, so that a person can
//! open the file at that line and see the problem.

use std::fmt;

use serde::Serialize;

use crate::model::SourceLoc;

/// The class of a rejection; stable names for machine output and counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectClass {
    /// The file or entry could not be opened or decompressed.
    Unreadable,
    /// Truncated or syntactically broken JSON.
    MalformedJson,
    /// Neither API shape (or both) fits the record.
    UnknownShape,
    /// A field has the wrong JSON type.
    WrongType,
    /// An enumerated field (`type`, `state`…) has a value outside its list.
    UnknownValue,
    /// A required field is absent.
    MissingField,
    /// A decimal string is malformed.
    InvalidDecimal,
    /// An amount does not fit an exact decimal / 64-bit minor units.
    Overflow,
    /// A timestamp, date, currency code or similar is invalid.
    InvalidValue,
    /// A payment in another currency that is not foreign cash.
    MixedCurrency,
    /// The operation id was read before.
    DuplicateId,
}

impl RejectClass {
    /// The snake_case name.
    pub fn name(self) -> &'static str {
        match self {
            RejectClass::Unreadable => "unreadable",
            RejectClass::MalformedJson => "malformed_json",
            RejectClass::UnknownShape => "unknown_shape",
            RejectClass::WrongType => "wrong_type",
            RejectClass::UnknownValue => "unknown_value",
            RejectClass::MissingField => "missing_field",
            RejectClass::InvalidDecimal => "invalid_decimal",
            RejectClass::Overflow => "overflow",
            RejectClass::InvalidValue => "invalid_value",
            RejectClass::MixedCurrency => "mixed_currency",
            RejectClass::DuplicateId => "duplicate_id",
        }
    }
}

/// One rejected record (or unreadable file).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    /// Where the record is.
    pub location: SourceLoc,
    /// The record's id, when it could be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    /// What kind of problem.
    pub class: RejectClass,
    /// JSON pointer of the offending field inside the record (`/data/line_items/0/quantity`).
    pub field: String,
    /// What fiskal expected there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What it found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    /// The full explanation.
    pub message: String,
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.location)?;
        if !self.field.is_empty() {
            write!(f, " {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A problem inside one record, before its location is attached.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// Class of the problem.
    pub class: RejectClass,
    /// JSON pointer relative to the record.
    pub field: String,
    /// Expected.
    pub expected: Option<String>,
    /// Found.
    pub found: Option<String>,
    /// Explanation.
    pub message: String,
}

impl FieldError {
    /// A field error with all parts given.
    pub fn new(
        class: RejectClass,
        field: impl Into<String>,
        expected: Option<String>,
        found: Option<String>,
        message: impl Into<String>,
    ) -> FieldError {
        FieldError {
            class,
            field: field.into(),
            expected,
            found,
            message: message.into(),
        }
    }

    /// A required field is absent.
    pub fn missing(field: impl Into<String>) -> FieldError {
        let field = field.into();
        FieldError {
            class: RejectClass::MissingField,
            message: "missing required field".into(),
            expected: Some("a value".into()),
            found: Some("nothing".into()),
            field,
        }
    }

    /// Attaches the record's location.
    pub fn at(self, location: SourceLoc, record_id: Option<String>) -> Reject {
        Reject {
            location,
            record_id,
            class: self.class,
            field: self.field,
            expected: self.expected,
            found: self.found,
            message: self.message,
        }
    }

    /// Classifies a serde error raised while deserialising a record, keeping its path.
    pub fn from_serde(err: serde_path_to_error::Error<serde_json::Error>) -> FieldError {
        let pointer = path_to_pointer(err.path());
        let inner = err.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return FieldError::new(
                RejectClass::MalformedJson,
                pointer,
                None,
                None,
                format!("malformed JSON: {inner}"),
            );
        }
        // serde_json appends " at line L column C"; inside one record that only repeats the
        // record's own position, so the pointer is the better locator.
        let text = inner.to_string();
        let msg = match text.rfind(" at line ") {
            Some(i) => text[..i].to_string(),
            None => text,
        };
        classify_message(pointer, msg)
    }
}

/// Turns serde's message wording into a class plus expected/found parts.
fn classify_message(pointer: String, msg: String) -> FieldError {
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let field = if pointer.is_empty() {
            format!("/{name}")
        } else {
            format!("{pointer}/{name}")
        };
        return FieldError::missing(field);
    }
    if let Some(rest) = msg.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return FieldError::new(
            RejectClass::WrongType,
            pointer,
            Some(expected.to_string()),
            Some(found.to_string()),
            format!("expected {expected}, found {found}"),
        );
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return FieldError::new(
            RejectClass::UnknownValue,
            pointer,
            Some(expected.to_string()),
            Some(found.to_string()),
            format!("expected {expected}, found {found}"),
        );
    }
    if let Some(rest) = msg.strip_prefix(crate::ingest::wire::OVERFLOW_PREFIX) {
        return FieldError::new(
            RejectClass::Overflow,
            pointer,
            None,
            Some(rest.to_string()),
            msg.clone(),
        );
    }
    if let Some(rest) = msg.strip_prefix(crate::ingest::wire::DECIMAL_PREFIX) {
        return FieldError::new(
            RejectClass::InvalidDecimal,
            pointer,
            Some("a decimal string like \"9.95\"".into()),
            Some(rest.to_string()),
            format!("expected a decimal string like \"9.95\", found {rest}"),
        );
    }
    if let Some(rest) = msg.strip_prefix("invalid value: ")
        && let Some((found, expected)) = rest.split_once(", expected ")
    {
        return FieldError::new(
            RejectClass::InvalidValue,
            pointer,
            Some(expected.to_string()),
            Some(found.to_string()),
            format!("expected {expected}, found {found}"),
        );
    }
    FieldError::new(RejectClass::InvalidValue, pointer, None, None, msg)
}

/// Renders a serde path (`data.line_items[0].quantity`) as a JSON pointer.
fn path_to_pointer(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => {
                out.push('/');
                out.push_str(&index.to_string());
            }
            Segment::Map { key } => {
                out.push('/');
                out.push_str(&key.replace('~', "~0").replace('/', "~1"));
            }
            Segment::Enum { variant } => {
                out.push('/');
                out.push_str(variant);
            }
            Segment::Unknown => out.push_str("/?"),
        }
    }
    out
}
