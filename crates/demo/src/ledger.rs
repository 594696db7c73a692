//! The demand generator's state and the year's background demands: every department
//! (and the Party committees and governments) at province, prefecture and county level
//! places meetings, documents, data requests, visits and the rest on the units below it,
//! at realistic rates, on working days, with the cost fields and flags each kind needs
//! (the flags and meeting shapes are drawn in `practice`, the year's comprehensive work in
//! `annual`). Every department also places one annual set of assessment indicators on the
//! units below it.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use tongxin_domain::{Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, UnitCode};
use uuid::Uuid;

use crate::bodies::{Bodies, Dept, UnitBodies};
use crate::calendar::{Calendar, at};
use crate::catalog::{
    FORBIDDEN_INDICATOR_CONTENT, LEADERSHIP_TOPICS, fields_of, fill, scope_word, templates,
};
use crate::geo::Geo;
use crate::uuid_at;

/// A demand before it gets its id, status and origin.
pub(crate) struct Draft {
    pub kind: DemandKind,
    /// Index into [`Bodies::all`].
    pub source: usize,
    pub title: String,
    pub topic: String,
    pub targets: Vec<UnitCode>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub cost: Cost,
    /// Recorded by the receiving unit rather than registered by the source (only kept
    /// when the demand is over by "today").
    pub reported: bool,
    /// May be drawn as cancelled (never for scenario demands).
    pub cancellable: bool,
}

pub(crate) struct Gen<'a> {
    pub rng: ChaCha8Rng,
    pub cal: Calendar,
    pub today: NaiveDate,
    pub geo: &'a Geo<'a>,
    pub bodies: &'a Bodies,
    pub demands: Vec<Demand>,
    /// (department body, kind) whose comprehensive items of the year a scenario placed;
    /// the annual pass leaves them alone.
    pub staged: Vec<(usize, DemandKind)>,
}

/// One decimal place, as a person would write it.
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The level of a source body's unit, from the jurisdiction it acts on.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tier {
    Province,
    Prefecture(usize),
    County(usize),
}

/// Expected count per year of each kind, per department, by tier (indicators apart).
const RATES: [(DemandKind, [f64; 3]); 10] = [
    (DemandKind::Meeting, [7.0, 8.0, 7.0]),
    (DemandKind::Inspection, [3.0, 3.5, 2.0]),
    (DemandKind::ResearchVisit, [3.0, 2.5, 1.5]),
    (DemandKind::GuidanceVisit, [3.0, 3.5, 2.0]),
    (DemandKind::WorkGroup, [0.15, 0.1, 0.05]),
    (DemandKind::Document, [9.0, 10.0, 5.0]),
    (DemandKind::DataRequest, [7.0, 9.0, 6.0]),
    (DemandKind::AppObligation, [0.4, 0.4, 0.3]),
    (DemandKind::Secondment, [0.4, 0.4, 0.2]),
    (DemandKind::Signboard, [0.6, 0.6, 0.3]),
];

/// The Party committee's and government's own demands (their topics are broad).
const LEADERSHIP_RATES: [(DemandKind, f64); 3] =
    [(DemandKind::Meeting, 3.0), (DemandKind::Document, 4.0), (DemandKind::Inspection, 0.5)];

impl Gen<'_> {
    /// Adds the demand with an id, status and origin; returns its id.
    pub fn push(&mut self, d: Draft) -> Uuid {
        let today = self.today;
        let over = d.ends_at.date() < today;
        let reported = d.reported && over;
        let status = if over {
            if d.cancellable && !reported && self.rng.random_bool(0.06) {
                DemandStatus::Cancelled
            } else {
                DemandStatus::Held
            }
        } else if d.starts_at.date() > today {
            if d.cancellable && self.rng.random_bool(0.03) {
                DemandStatus::Cancelled
            } else {
                DemandStatus::Planned
            }
        } else {
            DemandStatus::Held
        };
        // The id's time is when the entry was made: days before the start when
        // registered, shortly after the end when reported by the unit.
        let recorded = if reported {
            let after = d.ends_at + Days::new(self.rng.random_range(0..=3));
            after.min(at(today, 18, 0)).max(d.ends_at)
        } else {
            d.starts_at - Days::new(self.rng.random_range(1..=10))
        };
        let id = uuid_at(&mut self.rng, recorded);
        let body = &self.bodies.all[d.source];
        self.demands.push(Demand {
            id,
            kind: d.kind,
            source_body: body.id,
            source_department: body.department(),
            title: d.title,
            topic: d.topic,
            targets: d.targets,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            status,
            origin: if reported { DemandOrigin::Reported } else { DemandOrigin::Registered },
            cost: d.cost,
            revision: 1,
        });
        id
    }

    /// A count around `rate` (±30 %, stochastically rounded).
    fn count(&mut self, rate: f64) -> usize {
        let x = rate * self.rng.random_range(0.7..1.3);
        let whole = x.floor();
        (whole as usize) + usize::from(self.rng.random_bool((x - whole).clamp(0.0, 1.0)))
    }

    fn pick<T: Clone>(&mut self, items: &[T], n: usize) -> Vec<T> {
        let mut v: Vec<T> = items.choose_multiple(&mut self.rng, n.min(items.len())).cloned().collect();
        if v.is_empty() {
            v.extend(items.first().cloned());
        }
        v
    }

    /// The working-day window of a visit of 1–3 days starting on `day`.
    pub fn visit_window(&mut self, day: NaiveDate, days: u32) -> (NaiveDateTime, NaiveDateTime) {
        let mut end = self.cal.add_workdays(day, days.saturating_sub(1));
        // Nobody spreads a visit over a long holiday: it shrinks to its first day.
        if (end - day).num_days() > i64::from(days) + 3 {
            end = day;
        }
        (at(day, 8, 30), at(end, 17, 30))
    }

    /// Cost of a visit of `days` days by `visitors` people, hosted by `hosts` cadres.
    pub fn visit_cost(&mut self, days: u32, visitors: u32, hosts: u32, forms: u32) -> Cost {
        let host = f64::from(days * hosts);
        let prep = f64::from(self.rng.random_range(2..=12));
        Cost {
            cadre_hours: round1(host * 8.0 + prep),
            cadres_required: hosts,
            host_person_days: host,
            visitors,
            forms,
            ..Cost::default()
        }
    }

    fn schedule(&mut self, kind: DemandKind) -> (NaiveDateTime, NaiveDateTime) {
        let day = self.cal.random_workday_in_year(&mut self.rng);
        let last = self.cal.last();
        match kind {
            // A morning; background meetings take their shape from `meeting_shape`.
            DemandKind::Meeting => self.meeting_window(day, 1, 0),
            DemandKind::Inspection | DemandKind::ResearchVisit | DemandKind::GuidanceVisit => {
                let days = self.rng.random_range(1..=3);
                self.visit_window(day, days)
            }
            DemandKind::WorkGroup => {
                let end = self.cal.on_or_before((day + Days::new(self.rng.random_range(30..=120))).min(last));
                (at(day, 9, 0), at(end.max(day), 17, 30))
            }
            DemandKind::Document => {
                let end = self.cal.on_or_after(day + Days::new(self.rng.random_range(10..=40)));
                (at(day, 9, 0), at(end, 17, 30))
            }
            DemandKind::DataRequest => {
                let end = self.cal.add_workdays(day, self.rng.random_range(1..=8));
                (at(day, 9, 0), at(end, 17, 30))
            }
            DemandKind::AppObligation | DemandKind::Signboard | DemandKind::Secondment => {
                let span = match kind {
                    DemandKind::Secondment => 60..=180,
                    DemandKind::Signboard => 60..=200,
                    _ => 90..=300,
                };
                let end = self.cal.on_or_before((day + Days::new(self.rng.random_range(span))).min(last));
                (at(day, 9, 0), at(end.max(day), 17, 30))
            }
            DemandKind::Indicator => (at(day, 9, 0), at(last, 17, 30)),
        }
    }

    fn cost(&mut self, kind: DemandKind, topic: &str, start: NaiveDateTime, end: NaiveDateTime) -> Cost {
        let days = self.cal.workdays_between(start.date(), end.date()).max(1);
        match kind {
            DemandKind::Meeting => self.meeting_cost(start, end, 0),
            DemandKind::Inspection => {
                let (v, h, f) = (
                    self.rng.random_range(3..=8),
                    self.rng.random_range(2..=4),
                    self.rng.random_range(0..=4),
                );
                self.visit_cost(days, v, h, f)
            }
            // One research visit in seven and one guidance visit in four asks for forms.
            DemandKind::ResearchVisit => {
                let v = self.rng.random_range(2..=6);
                let f = if self.rng.random_bool(0.85) { 0 } else { self.rng.random_range(1..=3) };
                self.visit_cost(days, v, 2, f)
            }
            DemandKind::GuidanceVisit => {
                let (v, h) = (self.rng.random_range(2..=5), self.rng.random_range(1..=3));
                let f = if self.rng.random_bool(0.75) { 0 } else { self.rng.random_range(1..=2) };
                self.visit_cost(days, v, h, f)
            }
            DemandKind::WorkGroup => {
                let hosts = self.rng.random_range(1..=2);
                let visitors = self.rng.random_range(3..=12);
                let mut c = self.visit_cost(days, visitors, hosts, 0);
                c.cadre_hours = round1(c.host_person_days * 8.0);
                c
            }
            // The length comes with the document's class (`document_text`).
            DemandKind::Document => Cost {
                cadre_hours: f64::from(self.rng.random_range(2..=16)),
                cadres_required: self.rng.random_range(1..=3),
                ..Cost::default()
            },
            DemandKind::DataRequest => {
                let all = fields_of(topic);
                let n = self.rng.random_range(2..=all.len().max(2));
                let fields: Vec<String> =
                    all.choose_multiple(&mut self.rng, n).map(|f| (*f).to_owned()).collect();
                Cost {
                    cadre_hours: round1(1.0 + 0.4 * fields.len() as f64 + self.rng.random_range(0.0..4.0)),
                    cadres_required: self.rng.random_range(1..=2),
                    forms: self.rng.random_range(1..=3),
                    fields,
                    ..Cost::default()
                }
            }
            DemandKind::AppObligation => {
                let cadres = self.rng.random_range(2..=6);
                Cost {
                    cadre_hours: round1(f64::from(days * cadres) * 0.25),
                    cadres_required: cadres,
                    ..Cost::default()
                }
            }
            DemandKind::Indicator => {
                let n = self.rng.random_range(3..=10);
                Cost {
                    indicators: n,
                    cadre_hours: f64::from(n * self.rng.random_range(2..=6)),
                    ..Cost::default()
                }
            }
            DemandKind::Secondment => {
                let cadres = self.rng.random_range(1..=2);
                Cost { cadre_hours: f64::from(days * cadres * 8), cadres_required: cadres, ..Cost::default() }
            }
            DemandKind::Signboard => Cost {
                cadre_hours: f64::from(self.rng.random_range(16..=80)),
                cadres_required: self.rng.random_range(2..=4),
                forms: self.rng.random_range(1..=5),
                ..Cost::default()
            },
        }
    }

    fn codes(&self, level: Level, idx: &[usize]) -> Vec<UnitCode> {
        let units = match level {
            Level::Prefecture => &self.geo.prefectures,
            Level::County => &self.geo.counties,
            Level::Township => &self.geo.townships,
            Level::Village => &self.geo.villages,
            Level::Province => return vec![self.geo.province.code.clone()],
        };
        let mut v: Vec<UnitCode> = idx.iter().map(|i| units[*i].code.clone()).collect();
        v.sort();
        v
    }

    fn towns_of(&self, counties: &[usize]) -> Vec<usize> {
        counties.iter().flat_map(|c| self.geo.county_towns[*c].iter().copied()).collect()
    }

    fn villages_of(&self, towns: &[usize]) -> Vec<usize> {
        towns.iter().flat_map(|t| self.geo.town_villages[*t].iter().copied()).collect()
    }

    /// Targets and, for meetings, the attendance levels.
    pub(crate) fn targets(&mut self, tier: Tier, kind: DemandKind) -> (Vec<UnitCode>, Vec<Level>) {
        use DemandKind as K;
        let (counties, towns): (Vec<usize>, Vec<usize>) = match tier {
            Tier::Province => {
                let c: Vec<usize> = (0..self.geo.counties.len()).collect();
                (c, Vec::new())
            }
            Tier::Prefecture(p) => {
                let c = self.geo.pref_counties[p].clone();
                let t = self.towns_of(&c);
                (c, t)
            }
            Tier::County(c) => (vec![c], self.geo.county_towns[c].clone()),
        };
        let r: f64 = self.rng.random();
        let deeper = |levels: &mut Vec<Level>, rng: &mut ChaCha8Rng, p: f64| {
            if let Some(next) = levels.last().and_then(|l| l.below())
                && rng.random_bool(p)
            {
                levels.push(next);
            }
        };
        match tier {
            Tier::Province => match kind {
                K::Meeting if r < 0.7 => {
                    let all: Vec<usize> = (0..self.geo.prefectures.len()).collect();
                    let mut levels = vec![Level::Prefecture, Level::County];
                    deeper(&mut levels, &mut self.rng, 0.4);
                    if levels.len() == 3 {
                        deeper(&mut levels, &mut self.rng, 0.3);
                    }
                    (self.codes(Level::Prefecture, &all), levels)
                }
                K::Meeting => {
                    let mut levels = vec![Level::County];
                    deeper(&mut levels, &mut self.rng, 0.4);
                    (self.codes(Level::County, &counties), levels)
                }
                K::Document | K::AppObligation => (self.codes(Level::County, &counties), vec![]),
                K::DataRequest if r < 0.7 => (self.codes(Level::County, &counties), vec![]),
                K::DataRequest => {
                    let p = self.rng.random_range(0..self.geo.prefectures.len());
                    let t = self.towns_of(&self.geo.pref_counties[p].clone());
                    (self.codes(Level::Township, &t), vec![])
                }
                K::ResearchVisit if r < 0.3 => {
                    let c = self.pick(&counties, 1);
                    let t = self.towns_of(&c);
                    let n = self.rng.random_range(1..=2);
                    let t = self.pick(&t, n);
                    (self.codes(Level::Township, &t), vec![])
                }
                _ => {
                    let n = match kind {
                        K::Inspection => self.rng.random_range(2..=5),
                        K::Signboard => self.rng.random_range(5..=15),
                        K::WorkGroup => 1,
                        _ => self.rng.random_range(1..=3),
                    };
                    let c = self.pick(&counties, n);
                    (self.codes(Level::County, &c), vec![])
                }
            },
            Tier::Prefecture(_) => match kind {
                K::Meeting => {
                    let mut levels = vec![Level::County];
                    deeper(&mut levels, &mut self.rng, 0.5);
                    if levels.len() == 2 {
                        deeper(&mut levels, &mut self.rng, 0.4);
                    }
                    (self.codes(Level::County, &counties), levels)
                }
                K::Document | K::AppObligation => (self.codes(Level::County, &counties), vec![]),
                K::DataRequest if r < 0.6 || towns.is_empty() => {
                    (self.codes(Level::County, &counties), vec![])
                }
                K::DataRequest => {
                    let n = self.rng.random_range(1..=2);
                    let c = self.pick(&counties, n);
                    let t = self.towns_of(&c);
                    (self.codes(Level::Township, &t), vec![])
                }
                K::Inspection | K::WorkGroup | K::Secondment if r < 0.5 || towns.is_empty() => {
                    let n = if kind == K::Inspection { self.rng.random_range(1..=3) } else { 1 };
                    let c = self.pick(&counties, n);
                    (self.codes(Level::County, &c), vec![])
                }
                _ if towns.is_empty() => {
                    let c = self.pick(&counties, 1);
                    (self.codes(Level::County, &c), vec![])
                }
                _ => {
                    let n = match kind {
                        K::Signboard => self.rng.random_range(3..=10),
                        K::WorkGroup | K::Secondment => 1,
                        _ => self.rng.random_range(1..=4),
                    };
                    let t = self.pick(&towns, n);
                    (self.codes(Level::Township, &t), vec![])
                }
            },
            Tier::County(_) => {
                let villages = self.villages_of(&towns);
                match kind {
                    K::Meeting => {
                        let mut levels = vec![Level::Township];
                        deeper(&mut levels, &mut self.rng, 0.45);
                        (self.codes(Level::Township, &towns), levels)
                    }
                    K::Document => (self.codes(Level::Township, &towns), vec![]),
                    K::AppObligation if r < 0.7 || villages.is_empty() => {
                        (self.codes(Level::Township, &towns), vec![])
                    }
                    K::DataRequest if r < 0.6 || villages.is_empty() => {
                        (self.codes(Level::Township, &towns), vec![])
                    }
                    K::AppObligation | K::DataRequest => {
                        let v = if r < 0.8 {
                            let n = self.rng.random_range(1..=3);
                            let t = self.pick(&towns, n);
                            self.villages_of(&t)
                        } else {
                            villages
                        };
                        (self.codes(Level::Village, &v), vec![])
                    }
                    K::WorkGroup | K::Secondment if villages.is_empty() || r < 0.5 => {
                        let t = self.pick(&towns, 1);
                        (self.codes(Level::Township, &t), vec![])
                    }
                    _ if villages.is_empty() || r < 0.3 => {
                        let n = self.rng.random_range(1..=3);
                        let t = self.pick(&towns, n);
                        (self.codes(Level::Township, &t), vec![])
                    }
                    _ => {
                        let n = match kind {
                            K::Inspection => self.rng.random_range(2..=6),
                            K::Signboard => self.rng.random_range(3..=12),
                            K::WorkGroup | K::Secondment => 1,
                            _ => self.rng.random_range(1..=4),
                        };
                        let v = self.pick(&villages, n);
                        (self.codes(Level::Village, &v), vec![])
                    }
                }
            }
        }
    }

    /// One background demand of `kind` from `source` on `topic`.
    fn ambient(&mut self, tier: Tier, scope: &str, source: usize, kind: DemandKind, topic: &str) {
        let (targets, attend) = self.targets(tier, kind);
        if targets.is_empty() {
            return;
        }
        let mut template = None;
        let (start, end, mut cost) = if kind == DemandKind::Meeting {
            let shape = self.meeting_shape();
            let speech = self.speech(if shape.half_days == 1 { 0.11 } else { 0.05 });
            let day = self.run_of_workdays(self.cal.first(), self.cal.last(), shape.half_days.div_ceil(2));
            let (start, end) = self.meeting_window(day, shape.half_days, speech);
            let mut cost = self.meeting_cost(start, end, speech);
            cost.flags = shape.flags;
            template = shape.template;
            (start, end, cost)
        } else {
            let (start, end) = self.schedule(kind);
            (start, end, self.cost(kind, topic, start, end))
        };
        cost.attend_levels = attend;
        match kind {
            DemandKind::Inspection => (cost.flags, template) = self.inspection_flags(topic),
            DemandKind::ResearchVisit | DemandKind::GuidanceVisit => cost.flags = self.visit_flags(),
            DemandKind::Document => (cost.doc_chars, cost.flags, template) = self.document_text(),
            DemandKind::AppObligation => (cost.flags, template) = self.app_flags(),
            _ => {}
        }
        let template = match template {
            Some(t) => t,
            None => *templates(kind).choose(&mut self.rng).unwrap_or(&"{t}"),
        };
        let quarter = start.date().month().div_ceil(3);
        let mut title = fill(template, scope, topic, self.cal.year, quarter);
        if kind == DemandKind::Meeting && cost.video && !title.contains("视频") && !title.contains("电视电话")
        {
            title.push_str("（视频）");
        }
        let reported = kind.is_visit() && kind != DemandKind::WorkGroup && self.rng.random_bool(0.1)
            || kind == DemandKind::DataRequest && self.rng.random_bool(0.05);
        self.push(Draft {
            kind,
            source,
            title,
            topic: topic.to_owned(),
            targets,
            starts_at: start,
            ends_at: end,
            cost,
            reported,
            cancellable: true,
        });
    }

    fn unit_ambient(&mut self, tier: Tier, scope: &str, ub: &UnitBodies, level_idx: usize) {
        // The year's comprehensive items stand in for as many ordinary ones, so the
        // volume stays what the rates say.
        let annual = self.annual(tier, scope, ub, level_idx);
        let placed = |body: usize, kind: DemandKind| annual.iter().filter(|a| **a == (body, kind)).count();
        for (kind, rate) in LEADERSHIP_RATES {
            for source in [ub.party, ub.gov] {
                for _ in 0..self.count(rate / 2.0).saturating_sub(placed(source, kind)) {
                    let topic = *LEADERSHIP_TOPICS.choose(&mut self.rng).unwrap_or(&"经济工作");
                    self.ambient(tier, scope, source, kind, topic);
                }
            }
        }
        for dept in &ub.depts {
            for (kind, rates) in RATES {
                for _ in 0..self.count(rates[level_idx]).saturating_sub(placed(dept.body, kind)) {
                    let source = self.source_of(dept);
                    let topic = *dept.spec.topics.choose(&mut self.rng).unwrap_or(&"");
                    self.ambient(tier, scope, source, kind, topic);
                }
            }
        }
    }

    /// A department places most demands through its divisions, some in its own name.
    pub fn source_of(&mut self, dept: &Dept) -> usize {
        if dept.divisions.is_empty() || self.rng.random_bool(0.25) {
            dept.body
        } else {
            *dept.divisions.choose(&mut self.rng).unwrap_or(&dept.body)
        }
    }

    /// The background demands of the whole province.
    pub fn background(&mut self) {
        let bodies = self.bodies;
        let geo = self.geo;
        self.unit_ambient(Tier::Province, &scope_word(&geo.province.name), &bodies.province, 0);
        for (p, ub) in bodies.prefectures.iter().enumerate() {
            if geo.pref_counties[p].is_empty() {
                continue;
            }
            self.unit_ambient(Tier::Prefecture(p), &scope_word(&geo.prefectures[p].name), ub, 1);
        }
        for (c, ub) in bodies.counties.iter().enumerate() {
            if geo.county_towns[c].is_empty() {
                continue;
            }
            self.unit_ambient(Tier::County(c), &scope_word(&geo.counties[c].name), ub, 2);
        }
    }

    /// One annual indicator set per department on the units directly below it.
    /// Returns the ids of the sets that land on county `county`.
    pub fn indicators(&mut self, county: usize) -> Vec<Uuid> {
        let bodies = self.bodies;
        let geo = self.geo;
        let mut on_county = Vec::new();
        let all_counties: Vec<usize> = (0..geo.counties.len()).collect();
        let mut plan: Vec<(&Dept, Vec<UnitCode>, String, std::ops::RangeInclusive<u32>)> = Vec::new();
        let province_scope = scope_word(&geo.province.name);
        for d in &bodies.province.depts {
            plan.push((d, self.codes(Level::County, &all_counties), province_scope.clone(), 6..=14));
        }
        for (p, ub) in bodies.prefectures.iter().enumerate() {
            let counties = self.codes(Level::County, &geo.pref_counties[p]);
            if counties.is_empty() {
                continue;
            }
            for d in &ub.depts {
                plan.push((d, counties.clone(), scope_word(&geo.prefectures[p].name), 4..=10));
            }
        }
        for (c, ub) in bodies.counties.iter().enumerate() {
            let towns = self.codes(Level::Township, &geo.county_towns[c]);
            if towns.is_empty() {
                continue;
            }
            for d in &ub.depts {
                plan.push((d, towns.clone(), scope_word(&geo.counties[c].name), 3..=8));
            }
        }
        let county_code = &geo.counties[county].code;
        for (dept, targets, scope, range) in plan {
            // Issued in February or March, in force until the end of the year.
            let day = self.cal.random_workday(&mut self.rng, self.cal.date(2, 1), self.cal.date(3, 31));
            let n = self.rng.random_range(range);
            let topic = dept.spec.topics[0];
            let template = *templates(DemandKind::Indicator).choose(&mut self.rng).unwrap_or(&"{t}");
            let mut title = fill(template, &scope, topic, self.cal.year, 1);
            // A few still judge work by leaders' instructions, documents or photos.
            if self.rng.random_bool(0.06) {
                title.push_str(FORBIDDEN_INDICATOR_CONTENT.choose(&mut self.rng).unwrap_or(&""));
            }
            // Assessment follows the filed annual plan, but not always.
            let flags = if self.rng.random_bool(0.92) { vec![Flag::InAnnualPlan] } else { Vec::new() };
            let source = dept.divisions.last().copied().unwrap_or(dept.body);
            let hits = targets.contains(county_code);
            let id = self.push(Draft {
                kind: DemandKind::Indicator,
                source,
                title,
                topic: topic.to_owned(),
                targets,
                starts_at: at(day, 9, 0),
                ends_at: at(self.cal.last(), 17, 30),
                cost: Cost {
                    indicators: n,
                    cadre_hours: f64::from(n * 6),
                    cadres_required: 2,
                    forms: 1,
                    flags,
                    ..Cost::default()
                },
                reported: false,
                cancellable: false,
            });
            if hits {
                on_county.push(id);
            }
        }
        on_county
    }
}
