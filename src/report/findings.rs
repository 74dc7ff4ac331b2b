//! The findings summary: counts per rule and a few examples of each, for the terminal and
//! for summary.json. Never a dump of every row: the full list goes to findings.jsonl.
//!
//! The examples are the least findings of a rule by [`example_order`], which follows the
//! input (file, line, record) rather than the order findings arrive in: rules that report
//! in `finish` emit out of input order, and summaries of shards (disjoint registers) must
//! combine ([`FindingSummary::merge`]) into what one pass over everything keeps.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Deserializer, Serialize};

use crate::model::{Finding, Severity, SourceLoc};
use crate::validate::catalog;

/// How many examples a rule keeps for the summary.
pub const EXAMPLES_PER_RULE: usize = 3;

/// The order examples are kept and listed in, a total order on findings that follows the
/// input as closely as the findings tell it: by location — file (as a path, then as text),
/// archive entry, line, record index, then JSON pointer with its numeric segments compared
/// as numbers (`/data/9` before `/data/10`) — with findings without a location last; then by
/// code, operation id, message, register, severity, expected and found.
pub fn example_order(a: &Finding, b: &Finding) -> Ordering {
    let located = match (&a.location, &b.location) {
        (Some(x), Some(y)) => location_order(x, y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    located
        .then(a.code.cmp(b.code))
        .then_with(|| a.operation_id.cmp(&b.operation_id))
        .then_with(|| a.message.cmp(&b.message))
        .then_with(|| a.register_id.cmp(&b.register_id))
        .then(a.severity.cmp(&b.severity))
        .then_with(|| a.expected.cmp(&b.expected))
        .then_with(|| a.found.cmp(&b.found))
}

fn location_order(a: &SourceLoc, b: &SourceLoc) -> Ordering {
    // Directories are walked in path order; distinct texts of one path (`a//b`, `a/b`) still
    // need an order of their own.
    Path::new(&*a.file)
        .cmp(Path::new(&*b.file))
        .then_with(|| a.file.cmp(&b.file))
        .then_with(|| a.entry.cmp(&b.entry))
        .then(a.line.cmp(&b.line))
        .then(a.index.cmp(&b.index))
        .then_with(|| pointer_order(&a.pointer, &b.pointer))
}

fn pointer_order(a: &str, b: &str) -> Ordering {
    // Numbers before names within a segment; `Err` sorts after `Ok`.
    let segments = |p: &str| {
        p.split('/')
            .map(|s| s.parse::<u64>().map_err(|_| s.to_string()))
            .collect::<Vec<_>>()
    };
    segments(a).cmp(&segments(b)).then_with(|| a.cmp(b))
}

/// One rule's tally.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleTally {
    /// Severity of its findings.
    pub severity: Severity,
    /// What the rule checks.
    pub title: &'static str,
    /// Number of findings.
    pub count: u64,
    /// The [`EXAMPLES_PER_RULE`] least findings by [`example_order`], in that order.
    pub examples: Vec<Finding>,
}

impl RuleTally {
    /// Keeps `f` if it is among the least findings seen.
    fn offer(&mut self, f: &Finding) {
        let at = self
            .examples
            .partition_point(|e| example_order(e, f) != Ordering::Greater);
        if at < EXAMPLES_PER_RULE {
            self.examples.insert(at, f.clone());
            self.examples.truncate(EXAMPLES_PER_RULE);
        }
    }
}

/// Findings counted per rule (ordered by code).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FindingSummary {
    /// Findings of error severity.
    pub errors: u64,
    /// Findings of warning severity.
    pub warnings: u64,
    /// Findings of info severity.
    pub infos: u64,
    /// Per rule code.
    #[serde(deserialize_with = "by_rule")]
    pub by_rule: BTreeMap<&'static str, RuleTally>,
}

/// The tallies read back, with code and title from the catalog (a code it does not know is an
/// error) and the examples in their order, however the text listed them.
fn by_rule<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<&'static str, RuleTally>, D::Error> {
    #[derive(Deserialize)]
    struct Tally {
        severity: Severity,
        count: u64,
        examples: Vec<Finding>,
    }
    let tallies: BTreeMap<&'static str, Tally> = crate::model::finding::rule_code::keys(d)?;
    Ok(tallies
        .into_iter()
        .map(|(code, t)| {
            let mut examples = t.examples;
            examples.sort_by(example_order);
            examples.truncate(EXAMPLES_PER_RULE);
            let tally = RuleTally {
                severity: t.severity,
                title: catalog::rule(code).map_or("", |r| r.title),
                count: t.count,
                examples,
            };
            (code, tally)
        })
        .collect())
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
        tally.offer(f);
    }

    /// Adds the findings `other` counted, as if they had been added here one by one: counts
    /// add and each rule keeps the least examples of both. (A rule's severity is the same in
    /// both, as one configuration sets it.)
    pub fn merge(&mut self, other: &FindingSummary) {
        self.errors += other.errors;
        self.warnings += other.warnings;
        self.infos += other.infos;
        for (code, theirs) in &other.by_rule {
            match self.by_rule.get_mut(code) {
                None => {
                    self.by_rule.insert(code, theirs.clone());
                }
                Some(mine) => {
                    mine.count += theirs.count;
                    for f in &theirs.examples {
                        mine.offer(f);
                    }
                }
            }
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn at(file: &str, line: Option<u64>, pointer: &str) -> Option<SourceLoc> {
        Some(SourceLoc {
            line,
            index: line.is_none().then_some(0),
            pointer: pointer.into(),
            ..SourceLoc::file(file.into(), None)
        })
    }

    fn finding(code: &'static str, location: Option<SourceLoc>, op: &str) -> Finding {
        Finding {
            code,
            severity: catalog::rule(code).expect("catalog code").severity,
            operation_id: Some(op.into()),
            register_id: Some("r1".into()),
            location,
            message: format!("about {op}"),
            expected: None,
            found: None,
        }
    }

    fn summary<'a>(fs: impl IntoIterator<Item = &'a Finding>) -> FindingSummary {
        let mut s = FindingSummary::default();
        fs.into_iter().for_each(|f| s.add(f));
        s
    }

    #[test]
    fn examples_follow_the_input_not_the_order_findings_arrive_in() {
        let fs = [
            finding("TOT001", None, "no-location"),
            finding("TOT001", at("b.json", None, "/data/10"), "b10"),
            finding("TOT001", at("b.json", None, "/data/9"), "b9"),
            finding("TOT001", at("a.ndjson", Some(10), ""), "a10"),
            finding("TOT001", at("a.ndjson", Some(9), ""), "a9"),
        ];
        let s = summary(&fs);
        let examples: Vec<&str> = s.by_rule["TOT001"]
            .examples
            .iter()
            .map(|f| f.operation_id.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(examples, ["a9", "a10", "b9"]);
        assert_eq!(s.by_rule["TOT001"].count, 5);
        let rest = summary(&fs[..2]);
        assert_eq!(
            rest.by_rule["TOT001"].examples[1].operation_id.as_deref(),
            Some("no-location")
        );
    }

    #[test]
    fn a_summary_reads_back_as_it_was_and_refuses_unknown_codes() {
        let fs = [
            finding("TOT001", at("a.ndjson", Some(3), ""), "x"),
            finding("SEQ001", None, "y"),
        ];
        let s = summary(&fs);
        let text = serde_json::to_string(&s).expect("serialises");
        let back: FindingSummary = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, s);
        assert_eq!(serde_json::to_string(&back).expect("serialises"), text);
        let bad = text.replace("\"SEQ001\"", "\"NOPE01\"");
        assert!(serde_json::from_str::<FindingSummary>(&bad).is_err());
    }

    fn arb_finding() -> impl Strategy<Value = Finding> {
        let codes: Vec<&'static str> = catalog::RULES.iter().take(3).map(|r| r.code).collect();
        let location = prop_oneof![
            Just(None),
            (
                prop::sample::select(vec!["a.ndjson", "b/c.ndjson", "b-c.json"]),
                prop::option::of(1u64..20),
                prop::sample::select(vec!["", "/data/2", "/data/10"]),
            )
                .prop_map(|(file, line, pointer)| at(file, line, pointer)),
        ];
        (
            prop::sample::select(codes),
            location,
            0u8..4,
            prop::option::of(prop::sample::select(vec!["1", "2"])),
        )
            .prop_map(|(code, location, op, expected)| Finding {
                expected: expected.map(str::to_string),
                ..finding(code, location, &format!("op{op}"))
            })
    }

    proptest! {
        /// Whatever order findings arrive in and however they are split, a summary keeps the
        /// same counts and examples: the least by `example_order`.
        #[test]
        fn any_order_and_any_split_give_the_same_summary(
            (fs, shuffled) in prop::collection::vec(arb_finding(), 0..40)
                .prop_flat_map(|fs| (Just(fs.clone()), Just(fs).prop_shuffle())),
            sides in prop::collection::vec(any::<bool>(), 40),
        ) {
            let whole = summary(&fs);
            prop_assert_eq!(&summary(&shuffled), &whole);
            let side = |left: bool| {
                summary(shuffled.iter().zip(&sides).filter(|(_, s)| **s == left).map(|(f, _)| f))
            };
            let mut ab = side(true);
            ab.merge(&side(false));
            prop_assert_eq!(&ab, &whole);
            let mut ba = side(false);
            ba.merge(&side(true));
            prop_assert_eq!(&ba, &whole);
            for (code, t) in &whole.by_rule {
                let mut all: Vec<&Finding> = fs.iter().filter(|f| f.code == *code).collect();
                all.sort_by(|a, b| example_order(a, b));
                let least: Vec<&Finding> = all.into_iter().take(EXAMPLES_PER_RULE).collect();
                prop_assert_eq!(t.examples.iter().collect::<Vec<_>>(), least);
            }
            let back: FindingSummary =
                serde_json::from_str(&serde_json::to_string(&whole).expect("serialises"))
                    .expect("reads back");
            prop_assert_eq!(back, whole);
        }
    }
}
