//! The burden a directive adds before it is issued: cadre-hours and visits per unit and
//! per week, rolled up to every ancestor (a village's figures count in its township,
//! county, prefecture and province, as on the burden dashboard).
//!
//! A task's cadre-hours and visits at a unit are spread evenly over the weekdays from
//! the issue date to the deadline (holidays are not subtracted), so a task due in two
//! weeks weighs twice as much per week as the same task due in four.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use tongxin_domain::{Level, UnitCode};

use crate::calendar::week_of;

/// The share of a task's work in each week (keyed by Monday) from `from` to `to`
/// inclusive: proportional to the weekdays of each week in the span. A span with no
/// weekday puts everything in the week of `to`.
pub fn weekly_shares(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, f64)> {
    let mut per_week: BTreeMap<NaiveDate, u32> = BTreeMap::new();
    let mut d = from;
    let mut total = 0u32;
    while d <= to {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            *per_week.entry(week_of(d)).or_default() += 1;
            total += 1;
        }
        d += Duration::days(1);
    }
    if total == 0 {
        return vec![(week_of(to), 1.0)];
    }
    per_week.into_iter().map(|(w, n)| (w, f64::from(n) / f64::from(total))).collect()
}

/// Cadre-hours and visits in one week.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeekLoad {
    #[serde(with = "crate::day")]
    pub week: NaiveDate,
    pub cadre_hours: f64,
    /// Expected visits (fractional: a visit's timing within the span is not known).
    pub visits: f64,
}

/// What the directive adds to one target unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitBurden {
    pub code: UnitCode,
    pub name: String,
    pub cadres: u32,
    pub cadre_hours: f64,
    pub visits: f64,
    pub weeks: Vec<WeekLoad>,
    /// The heaviest week's cadre-hours per cadre.
    pub peak_hours_per_cadre: f64,
}

/// What the directive adds to a unit's whole subtree (an ancestor of target units).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollupBurden {
    pub code: UnitCode,
    pub level: Level,
    /// Empty when the unit is not in the units list.
    pub name: String,
    /// Target units in the subtree.
    pub target_units: u32,
    pub cadre_hours: f64,
    pub visits: f64,
    #[serde(with = "crate::day")]
    pub peak_week: NaiveDate,
    pub peak_week_cadre_hours: f64,
}

/// The burden impact of a directive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BurdenImpact {
    pub total_cadre_hours: f64,
    pub total_visits: f64,
    /// All target units together, per week.
    pub weeks: Vec<WeekLoad>,
    /// Per target unit, by code.
    pub units: Vec<UnitBurden>,
    /// Per ancestor of the target units, by code (provinces first within a branch).
    pub rollup: Vec<RollupBurden>,
}

/// One task's contribution at its units, for [`impact`].
pub(crate) struct TaskLoad<'a> {
    pub units: &'a [usize],
    pub cadre_hours: f64,
    pub visits: f64,
    pub shares: &'a [(NaiveDate, f64)],
}

pub(crate) fn impact(index: &crate::directive::UnitIndex, tasks: &[TaskLoad<'_>]) -> BurdenImpact {
    // unit → week → (hours, visits)
    let mut per_unit: BTreeMap<usize, BTreeMap<NaiveDate, (f64, f64)>> = BTreeMap::new();
    for t in tasks {
        for &u in t.units {
            let weeks = per_unit.entry(u).or_default();
            for &(w, share) in t.shares {
                let cell = weeks.entry(w).or_default();
                cell.0 += t.cadre_hours * share;
                cell.1 += t.visits * share;
            }
        }
    }
    let mut total_weeks: BTreeMap<NaiveDate, (f64, f64)> = BTreeMap::new();
    // ancestor code → (target units, week → (hours, visits))
    type Weeks = BTreeMap<NaiveDate, (f64, f64)>;
    let mut anc: BTreeMap<UnitCode, (u32, Weeks)> = BTreeMap::new();
    let mut units = Vec::with_capacity(per_unit.len());
    for (u, weeks) in &per_unit {
        let unit = index.get(*u);
        let lineage = unit.code.lineage();
        let ancestors = &lineage[..lineage.len() - 1];
        for a in ancestors {
            anc.entry(a.clone()).or_default().0 += 1;
        }
        let mut wl = Vec::with_capacity(weeks.len());
        let (mut h, mut v, mut peak) = (0.0, 0.0, 0.0f64);
        for (&w, &(wh, wv)) in weeks {
            wl.push(WeekLoad { week: w, cadre_hours: wh, visits: wv });
            h += wh;
            v += wv;
            peak = peak.max(wh);
            let t = total_weeks.entry(w).or_default();
            t.0 += wh;
            t.1 += wv;
            for a in ancestors {
                let c = anc.get_mut(a).expect("inserted above").1.entry(w).or_default();
                c.0 += wh;
                c.1 += wv;
            }
        }
        units.push(UnitBurden {
            code: unit.code.clone(),
            name: unit.name.clone(),
            cadres: unit.cadres,
            cadre_hours: h,
            visits: v,
            weeks: wl,
            peak_hours_per_cadre: if unit.cadres > 0 { peak / f64::from(unit.cadres) } else { peak },
        });
    }
    let rollup = anc
        .into_iter()
        .map(|(code, (n, weeks))| {
            let (h, v) = weeks.values().fold((0.0, 0.0), |acc, c| (acc.0 + c.0, acc.1 + c.1));
            let (peak_week, peak) = weeks
                .iter()
                .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
                .map(|(w, c)| (*w, c.0))
                .unwrap_or((NaiveDate::MIN, 0.0));
            RollupBurden {
                level: code.level(),
                name: index.find(&code).map(|i| index.get(i).name.clone()).unwrap_or_default(),
                code,
                target_units: n,
                cadre_hours: h,
                visits: v,
                peak_week,
                peak_week_cadre_hours: peak,
            }
        })
        .collect();
    let weeks: Vec<WeekLoad> =
        total_weeks.into_iter().map(|(week, (h, v))| WeekLoad { week, cadre_hours: h, visits: v }).collect();
    BurdenImpact {
        total_cadre_hours: weeks.iter().map(|w| w.cadre_hours).sum(),
        total_visits: weeks.iter().map(|w| w.visits).sum(),
        weeks,
        units,
        rollup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_follow_weekdays_and_sum_to_one() {
        let d = |s| crate::day::parse(s).unwrap();
        // Wed 2026-03-04 .. Tue 2026-03-10: 3 weekdays in the first week, 2 in the next.
        let s = weekly_shares(d("2026-03-04"), d("2026-03-10"));
        assert_eq!(s.len(), 2);
        assert!((s[0].1 - 0.6).abs() < 1e-9 && (s[1].1 - 0.4).abs() < 1e-9);
        // A weekend-only span.
        assert_eq!(weekly_shares(d("2026-03-07"), d("2026-03-08")), vec![(d("2026-03-02"), 1.0)]);
    }
}
