//! Edge cases of every rule family, each asserting the exact findings of one rule: the
//! units and the demands involved. Every ledger is built twice, demand by demand through
//! `apply` and at once through `load`, and the two engines must agree.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use tongxin_burden::{Engine, Unknown};
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Unit, UnitCode,
};
use tongxin_rules::{RuleSet, Severity};
use uuid::Uuid;

// ── The hierarchy ────────────────────────────────────────────────────────────

const PROVINCE: &str = "35";
const PREFECTURE: &str = "3503";
const COUNTY: &str = "350322";
const OTHER_COUNTY: &str = "350304";
const TOWNSHIP: &str = "350322100";
const OTHER_TOWNSHIP: &str = "350322101";
const VILLAGE: &str = "350322100201";

const UNITS: &[(&str, &str)] = &[
    (PROVINCE, "福建省"),
    (PREFECTURE, "莆田市"),
    (COUNTY, "仙游县"),
    (OTHER_COUNTY, "荔城区"),
    (TOWNSHIP, "枫亭镇"),
    (OTHER_TOWNSHIP, "榜头镇"),
    (VILLAGE, "枫亭村"),
    ("350322100202", "霞街村"),
    ("350322101201", "榜头村"),
];

/// 省农业农村厅 and its two divisions.
const DEPT: u128 = 1;
const DIV_A: u128 = 2;
const DIV_B: u128 = 3;
/// 市应急管理局.
const CITY: u128 = 4;
/// Three county departments.
const STATS: u128 = 5;
const ORG: u128 = 6;
const AGRI: u128 = 7;
/// 省发展改革委.
const DEV: u128 = 8;

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn units() -> Vec<Unit> {
    UNITS.iter().map(|(c, n)| Unit::new(code(c), *n)).collect()
}

fn bodies() -> Vec<Body> {
    let b = |i: u128, unit: &str, name: &str, kind, parent: Option<u128>| Body {
        id: Uuid::from_u128(i),
        unit: code(unit),
        name: name.into(),
        kind,
        parent: parent.map(Uuid::from_u128),
    };
    vec![
        b(DEPT, PROVINCE, "省农业农村厅", BodyKind::Department, None),
        b(DIV_A, PROVINCE, "种植业管理处", BodyKind::Division, Some(DEPT)),
        b(DIV_B, PROVINCE, "农田建设管理处", BodyKind::Division, Some(DEPT)),
        b(CITY, PREFECTURE, "市应急管理局", BodyKind::Department, None),
        b(STATS, COUNTY, "县统计局", BodyKind::Department, None),
        b(ORG, COUNTY, "县委组织部", BodyKind::Department, None),
        b(AGRI, COUNTY, "县农业农村局", BodyKind::Department, None),
        b(DEV, PROVINCE, "省发展改革委", BodyKind::Department, None),
    ]
}

// ── Demands ──────────────────────────────────────────────────────────────────

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
    day(y, m, d).and_hms_opt(h, min, 0).unwrap()
}

/// A two-hour demand from 09:00 on `on`, on the topic 高标准农田建设, with only the costs
/// its kind requires: a meeting is attended by its targets' level, a data request has one
/// form, a work group three members and an indicator demand one indicator.
fn demand(n: u128, kind: DemandKind, body: u128, targets: &[&str], on: NaiveDate) -> Demand {
    let start = on.and_hms_opt(9, 0, 0).unwrap();
    let topic = "高标准农田建设";
    let targets: Vec<UnitCode> = targets.iter().map(|t| code(t)).collect();
    let top = targets.iter().map(UnitCode::level).min().unwrap();
    let cost = match kind {
        DemandKind::Meeting => Cost { attend_levels: vec![top], ..Cost::default() },
        DemandKind::DataRequest => Cost { forms: 1, ..Cost::default() },
        DemandKind::WorkGroup => Cost { visitors: 3, ..Cost::default() },
        DemandKind::Indicator => Cost { indicators: 1, ..Cost::default() },
        _ => Cost::default(),
    };
    Demand {
        id: id(n),
        kind,
        source_body: id(body),
        source_department: Uuid::nil(),
        title: format!("关于{topic}的{}", kind.zh()),
        topic: topic.into(),
        targets,
        starts_at: start,
        ends_at: start + Duration::hours(2),
        status: DemandStatus::Planned,
        origin: DemandOrigin::Registered,
        cost,
        revision: 1,
    }
}

/// A demand changed by `f`.
fn with(mut d: Demand, f: impl FnOnce(&mut Demand)) -> Demand {
    f(&mut d);
    d
}

fn topic(d: Demand, topic: &str) -> Demand {
    with(d, |d| {
        d.topic = topic.into();
        d.title = format!("关于{topic}的{}", d.kind.zh());
    })
}

fn cancelled(d: &Demand) -> Demand {
    with(d.clone(), |d| {
        d.status = DemandStatus::Cancelled;
        d.revision += 1;
    })
}

// ── Engines ──────────────────────────────────────────────────────────────────

/// The national rule set with a jurisdiction's parameter overrides.
fn overridden(overrides: &str) -> RuleSet {
    let text = format!("extends = \"national\"\njurisdiction = \"测试\"\nversion = \"1\"\n\n{overrides}");
    RuleSet::with_overrides(&RuleSet::national(), "test.toml", &text).unwrap()
}

/// An engine holding `demands`, written one by one through `apply`; checked against a
/// full `load` of the same demands.
fn run_with(rules: RuleSet, demands: &[Demand]) -> Engine {
    for d in demands {
        d.validate().unwrap_or_else(|e| panic!("{}: {e:?}", d.title));
    }
    let mut live = Engine::new(rules.clone(), &units(), &bodies());
    for d in demands {
        live.apply(d).unwrap();
    }
    let mut full = Engine::new(rules, &units(), &bodies());
    full.load(demands.to_vec()).unwrap();
    assert_eq!(live.digest(), full.digest(), "incremental and full recomputation differ");
    live
}

fn run(demands: &[Demand]) -> Engine {
    run_with(RuleSet::national(), demands)
}

/// One finding as the tests compare it: its units and its demands.
type Hit = (Vec<String>, Vec<Uuid>);

fn hit(units: &[&str], demands: &[u128]) -> Hit {
    (units.iter().map(|u| (*u).to_owned()).collect(), demands.iter().map(|n| id(*n)).collect())
}

/// The findings of one rule, in the engine's order.
fn found(e: &Engine, rule: &str) -> Vec<Hit> {
    e.findings()
        .into_iter()
        .filter(|f| f.rule == rule)
        .map(|f| (f.units.iter().map(|u| u.as_str().to_owned()).collect(), f.demands.clone()))
        .collect()
}

fn severity_of(e: &Engine, rule: &str) -> Vec<Severity> {
    e.findings().into_iter().filter(|f| f.rule == rule).map(|f| f.severity).collect()
}

// ── cap ──────────────────────────────────────────────────────────────────────

/// Five visits from five different departments, so that only the per-unit cap counts them.
fn five_visits(target: &str, fifth: NaiveDate) -> Vec<Demand> {
    vec![
        demand(11, DemandKind::GuidanceVisit, DEPT, &[target], day(2026, 1, 5)),
        demand(12, DemandKind::ResearchVisit, CITY, &[target], day(2026, 1, 8)),
        demand(13, DemandKind::Inspection, STATS, &[target], day(2026, 1, 12)),
        demand(14, DemandKind::ResearchVisit, ORG, &[target], day(2026, 1, 31)),
        demand(15, DemandKind::GuidanceVisit, DEV, &[target], fifth),
    ]
}

#[test]
fn cap_per_unit_flags_more_than_four_visits_in_a_month() {
    let e = run(&five_visits(COUNTY, day(2026, 1, 20)));
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![hit(&[COUNTY], &[11, 12, 13, 15, 14])]);
    assert_eq!(severity_of(&e, "visit.cap_per_unit"), vec![Severity::Warning]);
    let f = e.findings().into_iter().find(|f| f.rule == "visit.cap_per_unit").unwrap();
    assert_eq!(f.date, day(2026, 1, 5));
    assert!(!f.merge);
    assert!(f.evidence.zh.contains("5次") && f.evidence.zh.contains("上限4次"), "{}", f.evidence.zh);
}

#[test]
fn cap_per_unit_allows_exactly_four_visits() {
    let mut v = five_visits(COUNTY, day(2026, 1, 20));
    v.pop();
    let e = run(&v);
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![]);
}

#[test]
fn cap_per_unit_counts_by_calendar_month() {
    // The fifth visit falls on the first of February: four in January, one in February.
    let e = run(&five_visits(COUNTY, day(2026, 2, 1)));
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![]);
}

#[test]
fn cap_per_unit_ignores_targets_outside_its_levels() {
    // target_levels = county, township, village: a prefecture may receive five.
    let e = run(&five_visits(PREFECTURE, day(2026, 1, 20)));
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![]);
}

#[test]
fn cap_per_unit_does_not_count_other_kinds() {
    // A meeting and a document on the same county do not make the fifth visit.
    let mut v = five_visits(COUNTY, day(2026, 1, 20));
    v[4] = demand(15, DemandKind::Meeting, DEV, &[COUNTY], day(2026, 1, 20));
    v.push(demand(16, DemandKind::Document, DEV, &[COUNTY], day(2026, 1, 21)));
    let e = run(&v);
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![]);
}

#[test]
fn cap_per_unit_follows_a_visit_moved_to_another_month() {
    let v = five_visits(COUNTY, day(2026, 1, 20));
    let mut e = run(&v);
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![hit(&[COUNTY], &[11, 12, 13, 15, 14])]);
    let moved = with(v[4].clone(), |d| {
        d.starts_at = at(2026, 2, 2, 9, 0);
        d.ends_at = at(2026, 2, 2, 11, 0);
        d.revision = 2;
    });
    e.apply(&moved).unwrap();
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![]);
    // And back again.
    e.apply(&with(v[4].clone(), |d| d.revision = 3)).unwrap();
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![hit(&[COUNTY], &[11, 12, 13, 15, 14])]);
}

#[test]
fn cap_per_source_counts_the_divisions_of_one_department_together() {
    let e = run(&[
        // Two divisions of 省农业农村厅 in the first quarter.
        demand(21, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 1, 10)),
        demand(22, DemandKind::Inspection, DIV_B, &[COUNTY], day(2026, 3, 20)),
        // Another department once in that quarter.
        demand(23, DemandKind::GuidanceVisit, CITY, &[COUNTY], day(2026, 2, 1)),
        // The department again, but in the second quarter.
        demand(24, DemandKind::GuidanceVisit, DEPT, &[COUNTY], day(2026, 4, 1)),
    ]);
    assert_eq!(found(&e, "visit.cap_per_source"), vec![hit(&[COUNTY], &[21, 22])]);
    let f = e.findings().into_iter().find(|f| f.rule == "visit.cap_per_source").unwrap();
    assert!(f.evidence.zh.starts_with("省农业农村厅"), "{}", f.evidence.zh);
}

#[test]
fn cap_per_source_keeps_departments_apart() {
    let e = run(&[
        demand(21, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 1, 10)),
        demand(22, DemandKind::ResearchVisit, CITY, &[COUNTY], day(2026, 1, 11)),
        demand(23, DemandKind::ResearchVisit, CITY, &[COUNTY], day(2026, 2, 11)),
        demand(24, DemandKind::ResearchVisit, STATS, &[COUNTY], day(2026, 3, 11)),
    ]);
    // Only 市应急管理局 came twice.
    assert_eq!(found(&e, "visit.cap_per_source"), vec![hit(&[COUNTY], &[22, 23])]);
}

// ── coordination ─────────────────────────────────────────────────────────────

#[test]
fn coordination_merges_one_departments_demands_within_the_window() {
    // 14 days after the first ends is still inside the window.
    let e = run(&[
        demand(31, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 5, 5)),
        demand(32, DemandKind::GuidanceVisit, DIV_B, &[COUNTY], day(2026, 5, 19)),
    ]);
    assert_eq!(found(&e, "coordination.merge"), vec![hit(&[COUNTY], &[31, 32])]);
    let f = e.findings().into_iter().find(|f| f.rule == "coordination.merge").unwrap();
    assert!(f.merge);
    assert!(
        f.evidence.zh.contains("省农业农村厅") && f.evidence.zh.contains("建议合并"),
        "{}",
        f.evidence.zh
    );
}

#[test]
fn coordination_ignores_demands_just_outside_the_window() {
    let e = run(&[
        demand(31, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 5, 5)),
        demand(32, DemandKind::GuidanceVisit, DIV_B, &[COUNTY], day(2026, 5, 20)),
    ]);
    assert_eq!(found(&e, "coordination.merge"), vec![]);
}

#[test]
fn coordination_ignores_different_departments() {
    let e = run(&[
        demand(31, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 5, 5)),
        demand(32, DemandKind::ResearchVisit, CITY, &[COUNTY], day(2026, 5, 6)),
    ]);
    assert_eq!(found(&e, "coordination.merge"), vec![]);
}

#[test]
fn coordination_finding_goes_when_a_demand_is_cancelled() {
    let a = demand(31, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 5, 5));
    let b = demand(32, DemandKind::Meeting, DIV_B, &[COUNTY], day(2026, 5, 6));
    let mut e = run(&[a.clone(), b.clone()]);
    assert_eq!(found(&e, "coordination.merge"), vec![hit(&[COUNTY], &[31, 32])]);
    e.apply(&cancelled(&b)).unwrap();
    assert_eq!(found(&e, "coordination.merge"), vec![]);
    assert!(e.findings_of(id(31)).iter().all(|f| f.rule != "coordination.merge"));
    assert_eq!(e.demand_count(), 1);
}

#[test]
fn coordination_treats_a_unit_below_as_another_target() {
    let e = run(&[
        demand(31, DemandKind::ResearchVisit, DIV_A, &[COUNTY], day(2026, 5, 5)),
        demand(32, DemandKind::ResearchVisit, DIV_B, &[TOWNSHIP], day(2026, 5, 6)),
    ]);
    assert_eq!(found(&e, "coordination.merge"), vec![]);
}

// ── cascade ──────────────────────────────────────────────────────────────────

fn meeting(n: u128, body: u128, target: &str, on: NaiveDate, attend: &[Level]) -> Demand {
    with(demand(n, DemandKind::Meeting, body, &[target], on), |d| d.cost.attend_levels = attend.to_vec())
}

#[test]
fn cascade_flags_attendance_three_levels_down() {
    use Level::*;
    let e = run(&[
        // From the prefecture down to the villages: three levels.
        meeting(41, CITY, PREFECTURE, day(2026, 3, 2), &[Prefecture, County, Township, Village]),
        // From the prefecture down to the townships: two levels.
        meeting(42, CITY, PREFECTURE, day(2026, 3, 3), &[Prefecture, County, Township]),
        // From the county down to the villages: two levels.
        meeting(43, AGRI, COUNTY, day(2026, 3, 4), &[County, Township, Village]),
    ]);
    assert_eq!(found(&e, "meeting.cascade"), vec![hit(&[PREFECTURE], &[41])]);
}

// ── repetition ───────────────────────────────────────────────────────────────

/// A county meeting that requires the townships to attend, and a visit to one township.
fn meeting_and_visit(visit_topic: &str, visit_on: NaiveDate) -> (Demand, Demand) {
    let m = meeting(51, AGRI, COUNTY, day(2026, 3, 2), &[Level::County, Level::Township]);
    let v = topic(demand(52, DemandKind::ResearchVisit, CITY, &[TOWNSHIP], visit_on), visit_topic);
    (m, v)
}

#[test]
fn repetition_follows_a_topic_down_through_a_meeting() {
    let (m, v) = meeting_and_visit("高标准农田建设", day(2026, 3, 20));
    let e = run(&[m, v]);
    assert_eq!(found(&e, "repetition.topic"), vec![hit(&[TOWNSHIP], &[51, 52])]);
    let f = e.findings().into_iter().find(|f| f.rule == "repetition.topic").unwrap();
    assert!(f.merge);
    assert!(
        f.evidence.zh.contains("高标准农田建设") && f.evidence.zh.contains("枫亭镇"),
        "{}",
        f.evidence.zh
    );
}

#[test]
fn repetition_reaches_a_township_through_a_prefecture_meeting() {
    use Level::*;
    let e = run(&[
        meeting(53, CITY, PREFECTURE, day(2026, 3, 2), &[Prefecture, Township]),
        demand(54, DemandKind::Document, AGRI, &[TOWNSHIP], day(2026, 3, 9)),
        // A village hears it through its township; villages are not tracked.
        demand(55, DemandKind::ResearchVisit, STATS, &[VILLAGE], day(2026, 3, 10)),
    ]);
    assert_eq!(found(&e, "repetition.topic"), vec![hit(&[TOWNSHIP], &[53, 54])]);
}

#[test]
fn repetition_ignores_a_different_topic() {
    let (m, v) = meeting_and_visit("防汛防台风", day(2026, 3, 20));
    let e = run(&[m, v]);
    assert_eq!(found(&e, "repetition.topic"), vec![]);
}

#[test]
fn repetition_ignores_a_repeat_outside_the_window() {
    // 91 days after the meeting; window_days = 90.
    let (m, v) = meeting_and_visit("高标准农田建设", day(2026, 3, 2) + Duration::days(91));
    let e = run(&[m, v]);
    assert_eq!(found(&e, "repetition.topic"), vec![]);
    // And 90 days after is inside.
    let (m, v) = meeting_and_visit("高标准农田建设", day(2026, 3, 2) + Duration::days(90));
    let e = run(&[m, v]);
    assert_eq!(found(&e, "repetition.topic"), vec![hit(&[TOWNSHIP], &[51, 52])]);
}

#[test]
fn repetition_ignores_a_meeting_the_township_need_not_attend() {
    let (m, v) = meeting_and_visit("高标准农田建设", day(2026, 3, 20));
    let m = with(m, |d| d.cost.attend_levels = vec![Level::County]);
    let e = run(&[m, v]);
    assert_eq!(found(&e, "repetition.topic"), vec![]);
}

#[test]
fn repetition_finding_goes_when_the_meeting_is_cancelled() {
    let (m, v) = meeting_and_visit("高标准农田建设", day(2026, 3, 20));
    let mut e = run(&[m.clone(), v]);
    assert_eq!(found(&e, "repetition.topic"), vec![hit(&[TOWNSHIP], &[51, 52])]);
    e.apply(&cancelled(&m)).unwrap();
    assert_eq!(found(&e, "repetition.topic"), vec![]);
}

// ── duplicate_data ───────────────────────────────────────────────────────────

fn data_request(n: u128, body: u128, field: &str, on: NaiveDate) -> Demand {
    with(demand(n, DemandKind::DataRequest, body, &[VILLAGE], on), |d| {
        d.cost.forms = 1;
        d.cost.fields = vec![field.into()];
    })
}

#[test]
fn duplicate_data_finds_one_field_asked_by_two_bodies() {
    let e = run(&[
        data_request(61, STATS, "常住人口", day(2026, 4, 1)),
        data_request(62, ORG, "常住人口数", day(2026, 4, 10)),
        // Another field from a third body.
        data_request(63, AGRI, "户籍人口", day(2026, 4, 11)),
    ]);
    assert_eq!(found(&e, "data.duplicate_field"), vec![hit(&[VILLAGE], &[61, 62])]);
    let f = e.findings().into_iter().find(|f| f.rule == "data.duplicate_field").unwrap();
    assert!(f.merge);
    assert!(f.evidence.zh.contains("常住人口") && f.evidence.zh.contains("2个机构"), "{}", f.evidence.zh);
}

#[test]
fn duplicate_data_counts_bodies_not_requests() {
    let e = run(&[
        data_request(61, STATS, "常住人口", day(2026, 4, 1)),
        data_request(62, STATS, "常住人口数", day(2026, 4, 10)),
    ]);
    assert_eq!(found(&e, "data.duplicate_field"), vec![]);
}

#[test]
fn duplicate_data_looks_back_a_year() {
    // 366 days apart: outside the 365-day window.
    let e = run(&[
        data_request(61, STATS, "常住人口", day(2026, 4, 1)),
        data_request(62, ORG, "常住人口", day(2027, 4, 2)),
    ]);
    assert_eq!(found(&e, "data.duplicate_field"), vec![]);
    // 365 days apart: inside.
    let e = run(&[
        data_request(61, STATS, "常住人口", day(2026, 4, 1)),
        data_request(62, ORG, "常住人口", day(2027, 4, 1)),
    ]);
    assert_eq!(found(&e, "data.duplicate_field"), vec![hit(&[VILLAGE], &[61, 62])]);
}

#[test]
fn duplicate_data_window_slides_past_a_lone_body() {
    // 县统计局 asks twice; 200 days after its second request 县委组织部 asks too: two
    // bodies within a year. Requests each within a year of the one before make one episode.
    let e = run(&[
        data_request(61, STATS, "常住人口", day(2026, 1, 1)),
        data_request(62, STATS, "常住人口", day(2026, 7, 1)),
        data_request(63, ORG, "常住人口", day(2027, 1, 17)),
    ]);
    assert_eq!(found(&e, "data.duplicate_field"), vec![hit(&[VILLAGE], &[61, 62, 63])]);
}

// ── indicator_inflation ──────────────────────────────────────────────────────

fn indicators(n: u128, body: u128, target: &str, on: NaiveDate, count: u32) -> Demand {
    with(demand(n, DemandKind::Indicator, body, &[target], on), |d| d.cost.indicators = count)
}

fn indicator_rules(per_unit: u32, per_department: u32, one_in_one_out: bool) -> RuleSet {
    overridden(&format!(
        "[[override]]\nid = \"indicator.inflation\"\n[override.params]\nmax_per_unit = {per_unit}\n\
         max_per_department = {per_department}\none_in_one_out = {one_in_one_out}\n"
    ))
}

#[test]
fn indicator_inflation_per_unit() {
    let e = run_with(
        indicator_rules(5, 100, false),
        &[
            // Six on the county from two departments.
            indicators(71, STATS, COUNTY, day(2026, 2, 1), 3),
            indicators(72, ORG, COUNTY, day(2026, 2, 2), 3),
            // Exactly five on a township.
            indicators(73, STATS, TOWNSHIP, day(2026, 2, 3), 2),
            indicators(74, ORG, TOWNSHIP, day(2026, 2, 4), 3),
            // Six on the other township, but over two years.
            indicators(75, STATS, OTHER_TOWNSHIP, day(2025, 12, 31), 3),
            indicators(76, ORG, OTHER_TOWNSHIP, day(2026, 1, 1), 3),
        ],
    );
    assert_eq!(found(&e, "indicator.inflation"), vec![hit(&[COUNTY], &[71, 72])]);
}

#[test]
fn indicator_inflation_per_department() {
    let e = run_with(
        indicator_rules(1000, 5, false),
        &[
            // Six from 省农业农村厅's two divisions, on two units.
            indicators(71, DIV_A, COUNTY, day(2026, 2, 1), 3),
            indicators(72, DIV_B, TOWNSHIP, day(2026, 2, 2), 3),
            // Exactly five from 市应急管理局.
            indicators(73, CITY, COUNTY, day(2026, 2, 3), 5),
        ],
    );
    assert_eq!(found(&e, "indicator.inflation"), vec![hit(&[COUNTY, TOWNSHIP], &[71, 72])]);
}

#[test]
fn indicator_inflation_one_in_one_out() {
    let e = run_with(
        indicator_rules(1000, 1000, true),
        &[
            // 县统计局: 3 last year, 4 this year.
            indicators(71, STATS, COUNTY, day(2025, 3, 1), 3),
            indicators(72, STATS, COUNTY, day(2026, 3, 1), 2),
            indicators(73, STATS, TOWNSHIP, day(2026, 3, 2), 2),
            // 县委组织部: 3 last year, 2 this year.
            indicators(74, ORG, COUNTY, day(2025, 3, 1), 3),
            indicators(75, ORG, COUNTY, day(2026, 3, 1), 2),
            // 县农业农村局: none last year.
            indicators(76, AGRI, COUNTY, day(2026, 3, 1), 9),
        ],
    );
    assert_eq!(found(&e, "indicator.inflation"), vec![hit(&[COUNTY, TOWNSHIP], &[72, 73])]);
    let f = e.findings().into_iter().find(|f| f.rule == "indicator.inflation").unwrap();
    assert!(f.evidence.zh.contains("县统计局") && f.evidence.zh.contains("立一废一"), "{}", f.evidence.zh);
}

// ── hosting_load ─────────────────────────────────────────────────────────────

fn work_group(n: u128, body: u128, on: NaiveDate, person_days: f64) -> Demand {
    with(demand(n, DemandKind::WorkGroup, body, &[COUNTY], on), |d| {
        d.cost.visitors = 5;
        d.cost.host_person_days = person_days;
    })
}

#[test]
fn hosting_load_sums_a_quarter() {
    let e =
        run(&[work_group(81, STATS, day(2026, 1, 10), 40.0), work_group(82, ORG, day(2026, 3, 20), 20.5)]);
    assert_eq!(found(&e, "workgroup.hosting_load"), vec![hit(&[COUNTY], &[81, 82])]);
}

#[test]
fn hosting_load_allows_exactly_the_maximum() {
    let e =
        run(&[work_group(81, STATS, day(2026, 1, 10), 40.0), work_group(82, ORG, day(2026, 3, 20), 20.0)]);
    assert_eq!(found(&e, "workgroup.hosting_load"), vec![]);
}

#[test]
fn hosting_load_split_across_quarters() {
    let e = run(&[work_group(81, STATS, day(2026, 3, 31), 40.0), work_group(82, ORG, day(2026, 4, 1), 40.0)]);
    assert_eq!(found(&e, "workgroup.hosting_load"), vec![]);
}

// ── disguised_inspection / visit_demands ─────────────────────────────────────

#[test]
fn disguised_inspection_and_routine_demands() {
    let planned = |d: Demand| with(d, |d| d.cost.flags.push(Flag::InAnnualPlan));
    let e = run(&[
        // A research visit that hands out forms.
        with(demand(91, DemandKind::ResearchVisit, DEPT, &[COUNTY], day(2026, 6, 1)), |d| d.cost.forms = 2),
        // A research visit that asks for reports.
        with(demand(92, DemandKind::ResearchVisit, CITY, &[TOWNSHIP], day(2026, 6, 2)), |d| {
            d.cost.flags = vec![Flag::ReportsDemanded]
        }),
        // An inspection with forms: an inspection already, but routine demands.
        planned(with(demand(93, DemandKind::Inspection, DEV, &[COUNTY], day(2026, 6, 3)), |d| {
            d.cost.forms = 2
        })),
        // A guidance visit that requires the principal leader.
        with(demand(94, DemandKind::GuidanceVisit, STATS, &[COUNTY], day(2026, 6, 4)), |d| {
            d.cost.flags = vec![Flag::PrincipalAttendance]
        }),
        // A plain research visit.
        demand(95, DemandKind::ResearchVisit, ORG, &[COUNTY], day(2026, 6, 5)),
        // A meeting with forms is no visit.
        with(demand(96, DemandKind::Meeting, AGRI, &[COUNTY], day(2026, 6, 6)), |d| d.cost.forms = 2),
    ]);
    assert_eq!(
        found(&e, "inspection.disguised_as_visit"),
        vec![hit(&[COUNTY], &[91]), hit(&[TOWNSHIP], &[92])]
    );
    assert_eq!(
        found(&e, "visit.routine_demands"),
        vec![hit(&[COUNTY], &[91]), hit(&[COUNTY], &[93]), hit(&[COUNTY], &[94])]
    );
    assert_eq!(severity_of(&e, "inspection.disguised_as_visit"), vec![Severity::Violation; 2]);
    assert!(found(&e, "inspection.plan").is_empty());
}

// ── plan_compliance ──────────────────────────────────────────────────────────

#[test]
fn plan_compliance() {
    let e = run(&[
        demand(101, DemandKind::Inspection, DEPT, &[COUNTY], day(2026, 6, 1)),
        with(demand(102, DemandKind::Inspection, CITY, &[COUNTY], day(2026, 6, 2)), |d| {
            d.cost.flags = vec![Flag::InAnnualPlan]
        }),
        topic(demand(103, DemandKind::Inspection, CITY, &[COUNTY], day(2026, 6, 3)), "安全生产"),
        // Only inspections need a plan.
        demand(104, DemandKind::ResearchVisit, DEV, &[COUNTY], day(2026, 6, 4)),
    ]);
    assert_eq!(found(&e, "inspection.plan"), vec![hit(&[COUNTY], &[101])]);
}

// ── annual_count ─────────────────────────────────────────────────────────────

fn comprehensive_inspection(n: u128, body: u128, target: &str, on: NaiveDate) -> Demand {
    with(demand(n, DemandKind::Inspection, body, &[target], on), |d| {
        d.cost.flags = vec![Flag::Comprehensive, Flag::InAnnualPlan]
    })
}

#[test]
fn annual_count_per_department() {
    let e = run(&[
        // Two divisions of one department in 2026.
        comprehensive_inspection(111, DIV_A, COUNTY, day(2026, 3, 1)),
        comprehensive_inspection(112, DIV_B, TOWNSHIP, day(2026, 9, 1)),
        // One that is not comprehensive does not count.
        with(demand(113, DemandKind::Inspection, DEPT, &[COUNTY], day(2026, 10, 1)), |d| {
            d.cost.flags = vec![Flag::InAnnualPlan]
        }),
        // Another department, once in 2025 and once in 2026.
        comprehensive_inspection(114, DEV, COUNTY, day(2025, 12, 31)),
        comprehensive_inspection(115, DEV, COUNTY, day(2026, 1, 1)),
    ]);
    assert_eq!(found(&e, "inspection.comprehensive_per_year"), vec![hit(&[COUNTY, TOWNSHIP], &[111, 112])]);
}

// ── document_length ──────────────────────────────────────────────────────────

fn document(n: u128, body: u128, on: NaiveDate, chars: u32, flags: &[Flag]) -> Demand {
    with(demand(n, DemandKind::Document, body, &[COUNTY], on), |d| {
        d.cost.doc_chars = chars;
        d.cost.flags = flags.to_vec();
    })
}

#[test]
fn document_length() {
    let e = run(&[
        document(121, DEPT, day(2026, 2, 1), 5001, &[]),
        document(122, DEPT, day(2026, 2, 2), 5000, &[]),
        document(123, DEPT, day(2026, 2, 3), 4001, &[Flag::SpecificTask]),
        document(124, DEPT, day(2026, 2, 4), 4000, &[Flag::SpecificTask]),
        document(125, DEPT, day(2026, 2, 5), 9000, &[Flag::Comprehensive]),
    ]);
    assert_eq!(found(&e, "doc.length"), vec![hit(&[COUNTY], &[121]), hit(&[COUNTY], &[123])]);
}

// ── document_volume ──────────────────────────────────────────────────────────

#[test]
fn document_volume_against_last_year() {
    let doc = |n, body, on| with(document(n, body, on, 1000, &[]), |d| d.targets = vec![code(TOWNSHIP)]);
    let e = run(&[
        // 县统计局: one last year, two this year.
        doc(131, STATS, day(2025, 6, 1)),
        doc(132, STATS, day(2026, 6, 1)),
        doc(133, STATS, day(2026, 7, 1)),
        // 县委组织部: none last year, three this year.
        doc(134, ORG, day(2026, 6, 1)),
        doc(135, ORG, day(2026, 6, 2)),
        doc(136, ORG, day(2026, 6, 3)),
        // 县农业农村局: two and two.
        doc(137, AGRI, day(2025, 6, 1)),
        doc(138, AGRI, day(2025, 6, 2)),
        doc(139, AGRI, day(2026, 6, 1)),
        doc(140, AGRI, day(2026, 6, 2)),
    ]);
    // The finding is counted at the issuing department's unit.
    assert_eq!(found(&e, "doc.volume"), vec![hit(&[COUNTY], &[132, 133])]);
}

// ── forbidden_terms / forbidden_practice ─────────────────────────────────────

#[test]
fn forbidden_practices_and_terms() {
    let flagged = |d: Demand, f: Flag| with(d, |d| d.cost.flags = vec![f]);
    let e = run(&[
        // A one-vote veto required by a document, not named in its title.
        flagged(demand(141, DemandKind::Document, DEPT, &[COUNTY], day(2026, 2, 1)), Flag::OneVoteVeto),
        // The same flag on a meeting: not a document.
        flagged(demand(142, DemandKind::Meeting, DEPT, &[COUNTY], day(2026, 2, 2)), Flag::OneVoteVeto),
        // A document whose title names a responsibility pledge.
        with(demand(143, DemandKind::Document, CITY, &[COUNTY], day(2026, 2, 3)), |d| {
            d.title = "关于签订高标准农田建设责任状的通知".into()
        }),
        // An indicator judged by photos.
        with(demand(144, DemandKind::Indicator, STATS, &[TOWNSHIP], day(2026, 2, 4)), |d| {
            d.title = "高标准农田建设拍照留痕完成率".into();
            d.cost.indicators = 1;
        }),
        // An app that forces clock-in, and one for emergencies that may.
        flagged(
            demand(145, DemandKind::AppObligation, ORG, &[VILLAGE], day(2026, 2, 5)),
            Flag::ForcedClockIn,
        ),
        flagged(
            topic(demand(146, DemandKind::AppObligation, CITY, &[VILLAGE], day(2026, 2, 6)), "应急值守"),
            Flag::ForcedClockIn,
        ),
    ]);
    assert_eq!(found(&e, "doc.forbidden_demands"), vec![hit(&[COUNTY], &[141])]);
    assert_eq!(found(&e, "doc.forbidden_terms"), vec![hit(&[COUNTY], &[143])]);
    assert_eq!(found(&e, "assessment.forbidden_content"), vec![hit(&[TOWNSHIP], &[144])]);
    assert_eq!(found(&e, "app.forbidden_assessment"), vec![hit(&[VILLAGE], &[145])]);
    let f = e.findings().into_iter().find(|f| f.rule == "assessment.forbidden_content").unwrap();
    assert!(f.evidence.zh.contains("拍照留痕"), "{}", f.evidence.zh);
}

// ── meeting_duration ─────────────────────────────────────────────────────────

fn timed(n: u128, from: NaiveDateTime, to: NaiveDateTime, flags: &[Flag], speech: u32) -> Demand {
    with(meeting(n, AGRI, COUNTY, from.date(), &[Level::County]), |d| {
        d.starts_at = from;
        d.ends_at = to;
        d.cost.flags = flags.to_vec();
        d.cost.speech_minutes = speech;
    })
}

#[test]
fn meeting_duration() {
    let g = &[Flag::GroupDiscussion];
    let e = run(&[
        timed(151, at(2026, 3, 2, 9, 0), at(2026, 3, 2, 12, 0), &[], 0),
        timed(152, at(2026, 3, 3, 9, 0), at(2026, 3, 3, 17, 30), &[], 0),
        timed(153, at(2026, 3, 4, 9, 0), at(2026, 3, 5, 12, 0), g, 0),
        timed(154, at(2026, 3, 6, 9, 0), at(2026, 3, 7, 17, 30), g, 0),
        timed(155, at(2026, 3, 9, 9, 0), at(2026, 3, 9, 11, 0), &[], 61),
        timed(156, at(2026, 3, 10, 9, 0), at(2026, 3, 10, 11, 0), &[], 60),
    ]);
    assert_eq!(
        found(&e, "meeting.duration"),
        vec![hit(&[COUNTY], &[152]), hit(&[COUNTY], &[154]), hit(&[COUNTY], &[155])]
    );
}

// ── escort_attendance ────────────────────────────────────────────────────────

#[test]
fn escort_attendance() {
    use Level::*;
    let flags = |d: Demand, f: &[Flag]| with(d, |d| d.cost.flags = f.to_vec());
    let e = run(&[
        meeting(161, AGRI, COUNTY, day(2026, 3, 2), &[County, Township]),
        with(meeting(162, AGRI, COUNTY, day(2026, 3, 3), &[County, Township]), |d| d.cost.video = true),
        flags(
            meeting(163, AGRI, COUNTY, day(2026, 3, 4), &[County]),
            &[Flag::DeputyConvener, Flag::PrincipalAttendance],
        ),
        flags(meeting(164, AGRI, COUNTY, day(2026, 3, 5), &[County]), &[Flag::DeputyConvener]),
        flags(meeting(165, AGRI, COUNTY, day(2026, 3, 6), &[County]), &[Flag::PrincipalAttendance]),
    ]);
    assert_eq!(found(&e, "meeting.escort_attendance"), vec![hit(&[COUNTY], &[161]), hit(&[COUNTY], &[163])]);
}

// ── redeployment ─────────────────────────────────────────────────────────────

#[test]
fn redeployment_flags_the_meeting_that_repeats_a_document() {
    // The meeting is written before the document it repeats.
    let m = meeting(172, AGRI, COUNTY, day(2026, 4, 1), &[Level::County]);
    let d = with(demand(171, DemandKind::Document, AGRI, &[TOWNSHIP], day(2026, 3, 1)), |d| {
        d.cost.doc_chars = 2000
    });
    let e = run(&[m, d]);
    // The finding is the meeting's: it comes first, the documents it repeats after it.
    assert_eq!(found(&e, "meeting.redeploy_document"), vec![hit(&[COUNTY], &[172, 171])]);
    let f = e.findings().into_iter().find(|f| f.rule == "meeting.redeploy_document").unwrap();
    assert_eq!(f.date, day(2026, 3, 1));
}

#[test]
fn redeployment_needs_the_same_department() {
    let e = run(&[
        demand(171, DemandKind::Document, ORG, &[TOWNSHIP], day(2026, 3, 1)),
        meeting(172, AGRI, COUNTY, day(2026, 4, 1), &[Level::County]),
    ]);
    assert_eq!(found(&e, "meeting.redeploy_document"), vec![]);
}

#[test]
fn redeployment_needs_the_same_topic_and_window_and_targets() {
    let e = run(&[
        // Another topic.
        topic(demand(171, DemandKind::Document, AGRI, &[COUNTY], day(2026, 3, 1)), "防汛防台风"),
        // 181 days before the meeting; window_days = 180.
        demand(173, DemandKind::Document, AGRI, &[COUNTY], day(2026, 4, 1) - Duration::days(181)),
        // Another county.
        demand(174, DemandKind::Document, AGRI, &[OTHER_COUNTY], day(2026, 3, 2)),
        // After the meeting.
        demand(175, DemandKind::Document, AGRI, &[COUNTY], day(2026, 4, 2)),
        meeting(172, AGRI, COUNTY, day(2026, 4, 1), &[Level::County]),
    ]);
    assert_eq!(found(&e, "meeting.redeploy_document"), vec![]);
}

#[test]
fn redeployment_ignores_a_unit_whose_code_merely_contains_the_other() {
    // 353501 is a county of prefecture 3535; its code contains 3501, another prefecture,
    // which is neither it nor above it.
    let mut all = units();
    all.extend([("3501", "甲市"), ("3535", "乙市"), ("353501", "乙县")].map(|(c, n)| Unit::new(code(c), n)));
    let mut e = Engine::new(RuleSet::national(), &all, &bodies());
    e.apply(&demand(171, DemandKind::Document, DEPT, &["3501"], day(2026, 3, 1))).unwrap();
    e.apply(&meeting(172, DEPT, "353501", day(2026, 4, 1), &[Level::County])).unwrap();
    assert_eq!(found(&e, "meeting.redeploy_document"), vec![]);
}

// ── secondment_level ─────────────────────────────────────────────────────────

#[test]
fn secondment_level() {
    let e = run(&[
        demand(181, DemandKind::Secondment, DEPT, &[TOWNSHIP], day(2026, 5, 1)),
        demand(182, DemandKind::Secondment, DEPT, &[PREFECTURE], day(2026, 5, 2)),
        with(demand(183, DemandKind::WorkGroup, DEPT, &[COUNTY], day(2026, 5, 3)), |d| {
            d.title = "高标准农田建设工作专班".into()
        }),
        with(demand(184, DemandKind::WorkGroup, DEPT, &[PREFECTURE], day(2026, 5, 4)), |d| {
            d.title = "高标准农田建设工作专班".into()
        }),
        // Only the units at forbidden levels are named.
        demand(185, DemandKind::Secondment, DEPT, &[PREFECTURE, VILLAGE], day(2026, 5, 5)),
    ]);
    assert_eq!(
        found(&e, "secondment.county_and_below"),
        vec![hit(&[TOWNSHIP], &[181]), hit(&[COUNTY], &[183]), hit(&[VILLAGE], &[185])]
    );
    let f = e
        .findings()
        .into_iter()
        .find(|f| f.demands == [id(183)] && f.rule.starts_with("secondment"))
        .unwrap();
    assert!(f.evidence.zh.contains("工作专班"), "{}", f.evidence.zh);
}

// ── demonstration_target ─────────────────────────────────────────────────────

#[test]
fn demonstration_target() {
    let e = run(&[
        demand(191, DemandKind::Signboard, DEPT, &[VILLAGE], day(2026, 5, 1)),
        demand(192, DemandKind::Signboard, DEPT, &[COUNTY], day(2026, 5, 2)),
        demand(193, DemandKind::Signboard, DEPT, &[COUNTY, TOWNSHIP], day(2026, 5, 3)),
    ]);
    assert_eq!(
        found(&e, "demonstration.grassroots"),
        vec![hit(&[VILLAGE], &[191]), hit(&[TOWNSHIP], &[193])]
    );
}

// ── precheck ─────────────────────────────────────────────────────────────────

#[test]
fn precheck_names_the_cap_a_planned_visit_would_break_and_writes_nothing() {
    let mut visits = five_visits(COUNTY, day(2026, 1, 20));
    let planned = visits.pop().unwrap();
    let e = run(&visits);
    assert_eq!(found(&e, "visit.cap_per_unit"), vec![]);
    let before = e.digest();

    let p = e.precheck(&planned).unwrap();
    let caps: Vec<_> = p.findings.iter().filter(|f| f.rule == "visit.cap_per_unit").collect();
    assert_eq!(caps.len(), 1, "{:#?}", p.findings);
    assert_eq!(caps[0].units, vec![code(COUNTY)]);
    // The stored visits are the evidence, with the planned one in date order.
    assert_eq!(caps[0].demands, [11, 12, 13, 15, 14].map(id).to_vec());
    assert!(caps[0].evidence.zh.contains("5次"), "{}", caps[0].evidence.zh);
    // Every finding of a pre-check involves the planned demand.
    assert!(p.findings.iter().all(|f| f.demands.contains(&planned.id)));

    assert_eq!(e.digest(), before, "a pre-check writes nothing");
    assert_eq!(e.demand_count(), 4);
    assert!(e.findings_of(planned.id).is_empty());
}

#[test]
fn precheck_within_the_cap_finds_no_cap() {
    let mut visits = five_visits(COUNTY, day(2026, 2, 3));
    let planned = visits.pop().unwrap();
    let e = run(&visits);
    let p = e.precheck(&planned).unwrap();
    assert!(p.findings.iter().all(|f| f.rule != "visit.cap_per_unit"), "{:#?}", p.findings);
}

#[test]
fn precheck_of_an_unknown_unit() {
    let e = run(&[demand(11, DemandKind::ResearchVisit, DEPT, &[COUNTY], day(2026, 1, 5))]);
    let planned = demand(12, DemandKind::ResearchVisit, DEPT, &[COUNTY, "350322199"], day(2026, 1, 6));
    assert_eq!(e.precheck(&planned), Err(Unknown::Unit("350322199".into())));
    let planned = demand(12, DemandKind::ResearchVisit, 99, &[COUNTY], day(2026, 1, 6));
    assert_eq!(e.precheck(&planned), Err(Unknown::Body(id(99))));
}

// ── load ─────────────────────────────────────────────────────────────────────

#[test]
fn a_second_load_replaces_a_changed_demand() {
    // The second batch holds an earlier new demand, then a change to a stored one.
    let a = demand(11, DemandKind::ResearchVisit, DEPT, &[COUNTY], day(2026, 1, 5));
    let c = demand(12, DemandKind::ResearchVisit, CITY, &[COUNTY], day(2026, 1, 3));
    let a2 = with(a.clone(), |d| d.revision = 2);
    let mut e = Engine::new(RuleSet::national(), &units(), &bodies());
    e.load([a]).unwrap();
    e.load([c.clone(), a2.clone()]).unwrap();
    let mut fresh = Engine::new(RuleSet::national(), &units(), &bodies());
    fresh.load([c, a2]).unwrap();
    assert_eq!(e.demand_count(), 2);
    // One visit of 省农业农村厅 and one of 市应急管理局: no department came twice.
    assert_eq!(found(&e, "visit.cap_per_source"), vec![]);
    assert_eq!(found(&e, "coordination.merge"), vec![]);
    assert_eq!(e.digest(), fresh.digest());
}
