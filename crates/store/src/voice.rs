//! Storage of the safe voice (issue 5): issuer keys, token allowances, reports with
//! their spent token nonces, and the log bookkeeping of every transition.
//!
//! What is stored, and what is not:
//! - an anonymous report keeps its public token bytes (anyone may check it) and nothing
//!   else about its submitter: no user id, IP address, user agent or session;
//! - a named report keeps the user id, because the cadre chose to file by name;
//! - an allowance row records only that a user received the allowance of a scope and
//!   period (and how many tokens, and when), nothing derived from the tokens;
//! - the spent-nonce table holds (province, nonce) only, so double spending is refused;
//! - the openings of the log commitments, and the contents they commit to (answers,
//!   replies, ratings), stay private in the database.
//!
//! Every table that grows with use leads its primary key with the province of the
//! report's (or key's) scope; see ARCHITECTURE.md.

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use tongxin_domain::{Invalid, UnitCode};
pub use tongxin_voice::{Identity, Report, State};
use uuid::Uuid;

use crate::{Result, StoreError};

/// One issuer key: one per (scope, period).
///
/// **`secret_pkcs8` is the issuer's private key, and it lives in the database.** Whoever
/// reads it can mint tokens for the scope and period: protect the database (and its
/// backups) like the key itself. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct VoiceKey {
    pub scope: UnitCode,
    /// `YYYY-MM` by default (see `tongxin_tokens::scheme::KeyScope`).
    pub period: String,
    /// SHA-256 of the SPKI (RFC 9578 §6.5).
    pub token_key_id: [u8; 32],
    /// The public key, RFC 9578 SPKI (RSASSA-PSS OID).
    pub spki: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub secret_pkcs8: Vec<u8>,
    /// Stored to the microsecond.
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The index of the key's record in the transparency log, once appended.
    pub log_index: Option<u64>,
}

impl std::fmt::Debug for VoiceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceKey")
            .field("scope", &self.scope)
            .field("period", &self.period)
            .field("token_key_id", &hex(&self.token_key_id))
            .field("secret_pkcs8", &"…")
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("log_index", &self.log_index)
            .finish()
    }
}

/// The bookkeeping of one logged transition of a report. `seq` 0 is the filing; the
/// events of [`Report::history`] follow with their own `seq` (1, 2, …).
#[derive(Clone, PartialEq, Eq)]
pub struct VoiceEvent {
    pub report: Uuid,
    pub seq: u32,
    /// The opening of the entry's commitment: private, never published.
    pub opening: [u8; 32],
    /// The canonical log entry (`tongxin_voice::LogEntry`'s bytes).
    pub entry: Vec<u8>,
    /// The exact canonical bytes the entry commits to (`Report::content_bytes` for the
    /// filing, `tongxin_voice::event_content` for a transition): private like the
    /// opening, never in the log. With the opening it opens the commitment
    /// (`tongxin_voice::verify_commitment`). Empty for events stored before it was kept.
    pub content: Vec<u8>,
    pub log_index: Option<u64>,
}

impl std::fmt::Debug for VoiceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoiceEvent")
            .field("report", &self.report)
            .field("seq", &self.seq)
            .field("opening", &"…")
            .field("entry_len", &self.entry.len())
            .field("content_len", &self.content.len())
            .field("log_index", &self.log_index)
            .finish()
    }
}

/// Which reports to list; every set field narrows the result. Ordered by submission
/// time, then id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VoiceFilter {
    /// Reports addressed to one of these bodies (with `unaddressed`: or to none). Empty
    /// and `unaddressed == false`: any addressee.
    pub addressed: Vec<Uuid>,
    /// Also (or, with `addressed` empty, only) reports addressed to no body yet, left to
    /// the burden-reduction office to route.
    pub unaddressed: bool,
    /// Reports whose scope is this unit or lies below it.
    pub scope: Option<UnitCode>,
    pub state: Option<State>,
    /// Only reports escalated at least once.
    pub escalated_only: bool,
    /// Only reports filed by name by this user (anonymous reports never match).
    pub named_by: Option<Uuid>,
    /// Submitted at or after this time.
    pub submitted_from: Option<DateTime<Utc>>,
    /// Submitted before this time.
    pub submitted_before: Option<DateTime<Utc>>,
    /// Keyset cursor: [`VoicePage::next`] of the previous page.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    /// Page size, 1..=500; 0 means 100.
    pub limit: u32,
}

impl VoiceFilter {
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => 100,
            n => n.min(500),
        }
    }
}

/// One page of reports.
#[derive(Debug, Clone, PartialEq)]
pub struct VoicePage {
    pub items: Vec<Report>,
    /// The cursor for the next page (submission time to the microsecond, id), when there
    /// may be one.
    pub next: Option<(DateTime<Utc>, Uuid)>,
}

/// One stored row, rendered as a JSON object (blobs in hex), for audits: the anonymity
/// test dumps every voice table and looks for anything naming a known cadre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DumpRow {
    pub table: String,
    pub row: String,
}

/// Storage of the safe voice. Reached from a store by [`crate::Store::voice`].
#[async_trait]
pub trait VoiceStore: Send + Sync {
    // Issuer keys.
    /// Stores a new key; a second key for the same (scope, period), or a key whose
    /// `token_key_id` is already stored in the province, is `Conflict`.
    async fn voice_key_put(&self, key: &VoiceKey) -> Result<()>;
    /// Keys of `scope` (exactly that unit) and/or `period`, every key when both are
    /// `None`; by scope then period.
    async fn voice_keys(&self, scope: Option<&UnitCode>, period: Option<&str>) -> Result<Vec<VoiceKey>>;
    /// Records where the key's record sits in the transparency log; `NotFound` if there
    /// is no such key.
    async fn voice_key_logged(&self, scope: &UnitCode, period: &str, log_index: u64) -> Result<()>;

    // Allowances.
    /// Records that `user` received the allowance of `tokens` tokens for `scope` and
    /// `period` at `at`. `false` (and nothing written) when they already had it. Atomic:
    /// of concurrent calls for the same (user, scope, period) exactly one returns `true`.
    async fn voice_allowance_take(
        &self,
        user: Uuid,
        scope: &UnitCode,
        period: &str,
        tokens: u32,
        at: DateTime<Utc>,
    ) -> Result<bool>;

    // Reports.
    /// Files a new report in one transaction: for an anonymous report `spent_nonce` (its
    /// token's nonce) is required and recorded as spent; for a named one it must be
    /// `None`. A nonce already spent, or a receipt hash or id already stored, is
    /// `Conflict` and nothing is stored.
    async fn voice_file(&self, report: &Report, spent_nonce: Option<[u8; 32]>) -> Result<()>;
    async fn voice_report(&self, id: Uuid) -> Result<Option<Report>>;
    async fn voice_report_by_receipt(&self, receipt: &[u8; 32]) -> Result<Option<Report>>;
    /// Replaces a report whose stored seq (number of events) is `expected_seq`; stale is
    /// `Conflict`, unknown `NotFound`. The new report must keep the id, scope, identity,
    /// receipt and submission time and have more events than `expected_seq`.
    async fn voice_update(&self, report: &Report, expected_seq: u32) -> Result<()>;
    async fn voice_reports(&self, filter: &VoiceFilter) -> Result<VoicePage>;

    // Log bookkeeping.
    /// Stores the bookkeeping of one logged transition of a report of `scope`; `NotFound`
    /// if the report is not stored there, `Conflict` if (report, seq) already is.
    async fn voice_event_put(&self, scope: &UnitCode, event: &VoiceEvent) -> Result<()>;
    /// Records the log index of an event once its entry is appended; `NotFound` if absent.
    async fn voice_event_logged(
        &self,
        scope: &UnitCode,
        report: Uuid,
        seq: u32,
        log_index: u64,
    ) -> Result<()>;
    /// The events of a report, by seq.
    async fn voice_events(&self, report: Uuid) -> Result<Vec<VoiceEvent>>;

    // Audit.
    /// Every row of every voice table (keys with their secret shown only as its length),
    /// for the anonymity audit and tests. Never expose it over HTTP.
    async fn voice_dump(&self) -> Result<Vec<DumpRow>>;
}

/// The column values of a report row, computed the same way by both backends.
#[derive(Debug, Clone)]
pub struct ReportColumns {
    pub province: String,
    pub scope: String,
    pub addressed: Option<Uuid>,
    /// The public token bytes of an anonymous report.
    pub token: Option<Vec<u8>>,
    /// The user of a named report.
    pub user: Option<Uuid>,
    pub receipt: [u8; 32],
    pub state: &'static str,
    pub escalation: i64,
    pub seq: i64,
    /// To the microsecond (what both databases keep).
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The whole report.
    pub json: String,
}

impl ReportColumns {
    pub fn of(r: &Report) -> Result<ReportColumns> {
        let (token, user) = match &r.identity {
            Identity::Anonymous { token } => (Some(token.clone()), None),
            Identity::Named { user } => (None, Some(*user)),
        };
        Ok(ReportColumns {
            province: r.scope.province().to_owned(),
            scope: r.scope.as_str().to_owned(),
            addressed: r.addressed,
            token,
            user,
            receipt: *r.receipt.as_bytes(),
            state: r.state.as_str(),
            escalation: i64::from(r.escalation),
            seq: r.history.len() as i64,
            submitted_at: micros(r.submitted_at),
            updated_at: micros(r.last_event_at()),
            json: serde_json::to_string(r)
                .map_err(|e| StoreError::Database(format!("report to JSON: {e}")))?,
        })
    }
}

/// A stored report's JSON back to the report.
pub fn report_from_json(s: &str) -> Result<Report> {
    serde_json::from_str(s).map_err(|e| StoreError::Database(format!("corrupt report JSON: {e}")))
}

/// `t` truncated to the microsecond, as both databases keep times.
pub fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// A time as SQLite stores voice times: RFC 3339 UTC with six fractional digits, fixed
/// width, so text order is time order.
pub fn sortable_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Checks what [`VoiceStore::voice_file`] checks before writing.
pub fn check_filing(report: &Report, spent_nonce: Option<&[u8; 32]>) -> Result<()> {
    report.validate()?;
    if report.state != State::Submitted || !report.history.is_empty() {
        return Err(Invalid::one(
            "state",
            "新报告必须处于已提交状态",
            "a new report must be in state submitted",
        )
        .into());
    }
    match (&report.identity, spent_nonce) {
        (Identity::Anonymous { .. }, None) => {
            Err(Invalid::one("token", "匿名报告缺少凭证", "an anonymous report needs its token's nonce")
                .into())
        }
        (Identity::Named { .. }, Some(_)) => {
            Err(Invalid::one("token", "实名报告不使用凭证", "a named report spends no token").into())
        }
        _ => Ok(()),
    }
}

/// Checks an update against the stored report (what must not change) and the seq.
pub fn check_update(stored: &Report, new: &Report, expected_seq: u32) -> Result<()> {
    let stored_seq = stored.history.len() as u32;
    if stored_seq != expected_seq {
        return Err(StoreError::Conflict(format!(
            "report {} has {stored_seq} events, not {expected_seq}",
            new.id
        )));
    }
    if new.history.len() as u32 <= expected_seq {
        return Err(Invalid::one("history", "更新必须增加事件", "an update must add an event").into());
    }
    if stored.scope != new.scope
        || stored.identity != new.identity
        || stored.receipt != new.receipt
        || stored.submitted_at != new.submitted_at
    {
        return Err(Invalid::one(
            "report",
            "报告的范围、身份、回执和提交时间不能更改",
            "a report's scope, identity, receipt and submission time cannot change",
        )
        .into());
    }
    Ok(())
}

/// Lower-case hex.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A 32-byte column.
pub fn bytes32(b: &[u8], what: &str) -> Result<[u8; 32]> {
    b.try_into().map_err(|_| StoreError::Database(format!("corrupt {what}: {} bytes", b.len())))
}
