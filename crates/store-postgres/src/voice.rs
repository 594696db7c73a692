//! The safe voice's storage on PostgreSQL (see `tongxin_store::voice`). Unique keys refuse
//! double spending and a second key or allowance; an update locks its row (`FOR UPDATE`)
//! before comparing the seq.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Row};
use tongxin_domain::UnitCode;
use tongxin_store::voice::{
    DumpRow, Report, ReportColumns, VoiceEvent, VoiceFilter, VoiceKey, VoicePage, VoiceStore, bytes32,
    check_filing, check_update, micros, report_from_json,
};
use tongxin_store::{Result, StoreError};
use uuid::Uuid;

use crate::PgStore;
use crate::rows::db;

/// A unique violation as `Conflict` (saying `what`), anything else as a database error.
fn unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StoreError::Conflict(what()),
        _ => db(e),
    }
}

const KEY_COLUMNS: &str = "scope, period, token_key_id, spki, secret_pkcs8, not_before, not_after, log_index";

fn key_from_row(r: &PgRow) -> Result<VoiceKey> {
    let scope: String = r.try_get("scope").map_err(db)?;
    let token_key_id: Vec<u8> = r.try_get("token_key_id").map_err(db)?;
    Ok(VoiceKey {
        scope: UnitCode::parse(&scope)
            .map_err(|_| StoreError::Database(format!("corrupt scope {scope:?}")))?,
        period: r.try_get("period").map_err(db)?,
        token_key_id: bytes32(&token_key_id, "token_key_id")?,
        spki: r.try_get("spki").map_err(db)?,
        secret_pkcs8: r.try_get("secret_pkcs8").map_err(db)?,
        not_before: r.try_get("not_before").map_err(db)?,
        not_after: r.try_get("not_after").map_err(db)?,
        log_index: r.try_get::<Option<i64>, _>("log_index").map_err(db)?.map(|i| i as u64),
    })
}

fn event_from_row(r: &PgRow) -> Result<VoiceEvent> {
    let opening: Vec<u8> = r.try_get("opening").map_err(db)?;
    Ok(VoiceEvent {
        report: r.try_get("report_id").map_err(db)?,
        seq: r.try_get::<i64, _>("seq").map_err(db)? as u32,
        opening: bytes32(&opening, "opening")?,
        entry: r.try_get("entry").map_err(db)?,
        content: r.try_get("content").map_err(db)?,
        log_index: r.try_get::<Option<i64>, _>("log_index").map_err(db)?.map(|i| i as u64),
    })
}

/// Every voice table as a JSON object of its columns (`row_to_json`: bytea in `\\x` hex,
/// uuids hyphenated), the key's secret as its length only.
const DUMPS: &[(&str, &str)] = &[
    (
        "voice_keys",
        "SELECT row_to_json(t)::text FROM (SELECT province, scope, period, token_key_id, spki, \
         length(secret_pkcs8) AS secret_pkcs8_len, not_before, not_after, log_index FROM voice_keys) t",
    ),
    ("voice_allowances", "SELECT row_to_json(t)::text FROM voice_allowances t"),
    ("voice_spent", "SELECT row_to_json(t)::text FROM voice_spent t"),
    ("voice_reports", "SELECT row_to_json(t)::text FROM voice_reports t"),
    ("voice_events", "SELECT row_to_json(t)::text FROM voice_events t"),
];

enum Bind {
    Id(Uuid),
    Bytes(Vec<u8>),
}

impl PgStore {
    async fn report_where(&self, clause: &str, bind: Bind) -> Result<Option<Report>> {
        let q = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT report::text FROM voice_reports WHERE {clause}"
        )));
        let q = match bind {
            Bind::Id(id) => q.bind(id),
            Bind::Bytes(b) => q.bind(b),
        };
        let json: Option<String> = q.fetch_optional(&self.pool).await.map_err(db)?;
        json.as_deref().map(report_from_json).transpose()
    }
}

#[async_trait]
impl VoiceStore for PgStore {
    async fn voice_key_put(&self, k: &VoiceKey) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO voice_keys (province, scope, period, token_key_id, spki, secret_pkcs8, not_before, \
             not_after, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(k.scope.province())
        .bind(k.scope.as_str())
        .bind(k.period.as_str())
        .bind(&k.token_key_id[..])
        .bind(&k.spki[..])
        .bind(&k.secret_pkcs8[..])
        .bind(k.not_before)
        .bind(k.not_after)
        .bind(k.log_index.map(|i| i as i64))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique(e, || format!("a key for {} in {} is already stored", k.scope.as_str(), k.period))
        })?;
        tx.commit().await.map_err(db)
    }

    async fn voice_keys(&self, scope: Option<&UnitCode>, period: Option<&str>) -> Result<Vec<VoiceKey>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {KEY_COLUMNS} FROM voice_keys WHERE ($1::text IS NULL OR (province = substr($1, 1, 2) AND scope = $1)) \
             AND ($2::text IS NULL OR period = $2) ORDER BY scope COLLATE \"C\", period COLLATE \"C\""
        )))
        .bind(scope.map(|s| s.as_str()))
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn voice_key_logged(&self, scope: &UnitCode, period: &str, log_index: u64) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE voice_keys SET log_index = $1 WHERE province = $2 AND scope = $3 AND period = $4",
        )
        .bind(log_index as i64)
        .bind(scope.province())
        .bind(scope.as_str())
        .bind(period)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("voice key {} {period}", scope.as_str())));
        }
        tx.commit().await.map_err(db)
    }

    async fn voice_allowance_take(
        &self,
        user: Uuid,
        scope: &UnitCode,
        period: &str,
        tokens: u32,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "INSERT INTO voice_allowances (province, scope, period, user_id, tokens, at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT DO NOTHING",
        )
        .bind(scope.province())
        .bind(scope.as_str())
        .bind(period)
        .bind(user)
        .bind(i64::from(tokens))
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(n == 1)
    }

    async fn voice_file(&self, report: &Report, spent_nonce: Option<[u8; 32]>) -> Result<()> {
        check_filing(report, spent_nonce.as_ref())?;
        let c = ReportColumns::of(report)?;
        let mut tx = self.begin().await?;
        if let Some(nonce) = spent_nonce {
            sqlx::query("INSERT INTO voice_spent (province, nonce) VALUES ($1, $2)")
                .bind(c.province.as_str())
                .bind(&nonce[..])
                .execute(&mut *tx)
                .await
                .map_err(|e| unique(e, || "this token was already spent".into()))?;
        }
        sqlx::query(
            "INSERT INTO voice_reports (province, id, scope, addressed, token, user_id, receipt, state, escalation, \
             seq, submitted_at, updated_at, report) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13::jsonb)",
        )
        .bind(c.province.as_str())
        .bind(report.id)
        .bind(c.scope.as_str())
        .bind(c.addressed)
        .bind(c.token.as_deref())
        .bind(c.user)
        .bind(&c.receipt[..])
        .bind(c.state)
        .bind(c.escalation)
        .bind(c.seq)
        .bind(c.submitted_at)
        .bind(c.updated_at)
        .bind(c.json.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| unique(e, || "a report with this id or receipt is already stored".into()))?;
        tx.commit().await.map_err(db)
    }

    async fn voice_report(&self, id: Uuid) -> Result<Option<Report>> {
        self.report_where("id = $1", Bind::Id(id)).await
    }

    async fn voice_report_by_receipt(&self, receipt: &[u8; 32]) -> Result<Option<Report>> {
        self.report_where("receipt = $1", Bind::Bytes(receipt.to_vec())).await
    }

    async fn voice_update(&self, report: &Report, expected_seq: u32) -> Result<()> {
        report.validate()?;
        let c = ReportColumns::of(report)?;
        let mut tx = self.begin().await?;
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT report::text FROM voice_reports WHERE province = $1 AND id = $2 FOR UPDATE",
        )
        .bind(c.province.as_str())
        .bind(report.id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        let stored = stored.ok_or_else(|| StoreError::NotFound(format!("report {}", report.id)))?;
        check_update(&report_from_json(&stored)?, report, expected_seq)?;
        sqlx::query(
            "UPDATE voice_reports SET addressed = $1, state = $2, escalation = $3, seq = $4, updated_at = $5, \
             report = $6::jsonb WHERE province = $7 AND id = $8 AND seq = $9",
        )
        .bind(c.addressed)
        .bind(c.state)
        .bind(c.escalation)
        .bind(c.seq)
        .bind(c.updated_at)
        .bind(c.json.as_str())
        .bind(c.province.as_str())
        .bind(report.id)
        .bind(i64::from(expected_seq))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn voice_reports(&self, f: &VoiceFilter) -> Result<VoicePage> {
        let mut sql =
            String::from("SELECT report::text AS report, submitted_at, id FROM voice_reports WHERE true");
        enum Arg {
            Text(String),
            Id(Uuid),
            Time(DateTime<Utc>),
        }
        let mut args = Vec::new();
        if !f.addressed.is_empty() || f.unaddressed {
            sql.push_str(" AND (");
            let mut first = true;
            for b in &f.addressed {
                args.push(Arg::Id(*b));
                sql.push_str(&format!("{}addressed = ${}", if first { "" } else { " OR " }, args.len()));
                first = false;
            }
            if f.unaddressed {
                sql.push_str(if first { "addressed IS NULL" } else { " OR addressed IS NULL" });
            }
            sql.push(')');
        }
        if let Some(s) = &f.scope {
            let (lo, hi) = s.descendant_range();
            let n = args.len();
            sql.push_str(&format!(
                " AND province = ${} AND scope >= ${} AND scope < ${}",
                n + 1,
                n + 2,
                n + 3
            ));
            args.extend([Arg::Text(s.province().to_owned()), Arg::Text(lo), Arg::Text(hi)]);
        }
        if let Some(st) = f.state {
            args.push(Arg::Text(st.as_str().to_owned()));
            sql.push_str(&format!(" AND state = ${}", args.len()));
        }
        if f.escalated_only {
            sql.push_str(" AND escalation > 0");
        }
        if let Some(u) = f.named_by {
            args.push(Arg::Id(u));
            sql.push_str(&format!(" AND user_id = ${}", args.len()));
        }
        if let Some(t) = f.submitted_from {
            args.push(Arg::Time(micros(t)));
            sql.push_str(&format!(" AND submitted_at >= ${}", args.len()));
        }
        if let Some(t) = f.submitted_before {
            args.push(Arg::Time(micros(t)));
            sql.push_str(&format!(" AND submitted_at < ${}", args.len()));
        }
        if let Some((t, id)) = f.after {
            args.extend([Arg::Time(micros(t)), Arg::Id(id)]);
            let n = args.len();
            sql.push_str(&format!(" AND (submitted_at, id) > (${}, ${})", n - 1, n));
        }
        let limit = f.page_size();
        sql.push_str(&format!(" ORDER BY submitted_at, id LIMIT {}", limit + 1));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for a in args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Id(id) => q.bind(id),
                Arg::Time(t) => q.bind(t),
            };
        }
        let rows = q.fetch_all(&self.pool).await.map_err(db)?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut next = None;
        for r in rows.iter().take(limit as usize) {
            items.push(report_from_json(&r.try_get::<String, _>("report").map_err(db)?)?);
            if more {
                next = Some((r.try_get("submitted_at").map_err(db)?, r.try_get("id").map_err(db)?));
            }
        }
        Ok(VoicePage { items, next })
    }

    async fn voice_event_put(&self, scope: &UnitCode, e: &VoiceEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1::bigint FROM voice_reports WHERE province = $1 AND id = $2")
                .bind(scope.province())
                .bind(e.report)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!("report {}", e.report)));
        }
        sqlx::query(
            "INSERT INTO voice_events (province, report_id, seq, opening, entry, content, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(scope.province())
        .bind(e.report)
        .bind(i64::from(e.seq))
        .bind(&e.opening[..])
        .bind(&e.entry[..])
        .bind(&e.content[..])
        .bind(e.log_index.map(|i| i as i64))
        .execute(&mut *tx)
        .await
        .map_err(|err| unique(err, || format!("event {} of report {} is already stored", e.seq, e.report)))?;
        tx.commit().await.map_err(db)
    }

    async fn voice_event_logged(
        &self,
        scope: &UnitCode,
        report: Uuid,
        seq: u32,
        log_index: u64,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE voice_events SET log_index = $1 WHERE province = $2 AND report_id = $3 AND seq = $4",
        )
        .bind(log_index as i64)
        .bind(scope.province())
        .bind(report)
        .bind(i64::from(seq))
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!("event {seq} of report {report}")));
        }
        tx.commit().await.map_err(db)
    }

    async fn voice_events(&self, report: Uuid) -> Result<Vec<VoiceEvent>> {
        let rows = sqlx::query(
            "SELECT report_id, seq, opening, entry, content, log_index FROM voice_events WHERE report_id = $1 ORDER BY seq",
        )
        .bind(report)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn voice_dump(&self) -> Result<Vec<DumpRow>> {
        let mut out = Vec::new();
        for (table, sql) in DUMPS {
            let rows: Vec<String> = sqlx::query_scalar(*sql).fetch_all(&self.pool).await.map_err(db)?;
            out.extend(rows.into_iter().map(|row| DumpRow { table: (*table).to_owned(), row }));
        }
        Ok(out)
    }
}
