//! The embedded default store: one SQLite file in WAL mode with `synchronous=NORMAL`.
//!
//! Writes go through a pool of exactly one connection (SQLite has one writer anyway, and
//! queuing in the pool is cheaper than `SQLITE_BUSY` retries); reads use a separate pool.
//! Imports run in one transaction on a rusqlite connection to the same database (see
//! [`bulk`]); log appends are batched into multi-row statements.

mod bulk;
mod directives;
mod migrate;
pub use migrate::MIGRATIONS;
mod rows;
mod voice;

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool, Transaction};
use tongxin_domain::{Body, Demand, Flag, Unit, UnitCode, User};
use tongxin_store::codec::{fields_to_text, levels_at_or_below, levels_to_bits, targets_to_text};
use tongxin_store::{
    Counts, DemandFilter, DemandRevision, ImportBatch, ImportCounts, LogBatch, LogHead, MonthRollup, Page,
    Progress, PublishedCheckpoint, Result, Session, Store, StoreError, checks,
};
use uuid::Uuid;

/// The condition that finds a demand by its id alone (one bound parameter): the primary
/// key is (province, id) and there is no index on id by itself (migration 0006), so the
/// key is probed once for each possible province code, `00` to `99`.
static DEMAND_BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let codes: Vec<String> = (0..100).map(|p| format!("'{p:02}'")).collect();
    format!("province IN ({}) AND id = ?", codes.join(", "))
});

/// [`DEMAND_BY_ID`], for tests that check the query plan.
pub fn demand_by_id_condition() -> &'static str {
    &DEMAND_BY_ID
}

use rows::{DEMAND_COLUMNS, body_from_row, db, demand_from_row, unit_from_row, user_from_row};

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    /// The database, for the import's own connection.
    location: bulk::Location,
    /// The group-committing writer of the safe voice's filing path (see `voice.rs`).
    voice_writer: voice::WriterSlot,
}

/// The RFC 6962 root of the empty tree: SHA-256 of the empty string.
const EMPTY_ROOT: [u8; 32] = tongxin_store::codec::EMPTY_ROOT;

/// Log rows per multi-row INSERT (three parameters each).
const LOG_CHUNK: usize = 2_000;

type HeadRow = (i64, Vec<u8>, i64, Option<Uuid>, Option<String>);

fn head_from_row((size, root, published, writer, heartbeat): HeadRow) -> Result<LogHead> {
    Ok(LogHead {
        size: size as u64,
        root: tongxin_store::codec::hash32(&root)?,
        published: published as u64,
        writer,
        heartbeat: heartbeat.map(|h| rows::parse_time(&h)).transpose()?,
    })
}

impl SqliteStore {
    /// The unit codes `sql` selects, given `codes` as its one parameter: a JSON array per
    /// statement. One bound value instead of one per code: an import checks tens of
    /// thousands of codes, and `IN (?, …)` lists of 500 took over half a second for 44,000.
    async fn codes_where(&self, codes: &[UnitCode], sql: &'static str) -> Result<HashSet<UnitCode>> {
        let mut selected = HashSet::new();
        for chunk in codes.chunks(50_000) {
            let json = serde_json::to_string(&chunk.iter().map(|c| c.as_str()).collect::<Vec<_>>())
                .map_err(|e| StoreError::Database(e.to_string()))?;
            let rows: Vec<String> =
                sqlx::query_scalar(sql).bind(json).fetch_all(&self.read).await.map_err(db)?;
            for code in rows {
                selected.insert(UnitCode::parse(&code).map_err(tongxin_store::codec::corrupt)?);
            }
        }
        Ok(selected)
    }

    /// The head of `log` inside a write transaction, if `writer` holds its lease.
    async fn locked_head(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        log: &str,
        writer: Uuid,
    ) -> Result<LogHead> {
        let row = sqlx::query_as::<_, HeadRow>(
            "SELECT size, root, published, writer, heartbeat FROM log_heads WHERE log = ?",
        )
        .bind(log)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db)?
        .ok_or_else(|| StoreError::NotFound(format!("log {log}")))?;
        let head = head_from_row(row)?;
        if head.writer != Some(writer) {
            return Err(StoreError::Conflict(format!("log {log} is held by another writer")));
        }
        Ok(head)
    }

    /// Opens (creating if needed) the database at `url` (`sqlite://path` or a bare path)
    /// and applies pending migrations.
    pub async fn open(url: &str) -> Result<SqliteStore> {
        let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")).unwrap_or(url);
        let memory = path == ":memory:" || path.is_empty();
        let opts = if memory {
            SqliteConnectOptions::from_str("sqlite::memory:").map_err(db)?
        } else {
            SqliteConnectOptions::new().filename(path).create_if_missing(true)
        }
        .journal_mode(if memory { SqliteJournalMode::Memory } else { SqliteJournalMode::Wal })
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(false)
        // 16 KiB pages for a new database (an existing one keeps its own): a quarter of
        // the B-tree pages, page splits and WAL frames of 4 KiB pages for the same rows. A
        // million-demand import: 156k → 185k demands/s, and its commit 1.2 s → 0.4 s;
        // 32 and 64 KiB measured no better, and cost more per small write.
        .page_size(16384)
        .pragma("cache_size", "-131072")
        .pragma("temp_store", "memory");
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(120))
            .connect_with(opts.clone())
            .await
            .map_err(db)?;
        // The file exists now: its absolute path, so that the import's own connection
        // reaches it whatever the working directory is by then.
        let filename = opts.get_filename();
        let path = if memory {
            filename.to_owned()
        } else {
            std::fs::canonicalize(filename)
                .map_err(|e| StoreError::Database(format!("{}: {e}", filename.display())))?
        };
        let location = bulk::Location { path, memory };
        // An in-memory database exists per connection: read through the writer then.
        let read = if memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(60))
                .connect_with(opts.read_only(true))
                .await
                .map_err(db)?
        };
        migrate::run(&write).await?;
        Ok(SqliteStore { read, write, location, voice_writer: Default::default() })
    }

    /// `BEGIN IMMEDIATE`: take the write lock up front so a transaction never fails
    /// half-way on lock upgrade.
    async fn begin(&self) -> Result<Transaction<'static, Sqlite>> {
        self.write.begin_with("BEGIN IMMEDIATE").await.map_err(db)
    }
}

const UNIT_COLUMNS: &str = "code, name, cadres, cadres_estimated";

/// `INSERT … VALUES (…), (…)` with `rows` groups of `cols` placeholders (`rows` ≤ `max`),
/// built once per shape and kept for the life of the process so sqlx's statement cache
/// can reuse it.
fn multi_insert(
    head: &'static str,
    cols: usize,
    rows: usize,
    max: usize,
    cache: &'static OnceLock<Vec<String>>,
) -> &'static str {
    let all = cache.get_or_init(|| {
        (0..=max)
            .map(|n| {
                let mut s = String::from(head);
                s.push_str(" VALUES ");
                for r in 0..n {
                    if r > 0 {
                        s.push(',');
                    }
                    s.push('(');
                    for c in 0..cols {
                        if c > 0 {
                            s.push(',');
                        }
                        s.push('?');
                    }
                    s.push(')');
                }
                s
            })
            .collect()
    });
    &all[rows]
}

/// One demand and its targets, for `create_demand` and `update_demand` (imports write
/// through [`bulk`], which binds the same values).
async fn insert_demand(
    tx: &mut Transaction<'static, Sqlite>,
    d: &Demand,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let c = &d.cost;
    sqlx::query(
        "INSERT OR FAIL INTO demands (province, id, kind, source_body, source_department, title, topic, targets, \
         starts_at, ends_at, status, origin, cadre_hours, cadres_required, host_person_days, visitors, \
         forms, fields, attend_levels, video, indicators, doc_chars, speech_minutes, flags, revision, changed_at, \
         changed_by, last_action) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(d.province())
    .bind(d.id)
    .bind(d.kind.as_str())
    .bind(d.source_body)
    .bind(d.source_department)
    .bind(d.title.as_str())
    .bind(d.topic.as_str())
    .bind(targets_to_text(&d.targets))
    .bind(d.starts_at)
    .bind(d.ends_at)
    .bind(d.status.as_str())
    .bind(d.origin.as_str())
    .bind(c.cadre_hours)
    .bind(c.cadres_required as i64)
    .bind(c.host_person_days)
    .bind(c.visitors as i64)
    .bind(c.forms as i64)
    .bind(fields_to_text(&c.fields))
    .bind(levels_to_bits(&c.attend_levels))
    .bind(c.video)
    .bind(c.indicators as i64)
    .bind(c.doc_chars as i64)
    .bind(c.speech_minutes as i64)
    .bind(Flag::to_bits(&c.flags) as i64)
    .bind(d.revision as i64)
    .bind(now.to_rfc3339())
    .bind(actor)
    .bind(if d.revision == 1 { "created" } else { "updated" })
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    // Demands have at most 2,000 targets (checked); chunked all the same.
    static T: OnceLock<Vec<String>> = OnceLock::new();
    const TARGET_CHUNK: usize = 2_000;
    for chunk in d.targets.chunks(TARGET_CHUNK) {
        let sql = multi_insert(
            "INSERT OR FAIL INTO demand_targets (province, demand_id, unit)",
            3,
            chunk.len(),
            TARGET_CHUNK,
            &T,
        );
        let mut q = sqlx::query(sql);
        for t in chunk {
            q = q.bind(t.province()).bind(d.id).bind(t.as_str());
        }
        q.execute(&mut **tx).await.map_err(db)?;
    }
    Ok(())
}

async fn insert_users(tx: &mut Transaction<'static, Sqlite>, users: &[User]) -> Result<()> {
    for u in users {
        sqlx::query(
            "INSERT INTO users (province, id, username, display_name, role, scope, body, password_hash) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) \
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, \
             scope = excluded.scope, body = excluded.body, password_hash = excluded.password_hash",
        )
        .bind(u.province().to_owned())
        .bind(u.id)
        .bind(u.username.clone())
        .bind(u.display_name.clone())
        .bind(u.role.as_str())
        .bind(u.scope.as_str().to_owned())
        .bind(u.body)
        .bind(u.password_hash.clone())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn voice(&self) -> &dyn tongxin_store::VoiceStore {
        self
    }

    fn directives(&self) -> &dyn tongxin_store::DirectiveStore {
        self
    }

    async fn unit(&self, code: &UnitCode) -> Result<Option<Unit>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE province = ? AND code = ?"
        )))
        .bind(code.province().to_owned())
        .bind(code.as_str().to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.map(|r| unit_from_row(&r)).transpose()
    }

    async fn children(&self, parent: Option<&UnitCode>) -> Result<Vec<Unit>> {
        let rows = match parent {
            None => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {UNIT_COLUMNS} FROM units WHERE level = 1 ORDER BY code"
                )))
                .fetch_all(&self.read)
                .await
            }
            Some(p) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {UNIT_COLUMNS} FROM units WHERE province = ? AND parent = ? ORDER BY code"
                )))
                .bind(p.province().to_owned())
                .bind(p.as_str().to_owned())
                .fetch_all(&self.read)
                .await
            }
        }
        .map_err(db)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn search_units(&self, query: &str, limit: u32) -> Result<Vec<Unit>> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let rows = if query.bytes().all(|b| b.is_ascii_digit()) {
            let mut high = query.as_bytes().to_vec();
            *high.last_mut().expect("non-empty") += 1;
            // Codes start with the province: a one-digit query spans several provinces,
            // anything longer stays in one and uses the (province, code) primary key.
            let province = query.get(..2).unwrap_or("");
            let sql = if province.is_empty() {
                format!("SELECT {UNIT_COLUMNS} FROM units WHERE ? = '' AND code >= ? AND code < ? ORDER BY level, code LIMIT ?")
            } else {
                format!("SELECT {UNIT_COLUMNS} FROM units WHERE province = ? AND code >= ? AND code < ? ORDER BY level, code LIMIT ?")
            };
            sqlx::query(AssertSqlSafe(sql))
            .bind(province.to_owned())
            .bind(query.to_owned())
            .bind(String::from_utf8(high).expect("ascii"))
            .bind(limit as i64)
            .fetch_all(&self.read)
            .await
        } else {
            let pattern =
                format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {UNIT_COLUMNS} FROM units WHERE name LIKE ? ESCAPE '\\' ORDER BY level, code LIMIT ?"
            )))
            .bind(pattern)
            .bind(limit as i64)
            .fetch_all(&self.read)
            .await
        }
        .map_err(db)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn existing_units(&self, codes: &[UnitCode]) -> Result<HashSet<UnitCode>> {
        // `CROSS JOIN` keeps `json_each` the outer loop: one primary-key lookup per code.
        self.codes_where(
            codes,
            "SELECT u.code FROM json_each(?) j CROSS JOIN units u \
             ON u.province = substr(j.value, 1, 2) AND u.code = j.value",
        )
        .await
    }

    async fn missing_units(&self, codes: &[UnitCode]) -> Result<HashSet<UnitCode>> {
        // Only the codes not found come back: for an import's 44,000 codes that is usually
        // none, instead of 44,000 rows to decode.
        self.codes_where(
            codes,
            "SELECT j.value FROM json_each(?) j WHERE NOT EXISTS \
             (SELECT 1 FROM units u WHERE u.province = substr(j.value, 1, 2) AND u.code = j.value)",
        )
        .await
    }

    async fn set_cadres(&self, code: &UnitCode, cadres: u32) -> Result<()> {
        let done =
            sqlx::query("UPDATE units SET cadres = ?, cadres_estimated = 0 WHERE province = ? AND code = ?")
                .bind(cadres as i64)
                .bind(code.province().to_owned())
                .bind(code.as_str().to_owned())
                .execute(&self.write)
                .await
                .map_err(db)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("unit {code}")));
        }
        Ok(())
    }

    async fn units_under(&self, root: Option<&UnitCode>) -> Result<Vec<Unit>> {
        let rows = match root {
            None => sqlx::query(AssertSqlSafe(format!("SELECT {UNIT_COLUMNS} FROM units ORDER BY code")))
                .fetch_all(&self.read)
                .await,
            Some(r) => {
                let (lo, hi) = r.descendant_range();
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {UNIT_COLUMNS} FROM units WHERE province = ? AND code >= ? AND code < ? ORDER BY code"
                )))
                .bind(r.province().to_owned())
                .bind(lo)
                .bind(hi)
                .fetch_all(&self.read)
                .await
            }
        }
        .map_err(db)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn body(&self, id: Uuid) -> Result<Option<Body>> {
        let row = sqlx::query("SELECT id, unit, name, kind, parent FROM bodies WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.map(|r| body_from_row(&r)).transpose()
    }

    async fn bodies_by_id(&self, ids: &[Uuid]) -> Result<Vec<Body>> {
        // As `existing_units`: the ids go in as one JSON array of hex strings per statement,
        // each looked up by the `bodies_id` index.
        let mut found = Vec::new();
        for chunk in ids.chunks(50_000) {
            let hex: Vec<String> = chunk.iter().map(|id| id.simple().to_string()).collect();
            let json = serde_json::to_string(&hex).map_err(|e| StoreError::Database(e.to_string()))?;
            let rows = sqlx::query(
                "SELECT b.id, b.unit, b.name, b.kind, b.parent FROM json_each(?) j \
                 CROSS JOIN bodies b ON b.id = unhex(j.value)",
            )
            .bind(json)
            .fetch_all(&self.read)
            .await
            .map_err(db)?;
            for r in &rows {
                found.push(body_from_row(r)?);
            }
        }
        Ok(found)
    }

    async fn bodies(&self, unit: Option<&UnitCode>) -> Result<Vec<Body>> {
        let rows = match unit {
            None => sqlx::query("SELECT id, unit, name, kind, parent FROM bodies ORDER BY unit, name").fetch_all(&self.read).await,
            Some(u) => {
                let (lo, hi) = u.descendant_range();
                sqlx::query(
                    "SELECT id, unit, name, kind, parent FROM bodies WHERE province = ? AND unit >= ? AND unit < ? ORDER BY unit, name",
                )
                .bind(u.province().to_owned())
                .bind(lo)
                .bind(hi)
                .fetch_all(&self.read)
                .await
            }
        }
        .map_err(db)?;
        rows.iter().map(body_from_row).collect()
    }

    async fn divisions(&self, department: Uuid) -> Result<Vec<Body>> {
        let rows =
            sqlx::query("SELECT id, unit, name, kind, parent FROM bodies WHERE parent = ? ORDER BY name")
                .bind(department)
                .fetch_all(&self.read)
                .await
                .map_err(db)?;
        rows.iter().map(body_from_row).collect()
    }

    async fn create_demand(&self, demand: Demand, actor: &str) -> Result<Demand> {
        let mut demand = checks::prepare_demand(self, demand).await?;
        demand.revision = 1;
        let mut tx = self.begin().await?;
        insert_demand(&mut tx, &demand, actor, Utc::now()).await?;
        tx.commit().await.map_err(db)?;
        Ok(demand)
    }

    async fn update_demand(&self, demand: Demand, expected_revision: u32, actor: &str) -> Result<Demand> {
        let mut demand = checks::prepare_demand(self, demand).await?;
        let mut tx = self.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEMAND_COLUMNS} FROM demands WHERE {}",
            *DEMAND_BY_ID
        )))
        .bind(demand.id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| StoreError::NotFound(format!("demand {}", demand.id)))?;
        let (old, at, by, action) = demand_from_row(&row)?;
        if old.revision != expected_revision {
            return Err(StoreError::Conflict(format!(
                "demand {} is at revision {}, not {expected_revision}",
                demand.id, old.revision
            )));
        }
        if old.province() != demand.province() {
            return Err(StoreError::Invalid(tongxin_domain::Invalid::one(
                "targets",
                "不能把事项改到另一个省份",
                "a demand cannot move to another province",
            )));
        }
        sqlx::query(
            "INSERT INTO demand_revisions (province, demand_id, revision, at, actor, action, snapshot) VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(old.province().to_owned())
        .bind(old.id)
        .bind(old.revision as i64)
        .bind(at.to_rfc3339())
        .bind(by)
        .bind(action)
        .bind(serde_json::to_string(&old).map_err(|e| StoreError::Database(e.to_string()))?)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM demands WHERE province = ? AND id = ?")
            .bind(old.province().to_owned())
            .bind(old.id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        // Keyed by unit: each old target row by its full key.
        for t in &old.targets {
            sqlx::query("DELETE FROM demand_targets WHERE province = ? AND unit = ? AND demand_id = ?")
                .bind(t.province().to_owned())
                .bind(t.as_str())
                .bind(old.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        demand.revision = old.revision + 1;
        insert_demand(&mut tx, &demand, actor, Utc::now()).await?;
        if demand.status == tongxin_domain::DemandStatus::Cancelled && old.status != demand.status {
            sqlx::query("UPDATE demands SET last_action = 'cancelled' WHERE province = ? AND id = ?")
                .bind(demand.province().to_owned())
                .bind(demand.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(demand)
    }

    async fn demand(&self, id: Uuid) -> Result<Option<Demand>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEMAND_COLUMNS} FROM demands WHERE {}",
            *DEMAND_BY_ID
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.map(|r| demand_from_row(&r).map(|x| x.0)).transpose()
    }

    async fn demands(&self, f: &DemandFilter) -> Result<Page<Demand>> {
        let mut sql = format!("SELECT {DEMAND_COLUMNS} FROM demands d WHERE 1 = 1");
        let mut args = sqlx::sqlite::SqliteArguments::default();
        use sqlx::Arguments;
        let add = |args: &mut sqlx::sqlite::SqliteArguments, v: ArgValue| match v {
            ArgValue::Text(s) => args.add(s).map_err(|e| StoreError::Database(e.to_string())),
            ArgValue::Int(i) => args.add(i).map_err(|e| StoreError::Database(e.to_string())),
            ArgValue::Id(u) => args.add(u).map_err(|e| StoreError::Database(e.to_string())),
            ArgValue::Time(t) => args.add(t).map_err(|e| StoreError::Database(e.to_string())),
        };
        if let Some(unit) = &f.unit {
            let (lo, hi) = unit.descendant_range();
            sql.push_str(" AND d.province = ? AND (d.id IN (SELECT demand_id FROM demand_targets WHERE province = ? AND unit >= ? AND unit < ?)");
            add(&mut args, ArgValue::Text(unit.province().to_owned()))?;
            add(&mut args, ArgValue::Text(unit.province().to_owned()))?;
            add(&mut args, ArgValue::Text(lo))?;
            add(&mut args, ArgValue::Text(hi))?;
            let ancestors: Vec<UnitCode> = unit.lineage().into_iter().filter(|a| a != unit).collect();
            if f.include_cascade && !ancestors.is_empty() {
                sql.push_str(" OR (d.kind = 'meeting' AND (d.attend_levels & ?) != 0 AND d.id IN (SELECT demand_id FROM demand_targets WHERE province = ? AND unit IN (");
                add(&mut args, ArgValue::Int(levels_at_or_below(unit.level())))?;
                add(&mut args, ArgValue::Text(unit.province().to_owned()))?;
                for (i, a) in ancestors.iter().enumerate() {
                    sql.push_str(if i == 0 { "?" } else { ",?" });
                    add(&mut args, ArgValue::Text(a.as_str().to_owned()))?;
                }
                sql.push_str(")))");
            }
            sql.push(')');
        }
        if let Some(body) = f.body {
            // A body's demands are in its own province (checked on every write): its run of
            // `demands_start` is read in time order, so a page stops at its limit.
            sql.push_str(
                " AND d.province = (SELECT province FROM bodies WHERE id = ?) \
                 AND (d.source_body = ? OR d.source_department = ?)",
            );
            add(&mut args, ArgValue::Id(body))?;
            add(&mut args, ArgValue::Id(body))?;
            add(&mut args, ArgValue::Id(body))?;
        }
        if let Some(kind) = f.kind {
            sql.push_str(" AND d.kind = ?");
            add(&mut args, ArgValue::Text(kind.as_str().to_owned()))?;
        }
        if let Some(status) = f.status {
            sql.push_str(" AND d.status = ?");
            add(&mut args, ArgValue::Text(status.as_str().to_owned()))?;
        }
        if let Some(from) = f.from {
            sql.push_str(" AND d.ends_at >= ?");
            add(&mut args, ArgValue::Time(from))?;
        }
        if let Some(to) = f.to {
            sql.push_str(" AND d.starts_at < ?");
            add(&mut args, ArgValue::Time(to))?;
        }
        if let Some((t, id)) = f.after {
            sql.push_str(" AND (d.starts_at > ? OR (d.starts_at = ? AND d.id > ?))");
            add(&mut args, ArgValue::Time(t))?;
            add(&mut args, ArgValue::Time(t))?;
            add(&mut args, ArgValue::Id(id))?;
        }
        let size = f.page_size();
        sql.push_str(" ORDER BY d.starts_at, d.id LIMIT ?");
        add(&mut args, ArgValue::Int(size as i64 + 1))?;
        let rows = sqlx::query_with(AssertSqlSafe(sql), args).fetch_all(&self.read).await.map_err(db)?;
        let mut items = rows.iter().map(|r| demand_from_row(r).map(|x| x.0)).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > size as usize {
            items.truncate(size as usize);
            items.last().map(|d| (d.starts_at, d.id))
        } else {
            None
        };
        Ok(Page { items, next })
    }

    async fn demand_history(&self, id: Uuid) -> Result<Vec<DemandRevision>> {
        let Some(row) = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEMAND_COLUMNS} FROM demands WHERE {}",
            *DEMAND_BY_ID
        )))
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?
        else {
            return Ok(Vec::new());
        };
        let (current, at, actor, action) = demand_from_row(&row)?;
        let rows = sqlx::query_as::<_, (i64, String, String, String, String)>(
            "SELECT revision, at, actor, action, snapshot FROM demand_revisions WHERE province = ? AND demand_id = ? ORDER BY revision",
        )
        .bind(current.province().to_owned())
        .bind(id)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len() + 1);
        for (revision, at, actor, action, snapshot) in rows {
            out.push(DemandRevision {
                demand_id: id,
                revision: revision as u32,
                at: rows::parse_time(&at)?,
                actor,
                action,
                demand: serde_json::from_str(&snapshot).map_err(|e| StoreError::Database(e.to_string()))?,
            });
        }
        out.push(DemandRevision {
            demand_id: id,
            revision: current.revision,
            at,
            actor,
            action,
            demand: current,
        });
        Ok(out)
    }

    async fn user(&self, id: Uuid) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, username, display_name, role, scope, body, password_hash FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, username, display_name, role, scope, body, password_hash FROM users WHERE username = ?")
            .bind(username.to_owned())
            .fetch_optional(&self.read)
            .await
            .map_err(db)?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn put_user(&self, user: &User) -> Result<()> {
        user.validate()?;
        let mut tx = self.begin().await?;
        insert_users(&mut tx, std::slice::from_ref(user)).await?;
        tx.commit().await.map_err(db)
    }

    async fn put_session(&self, s: &Session) -> Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES (?, ?, ?)")
            .bind(s.token_hash.clone())
            .bind(s.user_id)
            .bind(s.expires_at.to_rfc3339())
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = sqlx::query_as::<_, (String, Uuid, String)>(
            "SELECT token_hash, user_id, expires_at FROM sessions WHERE token_hash = ?",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        let Some((token_hash, user_id, expires)) = row else {
            return Ok(None);
        };
        let expires_at = rows::parse_time(&expires)?;
        Ok((expires_at > now).then_some(Session { token_hash, user_id, expires_at }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = ?")
            .bind(token_hash.to_owned())
            .execute(&self.write)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn import(&self, batch: ImportBatch, progress: Option<&Progress>) -> Result<ImportCounts> {
        let checking = std::time::Instant::now();
        // The order the demands will go in is worked out on another core while the checks
        // run: it reads every demand's province, two pointers away, and the inserts would
        // otherwise wait for it.
        let batch = Arc::new(batch);
        let ordering = {
            let batch = batch.clone();
            tokio::task::spawn_blocking(move || bulk::insertion_order(&batch.demands))
        };
        let checks = checks::prepare(self, &batch).await?;
        if !checks.rest_is_valid() {
            // Nothing to write: every problem, the demands' too, at once.
            return checks.verdict(&batch.demands, checks::threads()).map(|()| ImportCounts::default());
        }
        tracing::debug!(
            phase = "checks of units, bodies and users",
            secs = checking.elapsed().as_secs_f64(),
            "import phase"
        );
        let total = (batch.units.len() + batch.bodies.len() + batch.demands.len() + batch.users.len()) as u64;
        let counts = ImportCounts {
            units: batch.units.len() as u64,
            bodies: batch.bodies.len() as u64,
            demands: batch.demands.len() as u64,
            users: batch.users.len() as u64,
        };
        // The store's one writer connection, held (idle) until the import's own
        // connection has committed or rolled back, so nothing else here writes meanwhile.
        let writer = self.write.acquire().await.map_err(db)?;
        let location = self.location.clone();
        let now = Utc::now().to_rfc3339();
        let order =
            ordering.await.map_err(|e| StoreError::Database(format!("ordering the demands failed: {e}")))?;
        let (sent, mut received) = tokio::sync::mpsc::unbounded_channel();
        // Dropping this future (a client gone) must not leave a half-done import running
        // to its commit: the guard tells the blocking task to roll back.
        let cancelled = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancelled.clone());
        // Seconds of synchronous SQLite work: on a blocking thread, not a runtime worker.
        let job = tokio::task::spawn_blocking(move || {
            let mut report = |n: u64| {
                sent.send(Report::Progress(n)).ok();
            };
            // The demands are checked on another core while they are written; the write is
            // rolled back when the checks fail.
            let plan = bulk::Plan {
                order,
                verify: &|demands: &[Demand]| checks.verdict(demands, 1),
                department: &|body: &Uuid| checks.department_of(body),
            };
            let (result, conn) = match bulk::import(&location, &batch, &now, &mut report, &cancelled, plan) {
                Ok(conn) => (Ok(()), Some(conn)),
                Err(e) => (Err(e), None),
            };
            drop(writer);
            sent.send(Report::Done(result)).ok();
            // Freeing a million demands and copying the WAL into the database take a while:
            // after the caller has its answer.
            drop(batch);
            if let Some(conn) = conn {
                bulk::checkpoint(conn);
            }
        });
        let mut done = 0u64;
        loop {
            match received.recv().await {
                Some(Report::Progress(n)) => {
                    done += n;
                    if let Some(p) = progress {
                        p(done, total);
                    }
                }
                Some(Report::Done(result)) => return result.map(|()| counts),
                // The task ended without a word: it panicked.
                None => {
                    let why = job.await.err().map_or_else(|| "no result".to_owned(), |e| e.to_string());
                    return Err(StoreError::Database(format!("import task failed: {why}")));
                }
            }
        }
    }

    async fn sql_month_rollup(&self, root: &UnitCode, year: i32) -> Result<Vec<MonthRollup>> {
        let Some(child_len) = root.level().below().map(|l| l.code_len() as i64) else {
            return Ok(Vec::new());
        };
        let (lo, hi) = root.descendant_range();
        let rows: Vec<(String, i64, i64, f64)> = sqlx::query_as(
            "SELECT substr(t.unit, 1, ?) AS child, CAST(strftime('%m', d.starts_at) AS INTEGER) AS month, \
             COUNT(*), TOTAL(d.cadre_hours) \
             FROM demand_targets t JOIN demands d ON d.province = t.province AND d.id = t.demand_id \
             WHERE t.province = ? AND t.unit >= ? AND t.unit < ? AND length(t.unit) >= ? \
             AND d.status != 'cancelled' AND d.starts_at >= ? AND d.starts_at < ? \
             GROUP BY child, month ORDER BY child, month",
        )
        .bind(child_len)
        .bind(root.province())
        .bind(lo)
        .bind(hi)
        .bind(child_len)
        .bind(format!("{year:04}-01-01"))
        .bind(format!("{:04}-01-01", year + 1))
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(child, month, demands, cadre_hours)| MonthRollup {
                child,
                month: month as u32,
                demands,
                cadre_hours,
            })
            .collect())
    }

    async fn counts(&self) -> Result<Counts> {
        let mut c = Counts::default();
        for (level, n) in sqlx::query_as::<_, (i64, i64)>("SELECT level, COUNT(*) FROM units GROUP BY level")
            .fetch_all(&self.read)
            .await
            .map_err(db)?
        {
            if (1..=5).contains(&level) {
                c.units_by_level[level as usize - 1] = n as u64;
            }
        }
        let one = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.read);
        c.bodies = one("SELECT COUNT(*) FROM bodies").await.map_err(db)? as u64;
        c.demands = one("SELECT COUNT(*) FROM demands").await.map_err(db)? as u64;
        c.users = one("SELECT COUNT(*) FROM users").await.map_err(db)? as u64;
        Ok(c)
    }

    async fn log_head(&self, log: &str) -> Result<Option<LogHead>> {
        let row = sqlx::query_as::<_, HeadRow>(
            "SELECT size, root, published, writer, heartbeat FROM log_heads WHERE log = ?",
        )
        .bind(log)
        .fetch_optional(&self.read)
        .await
        .map_err(db)?;
        row.map(head_from_row).transpose()
    }

    async fn log_claim(
        &self,
        log: &str,
        writer: Uuid,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<LogHead> {
        let mut tx = self.begin().await?;
        let row = sqlx::query_as::<_, HeadRow>(
            "SELECT size, root, published, writer, heartbeat FROM log_heads WHERE log = ?",
        )
        .bind(log)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let head = match row {
            None => {
                sqlx::query(
                    "INSERT INTO log_heads (log, size, root, published, writer, heartbeat) VALUES (?, 0, ?, 0, ?, ?)",
                )
                .bind(log)
                .bind(&EMPTY_ROOT[..])
                .bind(writer)
                .bind(now.to_rfc3339())
                .execute(&mut *tx)
                .await
                .map_err(db)?;
                LogHead {
                    size: 0,
                    root: EMPTY_ROOT,
                    published: 0,
                    writer: Some(writer),
                    heartbeat: Some(now),
                }
            }
            Some(row) => {
                let mut head = head_from_row(row)?;
                tongxin_store::log_lease_free(log, &head, writer, stale_before)?;
                sqlx::query("UPDATE log_heads SET writer = ?, heartbeat = ? WHERE log = ?")
                    .bind(writer)
                    .bind(now.to_rfc3339())
                    .bind(log)
                    .execute(&mut *tx)
                    .await
                    .map_err(db)?;
                head.writer = Some(writer);
                head.heartbeat = Some(now);
                head
            }
        };
        tx.commit().await.map_err(db)?;
        Ok(head)
    }

    async fn log_append(&self, batch: &LogBatch) -> Result<()> {
        static E: OnceLock<Vec<String>> = OnceLock::new();
        static H: OnceLock<Vec<String>> = OnceLock::new();
        let mut tx = self.begin().await?;
        let head = self.locked_head(&mut tx, &batch.log, batch.writer).await?;
        if head.size != batch.old_size {
            return Err(StoreError::Conflict(format!(
                "log {} is at size {}, not {}",
                batch.log, head.size, batch.old_size
            )));
        }
        for (n, chunk) in batch.entries.chunks(LOG_CHUNK).enumerate() {
            let sql = multi_insert(
                "INSERT OR FAIL INTO log_entries (log, idx, data)",
                3,
                chunk.len(),
                LOG_CHUNK,
                &E,
            );
            let mut q = sqlx::query(sql);
            for (i, e) in chunk.iter().enumerate() {
                let idx = batch.old_size + (n * LOG_CHUNK + i) as u64;
                q = q.bind(batch.log.as_str()).bind(idx as i64).bind(&e[..]);
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        for (n, chunk) in batch.hashes.chunks(LOG_CHUNK).enumerate() {
            let sql = multi_insert(
                "INSERT OR FAIL INTO log_hashes (log, idx, hash)",
                3,
                chunk.len(),
                LOG_CHUNK,
                &H,
            );
            let mut q = sqlx::query(sql);
            for (i, h) in chunk.iter().enumerate() {
                let idx = batch.first_hash + (n * LOG_CHUNK + i) as u64;
                q = q.bind(batch.log.as_str()).bind(idx as i64).bind(&h[..]);
            }
            q.execute(&mut *tx).await.map_err(db)?;
        }
        sqlx::query("UPDATE log_heads SET size = ?, root = ?, heartbeat = ? WHERE log = ?")
            .bind((batch.old_size + batch.entries.len() as u64) as i64)
            .bind(&batch.new_root[..])
            .bind(Utc::now().to_rfc3339())
            .bind(batch.log.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn log_publish(
        &self,
        log: &str,
        writer: Uuid,
        size: u64,
        note: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let head = self.locked_head(&mut tx, log, writer).await?;
        if head.size != size {
            return Err(StoreError::Conflict(format!("log {log} is at size {}, not {size}", head.size)));
        }
        sqlx::query(
            "INSERT INTO log_checkpoints (log, size, at, note) VALUES (?, ?, ?, ?) \
             ON CONFLICT (log, size) DO UPDATE SET note = excluded.note",
        )
        .bind(log)
        .bind(size as i64)
        .bind(at.to_rfc3339())
        .bind(note)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE log_heads SET published = ? WHERE log = ?")
            .bind(size as i64)
            .bind(log)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn log_hashes(&self, log: &str, indexes: &[u64]) -> Result<Vec<[u8; 32]>> {
        let mut found = std::collections::HashMap::with_capacity(indexes.len());
        for chunk in indexes.chunks(500) {
            let mut sql = String::from("SELECT idx, hash FROM log_hashes WHERE log = ? AND idx IN (");
            for i in 0..chunk.len() {
                sql.push_str(if i == 0 { "?" } else { ",?" });
            }
            sql.push(')');
            let mut q = sqlx::query_as::<_, (i64, Vec<u8>)>(AssertSqlSafe(sql)).bind(log);
            for i in chunk {
                q = q.bind(*i as i64);
            }
            for (idx, hash) in q.fetch_all(&self.read).await.map_err(db)? {
                found.insert(idx as u64, tongxin_store::codec::hash32(&hash)?);
            }
        }
        indexes
            .iter()
            .map(|i| found.get(i).copied().ok_or_else(|| StoreError::NotFound(format!("log {log} hash {i}"))))
            .collect()
    }

    async fn log_entries(&self, log: &str, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM log_entries WHERE log = ? AND idx >= ? AND idx < ? ORDER BY idx",
        )
        .bind(log)
        .bind(start as i64)
        .bind(end as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        if rows.len() as u64 != end.saturating_sub(start) {
            return Err(StoreError::NotFound(format!("log {log} entries {start}..{end}")));
        }
        Ok(rows)
    }

    async fn log_checkpoints(&self, log: &str, limit: u32) -> Result<Vec<PublishedCheckpoint>> {
        let rows = sqlx::query_as::<_, (i64, String, String)>(
            "SELECT size, at, note FROM log_checkpoints WHERE log = ? ORDER BY size DESC LIMIT ?",
        )
        .bind(log)
        .bind(limit as i64)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(size, at, note)| {
                Ok(PublishedCheckpoint { size: size as u64, at: rows::parse_time(&at)?, note })
            })
            .collect()
    }
}

/// What the import's blocking task tells the waiting `import`.
enum Report {
    Progress(u64),
    Done(Result<()>),
}

/// Sets the flag when dropped (see `import`).
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

enum ArgValue {
    Text(String),
    Int(i64),
    Id(Uuid),
    Time(chrono::NaiveDateTime),
}
