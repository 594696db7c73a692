//! Checks against stored data that every backend runs before it writes, so both behave
//! the same: references must exist, divisions must hang under departments, and every
//! problem is named by its position in the batch (`demands[12].targets[0]`).

use std::collections::{HashMap, HashSet};

use rustc_hash::{FxHashMap, FxHashSet};
use tongxin_domain::{Body, Demand, FieldError, Invalid, UnitCode};
use uuid::Uuid;

use crate::{ImportBatch, Result, Store, StoreError};

/// Below this many demands per thread, the demand checks stay on one thread.
const PARALLEL_MIN: usize = 50_000;

/// Sets `source_department` from the stored body and checks the demand's references.
pub async fn prepare_demand(store: &dyn Store, mut demand: Demand) -> Result<Demand> {
    let body = store.body(demand.source_body).await?;
    if let Some(body) = &body {
        demand.source_department = body.department();
    }
    let missing = store.missing_units(&demand.targets).await?;
    let errors = demand_problems(&demand, body.as_ref().map(Body::province), |t| missing.contains(t));
    Invalid::check(errors)?;
    Ok(demand)
}

/// Everything wrong with `demand` on its own and in its references, fields named from the
/// demand (`targets[0]`): its own checks, then its source body (unknown, given as `None`,
/// or in another province than its targets: a body's demands are all in its province),
/// then each target unit that does not exist. One rule for single writes and imports.
fn demand_problems(
    demand: &Demand,
    body_province: Option<&str>,
    unknown_unit: impl Fn(&UnitCode) -> bool,
) -> Vec<FieldError> {
    let mut errors = match demand.validate() {
        Ok(()) => Vec::new(),
        Err(Invalid(e)) => e,
    };
    match body_province {
        Some(province) => {
            if !demand.targets.is_empty() && province != demand.province() {
                errors.push(FieldError::new(
                    "source_body",
                    "来源部门与对象单位不在同一省份",
                    "the source body is in another province than the targets",
                ));
            }
        }
        None => errors.push(FieldError::new("source_body", "来源部门不存在", "unknown source body")),
    }
    for (i, t) in demand.targets.iter().enumerate() {
        if unknown_unit(t) {
            errors.push(FieldError::new(
                format!("targets[{i}]"),
                format!("对象单位 {t} 不存在"),
                format!("unknown target unit {t}"),
            ));
        }
    }
    errors
}

/// Checks a whole import batch against itself and the store; fills in each demand's
/// `source_department`. Returns every problem at once.
pub async fn prepare_batch(store: &dyn Store, batch: &mut ImportBatch) -> Result<()> {
    let checks = prepare(store, batch).await?;
    checks.fill_departments(&mut batch.demands);
    checks.verdict(&batch.demands, threads())
}

/// Threads for checking a large batch's demands.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

/// What the checks of a batch's demands need to know, owned, so that they can run on
/// another thread while the batch is written (SQLite's import does; the write is rolled
/// back when they fail), with the problems already found in the rest of the batch.
#[derive(Debug, Default)]
pub struct DemandChecks {
    /// Every body the batch or the store has that a demand may name: its department and
    /// province.
    bodies: FxHashMap<Uuid, (Uuid, String)>,
    /// Units the batch refers to that are neither in it nor stored.
    unknown_units: HashSet<UnitCode>,
    /// Problems of the batch's units and bodies (before its demands, in batch order) and
    /// of its users (after them).
    before: Vec<FieldError>,
    after: Vec<FieldError>,
}

impl DemandChecks {
    /// Whether the rest of the batch (units, bodies, users) passed its checks: only then
    /// is it worth writing while the demands are checked.
    pub fn rest_is_valid(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }

    /// The department of a body the batch or the store has (itself, or a division's
    /// parent): what a demand of that body records as its `source_department`.
    pub fn department_of(&self, body: &Uuid) -> Option<Uuid> {
        self.bodies.get(body).map(|(department, _)| *department)
    }

    /// Sets each demand's `source_department` from its source body (on every core).
    pub fn fill_departments(&self, demands: &mut [Demand]) {
        let per = demands.len().div_ceil(threads()).max(PARALLEL_MIN);
        std::thread::scope(|scope| {
            for chunk in demands.chunks_mut(per) {
                scope.spawn(move || {
                    for d in chunk {
                        if let Some(department) = self.department_of(&d.source_body) {
                            d.source_department = department;
                        }
                    }
                });
            }
        });
    }

    /// Checks `demands` (the batch's) on `threads` threads and
    /// returns every problem of the whole batch, in batch order.
    pub fn verdict(&self, demands: &[Demand], threads: usize) -> Result<()> {
        let per = demands.len().div_ceil(threads.max(1)).max(PARALLEL_MIN);
        let per_chunk: Vec<Vec<FieldError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = demands
                .chunks(per)
                .enumerate()
                .map(|(n, chunk)| scope.spawn(move || self.check_demands(n * per, chunk)))
                .collect();
            handles.into_iter().map(|h| h.join().expect("demand checks do not panic")).collect()
        });
        let mut errors = self.before.clone();
        errors.extend(per_chunk.into_iter().flatten());
        if errors.len() < 10_000 {
            // Duplicate ids by sorting them (cheaper than hashing a million); only when
            // there are any, a second pass finds where: every repeat after the first.
            let mut ids: Vec<Uuid> = demands.iter().map(|d| d.id).collect();
            ids.sort_unstable();
            let repeated: FxHashSet<Uuid> = ids.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).collect();
            if !repeated.is_empty() {
                let mut seen = FxHashSet::default();
                for (i, d) in demands.iter().enumerate() {
                    if repeated.contains(&d.id) && !seen.insert(d.id) {
                        errors.push(FieldError::new(format!("demands[{i}].id"), "编号重复", "duplicate id"));
                    }
                }
            }
        }
        errors.extend(self.after.iter().cloned());
        Invalid::check(errors).map_err(StoreError::Invalid)
    }

    /// Each demand on its own ([`demand_problems`]); `first` is the position of `chunk[0]`
    /// in the batch.
    fn check_demands(&self, first: usize, chunk: &[Demand]) -> Vec<FieldError> {
        let mut errors = Vec::new();
        for (k, d) in chunk.iter().enumerate() {
            let province = self.bodies.get(&d.source_body).map(|(_, province)| province.as_str());
            let problems = demand_problems(d, province, |t| self.unknown_units.contains(t));
            if !problems.is_empty() {
                errors.extend(prefixed(&format!("demands[{}]", first + k), problems));
            }
        }
        errors
    }
}

/// Checks a batch's units, bodies and users against themselves and the store, and looks
/// up what the demands name; the demands themselves are checked by
/// [`DemandChecks::verdict`], and their departments come from
/// [`DemandChecks::department_of`] (or [`DemandChecks::fill_departments`]).
pub async fn prepare(store: &dyn Store, batch: &ImportBatch) -> Result<DemandChecks> {
    let mut errors = Vec::new();

    // Units: no duplicates; each parent in the batch or stored.
    let batch_units: HashSet<&UnitCode> = batch.units.iter().map(|u| &u.code).collect();
    let mut seen = HashSet::new();
    let parents: Vec<UnitCode> = batch.units.iter().filter_map(|u| u.parent()).collect();
    let stored_parents = store.existing_units(&parents).await?;
    for (i, u) in batch.units.iter().enumerate() {
        if let Err(Invalid(e)) = u.validate() {
            errors.extend(prefixed(&format!("units[{i}]"), e));
        }
        if !seen.insert(&u.code) {
            errors.push(FieldError::new(
                format!("units[{i}].code"),
                format!("区划代码 {} 重复", u.code),
                format!("duplicate unit code {}", u.code),
            ));
        }
        if let Some(p) = u.parent()
            && !batch_units.contains(&p)
            && !stored_parents.contains(&p)
        {
            errors.push(FieldError::new(
                format!("units[{i}].code"),
                format!("上级单位 {p} 不存在"),
                format!("parent unit {p} does not exist"),
            ));
        }
    }

    // Every unit referenced by bodies, demands and users: in the batch or stored.
    // Deduplicated by reference first: a million demands name a few thousand units.
    let (mut referenced, mut wanted) = named_by(&batch.demands);
    referenced.extend(batch.bodies.iter().map(|b| &b.unit));
    referenced.extend(batch.users.iter().map(|u| &u.scope));
    let mut referenced: Vec<UnitCode> =
        referenced.into_iter().filter(|c| !batch_units.contains(c)).cloned().collect();
    referenced.sort();
    let unknown_units = store.missing_units(&referenced).await?;
    let unit_known = |c: &UnitCode| !unknown_units.contains(c);

    // Bodies: the batch's own, then stored ones on demand.
    let mut bodies: HashMap<Uuid, Body> = HashMap::new();
    for b in &batch.bodies {
        if bodies.insert(b.id, b.clone()).is_some() {
            errors.push(FieldError::new(
                "bodies",
                format!("部门编号 {} 重复", b.id),
                format!("duplicate body id {}", b.id),
            ));
        }
    }
    wanted.extend(batch.bodies.iter().filter_map(|b| b.parent));
    wanted.extend(batch.users.iter().filter_map(|u| u.body));
    // The batch's own ids too: one that is stored already is refused below.
    wanted.extend(batch.bodies.iter().map(|b| b.id));
    let mut wanted: Vec<Uuid> = wanted.into_iter().collect();
    wanted.sort_unstable();
    // One query for all of them: a national import names a hundred thousand bodies.
    let mut stored = HashSet::new();
    for b in store.bodies_by_id(&wanted).await? {
        stored.insert(b.id);
        // A batch body keeps the batch's version.
        bodies.entry(b.id).or_insert(b);
    }
    for (i, b) in batch.bodies.iter().enumerate() {
        if stored.contains(&b.id) {
            errors.push(FieldError::new(format!("bodies[{i}].id"), "部门已存在", "body already exists"));
        }
        if !unit_known(&b.unit) {
            errors.push(FieldError::new(
                format!("bodies[{i}].unit"),
                format!("单位 {} 不存在", b.unit),
                format!("unknown unit {}", b.unit),
            ));
        }
        let parent = b.parent.and_then(|p| bodies.get(&p));
        if let Err(Invalid(e)) = b.validate(parent) {
            errors.extend(prefixed(&format!("bodies[{i}]"), e));
        }
    }

    let mut after = Vec::new();
    let mut names = HashSet::new();
    for (i, u) in batch.users.iter().enumerate() {
        let at = format!("users[{i}]");
        if let Err(Invalid(e)) = u.validate() {
            after.extend(prefixed(&at, e));
        }
        if !names.insert(&u.username) || store.user_by_name(&u.username).await?.is_some() {
            after.push(FieldError::new(format!("{at}.username"), "用户名已存在", "username already exists"));
        }
        if !unit_known(&u.scope) {
            after.push(FieldError::new(format!("{at}.scope"), "范围单位不存在", "unknown scope unit"));
        }
        if let Some(b) = u.body
            && !bodies.contains_key(&b)
        {
            after.push(FieldError::new(format!("{at}.body"), "所属部门不存在", "unknown body"));
        }
    }

    let bodies: FxHashMap<Uuid, (Uuid, String)> =
        bodies.into_values().map(|b| (b.id, (b.department(), b.province().to_owned()))).collect();
    Ok(DemandChecks { bodies, unknown_units, before: errors, after })
}

/// The units and the source bodies `demands` name, gathered on every core. FxHash rather
/// than the default SipHash: a million lookups in a third of the time; the codes come from
/// privileged importers, whose crafted collisions could only slow their own import.
fn named_by(demands: &[Demand]) -> (FxHashSet<&UnitCode>, FxHashSet<Uuid>) {
    let per = demands.len().div_ceil(threads()).max(PARALLEL_MIN);
    let parts: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = demands
            .chunks(per)
            .map(|chunk| {
                scope.spawn(move || {
                    let mut units = FxHashSet::default();
                    let mut bodies = FxHashSet::default();
                    // Consecutive demands often share their body: each run is hashed once.
                    let mut last = None;
                    for d in chunk {
                        units.extend(d.targets.iter());
                        if last != Some(d.source_body) {
                            bodies.insert(d.source_body);
                            last = Some(d.source_body);
                        }
                    }
                    (units, bodies)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("gathering names does not panic")).collect()
    });
    let mut all = (FxHashSet::default(), FxHashSet::default());
    for (units, bodies) in parts {
        all.0.extend(units);
        all.1.extend(bodies);
    }
    all
}

fn prefixed(prefix: &str, errors: Vec<FieldError>) -> impl Iterator<Item = FieldError> + '_ {
    errors.into_iter().map(move |mut e| {
        e.field = format!("{prefix}.{}", e.field);
        e
    })
}
