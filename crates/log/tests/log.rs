//! The log service on a real SQLite store: appends come back with their indexes once
//! committed, checkpoints and receipts verify with the log's key, tiles equal those of an
//! independent in-memory tree, and a second writer is refused.

use std::sync::Arc;
use std::time::Duration;

use tongxin_log::{Log, LogConfig, LogError};
use tongxin_store::Store;
use tongxin_tlog::{
    Leaf, MemoryHashStore, Note, Receipt, ReceiptPolicy, SignatureType, SignerKey, Tile, verify_receipt,
};

const ORIGIN: &str = "tongxin.example/test-log";

async fn store(name: &str) -> Arc<dyn Store> {
    let dir = std::env::temp_dir().join(format!("tongxin-log-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Arc::new(tongxin_store_sqlite::SqliteStore::open(dir.join("log.sqlite").to_str().unwrap()).await.unwrap())
}

fn config(key: &SignerKey) -> LogConfig {
    let mut c = LogConfig::new(ORIGIN, key.clone());
    c.period = Duration::from_millis(30);
    c.lease = Duration::from_millis(600);
    c
}

fn entry(i: u64) -> Vec<u8> {
    format!("report-commitment-{i:06}").into_bytes()
}

#[tokio::test]
async fn concurrent_appends_get_every_index_once_and_receipts_verify() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let log = Log::open(store("appends").await, config(&key)).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..600u64 {
        let log = log.clone();
        tasks.push(tokio::spawn(async move { (i, log.append(entry(i)).await.unwrap()) }));
    }
    let mut by_index = vec![None; 600];
    for t in tasks {
        let (i, index) = t.await.unwrap();
        assert!(by_index[index as usize].replace(i).is_none(), "index {index} handed out twice");
    }
    let published = log.covering(599).await.unwrap();
    assert_eq!(published.size, 600);
    let note = Note::parse(published.note.as_bytes()).unwrap();
    note.verify(std::slice::from_ref(key.verifier())).unwrap();
    let policy = ReceiptPolicy::new(key.verifier().clone(), vec![], 0).unwrap();
    for index in [0u64, 1, 255, 256, 511, 599] {
        let receipt = log.receipt(index).await.unwrap();
        let text = receipt.to_text();
        let parsed = Receipt::parse(text.as_bytes()).unwrap();
        let original = by_index[index as usize].unwrap();
        verify_receipt(&parsed, Leaf::Entry(&entry(original)), &policy).unwrap();
        assert!(verify_receipt(&parsed, Leaf::Entry(b"something else"), &policy).is_err());
    }
    assert!(matches!(log.receipt(600).await, Err(LogError::NoSuchEntry { index: 600, size: 600 })));
}

#[tokio::test]
async fn tiles_and_bundles_equal_an_independent_tree() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let log = Log::open(store("tiles").await, config(&key)).await.unwrap();
    // Sequential appends, so the order is known.
    for i in 0..300u64 {
        assert_eq!(log.append(entry(i)).await.unwrap(), i);
    }
    assert_eq!(log.covering(299).await.unwrap().size, 300);
    let memory = MemoryHashStore::from_entries((0..300).map(entry));
    for path in ["tile/0/000", "tile/0/001.p/44", "tile/1/000.p/1"] {
        let tile = Tile::parse_path(path).unwrap();
        let (data, immutable) = log.tile(path).await.unwrap().unwrap_or_else(|| panic!("{path} served"));
        assert_eq!(data, tongxin_tlog::tile::read_tile_data(&tile, &memory).unwrap(), "{path}");
        assert_eq!(immutable, tile.is_full(), "{path}");
    }
    let (bundle, full) = log.tile("tile/entries/000").await.unwrap().unwrap();
    assert!(full);
    let entries = tongxin_tlog::decode_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 256);
    assert_eq!(entries[7], entry(7).as_slice());
    let (bundle, full) = log.tile("tile/entries/001.p/44").await.unwrap().unwrap();
    assert!(!full);
    assert_eq!(tongxin_tlog::decode_bundle(&bundle).unwrap()[43], entry(299).as_slice());
    // Beyond the published tree, or not a tile path: nothing.
    for path in
        ["tile/0/001", "tile/0/001.p/45", "tile/entries/001.p/45", "tile/0/002", "../etc/passwd", "tile/0/x"]
    {
        assert!(log.tile(path).await.unwrap().is_none(), "{path}");
    }
}

#[tokio::test]
async fn a_second_writer_is_refused_and_a_restart_continues_the_same_tree() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let store = store("writers").await;
    let first = Log::open(store.clone(), config(&key)).await.unwrap();
    for i in 0..10 {
        first.append(entry(i)).await.unwrap();
    }
    let before = first.covering(9).await.unwrap();
    // While the first writer lives (and renews its lease), a second one is refused.
    let second = Log::open(store.clone(), config(&key)).await;
    assert!(matches!(second, Err(LogError::NotWriter(_))), "a second writer must be refused");
    drop(first);
    // Once the first is gone its lease lapses and a restart takes over the same tree.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = Log::open(store.clone(), config(&key)).await.unwrap();
    assert_eq!(again.latest(), before, "the restart republishes nothing new");
    assert_eq!(again.append(entry(10)).await.unwrap(), 10);
    let after = again.covering(10).await.unwrap();
    let memory = MemoryHashStore::from_entries((0..11).map(entry));
    assert_eq!(after.root, tongxin_tlog::tree_hash(11, &memory).unwrap());
}

#[tokio::test]
async fn a_key_for_another_origin_is_refused() {
    let key = SignerKey::generate("other.example/log", SignatureType::Ed25519).unwrap();
    let err = Log::open(store("origin").await, config(&key)).await.err().expect("refused");
    assert!(matches!(err, LogError::Config(_)), "{err}");
}

#[tokio::test]
async fn the_static_copy_verifies_with_the_independent_verifier() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let log = Log::open(store("static").await, config(&key)).await.unwrap();
    let dir = std::env::temp_dir().join(format!("tongxin-log-mirror-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mirror = log.mirror(dir.clone());
    for round in 0..3u64 {
        let mut tasks = Vec::new();
        for i in 0..200 {
            let log = log.clone();
            tasks.push(tokio::spawn(async move { log.append(entry(round * 1000 + i)).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    }
    let size = log.covering(599).await.unwrap().size;
    // The copy catches up with the newest checkpoint.
    for _ in 0..100 {
        if std::fs::read_to_string(dir.join("checkpoint")).is_ok_and(|c| c.contains(&format!("\n{size}\n"))) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let fetch = tongxin_tlog_client::DirFetch::new(dir.clone());
    let report = tongxin_tlog_client::verify_log(&fetch, key.verifier(), None, None, |_| {}).await.unwrap();
    assert_eq!(report.size, 600);
    mirror.abort();
    let _ = std::fs::remove_dir_all(&dir);
}
