//! Bodies of the cargo-fuzz targets in `crates/tlog/fuzz`, kept in the
//! library so `cargo test` runs them too (over `tests/fuzz_corpus.rs`'s
//! seeds) and they never rot when nightly is unavailable. Each parses
//! arbitrary bytes without panicking and checks that whatever parses
//! serialises back to exactly the same bytes.

use crate::checkpoint::Checkpoint;
use crate::hash::Hash;
use crate::merkle::{verify_consistency, verify_inclusion};
use crate::note::{Note, SignatureType, SignerKey, VerifierKey};
use crate::receipt::{Leaf, Receipt, ReceiptPolicy, verify_receipt};
use crate::tile::{decode_bundle, encode_bundle, parse_path};
use crate::witness::{
    AddCheckpointRequest, TreeState, Witness, WitnessedLog, format_add_checkpoint_response,
    parse_add_checkpoint_response,
};

/// Fixed keys, so signatures inside fuzz inputs can be valid.
pub fn log_key() -> SignerKey {
    SignerKey::from_seed("example.com/log", SignatureType::Ed25519, [7; 32]).expect("valid name")
}

/// A fixed witness key.
pub fn witness_key() -> SignerKey {
    SignerKey::from_seed("example.com/witness", SignatureType::CosignatureV1, [9; 32]).expect("valid name")
}

fn verifiers() -> Vec<VerifierKey> {
    vec![log_key().verifier().clone(), witness_key().verifier().clone()]
}

/// Target `checkpoint`.
pub fn checkpoint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cp) = Checkpoint::parse(text) {
        assert_eq!(cp.to_text(), text);
    }
}

/// Target `note`.
pub fn note(data: &[u8]) {
    if let Ok(n) = Note::parse(data) {
        assert_eq!(n.to_string().as_bytes(), data);
        let _ = n.verify(&verifiers());
    }
}

/// Target `receipt`.
pub fn receipt(data: &[u8]) {
    if let Ok(r) = Receipt::parse(data) {
        assert_eq!(r.to_text().as_bytes(), data);
        let policy =
            ReceiptPolicy::new(log_key().verifier().clone(), vec![witness_key().verifier().clone()], 0)
                .expect("valid policy");
        let _ = verify_receipt(&r, Leaf::Entry(b"entry"), &policy);
    }
}

/// Target `witness_request`: parse, round trip, and run a witness on it.
pub fn witness_request(data: &[u8]) {
    let Ok(req) = AddCheckpointRequest::parse(data) else { return };
    assert_eq!(req.to_text().as_bytes(), data);
    let witness = Witness::new(
        witness_key(),
        vec![WitnessedLog { origin: "example.com/log".into(), keys: vec![log_key().verifier().clone()] }],
    )
    .expect("cosigner key");
    let stored = (req.old_size > 0).then_some(TreeState { size: req.old_size, root: Hash([1; 32]) });
    if let Ok(c) = witness.add_checkpoint(&req, stored, 1_700_000_000) {
        assert_eq!(parse_add_checkpoint_response(c.response_body().as_bytes()), Ok(vec![c.cosignature]));
    }
}

/// Target `witness_response`.
pub fn witness_response(data: &[u8]) {
    if let Ok(sigs) = parse_add_checkpoint_response(data) {
        assert_eq!(format_add_checkpoint_response(&sigs).as_bytes(), data);
    }
}

/// Target `tile_path`.
pub fn tile_path(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = parse_path(text) {
        assert_eq!(p.path(), text);
    }
}

/// Target `bundle`.
pub fn bundle(data: &[u8]) {
    if let Ok(entries) = decode_bundle(data) {
        assert_eq!(encode_bundle(&entries).expect("decoded entries re-encode"), data);
    }
}

/// Target `proof`: arbitrary sizes, indexes and hashes never panic the
/// verifiers.
pub fn proof(data: &[u8]) {
    if data.len() < 16 {
        return;
    }
    let a = u64::from_le_bytes(data[..8].try_into().expect("8 bytes"));
    let b = u64::from_le_bytes(data[8..16].try_into().expect("8 bytes"));
    let hashes: Vec<Hash> =
        data[16..].chunks_exact(32).map(|c| Hash(c.try_into().expect("32 bytes"))).collect();
    let (first, rest) = hashes.split_first().map_or((Hash::default(), &[][..]), |(f, r)| (*f, r));
    let _ = verify_inclusion(a, b, &first, rest, &first);
    let _ = verify_consistency(a, b, &first, &first, rest);
    let _ = verify_consistency(a.min(b), a.max(b), &first, &first, rest);
}
