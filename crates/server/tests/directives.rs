//! Directives over HTTP, through the real router: the road example flagged infeasible by
//! `POST /api/directives/check`, a contradiction with a stored issued directive, who may
//! draft, read and rate, bad documents refused with the task and field named and nothing
//! stored, a consultation with anonymous (Privacy Pass) and named ratings, one token
//! spent once across a report and a rating, results suppressed below k beside tongxin's
//! estimate, and the conclusion in the transparency log without any comment in it.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestApp, Who};
use serde_json::{Value, json};
use tongxin_log::{Log, LogConfig};
use tongxin_server::voice::{ALLOWANCE, period_of};
use tongxin_server::{Config, app_with_log};
use tongxin_tlog::{SignatureType, SignerKey};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{DefaultRng, IssuerPublicKey, TokenResponse, begin_issuance, finalize};

const SCOPE: &str = "350102";
const ORIGIN: &str = "tongxin.test/directives-log";

/// The road example of DESIGN.md §1 on the fixture's units: a road through 鼓东街道
/// within three months, and a survey of its villages.
const ROAD: &str = r#"
id = "road"
issuing_body = "x"
title = "关于三个月内建成鼓东街道通村公路的通知"
summary = "限三个月内建成通车"
issued_on = 2026-03-02

[[task]]
id = "road"
title = "建成通村公路并通车"
template = "road"
deadline = 2026-06-01
targets = { units = ["350102001"] }
resources = { cadre_hours = 600, visits = 8 }
requirements = [{ kind = "do_by", action = "road_open", by = 2026-06-01 }]

[[task]]
id = "survey"
title = "摸排沿线农户情况"
template = "data_collection"
deadline = 2026-05-15
targets = { level = "village", under = "350102001" }
resources = { cadre_hours = 30, visits = 1 }
requirements = [{ kind = "do_by", action = "household_visits", by = 2026-05-15 }]
"#;

/// An issued directive forbidding the household visits the road example requires.
const QUIET: &str = r#"
id = "quiet"
issuing_body = "x"
title = "关于春耕期间暂停入户走访的通知"
issued_on = 2026-03-01

[[task]]
id = "quiet"
title = "春耕期间不得入户走访"
template = "data_collection"
deadline = 2026-09-30
targets = { level = "village", under = "350102" }
requirements = [{ kind = "forbid", action = "household_visits" }]
"#;

async fn app_with_a_log() -> TestApp {
    let mut app = TestApp::new().await;
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let mut config = LogConfig::new(ORIGIN, key);
    config.period = Duration::from_millis(20);
    let log = Log::open(app.store.clone(), config).await.unwrap();
    app.router = app_with_log(app.store.clone(), Config::default(), Some(log));
    app
}

/// `ALLOWANCE` tokens of the scope for `who`, base64.
async fn tokens(app: &TestApp, who: Who) -> Vec<String> {
    let period = period_of(chrono::Utc::now());
    let r = app.post_json(who, "/api/voice/keys/ensure", &json!({"scope": SCOPE})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get(Who::Anonymous, &format!("/api/voice/keys?scope={SCOPE}&period={period}")).await;
    let v = r.json();
    let key =
        IssuerPublicKey::from_spki(&STANDARD.decode(v["token_key"].as_str().unwrap()).unwrap()).unwrap();
    let ch = challenge(v["server_name"].as_str().unwrap(), &KeyScope::new(SCOPE, &period).unwrap()).unwrap();
    let mut states = Vec::new();
    let mut requests = Vec::new();
    for _ in 0..ALLOWANCE {
        let (req, state) = begin_issuance(&key, &ch, &mut DefaultRng).unwrap();
        requests.push(STANDARD.encode(req.to_bytes()));
        states.push(state);
    }
    let r = app
        .post_json(
            who,
            "/api/voice/allowance",
            &json!({"scope": SCOPE, "period": period, "requests": requests}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let responses = r.json()["responses"].as_array().unwrap().clone();
    states
        .into_iter()
        .zip(responses)
        .map(|(s, resp)| {
            let resp = TokenResponse::decode(&STANDARD.decode(resp.as_str().unwrap()).unwrap()).unwrap();
            STANDARD.encode(finalize(s, &resp).unwrap().to_bytes())
        })
        .collect()
}

async fn create(app: &TestApp, who: Who, toml: &str) -> Value {
    let r = app.post_json(who, "/api/directives", &json!({"toml": toml})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

fn fields(r: &common::Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    r.invalid_fields()
}

async fn stored_count(app: &TestApp) -> usize {
    app.store.directives().directives(&Default::default()).await.unwrap().len()
}

#[tokio::test]
async fn the_road_example_is_flagged_and_a_stored_directive_conflicts() {
    let app = TestApp::new().await;
    let r = app.post_json(Who::DepartmentStaff, "/api/directives/check", &json!({"toml": ROAD})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["blocks_issuance"], true);
    let road = &v["report"]["tasks"][0];
    assert_eq!(road["task"], "road");
    assert_eq!(road["verdict"], "infeasible");
    let f = &road["groups"][0]["feasibility"];
    assert!(f["probability"].as_f64().unwrap() < 0.05, "{f}");
    assert!(f["breaking_step"].is_object(), "{f}");
    assert!(f["deadline_p80"].as_str().unwrap() > "2026-06-01", "{f}");
    assert!(v["report"]["conflicts"].as_array().unwrap().is_empty());
    // Statutory figures not checked against the statute's text are said so.
    let eia = road["unverified"].as_array().unwrap().iter().find(|u| u["step"] == "eia_participation");
    assert_eq!(eia.expect("listed")["verified"], "figure");
    assert!(v["unverified_figures"].as_u64().unwrap() >= 4, "{v}");
    assert!(v["report"]["burden"]["total_cadre_hours"].as_f64().unwrap() > 600.0);
    assert_eq!(stored_count(&app).await, 0, "a check stores nothing");

    // An issued directive forbidding household visits in the villages of 鼓楼区.
    let quiet = create(&app, Who::DepartmentStaff, QUIET).await;
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("/api/directives/{}/status", quiet["id"].as_str().unwrap()),
            &json!({"status": "issued", "revision": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "issued");

    let r = app.post_json(Who::CityBureauStaff, "/api/directives/check", &json!({"toml": ROAD})).await;
    let v = r.json();
    let conflicts = v["report"]["conflicts"].as_array().unwrap();
    let c = conflicts.iter().find(|c| c["kind"] == "contradiction").expect("a contradiction");
    assert_eq!(c["draft"][0]["task"], "survey");
    assert_eq!(c["others"][0]["directive"], quiet["id"]);
    assert_eq!(c["others"][0]["task"], "quiet");
    let units: Vec<&str> = c["units"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(units, ["350102001001", "350102001002"]);
    assert!(c["reason"]["zh"].as_str().unwrap().contains("household_visits"), "{c}");
    assert_eq!(v["blocking_conflicts"], 1);

    // The stored draft keeps the same report.
    let d = create(&app, Who::CityBureauStaff, ROAD).await;
    assert_eq!(d["status"], "draft");
    assert_eq!(d["check"]["tasks"][0]["verdict"], "infeasible");
    assert_eq!(d["document"]["issuing_body"], app.fx.other.name);
    let targets: Vec<&str> = d["targets"].as_array().unwrap().iter().map(|u| u.as_str().unwrap()).collect();
    assert_eq!(targets, ["350102001", "350102001001", "350102001002"]);
}

#[tokio::test]
async fn bad_documents_name_the_task_and_field_and_store_nothing() {
    let app = TestApp::new().await;
    let cases = [
        (ROAD.replace("template = \"road\"", "template = \"bridge\""), "task[0]"),
        (ROAD.replace("deadline = 2026-06-01", "deadline = 2026-02-01"), "task[0]"),
        (ROAD.replace("under = \"350102001\"", "under = \"350103\""), "task[1]"),
        (ROAD.replace("targets = { units = [\"350102001\"] }", "targets = { units = [] }"), "task[0]"),
    ];
    for (text, at) in &cases {
        for uri in ["/api/directives/check", "/api/directives"] {
            let r = app.post_json(Who::DepartmentStaff, uri, &json!({"toml": text})).await;
            let f = fields(&r);
            assert!(f.iter().any(|f| f.contains(at)), "{uri}: {f:?} should name {at}");
        }
    }
    // Not TOML at all, and neither or both sources.
    let r = app.post_json(Who::DepartmentStaff, "/api/directives", &json!({"toml": "id = "})).await;
    assert!(!fields(&r).is_empty());
    let r = app.post_json(Who::DepartmentStaff, "/api/directives", &json!({})).await;
    assert_eq!(fields(&r), ["document"]);
    let r =
        app.post_json(Who::DepartmentStaff, "/api/directives", &json!({"toml": ROAD, "document": {}})).await;
    assert_eq!(fields(&r), ["document"]);
    assert_eq!(stored_count(&app).await, 0);
}

#[tokio::test]
async fn who_may_draft_read_and_edit() {
    let app = TestApp::new().await;
    // No session; a cadre; staff of another body; an office outside the body's unit.
    assert_eq!(app.get(Who::Anonymous, "/api/directives").await.status, StatusCode::UNAUTHORIZED);
    let r = app.post_json(Who::TownshipCadre, "/api/directives", &json!({"toml": ROAD})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.post_json(Who::TownshipCadre, "/api/directives/check", &json!({"toml": ROAD})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .post_json(
            Who::DivisionStaff,
            "/api/directives",
            &json!({"toml": ROAD, "issuing_body": app.fx.department.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a division drafts for itself, not its department");
    let r = app
        .post_json(
            Who::CountyOffice,
            "/api/directives",
            &json!({"toml": ROAD, "issuing_body": app.fx.other.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the county office does not cover 福州市");
    let r = app.post_json(Who::ProvinceAdmin, "/api/directives", &json!({"toml": ROAD})).await;
    assert_eq!(fields(&r), ["issuing_body"]);

    // The department's staff drafts for a division of the department.
    let r = app
        .post_json(
            Who::DepartmentStaff,
            "/api/directives",
            &json!({"toml": ROAD, "issuing_body": app.fx.division_a.id}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let d = r.json();
    let id = d["id"].as_str().unwrap();
    let uri = format!("/api/directives/{id}");
    for who in [Who::DepartmentStaff, Who::DivisionStaff, Who::ProvinceAdmin] {
        assert_eq!(app.get(who, &uri).await.status, StatusCode::OK, "{who:?}");
    }
    for who in [Who::CityBureauStaff, Who::CountyOffice, Who::TownshipCadre, Who::VillageCadre] {
        assert_eq!(app.get(who, &uri).await.status, StatusCode::NOT_FOUND, "{who:?} reads a draft");
        let list = app.get(who, "/api/directives").await.json();
        assert!(list["items"].as_array().unwrap().is_empty(), "{who:?}: {list}");
    }
    assert_eq!(app.get(Who::DivisionStaff, "/api/directives").await.json()["items"][0]["id"], id);

    // Editing: compare-and-set on the revision; only authors.
    let edited = ROAD.replace("2026-06-01", "2027-12-01");
    let r = app.put_json(Who::CityBureauStaff, &uri, &json!({"toml": edited, "revision": 1})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.put_json(Who::DivisionStaff, &uri, &json!({"toml": edited, "revision": 1})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["revision"], 2);
    assert_eq!(r.json()["document"]["tasks"][0]["deadline"], "2027-12-01");
    let r = app.put_json(Who::DivisionStaff, &uri, &json!({"toml": edited, "revision": 1})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // A bad edit changes nothing.
    let bad = edited.replace("template = \"road\"", "template = \"bridge\"");
    let r = app.put_json(Who::DivisionStaff, &uri, &json!({"toml": bad, "revision": 2})).await;
    assert!(fields(&r).iter().any(|f| f.contains("task[0]")));
    assert_eq!(app.get(Who::DivisionStaff, &uri).await.json()["revision"], 2);

    // Consulting: the target units' cadres read it, the sibling county's do not.
    let r = app
        .post_json(
            Who::DivisionStaff,
            &format!("{uri}/consultation"),
            &json!({"closes_on": "2099-01-01", "revision": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "consulting");
    for who in [Who::TownshipCadre, Who::VillageCadre] {
        assert_eq!(app.get(who, &uri).await.status, StatusCode::OK, "{who:?}");
    }
    assert_eq!(app.get(Who::SiblingCountyCadre, &uri).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(Who::TownshipCadre, &format!("{uri}/results")).await.status, StatusCode::FORBIDDEN);
    // No longer a draft: no edits; no second window.
    let r = app.put_json(Who::DivisionStaff, &uri, &json!({"toml": edited, "revision": 3})).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = app
        .post_json(
            Who::DivisionStaff,
            &format!("{uri}/status"),
            &json!({"status": "consulting", "revision": 3}),
        )
        .await;
    assert_eq!(fields(&r), ["status"]);
    // A consultation ends by its conclusion (into the log), not by a status change.
    let r = app
        .post_json(Who::DivisionStaff, &format!("{uri}/status"), &json!({"status": "issued", "revision": 3}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
}

#[tokio::test]
async fn consultation_ratings_tokens_k_and_the_log() {
    let app = app_with_a_log().await;
    let d = create(&app, Who::DepartmentStaff, ROAD).await;
    let id = d["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/directives/{id}");
    let anon_uri = format!("/directives/{id}/ratings");
    let period = period_of(chrono::Utc::now());
    let rating = |token: &str, level: &str| {
        json!({
            "scope": SCOPE, "period": period, "token": token, "level": level,
            "ratings": [
                {"task": "road", "rating": 1, "comment": "三个月内走不完环评公示和招标"},
                {"task": "survey", "rating": 4},
            ]
        })
    };
    let mut village = tokens(&app, Who::VillageCadre).await;
    let mut township = tokens(&app, Who::TownshipCadre).await;

    // Not open yet: a draft takes no ratings.
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&village[0], "village")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("{uri}/consultation"),
            &json!({"closes_on": "2020-01-01", "revision": 1}),
        )
        .await;
    assert_eq!(fields(&r), ["closes_on"]);
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("{uri}/consultation"),
            &json!({"closes_on": "2099-01-01", "revision": 1}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["consultation"]["open"], true);

    // A token spent on a report cannot be spent on a rating.
    let spent = village.pop().unwrap();
    let report = json!({
        "scope": SCOPE, "period": period, "token": spent,
        "content": {"demanded": "三个月建成公路", "by_whom": "省农业农村厅", "cost": "无法完成", "fix": "按法定时限"}
    });
    let r = app.post_json(Who::Anonymous, "/voice/reports", &report).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&spent, "village")).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    // …nor one spent on a rating on a report, nor twice on ratings.
    let once = village.pop().unwrap();
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&once, "village")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&once, "village")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let mut again = report.clone();
    again["token"] = json!(once);
    assert_eq!(app.post_json(Who::Anonymous, "/voice/reports", &again).await.status, StatusCode::CONFLICT);
    // A forged token, bad ratings, a level without targets in the scope.
    let mut forged = STANDARD.decode(&village[0]).unwrap();
    forged[40] ^= 1;
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&STANDARD.encode(forged), "village")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let mut bad = rating(&village[0], "village");
    bad["ratings"] = json!([{"task": "bridge", "rating": 3}, {"task": "road", "rating": 9}]);
    assert_eq!(
        fields(&app.post_json(Who::Anonymous, &anon_uri, &bad).await),
        ["ratings[0].task", "ratings[1].rating"]
    );
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&village[0], "county")).await;
    assert_eq!(fields(&r), ["level"]);
    // A level above the token's scope, or no level at all, is as impossible; nothing is
    // spent by a refused rating.
    for level in ["province", "city", "", "hamlet"] {
        let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&village[0], level)).await;
        assert_eq!(fields(&r), ["level"], "{level}");
    }

    // Eight more village ratings: nine in all, below k = 10, so suppressed.
    for t in village.drain(..8) {
        let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&t, "village")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&township.pop().unwrap(), "township")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let res = app.get(Who::DepartmentStaff, &format!("{uri}/results")).await.json();
    assert_eq!(res["k"], 10);
    let road = &res["tasks"][0];
    assert_eq!(road["task"], "road");
    assert!(road["estimate"]["probability"].as_f64().unwrap() < 0.05);
    assert_eq!(road["estimate"]["verdict"], "infeasible");
    let levels = road["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 2);
    assert!(
        levels
            .iter()
            .all(|l| l["suppressed"] == true && l["responses"].is_null() && l.get("comments").is_none())
    );
    assert_eq!(road["overall"]["responses"], 10, "ten together reach k");
    assert!(!res.to_string().contains("\"mean\":1.0,\"responses\":9"));

    // The tenth village rating, by name: the village level is shown, comments included.
    let named = json!({"ratings": [{"task": "road", "rating": 2, "comment": "需要县政府作出征收决定"}]});
    let r = app.post_json(Who::SiblingCountyCadre, &format!("{uri}/ratings"), &named).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "not a cadre of a target unit");
    let r = app.post_json(Who::VillageCadre, &format!("{uri}/ratings"), &named).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app.post_json(Who::VillageCadre, &format!("{uri}/ratings"), &named).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a task rated twice by name");
    let mut with_token = named.clone();
    with_token["token"] = json!(township[0]);
    assert_eq!(
        fields(&app.post_json(Who::VillageCadre, &format!("{uri}/ratings"), &with_token).await),
        ["token"]
    );
    let res = app.get(Who::DepartmentStaff, &format!("{uri}/results")).await.json();
    let levels = res["tasks"][0]["levels"].as_array().unwrap();
    let v = levels.iter().find(|l| l["level"] == "village").unwrap();
    assert_eq!(v["suppressed"], false);
    assert_eq!(v["responses"], 10);
    assert_eq!(v["mean"], 1.1);
    assert_eq!(v["histogram"], json!([9, 1, 0, 0, 0]));
    assert_eq!(v["comments"].as_array().unwrap().len(), 10);
    let t = levels.iter().find(|l| l["level"] == "township").unwrap();
    assert_eq!(t["suppressed"], true);

    // Nothing stored with an anonymous rating names its cadre.
    let responses = app.store.directives().responses(uuid::Uuid::parse_str(&id).unwrap(), 1).await.unwrap();
    assert_eq!(responses.iter().filter(|r| r.user.is_some()).count(), 1);

    // The conclusion goes to the log: outcome, response and counts, never a comment.
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("{uri}/consultation/conclude"),
            &json!({"outcome": "revise", "response": "期限改为按法定时限倒排", "revision": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "stale revision: {}", r.text());
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("{uri}/consultation/conclude"),
            &json!({"outcome": "revise", "response": "期限改为按法定时限倒排", "revision": 2}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    assert_eq!(v["status"], "draft");
    let index = v["log_index"].as_u64().expect("logged");
    let entries = app.store.log_entries(ORIGIN, index, index + 1).await.unwrap();
    let entry = String::from_utf8(entries[0].clone()).unwrap();
    assert!(entry.contains("tongxin.directive.consultation/v1") && entry.contains("revise"), "{entry}");
    assert!(entry.contains("期限改为按法定时限倒排"), "{entry}");
    assert!(!entry.contains("环评") && !entry.contains("征收决定"), "no comment in the log: {entry}");
    assert_eq!(v["consultation"]["log_index"], index);
    // Closed: no more ratings; no second conclusion.
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&township[1], "township")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .json(
            Who::DepartmentStaff,
            Method::POST,
            &format!("{uri}/consultation/conclude"),
            &json!({"outcome": "issue", "response": "印发", "revision": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Revised, the draft is put to consultation again: round 2, with answers of its own.
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("{uri}/consultation"),
            &json!({"closes_on": "2099-02-01", "revision": 3}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        (r.json()["status"].as_str(), r.json()["consultation"]["round"].as_u64()),
        (Some("consulting"), Some(2))
    );
    let r = app.post_json(Who::Anonymous, &anon_uri, &rating(&township[1], "township")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app.post_json(Who::VillageCadre, &format!("{uri}/ratings"), &named).await;
    assert_eq!(r.status, StatusCode::CREATED, "the same cadre rates again in a new round: {}", r.text());
    let res = app.get(Who::DepartmentStaff, &format!("{uri}/results")).await.json();
    assert_eq!((res["round"].as_u64(), res["responses"].as_u64()), (Some(2), Some(2)));
    let rounds = res["rounds"].as_array().unwrap();
    assert_eq!(rounds.len(), 2);
    assert_eq!(
        (rounds[0]["outcome"].as_str(), rounds[0]["log_index"].as_u64()),
        (Some("revise"), Some(index))
    );
    assert!(rounds[1]["outcome"].is_null() && rounds[1]["open"] == true);
    assert_eq!(res["levels_self_declared"], true);
    let first = app.get(Who::DepartmentStaff, &format!("{uri}/results?round=1")).await.json();
    assert_eq!((first["round"].as_u64(), first["responses"].as_u64()), (Some(1), Some(11)));
    assert_eq!(first["tasks"][0]["levels"].as_array().unwrap().len(), 2);
    assert_eq!(
        app.get(Who::DepartmentStaff, &format!("{uri}/results?round=3")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(fields(&app.get(Who::DepartmentStaff, &format!("{uri}/results?round=x")).await), ["round"]);
    // The results page shows the latest round, lists the earlier one with its outcome,
    // and says that anonymous levels are self-declared.
    let html = app.get(Who::DepartmentStaff, &format!("/directives/{id}/results")).await.text();
    assert!(html.contains("id=\"results-rounds\"") && html.contains("?round=1"), "{html}");
    assert!(html.contains("第 2 轮征求意见") && html.contains("期限改为按法定时限倒排"), "{html}");
    assert!(html.contains("id=\"results-levels-note\"") && html.contains("自报"), "{html}");
    assert!(html.contains("id=\"conclude\""), "the open round can be concluded");
    let html = app.get(Who::DepartmentStaff, &format!("/directives/{id}/results?round=1")).await.text();
    assert!(html.contains("第 1 轮征求意见") && !html.contains("id=\"conclude\""), "{html}");
    // Round 2's conclusion is a log entry of its own, naming its round.
    let r = app
        .post_json(
            Who::DepartmentStaff,
            &format!("{uri}/consultation/conclude"),
            &json!({"outcome": "issue", "response": "按法定时限倒排后印发", "revision": 4}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "issued");
    let second = r.json()["log_index"].as_u64().expect("logged");
    assert!(second > index);
    let entry =
        String::from_utf8(app.store.log_entries(ORIGIN, second, second + 1).await.unwrap()[0].clone())
            .unwrap();
    assert!(entry.contains("\"round\":2") && entry.contains("\"responses\":2"), "{entry}");
    let rounds = app.get(Who::DepartmentStaff, &format!("{uri}/results")).await.json()["rounds"].clone();
    assert_eq!(rounds[1]["outcome"], "issue");
    assert_eq!(rounds[1]["log_index"].as_u64(), Some(second));
}

#[tokio::test]
async fn the_pages_draft_check_consult_and_show_results() {
    let app = TestApp::new().await;
    let r = app.get(Who::DepartmentStaff, "/directives/new").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("id=\"directive-toml\""));
    assert_eq!(app.get(Who::TownshipCadre, "/directives/new").await.status, StatusCode::FORBIDDEN);

    // "检查 / Check" without JavaScript: the panel flags the road, nothing is stored.
    let r =
        app.post_form(Who::DepartmentStaff, "/directives/new", &[("toml", ROAD), ("action", "check")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("id=\"check-verdict\"") && html.contains("不宜印发"), "{html}");
    assert!(html.contains("class=\"verdict-infeasible\">不可行"), "{html}");
    assert!(
        html.contains("id=\"check-unverified\"") && html.contains("data-step=\"eia_participation\""),
        "{html}"
    );
    assert!(html.contains("未核对法条原文的法定数字"), "{html}");
    assert_eq!(stored_count(&app).await, 0);
    // A bad document: the problems named in the panel, nothing stored.
    let bad = ROAD.replace("template = \"road\"", "template = \"bridge\"");
    let r =
        app.post_form(Who::DepartmentStaff, "/directives/new", &[("toml", &bad), ("action", "save")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("id=\"check-errors\"") && r.text().contains("task[0]"), "{}", r.text());
    assert_eq!(stored_count(&app).await, 0);

    // The live check: the panel alone, for the editor's script to swap in; not for
    // cadres; a bad document's problems in the panel; nothing stored.
    let r = app.post_form(Who::DepartmentStaff, "/directives/panel", &[("toml", ROAD), ("id", "")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(
        html.trim_start().starts_with("<section class=\"card directive-panel\" id=\"check-panel\">"),
        "{html}"
    );
    assert!(html.contains("class=\"verdict-infeasible\">不可行") && !html.contains("<html"), "{html}");
    let r = app.post_form(Who::DepartmentStaff, "/directives/panel", &[("toml", &bad), ("id", "")]).await;
    assert!(r.text().contains("id=\"check-errors\"") && r.text().contains("task[0]"), "{}", r.text());
    let r = app.post_form(Who::TownshipCadre, "/directives/panel", &[("toml", ROAD)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(stored_count(&app).await, 0);

    // In English.
    let r = app
        .post_form(Who::DepartmentStaff, "/directives/new?lang=en", &[("toml", ROAD), ("action", "check")])
        .await;
    let html = r.text();
    assert!(html.contains("<html lang=\"en\">") && html.contains("Should not be issued"), "{html}");
    assert!(html.contains("class=\"verdict-infeasible\">infeasible"), "{html}");
    assert!(html.contains("Breaking step") && !html.contains("不宜印发"), "{html}");

    // Save: redirected to the editor, which shows the stored document as TOML that
    // checks again as it is.
    let r =
        app.post_form(Who::DepartmentStaff, "/directives/new", &[("toml", ROAD), ("action", "save")]).await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
    let to = r.header(axum::http::header::LOCATION).unwrap().to_owned();
    let id = to.trim_start_matches("/directives/").trim_end_matches("/edit").to_owned();
    let html = app.get(Who::DepartmentStaff, &to).await.text();
    assert!(html.contains("不宜印发"), "{html}");
    let start = html.find("id=\"directive-toml\"").unwrap();
    let text = &html[html[start..].find('>').unwrap() + start + 1..html.find("</textarea>").unwrap()];
    let text = text
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let r =
        app.post_json(Who::DepartmentStaff, "/api/directives/check", &json!({"toml": text, "id": id})).await;
    assert_eq!(r.status, StatusCode::OK, "the editor's TOML checks again: {}\n{text}", r.text());
    assert!(app.get(Who::DepartmentStaff, "/directives").await.text().contains(&id));

    // Open the consultation from the editor; a cadre rates by name without JavaScript.
    let r = app
        .post_form(
            Who::DepartmentStaff,
            &format!("/directives/{id}/consultation"),
            &[("closes_on", "2099-01-01"), ("revision", "1")],
        )
        .await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
    let r = app.get(Who::TownshipCadre, &format!("/directives/{id}/consult")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("name=\"rating.road\"") && r.text().contains("/static/directives.js"));
    assert!(
        app.get(Who::TownshipCadre, "/directives")
            .await
            .text()
            .contains(&format!("/directives/{id}/consult"))
    );
    let r = app
        .post_form(
            Who::TownshipCadre,
            &format!("/directives/{id}/consult"),
            &[("rating.road", "1"), ("comment.road", "环评公示和招标就要两个月"), ("rating.survey", "4")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.text().contains("id=\"consult-done\""));
    assert_eq!(app.get(Who::Anonymous, "/static/directives.js").await.status, StatusCode::OK);

    // The author's results: one response, suppressed, beside tongxin's estimate.
    let html = app.get(Who::DepartmentStaff, &format!("/directives/{id}/results")).await.text();
    assert!(html.contains("id=\"results-count\">1<"), "{html}");
    assert!(html.contains("class=\"suppressed\""), "{html}");
    assert!(!html.contains("环评公示和招标就要两个月"), "a comment below k is not shown");
    assert!(html.contains("同心测算"), "{html}");
    assert_eq!(
        app.get(Who::TownshipCadre, &format!("/directives/{id}/results")).await.status,
        StatusCode::FORBIDDEN
    );
    // Conclude from the page.
    let r = app
        .post_form(
            Who::DepartmentStaff,
            &format!("/directives/{id}/conclude"),
            &[("outcome", "revise"), ("response", "按法定时限重新倒排工期"), ("revision", "2")],
        )
        .await;
    assert!(r.status.is_redirection(), "{} {}", r.status, r.text());
    let html = app.get(Who::DepartmentStaff, &format!("/directives/{id}/edit")).await.text();
    assert!(html.contains("按法定时限重新倒排工期") && html.contains("草稿"), "{html}");
}

#[tokio::test]
async fn the_ledger_counts_in_the_capacity_check() {
    let app = TestApp::new().await;
    app.store.set_cadres(&common::code("350102002001"), 1).await.unwrap();
    let draft = r#"
id = "forms"
issuing_body = "x"
title = "关于填报耕地保护台账的通知"
issued_on = 2026-04-06

[[task]]
id = "forms"
title = "填报耕地保护台账"
template = "data_collection"
deadline = 2026-05-29
targets = { units = ["350102002001"] }
resources = { cadre_hours = 40, visits = 1 }
"#;
    let over = |v: &Value| {
        v["report"]["conflicts"].as_array().unwrap().iter().find(|c| c["kind"] == "over_capacity").cloned()
    };
    let r = app.post_json(Who::DepartmentStaff, "/api/directives/check", &json!({"toml": draft})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(over(&r.json()), None, "the draft alone fits one cadre's week");

    // The ledger already holds a 45-hour inspection at that village in one of the weeks.
    let start = chrono::NaiveDate::from_ymd_opt(2026, 4, 15).unwrap().and_hms_opt(9, 0, 0).unwrap();
    let mut demand = common::input(app.fx.division_a.id, &["350102002001"], start);
    demand["cost"]["cadre_hours"] = json!(45.0);
    app.create(Who::DivisionStaff, &demand).await;
    let r = app.post_json(Who::DepartmentStaff, "/api/directives/check", &json!({"toml": draft})).await;
    let c = over(&r.json()).expect("over capacity with the ledger's hours");
    assert_eq!(c["units"], json!(["350102002001"]));
    assert_eq!(c["weeks"], json!(["2026-04-13"]));
}

#[tokio::test]
async fn the_list_pages_through_the_store_newest_first() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create(&app, Who::DepartmentStaff, ROAD).await["id"].as_str().unwrap().to_owned());
    }
    ids.reverse();
    let page = |uri: String| {
        let app = &app;
        async move {
            let r = app.get(Who::DepartmentStaff, &uri).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.text());
            let v = r.json();
            let items: Vec<String> =
                v["items"].as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_owned()).collect();
            (items, v["next"].as_str().map(str::to_owned))
        }
    };
    let (first, next) = page("/api/directives?limit=2".into()).await;
    assert_eq!(first, ids[..2]);
    let (second, last) = page(format!("/api/directives?limit=2&after={}", next.unwrap())).await;
    assert_eq!((second, last), (ids[2..].to_vec(), None));
    let (all, none) = page("/api/directives".into()).await;
    assert_eq!((all, none), (ids.clone(), None));
    // Drafts are not shown to cadres; bad cursors and limits name the parameter.
    assert!(page("/api/directives".into()).await.0.len() == 3);
    let r = app.get(Who::VillageCadre, "/api/directives").await;
    assert!(r.json()["items"].as_array().unwrap().is_empty(), "{}", r.text());
    assert_eq!(fields(&app.get(Who::DepartmentStaff, "/api/directives?after=x").await), ["after"]);
    assert_eq!(fields(&app.get(Who::DepartmentStaff, "/api/directives?limit=0").await), ["limit"]);
    // The page links to the next one.
    let html = app.get(Who::DepartmentStaff, "/directives?limit=2").await.text();
    assert!(html.contains(&format!("/directives?after={}", ids[1])), "{html}");
}
