//! Directives before issuance (issue 6): can each deadline be met, which active
//! directives does the draft collide with, and what does it add to the units' burden.
//!
//! - [`template`]: process templates as TOML data (steps with minimum, typical and long
//!   durations in calendar or working days, dependencies, risky branches), shipped
//!   defaults citing their statutory sources, and jurisdiction edits (`extends`);
//! - [`directive`]: directives, tasks, target units, resources and typed requirements,
//!   read from TOML or JSON and validated with errors that name the task and field;
//! - [`feasibility`]: critical path, earliest completion, seeded Monte Carlo probability
//!   of meeting the deadline, the breaking step and the 80% deadline;
//! - [`conflict`]: contradictions, colliding deadlines and over-capacity weeks against
//!   active directives and the ledger;
//! - [`burden`]: cadre-hours and visits per unit and week, rolled up to ancestors;
//! - [`check()`]: all of it for one draft.
//!
//! Pure library: no storage or web types; every result type is serde-serializable.

pub mod burden;
pub mod calendar;
pub mod check;
pub mod conflict;
pub mod day;
pub mod directive;
pub mod error;
pub mod feasibility;
pub mod template;
pub mod workload;

pub use burden::{BurdenImpact, RollupBurden, UnitBurden, WeekLoad};
pub use calendar::{Calendar, DayKind};
pub use check::{
    CheckOptions, CheckReport, TaskCheck, UnitGroup, UnverifiedFigure, check, unverified_figures,
};
pub use conflict::{Conflict, ConflictKind, ConflictOptions, LedgerLoad, Severity, TaskRef};
pub use directive::{Directive, Requirement, Resources, Status, Targets, Task, UnitIndex};
pub use error::{Invalid, Problem, Text};
pub use feasibility::{BranchOutlook, Breaking, Feasibility, PathStep, Simulation, Verdict, assess};
pub use template::{Branch, Step, Template, TemplateSet, Verification};
