//! The anonymity audit of issue 5: a known cadre signs in, takes a token allowance and
//! files anonymously with one of the tokens; then **every row of every table** of the
//! database and **every log line** the server emitted meanwhile are searched. Nothing may
//! hold both something that names the cadre (account id in any spelling, user name,
//! display name, session cookie) and something that names the report (its id, token,
//! token nonce, receipt hash, log reference); the rows and lines written while filing name
//! no cadre at all. (The allowance row names the cadre, and the user and session rows do;
//! none of them names the report.) The whole-database dump needs the SQLite store; on
//! PostgreSQL the voice tables and the log lines are audited.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::{TestApp, Who};
use serde_json::json;
use sqlx::Row;
use tongxin_log::{Log, LogConfig};
use tongxin_server::voice::{ALLOWANCE, period_of};
use tongxin_server::{Config, app_with_log};
use tongxin_tlog::{SignatureType, SignerKey};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{DefaultRng, IssuerPublicKey, TokenResponse, begin_issuance, finalize};

const SCOPE: &str = "350102";

/// Everything the server logs, at every level, kept for the audit.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8_lossy(&std::mem::take(&mut *self.0.lock().unwrap())).into_owned()
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Every row of every table, one line each (`table: col|col|…`, blobs as `X'…'`).
async fn dump_sqlite(path: &std::path::Path) -> Vec<String> {
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut out = Vec::new();
    for t in tables {
        let cols: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA table_info(\"{t}\")")))
            .fetch_all(&pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<String, _>("name"))
            .collect();
        let expr = cols.iter().map(|c| format!("quote(\"{c}\")")).collect::<Vec<_>>().join(" || '|' || ");
        let rows: Vec<String> =
            sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT {expr} FROM \"{t}\"")))
                .fetch_all(&pool)
                .await
                .unwrap();
        out.extend(rows.into_iter().map(|r| format!("{t}: {}", r.to_lowercase())));
    }
    out
}

#[tokio::test]
async fn nothing_stored_or_logged_links_the_cadre_to_the_anonymous_report() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();

    let mut app = TestApp::new().await;
    let key = SignerKey::generate("tongxin.test/voice-audit", SignatureType::Ed25519).unwrap();
    let mut config = LogConfig::new("tongxin.test/voice-audit", key);
    config.period = std::time::Duration::from_millis(20);
    let log = Log::open(app.store.clone(), config).await.unwrap();
    app.router = app_with_log(app.store.clone(), Config::default(), Some(log));

    // The cadre's side: sign in, the key, ten blinded requests, the allowance.
    let who = Who::TownshipCadre;
    let user = app.store.user_by_name(who.username()).await.unwrap().unwrap();
    let cookie = app.cookie(who).await.unwrap();
    let r = app.post_json(who, "/api/voice/keys/ensure", &json!({"scope": SCOPE})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let public =
        IssuerPublicKey::from_spki(&STANDARD.decode(v["token_key"].as_str().unwrap()).unwrap()).unwrap();
    let period = period_of(chrono::Utc::now());
    let ch = challenge(v["server_name"].as_str().unwrap(), &KeyScope::new(SCOPE, &period).unwrap()).unwrap();
    let (mut states, mut requests) = (Vec::new(), Vec::new());
    for _ in 0..ALLOWANCE {
        let (req, state) = begin_issuance(&public, &ch, &mut DefaultRng).unwrap();
        requests.push(STANDARD.encode(req.to_bytes()));
        states.push(state);
    }
    let body = json!({"scope": SCOPE, "period": period, "requests": requests});
    let r = app.post_json(who, "/api/voice/allowance", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let responses = r.json()["responses"].as_array().unwrap().clone();
    let token = finalize(
        states.remove(0),
        &TokenResponse::decode(&STANDARD.decode(responses[0].as_str().unwrap()).unwrap()).unwrap(),
    )
    .unwrap();
    let before_filing = captured.take();

    // Filing, anonymously.
    let filing = json!({
        "scope": SCOPE, "period": period, "token": STANDARD.encode(token.to_bytes()),
        "addressed_body": app.fx.division_a.id,
        "content": {"demanded": "每周重复报送同一张表", "by_whom": "省农业农村厅", "cost": "每周 4 小时", "fix": "按月报送一次"}
    });
    let r = app.post_json(Who::Anonymous, "/voice/reports", &filing).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let filed = r.json();
    // Let the log publish what the filing appended, then read what was logged meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let while_filing = captured.take();

    // What names the cadre, and what names the report.
    let report = app.store.voice().voice_dump().await.unwrap();
    let id = app.get(Who::DivisionStaff, "/api/voice/inbox").await.json()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored = app.store.voice().voice_report(id.parse().unwrap()).await.unwrap().unwrap();
    let cadre: Vec<String> = vec![
        user.id.to_string(),
        user.id.simple().to_string(),
        who.username().to_lowercase(),
        user.display_name.to_lowercase(),
        cookie.split('=').nth(1).unwrap_or(&cookie).split(';').next().unwrap().to_lowercase(),
    ];
    let report_marks: Vec<String> = vec![
        id.clone(),
        stored.id.simple().to_string(),
        hex(&token.to_bytes()),
        STANDARD.encode(token.to_bytes()).to_lowercase(),
        hex(token.nonce()),
        hex(stored.receipt.as_bytes()),
        filed["report_ref"].as_str().unwrap().to_owned(),
    ];
    let names = |text: &str, marks: &[String]| marks.iter().filter(|m| text.contains(m.as_str())).count() > 0;

    // Every row: never both; the voice rows of the report name no cadre.
    let rows = match app.sqlite_file() {
        Some(path) => dump_sqlite(path).await,
        None => report.iter().map(|r| format!("{}: {}", r.table, r.row.to_lowercase())).collect(),
    };
    if app.sqlite_file().is_some() {
        for table in
            ["users:", "sessions:", "log_entries:", "voice_allowances:", "voice_reports:", "voice_spent:"]
        {
            assert!(rows.iter().any(|r| r.starts_with(table)), "the dump has rows of {table}");
        }
    }
    assert!(rows.iter().any(|r| names(r, &report_marks)), "the report is in the dump");
    assert!(rows.iter().any(|r| names(r, &cadre)), "the cadre is in the dump (account, allowance)");
    for row in &rows {
        assert!(
            !(names(row, &cadre) && names(row, &report_marks)),
            "a row links the cadre to the report: {row}"
        );
    }
    for row in rows.iter().filter(|r| r.starts_with("voice_")) {
        let allowed = row.starts_with("voice_allowances:");
        assert!(allowed || !names(row, &cadre), "a voice row names the cadre: {row}");
    }

    // Every log line: never both; what was logged while filing names no cadre.
    assert!(
        while_filing.contains("voice_reports") || while_filing.contains("INSERT"),
        "the audit captured what the server logged while filing:\n{while_filing}"
    );
    for line in before_filing.lines().chain(while_filing.lines()) {
        let l = line.to_lowercase();
        assert!(!(names(&l, &cadre) && names(&l, &report_marks)), "a log line links the two: {line}");
    }
    for line in while_filing.lines() {
        assert!(!names(&line.to_lowercase(), &cadre), "filing logged something naming the cadre: {line}");
    }
}
