//! The crate's one error type.

/// Everything that can go wrong decoding, issuing, finalizing or verifying.
///
/// The messages are precise, for logs and tests. An endpoint facing
/// anonymous users should not echo them: collapse them into one "invalid
/// token" answer where telling the parts apart would help an attacker.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input ended before the structure did.
    #[error("{what}: truncated: {needed} more byte(s) needed")]
    Truncated {
        /// The structure or field being decoded.
        what: &'static str,
        /// How many more bytes the decoder needed.
        needed: usize,
    },
    /// The structure ended before the input did.
    #[error("{what}: {extra} unexpected trailing byte(s)")]
    TrailingBytes {
        /// The structure being decoded.
        what: &'static str,
        /// How many bytes were left over.
        extra: usize,
    },
    /// A fixed-size structure of the wrong length.
    #[error("{what}: {found} bytes, expected {expected}")]
    WrongLength {
        /// The structure being decoded.
        what: &'static str,
        /// Its length for token type `0x0002`.
        expected: usize,
        /// The input's length.
        found: usize,
    },
    /// A token type other than `0x0002`.
    #[error("{what}: unsupported token type {found:#06x} (only 0x0002, blind RSA-2048)")]
    UnsupportedTokenType {
        /// The structure carrying the type.
        what: &'static str,
        /// The type found.
        found: u16,
    },
    /// A malformed `TokenChallenge` field.
    #[error("token challenge: {0}")]
    InvalidChallenge(&'static str),
    /// A key that is not a valid RSA-2048 Privacy Pass issuer key, or not in
    /// the canonical RFC 9578 §6.5 encoding.
    #[error("issuer key: {0}")]
    InvalidKey(&'static str),
    /// A token request whose truncated key id is not this issuer key's.
    #[error("token request is for truncated key id {found:#04x}, this key's is {expected:#04x}")]
    KeyIdMismatch {
        /// The issuer key's truncated id.
        expected: u8,
        /// The request's truncated id.
        found: u8,
    },
    /// A blinded message the issuer cannot sign (not below the modulus).
    #[error("token request: blinded message is not a valid input for this key")]
    InvalidBlindedMessage,
    /// A token carrying another key's id.
    #[error("token was issued under another key")]
    WrongKey,
    /// A token for another challenge (another scope, period or origin).
    #[error("token is bound to another challenge")]
    ChallengeMismatch,
    /// The authenticator (or, while finalizing, the issuer's blind
    /// signature) does not verify under the key.
    #[error("signature does not verify under the issuer key")]
    BadSignature,
    /// A `KeyScope` that cannot name a key.
    #[error("key scope: {0}")]
    InvalidScope(String),
    /// A server name that cannot be an origin or issuer name.
    #[error("server name: {0}")]
    InvalidServerName(String),
    /// A malformed or non-canonical `KeyRecord`.
    #[error("key record: {0}")]
    InvalidKeyRecord(String),
    /// A failure inside the blind RSA implementation that none of the
    /// checks above caught (for example, key generation failing).
    #[error("blind RSA: {0}")]
    Crypto(String),
}

impl From<blind_rsa_signatures::Error> for Error {
    fn from(e: blind_rsa_signatures::Error) -> Self {
        match e {
            blind_rsa_signatures::Error::VerificationFailed => Error::BadSignature,
            other => Error::Crypto(other.to_string()),
        }
    }
}
