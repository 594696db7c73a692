//! The SQLite store passes the shared conformance suite, on files and in memory.

use tongxin_store_sqlite::SqliteStore;

#[tokio::test]
async fn sqlite_file_store_conforms() {
    let dir = std::env::temp_dir().join(format!("tongxin-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let counter = std::sync::atomic::AtomicU32::new(0);
    tongxin_store_conformance::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.join(format!("db{n}.sqlite"));
        async move { SqliteStore::open(path.to_str().unwrap()).await.unwrap() }
    })
    .await;
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn reopening_keeps_data_and_schema() {
    let dir = std::env::temp_dir().join(format!("tongxin-reopen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("db.sqlite");
    {
        let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
        tongxin_store_conformance::load_fixture(&s).await;
    }
    let s = SqliteStore::open(path.to_str().unwrap()).await.unwrap();
    use tongxin_store::Store;
    assert_eq!(s.counts().await.unwrap().bodies, 4);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn sqlite_memory_store_conforms() {
    tongxin_store_conformance::run_all(|| async { SqliteStore::open("sqlite::memory:").await.unwrap() })
        .await;
}
