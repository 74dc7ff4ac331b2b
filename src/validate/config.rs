//! `fiskal.toml`: tolerances, rule severities and disabled rules (docs/config.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::Deserialize;

use super::catalog;
use crate::model::Severity;

/// The validation configuration.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Tolerances of the arithmetic rules.
    #[serde(default)]
    pub tolerance: Tolerances,
    /// Severities and disabled rules.
    #[serde(default)]
    pub rules: RuleConfig,
    /// Leave fiscal signatures unverified (`--no-signatures`; never from the file): every
    /// other fiscal check still runs.
    #[serde(skip)]
    pub skip_signatures: bool,
}

/// Tolerances: how far a stated value may be from the recomputed one.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tolerances {
    /// Money identities (totals, payments, cash), in the operation currency. Default 0.
    pub amount: Decimal,
    /// VAT beyond the rounding rule, per line and per rate. Default 0.
    pub vat: Decimal,
    /// How many seconds an operation may be earlier than its predecessor. Default 0.
    pub clock_seconds: i64,
}

impl Default for Tolerances {
    fn default() -> Tolerances {
        Tolerances {
            amount: Decimal::ZERO,
            vat: Decimal::ZERO,
            clock_seconds: 0,
        }
    }
}

/// Severity overrides and disabled rules.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// Codes of rules not to run.
    pub disabled: Vec<String>,
    /// Severity per code, replacing the catalog's default.
    pub severity: BTreeMap<String, Severity>,
}

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unreadable.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not valid TOML of the documented form, or naming unknown rules.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// Reads and checks a `fiskal.toml`.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let invalid = |message: String| Error::Invalid {
            path: path.into(),
            message,
        };
        let cfg: Config = toml::from_str(&text)
            .map_err(|e| invalid(e.to_string().trim_end().replace('\n', " ")))?;
        let unknown: Vec<&str> = cfg
            .rules
            .disabled
            .iter()
            .chain(cfg.rules.severity.keys())
            .map(String::as_str)
            .filter(|c| catalog::rule(c).is_none())
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "unknown rule code(s) {} (see docs/rules.md)",
                unknown.join(", ")
            )));
        }
        if cfg.tolerance.amount < Decimal::ZERO
            || cfg.tolerance.vat < Decimal::ZERO
            || cfg.tolerance.clock_seconds < 0
        {
            return Err(invalid("tolerances cannot be negative".into()));
        }
        Ok(cfg)
    }

    /// The severity a rule's findings get, or `None` when the rule is disabled.
    pub fn severity(&self, code: &str) -> Option<Severity> {
        if self.rules.disabled.iter().any(|c| c == code) {
            return None;
        }
        self.rules
            .severity
            .get(code)
            .copied()
            .or_else(|| catalog::rule(code).map(|r| r.severity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_overrides_and_refuses_unknown_codes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fiskal.toml");
        std::fs::write(&p, "[tolerance]\nvat = \"0.01\"\n[rules]\ndisabled = [\"SEQ003\"]\n[rules.severity]\nLIF001 = \"error\"\n").unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.tolerance.vat, Decimal::new(1, 2));
        assert_eq!(c.severity("SEQ003"), None);
        assert_eq!(c.severity("LIF001"), Some(Severity::Error));
        assert_eq!(c.severity("SES004"), Some(Severity::Warning));
        std::fs::write(&p, "[rules]\ndisabled = [\"XYZ999\"]\n").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("unknown rule code(s) XYZ999"), "{e}");
        std::fs::write(&p, "[tolerance]\nvat = \"-1\"\n").unwrap();
        assert!(
            Config::load(&p)
                .unwrap_err()
                .to_string()
                .contains("cannot be negative")
        );
    }
}

#[cfg(test)]
mod doc_tests {
    use super::*;

    /// The example in docs/config.md is a valid configuration.
    #[test]
    fn documented_example_loads() {
        let doc =
            std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config.md"))
                .unwrap();
        let start = doc.find("```toml\n").expect("a toml block") + 8;
        let end = start + doc[start..].find("```").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fiskal.toml");
        std::fs::write(&p, &doc[start..end]).unwrap();
        let c = Config::load(&p).unwrap();
        assert_eq!(c.severity("SES004"), Some(Severity::Info));
        assert_eq!(c.severity("SEQ003"), None);
    }
}
