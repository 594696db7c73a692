//! The rule families: which groups a demand belongs to ([`keys_of`]) and what a group's
//! findings are ([`evaluate`]).
//!
//! A group is everything one finding can depend on: the demands on one unit in one period
//! (caps, hosting load), one department's demands on one unit (coordination), the demands
//! reaching one unit (repetition), one field asked of one unit (duplicate data), one
//! department's year (annual counts, document volume, indicators), or one demand alone.
//! Incremental maintenance re-evaluates exactly the groups of the old and new version of
//! a written demand, so its results equal a full recomputation.

use std::sync::Arc;

use chrono::{Datelike, Duration, NaiveDate};
use rustc_hash::FxHashSet;
use tongxin_domain::{DemandKind, Flag, Level};
use tongxin_rules::{Params, Rule, Scope as CountScope};

use crate::engine::{Engine, Finding, Key, Rec, Scope, Text};
use crate::period::{PeriodIndex, PeriodKind};
use crate::similar::{self, similar_pairs};

/// Repetition is tracked for the cadres of units at this level and above; village
/// committees hear a topic through their township's meetings.
pub(crate) const REPETITION_DEEPEST: Level = Level::Township;

fn enabled(e: &Engine) -> impl Iterator<Item = (u16, &Rule)> {
    e.rules.rules.iter().enumerate().filter(|(_, r)| r.enabled).map(|(i, r)| (i as u16, r))
}

fn year(d: NaiveDate) -> i64 {
    i64::from(d.year())
}

/// The groups `rec` belongs to, appended to `out`.
pub(crate) fn keys_of(e: &Engine, rec: &Rec, out: &mut Vec<Key>) {
    for (ri, rule) in enabled(e) {
        let key = |scope, part| Key { rule: ri, scope, part };
        let applies = rule.applies(rec.kind);
        match &rule.params {
            Params::Cap(p) if applies => {
                // One group per unit and period; per-source caps count each department
                // inside it.
                let period = PeriodKind::from(p.period).of(rec.day()).index as i64;
                for &t in rec.targets.iter() {
                    if p.target_levels.is_empty() || p.target_levels.contains(&e.unit(t).level) {
                        out.push(key(Scope::Unit(t), period));
                    }
                }
            }
            Params::HostingLoad(p) if applies => {
                let period = PeriodKind::from(p.period).of(rec.day()).index as i64;
                for &t in rec.targets.iter() {
                    out.push(key(Scope::Unit(t), period));
                }
            }
            // One group per unit: the departments (or fields) are told apart inside it, in
            // one pass over the unit's demands.
            Params::Coordination(_) if applies => {
                for &t in rec.targets.iter() {
                    out.push(key(Scope::Unit(t), 0));
                }
            }
            // Only a meeting reaches units below its targets; the keys are deduplicated
            // by the caller, so other demands need no set.
            Params::Repetition(_) if applies && rec.kind != DemandKind::Meeting => {
                for &t in rec.targets.iter() {
                    if e.unit(t).level <= REPETITION_DEEPEST {
                        out.push(key(Scope::Unit(t), 0));
                    }
                }
            }
            Params::Repetition(_) if applies => {
                let mut reached = FxHashSet::default();
                e.reached(rec, REPETITION_DEEPEST, &mut reached);
                out.extend(reached.into_iter().map(|u| key(Scope::Unit(u), 0)));
            }
            Params::DuplicateData(_) if applies && !rec.fields.is_empty() => {
                for &t in rec.targets.iter() {
                    out.push(key(Scope::Unit(t), 0));
                }
            }
            Params::IndicatorInflation(p) if applies => {
                let y = year(rec.day());
                for &t in rec.targets.iter() {
                    out.push(key(Scope::Unit(t), y));
                }
                out.push(key(Scope::Dept(rec.dept), y));
                if p.one_in_one_out {
                    // This year against last year, and next year against this one.
                    out.push(key(Scope::Dept(rec.dept), (1 << 32) | y));
                    out.push(key(Scope::Dept(rec.dept), (1 << 32) | (y + 1)));
                }
            }
            Params::DocumentVolume(_) if applies => {
                let y = year(rec.day());
                out.push(key(Scope::Dept(rec.dept), y));
                out.push(key(Scope::Dept(rec.dept), y + 1));
            }
            Params::AnnualCount(p) if applies => {
                if category_flags(&p.category) & rec.flags != 0 {
                    out.push(key(Scope::Dept(rec.dept), year(rec.day())));
                }
            }
            Params::Redeployment(p) => {
                if applies {
                    out.push(key(Scope::Demand(rec.id), 0));
                } else if rec.kind == DemandKind::Document {
                    // The meetings that may repeat this document.
                    let until = rec.day() + Duration::days(i64::from(p.window_days));
                    for m in dept_members(e, rec.dept, rec.day(), until, None) {
                        if rule.applies(m.kind) {
                            out.push(key(Scope::Demand(m.id), 0));
                        }
                    }
                }
            }
            // Judged alone: a group only while the demand breaks the rule, so the full
            // recomputation does not carry a key per rule per demand.
            _ => {
                if solo(e, rule, rec).is_some() {
                    out.push(key(Scope::Demand(rec.id), 0));
                }
            }
        }
    }
}

fn category_flags(names: &[String]) -> u32 {
    names.iter().filter_map(|n| Flag::parse(n)).fold(0, |b, f| b | f.bit())
}

/// The demands of an index list (in (start, id) order) starting on a day in
/// `from..=to`, with `extra` standing in for its stored version when `extra_in` says it
/// belongs to the list. The result keeps the order.
fn members<'a>(
    e: &'a Engine,
    list: Option<&Vec<u32>>,
    from: NaiveDate,
    to: NaiveDate,
    extra: Option<&'a Rec>,
    extra_in: bool,
) -> Vec<&'a Rec> {
    let list: &[u32] = list.map(Vec::as_slice).unwrap_or(&[]);
    let lo = if from == NaiveDate::MIN { 0 } else { list.partition_point(|s| e.rec(*s).day() < from) };
    let hi = if to == NaiveDate::MAX { list.len() } else { list.partition_point(|s| e.rec(*s).day() <= to) };
    let mut v: Vec<&Rec> = list[lo..hi.max(lo)]
        .iter()
        .map(|s| e.rec(*s))
        .filter(|r| extra.is_none_or(|x| x.id != r.id))
        .collect();
    if let Some(x) = extra.filter(|x| extra_in && x.day() >= from && x.day() <= to) {
        let pos = v.partition_point(|r| (r.start, r.id.as_u128()) < (x.start, x.id.as_u128()));
        v.insert(pos, x);
    }
    v
}

/// The live demands targeting `unit` that start in `from..=to`, in (start, id) order.
pub(crate) fn unit_members<'a>(
    e: &'a Engine,
    unit: u32,
    from: NaiveDate,
    to: NaiveDate,
    extra: Option<&'a Rec>,
) -> Vec<&'a Rec> {
    members(e, e.by_unit.get(&unit), from, to, extra, extra.is_some_and(|x| x.targets.contains(&unit)))
}

fn all_unit_members<'a>(e: &'a Engine, unit: u32, extra: Option<&'a Rec>) -> Vec<&'a Rec> {
    unit_members(e, unit, NaiveDate::MIN, NaiveDate::MAX, extra)
}

/// A department's demands (its divisions' too) that start in `from..=to`, in order.
fn dept_members<'a>(
    e: &'a Engine,
    dept: u32,
    from: NaiveDate,
    to: NaiveDate,
    extra: Option<&'a Rec>,
) -> Vec<&'a Rec> {
    members(e, e.by_dept.get(&dept), from, to, extra, extra.is_some_and(|x| x.dept == dept))
}

/// The meetings targeting `unit` that require attendance below it.
fn members_of_cascade<'a>(e: &'a Engine, unit: u32, extra: Option<&'a Rec>, extra_in: bool) -> Vec<&'a Rec> {
    members(e, e.by_unit_cascade.get(&unit), NaiveDate::MIN, NaiveDate::MAX, extra, extra_in)
}

fn year_range(y: i64) -> (NaiveDate, NaiveDate) {
    let y = y as i32;
    (
        NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(NaiveDate::MIN),
        NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(NaiveDate::MAX),
    )
}

fn the_demand<'a>(e: &'a Engine, id: uuid::Uuid, extra: Option<&'a Rec>) -> Option<&'a Rec> {
    match extra {
        Some(x) if x.id == id => Some(x),
        _ => e.slots.get(&id).map(|s| e.rec(*s)),
    }
}

/// The findings of one group, given the engine's demands and, for a pre-check, `extra`
/// (a planned demand, replacing the stored one with the same id).
pub(crate) fn evaluate(e: &Engine, key: &Key, extra: Option<&Rec>) -> Vec<Finding> {
    let Some(rule) = e.rules.rules.get(key.rule as usize) else { return Vec::new() };
    let finding = |demands: Vec<&Rec>, units: Vec<u32>, evidence: Text, merge: bool| Finding {
        rule: rule.id.clone(),
        severity: rule.severity,
        date: demands.iter().map(|r| r.day()).min().unwrap_or(NaiveDate::MIN),
        demands: demands.iter().map(|r| r.id).collect(),
        units: units.iter().map(|u| e.unit(*u).code.clone()).collect(),
        unit_ids: units,
        evidence,
        merge,
        origin: demands.first().map(|r| (r.body, r.dept, r.kind)).unwrap_or((0, 0, DemandKind::Meeting)),
    };
    match (key.scope, &rule.params) {
        (Scope::Demand(id), Params::Redeployment(p)) => {
            let Some(m) = the_demand(e, id, extra).filter(|m| rule.applies(m.kind)) else {
                return Vec::new();
            };
            let from = m.day() - Duration::days(i64::from(p.window_days));
            let ms = m.topic.shingles(2);
            let docs: Vec<&Rec> = dept_members(e, m.dept, from, m.day(), extra)
                .into_iter()
                .filter(|d| d.kind == DemandKind::Document)
                .filter(|d| overlaps(e, d, m))
                .filter(|d| {
                    (Arc::ptr_eq(&d.topic, &m.topic) && !ms.is_empty())
                        || similar::jaccard(&d.topic.shingles(2), &ms) >= p.similarity_threshold
                })
                .collect();
            if docs.is_empty() {
                return Vec::new();
            }
            let units = m.targets.to_vec();
            let ev = Text::new(
                format!(
                    "会议“{}”部署的工作已由{}份文件部署（{}），不宜再开会部署",
                    m.title,
                    docs.len(),
                    docs[0].title
                ),
                format!(
                    "the meeting '{}' deploys work already deployed by {} document(s) ('{}')",
                    m.title,
                    docs.len(),
                    docs[0].title
                ),
            );
            let mut all = vec![m];
            all.extend(docs);
            vec![finding(all, units, ev, false)]
        }
        (Scope::Demand(id), _) => match the_demand(e, id, extra) {
            Some(r) => match solo(e, rule, r) {
                Some(ev) => vec![finding(vec![r], solo_units(e, rule, r), ev, false)],
                None => Vec::new(),
            },
            None => Vec::new(),
        },
        (Scope::Unit(u), Params::Cap(p)) => {
            let pk = PeriodKind::from(p.period);
            let pi = PeriodIndex { period: pk, index: key.part as i32 };
            let all: Vec<&Rec> = unit_members(e, u, pi.start(), pi.end(), extra)
                .into_iter()
                .filter(|r| rule.applies(r.kind))
                .collect();
            let buckets: Vec<(i64, Vec<&Rec>)> = if p.per_source {
                let mut by: std::collections::BTreeMap<u32, Vec<&Rec>> = Default::default();
                for r in all {
                    by.entry(r.dept).or_default().push(r);
                }
                by.into_iter().map(|(d, v)| (i64::from(d) + 1, v)).collect()
            } else {
                vec![(0, all)]
            };
            let mut out = Vec::new();
            for (source, members) in buckets {
                if members.len() as u64 <= u64::from(p.max) {
                    continue;
                }
                let (pzh, pen) = pk.of(members[0].day()).label();
                let name = &e.unit(u).name;
                let ev = if source > 0 {
                    let dept = e.body_name((source - 1) as u32);
                    Text::new(
                        format!("{dept}{pzh}到{name}{}次，上限{}次", members.len(), p.max),
                        format!("{dept}: {} visits to {name} in {pen}, at most {}", members.len(), p.max),
                    )
                } else {
                    Text::new(
                        format!("{name}{pzh}接待{}次，上限{}次", members.len(), p.max),
                        format!("{name} received {} in {pen}, at most {}", members.len(), p.max),
                    )
                };
                out.push(finding(members, vec![u], ev, false));
            }
            out
        }
        (Scope::Unit(u), Params::HostingLoad(p)) => {
            let pk = PeriodKind::from(p.period);
            let pi = PeriodIndex { period: pk, index: key.part as i32 };
            let members: Vec<&Rec> = unit_members(e, u, pi.start(), pi.end(), extra)
                .into_iter()
                .filter(|r| rule.applies(r.kind))
                .collect();
            let days: i64 = members.iter().map(|r| r.host_centidays).sum();
            if members.is_empty() || days as f64 / 100.0 <= p.max_person_days {
                return Vec::new();
            }
            let (pzh, pen) = pk.of(members[0].day()).label();
            let name = &e.unit(u).name;
            let ev = Text::new(
                format!("{name}{pzh}接待工作组{}人日，上限{}人日", days as f64 / 100.0, p.max_person_days),
                format!(
                    "{name} hosted {} person-days in {pen}, at most {}",
                    days as f64 / 100.0,
                    p.max_person_days
                ),
            );
            vec![finding(members, vec![u], ev, false)]
        }
        (Scope::Unit(u), Params::Coordination(p)) => {
            let all: Vec<&Rec> =
                all_unit_members(e, u, extra).into_iter().filter(|r| rule.applies(r.kind)).collect();
            let buckets: Vec<(bool, Vec<&Rec>)> = if p.same_parent_department {
                let mut by: std::collections::BTreeMap<u32, Vec<&Rec>> = Default::default();
                for r in all {
                    by.entry(r.dept).or_default().push(r);
                }
                by.into_values().filter(|v| v.len() >= 2).map(|v| (true, v)).collect()
            } else {
                vec![(false, all)]
            };
            let mut out = Vec::new();
            for (per_dept, members) in buckets {
                let window = Duration::days(i64::from(p.merge_window_days));
                let mut cluster: Vec<&Rec> = Vec::new();
                let mut reach = NaiveDate::MIN;
                let flush = |cluster: &mut Vec<&Rec>, out: &mut Vec<Finding>| {
                    if cluster.len() >= 2 {
                        let c = std::mem::take(cluster);
                        let mut bodies: Vec<u32> = c.iter().map(|r| r.body).collect();
                        bodies.sort_unstable();
                        bodies.dedup();
                        let who = if per_dept { e.body_name(c[0].dept).to_owned() } else { String::new() };
                        let (from, to) =
                            (c[0].day(), c.iter().map(|r| r.end.date()).max().unwrap_or(c[0].day()));
                        let name = &e.unit(u).name;
                        let ev = Text::new(
                            format!(
                                "{who}{}个机构的{}项安排在{from}至{to}间先后到{name}，建议合并",
                                bodies.len(),
                                c.len()
                            ),
                            format!(
                                "{} demands from {} bodies{} reach {name} between {from} and {to}: merge them",
                                c.len(),
                                bodies.len(),
                                if who.is_empty() { String::new() } else { format!(" of {who}") }
                            ),
                        );
                        out.push(finding(c, vec![u], ev, true));
                    }
                    cluster.clear();
                };
                for r in members {
                    if !cluster.is_empty() && r.day() > reach + window {
                        flush(&mut cluster, &mut out);
                    }
                    if cluster.is_empty() {
                        reach = r.end.date();
                    }
                    reach = reach.max(r.end.date());
                    cluster.push(r);
                }
                flush(&mut cluster, &mut out);
            }
            out
        }
        (Scope::Unit(u), Params::Repetition(p)) => {
            let level = e.unit(u).level;
            let mut members: Vec<&Rec> =
                all_unit_members(e, u, extra).into_iter().filter(|r| rule.applies(r.kind)).collect();
            for a in e.lineage(u).skip(1) {
                let cascading = extra.is_some_and(|x| {
                    x.targets.contains(&a) && x.attend_levels().any(|l| l > e.unit(a).level)
                });
                for r in members_of_cascade(e, a, extra, cascading) {
                    if rule.applies(r.kind) && r.kind == DemandKind::Meeting && r.attends(level) {
                        members.push(r);
                    }
                }
            }
            members.sort_by_key(|r| (r.start, r.id.as_u128()));
            members.dedup_by(|a, b| a.id == b.id);
            let name = &e.unit(u).name;
            let evidence = |g: &[&Rec]| {
                let topic = g[0].topic.label(&g[0].title);
                Text::new(
                    format!("同一事项“{topic}”{}天内{}次到达{name}的干部", p.window_days, g.len()),
                    format!(
                        "the same topic '{topic}' reached the cadres of {name} {} times in {} days",
                        g.len(),
                        p.window_days
                    ),
                )
            };
            if let Some(x) = extra {
                // A pre-check asks only what the planned demand repeats: the demands within
                // the window whose topic is like its own (not the whole chain of likeness).
                let k = p.shingle_chars as usize;
                let xs = x.topic.shingles(k);
                let mut g: Vec<&Rec> = members
                    .iter()
                    .copied()
                    .filter(|r| {
                        r.id == x.id || (r.day() - x.day()).num_days().abs() <= i64::from(p.window_days)
                    })
                    .filter(|r| {
                        r.id == x.id
                            || (Arc::ptr_eq(&r.topic, &x.topic) && !xs.is_empty())
                            || similar::jaccard(&r.topic.shingles(k), &xs) >= p.similarity_threshold
                    })
                    .collect();
                if g.len() < 2 || !g.iter().any(|r| r.id == x.id) {
                    return Vec::new();
                }
                g.sort_by_key(|r| (r.start, r.id.as_u128()));
                let ev = evidence(&g);
                return vec![finding(g, vec![u], ev, true)];
            }
            // Clustering by topic: demands with one topic chain while each comes within the
            // window of the one before; demands of two similar topics join when within the
            // window of each other. The same as comparing every pair, without doing so.
            let window = i64::from(p.window_days);
            let k = p.shingle_chars as usize;
            let mut topics: Vec<&Arc<crate::engine::Topic>> = Vec::new();
            let mut index: rustc_hash::FxHashMap<*const crate::engine::Topic, usize> = Default::default();
            let mut lists: Vec<Vec<usize>> = Vec::new();
            for (i, r) in members.iter().enumerate() {
                let t = *index.entry(Arc::as_ptr(&r.topic)).or_insert_with(|| {
                    topics.push(&r.topic);
                    lists.push(Vec::new());
                    topics.len() - 1
                });
                lists[t].push(i);
            }
            let sets: Vec<Vec<u64>> = topics.iter().map(|t| t.shingles(k).into_owned()).collect();
            let mut parent: Vec<usize> = (0..members.len()).collect();
            fn root(p: &mut [usize], mut i: usize) -> usize {
                while p[i] != i {
                    p[i] = p[p[i]];
                    i = p[i];
                }
                i
            }
            fn union(p: &mut [usize], a: usize, b: usize) {
                let (a, b) = (root(p, a), root(p, b));
                p[a.max(b)] = a.min(b);
            }
            let gap = |i: usize, j: usize| (members[j].day() - members[i].day()).num_days().abs();
            for (t, list) in lists.iter().enumerate() {
                if sets[t].is_empty() {
                    continue;
                }
                for w in list.windows(2) {
                    if gap(w[0], w[1]) <= window {
                        union(&mut parent, w[0], w[1]);
                    }
                }
            }
            for (a, b, _) in similar_pairs(&sets, p.similarity_threshold) {
                let (la, lb) = (&lists[a], &lists[b]);
                for &i in la {
                    let lo =
                        lb.partition_point(|&j| members[j].day() < members[i].day() - Duration::days(window));
                    for &j in lb[lo..]
                        .iter()
                        .take_while(|&&j| gap(i, j) <= window || members[j].day() < members[i].day())
                    {
                        if gap(i, j) <= window {
                            union(&mut parent, i, j);
                        }
                    }
                }
            }
            let mut groups: std::collections::BTreeMap<usize, Vec<&Rec>> = Default::default();
            for (i, r) in members.iter().enumerate() {
                let g = root(&mut parent, i);
                groups.entry(g).or_default().push(r);
            }
            groups
                .into_values()
                .filter(|g| g.len() >= 2)
                .map(|g| {
                    let ev = evidence(&g);
                    finding(g, vec![u], ev, true)
                })
                .collect()
        }
        (Scope::Unit(u), Params::DuplicateData(p)) => {
            let mut by_field: std::collections::BTreeMap<u32, Vec<&Rec>> = Default::default();
            for r in all_unit_members(e, u, extra) {
                if rule.applies(r.kind) {
                    for f in r.fields.iter() {
                        by_field.entry(*f).or_default().push(r);
                    }
                }
            }
            let window = Duration::days(i64::from(p.window_days));
            let mut out = Vec::new();
            for (field, members) in by_field {
                if members.len() < 2 {
                    continue;
                }
                // Requests follow each other into one episode while each comes within the
                // window of the one before (a sliding window, as coordination chains).
                let mut i = 0;
                while i < members.len() {
                    let mut j = i + 1;
                    while j < members.len() && members[j].day() <= members[j - 1].day() + window {
                        j += 1;
                    }
                    let group: Vec<&Rec> = members[i..j].to_vec();
                    let mut bodies: Vec<u32> = group.iter().map(|r| r.body).collect();
                    bodies.sort_unstable();
                    bodies.dedup();
                    if bodies.len() as u64 >= u64::from(p.min_bodies) {
                        let f = e.field_names.get(field as usize).map_or("?", String::as_str);
                        let name = &e.unit(u).name;
                        let ev = Text::new(
                            format!("数据项“{f}”被{}个机构向{name}索要{}次", bodies.len(), group.len()),
                            format!(
                                "the field '{f}' was requested from {name} by {} bodies, {} times",
                                bodies.len(),
                                group.len()
                            ),
                        );
                        out.push(finding(group, vec![u], ev, true));
                    }
                    i = j;
                }
            }
            out
        }
        (Scope::Unit(u), Params::IndicatorInflation(p)) => {
            let (from, to) = year_range(key.part);
            let members: Vec<&Rec> =
                unit_members(e, u, from, to, extra).into_iter().filter(|r| rule.applies(r.kind)).collect();
            let total: u64 = members.iter().map(|r| u64::from(r.indicators)).sum();
            if total <= u64::from(p.max_per_unit) {
                return Vec::new();
            }
            let mut depts: Vec<u32> = members.iter().map(|r| r.dept).collect();
            depts.sort_unstable();
            depts.dedup();
            let name = &e.unit(u).name;
            let ev = Text::new(
                format!(
                    "{name}{}年承担{}个部门的{total}项考核指标，上限{}项",
                    key.part,
                    depts.len(),
                    p.max_per_unit
                ),
                format!(
                    "{name} carries {total} assessment indicators from {} departments in {}, at most {}",
                    depts.len(),
                    key.part,
                    p.max_per_unit
                ),
            );
            vec![finding(members, vec![u], ev, false)]
        }
        (Scope::Dept(d), Params::IndicatorInflation(p)) => {
            let compare = key.part >> 32 == 1;
            let y = key.part & 0xffff_ffff;
            let of_year = |y: i64| -> Vec<&Rec> {
                let (from, to) = year_range(y);
                dept_members(e, d, from, to, extra).into_iter().filter(|r| rule.applies(r.kind)).collect()
            };
            let members = of_year(y);
            let total: u64 = members.iter().map(|r| u64::from(r.indicators)).sum();
            let dept = e.body_name(d);
            if compare {
                let before: u64 = of_year(y - 1).iter().map(|r| u64::from(r.indicators)).sum();
                if before == 0 || total <= before {
                    return Vec::new();
                }
                let ev = Text::new(
                    format!("{dept}{y}年设置考核指标{total}项，多于上年{before}项，未做到“立一废一”"),
                    format!(
                        "{dept} set {total} indicators in {y}, more than {before} the year before (one in, one out)"
                    ),
                );
                let units = distinct_targets(&members);
                vec![finding(members, units, ev, false)]
            } else {
                let per_demand: u64 = total;
                if per_demand <= u64::from(p.max_per_department) {
                    return Vec::new();
                }
                let ev = Text::new(
                    format!("{dept}{y}年设置考核指标{per_demand}项，上限{}项", p.max_per_department),
                    format!("{dept} set {per_demand} indicators in {y}, at most {}", p.max_per_department),
                );
                let units = distinct_targets(&members);
                vec![finding(members, units, ev, false)]
            }
        }
        (Scope::Dept(d), Params::DocumentVolume(p)) => {
            let y = key.part;
            let count = |y: i64| {
                let (from, to) = year_range(y);
                dept_members(e, d, from, to, extra)
                    .into_iter()
                    .filter(|r| rule.applies(r.kind))
                    .filter(|r| p.count_memos || r.doc_chars > 0)
                    .collect::<Vec<_>>()
            };
            let now = count(y);
            let before = count(y - 1).len() as u64;
            if before == 0 || now.len() as u64 <= before + u64::from(p.max_increase) {
                return Vec::new();
            }
            let dept = e.body_name(d);
            let ev = Text::new(
                format!("{dept}{y}年发文{}件，多于上年{before}件", now.len()),
                format!("{dept} issued {} documents in {y}, more than {before} the year before", now.len()),
            );
            let units = e.bodies[d as usize].unit.into_iter().collect();
            vec![finding(now, units, ev, false)]
        }
        (Scope::Dept(d), Params::AnnualCount(p)) => {
            let flags = category_flags(&p.category);
            let (from, to) = year_range(key.part);
            let members: Vec<&Rec> = dept_members(e, d, from, to, extra)
                .into_iter()
                .filter(|r| rule.applies(r.kind) && r.flags & flags != 0)
                .collect();
            if members.len() as u64 <= u64::from(p.max) {
                return Vec::new();
            }
            let dept = e.body_name(d);
            let per = match p.per {
                CountScope::Department => ("部门", "department"),
                CountScope::System => ("系统", "system"),
            };
            let ev = Text::new(
                format!(
                    "{dept}{}年开展综合性事项{}项，每个{}每年上限{}项",
                    key.part,
                    members.len(),
                    per.0,
                    p.max
                ),
                format!(
                    "{dept}: {} comprehensive items in {}, at most {} per {} a year",
                    members.len(),
                    key.part,
                    p.max,
                    per.1
                ),
            );
            let units = distinct_targets(&members);
            vec![finding(members, units, ev, false)]
        }
        _ => Vec::new(),
    }
}

fn distinct_targets(members: &[&Rec]) -> Vec<u32> {
    let mut v: Vec<u32> = members.iter().flat_map(|r| r.targets.iter().copied()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Whether two demands share a target, or one's target contains the other's.
fn overlaps(e: &Engine, a: &Rec, b: &Rec) -> bool {
    a.targets.iter().any(|x| {
        b.targets.iter().any(|y| {
            let (cx, cy) = (&e.unit(*x).code, &e.unit(*y).code);
            cx.contains(cy) || cy.contains(cx)
        })
    })
}

fn solo_units(e: &Engine, rule: &Rule, r: &Rec) -> Vec<u32> {
    match &rule.params {
        Params::SecondmentLevel(p) => r
            .targets
            .iter()
            .copied()
            .filter(|t| p.forbidden_source_levels.contains(&e.unit(*t).level))
            .collect(),
        Params::DemonstrationTarget(p) => r
            .targets
            .iter()
            .copied()
            .filter(|t| p.forbidden_target_levels.contains(&e.unit(*t).level))
            .collect(),
        _ => r.targets.to_vec(),
    }
}

/// The first of `terms` in the demand's title or topic.
fn has_any(r: &Rec, terms: &[String]) -> Option<String> {
    terms.iter().find(|t| r.title.contains(t.as_str()) || r.topic.text.contains(t.as_str())).cloned()
}

/// A demand judged alone: the evidence when the rule is broken. Rules whose family is
/// not judged alone give `None`.
pub(crate) fn solo(e: &Engine, rule: &Rule, r: &Rec) -> Option<Text> {
    let at_levels = |levels: &[Level]| r.targets.iter().any(|t| levels.contains(&e.unit(*t).level));
    if let Params::SecondmentLevel(p) = &rule.params {
        // Also looks at other kinds: a secondment under another name.
        let evasion = has_any(r, &p.evasion_terms);
        if !(rule.applies(r.kind) || evasion.is_some()) || !at_levels(&p.forbidden_source_levels) {
            return None;
        }
        return Some(match evasion {
            Some(t) => Text::new(
                format!("以“{t}”名义从基层借调干部"),
                format!("a secondment from the grassroots disguised as '{t}'"),
            ),
            None => Text::new("从县级及以下借调干部", "a secondment of cadres from county level or below"),
        });
    }
    if !rule.applies(r.kind) {
        return None;
    }
    match &rule.params {
        Params::Cascade(p) => {
            let top = r.targets.iter().map(|t| e.unit(*t).level.number()).min().unwrap_or(0);
            let depth =
                r.attend_levels().map(|l| u32::from(l.number().saturating_sub(top))).max().unwrap_or(0);
            (depth > p.max_levels_down).then(|| {
                Text::new(
                    format!("要求向下{depth}级参会，上限{}级", p.max_levels_down),
                    format!("attendance is required {depth} levels down, at most {}", p.max_levels_down),
                )
            })
        }
        Params::DisguisedInspection(p) => {
            if !p.visit_kinds.contains(&r.kind) {
                return None;
            }
            let forms = p.forms_count && r.forms > 0;
            let reports = p.reports_count && r.has(Flag::ReportsDemanded);
            (forms || reports).then(|| {
                let what_zh = match (forms, reports) {
                    (true, true) => format!("要求填报{}张表格并汇报材料", r.forms),
                    (true, false) => format!("要求填报{}张表格", r.forms),
                    _ => "要求汇报或报送材料".to_owned(),
                };
                let what_en = match (forms, reports) {
                    (true, true) => format!("demands {} forms and reports", r.forms),
                    (true, false) => format!("demands {} forms", r.forms),
                    _ => "demands reports or materials".to_owned(),
                };
                Text::new(
                    format!("以{}名义{what_zh}，实为变相督查检查", r.kind.zh()),
                    format!("a {} that {what_en} is an inspection in disguise", r.kind.en()),
                )
            })
        }
        Params::VisitDemands(p) => {
            if !p.visit_kinds.contains(&r.kind) {
                return None;
            }
            let principal = p.forbid_principal_attendance && r.has(Flag::PrincipalAttendance);
            let forms = r.forms > p.max_forms;
            (principal || forms).then(|| {
                let mut zh = Vec::new();
                let mut en = Vec::new();
                if principal {
                    zh.push("要求主要负责同志陪同".to_owned());
                    en.push("requires the principal leader".to_owned());
                }
                if forms {
                    zh.push(format!("要求填报{}张表格", r.forms));
                    en.push(format!("demands {} forms", r.forms));
                }
                Text::new(zh.join("，"), en.join(", "))
            })
        }
        Params::PlanCompliance(p) => (!r.has(Flag::InAnnualPlan) && has_any(r, &p.exempt_topics).is_none())
            .then(|| {
                Text::new("未列入已备案的年度督查检查考核计划", "not in the filed annual inspection plan")
            }),
        Params::DocumentLength(p) => {
            let exempt = category_flags(&p.exempt_categories) & r.flags != 0;
            let (cap, zh, en) = if r.has(Flag::SpecificTask) {
                (p.specific_task_max, "专项工作文件", "specific-task document")
            } else {
                (p.general_max, "文件", "document")
            };
            (!exempt && r.doc_chars > cap).then(|| {
                Text::new(
                    format!("{zh}{}字，上限{cap}字", r.doc_chars),
                    format!("{en} of {} characters, at most {cap}", r.doc_chars),
                )
            })
        }
        Params::ForbiddenTerms(p) => {
            if !p.in_kinds.contains(&r.kind) {
                return None;
            }
            has_any(r, &p.terms).map(|t| Text::new(format!("含有“{t}”"), format!("contains '{t}'")))
        }
        Params::ForbiddenPractice(p) => {
            if !p.in_kinds.contains(&r.kind) || has_any(r, &p.exempt_topics).is_some() {
                return None;
            }
            let hit: Vec<Flag> = p.practices.iter().copied().filter(|f| r.has(*f)).collect();
            (!hit.is_empty()).then(|| {
                Text::new(
                    format!("要求：{}", hit.iter().map(|f| f.zh()).collect::<Vec<_>>().join("、")),
                    format!("requires: {}", hit.iter().map(|f| f.en()).collect::<Vec<_>>().join(", ")),
                )
            })
        }
        Params::MeetingDuration(p) => {
            let days = meeting_days(r);
            let cap =
                if r.has(Flag::GroupDiscussion) { p.group_discussion_max_days } else { p.other_max_days };
            let mut zh = Vec::new();
            let mut en = Vec::new();
            if days > cap + 1e-9 {
                zh.push(format!("会期{days}天，上限{cap}天"));
                en.push(format!("lasts {days} days, at most {cap}"));
            }
            if r.speech_minutes > p.principal_speech_max_minutes {
                zh.push(format!(
                    "主要领导讲话{}分钟，上限{}分钟",
                    r.speech_minutes, p.principal_speech_max_minutes
                ));
                en.push(format!(
                    "principal speech of {} minutes, at most {}",
                    r.speech_minutes, p.principal_speech_max_minutes
                ));
            }
            (!zh.is_empty()).then(|| Text::new(zh.join("；"), en.join("; ")))
        }
        Params::EscortAttendance(p) => {
            let levels = r.attend_levels().count() as u32;
            let escort = !r.video && levels > 1 + p.max_accompanying_levels;
            let deputy = p.deputy_convener_bars_principals
                && r.has(Flag::DeputyConvener)
                && r.has(Flag::PrincipalAttendance);
            let mut zh = Vec::new();
            let mut en = Vec::new();
            if escort {
                zh.push(format!("要求{levels}个层级同时到会（层层陪会）"));
                en.push(format!("requires {levels} levels to attend together (escort attendance)"));
            }
            if deputy {
                zh.push("副职召集的会议要求主要负责同志参加".to_owned());
                en.push("a meeting convened by a deputy requires principal heads".to_owned());
            }
            (!zh.is_empty()).then(|| Text::new(zh.join("；"), en.join("; ")))
        }
        Params::DemonstrationTarget(p) => {
            (r.kind == DemandKind::Signboard && at_levels(&p.forbidden_target_levels)).then(|| {
                Text::new(
                    "面向基层开展达标、示范创建活动",
                    "a ranking or demonstration activity aimed at the grassroots",
                )
            })
        }
        _ => None,
    }
}

/// A meeting's length in days, counted in half-days: a session that ends by 12:30 used
/// the morning, one that starts at noon or later only the afternoon. 9:00–11:30 is half
/// a day, 9:00–17:30 one day, 9:00 to noon the next day a day and a half.
fn meeting_days(r: &Rec) -> f64 {
    use chrono::Timelike;
    let half = |d: NaiveDate| i64::from(d.num_days_from_ce()) * 2;
    let start = half(r.start.date()) + i64::from(r.start.hour() >= 12);
    let end_time = r.end.time();
    let noon = chrono::NaiveTime::from_hms_opt(12, 30, 0).unwrap_or_default();
    let end = half(r.end.date()) + i64::from(end_time > noon);
    ((end - start + 1).max(1)) as f64 / 2.0
}
