//! `verify_log` on logs built in memory with `tongxin_tlog` and written out
//! as static directories: an intact log verifies; every kind of tampering
//! (a flipped byte in a full or partial hash tile at each level, in an entry
//! bundle, a truncated or over-long tile, a missing tile or bundle, a
//! checkpoint signed by another key or with an altered root, an earlier
//! checkpoint the log is not consistent with) fails with an error naming
//! the right tile, bundle, level, position or entry index. Two property
//! tests: random sizes with one random flipped byte anywhere are always
//! caught (and the error names the tampered file), and random
//! earlier/later sizes are consistent unless the log forked before the
//! earlier size.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use tempfile::TempDir;
use tongxin_tlog::{
    Checkpoint, CheckpointError, NoteError, SignatureType, SignerKey, TILE_WIDTH, Tile, decode_bundle,
    new_tiles,
};
use tongxin_tlog_client::{DirFetch, Fetch, LogError, LogReport, StaticLog, verify_log};

const ORIGIN: &str = "log.tongxin.example/test";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [7; 32]).unwrap()
}

fn entries(n: u64, fork_at: u64) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let branch = if i >= fork_at { "fork" } else { "main" };
            format!("report commitment {i} {branch}").into_bytes()
        })
        .collect()
}

fn log_of(n: u64) -> StaticLog {
    StaticLog::build(&entries(n, u64::MAX), &key()).unwrap()
}

/// The size of the tlog-tiles spec example: full and partial tiles at
/// levels 0 and 1, a partial tile at level 2.
const BIG: u64 = 70_000;

fn big() -> &'static StaticLog {
    static LOG: OnceLock<StaticLog> = OnceLock::new();
    LOG.get_or_init(|| log_of(BIG))
}

fn write(log: &StaticLog) -> TempDir {
    let dir = TempDir::new().unwrap();
    log.write_to_dir(dir.path()).unwrap();
    dir
}

async fn verify(dir: &Path) -> Result<LogReport, LogError> {
    verify_log(&DirFetch::new(dir), key().verifier(), None, None, |_| {}).await
}

async fn verify_since(dir: &Path, since: &StaticLog) -> Result<LogReport, LogError> {
    verify_log(&DirFetch::new(dir), key().verifier(), None, Some(&since.checkpoint), |_| {}).await
}

fn flip(dir: &Path, path: &str, offset: usize) {
    let file = dir.join(path);
    let mut data = std::fs::read(&file).unwrap_or_else(|e| panic!("{path}: {e}"));
    data[offset] ^= 0x5a;
    std::fs::write(file, data).unwrap();
}

/// Byte offset of the first content byte of entry `position` in a bundle.
fn entry_offset(dir: &Path, bundle: &str, position: usize) -> usize {
    let data = std::fs::read(dir.join(bundle)).unwrap();
    let entries = decode_bundle(&data).unwrap();
    entries[..position].iter().map(|e| 2 + e.len()).sum::<usize>() + 2
}

fn err(result: Result<LogReport, LogError>) -> LogError {
    match result {
        Ok(r) => panic!("verification passed: {r:?}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn an_intact_log_verifies_and_every_tile_and_entry_is_counted() {
    for size in [0u64, 1, 2, 255, 256, 257, 511, 512, 1000, BIG] {
        let log = if size == BIG { big().clone() } else { log_of(size) };
        let dir = write(&log);
        let mut seen = Vec::new();
        let report = verify_log(&DirFetch::new(dir.path()), key().verifier(), None, None, |p| seen.push(p))
            .await
            .unwrap_or_else(|e| panic!("size {size}: {e}"));
        let tiles = new_tiles(0, size);
        assert_eq!(report.size, size);
        assert_eq!(report.root, log.store.root());
        assert_eq!(report.origin, ORIGIN);
        assert_eq!(report.tiles_checked, tiles.len() as u64, "size {size}");
        assert_eq!(report.bundles_checked, tiles.iter().filter(|t| t.level == 0).count() as u64);
        assert_eq!(report.entries_checked, size);
        assert_eq!(report.checkpoint_note, log.checkpoint.to_string());
        let files: u64 = log.files.values().map(|f| f.len() as u64).sum();
        assert_eq!(report.bytes_fetched, files, "size {size}");
        assert!(report.consistent_with.is_none());
        // Progress only grows and ends at the totals.
        let last = *seen.last().unwrap();
        assert_eq!((last.entries_checked, last.tiles_checked), (size, tiles.len() as u64));
        assert_eq!((last.entries_total, last.tiles_total), (size, tiles.len() as u64));
        assert!(seen.windows(2).all(
            |w| w[0].entries_checked <= w[1].entries_checked && w[0].tiles_checked <= w[1].tiles_checked
        ));
    }
}

#[tokio::test]
async fn a_flipped_byte_in_a_full_level_0_tile_names_the_tile_and_its_parent() {
    let dir = write(big());
    flip(dir.path(), "tile/0/005", 32 * 7 + 3);
    match err(verify(dir.path()).await) {
        LogError::TileMismatch { path, level, parent, position, computed, expected } => {
            assert_eq!(path, "tile/0/005");
            assert_eq!(level, 0);
            assert_eq!(parent.path(), "tile/1/000");
            assert_eq!(position, 5);
            assert_ne!(computed, expected);
        }
        other => panic!("wrong error: {other}"),
    }
    // Under the partial level-1 tile too.
    let dir = write(big());
    flip(dir.path(), "tile/0/260", 0);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::TileMismatch { path, parent, position: 4, .. }
            if path == "tile/0/260" && parent.path() == "tile/1/001.p/17"),
        "{e}"
    );
    assert!(e.to_string().contains("tile/0/260"), "{e}");
}

#[tokio::test]
async fn a_flipped_byte_in_a_full_level_1_tile_names_it() {
    let dir = write(big());
    flip(dir.path(), "tile/1/000", 32 * 200 + 31);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::TileMismatch { path, level: 1, parent, position: 0, .. }
            if path == "tile/1/000" && parent.path() == "tile/2/000.p/1"),
        "{e}"
    );
    assert_eq!(e.path(), Some("tile/1/000"));
}

#[tokio::test]
async fn a_flipped_byte_in_a_partial_tile_names_it_and_the_position() {
    // Level 0: the partial tile is checked against its bundle.
    let dir = write(big());
    flip(dir.path(), "tile/0/273.p/112", 32 * 10 + 5);
    match err(verify(dir.path()).await) {
        LogError::RightEdgeMismatch { path, level, position, below, found, computed } => {
            assert_eq!((path.as_str(), level, position), ("tile/0/273.p/112", 0, 10));
            assert_eq!(below, format!("entry {} in bundle tile/entries/273.p/112", 273 * 256 + 10));
            assert_ne!(found, computed);
        }
        other => panic!("wrong error: {other}"),
    }
    // Level 1: against its full child tile.
    let dir = write(big());
    flip(dir.path(), "tile/1/001.p/17", 32 * 3);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::RightEdgeMismatch { path, level: 1, position: 3, below, .. }
            if path == "tile/1/001.p/17" && below == "its child tile tile/0/259"),
        "{e}"
    );
    // The top tile.
    let dir = write(big());
    flip(dir.path(), "tile/2/000.p/1", 17);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::RightEdgeMismatch { path, level: 2, position: 0, below, .. }
            if path == "tile/2/000.p/1" && below == "its child tile tile/1/000"),
        "{e}"
    );
    // A log of one partial tile.
    let dir = write(&log_of(100));
    flip(dir.path(), "tile/0/000.p/100", 32 * 99 + 1);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::RightEdgeMismatch { path, position: 99, .. } if path == "tile/0/000.p/100")
    );
}

#[tokio::test]
async fn a_flipped_byte_in_an_entry_names_the_bundle_and_the_entry_index() {
    let dir = write(big());
    let offset = entry_offset(dir.path(), "tile/entries/005", 77);
    flip(dir.path(), "tile/entries/005", offset + 3);
    match err(verify(dir.path()).await) {
        LogError::EntryMismatch { bundle, tile, index, position, computed, expected } => {
            assert_eq!(bundle, "tile/entries/005");
            assert_eq!(tile, Tile::full(0, 5));
            assert_eq!((index, position), (5 * 256 + 77, 77));
            assert_ne!(computed, expected);
        }
        other => panic!("wrong error: {other}"),
    }
    // The partial bundle: its tile is authenticated by the root, so the
    // bundle is to blame.
    let dir = write(big());
    let offset = entry_offset(dir.path(), "tile/entries/273.p/112", 111);
    flip(dir.path(), "tile/entries/273.p/112", offset);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::EntryMismatch { bundle, index: 69_999, position: 111, .. }
            if bundle == "tile/entries/273.p/112"),
        "{e}"
    );
    assert!(e.to_string().contains("entry 69999"), "{e}");
}

#[tokio::test]
async fn a_broken_length_prefix_names_the_bundle() {
    let dir = write(big());
    flip(dir.path(), "tile/entries/100", 0);
    let e = err(verify(dir.path()).await);
    assert!(matches!(&e, LogError::Bundle { path, .. } if path == "tile/entries/100"), "{e}");
    // An extra entry appended.
    let dir = write(big());
    let file = dir.path().join("tile/entries/101");
    let mut data = std::fs::read(&file).unwrap();
    data.extend_from_slice(&[0, 1, b'x']);
    std::fs::write(&file, data).unwrap();
    let e = err(verify(dir.path()).await);
    assert!(matches!(&e, LogError::Bundle { path, .. } if path == "tile/entries/101"), "{e}");
    // A bundle missing its last entry.
    let dir = write(big());
    let offset = entry_offset(dir.path(), "tile/entries/102", 255);
    let file = dir.path().join("tile/entries/102");
    let data = std::fs::read(&file).unwrap();
    std::fs::write(&file, &data[..offset - 2]).unwrap();
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::BundleWidth { path, expected: 256, got: 255 } if path == "tile/entries/102"),
        "{e}"
    );
}

#[tokio::test]
async fn truncated_and_over_long_tiles_are_named() {
    for (path, len) in
        [("tile/0/100", 8191), ("tile/0/100", 8192 + 32), ("tile/1/000", 0), ("tile/0/273.p/112", 32 * 111)]
    {
        let dir = write(big());
        let file = dir.path().join(path);
        let mut data = std::fs::read(&file).unwrap();
        data.resize(len, 0);
        std::fs::write(&file, data).unwrap();
        let e = err(verify(dir.path()).await);
        assert!(
            matches!(&e, LogError::TileLength { path: p, len: l, .. } if p == path && *l == len),
            "{path} at {len}: {e}"
        );
    }
}

#[tokio::test]
async fn missing_tiles_and_bundles_are_named() {
    for path in ["tile/0/100", "tile/1/000", "tile/2/000.p/1", "tile/0/273.p/112", "tile/1/001.p/17"] {
        let dir = write(big());
        std::fs::remove_file(dir.path().join(path)).unwrap();
        let e = err(verify(dir.path()).await);
        assert!(matches!(&e, LogError::MissingTile { path: p, .. } if p == path), "{path}: {e}");
        assert!(e.to_string().contains(path), "{e}");
    }
    for path in ["tile/entries/100", "tile/entries/273.p/112"] {
        let dir = write(big());
        std::fs::remove_file(dir.path().join(path)).unwrap();
        let e = err(verify(dir.path()).await);
        assert!(matches!(&e, LogError::MissingBundle { path: p } if p == path), "{path}: {e}");
    }
    let dir = write(big());
    std::fs::remove_file(dir.path().join("checkpoint")).unwrap();
    assert!(matches!(err(verify(dir.path()).await), LogError::MissingCheckpoint { .. }));
}

#[tokio::test]
async fn a_deleted_partial_tile_is_read_from_the_full_one() {
    // tlog-tiles lets a log delete partial tiles once the full tile exists:
    // publish the files of a grown log, keep the old checkpoint.
    let grown = log_of(BIG + 200);
    let dir = write(big());
    grown.write_to_dir(dir.path()).unwrap();
    std::fs::write(dir.path().join("checkpoint"), big().checkpoint.to_string()).unwrap();
    std::fs::remove_file(dir.path().join("tile/0/273.p/112")).unwrap();
    std::fs::remove_file(dir.path().join("tile/entries/273.p/112")).unwrap();
    assert!(dir.path().join("tile/0/273").exists());
    let report = verify(dir.path()).await.unwrap();
    assert_eq!(report.size, BIG);
    // The full tile must then be right too.
    flip(dir.path(), "tile/0/273", 32 * 20);
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::RightEdgeMismatch { path, position: 20, .. } if path == "tile/0/273.p/112"),
        "{e}"
    );
}

#[tokio::test]
async fn checkpoints_signed_by_another_key_or_altered_fail() {
    let log = log_of(1000);
    // Another key with the same name.
    let other = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [8; 32]).unwrap();
    let dir = write(&log);
    let note = Checkpoint::new(ORIGIN, 1000, log.store.root()).unwrap().sign(&other).unwrap();
    std::fs::write(dir.path().join("checkpoint"), note.to_string()).unwrap();
    let e = err(verify(dir.path()).await);
    assert!(matches!(e, LogError::Checkpoint(CheckpointError::NotSignedByLog { .. })), "{e}");
    assert!(e.to_string().starts_with("checkpoint: "), "{e}");

    // The root altered under the log's signature.
    let dir = write(&log);
    let text = log.checkpoint.to_string();
    let root = log.store.root().to_base64();
    let mut altered_root = log.store.root();
    altered_root.0[0] ^= 1;
    std::fs::write(dir.path().join("checkpoint"), text.replace(&root, &altered_root.to_base64())).unwrap();
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(e, LogError::Checkpoint(CheckpointError::Note(NoteError::InvalidSignature { .. }))),
        "{e}"
    );

    // The log itself signs a root its tiles do not have.
    let dir = write(&log);
    let note = Checkpoint::new(ORIGIN, 1000, altered_root).unwrap().sign(&key()).unwrap();
    std::fs::write(dir.path().join("checkpoint"), note.to_string()).unwrap();
    let e = err(verify(dir.path()).await);
    assert!(
        matches!(&e, LogError::RootMismatch { size: 1000, tiles, .. }
        if tiles == &["tile/1/000.p/3".to_owned(), "tile/0/003.p/232".to_owned()]),
        "{e}"
    );

    // A size the tiles do not have.
    let dir = write(&log);
    let note = Checkpoint::new(ORIGIN, 1001, log.store.root()).unwrap().sign(&key()).unwrap();
    std::fs::write(dir.path().join("checkpoint"), note.to_string()).unwrap();
    let e = err(verify(dir.path()).await);
    assert!(matches!(&e, LogError::MissingTile { path, .. } if path == "tile/0/003.p/233"), "{e}");

    // Another origin than expected.
    let dir = write(&log);
    let e = err(verify_log(
        &DirFetch::new(dir.path()),
        key().verifier(),
        Some("elsewhere.example/log"),
        None,
        |_| {},
    )
    .await);
    assert!(matches!(e, LogError::Checkpoint(CheckpointError::WrongOrigin { .. })), "{e}");

    // Garbage.
    let dir = write(&log);
    std::fs::write(dir.path().join("checkpoint"), "not a note").unwrap();
    assert!(matches!(err(verify(dir.path()).await), LogError::CheckpointNote(_)));
}

#[tokio::test]
async fn an_empty_log_verifies_and_a_wrong_empty_root_does_not() {
    let log = log_of(0);
    let dir = write(&log);
    assert_eq!(verify(dir.path()).await.unwrap().size, 0);
    let note = Checkpoint::new(ORIGIN, 0, log_of(1).store.root()).unwrap().sign(&key()).unwrap();
    std::fs::write(dir.path().join("checkpoint"), note.to_string()).unwrap();
    assert!(matches!(err(verify(dir.path()).await), LogError::RootMismatch { size: 0, .. }));
}

#[tokio::test]
async fn an_earlier_checkpoint_must_be_a_prefix_of_the_log() {
    let dir = write(&log_of(3000));
    // Consistent earlier checkpoints, including at tile boundaries.
    for old in [0u64, 1, 255, 256, 1000, 1024, 2999, 3000] {
        let earlier = StaticLog::build(&entries(old, u64::MAX), &key()).unwrap();
        let report = verify_since(dir.path(), &earlier).await.unwrap_or_else(|e| panic!("{old}: {e}"));
        assert_eq!(report.consistent_with, Some((old, earlier.store.root())));
    }
    // A fork: the log served now rewrote entries from 500 on.
    let forked_earlier = StaticLog::build(&entries(1000, 500), &key()).unwrap();
    let e = err(verify_since(dir.path(), &forked_earlier).await);
    match &e {
        LogError::Inconsistent { old_size, old_root, computed, new_size } => {
            assert_eq!((*old_size, *new_size), (1000, 3000));
            assert_eq!(*old_root, forked_earlier.store.root());
            assert_eq!(*computed, log_of(1000).store.root());
        }
        other => panic!("wrong error: {other}"),
    }
    assert!(e.to_string().contains("rewritten"), "{e}");
    // The same size with another root.
    let same_size = StaticLog::build(&entries(3000, 2999), &key()).unwrap();
    assert!(matches!(err(verify_since(dir.path(), &same_size).await), LogError::Fork { size: 3000, .. }));
    // The log shrank.
    let larger = log_of(3001);
    assert!(matches!(
        err(verify_since(dir.path(), &larger).await),
        LogError::Shrunk { old_size: 3001, new_size: 3000 }
    ));
    // An earlier checkpoint not signed by the log key proves nothing.
    let other = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [8; 32]).unwrap();
    let foreign = StaticLog::build(&entries(1000, u64::MAX), &other).unwrap();
    assert!(matches!(
        err(verify_since(dir.path(), &foreign).await),
        LogError::Since(CheckpointError::NotSignedByLog { .. })
    ));
}

#[tokio::test]
async fn a_fork_across_levels_is_found() {
    // Old size above one level-1 tile, fork in the first level-0 tile.
    let dir = write(big());
    let forked = StaticLog::build(&entries(65_537, 3), &key()).unwrap();
    assert!(matches!(
        err(verify_since(dir.path(), &forked).await),
        LogError::Inconsistent { old_size: 65_537, .. }
    ));
    let fine = StaticLog::build(&entries(65_537, u64::MAX), &key()).unwrap();
    verify_since(dir.path(), &fine).await.unwrap();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Any single flipped byte in any published file is caught, and the
    /// error names the file.
    #[test]
    fn any_flipped_byte_is_caught(size in 1u64..3000, file in any::<prop::sample::Index>(),
                                  at in any::<prop::sample::Index>(), xor in 1u8..=255) {
        let log = log_of(size);
        let mut fetch = log.fetch();
        let path = file.get(&fetch.files.keys().cloned().collect::<Vec<_>>()).clone();
        let data = fetch.files.get_mut(&path).unwrap();
        let i = at.index(data.len());
        data[i] ^= xor;
        let result = runtime().block_on(verify_log(&fetch, key().verifier(), None, None, |_| {}));
        let e = match result {
            Ok(_) => panic!("flipping byte {i} of {path} (size {size}) was not caught"),
            Err(e) => e,
        };
        let message = e.to_string();
        prop_assert!(message.contains(&path), "size {}, {} byte {}: {}", size, path, i, message);
    }

    /// Earlier checkpoints of the same log are always consistent; of a log
    /// that forked before their size, never.
    #[test]
    fn consistency_holds_exactly_for_prefixes(new in 1u64..1500, old_frac in 0.0f64..=1.0, fork_frac in 0.0f64..1.0) {
        let old = ((new as f64) * old_frac) as u64;
        let current = log_of(new);
        let fetch = current.fetch();
        let earlier = log_of(old);
        let report = runtime()
            .block_on(verify_log(&fetch, key().verifier(), None, Some(&earlier.checkpoint), |_| {}))
            .unwrap();
        prop_assert_eq!(report.consistent_with, Some((old, earlier.store.root())));
        if old > 0 {
            let fork = ((old as f64) * fork_frac) as u64;
            let forked = StaticLog::build(&entries(old, fork), &key()).unwrap();
            let e = runtime()
                .block_on(verify_log(&fetch, key().verifier(), None, Some(&forked.checkpoint), |_| {}))
                .unwrap_err();
            let expected = matches!(e, LogError::Inconsistent { .. } | LogError::Fork { .. });
            prop_assert!(expected, "{}", e);
        }
    }
}

#[test]
fn the_fetcher_reads_exactly_the_published_files() {
    // A sanity check of the fixture against the spec example.
    let log = big();
    let tiles: Vec<String> =
        log.files.keys().filter(|p| !p.contains("entries") && *p != "checkpoint").cloned().collect();
    assert_eq!(tiles.len(), 273 + 4);
    assert!(tiles.contains(&"tile/1/001.p/17".to_owned()));
    assert_eq!(log.files["tile/0/000"].len(), usize::from(TILE_WIDTH) * 32);
    let fetch = log.fetch();
    let got = runtime().block_on(fetch.get("tile/2/000.p/1")).unwrap().unwrap();
    assert_eq!(got.len(), 32);
    assert!(runtime().block_on(fetch.get("tile/2/000")).unwrap().is_none());
}
