//! Conformance of the safe voice's storage ([`tongxin_store::VoiceStore`]).

use chrono::{DateTime, Duration, TimeZone, Utc};
use tongxin_domain::{UnitCode, new_id};
use tongxin_store::{Store, StoreError, VoiceEvent, VoiceFilter, VoiceKey};
use tongxin_voice::{
    Content, EscalationCause, Event, Identity, Policy, ReceiptHash, Report, State, TimeLimits, WorkCalendar,
    apply,
};
use uuid::Uuid;

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    // A Monday, 10:00 in Beijing; with nanoseconds, which the stores must keep in the
    // report and may truncate to microseconds in their columns.
    Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap() + Duration::nanoseconds(123_456_789)
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(new_id().as_bytes());
    b[16..].copy_from_slice(new_id().as_bytes());
    b
}

fn key(scope: &str, period: &str) -> VoiceKey {
    VoiceKey {
        scope: code(scope),
        period: period.into(),
        token_key_id: random32(),
        spki: vec![0x30, 0x82, 1, 2, 3],
        secret_pkcs8: vec![0x30, 0x82, 9, 9, 9, 9],
        not_before: Utc.with_ymd_and_hms(2026, 10, 25, 0, 0, 0).unwrap(),
        not_after: Utc.with_ymd_and_hms(2026, 12, 8, 0, 0, 0).unwrap(),
        log_index: None,
    }
}

/// A token-shaped byte string (type 0x0002, nonce, …) with `nonce` in it.
fn token(nonce: &[u8; 32]) -> Vec<u8> {
    let mut t = vec![0, 2];
    t.extend_from_slice(nonce);
    t.extend_from_slice(&[7; 288]);
    t
}

fn report(scope: &str, addressed: Option<Uuid>, identity: Identity, at: DateTime<Utc>) -> Report {
    let content = Content::new("每周填报三张表", "县农业农村局", "每周 4 小时", "合并为一张").unwrap();
    Report::new(
        code(scope),
        addressed,
        vec![],
        vec![],
        content,
        identity,
        ReceiptHash::from_bytes(random32()),
        at,
    )
    .unwrap()
}

/// An anonymous report and its token's nonce.
fn anonymous(scope: &str, addressed: Option<Uuid>, at: DateTime<Utc>) -> (Report, [u8; 32]) {
    let nonce = random32();
    (report(scope, addressed, Identity::Anonymous { token: token(&nonce) }, at), nonce)
}

fn step(r: &mut Report, event: Event, at: DateTime<Utc>) {
    let calendar = WorkCalendar::weekends_only();
    let limits = TimeLimits::default();
    apply(r, event, at, &Policy { calendar: &calendar, limits: &limits }).unwrap();
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Conflict(_))), "expected a conflict, got {r:?}");
}

pub(crate) async fn keys_one_per_scope_and_period(s: &dyn Store) {
    let v = s.voice();
    let k1 = key("3501", "2026-11");
    v.voice_key_put(&k1).await.unwrap();
    // A second key for the same scope and period is refused, whatever its key.
    conflict(v.voice_key_put(&key("3501", "2026-11")).await);
    // The same public key under another scope of the province is refused too.
    conflict(v.voice_key_put(&VoiceKey { token_key_id: k1.token_key_id, ..key("3502", "2026-11") }).await);
    let k2 = key("3501", "2026-12");
    let k3 = key("350102", "2026-11");
    v.voice_key_put(&k2).await.unwrap();
    v.voice_key_put(&k3).await.unwrap();
    assert_eq!(v.voice_keys(Some(&code("3501")), None).await.unwrap(), [k1.clone(), k2.clone()]);
    assert_eq!(v.voice_keys(None, Some("2026-11")).await.unwrap(), [k1.clone(), k3.clone()]);
    assert_eq!(v.voice_keys(Some(&code("350102")), Some("2026-11")).await.unwrap(), [k3]);
    assert_eq!(v.voice_keys(None, None).await.unwrap().len(), 3);
    assert!(v.voice_keys(Some(&code("35")), None).await.unwrap().is_empty());
    v.voice_key_logged(&code("3501"), "2026-11", 42).await.unwrap();
    let logged = v.voice_keys(Some(&code("3501")), Some("2026-11")).await.unwrap();
    assert_eq!(logged, [VoiceKey { log_index: Some(42), ..k1.clone() }]);
    let missing = v.voice_key_logged(&code("3502"), "2026-11", 1).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    // The secret never shows in Debug.
    assert!(!format!("{k1:?}").contains("9, 9"));
}

pub(crate) async fn allowance_taken_once(s: &dyn Store) {
    let v = s.voice();
    let (u, w) = (new_id(), new_id());
    let scope = code("3501");
    let at = t0();
    assert!(v.voice_allowance_take(u, &scope, "2026-11", 20, at).await.unwrap());
    assert!(!v.voice_allowance_take(u, &scope, "2026-11", 20, at).await.unwrap());
    assert!(v.voice_allowance_take(u, &scope, "2026-12", 20, at).await.unwrap());
    assert!(v.voice_allowance_take(u, &code("350102"), "2026-11", 20, at).await.unwrap());
    assert!(v.voice_allowance_take(w, &scope, "2026-11", 20, at).await.unwrap());
    // Concurrent requests for the same allowance: exactly one gets it.
    for _ in 0..8 {
        let x = new_id();
        let (a, b) = futures_util::future::join(
            v.voice_allowance_take(x, &scope, "2026-11", 20, at),
            v.voice_allowance_take(x, &scope, "2026-11", 20, at),
        )
        .await;
        assert_eq!(u8::from(a.unwrap()) + u8::from(b.unwrap()), 1, "exactly one of two concurrent takes");
    }
}

pub(crate) async fn filing_refuses_double_spending(s: &dyn Store) {
    let v = s.voice();
    let body = new_id();
    let (r1, nonce) = anonymous("3501", Some(body), t0());
    v.voice_file(&r1, Some(nonce)).await.unwrap();
    assert_eq!(v.voice_report(r1.id).await.unwrap().as_ref(), Some(&r1));
    assert_eq!(v.voice_report_by_receipt(r1.receipt.as_bytes()).await.unwrap().as_ref(), Some(&r1));
    assert_eq!(v.voice_report_by_receipt(&[0; 32]).await.unwrap(), None);
    assert_eq!(v.voice_report(new_id()).await.unwrap(), None);

    // Refiling with a spent nonce is refused and stores nothing.
    let (r2, _) = anonymous("3501", Some(body), t0());
    conflict(v.voice_file(&r2, Some(nonce)).await);
    assert_eq!(v.voice_report(r2.id).await.unwrap(), None);
    assert_eq!(v.voice_report_by_receipt(r2.receipt.as_bytes()).await.unwrap(), None);

    // A receipt already stored is refused, and the fresh nonce of that attempt stays unspent.
    let (mut r3, fresh) = anonymous("3501", None, t0());
    r3.receipt = r1.receipt;
    conflict(v.voice_file(&r3, Some(fresh)).await);
    assert_eq!(v.voice_report(r3.id).await.unwrap(), None);
    let (r4, _) = anonymous("3501", None, t0());
    v.voice_file(&r4, Some(fresh)).await.unwrap();
    // The same report twice is refused.
    let (mut again, _) = anonymous("3501", None, t0());
    again.id = r4.id;
    conflict(v.voice_file(&again, Some(random32())).await);

    // An anonymous report needs its nonce; a named one spends none.
    let (r5, _) = anonymous("3501", None, t0());
    assert!(matches!(v.voice_file(&r5, None).await, Err(StoreError::Invalid(_))));
    let named = report("3501", Some(body), Identity::Named { user: new_id() }, t0());
    assert!(matches!(v.voice_file(&named, Some(random32())).await, Err(StoreError::Invalid(_))));
    v.voice_file(&named, None).await.unwrap();
    assert_eq!(v.voice_report(named.id).await.unwrap().as_ref(), Some(&named));
    assert_eq!(v.voice_report(r5.id).await.unwrap(), None);
}

pub(crate) async fn update_is_compare_and_set(s: &dyn Store) {
    let v = s.voice();
    let r = report("350102", Some(new_id()), Identity::Named { user: new_id() }, t0());
    v.voice_file(&r, None).await.unwrap();
    let mut acked = r.clone();
    step(&mut acked, Event::Acknowledge, t0() + Duration::hours(1));
    v.voice_update(&acked, 0).await.unwrap();
    assert_eq!(v.voice_report(r.id).await.unwrap().as_ref(), Some(&acked));
    // A writer that read seq 0 too is refused.
    let mut racer = r.clone();
    step(&mut racer, Event::Answer, t0() + Duration::hours(2));
    conflict(v.voice_update(&racer, 0).await);
    assert_eq!(v.voice_report(r.id).await.unwrap().as_ref(), Some(&acked));
    let mut answered = acked.clone();
    step(&mut answered, Event::Answer, t0() + Duration::hours(3));
    v.voice_update(&answered, 1).await.unwrap();
    let back = v.voice_report(r.id).await.unwrap().unwrap();
    assert_eq!((back.state, back.history.len()), (State::Answered, 2));
    // An update that adds no event, or changes what must not change, is refused.
    assert!(matches!(v.voice_update(&answered, 2).await, Err(StoreError::Invalid(_))));
    let mut moved = answered.clone();
    step(&mut moved, Event::Message { from: tongxin_voice::Party::Body }, t0() + Duration::hours(4));
    moved.identity = Identity::Named { user: new_id() };
    assert!(matches!(v.voice_update(&moved, 2).await, Err(StoreError::Invalid(_))));
    // Unknown report.
    let (ghost, _) = anonymous("350102", None, t0());
    let mut ghost2 = ghost.clone();
    step(&mut ghost2, Event::Acknowledge, t0() + Duration::hours(1));
    assert!(matches!(v.voice_update(&ghost2, 0).await, Err(StoreError::NotFound(_))));
}

pub(crate) async fn filters_and_pages(s: &dyn Store) {
    let v = s.voice();
    let (b1, b2) = (new_id(), new_id());
    let m = Duration::minutes(1);
    let (a, na) = anonymous("350102", Some(b1), t0());
    let (mut b, nb) = anonymous("3501", Some(b2), t0() + m);
    let (c, nc) = anonymous("350203", None, t0() + m * 2);
    let (mut d, nd) = anonymous("350102001", Some(b1), t0() + m * 3);
    let named = new_id();
    let e = report("440305", Some(b1), Identity::Named { user: named }, t0() + m * 4);
    // Filed out of order: the listing is by submission time.
    v.voice_file(&e, None).await.unwrap();
    for (r, n) in [(&c, nc), (&a, na), (&d, nd), (&b, nb)] {
        v.voice_file(r, Some(n)).await.unwrap();
    }
    step(&mut d, Event::Escalate { cause: EscalationCause::Office }, t0() + m * 10);
    v.voice_update(&d, 0).await.unwrap();
    step(&mut b, Event::Acknowledge, t0() + m * 10);
    v.voice_update(&b, 0).await.unwrap();

    let ids = |page: tongxin_store::VoicePage| page.items.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let list = |f: VoiceFilter| async move { ids(v.voice_reports(&f).await.unwrap()) };
    let f = VoiceFilter::default;
    assert_eq!(list(f()).await, [a.id, b.id, c.id, d.id, e.id]);
    assert_eq!(list(VoiceFilter { addressed: vec![b1], ..f() }).await, [a.id, d.id, e.id]);
    assert_eq!(list(VoiceFilter { addressed: vec![b2, b1], ..f() }).await, [a.id, b.id, d.id, e.id]);
    assert_eq!(list(VoiceFilter { unaddressed: true, ..f() }).await, [c.id]);
    assert_eq!(list(VoiceFilter { addressed: vec![b2], unaddressed: true, ..f() }).await, [b.id, c.id]);
    assert_eq!(list(VoiceFilter { scope: Some(code("3501")), ..f() }).await, [a.id, b.id, d.id]);
    assert_eq!(list(VoiceFilter { scope: Some(code("350102")), ..f() }).await, [a.id, d.id]);
    assert_eq!(list(VoiceFilter { scope: Some(code("35")), ..f() }).await, [a.id, b.id, c.id, d.id]);
    assert_eq!(list(VoiceFilter { scope: Some(code("350102001001")), ..f() }).await, Vec::<Uuid>::new());
    assert_eq!(
        list(VoiceFilter { scope: Some(code("3501")), addressed: vec![b1], ..f() }).await,
        [a.id, d.id]
    );
    assert_eq!(list(VoiceFilter { escalated_only: true, ..f() }).await, [d.id]);
    assert_eq!(list(VoiceFilter { named_by: Some(named), ..f() }).await, [e.id]);
    assert_eq!(list(VoiceFilter { named_by: Some(new_id()), ..f() }).await, Vec::<Uuid>::new());
    assert_eq!(list(VoiceFilter { state: Some(State::Acknowledged), ..f() }).await, [b.id]);
    assert_eq!(list(VoiceFilter { state: Some(State::Submitted), ..f() }).await, [a.id, c.id, d.id, e.id]);
    let window = VoiceFilter { submitted_from: Some(t0() + m), submitted_before: Some(t0() + m * 3), ..f() };
    assert_eq!(list(window).await, [b.id, c.id]);
    // The listed reports are the stored ones, whole.
    let page = v.voice_reports(&VoiceFilter { escalated_only: true, ..f() }).await.unwrap();
    assert_eq!(page.items, [d.clone()]);
    assert_eq!(page.next, None);

    // Keyset pages are exact.
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let page = v.voice_reports(&VoiceFilter { after, limit: 2, ..f() }).await.unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|r| r.id));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, [a.id, b.id, c.id, d.id, e.id]);
    assert_eq!(pages, 3);
    // Reports filed in the same microsecond still page exactly (by id).
    let same: Vec<Report> = (0..3).map(|_| anonymous("3505", None, t0() + m * 20).0).collect();
    for r in &same {
        v.voice_file(r, Some(random32())).await.unwrap();
    }
    let scope = Some(code("3505"));
    let p1 = v.voice_reports(&VoiceFilter { scope: scope.clone(), limit: 2, ..f() }).await.unwrap();
    let p2 = v.voice_reports(&VoiceFilter { scope, limit: 2, after: p1.next, ..f() }).await.unwrap();
    let mut want: Vec<Uuid> = same.iter().map(|r| r.id).collect();
    want.sort();
    assert_eq!(ids(p1).into_iter().chain(ids(p2)).collect::<Vec<_>>(), want);
}

pub(crate) async fn events_bookkeeping(s: &dyn Store) {
    let v = s.voice();
    let scope = code("3501");
    let (r, n) = anonymous("3501", None, t0());
    v.voice_file(&r, Some(n)).await.unwrap();
    // An empty content (as events stored before contents were kept) and one with every
    // kind of byte (NUL, invalid UTF-8, Chinese text) both come back exactly.
    let e0 = VoiceEvent {
        report: r.id,
        seq: 0,
        opening: random32(),
        entry: b"entry 0".to_vec(),
        content: Vec::new(),
        log_index: None,
    };
    let mut content = b"\0\xff\x00\x01 tongxin-voice/event-content/v1\n".to_vec();
    content.extend_from_slice("答复：已取消重复填报".as_bytes());
    content.extend((0..=255u8).cycle().take(4096));
    let e1 = VoiceEvent {
        report: r.id,
        seq: 1,
        opening: random32(),
        entry: b"entry 1".to_vec(),
        content,
        log_index: Some(5),
    };
    v.voice_event_put(&scope, &e1).await.unwrap();
    v.voice_event_put(&scope, &e0).await.unwrap();
    conflict(v.voice_event_put(&scope, &e0).await);
    let elsewhere = v.voice_event_put(&code("4403"), &VoiceEvent { seq: 2, ..e0.clone() }).await;
    assert!(matches!(elsewhere, Err(StoreError::NotFound(_))), "{elsewhere:?}");
    let ghost = v.voice_event_put(&scope, &VoiceEvent { report: new_id(), ..e0.clone() }).await;
    assert!(matches!(ghost, Err(StoreError::NotFound(_))), "{ghost:?}");
    v.voice_event_logged(&scope, r.id, 0, 7).await.unwrap();
    let missing = v.voice_event_logged(&scope, r.id, 3, 8).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    assert_eq!(v.voice_events(r.id).await.unwrap(), [VoiceEvent { log_index: Some(7), ..e0 }, e1]);
    assert!(v.voice_events(new_id()).await.unwrap().is_empty());
}

pub(crate) async fn anonymous_rows_do_not_name_the_user(s: &dyn Store) {
    let v = s.voice();
    let (cadre, named_cadre) = (new_id(), new_id());
    let scope = code("3501");
    v.voice_key_put(&key("3501", "2026-11")).await.unwrap();
    assert!(v.voice_allowance_take(cadre, &scope, "2026-11", 20, t0()).await.unwrap());
    assert!(v.voice_allowance_take(named_cadre, &scope, "2026-11", 20, t0()).await.unwrap());
    let (mut r, n) = anonymous("3501", Some(new_id()), t0() + Duration::hours(1));
    v.voice_file(&r, Some(n)).await.unwrap();
    step(&mut r, Event::Acknowledge, t0() + Duration::hours(2));
    v.voice_update(&r, 0).await.unwrap();
    let opening = random32();
    v.voice_event_put(
        &scope,
        &VoiceEvent {
            report: r.id,
            seq: 0,
            opening,
            entry: b"e".to_vec(),
            content: r.content_bytes(),
            log_index: None,
        },
    )
    .await
    .unwrap();
    let named = report("3501", None, Identity::Named { user: named_cadre }, t0() + Duration::hours(3));
    v.voice_file(&named, None).await.unwrap();

    let dump = v.voice_dump().await.unwrap();
    let names = |u: Uuid| [u.hyphenated().to_string(), u.simple().to_string()];
    let mentions = |row: &str, u: Uuid| names(u).iter().any(|n| row.to_lowercase().contains(n.as_str()));
    let tables = |t: &str| dump.iter().filter(|d| d.table == t).map(|d| d.row.as_str()).collect::<Vec<_>>();
    // The dump does show user ids where they are (so the search below would find them).
    assert_eq!(tables("voice_allowances").len(), 2);
    assert!(tables("voice_allowances").iter().any(|row| mentions(row, cadre)));
    let reports = tables("voice_reports");
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().any(|row| mentions(row, named_cadre)), "a named report names its user");
    // Outside the allowance record, nothing names the anonymous cadre.
    for d in dump.iter().filter(|d| d.table != "voice_allowances") {
        assert!(!mentions(&d.row, cadre), "{} row names the anonymous cadre: {}", d.table, d.row);
    }
    // The anonymous report's row holds its token and no user.
    let anon_row = reports.iter().find(|row| mentions(row, r.id)).expect("the anonymous report is dumped");
    let token_hex = match &r.identity {
        Identity::Anonymous { token } => tongxin_store::voice::hex(token),
        Identity::Named { .. } => unreachable!(),
    };
    assert!(anon_row.to_lowercase().contains(&token_hex), "the public token is stored with the report");
    assert_eq!(tables("voice_spent").len(), 1);
    assert_eq!(tables("voice_events").len(), 1);
    // The key's secret is not dumped.
    assert!(tables("voice_keys").iter().all(|row| !row.contains("090909")));
}
