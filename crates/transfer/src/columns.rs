//! Columns: matching headers to canonical column names (English or Chinese aliases), reading
//! one row's cells by column, and parsing cell text into numbers, dates, flags and lists,
//! with a zh/en reason for every refusal.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use tongxin_domain::{FieldError, Level};
use uuid::Uuid;

use crate::error::Problems;
use crate::table::{Cell, Row, Table};

/// One column an importer understands.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// The canonical (English) name, also used by the exporters.
    pub name: &'static str,
    /// Other accepted headers (Chinese), compared after the same normalisation.
    pub aliases: &'static [&'static str],
    pub required: bool,
}

/// The header as compared: trimmed, lower case, spaces and dashes as `_`, and a trailing
/// required-marker `*` or note in parentheses (`开始时间（YYYY-MM-DD HH:MM）`) removed.
fn normalise(header: &str) -> String {
    let mut h = header.trim();
    if let Some(i) = h.find(['(', '（'])
        && i > 0
    {
        h = &h[..i];
    }
    let h = h.trim().trim_end_matches(['*', '＊']).trim();
    h.chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect()
}

/// Where each known column sits in a table.
#[derive(Debug)]
pub(crate) struct Columns {
    specs: &'static [ColumnSpec],
    index: Vec<Option<usize>>,
}

impl Columns {
    /// Matches `table`'s headers against `specs`. Reports unknown, duplicate and missing
    /// required columns; `None` when there was any such problem.
    pub(crate) fn resolve(
        table: &Table,
        specs: &'static [ColumnSpec],
        problems: &mut Problems,
    ) -> Option<Columns> {
        let before = problems.total();
        let cols = Self::matching(table, specs, Some(problems));
        if problems.total() > before { None } else { Some(cols) }
    }

    /// Matches quietly, ignoring every problem (for [`crate::references`]).
    pub(crate) fn lenient(table: &Table, specs: &'static [ColumnSpec]) -> Columns {
        Self::matching(table, specs, None)
    }

    fn matching(table: &Table, specs: &'static [ColumnSpec], mut problems: Option<&mut Problems>) -> Columns {
        let mut index = vec![None; specs.len()];
        let header_row = |i: usize| table.header_rows.get(i).copied();
        for (i, header) in table.headers.iter().enumerate() {
            let norm = normalise(header);
            if norm.is_empty() {
                let used = table.rows.iter().any(|r| match r.cells.get(i) {
                    Some(Cell::Text(s)) => !s.trim().is_empty(),
                    Some(Cell::List(v)) => !v.is_empty(),
                    None => false,
                });
                if used && let Some(p) = problems.as_deref_mut() {
                    p.push(
                        header_row(i),
                        None,
                        format!("第 {} 列有数据但没有列名", i + 1),
                        format!("column {} holds data but has no header", i + 1),
                    );
                }
                continue;
            }
            let found = specs
                .iter()
                .position(|s| normalise(s.name) == norm || s.aliases.iter().any(|a| normalise(a) == norm));
            match found {
                Some(k) if index[k].is_none() => index[k] = Some(i),
                Some(k) => {
                    if let Some(p) = problems.as_deref_mut() {
                        let first = index[k].and_then(|j| table.headers.get(j)).cloned().unwrap_or_default();
                        p.push(
                            header_row(i),
                            Some(header),
                            format!("列“{header}”与列“{first}”重复（都表示 {}）", specs[k].name),
                            format!(
                                "column '{header}' repeats column '{first}' (both mean {})",
                                specs[k].name
                            ),
                        );
                    }
                }
                None => {
                    if let Some(p) = problems.as_deref_mut() {
                        let names = specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
                        p.push(
                            header_row(i),
                            Some(header),
                            format!("未知的列“{header}”（可用的列：{names}）"),
                            format!("unknown column '{header}' (known columns: {names})"),
                        );
                    }
                }
            }
        }
        if let Some(p) = problems.as_deref_mut() {
            let width = table.headers.len();
            for row in &table.rows {
                let extra = row.cells.iter().skip(width).filter(|c| !c.is_blank()).count();
                if extra > 0 {
                    p.push(
                        Some(row.number),
                        None,
                        format!("此行有 {} 个单元格，多于表头的 {width} 列", width + extra),
                        format!("the row has cells beyond the {width} columns of the header"),
                    );
                }
            }
        }
        // An empty JSON array has no keys at all: nothing is missing from no items.
        let no_items = table.format == crate::Format::Json && table.rows.is_empty();
        if let Some(p) = problems.filter(|_| !no_items) {
            let header_row =
                table.header_rows.first().copied().filter(|_| table.row_label() == crate::RowLabel::Row);
            for (k, spec) in specs.iter().enumerate() {
                if spec.required && index[k].is_none() {
                    p.push(
                        header_row,
                        Some(spec.name),
                        format!("缺少必填列 {}", spec.name),
                        format!("required column {} is missing", spec.name),
                    );
                }
            }
        }
        Columns { specs, index }
    }

    fn position(&self, name: &str) -> Option<usize> {
        let k = self.specs.iter().position(|s| s.name == name);
        debug_assert!(k.is_some(), "column {name} is not in the spec");
        k.and_then(|k| self.index[k])
    }
}

/// A reason for refusing a cell: (zh, en).
pub(crate) type Reason = (String, String);

/// One row being read: its cells by column name, and where its problems go.
pub(crate) struct RowReader<'a, 'p> {
    pub(crate) row: &'a Row,
    cols: &'a Columns,
    problems: &'p mut Problems,
    before: usize,
}

impl<'a, 'p> RowReader<'a, 'p> {
    pub(crate) fn new(row: &'a Row, cols: &'a Columns, problems: &'p mut Problems) -> Self {
        let before = problems.total();
        RowReader { row, cols, problems, before }
    }

    pub(crate) fn number(&self) -> usize {
        self.row.number
    }

    /// True when no problem has been reported for this row so far.
    pub(crate) fn clean(&self) -> bool {
        self.problems.total() == self.before
    }

    pub(crate) fn error(&mut self, column: &str, zh: impl Into<String>, en: impl Into<String>) {
        self.problems.push(Some(self.row.number), Some(column), zh, en);
    }

    pub(crate) fn reason(&mut self, column: &str, (zh, en): Reason) {
        self.error(column, zh, en);
    }

    /// A domain validation error, placed in the column its field maps to.
    pub(crate) fn field_error(&mut self, e: &FieldError, column: impl Fn(&str) -> String) {
        let col = column(&e.field);
        self.problems.push(Some(self.row.number), Some(&col), e.zh.clone(), e.en.clone());
    }

    fn cell(&self, column: &str) -> Option<&'a Cell> {
        self.cols.position(column).and_then(|i| self.row.cells.get(i))
    }

    /// The trimmed text of a single-value column ("" when absent); `None` (reported) when
    /// the cell is a list.
    fn scalar(&mut self, column: &str) -> Option<&'a str> {
        match self.cell(column) {
            None => Some(""),
            Some(Cell::Text(s)) => Some(s.trim()),
            Some(Cell::List(_)) => {
                self.error(column, "此列须为单个值，不能是数组", "expected a single value, not a list");
                None
            }
        }
    }

    /// The trimmed text of a single-value column ("" when absent or refused).
    pub(crate) fn text(&mut self, column: &str) -> &'a str {
        self.scalar(column).unwrap_or("")
    }

    /// The non-empty trimmed items of a list column: a JSON array, or text split at `seps`.
    pub(crate) fn list(&self, column: &str, seps: &[char]) -> Vec<String> {
        let items: Vec<&str> = match self.cell(column) {
            None => vec![],
            Some(Cell::Text(s)) => s.split(|c: char| seps.contains(&c)).collect(),
            Some(Cell::List(v)) => v.iter().map(String::as_str).collect(),
        };
        items.into_iter().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    /// Parses an optional cell with `parse`; `default` when empty, `None` after an error.
    pub(crate) fn parsed<T>(
        &mut self,
        column: &str,
        default: T,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Option<T> {
        let s = self.scalar(column)?;
        if s.is_empty() {
            return Some(default);
        }
        match parse(s) {
            Ok(v) => Some(v),
            Err(r) => {
                self.reason(column, r);
                None
            }
        }
    }

    /// Parses a required cell with `parse`; reports an empty cell.
    pub(crate) fn required<T>(
        &mut self,
        column: &str,
        parse: impl FnOnce(&str) -> Result<T, Reason>,
    ) -> Option<T> {
        let s = self.scalar(column)?;
        if s.is_empty() {
            self.error(column, "不能为空", "must not be empty");
            return None;
        }
        match parse(s) {
            Ok(v) => Some(v),
            Err(r) => {
                self.reason(column, r);
                None
            }
        }
    }
}

/// Separators of lists of codes (targets, levels).
pub(crate) const CODE_SEPARATORS: &[char] = &[';', '；', ',', '，', '、', ' ', '\t', '\n', '\r'];
/// Separators of lists of free text (field names): semicolons only, so names may hold commas.
pub(crate) const TEXT_SEPARATORS: &[char] = &[';', '；'];

/// A whole number from 0 to `u32::MAX`; `3.0` (as spreadsheets and JSON write it) is accepted.
pub(crate) fn parse_u32(s: &str) -> Result<u32, Reason> {
    if let Ok(n) = s.parse::<u32>() {
        return Ok(n);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&f) => {
            Ok(f as u32)
        }
        _ => Err((
            format!("“{s}”不是有效的数字（应为 0 到 4294967295 的整数）"),
            format!("bad number '{s}' (expected a whole number from 0 to 4294967295)"),
        )),
    }
}

/// A finite decimal number.
pub(crate) fn parse_f64(s: &str) -> Result<f64, Reason> {
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(f),
        _ => {
            Err((format!("“{s}”不是有效的数字"), format!("bad number '{s}' (expected a number such as 1.5)")))
        }
    }
}

/// `true/false`, `1/0`, `yes/no`, `是/否`, `y/n` (any case).
pub(crate) fn parse_bool(s: &str) -> Result<bool, Reason> {
    match s.to_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "是" | "√" => Ok(true),
        "false" | "0" | "no" | "n" | "否" | "×" => Ok(false),
        _ => Err((
            format!("“{s}”不是有效的是/否值（应为 是、否、true、false、1 或 0）"),
            format!("bad yes/no value '{s}' (expected true, false, 1, 0, 是 or 否)"),
        )),
    }
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, Reason> {
    Uuid::parse_str(s)
        .map_err(|_| (format!("“{s}”不是有效的 UUID"), format!("bad id '{s}' (expected a UUID)")))
}

/// Which end of a period a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateEnd {
    /// A bare date means 00:00:00 of that day.
    Start,
    /// A bare date means 23:59:59 of that day.
    End,
}

/// Accepted date-times; seconds and fractions of a second are optional throughout.
const DATETIME_FORMATS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
];
const DATE_FORMATS: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日"];

/// A local date-time: `YYYY-MM-DD HH:MM[:SS]`, with `T` or `/` variants, or a bare date.
pub(crate) fn parse_datetime(s: &str, end: DateEnd) -> Result<NaiveDateTime, Reason> {
    for f in DATETIME_FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t);
        }
    }
    for f in DATE_FORMATS {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            let time = match end {
                DateEnd::Start => NaiveTime::MIN,
                DateEnd::End => NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN),
            };
            return Ok(d.and_time(time));
        }
    }
    Err((
        format!("日期时间“{s}”无效（应为 YYYY-MM-DD HH:MM）"),
        format!("bad date '{s}' (expected YYYY-MM-DD HH:MM)"),
    ))
}

/// How a date-time is written: minutes, with seconds and fractions only when present.
pub(crate) fn format_datetime(t: &NaiveDateTime) -> String {
    use chrono::Timelike;
    if t.nanosecond() != 0 {
        t.format("%Y-%m-%d %H:%M:%S%.f").to_string()
    } else if t.second() != 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// A level by code (`township`), Chinese name (`乡镇级`) or short name (`乡镇`, `村`).
pub(crate) fn parse_level(s: &str) -> Result<Level, Reason> {
    let lower = s.to_ascii_lowercase();
    if let Some(l) = Level::parse(&lower) {
        return Ok(l);
    }
    let alias = match s {
        "省" | "省级" => Some(Level::Province),
        "市" | "地市" | "市级" | "地级" => Some(Level::Prefecture),
        "县" | "县区" | "县级" | "区县" => Some(Level::County),
        "乡" | "镇" | "乡镇" | "街道" | "乡镇（街道）" => Some(Level::Township),
        "村" | "社区" | "村级" | "村（社区）" | "村居" => Some(Level::Village),
        _ => None,
    };
    alias.ok_or_else(|| {
        (
            format!("未知的层级“{s}”（应为 province、prefecture、county、township、village 或 省级、市级、县级、乡镇级、村（社区）级）"),
            format!("unknown level '{s}' (expected province, prefecture, county, township or village)"),
        )
    })
}

/// The optional `id` column: a UUID, or a new one when empty; an id seen on an earlier row
/// (recorded in `ids` with its row number) is reported naming both rows.
pub(crate) fn read_id(r: &mut RowReader<'_, '_>, ids: &mut HashMap<Uuid, usize>) -> Option<Uuid> {
    let id = r.parsed("id", None, |s| parse_uuid(s).map(Some))?.unwrap_or_else(tongxin_domain::new_id);
    if let Some(first) = ids.get(&id) {
        r.error(
            "id",
            format!("编号 {id} 重复：第 {first} 行和第 {} 行", r.number()),
            format!("duplicate id {id}: rows {first} and {}", r.number()),
        );
    } else {
        ids.insert(id, r.number());
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_normalised() {
        assert_eq!(normalise("  Starts At "), "starts_at");
        assert_eq!(normalise("名称*"), "名称");
        assert_eq!(normalise("开始时间（YYYY-MM-DD HH:MM）"), "开始时间");
        assert_eq!(normalise("cadre-hours"), "cadre_hours");
    }

    #[test]
    fn dates_in_every_accepted_shape() {
        let t = |s: &str, e| parse_datetime(s, e).map(|t| format_datetime(&t));
        assert_eq!(t("2026-03-02 09:30", DateEnd::Start).unwrap(), "2026-03-02 09:30");
        assert_eq!(t("2026-03-02 09:30:15", DateEnd::Start).unwrap(), "2026-03-02 09:30:15");
        assert_eq!(t("2026-03-02T09:30", DateEnd::Start).unwrap(), "2026-03-02 09:30");
        assert_eq!(t("2026-03-02T09:30:00", DateEnd::Start).unwrap(), "2026-03-02 09:30");
        assert_eq!(t("2026/3/2 9:30", DateEnd::Start).unwrap(), "2026-03-02 09:30");
        assert_eq!(t("2026-03-02", DateEnd::Start).unwrap(), "2026-03-02 00:00");
        assert_eq!(t("2026-03-02", DateEnd::End).unwrap(), "2026-03-02 23:59:59");
        assert_eq!(t("2026年3月2日 9:30", DateEnd::Start).unwrap(), "2026-03-02 09:30");
        assert_eq!(t("2026-03-02 09:30:15.250", DateEnd::Start).unwrap(), "2026-03-02 09:30:15.250");
        assert!(t("2026-13-01", DateEnd::Start).unwrap_err().1.contains("bad date '2026-13-01'"));
        assert!(t("2026-02-30 10:00", DateEnd::Start).is_err());
        assert!(t("tomorrow", DateEnd::Start).is_err());
    }

    #[test]
    fn numbers_and_flags() {
        assert_eq!(parse_u32("12").unwrap(), 12);
        assert_eq!(parse_u32("12.0").unwrap(), 12);
        assert!(parse_u32("-1").is_err());
        assert!(parse_u32("1.5").is_err());
        assert!(parse_u32("99999999999").is_err());
        assert_eq!(parse_f64("1.5").unwrap(), 1.5);
        assert!(parse_f64("NaN").is_err());
        assert!(parse_f64("inf").is_err());
        assert!(parse_bool("是").unwrap());
        assert!(!parse_bool("FALSE").unwrap());
        assert!(parse_bool("maybe").is_err());
        assert_eq!(parse_level("乡镇级").unwrap(), Level::Township);
        assert_eq!(parse_level("Village").unwrap(), Level::Village);
        assert_eq!(parse_level("村").unwrap(), Level::Village);
        assert!(parse_level("hamlet").is_err());
    }
}
