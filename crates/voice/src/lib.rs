//! Safe voice (交底通道): the domain of reports a grassroots cadre files to an upper-level
//! body, anonymously or by name, and of the closed loop that answers them.
//!
//! - [`report`]: the report, its structured content and who filed it;
//! - [`machine`]: the closed loop (submitted → acknowledged → answered → closed, reopen,
//!   escalation) as one transition function, [`machine::apply`];
//! - [`calendar`]: working days (weekends, holidays, 调休 make-up days) from a text file;
//! - [`limits`]: time limits in working days, deadlines and overdue reports;
//! - [`escalation`]: who an overdue report escalates to;
//! - [`receipt`]: the receipt secret shown once to the submitter and its stored hash;
//! - [`entry`]: the canonical transparency-log entry of every transition, with a
//!   commitment to its content instead of the content;
//! - [`rates`]: public per-body response rates with k-anonymity suppression;
//! - [`anonymity`]: whether a disclosure scope may be chosen, and the meter text.
//!
//! Like `tongxin-domain`, this crate knows no HTTP, SQL or files (the shipped calendar is
//! compiled in), and never reads the clock: every time is a parameter.

pub mod anonymity;
pub mod calendar;
pub mod entry;
pub mod escalation;
pub mod limits;
pub mod machine;
pub mod rates;
pub mod receipt;
pub mod report;

pub use anonymity::{DEFAULT_K, Meter, can_choose_scope, meter};
pub use calendar::{CalendarError, DayKind, WorkCalendar, china_date, china_midnight};
pub use entry::{
    EntryError, LogEntry, Opening, ReportRef, commit, event_content, event_content_text, verify_commitment,
};
pub use escalation::{Hierarchy, escalation_chain, escalation_targets};
pub use limits::{Deadline, Deadlines, Overdue, TimeLimits, Which, deadlines, overdue};
pub use machine::{
    CloseReason, EscalationCause, Event, EventKind, MAX_ESCALATION, Party, Policy, Transition,
    TransitionError, apply,
};
pub use rates::{BodyRates, Figure, Period, RateKey, Ratio, response_rates};
pub use receipt::{ReceiptHash, ReceiptSecret};
pub use report::{Content, Identity, Rating, Report, State};
