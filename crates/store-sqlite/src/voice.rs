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
        let id = report.id;
        self.grouped(|done| Op::File { c, id, nonce: spent_nonce, done }).await
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
        let (province, e) = (scope.province().to_owned(), e.clone());
        self.grouped(|done| Op::Event { province, e, done }).await
    }

    async fn voice_event_logged(
        &self,
        scope: &UnitCode,
        report: Uuid,
        seq: u32,
        log_index: u64,
    ) -> Result<()> {
        let province = scope.province().to_owned();
        self.grouped(|done| Op::Logged { province, report, seq, index: log_index, done }).await
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

// ---------------------------------------------------------------------------------------
// Group commit of the filing path

/// The most operations one group transaction takes. A report row binds 13 values, so a
/// group stays far below SQLite's 32,766 bound parameters.
const GROUP_MAX: usize = 256;

/// The filing path's writes (`voice_file`, `voice_event_put`, `voice_event_logged`) go
/// through one writer task that commits them in groups: it takes whatever is queued
/// (up to [`GROUP_MAX`]), writes each kind with one multi-row statement inside one
/// `BEGIN IMMEDIATE` transaction, commits, and only then answers each caller. So every
/// call still returns after its own write is committed, with the same answers as one
/// transaction per call (a spent nonce or a duplicate report is a `Conflict` for that
/// call alone, a missing report or event a `NotFound`), but a burst of filings costs a
/// few statements and one commit instead of three transactions each. Under no load a
/// group is one operation: no waiting for company.
#[derive(Default)]
pub(crate) struct WriterSlot(std::sync::Mutex<Option<tokio::sync::mpsc::UnboundedSender<Op>>>);

pub(crate) enum Op {
    File { c: ReportColumns, id: Uuid, nonce: Option<[u8; 32]>, done: Done },
    Event { province: String, e: VoiceEvent, done: Done },
    Logged { province: String, report: Uuid, seq: u32, index: u64, done: Done },
}

type Done = tokio::sync::oneshot::Sender<Result<()>>;

impl Op {
    fn done(self) -> Done {
        match self {
            Op::File { done, .. } | Op::Event { done, .. } | Op::Logged { done, .. } => done,
        }
    }
}

impl SqliteStore {
    /// Queues `op` (made with its answer channel) for the group writer and waits for its
    /// commit. Starts the writer on first use, and again if the runtime it ran on ended.
    async fn grouped(&self, op: impl FnOnce(Done) -> Op) -> Result<()> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let mut op = op(done);
        for _ in 0..2 {
            let sender = {
                let mut slot = self
                    .voice_writer
                    .0
                    .lock()
                    .map_err(|_| StoreError::Database("voice writer lock".into()))?;
                match slot.as_ref() {
                    Some(s) if !s.is_closed() => s.clone(),
                    _ => {
                        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
                        tokio::spawn(group_writer(self.write.clone(), rx));
                        *slot = Some(tx.clone());
                        tx
                    }
                }
            };
            match sender.send(op) {
                Ok(()) => {
                    return answer.await.map_err(|_| {
                        StoreError::Database("the voice writer stopped before committing".into())
                    })?;
                }
                Err(tokio::sync::mpsc::error::SendError(back)) => op = back,
            }
        }
        Err(StoreError::Database("the voice writer cannot be started".into()))
    }
}

async fn group_writer(pool: sqlx::SqlitePool, mut rx: tokio::sync::mpsc::UnboundedReceiver<Op>) {
    while let Some(first) = rx.recv().await {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(op) => group.push(op),
                Err(_) => break,
            }
        }
        run_group(&pool, group).await;
    }
}

/// One statement text per number of rows, built once: sqlx caches the prepared statement.
fn rows_sql(
    cache: &'static std::sync::OnceLock<Vec<String>>,
    head: &str,
    cols: usize,
    tail: &str,
    rows: usize,
) -> String {
    let all = cache.get_or_init(|| {
        (0..=GROUP_MAX)
            .map(|n| {
                let one = format!("({})", vec!["?"; cols].join(","));
                format!("{head} {} {tail}", vec![one.as_str(); n].join(","))
            })
            .collect()
    });
    all[rows].clone()
}

async fn run_group(pool: &sqlx::SqlitePool, group: Vec<Op>) {
    let mut outcomes: Vec<Result<()>> = group.iter().map(|_| Ok(())).collect();
    let result = async {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db)?;
        file_group(&mut tx, &group, &mut outcomes).await?;
        event_group(&mut tx, &group, &mut outcomes).await?;
        logged_group(&mut tx, &group, &mut outcomes).await?;
        tx.commit().await.map_err(db)
    }
    .await;
    for (op, outcome) in group.into_iter().zip(outcomes) {
        let answer = match &result {
            Ok(()) => outcome,
            Err(e) => Err(StoreError::Database(e.to_string())),
        };
        let _ = op.done().send(answer);
    }
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

/// Reports with their spent nonces: the nonces first (the ones already spent, or twice in
/// this group, are conflicts), then the reports of the calls still standing.
async fn file_group(tx: &mut Tx, group: &[Op], out: &mut [Result<()>]) -> Result<()> {
    static SPENT: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    static REPORTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let files: Vec<(usize, &ReportColumns, Uuid, Option<[u8; 32]>)> = group
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::File { c, id, nonce, .. } => Some((i, c, *id, *nonce)),
            _ => None,
        })
        .collect();
    if files.is_empty() {
        return Ok(());
    }
    let nonces: Vec<(usize, &str, [u8; 32])> =
        files.iter().filter_map(|(i, c, _, n)| n.map(|n| (*i, c.province.as_str(), n))).collect();
    if !nonces.is_empty() {
        let sql = rows_sql(
            &SPENT,
            "INSERT INTO voice_spent (province, nonce) VALUES",
            2,
            "ON CONFLICT DO NOTHING RETURNING province, nonce",
            nonces.len(),
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (_, province, nonce) in &nonces {
            q = q.bind(*province).bind(&nonce[..]);
        }
        let rows = q.fetch_all(&mut **tx).await.map_err(db)?;
        let mut inserted = std::collections::HashSet::new();
        for r in &rows {
            let p: String = r.try_get(0).map_err(db)?;
            let n: Vec<u8> = r.try_get(1).map_err(db)?;
            inserted.insert((p, n));
        }
        for (i, province, nonce) in &nonces {
            if !inserted.remove(&((*province).to_owned(), nonce.to_vec())) {
                out[*i] = Err(StoreError::Conflict("this token was already spent".into()));
            }
        }
    }
    let standing: Vec<&(usize, &ReportColumns, Uuid, Option<[u8; 32]>)> =
        files.iter().filter(|(i, ..)| out[*i].is_ok()).collect();
    if standing.is_empty() {
        return Ok(());
    }
    let sql = rows_sql(
        &REPORTS,
        "INSERT INTO voice_reports (province, id, scope, addressed, token, user_id, receipt, state, escalation, \
         seq, submitted_at, updated_at, report) VALUES",
        13,
        "ON CONFLICT DO NOTHING RETURNING province, id",
        standing.len(),
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (_, c, id, _) in &standing {
        q = q
            .bind(c.province.as_str())
            .bind(*id)
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
            .bind(c.json.as_str());
    }
    let rows = q.fetch_all(&mut **tx).await.map_err(db)?;
    let mut inserted = std::collections::HashSet::new();
    for r in &rows {
        let p: String = r.try_get(0).map_err(db)?;
        let id: Uuid = r.try_get(1).map_err(db)?;
        inserted.insert((p, id));
    }
    for (i, c, id, nonce) in standing {
        if !inserted.remove(&(c.province.clone(), *id)) {
            out[*i] = Err(StoreError::Conflict("a report with this id or receipt is already stored".into()));
            // Its token stays unspent, as if the call had never been made.
            if let Some(n) = nonce {
                sqlx::query("DELETE FROM voice_spent WHERE province = ? AND nonce = ?")
                    .bind(c.province.as_str())
                    .bind(&n[..])
                    .execute(&mut **tx)
                    .await
                    .map_err(db)?;
            }
        }
    }
    Ok(())
}

/// Events of reports that exist; a missing report is `NotFound`, a stored event `Conflict`.
async fn event_group(tx: &mut Tx, group: &[Op], out: &mut [Result<()>]) -> Result<()> {
    static EVENTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let events: Vec<(usize, &str, &VoiceEvent)> = group
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::Event { province, e, .. } => Some((i, province.as_str(), e)),
            _ => None,
        })
        .collect();
    if events.is_empty() {
        return Ok(());
    }
    let sql = rows_sql(
        &EVENTS,
        "INSERT INTO voice_events (province, report_id, seq, opening, entry, content, log_index) \
         SELECT column1, column2, column3, column4, column5, column6, column7 FROM (VALUES",
        7,
        ") AS v WHERE EXISTS (SELECT 1 FROM voice_reports r WHERE r.province = v.column1 AND r.id = v.column2) \
         ON CONFLICT DO NOTHING RETURNING province, report_id, seq",
        events.len(),
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (_, province, e) in &events {
        q = q
            .bind(*province)
            .bind(e.report)
            .bind(i64::from(e.seq))
            .bind(&e.opening[..])
            .bind(&e.entry[..])
            .bind(&e.content[..])
            .bind(e.log_index.map(|i| i as i64));
    }
    let rows = q.fetch_all(&mut **tx).await.map_err(db)?;
    let mut inserted = std::collections::HashSet::new();
    for r in &rows {
        let p: String = r.try_get(0).map_err(db)?;
        let id: Uuid = r.try_get(1).map_err(db)?;
        let seq: i64 = r.try_get(2).map_err(db)?;
        inserted.insert((p, id, seq));
    }
    for (i, province, e) in events {
        if inserted.remove(&(province.to_owned(), e.report, i64::from(e.seq))) {
            continue;
        }
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM voice_reports WHERE province = ? AND id = ?")
                .bind(province)
                .bind(e.report)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db)?;
        out[i] = Err(match found {
            None => StoreError::NotFound(format!("report {}", e.report)),
            Some(_) => {
                StoreError::Conflict(format!("event {} of report {} is already stored", e.seq, e.report))
            }
        });
    }
    Ok(())
}

/// Log indexes of stored events; a missing event is `NotFound`.
async fn logged_group(tx: &mut Tx, group: &[Op], out: &mut [Result<()>]) -> Result<()> {
    static LOGGED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let logged: Vec<(usize, &str, Uuid, u32, u64)> = group
        .iter()
        .enumerate()
        .filter_map(|(i, op)| match op {
            Op::Logged { province, report, seq, index, .. } => {
                Some((i, province.as_str(), *report, *seq, *index))
            }
            _ => None,
        })
        .collect();
    if logged.is_empty() {
        return Ok(());
    }
    let sql = rows_sql(
        &LOGGED,
        "UPDATE voice_events SET log_index = v.column4 FROM (VALUES",
        4,
        ") AS v WHERE voice_events.province = v.column1 AND voice_events.report_id = v.column2 \
         AND voice_events.seq = v.column3 RETURNING province, report_id, seq",
        logged.len(),
    );
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for (_, province, report, seq, index) in &logged {
        q = q.bind(*province).bind(*report).bind(i64::from(*seq)).bind(*index as i64);
    }
    let rows = q.fetch_all(&mut **tx).await.map_err(db)?;
    let mut updated = std::collections::HashSet::new();
    for r in &rows {
        let p: String = r.try_get(0).map_err(db)?;
        let id: Uuid = r.try_get(1).map_err(db)?;
        let seq: i64 = r.try_get(2).map_err(db)?;
        updated.insert((p, id, seq));
    }
    for (i, province, report, seq, _) in logged {
        if !updated.contains(&(province.to_owned(), report, i64::from(seq))) {
            out[i] = Err(StoreError::NotFound(format!("event {seq} of report {report}")));
        }
    }
    Ok(())
}
