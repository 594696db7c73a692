//! RFC 9578 Appendix A.2 ("Issuance Protocol 2 - Blind RSA, 2048"): all
//! five vectors, through this crate's API, byte for byte. The vectors are in
//! `tests/vectors/rfc9578-a2.txt`, copied from the RFC's source text.

mod common;

use std::collections::VecDeque;

use common::{ReplayRng, rfc_key, rfc9578_vectors};
use tongxin_tokens::{
    IssuerPublicKey, Token, TokenChallenge, TokenRequest, TokenResponse, begin_issuance, finalize, issue,
    verify,
};

#[test]
fn there_are_five_vectors() {
    assert_eq!(rfc9578_vectors().len(), 5);
}

#[test]
fn rfc9578_a2_issuer_key_encodes_as_the_rfc_spki() {
    let v = &rfc9578_vectors()[0];
    let key = rfc_key();
    assert_eq!(key.public_key().spki(), &v.pk_s[..]);
    let public = IssuerPublicKey::from_spki(&v.pk_s).expect("pkS parses");
    assert_eq!(&public, key.public_key());
    // token_key_id = SHA-256(pkS): every vector's token carries it.
    assert_eq!(&v.token[66..98], public.token_key_id());
}

#[test]
fn rfc9578_a2_vectors_pass() {
    let key = rfc_key();
    for (i, v) in rfc9578_vectors().into_iter().enumerate() {
        let n = i + 1;
        let public = IssuerPublicKey::from_spki(&v.pk_s).expect("pkS parses");

        let challenge = TokenChallenge::decode(&v.token_challenge).expect("challenge decodes");
        assert_eq!(challenge.to_bytes(), v.token_challenge, "vector {n}: challenge round trip");

        // The RNG yields the nonce, then the PSS salt, then the blind r
        // (little-endian, as the bignum library reads it).
        let mut r = v.blind.clone();
        r.reverse();
        let mut rng = ReplayRng(VecDeque::from([v.nonce.clone(), v.salt.clone(), r]));
        let (request, state) = begin_issuance(&public, &challenge, &mut rng).expect("blind");
        assert!(rng.0.is_empty(), "vector {n}: every random value used");
        assert_eq!(request.to_bytes(), v.token_request, "vector {n}: token_request");
        assert_eq!(TokenRequest::decode(&v.token_request).expect("request decodes"), request);

        let response = issue(key, &request).expect("issue");
        assert_eq!(response.to_bytes(), v.token_response, "vector {n}: token_response");
        assert_eq!(TokenResponse::decode(&v.token_response).expect("response decodes"), response);

        let token = finalize(state, &response).expect("finalize");
        assert_eq!(token.to_bytes(), v.token, "vector {n}: token");
        let decoded = Token::decode(&v.token).expect("token decodes");
        assert_eq!(decoded, token);
        assert_eq!(&decoded.nonce()[..], &v.nonce[..]);
        verify(&public, &decoded, &challenge.digest()).expect("vector token verifies");
    }
}
