//! Calendar and working days. A working day is Monday to Friday, minus the listed
//! holidays, plus the listed make-up working days (调休上班日, often a Saturday or Sunday).

use std::collections::BTreeSet;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// Whether a step's durations count calendar days or working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    #[default]
    Calendar,
    Working,
}

impl DayKind {
    pub fn zh(self) -> &'static str {
        match self {
            DayKind::Calendar => "日",
            DayKind::Working => "个工作日",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            DayKind::Calendar => "days",
            DayKind::Working => "working days",
        }
    }
}

/// Holidays and make-up working days, e.g. from the State Council's yearly notice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// Weekdays that are not working days.
    #[serde(default, with = "crate::day::vec")]
    pub holidays: Vec<NaiveDate>,
    /// Weekend days that are working days.
    #[serde(default, with = "crate::day::vec")]
    pub workdays: Vec<NaiveDate>,
}

impl Calendar {
    pub fn is_working(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&d)
    }

    /// This calendar with `other`'s days added.
    pub fn merged(&self, other: &Calendar) -> Calendar {
        let h: BTreeSet<NaiveDate> = self.holidays.iter().chain(&other.holidays).copied().collect();
        let w: BTreeSet<NaiveDate> = self.workdays.iter().chain(&other.workdays).copied().collect();
        Calendar { holidays: h.into_iter().collect(), workdays: w.into_iter().collect() }
    }
}

/// Day arithmetic from an origin date (the issue date), in whole days: offset 0 is the
/// origin. A step that starts at offset `s` and lasts `n` calendar days ends at `s + n`;
/// one of `n` working days ends the day after its `n`-th working day counted from `s`.
/// Lookups are O(1) on tables that grow on demand, so Monte Carlo runs stay cheap.
#[derive(Debug, Clone)]
pub(crate) struct DayIndex {
    origin: NaiveDate,
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
    /// `prefix[x]`: working days in offsets `[0, x)`.
    prefix: Vec<u32>,
    /// `nth[k]`: offset of the `k`-th working day (0-based).
    nth: Vec<u32>,
}

impl DayIndex {
    pub fn new(calendar: &Calendar, origin: NaiveDate) -> DayIndex {
        let mut d = DayIndex {
            origin,
            holidays: calendar.holidays.iter().copied().collect(),
            workdays: calendar.workdays.iter().copied().collect(),
            prefix: vec![0],
            nth: Vec::new(),
        };
        d.grow_days(400);
        d
    }

    fn working(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !self.holidays.contains(&date)
    }

    /// Extends the tables to cover at least `days` offsets.
    fn grow_days(&mut self, days: usize) {
        while self.prefix.len() <= days {
            let x = self.prefix.len() - 1;
            let date = self.origin + Duration::days(x as i64);
            let w = self.working(date);
            if w {
                self.nth.push(x as u32);
            }
            let last = *self.prefix.last().expect("non-empty");
            self.prefix.push(last + u32::from(w));
        }
    }

    /// The end offset of `n` working days starting at offset `start`.
    pub fn end_working(&mut self, start: u32, n: u32) -> u32 {
        if n == 0 {
            return start;
        }
        self.grow_days(start as usize + 1);
        let k = (self.prefix[start as usize] + n - 1) as usize;
        while self.nth.len() <= k {
            let len = self.prefix.len();
            self.grow_days(len * 2);
        }
        self.nth[k] + 1
    }

    pub fn end(&mut self, kind: DayKind, start: u32, n: u32) -> u32 {
        match kind {
            DayKind::Calendar => start + n,
            DayKind::Working => self.end_working(start, n),
        }
    }
}

/// The Monday of `d`'s week: weeks are keyed by their Monday everywhere in this crate.
pub fn week_of(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        crate::day::parse(s).unwrap()
    }

    #[test]
    fn working_days_skip_weekends_and_holidays_and_count_makeup_days() {
        // 2026-03-02 is a Monday.
        let mut d = DayIndex::new(&Calendar::default(), date("2026-03-02"));
        assert_eq!(d.end_working(0, 5), 5); // Mon..Fri, ends Saturday (offset 5)
        assert_eq!(d.end_working(0, 6), 8); // next Monday is offset 7, ends offset 8
        assert_eq!(d.end_working(5, 1), 8); // starting Saturday: Monday is the first working day
        assert_eq!(d.end_working(3, 0), 3);
        let cal = Calendar { holidays: vec![date("2026-03-03")], workdays: vec![date("2026-03-07")] };
        let mut d = DayIndex::new(&cal, date("2026-03-02"));
        // Mon, (Tue off), Wed, Thu, Fri, Sat (make-up) = 5 working days ending Saturday.
        assert_eq!(d.end_working(0, 5), 6);
        // Far beyond the initial table.
        let mut d = DayIndex::new(&Calendar::default(), date("2026-03-02"));
        assert_eq!(d.end_working(0, 5 * 300), 7 * 300 - 2);
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_of(date("2026-03-08")), date("2026-03-02"));
        assert_eq!(week_of(date("2026-03-02")), date("2026-03-02"));
    }
}
