//! The full pre-issuance check of a draft: feasibility of every task at every target
//! unit, conflicts with active directives, and the burden it adds.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongxin_domain::UnitCode;

use crate::burden::{BurdenImpact, TaskLoad, impact, weekly_shares};
use crate::conflict::{Conflict, ConflictOptions, Resolved, Severity, find};
use crate::directive::{Directive, Resources, UnitIndex};
use crate::error::{Invalid, Problem};
use crate::feasibility::{Feasibility, Simulation, Verdict};
use crate::template::{Template, TemplateSet, Verification};

/// Options of [`check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckOptions {
    /// Monte Carlo seed: the same seed gives the same figures.
    pub seed: u64,
    /// Monte Carlo runs per simulation.
    pub samples: u32,
    pub conflicts: ConflictOptions,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions { seed: 2026, samples: 10_000, conflicts: ConflictOptions::default() }
    }
}

/// Feasibility for the units of a task that share one template variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitGroup {
    pub units: Vec<UnitCode>,
    pub feasibility: Feasibility,
}

/// A statutory figure a task's template relies on that was not checked against the
/// statute's text: the author should know before trusting the verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnverifiedFigure {
    /// The template variant (`id` or `id@jurisdiction`).
    pub template: String,
    pub step: String,
    pub zh: String,
    pub en: String,
    /// True when the step's minimum is the legal minimum (otherwise the statute gives its
    /// ceiling or typical figure).
    pub statutory: bool,
    pub source: String,
    pub verified: Verification,
}

/// The figures of `t` not checked against the statute's text.
pub fn unverified_figures(t: &Template) -> Vec<UnverifiedFigure> {
    t.steps
        .iter()
        .filter_map(|s| match s.verification() {
            Some(v) if v != Verification::Text => Some(UnverifiedFigure {
                template: t.key(),
                step: s.id.clone(),
                zh: s.zh.clone(),
                en: s.en.clone(),
                statutory: s.statutory,
                source: s.source.clone(),
                verified: v,
            }),
            _ => None,
        })
        .collect()
}

/// One task's check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCheck {
    pub task: String,
    pub title: String,
    pub template: String,
    #[serde(with = "crate::day")]
    pub deadline: NaiveDate,
    pub resources: Resources,
    pub unit_count: usize,
    /// The worst verdict over the groups.
    pub verdict: Verdict,
    pub groups: Vec<UnitGroup>,
    /// Statutory figures of the templates used that were not checked against the
    /// statute's text (empty in reports stored before this field existed).
    #[serde(default)]
    pub unverified: Vec<UnverifiedFigure>,
}

/// The whole check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport {
    pub directive: String,
    pub title: String,
    #[serde(with = "crate::day")]
    pub issued_on: NaiveDate,
    pub tasks: Vec<TaskCheck>,
    pub conflicts: Vec<Conflict>,
    pub burden: BurdenImpact,
    /// Monte Carlo simulations actually run (units and tasks sharing a template variant
    /// and issue date share one).
    pub simulations: usize,
    /// Active directives compared (issued or consulting, other than the draft).
    pub active_compared: usize,
}

impl CheckReport {
    pub fn infeasible_tasks(&self) -> usize {
        self.tasks.iter().filter(|t| t.verdict == Verdict::Infeasible).count()
    }

    pub fn blocking_conflicts(&self) -> usize {
        self.conflicts.iter().filter(|c| c.severity == Severity::Conflict).count()
    }

    /// True when a task is infeasible or a conflict must be resolved.
    pub fn blocks_issuance(&self) -> bool {
        self.infeasible_tasks() > 0 || self.blocking_conflicts() > 0
    }
}

fn worst(a: Verdict, b: Verdict) -> Verdict {
    let rank = |v| match v {
        Verdict::Feasible => 0,
        Verdict::AtRisk => 1,
        Verdict::Infeasible => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Checks `draft` (validated here) against `active` directives over `units`.
///
/// Monte Carlo work is shared, never redone per unit: the units of a task are grouped by
/// the template variant that applies to them (a jurisdiction's edit, or the template
/// itself), and one [`Simulation`] per (variant, issue date) serves every unit, task and
/// deadline of the group. 1,000 units under one template cost one simulation.
pub fn check(
    file: &str,
    draft: &Directive,
    active: &[Directive],
    units: &UnitIndex,
    templates: &TemplateSet,
    opts: &CheckOptions,
) -> Result<CheckReport, Invalid> {
    draft.validate(file, templates)?;
    let mut problems: Vec<Problem> = Vec::new();
    let mut resolved = Vec::with_capacity(draft.tasks.len());
    for (i, t) in draft.tasks.iter().enumerate() {
        match units.resolve(t, i, true) {
            Ok(u) => resolved.push(Resolved {
                directive: draft,
                task: t,
                units: u,
                shares: weekly_shares(draft.issued_on, t.deadline),
            }),
            Err(p) => problems.push(p),
        }
    }
    Invalid::check(file, problems)?;

    let mut sims: HashMap<(String, NaiveDate), Simulation> = HashMap::new();
    let mut tasks = Vec::with_capacity(resolved.len());
    for r in &resolved {
        // Group the units by the template variant that applies to each.
        let mut groups: BTreeMap<String, Vec<UnitCode>> = BTreeMap::new();
        for &u in &r.units {
            let code = &units.get(u).code;
            let t = templates.for_unit(&r.task.template, code).expect("validated template");
            groups.entry(t.key()).or_default().push(code.clone());
        }
        let mut out_groups = Vec::with_capacity(groups.len());
        let mut verdict = Verdict::Feasible;
        let mut unverified = Vec::new();
        for (key, codes) in groups {
            let t = templates.for_unit(&r.task.template, &codes[0]).expect("validated template");
            unverified.extend(unverified_figures(t));
            let sim = sims
                .entry((key, draft.issued_on))
                .or_insert_with(|| Simulation::run(t, draft.issued_on, opts.samples, opts.seed));
            let f = sim.assess(r.task.deadline);
            verdict = worst(verdict, f.verdict);
            out_groups.push(UnitGroup { units: codes, feasibility: f });
        }
        tasks.push(TaskCheck {
            task: r.task.id.clone(),
            title: r.task.title.clone(),
            template: r.task.template.clone(),
            deadline: r.task.deadline,
            resources: r.task.resources.clone(),
            unit_count: r.units.len(),
            verdict,
            groups: out_groups,
            unverified,
        });
    }

    let others: Vec<&Directive> =
        active.iter().filter(|d| d.status.is_active() && d.id != draft.id).collect();
    let mut active_resolved = Vec::new();
    for d in &others {
        for (i, t) in d.tasks.iter().enumerate() {
            let Ok(u) = units.resolve(t, i, false) else { continue };
            if u.is_empty() {
                continue;
            }
            active_resolved.push(Resolved {
                directive: d,
                task: t,
                units: u,
                shares: weekly_shares(d.issued_on, t.deadline.max(d.issued_on)),
            });
        }
    }
    let conflicts = find(units, &resolved, &active_resolved, &opts.conflicts);

    let loads: Vec<TaskLoad<'_>> = resolved
        .iter()
        .map(|r| TaskLoad {
            units: &r.units,
            cadre_hours: r.task.resources.cadre_hours,
            visits: f64::from(r.task.resources.visits),
            shares: &r.shares,
        })
        .collect();
    let burden = impact(units, &loads);

    Ok(CheckReport {
        directive: draft.id.clone(),
        title: draft.title.clone(),
        issued_on: draft.issued_on,
        tasks,
        conflicts,
        burden,
        simulations: sims.len(),
        active_compared: others.len(),
    })
}
