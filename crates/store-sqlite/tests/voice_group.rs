//! The filing path's group commit under concurrency: calls made at once land in the same
//! transaction and still get one answer each, as if each had its own transaction — one
//! spender per nonce, a report that does not exist is `NotFound` for its event alone,
//! and every success is on disk once its call returns.

use std::sync::Arc;

use chrono::Utc;
use tongxin_domain::{UnitCode, new_id};
use tongxin_store::{Store, StoreError, VoiceEvent};
use tongxin_store_sqlite::SqliteStore;
use tongxin_voice::{Content, Identity, ReceiptHash, Report};

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(new_id().as_bytes());
    b[16..].copy_from_slice(new_id().as_bytes());
    b
}

fn anonymous(nonce: &[u8; 32]) -> Report {
    let mut token = vec![0, 2];
    token.extend_from_slice(nonce);
    token.extend_from_slice(&[7; 288]);
    let content = Content::new("每周填报三张表", "县农业农村局", "每周 4 小时", "合并为一张").unwrap();
    Report::new(
        UnitCode::parse("350322").unwrap(),
        None,
        vec![],
        vec![],
        content,
        Identity::Anonymous { token },
        ReceiptHash::from_bytes(random32()),
        Utc::now(),
    )
    .unwrap()
}

fn event(report: uuid::Uuid) -> VoiceEvent {
    VoiceEvent {
        report,
        seq: 0,
        opening: random32(),
        entry: b"entry".to_vec(),
        content: b"c".to_vec(),
        log_index: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_filings_get_one_answer_each() {
    let dir = std::env::temp_dir().join(format!("tongxin-voice-group-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("v.sqlite").display());
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&url).await.unwrap());
    let scope = UnitCode::parse("350322").unwrap();

    // 200 filings at once, 50 nonces each spent by four of them.
    let nonces: Vec<[u8; 32]> = (0..50).map(|_| random32()).collect();
    let reports: Vec<(Report, [u8; 32])> =
        (0..200).map(|i| (anonymous(&nonces[i % 50]), nonces[i % 50])).collect();
    let mut calls = Vec::new();
    for (r, n) in reports.clone() {
        let s = store.clone();
        calls.push(tokio::spawn(async move { s.voice().voice_file(&r, Some(n)).await }));
    }
    let mut won = Vec::new();
    for (call, (r, n)) in calls.into_iter().zip(&reports) {
        match call.await.unwrap() {
            Ok(()) => won.push((r.clone(), *n)),
            Err(StoreError::Conflict(m)) => assert!(m.contains("already spent"), "{m}"),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won.len(), 50, "one spender per nonce");
    let mut spent: Vec<[u8; 32]> = won.iter().map(|(_, n)| *n).collect();
    spent.sort();
    spent.dedup();
    assert_eq!(spent.len(), 50);

    // Events at once: of the winners (stored) and of reports never filed (NotFound), and
    // a duplicate (Conflict); then their log indexes, and one for a missing event.
    let mut calls = Vec::new();
    for (i, (r, _)) in won.iter().enumerate() {
        let (s, scope, e) = (store.clone(), scope.clone(), event(r.id));
        calls.push((i, tokio::spawn(async move { s.voice().voice_event_put(&scope, &e).await })));
    }
    let mut missing = Vec::new();
    for _ in 0..10 {
        let (s, scope, e) = (store.clone(), scope.clone(), event(new_id()));
        missing.push(tokio::spawn(async move { s.voice().voice_event_put(&scope, &e).await }));
    }
    for (_, c) in calls {
        c.await.unwrap().unwrap();
    }
    for c in missing {
        assert!(matches!(c.await.unwrap(), Err(StoreError::NotFound(_))));
    }
    let again = store.voice().voice_event_put(&scope, &event(won[0].0.id)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let mut calls = Vec::new();
    for (i, (r, _)) in won.iter().enumerate() {
        let (s, scope, id) = (store.clone(), scope.clone(), r.id);
        calls.push(tokio::spawn(async move {
            s.voice().voice_event_logged(&scope, id, 0, 1000 + i as u64).await
        }));
    }
    let ghost = store.voice().voice_event_logged(&scope, new_id(), 0, 7).await;
    assert!(matches!(ghost, Err(StoreError::NotFound(_))), "{ghost:?}");
    for c in calls {
        c.await.unwrap().unwrap();
    }

    // All of it is in the file, seen by a store opened afresh.
    let reopened = SqliteStore::open(&url).await.unwrap();
    for (i, (r, _)) in won.iter().enumerate() {
        assert_eq!(reopened.voice().voice_report(r.id).await.unwrap().as_ref(), Some(r));
        let events = reopened.voice().voice_events(r.id).await.unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].log_index, Some(1000 + i as u64));
    }
    let rows = reopened.voice().voice_dump().await.unwrap();
    assert_eq!(rows.iter().filter(|r| r.table == "voice_reports").count(), 50);
    assert_eq!(rows.iter().filter(|r| r.table == "voice_spent").count(), 50);
    drop(reopened);
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
