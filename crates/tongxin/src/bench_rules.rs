//! `tongxin bench rules`: the burden engine on a national-scale ledger.
//!
//! The real national unit list, generated departments with divisions at every province,
//! prefecture and county, and a year of demands (10,000,000 by default) placed the way
//! bodies place them: mostly by counties on their townships and villages, some by
//! prefectures and provinces, meetings that cascade, data requests that repeat fields.
//! Prints the full recomputation time, the cost of one incremental write, pre-check
//! latency, and a dashboard view from the incremental rollups against the same
//! unit-by-month rollup computed as plain SQL by SQLite (and PostgreSQL).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use anyhow::{Result, anyhow};
use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tongxin_burden::{Engine, PeriodKind};
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Unit, UnitCode,
};
use tongxin_rules::RuleSet;
use tongxin_store::{ImportBatch, Store};
use uuid::Uuid;

#[derive(Debug, Clone, clap::Args)]
pub struct RulesBenchArgs {
    /// Demands in the generated year.
    #[arg(long, default_value_t = 10_000_000)]
    pub demands: usize,
    /// Planned demands pre-checked for the latency figures.
    #[arg(long, default_value_t = 10_000)]
    pub prechecks: usize,
    /// Demands changed one by one for the incremental figures.
    #[arg(long, default_value_t = 10_000)]
    pub writes: usize,
    /// Skip loading the demands into SQLite / PostgreSQL for the SQL rollup comparison.
    #[arg(long)]
    pub no_sql: bool,
    /// A PostgreSQL URL for the SQL comparison (default: from PGHOST etc. when set).
    #[arg(long)]
    pub postgres: Option<String>,
}

const DEPARTMENTS: &[&str] = &[
    "农业农村局",
    "应急管理局",
    "自然资源局",
    "生态环境局",
    "住房和城乡建设局",
    "交通运输局",
    "水利局",
    "卫生健康委员会",
    "教育局",
    "民政局",
    "人力资源和社会保障局",
    "统计局",
    "市场监督管理局",
    "乡村振兴局",
];
const DIVISIONS: &[&str] = &["办公室", "规划科", "监督科"];
const TOPICS: &[&str] = &[
    "高标准农田建设",
    "防汛防台风",
    "森林防火",
    "安全生产",
    "农村人居环境整治",
    "乡村振兴",
    "防止返贫动态监测",
    "基层党建",
    "河湖长制",
    "耕地保护",
    "秸秆禁烧",
    "义务教育",
    "医疗保障",
    "养老服务",
    "就业帮扶",
    "食品安全",
    "生态环境保护",
    "城乡环境卫生",
    "平安建设",
    "矛盾纠纷排查化解",
    "人口普查",
    "农业面源污染治理",
    "乡村旅游",
    "数字乡村",
    "集体经济发展",
    "宅基地管理",
    "农村危房改造",
    "饮用水安全",
    "疫苗接种",
    "禁毒宣传",
];
const FIELDS: &[&str] = &[
    "常住人口",
    "常住人口数",
    "户籍人口",
    "户数",
    "低保户数",
    "低保对象人数",
    "特困供养人数",
    "脱贫户人数",
    "监测对象人数",
    "党员人数",
    "耕地面积",
    "粮食播种面积",
    "外出务工人数",
    "60岁以上老年人数",
    "在校学生数",
    "村集体经济收入",
    "危房户数",
    "自来水普及率",
    "联系电话",
    "身份证号码",
];

struct Geo {
    units: Vec<Unit>,
    children: HashMap<String, Vec<usize>>,
    by_level: HashMap<Level, Vec<usize>>,
    /// Departments (and their divisions) of each unit index.
    departments: HashMap<usize, Vec<(Uuid, Vec<Uuid>)>>,
    bodies: Vec<Body>,
}

fn seeded_id(rng: &mut ChaCha8Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

fn geo(units: Vec<Unit>) -> Geo {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut children: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_level: HashMap<Level, Vec<usize>> = HashMap::new();
    for (i, u) in units.iter().enumerate() {
        if let Some(p) = u.parent() {
            children.entry(p.to_string()).or_default().push(i);
        }
        by_level.entry(u.level()).or_default().push(i);
    }
    let mut departments = HashMap::new();
    let mut bodies = Vec::new();
    for (i, u) in units.iter().enumerate() {
        if u.level() > Level::County {
            continue;
        }
        let mut depts = Vec::new();
        for name in DEPARTMENTS {
            let id = seeded_id(&mut rng);
            let prefix = match u.level() {
                Level::Province => "省",
                Level::Prefecture => "市",
                _ => "县",
            };
            bodies.push(Body {
                id,
                unit: u.code.clone(),
                name: format!("{}{prefix}{name}", u.name),
                kind: BodyKind::Department,
                parent: None,
            });
            let mut divs = Vec::new();
            for d in DIVISIONS {
                let did = seeded_id(&mut rng);
                bodies.push(Body {
                    id: did,
                    unit: u.code.clone(),
                    name: (*d).to_owned(),
                    kind: BodyKind::Division,
                    parent: Some(id),
                });
                divs.push(did);
            }
            depts.push((id, divs));
        }
        departments.insert(i, depts);
    }
    Geo { units, children, by_level, departments, bodies }
}

impl Geo {
    fn kids(&self, i: usize) -> &[usize] {
        self.children.get(self.units[i].code.as_str()).map(Vec::as_slice).unwrap_or(&[])
    }

    fn pick_below(&self, rng: &mut ChaCha8Rng, from: usize, depth: u8) -> usize {
        let mut at = from;
        for _ in 0..depth {
            let k = self.kids(at);
            if k.is_empty() {
                break;
            }
            at = k[rng.random_range(0..k.len())];
        }
        at
    }
}

/// The `n`-th planned demand of a seeded stream: deterministic, so the same year can be
/// produced again for the SQL stores without holding it all in memory.
fn demand(g: &Geo, rng: &mut ChaCha8Rng, year: i32) -> Demand {
    let roll: f64 = rng.random();
    let level = if roll < 0.08 {
        Level::Province
    } else if roll < 0.28 {
        Level::Prefecture
    } else {
        Level::County
    };
    let pool = &g.by_level[&level];
    let src = pool[rng.random_range(0..pool.len())];
    let depts = &g.departments[&src];
    let (dept, divs) = &depts[rng.random_range(0..depts.len())];
    let source = if rng.random_bool(0.6) { divs[rng.random_range(0..divs.len())] } else { *dept };
    let kind = DemandKind::ALL[rng.random_range(0..DemandKind::ALL.len())];
    let n_targets = match kind {
        DemandKind::DataRequest => rng.random_range(1..=8),
        DemandKind::Meeting => rng.random_range(1..=3),
        _ => rng.random_range(1..=2),
    };
    let depth = rng.random_range(1..=2u8);
    let mut targets: Vec<UnitCode> =
        (0..n_targets).map(|_| g.units[g.pick_below(rng, src, depth)].code.clone()).collect();
    targets.sort();
    targets.dedup();
    let top = targets.iter().map(|t| t.level()).min().unwrap_or(Level::Township);
    let day =
        NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default() + Duration::days(rng.random_range(0..365));
    let start = day.and_hms_opt(rng.random_range(8..16), 0, 0).unwrap_or_default();
    let hours = rng.random_range(1..=8);
    let topic = TOPICS[rng.random_range(0..TOPICS.len())];
    let mut cost = Cost {
        cadre_hours: f64::from(rng.random_range(1..=40u32)) / 2.0,
        cadres_required: rng.random_range(1..=6),
        ..Cost::default()
    };
    match kind {
        DemandKind::Meeting => {
            let down = rng.random_range(0..=2u8);
            cost.attend_levels = (0..=down).filter_map(|d| Level::from_number(top.number() + d)).collect();
            cost.video = rng.random_bool(0.5);
            cost.speech_minutes = rng.random_range(20..=80);
        }
        DemandKind::DataRequest => {
            cost.forms = 1;
            cost.fields = (0..rng.random_range(2..=6))
                .map(|_| FIELDS[rng.random_range(0..FIELDS.len())].to_owned())
                .collect();
            cost.fields.sort();
            cost.fields.dedup();
        }
        DemandKind::WorkGroup => {
            cost.visitors = rng.random_range(3..=30);
            cost.host_person_days = f64::from(rng.random_range(2..=60u32));
        }
        DemandKind::Indicator => cost.indicators = rng.random_range(1..=20),
        DemandKind::Document => cost.doc_chars = rng.random_range(1500..=6500),
        k if k.is_visit() => {
            cost.host_person_days = f64::from(rng.random_range(1..=6u32)) / 2.0;
            cost.forms = if rng.random_bool(0.1) { rng.random_range(1..=3) } else { 0 };
        }
        _ => {}
    }
    if kind == DemandKind::Inspection && rng.random_bool(0.9) {
        cost.flags.push(Flag::InAnnualPlan);
    }
    if rng.random_bool(0.03) {
        cost.flags.push(Flag::PrincipalAttendance);
    }
    Demand {
        id: seeded_id(rng),
        kind,
        source_body: source,
        source_department: *dept,
        title: format!("关于{topic}{}的通知", kind.zh()),
        topic: topic.to_owned(),
        targets,
        starts_at: start,
        ends_at: start + Duration::hours(hours),
        status: DemandStatus::Planned,
        origin: DemandOrigin::Registered,
        cost,
        revision: 1,
    }
}

fn stream(g: &Geo, seed: u64, n: usize) -> impl Iterator<Item = Demand> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(move |_| demand(g, &mut rng, 2026))
}

fn peak_rss_gib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0)
}

/// Minor page faults of this process so far: fresh memory the kernel had to zero and map.
fn minor_faults() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| s.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(7)?.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[StdDuration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn row(what: &str, value: String, note: &str) {
    println!("{what:<52} {value:>18}  {note}");
}

pub async fn run(args: RulesBenchArgs) -> Result<()> {
    let t = Instant::now();
    let units = tongxin_divisions::load(None).map_err(|e| anyhow!("{e}"))?;
    let g = geo(units);
    println!(
        "national ledger: {} units, {} bodies (departments with divisions at every province, prefecture and county)",
        g.units.len(),
        g.bodies.len()
    );
    let mut engine = Engine::new(RuleSet::national(), &g.units, &g.bodies);
    println!("engine over the unit list built in {:.1} s", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let loaded = engine.load(stream(&g, 1, args.demands)).map_err(|e| anyhow!("{e}"))?;
    let load_secs = t.elapsed().as_secs_f64();
    let (t, faults) = (Instant::now(), minor_faults());
    engine.recompute();
    let recompute_secs = t.elapsed().as_secs_f64();
    let faults = minor_faults() - faults;
    println!();
    row("demands in the ledger", format!("{loaded}"), "one year, 2026");
    row("findings", format!("{}", engine.findings().len()), "national rule set");
    row(
        "generate + load + full recomputation",
        format!("{load_secs:.1} s"),
        "target ≤ 60 s for the recomputation",
    );
    row("full recomputation alone", format!("{recompute_secs:.1} s"), "findings and rollups from scratch");
    for (phase, took) in engine.recompute_phases() {
        row(&format!("  {phase}"), format!("{:.2} s", took.as_secs_f64()), "");
    }
    row("peak memory", format!("{:.1} GiB", peak_rss_gib()), "");
    row(
        "page faults in the recomputation",
        format!("{faults}"),
        "fresh memory mapped (zeroed by the kernel)",
    );

    // A dashboard view: a prefecture's counties by month, from the rollups.
    let year = PeriodKind::Year.of(NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default());
    let prefectures: Vec<UnitCode> =
        g.by_level[&Level::Prefecture].iter().take(40).map(|i| g.units[*i].code.clone()).collect();
    let months: Vec<tongxin_burden::PeriodIndex> = year.months();
    let t = Instant::now();
    let mut engine_view: Vec<(String, u32, i64)> = Vec::new();
    for p in &prefectures {
        if let Some((_, kids)) = engine.unit_and_children(p, year) {
            for k in kids {
                for (m, month) in months.iter().enumerate() {
                    if let Some(tot) = engine.unit_totals(&k.code, *month).filter(|t| t.demands > 0) {
                        engine_view.push((k.code.to_string(), m as u32 + 1, tot.demands));
                    }
                }
            }
        }
    }
    let engine_view_ms = t.elapsed().as_secs_f64() * 1e3 / prefectures.len() as f64;
    row(
        "dashboard view from the rollups",
        format!("{engine_view_ms:.3} ms"),
        "a prefecture's counties × 12 months",
    );
    // Incremental writes: change existing demands one by one.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let sample: Vec<Demand> = stream(&g, 1, args.writes.min(args.demands)).collect();
    let mut times = Vec::with_capacity(sample.len());
    for mut d in sample {
        d.starts_at += Duration::days(rng.random_range(-10..=10));
        d.ends_at = d.starts_at + Duration::hours(2);
        d.cost.cadre_hours += 1.0;
        let t = Instant::now();
        engine.apply(&d).map_err(|e| anyhow!("{e}"))?;
        times.push(t.elapsed());
    }
    times.sort();
    let mean = times.iter().map(|d| d.as_secs_f64()).sum::<f64>() / times.len().max(1) as f64 * 1e3;
    row(
        "incremental write (findings + rollups)",
        format!("{mean:.3} / {:.3} / {:.3} ms", percentile(&times, 0.5), percentile(&times, 0.99)),
        "mean / p50 / p99",
    );

    // Pre-checks of planned demands that are not in the ledger.
    let planned: Vec<Demand> = stream(&g, 2, args.prechecks).collect();
    let mut times = Vec::with_capacity(planned.len());
    let mut with_findings = 0;
    for d in &planned {
        let t = Instant::now();
        let r = engine.precheck(d).map_err(|e| anyhow!("{e}"))?;
        times.push(t.elapsed());
        with_findings += usize::from(!r.findings.is_empty());
    }
    times.sort();
    row(
        "pre-check per planned demand",
        format!("{:.3} / {:.3} ms", percentile(&times, 0.5), percentile(&times, 0.99)),
        &format!("p50 / p99, target p99 ≤ 5 ms; {with_findings} of {} with findings", planned.len()),
    );

    if args.no_sql {
        return Ok(());
    }
    drop(planned);
    // One backend at a time, the SQLite file deleted before PostgreSQL loads: the two copies
    // of a ten-million-demand ledger would not fit on this machine's disk together.
    let pg_url = args.postgres.clone().or_else(crate::bench::pg_url_from_env);
    if pg_url.is_none() {
        println!("(PostgreSQL skipped: pass --postgres URL or run under pg_virtualenv)");
    }
    let backends = std::iter::once(None).chain(pg_url.map(Some));
    for url in backends {
        let _dir;
        let store: Arc<dyn Store> = match url {
            None => {
                let dir = RemovedOnDrop(
                    std::env::temp_dir().join(format!("tongxin-bench-rules-{}", std::process::id())),
                );
                std::fs::create_dir_all(&dir.0)?;
                let path = dir.0.join("rules.sqlite");
                let store = tongxin_store_sqlite::SqliteStore::open(
                    path.to_str().ok_or_else(|| anyhow!("temp path is not UTF-8"))?,
                )
                .await
                .map_err(|e| anyhow!("{e}"))?;
                _dir = Some(dir);
                Arc::new(store)
            }
            Some(url) => {
                _dir = None;
                Arc::new(
                    tongxin_store_postgres::PgStore::open(&url)
                        .await
                        .map_err(|e| anyhow!("PostgreSQL: {e}"))?,
                )
            }
        };
        let backend = store.backend();
        let t = Instant::now();
        store
            .import(
                ImportBatch {
                    units: g.units.clone(),
                    bodies: g.bodies.clone(),
                    actor: "bench".into(),
                    ..Default::default()
                },
                None,
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
        let mut it = stream(&g, 1, args.demands).peekable();
        while it.peek().is_some() {
            let chunk: Vec<Demand> = it.by_ref().take(1_000_000).collect();
            store
                .import(ImportBatch { demands: chunk, actor: "bench".into(), ..Default::default() }, None)
                .await
                .map_err(|e| anyhow!("{e}"))?;
        }
        row(
            &format!("{backend}: load units, bodies and demands"),
            format!("{:.1} s", t.elapsed().as_secs_f64()),
            "",
        );
        let t = Instant::now();
        let mut sql_view: Vec<(String, u32, i64)> = Vec::new();
        for p in &prefectures {
            for r in store.sql_month_rollup(p, 2026).await.map_err(|e| anyhow!("{e}"))? {
                sql_view.push((r.child, r.month, r.demands));
            }
        }
        let sql_ms = t.elapsed().as_secs_f64() * 1e3 / prefectures.len() as f64;
        row(
            &format!("{backend}: the same view as plain SQL"),
            format!("{sql_ms:.3} ms"),
            &format!("{:.0}× the rollup's time", sql_ms / engine_view_ms.max(1e-9)),
        );
        // Both views were taken over the year as generated (before the incremental writes).
        sql_view.sort();
        let mut ours = engine_view.clone();
        ours.sort();
        row(
            &format!("{backend}: SQL and rollup cells agree"),
            (if sql_view == ours { "yes" } else { "NO" }).to_owned(),
            &format!("{} (child, month) cells", sql_view.len()),
        );
        // The store closes before its directory goes (declared after it, dropped first).
        drop(store);
    }
    Ok(())
}

/// A benchmark's temporary directory, removed however the run ends.
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}
