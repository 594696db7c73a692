//! Crash safety of the transparency log. The real binary appends under sustained load
//! and is killed with SIGKILL, again and again; after every restart each acknowledged
//! entry is present at its acknowledged index, every checkpoint published before is a
//! prefix of the final tree (so consistent with it), and `tongxin verify log` accepts the
//! log served over HTTP end to end.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use tongxin_store::Store;
use tongxin_tlog::{Checkpoint, MemoryHashStore, Note, SignatureType, SignerKey};

const ORIGIN: &str = "tongxin.test/faults";

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Default)]
struct Seen {
    acks: BTreeMap<u64, String>,
    checkpoints: Vec<(u64, String)>,
}

fn tongxin(db: &str, key: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tongxin"));
    c.args(["--db", db, "--log", "text"]).args(args).args([
        "--log-origin",
        ORIGIN,
        "--log-key",
        key.to_str().unwrap(),
        "--log-period-ms",
        "50",
        "--log-lease-secs",
        "1",
    ]);
    c
}

/// Reads `ack`/`checkpoint` lines of a running load into `seen`.
fn collect(child: &mut Child, seen: Arc<Mutex<Seen>>) -> std::thread::JoinHandle<()> {
    let out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            let mut s = seen.lock().unwrap();
            if let Some(rest) = line.strip_prefix("ack ") {
                let (index, entry) = rest.split_once(' ').expect("ack <index> <entry>");
                let index: u64 = index.parse().unwrap();
                if let Some(before) = s.acks.insert(index, entry.to_owned()) {
                    panic!("index {index} acknowledged twice: {before} and {entry}");
                }
            } else if let Some(rest) = line.strip_prefix("checkpoint ") {
                let (size, note) = rest.split_once(' ').expect("checkpoint <size> <note>");
                let note = base64::engine::general_purpose::STANDARD.decode(note).unwrap();
                s.checkpoints.push((size.parse().unwrap(), String::from_utf8(note).unwrap()));
            }
        }
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn sigkill_during_sustained_appends_loses_nothing_acknowledged() {
    let dir = Scratch(std::env::temp_dir().join(format!("tongxin-faults-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&dir.0);
    std::fs::create_dir_all(&dir.0).unwrap();
    let db = format!("sqlite://{}", dir.0.join("log.sqlite").display());
    let key = dir.0.join("log.key");
    let seen = Arc::new(Mutex::new(Seen::default()));

    const ROUNDS: usize = 5;
    for round in 0..ROUNDS {
        let acks_before = seen.lock().unwrap().acks.len();
        let mut child = tongxin(
            &db,
            &key,
            &["bench", "appends", "--concurrency", "48", "--prefix", &format!("r{round}")],
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the load");
        let reader = collect(&mut child, seen.clone());
        // Let it get going (a restart first waits out the killed writer's lease), then
        // kill it in the middle of appending.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let acked = seen.lock().unwrap().acks.len() - acks_before;
            if acked >= 300 + 150 * round {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: only {acked} appends acknowledged in 30 s");
            assert!(child.try_wait().unwrap().is_none(), "round {round}: the load exited early");
        }
        child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
    }

    let seen = seen.lock().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (size, entries) = runtime.block_on(async {
        let store =
            tongxin_store_sqlite::SqliteStore::open(db.strip_prefix("sqlite://").unwrap()).await.unwrap();
        let head = store.log_head(ORIGIN).await.unwrap().expect("the log exists");
        let entries = store.log_entries(ORIGIN, 0, head.size).await.unwrap();
        (head.size, entries)
    });
    assert!(seen.acks.len() >= 5 * 300, "{} acknowledged", seen.acks.len());
    for (index, entry) in &seen.acks {
        assert!(*index < size, "acknowledged index {index} is beyond the stored size {size}");
        assert_eq!(entries[*index as usize], entry.as_bytes(), "entry at acknowledged index {index}");
    }
    // Every checkpoint ever published is signed by the log key and is a prefix of the
    // final tree: the log only grew, across five crashes.
    let key_text = std::fs::read_to_string(&key).unwrap();
    let verifier = SignerKey::parse(key_text.trim(), SignatureType::Ed25519).unwrap().verifier().clone();
    let tree = MemoryHashStore::from_entries(entries.iter());
    assert!(seen.checkpoints.len() >= ROUNDS, "{} checkpoints seen", seen.checkpoints.len());
    for (size, note) in &seen.checkpoints {
        let note = Note::parse(note.as_bytes()).unwrap();
        note.verify(std::slice::from_ref(&verifier)).unwrap();
        let cp = Checkpoint::parse(note.text()).unwrap();
        assert_eq!(cp.size, *size);
        assert_eq!(cp.root, tongxin_tlog::tree_hash(cp.size, &tree).unwrap(), "checkpoint of size {size}");
    }

    // Served over HTTP after the last crash, the whole log verifies with the real tool.
    let port = free_port();
    let mut server = tongxin(&db, &key, &["serve", "--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_tongxin"))
        .args(["verify", "log", &format!("http://127.0.0.1:{port}/log"), "--log-key", &verifier.to_string()])
        .output()
        .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    assert!(
        out.status.success(),
        "tongxin verify log failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("{size} entries")), "{stdout}");
}
