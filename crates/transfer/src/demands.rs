//! Demands: import and export of ledger entries, one per row, with their cost model.

use std::collections::HashMap;

use tongxin_domain::{Body, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Flag, Level, UnitCode};
use uuid::Uuid;

use crate::columns::{
    CODE_SEPARATORS, ColumnSpec, Columns, DateEnd, Reason, RowReader, TEXT_SEPARATORS, parse_bool,
    parse_datetime, parse_f64, parse_level, parse_u32, read_id,
};
use crate::error::{ExportError, ImportErrors, Problems};
use crate::export::{Value, write};
use crate::table::{Format, Table};
use crate::{BodyIndex, Known, References};

/// The demands columns (main Chinese aliases in parentheses):
/// - `id` (编号): optional UUID, a new one when empty;
/// - `kind` (类型, 事项类型), required: code (`meeting`) or Chinese (`会议`);
/// - `source_body` (发起机构, 来源机构, 发起部门), required: a body's UUID, or
///   `<unit code>/<department name>`, or `<unit code>/<department name>/<division name>`;
/// - `title` (标题), required; `topic` (事项, 主题), optional;
/// - `targets` (对象单位, 目标单位), required: unit codes separated by `;`, `；`, `,`, `，`,
///   `、` or spaces (a JSON array also works);
/// - `starts_at` (开始时间), `ends_at` (结束时间), required: `YYYY-MM-DD HH:MM[:SS]`, also with
///   `T` or `/`, or `YYYY年M月D日 HH:MM`; a bare date means 00:00 for `starts_at` and
///   23:59:59 for `ends_at`;
/// - `status` (状态): `planned` (default), `held`, `cancelled` or 计划, 已开展, 已取消;
/// - `origin` (登记方式): `registered` (default) or `reported` (also 登记, 上报);
/// - `cadre_hours` (干部工时), `host_person_days` (接待人天): decimal numbers, default 0;
/// - `cadres_required` (参与干部数), `visitors` (来访人数), `forms` (表格数), `indicators`
///   (指标数), `doc_chars` (文件字数): whole numbers, default 0;
/// - `fields` (字段): field names separated by `;` or `；` (a JSON array also works);
/// - `attend_levels` (参会层级): level codes or Chinese names, separated like targets;
/// - `video` (视频会议): true/false, 1/0, 是/否; empty is false;
/// - `speech_minutes` (讲话时长): whole minutes of the principal speech, default 0;
/// - `flags` (标记): flag codes or Chinese names (`comprehensive`, 一票否决, …), separated
///   like targets.
///
/// `source_department` is taken from the source body and `revision` is 1.
pub const DEMAND_COLUMNS: &[ColumnSpec] = &[
    ColumnSpec { name: "id", aliases: &["编号", "标识"], required: false },
    ColumnSpec { name: "kind", aliases: &["类型", "事项类型", "类别"], required: true },
    ColumnSpec {
        name: "source_body",
        aliases: &["发起机构", "来源机构", "发起部门", "发起单位"],
        required: true,
    },
    ColumnSpec { name: "title", aliases: &["标题", "名称"], required: true },
    ColumnSpec { name: "topic", aliases: &["事项", "主题"], required: false },
    ColumnSpec { name: "targets", aliases: &["对象单位", "目标单位", "对象"], required: true },
    ColumnSpec { name: "starts_at", aliases: &["开始时间"], required: true },
    ColumnSpec { name: "ends_at", aliases: &["结束时间"], required: true },
    ColumnSpec { name: "status", aliases: &["状态"], required: false },
    ColumnSpec { name: "origin", aliases: &["登记方式"], required: false },
    ColumnSpec { name: "cadre_hours", aliases: &["干部工时", "耗用工时"], required: false },
    ColumnSpec { name: "cadres_required", aliases: &["参与干部数", "需干部数"], required: false },
    ColumnSpec { name: "host_person_days", aliases: &["接待人天", "接待人日"], required: false },
    ColumnSpec { name: "visitors", aliases: &["来访人数", "工作组人数"], required: false },
    ColumnSpec { name: "forms", aliases: &["表格数"], required: false },
    ColumnSpec { name: "fields", aliases: &["字段"], required: false },
    ColumnSpec { name: "attend_levels", aliases: &["参会层级"], required: false },
    ColumnSpec { name: "video", aliases: &["视频会议"], required: false },
    ColumnSpec { name: "indicators", aliases: &["指标数"], required: false },
    ColumnSpec { name: "doc_chars", aliases: &["文件字数"], required: false },
    ColumnSpec { name: "speech_minutes", aliases: &["讲话时长", "讲话分钟"], required: false },
    ColumnSpec { name: "flags", aliases: &["标记", "性质与要求"], required: false },
];

fn parse_flag(s: &str) -> Result<Flag, Reason> {
    Flag::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
        let codes = Flag::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ");
        (
            format!("未知的标记“{s}”（应为 {codes} 或其中文名）"),
            format!("unknown flag '{s}' (expected one of {codes})"),
        )
    })
}

fn parse_kind(s: &str) -> Result<DemandKind, Reason> {
    DemandKind::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
        let codes = DemandKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        let zh = DemandKind::ALL.iter().map(|k| k.zh()).collect::<Vec<_>>().join("、");
        (
            format!("未知的类型“{s}”（应为 {zh}，或 {codes}）"),
            format!("unknown kind '{s}' (expected one of {codes})"),
        )
    })
}

fn parse_status(s: &str) -> Result<DemandStatus, Reason> {
    DemandStatus::parse(&s.to_ascii_lowercase()).ok_or_else(|| {
        (
            format!("未知的状态“{s}”（应为 计划、已开展、已取消，或 planned、held、cancelled）"),
            format!("unknown status '{s}' (expected planned, held or cancelled)"),
        )
    })
}

fn parse_origin(s: &str) -> Result<DemandOrigin, Reason> {
    let lower = s.to_ascii_lowercase();
    DemandOrigin::parse(&lower)
        .or(match s {
            "登记" | "主动登记" | "部门登记" => Some(DemandOrigin::Registered),
            "上报" | "基层上报" | "反映" | "基层反映" => Some(DemandOrigin::Reported),
            _ => None,
        })
        .ok_or_else(|| {
            (
                format!("未知的登记方式“{s}”（应为 登记、上报，或 registered、reported）"),
                format!("unknown origin '{s}' (expected registered or reported)"),
            )
        })
}

/// Finds the source body: a UUID, `unit/department` or `unit/department/division`.
pub(crate) fn resolve_body<'a>(s: &str, index: &BodyIndex<'a>) -> Result<&'a Body, Reason> {
    if let Ok(id) = Uuid::parse_str(s) {
        return index.get(&id).ok_or_else(|| (format!("机构 {id} 不存在"), format!("unknown body {id}")));
    }
    let Some((code, rest)) = s.split_once(['/', '／']) else {
        return Err((
            format!("无法识别的机构“{s}”（应为机构编号，或“区划代码/部门名称[/处室名称]”）"),
            format!("unknown body '{s}' (expected a UUID or <unit code>/<department>[/<division>])"),
        ));
    };
    let unit = UnitCode::parse(code).map_err(crate::units::first_reason)?;
    let rest = rest.trim();
    let one = |found: &[&'a Body], what: &str| -> Result<Option<&'a Body>, Reason> {
        match found {
            [] => Ok(None),
            [b] => Ok(Some(*b)),
            many => Err((
                format!("单位 {unit} 有 {} 个名为“{what}”的机构，请填写机构编号", many.len()),
                format!("ambiguous body: {} bodies named '{what}' at unit {unit}; give its id", many.len()),
            )),
        }
    };
    if let Some(b) = one(index.named(&unit, rest), rest)? {
        return Ok(b);
    }
    if let Some((dept, division)) = rest.rsplit_once(['/', '／']) {
        let (dept, division) = (dept.trim(), division.trim());
        if let Some(d) = one(index.named(&unit, dept), dept)?
            && let Some(b) = one(index.divisions_named(d.id, division), division)?
        {
            return Ok(b);
        }
    }
    Err((format!("单位 {unit} 没有机构“{rest}”"), format!("unknown body: no '{rest}' at unit {unit}")))
}

/// The import column a field of [`Demand::validate`] belongs to.
fn column_of(field: &str) -> String {
    let f = field.strip_prefix("cost.").unwrap_or(field);
    f.split('[').next().unwrap_or(f).to_owned()
}

/// Reads demands from `table`. Source bodies are looked up in `known.bodies`, targets in
/// `known.units`; then [`Demand::validate`] runs on each row that parsed, its problems
/// placed in their columns. Returns the demands in file order.
pub fn import_demands(table: &Table, known: &Known) -> Result<Vec<Demand>, ImportErrors> {
    let mut problems = Problems::new(&table.file, table.row_label());
    let Some(cols) = Columns::resolve(table, DEMAND_COLUMNS, &mut problems) else {
        return Err(problems.into_errors());
    };
    let index = BodyIndex::new(&known.bodies);
    let mut ids: HashMap<Uuid, usize> = HashMap::with_capacity(table.rows.len());
    let mut demands = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        let id = read_id(&mut r, &mut ids);
        let kind = r.required("kind", parse_kind);
        let source = r.required("source_body", |s| resolve_body(s, &index));
        let title = r.text("title").to_owned();
        let topic = r.text("topic").to_owned();
        let mut targets = Vec::new();
        let target_codes = r.list("targets", CODE_SEPARATORS);
        if target_codes.is_empty() {
            r.error("targets", "不能为空", "must not be empty");
        }
        for t in target_codes {
            match UnitCode::parse(&t) {
                Err(invalid) => r.reason("targets", crate::units::first_reason(invalid)),
                Ok(code) if !known.units.contains(&code) => r.error(
                    "targets",
                    format!("对象单位 {code} 不存在"),
                    format!("unknown target unit {code}"),
                ),
                Ok(code) => targets.push(code),
            }
        }
        let starts_at = r.required("starts_at", |s| parse_datetime(s, DateEnd::Start));
        let ends_at = r.required("ends_at", |s| parse_datetime(s, DateEnd::End));
        let status = r.parsed("status", DemandStatus::Planned, parse_status);
        let origin = r.parsed("origin", DemandOrigin::Registered, parse_origin);
        let cadre_hours = r.parsed("cadre_hours", 0.0, parse_f64);
        let cadres_required = r.parsed("cadres_required", 0, parse_u32);
        let host_person_days = r.parsed("host_person_days", 0.0, parse_f64);
        let visitors = r.parsed("visitors", 0, parse_u32);
        let forms = r.parsed("forms", 0, parse_u32);
        let fields = r.list("fields", TEXT_SEPARATORS);
        let mut attend_levels: Vec<Level> = Vec::new();
        for l in r.list("attend_levels", CODE_SEPARATORS) {
            match parse_level(&l) {
                Ok(level) => attend_levels.push(level),
                Err(reason) => r.reason("attend_levels", reason),
            }
        }
        let video = r.parsed("video", false, parse_bool);
        let indicators = r.parsed("indicators", 0, parse_u32);
        let doc_chars = r.parsed("doc_chars", 0, parse_u32);
        let speech_minutes = r.parsed("speech_minutes", 0, parse_u32);
        let mut flags: Vec<Flag> = Vec::new();
        for f in r.list("flags", CODE_SEPARATORS) {
            match parse_flag(&f) {
                Ok(flag) => flags.push(flag),
                Err(reason) => r.reason("flags", reason),
            }
        }
        if !r.clean() {
            continue;
        }
        let (
            Some(id),
            Some(kind),
            Some(source),
            Some(starts_at),
            Some(ends_at),
            Some(status),
            Some(origin),
            Some(cadre_hours),
            Some(cadres_required),
            Some(host_person_days),
            Some(visitors),
            Some(forms),
            Some(video),
            Some(indicators),
            Some(doc_chars),
            Some(speech_minutes),
        ) = (
            id,
            kind,
            source,
            starts_at,
            ends_at,
            status,
            origin,
            cadre_hours,
            cadres_required,
            host_person_days,
            visitors,
            forms,
            video,
            indicators,
            doc_chars,
            speech_minutes,
        )
        else {
            continue;
        };
        let demand = Demand {
            id,
            kind,
            source_body: source.id,
            source_department: source.department(),
            title,
            topic,
            targets,
            starts_at,
            ends_at,
            status,
            origin,
            cost: Cost {
                cadre_hours,
                cadres_required,
                host_person_days,
                visitors,
                forms,
                fields,
                attend_levels,
                video,
                indicators,
                doc_chars,
                speech_minutes,
                flags,
            },
            revision: 1,
        };
        match demand.validate() {
            Ok(()) => demands.push(demand),
            Err(invalid) => {
                for e in &invalid.0 {
                    r.field_error(e, column_of);
                }
            }
        }
    }
    problems.finish(demands)
}

/// Writes demands in [`DEMAND_COLUMNS`]; `source_body` as the body's UUID. `revision` and
/// `source_department` are not written (an import starts at revision 1 and takes the
/// department from the body).
pub fn export_demands(demands: &[Demand], format: Format) -> Result<Vec<u8>, ExportError> {
    let headers: Vec<&str> = DEMAND_COLUMNS.iter().map(|c| c.name).collect();
    let rows: Vec<Vec<Value>> = demands
        .iter()
        .map(|d| {
            let c = &d.cost;
            vec![
                Value::Text(d.id.to_string()),
                Value::Text(d.kind.as_str().to_owned()),
                Value::Text(d.source_body.to_string()),
                Value::Text(d.title.clone()),
                Value::Text(d.topic.clone()),
                Value::List(d.targets.iter().map(UnitCode::to_string).collect()),
                Value::DateTime(d.starts_at),
                Value::DateTime(d.ends_at),
                Value::Text(d.status.as_str().to_owned()),
                Value::Text(d.origin.as_str().to_owned()),
                Value::Float(c.cadre_hours),
                Value::Int(c.cadres_required.into()),
                Value::Float(c.host_person_days),
                Value::Int(c.visitors.into()),
                Value::Int(c.forms.into()),
                Value::List(c.fields.clone()),
                Value::List(c.attend_levels.iter().map(|l| l.as_str().to_owned()).collect()),
                Value::Bool(c.video),
                Value::Int(c.indicators.into()),
                Value::Int(c.doc_chars.into()),
                Value::Int(c.speech_minutes.into()),
                Value::List(c.flags.iter().map(|f| f.as_str().to_owned()).collect()),
            ]
        })
        .collect();
    write(&headers, &rows, format)
}

pub(crate) fn references(table: &Table) -> References {
    let cols = Columns::lenient(table, DEMAND_COLUMNS);
    let mut problems = Problems::new(&table.file, table.row_label());
    let mut refs = References::default();
    for row in &table.rows {
        let mut r = RowReader::new(row, &cols, &mut problems);
        let source = r.text("source_body");
        if let Ok(id) = Uuid::parse_str(source) {
            refs.body_ids.insert(id);
        } else if let Some((code, _)) = source.split_once(['/', '／'])
            && let Ok(unit) = UnitCode::parse(code)
        {
            refs.bodies_at.insert(unit);
        }
        for t in r.list("targets", CODE_SEPARATORS) {
            if let Ok(code) = UnitCode::parse(&t) {
                refs.unit_codes.insert(code);
            }
        }
    }
    refs
}
