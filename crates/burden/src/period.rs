//! Calendar periods as small integers, so rollup cells and rule groups are cheap keys.

use chrono::{Datelike, Duration, NaiveDate};
use serde::Serialize;
use tongxin_rules::Period;

/// A period and its index: weeks count Mondays since 0001-01-01 (ISO weeks), months are
/// `year * 12 + month0`, quarters `year * 4 + quarter0`, years the year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct PeriodIndex {
    pub period: PeriodKind,
    pub index: i32,
}

/// [`Period`] with an order and a compact form, for keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Week,
    Month,
    Quarter,
    Year,
}

impl From<Period> for PeriodKind {
    fn from(p: Period) -> PeriodKind {
        match p {
            Period::Week => PeriodKind::Week,
            Period::Month => PeriodKind::Month,
            Period::Quarter => PeriodKind::Quarter,
            Period::Year => PeriodKind::Year,
        }
    }
}

impl PeriodKind {
    pub const ALL: [PeriodKind; 4] =
        [PeriodKind::Week, PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::Week => "week",
            PeriodKind::Month => "month",
            PeriodKind::Quarter => "quarter",
            PeriodKind::Year => "year",
        }
    }

    pub fn parse(s: &str) -> Option<PeriodKind> {
        PeriodKind::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn of(self, d: NaiveDate) -> PeriodIndex {
        let index = match self {
            PeriodKind::Week => (d.num_days_from_ce() - 1) / 7,
            PeriodKind::Month => d.year() * 12 + d.month0() as i32,
            PeriodKind::Quarter => d.year() * 4 + d.month0() as i32 / 3,
            PeriodKind::Year => d.year(),
        };
        PeriodIndex { period: self, index }
    }
}

impl PeriodIndex {
    /// The first day of the period.
    pub fn start(self) -> NaiveDate {
        let ymd = |y: i32, m0: i32| NaiveDate::from_ymd_opt(y, m0 as u32 + 1, 1).unwrap_or(NaiveDate::MIN);
        match self.period {
            PeriodKind::Week => {
                NaiveDate::from_num_days_from_ce_opt(self.index * 7 + 1).unwrap_or(NaiveDate::MIN)
            }
            PeriodKind::Month => ymd(self.index.div_euclid(12), self.index.rem_euclid(12)),
            PeriodKind::Quarter => ymd(self.index.div_euclid(4), self.index.rem_euclid(4) * 3),
            PeriodKind::Year => ymd(self.index, 0),
        }
    }

    /// The last day of the period.
    pub fn end(self) -> NaiveDate {
        let next = PeriodIndex { period: self.period, index: self.index + 1 }.start();
        next - Duration::days(1)
    }

    /// How the period is written in zh and en (2026年第3周 / week of 2026-01-12, 2026年3月 / 2026-03, …).
    pub fn label(self) -> (String, String) {
        let s = self.start();
        match self.period {
            PeriodKind::Week => {
                (format!("{}当周", s.format("%Y-%m-%d")), format!("week of {}", s.format("%Y-%m-%d")))
            }
            PeriodKind::Month => (format!("{}年{}月", s.year(), s.month()), s.format("%Y-%m").to_string()),
            PeriodKind::Quarter => {
                let q = s.month0() / 3 + 1;
                (format!("{}年第{}季度", s.year(), q), format!("{} Q{}", s.year(), q))
            }
            PeriodKind::Year => (format!("{}年", s.year()), s.year().to_string()),
        }
    }

    /// The months a quarter or year is made of (a month is itself; weeks have none).
    pub fn months(self) -> Vec<PeriodIndex> {
        let month = |index| PeriodIndex { period: PeriodKind::Month, index };
        match self.period {
            PeriodKind::Week => Vec::new(),
            PeriodKind::Month => vec![self],
            PeriodKind::Quarter => (0..3).map(|i| month(self.index * 3 + i)).collect(),
            PeriodKind::Year => (0..12).map(|i| month(self.index * 12 + i)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn weeks_start_on_monday_and_periods_contain_their_days() {
        for day in 0..800 {
            let date = d(2025, 1, 1) + Duration::days(day);
            for p in PeriodKind::ALL {
                let i = p.of(date);
                assert!(i.start() <= date && date <= i.end(), "{p:?} {date}");
            }
            assert_eq!(PeriodKind::Week.of(date).start().weekday(), chrono::Weekday::Mon);
        }
        assert_eq!(PeriodKind::Quarter.of(d(2026, 5, 3)).start(), d(2026, 4, 1));
        assert_eq!(PeriodKind::Month.of(d(2026, 12, 31)).end(), d(2026, 12, 31));
        assert_eq!(PeriodKind::Year.of(d(2026, 2, 1)).months().len(), 12);
        assert_eq!(PeriodKind::Quarter.of(d(2026, 2, 1)).label().0, "2026年第1季度");
    }
}
