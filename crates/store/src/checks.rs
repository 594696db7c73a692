//! Checks against stored data that every backend runs before it writes, so both behave
//! the same: references must exist, divisions must hang under departments, and every
//! problem is named by its position in the batch (`demands[12].targets[0]`).

use std::collections::{HashMap, HashSet};

use tongxin_domain::{Body, Demand, FieldError, Invalid, UnitCode};
use uuid::Uuid;

use crate::{ImportBatch, Result, Store, StoreError};

/// Below this many demands per thread, the demand checks stay on one thread.
const PARALLEL_MIN: usize = 50_000;

/// Sets `source_department` from the stored body and checks the demand's references.
pub async fn prepare_demand(store: &dyn Store, mut demand: Demand) -> Result<Demand> {
    let mut errors = match demand.validate() {
        Ok(()) => Vec::new(),
        Err(Invalid(e)) => e,
    };
    match store.body(demand.source_body).await? {
        Some(body) => {
            demand.source_department = body.department();
            if !demand.targets.is_empty() && body.province() != demand.province() {
                errors.push(FieldError::new(
                    "source_body",
                    "来源部门与对象单位不在同一省份",
                    "the source body is in another province than the targets",
                ));
            }
        }
        None => errors.push(FieldError::new("source_body", "来源部门不存在", "unknown source body")),
    }
    let known = store.existing_units(&demand.targets).await?;
    for (i, t) in demand.targets.iter().enumerate() {
        if !known.contains(t) {
            errors.push(FieldError::new(
                format!("targets[{i}]"),
                format!("对象单位 {t} 不存在"),
                format!("unknown target unit {t}"),
            ));
        }
    }
    Invalid::check(errors)?;
    Ok(demand)
}

/// Checks a whole import batch against itself and the store; fills in each demand's
/// `source_department`. Returns every problem at once.
pub async fn prepare_batch(store: &dyn Store, batch: &mut ImportBatch) -> Result<()> {
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
    let mut referenced: HashSet<&UnitCode> = batch.bodies.iter().map(|b| &b.unit).collect();
    referenced.extend(batch.demands.iter().flat_map(|d| d.targets.iter()));
    referenced.extend(batch.users.iter().map(|u| &u.scope));
    let mut referenced: Vec<UnitCode> =
        referenced.into_iter().filter(|c| !batch_units.contains(c)).cloned().collect();
    referenced.sort();
    let stored_units = store.existing_units(&referenced).await?;
    let unit_known = |c: &UnitCode| batch_units.contains(c) || stored_units.contains(c);

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
    let mut wanted: Vec<Uuid> = batch.bodies.iter().filter_map(|b| b.parent).collect();
    wanted.extend(batch.demands.iter().map(|d| d.source_body));
    wanted.extend(batch.users.iter().filter_map(|u| u.body));
    // The batch's own ids too: one that is stored already is refused below.
    wanted.extend(batch.bodies.iter().map(|b| b.id));
    wanted.sort();
    wanted.dedup();
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

    // Demands: each on its own, in parallel over the cores (a large import is mostly
    // demands); the errors come back in batch order.
    let check_demands = |first: usize, chunk: &mut [Demand]| {
        let mut errors = Vec::new();
        for (k, d) in chunk.iter_mut().enumerate() {
            let i = first + k;
            if let Err(Invalid(e)) = d.validate() {
                errors.extend(prefixed(&format!("demands[{i}]"), e));
            }
            match bodies.get(&d.source_body) {
                Some(b) => d.source_department = b.department(),
                None => errors.push(FieldError::new(
                    format!("demands[{i}].source_body"),
                    "来源部门不存在",
                    "unknown source body",
                )),
            }
            for (j, t) in d.targets.iter().enumerate() {
                if !unit_known(t) {
                    errors.push(FieldError::new(
                        format!("demands[{i}].targets[{j}]"),
                        format!("对象单位 {t} 不存在"),
                        format!("unknown target unit {t}"),
                    ));
                }
            }
        }
        errors
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let per = batch.demands.len().div_ceil(threads).max(PARALLEL_MIN);
    let per_chunk: Vec<Vec<FieldError>> = std::thread::scope(|scope| {
        let check_demands = &check_demands;
        let handles: Vec<_> = batch
            .demands
            .chunks_mut(per)
            .enumerate()
            .map(|(n, chunk)| scope.spawn(move || check_demands(n * per, chunk)))
            .collect();
        handles.into_iter().map(|h| h.join().expect("demand checks do not panic")).collect()
    });
    errors.extend(per_chunk.into_iter().flatten());
    if errors.len() < 10_000 {
        // Duplicate ids by sorting (id, position): cheaper than hashing a million ids.
        let mut ids: Vec<(Uuid, usize)> = batch.demands.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
        ids.sort_unstable();
        let mut dups: Vec<usize> = ids.windows(2).filter(|w| w[0].0 == w[1].0).map(|w| w[1].1).collect();
        dups.sort_unstable();
        for i in dups {
            errors.push(FieldError::new(format!("demands[{i}].id"), "编号重复", "duplicate id"));
        }
    }

    let mut names = HashSet::new();
    for (i, u) in batch.users.iter().enumerate() {
        let at = format!("users[{i}]");
        if let Err(Invalid(e)) = u.validate() {
            errors.extend(prefixed(&at, e));
        }
        if !names.insert(&u.username) || store.user_by_name(&u.username).await?.is_some() {
            errors.push(FieldError::new(format!("{at}.username"), "用户名已存在", "username already exists"));
        }
        if !unit_known(&u.scope) {
            errors.push(FieldError::new(format!("{at}.scope"), "范围单位不存在", "unknown scope unit"));
        }
        if let Some(b) = u.body
            && !bodies.contains_key(&b)
        {
            errors.push(FieldError::new(format!("{at}.body"), "所属部门不存在", "unknown body"));
        }
    }
    Invalid::check(errors).map_err(StoreError::Invalid)
}

fn prefixed(prefix: &str, errors: Vec<FieldError>) -> impl Iterator<Item = FieldError> + '_ {
    errors.into_iter().map(move |mut e| {
        e.field = format!("{prefix}.{}", e.field);
        e
    })
}
