//! `c2sp.org/tlog-proof@v1` receipts: an offline-verifiable proof that an
//! entry is in the log, as held by whoever appended it.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64>]
//! index <N>
//! <base64 inclusion proof hash, leaf's sibling first>...
//!
//! <the checkpoint note, verbatim, with the log signature and cosignatures>
//! ```
//!
//! Verification checks the log's signature, a k-of-n quorum of witness
//! cosignatures, the origin, and the inclusion of the entry.

use std::fmt;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::encoding::{b64_decode, b64_encode, parse_decimal};
use crate::hash::{Hash, leaf_hash};
use crate::merkle::{HashReader, ProofError, TreeError, prove_inclusion, verify_inclusion};
use crate::note::{MAX_NOTE_SIZE, Note, NoteError, SignatureType, VerifierKey};

/// The first line of every receipt.
pub const RECEIPT_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Most proof lines: a tree of at most 2^64 leaves has paths of at most 64.
pub const MAX_PROOF_LINES: usize = 64;
/// Largest receipt accepted, in bytes.
pub const MAX_RECEIPT_SIZE: usize = MAX_NOTE_SIZE + 64 * 1024;
/// The file extension the spec recommends.
pub const RECEIPT_FILE_EXTENSION: &str = "tlog-proof";

/// Why a receipt cannot be parsed or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    #[error("receipt is {size} bytes, over the limit of {MAX_RECEIPT_SIZE}")]
    TooLarge { size: usize },
    #[error("receipt is not valid UTF-8 (at byte {offset})")]
    NotUtf8 { offset: usize },
    #[error("receipt line 1 is {got:?}, not \"c2sp.org/tlog-proof@v1\"")]
    BadHeader { got: String },
    #[error("receipt line {line}: extra data is not canonical base64")]
    BadExtra { line: usize },
    #[error("receipt line {line} is {got:?}; expected \"index <N>\" with no leading zeroes")]
    BadIndex { line: usize, got: String },
    #[error("receipt line {line} is not the base64 of a 32-byte hash")]
    BadProofHash { line: usize },
    #[error("receipt has more than {MAX_PROOF_LINES} proof lines")]
    TooManyProofLines,
    #[error("receipt ends before the blank line and checkpoint")]
    MissingCheckpoint,
    #[error("receipt checkpoint note (its line 1 is receipt line {line}): {source}")]
    BadCheckpointNote { line: usize, source: NoteError },
    #[error("receipt checkpoint text: {0}")]
    BadCheckpoint(CheckpointError),
}

/// Why a receipt does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyReceiptError {
    #[error(transparent)]
    Malformed(#[from] ReceiptError),
    #[error("policy: {0}")]
    Policy(String),
    #[error("checkpoint signatures: {0}")]
    Signature(NoteError),
    #[error("checkpoint is not signed by the log key {key}")]
    NotSignedByLog { key: String },
    #[error("checkpoint is for origin {got:?}, expected {want:?}")]
    WrongOrigin { want: String, got: String },
    #[error("{got} valid witness cosignatures ({names}), policy needs {need}")]
    Quorum { need: usize, got: usize, names: String },
    #[error("index {index} is not in the checkpointed tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("inclusion proof for index {index} in tree of size {size} fails: {source}")]
    Inclusion { index: u64, size: u64, source: ProofError },
}

/// A tlog-proof@v1 receipt.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Receipt {
    /// Optional opaque, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry in the log.
    pub index: u64,
    /// Inclusion proof in the checkpointed tree, leaf's sibling first.
    pub proof: Vec<Hash>,
    /// The checkpoint note with the log signature and any cosignatures.
    pub checkpoint: Note,
}

/// The entry a receipt is checked against.
#[derive(Clone, Copy, Debug)]
pub enum Leaf<'a> {
    /// The entry bytes as appended.
    Entry(&'a [u8]),
    /// The RFC 6962 leaf hash of the entry.
    Hash(Hash),
}

impl Leaf<'_> {
    /// The leaf hash.
    pub fn hash(&self) -> Hash {
        match self {
            Leaf::Entry(e) => leaf_hash(e),
            Leaf::Hash(h) => *h,
        }
    }
}

/// Which signatures a receipt needs: the log's key for `origin`, and at
/// least `quorum` distinct `witnesses` (cosignature/v1 keys).
#[derive(Clone, Debug)]
pub struct ReceiptPolicy {
    origin: String,
    log_key: VerifierKey,
    witnesses: Vec<VerifierKey>,
    quorum: usize,
}

impl ReceiptPolicy {
    /// A policy whose origin is the log key's name (tlog-checkpoint: "The
    /// log's key name in its signature line SHOULD match the origin line").
    pub fn new(
        log_key: VerifierKey,
        witnesses: Vec<VerifierKey>,
        quorum: usize,
    ) -> Result<Self, VerifyReceiptError> {
        let origin = log_key.name().to_owned();
        Self::with_origin(&origin, log_key, witnesses, quorum)
    }

    /// A policy with an explicit origin.
    pub fn with_origin(
        origin: &str,
        log_key: VerifierKey,
        witnesses: Vec<VerifierKey>,
        quorum: usize,
    ) -> Result<Self, VerifyReceiptError> {
        if log_key.sig_type() != SignatureType::Ed25519 {
            return Err(VerifyReceiptError::Policy(format!(
                "log key {log_key} is not an Ed25519 (0x01) key"
            )));
        }
        if let Some(w) = witnesses.iter().find(|w| w.sig_type() != SignatureType::CosignatureV1) {
            return Err(VerifyReceiptError::Policy(format!(
                "witness key {w} is not a cosignature/v1 (0x04) key"
            )));
        }
        if quorum > witnesses.len() {
            return Err(VerifyReceiptError::Policy(format!(
                "quorum {quorum} is more than the {} witnesses configured",
                witnesses.len()
            )));
        }
        Ok(ReceiptPolicy { origin: origin.to_owned(), log_key, witnesses, quorum })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }
    pub fn log_key(&self) -> &VerifierKey {
        &self.log_key
    }
    pub fn witnesses(&self) -> &[VerifierKey] {
        &self.witnesses
    }
    pub fn quorum(&self) -> usize {
        self.quorum
    }
}

/// What a verified receipt establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReceipt {
    /// The checkpoint the entry is included in.
    pub checkpoint: Checkpoint,
    /// The entry's index.
    pub index: u64,
    /// The entry's leaf hash.
    pub leaf_hash: Hash,
    /// Witnesses whose cosignatures verified: (key, timestamp).
    pub witnesses: Vec<(VerifierKey, u64)>,
    /// The unauthenticated extra data, if any.
    pub extra: Option<Vec<u8>>,
}

impl Receipt {
    /// Builds the receipt for entry `index` from a signed checkpoint note
    /// and the log's stored hashes.
    pub fn build<R: HashReader>(
        index: u64,
        checkpoint: Note,
        reader: &R,
        extra: Option<Vec<u8>>,
    ) -> Result<Receipt, BuildReceiptError<R::Error>> {
        let cp = Checkpoint::parse(checkpoint.text()).map_err(BuildReceiptError::Checkpoint)?;
        let proof = prove_inclusion(index, cp.size, reader).map_err(BuildReceiptError::Proof)?;
        Ok(Receipt { extra, index, proof, checkpoint })
    }

    /// Parses a receipt strictly.
    pub fn parse(bytes: &[u8]) -> Result<Receipt, ReceiptError> {
        if bytes.len() > MAX_RECEIPT_SIZE {
            return Err(ReceiptError::TooLarge { size: bytes.len() });
        }
        let text =
            std::str::from_utf8(bytes).map_err(|e| ReceiptError::NotUtf8 { offset: e.valid_up_to() })?;
        let mut rest = text;
        let mut line_no = 0;
        // Takes the next line without its newline; None at the end or when
        // the last line has no newline.
        let mut next_line = || -> Option<&str> {
            let (line, tail) = rest.split_once('\n')?;
            rest = tail;
            line_no += 1;
            Some(line)
        };
        let header = next_line().ok_or(ReceiptError::MissingCheckpoint)?;
        if header != RECEIPT_HEADER {
            return Err(ReceiptError::BadHeader { got: header.chars().take(80).collect() });
        }
        let mut line = next_line().ok_or(ReceiptError::MissingCheckpoint)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(b64_decode(b64).ok_or(ReceiptError::BadExtra { line: 2 })?);
            line = next_line().ok_or(ReceiptError::MissingCheckpoint)?;
        }
        let index_line = if extra.is_some() { 3 } else { 2 };
        let index = line.strip_prefix("index ").and_then(parse_decimal).ok_or_else(|| {
            ReceiptError::BadIndex { line: index_line, got: line.chars().take(80).collect() }
        })?;
        let mut proof = Vec::new();
        let mut current = index_line;
        loop {
            let line = next_line().ok_or(ReceiptError::MissingCheckpoint)?;
            current += 1;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(ReceiptError::TooManyProofLines);
            }
            proof.push(Hash::from_base64(line).ok_or(ReceiptError::BadProofHash { line: current })?);
        }
        let checkpoint = Note::parse(rest.as_bytes())
            .map_err(|source| ReceiptError::BadCheckpointNote { line: current + 1, source })?;
        Checkpoint::parse(checkpoint.text()).map_err(ReceiptError::BadCheckpoint)?;
        Ok(Receipt { extra, index, proof, checkpoint })
    }

    /// The receipt text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{RECEIPT_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", b64_encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint.to_string());
        out
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// Why a receipt could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildReceiptError<E: std::error::Error + 'static> {
    #[error("checkpoint: {0}")]
    Checkpoint(CheckpointError),
    #[error("inclusion proof: {0}")]
    Proof(TreeError<E>),
}

/// Verifies a receipt against `leaf` and `policy`: the log's signature on
/// the checkpoint, the origin, a quorum of witness cosignatures, and the
/// inclusion proof. Any known key's bad signature fails the receipt.
pub fn verify_receipt(
    receipt: &Receipt,
    leaf: Leaf<'_>,
    policy: &ReceiptPolicy,
) -> Result<VerifiedReceipt, VerifyReceiptError> {
    let mut keys = vec![policy.log_key.clone()];
    keys.extend(policy.witnesses.iter().cloned());
    let verified = receipt.checkpoint.verify(&keys).map_err(|e| match e {
        NoteError::NoKnownSignature { .. } => {
            VerifyReceiptError::NotSignedByLog { key: policy.log_key.to_string() }
        }
        other => VerifyReceiptError::Signature(other),
    })?;
    if !verified.verified.iter().any(|v| v.key == policy.log_key) {
        return Err(VerifyReceiptError::NotSignedByLog { key: policy.log_key.to_string() });
    }
    let checkpoint = Checkpoint::parse(receipt.checkpoint.text()).map_err(ReceiptError::BadCheckpoint)?;
    if checkpoint.origin != policy.origin {
        return Err(VerifyReceiptError::WrongOrigin { want: policy.origin.clone(), got: checkpoint.origin });
    }
    let witnesses: Vec<(VerifierKey, u64)> = verified
        .verified
        .iter()
        .filter(|v| v.key != policy.log_key)
        .filter_map(|v| v.timestamp.map(|t| (v.key.clone(), t)))
        .collect();
    if witnesses.len() < policy.quorum {
        let names: Vec<&str> = witnesses.iter().map(|(k, _)| k.name()).collect();
        return Err(VerifyReceiptError::Quorum {
            need: policy.quorum,
            got: witnesses.len(),
            names: if names.is_empty() { "none".to_owned() } else { names.join(", ") },
        });
    }
    let (index, size) = (receipt.index, checkpoint.size);
    if index >= size {
        return Err(VerifyReceiptError::IndexOutOfRange { index, size });
    }
    let leaf_hash = leaf.hash();
    verify_inclusion(index, size, &leaf_hash, &receipt.proof, &checkpoint.root)
        .map_err(|source| VerifyReceiptError::Inclusion { index, size, source })?;
    Ok(VerifiedReceipt { checkpoint, index, leaf_hash, witnesses, extra: receipt.extra.clone() })
}
