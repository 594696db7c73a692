//! Errors that name what is wrong and where: the file, then the step, task or field.

use serde::{Deserialize, Serialize};

/// One problem, in Chinese and English, located by `at` (e.g. `task "road" (task[0]).deadline`
/// or `step "eia" (line 42)`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub at: String,
    pub zh: String,
    pub en: String,
}

impl Problem {
    pub fn new(at: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> Problem {
        Problem { at: at.into(), zh: zh.into(), en: en.into() }
    }
}

/// A template, directive or option set that cannot be used, with every problem found.
/// Nothing is partially loaded or stored when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub struct Invalid {
    /// The file (or other source) the problems are in.
    pub file: String,
    pub problems: Vec<Problem>,
}

impl Invalid {
    pub fn one(file: impl Into<String>, p: Problem) -> Invalid {
        Invalid { file: file.into(), problems: vec![p] }
    }

    /// `Ok(())` when `problems` is empty.
    pub fn check(file: &str, problems: Vec<Problem>) -> Result<(), Invalid> {
        if problems.is_empty() { Ok(()) } else { Err(Invalid { file: file.to_owned(), problems }) }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.problems.as_slice() {
            [p] => write!(f, "{}: {}: {} / {}", self.file, p.at, p.zh, p.en),
            ps => {
                write!(f, "{}: {} 处问题 / {} problems", self.file, ps.len(), ps.len())?;
                for p in ps {
                    write!(f, "\n  {}: {} / {}", p.at, p.zh, p.en)?;
                }
                Ok(())
            }
        }
    }
}

/// A sentence in both languages, for findings and verdicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

impl Text {
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Text {
        Text { zh: zh.into(), en: en.into() }
    }
}
