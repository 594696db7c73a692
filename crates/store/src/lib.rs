//! The storage seam: the [`Store`] trait, the records and filters it speaks in, and its
//! error type. `store-sqlite` and `store-postgres` implement it; `store-conformance`
//! holds the one test suite both must pass. Nothing above this crate writes SQL.

pub mod checks;
pub mod codec;
pub mod directives;
pub mod rows;
pub mod voice;

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use tongxin_domain::{Body, Demand, DemandKind, DemandStatus, Invalid, Unit, UnitCode, User};
use uuid::Uuid;

pub use directives::{
    Consultation, ConsultationResponse, DirectiveFilter, DirectiveStatus, DirectiveStore, StoredDirective,
    TaskRating,
};
pub use voice::{DumpRow, VoiceEvent, VoiceFilter, VoiceKey, VoicePage, VoiceStore};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The input breaks a rule the store checks against stored data (unknown unit, …).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("not found: {0}")]
    NotFound(String),
    /// Optimistic concurrency: the record changed since the caller read it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database failed; the message is for operators and never shown to users.
    #[error("database: {0}")]
    Database(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// One row of [`Store::sql_month_rollup`].
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRollup {
    pub child: String,
    /// 1 to 12.
    pub month: u32,
    pub demands: i64,
    pub cadre_hours: f64,
}

/// Which demands to list. Every set field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DemandFilter {
    /// Demands with a target at this unit or below it.
    pub unit: Option<UnitCode>,
    /// With `unit`: also meetings aimed at an ancestor of `unit` that require `unit`'s
    /// level to attend (the cascade reaches it). Used for a unit's calendar.
    pub include_cascade: bool,
    /// Demands from this body or, when it is a department, from any of its divisions.
    pub body: Option<Uuid>,
    pub kind: Option<DemandKind>,
    pub status: Option<DemandStatus>,
    /// Demands that end at or after this time.
    pub from: Option<NaiveDateTime>,
    /// Demands that start before this time.
    pub to: Option<NaiveDateTime>,
    /// Keyset cursor: the `(starts_at, id)` of the last demand of the previous page.
    pub after: Option<(NaiveDateTime, Uuid)>,
    /// Page size, 1..=1000; 0 means 100.
    pub limit: u32,
}

impl DemandFilter {
    pub fn page_size(&self) -> u32 {
        match self.limit {
            0 => 100,
            n => n.min(1000),
        }
    }
}

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The cursor for the next page, when there may be one.
    pub next: Option<(NaiveDateTime, Uuid)>,
}

/// One stored change of a demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DemandRevision {
    pub demand_id: Uuid,
    pub revision: u32,
    pub at: DateTime<Utc>,
    /// Who made the change: a username, or `import:<file>`.
    pub actor: String,
    /// `created`, `updated` or `cancelled`.
    pub action: String,
    /// The demand as it was after this change.
    pub demand: Demand,
}

/// A signed-in browser session. The store keeps only a hash of the cookie's token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub token_hash: String,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// Everything one import writes, in one transaction: all of it or nothing.
#[derive(Debug, Clone, Default)]
pub struct ImportBatch {
    pub units: Vec<Unit>,
    pub bodies: Vec<Body>,
    pub demands: Vec<Demand>,
    pub users: Vec<User>,
    /// Recorded as the actor of each demand's first revision.
    pub actor: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    pub units: u64,
    pub bodies: u64,
    pub demands: u64,
    pub users: u64,
}

/// A callback for long writes: (done, total).
pub type Progress = dyn Fn(u64, u64) + Send + Sync;

/// Counts for the overview pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Units per level, province first.
    pub units_by_level: [u64; 5],
    pub bodies: u64,
    pub demands: u64,
    pub users: u64,
}

/// The head of one transparency log: how far it is sequenced, and who may write it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogHead {
    /// Entries sequenced and durably stored.
    pub size: u64,
    /// The Merkle root over those entries.
    pub root: [u8; 32],
    /// The size of the newest published (signed) checkpoint; ≤ `size`.
    pub published: u64,
    /// The process that holds the writer lease, and when it last renewed it.
    pub writer: Option<Uuid>,
    pub heartbeat: Option<DateTime<Utc>>,
}

/// One integrated batch of a log: the entries, the stored hashes they add (from stored-hash
/// index `first_hash` on), and the new root. Written only if the head is still at
/// `old_size` and held by `writer`.
#[derive(Debug, Clone)]
pub struct LogBatch {
    pub log: String,
    pub writer: Uuid,
    pub old_size: u64,
    pub entries: Vec<Vec<u8>>,
    pub first_hash: u64,
    pub hashes: Vec<[u8; 32]>,
    pub new_root: [u8; 32],
}

/// Whether `writer` may take the lease of `log` whose head is `head`: free, already its
/// own, or abandoned (no heartbeat since `stale_before`). Shared by both backends.
pub fn log_lease_free(log: &str, head: &LogHead, writer: Uuid, stale_before: DateTime<Utc>) -> Result<()> {
    match (head.writer, head.heartbeat) {
        (None, _) => Ok(()),
        (Some(w), _) if w == writer => Ok(()),
        (Some(_), Some(beat)) if beat < stale_before => Ok(()),
        (Some(w), beat) => Err(StoreError::Conflict(format!(
            "log {log} is being written by another process ({w}, last heartbeat {}); \
             two writers would fork the log, so this one refuses to start",
            beat.map(|b| b.to_rfc3339()).unwrap_or_else(|| "never".into())
        ))),
    }
}

/// A signed checkpoint as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedCheckpoint {
    pub size: u64,
    pub at: DateTime<Utc>,
    /// The signed note, with any cosignatures.
    pub note: String,
}

/// The storage of tongxin. Implementations keep the same behaviour, checked by the
/// conformance suite: validation against stored data, all-or-nothing batches, revisions
/// on every demand change, and the descendant semantics of unit filters.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// The storage of the safe voice (reports, keys, allowances, spent nonces).
    fn voice(&self) -> &dyn VoiceStore;

    /// The storage of directives, consultations and ratings (issue 6).
    fn directives(&self) -> &dyn DirectiveStore;

    // Units.
    /// The unit, if it exists.
    async fn unit(&self, code: &UnitCode) -> Result<Option<Unit>>;
    /// The units directly below `parent` (the provinces when `None`), by code.
    async fn children(&self, parent: Option<&UnitCode>) -> Result<Vec<Unit>>;
    /// Units whose name contains `query` or whose code starts with it, shallowest first.
    async fn search_units(&self, query: &str, limit: u32) -> Result<Vec<Unit>>;
    /// The subset of `codes` that exist.
    async fn existing_units(&self, codes: &[UnitCode]) -> Result<HashSet<UnitCode>>;
    /// The subset of `codes` that do not exist: what an import's checks ask of tens of
    /// thousands of codes, nearly all of which exist. A store may answer it without
    /// returning the ones found.
    async fn missing_units(&self, codes: &[UnitCode]) -> Result<HashSet<UnitCode>> {
        let found = self.existing_units(codes).await?;
        Ok(codes.iter().filter(|c| !found.contains(*c)).cloned().collect())
    }
    /// Sets a unit's cadre count as a reported (no longer estimated) figure.
    async fn set_cadres(&self, code: &UnitCode, cadres: u32) -> Result<()>;
    /// All units at or below `root` (every unit when `None`), by code.
    async fn units_under(&self, root: Option<&UnitCode>) -> Result<Vec<Unit>>;

    // Bodies.
    async fn body(&self, id: Uuid) -> Result<Option<Body>>;
    /// The stored bodies among `ids`, in any order (unknown ids are left out): one query
    /// for many, as an import's checks need for every source body and parent it names.
    async fn bodies_by_id(&self, ids: &[Uuid]) -> Result<Vec<Body>>;
    /// Bodies at units at or below `unit` (all when `None`), ordered by unit then name.
    async fn bodies(&self, unit: Option<&UnitCode>) -> Result<Vec<Body>>;
    /// The divisions of a department.
    async fn divisions(&self, department: Uuid) -> Result<Vec<Body>>;

    // Demands.
    /// Creates one demand (revision 1). Its targets and source body must exist; the
    /// store sets `source_department` from the body.
    async fn create_demand(&self, demand: Demand, actor: &str) -> Result<Demand>;
    /// Replaces a demand if its stored revision is `expected_revision`; adds a revision.
    async fn update_demand(&self, demand: Demand, expected_revision: u32, actor: &str) -> Result<Demand>;
    async fn demand(&self, id: Uuid) -> Result<Option<Demand>>;
    async fn demands(&self, filter: &DemandFilter) -> Result<Page<Demand>>;
    /// Every revision of a demand, oldest first.
    async fn demand_history(&self, id: Uuid) -> Result<Vec<DemandRevision>>;

    // Accounts and sessions.
    async fn user(&self, id: Uuid) -> Result<Option<User>>;
    async fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// Creates or replaces an account (matched by username).
    async fn put_user(&self, user: &User) -> Result<()>;
    async fn put_session(&self, session: &Session) -> Result<()>;
    /// The session, if it exists and has not expired at `now`.
    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    // Bulk.
    /// Writes a whole batch in one transaction after checking every reference against
    /// the batch and the stored data; on any problem nothing is written and every
    /// problem is returned. Units are upserted (re-importing the division list is
    /// harmless); bodies, demands and users are inserted.
    /// `progress` is called with (rows written, rows in the batch) as the write goes on.
    async fn import(&self, batch: ImportBatch, progress: Option<&Progress>) -> Result<ImportCounts>;
    async fn counts(&self) -> Result<Counts>;
    /// The unit-by-month rollup of one year computed by the database from the demand
    /// tables (for checking and benchmarking the burden engine's incremental rollups):
    /// for each child of `root` and each month, the live demand-target pairs at or below
    /// the child and their cadre-hours.
    async fn sql_month_rollup(&self, root: &UnitCode, year: i32) -> Result<Vec<MonthRollup>>;

    // Transparency logs. The store keeps entries, stored hashes and checkpoints; the log
    // crates decide what they mean. Every write is conditional on the head, so two
    // processes can never both extend a log: the second gets `Conflict`.
    /// The head of `log`, if it was ever claimed.
    async fn log_head(&self, log: &str) -> Result<Option<LogHead>>;
    /// Takes or renews the writer lease of `log` (creating an empty log on first use).
    /// Succeeds when nobody holds it, when `writer` does, or when the holder's heartbeat
    /// is older than `stale_before`; `Conflict` otherwise.
    async fn log_claim(
        &self,
        log: &str,
        writer: Uuid,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<LogHead>;
    /// Appends an integrated batch in one transaction; `Conflict` if the head moved or
    /// another writer holds the lease.
    async fn log_append(&self, batch: &LogBatch) -> Result<()>;
    /// Stores a signed checkpoint of the current head (`size` must equal the head's size
    /// and `writer` hold the lease); `Conflict` otherwise.
    async fn log_publish(
        &self,
        log: &str,
        writer: Uuid,
        size: u64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Stored hashes by stored-hash index, in order; `NotFound` if any is missing.
    async fn log_hashes(&self, log: &str, indexes: &[u64]) -> Result<Vec<[u8; 32]>>;
    /// Entries `start..end`; `NotFound` if any is missing.
    async fn log_entries(&self, log: &str, start: u64, end: u64) -> Result<Vec<Vec<u8>>>;
    /// Published checkpoints, newest first, at most `limit`.
    async fn log_checkpoints(&self, log: &str, limit: u32) -> Result<Vec<PublishedCheckpoint>>;
}
