//! The production store: PostgreSQL (15+), same behaviour as the SQLite store, checked by
//! the same conformance suite. Bulk writes use `COPY … FROM STDIN`; everything else is
//! plain parameterised SQL. The schema is kept ready for Citus, distributed by province.

mod directives;
mod migrate;
pub use migrate::MIGRATIONS;
mod rows;
mod voice;

use std::collections::HashSet;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, PgPool, Postgres, Transaction};
use tongxin_domain::{Body, Demand, DemandStatus, Flag, Unit, UnitCode, User};
use tongxin_store::codec::{fields_to_text, levels_at_or_below, levels_to_bits, targets_to_text};
use tongxin_store::{
    Counts, DemandFilter, DemandRevision, ImportBatch, ImportCounts, LogBatch, LogHead, MonthRollup, Page,
    Progress, PublishedCheckpoint, Result, Session, Store, StoreError, checks,
};
use uuid::Uuid;

use rows::{DEMAND_COLUMNS, body_from_row, db, demand_from_row, unit_from_row, user_from_row};

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://…`) and applies pending migrations.
    pub async fn open(url: &str) -> Result<PgStore> {
        let opts = PgConnectOptions::from_str(url).map_err(db)?;
        PgStore::open_with(opts).await
    }

    /// Connects with explicit options (tests use them to pick a schema).
    pub async fn open_with(opts: PgConnectOptions) -> Result<PgStore> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await
            .map_err(db)?;
        migrate::run(&pool).await?;
        Ok(PgStore { pool })
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>> {
        self.pool.begin().await.map_err(db)
    }
}

/// The RFC 6962 root of the empty tree: SHA-256 of the empty string.
const EMPTY_ROOT: [u8; 32] = tongxin_store::codec::EMPTY_ROOT;

type HeadRow = (i64, Vec<u8>, i64, Option<Uuid>, Option<DateTime<Utc>>);

fn head_from_row((size, root, published, writer, heartbeat): HeadRow) -> Result<LogHead> {
    Ok(LogHead {
        size: size as u64,
        root: tongxin_store::codec::hash32(&root)?,
        published: published as u64,
        writer,
        heartbeat,
    })
}

/// The head of `log`, locked for this transaction, if `writer` holds its lease.
async fn locked_head(tx: &mut Transaction<'static, Postgres>, log: &str, writer: Uuid) -> Result<LogHead> {
    let row = sqlx::query_as::<_, HeadRow>(
        "SELECT size, root, published, writer, heartbeat FROM log_heads WHERE log = $1 FOR UPDATE",
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

const UNIT_COLUMNS: &str = "code, name, cadres, cadres_estimated";

/// Appends one CSV field (COPY's CSV format: quoted, quotes doubled; unquoted empty = NULL).
fn csv_text(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        if ch == '"' {
            out.push('"');
        }
        out.push(ch);
    }
    out.push('"');
}

async fn copy_in(
    tx: &mut Transaction<'static, Postgres>,
    statement: &'static str,
    data: String,
) -> Result<()> {
    let mut copy = tx.copy_in_raw(statement).await.map_err(db)?;
    copy.send(data.into_bytes()).await.map_err(db)?;
    copy.finish().await.map_err(db)?;
    Ok(())
}

async fn insert_units(
    tx: &mut Transaction<'static, Postgres>,
    units: &[Unit],
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<()> {
    // COPY into a temporary table, then one upsert: COPY itself cannot resolve conflicts.
    sqlx::query("CREATE TEMPORARY TABLE units_in (LIKE units) ON COMMIT DROP")
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    for chunk in units.chunks(50_000) {
        let mut data = String::with_capacity(chunk.len() * 64);
        for u in chunk {
            data.push_str(u.province());
            data.push(',');
            data.push_str(u.code.as_str());
            data.push(',');
            if let Some(p) = u.parent() {
                data.push_str(p.as_str());
            }
            let _ = write!(data, ",{},", u.level().number());
            csv_text(&mut data, &u.name);
            let _ = writeln!(data, ",{},{}", u.cadres, u.cadres_estimated);
        }
        copy_in(tx, "COPY units_in (province, code, parent, level, name, cadres, cadres_estimated) FROM STDIN WITH (FORMAT csv)", data)
            .await?;
        progress(chunk.len() as u64);
    }
    sqlx::query(
        "INSERT INTO units SELECT * FROM units_in ON CONFLICT (province, code) DO UPDATE SET name = excluded.name, \
         cadres = CASE WHEN NOT units.cadres_estimated AND excluded.cadres_estimated THEN units.cadres ELSE excluded.cadres END, \
         cadres_estimated = units.cadres_estimated AND excluded.cadres_estimated",
    )
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    sqlx::query("DROP TABLE units_in").execute(&mut **tx).await.map_err(db)?;
    Ok(())
}

async fn insert_bodies(tx: &mut Transaction<'static, Postgres>, bodies: &[Body]) -> Result<()> {
    for b in bodies {
        sqlx::query(
            "INSERT INTO bodies (province, id, unit, name, kind, parent) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(b.province())
        .bind(b.id)
        .bind(b.unit.as_str())
        .bind(&b.name)
        .bind(b.kind.as_str())
        .bind(b.parent)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

async fn insert_demands(
    tx: &mut Transaction<'static, Postgres>,
    demands: &[Demand],
    actor: &str,
    now: DateTime<Utc>,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<()> {
    let now = now.to_rfc3339();
    let mut actor_csv = String::new();
    csv_text(&mut actor_csv, actor);
    for chunk in demands.chunks(20_000) {
        let mut data = String::with_capacity(chunk.len() * 400);
        let mut targets = String::with_capacity(chunk.len() * 64);
        for d in chunk {
            let c = &d.cost;
            let _ = write!(
                data,
                "{},{},{},{},{},",
                d.province(),
                d.id,
                d.kind.as_str(),
                d.source_body,
                d.source_department
            );
            csv_text(&mut data, &d.title);
            data.push(',');
            csv_text(&mut data, &d.topic);
            let _ = write!(
                data,
                ",{},{},{},{},{},{},{},{},{},{},",
                targets_to_text(&d.targets),
                d.starts_at.format("%Y-%m-%d %H:%M:%S%.f"),
                d.ends_at.format("%Y-%m-%d %H:%M:%S%.f"),
                d.status.as_str(),
                d.origin.as_str(),
                c.cadre_hours,
                c.cadres_required,
                c.host_person_days,
                c.visitors,
                c.forms
            );
            csv_text(&mut data, &fields_to_text(&c.fields));
            let _ = writeln!(
                data,
                ",{},{},{},{},{},{},{},{},{},{}",
                levels_to_bits(&c.attend_levels),
                c.video,
                c.indicators,
                c.doc_chars,
                c.speech_minutes,
                Flag::to_bits(&c.flags),
                d.revision,
                now,
                actor_csv,
                if d.revision == 1 { "created" } else { "updated" }
            );
            for t in &d.targets {
                let _ = writeln!(targets, "{},{},{}", t.province(), d.id, t.as_str());
            }
        }
        copy_in(
            tx,
            "COPY demands (province, id, kind, source_body, source_department, title, topic, targets, starts_at, ends_at, \
             status, origin, cadre_hours, cadres_required, host_person_days, visitors, forms, fields, attend_levels, video, \
             indicators, doc_chars, speech_minutes, flags, revision, changed_at, changed_by, last_action) \
             FROM STDIN WITH (FORMAT csv)",
            data,
        )
        .await?;
        copy_in(tx, "COPY demand_targets (province, demand_id, unit) FROM STDIN WITH (FORMAT csv)", targets)
            .await?;
        progress(chunk.len() as u64);
    }
    Ok(())
}

async fn insert_users(tx: &mut Transaction<'static, Postgres>, users: &[User]) -> Result<()> {
    for u in users {
        sqlx::query(
            "INSERT INTO users (province, id, username, display_name, role, scope, body, password_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, \
             scope = excluded.scope, body = excluded.body, password_hash = excluded.password_hash",
        )
        .bind(u.province())
        .bind(u.id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(u.role.as_str())
        .bind(u.scope.as_str())
        .bind(u.body)
        .bind(&u.password_hash)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    }
    Ok(())
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn voice(&self) -> &dyn tongxin_store::VoiceStore {
        self
    }

    fn directives(&self) -> &dyn tongxin_store::DirectiveStore {
        self
    }

    async fn unit(&self, code: &UnitCode) -> Result<Option<Unit>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {UNIT_COLUMNS} FROM units WHERE province = $1 AND code = $2"
        )))
        .bind(code.province())
        .bind(code.as_str())
        .fetch_optional(&self.pool)
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
                .fetch_all(&self.pool)
                .await
            }
            Some(p) => {
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {UNIT_COLUMNS} FROM units WHERE province = $1 AND parent = $2 ORDER BY code"
                )))
                .bind(p.province())
                .bind(p.as_str())
                .fetch_all(&self.pool)
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
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {UNIT_COLUMNS} FROM units WHERE code >= $1 AND code < $2 ORDER BY level, code LIMIT $3"
            )))
            .bind(query)
            .bind(String::from_utf8(high).expect("ascii"))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
        } else {
            let pattern = format!("%{}%", query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            sqlx::query(AssertSqlSafe(format!(
                "SELECT {UNIT_COLUMNS} FROM units WHERE name LIKE $1 ESCAPE '\\' ORDER BY level, code LIMIT $2"
            )))
            .bind(pattern)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
        }
        .map_err(db)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn existing_units(&self, codes: &[UnitCode]) -> Result<HashSet<UnitCode>> {
        let mut found = HashSet::new();
        for chunk in codes.chunks(10_000) {
            let list: Vec<&str> = chunk.iter().map(|c| c.as_str()).collect();
            let rows: Vec<String> = sqlx::query_scalar("SELECT code FROM units WHERE code = ANY($1)")
                .bind(&list)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
            for code in rows {
                found.insert(UnitCode::parse(&code).map_err(tongxin_store::codec::corrupt)?);
            }
        }
        Ok(found)
    }

    async fn set_cadres(&self, code: &UnitCode, cadres: u32) -> Result<()> {
        let done = sqlx::query(
            "UPDATE units SET cadres = $1, cadres_estimated = false WHERE province = $2 AND code = $3",
        )
        .bind(cadres as i64)
        .bind(code.province())
        .bind(code.as_str())
        .execute(&self.pool)
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
                .fetch_all(&self.pool)
                .await,
            Some(r) => {
                let (lo, hi) = r.descendant_range();
                sqlx::query(AssertSqlSafe(format!(
                    "SELECT {UNIT_COLUMNS} FROM units WHERE province = $1 AND code >= $2 AND code < $3 ORDER BY code"
                )))
                .bind(r.province())
                .bind(lo)
                .bind(hi)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db)?;
        rows.iter().map(unit_from_row).collect()
    }

    async fn body(&self, id: Uuid) -> Result<Option<Body>> {
        let row = sqlx::query("SELECT id, unit, name, kind, parent FROM bodies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| body_from_row(&r)).transpose()
    }

    async fn bodies_by_id(&self, ids: &[Uuid]) -> Result<Vec<Body>> {
        let mut found = Vec::new();
        for chunk in ids.chunks(10_000) {
            let rows = sqlx::query("SELECT id, unit, name, kind, parent FROM bodies WHERE id = ANY($1)")
                .bind(chunk)
                .fetch_all(&self.pool)
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
            None => {
                sqlx::query("SELECT id, unit, name, kind, parent FROM bodies ORDER BY unit, name COLLATE \"C\"").fetch_all(&self.pool).await
            }
            Some(u) => {
                let (lo, hi) = u.descendant_range();
                sqlx::query(
                    "SELECT id, unit, name, kind, parent FROM bodies WHERE province = $1 AND unit >= $2 AND unit < $3 \
                     ORDER BY unit, name COLLATE \"C\"",
                )
                .bind(u.province())
                .bind(lo)
                .bind(hi)
                .fetch_all(&self.pool)
                .await
            }
        }
        .map_err(db)?;
        rows.iter().map(body_from_row).collect()
    }

    async fn divisions(&self, department: Uuid) -> Result<Vec<Body>> {
        let rows = sqlx::query(
            "SELECT id, unit, name, kind, parent FROM bodies WHERE parent = $1 ORDER BY name COLLATE \"C\"",
        )
        .bind(department)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(body_from_row).collect()
    }

    async fn create_demand(&self, demand: Demand, actor: &str) -> Result<Demand> {
        let mut demand = checks::prepare_demand(self, demand).await?;
        demand.revision = 1;
        let mut tx = self.begin().await?;
        insert_demands(&mut tx, std::slice::from_ref(&demand), actor, Utc::now(), &mut |_| {}).await?;
        tx.commit().await.map_err(db)?;
        Ok(demand)
    }

    async fn update_demand(&self, demand: Demand, expected_revision: u32, actor: &str) -> Result<Demand> {
        let mut demand = checks::prepare_demand(self, demand).await?;
        let mut tx = self.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {DEMAND_COLUMNS} FROM demands WHERE id = $1 FOR UPDATE"
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
            "INSERT INTO demand_revisions (province, demand_id, revision, at, actor, action, snapshot) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(old.province())
        .bind(old.id)
        .bind(old.revision as i64)
        .bind(at)
        .bind(by)
        .bind(action)
        .bind(serde_json::to_string(&old).map_err(|e| StoreError::Database(e.to_string()))?)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("DELETE FROM demands WHERE province = $1 AND id = $2")
            .bind(old.province())
            .bind(old.id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query("DELETE FROM demand_targets WHERE province = $1 AND demand_id = $2")
            .bind(old.province())
            .bind(old.id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        demand.revision = old.revision + 1;
        insert_demands(&mut tx, std::slice::from_ref(&demand), actor, Utc::now(), &mut |_| {}).await?;
        if demand.status == DemandStatus::Cancelled && old.status != demand.status {
            sqlx::query("UPDATE demands SET last_action = 'cancelled' WHERE province = $1 AND id = $2")
                .bind(demand.province())
                .bind(demand.id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)?;
        Ok(demand)
    }

    async fn demand(&self, id: Uuid) -> Result<Option<Demand>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {DEMAND_COLUMNS} FROM demands WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.map(|r| demand_from_row(&r).map(|x| x.0)).transpose()
    }

    async fn demands(&self, f: &DemandFilter) -> Result<Page<Demand>> {
        use sqlx::Arguments;
        let mut sql = format!("SELECT {DEMAND_COLUMNS} FROM demands d WHERE TRUE");
        let mut args = sqlx::postgres::PgArguments::default();
        let mut n = 0;
        // Adds one argument and returns its placeholder.
        let mut arg = |args: &mut sqlx::postgres::PgArguments, v: ArgValue| -> Result<String> {
            n += 1;
            match v {
                ArgValue::Text(s) => args.add(s),
                ArgValue::Int(i) => args.add(i),
                ArgValue::Id(u) => args.add(u),
                ArgValue::Time(t) => args.add(t),
                ArgValue::TextList(l) => args.add(l),
            }
            .map_err(|e| StoreError::Database(e.to_string()))?;
            Ok(format!("${n}"))
        };
        if let Some(unit) = &f.unit {
            let (lo, hi) = unit.descendant_range();
            let p = arg(&mut args, ArgValue::Text(unit.province().to_owned()))?;
            let lo = arg(&mut args, ArgValue::Text(lo))?;
            let hi = arg(&mut args, ArgValue::Text(hi))?;
            let _ = write!(
                sql,
                " AND d.province = {p} AND (d.id IN (SELECT demand_id FROM demand_targets WHERE province = {p} AND unit >= {lo} AND unit < {hi})"
            );
            let ancestors: Vec<String> =
                unit.lineage().into_iter().filter(|a| a != unit).map(String::from).collect();
            if f.include_cascade && !ancestors.is_empty() {
                let bits = arg(&mut args, ArgValue::Int(levels_at_or_below(unit.level())))?;
                let list = arg(&mut args, ArgValue::TextList(ancestors))?;
                let _ = write!(
                    sql,
                    " OR (d.kind = 'meeting' AND (d.attend_levels & {bits}) != 0 AND d.id IN \
                     (SELECT demand_id FROM demand_targets WHERE province = {p} AND unit = ANY({list})))"
                );
            }
            sql.push(')');
        }
        if let Some(body) = f.body {
            let b = arg(&mut args, ArgValue::Id(body))?;
            // A body's demands are in its own province (checked on every write): the
            // province lets the planner read that province's run of `demands_start`.
            let _ = write!(
                sql,
                " AND d.province = (SELECT province FROM bodies WHERE id = {b}) \
                 AND (d.source_body = {b} OR d.source_department = {b})"
            );
        }
        if let Some(kind) = f.kind {
            let k = arg(&mut args, ArgValue::Text(kind.as_str().to_owned()))?;
            let _ = write!(sql, " AND d.kind = {k}");
        }
        if let Some(status) = f.status {
            let s = arg(&mut args, ArgValue::Text(status.as_str().to_owned()))?;
            let _ = write!(sql, " AND d.status = {s}");
        }
        if let Some(from) = f.from {
            let t = arg(&mut args, ArgValue::Time(from))?;
            let _ = write!(sql, " AND d.ends_at >= {t}");
        }
        if let Some(to) = f.to {
            let t = arg(&mut args, ArgValue::Time(to))?;
            let _ = write!(sql, " AND d.starts_at < {t}");
        }
        if let Some((t, id)) = f.after {
            let t = arg(&mut args, ArgValue::Time(t))?;
            let id = arg(&mut args, ArgValue::Id(id))?;
            let _ = write!(sql, " AND (d.starts_at, d.id) > ({t}, {id})");
        }
        let size = f.page_size();
        let l = arg(&mut args, ArgValue::Int(size as i64 + 1))?;
        let _ = write!(sql, " ORDER BY d.starts_at, d.id LIMIT {l}");
        let rows = sqlx::query_with(AssertSqlSafe(sql), args).fetch_all(&self.pool).await.map_err(db)?;
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
        let Some(row) =
            sqlx::query(AssertSqlSafe(format!("SELECT {DEMAND_COLUMNS} FROM demands WHERE id = $1")))
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db)?
        else {
            return Ok(Vec::new());
        };
        let (current, at, actor, action) = demand_from_row(&row)?;
        let rows = sqlx::query_as::<_, (i64, DateTime<Utc>, String, String, String)>(
            "SELECT revision, at, actor, action, snapshot FROM demand_revisions WHERE province = $1 AND demand_id = $2 ORDER BY revision",
        )
        .bind(current.province())
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut out = Vec::with_capacity(rows.len() + 1);
        for (revision, at, actor, action, snapshot) in rows {
            out.push(DemandRevision {
                demand_id: id,
                revision: revision as u32,
                at,
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
            "SELECT id, username, display_name, role, scope, body, password_hash FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| user_from_row(&r)).transpose()
    }

    async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let row =
            sqlx::query("SELECT id, username, display_name, role, scope, body, password_hash FROM users WHERE username = $1")
                .bind(username)
                .fetch_optional(&self.pool)
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
        sqlx::query("INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
            .bind(&s.token_hash)
            .bind(s.user_id)
            .bind(s.expires_at)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        let row = sqlx::query_as::<_, (String, Uuid, DateTime<Utc>)>(
            "SELECT token_hash, user_id, expires_at FROM sessions WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        let Some((token_hash, user_id, expires_at)) = row else {
            return Ok(None);
        };
        Ok((expires_at > now).then_some(Session { token_hash, user_id, expires_at }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    async fn import(&self, mut batch: ImportBatch, progress: Option<&Progress>) -> Result<ImportCounts> {
        checks::prepare_batch(self, &mut batch).await?;
        let total = (batch.units.len() + batch.bodies.len() + batch.demands.len() + batch.users.len()) as u64;
        let mut done = 0u64;
        let mut tick = |n: u64| {
            done += n;
            if let Some(p) = progress {
                p(done, total);
            }
        };
        let mut tx = self.begin().await?;
        if !batch.units.is_empty() {
            insert_units(&mut tx, &batch.units, &mut tick).await?;
        }
        insert_bodies(&mut tx, &batch.bodies).await?;
        tick(batch.bodies.len() as u64);
        insert_demands(&mut tx, &batch.demands, &batch.actor, Utc::now(), &mut tick).await?;
        insert_users(&mut tx, &batch.users).await?;
        tick(batch.users.len() as u64);
        tx.commit().await.map_err(db)?;
        Ok(ImportCounts {
            units: batch.units.len() as u64,
            bodies: batch.bodies.len() as u64,
            demands: batch.demands.len() as u64,
            users: batch.users.len() as u64,
        })
    }

    async fn sql_month_rollup(&self, root: &UnitCode, year: i32) -> Result<Vec<MonthRollup>> {
        let Some(child_len) = root.level().below().map(|l| l.code_len() as i32) else {
            return Ok(Vec::new());
        };
        let (lo, hi) = root.descendant_range();
        let from = chrono::NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let to = chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
        let (Some(from), Some(to)) = (from, to) else { return Ok(Vec::new()) };
        let rows: Vec<(String, i32, i64, f64)> = sqlx::query_as(
            "SELECT substr(t.unit, 1, $1) AS child, extract(month FROM d.starts_at)::int AS month, \
             COUNT(*), COALESCE(SUM(d.cadre_hours), 0)::float8 \
             FROM demand_targets t JOIN demands d ON d.province = t.province AND d.id = t.demand_id \
             WHERE t.province = $2 AND t.unit >= $3 AND t.unit < $4 AND length(t.unit) >= $1 \
             AND d.status <> 'cancelled' AND d.starts_at >= $5 AND d.starts_at < $6 \
             GROUP BY child, month ORDER BY child, month",
        )
        .bind(child_len)
        .bind(root.province())
        .bind(lo)
        .bind(hi)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
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
        for (level, n) in
            sqlx::query_as::<_, (i64, i64)>("SELECT level::bigint, COUNT(*) FROM units GROUP BY level")
                .fetch_all(&self.pool)
                .await
                .map_err(db)?
        {
            if (1..=5).contains(&level) {
                c.units_by_level[level as usize - 1] = n as u64;
            }
        }
        let one = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&self.pool);
        c.bodies = one("SELECT COUNT(*) FROM bodies").await.map_err(db)? as u64;
        c.demands = one("SELECT COUNT(*) FROM demands").await.map_err(db)? as u64;
        c.users = one("SELECT COUNT(*) FROM users").await.map_err(db)? as u64;
        Ok(c)
    }

    async fn log_head(&self, log: &str) -> Result<Option<LogHead>> {
        let row = sqlx::query_as::<_, HeadRow>(
            "SELECT size, root, published, writer, heartbeat FROM log_heads WHERE log = $1",
        )
        .bind(log)
        .fetch_optional(&self.pool)
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
        // Create the head if missing, then lock it: concurrent claimers queue on the row.
        sqlx::query(
            "INSERT INTO log_heads (log, size, root, published, writer, heartbeat) VALUES ($1, 0, $2, 0, NULL, NULL) \
             ON CONFLICT (log) DO NOTHING",
        )
        .bind(log)
        .bind(&EMPTY_ROOT[..])
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let row = sqlx::query_as::<_, HeadRow>(
            "SELECT size, root, published, writer, heartbeat FROM log_heads WHERE log = $1 FOR UPDATE",
        )
        .bind(log)
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?;
        let mut head = head_from_row(row)?;
        tongxin_store::log_lease_free(log, &head, writer, stale_before)?;
        sqlx::query("UPDATE log_heads SET writer = $1, heartbeat = $2 WHERE log = $3")
            .bind(writer)
            .bind(now)
            .bind(log)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        head.writer = Some(writer);
        head.heartbeat = Some(now);
        tx.commit().await.map_err(db)?;
        Ok(head)
    }

    async fn log_append(&self, batch: &LogBatch) -> Result<()> {
        let mut tx = self.begin().await?;
        let head = locked_head(&mut tx, &batch.log, batch.writer).await?;
        if head.size != batch.old_size {
            return Err(StoreError::Conflict(format!(
                "log {} is at size {}, not {}",
                batch.log, head.size, batch.old_size
            )));
        }
        let idx: Vec<i64> = (0..batch.entries.len() as u64).map(|i| (batch.old_size + i) as i64).collect();
        sqlx::query(
            "INSERT INTO log_entries (log, idx, data) SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[])",
        )
        .bind(batch.log.as_str())
        .bind(&idx)
        .bind(&batch.entries)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let idx: Vec<i64> = (0..batch.hashes.len() as u64).map(|i| (batch.first_hash + i) as i64).collect();
        let hashes: Vec<&[u8]> = batch.hashes.iter().map(|h| &h[..]).collect();
        sqlx::query(
            "INSERT INTO log_hashes (log, idx, hash) SELECT $1, * FROM UNNEST($2::bigint[], $3::bytea[])",
        )
        .bind(batch.log.as_str())
        .bind(&idx)
        .bind(&hashes)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE log_heads SET size = $1, root = $2, heartbeat = now() WHERE log = $3")
            .bind((batch.old_size + batch.entries.len() as u64) as i64)
            .bind(&batch.new_root[..])
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
        let head = locked_head(&mut tx, log, writer).await?;
        if head.size != size {
            return Err(StoreError::Conflict(format!("log {log} is at size {}, not {size}", head.size)));
        }
        sqlx::query(
            "INSERT INTO log_checkpoints (log, size, at, note) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (log, size) DO UPDATE SET note = excluded.note",
        )
        .bind(log)
        .bind(size as i64)
        .bind(at)
        .bind(note)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE log_heads SET published = $1 WHERE log = $2")
            .bind(size as i64)
            .bind(log)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn log_hashes(&self, log: &str, indexes: &[u64]) -> Result<Vec<[u8; 32]>> {
        let wanted: Vec<i64> = indexes.iter().map(|i| *i as i64).collect();
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT idx, hash FROM log_hashes WHERE log = $1 AND idx = ANY($2)")
                .bind(log)
                .bind(&wanted)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for (idx, hash) in rows {
            found.insert(idx as u64, tongxin_store::codec::hash32(&hash)?);
        }
        indexes
            .iter()
            .map(|i| found.get(i).copied().ok_or_else(|| StoreError::NotFound(format!("log {log} hash {i}"))))
            .collect()
    }

    async fn log_entries(&self, log: &str, start: u64, end: u64) -> Result<Vec<Vec<u8>>> {
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT data FROM log_entries WHERE log = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(log)
        .bind(start as i64)
        .bind(end as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        if rows.len() as u64 != end.saturating_sub(start) {
            return Err(StoreError::NotFound(format!("log {log} entries {start}..{end}")));
        }
        Ok(rows)
    }

    async fn log_checkpoints(&self, log: &str, limit: u32) -> Result<Vec<PublishedCheckpoint>> {
        let rows = sqlx::query_as::<_, (i64, DateTime<Utc>, String)>(
            "SELECT size, at, note FROM log_checkpoints WHERE log = $1 ORDER BY size DESC LIMIT $2",
        )
        .bind(log)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(size, at, note)| PublishedCheckpoint { size: size as u64, at, note })
            .collect())
    }
}

enum ArgValue {
    Text(String),
    Int(i64),
    Id(Uuid),
    Time(chrono::NaiveDateTime),
    TextList(Vec<String>),
}
