//! [`verify_log`]: fetch a log's checkpoint and every tile and entry bundle
//! of its tree, and check all of it against the signed checkpoint, and the
//! checkpoint against an earlier one.
//!
//! # How the tree is checked
//!
//! Tiles are authenticated top-down, so that a discrepancy is blamed on the
//! resource that is actually wrong:
//!
//! 1. The *right-edge* tiles (the partial tile of each level, at most one
//!    per level; the topmost tile is always partial) together determine the
//!    root. Their hashes must give the checkpoint's root. If they do not,
//!    each of their hashes is recomputed from below (a full child tile, or
//!    an entry of the level-0 bundle), and the first hash that disagrees is
//!    reported with its tile, level and position.
//! 2. Every other tile is full, and is the child of an authenticated tile:
//!    its Merkle root must equal the parent's hash at its position. Tiles
//!    are visited depth first, in entry order, so only one tile per level
//!    is held at a time (memory stays at a few dozen KiB whatever the log
//!    size) while up to [`CONCURRENCY`] fetches run ahead.
//! 3. Every entry bundle is checked against its authenticated level-0 tile:
//!    it must hold exactly the tile's width of entries, and entry `i` must
//!    hash to the tile's hash `i`.
//!
//! With an earlier checkpoint (`since`), the new tree's first `since.size`
//! leaves must hash to the earlier root (computed from the authenticated
//! tiles, and also checked as an RFC 9162 consistency proof): a log may only
//! grow.
//!
//! A partial tile or bundle that is missing is looked for as the full tile
//! or bundle (tlog-tiles lets a log delete partial tiles once the full one
//! exists; the first `W` hashes or entries of the full one are then used).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tongxin_tlog::merkle::consistency_proof_indexes;
use tongxin_tlog::note::MAX_NOTE_SIZE;
use tongxin_tlog::tile::{FULL_TILE_BYTES, hash_from_tile, tile_for_stored_index, tile_hashes, tile_root};
use tongxin_tlog::{
    Bundle, BundleError, Checkpoint, CheckpointError, EMPTY_ROOT, HASH_SIZE, Hash, HashReader, Note,
    NoteError, ProofError, TILE_WIDTH, Tile, VerifierKey, decode_bundle, leaf_hash, new_tiles,
    prove_consistency, stored_hash_index, tree_hash, verify_checkpoint_note, verify_consistency,
};

use crate::fetch::{Fetch, FetchError};

/// How many tiles and bundles are fetched ahead of the checks.
pub const CONCURRENCY: usize = 16;

/// Why a log does not verify: the first discrepancy found, exactly.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("fetching {path}: {source}")]
    Fetch {
        path: String,
        #[source]
        source: FetchError,
    },
    #[error("the log has no checkpoint at {location}")]
    MissingCheckpoint { location: String },
    #[error("checkpoint: not a valid signed note: {0}")]
    CheckpointNote(NoteError),
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("earlier checkpoint (--since): {0}")]
    Since(CheckpointError),
    #[error("the log shrank: the earlier checkpoint has {old_size} entries, the current one only {new_size}")]
    Shrunk { old_size: u64, new_size: u64 },
    #[error(
        "the log forked: the earlier checkpoint and the current one both have {size} entries, but roots {old_root} and {new_root}"
    )]
    Fork { size: u64, old_root: Hash, new_root: Hash },
    #[error(
        "the log was rewritten: its first {old_size} entries now hash to {computed}, but the earlier checkpoint says {old_root} (current size {new_size})"
    )]
    Inconsistent { old_size: u64, old_root: Hash, computed: Hash, new_size: u64 },
    #[error("consistency proof from size {old_size} to {new_size} fails: {source}")]
    ConsistencyProof {
        old_size: u64,
        new_size: u64,
        #[source]
        source: ProofError,
    },
    #[error("tile {path} (level {level}) is missing")]
    MissingTile { path: String, level: u8 },
    #[error("tile {path} (level {level}) is {len} bytes; it must be {expected}")]
    TileLength { path: String, level: u8, len: usize, expected: usize },
    #[error(
        "tile {path} (level {level}) hashes to {computed}, but its parent tile {parent} says {expected} at position {position}"
    )]
    TileMismatch { path: String, level: u8, parent: Tile, position: u16, computed: Hash, expected: Hash },
    #[error(
        "tile {path} (level {level}) has {found} at position {position}, but {below} hashes to {computed}; the right-edge tiles do not lead to the checkpoint root"
    )]
    RightEdgeMismatch { path: String, level: u8, position: u16, found: Hash, below: String, computed: Hash },
    #[error(
        "the right-edge tiles {tiles:?} lead to root {computed}, but the checkpoint for size {size} says {expected}"
    )]
    RootMismatch { size: u64, tiles: Vec<String>, computed: Hash, expected: Hash },
    #[error("entry bundle {path} is missing")]
    MissingBundle { path: String },
    #[error("entry bundle {path} is malformed: {source}")]
    Bundle {
        path: String,
        #[source]
        source: BundleError,
    },
    #[error("entry bundle {path} holds {got} entries; it must hold {expected}")]
    BundleWidth { path: String, expected: usize, got: usize },
    #[error(
        "entry {index} (position {position} of bundle {bundle}) hashes to {computed}, but tile {tile} says {expected}"
    )]
    EntryMismatch { bundle: String, tile: Tile, index: u64, position: u16, computed: Hash, expected: Hash },
    #[error("internal error: {0}")]
    Internal(String),
}

impl LogError {
    /// The tile or bundle path the discrepancy is in, if it is in one.
    pub fn path(&self) -> Option<&str> {
        match self {
            LogError::Fetch { path, .. }
            | LogError::MissingTile { path, .. }
            | LogError::TileLength { path, .. }
            | LogError::TileMismatch { path, .. }
            | LogError::RightEdgeMismatch { path, .. }
            | LogError::MissingBundle { path }
            | LogError::Bundle { path, .. }
            | LogError::BundleWidth { path, .. } => Some(path),
            LogError::EntryMismatch { bundle, .. } => Some(bundle),
            _ => None,
        }
    }
}

/// How far verification has come; passed to the progress callback after
/// each tile or bundle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    pub entries_checked: u64,
    pub entries_total: u64,
    pub tiles_checked: u64,
    pub tiles_total: u64,
}

/// What a successful verification established.
#[derive(Clone, Debug)]
pub struct LogReport {
    /// The log's origin.
    pub origin: String,
    /// Number of entries in the verified tree.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The verified checkpoint note as fetched (to keep for a later `since`).
    pub checkpoint_note: String,
    /// Hash tiles fetched and checked (every tile of the tree).
    pub tiles_checked: u64,
    /// Entry bundles fetched and checked.
    pub bundles_checked: u64,
    /// Entries whose leaf hash was recomputed and checked.
    pub entries_checked: u64,
    /// Bytes fetched (checkpoint, tiles, bundles).
    pub bytes_fetched: u64,
    /// The earlier checkpoint (size, root) the tree was shown consistent with.
    pub consistent_with: Option<(u64, Hash)>,
    /// Wall time.
    pub elapsed: Duration,
}

/// Fetches and verifies the whole log behind `fetch`: the checkpoint's
/// signature by `log_key` and its `origin` (default: the key's name), every
/// hash tile and entry bundle of the tree against it, and, with `since`
/// (an earlier signed checkpoint note of the same log), that the log only
/// grew. `progress` is called after each step. Returns the first
/// discrepancy.
pub async fn verify_log<F: Fetch>(
    fetch: &F,
    log_key: &VerifierKey,
    origin: Option<&str>,
    since: Option<&Note>,
    mut progress: impl FnMut(Progress),
) -> Result<LogReport, LogError> {
    let started = Instant::now();
    let origin = origin.unwrap_or(log_key.name());

    // The checkpoint.
    let raw = get(fetch, "checkpoint")
        .await?
        .ok_or_else(|| LogError::MissingCheckpoint { location: fetch.location("checkpoint") })?;
    let mut bytes_fetched = raw.len() as u64;
    if raw.len() > MAX_NOTE_SIZE {
        return Err(LogError::CheckpointNote(NoteError::TooLarge { size: raw.len() }));
    }
    let note = Note::parse(&raw).map_err(LogError::CheckpointNote)?;
    let checkpoint =
        verify_checkpoint_note(&note, origin, log_key, &[]).map_err(LogError::Checkpoint)?.checkpoint;
    let (size, root) = (checkpoint.size, checkpoint.root);

    // The earlier checkpoint: what can be decided without the tree.
    let old = match since {
        None => None,
        Some(note) => {
            let old: Checkpoint =
                verify_checkpoint_note(note, origin, log_key, &[]).map_err(LogError::Since)?.checkpoint;
            if old.size > size {
                return Err(LogError::Shrunk { old_size: old.size, new_size: size });
            }
            if old.size == size && old.root != root {
                return Err(LogError::Fork { size, old_root: old.root, new_root: root });
            }
            Some(old)
        }
    };
    // The stored hashes the consistency check reads, by the tile holding them.
    let mut wanted = Wanted::default();
    if let Some(old) = &old {
        wanted.add(&subtree_root_indexes(old.size));
        wanted.add(&consistency_proof_indexes(old.size, size));
    }

    let all_tiles = new_tiles(0, size);
    let mut state = State {
        progress: Progress {
            entries_checked: 0,
            entries_total: size,
            tiles_checked: 0,
            tiles_total: all_tiles.len() as u64,
        },
        bundles_checked: 0,
        slots: vec![None; 65],
        wanted,
    };
    progress(state.progress);

    // 1. The right-edge tiles against the checkpoint root.
    let roots: Vec<Tile> = all_tiles.iter().rev().filter(|t| !t.is_full()).copied().collect();
    let fetched = futures_util::future::try_join_all(roots.iter().map(|t| fetch_tile(fetch, *t))).await?;
    let mut root_data: HashMap<Tile, Vec<u8>> = HashMap::new();
    for (t, (data, n)) in roots.iter().zip(fetched) {
        bytes_fetched += n;
        root_data.insert(*t, data);
    }
    let computed = if size == 0 {
        EMPTY_ROOT
    } else {
        tree_hash(size, &RootTiles(&root_data)).map_err(|e| LogError::Internal(e.to_string()))?
    };
    if computed != root {
        return Err(diagnose_right_edge(fetch, &roots, &root_data, size, computed, root).await);
    }
    for t in &roots {
        state.authenticated(t, &root_data[t]);
        state.progress.tiles_checked += 1;
    }
    progress(state.progress);

    // 2 and 3. Every full tile against its parent, every bundle against its
    // level-0 tile, depth first in entry order.
    let mut steps = futures_util::stream::iter(Plan::new(&roots))
        .map(|step| fetch_step(fetch, step))
        .buffered(CONCURRENCY);
    while let Some(fetched) = steps.next().await {
        let fetched = fetched?;
        bytes_fetched += fetched.bytes;
        match fetched.step {
            Step::Root(t) => {
                let data = &root_data[&t];
                if t.level == 0 {
                    let bundle = fetched.bundle.ok_or_else(|| internal("no bundle fetched"))?;
                    check_bundle(t, data, &bundle)?;
                    state.bundle_done(t);
                } else {
                    state.slots[usize::from(t.level)] = Some((t, data.clone()));
                }
            }
            Step::Full(t) => {
                let data = fetched.tile.ok_or_else(|| internal("no tile fetched"))?;
                let (parent, parent_data) = state.slots[usize::from(t.level) + 1]
                    .as_ref()
                    .filter(|(p, _)| p.index == t.index >> 8)
                    .ok_or_else(|| internal("parent tile not held"))?;
                let position = (t.index & 0xff) as usize;
                let expected = hash_at(parent_data, position);
                let computed = tile_root(&data);
                if computed != expected {
                    return Err(LogError::TileMismatch {
                        path: t.path(),
                        level: t.level,
                        parent: *parent,
                        position: position as u16,
                        computed,
                        expected,
                    });
                }
                state.authenticated(&t, &data);
                state.progress.tiles_checked += 1;
                if t.level == 0 {
                    let bundle = fetched.bundle.ok_or_else(|| internal("no bundle fetched"))?;
                    check_bundle(t, &data, &bundle)?;
                    state.bundle_done(t);
                } else {
                    state.slots[usize::from(t.level)] = Some((t, data));
                }
            }
        }
        progress(state.progress);
    }
    if state.progress.tiles_checked != state.progress.tiles_total || state.progress.entries_checked != size {
        return Err(internal("not every tile and entry was visited"));
    }

    // The earlier checkpoint against the authenticated tree.
    let consistent_with = match old {
        None => None,
        Some(old) => {
            let reader = CollectedHashes(&state.wanted.found);
            let computed =
                tree_hash(old.size, &reader).map_err(|e| LogError::Internal(format!("old root: {e}")))?;
            if computed != old.root {
                return Err(LogError::Inconsistent {
                    old_size: old.size,
                    old_root: old.root,
                    computed,
                    new_size: size,
                });
            }
            // The same fact as an RFC 9162 proof, as a witness would check it.
            let proof = prove_consistency(old.size, size, &reader)
                .map_err(|e| LogError::Internal(format!("consistency proof: {e}")))?;
            verify_consistency(old.size, size, &old.root, &root, &proof).map_err(|source| {
                LogError::ConsistencyProof { old_size: old.size, new_size: size, source }
            })?;
            Some((old.size, old.root))
        }
    };

    Ok(LogReport {
        origin: checkpoint.origin,
        size,
        root,
        checkpoint_note: note.to_string(),
        tiles_checked: state.progress.tiles_checked,
        bundles_checked: state.bundles_checked,
        entries_checked: state.progress.entries_checked,
        bytes_fetched,
        consistent_with,
        elapsed: started.elapsed(),
    })
}

fn internal(what: &str) -> LogError {
    LogError::Internal(what.to_owned())
}

async fn get<F: Fetch>(fetch: &F, path: &str) -> Result<Option<Vec<u8>>, LogError> {
    fetch.get(path).await.map_err(|source| LogError::Fetch { path: path.to_owned(), source })
}

fn hash_at(data: &[u8], position: usize) -> Hash {
    Hash::from_slice(&data[position * HASH_SIZE..(position + 1) * HASH_SIZE]).expect("32 bytes")
}

// ---------------------------------------------------------------- state

struct State {
    progress: Progress,
    bundles_checked: u64,
    /// The authenticated tile currently being descended at each level.
    slots: Vec<Option<(Tile, Vec<u8>)>>,
    wanted: Wanted,
}

impl State {
    fn authenticated(&mut self, tile: &Tile, data: &[u8]) {
        self.wanted.take_from(tile, data);
    }

    fn bundle_done(&mut self, tile: Tile) {
        self.bundles_checked += 1;
        self.progress.entries_checked += u64::from(tile.width);
    }
}

/// Stored hashes to collect from authenticated tiles, for the consistency
/// check.
#[derive(Default)]
struct Wanted {
    by_tile: HashMap<(u8, u64), Vec<u64>>,
    found: HashMap<u64, Hash>,
}

impl Wanted {
    fn add(&mut self, indexes: &[u64]) {
        for &x in indexes {
            let (t, _, _) = tile_for_stored_index(x);
            self.by_tile.entry((t.level, t.index)).or_default().push(x);
        }
    }

    fn take_from(&mut self, tile: &Tile, data: &[u8]) {
        if let Some(indexes) = self.by_tile.remove(&(tile.level, tile.index)) {
            for x in indexes {
                if let Ok(h) = hash_from_tile(tile, data, x) {
                    self.found.insert(x, h);
                }
            }
        }
    }
}

/// Stored-hash indexes of the complete subtrees whose hashes make the root
/// of the tree of `size` (largest first).
fn subtree_root_indexes(size: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut lo = 0;
    while lo < size {
        let level = 63 - (size - lo).leading_zeros();
        out.push(stored_hash_index(level, lo >> level));
        lo += 1 << level;
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("stored hash {0} is not in the tiles at hand")]
struct NotAtHand(u64);

/// Reads stored hashes out of the right-edge tiles.
struct RootTiles<'a>(&'a HashMap<Tile, Vec<u8>>);

impl HashReader for RootTiles<'_> {
    type Error = NotAtHand;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, NotAtHand> {
        indexes
            .iter()
            .map(|&x| {
                let (want, _, _) = tile_for_stored_index(x);
                let (tile, data) = self
                    .0
                    .iter()
                    .find(|(t, _)| t.level == want.level && t.index == want.index)
                    .ok_or(NotAtHand(x))?;
                hash_from_tile(tile, data, x).map_err(|_| NotAtHand(x))
            })
            .collect()
    }
}

/// Reads stored hashes collected while verifying.
struct CollectedHashes<'a>(&'a HashMap<u64, Hash>);

impl HashReader for CollectedHashes<'_> {
    type Error = NotAtHand;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, NotAtHand> {
        indexes.iter().map(|x| self.0.get(x).copied().ok_or(NotAtHand(*x))).collect()
    }
}

// ---------------------------------------------------------------- plan

/// One step of the depth-first walk.
#[derive(Clone, Copy, Debug)]
enum Step {
    /// A right-edge tile (already fetched and authenticated) becomes the
    /// parent of the next tiles; at level 0, its bundle is checked.
    Root(Tile),
    /// A full tile under the tile held one level up.
    Full(Tile),
}

/// The walk: for each right-edge tile from the top level down, its full
/// children depth first. This visits level-0 tiles in entry order.
struct Plan {
    roots: Vec<Tile>,
    next_root: usize,
    /// (parent, next child position) for each level being descended.
    stack: Vec<(Tile, u16)>,
}

impl Plan {
    fn new(roots: &[Tile]) -> Self {
        Plan { roots: roots.to_vec(), next_root: 0, stack: Vec::new() }
    }
}

impl Iterator for Plan {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        loop {
            if let Some((parent, next)) = self.stack.last_mut() {
                if *next < parent.width {
                    let child = Tile::full(parent.level - 1, (parent.index << 8) + u64::from(*next));
                    *next += 1;
                    if child.level > 0 {
                        self.stack.push((child, 0));
                    }
                    return Some(Step::Full(child));
                }
                self.stack.pop();
                continue;
            }
            let root = *self.roots.get(self.next_root)?;
            self.next_root += 1;
            if root.level > 0 {
                self.stack.push((root, 0));
            }
            return Some(Step::Root(root));
        }
    }
}

// ------------------------------------------------------------- fetching

struct Fetched {
    step: Step,
    tile: Option<Vec<u8>>,
    bundle: Option<FetchedBundle>,
    bytes: u64,
}

/// A bundle's bytes, the path they came from and how many entries that
/// resource holds (more than the tile's width when a full bundle stood in
/// for a deleted partial one).
struct FetchedBundle {
    path: String,
    data: Vec<u8>,
    holds: usize,
}

async fn fetch_step<F: Fetch>(fetch: &F, step: Step) -> Result<Fetched, LogError> {
    match step {
        Step::Root(t) if t.level == 0 => {
            let (b, n) = fetch_bundle(fetch, t).await?;
            Ok(Fetched { step, tile: None, bundle: Some(b), bytes: n })
        }
        Step::Root(_) => Ok(Fetched { step, tile: None, bundle: None, bytes: 0 }),
        Step::Full(t) if t.level == 0 => {
            let (tile, bundle) =
                futures_util::future::join(fetch_tile(fetch, t), fetch_bundle(fetch, t)).await;
            let ((tile, n1), (bundle, n2)) = (tile?, bundle?);
            Ok(Fetched { step, tile: Some(tile), bundle: Some(bundle), bytes: n1 + n2 })
        }
        Step::Full(t) => {
            let (tile, n) = fetch_tile(fetch, t).await?;
            Ok(Fetched { step, tile: Some(tile), bundle: None, bytes: n })
        }
    }
}

/// The bytes of `tile`, exactly its width of hashes, and the bytes fetched.
async fn fetch_tile<F: Fetch>(fetch: &F, tile: Tile) -> Result<(Vec<u8>, u64), LogError> {
    let path = tile.path();
    let level = tile.level;
    if let Some(data) = get(fetch, &path).await? {
        if data.len() != tile.data_len() {
            return Err(LogError::TileLength { path, level, len: data.len(), expected: tile.data_len() });
        }
        let n = data.len() as u64;
        return Ok((data, n));
    }
    if tile.is_full() {
        return Err(LogError::MissingTile { path, level });
    }
    // A partial tile may be gone once the full tile exists: use its prefix.
    let full = Tile::full(level, tile.index);
    match get(fetch, &full.path()).await? {
        Some(mut data) if data.len() == FULL_TILE_BYTES => {
            data.truncate(tile.data_len());
            Ok((data, FULL_TILE_BYTES as u64))
        }
        Some(data) => {
            Err(LogError::TileLength { path: full.path(), level, len: data.len(), expected: FULL_TILE_BYTES })
        }
        None => Err(LogError::MissingTile { path, level }),
    }
}

/// The bundle for level-0 `tile`, or the full bundle if the partial one is
/// gone, and the bytes fetched.
async fn fetch_bundle<F: Fetch>(fetch: &F, tile: Tile) -> Result<(FetchedBundle, u64), LogError> {
    let bundle = Bundle { index: tile.index, width: tile.width };
    let path = bundle.path();
    if let Some(data) = get(fetch, &path).await? {
        let n = data.len() as u64;
        return Ok((FetchedBundle { path, data, holds: usize::from(bundle.width) }, n));
    }
    if bundle.width < TILE_WIDTH {
        let full = Bundle { index: tile.index, width: TILE_WIDTH };
        if let Some(data) = get(fetch, &full.path()).await? {
            let n = data.len() as u64;
            return Ok((FetchedBundle { path: full.path(), data, holds: usize::from(TILE_WIDTH) }, n));
        }
    }
    Err(LogError::MissingBundle { path })
}

/// Checks a bundle against its authenticated level-0 tile.
fn check_bundle(tile: Tile, tile_data: &[u8], bundle: &FetchedBundle) -> Result<(), LogError> {
    let entries = decode_bundle(&bundle.data)
        .map_err(|source| LogError::Bundle { path: bundle.path.clone(), source })?;
    if entries.len() != bundle.holds {
        return Err(LogError::BundleWidth {
            path: bundle.path.clone(),
            expected: bundle.holds,
            got: entries.len(),
        });
    }
    let first = tile.index << 8;
    for (position, (entry, expected)) in entries.iter().zip(tile_hashes(tile_data)).enumerate() {
        let computed = leaf_hash(entry);
        if computed != expected {
            return Err(LogError::EntryMismatch {
                bundle: bundle.path.clone(),
                tile,
                index: first + position as u64,
                position: position as u16,
                computed,
                expected,
            });
        }
    }
    Ok(())
}

/// The right-edge tiles do not give the checkpoint root: find the first
/// right-edge hash that disagrees with what lies below it.
async fn diagnose_right_edge<F: Fetch>(
    fetch: &F,
    roots: &[Tile],
    root_data: &HashMap<Tile, Vec<u8>>,
    size: u64,
    computed: Hash,
    root: Hash,
) -> LogError {
    for r in roots {
        let data = &root_data[r];
        let mismatch = |position: usize, below: String, computed: Hash| LogError::RightEdgeMismatch {
            path: r.path(),
            level: r.level,
            position: position as u16,
            found: hash_at(data, position),
            below,
            computed,
        };
        if r.level == 0 {
            let bundle = match fetch_bundle(fetch, *r).await {
                Ok((b, _)) => b,
                Err(e) => return e,
            };
            let entries = match decode_bundle(&bundle.data) {
                Ok(e) => e,
                Err(source) => return LogError::Bundle { path: bundle.path, source },
            };
            for (position, entry) in entries.iter().take(usize::from(r.width)).enumerate() {
                let h = leaf_hash(entry);
                if h != hash_at(data, position) {
                    let index = (r.index << 8) + position as u64;
                    return mismatch(position, format!("entry {index} in bundle {}", bundle.path), h);
                }
            }
            continue;
        }
        let children: Vec<Tile> =
            (0..r.width).map(|j| Tile::full(r.level - 1, (r.index << 8) + u64::from(j))).collect();
        let mut fetched =
            futures_util::stream::iter(children.iter().map(|c| fetch_tile(fetch, *c))).buffered(CONCURRENCY);
        let mut position = 0;
        while let Some(child) = fetched.next().await {
            let child_data = match child {
                Ok((d, _)) => d,
                Err(e) => return e,
            };
            let h = tile_root(&child_data);
            if h != hash_at(data, position) {
                return mismatch(position, format!("its child tile {}", children[position].path()), h);
            }
            position += 1;
        }
    }
    LogError::RootMismatch { size, tiles: roots.iter().map(Tile::path).collect(), computed, expected: root }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(size: u64) -> Vec<Tile> {
        let roots: Vec<Tile> = new_tiles(0, size).into_iter().rev().filter(|t| !t.is_full()).collect();
        Plan::new(&roots)
            .map(|s| match s {
                Step::Root(t) | Step::Full(t) => t,
            })
            .collect()
    }

    #[test]
    fn the_walk_visits_every_tile_once_level_0_in_order() {
        for size in [1, 255, 256, 257, 65535, 65536, 65537, 70_000, 256 * 256 * 3 + 5] {
            let mut seen = visit(size);
            let level0: Vec<u64> = seen.iter().filter(|t| t.level == 0).map(|t| t.index).collect();
            assert!(level0.windows(2).all(|w| w[0] < w[1]), "size {size}");
            seen.sort();
            let mut want = new_tiles(0, size);
            want.sort();
            assert_eq!(seen, want, "size {size}");
        }
        assert!(visit(0).is_empty());
    }
}
