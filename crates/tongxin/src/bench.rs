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

    let pg_url = postgres.or_else(|| {
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
    });
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
    let t = Instant::now();
    store
        .import(ImportBatch { units: units.to_vec(), actor: "bench".into(), ..Default::default() }, None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    report(backend, "units", units.len(), t.elapsed().as_secs_f64());
    store
        .import(ImportBatch { bodies: bodies.to_vec(), actor: "bench".into(), ..Default::default() }, None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let t = Instant::now();
    // One import of every demand: a national year loaded at once, all or nothing.
    store
        .import(ImportBatch { demands: demands.to_vec(), actor: "bench".into(), ..Default::default() }, None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
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
