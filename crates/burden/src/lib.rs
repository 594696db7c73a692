//! The burden engine: evaluates a rule set over the ledger, pre-checks planned demands and
//! keeps the burden rollups current.
//!
//! The [`Engine`] holds the units, bodies and live demands in compact form, the current
//! [`Finding`]s grouped by rule group, and the rollups. [`Engine::load`] recomputes
//! everything; [`Engine::apply`] writes one demand and re-evaluates only the groups its old
//! and new version belong to, so the result always equals a full recomputation (a property
//! test holds it to that). [`Engine::precheck`] says what a planned demand would break,
//! what it should be merged with and what it adds to each target, without writing it.
//! Like the domain crate, it knows nothing of SQL or HTTP.

mod engine;
mod families;
pub mod fields;
pub mod period;
mod precheck;
mod rollup;
pub mod similar;
mod views;

pub use engine::{Engine, Finding, Text, Unknown};
pub use period::{PeriodIndex, PeriodKind};
pub use precheck::{Added, MergeCandidate, Precheck};
pub use rollup::Totals;
pub use views::{Cell, FindingFilter, Source, UnitRow};
