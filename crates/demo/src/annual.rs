//! The comprehensive (综合性) work of the year, placed once per body: each department's
//! annual work meeting (全省农业农村工作会议, January to March), its work points for the
//! year (a long document, exempt from the length cap) and its comprehensive inspection
//! (综合督查考核, in the autumn, always in the filed plan); the Party committee's economic
//! work meeting in December, with group discussion; the government's division of the
//! work report's tasks and its comprehensive inspection of them.
//!
//! Not every body holds each (the shares fall from province to county), and none holds
//! two: a department with more than one comprehensive inspection or work meeting in the
//! year exists only where a scenario stages it ([`Gen::staged`]).

use chrono::{Days, NaiveDate};
use rand::Rng;
use tongxin_domain::{Cost, DemandKind, Flag, UnitCode};
use uuid::Uuid;

use crate::bodies::UnitBodies;
use crate::calendar::at;
use crate::ledger::{Draft, Gen, Tier};

/// Share of bodies that hold each item, by tier (province, prefecture, county).
const WORK_MEETING: [f64; 3] = [0.9, 0.75, 0.5];
const WORK_POINTS: [f64; 3] = [0.7, 0.5, 0.3];
const COMPREHENSIVE_INSPECTION: [f64; 3] = [0.6, 0.5, 0.3];
const ECONOMIC_WORK_MEETING: [f64; 3] = [1.0, 0.9, 0.7];
const WORK_REPORT_TASKS: [f64; 3] = [1.0, 0.9, 0.8];
const GOVERNMENT_INSPECTION: [f64; 3] = [0.7, 0.6, 0.4];

impl Gen<'_> {
    /// The annual comprehensive items of the bodies at one unit. Returns the (department
    /// body, kind) of each placed, so that the background draws that many fewer.
    pub(crate) fn annual(
        &mut self,
        tier: Tier,
        scope: &str,
        ub: &UnitBodies,
        level: usize,
    ) -> Vec<(usize, DemandKind)> {
        use DemandKind as K;
        let y = self.cal.year;
        let mut placed = Vec::new();
        // 全省经济工作会议: a day and a half with group discussion (a day at county level).
        if self.rng.random_bool(ECONOMIC_WORK_MEETING[level]) {
            let window = (self.cal.date(12, 7), self.cal.date(12, 24));
            let half_days = if level == 2 { 2 } else { 3 };
            let title = format!("{scope}经济工作会议");
            if self
                .comprehensive_meeting(tier, ub.party, title, "经济工作", window, half_days, None)
                .is_some()
            {
                placed.push((ub.party, K::Meeting));
            }
        }
        // The work report's tasks divided among departments (省政府工作报告重点工作分工).
        let government = scope.trim_start_matches('全');
        if self.rng.random_bool(WORK_REPORT_TASKS[level]) {
            let title = format!("关于印发《{y}年{government}政府工作报告重点工作任务分工方案》的通知");
            let window = (self.cal.date(2, 20), self.cal.date(3, 31));
            if self.comprehensive_document(tier, ub.gov, title, "政府工作报告重点任务落实", window).is_some()
            {
                placed.push((ub.gov, K::Document));
            }
        }
        if self.rng.random_bool(GOVERNMENT_INSPECTION[level]) {
            let title = format!("{y}年度{scope}重点工作综合督查");
            let window = (self.cal.date(10, 12), self.cal.date(12, 11));
            if self
                .comprehensive_inspection(tier, ub.gov, title, "政府工作报告重点任务落实", window, None)
                .is_some()
            {
                placed.push((ub.gov, K::Inspection));
            }
        }
        for dept in &ub.depts {
            let work = dept.spec.work();
            let body = dept.body;
            if !self.staged.contains(&(body, K::Meeting)) && self.rng.random_bool(WORK_MEETING[level]) {
                let title = format!("{y}年{scope}{work}会议");
                let window = (self.cal.date(1, 12), self.cal.date(3, 20));
                // Most are a morning; some take a day or a day and a half with discussion.
                let half_days = match self.rng.random_range(0..20) {
                    0..=12 => 1,
                    13..=17 => 2,
                    _ => 3,
                };
                if self.comprehensive_meeting(tier, body, title, &work, window, half_days, None).is_some() {
                    placed.push((body, K::Meeting));
                }
            }
            if !self.staged.contains(&(body, K::Document)) && self.rng.random_bool(WORK_POINTS[level]) {
                let title = format!("关于印发《{y}年{scope}{work}要点》的通知");
                let window = (self.cal.date(2, 1), self.cal.date(3, 31));
                if self.comprehensive_document(tier, body, title, &work, window).is_some() {
                    placed.push((body, K::Document));
                }
            }
            if !self.staged.contains(&(body, K::Inspection))
                && self.rng.random_bool(COMPREHENSIVE_INSPECTION[level])
            {
                let title = format!("{y}年度{scope}{work}综合督查考核");
                let window = (self.cal.date(10, 12), self.cal.date(12, 11));
                if self.comprehensive_inspection(tier, body, title, &work, window, None).is_some() {
                    placed.push((body, K::Inspection));
                }
            }
        }
        placed
    }

    /// A comprehensive work meeting of `half_days` (group discussion when it takes a day
    /// or more) on its working days in `window`, with a speech of `speech` minutes (drawn
    /// when `None`: a quarter run past the hour); the principal convenes it and most
    /// summon the principal heads below. `None` when `tier` reaches no unit.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn comprehensive_meeting(
        &mut self,
        tier: Tier,
        source: usize,
        title: String,
        topic: &str,
        window: (NaiveDate, NaiveDate),
        half_days: u32,
        speech: Option<u32>,
    ) -> Option<Uuid> {
        let (targets, attend) = self.targets(tier, DemandKind::Meeting);
        if targets.is_empty() {
            return None;
        }
        let speech = match speech {
            Some(s) => s,
            None => self.speech(0.25),
        };
        let day = self.run_of_workdays(window.0, window.1, half_days.div_ceil(2));
        let (start, end) = self.meeting_window(day, half_days, speech);
        let mut cost = self.meeting_cost(start, end, speech);
        cost.attend_levels = attend;
        cost.flags.push(Flag::Comprehensive);
        if half_days >= 2 {
            cost.flags.push(Flag::GroupDiscussion);
        }
        if self.rng.random_bool(0.6) {
            cost.flags.push(Flag::PrincipalAttendance);
        }
        let title = if cost.video { format!("{title}（视频）") } else { title };
        Some(self.push(Draft {
            kind: DemandKind::Meeting,
            source,
            title,
            topic: topic.to_owned(),
            targets,
            starts_at: start,
            ends_at: end,
            cost,
            reported: false,
            cancellable: false,
        }))
    }

    /// A comprehensive document (the year's work points): 6,000–14,000 characters, exempt
    /// from the length cap; one in seven still asks for an implementation report.
    pub(crate) fn comprehensive_document(
        &mut self,
        tier: Tier,
        source: usize,
        title: String,
        topic: &str,
        window: (NaiveDate, NaiveDate),
    ) -> Option<Uuid> {
        let (targets, _) = self.targets(tier, DemandKind::Document);
        if targets.is_empty() {
            return None;
        }
        let day = self.cal.random_workday(&mut self.rng, window.0, window.1);
        let end = self.cal.on_or_after(day + Days::new(self.rng.random_range(20..=40)));
        let mut flags = vec![Flag::Comprehensive];
        if self.rng.random_bool(0.15) {
            flags.push(Flag::ImplementationReport);
        }
        let cost = Cost {
            cadre_hours: f64::from(self.rng.random_range(8..=24)),
            cadres_required: self.rng.random_range(2..=3),
            doc_chars: self.rng.random_range(6_000..=14_000),
            flags,
            ..Cost::default()
        };
        Some(self.push(Draft {
            kind: DemandKind::Document,
            source,
            title,
            topic: topic.to_owned(),
            targets,
            starts_at: at(day, 9, 0),
            ends_at: at(end, 17, 30),
            cost,
            reported: false,
            cancellable: false,
        }))
    }

    /// A comprehensive inspection in the filed annual plan: a team of 6–12 for two or
    /// three days, asking for forms and materials. On `targets`, or those the tier's
    /// inspections draw.
    pub(crate) fn comprehensive_inspection(
        &mut self,
        tier: Tier,
        source: usize,
        title: String,
        topic: &str,
        window: (NaiveDate, NaiveDate),
        targets: Option<Vec<UnitCode>>,
    ) -> Option<Uuid> {
        let targets = targets.unwrap_or_else(|| self.targets(tier, DemandKind::Inspection).0);
        if targets.is_empty() {
            return None;
        }
        let days = self.rng.random_range(2..=3);
        let day = self.run_of_workdays(window.0, window.1, days);
        let (start, end) = self.visit_window(day, days);
        let (visitors, hosts, forms) =
            (self.rng.random_range(6..=12), self.rng.random_range(3..=5), self.rng.random_range(2..=5));
        let mut cost = self.visit_cost(days, visitors, hosts, forms);
        cost.flags = vec![Flag::Comprehensive, Flag::InAnnualPlan, Flag::ReportsDemanded];
        Some(self.push(Draft {
            kind: DemandKind::Inspection,
            source,
            title,
            topic: topic.to_owned(),
            targets,
            starts_at: start,
            ends_at: end,
            cost,
            reported: false,
            cancellable: false,
        }))
    }
}
