//! `tongxin bench …`: throughput figures printed for the closing notes of issues.
//!
//! `bench import` loads the whole national unit list and a generated year of demands
//! into a fresh SQLite file (and a fresh PostgreSQL schema when a server is reachable),
//! and prints rows per second for each.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Level, Unit, UnitCode,
};
use tongxin_store::{ImportBatch, Store};

pub async fn import(demands: usize, postgres: Option<String>, sqlite_only: bool) -> Result<()> {
    let started = Instant::now();
    let units = tongxin_divisions::load(None).context("cannot read the vendored division list")?;
    let read_secs = started.elapsed().as_secs_f64();
    println!("read and parsed {} national units from the vendored list in {read_secs:.2} s", units.len());
    let (bodies, generated) = generate(&units, demands);
    println!(
        "generated {} bodies and {} demands ({} target rows)",
        bodies.len(),
        generated.len(),
        generated.iter().map(|d| d.targets.len()).sum::<usize>()
    );
    println!();
    println!("{:<10} {:>10} {:>14} {:>12} {:>14}", "backend", "what", "rows", "seconds", "rows/s");

    let dir = std::env::temp_dir().join(format!("tongxin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bench.sqlite");
    let sqlite: Arc<dyn Store> = Arc::new(
        tongxin_store_sqlite::SqliteStore::open(
            path.to_str().ok_or_else(|| anyhow!("temp path is not UTF-8"))?,
        )
        .await
        .map_err(|e| anyhow!("{e}"))?,
    );
    run(sqlite.as_ref(), &units, &bodies, &generated).await?;
    drop(sqlite);
    std::fs::remove_dir_all(&dir).ok();

    let pg_url = postgres.or_else(pg_url_from_env);
    match (sqlite_only, pg_url) {
        (false, Some(url)) => {
            let pg =
                tongxin_store_postgres::PgStore::open(&url).await.map_err(|e| anyhow!("PostgreSQL: {e}"))?;
            run(&pg, &units, &bodies, &generated).await?;
        }
        _ => println!("(PostgreSQL skipped: pass --postgres URL or run under pg_virtualenv)"),
    }
    Ok(())
}

async fn run(store: &dyn Store, units: &[Unit], bodies: &[Body], demands: &[Demand]) -> Result<()> {
    let backend = store.backend();
    // Each batch is a copy (the same data goes to every backend), made before the clock
    // starts: copying a million demands is the benchmark's own work, not the import's.
    let batch = ImportBatch { units: units.to_vec(), actor: "bench".into(), ..Default::default() };
    let t = Instant::now();
    store.import(batch, None).await.map_err(|e| anyhow!("{e}"))?;
    report(backend, "units", units.len(), t.elapsed().as_secs_f64());
    store
        .import(ImportBatch { bodies: bodies.to_vec(), actor: "bench".into(), ..Default::default() }, None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    // One import of every demand: a national year loaded at once, all or nothing.
    let batch = ImportBatch { demands: demands.to_vec(), actor: "bench".into(), ..Default::default() };
    let t = Instant::now();
    store.import(batch, None).await.map_err(|e| anyhow!("{e}"))?;
    report(backend, "demands", demands.len(), t.elapsed().as_secs_f64());
    Ok(())
}

fn report(backend: &str, what: &str, rows: usize, secs: f64) {
    println!("{backend:<10} {what:>10} {rows:>14} {secs:>12.2} {:>14.0}", rows as f64 / secs);
}

/// A body per province and a year of single-target demands spread over counties and
/// townships, deterministic.
fn generate(units: &[Unit], n: usize) -> (Vec<Body>, Vec<Demand>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let bodies: Vec<Body> = units
        .iter()
        .filter(|u| u.level() == Level::Province)
        .map(|u| Body {
            id: tongxin_domain::new_id(),
            unit: u.code.clone(),
            name: format!("{}农业农村厅", u.name),
            kind: BodyKind::Department,
            parent: None,
        })
        .collect();
    let targets: Vec<&UnitCode> = units
        .iter()
        .filter(|u| matches!(u.level(), Level::County | Level::Township))
        .map(|u| &u.code)
        .collect();
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date").and_hms_opt(9, 0, 0).expect("time");
    let kinds = DemandKind::ALL;
    let demands = (0..n)
        .map(|i| {
            let target = targets[rng.random_range(0..targets.len())].clone();
            let body = bodies
                .iter()
                .find(|b| b.unit.as_str() == target.province())
                .expect("every province has a body");
            let kind = kinds[i % kinds.len()];
            let starts_at = start + Duration::minutes(rng.random_range(0..525_600));
            Demand {
                id: tongxin_domain::new_id(),
                kind,
                source_body: body.id,
                source_department: body.id,
                title: format!("关于开展第{}批{}工作的通知", i % 97 + 1, kind.zh()),
                topic: "高标准农田建设".into(),
                targets: vec![target],
                starts_at,
                ends_at: starts_at + Duration::hours(2),
                status: DemandStatus::Planned,
                origin: DemandOrigin::Registered,
                cost: Cost {
                    cadre_hours: 4.0,
                    cadres_required: 2,
                    attend_levels: if kind == DemandKind::Meeting { vec![Level::Township] } else { vec![] },
                    forms: 1,
                    visitors: 30,
                    indicators: 10,
                    fields: if kind == DemandKind::DataRequest {
                        vec!["常住人口".into()]
                    } else {
                        vec![]
                    },
                    ..Cost::default()
                },
                revision: 1,
            }
        })
        .collect();
    (bodies, demands)
}

// ------------------------------------------------------------------ bench log

/// Arguments of `tongxin bench log`. The log service's durable measurements
/// (appends/s with SQLite and PostgreSQL commits, integration latency) add
/// their options here and their rows through [`log_row`].
#[derive(Debug, Clone, clap::Args)]
pub struct LogBenchArgs {
    /// Leaves in the tree the proofs are generated over.
    #[arg(long, default_value_t = 1_000_000)]
    pub size: u64,
    /// Proofs generated and verified per measurement.
    #[arg(long, default_value_t = 200_000)]
    pub proofs: u64,
    /// Chained SHA-256 node hashes for the ceiling.
    #[arg(long, default_value_t = 5_000_000)]
    pub hashes: u64,
    /// Seconds of durable appends per backend (0 skips them).
    #[arg(long, default_value_t = 10)]
    pub durable_secs: u64,
    /// A PostgreSQL URL for the durable rows (default: from PGHOST etc. when set).
    #[arg(long)]
    pub postgres: Option<String>,
}

/// Prints the header of the `bench log` table.
pub fn log_header(title: &str) {
    println!("{title}");
    println!();
    println!("{:<52} {:>14}  {:<10}  notes", "measurement", "rate", "unit");
}

/// Prints one row of the `bench log` table: the seam for rows measured
/// elsewhere (durable appends on SQLite/PostgreSQL, integration latency as
/// "p50 … / p99 …" in `value`).
pub fn log_row(what: &str, value: &str, unit: &str, note: &str) {
    println!("{what:<52} {value:>14}  {unit:<10}  {note}");
}

/// Operations per second, grouped in thousands.
pub fn per_second(m: tongxin_tlog::bench::Measurement) -> String {
    let n = m.per_second().round() as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `tongxin bench log`: the in-memory rates of the transparency log.
pub async fn log(args: LogBenchArgs) -> Result<()> {
    use tongxin_tlog::bench;
    let LogBenchArgs { size, proofs, hashes, .. } = args;
    log_header(&format!("tongxin bench log: in memory, one thread, proofs over a tree of {size} leaves"));
    let m = bench::node_hashes(hashes);
    log_row("SHA-256 interior node hash (the ceiling)", &per_second(m), "hashes/s", "chained, 65-byte input");

    let m = bench::appends(size);
    log_row("append, one leaf at a time", &per_second(m), "entries/s", "leaf hash + stored hashes");
    let (m, batch) = batch_appends(size, 1000);
    log_row(
        &format!("append, batches of {batch} (sequencer integration)"),
        &per_second(m),
        "entries/s",
        "stored hashes + new root per batch, no storage",
    );

    let store = bench::memory_log(size);
    let m = bench::inclusion_proofs(&store, proofs, 1);
    log_row("inclusion proof generation", &per_second(m), "proofs/s", "random leaf, full tree");
    let m = bench::consistency_proofs(&store, proofs, 2);
    log_row("consistency proof generation", &per_second(m), "proofs/s", "random old <= new sizes");
    let m = bench::inclusion_verifications(&store, proofs, 3);
    log_row("inclusion proof verification", &per_second(m), "proofs/s", "RFC 9162 2.1.3.2");
    let m = consistency_verifications(&store, proofs, 4);
    log_row("consistency proof verification", &per_second(m), "proofs/s", "RFC 9162 2.1.4.2");
    let m = checkpoint_verifications(&store, 20_000)?;
    log_row("checkpoint signature verification", &per_second(m), "notes/s", "Ed25519 signed note");
    drop(store);

    let (m, tiles) = verify_whole_log(size).await?;
    log_row(
        "verify log end to end (tongxin verify log)",
        &per_second(m),
        "entries/s",
        &format!("{tiles} tiles + bundles fetched from memory and checked"),
    );
    durable(args.durable_secs, args.postgres).await
}

/// Durable appends through the log service, with the default batching period: the
/// sustained rate and the latency from `append` to a published checkpoint covering it.
async fn durable(secs: u64, postgres: Option<String>) -> Result<()> {
    if secs == 0 {
        return Ok(());
    }
    println!();
    log_header(&format!(
        "durable appends through the log service ({secs} s each, default 500 ms batching, 40,000 appends in flight)"
    ));
    let dir = std::env::temp_dir().join(format!("tongxin-bench-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("log.sqlite");
    let sqlite: Arc<dyn Store> = Arc::new(
        tongxin_store_sqlite::SqliteStore::open(
            db.to_str().ok_or_else(|| anyhow!("temp path is not UTF-8"))?,
        )
        .await
        .map_err(|e| anyhow!("{e}"))?,
    );
    durable_rows("SQLite", sqlite, secs).await?;
    std::fs::remove_dir_all(&dir).ok();
    match postgres.or_else(pg_url_from_env) {
        Some(url) => {
            let pg =
                tongxin_store_postgres::PgStore::open(&url).await.map_err(|e| anyhow!("PostgreSQL: {e}"))?;
            durable_rows("PostgreSQL", Arc::new(pg), secs).await?;
        }
        None => println!("(PostgreSQL skipped: pass --postgres URL or run under pg_virtualenv)"),
    }
    Ok(())
}

async fn durable_rows(backend: &str, store: Arc<dyn Store>, secs: u64) -> Result<()> {
    let origin = format!("bench.tongxin.localhost/{}", tongxin_domain::new_id().simple());
    let key = tongxin_tlog::SignerKey::generate(&origin, tongxin_tlog::SignatureType::Ed25519)
        .map_err(|e| anyhow!("{e}"))?;
    let log = tongxin_log::Log::open(store, tongxin_log::LogConfig::new(&origin, key))
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let load = crate::appends::Load {
        concurrency: 40_000,
        entries: None,
        duration: Some(std::time::Duration::from_secs(secs)),
        prefix: "bench".into(),
        print: false,
    };
    let report = crate::appends::run(&log, &load).await?;
    log_row(
        &format!("durable appends, {backend}"),
        &format!("{:.0}", report.per_second()),
        "entries/s",
        &format!("{} appends, every batch committed before acknowledging", report.appended),
    );
    log_row(
        &format!("append → published checkpoint, {backend}"),
        &format!(
            "{:.0}/{:.0}",
            report.percentile(0.5).as_secs_f64() * 1e3,
            report.percentile(0.99).as_secs_f64() * 1e3
        ),
        "ms p50/p99",
        "includes the batching period",
    );
    Ok(())
}

/// A PostgreSQL URL from `PGHOST` etc. (as `pg_virtualenv` exports them), if set.
pub fn pg_url_from_env() -> Option<String> {
    std::env::var("PGHOST").ok().map(|host| {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        format!(
            "postgres://{}:{}@{}:{}/{}",
            var("PGUSER", "postgres"),
            var("PGPASSWORD", ""),
            if host.starts_with('/') { "localhost".to_owned() } else { host },
            var("PGPORT", "5432"),
            var("PGDATABASE", "postgres")
        )
    })
}

/// A tree in a plain vector of stored hashes.
struct VecHashes(Vec<tongxin_tlog::Hash>);

impl tongxin_tlog::HashReader for VecHashes {
    type Error = std::convert::Infallible;
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tongxin_tlog::Hash>, Self::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

/// Appends `count` leaves in batches as a sequencer integrates them: leaf
/// hashes, the batch's stored hashes from the old right edge, the new root.
fn batch_appends(count: u64, batch: usize) -> (tongxin_tlog::bench::Measurement, usize) {
    use tongxin_tlog::{leaf_hash, stored_hashes_for_leaves, tree_hash};
    let start = Instant::now();
    let mut store = VecHashes(Vec::with_capacity(2 * count as usize + 64));
    let mut leaves = Vec::with_capacity(batch);
    let mut size = 0u64;
    let mut root = tongxin_tlog::EMPTY_ROOT;
    while size < count {
        let n = batch.min((count - size) as usize) as u64;
        leaves.clear();
        leaves.extend((size..size + n).map(|i| leaf_hash(&i.to_be_bytes())));
        let new = stored_hashes_for_leaves(size, &leaves, &store).expect("an in-memory tree has every hash");
        store.0.extend(new);
        size += n;
        root = tree_hash(size, &store).expect("an in-memory tree has every hash");
    }
    std::hint::black_box(root);
    (tongxin_tlog::bench::Measurement { operations: count, elapsed: start.elapsed() }, batch)
}

/// Verifies `count` consistency proofs between random sizes (made first).
fn consistency_verifications(
    store: &tongxin_tlog::MemoryHashStore,
    count: u64,
    seed: u64,
) -> tongxin_tlog::bench::Measurement {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let size = store.size();
    let cases: Vec<_> = (0..count)
        .map(|_| {
            let new = rng.random_range(1..=size.max(1));
            let old = rng.random_range(0..=new);
            let proof =
                tongxin_tlog::prove_consistency(old, new, store).expect("an in-memory tree has every hash");
            (old, new, store.root_at(old), store.root_at(new), proof)
        })
        .collect();
    let start = Instant::now();
    for (old, new, old_root, new_root, proof) in &cases {
        let ok = tongxin_tlog::verify_consistency(*old, *new, old_root, new_root, proof).is_ok();
        assert!(ok, "consistency {old} -> {new}");
    }
    tongxin_tlog::bench::Measurement { operations: count, elapsed: start.elapsed() }
}

/// Verifies a signed checkpoint note `count` times.
fn checkpoint_verifications(
    store: &tongxin_tlog::MemoryHashStore,
    count: u64,
) -> Result<tongxin_tlog::bench::Measurement> {
    use tongxin_tlog::{Checkpoint, SignatureType, SignerKey, verify_checkpoint_note};
    let key = SignerKey::from_seed("bench.tongxin.example/log", SignatureType::Ed25519, [3; 32])?;
    let note = Checkpoint::new(key.name(), store.size(), store.root())?.sign(&key)?;
    let start = Instant::now();
    for _ in 0..count {
        let v = verify_checkpoint_note(&note, key.name(), key.verifier(), &[])?;
        std::hint::black_box(v);
    }
    Ok(tongxin_tlog::bench::Measurement { operations: count, elapsed: start.elapsed() })
}

/// `verify_log` over a log of `size` synthetic entries held in memory: every
/// tile and bundle fetched, every hash recomputed.
async fn verify_whole_log(size: u64) -> Result<(tongxin_tlog::bench::Measurement, usize)> {
    use tongxin_tlog::{SignatureType, SignerKey};
    let key = SignerKey::from_seed("bench.tongxin.example/log", SignatureType::Ed25519, [3; 32])?;
    let entries: Vec<[u8; 8]> = (0..size).map(u64::to_be_bytes).collect();
    let log = tongxin_tlog_client::StaticLog::build(&entries, &key)?;
    drop(entries);
    let fetch = log.fetch();
    let files = log.files.len() - 1;
    drop(log);
    let report = tongxin_tlog_client::verify_log(&fetch, key.verifier(), None, None, |_| {})
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok((
        tongxin_tlog::bench::Measurement { operations: report.entries_checked, elapsed: report.elapsed },
        files,
    ))
}
