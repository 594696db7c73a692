//! Property and fuzz-style tests: altered bytes never pass, tokens never
//! cross scopes or keys, and decoding arbitrary bytes never panics.

mod common;

use std::sync::OnceLock;

use common::{other_key, rfc_key};
use proptest::prelude::*;
use tongxin_tokens::scheme::{KeyRecord, KeyScope, challenge};
use tongxin_tokens::{
    ClientState, DefaultRng, Error, IssuerKey, IssuerPublicKey, NK, TOKEN_LEN, Token, TokenChallenge,
    TokenRequest, TokenResponse, begin_issuance, finalize, issue, verify,
};

const SERVER: &str = "tongxin.example.gov.cn";

fn scope_a() -> KeyScope {
    KeyScope::monthly("440305", 2026, 11).unwrap()
}

/// Scope A's key is the RFC 9578 key; one token, its request, response and
/// client state, made once.
struct Fixture {
    digest: [u8; 32],
    request: Vec<u8>,
    response: Vec<u8>,
    state: ClientState,
    token: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let key = rfc_key();
        let c = challenge(SERVER, &scope_a()).unwrap();
        let (request, state) = begin_issuance(key.public_key(), &c, &mut DefaultRng).unwrap();
        let response = issue(key, &request).unwrap();
        let token = finalize(state.clone(), &response).unwrap();
        verify(key.public_key(), &token, &c.digest()).unwrap();
        Fixture {
            digest: c.digest(),
            request: request.to_bytes(),
            response: response.to_bytes(),
            state,
            token: token.to_bytes(),
        }
    })
}

fn label() -> impl Strategy<Value = String> {
    "[0-9a-z]([0-9a-z-]{0,10}[0-9a-z])?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any altered byte of a stored token makes it fail to decode or to
    /// verify.
    #[test]
    fn an_altered_token_byte_never_verifies(index in 0..TOKEN_LEN, flip in 1u8..=255) {
        let f = fixture();
        let mut bytes = f.token.clone();
        bytes[index] ^= flip;
        if let Ok(token) = Token::decode(&bytes) {
            prop_assert!(verify(rfc_key().public_key(), &token, &f.digest).is_err());
        }
    }

    /// Any altered byte of the issuer's response makes finalizing fail: the
    /// client notices a wrong signature before it holds a token.
    #[test]
    fn an_altered_response_byte_never_finalizes(index in 0..NK, flip in 1u8..=255) {
        let f = fixture();
        let mut bytes = f.response.clone();
        bytes[index] ^= flip;
        let response = TokenResponse::decode(&bytes).unwrap();
        prop_assert_eq!(finalize(f.state.clone(), &response), Err(Error::BadSignature));
    }

    /// A token for scope A is refused under any other scope's context, and
    /// under scope B's key even when its key id is rewritten to B's.
    #[test]
    fn a_token_never_crosses_scopes(code in label(), period in label()) {
        let b = KeyScope::new(&code, &period).unwrap();
        prop_assume!(b != scope_a());
        let f = fixture();
        let token = Token::decode(&f.token).unwrap();
        let digest_b = challenge(SERVER, &b).unwrap().digest();
        prop_assert_ne!(digest_b, f.digest);
        // Scope A's key, scope B's context.
        prop_assert_eq!(
            verify(rfc_key().public_key(), &token, &digest_b),
            Err(Error::ChallengeMismatch)
        );
        // Scope B's key, either context.
        let key_b = other_key().public_key();
        prop_assert_eq!(verify(key_b, &token, &digest_b), Err(Error::WrongKey));
        prop_assert_eq!(verify(key_b, &token, &f.digest), Err(Error::WrongKey));
        // Relabelled as B's token, under B's context: the signature fails.
        let mut relabelled = f.token.clone();
        relabelled[34..66].copy_from_slice(&digest_b);
        relabelled[66..98].copy_from_slice(key_b.token_key_id());
        let relabelled = Token::decode(&relabelled).unwrap();
        prop_assert_eq!(verify(key_b, &relabelled, &digest_b), Err(Error::BadSignature));
        // Relabelled with A's key id but B's context: the signature fails.
        let mut moved = f.token.clone();
        moved[34..66].copy_from_slice(&digest_b);
        let moved = Token::decode(&moved).unwrap();
        prop_assert_eq!(
            verify(rfc_key().public_key(), &moved, &digest_b),
            Err(Error::BadSignature)
        );
    }

    /// Challenges built from valid parts round-trip exactly.
    #[test]
    fn challenges_round_trip(
        token_type in any::<u16>(),
        issuer in "[!-~]{1,80}",
        ctx in proptest::option::of(any::<[u8; 32]>()),
        origin in "[!-~]{0,80}",
    ) {
        let c = TokenChallenge::new(token_type, &issuer, ctx, &origin).unwrap();
        let bytes = c.to_bytes();
        prop_assert_eq!(TokenChallenge::decode(&bytes).unwrap(), c.clone());
        prop_assert_eq!(c.digest(), TokenChallenge::decode(&bytes).unwrap().digest());
    }

    /// Decoding arbitrary bytes never panics, whatever the decoder.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let _ = Token::decode(&bytes);
        let _ = TokenRequest::decode(&bytes);
        let _ = TokenResponse::decode(&bytes);
        let _ = TokenChallenge::decode(&bytes);
        let _ = KeyRecord::from_bytes(&bytes);
        let _ = IssuerPublicKey::from_spki(&bytes);
        let _ = IssuerKey::from_pkcs8_der(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = IssuerKey::from_pkcs8_pem(text);
        }
    }

    /// Arbitrary bytes with a type-2 prefix and the right length reach the
    /// deeper checks; still no panic, and verification fails.
    #[test]
    fn random_type_2_messages_never_panic(body in proptest::collection::vec(any::<u8>(), TOKEN_LEN - 2)) {
        let f = fixture();
        let mut bytes = vec![0, 2];
        bytes.extend_from_slice(&body);
        let token = Token::decode(&bytes).unwrap();
        prop_assert!(verify(rfc_key().public_key(), &token, &f.digest).is_err());
        let request = TokenRequest::decode(&bytes[..3 + NK]).unwrap();
        let _ = issue(rfc_key(), &request);
    }

    /// Mutating valid encodings (flip, truncate, extend) never panics, and a
    /// changed SPKI or key record is never taken for the original (a flipped
    /// modulus bit can be another valid key: it must get another id).
    #[test]
    fn mutated_encodings_never_panic(
        which in 0usize..5,
        index in any::<prop::sample::Index>(),
        flip in 1u8..=255,
        cut in any::<prop::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let f = fixture();
        let key = rfc_key().public_key();
        let record = KeyRecord::new(scope_a(), key, 1, 2).unwrap().to_bytes();
        let challenge_bytes = challenge(SERVER, &scope_a()).unwrap().to_bytes();
        let original = match which {
            0 => key.spki().to_vec(),
            1 => record.clone(),
            2 => challenge_bytes,
            3 => f.request.clone(),
            _ => f.token.clone(),
        };
        let mut flipped = original.clone();
        let i = index.index(flipped.len());
        flipped[i] ^= flip;
        let truncated = original[..cut.index(original.len())].to_vec();
        let mut extended = original.clone();
        extended.extend_from_slice(&extra);
        for bytes in [&flipped, &truncated, &extended] {
            match which {
                0 => {
                    if let Ok(k) = IssuerPublicKey::from_spki(bytes) {
                        prop_assert_eq!(&k == key, bytes == &original);
                        prop_assert_eq!(k.token_key_id() == key.token_key_id(), bytes == &original);
                    }
                }
                1 => {
                    if let Ok(r) = KeyRecord::from_bytes(bytes) {
                        prop_assert_eq!(r.to_bytes() == record, bytes == &record);
                    }
                }
                2 => { let _ = TokenChallenge::decode(bytes); }
                3 => {
                    if let Ok(r) = TokenRequest::decode(bytes) {
                        let _ = issue(rfc_key(), &r);
                    }
                }
                _ => {
                    if let Ok(t) = Token::decode(bytes) {
                        prop_assert_eq!(
                            verify(key, &t, &f.digest).is_ok(),
                            bytes == &original
                        );
                    }
                }
            }
        }
    }
}
