//! Public response rates, per body and per unit, with k-anonymity suppression.
//!
//! Figures (each over its own set of reports):
//! - **received**: reports addressed to the body (currently), filed in the period;
//! - **acknowledged on time**: of the reports whose acknowledgement is decided (made, or
//!   its limit passed), those acknowledged within the limit;
//! - **answered on time**: likewise for the answer of the current round;
//! - **resolved**: of the rated reports, those the submitter says are resolved;
//! - **mean satisfaction**: over the rated reports (1–5);
//! - **median working days to answer**: over the answered reports, from the filing (or
//!   the last reopen) to the answer.
//!
//! Protection against singling out a small group:
//! - every figure computed over fewer than `k` reports is [`Figure::Suppressed`] (its
//!   count too);
//! - aggregates exist only at two fixed levels, the body and the unit the body sits at,
//!   and only for fixed, disjoint periods (calendar years, by the filing's date in
//!   China); there is no query for an arbitrary subset or window;
//! - a unit figure is also suppressed when the reports of its suppressed body figures add
//!   up to between 1 and `k - 1`: otherwise "unit minus the published bodies" would give
//!   the figure of that small remainder (complementary suppression).
//!
//! Unaddressed reports (still with the office for routing) count for no body.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use tongxin_domain::UnitCode;
use uuid::Uuid;

use crate::calendar::{WorkCalendar, china_date};
use crate::limits::{TimeLimits, deadlines};
use crate::report::Report;

/// A published figure, or nothing when too few reports stand behind it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Figure<T> {
    Value(T),
    Suppressed,
}

impl<T> Figure<T> {
    pub fn value(self) -> Option<T> {
        match self {
            Figure::Value(v) => Some(v),
            Figure::Suppressed => None,
        }
    }
}

/// `numerator` of `denominator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    pub numerator: u32,
    pub denominator: u32,
}

impl Ratio {
    pub fn rate(self) -> f64 {
        f64::from(self.numerator) / f64::from(self.denominator)
    }
}

/// The fixed levels of aggregation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "level", content = "id", rename_all = "snake_case")]
pub enum RateKey {
    Body(Uuid),
    Unit(UnitCode),
}

/// The fixed periods. Only calendar years: periods never overlap, so no two published
/// figures differ by a small set of reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Period {
    Year(i32),
}

impl Period {
    fn contains(self, at: DateTime<Utc>) -> bool {
        match self {
            Period::Year(y) => china_date(at).year() == y,
        }
    }
}

/// The published figures of one body or unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BodyRates {
    pub key: RateKey,
    pub received: Figure<u32>,
    pub acknowledged_on_time: Figure<Ratio>,
    pub answered_on_time: Figure<Ratio>,
    pub resolved: Figure<Ratio>,
    pub mean_satisfaction: Figure<f64>,
    pub median_working_days_to_answer: Figure<f64>,
}

#[derive(Debug, Clone, Default)]
struct Acc {
    received: u32,
    ack: Vec<bool>,
    answer: Vec<bool>,
    resolved: Vec<bool>,
    satisfaction: Vec<u8>,
    days: Vec<i64>,
}

impl Acc {
    fn merge(&mut self, o: &Acc) {
        self.received += o.received;
        self.ack.extend(&o.ack);
        self.answer.extend(&o.answer);
        self.resolved.extend(&o.resolved);
        self.satisfaction.extend(&o.satisfaction);
        self.days.extend(&o.days);
    }

    /// The sizes behind each figure, in the order of `BodyRates`.
    fn sizes(&self) -> [usize; 6] {
        [
            self.received as usize,
            self.ack.len(),
            self.answer.len(),
            self.resolved.len(),
            self.satisfaction.len(),
            self.days.len(),
        ]
    }

    fn figures(&self, key: RateKey, suppress: [bool; 6]) -> BodyRates {
        let ratio = |v: &[bool]| Ratio {
            numerator: v.iter().filter(|&&b| b).count() as u32,
            denominator: v.len() as u32,
        };
        let fig =
            |i: usize, f: &dyn Fn() -> f64| if suppress[i] { Figure::Suppressed } else { Figure::Value(f()) };
        let figr =
            |i: usize, v: &[bool]| if suppress[i] { Figure::Suppressed } else { Figure::Value(ratio(v)) };
        BodyRates {
            key,
            received: if suppress[0] { Figure::Suppressed } else { Figure::Value(self.received) },
            acknowledged_on_time: figr(1, &self.ack),
            answered_on_time: figr(2, &self.answer),
            resolved: figr(3, &self.resolved),
            mean_satisfaction: fig(4, &|| {
                self.satisfaction.iter().map(|&s| f64::from(s)).sum::<f64>() / self.satisfaction.len() as f64
            }),
            median_working_days_to_answer: fig(5, &|| {
                let mut d = self.days.clone();
                d.sort_unstable();
                let n = d.len();
                if n % 2 == 1 { d[n / 2] as f64 } else { (d[n / 2 - 1] + d[n / 2]) as f64 / 2.0 }
            }),
        }
    }
}

/// The response rates of every body with reports in `period`, then of every unit those
/// bodies sit at (`unit_of` gives a body's unit; bodies it does not know get no unit
/// figure). `now` decides which limits have passed. Bodies first, then units, each sorted.
pub fn response_rates(
    reports: &[Report],
    unit_of: impl Fn(Uuid) -> Option<UnitCode>,
    period: Period,
    now: DateTime<Utc>,
    calendar: &WorkCalendar,
    limits: &TimeLimits,
    k: u32,
) -> Vec<BodyRates> {
    let k = k.max(1) as usize;
    let mut bodies: BTreeMap<Uuid, Acc> = BTreeMap::new();
    for r in reports {
        let Some(body) = r.addressed else { continue };
        if !period.contains(r.submitted_at) {
            continue;
        }
        let d = deadlines(r, calendar, limits);
        let acc = bodies.entry(body).or_default();
        acc.received += 1;
        match r.acknowledged_at {
            Some(a) => acc.ack.push(d.acknowledge.met_by(a)),
            None if now >= d.acknowledge.late_from => acc.ack.push(false),
            None => {}
        }
        match r.answered_at {
            Some(a) => {
                acc.answer.push(d.answer.met_by(a));
                let start = r.reopened_at.unwrap_or(r.submitted_at);
                acc.days.push(calendar.working_days_between(china_date(start), china_date(a)));
            }
            None if now >= d.answer.late_from => acc.answer.push(false),
            None => {}
        }
        if let Some(rating) = r.rating {
            acc.resolved.push(rating.resolved);
            acc.satisfaction.push(rating.satisfaction);
        }
    }

    let small = |sizes: [usize; 6]| sizes.map(|n| n < k);
    let mut out = Vec::new();
    // Per unit: merged reports, and per figure the reports behind suppressed body figures.
    let mut units: BTreeMap<UnitCode, (Acc, [usize; 6])> = BTreeMap::new();
    for (&id, acc) in &bodies {
        let sizes = acc.sizes();
        let suppress = small(sizes);
        out.push(acc.figures(RateKey::Body(id), suppress));
        if let Some(unit) = unit_of(id) {
            let (u, residual) = units.entry(unit).or_default();
            u.merge(acc);
            for i in 0..6 {
                if suppress[i] {
                    residual[i] += sizes[i];
                }
            }
        }
    }
    for (code, (acc, residual)) in units {
        let mut suppress = small(acc.sizes());
        for i in 0..6 {
            suppress[i] |= residual[i] > 0 && residual[i] < k;
        }
        out.push(acc.figures(RateKey::Unit(code), suppress));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Event, Policy, apply};
    use crate::report::Rating;
    use chrono::{Duration, TimeZone};

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).unwrap()
    }

    /// `n` reports to `body`: acknowledged the same day, answered after `answer_days`
    /// calendar days, rated `sat` (resolved when sat ≥ 4).
    fn reports(body: u128, n: usize, answer_days: i64, sat: u8) -> Vec<Report> {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let p = Policy { calendar: &cal, limits: &limits };
        (0..n)
            .map(|_| {
                let mut r = crate::machine::tests::sample(t0());
                r.addressed = Some(Uuid::from_u128(body));
                apply(&mut r, Event::Acknowledge, t0() + Duration::hours(1), &p).unwrap();
                apply(&mut r, Event::Answer, t0() + Duration::days(answer_days), &p).unwrap();
                let rating = Rating::new(sat, sat >= 4).unwrap();
                apply(&mut r, Event::Rate { rating }, t0() + Duration::days(answer_days + 1), &p).unwrap();
                r
            })
            .collect()
    }

    fn unit_of(id: Uuid) -> Option<UnitCode> {
        Some(UnitCode::parse(if id.as_u128() < 10 { "3501" } else { "3502" }).unwrap())
    }

    #[test]
    fn figures_and_suppression() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let mut all = reports(1, 10, 2, 5);
        all.extend(reports(2, 3, 30, 1)); // small body, answered late
        all.extend(reports(11, 12, 1, 4));
        all.extend(reports(12, 15, 3, 3));
        let now = t0() + Duration::days(90);
        let rates = response_rates(&all, unit_of, Period::Year(2026), now, &cal, &limits, 10);
        let get = |key: RateKey| rates.iter().find(|r| r.key == key).unwrap().clone();
        let b1 = get(RateKey::Body(Uuid::from_u128(1)));
        assert_eq!(b1.received, Figure::Value(10));
        assert_eq!(b1.acknowledged_on_time, Figure::Value(Ratio { numerator: 10, denominator: 10 }));
        assert_eq!(b1.answered_on_time.value().unwrap().rate(), 1.0);
        assert_eq!(b1.mean_satisfaction, Figure::Value(5.0));
        assert_eq!(b1.resolved, Figure::Value(Ratio { numerator: 10, denominator: 10 }));
        // Mon 3/2 → Wed 3/4: two working days.
        assert_eq!(b1.median_working_days_to_answer, Figure::Value(2.0));
        let b2 = get(RateKey::Body(Uuid::from_u128(2)));
        assert_eq!(b2.received, Figure::Suppressed);
        assert_eq!(b2.mean_satisfaction, Figure::Suppressed);
        // Unit 3501 = body 1 (10) + body 2 (3, suppressed): publishing it would reveal body
        // 2's three reports by subtraction, so it is suppressed too.
        let u1 = get(RateKey::Unit(UnitCode::parse("3501").unwrap()));
        assert_eq!(u1.received, Figure::Suppressed);
        assert_eq!(u1.answered_on_time, Figure::Suppressed);
        // Unit 3502: both bodies published, so is the unit.
        let u2 = get(RateKey::Unit(UnitCode::parse("3502").unwrap()));
        assert_eq!(u2.received, Figure::Value(27));
        assert_eq!(u2.resolved, Figure::Value(Ratio { numerator: 12, denominator: 27 }));
        assert_eq!(u2.median_working_days_to_answer, Figure::Value(3.0));
        // Another year: nothing.
        assert!(response_rates(&all, unit_of, Period::Year(2025), now, &cal, &limits, 10).is_empty());
        // k = 3: body 2 is published, and answered late.
        let r3 = response_rates(&all, unit_of, Period::Year(2026), now, &cal, &limits, 3);
        let b2 = r3.iter().find(|r| r.key == RateKey::Body(Uuid::from_u128(2))).unwrap();
        assert_eq!(b2.answered_on_time, Figure::Value(Ratio { numerator: 0, denominator: 3 }));
    }

    #[test]
    fn undecided_limits_do_not_count() {
        let cal = WorkCalendar::cn_default();
        let limits = TimeLimits::default();
        let mut all = Vec::new();
        for _ in 0..12 {
            let mut r = crate::machine::tests::sample(t0());
            r.addressed = Some(Uuid::from_u128(1));
            all.push(r);
        }
        // Next day: nothing decided yet.
        let soon =
            response_rates(&all, unit_of, Period::Year(2026), t0() + Duration::days(1), &cal, &limits, 10);
        assert_eq!(soon[0].received, Figure::Value(12));
        assert_eq!(soon[0].acknowledged_on_time, Figure::Suppressed);
        // A month later: all late for both.
        let later =
            response_rates(&all, unit_of, Period::Year(2026), t0() + Duration::days(40), &cal, &limits, 10);
        assert_eq!(later[0].acknowledged_on_time, Figure::Value(Ratio { numerator: 0, denominator: 12 }));
        assert_eq!(later[0].answered_on_time, Figure::Value(Ratio { numerator: 0, denominator: 12 }));
    }
}
