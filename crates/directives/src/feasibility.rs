//! Can a task be done by its deadline? The critical path and earliest completion, and the
//! probability of meeting the deadline under the template's risky branches by seeded
//! Monte Carlo.
//!
//! **Time.** Offsets are whole days from the issue date. A step that starts at offset `s`
//! and lasts `n` days ends at `s + n` (calendar) or the day after its `n`-th working day
//! (working). A step starts when all its predecessors have ended. The task is done on the
//! last day of its last step; the deadline is met when that day is on or before it.
//!
//! **Duration distribution.** Each sampled duration follows a triangular distribution on
//! `[min, max]` with its mode at `typical` (`max` defaults to `typical + (typical − min)`),
//! rounded up to whole days and never below `min`. Statutory periods usually have
//! `min = typical`: the law's minimum is what they take. Each risky branch fires with its
//! probability, independently, and only when the branch its trigger belongs to fired.
//!
//! **Reproducibility.** The random stream is ChaCha8 seeded from the caller's seed, the
//! template's key and the issue date, never from the deadline: the same inputs give the
//! same numbers, and the probability is exactly monotone in the deadline because every
//! deadline is judged against the same sampled runs.

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::calendar::{DayIndex, DayKind};
use crate::error::Text;
use crate::template::{Template, predecessors};

/// A deadline met with less than this probability is [`Verdict::AtRisk`]; also the level
/// of [`Feasibility::deadline_p80`].
pub const CONFIDENCE: f64 = 0.8;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Met in at least 80% of the runs.
    Feasible,
    /// Possible, but met in fewer than 80% of the runs.
    AtRisk,
    /// Not even the shortest possible schedule, with no risky branch, meets it.
    Infeasible,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Feasible => "feasible",
            Verdict::AtRisk => "at_risk",
            Verdict::Infeasible => "infeasible",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Verdict::Feasible => "可行",
            Verdict::AtRisk => "有风险",
            Verdict::Infeasible => "不可行",
        }
    }
}

/// One step of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathStep {
    pub id: String,
    pub zh: String,
    pub en: String,
    #[serde(with = "crate::day")]
    pub start: NaiveDate,
    /// The last day of the step.
    #[serde(with = "crate::day")]
    pub done: NaiveDate,
    /// Its duration in the schedule, in `kind` days.
    pub days: u32,
    pub kind: DayKind,
    pub statutory: bool,
    pub source: String,
    pub branch: Option<String>,
}

/// The step after which the deadline is lost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breaking {
    pub step: String,
    pub zh: String,
    pub en: String,
    /// Share of the runs that miss the deadline in which this is the first step on the
    /// critical path to end after it (1 for the deterministic schedule).
    pub share: f64,
}

/// What a risky branch does to the shortest schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchOutlook {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// The chance it happens, its parent branches' chances included.
    pub probability: f64,
    /// Earliest completion when it (and its parents) happen, every step at its minimum.
    #[serde(with = "crate::day")]
    pub earliest_if_fired: NaiveDate,
}

/// The feasibility of one task for the units that share a template and deadline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feasibility {
    /// The template's key (`road`, or `road@3501` for a jurisdiction's edit).
    pub template: String,
    #[serde(with = "crate::day")]
    pub issued_on: NaiveDate,
    #[serde(with = "crate::day")]
    pub deadline: NaiveDate,
    pub verdict: Verdict,
    /// Earliest completion: every step at its minimum, no risky branch.
    #[serde(with = "crate::day")]
    pub earliest: NaiveDate,
    /// Days from the issue date to `earliest`, inclusive of both.
    pub earliest_days: u32,
    /// Completion with every step at its typical duration, no risky branch.
    #[serde(with = "crate::day")]
    pub typical: NaiveDate,
    /// The chain of steps that sets `earliest`.
    pub critical_path: Vec<PathStep>,
    /// The longest chain counting only statutory minimums (every other step taken as
    /// instantaneous): what the law alone requires.
    pub statutory_floor_days: u32,
    /// The statutory steps on that chain.
    pub statutory_floor: Vec<PathStep>,
    /// Share of the Monte Carlo runs that meet the deadline.
    pub probability: f64,
    pub samples: u32,
    pub seed: u64,
    pub breaking_step: Option<Breaking>,
    /// The earliest deadline met in at least 80% of the runs.
    #[serde(with = "crate::day")]
    pub deadline_p80: NaiveDate,
    pub branches: Vec<BranchOutlook>,
    pub reason: Text,
}

#[derive(Debug, Clone)]
struct Node {
    /// Index of the step in the template.
    step: usize,
    preds: Vec<u32>,
    branch: Option<u32>,
    min: u32,
    typical: u32,
    kind: DayKind,
    // Triangular sampling constants.
    a: f64,
    b: f64,
    fc: f64,
    k1: f64,
    k2: f64,
}

#[derive(Debug, Clone)]
struct PBranch {
    template_index: usize,
    probability: f64,
    parent: Option<u32>,
}

/// A template compiled for scheduling: steps in dependency order.
#[derive(Debug, Clone)]
struct Plan {
    nodes: Vec<Node>,
    /// Branches, parents before children.
    branches: Vec<PBranch>,
}

impl Plan {
    fn new(t: &Template) -> Plan {
        let preds = predecessors(t);
        let n = preds.len();
        // Kahn's algorithm, stable by template order (validated acyclic).
        let mut indegree: Vec<usize> = preds.iter().map(Vec::len).collect();
        let mut succ: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, ps) in preds.iter().enumerate() {
            for &p in ps {
                succ[p].push(i);
            }
        }
        let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            order.push(i);
            for &s in &succ[i] {
                indegree[s] -= 1;
                if indegree[s] == 0 {
                    ready.insert(s);
                }
            }
        }
        assert_eq!(order.len(), n, "templates are validated acyclic before use");
        let mut pos = vec![0u32; n];
        for (k, &i) in order.iter().enumerate() {
            pos[i] = k as u32;
        }
        // Branches by depth so parents come first.
        let branch_of_step = |i: usize| t.steps[i].branch.as_deref();
        let depth = |b: usize| {
            let mut d = 0;
            let mut cur = t.steps.iter().position(|s| s.id == t.branches[b].trigger).and_then(branch_of_step);
            while let Some(id) = cur {
                d += 1;
                let Some(bi) = t.branches.iter().position(|x| x.id == id) else { break };
                cur = t.steps.iter().position(|s| s.id == t.branches[bi].trigger).and_then(branch_of_step);
                if d > t.branches.len() {
                    break;
                }
            }
            d
        };
        let mut border: Vec<usize> = (0..t.branches.len()).collect();
        border.sort_by_key(|&b| (depth(b), b));
        let bpos = |id: &str| border.iter().position(|&b| t.branches[b].id == id).map(|p| p as u32);
        let branches = border
            .iter()
            .map(|&b| {
                let parent = t
                    .steps
                    .iter()
                    .find(|s| s.id == t.branches[b].trigger)
                    .and_then(|s| s.branch.as_deref())
                    .and_then(bpos);
                PBranch { template_index: b, probability: t.branches[b].probability, parent }
            })
            .collect();
        let nodes = order
            .iter()
            .map(|&i| {
                let s = &t.steps[i];
                let (a, c, b) = (f64::from(s.min), f64::from(s.typical), f64::from(s.max_days()));
                Node {
                    step: i,
                    preds: preds[i].iter().map(|&p| pos[p]).collect(),
                    branch: s.branch.as_deref().and_then(bpos),
                    min: s.min,
                    typical: s.typical,
                    kind: s.days,
                    a,
                    b,
                    fc: if b > a { (c - a) / (b - a) } else { 0.0 },
                    k1: (b - a) * (c - a),
                    k2: (b - a) * (b - c),
                }
            })
            .collect();
        Plan { nodes, branches }
    }

    /// Schedules one run: `finish[i]` is node `i`'s end offset (0 when its branch did not
    /// fire). Returns the task's end offset.
    fn run(&self, durations: &[u32], fired: &[bool], days: &mut DayIndex, finish: &mut [u32]) -> u32 {
        let mut end = 0;
        for (i, node) in self.nodes.iter().enumerate() {
            if node.branch.is_some_and(|b| !fired[b as usize]) {
                finish[i] = 0;
                continue;
            }
            let start = node.preds.iter().map(|&p| finish[p as usize]).max().unwrap_or(0);
            let f = days.end(node.kind, start, durations[i]);
            finish[i] = f;
            end = end.max(f);
        }
        end
    }

    /// The chain of nodes that sets the end, in execution order.
    fn critical_chain(&self, finish: &[u32], fired: &[bool]) -> Vec<usize> {
        let active = |i: usize| self.nodes[i].branch.is_none_or(|b| fired[b as usize]);
        let Some(mut cur) =
            (0..self.nodes.len()).filter(|&i| active(i)).max_by_key(|&i| (finish[i], std::cmp::Reverse(i)))
        else {
            return Vec::new();
        };
        let mut chain = vec![cur];
        while let Some(p) = self.nodes[cur]
            .preds
            .iter()
            .map(|&p| p as usize)
            .filter(|&p| active(p))
            .max_by_key(|&p| (finish[p], std::cmp::Reverse(p)))
        {
            chain.push(p);
            cur = p;
        }
        chain.reverse();
        chain
    }

    fn sample(&self, rng: &mut ChaCha8Rng, durations: &mut [u32]) {
        for (d, n) in durations.iter_mut().zip(&self.nodes) {
            if n.b <= n.a {
                *d = n.min;
                continue;
            }
            let u: f64 = rng.random();
            let x = if u < n.fc { n.a + (u * n.k1).sqrt() } else { n.b - ((1.0 - u) * n.k2).sqrt() };
            *d = (x.ceil() as u32).clamp(n.min, n.b as u32);
        }
    }

    fn fire(&self, rng: &mut ChaCha8Rng, fired: &mut [bool]) {
        for (i, b) in self.branches.iter().enumerate() {
            let parent_ok = b.parent.is_none_or(|p| fired[p as usize]);
            // Draw even when the parent did not fire, so each branch keeps its own stream position.
            let hit = rng.random::<f64>() < b.probability;
            fired[i] = parent_ok && hit;
        }
    }
}

/// FNV-1a, for a seed that depends only on the inputs (stable across Rust versions).
fn mix(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The Monte Carlo runs of one template from one issue date: computed once and judged
/// against any number of deadlines. Units (and tasks) that share a template variant and
/// an issue date share one `Simulation`; see [`crate::check`].
#[derive(Debug, Clone)]
pub struct Simulation {
    template: Template,
    plan: Plan,
    issued_on: NaiveDate,
    samples: u32,
    seed: u64,
    /// End offset of each run.
    ends: Vec<u32>,
    /// Sorted copy of `ends`.
    sorted: Vec<u32>,
    /// `finish[run * nodes + node]`.
    finish: Vec<u32>,
    fired: Vec<bool>,
    days: DayIndex,
}

impl Simulation {
    /// Runs `samples` (at least 1) schedules of `t` from `issued_on`.
    pub fn run(t: &Template, issued_on: NaiveDate, samples: u32, seed: u64) -> Simulation {
        let samples = samples.max(1);
        let plan = Plan::new(t);
        let n = plan.nodes.len();
        let nb = plan.branches.len();
        let key = t.key();
        let date = issued_on.format("%Y-%m-%d").to_string();
        let run_seed = mix(seed, &[key.as_bytes(), date.as_bytes()]);
        let mut rng = ChaCha8Rng::seed_from_u64(run_seed);
        let mut days = DayIndex::new(&t.calendar, issued_on);
        let mut durations = vec![0u32; n];
        let mut fired_one = vec![false; nb];
        let mut ends = Vec::with_capacity(samples as usize);
        let mut finish = vec![0u32; n * samples as usize];
        let mut fired = vec![false; nb * samples as usize];
        for s in 0..samples as usize {
            plan.fire(&mut rng, &mut fired_one);
            plan.sample(&mut rng, &mut durations);
            let f = &mut finish[s * n..(s + 1) * n];
            ends.push(plan.run(&durations, &fired_one, &mut days, f));
            fired[s * nb..(s + 1) * nb].copy_from_slice(&fired_one);
        }
        let mut sorted = ends.clone();
        sorted.sort_unstable();
        Simulation { template: t.clone(), plan, issued_on, samples, seed, ends, sorted, finish, fired, days }
    }

    fn done_on(&self, end: u32) -> NaiveDate {
        self.issued_on + Duration::days(i64::from(end.max(1)) - 1)
    }

    /// Share of runs done on or before `deadline`.
    pub fn probability(&self, deadline: NaiveDate) -> f64 {
        let limit = self.limit(deadline);
        let met = self.sorted.partition_point(|&e| e <= limit);
        met as f64 / f64::from(self.samples)
    }

    /// The largest end offset that meets `deadline`.
    fn limit(&self, deadline: NaiveDate) -> u32 {
        let d = (deadline - self.issued_on).num_days();
        if d < 0 { 0 } else { d as u32 + 1 }
    }

    fn path(&self, chain: &[usize], finish: &[u32], durations: &[u32]) -> Vec<PathStep> {
        chain
            .iter()
            .map(|&i| {
                let node = &self.plan.nodes[i];
                let s = &self.template.steps[node.step];
                let start = node.preds.iter().map(|&p| finish[p as usize]).max().unwrap_or(0);
                PathStep {
                    id: s.id.clone(),
                    zh: s.zh.clone(),
                    en: s.en.clone(),
                    start: self.issued_on + Duration::days(i64::from(start)),
                    done: self.done_on(finish[i].max(start + 1)),
                    days: durations[i],
                    kind: s.days,
                    statutory: s.statutory,
                    source: s.source.clone(),
                    branch: s.branch.clone(),
                }
            })
            .collect()
    }

    /// A deterministic schedule: `pick` gives each node's duration.
    fn fixed(&self, pick: impl Fn(&Node) -> u32, fired: &[bool]) -> (u32, Vec<u32>, Vec<u32>) {
        let durations: Vec<u32> = self.plan.nodes.iter().map(pick).collect();
        let mut finish = vec![0u32; durations.len()];
        let mut days = self.days.clone();
        let end = self.plan.run(&durations, fired, &mut days, &mut finish);
        (end, finish, durations)
    }

    /// Judges the runs against `deadline`.
    pub fn assess(&self, deadline: NaiveDate) -> Feasibility {
        let nb = self.plan.branches.len();
        let none = vec![false; nb];
        let limit = self.limit(deadline);
        let (earliest_end, efinish, edur) = self.fixed(|n| n.min, &none);
        let chain = self.plan.critical_chain(&efinish, &none);
        let critical_path = self.path(&chain, &efinish, &edur);
        let (typical_end, _, _) = self.fixed(|n| n.typical, &none);
        let statutory = |n: &Node| if self.template.steps[n.step].statutory { n.min } else { 0 };
        let (floor_end, ffinish, fdur) = self.fixed(statutory, &none);
        let floor_chain: Vec<usize> = self
            .plan
            .critical_chain(&ffinish, &none)
            .into_iter()
            .filter(|&i| self.template.steps[self.plan.nodes[i].step].statutory)
            .collect();
        let statutory_floor = self.path(&floor_chain, &ffinish, &fdur);

        let probability = self.probability(deadline);
        let p80_index =
            ((CONFIDENCE * f64::from(self.samples)).ceil() as usize).clamp(1, self.sorted.len()) - 1;
        let deadline_p80 = self.done_on(self.sorted[p80_index]);

        let verdict = if earliest_end > limit {
            Verdict::Infeasible
        } else if probability < CONFIDENCE {
            Verdict::AtRisk
        } else {
            Verdict::Feasible
        };
        let step_of = |i: usize| &self.template.steps[self.plan.nodes[i].step];
        let breaking_step = if verdict == Verdict::Infeasible {
            chain.iter().find(|&&i| efinish[i] > limit).map(|&i| {
                let s = step_of(i);
                Breaking { step: s.id.clone(), zh: s.zh.clone(), en: s.en.clone(), share: 1.0 }
            })
        } else {
            // The first step on each missing run's critical path to end after the deadline.
            let n = self.plan.nodes.len();
            let mut counts = vec![0u32; n];
            let mut missed = 0u32;
            for (s, &end) in self.ends.iter().enumerate() {
                if end <= limit {
                    continue;
                }
                missed += 1;
                let f = &self.finish[s * n..(s + 1) * n];
                let fired = &self.fired[s * nb..(s + 1) * nb];
                if let Some(&i) = self.plan.critical_chain(f, fired).iter().find(|&&i| f[i] > limit) {
                    counts[i] += 1;
                }
            }
            (missed > 0)
                .then(|| {
                    let (i, &c) =
                        counts.iter().enumerate().max_by_key(|&(i, &c)| (c, std::cmp::Reverse(i)))?;
                    let s = step_of(i);
                    Some(Breaking {
                        step: s.id.clone(),
                        zh: s.zh.clone(),
                        en: s.en.clone(),
                        share: f64::from(c) / f64::from(missed),
                    })
                })
                .flatten()
        };

        let branches = self
            .plan
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut fired = vec![false; nb];
                let mut p = 1.0;
                let mut cur = Some(i as u32);
                while let Some(c) = cur {
                    fired[c as usize] = true;
                    p *= self.plan.branches[c as usize].probability;
                    cur = self.plan.branches[c as usize].parent;
                }
                let (end, _, _) = self.fixed(|n| n.min, &fired);
                let tb = &self.template.branches[b.template_index];
                BranchOutlook {
                    id: tb.id.clone(),
                    zh: tb.zh.clone(),
                    en: tb.en.clone(),
                    probability: p,
                    earliest_if_fired: self.done_on(end),
                }
            })
            .collect();

        let mut f = Feasibility {
            template: self.template.key(),
            issued_on: self.issued_on,
            deadline,
            verdict,
            earliest: self.done_on(earliest_end),
            earliest_days: earliest_end.max(1),
            typical: self.done_on(typical_end),
            critical_path,
            statutory_floor_days: floor_end,
            statutory_floor,
            probability,
            samples: self.samples,
            seed: self.seed,
            breaking_step,
            deadline_p80,
            branches,
            reason: Text::new("", ""),
        };
        f.reason = reason(&f);
        f
    }
}

/// One-off: simulate and judge.
pub fn assess(
    t: &Template,
    issued_on: NaiveDate,
    deadline: NaiveDate,
    samples: u32,
    seed: u64,
) -> Feasibility {
    Simulation::run(t, issued_on, samples, seed).assess(deadline)
}

fn days_between(a: NaiveDate, b: NaiveDate) -> i64 {
    (b - a).num_days() + 1
}

fn reason(f: &Feasibility) -> Text {
    let deadline_days = days_between(f.issued_on, f.deadline);
    let pct = f.probability * 100.0;
    let statutory: Vec<&PathStep> = f.critical_path.iter().filter(|s| s.statutory).collect();
    let list_zh = |steps: &[&PathStep]| {
        steps
            .iter()
            .map(|s| format!("{}{}{}（{}）", s.zh, s.days, s.kind.zh(), s.source))
            .collect::<Vec<_>>()
            .join("；")
    };
    let list_en = |steps: &[&PathStep]| {
        steps.iter().map(|s| format!("{} {} {}", s.en, s.days, s.kind.en())).collect::<Vec<_>>().join("; ")
    };
    match f.verdict {
        Verdict::Infeasible => {
            let floor: Vec<&PathStep> = f.statutory_floor.iter().collect();
            let floor_days = i64::from(f.statutory_floor_days);
            let (law_zh, law_en) = if floor_days > deadline_days {
                (
                    format!(
                        "仅法定期限本身就需 {floor_days} 天，已超过期限的 {deadline_days} 天：{}。",
                        list_zh(&floor)
                    ),
                    format!(
                        "The statutory periods alone take {floor_days} days, beyond the {deadline_days} days allowed: {}.",
                        list_en(&floor)
                    ),
                )
            } else {
                (
                    format!(
                        "关键路径上的法定期限：{}；法定期限之外的步骤按本地默认最短用时计。",
                        if statutory.is_empty() { "无".to_owned() } else { list_zh(&statutory) }
                    ),
                    format!(
                        "Statutory periods on the critical path: {}; the other steps at their local-default minimum.",
                        if statutory.is_empty() { "none".to_owned() } else { list_en(&statutory) }
                    ),
                )
            };
            let (b_zh, b_en) = match &f.breaking_step {
                Some(b) => {
                    (format!("从“{}”起越过期限。", b.zh), format!(" The deadline is lost at \"{}\".", b.en))
                }
                None => (String::new(), String::new()),
            };
            Text::new(
                format!(
                    "不可行：即使每一步都用最短时间、不出任何意外，最早也要到 {}（{} 天）才能完成，超过期限 {}（{} 天）。{law_zh}{b_zh}有 80% 把握的期限为 {}。",
                    f.earliest, f.earliest_days, f.deadline, deadline_days, f.deadline_p80
                ),
                format!(
                    "Infeasible: even with every step at its minimum and nothing going wrong, the earliest completion is {} ({} days), after the deadline {} ({} days). {law_en}{b_en} A deadline met with 80% probability: {}.",
                    f.earliest, f.earliest_days, f.deadline, deadline_days, f.deadline_p80
                ),
            )
        }
        Verdict::AtRisk | Verdict::Feasible => {
            let (b_zh, b_en) = match &f.breaking_step {
                Some(b) => (
                    format!("未按期的模拟中，{:.0}% 从“{}”起越过期限。", b.share * 100.0, b.zh),
                    format!(" In the runs that miss it, {:.0}% lose it at \"{}\".", b.share * 100.0, b.en),
                ),
                None => (String::new(), String::new()),
            };
            let head_zh = if f.verdict == Verdict::AtRisk { "有风险" } else { "可行" };
            let head_en = if f.verdict == Verdict::AtRisk { "At risk" } else { "Feasible" };
            Text::new(
                format!(
                    "{head_zh}：按期完成的概率为 {pct:.1}%（{} 次模拟），最早 {} 完成。{b_zh}有 80% 把握的期限为 {}。",
                    f.samples, f.earliest, f.deadline_p80
                ),
                format!(
                    "{head_en}: the deadline is met in {pct:.1}% of {} runs; earliest completion {}.{b_en} A deadline met with 80% probability: {}.",
                    f.samples, f.earliest, f.deadline_p80
                ),
            )
        }
    }
}
