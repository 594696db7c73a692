//! Read views over the rollups and findings: what the dashboard shows.

use chrono::NaiveDate;
use serde::Serialize;
use tongxin_domain::{DemandKind, Level, UnitCode};
use uuid::Uuid;

use crate::engine::{Engine, Finding};
use crate::period::{PeriodIndex, PeriodKind};
use crate::rollup::Totals;

/// One period of a unit's trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub period: PeriodIndex,
    pub label_zh: String,
    pub label_en: String,
    pub totals: Totals,
}

/// A unit with its totals over a span: a row of the hierarchy heat map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitRow {
    pub code: UnitCode,
    pub name: String,
    pub level: Level,
    /// Cadres of the unit and everything below it.
    pub cadres: u64,
    pub totals: Totals,
    /// Cadre-hours per cadre over the span.
    pub hours_per_cadre: f64,
    pub has_children: bool,
}

/// A source department with the burden it placed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    pub id: Uuid,
    pub name: String,
    pub totals: Totals,
}

/// Which findings to list.
#[derive(Debug, Clone, Default)]
pub struct FindingFilter {
    /// Findings naming this unit or a unit below it.
    pub unit: Option<UnitCode>,
    /// Rule id, or a prefix ending in `.` (e.g. `visit.`).
    pub rule: Option<String>,
    pub min_severity: Option<tongxin_rules::Severity>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl Engine {
    fn unit_cells(&self, u: u32, p: PeriodIndex) -> Totals {
        match p.period {
            PeriodKind::Week | PeriodKind::Month => {
                self.rollups.unit.get(&(u, p)).copied().unwrap_or_default()
            }
            PeriodKind::Quarter | PeriodKind::Year => {
                Totals::sum(p.months().iter().filter_map(|m| self.rollups.unit.get(&(u, *m))))
            }
        }
    }

    /// The totals of a unit's subtree in one period (week, month, quarter or year).
    pub fn unit_totals(&self, code: &UnitCode, p: PeriodIndex) -> Option<Totals> {
        self.unit_of(code.as_str()).map(|u| self.unit_cells(u, p))
    }

    /// A unit's trend: one cell per period from `from` to `to` inclusive.
    pub fn trend(
        &self,
        code: &UnitCode,
        period: PeriodKind,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Option<Vec<Cell>> {
        let u = self.unit_of(code.as_str())?;
        let (a, b) = (period.of(from).index, period.of(to).index);
        Some(
            (a..=b.max(a))
                .take(600)
                .map(|index| {
                    let p = PeriodIndex { period, index };
                    let (label_zh, label_en) = p.label();
                    Cell { period: p, label_zh, label_en, totals: self.unit_cells(u, p) }
                })
                .collect(),
        )
    }

    fn row(&self, u: u32, p: PeriodIndex) -> UnitRow {
        let info = self.unit(u);
        let totals = self.unit_cells(u, p);
        let cadres = self.subtree_cadres[u as usize];
        UnitRow {
            code: info.code.clone(),
            name: info.name.clone(),
            level: info.level,
            cadres,
            hours_per_cadre: if cadres == 0 { 0.0 } else { totals.cadre_hours() / cadres as f64 },
            totals,
            has_children: !self.children[u as usize].is_empty(),
        }
    }

    /// The unit itself and its children, with their totals in one period (the heat map).
    pub fn unit_and_children(&self, code: &UnitCode, p: PeriodIndex) -> Option<(UnitRow, Vec<UnitRow>)> {
        let u = self.unit_of(code.as_str())?;
        let mut kids: Vec<UnitRow> = self.children[u as usize].iter().map(|c| self.row(*c, p)).collect();
        kids.sort_by(|a, b| a.code.cmp(&b.code));
        Some((self.row(u, p), kids))
    }

    /// The roots of the hierarchy (provinces) with their totals.
    pub fn roots(&self, p: PeriodIndex) -> Vec<UnitRow> {
        let mut v: Vec<UnitRow> = (0..self.units.len() as u32)
            .filter(|u| self.unit(*u).parent.is_none())
            .map(|u| self.row(u, p))
            .collect();
        v.sort_by(|a, b| a.code.cmp(&b.code));
        v
    }

    /// The departments that placed most cadre-hours on a unit (county level or above) in a
    /// year, most first.
    pub fn top_sources(&self, code: &UnitCode, year: i32, n: usize) -> Vec<Source> {
        let Some(u) = self.unit_of(code.as_str()) else { return Vec::new() };
        let mut v: Vec<Source> = self
            .rollups
            .unit_dept
            .iter()
            .filter(|((unit, _, y), _)| *unit == u && *y == year)
            .map(|((_, d, _), t)| Source {
                id: self.bodies[*d as usize].id,
                name: self.body_name(*d).to_owned(),
                totals: *t,
            })
            .collect();
        v.sort_by(|a, b| b.totals.cadre_centihours.cmp(&a.totals.cadre_centihours).then(a.name.cmp(&b.name)));
        v.truncate(n);
        v
    }

    /// A unit's totals by kind of demand in a year (county level or above).
    pub fn by_kind(&self, code: &UnitCode, year: i32) -> Vec<(DemandKind, Totals)> {
        let Some(u) = self.unit_of(code.as_str()) else { return Vec::new() };
        DemandKind::ALL
            .into_iter()
            .filter_map(|k| self.rollups.unit_kind.get(&(u, k, year)).map(|t| (k, *t)))
            .collect()
    }

    /// The burden a body placed in a period (a department's figures include its divisions).
    pub fn body_totals(&self, body: Uuid, p: PeriodIndex) -> Option<Totals> {
        let b = *self.body_index.get(&body)?;
        Some(match p.period {
            PeriodKind::Week => return None,
            _ => Totals::sum(p.months().iter().filter_map(|m| self.rollups.body.get(&(b, *m)))),
        })
    }

    /// The findings matching a filter, in [`Engine::findings`] order.
    pub fn findings_where(&self, f: &FindingFilter) -> Vec<&Finding> {
        self.findings()
            .into_iter()
            .filter(|x| {
                f.unit.as_ref().is_none_or(|u| x.units.iter().any(|c| u.contains(c)))
                    && f.rule.as_ref().is_none_or(|r| {
                        if r.ends_with('.') { x.rule.starts_with(r.as_str()) } else { x.rule == *r }
                    })
                    && f.min_severity.is_none_or(|s| x.severity >= s)
                    && f.from.is_none_or(|d| x.date >= d)
                    && f.to.is_none_or(|d| x.date <= d)
            })
            .collect()
    }

    /// The title of a live demand (for lists of findings).
    pub fn demand_title(&self, id: Uuid) -> Option<&str> {
        self.slots.get(&id).map(|s| &*self.rec(*s).title)
    }

    /// A unit's name.
    pub fn unit_name(&self, code: &UnitCode) -> Option<&str> {
        self.unit_of(code.as_str()).map(|u| self.unit(u).name.as_str())
    }
}
