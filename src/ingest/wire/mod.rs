//! Wire types of the two OpenFiskal API shapes, and shape detection.
//!
//! This is the only place that knows JSON field names of the API. Each shape has its own
//! module that deserialises a record strictly (typed fields, exact decimals) and normalises it
//! into [`crate::model::Operation`]. The small value types here are shared by both shapes.

pub mod operations;
pub mod registers;

use std::borrow::Cow;
use std::fmt;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, Visitor};

use crate::model::money::{DecimalError, parse_decimal_str};
use crate::model::{Currency, Timestamp, TseEvent, WireShape};

use super::reject::{FieldError, RejectClass};

/// Prefix of the serde message for amounts that do not fit; the reject classifier keys on it.
pub(crate) const OVERFLOW_PREFIX: &str = "amount overflows: ";
/// Prefix of the serde message for malformed decimal strings.
pub(crate) const DECIMAL_PREFIX: &str = "malformed decimal: ";

/// An integer amount in minor units (register shape). Refuses fractions and values beyond i64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minor(pub i64);

impl<'de> Deserialize<'de> for Minor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Minor;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer amount in minor units")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Minor, E> {
                Ok(Minor(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Minor, E> {
                i64::try_from(v)
                    .map(Minor)
                    .map_err(|_| E::custom(format!("{OVERFLOW_PREFIX}{v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Minor, E> {
                if v.fract() == 0.0 && v.abs() >= 9.2e18 {
                    Err(E::custom(format!("{OVERFLOW_PREFIX}{v:e}")))
                } else {
                    Err(E::invalid_type(de::Unexpected::Float(v), &self))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A decimal string of the v1.1 shape (`"9.95"`), parsed exactly and strictly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecStr(pub Decimal);

impl<'de> Deserialize<'de> for DecStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DecStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a decimal string like \"9.95\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DecStr, E> {
                match parse_decimal_str(s) {
                    Ok(d) => Ok(DecStr(d)),
                    Err(DecimalError::Malformed) => {
                        Err(E::custom(format!("{DECIMAL_PREFIX}{s:?}")))
                    }
                    Err(DecimalError::Overflow) => Err(E::custom(format!("{OVERFLOW_PREFIX}{s}"))),
                }
            }
        }
        d.deserialize_str(V)
    }
}

/// A decimal given either as JSON number or as decimal string (rates, quantities).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Num(pub Decimal);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or decimal string")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Decimal::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Decimal::from(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                // The shortest representation that round-trips is what the JSON text said.
                let text = format!("{v}");
                match parse_decimal_str(&text) {
                    Ok(d) => Ok(Num(d)),
                    Err(_) => Err(E::custom(format!("{OVERFLOW_PREFIX}{v:e}"))),
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Num, E> {
                DecStr::deserialize(de::value::StrDeserializer::<E>::new(s)).map(|d| Num(d.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// An RFC 3339 timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts(pub Timestamp);

impl<'de> Deserialize<'de> for Ts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp like \"2026-03-02T09:15:00Z\"")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Ts, E> {
                Timestamp::parse(s)
                    .map(Ts)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(s), &self))
            }
        }
        d.deserialize_str(V)
    }
}

/// A TSE log event (`start_event` / `end_event`): the same object in both shapes.
#[derive(Deserialize)]
pub(crate) struct WireTseEvent {
    signed_at: Option<Ts>,
    transaction_counter: Option<u64>,
    signature: Option<String>,
    public_key: Option<String>,
    process_type: Option<String>,
    process_data: Option<String>,
}

impl WireTseEvent {
    pub(crate) fn into_model(self) -> TseEvent {
        TseEvent {
            signed_at: self.signed_at.map(|t| t.0),
            transaction_counter: self.transaction_counter,
            signature: self.signature,
            public_key: self.public_key,
            process_type: self.process_type,
            process_data: self.process_data,
        }
    }

    pub(crate) fn signed_at(&self) -> Option<Timestamp> {
        self.signed_at.map(|t| t.0)
    }

    pub(crate) fn transaction_counter(&self) -> Option<u64> {
        self.transaction_counter
    }

    pub(crate) fn into_signature(self) -> Option<String> {
        self.signature
    }
}

/// The few fields shape detection looks at.
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(borrow)]
    object: Option<Cow<'a, str>>,
    state: Option<IgnoredAny>,
    // Raw and borrowed, so that detecting the shape neither builds a value tree of the whole
    // record nor copies its largest part.
    #[serde(borrow)]
    data: Option<&'a serde_json::value::RawValue>,
    status: Option<IgnoredAny>,
    source: Option<IgnoredAny>,
    resource_version: Option<IgnoredAny>,
    merchant_id: Option<IgnoredAny>,
    fiscal_information: Option<IgnoredAny>,
    #[serde(rename = "type")]
    kind: Option<serde_json::Value>,
    id: Option<serde_json::Value>,
    // Raw, so that a register id of the wrong type is the shape reader's to reject, not a
    // reason to refuse the record here.
    #[serde(borrow)]
    register_id: Option<&'a serde_json::value::RawValue>,
}

/// What a record is, before it is deserialised.
#[derive(Debug, Clone, PartialEq)]
pub enum Detected {
    /// A list page: its `data` elements are records.
    ListPage,
    /// One operation of this shape.
    Operation {
        /// The API shape.
        shape: WireShape,
        /// The id, when it is a string.
        id: Option<String>,
        /// The register id, when it is a string: what a shard is chosen by.
        register: Option<String>,
    },
}

/// Looks at a JSON record and decides what it is (docs/input.md, "Shape detection").
// The error is built once per rejected record, never on the hot path of accepted ones.
#[allow(clippy::result_large_err)]
pub fn detect(raw: &str) -> Result<Detected, (FieldError, Option<String>)> {
    let probe: Probe = serde_json::from_str(raw).map_err(|e| {
        let class = if e.is_syntax() || e.is_eof() {
            RejectClass::MalformedJson
        } else {
            RejectClass::WrongType
        };
        let msg = if class == RejectClass::MalformedJson {
            format!("malformed JSON: {e}")
        } else {
            format!("expected a JSON object (an operation or a list page): {e}")
        };
        (
            FieldError::new(class, "", Some("a JSON object".into()), None, msg),
            None,
        )
    })?;
    let id = probe
        .id
        .as_ref()
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if probe.object.as_deref() == Some("list") {
        return Ok(Detected::ListPage);
    }
    let register = probe
        .register_id
        .and_then(|r| serde_json::from_str::<Cow<str>>(r.get()).ok())
        .map(Cow::into_owned);
    let kind = probe.kind.as_ref().and_then(|v| v.as_str());
    let register_shape = probe.object.as_deref() == Some("operation")
        || probe.state.is_some()
        || probe
            .data
            .as_ref()
            .is_some_and(|d| d.get().starts_with('{'));
    let operations = probe.status.is_some()
        || probe.source.is_some()
        || probe.resource_version.is_some()
        || probe.merchant_id.is_some()
        || probe.fiscal_information.is_some()
        || kind.is_some_and(|k| k.starts_with("session_") || k == "return");
    let shape = match (register_shape, operations) {
        (true, false) => WireShape::Register,
        (false, true) => WireShape::Operations,
        (both, _) => {
            let why = if both {
                "fields of both API shapes (a `data` object or `state` together with `status`/`source`/`fiscal_information`)"
            } else {
                "no field that identifies an API shape (`state`/`data` for register-scoped, `status`/`source` for /operations)"
            };
            return Err((
                FieldError::new(
                    RejectClass::UnknownShape,
                    "",
                    Some(
                        "an operation of the register-scoped or the /operations v1.1 shape".into(),
                    ),
                    None,
                    format!("cannot tell the API shape: the record has {why}"),
                ),
                id,
            ));
        }
    };
    Ok(Detected::Operation {
        shape,
        id,
        register,
    })
}

/// Deserialises a record into a wire struct, keeping the JSON path of any error.
///
/// Tracking the path costs about as much as the parse itself, so it is done only for a record
/// that failed: the second pass fails at the same place and gives the same message.
pub(crate) fn parse_record<T: for<'de> Deserialize<'de>>(raw: &str) -> Result<T, FieldError> {
    if let Ok(value) = T::deserialize(&mut serde_json::Deserializer::from_str(raw)) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    serde_path_to_error::deserialize(&mut de).map_err(FieldError::from_serde)
}

/// The foreign currency of a payment, if any; refuses anything but cash in a foreign currency
/// (docs/input.md, "Currency rule").
pub(crate) fn foreign_cash(
    method: &str,
    payment: Option<Currency>,
    operation: Currency,
    field: &str,
) -> Result<Option<Currency>, FieldError> {
    match payment.filter(|c| *c != operation) {
        Some(found) if method != "cash" => Err(FieldError::new(
            RejectClass::MixedCurrency,
            field,
            Some(format!(
                "{operation} (only cash may be tendered in a foreign currency)"
            )),
            Some(found.to_string()),
            format!(
                "mixed currencies: {method} payment in {found}, operation currency {operation}; only cash may be tendered in a foreign currency"
            ),
        )),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_both_shapes_and_list_pages() {
        assert_eq!(
            detect(
                r#"{"id":"a","object":"operation","type":"sale","state":"open","register_id":"r1"}"#
            )
            .unwrap(),
            Detected::Operation {
                shape: WireShape::Register,
                id: Some("a".into()),
                register: Some("r1".into())
            }
        );
        assert_eq!(
            detect(r#"{"id":"b","type":"session_open","status":"completed","register_id":7}"#)
                .unwrap(),
            Detected::Operation {
                shape: WireShape::Operations,
                id: Some("b".into()),
                register: None
            }
        );
        assert_eq!(
            detect(r#"{"object":"list","data":[]}"#).unwrap(),
            Detected::ListPage
        );
        let (err, id) = detect(r#"{"id":"c","type":"sale"}"#).unwrap_err();
        assert_eq!(err.class, RejectClass::UnknownShape);
        assert_eq!(id.as_deref(), Some("c"));
        let (err, _) = detect(r#"{"id":"d","data":{},"status":"open"}"#).unwrap_err();
        assert_eq!(err.class, RejectClass::UnknownShape);
        let (err, _) = detect(r#"[1,2]"#).unwrap_err();
        assert_eq!(err.class, RejectClass::WrongType);
    }

    #[test]
    fn minor_units_refuse_fractions_and_overflow() {
        assert_eq!(serde_json::from_str::<Minor>("1999").unwrap(), Minor(1999));
        assert_eq!(serde_json::from_str::<Minor>("-5").unwrap(), Minor(-5));
        let e = serde_json::from_str::<Minor>("12.5")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("expected an integer amount in minor units"),
            "{e}"
        );
        let e = serde_json::from_str::<Minor>("99999999999999999999")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(OVERFLOW_PREFIX), "{e}");
        let e = serde_json::from_str::<Minor>("\"12\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid type: string"), "{e}");
    }

    #[test]
    fn numbers_keep_their_decimal_text() {
        assert_eq!(
            serde_json::from_str::<Num>("0.19").unwrap().0.to_string(),
            "0.19"
        );
        assert_eq!(
            serde_json::from_str::<Num>("\"0.105\"")
                .unwrap()
                .0
                .to_string(),
            "0.105"
        );
        assert_eq!(serde_json::from_str::<Num>("2").unwrap().0.to_string(), "2");
        assert!(serde_json::from_str::<Num>("\"1e3\"").is_err());
    }
}
