//! The six scenarios of DESIGN.md §1, as the demo generates them, are each found by the
//! national rule set with the exact rule, units and demands.

use std::sync::OnceLock;

use tongxin_burden::{Engine, Finding, FindingFilter, PeriodKind};
use tongxin_demo::Demo;
use tongxin_rules::RuleSet;

fn demo() -> &'static (Demo, Engine) {
    static D: OnceLock<(Demo, Engine)> = OnceLock::new();
    D.get_or_init(|| {
        let units = tongxin_divisions::load(Some("35")).unwrap();
        let demo = tongxin_demo::generate(&units, "35", 2026, 7).unwrap();
        let mut engine = Engine::new(RuleSet::national(), &units, &demo.bodies);
        engine.load(demo.demands.clone()).unwrap();
        (demo, engine)
    })
}

fn with_rule<'a>(e: &'a Engine, rule: &str) -> Vec<&'a Finding> {
    e.findings().into_iter().filter(|f| f.rule == rule).collect()
}

#[test]
fn three_divisions_of_one_department_in_one_week_are_to_be_merged() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let found: Vec<_> = with_rule(e, "coordination.merge")
        .into_iter()
        .filter(|f| {
            f.units == [s.county.clone()] && s.three_divisions.visits.iter().all(|v| f.demands.contains(v))
        })
        .collect();
    assert_eq!(found.len(), 1, "one merge finding holds the three visits");
    assert!(found[0].merge);
    assert!(found[0].evidence.zh.contains("建议合并"), "{}", found[0].evidence.zh);
}

#[test]
fn thirty_guidance_visits_break_the_monthly_cap_and_repeat_one_topic() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let visits = &s.guidance_visits.visits;
    assert!(visits.len() >= 30);
    let capped: Vec<_> =
        with_rule(e, "visit.cap_per_unit").into_iter().filter(|f| f.units == [s.county.clone()]).collect();
    let covered = visits.iter().filter(|v| capped.iter().any(|f| f.demands.contains(v))).count();
    assert_eq!(covered, visits.len(), "every visit is counted in a month over the cap");
    let repeated: Vec<_> = with_rule(e, "repetition.topic")
        .into_iter()
        .filter(|f| f.units == [s.county.clone()] && visits.iter().all(|v| f.demands.contains(v)))
        .collect();
    assert_eq!(repeated.len(), 1, "one repetition finding holds all the visits on the matter");
}

#[test]
fn the_stationed_work_group_overloads_its_host() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let found: Vec<_> = with_rule(e, "workgroup.hosting_load")
        .into_iter()
        .filter(|f| f.demands.contains(&s.work_group.demand))
        .collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].units, std::slice::from_ref(&s.county));
}

#[test]
fn the_cascading_meeting_reaches_the_township_cadre_four_times() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let found: Vec<_> = with_rule(e, "repetition.topic")
        .into_iter()
        .filter(|f| {
            f.units == [s.township.clone()] && s.cascade.meetings.iter().any(|m| f.demands.contains(m))
        })
        .collect();
    assert_eq!(found.len(), 1);
    for m in &s.cascade.meetings {
        assert!(found[0].demands.contains(m), "all four meetings reach the township");
    }
    assert!(found[0].evidence.zh.contains(&s.cascade.topic));
    // The provincial meeting also requires attendance three levels down.
    let cascade = with_rule(e, "meeting.cascade");
    assert!(cascade.iter().any(|f| f.demands == [s.cascade.meetings[0]]));
}

#[test]
fn the_same_field_asked_by_five_bodies_is_one_finding_per_village() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let found: Vec<_> = with_rule(e, "data.duplicate_field")
        .into_iter()
        .filter(|f| f.units == [s.village.clone()] && f.evidence.zh.contains(&s.duplicate_field.field))
        .collect();
    assert_eq!(found.len(), 1, "{found:#?}");
    // The five requests of the scenario (常住人口 and 常住人口数 are one field), and
    // possibly other requests of the year that ask for it too.
    for r in &s.duplicate_field.requests {
        assert!(found[0].demands.contains(r), "{r} missing from {:?}", found[0].demands);
    }
    let bodies: usize = found[0]
        .evidence
        .zh
        .split("被")
        .nth(1)
        .and_then(|t| t.split("个机构").next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(bodies >= 5, "{}", found[0].evidence.zh);
}

#[test]
fn the_county_carries_too_many_indicators() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let found: Vec<_> = with_rule(e, "indicator.inflation")
        .into_iter()
        .filter(|f| f.units == [s.county.clone()] && f.evidence.zh.contains("承担"))
        .collect();
    assert_eq!(found.len(), 1);
    assert!(
        found[0].evidence.zh.contains(&format!("{}项考核指标", s.indicators.indicators))
            || s.indicators.indicators < 300
    );
    for d in &s.indicators.demands {
        assert!(found[0].demands.contains(d));
    }
}

#[test]
fn the_dashboard_figures_show_the_scenarios() {
    let (demo, e) = demo();
    let s = &demo.scenarios;
    let year = PeriodKind::Year.of(chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
    let county = e.unit_totals(&s.county, year).unwrap();
    assert!(county.visits >= 30 && county.indicators >= 300 && county.violations > 0, "{county:?}");
    let (_, kids) = e.unit_and_children(&s.prefecture, year).unwrap();
    assert!(kids.iter().any(|k| k.code == s.county));
    let listed = e.findings_where(&FindingFilter { unit: Some(s.county.clone()), ..Default::default() });
    assert!(listed.len() as i64 >= 6);
}
