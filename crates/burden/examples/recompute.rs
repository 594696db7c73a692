//! The full recomputation alone on the benchmark's generated national ledger (the same
//! generator as `tongxin bench rules`), with its phases: for profiling the engine without
//! building the whole binary. `cargo run --release -p tongxin-burden --example recompute -- 2000000`

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tongxin_burden::Engine;
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Unit, UnitCode,
};
use tongxin_rules::RuleSet;
use uuid::Uuid;

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

/// CPU seconds used by this process so far (user + system).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<f64> = after.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(2_000_000);
    let rounds: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(1);
    let units = tongxin_divisions::load(None).expect("the vendored division list");
    let g = geo(units);
    let mut engine = Engine::new(RuleSet::national(), &g.units, &g.bodies);
    let t = Instant::now();
    engine.load(stream(&g, 1, n)).expect("known units and bodies");
    println!("generate + load + recompute {:.2} s", t.elapsed().as_secs_f64());
    for _ in 0..rounds {
        let (t, cpu) = (Instant::now(), cpu_secs());
        engine.recompute();
        println!(
            "recompute {:.2} s wall, {:.2} s CPU, {} findings",
            t.elapsed().as_secs_f64(),
            cpu_secs() - cpu,
            engine.findings().len()
        );
        for (phase, took) in engine.recompute_phases() {
            println!("  {phase:<28} {:.2} s", took.as_secs_f64());
        }
    }
    println!("peak {:.2} GiB", peak_rss_gib());
    if n > 2_000_000 {
        // The digest copies every finding and spells every cell: too big for the full ledger.
        return;
    }
    let (f, r) = engine.digest();
    let mut h = rustc_hash::FxHasher::default();
    use std::hash::{Hash, Hasher};
    for x in &f {
        x.rule.hash(&mut h);
        x.demands.hash(&mut h);
        x.evidence.zh.hash(&mut h);
        x.evidence.en.hash(&mut h);
        x.units.hash(&mut h);
    }
    r.hash(&mut h);
    println!(
        "digest {:016x} ({} findings, {} cells), peak {:.2} GiB",
        h.finish(),
        f.len(),
        r.len(),
        peak_rss_gib()
    );
}
