//! The transparency-log service: one sequencer per log that pools appends, integrates
//! them in batches into the Merkle tree kept by the [`Store`], signs a checkpoint of every
//! committed size, and answers receipts and tiles.
//!
//! It knows nothing of what entries mean (reports, state changes): entries are bytes.
//! The formats and algorithms come from `tongxin-tlog`; this crate adds durability and
//! the single-writer discipline:
//!
//! - An append returns only after its batch is committed, with its index.
//! - A checkpoint is signed only for a size already committed, so every signed
//!   checkpoint is a prefix of the same tree: the log cannot fork, across restarts too.
//! - The writer holds a lease in the store, renewed by heartbeat; a second process
//!   pointed at the same database is refused while the lease is fresh, and every write is
//!   conditional on the head it read, so even a stale process cannot extend the log.
//!
//! **Witnesses** (`c2sp.org/tlog-witness`, k-of-n). A log may be configured with
//! witnesses and a quorum k. After each checkpoint is published, a witnessing round runs
//! beside the sequencer: every witness is sent an `add-checkpoint` request (old size =
//! what that witness last cosigned, as the log remembers it, learnt from a 409 when it
//! does not; consistency proof from the stored hashes), each returned cosignature is
//! verified against that witness's key, and the valid ones are attached to the note,
//! which is re-published for the same size, so [`Log::latest`], the served checkpoint and
//! [`Log::receipt`] carry them. The round overlaps the pooling of the next batch; the
//! next batch is integrated only once the round has ended (each witness has at most
//! `witness_timeout`), because the store keeps a re-published note only while its size
//! is the head. A witness that fails is asked again only after a growing back-off (1 s
//! doubling up to 60 s), on a later checkpoint or an idle heartbeat, so a dead witness
//! (refused connection) costs nothing and a hanging one holds integration up by at most
//! `witness_timeout` once per back-off.
//!
//! What the quorum means for the log: a checkpoint is always published, witnessed or not
//! (the log keeps sequencing when witnesses are down, and a warning is logged whenever
//! fewer than k cosigned); [`Log::witnessed`] waits for the newest checkpoint that k
//! witnesses cosigned and that covers an entry, and [`Log::witnessed_receipt`] builds a
//! receipt on it, which passes `ReceiptPolicy::new(log key, witness keys, k)` (see
//! [`Log::receipt_policy`]). Callers that hand out receipts and promise k-of-n should use
//! those; [`Log::receipt`] is on the newest checkpoint with whatever cosignatures it has.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tongxin_store::{LogBatch, Store, StoreError};
use tongxin_tlog::witness::attach_cosignatures;
use tongxin_tlog::{
    AddCheckpointRequest, Checkpoint, Hash, HashReader, Note, NoteSignature, Receipt, ReceiptPolicy,
    SignatureType, SignerKey, Tile, TilePath, VerifierKey, encode_bundle, leaf_hash, prove_consistency,
    stored_hash_count, stored_hashes_for_leaves, tree_hash,
};
use tongxin_witness::{WitnessClient, WitnessClientError};
use uuid::Uuid;

/// How a log is run.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The checkpoint origin, e.g. `tongxin.example/35`.
    pub origin: String,
    pub signer: SignerKey,
    /// How long appends are pooled before a batch is integrated (≤ 1 s).
    pub period: Duration,
    /// The most entries integrated in one batch.
    pub max_batch: usize,
    /// A writer whose heartbeat is older than this is presumed dead and its lease free.
    pub lease: Duration,
    /// Witnesses asked to cosign every checkpoint (none by default).
    pub witnesses: Vec<WitnessEndpoint>,
    /// How many of `witnesses` must cosign for a checkpoint to count as witnessed
    /// ([`Log::witnessed`]); 0 (the default) means every checkpoint does.
    pub quorum: usize,
    /// The longest one witness may take to cosign a checkpoint (both requests when it
    /// first answers 409 Conflict).
    pub witness_timeout: Duration,
}

/// A witness of the log: where it takes `add-checkpoint` requests and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessEndpoint {
    /// The witness's submission prefix, `http://host:port[/prefix]`; requests go to
    /// `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature/v1 (type 0x04) public key.
    pub key: VerifierKey,
}

impl LogConfig {
    pub fn new(origin: impl Into<String>, signer: SignerKey) -> LogConfig {
        LogConfig {
            origin: origin.into(),
            signer,
            period: Duration::from_millis(500),
            max_batch: 50_000,
            lease: Duration::from_secs(10),
            witnesses: Vec::new(),
            quorum: 0,
            witness_timeout: Duration::from_secs(5),
        }
    }

    /// Checks the witnesses and quorum: cosigner keys, each witness once, k ≤ n.
    fn check_witnesses(&self) -> Result<(), LogError> {
        for (i, w) in self.witnesses.iter().enumerate() {
            if w.key.sig_type() != SignatureType::CosignatureV1 {
                return Err(LogError::Config(format!(
                    "witness key {} is not a cosignature/v1 (0x04) key",
                    w.key
                )));
            }
            if self.witnesses[..i].iter().any(|o| o.key == w.key) {
                return Err(LogError::Config(format!("witness key {} is configured twice", w.key)));
            }
        }
        if self.quorum > self.witnesses.len() {
            return Err(LogError::Config(format!(
                "the witness quorum {} is more than the {} witnesses configured",
                self.quorum,
                self.witnesses.len()
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum LogError {
    #[error("entry of {0} bytes is too large (an entry must be under 65,536 bytes)")]
    TooLarge(usize),
    #[error("the log has stopped: {0}")]
    Stopped(String),
    #[error("another process writes this log: {0}")]
    NotWriter(String),
    #[error("the stored log is inconsistent: {0}")]
    Corrupt(String),
    #[error("storage: {0}")]
    Store(String),
    #[error("the signing key or origin is unusable: {0}")]
    Config(String),
    #[error("entry {index} is not in the log (size {size})")]
    NoSuchEntry { index: u64, size: u64 },
}

impl From<StoreError> for LogError {
    fn from(e: StoreError) -> LogError {
        match e {
            StoreError::Conflict(m) => LogError::NotWriter(m),
            other => LogError::Store(other.to_string()),
        }
    }
}

/// The newest signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub size: u64,
    pub root: Hash,
    /// The signed note text.
    pub note: String,
}

struct Pending {
    entry: Vec<u8>,
    done: oneshot::Sender<Result<u64, LogError>>,
}

/// A running log. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    origin: String,
    verifier: VerifierKey,
    witnesses: Vec<VerifierKey>,
    quorum: usize,
    appends: mpsc::Sender<Pending>,
    published: watch::Receiver<Published>,
    /// The newest checkpoint cosigned by at least `quorum` witnesses.
    witnessed: watch::Receiver<Option<Published>>,
}

/// A [`HashReader`] over hashes fetched beforehand; it names what it lacks so the caller
/// can fetch exactly that from the (async) store and try again.
#[derive(Default)]
struct Prefetched(HashMap<u64, Hash>);

#[derive(Debug, thiserror::Error)]
#[error("{} stored hashes not fetched", .0.len())]
struct Missing(Vec<u64>);

impl HashReader for Prefetched {
    type Error = Missing;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Missing> {
        let missing: Vec<u64> = indexes.iter().copied().filter(|i| !self.0.contains_key(i)).collect();
        if !missing.is_empty() {
            return Err(Missing(missing));
        }
        Ok(indexes.iter().map(|i| self.0[i]).collect())
    }
}

impl Prefetched {
    async fn fetch(&mut self, store: &dyn Store, log: &str, indexes: &[u64]) -> Result<(), LogError> {
        let hashes = store.log_hashes(log, indexes).await?;
        for (i, h) in indexes.iter().zip(hashes) {
            self.0.insert(*i, Hash(h));
        }
        Ok(())
    }

    /// Runs `f` over the stored hashes, fetching whatever it reports missing (a few
    /// rounds at most: each round fetches everything the computation asked for).
    async fn run<T>(
        &mut self,
        store: &dyn Store,
        log: &str,
        mut f: impl FnMut(&Prefetched) -> Result<T, tongxin_tlog::TreeError<Missing>>,
    ) -> Result<T, LogError> {
        for _ in 0..8 {
            match f(self) {
                Ok(v) => return Ok(v),
                Err(tongxin_tlog::TreeError::Read(Missing(ix))) => self.fetch(store, log, &ix).await?,
                Err(e) => return Err(LogError::Corrupt(e.to_string())),
            }
        }
        Err(LogError::Corrupt("stored hashes keep missing".into()))
    }
}

impl Log {
    /// Claims the log, checks the stored tree against its head and the newest checkpoint,
    /// publishes a checkpoint for any committed but unsigned size, and starts sequencing.
    pub async fn open(store: Arc<dyn Store>, config: LogConfig) -> Result<Log, LogError> {
        if config.signer.verifier().name() != config.origin {
            return Err(LogError::Config(format!(
                "the key is named '{}' but the log's origin is '{}'",
                config.signer.verifier().name(),
                config.origin
            )));
        }
        Checkpoint::new(&config.origin, 0, tongxin_tlog::EMPTY_ROOT)
            .map_err(|e| LogError::Config(e.to_string()))?;
        config.check_witnesses()?;
        let writer = Uuid::now_v7();
        let lease = chrono::Duration::from_std(config.lease).map_err(|e| LogError::Config(e.to_string()))?;
        // After a crash the dead writer's lease is still fresh for a while: wait it out.
        // A live second writer keeps renewing its lease, so this one gives up after
        // one and a half lease periods.
        let started = tokio::time::Instant::now();
        let head = loop {
            let now = Utc::now();
            match store.log_claim(&config.origin, writer, now, now - lease).await {
                Ok(head) => break head,
                Err(StoreError::Conflict(m)) if started.elapsed() < config.lease.mul_f32(1.5) => {
                    tracing::info!(reason = %m, "waiting for the log's previous writer lease to expire");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let mut cache = Prefetched::default();
        let root = cache.run(store.as_ref(), &config.origin, |r| tree_hash(head.size, r)).await?;
        if root.0 != head.root {
            return Err(LogError::Corrupt(format!(
                "the stored hashes give root {} for size {}, the head says {}",
                root.to_base64(),
                head.size,
                Hash(head.root).to_base64()
            )));
        }
        let verifier = config.signer.verifier().clone();
        // The newest signed checkpoint must be a prefix of what is stored.
        let last = store.log_checkpoints(&config.origin, 1).await?.into_iter().next();
        if let Some(cp) = &last {
            let note = Note::parse(cp.note.as_bytes()).map_err(|e| LogError::Corrupt(e.to_string()))?;
            note.verify(std::slice::from_ref(&verifier)).map_err(|e| {
                LogError::Corrupt(format!("the stored checkpoint of size {} does not verify: {e}", cp.size))
            })?;
            let signed = Checkpoint::parse(note.text()).map_err(|e| LogError::Corrupt(e.to_string()))?;
            let at = cache.run(store.as_ref(), &config.origin, |r| tree_hash(signed.size, r)).await?;
            if at != signed.root || signed.size > head.size {
                return Err(LogError::Corrupt(format!(
                    "the signed checkpoint of size {} does not match the stored tree",
                    signed.size
                )));
            }
        }
        let witnesses = config
            .witnesses
            .iter()
            .map(|w| WitnessLink { endpoint: w.clone(), cosigned: None, failures: 0, retry_at: None })
            .collect();
        let mut state = Sequencer {
            store: store.clone(),
            config,
            writer,
            size: head.size,
            root: Hash(head.root),
            cache,
            witnesses,
            client: WitnessClient::new(),
        };
        let published = match last {
            Some(cp) if cp.size == head.size => {
                Published { size: cp.size, root: Hash(head.root), note: cp.note }
            }
            _ => state.publish().await?,
        };
        // The witnesses whose cosignatures are on the stored note cosigned its size: the
        // first requests to them start from there instead of learning it from a 409.
        let cosigners = state.cosigners(&published.note);
        for i in &cosigners {
            state.witnesses[*i].cosigned = Some(published.size);
        }
        let quorum = state.config.quorum;
        let witnessed = (cosigners.len() >= quorum).then(|| published.clone());
        let (tx, rx) = mpsc::channel(state.config.max_batch.max(1) * 2);
        let (ptx, prx) = watch::channel(published);
        let (wtx, wrx) = watch::channel(witnessed);
        let origin = state.config.origin.clone();
        let witness_keys = state.config.witnesses.iter().map(|w| w.key.clone()).collect();
        tokio::spawn(state.run(rx, ptx, wtx));
        Ok(Log {
            inner: Arc::new(Inner {
                store,
                origin,
                verifier,
                witnesses: witness_keys,
                quorum,
                appends: tx,
                published: prx,
                witnessed: wrx,
            }),
        })
    }

    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The log's public key, as a verifier key string (`name+id+key`).
    pub fn verifier(&self) -> &VerifierKey {
        &self.inner.verifier
    }

    /// Appends `entry`; returns its index once it is durably sequenced.
    pub async fn append(&self, entry: Vec<u8>) -> Result<u64, LogError> {
        tongxin_tlog::tile::check_entry_size(0, &entry).map_err(|_| LogError::TooLarge(entry.len()))?;
        let (done, wait) = oneshot::channel();
        self.inner
            .appends
            .send(Pending { entry, done })
            .await
            .map_err(|_| LogError::Stopped("the sequencer is not running".into()))?;
        wait.await.map_err(|_| LogError::Stopped("the sequencer stopped".into()))?
    }

    /// The newest signed checkpoint.
    pub fn latest(&self) -> Published {
        self.inner.published.borrow().clone()
    }

    /// Waits until a signed checkpoint covers entry `index`.
    pub async fn covering(&self, index: u64) -> Result<Published, LogError> {
        let mut rx = self.inner.published.clone();
        let p = rx
            .wait_for(|p| p.size > index)
            .await
            .map_err(|_| LogError::Stopped("the sequencer stopped".into()))?;
        Ok(p.clone())
    }

    /// The witnesses' cosignature keys, in configuration order.
    pub fn witnesses(&self) -> &[VerifierKey] {
        &self.inner.witnesses
    }

    /// How many witnesses must cosign a checkpoint for it to count as witnessed.
    pub fn quorum(&self) -> usize {
        self.inner.quorum
    }

    /// The policy the receipts of [`Log::witnessed_receipt`] pass: this log's key and a
    /// quorum of its witnesses.
    pub fn receipt_policy(&self) -> Result<ReceiptPolicy, LogError> {
        ReceiptPolicy::new(self.inner.verifier.clone(), self.inner.witnesses.clone(), self.inner.quorum)
            .map_err(|e| LogError::Config(e.to_string()))
    }

    /// Waits until a checkpoint covering entry `index` is cosigned by at least the
    /// quorum of witnesses, and returns the newest such checkpoint. With quorum 0 this is
    /// [`Log::covering`]. It waits as long as it takes — while too few witnesses answer,
    /// that is until they do — so callers bound it with a timeout of their own.
    pub async fn witnessed(&self, index: u64) -> Result<Published, LogError> {
        let mut rx = self.inner.witnessed.clone();
        let p = rx
            .wait_for(|w| w.as_ref().is_some_and(|p| p.size > index))
            .await
            .map_err(|_| LogError::Stopped("the sequencer stopped".into()))?;
        p.clone().ok_or_else(|| LogError::Stopped("no witnessed checkpoint".into()))
    }

    /// The newest checkpoint cosigned by the quorum, if any.
    pub fn latest_witnessed(&self) -> Option<Published> {
        self.inner.witnessed.borrow().clone()
    }

    /// The receipt of entry `index` under the newest checkpoint that covers it and is
    /// cosigned by the quorum ([`Log::witnessed`]; waits like it): it passes
    /// [`Log::receipt_policy`].
    pub async fn witnessed_receipt(&self, index: u64) -> Result<Receipt, LogError> {
        let published = self.witnessed(index).await?;
        self.receipt_under(index, &published).await
    }

    /// The `c2sp.org/tlog-proof@v1` receipt of entry `index` under the newest checkpoint,
    /// with the cosignatures it has so far.
    pub async fn receipt(&self, index: u64) -> Result<Receipt, LogError> {
        self.receipt_under(index, &self.latest()).await
    }

    async fn receipt_under(&self, index: u64, published: &Published) -> Result<Receipt, LogError> {
        if index >= published.size {
            return Err(LogError::NoSuchEntry { index, size: published.size });
        }
        let note = Note::parse(published.note.as_bytes()).map_err(|e| LogError::Corrupt(e.to_string()))?;
        let mut cache = Prefetched::default();
        cache
            .fetch(
                self.inner.store.as_ref(),
                &self.inner.origin,
                &tongxin_tlog::merkle::inclusion_proof_indexes(index, published.size),
            )
            .await?;
        Receipt::build(index, note, &cache, None).map_err(|e| LogError::Corrupt(e.to_string()))
    }

    /// The bytes at a C2SP tile path (`tile/0/x001/234`, `tile/entries/005.p/7`), if the
    /// newest checkpoint covers them, and whether they are immutable (a full tile).
    /// Keeps a static copy of the log in `dir` — `checkpoint`, `tile/…` and
    /// `tile/entries/…` exactly as served over HTTP — so any web server or object store
    /// can serve it. Each published checkpoint's new tiles and bundles are written first
    /// (each file atomically: temporary name, then rename), the checkpoint file last, so
    /// the directory always verifies. After a restart it resumes from the size in the
    /// directory's checkpoint.
    pub fn mirror(&self, dir: std::path::PathBuf) -> JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            let mut rx = log.inner.published.clone();
            let mut done = mirrored_size(&dir);
            loop {
                let p = rx.borrow_and_update().clone();
                match mirror_once(&log, &dir, done, &p).await {
                    Ok(()) => done = p.size,
                    Err(e) => {
                        tracing::error!(error = %e, dir = %dir.display(), "cannot update the static copy of the log")
                    }
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
    }

    pub async fn tile(&self, path: &str) -> Result<Option<(Vec<u8>, bool)>, LogError> {
        let size = self.latest().size;
        let Ok(parsed) = tongxin_tlog::parse_path(path) else { return Ok(None) };
        match parsed {
            TilePath::Tile(t) => {
                if !tile_within(&t, size) {
                    return Ok(None);
                }
                let indexes = t.stored_hash_indexes();
                let hashes = self.inner.store.log_hashes(&self.inner.origin, &indexes).await?;
                Ok(Some((hashes.concat(), t.is_full())))
            }
            TilePath::Bundle(b) => {
                let first = b.first_entry();
                let end = first + u64::from(b.width);
                if end > size {
                    return Ok(None);
                }
                let entries = self.inner.store.log_entries(&self.inner.origin, first, end).await?;
                let data = encode_bundle(&entries).map_err(|e| LogError::Corrupt(e.to_string()))?;
                Ok(Some((data, b.width == tongxin_tlog::TILE_WIDTH)))
            }
        }
    }

    /// Published checkpoints, newest first (for the log page's growth chart).
    pub async fn history(&self, limit: u32) -> Result<Vec<tongxin_store::PublishedCheckpoint>, LogError> {
        Ok(self.inner.store.log_checkpoints(&self.inner.origin, limit).await?)
    }
}

/// True when tile `t` (of its width) lies within a tree of `size` entries.
fn tile_within(t: &Tile, size: u64) -> bool {
    match tongxin_tlog::tile::tile_in_tree(t.level, t.index, size) {
        Some(full) => t.width <= full.width,
        None => false,
    }
}

struct Sequencer {
    store: Arc<dyn Store>,
    config: LogConfig,
    writer: Uuid,
    size: u64,
    root: Hash,
    cache: Prefetched,
    witnesses: Vec<WitnessLink>,
    client: WitnessClient,
}

/// What the sequencer knows of one witness.
struct WitnessLink {
    endpoint: WitnessEndpoint,
    /// The size it last cosigned, as far as this process knows (`None`: ask from 0 and
    /// learn it from the 409).
    cosigned: Option<u64>,
    /// Failures in a row, for the back-off.
    failures: u32,
    /// Not asked again before this instant.
    retry_at: Option<tokio::time::Instant>,
}

/// A witnessing round in flight: the size it is for and the task asking the witnesses.
struct Round {
    size: u64,
    task: JoinHandle<Vec<(usize, Result<NoteSignature, WitnessFailure>)>>,
}

/// What a round brought back: per witness (by index), its verified cosignature or why
/// not; `Err` if the round's task itself failed.
type RoundResults = Result<Vec<(usize, Result<NoteSignature, WitnessFailure>)>, String>;

/// Why one witness gave no usable cosignature, and the size it said it is at (409).
struct WitnessFailure {
    error: String,
    learned: Option<u64>,
}

/// Waits for the round in flight (forever if there is none) and clears it. Dropping
/// the future leaves the round running.
async fn finish_round(round: &mut Option<Round>) -> (u64, RoundResults) {
    let Some(r) = round.as_mut() else { return std::future::pending().await };
    let result = (&mut r.task).await.map_err(|e| format!("witnessing task failed: {e}"));
    let size = r.size;
    *round = None;
    (size, result)
}

enum Event {
    Append(Option<Pending>),
    Round(u64, RoundResults),
    Tick,
}

impl Sequencer {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Pending>,
        published: watch::Sender<Published>,
        witnessed: watch::Sender<Option<Published>>,
    ) {
        let heartbeat = (self.config.lease / 3).max(Duration::from_millis(100));
        // The newest checkpoint may not be cosigned yet (a restart, a crash mid-round).
        let current = published.borrow().clone();
        let mut round = self.start_round(&current);
        loop {
            let event = tokio::select! {
                p = rx.recv() => Event::Append(p),
                (size, r) = finish_round(&mut round) => Event::Round(size, r),
                () = tokio::time::sleep(heartbeat) => Event::Tick,
            };
            let first = match event {
                Event::Append(Some(p)) => p,
                Event::Append(None) => return,
                Event::Round(size, results) => {
                    if let Err(e) = self.apply_round(size, results, &published, &witnessed).await {
                        tracing::error!(error = %e, log = %self.config.origin, "cannot publish cosignatures; sequencer stops");
                        return;
                    }
                    continue;
                }
                Event::Tick => {
                    if let Err(e) = self.renew().await {
                        tracing::error!(error = %e, log = %self.config.origin, "log lease lost; sequencer stops");
                        return;
                    }
                    // Idle: retry witnesses missing from the newest checkpoint.
                    if round.is_none() {
                        let current = published.borrow().clone();
                        round = self.start_round(&current);
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.config.period;
            while batch.len() < self.config.max_batch {
                let event = tokio::select! {
                    p = tokio::time::timeout_at(deadline, rx.recv()) => match p {
                        Ok(Some(p)) => Event::Append(Some(p)),
                        _ => Event::Append(None),
                    },
                    (size, r) = finish_round(&mut round) => Event::Round(size, r),
                };
                match event {
                    Event::Append(Some(p)) => batch.push(p),
                    Event::Round(size, results) => {
                        if let Err(e) = self.apply_round(size, results, &published, &witnessed).await {
                            tracing::error!(error = %e, log = %self.config.origin, "cannot publish cosignatures; sequencer stops");
                            fail(batch, &e);
                            return;
                        }
                    }
                    Event::Append(None) | Event::Tick => break,
                }
            }
            // The store keeps a re-published (cosigned) note only while its size is the
            // head: the round for the current checkpoint ends before the head moves.
            if round.is_some() {
                let (size, results) = finish_round(&mut round).await;
                if let Err(e) = self.apply_round(size, results, &published, &witnessed).await {
                    tracing::error!(error = %e, log = %self.config.origin, "cannot publish cosignatures; sequencer stops");
                    fail(batch, &e);
                    return;
                }
            }
            match self.integrate(&batch).await {
                Ok(first_index) => {
                    for (i, p) in batch.into_iter().enumerate() {
                        let _ = p.done.send(Ok(first_index + i as u64));
                    }
                    match self.publish().await {
                        Ok(p) => {
                            if self.config.quorum == 0 {
                                witnessed.send_replace(Some(p.clone()));
                            }
                            round = self.start_round(&p);
                            let _ = published.send(p);
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "cannot publish a checkpoint; sequencer stops");
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, log = %self.config.origin, "batch not sequenced; sequencer stops");
                    fail(batch, &e);
                    // A conflict means another writer took over: never write again.
                    return;
                }
            }
        }
    }

    /// The indexes of the configured witnesses with a signature line on `note` (each
    /// verified before it was attached, or checked here for a stored note).
    fn cosigners(&self, note: &str) -> Vec<usize> {
        let Ok(note) = Note::parse(note.as_bytes()) else { return Vec::new() };
        self.witnesses
            .iter()
            .enumerate()
            .filter(|(_, w)| note.verify(std::slice::from_ref(&w.endpoint.key)).is_ok())
            .map(|(i, _)| i)
            .collect()
    }

    /// Starts asking the witnesses that have not cosigned `published` and are not
    /// backing off; `None` when there is nobody to ask.
    fn start_round(&mut self, published: &Published) -> Option<Round> {
        if self.witnesses.is_empty() || published.size == 0 {
            return None;
        }
        let note = match Note::parse(published.note.as_bytes()) {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "the published checkpoint does not parse; not witnessed");
                return None;
            }
        };
        let done = self.cosigners(&published.note);
        let now = tokio::time::Instant::now();
        let targets: Vec<(usize, WitnessEndpoint, Option<u64>)> = self
            .witnesses
            .iter()
            .enumerate()
            .filter(|(i, w)| !done.contains(i) && w.retry_at.is_none_or(|t| t <= now))
            .map(|(i, w)| (i, w.endpoint.clone(), w.cosigned))
            .collect();
        if targets.is_empty() {
            if done.len() < self.config.quorum {
                tracing::warn!(
                    log = %self.config.origin,
                    size = published.size,
                    cosigned = done.len(),
                    quorum = self.config.quorum,
                    "checkpoint published without a witness quorum (the missing witnesses are backing off)"
                );
            }
            return None;
        }
        // Witnesses are sent the checkpoint with the log's own signature only.
        let log_key = self.config.signer.verifier();
        let mut request_note = Note::new(note.text()).ok()?;
        for sig in note.signatures() {
            if sig.name == log_key.name() && sig.key_id == log_key.key_id() {
                request_note.add_signature(sig.clone()).ok()?;
            }
        }
        let (store, origin, client) = (self.store.clone(), self.config.origin.clone(), self.client.clone());
        let (size, timeout) = (published.size, self.config.witness_timeout);
        let task = tokio::spawn(async move {
            let mut asks = tokio::task::JoinSet::new();
            for (i, endpoint, cosigned) in targets {
                let ask = Ask {
                    store: store.clone(),
                    origin: origin.clone(),
                    client: client.clone(),
                    note: request_note.clone(),
                    size,
                    endpoint,
                    cosigned,
                    timeout,
                };
                asks.spawn(async move {
                    let url = ask.endpoint.url.clone();
                    let result = match tokio::time::timeout(timeout, ask.run()).await {
                        Ok(r) => r,
                        Err(_) => Err(WitnessFailure {
                            error: format!("witness {url} did not cosign within {timeout:?}"),
                            learned: None,
                        }),
                    };
                    (i, result)
                });
            }
            let mut results = Vec::new();
            while let Some(r) = asks.join_next().await {
                if let Ok(r) = r {
                    results.push(r);
                }
            }
            results
        });
        Some(Round { size, task })
    }

    /// Attaches the cosignatures a round brought, re-publishes the note for the same
    /// size, and updates what the log knows of each witness.
    async fn apply_round(
        &mut self,
        size: u64,
        results: RoundResults,
        published: &watch::Sender<Published>,
        witnessed: &watch::Sender<Option<Published>>,
    ) -> Result<(), LogError> {
        let results = match results {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, log = %self.config.origin, "witnessing round lost");
                return Ok(());
            }
        };
        let current = published.borrow().clone();
        if current.size != size {
            // Cannot happen (the head moves only after the round); keep what is published.
            return Ok(());
        }
        let mut note = Note::parse(current.note.as_bytes()).map_err(|e| LogError::Corrupt(e.to_string()))?;
        let now = tokio::time::Instant::now();
        let mut added = 0;
        for (i, result) in results {
            let link = &mut self.witnesses[i];
            match result {
                Ok(sig) => {
                    if let Err(e) = note.add_signature(sig) {
                        tracing::warn!(witness = %link.endpoint.url, error = %e, "cosignature not attached");
                        continue;
                    }
                    added += 1;
                    link.cosigned = Some(size);
                    link.failures = 0;
                    link.retry_at = None;
                }
                Err(f) => {
                    if f.learned.is_some() {
                        link.cosigned = f.learned;
                    }
                    link.failures = link.failures.saturating_add(1);
                    let backoff = Duration::from_secs(1 << (link.failures - 1).min(6)).min(RETRY_MAX);
                    link.retry_at = Some(now + backoff);
                    tracing::warn!(
                        log = %self.config.origin,
                        witness = %link.endpoint.url,
                        size,
                        error = %f.error,
                        retry_in = ?backoff,
                        "witness did not cosign"
                    );
                }
            }
        }
        let mut current = current;
        if added > 0 {
            let text = note.to_string();
            self.store.log_publish(&self.config.origin, self.writer, size, &text, Utc::now()).await?;
            current.note = text;
            published.send_replace(current.clone());
        }
        let cosigned = self.cosigners(&current.note).len();
        if cosigned >= self.config.quorum {
            witnessed.send_replace(Some(current));
        } else {
            tracing::warn!(
                log = %self.config.origin,
                size,
                cosigned,
                quorum = self.config.quorum,
                "checkpoint published without a witness quorum"
            );
        }
        Ok(())
    }

    async fn renew(&mut self) -> Result<(), LogError> {
        let now = Utc::now();
        let lease =
            chrono::Duration::from_std(self.config.lease).map_err(|e| LogError::Config(e.to_string()))?;
        let head = self.store.log_claim(&self.config.origin, self.writer, now, now - lease).await?;
        if head.size != self.size {
            return Err(LogError::NotWriter(format!("the head moved to {} behind our back", head.size)));
        }
        Ok(())
    }

    /// Integrates and commits a batch; returns the index of its first entry.
    async fn integrate(&mut self, batch: &[Pending]) -> Result<u64, LogError> {
        let old = self.size;
        let leaves: Vec<Hash> = batch.iter().map(|p| leaf_hash(&p.entry)).collect();
        let log = self.config.origin.clone();
        let new_hashes =
            self.cache.run(self.store.as_ref(), &log, |r| stored_hashes_for_leaves(old, &leaves, r)).await?;
        let base = stored_hash_count(old);
        for (i, h) in new_hashes.iter().enumerate() {
            self.cache.0.insert(base + i as u64, *h);
        }
        let new_size = old + batch.len() as u64;
        let root = self.cache.run(self.store.as_ref(), &log, |r| tree_hash(new_size, r)).await?;
        let write = LogBatch {
            log: log.clone(),
            writer: self.writer,
            old_size: old,
            entries: batch.iter().map(|p| p.entry.clone()).collect(),
            first_hash: base,
            hashes: new_hashes.iter().map(|h| h.0).collect(),
            new_root: root.0,
        };
        if let Err(e) = self.store.log_append(&write).await {
            // Whatever the cache learnt about the uncommitted batch is void.
            self.cache = Prefetched::default();
            return Err(e.into());
        }
        self.size = new_size;
        self.root = root;
        // Keep the cache small: the next batch needs only the right edge, which `run`
        // fetches again if it was dropped here.
        if self.cache.0.len() > 1_000_000 {
            self.cache = Prefetched::default();
        }
        Ok(old)
    }

    /// Signs and stores the checkpoint of the committed size.
    async fn publish(&mut self) -> Result<Published, LogError> {
        let cp = Checkpoint::new(&self.config.origin, self.size, self.root)
            .map_err(|e| LogError::Config(e.to_string()))?;
        let note = cp.sign(&self.config.signer).map_err(|e| LogError::Config(e.to_string()))?.to_string();
        self.store.log_publish(&self.config.origin, self.writer, self.size, &note, Utc::now()).await?;
        Ok(Published { size: self.size, root: self.root, note })
    }
}

/// The longest back-off before a failing witness is asked again.
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Answers every pending append of a batch that was not sequenced.
fn fail(batch: Vec<Pending>, e: &LogError) {
    for p in batch {
        let _ = p.done.send(Err(e.clone()));
    }
}

/// One `add-checkpoint` exchange with one witness.
struct Ask {
    store: Arc<dyn Store>,
    origin: String,
    client: WitnessClient,
    /// The checkpoint with the log's signature.
    note: Note,
    size: u64,
    endpoint: WitnessEndpoint,
    /// What the witness last cosigned, if known.
    cosigned: Option<u64>,
    /// The limit of each request (the whole exchange is bounded by the caller too).
    timeout: Duration,
}

impl Ask {
    /// Sends the checkpoint from the size the witness is believed at; on a 409 naming
    /// another size, once more from that size. Returns the witness's verified
    /// cosignature.
    async fn run(self) -> Result<NoteSignature, WitnessFailure> {
        let url = &self.endpoint.url;
        let mut old = self.cosigned.unwrap_or(0);
        let mut learned = None;
        let mut cache = Prefetched::default();
        for attempt in 0..2 {
            let failure = |error: String| WitnessFailure { error, learned };
            if old > self.size {
                return Err(failure(format!(
                    "witness {url} has cosigned size {old} of this log, beyond its size {}: \
                     another log with this origin, or a fork",
                    self.size
                )));
            }
            let size = self.size;
            let proof = cache
                .run(self.store.as_ref(), &self.origin, |r| prove_consistency(old, size, r))
                .await
                .map_err(|e| failure(format!("consistency proof {old} → {size}: {e}")))?;
            let request = AddCheckpointRequest { old_size: old, proof, checkpoint: self.note.clone() };
            match self.client.add_checkpoint(url, &request, self.timeout).await {
                Ok(lines) => {
                    let key = &self.endpoint.key;
                    let mut checked = self.note.clone();
                    attach_cosignatures(&mut checked, &lines, std::slice::from_ref(key))
                        .map_err(|e| failure(format!("witness {url}: {e}")))?;
                    return checked
                        .signatures()
                        .iter()
                        .find(|s| s.name == key.name() && s.key_id == key.key_id())
                        .cloned()
                        .ok_or_else(|| failure(format!("witness {url} sent no cosignature by {key}")));
                }
                Err(WitnessClientError::Conflict { size: theirs, .. }) if attempt == 0 && theirs != old => {
                    tracing::info!(witness = %url, believed = old, actual = theirs, "witness is at another size");
                    learned = Some(theirs);
                    old = theirs;
                }
                Err(e) => return Err(failure(e.to_string())),
            }
        }
        Err(WitnessFailure { error: format!("witness {url} keeps answering 409 Conflict"), learned })
    }
}

/// The size of the checkpoint already in a static copy (0 when there is none).
fn mirrored_size(dir: &std::path::Path) -> u64 {
    std::fs::read(dir.join("checkpoint"))
        .ok()
        .and_then(|b| Note::parse(&b).ok())
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map(|c| c.size)
        .unwrap_or(0)
}

async fn mirror_once(log: &Log, dir: &std::path::Path, from: u64, p: &Published) -> Result<(), LogError> {
    let io = |e: std::io::Error| LogError::Store(format!("static copy in {}: {e}", dir.display()));
    let paths = tongxin_tlog::tile::new_tiles(from, p.size)
        .into_iter()
        .map(|t| t.path())
        .chain(tongxin_tlog::tile::new_bundles(from, p.size).into_iter().map(|b| b.path()));
    for path in paths {
        let Some((data, _)) = log.tile(&path).await? else {
            return Err(LogError::Corrupt(format!("{path} is not in the log of size {}", p.size)));
        };
        write_atomically(&dir.join(&path), &data).map_err(io)?;
    }
    write_atomically(&dir.join("checkpoint"), p.note.as_bytes()).map_err(io)
}

fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp-tongxin");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(data)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}
