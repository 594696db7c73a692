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

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{mpsc, oneshot, watch};
use tongxin_store::{LogBatch, Store, StoreError};
use tongxin_tlog::{
    Checkpoint, Hash, HashReader, Note, Receipt, SignerKey, Tile, TilePath, VerifierKey, encode_bundle,
    leaf_hash, stored_hash_count, stored_hashes_for_leaves, tree_hash,
};
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
}

impl LogConfig {
    pub fn new(origin: impl Into<String>, signer: SignerKey) -> LogConfig {
        LogConfig {
            origin: origin.into(),
            signer,
            period: Duration::from_millis(500),
            max_batch: 50_000,
            lease: Duration::from_secs(10),
        }
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
    appends: mpsc::Sender<Pending>,
    published: watch::Receiver<Published>,
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
        let mut state =
            Sequencer { store: store.clone(), config, writer, size: head.size, root: Hash(head.root), cache };
        let published = match last {
            Some(cp) if cp.size == head.size => {
                Published { size: cp.size, root: Hash(head.root), note: cp.note }
            }
            _ => state.publish().await?,
        };
        let (tx, rx) = mpsc::channel(state.config.max_batch.max(1) * 2);
        let (ptx, prx) = watch::channel(published);
        let origin = state.config.origin.clone();
        tokio::spawn(state.run(rx, ptx));
        Ok(Log { inner: Arc::new(Inner { store, origin, verifier, appends: tx, published: prx }) })
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

    /// The `c2sp.org/tlog-proof@v1` receipt of entry `index` under the newest checkpoint.
    pub async fn receipt(&self, index: u64) -> Result<Receipt, LogError> {
        let published = self.latest();
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
}

impl Sequencer {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>, published: watch::Sender<Published>) {
        let heartbeat = (self.config.lease / 3).max(Duration::from_millis(100));
        loop {
            let first = match tokio::time::timeout(heartbeat, rx.recv()).await {
                Ok(Some(p)) => p,
                Ok(None) => return,
                Err(_) => {
                    if let Err(e) = self.renew().await {
                        tracing::error!(error = %e, log = %self.config.origin, "log lease lost; sequencer stops");
                        return;
                    }
                    continue;
                }
            };
            let mut batch = vec![first];
            let deadline = tokio::time::Instant::now() + self.config.period;
            while batch.len() < self.config.max_batch {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(p)) => batch.push(p),
                    _ => break,
                }
            }
            match self.integrate(&batch).await {
                Ok(first_index) => {
                    for (i, p) in batch.into_iter().enumerate() {
                        let _ = p.done.send(Ok(first_index + i as u64));
                    }
                    match self.publish().await {
                        Ok(p) => {
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
                    for p in batch {
                        let _ = p.done.send(Err(e.clone()));
                    }
                    // A conflict means another writer took over: never write again.
                    return;
                }
            }
        }
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
