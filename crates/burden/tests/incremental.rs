//! After any sequence of writes, changes and cancellations, the incrementally maintained
//! findings and rollups equal a full recomputation over the final demands.

use chrono::{Duration, NaiveDate};
use proptest::prelude::*;
use tongxin_burden::Engine;
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Unit, UnitCode,
};
use tongxin_rules::RuleSet;
use uuid::Uuid;

const UNITS: &[(&str, &str)] = &[
    ("35", "福建省"),
    ("3503", "莆田市"),
    ("350322", "仙游县"),
    ("350322100", "枫亭镇"),
    ("350322101", "榜头镇"),
    ("350322100201", "枫亭村"),
    ("350322100202", "霞街村"),
    ("350322101201", "榜头村"),
];

fn units() -> Vec<Unit> {
    UNITS.iter().map(|(c, n)| Unit::new(UnitCode::parse(c).unwrap(), *n)).collect()
}

fn bodies() -> Vec<Body> {
    let id = |n: u128| Uuid::from_u128(n);
    let b = |i: u128, unit: &str, name: &str, kind, parent: Option<u128>| Body {
        id: id(i),
        unit: UnitCode::parse(unit).unwrap(),
        name: name.into(),
        kind,
        parent: parent.map(id),
    };
    vec![
        b(1, "35", "省农业农村厅", BodyKind::Department, None),
        b(2, "35", "种植业管理处", BodyKind::Division, Some(1)),
        b(3, "35", "农田建设管理处", BodyKind::Division, Some(1)),
        b(4, "3503", "市应急管理局", BodyKind::Department, None),
        b(5, "350322", "县统计局", BodyKind::Department, None),
        b(6, "350322", "县委组织部", BodyKind::Department, None),
    ]
}

const TOPICS: &[&str] =
    &["高标准农田建设", "高标准农田建设质量", "防汛防台风", "安全生产", "基层党建", "乡村振兴"];
const FIELDS: &[&str] = &["常住人口", "常住人口数", "户籍人口", "低保户数", "党员人数"];

#[derive(Debug, Clone)]
struct Draft {
    kind: usize,
    body: u128,
    targets: Vec<usize>,
    day: i64,
    hours: i64,
    topic: usize,
    cadre_hours: u32,
    host: u32,
    forms: u32,
    fields: Vec<usize>,
    indicators: u32,
    doc_chars: u32,
    speech: u32,
    flags: u32,
    attend: Vec<usize>,
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        (
            0..DemandKind::ALL.len(),
            1u128..=6,
            proptest::collection::vec(1..UNITS.len(), 1..3),
            0i64..400,
            1i64..30,
        ),
        (0..TOPICS.len(), 0u32..2000, 0u32..4000, 0u32..4, proptest::collection::vec(0..FIELDS.len(), 0..3)),
        (0u32..120, 0u32..9000, 0u32..120, 0u32..(1 << 18), proptest::collection::vec(1..5usize, 0..3)),
    )
        .prop_map(|(a, b, c)| Draft {
            kind: a.0,
            body: a.1,
            targets: a.2,
            day: a.3,
            hours: a.4,
            topic: b.0,
            cadre_hours: b.1,
            host: b.2,
            forms: b.3,
            fields: b.4,
            indicators: c.0,
            doc_chars: c.1,
            speech: c.2,
            flags: c.3,
            attend: c.4,
        })
}

fn demand(id: Uuid, d: &Draft) -> Demand {
    let start =
        NaiveDate::from_ymd_opt(2025, 11, 1).unwrap().and_hms_opt(9, 0, 0).unwrap() + Duration::days(d.day);
    let mut targets: Vec<UnitCode> =
        d.targets.iter().map(|i| UnitCode::parse(UNITS[*i].0).unwrap()).collect();
    targets.sort();
    targets.dedup();
    let kind = DemandKind::ALL[d.kind];
    let top = targets.iter().map(|t| t.level()).min().unwrap();
    let mut attend: Vec<Level> =
        d.attend.iter().filter_map(|n| Level::from_number(*n as u8)).filter(|l| *l >= top).collect();
    attend.sort();
    attend.dedup();
    if kind == DemandKind::Meeting && attend.is_empty() {
        attend.push(top);
    }
    let mut fields: Vec<String> = d.fields.iter().map(|i| FIELDS[*i].to_owned()).collect();
    if kind == DemandKind::DataRequest && fields.is_empty() {
        fields.push(FIELDS[0].into());
    }
    Demand {
        id,
        kind,
        source_body: Uuid::from_u128(d.body),
        source_department: Uuid::nil(),
        title: format!("关于{}的{}", TOPICS[d.topic], kind.zh()),
        topic: TOPICS[d.topic].into(),
        targets,
        starts_at: start,
        ends_at: start + Duration::hours(d.hours),
        status: DemandStatus::Planned,
        origin: DemandOrigin::Registered,
        cost: Cost {
            cadre_hours: f64::from(d.cadre_hours) / 4.0,
            host_person_days: f64::from(d.host) / 10.0,
            visitors: 3,
            forms: d.forms,
            fields,
            attend_levels: if kind == DemandKind::Meeting { attend } else { vec![] },
            indicators: if kind == DemandKind::Indicator { d.indicators.max(1) } else { d.indicators },
            doc_chars: d.doc_chars,
            speech_minutes: d.speech,
            flags: Flag::from_bits(d.flags),
            ..Cost::default()
        },
        revision: 1,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create(Draft),
    Change(usize, Draft),
    Cancel(usize),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(
        prop_oneof![
            4 => draft().prop_map(Op::Create),
            2 => (any::<usize>(), draft()).prop_map(|(i, d)| Op::Change(i, d)),
            1 => any::<usize>().prop_map(Op::Cancel),
        ],
        1..60,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_full_recomputation(ops in ops()) {
        let (units, bodies) = (units(), bodies());
        let mut live = Engine::new(RuleSet::national(), &units, &bodies);
        let mut current: Vec<Demand> = Vec::new();
        for (n, op) in ops.iter().enumerate() {
            match op {
                Op::Create(d) => {
                    let demand = demand(Uuid::from_u128(1000 + n as u128), d);
                    demand.validate().unwrap();
                    live.apply(&demand).unwrap();
                    current.push(demand);
                }
                Op::Change(i, d) if !current.is_empty() => {
                    let i = i % current.len();
                    let changed = demand(current[i].id, d);
                    live.apply(&changed).unwrap();
                    current[i] = changed;
                }
                Op::Cancel(i) if !current.is_empty() => {
                    let i = i % current.len();
                    current[i].status = DemandStatus::Cancelled;
                    live.apply(&current[i]).unwrap();
                }
                _ => {}
            }
        }
        let mut full = Engine::new(RuleSet::national(), &units, &bodies);
        full.load(current.clone()).unwrap();
        let (a, b) = (live.digest(), full.digest());
        let only_live: Vec<_> = a.0.iter().filter(|f| !b.0.contains(f)).collect();
        let only_full: Vec<_> = b.0.iter().filter(|f| !a.0.contains(f)).collect();
        prop_assert!(only_live.is_empty() && only_full.is_empty(), "findings differ: incremental only {only_live:#?}\nfull only {only_full:#?}");
        let only_live: Vec<_> = a.1.iter().filter(|f| !b.1.contains(f)).collect();
        let only_full: Vec<_> = b.1.iter().filter(|f| !a.1.contains(f)).collect();
        prop_assert!(only_live.is_empty() && only_full.is_empty(), "rollups differ: incremental only {only_live:#?}\nfull only {only_full:#?}");
        // And recomputing in place changes nothing.
        live.recompute();
        prop_assert_eq!(live.digest(), b);
    }
}
