//! How tongxin runs Privacy Pass: one issuer key per disclosure scope and
//! period, every key published in the transparency log.
//!
//! - A [`KeyScope`] names a key: a disclosure scope (a unit's code) and a
//!   period (a month by default, `"2026-11"`).
//! - The challenge for a scope is fixed (non-interactive, RFC 9577
//!   §2.1.1), so every member of the scope gets the same challenge and
//!   tokens can be issued in a batch, ahead of use:
//!   - `issuer_name` = `"<period>.<scope>.issuer.<server>"`: one name per
//!     key set, as RFC 9578 §4 asks of an issuer serving several
//!     directories (distinct names, so challenges differ);
//!   - `origin_info` = `"<server>"`, so a token is spent only on this
//!     tongxin server;
//!   - `redemption_context` = [`KeyScope::redemption_context`], SHA-256 of
//!     the scope and period, so a token from one scope or period cannot be
//!     spent in another even if the keys were mixed up.
//! - A [`KeyRecord`] is a key's transparency-log entry: scope, period,
//!   SPKI, `token_key_id`, validity. Clients use only keys with a logged
//!   record ([`logged_key`]), which rules out a hidden per-person key.
//!
//! All of this is tongxin's own convention, so it is written here; the
//! record format is plain text so that anyone can read a log entry.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;

use crate::{DIGEST_LEN, Error, IssuerPublicKey, TOKEN_TYPE, TokenChallenge, sha256, to_hex};

/// The longest scope code or period label.
const MAX_LABEL: usize = 32;
/// The longest server name (host, optionally `:port`), leaving room for the
/// issuer-name prefix within a DNS name's 253 characters.
const MAX_SERVER_NAME: usize = 180;

/// Which key: a disclosure scope and a period.
///
/// Both are lower-case DNS labels (`[0-9a-z-]`, 1 to 32 characters, no
/// hyphen at either end), because both become labels of the issuer name:
/// the scope is a unit's official code (`"440305"`), the period a month
/// (`"2026-11"`, see [`KeyScope::monthly`]) unless a jurisdiction
/// configures another cadence.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyScope {
    /// The disclosure scope: a unit's official code.
    pub scope_code: String,
    /// The period the key is for, `"YYYY-MM"` by default.
    pub period: String,
}

fn check_label(what: &str, s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > MAX_LABEL {
        return Err(format!("{what} must be 1 to {MAX_LABEL} characters, got {}", s.len()));
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-') {
        return Err(format!("{what} {s:?} may hold only 0-9, a-z and '-'"));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err(format!("{what} {s:?} may not start or end with '-'"));
    }
    Ok(())
}

impl KeyScope {
    /// A checked scope.
    pub fn new(scope_code: &str, period: &str) -> Result<Self, Error> {
        let scope = KeyScope { scope_code: scope_code.to_owned(), period: period.to_owned() };
        scope.validate()?;
        Ok(scope)
    }

    /// The scope for a calendar month: period `"YYYY-MM"`.
    pub fn monthly(scope_code: &str, year: u16, month: u8) -> Result<Self, Error> {
        if !(1..=12).contains(&month) || !(1000..=9999).contains(&year) {
            return Err(Error::InvalidScope(format!("no month {year}-{month}")));
        }
        Self::new(scope_code, &format!("{year:04}-{month:02}"))
    }

    /// Checks both fields (they are public, so anything may be in them).
    pub fn validate(&self) -> Result<(), Error> {
        check_label("scope code", &self.scope_code).map_err(Error::InvalidScope)?;
        check_label("period", &self.period).map_err(Error::InvalidScope)?;
        Ok(())
    }

    /// `SHA-256("tongxin/voice/redemption-context/v1" || 0x00 ||
    /// u8 len || scope_code || u8 len || period)`: the challenge's
    /// redemption context. Length-prefixed, so distinct scopes never
    /// collide.
    pub fn redemption_context(&self) -> [u8; DIGEST_LEN] {
        // Labels are at most 32 bytes once validated; clamp rather than
        // panic for unvalidated ones (they cannot reach a challenge).
        let scope = self.scope_code.as_bytes();
        let period = self.period.as_bytes();
        let scope_len = [u8::try_from(scope.len()).unwrap_or(u8::MAX)];
        let period_len = [u8::try_from(period.len()).unwrap_or(u8::MAX)];
        sha256(&[b"tongxin/voice/redemption-context/v1\0", &scope_len, scope, &period_len, period])
    }

    /// `"<period>.<scope_code>.issuer.<server_name>"`.
    pub fn issuer_name(&self, server_name: &str) -> Result<String, Error> {
        self.validate()?;
        check_server_name(server_name)?;
        Ok(format!("{}.{}.issuer.{server_name}", self.period, self.scope_code))
    }
}

/// Checks a server name: a lower-case host name (labels of `[0-9a-z-]`),
/// optionally with `:port`.
pub fn check_server_name(server_name: &str) -> Result<(), Error> {
    let bad = |why: &str| Err(Error::InvalidServerName(format!("{server_name:?}: {why}")));
    if server_name.is_empty() || server_name.len() > MAX_SERVER_NAME {
        return bad("must be 1 to 180 characters");
    }
    let (host, port) = match server_name.split_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (server_name, None),
    };
    if let Some(port) = port {
        let canonical = port.parse::<u16>().ok().filter(|p| *p != 0).map(|p| p.to_string());
        if canonical.as_deref() != Some(port) {
            return bad("port must be a number from 1 to 65535 without leading zeros");
        }
    }
    for label in host.split('.') {
        if label.is_empty() || label.len() > 63 {
            return bad("each host label must be 1 to 63 characters");
        }
        if !label.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b == b'-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return bad("host labels hold only 0-9, a-z and inner '-' (lower case)");
        }
    }
    Ok(())
}

/// The `origin_info` of tongxin's challenges: the server's own name.
pub fn origin_info(server_name: &str) -> Result<String, Error> {
    check_server_name(server_name)?;
    Ok(server_name.to_owned())
}

/// The one challenge for `scope` on `server_name`: type `0x0002`, issuer
/// name, redemption context and origin as described in the module docs.
pub fn challenge(server_name: &str, scope: &KeyScope) -> Result<TokenChallenge, Error> {
    let issuer = scope.issuer_name(server_name)?;
    TokenChallenge::new(TOKEN_TYPE, &issuer, Some(scope.redemption_context()), &origin_info(server_name)?)
}

/// A key's transparency-log entry: which scope and period it serves, the
/// key itself, and when it may be used (Unix seconds, `not_before`
/// inclusive, `not_after` exclusive).
///
/// The entry ([`KeyRecord::to_bytes`]) is canonical UTF-8 text, one
/// `name value` pair per line, in this order:
///
/// ```text
/// tongxin/voice/issuer-key/v1
/// token-type 2
/// scope 440305
/// period 2026-11
/// not-before 1793462400
/// not-after 1796054400
/// token-key-id <64 lower-case hex digits: SHA-256 of the SPKI>
/// token-key <base64url with padding of the SPKI, as RFC 9578 §4 directories publish it>
/// ```
///
/// Each line ends with `\n`. Decoding accepts only this exact form, so one
/// record has one encoding (and one log entry hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRecord {
    scope: KeyScope,
    key: IssuerPublicKey,
    not_before: u64,
    not_after: u64,
}

const RECORD_HEADER: &str = "tongxin/voice/issuer-key/v1";

impl KeyRecord {
    /// A record for `key` serving `scope` from `not_before` (inclusive) to
    /// `not_after` (exclusive).
    pub fn new(
        scope: KeyScope,
        key: &IssuerPublicKey,
        not_before: u64,
        not_after: u64,
    ) -> Result<Self, Error> {
        scope.validate()?;
        if not_before >= not_after {
            return Err(Error::InvalidKeyRecord(format!(
                "not-before {not_before} is not before not-after {not_after}"
            )));
        }
        Ok(KeyRecord { scope, key: key.clone(), not_before, not_after })
    }

    /// The scope and period.
    pub fn scope(&self) -> &KeyScope {
        &self.scope
    }

    /// The key.
    pub fn public_key(&self) -> &IssuerPublicKey {
        &self.key
    }

    /// The key's RFC 9578 SPKI.
    pub fn spki(&self) -> &[u8] {
        self.key.spki()
    }

    /// SHA-256 of the SPKI.
    pub fn token_key_id(&self) -> &[u8; DIGEST_LEN] {
        self.key.token_key_id()
    }

    /// First second the key may be used.
    pub fn not_before(&self) -> u64 {
        self.not_before
    }

    /// First second the key may no longer be used.
    pub fn not_after(&self) -> u64 {
        self.not_after
    }

    /// Whether `unix_time` is within the validity.
    pub fn covers(&self, unix_time: u64) -> bool {
        self.not_before <= unix_time && unix_time < self.not_after
    }

    /// The canonical log entry.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!(
            "{RECORD_HEADER}\ntoken-type {TOKEN_TYPE}\nscope {}\nperiod {}\nnot-before {}\nnot-after {}\ntoken-key-id {}\ntoken-key {}\n",
            self.scope.scope_code,
            self.scope.period,
            self.not_before,
            self.not_after,
            to_hex(self.key.token_key_id()),
            URL_SAFE.encode(self.key.spki()),
        )
        .into_bytes()
    }

    /// Decodes a canonical log entry: every field checked, the key parsed,
    /// its id recomputed, and the bytes required to be exactly what
    /// [`KeyRecord::to_bytes`] would write.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let bad = |why: String| Error::InvalidKeyRecord(why);
        if bytes.len() > 4096 {
            return Err(bad("longer than 4096 bytes".into()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        let body = text.strip_suffix('\n').ok_or_else(|| bad("does not end with a newline".into()))?;
        let mut lines = body.split('\n');
        let mut field = |name: &'static str| -> Result<&str, Error> {
            let line = lines.next().ok_or_else(|| bad(format!("missing line {name:?}")))?;
            if name == RECORD_HEADER {
                return if line == RECORD_HEADER {
                    Ok("")
                } else {
                    Err(bad(format!("first line is not {RECORD_HEADER:?}")))
                };
            }
            line.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(' '))
                .ok_or_else(|| bad(format!("expected line {name:?}")))
        };
        field(RECORD_HEADER)?;
        let token_type = field("token-type")?;
        if token_type != TOKEN_TYPE.to_string() {
            return Err(bad(format!("token-type {token_type:?} is not {TOKEN_TYPE}")));
        }
        let scope_code = field("scope")?;
        let period = field("period")?;
        let scope = KeyScope::new(scope_code, period)?;
        let number =
            |s: &str, name: &str| s.parse::<u64>().map_err(|_| bad(format!("{name} {s:?} is not a number")));
        let not_before = number(field("not-before")?, "not-before")?;
        let not_after = number(field("not-after")?, "not-after")?;
        let key_id = field("token-key-id")?.to_owned();
        let spki =
            URL_SAFE.decode(field("token-key")?).map_err(|_| bad("token-key is not base64url".into()))?;
        if lines.next().is_some() {
            return Err(bad("unexpected lines after token-key".into()));
        }
        let key = IssuerPublicKey::from_spki(&spki)?;
        if key_id != to_hex(key.token_key_id()) {
            return Err(bad("token-key-id is not SHA-256 of token-key".into()));
        }
        let record = KeyRecord::new(scope, &key, not_before, not_after)?;
        if record.to_bytes() != bytes {
            return Err(bad("not in canonical form".into()));
        }
        Ok(record)
    }
}

/// The logged record for the key a client is about to use, if any: same
/// scope and period, same `token_key_id`, valid at `unix_time`. A client
/// refuses to request or spend tokens under a key this does not find
/// (`records` being entries whose inclusion in the log it has verified).
pub fn logged_key<'a>(
    records: impl IntoIterator<Item = &'a KeyRecord>,
    scope: &KeyScope,
    token_key_id: &[u8; DIGEST_LEN],
    unix_time: u64,
) -> Option<&'a KeyRecord> {
    records.into_iter().find(|r| &r.scope == scope && r.token_key_id() == token_key_id && r.covers(unix_time))
}

/// How many distinct keys the log shows for `scope` at `unix_time`. More
/// than one splits the scope's anonymity set; a client should warn, and
/// the server should never cause it outside a logged rotation.
pub fn active_key_count<'a>(
    records: impl IntoIterator<Item = &'a KeyRecord>,
    scope: &KeyScope,
    unix_time: u64,
) -> usize {
    let mut ids: Vec<&[u8; DIGEST_LEN]> = records
        .into_iter()
        .filter(|r| &r.scope == scope && r.covers(unix_time))
        .map(|r| r.token_key_id())
        .collect();
    ids.sort();
    ids.dedup();
    ids.len()
}
