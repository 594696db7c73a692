//! `c2sp.org/tlog-cosignature`, the Ed25519 `cosignature/v1` type (0x04): a
//! witness's timestamped signature over a checkpoint.
//!
//! The signed message is `cosignature/v1\ntime <t>\n` followed by the whole
//! checkpoint note text; the signature bytes in the note line are the 8-byte
//! big-endian timestamp followed by the 64-byte Ed25519 signature. Keys are
//! [`SignerKey`]/[`VerifierKey`] of type [`SignatureType::CosignatureV1`];
//! their verifier key string is `<name>+<hex key ID>+<base64(0x04 ||
//! public key)>`, as the spec allows ("Ed25519 public keys MAY be encoded as
//! vkeys with signature type 0x04").

use ed25519_dalek::{Verifier as _, VerifyingKey};

use crate::note::{NoteSignature, SIG_TYPE_COSIGNATURE_V1, SignatureInvalid, SignatureType, SignerKey};

/// The header line, for domain separation.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1";
/// Largest timestamp the spec allows: 2^63 - 1.
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;
/// Length of a cosignature/v1 signature after the key ID.
pub const COSIGNATURE_V1_LEN: usize = 8 + 64;

/// Why a cosignature cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    #[error("key {name} is not a cosignature/v1 (0x04) key")]
    NotACosignerKey { name: String },
    #[error("timestamp {0} exceeds 2^63 - 1")]
    TimestampTooLarge(u64),
}

/// The message a cosignature/v1 signs: header, time line, checkpoint text.
pub fn cosignature_message(checkpoint_text: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_V1_HEADER}\ntime {timestamp}\n{checkpoint_text}")
}

/// Cosigns checkpoint note text at `timestamp` (seconds since the Unix
/// epoch) with a cosigner key.
pub fn cosign(
    key: &SignerKey,
    checkpoint_text: &str,
    timestamp: u64,
) -> Result<NoteSignature, CosignatureError> {
    if key.verifier().sig_type() != SignatureType::CosignatureV1 {
        return Err(CosignatureError::NotACosignerKey { name: key.name().to_owned() });
    }
    if timestamp > MAX_TIMESTAMP {
        return Err(CosignatureError::TimestampTooLarge(timestamp));
    }
    let sig = key.sign_raw(cosignature_message(checkpoint_text, timestamp).as_bytes());
    let mut signature = timestamp.to_be_bytes().to_vec();
    signature.extend_from_slice(&sig);
    Ok(NoteSignature { name: key.name().to_owned(), key_id: key.key_id(), signature })
}

/// The timestamp of a cosignature line, if it has the cosignature/v1 shape.
pub fn cosignature_timestamp(sig: &NoteSignature) -> Option<u64> {
    if sig.signature.len() != COSIGNATURE_V1_LEN {
        return None;
    }
    Some(u64::from_be_bytes(sig.signature[..8].try_into().ok()?))
}

/// Verifies a cosignature/v1 signature over `text`; returns its timestamp.
pub(crate) fn verify_cosignature(
    key: &VerifyingKey,
    text: &str,
    signature: &[u8],
) -> Result<u64, SignatureInvalid> {
    if signature.len() != COSIGNATURE_V1_LEN {
        return Err(SignatureInvalid);
    }
    let timestamp = u64::from_be_bytes(signature[..8].try_into().map_err(|_| SignatureInvalid)?);
    if timestamp > MAX_TIMESTAMP {
        return Err(SignatureInvalid);
    }
    let sig = ed25519_dalek::Signature::from_slice(&signature[8..]).map_err(|_| SignatureInvalid)?;
    key.verify(cosignature_message(text, timestamp).as_bytes(), &sig).map_err(|_| SignatureInvalid)?;
    Ok(timestamp)
}

// The type byte is part of every cosigner key ID; keep the constant and the
// enum in step.
const _: () = assert!(SIG_TYPE_COSIGNATURE_V1 == 0x04);
