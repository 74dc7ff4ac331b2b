//! Findings: what the checks found, as data.
//!
//! A finding never stops a run. It names its rule (a code from the catalog in
//! `validate::catalog`), the operation and where it was read, and what was expected against
//! what was found.

use std::fmt;

use serde::{Deserialize, Serialize};

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

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Rule code (`TOT003`).
    pub code: &'static str,
    /// Severity (the rule's, or as configured).
    pub severity: Severity,
    /// The operation the finding is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    /// Its register.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_id: Option<String>,
    /// Where the operation was read.
    #[serde(skip_serializing_if = "Option::is_none")]
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
