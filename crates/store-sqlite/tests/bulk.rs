//! The import path (its own rusqlite connection, see `src/bulk.rs`) against the rest of
//! the store (sqlx): the same stored values, all or nothing on the index-rebuilding path
//! too, progress, cancellation, and in-memory stores.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveTime};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
use tongxin_domain::{DemandKind, Flag, Level, Role, User, new_id};
use tongxin_store::{ImportBatch, Store};
use tongxin_store_conformance::{at, demand, load_fixture};
use tongxin_store_sqlite::SqliteStore;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("tongxin-bulk-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> String {
        self.0.join("db.sqlite").to_str().unwrap().to_owned()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A plain sqlx connection to look at the stored values themselves.
async fn raw(path: &str) -> SqlitePool {
    SqlitePool::connect_with(SqliteConnectOptions::new().filename(path).read_only(true)).await.unwrap()
}

/// Every column of the row, as SQLite spells its stored value (`quote()`: type and bytes).
async fn quoted(pool: &SqlitePool, table: &str, columns: &[&str], key: &str, id: &[u8]) -> Vec<String> {
    let list = columns.iter().map(|c| format!("quote({c})")).collect::<Vec<_>>().join(" || '|' || ");
    let sql = format!("SELECT {list} FROM {table} WHERE {key} = ? ORDER BY 1");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(pool).await.unwrap()
}

const DEMAND_COLUMNS: &[&str] = &[
    "province",
    "kind",
    "source_body",
    "source_department",
    "title",
    "topic",
    "targets",
    "starts_at",
    "ends_at",
    "status",
    "origin",
    "cadre_hours",
    "cadres_required",
    "host_person_days",
    "visitors",
    "forms",
    "fields",
    "attend_levels",
    "video",
    "indicators",
    "doc_chars",
    "speech_minutes",
    "flags",
    "revision",
    "changed_by",
    "last_action",
    "typeof(changed_at)",
];

#[tokio::test]
async fn imports_store_the_values_the_sqlx_statements_store() {
    let dir = TempDir::new("bytes");
    let s = SqliteStore::open(&dir.db()).await.unwrap();
    let fx = load_fixture(&s).await;

    // Every kind of value: several targets, fractional seconds, JSON that needs escaping,
    // levels, flags, fractions, a boolean.
    let mut d =
        demand(DemandKind::DataRequest, &fx.division_a, &["350102001", "350102002", "350102"], at(3, 4, 9));
    d.starts_at = d.starts_at.date().and_time(NaiveTime::from_hms_milli_opt(9, 30, 5, 120).unwrap());
    d.ends_at = d.starts_at + Duration::nanoseconds(7_200_000_000_001);
    d.cost.fields = vec!["常住人口".into(), "say \"x\" \\ y".into()];
    d.cost.attend_levels = vec![Level::County, Level::Village];
    d.cost.flags = vec![Flag::Comprehensive, Flag::ReportsDemanded];
    d.cost.speech_minutes = 45;
    d.cost.cadre_hours = 2.5;
    d.cost.host_person_days = 0.25;
    d.cost.video = true;
    d.cost.doc_chars = 12_000;
    let created = s.create_demand(d.clone(), "张三").await.unwrap();
    let imported = tongxin_domain::Demand { id: new_id(), ..d.clone() };
    s.import(
        ImportBatch { demands: vec![imported.clone()], actor: "张三".into(), ..Default::default() },
        None,
    )
    .await
    .unwrap();

    let pool = raw(&dir.db()).await;
    let by_sqlx = quoted(&pool, "demands", DEMAND_COLUMNS, "id", created.id.as_bytes()).await;
    let by_import = quoted(&pool, "demands", DEMAND_COLUMNS, "id", imported.id.as_bytes()).await;
    assert_eq!(by_sqlx.len(), 1);
    assert_eq!(by_import, by_sqlx);
    let target_columns = ["province", "unit", "typeof(demand_id)", "length(demand_id)"];
    let by_sqlx = quoted(&pool, "demand_targets", &target_columns, "demand_id", created.id.as_bytes()).await;
    let by_import =
        quoted(&pool, "demand_targets", &target_columns, "demand_id", imported.id.as_bytes()).await;
    assert_eq!(by_sqlx.len(), 3);
    assert_eq!(by_import, by_sqlx);
    // And the import reads back as it went in.
    assert_eq!(
        s.demand(imported.id).await.unwrap().unwrap(),
        tongxin_domain::Demand { id: imported.id, ..created }
    );

    // Users: `put_user` (sqlx) and an import.
    let user = |name: &str, body: Option<uuid::Uuid>| User {
        id: new_id(),
        username: name.into(),
        display_name: "李四".into(),
        role: if body.is_some() { Role::BodyStaff } else { Role::Office },
        scope: tongxin_domain::UnitCode::parse("3501").unwrap(),
        body,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
    };
    let user_columns = ["province", "display_name", "role", "scope", "body", "password_hash"];
    for (n, body) in [None, Some(fx.department.id)].into_iter().enumerate() {
        let put = user(&format!("put{n}"), body);
        s.put_user(&put).await.unwrap();
        let imported = user(&format!("imported{n}"), body);
        s.import(ImportBatch { users: vec![imported.clone()], ..Default::default() }, None).await.unwrap();
        let by_sqlx = quoted(&pool, "users", &user_columns, "id", put.id.as_bytes()).await;
        assert_eq!(by_sqlx.len(), 1);
        assert_eq!(quoted(&pool, "users", &user_columns, "id", imported.id.as_bytes()).await, by_sqlx);
    }

    // Units and bodies are written only by imports: their values as the sqlx binds
    // spelled them (text codes, integer levels and flags, ids as 16-byte blobs).
    let unit: String = sqlx::query_scalar(
        "SELECT quote(province) || quote(code) || quote(parent) || quote(level) || quote(name) \
         || quote(cadres_estimated) FROM units WHERE code = '350102001'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(unit, "'35''350102001''350102'4'鼓东街道'1");
    let top: String =
        sqlx::query_scalar("SELECT quote(parent) || typeof(cadres) FROM units WHERE code = '35'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(top, "NULLinteger");
    let hex = |id: uuid::Uuid| format!("X'{}'", id.simple().to_string().to_uppercase());
    let body: String = sqlx::query_scalar(
        "SELECT quote(province) || quote(id) || quote(unit) || quote(kind) || quote(parent) FROM bodies WHERE id = ?",
    )
    .bind(fx.division_a.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(body, format!("'35'{}'35''division'{}", hex(fx.division_a.id), hex(fx.department.id)));
    let department: String = sqlx::query_scalar("SELECT quote(parent) FROM bodies WHERE id = ?")
        .bind(fx.department.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(department, "NULL");
}

/// The import binds only the values that differ from the row before, in (province, id)
/// order and in chunks: rows whose fields change at different rhythms, over two provinces
/// and across a chunk boundary, must each read back as they were given.
#[tokio::test]
async fn every_row_of_an_import_keeps_its_own_values() {
    let dir = TempDir::new("rhythms");
    let s = SqliteStore::open(&dir.db()).await.unwrap();
    let fx = load_fixture(&s).await;
    let jiangxi = tongxin_domain::Body {
        id: new_id(),
        unit: tongxin_domain::UnitCode::parse("36").unwrap(),
        name: "江西省农业农村厅".into(),
        kind: tongxin_domain::BodyKind::Department,
        parent: None,
    };
    let units = [("36", "江西省"), ("3601", "南昌市"), ("360102", "东湖区")]
        .map(|(c, n)| tongxin_domain::Unit::new(tongxin_domain::UnitCode::parse(c).unwrap(), n));
    let kinds = DemandKind::ALL;
    let batch: Vec<tongxin_domain::Demand> = (0..5_003usize)
        .map(|i| {
            // Runs of 50 in one province, then the other: the import regroups them.
            let (body, target) = if i / 50 % 2 == 0 {
                (&fx.division_b, if i % 3 == 0 { "350102" } else { "350103" })
            } else {
                (&jiangxi, "360102")
            };
            let mut d = demand(
                kinds[i / 4 % kinds.len()],
                body,
                &[target],
                at(1, 1, 9) + Duration::hours(i as i64 / 2),
            );
            d.title = format!("第{}批督查", i / 3);
            d.topic = if i % 10 < 5 { "防汛".into() } else { String::new() };
            d.ends_at = d.starts_at + Duration::minutes(30 * (i as i64 % 4));
            d.cost.cadre_hours = (i % 2) as f64 * 1.5;
            d.cost.cadres_required = (i / 6 % 3) as u32;
            d.cost.visitors = 1 + (i % 7) as u32;
            d.cost.fields = if i % 5 == 0 { vec![format!("字段{i}")] } else { Vec::new() };
            d.cost.attend_levels =
                if i % 8 < 4 { vec![Level::Township] } else { vec![Level::Township, Level::Village] };
            d.cost.video = i % 9 == 0;
            d.cost.flags = if i % 11 == 0 { vec![Flag::Comprehensive] } else { Vec::new() };
            d
        })
        .collect();
    let counts = s
        .import(
            ImportBatch {
                units: units.to_vec(),
                bodies: vec![jiangxi.clone()],
                demands: batch.clone(),
                actor: "import:rhythms.csv".into(),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(counts.demands, 5_003);
    // Every target row names its demand, whose targets include the row's unit.
    let pool = raw(&dir.db()).await;
    let matched: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM demand_targets t JOIN demands d ON d.province = t.province AND d.id = t.demand_id \
         WHERE d.targets = t.unit",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((matched, target_count(&pool).await), (5_003, 5_003));
    for d in &batch {
        let department = if d.source_body == jiangxi.id { jiangxi.id } else { fx.department.id };
        let expected = tongxin_domain::Demand { source_department: department, ..d.clone() };
        assert_eq!(s.demand(d.id).await.unwrap().as_ref(), Some(&expected));
    }
}

/// The demands are checked while they are written: a batch that fails its checks still
/// writes nothing, names every problem, and leaves the indexes as they were.
#[tokio::test]
async fn a_large_import_that_fails_its_checks_writes_nothing() {
    let dir = TempDir::new("checked");
    let s = SqliteStore::open(&dir.db()).await.unwrap();
    let fx = load_fixture(&s).await;
    let pool = raw(&dir.db()).await;
    let mut batch = large_batch(&fx.department);
    batch[5].targets = vec![tongxin_domain::UnitCode::parse("350102009").unwrap()];
    batch[LARGE - 2].ends_at = batch[LARGE - 2].starts_at - Duration::hours(1);
    batch[LARGE - 1].id = batch[7].id;
    let err = s.import(ImportBatch { demands: batch.clone(), ..Default::default() }, None).await.unwrap_err();
    let fields = match err {
        tongxin_store::StoreError::Invalid(inv) => inv.0.into_iter().map(|f| f.field).collect::<Vec<_>>(),
        other => panic!("expected the checks' problems, got {other:?}"),
    };
    assert_eq!(
        fields,
        [
            "demands[5].targets[0]".to_owned(),
            format!("demands[{}].ends_at", LARGE - 2),
            format!("demands[{}].id", LARGE - 1)
        ]
    );
    assert_eq!(s.counts().await.unwrap().demands, 0);
    let targets = target_count(&pool).await;
    assert_eq!(targets, 0);
    assert_eq!(index_names(&pool).await, ["demands_start"], "the dropped index came back with the rollback");
}

async fn index_names(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
         AND tbl_name IN ('demands', 'demand_targets') ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Large enough to drop and rebuild the demand indexes.
const LARGE: usize = 12_000;

/// `LARGE` demands of `body` on one township, a minute apart, in id order.
fn large_batch(body: &tongxin_domain::Body) -> Vec<tongxin_domain::Demand> {
    (0..LARGE)
        .map(|i| {
            demand(DemandKind::Indicator, body, &["350102001"], at(2, 1, 9) + Duration::minutes(i as i64))
        })
        .collect()
}

async fn target_count(pool: &SqlitePool) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM demand_targets").fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn a_large_import_is_all_or_nothing_and_reports_progress() {
    let dir = TempDir::new("large");
    let s = SqliteStore::open(&dir.db()).await.unwrap();
    let fx = load_fixture(&s).await;
    let pool = raw(&dir.db()).await;
    let indexes = index_names(&pool).await;
    assert_eq!(indexes, ["demands_start"]);
    // A new database has 16 KiB pages (see `SqliteStore::open`).
    let page_size: i64 = sqlx::query_scalar("PRAGMA page_size").fetch_one(&pool).await.unwrap();
    assert_eq!(page_size, 16384);
    // In reverse id order, so the import sorts them; the newest id, sorted last, is stored
    // already: the import fails on its last row.
    let mut batch = large_batch(&fx.department);
    batch.reverse();
    let stored = demand(DemandKind::Meeting, &fx.department, &["350102"], at(1, 5, 9));
    s.create_demand(stored.clone(), "a").await.unwrap();
    batch.push(stored.clone());
    let err = s.import(ImportBatch { demands: batch.clone(), ..Default::default() }, None).await.unwrap_err();
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(s.counts().await.unwrap().demands, 1);
    let targets = target_count(&pool).await;
    assert_eq!(targets, 1);
    assert_eq!(index_names(&pool).await, indexes, "the dropped indexes came back with the rollback");

    batch.pop();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = {
        let seen = seen.clone();
        move |done: u64, total: u64| seen.lock().unwrap().push((done, total))
    };
    let counts = s
        .import(ImportBatch { demands: batch.clone(), ..Default::default() }, Some(&progress))
        .await
        .unwrap();
    assert_eq!(counts.demands, LARGE as u64);
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 2, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0));
    assert_eq!(seen.last(), Some(&(LARGE as u64, LARGE as u64)));
    assert_eq!(s.counts().await.unwrap().demands, LARGE as u64 + 1);
    assert_eq!(index_names(&pool).await, indexes, "rebuilt after the import");
    // Every target row went in (they are sorted beside the demand inserts).
    let targets = target_count(&pool).await;
    assert_eq!(targets, LARGE as i64 + 1);
    for d in [&batch[0], &batch[LARGE / 2], &batch[LARGE - 1]] {
        assert_eq!(s.demand(d.id).await.unwrap().unwrap().title, d.title);
    }
    // A lookup by id alone probes the primary key, one search per province code.
    let sql = format!(
        "EXPLAIN QUERY PLAN SELECT * FROM demands WHERE {}",
        tongxin_store_sqlite::demand_by_id_condition()
    );
    let plan: Vec<(i64, i64, i64, String)> =
        sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(batch[0].id).fetch_all(&pool).await.unwrap();
    assert!(
        plan.iter().any(|p| p.3.contains("SEARCH demands USING PRIMARY KEY (province=? AND id=?)")),
        "{plan:?}"
    );
    // The targets are read by unit straight from their table, which is keyed that way.
    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT demand_id FROM demand_targets WHERE province = '35' AND unit >= '350102' AND unit < '350103'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        plan.iter().any(|p| p
            .3
            .contains("SEARCH demand_targets USING PRIMARY KEY (province=? AND unit>? AND unit<?)")),
        "{plan:?}"
    );
}

#[tokio::test]
async fn a_dropped_import_writes_nothing() {
    let dir = TempDir::new("dropped");
    let s = SqliteStore::open(&dir.db()).await.unwrap();
    let fx = load_fixture(&s).await;
    let batch: Vec<_> = (0..200_000)
        .map(|i| {
            demand(DemandKind::Indicator, &fx.department, &["350102001"], at(2, 1, 9) + Duration::minutes(i))
        })
        .collect();
    let started = Arc::new(tokio::sync::Notify::new());
    let reported = Arc::new(AtomicU64::new(0));
    // Dropped once some rows are in.
    let progress = {
        let (started, reported) = (started.clone(), reported.clone());
        move |done: u64, _| {
            if done > 0 && reported.swap(done, Ordering::Relaxed) == 0 {
                started.notify_one();
            }
        }
    };
    tokio::select! {
        r = s.import(ImportBatch { demands: batch, ..Default::default() }, Some(&progress)) => {
            panic!("the import finished before it could be dropped: {r:?}")
        }
        () = started.notified() => {}
    }
    // The next write waits for the writer, which the import hands back after rolling back.
    s.put_user(&User {
        id: new_id(),
        username: "after".into(),
        display_name: "after".into(),
        role: Role::Admin,
        scope: tongxin_domain::UnitCode::parse("35").unwrap(),
        body: None,
        password_hash: "x".into(),
    })
    .await
    .unwrap();
    assert_eq!(s.counts().await.unwrap().demands, 0);
    assert!(reported.load(Ordering::Relaxed) < 200_000);
}

#[tokio::test]
async fn in_memory_stores_import_too() {
    let s = SqliteStore::open("sqlite::memory:").await.unwrap();
    let fx = load_fixture(&s).await;
    let d = demand(DemandKind::Indicator, &fx.department, &["350102001"], at(2, 1, 9));
    s.import(ImportBatch { demands: vec![d.clone()], ..Default::default() }, None).await.unwrap();
    assert_eq!(s.demand(d.id).await.unwrap().unwrap().title, d.title);
    assert_eq!(s.counts().await.unwrap().bodies, 4);
    // Each in-memory store is its own database.
    let other = SqliteStore::open("sqlite::memory:").await.unwrap();
    assert_eq!(other.counts().await.unwrap().bodies, 0);
}
