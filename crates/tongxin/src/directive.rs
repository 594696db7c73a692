//! `tongxin directive check FILE`: the pre-issuance check of a directive in TOML or JSON —
//! per task and unit the critical path, earliest completion, probability of meeting the
//! deadline, the step that breaks it and the 80% deadline; conflicts among the file's own
//! tasks (and with `--active` files); the burden it adds. Writes nothing. Exits with
//! status 1 when a task is infeasible or a conflict must be resolved.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use tongxin_directives::{CheckOptions, CheckReport, Directive, TemplateSet, UnitIndex, Verdict};

#[derive(Debug, clap::Subcommand)]
pub enum DirectiveCommand {
    /// Check a directive file (TOML, or JSON by the `.json` extension) before issuance.
    Check(CheckArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The directive file.
    pub file: PathBuf,
    /// A process template file: a jurisdiction's edit (`extends = "road"`) or a new
    /// template (repeatable; loaded in order after the shipped defaults).
    #[arg(long = "template", value_name = "FILE")]
    pub templates: Vec<PathBuf>,
    /// An active directive to check against (repeatable).
    #[arg(long = "active", value_name = "FILE")]
    pub active: Vec<PathBuf>,
    /// Monte Carlo seed: the same seed gives the same figures.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// Monte Carlo runs per simulation.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=200_000))]
    pub samples: u32,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: DirectiveCommand) -> Result<()> {
    match command {
        DirectiveCommand::Check(args) => check(&args),
    }
}

fn read(path: &Path) -> Result<(String, String)> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok((path.display().to_string(), text))
}

fn read_directive(path: &Path) -> Result<Directive> {
    let (name, text) = read(path)?;
    Directive::parse(&name, &text).map_err(|e| anyhow!("{e}"))
}

/// The units of every province the directives name, from the vendored division list.
fn units_for(directives: &[&Directive]) -> Result<UnitIndex> {
    let provinces: BTreeSet<String> = directives
        .iter()
        .flat_map(|d| &d.tasks)
        .flat_map(|t| t.targets.units.iter().chain(&t.targets.under))
        .map(|c| c.province().to_owned())
        .collect();
    let mut units = Vec::new();
    for p in &provinces {
        units.extend(tongxin_divisions::load(Some(p)).map_err(|e| anyhow!("units of province {p}: {e}"))?);
    }
    Ok(UnitIndex::new(units))
}

fn check(args: &CheckArgs) -> Result<()> {
    let mut templates = TemplateSet::shipped();
    for path in &args.templates {
        let (name, text) = read(path)?;
        templates.load(&name, &text).map_err(|e| anyhow!("{e}"))?;
    }
    let draft = read_directive(&args.file)?;
    let active: Vec<Directive> = args.active.iter().map(|p| read_directive(p)).collect::<Result<_>>()?;
    let all: Vec<&Directive> = std::iter::once(&draft).chain(&active).collect();
    let units = units_for(&all)?;
    let opts = CheckOptions { seed: args.seed, samples: args.samples, ..CheckOptions::default() };
    let name = args.file.display().to_string();
    let report = tongxin_directives::check(&name, &draft, &active, &units, &templates, &opts)
        .map_err(|e| anyhow!("{e}"))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print(&report);
    }
    if report.blocks_issuance() {
        bail!(
            "{name}: {} infeasible task(s), {} conflict(s) to resolve before issuance (不宜印发)",
            report.infeasible_tasks(),
            report.blocking_conflicts()
        );
    }
    Ok(())
}

fn codes(units: &[tongxin_domain::UnitCode]) -> String {
    let mut s: Vec<&str> = units.iter().take(5).map(|c| c.as_str()).collect();
    if units.len() > 5 {
        s.push("…");
    }
    s.join(", ")
}

fn print(r: &CheckReport) {
    println!(
        "《{}》 ({}) · 印发 issued {} · {} 项任务 tasks",
        r.title,
        r.directive,
        r.issued_on,
        r.tasks.len()
    );
    for t in &r.tasks {
        println!();
        println!(
            "任务 task {} · {} · 模板 template {} · 期限 deadline {} · {} 个单位 units",
            t.task, t.title, t.template, t.deadline, t.unit_count
        );
        for g in &t.groups {
            let f = &g.feasibility;
            let v = match f.verdict {
                Verdict::Infeasible => "不可行 INFEASIBLE",
                Verdict::AtRisk => "有风险 AT RISK",
                Verdict::Feasible => "可行 feasible",
            };
            println!(
                "  [{v}] {} 个单位 units ({}) · template {}",
                g.units.len(),
                codes(&g.units),
                f.template
            );
            println!(
                "    最早完成 earliest {} ({} days) · 典型 typical {} · 按期概率 P(on time) {:.1}% ({} runs, seed {}) · 80% 把握期限 deadline at 80% {}",
                f.earliest,
                f.earliest_days,
                f.typical,
                f.probability * 100.0,
                f.samples,
                f.seed,
                f.deadline_p80
            );
            println!("    关键路径 critical path:");
            for s in &f.critical_path {
                println!(
                    "      {} → {}  {:<26} {} {}{}",
                    s.start,
                    s.done,
                    s.id,
                    s.days,
                    s.kind.en(),
                    if s.statutory { "  [法定 statutory]" } else { "" }
                );
            }
            if let Some(b) = &f.breaking_step {
                println!(
                    "    越过期限的步骤 breaking step: {} {} / {} ({:.0}%)",
                    b.step,
                    b.zh,
                    b.en,
                    b.share * 100.0
                );
            }
            for b in &f.branches {
                println!(
                    "    风险分支 branch {} ({:.1}%): {} → earliest {}",
                    b.id,
                    b.probability * 100.0,
                    b.zh,
                    b.earliest_if_fired
                );
            }
            println!("    {}", f.reason.zh);
            println!("    {}", f.reason.en);
        }
        if !t.unverified.is_empty() {
            println!("  未核对法条原文的法定数字 statutory figures not checked against the statute's text:");
            for u in &t.unverified {
                println!("    {} {} / {} [{}]: {}", u.step, u.zh, u.en, u.verified.as_str(), u.source);
                println!("      {} / {}", u.verified.zh(), u.verified.en());
            }
        }
        let res = &t.resources;
        println!(
            "  每单位 per unit: {} 干部工时 cadre-hours, {} 次检查指导 visits, ¥{:.0}{}",
            res.cadre_hours,
            res.visits,
            res.money_yuan,
            if res.presumes.is_empty() {
                String::new()
            } else {
                format!(" · 需具备 presumes: {}", res.presumes.join("、"))
            }
        );
    }
    println!();
    println!(
        "冲突 conflicts: {} (对照 {} 份有效文件 active directives compared)",
        r.conflicts.len(),
        r.active_compared
    );
    for c in &r.conflicts {
        let sev = match c.severity {
            tongxin_directives::Severity::Conflict => "冲突 conflict",
            tongxin_directives::Severity::Warning => "提示 warning",
        };
        println!(
            "  [{sev}] {} / {}: {} units ({})",
            c.kind.zh(),
            c.kind.en(),
            c.units.len(),
            codes(&c.units)
        );
        println!("    {}", c.reason.zh);
        println!("    {}", c.reason.en);
    }
    let b = &r.burden;
    println!();
    println!(
        "新增负担 burden added: {:.0} 干部工时 cadre-hours, {:.1} 次检查指导 visits, {} 个单位 units, {} 周 weeks",
        b.total_cadre_hours,
        b.total_visits,
        b.units.len(),
        b.weeks.len()
    );
    for u in b.units.iter().take(5) {
        println!(
            "  {} {}: {:.0} h, {:.1} visits, heaviest week {:.1} h per cadre ({} cadres)",
            u.code, u.name, u.cadre_hours, u.visits, u.peak_hours_per_cadre, u.cadres
        );
    }
    if b.units.len() > 5 {
        println!("  … {} more units (--json for all)", b.units.len() - 5);
    }
    for a in b.rollup.iter().take(12) {
        println!(
            "  汇总 rollup {} {} ({}): {} target units, {:.0} h, {:.1} visits, peak week {} {:.0} h",
            a.code,
            a.name,
            a.level.zh(),
            a.target_units,
            a.cadre_hours,
            a.visits,
            a.peak_week,
            a.peak_week_cadre_hours
        );
    }
    if b.rollup.len() > 12 {
        println!("  … {} more (--json for all)", b.rollup.len() - 12);
    }
}
