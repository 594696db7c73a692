//! Feasibility: the road example of DESIGN.md §1 is infeasible in three months and says
//! why; Monte Carlo is reproducible; the 80% deadline is what it claims; and two
//! properties: adding a step never shortens the critical path, and the probability of
//! meeting a deadline never falls as the deadline moves later.

use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use tongxin_directives::{Simulation, TemplateSet, Verdict, assess};

fn d(s: &str) -> NaiveDate {
    tongxin_directives::day::parse(s).unwrap()
}

#[test]
fn the_road_example_is_infeasible_in_three_months_and_says_why() {
    let set = TemplateSet::shipped();
    let road = set.get("road").unwrap();
    let f = assess(road, d("2026-03-02"), d("2026-06-01"), 10_000, 7);
    assert_eq!(f.verdict, Verdict::Infeasible);
    assert_eq!(f.probability, 0.0);
    // design 20 → planning notice 30 → approval 5 → expropriation comment 30 → decision 7
    // → relocation 15 → construction 60 → acceptance 5 = 172 days.
    assert_eq!(f.earliest_days, 172);
    assert_eq!(f.earliest, d("2026-08-20"));
    let ids: Vec<&str> = f.critical_path.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "design",
            "planning_notice",
            "planning_approval",
            "expropriation_comment",
            "expropriation_decision",
            "relocation",
            "construction",
            "acceptance"
        ]
    );
    // The statutory periods alone: planning notice 30 + compensation-plan comment 30.
    assert_eq!(f.statutory_floor_days, 60);
    let floor: Vec<&str> = f.statutory_floor.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(floor, ["planning_notice", "expropriation_comment"]);
    // The first step to end after 1 June.
    assert_eq!(f.breaking_step.as_ref().unwrap().step, "relocation");
    assert!(
        f.reason.zh.contains("不可行") && f.reason.zh.contains("《城乡规划法》第二十六条"),
        "{}",
        f.reason.zh
    );
    assert!(f.reason.zh.contains("征收补偿方案公布并征求公众意见30日"), "{}", f.reason.zh);
    assert!(f.reason.en.contains("earliest completion is 2026-08-20 (172 days)"), "{}", f.reason.en);
    // One household's objection, with litigation and appeal, pushes it far beyond.
    let appeal = f.branches.iter().find(|b| b.id == "appeal").unwrap();
    assert!((appeal.probability - 0.25 * 0.5 * 0.6).abs() < 1e-12);
    assert!(appeal.earliest_if_fired > d("2026-12-01"), "{:?}", appeal.earliest_if_fired);
    assert!(f.deadline_p80 >= f.earliest);

    // Statutory periods alone exceed a one-month deadline, and the reason says so.
    let f = assess(road, d("2026-03-02"), d("2026-04-01"), 1_000, 7);
    assert!(
        f.reason.en.contains("The statutory periods alone take 60 days, beyond the 31 days allowed"),
        "{}",
        f.reason.en
    );
}

#[test]
fn monte_carlo_is_reproducible_and_the_80_percent_deadline_holds() {
    let set = TemplateSet::shipped();
    let road = set.get("road").unwrap();
    let a = Simulation::run(road, d("2026-03-02"), 10_000, 42);
    let b = Simulation::run(road, d("2026-03-02"), 10_000, 42);
    let fa = a.assess(d("2026-12-31"));
    assert_eq!(fa, b.assess(d("2026-12-31")));
    let p80 = fa.deadline_p80;
    assert!(a.probability(p80) >= 0.8, "{}", a.probability(p80));
    assert!(a.probability(p80 - Duration::days(1)) < 0.8);
    // Another seed gives other runs but nearly the same figures.
    let c = Simulation::run(road, d("2026-03-02"), 10_000, 43);
    assert!((c.probability(p80) - a.probability(p80)).abs() < 0.03);
    // A deadline between earliest and p80 is at risk, with the step that most often breaks it.
    let mid = fa.earliest + Duration::days((p80 - fa.earliest).num_days() / 2);
    let f = a.assess(mid);
    assert_eq!(f.verdict, Verdict::AtRisk, "{}", f.reason.en);
    let br = f.breaking_step.unwrap();
    assert!(br.share > 0.0 && br.share <= 1.0);
    assert!(f.reason.zh.contains("有风险"));
    assert_eq!(a.assess(p80 + Duration::days(400)).verdict, Verdict::Feasible);
}

#[test]
fn working_days_and_branches_shape_the_schedule() {
    let mut set = TemplateSet::empty();
    let text = r#"
id = "w"
[[step]]
id = "notice"
zh = "公示"
min = 10
days = "working"
statutory = true
source = "《示例法》第一条"
[[branch]]
id = "always"
probability = 1.0
trigger = "notice"
source = "test"
[[branch.step]]
id = "extra"
zh = "追加"
min = 5
source = "本地默认"
"#;
    set.load("w.toml", text).unwrap();
    let t = set.get("w").unwrap();
    // Monday 2026-03-02 + 10 working days: done Friday 2026-03-13.
    let f = assess(t, d("2026-03-02"), d("2026-03-13"), 100, 1);
    assert_eq!(f.earliest, d("2026-03-13"));
    // The branch always fires and adds 5 calendar days (not rejoined: the task waits).
    assert_eq!(f.probability, 0.0);
    assert_eq!(f.deadline_p80, d("2026-03-18"));
    assert_eq!(f.verdict, Verdict::AtRisk);
    assert_eq!(f.breaking_step.unwrap().step, "extra");
}

/// A random template: a chain-ish DAG of `durs.len()` steps, each depending on up to two
/// earlier ones, with one risky branch.
fn template_text(durs: &[(u32, u32)], deps: &[(usize, usize)], p: f64) -> String {
    let mut s = String::from("id = \"p\"\n");
    for (i, &(min, extra)) in durs.iter().enumerate() {
        s += &format!(
            "[[step]]\nid = \"s{i}\"\nzh = \"s\"\nmin = {min}\ntypical = {}\nsource = \"x\"\n",
            min + extra
        );
        if i > 0 {
            let (a, b) = deps[i];
            s += &format!("after = [\"s{}\", \"s{}\"]\n", a % i, b % i);
        }
        if i % 3 == 1 {
            s += "days = \"working\"\n";
        }
    }
    s += &format!(
        "[[branch]]\nid = \"r\"\nprobability = {p}\ntrigger = \"s0\"\nrejoin = \"s{}\"\nsource = \"x\"\n[[branch.step]]\nid = \"rb\"\nzh = \"r\"\nmin = 3\ntypical = 9\nsource = \"x\"\n",
        durs.len() - 1
    );
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn adding_a_step_never_shortens_the_critical_path(
        durs in prop::collection::vec((0u32..40, 0u32..20), 2..9),
        deps in prop::collection::vec((0usize..100, 0usize..100), 10),
        new in (0u32..60, 0usize..100, 0usize..100),
        p in 0.0f64..1.0,
    ) {
        let mut set = TemplateSet::empty();
        set.load("p.toml", &template_text(&durs, &deps, p)).unwrap();
        let t = set.get("p").unwrap().clone();
        let before = assess(&t, d("2026-03-04"), d("2026-09-01"), 50, 1);
        let mut step = t.steps[0].clone();
        step.id = "added".into();
        step.min = new.0;
        step.typical = new.0;
        step.max = None;
        step.branch = None;
        let n = t.steps.iter().filter(|s| s.branch.is_none()).count();
        step.after = vec![format!("s{}", new.1 % n), format!("s{}", new.2 % n)];
        let t2 = t.clone().with_step(step).unwrap();
        let after = assess(&t2, d("2026-03-04"), d("2026-09-01"), 50, 1);
        prop_assert!(after.earliest_days >= before.earliest_days);
        prop_assert!(after.earliest >= before.earliest);
    }

    #[test]
    fn probability_is_monotone_in_the_deadline(
        durs in prop::collection::vec((0u32..40, 0u32..30), 2..9),
        deps in prop::collection::vec((0usize..100, 0usize..100), 10),
        p in 0.0f64..1.0,
        d1 in 0i64..300,
        extra in 0i64..100,
        seed in 0u64..1000,
    ) {
        let mut set = TemplateSet::empty();
        set.load("p.toml", &template_text(&durs, &deps, p)).unwrap();
        let sim = Simulation::run(set.get("p").unwrap(), d("2026-03-04"), 500, seed);
        let a = d("2026-03-04") + Duration::days(d1);
        let b = a + Duration::days(extra);
        prop_assert!(sim.probability(a) <= sim.probability(b));
        let (fa, fb) = (sim.assess(a), sim.assess(b));
        prop_assert!(fa.probability <= fb.probability);
        prop_assert_eq!(fa.deadline_p80, fb.deadline_p80);
    }
}
