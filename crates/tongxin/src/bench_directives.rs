//! `tongxin bench directives`: a directive with 1,000 target units, a 20-step template
//! with 3 risky branches and 10,000 Monte Carlo runs per task: the full check time (target
//! ≤ 1 s on a 2-core machine), then conflict detection against 1,000 active directives.
//! Everything is generated in memory from a fixed seed; nothing is written.

use std::time::Instant;

use anyhow::{Result, anyhow};
use tongxin_directives::workload::{active, draft, template_text, units};
use tongxin_directives::{CheckOptions, ConflictKind, Simulation, TemplateSet, UnitIndex};

#[derive(Debug, clap::Args)]
pub struct DirectivesBenchArgs {
    /// Target units of the draft (villages, 10 per township, 10 townships per county).
    #[arg(long, default_value_t = 1_000)]
    pub units: usize,
    /// Monte Carlo runs per simulation.
    #[arg(long, default_value_t = 10_000)]
    pub samples: u32,
    /// Active directives to check the draft against.
    #[arg(long, default_value_t = 1_000)]
    pub active: usize,
    /// Repetitions of each measurement (the median is printed).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut secs = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        let out = f()?;
        secs.push(t.elapsed().as_secs_f64());
        last = Some(out);
    }
    Ok((median(secs), last.expect("at least one run")))
}

pub async fn run(args: DirectivesBenchArgs) -> Result<()> {
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!(
            "machine: {} cores, load average {}",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
        );
    }
    let text = template_text();
    let (load_secs, templates) = time(args.runs, || {
        let mut set = TemplateSet::shipped();
        set.load("bench20.toml", &text).map_err(|e| anyhow!("{e}"))?;
        Ok(set)
    })?;
    let t = templates.get("bench20").expect("loaded");
    println!(
        "template: {} steps on the main line, {} risky branches ({} steps in all); shipped templates + this one loaded in {:.1} ms",
        t.steps.iter().filter(|s| s.branch.is_none()).count(),
        t.branches.len(),
        t.steps.len(),
        load_secs * 1e3
    );
    let index = UnitIndex::new(units(args.units));
    let counties = args.units.div_ceil(100);
    let d = draft();
    let opts = CheckOptions { samples: args.samples, ..CheckOptions::default() };

    let (sim_secs, _) = time(args.runs, || {
        Ok(Simulation::run(t, d.issued_on, args.samples, opts.seed).assess(d.tasks[0].deadline))
    })?;
    println!("one simulation: {} runs in {:.1} ms", args.samples, sim_secs * 1e3);

    let (full_secs, report) = time(args.runs, || {
        tongxin_directives::check("bench", &d, &[], &index, &templates, &opts).map_err(|e| anyhow!("{e}"))
    })?;
    let f = &report.tasks[0].groups[0].feasibility;
    println!(
        "full check, {} target units, {} runs per simulation: {:.1} ms (median of {}; target ≤ 1000 ms) — {} simulation(s) shared by all units; verdict {}, P(on time) {:.1}%, 80% deadline {}",
        report.tasks[0].unit_count,
        args.samples,
        full_secs * 1e3,
        args.runs,
        report.simulations,
        f.verdict.as_str(),
        f.probability * 100.0,
        f.deadline_p80
    );
    println!(
        "  burden: {:.0} cadre-hours and {:.0} visits over {} units and {} weeks, rolled up to {} ancestors",
        report.burden.total_cadre_hours,
        report.burden.total_visits,
        report.burden.units.len(),
        report.burden.weeks.len(),
        report.burden.rollup.len()
    );

    let act = active(args.active, counties, 6);
    let (with_secs, report) = time(args.runs, || {
        tongxin_directives::check("bench", &d, &act, &index, &templates, &opts).map_err(|e| anyhow!("{e}"))
    })?;
    let count = |k: ConflictKind| report.conflicts.iter().filter(|c| c.kind == k).count();
    println!(
        "full check against {} active directives: {:.1} ms, so conflict detection adds {:.1} ms — findings: {} contradictions, {} deadline collisions, {} over-capacity groups",
        report.active_compared,
        with_secs * 1e3,
        (with_secs - full_secs) * 1e3,
        count(ConflictKind::Contradiction),
        count(ConflictKind::DeadlineCollision),
        count(ConflictKind::OverCapacity)
    );
    Ok(())
}
