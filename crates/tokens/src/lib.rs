//! Privacy Pass tokens for tongxin's safe voice: publicly verifiable tokens
//! of type `0x0002` (blind RSA-2048, RSABSSA-SHA384-PSS-Deterministic), as
//! RFC 9576 (architecture), RFC 9577 (challenges and tokens) and RFC 9578
//! §6 (issuance) define them, and the key scheme tongxin runs them with:
//! one issuer key per disclosure scope and period, published in the
//! transparency log.
//!
//! **Architecture invariant:** domain level only. No HTTP, no SQL, no clock
//! (times are parameters), no storage: double spending is the caller's job
//! (keep [`Token::nonce`] unique per key), and so is publishing
//! [`KeyRecord`]s in the log and refusing keys that are not there.
//!
//! Map of the crate:
//! - [`TokenChallenge`]: the RFC 9577 §2.1 challenge and its digest.
//! - [`IssuerKey`], [`IssuerPublicKey`]: RSA-2048 keys, PKCS#8 for the
//!   secret, the RFC 9578 §6.5 SPKI (RSASSA-PSS OID) and `token_key_id` for
//!   the public half.
//! - [`TokenRequest`], [`TokenResponse`], [`Token`]: the wire messages, with
//!   exact encodings; [`begin_issuance`] and [`finalize`] (client),
//!   [`issue`] (issuer), [`verify`] (anyone).
//! - [`scheme`]: [`KeyScope`], the issuer name, origin and redemption
//!   context tongxin uses, and [`KeyRecord`], a key's transparency-log entry.
//! - [`bench`](mod@bench): timed issuance and redemption, for `tongxin bench voice`.
//!
//! The blind RSA arithmetic (RFC 9474) is the `blind-rsa-signatures` crate's,
//! by one of the RFC's authors. The Privacy Pass framing around it (the
//! fixed-size structs of RFC 9578 §6 and the challenge of RFC 9577 §2.1) is
//! written here: the one crate that has it, `privacypass` 0.2.0-pre, is a
//! pre-release that also pulls in VOPRF, P-384, tokio, http and an async
//! key-store/nonce-store framework we do not want in a domain crate, and its
//! types are shaped around its own servers. The framing (`wire.rs`,
//! `challenge.rs`, `protocol.rs`) is a few hundred lines, checked byte for
//! byte against the five RFC 9578 Appendix A.2 vectors.
//!
//! The whole flow, on one machine for the example:
//!
//! ```
//! use tongxin_tokens::scheme::{KeyScope, challenge};
//! use tongxin_tokens::{DefaultRng, IssuerKey, Token, begin_issuance, finalize, issue, verify};
//!
//! // Issuer: one key per scope and period, its KeyRecord appended to the log.
//! let key = IssuerKey::generate(&mut DefaultRng)?;
//! let scope = KeyScope::monthly("440305", 2026, 11)?;
//! // Everyone: the one challenge of that scope on this server.
//! let challenge = challenge("tongxin.example.gov.cn", &scope)?;
//! // Client (after checking the key is in the log), then issuer, then client.
//! let (request, state) = begin_issuance(key.public_key(), &challenge, &mut DefaultRng)?;
//! let response = issue(&key, &request)?;
//! let token = finalize(state, &response)?;
//! // Server, at redemption (and anyone later, from the stored bytes); the
//! // caller also refuses a nonce it has seen before under this key.
//! let stored = Token::decode(&token.to_bytes())?;
//! verify(key.public_key(), &stored, &challenge.digest())?;
//! # Ok::<(), tongxin_tokens::Error>(())
//! ```
//!
//! Randomness comes in as a `rand_core` 0.10 [`CryptoRng`] (the generation
//! `blind-rsa-signatures` is built on); [`DefaultRng`] is the thread-local
//! CSPRNG of `rand` 0.10, seeded from the operating system.

pub mod bench;
mod challenge;
mod error;
mod keys;
mod protocol;
pub mod scheme;
mod wire;

pub use challenge::TokenChallenge;
pub use error::Error;
pub use keys::{IssuerKey, IssuerPublicKey};
pub use protocol::{
    ClientState, Token, TokenRequest, TokenResponse, begin_issuance, finalize, issue, token_input, verify,
};
pub use scheme::{KeyRecord, KeyScope};

/// The RNG traits the API takes (from `rand_core` 0.10, through
/// `blind-rsa-signatures`), and its default OS-seeded CSPRNG.
pub use blind_rsa_signatures::DefaultRng;
pub use blind_rsa_signatures::reexports::rand::{CryptoRng, TryCryptoRng, TryRng};

/// Privacy Pass token type `0x0002`: Blind RSA (2048-bit), RFC 9578 §8.2.2.
/// Of the two variants that entry allows, this crate uses
/// RSABSSA-SHA384-PSS-Deterministic (48-byte salt, SPKI salt parameter 48),
/// the one the RFC's vectors use; PSSZERO keys are refused.
pub const TOKEN_TYPE: u16 = 0x0002;
/// `Nk`: the modulus length in bytes, so the length of a blinded message, a
/// blind signature and a token authenticator (RFC 9578 §8.2.2).
pub const NK: usize = 256;
/// Length of the client nonce (RFC 9578 §6.1).
pub const NONCE_LEN: usize = 32;
/// Length of a SHA-256 digest: `challenge_digest` and `token_key_id`.
pub const DIGEST_LEN: usize = 32;
/// Length of an encoded [`TokenRequest`]: `token_type`, the truncated key
/// id, `blinded_msg`.
pub const TOKEN_REQUEST_LEN: usize = 2 + 1 + NK;
/// Length of an encoded [`TokenResponse`]: `blind_sig`.
pub const TOKEN_RESPONSE_LEN: usize = NK;
/// Length of an encoded [`Token`]: `token_type`, nonce, challenge digest,
/// key id, authenticator.
pub const TOKEN_LEN: usize = 2 + NONCE_LEN + DIGEST_LEN + DIGEST_LEN + NK;

/// SHA-256, the hash Privacy Pass uses for challenge digests and key ids.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; DIGEST_LEN] {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Lower-case hex. Written here because it is three lines and a `hex`
/// dependency would be the crate's only use of it.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}
