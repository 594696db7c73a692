//! Upgrading a database that already holds directives: migration 0008 (consultation
//! rounds) on a schema at version 7 keeps every consultation and response as round 1, and
//! the upgraded schema takes a second round.
//!
//! The version-7 schema is built by hand in a fresh schema: migrations 1..=7 applied and
//! recorded in `schema_migrations` as `migrate.rs` records them (PostgreSQL has no 6),
//! then rows written with the binds the version-7 code used (UUIDs, `timestamptz`, JSON
//! text cast to `jsonb`). Opening the store applies 8 only.
//!
//! Needs a server: set `TONGXIN_TEST_POSTGRES` to a `postgres://` URL, or run under
//! `pg_virtualenv` (which exports `PGHOST`, `PGPORT`, …). Without a server the test says so
//! and passes, unless `TONGXIN_REQUIRE_POSTGRES=1` (as in CI), where a missing server is a
//! failure.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool};
use tongxin_domain::{Level, UnitCode};
use tongxin_store::{
    Consultation, ConsultationResponse, DirectiveStatus, Store, StoreError, StoredDirective, TaskRating,
};
use tongxin_store_postgres::PgStore;
use uuid::Uuid;

/// Migrations 1..=7, as `migrate.rs` lists them.
const V7: &[(i64, &str, &str)] = &[
    (1, "ledger", include_str!("../migrations/0001_ledger.sql")),
    (2, "log", include_str!("../migrations/0002_log.sql")),
    (3, "demand_flags", include_str!("../migrations/0003_demand_flags.sql")),
    (4, "voice", include_str!("../migrations/0004_voice.sql")),
    (5, "voice_event_content", include_str!("../migrations/0005_voice_event_content.sql")),
    (7, "directives", include_str!("../migrations/0007_directives.sql")),
];

// The directive whose consultation was opened and concluded ("revise") under version 7.
const CONCLUDED: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_0001);
// A directive whose consultation was still open when version 7 stopped.
const OPEN: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_0002);
const BODY: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00b0);
const AUTHOR: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00a0);
const CADRE: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00c0);
const OTHER_CADRE: Uuid = Uuid::from_u128(0x0199_5a00_0000_7000_8000_0000_0000_00c1);
// Rating ids are random (v4); the anonymous one sorts first.
const ANONYMOUS: Uuid = Uuid::from_u128(0x1f3c_9e2a_55d1_4b7e_9a10_3c4d_5e6f_7081);
const NAMED: Uuid = Uuid::from_u128(0xa2b4_c6d8_e0f2_4a1b_8c3d_5e7f_9012_3456);
const NAMED_ON_OPEN: Uuid = Uuid::from_u128(0x6e5d_4c3b_2a19_4f08_9e7d_6c5b_4a39_2817);
const NONCE: [u8; 32] = [7; 32];

const DOCUMENT: &str =
    r#"{"id":"d","title":"关于建成某某公路的通知","tasks":[{"id":"road"},{"id":"survey"}]}"#;
const TARGETS: &str = r#"["350102001","350102001001"]"#;
const CHECK: &str = r#"{"tasks":[],"conflicts":[]}"#;
const RESPONSE: &str = "道路任务期限延至明年，勘测任务不变。";

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

fn rating(task: u32, rating: u8, comment: &str) -> TaskRating {
    TaskRating { task, rating, comment: comment.into() }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(matches!(r, Err(StoreError::Conflict(_))), "expected a conflict, got {r:?}");
}

fn server() -> Option<PgConnectOptions> {
    if let Ok(url) = std::env::var("TONGXIN_TEST_POSTGRES") {
        return Some(url.parse().expect("TONGXIN_TEST_POSTGRES is a postgres:// URL"));
    }
    // PgConnectOptions::new() reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    std::env::var("PGHOST").ok().map(|_| PgConnectOptions::new())
}

/// A schema at version 7, as `migrate.rs` would have left it.
async fn version_7(pool: &PgPool) {
    pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)")
        .await
        .unwrap();
    for (version, name, sql) in V7 {
        let mut tx = pool.begin().await.unwrap();
        tx.execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE").await.unwrap();
        tx.execute(AssertSqlSafe(*sql)).await.unwrap();
        sqlx::query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, now())")
            .bind(version)
            .bind(*name)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
}

/// Rows in the version-7 shape, as the version-7 `directives.rs` wrote them.
async fn version_7_rows(pool: &PgPool) {
    let directive = "INSERT INTO directives (province, id, issuing_body, body_unit, status, document, targets, \
                     check_report, revision, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10, $11, $12)";
    for (id, status, check, revision, updated) in [
        (CONCLUDED, "draft", Some(CHECK), 3i32, "2026-11-09T02:00:00.654321Z"),
        (OPEN, "consulting", None, 2, "2026-11-03T00:00:00.000001Z"),
    ] {
        sqlx::query(directive)
            .bind("35")
            .bind(id)
            .bind(BODY)
            .bind("3501")
            .bind(status)
            .bind(DOCUMENT)
            .bind(TARGETS)
            .bind(check)
            .bind(revision)
            .bind(AUTHOR)
            .bind(time("2026-11-02T02:00:00.123456Z"))
            .bind(time(updated))
            .execute(pool)
            .await
            .unwrap();
    }
    let consultation = "INSERT INTO directive_consultations (province, directive_id, opens_at, closes_at, \
                        concluded_at, outcome, response, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    for (id, closes) in [(CONCLUDED, "2026-11-08T00:00:00.500000Z"), (OPEN, "2026-12-01T00:00:00.000000Z")] {
        sqlx::query(consultation)
            .bind("35")
            .bind(id)
            .bind(time("2026-11-03T00:00:00.000001Z"))
            .bind(time(closes))
            .bind(None::<DateTime<Utc>>)
            .bind(None::<String>)
            .bind("")
            .bind(None::<i64>)
            .execute(pool)
            .await
            .unwrap();
    }
    // The anonymous rating spent its token's nonce in the same transaction.
    sqlx::query("INSERT INTO voice_spent (province, nonce) VALUES ($1, $2)")
        .bind("35")
        .bind(&NONCE[..])
        .execute(pool)
        .await
        .unwrap();
    let response = "INSERT INTO directive_responses (province, directive_id, response_id, task_index, level, \
                    rating, comment, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    for (directive, id, task, level, rating, comment, user) in [
        (CONCLUDED, ANONYMOUS, 0i32, "village", 2i32, "人手不够，雨季难以施工", None),
        (CONCLUDED, ANONYMOUS, 1, "village", 4, "", None),
        (CONCLUDED, NAMED, 0, "township", 5, "可以完成", Some(CADRE)),
        (CONCLUDED, NAMED, 1, "township", 1, "无勘测经费", Some(CADRE)),
        (OPEN, NAMED_ON_OPEN, 0, "township", 3, "", Some(CADRE)),
    ] {
        sqlx::query(response)
            .bind("35")
            .bind(directive)
            .bind(id)
            .bind(task)
            .bind(level)
            .bind(rating)
            .bind(comment)
            .bind(user)
            .execute(pool)
            .await
            .unwrap();
    }
    // Concluded afterwards, and the conclusion logged, as the version-7 code did.
    sqlx::query(
        "UPDATE directive_consultations SET concluded_at = $1, outcome = $2, response = $3 WHERE directive_id = $4",
    )
    .bind(time("2026-11-09T02:00:00.654321Z"))
    .bind("revise")
    .bind(RESPONSE)
    .bind(CONCLUDED)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE directive_consultations SET log_index = $1 WHERE directive_id = $2")
        .bind(41i64)
        .bind(CONCLUDED)
        .execute(pool)
        .await
        .unwrap();
}

fn round_1() -> Consultation {
    Consultation {
        directive: CONCLUDED,
        round: 1,
        opens_at: time("2026-11-03T00:00:00.000001Z"),
        closes_at: time("2026-11-08T00:00:00.5Z"),
        concluded_at: Some(time("2026-11-09T02:00:00.654321Z")),
        outcome: Some("revise".into()),
        response: RESPONSE.into(),
        log_index: Some(41),
    }
}

fn round_1_responses() -> Vec<ConsultationResponse> {
    vec![
        ConsultationResponse {
            id: ANONYMOUS,
            directive: CONCLUDED,
            round: 1,
            level: Level::Village,
            user: None,
            ratings: vec![rating(0, 2, "人手不够，雨季难以施工"), rating(1, 4, "")],
        },
        ConsultationResponse {
            id: NAMED,
            directive: CONCLUDED,
            round: 1,
            level: Level::Township,
            user: Some(CADRE),
            ratings: vec![rating(0, 5, "可以完成"), rating(1, 1, "无勘测经费")],
        },
    ]
}

#[tokio::test]
async fn version_7_consultations_become_round_1() {
    let Some(base) = server() else {
        assert!(
            std::env::var("TONGXIN_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TONGXIN_REQUIRE_POSTGRES=1 but no PostgreSQL server is configured (TONGXIN_TEST_POSTGRES or PGHOST)"
        );
        eprintln!("skipped: no PostgreSQL server (set TONGXIN_TEST_POSTGRES or run under pg_virtualenv)");
        return;
    };
    let admin = PgPool::connect_with(base.clone()).await.expect("connect to PostgreSQL");
    let schema = format!("upgrade_{}", std::process::id());
    // Unprepared (simple protocol): two statements in one string.
    admin
        .execute(AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")))
        .await
        .unwrap();
    let opts = base.options([("search_path", schema.as_str())]);
    {
        let pool = PgPoolOptions::new().max_connections(1).connect_with(opts.clone()).await.unwrap();
        version_7(&pool).await;
        version_7_rows(&pool).await;
        pool.close().await;
    }

    let s = PgStore::open_with(opts.clone()).await.unwrap();
    let ds = s.directives();

    // Opening applied 8 and only 8.
    {
        let pool = PgPoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
        let versions: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, name FROM schema_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        let expected: Vec<(i64, String)> = V7
            .iter()
            .map(|(v, n, _)| (*v, n.to_string()))
            .chain([(8, "consultation_rounds".to_string())])
            .collect();
        assert_eq!(versions, expected);
        pool.close().await;
    }

    // The directives themselves are untouched.
    let concluded = StoredDirective {
        id: CONCLUDED,
        issuing_body: BODY,
        body_unit: code("3501"),
        status: DirectiveStatus::Draft,
        document: json!({"id": "d", "title": "关于建成某某公路的通知", "tasks": [{"id": "road"}, {"id": "survey"}]}),
        targets: vec![code("350102001"), code("350102001001")],
        check: Some(json!({"tasks": [], "conflicts": []})),
        revision: 3,
        created_by: AUTHOR,
        created_at: time("2026-11-02T02:00:00.123456Z"),
        updated_at: time("2026-11-09T02:00:00.654321Z"),
    };
    assert_eq!(ds.directive(CONCLUDED).await.unwrap(), Some(concluded));

    // The concluded consultation is round 1 with every field.
    assert_eq!(ds.consultation(CONCLUDED).await.unwrap(), Some(round_1()));
    assert_eq!(ds.consultations(CONCLUDED).await.unwrap(), vec![round_1()]);
    // Its responses are round 1's, with their levels, ratings, comments and users.
    assert_eq!(ds.responses(CONCLUDED, 1).await.unwrap(), round_1_responses());
    assert_eq!(ds.responses(CONCLUDED, 2).await.unwrap(), vec![]);

    // The open one is round 1, still open: it takes responses and blocks round 2.
    let open_1 = Consultation {
        directive: OPEN,
        round: 1,
        opens_at: time("2026-11-03T00:00:00.000001Z"),
        closes_at: time("2026-12-01T00:00:00Z"),
        concluded_at: None,
        outcome: None,
        response: String::new(),
        log_index: None,
    };
    assert_eq!(ds.consultations(OPEN).await.unwrap(), vec![open_1.clone()]);
    let on_open = ConsultationResponse {
        id: NAMED_ON_OPEN,
        directive: OPEN,
        round: 1,
        level: Level::Township,
        user: Some(CADRE),
        ratings: vec![rating(0, 3, "")],
    };
    assert_eq!(ds.responses(OPEN, 1).await.unwrap(), vec![on_open.clone()]);
    conflict(ds.consultation_put(&Consultation { round: 2, ..open_1.clone() }).await);
    // A cadre still rates a task by name once in round 1…
    conflict(
        ds.response_put(
            &ConsultationResponse {
                id: Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0001),
                ..on_open
            },
            None,
        )
        .await,
    );
    // …and another cadre may still rate it.
    ds.response_put(
        &ConsultationResponse {
            id: Uuid::from_u128(0x4000_0000_0000_4000_8000_0000_0000_0002),
            directive: OPEN,
            round: 1,
            level: Level::Village,
            user: Some(OTHER_CADRE),
            ratings: vec![rating(0, 4, "")],
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(ds.responses(OPEN, 1).await.unwrap().len(), 2);

    // After the concluded round 1, round 2 opens (and only round 2).
    let round_2 = Consultation {
        directive: CONCLUDED,
        round: 2,
        opens_at: time("2026-11-10T00:00:00Z"),
        closes_at: time("2026-11-17T00:00:00Z"),
        concluded_at: None,
        outcome: None,
        response: String::new(),
        log_index: None,
    };
    conflict(ds.consultation_put(&Consultation { round: 1, ..round_2.clone() }).await);
    conflict(ds.consultation_put(&Consultation { round: 3, ..round_2.clone() }).await);
    ds.consultation_put(&round_2).await.unwrap();
    assert_eq!(ds.consultation(CONCLUDED).await.unwrap(), Some(round_2.clone()));
    assert_eq!(ds.consultations(CONCLUDED).await.unwrap(), vec![round_1(), round_2.clone()]);

    // The cadre who rated by name in round 1 rates the same task again in round 2, once.
    let named_2 = ConsultationResponse {
        id: Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0001),
        directive: CONCLUDED,
        round: 2,
        level: Level::Township,
        user: Some(CADRE),
        ratings: vec![rating(0, 4, "延期后可以完成")],
    };
    ds.response_put(&named_2, None).await.unwrap();
    conflict(
        ds.response_put(
            &ConsultationResponse {
                id: Uuid::from_u128(0x5000_0000_0000_4000_8000_0000_0000_0002),
                ..named_2.clone()
            },
            None,
        )
        .await,
    );
    // The nonce spent by the version-7 anonymous rating stays spent.
    let anonymous_2 = ConsultationResponse {
        id: Uuid::from_u128(0x0500_0000_0000_4000_8000_0000_0000_0003),
        directive: CONCLUDED,
        round: 2,
        level: Level::Village,
        user: None,
        ratings: vec![rating(0, 3, "")],
    };
    conflict(ds.response_put(&anonymous_2, Some(("35", NONCE))).await);
    ds.response_put(&anonymous_2, Some(("35", [8; 32]))).await.unwrap();

    assert_eq!(ds.responses(CONCLUDED, 2).await.unwrap(), vec![anonymous_2, named_2]);
    assert_eq!(ds.responses(CONCLUDED, 1).await.unwrap(), round_1_responses());

    // Round 2 concludes and is logged on its own; round 1 keeps its conclusion.
    ds.consultation_conclude(CONCLUDED, 2, "issue", "按期执行", time("2026-11-18T00:00:00Z")).await.unwrap();
    ds.consultation_logged(CONCLUDED, 2, 57).await.unwrap();
    let rounds = ds.consultations(CONCLUDED).await.unwrap();
    assert_eq!(rounds[0], round_1());
    assert_eq!(
        rounds[1],
        Consultation {
            concluded_at: Some(time("2026-11-18T00:00:00Z")),
            outcome: Some("issue".into()),
            response: "按期执行".into(),
            log_index: Some(57),
            ..round_2
        }
    );

    drop(s);
    admin.execute(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).await.unwrap();
}
