//! The real `tongxin` binary verifying a transparency log published as a
//! static directory and receipts from it: an intact log exits 0 with a
//! summary line; a tampered tile exits non-zero naming the tile; keys are
//! accepted as strings or `@FILE`; `--save-checkpoint` and `--since` chain
//! runs and catch a forked log; receipts pass with their entry and fail
//! with another; `bench log` prints its table.

use std::path::Path;
use std::process::{Command, Output};

use tempfile::TempDir;
use tongxin_tlog::{Checkpoint, MemoryHashStore, Receipt, SignatureType, SignerKey};
use tongxin_tlog_client::StaticLog;

const ORIGIN: &str = "log.tongxin.example/cli";

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [5; 32]).unwrap()
}

fn vkey() -> String {
    key().verifier().to_string()
}

fn entries(n: u64, fork_at: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("entry {i} {}", if i < fork_at { "a" } else { "b" }).into_bytes()).collect()
}

fn published(n: u64) -> (TempDir, StaticLog) {
    let log = StaticLog::build(&entries(n, u64::MAX), &key()).unwrap();
    let dir = TempDir::new().unwrap();
    log.write_to_dir(dir.path()).unwrap();
    (dir, log)
}

fn tongxin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tongxin"))
        .args(["--log", "text"])
        .args(args)
        .env("TONGXIN_DB", "sqlite://unused-by-verify.sqlite")
        .output()
        .expect("run tongxin")
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn verify_log_passes_on_an_intact_directory_and_names_a_tampered_tile() {
    let (dir, _) = published(1000);
    let o = tongxin(&["verify", "log", path(dir.path()), "--log-key", &vkey()]);
    assert!(o.status.success(), "{}", err(&o));
    let summary = out(&o);
    assert!(summary.starts_with("log OK: log.tongxin.example/cli has 1000 entries"), "{summary}");
    assert!(summary.contains("checked 5 tiles, 4 entry bundles and 1000 entries"), "{summary}");

    let file = dir.path().join("tile/0/001");
    let mut data = std::fs::read(&file).unwrap();
    data[100] ^= 0x01;
    std::fs::write(&file, data).unwrap();
    let o = tongxin(&["verify", "log", path(dir.path()), "--log-key", &vkey()]);
    assert_eq!(o.status.code(), Some(1), "{}", out(&o));
    let message = err(&o);
    assert!(message.contains("tile tile/0/001 (level 0) hashes to"), "{message}");
    assert!(message.contains("its parent tile tile/1/000.p/3 says"), "{message}");
    assert!(out(&o).is_empty());

    // A missing bundle.
    std::fs::remove_file(dir.path().join("tile/entries/002")).unwrap();
    let (dir2, _) = published(1000);
    std::fs::remove_file(dir2.path().join("tile/entries/002")).unwrap();
    let o = tongxin(&["verify", "log", path(dir2.path()), "--log-key", &vkey()]);
    assert!(!o.status.success());
    assert!(err(&o).contains("entry bundle tile/entries/002 is missing"), "{}", err(&o));
}

#[test]
fn keys_from_files_save_checkpoint_and_since() {
    let scratch = TempDir::new().unwrap();
    let key_file = scratch.path().join("log.vkey");
    std::fs::write(&key_file, format!("{}\n", vkey())).unwrap();
    let key_arg = format!("@{}", path(&key_file));
    let saved = scratch.path().join("seen.checkpoint");

    let (old_dir, _) = published(600);
    let o = tongxin(&[
        "verify",
        "log",
        path(old_dir.path()),
        "--log-key",
        &key_arg,
        "--save-checkpoint",
        path(&saved),
    ]);
    assert!(o.status.success(), "{}", err(&o));

    // The log grew: consistent with what was seen.
    let (new_dir, _) = published(1500);
    let o = tongxin(&["verify", "log", path(new_dir.path()), "--log-key", &key_arg, "--since", path(&saved)]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("consistent with the earlier checkpoint of 600 entries"), "{}", out(&o));

    // A forked log (entries from 300 on rewritten) is not.
    let forked = StaticLog::build(&entries(1500, 300), &key()).unwrap();
    let forked_dir = TempDir::new().unwrap();
    forked.write_to_dir(forked_dir.path()).unwrap();
    let o =
        tongxin(&["verify", "log", path(forked_dir.path()), "--log-key", &key_arg, "--since", path(&saved)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("the log was rewritten: its first 600 entries now hash to"), "{}", err(&o));

    // Wrong keys are explained.
    let other = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [6; 32]).unwrap();
    let o = tongxin(&["verify", "log", path(new_dir.path()), "--log-key", &other.verifier().to_string()]);
    assert!(err(&o).contains("checkpoint: checkpoint is not signed by the log key"), "{}", err(&o));
    let o = tongxin(&["verify", "log", path(new_dir.path()), "--log-key", "nonsense"]);
    assert!(err(&o).contains("--log-key"), "{}", err(&o));
    let o = tongxin(&["verify", "log", "https://log.example/", "--log-key", &vkey()]);
    assert!(err(&o).contains("TLS-terminating proxy"), "{}", err(&o));
}

#[test]
fn verify_receipt_with_and_without_the_entry() {
    let scratch = TempDir::new().unwrap();
    let store = MemoryHashStore::from_entries(entries(100, u64::MAX));
    let note = Checkpoint::new(ORIGIN, 100, store.root()).unwrap().sign(&key()).unwrap();
    let receipt = Receipt::build(42, note, &store, None).unwrap();
    let receipt_file = scratch.path().join("r.tlog-proof");
    std::fs::write(&receipt_file, receipt.to_text()).unwrap();
    let entry_file = scratch.path().join("entry");
    std::fs::write(&entry_file, &entries(100, u64::MAX)[42]).unwrap();
    let wrong_file = scratch.path().join("wrong");
    std::fs::write(&wrong_file, &entries(100, u64::MAX)[43]).unwrap();

    let r = path(&receipt_file);
    let o = tongxin(&["verify", "receipt", r, "--log-key", &vkey(), "--entry", path(&entry_file)]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).starts_with("receipt OK: entry 42 is in the log log.tongxin.example/cli"), "{}", out(&o));

    let o = tongxin(&["verify", "receipt", r, "--log-key", &vkey(), "--entry", path(&wrong_file)]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("inclusion proof for index 42"), "{}", err(&o));

    let o = tongxin(&["verify", "receipt", r, "--log-key", &vkey()]);
    assert!(o.status.success(), "{}", err(&o));
    assert!(out(&o).contains("inclusion NOT checked"), "{}", out(&o));

    let witness = SignerKey::from_seed("w.example", SignatureType::CosignatureV1, [9; 32]).unwrap();
    let o = tongxin(&[
        "verify",
        "receipt",
        r,
        "--log-key",
        &vkey(),
        "--witness-key",
        &witness.verifier().to_string(),
        "--entry",
        path(&entry_file),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(err(&o).contains("0 valid witness cosignatures (none), policy needs 1"), "{}", err(&o));
}

#[test]
fn bench_log_prints_its_table() {
    let o = tongxin(&["bench", "log", "--size", "3000", "--proofs", "500", "--hashes", "10000"]);
    assert!(o.status.success(), "{}", err(&o));
    let table = out(&o);
    for row in [
        "SHA-256 interior node hash",
        "append, batches of 1000",
        "inclusion proof generation",
        "consistency proof generation",
        "inclusion proof verification",
        "consistency proof verification",
        "verify log end to end",
    ] {
        assert!(table.contains(row), "{row} missing in\n{table}");
    }
}
