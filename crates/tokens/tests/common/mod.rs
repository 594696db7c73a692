//! Helpers shared by the integration tests: hex, the RFC vector files, a
//! replaying RNG, and the keys the tests use.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::OnceLock;

use tongxin_tokens::{DefaultRng, IssuerKey, TryCryptoRng, TryRng};

/// Decodes hex (either case). Written here: the tests' only use of hex.
pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit")).collect()
}

/// An RNG that hands out queued byte strings, one per `fill_bytes` call,
/// and insists each call asks for exactly the queued length: this is how
/// the RFC vectors' nonce, salt and blind reach the code under test.
pub struct ReplayRng(pub VecDeque<Vec<u8>>);

impl TryRng for ReplayRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        panic!("ReplayRng: next_u32 not expected")
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        panic!("ReplayRng: next_u64 not expected")
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        let next = self.0.pop_front().expect("ReplayRng: no more queued values");
        assert_eq!(next.len(), dst.len(), "ReplayRng: length of the requested random value");
        dst.copy_from_slice(&next);
        Ok(())
    }
}

impl TryCryptoRng for ReplayRng {}

/// One RFC 9578 Appendix A.2 vector.
#[derive(Clone, Debug)]
pub struct PublicVector {
    pub sk_s: Vec<u8>,
    pub pk_s: Vec<u8>,
    pub token_challenge: Vec<u8>,
    pub nonce: Vec<u8>,
    pub blind: Vec<u8>,
    pub salt: Vec<u8>,
    pub token_request: Vec<u8>,
    pub token_response: Vec<u8>,
    pub token: Vec<u8>,
}

/// Parses `tests/vectors/rfc9578-a2.txt` (the RFC's own layout).
pub fn rfc9578_vectors() -> Vec<PublicVector> {
    let text = include_str!("../vectors/rfc9578-a2.txt");
    let mut vectors: Vec<Vec<(String, String)>> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with("//") {
            vectors.push(Vec::new());
            continue;
        }
        let current = vectors.last_mut().expect("a value before the first vector");
        match line.split_once(':') {
            Some((name, value)) => current.push((name.to_string(), value.trim().to_string())),
            None => current.last_mut().expect("a continuation without a name").1.push_str(line),
        }
    }
    let first = vectors[0].clone();
    vectors
        .into_iter()
        .map(|fields| {
            let get = |name: &str| {
                let from = |fs: &[(String, String)]| fs.iter().find(|(n, _)| n == name).map(|(_, v)| hex(v));
                from(&fields).or_else(|| from(&first)).unwrap_or_else(|| panic!("vector without {name}"))
            };
            PublicVector {
                sk_s: get("skS"),
                pk_s: get("pkS"),
                token_challenge: get("token_challenge"),
                nonce: get("nonce"),
                blind: get("blind"),
                salt: get("salt"),
                token_request: get("token_request"),
                token_response: get("token_response"),
                token: get("token"),
            }
        })
        .collect()
}

/// The RFC 9578 Appendix A.2 issuer key.
pub fn rfc_key() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let pem = String::from_utf8(rfc9578_vectors()[0].sk_s.clone()).expect("PEM is ASCII");
        IssuerKey::from_pkcs8_pem(&pem).expect("RFC key parses")
    })
}

/// A second key, generated once per test binary.
pub fn other_key() -> &'static IssuerKey {
    static KEY: OnceLock<IssuerKey> = OnceLock::new();
    KEY.get_or_init(|| IssuerKey::generate(&mut DefaultRng).expect("key generation"))
}
