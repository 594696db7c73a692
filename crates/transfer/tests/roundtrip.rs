//! Export → import round trips in every format, with text that breaks naive writers
//! (commas, quotes, newlines, Chinese, leading `=`, `+`, `-`, `@`, apostrophes), and the
//! formula escaping as it appears in the written files.

mod common;

use calamine::{Data, Reader, Xlsx};
use chrono::{NaiveDate, NaiveDateTime};
use common::*;
use proptest::prelude::*;
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, Unit,
};
use tongxin_transfer::{
    Format, Known, export_bodies, export_demands, export_units, import_bodies, import_demands, import_units,
    read_table,
};

const TRICKY: &[&str] = &[
    "逗号,在中间",
    "\"引号\" and \"quotes\"",
    "换行\n第二行",
    "=SUM(A1:A9)",
    "+86 591 1234",
    "-负号开头",
    "@提及",
    "'=已转义",
    "''两个撇号",
    "'撇号",
    "中间有\t制表符",
    "回车\r\n换行",
    "_x0041_ literal",
    "a;b",
];

fn file(format: Format) -> String {
    format!("export.{}", format.extension())
}

fn at(d: u32, h: u32, m: u32, s: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap().and_hms_opt(h, m, s).unwrap()
}

fn units() -> Vec<Unit> {
    let mut out = vec![Unit::new(code("35"), "福建省")];
    let mut city = Unit::new(code("3501"), TRICKY[0]);
    city.cadres = 3800;
    city.cadres_estimated = false;
    out.push(city);
    for (i, name) in TRICKY.iter().enumerate() {
        let mut u = Unit::new(code(&format!("3501{:02}", i + 1)), *name);
        if i % 2 == 0 {
            u.cadres = i as u32;
            u.cadres_estimated = false;
        }
        out.push(u);
    }
    out
}

fn bodies() -> Vec<Body> {
    let mut out = vec![];
    for (i, name) in TRICKY.iter().enumerate() {
        out.push(body(1000 + i as u128, "35", &format!("{name}厅"), BodyKind::Department, None));
    }
    out.push(body(2000, "3501", "市政府", BodyKind::Government, None));
    for (i, name) in TRICKY.iter().enumerate() {
        out.push(body(3000 + i as u128, "35", name, BodyKind::Division, Some(1000 + i as u128)));
    }
    out
}

fn demand(n: u128, text: &str) -> Demand {
    Demand {
        id: id(n),
        kind: DemandKind::Meeting,
        source_body: id(PLANTING),
        source_department: id(AGRI),
        title: text.to_owned(),
        topic: text.to_owned(),
        targets: vec![code("3501"), code("350102")],
        starts_at: at(2, 9, 0, 0),
        ends_at: at(2, 11, 30, 15),
        status: DemandStatus::Held,
        origin: DemandOrigin::Reported,
        cost: Cost {
            cadre_hours: 2.75,
            cadres_required: 4,
            host_person_days: 0.1,
            visitors: 3,
            forms: 2,
            fields: vec![text.replace(';', "_"), "人口，户数".into()],
            attend_levels: vec![Level::Prefecture, Level::County, Level::Village],
            video: n.is_multiple_of(2),
            indicators: 7,
            doc_chars: 12_000,
            speech_minutes: 55,
            flags: vec![Flag::Comprehensive, Flag::PrincipalAttendance],
        },
        revision: 1,
    }
}

fn demands() -> Vec<Demand> {
    // Demand titles, topics and field names refuse control characters (the domain's rule),
    // so line breaks and tabs are tried on unit and body names only.
    let mut out: Vec<Demand> = TRICKY
        .iter()
        .filter(|t| !tongxin_domain::demand::has_control(t))
        .enumerate()
        .map(|(i, t)| demand(i as u128 + 100, t))
        .collect();
    let mut d = demand(99, "数据");
    d.kind = DemandKind::DataRequest;
    d.source_body = id(EDU);
    d.source_department = id(EDU);
    d.cost = Cost { forms: 1, ..Cost::default() };
    d.topic = String::new();
    d.starts_at = at(5, 0, 0, 0);
    d.ends_at = at(5, 23, 59, 59);
    out.push(d);
    out
}

fn reimport_units(units: &[Unit], format: Format) -> Vec<Unit> {
    let bytes = export_units(units, format).unwrap();
    let table = read_table(&file(format), &bytes).unwrap();
    import_units(&table, &Known::default()).unwrap_or_else(|e| panic!("{format:?}: {e}"))
}

fn reimport_bodies(bodies: &[Body], format: Format) -> Vec<Body> {
    let bytes = export_bodies(bodies, format).unwrap();
    let table = read_table(&file(format), &bytes).unwrap();
    import_bodies(&table, &known()).unwrap_or_else(|e| panic!("{format:?}: {e}"))
}

fn reimport_demands(demands: &[Demand], format: Format) -> Vec<Demand> {
    let bytes = export_demands(demands, format).unwrap();
    let table = read_table(&file(format), &bytes).unwrap();
    import_demands(&table, &known()).unwrap_or_else(|e| panic!("{format:?}: {e}"))
}

#[test]
fn units_round_trip_in_every_format() {
    let units = units();
    for format in Format::ALL {
        assert_eq!(reimport_units(&units, format), units, "{format:?}");
    }
}

#[test]
fn bodies_round_trip_in_every_format() {
    let bodies = bodies();
    for format in Format::ALL {
        assert_eq!(reimport_bodies(&bodies, format), bodies, "{format:?}");
    }
}

#[test]
fn demands_round_trip_in_every_format() {
    let demands = demands();
    for d in &demands {
        d.validate().unwrap();
    }
    for format in Format::ALL {
        assert_eq!(reimport_demands(&demands, format), demands, "{format:?}");
    }
}

#[test]
fn sub_second_times_round_trip() {
    let mut d = demand(1, "毫秒");
    d.starts_at = at(2, 9, 0, 1) + chrono::Duration::milliseconds(250);
    for format in Format::ALL {
        assert_eq!(reimport_demands(std::slice::from_ref(&d), format), [d.clone()], "{format:?}");
    }
}

#[test]
fn field_names_with_semicolons_survive_only_in_json() {
    let mut d = demand(1, "x");
    d.cost.fields = vec!["a;b".into()];
    assert_eq!(reimport_demands(std::slice::from_ref(&d), Format::Json)[0].cost.fields, ["a;b"]);
    assert_eq!(reimport_demands(std::slice::from_ref(&d), Format::Csv)[0].cost.fields, ["a", "b"]);
}

#[test]
fn csv_is_utf8_with_bom_and_escapes_formulas_but_not_numbers() {
    let mut d = demand(1, "=1+1");
    d.topic = "-负".into();
    d.cost.cadre_hours = -1.5;
    d.cost.fields = vec!["@x".into(), "y".into()];
    let bytes = export_demands(&[d], Format::Csv).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    let row = text.lines().nth(1).unwrap();
    assert!(row.contains(",'=1+1,'-负,"), "{row}");
    assert!(row.contains(",-1.5,"), "{row}");
    assert!(row.contains(",'@x;y,"), "{row}");
    assert!(text.starts_with("id,kind,source_body,title,topic,targets,starts_at,ends_at,status,origin,"));
}

#[test]
fn xlsx_escapes_text_writes_numbers_as_numbers_and_dates_as_dates() {
    let mut d = demand(1, "=1+1");
    d.cost.cadre_hours = -1.5;
    let bytes = export_demands(&[d], Format::Xlsx).unwrap();
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let header: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let row = range.rows().nth(1).unwrap();
    assert_eq!(row[col("title")], Data::String("'=1+1".into()));
    assert_eq!(row[col("cadre_hours")], Data::Float(-1.5));
    assert_eq!(row[col("cadres_required")], Data::Float(4.0));
    assert_eq!(row[col("video")], Data::Bool(false));
    assert!(matches!(row[col("starts_at")], Data::DateTime(_)), "{:?}", row[col("starts_at")]);
}

#[test]
fn json_is_a_pretty_array_with_keys_in_column_order() {
    let bytes = export_demands(&demands()[..1], Format::Json).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.starts_with("[\n  {\n    \"id\": "), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let item = &v[0];
    assert_eq!(item["targets"], serde_json::json!(["3501", "350102"]));
    assert_eq!(item["attend_levels"], serde_json::json!(["prefecture", "county", "village"]));
    assert_eq!(item["cadre_hours"], serde_json::json!(2.75));
    assert_eq!(item["forms"], serde_json::json!(2));
    assert_eq!(item["title"], serde_json::json!("逗号,在中间"));
    assert_eq!(item["starts_at"], serde_json::json!("2026-03-02 09:00"));
    let keys: Vec<usize> =
        ["id", "kind", "source_body", "doc_chars"].iter().map(|k| text.find(k).unwrap()).collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(export_units(&[], Format::Json).unwrap(), b"[]\n");
}

#[test]
fn empty_exports_still_import() {
    for format in Format::ALL {
        assert!(reimport_units(&[], format).is_empty());
        assert!(reimport_demands(&[], format).is_empty());
    }
}

/// Text without leading or trailing whitespace (import trims cells), mixing the characters
/// that matter to CSV, XLSX and formula escaping.
fn text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-z0-9 ,\"'=+@;\\-农田建设“”_]{1,12}")
        .unwrap()
        .prop_map(|s| s.trim().to_owned())
        .prop_filter("not blank", |s| !s.is_empty())
}

fn field_name() -> impl Strategy<Value = String> {
    text().prop_map(|s| s.replace(';', "").trim().to_owned()).prop_filter("not blank", |s| !s.is_empty())
}

prop_compose! {
    fn any_demand()(
        n in 0u128..1_000_000,
        title in text(),
        topic in proptest::option::of(text()),
        fields in proptest::collection::vec(field_name(), 0..3),
        cadre_hours in 0.0f64..1.0e6,
        host in 0.0f64..100.0,
        counts in proptest::array::uniform5(0u32..u32::MAX),
        minutes in 0i64..600_000,
        length in 0i64..100_000,
        video in any::<bool>(),
    ) -> Demand {
        let starts_at = at(1, 0, 0, 0) + chrono::Duration::seconds(minutes * 60 + minutes % 7);
        Demand {
            id: id(n),
            kind: DemandKind::Document,
            source_body: id(FARMLAND),
            source_department: id(AGRI),
            title,
            topic: topic.unwrap_or_default(),
            targets: vec![code("350102001001"), code("3501")],
            starts_at,
            ends_at: starts_at + chrono::Duration::seconds(length),
            status: DemandStatus::Cancelled,
            origin: DemandOrigin::Registered,
            cost: Cost {
                cadre_hours,
                cadres_required: counts[0],
                host_person_days: host,
                visitors: counts[1],
                forms: counts[2],
                fields,
                attend_levels: vec![],
                video,
                indicators: counts[3],
                doc_chars: counts[4],
                speech_minutes: counts[0] % 1441,
                flags: Flag::from_bits(counts[1]),
            },
            revision: 1,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_demands_round_trip(demands in proptest::collection::vec(any_demand(), 1..4)) {
        let mut demands = demands;
        for (i, d) in demands.iter_mut().enumerate() {
            d.id = id(i as u128 + 1);
        }
        for format in Format::ALL {
            prop_assert_eq!(&reimport_demands(&demands, format), &demands, "{:?}", format);
        }
    }

    #[test]
    fn any_unit_names_round_trip(names in proptest::collection::vec(text(), 1..5)) {
        let units: Vec<Unit> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Unit::new(code(&format!("35{:02}", i + 1)), n.clone()))
            .collect();
        let known = Known { units: [code("35")].into_iter().collect(), bodies: vec![] };
        for format in Format::ALL {
            let bytes = export_units(&units, format).unwrap();
            let back = import_units(&read_table(&file(format), &bytes).unwrap(), &known);
            prop_assert_eq!(&back.unwrap(), &units, "{:?}", format);
        }
    }
}

#[test]
fn the_earliest_allowed_dates_round_trip() {
    // 1900 is the domain's first year and the start of Excel's calendar (whose serials
    // are off by one before 1 March 1900).
    let mut d = demand(1, "古");
    d.starts_at = NaiveDate::from_ymd_opt(1900, 1, 2).unwrap().and_hms_opt(8, 0, 0).unwrap();
    for format in Format::ALL {
        assert_eq!(reimport_demands(std::slice::from_ref(&d), format), [d.clone()], "{format:?}");
    }
}
