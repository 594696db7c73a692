//! A synthetic workload for benchmarks and performance tests (`tongxin bench
//! directives`): a 20-step template with 3 risky branches, a province of generated
//! villages, a draft that targets all of them and active directives over random
//! townships and counties. Deterministic for a given seed.

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use tongxin_domain::{Level, Unit, UnitCode};

use crate::directive::{Directive, Requirement, Resources, Status, Targets, Task};

/// The text of a 20-step template (id `bench20`) with 3 risky branches (two statutory periods, some working-day steps).
pub fn template_text() -> String {
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

/// A province, a prefecture, and enough counties (100 villages each) / townships / villages for `n` villages.
pub fn units(n: usize) -> Vec<Unit> {
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
    crate::day::parse(s).expect("date")
}

/// A draft with one task on every village under 3501, on `bench20`.
pub fn draft() -> Directive {
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
pub fn active(n: usize, counties: usize, seed: u64) -> Vec<Directive> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let rng = &mut rng;
    (0..n)
        .map(|i| {
            let c = rng.random_range(1..=counties);
            let under = if rng.random_bool(0.7) {
                format!("3501{c:02}{:03}", rng.random_range(1..=10))
            } else {
                format!("3501{c:02}")
            };
            let issued = date("2026-01-05") + Duration::days(rng.random_range(0..90));
            let deadline = issued + Duration::days(rng.random_range(20..330));
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
