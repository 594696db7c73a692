//! Storage of directives before issuance (issue 6): the directive documents with their
//! status and last check report, consultation windows in rounds (a directive sent back
//! for revision may be consulted again), and the executors' ratings of each round.
//!
//! What is stored, and what is not:
//! - a directive keeps its document (the `tongxin_directives::Directive` as JSON, kept
//!   opaque here), the resolved target unit codes (for visibility and conflicts), and the
//!   check report of its last transition;
//! - an anonymous rating keeps the task, the level the responder declared, the rating and
//!   the comment, and nothing about its submitter: no user id, time, token or session; its
//!   token's nonce goes into the safe voice's spent-nonce table (`voice_spent`) in the same
//!   transaction, so a token spent on a report cannot be spent on a rating, nor twice on
//!   ratings, and the nonce row itself names no directive;
//! - a named rating keeps the user id, because the cadre chose to rate by name;
//! - rating ids are random (UUIDv4), never time-ordered, so their order says nothing.
//!
//! Every table leads its primary key with the province of the issuing body.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tongxin_domain::{Invalid, Level, UnitCode};
use uuid::Uuid;

use crate::{Result, StoreError};

/// The status of a stored directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectiveStatus {
    Draft,
    Consulting,
    Issued,
    Withdrawn,
}

impl DirectiveStatus {
    pub const ALL: [DirectiveStatus; 4] = [
        DirectiveStatus::Draft,
        DirectiveStatus::Consulting,
        DirectiveStatus::Issued,
        DirectiveStatus::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DirectiveStatus::Draft => "draft",
            DirectiveStatus::Consulting => "consulting",
            DirectiveStatus::Issued => "issued",
            DirectiveStatus::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(s: &str) -> Option<DirectiveStatus> {
        DirectiveStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Issued or consulting: other drafts are checked against it.
    pub fn is_active(self) -> bool {
        matches!(self, DirectiveStatus::Consulting | DirectiveStatus::Issued)
    }

    /// The transitions the store accepts: draft → consulting | issued | withdrawn,
    /// consulting → issued | withdrawn | draft (back for revision).
    pub fn may_become(self, to: DirectiveStatus) -> bool {
        use DirectiveStatus::*;
        matches!(
            (self, to),
            (Draft, Consulting)
                | (Draft, Issued)
                | (Draft, Withdrawn)
                | (Consulting, Issued)
                | (Consulting, Withdrawn)
                | (Consulting, Draft)
        )
    }
}

/// One stored directive.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDirective {
    /// UUIDv7.
    pub id: Uuid,
    pub issuing_body: Uuid,
    /// The issuing body's unit: its province leads the primary key.
    pub body_unit: UnitCode,
    pub status: DirectiveStatus,
    /// The directive document (`tongxin_directives::Directive` as JSON).
    pub document: serde_json::Value,
    /// The target units the document resolved to when last stored, sorted.
    pub targets: Vec<UnitCode>,
    /// The check report of the last save or transition (`tongxin_directives::CheckReport`).
    pub check: Option<serde_json::Value>,
    /// 1 on creation, +1 on every update.
    pub revision: u32,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredDirective {
    pub fn province(&self) -> &str {
        self.body_unit.province()
    }
}

/// Which directives to list; every set field narrows. Ordered by id (creation order),
/// oldest first or, with `newest_first`, newest first; read a page at a time with `limit`
/// and `after` (keyset: the id of the last directive of the previous page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DirectiveFilter {
    /// Only directives of bodies in this province.
    pub province: Option<String>,
    /// Only these statuses (empty: any).
    pub statuses: Vec<DirectiveStatus>,
    /// Only directives of these bodies (empty: any).
    pub bodies: Vec<Uuid>,
    /// Only directives of bodies at or below this unit (`UnitCode::descendant_range`).
    pub body_under: Option<UnitCode>,
    /// Newest first (descending id) instead of oldest first.
    pub newest_first: bool,
    /// Only directives after this id in the order chosen.
    pub after: Option<Uuid>,
    /// At most this many (`None`: all).
    pub limit: Option<u32>,
}

/// One consultation round of a directive. Round 1 is the first window; another round
/// opens only after the previous one is concluded (with "revise", the directive being a
/// draft again).
#[derive(Debug, Clone, PartialEq)]
pub struct Consultation {
    pub directive: Uuid,
    /// 1, 2, … within the directive.
    pub round: u32,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    /// Set when the author concludes it.
    pub concluded_at: Option<DateTime<Utc>>,
    /// The outcome: `issue`, `revise` or `withdraw`.
    pub outcome: Option<String>,
    /// The author's response to the executors.
    pub response: String,
    /// Where the conclusion sits in the transparency log, once appended.
    pub log_index: Option<u64>,
}

/// One rating of one task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRating {
    /// Index of the task in the directive's document.
    pub task: u32,
    /// 1 (cannot be done) … 5 (easily done).
    pub rating: u8,
    pub comment: String,
}

/// One consultation response: a cadre's ratings of some tasks, anonymous or named.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsultationResponse {
    /// Random (UUIDv4): says nothing about when it was given.
    pub id: Uuid,
    pub directive: Uuid,
    /// The consultation round it answers.
    pub round: u32,
    /// The level of the responding unit.
    pub level: Level,
    /// The user of a named response; `None` for an anonymous one.
    pub user: Option<Uuid>,
    pub ratings: Vec<TaskRating>,
}

impl ConsultationResponse {
    pub fn validate(&self) -> Result<()> {
        let mut seen = std::collections::HashSet::new();
        if self.ratings.is_empty() {
            return Err(Invalid::one("ratings", "至少评价一项任务", "rate at least one task").into());
        }
        for (i, r) in self.ratings.iter().enumerate() {
            if !(1..=5).contains(&r.rating) {
                return Err(Invalid::one(
                    format!("ratings[{i}].rating"),
                    "评分须在 1 到 5 之间",
                    "a rating is between 1 and 5",
                )
                .into());
            }
            if !seen.insert(r.task) {
                return Err(Invalid::one(
                    format!("ratings[{i}].task"),
                    "同一任务只能评价一次",
                    "each task is rated once",
                )
                .into());
            }
        }
        Ok(())
    }
}

/// Storage of directives and consultations. Reached from a store by
/// [`crate::Store::directives`].
#[async_trait]
pub trait DirectiveStore: Send + Sync {
    /// Stores a new directive (revision 1); an id already stored is `Conflict`.
    async fn directive_put(&self, d: &StoredDirective) -> Result<()>;
    /// Replaces the directive whose stored revision is `expected_revision` with `d`
    /// (whose revision must be `expected_revision + 1`); stale is `Conflict`, unknown
    /// `NotFound`. The body, creator and creation time cannot change.
    async fn directive_update(&self, d: &StoredDirective, expected_revision: u32) -> Result<()>;
    async fn directive(&self, id: Uuid) -> Result<Option<StoredDirective>>;
    async fn directives(&self, filter: &DirectiveFilter) -> Result<Vec<StoredDirective>>;

    /// Opens consultation round `c.round` of a stored directive: round 1 when it has none,
    /// otherwise one more than its latest round, which must be concluded. Any other round
    /// is `Conflict` (two authors opening at once: one wins); an unknown directive
    /// `NotFound`.
    async fn consultation_put(&self, c: &Consultation) -> Result<()>;
    /// The latest round of a directive's consultation, if it has one.
    async fn consultation(&self, directive: Uuid) -> Result<Option<Consultation>>;
    /// Every round of a directive's consultation, oldest first.
    async fn consultations(&self, directive: Uuid) -> Result<Vec<Consultation>>;
    /// Concludes round `round` with the outcome and the author's response; `NotFound`
    /// without that round, `Conflict` if already concluded.
    async fn consultation_conclude(
        &self,
        directive: Uuid,
        round: u32,
        outcome: &str,
        response: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Records where a round's conclusion sits in the transparency log.
    async fn consultation_logged(&self, directive: Uuid, round: u32, log_index: u64) -> Result<()>;

    /// Stores a response to round `r.round` in one transaction. Anonymous (`user ==
    /// None`): `spent_nonce` is required and recorded in the safe voice's spent-nonce table
    /// under `nonce_province`; a nonce already spent (by a report or a rating) is
    /// `Conflict` and nothing is stored. Named: `spent_nonce` must be `None`, and a user
    /// who already rated one of the tasks in that round is `Conflict`. An unknown
    /// directive or round is `NotFound`.
    async fn response_put(
        &self,
        r: &ConsultationResponse,
        spent_nonce: Option<(&str, [u8; 32])>,
    ) -> Result<()>;
    /// Every response to one round of a directive, ratings by task; ordered by id (random
    /// order).
    async fn responses(&self, directive: Uuid, round: u32) -> Result<Vec<ConsultationResponse>>;
}

/// Checks that `c` is the round that may open after `latest` (see
/// [`DirectiveStore::consultation_put`]).
pub fn check_next_round(latest: Option<&Consultation>, c: &Consultation) -> Result<()> {
    let expected = match latest {
        None => 1,
        Some(l) if l.concluded_at.is_none() => {
            return Err(StoreError::Conflict(format!(
                "round {} of the consultation of directive {} is not concluded",
                l.round, c.directive
            )));
        }
        Some(l) => l.round + 1,
    };
    if c.round != expected {
        return Err(StoreError::Conflict(format!(
            "the next consultation round of directive {} is {expected}, not {}",
            c.directive, c.round
        )));
    }
    Ok(())
}

/// Checks a response against the nonce rule of [`DirectiveStore::response_put`].
pub fn check_response(r: &ConsultationResponse, spent_nonce: Option<&(&str, [u8; 32])>) -> Result<()> {
    r.validate()?;
    match (r.user, spent_nonce) {
        (None, None) => {
            Err(Invalid::one("token", "匿名评价缺少凭证", "an anonymous rating needs its token's nonce")
                .into())
        }
        (Some(_), Some(_)) => {
            Err(Invalid::one("token", "实名评价不使用凭证", "a named rating spends no token").into())
        }
        _ => Ok(()),
    }
}

/// Checks an update against the stored directive.
pub fn check_directive_update(
    stored: &StoredDirective,
    new: &StoredDirective,
    expected_revision: u32,
) -> Result<()> {
    if stored.revision != expected_revision {
        return Err(StoreError::Conflict(format!(
            "directive {} is at revision {}, not {expected_revision}",
            new.id, stored.revision
        )));
    }
    if new.revision != expected_revision + 1 {
        return Err(Invalid::one("revision", "修订号须加一", "the revision must grow by one").into());
    }
    if stored.issuing_body != new.issuing_body
        || stored.body_unit != new.body_unit
        || stored.created_by != new.created_by
        || stored.created_at != new.created_at
    {
        return Err(Invalid::one(
            "directive",
            "发文机关、起草人和创建时间不能更改",
            "a directive's issuing body, creator and creation time cannot change",
        )
        .into());
    }
    Ok(())
}

/// The target codes as stored (a JSON array).
pub fn targets_json(t: &[UnitCode]) -> String {
    serde_json::to_string(&t.iter().map(|c| c.as_str()).collect::<Vec<_>>()).expect("strings")
}

pub fn targets_from_json(s: &str) -> Result<Vec<UnitCode>> {
    let v: Vec<String> =
        serde_json::from_str(s).map_err(|e| StoreError::Database(format!("corrupt targets: {e}")))?;
    v.iter()
        .map(|c| UnitCode::parse(c).map_err(|_| StoreError::Database(format!("corrupt target {c:?}"))))
        .collect()
}

pub fn json_value(s: &str, what: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| StoreError::Database(format!("corrupt {what}: {e}")))
}

pub fn parse_status(s: &str) -> Result<DirectiveStatus> {
    DirectiveStatus::parse(s).ok_or_else(|| StoreError::Database(format!("corrupt directive status {s:?}")))
}

pub fn parse_level(s: &str) -> Result<Level> {
    Level::parse(s).ok_or_else(|| StoreError::Database(format!("corrupt level {s:?}")))
}

pub fn parse_unit(s: &str) -> Result<UnitCode> {
    UnitCode::parse(s).map_err(|_| StoreError::Database(format!("corrupt unit code {s:?}")))
}
