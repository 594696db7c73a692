//! The witness server over real HTTP on loopback: two provinces witnessing
//! each other's logs, a growing log cosigned step by step, forks and bad
//! proofs refused with the statuses `c2sp.org/tlog-witness` prescribes,
//! concurrent requests from one old size (exactly one wins), and a restart
//! that keeps the cosigned state and the key.

use std::path::Path;
use std::time::Duration;

use tongxin_tlog::witness::attach_cosignatures;
use tongxin_tlog::{
    AddCheckpointRequest, Checkpoint, MemoryHashStore, Note, SignatureType, SignerKey, VerifierKey,
    prove_consistency,
};
use tongxin_witness::{WitnessClientError, WitnessConfig, WitnessState, add_checkpoint};

const TIMEOUT: Duration = Duration::from_secs(5);

/// A province's log: its key and an in-memory tree.
struct Province {
    origin: String,
    key: SignerKey,
    tree: MemoryHashStore,
}

impl Province {
    fn new(origin: &str, entries: u64) -> Province {
        let key = SignerKey::generate(origin, SignatureType::Ed25519).unwrap();
        let tree = MemoryHashStore::from_entries((0..entries).map(|i| format!("{origin} report {i}")));
        Province { origin: origin.to_owned(), key, tree }
    }

    fn checkpoint(&self, size: u64) -> Note {
        Checkpoint::new(&self.origin, size, self.tree.root_at(size)).unwrap().sign(&self.key).unwrap()
    }

    fn request(&self, old: u64, size: u64) -> AddCheckpointRequest {
        let proof = prove_consistency(old, size, &self.tree).unwrap();
        AddCheckpointRequest { old_size: old, proof, checkpoint: self.checkpoint(size) }
    }
}

fn config(dir: &Path, name: &str, logs: &[&Province]) -> WitnessConfig {
    let mut text = format!("name {name}\n");
    for p in logs {
        text.push_str(&format!("log {}\n", p.key.verifier()));
    }
    std::fs::write(dir.join("witness.conf"), text).unwrap();
    WitnessConfig::load(&dir.join("witness.conf")).unwrap()
}

/// Starts the witness of `config` on a loopback port; returns its URL.
async fn start(config: &WitnessConfig) -> (WitnessState, String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = WitnessState::open(config).unwrap();
    let serving = state.clone();
    let task = tokio::spawn(async move { tongxin_witness::serve(serving, listener).await.unwrap() });
    (state, url, task)
}

/// Asks for a cosignature, checks it verifies as the witness's cosignature/v1
/// on the checkpoint, and returns the cosigned note.
async fn cosigned(url: &str, witness: &VerifierKey, request: &AddCheckpointRequest) -> Note {
    let sigs = add_checkpoint(url, request, TIMEOUT).await.unwrap();
    assert_eq!(sigs.len(), 1);
    let mut note = request.checkpoint.clone();
    let added = attach_cosignatures(&mut note, &sigs, std::slice::from_ref(witness)).unwrap();
    assert_eq!(added.len(), 1);
    let verified = note.verify(std::slice::from_ref(witness)).unwrap();
    assert_eq!(verified.verified[0].key.sig_type(), SignatureType::CosignatureV1);
    let t = verified.verified[0].timestamp.expect("a cosignature/v1 carries its time");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(t <= now && now - t < 60, "cosigned at {t}, now {now}");
    note
}

fn status(e: &WitnessClientError) -> Option<u16> {
    e.status()
}

#[tokio::test]
async fn two_provinces_witness_each_other_step_by_step() {
    let (gd, zj) =
        (Province::new("gd.tongxin.example/log", 300), Province::new("zj.tongxin.example/log", 40));
    let (gd_dir, zj_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Guangdong's witness watches Zhejiang's log, and the other way round.
    let (gd_witness, gd_url, _a) = start(&config(gd_dir.path(), "gd.tongxin.example/witness", &[&zj])).await;
    let (zj_witness, zj_url, _b) = start(&config(zj_dir.path(), "zj.tongxin.example/witness", &[&gd])).await;
    let (gd_key, zj_key) = (gd_witness.verifier().clone(), zj_witness.verifier().clone());
    assert_eq!(gd_key.sig_type(), SignatureType::CosignatureV1);

    // Guangdong's log grows 0 → 5 → 300, cosigned by Zhejiang's witness each step.
    for (old, size) in [(0, 5), (5, 300)] {
        let note = cosigned(&zj_url, &zj_key, &gd.request(old, size)).await;
        // The log's own signature and the witness's both verify on the note.
        let verified = note.verify(&[gd.key.verifier().clone(), zj_key.clone()]).unwrap();
        assert_eq!(verified.verified.len(), 2);
        let state = zj_witness.cosigned(&gd.origin).await.unwrap();
        assert_eq!((state.size, state.root), (size, gd.tree.root_at(size)));
    }
    // The same checkpoint again (old = size, no proof) is cosigned again.
    cosigned(&zj_url, &zj_key, &gd.request(300, 300)).await;
    // Zhejiang's log, cosigned by Guangdong's witness.
    cosigned(&gd_url, &gd_key, &zj.request(0, 40)).await;

    // Each witness knows only the other province's log: 404 for its own.
    let err = add_checkpoint(&gd_url, &gd.request(0, 5), TIMEOUT).await.unwrap_err();
    assert_eq!(status(&err), Some(404), "{err}");
    assert!(err.to_string().contains(&gd_url), "the error names the witness: {err}");
    assert!(gd_witness.cosigned(&gd.origin).await.is_none());
}

#[tokio::test]
async fn forks_bad_proofs_stale_sizes_and_bad_signatures_are_refused() {
    let gd = Province::new("gd.tongxin.example/log", 300);
    let dir = tempfile::tempdir().unwrap();
    let (witness, url, _task) = start(&config(dir.path(), "zj.tongxin.example/witness", &[&gd])).await;
    cosigned(&url, witness.verifier(), &gd.request(0, 5)).await;

    // A fork: same origin and key, same size 5, another tree → 409 with size 5.
    let mut fork = Province::new(&gd.origin, 0);
    fork.key = gd.key.clone();
    fork.tree = MemoryHashStore::from_entries((0..300).map(|i| format!("forged {i}")));
    let err = add_checkpoint(&url, &fork.request(5, 5), TIMEOUT).await.unwrap_err();
    assert!(matches!(&err, WitnessClientError::Conflict { size: 5, .. }), "{err}");
    // The fork grown to 300, with its own (valid for the fork) proof from 5 → 422.
    let err = add_checkpoint(&url, &fork.request(5, 300), TIMEOUT).await.unwrap_err();
    assert_eq!(status(&err), Some(422), "{err}");
    // The true checkpoint with a tampered proof → 422.
    let mut tampered = gd.request(5, 300);
    tampered.proof[0].0[0] ^= 1;
    let err = add_checkpoint(&url, &tampered, TIMEOUT).await.unwrap_err();
    assert_eq!(status(&err), Some(422), "{err}");
    // A stale old size → 409 naming the witness's size, so the client can retry.
    let err = add_checkpoint(&url, &gd.request(0, 300), TIMEOUT).await.unwrap_err();
    assert!(matches!(&err, WitnessClientError::Conflict { size: 5, .. }), "{err}");
    // An old size beyond the checkpoint → 400.
    let mut backwards = gd.request(5, 5);
    backwards.old_size = 6;
    let err = add_checkpoint(&url, &backwards, TIMEOUT).await.unwrap_err();
    assert_eq!(status(&err), Some(400), "{err}");
    // Signed by another key of the same name → 403.
    let mut impostor = Province::new(&gd.origin, 0);
    impostor.tree = gd.tree.clone();
    let err = add_checkpoint(&url, &impostor.request(5, 300), TIMEOUT).await.unwrap_err();
    assert_eq!(status(&err), Some(403), "{err}");
    // Nothing of that moved the witness.
    assert_eq!(witness.cosigned(&gd.origin).await.unwrap().size, 5);
    // The honest next step still works.
    cosigned(&url, witness.verifier(), &gd.request(5, 300)).await;
}

#[tokio::test]
async fn concurrent_requests_from_one_old_size_exactly_one_wins() {
    let gd = Province::new("gd.tongxin.example/log", 64);
    let dir = tempfile::tempdir().unwrap();
    let (witness, url, _task) = start(&config(dir.path(), "zj.tongxin.example/witness", &[&gd])).await;
    // Over HTTP: 16 clients all believe the witness is at 0 and offer sizes 1..=16.
    let mut tasks = Vec::new();
    for size in 1..=16u64 {
        let (url, request) = (url.clone(), gd.request(0, size));
        tasks.push(tokio::spawn(async move { (size, add_checkpoint(&url, &request, TIMEOUT).await) }));
    }
    let mut winners = Vec::new();
    let mut conflicts = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            (size, Ok(_)) => winners.push(size),
            (_, Err(WitnessClientError::Conflict { size, .. })) => conflicts.push(size),
            (_, Err(e)) => panic!("unexpected {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one request from old size 0 is cosigned: {winners:?}");
    assert!(conflicts.iter().all(|&s| s == winners[0]), "every loser learns the winner's size");
    assert_eq!(witness.cosigned(&gd.origin).await.unwrap().size, winners[0]);

    // In process, from one old size to many new ones, with the state file written each time.
    let from = winners[0];
    let mut tasks = Vec::new();
    for size in from + 1..=from + 32 {
        let (w, body) = (witness.clone(), gd.request(from, size).to_text());
        tasks.push(tokio::spawn(async move { w.add_checkpoint(body.as_bytes()).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.status(), 409, "{e}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_restart_keeps_the_cosigned_state_and_the_key() {
    let gd = Province::new("gd.tongxin.example/log", 300);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "zj.tongxin.example/witness", &[&gd]);
    let (witness, url, task) = start(&config).await;
    let key = witness.verifier().clone();
    cosigned(&url, &key, &gd.request(0, 5)).await;
    cosigned(&url, &key, &gd.request(5, 300)).await;
    // A second process on the same state file is refused while the first runs.
    let second = WitnessState::open(&config).err().expect("refused");
    assert!(second.to_string().contains("another witness process"), "{second}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&config.key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is private");
    }
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&config.state_file).unwrap()).unwrap();
    assert_eq!(state["logs"][&gd.origin]["size"], 300);
    assert_eq!(state["logs"][&gd.origin]["root"], gd.tree.root_at(300).to_base64());

    // Stop the server and restart it from the files.
    task.abort();
    drop(witness);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // The old server's connection tasks let go of the state (and its lock) shortly.
    let mut reopened = None;
    for _ in 0..100 {
        match WitnessState::open(&config) {
            Ok(s) => {
                reopened = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let witness = reopened.expect("the witness reopens once the old one is gone");
    assert_eq!(witness.verifier(), &key, "the key is kept");
    tokio::spawn(tongxin_witness::serve(witness.clone(), listener));
    let err = add_checkpoint(&url, &gd.request(0, 300), TIMEOUT).await.unwrap_err();
    assert!(matches!(err, WitnessClientError::Conflict { size: 300, .. }), "state kept: {err}");
    cosigned(&url, &key, &gd.request(300, 300)).await;
}

#[tokio::test]
async fn run_serves_a_configuration_and_unreachable_witnesses_are_errors() {
    let gd = Province::new("gd.tongxin.example/log", 10);
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), "zj.tongxin.example/witness", &[&gd]);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(tongxin_witness::run(config.clone(), listener));
    // The key is created by `run`; wait for it, then check cosignatures with it.
    let mut key = None;
    for _ in 0..100 {
        if let Ok(text) = std::fs::read_to_string(&config.key_file) {
            key = Some(SignerKey::parse(text.trim(), SignatureType::CosignatureV1).unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let key = key.expect("run creates the key").verifier().clone();
    assert_eq!(key.name(), "zj.tongxin.example/witness");
    cosigned(&url, &key, &gd.request(0, 10)).await;

    // Nobody listening: an HTTP error naming the witness.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = add_checkpoint(&dead, &gd.request(0, 10), TIMEOUT).await.unwrap_err();
    assert!(matches!(&err, WitnessClientError::Http { witness, .. } if *witness == dead), "{err}");
    // Listening but never answering: a timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let quiet = format!("http://{}", silent.local_addr().unwrap());
    let err = add_checkpoint(&quiet, &gd.request(0, 10), Duration::from_millis(200)).await.unwrap_err();
    assert!(matches!(err, WitnessClientError::Timeout { .. }), "{err}");
    drop(silent);
}
