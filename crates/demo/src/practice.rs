//! What a demand is and what it requires beyond its costs: the flags and speech lengths
//! of the background demands, drawn at realistic rates, and the shapes of meetings.
//!
//! The shares are the demo's picture of a province that mostly keeps the rules, with the
//! minority that breaks them visible: about one inspection in ten is outside the filed
//! annual plan (more for work safety and disasters, which the plan exempts); about one
//! research visit in four asks for forms or materials; documents mostly run 1,500–4,500 characters,
//! about one in nine runs past 5,000 and a few specific-task documents past 4,000, and
//! about one in five demands an implementation report, supporting documents, a one-vote
//! veto or a pledge; meetings are mostly a morning with a 20–50 minute speech, about one
//! in nine has a speech of 70–90 minutes, one in twenty has group discussion over a day or
//! a day and a half (a few overrun to two and a half days), and a few training courses run
//! two full days; a fifth of meetings are convened by a deputy, and some of those still
//! summon the principal heads; half of app obligations force clock-in, downloads, uploads,
//! likes or rankings.
//!
//! Meeting lengths are chosen to be unambiguous however a day is counted (elapsed time or
//! working hours): a morning never passes 12:00, a one-day meeting ends at 17:30 on its
//! day, a day and a half ends at 12:00 the next day, and an over-long meeting runs two
//! full days (no group discussion) or two and a half days (with it).

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use rand::Rng;
use rand::seq::IndexedRandom;
use tongxin_domain::{Cost, Flag};

use crate::calendar::at;
use crate::catalog::{
    ADHOC_INSPECTIONS, APP_PRACTICES, GROUP_DISCUSSION_MEETINGS, SPECIFIC_TASK_DOCUMENTS, TRAINING_MEETINGS,
};
use crate::ledger::{Gen, round1};

/// Topic words that exempt an inspection from the annual plan (as the national rule set
/// has them); such inspections are more often ad hoc.
const PLAN_EXEMPT: &[&str] = &["安全生产", "自然灾害", "应急"];

/// How long a meeting runs, in half-days from 9:00 on its first day: 1 is a morning,
/// 2 a full day (to 17:30), 3 a day and a half (to 12:00 on the second day), 4 two full
/// days, 5 two and a half days.
pub(crate) type HalfDays = u32;

/// A background meeting's shape, title template and flags.
pub(crate) struct MeetingShape {
    pub half_days: HalfDays,
    /// A template replacing the kind's usual ones (group discussion, training).
    pub template: Option<&'static str>,
    pub flags: Vec<Flag>,
}

/// Hours a meeting from `start` to `end` takes out of a working day (9:00–17:30 with a
/// lunch break), summed over its days.
pub(crate) fn meeting_hours(start: NaiveDateTime, end: NaiveDateTime) -> f64 {
    let lunch = (NaiveTime::from_hms_opt(12, 0, 0), NaiveTime::from_hms_opt(14, 0, 0));
    let mut hours = 0.0;
    for day in start.date().iter_days().take_while(|d| *d <= end.date()) {
        let from = if day == start.date() { start.time() } else { at(day, 9, 0).time() };
        let to = if day == end.date() { end.time() } else { at(day, 17, 30).time() };
        let mut h = (to - from).num_minutes().max(0) as f64 / 60.0;
        if let (Some(l0), Some(l1)) = lunch
            && from <= l0
            && to >= l1
        {
            h -= 2.0;
        }
        hours += h;
    }
    round1(hours)
}

impl Gen<'_> {
    /// A principal leader's speech: 20–50 minutes, or 70–90 with probability `long`.
    pub fn speech(&mut self, long: f64) -> u32 {
        if self.rng.random_bool(long) {
            self.rng.random_range(70..=90)
        } else {
            self.rng.random_range(20..=50)
        }
    }

    /// A working day in `[from, to]` that starts `days` consecutive working days (no
    /// weekend or holiday inside a meeting); the first such day from `from` if the draws
    /// find none.
    pub fn run_of_workdays(&mut self, from: NaiveDate, to: NaiveDate, days: u32) -> NaiveDate {
        let fits = |g: &Self, d: NaiveDate| (0..u64::from(days)).all(|i| g.cal.is_workday(d + Days::new(i)));
        for _ in 0..16 {
            let d = self.cal.random_workday(&mut self.rng, from, to);
            if fits(self, d) {
                return d;
            }
        }
        let mut d = from;
        while !fits(self, d) && d < self.cal.last() {
            d = d + Days::new(1);
        }
        d
    }

    /// The times of a meeting of `half_days` starting on `day`. A morning starts at 9:00,
    /// 9:30 or 10:00 (9:00 for a long speech), runs at least an hour and 20 minutes more
    /// than the speech, and ends by 11:30; longer meetings start at 9:00.
    pub fn meeting_window(
        &mut self,
        day: NaiveDate,
        half_days: HalfDays,
        speech: u32,
    ) -> (NaiveDateTime, NaiveDateTime) {
        if half_days <= 1 {
            let (h, m) = if speech > 50 {
                (9, 0)
            } else {
                *[(9, 0), (9, 30), (10, 0)].choose(&mut self.rng).unwrap_or(&(9, 0))
            };
            let start = at(day, h, m);
            let latest = (11 * 60 + 30) - (h * 60 + m);
            let shortest = (speech + 20).clamp(60, latest);
            let minutes = self.rng.random_range(shortest..=latest.max(shortest));
            return (start, start + chrono::Duration::minutes(i64::from(minutes)));
        }
        let last = self.cal.add_workdays(day, half_days.div_ceil(2) - 1);
        let end = if half_days.is_multiple_of(2) { at(last, 17, 30) } else { at(last, 12, 0) };
        (at(day, 9, 0), end)
    }

    /// A meeting's cost: every required cadre of each target unit sits through it.
    pub fn meeting_cost(&mut self, start: NaiveDateTime, end: NaiveDateTime, speech: u32) -> Cost {
        let hours = meeting_hours(start, end);
        let cadres = self.rng.random_range(1..=4);
        Cost {
            cadre_hours: round1(hours * f64::from(cadres) + self.rng.random_range(0.0..2.0)),
            cadres_required: cadres,
            video: start.date() == end.date() && end.time().hour() < 12 && self.rng.random_bool(0.65),
            speech_minutes: speech,
            ..Cost::default()
        }
    }

    /// A background meeting: mostly a morning; one in twenty with group discussion (a
    /// day, a day and a half, a few two and a half days); a few two-day training courses.
    /// A fifth are convened by a deputy, and three in ten of those still summon the
    /// principal heads (as do a fifth of the others).
    pub fn meeting_shape(&mut self) -> MeetingShape {
        let r: f64 = self.rng.random();
        let (half_days, list, discussion) = if r < 0.05 {
            let h = *[2, 2, 2, 2, 2, 2, 3, 3, 3, 5].choose(&mut self.rng).unwrap_or(&2);
            (h, GROUP_DISCUSSION_MEETINGS, true)
        } else if r < 0.065 {
            (4, TRAINING_MEETINGS, false)
        } else {
            (1, &[][..], false)
        };
        let mut flags = Vec::new();
        if discussion {
            flags.push(Flag::GroupDiscussion);
        }
        let deputy = self.rng.random_bool(0.2);
        if deputy {
            flags.push(Flag::DeputyConvener);
        }
        if self.rng.random_bool(if deputy { 0.3 } else { 0.2 }) {
            flags.push(Flag::PrincipalAttendance);
        }
        MeetingShape { half_days, template: list.choose(&mut self.rng).copied(), flags }
    }

    /// An inspection's flags: in the filed annual plan nine times in ten (six in ten for
    /// work safety and disasters, whose urgent checks the plan exempts); materials asked
    /// for more often than not; the principal leader's escort now and then. Returns the
    /// flags and, for one outside the plan, the template its notice uses.
    pub fn inspection_flags(&mut self, topic: &str) -> (Vec<Flag>, Option<&'static str>) {
        let exempt = PLAN_EXEMPT.iter().any(|w| topic.contains(w));
        let mut flags = Vec::new();
        let planned = self.rng.random_bool(if exempt { 0.6 } else { 0.9 });
        if planned {
            flags.push(Flag::InAnnualPlan);
        }
        if self.rng.random_bool(0.12) {
            flags.push(Flag::PrincipalAttendance);
        }
        if self.rng.random_bool(0.6) {
            flags.push(Flag::ReportsDemanded);
        }
        let template = if planned { None } else { ADHOC_INSPECTIONS.choose(&mut self.rng).copied() };
        (flags, template)
    }

    /// A research or guidance visit's flags: materials or a report asked for in about one
    /// in eight, the principal leader's company in about one in eight (forms are drawn
    /// with the cost).
    pub fn visit_flags(&mut self) -> Vec<Flag> {
        let mut flags = Vec::new();
        if self.rng.random_bool(0.12) {
            flags.push(Flag::PrincipalAttendance);
        }
        if self.rng.random_bool(0.12) {
            flags.push(Flag::ReportsDemanded);
        }
        flags
    }

    /// A background document: a third are specific-task documents (mostly under 4,000
    /// characters, one in seven over), the rest general (mostly 1,500–4,500, one in six
    /// over 5,000). About one in eight asks for an implementation report, and a few for
    /// supporting documents, a responsibility pledge or a one-vote veto. Returns the
    /// length, the flags and the template of a specific-task document.
    pub fn document_text(&mut self) -> (u32, Vec<Flag>, Option<&'static str>) {
        let mut flags = Vec::new();
        let specific = self.rng.random_bool(0.35);
        let chars = if specific {
            flags.push(Flag::SpecificTask);
            if self.rng.random_bool(0.14) {
                self.rng.random_range(4_100..=5_600)
            } else {
                self.rng.random_range(1_500..=3_900)
            }
        } else if self.rng.random_bool(0.17) {
            self.rng.random_range(5_100..=9_500)
        } else {
            self.rng.random_range(1_500..=4_500)
        };
        for (flag, p) in [
            (Flag::ImplementationReport, 0.12),
            (Flag::SupportingDocument, 0.05),
            (Flag::ResponsibilityPledge, 0.04),
            (Flag::OneVoteVeto, 0.03),
        ] {
            if self.rng.random_bool(p) {
                flags.push(flag);
            }
        }
        let template = if specific { SPECIFIC_TASK_DOCUMENTS.choose(&mut self.rng).copied() } else { None };
        (chars, flags, template)
    }

    /// An app or work-group obligation: half are worded as a forbidden practice (daily
    /// clock-in, install-rate ranking, forwarding and likes, points, online time, daily
    /// uploads); of the rest, one in six still demands daily photo uploads. Returns the
    /// flags and the template of a practice.
    pub fn app_flags(&mut self) -> (Vec<Flag>, Option<&'static str>) {
        if self.rng.random_bool(0.5)
            && let Some((template, flags)) = APP_PRACTICES.choose(&mut self.rng)
        {
            return (flags.to_vec(), Some(*template));
        }
        let flags = if self.rng.random_bool(0.16) { vec![Flag::ForcedUpload] } else { Vec::new() };
        (flags, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn meeting_hours_count_the_working_day() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let next = NaiveDate::from_ymd_opt(2026, 3, 11).unwrap();
        assert_eq!(meeting_hours(at(d, 9, 0), at(d, 11, 30)), 2.5);
        assert_eq!(meeting_hours(at(d, 9, 0), at(d, 17, 30)), 6.5);
        assert_eq!(meeting_hours(at(d, 9, 0), at(next, 12, 0)), 9.5);
        assert_eq!(meeting_hours(at(d, 9, 0), at(next, 17, 30)), 13.0);
    }
}
