//! Conflicts between a draft directive and the active ones (issued or in consultation),
//! and among the draft's own tasks, on overlapping units:
//!
//! - **contradiction**: requirements no unit can satisfy together ("finish X by T" and
//!   "must not start X before T′ > T"; "finish X" and "must not X"; "keep Y below a" and
//!   "keep Y above b ≥ a");
//! - **deadline collision**: deadlines within a window on the same units, so the same
//!   cadres carry both at once (a warning, with the combined demand);
//! - **over capacity**: in some week, the cadre-hours the tasks put on a unit, plus what
//!   the ledger already holds for that unit and week, exceed its cadres × hours per week.
//!
//! Each finding names the directives, the tasks, the units and the reason in zh and en.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongxin_domain::UnitCode;

use crate::directive::{Directive, Requirement, Task, UnitIndex};
use crate::error::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    Contradiction,
    DeadlineCollision,
    OverCapacity,
}

impl ConflictKind {
    pub fn zh(self) -> &'static str {
        match self {
            ConflictKind::Contradiction => "要求相互矛盾",
            ConflictKind::DeadlineCollision => "期限撞车",
            ConflictKind::OverCapacity => "超出干部承载能力",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            ConflictKind::Contradiction => "contradictory requirements",
            ConflictKind::DeadlineCollision => "colliding deadlines",
            ConflictKind::OverCapacity => "over the cadres' capacity",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Must be resolved before issuing (`tongxin directive check` exits with 1).
    Conflict,
    /// Worth a look.
    Warning,
}

/// A task of a directive, named for a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRef {
    pub directive: String,
    pub directive_title: String,
    pub issuing_body: String,
    pub task: String,
    pub task_title: String,
    #[serde(with = "crate::day")]
    pub deadline: NaiveDate,
}

impl TaskRef {
    pub fn new(d: &Directive, t: &Task) -> TaskRef {
        TaskRef {
            directive: d.id.clone(),
            directive_title: d.title.clone(),
            issuing_body: d.issuing_body.clone(),
            task: t.id.clone(),
            task_title: t.title.clone(),
            deadline: t.deadline,
        }
    }

    fn label(&self) -> String {
        format!("《{}》/{}", self.directive_title, self.task_title)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub kind: ConflictKind,
    pub severity: Severity,
    /// The draft's tasks involved.
    pub draft: Vec<TaskRef>,
    /// The active directives' tasks involved.
    pub others: Vec<TaskRef>,
    /// The units where it happens, by code.
    pub units: Vec<UnitCode>,
    /// For over-capacity findings: the weeks (Mondays) where it happens.
    #[serde(with = "crate::day::vec")]
    pub weeks: Vec<NaiveDate>,
    pub reason: Text,
}

/// A task with its resolved units and weekly shares.
pub(crate) struct Resolved<'a> {
    pub directive: &'a Directive,
    pub task: &'a Task,
    pub units: Vec<usize>,
    pub shares: Vec<(NaiveDate, f64)>,
}

/// Cadre-hours the ledger already holds for a unit in a week (Monday), e.g. from the
/// burden engine's weekly rollups; added to the directives' load in the capacity check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerLoad {
    pub unit: UnitCode,
    #[serde(with = "crate::day")]
    pub week: NaiveDate,
    pub cadre_hours: f64,
}

/// The parameters of the conflict checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConflictOptions {
    /// Deadlines at most this many days apart collide.
    pub collision_window_days: u32,
    /// Working hours of one cadre in a week (capacity = cadres × this).
    pub hours_per_cadre_week: f64,
    pub ledger: Vec<LedgerLoad>,
}

impl Default for ConflictOptions {
    fn default() -> Self {
        ConflictOptions { collision_window_days: 14, hours_per_cadre_week: 40.0, ledger: Vec::new() }
    }
}

/// The contradiction between two requirements, if any (checked in both orders).
pub fn contradiction(a: &Requirement, b: &Requirement) -> Option<Text> {
    fn one(a: &Requirement, b: &Requirement) -> Option<Text> {
        if a.subject() != b.subject() {
            return None;
        }
        let both = || {
            Text::new(
                format!("{}，又{}", a.describe_zh(), b.describe_zh()),
                format!("{}, yet {}", a.describe_en(), b.describe_en()),
            )
        };
        match (a, b) {
            (Requirement::DoBy { by, .. }, Requirement::MustNotBefore { before, .. }) if by < before => {
                let t = both();
                Some(Text::new(
                    format!("{}：须在 {by} 前完成，却不得早于 {before} 开始，无法同时做到", t.zh),
                    format!("{}: it must be finished by {by} but may not start before {before}", t.en),
                ))
            }
            (Requirement::DoBy { .. }, Requirement::Forbid { .. }) => {
                let t = both();
                Some(Text::new(
                    format!("{}：一边要求完成，一边禁止去做", t.zh),
                    format!("{}: required and forbidden at once", t.en),
                ))
            }
            (Requirement::KeepBelow { limit: lo, .. }, Requirement::KeepAbove { limit: hi, .. })
                if hi >= lo =>
            {
                let t = both();
                Some(Text::new(
                    format!("{}：没有任何数值既低于 {lo} 又高于 {hi}", t.zh),
                    format!("{}: no value is both below {lo} and above {hi}", t.en),
                ))
            }
            _ => None,
        }
    }
    one(a, b).or_else(|| one(b, a))
}

fn codes(index: &UnitIndex, units: &[usize]) -> Vec<UnitCode> {
    units.iter().map(|&u| index.get(u).code.clone()).collect()
}

fn intersect(a: &[usize], b: &[usize]) -> Vec<usize> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

fn unit_list(index: &UnitIndex, units: &[usize]) -> String {
    let mut names: Vec<String> = units.iter().take(3).map(|&u| index.get(u).name.clone()).collect();
    if units.len() > 3 {
        names.push(format!("等 {} 个单位", units.len()));
    }
    names.join("、")
}

/// Contradictions and deadline collisions between two tasks on their shared `units`.
fn pair(
    index: &UnitIndex,
    a: &Resolved<'_>,
    b: &Resolved<'_>,
    units: &[usize],
    b_is_draft: bool,
    opts: &ConflictOptions,
    out: &mut Vec<Conflict>,
) {
    let (draft, others) = if b_is_draft {
        (vec![TaskRef::new(a.directive, a.task), TaskRef::new(b.directive, b.task)], Vec::new())
    } else {
        (vec![TaskRef::new(a.directive, a.task)], vec![TaskRef::new(b.directive, b.task)])
    };
    let (la, lb) = (draft[0].label(), draft.get(1).or(others.first()).expect("two tasks").label());
    let where_ = unit_list(index, units);
    for ra in &a.task.requirements {
        for rb in &b.task.requirements {
            if let Some(t) = contradiction(ra, rb) {
                out.push(Conflict {
                    kind: ConflictKind::Contradiction,
                    severity: Severity::Conflict,
                    draft: draft.clone(),
                    others: others.clone(),
                    units: codes(index, units),
                    weeks: Vec::new(),
                    reason: Text::new(
                        format!("{la} 与 {lb} 在{where_}要求相互矛盾：{}", t.zh),
                        format!("{la} and {lb} contradict each other at {} units: {}", units.len(), t.en),
                    ),
                });
            }
        }
    }
    let gap = (a.task.deadline - b.task.deadline).num_days().unsigned_abs();
    if gap <= u64::from(opts.collision_window_days) {
        let combined = a.task.resources.cadre_hours + b.task.resources.cadre_hours;
        out.push(Conflict {
            kind: ConflictKind::DeadlineCollision,
            severity: Severity::Warning,
            draft,
            others,
            units: codes(index, units),
            weeks: Vec::new(),
            reason: Text::new(
                format!(
                    "{la}（期限 {}）与 {lb}（期限 {}）相隔 {gap} 天，落在{where_}的同一批干部身上，每单位合计 {combined:.0} 干部工时",
                    a.task.deadline, b.task.deadline
                ),
                format!(
                    "{la} (due {}) and {lb} (due {}) are {gap} days apart on the same cadres of {} units: {combined:.0} cadre-hours per unit together",
                    a.task.deadline,
                    b.task.deadline,
                    units.len()
                ),
            ),
        });
    }
}

/// Every finding for the draft's tasks against the active tasks and among themselves.
pub(crate) fn find(
    index: &UnitIndex,
    draft: &[Resolved<'_>],
    active: &[Resolved<'_>],
    opts: &ConflictOptions,
) -> Vec<Conflict> {
    let mut out = Vec::new();
    // Within one task.
    for d in draft {
        let reqs = &d.task.requirements;
        for (i, ra) in reqs.iter().enumerate() {
            for rb in &reqs[i + 1..] {
                if let Some(t) = contradiction(ra, rb) {
                    let r = TaskRef::new(d.directive, d.task);
                    out.push(Conflict {
                        kind: ConflictKind::Contradiction,
                        severity: Severity::Conflict,
                        reason: Text::new(
                            format!("{} 自身的要求相互矛盾：{}", r.label(), t.zh),
                            format!("{} contradicts itself: {}", r.label(), t.en),
                        ),
                        draft: vec![r],
                        others: Vec::new(),
                        units: codes(index, &d.units),
                        weeks: Vec::new(),
                    });
                }
            }
        }
    }
    // Among the draft's tasks.
    for (i, a) in draft.iter().enumerate() {
        for b in &draft[i + 1..] {
            let shared = intersect(&a.units, &b.units);
            if !shared.is_empty() {
                pair(index, a, b, &shared, true, opts, &mut out);
            }
        }
    }
    // Against active tasks: only those sharing a unit are looked at.
    let mut at_unit: HashMap<usize, Vec<usize>> = HashMap::new();
    for (k, a) in active.iter().enumerate() {
        for &u in &a.units {
            at_unit.entry(u).or_default().push(k);
        }
    }
    for d in draft {
        let mut shared: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &u in &d.units {
            for &k in at_unit.get(&u).map(Vec::as_slice).unwrap_or(&[]) {
                shared.entry(k).or_default().push(u);
            }
        }
        for (k, units) in shared {
            pair(index, d, &active[k], &units, false, opts, &mut out);
        }
    }
    capacity(index, draft, active, &at_unit, opts, &mut out);
    out
}

/// Weeks where a unit's load exceeds its capacity, grouped by the set of tasks involved.
fn capacity(
    index: &UnitIndex,
    draft: &[Resolved<'_>],
    active: &[Resolved<'_>],
    at_unit: &HashMap<usize, Vec<usize>>,
    opts: &ConflictOptions,
    out: &mut Vec<Conflict>,
) {
    let mut ledger: HashMap<(usize, NaiveDate), f64> = HashMap::new();
    for l in &opts.ledger {
        if let Some(u) = index.find(&l.unit) {
            *ledger.entry((u, crate::calendar::week_of(l.week))).or_default() += l.cadre_hours;
        }
    }
    let mut draft_at: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, d) in draft.iter().enumerate() {
        for &u in &d.units {
            draft_at.entry(u).or_default().push(k);
        }
    }
    // (draft tasks, active tasks) → (units, weeks, worst (load, capacity, unit, week))
    type Key = (Vec<usize>, Vec<usize>);
    type Worst = (f64, f64, usize, NaiveDate);
    let mut groups: BTreeMap<Key, (BTreeSet<usize>, BTreeSet<NaiveDate>, Worst)> = BTreeMap::new();
    let mut weeks: BTreeMap<NaiveDate, (f64, Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for (&u, dtasks) in &draft_at {
        let unit = index.get(u);
        let cap = f64::from(unit.cadres) * opts.hours_per_cadre_week;
        weeks.clear();
        for &k in dtasks {
            let t = &draft[k];
            for &(w, s) in &t.shares {
                let e = weeks.entry(w).or_default();
                e.0 += t.task.resources.cadre_hours * s;
                e.1.push(k);
            }
        }
        for &k in at_unit.get(&u).map(Vec::as_slice).unwrap_or(&[]) {
            let t = &active[k];
            for &(w, s) in &t.shares {
                if let Some(e) = weeks.get_mut(&w) {
                    e.0 += t.task.resources.cadre_hours * s;
                    if t.task.resources.cadre_hours > 0.0 {
                        e.2.push(k);
                    }
                }
            }
        }
        for (&w, (load, dk, ak)) in &mut weeks {
            let total = *load + ledger.get(&(u, w)).copied().unwrap_or(0.0);
            if total <= cap {
                continue;
            }
            dk.sort_unstable();
            dk.dedup();
            ak.sort_unstable();
            ak.dedup();
            let g = groups
                .entry((dk.clone(), ak.clone()))
                .or_insert_with(|| (BTreeSet::new(), BTreeSet::new(), (total, cap, u, w)));
            g.0.insert(u);
            g.1.insert(w);
            if total - cap > g.2.0 - g.2.1 {
                g.2 = (total, cap, u, w);
            }
        }
    }
    for ((dk, ak), (units, wks, (load, cap, u, w))) in groups {
        let units: Vec<usize> = units.into_iter().collect();
        let draft_refs: Vec<TaskRef> =
            dk.iter().map(|&k| TaskRef::new(draft[k].directive, draft[k].task)).collect();
        let other_refs: Vec<TaskRef> =
            ak.iter().map(|&k| TaskRef::new(active[k].directive, active[k].task)).collect();
        let names: Vec<String> = draft_refs.iter().chain(&other_refs).map(TaskRef::label).collect();
        let worst = index.get(u);
        let ledger_h = ledger.get(&(u, w)).copied().unwrap_or(0.0);
        out.push(Conflict {
            kind: ConflictKind::OverCapacity,
            severity: Severity::Conflict,
            reason: Text::new(
                format!(
                    "{} 叠加后，{}在 {} 周等 {} 周超出承载：最重的是{}（{} 名干部，每周 {:.0} 工时），当周合计 {:.0} 工时（其中台账已有 {:.0}）",
                    names.join("、"),
                    unit_list(index, &units),
                    w,
                    wks.len(),
                    worst.name,
                    worst.cadres,
                    cap,
                    load,
                    ledger_h
                ),
                format!(
                    "{} together exceed the capacity of {} units in {} weeks; worst: {} ({} cadres, {:.0} h a week) with {:.0} cadre-hours in the week of {} ({:.0} already in the ledger)",
                    names.join(", "),
                    units.len(),
                    wks.len(),
                    worst.name,
                    worst.cadres,
                    cap,
                    load,
                    w,
                    ledger_h
                ),
            ),
            draft: draft_refs,
            others: other_refs,
            units: codes(index, &units),
            weeks: wks.into_iter().collect(),
        });
    }
}
