//! The benchmark workload: checked small in every test run (one shared simulation for all
//! units), and timed at full size with `cargo test --release -p tongxin-directives --test
//! perf -- --ignored --nocapture` (the same figures as `tongxin bench directives`).

use std::time::Instant;

use tongxin_directives::workload::{active, draft, template_text, units};
use tongxin_directives::{CheckOptions, ConflictKind, TemplateSet, UnitIndex, check};

fn templates() -> TemplateSet {
    let mut set = TemplateSet::shipped();
    set.load("bench20.toml", &template_text()).unwrap();
    set
}

#[test]
fn the_workload_shares_one_simulation_and_finds_conflicts() {
    let set = templates();
    let t = set.get("bench20").unwrap();
    assert_eq!((t.steps.iter().filter(|s| s.branch.is_none()).count(), t.branches.len()), (20, 3));
    let index = UnitIndex::new(units(200));
    let opts = CheckOptions { samples: 500, ..CheckOptions::default() };
    let r = check("bench", &draft(), &active(400, 2, 6), &index, &set, &opts).unwrap();
    assert_eq!(r.tasks[0].unit_count, 200);
    assert_eq!(r.simulations, 1);
    assert_eq!(r.active_compared, 400);
    assert!(r.conflicts.iter().any(|c| c.kind == ConflictKind::Contradiction));
    assert!(r.conflicts.iter().any(|c| c.kind == ConflictKind::DeadlineCollision));
}

#[test]
#[ignore = "timing: run with --release -- --ignored --nocapture"]
fn full_size_timing() {
    let set = templates();
    let index = UnitIndex::new(units(1_000));
    let opts = CheckOptions::default();
    let d = draft();
    let act = active(1_000, 10, 6);
    for _ in 0..3 {
        let t = Instant::now();
        let r = check("bench", &d, &[], &index, &set, &opts).unwrap();
        let alone = t.elapsed();
        let t = Instant::now();
        let r2 = check("bench", &d, &act, &index, &set, &opts).unwrap();
        let with = t.elapsed();
        println!(
            "1,000 units × {} runs: {:?} ({} simulation); against 1,000 active directives: {:?} ({} findings)",
            opts.samples,
            alone,
            r.simulations,
            with,
            r2.conflicts.len()
        );
        assert!(alone.as_secs_f64() < 1.0);
    }
}
