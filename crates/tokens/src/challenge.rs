//! The `TokenChallenge` of RFC 9577 §2.1.
//!
//! ```text
//! struct {
//!     uint16_t token_type;
//!     opaque issuer_name<1..2^16-1>;
//!     opaque redemption_context<0..32>;
//!     opaque origin_info<0..2^16-1>;
//! } TokenChallenge;
//! ```

use crate::wire::Reader;
use crate::{DIGEST_LEN, Error, sha256};

/// A token challenge: which issuer, which context, which origins.
///
/// tongxin's challenges are non-interactive (RFC 9577 §2.1.1): one per
/// scope and period, built by [`crate::scheme::challenge`], so tokens can be
/// issued in batches long before they are spent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenChallenge {
    token_type: u16,
    issuer_name: String,
    redemption_context: Option<[u8; 32]>,
    origin_info: String,
}

/// Printable ASCII without space (0x21..=0x7e): names and comma-separated
/// name lists, as RFC 9577 §2.1 describes them.
fn is_name_text(s: &[u8]) -> bool {
    s.iter().all(|b| (0x21..=0x7e).contains(b))
}

impl TokenChallenge {
    /// Builds a challenge. `issuer_name` must be 1 to 65535 bytes and
    /// `origin_info` (a comma-separated list of origin names, possibly
    /// empty) at most 65535, both printable ASCII.
    pub fn new(
        token_type: u16,
        issuer_name: &str,
        redemption_context: Option<[u8; 32]>,
        origin_info: &str,
    ) -> Result<Self, Error> {
        if issuer_name.is_empty() {
            return Err(Error::InvalidChallenge("issuer_name is empty"));
        }
        if issuer_name.len() > usize::from(u16::MAX) {
            return Err(Error::InvalidChallenge("issuer_name is longer than 65535 bytes"));
        }
        if !is_name_text(issuer_name.as_bytes()) {
            return Err(Error::InvalidChallenge("issuer_name is not printable ASCII without spaces"));
        }
        if origin_info.len() > usize::from(u16::MAX) {
            return Err(Error::InvalidChallenge("origin_info is longer than 65535 bytes"));
        }
        if !is_name_text(origin_info.as_bytes()) {
            return Err(Error::InvalidChallenge("origin_info is not printable ASCII without spaces"));
        }
        Ok(TokenChallenge {
            token_type,
            issuer_name: issuer_name.to_owned(),
            redemption_context,
            origin_info: origin_info.to_owned(),
        })
    }

    /// The token type the challenge asks for.
    pub fn token_type(&self) -> u16 {
        self.token_type
    }

    /// The issuer's name.
    pub fn issuer_name(&self) -> &str {
        &self.issuer_name
    }

    /// The 32-byte redemption context, if any.
    pub fn redemption_context(&self) -> Option<&[u8; 32]> {
        self.redemption_context.as_ref()
    }

    /// The comma-separated origin names (empty: any origin).
    pub fn origin_info(&self) -> &str {
        &self.origin_info
    }

    /// The exact wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let ctx: &[u8] = match &self.redemption_context {
            Some(c) => c,
            None => &[],
        };
        let mut out =
            Vec::with_capacity(2 + 2 + self.issuer_name.len() + 1 + ctx.len() + 2 + self.origin_info.len());
        out.extend_from_slice(&self.token_type.to_be_bytes());
        // Lengths fit: `new` and `decode` bound both strings by u16::MAX.
        out.extend_from_slice(&(self.issuer_name.len() as u16).to_be_bytes());
        out.extend_from_slice(self.issuer_name.as_bytes());
        out.push(ctx.len() as u8);
        out.extend_from_slice(ctx);
        out.extend_from_slice(&(self.origin_info.len() as u16).to_be_bytes());
        out.extend_from_slice(self.origin_info.as_bytes());
        out
    }

    /// Decodes the exact wire encoding; anything else is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "token challenge");
        let token_type = r.u16()?;
        let issuer_name = r.vec16()?;
        let ctx = r.vec8()?;
        let origin_info = r.vec16()?;
        r.finish()?;
        let redemption_context = match ctx.len() {
            0 => None,
            32 => {
                let mut c = [0u8; 32];
                c.copy_from_slice(ctx);
                Some(c)
            }
            _ => {
                return Err(Error::InvalidChallenge("redemption_context must be 0 or 32 bytes"));
            }
        };
        // Printable ASCII is valid UTF-8, so these conversions cannot fail
        // once `new` has checked the bytes; check first to keep it so.
        if !is_name_text(issuer_name) || !is_name_text(origin_info) {
            return Err(Error::InvalidChallenge(
                "issuer_name or origin_info is not printable ASCII without spaces",
            ));
        }
        let issuer_name = std::str::from_utf8(issuer_name)
            .map_err(|_| Error::InvalidChallenge("issuer_name is not ASCII"))?;
        let origin_info = std::str::from_utf8(origin_info)
            .map_err(|_| Error::InvalidChallenge("origin_info is not ASCII"))?;
        TokenChallenge::new(token_type, issuer_name, redemption_context, origin_info)
    }

    /// `challenge_digest = SHA-256(TokenChallenge)` (RFC 9578 §6.1), the
    /// value a token carries and a verifier expects.
    pub fn digest(&self) -> [u8; DIGEST_LEN] {
        sha256(&[&self.to_bytes()])
    }
}
