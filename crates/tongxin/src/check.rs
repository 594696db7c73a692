//! `tongxin check FILE`: pre-checks planned demands (CSV, XLSX or JSON, the columns of
//! `tongxin import demands`) against the ledger of `--db` and the rule set, writing nothing.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use tongxin_burden::Precheck;
use tongxin_rules::{RuleSet, Severity};
use tongxin_store::Store;

/// Loads a rule set: a jurisdiction file (`extends = "national"` or complete), or the
/// shipped national set.
pub fn rules(file: Option<&Path>) -> Result<RuleSet> {
    match file {
        None => Ok(RuleSet::national()),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            let name = path.display().to_string();
            RuleSet::load(&name, &text).map_err(|e| anyhow!("{e}"))
        }
    }
}

/// Runs the check; fails (exit status 1) when a planned demand breaks a rule of severity
/// `violation`, so scripts can stop a plan before it is registered.
pub async fn run(store: &dyn Store, file: &Path, rule_file: Option<&Path>, json: bool) -> Result<()> {
    let rules = rules(rule_file)?;
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let table = tongxin_transfer::read_table(&name, &bytes).map_err(|e| anyhow!("{e}"))?;
    let refs = tongxin_transfer::references(&table, tongxin_transfer::Entity::Demands);
    let known = crate::commands::known(store, &refs).await?;
    let planned = match tongxin_transfer::import_demands(&table, &known) {
        Ok(d) => d,
        Err(errors) => bail!("{name}: nothing was checked.\n{errors}"),
    };
    let engine = tongxin_server::burden::load_engine(store, rules).await?;
    let mut reports: Vec<(usize, &tongxin_domain::Demand, Precheck)> = Vec::with_capacity(planned.len());
    for (i, d) in planned.iter().enumerate() {
        let report = engine.precheck(d).map_err(|e| anyhow!("{name}: row {}: {e}", i + 2))?;
        reports.push((i, d, report));
    }
    let violations = reports
        .iter()
        .filter(|(_, _, r)| r.findings.iter().any(|f| f.severity == Severity::Violation))
        .count();
    if json {
        let out: Vec<serde_json::Value> = reports
            .iter()
            .map(|(i, d, r)| serde_json::json!({ "row": i + 2, "id": d.id, "title": d.title, "report": r }))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (i, d, r) in &reports {
            print_report(&engine, *i, d, r);
        }
        println!(
            "{} planned demands checked against {} demands in the ledger: {} break a rule (violation), {} only draw warnings.",
            reports.len(),
            engine.demand_count(),
            violations,
            reports.iter().filter(|(_, _, r)| !r.findings.is_empty()).count() - violations
        );
    }
    if violations > 0 {
        bail!("{violations} of {} planned demands break a burden-reduction rule", reports.len());
    }
    Ok(())
}

fn print_report(engine: &tongxin_burden::Engine, i: usize, d: &tongxin_domain::Demand, r: &Precheck) {
    println!("row {} · {} · {} {}", i + 2, d.title, d.kind.zh(), d.starts_at.format("%Y-%m-%d"));
    if r.findings.is_empty() {
        println!("  no rule broken (未发现违反减负规则)");
    }
    for f in &r.findings {
        let explanation = engine.rules().get(&f.rule).map(|x| x.explanation.zh.as_str()).unwrap_or("");
        println!("  [{}] {}: {} / {}", f.severity.as_str(), f.rule, f.evidence.zh, f.evidence.en);
        if !explanation.is_empty() {
            println!("      {explanation}");
        }
        let others: Vec<String> = f
            .demands
            .iter()
            .filter(|id| **id != d.id)
            .filter_map(|id| engine.demand_title(*id))
            .map(str::to_owned)
            .take(5)
            .collect();
        if !others.is_empty() {
            println!("      with: {}", others.join("; "));
        }
    }
    for m in &r.merge_candidates {
        println!("  merge with: {} ({}, {}) [{}]", m.title, m.source, m.starts_at.format("%Y-%m-%d"), m.rule);
    }
    for a in &r.added {
        println!(
            "  adds to {} {}: {:.1} cadre-hours, hours per cadre this month {:.2} → {:.2}",
            a.unit,
            a.name,
            a.added.cadre_hours(),
            a.hours_per_cadre_before,
            a.hours_per_cadre_after
        );
    }
}
