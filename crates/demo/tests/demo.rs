//! The demo generator on real units: reproducibility, validity of every value, the
//! volume, each of the six DESIGN.md §1 scenarios and each staged forbidden practice,
//! and the spread of flags, checked on the data itself.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Instant;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use tongxin_demo::{DEMO_PASSWORD, Demo, DemoError, DemoOptions, generate, generate_with};
use tongxin_domain::{
    Body, BodyKind, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Role, Unit, UnitCode,
};
use uuid::Uuid;

fn units(province: &str) -> &'static [Unit] {
    static FJ: OnceLock<Vec<Unit>> = OnceLock::new();
    static SC: OnceLock<Vec<Unit>> = OnceLock::new();
    let cell = match province {
        "35" => &FJ,
        "51" => &SC,
        other => panic!("no cache for {other}"),
    };
    cell.get_or_init(|| tongxin_divisions::load(Some(province)).expect("divisions load"))
}

fn fujian() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let u = units("35");
        let t = Instant::now();
        let demo = generate(u, "35", 2026, 42).expect("the demo generates");
        eprintln!(
            "Fujian demo: {} bodies, {} demands, {} accounts in {:?}",
            demo.bodies.len(),
            demo.demands.len(),
            demo.accounts.len(),
            t.elapsed()
        );
        demo
    })
}

fn by_id(demo: &Demo) -> HashMap<Uuid, &Demand> {
    demo.demands.iter().map(|d| (d.id, d)).collect()
}

fn bodies(demo: &Demo) -> HashMap<Uuid, &Body> {
    demo.bodies.iter().map(|b| (b.id, b)).collect()
}

#[test]
fn the_same_seed_gives_the_same_demo_and_another_seed_does_not() {
    let again = generate(units("35"), "35", 2026, 42).unwrap();
    assert!(again == *fujian(), "same seed, same output");
    let other = generate(units("35"), "35", 2026, 43).unwrap();
    assert_ne!(other.demands, fujian().demands);
    assert_eq!(other.scenarios.county, fujian().scenarios.county, "the stage depends on the units only");
}

#[test]
fn every_demand_validates_and_is_consistent() {
    let demo = fujian();
    let bodies = bodies(demo);
    let mut ids = HashSet::new();
    for d in &demo.demands {
        if let Err(e) = d.validate() {
            panic!("{} {}: {e}", d.title, d.kind.as_str());
        }
        assert!(ids.insert(d.id), "duplicate id {}", d.id);
        assert_eq!(d.id.get_version_num(), 7, "UUIDv7");
        assert_eq!(d.revision, 1);
        let body = bodies.get(&d.source_body).expect("source body exists");
        assert_eq!(d.source_department, body.department());
        assert!(d.targets.iter().all(|t| t.province() == "35"));
        assert_eq!(d.starts_at.year(), 2026, "{}", d.title);
        // Targets lie below the source body's unit.
        for t in &d.targets {
            assert!(body.unit.contains(t), "{} at {} targets {t}", body.name, body.unit);
        }
    }
    for (i, w) in demo.demands.windows(2).enumerate() {
        assert!(w[0].starts_at <= w[1].starts_at, "sorted at {i}");
    }
}

#[test]
fn fujian_has_a_realistic_volume_of_every_kind() {
    let demo = fujian();
    let n = demo.demands.len();
    assert!((20_000..=40_000).contains(&n), "{n} demands");
    for kind in DemandKind::ALL {
        let k = demo.demands.iter().filter(|d| d.kind == kind).count();
        assert!(k >= 20, "{}: {k}", kind.as_str());
    }
    for status in DemandStatus::ALL {
        assert!(demo.demands.iter().any(|d| d.status == status), "{}", status.as_str());
    }
    let reported = demo.demands.iter().filter(|d| d.origin == DemandOrigin::Reported).count();
    assert!(reported > 100 && reported < n / 5, "{reported} reported");
    // "Today" is 1 July: nothing after it is held, nothing before it is planned.
    let today = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    for d in &demo.demands {
        match d.status {
            DemandStatus::Planned => assert!(d.starts_at.date() > today, "{}", d.title),
            DemandStatus::Held => assert!(d.starts_at.date() <= today, "{}", d.title),
            DemandStatus::Cancelled => {}
        }
        if d.origin == DemandOrigin::Reported {
            assert!(d.ends_at.date() < today && d.status == DemandStatus::Held);
        }
    }
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// Most meetings are a morning; the rest (group discussion, training courses) start at
/// 9:00 and end at noon or 17:30 on a working day at most two days later.
#[test]
fn dates_are_working_days_and_meetings_are_mostly_mornings() {
    let (mut meetings, mut mornings) = (0, 0);
    for d in &fujian().demands {
        let wd = d.starts_at.weekday().number_from_monday();
        assert!(wd <= 5, "{} starts on a weekend: {}", d.title, d.starts_at);
        if d.kind == DemandKind::Meeting {
            meetings += 1;
            let (s, e) = (d.starts_at.time(), d.ends_at.time());
            assert!(s.hour() >= 9, "{}", d.title);
            if d.starts_at.date() == d.ends_at.date() && e <= hm(11, 30) {
                mornings += 1;
                continue;
            }
            let days = (d.ends_at.date() - d.starts_at.date()).num_days();
            assert!(s == hm(9, 0) && (e == hm(12, 0) || e == hm(17, 30)), "{}: {s}–{e}", d.title);
            assert!((0..=2).contains(&days) && d.ends_at.weekday().number_from_monday() <= 5, "{}", d.title);
            let two_full_days = days == 1 && e == hm(17, 30);
            assert!(d.cost.flags.contains(&Flag::GroupDiscussion) || two_full_days, "{}", d.title);
        }
        if matches!(d.kind, DemandKind::Inspection | DemandKind::ResearchVisit | DemandKind::GuidanceVisit) {
            let days = (d.ends_at.date() - d.starts_at.date()).num_days();
            assert!((0..=5).contains(&days), "{}: {days} days", d.title);
        }
    }
    assert!(mornings * 100 >= meetings * 90, "{mornings} of {meetings} meetings are mornings");
}

#[test]
fn bodies_are_valid_and_shaped_like_real_government() {
    let demo = fujian();
    let by_id = bodies(demo);
    let mut seen = HashSet::new();
    for b in &demo.bodies {
        let parent = b.parent.map(|p| *by_id.get(&p).expect("parent exists"));
        b.validate(parent).unwrap_or_else(|e| panic!("{}: {e}", b.name));
        assert!(seen.insert(b.id));
        assert_eq!(b.id.get_version_num(), 7);
        if let Some(p) = b.parent {
            assert!(seen.contains(&p), "{} comes after its department", b.name);
        }
    }
    fn at<'a>(demo: &'a Demo, code: &'a str) -> impl Iterator<Item = &'a Body> + 'a {
        demo.bodies.iter().filter(move |b| b.unit.as_str() == code)
    }
    let names: HashSet<&str> = at(demo, "35").map(|b| b.name.as_str()).collect();
    for n in [
        "中共福建省委员会",
        "福建省人民政府",
        "福建省农业农村厅",
        "中共福建省委组织部",
        "福建省卫生健康委员会",
    ] {
        assert!(names.contains(n), "{n}");
    }
    let depts: Vec<&Body> = at(demo, "35").filter(|b| b.kind == BodyKind::Department).collect();
    assert!(depts.len() >= 25, "{} provincial departments", depts.len());
    for d in &depts {
        let divs = demo.bodies.iter().filter(|b| b.parent == Some(d.id)).count();
        assert!((3..=6).contains(&divs), "{}: {divs} divisions", d.name);
    }
    let division_names: HashSet<&str> =
        demo.bodies.iter().filter(|b| b.kind == BodyKind::Division).map(|b| b.name.as_str()).collect();
    assert!(division_names.contains("种植业管理处") && division_names.contains("农田建设管理处"));
    let offices: Vec<&Body> = demo.bodies.iter().filter(|b| b.kind == BodyKind::BurdenOffice).collect();
    assert!(offices.iter().any(|b| b.name == "福建省整治形式主义为基层减负专项工作机制办公室"));
    for u in units("35").iter().filter(|u| u.level() == Level::Prefecture) {
        assert_eq!(offices.iter().filter(|b| b.unit == u.code).count(), 1, "{}", u.name);
        let depts: Vec<&Body> =
            at(demo, u.code.as_str()).filter(|b| b.kind == BodyKind::Department).collect();
        assert!((10..=12).contains(&depts.len()), "{}: {}", u.name, depts.len());
        for d in depts {
            let divs = demo.bodies.iter().filter(|b| b.parent == Some(d.id)).count();
            assert!((2..=3).contains(&divs), "{}: {divs}", d.name);
        }
    }
    // Counties with real townships (金门县 has only a placeholder, …000, and is left out).
    let with_towns: HashSet<&str> = units("35")
        .iter()
        .filter(|u| u.level() == Level::Township && !u.code.as_str().ends_with("000"))
        .map(|u| &u.code.as_str()[..6])
        .collect();
    assert!(!with_towns.contains("350527"));
    assert!(!demo.bodies.iter().any(|b| b.unit.as_str().starts_with("350527")), "no bodies at 金门县");
    assert!(!demo.demands.iter().any(|d| d.targets.iter().any(|t| t.as_str().starts_with("350527"))));
    for u in units("35").iter().filter(|u| u.level() == Level::County && with_towns.contains(u.code.as_str()))
    {
        let kinds: Vec<BodyKind> = at(demo, u.code.as_str()).map(|b| b.kind).collect();
        assert!(kinds.contains(&BodyKind::PartyCommittee) && kinds.contains(&BodyKind::Government));
        let n = kinds.iter().filter(|k| **k == BodyKind::Department).count();
        assert!((8..=12).contains(&n), "{}: {n}", u.name);
    }
}

#[test]
fn demo_accounts_cover_each_role() {
    let demo = fujian();
    let s = &demo.scenarios;
    let mut names = HashSet::new();
    for a in &demo.accounts {
        a.user.validate().unwrap_or_else(|e| panic!("{}: {e}", a.user.username));
        assert_eq!(a.password, DEMO_PASSWORD);
        assert!(a.user.password_hash.is_empty());
        assert!(names.insert(a.user.username.clone()));
        assert_eq!(a.user.province(), "35");
        assert_eq!(a.user.id.get_version_num(), 7);
    }
    let find = |u: &str| demo.accounts.iter().find(|a| a.user.username == u).unwrap_or_else(|| panic!("{u}"));
    assert_eq!(find("admin").user.role, Role::Admin);
    assert_eq!(find("office").user.role, Role::Office);
    assert_eq!(find("office").user.scope.as_str(), "35");
    assert_eq!(find(&format!("office.{}", s.county)).user.scope, s.county);
    let staff = find("staff.agri");
    assert_eq!(staff.user.role, Role::BodyStaff);
    assert_eq!(staff.user.body, Some(s.three_divisions.department));
    for code in [&s.county, &s.township, &s.village] {
        let a = find(&format!("cadre.{code}"));
        assert_eq!((a.user.role, &a.user.scope), (Role::Cadre, code));
    }
}

/// Checks the six scenarios of DESIGN.md §1 on `demo`, exactly as stated.
fn check_scenarios(demo: &Demo, units: &[Unit]) {
    let s = &demo.scenarios;
    let demands = by_id(demo);
    let bodies = bodies(demo);
    let get = |id: &Uuid| *demands.get(id).expect("scenario demand exists");
    let unit = |c: &UnitCode| units.iter().find(|u| &u.code == c).expect("scenario unit is real");
    assert_eq!(unit(&s.county).level(), Level::County);
    assert_eq!(s.county.parent().as_ref(), Some(&s.prefecture));
    assert_eq!(s.township.parent().as_ref(), Some(&s.county));
    assert_eq!(s.village.parent().as_ref(), Some(&s.township));
    for d in demo.demands.iter().filter(|d| {
        let ids = [
            &s.three_divisions.visits,
            &s.guidance_visits.visits,
            &s.cascade.meetings,
            &s.duplicate_field.requests,
        ];
        ids.iter().any(|v| v.contains(&d.id)) || d.id == s.work_group.demand
    }) {
        assert_ne!(d.status, DemandStatus::Cancelled, "{}", d.title);
    }

    // 1. Three divisions of one provincial department, same county, same week.
    let t = &s.three_divisions;
    assert_eq!(t.visits.len(), 3);
    let dept = bodies[&t.department];
    assert_eq!((dept.kind, dept.unit.level()), (BodyKind::Department, Level::Province));
    let mut kinds = BTreeSet::new();
    let mut divs = BTreeSet::new();
    for id in &t.visits {
        let d = get(id);
        let div = bodies[&d.source_body];
        assert_eq!(div.kind, BodyKind::Division);
        assert_eq!(d.source_department, t.department);
        assert_eq!(d.targets, vec![s.county.clone()]);
        assert!(d.starts_at.date() >= t.week_of && d.ends_at.date() <= t.week_of + chrono::Days::new(4));
        assert_eq!(d.starts_at.iso_week(), t.week_of.iso_week());
        kinds.insert(d.kind);
        divs.insert(d.source_body);
    }
    assert_eq!(divs.len(), 3, "three different divisions");
    assert_eq!(divs.iter().copied().collect::<Vec<_>>(), {
        let mut v = t.divisions.clone();
        v.sort();
        v
    });
    assert_eq!(kinds.len(), 3, "an inspection, a research visit and a guidance visit");
    assert!(kinds.iter().all(|k| k.is_visit()));

    // 2. 30+ guidance visits on one matter to the county within two months.
    let g = &s.guidance_visits;
    assert!(g.visits.len() >= 30);
    assert!((g.to - g.from).num_days() <= 60);
    let mut sources = HashSet::new();
    for id in &g.visits {
        let d = get(id);
        assert_eq!(d.kind, DemandKind::GuidanceVisit);
        assert_eq!(d.topic, g.topic);
        assert!(d.targets.contains(&s.county));
        assert!(d.starts_at.date() >= g.from && d.ends_at.date() <= g.to, "{}", d.starts_at);
        sources.insert(d.source_body);
    }
    assert!(sources.len() >= 5, "from various bodies: {}", sources.len());
    let on_topic = demo
        .demands
        .iter()
        .filter(|d| {
            d.kind == DemandKind::GuidanceVisit && d.topic == g.topic && d.targets.contains(&s.county)
        })
        .filter(|d| d.starts_at.date() >= g.from && d.starts_at.date() <= g.to)
        .count();
    assert!(on_topic >= 30);

    // 3. A work group of 30+ stationed in the county for months.
    let w = get(&s.work_group.demand);
    assert_eq!(w.kind, DemandKind::WorkGroup);
    assert!(w.cost.visitors >= 30 && s.work_group.visitors == w.cost.visitors);
    assert_eq!(w.targets, vec![s.county.clone()]);
    let days = (w.ends_at.date() - w.starts_at.date()).num_days();
    assert!(days >= 90, "stationed {days} days");
    assert!(w.cost.host_person_days >= days as f64, "host person-days {}", w.cost.host_person_days);

    // 4. Four meetings on one topic reaching the township within two weeks.
    let c = &s.cascade;
    assert_eq!(c.meetings.len(), 4);
    let meetings: Vec<&Demand> = c.meetings.iter().map(get).collect();
    let mut titles = HashSet::new();
    let expected_levels = [Level::Province, Level::Prefecture, Level::County, Level::Township];
    for (m, level) in meetings.iter().zip(expected_levels) {
        assert_eq!(m.kind, DemandKind::Meeting);
        assert_eq!(m.topic, c.topic);
        assert!(
            m.targets.iter().any(|t| t.contains(&s.township))
                && m.cost.attend_levels.contains(&Level::Township),
            "{} reaches the township",
            m.title
        );
        assert_eq!(bodies[&m.source_body].unit.level(), level, "{}", m.title);
        assert!(titles.insert(m.title.clone()));
    }
    assert!(meetings[0].cost.video && meetings[0].cost.attend_levels.contains(&Level::Village));
    assert_eq!(meetings[0].cascade_depth(), 3, "the provincial meeting reaches village level");
    assert!(meetings.windows(2).all(|w| w[0].starts_at < w[1].starts_at));
    assert!((meetings[3].starts_at - meetings[0].starts_at).num_days() <= 14);

    // 5. The same field from five different bodies on the same unit.
    let f = &s.duplicate_field;
    assert_eq!(f.requests.len(), 5);
    let mut sources = HashSet::new();
    let mut departments = HashSet::new();
    for id in &f.requests {
        let d = get(id);
        assert_eq!(d.kind, DemandKind::DataRequest);
        assert!(d.cost.fields.contains(&f.field), "{}", d.title);
        assert!(d.targets.contains(&s.village));
        sources.insert(d.source_body);
        departments.insert(d.source_department);
    }
    assert_eq!((sources.len(), departments.len()), (5, 5));

    // 6. 300+ indicators on the county from 25+ departments.
    let load = &s.indicators;
    let on_county: Vec<&Demand> = demo
        .demands
        .iter()
        .filter(|d| d.kind == DemandKind::Indicator && d.targets.contains(&s.county))
        .collect();
    let mut ids: Vec<Uuid> = on_county.iter().map(|d| d.id).collect();
    ids.sort();
    let mut recorded = load.demands.clone();
    recorded.sort();
    assert_eq!(ids, recorded);
    let total: u32 = on_county.iter().map(|d| d.cost.indicators).sum();
    let depts: HashSet<Uuid> = on_county.iter().map(|d| d.source_department).collect();
    assert_eq!((total, depts.len()), (load.indicators, load.departments));
    assert!(total >= 300, "{total} indicators");
    assert!(depts.len() >= 25, "{} departments", depts.len());
}

#[test]
fn fujian_stages_the_six_scenarios() {
    let demo = fujian();
    check_scenarios(demo, units("35"));
    let s = &demo.scenarios;
    let name = |c: &UnitCode| units("35").iter().find(|u| &u.code == c).map(|u| u.name.clone()).unwrap();
    eprintln!(
        "stage: {} {} / {} {} / {} {} / {} {}",
        s.prefecture,
        name(&s.prefecture),
        s.county,
        name(&s.county),
        s.township,
        name(&s.township),
        s.village,
        name(&s.village)
    );
    let demands = by_id(demo);
    let titles: Vec<&str> = s.cascade.meetings.iter().map(|id| demands[id].title.as_str()).collect();
    eprintln!("cascade: {titles:?}");
    for (title, scope) in titles.iter().zip(["全省", "全市", "全县", "全镇"]) {
        assert!(title.starts_with(scope), "{title}");
    }
    assert!(titles[0].contains("防汛防台风"), "Fujian is coastal");
}

#[test]
fn sichuan_stages_the_six_scenarios_too() {
    let t = Instant::now();
    let demo = generate(units("51"), "51", 2026, 7).unwrap();
    eprintln!(
        "Sichuan demo: {} bodies, {} demands in {:?}",
        demo.bodies.len(),
        demo.demands.len(),
        t.elapsed()
    );
    check_scenarios(&demo, units("51"));
    check_practices(&demo);
    for d in &demo.demands {
        d.validate().unwrap_or_else(|e| panic!("{}: {e}", d.title));
    }
}

#[test]
fn today_decides_what_is_planned() {
    let early = DemoOptions {
        province: "35".into(),
        year: 2026,
        seed: 42,
        today: NaiveDate::from_ymd_opt(2026, 1, 1),
    };
    let demo = generate_with(units("35"), &early).unwrap();
    assert!(
        demo.demands.iter().all(|d| d.status != DemandStatus::Held && d.origin == DemandOrigin::Registered)
    );
}

#[test]
fn bad_arguments_are_refused() {
    let u = units("35");
    assert_eq!(generate(u, "3", 2026, 1).unwrap_err(), DemoError::BadProvince("3".into()));
    assert_eq!(generate(u, "36", 2026, 1).unwrap_err(), DemoError::MissingProvince("36".into()));
    assert_eq!(generate(u, "35", 1900, 1).unwrap_err(), DemoError::BadYear(1900));
    let only_top: Vec<Unit> = u.iter().filter(|u| u.level() <= Level::County).cloned().collect();
    assert_eq!(generate(&only_top, "35", 2026, 1).unwrap_err(), DemoError::TooSmall("35".into()));
    assert!(DemoError::TooSmall("35".into()).to_string().contains("province 35"));
}

/// Share of `items` for which `f` holds.
fn share<T>(items: &[T], f: impl Fn(&T) -> bool) -> f64 {
    items.iter().filter(|x| f(x)).count() as f64 / items.len().max(1) as f64
}

/// Departments with more than one comprehensive item of `kind` that goes ahead, and how
/// many departments hold exactly one.
fn comprehensive_per_department(demo: &Demo, kind: DemandKind) -> (HashMap<Uuid, usize>, usize) {
    let mut per: HashMap<Uuid, usize> = HashMap::new();
    for d in demo.demands.iter().filter(|d| {
        d.kind == kind && d.status != DemandStatus::Cancelled && d.cost.flags.contains(&Flag::Comprehensive)
    }) {
        *per.entry(d.source_department).or_default() += 1;
    }
    let ones = per.values().filter(|n| **n == 1).count();
    per.retain(|_, n| *n > 1);
    (per, ones)
}

/// Checks the staged cases of forbidden practices, exactly as `Scenarios` documents them,
/// and that the background's flags are spread the way a real province's would be.
fn check_practices(demo: &Demo) {
    use DemandKind as K;
    use Flag as F;
    let s = &demo.scenarios;
    let demands = by_id(demo);
    let bodies = bodies(demo);
    let get = |id: &Uuid| *demands.get(id).expect("scenario demand exists");
    let has = |d: &Demand, f: Flag| d.cost.flags.contains(&f);
    let exempt = |d: &Demand| ["安全生产", "自然灾害", "应急"].iter().any(|w| d.topic.contains(w));
    let ids = [
        s.disguised_inspection.demand,
        s.unplanned_inspection,
        s.unplanned_safety_inspection,
        s.veto_document,
        s.overlong_meeting,
        s.long_speech_meeting,
        s.deputy_meeting,
        s.clock_in_app,
    ];
    let excess = [&s.comprehensive_inspections.demands, &s.comprehensive_meetings.demands];
    for id in ids.iter().chain(excess.into_iter().flatten()) {
        assert_ne!(get(id).status, DemandStatus::Cancelled, "{}", get(id).title);
    }

    // A research visit by a provincial or prefecture body that demands 3 forms and a report.
    let di = &s.disguised_inspection;
    let d = get(&di.demand);
    assert_eq!((d.kind, &d.targets, d.source_body), (K::ResearchVisit, &vec![s.county.clone()], di.source));
    assert!(d.title.contains("调研"), "{}", d.title);
    assert_eq!((d.cost.forms, di.forms), (3, 3));
    assert_eq!(d.cost.flags, vec![F::ReportsDemanded]);
    let source = bodies[&di.source];
    assert!(matches!(source.unit.level(), Level::Province | Level::Prefecture), "{}", source.name);
    assert!(!source.name.is_empty());

    // Inspections outside the plan, one exempt.
    let u = get(&s.unplanned_inspection);
    assert_eq!((u.kind, &u.targets), (K::Inspection, &vec![s.county.clone()]));
    assert!(u.cost.flags.is_empty() && !exempt(u) && u.cost.forms == 0, "{}: {:?}", u.title, u.cost.flags);
    let u = get(&s.unplanned_safety_inspection);
    assert_eq!((u.kind, &u.targets), (K::Inspection, &vec![s.county.clone()]));
    assert!(u.cost.flags.is_empty() && exempt(u), "{}", u.topic);

    // A general document of 3,200 characters with a one-vote veto and a pledge.
    let v = get(&s.veto_document);
    assert_eq!(v.kind, K::Document);
    assert!(v.targets.contains(&s.county));
    assert_eq!(v.cost.flags, vec![F::OneVoteVeto, F::ResponsibilityPledge]);
    assert_eq!(v.cost.doc_chars, 3_200);

    // Two comprehensive items of one department in the year; nobody else has two.
    for (kind, x) in [(K::Inspection, &s.comprehensive_inspections), (K::Meeting, &s.comprehensive_meetings)]
    {
        assert_eq!(x.demands.len(), 2);
        for id in &x.demands {
            let d = get(id);
            assert_eq!((d.kind, d.source_department), (kind, x.department), "{}", d.title);
            assert!(has(d, F::Comprehensive), "{}", d.title);
            if kind == K::Inspection {
                assert!(has(d, F::InAnnualPlan) && d.targets.contains(&s.county), "{}", d.title);
            } else {
                assert!(d.cost.speech_minutes <= 60 && d.starts_at.date() == d.ends_at.date(), "{}", d.title);
            }
        }
        assert!(get(&x.demands[0]).starts_at < get(&x.demands[1]).starts_at);
        let dept = bodies[&x.department];
        assert_eq!((dept.kind, dept.unit.level()), (BodyKind::Department, Level::Province));
        let (over, ones) = comprehensive_per_department(demo, kind);
        assert_eq!(over.into_iter().collect::<Vec<_>>(), vec![(x.department, 2)], "{kind:?}");
        assert!(ones >= 50, "{ones} departments with one comprehensive {kind:?}");
    }

    // Meetings: two full days without discussion; an 85-minute speech; a deputy
    // summoning the principal heads.
    let m = get(&s.overlong_meeting);
    assert_eq!(m.kind, K::Meeting);
    assert!(m.cost.flags.is_empty() && m.cost.speech_minutes <= 60);
    assert!(m.targets.contains(&s.county));
    assert_eq!((m.starts_at.time(), m.ends_at.time()), (hm(9, 0), hm(17, 30)));
    assert_eq!((m.ends_at.date() - m.starts_at.date()).num_days(), 1);
    let m = get(&s.long_speech_meeting);
    assert_eq!((m.kind, m.cost.speech_minutes), (K::Meeting, 85));
    assert!(
        m.cost.flags.is_empty() && m.starts_at.date() == m.ends_at.date() && m.ends_at.time() <= hm(12, 0)
    );
    assert!(m.targets.contains(&s.township));
    let m = get(&s.deputy_meeting);
    assert_eq!(m.kind, K::Meeting);
    assert_eq!(m.cost.flags, vec![F::DeputyConvener, F::PrincipalAttendance]);
    assert!(m.cost.speech_minutes <= 60 && m.ends_at.time() <= hm(12, 0) && m.targets.contains(&s.township));

    // An app the villages must clock into, with points ranked.
    let a = get(&s.clock_in_app);
    assert_eq!(a.kind, K::AppObligation);
    assert_eq!(a.cost.flags, vec![F::ForcedClockIn, F::PointsRanking]);
    assert!(a.targets.contains(&s.village));

    // Each flag and cost field only where it means something.
    for d in &demo.demands {
        let kinds: &[DemandKind] = match () {
            _ if d.cost.speech_minutes > 0 => &[K::Meeting],
            _ => &DemandKind::ALL,
        };
        assert!(kinds.contains(&d.kind), "{}: speech", d.title);
        assert_eq!(d.cost.doc_chars > 0, d.kind == K::Document, "{}", d.title);
        for f in &d.cost.flags {
            let ok = match f {
                F::Comprehensive => matches!(d.kind, K::Meeting | K::Inspection | K::Document),
                F::SpecificTask | F::ImplementationReport | F::SupportingDocument => d.kind == K::Document,
                F::OneVoteVeto | F::ResponsibilityPledge => d.kind == K::Document,
                F::InAnnualPlan => matches!(d.kind, K::Inspection | K::Indicator),
                F::GroupDiscussion | F::DeputyConvener => d.kind == K::Meeting,
                F::PrincipalAttendance => d.kind == K::Meeting || d.kind.is_visit(),
                F::ReportsDemanded => d.kind.is_visit(),
                _ => d.kind == K::AppObligation,
            };
            assert!(ok, "{}: {} on a {}", d.title, f.as_str(), d.kind.as_str());
        }
        if d.kind == K::Meeting {
            assert!(d.cost.speech_minutes > 0, "{}", d.title);
        }
    }

    let of = |kind: DemandKind| -> Vec<&Demand> { demo.demands.iter().filter(|d| d.kind == kind).collect() };
    // Inspections: most in the plan, a realistic minority not, a few of those exempt.
    let inspections = of(K::Inspection);
    let unplanned = share(&inspections, |d| !has(d, F::InAnnualPlan));
    assert!((0.04..=0.2).contains(&unplanned), "{unplanned:.3} of inspections outside the plan");
    let exempt_unplanned = inspections.iter().filter(|d| !has(d, F::InAnnualPlan) && exempt(d)).count();
    assert!(exempt_unplanned >= 3, "{exempt_unplanned} exempt inspections outside the plan");
    let indicators = of(K::Indicator);
    assert!((0.8..1.0).contains(&share(&indicators, |d| has(d, F::InAnnualPlan))));
    let forbidden = ["领导批示", "经验材料", "发文数量", "拍照留痕"];
    let with_forbidden = share(&indicators, |d| forbidden.iter().any(|w| d.title.contains(w)));
    assert!((0.01..=0.15).contains(&with_forbidden), "{with_forbidden:.3} of indicator sets");

    // Documents: mostly 1,500–4,500 characters; some long general ones; a few long
    // specific-task ones; comprehensive ones long; a minority with forbidden demands.
    let docs = of(K::Document);
    let typical = share(&docs, |d| (1_500..=4_500).contains(&d.cost.doc_chars));
    assert!(typical >= 0.6, "{typical:.3} of documents are 1,500–4,500 characters");
    let general = |d: &&Demand| !has(d, F::SpecificTask) && !has(d, F::Comprehensive);
    let long = share(&docs, |d| general(d) && d.cost.doc_chars > 5_000);
    assert!((0.03..=0.25).contains(&long), "{long:.3} of documents are long general ones");
    let long_specific = docs.iter().filter(|d| has(d, F::SpecificTask) && d.cost.doc_chars > 4_000).count();
    assert!(long_specific >= 5 && share(&docs, |d| has(d, F::SpecificTask)) < 0.5, "{long_specific}");
    let comprehensive: Vec<&&Demand> = docs.iter().filter(|d| has(d, F::Comprehensive)).collect();
    assert!(comprehensive.len() >= 20 && comprehensive.iter().all(|d| d.cost.doc_chars > 5_000));
    let demanding = [F::ImplementationReport, F::SupportingDocument, F::OneVoteVeto, F::ResponsibilityPledge];
    let forbidden_demands = share(&docs, |d| demanding.iter().any(|f| has(d, *f)));
    assert!((0.05..=0.35).contains(&forbidden_demands), "{forbidden_demands:.3} of documents");
    for f in demanding {
        assert!(docs.iter().filter(|d| has(d, f)).count() >= 10, "{}", f.as_str());
    }

    // Meetings: speeches mostly 20–50 minutes, some 70–90; some with group discussion;
    // deputies who still summon the principal heads.
    let meetings = of(K::Meeting);
    let short = share(&meetings, |d| (20..=50).contains(&d.cost.speech_minutes));
    let long = share(&meetings, |d| d.cost.speech_minutes > 60);
    assert!(short >= 0.7 && (0.03..=0.25).contains(&long), "{short:.3} short, {long:.3} long speeches");
    let discussion = share(&meetings, |d| has(d, F::GroupDiscussion));
    assert!((0.01..=0.15).contains(&discussion), "{discussion:.3} with group discussion");
    let deputy = share(&meetings, |d| has(d, F::DeputyConvener));
    assert!((0.05..=0.4).contains(&deputy), "{deputy:.3} convened by a deputy");
    let summoning =
        meetings.iter().filter(|d| has(d, F::DeputyConvener) && has(d, F::PrincipalAttendance)).count();
    assert!(summoning >= 10, "{summoning}");
    let overlong = meetings
        .iter()
        .filter(|d| (d.ends_at.date() - d.starts_at.date()).num_days() >= 2 && has(d, F::GroupDiscussion))
        .count();
    assert!(overlong >= 1, "a few meetings with group discussion overrun a day and a half");

    // Visits: a minority of research visits demand forms or reports.
    let research = of(K::ResearchVisit);
    let disguised = share(&research, |d| d.cost.forms > 0 || has(d, F::ReportsDemanded));
    assert!((0.1..=0.45).contains(&disguised), "{disguised:.3} of research visits");

    // Apps: a realistic share with forbidden practices, each of them present.
    let apps = of(K::AppObligation);
    let practices = [
        F::ForcedClockIn,
        F::InstallRateRanking,
        F::OnlineTime,
        F::LikesForwards,
        F::PointsRanking,
        F::ForcedDownload,
        F::ForcedUpload,
    ];
    let practising = share(&apps, |d| practices.iter().any(|f| has(d, *f)));
    assert!((0.3..=0.8).contains(&practising), "{practising:.3} of app obligations");
    for f in practices {
        assert!(apps.iter().any(|d| has(d, f)), "{}", f.as_str());
    }
}

#[test]
fn fujian_stages_each_forbidden_practice_and_spreads_flags_plausibly() {
    let demo = fujian();
    check_practices(demo);
    let s = &demo.scenarios;
    let demands = by_id(demo);
    let bodies = bodies(demo);
    let d = demands[&s.disguised_inspection.demand];
    eprintln!("disguised inspection: {} by {}", d.title, bodies[&d.source_body].name);
    assert_eq!(bodies[&s.comprehensive_inspections.department].name, "福建省生态环境厅");
    assert_eq!(bodies[&s.comprehensive_meetings.department].name, "福建省卫生健康委员会");
    let title = &demands[&s.comprehensive_meetings.demands[0]].title;
    assert!(title.starts_with("2026年全省卫生健康工作会议"), "{title}");
}
