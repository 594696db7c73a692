//! RFC 6962 / RFC 9162 conformance of the Merkle tree: the Certificate
//! Transparency reference vectors, agreement with the independent
//! `ct-merkle` crate, and property tests that every proof verifies and any
//! altered byte fails.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof};
use proptest::prelude::*;
use sha2_digest011::Sha256;
use tongxin_tlog::merkle::{consistency_proof_len, inclusion_proof_len};
use tongxin_tlog::{
    EMPTY_ROOT, Hash, MemoryHashStore, ProofError, leaf_hash, prove_consistency, prove_inclusion,
    verify_consistency, verify_inclusion,
};

/// The leaf inputs of the CT reference test tree (RFC 6962 test data, as in
/// certificate-transparency and transparency-dev/merkle).
const LEAVES: [&str; 8] =
    ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];

/// Roots for sizes 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn reference_tree() -> MemoryHashStore {
    MemoryHashStore::from_entries(LEAVES.iter().map(|l| unhex(l)))
}

#[test]
fn roots_match_the_reference_vectors_for_every_size() {
    let tree = reference_tree();
    assert_eq!(EMPTY_ROOT, h(ROOTS[0]));
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(tree.root_at(size as u64), h(root), "size {size}");
    }
}

/// (leaf index, tree size, proof) from the reference test data (there
/// 1-based leaf numbers; here 0-based indexes).
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof) from the reference test data.
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

#[test]
fn inclusion_proofs_match_the_reference_vectors() {
    let tree = reference_tree();
    for &(index, size, want) in INCLUSION {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        let got = prove_inclusion(index, size, &tree).unwrap();
        assert_eq!(got, want, "index {index} size {size}");
        let leaf = leaf_hash(&unhex(LEAVES[index as usize]));
        verify_inclusion(index, size, &leaf, &want, &h(ROOTS[size as usize])).unwrap();
    }
}

#[test]
fn consistency_proofs_match_the_reference_vectors() {
    let tree = reference_tree();
    for &(old, new, want) in CONSISTENCY {
        let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
        assert_eq!(prove_consistency(old, new, &tree).unwrap(), want, "{old} -> {new}");
        verify_consistency(old, new, &h(ROOTS[old as usize]), &h(ROOTS[new as usize]), &want).unwrap();
    }
}

#[test]
fn reference_edge_cases() {
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    // Index outside the tree, including the empty tree.
    for (index, size) in [(0, 0), (1, 0), (2, 1), (8, 8)] {
        assert_eq!(
            verify_inclusion(index, size, &some, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange { index, size })
        );
    }
    // Everything is consistent with the empty tree; equal sizes need equal roots.
    verify_consistency(0, 0, &some, &some, &[]).unwrap();
    verify_consistency(0, 5, &some, &EMPTY_ROOT, &[]).unwrap();
    verify_consistency(3, 3, &some, &some, &[]).unwrap();
    assert!(verify_consistency(3, 3, &some, &EMPTY_ROOT, &[]).is_err());
    assert!(verify_consistency(0, 3, &some, &some, &[some]).is_err());
    assert!(verify_consistency(3, 3, &some, &some, &[some]).is_err());
    assert_eq!(
        verify_consistency(2, 1, &some, &some, &[]),
        Err(ProofError::OldLargerThanNew { old: 2, new: 1 })
    );
    assert!(verify_consistency(1, 2, &some, &some, &[]).is_err());
}

type Oracle = MemoryBackedTree<Sha256, Vec<u8>>;

fn as_bytes(proof: &[Hash]) -> Vec<u8> {
    proof.iter().flat_map(|h| h.0).collect()
}

/// Every root, inclusion proof and consistency proof of every tree up to
/// 130 leaves (past a tile boundary and several power-of-two edges) agrees
/// byte for byte with `ct-merkle`, and each verifies under the other.
#[test]
fn agrees_with_ct_merkle() {
    let mut ours = MemoryHashStore::new();
    let mut oracle = Oracle::new();
    let mut oracle_roots = Vec::new();
    for n in 1..=130u64 {
        let entry = format!("entry {n}").into_bytes();
        ours.append_entry(&entry);
        oracle.push(entry);
        let root = oracle.root();
        assert_eq!(ours.root().0.as_slice(), root.as_bytes().as_slice(), "root of size {n}");
        oracle_roots.push(root.clone());
        for index in 0..n {
            let mine = prove_inclusion(index, n, &ours).unwrap();
            let theirs = oracle.prove_inclusion(index as usize);
            assert_eq!(as_bytes(&mine), theirs.as_bytes(), "inclusion of {index} in {n}");
            root.verify_inclusion(
                &oracle.items()[index as usize],
                index,
                &InclusionProof::from_bytes(as_bytes(&mine)),
            )
            .unwrap();
            assert_eq!(mine.len(), inclusion_proof_len(index, n));
        }
        for old in 1..=n {
            let mine = prove_consistency(old, n, &ours).unwrap();
            let theirs = oracle.prove_consistency((n - old) as usize);
            assert_eq!(as_bytes(&mine), theirs.as_bytes(), "consistency {old} -> {n}");
            let parsed = ConsistencyProof::try_from_bytes(as_bytes(&mine)).unwrap();
            root.verify_consistency(&oracle_roots[old as usize - 1], &parsed).unwrap();
            let theirs_hashes: Vec<Hash> =
                theirs.as_bytes().chunks(32).map(|c| Hash::from_slice(c).unwrap()).collect();
            verify_consistency(old, n, &ours.root_at(old), &ours.root(), &theirs_hashes).unwrap();
            assert_eq!(mine.len(), consistency_proof_len(old, n));
        }
    }
}

fn flip(hash: &Hash, byte: usize, bit: u8) -> Hash {
    let mut out = *hash;
    out.0[byte % 32] ^= 1 << (bit % 8);
    out
}

fn tree_of(size: u64) -> MemoryHashStore {
    MemoryHashStore::from_entries((0..size).map(|i| i.to_be_bytes()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_inclusion_proof_verifies_and_any_change_fails(
        size in 1u64..3000, pick in any::<u64>(), which in any::<usize>(), byte in any::<usize>(), bit in any::<u8>(),
    ) {
        let tree = tree_of(size);
        let root = tree.root();
        let index = pick % size;
        let leaf = leaf_hash(&index.to_be_bytes());
        let proof = prove_inclusion(index, size, &tree).unwrap();
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());

        prop_assert!(verify_inclusion(index, size, &flip(&leaf, byte, bit), &proof, &root).is_err());
        prop_assert!(verify_inclusion(index, size, &leaf, &proof, &flip(&root, byte, bit)).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], byte, bit);
            prop_assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
            prop_assert!(verify_inclusion(index, size, &leaf, &proof[1..], &root).is_err());
        }
        let mut longer = proof.clone();
        longer.push(root);
        prop_assert!(verify_inclusion(index, size, &leaf, &longer, &root).is_err());
        let other = (index + 1 + (pick >> 32) % size.max(2)) % size;
        if other != index {
            prop_assert!(verify_inclusion(other, size, &leaf, &proof, &root).is_err());
        }
        prop_assert!(verify_inclusion(index ^ (1 << (bit % 12)), size, &leaf, &proof, &root).is_err());
    }

    #[test]
    fn every_consistency_proof_verifies_and_any_change_fails(
        new in 1u64..3000, pick in any::<u64>(), which in any::<usize>(), byte in any::<usize>(), bit in any::<u8>(),
    ) {
        let tree = tree_of(new);
        let old = pick % (new + 1);
        let (old_root, new_root) = (tree.root_at(old), tree.root());
        let proof = prove_consistency(old, new, &tree).unwrap();
        prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof).is_ok());
        if old == 0 {
            return Ok(());
        }
        prop_assert!(verify_consistency(old, new, &flip(&old_root, byte, bit), &new_root, &proof).is_err());
        prop_assert!(verify_consistency(old, new, &old_root, &flip(&new_root, byte, bit), &proof).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let i = which % bad.len();
            bad[i] = flip(&bad[i], byte, bit);
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &bad).is_err());
            prop_assert!(verify_consistency(old, new, &old_root, &new_root, &proof[..proof.len() - 1]).is_err());
        }
        if old < new {
            prop_assert!(verify_consistency(old + 1, new, &old_root, &new_root, &proof).is_err());
            prop_assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err());
        }
    }
}
