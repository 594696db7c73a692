//! `c2sp.org/tlog-tiles`: hash tiles and entry bundles, their paths, which
//! of them a tree publishes, their bytes, and a [`HashReader`] that serves
//! hashes from fetched tiles after authenticating them against a checkpoint.
//!
//! Tiles have height 8: a full tile is 256 hashes (8,192 bytes); level-0
//! tiles hold leaf hashes, and each hash of a level-L tile (L ≥ 1) is the
//! root of a full tile at level L-1. Paths are relative to the log prefix.
//!
//! Why by hand: the published `tlog_tiles` 0.2.0 crate writes the Go sumdb
//! paths (`tile/8/0/…`, `tile/8/data/…`), not the C2SP ones (`tile/0/…`,
//! `tile/entries/…`), and has no entry bundles. The algorithms follow Go's
//! `golang.org/x/mod/sumdb/tlog` tile code with the height fixed at 8.

use std::collections::HashMap;
use std::fmt;

use crate::encoding::parse_decimal;
use crate::hash::{HASH_SIZE, Hash, leaf_hash, node_hash};
use crate::merkle::{
    HashReader, TreeError, consistency_proof_indexes, inclusion_proof_indexes, split_stored_hash_index,
    stored_hash_index,
};

/// Tile height: each tile spans 8 levels of the tree.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile (or bundle).
pub const TILE_WIDTH: u16 = 1 << TILE_HEIGHT;
/// Bytes in a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;
/// Highest tile level the path syntax allows (`<L>` is 0..=63).
pub const MAX_TILE_LEVEL: u8 = 63;
/// Largest entry an entry bundle can hold: its length is a big-endian uint16.
pub const MAX_ENTRY_SIZE: usize = u16::MAX as usize;

/// A hash tile: `tile/<level>/<index>[.p/<width>]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Tile {
    /// 0..=63; level-L hashes are roots of subtrees of 256^L leaves.
    pub level: u8,
    /// Position of the tile within its level.
    pub index: u64,
    /// 1..=256; 256 is a full tile, anything less a partial one.
    pub width: u16,
}

/// An entry bundle: `tile/entries/<index>[.p/<width>]`, the entries whose
/// leaf hashes make up level-0 tile `index`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Bundle {
    /// Position of the bundle: it holds entries `index*256 ..`.
    pub index: u64,
    /// 1..=256 entries; 256 is a full bundle.
    pub width: u16,
}

/// A parsed tile-tree resource path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum TilePath {
    /// `tile/<L>/<N>[.p/<W>]`
    Tile(Tile),
    /// `tile/entries/<N>[.p/<W>]`
    Bundle(Bundle),
}

/// Why a path is not a canonical tile or bundle path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TilePathError {
    #[error("tile path {path:?} does not start with \"tile/\"")]
    NoTilePrefix { path: String },
    #[error("tile path {path:?} has level {level:?}; a level is a decimal 0..=63 without leading zeroes")]
    BadLevel { path: String, level: String },
    #[error("tile path {path:?} has no index after the level")]
    MissingIndex { path: String },
    #[error(
        "tile path {path:?} has index element {element:?}; all but the last must be \"x\" and 3 digits, the last 3 digits"
    )]
    BadIndexElement { path: String, element: String },
    #[error("tile path {path:?} starts its index with \"x000\", which is not the canonical encoding")]
    NonCanonicalIndex { path: String },
    #[error("tile path {path:?} has an index too large for 64 bits")]
    IndexOverflow { path: String },
    #[error(
        "tile path {path:?} has width {width:?}; a partial width is a decimal 1..=255 without leading zeroes"
    )]
    BadWidth { path: String, width: String },
}

/// Why an entry bundle cannot be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error(
        "entry {index} is {len} bytes; an entry bundle prefixes entries with a uint16 length, so entries must be at most {MAX_ENTRY_SIZE} bytes"
    )]
    EntryTooLarge { index: usize, len: usize },
    #[error("a bundle holds 1 to 256 entries, not {count}")]
    BadCount { count: usize },
    #[error("bundle is truncated in the length prefix of entry {index} at byte {offset}")]
    TruncatedLength { index: usize, offset: usize },
    #[error("bundle entry {index} declares {len} bytes at byte {offset}, but only {available} remain")]
    TruncatedEntry { index: usize, offset: usize, len: usize, available: usize },
    #[error("bundle holds more than 256 entries (extra data at byte {offset})")]
    TooManyEntries { offset: usize },
    #[error("bundle {path} should hold {expected} entries but holds {got}")]
    WidthMismatch { path: String, expected: u16, got: usize },
    #[error(
        "entry {index} (log index {}) of bundle {bundle} hashes to {computed}, but tile {} says {expected}",
        bundle.first_entry() + *index as u64,
        bundle.tile()
    )]
    LeafMismatch { bundle: Bundle, index: usize, computed: Hash, expected: Hash },
    #[error("level-0 tile {tile} is {len} bytes; it must be {expected}")]
    TileLength { tile: String, len: usize, expected: usize },
}

/// Why a tile's bytes cannot give the hash asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    #[error(
        "tile {tile} is {len} bytes; it must be a whole number of hashes, at least {needed} bytes and at most {FULL_TILE_BYTES}"
    )]
    BadLength { tile: String, len: usize, needed: usize },
    #[error("stored hash index {index} is in tile {actual}, not in tile {tile}")]
    WrongTile { index: u64, tile: String, actual: String },
    #[error("tile {tile} is not a valid tile (level ≤ 63, width 1..=256)")]
    Invalid { tile: String },
}

/// Why [`TileHashReader`] could not serve hashes.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError<E: std::error::Error + 'static> {
    #[error("reading tiles failed: {0}")]
    Read(#[source] E),
    #[error("tile reader returned {got} tiles for {wanted} requested")]
    WrongCount { wanted: usize, got: usize },
    #[error("stored hash index {index} is not in the tree of size {size}")]
    IndexNotInTree { index: u64, size: u64 },
    #[error(transparent)]
    Tile(#[from] TileError),
    #[error("tiles {tiles:?} lead to root {computed}, but the checkpoint for size {size} says {expected}")]
    RootMismatch { size: u64, tiles: Vec<String>, computed: Hash, expected: Hash },
    #[error("tile {tile} hashes to {computed}, but its parent tile {parent} says {expected}")]
    ParentMismatch { tile: String, parent: String, computed: Hash, expected: Hash },
}

// ---------------------------------------------------------------- paths

/// Encodes a tile index as 3-digit path elements, "x" before all but the
/// last: 1234067 → `x001/x234/067`.
fn encode_index(mut n: u64) -> String {
    let mut out = format!("{:03}", n % 1000);
    while n >= 1000 {
        n /= 1000;
        out = format!("x{:03}/{out}", n % 1000);
    }
    out
}

fn encode_width(width: u16) -> String {
    if width == TILE_WIDTH { String::new() } else { format!(".p/{width}") }
}

impl Tile {
    /// A full tile.
    pub fn full(level: u8, index: u64) -> Tile {
        Tile { level, index, width: TILE_WIDTH }
    }

    /// Whether this is a full (256-hash) tile.
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The path below the log prefix: `tile/<L>/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/{}/{}{}", self.level, encode_index(self.index), encode_width(self.width))
    }

    /// Parses a hash tile path (not a bundle path).
    pub fn parse_path(path: &str) -> Result<Tile, TilePathError> {
        match parse_path(path)? {
            TilePath::Tile(t) => Ok(t),
            TilePath::Bundle(_) => {
                Err(TilePathError::BadLevel { path: path.to_owned(), level: "entries".to_owned() })
            }
        }
    }

    /// Bytes of this tile: 32 per hash.
    pub fn data_len(&self) -> usize {
        usize::from(self.width) * HASH_SIZE
    }

    /// The stored-hash indexes of this tile's hashes, in order.
    pub fn stored_hash_indexes(&self) -> Vec<u64> {
        let level = u32::from(self.level) * TILE_HEIGHT;
        let start = self.index << TILE_HEIGHT;
        (0..u64::from(self.width)).map(|i| stored_hash_index(level, start + i)).collect()
    }

    fn is_valid(&self) -> bool {
        self.level <= MAX_TILE_LEVEL && (1..=TILE_WIDTH).contains(&self.width)
    }
}

impl Bundle {
    /// The path below the log prefix: `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        format!("tile/entries/{}{}", encode_index(self.index), encode_width(self.width))
    }

    /// Parses an entry bundle path (not a hash tile path).
    pub fn parse_path(path: &str) -> Result<Bundle, TilePathError> {
        match parse_path(path)? {
            TilePath::Bundle(b) => Ok(b),
            TilePath::Tile(t) => {
                Err(TilePathError::BadLevel { path: path.to_owned(), level: t.level.to_string() })
            }
        }
    }

    /// Log index of the first entry in this bundle.
    pub fn first_entry(&self) -> u64 {
        self.index << TILE_HEIGHT
    }

    /// The level-0 tile holding this bundle's leaf hashes.
    pub fn tile(&self) -> Tile {
        Tile { level: 0, index: self.index, width: self.width }
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl fmt::Display for Bundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

impl TilePath {
    /// The path below the log prefix.
    pub fn path(&self) -> String {
        match self {
            TilePath::Tile(t) => t.path(),
            TilePath::Bundle(b) => b.path(),
        }
    }
}

/// Parses `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]` strictly: only
/// the canonical encoding of each value is accepted, so a parsed path always
/// prints back to itself.
pub fn parse_path(path: &str) -> Result<TilePath, TilePathError> {
    let p = || path.to_owned();
    let rest = path.strip_prefix("tile/").ok_or_else(|| TilePathError::NoTilePrefix { path: p() })?;
    let (level_str, rest) = rest.split_once('/').ok_or_else(|| TilePathError::MissingIndex { path: p() })?;
    let level = if level_str == "entries" {
        None
    } else {
        match parse_decimal(level_str) {
            Some(l) if l <= u64::from(MAX_TILE_LEVEL) => Some(l as u8),
            _ => return Err(TilePathError::BadLevel { path: p(), level: level_str.to_owned() }),
        }
    };
    // A partial tile ends in ".p/<W>", which itself contains a slash.
    let (index_str, width) = match rest.rsplit_once(".p/") {
        Some((idx, w)) => match parse_decimal(w) {
            Some(w) if (1..u64::from(TILE_WIDTH)).contains(&w) => (idx, w as u16),
            _ => return Err(TilePathError::BadWidth { path: p(), width: w.to_owned() }),
        },
        None => (rest, TILE_WIDTH),
    };
    if index_str.is_empty() {
        return Err(TilePathError::MissingIndex { path: p() });
    }
    let elements: Vec<&str> = index_str.split('/').collect();
    let mut index: u64 = 0;
    for (i, element) in elements.iter().enumerate() {
        let last = i + 1 == elements.len();
        let digits = if last { Some(*element) } else { element.strip_prefix('x') };
        let value = match digits {
            Some(d) if d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()) => d.parse::<u64>().unwrap_or(0),
            _ => return Err(TilePathError::BadIndexElement { path: p(), element: (*element).to_owned() }),
        };
        if i == 0 && !last && value == 0 {
            return Err(TilePathError::NonCanonicalIndex { path: p() });
        }
        index = index
            .checked_mul(1000)
            .and_then(|v| v.checked_add(value))
            .ok_or_else(|| TilePathError::IndexOverflow { path: p() })?;
    }
    Ok(match level {
        Some(level) => TilePath::Tile(Tile { level, index, width }),
        None => TilePath::Bundle(Bundle { index, width }),
    })
}

// ------------------------------------------------------ what to publish

/// The hash tiles to write after the tree grows from `old_size` to
/// `new_size` leaves: every tile that is new or wider, full ones and the
/// rightmost partial one at each level. `new_tiles(0, n)` is every tile a
/// tree of size `n` publishes. Ordered by level, then index.
pub fn new_tiles(old_size: u64, new_size: u64) -> Vec<Tile> {
    let mut tiles = Vec::new();
    let mut level: u32 = 0;
    while level <= u32::from(MAX_TILE_LEVEL) {
        let shift = TILE_HEIGHT * level;
        if shift >= 64 || new_size >> shift == 0 {
            break;
        }
        let old_n = if old_size >= new_size { new_size >> shift } else { old_size >> shift };
        let new_n = new_size >> shift;
        if old_n != new_n {
            for index in (old_n >> TILE_HEIGHT)..(new_n >> TILE_HEIGHT) {
                tiles.push(Tile::full(level as u8, index));
            }
            let index = new_n >> TILE_HEIGHT;
            let width = (new_n - (index << TILE_HEIGHT)) as u16;
            if width > 0 {
                tiles.push(Tile { level: level as u8, index, width });
            }
        }
        level += 1;
    }
    tiles
}

/// The entry bundles to write after the tree grows from `old_size` to
/// `new_size`: the level-0 counterparts of [`new_tiles`].
pub fn new_bundles(old_size: u64, new_size: u64) -> Vec<Bundle> {
    new_tiles(old_size, new_size)
        .into_iter()
        .filter(|t| t.level == 0)
        .map(|t| Bundle { index: t.index, width: t.width })
        .collect()
}

/// The widest version of tile (`level`, `index`) that a tree of `size`
/// leaves has, or `None` if the tree has no hash there yet.
pub fn tile_in_tree(level: u8, index: u64, size: u64) -> Option<Tile> {
    let shift = TILE_HEIGHT * u32::from(level);
    if shift >= 64 {
        return None;
    }
    let hashes_at_level = size >> shift;
    let start = index.checked_mul(u64::from(TILE_WIDTH))?;
    if start >= hashes_at_level {
        return None;
    }
    let width = (hashes_at_level - start).min(u64::from(TILE_WIDTH)) as u16;
    Some(Tile { level, index, width })
}

/// The bytes of `tile`: its hashes concatenated, read from stored hashes.
pub fn read_tile_data<R: HashReader>(tile: &Tile, reader: &R) -> Result<Vec<u8>, TreeError<R::Error>> {
    let indexes = tile.stored_hash_indexes();
    let hashes = reader.read_hashes(&indexes).map_err(TreeError::Read)?;
    if hashes.len() != indexes.len() {
        return Err(TreeError::WrongCount { wanted: indexes.len(), got: hashes.len() });
    }
    let mut data = Vec::with_capacity(tile.data_len());
    for h in &hashes {
        data.extend_from_slice(&h.0);
    }
    Ok(data)
}

/// Splits tile bytes into hashes.
pub fn tile_hashes(data: &[u8]) -> Vec<Hash> {
    data.chunks_exact(HASH_SIZE).map(|c| Hash(c.try_into().expect("chunk of 32"))).collect()
}

// ------------------------------------------------- hashes out of tiles

/// The smallest tile holding stored hash `index`, and the byte range within
/// it from which that hash is computed (one hash for levels that are
/// multiples of 8, a power-of-two run of hashes for levels between).
pub fn tile_for_stored_index(index: u64) -> (Tile, usize, usize) {
    let (level, n) = split_stored_hash_index(index);
    let tile_level = level / TILE_HEIGHT;
    let within = level - tile_level * TILE_HEIGHT;
    let tile_index = (n << within) >> TILE_HEIGHT;
    let n_in_tile = n - ((tile_index << TILE_HEIGHT) >> within);
    let width = ((n_in_tile + 1) << within) as u16;
    let start = ((n_in_tile << within) as usize) * HASH_SIZE;
    let end = (((n_in_tile + 1) << within) as usize) * HASH_SIZE;
    (Tile { level: tile_level as u8, index: tile_index, width }, start, end)
}

/// Merkle root of a power-of-two run of hashes (a full tile, or part of one).
pub fn tile_root(data: &[u8]) -> Hash {
    let n = data.len() / HASH_SIZE;
    if n <= 1 {
        return Hash::from_slice(&data[..HASH_SIZE]).expect("32 bytes");
    }
    // Only called on power-of-two runs, where halving is RFC 6962's split.
    let half = n / 2;
    node_hash(&tile_root(&data[..half * HASH_SIZE]), &tile_root(&data[half * HASH_SIZE..]))
}

/// Reads stored hash `index` out of the bytes of `tile`.
pub fn hash_from_tile(tile: &Tile, data: &[u8], index: u64) -> Result<Hash, TileError> {
    if !tile.is_valid() {
        return Err(TileError::Invalid { tile: tile.path() });
    }
    check_tile_len(tile, data)?;
    let (actual, start, end) = tile_for_stored_index(index);
    if actual.level != tile.level || actual.index != tile.index || actual.width > tile.width {
        return Err(TileError::WrongTile { index, tile: tile.path(), actual: actual.path() });
    }
    Ok(tile_root(&data[start..end]))
}

fn check_tile_len(tile: &Tile, data: &[u8]) -> Result<(), TileError> {
    // Longer data is accepted, as Go does: a client may fetch the full tile
    // when a partial one is gone, and the prefix is the partial tile.
    if !data.len().is_multiple_of(HASH_SIZE) || data.len() < tile.data_len() || data.len() > FULL_TILE_BYTES {
        return Err(TileError::BadLength { tile: tile.path(), len: data.len(), needed: tile.data_len() });
    }
    Ok(())
}

/// Widens `tile` to its ancestor `k` levels up, clipped to a tree of `size`.
fn tile_parent(tile: Tile, k: u32, size: u64) -> Option<Tile> {
    let level = u32::from(tile.level) + k;
    if level > u32::from(MAX_TILE_LEVEL) {
        return None;
    }
    let index = tile.index.checked_shr(k * TILE_HEIGHT).unwrap_or(0);
    tile_in_tree(level as u8, index, size)
}

/// Fetches hash tiles, e.g. over HTTP, from a directory, or from a database.
pub trait TileReader {
    /// The fetcher's own failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the bytes of each tile, in order. A partial tile may be
    /// answered with a wider version of it.
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Self::Error>;
}

impl<T: TileReader + ?Sized> TileReader for &T {
    type Error = T::Error;
    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Self::Error> {
        (**self).read_tiles(tiles)
    }
}

/// Which tiles hold a set of stored hashes and the tiles that authenticate
/// them against the root of a tree of `size`, parents before children.
#[derive(Debug, Clone)]
struct TilePlan {
    tiles: Vec<Tile>,
    /// Stored indexes of the complete subtrees whose hashes make the root.
    root_indexes: Vec<u64>,
    root_tile: Vec<usize>,
    /// How many leading entries of `tiles` are the root tiles.
    root_tiles: usize,
    index_tile: Vec<usize>,
}

fn plan_tiles(size: u64, indexes: &[u64]) -> Result<TilePlan, u64> {
    let mut order: HashMap<Tile, usize> = HashMap::new();
    let mut tiles = Vec::new();
    let mut root_indexes = Vec::new();
    let mut lo = 0;
    while lo < size {
        let level = 63 - (size - lo).leading_zeros();
        root_indexes.push(stored_hash_index(level, lo >> level));
        lo += 1 << level;
    }
    let mut root_tile = Vec::with_capacity(root_indexes.len());
    for &x in &root_indexes {
        let (t, _, _) = tile_for_stored_index(x);
        let t = tile_parent(t, 0, size).ok_or(x)?;
        let j = *order.entry(t).or_insert_with(|| {
            tiles.push(t);
            tiles.len() - 1
        });
        root_tile.push(j);
    }
    let root_tiles = tiles.len();
    let limit = stored_hash_index(0, size);
    let mut index_tile = Vec::with_capacity(indexes.len());
    for &x in indexes {
        if x >= limit {
            return Err(x);
        }
        let (t, _, _) = tile_for_stored_index(x);
        // Walk up until a tile already planned; it authenticates the chain.
        let mut k = 0;
        let found = loop {
            let p = tile_parent(t, k, size).ok_or(x)?;
            if let Some(&j) = order.get(&p) {
                break j;
            }
            k += 1;
        };
        if k == 0 {
            index_tile.push(found);
            continue;
        }
        // Walk back down, parents before children. Only full tiles have
        // parents, so every tile added here is full.
        for kk in (0..k).rev() {
            let p = tile_parent(t, kk, size).ok_or(x)?;
            order.insert(p, tiles.len());
            tiles.push(p);
        }
        index_tile.push(tiles.len() - 1);
    }
    Ok(TilePlan { tiles, root_indexes, root_tile, root_tiles, index_tile })
}

/// The hash tiles needed to read `indexes` (stored-hash indexes) from a tree
/// of `size` and authenticate them against its root. None for no indexes.
pub fn tiles_for_stored_hashes(
    size: u64,
    indexes: &[u64],
) -> Result<Vec<Tile>, TreeError<std::convert::Infallible>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    plan_tiles(size, indexes)
        .map(|p| p.tiles)
        .map_err(|index| TreeError::IndexOutOfRange { index, size: crate::merkle::stored_hash_count(size) })
}

/// The hash tiles whose hashes make up the root of the tree of `size`: what
/// a client fetches to check a checkpoint's root against the tiles.
pub fn tiles_for_tree_hash(size: u64) -> Vec<Tile> {
    plan_tiles(size, &[]).map(|p| p.tiles).unwrap_or_default()
}

/// The hash tiles a client fetches to build and check the inclusion proof of
/// leaf `index` in the tree of `size`.
pub fn tiles_for_inclusion_proof(
    index: u64,
    size: u64,
) -> Result<Vec<Tile>, TreeError<std::convert::Infallible>> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    tiles_for_stored_hashes(size, &inclusion_proof_indexes(index, size))
}

/// The hash tiles a client fetches to build and check the consistency proof
/// from `old` to `new`.
pub fn tiles_for_consistency_proof(
    old: u64,
    new: u64,
) -> Result<Vec<Tile>, TreeError<std::convert::Infallible>> {
    if old > new {
        return Err(TreeError::OldLargerThanNew { old, new });
    }
    tiles_for_stored_hashes(new, &consistency_proof_indexes(old, new))
}

/// A [`HashReader`] over fetched tiles for one tree (size and root, from a
/// verified checkpoint). Every tile it reads is authenticated: the tiles
/// that make up the root are checked against it, every other tile against
/// its parent, so a hash it returns is one the checkpoint commits to.
pub struct TileHashReader<T> {
    size: u64,
    root: Hash,
    tiles: T,
}

impl<T: TileReader> TileHashReader<T> {
    /// Serves hashes of the tree of `size` leaves with root `root`.
    pub fn new(size: u64, root: Hash, tiles: T) -> Self {
        TileHashReader { size, root, tiles }
    }
}

impl<T: TileReader> HashReader for TileHashReader<T> {
    type Error = TileReadError<T::Error>;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error> {
        let size = self.size;
        if indexes.is_empty() {
            return Ok(Vec::new());
        }
        let plan =
            plan_tiles(size, indexes).map_err(|index| TileReadError::IndexNotInTree { index, size })?;
        if plan.tiles.is_empty() {
            return Ok(Vec::new());
        }
        let data = self.tiles.read_tiles(&plan.tiles).map_err(TileReadError::Read)?;
        if data.len() != plan.tiles.len() {
            return Err(TileReadError::WrongCount { wanted: plan.tiles.len(), got: data.len() });
        }
        for (t, d) in plan.tiles.iter().zip(&data) {
            check_tile_len(t, d)?;
        }
        // The root tiles first: together they must give the checkpoint root.
        let last = plan.root_indexes.len() - 1;
        let mut root = hash_from_tile(
            &plan.tiles[plan.root_tile[last]],
            &data[plan.root_tile[last]],
            plan.root_indexes[last],
        )?;
        for i in (0..last).rev() {
            let j = plan.root_tile[i];
            let h = hash_from_tile(&plan.tiles[j], &data[j], plan.root_indexes[i])?;
            root = node_hash(&h, &root);
        }
        if root != self.root {
            return Err(TileReadError::RootMismatch {
                size,
                tiles: plan.tiles[..plan.root_tiles].iter().map(Tile::path).collect(),
                computed: root,
                expected: self.root,
            });
        }
        // Then every other (full) tile against its parent, which is earlier.
        let position: HashMap<Tile, usize> = plan.tiles.iter().enumerate().map(|(i, t)| (*t, i)).collect();
        for i in plan.root_tiles..plan.tiles.len() {
            let tile = plan.tiles[i];
            let parent = tile_parent(tile, 1, size).expect("a full tile has a parent in the tree");
            let j = position[&parent];
            let expected = hash_from_tile(
                &parent,
                &data[j],
                stored_hash_index(u32::from(parent.level) * TILE_HEIGHT, tile.index),
            )?;
            let computed = tile_root(&data[i][..FULL_TILE_BYTES]);
            if computed != expected {
                return Err(TileReadError::ParentMismatch {
                    tile: tile.path(),
                    parent: parent.path(),
                    computed,
                    expected,
                });
            }
        }
        indexes
            .iter()
            .zip(&plan.index_tile)
            .map(|(&x, &j)| hash_from_tile(&plan.tiles[j], &data[j], x).map_err(TileReadError::from))
            .collect()
    }
}

/// A [`HashReader`] over the log's *own* tiles, for the sequencer and the
/// server, whose storage is trusted: reads each hash from the widest tile
/// the tree of `size` has at that position, without authenticating tiles
/// against a root (use [`TileHashReader`] for tiles from elsewhere).
pub struct OwnTileHashReader<T> {
    size: u64,
    tiles: T,
}

impl<T: TileReader> OwnTileHashReader<T> {
    /// Reads hashes of the tree of `size` leaves from `tiles`.
    pub fn new(size: u64, tiles: T) -> Self {
        OwnTileHashReader { size, tiles }
    }
}

impl<T: TileReader> HashReader for OwnTileHashReader<T> {
    type Error = TileReadError<T::Error>;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error> {
        let size = self.size;
        let limit = stored_hash_index(0, size);
        let mut tiles: Vec<Tile> = Vec::new();
        let mut which = Vec::with_capacity(indexes.len());
        for &x in indexes {
            let (t, _, _) = tile_for_stored_index(x);
            let t = tile_in_tree(t.level, t.index, size)
                .filter(|_| x < limit)
                .ok_or(TileReadError::IndexNotInTree { index: x, size })?;
            let j = match tiles.iter().position(|u| *u == t) {
                Some(j) => j,
                None => {
                    tiles.push(t);
                    tiles.len() - 1
                }
            };
            which.push(j);
        }
        if tiles.is_empty() {
            return Ok(Vec::new());
        }
        let data = self.tiles.read_tiles(&tiles).map_err(TileReadError::Read)?;
        if data.len() != tiles.len() {
            return Err(TileReadError::WrongCount { wanted: tiles.len(), got: data.len() });
        }
        indexes
            .iter()
            .zip(&which)
            .map(|(&x, &j)| hash_from_tile(&tiles[j], &data[j], x).map_err(TileReadError::from))
            .collect()
    }
}

// ---------------------------------------------------------- bundles

/// Checks that an entry fits in a bundle (at most 65,535 bytes).
pub fn check_entry_size(index: usize, entry: &[u8]) -> Result<(), BundleError> {
    if entry.len() > MAX_ENTRY_SIZE {
        return Err(BundleError::EntryTooLarge { index, len: entry.len() });
    }
    Ok(())
}

/// Encodes entries as a bundle: each prefixed by its big-endian uint16
/// length. Refuses more than 256 entries or any entry over 65,535 bytes.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    if entries.is_empty() || entries.len() > usize::from(TILE_WIDTH) {
        return Err(BundleError::BadCount { count: entries.len() });
    }
    let mut out = Vec::with_capacity(entries.iter().map(|e| 2 + e.as_ref().len()).sum());
    for (i, e) in entries.iter().enumerate() {
        let e = e.as_ref();
        check_entry_size(i, e)?;
        out.extend_from_slice(&(e.len() as u16).to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Decodes a bundle into its entries (borrowed from `data`). Refuses
/// truncation, more than 256 entries, and an empty bundle.
pub fn decode_bundle(data: &[u8]) -> Result<Vec<&[u8]>, BundleError> {
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        if entries.len() == usize::from(TILE_WIDTH) {
            return Err(BundleError::TooManyEntries { offset });
        }
        if data.len() - offset < 2 {
            return Err(BundleError::TruncatedLength { index: entries.len(), offset });
        }
        let len = usize::from(u16::from_be_bytes([data[offset], data[offset + 1]]));
        let available = data.len() - offset - 2;
        if len > available {
            return Err(BundleError::TruncatedEntry { index: entries.len(), offset, len, available });
        }
        entries.push(&data[offset + 2..offset + 2 + len]);
        offset += 2 + len;
    }
    if entries.is_empty() {
        return Err(BundleError::BadCount { count: 0 });
    }
    Ok(entries)
}

/// Decodes the bytes of `bundle` and checks it holds exactly its width.
pub fn decode_bundle_for<'a>(bundle: &Bundle, data: &'a [u8]) -> Result<Vec<&'a [u8]>, BundleError> {
    let entries = decode_bundle(data)?;
    if entries.len() != usize::from(bundle.width) {
        return Err(BundleError::WidthMismatch {
            path: bundle.path(),
            expected: bundle.width,
            got: entries.len(),
        });
    }
    Ok(entries)
}

/// Checks that every entry of `bundle` hashes to the matching leaf hash of
/// its level-0 tile; names the first entry that does not.
pub fn check_bundle_against_tile(
    bundle: &Bundle,
    bundle_data: &[u8],
    tile_data: &[u8],
) -> Result<(), BundleError> {
    let entries = decode_bundle_for(bundle, bundle_data)?;
    let tile = bundle.tile();
    if tile_data.len() != tile.data_len() {
        return Err(BundleError::TileLength {
            tile: tile.path(),
            len: tile_data.len(),
            expected: tile.data_len(),
        });
    }
    for (i, (entry, expected)) in entries.iter().zip(tile_hashes(tile_data)).enumerate() {
        let computed = leaf_hash(entry);
        if computed != expected {
            return Err(BundleError::LeafMismatch { bundle: *bundle, index: i, computed, expected });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_encoding() {
        assert_eq!(encode_index(0), "000");
        assert_eq!(encode_index(999), "999");
        assert_eq!(encode_index(1000), "x001/000");
        assert_eq!(encode_index(1234067), "x001/x234/067");
        assert_eq!(parse_path("tile/0/x001/x234/067"), Ok(TilePath::Tile(Tile::full(0, 1234067))));
        let max = Tile::full(0, u64::MAX);
        assert_eq!(Tile::parse_path(&max.path()), Ok(max));
    }

    #[test]
    fn tiles_for_70000_match_the_spec_example() {
        // tlog-tiles: "a tree of size 70,000 will be represented by 273 full
        // level 0 tiles, one partial level 0 tile of width 112, one full
        // level 1 tile, one partial level 1 tile of width 17, and one partial
        // level 2 tile of width 1."
        let tiles = new_tiles(0, 70_000);
        let full0 = tiles.iter().filter(|t| t.level == 0 && t.is_full()).count();
        assert_eq!(full0, 273);
        assert!(tiles.contains(&Tile { level: 0, index: 273, width: 112 }));
        assert!(tiles.contains(&Tile::full(1, 0)));
        assert!(tiles.contains(&Tile { level: 1, index: 1, width: 17 }));
        assert!(tiles.contains(&Tile { level: 2, index: 0, width: 1 }));
        assert_eq!(tiles.len(), 273 + 4);
        // "a tree of size 256 will be represented by a full level 0 tile and
        // a partial level 1 tile of width 1."
        assert_eq!(new_tiles(0, 256), vec![Tile::full(0, 0), Tile { level: 1, index: 0, width: 1 }]);
    }

    #[test]
    fn tile_root_of_power_of_two_runs() {
        let hashes: Vec<Hash> = (0u8..4).map(|i| leaf_hash(&[i])).collect();
        let data: Vec<u8> = hashes.iter().flat_map(|h| h.0).collect();
        let want = node_hash(&node_hash(&hashes[0], &hashes[1]), &node_hash(&hashes[2], &hashes[3]));
        assert_eq!(tile_root(&data), want);
    }
}
