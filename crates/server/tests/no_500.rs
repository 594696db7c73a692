//! No input makes the server answer 5xx or panic. A property test sends random methods,
//! paths (the real routes with real, garbage, unicode, huge and broken segments, or no
//! route at all), query strings and bodies (random JSON, a valid demand with one field
//! replaced by anything, truncated JSON, binary garbage, huge numbers, NaN-ish strings,
//! forms) with and without a session, in-process; every answer is below 500 and every
//! `/api/` error is JSON with a `code`. Each bug it found is a regression test below.
//!
//! `PROPTEST_CASES` raises the number of cases (300 by default, a few seconds).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Reply, TestApp, Who, at, input};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Value, json};

/// The routes of the router, path parameters as `{}`.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/openapi.json"),
    ("POST", "/api/session"),
    ("GET", "/api/units"),
    ("GET", "/api/units/search"),
    ("GET", "/api/units/{}"),
    ("GET", "/api/bodies"),
    ("GET", "/api/bodies/{}"),
    ("GET", "/api/demands"),
    ("POST", "/api/demands"),
    ("GET", "/api/demands/{}"),
    ("PUT", "/api/demands/{}"),
    ("POST", "/api/demands/{}/cancel"),
    ("GET", "/api/demands/{}/history"),
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{}"),
    ("GET", "/units"),
    ("GET", "/units/{}"),
    ("GET", "/units/{}/calendar"),
    ("GET", "/units/{}/calendar.ics"),
    ("GET", "/demands/new"),
    ("POST", "/demands/new"),
    ("GET", "/demands/{}"),
    ("POST", "/demands/{}/cancel"),
    ("GET", "/static/app.css"),
];

const PARAMS: &[&str] = &[
    "unit", "parent", "q", "limit", "body", "kind", "status", "from", "to", "after", "cascade", "month",
    "feed", "token", "lang", "next",
];

const FORM_FIELDS: &[&str] = &[
    "username",
    "password",
    "next",
    "revision",
    "kind",
    "source_body",
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
];

/// Values that have broken parsers elsewhere: out-of-range dates and numbers, NaN-ish
/// strings, control characters, path tricks.
const NASTY: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "4294967296",
    "18446744073709551616",
    "1e400",
    "-0",
    "NaN",
    "Infinity",
    "-inf",
    "null",
    "true",
    "2026-13-01",
    "2026-02-30",
    "2026-03-01T25:00",
    "+262143-12-31T23:59:59",
    "-262144-01-01",
    "262143-12",
    "-262144-01",
    "9999-12",
    "0000-01",
    "1899-12-31",
    "3000-01-01",
    "2026-03-01T09:00:00~00000000-0000-0000-0000-000000000000",
    "99999-01-01T00:00:00~00000000-0000-0000-0000-000000000000",
    "35",
    "350102001",
    "3501020010019",
    "３５",
    "00000000-0000-0000-0000-000000000000",
    "\u{0}",
    "a\u{0}b",
    "\u{7}\u{1b}[31m",
    "%",
    "_",
    "\\",
    "'; DROP TABLE demands; --",
    "..",
    "//evil.example",
    "https://evil.example",
    "会议",
    "已取消",
    "社区",
    "🙂",
    "\u{202e}",
];

#[derive(Debug, Clone)]
enum Segment {
    /// Percent-encoded into the path.
    Text(String),
    /// Put into the path as is (already a valid URI fragment).
    Raw(&'static str),
}

fn segment(real: Vec<String>) -> impl Strategy<Value = Segment> {
    prop_oneof![
        3 => proptest::sample::select(real).prop_map(Segment::Text),
        2 => proptest::sample::select(NASTY).prop_map(|s| Segment::Text(s.to_owned())),
        2 => "[a-z0-9._-]{0,16}".prop_map(Segment::Text),
        1 => "\\PC{0,12}".prop_map(Segment::Text),
        1 => (1usize..5000).prop_map(|n| Segment::Text("9".repeat(n))),
        1 => proptest::sample::select(vec!["%FF", "%FF%FE", "%C3%28", "%00", "%2F", "..", "%20", "%E4%BC"]).prop_map(Segment::Raw),
    ]
}

fn encode_segment(s: &Segment) -> String {
    match s {
        Segment::Text(t) => common::encode(t),
        Segment::Raw(r) => (*r).to_owned(),
    }
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(NASTY).prop_map(str::to_owned),
        2 => "[a-z0-9:T~ -]{0,24}",
        1 => "\\PC{0,16}",
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<f64>().prop_map(|n| n.to_string()),
        1 => (1usize..3000).prop_map(|n| "8".repeat(n)),
    ]
}

fn query() -> impl Strategy<Value = String> {
    proptest::collection::vec((proptest::sample::select(PARAMS), value()), 0..4).prop_map(|pairs| {
        pairs.iter().map(|(k, v)| format!("{k}={}", common::encode(v))).collect::<Vec<_>>().join("&")
    })
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        proptest::sample::select(NASTY).prop_map(|s| json!(s)),
        "\\PC{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const DEMAND_FIELDS: &[&str] = &[
    "kind",
    "source_body",
    "title",
    "topic",
    "targets",
    "starts_at",
    "ends_at",
    "status",
    "origin",
    "cost",
    "revision",
    "cost.cadre_hours",
    "cost.cadres_required",
    "cost.attend_levels",
    "cost.fields",
    "cost.visitors",
];

#[derive(Debug, Clone)]
enum Payload {
    None,
    Json(Value),
    Bytes(Vec<u8>),
    Form(Vec<(&'static str, String)>),
}

fn payload(valid: Value) -> impl Strategy<Value = Payload> {
    let valid_text = valid.to_string();
    prop_oneof![
        1 => Just(Payload::None),
        2 => json_value().prop_map(Payload::Json),
        // A valid demand, with or without a revision (for updates), as is or with one
        // field replaced by anything.
        4 => (any::<bool>(), any::<bool>(), proptest::sample::select(DEMAND_FIELDS), json_value()).prop_map(
            move |(revision, mutate, field, v)| {
                let mut d = valid.clone();
                if revision {
                    d["revision"] = json!(1);
                }
                if mutate {
                    match field.split_once('.') {
                        Some((outer, inner)) => d[outer][inner] = v,
                        None => d[field] = v,
                    }
                }
                Payload::Json(d)
            }
        ),
        // Cut short, or with raw huge numbers that serde_json's Value cannot hold.
        2 => (0..valid_text.len()).prop_map(move |n| Payload::Bytes(valid_text.as_bytes()[..n].to_vec())),
        1 => proptest::sample::select(vec![
            r#"{"revision": 1e400}"#,
            r#"{"revision": 18446744073709551616}"#,
            r#"{"revision": -0.0}"#,
            r#"{"revision": NaN}"#,
            r#"{"username": "a", "password": "b", "username": "c"}"#,
            r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["#,
        ])
        .prop_map(|s| Payload::Bytes(s.as_bytes().to_vec())),
        1 => proptest::collection::vec(any::<u8>(), 0..256).prop_map(Payload::Bytes),
        2 => proptest::collection::vec((proptest::sample::select(FORM_FIELDS), value()), 0..8).prop_map(Payload::Form),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    method: Method,
    route: &'static str,
    segment: Segment,
    query: String,
    payload: Payload,
    content_type: Option<&'static str>,
    who: Who,
}

fn case(real_segments: Vec<String>, valid: Value) -> impl Strategy<Value = Case> {
    let methods = vec![
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::HEAD,
        Method::OPTIONS,
    ];
    let route = prop_oneof![
        8 => proptest::sample::select(ROUTES).prop_map(|(m, p)| (Some(m), p)),
        1 => proptest::sample::select(vec!["/api/{}", "/api/demands/{}/{}", "/{}", "/units/{}/{}", "/api"])
            .prop_map(|p| (None, p)),
    ];
    (
        route,
        proptest::sample::select(methods),
        any::<bool>(),
        segment(real_segments),
        query(),
        payload(valid),
        proptest::option::of(proptest::sample::select(vec![
            "application/json",
            "application/json; charset=utf-8",
            "application/problem+json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
        ])),
        proptest::sample::select(vec![Who::Anonymous, Who::TownshipCadre, Who::ProvinceAdmin]),
    )
        .prop_map(|((own, route), other, keep, segment, query, payload, content_type, who)| Case {
            method: match own {
                Some(m) if keep => m.parse().unwrap(),
                _ => other,
            },
            route,
            segment,
            query,
            payload,
            content_type,
            who,
        })
}

async fn run(app: &TestApp, c: &Case) -> (String, Reply) {
    let seg = encode_segment(&c.segment);
    let path = c.route.replace("{}", &seg);
    let uri = if c.query.is_empty() { path.clone() } else { format!("{path}?{}", c.query) };
    // Signing out would end the shared sessions for every later case.
    let signs_out =
        (c.method == Method::DELETE && path.starts_with("/api/session")) || path.starts_with("/logout");
    let who = if signs_out { Who::Anonymous } else { c.who };
    let mut req = app.request(who, c.method.clone(), &uri).await;
    let body = match &c.payload {
        Payload::None => Body::empty(),
        Payload::Json(v) => {
            req = req.header(header::CONTENT_TYPE, c.content_type.unwrap_or("application/json"));
            Body::from(v.to_string())
        }
        Payload::Bytes(b) => {
            if let Some(ct) = c.content_type {
                req = req.header(header::CONTENT_TYPE, ct);
            }
            Body::from(b.clone())
        }
        Payload::Form(pairs) => {
            req = req
                .header(header::CONTENT_TYPE, c.content_type.unwrap_or("application/x-www-form-urlencoded"));
            let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", common::encode(v))).collect();
            Body::from(text.join("&"))
        }
    };
    let req = match req.body(body) {
        Ok(req) => req,
        // The client side could not even form this URI: nothing to send.
        Err(_) => {
            return (
                uri,
                Reply {
                    status: StatusCode::BAD_REQUEST,
                    headers: Default::default(),
                    body: Default::default(),
                },
            );
        }
    };
    (uri, app.send(req).await)
}

/// What every answer must satisfy.
fn check(c: &Case, uri: &str, r: &Reply) -> Result<(), String> {
    if r.status.is_server_error() {
        return Err(format!("{} {uri} answered {}: {}", c.method, r.status, r.text()));
    }
    let api = uri == "/api" || uri.starts_with("/api/") || uri.starts_with("/api?");
    let has_body = c.method != Method::HEAD && r.status != StatusCode::NO_CONTENT;
    if !api || !has_body {
        return Ok(());
    }
    let is_json = r.content_type().starts_with("application/json");
    if r.status.is_client_error() || is_json {
        let v: Value = serde_json::from_slice(&r.body).map_err(|e| {
            format!("{} {uri} answered {} with non-JSON ({e}): {}", c.method, r.status, r.text())
        })?;
        if r.status.is_client_error() && !v["code"].is_string() {
            return Err(format!("{} {uri} answered {} without a code: {v}", c.method, r.status));
        }
    }
    Ok(())
}

#[test]
fn no_input_makes_the_server_answer_5xx() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let app = rt.block_on(TestApp::new());
    // Sign in up front; sign-out routes are left out so the sessions stay valid.
    rt.block_on(async {
        app.cookie(Who::TownshipCadre).await;
        app.cookie(Who::ProvinceAdmin).await;
    });
    let real = vec![
        "35".to_owned(),
        "350102001".to_owned(),
        "350199".to_owned(),
        app.seed.village.id.to_string(),
        app.seed.sibling_county.id.to_string(),
        app.fx.department.id.to_string(),
        "en".to_owned(),
    ];
    let valid = input(app.fx.division_a.id, &["350102001"], at(4, 1, 9));
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let result = runner.run(&case(real, valid), |c| {
        let (uri, reply) = rt.block_on(run(&app, &c));
        check(&c, &uri, &reply).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ----- regressions: inputs that once made the server fail -----

/// Builds the router: it used to panic at start-up, because the API and the pages each
/// had their own fallback and axum refuses to merge two.
#[tokio::test]
async fn the_router_builds_and_unknown_paths_are_404_in_their_own_format() {
    let app = TestApp::new().await;
    app.get(Who::Anonymous, "/api/nothing").await.error(StatusCode::NOT_FOUND, "not_found");
    let page = app.get(Who::Anonymous, "/nothing").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.content_type().starts_with("text/html"));
}

/// A month at the edge of chrono's calendar used to panic building the month grid.
#[tokio::test]
async fn extreme_months_are_refused_naming_month() {
    let app = TestApp::new().await;
    for month in ["262143-12", "+262143-12", "-262144-01", "0000-01", "9999-12", "1899-12"] {
        let r = app
            .get(Who::TownshipCadre, &format!("/units/350102001/calendar?month={}", common::encode(month)))
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{month}: {}", r.text());
        assert!(r.text().contains("<code>month</code>"), "{month}");
    }
}

/// Dates outside a database timestamp's range used to reach the store (PostgreSQL: 500).
#[tokio::test]
async fn extreme_dates_are_refused_naming_the_parameter() {
    let app = TestApp::new().await;
    let admin = Who::ProvinceAdmin;
    for (q, field) in [
        ("from=%2B262143-12-31", "from"),
        ("to=-262144-01-01T00%3A00", "to"),
        ("after=%2B262143-12-31T00%3A00%3A00~00000000-0000-0000-0000-000000000000", "after"),
    ] {
        assert_eq!(app.get(admin, &format!("/api/demands?{q}")).await.invalid_fields(), [field], "{q}");
    }
    let before = app.demand_count().await;
    for (start, end) in [
        ("+262143-12-31T00:00:00", "+262143-12-31T01:00:00"),
        ("-262144-01-01T00:00:00", "2026-01-01T00:00:00"),
        ("12026-01-01T00:00:00", "12026-01-01T01:00:00"),
    ] {
        let mut v = input(app.fx.division_a.id, &["350102001"], at(4, 1, 9));
        v["starts_at"] = json!(start);
        v["ends_at"] = json!(end);
        // serde stops at the first unreadable one; the server's own check names both.
        let fields = app.post_json(admin, "/api/demands", &v).await.invalid_fields();
        assert!(
            !fields.is_empty() && fields.iter().all(|f| f == "starts_at" || f == "ends_at"),
            "{start}: {fields:?}"
        );
    }
    assert_eq!(app.demand_count().await, before);
}

/// NUL (which PostgreSQL cannot store or compare) in free text used to reach the store.
#[tokio::test]
async fn nul_and_control_characters_never_reach_the_store() {
    let app = TestApp::new().await;
    let admin = Who::ProvinceAdmin;
    assert_eq!(app.get(admin, "/api/units/search?q=%E7%A6%8F%00").await.invalid_fields(), ["q"]);
    let r = app
        .post_json(
            Who::Anonymous,
            "/api/session",
            &json!({"username": "admin.fujian\u{0}", "password": common::PASSWORD}),
        )
        .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let r = app.post_form(Who::Anonymous, "/login", &[("username", "a\u{0}"), ("password", "x")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut v = input(app.fx.division_a.id, &["350102001"], at(4, 1, 9));
    v["topic"] = json!("\u{0}");
    assert_eq!(app.post_json(admin, "/api/demands", &v).await.invalid_fields(), ["topic"]);
    let division = app.fx.division_a.id.to_string();
    let r = app
        .post_form(
            admin,
            "/demands/new",
            &[
                ("kind", "inspection"),
                ("source_body", &division),
                ("title", "标题\u{0}"),
                ("targets", "350102001"),
                ("starts_at", "2026-04-01T09:00"),
                ("ends_at", "2026-04-01T10:00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("<code>title</code>"));
}

/// Errors produced outside the handlers (wrong method, bad path encoding, body limit)
/// used to be empty or plain text under `/api/`.
#[tokio::test]
async fn errors_from_the_router_and_layers_are_json_under_api() {
    let app = TestApp::new().await;
    let r = app.send(Request::options("/api/demands").body(Body::empty()).unwrap()).await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let v = app.get(Who::ProvinceAdmin, "/api/units/%FF").await.error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(v["message_en"].as_str().unwrap().contains("UTF-8"), "names the problem: {v}");
    let r = app
        .raw(
            Who::ProvinceAdmin,
            Method::PUT,
            &format!("/api/demands/{}", app.seed.village.id),
            "application/json",
            vec![b'['; 3 << 20],
        )
        .await;
    r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

/// A body of hundreds of thousands of targets used to pin a core in the domain's
/// quadratic duplicate check; it is refused at once.
#[tokio::test]
async fn a_huge_target_list_is_refused_quickly() {
    let app = TestApp::new().await;
    let mut v = input(app.fx.division_a.id, &["350102001"], at(4, 1, 9));
    v["targets"] = json!(vec!["350102001"; 150_000]);
    let started = std::time::Instant::now();
    assert_eq!(app.post_json(Who::ProvinceAdmin, "/api/demands", &v).await.invalid_fields(), ["targets"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
}
