//! Burden rollups kept current as demands are written: totals by unit (its whole subtree),
//! by body (a department includes its divisions), by kind and by period.
//!
//! Cells hold exact integers (hours and days in hundredths), so adding a demand and taking
//! it away again leaves every cell as it was, and the incremental totals equal a full
//! recomputation bit for bit. Weeks and months are stored; quarters and years are sums of
//! months.

use rustc_hash::FxHashMap;
use serde::Serialize;
use tongxin_domain::{DemandKind, Level};

use crate::engine::{Engine, Finding, Rec};
use crate::period::{PeriodIndex, PeriodKind};

/// The burden figures of one cell.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Demand-target pairs (a demand on three units counts three times).
    pub demands: i64,
    pub cadre_centihours: i64,
    /// Visits received (inspections, research and guidance visits, work groups).
    pub visits: i64,
    pub host_centidays: i64,
    pub forms: i64,
    pub fields: i64,
    pub indicators: i64,
    /// Findings that involve the unit (or body, or kind).
    pub violations: i64,
}

impl Totals {
    pub fn cadre_hours(&self) -> f64 {
        self.cadre_centihours as f64 / 100.0
    }

    pub fn host_person_days(&self) -> f64 {
        self.host_centidays as f64 / 100.0
    }

    fn add(&mut self, o: &Totals, sign: i64) {
        self.demands += sign * o.demands;
        self.cadre_centihours += sign * o.cadre_centihours;
        self.visits += sign * o.visits;
        self.host_centidays += sign * o.host_centidays;
        self.forms += sign * o.forms;
        self.fields += sign * o.fields;
        self.indicators += sign * o.indicators;
        self.violations += sign * o.violations;
    }

    pub fn is_zero(&self) -> bool {
        *self == Totals::default()
    }

    /// The sum of several cells.
    pub fn sum<'a>(cells: impl IntoIterator<Item = &'a Totals>) -> Totals {
        let mut t = Totals::default();
        for c in cells {
            t.add(c, 1);
        }
        t
    }
}

/// What one demand adds to each of its target units.
pub(crate) fn contribution(r: &Rec) -> Totals {
    Totals {
        demands: 1,
        cadre_centihours: r.cadre_centihours,
        visits: i64::from(r.kind.is_visit()),
        host_centidays: r.host_centidays,
        forms: i64::from(r.forms),
        fields: i64::from(r.field_count),
        indicators: i64::from(r.indicators),
        violations: 0,
    }
}

/// The cells. Unit cells are subtree totals: a demand on a village counts in the village,
/// its township, county, prefecture and province.
#[derive(Debug, Default, Clone)]
pub(crate) struct Rollups {
    /// (unit, week or month) → totals of the unit's subtree.
    pub unit: FxHashMap<(u32, PeriodIndex), Totals>,
    /// (unit at county level or above, kind, year) → totals of the subtree.
    pub unit_kind: FxHashMap<(u32, DemandKind, i32), Totals>,
    /// (unit at county level or above, department, year) → totals of the subtree: the
    /// top sources of a jurisdiction.
    pub unit_dept: FxHashMap<(u32, u32, i32), Totals>,
    /// (body, month) → totals; a department's cells include its divisions.
    pub body: FxHashMap<(u32, PeriodIndex), Totals>,
}

/// Adds `sign × t` to a cell; a cell that comes back to zero is removed, so two engines
/// with equal content have equal maps and memory follows the live demands.
fn bump<K: std::hash::Hash + Eq>(map: &mut FxHashMap<K, Totals>, k: K, t: &Totals, sign: i64) {
    use std::collections::hash_map::Entry;
    match map.entry(k) {
        Entry::Occupied(mut o) => {
            o.get_mut().add(t, sign);
            if o.get().is_zero() {
                o.remove();
            }
        }
        Entry::Vacant(v) => {
            let mut c = Totals::default();
            c.add(t, sign);
            if !c.is_zero() {
                v.insert(c);
            }
        }
    }
}

impl Rollups {
    fn apply(&mut self, e: &Engine, r: &Rec, t: &Totals, sign: i64) {
        let day = r.day();
        let periods = [PeriodKind::Week.of(day), PeriodKind::Month.of(day)];
        let year = PeriodKind::Year.of(day).index;
        let month = periods[1];
        for &target in r.targets.iter() {
            for u in e.lineage(target) {
                for p in periods {
                    bump(&mut self.unit, (u, p), t, sign);
                }
                if e.unit(u).level <= Level::County {
                    bump(&mut self.unit_kind, (u, r.kind, year), t, sign);
                    bump(&mut self.unit_dept, (u, r.dept, year), t, sign);
                }
            }
        }
        // Per body the demand counts once whatever its number of targets, in the units
        // that matter to the body: demand-target pairs.
        let mut per_body = *t;
        let n = r.targets.len() as i64;
        per_body.demands *= n;
        per_body.cadre_centihours *= n;
        per_body.visits *= n;
        per_body.host_centidays *= n;
        per_body.forms *= n;
        per_body.fields *= n;
        per_body.indicators *= n;
        bump(&mut self.body, (r.body, month), &per_body, sign);
        if r.dept != r.body {
            bump(&mut self.body, (r.dept, month), &per_body, sign);
        }
    }

    pub fn add_demand(&mut self, e: &Engine, r: &Rec) {
        self.apply(e, r, &contribution(r), 1);
    }

    pub fn remove_demand(&mut self, e: &Engine, r: &Rec) {
        self.apply(e, r, &contribution(r), -1);
    }

    pub fn add_demands<'a>(&mut self, e: &Engine, recs: impl Iterator<Item = &'a Rec>) {
        for r in recs {
            self.add_demand(e, r);
        }
    }

    /// Adds (`sign` 1) or takes away (−1) the violations of findings: one per finding in
    /// each unit it names (and their ancestors), in the body and kind of its first demand.
    pub fn add_findings(&mut self, e: &Engine, findings: &[Finding], sign: i64) {
        let one = Totals { violations: 1, ..Totals::default() };
        for f in findings {
            let periods = [PeriodKind::Week.of(f.date), PeriodKind::Month.of(f.date)];
            let year = PeriodKind::Year.of(f.date).index;
            let (body, dept, kind) = f.origin;
            let mut touched: Vec<u32> = Vec::new();
            for &u in &f.unit_ids {
                touched.extend(e.lineage(u));
            }
            touched.sort_unstable();
            touched.dedup();
            for u in touched {
                for p in periods {
                    bump(&mut self.unit, (u, p), &one, sign);
                }
                if e.unit(u).level <= Level::County {
                    bump(&mut self.unit_kind, (u, kind, year), &one, sign);
                    bump(&mut self.unit_dept, (u, dept, year), &one, sign);
                }
            }
            bump(&mut self.body, (body, periods[1]), &one, sign);
            if dept != body {
                bump(&mut self.body, (dept, periods[1]), &one, sign);
            }
        }
    }

    /// Every non-empty cell as text, sorted: for comparing two engines.
    pub fn canonical(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        out.extend(self.unit.iter().map(|(k, t)| format!("u{k:?}={t:?}")));
        out.extend(self.unit_kind.iter().map(|(k, t)| format!("k{k:?}={t:?}")));
        out.extend(self.unit_dept.iter().map(|(k, t)| format!("d{k:?}={t:?}")));
        out.extend(self.body.iter().map(|(k, t)| format!("b{k:?}={t:?}")));
        out.sort();
        out
    }
}
