//! Burden-reduction rule sets as data: the TOML format, its loader and the shipped national set.
//!
//! A rule set is a list of [`Rule`]s, each with an id, a [`Family`] with typed [`Params`], a
//! [`Severity`], the [`Source`] it comes from and a plain [`Explanation`] in zh and en. The
//! national set ships in `rulesets/national.toml` ([`RuleSet::national`]); a jurisdiction file
//! `extends = "national"` and overrides parameters, disables rules or adds its own
//! ([`RuleSet::with_overrides`]). A bad file is refused with a [`RuleFileError`] listing
//! every problem found, each with its file, line and reason. This crate only loads rules;
//! evaluating them over the ledger is the engine's job.

mod error;
mod family;
mod load;

use serde::Serialize;
use tongxin_domain::DemandKind;

pub use error::{ErrorKind, RuleError, RuleFileError};
pub use family::*;

/// The shipped national rule set, as text.
pub const NATIONAL_TOML: &str = include_str!("../rulesets/national.toml");

/// How serious a finding of a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Violation,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Violation => "violation",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        [Severity::Info, Severity::Warning, Severity::Violation].into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a rule comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Source {
    /// The instrument and article, e.g. 《整治形式主义为基层减负若干规定》第6条.
    pub title: String,
    /// When it was issued (a date or a year/month as published).
    pub issued: String,
    /// Where the text was published or can be checked.
    pub citation: String,
    /// `true`: the rule and its numbers are in the published text. `false`: the published
    /// rule gives no number and the parameters are a local default.
    pub confirmed: bool,
    /// Names of parameters that are local defaults even though the rule itself is confirmed.
    pub local_defaults: Vec<String>,
}

/// A plain explanation in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub zh: String,
    pub en: String,
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    pub id: String,
    pub family: Family,
    pub severity: Severity,
    pub params: Params,
    pub source: Source,
    pub explanation: Explanation,
    /// Kinds of demand the rule looks at; empty means all kinds.
    pub applies_to: Vec<DemandKind>,
    pub enabled: bool,
    /// The file and line the rule (or its last override) came from.
    pub defined_at: String,
}

impl Rule {
    /// Whether the rule looks at demands of this kind.
    pub fn applies(&self, kind: DemandKind) -> bool {
        self.applies_to.is_empty() || self.applies_to.contains(&kind)
    }
}

/// A complete rule set for one jurisdiction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSet {
    pub jurisdiction: String,
    pub version: String,
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Parses a complete rule set. `file_name` is only used in error messages. A file with
    /// `extends` is a jurisdiction file: load it with [`RuleSet::with_overrides`] instead.
    pub fn parse(file_name: &str, text: &str) -> Result<RuleSet, RuleFileError> {
        load::parse_base(file_name, text)
    }

    /// Applies a jurisdiction file (overrides, disabled rules, added rules) to `base`.
    pub fn with_overrides(base: &RuleSet, file_name: &str, text: &str) -> Result<RuleSet, RuleFileError> {
        load::apply_overrides(base, file_name, text)
    }

    /// Loads a jurisdiction file that `extends = "national"` (or a complete set without `extends`).
    pub fn load(file_name: &str, text: &str) -> Result<RuleSet, RuleFileError> {
        if load::has_extends(text) {
            RuleSet::with_overrides(&RuleSet::national(), file_name, text)
        } else {
            RuleSet::parse(file_name, text)
        }
    }

    /// The shipped national rule set.
    pub fn national() -> RuleSet {
        match RuleSet::parse("national.toml", NATIONAL_TOML) {
            Ok(set) => set,
            // The shipped file is checked by the tests; a failure here is a build defect.
            Err(e) => panic!("the shipped national rule set does not load:\n{e}"),
        }
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The enabled rules.
    pub fn enabled(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(|r| r.enabled)
    }
}
