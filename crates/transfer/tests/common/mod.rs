//! Shared fixtures: a small known jurisdiction (units and bodies) and helpers to read
//! tables from text.

#![allow(dead_code)]

use std::collections::HashSet;

use tongxin_domain::{Body, BodyKind, UnitCode};
use tongxin_transfer::{ImportErrors, Known, Table, read_table};
use uuid::Uuid;

pub fn code(s: &str) -> UnitCode {
    UnitCode::parse(s).unwrap()
}

pub fn id(n: u128) -> Uuid {
    Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0000 | n)
}

pub const AGRI: u128 = 1;
pub const PLANTING: u128 = 2;
pub const FARMLAND: u128 = 3;
pub const EDU: u128 = 4;
pub const MARKET_A: u128 = 5;
pub const MARKET_B: u128 = 6;

pub fn body(n: u128, unit: &str, name: &str, kind: BodyKind, parent: Option<u128>) -> Body {
    Body { id: id(n), unit: code(unit), name: name.into(), kind, parent: parent.map(id) }
}

pub fn known() -> Known {
    let units = [
        "35",
        "3501",
        "350102",
        "350102001",
        "350102001001",
        "350102001002",
        "350103",
        "350104",
        "36",
        "3601",
    ];
    Known {
        units: units.iter().map(|c| code(c)).collect::<HashSet<_>>(),
        bodies: vec![
            body(AGRI, "35", "省农业农村厅", BodyKind::Department, None),
            body(PLANTING, "35", "种植业管理处", BodyKind::Division, Some(AGRI)),
            body(FARMLAND, "35", "农田建设管理处", BodyKind::Division, Some(AGRI)),
            body(EDU, "3501", "市教育局", BodyKind::Department, None),
            body(MARKET_A, "3501", "市场监管局", BodyKind::Department, None),
            body(MARKET_B, "3501", "市场监管局", BodyKind::Department, None),
        ],
    }
}

pub fn csv(file: &str, text: &str) -> Table {
    read_table(file, text.as_bytes()).unwrap()
}

/// (row, column, English reason) of every error, for compact assertions.
pub fn errors(e: &ImportErrors) -> Vec<(Option<usize>, Option<String>, String)> {
    e.errors().iter().map(|e| (e.row, e.column.clone(), e.en.clone())).collect()
}

/// Asserts that exactly the given (row, column) pairs have errors whose English reason
/// contains the given text, in order.
#[track_caller]
pub fn assert_errors(e: &ImportErrors, expected: &[(usize, &str, &str)]) {
    let got = errors(e);
    assert_eq!(got.len(), expected.len(), "errors: {got:#?}");
    for (g, (row, col, text)) in got.iter().zip(expected) {
        assert_eq!(g.0, Some(*row), "{g:?}");
        assert_eq!(g.1.as_deref(), Some(*col), "{g:?}");
        assert!(g.2.contains(text), "{:?} should contain {text:?}", g.2);
    }
}
