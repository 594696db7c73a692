//! Transparency-log formats and algorithms for tongxin: RFC 6962 / RFC 9162
//! Merkle trees and proofs, and the C2SP specifications `tlog-tiles`,
//! `signed-note`, `tlog-checkpoint`, `tlog-cosignature`, `tlog-witness` and
//! `tlog-proof@v1`, implemented exactly so that tools we did not write can
//! verify our log.
//!
//! **Architecture invariant:** this crate knows nothing of reports,
//! databases, HTTP or files. It is formats and pure algorithms; storage
//! plugs in through [`HashReader`] (stored hashes by index) and
//! [`TileReader`] (tiles by coordinate), HTTP status codes are values the
//! witness errors carry, and time is a parameter. Sequencing, storage,
//! serving and the CLI live in other crates and build on this API.
//!
//! Map of the crate:
//! - [`hash`]: SHA-256 leaf and node hashing, the [`Hash`] type.
//! - [`merkle`]: stored-hash layout, tree roots, inclusion and consistency
//!   proofs, their verification.
//! - [`tile`]: tile and entry-bundle paths, which tiles a tree publishes,
//!   their bytes, bundles, and a tile-backed authenticated `HashReader`.
//! - [`note`]: signed notes, keys and key strings, verification.
//! - [`checkpoint`], [`cosignature`], [`receipt`], [`witness`]: the log's
//!   tree heads, witness cosignatures, receipts and the witness protocol.
//! - [`memory`], [`bench`]: an in-memory tree and timed runs over it.

pub mod bench;
pub mod checkpoint;
pub mod cosignature;
mod encoding;
#[doc(hidden)]
pub mod fuzzing;
pub mod hash;
pub mod memory;
pub mod merkle;
pub mod note;
pub mod receipt;
pub mod tile;
pub mod witness;

pub use checkpoint::{
    Checkpoint, CheckpointError, VerifiedCheckpoint, validate_log_origin, verify_checkpoint_note,
};
pub use cosignature::{CosignatureError, cosign, cosignature_message};
pub use hash::{EMPTY_ROOT, HASH_SIZE, Hash, leaf_hash, node_hash};
pub use memory::MemoryHashStore;
pub use merkle::{
    HashReader, ProofError, TreeError, prove_consistency, prove_inclusion, root_from_inclusion_proof,
    split_stored_hash_index, stored_hash_count, stored_hash_index, stored_hashes_for_leaves,
    stored_hashes_for_record, tree_hash, verify_consistency, verify_inclusion,
};
pub use note::{
    KeyError, Note, NoteError, NoteSignature, SignatureType, SignerKey, VerifiedNote, VerifiedSignature,
    VerifierKey,
};
pub use receipt::{
    Leaf, Receipt, ReceiptError, ReceiptPolicy, VerifiedReceipt, VerifyReceiptError, verify_receipt,
};
pub use tile::{
    Bundle, BundleError, MAX_ENTRY_SIZE, OwnTileHashReader, TILE_HEIGHT, TILE_WIDTH, Tile, TileError,
    TileHashReader, TilePath, TilePathError, TileReadError, TileReader, decode_bundle, encode_bundle,
    new_bundles, new_tiles, parse_path,
};
pub use witness::{AddCheckpointRequest, Cosigned, TreeState, Witness, WitnessError, WitnessedLog};
