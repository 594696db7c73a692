//! `verify_receipt_file` on receipts built with `tongxin_tlog`: a receipt
//! verifies with its entry or leaf hash, without one everything but
//! inclusion is checked (and the report says so), and a wrong entry, a
//! tampered proof or index, another log key, a missing witness quorum, a
//! wrong kind of key and a malformed file each fail with the reason.

use tongxin_tlog::{
    Checkpoint, Leaf, MemoryHashStore, Note, ProofError, Receipt, SignatureType, SignerKey,
    VerifyReceiptError, cosign, leaf_hash,
};
use tongxin_tlog_client::{ReceiptFileError, verify_receipt_file};

const ORIGIN: &str = "log.tongxin.example/receipts";

fn log_key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [1; 32]).unwrap()
}

fn witness(i: u8) -> SignerKey {
    SignerKey::from_seed(&format!("witness{i}.example"), SignatureType::CosignatureV1, [40 + i; 32]).unwrap()
}

fn entry(i: u64) -> Vec<u8> {
    format!("report commitment {i}").into_bytes()
}

/// A receipt for entry `index` of a 1000-entry log, cosigned by witnesses
/// 1 and 2.
fn receipt(index: u64) -> String {
    let store = MemoryHashStore::from_entries((0..1000).map(entry));
    let mut note: Note = Checkpoint::new(ORIGIN, 1000, store.root()).unwrap().sign(&log_key()).unwrap();
    for i in [1, 2] {
        let sig = cosign(&witness(i), note.text(), 1_700_000_000 + u64::from(i)).unwrap();
        note.add_signature(sig).unwrap();
    }
    Receipt::build(index, note, &store, Some(b"app data".to_vec())).unwrap().to_text()
}

#[test]
fn a_receipt_verifies_with_its_entry_or_leaf_hash() {
    let text = receipt(417);
    let witnesses =
        [witness(1).verifier().clone(), witness(2).verifier().clone(), witness(3).verifier().clone()];
    let e = entry(417);
    let report = verify_receipt_file(
        text.as_bytes(),
        log_key().verifier(),
        None,
        &witnesses,
        2,
        Some(Leaf::Entry(&e)),
    )
    .unwrap();
    assert_eq!(report.index, 417);
    assert_eq!(report.checkpoint.size, 1000);
    assert_eq!(report.leaf_hash, Some(leaf_hash(&e)));
    assert!(report.inclusion_checked());
    let names: Vec<&str> = report.witnesses.iter().map(|(k, _)| k.name()).collect();
    assert_eq!(names, ["witness1.example", "witness2.example"]);
    assert_eq!(report.extra.as_deref(), Some(&b"app data"[..]));

    let by_hash = verify_receipt_file(
        text.as_bytes(),
        log_key().verifier(),
        Some(ORIGIN),
        &[],
        0,
        Some(Leaf::Hash(leaf_hash(&e))),
    )
    .unwrap();
    assert_eq!(by_hash.leaf_hash, Some(leaf_hash(&e)));
}

#[test]
fn without_the_entry_everything_but_inclusion_is_checked() {
    let text = receipt(3);
    let witnesses = [witness(1).verifier().clone()];
    let report =
        verify_receipt_file(text.as_bytes(), log_key().verifier(), None, &witnesses, 1, None).unwrap();
    assert!(!report.inclusion_checked());
    assert_eq!(report.index, 3);
    assert_eq!(report.witnesses.len(), 1);
    // The signatures are still checked...
    let other = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [2; 32]).unwrap();
    let e = verify_receipt_file(text.as_bytes(), other.verifier(), None, &[], 0, None).unwrap_err();
    assert!(matches!(e, ReceiptFileError::Invalid(VerifyReceiptError::NotSignedByLog { .. })), "{e}");
    // ...and the proof's shape.
    let short = text.replacen(&format!("index 3\n{}\n", first_proof_line(&text)), "index 3\n", 1);
    let e = verify_receipt_file(short.as_bytes(), log_key().verifier(), None, &[], 0, None).unwrap_err();
    assert!(
        matches!(
            e,
            ReceiptFileError::Invalid(VerifyReceiptError::Inclusion {
                source: ProofError::WrongLength { .. },
                ..
            })
        ),
        "{e}"
    );
}

fn first_proof_line(text: &str) -> &str {
    text.lines().find(|l| l.len() == 44).unwrap()
}

#[test]
fn tampered_receipts_and_wrong_entries_fail() {
    let text = receipt(417);
    let verify = |text: &str, e: &[u8]| {
        verify_receipt_file(text.as_bytes(), log_key().verifier(), None, &[], 0, Some(Leaf::Entry(e)))
    };
    // Another entry.
    let e = verify(&text, &entry(418)).unwrap_err();
    assert!(matches!(e, ReceiptFileError::Invalid(VerifyReceiptError::Inclusion { index: 417, .. })), "{e}");
    assert!(e.to_string().contains("index 417"), "{e}");
    // Another index.
    let moved = text.replace("index 417\n", "index 416\n");
    assert!(matches!(verify(&moved, &entry(417)), Err(ReceiptFileError::Invalid(_))));
    // A proof hash altered.
    let line = first_proof_line(&text);
    let mut altered = line.as_bytes().to_vec();
    altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
    let tampered = text.replacen(line, std::str::from_utf8(&altered).unwrap(), 1);
    assert!(matches!(verify(&tampered, &entry(417)), Err(ReceiptFileError::Invalid(_))));
    // The checkpoint root altered.
    let cp_root = text.lines().skip_while(|l| *l != "1000").nth(1).unwrap();
    assert_eq!(cp_root.len(), 44);
    let mut r = cp_root.as_bytes().to_vec();
    r[5] = if r[5] == b'A' { b'B' } else { b'A' };
    let tampered = text.replacen(cp_root, std::str::from_utf8(&r).unwrap(), 1);
    assert!(matches!(
        verify(&tampered, &entry(417)),
        Err(ReceiptFileError::Invalid(VerifyReceiptError::Signature(_)))
    ));
    // Garbage.
    assert!(matches!(verify("hello\n", &entry(417)), Err(ReceiptFileError::Malformed(_))));
}

#[test]
fn witness_policy_is_enforced() {
    let text = receipt(0);
    let e0 = entry(0);
    let w = |i: u8| witness(i).verifier().clone();
    let run = |keys: &[tongxin_tlog::VerifierKey], quorum| {
        verify_receipt_file(text.as_bytes(), log_key().verifier(), None, keys, quorum, Some(Leaf::Entry(&e0)))
    };
    run(&[w(1), w(2)], 2).unwrap();
    let e = run(&[w(1), w(3)], 2).unwrap_err();
    assert!(
        matches!(e, ReceiptFileError::Invalid(VerifyReceiptError::Quorum { need: 2, got: 1, .. })),
        "{e}"
    );
    let e = run(&[w(1)], 2).unwrap_err();
    assert!(matches!(e, ReceiptFileError::Policy(_)), "{e}");
    // A log key given as a witness key.
    let e = run(&[log_key().verifier().clone()], 1).unwrap_err();
    assert!(matches!(e, ReceiptFileError::Policy(_)), "{e}");
    // Another origin than the key's name.
    let e = verify_receipt_file(text.as_bytes(), log_key().verifier(), Some("x.example/y"), &[], 0, None)
        .unwrap_err();
    assert!(matches!(e, ReceiptFileError::Invalid(VerifyReceiptError::WrongOrigin { .. })), "{e}");
}
