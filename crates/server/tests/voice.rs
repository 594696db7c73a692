//! The safe voice over HTTP, through the real router: a cadre's allowance with real
//! blinded requests, anonymous filing with the token (no cookie), the receipt, double
//! spending, malformed tokens, the anonymity threshold, the addressed body's inbox and
//! answer, the submitter's rating, authorisation, and an audit of every voice row showing
//! that nothing links the cadre to the anonymous report.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestApp, Who};
use serde_json::{Value, json};
use tongxin_log::{Log, LogConfig};
use tongxin_server::voice::{ALLOWANCE, period_of};
use tongxin_server::{Config, app_with_log};
use tongxin_tlog::{SignatureType, SignerKey};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{
    DefaultRng, IssuerPublicKey, Token, TokenChallenge, TokenResponse, begin_issuance, finalize,
};

const SCOPE: &str = "350102";

/// A test app whose router also runs a transparency log.
async fn app_with_a_log() -> TestApp {
    let mut app = TestApp::new().await;
    let key = SignerKey::generate("tongxin.test/voice-log", SignatureType::Ed25519).unwrap();
    let mut config = LogConfig::new("tongxin.test/voice-log", key);
    config.period = Duration::from_millis(20);
    let log = Log::open(app.store.clone(), config).await.unwrap();
    app.router = app_with_log(app.store.clone(), Config::default(), Some(log));
    app
}

/// Makes sure the scope's key exists (as the cadre), reads it anonymously, and checks the
/// published challenge is the one the client computes itself.
async fn key_of(app: &TestApp, who: Who, scope: &str) -> (IssuerPublicKey, TokenChallenge, Value) {
    let period = period_of(chrono::Utc::now());
    let r = app.post_json(who, "/api/voice/keys/ensure", &json!({"scope": scope})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = app.get(Who::Anonymous, &format!("/api/voice/keys?scope={scope}&period={period}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let key =
        IssuerPublicKey::from_spki(&STANDARD.decode(v["token_key"].as_str().unwrap()).unwrap()).unwrap();
    let ours =
        challenge(v["server_name"].as_str().unwrap(), &KeyScope::new(scope, &period).unwrap()).unwrap();
    let theirs = TokenChallenge::decode(&STANDARD.decode(v["challenge"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(ours, theirs);
    (key, ours, v)
}

/// The cadre's side of issuance: blind `ALLOWANCE` requests, send them, unblind.
async fn obtain_tokens(app: &TestApp, who: Who, scope: &str) -> Vec<Token> {
    let (key, challenge, _) = key_of(app, who, scope).await;
    let mut states = Vec::new();
    let mut requests = Vec::new();
    for _ in 0..ALLOWANCE {
        let (req, state) = begin_issuance(&key, &challenge, &mut DefaultRng).unwrap();
        requests.push(STANDARD.encode(req.to_bytes()));
        states.push(state);
    }
    let body = json!({"scope": scope, "period": period_of(chrono::Utc::now()), "requests": requests});
    let r = app.post_json(who, "/api/voice/allowance", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let responses = r.json()["responses"].as_array().unwrap().clone();
    assert_eq!(responses.len(), ALLOWANCE);
    states
        .into_iter()
        .zip(responses)
        .map(|(s, resp)| {
            let resp = TokenResponse::decode(&STANDARD.decode(resp.as_str().unwrap()).unwrap()).unwrap();
            finalize(s, &resp).unwrap()
        })
        .collect()
}

fn filing(app: &TestApp, token: &str) -> Value {
    json!({
        "scope": SCOPE,
        "period": period_of(chrono::Utc::now()),
        "token": token,
        "addressed_body": app.fx.division_a.id,
        "cited_demands": [app.seed.village.id],
        "content": {
            "demanded": "每周填报三张内容相同的种植面积表",
            "by_whom": "省农业农村厅种植业管理处",
            "cost": "每周约 4 小时，全街道每年约 200 个工作日",
            "fix": "合并为一张表，按月填报"
        }
    })
}

async fn report_count(app: &TestApp) -> usize {
    app.store.voice().voice_dump().await.unwrap().iter().filter(|r| r.table == "voice_reports").count()
}

async fn user_id(app: &TestApp, who: Who) -> uuid::Uuid {
    app.store.user_by_name(who.username()).await.unwrap().unwrap().id
}

#[tokio::test]
async fn a_cadre_files_anonymously_and_the_addressed_body_answers() {
    let app = app_with_a_log().await;
    let (_, _, key) = key_of(&app, Who::TownshipCadre, SCOPE).await;
    assert!(key["log_index"].is_u64(), "the key is published in the log: {key}");
    assert!(key["log_record"].as_str().unwrap().starts_with("tongxin/voice/issuer-key/v1\n"));

    let tokens = obtain_tokens(&app, Who::TownshipCadre, SCOPE).await;
    assert_eq!(tokens.len(), ALLOWANCE);

    // File with the first token, without a session.
    let token = STANDARD.encode(tokens[0].to_bytes());
    let r = app.post_json(Who::Anonymous, "/voice/reports", &filing(&app, &token)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.header(axum::http::header::CACHE_CONTROL), Some("no-store"));
    let filed = r.json();
    let secret = filed["receipt_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 39);
    assert!(filed["log_index"].is_u64(), "{filed}");
    assert!(filed["log_entry"].as_str().unwrap().starts_with("tongxin-voice-entry/v1\nkind report\n"));
    assert!(filed["proof"].as_str().is_some_and(|p| p.starts_with("c2sp.org/tlog-proof@v1")), "{filed}");
    assert_eq!(report_count(&app).await, 1);

    // The same token again: refused, nothing stored.
    let r = app.post_json(Who::Anonymous, "/voice/reports", &filing(&app, &token)).await;
    r.error(StatusCode::CONFLICT, "conflict");
    assert_eq!(report_count(&app).await, 1);

    // A second token, sent with the cadre's cookie attached by mistake: the cookie is
    // ignored, the report is as anonymous as the first.
    let second = STANDARD.encode(tokens[1].to_bytes());
    let r = app.post_json(Who::TownshipCadre, "/voice/reports", &filing(&app, &second)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(report_count(&app).await, 2);

    // Malformed, tampered and foreign tokens: one generic answer, nothing stored.
    let mut tampered = tokens[2].to_bytes();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;

    // The spent token is stored with the report (the body sees it in its inbox) and anyone
    // can check it against the scope's logged key, without a session.
    let inbox = app.get(Who::DivisionStaff, "/api/voice/inbox").await.json();
    let shown = inbox["items"][0]["token"].as_str().unwrap().to_owned();
    assert!(shown == token || shown == second, "the inbox shows a report's token");
    let check = |t: String| {
        let app = &app;
        async move {
            app.post_json(Who::Anonymous, "/voice/tokens/check", &json!({"scope": SCOPE, "token": t})).await
        }
    };
    let r = check(shown).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["valid"], true);
    assert_eq!(r.json()["key_log_index"], key["log_index"]);
    assert_eq!(r.json()["period"], json!(period_of(chrono::Utc::now())));
    assert_eq!(check(STANDARD.encode(&tampered)).await.json(), json!({"valid": false}));
    let other = app
        .post_json(Who::Anonymous, "/voice/tokens/check", &json!({"scope": "350103", "token": token}))
        .await;
    assert_eq!(other.json(), json!({"valid": false}), "not a token of another scope");
    assert_eq!(check("!!!".into()).await.invalid_fields(), ["token"]);
    let mut wrong_key = tokens[2].to_bytes();
    wrong_key[2 + 32 + 32] ^= 1;
    let mut bad_bodies = Vec::new();
    for bad in [
        "!!!not base64!!!".to_owned(),
        STANDARD.encode([7u8; 40]),
        STANDARD.encode(&tampered),
        STANDARD.encode(&wrong_key),
    ] {
        let r = app.post_json(Who::Anonymous, "/voice/reports", &filing(&app, &bad)).await;
        bad_bodies.push(r.error(StatusCode::FORBIDDEN, "invalid_token"));
    }
    let mut no_token = filing(&app, "");
    no_token.as_object_mut().unwrap().remove("token");
    let r = app.post_json(Who::Anonymous, "/voice/reports", &no_token).await;
    bad_bodies.push(r.error(StatusCode::FORBIDDEN, "invalid_token"));
    let mut other_period = filing(&app, &STANDARD.encode(tokens[2].to_bytes()));
    other_period["period"] = json!("2020-01");
    let r = app.post_json(Who::Anonymous, "/voice/reports", &other_period).await;
    bad_bodies.push(r.error(StatusCode::FORBIDDEN, "invalid_token"));
    assert!(bad_bodies.windows(2).all(|w| w[0] == w[1]), "no oracle: {bad_bodies:?}");
    assert_eq!(report_count(&app).await, 2);

    // An empty report is refused with its fields named, nothing stored, token unspent.
    let mut empty = filing(&app, &STANDARD.encode(tokens[2].to_bytes()));
    empty["content"]["demanded"] = json!("  ");
    let r = app.post_json(Who::Anonymous, "/voice/reports", &empty).await;
    assert_eq!(r.invalid_fields(), ["content.demanded"]);
    assert_eq!(report_count(&app).await, 2);

    // The addressed division and its department see it; another body does not.
    let inbox = app.get(Who::DivisionStaff, "/api/voice/inbox").await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text());
    let items = inbox.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let item = &items[0];
    assert_eq!(item["state"], "submitted");
    assert_eq!(item["anonymous"], true);
    assert!(item["deadlines"]["acknowledge"]["working_days_left"].is_i64(), "{item}");
    assert!(item["deadlines"]["answer"]["due_date"].is_string(), "{item}");
    let id = item["id"].as_str().unwrap().to_owned();
    let dept = app.get(Who::DepartmentStaff, "/api/voice/inbox").await.json();
    assert_eq!(dept["items"].as_array().unwrap().len(), 2);
    let other = app.get(Who::CityBureauStaff, "/api/voice/inbox").await.json();
    assert_eq!(other["items"].as_array().unwrap().len(), 0, "{other}");
    app.get(Who::TownshipCadre, "/api/voice/inbox").await.error(StatusCode::FORBIDDEN, "forbidden");
    app.get(Who::Anonymous, "/api/voice/inbox").await.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let office = app.get(Who::CountyOffice, "/api/voice/inbox").await.json();
    assert_eq!(office["items"].as_array().unwrap().len(), 0, "addressed, not escalated: {office}");
    // Other body staff: no such report; anyone but body staff: refused, whatever the id.
    let r = app
        .post_json(Who::CityBureauStaff, &format!("/api/voice/reports/{id}/acknowledge"), &json!({}))
        .await;
    r.error(StatusCode::NOT_FOUND, "not_found");
    for who in [Who::TownshipCadre, Who::CountyOffice] {
        let r = app.post_json(who, &format!("/api/voice/reports/{id}/acknowledge"), &json!({})).await;
        r.error(StatusCode::FORBIDDEN, "forbidden");
    }

    // The division acknowledges and answers.
    let r =
        app.post_json(Who::DivisionStaff, &format!("/api/voice/reports/{id}/acknowledge"), &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "acknowledged");
    let r =
        app.post_json(Who::DivisionStaff, &format!("/api/voice/reports/{id}/acknowledge"), &json!({})).await;
    r.error(StatusCode::CONFLICT, "conflict");
    let answer = json!({"text": "已合并为一张月报表，自下月起执行。"});
    let r = app.post_json(Who::DivisionStaff, &format!("/api/voice/reports/{id}/answer"), &answer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "answered");
    let events = app.store.voice().voice_events(id.parse().unwrap()).await.unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(events.iter().all(|e| e.log_index.is_some()), "every transition is logged");
    // Each stored content opens its entry's commitment, and is never in the entry itself.
    let answer_text = answer["text"].as_str().unwrap();
    let stored = app.store.voice().voice_report(id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(events[0].content, stored.content_bytes());
    assert_eq!(tongxin_voice::event_content_text(&events[2].content), Some(answer_text));
    for e in &events {
        let entry = tongxin_voice::LogEntry::decode(&e.entry).unwrap();
        let opening = tongxin_voice::Opening(e.opening);
        assert!(tongxin_voice::verify_commitment(&entry, &opening, &e.content), "event {}", e.seq);
        assert!(!tongxin_voice::verify_commitment(&entry, &opening, b"something else"));
        let clear = String::from_utf8_lossy(&e.entry);
        assert!(!clear.contains(answer_text) && !clear.contains("种植面积表"), "{clear}");
    }

    // The submitter, with the receipt secret and no session, reads and rates it.
    let r = app.post_json(Who::Anonymous, "/voice/receipt", &json!({"secret": secret})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let view = r.json();
    assert_eq!(view["state"], "answered", "{view}");
    assert!(view["answered_at"].is_string());
    assert_eq!(view["deadlines"]["answer"]["met"], true);
    let kinds: Vec<&str> =
        view["events"].as_array().unwrap().iter().map(|e| e["event"]["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["acknowledge", "answer"]);
    // The submitter reads the body's answer itself.
    // The day of an event (China time) is today, or yesterday when the test crossed midnight.
    let today = tongxin_voice::china_date(chrono::Utc::now()).to_string();
    let dated = |mut v: serde_json::Value| {
        for m in v.as_array_mut().unwrap() {
            let on = m["on"].as_str().unwrap().to_owned();
            let yesterday = (chrono::NaiveDate::parse_from_str(&today, "%Y-%m-%d").unwrap()
                - chrono::Duration::days(1))
            .to_string();
            assert!(on == today || on == yesterday, "event day {on}");
            m["on"] = json!(today);
        }
        v
    };
    assert_eq!(
        dated(view["messages"].clone()),
        json!([{"seq": 2, "kind": "answer", "from": "body", "text": answer_text, "on": today}]),
        "{view}"
    );
    let r = app
        .post_json(
            Who::Anonymous,
            "/voice/receipt/reply",
            &json!({"secret": secret, "text": "谢谢，已看到。"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let replied = r.json()["messages"].clone();
    assert_eq!(
        dated(replied.clone()),
        json!([
            {"seq": 2, "kind": "answer", "from": "body", "text": answer_text, "on": today},
            {"seq": 3, "kind": "message", "from": "submitter", "text": "谢谢，已看到。", "on": today},
        ])
    );
    // The body reads the reply in its inbox; the reply is committed to, not logged in clear.
    let inbox = app.get(Who::DivisionStaff, "/api/voice/inbox").await.json();
    let item = inbox["items"].as_array().unwrap().iter().find(|i| i["id"] == id.as_str()).unwrap().clone();
    assert_eq!(item["messages"], replied, "{item}");
    let events = app.store.voice().voice_events(id.parse().unwrap()).await.unwrap();
    let reply = &events[3];
    assert_eq!(tongxin_voice::event_content_text(&reply.content), Some("谢谢，已看到。"));
    let entry = tongxin_voice::LogEntry::decode(&reply.entry).unwrap();
    assert!(tongxin_voice::verify_commitment(&entry, &tongxin_voice::Opening(reply.opening), &reply.content));
    assert!(!String::from_utf8_lossy(&reply.entry).contains("谢谢"));
    let r = app
        .post_json(
            Who::Anonymous,
            "/voice/receipt/rate",
            &json!({"secret": secret, "satisfaction": 6, "resolved": true}),
        )
        .await;
    assert_eq!(r.invalid_fields(), ["satisfaction"]);
    let r = app
        .post_json(
            Who::Anonymous,
            "/voice/receipt/rate",
            &json!({"secret": secret, "satisfaction": 5, "resolved": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "closed");
    assert_eq!(r.json()["rating"], json!({"satisfaction": 5, "resolved": true}));

    // A wrong or malformed secret: one generic 404.
    let wrong = tongxin_voice::ReceiptSecret::generate(&mut rand::rng()).display();
    let a = app.post_json(Who::Anonymous, "/voice/receipt", &json!({"secret": wrong})).await;
    let b = app.post_json(Who::Anonymous, "/voice/receipt", &json!({"secret": "nonsense"})).await;
    let c = app
        .post_json(
            Who::Anonymous,
            "/voice/receipt/rate",
            &json!({"secret": wrong, "satisfaction": 1, "resolved": false}),
        )
        .await;
    let (a, b, c) = (
        a.error(StatusCode::NOT_FOUND, "not_found"),
        b.error(StatusCode::NOT_FOUND, "not_found"),
        c.error(StatusCode::NOT_FOUND, "not_found"),
    );
    assert!(a == b && b == c, "no oracle: {a} {b} {c}");

    // Public rates: one body with two reports, under k, so every figure is suppressed.
    let year = chrono::Datelike::year(&tongxin_voice::china_date(chrono::Utc::now()));
    let r = app.get(Who::Anonymous, &format!("/api/voice/rates?year={year}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rates = r.json();
    let body = rates["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == app.fx.division_a.id.to_string())
        .unwrap_or_else(|| panic!("{rates}"))
        .clone();
    assert_eq!(body["received"], json!({"value": null, "suppressed": true}));
    assert_eq!(body["answered_on_time"]["suppressed"], true);
    app.get(Who::Anonymous, "/api/voice/rates?year=abc").await.invalid_fields();

    // The audit: of every voice row, only the allowance names the cadre.
    let cadre = user_id(&app, Who::TownshipCadre).await;
    let forms = [cadre.to_string(), cadre.simple().to_string()];
    let rows = app.store.voice().voice_dump().await.unwrap();
    assert!(rows.iter().any(|r| r.table == "voice_allowances"));
    for row in &rows {
        let text = row.row.to_lowercase();
        let names_cadre = forms.iter().any(|f| text.contains(f));
        assert_eq!(names_cadre, row.table == "voice_allowances", "{}: {}", row.table, row.row);
    }
}

#[tokio::test]
async fn allowances_are_once_per_period_for_scopes_of_at_least_k_cadres() {
    let app = TestApp::new().await;
    obtain_tokens(&app, Who::TownshipCadre, SCOPE).await;

    // A second allowance for the same scope and period.
    let (key, challenge, v) = key_of(&app, Who::TownshipCadre, SCOPE).await;
    assert!(v["log_index"].is_null(), "no log configured");
    let requests: Vec<String> = (0..ALLOWANCE)
        .map(|_| STANDARD.encode(begin_issuance(&key, &challenge, &mut DefaultRng).unwrap().0.to_bytes()))
        .collect();
    let period = period_of(chrono::Utc::now());
    let body = json!({"scope": SCOPE, "period": period, "requests": requests});
    app.post_json(Who::TownshipCadre, "/api/voice/allowance", &body)
        .await
        .error(StatusCode::CONFLICT, "conflict");

    // Another cadre of the scope gets theirs.
    let r = app.post_json(Who::VillageCadre, "/api/voice/allowance", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // A village of 6 cadres is under k; a scope not holding the cadre's unit is refused.
    let small = json!({"scope": "350102001001", "period": period, "requests": requests});
    assert_eq!(
        app.post_json(Who::VillageCadre, "/api/voice/allowance", &small).await.invalid_fields(),
        ["scope"]
    );
    let r =
        app.post_json(Who::VillageCadre, "/api/voice/keys/ensure", &json!({"scope": "350102001001"})).await;
    assert_eq!(r.invalid_fields(), ["scope"]);
    assert_eq!(
        app.post_json(Who::SiblingCountyCadre, "/api/voice/allowance", &body).await.invalid_fields(),
        ["scope"]
    );

    // Wrong number of requests, a malformed request, a wrong period; only cadres.
    let few = json!({"scope": SCOPE, "period": period, "requests": requests[..3]});
    assert_eq!(
        app.post_json(
            Who::SiblingCountyCadre,
            "/api/voice/allowance",
            &json!({"scope": "350103", "period": period, "requests": requests[..3]})
        )
        .await
        .invalid_fields(),
        ["requests"]
    );
    let mut bad = requests.clone();
    bad[4] = "AAAA".into();
    let r = app
        .post_json(
            Who::TownshipCadre,
            "/api/voice/allowance",
            &json!({"scope": SCOPE, "period": period, "requests": bad}),
        )
        .await;
    assert_eq!(r.invalid_fields(), ["requests[4]"]);
    let r = app
        .post_json(
            Who::TownshipCadre,
            "/api/voice/allowance",
            &json!({"scope": SCOPE, "period": "2020-01", "requests": requests}),
        )
        .await;
    assert_eq!(r.invalid_fields(), ["period"]);
    app.post_json(Who::DivisionStaff, "/api/voice/allowance", &few)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    app.post_json(Who::Anonymous, "/api/voice/allowance", &few)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // Only the two allowances were recorded.
    let rows = app.store.voice().voice_dump().await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.table == "voice_allowances").count(), 2);

    // Keys: unknown scope or period is 404; a body's staff cannot make keys.
    app.get(Who::Anonymous, "/api/voice/keys?scope=350203&period=2026-01")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.post_json(Who::DivisionStaff, "/api/voice/keys/ensure", &json!({"scope": "35"}))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn a_named_report_keeps_the_cadre_and_reaches_the_body() {
    let app = TestApp::new().await;
    let mut body = filing(&app, "");
    let obj = body.as_object_mut().unwrap();
    obj.remove("token");
    obj.remove("period");
    let r = app.post_json(Who::TownshipCadre, "/api/voice/reports", &body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let secret = r.json()["receipt_secret"].as_str().unwrap().to_owned();
    assert!(r.json()["log_index"].is_null());
    let id = app.get(Who::DivisionStaff, "/api/voice/inbox").await.json()["items"][0]["id"].clone();
    assert!(id.is_string());
    let report =
        app.store.voice().voice_report(id.as_str().unwrap().parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(
        report.identity,
        tongxin_voice::Identity::Named { user: user_id(&app, Who::TownshipCadre).await }
    );
    let view = app.post_json(Who::Anonymous, "/voice/receipt", &json!({"secret": secret})).await.json();
    assert_eq!(view["state"], "submitted");
    // Not without a session, not by staff, not with a token.
    app.post_json(Who::Anonymous, "/api/voice/reports", &body)
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.post_json(Who::DivisionStaff, "/api/voice/reports", &body)
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");
    body["token"] = json!("AAAA");
    assert_eq!(
        app.post_json(Who::TownshipCadre, "/api/voice/reports", &body).await.invalid_fields(),
        ["token"]
    );
}

#[tokio::test]
async fn no_voice_input_answers_500() {
    let app = TestApp::new().await;
    let id = uuid::Uuid::now_v7();
    let posts = [
        "/api/voice/keys/ensure".to_owned(),
        "/api/voice/allowance".to_owned(),
        "/api/voice/reports".to_owned(),
        format!("/api/voice/reports/{id}/acknowledge"),
        format!("/api/voice/reports/{id}/answer"),
        "/api/voice/reports/not-an-id/answer".to_owned(),
        "/voice/reports".to_owned(),
        "/voice/receipt".to_owned(),
        "/voice/receipt/reply".to_owned(),
        "/voice/receipt/rate".to_owned(),
    ];
    let long = "字".repeat(100_000);
    let bodies = [
        "{}".to_owned(),
        "[]".to_owned(),
        "not json".to_owned(),
        json!({"scope": "x", "period": "9999-99", "requests": ["\u{0}"], "secret": long, "text": long}).to_string(),
        json!({"scope": "35", "token": long, "period": "", "content": {"demanded": long, "by_whom": "", "cost": "\u{0}", "fix": "x"}}).to_string(),
    ];
    for who in [Who::Anonymous, Who::TownshipCadre, Who::DivisionStaff, Who::ProvinceAdmin] {
        for uri in &posts {
            for body in &bodies {
                let r = app
                    .raw(who, axum::http::Method::POST, uri, "application/json", body.clone().into_bytes())
                    .await;
                assert!(
                    r.status.is_client_error(),
                    "{who:?} POST {uri} {body:.60}: {} {}",
                    r.status,
                    r.text()
                );
            }
        }
        for uri in [
            "/api/voice/keys",
            "/api/voice/keys?scope=35&period=garbage",
            "/api/voice/keys?scope=%00",
            "/api/voice/rates?year=-1",
            "/api/voice/rates?year=99999999999",
        ] {
            let r = app.get(who, uri).await;
            assert!(r.status.is_client_error(), "{who:?} GET {uri}: {} {}", r.status, r.text());
        }
        let r = app.get(who, "/api/voice/rates").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    assert_eq!(report_count(&app).await, 0);
}
