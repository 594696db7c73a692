//! `c2sp.org/tlog-checkpoint`: the note text `<origin>\n<size>\n<base64
//! root>\n[extension lines]` that a log signs, and origin rules.
//!
//! Parsing follows the spec (extension lines are accepted and kept, so a
//! witness can cosign other logs' checkpoints byte for byte); our own log
//! builds checkpoints with [`Checkpoint::new`], which has no extension lines
//! and insists on an origin that can also be the log's key name.

use std::fmt;

use crate::encoding::parse_decimal;
use crate::hash::Hash;
use crate::note::{Note, NoteError, SignerKey, VerifiedNote, VerifierKey, is_valid_key_name};

/// Why a checkpoint is malformed or unacceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint text must end with a newline")]
    Unterminated,
    #[error("checkpoint has {lines} lines; it needs origin, size and root hash")]
    TooFewLines { lines: usize },
    #[error("checkpoint line 1 (origin) is empty")]
    EmptyOrigin,
    #[error("checkpoint line 2 (tree size) is {text:?}; it must be a decimal with no leading zeroes")]
    BadSize { text: String },
    #[error("checkpoint line 3 (root hash) is {text:?}; it must be the base64 of 32 bytes")]
    BadRoot { text: String },
    #[error("checkpoint line {line} is an empty extension line")]
    EmptyExtension { line: usize },
    #[error("checkpoint origin {origin:?} is unfit for a log: {reason}")]
    BadOrigin { origin: String, reason: &'static str },
    #[error("checkpoint is for origin {got:?}, expected {want:?}")]
    WrongOrigin { want: String, got: String },
    #[error("checkpoint has extension lines, which this log does not allow")]
    Extensions,
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
    #[error("checkpoint is not signed by the log key {key}")]
    NotSignedByLog { key: String },
}

/// A checkpoint: a log's tree head.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Checkpoint {
    /// The log's identity, the first line.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Opaque extension lines (without newlines); never emitted by our log.
    pub extensions: Vec<String>,
}

/// Checks that `origin` suits a log of ours: non-empty, usable as the key
/// name (no spaces, no `+`, which the spec says it SHOULD avoid), a
/// schema-less URL ("SHOULD be one of the URL prefixes of the log, with the
/// scheme removed and no trailing slashes").
pub fn validate_log_origin(origin: &str) -> Result<(), CheckpointError> {
    let bad = |reason| Err(CheckpointError::BadOrigin { origin: origin.to_owned(), reason });
    if origin.is_empty() {
        return bad("it is empty");
    }
    if !is_valid_key_name(origin) {
        return bad("it contains a space or '+', so it cannot be the log's key name");
    }
    if origin.chars().any(char::is_control) {
        return bad("it contains a control character");
    }
    if origin.contains("://") {
        return bad("it has a URL scheme; drop the \"https://\"");
    }
    if origin.ends_with('/') {
        return bad("it ends with a slash");
    }
    Ok(())
}

impl Checkpoint {
    /// A checkpoint of our own log: no extension lines, a valid origin.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, CheckpointError> {
        validate_log_origin(origin)?;
        Ok(Checkpoint { origin: origin.to_owned(), size, root, extensions: Vec::new() })
    }

    /// Parses checkpoint note text per the spec, extension lines included.
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::Unterminated)?;
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::TooFewLines { lines: lines.len() });
        }
        if lines[0].is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size =
            parse_decimal(lines[1]).ok_or_else(|| CheckpointError::BadSize { text: lines[1].to_owned() })?;
        let root = Hash::from_base64(lines[2])
            .ok_or_else(|| CheckpointError::BadRoot { text: lines[2].to_owned() })?;
        let mut extensions = Vec::new();
        for (i, line) in lines[3..].iter().enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension { line: i + 4 });
            }
            extensions.push((*line).to_owned());
        }
        Ok(Checkpoint { origin: lines[0].to_owned(), size, root, extensions })
    }

    /// The note text.
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64());
        for e in &self.extensions {
            out.push_str(e);
            out.push('\n');
        }
        out
    }

    /// Signs this checkpoint with the log's Ed25519 key into a note. Refuses
    /// extension lines: our log never emits them.
    pub fn sign(&self, key: &SignerKey) -> Result<Note, CheckpointError> {
        if !self.extensions.is_empty() {
            return Err(CheckpointError::Extensions);
        }
        let mut note = Note::new(&self.to_text())?;
        note.sign(key)?;
        Ok(note)
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A checkpoint note checked against a log key (and optionally more keys,
/// e.g. witnesses): the parsed checkpoint and the verification result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    pub checkpoint: Checkpoint,
    pub note: VerifiedNote,
}

/// Verifies a checkpoint note: signed by `log_key`, for `origin`, well
/// formed. Signatures by `other_keys` are verified too (a bad one is an
/// error); unknown ones are ignored.
pub fn verify_checkpoint_note(
    note: &Note,
    origin: &str,
    log_key: &VerifierKey,
    other_keys: &[VerifierKey],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    let mut keys = vec![log_key.clone()];
    keys.extend(other_keys.iter().cloned());
    let verified = note.verify(&keys).map_err(|e| match e {
        NoteError::NoKnownSignature { .. } => CheckpointError::NotSignedByLog { key: log_key.to_string() },
        other => CheckpointError::Note(other),
    })?;
    if !verified.verified.iter().any(|v| v.key == *log_key) {
        return Err(CheckpointError::NotSignedByLog { key: log_key.to_string() });
    }
    let checkpoint = Checkpoint::parse(note.text())?;
    if checkpoint.origin != origin {
        return Err(CheckpointError::WrongOrigin { want: origin.to_owned(), got: checkpoint.origin });
    }
    Ok(VerifiedCheckpoint { checkpoint, note: verified })
}
