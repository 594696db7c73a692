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

/// Which units and bodies one thread of a full recomputation keeps cells for: the units
/// of some provinces (a unit's cells only ever take in its own subtree) and the bodies
/// with some remainder of their index.
pub(crate) struct Shard {
    /// Each unit's province, as a part number; empty for "all".
    part_of_unit: Vec<u32>,
    part: u32,
    parts: u32,
}

impl Shard {
    pub const ALL: Shard = Shard { part_of_unit: Vec::new(), part: 0, parts: 1 };

    /// The `parts` shards of the engine's units and bodies.
    pub fn split(e: &Engine, parts: u32) -> Vec<Shard> {
        let parts = parts.max(1);
        let roots: Vec<u32> = (0..e.units.len() as u32).map(|u| e.lineage(u).last().unwrap_or(u)).collect();
        // Provinces to parts, largest first, each to the part with the fewest units yet.
        let mut size: FxHashMap<u32, usize> = FxHashMap::default();
        for r in &roots {
            *size.entry(*r).or_default() += 1;
        }
        let mut by_size: Vec<(usize, u32)> = size.into_iter().map(|(r, n)| (n, r)).collect();
        by_size.sort_unstable_by(|a, b| b.cmp(a));
        let mut load = vec![0usize; parts as usize];
        let mut part_of_root: FxHashMap<u32, u32> = FxHashMap::default();
        for (n, r) in by_size {
            let least = (0..parts as usize).min_by_key(|p| load[*p]).unwrap_or(0);
            load[least] += n;
            part_of_root.insert(r, least as u32);
        }
        let part_of_unit: Vec<u32> =
            roots.iter().map(|r| part_of_root.get(r).copied().unwrap_or(0)).collect();
        (0..parts).map(|part| Shard { part_of_unit: part_of_unit.clone(), part, parts }).collect()
    }

    fn unit(&self, u: u32) -> bool {
        self.parts == 1 || self.part_of_unit.get(u as usize) == Some(&self.part)
    }

    fn body(&self, b: u32) -> bool {
        b % self.parts == self.part
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

    /// The demand cells of `live` from scratch, for the units and bodies `mine` accepts
    /// (a full recomputation splits them between threads). The same cells as adding the
    /// demands one by one, computed bottom-up: each demand adds to its targets' cells
    /// only, then every level's cells are added to their parents' once.
    pub fn of_demands(e: &Engine, live: &[u32], mine: &Shard) -> Rollups {
        type Cells<K> = FxHashMap<K, Totals>;
        let add = |cell: &mut Totals, t: &Totals| cell.add(t, 1);
        let mut unit: [Cells<(u32, PeriodIndex)>; 6] = Default::default();
        let mut kind: [Cells<(u32, DemandKind, i32)>; 6] = Default::default();
        let mut dept: [Cells<(u32, u32, i32)>; 6] = Default::default();
        let mut body: Cells<(u32, PeriodIndex)> = FxHashMap::default();
        for &slot in live {
            let r = e.rec(slot);
            let t = contribution(r);
            let day = r.day();
            let periods = [PeriodKind::Week.of(day), PeriodKind::Month.of(day)];
            let year = PeriodKind::Year.of(day).index;
            for &target in r.targets.iter() {
                if !mine.unit(target) {
                    continue;
                }
                let level = usize::from(e.unit(target).level.number());
                for p in periods {
                    add(unit[level].entry((target, p)).or_default(), &t);
                }
                // The kind and department cells start at the nearest unit at county level
                // or above.
                if let Some(c) = e.lineage(target).find(|u| e.unit(*u).level <= Level::County) {
                    let level = usize::from(e.unit(c).level.number());
                    add(kind[level].entry((c, r.kind, year)).or_default(), &t);
                    add(dept[level].entry((c, r.dept, year)).or_default(), &t);
                }
            }
            let n = r.targets.len() as i64;
            let per_body = Totals {
                demands: n,
                cadre_centihours: t.cadre_centihours * n,
                visits: t.visits * n,
                host_centidays: t.host_centidays * n,
                forms: t.forms * n,
                fields: t.fields * n,
                indicators: t.indicators * n,
                violations: 0,
            };
            let month = periods[1];
            if n == 0 {
                // Nothing to add (a cell that would stay zero is not kept).
                continue;
            }
            if mine.body(r.body) {
                add(body.entry((r.body, month)).or_default(), &per_body);
            }
            if r.dept != r.body && mine.body(r.dept) {
                add(body.entry((r.dept, month)).or_default(), &per_body);
            }
        }
        // Bottom-up: a parent's code is shorter, so its level is above its child's.
        fn lift<K: Copy + std::hash::Hash + Eq>(
            e: &Engine,
            levels: &mut [FxHashMap<K, Totals>; 6],
            unit_of: impl Fn(&K) -> u32,
            with_unit: impl Fn(&K, u32) -> K,
        ) -> FxHashMap<K, Totals> {
            for level in (2..6).rev() {
                let cells = std::mem::take(&mut levels[level]);
                for (k, t) in &cells {
                    if let Some(p) = e.unit(unit_of(k)).parent {
                        let pl = usize::from(e.unit(p).level.number());
                        levels[pl].entry(with_unit(k, p)).or_default().add(t, 1);
                    }
                }
                levels[level] = cells;
            }
            let mut all = FxHashMap::default();
            all.reserve(levels.iter().map(|l| l.len()).sum());
            for l in levels.iter_mut() {
                all.extend(l.drain());
            }
            all
        }
        Rollups {
            unit: lift(e, &mut unit, |k| k.0, |k, u| (u, k.1)),
            unit_kind: lift(e, &mut kind, |k| k.0, |k, u| (u, k.1, k.2)),
            unit_dept: lift(e, &mut dept, |k| k.0, |k, u| (u, k.1, k.2)),
            body,
        }
    }

    /// Takes in the cells of another part (disjoint from this one's).
    pub fn absorb(&mut self, o: Rollups) {
        fn join<K: std::hash::Hash + Eq>(a: &mut FxHashMap<K, Totals>, b: FxHashMap<K, Totals>) {
            if a.len() < b.len() {
                let small = std::mem::replace(a, b);
                a.extend(small);
            } else {
                a.extend(b);
            }
        }
        join(&mut self.unit, o.unit);
        join(&mut self.unit_kind, o.unit_kind);
        join(&mut self.unit_dept, o.unit_dept);
        join(&mut self.body, o.body);
    }

    /// Adds (`sign` 1) or takes away (−1) the violations of findings: one per finding in
    /// each unit it names (and their ancestors), in the body and kind of its first demand.
    pub fn add_findings(&mut self, e: &Engine, findings: &[Finding], sign: i64) {
        self.add_findings_of(e, findings, sign, &Shard::ALL);
    }

    /// [`Rollups::add_findings`] for the units and bodies `mine` accepts.
    pub fn add_findings_of(&mut self, e: &Engine, findings: &[Finding], sign: i64, mine: &Shard) {
        let one = Totals { violations: 1, ..Totals::default() };
        for f in findings {
            let periods = [PeriodKind::Week.of(f.date), PeriodKind::Month.of(f.date)];
            let year = PeriodKind::Year.of(f.date).index;
            let (body, dept, kind) = f.origin;
            let mut touched: Vec<u32> = Vec::new();
            // A unit's ancestors are in its province, so in its shard.
            for &u in f.unit_ids.iter().filter(|u| mine.unit(**u)) {
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
            if mine.body(body) {
                bump(&mut self.body, (body, periods[1]), &one, sign);
            }
            if dept != body && mine.body(dept) {
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
