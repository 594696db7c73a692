//! The safe voice's authorisation matrix: every voice endpoint against every role of the
//! fixture (three cadres, a department, its division, another city bureau, a county
//! burden-reduction office, the province's administrator, no session). A body sees only
//! reports addressed to it or its divisions (and escalated ones from below); the office
//! sees the unaddressed and escalated ones within its scope; a cadre sees reports only
//! through receipts. A refused request changes nothing.

mod common;

use axum::http::{Method, StatusCode};
use common::{TestApp, Who};
use serde_json::{Value, json};
use tongxin_server::voice::period_of;

const OK: u16 = 200;
const CREATED: u16 = 201;
const UNAUTH: u16 = 401;
const FORBID: u16 = 403;
const NOT_FOUND: u16 = 404;
const CONFLICT: u16 = 409;
const INVALID: u16 = 422;

/// The expected status for each of `Who::ALL`, in its order: township cadre, village
/// cadre, sibling-county cadre, department, division, city bureau, county office,
/// province admin, no session.
type Row = [u16; 9];

const CADRES_403: [u16; 3] = [FORBID, FORBID, FORBID];

fn row(cadres: [u16; 3], staff: [u16; 3], office: u16, admin: u16, anon: u16) -> Row {
    [cadres[0], cadres[1], cadres[2], staff[0], staff[1], staff[2], office, admin, anon]
}

async fn call(app: &TestApp, who: Who, method: &Method, path: &str, body: &Value) -> StatusCode {
    if method == Method::GET {
        app.get(who, path).await.status
    } else {
        app.json(who, method.clone(), path, body).await.status
    }
}

/// Every role in `Who::ALL` order except those in `skip`, which the caller checks after
/// (the one allowed to change something).
async fn check(app: &TestApp, method: Method, path: &str, body: Value, expected: Row, skip: &[Who]) {
    for (who, want) in Who::ALL.into_iter().zip(expected) {
        if skip.contains(&who) {
            continue;
        }
        let got = call(app, who, &method, path, &body).await;
        assert_eq!(got.as_u16(), want, "{method} {path} as {who:?}");
    }
}

fn content() -> Value {
    json!({
        "demanded": "每周报送同一张安全生产检查表",
        "by_whom": "省农业农村厅种植业管理处",
        "cost": "每周 3 小时",
        "fix": "改为按月报送"
    })
}

async fn history_len(app: &TestApp, id: &str) -> usize {
    app.store.voice().voice_report(id.parse().unwrap()).await.unwrap().unwrap().history.len()
}

#[tokio::test]
async fn every_voice_endpoint_against_every_role() {
    let app = TestApp::new().await;
    // One report addressed to the division, one left to the office.
    for addressed in [Some(app.fx.division_a.id), None] {
        let body = json!({"scope": "350102", "addressed_body": addressed, "content": content()});
        let r = app.post_json(Who::TownshipCadre, "/api/voice/reports", &body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    let a = app.get(Who::DivisionStaff, "/api/voice/inbox").await.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let u = app.get(Who::CountyOffice, "/api/voice/inbox").await.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(a, u);
    let (dept, div_b) = (app.fx.department.id, app.fx.division_b.id);
    let none = json!({});

    // Who lists what.
    let inbox_ids = |who| {
        let app = &app;
        async move {
            app.get(who, "/api/voice/inbox").await.json()["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    check(&app, Method::GET, "/api/voice/inbox", none.clone(), row(CADRES_403, [OK; 3], OK, OK, UNAUTH), &[])
        .await;
    assert_eq!(inbox_ids(Who::DepartmentStaff).await, std::slice::from_ref(&a));
    assert_eq!(inbox_ids(Who::DivisionStaff).await, std::slice::from_ref(&a));
    assert!(inbox_ids(Who::CityBureauStaff).await.is_empty());
    assert_eq!(inbox_ids(Who::CountyOffice).await, std::slice::from_ref(&u));
    assert_eq!(inbox_ids(Who::ProvinceAdmin).await, std::slice::from_ref(&u));

    // Reading one report.
    let ra = format!("/api/voice/reports/{a}");
    let ru = format!("/api/voice/reports/{u}");
    check(
        &app,
        Method::GET,
        &ra,
        none.clone(),
        row(CADRES_403, [OK, OK, NOT_FOUND], NOT_FOUND, NOT_FOUND, UNAUTH),
        &[],
    )
    .await;
    check(&app, Method::GET, &ru, none.clone(), row(CADRES_403, [NOT_FOUND; 3], OK, OK, UNAUTH), &[]).await;

    // Public and anonymous endpoints answer every role alike: the session is not read.
    check(&app, Method::GET, "/api/voice/rates", none.clone(), [OK; 9], &[]).await;
    let bogus_token = json!({"scope": "350102", "period": period_of(chrono::Utc::now()), "token": "AAAA", "content": content()});
    check(&app, Method::POST, "/voice/reports", bogus_token, [FORBID; 9], &[]).await;
    let bogus_secret = json!({"secret": "0000-0000-0000-0000-0000-0000-0000-0000"});
    check(&app, Method::POST, "/voice/receipt", bogus_secret.clone(), [NOT_FOUND; 9], &[]).await;
    let reply = json!({"secret": "0000-0000-0000-0000-0000-0000-0000-0000", "text": "补充"});
    check(&app, Method::POST, "/voice/receipt/reply", reply, [NOT_FOUND; 9], &[]).await;
    check(&app, Method::POST, "/voice/receipt/reopen", bogus_secret, [NOT_FOUND; 9], &[]).await;
    let not_a_token = json!({"scope": "350102", "token": "AAAA"});
    check(&app, Method::POST, "/voice/tokens/check", not_a_token, [INVALID; 9], &[]).await;

    // Keys: cadres of the scope, and the office/admin above it.
    let scope = json!({"scope": "350102"});
    check(
        &app,
        Method::POST,
        "/api/voice/keys/ensure",
        scope,
        row([OK, OK, FORBID], [FORBID; 3], OK, OK, UNAUTH),
        &[],
    )
    .await;
    check(&app, Method::GET, "/api/voice/keys?scope=350102", none.clone(), [OK; 9], &[]).await;
    // The allowance: cadres only (a malformed batch is then a field error).
    let allowance = json!({"scope": "350102", "period": period_of(chrono::Utc::now()), "requests": []});
    check(
        &app,
        Method::POST,
        "/api/voice/allowance",
        allowance,
        row([INVALID; 3], [FORBID; 3], FORBID, FORBID, UNAUTH),
        &[],
    )
    .await;

    // State-changing endpoints: every refused role first, the report unchanged, then the
    // one allowed role.
    let before = (history_len(&app, &a).await, history_len(&app, &u).await);
    let text = json!({"text": "已收到，正在核实"});
    check(
        &app,
        Method::POST,
        &format!("{ra}/message"),
        text.clone(),
        row(CADRES_403, [OK, OK, NOT_FOUND], NOT_FOUND, NOT_FOUND, UNAUTH),
        &[Who::DepartmentStaff, Who::DivisionStaff],
    )
    .await;
    check(
        &app,
        Method::POST,
        &format!("{ra}/acknowledge"),
        none.clone(),
        row(CADRES_403, [OK, OK, NOT_FOUND], FORBID, FORBID, UNAUTH),
        &[Who::DepartmentStaff, Who::DivisionStaff],
    )
    .await;
    check(
        &app,
        Method::POST,
        &format!("{ra}/answer"),
        text.clone(),
        row(CADRES_403, [OK, OK, NOT_FOUND], FORBID, FORBID, UNAUTH),
        &[Who::DepartmentStaff, Who::DivisionStaff],
    )
    .await;
    check(
        &app,
        Method::POST,
        &format!("{ra}/assign"),
        json!({"body": div_b}),
        row(CADRES_403, [OK, INVALID, NOT_FOUND], NOT_FOUND, NOT_FOUND, UNAUTH),
        &[Who::DepartmentStaff],
    )
    .await;
    for action in ["/route", "/escalate"] {
        check(
            &app,
            Method::POST,
            &format!("{ra}{action}"),
            json!({"body": dept}),
            row(CADRES_403, [FORBID, FORBID, NOT_FOUND], NOT_FOUND, NOT_FOUND, UNAUTH),
            &[],
        )
        .await;
    }
    check(
        &app,
        Method::POST,
        &format!("{ru}/route"),
        json!({"body": dept}),
        row(CADRES_403, [NOT_FOUND; 3], OK, OK, UNAUTH),
        &[Who::CountyOffice, Who::ProvinceAdmin],
    )
    .await;
    check(
        &app,
        Method::POST,
        &format!("{ru}/escalate"),
        none.clone(),
        row(CADRES_403, [NOT_FOUND; 3], OK, OK, UNAUTH),
        &[Who::CountyOffice, Who::ProvinceAdmin],
    )
    .await;
    check(
        &app,
        Method::POST,
        "/api/voice/sweep",
        none.clone(),
        row(CADRES_403, [FORBID; 3], FORBID, OK, UNAUTH),
        &[Who::ProvinceAdmin],
    )
    .await;
    check(
        &app,
        Method::POST,
        "/api/voice/reports",
        json!({"scope": "350102", "content": content()}),
        row([CREATED; 3], [FORBID; 3], FORBID, FORBID, UNAUTH),
        &[Who::TownshipCadre, Who::VillageCadre, Who::SiblingCountyCadre],
    )
    .await;
    assert_eq!((history_len(&app, &a).await, history_len(&app, &u).await), before, "refusals change nothing");

    // The allowed roles act.
    let step = |who, path: String, body: Value, want: u16| {
        let app = &app;
        async move {
            let got = call(app, who, &Method::POST, &path, &body).await;
            assert_eq!(got.as_u16(), want, "POST {path} as {who:?}");
        }
    };
    step(Who::DivisionStaff, format!("{ra}/message"), text.clone(), OK).await;
    step(Who::DivisionStaff, format!("{ra}/acknowledge"), none.clone(), OK).await;
    step(Who::DepartmentStaff, format!("{ra}/acknowledge"), none.clone(), CONFLICT).await;
    step(Who::DepartmentStaff, format!("{ra}/assign"), json!({"body": div_b}), OK).await;
    // Reassigned to the other division: the first division no longer sees it.
    step(Who::DivisionStaff, format!("{ra}/message"), text.clone(), NOT_FOUND).await;
    assert!(inbox_ids(Who::DivisionStaff).await.is_empty());
    step(Who::DepartmentStaff, format!("{ra}/answer"), text.clone(), OK).await;
    step(Who::CountyOffice, format!("{ru}/escalate"), none.clone(), OK).await;
    step(Who::CountyOffice, format!("{ru}/route"), json!({"body": dept}), OK).await;
    // Routed but escalated: the office keeps it in view, and the department has it.
    step(Who::ProvinceAdmin, format!("{ru}/message"), text.clone(), OK).await;
    assert!(inbox_ids(Who::DepartmentStaff).await.contains(&u));
    step(Who::ProvinceAdmin, "/api/voice/sweep".into(), none.clone(), OK).await;
    step(
        Who::SiblingCountyCadre,
        "/api/voice/reports".into(),
        json!({"scope": "350103", "content": content()}),
        CREATED,
    )
    .await;
    // A cadre cannot file by name in a scope that does not hold their unit.
    step(
        Who::SiblingCountyCadre,
        "/api/voice/reports".into(),
        json!({"scope": "350102", "content": content()}),
        INVALID,
    )
    .await;
}
