//! Bodies: import and export of upper-level bodies and their divisions
//! (`id, unit, name, kind, parent`).

use std::collections::{HashMap, HashSet};

use tongxin_domain::{Body, BodyKind, UnitCode};
use uuid::Uuid;

use crate::columns::{ColumnSpec, Columns, Reason, RowReader, read_id};
use crate::error::{ExportError, ImportErrors, Problems};
use crate::export::{Value, write};
use crate::table::{Format, Table};
use crate::units::first_reason;
use crate::{BodyIndex, Known, References};

/// The bodies columns:
/// - `id` (编号), optional: a UUID; a new one is made when empty;
/// - `unit` (单位, 单位代码, 所属单位), required: the code of the unit the body sits at;
/// - `name` (名称, 机构名称), required;
/// - `kind` (类型, 机构类型), required: a code (`department`) or Chinese name (`部门`);
/// - `parent` (上级部门, 所属部门), for divisions only: the department's UUID, or its name
///   at the same unit (looked up in the file and in the known bodies).
pub const BODY_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec { name: "id", aliases: &["编号", "标识"], required: false },
    ColumnSpec {
        name: "unit", aliases: &["单位", "单位代码", "所属单位", "区划代码"], required: true
    },
    ColumnSpec { name: "name", aliases: &["名称", "机构名称", "部门名称"], required: true },
    ColumnSpec { name: "kind", aliases: &["类型", "机构类型"], required: true },
    ColumnSpec { name: "parent", aliases: &["上级部门", "所属部门", "上级"], required: false },
];

pub(crate) fn parse_body_kind(s: &str) -> Result<BodyKind, Reason> {
    BodyKind::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
        let codes = BodyKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        let zh = BodyKind::ALL.iter().map(|k| k.zh()).collect::<Vec<_>>().join("、");
        (
            format!("未知的机构类型“{s}”（应为 {zh} 或 {codes}）"),
            format!("unknown kind '{s}' (expected one of {codes})"),
        )
    })
}

/// One row read alone, before parents are resolved.
struct Draft<'t> {
    number: usize,
    id: Uuid,
    unit: Option<UnitCode>,
    name: String,
    kind: Option<BodyKind>,
    parent: &'t str,
    clean: bool,
}

impl Draft<'_> {
    /// The body as far as known (parent not yet set); `None` when unit or kind is unknown.
    fn body(&self) -> Option<Body> {
        Some(Body {
            id: self.id,
            unit: self.unit.clone()?,
            name: self.name.clone(),
            kind: self.kind?,
            parent: None,
        })
    }
}

/// Reads bodies from `table`. Checks units against `known.units`, kinds, parents (by id or
/// by name at the same unit, in the file or in `known.bodies`), duplicate ids, and
/// [`Body::validate`].
///
/// Returns every body other than a division first, then the divisions (file order within
/// each group), so that the caller can insert them parents first.
pub fn import_bodies(table: &Table, known: &Known) -> Result<Vec<Body>, ImportErrors> {
    let mut problems = Problems::new(&table.file, table.row_label());
    let Some(cols) = Columns::resolve(table, BODY_COLUMNS, &mut problems) else {
        return Err(problems.into_errors());
    };
    let index = BodyIndex::new(&known.bodies);

    // First pass: each row alone, and duplicate ids.
    let mut drafts: Vec<Draft> = Vec::with_capacity(table.rows.len());
    let mut ids: HashMap<Uuid, usize> = HashMap::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        let id = read_id(&mut r, &mut ids);
        let unit = r.required("unit", |s| UnitCode::parse(s).map_err(first_reason));
        if let Some(u) = &unit
            && !known.units.contains(u)
        {
            r.error("unit", format!("单位 {u} 不存在"), format!("unknown unit {u}"));
        }
        let name = r.text("name").to_owned();
        let kind = r.required("kind", parse_body_kind);
        let parent = r.text("parent");
        let clean = r.clean();
        drafts.push(Draft {
            number: row.number,
            id: id.unwrap_or_default(),
            unit,
            name,
            kind,
            parent,
            clean,
        });
    }

    // Bodies of the file by id and, other than divisions, by unit and name.
    let mut file_by_id: HashMap<Uuid, usize> = HashMap::with_capacity(drafts.len());
    let mut file_by_name: HashMap<(&UnitCode, &str), Vec<usize>> = HashMap::new();
    for (i, d) in drafts.iter().enumerate() {
        file_by_id.entry(d.id).or_insert(i);
        if let (Some(unit), Some(kind)) = (&d.unit, d.kind)
            && kind != BodyKind::Division
        {
            file_by_name.entry((unit, d.name.trim())).or_default().push(i);
        }
    }

    // Second pass: parents and validation.
    let mut bodies = Vec::with_capacity(drafts.len());
    for d in &drafts {
        let err =
            |p: &mut Problems, col: &str, zh: String, en: String| p.push(Some(d.number), Some(col), zh, en);
        let Some(mut body) = d.body().filter(|_| d.clean) else {
            continue;
        };
        // The parent, if any, and whether it could be checked.
        let mut parent_body: Option<Body> = None;
        let mut parent_ok = true;
        if !d.parent.is_empty() {
            let raw = d.parent;
            let found: Result<Body, (String, String)> = if let Ok(id) = Uuid::parse_str(raw) {
                match file_by_id.get(&id) {
                    Some(&i) => drafts[i].body().ok_or_default(),
                    None => index
                        .get(&id)
                        .cloned()
                        .ok_or_else(|| (format!("上级部门 {id} 不存在"), format!("unknown parent {id}"))),
                }
            } else {
                let mut candidates: Vec<Body> = Vec::new();
                let mut seen = HashSet::new();
                for &i in file_by_name.get(&(&body.unit, raw)).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(b) = drafts[i].body().filter(|b| b.id != body.id)
                        && seen.insert(b.id)
                    {
                        candidates.push(b);
                    }
                }
                for b in index.named(&body.unit, raw) {
                    if seen.insert(b.id) {
                        candidates.push((*b).clone());
                    }
                }
                match candidates.len() {
                    1 => Ok(candidates.remove(0)),
                    0 => Err((
                        format!("单位 {} 没有名为“{raw}”的部门", body.unit),
                        format!("unknown parent: no department named '{raw}' at unit {}", body.unit),
                    )),
                    n => Err((
                        format!("单位 {} 有 {n} 个名为“{raw}”的部门，请填写上级部门的编号", body.unit),
                        format!(
                            "ambiguous parent: {n} departments named '{raw}' at unit {}; give its id",
                            body.unit
                        ),
                    )),
                }
            };
            match found {
                Ok(p) => {
                    body.parent = Some(p.id);
                    parent_body = Some(p);
                }
                // An empty reason: the parent row is broken and reported on its own row.
                Err((zh, _)) if zh.is_empty() => parent_ok = false,
                Err((zh, en)) => {
                    err(&mut problems, "parent", zh, en);
                    parent_ok = false;
                }
            }
        }
        if !parent_ok {
            continue;
        }
        match body.validate(parent_body.as_ref()) {
            Ok(()) => bodies.push(body),
            Err(invalid) => {
                for e in invalid.0 {
                    err(&mut problems, &e.field, e.zh, e.en);
                }
            }
        }
    }
    bodies.sort_by_key(|b| b.kind == BodyKind::Division);
    problems.finish(bodies)
}

/// `Option` → `Result` with an empty reason (the problem is reported elsewhere).
trait OkOrDefault<T> {
    fn ok_or_default(self) -> Result<T, (String, String)>;
}

impl<T> OkOrDefault<T> for Option<T> {
    fn ok_or_default(self) -> Result<T, (String, String)> {
        self.ok_or_else(Default::default)
    }
}

/// Writes bodies in [`BODY_COLUMNS`]; `parent` as the department's UUID.
pub fn export_bodies(bodies: &[Body], format: Format) -> Result<Vec<u8>, ExportError> {
    let headers: Vec<&str> = BODY_COLUMNS.iter().map(|c| c.name).collect();
    let rows: Vec<Vec<Value>> = bodies
        .iter()
        .map(|b| {
            vec![
                Value::Text(b.id.to_string()),
                Value::Text(b.unit.to_string()),
                Value::Text(b.name.clone()),
                Value::Text(b.kind.as_str().to_owned()),
                b.parent.map_or(Value::Empty, |p| Value::Text(p.to_string())),
            ]
        })
        .collect();
    write(&headers, &rows, format)
}

pub(crate) fn references(table: &Table) -> References {
    let cols = Columns::lenient(table, BODY_COLUMNS);
    let mut problems = Problems::new(&table.file, table.row_label());
    let mut refs = References::default();
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        if let Ok(unit) = UnitCode::parse(r.text("unit")) {
            refs.unit_codes.insert(unit.clone());
            refs.bodies_at.insert(unit);
        }
        if let Ok(id) = Uuid::parse_str(r.text("parent")) {
            refs.body_ids.insert(id);
        }
    }
    refs
}
