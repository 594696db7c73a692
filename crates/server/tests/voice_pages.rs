//! The safe voice's pages through the real router, without a browser: the filing page
//! and its script (served bytes hashed as published, no inline code, scopes by the
//! anonymity threshold), the issuer key's log proof, the receipt pages (no session read,
//! no secret in a URL, not cached), a body's inbox driven by plain forms (acknowledge,
//! assign, answer), the submitter's rating, the office's escalation list and routing, and
//! the public responsiveness page with its figures withheld under k. The in-browser
//! blinding itself is covered by `crates/tongxin/tests/browser_voice.rs`.

mod common;

use std::time::Duration;

use axum::http::{StatusCode, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestApp, Who};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tongxin_log::{Log, LogConfig};
use tongxin_server::voice_pages::{SCRIPT, script_sha256};
use tongxin_server::{Config, app_with_log};
use tongxin_tlog::{Leaf, Receipt, ReceiptPolicy, SignatureType, SignerKey, verify_receipt};

const SCOPE: &str = "350102";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Files a named report (no token needed) addressed to `body`, returning the secret.
async fn file_named(app: &TestApp, body: Option<uuid::Uuid>) -> String {
    let r = app
        .post_json(
            Who::TownshipCadre,
            "/api/voice/reports",
            &json!({
                "scope": SCOPE,
                "addressed_body": body,
                "cited_demands": [app.seed.village.id],
                "content": {
                    "demanded": "每周填报三张内容相同的种植面积表",
                    "by_whom": "省农业农村厅种植业管理处",
                    "cost": "每周约 4 小时",
                    "fix": "合并为一张表，按月填报"
                }
            }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["receipt_secret"].as_str().unwrap().to_owned()
}

fn report_id(app_inbox: &Value) -> String {
    app_inbox["items"][0]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_script_is_served_as_hashed_and_the_page_runs_no_inline_code() {
    let app = TestApp::new().await;
    let r = app.get(Who::Anonymous, "/static/voice.js").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(&r.body[..], SCRIPT);
    let hash: [u8; 32] = Sha256::digest(&r.body).into();
    assert_eq!(hash, script_sha256());
    assert!(r.content_type().starts_with("text/javascript"));
    assert_eq!(r.header(header::CACHE_CONTROL), Some("public, max-age=31536000, immutable"));

    let page = app.get(Who::TownshipCadre, "/voice/new").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let html = page.text();
    assert!(html.contains(&hex(&script_sha256())), "the page shows the script's hash");
    assert!(html.contains(&format!("integrity=\"sha256-{}\"", STANDARD.encode(script_sha256()))));
    for tag in html.split("<script").skip(1) {
        let open = &tag[..tag.find('>').unwrap()];
        assert!(
            open.contains("src=\"/static/voice.js") || open.contains("type=\"application/json\""),
            "no inline code: <script{open}>"
        );
    }
    // The page's data block cannot be closed early by anything in it.
    let data = html.split("id=\"voice-config\">").nth(1).unwrap().split("</script>").next().unwrap();
    let config: Value = serde_json::from_str(data).unwrap();
    assert_eq!(config["allowance"], 10);
    assert_eq!(config["log_key"], Value::Null, "no log on this server: the script refuses every key");

    // Signed out: to the sign-in page. Not a cadre: told where to go instead.
    let r = app.get(Who::Anonymous, "/voice/new").await;
    assert!(r.status.is_redirection(), "{}", r.status);
    let r = app.get(Who::DepartmentStaff, "/voice/new").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text().contains("id=\"voice-not-cadre\""));
}

#[tokio::test]
async fn scopes_under_the_threshold_and_villages_cannot_be_chosen() {
    let app = TestApp::new().await;
    let html = app.get(Who::VillageCadre, "/voice/new").await.text();
    let radio = |code: &str| {
        let at = html.find(&format!("name=\"scope\" value=\"{code}\"")).unwrap_or_else(|| panic!("{code}"));
        html[at..at + html[at..].find('>').unwrap()].to_owned()
    };
    assert!(radio("350102001001").contains("disabled"), "a village is never a scope");
    assert!(!radio(SCOPE).contains("disabled"), "the county is offered");
    assert!(radio(SCOPE).contains("checked"), "and chosen by default");
    assert!(!html.contains("name=\"scope\" value=\"350103\""), "only units containing the cadre's own");
}

#[tokio::test]
async fn the_issuer_key_carries_a_log_proof_that_verifies() {
    let mut app = TestApp::new().await;
    let key = SignerKey::generate("tongxin.test/voice-pages", SignatureType::Ed25519).unwrap();
    let verifier = key.verifier().clone();
    let mut config = LogConfig::new("tongxin.test/voice-pages", key);
    config.period = Duration::from_millis(20);
    let log = Log::open(app.store.clone(), config).await.unwrap();
    app.router = app_with_log(app.store.clone(), Config::default(), Some(log));

    let r = app.post_json(Who::TownshipCadre, "/api/voice/keys/ensure", &json!({"scope": SCOPE})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let proof = v["proof"].as_str().expect("the key's log proof");
    let receipt = Receipt::parse(proof.as_bytes()).unwrap();
    let policy = ReceiptPolicy::new(verifier.clone(), Vec::new(), 0).unwrap();
    let record = v["log_record"].as_str().unwrap().as_bytes();
    let ok = verify_receipt(&receipt, Leaf::Entry(record), &policy).unwrap();
    assert_eq!(Some(ok.index), v["log_index"].as_u64());

    // The filing page embeds the log key the script checks proofs against.
    let html = app.get(Who::TownshipCadre, "/voice/new").await.text();
    assert!(html.contains(&verifier.to_string()));
}

#[tokio::test]
async fn the_script_hash_is_published_in_the_log_and_the_page_names_its_entry() {
    let mut app = TestApp::new().await;
    let key = SignerKey::generate("tongxin.test/voice-script", SignatureType::Ed25519).unwrap();
    let mut config = LogConfig::new("tongxin.test/voice-script", key);
    config.period = Duration::from_millis(20);
    let log = Log::open(app.store.clone(), config).await.unwrap();
    app.router =
        app_with_log(app.store.clone(), Config { publish_script: true, ..Config::default() }, Some(log));
    // Published in the background at startup: the page names the entry once it is in.
    let mut index = None;
    for _ in 0..200 {
        let html = app.get(Who::TownshipCadre, "/voice/new").await.text();
        if let Some(rest) = html.split("<span id=\"script-log-index\">").nth(1) {
            index = Some(rest.split('<').next().unwrap().parse::<u64>().unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let index = index.expect("the filing page names the log entry of the script's hash");
    let entries = app.store.log_entries("tongxin.test/voice-script", index, index + 1).await.unwrap();
    let expected =
        format!("tongxin/voice/script/v1\npath /static/voice.js\nsha256 {}\n", hex(&Sha256::digest(SCRIPT)));
    assert_eq!(entries, [expected.into_bytes()]);
    assert_eq!(tongxin_server::voice_pages::script_record(), entries[0]);

    // Without the option nothing is appended and the page names no entry.
    let plain = TestApp::new().await;
    let html = plain.get(Who::TownshipCadre, "/voice/new").await.text();
    assert!(!html.contains("script-log-index"));
}

#[tokio::test]
async fn receipt_inbox_and_rating_work_with_plain_forms() {
    let app = TestApp::new().await;
    let secret = file_named(&app, Some(app.fx.department.id)).await;

    // The form never carries the secret in a URL; the answer is never cached.
    let form = app.get(Who::Anonymous, "/voice/receipt").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.text().contains("action=\"/voice/receipt/check\""));
    let r = app.post_form(Who::Anonymous, "/voice/receipt/check", &[("secret", &secret)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header(header::CACHE_CONTROL), Some("no-store"));
    let html = r.text();
    assert!(html.contains("id=\"report-state\">已提交"), "{html}");
    assert!(html.contains("每周填报三张内容相同的种植面积表"));
    assert!(!html.contains("id=\"rate-form\""), "nothing to rate before an answer");
    // No session is read: with the cadre's cookie the page still shows nobody signed in.
    let r = app.post_form(Who::TownshipCadre, "/voice/receipt/check", &[("secret", &secret)]).await;
    assert!(!r.text().contains("action=\"/logout\""));
    // A wrong secret: the one generic answer, and the empty form again.
    let r = app.post_form(Who::Anonymous, "/voice/receipt/check", &[("secret", "not-a-receipt")]).await;
    assert!(r.text().contains("id=\"receipt-error\">没有与该回执码对应的报告"), "{}", r.text());
    assert!(!r.text().contains("id=\"report-state\""));

    // The department's inbox: countdowns, then acknowledge, assign, answer by form.
    assert_eq!(app.get(Who::TownshipCadre, "/voice/inbox").await.status, StatusCode::FORBIDDEN);
    // The office has its own list: the inbox leads there.
    let r = app.get(Who::CountyOffice, "/voice/inbox").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header(header::LOCATION), Some("/voice/escalations"));
    let id = report_id(&app.get(Who::DepartmentStaff, "/api/voice/inbox").await.json());
    let html = app.get(Who::DepartmentStaff, "/voice/inbox").await.text();
    assert!(html.contains(&format!("id=\"r-{id}\"")));
    assert!(
        html.contains("剩 3 个工作日") || html.contains("剩 2 个工作日"),
        "acknowledge countdown: {html}"
    );
    assert!(html.contains("class=\"acknowledge\""));
    let cited = format!("<a href=\"/demands/{}\">{}</a>", app.seed.village.id, app.seed.village.title);
    assert!(html.contains(&cited), "the cited demand, linked: {html}");
    // Another body sees nothing, and cannot act on it.
    assert!(!app.get(Who::CityBureauStaff, "/voice/inbox").await.text().contains(&id));
    let r = app.post_form(Who::CityBureauStaff, &format!("/voice/inbox/{id}/acknowledge"), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = app.post_form(Who::DepartmentStaff, &format!("/voice/inbox/{id}/acknowledge"), &[]).await;
    assert!(r.status.is_redirection(), "{}", r.text());
    let division = app.fx.division_a.id.to_string();
    let r = app
        .post_form(Who::DepartmentStaff, &format!("/voice/inbox/{id}/assign"), &[("body", &division)])
        .await;
    assert!(r.status.is_redirection(), "{}", r.text());
    assert!(
        app.get(Who::DivisionStaff, "/voice/inbox").await.text().contains(&id),
        "assigned to the division"
    );
    let r = app.post_form(Who::DivisionStaff, &format!("/voice/inbox/{id}/answer"), &[("text", "  ")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty answer is refused");
    let r = app
        .post_form(Who::DivisionStaff, &format!("/voice/inbox/{id}/answer"), &[("text", "已合并为月报")])
        .await;
    assert!(r.status.is_redirection(), "{}", r.text());

    // The submitter reads the answer, replies, and rates; the report is closed.
    let html = app.post_form(Who::Anonymous, "/voice/receipt/check", &[("secret", &secret)]).await.text();
    assert!(html.contains("id=\"report-state\">已答复"), "{html}");
    assert!(html.contains("已合并为月报"));
    assert!(html.contains("id=\"rate-form\""));
    let r = app
        .post_form(Who::Anonymous, "/voice/receipt/check/reply", &[("secret", &secret), ("text", "谢谢")])
        .await;
    assert!(r.text().contains("id=\"receipt-notice\""), "{}", r.text());
    let r = app
        .post_form(
            Who::Anonymous,
            "/voice/receipt/check/rate",
            &[("secret", &secret), ("satisfaction", "9"), ("resolved", "yes")],
        )
        .await;
    assert!(r.text().contains("id=\"receipt-error\""), "a bad rating is refused: {}", r.text());
    let r = app
        .post_form(
            Who::Anonymous,
            "/voice/receipt/check/rate",
            &[("secret", &secret), ("satisfaction", "4"), ("resolved", "yes")],
        )
        .await;
    let html = r.text();
    assert!(html.contains("id=\"report-state\">已办结"), "{html}");
    assert!(html.contains("满意度 4/5"));
    assert!(!html.contains("id=\"rate-form\""));

    // The public page: the division listed with its department, figures withheld.
    let r = app.get(Who::Anonymous, "/voice/rates").await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("福建省农业农村厅 · 种植业管理处"), "{html}");
    assert!(html.contains("少于 10 份，不公开"));
    assert!(!html.contains(">1<"), "no count under k is shown");
    let r = app.get(Who::Anonymous, "/voice/rates?year=1999").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_office_routes_what_is_left_to_it() {
    let app = TestApp::new().await;
    file_named(&app, None).await;
    let r = app.get(Who::DepartmentStaff, "/voice/escalations").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header(header::LOCATION), Some("/voice/inbox"));
    let r = app.get(Who::CountyOffice, "/voice/escalations").await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("class=\"route\""), "{html}");
    assert!(html.contains("未指定部门"));
    let id = report_id(&app.get(Who::CountyOffice, "/api/voice/inbox").await.json());
    // Escalated by hand: the list shows the level and the cause.
    let r = app.post_form(Who::CountyOffice, &format!("/voice/inbox/{id}/escalate"), &[]).await;
    assert!(r.status.is_redirection(), "{}", r.text());
    let html = app.get(Who::CountyOffice, "/voice/escalations").await.text();
    assert!(html.contains("提级 1 · 减负办提级"), "{html}");
    let r = app.post_form(Who::DepartmentStaff, &format!("/voice/inbox/{id}/escalate"), &[]).await;
    assert!(matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{}", r.status);
    let to = app.fx.department.id.to_string();
    let r = app.post_form(Who::CountyOffice, &format!("/voice/inbox/{id}/route"), &[("body", &to)]).await;
    assert!(r.status.is_redirection(), "{}", r.text());
    assert_eq!(r.header(header::LOCATION), Some(format!("/voice/escalations#r-{id}").as_str()));
    assert!(app.get(Who::DepartmentStaff, "/voice/inbox").await.text().contains(&id));
    let r = app.post_form(Who::CountyOffice, &format!("/voice/inbox/{id}/route"), &[("body", "nope")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}
