//! An in-memory log of stored hashes: the reference [`HashReader`] for
//! tests, fuzzing, benchmarks, and anyone who wants a whole tree in RAM.

use std::convert::Infallible;

use crate::hash::{Hash, leaf_hash};
use crate::merkle::{HashReader, stored_hash_count, stored_hashes_for_record, tree_hash};
use crate::tile::{Tile, read_tile_data};

/// Stored hashes of a tree, in stored-hash order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryHashStore {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryHashStore {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of the given entries.
    pub fn from_entries<E: AsRef<[u8]>>(entries: impl IntoIterator<Item = E>) -> Self {
        let mut store = Self::new();
        for e in entries {
            store.append_entry(e.as_ref());
        }
        store
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends an entry; returns its index.
    pub fn append_entry(&mut self, entry: &[u8]) -> u64 {
        self.append_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf by its hash; returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size;
        // Every hash a new leaf needs was stored by earlier appends.
        let new = stored_hashes_for_record(index, leaf, &*self).expect("earlier hashes are stored");
        self.hashes.extend(new);
        self.size += 1;
        debug_assert_eq!(self.hashes.len() as u64, stored_hash_count(self.size));
        index
    }

    /// The root of the current tree.
    pub fn root(&self) -> Hash {
        tree_hash(self.size, self).expect("all hashes of the tree are stored")
    }

    /// The root of the tree's first `size` leaves.
    pub fn root_at(&self, size: u64) -> Hash {
        tree_hash(size.min(self.size), self).expect("all hashes of the tree are stored")
    }

    /// The bytes of a tile of this tree, or `None` if the tree does not
    /// have that many hashes yet.
    pub fn tile_data(&self, tile: &Tile) -> Option<Vec<u8>> {
        read_tile_data(tile, self).ok()
    }
}

/// Reading a missing hash is a caller bug; it answers with fewer hashes,
/// which the algorithms report as [`crate::TreeError::WrongCount`].
impl HashReader for MemoryHashStore {
    type Error = Infallible;

    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Infallible> {
        Ok(indexes.iter().map_while(|&i| self.hashes.get(usize::try_from(i).ok()?).copied()).collect())
    }
}
