//! Process templates: every shipped template loads and cites its sources, the statutory
//! figures are the ones verified, bad templates fail naming file, step and reason, and a
//! jurisdiction's edit applies where it should.

use tongxin_directives::template::SHIPPED;
use tongxin_directives::{DayKind, TemplateSet, Verification, unverified_figures};
use tongxin_domain::UnitCode;

#[test]
fn every_shipped_template_loads_and_every_step_cites_a_source() {
    let set = TemplateSet::shipped();
    assert_eq!(set.ids(), ["data_collection", "expropriation", "procurement", "road", "rural_housing"]);
    for t in set.all() {
        assert!(!t.steps.is_empty(), "{}", t.id);
        for s in &t.steps {
            assert!(!s.source.trim().is_empty(), "{}/{} has no source", t.id, s.id);
            if s.statutory {
                assert!(
                    s.source.contains('《') && s.source.contains('条'),
                    "{}/{}: {}",
                    t.id,
                    s.id,
                    s.source
                );
            } else {
                assert!(
                    s.source.contains("本地默认") || s.source.contains('《'),
                    "{}/{} must cite a statute or say local default: {}",
                    t.id,
                    s.id,
                    s.source
                );
            }
        }
        for b in &t.branches {
            assert!((0.0..=1.0).contains(&b.probability) && !b.source.is_empty(), "{}/{}", t.id, b.id);
        }
    }
    assert_eq!(SHIPPED.len(), set.ids().len());
}

#[test]
fn the_statutory_figures_are_the_verified_ones() {
    let set = TemplateSet::shipped();
    let road = set.get("road").unwrap();
    let s = |id: &str| road.step(id).unwrap();
    assert_eq!((s("tender").min, s("tender").statutory), (20, true));
    assert!(s("tender").source.contains("第二十四条"));
    assert_eq!((s("eia_participation").min, s("eia_participation").days), (10, DayKind::Working));
    assert_eq!(s("planning_notice").min, 30);
    assert_eq!(s("expropriation_comment").min, 30);
    assert!(s("expropriation_comment").source.contains("第十条"));
    assert_eq!(s("bid_publicity").min, 3);
    // Reconsideration: within 60 days to apply, decision within 60 + at most 30.
    assert_eq!(s("reconsideration_application").max_days(), 60);
    assert_eq!((s("reconsideration_decision").typical, s("reconsideration_decision").max_days()), (60, 90));
    assert_eq!(s("first_instance").max_days(), 183);
    assert_eq!(s("appeal_judgment").max_days(), 92);
    assert_eq!(road.branch("appeal").unwrap().trigger, "first_instance");
    let ex = set.get("expropriation").unwrap();
    assert_eq!(ex.step("plan_comment").unwrap().min, 30);
    let gp = set.get("procurement").unwrap();
    assert_eq!(gp.step("bidding_period").unwrap().min, 20);
    assert_eq!(gp.step("challenge_reply").unwrap().max_days(), 7);
    assert_eq!(gp.step("complaint_decision").unwrap().days, DayKind::Working);
}

#[test]
fn every_statutory_figure_has_a_source_and_a_verification_status() {
    let set = TemplateSet::shipped();
    let mut statutory = 0;
    for t in set.all() {
        for s in &t.steps {
            let cites_article = s.source.contains('《') && s.source.contains('条');
            if s.statutory || cites_article {
                assert!(cites_article, "{}/{}: a statutory step cites the statute and article", t.id, s.id);
                assert!(
                    s.verified.is_some(),
                    "{}/{} cites {} but does not say `verified` (text, figure or unverified)",
                    t.id,
                    s.id,
                    s.source
                );
            }
            statutory += usize::from(s.statutory);
        }
    }
    assert_eq!(statutory, 7, "road 5, expropriation 1, procurement 1");
    // What the search found (see the templates' comments): these rest on the figure only.
    let road = set.get("road").unwrap();
    let v = |t: &str, s: &str| set.get(t).unwrap().step(s).unwrap().verification();
    assert_eq!(v("road", "eia_participation"), Some(Verification::Figure));
    assert_eq!(v("road", "reconsideration_decision"), Some(Verification::Figure));
    assert_eq!(v("road", "tender"), Some(Verification::Text));
    assert_eq!(v("procurement", "bidding_period"), Some(Verification::Figure));
    assert_eq!(v("rural_housing", "construction"), None, "a local default cites nothing");
    let listed: Vec<String> = unverified_figures(road).into_iter().map(|u| u.step).collect();
    assert_eq!(
        listed,
        ["eia_participation", "reconsideration_application", "reconsideration_decision", "appeal_filing"]
    );
}

#[test]
fn verification_is_parsed_defaulted_and_reset_by_an_edit() {
    let mut set = TemplateSet::empty();
    let base = r#"
id = "v"
[[step]]
id = "notice"
zh = "公示"
min = 30
statutory = true
source = "《示例法》第一条"
[[step]]
id = "checked"
zh = "审查"
min = 5
after = ["notice"]
source = "《示例法》第二条"
verified = "text"
"#;
    set.load("v.toml", base).unwrap();
    let t = set.get("v").unwrap();
    assert_eq!(t.step("notice").unwrap().verification(), Some(Verification::Unverified));
    assert_eq!(t.step("checked").unwrap().verification(), Some(Verification::Text));
    // A new source without a new status is only as checked as the edit says: not at all.
    let edit = r#"
extends = "v"
[[step]]
id = "checked"
min = 6
source = "《示例法》第三条"
"#;
    set.load("v-local.toml", edit).unwrap();
    assert_eq!(set.get("v").unwrap().step("checked").unwrap().verification(), Some(Verification::Unverified));
    let bad = base.replace("verified = \"text\"", "verified = \"maybe\"").replace("id = \"v\"", "id = \"w\"");
    let e = TemplateSet::empty().load("w.toml", &bad).unwrap_err().to_string();
    assert!(e.contains("w.toml") && e.contains("maybe"), "{e}");
}

const GOOD: &str = r#"
id = "t"
zh = "测试"
[[step]]
id = "a"
zh = "甲"
min = 1
source = "本地默认"
[[step]]
id = "b"
zh = "乙"
min = 2
after = ["a"]
source = "本地默认"
"#;

fn load_err(text: &str) -> String {
    let mut set = TemplateSet::empty();
    set.load("bad.toml", text).unwrap_err().to_string()
}

#[test]
fn a_dependency_cycle_names_its_steps() {
    let text =
        GOOD.replace("source = \"本地默认\"\n[[step]]", "after = [\"b\"]\nsource = \"本地默认\"\n[[step]]");
    let e = load_err(&text);
    assert!(e.starts_with("bad.toml: step \"b\" (line 11)"), "{e}");
    assert!(e.contains("dependency cycle: a → b → a") || e.contains("dependency cycle: b → a → b"), "{e}");
}

#[test]
fn an_unknown_step_a_bad_probability_and_a_duplicate_are_named() {
    let e = load_err(&GOOD.replace("after = [\"a\"]", "after = [\"zz\"]"));
    assert!(e.contains("step \"b\" (line 10)") && e.contains("unknown step \"zz\""), "{e}");

    let branch = format!(
        "{GOOD}[[branch]]\nid = \"x\"\nprobability = 1.5\ntrigger = \"a\"\nsource = \"本地默认\"\n[[branch.step]]\nid = \"c\"\nzh = \"丙\"\nmin = 1\nsource = \"本地默认\"\n"
    );
    let e = load_err(&branch);
    assert!(
        e.contains("branch \"x\" (line 16)") && e.contains("probability 1.5 must be between 0 and 1"),
        "{e}"
    );
    let e = load_err(&branch.replace("1.5", "-0.1"));
    assert!(e.contains("between 0 and 1"), "{e}");

    let e = load_err(&format!("{GOOD}[[step]]\nid = \"a\"\nzh = \"甲\"\nmin = 1\nsource = \"x\"\n"));
    assert!(
        e.contains("step \"a\" (line 16)") && e.contains("duplicate step id (first defined at line 5)"),
        "{e}"
    );
}

#[test]
fn bad_fields_are_refused_with_their_line() {
    let e = load_err(&GOOD.replace("min = 2", "min = 2\ntypicl = 3"));
    assert!(e.contains("bad.toml: line 13") && e.contains("typicl"), "{e}");
    let e = load_err(&GOOD.replace("min = 2", "min = -2"));
    assert!(e.contains("bad.toml: line 12"), "{e}");
    let e = load_err(&GOOD.replace("min = 2", "min = 5\ntypical = 3"));
    assert!(e.contains("typical 3 is less than min 5"), "{e}");
    let e = load_err(&GOOD.replace("min = 2\nafter = [\"a\"]\nsource = \"本地默认\"", "min = 2"));
    assert!(e.contains("step \"b\"") && e.contains("missing field `source`"), "{e}");
}

#[test]
fn a_jurisdiction_edit_applies_under_its_code_only() {
    let mut set = TemplateSet::shipped();
    let edit = r#"
extends = "road"
jurisdiction = "3501"
holidays = [2026-04-06]
[[step]]
id = "design"
min = 40
typical = 60
source = "福州市本地经验（示例）"
[[branch]]
id = "objection"
probability = 0.1
source = "福州市近三年统计（示例）"
"#;
    assert_eq!(set.load("fuzhou.toml", edit).unwrap(), "road@3501");
    let fz = set.for_unit("road", &UnitCode::parse("350121101").unwrap()).unwrap();
    assert_eq!(fz.key(), "road@3501");
    assert_eq!(fz.step("design").unwrap().min, 40);
    assert_eq!(fz.branch("objection").unwrap().probability, 0.1);
    assert_eq!(fz.calendar.holidays.len(), 1);
    let xm = set.for_unit("road", &UnitCode::parse("350203").unwrap()).unwrap();
    assert_eq!(xm.key(), "road");
    assert_eq!(xm.step("design").unwrap().min, 20);

    let e = set.load("x.toml", "extends = \"road\"\n[[step]]\nid = \"design\"\nmin = 1\n").unwrap_err();
    assert!(e.to_string().contains("a changed duration must give its `source`"), "{e}");
    let e = set.load("x.toml", "extends = \"nope\"\n").unwrap_err();
    assert!(
        e.to_string().contains("x.toml: extends: ") && e.to_string().contains("unknown template \"nope\""),
        "{e}"
    );
    // A complete template may not silently replace a loaded one.
    let e = set.load("y.toml", &GOOD.replace("id = \"t\"", "id = \"road\"")).unwrap_err();
    assert!(e.to_string().contains("already loaded"), "{e}");
    // A failed load changes nothing.
    assert_eq!(set.get("road").unwrap().step("design").unwrap().min, 20);
}
