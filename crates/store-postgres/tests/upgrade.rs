//! Upgrading a database that already holds directives: migration 0008 (consultation
//! rounds) on a schema at version 7 keeps every consultation and response as round 1, and
//! the upgraded schema takes a second round.
//!
//! The version-7 schema is built by hand in a fresh schema: migrations 1..=7 applied and
//! recorded in `schema_migrations` as `migrate.rs` records them (PostgreSQL has no 6),
//! then the rows of [`tongxin_store_conformance::upgrade::v7`] written with the binds the
//! version-7 code used (UUIDs, `timestamptz`, JSON text cast to `jsonb`). Opening the store
//! applies 8 only; what it must make of the rows is checked by [`v7::check_upgraded`].
//!
//! Needs a server: set `TONGXIN_TEST_POSTGRES` to a `postgres://` URL, or run under
//! `pg_virtualenv` (which exports `PGHOST`, `PGPORT`, …). Without a server the test says so
//! and passes, unless `TONGXIN_REQUIRE_POSTGRES=1` (as in CI), where a missing server is a
//! failure.

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool};
use tongxin_store::Store;
use tongxin_store_conformance::upgrade::{time, v7};
use tongxin_store_postgres::PgStore;

/// The migrations of schema version 7: those up to 7, as the store lists them.
fn v7_migrations() -> impl Iterator<Item = &'static (i64, &'static str, &'static str)> {
    tongxin_store_postgres::MIGRATIONS.iter().filter(|(version, _, _)| *version <= 7)
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
    for (version, name, sql) in v7_migrations() {
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
    for (id, status, check, revision, updated) in v7::DIRECTIVES {
        sqlx::query(directive)
            .bind(v7::PROVINCE)
            .bind(id)
            .bind(v7::BODY)
            .bind(v7::BODY_UNIT)
            .bind(status)
            .bind(v7::DOCUMENT)
            .bind(v7::TARGETS)
            .bind(check)
            .bind(revision)
            .bind(v7::AUTHOR)
            .bind(time(v7::CREATED_AT))
            .bind(time(updated))
            .execute(pool)
            .await
            .unwrap();
    }
    let consultation = "INSERT INTO directive_consultations (province, directive_id, opens_at, closes_at, \
                        concluded_at, outcome, response, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    for (id, closes) in v7::CONSULTATIONS {
        sqlx::query(consultation)
            .bind(v7::PROVINCE)
            .bind(id)
            .bind(time(v7::OPENS_AT))
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
        .bind(v7::PROVINCE)
        .bind(&v7::NONCE[..])
        .execute(pool)
        .await
        .unwrap();
    let response = "INSERT INTO directive_responses (province, directive_id, response_id, task_index, level, \
                    rating, comment, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    for (directive, id, task, level, rating, comment, user) in v7::RATINGS {
        sqlx::query(response)
            .bind(v7::PROVINCE)
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
    .bind(time(v7::CONCLUDED_AT))
    .bind(v7::OUTCOME)
    .bind(v7::RESPONSE)
    .bind(v7::CONCLUDED)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE directive_consultations SET log_index = $1 WHERE directive_id = $2")
        .bind(v7::LOG_INDEX)
        .bind(v7::CONCLUDED)
        .execute(pool)
        .await
        .unwrap();
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

    // Opening applied 8 and only 8.
    {
        let pool = PgPoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
        let versions: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, name FROM schema_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        let expected: Vec<(i64, String)> = v7_migrations()
            .map(|(v, n, _)| (*v, n.to_string()))
            .chain([(8, "consultation_rounds".to_string())])
            .collect();
        assert_eq!(versions, expected);
        pool.close().await;
    }

    v7::check_upgraded(s.directives()).await;

    drop(s);
    admin.execute(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE"))).await.unwrap();
}
