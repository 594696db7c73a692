//! Reading a CSV, XLSX or JSON file into a [`Table`]: headers plus rows of text cells,
//! numbered as the user sees them. Everything format-specific (text encodings, Excel cell
//! types, formula escaping, JSON values) ends here; the importers only see text.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use encoding_rs::{DecoderResult, GB18030};

use crate::error::{FormatError, ImportErrors, Problems, RowError, RowLabel};
use crate::escape::unescape;

/// A file format, chosen by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Csv, Format::Xlsx, Format::Json];

    /// The format of a file named `path` (`.csv`, `.xlsx`, `.json`, any case).
    pub fn from_path(path: &str) -> Result<Format, FormatError> {
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some("json") => Ok(Format::Json),
            _ => Err(FormatError { file: path.to_owned() }),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
        }
    }
}

/// One cell. Spreadsheet cells are always text; a JSON array becomes a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    List(Vec<String>),
}

impl Cell {
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Text(s) => s.trim().is_empty(),
            Cell::List(v) => v.is_empty(),
        }
    }
}

/// One data row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The row (CSV, XLSX; the header is row 1) or item (JSON, from 1) as the user sees it.
    pub number: usize,
    /// One cell per header; missing cells are empty text.
    pub cells: Vec<Cell>,
}

/// A file read into headers and rows. Rows whose cells are all empty are left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The file name given by the caller, used in every error.
    pub file: String,
    pub format: Format,
    /// The column headers as written in the file (JSON: every key, in first-seen order).
    pub headers: Vec<String>,
    /// For each header, the row (or item) where it was found.
    pub header_rows: Vec<usize>,
    pub rows: Vec<Row>,
}

impl Table {
    /// How rows are counted in this table's format.
    pub fn row_label(&self) -> RowLabel {
        match self.format {
            Format::Json => RowLabel::Item,
            Format::Csv | Format::Xlsx => RowLabel::Row,
        }
    }
}

/// Reads `bytes` as the format given by `file`'s extension.
pub fn read_table(file: &str, bytes: &[u8]) -> Result<Table, ImportErrors> {
    let format = Format::from_path(file).map_err(|_| {
        ImportErrors::from_one(RowError {
            file: file.to_owned(),
            row: None,
            row_label: RowLabel::Row,
            column: None,
            zh: "无法识别的文件类型（应为 .csv、.xlsx 或 .json）".into(),
            en: "unknown file type (expected .csv, .xlsx or .json)".into(),
        })
    })?;
    read_table_as(file, bytes, format)
}

/// Reads `bytes` as `format`; `file` only names the file in errors.
pub fn read_table_as(file: &str, bytes: &[u8], format: Format) -> Result<Table, ImportErrors> {
    match format {
        Format::Csv => read_csv(file, bytes),
        Format::Xlsx => read_xlsx(file, bytes),
        Format::Json => read_json(file, bytes),
    }
}

/// Builds a table from spreadsheet rows (the first is the header), dropping blank rows.
fn from_grid(file: &str, format: Format, grid: Vec<(usize, Vec<String>)>) -> Table {
    let mut rows = grid.into_iter();
    let Some((header_row, headers)) = rows.next() else {
        return Table { file: file.into(), format, headers: vec![], header_rows: vec![], rows: vec![] };
    };
    let headers: Vec<String> = headers.iter().map(|h| unescape(h).to_owned()).collect();
    let rows = rows
        .map(|(number, cells)| Row {
            number,
            cells: cells.iter().map(|c| Cell::Text(unescape(c).to_owned())).collect(),
        })
        .filter(|r| !r.cells.iter().all(Cell::is_blank))
        .collect();
    Table { file: file.into(), format, header_rows: vec![header_row; headers.len()], headers, rows }
}

// ---------------------------------------------------------------- CSV

/// Decodes CSV bytes: UTF-8 (with or without BOM), else GB18030 (which covers GBK and
/// GB2312), without any replacement character.
pub fn decode_text(file: &str, bytes: &[u8]) -> Result<String, ImportErrors> {
    const BOM: &[u8] = b"\xEF\xBB\xBF";
    let has_bom = bytes.starts_with(BOM);
    let body = if has_bom { &bytes[BOM.len()..] } else { bytes };
    let utf8_err = match std::str::from_utf8(body) {
        Ok(s) => return Ok(s.to_owned()),
        Err(e) => e,
    };
    let utf8_good = utf8_err.valid_up_to() + if has_bom { BOM.len() } else { 0 };
    let bad_at = if has_bom {
        // A UTF-8 byte-order mark says what the file means to be.
        utf8_good
    } else {
        match decode_gb18030(body) {
            Ok(s) => return Ok(s),
            // Report the position in whichever encoding got further: that is most likely
            // the one the file is in.
            Err(gb_good) => utf8_good.max(gb_good),
        }
    };
    let line = bytes[..bad_at].iter().filter(|&&b| b == b'\n').count() + 1;
    let mut p = Problems::new(file, RowLabel::Line);
    p.push(
        Some(line),
        None,
        format!("文件编码无法识别：既不是 UTF-8 也不是 GB18030/GBK（第 {bad_at} 字节起无效）；请另存为 UTF-8 CSV"),
        format!(
            "wrong encoding: the file is neither UTF-8 nor GB18030/GBK (invalid bytes at offset {bad_at}); save it as UTF-8 CSV"
        ),
    );
    Err(p.into_errors())
}

/// GB18030 without replacement; on failure, the offset of the first malformed byte.
fn decode_gb18030(bytes: &[u8]) -> Result<String, usize> {
    let mut decoder = GB18030.new_decoder_without_bom_handling();
    let cap = decoder.max_utf8_buffer_length_without_replacement(bytes.len()).unwrap_or(bytes.len() * 3);
    let mut out = String::with_capacity(cap);
    let mut read_total = 0;
    loop {
        let (result, read) =
            decoder.decode_to_string_without_replacement(&bytes[read_total..], &mut out, true);
        read_total += read;
        match result {
            DecoderResult::InputEmpty => return Ok(out),
            DecoderResult::OutputFull => out.reserve(bytes.len().max(16)),
            DecoderResult::Malformed(bad, extra) => {
                return Err(read_total.saturating_sub(usize::from(bad) + usize::from(extra)));
            }
        }
    }
}

fn read_csv(file: &str, bytes: &[u8]) -> Result<Table, ImportErrors> {
    let text = decode_text(file, bytes)?;
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut grid = Vec::new();
    // Rows as a spreadsheet shows them: a blank line is a row, a cell with line breaks is
    // not several. The csv crate skips blank lines and reports a record's position as the
    // end of the previous one, so find the record's first byte and count lines up to it,
    // less the line breaks inside earlier cells.
    let bytes = text.as_bytes();
    let (mut counted_to, mut line_breaks, mut inner_breaks) = (0usize, 0usize, 0usize);
    for (i, record) in reader.records().enumerate() {
        match record {
            Ok(r) => {
                let mut start =
                    r.position().map_or(counted_to, |p| p.byte() as usize).clamp(counted_to, bytes.len());
                while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
                    start += 1;
                }
                line_breaks += bytes[counted_to..start].iter().filter(|&&b| b == b'\n').count();
                counted_to = start;
                let number = (line_breaks + 1).saturating_sub(inner_breaks).max(i + 1);
                inner_breaks += r.iter().map(|f| f.matches('\n').count()).sum::<usize>();
                grid.push((number, r.iter().map(str::to_owned).collect()));
            }
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize);
                let mut p = Problems::new(file, RowLabel::Line);
                p.push(line, None, format!("CSV 格式错误：{e}"), format!("malformed CSV: {e}"));
                return Err(p.into_errors());
            }
        }
    }
    Ok(from_grid(file, Format::Csv, grid))
}

// ---------------------------------------------------------------- XLSX

fn read_xlsx(file: &str, bytes: &[u8]) -> Result<Table, ImportErrors> {
    let fail = |zh: String, en: String| {
        let mut p = Problems::new(file, RowLabel::Row);
        p.push(None, None, zh, en);
        p.into_errors()
    };
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes))
        .map_err(|e| fail(format!("不是有效的 XLSX 文件：{e}"), format!("not a valid XLSX file: {e}")))?;
    let range = match book.worksheet_range_at(0) {
        None => {
            return Err(fail("工作簿中没有工作表".into(), "the workbook has no worksheet".into()));
        }
        Some(Err(e)) => {
            return Err(fail(
                format!("无法读取第一个工作表：{e}"),
                format!("cannot read the first worksheet: {e}"),
            ));
        }
        Some(Ok(r)) => r,
    };
    let Some((first_row, _)) = range.start() else {
        return Ok(from_grid(file, Format::Xlsx, vec![]));
    };
    let mut problems = Problems::new(file, RowLabel::Row);
    let mut grid = Vec::with_capacity(range.height());
    for (i, cells) in range.rows().enumerate() {
        let number = first_row as usize + i + 1;
        let mut texts = Vec::with_capacity(cells.len());
        for cell in cells {
            match xlsx_cell_text(cell) {
                Ok(t) => texts.push(t),
                Err(e) => {
                    problems.push(
                        Some(number),
                        None,
                        format!("单元格含有 Excel 错误值 {e}"),
                        format!("a cell holds the Excel error {e}"),
                    );
                    texts.push(String::new());
                }
            }
        }
        grid.push((number, texts));
    }
    problems.finish(from_grid(file, Format::Xlsx, grid))
}

/// The text of an XLSX cell: integers without `.0`, dates as `YYYY-MM-DD HH:MM[:SS]`.
fn xlsx_cell_text(cell: &Data) -> Result<String, String> {
    Ok(match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        // Rust prints finite floats without exponent and integral ones without `.0`,
        // and the text parses back to the same value.
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, mo, d, h, mi, s, ms) = dt.to_ymd_hms_milli();
            let mut t = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}");
            if s != 0 || ms != 0 {
                t.push_str(&format!(":{s:02}"));
            }
            if ms != 0 {
                t.push_str(&format!(".{ms:03}"));
            }
            t
        }
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Err(e.to_string()),
    })
}

// ---------------------------------------------------------------- JSON

fn read_json(file: &str, bytes: &[u8]) -> Result<Table, ImportErrors> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        let mut p = Problems::new(file, RowLabel::Line);
        p.push(
            Some(line),
            None,
            "JSON 文件须为 UTF-8 编码",
            format!("wrong encoding: JSON must be UTF-8 (invalid bytes at offset {})", e.valid_up_to()),
        );
        p.into_errors()
    })?;
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        let mut p = Problems::new(file, RowLabel::Line);
        p.push(
            Some(e.line()),
            None,
            format!("JSON 语法错误（第 {} 列）：{e}", e.column()),
            format!("malformed JSON at column {}: {e}", e.column()),
        );
        p.into_errors()
    })?;
    let mut problems = Problems::new(file, RowLabel::Item);
    let serde_json::Value::Array(items) = value else {
        problems.push(None, None, "JSON 文件须为对象数组", "the JSON file must be an array of objects");
        return Err(problems.into_errors());
    };
    let mut headers: Vec<String> = Vec::new();
    let mut header_rows = Vec::new();
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let number = i + 1;
        let serde_json::Value::Object(map) = item else {
            problems.push(Some(number), None, "应为对象（{…}）", "expected an object ({...})");
            continue;
        };
        let mut cells = vec![Cell::Text(String::new()); headers.len()];
        for (key, value) in map {
            let idx = match headers.iter().position(|h| *h == key) {
                Some(idx) => idx,
                None => {
                    headers.push(key.clone());
                    header_rows.push(number);
                    cells.push(Cell::Text(String::new()));
                    headers.len() - 1
                }
            };
            match json_cell(&value) {
                Some(cell) => cells[idx] = cell,
                None => problems.push(
                    Some(number),
                    Some(&key),
                    "值须为文本、数字、布尔值或文本数组",
                    "value must be a string, number, boolean or array of those",
                ),
            }
        }
        if !cells.iter().all(Cell::is_blank) {
            rows.push(Row { number, cells });
        }
    }
    // Earlier rows were built before later keys appeared: pad them.
    for row in &mut rows {
        row.cells.resize(headers.len(), Cell::Text(String::new()));
    }
    problems.finish(Table { file: file.into(), format: Format::Json, headers, header_rows, rows })
}

fn json_scalar(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(String::new()),
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => None,
    }
}

fn json_cell(v: &serde_json::Value) -> Option<Cell> {
    match v {
        serde_json::Value::Array(items) => {
            items.iter().map(json_scalar).collect::<Option<_>>().map(Cell::List)
        }
        other => json_scalar(other).map(Cell::Text),
    }
}
