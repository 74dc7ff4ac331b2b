//! Findings: what the checks found, as data.
//!
//! A finding never stops a run. It names its rule (a code from the catalog in
//! `validate::catalog`), the operation and where it was read, and what was expected against
//! what was found.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use super::SourceLoc;

/// How serious a finding is. The exit code is 1 when any finding is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; not a defect by itself.
    Info,
    /// Suspicious; an auditor will ask.
    Warning,
    /// A defect: the records contradict themselves or the law.
    Error,
}

impl Severity {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A rule code, read back through the catalog ([`rule_code`]). Spelled as an alias because
/// serde's derive takes a field written `&str` for text borrowed from the input, which would
/// tie every deserialised finding to the input's lifetime.
type CatalogCode = &'static str;

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Rule code (`TOT003`).
    #[serde(deserialize_with = "rule_code::deserialize")]
    pub code: CatalogCode,
    /// Severity (the rule's, or as configured).
    pub severity: Severity,
    /// The operation the finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// Its register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_id: Option<String>,
    /// Where the operation was read.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "location"
    )]
    pub location: Option<SourceLoc>,
    /// What is wrong, in a sentence.
    pub message: String,
    /// What the rule expected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    /// What the data says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
}

fn location<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SourceLoc>, D::Error> {
    #[derive(Deserialize)]
    struct Loc(#[serde(with = "crate::validate::carry::loc_serde")] SourceLoc);
    Ok(Option::<Loc>::deserialize(d)?.map(|l| l.0))
}

/// Rule codes read back: the catalog's own `&'static str` for the code, so that a finding
/// (or a count per rule) saved by one run and read by another is the same value; a code the
/// catalog does not know is an error.
pub(crate) mod rule_code {
    use super::*;
    use crate::validate::catalog;

    /// The catalog's code equal to `s`.
    pub fn of<E: serde::de::Error>(s: &str) -> Result<&'static str, E> {
        catalog::rule(s)
            .map(|r| r.code)
            .ok_or_else(|| E::custom(format!("{s:?} is not a rule code")))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        of(&String::deserialize(d)?)
    }

    /// A map keyed by rule code.
    pub fn keys<'de, D, V>(d: D) -> Result<BTreeMap<&'static str, V>, D::Error>
    where
        D: Deserializer<'de>,
        V: Deserialize<'de>,
    {
        BTreeMap::<String, V>::deserialize(d)?
            .into_iter()
            .map(|(code, v)| Ok((of(&code)?, v)))
            .collect()
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.severity, self.code)?;
        if let Some(id) = &self.operation_id {
            write!(f, " {id}")?;
        }
        if let Some(reg) = &self.register_id {
            write!(f, " ({reg})")?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(e), Some(x)) = (&self.expected, &self.found) {
            write!(f, " [expected {e}, found {x}]")?;
        }
        if let Some(loc) = &self.location {
            write!(f, " at {loc}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(location: Option<SourceLoc>) -> Finding {
        Finding {
            code: "TOT001",
            severity: Severity::Warning,
            operation_id: Some("op_1".into()),
            register_id: None,
            location,
            message: "total differs".into(),
            expected: Some("10.00".into()),
            found: Some("10.01".into()),
        }
    }

    #[test]
    fn a_finding_reads_back_as_it_was_with_the_catalogs_code() {
        let loc = SourceLoc {
            line: Some(17),
            pointer: "/data/3".into(),
            ..SourceLoc::file("dump.zip".into(), Some("a.ndjson".into()))
        };
        for f in [finding(Some(loc)), finding(None)] {
            let text = serde_json::to_string(&f).expect("serialises");
            let back: Finding = serde_json::from_str(&text).expect("reads back");
            assert_eq!(back, f);
            assert!(std::ptr::eq(
                back.code,
                crate::validate::catalog::rule("TOT001").unwrap().code
            ));
        }
    }

    #[test]
    fn an_unknown_code_is_refused() {
        let text = serde_json::to_string(&finding(None)).expect("serialises");
        let err = serde_json::from_str::<Finding>(&text.replace("TOT001", "TOT999"))
            .expect_err("refused");
        assert!(
            err.to_string().contains("\"TOT999\" is not a rule code"),
            "{err}"
        );
    }
}
