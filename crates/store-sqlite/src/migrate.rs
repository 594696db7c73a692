//! Schema migrations, applied in order inside one transaction each.
//!
//! Hand-written rather than `sqlx::migrate!` because that macro needs the `macros`
//! feature (and with it sqlx's whole compile-time query machinery) for ten lines of work.
//! The migration text is compiled into the binary, so a fresh machine needs no files.

use sqlx::{AssertSqlSafe, Executor, SqlitePool};
use tongxin_store::{Result, StoreError};

use crate::rows::db;

/// Every migration, (version, name, SQL), in order; upgrade tests apply a prefix of it to
/// build a database at an older schema version.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "ledger", include_str!("../migrations/0001_ledger.sql")),
    (2, "log", include_str!("../migrations/0002_log.sql")),
    (3, "demand_flags", include_str!("../migrations/0003_demand_flags.sql")),
    (4, "voice", include_str!("../migrations/0004_voice.sql")),
    (5, "voice_event_content", include_str!("../migrations/0005_voice_event_content.sql")),
    (6, "demand_keys", include_str!("../migrations/0006_demand_keys.sql")),
    (7, "directives", include_str!("../migrations/0007_directives.sql")),
    (8, "consultation_rounds", include_str!("../migrations/0008_consultation_rounds.sql")),
    (9, "no_department_index", include_str!("../migrations/0009_no_department_index.sql")),
];

pub async fn run(pool: &SqlitePool) -> Result<()> {
    pool.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        .await
        .map_err(db)?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
        .fetch_all(pool)
        .await
        .map_err(db)?;
    if let Some(newest) = applied.last()
        && *newest > MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
    {
        return Err(StoreError::Database(format!(
            "the database has schema version {newest}, newer than this tongxin knows; upgrade tongxin"
        )));
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        tx.execute(AssertSqlSafe(*sql)).await.map_err(db)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, datetime('now'))",
        )
        .bind(version)
        .bind(*name)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
    }
    Ok(())
}
