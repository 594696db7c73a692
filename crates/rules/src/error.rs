//! Errors of loading a rule file: every problem found, each with its file, line and reason.

use std::fmt;

/// Why one part of a rule file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    #[error("TOML syntax error: {0}")]
    Syntax(String),
    #[error("unknown rule family `{0}` (known: {1})")]
    UnknownFamily(String, String),
    #[error("family `{family}` requires parameter `{name}` ({expected})")]
    MissingParam { family: String, name: String, expected: &'static str },
    #[error("parameter `{name}` must be {expected}, found {found}")]
    WrongType { name: String, expected: &'static str, found: String },
    #[error("family `{family}` has no parameter `{name}` (known: {known})")]
    UnknownParam { family: String, name: String, known: String },
    #[error("duplicate rule id `{id}` (first defined on line {first_line})")]
    DuplicateId { id: String, first_line: usize },
    #[error("override of unknown rule id `{0}`")]
    UnknownOverrideId(String),
    #[error("bad severity `{0}` (expected info, warning or violation)")]
    BadSeverity(String),
    #[error("explanation in `{0}` is empty")]
    EmptyExplanation(&'static str),
    #[error("missing field `{0}`")]
    MissingField(String),
    #[error("unknown field `{0}`")]
    UnknownField(String),
    #[error("field `{name}` must be {expected}")]
    BadField { name: String, expected: &'static str },
    #[error("unknown base rule set `{0}` (only \"national\" is shipped)")]
    UnknownBase(String),
    #[error("`extends` names `{0}`, but the base given is `{1}`")]
    BaseMismatch(String, String),
    #[error("`extends` is only allowed in a jurisdiction file (load it with with_overrides)")]
    UnexpectedExtends,
}

/// One problem at one line (1-based) of a rule file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub line: usize,
    pub kind: ErrorKind,
}

/// A rule file refused, with all problems found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileError {
    pub file: String,
    pub errors: Vec<RuleError>,
}

impl fmt::Display for RuleFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: {}", self.file, e.line, e.kind)?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleFileError {}
