//! The burden dashboard (`/burden`), its findings export and the pre-check on the
//! registration page, through the whole router.
//!
//! The scenario: the fixture's seeded demands (all March 2026) plus a second inspection of
//! 农田建设管理处 at 鼓楼区 in the same quarter, which breaks `visit.cap_per_source` (one
//! visit per source body, unit and quarter).

mod common;

use axum::http::{StatusCode, header};
use common::Who::{self, *};
use common::{TestApp, at, input};
use serde_json::json;
use tongxin_burden::PeriodKind;
use tongxin_server::dashboard::{FindingRow, NamedDemand, NamedUnit, findings_csv_bytes};
use tongxin_server::i18n::Lang;

const CAP_RULE: &str = "visit.cap_per_source";
const SECOND_TITLE: &str = "高标准农田建设二次督查";

/// Registers the second inspection of 农田建设管理处 at 鼓楼区 (2026-03-20).
async fn second_inspection(app: &TestApp) -> String {
    let mut d = input(app.fx.division_b.id, &["350102"], at(3, 20, 9));
    d["title"] = json!(SECOND_TITLE);
    let created = app.create(ProvinceAdmin, &d).await;
    created["id"].as_str().unwrap().to_owned()
}

/// The text of the element with `id="…"` (up to its first `<`).
fn by_id(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let open = rest.find('>')? + 1;
    let close = rest[open..].find('<')?;
    Some(rest[open..open + close].trim().to_owned())
}

#[tokio::test]
async fn dashboard_shows_totals_heat_map_and_findings_of_the_subtree() {
    let app = TestApp::new().await;
    let id = second_inspection(&app).await;

    // 厦门市 carries one guidance visit of 6 cadre-hours in 2026 (思明区).
    let r = app.get(ProvinceAdmin, "/burden?unit=3502&year=2026").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert_eq!(by_id(&html, "total-hours").as_deref(), Some("6"), "{html}");
    assert_eq!(by_id(&html, "total-visits").as_deref(), Some("1"));
    assert!(html.contains("id=\"heatmap\""), "a heat map of 厦门市's districts");
    assert!(html.contains("href=\"/burden?unit=350203&amp;year=2026\""), "思明区 is a drill-down link");

    // 鼓楼区's figures are the engine's.
    let engine = tongxin_server::burden::load_engine(app.store.as_ref(), tongxin_rules::RuleSet::national())
        .await
        .unwrap();
    let code = common::code("350102");
    let t = engine.unit_totals(&code, PeriodKind::Year.of(at(1, 1, 0).date())).unwrap();
    let html = app.get(ProvinceAdmin, "/burden?unit=350102&year=2026").await.text();
    assert_eq!(by_id(&html, "total-hours"), Some(tongxin_server::dashboard::num(t.cadre_hours())));
    assert_eq!(by_id(&html, "total-violations"), Some(t.violations.to_string()));
    assert!(t.cadre_hours() >= 12.0, "two inspections at least: {t:?}");

    // The province lists the finding, with the demand linked, and a breadcrumb-free top.
    let html = app.get(ProvinceAdmin, "/burden?unit=35&year=2026").await.text();
    assert!(html.contains(&format!("data-rule=\"{CAP_RULE}\"")), "{html}");
    assert!(html.contains(&format!("<a href=\"/demands/{id}\">{SECOND_TITLE}</a>")));
    assert!(html.contains("id=\"chart-hours\"") && html.contains("id=\"chart-violations\""));
    assert!(html.contains("href=\"/burden?unit=3501&amp;year=2026\""), "福州市 in the heat map");
    assert!(html.contains("id=\"heat-legend\""));
    // Filters narrow the list.
    let html = app.get(ProvinceAdmin, &format!("/burden?unit=35&year=2026&rule={CAP_RULE}")).await.text();
    assert!(html.contains(&format!("data-rule=\"{CAP_RULE}\"")));
    let html = app.get(ProvinceAdmin, "/burden?unit=35&year=2026&rule=doc.length").await.text();
    assert!(html.contains("id=\"no-findings\""), "no document findings");
    let html = app.get(ProvinceAdmin, "/burden?unit=35&year=2026&from=2026-04-01").await.text();
    assert!(!html.contains(&format!("data-rule=\"{CAP_RULE}\"")), "the finding is in March");
    let html = app.get(ProvinceAdmin, "/burden?unit=35&year=2026&severity=violation").await.text();
    assert!(!html.contains(&format!("data-rule=\"{CAP_RULE}\"")), "the cap is a warning");
    // In English.
    let html = app.get(ProvinceAdmin, "/burden?unit=35&year=2026&lang=en").await.text();
    assert!(html.contains("Burden dashboard") && html.contains("Findings"));

    // The county office sees its county, not 厦门市, and not its province.
    assert_eq!(app.get(CountyOffice, "/burden").await.status, StatusCode::OK);
    let html = app.get(CountyOffice, "/burden").await.text();
    assert!(html.contains("鼓楼区"), "defaults to the account's scope");
    assert_eq!(app.get(CountyOffice, "/burden?unit=3502").await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(CountyOffice, "/burden/findings.csv?unit=35").await.status, StatusCode::FORBIDDEN);
    let r = app.get(Who::Anonymous, "/burden").await;
    assert!(r.status.is_redirection(), "signed out: {}", r.status);
    // Bad parameters are field errors, not 500s.
    assert_eq!(app.get(ProvinceAdmin, "/burden?year=abc").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get(ProvinceAdmin, "/burden?from=2026-13-01").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.get(ProvinceAdmin, "/burden?severity=fatal").await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.get(ProvinceAdmin, "/burden?unit=35x").await.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn findings_export_as_csv_and_xlsx() {
    let app = TestApp::new().await;
    let id = second_inspection(&app).await;

    let r = app.get(ProvinceAdmin, "/burden/findings.csv?unit=35&year=2026").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/csv"));
    assert!(r.header(header::CONTENT_DISPOSITION).unwrap().contains("findings-35-2026.csv"));
    assert!(r.body.starts_with("\u{feff}".as_bytes()), "UTF-8 byte-order mark");
    let text = r.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("\"规则\",\"规则说明\""), "{}", lines[0]);
    assert!(lines.len() >= 2, "a header and rows: {text}");
    assert!(lines.iter().any(|l| l.starts_with(&format!("\"{CAP_RULE}\"")) && l.contains(&id)), "{text}");
    // Filtered to nothing: the header alone.
    let r = app.get(ProvinceAdmin, "/burden/findings.csv?unit=35&year=2026&rule=doc.length&lang=en").await;
    let text = r.text();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("\"rule\",\"explanation\""));

    let r = app.get(ProvinceAdmin, "/burden/findings.xlsx?unit=35&year=2026").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().contains("spreadsheetml"));
    assert!(r.body.starts_with(b"PK"), "an XLSX is a zip");

    // Cells a spreadsheet would take for a formula are escaped.
    let row = FindingRow {
        rule: "visit.cap_per_unit".into(),
        explanation: "-1".into(),
        severity: tongxin_rules::Severity::Warning,
        severity_name: "警告",
        date: at(3, 1, 0).date(),
        units: vec![NamedUnit { code: "350102".into(), name: "@SUM(A1)".into() }],
        demands: vec![NamedDemand { id: id.clone(), title: "=HYPERLINK(\"http://x\")".into() }],
        evidence: "+cmd".into(),
    };
    let csv = String::from_utf8(findings_csv_bytes(Lang::En, &[row])).unwrap();
    let data = csv.lines().nth(1).unwrap();
    assert!(data.contains("\"'-1\""), "{data}");
    assert!(data.contains("\"'@SUM(A1)\""), "{data}");
    assert!(data.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{data}");
    assert!(data.contains("\"'+cmd\""), "{data}");
}

/// The registration form's fields for a second inspection at 鼓楼区.
fn precheck_form(app: &TestApp, action: &'static str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "inspection".into()),
        ("source_body", app.fx.division_b.id.to_string()),
        ("title", SECOND_TITLE.into()),
        ("topic", "高标准农田建设".into()),
        ("targets", "350102".into()),
        ("starts_at", "2026-03-20T09:00".into()),
        ("ends_at", "2026-03-20T11:30".into()),
        ("cadre_hours", "6".into()),
        ("action", action.into()),
    ]
}

#[tokio::test]
async fn precheck_on_the_registration_page_writes_nothing_and_shows_the_finding() {
    let app = TestApp::new().await;
    let before = app.demand_count().await;
    let pairs = precheck_form(&app, "precheck");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form(ProvinceAdmin, "/demands/new", &pairs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("id=\"precheck\""), "{html}");
    assert!(html.contains(&format!("data-rule=\"{CAP_RULE}\"")), "{html}");
    assert!(html.contains(&format!("value=\"{SECOND_TITLE}\"")), "the form keeps its values");
    assert!(html.contains("data-unit=\"350102\""), "the burden added to 鼓楼区");
    assert!(
        html.contains(&format!("href=\"/demands/{}\"", app.seed.county.id)),
        "the earlier inspection to merge with"
    );
    assert_eq!(app.demand_count().await, before, "a pre-check writes nothing");

    // In English, and a bad field comes back as a field error.
    let mut pairs = precheck_form(&app, "precheck");
    pairs[6].1 = "2026-03-20T08:00".into();
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form(ProvinceAdmin, "/demands/new?lang=en", &pairs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("id=\"form-errors\""));
    assert!(!r.text().contains("id=\"precheck\""));
    assert_eq!(app.demand_count().await, before);

    // The register button still registers.
    let pairs = precheck_form(&app, "register");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.post_form(ProvinceAdmin, "/demands/new", &pairs).await;
    assert!(r.status.is_redirection(), "{}", r.text());
    assert_eq!(app.demand_count().await, before + 1);
}

#[tokio::test]
async fn api_precheck_names_fields_and_rules() {
    let app = TestApp::new().await;
    let before = app.demand_count().await;
    let mut bad = input(app.fx.division_b.id, &["350102"], at(3, 20, 9));
    bad["ends_at"] = json!("2026-03-20T08:00:00");
    let r = app.post_json(ProvinceAdmin, "/api/precheck", &json!({"demands": [bad]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let errors = v["items"][0]["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{v}");
    assert!(errors.iter().all(|e| e["field"].as_str().unwrap().starts_with("demands[0].")), "{v}");
    assert!(v["items"][0]["report"].is_null());

    let good = input(app.fx.division_b.id, &["350102"], at(3, 20, 9));
    let r = app.post_json(ProvinceAdmin, "/api/precheck", &json!({"demands": [good]})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let v = r.json();
    let rules: Vec<&str> = v["items"][0]["report"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&CAP_RULE), "{v}");
    assert_eq!(app.demand_count().await, before);
}
