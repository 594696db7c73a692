//! Directives (上级文件/部署) and their tasks, as drafted by an upper-level body.
//!
//! A directive file is TOML or JSON:
//!
//! ```toml
//! id = "2026-road-01"
//! issuing_body = "福州市交通运输局"     # the body's id (UUID text) or name
//! title = "关于加快建设某某公路的通知"
//! summary = "三个月内建成通车"
//! status = "draft"                       # draft | consulting | issued | withdrawn
//! issued_on = 2026-03-02
//!
//! [[task]]
//! id = "build"
//! title = "建成某某公路"
//! template = "road"
//! deadline = 2026-06-01
//! targets = { units = ["350121"] }       # or { level = "village", under = "350121" }
//! resources = { cadre_hours = 400, visits = 6, money_yuan = 3e7, presumes = ["征收决定权"] }
//! requirements = [
//!   { kind = "do_by", action = "road_open", by = 2026-06-01 },
//!   { kind = "keep_below", quantity = "petitions", limit = 3 },
//! ]
//! ```

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tongxin_domain::{Level, Unit, UnitCode};

use crate::error::{Invalid, Problem};
use crate::template::TemplateSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Draft,
    /// Open for the executors' consultation before issuance.
    Consulting,
    Issued,
    Withdrawn,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Consulting => "consulting",
            Status::Issued => "issued",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn zh(self) -> &'static str {
        match self {
            Status::Draft => "草稿",
            Status::Consulting => "征求意见中",
            Status::Issued => "已印发",
            Status::Withdrawn => "已撤回",
        }
    }

    /// Whether other drafts are checked against it: issued, or about to be (consulting).
    pub fn is_active(self) -> bool {
        matches!(self, Status::Issued | Status::Consulting)
    }
}

/// A directive and its tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directive {
    /// Stable identifier (UUID text once stored; any short code in a file).
    pub id: String,
    /// The issuing body: its id (UUID text) or, in a file checked offline, its name.
    pub issuing_body: String,
    pub title: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub status: Status,
    /// The (planned) issue date: every schedule starts here.
    #[serde(with = "crate::day")]
    pub issued_on: NaiveDate,
    /// `[[task]]` in TOML, `tasks` in JSON.
    #[serde(alias = "task")]
    pub tasks: Vec<Task>,
}

/// One task of a directive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Unique within the directive.
    pub id: String,
    pub title: String,
    pub targets: Targets,
    #[serde(with = "crate::day")]
    pub deadline: NaiveDate,
    /// The process template id (see [`crate::template::TemplateSet`]).
    pub template: String,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default, alias = "requirement")]
    pub requirements: Vec<Requirement>,
}

/// The units a task applies to: explicit codes, all units of `level` under `under`, or
/// both (the union).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    #[serde(default)]
    pub units: Vec<UnitCode>,
    #[serde(default)]
    pub level: Option<Level>,
    #[serde(default)]
    pub under: Option<UnitCode>,
}

/// What a task needs at each target unit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Cadre-hours each target unit spends on the task between issue and deadline.
    #[serde(default)]
    pub cadre_hours: f64,
    /// Upper-level visits (inspections, guidance) each target unit receives for it.
    #[serde(default)]
    pub visits: u32,
    /// Money each unit needs, in yuan (informational).
    #[serde(default)]
    pub money_yuan: f64,
    /// Tools or authority the task presumes the unit has (e.g. "征收决定权", "执法权").
    #[serde(default)]
    pub presumes: Vec<String>,
}

/// A typed requirement, precise enough to find contradictions. `action` and `quantity`
/// are shared vocabulary codes compared without case or surrounding spaces (e.g.
/// `"demolition"`, `"拆除"`, `"straw_burning_points"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Requirement {
    /// Finish `action` by `by`.
    DoBy {
        action: String,
        #[serde(with = "crate::day")]
        by: NaiveDate,
    },
    /// Must not start `action` before `before`.
    MustNotBefore {
        action: String,
        #[serde(with = "crate::day")]
        before: NaiveDate,
    },
    /// Must not do `action` at all.
    Forbid { action: String },
    /// Keep `quantity` below `limit`.
    KeepBelow { quantity: String, limit: f64 },
    /// Raise or keep `quantity` above `limit`.
    KeepAbove { quantity: String, limit: f64 },
}

impl Requirement {
    /// The normalized action or quantity it is about.
    pub fn subject(&self) -> String {
        let s = match self {
            Requirement::DoBy { action, .. }
            | Requirement::MustNotBefore { action, .. }
            | Requirement::Forbid { action } => action,
            Requirement::KeepBelow { quantity, .. } | Requirement::KeepAbove { quantity, .. } => quantity,
        };
        normalize(s)
    }

    pub fn describe_zh(&self) -> String {
        match self {
            Requirement::DoBy { action, by } => format!("{by} 前完成“{action}”"),
            Requirement::MustNotBefore { action, before } => format!("{before} 前不得开始“{action}”"),
            Requirement::Forbid { action } => format!("不得“{action}”"),
            Requirement::KeepBelow { quantity, limit } => format!("“{quantity}”须低于 {limit}"),
            Requirement::KeepAbove { quantity, limit } => format!("“{quantity}”须高于 {limit}"),
        }
    }

    pub fn describe_en(&self) -> String {
        match self {
            Requirement::DoBy { action, by } => format!("finish \"{action}\" by {by}"),
            Requirement::MustNotBefore { action, before } => {
                format!("must not start \"{action}\" before {before}")
            }
            Requirement::Forbid { action } => format!("must not \"{action}\""),
            Requirement::KeepBelow { quantity, limit } => format!("keep \"{quantity}\" below {limit}"),
            Requirement::KeepAbove { quantity, limit } => format!("keep \"{quantity}\" above {limit}"),
        }
    }
}

pub(crate) fn normalize(s: &str) -> String {
    s.trim().to_lowercase()
}

impl Directive {
    /// Reads a directive from TOML text; errors name the line and field.
    pub fn from_toml(file: &str, text: &str) -> Result<Directive, Invalid> {
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!("line {}", text[..s.start.min(text.len())].matches('\n').count() + 1))
                .unwrap_or_else(|| "TOML".into());
            let msg = e.message().to_owned();
            Invalid::one(file, Problem::new(at, format!("TOML 有误：{msg}"), format!("bad TOML: {msg}")))
        })
    }

    /// Reads a directive from JSON text; errors name the line and field.
    pub fn from_json(file: &str, text: &str) -> Result<Directive, Invalid> {
        serde_json::from_str(text).map_err(|e| {
            let msg = e.to_string();
            Invalid::one(
                file,
                Problem::new(
                    format!("line {}", e.line()),
                    format!("JSON 有误：{msg}"),
                    format!("bad JSON: {msg}"),
                ),
            )
        })
    }

    /// Reads TOML or JSON by the file name's extension (`.json` → JSON, else TOML).
    pub fn parse(file: &str, text: &str) -> Result<Directive, Invalid> {
        if file.to_lowercase().ends_with(".json") {
            Directive::from_json(file, text)
        } else {
            Directive::from_toml(file, text)
        }
    }

    /// Checks everything that does not need the units list: fields, dates, templates.
    pub fn validate(&self, file: &str, templates: &TemplateSet) -> Result<(), Invalid> {
        let mut p = Vec::new();
        if self.id.trim().is_empty() {
            p.push(Problem::new("id", "文件编号不能为空", "`id` must not be empty"));
        }
        if self.title.trim().is_empty() {
            p.push(Problem::new("title", "标题不能为空", "`title` must not be empty"));
        }
        if self.issuing_body.trim().is_empty() {
            p.push(Problem::new("issuing_body", "发文机关不能为空", "`issuing_body` must not be empty"));
        }
        if self.tasks.is_empty() {
            p.push(Problem::new("tasks", "至少要有一项任务", "a directive needs at least one task"));
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, t) in self.tasks.iter().enumerate() {
            let at = |field: &str| task_at(t, i, field);
            if t.id.trim().is_empty() {
                p.push(Problem::new(at("id"), "任务 id 不能为空", "a task id must not be empty"));
            } else if let Some(first) = seen.insert(t.id.as_str(), i) {
                p.push(Problem::new(
                    at("id"),
                    format!("任务 id 与 task[{first}] 重复"),
                    format!("duplicate task id (also task[{first}])"),
                ));
            }
            if t.title.trim().is_empty() {
                p.push(Problem::new(at("title"), "任务标题不能为空", "a task title must not be empty"));
            }
            if t.deadline < self.issued_on {
                p.push(Problem::new(
                    at("deadline"),
                    format!("期限 {} 早于印发日期 {}", t.deadline, self.issued_on),
                    format!("deadline {} is before the issue date {}", t.deadline, self.issued_on),
                ));
            }
            if !templates.contains(&t.template) {
                p.push(Problem::new(
                    at("template"),
                    format!("未知流程模板“{}”（可用：{}）", t.template, templates.ids().join("、")),
                    format!("unknown template \"{}\" (known: {})", t.template, templates.ids().join(", ")),
                ));
            }
            if t.targets.units.is_empty() && t.targets.level.is_none() && t.targets.under.is_none() {
                p.push(Problem::new(
                    at("targets"),
                    "目标单位为空：请列出单位代码，或给出 level 与 under",
                    "no target units: list unit codes, or give `level` and `under`",
                ));
            }
            if t.targets.level.is_some() != t.targets.under.is_some() {
                p.push(Problem::new(
                    at("targets"),
                    "level 与 under 须同时给出（“某单位下某一级的全部单位”）",
                    "`level` and `under` go together (\"all units of level L under U\")",
                ));
            }
            if let (Some(l), Some(u)) = (t.targets.level, &t.targets.under)
                && l <= u.level()
            {
                p.push(Problem::new(
                    at("targets"),
                    format!("{} 下没有{}单位", u, l.zh()),
                    format!("there is no {} unit under {}", l.en(), u),
                ));
            }
            let r = &t.resources;
            if !(r.cadre_hours.is_finite() && r.cadre_hours >= 0.0) {
                p.push(Problem::new(
                    at("resources.cadre_hours"),
                    "干部工时应为非负数",
                    "must be a non-negative number",
                ));
            }
            if !(r.money_yuan.is_finite() && r.money_yuan >= 0.0) {
                p.push(Problem::new(
                    at("resources.money_yuan"),
                    "金额应为非负数",
                    "must be a non-negative number",
                ));
            }
            for (k, req) in t.requirements.iter().enumerate() {
                let rat = at(&format!("requirements[{k}]"));
                if req.subject().is_empty() {
                    p.push(Problem::new(&rat, "要求须写明事项", "the action or quantity must not be empty"));
                }
                match req {
                    Requirement::KeepBelow { limit, .. } | Requirement::KeepAbove { limit, .. }
                        if !limit.is_finite() =>
                    {
                        p.push(Problem::new(&rat, "限值应为有限数", "the limit must be a finite number"))
                    }
                    Requirement::DoBy { by, .. } if *by < self.issued_on => p.push(Problem::new(
                        &rat,
                        format!("完成日期 {by} 早于印发日期"),
                        format!("date {by} is before the issue date"),
                    )),
                    _ => {}
                }
            }
        }
        Invalid::check(file, p)
    }
}

pub(crate) fn task_at(t: &Task, i: usize, field: &str) -> String {
    format!("task \"{}\" (task[{i}]).{field}", t.id)
}

/// The units list, indexed: codes sorted, for subtree ranges and lookups.
#[derive(Debug, Clone)]
pub struct UnitIndex {
    units: Vec<Unit>,
    by_code: HashMap<UnitCode, usize>,
}

impl UnitIndex {
    pub fn new(mut units: Vec<Unit>) -> UnitIndex {
        units.sort_by(|a, b| a.code.cmp(&b.code));
        units.dedup_by(|a, b| a.code == b.code);
        let by_code = units.iter().enumerate().map(|(i, u)| (u.code.clone(), i)).collect();
        UnitIndex { units, by_code }
    }

    pub fn units(&self) -> &[Unit] {
        &self.units
    }

    pub fn get(&self, i: usize) -> &Unit {
        &self.units[i]
    }

    pub fn find(&self, code: &UnitCode) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Indices of the units of `level` in `under`'s subtree.
    pub fn below(&self, under: &UnitCode, level: Level) -> Vec<usize> {
        let (lo, hi) = under.descendant_range();
        let start = self.units.partition_point(|u| u.code.as_str() < lo.as_str());
        let end = self.units.partition_point(|u| u.code.as_str() < hi.as_str());
        (start..end).filter(|&i| self.units[i].level() == level).collect()
    }

    /// A task's target units as sorted indices. `strict`: unknown codes and empty
    /// selections are errors (for the draft); otherwise they are skipped (for directives
    /// already stored).
    pub fn resolve(&self, t: &Task, i: usize, strict: bool) -> Result<Vec<usize>, Problem> {
        let mut out: HashSet<usize> = HashSet::new();
        for c in &t.targets.units {
            match self.find(c) {
                Some(k) => {
                    out.insert(k);
                }
                None if strict => {
                    return Err(Problem::new(
                        task_at(t, i, "targets.units"),
                        format!("单位代码 {c} 不在单位名录中"),
                        format!("unit {c} is not in the units list"),
                    ));
                }
                None => {}
            }
        }
        if let (Some(level), Some(under)) = (t.targets.level, &t.targets.under) {
            let below = self.below(under, level);
            if below.is_empty() && strict {
                return Err(Problem::new(
                    task_at(t, i, "targets"),
                    format!("单位名录中 {under} 下没有{}单位", level.zh()),
                    format!("the units list has no {} unit under {under}", level.en()),
                ));
            }
            out.extend(below);
        }
        if out.is_empty() && strict {
            return Err(Problem::new(task_at(t, i, "targets"), "目标单位为空", "the target set is empty"));
        }
        let mut v: Vec<usize> = out.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }
}
