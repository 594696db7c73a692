//! Import and export errors. An import answers with *every* problem it found, each naming
//! the file, the row (or JSON item, or text line), the column and the reason in Chinese and
//! English, so that a person can fix the whole file in one pass.

use std::fmt;

/// How the position of a problem is counted, as the user sees the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowLabel {
    /// A spreadsheet row (CSV, XLSX): the header is row 1, the first data row is row 2.
    Row,
    /// An element of a JSON array, counted from 1.
    Item,
    /// A line of text, counted from 1 (encoding and JSON syntax errors).
    Line,
}

impl RowLabel {
    pub fn en(self) -> &'static str {
        match self {
            RowLabel::Row => "row",
            RowLabel::Item => "item",
            RowLabel::Line => "line",
        }
    }

    /// The Chinese wording around the number: `第 7 行`, `第 7 项`.
    pub fn zh(self, n: usize) -> String {
        match self {
            RowLabel::Row | RowLabel::Line => format!("第 {n} 行"),
            RowLabel::Item => format!("第 {n} 项"),
        }
    }
}

/// One problem in one imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The file name as given by the caller (`demands.csv`).
    pub file: String,
    /// The row, item or line; `None` for a problem with the whole file.
    pub row: Option<usize>,
    pub row_label: RowLabel,
    /// The canonical column name (`starts_at`), when the problem is in one column.
    pub column: Option<String>,
    pub zh: String,
    pub en: String,
}

impl RowError {
    /// The problem in Chinese with its position: `demands.csv 第 7 行，starts_at 列：…`.
    pub fn zh_message(&self) -> String {
        let mut s = self.file.clone();
        if let Some(row) = self.row {
            s.push(' ');
            s.push_str(&self.row_label.zh(row));
        }
        if let Some(col) = &self.column {
            s.push_str(if self.row.is_some() { "，" } else { " " });
            s.push_str(col);
            s.push_str(" 列");
        }
        s.push('：');
        s.push_str(&self.zh);
        s
    }
}

impl fmt::Display for RowError {
    /// `demands.csv row 7, column starts_at: bad date '2026-13-01' (expected YYYY-MM-DD HH:MM)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(row) = self.row {
            write!(f, " {} {row}", self.row_label.en())?;
        }
        if let Some(col) = &self.column {
            if self.row.is_some() {
                f.write_str(",")?;
            }
            write!(f, " column {col}")?;
        }
        write!(f, ": {}", self.en)
    }
}

impl std::error::Error for RowError {}

/// At most this many problems are kept; the rest are only counted.
pub const MAX_ERRORS: usize = 1_000;

/// Every problem found in one import (the first [`MAX_ERRORS`] of them, plus a count);
/// never empty. When an import returns this, it returns no items at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors {
    errors: Vec<RowError>,
    total: usize,
}

impl ImportErrors {
    /// The problems kept, in the order found (file order, then column order).
    pub fn errors(&self) -> &[RowError] {
        &self.errors
    }

    /// How many problems were found, including those not kept.
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many problems were found but not kept.
    pub fn omitted(&self) -> usize {
        self.total - self.errors.len()
    }

    /// One problem per line, in Chinese.
    pub fn zh_report(&self) -> String {
        let mut lines: Vec<String> = self.errors.iter().map(RowError::zh_message).collect();
        if self.omitted() > 0 {
            lines.push(format!("……另有 {} 个问题未列出", self.omitted()));
        }
        lines.join("\n")
    }

    pub(crate) fn from_one(e: RowError) -> Self {
        ImportErrors { errors: vec![e], total: 1 }
    }
}

impl fmt::Display for ImportErrors {
    /// One problem per line, in English.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        if self.omitted() > 0 {
            write!(f, "\n... and {} more problems", self.omitted())?;
        }
        Ok(())
    }
}

/// The collector used while reading: knows the file and counts past the cap.
#[derive(Debug)]
pub(crate) struct Problems {
    file: String,
    label: RowLabel,
    errors: Vec<RowError>,
    total: usize,
}

impl Problems {
    pub(crate) fn new(file: &str, label: RowLabel) -> Self {
        Problems { file: file.to_owned(), label, errors: Vec::new(), total: 0 }
    }

    pub(crate) fn total(&self) -> usize {
        self.total
    }

    pub(crate) fn push(
        &mut self,
        row: Option<usize>,
        column: Option<&str>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) {
        self.push_labelled(self.label, row, column, zh, en);
    }

    pub(crate) fn push_labelled(
        &mut self,
        label: RowLabel,
        row: Option<usize>,
        column: Option<&str>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) {
        self.total += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(RowError {
                file: self.file.clone(),
                row,
                row_label: label,
                column: column.map(str::to_owned),
                zh: zh.into(),
                en: en.into(),
            });
        }
    }

    /// `Ok(value)` when nothing was found, every problem otherwise.
    pub(crate) fn finish<T>(self, value: T) -> Result<T, ImportErrors> {
        if self.total == 0 { Ok(value) } else { Err(ImportErrors { errors: self.errors, total: self.total }) }
    }

    pub(crate) fn into_errors(self) -> ImportErrors {
        ImportErrors { errors: self.errors, total: self.total }
    }
}

/// The file name does not end in a known extension.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: unknown file type (expected .csv, .xlsx or .json)")]
pub struct FormatError {
    pub file: String,
}

impl FormatError {
    pub fn zh(&self) -> String {
        format!("{}：无法识别的文件类型（应为 .csv、.xlsx 或 .json）", self.file)
    }
}

/// An export could not be written (XLSX limits: 32,767 characters per cell, 1,048,576 rows).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("XLSX row {row}, column {column}: {reason}")]
    Xlsx { row: usize, column: String, reason: String },
    #[error("XLSX: {0}")]
    Workbook(String),
    #[error("CSV: {0}")]
    Csv(String),
}
