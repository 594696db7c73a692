//! Conflicts of each kind between a draft and active directives (and within the draft),
//! the burden impact with its rollup, and bad directives refused with the task and field.

use tongxin_directives::{
    CheckOptions, ConflictKind, Directive, LedgerLoad, Severity, Status, TemplateSet, UnitIndex, Verdict,
    check,
};
use tongxin_domain::{Unit, UnitCode};

fn units() -> UnitIndex {
    let mut v = Vec::new();
    for (code, name) in [
        ("35", "福建省"),
        ("3501", "福州市"),
        ("350121", "闽侯县"),
        ("350121101", "白沙镇"),
        ("350121102", "南屿镇"),
        ("350121101001", "甲村"),
        ("350121101002", "乙村"),
        ("350121102001", "丙村"),
    ] {
        v.push(Unit::new(UnitCode::parse(code).unwrap(), name));
    }
    UnitIndex::new(v)
}

fn directive(id: &str, status: &str, tasks: &str) -> Directive {
    let text = format!(
        "id = \"{id}\"\nissuing_body = \"body-{id}\"\ntitle = \"文件{id}\"\nstatus = \"{status}\"\nissued_on = 2026-03-02\n{tasks}"
    );
    Directive::from_toml(&format!("{id}.toml"), &text).unwrap()
}

fn task(id: &str, targets: &str, deadline: &str, hours: f64, reqs: &str) -> String {
    format!(
        "[[task]]\nid = \"{id}\"\ntitle = \"任务{id}\"\ntemplate = \"data_collection\"\ndeadline = {deadline}\ntargets = {targets}\nresources = {{ cadre_hours = {hours}, visits = 2 }}\nrequirements = [{reqs}]\n"
    )
}

fn opts() -> CheckOptions {
    CheckOptions { samples: 200, ..CheckOptions::default() }
}

const VILLAGES_OF_BAISHA: &str = "{ level = \"village\", under = \"350121101\" }";

#[test]
fn do_by_against_must_not_before_on_shared_units_is_a_contradiction() {
    let draft = directive(
        "d",
        "draft",
        &task(
            "t1",
            VILLAGES_OF_BAISHA,
            "2026-06-30",
            10.0,
            "{ kind = \"do_by\", action = \"Demolition\", by = 2026-05-01 }",
        ),
    );
    let active = vec![
        directive(
            "a",
            "issued",
            &task(
                "x",
                "{ units = [\"350121101002\", \"350121102001\"] }",
                "2026-12-31",
                10.0,
                "{ kind = \"must_not_before\", action = \" demolition\", before = 2026-07-01 }",
            ),
        ),
        // Same requirement, but no shared unit: nothing.
        directive(
            "b",
            "issued",
            &task(
                "y",
                "{ units = [\"350121102001\"] }",
                "2026-12-31",
                10.0,
                "{ kind = \"must_not_before\", action = \"demolition\", before = 2026-07-01 }",
            ),
        ),
    ];
    let r = check("d.toml", &draft, &active, &units(), &TemplateSet::shipped(), &opts()).unwrap();
    let c: Vec<_> = r.conflicts.iter().filter(|c| c.kind == ConflictKind::Contradiction).collect();
    assert_eq!(c.len(), 1, "{:#?}", r.conflicts);
    let c = c[0];
    assert_eq!(c.severity, Severity::Conflict);
    assert_eq!((c.draft[0].directive.as_str(), c.draft[0].task.as_str()), ("d", "t1"));
    assert_eq!((c.others[0].directive.as_str(), c.others[0].task.as_str()), ("a", "x"));
    assert_eq!(c.units, [UnitCode::parse("350121101002").unwrap()]);
    assert!(
        c.reason.zh.contains("《文件d》/任务t1") && c.reason.zh.contains("《文件a》/任务x"),
        "{}",
        c.reason.zh
    );
    assert!(
        c.reason.en.contains("must be finished by 2026-05-01 but may not start before 2026-07-01"),
        "{}",
        c.reason.en
    );
    assert!(r.blocks_issuance());
}

#[test]
fn keep_below_against_keep_above_and_do_against_forbid() {
    let draft = directive(
        "d",
        "draft",
        &format!(
            "{}{}",
            task(
                "t1",
                VILLAGES_OF_BAISHA,
                "2026-06-30",
                0.0,
                "{ kind = \"keep_below\", quantity = \"burning_points\", limit = 5 }"
            ),
            task(
                "t2",
                "{ units = [\"350121101001\"] }",
                "2026-09-30",
                0.0,
                "{ kind = \"do_by\", action = \"straw_burning\", by = 2026-09-01 }"
            )
        ),
    );
    let active = vec![directive(
        "a",
        "consulting",
        &task(
            "x",
            VILLAGES_OF_BAISHA,
            "2026-12-31",
            0.0,
            "{ kind = \"keep_above\", quantity = \"burning_points\", limit = 5 }, { kind = \"forbid\", action = \"straw_burning\" }",
        ),
    )];
    let r = check("d.toml", &draft, &active, &units(), &TemplateSet::shipped(), &opts()).unwrap();
    let reasons: Vec<&str> = r
        .conflicts
        .iter()
        .filter(|c| c.kind == ConflictKind::Contradiction)
        .map(|c| c.reason.en.as_str())
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:#?}");
    assert!(reasons.iter().any(|r| r.contains("no value is both below 5 and above 5")));
    assert!(reasons.iter().any(|r| r.contains("required and forbidden at once")));
    // Compatible limits are not a contradiction.
    let active = vec![directive(
        "a",
        "issued",
        &task(
            "x",
            VILLAGES_OF_BAISHA,
            "2026-12-31",
            0.0,
            "{ kind = \"keep_above\", quantity = \"burning_points\", limit = 1 }",
        ),
    )];
    let r = check("d.toml", &draft, &active, &units(), &TemplateSet::shipped(), &opts()).unwrap();
    assert!(r.conflicts.iter().all(|c| c.kind != ConflictKind::Contradiction), "{:#?}", r.conflicts);
}

#[test]
fn deadlines_within_the_window_collide_and_withdrawn_directives_are_ignored() {
    let draft = directive("d", "draft", &task("t1", VILLAGES_OF_BAISHA, "2026-06-30", 20.0, ""));
    let near = directive("a", "issued", &task("x", VILLAGES_OF_BAISHA, "2026-07-10", 30.0, ""));
    let far = directive("b", "issued", &task("y", VILLAGES_OF_BAISHA, "2026-08-30", 30.0, ""));
    let mut withdrawn = directive("c", "issued", &task("z", VILLAGES_OF_BAISHA, "2026-06-29", 30.0, ""));
    withdrawn.status = Status::Withdrawn;
    let r =
        check("d.toml", &draft, &[near, far, withdrawn], &units(), &TemplateSet::shipped(), &opts()).unwrap();
    assert_eq!(r.active_compared, 2);
    let c: Vec<_> = r.conflicts.iter().filter(|c| c.kind == ConflictKind::DeadlineCollision).collect();
    assert_eq!(c.len(), 1, "{:#?}", r.conflicts);
    assert_eq!(c[0].severity, Severity::Warning);
    assert_eq!(c[0].others[0].directive, "a");
    assert_eq!(c[0].units.len(), 2);
    assert!(
        c[0].reason.en.contains("10 days apart")
            && c[0].reason.en.contains("50 cadre-hours per unit together")
    );
    assert!(!r.blocks_issuance() || r.infeasible_tasks() > 0);
}

#[test]
fn combined_hours_over_capacity_counting_the_ledger() {
    // A village has 6 cadres: 240 hours a week. Draft: 600 h over ~9 weeks at 甲村/乙村.
    let draft = directive("d", "draft", &task("t1", VILLAGES_OF_BAISHA, "2026-04-30", 600.0, ""));
    let active =
        vec![directive("a", "issued", &task("x", "{ units = [\"350121101001\"] }", "2026-04-30", 900.0, ""))];
    let r = check("d.toml", &draft, &active, &units(), &TemplateSet::shipped(), &opts()).unwrap();
    assert!(r.conflicts.iter().all(|c| c.kind != ConflictKind::OverCapacity), "{:#?}", r.conflicts);
    // The ledger already holds 200 hours for 甲村 in the week of 2026-03-09.
    let mut o = opts();
    o.conflicts.ledger = vec![LedgerLoad {
        unit: UnitCode::parse("350121101001").unwrap(),
        week: tongxin_directives::day::parse("2026-03-11").unwrap(),
        cadre_hours: 200.0,
    }];
    let r = check("d.toml", &draft, &active, &units(), &TemplateSet::shipped(), &o).unwrap();
    let c: Vec<_> = r.conflicts.iter().filter(|c| c.kind == ConflictKind::OverCapacity).collect();
    assert_eq!(c.len(), 1, "{:#?}", r.conflicts);
    assert_eq!(c[0].units, [UnitCode::parse("350121101001").unwrap()]);
    assert_eq!(c[0].weeks, [tongxin_directives::day::parse("2026-03-09").unwrap()]);
    assert_eq!(c[0].others[0].directive, "a");
    assert!(c[0].reason.zh.contains("甲村") && c[0].reason.zh.contains("台账已有 200"), "{}", c[0].reason.zh);
    assert!(r.blocks_issuance());
}

#[test]
fn the_burden_rolls_up_to_every_ancestor() {
    let draft = directive(
        "d",
        "draft",
        &format!(
            "{}{}",
            task("t1", VILLAGES_OF_BAISHA, "2026-03-13", 20.0, ""),
            task("t2", "{ units = [\"350121102001\"] }", "2026-03-13", 10.0, "")
        ),
    );
    let r = check("d.toml", &draft, &[], &units(), &TemplateSet::shipped(), &opts()).unwrap();
    let b = &r.burden;
    assert!((b.total_cadre_hours - 50.0).abs() < 1e-9);
    assert!((b.total_visits - 6.0).abs() < 1e-9);
    assert_eq!(b.units.len(), 3);
    assert_eq!(b.weeks.len(), 2);
    let county = b.rollup.iter().find(|x| x.code.as_str() == "350121").unwrap();
    assert_eq!((county.target_units, county.name.as_str()), (3, "闽侯县"));
    assert!((county.cadre_hours - 50.0).abs() < 1e-9);
    let baisha = b.rollup.iter().find(|x| x.code.as_str() == "350121101").unwrap();
    assert!((baisha.cadre_hours - 40.0).abs() < 1e-9 && baisha.target_units == 2);
    assert_eq!(
        b.rollup.iter().map(|x| x.code.as_str()).collect::<Vec<_>>(),
        ["35", "3501", "350121", "350121101", "350121102"]
    );
    // Both tasks run from one simulation: same template, same issue date.
    assert_eq!(r.simulations, 1);
    assert_eq!(r.tasks[0].verdict, Verdict::Infeasible);
}

#[test]
fn bad_directives_name_the_task_and_field() {
    let set = TemplateSet::shipped();
    let u = units();
    let err = |text: &str| {
        let d = Directive::from_toml("bad.toml", text).unwrap();
        check("bad.toml", &d, &[], &u, &set, &opts()).unwrap_err().to_string()
    };
    let base = |task: &str| {
        format!("id = \"d\"\nissuing_body = \"b\"\ntitle = \"t\"\nissued_on = 2026-03-02\n{task}")
    };
    let e = err(&base(&task("t1", VILLAGES_OF_BAISHA, "2026-02-01", 1.0, "")));
    assert!(
        e.contains("bad.toml: task \"t1\" (task[0]).deadline")
            && e.contains("before the issue date 2026-03-02"),
        "{e}"
    );
    let e =
        err(&base(&task("t1", VILLAGES_OF_BAISHA, "2026-05-01", 1.0, "").replace("data_collection", "nope")));
    assert!(e.contains("(task[0]).template") && e.contains("unknown template \"nope\""), "{e}");
    let e = err(&base(&task("t1", "{}", "2026-05-01", 1.0, "")));
    assert!(e.contains("(task[0]).targets") && e.contains("no target units"), "{e}");
    let e = err(&base(&task("t1", "{ level = \"village\", under = \"350121103\" }", "2026-05-01", 1.0, "")));
    assert!(
        e.contains("(task[0]).targets") && e.contains("no village/community unit under 350121103"),
        "{e}"
    );
    let e = err(&base(&task("t1", "{ units = [\"350199\"] }", "2026-05-01", 1.0, "")));
    assert!(e.contains("(task[0]).targets.units") && e.contains("350199 is not in the units list"), "{e}");
    let e = err("id = \"d\"\nissuing_body = \"b\"\ntitle = \"t\"\nissued_on = 2026-03-02\ntasks = []\n");
    assert!(e.contains("bad.toml: tasks") && e.contains("at least one task"), "{e}");
    // Syntax and type errors name the line.
    let e =
        Directive::from_toml("bad.toml", &base(&task("t1", VILLAGES_OF_BAISHA, "\"2026-13-01\"", 1.0, "")))
            .unwrap_err()
            .to_string();
    assert!(e.contains("bad.toml: line 9") && e.contains("2026-13-01"), "{e}");
}

#[test]
fn json_directives_read_like_toml_ones() {
    let json = r#"{"id":"j","issuing_body":"b","title":"t","issued_on":"2026-03-02","tasks":[
        {"id":"t1","title":"x","template":"road","deadline":"2026-06-01","targets":{"units":["350121101"]},
         "requirements":[{"kind":"keep_below","quantity":"q","limit":3}]}]}"#;
    let d = Directive::parse("d.json", json).unwrap();
    assert_eq!(d.tasks[0].targets.units[0].as_str(), "350121101");
    let r = check("d.json", &d, &[], &units(), &TemplateSet::shipped(), &opts()).unwrap();
    assert_eq!(r.tasks[0].verdict, Verdict::Infeasible);
    let round: Directive = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
    assert_eq!(round, d);
    let e = Directive::parse("d.json", "{\"id\": 1}").unwrap_err().to_string();
    assert!(e.contains("d.json: line 1"), "{e}");
}
