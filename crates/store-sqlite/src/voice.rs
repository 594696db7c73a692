//! The safe voice's storage on SQLite (see `tongxin_store::voice`). Writes go through the
//! single writer connection with `BEGIN IMMEDIATE`, so every check-then-write below is
//! atomic; unique keys refuse double spending and a second key or allowance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row};
use tongxin_domain::UnitCode;
use tongxin_store::voice::{
    DumpRow, Report, ReportColumns, VoiceEvent, VoiceFilter, VoiceKey, VoicePage, VoiceStore, bytes32,
    check_filing, check_update, micros, report_from_json, sortable_time,
};
use tongxin_store::{Result, StoreError};
use uuid::Uuid;

use crate::SqliteStore;
use crate::rows::{db, parse_time};

/// A unique violation as `Conflict` (saying `what`), anything else as a database error.
fn unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StoreError::Conflict(what()),
        _ => db(e),
    }
}

const KEY_COLUMNS: &str = "scope, period, token_key_id, spki, secret_pkcs8, not_before, not_after, log_index";

fn key_from_row(r: &SqliteRow) -> Result<VoiceKey> {
    let scope: String = r.try_get("scope").map_err(db)?;
    let token_key_id: Vec<u8> = r.try_get("token_key_id").map_err(db)?;
    Ok(VoiceKey {
        scope: UnitCode::parse(&scope)
            .map_err(|_| StoreError::Database(format!("corrupt scope {scope:?}")))?,
        period: r.try_get("period").map_err(db)?,
        token_key_id: bytes32(&token_key_id, "token_key_id")?,
        spki: r.try_get("spki").map_err(db)?,
        secret_pkcs8: r.try_get("secret_pkcs8").map_err(db)?,
        not_before: parse_time(&r.try_get::<String, _>("not_before").map_err(db)?)?,
        not_after: parse_time(&r.try_get::<String, _>("not_after").map_err(db)?)?,
        log_index: r.try_get::<Option<i64>, _>("log_index").map_err(db)?.map(|i| i as u64),
    })
}

fn event_from_row(r: &SqliteRow) -> Result<VoiceEvent> {
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

/// Every voice table as `json_object` of its columns, blobs in hex (the key's secret as
/// its length only).
const DUMPS: &[(&str, &str)] = &[
    (
        "voice_keys",
        "SELECT json_object('province', province, 'scope', scope, 'period', period, 'token_key_id', \
         hex(token_key_id), 'spki', hex(spki), 'secret_pkcs8_len', length(secret_pkcs8), 'not_before', \
         not_before, 'not_after', not_after, 'log_index', log_index) FROM voice_keys",
    ),
    (
        "voice_allowances",
        "SELECT json_object('province', province, 'scope', scope, 'period', period, 'user_id', hex(user_id), \
         'tokens', tokens, 'at', at) FROM voice_allowances",
    ),
    ("voice_spent", "SELECT json_object('province', province, 'nonce', hex(nonce)) FROM voice_spent"),
    (
        "voice_reports",
        "SELECT json_object('province', province, 'id', hex(id), 'scope', scope, 'addressed', hex(addressed), \
         'token', hex(token), 'user_id', hex(user_id), 'receipt', hex(receipt), 'state', state, 'escalation', \
         escalation, 'seq', seq, 'submitted_at', submitted_at, 'updated_at', updated_at, 'report', report) \
         FROM voice_reports",
    ),
    (
        "voice_events",
        "SELECT json_object('province', province, 'report_id', hex(report_id), 'seq', seq, 'opening', \
         hex(opening), 'entry', hex(entry), 'content', hex(content), 'log_index', log_index) FROM voice_events",
    ),
];

impl SqliteStore {
    async fn report_where(&self, clause: &str, bind: Vec<u8>) -> Result<Option<Report>> {
        let json: Option<String> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT report FROM voice_reports WHERE {clause}")))
                .bind(bind)
                .fetch_optional(&self.read)
                .await
                .map_err(db)?;
        json.as_deref().map(report_from_json).transpose()
    }
}

#[async_trait]
impl VoiceStore for SqliteStore {
    async fn voice_key_put(&self, k: &VoiceKey) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO voice_keys (province, scope, period, token_key_id, spki, secret_pkcs8, not_before, \
             not_after, log_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(k.scope.province())
        .bind(k.scope.as_str())
        .bind(k.period.as_str())
        .bind(&k.token_key_id[..])
        .bind(&k.spki[..])
        .bind(&k.secret_pkcs8[..])
        .bind(sortable_time(k.not_before))
        .bind(sortable_time(k.not_after))
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
            "SELECT {KEY_COLUMNS} FROM voice_keys WHERE (?1 IS NULL OR (province = substr(?1, 1, 2) AND scope = ?1)) \
             AND (?2 IS NULL OR period = ?2) ORDER BY scope, period"
        )))
        .bind(scope.map(|s| s.as_str()))
        .bind(period)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn voice_key_logged(&self, scope: &UnitCode, period: &str, log_index: u64) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE voice_keys SET log_index = ? WHERE province = ? AND scope = ? AND period = ?",
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
            "INSERT INTO voice_allowances (province, scope, period, user_id, tokens, at) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT DO NOTHING",
        )
        .bind(scope.province())
        .bind(scope.as_str())
        .bind(period)
        .bind(user)
        .bind(i64::from(tokens))
        .bind(sortable_time(at))
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
            sqlx::query("INSERT INTO voice_spent (province, nonce) VALUES (?, ?)")
                .bind(c.province.as_str())
                .bind(&nonce[..])
                .execute(&mut *tx)
                .await
                .map_err(|e| unique(e, || "this token was already spent".into()))?;
        }
        sqlx::query(
            "INSERT INTO voice_reports (province, id, scope, addressed, token, user_id, receipt, state, escalation, \
             seq, submitted_at, updated_at, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        .bind(sortable_time(c.submitted_at))
        .bind(sortable_time(c.updated_at))
        .bind(c.json.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| unique(e, || "a report with this id or receipt is already stored".into()))?;
        tx.commit().await.map_err(db)
    }

    async fn voice_report(&self, id: Uuid) -> Result<Option<Report>> {
        self.report_where("id = ?", id.as_bytes().to_vec()).await
    }

    async fn voice_report_by_receipt(&self, receipt: &[u8; 32]) -> Result<Option<Report>> {
        self.report_where("receipt = ?", receipt.to_vec()).await
    }

    async fn voice_update(&self, report: &Report, expected_seq: u32) -> Result<()> {
        report.validate()?;
        let c = ReportColumns::of(report)?;
        let mut tx = self.begin().await?;
        let stored: Option<String> =
            sqlx::query_scalar("SELECT report FROM voice_reports WHERE province = ? AND id = ?")
                .bind(c.province.as_str())
                .bind(report.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        let stored = stored.ok_or_else(|| StoreError::NotFound(format!("report {}", report.id)))?;
        check_update(&report_from_json(&stored)?, report, expected_seq)?;
        sqlx::query(
            "UPDATE voice_reports SET addressed = ?, state = ?, escalation = ?, seq = ?, updated_at = ?, report = ? \
             WHERE province = ? AND id = ? AND seq = ?",
        )
        .bind(c.addressed)
        .bind(c.state)
        .bind(c.escalation)
        .bind(c.seq)
        .bind(sortable_time(c.updated_at))
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
        let mut sql = String::from("SELECT report, submitted_at, id FROM voice_reports WHERE 1 = 1");
        enum Arg {
            Text(String),
            Id(Uuid),
        }
        let mut args = Vec::new();
        if !f.addressed.is_empty() || f.unaddressed {
            sql.push_str(" AND (");
            let mut first = true;
            for b in &f.addressed {
                sql.push_str(if first { "addressed = ?" } else { " OR addressed = ?" });
                first = false;
                args.push(Arg::Id(*b));
            }
            if f.unaddressed {
                sql.push_str(if first { "addressed IS NULL" } else { " OR addressed IS NULL" });
            }
            sql.push(')');
        }
        if let Some(s) = &f.scope {
            let (lo, hi) = s.descendant_range();
            sql.push_str(" AND province = ? AND scope >= ? AND scope < ?");
            args.extend([Arg::Text(s.province().to_owned()), Arg::Text(lo), Arg::Text(hi)]);
        }
        if let Some(st) = f.state {
            sql.push_str(" AND state = ?");
            args.push(Arg::Text(st.as_str().to_owned()));
        }
        if f.escalated_only {
            sql.push_str(" AND escalation > 0");
        }
        if let Some(u) = f.named_by {
            sql.push_str(" AND user_id = ?");
            args.push(Arg::Id(u));
        }
        if let Some(t) = f.submitted_from {
            sql.push_str(" AND submitted_at >= ?");
            args.push(Arg::Text(sortable_time(micros(t))));
        }
        if let Some(t) = f.submitted_before {
            sql.push_str(" AND submitted_at < ?");
            args.push(Arg::Text(sortable_time(micros(t))));
        }
        if let Some((t, id)) = f.after {
            sql.push_str(" AND (submitted_at > ? OR (submitted_at = ? AND id > ?))");
            let t = sortable_time(micros(t));
            args.extend([Arg::Text(t.clone()), Arg::Text(t), Arg::Id(id)]);
        }
        let limit = f.page_size();
        sql.push_str(&format!(" ORDER BY submitted_at, id LIMIT {}", limit + 1));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for a in args {
            q = match a {
                Arg::Text(s) => q.bind(s),
                Arg::Id(id) => q.bind(id),
            };
        }
        let rows = q.fetch_all(&self.read).await.map_err(db)?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut next = None;
        for r in rows.iter().take(limit as usize) {
            items.push(report_from_json(&r.try_get::<String, _>("report").map_err(db)?)?);
            if more {
                next = Some((
                    parse_time(&r.try_get::<String, _>("submitted_at").map_err(db)?)?,
                    r.try_get("id").map_err(db)?,
                ));
            }
        }
        Ok(VoicePage { items, next })
    }

    async fn voice_event_put(&self, scope: &UnitCode, e: &VoiceEvent) -> Result<()> {
        let mut tx = self.begin().await?;
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM voice_reports WHERE province = ? AND id = ?")
                .bind(scope.province())
                .bind(e.report)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!("report {}", e.report)));
        }
        sqlx::query(
            "INSERT INTO voice_events (province, report_id, seq, opening, entry, content, log_index) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
            "UPDATE voice_events SET log_index = ? WHERE province = ? AND report_id = ? AND seq = ?",
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
            "SELECT report_id, seq, opening, entry, content, log_index FROM voice_events WHERE report_id = ? ORDER BY seq",
        )
        .bind(report)
        .fetch_all(&self.read)
        .await
        .map_err(db)?;
        rows.iter().map(event_from_row).collect()
    }

    async fn voice_dump(&self) -> Result<Vec<DumpRow>> {
        let mut out = Vec::new();
        for (table, sql) in DUMPS {
            let rows: Vec<String> = sqlx::query_scalar(*sql).fetch_all(&self.read).await.map_err(db)?;
            out.extend(rows.into_iter().map(|row| DumpRow { table: (*table).to_owned(), row }));
        }
        Ok(out)
    }
}
