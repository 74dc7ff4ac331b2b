//! The findings summary: counts per rule and the first examples of each, for the terminal and
//! for summary.json. Never a dump of every row: the full list goes to findings.jsonl.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Finding, Severity};
use crate::validate::catalog;

/// How many examples a rule keeps for the summary.
pub const EXAMPLES_PER_RULE: usize = 3;

/// One rule's tally.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTally {
    /// Severity of its findings.
    pub severity: Severity,
    /// What the rule checks.
    pub title: &'static str,
    /// Number of findings.
    pub count: u64,
    /// The first few.
    pub examples: Vec<Finding>,
}

/// Findings counted per rule (ordered by code).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FindingSummary {
    /// Findings of error severity.
    pub errors: u64,
    /// Findings of warning severity.
    pub warnings: u64,
    /// Findings of info severity.
    pub infos: u64,
    /// Per rule code.
    pub by_rule: BTreeMap<&'static str, RuleTally>,
}

impl FindingSummary {
    /// Counts one finding.
    pub fn add(&mut self, f: &Finding) {
        match f.severity {
            Severity::Error => self.errors += 1,
            Severity::Warning => self.warnings += 1,
            Severity::Info => self.infos += 1,
        }
        let tally = self.by_rule.entry(f.code).or_insert_with(|| RuleTally {
            severity: f.severity,
            title: catalog::rule(f.code).map_or("", |r| r.title),
            count: 0,
            examples: Vec::new(),
        });
        tally.count += 1;
        if tally.examples.len() < EXAMPLES_PER_RULE {
            tally.examples.push(f.clone());
        }
    }

    /// True when any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    /// The human rendering, grouped by rule.
    pub fn render_human(&self) -> String {
        let mut s = String::new();
        if self.by_rule.is_empty() {
            s.push_str("findings: none\n");
            return s;
        }
        let _ = writeln!(
            s,
            "findings: {} error(s), {} warning(s), {} info",
            self.errors, self.warnings, self.infos
        );
        for (code, t) in &self.by_rule {
            let _ = writeln!(
                s,
                "\n  {code} {:<7} {:>7}  {}",
                t.severity.name(),
                t.count,
                t.title
            );
            for f in &t.examples {
                let op = f.operation_id.as_deref().unwrap_or("-");
                let reg = f
                    .register_id
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default();
                let _ = writeln!(s, "      {op}{reg}: {}", f.message);
                if let (Some(e), Some(x)) = (&f.expected, &f.found) {
                    let _ = writeln!(s, "        expected {e}, found {x}");
                }
                if let Some(loc) = &f.location {
                    let _ = writeln!(s, "        at {loc}");
                }
            }
            if t.count > t.examples.len() as u64 {
                let _ = writeln!(s, "      … and {} more", t.count - t.examples.len() as u64);
            }
        }
        s
    }
}
