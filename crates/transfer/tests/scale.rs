//! Scale: a national-size units file (665,000 rows) reads and imports in reasonable time
//! and memory. Ignored by default (slow in debug builds); run with `--ignored`.

use std::time::Instant;

use tongxin_transfer::{Format, Known, export_units, import_units, read_table};

#[test]
#[ignore = "slow in debug builds"]
fn a_national_units_file_imports() {
    let mut text = String::from("code,name,cadres\n35,福建省,\n");
    let mut n = 1;
    'outer: for city in 1..=99u32 {
        text.push_str(&format!("35{city:02},市{city},\n"));
        for county in 1..=99u32 {
            text.push_str(&format!("35{city:02}{county:02},县{county},\n"));
            for town in 1..=70u32 {
                text.push_str(&format!("35{city:02}{county:02}{town:03},乡镇{town},60\n"));
                n += 1;
                if n > 665_000 {
                    break 'outer;
                }
            }
        }
    }
    let t0 = Instant::now();
    let table = read_table("units.csv", text.as_bytes()).unwrap();
    let t1 = Instant::now();
    let units = import_units(&table, &Known::default()).unwrap();
    let t2 = Instant::now();
    let bytes = export_units(&units, Format::Csv).unwrap();
    let t3 = Instant::now();
    eprintln!(
        "{} units: read {:?}, import {:?}, export {:?} ({} bytes)",
        units.len(),
        t1 - t0,
        t2 - t1,
        t3 - t2,
        bytes.len()
    );
    assert!(units.len() > 665_000);
}
