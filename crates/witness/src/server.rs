//! The witness HTTP server: `POST /add-checkpoint` exactly as
//! `c2sp.org/tlog-witness` specifies, over the pure [`Witness`] of
//! `tongxin-tlog`, with the latest cosigned checkpoint of every log kept in a
//! JSON state file.
//!
//! The spec's rollback race ("checking the old size against the latest
//! checkpoint and persisting the new checkpoint must be performed
//! atomically") is closed by one mutex held from reading the stored state,
//! through the decision, to the durable write (temporary file, fsync,
//! rename, fsync of the directory) and the update in memory; the answer is
//! sent only after that ("The witness MUST persist the new checkpoint before
//! responding"). One mutex for all logs rather than one per log, because all
//! logs share the one state file; a witness serves a handful of logs, each
//! of which asks about once per batch. A lock file next to the state file
//! keeps a second witness process from using the same state.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use tongxin_tlog::witness::{CONFLICT_CONTENT_TYPE, MAX_REQUEST_SIZE};
use tongxin_tlog::{
    Hash, SignatureType, SignerKey, TreeState, VerifierKey, Witness, WitnessError, WitnessedLog,
};

use crate::config::WitnessConfig;

/// Content type of the 200 response (the spec names none; the body is
/// note signature lines, UTF-8 text).
pub const RESPONSE_CONTENT_TYPE: &str = "text/plain; charset=utf-8";

/// Why the witness cannot start or run.
#[derive(Debug, thiserror::Error)]
pub enum WitnessServerError {
    #[error("witness key file {path}: {message}")]
    Key { path: String, message: String },
    #[error("witness state file {path}: {message}")]
    State { path: String, message: String },
    #[error("witness configuration: {0}")]
    Config(String),
    #[error("serving the witness: {0}")]
    Serve(std::io::Error),
}

/// A running witness's state: its key, the logs it witnesses, and what it
/// last cosigned for each. Cheap to clone.
#[derive(Clone)]
pub struct WitnessState {
    inner: Arc<Inner>,
}

struct Inner {
    witness: Witness,
    state_file: PathBuf,
    /// The latest cosigned checkpoint per origin, as persisted.
    cosigned: Mutex<BTreeMap<String, Stored>>,
    /// Held for the life of the process: one witness per state file.
    _lock: File,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stored {
    state: TreeState,
    /// When it was cosigned (Unix seconds), for operators reading the file.
    at: u64,
}

/// The state file's JSON.
#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    logs: BTreeMap<String, StateEntry>,
}

#[derive(Serialize, Deserialize)]
struct StateEntry {
    size: u64,
    /// Base64, as in checkpoints.
    root: String,
    cosigned_at: u64,
}

const STATE_VERSION: u32 = 1;

impl WitnessState {
    /// Opens the witness of `config`: loads its key (creating it on first
    /// run, mode 0600) and its state file (empty if it does not exist yet).
    pub fn open(config: &WitnessConfig) -> Result<WitnessState, WitnessServerError> {
        let key = load_or_create_key(&config.key_file, &config.name)?;
        WitnessState::new(key, config.logs.clone(), &config.state_file)
    }

    /// A witness with the given cosigner key and logs, keeping its state in
    /// `state_file`.
    pub fn new(
        key: SignerKey,
        logs: Vec<WitnessedLog>,
        state_file: &Path,
    ) -> Result<WitnessState, WitnessServerError> {
        let witness = Witness::new(key, logs).map_err(|e| WitnessServerError::Config(e.to_string()))?;
        let state_err =
            |message: String| WitnessServerError::State { path: state_file.display().to_string(), message };
        let lock_path = sibling(state_file, ".lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| state_err(format!("cannot open the lock file {}: {e}", lock_path.display())))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => {
                state_err("another witness process is using this state file".into())
            }
            std::fs::TryLockError::Error(e) => state_err(format!("cannot lock {}: {e}", lock_path.display())),
        })?;
        let cosigned = load_state(state_file).map_err(state_err)?;
        Ok(WitnessState {
            inner: Arc::new(Inner {
                witness,
                state_file: state_file.to_owned(),
                cosigned: Mutex::new(cosigned),
                _lock: lock,
            }),
        })
    }

    /// The witness's public key (a cosignature/v1 verifier key).
    pub fn verifier(&self) -> &VerifierKey {
        self.inner.witness.verifier()
    }

    /// The latest checkpoint cosigned for `origin`, if any.
    pub async fn cosigned(&self, origin: &str) -> Option<TreeState> {
        self.inner.cosigned.lock().await.get(origin).map(|s| s.state)
    }

    /// Decides an `add-checkpoint` request body and, if it is accepted,
    /// persists the new state before returning the 200 response body.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Result<String, WitnessError> {
        let (request, checkpoint) = Witness::parse_request(body)?;
        let now = unix_now();
        // Held from the check to the durable write: the spec's rollback race.
        let mut cosigned = self.inner.cosigned.lock().await;
        let stored = cosigned.get(&checkpoint.origin).map(|s| s.state);
        let decided = self.inner.witness.add_checkpoint(&request, stored, now);
        let accepted = match decided {
            Ok(c) => c,
            Err(e) => {
                drop(cosigned);
                match &e {
                    // "the witness MAY log the request even if the consistency proof
                    // doesn't verify ... as it might be proof of log misbehavior".
                    WitnessError::BadProof { .. } | WitnessError::RootConflict { .. } => tracing::warn!(
                        origin = %checkpoint.origin,
                        error = %e,
                        request = %String::from_utf8_lossy(body),
                        "refused a checkpoint inconsistent with the one cosigned: possible log misbehaviour"
                    ),
                    _ => {
                        tracing::info!(origin = %checkpoint.origin, status = e.status(), error = %e, "refused")
                    }
                }
                return Err(e);
            }
        };
        let mut next = cosigned.clone();
        next.insert(accepted.origin.clone(), Stored { state: accepted.state, at: now });
        let bytes = state_json(&next);
        let path = self.inner.state_file.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| WitnessError::Internal(format!("state writer panicked: {e}")))?
            .map_err(|e| {
                tracing::error!(error = %e, file = %self.inner.state_file.display(), "cannot persist the witness state");
                WitnessError::Internal(format!("cannot persist the witness state: {e}"))
            })?;
        *cosigned = next;
        drop(cosigned);
        tracing::info!(
            origin = %accepted.origin,
            old = request.old_size,
            size = accepted.state.size,
            "cosigned"
        );
        Ok(accepted.response_body())
    }
}

/// The witness's routes: `POST /add-checkpoint`. Nest it under a prefix to
/// serve it at `<submission prefix>/add-checkpoint`.
pub fn router(state: WitnessState) -> Router {
    Router::new()
        .route(&format!("/{}", tongxin_tlog::witness::ADD_CHECKPOINT_PATH), post(add_checkpoint))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_SIZE))
        .with_state(state)
}

/// Runs the witness of `config` on `listener` until the server fails.
/// Every accepted checkpoint is persisted before it is answered, so the
/// process may be stopped at any time.
pub async fn run(config: WitnessConfig, listener: tokio::net::TcpListener) -> Result<(), WitnessServerError> {
    let state = WitnessState::open(&config)?;
    let origins: Vec<&str> = config.logs.iter().map(|l| l.origin.as_str()).collect();
    tracing::info!(
        key = %state.verifier(),
        address = ?listener.local_addr().ok(),
        logs = ?origins,
        "witness listening"
    );
    serve(state, listener).await
}

/// Serves an opened witness on `listener`.
pub async fn serve(state: WitnessState, listener: tokio::net::TcpListener) -> Result<(), WitnessServerError> {
    axum::serve(listener, router(state)).await.map_err(WitnessServerError::Serve)
}

async fn add_checkpoint(State(state): State<WitnessState>, body: Bytes) -> Response {
    match state.add_checkpoint(&body).await {
        Ok(text) => (StatusCode::OK, [(CONTENT_TYPE, RESPONSE_CONTENT_TYPE)], text).into_response(),
        Err(e) => error_response(&e),
    }
}

/// The status the spec requires; for 409 exactly `<size>\n` as
/// `text/x.tlog.size`, otherwise the reason as plain text.
fn error_response(e: &WitnessError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match e.conflict_body() {
        Some(body) => (status, [(CONTENT_TYPE, CONFLICT_CONTENT_TYPE)], body).into_response(),
        None => (status, [(CONTENT_TYPE, RESPONSE_CONTENT_TYPE)], format!("{e}\n")).into_response(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `path` with `suffix` appended to its file name.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

fn load_or_create_key(path: &Path, name: &str) -> Result<SignerKey, WitnessServerError> {
    let err = |message: String| WitnessServerError::Key { path: path.display().to_string(), message };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let key = SignerKey::parse(text.trim(), SignatureType::CosignatureV1)
                .map_err(|e| err(format!("not a witness signing key: {e}")))?;
            if key.name() != name {
                return Err(err(format!(
                    "the key is named '{}' but the configuration names the witness '{name}'",
                    key.name()
                )));
            }
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt as _;
                if let Ok(meta) = std::fs::metadata(path)
                    && meta.permissions().mode() & 0o077 != 0
                {
                    tracing::warn!(file = %path.display(), "the witness key file is readable by others; chmod 600 it");
                }
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = SignerKey::generate(name, SignatureType::CosignatureV1)
                .map_err(|e| err(format!("cannot create a key named '{name}': {e}")))?;
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut f = options.open(path).map_err(|e| err(format!("cannot create: {e}")))?;
            writeln!(f, "{}", key.to_secret_string())
                .and_then(|()| f.sync_all())
                .map_err(|e| err(format!("cannot write: {e}")))?;
            tracing::info!(file = %path.display(), key = %key.verifier(), "created the witness key");
            Ok(key)
        }
        Err(e) => Err(err(format!("cannot read: {e}"))),
    }
}

fn load_state(path: &Path) -> Result<BTreeMap<String, Stored>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read: {e}")),
    };
    // Never start from scratch over a damaged file: that would let a log
    // roll back what this witness has cosigned.
    let file: StateFile = serde_json::from_slice(&bytes).map_err(|e| format!("not a witness state: {e}"))?;
    if file.version != STATE_VERSION {
        return Err(format!("state version {} is not {STATE_VERSION}", file.version));
    }
    file.logs
        .into_iter()
        .map(|(origin, e)| {
            let root = Hash::from_base64(&e.root)
                .ok_or_else(|| format!("the root of {origin} is not a base64 hash"))?;
            Ok((origin, Stored { state: TreeState { size: e.size, root }, at: e.cosigned_at }))
        })
        .collect()
}

fn state_json(cosigned: &BTreeMap<String, Stored>) -> Vec<u8> {
    let file = StateFile {
        version: STATE_VERSION,
        logs: cosigned
            .iter()
            .map(|(origin, s)| {
                let entry =
                    StateEntry { size: s.state.size, root: s.state.root.to_base64(), cosigned_at: s.at };
                (origin.clone(), entry)
            })
            .collect(),
    };
    let mut out = serde_json::to_vec_pretty(&file).expect("the state serializes");
    out.push(b'\n');
    out
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the
/// new file: write a temporary file, fsync it, rename it over, fsync the
/// directory.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = sibling(path, ".tmp");
    let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load_state(&path).unwrap().is_empty(), "a missing file is an empty state");
        let mut map = BTreeMap::new();
        let root = tongxin_tlog::leaf_hash(b"x");
        map.insert("a.example/log".to_owned(), Stored { state: TreeState { size: 7, root }, at: 11 });
        write_atomically(&path, &state_json(&map)).unwrap();
        assert_eq!(load_state(&path).unwrap(), map);
        assert!(!sibling(&path, ".tmp").exists());
        std::fs::write(&path, b"{\"version\":1,\"logs\":{\"a\":{\"size\":1}}}").unwrap();
        assert!(load_state(&path).is_err());
        std::fs::write(&path, b"").unwrap();
        assert!(load_state(&path).is_err());
    }
}
