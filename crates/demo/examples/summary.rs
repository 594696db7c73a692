//! Prints what the demo generator makes for a province: counts by kind and status, a
//! few sample titles per kind, how often each flag occurs on each kind, and the staged
//! scenarios. Usage:
//! `cargo run -p tongxin-demo --example summary -- [province] [year] [seed]`.

use std::collections::BTreeMap;

use tongxin_domain::{DemandKind, Flag};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let province = args.first().map(String::as_str).unwrap_or("35");
    let year: i32 = args.get(1).map(|y| y.parse()).transpose()?.unwrap_or(2026);
    let seed: u64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(42);
    let units = tongxin_divisions::load(Some(province))?;
    let started = std::time::Instant::now();
    let demo = tongxin_demo::generate(&units, province, year, seed)?;
    println!(
        "{province} {year} seed {seed}: {} bodies, {} demands, {} accounts ({:?})",
        demo.bodies.len(),
        demo.demands.len(),
        demo.accounts.len(),
        started.elapsed()
    );
    let mut by_kind: BTreeMap<DemandKind, Vec<&tongxin_domain::Demand>> = BTreeMap::new();
    for d in &demo.demands {
        by_kind.entry(d.kind).or_default().push(d);
    }
    let names: BTreeMap<_, _> = demo.bodies.iter().map(|b| (b.id, b.name.as_str())).collect();
    for (kind, ds) in &by_kind {
        println!("\n{} ({}): {}", kind.zh(), kind.as_str(), ds.len());
        for d in ds.iter().step_by((ds.len() / 4).max(1)).take(4) {
            println!(
                "  {} | {} | {} → {} | {} targets (first {}) | {:?} | {}",
                d.title,
                names.get(&d.source_body).unwrap_or(&"?"),
                d.starts_at,
                d.ends_at,
                d.targets.len(),
                d.targets[0],
                d.status,
                serde_json_like(&d.cost)
            );
        }
    }
    println!("\nflags by kind:");
    for (kind, ds) in &by_kind {
        let mut counts: BTreeMap<Flag, usize> = BTreeMap::new();
        for f in ds.iter().flat_map(|d| &d.cost.flags) {
            *counts.entry(*f).or_default() += 1;
        }
        if !counts.is_empty() {
            let list: Vec<String> = counts.iter().map(|(f, n)| format!("{} {n}", f.as_str())).collect();
            println!("  {} ({}): {}", kind.as_str(), ds.len(), list.join(", "));
        }
    }
    let s = &demo.scenarios;
    println!("\nstage: {} / {} / {} / {}", s.prefecture, s.county, s.township, s.village);
    let by_id: BTreeMap<_, _> = demo.demands.iter().map(|d| (d.id, d)).collect();
    for (what, id) in [
        ("disguised inspection", s.disguised_inspection.demand),
        ("unplanned inspection", s.unplanned_inspection),
        ("unplanned safety inspection", s.unplanned_safety_inspection),
        ("veto document", s.veto_document),
        ("overlong meeting", s.overlong_meeting),
        ("long speech meeting", s.long_speech_meeting),
        ("deputy meeting", s.deputy_meeting),
        ("clock-in app", s.clock_in_app),
    ]
    .into_iter()
    .chain(s.comprehensive_inspections.demands.iter().map(|id| ("comprehensive inspection", *id)))
    .chain(s.comprehensive_meetings.demands.iter().map(|id| ("comprehensive meeting", *id)))
    {
        let d = by_id[&id];
        println!(
            "{what}: {} | {} | {} → {} | {}",
            d.title,
            names.get(&d.source_body).unwrap_or(&"?"),
            d.starts_at,
            d.ends_at,
            serde_json_like(&d.cost)
        );
    }
    println!(
        "accounts: {}",
        demo.accounts.iter().map(|a| a.user.username.as_str()).collect::<Vec<_>>().join(", ")
    );
    println!(
        "indicators on the county: {} from {} departments",
        s.indicators.indicators, s.indicators.departments
    );
    Ok(())
}

fn serde_json_like(c: &tongxin_domain::Cost) -> String {
    format!(
        "h={} cadres={} host={} visitors={} forms={} fields={:?} attend={:?} video={} ind={} chars={} speech={} flags={:?}",
        c.cadre_hours,
        c.cadres_required,
        c.host_person_days,
        c.visitors,
        c.forms,
        c.fields,
        c.attend_levels,
        c.video,
        c.indicators,
        c.doc_chars,
        c.speech_minutes,
        c.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>()
    )
}
