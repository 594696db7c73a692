//! `c2sp.org/signed-note`: notes (text signed by one or more keys), key
//! names and key IDs, verifier and signer key strings, signing, strict
//! parsing and verification against a set of known keys.
//!
//! Two signature types are supported, the ones a log and its witnesses need:
//! `0x01` Ed25519 (the log's own signature) and `0x04` timestamped Ed25519
//! cosignatures (`c2sp.org/tlog-cosignature`, see [`crate::cosignature`]).
//!
//! Key strings follow Go's `golang.org/x/mod/sumdb/note`, which every
//! tlog tool reads: a verifier key is `<name>+<hex key ID>+<base64(type ||
//! public key)>`, a signer key `PRIVATE+KEY+<name>+<hex key ID>+<base64(type
//! || 32-byte seed)>`.
//!
//! Why by hand: the published `signed_note` 0.2.0 crate is a port of Go's
//! package, but every parse failure is the single error "malformed note",
//! while our verifier must say which line is wrong; it also has no
//! cosignature (0x04) type and pulls a second base64 and thiserror major
//! version into the build.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::encoding::{b64_decode, b64_encode};

/// Signature type byte of plain Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 witness cosignatures.
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Most signature lines a note may carry. The spec asks verifiers to accept
/// at least 16; 100 is Go's limit, so we never refuse what Go accepts.
pub const MAX_SIGNATURES: usize = 100;
/// Largest note accepted, in bytes: a checkpoint with 100 of the largest
/// (post-quantum, ~5 kB) signatures still fits.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// The kind of key: which signature algorithm and message format it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignatureType {
    /// `0x01`: Ed25519 over the note text.
    Ed25519,
    /// `0x04`: Ed25519 over `cosignature/v1\ntime <t>\n<text>`, with the
    /// timestamp in the signature.
    CosignatureV1,
}

impl SignatureType {
    /// The type's identifier byte.
    pub fn byte(self) -> u8 {
        match self {
            SignatureType::Ed25519 => SIG_TYPE_ED25519,
            SignatureType::CosignatureV1 => SIG_TYPE_COSIGNATURE_V1,
        }
    }

    fn from_byte(b: u8) -> Option<Self> {
        match b {
            SIG_TYPE_ED25519 => Some(SignatureType::Ed25519),
            SIG_TYPE_COSIGNATURE_V1 => Some(SignatureType::CosignatureV1),
            _ => None,
        }
    }
}

/// Why a key string or key name is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("key name {name:?} is invalid: it must be non-empty and contain no spaces and no '+'")]
    BadName { name: String },
    #[error(
        "verifier key must be <name>+<8 hex digits key ID>+<base64 key>, got {got} '+'-separated field(s)"
    )]
    VerifierFields { got: usize },
    #[error("signer key must be PRIVATE+KEY+<name>+<8 hex digits key ID>+<base64 key>")]
    SignerFields,
    #[error("key ID {id:?} is not 8 hexadecimal digits")]
    BadKeyIdText { id: String },
    #[error("key material is not canonical standard base64")]
    BadBase64,
    #[error("key type byte 0x{0:02x} is not supported (0x01 Ed25519, 0x04 cosignature/v1)")]
    UnsupportedType(u8),
    #[error("key type 0x{got:02x} given where a 0x{want:02x} key is needed")]
    WrongType { want: u8, got: u8 },
    #[error("Ed25519 key material is {got} bytes, not 32")]
    BadKeyLength { got: usize },
    #[error("Ed25519 public key is not a valid curve point")]
    BadPublicKey,
    #[error("key ID in the key string is {given:08x}, but the key's ID is {computed:08x}")]
    KeyIdMismatch { given: u32, computed: u32 },
    #[error("no randomness for key generation: {0}")]
    Random(String),
}

/// Why a note cannot be parsed, built or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("note is {size} bytes, over the limit of {MAX_NOTE_SIZE}")]
    TooLarge { size: usize },
    #[error("note is not valid UTF-8 (at byte {offset})")]
    NotUtf8 { offset: usize },
    #[error("note has control character U+{code:04X} on line {line}; only newline is allowed")]
    ControlCharacter { line: usize, code: u32 },
    #[error("note has no blank line separating the text from the signatures")]
    NoSignatureBlock,
    #[error("note text is empty")]
    EmptyText,
    #[error("note text must end with a newline")]
    TextNotTerminated,
    #[error("note has no signature lines after the blank line")]
    NoSignatures,
    #[error("note does not end with a newline after its last signature line")]
    Unterminated,
    #[error("line {line} is not a signature line \"— <name> <base64>\"")]
    BadSignatureLine { line: usize },
    #[error("line {line}: {source}")]
    BadSignatureName { line: usize, source: KeyError },
    #[error("line {line}: signature is not canonical standard base64")]
    BadSignatureBase64 { line: usize },
    #[error(
        "line {line}: signature is {len} bytes, but must be a 4-byte key ID and at least 1 signature byte"
    )]
    ShortSignature { line: usize, len: usize },
    #[error("note has {count} signatures, over the limit of {MAX_SIGNATURES}")]
    TooManySignatures { count: usize },
    #[error("signature by {name}+{key_id:08x} does not verify (line {line})")]
    InvalidSignature { name: String, key_id: u32, line: usize },
    #[error("two different known keys are named {name}+{key_id:08x}")]
    AmbiguousKey { name: String, key_id: u32 },
    #[error("no signature on the note is by a known key (signed by: {signers})")]
    NoKnownSignature { signers: String },
    #[error("signing key: {0}")]
    Key(#[from] KeyError),
}

/// A signature that does not verify under the key it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("signature does not verify")]
pub struct SignatureInvalid;

/// Whether `name` is a valid key name: non-empty, no Unicode spaces, no
/// `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

fn check_name(name: &str) -> Result<(), KeyError> {
    if is_valid_key_name(name) { Ok(()) } else { Err(KeyError::BadName { name: name.to_owned() }) }
}

/// `SHA-256(name || "\n" || type || public key)[:4]` as a big-endian u32.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

fn parse_key_id(text: &str) -> Result<u32, KeyError> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(KeyError::BadKeyIdText { id: text.to_owned() });
    }
    u32::from_str_radix(text, 16).map_err(|_| KeyError::BadKeyIdText { id: text.to_owned() })
}

fn key32(bytes: &[u8]) -> Result<[u8; 32], KeyError> {
    bytes.try_into().map_err(|_| KeyError::BadKeyLength { got: bytes.len() })
}

/// A public key that verifies note signatures, with its name and ID.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    sig_type: SignatureType,
    public_key: VerifyingKey,
}

impl VerifierKey {
    /// A key of `sig_type` named `name`.
    pub fn new(name: &str, sig_type: SignatureType, public_key: VerifyingKey) -> Result<Self, KeyError> {
        check_name(name)?;
        let key_id = key_id(name, sig_type.byte(), public_key.as_bytes());
        Ok(VerifierKey { name: name.to_owned(), key_id, sig_type, public_key })
    }

    /// Parses `<name>+<hex key ID>+<base64(type || public key)>`, checking
    /// that the key ID is the key's.
    pub fn parse(vkey: &str) -> Result<Self, KeyError> {
        // The base64 key may itself contain '+', so split off only the
        // first two fields, as Go does.
        let fields: Vec<&str> = vkey.splitn(3, '+').collect();
        if fields.len() != 3 {
            return Err(KeyError::VerifierFields { got: fields.len() });
        }
        let (name, id_text, key_text) = (fields[0], fields[1], fields[2]);
        check_name(name)?;
        let given = parse_key_id(id_text)?;
        let material = b64_decode(key_text).ok_or(KeyError::BadBase64)?;
        let (&type_byte, public) = material.split_first().ok_or(KeyError::BadKeyLength { got: 0 })?;
        let sig_type = SignatureType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
        let public_key = VerifyingKey::from_bytes(&key32(public)?).map_err(|_| KeyError::BadPublicKey)?;
        let key = VerifierKey::new(name, sig_type, public_key)?;
        if key.key_id != given {
            return Err(KeyError::KeyIdMismatch { given, computed: key.key_id });
        }
        Ok(key)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type.
    pub fn sig_type(&self) -> SignatureType {
        self.sig_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// Verifies `signature` (the bytes after the key ID) over note `text`.
    /// Returns the cosignature timestamp for type 0x04, `None` for 0x01.
    pub fn verify(&self, text: &str, signature: &[u8]) -> Result<Option<u64>, SignatureInvalid> {
        match self.sig_type {
            SignatureType::Ed25519 => {
                let sig = ed25519_dalek::Signature::from_slice(signature).map_err(|_| SignatureInvalid)?;
                // Plain (cofactorless) RFC 8032 verification, as Go's
                // crypto/ed25519 does, so we accept exactly what Go accepts.
                self.public_key.verify(text.as_bytes(), &sig).map_err(|_| SignatureInvalid)?;
                Ok(None)
            }
            SignatureType::CosignatureV1 => {
                let timestamp = crate::cosignature::verify_cosignature(&self.public_key, text, signature)?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = vec![self.sig_type.byte()];
        material.extend_from_slice(self.public_key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, b64_encode(&material))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        VerifierKey::parse(s)
    }
}

/// A private key that signs notes: Ed25519 (type 0x01) for a log, or a
/// witness cosigner (type 0x04). `Debug` never prints the seed.
#[derive(Clone)]
pub struct SignerKey {
    verifier: VerifierKey,
    signing_key: SigningKey,
}

impl SignerKey {
    /// A key of `sig_type` named `name` from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, sig_type: SignatureType, seed: [u8; 32]) -> Result<Self, KeyError> {
        let signing_key = SigningKey::from_bytes(&seed);
        let verifier = VerifierKey::new(name, sig_type, signing_key.verifying_key())?;
        Ok(SignerKey { verifier, signing_key })
    }

    /// A new random key from the operating system's generator.
    pub fn generate(name: &str, sig_type: SignatureType) -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Self::from_seed(name, sig_type, seed)
    }

    /// Parses `PRIVATE+KEY+<name>+<hex key ID>+<base64(type || seed)>`.
    ///
    /// With `want` = [`SignatureType::CosignatureV1`], a type-0x01 string is
    /// also accepted and used as a cosigner key (its ID recomputed with
    /// 0x04), as transparency-dev's `NewSignerForCosignatureV1` does, so a
    /// witness can keep the key file that `note.GenerateKey` wrote.
    pub fn parse(skey: &str, want: SignatureType) -> Result<Self, KeyError> {
        let fields: Vec<&str> = skey.splitn(5, '+').collect();
        if fields.len() != 5 || fields[0] != "PRIVATE" || fields[1] != "KEY" {
            return Err(KeyError::SignerFields);
        }
        let (name, id_text, key_text) = (fields[2], fields[3], fields[4]);
        check_name(name)?;
        let given = parse_key_id(id_text)?;
        let material = b64_decode(key_text).ok_or(KeyError::BadBase64)?;
        let (&type_byte, seed) = material.split_first().ok_or(KeyError::BadKeyLength { got: 0 })?;
        let encoded = SignatureType::from_byte(type_byte).ok_or(KeyError::UnsupportedType(type_byte))?;
        let usable =
            encoded == want || (encoded == SignatureType::Ed25519 && want == SignatureType::CosignatureV1);
        if !usable {
            return Err(KeyError::WrongType { want: want.byte(), got: type_byte });
        }
        let seed = key32(seed)?;
        // The ID in the string is the one of the encoded type.
        let as_encoded = SignerKey::from_seed(name, encoded, seed)?;
        if as_encoded.verifier.key_id != given {
            return Err(KeyError::KeyIdMismatch { given, computed: as_encoded.verifier.key_id });
        }
        SignerKey::from_seed(name, want, seed)
    }

    /// The secret key string. Deliberately not `Display`, so it cannot end
    /// up in a log line by accident.
    pub fn to_secret_string(&self) -> String {
        let mut material = vec![self.verifier.sig_type.byte()];
        material.extend_from_slice(self.signing_key.as_bytes());
        format!("PRIVATE+KEY+{}+{:08x}+{}", self.verifier.name, self.verifier.key_id, b64_encode(&material))
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> &VerifierKey {
        &self.verifier
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.verifier.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.verifier.key_id
    }

    /// Raw Ed25519 signature over `message`; the typed entry points are
    /// [`SignerKey::sign`] and [`crate::cosignature::cosign`].
    pub(crate) fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing_key.sign(message).to_bytes()
    }

    /// Signs note `text` with this Ed25519 (type 0x01) key.
    pub fn sign(&self, text: &str) -> Result<NoteSignature, KeyError> {
        if self.verifier.sig_type != SignatureType::Ed25519 {
            return Err(KeyError::WrongType { want: SIG_TYPE_ED25519, got: self.verifier.sig_type.byte() });
        }
        Ok(NoteSignature {
            name: self.verifier.name.clone(),
            key_id: self.verifier.key_id,
            signature: self.sign_raw(text.as_bytes()).to_vec(),
        })
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SignerKey({}, secret redacted)", self.verifier)
    }
}

/// One signature line: `— <name> base64(key ID || signature)`.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Signature bytes after the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("— {} {}\n", self.name, b64_encode(&bytes))
    }

    /// Parses one signature line without its newline; `line` is its
    /// 1-based number, for errors.
    pub fn parse_line(text: &str, line: usize) -> Result<NoteSignature, NoteError> {
        let rest = text.strip_prefix("— ").ok_or(NoteError::BadSignatureLine { line })?;
        let (name, b64) = rest.split_once(' ').ok_or(NoteError::BadSignatureLine { line })?;
        check_name(name).map_err(|source| NoteError::BadSignatureName { line, source })?;
        let bytes = b64_decode(b64).ok_or(NoteError::BadSignatureBase64 { line })?;
        if bytes.len() < 5 {
            return Err(NoteError::ShortSignature { line, len: bytes.len() });
        }
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            signature: bytes[4..].to_vec(),
        })
    }
}

/// A signature that verified, with its key and (for cosignatures) time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The known key that made it.
    pub key: VerifierKey,
    /// The cosignature timestamp (type 0x04), seconds since the Unix epoch.
    pub timestamp: Option<u64>,
}

/// A note whose signatures were checked against known keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    /// The note text (ending in a newline).
    pub text: String,
    /// Signatures by known keys, each key once, in note order.
    pub verified: Vec<VerifiedSignature>,
    /// Signatures by keys not in the known set, ignored as the spec requires.
    pub unverified: Vec<NoteSignature>,
}

/// A signed note: text and signature lines. Build with [`Note::new`], add
/// signatures, print with `Display`; or [`Note::parse`] received bytes.
/// (A note without signatures prints, but is not a valid signed note.)
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

fn check_text_chars(text: &str, first_line: usize) -> Result<(), NoteError> {
    let mut line = first_line;
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        } else if (c as u32) < 0x20 {
            return Err(NoteError::ControlCharacter { line, code: c as u32 });
        }
    }
    Ok(())
}

impl Note {
    /// An unsigned note with `text`, which must be non-empty, end with a
    /// newline and hold no control characters other than newline.
    pub fn new(text: &str) -> Result<Note, NoteError> {
        if text.is_empty() {
            return Err(NoteError::EmptyText);
        }
        if !text.ends_with('\n') {
            return Err(NoteError::TextNotTerminated);
        }
        if text.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge { size: text.len() });
        }
        check_text_chars(text, 1)?;
        Ok(Note { text: text.to_owned(), signatures: Vec::new() })
    }

    /// Parses a signed note strictly: UTF-8, no control characters but
    /// newline, text ending in newline, a blank line, then one or more
    /// signature lines each ending in newline.
    pub fn parse(bytes: &[u8]) -> Result<Note, NoteError> {
        if bytes.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge { size: bytes.len() });
        }
        let msg = std::str::from_utf8(bytes).map_err(|e| NoteError::NotUtf8 { offset: e.valid_up_to() })?;
        check_text_chars(msg, 1)?;
        // The text ends at the last blank line.
        let split = msg.rfind("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (text, sigs) = (&msg[..split + 1], &msg[split + 2..]);
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if !sigs.ends_with('\n') {
            return Err(NoteError::Unterminated);
        }
        let first_sig_line = text.matches('\n').count() + 2;
        let lines: Vec<&str> = sigs[..sigs.len() - 1].split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures { count: lines.len() });
        }
        let signatures = lines
            .iter()
            .enumerate()
            .map(|(i, l)| NoteSignature::parse_line(l, first_sig_line + i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Note { text: text.to_owned(), signatures })
    }

    /// The note text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature, replacing any earlier one by the same key (name
    /// and ID), as Go's `note.Sign` does.
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        check_name(&sig.name).map_err(|source| NoteError::BadSignatureName { line: 0, source })?;
        if sig.signature.is_empty() {
            return Err(NoteError::ShortSignature { line: 0, len: 4 });
        }
        if let Some(existing) =
            self.signatures.iter_mut().find(|s| s.name == sig.name && s.key_id == sig.key_id)
        {
            *existing = sig;
        } else {
            if self.signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures { count: MAX_SIGNATURES + 1 });
            }
            self.signatures.push(sig);
        }
        Ok(())
    }

    /// Signs the text with an Ed25519 (type 0x01) key and adds the
    /// signature.
    pub fn sign(&mut self, key: &SignerKey) -> Result<(), NoteError> {
        let sig = key.sign(&self.text)?;
        self.add_signature(sig)
    }

    /// The 1-based line number of signature `i`, for error messages.
    fn signature_line(&self, i: usize) -> usize {
        self.text.matches('\n').count() + 2 + i
    }

    /// Checks the signatures against `known` keys. Signatures by unknown
    /// keys (name and ID not both matching) are ignored; a known key's
    /// signature that fails is an error; at least one must verify.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<VerifiedNote, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut unverified = Vec::new();
        for (i, sig) in self.signatures.iter().enumerate() {
            let mut matching = known.iter().filter(|k| k.name == sig.name && k.key_id == sig.key_id);
            let Some(key) = matching.next() else {
                // Identical lines count once, as in Go's note.Open.
                if !unverified.contains(sig) {
                    unverified.push(sig.clone());
                }
                continue;
            };
            if matching.any(|other| other != key) {
                return Err(NoteError::AmbiguousKey { name: sig.name.clone(), key_id: sig.key_id });
            }
            let timestamp =
                key.verify(&self.text, &sig.signature).map_err(|_| NoteError::InvalidSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                    line: self.signature_line(i),
                })?;
            // One key counts once, however many lines it signed.
            if !verified.iter().any(|v| v.key == *key) {
                verified.push(VerifiedSignature { key: key.clone(), timestamp });
            }
        }
        if verified.is_empty() {
            let signers: Vec<String> =
                self.signatures.iter().map(|s| format!("{}+{:08x}", s.name, s.key_id)).collect();
            return Err(NoteError::NoKnownSignature { signers: signers.join(", ") });
        }
        Ok(VerifiedNote { text: self.text.clone(), verified, unverified })
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}
