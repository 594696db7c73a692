//! The burden dashboard (`/burden`): a unit's year at a glance — a heat map of its
//! children by cadre-hours per cadre (drill-down), its totals, the monthly trend, the
//! departments and kinds of demand behind it, and the findings of the burden rules in its
//! subtree, filterable and exportable (`/burden/findings.csv`, `/burden/findings.xlsx`).
//! Server-rendered SVG, no JavaScript.

use std::borrow::Borrow;
use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use tongxin_burden::{Engine, FindingFilter, PeriodKind, Totals};
use tongxin_domain::{UnitCode, User};
use tongxin_rules::Severity;

use crate::AppState;
use crate::api::{self, parse_code};
use crate::auth::PageUser;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::pages::{OrPage, PageError, PageResult, chrome, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/burden", get(dashboard))
        .route("/burden/findings.csv", get(findings_csv))
        .route("/burden/findings.xlsx", get(findings_xlsx))
}

/// The most findings listed on the page (the export has them all).
pub const PAGE_FINDINGS: usize = 200;
/// The most findings one export writes.
pub const EXPORT_FINDINGS: usize = 100_000;

/// The colours of the heat map, light to dark, one per fifth of the scale.
pub const HEAT: [&str; 5] = ["#fff1e0", "#fdc98a", "#f79646", "#d4562a", "#8c1d18"];
/// The colour of a unit with no demands in the year.
pub const EMPTY: &str = "#f6f8fa";

/// The query of the dashboard and its exports, as typed.
#[derive(Debug, Clone)]
pub struct Params {
    pub unit: UnitCode,
    pub year: i32,
    pub rule: String,
    pub severity: String,
    pub from: String,
    pub to: String,
    filter: FindingFilter,
}

impl Params {
    /// The query string of these parameters (for links and the export), without `unit`.
    pub fn filter_query(&self) -> String {
        let mut q = format!("year={}", self.year);
        for (k, v) in
            [("rule", &self.rule), ("severity", &self.severity), ("from", &self.from), ("to", &self.to)]
        {
            if !v.is_empty() {
                q.push_str(&format!("&{k}={}", crate::auth::url_encode(v)));
            }
        }
        q
    }
}

fn param<'a>(q: &'a HashMap<String, String>, k: &str) -> &'a str {
    q.get(k).map(|s| s.trim()).unwrap_or("")
}

fn parse_date(field: &str, s: &str) -> Result<Option<NaiveDate>, AppError> {
    if s.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| api::YEARS.contains(&d.year()))
        .map(Some)
        .ok_or_else(|| {
            AppError::field(
                field,
                format!("日期“{s}”格式应为 YYYY-MM-DD"),
                format!("date '{s}' must be YYYY-MM-DD"),
            )
        })
}

/// Reads and checks the query: the unit must lie within the user's scope.
async fn params(state: &AppState, user: &User, q: &HashMap<String, String>) -> Result<Params, AppError> {
    let unit = match param(q, "unit") {
        "" => user.scope.clone(),
        s => parse_code("unit", s)?,
    };
    if !user.scope.contains(&unit) {
        return Err(AppError::forbidden());
    }
    let year = match param(q, "year") {
        "" => {
            let now = chrono::Local::now().year();
            let engine = state.burden.engine(&*state.store).await?;
            let has = |y: i32| {
                engine.unit_totals(&unit, PeriodKind::Year.of(ymd(y, 1, 1))).is_some_and(|t| !t.is_zero())
            };
            if has(now) || !has(2026) { now } else { 2026 }
        }
        s => s.parse::<i32>().ok().filter(|y| api::YEARS.contains(y)).ok_or_else(|| {
            AppError::field(
                "year",
                format!("年份须在 {} 到 {} 之间", api::YEARS.start(), api::YEARS.end()),
                format!("the year must be from {} to {}", api::YEARS.start(), api::YEARS.end()),
            )
        })?,
    };
    let severity = param(q, "severity").to_owned();
    let min_severity = match severity.as_str() {
        "" => None,
        s => Some(Severity::parse(s).ok_or_else(|| {
            AppError::field("severity", "严重程度无效", "severity must be info, warning or violation")
        })?),
    };
    let from_s = param(q, "from").to_owned();
    let to_s = param(q, "to").to_owned();
    let from = parse_date("from", &from_s)?.unwrap_or_else(|| ymd(year, 1, 1));
    let to = parse_date("to", &to_s)?.unwrap_or_else(|| ymd(year, 12, 31));
    let rule = param(q, "rule").to_owned();
    let filter = FindingFilter {
        unit: Some(unit.clone()),
        rule: if rule.is_empty() { None } else { Some(rule.clone()) },
        min_severity,
        from: Some(from),
        to: Some(to),
    };
    Ok(Params { unit, year, rule, severity, from: from_s, to: to_s, filter })
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

pub fn severity_name(l: impl Borrow<Lang>, s: impl Borrow<Severity>) -> &'static str {
    let l = *l.borrow();
    match s.borrow() {
        Severity::Info => l.t("提示", "info"),
        Severity::Warning => l.t("警告", "warning"),
        Severity::Violation => l.t("违规", "violation"),
    }
}

/// A unit named in a finding.
#[derive(Debug, Clone)]
pub struct NamedUnit {
    pub code: String,
    pub name: String,
}

/// A demand named in a finding.
#[derive(Debug, Clone)]
pub struct NamedDemand {
    pub id: String,
    pub title: String,
}

/// One finding, ready to show or export.
#[derive(Debug, Clone)]
pub struct FindingRow {
    pub rule: String,
    pub explanation: String,
    pub severity: Severity,
    pub severity_name: &'static str,
    pub date: NaiveDate,
    pub units: Vec<NamedUnit>,
    pub demands: Vec<NamedDemand>,
    pub evidence: String,
}

/// At most this many units and demands of one finding are named on the page.
pub const SHOWN_PER_FINDING: usize = 6;

impl FindingRow {
    pub fn shown_units(&self) -> &[NamedUnit] {
        &self.units[..self.units.len().min(SHOWN_PER_FINDING)]
    }

    pub fn more_units(&self) -> usize {
        self.units.len().saturating_sub(SHOWN_PER_FINDING)
    }

    pub fn shown_demands(&self) -> &[NamedDemand] {
        &self.demands[..self.demands.len().min(SHOWN_PER_FINDING)]
    }

    pub fn more_demands(&self) -> usize {
        self.demands.len().saturating_sub(SHOWN_PER_FINDING)
    }
}

fn finding_rows(e: &Engine, l: Lang, f: &FindingFilter, cap: usize) -> (usize, Vec<FindingRow>) {
    let all = e.findings_where(f);
    let total = all.len();
    let rows = all
        .into_iter()
        .take(cap)
        .map(|x| FindingRow {
            rule: x.rule.clone(),
            explanation: e
                .rules()
                .get(&x.rule)
                .map(|r| l.t(&r.explanation.zh, &r.explanation.en).to_owned())
                .unwrap_or_default(),
            severity: x.severity,
            severity_name: severity_name(l, x.severity),
            date: x.date,
            units: x
                .units
                .iter()
                .map(|u| NamedUnit {
                    code: u.to_string(),
                    name: e.unit_name(u).unwrap_or(u.as_str()).to_owned(),
                })
                .collect(),
            demands: x
                .demands
                .iter()
                .map(|d| NamedDemand {
                    id: d.to_string(),
                    title: e.demand_title(*d).unwrap_or("—").to_owned(),
                })
                .collect(),
            evidence: l.t(&x.evidence.zh, &x.evidence.en).to_owned(),
        })
        .collect();
    (total, rows)
}

/// One cell of the heat map.
#[derive(Debug, Clone)]
pub struct HeatCell {
    pub code: String,
    pub name: String,
    pub hours_per_cadre: f64,
    pub cadre_hours: f64,
    pub violations: i64,
    pub cadres: u64,
    pub colour: &'static str,
    /// Dark cells get light text.
    pub dark: bool,
    pub x: u32,
    pub y: u32,
    pub may_open: bool,
}

/// One bar of a monthly chart.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: String,
    pub x: u32,
    pub y: u32,
    pub h: u32,
}

/// A monthly bar chart, laid out.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: &'static str,
    pub title: String,
    pub colour: &'static str,
    pub bars: Vec<Bar>,
}

pub const HEAT_COLS: u32 = 4;
pub const HEAT_W: u32 = 180;
pub const HEAT_H: u32 = 72;
const CHART_H: u32 = 140;
const BAR_W: u32 = 40;

fn chart(id: &'static str, title: String, colour: &'static str, cells: &[(String, String, f64)]) -> Chart {
    let max = cells.iter().map(|c| c.2).fold(0.0f64, f64::max);
    let bars = cells
        .iter()
        .enumerate()
        .map(|(i, (label, value, v))| {
            let h = if max > 0.0 { ((v / max) * CHART_H as f64).round() as u32 } else { 0 };
            Bar {
                label: label.clone(),
                value: value.clone(),
                x: 10 + i as u32 * (BAR_W + 10),
                y: 20 + CHART_H - h,
                h,
            }
        })
        .collect();
    Chart { id, title, colour, bars }
}

/// Formats a number with at most one decimal.
pub fn num(v: impl Borrow<f64>) -> String {
    let v = *v.borrow();
    if (v - v.round()).abs() < 0.05 { format!("{:.0}", v) } else { format!("{v:.1}") }
}

#[derive(Debug, Clone)]
pub struct Crumb {
    pub code: String,
    pub name: String,
    pub link: bool,
}

#[derive(Debug, Clone)]
pub struct SourceRow {
    pub name: String,
    pub t: Totals,
}

#[derive(Debug, Clone)]
pub struct KindRow {
    pub name: &'static str,
    pub t: Totals,
}

#[derive(Template)]
#[template(path = "burden.html")]
pub struct DashboardPage {
    pub c: crate::pages::Chrome,
    pub p: Params,
    pub name: String,
    pub crumbs: Vec<Crumb>,
    pub totals: Totals,
    pub cadres: u64,
    pub hours_per_cadre: f64,
    pub heat: Vec<HeatCell>,
    pub heat_height: u32,
    /// Each colour with its lower bound (hours per cadre).
    pub scale: Vec<(&'static str, String)>,
    pub charts: Vec<Chart>,
    pub sources: Vec<SourceRow>,
    pub kinds: Vec<KindRow>,
    pub rules: Vec<(String, String)>,
    pub total_findings: usize,
    pub findings: Vec<FindingRow>,
    pub years: Vec<i32>,
}

impl DashboardPage {
    fn sev_selected(&self, s: &str) -> bool {
        self.p.severity == s
    }
}

async fn dashboard(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let p = params(&state, &user, &q).await.or_page(l)?;
    let page = {
        let e = state.burden.engine(&*state.store).await.or_page(l)?;
        build(&e, l, &user, p)
            .ok_or_else(|| PageError { l, error: AppError::not_found("单位不存在", "unit not found") })?
    };
    let path = format!("/burden?unit={}&{}", page.p.unit, page.p.filter_query());
    Ok(render(&DashboardPage { c: chrome(l, Some(user), path), ..page }))
}

/// Everything the page shows, computed under the engine's read lock.
fn build(e: &Engine, l: Lang, user: &User, p: Params) -> Option<DashboardPage> {
    let year = PeriodKind::Year.of(ymd(p.year, 1, 1));
    let (me, kids) = e.unit_and_children(&p.unit, year)?;
    let crumbs = p
        .unit
        .lineage()
        .into_iter()
        .map(|c| Crumb {
            name: e.unit_name(&c).unwrap_or(c.as_str()).to_owned(),
            link: user.scope.contains(&c) && c != p.unit,
            code: c.to_string(),
        })
        .collect();
    // The scale runs from the lightest-loaded child to the heaviest, so that neighbours
    // with similar loads still differ in colour.
    let max = kids.iter().map(|k| k.hours_per_cadre).fold(0.0f64, f64::max);
    let min = kids.iter().map(|k| k.hours_per_cadre).fold(max, f64::min);
    let span = max - min;
    let bin = |v: f64| if span <= 0.0 { 4 } else { (((v - min) / span * 5.0).floor() as usize).min(4) };
    let heat: Vec<HeatCell> = kids
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let empty = k.totals.cadre_centihours == 0;
            let b = if empty { 0 } else { bin(k.hours_per_cadre) };
            HeatCell {
                code: k.code.to_string(),
                name: k.name.clone(),
                hours_per_cadre: k.hours_per_cadre,
                cadre_hours: k.totals.cadre_hours(),
                violations: k.totals.violations,
                cadres: k.cadres,
                colour: if empty { EMPTY } else { HEAT[b] },
                dark: b >= 3,
                x: (i as u32 % HEAT_COLS) * HEAT_W,
                y: (i as u32 / HEAT_COLS) * HEAT_H,
                may_open: true,
            }
        })
        .collect();
    let heat_height = (heat.len() as u32).div_ceil(HEAT_COLS) * HEAT_H;
    let scale = HEAT.iter().enumerate().map(|(i, c)| (*c, num(min + span * i as f64 / 5.0))).collect();
    let cells =
        e.trend(&p.unit, PeriodKind::Month, ymd(p.year, 1, 1), ymd(p.year, 12, 1)).unwrap_or_default();
    let month_label = |i: usize| match l {
        Lang::Zh => format!("{}月", i + 1),
        Lang::En => ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            [i % 12]
            .to_owned(),
    };
    let hours: Vec<(String, String, f64)> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (month_label(i), format!("{:.0}", c.totals.cadre_hours()), c.totals.cadre_hours()))
        .collect();
    let violations: Vec<(String, String, f64)> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| (month_label(i), c.totals.violations.to_string(), c.totals.violations as f64))
        .collect();
    let charts = vec![
        chart("chart-hours", l.t("每月干部工时", "Cadre-hours per month").to_owned(), "#b3261e", &hours),
        chart(
            "chart-violations",
            l.t("每月违规数", "Violations per month").to_owned(),
            "#6e1c17",
            &violations,
        ),
    ];
    let sources = e
        .top_sources(&p.unit, p.year, 10)
        .into_iter()
        .map(|s| SourceRow { name: s.name, t: s.totals })
        .collect();
    let kinds = e
        .by_kind(&p.unit, p.year)
        .into_iter()
        .map(|(k, t)| KindRow { name: l.t(k.zh(), k.en()), t })
        .collect();
    let mut rules: Vec<(String, String)> = Vec::new();
    let mut families: Vec<String> = Vec::new();
    for r in &e.rules().rules {
        if let Some((fam, _)) = r.id.split_once('.') {
            let f = format!("{fam}.");
            if !families.contains(&f) {
                families.push(f);
            }
        }
    }
    for f in families {
        rules.push((f.clone(), format!("{f}* ({})", l.t("整类", "whole family"))));
    }
    for r in &e.rules().rules {
        rules.push((r.id.clone(), r.id.clone()));
    }
    let (total_findings, findings) = finding_rows(e, l, &p.filter, PAGE_FINDINGS);
    Some(DashboardPage {
        c: chrome(l, None, ""),
        name: me.name.clone(),
        crumbs,
        totals: me.totals,
        cadres: me.cadres,
        hours_per_cadre: me.hours_per_cadre,
        heat,
        heat_height,
        scale,
        charts,
        sources,
        kinds,
        rules,
        total_findings,
        findings,
        years: api::YEARS.collect(),
        p,
    })
}

/// The export's columns, in the request's language.
fn export_headers(l: Lang) -> Vec<&'static str> {
    vec![
        l.t("规则", "rule"),
        l.t("规则说明", "explanation"),
        l.t("严重程度", "severity"),
        l.t("日期", "date"),
        l.t("单位代码", "unit codes"),
        l.t("单位", "units"),
        l.t("事项编号", "demand ids"),
        l.t("事项", "demands"),
        l.t("依据", "evidence"),
    ]
}

fn export_row(r: &FindingRow) -> Vec<String> {
    let join = |v: Vec<&str>| v.join("; ");
    vec![
        r.rule.clone(),
        r.explanation.clone(),
        r.severity.as_str().to_owned(),
        r.date.to_string(),
        join(r.units.iter().map(|u| u.code.as_str()).collect()),
        join(r.units.iter().map(|u| u.name.as_str()).collect()),
        join(r.demands.iter().map(|d| d.id.as_str()).collect()),
        join(r.demands.iter().map(|d| d.title.as_str()).collect()),
        r.evidence.clone(),
    ]
}

async fn export_rows(
    state: &AppState,
    l: Lang,
    user: &User,
    q: &HashMap<String, String>,
) -> Result<(Params, Vec<FindingRow>), PageError> {
    let p = params(state, user, q).await.or_page(l)?;
    let e = state.burden.engine(&*state.store).await.or_page(l)?;
    if e.unit_name(&p.unit).is_none() {
        return Err(PageError { l, error: AppError::not_found("单位不存在", "unit not found") });
    }
    let (_, rows) = finding_rows(&e, l, &p.filter, EXPORT_FINDINGS);
    Ok((p, rows))
}

/// A CSV field: formula-escaped, quoted.
fn csv_field(s: &str) -> String {
    let s = tongxin_transfer::escape::escape(s);
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The findings as UTF-8 CSV with a byte-order mark (for Excel), formula-escaped.
pub fn findings_csv_bytes(l: Lang, rows: &[FindingRow]) -> Vec<u8> {
    let mut out = String::from("\u{feff}");
    let line = |cells: Vec<String>| cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(",") + "\r\n";
    out.push_str(&line(export_headers(l).into_iter().map(str::to_owned).collect()));
    for r in rows {
        out.push_str(&line(export_row(r)));
    }
    out.into_bytes()
}

fn attachment(p: &Params, ext: &str) -> String {
    format!("attachment; filename=\"findings-{}-{}.{ext}\"", p.unit, p.year)
}

async fn findings_csv(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (p, rows) = export_rows(&state, l, &user, &q).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, attachment(&p, "csv")),
        ],
        findings_csv_bytes(l, &rows),
    )
        .into_response())
}

/// The findings as an XLSX workbook, formula-escaped.
pub fn findings_xlsx_bytes(l: Lang, rows: &[FindingRow]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(l.t("违规", "findings"))?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in export_headers(l).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in export_row(r).iter().enumerate() {
            sheet.write_string(i as u32 + 1, c as u16, tongxin_transfer::escape::escape(v))?;
        }
    }
    book.save_to_buffer()
}

async fn findings_xlsx(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (p, rows) = export_rows(&state, l, &user, &q).await?;
    let bytes = findings_xlsx_bytes(l, &rows).map_err(|e| {
        tracing::error!(error = %e, "xlsx export failed");
        PageError { l, error: AppError::internal() }
    })?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (header::CONTENT_DISPOSITION, attachment(&p, "xlsx")),
        ],
        bytes,
    )
        .into_response())
}
