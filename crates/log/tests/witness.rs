//! The log with real witnesses (`tongxin-witness` servers on loopback ports) and a 2-of-2
//! policy: cosignatures are attached, re-published and carried by receipts that pass
//! the policy; with a witness down the log keeps sequencing but its receipts carry one
//! cosignature and fail 2-of-2 until the witness is back; a witness that is ahead of what
//! the log remembers is caught up through its 409 answer; a cosignature that does not
//! verify under its witness's key is never attached.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tongxin_log::{Log, LogConfig, LogError, WitnessEndpoint};
use tongxin_store::Store;
use tongxin_tlog::{
    AddCheckpointRequest, Leaf, Note, ReceiptPolicy, SignatureType, SignerKey, VerifierKey,
    VerifyReceiptError, WitnessedLog, verify_receipt,
};
use tongxin_witness::WitnessState;

const ORIGIN: &str = "gd.tongxin.example/log";
const WAIT: Duration = Duration::from_secs(20);

async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
    let path = dir.path().join("log.sqlite");
    Arc::new(tongxin_store_sqlite::SqliteStore::open(path.to_str().unwrap()).await.unwrap())
}

/// A witness of `log_key`'s log (another province's), keeping its state in `dir`.
struct TestWitness {
    state: WitnessState,
    endpoint: WitnessEndpoint,
    _dir: tempfile::TempDir,
}

fn witness_state(name: &str, log_key: &VerifierKey, dir: &tempfile::TempDir) -> WitnessState {
    let logs = vec![WitnessedLog { origin: ORIGIN.into(), keys: vec![log_key.clone()] }];
    let key = SignerKey::generate(name, SignatureType::CosignatureV1).unwrap();
    WitnessState::new(key, logs, &dir.path().join("state.json")).unwrap()
}

/// Starts a witness server on `addr` (a free loopback port if `None`).
async fn start_witness(name: &str, log_key: &VerifierKey, addr: Option<SocketAddr>) -> TestWitness {
    let dir = tempfile::tempdir().unwrap();
    let state = witness_state(name, log_key, &dir);
    let url = serve_on(&state, addr.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())).await;
    TestWitness { endpoint: WitnessEndpoint { url, key: state.verifier().clone() }, state, _dir: dir }
}

async fn serve_on(state: &WitnessState, addr: SocketAddr) -> String {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(tongxin_witness::serve(state.clone(), listener));
    url
}

fn config(key: &SignerKey, witnesses: &[WitnessEndpoint], quorum: usize) -> LogConfig {
    let mut c = LogConfig::new(ORIGIN, key.clone());
    c.period = Duration::from_millis(30);
    c.lease = Duration::from_millis(600);
    c.witnesses = witnesses.to_vec();
    c.quorum = quorum;
    c.witness_timeout = Duration::from_secs(2);
    c
}

fn entry(i: u64) -> Vec<u8> {
    format!("report-commitment-{i:06}").into_bytes()
}

/// Appends `range` concurrently; returns (entry number, index) pairs.
async fn append_all(log: &Log, range: std::ops::Range<u64>) -> Vec<(u64, u64)> {
    let tasks: Vec<_> = range
        .map(|i| {
            let log = log.clone();
            tokio::spawn(async move { (i, log.append(entry(i)).await.unwrap()) })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn signature_lines(note: &str) -> usize {
    Note::parse(note.as_bytes()).unwrap().signatures().len()
}

/// Waits until the newest checkpoint has `lines` signature lines (log + cosignatures).
async fn until_signed_by(log: &Log, size: u64, lines: usize) {
    tokio::time::timeout(WAIT, async {
        loop {
            let p = log.latest();
            if p.size >= size && signature_lines(&p.note) == lines {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no checkpoint of size ≥ {size} with {lines} signatures: {:?}", log.latest()));
}

#[tokio::test]
async fn two_witnesses_cosign_and_receipts_pass_two_of_two() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let zj = start_witness("zj.tongxin.example/witness", key.verifier(), None).await;
    let hn = start_witness("hn.tongxin.example/witness", key.verifier(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(store(&dir).await, config(&key, &[zj.endpoint.clone(), hn.endpoint.clone()], 2))
        .await
        .unwrap();
    let policy =
        ReceiptPolicy::new(key.verifier().clone(), vec![zj.endpoint.key.clone(), hn.endpoint.key.clone()], 2)
            .unwrap();
    assert_eq!(log.witnesses(), &[zj.endpoint.key.clone(), hn.endpoint.key.clone()]);
    assert_eq!(log.quorum(), 2);
    // Several bursts, so the witnesses follow the log through several checkpoints, each
    // from the size they cosigned before.
    let mut all = Vec::new();
    for burst in 0..4u64 {
        let appended = append_all(&log, burst * 25..burst * 25 + 25).await;
        for &(i, index) in appended.iter().step_by(6) {
            let receipt = tokio::time::timeout(WAIT, log.witnessed_receipt(index)).await.unwrap().unwrap();
            let verified = verify_receipt(&receipt, Leaf::Entry(&entry(i)), &policy).unwrap();
            assert_eq!(verified.witnesses.len(), 2);
            let parsed = tongxin_tlog::Receipt::parse(receipt.to_text().as_bytes()).unwrap();
            verify_receipt(&parsed, Leaf::Entry(&entry(i)), &log.receipt_policy().unwrap()).unwrap();
        }
        all.extend(appended);
    }
    // The newest checkpoint is cosigned by both, and that is what is stored and served.
    until_signed_by(&log, 100, 3).await;
    let latest = log.latest();
    assert_eq!(log.latest_witnessed().unwrap(), latest);
    assert_eq!(log.history(1).await.unwrap()[0].note, latest.note, "the cosigned note is re-published");
    for (i, index) in all {
        if index % 17 == 0 {
            let receipt = log.receipt(index).await.unwrap();
            verify_receipt(&receipt, Leaf::Entry(&entry(i)), &policy).unwrap();
        }
    }
    for w in [&zj, &hn] {
        let state = w.state.cosigned(ORIGIN).await.unwrap();
        assert_eq!((state.size, state.root), (latest.size, latest.root));
    }
}

#[tokio::test]
async fn with_a_witness_down_the_log_sequences_and_receipts_fail_two_of_two_until_it_returns() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let zj = start_witness("zj.tongxin.example/witness", key.verifier(), None).await;
    // The second witness's address, with nobody listening yet.
    let hn_dir = tempfile::tempdir().unwrap();
    let hn_state = witness_state("hn.tongxin.example/witness", key.verifier(), &hn_dir);
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hn_addr = reserved.local_addr().unwrap();
    drop(reserved);
    let hn = WitnessEndpoint { url: format!("http://{hn_addr}"), key: hn_state.verifier().clone() };

    let dir = tempfile::tempdir().unwrap();
    let log =
        Log::open(store(&dir).await, config(&key, &[zj.endpoint.clone(), hn.clone()], 2)).await.unwrap();
    let two_of_two = log.receipt_policy().unwrap();
    let one_of_two =
        ReceiptPolicy::new(key.verifier().clone(), vec![zj.endpoint.key.clone(), hn.key.clone()], 1).unwrap();

    // The log keeps sequencing: every append is acknowledged promptly.
    let started = std::time::Instant::now();
    let appended = append_all(&log, 0..40).await;
    assert!(started.elapsed() < Duration::from_secs(5), "appends were held up: {:?}", started.elapsed());
    log.covering(39).await.unwrap();
    // Only the live witness's cosignature arrives.
    until_signed_by(&log, 40, 2).await;
    for &(i, index) in appended.iter().step_by(9) {
        let receipt = log.receipt(index).await.unwrap();
        let verified = verify_receipt(&receipt, Leaf::Entry(&entry(i)), &one_of_two).unwrap();
        assert_eq!(verified.witnesses.len(), 1);
        assert_eq!(verified.witnesses[0].0, zj.endpoint.key);
        let err = verify_receipt(&receipt, Leaf::Entry(&entry(i)), &two_of_two).unwrap_err();
        assert!(matches!(err, VerifyReceiptError::Quorum { need: 2, got: 1, .. }), "{err}");
    }
    assert!(log.latest_witnessed().is_none());
    assert!(tokio::time::timeout(Duration::from_millis(300), log.witnessed(0)).await.is_err());

    // The witness comes back: the log asks it again (after its back-off) and reaches 2-of-2.
    serve_on(&hn_state, hn_addr).await;
    let (i, index) = appended[0];
    let receipt = tokio::time::timeout(WAIT, log.witnessed_receipt(index)).await.unwrap().unwrap();
    verify_receipt(&receipt, Leaf::Entry(&entry(i)), &two_of_two).unwrap();
    let more = append_all(&log, 40..50).await;
    for (i, index) in more {
        let receipt = tokio::time::timeout(WAIT, log.witnessed_receipt(index)).await.unwrap().unwrap();
        verify_receipt(&receipt, Leaf::Entry(&entry(i)), &two_of_two).unwrap();
    }
}

#[tokio::test]
async fn a_witness_ahead_of_what_the_log_remembers_is_caught_up_through_409() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let zj = start_witness("zj.tongxin.example/witness", key.verifier(), None).await;
    let hn = start_witness("hn.tongxin.example/witness", key.verifier(), None).await;
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir).await;
    // A first run without witnesses; someone else (a monitor) shows its checkpoint to zj.
    let first = Log::open(store.clone(), config(&key, &[], 0)).await.unwrap();
    append_all(&first, 0..5).await;
    let published = first.covering(4).await.unwrap();
    let checkpoint = Note::parse(published.note.as_bytes()).unwrap();
    let request = AddCheckpointRequest { old_size: 0, proof: vec![], checkpoint };
    tongxin_witness::add_checkpoint(&zj.endpoint.url, &request, WAIT).await.unwrap();
    drop(first);
    tokio::time::sleep(Duration::from_millis(300)).await;

    // The restarted log knows nothing of zj's size: it asks from 0, learns 5 from the
    // 409, and asks again from 5 — for the stored checkpoint, then for the next ones.
    let log = Log::open(store, config(&key, &[zj.endpoint.clone(), hn.endpoint.clone()], 2)).await.unwrap();
    tokio::time::timeout(WAIT, log.witnessed(4)).await.unwrap().unwrap();
    let appended = append_all(&log, 5..12).await;
    let policy = log.receipt_policy().unwrap();
    for (i, index) in appended {
        let receipt = tokio::time::timeout(WAIT, log.witnessed_receipt(index)).await.unwrap().unwrap();
        verify_receipt(&receipt, Leaf::Entry(&entry(i)), &policy).unwrap();
    }
    assert_eq!(zj.state.cosigned(ORIGIN).await.unwrap().size, 12);
}

#[tokio::test]
async fn a_cosignature_that_does_not_verify_is_not_attached() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let zj = start_witness("zj.tongxin.example/witness", key.verifier(), None).await;
    // A "witness" whose answers are by its key but over other text.
    let liar = SignerKey::generate("liar.example/witness", SignatureType::CosignatureV1).unwrap();
    let signer = liar.clone();
    let app = axum::Router::new().route(
        "/add-checkpoint",
        axum::routing::post(move |_body: String| async move {
            let sig = tongxin_tlog::cosign(&signer, "something else\n", 1_700_000_000).unwrap();
            tongxin_tlog::witness::format_add_checkpoint_response(&[sig])
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let liar_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let liar = WitnessEndpoint { url: liar_url, key: liar.verifier().clone() };

    let dir = tempfile::tempdir().unwrap();
    let log =
        Log::open(store(&dir).await, config(&key, &[liar.clone(), zj.endpoint.clone()], 1)).await.unwrap();
    let appended = append_all(&log, 0..10).await;
    let (i, index) = appended[3];
    let receipt = tokio::time::timeout(WAIT, log.witnessed_receipt(index)).await.unwrap().unwrap();
    let policy =
        ReceiptPolicy::new(key.verifier().clone(), vec![liar.key.clone(), zj.endpoint.key.clone()], 1)
            .unwrap();
    let verified = verify_receipt(&receipt, Leaf::Entry(&entry(i)), &policy).unwrap();
    assert_eq!(verified.witnesses.len(), 1);
    assert_eq!(verified.witnesses[0].0, zj.endpoint.key);
    // The liar's line never reaches the note (it would make every receipt fail).
    let note = Note::parse(log.latest().note.as_bytes()).unwrap();
    assert!(note.signatures().iter().all(|s| s.name != liar.key.name()), "{}", log.latest().note);
}

#[tokio::test]
async fn witness_configurations_that_cannot_work_are_refused() {
    let key = SignerKey::generate(ORIGIN, SignatureType::Ed25519).unwrap();
    let cosigner = SignerKey::generate("w.example", SignatureType::CosignatureV1).unwrap();
    let w = WitnessEndpoint { url: "http://127.0.0.1:9".into(), key: cosigner.verifier().clone() };
    let not_a_cosigner = WitnessEndpoint { url: w.url.clone(), key: key.verifier().clone() };
    for (witnesses, quorum) in [(vec![w.clone()], 2), (vec![not_a_cosigner], 0), (vec![w.clone(), w], 1)] {
        let dir = tempfile::tempdir().unwrap();
        let err =
            Log::open(store(&dir).await, config(&key, &witnesses, quorum)).await.err().expect("refused");
        assert!(matches!(err, LogError::Config(_)), "{err}");
    }
}
