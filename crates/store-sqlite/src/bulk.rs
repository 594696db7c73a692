//! The import transaction, written through rusqlite on a second connection to the same
//! database.
//!
//! Why a second driver: a million-demand import spent most of its time in sqlx's
//! per-value work (every bind an owned, boxed argument collected per statement, then
//! handed to SQLite one by one) and in the allocator behind it. A statement prepared
//! once and bound in place, row by row, costs SQLite's own work and little else.
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
use std::time::Duration;

use chrono::{Datelike, NaiveDateTime, Timelike};
use rusqlite::{Connection, OpenFlags, Statement, Transaction, TransactionBehavior};
use tongxin_domain::{Demand, Flag, Level, Unit};
use tongxin_store::codec::levels_to_bits;
use tongxin_store::{ImportBatch, Result, StoreError};

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

/// Writes the whole (already checked) batch in one `BEGIN IMMEDIATE` transaction: all
/// of it, or nothing when anything fails or `cancelled` is set. Returns the connection,
/// for [`checkpoint`].
pub(crate) fn import(
    at: &Location,
    batch: &ImportBatch,
    now: &str,
    progress: &mut dyn FnMut(u64),
    cancelled: &AtomicBool,
) -> Result<Connection> {
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
    // The target rows are put in order on another core while the demands go in (SQLite
    // writes on this one).
    let targets = std::thread::scope(|scope| {
        let rows = scope.spawn(|| target_rows(&batch.demands));
        let inserted = insert_demands(&tx, &batch.demands, &batch.actor, now, progress, cancelled);
        let rows = rows.join().map_err(|_| StoreError::Database("sorting the target rows failed".into()));
        inserted.and(rows)
    })?;
    phase("demand inserts");
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

/// Reused text buffers, so a row costs no allocation of ours.
#[derive(Default)]
struct Buffers {
    targets: String,
    fields: Vec<u8>,
    starts_at: String,
    ends_at: String,
}

fn insert_demands(
    tx: &Transaction<'_>,
    demands: &[Demand],
    actor: &str,
    now: &str,
    progress: &mut dyn FnMut(u64),
    cancelled: &AtomicBool,
) -> Result<()> {
    if demands.is_empty() {
        return Ok(());
    }
    // `INSERT OR FAIL` rather than the default ABORT: SQLite then keeps no statement
    // journal (a failure aborts the whole import anyway).
    let mut q = tx
        .prepare(
            "INSERT OR FAIL INTO demands (province, id, kind, source_body, source_department, title, topic, targets, \
             starts_at, ends_at, status, origin, cadre_hours, cadres_required, host_person_days, visitors, \
             forms, fields, attend_levels, video, indicators, doc_chars, speech_minutes, flags, revision, last_action, \
             changed_at, changed_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, \
             ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)",
        )
        .map_err(db)?;
    // Bindings survive a statement's reset: the values common to every row are bound once.
    q.raw_bind_parameter(27, now).map_err(db)?;
    q.raw_bind_parameter(28, actor).map_err(db)?;
    let order = insertion_order(demands);
    let mut buf = Buffers::default();
    let mut prev: Option<&Demand> = None;
    for chunk in order.chunks(PROGRESS_EVERY) {
        if cancelled.load(Ordering::Relaxed) {
            return Err(cancelled_error());
        }
        for &i in chunk {
            let d = &demands[i];
            insert_demand(&mut q, d, prev, &mut buf).map_err(db)?;
            prev = Some(d);
        }
        progress(chunk.len() as u64);
    }
    Ok(())
}

/// The order to insert `demands` in, as indexes into it.
///
/// In id order every row lands at the end of its province's run of the primary key
/// (province, id): a few pages are written in sequence instead of splitting pages all over
/// the B-tree. Ids are UUIDv7 (time-ordered), so a batch is usually in that order already
/// and is then left alone: a sort would make the reads of the batch jump around memory,
/// which cost more than it saved. Otherwise the rows are sorted by (province, id), with
/// the keys copied out first so that comparisons do not chase pointers into each demand.
fn insertion_order(demands: &[Demand]) -> Vec<usize> {
    if demands.is_sorted_by_key(|d| d.id) {
        return (0..demands.len()).collect();
    }
    let mut keyed: Vec<([u8; 2], u128, usize)> = demands
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let p = d.province().as_bytes();
            ([p.first().copied().unwrap_or(0), p.get(1).copied().unwrap_or(0)], d.id.as_u128(), i)
        })
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, i)| i).collect()
}

/// Whether `field` differs between the row bound last (`prev`) and `d`.
fn differs<T: PartialEq + ?Sized>(prev: Option<&Demand>, d: &Demand, field: impl Fn(&Demand) -> &T) -> bool {
    prev.is_none_or(|p| field(p) != field(d))
}

/// Inserts `d` (its targets come after, see [`insert_targets`]). A parameter keeps its value from the previous row
/// (`prev`) until it is bound again, so only values that differ from that row are bound:
/// every text bind is a copy into memory SQLite allocates, and in an import most columns
/// (province, bodies, topic, status, …) repeat from one row to the next.
fn insert_demand(
    q: &mut Statement<'_>,
    d: &Demand,
    prev: Option<&Demand>,
    buf: &mut Buffers,
) -> rusqlite::Result<()> {
    let c = &d.cost;
    let id = &d.id.as_bytes()[..];
    if differs(prev, d, Demand::province) {
        q.raw_bind_parameter(1, d.province())?;
    }
    q.raw_bind_parameter(2, id)?;
    if differs(prev, d, |d| &d.kind) {
        q.raw_bind_parameter(3, d.kind.as_str())?;
    }
    if differs(prev, d, |d| &d.source_body) {
        q.raw_bind_parameter(4, &d.source_body.as_bytes()[..])?;
    }
    if differs(prev, d, |d| &d.source_department) {
        q.raw_bind_parameter(5, &d.source_department.as_bytes()[..])?;
    }
    if differs(prev, d, |d| &d.title) {
        q.raw_bind_parameter(6, d.title.as_str())?;
    }
    if differs(prev, d, |d| &d.topic) {
        q.raw_bind_parameter(7, d.topic.as_str())?;
    }
    if differs(prev, d, |d| &d.targets) {
        q.raw_bind_parameter(8, targets_text(d, &mut buf.targets))?;
    }
    if differs(prev, d, |d| &d.starts_at) {
        q.raw_bind_parameter(9, sqlx_time(&d.starts_at, &mut buf.starts_at))?;
    }
    if differs(prev, d, |d| &d.ends_at) {
        q.raw_bind_parameter(10, sqlx_time(&d.ends_at, &mut buf.ends_at))?;
    }
    if differs(prev, d, |d| &d.status) {
        q.raw_bind_parameter(11, d.status.as_str())?;
    }
    if differs(prev, d, |d| &d.origin) {
        q.raw_bind_parameter(12, d.origin.as_str())?;
    }
    if differs(prev, d, |d| &d.cost.fields) {
        q.raw_bind_parameter(18, fields_text(&c.fields, &mut buf.fields))?;
    }
    if differs(prev, d, |d| &d.revision) {
        q.raw_bind_parameter(26, if d.revision == 1 { "created" } else { "updated" })?;
    }
    // Numbers are bound in place without allocating: always.
    q.raw_bind_parameter(13, c.cadre_hours)?;
    q.raw_bind_parameter(14, c.cadres_required as i64)?;
    q.raw_bind_parameter(15, c.host_person_days)?;
    q.raw_bind_parameter(16, c.visitors as i64)?;
    q.raw_bind_parameter(17, c.forms as i64)?;
    q.raw_bind_parameter(19, levels_to_bits(&c.attend_levels))?;
    q.raw_bind_parameter(20, c.video)?;
    q.raw_bind_parameter(21, c.indicators as i64)?;
    q.raw_bind_parameter(22, c.doc_chars as i64)?;
    q.raw_bind_parameter(23, c.speech_minutes as i64)?;
    q.raw_bind_parameter(24, Flag::to_bits(&c.flags) as i64)?;
    q.raw_bind_parameter(25, d.revision as i64)?;
    q.raw_execute().map(drop)
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
/// each lands at the end of the B-tree's run instead of splitting pages all over it. The
/// province and unit are bound only when they change.
fn insert_targets(tx: &Transaction<'_>, rows: Vec<(&str, [u8; 16])>) -> rusqlite::Result<()> {
    let mut t =
        tx.prepare("INSERT OR FAIL INTO demand_targets (province, unit, demand_id) VALUES (?1, ?2, ?3)")?;
    let mut last: Option<&str> = None;
    for (unit, id) in rows {
        if last != Some(unit) {
            if last.is_none_or(|l| l[..2] != unit[..2]) {
                t.raw_bind_parameter(1, &unit[..2])?;
            }
            t.raw_bind_parameter(2, unit)?;
            last = Some(unit);
        }
        t.raw_bind_parameter(3, &id[..])?;
        t.raw_execute()?;
    }
    Ok(())
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
    fn fields_are_spelled_as_the_codec_spells_them() {
        let mut buf = Vec::new();
        for f in [vec![], vec!["常住人口".to_string()], vec!["a\"b".into(), "\\\n".into()]] {
            assert_eq!(fields_text(&f, &mut buf), tongxin_store::codec::fields_to_text(&f));
        }
    }
}
