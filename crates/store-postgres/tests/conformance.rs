//! The PostgreSQL store passes the shared conformance suite.
//!
//! Needs a server: set `TONGXIN_TEST_POSTGRES` to a `postgres://` URL, or run under
//! `pg_virtualenv` (which exports `PGHOST`, `PGPORT`, …). Each check gets its own schema.
//! Without a server the test says so and passes, unless `TONGXIN_REQUIRE_POSTGRES=1`
//! (as in CI), where a missing server is a failure.

use sqlx::postgres::PgConnectOptions;
use tongxin_store_postgres::PgStore;

fn server() -> Option<PgConnectOptions> {
    if let Ok(url) = std::env::var("TONGXIN_TEST_POSTGRES") {
        return Some(url.parse().expect("TONGXIN_TEST_POSTGRES is a postgres:// URL"));
    }
    // PgConnectOptions::new() reads PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
    std::env::var("PGHOST").ok().map(|_| PgConnectOptions::new())
}

#[tokio::test]
async fn postgres_store_conforms() {
    let Some(base) = server() else {
        assert!(
            std::env::var("TONGXIN_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TONGXIN_REQUIRE_POSTGRES=1 but no PostgreSQL server is configured (TONGXIN_TEST_POSTGRES or PGHOST)"
        );
        eprintln!("skipped: no PostgreSQL server (set TONGXIN_TEST_POSTGRES or run under pg_virtualenv)");
        return;
    };
    let admin = sqlx::PgPool::connect_with(base.clone()).await.expect("connect to PostgreSQL");
    let counter = std::sync::atomic::AtomicU32::new(0);
    let run = std::process::id();
    tongxin_store_conformance::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let schema = format!("conformance_{run}_{n}");
        let admin = admin.clone();
        let base = base.clone();
        async move {
            use sqlx::Executor;
            // Unprepared (simple protocol): two statements in one string.
            admin
                .execute(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
                )))
                .await
                .unwrap();
            PgStore::open_with(base.options([("search_path", schema.as_str())])).await.unwrap()
        }
    })
    .await;
}
