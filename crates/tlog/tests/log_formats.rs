//! Checkpoints (`c2sp.org/tlog-checkpoint`), receipts
//! (`c2sp.org/tlog-proof@v1`) and the witness protocol
//! (`c2sp.org/tlog-witness`): golden texts, strict parsing with exact
//! errors, receipt verification under a k-of-n witness policy, and every
//! status the witness must answer with.

use expect_test::{expect, expect_file};
use tongxin_tlog::witness::{
    attach_cosignatures, format_conflict_body, parse_add_checkpoint_response, parse_conflict_body,
};
use tongxin_tlog::{
    AddCheckpointRequest, Checkpoint, CheckpointError, Hash, Leaf, MemoryHashStore, Note, Receipt,
    ReceiptError, ReceiptPolicy, SignatureType, SignerKey, TreeState, VerifyReceiptError, Witness,
    WitnessError, WitnessedLog, cosign, leaf_hash, prove_consistency, validate_log_origin,
    verify_checkpoint_note, verify_receipt,
};

const ORIGIN: &str = "log.tongxin.example/anhui";

fn log_key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [11; 32]).unwrap()
}
fn witness(i: u8) -> SignerKey {
    SignerKey::from_seed(&format!("witness{i}.example"), SignatureType::CosignatureV1, [20 + i; 32]).unwrap()
}

fn entries(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("report commitment {i}").into_bytes()).collect()
}

fn signed_checkpoint(tree: &MemoryHashStore) -> Note {
    Checkpoint::new(ORIGIN, tree.size(), tree.root()).unwrap().sign(&log_key()).unwrap()
}

#[test]
fn checkpoint_golden_and_round_trip() {
    let tree = MemoryHashStore::from_entries(entries(10));
    let cp = Checkpoint::new(ORIGIN, tree.size(), tree.root()).unwrap();
    expect_file!["golden/checkpoint.txt"].assert_eq(&cp.sign(&log_key()).unwrap().to_string());
    assert_eq!(Checkpoint::parse(&cp.to_text()).unwrap(), cp);
    let empty = Checkpoint::new(ORIGIN, 0, tongxin_tlog::EMPTY_ROOT).unwrap();
    expect![[r#"
        log.tongxin.example/anhui
        0
        47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
    "#]]
    .assert_eq(&empty.to_text());
}

#[test]
fn checkpoint_parsing_follows_the_spec() {
    // Extension lines are parsed and kept (a witness cosigns them verbatim)...
    let text = "example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\nextension one\n";
    let cp = Checkpoint::parse(text).unwrap();
    assert_eq!(cp.extensions, vec!["extension one".to_owned()]);
    assert_eq!(cp.to_text(), text);
    // ...but our log never signs them.
    assert_eq!(cp.sign(&log_key()), Err(CheckpointError::Extensions));
    // Foreign origins may be odd; only non-empty is required to parse.
    assert!(
        Checkpoint::parse("odd origin+with plus\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").is_ok()
    );
    let cases = [
        "example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "example.com/x\n5\n",
        "\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/x\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/x\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
        "example.com/x\n5\nAAAA\n",
        "example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
    ];
    let out: String = cases.iter().map(|c| format!("{}\n", Checkpoint::parse(c).unwrap_err())).collect();
    expect![[r#"
        checkpoint text must end with a newline
        checkpoint has 2 lines; it needs origin, size and root hash
        checkpoint line 1 (origin) is empty
        checkpoint line 2 (tree size) is "05"; it must be a decimal with no leading zeroes
        checkpoint line 2 (tree size) is "-5"; it must be a decimal with no leading zeroes
        checkpoint line 3 (root hash) is "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I"; it must be the base64 of 32 bytes
        checkpoint line 3 (root hash) is "AAAA"; it must be the base64 of 32 bytes
        checkpoint line 4 is an empty extension line
    "#]]
    .assert_eq(&out);
}

#[test]
fn our_log_origins_are_checked() {
    validate_log_origin(ORIGIN).unwrap();
    let out: String = ["", "https://example.com/log", "example.com/log/", "example com", "a+b"]
        .iter()
        .map(|o| format!("{}\n", validate_log_origin(o).unwrap_err()))
        .collect();
    expect![[r#"
        checkpoint origin "" is unfit for a log: it is empty
        checkpoint origin "https://example.com/log" is unfit for a log: it has a URL scheme; drop the "https://"
        checkpoint origin "example.com/log/" is unfit for a log: it ends with a slash
        checkpoint origin "example com" is unfit for a log: it contains a space or '+', so it cannot be the log's key name
        checkpoint origin "a+b" is unfit for a log: it contains a space or '+', so it cannot be the log's key name
    "#]]
    .assert_eq(&out);
}

#[test]
fn checkpoint_notes_verify_against_the_log_key_and_origin() {
    let tree = MemoryHashStore::from_entries(entries(3));
    let note = signed_checkpoint(&tree);
    let v = verify_checkpoint_note(&note, ORIGIN, log_key().verifier(), &[]).unwrap();
    assert_eq!(v.checkpoint.size, 3);
    assert!(matches!(
        verify_checkpoint_note(&note, "other.example", log_key().verifier(), &[]),
        Err(CheckpointError::WrongOrigin { .. })
    ));
    let stranger = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [99; 32]).unwrap();
    assert!(matches!(
        verify_checkpoint_note(&note, ORIGIN, stranger.verifier(), &[]),
        Err(CheckpointError::NotSignedByLog { .. })
    ));
}

fn cosigned_checkpoint(tree: &MemoryHashStore, witnesses: &[SignerKey], time: u64) -> Note {
    let mut note = signed_checkpoint(tree);
    for w in witnesses {
        note.add_signature(cosign(w, note.text(), time).unwrap()).unwrap();
    }
    note
}

#[test]
fn receipt_golden_round_trip_and_verification() {
    let all = entries(13);
    let tree = MemoryHashStore::from_entries(&all);
    let note = cosigned_checkpoint(&tree, &[witness(1), witness(2)], 1_750_000_000);
    let receipt = Receipt::build(6, note, &tree, None).unwrap();
    let text = receipt.to_text();
    expect_file!["golden/receipt.tlog-proof"].assert_eq(&text);
    assert_eq!(Receipt::parse(text.as_bytes()).unwrap(), receipt);

    let with_extra = Receipt { extra: Some(b"context".to_vec()), ..receipt.clone() };
    assert!(with_extra.to_text().starts_with("c2sp.org/tlog-proof@v1\nextra Y29udGV4dA==\nindex 6\n"));
    assert_eq!(Receipt::parse(with_extra.to_text().as_bytes()).unwrap(), with_extra);

    let w: Vec<_> = (1..=3).map(|i| witness(i).verifier().clone()).collect();
    let policy = ReceiptPolicy::new(log_key().verifier().clone(), w.clone(), 2).unwrap();
    let ok = verify_receipt(&receipt, Leaf::Entry(&all[6]), &policy).unwrap();
    assert_eq!((ok.index, ok.checkpoint.size, ok.witnesses.len()), (6, 13, 2));
    assert_eq!(ok.witnesses[0].1, 1_750_000_000);
    verify_receipt(&receipt, Leaf::Hash(leaf_hash(&all[6])), &policy).unwrap();

    // The wrong entry, another index, a tampered proof: inclusion fails.
    let err = verify_receipt(&receipt, Leaf::Entry(&all[7]), &policy).unwrap_err();
    assert!(matches!(err, VerifyReceiptError::Inclusion { index: 6, size: 13, .. }), "{err}");
    let moved = Receipt { index: 7, ..receipt.clone() };
    assert!(verify_receipt(&moved, Leaf::Entry(&all[6]), &policy).is_err());
    let mut bent = receipt.clone();
    bent.proof[1].0[0] ^= 1;
    assert!(verify_receipt(&bent, Leaf::Entry(&all[6]), &policy).is_err());
    let beyond = Receipt { index: 13, ..receipt.clone() };
    expect!["index 13 is not in the checkpointed tree of size 13"]
        .assert_eq(&verify_receipt(&beyond, Leaf::Entry(&all[6]), &policy).unwrap_err().to_string());

    // Quorum of 3 out of 3 is not met by two cosignatures.
    let strict = ReceiptPolicy::new(log_key().verifier().clone(), w.clone(), 3).unwrap();
    expect!["2 valid witness cosignatures (witness1.example, witness2.example), policy needs 3"]
        .assert_eq(&verify_receipt(&receipt, Leaf::Entry(&all[6]), &strict).unwrap_err().to_string());

    // Another log's key, or a policy for another origin.
    let other = SignerKey::from_seed("other.example/log", SignatureType::Ed25519, [3; 32]).unwrap();
    let foreign = ReceiptPolicy::new(other.verifier().clone(), w.clone(), 0).unwrap();
    assert!(matches!(
        verify_receipt(&receipt, Leaf::Entry(&all[6]), &foreign),
        Err(VerifyReceiptError::NotSignedByLog { .. })
    ));
    let elsewhere =
        ReceiptPolicy::with_origin("x.example", log_key().verifier().clone(), w.clone(), 0).unwrap();
    assert!(matches!(
        verify_receipt(&receipt, Leaf::Entry(&all[6]), &elsewhere),
        Err(VerifyReceiptError::WrongOrigin { .. })
    ));

    // A forged cosignature by a configured witness fails the receipt.
    let mut forged = receipt.clone();
    let mut cp = forged.checkpoint.clone();
    let mut sig = cp.signatures()[1].clone();
    sig.signature[20] ^= 1;
    cp.add_signature(sig).unwrap();
    forged.checkpoint = cp;
    assert!(matches!(
        verify_receipt(&forged, Leaf::Entry(&all[6]), &policy),
        Err(VerifyReceiptError::Signature(_))
    ));

    // Impossible policies are refused up front.
    assert!(ReceiptPolicy::new(log_key().verifier().clone(), w.clone(), 4).is_err());
    assert!(ReceiptPolicy::new(witness(1).verifier().clone(), vec![], 0).is_err());
    assert!(ReceiptPolicy::new(log_key().verifier().clone(), vec![log_key().verifier().clone()], 0).is_err());
}

#[test]
fn malformed_receipts_name_the_line() {
    let tree = MemoryHashStore::from_entries(entries(5));
    let receipt = Receipt::build(1, signed_checkpoint(&tree), &tree, None).unwrap();
    let good = receipt.to_text();
    let lines: Vec<&str> = good.split_inclusive('\n').collect();
    let cases = [
        good.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
        good.replace("index 1\n", "index 01\n"),
        good.replace("index 1\n", "extra !!\nindex 1\n"),
        good.replace("index 1\n", "idx 1\n"),
        good.replacen(lines[2], "AAAA\n", 1),
        lines[..3].concat(),
        good.replace("\n\nlog.tongxin", "\n\n\nlog.tongxin"),
        good.replace("— ", "-- "),
        format!(
            "{}{}",
            &good[..good.find("\n\n").unwrap() + 2],
            "log.tongxin.example/anhui\nfive\nAAAA\n\n— x AAAAAAA=\n"
        ),
    ];
    let out: String =
        cases.iter().map(|c| format!("{}\n", Receipt::parse(c.as_bytes()).unwrap_err())).collect();
    expect![[r#"
        receipt line 1 is "c2sp.org/tlog-proof@v2", not "c2sp.org/tlog-proof@v1"
        receipt line 2 is "index 01"; expected "index <N>" with no leading zeroes
        receipt line 2: extra data is not canonical base64
        receipt line 2 is "idx 1"; expected "index <N>" with no leading zeroes
        receipt line 3 is not the base64 of a 32-byte hash
        receipt ends before the blank line and checkpoint
        receipt checkpoint text: checkpoint line 1 (origin) is empty
        receipt checkpoint note (its line 1 is receipt line 7): line 5 is not a signature line "— <name> <base64>"
        receipt checkpoint text: checkpoint line 2 (tree size) is "five"; it must be a decimal with no leading zeroes
    "#]]
    .assert_eq(&out);
    assert!(matches!(Receipt::parse(&vec![b'a'; 2 << 20]), Err(ReceiptError::TooLarge { .. })));
}

// ----------------------------------------------------------------- witness

fn the_witness() -> Witness {
    Witness::new(
        witness(1),
        vec![WitnessedLog { origin: ORIGIN.into(), keys: vec![log_key().verifier().clone()] }],
    )
    .unwrap()
}

fn request(tree: &MemoryHashStore, old: u64) -> AddCheckpointRequest {
    AddCheckpointRequest {
        old_size: old,
        proof: prove_consistency(old, tree.size(), tree).unwrap(),
        checkpoint: signed_checkpoint(tree),
    }
}

#[test]
fn witness_request_and_response_bodies() {
    let tree = MemoryHashStore::from_entries(entries(20));
    let req = request(&tree, 7);
    let body = req.to_text();
    expect_file!["golden/add_checkpoint_request.txt"].assert_eq(&body);
    let (parsed, cp) = Witness::parse_request(body.as_bytes()).unwrap();
    assert_eq!(parsed, req);
    assert_eq!(cp.size, 20);

    let out: String = [
        "old 07\n\nx".to_owned(),
        "new 7\n\n".to_owned(),
        "old 7\nAAAA\n\n".to_owned(),
        "old 7\n".to_owned(),
        format!(
            "old 0\n{}\n{}",
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n".repeat(64),
            signed_checkpoint(&tree)
        ),
        "old 0\n\nno signature\n".to_owned(),
    ]
    .iter()
    .map(|b| format!("{}\n", AddCheckpointRequest::parse(b.as_bytes()).unwrap_err()))
    .collect();
    expect![[r#"
        line 1 is "old 07"; expected "old <size>" with no leading zeroes
        line 1 is "new 7"; expected "old <size>" with no leading zeroes
        line 2 is not the base64 of a 32-byte hash
        body ends before the blank line and checkpoint
        more than 63 consistency proof lines
        checkpoint note (its line 1 is body line 3): note has no blank line separating the text from the signatures
    "#]]
    .assert_eq(&out);

    assert_eq!(format_conflict_body(42), "42\n");
    assert_eq!(parse_conflict_body(b"42\n"), Ok(42));
    assert!(parse_conflict_body(b"042\n").is_err());
    assert!(parse_conflict_body(b"42").is_err());
    assert!(parse_add_checkpoint_response(b"").is_err());
    assert!(parse_add_checkpoint_response("— w AAAAAAA=".as_bytes()).is_err());
}

#[test]
fn witness_cosigns_a_consistent_log_and_the_log_attaches_it() {
    let w = the_witness();
    let tree = MemoryHashStore::from_entries(entries(10));
    // First contact: old size 0, empty proof.
    let first = w.add_checkpoint(&request(&tree, 0), None, 1_700_000_000).unwrap();
    assert_eq!(first.state, TreeState { size: 10, root: tree.root() });
    // The log side: parse the 200 body, verify, attach.
    let mut note = signed_checkpoint(&tree);
    let sigs = parse_add_checkpoint_response(first.response_body().as_bytes()).unwrap();
    let added = attach_cosignatures(&mut note, &sigs, &[w.verifier().clone()]).unwrap();
    assert_eq!(added[0].timestamp, Some(1_700_000_000));
    assert_eq!(note.signatures().len(), 2);

    // Growth with a consistency proof.
    let bigger = MemoryHashStore::from_entries(entries(300));
    let second = w.add_checkpoint(&request(&bigger, 10), Some(first.state), 1_700_000_060).unwrap();
    assert_eq!(second.state.size, 300);
    // The same checkpoint again: cosigned again, nothing to prove.
    let again = w.add_checkpoint(&request(&bigger, 300), Some(second.state), 1_700_000_120).unwrap();
    assert_eq!(again.state, second.state);
}

#[test]
fn witness_refusals_carry_the_spec_status() {
    let w = the_witness();
    let tree = MemoryHashStore::from_entries(entries(50));
    let state_10 = TreeState { size: 10, root: MemoryHashStore::from_entries(entries(10)).root() };
    let mut results: Vec<(u16, String)> = Vec::new();
    let mut record = |r: Result<tongxin_tlog::Cosigned, WitnessError>| {
        let e = r.unwrap_err();
        results.push((
            e.status(),
            format!("{e}{}", e.conflict_body().map(|b| format!(" [body {b:?}]")).unwrap_or_default()),
        ));
    };

    // 404: unknown origin.
    let stranger = SignerKey::from_seed("unknown.example/log", SignatureType::Ed25519, [1; 32]).unwrap();
    let mut req = request(&tree, 10);
    req.checkpoint =
        Checkpoint::new("unknown.example/log", 50, tree.root()).unwrap().sign(&stranger).unwrap();
    record(w.add_checkpoint(&req, Some(state_10), 1));
    // 403: signed by a key the witness does not trust for that origin.
    let impostor = SignerKey::from_seed(ORIGIN, SignatureType::Ed25519, [2; 32]).unwrap();
    let mut req = request(&tree, 10);
    req.checkpoint = Checkpoint::new(ORIGIN, 50, tree.root()).unwrap().sign(&impostor).unwrap();
    record(w.add_checkpoint(&req, Some(state_10), 1));
    // 400: old size above the checkpoint size.
    let mut req = request(&tree, 10);
    req.old_size = 51;
    record(w.add_checkpoint(&req, Some(state_10), 1));
    // 409: old size is not what the witness last cosigned; body is its size.
    record(w.add_checkpoint(&request(&tree, 20), Some(state_10), 1));
    record(w.add_checkpoint(&request(&tree, 0), Some(state_10), 1));
    // 409: same size, different root (a fork).
    let fork = TreeState { size: 50, root: Hash([7; 32]) };
    record(w.add_checkpoint(&request(&tree, 50), Some(fork), 1));
    // 422: a consistency proof that does not verify.
    let mut req = request(&tree, 10);
    req.proof[0].0[0] ^= 1;
    record(w.add_checkpoint(&req, Some(state_10), 1));
    // 422: the stored root is not a prefix of the new tree (log rewrote history).
    let rewritten = TreeState { size: 10, root: Hash([9; 32]) };
    record(w.add_checkpoint(&request(&tree, 10), Some(rewritten), 1));
    // 422: first contact must carry an empty proof.
    let mut req = request(&tree, 0);
    req.proof.push(Hash([1; 32]));
    record(w.add_checkpoint(&req, None, 1));
    // 400: malformed body.
    record(Witness::parse_request(b"old x\n").map(|_| unreachable!()));

    let out: String = results.iter().map(|(s, m)| format!("{s} {m}\n")).collect();
    let out = out.replace(&tree.root().to_string(), "<root50>");
    expect![[r#"
        404 unknown log origin "unknown.example/log"
        403 checkpoint for "log.tongxin.example/anhui" is not validly signed by a trusted log key: no signature on the note is by a known key (signed by: log.tongxin.example/anhui+c3e5130c)
        400 old size 51 is larger than the checkpoint size 50
        409 old size 20 does not match the latest cosigned size 10 [body "10\n"]
        409 old size 0 does not match the latest cosigned size 10 [body "10\n"]
        409 checkpoint of size 50 has root <root50>, but the witness cosigned root BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc= for that size [body "50\n"]
        422 consistency proof from size 10 to 50 does not verify: consistency proof leads to old root OQX3Rk2+K02Zcn6LvU+hjar8CILH1ouXwXVQlu/TMLk=, not the expected old root kF+Vn738F+o4/0d/1rd42yfXuqAMlhccdBSBHNIPzJc=
        422 consistency proof from size 10 to 50 does not verify: consistency proof leads to old root kF+Vn738F+o4/0d/1rd42yfXuqAMlhccdBSBHNIPzJc=, not the expected old root CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=
        422 consistency proof from size 0 to 50 does not verify: proof has 1 hashes, but 0 are needed for these tree sizes
        400 malformed request: line 1 is "old x"; expected "old <size>" with no leading zeroes
    "#]]
    .assert_eq(&out);
}
