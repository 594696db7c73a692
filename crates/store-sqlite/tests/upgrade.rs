//! Upgrading a database that already holds directives: migration 0008 (consultation
//! rounds) on a file at schema version 7 keeps every consultation and response as round 1,
//! and the upgraded database takes a second round.
//!
//! The version-7 database is built by hand: migrations 1..=7 applied and recorded in
//! `schema_migrations` as `migrate.rs` records them, then the rows of
//! [`tongxin_store_conformance::upgrade::v7`] spelled exactly as the version-7 code wrote
//! them (ids as 16-byte blobs, times as fixed-width RFC 3339 text with six fractional
//! digits, JSON documents as text). Opening the store applies 8 only; what it must make of
//! the rows is checked by [`v7::check_upgraded`].

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Executor, SqlitePool};
use tongxin_store::Store;
use tongxin_store_conformance::upgrade::v7;
use tongxin_store_sqlite::SqliteStore;
use uuid::Uuid;

/// A file database at schema version 7, as `migrate.rs` would have left it.
async fn version_7(pool: &SqlitePool) {
    pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .await
        .unwrap();
    for (version, name, sql) in v7_migrations() {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        tx.execute(AssertSqlSafe(*sql)).await.unwrap();
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, datetime('now'))",
        )
        .bind(version)
        .bind(*name)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

/// The migrations of schema version 7: those up to 7, as the store lists them.
fn v7_migrations() -> impl Iterator<Item = &'static (i64, &'static str, &'static str)> {
    tongxin_store_sqlite::MIGRATIONS.iter().filter(|(version, _, _)| *version <= 7)
}

fn blob(id: Uuid) -> Vec<u8> {
    id.as_bytes().to_vec()
}

/// Rows in the version-7 shape, as the version-7 `directives.rs` wrote them.
async fn version_7_rows(pool: &SqlitePool) {
    let directive = "INSERT INTO directives (province, id, issuing_body, body_unit, status, document, targets, \
                     check_report, revision, created_by, created_at, updated_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    for (id, status, check, revision, updated) in v7::DIRECTIVES {
        sqlx::query(directive)
            .bind(v7::PROVINCE)
            .bind(blob(id))
            .bind(blob(v7::BODY))
            .bind(v7::BODY_UNIT)
            .bind(status)
            .bind(v7::DOCUMENT)
            .bind(v7::TARGETS)
            .bind(check)
            .bind(i64::from(revision))
            .bind(blob(v7::AUTHOR))
            .bind(v7::CREATED_AT)
            .bind(updated)
            .execute(pool)
            .await
            .unwrap();
    }
    let consultation = "INSERT INTO directive_consultations (province, directive_id, opens_at, closes_at, \
                        concluded_at, outcome, response, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    for (id, closes) in v7::CONSULTATIONS {
        sqlx::query(consultation)
            .bind(v7::PROVINCE)
            .bind(blob(id))
            .bind(v7::OPENS_AT)
            .bind(closes)
            .bind(None::<String>)
            .bind(None::<String>)
            .bind("")
            .bind(None::<i64>)
            .execute(pool)
            .await
            .unwrap();
    }
    // The anonymous rating spent its token's nonce in the same transaction.
    sqlx::query("INSERT INTO voice_spent (province, nonce) VALUES (?, ?)")
        .bind(v7::PROVINCE)
        .bind(&v7::NONCE[..])
        .execute(pool)
        .await
        .unwrap();
    let response = "INSERT INTO directive_responses (province, directive_id, response_id, task_index, level, \
                    rating, comment, user_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
    for (directive, id, task, level, rating, comment, user) in v7::RATINGS {
        sqlx::query(response)
            .bind(v7::PROVINCE)
            .bind(blob(directive))
            .bind(blob(id))
            .bind(i64::from(task))
            .bind(level)
            .bind(i64::from(rating))
            .bind(comment)
            .bind(user.map(blob))
            .execute(pool)
            .await
            .unwrap();
    }
    // Concluded afterwards, and the conclusion logged, as the version-7 code did.
    sqlx::query(
        "UPDATE directive_consultations SET concluded_at = ?, outcome = ?, response = ? WHERE directive_id = ?",
    )
    .bind(v7::CONCLUDED_AT)
    .bind(v7::OUTCOME)
    .bind(v7::RESPONSE)
    .bind(blob(v7::CONCLUDED))
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("UPDATE directive_consultations SET log_index = ? WHERE directive_id = ?")
        .bind(v7::LOG_INDEX)
        .bind(blob(v7::CONCLUDED))
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn version_7_consultations_become_round_1() {
    let dir = std::env::temp_dir().join(format!("tongxin-upgrade-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v7.sqlite");
    std::fs::remove_file(&path).ok();
    {
        let opts = SqliteConnectOptions::new().filename(&path).create_if_missing(true);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(opts).await.unwrap();
        version_7(&pool).await;
        version_7_rows(&pool).await;
        pool.close().await;
    }

    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();

    // Opening applied every later migration, in order.
    {
        let pool = SqlitePool::connect_with(SqliteConnectOptions::new().filename(&path).read_only(true))
            .await
            .unwrap();
        let versions: Vec<(i64, String)> =
            sqlx::query_as("SELECT version, name FROM schema_migrations ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        let expected: Vec<(i64, String)> =
            tongxin_store_sqlite::MIGRATIONS.iter().map(|(v, n, _)| (*v, n.to_string())).collect();
        assert_eq!(versions, expected);
        // 9 dropped the department index, which no query used.
        let indexes: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name = 'demands'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(indexes, ["demands_start"]);
        pool.close().await;
    }

    v7::check_upgraded(s.directives()).await;

    drop(s);
    std::fs::remove_dir_all(&dir).ok();
}
