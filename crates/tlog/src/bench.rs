//! Measurements a `tongxin bench log` command can run without a benchmark
//! harness: proof generation over an in-memory tree, proof verification,
//! and the raw node-hash rate that bounds them all.

use std::time::{Duration, Instant};

use crate::hash::{Hash, leaf_hash, node_hash};
use crate::memory::MemoryHashStore;
use crate::merkle::{prove_consistency, prove_inclusion, verify_inclusion};

/// How many operations ran in how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurement {
    pub operations: u64,
    pub elapsed: Duration,
}

impl Measurement {
    /// Operations per second.
    pub fn per_second(&self) -> f64 {
        self.operations as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A small deterministic generator (SplitMix64), so runs are repeatable
/// and the library needs no `rand`.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A tree of `size` synthetic entries (the big-endian index).
pub fn memory_log(size: u64) -> MemoryHashStore {
    let mut store = MemoryHashStore::new();
    for i in 0..size {
        store.append_entry(&i.to_be_bytes());
    }
    store
}

/// Generates `count` inclusion proofs for random leaves of `store`'s tree.
pub fn inclusion_proofs(store: &MemoryHashStore, count: u64, seed: u64) -> Measurement {
    let size = store.size().max(1);
    let mut rng = SplitMix(seed);
    let start = Instant::now();
    let mut hashes = 0usize;
    for _ in 0..count {
        let index = rng.next() % size;
        let Ok(proof) = prove_inclusion(index, store.size(), store) else { continue };
        hashes += proof.len();
    }
    std::hint::black_box(hashes);
    Measurement { operations: count, elapsed: start.elapsed() }
}

/// Generates `count` consistency proofs between random sizes of `store`.
pub fn consistency_proofs(store: &MemoryHashStore, count: u64, seed: u64) -> Measurement {
    let size = store.size();
    let mut rng = SplitMix(seed);
    let start = Instant::now();
    let mut hashes = 0usize;
    for _ in 0..count {
        let new = rng.next() % (size + 1);
        let old = rng.next() % (new + 1);
        let Ok(proof) = prove_consistency(old, new, store) else { continue };
        hashes += proof.len();
    }
    std::hint::black_box(hashes);
    Measurement { operations: count, elapsed: start.elapsed() }
}

/// Verifies `count` inclusion proofs for random leaves (proofs made first,
/// outside the timing).
pub fn inclusion_verifications(store: &MemoryHashStore, count: u64, seed: u64) -> Measurement {
    let size = store.size().max(1);
    let root = store.root();
    let mut rng = SplitMix(seed);
    let cases: Vec<(u64, Vec<Hash>)> = (0..count)
        .filter_map(|_| {
            let index = rng.next() % size;
            prove_inclusion(index, store.size(), store).ok().map(|p| (index, p))
        })
        .collect();
    let start = Instant::now();
    for (index, proof) in &cases {
        let ok =
            verify_inclusion(*index, store.size(), &leaf_hash(&index.to_be_bytes()), proof, &root).is_ok();
        std::hint::black_box(ok);
    }
    Measurement { operations: cases.len() as u64, elapsed: start.elapsed() }
}

/// Computes `count` chained interior-node hashes: the SHA-256 ceiling.
pub fn node_hashes(count: u64) -> Measurement {
    let mut h = leaf_hash(b"");
    let start = Instant::now();
    for _ in 0..count {
        h = node_hash(&h, &h);
    }
    std::hint::black_box(h);
    Measurement { operations: count, elapsed: start.elapsed() }
}

/// Appends `count` entries to an in-memory tree (hashing and stored-hash
/// bookkeeping only, no storage).
pub fn appends(count: u64) -> Measurement {
    let start = Instant::now();
    let store = memory_log(count);
    std::hint::black_box(store.size());
    Measurement { operations: count, elapsed: start.elapsed() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_measurement_runs() {
        let store = memory_log(1000);
        assert_eq!(store.size(), 1000);
        assert_eq!(inclusion_proofs(&store, 50, 1).operations, 50);
        assert_eq!(consistency_proofs(&store, 50, 2).operations, 50);
        assert_eq!(inclusion_verifications(&store, 50, 3).operations, 50);
        assert_eq!(node_hashes(100).operations, 100);
        assert_eq!(appends(100).operations, 100);
        assert!(node_hashes(1000).per_second() > 0.0);
    }
}
