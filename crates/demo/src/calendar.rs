//! Working days of the demo year: weekends and the main public holidays (元旦, 春节,
//! 清明, 劳动节, 国庆) are not working days, so generated meetings and visits fall on
//! days when offices are open. Make-up working weekends (调休) are ignored.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Weekday};
use rand::Rng;

/// 春节 (first day of the lunar year) for the years the demo is likely to be run for.
const SPRING_FESTIVAL: &[(i32, u32, u32)] = &[
    (2020, 1, 25),
    (2021, 2, 12),
    (2022, 2, 1),
    (2023, 1, 22),
    (2024, 2, 10),
    (2025, 1, 29),
    (2026, 2, 17),
    (2027, 2, 6),
    (2028, 1, 26),
    (2029, 2, 13),
    (2030, 2, 3),
    (2031, 1, 23),
    (2032, 2, 11),
    (2033, 1, 31),
    (2034, 2, 19),
    (2035, 2, 8),
];

pub(crate) struct Calendar {
    pub year: i32,
    first: NaiveDate,
    last: NaiveDate,
    spring: NaiveDate,
}

impl Calendar {
    /// `None` when the year has no representable dates (checked by the caller's range).
    pub fn new(year: i32) -> Option<Calendar> {
        let (m, d) =
            SPRING_FESTIVAL.iter().find(|(y, _, _)| *y == year).map(|(_, m, d)| (*m, *d)).unwrap_or((2, 5));
        Some(Calendar {
            year,
            first: NaiveDate::from_ymd_opt(year, 1, 1)?,
            last: NaiveDate::from_ymd_opt(year, 12, 31)?,
            spring: NaiveDate::from_ymd_opt(year, m, d)?,
        })
    }

    pub fn first(&self) -> NaiveDate {
        self.first
    }

    pub fn last(&self) -> NaiveDate {
        self.last
    }

    pub fn date(&self, month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, month, day).unwrap_or(self.first)
    }

    fn is_holiday(&self, d: NaiveDate) -> bool {
        let (m, day) = (d.month(), d.day());
        let spring_eve = self.spring - Days::new(1);
        (m == 1 && day == 1)
            || (d >= spring_eve && d <= self.spring + Days::new(6))
            || (m == 4 && (4..=6).contains(&day))
            || (m == 5 && (1..=5).contains(&day))
            || (m == 10 && (1..=7).contains(&day))
    }

    pub fn is_workday(&self, d: NaiveDate) -> bool {
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.is_holiday(d)
    }

    /// The first working day on or after `d`.
    pub fn on_or_after(&self, mut d: NaiveDate) -> NaiveDate {
        while !self.is_workday(d) {
            d = d + Days::new(1);
        }
        d
    }

    /// The first working day on or before `d`.
    pub fn on_or_before(&self, mut d: NaiveDate) -> NaiveDate {
        while !self.is_workday(d) {
            d = d - Days::new(1);
        }
        d
    }

    /// The `n`-th working day after `d` (`d` itself when `n` is 0 and `d` is one).
    pub fn add_workdays(&self, d: NaiveDate, n: u32) -> NaiveDate {
        let mut d = self.on_or_after(d);
        for _ in 0..n {
            d = self.on_or_after(d + Days::new(1));
        }
        d
    }

    /// Working days in `[from, to]`.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        from.iter_days().take_while(|d| *d <= to).filter(|d| self.is_workday(*d)).count() as u32
    }

    /// A uniformly drawn working day in `[from, to]` (`from` itself if there is none).
    pub fn random_workday<R: Rng>(&self, rng: &mut R, from: NaiveDate, to: NaiveDate) -> NaiveDate {
        let span = (to - from).num_days().max(0) as u64;
        for _ in 0..16 {
            let d = from + Days::new(rng.random_range(0..=span));
            if self.is_workday(d) {
                return d;
            }
        }
        let d = self.on_or_after(from);
        if d <= to { d } else { from }
    }

    /// A working day anywhere in the year.
    pub fn random_workday_in_year<R: Rng>(&self, rng: &mut R) -> NaiveDate {
        self.random_workday(rng, self.first, self.last)
    }

    /// The Monday of the `n`-th (1-based) full week starting in `month`.
    pub fn nth_monday(&self, month: u32, n: u32) -> NaiveDate {
        let mut d = self.date(month, 1);
        while d.weekday() != Weekday::Mon {
            d = d + Days::new(1);
        }
        d + Days::new(7 * u64::from(n.saturating_sub(1)))
    }
}

/// `d` at `h:m`.
pub(crate) fn at(d: NaiveDate, h: u32, m: u32) -> NaiveDateTime {
    d.and_hms_opt(h, m, 0).unwrap_or_else(|| d.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekends_and_holidays_are_skipped() {
        let c = Calendar::new(2026).unwrap();
        assert!(!c.is_workday(c.date(1, 1)));
        assert!(!c.is_workday(c.date(2, 18)), "春节");
        assert!(!c.is_workday(c.date(10, 2)), "国庆");
        assert!(!c.is_workday(c.date(3, 7)), "Saturday");
        assert!(c.is_workday(c.date(3, 9)));
        assert_eq!(c.add_workdays(c.date(3, 6), 1), c.date(3, 9));
        assert_eq!(c.on_or_before(c.date(3, 8)), c.date(3, 6));
        assert_eq!(c.nth_monday(6, 1), c.date(6, 1));
        assert_eq!(c.workdays_between(c.date(3, 2), c.date(3, 8)), 5);
    }
}
