//! [`verify_receipt_file`]: a thin wrapper over `tongxin_tlog::verify_receipt`
//! for a receipt file (`c2sp.org/tlog-proof@v1`) as a person holds it, with
//! errors that say which part failed.
//!
//! A receipt carries the index and the inclusion proof, not the entry: only
//! whoever holds the entry (or its leaf hash) can check that *this* entry
//! is in the log. Without it, everything else is still checked (the log's
//! signature, the origin, the witness quorum, that the index is inside the
//! tree and the proof has the right length) and the report says inclusion
//! was not checked.

use tongxin_tlog::{
    Checkpoint, Hash, Leaf, ProofError, Receipt, ReceiptError, ReceiptPolicy, VerifierKey,
    VerifyReceiptError, verify_receipt,
};

/// Why a receipt file does not verify.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptFileError {
    #[error("the receipt file is malformed: {0}")]
    Malformed(#[source] ReceiptError),
    #[error("the verification policy is unusable: {0}")]
    Policy(String),
    #[error("the receipt does not verify: {0}")]
    Invalid(#[source] VerifyReceiptError),
}

/// What a verified receipt establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceiptReport {
    /// The signed checkpoint the proof is against.
    pub checkpoint: Checkpoint,
    /// The entry's index in the log.
    pub index: u64,
    /// The leaf hash shown to be at `index`, or `None` when no entry or
    /// leaf hash was given and inclusion was therefore not checked.
    pub leaf_hash: Option<Hash>,
    /// Witnesses whose cosignatures verified: (key, timestamp).
    pub witnesses: Vec<(VerifierKey, u64)>,
    /// The receipt's unauthenticated extra data, if any.
    pub extra: Option<Vec<u8>>,
}

impl ReceiptReport {
    /// Whether the inclusion of a given entry was checked.
    pub fn inclusion_checked(&self) -> bool {
        self.leaf_hash.is_some()
    }
}

/// Verifies receipt file bytes: signed by `log_key` for `origin` (default:
/// the key's name), cosigned by at least `quorum` of `witness_keys`
/// (cosignature/v1 keys), and, given the entry or its leaf hash, that the
/// entry is at the receipt's index.
pub fn verify_receipt_file(
    text: &[u8],
    log_key: &VerifierKey,
    origin: Option<&str>,
    witness_keys: &[VerifierKey],
    quorum: usize,
    leaf: Option<Leaf<'_>>,
) -> Result<ReceiptReport, ReceiptFileError> {
    let receipt = Receipt::parse(text).map_err(ReceiptFileError::Malformed)?;
    let origin = origin.unwrap_or(log_key.name());
    let policy =
        ReceiptPolicy::with_origin(origin, log_key.clone(), witness_keys.to_vec(), quorum).map_err(|e| {
            match e {
                VerifyReceiptError::Policy(p) => ReceiptFileError::Policy(p),
                other => ReceiptFileError::Policy(other.to_string()),
            }
        })?;
    match leaf {
        Some(leaf) => {
            let v = verify_receipt(&receipt, leaf, &policy).map_err(ReceiptFileError::Invalid)?;
            Ok(ReceiptReport {
                checkpoint: v.checkpoint,
                index: v.index,
                leaf_hash: Some(v.leaf_hash),
                witnesses: v.witnesses,
                extra: v.extra,
            })
        }
        None => {
            // `verify_receipt` checks signatures, origin, quorum, the index
            // and the proof's length before the root, so with a leaf hash
            // nobody can know (all zeroes), only a root mismatch means
            // "everything but inclusion holds".
            let unknown = Leaf::Hash(Hash([0; 32]));
            let checked = match verify_receipt(&receipt, unknown, &policy) {
                Ok(v) => v,
                Err(VerifyReceiptError::Inclusion { source: ProofError::RootMismatch { .. }, .. }) => {
                    // Same checks again to get the details; they pass.
                    let v = verify_receipt_details(&receipt, &policy)?;
                    return Ok(v);
                }
                Err(e) => return Err(ReceiptFileError::Invalid(e)),
            };
            Ok(ReceiptReport {
                checkpoint: checked.checkpoint,
                index: checked.index,
                leaf_hash: None,
                witnesses: checked.witnesses,
                extra: checked.extra,
            })
        }
    }
}

/// The checkpoint and witnesses of a receipt whose signatures are known to
/// satisfy `policy`.
fn verify_receipt_details(
    receipt: &Receipt,
    policy: &ReceiptPolicy,
) -> Result<ReceiptReport, ReceiptFileError> {
    let checkpoint = Checkpoint::parse(receipt.checkpoint.text())
        .map_err(|e| ReceiptFileError::Malformed(ReceiptError::BadCheckpoint(e)))?;
    let mut keys = vec![policy.log_key().clone()];
    keys.extend(policy.witnesses().iter().cloned());
    let verified = receipt
        .checkpoint
        .verify(&keys)
        .map_err(|e| ReceiptFileError::Invalid(VerifyReceiptError::Signature(e)))?;
    let witnesses = verified
        .verified
        .into_iter()
        .filter(|v| v.key != *policy.log_key())
        .filter_map(|v| v.timestamp.map(|t| (v.key, t)))
        .collect();
    Ok(ReceiptReport {
        checkpoint,
        index: receipt.index,
        leaf_hash: None,
        witnesses,
        extra: receipt.extra.clone(),
    })
}
