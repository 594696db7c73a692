//! Time limits in working days, the deadlines they give a report, and lateness.
//!
//! A limit of `n` working days on an event at instant `t` means: the event is due by the
//! end (24:00, Beijing time) of the `n`-th working day after the Chinese date of `t`. The
//! day of filing never counts, so a report filed at 23:59 on a Friday before a holiday
//! week gets the same limit as one filed at 08:00 that Friday.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{WorkCalendar, china_date, china_midnight};
use crate::report::{Report, State};

/// The limits of the loop, in working days. Defaults: acknowledge within 3, answer
/// within 15 (the 15 working days of the 12388 rules for acknowledging real-name reports;
/// 3 for acknowledging is this project's own, stricter default), close 10 working days
/// after an unrated answer, reopen within 15 working days of the answer, at most twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeLimits {
    pub acknowledge: u32,
    pub answer: u32,
    pub quiet_close: u32,
    pub reopen_within: u32,
    pub max_reopens: u8,
}

impl Default for TimeLimits {
    fn default() -> Self {
        TimeLimits { acknowledge: 3, answer: 15, quiet_close: 10, reopen_within: 15, max_reopens: 2 }
    }
}

/// Which time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    Acknowledge,
    Answer,
}

/// One deadline: the last Chinese date on which the event is on time, and the instant
/// (00:00 Beijing time the next day, in UTC) from which it is late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub due_date: NaiveDate,
    pub late_from: DateTime<Utc>,
}

impl Deadline {
    fn after(start: DateTime<Utc>, days: u32, calendar: &WorkCalendar) -> Deadline {
        let due_date = calendar.add_working_days(china_date(start), days);
        let next = due_date.checked_add_days(Days::new(1)).expect("date in range");
        Deadline { due_date, late_from: china_midnight(next) }
    }

    /// True when an event at `at` meets this deadline.
    pub fn met_by(&self, at: DateTime<Utc>) -> bool {
        at < self.late_from
    }

    /// Working days left from `now`'s date to the due date (negative when late): the
    /// countdown shown in a body's inbox.
    pub fn working_days_left(&self, now: DateTime<Utc>, calendar: &WorkCalendar) -> i64 {
        calendar.working_days_between(china_date(now), self.due_date)
    }
}

/// The deadlines of a report's current round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    /// Counted from the filing.
    pub acknowledge: Deadline,
    /// Counted from the filing, or from the last reopen.
    pub answer: Deadline,
}

pub fn deadlines(report: &Report, calendar: &WorkCalendar, limits: &TimeLimits) -> Deadlines {
    Deadlines {
        acknowledge: Deadline::after(report.submitted_at, limits.acknowledge, calendar),
        answer: Deadline::after(report.reopened_at.unwrap_or(report.submitted_at), limits.answer, calendar),
    }
}

/// A report that missed a time limit, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overdue {
    pub which: Which,
    pub since: DateTime<Utc>,
}

/// The lateness of a report at `now`: `Answer` when it is unanswered past the answer
/// limit (the graver lateness wins), `Acknowledge` when it is unacknowledged past that
/// limit, `None` otherwise (also for answered and closed reports).
pub fn overdue(
    report: &Report,
    now: DateTime<Utc>,
    calendar: &WorkCalendar,
    limits: &TimeLimits,
) -> Option<Overdue> {
    let d = deadlines(report, calendar, limits);
    match report.state {
        State::Answered | State::Closed => None,
        State::Submitted | State::Acknowledged if now >= d.answer.late_from => {
            Some(Overdue { which: Which::Answer, since: d.answer.late_from })
        }
        State::Submitted if now >= d.acknowledge.late_from => {
            Some(Overdue { which: Which::Acknowledge, since: d.acknowledge.late_from })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Event, Policy, apply};
    use chrono::{Duration, TimeZone};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn deadlines_over_the_spring_festival() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        // Filed Fri 2026-02-13 at 23:30 Beijing time.
        let at = Utc.with_ymd_and_hms(2026, 2, 13, 15, 30, 0).unwrap();
        let r = crate::machine::tests::sample(at);
        let dl = deadlines(&r, &cal, &limits);
        assert_eq!(dl.acknowledge.due_date, d("2026-02-25"));
        assert_eq!(dl.acknowledge.late_from, Utc.with_ymd_and_hms(2026, 2, 25, 16, 0, 0).unwrap());
        // 2/14, then 2/24 … 2/27, 2/28 (Sat, make-up), 3/2 … : the 15th is Thu 2026-03-12.
        assert_eq!(dl.answer.due_date, d("2026-03-12"));
        assert!(overdue(&r, dl.acknowledge.late_from - Duration::seconds(1), &cal, &limits).is_none());
        assert_eq!(
            overdue(&r, dl.acknowledge.late_from, &cal, &limits),
            Some(Overdue { which: Which::Acknowledge, since: dl.acknowledge.late_from })
        );
        assert_eq!(overdue(&r, dl.answer.late_from, &cal, &limits).map(|o| o.which), Some(Which::Answer));
        assert_eq!(dl.acknowledge.working_days_left(at, &cal), 3);
        assert_eq!(dl.acknowledge.working_days_left(dl.answer.late_from, &cal), -13);
        // Weekends only, the same filing is due Wed 2/18.
        let plain = deadlines(&r, &WorkCalendar::weekends_only(), &limits);
        assert_eq!(plain.acknowledge.due_date, d("2026-02-18"));
    }

    #[test]
    fn answered_reports_are_never_overdue_and_reopen_restarts_the_clock() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let p = Policy { calendar: &cal, limits: &limits };
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap();
        let mut r = crate::machine::tests::sample(at);
        apply(&mut r, Event::Answer, at + Duration::days(1), &p).unwrap();
        assert!(overdue(&r, at + Duration::days(60), &cal, &limits).is_none());
        let reopen = at + Duration::days(7);
        apply(&mut r, Event::Reopen, reopen, &p).unwrap();
        let dl = deadlines(&r, &cal, &limits);
        assert_eq!(dl.answer.due_date, cal.add_working_days(china_date(reopen), 15));
        assert!(overdue(&r, dl.answer.late_from - Duration::seconds(1), &cal, &limits).is_none());
        assert_eq!(overdue(&r, dl.answer.late_from, &cal, &limits).unwrap().which, Which::Answer);
    }
}
