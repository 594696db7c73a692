//! Runs every cargo-fuzz target body (`tongxin_tlog::fuzzing`) over a seed
//! corpus under plain `cargo test`: the golden files, every prefix of them
//! and every single-byte change, so the targets compile and their
//! no-panic and round-trip assertions hold even where nightly is missing.

use tongxin_tlog::fuzzing;

/// A fuzz target body.
type Target = fn(&[u8]);

const TARGETS: &[(&str, Target)] = &[
    ("checkpoint", fuzzing::checkpoint),
    ("note", fuzzing::note),
    ("receipt", fuzzing::receipt),
    ("witness_request", fuzzing::witness_request),
    ("witness_response", fuzzing::witness_response),
    ("tile_path", fuzzing::tile_path),
    ("bundle", fuzzing::bundle),
    ("proof", fuzzing::proof),
];

fn seeds() -> Vec<Vec<u8>> {
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(golden)
        .expect("golden dir")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("golden file"))
        .collect();
    // Fuzz inputs signed by the fuzzing keys, so signatures can verify.
    let log = fuzzing::log_key();
    let mut note =
        tongxin_tlog::Note::new("example.com/log\n1\nbjQLnP+zepicpUTmu3gKLHiQHT+zNzh2hRGjBhevoB0=\n")
            .unwrap();
    note.sign(&log).unwrap();
    seeds.push(note.to_string().into_bytes());
    seeds.push(format!("old 0\n\n{note}").into_bytes());
    seeds.push(format!("c2sp.org/tlog-proof@v1\nindex 0\n\n{note}").into_bytes());
    seeds.push(b"tile/1/x001/x234/067.p/17".to_vec());
    seeds.push(b"tile/entries/000".to_vec());
    seeds.push(tongxin_tlog::encode_bundle(&[b"a".as_slice(), b"", &[0; 300]]).unwrap());
    seeds.push([5u64.to_le_bytes(), 8u64.to_le_bytes()].concat().into_iter().chain([1u8; 96]).collect());
    seeds
}

#[test]
fn fuzz_targets_hold_on_the_seed_corpus() {
    let seeds = seeds();
    let mut inputs = 0usize;
    for seed in &seeds {
        let mut variants: Vec<Vec<u8>> = vec![seed.clone()];
        variants.extend((0..seed.len()).map(|n| seed[..n].to_vec()));
        for i in (0..seed.len()).step_by(3) {
            for delta in [1u8, 0x80] {
                let mut v = seed.clone();
                v[i] = v[i].wrapping_add(delta);
                variants.push(v);
            }
        }
        for v in &variants {
            for (_, target) in TARGETS {
                target(v);
            }
        }
        inputs += variants.len();
    }
    assert!(inputs > 1000, "corpus too small: {inputs}");
}
