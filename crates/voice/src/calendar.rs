//! Working days: Monday to Friday, minus public holidays, plus the weekend days the
//! State Council moves work onto (调休 make-up days).
//!
//! The calendar file format is plain text, one entry a line:
//!
//! ```text
//! # comment (also after an entry)
//! 2026-10-01 holiday 国庆节
//! 2026-10-10 workday 国庆节调休上班
//! ```
//!
//! `holiday` marks a day off (any day of the week); `workday` marks a Saturday or Sunday
//! as a working day (on a weekday it is refused as a likely typo). The name is required.
//! A date may appear once. Dates the file does not list follow the weekend rule, so a year
//! the file does not cover has no holidays: check [`WorkCalendar::covers`].
//!
//! Dates are Chinese dates: [`china_date`] converts an instant (UTC) to the date in
//! China Standard Time (UTC+8, no daylight saving).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};

/// The calendar shipped for 2026, from the State Council General Office's notice of
/// 2025-11-04 (see the file's header).
pub const CN_2026: &str = include_str!("../calendars/cn-2026.txt");

/// China Standard Time.
pub fn china_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// The date in China of an instant.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&china_offset()).date_naive()
}

/// The instant a Chinese date begins (00:00 CST), in UTC.
pub fn china_midnight(date: NaiveDate) -> DateTime<Utc> {
    china_offset()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("fixed offset is unambiguous")
        .with_timezone(&Utc)
}

/// What the calendar file says of one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    Holiday(String),
    Workday(String),
}

/// A problem in a calendar file, at `file:line`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for CalendarError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for CalendarError {}

/// Weekends plus the exceptions of one or more calendar files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    days: BTreeMap<NaiveDate, DayKind>,
    years: BTreeSet<i32>,
}

impl WorkCalendar {
    /// Monday to Friday, no holidays.
    pub fn weekends_only() -> WorkCalendar {
        WorkCalendar::default()
    }

    /// The shipped calendar: 2026 from the published notice.
    pub fn cn_default() -> WorkCalendar {
        WorkCalendar::parse("calendars/cn-2026.txt", CN_2026).expect("the shipped calendar parses")
    }

    /// Parses a calendar file; `file` only names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<WorkCalendar, CalendarError> {
        let mut cal = WorkCalendar::default();
        cal.add_file(file, text)?;
        Ok(cal)
    }

    /// Adds another file's entries (e.g. next year's, or a local extra holiday). A date
    /// already set by an earlier file is refused.
    pub fn add_file(&mut self, file: &str, text: &str) -> Result<(), CalendarError> {
        let mut added = BTreeMap::new();
        for (i, raw) in text.lines().enumerate() {
            let err = |message: String| CalendarError { file: file.to_owned(), line: i + 1, message };
            let line = raw.split('#').next().unwrap_or("").trim();
            let line = line.strip_prefix('\u{feff}').unwrap_or(line);
            if line.is_empty() {
                continue;
            }
            let mut parts = line.splitn(3, char::is_whitespace);
            let date_s = parts.next().unwrap_or("");
            let kind_s = parts.next().unwrap_or("");
            let name = parts.next().unwrap_or("").trim();
            let date = NaiveDate::parse_from_str(date_s, "%Y-%m-%d")
                .map_err(|_| err(format!("'{date_s}' is not a date (YYYY-MM-DD)")))?;
            if name.is_empty() {
                return Err(err("an entry needs a name after its kind".into()));
            }
            let kind = match kind_s {
                "holiday" => DayKind::Holiday(name.to_owned()),
                "workday" => {
                    if !is_weekend(date) {
                        return Err(err(format!(
                            "{date} is a {:?}, already a working day; \
                             'workday' is for 调休 make-up Saturdays and Sundays",
                            date.weekday()
                        )));
                    }
                    DayKind::Workday(name.to_owned())
                }
                other => {
                    return Err(err(format!("unknown kind '{other}': expected holiday or workday")));
                }
            };
            if self.days.contains_key(&date) || added.contains_key(&date) {
                return Err(err(format!("{date} is listed twice")));
            }
            added.insert(date, kind);
        }
        for (d, k) in added {
            self.years.insert(d.year());
            self.days.insert(d, k);
        }
        Ok(())
    }

    /// True when some file listed a date of `year` (so its holidays are presumably known).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The file's entry for a date, if any.
    pub fn entry(&self, date: NaiveDate) -> Option<&DayKind> {
        self.days.get(&date)
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.days.get(&date) {
            Some(DayKind::Holiday(_)) => false,
            Some(DayKind::Workday(_)) => true,
            None => !is_weekend(date),
        }
    }

    /// The `n`-th working day strictly after `date` (`date` itself when `n == 0`). A
    /// report filed on a holiday or late on a Friday therefore starts counting on the next
    /// working day.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> NaiveDate {
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d.checked_add_days(Days::new(1)).expect("date in range");
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// The number of working days `d` with `from < d <= to`; negative when `to < from`.
    /// So `working_days_between(a, add_working_days(a, n)) == n`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let mut count = 0;
        let mut d = from;
        while d < to {
            d = d.checked_add_days(Days::new(1)).expect("date in range");
            if self.is_working_day(d) {
                count += 1;
            }
        }
        count
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn shipped_2026_calendar_matches_the_notice() {
        let cal = WorkCalendar::cn_default();
        assert!(cal.covers(2026));
        assert!(!cal.covers(2027));
        let holidays = cal.days.values().filter(|k| matches!(k, DayKind::Holiday(_))).count();
        let workdays = cal.days.values().filter(|k| matches!(k, DayKind::Workday(_))).count();
        // 3 + 9 + 3 + 5 + 3 + 3 + 7 days off; make-up days 1/4, 2/14, 2/28, 5/9, 9/20, 10/10.
        assert_eq!(holidays, 33);
        assert_eq!(workdays, 6);
        for off in [
            "2026-01-01",
            "2026-02-15",
            "2026-02-23",
            "2026-04-06",
            "2026-05-05",
            "2026-06-19",
            "2026-09-25",
            "2026-10-07",
        ] {
            assert!(!cal.is_working_day(d(off)), "{off}");
        }
        for on in
            ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10", "2026-10-08"]
        {
            assert!(cal.is_working_day(d(on)), "{on}");
        }
        // Filed on the eve of the Spring Festival (Fri 2026-02-13): three working days
        // later is Wed 2026-02-25 (2/14 make-up Saturday, then 2/24, 2/25).
        assert_eq!(cal.add_working_days(d("2026-02-13"), 3), d("2026-02-25"));
        assert_eq!(cal.add_working_days(d("2026-02-12"), 1), d("2026-02-13"));
        assert_eq!(cal.add_working_days(d("2026-02-13"), 1), d("2026-02-14"));
        // 15 working days from 2026-09-18 (Fri) crosses the National Day week.
        assert_eq!(cal.add_working_days(d("2026-09-18"), 15), d("2026-10-15"));
    }

    #[test]
    fn parse_errors_name_file_and_line() {
        let cases = [
            ("2026-13-01 holiday x", 1, "not a date"),
            ("# c\n\n2026-01-01 vacation x", 3, "unknown kind"),
            ("2026-01-01 holiday", 1, "needs a name"),
            ("2026-01-05 workday x", 1, "already a working day"),
            ("2026-01-01 holiday a\n2026-01-01 holiday b", 2, "listed twice"),
        ];
        for (text, line, msg) in cases {
            let e = WorkCalendar::parse("x.txt", text).unwrap_err();
            assert_eq!((e.file.as_str(), e.line), ("x.txt", line), "{text}");
            assert!(e.message.contains(msg), "{e}");
            assert!(e.to_string().starts_with(&format!("x.txt:{line}: ")));
        }
        let ok = WorkCalendar::parse("y", "2026-01-03 workday 补班 # Saturday\n").unwrap();
        assert!(ok.is_working_day(d("2026-01-03")));
    }

    #[test]
    fn china_dates() {
        // 2026-01-01T16:30Z is 2026-01-02 00:30 in Beijing.
        let at = DateTime::parse_from_rfc3339("2026-01-01T16:30:00Z").unwrap().to_utc();
        assert_eq!(china_date(at), d("2026-01-02"));
        assert_eq!(china_midnight(d("2026-01-02")).to_rfc3339(), "2026-01-01T16:00:00+00:00");
    }

    proptest! {
        #[test]
        fn add_and_between_round_trip(offset in 0u32..900, n in 0u32..80) {
            let cal = WorkCalendar::cn_default();
            let a = d("2025-12-01").checked_add_days(Days::new(offset.into())).unwrap();
            let b = cal.add_working_days(a, n);
            prop_assert_eq!(cal.working_days_between(a, b), i64::from(n));
            prop_assert_eq!(cal.working_days_between(b, a), -i64::from(n));
            if n > 0 {
                prop_assert!(cal.is_working_day(b));
                // b is the first date at which n working days have passed.
                let before = b.pred_opt().unwrap();
                prop_assert_eq!(cal.working_days_between(a, before), i64::from(n) - 1);
            }
        }

        #[test]
        fn between_is_additive(x in 0u32..400, y in 0u32..400, z in 0u32..400) {
            let cal = WorkCalendar::cn_default();
            let base = d("2025-11-01");
            let [a, b, c] = [x, y, z].map(|o| base.checked_add_days(Days::new(o.into())).unwrap());
            prop_assert_eq!(
                cal.working_days_between(a, b) + cal.working_days_between(b, c),
                cal.working_days_between(a, c)
            );
        }
    }
}
