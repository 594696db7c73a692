//! Units: import and export of administrative units (`code, name, cadres`).

use std::collections::HashMap;

use tongxin_domain::{Unit, UnitCode};

use crate::columns::{ColumnSpec, Columns, RowReader, parse_u32};
use crate::error::{ExportError, ImportErrors, Problems};
use crate::export::{Value, write};
use crate::table::{Format, Table};
use crate::{Known, References};

/// The units columns:
/// - `code` (代码, 区划代码, 统计用区划代码), required: the official division code;
/// - `name` (名称, 单位名称), required;
/// - `cadres` (干部数, 干部人数), optional: empty means the level's estimate.
pub const UNIT_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec {
        name: "code", aliases: &["代码", "区划代码", "统计用区划代码", "单位代码"], required: true
    },
    ColumnSpec { name: "name", aliases: &["名称", "单位名称", "区划名称"], required: true },
    ColumnSpec {
        name: "cadres", aliases: &["干部数", "干部人数", "在编干部数"], required: false
    },
];

/// Reads units from `table`. Checks codes, names, cadre numbers, duplicate codes and that
/// every unit's parent is in the file or in `known.units`.
///
/// Returns the units ordered top down (by level, file order within a level), so that the
/// caller can insert them parents first.
pub fn import_units(table: &Table, known: &Known) -> Result<Vec<Unit>, ImportErrors> {
    let mut problems = Problems::new(&table.file, table.row_label());
    let Some(cols) = Columns::resolve(table, UNIT_COLUMNS, &mut problems) else {
        return Err(problems.into_errors());
    };
    // First pass: each row alone, and duplicate codes.
    let mut seen: HashMap<UnitCode, usize> = HashMap::with_capacity(table.rows.len());
    let mut parsed: Vec<(usize, Unit)> = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        let code = r.required("code", |s| UnitCode::parse(s).map_err(first_reason));
        let name = r.text("name").to_owned();
        let cadres = r.parsed("cadres", None, |s| parse_u32(s).map(Some));
        if let Some(code) = &code {
            if let Some(first) = seen.get(code) {
                r.error(
                    "code",
                    format!("区划代码 {code} 重复：第 {first} 行和第 {} 行", r.number()),
                    format!("duplicate code {code}: rows {first} and {}", r.number()),
                );
            } else {
                seen.insert(code.clone(), r.number());
            }
        }
        let (Some(code), Some(cadres)) = (code, cadres) else {
            continue;
        };
        let mut unit = Unit::new(code, name);
        if let Some(n) = cadres {
            unit.cadres = n;
            unit.cadres_estimated = false;
        }
        if let Err(invalid) = unit.validate() {
            for e in &invalid.0 {
                r.field_error(e, str::to_owned);
            }
        }
        if r.clean() {
            parsed.push((r.number(), unit));
        }
    }
    // Second pass: parents.
    for (number, unit) in &parsed {
        if let Some(parent) = unit.parent()
            && !seen.contains_key(&parent)
            && !known.units.contains(&parent)
        {
            problems.push(
                Some(*number),
                Some("code"),
                format!("{} 的上级单位 {parent} 既不在文件中，也不在已有单位中", unit.code),
                format!("the parent {parent} of {} is neither in the file nor already known", unit.code),
            );
        }
    }
    let mut units: Vec<Unit> = parsed.into_iter().map(|(_, u)| u).collect();
    units.sort_by_key(Unit::level);
    problems.finish(units)
}

/// The first reason of a domain validation error.
pub(crate) fn first_reason(invalid: tongxin_domain::Invalid) -> (String, String) {
    invalid.0.into_iter().next().map(|e| (e.zh, e.en)).unwrap_or_default()
}

/// Writes units in [`UNIT_COLUMNS`]; an estimated cadre count is written empty.
pub fn export_units(units: &[Unit], format: Format) -> Result<Vec<u8>, ExportError> {
    let headers: Vec<&str> = UNIT_COLUMNS.iter().map(|c| c.name).collect();
    let rows: Vec<Vec<Value>> = units
        .iter()
        .map(|u| {
            vec![
                Value::Text(u.code.to_string()),
                Value::Text(u.name.clone()),
                if u.cadres_estimated { Value::Empty } else { Value::Int(u.cadres.into()) },
            ]
        })
        .collect();
    write(&headers, &rows, format)
}

pub(crate) fn references(table: &Table) -> References {
    let cols = Columns::lenient(table, UNIT_COLUMNS);
    let mut problems = Problems::new(&table.file, table.row_label());
    let mut in_file = std::collections::HashSet::new();
    let mut parents = Vec::new();
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        if let Ok(code) = UnitCode::parse(r.text("code")) {
            parents.extend(code.parent());
            in_file.insert(code);
        }
    }
    References {
        unit_codes: parents.into_iter().filter(|p| !in_file.contains(p)).collect(),
        ..References::default()
    }
}
