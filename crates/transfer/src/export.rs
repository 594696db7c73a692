//! Writing rows of typed values as CSV (UTF-8 with BOM, for Excel), XLSX (bold header,
//! frozen first row, column widths fitted to the content, numbers as numbers, date-times as
//! dates) or pretty JSON (an array of objects, keys in column order, lists as arrays).
//!
//! Text cells in CSV and XLSX pass through [`crate::escape::escape`] against formula
//! injection; the readers in [`crate::table`] undo it, so export → import is exact.

use chrono::{Datelike, NaiveDateTime, Timelike};
use rust_xlsxwriter::{ExcelDateTime, Format as XlsxFormat, Workbook};

use crate::columns::format_datetime;
use crate::error::ExportError;
use crate::escape::escape;
use crate::table::Format;

/// One exported cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Empty,
    Text(String),
    Int(u64),
    Float(f64),
    Bool(bool),
    DateTime(NaiveDateTime),
    /// Written as one cell joined by `;` in CSV and XLSX, as an array in JSON.
    List(Vec<String>),
}

/// Writes `rows` under `headers` in `format`.
pub(crate) fn write(headers: &[&str], rows: &[Vec<Value>], format: Format) -> Result<Vec<u8>, ExportError> {
    match format {
        Format::Csv => write_csv(headers, rows),
        Format::Xlsx => write_xlsx(headers, rows),
        Format::Json => Ok(write_json(headers, rows).into_bytes()),
    }
}

fn spreadsheet_text(v: &Value) -> String {
    match v {
        Value::Empty => String::new(),
        Value::Text(s) => escape(s).into_owned(),
        Value::Int(n) => n.to_string(),
        // Display of a finite f64 never uses an exponent and parses back exactly.
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::DateTime(t) => format_datetime(t),
        Value::List(items) => escape(&items.join(";")).into_owned(),
    }
}

fn write_csv(headers: &[&str], rows: &[Vec<Value>]) -> Result<Vec<u8>, ExportError> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(&mut out);
        let csv_err = |e: csv::Error| ExportError::Csv(e.to_string());
        w.write_record(headers).map_err(csv_err)?;
        for row in rows {
            w.write_record(row.iter().map(spreadsheet_text)).map_err(csv_err)?;
        }
        w.flush().map_err(|e| ExportError::Csv(e.to_string()))?;
    }
    Ok(out)
}

/// Display width of text in a spreadsheet column: CJK and other wide characters count two.
fn display_width(s: &str) -> usize {
    s.lines()
        .map(|l| l.chars().map(|c| if (c as u32) < 0x1100 { 1 } else { 2 }).sum::<usize>())
        .max()
        .unwrap_or(0)
}

fn excel_datetime(t: &NaiveDateTime) -> Result<ExcelDateTime, rust_xlsxwriter::XlsxError> {
    let year = u16::try_from(t.year()).unwrap_or(0);
    // Casts are exact: month, day, hour, minute and second are small by construction.
    ExcelDateTime::from_ymd(year, t.month() as u8, t.day() as u8)?.and_hms_milli(
        t.hour() as u16,
        t.minute() as u8,
        t.second() as u8,
        (t.nanosecond() / 1_000_000).min(999) as u16,
    )
}

fn write_xlsx(headers: &[&str], rows: &[Vec<Value>]) -> Result<Vec<u8>, ExportError> {
    let mut book = Workbook::new();
    let bold = XlsxFormat::new().set_bold();
    let minutes = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm");
    let seconds = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss");
    let millis = XlsxFormat::new().set_num_format("yyyy-mm-dd hh:mm:ss.000");
    let sheet = book.add_worksheet();
    let book_err = |e: rust_xlsxwriter::XlsxError| ExportError::Workbook(e.to_string());
    let mut widths: Vec<usize> = headers.iter().map(|h| display_width(h)).collect();
    for (c, h) in headers.iter().enumerate() {
        let col = u16::try_from(c).map_err(|_| ExportError::Workbook("too many columns".into()))?;
        sheet.write_string_with_format(0, col, *h, &bold).map_err(book_err)?;
    }
    for (r, row) in rows.iter().enumerate() {
        let cell_err = |c: usize| {
            let column = headers.get(c).copied().unwrap_or("").to_owned();
            move |e: rust_xlsxwriter::XlsxError| ExportError::Xlsx {
                row: r + 2,
                column,
                reason: e.to_string(),
            }
        };
        let xrow = u32::try_from(r + 1).map_err(|_| ExportError::Workbook("too many rows".into()))?;
        for (c, value) in row.iter().enumerate() {
            let col = c as u16; // fewer cells than headers, checked above
            let width = match value {
                Value::Empty => 0,
                Value::Int(n) => {
                    sheet.write_number(xrow, col, *n as f64).map_err(cell_err(c))?;
                    n.to_string().len()
                }
                Value::Float(f) => {
                    sheet.write_number(xrow, col, *f).map_err(cell_err(c))?;
                    f.to_string().len()
                }
                Value::Bool(b) => {
                    sheet.write_boolean(xrow, col, *b).map_err(cell_err(c))?;
                    5
                }
                Value::DateTime(t) => {
                    let fmt = if t.nanosecond() >= 1_000_000 {
                        &millis
                    } else if t.second() != 0 {
                        &seconds
                    } else {
                        &minutes
                    };
                    let text = format_datetime(t);
                    match excel_datetime(t) {
                        Ok(dt) => sheet.write_datetime_with_format(xrow, col, dt, fmt),
                        // Outside Excel's calendar (before 1900, after 9999): write the text.
                        Err(_) => sheet.write_string(xrow, col, &text),
                    }
                    .map_err(cell_err(c))?;
                    text.len()
                }
                Value::Text(_) | Value::List(_) => {
                    let text = spreadsheet_text(value);
                    let w = display_width(&text);
                    sheet.write_string(xrow, col, text).map_err(cell_err(c))?;
                    w
                }
            };
            if let Some(max) = widths.get_mut(c) {
                *max = (*max).max(width);
            }
        }
    }
    for (c, w) in widths.iter().enumerate() {
        let width = (*w as f64 + 2.0).clamp(6.0, 60.0);
        sheet.set_column_width(c as u16, width).map_err(book_err)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(book_err)?;
    book.save_to_buffer().map_err(book_err)
}

fn json_value(v: &Value) -> serde_json::Value {
    match v {
        Value::Empty => serde_json::Value::Null,
        Value::Text(s) => serde_json::Value::String(s.clone()),
        Value::Int(n) => serde_json::Value::from(*n),
        Value::Float(f) => serde_json::Value::from(*f),
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::DateTime(t) => serde_json::Value::String(format_datetime(t)),
        Value::List(items) => items.iter().cloned().map(serde_json::Value::String).collect(),
    }
}

/// Pretty JSON with keys in column order (serde_json's map would sort them).
fn write_json(headers: &[&str], rows: &[Vec<Value>]) -> String {
    let mut out = String::from("[");
    for (r, row) in rows.iter().enumerate() {
        out.push_str(if r == 0 { "\n  {" } else { ",\n  {" });
        for (c, (h, v)) in headers.iter().zip(row).enumerate() {
            out.push_str(if c == 0 { "\n    " } else { ",\n    " });
            out.push_str(&serde_json::Value::String((*h).to_owned()).to_string());
            out.push_str(": ");
            out.push_str(&json_value(v).to_string());
        }
        out.push_str("\n  }");
    }
    out.push_str(if rows.is_empty() { "]\n" } else { "\n]\n" });
    out
}
