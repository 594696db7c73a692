//! The one test suite every [`Store`] implementation must pass.
//!
//! Each backend's tests call [`run_all`] with a factory of fresh, empty stores. A check
//! that fails panics with its name, so the failing behaviour is named in the test output.

use std::future::Future;
use std::pin::Pin;

use chrono::{Duration, NaiveDate, NaiveDateTime, Utc};
use futures_util::FutureExt;
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Role, Unit, UnitCode,
    User, new_id,
};
use tongxin_store::{DemandFilter, ImportBatch, Session, Store, StoreError};
use uuid::Uuid;

type Check = for<'a> fn(&'a dyn Store) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Every check, by name.
pub const CHECKS: &[(&str, Check)] = &[
    ("units_tree_search_and_upsert", |s| units_tree_search_and_upsert(s).boxed()),
    ("unit_import_is_all_or_nothing", |s| unit_import_is_all_or_nothing(s).boxed()),
    ("bodies_and_divisions", |s| bodies_and_divisions(s).boxed()),
    ("demand_create_checks_references", |s| demand_create_checks_references(s).boxed()),
    ("demand_filters_and_descendants", |s| demand_filters_and_descendants(s).boxed()),
    ("keyset_pagination_is_exact", |s| keyset_pagination_is_exact(s).boxed()),
    ("updates_keep_history_and_detect_conflicts", |s| updates_keep_history_and_detect_conflicts(s).boxed()),
    ("users_and_sessions", |s| users_and_sessions(s).boxed()),
    ("batch_import_reports_every_problem", |s| batch_import_reports_every_problem(s).boxed()),
    ("sql_month_rollup_counts_live_targets_below_each_child", |s| sql_month_rollup(s).boxed()),
    ("log_writes_are_conditional_on_head_and_lease", |s| {
        log_writes_are_conditional_on_head_and_lease(s).boxed()
    }),
    ("voice_keys_one_per_scope_and_period", |s| voice::keys_one_per_scope_and_period(s).boxed()),
    ("voice_allowance_taken_once", |s| voice::allowance_taken_once(s).boxed()),
    ("voice_filing_refuses_double_spending", |s| voice::filing_refuses_double_spending(s).boxed()),
    ("voice_update_is_compare_and_set", |s| voice::update_is_compare_and_set(s).boxed()),
    ("voice_filters_and_pages", |s| voice::filters_and_pages(s).boxed()),
    ("voice_events_bookkeeping", |s| voice::events_bookkeeping(s).boxed()),
    ("voice_anonymous_rows_do_not_name_the_user", |s| voice::anonymous_rows_do_not_name_the_user(s).boxed()),
    ("directives_are_compare_and_set", |s| directives::directives_are_compare_and_set(s).boxed()),
    ("directives_filter", |s| directives::directives_filter(s).boxed()),
    ("directive_consultations_open_once_and_conclude_once", |s| {
        directives::consultations_open_once_and_conclude_once(s).boxed()
    }),
    ("directive_consultation_rounds_follow_one_another", |s| {
        directives::consultation_rounds_follow_one_another(s).boxed()
    }),
    ("directive_ratings_share_the_voice_spent_nonces", |s| {
        directives::ratings_share_the_voice_spent_nonces(s).boxed()
    }),
];

mod directives;
pub mod upgrade;
mod voice;

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<F, Fut, S>(fresh: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = S>,
    S: Store,
{
    for (name, check) in CHECKS {
        let store = fresh().await;
        let outcome = std::panic::AssertUnwindSafe(check(&store)).catch_unwind().await;
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("conformance check `{name}` failed on {}: {msg}", store.backend());
        }
        eprintln!("conformance check `{name}` passed on {}", store.backend());
    }
}

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

/// A small real slice of Fujian: province, Fuzhou, Gulou district, two streets, villages,
/// and Xiamen with one district.
pub fn fixture_units() -> Vec<Unit> {
    [
        ("35", "福建省"),
        ("3501", "福州市"),
        ("350102", "鼓楼区"),
        ("350102001", "鼓东街道"),
        ("350102001001", "三牧坊社区居委会"),
        ("350102001002", "达明社区居委会"),
        ("350102002", "鼓西街道"),
        ("350102002001", "西湖社区居委会"),
        ("350103", "台江区"),
        ("3502", "厦门市"),
        ("350203", "思明区"),
    ]
    .into_iter()
    .map(|(c, n)| Unit::new(code(c), n))
    .collect()
}

pub struct Fixture {
    pub department: Body,
    pub division_a: Body,
    pub division_b: Body,
    pub other: Body,
}

pub async fn load_fixture(store: &dyn Store) -> Fixture {
    let department = Body {
        id: new_id(),
        unit: code("35"),
        name: "福建省农业农村厅".into(),
        kind: BodyKind::Department,
        parent: None,
    };
    let division_a = Body {
        id: new_id(),
        unit: code("35"),
        name: "种植业管理处".into(),
        kind: BodyKind::Division,
        parent: Some(department.id),
    };
    let division_b = Body { id: new_id(), name: "农田建设管理处".into(), ..division_a.clone() };
    let other = Body {
        id: new_id(),
        unit: code("3501"),
        name: "福州市教育局".into(),
        kind: BodyKind::Department,
        parent: None,
    };
    let batch = ImportBatch {
        units: fixture_units(),
        bodies: vec![department.clone(), division_a.clone(), division_b.clone(), other.clone()],
        actor: "conformance".into(),
        ..ImportBatch::default()
    };
    store.import(batch, None).await.expect("fixture imports");
    Fixture { department, division_a, division_b, other }
}

pub fn at(month: u32, day: u32, hour: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, month, day).unwrap().and_hms_opt(hour, 0, 0).unwrap()
}

pub fn demand(kind: DemandKind, body: &Body, targets: &[&str], start: NaiveDateTime) -> Demand {
    Demand {
        id: new_id(),
        kind,
        source_body: body.id,
        source_department: Uuid::nil(),
        title: format!("{}：{}", kind.zh(), "高标准农田建设"),
        topic: "高标准农田建设".into(),
        targets: targets.iter().map(|c| code(c)).collect(),
        starts_at: start,
        ends_at: start + Duration::hours(3),
        status: DemandStatus::Planned,
        origin: DemandOrigin::Registered,
        cost: Cost {
            cadre_hours: 6.0,
            cadres_required: 2,
            attend_levels: if kind == DemandKind::Meeting { vec![Level::County] } else { vec![] },
            forms: u32::from(kind == DemandKind::DataRequest),
            visitors: u32::from(kind == DemandKind::WorkGroup) * 30,
            indicators: u32::from(kind == DemandKind::Indicator) * 12,
            fields: if kind == DemandKind::DataRequest {
                vec!["常住人口".into(), "脱贫户人数".into()]
            } else {
                vec![]
            },
            ..Cost::default()
        },
        revision: 1,
    }
}

fn fields_of(e: StoreError) -> Vec<String> {
    match e {
        StoreError::Invalid(inv) => inv.0.into_iter().map(|f| f.field).collect(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

async fn units_tree_search_and_upsert(s: &dyn Store) {
    load_fixture(s).await;
    let provinces = s.children(None).await.unwrap();
    assert_eq!(provinces.iter().map(|u| u.code.as_str()).collect::<Vec<_>>(), ["35"]);
    let cities = s.children(Some(&code("35"))).await.unwrap();
    assert_eq!(cities.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["福州市", "厦门市"]);
    let gulou = s.unit(&code("350102")).await.unwrap().unwrap();
    assert_eq!(gulou.name, "鼓楼区");
    assert_eq!(gulou.level(), Level::County);
    assert_eq!(gulou.cadres, Level::County.default_cadres());
    assert!(gulou.cadres_estimated);
    assert!(s.unit(&code("350199")).await.unwrap().is_none());

    let found = s.search_units("社区", 10).await.unwrap();
    assert_eq!(found.len(), 3);
    let found = s.search_units("鼓", 10).await.unwrap();
    assert_eq!(found[0].name, "鼓楼区", "shallowest first");
    let by_code = s.search_units("350102", 10).await.unwrap();
    assert_eq!(by_code.len(), 6);
    assert!(s.search_units("%", 10).await.unwrap().is_empty(), "LIKE wildcards are literal");

    let under = s.units_under(Some(&code("350102001"))).await.unwrap();
    assert_eq!(under.len(), 3);
    assert_eq!(s.units_under(None).await.unwrap().len(), 11);

    let exist = s.existing_units(&[code("35"), code("350102001002"), code("3509")]).await.unwrap();
    assert_eq!(exist.len(), 2);
    assert!(!exist.contains(&code("3509")));
    let missing = s
        .missing_units(&[code("35"), code("3509"), code("350102001002"), code("350102001009")])
        .await
        .unwrap();
    assert_eq!(missing, [code("3509"), code("350102001009")].into_iter().collect());
    assert!(s.missing_units(&[]).await.unwrap().is_empty());

    s.set_cadres(&code("350102001"), 48).await.unwrap();
    assert!(matches!(s.set_cadres(&code("350199"), 1).await, Err(StoreError::NotFound(_))));
    // Re-importing the division list renames but keeps a reported cadre figure.
    let mut again = fixture_units();
    again[3].name = "鼓东街道（新）".into();
    s.import(ImportBatch { units: again, ..ImportBatch::default() }, None).await.unwrap();
    let street = s.unit(&code("350102001")).await.unwrap().unwrap();
    assert_eq!((street.name.as_str(), street.cadres, street.cadres_estimated), ("鼓东街道（新）", 48, false));
    assert_eq!(s.counts().await.unwrap().units_by_level, [1, 2, 3, 2, 3]);
}

async fn unit_import_is_all_or_nothing(s: &dyn Store) {
    let mut units = fixture_units();
    units.push(Unit::new(code("350999"), "无上级县"));
    units.push(Unit::new(code("3501"), "福州市"));
    let err = s.import(ImportBatch { units, ..ImportBatch::default() }, None).await.unwrap_err();
    let fields = fields_of(err);
    assert!(fields.contains(&"units[11].code".to_string()), "{fields:?}");
    assert!(fields.contains(&"units[12].code".to_string()), "{fields:?}");
    assert_eq!(s.counts().await.unwrap().units_by_level, [0; 5], "nothing written");
}

async fn bodies_and_divisions(s: &dyn Store) {
    let f = load_fixture(s).await;
    let got = s.body(f.division_a.id).await.unwrap().unwrap();
    assert_eq!(got, f.division_a);
    assert_eq!(got.department(), f.department.id);
    let divisions = s.divisions(f.department.id).await.unwrap();
    assert_eq!(divisions.len(), 2);
    assert!(divisions.iter().all(|d| d.parent == Some(f.department.id)));
    assert_eq!(s.bodies(Some(&code("3501"))).await.unwrap(), vec![f.other.clone()]);
    assert_eq!(s.bodies(None).await.unwrap().len(), 4);

    // Many at once: the stored ones, whatever the order; unknown ids left out.
    let mut many = s
        .bodies_by_id(&[f.other.id, new_id(), f.division_a.id, f.department.id, f.division_a.id])
        .await
        .unwrap();
    many.sort_by_key(|b| b.id);
    many.dedup();
    let mut want = vec![f.other.clone(), f.division_a.clone(), f.department.clone()];
    want.sort_by_key(|b| b.id);
    assert_eq!(many, want);
    assert!(s.bodies_by_id(&[]).await.unwrap().is_empty());
    // A body already stored cannot be imported again (found by that same lookup).
    let err = s
        .import(ImportBatch { bodies: vec![f.other.clone()], ..ImportBatch::default() }, None)
        .await
        .unwrap_err();
    assert_eq!(fields_of(err), ["bodies[0].id"]);

    let orphan = Body {
        id: new_id(),
        unit: code("35"),
        name: "孤立处室".into(),
        kind: BodyKind::Division,
        parent: None,
    };
    let under_division = Body {
        id: new_id(),
        unit: code("35"),
        name: "科".into(),
        kind: BodyKind::Division,
        parent: Some(f.division_a.id),
    };
    let nowhere = Body {
        id: new_id(),
        unit: code("3599"),
        name: "某局".into(),
        kind: BodyKind::Department,
        parent: None,
    };
    let err = s
        .import(ImportBatch { bodies: vec![orphan, under_division, nowhere], ..ImportBatch::default() }, None)
        .await
        .unwrap_err();
    let fields = fields_of(err);
    assert_eq!(fields, ["bodies[0].parent", "bodies[1].parent", "bodies[2].unit"]);
    assert_eq!(s.bodies(None).await.unwrap().len(), 4);
}

async fn demand_create_checks_references(s: &dyn Store) {
    let f = load_fixture(s).await;
    let d = demand(DemandKind::Inspection, &f.division_a, &["350102"], at(3, 2, 9));
    let stored = s.create_demand(d.clone(), "tester").await.unwrap();
    assert_eq!(stored.source_department, f.department.id, "department set from the body");
    assert_eq!(stored.revision, 1);
    let read = s.demand(d.id).await.unwrap().unwrap();
    assert_eq!(read, stored);

    let bad = demand(DemandKind::Inspection, &f.division_a, &["350102", "350199"], at(3, 2, 9));
    assert_eq!(fields_of(s.create_demand(bad, "tester").await.unwrap_err()), ["targets[1]"]);
    let mut ghost = demand(DemandKind::Inspection, &f.division_a, &["350102"], at(3, 2, 9));
    ghost.source_body = new_id();
    assert_eq!(fields_of(s.create_demand(ghost, "tester").await.unwrap_err()), ["source_body"]);
    let mut meeting = demand(DemandKind::Meeting, &f.department, &["3501"], at(3, 2, 9));
    meeting.cost.attend_levels.clear();
    assert_eq!(fields_of(s.create_demand(meeting, "tester").await.unwrap_err()), ["cost.attend_levels"]);
    assert_eq!(s.counts().await.unwrap().demands, 1);

    // Every cost field and list survives the round trip.
    let mut rich = demand(DemandKind::DataRequest, &f.other, &["350102001001", "350102002001"], at(4, 1, 0));
    rich.cost = Cost {
        cadre_hours: 1.5,
        cadres_required: 3,
        host_person_days: 0.25,
        visitors: 4,
        forms: 2,
        fields: vec!["常住人口".into(), "低保户数".into()],
        attend_levels: vec![],
        video: true,
        indicators: 7,
        doc_chars: 4_200,
        speech_minutes: 45,
        flags: vec![Flag::Comprehensive, Flag::OneVoteVeto],
    };
    rich.origin = DemandOrigin::Reported;
    let stored = s.create_demand(rich.clone(), "tester").await.unwrap();
    assert_eq!(s.demand(rich.id).await.unwrap().unwrap(), stored);
}

async fn sql_month_rollup(s: &dyn Store) {
    let f = load_fixture(s).await;
    let put = |kind, body: &Body, targets: &[&str], start, hours: f64| {
        let mut d = demand(kind, body, targets, start);
        d.cost.cadre_hours = hours;
        d
    };
    let village =
        put(DemandKind::DataRequest, &f.division_a, &["350102001001", "350102002001"], at(3, 2, 9), 1.5);
    let county = put(DemandKind::Inspection, &f.division_b, &["350102"], at(3, 20, 9), 4.0);
    let april = put(DemandKind::GuidanceVisit, &f.division_b, &["350102"], at(4, 1, 9), 2.25);
    let mut meeting = put(DemandKind::Meeting, &f.department, &["3501"], at(3, 5, 9), 2.0);
    meeting.cost.attend_levels = vec![Level::Prefecture];
    let elsewhere = put(DemandKind::GuidanceVisit, &f.other, &["350203"], at(3, 4, 9), 8.0);
    let cancelled = put(DemandKind::Inspection, &f.division_b, &["350102"], at(3, 9, 9), 100.0);
    for d in [village, county, april, meeting, elsewhere] {
        s.create_demand(d, "t").await.unwrap();
    }
    let stored = s.create_demand(cancelled, "t").await.unwrap();
    let mut gone = stored.clone();
    gone.status = DemandStatus::Cancelled;
    s.update_demand(gone, stored.revision, "t").await.unwrap();
    let rows = s.sql_month_rollup(&code("3501"), 2026).await.unwrap();
    let got: Vec<(String, u32, i64, f64)> =
        rows.into_iter().map(|r| (r.child, r.month, r.demands, r.cadre_hours)).collect();
    // Two village targets and the county in March, the county in April; the meeting on
    // the prefecture itself, the other prefecture and the cancelled demand do not count.
    assert_eq!(got, [("350102".to_owned(), 3, 3, 7.0), ("350102".to_owned(), 4, 1, 2.25)]);
    assert!(s.sql_month_rollup(&code("3501"), 2025).await.unwrap().is_empty());
}

async fn demand_filters_and_descendants(s: &dyn Store) {
    let f = load_fixture(s).await;
    let village = s
        .create_demand(demand(DemandKind::DataRequest, &f.division_a, &["350102001001"], at(3, 2, 9)), "t")
        .await
        .unwrap();
    let county = s
        .create_demand(demand(DemandKind::Inspection, &f.division_b, &["350102"], at(3, 3, 9)), "t")
        .await
        .unwrap();
    let xiamen = s
        .create_demand(demand(DemandKind::GuidanceVisit, &f.other, &["350203"], at(3, 4, 9)), "t")
        .await
        .unwrap();
    let mut cascade = demand(DemandKind::Meeting, &f.department, &["3501"], at(3, 5, 9));
    cascade.cost.attend_levels = vec![Level::Prefecture, Level::County, Level::Township];
    let cascade = s.create_demand(cascade, "t").await.unwrap();
    let mut shallow = demand(DemandKind::Meeting, &f.department, &["3501"], at(3, 6, 9));
    shallow.cost.attend_levels = vec![Level::Prefecture];
    let shallow = s.create_demand(shallow, "t").await.unwrap();

    let ids = |p: tongxin_store::Page<Demand>| p.items.into_iter().map(|d| d.id).collect::<Vec<_>>();
    let q = |f: DemandFilter| async move { ids(s.demands(&f).await.unwrap()) };

    assert_eq!(
        q(DemandFilter { unit: Some(code("350102")), ..Default::default() }).await,
        [village.id, county.id]
    );
    assert_eq!(
        q(DemandFilter { unit: Some(code("3501")), ..Default::default() }).await,
        [village.id, county.id, cascade.id, shallow.id]
    );
    assert_eq!(
        q(DemandFilter { unit: Some(code("350103")), ..Default::default() }).await,
        Vec::<Uuid>::new()
    );
    // A township's calendar: what targets it or below, plus meetings that cascade to it.
    assert_eq!(
        q(DemandFilter { unit: Some(code("350102001")), include_cascade: true, ..Default::default() }).await,
        [village.id, cascade.id]
    );
    assert_eq!(q(DemandFilter { unit: Some(code("350102001")), ..Default::default() }).await, [village.id]);
    // A department's filter includes its divisions; a division's only itself.
    assert_eq!(
        q(DemandFilter { body: Some(f.department.id), ..Default::default() }).await,
        [village.id, county.id, cascade.id, shallow.id]
    );
    assert_eq!(q(DemandFilter { body: Some(f.division_b.id), ..Default::default() }).await, [county.id]);
    assert_eq!(
        q(DemandFilter { kind: Some(DemandKind::GuidanceVisit), ..Default::default() }).await,
        [xiamen.id]
    );
    assert_eq!(
        q(DemandFilter { from: Some(at(3, 3, 0)), to: Some(at(3, 5, 0)), ..Default::default() }).await,
        [county.id, xiamen.id]
    );
    let mut cancelled = county.clone();
    cancelled.status = DemandStatus::Cancelled;
    s.update_demand(cancelled, 1, "t").await.unwrap();
    assert_eq!(
        q(DemandFilter { status: Some(DemandStatus::Cancelled), ..Default::default() }).await,
        [county.id]
    );
}

async fn keyset_pagination_is_exact(s: &dyn Store) {
    let f = load_fixture(s).await;
    let mut all = Vec::new();
    for i in 0..57u32 {
        // Several demands share a start time, so the id must break ties.
        let d = demand(DemandKind::ResearchVisit, &f.division_a, &["350102"], at(5, 1 + i / 3, 9));
        all.push(s.create_demand(d, "t").await.unwrap());
    }
    all.sort_by_key(|d| (d.starts_at, d.id));
    let mut seen = Vec::new();
    let mut filter = DemandFilter { unit: Some(code("35")), limit: 10, ..Default::default() };
    loop {
        let page = s.demands(&filter).await.unwrap();
        assert!(page.items.len() <= 10);
        seen.extend(page.items.iter().map(|d| d.id));
        match page.next {
            Some(cursor) => filter.after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, all.iter().map(|d| d.id).collect::<Vec<_>>());
}

async fn updates_keep_history_and_detect_conflicts(s: &dyn Store) {
    let f = load_fixture(s).await;
    let d = s
        .create_demand(demand(DemandKind::Meeting, &f.department, &["3501"], at(6, 1, 9)), "alice")
        .await
        .unwrap();
    let mut v2 = d.clone();
    v2.title = "全省高标准农田建设推进会（改期）".into();
    v2.starts_at = at(6, 2, 9);
    v2.ends_at = at(6, 2, 11);
    let v2 = s.update_demand(v2, 1, "bob").await.unwrap();
    assert_eq!(v2.revision, 2);
    let mut stale = d.clone();
    stale.title = "stale".into();
    assert!(matches!(s.update_demand(stale, 1, "carol").await, Err(StoreError::Conflict(_))));
    let mut v3 = v2.clone();
    v3.status = DemandStatus::Cancelled;
    s.update_demand(v3, 2, "carol").await.unwrap();

    let history = s.demand_history(d.id).await.unwrap();
    let summary: Vec<(u32, &str, &str, &str)> = history
        .iter()
        .map(|r| (r.revision, r.actor.as_str(), r.action.as_str(), r.demand.title.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "alice", "created", d.title.as_str()),
            (2, "bob", "updated", "全省高标准农田建设推进会（改期）"),
            (3, "carol", "cancelled", "全省高标准农田建设推进会（改期）"),
        ]
    );
    assert_eq!(history[2].demand.status, DemandStatus::Cancelled);
    // Cancelled demands stay in the ledger and in listings.
    assert_eq!(s.demands(&DemandFilter::default()).await.unwrap().items.len(), 1);
    assert!(s.demand_history(new_id()).await.unwrap().is_empty());
}

async fn users_and_sessions(s: &dyn Store) {
    let f = load_fixture(s).await;
    let user = User {
        id: new_id(),
        username: "staff.nongye".into(),
        display_name: "王芳".into(),
        role: Role::BodyStaff,
        scope: code("35"),
        body: Some(f.division_a.id),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
    };
    s.put_user(&user).await.unwrap();
    assert_eq!(s.user_by_name("staff.nongye").await.unwrap().unwrap(), user);
    assert_eq!(s.user(user.id).await.unwrap().unwrap(), user);
    assert!(s.user_by_name("nobody").await.unwrap().is_none());
    let now = Utc::now();
    let session =
        Session { token_hash: "abc".into(), user_id: user.id, expires_at: now + Duration::hours(8) };
    s.put_session(&session).await.unwrap();
    let got = s.session("abc", now).await.unwrap().unwrap();
    assert_eq!(got.user_id, user.id);
    assert!(s.session("abc", now + Duration::hours(9)).await.unwrap().is_none(), "expired");
    s.delete_session("abc").await.unwrap();
    assert!(s.session("abc", now).await.unwrap().is_none());
}

async fn batch_import_reports_every_problem(s: &dyn Store) {
    let f = load_fixture(s).await;
    let good = demand(DemandKind::Indicator, &f.division_a, &["350102"], at(7, 1, 9));
    let unknown_target = demand(DemandKind::Indicator, &f.division_a, &["350102", "350109"], at(7, 1, 9));
    let mut unknown_body = demand(DemandKind::Indicator, &f.division_a, &["350102"], at(7, 1, 9));
    unknown_body.source_body = new_id();
    let mut backwards = demand(DemandKind::Indicator, &f.division_a, &["350102"], at(7, 1, 9));
    backwards.ends_at = at(6, 1, 9);
    // A body of another province, in the same batch, may not make demands on Fujian's units
    // (as `create_demand` refuses): a body's demands are all in its own province.
    let jiangxi = Body {
        id: new_id(),
        unit: code("36"),
        name: "江西省农业农村厅".into(),
        kind: BodyKind::Department,
        parent: None,
    };
    let across = demand(DemandKind::Indicator, &jiangxi, &["350102"], at(7, 1, 9));
    let err = s
        .import(
            ImportBatch {
                units: vec![Unit::new(code("36"), "江西省")],
                bodies: vec![jiangxi.clone()],
                demands: vec![good.clone(), unknown_target, unknown_body, backwards, across],
                actor: "import:x.csv".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(
        fields_of(err),
        ["demands[1].targets[1]", "demands[2].source_body", "demands[3].ends_at", "demands[4].source_body"]
    );
    let counts = s.counts().await.unwrap();
    assert_eq!((counts.demands, counts.bodies), (0, 4), "nothing written");
    assert!(s.unit(&code("36")).await.unwrap().is_none(), "nothing written");

    let n = s
        .import(
            ImportBatch { demands: vec![good.clone()], actor: "import:x.csv".into(), ..Default::default() },
            None,
        )
        .await
        .unwrap();
    assert_eq!(n.demands, 1);
    let history = s.demand_history(good.id).await.unwrap();
    assert_eq!(history[0].actor, "import:x.csv");
    assert_eq!(history[0].demand.source_department, f.department.id);
    let again = s.import(ImportBatch { demands: vec![good], ..Default::default() }, None).await;
    assert!(again.is_err(), "a demand id cannot be imported twice");
}

async fn log_writes_are_conditional_on_head_and_lease(s: &dyn Store) {
    use tongxin_store::LogBatch;
    let log = "tongxin.example/35/log";
    assert!(s.log_head(log).await.unwrap().is_none());
    let (a, b) = (new_id(), new_id());
    let t0 = Utc::now();
    let head = s.log_claim(log, a, t0, t0 - Duration::seconds(10)).await.unwrap();
    assert_eq!((head.size, head.published, head.writer), (0, 0, Some(a)));
    assert_eq!(head.root, tongxin_store::codec::EMPTY_ROOT);
    // A second process is refused while the first one's heartbeat is fresh.
    let refused = s.log_claim(log, b, t0, t0 - Duration::seconds(10)).await;
    assert!(matches!(refused, Err(StoreError::Conflict(_))), "{refused:?}");
    // The holder renews freely.
    s.log_claim(log, a, t0 + Duration::seconds(1), t0 - Duration::seconds(10)).await.unwrap();

    let batch =
        |writer, old_size: u64, entries: Vec<Vec<u8>>, first_hash: u64, n_hashes: usize, root: u8| LogBatch {
            log: log.into(),
            writer,
            old_size,
            entries,
            first_hash,
            hashes: (0..n_hashes).map(|i| [i as u8 + root; 32]).collect(),
            new_root: [root; 32],
        };
    s.log_append(&batch(a, 0, vec![b"e0".to_vec(), b"e1".to_vec(), vec![0, 255, 7]], 0, 4, 9)).await.unwrap();
    let head = s.log_head(log).await.unwrap().unwrap();
    assert_eq!((head.size, head.root, head.published), (3, [9; 32], 0));
    // A stale batch (the head moved) and a batch from a non-holder are refused.
    let stale = s.log_append(&batch(a, 0, vec![b"x".to_vec()], 0, 1, 1)).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let intruder = s.log_append(&batch(b, 3, vec![b"x".to_vec()], 4, 1, 1)).await;
    assert!(matches!(intruder, Err(StoreError::Conflict(_))), "{intruder:?}");
    assert_eq!(s.log_entries(log, 0, 3).await.unwrap(), [b"e0".to_vec(), b"e1".to_vec(), vec![0, 255, 7]]);
    assert_eq!(s.log_entries(log, 1, 2).await.unwrap(), [b"e1".to_vec()]);
    assert!(matches!(s.log_entries(log, 2, 4).await, Err(StoreError::NotFound(_))));
    assert_eq!(s.log_hashes(log, &[3, 0]).await.unwrap(), [[12; 32], [9; 32]]);
    assert!(matches!(s.log_hashes(log, &[4]).await, Err(StoreError::NotFound(_))));

    // Checkpoints: only of the current head, by the holder; re-publishing adds cosignatures.
    assert!(matches!(s.log_publish(log, a, 2, "old", t0).await, Err(StoreError::Conflict(_))));
    assert!(matches!(s.log_publish(log, b, 3, "intruder", t0).await, Err(StoreError::Conflict(_))));
    s.log_publish(log, a, 3, "checkpoint 3", t0).await.unwrap();
    s.log_publish(log, a, 3, "checkpoint 3 + cosignature", t0).await.unwrap();
    assert_eq!(s.log_head(log).await.unwrap().unwrap().published, 3);

    // An abandoned lease (no heartbeat since `stale_before`) can be taken over; the old
    // holder can then no longer write.
    let later = t0 + Duration::seconds(60);
    let head = s.log_claim(log, b, later, later - Duration::seconds(10)).await.unwrap();
    assert_eq!((head.size, head.writer), (3, Some(b)));
    let old_holder = s.log_append(&batch(a, 3, vec![b"late".to_vec()], 4, 1, 2)).await;
    assert!(matches!(old_holder, Err(StoreError::Conflict(_))), "{old_holder:?}");
    s.log_append(&batch(b, 3, vec![b"e3".to_vec()], 4, 3, 5)).await.unwrap();
    s.log_publish(log, b, 4, "checkpoint 4", later).await.unwrap();
    let published = s.log_checkpoints(log, 10).await.unwrap();
    let summary: Vec<(u64, &str)> = published.iter().map(|c| (c.size, c.note.as_str())).collect();
    assert_eq!(summary, [(4, "checkpoint 4"), (3, "checkpoint 3 + cosignature")]);
    // Logs are independent.
    assert!(s.log_head("other.example/log").await.unwrap().is_none());
}
