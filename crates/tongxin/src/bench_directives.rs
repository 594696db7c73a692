//! `tongxin bench directives`: a directive with 1,000 target units, a 20-step template
//! with 3 risky branches and 10,000 Monte Carlo runs per task: the full check time (target
//! ≤ 1 s on a 2-core machine), then conflict detection against 1,000 active directives.
//! Everything is generated in memory from a fixed seed; nothing is written.

use std::time::Instant;

use anyhow::{Result, anyhow};
use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use tongxin_directives::{
    CheckOptions, ConflictKind, Directive, Requirement, Resources, Simulation, Status, Targets, Task,
    TemplateSet, UnitIndex,
};
use tongxin_domain::{Level, Unit, UnitCode};

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

/// A 20-step template with 3 risky branches (two statutory periods, some working-day steps).
fn template_text() -> String {
    let mut s = String::from("id = \"bench20\"\nzh = \"基准模板\"\nen = \"benchmark template\"\n");
    for i in 0..20 {
        let min = 2 + (i * 7) % 11;
        let typ = min + 3 + (i * 5) % 17;
        let max = typ + 10 + (i * 3) % 20;
        s += &format!(
            "[[step]]\nid = \"s{i:02}\"\nzh = \"步骤{i}\"\nmin = {min}\ntypical = {typ}\nmax = {max}\nsource = \"本地默认 / local default\"\n"
        );
        match i {
            0 => {}
            // Two parallel lanes that merge every fifth step.
            _ if i % 5 == 0 => s += &format!("after = [\"s{:02}\", \"s{:02}\"]\n", i - 1, i - 2),
            1 => s += "after = [\"s00\"]\n",
            _ => s += &format!("after = [\"s{:02}\"]\n", i - 2),
        }
        if i % 4 == 3 {
            s += "days = \"working\"\n";
        }
    }
    for (b, (trigger, rejoin, p)) in
        [("s04", "s10", 0.3), ("s09", "s15", 0.2), ("s14", "s19", 0.1)].iter().enumerate()
    {
        s += &format!(
            "[[branch]]\nid = \"r{b}\"\nprobability = {p}\ntrigger = \"{trigger}\"\nrejoin = \"{rejoin}\"\nsource = \"本地默认\"\n"
        );
        s += &format!(
            "[[branch.step]]\nid = \"r{b}a\"\nzh = \"分支{b}甲\"\nmin = 10\ntypical = 40\nmax = 60\nsource = \"本地默认\"\n"
        );
        s += &format!(
            "[[branch.step]]\nid = \"r{b}b\"\nzh = \"分支{b}乙\"\nmin = 20\ntypical = 60\nmax = 90\nafter = [\"r{b}a\"]\nsource = \"本地默认\"\n"
        );
    }
    s
}

/// A province, a prefecture, and enough counties / townships / villages for `n` villages.
fn units(n: usize) -> Vec<Unit> {
    let code = |s: String| UnitCode::parse(&s).expect("generated code");
    let mut v = vec![Unit::new(code("35".into()), "省"), Unit::new(code("3501".into()), "市")];
    let villages_per_county = 100;
    let counties = n.div_ceil(villages_per_county);
    let mut made = 0;
    for c in 1..=counties {
        v.push(Unit::new(code(format!("3501{c:02}")), format!("县{c}")));
        for t in 1..=10 {
            v.push(Unit::new(code(format!("3501{c:02}{t:03}")), format!("县{c}乡{t}")));
            for vi in 1..=10 {
                if made < n {
                    v.push(Unit::new(code(format!("3501{c:02}{t:03}{vi:03}")), format!("县{c}乡{t}村{vi}")));
                    made += 1;
                }
            }
        }
    }
    v
}

fn date(s: &str) -> NaiveDate {
    tongxin_directives::day::parse(s).expect("date")
}

fn draft() -> Directive {
    Directive {
        id: "bench-draft".into(),
        issuing_body: "基准机关".into(),
        title: "基准文件".into(),
        summary: String::new(),
        status: Status::Draft,
        issued_on: date("2026-03-02"),
        tasks: vec![Task {
            id: "t".into(),
            title: "基准任务".into(),
            targets: Targets {
                units: Vec::new(),
                level: Some(Level::Village),
                under: Some(UnitCode::parse("3501").expect("code")),
            },
            deadline: date("2026-12-15"),
            template: "bench20".into(),
            resources: Resources { cadre_hours: 120.0, visits: 2, money_yuan: 0.0, presumes: Vec::new() },
            requirements: vec![
                Requirement::DoBy { action: "a3".into(), by: date("2026-06-30") },
                Requirement::KeepBelow { quantity: "q1".into(), limit: 5.0 },
            ],
        }],
    }
}

/// Active directives on random townships or counties, with random deadlines, hours and
/// requirements over a small shared vocabulary (so some contradict the draft).
fn active(n: usize, counties: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<Directive> {
    (0..n)
        .map(|i| {
            let c = rng.random_range(1..=counties);
            let under = if rng.random_bool(0.7) {
                format!("3501{c:02}{:03}", rng.random_range(1..=10))
            } else {
                format!("3501{c:02}")
            };
            let issued = date("2026-01-05") + Duration::days(rng.random_range(0..90));
            let deadline = issued + Duration::days(rng.random_range(20..200));
            let action = format!("a{}", rng.random_range(0..20));
            let req = match rng.random_range(0..3) {
                0 => Requirement::MustNotBefore {
                    action,
                    before: issued + Duration::days(rng.random_range(0..200)),
                },
                1 => Requirement::KeepAbove {
                    quantity: format!("q{}", rng.random_range(0..20)),
                    limit: f64::from(rng.random_range(0..10)),
                },
                _ => Requirement::DoBy { action, by: deadline },
            };
            Directive {
                id: format!("active-{i}"),
                issuing_body: format!("机关{}", i % 37),
                title: format!("有效文件{i}"),
                summary: String::new(),
                status: Status::Issued,
                issued_on: issued,
                tasks: vec![Task {
                    id: "t".into(),
                    title: format!("任务{i}"),
                    targets: Targets {
                        units: Vec::new(),
                        level: Some(Level::Village),
                        under: Some(UnitCode::parse(&under).expect("code")),
                    },
                    deadline,
                    template: "bench20".into(),
                    resources: Resources {
                        cadre_hours: f64::from(rng.random_range(10..200)),
                        visits: rng.random_range(0..4),
                        money_yuan: 0.0,
                        presumes: Vec::new(),
                    },
                    requirements: vec![req],
                }],
            }
        })
        .collect()
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

    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
    let act = active(args.active, counties, &mut rng);
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
