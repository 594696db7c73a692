//! The import transaction, written through rusqlite on a second connection to the same
//! database.
//!
//! Why a second driver: a million-demand import spent most of its time in sqlx's
//! per-value work (every bind an owned, boxed argument collected per statement, then
//! handed to SQLite one by one) and in the allocator behind it. A statement prepared
//! once and bound in place costs SQLite's own work and little else.
//! rusqlite 0.39 links the same `libsqlite3-sys` 0.37 as sqlx 0.9 (one SQLite in the
//! build; `cargo tree -i libsqlite3-sys` shows one version), and only its safe API is
//! used.
//!
//! The values bound are exactly those the sqlx path binds (the shared codec in
//! `tongxin_store::codec`; timestamps as sqlx spells a `NaiveDateTime`; ids as 16-byte
//! blobs; booleans as 0/1), so the stored bytes do not depend on which driver wrote
//! them. `tests/bulk.rs` checks this against the sqlx statements.
//!
//! The caller holds the store's single sqlx writer connection for as long as this runs,
//! so nothing else in the process writes meanwhile; other processes wait on the lock
//! (`BEGIN IMMEDIATE`, busy timeout) as they would for any writer.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, SyncSender};
use std::time::Duration;

use chrono::{Datelike, NaiveDateTime, Timelike};
use rusqlite::{Connection, OpenFlags, Statement, Transaction, TransactionBehavior};
use tongxin_domain::{Demand, Flag, Level, Unit};
use tongxin_store::codec::levels_to_bits;
use tongxin_store::{ImportBatch, Result, StoreError};
use uuid::Uuid;

/// Where the store's database lives, to open another connection to it.
#[derive(Debug, Clone)]
pub(crate) struct Location {
    /// The file, or sqlx's name of a shared-cache in-memory database.
    pub path: PathBuf,
    pub memory: bool,
}

/// Demands per progress report (and per check for cancellation).
const PROGRESS_EVERY: usize = 4_096;

/// Imports of at least this many demands may rebuild the demand indexes.
const BULK_REBUILD_MIN: usize = 10_000;

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// A connection set up as sqlx sets up the store's own (see `SqliteStore::open`).
fn connect(at: &Location) -> rusqlite::Result<Connection> {
    let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if at.memory {
        // sqlx names an in-memory database `file:sqlx-in-memory-N` and opens it with a
        // shared cache: the same name and flags reach the same database.
        flags |=
            OpenFlags::SQLITE_OPEN_MEMORY | OpenFlags::SQLITE_OPEN_SHARED_CACHE | OpenFlags::SQLITE_OPEN_URI;
    }
    let conn = Connection::open_with_flags(&at.path, flags)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    // The journal mode (WAL for files) is a property of the database and already set.
    // The rest as `SqliteStore::open` sets its own connections. (A 16 MiB or 512 MiB page
    // cache, and `temp_store = FILE` with `threads` for sorter helper threads in the index
    // builds, measured within the noise of this shared 2-core machine; the helpers only
    // compete with everything else for the same two cores.)
    //
    // No automatic checkpoint at this connection's commit: copying a large import from the
    // WAL into the database file is done by [`checkpoint`] once the caller has its answer
    // (the import is committed, in WAL mode with `synchronous = NORMAL` like every write of
    // the store, before that copy). A page cache of up to 1 GiB keeps a million-demand
    // import's pages in memory until the commit writes them once, instead of spilling them
    // to the WAL and reading them back.
    conn.execute_batch(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF; PRAGMA cache_size = -1048576; \
         PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 0;",
    )?;
    Ok(conn)
}

/// Copies what the import wrote from the WAL into the database file (a passive
/// checkpoint: it waits for no reader or writer), on the import's own connection after the
/// caller has its answer.
pub(crate) fn checkpoint(conn: Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE);") {
        tracing::warn!(error = %e, "checkpoint after an import failed; the next one will copy it");
    }
}

/// What an import needs besides the batch: the order the demands go in, and from the
/// store's checks their verdict and departments.
pub(crate) struct Plan<'a> {
    /// The demands' insertion order and province buckets, from [`insertion_order`].
    pub order: (Vec<u32>, Vec<u8>),
    /// Checks the demands: on a helper thread while they are written.
    pub verify: &'a (dyn Fn(&[Demand]) -> Result<()> + Sync),
    /// A source body's department, stored as the demand's `source_department`.
    pub department: &'a (dyn Fn(&Uuid) -> Option<Uuid> + Sync),
}

/// Writes the whole (already checked) batch in one `BEGIN IMMEDIATE` transaction: all
/// of it, or nothing when anything fails or `cancelled` is set. Returns the connection,
/// for [`checkpoint`].
pub(crate) fn import(
    at: &Location,
    batch: &ImportBatch,
    now: &str,
    progress: &mut dyn FnMut(u64),
    cancelled: &AtomicBool,
    plan: Plan<'_>,
) -> Result<Connection> {
    let Plan { order, verify, department } = plan;
    let mut conn = connect(at).map_err(db)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(db)?;
    let mut clock = std::time::Instant::now();
    // Each phase's wall time, for `TONGXIN_LOG=tongxin_store_sqlite=debug`.
    let mut phase = |name: &str| {
        tracing::debug!(phase = name, secs = clock.elapsed().as_secs_f64(), "import phase");
        clock = std::time::Instant::now();
    };
    insert_units(&tx, &batch.units, progress)?;
    insert_bodies(&tx, &batch.bodies)?;
    progress(batch.bodies.len() as u64);
    phase("units and bodies");
    let rebuild = batch.demands.len() >= BULK_REBUILD_MIN && {
        let stored: i64 = tx.query_row("SELECT COUNT(*) FROM demands", [], |r| r.get(0)).map_err(db)?;
        batch.demands.len() * 3 >= stored as usize
    };
    // A large import into a comparatively small ledger: drop the secondary indexes,
    // insert, and build them again by sorting, which is several times cheaper than
    // maintaining them row by row. Inside the transaction, so it is all or nothing.
    let dropped = if rebuild { drop_demand_indexes(&tx)? } else { Vec::new() };
    // SQLite writes on this core. Meanwhile one helper gathers the demand rows, in the
    // order they go in, into compact chunks this thread reads in sequence ([`gather`]),
    // and another puts the target rows in order and then checks the demands (`verify`).
    // A failed check stops the inserts and its problems are the answer, nothing written.
    let invalid = AtomicBool::new(false);
    let stop = || cancelled.load(Ordering::Relaxed) || invalid.load(Ordering::Relaxed);
    let targets = std::thread::scope(|scope| {
        let checker = scope.spawn(|| {
            let rows = target_rows(&batch.demands);
            let verdict = verify(&batch.demands);
            invalid.store(verdict.is_err(), Ordering::Relaxed);
            (rows, verdict)
        });
        let (full, filled) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        let (empty, emptied) = std::sync::mpsc::channel();
        let gatherer = scope.spawn(|| gather(&batch.demands, order, department, full, emptied, &stop));
        let inserted = insert_demands(&tx, filled, empty, &batch.actor, now, progress);
        let failed = |what: &str| StoreError::Database(format!("{what} failed; nothing was written"));
        let (rows, verdict) = checker.join().map_err(|_| failed("checking the demands"))?;
        verdict?;
        gatherer.join().map_err(|_| failed("reading the demands"))?;
        if cancelled.load(Ordering::Relaxed) {
            return Err(cancelled_error());
        }
        // The gatherer stops early only when told to (above); anything else that ended
        // its chunks early must not commit a part of the batch.
        if inserted? != batch.demands.len() {
            return Err(failed("reading the demands"));
        }
        Ok(rows)
    })?;
    phase("demand inserts and checks");
    insert_targets(&tx, targets).map_err(db)?;
    phase("target inserts");
    for create in dropped {
        tx.execute_batch(&create).map_err(db)?;
    }
    phase("index builds");
    insert_users(&tx, &batch.users)?;
    progress(batch.users.len() as u64);
    if cancelled.load(Ordering::Relaxed) {
        return Err(cancelled_error());
    }
    tx.commit().map_err(db)?;
    phase("commit");
    Ok(conn)
}

fn cancelled_error() -> StoreError {
    StoreError::Database("import cancelled; nothing was written".into())
}

/// The parent code of `u` as a slice of its own code (`Unit::parent` allocates).
fn parent_code(u: &Unit) -> Option<&str> {
    let up = Level::from_number(u.level().number().checked_sub(1)?)?;
    Some(&u.code.as_str()[..up.code_len()])
}

fn insert_units(tx: &Transaction<'_>, units: &[Unit], progress: &mut dyn FnMut(u64)) -> Result<()> {
    if units.is_empty() {
        return Ok(());
    }
    let mut q = tx
        .prepare(
            "INSERT INTO units (province, code, parent, level, name, cadres, cadres_estimated) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (province, code) DO UPDATE SET name = excluded.name, \
             cadres = CASE WHEN units.cadres_estimated = 0 AND excluded.cadres_estimated = 1 THEN units.cadres ELSE excluded.cadres END, \
             cadres_estimated = units.cadres_estimated AND excluded.cadres_estimated",
        )
        .map_err(db)?;
    for chunk in units.chunks(PROGRESS_EVERY) {
        for u in chunk {
            let run = |q: &mut Statement<'_>| {
                q.raw_bind_parameter(1, u.province())?;
                q.raw_bind_parameter(2, u.code.as_str())?;
                q.raw_bind_parameter(3, parent_code(u))?;
                q.raw_bind_parameter(4, u.level().number() as i64)?;
                q.raw_bind_parameter(5, u.name.as_str())?;
                q.raw_bind_parameter(6, u.cadres as i64)?;
                q.raw_bind_parameter(7, u.cadres_estimated)?;
                q.raw_execute()
            };
            run(&mut q).map_err(db)?;
        }
        progress(chunk.len() as u64);
    }
    Ok(())
}

fn insert_bodies(tx: &Transaction<'_>, bodies: &[tongxin_domain::Body]) -> Result<()> {
    if bodies.is_empty() {
        return Ok(());
    }
    let mut q = tx
        .prepare(
            "INSERT INTO bodies (province, id, unit, name, kind, parent) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(db)?;
    for b in bodies {
        let run = |q: &mut Statement<'_>| {
            q.raw_bind_parameter(1, b.province())?;
            q.raw_bind_parameter(2, &b.id.as_bytes()[..])?;
            q.raw_bind_parameter(3, b.unit.as_str())?;
            q.raw_bind_parameter(4, b.name.as_str())?;
            q.raw_bind_parameter(5, b.kind.as_str())?;
            q.raw_bind_parameter(6, b.parent.as_ref().map(|p| &p.as_bytes()[..]))?;
            q.raw_execute()
        };
        run(&mut q).map_err(db)?;
    }
    Ok(())
}

fn insert_users(tx: &Transaction<'_>, users: &[tongxin_domain::User]) -> Result<()> {
    if users.is_empty() {
        return Ok(());
    }
    let mut q = tx
        .prepare(
            "INSERT INTO users (province, id, username, display_name, role, scope, body, password_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (username) DO UPDATE SET display_name = excluded.display_name, role = excluded.role, \
             scope = excluded.scope, body = excluded.body, password_hash = excluded.password_hash",
        )
        .map_err(db)?;
    for u in users {
        let run = |q: &mut Statement<'_>| {
            q.raw_bind_parameter(1, u.province())?;
            q.raw_bind_parameter(2, &u.id.as_bytes()[..])?;
            q.raw_bind_parameter(3, u.username.as_str())?;
            q.raw_bind_parameter(4, u.display_name.as_str())?;
            q.raw_bind_parameter(5, u.role.as_str())?;
            q.raw_bind_parameter(6, u.scope.as_str())?;
            q.raw_bind_parameter(7, u.body.as_ref().map(|b| &b.as_bytes()[..]))?;
            q.raw_bind_parameter(8, u.password_hash.as_str())?;
            q.raw_execute()
        };
        run(&mut q).map_err(db)?;
    }
    Ok(())
}

/// Drops the secondary indexes of the demand tables and returns the statements that
/// create them again, as the schema itself holds them (so no definition is repeated here).
fn drop_demand_indexes(tx: &Transaction<'_>) -> Result<Vec<String>> {
    let indexes: Vec<(String, String)> = {
        let mut q = tx
            .prepare(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
                 AND tbl_name IN ('demands', 'demand_targets') ORDER BY name",
            )
            .map_err(db)?;
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(db)?
            .collect::<rusqlite::Result<_>>()
            .map_err(db)?
    };
    for (name, _) in &indexes {
        tx.execute_batch(&format!("DROP INDEX \"{name}\"")).map_err(db)?;
    }
    Ok(indexes.into_iter().map(|(_, sql)| sql).collect())
}

/// Chunks the gatherer may be ahead of the inserts.
const CHUNKS_AHEAD: usize = 4;

/// A byte range of [`Chunk::text`].
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Span(u32, u32);

/// One demand row as it is bound: numbers in place, texts as spans of its chunk's text.
#[derive(Clone, Copy, PartialEq)]
struct Row {
    province: Span,
    id: [u8; 16],
    kind: &'static str,
    source_body: [u8; 16],
    source_department: [u8; 16],
    title: Span,
    topic: Span,
    targets: Span,
    starts_at: Span,
    ends_at: Span,
    status: &'static str,
    origin: &'static str,
    fields: Span,
    last_action: &'static str,
    cadre_hours: f64,
    cadres_required: i64,
    host_person_days: f64,
    visitors: i64,
    forms: i64,
    attend_levels: i64,
    video: bool,
    indicators: i64,
    doc_chars: i64,
    speech_minutes: i64,
    flags: i64,
    revision: i64,
}

/// Up to [`PROGRESS_EVERY`] rows in insertion order, with their texts.
#[derive(Default)]
struct Chunk {
    rows: Vec<Row>,
    text: String,
}

impl Chunk {
    fn span(&self, s: Span) -> &str {
        &self.text[s.0 as usize..s.1 as usize]
    }

    /// `kept` (the previous row's span, when its value was the same: the inserts then
    /// bind nothing), else `value` appended.
    fn text(&mut self, kept: Option<Span>, value: &str) -> Span {
        kept.unwrap_or_else(|| {
            let start = self.text.len() as u32;
            self.text.push_str(value);
            Span(start, self.text.len() as u32)
        })
    }
}

/// Reads `demands` in insertion order (`order`, from [`insertion_order`]) into chunks for
/// [`insert_demands`], on a core of its own: the reads of a sorted batch jump around memory
/// (each demand and its strings), which on the inserting thread cost more than the sort
/// saved. Timestamps, the targets and fields texts and each demand's department (from its
/// source body, `department`) are worked out here too. Chunks come
/// back through `emptied` to be filled again. Stops early when `stop` says so or the
/// inserts have ended.
fn gather(
    demands: &[Demand],
    (order, buckets): (Vec<u32>, Vec<u8>),
    department: &dyn Fn(&Uuid) -> Option<Uuid>,
    full: SyncSender<Chunk>,
    emptied: Receiver<Chunk>,
    stop: &dyn Fn() -> bool,
) {
    let mut time = String::new();
    let mut list = String::new();
    let mut json = Vec::new();
    for part in order.chunks(PROGRESS_EVERY) {
        if stop() {
            return;
        }
        let mut chunk = emptied.try_recv().unwrap_or_default();
        chunk.rows.clear();
        chunk.text.clear();
        // The first row of a chunk is bound in full: spans index their own chunk's text.
        let mut prev: Option<(&Demand, Row)> = None;
        let mut last_bucket = u8::MAX;
        for &i in part {
            let d = &demands[i as usize];
            let c = &d.cost;
            // The previous row's span of a field, when `same` holds for the two demands.
            let kept = |same: &dyn Fn(&Demand) -> bool, span: fn(&Row) -> Span| {
                prev.filter(|(pd, _)| same(pd)).map(|(_, r)| span(&r))
            };
            let row = Row {
                province: chunk
                    .text(kept(&|_| buckets[i as usize] == last_bucket, |r| r.province), d.province()),
                id: *d.id.as_bytes(),
                kind: d.kind.as_str(),
                source_body: *d.source_body.as_bytes(),
                source_department: *department(&d.source_body).unwrap_or(d.source_department).as_bytes(),
                title: chunk.text(kept(&|pd| pd.title == d.title, |r| r.title), &d.title),
                topic: chunk.text(kept(&|pd| pd.topic == d.topic, |r| r.topic), &d.topic),
                targets: chunk
                    .text(kept(&|pd| pd.targets == d.targets, |r| r.targets), targets_text(d, &mut list)),
                starts_at: chunk.text(
                    kept(&|pd| pd.starts_at == d.starts_at, |r| r.starts_at),
                    sqlx_time(&d.starts_at, &mut time),
                ),
                ends_at: chunk.text(
                    kept(&|pd| pd.ends_at == d.ends_at, |r| r.ends_at),
                    sqlx_time(&d.ends_at, &mut time),
                ),
                status: d.status.as_str(),
                origin: d.origin.as_str(),
                fields: chunk.text(
                    kept(&|pd| pd.cost.fields == c.fields, |r| r.fields),
                    fields_text(&c.fields, &mut json),
                ),
                last_action: if d.revision == 1 { "created" } else { "updated" },
                cadre_hours: c.cadre_hours,
                cadres_required: c.cadres_required as i64,
                host_person_days: c.host_person_days,
                visitors: c.visitors as i64,
                forms: c.forms as i64,
                attend_levels: levels_to_bits(&c.attend_levels),
                video: c.video,
                indicators: c.indicators as i64,
                doc_chars: c.doc_chars as i64,
                speech_minutes: c.speech_minutes as i64,
                flags: Flag::to_bits(&c.flags) as i64,
                revision: d.revision as i64,
            };
            chunk.rows.push(row);
            prev = Some((d, row));
            last_bucket = buckets[i as usize];
        }
        if full.send(chunk).is_err() {
            return; // the inserts ended (failed)
        }
    }
}

/// Inserts the chunks [`gather`] fills until it has sent the last (their targets come
/// after, see [`insert_targets`]), hands each back through `empty`, and returns how many
/// rows went in.
///
/// A parameter keeps its value from the previous row until it is bound again, so only
/// values that differ from that row are bound: every bind costs a call, a text bind a copy
/// into memory SQLite allocates, and in an import most columns (province, bodies, topic,
/// status, the cost figures, …) repeat from one row to the next.
fn insert_demands(
    tx: &Transaction<'_>,
    filled: Receiver<Chunk>,
    empty: Sender<Chunk>,
    actor: &str,
    now: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<usize> {
    let rows = |n: usize| -> rusqlite::Result<Statement<'_>> {
        let mut q = tx.prepare(&insert_statement(DEMANDS_INTO, n, COLUMNS, 2))?;
        // Bindings survive a statement's reset: the values common to every row are bound
        // once.
        q.raw_bind_parameter(n * COLUMNS + 1, now)?;
        q.raw_bind_parameter(n * COLUMNS + 2, actor)?;
        Ok(q)
    };
    let (mut many, mut one) = (rows(ROWS_PER_INSERT).map_err(db)?, rows(1).map_err(db)?);
    let mut inserted = 0;
    for chunk in filled {
        // The first row of a chunk is bound in full: spans index their own chunk's text.
        let bind = |q: &mut Statement<'_>, at, r: &Row, prev: Option<&Row>| bind_row(q, at, &chunk, r, prev);
        insert_grouped((&mut many, ROWS_PER_INSERT), &mut one, COLUMNS, &chunk.rows, bind).map_err(db)?;
        inserted += chunk.rows.len();
        progress(chunk.rows.len() as u64);
        empty.send(chunk).ok();
    }
    Ok(inserted)
}

/// Rows per execution of the insert statement: one `sqlite3_step` and reset per eight rows
/// instead of per row. (A chunk holds a multiple of it; the last chunk's remainder goes in
/// one row at a time.)
const ROWS_PER_INSERT: usize = 8;

/// The parameters of one row; the statement's last two (`changed_at`, `changed_by`) are
/// shared by all its rows.
const COLUMNS: usize = 26;

const DEMANDS_INTO: &str = "demands (province, id, kind, source_body, source_department, title, topic, \
    targets, starts_at, ends_at, status, origin, cadre_hours, cadres_required, host_person_days, visitors, forms, \
    fields, attend_levels, video, indicators, doc_chars, speech_minutes, flags, revision, last_action, changed_at, \
    changed_by)";

/// `INSERT OR FAIL INTO {into} VALUES (…), (…)` of `rows` rows of `columns` parameters
/// each, then the `shared` parameters every row ends with. `OR FAIL` rather than the
/// default ABORT: SQLite then keeps no statement journal (a failure aborts the whole
/// import anyway).
fn insert_statement(into: &str, rows: usize, columns: usize, shared: usize) -> String {
    let mut sql = format!("INSERT OR FAIL INTO {into} VALUES ");
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        let params =
            (r * columns + 1..=(r + 1) * columns).chain(rows * columns + 1..=rows * columns + shared);
        for (i, n) in params.enumerate() {
            let _ = write!(sql, "{}?{n}", if i == 0 { "" } else { ", " });
        }
        sql.push(')');
    }
    sql
}

/// Executes `many` (a statement of `per` rows of `columns` parameters) for each whole group
/// of `rows` and `one` (a single row) for the rest. `bind(statement, at, row, prev)` binds
/// the parameters of `row` from `at` + 1 on; `prev` is the row they held before (the same
/// place in the group before), so that unchanged values need no bind.
fn insert_grouped<T>(
    (many, per): (&mut Statement<'_>, usize),
    one: &mut Statement<'_>,
    columns: usize,
    rows: &[T],
    mut bind: impl FnMut(&mut Statement<'_>, usize, &T, Option<&T>) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let groups = rows.chunks_exact(per);
    let rest = groups.remainder();
    for (g, group) in groups.enumerate() {
        for (k, r) in group.iter().enumerate() {
            bind(many, k * columns, r, g.checked_sub(1).map(|p| &rows[p * per + k]))?;
        }
        many.raw_execute()?;
    }
    for (k, r) in rest.iter().enumerate() {
        bind(one, 0, r, k.checked_sub(1).map(|p| &rest[p]))?;
        one.raw_execute()?;
    }
    Ok(())
}

/// Binds the parameters of row `r` (from `at` + 1 on), each only when it differs from
/// `prev`, the row they held before.
fn bind_row(
    q: &mut Statement<'_>,
    at: usize,
    chunk: &Chunk,
    r: &Row,
    prev: Option<&Row>,
) -> rusqlite::Result<()> {
    macro_rules! bind_changed {
        ($($n:literal $field:ident $value:expr;)*) => {$(
            if prev.is_none_or(|p| p.$field != r.$field) {
                q.raw_bind_parameter(at + $n, $value)?;
            }
        )*};
    }
    bind_changed! {
        1 province chunk.span(r.province);
        2 id &r.id[..];
        3 kind r.kind;
        4 source_body &r.source_body[..];
        5 source_department &r.source_department[..];
        6 title chunk.span(r.title);
        7 topic chunk.span(r.topic);
        8 targets chunk.span(r.targets);
        9 starts_at chunk.span(r.starts_at);
        10 ends_at chunk.span(r.ends_at);
        11 status r.status;
        12 origin r.origin;
        13 cadre_hours r.cadre_hours;
        14 cadres_required r.cadres_required;
        15 host_person_days r.host_person_days;
        16 visitors r.visitors;
        17 forms r.forms;
        18 fields chunk.span(r.fields);
        19 attend_levels r.attend_levels;
        20 video r.video;
        21 indicators r.indicators;
        22 doc_chars r.doc_chars;
        23 speech_minutes r.speech_minutes;
        24 flags r.flags;
        25 revision r.revision;
        26 last_action r.last_action;
    }
    Ok(())
}

/// The order to insert `demands` in (indexes into it) and each one's province bucket.
///
/// In (province, id) order every row lands at the end of the primary key's B-tree, where
/// SQLite appends without searching the tree, fills each page and starts a new one instead
/// of splitting pages all over it. The rows are put in that order by counting them into a
/// bucket per two-digit province code (a stable pass: a batch in id order, as UUIDv7 ids
/// usually are, stays so within each province) and sorting a bucket by id only when the
/// batch is not in id order already. An unparsable province (an invalid demand, which
/// fails the checks) goes to a last bucket.
pub(crate) fn insertion_order(demands: &[Demand]) -> (Vec<u32>, Vec<u8>) {
    const OTHER: usize = 100;
    let bucket = |d: &Demand| match d.province().as_bytes() {
        &[a @ b'0'..=b'9', b @ b'0'..=b'9'] => (a - b'0') * 10 + (b - b'0'),
        _ => OTHER as u8,
    };
    let buckets: Vec<u8> = demands.iter().map(bucket).collect();
    let mut starts = [0u32; OTHER + 2];
    for &b in &buckets {
        starts[b as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut order = vec![0u32; demands.len()];
    let mut next = starts;
    for (i, &b) in buckets.iter().enumerate() {
        order[next[b as usize] as usize] = i as u32;
        next[b as usize] += 1;
    }
    if !demands.is_sorted_by_key(|d| d.id) {
        for w in starts.windows(2) {
            order[w[0] as usize..w[1] as usize].sort_unstable_by_key(|&i| demands[i as usize].id);
        }
    }
    (order, buckets)
}

/// The target rows of `demands` in the order of the primary key of `demand_targets`
/// (province, unit, demand id).
fn target_rows(demands: &[Demand]) -> Vec<(&str, [u8; 16])> {
    let mut rows: Vec<(&str, [u8; 16])> =
        demands.iter().flat_map(|d| d.targets.iter().map(move |u| (u.as_str(), *d.id.as_bytes()))).collect();
    // Within a province the unit codes share its two-digit prefix, so (unit, id) order is
    // (province, unit, id) order.
    rows.sort_unstable();
    rows
}

/// Inserts target rows in the order of their primary key (see [`target_rows`]), so that
/// each is appended to the B-tree instead of splitting pages all over it; 32 rows per
/// statement, the province and unit bound only when they change.
fn insert_targets(tx: &Transaction<'_>, rows: Vec<(&str, [u8; 16])>) -> rusqlite::Result<()> {
    const PER: usize = 32;
    let into = "demand_targets (province, unit, demand_id)";
    let mut many = tx.prepare(&insert_statement(into, PER, 3, 0))?;
    let mut one = tx.prepare(&insert_statement(into, 1, 3, 0))?;
    let bind =
        |q: &mut Statement<'_>, at, &(unit, id): &(&str, [u8; 16]), prev: Option<&(&str, [u8; 16])>| {
            if prev.is_none_or(|p| p.0[..2] != unit[..2]) {
                q.raw_bind_parameter(at + 1, &unit[..2])?;
            }
            if prev.is_none_or(|p| p.0 != unit) {
                q.raw_bind_parameter(at + 2, unit)?;
            }
            q.raw_bind_parameter(at + 3, &id[..])
        };
    insert_grouped((&mut many, PER), &mut one, 3, &rows, bind)
}

/// `codec::targets_to_text` without its allocation: one target is its own code.
fn targets_text<'a>(d: &'a Demand, buf: &'a mut String) -> &'a str {
    match d.targets.as_slice() {
        [one] => one.as_str(),
        many => {
            buf.clear();
            for (i, t) in many.iter().enumerate() {
                if i > 0 {
                    buf.push(';');
                }
                buf.push_str(t.as_str());
            }
            buf
        }
    }
}

/// `codec::fields_to_text` (compact JSON) without its allocation.
fn fields_text<'a>(fields: &[String], buf: &'a mut Vec<u8>) -> &'a str {
    if fields.is_empty() {
        return "[]";
    }
    buf.clear();
    serde_json::to_writer(&mut *buf, fields).expect("strings serialise");
    std::str::from_utf8(buf).expect("JSON is UTF-8")
}

/// A `NaiveDateTime` spelled as sqlx's SQLite encoder spells it (`%F %T%.f`), written by
/// hand into a reused buffer: chrono's formatter took about 0.23 µs a value here, close to
/// half a second for the two timestamps of a million demands. Years outside 0..=9999 and
/// leap seconds take chrono's own path; the test below holds the two spellings equal.
fn sqlx_time<'a>(t: &NaiveDateTime, buf: &'a mut String) -> &'a str {
    buf.clear();
    let nanos = t.nanosecond();
    let year = t.year();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        write!(buf, "{}", t.format("%F %T%.f")).expect("write to String");
        return buf;
    }
    let two = |buf: &mut String, n: u32| {
        buf.push((b'0' + (n / 10) as u8) as char);
        buf.push((b'0' + (n % 10) as u8) as char);
    };
    let year = year as u32;
    two(buf, year / 100);
    two(buf, year % 100);
    buf.push('-');
    two(buf, t.month());
    buf.push('-');
    two(buf, t.day());
    buf.push(' ');
    two(buf, t.hour());
    buf.push(':');
    two(buf, t.minute());
    buf.push(':');
    two(buf, t.second());
    // `%.f`: nothing for whole seconds, else 3, 6 or 9 digits, the fewest that are exact.
    if nanos != 0 {
        if nanos.is_multiple_of(1_000_000) {
            write!(buf, ".{:03}", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            write!(buf, ".{:06}", nanos / 1_000)
        } else {
            write!(buf, ".{nanos:09}")
        }
        .expect("write to String");
    }
    buf
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveTime};

    use super::*;

    #[test]
    fn time_is_spelled_as_sqlx_spells_it() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        let mut buf = String::new();
        for (s, n) in [
            (0, 0),
            (5, 0),
            (59, 120_000_000),
            (1, 123_456_000),
            (7, 1),
            (59, 999_999_999),
            (59, 1_500_000_000),
        ] {
            let t = day.and_time(NaiveTime::from_hms_nano_opt(23, 9, s, n).unwrap());
            assert_eq!(sqlx_time(&t, &mut buf), t.format("%F %T%.f").to_string());
        }
        for y in [-1, 0, 9, 999, 9999, 10000] {
            let t = NaiveDate::from_ymd_opt(y, 1, 2).unwrap().and_hms_opt(0, 0, 0).unwrap();
            assert_eq!(sqlx_time(&t, &mut buf), t.format("%F %T%.f").to_string());
        }
    }

    #[test]
    fn rows_go_in_by_province_then_id() {
        let body = tongxin_domain::Body {
            id: uuid::Uuid::nil(),
            unit: tongxin_domain::UnitCode::parse("11").unwrap(),
            name: "部门".into(),
            kind: tongxin_domain::BodyKind::Department,
            parent: None,
        };
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap().and_hms_opt(9, 0, 0).unwrap();
        let demand = |province: &str, id: u128| {
            let targets: &[&str] = if province.is_empty() { &[] } else { &[province] };
            let d = tongxin_store_conformance::demand(
                tongxin_domain::DemandKind::Indicator,
                &body,
                targets,
                start,
            );
            Demand { id: uuid::Uuid::from_u128(id), ..d }
        };
        // In id order: each province keeps it (a stable pass); no province (an invalid
        // demand) goes last.
        let batch = [demand("35", 1), demand("11", 2), demand("", 3), demand("35", 4), demand("11", 5)];
        let (order, buckets) = insertion_order(&batch);
        assert_eq!(order, [1, 4, 0, 3, 2]);
        assert_eq!(buckets, [35, 11, 100, 35, 11]);
        // Out of id order: sorted by id within each province.
        let batch = [demand("35", 9), demand("11", 2), demand("35", 4), demand("11", 1), demand("65", 3)];
        let (order, _) = insertion_order(&batch);
        assert_eq!(order, [3, 1, 2, 0, 4]);
    }

    #[test]
    fn fields_are_spelled_as_the_codec_spells_them() {
        let mut buf = Vec::new();
        for f in [vec![], vec!["常住人口".to_string()], vec!["a\"b".into(), "\\\n".into()]] {
            assert_eq!(fields_text(&f, &mut buf), tongxin_store::codec::fields_to_text(&f));
        }
    }
}
