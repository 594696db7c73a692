//! scratch
#[tokio::test]
async fn builds() {
    let s = tongxin_store_sqlite::SqliteStore::open(":memory:").await.unwrap();
    let _app = tongxin_server::app(std::sync::Arc::new(s), tongxin_server::Config::default());
}
