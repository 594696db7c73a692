//! The issuance protocol end to end, and each refusal it must make.

mod common;

use blind_rsa_signatures::{Deterministic, PSS, PublicKey, Sha256, Sha384};
use common::{other_key, rfc_key, rfc9578_vectors};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{
    DefaultRng, Error, IssuerKey, IssuerPublicKey, NK, TOKEN_LEN, TOKEN_REQUEST_LEN, TOKEN_RESPONSE_LEN,
    Token, TokenChallenge, TokenRequest, TokenResponse, begin_issuance, finalize, issue, verify,
};

const SERVER: &str = "tongxin.example.gov.cn";

fn scope() -> KeyScope {
    KeyScope::monthly("440305", 2026, 11).unwrap()
}

#[test]
fn a_token_round_trips_and_verifies() {
    let key = rfc_key();
    let challenge = challenge(SERVER, &scope()).unwrap();
    let (request, state) = begin_issuance(key.public_key(), &challenge, &mut DefaultRng).unwrap();
    assert_eq!(request.to_bytes().len(), TOKEN_REQUEST_LEN);
    assert_eq!(request.token_type(), 2);
    assert_eq!(request.truncated_token_key_id(), key.public_key().truncated_token_key_id());

    // The issuer sees only bytes.
    let request = TokenRequest::decode(&request.to_bytes()).unwrap();
    let response = issue(key, &request).unwrap();
    assert_eq!(response.to_bytes().len(), TOKEN_RESPONSE_LEN);

    let response = TokenResponse::decode(&response.to_bytes()).unwrap();
    let token = finalize(state, &response).unwrap();
    let bytes = token.to_bytes();
    assert_eq!(bytes.len(), TOKEN_LEN);
    assert_eq!(&bytes[..2], &[0, 2]);
    assert_eq!(&bytes[2..34], token.nonce());

    // Anyone with the public key (say, from the log) checks the stored token.
    let public = IssuerPublicKey::from_spki(key.public_key().spki()).unwrap();
    let stored = Token::decode(&bytes).unwrap();
    verify(&public, &stored, &challenge.digest()).unwrap();
    assert_eq!(stored.token_key_id(), public.token_key_id());
    assert_eq!(stored.challenge_digest(), &challenge.digest());
}

#[test]
fn two_tokens_have_different_nonces_and_requests() {
    let key = rfc_key();
    let challenge = challenge(SERVER, &scope()).unwrap();
    let (r1, s1) = begin_issuance(key.public_key(), &challenge, &mut DefaultRng).unwrap();
    let (r2, s2) = begin_issuance(key.public_key(), &challenge, &mut DefaultRng).unwrap();
    assert_ne!(r1.blinded_msg(), r2.blinded_msg());
    let t1 = finalize(s1, &issue(key, &r1).unwrap()).unwrap();
    let t2 = finalize(s2, &issue(key, &r2).unwrap()).unwrap();
    assert_ne!(t1.nonce(), t2.nonce());
    // The token shares no bytes with what the issuer saw.
    let seen = [r1.to_bytes(), r2.to_bytes()].concat();
    let token = t1.to_bytes();
    assert!(!seen.windows(16).any(|w| token[98..].windows(16).any(|t| t == w)));
}

#[test]
fn the_issuer_refuses_a_request_for_another_key() {
    let (a, b) = (rfc_key(), other_key());
    let challenge = challenge(SERVER, &scope()).unwrap();
    let (request, _) = begin_issuance(b.public_key(), &challenge, &mut DefaultRng).unwrap();
    let (ta, tb) = (a.public_key().truncated_token_key_id(), b.public_key().truncated_token_key_id());
    if ta != tb {
        assert_eq!(issue(a, &request), Err(Error::KeyIdMismatch { expected: ta, found: tb }));
    }
}

#[test]
fn the_issuer_refuses_a_blinded_message_not_below_the_modulus() {
    let key = rfc_key();
    let mut bytes = vec![0, 2, key.public_key().truncated_token_key_id()];
    bytes.extend_from_slice(&[0xff; NK]);
    let request = TokenRequest::decode(&bytes).unwrap();
    assert_eq!(issue(key, &request), Err(Error::InvalidBlindedMessage));
}

#[test]
fn a_client_refuses_a_signature_made_with_another_key() {
    // A malicious issuer answering with a hidden (say, per-person) key.
    let (public, hidden) = (rfc_key(), other_key());
    let challenge = challenge(SERVER, &scope()).unwrap();
    // The blinded message is uniform below the public key's modulus; the hidden key can
    // sign it only when it is also below the hidden key's (a smaller modulus refuses the
    // rest as `InvalidBlindedMessage`), so blind afresh until it is: at worst half the
    // draws are refused, so 64 draws all refused would be a broken issuer, not bad luck.
    let (response, state) = (0..64)
        .find_map(|_| {
            let (request, state) = begin_issuance(public.public_key(), &challenge, &mut DefaultRng).unwrap();
            let mut forged = request.to_bytes();
            forged[2] = hidden.public_key().truncated_token_key_id();
            match issue(hidden, &TokenRequest::decode(&forged).unwrap()) {
                Ok(response) => Some((response, state)),
                Err(Error::InvalidBlindedMessage) => None,
                Err(e) => panic!("the hidden key refused to sign: {e:?}"),
            }
        })
        .expect("the hidden key signs a blinded message below its modulus");
    assert_eq!(finalize(state, &response), Err(Error::BadSignature));
}

#[test]
fn begin_issuance_refuses_other_token_types() {
    let c = TokenChallenge::new(1, "issuer.example", None, "").unwrap();
    let err = begin_issuance(rfc_key().public_key(), &c, &mut DefaultRng).unwrap_err();
    assert!(matches!(err, Error::UnsupportedTokenType { found: 1, .. }));
}

#[test]
fn verify_names_what_is_wrong() {
    let key = rfc_key();
    let challenge = challenge(SERVER, &scope()).unwrap();
    let (request, state) = begin_issuance(key.public_key(), &challenge, &mut DefaultRng).unwrap();
    let token = finalize(state, &issue(key, &request).unwrap()).unwrap();
    let digest = challenge.digest();
    assert_eq!(verify(other_key().public_key(), &token, &digest), Err(Error::WrongKey));
    assert_eq!(verify(key.public_key(), &token, &[0; 32]), Err(Error::ChallengeMismatch));
    let mut bytes = token.to_bytes();
    bytes[200] ^= 1;
    let bad = Token::decode(&bytes).unwrap();
    assert_eq!(verify(key.public_key(), &bad, &digest), Err(Error::BadSignature));
}

#[test]
fn decoding_names_the_problem() {
    assert_eq!(
        Token::decode(&[0, 2, 1]),
        Err(Error::WrongLength { what: "token", expected: TOKEN_LEN, found: 3 })
    );
    let mut long = vec![0, 2];
    long.resize(TOKEN_LEN + 3, 0);
    assert_eq!(
        Token::decode(&long),
        Err(Error::WrongLength { what: "token", expected: TOKEN_LEN, found: TOKEN_LEN + 3 })
    );
    assert_eq!(
        TokenRequest::decode(&[0, 1, 0]),
        Err(Error::UnsupportedTokenType { what: "token request", found: 1 })
    );
    assert!(matches!(
        TokenResponse::decode(&[0; NK - 1]),
        Err(Error::WrongLength { what: "token response", expected: NK, found: 255 })
    ));
    assert!(matches!(
        TokenChallenge::decode(&[0, 2, 0, 1, b'i', 5, 1, 2, 3, 4, 5, 0, 0]),
        Err(Error::InvalidChallenge(_))
    ));
    assert_eq!(
        TokenChallenge::decode(&[0, 2, 0, 3, b'i']),
        Err(Error::Truncated { what: "token challenge", needed: 2 })
    );
    assert_eq!(
        TokenChallenge::decode(&[0, 2, 0, 1, b'i', 0, 0, 0, 9]),
        Err(Error::TrailingBytes { what: "token challenge", extra: 1 })
    );
}

#[test]
fn keys_serialize_and_never_debug_print_the_secret() {
    let key = rfc_key();
    let der = key.to_pkcs8_der().unwrap();
    let again = IssuerKey::from_pkcs8_der(&der).unwrap();
    assert_eq!(again.public_key(), key.public_key());
    let pem = key.to_pkcs8_pem().unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert_eq!(IssuerKey::from_pkcs8_pem(&pem).unwrap().public_key(), key.public_key());
    // The RFC's PEM is PKCS#8 and parses to the RFC's pkS.
    let v = &rfc9578_vectors()[0];
    assert_eq!(key.public_key().spki(), &v.pk_s[..]);

    let debug = format!("{key:?}");
    assert!(debug.contains("<redacted>"), "{debug}");
    assert!(debug.len() < 200, "{debug}");
    let pem_body: String = pem.lines().nth(1).unwrap().chars().take(24).collect();
    assert!(!debug.contains(&pem_body));

    let challenge = challenge(SERVER, &scope()).unwrap();
    let (_, state) = begin_issuance(key.public_key(), &challenge, &mut DefaultRng).unwrap();
    let debug = format!("{state:?}");
    assert!(debug.contains("<redacted>") && debug.len() < 200, "{debug}");
}

#[test]
fn generated_keys_are_2048_bit_and_round_trip() {
    let key = other_key();
    assert_eq!(key.public_key().spki().len(), rfc_key().public_key().spki().len());
    let public = IssuerPublicKey::from_spki(key.public_key().spki()).unwrap();
    assert_eq!(&public, key.public_key());
}

#[test]
fn only_the_rfc9578_spki_is_accepted() {
    let spki = rfc_key().public_key().spki();
    let pss = PublicKey::<Sha384, PSS, Deterministic>::from_spki(spki).unwrap();
    // The same key as a plain rsaEncryption SPKI.
    let plain = pss.to_der().unwrap();
    assert!(matches!(IssuerPublicKey::from_spki(&plain), Err(Error::InvalidKey(_))));
    // The same key with SHA-256 PSS parameters.
    let sha256 = PublicKey::<Sha256, PSS, Deterministic>::new(pss.as_ref().clone()).to_spki().unwrap();
    assert_ne!(sha256, spki);
    assert!(matches!(IssuerPublicKey::from_spki(&sha256), Err(Error::InvalidKey(_))));
    // Trailing bytes.
    let mut longer = spki.to_vec();
    longer.push(0);
    assert!(IssuerPublicKey::from_spki(&longer).is_err());
}

#[test]
fn a_4096_bit_key_is_refused() {
    // RFC 9474's vectors use a 4096-bit modulus.
    let all: serde_json::Value = serde_json::from_str(include_str!("vectors/rfc9474-a.json")).unwrap();
    let hex_n = all[0]["n"].as_str().unwrap().trim_start_matches("0x");
    let n = rsa::BoxedUint::from_str_radix_vartime(hex_n, 16).unwrap();
    let e = rsa::BoxedUint::from(65537u32);
    let big = rsa::RsaPublicKey::new(n, e).unwrap();
    let spki = PublicKey::<Sha384, PSS, Deterministic>::new(big).to_spki().unwrap();
    assert_eq!(IssuerPublicKey::from_spki(&spki), Err(Error::InvalidKey("modulus is not 2048 bits")));
}
