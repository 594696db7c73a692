//! A whole log as the static files a tlog-tiles server publishes, built in
//! memory from entries with `tongxin_tlog`: the checkpoint signed with a
//! given key, every hash tile and every entry bundle of the tree. For tests,
//! benchmarks and examples; the log service writes its own files.

use std::collections::BTreeMap;
use std::path::Path;

use tongxin_tlog::{
    Checkpoint, CheckpointError, MemoryHashStore, Note, SignerKey, encode_bundle, new_bundles, new_tiles,
};

use crate::fetch::MemoryFetch;

/// Why a fixture log cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Bundle(#[from] tongxin_tlog::BundleError),
}

/// A log's published files, by path below the log prefix.
#[derive(Clone, Debug)]
pub struct StaticLog {
    /// The tree.
    pub store: MemoryHashStore,
    /// The signed checkpoint for the whole tree.
    pub checkpoint: Note,
    /// `checkpoint`, `tile/<L>/<N>[.p/<W>]`, `tile/entries/<N>[.p/<W>]`.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl StaticLog {
    /// The log of `entries`, its checkpoint signed by `key` with the key's
    /// name as origin.
    pub fn build<E: AsRef<[u8]>>(entries: &[E], key: &SignerKey) -> Result<StaticLog, FixtureError> {
        let store = MemoryHashStore::from_entries(entries.iter().map(AsRef::as_ref));
        let size = store.size();
        let checkpoint = Checkpoint::new(key.name(), size, store.root())?.sign(key)?;
        let mut files = BTreeMap::new();
        files.insert("checkpoint".to_owned(), checkpoint.to_string().into_bytes());
        for tile in new_tiles(0, size) {
            let data = store.tile_data(&tile).expect("every tile of the tree is stored");
            files.insert(tile.path(), data);
        }
        for bundle in new_bundles(0, size) {
            let first = bundle.first_entry() as usize;
            let data = encode_bundle(&entries[first..first + usize::from(bundle.width)])?;
            files.insert(bundle.path(), data);
        }
        Ok(StaticLog { store, checkpoint, files })
    }

    /// Writes every file under `dir` (creating directories).
    pub fn write_to_dir(&self, dir: &Path) -> std::io::Result<()> {
        for (path, data) in &self.files {
            let file = dir.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(file, data)?;
        }
        Ok(())
    }

    /// Serves the files from memory.
    pub fn fetch(&self) -> MemoryFetch {
        MemoryFetch::new(self.files.clone())
    }
}
