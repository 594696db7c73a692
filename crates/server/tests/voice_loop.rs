//! The closed loop beyond acknowledging and answering, through the real router: the
//! office routes, the department assigns to a division, bodies write, the submitter
//! reopens, the sweep escalates overdue reports (visibly, to the department and the
//! offices above) and closes quietly answered ones, and the rate limits of named filing
//! and of replies on one receipt.

mod common;

use axum::http::StatusCode;
use chrono::{Duration, Utc};
use common::{TestApp, Who, code};
use serde_json::{Value, json};
use tongxin_domain::{Body, BodyKind, new_id};
use tongxin_server::voice::ALLOWANCE;
use tongxin_server::voice_loop::MAX_SUBMITTER_MESSAGES;
use tongxin_store::ImportBatch;
use tongxin_voice::{
    Content, Event, Identity, Policy, ReceiptSecret, Report, TimeLimits, WorkCalendar, apply,
};
use uuid::Uuid;

const SCOPE: &str = "350102";

fn named(addressed: Option<Uuid>) -> Value {
    json!({
        "scope": SCOPE,
        "addressed_body": addressed,
        "content": {
            "demanded": "每月报送三份格式不同的耕地保护台账",
            "by_whom": "省农业农村厅",
            "cost": "每月约 2 个工作日",
            "fix": "统一为一张台账，按季度报送"
        }
    })
}

/// Files a named report as the township cadre and returns its receipt secret.
async fn file(app: &TestApp, addressed: Option<Uuid>) -> String {
    let r = app.post_json(Who::TownshipCadre, "/api/voice/reports", &named(addressed)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["receipt_secret"].as_str().unwrap().to_owned()
}

async fn receipt(app: &TestApp, secret: &str) -> Value {
    let r = app.post_json(Who::Anonymous, "/voice/receipt", &json!({"secret": secret})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

fn ids(v: &Value) -> Vec<String> {
    v["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

async fn add_office(app: &TestApp, unit: &str) -> Body {
    let office = Body {
        id: new_id(),
        unit: code(unit),
        name: format!("{unit} 整治形式主义为基层减负专项工作机制办公室"),
        kind: BodyKind::BurdenOffice,
        parent: None,
    };
    let batch = ImportBatch { bodies: vec![office.clone()], actor: "test".into(), ..ImportBatch::default() };
    app.store.import(batch, None).await.unwrap();
    office
}

#[tokio::test]
async fn the_office_routes_the_department_assigns_and_both_sides_write() {
    let app = TestApp::new().await;
    let secret = file(&app, None).await;
    // Unaddressed: the county office has it to route; no body sees it.
    let office_list = app.get(Who::CountyOffice, "/api/voice/inbox").await.json();
    let id = ids(&office_list)[0].clone();
    let path = |action: &str| format!("/api/voice/reports/{id}{action}");
    for who in [Who::DepartmentStaff, Who::DivisionStaff, Who::CityBureauStaff] {
        app.get(who, &path("")).await.error(StatusCode::NOT_FOUND, "not_found");
        assert!(ids(&app.get(who, "/api/voice/inbox").await.json()).is_empty());
    }
    app.get(Who::TownshipCadre, &path("")).await.error(StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(app.get(Who::CountyOffice, &path("")).await.json()["state"], "submitted");

    // Routing: a body that does not exist is named as the field; then to the department.
    let r = app.post_json(Who::CountyOffice, &path("/route"), &json!({"body": new_id()})).await;
    assert_eq!(r.invalid_fields(), ["body"]);
    let dept = app.fx.department.id;
    let r = app.post_json(Who::CountyOffice, &path("/route"), &json!({"body": dept})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["addressed_body"], json!(dept));
    // Routed and not escalated: no longer the office's, now the department's.
    app.get(Who::CountyOffice, &path("")).await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        ids(&app.get(Who::DepartmentStaff, "/api/voice/inbox").await.json()),
        std::slice::from_ref(&id)
    );
    assert!(ids(&app.get(Who::DivisionStaff, "/api/voice/inbox").await.json()).is_empty());

    // The department assigns it to a division of its own, not to another body.
    let other = app.fx.other.id;
    let r = app.post_json(Who::DepartmentStaff, &path("/assign"), &json!({"body": other})).await;
    assert_eq!(r.invalid_fields(), ["body"]);
    let div = app.fx.division_a.id;
    let r = app.post_json(Who::DepartmentStaff, &path("/assign"), &json!({"body": div})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(ids(&app.get(Who::DivisionStaff, "/api/voice/inbox").await.json()), std::slice::from_ref(&id));
    // The department still handles its division's mail.
    assert_eq!(
        ids(&app.get(Who::DepartmentStaff, "/api/voice/inbox").await.json()),
        std::slice::from_ref(&id)
    );
    app.get(Who::CityBureauStaff, &path("")).await.error(StatusCode::NOT_FOUND, "not_found");

    // The division writes; the submitter reads it through the receipt and replies.
    let r =
        app.post_json(Who::DivisionStaff, &path("/message"), &json!({"text": "请问涉及哪几张表？"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    app.post_json(Who::DivisionStaff, &path("/message"), &json!({"text": "  "}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid");
    let view = receipt(&app, &secret).await;
    assert_eq!(view["messages"][0]["from"], "body");
    assert_eq!(view["messages"][0]["text"], "请问涉及哪几张表？");
    let r = app
        .post_json(Who::Anonymous, "/voice/receipt/reply", &json!({"secret": secret, "text": "耕地台账三张"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Answer, then the submitter reopens: the clock restarts, the reason is kept.
    let r = app.post_json(Who::DivisionStaff, &path("/answer"), &json!({"text": "下月起合并为一张"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app
        .post_json(
            Who::Anonymous,
            "/voice/receipt/reopen",
            &json!({"secret": secret, "text": "合并后仍要求每周报送"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let view = r.json();
    assert_eq!(view["state"], "acknowledged");
    let last = view["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["text"], "合并后仍要求每周报送");
    assert_eq!(last["from"], "submitter");
    // Reopening an unanswered report is refused and changes nothing.
    let before = receipt(&app, &secret).await["events"].as_array().unwrap().len();
    app.post_json(Who::Anonymous, "/voice/receipt/reopen", &json!({"secret": secret}))
        .await
        .error(StatusCode::CONFLICT, "conflict");
    let bad = ReceiptSecret::generate(&mut rand::rng()).display();
    app.post_json(Who::Anonymous, "/voice/receipt/reopen", &json!({"secret": bad}))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(receipt(&app, &secret).await["events"].as_array().unwrap().len(), before);

    // Office escalation needs the office's view of it: an addressed, unescalated report
    // is not the county office's.
    app.post_json(Who::CountyOffice, &path("/escalate"), &json!({}))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.post_json(Who::DivisionStaff, &path("/escalate"), &json!({}))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
}

/// A report filed `days_ago`, addressed to `addressed`, stored directly (the API files
/// only now).
async fn old_report(app: &TestApp, addressed: Uuid, days_ago: i64) -> (Report, ReceiptSecret) {
    let secret = ReceiptSecret::generate(&mut rand::rng());
    let content = Content::new("每周报送", "省农业农村厅", "每周 4 小时", "按月报送").unwrap();
    let report = Report::new(
        code(SCOPE),
        Some(addressed),
        vec![],
        vec![],
        content,
        Identity::Named { user: new_id() },
        secret.hash(),
        Utc::now() - Duration::days(days_ago),
    )
    .unwrap();
    app.store.voice().voice_file(&report, None).await.unwrap();
    (report, secret)
}

#[tokio::test]
async fn the_sweep_escalates_overdue_reports_and_closes_quiet_ones() {
    let app = TestApp::new().await;
    let province_office = add_office(&app, "35").await;
    let (late, late_secret) = old_report(&app, app.fx.division_a.id, 40).await;
    let (fresh, _) = old_report(&app, app.fx.division_a.id, 0).await;
    // Answered 30 days ago: past the quiet period of 10 working days.
    let (quiet, quiet_secret) = old_report(&app, app.fx.other.id, 40).await;
    let mut answered = quiet.clone();
    let (cal, limits) = (WorkCalendar::cn_default(), TimeLimits::default());
    apply(
        &mut answered,
        Event::Answer,
        Utc::now() - Duration::days(30),
        &Policy { calendar: &cal, limits: &limits },
    )
    .unwrap();
    app.store.voice().voice_update(&answered, 0).await.unwrap();

    // Only an administrator runs the sweep by hand.
    for who in [Who::CountyOffice, Who::DepartmentStaff, Who::TownshipCadre] {
        app.post_json(who, "/api/voice/sweep", &json!({})).await.error(StatusCode::FORBIDDEN, "forbidden");
    }
    app.post_json(Who::Anonymous, "/api/voice/sweep", &json!({}))
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let r = app.post_json(Who::ProvinceAdmin, "/api/voice/sweep", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json(), json!({"open": 3, "escalated": 2, "closed": 1, "raced": 0}));

    // The late report: escalated twice (acknowledging late, answering late), visibly.
    let view = receipt(&app, &late_secret.display()).await;
    assert_eq!(view["escalation"], 2);
    let causes: Vec<Value> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["kind"] == "escalate")
        .map(|e| e["event"]["cause"].clone())
        .collect();
    assert_eq!(causes, [json!({"overdue": "acknowledge"}), json!({"overdue": "answer"})]);
    assert_eq!(view["deadlines"]["overdue"], "answer");
    // At level 2 it reaches the department and the province's burden-reduction office:
    // the county office (scope holds it) and the administrator see it in their lists.
    let app = &app;
    let lists = |who| async move { ids(&app.get(who, "/api/voice/inbox").await.json()) };
    assert!(lists(Who::CountyOffice).await.contains(&late.id.to_string()));
    assert!(lists(Who::ProvinceAdmin).await.contains(&late.id.to_string()));
    assert!(!lists(Who::CountyOffice).await.contains(&fresh.id.to_string()));
    assert!(!lists(Who::CityBureauStaff).await.contains(&late.id.to_string()));
    let stored = app.store.voice().voice_report(late.id).await.unwrap().unwrap();
    assert_eq!(stored.escalation, 2);
    let org = tongxin_server::voice_loop::Org::load_from(app.store.as_ref()).await.unwrap();
    // (the org is read from the same store the server uses)
    assert_eq!(
        tongxin_voice::escalation_targets(&stored, &org),
        [app.fx.department.id, province_office.id],
        "division → its department → the province's office"
    );

    // The quietly answered report is closed; the fresh one untouched.
    assert_eq!(receipt(app, &quiet_secret.display()).await["state"], "closed");
    let fresh_now = app.store.voice().voice_report(fresh.id).await.unwrap().unwrap();
    assert!(fresh_now.history.is_empty());

    // A second sweep finds nothing more to do: escalation is once per limit and round.
    let r = app.post_json(Who::ProvinceAdmin, "/api/voice/sweep", &json!({})).await;
    assert_eq!(r.json(), json!({"open": 2, "escalated": 0, "closed": 0, "raced": 0}));

    // The office may now escalate further by hand, and the division can still answer.
    let path = format!("/api/voice/reports/{}", late.id);
    let r = app.post_json(Who::CountyOffice, &format!("{path}/escalate"), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["escalation"], 3);
    let r = app.post_json(Who::DivisionStaff, &format!("{path}/answer"), &json!({"text": "已整改"})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn named_filing_and_receipt_replies_are_rate_limited() {
    let app = TestApp::new().await;
    let mut secrets = Vec::new();
    for _ in 0..ALLOWANCE {
        secrets.push(file(&app, Some(app.fx.division_a.id)).await);
    }
    let count = || async { app.store.voice().voice_dump().await.unwrap().len() };
    let before = count().await;
    app.post_json(Who::TownshipCadre, "/api/voice/reports", &named(None))
        .await
        .error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(count().await, before, "a refused filing stores nothing");
    // Another cadre has their own budget.
    let r = app.post_json(Who::VillageCadre, "/api/voice/reports", &named(None)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());

    let secret = &secrets[0];
    for i in 0..MAX_SUBMITTER_MESSAGES {
        let r = app
            .post_json(
                Who::Anonymous,
                "/voice/receipt/reply",
                &json!({"secret": secret, "text": format!("补充 {i}")}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    app.post_json(Who::Anonymous, "/voice/receipt/reply", &json!({"secret": secret, "text": "再补充"}))
        .await
        .error(StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // The body can still write.
    let id = ids(&app.get(Who::DivisionStaff, "/api/voice/inbox").await.json())[0].clone();
    let r = app
        .post_json(Who::DivisionStaff, &format!("/api/voice/reports/{id}/message"), &json!({"text": "收到"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
