//! The harness every server test uses: a [`TestApp`] is the real router over a fresh
//! store holding the small Fujian fixture, accounts of every role and a few demands, and
//! it drives the router in-process with `tower::ServiceExt::oneshot`.
//!
//! The store is a SQLite file in the temp directory by default, and a fresh schema on a
//! PostgreSQL server when `TONGXIN_TEST_POSTGRES` (a URL) or `PGHOST` (as exported by
//! `pg_virtualenv`) is set, so the same tests run on both backends. With
//! `TONGXIN_REQUIRE_POSTGRES=1` a missing server is a failure instead of a fallback.
//! Accounts sign in through `POST /api/session` on first use; the cookie is kept.

#![allow(dead_code)] // each test binary uses a different part of the harness

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use chrono::NaiveDateTime;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use sqlx::postgres::PgConnectOptions;
use tongxin_domain::{Demand, DemandKind, DemandOrigin, Level, Role, UnitCode, User, new_id};
use tongxin_server::{Config, app};
use tongxin_store::Store;
use tongxin_store_conformance::{Fixture, load_fixture};
pub use tongxin_store_conformance::{at, demand};
use tongxin_store_postgres::PgStore;
use tongxin_store_sqlite::SqliteStore;
use tower::ServiceExt;
use uuid::Uuid;

pub const PASSWORD: &str = "tongxin-test-password";

/// The accounts of the fixture, one per role and scope the rules distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Who {
    /// Cadre of 鼓东街道 (350102001), a township.
    TownshipCadre,
    /// Cadre of 三牧坊社区 (350102001001), a village under that township.
    VillageCadre,
    /// Cadre of 台江区 (350103), the sibling county of 鼓楼区.
    SiblingCountyCadre,
    /// Staff of 福建省农业农村厅, a provincial department (scope: the province).
    DepartmentStaff,
    /// Staff of 种植业管理处, a division of that department (scope: the province).
    DivisionStaff,
    /// Staff of 福州市教育局, a city bureau (scope: 福州市).
    CityBureauStaff,
    /// Burden-reduction office of 鼓楼区 (350102), a county.
    CountyOffice,
    /// Administrator of 福建省 (35).
    ProvinceAdmin,
    /// No session.
    Anonymous,
}

impl Who {
    pub const ALL: [Who; 9] = [
        Who::TownshipCadre,
        Who::VillageCadre,
        Who::SiblingCountyCadre,
        Who::DepartmentStaff,
        Who::DivisionStaff,
        Who::CityBureauStaff,
        Who::CountyOffice,
        Who::ProvinceAdmin,
        Who::Anonymous,
    ];

    pub fn username(self) -> &'static str {
        match self {
            Who::TownshipCadre => "cadre.gudong",
            Who::VillageCadre => "cadre.sanmufang",
            Who::SiblingCountyCadre => "cadre.taijiang",
            Who::DepartmentStaff => "staff.nongye",
            Who::DivisionStaff => "staff.zhongzhi",
            Who::CityBureauStaff => "staff.jiaoyu",
            Who::CountyOffice => "office.gulou",
            Who::ProvinceAdmin => "admin.fujian",
            Who::Anonymous => "",
        }
    }

    fn account(self, fx: &Fixture) -> Option<(Role, &'static str, Option<Uuid>)> {
        Some(match self {
            Who::TownshipCadre => (Role::Cadre, "350102001", None),
            Who::VillageCadre => (Role::Cadre, "350102001001", None),
            Who::SiblingCountyCadre => (Role::Cadre, "350103", None),
            Who::DepartmentStaff => (Role::BodyStaff, "35", Some(fx.department.id)),
            Who::DivisionStaff => (Role::BodyStaff, "35", Some(fx.division_a.id)),
            Who::CityBureauStaff => (Role::BodyStaff, "3501", Some(fx.other.id)),
            Who::CountyOffice => (Role::Office, "350102", None),
            Who::ProvinceAdmin => (Role::Admin, "35", None),
            Who::Anonymous => return None,
        })
    }
}

/// argon2 is slow in a debug build: hash the one test password once per test binary.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| tongxin_domain::account::hash_password(PASSWORD).expect("hash"))
}

pub fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).expect("valid code")
}

/// The demands every [`TestApp`] starts with, all in March 2026.
pub struct Seeded {
    /// Data request of 种植业管理处 to 三牧坊社区 (village), 03-02.
    pub village: Demand,
    /// Inspection of 农田建设管理处 (another division) at 鼓楼区 (county), 03-03.
    pub county: Demand,
    /// Research visit of the department to 台江区, the sibling county, 03-04.
    pub sibling_county: Demand,
    /// Inspection of 种植业管理处 at 鼓西街道, the sibling township, 03-05.
    pub sibling_township: Demand,
    /// Meeting of the department for 福州市, cascading to townships, 03-06.
    pub cascade: Demand,
    /// Guidance visit of 农田建设管理处 to 思明区 in 厦门市, outside 福州市, 03-09.
    pub xiamen: Demand,
    /// Work group of 福州市教育局 at 鼓东街道, recorded by the township (reported), 03-10.
    pub reported: Demand,
}

impl Seeded {
    pub fn all(&self) -> [&Demand; 7] {
        [
            &self.village,
            &self.county,
            &self.sibling_county,
            &self.sibling_township,
            &self.cascade,
            &self.xiamen,
            &self.reported,
        ]
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn postgres_server() -> Option<PgConnectOptions> {
    if let Ok(url) = std::env::var("TONGXIN_TEST_POSTGRES") {
        return Some(url.parse().expect("TONGXIN_TEST_POSTGRES is a postgres:// URL"));
    }
    // PgConnectOptions::new() reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    std::env::var("PGHOST").ok().map(|_| PgConnectOptions::new())
}

/// A fresh, empty store of the backend under test, and the file to remove afterwards.
pub async fn fresh_store() -> (Arc<dyn Store>, Option<PathBuf>) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let run = std::process::id();
    if let Some(base) = postgres_server() {
        use sqlx::{ConnectOptions, Executor};
        let schema = format!("server_test_{run}_{n}");
        let mut admin = base.connect().await.expect("connect to PostgreSQL");
        admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            )))
            .await
            .expect("create a schema");
        let store = PgStore::open_with(base.options([("search_path", schema.as_str())]))
            .await
            .expect("open the PostgreSQL store");
        return (Arc::new(store), None);
    }
    assert!(
        std::env::var("TONGXIN_REQUIRE_POSTGRES").as_deref() != Ok("1"),
        "TONGXIN_REQUIRE_POSTGRES=1 but no PostgreSQL server is configured (TONGXIN_TEST_POSTGRES or PGHOST)"
    );
    let path = std::env::temp_dir().join(format!("tongxin-server-test-{run}-{n}.sqlite"));
    let store = SqliteStore::open(path.to_str().expect("utf-8 temp path")).await.expect("open SQLite");
    (Arc::new(store), Some(path))
}

pub struct TestApp {
    pub router: Router,
    pub store: Arc<dyn Store>,
    pub fx: Fixture,
    pub seed: Seeded,
    cookies: Mutex<HashMap<Who, String>>,
    file: Option<PathBuf>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(path) = &self.file {
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

impl TestApp {
    /// The fixture, every account and the [`Seeded`] demands on a fresh store.
    pub async fn new() -> TestApp {
        let (store, file) = fresh_store().await;
        let fx = load_fixture(store.as_ref()).await;
        for who in Who::ALL {
            if let Some((role, scope, body)) = who.account(&fx) {
                let user = User {
                    id: new_id(),
                    username: who.username().into(),
                    display_name: format!("测试 {}", who.username()),
                    role,
                    scope: code(scope),
                    body,
                    password_hash: password_hash().to_owned(),
                };
                store.put_user(&user).await.expect("put user");
            }
        }
        let seed = seed(store.as_ref(), &fx).await;
        let router = app(store.clone(), Config::default());
        TestApp { router, store, fx, seed, cookies: Mutex::new(HashMap::new()), file }
    }

    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// Sends one request through the whole router (all layers included).
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.expect("the router is infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.expect("read body").to_bytes();
        Reply { status, headers, body }
    }

    /// The session cookie (`name=value`) of `who`, signing in on first use.
    pub async fn cookie(&self, who: Who) -> Option<String> {
        if who == Who::Anonymous {
            return None;
        }
        if let Some(c) = self.cookies.lock().unwrap().get(&who) {
            return Some(c.clone());
        }
        let r = self
            .send(
                Request::post("/api/session")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(json!({"username": who.username(), "password": PASSWORD}).to_string()))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{who:?} signs in: {}", r.text());
        let cookie = r.session_cookie().expect("sign-in sets the session cookie");
        self.cookies.lock().unwrap().insert(who, cookie.clone());
        Some(cookie)
    }

    /// The SQLite file behind the store (`None` on PostgreSQL).
    #[allow(dead_code)]
    pub fn sqlite_file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// A request builder for `who` (with their cookie).
    pub async fn request(&self, who: Who, method: Method, uri: &str) -> axum::http::request::Builder {
        let mut b = Request::builder().method(method).uri(uri).header(header::HOST, "tongxin.test");
        if let Some(c) = self.cookie(who).await {
            b = b.header(header::COOKIE, c);
        }
        b
    }

    pub async fn get(&self, who: Who, uri: &str) -> Reply {
        let req = self.request(who, Method::GET, uri).await.body(Body::empty()).unwrap();
        self.send(req).await
    }

    pub async fn json(&self, who: Who, method: Method, uri: &str, body: &Value) -> Reply {
        let req = self
            .request(who, method, uri)
            .await
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(req).await
    }

    pub async fn post_json(&self, who: Who, uri: &str, body: &Value) -> Reply {
        self.json(who, Method::POST, uri, body).await
    }

    pub async fn put_json(&self, who: Who, uri: &str, body: &Value) -> Reply {
        self.json(who, Method::PUT, uri, body).await
    }

    /// A raw body with a content type, for malformed input.
    pub async fn raw(&self, who: Who, method: Method, uri: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let req = self
            .request(who, method, uri)
            .await
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    /// An HTML form post (`application/x-www-form-urlencoded`).
    pub async fn post_form(&self, who: Who, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
        self.raw(who, Method::POST, uri, "application/x-www-form-urlencoded", body.join("&").into_bytes())
            .await
    }

    /// Creates a demand through the API as `who` and returns it (asserting 201).
    pub async fn create(&self, who: Who, input: &Value) -> Value {
        let r = self.post_json(who, "/api/demands", input).await;
        assert_eq!(r.status, StatusCode::CREATED, "{who:?} creates a demand: {}", r.text());
        r.json()
    }

    /// The number of demands in the store, to check that a refused request wrote nothing.
    pub async fn demand_count(&self) -> u64 {
        self.store.counts().await.unwrap().demands
    }
}

/// Percent-encodes a form value.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

async fn seed(store: &dyn Store, fx: &Fixture) -> Seeded {
    let put = |d: Demand| async move { store.create_demand(d, "seed").await.expect("seed demand") };
    let village = put(demand(DemandKind::DataRequest, &fx.division_a, &["350102001001"], at(3, 2, 9))).await;
    let county = put(demand(DemandKind::Inspection, &fx.division_b, &["350102"], at(3, 3, 9))).await;
    let sibling_county =
        put(demand(DemandKind::ResearchVisit, &fx.department, &["350103"], at(3, 4, 9))).await;
    let sibling_township =
        put(demand(DemandKind::Inspection, &fx.division_a, &["350102002"], at(3, 5, 9))).await;
    let mut cascade = demand(DemandKind::Meeting, &fx.department, &["3501"], at(3, 6, 9));
    cascade.cost.attend_levels = vec![Level::Prefecture, Level::County, Level::Township];
    cascade.title = "全市高标准农田建设视频推进会".into();
    let cascade = put(cascade).await;
    let xiamen = put(demand(DemandKind::GuidanceVisit, &fx.division_b, &["350203"], at(3, 9, 9))).await;
    let mut reported = demand(DemandKind::WorkGroup, &fx.other, &["350102001"], at(3, 10, 9));
    reported.origin = DemandOrigin::Reported;
    reported.title = "未经登记的教育督导工作组".into();
    let reported = put(reported).await;
    Seeded { village, county, sibling_county, sibling_township, cascade, xiamen, reported }
}

/// A valid demand input for the API: an inspection of `body` at `targets`.
pub fn input(body: Uuid, targets: &[&str], start: NaiveDateTime) -> Value {
    json!({
        "kind": "inspection",
        "source_body": body,
        "title": "高标准农田建设专项督查",
        "topic": "高标准农田建设",
        "targets": targets,
        "starts_at": start.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "ends_at": (start + chrono::Duration::hours(3)).format("%Y-%m-%dT%H:%M:%S").to_string(),
        "cost": {"cadre_hours": 6.0, "cadres_required": 2, "host_person_days": 1.5}
    })
}

/// One response, fully read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{} is not JSON ({e}): {}", self.status, self.text()))
    }

    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok())
    }

    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE).unwrap_or("")
    }

    /// The `tongxin_session=…` pair of a `Set-Cookie` that sets (not clears) it.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.split(';').next())
            .find(|kv| kv.starts_with("tongxin_session=") && kv.len() > "tongxin_session=".len())
            .map(str::to_owned)
    }

    /// Asserts the JSON error shape `{code, message_zh, message_en, fields?}` with this
    /// status and code, and returns the body.
    #[track_caller]
    pub fn error(&self, status: StatusCode, code: &str) -> Value {
        assert_eq!(self.status, status, "status of: {}", self.text());
        assert!(self.content_type().starts_with("application/json"), "JSON error: {:?}", self.headers);
        let v = self.json();
        assert_eq!(v["code"], code, "{v}");
        assert!(v["message_zh"].as_str().is_some_and(|m| !m.is_empty()), "message_zh in {v}");
        assert!(v["message_en"].as_str().is_some_and(|m| !m.is_empty()), "message_en in {v}");
        if let Some(fields) = v.get("fields") {
            for f in fields.as_array().expect("fields is a list") {
                assert!(f["field"].is_string() && f["zh"].is_string() && f["en"].is_string(), "{f}");
            }
        }
        v
    }

    /// The `field` names of a 422 `invalid` error.
    #[track_caller]
    pub fn invalid_fields(&self) -> Vec<String> {
        let v = self.error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
        v["fields"]
            .as_array()
            .expect("an invalid error names its fields")
            .iter()
            .map(|f| f["field"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The ids of a demand list.
    pub fn ids(&self) -> Vec<String> {
        let v = self.json();
        v["items"]
            .as_array()
            .unwrap_or_else(|| panic!("a demand list: {v}"))
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub fn id(d: &Demand) -> String {
    d.id.to_string()
}
