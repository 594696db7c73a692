//! `c2sp.org/signed-note` and `c2sp.org/tlog-cosignature`: interoperation
//! with Go's `golang.org/x/mod/sumdb/note` test vectors (same keys, same
//! signed bytes), strict parsing with line-exact errors, verification rules,
//! and golden signed and cosigned notes.

use expect_test::{expect, expect_file};
use tongxin_tlog::cosignature::{cosignature_message, cosignature_timestamp};
use tongxin_tlog::note::key_id;
use tongxin_tlog::{KeyError, Note, NoteError, SignatureType, SignerKey, VerifierKey, cosign};

// From golang.org/x/mod/sumdb/note/note_test.go.
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str =
    "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> VerifierKey {
    VerifierKey::parse(PETER_VKEY).unwrap()
}
fn enoch() -> VerifierKey {
    VerifierKey::parse(ENOCH_VKEY).unwrap()
}

#[test]
fn go_keys_parse_and_print_back() {
    let v = peter();
    assert_eq!(v.name(), "PeterNeumann");
    assert_eq!(v.key_id(), 0xc74f20a3);
    assert_eq!(v.to_string(), PETER_VKEY);
    let s = SignerKey::parse(PETER_SKEY, SignatureType::Ed25519).unwrap();
    assert_eq!(s.verifier(), &v);
    assert_eq!(s.to_secret_string(), PETER_SKEY);
    assert_eq!(enoch().to_string(), ENOCH_VKEY);
    // Debug never shows the secret.
    assert!(!format!("{s:?}").contains("AYEKFALV"));
}

#[test]
fn go_key_manglings_are_refused() {
    // As Go's TestNewVerifier/TestNewSigner: every proper substring and every
    // single-byte increment of a key string fails to parse.
    for (key, parse) in [
        (PETER_VKEY, (|k: &str| VerifierKey::parse(k).is_ok()) as fn(&str) -> bool),
        (PETER_SKEY, |k: &str| SignerKey::parse(k, SignatureType::Ed25519).is_ok()),
    ] {
        let b = key.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len())
                    && let Ok(s) = std::str::from_utf8(&b[i..j])
                {
                    assert!(!parse(s), "substring {s:?} parsed");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                // Hex digits a-f in upper case stay the same key ID; Go's
                // ParseUint accepts them as well.
                if s.to_lowercase() == key.to_lowercase() && s != key {
                    continue;
                }
                assert!(!parse(s), "mangled {s:?} parsed");
            }
        }
    }
    // Go's two crafted cases: wrong key length and unknown algorithm, each
    // with a key hash adjusted to match.
    // (Go's lenient base64 reads this one; our canonical decoder already
    // refuses its non-zero trailing bits.)
    assert!(
        VerifierKey::parse("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
            .is_err()
    );
    let long = format!("PeterNeumann+00000000+{}", tongxin_tlog_b64(&[1u8; 34]));
    assert_eq!(VerifierKey::parse(&long), Err(KeyError::BadKeyLength { got: 33 }));
    assert_eq!(
        VerifierKey::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"),
        Err(KeyError::UnsupportedType(0x65))
    );
}

#[test]
fn signing_reproduces_gos_signed_note_byte_for_byte() {
    let signer = SignerKey::parse(PETER_SKEY, SignatureType::Ed25519).unwrap();
    let mut note = Note::new(TEXT).unwrap();
    note.sign(&signer).unwrap();
    assert_eq!(note.to_string(), format!("{TEXT}\n{PETER_SIG}"));
    // Signing again replaces the signature instead of adding one.
    note.sign(&signer).unwrap();
    assert_eq!(note.signatures().len(), 1);
}

#[test]
fn opening_gos_notes() {
    let msg = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");
    let note = Note::parse(msg.as_bytes()).unwrap();
    assert_eq!(note.text(), TEXT);
    assert_eq!(note.to_string(), msg);

    // One known key: one verified, one ignored.
    let v = note.verify(&[peter()]).unwrap();
    assert_eq!(v.verified.len(), 1);
    assert_eq!(v.verified[0].key, peter());
    assert_eq!(v.unverified.len(), 1);
    assert_eq!(v.unverified[0].name, "EnochRoot");
    assert_eq!(v.unverified[0].key_id, 0xaf0cfe78);

    // Both known.
    let v = note.verify(&[peter(), enoch()]).unwrap();
    assert_eq!(v.verified.len(), 2);
    assert!(v.unverified.is_empty());

    // None known.
    expect![
        "no signature on the note is by a known key (signed by: PeterNeumann+c74f20a3, EnochRoot+af0cfe78)"
    ]
    .assert_eq(&note.verify(&[]).unwrap_err().to_string());

    // A duplicated verifier for an unused key is fine; the same key twice is fine.
    Note::parse(format!("{TEXT}\n{PETER_SIG}").as_bytes())
        .unwrap()
        .verify(&[enoch(), peter(), enoch()])
        .unwrap();

    // 101 signatures are too many (Go's limit is 100).
    let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
    assert_eq!(Note::parse(many.as_bytes()), Err(NoteError::TooManySignatures { count: 101 }));
    let hundred = format!("{TEXT}\n{}", PETER_SIG.repeat(100));
    let v = Note::parse(hundred.as_bytes()).unwrap().verify(&[peter()]).unwrap();
    assert_eq!(v.verified.len(), 1, "one key counts once");

    // A known key's corrupted signature rejects the note.
    let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let err = Note::parse(bad.as_bytes()).unwrap().verify(&[peter()]).unwrap_err();
    expect!["signature by PeterNeumann+c74f20a3 does not verify (line 4)"].assert_eq(&err.to_string());

    // Duplicated verified and unverified signatures (Go's case).
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let msg = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
    let v = Note::parse(msg.as_bytes()).unwrap().verify(&[peter()]).unwrap();
    assert_eq!(v.verified.len(), 1);
    assert_eq!(v.unverified.len(), 2);
}

#[test]
fn malformed_notes_name_the_problem() {
    let cases: Vec<Vec<u8>> = vec![
        TEXT.into(),
        format!("{TEXT}\n").into(),
        format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]).into(),
        format!("\x01{TEXT}\n{PETER_SIG}").into(),
        [b"\xff".as_slice(), format!("{TEXT}\n{PETER_SIG}").as_bytes()].concat(),
        format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n").into(),
        format!("{TEXT}\n{PETER_SIG}Unexpected line.\n").into(),
        format!("{TEXT}\n- PeterNeumann x08go/ZJku=\n").into(),
        format!("{TEXT}\n— PeterNeumann x08go\n").into(),
        format!("{TEXT}\n— PeterNeumann AAAA\n").into(),
        format!("{TEXT}\n— Peter+Neumann AAAAAAA=\n").into(),
        format!("a\r\nb\n\n{PETER_SIG}").into(),
        vec![b'a'; (1 << 20) + 1],
    ];
    let out: String = cases.iter().map(|c| format!("{}\n", Note::parse(c).unwrap_err())).collect();
    expect![[r#"
        note has no blank line separating the text from the signatures
        note has no signature lines after the blank line
        note does not end with a newline after its last signature line
        note has control character U+0001 on line 1; only newline is allowed
        note is not valid UTF-8 (at byte 0)
        line 4: signature is not canonical standard base64
        line 5 is not a signature line "— <name> <base64>"
        line 4 is not a signature line "— <name> <base64>"
        line 4: signature is not canonical standard base64
        line 4: signature is 3 bytes, but must be a 4-byte key ID and at least 1 signature byte
        line 4: key name "Peter+Neumann" is invalid: it must be non-empty and contain no spaces and no '+'
        note has control character U+000D on line 1; only newline is allowed
    "#]]
    .assert_eq(&out[..out.rfind("note is 1048577").unwrap_or(out.len())]);
    assert!(out.ends_with("note is 1048577 bytes, over the limit of 1048576\n"));
    assert_eq!(Note::new("no newline"), Err(NoteError::TextNotTerminated));
    assert_eq!(Note::new(""), Err(NoteError::EmptyText));
}

#[test]
fn unknown_keys_sharing_a_name_or_id_are_ignored() {
    // "Verifiers MUST ignore signatures from unknown keys, even if they share
    // a name or ID (but not both) with a known key."
    let log = SignerKey::from_seed("example.com/log", SignatureType::Ed25519, [1; 32]).unwrap();
    let other = SignerKey::from_seed("example.com/log", SignatureType::Ed25519, [2; 32]).unwrap();
    let mut note = Note::new("hello\n").unwrap();
    note.sign(&log).unwrap();
    note.sign(&other).unwrap();
    let v = note.verify(&[log.verifier().clone()]).unwrap();
    assert_eq!(v.verified.len(), 1);
    assert_eq!(v.unverified.len(), 1);
    // The other key alone verifies its own line and ignores the first.
    let v = note.verify(&[other.verifier().clone()]).unwrap();
    assert_eq!((v.verified.len(), v.unverified.len()), (1, 1));
}

#[test]
fn key_ids_follow_the_spec_formula() {
    let key = SignerKey::from_seed("example.com/w", SignatureType::CosignatureV1, [3; 32]).unwrap();
    let pk = key.verifier().public_key().to_bytes();
    assert_eq!(key.key_id(), key_id("example.com/w", 0x04, &pk));
    assert_ne!(key.key_id(), key_id("example.com/w", 0x01, &pk));
    // The witness verifier key string carries type 0x04.
    let vkey = key.verifier().to_string();
    assert!(vkey.starts_with(&format!("example.com/w+{:08x}+B", key.key_id())), "{vkey}");
    assert_eq!(VerifierKey::parse(&vkey).unwrap(), *key.verifier());
    // A 0x04 signer key string round-trips; a 0x01 one is accepted as a
    // cosigner key with the ID recomputed.
    let skey = key.to_secret_string();
    assert_eq!(SignerKey::parse(&skey, SignatureType::CosignatureV1).unwrap().verifier(), key.verifier());
    assert_eq!(
        SignerKey::parse(&skey, SignatureType::Ed25519).unwrap_err(),
        KeyError::WrongType { want: 1, got: 4 }
    );
    let ed = SignerKey::from_seed("example.com/w", SignatureType::Ed25519, [3; 32]).unwrap();
    let as_cosigner = SignerKey::parse(&ed.to_secret_string(), SignatureType::CosignatureV1).unwrap();
    assert_eq!(as_cosigner.verifier(), key.verifier());
    // Generated keys are usable and distinct.
    let a = SignerKey::generate("example.com/gen", SignatureType::Ed25519).unwrap();
    let b = SignerKey::generate("example.com/gen", SignatureType::Ed25519).unwrap();
    assert_ne!(a.verifier(), b.verifier());
    assert_eq!(
        SignerKey::generate("bad name", SignatureType::Ed25519).unwrap_err(),
        KeyError::BadName { name: "bad name".into() }
    );
}

fn checkpoint_text() -> &'static str {
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
}

#[test]
fn cosignatures_sign_the_spec_message_and_verify() {
    assert_eq!(
        cosignature_message(checkpoint_text(), 1679315147),
        "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    );
    let witness =
        SignerKey::from_seed("witness.example.com/w1", SignatureType::CosignatureV1, [5; 32]).unwrap();
    let sig = cosign(&witness, checkpoint_text(), 1679315147).unwrap();
    assert_eq!(sig.signature.len(), 72);
    assert_eq!(&sig.signature[..8], &1679315147u64.to_be_bytes());
    assert_eq!(cosignature_timestamp(&sig), Some(1679315147));
    let mut note = Note::new(checkpoint_text()).unwrap();
    note.add_signature(sig.clone()).unwrap();
    let v = note.verify(&[witness.verifier().clone()]).unwrap();
    assert_eq!(v.verified[0].timestamp, Some(1679315147));
    // Changing the timestamp breaks it: the time is signed.
    let mut forged = sig.clone();
    forged.signature[7] ^= 1;
    let mut note2 = Note::new(checkpoint_text()).unwrap();
    note2.add_signature(forged).unwrap();
    assert!(note2.verify(&[witness.verifier().clone()]).is_err());
    // Only cosigner keys cosign, only timestamps up to 2^63-1.
    let log = SignerKey::from_seed("example.com/behind-the-sofa", SignatureType::Ed25519, [6; 32]).unwrap();
    assert!(cosign(&log, checkpoint_text(), 1).is_err());
    assert!(cosign(&witness, checkpoint_text(), 1 << 63).is_err());
    assert!(witness.sign(checkpoint_text()).is_err());
}

#[test]
fn golden_signed_and_cosigned_notes() {
    let log = SignerKey::from_seed("example.com/behind-the-sofa", SignatureType::Ed25519, [6; 32]).unwrap();
    let w1 = SignerKey::from_seed("witness.example.com/w1", SignatureType::CosignatureV1, [5; 32]).unwrap();
    let w2 = SignerKey::from_seed("witness.example.org/w2", SignatureType::CosignatureV1, [8; 32]).unwrap();
    let mut note = Note::new(checkpoint_text()).unwrap();
    note.sign(&log).unwrap();
    expect_file!["golden/signed_note.txt"].assert_eq(&note.to_string());
    note.add_signature(cosign(&w1, checkpoint_text(), 1679315147).unwrap()).unwrap();
    note.add_signature(cosign(&w2, checkpoint_text(), 1679315150).unwrap()).unwrap();
    let keys = format!("{}\n{}\n{}\n", log.verifier(), w1.verifier(), w2.verifier());
    expect_file!["golden/cosigned_note.txt"].assert_eq(&note.to_string());
    expect_file!["golden/keys.txt"].assert_eq(&keys);
    let v = Note::parse(note.to_string().as_bytes())
        .unwrap()
        .verify(&[log.verifier().clone(), w1.verifier().clone(), w2.verifier().clone()])
        .unwrap();
    assert_eq!(v.verified.len(), 3);
}

fn tongxin_tlog_b64(bytes: &[u8]) -> String {
    // Standard padded base64, written out to keep the test independent.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn text_of_one_empty_line_is_a_note() {
    // Go's note.Open accepts it too: the text is "\n".
    let n = Note::parse(format!("\n\n{PETER_SIG}").as_bytes()).unwrap();
    assert_eq!(n.text(), "\n");
}
