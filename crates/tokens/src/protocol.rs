//! The issuance protocol of RFC 9578 §6 (publicly verifiable tokens) and
//! the token of RFC 9577 §2.2, for token type `0x0002`.
//!
//! ```text
//! struct {
//!     uint16_t token_type = 0x0002;
//!     uint8_t truncated_token_key_id;
//!     uint8_t blinded_msg[Nk];
//! } TokenRequest;
//!
//! struct {
//!     uint8_t blind_sig[Nk];
//! } TokenResponse;
//!
//! struct {
//!     uint16_t token_type = 0x0002;
//!     uint8_t nonce[32];
//!     uint8_t challenge_digest[32];
//!     uint8_t token_key_id[32];
//!     uint8_t authenticator[Nk];
//! } Token;
//! ```

use std::fmt;

use blind_rsa_signatures::{BlindSignature, BlindingResult, Signature};

use crate::wire::Reader;
use crate::{
    CryptoRng, DIGEST_LEN, Error, IssuerKey, IssuerPublicKey, NK, NONCE_LEN, TOKEN_LEN, TOKEN_REQUEST_LEN,
    TOKEN_RESPONSE_LEN, TOKEN_TYPE, TokenChallenge, to_hex,
};

fn check_len(what: &'static str, bytes: &[u8], expected: usize) -> Result<(), Error> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(Error::WrongLength { what, expected, found: bytes.len() })
    }
}

fn check_type(what: &'static str, found: u16) -> Result<(), Error> {
    if found == TOKEN_TYPE { Ok(()) } else { Err(Error::UnsupportedTokenType { what, found }) }
}

/// `token_input = token_type || nonce || challenge_digest || token_key_id`
/// (RFC 9578 §6.1): the message the issuer blindly signs and the token's
/// authenticator signs in the clear.
pub fn token_input(
    nonce: &[u8; NONCE_LEN],
    challenge_digest: &[u8; DIGEST_LEN],
    token_key_id: &[u8; DIGEST_LEN],
) -> [u8; 2 + NONCE_LEN + 2 * DIGEST_LEN] {
    let mut out = [0u8; 2 + NONCE_LEN + 2 * DIGEST_LEN];
    out[..2].copy_from_slice(&TOKEN_TYPE.to_be_bytes());
    out[2..2 + NONCE_LEN].copy_from_slice(nonce);
    out[2 + NONCE_LEN..2 + NONCE_LEN + DIGEST_LEN].copy_from_slice(challenge_digest);
    out[2 + NONCE_LEN + DIGEST_LEN..].copy_from_slice(token_key_id);
    out
}

/// What the client sends the issuer.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRequest {
    truncated_token_key_id: u8,
    blinded_msg: Box<[u8; NK]>,
}

impl TokenRequest {
    /// Always `0x0002`.
    pub fn token_type(&self) -> u16 {
        TOKEN_TYPE
    }

    /// The last byte of the issuer key's id.
    pub fn truncated_token_key_id(&self) -> u8 {
        self.truncated_token_key_id
    }

    /// The blinded message.
    pub fn blinded_msg(&self) -> &[u8; NK] {
        &self.blinded_msg
    }

    /// The exact wire encoding ([`crate::TOKEN_REQUEST_LEN`] bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TOKEN_REQUEST_LEN);
        out.extend_from_slice(&TOKEN_TYPE.to_be_bytes());
        out.push(self.truncated_token_key_id);
        out.extend_from_slice(&self.blinded_msg[..]);
        out
    }

    /// Decodes the exact wire encoding of a type `0x0002` request.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "token request");
        check_type("token request", r.u16()?)?;
        check_len("token request", bytes, TOKEN_REQUEST_LEN)?;
        let truncated_token_key_id = r.u8()?;
        let blinded_msg = Box::new(r.array::<NK>()?);
        r.finish()?;
        Ok(TokenRequest { truncated_token_key_id, blinded_msg })
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("token_type", &TOKEN_TYPE)
            .field("truncated_token_key_id", &self.truncated_token_key_id)
            .finish_non_exhaustive()
    }
}

/// What the issuer answers.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    blind_sig: Box<[u8; NK]>,
}

impl TokenResponse {
    /// The blind signature.
    pub fn blind_sig(&self) -> &[u8; NK] {
        &self.blind_sig
    }

    /// The exact wire encoding ([`crate::TOKEN_RESPONSE_LEN`] bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.blind_sig.to_vec()
    }

    /// Decodes the exact wire encoding.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        check_len("token response", bytes, TOKEN_RESPONSE_LEN)?;
        let mut r = Reader::new(bytes, "token response");
        let blind_sig = Box::new(r.array::<NK>()?);
        r.finish()?;
        Ok(TokenResponse { blind_sig })
    }
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse").finish_non_exhaustive()
    }
}

/// A finished token: publicly verifiable with the issuer's public key, and
/// unlinkable to the request it came from.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    nonce: [u8; NONCE_LEN],
    challenge_digest: [u8; DIGEST_LEN],
    token_key_id: [u8; DIGEST_LEN],
    authenticator: Box<[u8; NK]>,
}

impl Token {
    /// Always `0x0002`.
    pub fn token_type(&self) -> u16 {
        TOKEN_TYPE
    }

    /// The client's random nonce: what a double-spend check keys on
    /// (together with [`Token::token_key_id`]).
    pub fn nonce(&self) -> &[u8; NONCE_LEN] {
        &self.nonce
    }

    /// SHA-256 of the challenge the token answers.
    pub fn challenge_digest(&self) -> &[u8; DIGEST_LEN] {
        &self.challenge_digest
    }

    /// SHA-256 of the issuer key's SPKI.
    pub fn token_key_id(&self) -> &[u8; DIGEST_LEN] {
        &self.token_key_id
    }

    /// The RSASSA-PSS signature over [`token_input`].
    pub fn authenticator(&self) -> &[u8; NK] {
        &self.authenticator
    }

    /// The exact wire encoding ([`crate::TOKEN_LEN`] bytes), which a report
    /// can store and publish: anyone holding the issuer's public key can
    /// check it with [`verify`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TOKEN_LEN);
        out.extend_from_slice(&TOKEN_TYPE.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.challenge_digest);
        out.extend_from_slice(&self.token_key_id);
        out.extend_from_slice(&self.authenticator[..]);
        out
    }

    /// Decodes the exact wire encoding of a type `0x0002` token.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "token");
        check_type("token", r.u16()?)?;
        check_len("token", bytes, TOKEN_LEN)?;
        let nonce = r.array()?;
        let challenge_digest = r.array()?;
        let token_key_id = r.array()?;
        let authenticator = Box::new(r.array::<NK>()?);
        r.finish()?;
        Ok(Token { nonce, challenge_digest, token_key_id, authenticator })
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("token_type", &TOKEN_TYPE)
            .field("nonce", &to_hex(&self.nonce))
            .field("challenge_digest", &to_hex(&self.challenge_digest))
            .field("token_key_id", &to_hex(&self.token_key_id))
            .finish_non_exhaustive()
    }
}

/// What the client keeps between [`begin_issuance`] and [`finalize`]. It
/// holds the blinding inverse, which links the request to the token: it
/// must never leave the client, its `Debug` does not show it, and it is
/// zeroed when the state is dropped.
#[derive(Clone)]
pub struct ClientState {
    public_key: IssuerPublicKey,
    nonce: [u8; NONCE_LEN],
    challenge_digest: [u8; DIGEST_LEN],
    blinding: BlindingResult,
}

impl Drop for ClientState {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.blinding.secret.0.zeroize();
    }
}

impl fmt::Debug for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientState")
            .field("token_key_id", &to_hex(self.public_key.token_key_id()))
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Client, step 1 (RFC 9578 §6.1): draws a nonce, blinds `token_input`
/// under the issuer's public key, and returns the request to send and the
/// state to keep.
///
/// The RNG is read in this order: the 32-byte nonce, then the 48-byte PSS
/// salt, then the blinding factor (the RFC vectors depend on it).
pub fn begin_issuance<R: CryptoRng + ?Sized>(
    public_key: &IssuerPublicKey,
    challenge: &TokenChallenge,
    rng: &mut R,
) -> Result<(TokenRequest, ClientState), Error> {
    check_type("token challenge", challenge.token_type())?;
    let mut nonce = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut nonce);
    let challenge_digest = challenge.digest();
    let input = token_input(&nonce, &challenge_digest, public_key.token_key_id());
    let blinding = public_key.inner().blind(rng, input)?;
    let blinded_msg: [u8; NK] = blinding
        .blind_message
        .as_slice()
        .try_into()
        .map_err(|_| Error::Crypto("blinded message has the wrong length".into()))?;
    let request = TokenRequest {
        truncated_token_key_id: public_key.truncated_token_key_id(),
        blinded_msg: Box::new(blinded_msg),
    };
    let state = ClientState { public_key: public_key.clone(), nonce, challenge_digest, blinding };
    Ok((request, state))
}

/// Client, step 2 (RFC 9578 §6.3): unblinds the issuer's answer into a
/// token, and checks it verifies under the public key the client chose
/// (so an issuer cannot hand out tokens under a hidden key).
pub fn finalize(state: ClientState, response: &TokenResponse) -> Result<Token, Error> {
    // Borrow, not destructure: dropping `state` zeroes the blinding inverse.
    let public_key = &state.public_key;
    let input = token_input(&state.nonce, &state.challenge_digest, public_key.token_key_id());
    let signature =
        public_key.inner().finalize(&BlindSignature(response.blind_sig.to_vec()), &state.blinding, input)?;
    let authenticator: [u8; NK] = signature
        .0
        .as_slice()
        .try_into()
        .map_err(|_| Error::Crypto("signature has the wrong length".into()))?;
    Ok(Token {
        nonce: state.nonce,
        challenge_digest: state.challenge_digest,
        token_key_id: *public_key.token_key_id(),
        authenticator: Box::new(authenticator),
    })
}

/// Issuer (RFC 9578 §6.2): checks the request is for this key and signs the
/// blinded message. The issuer learns nothing of the token it helps make.
pub fn issue(key: &IssuerKey, request: &TokenRequest) -> Result<TokenResponse, Error> {
    let expected = key.public_key().truncated_token_key_id();
    if request.truncated_token_key_id != expected {
        return Err(Error::KeyIdMismatch { expected, found: request.truncated_token_key_id });
    }
    let blind_sig = key.inner().blind_sign(&request.blinded_msg[..]).map_err(|e| match e {
        blind_rsa_signatures::Error::UnsupportedParameters => Error::InvalidBlindedMessage,
        other => other.into(),
    })?;
    let blind_sig: [u8; NK] = blind_sig
        .0
        .as_slice()
        .try_into()
        .map_err(|_| Error::Crypto("blind signature has the wrong length".into()))?;
    Ok(TokenResponse { blind_sig: Box::new(blind_sig) })
}

/// Anyone (RFC 9578 §6.4): checks the token is for this key and for the
/// expected challenge, and that its authenticator is a valid RSASSA-PSS
/// (SHA-384, MGF1-SHA-384, 48-byte salt) signature over [`token_input`].
///
/// Double spending is not checked here: the caller keeps the
/// [`Token::nonce`]s it has accepted for this key and refuses repeats.
pub fn verify(
    public_key: &IssuerPublicKey,
    token: &Token,
    expected_challenge_digest: &[u8; DIGEST_LEN],
) -> Result<(), Error> {
    if &token.token_key_id != public_key.token_key_id() {
        return Err(Error::WrongKey);
    }
    if &token.challenge_digest != expected_challenge_digest {
        return Err(Error::ChallengeMismatch);
    }
    let input = token_input(&token.nonce, &token.challenge_digest, &token.token_key_id);
    public_key
        .inner()
        .verify(&Signature(token.authenticator.to_vec()), None, input)
        .map_err(|_| Error::BadSignature)
}
