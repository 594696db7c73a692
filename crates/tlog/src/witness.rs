//! `c2sp.org/tlog-witness`: the `add-checkpoint` request and response
//! bodies, both ways, and a pure [`Witness`] that decides a request.
//!
//! No HTTP here: the caller reads the body, looks up the witness's stored
//! state for the checkpoint's origin, calls [`Witness::add_checkpoint`],
//! and on success persists the new state *atomically with the check* (the
//! spec's rollback race: store only if the stored size is still the one
//! passed in) before answering 200 with [`Cosigned::response_body`]. Every
//! error carries the HTTP status the spec prescribes.

use std::collections::HashMap;
use std::fmt;

use crate::checkpoint::Checkpoint;
use crate::cosignature::cosign;
use crate::encoding::parse_decimal;
use crate::hash::Hash;
use crate::merkle::{ProofError, verify_consistency};
use crate::note::{
    MAX_NOTE_SIZE, Note, NoteError, NoteSignature, SignatureType, SignerKey, VerifiedSignature, VerifierKey,
};

/// Path of the call below the witness's submission prefix.
pub const ADD_CHECKPOINT_PATH: &str = "add-checkpoint";
/// Content type of a 409 Conflict body.
pub const CONFLICT_CONTENT_TYPE: &str = "text/x.tlog.size";
/// "The client MUST NOT send more than 63 consistency proof lines."
pub const MAX_CONSISTENCY_LINES: usize = 63;
/// Largest request body accepted.
pub const MAX_REQUEST_SIZE: usize = MAX_NOTE_SIZE + 8 * 1024;

/// Why a request or response body is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessFormatError {
    #[error("body is {size} bytes, over the limit of {MAX_REQUEST_SIZE}")]
    TooLarge { size: usize },
    #[error("body is not valid UTF-8 (at byte {offset})")]
    NotUtf8 { offset: usize },
    #[error("line 1 is {got:?}; expected \"old <size>\" with no leading zeroes")]
    BadOldSize { got: String },
    #[error("line {line} is not the base64 of a 32-byte hash")]
    BadProofHash { line: usize },
    #[error("more than {MAX_CONSISTENCY_LINES} consistency proof lines")]
    TooManyProofLines,
    #[error("body ends before the blank line and checkpoint")]
    MissingCheckpoint,
    #[error("checkpoint note (its line 1 is body line {line}): {source}")]
    BadNote { line: usize, source: NoteError },
    #[error("response line {line}: {source}")]
    BadResponseLine { line: usize, source: NoteError },
    #[error("response has no cosignature lines")]
    EmptyResponse,
    #[error("response does not end with a newline")]
    Unterminated,
    #[error("conflict body {got:?} is not a decimal size and a newline")]
    BadConflictBody { got: String },
}

/// An `add-checkpoint` request body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AddCheckpointRequest {
    /// Size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint.
    pub checkpoint: Note,
}

impl AddCheckpointRequest {
    /// Parses a request body strictly.
    pub fn parse(bytes: &[u8]) -> Result<Self, WitnessFormatError> {
        if bytes.len() > MAX_REQUEST_SIZE {
            return Err(WitnessFormatError::TooLarge { size: bytes.len() });
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|e| WitnessFormatError::NotUtf8 { offset: e.valid_up_to() })?;
        let (first, mut rest) = text.split_once('\n').ok_or(WitnessFormatError::MissingCheckpoint)?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_decimal)
            .ok_or_else(|| WitnessFormatError::BadOldSize { got: first.chars().take(80).collect() })?;
        let mut proof = Vec::new();
        let mut line_no = 1;
        loop {
            let (line, tail) = rest.split_once('\n').ok_or(WitnessFormatError::MissingCheckpoint)?;
            rest = tail;
            line_no += 1;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_CONSISTENCY_LINES {
                return Err(WitnessFormatError::TooManyProofLines);
            }
            proof.push(Hash::from_base64(line).ok_or(WitnessFormatError::BadProofHash { line: line_no })?);
        }
        let checkpoint = Note::parse(rest.as_bytes())
            .map_err(|source| WitnessFormatError::BadNote { line: line_no + 1, source })?;
        Ok(AddCheckpointRequest { old_size, proof, checkpoint })
    }

    /// The request body.
    pub fn to_text(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint.to_string());
        out
    }
}

impl fmt::Display for AddCheckpointRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// The 200 response body: one cosignature line per witness key.
pub fn format_add_checkpoint_response(signatures: &[NoteSignature]) -> String {
    signatures.iter().map(NoteSignature::to_line).collect()
}

/// Parses a 200 response body into signature lines (not yet verified).
pub fn parse_add_checkpoint_response(bytes: &[u8]) -> Result<Vec<NoteSignature>, WitnessFormatError> {
    if bytes.len() > MAX_REQUEST_SIZE {
        return Err(WitnessFormatError::TooLarge { size: bytes.len() });
    }
    let text =
        std::str::from_utf8(bytes).map_err(|e| WitnessFormatError::NotUtf8 { offset: e.valid_up_to() })?;
    if text.is_empty() {
        return Err(WitnessFormatError::EmptyResponse);
    }
    let body = text.strip_suffix('\n').ok_or(WitnessFormatError::Unterminated)?;
    body.split('\n')
        .enumerate()
        .map(|(i, l)| {
            NoteSignature::parse_line(l, i + 1)
                .map_err(|source| WitnessFormatError::BadResponseLine { line: i + 1, source })
        })
        .collect()
}

/// The 409 Conflict body: the witness's latest cosigned size.
pub fn format_conflict_body(size: u64) -> String {
    format!("{size}\n")
}

/// Parses a 409 Conflict body.
pub fn parse_conflict_body(bytes: &[u8]) -> Result<u64, WitnessFormatError> {
    let bad = || WitnessFormatError::BadConflictBody {
        got: String::from_utf8_lossy(bytes).chars().take(40).collect(),
    };
    let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
    text.strip_suffix('\n').and_then(parse_decimal).ok_or_else(bad)
}

/// Why a witness client could not use a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureCheckError {
    #[error("cosignature by {name}+{key_id:08x} does not verify on this checkpoint")]
    Invalid { name: String, key_id: u32 },
    #[error("response holds no cosignature by a configured witness key")]
    NoneKnown,
    #[error("{0}")]
    Note(NoteError),
}

/// Client side: verifies the cosignatures in a witness response against
/// the configured witness keys and adds the valid ones to `checkpoint`.
/// Lines by unknown keys are ignored, as the spec requires.
pub fn attach_cosignatures(
    checkpoint: &mut Note,
    response: &[NoteSignature],
    witness_keys: &[VerifierKey],
) -> Result<Vec<VerifiedSignature>, CosignatureCheckError> {
    let mut added = Vec::new();
    for sig in response {
        let Some(key) = witness_keys.iter().find(|k| k.name() == sig.name && k.key_id() == sig.key_id) else {
            continue;
        };
        let timestamp = key
            .verify(checkpoint.text(), &sig.signature)
            .map_err(|_| CosignatureCheckError::Invalid { name: sig.name.clone(), key_id: sig.key_id })?;
        checkpoint.add_signature(sig.clone()).map_err(CosignatureCheckError::Note)?;
        added.push(VerifiedSignature { key: key.clone(), timestamp });
    }
    if added.is_empty() {
        return Err(CosignatureCheckError::NoneKnown);
    }
    Ok(added)
}

/// What a witness remembers per log: the latest checkpoint it cosigned.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TreeState {
    pub size: u64,
    pub root: Hash,
}

/// A log the witness is configured for: its origin and trusted keys.
#[derive(Clone, Debug)]
pub struct WitnessedLog {
    pub origin: String,
    pub keys: Vec<VerifierKey>,
}

/// A refused `add-checkpoint`, with the status the spec requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// 400: the body is malformed.
    #[error("malformed request: {0}")]
    Malformed(#[from] WitnessFormatError),
    /// 400: the checkpoint text is not a checkpoint.
    #[error("malformed checkpoint: {0}")]
    BadCheckpoint(String),
    /// 404: "If the checkpoint origin is unknown".
    #[error("unknown log origin {origin:?}")]
    UnknownLog { origin: String },
    /// 403: "If none of the signatures verify against a trusted public key".
    #[error("checkpoint for {origin:?} is not validly signed by a trusted log key: {reason}")]
    Forbidden { origin: String, reason: String },
    /// 400: "The old size MUST be equal to or lower than the checkpoint size".
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge { old: u64, size: u64 },
    /// 409: the old size is not the latest cosigned size.
    #[error("old size {old} does not match the latest cosigned size {current}")]
    Conflict { old: u64, current: u64 },
    /// 409: same size, different root.
    #[error(
        "checkpoint of size {size} has root {got}, but the witness cosigned root {cosigned} for that size"
    )]
    RootConflict { size: u64, got: Hash, cosigned: Hash },
    /// 422: the consistency proof does not verify.
    #[error("consistency proof from size {old} to {size} does not verify: {source}")]
    BadProof { old: u64, size: u64, source: ProofError },
    /// 500: the witness's own key or clock is unusable.
    #[error("witness cannot cosign: {0}")]
    Internal(String),
}

impl WitnessError {
    /// The HTTP status code the spec requires for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            WitnessError::Malformed(_)
            | WitnessError::BadCheckpoint(_)
            | WitnessError::OldSizeTooLarge { .. } => 400,
            WitnessError::Forbidden { .. } => 403,
            WitnessError::UnknownLog { .. } => 404,
            WitnessError::Conflict { .. } | WitnessError::RootConflict { .. } => 409,
            WitnessError::BadProof { .. } => 422,
            WitnessError::Internal(_) => 500,
        }
    }

    /// For 409: the body (`<size>\n`, content type [`CONFLICT_CONTENT_TYPE`]).
    pub fn conflict_body(&self) -> Option<String> {
        match self {
            WitnessError::Conflict { current, .. } => Some(format_conflict_body(*current)),
            WitnessError::RootConflict { size, .. } => Some(format_conflict_body(*size)),
            _ => None,
        }
    }
}

/// An accepted `add-checkpoint`: what to persist and what to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The log's origin.
    pub origin: String,
    /// The new state to persist (atomically with the size check).
    pub state: TreeState,
    /// The witness's cosignature.
    pub cosignature: NoteSignature,
}

impl Cosigned {
    /// The 200 response body.
    pub fn response_body(&self) -> String {
        format_add_checkpoint_response(std::slice::from_ref(&self.cosignature))
    }
}

/// A witness: its cosigner key and the logs it witnesses. Stateless: the
/// caller owns the per-log [`TreeState`] storage.
#[derive(Clone, Debug)]
pub struct Witness {
    key: SignerKey,
    logs: HashMap<String, Vec<VerifierKey>>,
}

impl Witness {
    /// A witness with a cosignature/v1 key and its configured logs.
    pub fn new(key: SignerKey, logs: Vec<WitnessedLog>) -> Result<Self, WitnessError> {
        if key.verifier().sig_type() != SignatureType::CosignatureV1 {
            return Err(WitnessError::Internal(format!(
                "witness key {} is not a 0x04 cosigner key",
                key.name()
            )));
        }
        let mut map: HashMap<String, Vec<VerifierKey>> = HashMap::new();
        for log in logs {
            map.entry(log.origin).or_default().extend(log.keys);
        }
        Ok(Witness { key, logs: map })
    }

    /// The witness's public key.
    pub fn verifier(&self) -> &VerifierKey {
        self.key.verifier()
    }

    /// Parses the request and returns it with the checkpoint's origin, so
    /// the caller can load that log's state.
    pub fn parse_request(body: &[u8]) -> Result<(AddCheckpointRequest, Checkpoint), WitnessError> {
        let request = AddCheckpointRequest::parse(body)?;
        let checkpoint = Checkpoint::parse(request.checkpoint.text())
            .map_err(|e| WitnessError::BadCheckpoint(e.to_string()))?;
        Ok((request, checkpoint))
    }

    /// Decides a request given the latest cosigned state for its origin
    /// (`None` if never cosigned) and the time now (Unix seconds).
    pub fn add_checkpoint(
        &self,
        request: &AddCheckpointRequest,
        stored: Option<TreeState>,
        now: u64,
    ) -> Result<Cosigned, WitnessError> {
        let checkpoint = Checkpoint::parse(request.checkpoint.text())
            .map_err(|e| WitnessError::BadCheckpoint(e.to_string()))?;
        let origin = checkpoint.origin.clone();
        let keys =
            self.logs.get(&origin).ok_or_else(|| WitnessError::UnknownLog { origin: origin.clone() })?;
        request
            .checkpoint
            .verify(keys)
            .map_err(|e| WitnessError::Forbidden { origin: origin.clone(), reason: e.to_string() })?;
        let (old, size) = (request.old_size, checkpoint.size);
        if old > size {
            return Err(WitnessError::OldSizeTooLarge { old, size });
        }
        let current = stored.map_or(0, |s| s.size);
        if old != current {
            return Err(WitnessError::Conflict { old, current });
        }
        match stored {
            Some(s) if s.size == size => {
                if s.root != checkpoint.root {
                    return Err(WitnessError::RootConflict { size, got: checkpoint.root, cosigned: s.root });
                }
                if !request.proof.is_empty() {
                    let source = ProofError::WrongLength { expected: 0, got: request.proof.len() };
                    return Err(WitnessError::BadProof { old, size, source });
                }
            }
            Some(s) => verify_consistency(s.size, size, &s.root, &checkpoint.root, &request.proof)
                .map_err(|source| WitnessError::BadProof { old, size, source })?,
            // Never cosigned: old is 0 and "the proof MUST be empty".
            None => {
                if !request.proof.is_empty() {
                    let source = ProofError::WrongLength { expected: 0, got: request.proof.len() };
                    return Err(WitnessError::BadProof { old, size, source });
                }
            }
        }
        let cosignature = cosign(&self.key, request.checkpoint.text(), now)
            .map_err(|e| WitnessError::Internal(e.to_string()))?;
        Ok(Cosigned { origin, state: TreeState { size, root: checkpoint.root }, cosignature })
    }
}
