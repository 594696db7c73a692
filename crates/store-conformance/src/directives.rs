//! Conformance of directive storage ([`tongxin_store::DirectiveStore`]).

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use tongxin_domain::{Level, UnitCode, new_id};
use tongxin_store::{
    Consultation, ConsultationResponse, DirectiveFilter, DirectiveStatus, Store, StoreError, StoredDirective,
    TaskRating,
};
use tongxin_voice::{Content, Identity, ReceiptHash, Report};
use uuid::Uuid;

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 2, 0, 0).unwrap() + Duration::microseconds(123_456)
}

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    b[..16].copy_from_slice(new_id().as_bytes());
    b[16..].copy_from_slice(new_id().as_bytes());
    b
}

fn directive(body: Uuid, unit: &str, status: DirectiveStatus) -> StoredDirective {
    StoredDirective {
        id: new_id(),
        issuing_body: body,
        body_unit: code(unit),
        status,
        document: json!({"id": "d", "title": "关于建成某某公路的通知", "tasks": [{"id": "road"}, {"id": "survey"}]}),
        targets: vec![code("350102001"), code("350102001001")],
        check: None,
        revision: 1,
        created_by: new_id(),
        created_at: t0(),
        updated_at: t0(),
    }
}

pub(crate) fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Conflict(_))), "expected a conflict, got {r:?}");
}

pub(crate) fn rating(task: u32, rating: u8, comment: &str) -> TaskRating {
    TaskRating { task, rating, comment: comment.into() }
}

fn response(directive: Uuid, user: Option<Uuid>, ratings: Vec<TaskRating>) -> ConsultationResponse {
    ConsultationResponse {
        id: uuid::Builder::from_random_bytes(random32()[..16].try_into().unwrap()).into_uuid(),
        directive,
        round: 1,
        level: Level::Village,
        user,
        ratings,
    }
}

pub(crate) async fn directives_are_compare_and_set(s: &dyn Store) {
    let ds = s.directives();
    let body = new_id();
    let mut d = directive(body, "3501", DirectiveStatus::Draft);
    ds.directive_put(&d).await.unwrap();
    assert_eq!(ds.directive(d.id).await.unwrap().as_ref(), Some(&d));
    conflict(ds.directive_put(&d).await);
    assert_eq!(ds.directive(new_id()).await.unwrap(), None);

    let mut next = d.clone();
    next.revision = 2;
    next.status = DirectiveStatus::Consulting;
    next.document = json!({"id": "d", "title": "改"});
    next.check = Some(json!({"tasks": [], "conflicts": []}));
    next.targets = vec![code("350102")];
    next.updated_at = t0() + Duration::hours(1);
    ds.directive_update(&next, 1).await.unwrap();
    assert_eq!(ds.directive(d.id).await.unwrap().as_ref(), Some(&next));
    // Stale: the stored revision is 2 now.
    let mut stale = next.clone();
    stale.document = json!({"stale": true});
    conflict(ds.directive_update(&stale, 1).await);
    assert_eq!(ds.directive(d.id).await.unwrap().as_ref(), Some(&next));
    // The body cannot change; the revision must grow by one.
    let mut moved = next.clone();
    moved.revision = 3;
    moved.issuing_body = new_id();
    assert!(matches!(ds.directive_update(&moved, 2).await, Err(StoreError::Invalid(_))));
    let mut skip = next.clone();
    skip.revision = 5;
    assert!(matches!(ds.directive_update(&skip, 2).await, Err(StoreError::Invalid(_))));
    d.id = new_id();
    assert!(matches!(ds.directive_update(&d, 1).await, Err(StoreError::NotFound(_))));
}

pub(crate) async fn directives_filter(s: &dyn Store) {
    let ds = s.directives();
    let (a, b) = (new_id(), new_id());
    let d1 = directive(a, "3501", DirectiveStatus::Draft);
    let d2 = directive(a, "35", DirectiveStatus::Issued);
    let d3 = directive(b, "3502", DirectiveStatus::Consulting);
    let d4 = directive(b, "4401", DirectiveStatus::Issued);
    for d in [&d1, &d2, &d3, &d4] {
        ds.directive_put(d).await.unwrap();
    }
    let ids = |v: Vec<StoredDirective>| v.into_iter().map(|d| d.id).collect::<Vec<_>>();
    assert_eq!(
        ids(ds.directives(&DirectiveFilter::default()).await.unwrap()),
        vec![d1.id, d2.id, d3.id, d4.id]
    );
    let fujian = DirectiveFilter { province: Some("35".into()), ..Default::default() };
    assert_eq!(ids(ds.directives(&fujian).await.unwrap()), vec![d1.id, d2.id, d3.id]);
    let active = DirectiveFilter {
        province: Some("35".into()),
        statuses: vec![DirectiveStatus::Issued, DirectiveStatus::Consulting],
        ..Default::default()
    };
    assert_eq!(ids(ds.directives(&active).await.unwrap()), vec![d2.id, d3.id]);
    let of_b = DirectiveFilter { bodies: vec![b], ..Default::default() };
    assert_eq!(ids(ds.directives(&of_b).await.unwrap()), vec![d3.id, d4.id]);
    // Bodies at or below a unit: 35 is above 3501, 3502 beside it.
    let under = DirectiveFilter { body_under: Some(code("3501")), ..Default::default() };
    assert_eq!(ids(ds.directives(&under).await.unwrap()), vec![d1.id]);
    let under = DirectiveFilter { body_under: Some(code("35")), ..Default::default() };
    assert_eq!(ids(ds.directives(&under).await.unwrap()), vec![d1.id, d2.id, d3.id]);
    // Keyset pages, newest first and oldest first, every filter applied before the limit.
    let mut page = DirectiveFilter { newest_first: true, limit: Some(2), ..Default::default() };
    assert_eq!(ids(ds.directives(&page).await.unwrap()), vec![d4.id, d3.id]);
    page.after = Some(d3.id);
    assert_eq!(ids(ds.directives(&page).await.unwrap()), vec![d2.id, d1.id]);
    page.after = Some(d1.id);
    assert!(ds.directives(&page).await.unwrap().is_empty());
    let oldest = DirectiveFilter {
        province: Some("35".into()),
        after: Some(d1.id),
        limit: Some(1),
        ..Default::default()
    };
    assert_eq!(ids(ds.directives(&oldest).await.unwrap()), vec![d2.id]);
    let active_page = DirectiveFilter { limit: Some(1), newest_first: true, ..active.clone() };
    assert_eq!(ids(ds.directives(&active_page).await.unwrap()), vec![d3.id]);
    let both =
        DirectiveFilter { bodies: vec![a, b], statuses: vec![DirectiveStatus::Issued], ..Default::default() };
    assert_eq!(ids(ds.directives(&both).await.unwrap()), vec![d2.id, d4.id]);
}

fn window(directive: Uuid, round: u32) -> Consultation {
    Consultation {
        directive,
        round,
        opens_at: t0() + Duration::days(20 * i64::from(round - 1)),
        closes_at: t0() + Duration::days(20 * i64::from(round - 1) + 10),
        concluded_at: None,
        outcome: None,
        response: String::new(),
        log_index: None,
    }
}

pub(crate) async fn consultations_open_once_and_conclude_once(s: &dyn Store) {
    let ds = s.directives();
    let d = directive(new_id(), "3501", DirectiveStatus::Consulting);
    let c = window(d.id, 1);
    assert!(matches!(ds.consultation_put(&c).await, Err(StoreError::NotFound(_))));
    ds.directive_put(&d).await.unwrap();
    // The first round is round 1.
    conflict(ds.consultation_put(&window(d.id, 2)).await);
    ds.consultation_put(&c).await.unwrap();
    assert_eq!(ds.consultation(d.id).await.unwrap().as_ref(), Some(&c));
    // No second window while the round is open, of any number.
    conflict(ds.consultation_put(&c).await);
    conflict(ds.consultation_put(&window(d.id, 2)).await);
    assert_eq!(ds.consultation(new_id()).await.unwrap(), None);

    let at = t0() + Duration::days(11);
    ds.consultation_conclude(d.id, 1, "revise", "期限延至九月", at).await.unwrap();
    conflict(ds.consultation_conclude(d.id, 1, "issue", "again", at).await);
    assert!(matches!(
        ds.consultation_conclude(new_id(), 1, "issue", "", at).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(ds.consultation_conclude(d.id, 2, "issue", "", at).await, Err(StoreError::NotFound(_))));
    ds.consultation_logged(d.id, 1, 42).await.unwrap();
    let got = ds.consultation(d.id).await.unwrap().unwrap();
    assert_eq!(got.round, 1);
    assert_eq!(got.concluded_at, Some(at));
    assert_eq!(got.outcome.as_deref(), Some("revise"));
    assert_eq!(got.response, "期限延至九月");
    assert_eq!(got.log_index, Some(42));
    assert!(matches!(ds.consultation_logged(new_id(), 1, 1).await, Err(StoreError::NotFound(_))));
    assert!(matches!(ds.consultation_logged(d.id, 2, 1).await, Err(StoreError::NotFound(_))));
}

pub(crate) async fn consultation_rounds_follow_one_another(s: &dyn Store) {
    let ds = s.directives();
    let d = directive(new_id(), "3501", DirectiveStatus::Consulting);
    ds.directive_put(&d).await.unwrap();
    ds.consultation_put(&window(d.id, 1)).await.unwrap();
    let user = new_id();
    let first = response(d.id, Some(user), vec![rating(0, 1, "三个月建不成")]);
    ds.response_put(&first, None).await.unwrap();
    // Round 2 cannot open before round 1 is concluded, nor skip a number after.
    conflict(ds.consultation_put(&window(d.id, 2)).await);
    let at = t0() + Duration::days(11);
    ds.consultation_conclude(d.id, 1, "revise", "期限延至九月", at).await.unwrap();
    conflict(ds.consultation_put(&window(d.id, 3)).await);
    conflict(ds.consultation_put(&window(d.id, 1)).await);
    let second = window(d.id, 2);
    ds.consultation_put(&second).await.unwrap();
    assert_eq!(ds.consultation(d.id).await.unwrap().as_ref(), Some(&second), "the latest round");
    let rounds = ds.consultations(d.id).await.unwrap();
    assert_eq!(rounds.iter().map(|c| c.round).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rounds[0].outcome.as_deref(), Some("revise"));
    assert_eq!(rounds[0].concluded_at, Some(at));
    assert_eq!(rounds[1].concluded_at, None);
    assert!(ds.consultations(new_id()).await.unwrap().is_empty());

    // Responses belong to a round: the same cadre rates the same task again in round 2.
    let mut again = response(d.id, Some(user), vec![rating(0, 3, "期限延后，可以完成")]);
    again.round = 2;
    ds.response_put(&again, None).await.unwrap();
    conflict(ds.response_put(&again, None).await);
    let mut anon = response(d.id, None, vec![rating(0, 4, "")]);
    anon.round = 2;
    ds.response_put(&anon, Some(("35", random32()))).await.unwrap();
    assert_eq!(ds.responses(d.id, 1).await.unwrap(), vec![first]);
    let mut got = ds.responses(d.id, 2).await.unwrap();
    got.sort_by_key(|r| r.id);
    let mut want = vec![again, anon];
    want.sort_by_key(|r| r.id);
    assert_eq!(got, want);
    // A round that was never opened takes no response, and spends no token.
    let mut lost = response(d.id, None, vec![rating(0, 3, "")]);
    lost.round = 3;
    let nonce = random32();
    assert!(matches!(ds.response_put(&lost, Some(("35", nonce))).await, Err(StoreError::NotFound(_))));
    let mut retry = response(d.id, None, vec![rating(0, 3, "")]);
    retry.round = 2;
    ds.response_put(&retry, Some(("35", nonce))).await.unwrap();
    assert!(ds.responses(d.id, 3).await.unwrap().is_empty());

    ds.consultation_conclude(d.id, 2, "issue", "按修改后的期限印发", at + Duration::days(20)).await.unwrap();
    ds.consultation_logged(d.id, 2, 77).await.unwrap();
    let rounds = ds.consultations(d.id).await.unwrap();
    assert_eq!(
        rounds.iter().map(|c| (c.outcome.as_deref(), c.log_index)).collect::<Vec<_>>(),
        [(Some("revise"), None), (Some("issue"), Some(77))]
    );
}

pub(crate) async fn ratings_share_the_voice_spent_nonces(s: &dyn Store) {
    let ds = s.directives();
    let d = directive(new_id(), "3501", DirectiveStatus::Consulting);
    ds.directive_put(&d).await.unwrap();
    ds.consultation_put(&window(d.id, 1)).await.unwrap();

    // A nonce spent on a report cannot be spent on a rating.
    let nonce = random32();
    let mut token = vec![0, 2];
    token.extend_from_slice(&nonce);
    token.extend_from_slice(&[7; 288]);
    let content = Content::new("每周填报三张表", "县农业农村局", "每周 4 小时", "合并为一张").unwrap();
    let report = Report::new(
        code("350102"),
        None,
        vec![],
        vec![],
        content,
        Identity::Anonymous { token },
        ReceiptHash::from_bytes(random32()),
        t0(),
    )
    .unwrap();
    s.voice().voice_file(&report, Some(nonce)).await.unwrap();
    let r1 = response(d.id, None, vec![rating(0, 1, "三个月建不成"), rating(1, 4, "")]);
    conflict(ds.response_put(&r1, Some(("35", nonce))).await);
    assert!(ds.responses(d.id, 1).await.unwrap().is_empty());

    // A fresh nonce: stored once; spent, it can be used neither on a rating nor on a report.
    let fresh = random32();
    ds.response_put(&r1, Some(("35", fresh))).await.unwrap();
    let r2 = response(d.id, None, vec![rating(0, 2, "")]);
    conflict(ds.response_put(&r2, Some(("35", fresh))).await);
    let mut again = report.clone();
    again.id = new_id();
    again.receipt = ReceiptHash::from_bytes(random32());
    conflict(s.voice().voice_file(&again, Some(fresh)).await);
    let got = ds.responses(d.id, 1).await.unwrap();
    assert_eq!(got, vec![r1.clone()]);
    assert_eq!(got[0].user, None);

    // Named: no nonce; the same user rates a task once.
    let user = new_id();
    let n1 = response(d.id, Some(user), vec![rating(0, 3, "需要征收权")]);
    assert!(matches!(ds.response_put(&n1, Some(("35", random32()))).await, Err(StoreError::Invalid(_))));
    ds.response_put(&n1, None).await.unwrap();
    let n2 = response(d.id, Some(user), vec![rating(1, 5, ""), rating(0, 1, "")]);
    conflict(ds.response_put(&n2, None).await);
    let n3 = response(d.id, Some(user), vec![rating(1, 5, "")]);
    ds.response_put(&n3, None).await.unwrap();
    // Anonymous without a nonce, ratings out of range or repeated, an unknown directive.
    let bad = response(d.id, None, vec![rating(0, 3, "")]);
    assert!(matches!(ds.response_put(&bad, None).await, Err(StoreError::Invalid(_))));
    let bad = response(d.id, Some(new_id()), vec![rating(0, 6, "")]);
    assert!(matches!(ds.response_put(&bad, None).await, Err(StoreError::Invalid(_))));
    let bad = response(d.id, Some(new_id()), vec![rating(0, 2, ""), rating(0, 3, "")]);
    assert!(matches!(ds.response_put(&bad, None).await, Err(StoreError::Invalid(_))));
    let lost = response(new_id(), None, vec![rating(0, 3, "")]);
    assert!(matches!(ds.response_put(&lost, Some(("35", random32()))).await, Err(StoreError::NotFound(_))));

    let mut all = ds.responses(d.id, 1).await.unwrap();
    all.sort_by_key(|r| r.id);
    let mut want = vec![r1, n1, n3];
    want.sort_by_key(|r| r.id);
    assert_eq!(all, want);
}
