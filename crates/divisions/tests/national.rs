//! Checks the embedded national list against the published counts and the hierarchy.

use std::collections::HashSet;
use std::sync::OnceLock;
use std::time::Instant;

use tongxin_divisions::{DivisionsError, load, load_to, province_name, provinces};
use tongxin_domain::{Level, Unit};

/// The whole country, loaded once for all tests of this file.
fn national() -> &'static [Unit] {
    static ALL: OnceLock<Vec<Unit>> = OnceLock::new();
    ALL.get_or_init(|| {
        let t = Instant::now();
        let all = load(None).expect("the embedded list loads");
        eprintln!("loaded {} units in {:?}", all.len(), t.elapsed());
        all
    })
}

#[test]
fn national_counts_per_level() {
    let all = national();
    let count = |l: Level| all.iter().filter(|u| u.level() == l).count();
    assert_eq!(count(Level::Province), 31);
    assert_eq!(count(Level::Prefecture), 342);
    assert_eq!(count(Level::County), 2_978);
    assert_eq!(count(Level::Township), 41_352);
    assert_eq!(count(Level::Village), 620_573);
    assert_eq!(all.len(), 665_276);
}

#[test]
fn units_are_in_code_order_and_every_parent_is_present() {
    let all = national();
    assert!(all.windows(2).all(|w| w[0].code < w[1].code), "sorted by code, no duplicates");
    let codes: HashSet<&str> = all.iter().map(|u| u.code.as_str()).collect();
    for u in all {
        if let Some(p) = u.parent() {
            assert!(codes.contains(p.as_str()), "{} {} has no parent {p}", u.code, u.name);
        }
        assert!(u.validate().is_ok(), "{} {}", u.code, u.name);
        assert!(u.cadres_estimated && u.cadres == u.level().default_cadres());
    }
}

#[test]
fn fujian_loads_with_its_real_names() {
    let t = Instant::now();
    let fj = load(Some("35")).unwrap();
    eprintln!("loaded Fujian ({} units) in {:?}", fj.len(), t.elapsed());
    assert_eq!(fj[0].code.as_str(), "35");
    assert_eq!(fj[0].name, "福建省");
    let name = |c: &str| fj.iter().find(|u| u.code.as_str() == c).map(|u| u.name.as_str());
    assert_eq!(name("3501"), Some("福州市"));
    assert_eq!(name("3502"), Some("厦门市"));
    assert_eq!(name("350102"), Some("鼓楼区"));
    assert!(fj.iter().all(|u| u.province() == "35"));
    // Exactly the Fujian part of the national list, in the same order.
    let from_national: Vec<&Unit> = national().iter().filter(|u| u.province() == "35").collect();
    assert_eq!(fj.iter().collect::<Vec<_>>(), from_national);
    let count = |l: Level| fj.iter().filter(|u| u.level() == l).count();
    assert_eq!(count(Level::Prefecture), 9);
    assert!(count(Level::County) > 80 && count(Level::Township) > 1_000);
}

#[test]
fn every_province_filters_to_its_own_subtree() {
    let all = national();
    for (code, name) in provinces() {
        let units = load_to(Some(&code), Level::Township).unwrap();
        assert_eq!(units[0].name, name);
        let expected = all.iter().filter(|u| u.province() == code && u.level() <= Level::Township).count();
        assert_eq!(units.len(), expected, "{code} {name}");
    }
}

#[test]
fn first_and_last_provinces_are_complete() {
    // The binary search must not lose the first or the last run of any file.
    for code in ["11", "65"] {
        let units = load(Some(code)).unwrap();
        let expected = national().iter().filter(|u| u.province() == code).count();
        assert_eq!(units.len(), expected, "{code}");
    }
}

#[test]
fn an_unknown_province_is_a_clear_error() {
    for bad in ["99", "3", "350", "", "71"] {
        match load(Some(bad)) {
            Err(DivisionsError::UnknownProvince(c)) => assert_eq!(c, bad),
            other => panic!("{bad}: expected UnknownProvince, got {other:?}"),
        }
    }
    let msg = load(Some("99")).unwrap_err().to_string();
    assert!(msg.contains("unknown province code '99'"), "{msg}");
    assert_eq!(province_name("35"), Some("福建省"));
    assert_eq!(province_name("71"), None);
}

#[test]
fn the_province_table_matches_the_embedded_file() {
    let from_file: Vec<(String, String)> = load_to(None, Level::Province)
        .unwrap()
        .into_iter()
        .map(|u| (u.code.as_str().to_owned(), u.name))
        .collect();
    assert_eq!(from_file, provinces());
}

#[test]
fn loading_down_to_a_level_stops_there() {
    let units = load_to(Some("35"), Level::County).unwrap();
    assert!(units.iter().all(|u| u.level() <= Level::County));
    assert!(units.iter().any(|u| u.level() == Level::County));
}
