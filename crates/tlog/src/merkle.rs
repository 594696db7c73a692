//! The Merkle tree of RFC 6962 / RFC 9162 §2.1 over a log's leaf hashes:
//! the stored-hash layout, tree roots, inclusion and consistency proofs
//! (generated from a [`HashReader`], verified without one).
//!
//! # Stored hashes
//!
//! A log stores, for each complete subtree, its hash, in the dense order of
//! Crosby and Wallach §3.3 that Go's `golang.org/x/mod/sumdb/tlog` uses:
//! appending leaf `n` writes its leaf hash and then the hash of every subtree
//! it completes. Those hashes never change once written, which is what makes
//! immutable tiles possible; hashes of incomplete subtrees (the ragged right
//! edge) are recomputed on demand from complete ones.
//!
//! Why by hand: `ct-merkle` 0.3 (used as the oracle in the tests) keeps its
//! nodes in the RFC 9420 array layout, where the right-edge nodes of a growing
//! tree are rewritten on every append, and only in memory; it also verifies
//! inclusion from the entry bytes, not from a leaf hash as a receipt carries.
//! Neither fits a log served as immutable tiles, so this module follows the
//! Go reference, and the tests check it against `ct-merkle` and the RFC
//! vectors.

use crate::hash::{EMPTY_ROOT, Hash, node_hash};

/// Reads stored hashes by their stored-hash index (see [`stored_hash_index`]).
///
/// This is the seam between the algorithms here and storage: a database, a
/// directory of tiles, or [`crate::MemoryHashStore`].
pub trait HashReader {
    /// The storage's own failure.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hashes at `indexes`, in the same order and of the same
    /// length, or an error. Requests are usually sorted ascending.
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Self::Error> {
        (**self).read_hashes(indexes)
    }
}

/// Why a tree computation over stored hashes failed.
#[derive(Debug, thiserror::Error)]
pub enum TreeError<E: std::error::Error + 'static> {
    /// The storage failed.
    #[error("reading stored hashes failed: {0}")]
    Read(#[source] E),
    /// The storage answered with the wrong number of hashes.
    #[error("hash reader returned {got} hashes for {wanted} requested indexes")]
    WrongCount { wanted: usize, got: usize },
    /// An inclusion proof was asked for an index outside the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The old tree is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew { old: u64, new: u64 },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has {got} hashes, but {expected} are needed for these tree sizes")]
    WrongLength { expected: usize, got: usize },
    /// The proof leads to another root than the expected one.
    #[error("proof leads to root {computed}, not the expected root {expected}")]
    RootMismatch { computed: Hash, expected: Hash },
    /// The consistency proof does not lead to the old root.
    #[error("consistency proof leads to old root {computed}, not the expected old root {expected}")]
    OldRootMismatch { computed: Hash, expected: Hash },
    /// Equal sizes, different roots: a fork.
    #[error("trees of equal size {size} have different roots {old} and {new}")]
    EqualSizeDifferentRoots { size: u64, old: Hash, new: Hash },
}

/// Maps tree coordinates (level, n) — the `n`th complete subtree of
/// `2^level` leaves — to its stored-hash index.
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    // Level L's nth hash is written right after level L+1's (2n+1)th hash;
    // walk down to level 0, where leaf n sits at n + n/2 + n/4 + ...
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut index = 0u64;
    while n > 0 {
        index += n;
        n >>= 1;
    }
    index + u64::from(level)
}

/// The inverse of [`stored_hash_index`]: (level, n) for a stored-hash index.
pub fn split_stored_hash_index(index: u64) -> (u32, u64) {
    // stored_hash_index(0, n) < 2n, so the leaf n that wrote this index is in
    // [index/2, index/2 + log2(index)].
    let mut n = index / 2;
    let mut index_n = stored_hash_index(0, n);
    debug_assert!(index_n <= index);
    loop {
        // Leaf n writes its own hash and one per subtree it completes (one
        // per trailing 1 bit of n), so leaf n+1 starts right after those.
        let next = index_n + 1 + u64::from(n.trailing_ones());
        if next > index {
            break;
        }
        n += 1;
        index_n = next;
    }
    let level = u32::try_from(index - index_n).expect("level fits in u32");
    (level, n >> level)
}

/// How many hashes are stored for a tree of `size` leaves.
pub fn stored_hash_count(size: u64) -> u64 {
    if size == 0 {
        return 0;
    }
    // Up to and including the last leaf hash, plus the subtrees it completes.
    stored_hash_index(0, size - 1) + 1 + u64::from((size - 1).trailing_ones())
}

/// The hashes to store when appending leaf `n` (the tree has `n` leaves
/// before): its leaf hash, then the hash of each subtree it completes, to be
/// written at consecutive indexes from `stored_hash_index(0, n)`. Reads at
/// most log2(n) earlier hashes.
pub fn stored_hashes_for_record<R: HashReader>(
    n: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    // Each trailing 1 bit of n completes a subtree, whose left sibling is
    // already stored.
    let completed = n.trailing_ones();
    let indexes: Vec<u64> =
        (0..completed).rev().map(|level| stored_hash_index(level, (n >> level) - 1)).collect();
    let siblings = read(reader, &indexes)?;
    let mut hashes = Vec::with_capacity(1 + indexes.len());
    let mut h = leaf;
    hashes.push(h);
    for sibling in siblings.iter().rev() {
        h = node_hash(sibling, &h);
        hashes.push(h);
    }
    Ok(hashes)
}

/// The stored hashes to write when a batch of `leaves` is appended to the
/// tree of `old_size` leaves, in stored order from index
/// `stored_hash_count(old_size)`: what a sequencer integrates per batch.
/// One read of the old tree's right edge (at most 1 + log2(old_size)
/// hashes), whatever the batch size.
pub fn stored_hashes_for_leaves<R: HashReader>(
    old_size: u64,
    leaves: &[Hash],
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    // A new subtree's left sibling is either new or one of the complete
    // subtrees that make up the old tree (its right edge).
    let mut edge_indexes = Vec::new();
    subtree_indexes(0, old_size, &mut edge_indexes);
    let edge = read(reader, &edge_indexes)?;
    let base = stored_hash_count(old_size);
    let mut out: Vec<Hash> = Vec::with_capacity(2 * leaves.len() + 1);
    for (i, leaf) in leaves.iter().enumerate() {
        let n = old_size + i as u64;
        let mut h = *leaf;
        out.push(h);
        for level in 0..n.trailing_ones() {
            let index = stored_hash_index(level, (n >> level) - 1);
            let sibling = if index >= base {
                out[(index - base) as usize]
            } else {
                match edge_indexes.iter().position(|&e| e == index) {
                    Some(j) => edge[j],
                    None => {
                        return Err(TreeError::WrongCount {
                            wanted: edge_indexes.len() + 1,
                            got: edge.len(),
                        });
                    }
                }
            };
            h = node_hash(&sibling, &h);
            out.push(h);
        }
    }
    Ok(out)
}

fn read<R: HashReader>(reader: &R, indexes: &[u64]) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(indexes).map_err(TreeError::Read)?;
    if hashes.len() != indexes.len() {
        return Err(TreeError::WrongCount { wanted: indexes.len(), got: hashes.len() });
    }
    Ok(hashes)
}

/// The largest power of two strictly smaller than `n` (n ≥ 2), as RFC 9162's
/// split point k, and its log2.
fn split_point(n: u64) -> (u64, u32) {
    debug_assert!(n >= 2);
    let level = 63 - (n - 1).leading_zeros();
    (1 << level, level)
}

/// Stored indexes of the complete subtrees that make up leaves [lo, hi),
/// left to right.
fn subtree_indexes(mut lo: u64, hi: u64, need: &mut Vec<u64>) {
    while lo < hi {
        let (k, level) = split_point(hi - lo + 1);
        debug_assert_eq!(lo & (k - 1), 0);
        need.push(stored_hash_index(level, lo >> level));
        lo += k;
    }
}

/// Hash of leaves [lo, hi) from the hashes named by [`subtree_indexes`],
/// consuming them from the front of `hashes`.
fn subtree_hash(mut lo: u64, hi: u64, hashes: &mut &[Hash]) -> Hash {
    let mut count = 0;
    while lo < hi {
        let (k, _) = split_point(hi - lo + 1);
        count += 1;
        lo += k;
    }
    let (mine, rest) = hashes.split_at(count);
    *hashes = rest;
    let mut h = mine[count - 1];
    for left in mine[..count - 1].iter().rev() {
        h = node_hash(left, &h);
    }
    h
}

/// The root of the tree of `size` leaves (RFC 9162 MTH), from stored
/// hashes; one read of at most 1 + log2(size) hashes. Size 0 gives
/// [`EMPTY_ROOT`].
pub fn tree_hash<R: HashReader>(size: u64, reader: &R) -> Result<Hash, TreeError<R::Error>> {
    if size == 0 {
        return Ok(EMPTY_ROOT);
    }
    let mut indexes = Vec::new();
    subtree_indexes(0, size, &mut indexes);
    let hashes = read(reader, &indexes)?;
    let mut rest = hashes.as_slice();
    Ok(subtree_hash(0, size, &mut rest))
}

fn inclusion_indexes(lo: u64, hi: u64, n: u64, need: &mut Vec<u64>) {
    if lo + 1 == hi {
        return;
    }
    let (k, _) = split_point(hi - lo);
    if n < lo + k {
        inclusion_indexes(lo, lo + k, n, need);
        subtree_indexes(lo + k, hi, need);
    } else {
        subtree_indexes(lo, lo + k, need);
        inclusion_indexes(lo + k, hi, n, need);
    }
}

fn inclusion_path(lo: u64, hi: u64, n: u64, hashes: &mut &[Hash], out: &mut Vec<Hash>) {
    if lo + 1 == hi {
        return;
    }
    let (k, _) = split_point(hi - lo);
    // RFC 9162 PATH(m, D[n]) lists the deepest sibling first, so recurse
    // before pushing this level's sibling.
    if n < lo + k {
        inclusion_path(lo, lo + k, n, hashes, out);
        out.push(subtree_hash(lo + k, hi, hashes));
    } else {
        let left = subtree_hash(lo, lo + k, hashes);
        inclusion_path(lo + k, hi, n, hashes, out);
        out.push(left);
    }
}

/// The stored-hash indexes an inclusion proof for leaf `index` in a tree of
/// `size` needs (for storage layers that prefetch).
pub fn inclusion_proof_indexes(index: u64, size: u64) -> Vec<u64> {
    let mut need = Vec::new();
    if index < size {
        inclusion_indexes(0, size, index, &mut need);
    }
    need
}

/// The RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `index` in
/// the tree of `size` leaves, deepest sibling first.
pub fn prove_inclusion<R: HashReader>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    let indexes = inclusion_proof_indexes(index, size);
    let hashes = read(reader, &indexes)?;
    let mut rest = hashes.as_slice();
    let mut proof = Vec::with_capacity(indexes.len());
    inclusion_path(0, size, index, &mut rest, &mut proof);
    debug_assert!(rest.is_empty());
    Ok(proof)
}

fn consistency_indexes(lo: u64, hi: u64, old: u64, need: &mut Vec<u64>) {
    if old == hi {
        if lo != 0 {
            subtree_indexes(lo, hi, need);
        }
        return;
    }
    let (k, _) = split_point(hi - lo);
    if old <= lo + k {
        consistency_indexes(lo, lo + k, old, need);
        subtree_indexes(lo + k, hi, need);
    } else {
        subtree_indexes(lo, lo + k, need);
        consistency_indexes(lo + k, hi, old, need);
    }
}

fn consistency_path(lo: u64, hi: u64, old: u64, hashes: &mut &[Hash], out: &mut Vec<Hash>) {
    if old == hi {
        // RFC 9162 SUBPROOF(m, D[m], true) is empty: the verifier knows the
        // old root. Below the top, the subtree's hash is part of the proof.
        if lo != 0 {
            out.push(subtree_hash(lo, hi, hashes));
        }
        return;
    }
    let (k, _) = split_point(hi - lo);
    if old <= lo + k {
        consistency_path(lo, lo + k, old, hashes, out);
        out.push(subtree_hash(lo + k, hi, hashes));
    } else {
        let left = subtree_hash(lo, lo + k, hashes);
        consistency_path(lo + k, hi, old, hashes, out);
        out.push(left);
    }
}

/// The stored-hash indexes a consistency proof from `old` to `new` needs.
pub fn consistency_proof_indexes(old: u64, new: u64) -> Vec<u64> {
    let mut need = Vec::new();
    if 0 < old && old < new {
        consistency_indexes(0, new, old, &mut need);
    }
    need
}

/// The RFC 9162 §2.1.4.1 consistency proof from the tree of `old` leaves to
/// the tree of `new` leaves. Empty when `old` is 0 or equals `new` (as
/// tlog-witness requires for an old size of zero).
pub fn prove_consistency<R: HashReader>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>, TreeError<R::Error>> {
    if old > new {
        return Err(TreeError::OldLargerThanNew { old, new });
    }
    let indexes = consistency_proof_indexes(old, new);
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = read(reader, &indexes)?;
    let mut rest = hashes.as_slice();
    let mut proof = Vec::with_capacity(indexes.len());
    consistency_path(0, new, old, &mut rest, &mut proof);
    debug_assert!(rest.is_empty());
    Ok(proof)
}

/// Splits an inclusion proof for `index` in `size` into the part below the
/// point where the path to the leaf leaves the right border ("inner") and the
/// part along it ("border"), as transparency-dev/merkle does.
fn inclusion_shape(index: u64, size: u64) -> (u32, u32) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // inner can be 64 for huge trees, where a plain shift would overflow.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner, border)
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size`
/// (`index < size`).
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (inner, border) = inclusion_shape(index, size);
    (inner + border) as usize
}

/// Number of hashes in a consistency proof from `old` to `new`
/// (`old <= new`).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old == new {
        return 0;
    }
    let (inner, border) = inclusion_shape(old - 1, new);
    let shift = old.trailing_zeros();
    let extra = usize::from(!old.is_power_of_two());
    (inner.saturating_sub(shift) + border) as usize + extra
}

/// The root that an inclusion proof leads to, by RFC 9162 §2.1.3.2, or why
/// it cannot lead anywhere.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        // Unreachable after the length check; kept so no input can panic.
        if sn == 0 {
            return Err(ProofError::WrongLength { expected, got: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    Ok(r)
}

/// Verifies that `proof` shows leaf hash `leaf` at `index` in the tree of
/// `size` leaves with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(index, size, leaf, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch { computed, expected: *root });
    }
    Ok(())
}

/// Verifies that the tree of `old` leaves with root `old_root` is a prefix
/// of the tree of `new` leaves with root `new_root` (RFC 9162 §2.1.4.2).
/// Every tree is consistent with the empty tree, whose proof is empty.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new });
    }
    let expected = consistency_proof_len(old, new);
    if proof.len() != expected {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    if old == 0 {
        return Ok(());
    }
    if old == new {
        if old_root != new_root {
            return Err(ProofError::EqualSizeDifferentRoots { size: old, old: *old_root, new: *new_root });
        }
        return Ok(());
    }
    // When old is a power of two the old root is itself the first node of
    // the path (RFC 9162 step 2).
    let path: Vec<Hash> = if old.is_power_of_two() {
        std::iter::once(*old_root).chain(proof.iter().copied()).collect()
    } else {
        proof.to_vec()
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if sn == 0 {
            return Err(ProofError::WrongLength { expected, got: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength { expected, got: proof.len() });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch { computed: fr, expected: *old_root });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch { computed: sr, expected: *new_root });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hash_index_matches_go() {
        // Values from golang.org/x/mod/sumdb/tlog's layout: leaves at 0,1,3,4,7,...
        assert_eq!(stored_hash_index(0, 0), 0);
        assert_eq!(stored_hash_index(0, 1), 1);
        assert_eq!(stored_hash_index(1, 0), 2);
        assert_eq!(stored_hash_index(0, 2), 3);
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(stored_hash_index(1, 1), 5);
        assert_eq!(stored_hash_index(2, 0), 6);
        assert_eq!(stored_hash_index(0, 4), 7);
        for index in 0..10_000 {
            let (level, n) = split_stored_hash_index(index);
            assert_eq!(stored_hash_index(level, n), index);
        }
        assert_eq!(stored_hash_count(0), 0);
        assert_eq!(stored_hash_count(1), 1);
        assert_eq!(stored_hash_count(2), 3);
        assert_eq!(stored_hash_count(3), 4);
        assert_eq!(stored_hash_count(4), 7);
    }
}
