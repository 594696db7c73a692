//! Process templates as data: the steps a task goes through, how long each takes at least
//! and typically, what each waits for, and the risky branches that may add steps.
//!
//! A template is a TOML file:
//!
//! ```toml
//! id = "road"
//! zh = "道路建设项目"
//! en = "road project"
//! version = "2026-11"
//!
//! [[step]]
//! id = "tender"
//! zh = "招标（招标文件发出至投标截止）"
//! en = "tendering: tender documents to bid deadline"
//! min = 20              # whole days, at least 0
//! typical = 25          # default: min
//! max = 40              # default: typical + (typical − min)
//! days = "calendar"     # or "working" (weekends and holidays skipped)
//! after = ["drawings"]  # steps that must finish first
//! statutory = true      # `min` is a legal minimum
//! source = "《招标投标法》第二十四条：……最短不得少于二十日"
//! verified = "text"     # how the figure was checked: "text" (the statute's wording was
//!                       # found), "figure" (only the figure, not the wording or article),
//!                       # or "unverified"; a statutory step without it counts as unverified
//!
//! [[branch]]            # a risky branch: with `probability`, once `trigger` finishes,
//! id = "objection"      # its steps run, and `rejoin` (optional) waits for them
//! probability = 0.2
//! trigger = "decision"
//! rejoin = "demolition"
//! source = "why this probability"
//! [[branch.step]]
//! id = "reconsideration"
//! ...
//! ```
//!
//! Step ids are unique across the whole template, branches included. A branch whose
//! trigger is a step of another branch only happens when that branch happens.
//!
//! A jurisdiction edits a template with a second file that `extends` it: its `[[step]]` and
//! `[[branch]]` entries with existing ids change only the fields they give (a changed
//! duration must give its `source`), new ids add steps or branches, and `holidays` /
//! `workdays` extend the calendar. With `jurisdiction = "3501"` the edit applies to units
//! under that code only; without it, it replaces the template everywhere.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use toml::Spanned;
use tongxin_domain::UnitCode;

use crate::calendar::{Calendar, DayKind};
use crate::day::Day;
use crate::error::{Invalid, Problem};

/// The templates shipped with tongxin (each is tested to load).
pub const SHIPPED: [(&str, &str); 5] = [
    ("road.toml", include_str!("../templates/road.toml")),
    ("expropriation.toml", include_str!("../templates/expropriation.toml")),
    ("procurement.toml", include_str!("../templates/procurement.toml")),
    ("rural_housing.toml", include_str!("../templates/rural_housing.toml")),
    ("data_collection.toml", include_str!("../templates/data_collection.toml")),
];

/// Longest single step accepted, in days (ten years): beyond that a figure is a typo.
pub const MAX_STEP_DAYS: u32 = 3650;

/// How a step's cited figure was checked against the statute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verification {
    /// The statute's wording was found and gives the figure and the article cited.
    Text,
    /// The figure was confirmed by secondary sources, but not the statute's wording or
    /// article number.
    Figure,
    /// Not checked: the figure and the article rest on memory or on the author's word.
    Unverified,
}

impl Verification {
    pub fn as_str(self) -> &'static str {
        match self {
            Verification::Text => "text",
            Verification::Figure => "figure",
            Verification::Unverified => "unverified",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Verification::Text => "已核对法条原文",
            Verification::Figure => "仅核对了数字，未见法条原文（条款号未核实）",
            Verification::Unverified => "未核对法条",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Verification::Text => "checked against the statute's text",
            Verification::Figure => "figure confirmed, statute's text not found (article number unverified)",
            Verification::Unverified => "not checked against the statute",
        }
    }
}

/// One step of a process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub zh: String,
    pub en: String,
    /// The least the step can take, in `days`; for a statutory period, the legal minimum.
    pub min: u32,
    /// What it usually takes.
    pub typical: u32,
    /// The long tail (e.g. a statutory ceiling with its extension); `None`: `typical +
    /// (typical − min)`. See [`Step::max_days`].
    pub max: Option<u32>,
    pub days: DayKind,
    /// Steps that must finish before this one starts.
    pub after: Vec<String>,
    /// True when `min` is set by law rather than by local experience.
    pub statutory: bool,
    /// The statute and article, or "local default" with the reason for the figure.
    pub source: String,
    /// How the cited figure was checked; `None` where nothing statutory is cited. See
    /// [`Step::verification`].
    #[serde(default)]
    pub verified: Option<Verification>,
    pub note: Option<String>,
    /// The risky branch this step belongs to; `None` for the main line.
    pub branch: Option<String>,
    /// Line of the step's id in the file that last defined it (0 when built in code).
    pub line: usize,
    /// The file that last defined it (empty when built in code).
    #[serde(default)]
    pub file: String,
}

impl Step {
    pub fn max_days(&self) -> u32 {
        self.max.unwrap_or(self.typical + (self.typical - self.min.min(self.typical)))
    }

    /// How the step's statutory figure was checked: as declared, and `Unverified` for a
    /// statutory step that declares nothing; `None` for a step citing nothing statutory.
    pub fn verification(&self) -> Option<Verification> {
        match (self.verified, self.statutory) {
            (Some(v), _) => Some(v),
            (None, true) => Some(Verification::Unverified),
            (None, false) => None,
        }
    }
}

/// A risky branch: with `probability`, after `trigger` finishes, its steps run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Branch {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub probability: f64,
    /// The step after which the branch starts (main line or another branch's step).
    pub trigger: String,
    /// The main-line step that waits for the branch to end; `None`: only the task's
    /// completion waits for it.
    pub rejoin: Option<String>,
    /// Where the probability comes from.
    pub source: String,
    pub line: usize,
    /// The file that last defined it.
    #[serde(default)]
    pub file: String,
}

/// A process template, ready to use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: String,
    pub zh: String,
    pub en: String,
    pub version: String,
    /// Set on a jurisdiction's edit: the unit code whose subtree it applies to.
    pub jurisdiction: Option<UnitCode>,
    pub calendar: Calendar,
    /// Main-line steps and branch steps (see [`Step::branch`]).
    pub steps: Vec<Step>,
    pub branches: Vec<Branch>,
    /// The files it was built from, base first.
    pub files: Vec<String>,
}

impl Template {
    /// `id`, or `id@jurisdiction` for a jurisdiction's edit: what results are keyed by.
    pub fn key(&self) -> String {
        match &self.jurisdiction {
            Some(j) => format!("{}@{}", self.id, j),
            None => self.id.clone(),
        }
    }

    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    pub fn branch(&self, id: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.id == id)
    }

    /// Adds a main-line step (for tests and tools that build templates in code) and
    /// re-validates.
    pub fn with_step(mut self, step: Step) -> Result<Template, Invalid> {
        self.steps.push(step);
        let file = self.files.last().cloned().unwrap_or_default();
        Invalid::check(&file, validate(&self))?;
        Ok(self)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    id: Option<String>,
    extends: Option<String>,
    jurisdiction: Option<String>,
    version: Option<String>,
    zh: Option<String>,
    en: Option<String>,
    #[serde(default)]
    holidays: Vec<Day>,
    #[serde(default)]
    workdays: Vec<Day>,
    #[serde(default)]
    step: Vec<RawStep>,
    #[serde(default)]
    branch: Vec<RawBranch>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    zh: Option<String>,
    en: Option<String>,
    min: Option<u32>,
    typical: Option<u32>,
    max: Option<u32>,
    days: Option<DayKind>,
    after: Option<Vec<String>>,
    statutory: Option<bool>,
    source: Option<String>,
    verified: Option<Verification>,
    note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBranch {
    id: Spanned<String>,
    zh: Option<String>,
    en: Option<String>,
    probability: Option<f64>,
    trigger: Option<String>,
    rejoin: Option<String>,
    source: Option<String>,
    #[serde(default)]
    step: Vec<RawStep>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

fn step_at(id: &str, line: usize) -> String {
    if line > 0 { format!("step \"{id}\" (line {line})") } else { format!("step \"{id}\"") }
}

fn branch_at(id: &str, line: usize) -> String {
    if line > 0 { format!("branch \"{id}\" (line {line})") } else { format!("branch \"{id}\"") }
}

fn parse_raw(file: &str, text: &str) -> Result<RawFile, Invalid> {
    toml::from_str::<RawFile>(text).map_err(|e| {
        let at =
            e.span().map(|s| format!("line {}", line_of(text, s.start))).unwrap_or_else(|| "TOML".into());
        let msg = e.message().to_owned();
        Invalid::one(file, Problem::new(at, format!("TOML 有误：{msg}"), format!("bad TOML: {msg}")))
    })
}

/// A new step from a complete definition; missing fields are problems.
fn new_step(r: &RawStep, branch: Option<&str>, text: &str, problems: &mut Vec<Problem>) -> Step {
    let id = r.id.get_ref().trim().to_owned();
    let line = line_of(text, r.id.span().start);
    let at = step_at(&id, line);
    let min = r.min.unwrap_or_else(|| {
        problems.push(Problem::new(
            &at,
            "缺少最短用时 min",
            "missing field `min` (the least number of days)",
        ));
        0
    });
    let zh = r.zh.clone().unwrap_or_else(|| {
        problems.push(Problem::new(&at, "缺少中文名称 zh", "missing field `zh` (the step's Chinese name)"));
        String::new()
    });
    let source = r.source.clone().unwrap_or_else(|| {
        problems.push(Problem::new(
            &at,
            "缺少依据 source（法定期限写明法规条款，否则写明“本地默认”及理由）",
            "missing field `source` (the statute and article, or \"local default\" and why)",
        ));
        String::new()
    });
    Step {
        en: r.en.clone().unwrap_or_else(|| id.clone()),
        id,
        zh,
        min,
        typical: r.typical.unwrap_or(min),
        max: r.max,
        days: r.days.unwrap_or_default(),
        after: r.after.clone().unwrap_or_default(),
        statutory: r.statutory.unwrap_or(false),
        source,
        verified: r.verified,
        note: r.note.clone(),
        branch: branch.map(str::to_owned),
        line,
        file: String::new(),
    }
}

/// Applies an edit to an existing step: only the fields given change.
fn edit_step(s: &mut Step, r: &RawStep, text: &str, problems: &mut Vec<Problem>) {
    let line = line_of(text, r.id.span().start);
    let durations_changed = r.min.is_some() || r.typical.is_some() || r.max.is_some() || r.days.is_some();
    if durations_changed && r.source.is_none() {
        problems.push(Problem::new(
            step_at(&s.id, line),
            "修改用时须同时写明依据 source",
            "a changed duration must give its `source`",
        ));
    }
    if let Some(m) = r.min {
        s.min = m;
        if r.typical.is_none() && s.typical < m {
            s.typical = m;
        }
    }
    if let Some(t) = r.typical {
        s.typical = t;
    }
    if r.max.is_some() {
        s.max = r.max;
    } else if durations_changed && s.max.is_some_and(|m| m < s.typical) {
        s.max = None;
    }
    if let Some(d) = r.days {
        s.days = d;
    }
    if let Some(a) = &r.after {
        s.after = a.clone();
    }
    if let Some(v) = r.statutory {
        s.statutory = v;
    }
    if let Some(v) = &r.source {
        // A new source is only as checked as the edit says.
        if *v != s.source && r.verified.is_none() && s.verified.is_some() {
            s.verified = Some(Verification::Unverified);
        }
        s.source = v.clone();
    }
    if let Some(v) = r.verified {
        s.verified = Some(v);
    }
    if let Some(v) = &r.note {
        s.note = Some(v.clone());
    }
    if let Some(v) = &r.zh {
        s.zh = v.clone();
    }
    if let Some(v) = &r.en {
        s.en = v.clone();
    }
    s.line = line;
}

fn new_branch(r: &RawBranch, text: &str, problems: &mut Vec<Problem>) -> Branch {
    let id = r.id.get_ref().trim().to_owned();
    let line = line_of(text, r.id.span().start);
    let at = branch_at(&id, line);
    let probability = r.probability.unwrap_or_else(|| {
        problems.push(Problem::new(&at, "缺少概率 probability", "missing field `probability`"));
        0.0
    });
    let trigger = r.trigger.clone().unwrap_or_else(|| {
        problems.push(Problem::new(
            &at,
            "缺少触发步骤 trigger",
            "missing field `trigger` (the step it follows)",
        ));
        String::new()
    });
    let source = r.source.clone().unwrap_or_else(|| {
        problems.push(Problem::new(
            &at,
            "缺少概率依据 source",
            "missing field `source` (where the probability comes from)",
        ));
        String::new()
    });
    Branch {
        zh: r.zh.clone().unwrap_or_else(|| id.clone()),
        en: r.en.clone().unwrap_or_else(|| id.clone()),
        id,
        probability,
        trigger,
        rejoin: r.rejoin.clone(),
        source,
        line,
        file: String::new(),
    }
}

/// Adds or edits steps by id, refusing an id given twice in the same file.
fn merge_steps(
    t: &mut Template,
    raws: &[RawStep],
    branch: Option<&str>,
    text: &str,
    seen: &mut HashMap<String, usize>,
    editing: bool,
    problems: &mut Vec<Problem>,
) {
    let file = t.files.last().cloned().unwrap_or_default();
    for r in raws {
        let id = r.id.get_ref().trim().to_owned();
        let line = line_of(text, r.id.span().start);
        if id.is_empty() {
            problems.push(Problem::new(
                format!("line {line}"),
                "步骤 id 不能为空",
                "a step id must not be empty",
            ));
            continue;
        }
        if let Some(first) = seen.insert(id.clone(), line) {
            problems.push(Problem::new(
                step_at(&id, line),
                format!("步骤 id 重复（第 {first} 行已定义）"),
                format!("duplicate step id (first defined at line {first})"),
            ));
            continue;
        }
        match t.steps.iter_mut().find(|s| s.id == id) {
            Some(s) if editing => {
                edit_step(s, r, text, problems);
                s.file = file.clone();
            }
            Some(_) => problems.push(Problem::new(step_at(&id, line), "步骤 id 重复", "duplicate step id")),
            None => {
                let mut s = new_step(r, branch, text, problems);
                s.file = file.clone();
                t.steps.push(s);
            }
        }
    }
}

fn merge_file(t: &mut Template, raw: &RawFile, text: &str, editing: bool, problems: &mut Vec<Problem>) {
    if let Some(v) = &raw.zh {
        t.zh = v.clone();
    }
    if let Some(v) = &raw.en {
        t.en = v.clone();
    }
    if let Some(v) = &raw.version {
        t.version = v.clone();
    }
    let extra = Calendar {
        holidays: raw.holidays.iter().map(|d| d.0).collect(),
        workdays: raw.workdays.iter().map(|d| d.0).collect(),
    };
    t.calendar = t.calendar.merged(&extra);
    let mut seen = HashMap::new();
    merge_steps(t, &raw.step, None, text, &mut seen, editing, problems);
    let mut seen_branches: HashMap<String, usize> = HashMap::new();
    for rb in &raw.branch {
        let id = rb.id.get_ref().trim().to_owned();
        let line = line_of(text, rb.id.span().start);
        if let Some(first) = seen_branches.insert(id.clone(), line) {
            problems.push(Problem::new(
                branch_at(&id, line),
                format!("分支 id 重复（第 {first} 行已定义）"),
                format!("duplicate branch id (first defined at line {first})"),
            ));
            continue;
        }
        match t.branches.iter_mut().find(|b| b.id == id) {
            Some(b) if editing => {
                if let Some(p) = rb.probability {
                    b.probability = p;
                    if rb.source.is_none() {
                        problems.push(Problem::new(
                            branch_at(&id, line),
                            "修改概率须同时写明依据 source",
                            "a changed probability must give its `source`",
                        ));
                    }
                }
                if let Some(v) = &rb.trigger {
                    b.trigger = v.clone();
                }
                if rb.rejoin.is_some() {
                    b.rejoin = rb.rejoin.clone();
                }
                if let Some(v) = &rb.source {
                    b.source = v.clone();
                }
                if let Some(v) = &rb.zh {
                    b.zh = v.clone();
                }
                if let Some(v) = &rb.en {
                    b.en = v.clone();
                }
                b.line = line;
                b.file = t.files.last().cloned().unwrap_or_default();
            }
            Some(_) => {
                problems.push(Problem::new(branch_at(&id, line), "分支 id 重复", "duplicate branch id"))
            }
            None => {
                let mut b = new_branch(rb, text, problems);
                b.file = t.files.last().cloned().unwrap_or_default();
                t.branches.push(b);
            }
        }
        merge_steps(t, &rb.step, Some(&id), text, &mut seen, editing, problems);
    }
}

/// Every check on a finished template: durations, references, probabilities, cycles.
pub fn validate(t: &Template) -> Vec<Problem> {
    let current = t.files.last().map(String::as_str).unwrap_or("");
    // A step or branch defined in an earlier file (the base of an edit) names that file.
    let step_at = |id: &str, line: usize, file: &str| {
        if file.is_empty() || file == current {
            step_at(id, line)
        } else {
            format!("step \"{id}\" ({file} line {line})")
        }
    };
    let branch_at = |id: &str, line: usize, file: &str| {
        if file.is_empty() || file == current {
            branch_at(id, line)
        } else {
            format!("branch \"{id}\" ({file} line {line})")
        }
    };
    let mut problems = Vec::new();
    if t.id.trim().is_empty() {
        problems.push(Problem::new("id", "模板 id 不能为空", "the template id must not be empty"));
    }
    if !t.steps.iter().any(|s| s.branch.is_none()) {
        problems.push(Problem::new(
            "step",
            "模板至少要有一个主线步骤",
            "a template needs at least one main-line step",
        ));
    }
    let by_id: HashMap<&str, &Step> = t.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    let branch_ids: HashSet<&str> = t.branches.iter().map(|b| b.id.as_str()).collect();
    for s in &t.steps {
        let at = step_at(&s.id, s.line, &s.file);
        if s.typical < s.min {
            problems.push(Problem::new(
                &at,
                format!("典型用时 {} 小于最短用时 {}", s.typical, s.min),
                format!("typical {} is less than min {}", s.typical, s.min),
            ));
        }
        if let Some(m) = s.max
            && m < s.typical
        {
            problems.push(Problem::new(
                &at,
                format!("最长用时 {m} 小于典型用时 {}", s.typical),
                format!("max {m} is less than typical {}", s.typical),
            ));
        }
        if s.max_days() > MAX_STEP_DAYS {
            problems.push(Problem::new(
                &at,
                format!("用时超过 {MAX_STEP_DAYS} 天，疑为笔误"),
                format!("a duration over {MAX_STEP_DAYS} days is taken for a typo"),
            ));
        }
        if s.source.trim().is_empty() {
            problems.push(Problem::new(&at, "依据 source 不能为空", "`source` must not be empty"));
        }
        for a in &s.after {
            match by_id.get(a.as_str()) {
                None => problems.push(Problem::new(
                    &at,
                    format!("依赖未知步骤“{a}”"),
                    format!("depends on unknown step \"{a}\""),
                )),
                Some(p) if p.branch.is_some() && p.branch != s.branch => problems.push(Problem::new(
                    &at,
                    format!("不能依赖其他分支的步骤“{a}”（用分支的 rejoin 让主线等待分支）"),
                    format!("cannot depend on \"{a}\" of another branch (use the branch's `rejoin`)"),
                )),
                Some(_) => {}
            }
        }
        if let Some(b) = &s.branch
            && !branch_ids.contains(b.as_str())
        {
            problems.push(Problem::new(
                &at,
                format!("属于未知分支“{b}”"),
                format!("belongs to unknown branch \"{b}\""),
            ));
        }
    }
    for b in &t.branches {
        let at = branch_at(&b.id, b.line, &b.file);
        if !(b.probability.is_finite() && (0.0..=1.0).contains(&b.probability)) {
            problems.push(Problem::new(
                &at,
                format!("概率 {} 应在 0 到 1 之间", b.probability),
                format!("probability {} must be between 0 and 1", b.probability),
            ));
        }
        match by_id.get(b.trigger.as_str()) {
            None if b.trigger.is_empty() => {}
            None => problems.push(Problem::new(
                &at,
                format!("触发步骤“{}”不存在", b.trigger),
                format!("trigger step \"{}\" is unknown", b.trigger),
            )),
            Some(s) if s.branch.as_deref() == Some(b.id.as_str()) => problems.push(Problem::new(
                &at,
                "触发步骤不能是本分支自己的步骤",
                "the trigger cannot be a step of the branch itself",
            )),
            Some(_) => {}
        }
        if let Some(r) = &b.rejoin {
            match by_id.get(r.as_str()) {
                None => problems.push(Problem::new(
                    &at,
                    format!("汇合步骤“{r}”不存在"),
                    format!("rejoin step \"{r}\" is unknown"),
                )),
                Some(s) if s.branch.is_some() => problems.push(Problem::new(
                    &at,
                    format!("汇合步骤“{r}”须是主线步骤"),
                    format!("rejoin step \"{r}\" must be a main-line step"),
                )),
                Some(_) => {}
            }
        }
        if !t.steps.iter().any(|s| s.branch.as_deref() == Some(b.id.as_str())) {
            problems.push(Problem::new(&at, "分支没有步骤", "the branch has no steps"));
        }
    }
    if problems.is_empty()
        && let Some(cycle) = find_cycle(t)
    {
        let first = by_id[cycle[0].as_str()];
        problems.push(Problem::new(
            step_at(&first.id, first.line, &first.file),
            format!("步骤依赖成环：{}", cycle.join(" → ")),
            format!("dependency cycle: {}", cycle.join(" → ")),
        ));
    }
    problems
}

/// The edges every schedule follows: `after`, trigger → a branch's first steps, a
/// branch's last steps → its rejoin step. Returned as predecessor lists by step index.
pub(crate) fn predecessors(t: &Template) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = t.steps.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut preds: Vec<Vec<usize>> = t
        .steps
        .iter()
        .map(|s| s.after.iter().filter_map(|a| index.get(a.as_str()).copied()).collect())
        .collect();
    for b in &t.branches {
        let Some(&trigger) = index.get(b.trigger.as_str()) else { continue };
        let members: Vec<usize> =
            (0..t.steps.len()).filter(|&i| t.steps[i].branch.as_deref() == Some(b.id.as_str())).collect();
        for &m in &members {
            if t.steps[m].after.is_empty() {
                preds[m].push(trigger);
            }
        }
        if let Some(&rejoin) = b.rejoin.as_ref().and_then(|r| index.get(r.as_str())) {
            // The branch's last steps: members no other member waits for.
            for &m in &members {
                let last = !members.iter().any(|&o| t.steps[o].after.iter().any(|a| *a == t.steps[m].id));
                if last {
                    preds[rejoin].push(m);
                }
            }
        }
    }
    for p in &mut preds {
        p.sort_unstable();
        p.dedup();
    }
    preds
}

/// A dependency cycle as step ids (first repeated at the end), if any.
fn find_cycle(t: &Template) -> Option<Vec<String>> {
    let preds = predecessors(t);
    let n = preds.len();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; n];
    let mut stack: Vec<usize> = Vec::new();
    fn dfs(v: usize, preds: &[Vec<usize>], state: &mut [u8], stack: &mut Vec<usize>) -> Option<Vec<usize>> {
        state[v] = 1;
        stack.push(v);
        for &p in &preds[v] {
            if state[p] == 1 {
                let from = stack.iter().position(|&x| x == p).expect("on stack");
                let mut cycle: Vec<usize> = stack[from..].to_vec();
                cycle.reverse();
                cycle.push(cycle[0]);
                return Some(cycle);
            }
            if state[p] == 0
                && let Some(c) = dfs(p, preds, state, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        state[v] = 2;
        None
    }
    // Start from the steps the last file defined, so an edit's cycle is reported at the edit.
    let current = t.files.last().map(String::as_str).unwrap_or("");
    let mut starts: Vec<usize> = (0..n).collect();
    starts.sort_by_key(|&i| t.steps[i].file != current);
    for v in starts {
        if state[v] == 0
            && let Some(c) = dfs(v, &preds, &mut state, &mut stack)
        {
            // Predecessor edges walked backwards: reverse to read in execution order, then
            // begin at a step of the last file when there is one.
            let mut c: Vec<usize> = c.into_iter().rev().collect();
            c.pop();
            if let Some(k) = c.iter().position(|&i| t.steps[i].file == current) {
                c.rotate_left(k);
            }
            c.push(c[0]);
            return Some(c.into_iter().map(|i| t.steps[i].id.clone()).collect());
        }
    }
    None
}

/// Loaded templates: shipped defaults, complete templates of a jurisdiction, and edits.
#[derive(Debug, Clone, Default)]
pub struct TemplateSet {
    base: BTreeMap<String, Template>,
    /// Jurisdiction edits by template id, most specific (longest code) first.
    variants: BTreeMap<String, Vec<Template>>,
}

impl TemplateSet {
    /// No templates.
    pub fn empty() -> TemplateSet {
        TemplateSet::default()
    }

    /// The shipped defaults ([`SHIPPED`]).
    pub fn shipped() -> TemplateSet {
        let mut set = TemplateSet::empty();
        for (file, text) in SHIPPED {
            if let Err(e) = set.load(file, text) {
                // The shipped files are covered by tests; reaching this is a build defect.
                panic!("shipped template {file} is invalid: {e}");
            }
        }
        set
    }

    /// Loads a template file: a complete template, or an edit that `extends` a loaded one.
    /// Returns the resulting template's key. Nothing changes when it fails.
    pub fn load(&mut self, file: &str, text: &str) -> Result<String, Invalid> {
        let raw = parse_raw(file, text)?;
        let mut problems = Vec::new();
        let jurisdiction = match raw.jurisdiction.as_deref().map(UnitCode::parse) {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(_)) => {
                problems.push(Problem::new(
                    "jurisdiction",
                    "管辖区应为区划代码（2、4、6、9 或 12 位数字）",
                    "jurisdiction must be a division code (2, 4, 6, 9 or 12 digits)",
                ));
                None
            }
        };
        let mut t = match &raw.extends {
            Some(base_id) => {
                let Some(base) = self.base.get(base_id) else {
                    return Err(Invalid::one(
                        file,
                        Problem::new(
                            "extends",
                            format!("要修改的模板“{base_id}”未加载"),
                            format!("extends unknown template \"{base_id}\""),
                        ),
                    ));
                };
                if raw.id.as_ref().is_some_and(|id| id != base_id) {
                    problems.push(Problem::new(
                        "id",
                        "修改文件的 id 须与 extends 相同或省略",
                        "an edit's `id` must equal `extends` or be left out",
                    ));
                }
                let mut t = base.clone();
                t.files.push(file.to_owned());
                t.jurisdiction = jurisdiction.clone();
                merge_file(&mut t, &raw, text, true, &mut problems);
                t
            }
            None => {
                let id = raw.id.clone().unwrap_or_default();
                if id.trim().is_empty() {
                    problems.push(Problem::new("id", "缺少模板 id", "missing template `id`"));
                } else if self.base.contains_key(&id) && jurisdiction.is_none() {
                    problems.push(Problem::new(
                        "id",
                        format!("模板“{id}”已加载；修改请用 extends = \"{id}\""),
                        format!("template \"{id}\" is already loaded; edit it with extends = \"{id}\""),
                    ));
                }
                let mut t = Template {
                    zh: raw.zh.clone().unwrap_or_else(|| id.clone()),
                    en: raw.en.clone().unwrap_or_else(|| id.clone()),
                    id,
                    version: raw.version.clone().unwrap_or_default(),
                    jurisdiction: jurisdiction.clone(),
                    calendar: Calendar::default(),
                    steps: Vec::new(),
                    branches: Vec::new(),
                    files: vec![file.to_owned()],
                };
                merge_file(&mut t, &raw, text, false, &mut problems);
                t
            }
        };
        if problems.is_empty() {
            problems = validate(&t);
        }
        Invalid::check(file, problems)?;
        t.steps.shrink_to_fit();
        let key = t.key();
        match t.jurisdiction.clone() {
            None => {
                self.base.insert(t.id.clone(), t);
            }
            Some(j) => {
                let list = self.variants.entry(t.id.clone()).or_default();
                list.retain(|v| v.jurisdiction.as_ref() != Some(&j));
                list.push(t);
                list.sort_by_key(|v| std::cmp::Reverse(v.jurisdiction.as_ref().map(|c| c.as_str().len())));
            }
        }
        Ok(key)
    }

    /// The template everywhere (without jurisdiction edits).
    pub fn get(&self, id: &str) -> Option<&Template> {
        self.base.get(id)
    }

    /// The template that applies to `unit`: the most specific jurisdiction edit whose
    /// code contains the unit, else the template itself.
    pub fn for_unit(&self, id: &str, unit: &UnitCode) -> Option<&Template> {
        self.variants
            .get(id)
            .and_then(|vs| vs.iter().find(|v| v.jurisdiction.as_ref().is_some_and(|j| j.contains(unit))))
            .or_else(|| self.base.get(id))
    }

    pub fn contains(&self, id: &str) -> bool {
        self.base.contains_key(id)
    }

    /// Template ids, sorted.
    pub fn ids(&self) -> Vec<&str> {
        self.base.keys().map(String::as_str).collect()
    }

    /// Every template and every jurisdiction edit.
    pub fn all(&self) -> impl Iterator<Item = &Template> {
        self.base.values().chain(self.variants.values().flatten())
    }
}
