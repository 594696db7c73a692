//! The demo generator on real units: reproducibility, validity of every value, the
//! volume, and each of the six DESIGN.md §1 scenarios, checked on the data itself.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Instant;

use chrono::{Datelike, NaiveDate, Timelike};
use tongxin_demo::{DEMO_PASSWORD, Demo, DemoError, DemoOptions, generate, generate_with};
use tongxin_domain::{
    Body, BodyKind, Demand, DemandKind, DemandOrigin, DemandStatus, Level, Role, Unit, UnitCode,
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

#[test]
fn dates_are_working_days_and_meetings_are_in_the_morning() {
    for d in &fujian().demands {
        let wd = d.starts_at.weekday().number_from_monday();
        assert!(wd <= 5, "{} starts on a weekend: {}", d.title, d.starts_at);
        if d.kind == DemandKind::Meeting {
            let (s, e) = (d.starts_at.time(), d.ends_at.time());
            assert!(s.hour() >= 9 && e <= chrono::NaiveTime::from_hms_opt(11, 30, 0).unwrap(), "{}", d.title);
            assert_eq!(d.starts_at.date(), d.ends_at.date());
        }
        if matches!(d.kind, DemandKind::Inspection | DemandKind::ResearchVisit | DemandKind::GuidanceVisit) {
            let days = (d.ends_at.date() - d.starts_at.date()).num_days();
            assert!((0..=5).contains(&days), "{}: {days} days", d.title);
        }
    }
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
