//! The transparency log over HTTP: the C2SP endpoints serve what an independent verifier
//! needs (checkpoint, immutable tiles and bundles), and the public log page checks a
//! pasted receipt, saying exactly why a tampered one fails. Runs on SQLite and, when a
//! server is configured, PostgreSQL.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tongxin_log::{Log, LogConfig};
use tongxin_server::{Config, app, app_with_log};
use tongxin_tlog::{MemoryHashStore, SignatureType, SignerKey, Tile};
use tower::ServiceExt;

const ORIGIN: &str = "tongxin.example/log-test";

async fn get(router: &axum::Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let res = router.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let cache = res.headers().get(header::CACHE_CONTROL).map(|v| v.to_str().unwrap().to_owned());
    (status, cache, res.into_body().collect().await.unwrap().to_bytes().to_vec())
}

async fn post_form(router: &axum::Router, uri: &str, pairs: &[(&str, &str)]) -> (StatusCode, String) {
    let body: String =
        pairs.iter().map(|(k, v)| format!("{k}={}", common::encode(v))).collect::<Vec<_>>().join("&");
    let req = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    (status, String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap())
}

fn entry(i: u64) -> Vec<u8> {
    format!("commitment {i}").into_bytes()
}

#[tokio::test]
async fn the_log_endpoints_serve_a_verifiable_log_and_check_receipts() {
    let (store, _file) = common::fresh_store().await;
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let mut config = LogConfig::new(ORIGIN, key.clone());
    config.period = Duration::from_millis(20);
    let log = Log::open(store.clone(), config).await.unwrap();
    for i in 0..260 {
        assert_eq!(log.append(entry(i)).await.unwrap(), i);
    }
    log.covering(259).await.unwrap();
    let router = app_with_log(store, Config::default(), Some(log.clone()));

    let (status, cache, body) = get(&router, "/log/checkpoint").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cache.as_deref(), Some("no-cache"));
    let text = String::from_utf8(body).unwrap();
    assert!(text.starts_with(&format!("{ORIGIN}\n260\n")), "{text}");
    let note = tongxin_tlog::Note::parse(text.as_bytes()).unwrap();
    note.verify(std::slice::from_ref(key.verifier())).unwrap();

    let memory = MemoryHashStore::from_entries((0..260).map(entry));
    for path in ["tile/0/000", "tile/0/001.p/4", "tile/1/000.p/1"] {
        let (status, cache, body) = get(&router, &format!("/log/{path}")).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(cache.as_deref(), Some("public, max-age=31536000, immutable"), "{path}");
        let tile = Tile::parse_path(path).unwrap();
        assert_eq!(body, tongxin_tlog::tile::read_tile_data(&tile, &memory).unwrap(), "{path}");
    }
    let (status, _, body) = get(&router, "/log/tile/entries/001.p/4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(tongxin_tlog::decode_bundle(&body).unwrap()[3], entry(259).as_slice());
    for missing in ["/log/tile/0/002", "/log/tile/0/001.p/5", "/log/tile/x", "/log/tile/entries/009"] {
        assert_eq!(get(&router, missing).await.0, StatusCode::NOT_FOUND, "{missing}");
    }

    // The page, public, in both languages.
    let (status, _, body) = get(&router, "/log").await;
    assert_eq!(status, StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("透明日志") && page.contains(r#"<dd id="log-size">260</dd>"#), "{page}");
    assert!(page.contains(&key.verifier().to_string()), "the page shows the public key");
    let (_, _, body) = get(&router, "/log?lang=en").await;
    assert!(String::from_utf8(body).unwrap().contains("Transparency log"));

    // The receipt checker: a good receipt verifies; a wrong entry, a tampered proof or
    // another log's checkpoint is refused with the reason.
    let receipt = log.receipt(42).await.unwrap().to_text();
    let entry42 = String::from_utf8(entry(42)).unwrap();
    let (status, page) =
        post_form(&router, "/log/check", &[("receipt", &receipt), ("entry", &entry42)]).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("✔") && page.contains("#42"), "{page}");
    let hex: String = tongxin_tlog::leaf_hash(&entry(42)).0.iter().map(|b| format!("{b:02x}")).collect();
    let (status, _) = post_form(&router, "/log/check", &[("receipt", &receipt), ("entry", &hex)]).await;
    assert_eq!(status, StatusCode::OK, "a leaf hash in hex works too");
    let (status, page) =
        post_form(&router, "/log/check", &[("receipt", &receipt), ("entry", "commitment 43")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("✘") && page.contains("验证失败") && page.contains("inclusion proof"), "{page}");
    let mut lines: Vec<String> = receipt.lines().map(String::from).collect();
    let proof_line = lines.iter().position(|l| l.starts_with("index")).unwrap() + 1;
    let mut bytes = tongxin_tlog::Hash::from_base64(&lines[proof_line]).unwrap().0;
    bytes[0] ^= 1;
    lines[proof_line] = tongxin_tlog::Hash(bytes).to_base64();
    let tampered = lines.join("\n") + "\n";
    let (status, page) =
        post_form(&router, "/log/check", &[("receipt", &tampered), ("entry", &entry42)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let (status, page) =
        post_form(&router, "/log/check", &[("receipt", "not a receipt"), ("entry", "x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("回执格式有误"), "{page}");
}

#[tokio::test]
async fn without_a_log_the_endpoints_say_so() {
    let (store, _file) = common::fresh_store().await;
    let router = app(store, Config::default());
    for uri in ["/log", "/log/checkpoint", "/log/tile/0/000"] {
        assert_eq!(get(&router, uri).await.0, StatusCode::NOT_FOUND, "{uri}");
    }
}
