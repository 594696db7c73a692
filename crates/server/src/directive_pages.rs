//! The directives' pages (issue 6), zh/en, over the functions of [`crate::directives`]:
//!
//! | path | who | JavaScript |
//! |---|---|---|
//! | `GET /directives` | authors see their bodies' directives; cadres those consulting or issued on their units | no |
//! | `GET/POST /directives/new`, `GET/POST /directives/{id}/edit` | authors: the editor (TOML) with the check panel; "检查 / Check" re-renders the panel, "保存 / Save" stores | no |
//! | `POST /directives/{id}/consultation`, `/status`, `/conclude` | authors: open the window, issue or withdraw, conclude | no |
//! | `GET /directives/{id}/consult`, `POST /directives/{id}/consult` | cadres of target units: rate by name (no JS), or anonymously | anonymous only: `/static/directives.js` spends a token from the wallet `/static/voice.js` keeps |
//! | `GET /directives/{id}/results` | authors: ratings per task and level (suppressed below k) beside tongxin's estimate | no |

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use chrono::Utc;
use serde_json::{Value, json};
use tongxin_directives::{CheckReport, Directive, Severity};
use tongxin_domain::{Body, BodyKind, Role, User};
use uuid::Uuid;

use crate::AppState;
use crate::auth::PageUser;
use crate::directives::{self as d, Access};
use crate::error::AppError;
use crate::i18n::Lang;
use crate::pages::{Chrome, OrPage, PageError, PageResult, chrome, render};
use crate::voice::period_of;
use crate::voice_pages::TOKEN_HOLD_HOURS;

/// The script of the anonymous rating, exactly as served at `/static/directives.js`.
pub const SCRIPT: &[u8] = include_bytes!("../static/directives.js");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/directives.js", get(script))
        .route("/directives", get(list_page))
        .route("/directives/new", get(new_page).post(new_submit))
        .route("/directives/panel", axum::routing::post(panel_submit))
        .route("/directives/{id}/edit", get(edit_page).post(edit_submit))
        .route("/directives/{id}/consultation", axum::routing::post(consultation_submit))
        .route("/directives/{id}/status", axum::routing::post(status_submit))
        .route("/directives/{id}/conclude", axum::routing::post(conclude_submit))
        .route("/directives/{id}/consult", get(consult_page).post(consult_submit))
        .route("/directives/{id}/results", get(results_page))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
        .into_response()
}

fn err(l: Lang, e: AppError) -> PageError {
    PageError { l, error: e }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

fn revision(l: Lang, form: &HashMap<String, String>) -> Result<u32, PageError> {
    field(form, "revision")
        .trim()
        .parse()
        .map_err(|_| err(l, AppError::field("revision", "缺少修订号", "the revision is missing")))
}

fn page_id(l: Lang, id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| crate::pages::not_found(l))
}

// ---------------------------------------------------------------------------------------
// The check panel

pub struct TaskRow {
    pub id: String,
    pub title: String,
    pub verdict: &'static str,
    pub verdict_text: String,
    pub units: usize,
    pub deadline: String,
    pub probability: String,
    pub earliest: String,
    pub p80: String,
    pub breaking: String,
    pub reason: String,
}

/// A statutory figure of a template that was not checked against the statute's text.
pub struct UnverifiedRow {
    pub task: String,
    pub step: String,
    pub name: String,
    pub status: String,
    pub source: String,
}

pub struct ConflictRow {
    pub blocking: bool,
    pub kind: String,
    pub draft: String,
    pub others: String,
    pub units: String,
    pub reason: String,
}

/// The check panel: the verdicts, conflicts and burden of a report, or the problems of a
/// document that could not be checked.
#[derive(Default)]
pub struct Panel {
    pub checked: bool,
    pub blocks: bool,
    pub errors: Vec<String>,
    pub tasks: Vec<TaskRow>,
    pub conflicts: Vec<ConflictRow>,
    pub burden: String,
    pub unverified: Vec<UnverifiedRow>,
}

fn pct(p: f64) -> String {
    format!("{:.0}%", p * 100.0)
}

fn panel_of(l: Lang, r: &CheckReport) -> Panel {
    let tasks = r
        .tasks
        .iter()
        .map(|t| {
            // The worst group speaks for the task.
            let g = t
                .groups
                .iter()
                .min_by(|a, b| a.feasibility.probability.total_cmp(&b.feasibility.probability));
            let f = g.map(|g| &g.feasibility);
            TaskRow {
                id: t.task.clone(),
                title: t.title.clone(),
                verdict: t.verdict.as_str(),
                verdict_text: l
                    .t(
                        t.verdict.zh(),
                        match t.verdict.as_str() {
                            "feasible" => "feasible",
                            "at_risk" => "at risk",
                            _ => "infeasible",
                        },
                    )
                    .to_owned(),
                units: t.unit_count,
                deadline: t.deadline.to_string(),
                probability: f.map(|f| pct(f.probability)).unwrap_or_default(),
                earliest: f.map(|f| f.earliest.to_string()).unwrap_or_default(),
                p80: f.map(|f| f.deadline_p80.to_string()).unwrap_or_default(),
                breaking: f
                    .and_then(|f| f.breaking_step.as_ref())
                    .map(|b| format!("{} ({})", l.t(&b.zh, &b.en), b.step))
                    .unwrap_or_default(),
                reason: f.map(|f| l.t(&f.reason.zh, &f.reason.en).to_owned()).unwrap_or_default(),
            }
        })
        .collect();
    let refs = |v: &[tongxin_directives::TaskRef]| {
        v.iter()
            .map(|t| format!("《{}》{}（{}）", t.directive_title, t.task_title, t.task))
            .collect::<Vec<_>>()
            .join("；")
    };
    let conflicts = r
        .conflicts
        .iter()
        .map(|c| ConflictRow {
            blocking: c.severity == Severity::Conflict,
            kind: l.t(c.kind.zh(), c.kind.en()).to_owned(),
            draft: refs(&c.draft),
            others: refs(&c.others),
            units: {
                let mut s: Vec<&str> = c.units.iter().take(8).map(|u| u.as_str()).collect();
                if c.units.len() > 8 {
                    s.push("…");
                }
                s.join(", ")
            },
            reason: l.t(&c.reason.zh, &c.reason.en).to_owned(),
        })
        .collect();
    let b = &r.burden;
    let burden = match l {
        Lang::Zh => format!(
            "共增加 {:.0} 干部工时、{:.0} 次上级到访，涉及 {} 个单位",
            b.total_cadre_hours,
            b.total_visits,
            b.units.len()
        ),
        Lang::En => format!(
            "adds {:.0} cadre-hours and {:.0} upper-level visits at {} units",
            b.total_cadre_hours,
            b.total_visits,
            b.units.len()
        ),
    };
    let mut unverified = Vec::new();
    for t in &r.tasks {
        for u in &t.unverified {
            // One row per task and step, whatever the number of template variants.
            if unverified.iter().any(|x: &UnverifiedRow| x.task == t.task && x.step == u.step) {
                continue;
            }
            unverified.push(UnverifiedRow {
                task: t.task.clone(),
                step: u.step.clone(),
                name: l.t(&u.zh, &u.en).to_owned(),
                status: l.t(u.verified.zh(), u.verified.en()).to_owned(),
                source: u.source.clone(),
            });
        }
    }
    Panel { checked: true, blocks: r.blocks_issuance(), errors: vec![], tasks, conflicts, burden, unverified }
}

fn panel_of_value(l: Lang, v: Option<&Value>) -> Panel {
    v.and_then(|v| serde_json::from_value::<CheckReport>(v.clone()).ok())
        .map(|r| panel_of(l, &r))
        .unwrap_or_default()
}

/// A refused document's problems as the panel (422 naming fields); any other error is
/// the page's error.
fn problems_panel(l: Lang, e: AppError) -> Result<Panel, PageError> {
    if e.status.is_client_error() && !e.body.fields.is_empty() {
        Ok(panel_of_error(l, &e))
    } else {
        Err(err(l, e))
    }
}

/// The editor's check, shared by the new-draft page, the edit page and the live panel:
/// parses the TOML, checks it against the active directives (leaving out `exclude`, the
/// draft being edited) and renders the panel, or the document's problems in it.
async fn check_panel(
    state: &AppState,
    l: Lang,
    text: &str,
    exclude: Option<Uuid>,
) -> Result<Panel, PageError> {
    let checked = async {
        let doc = d::parse_source(Some(text), None)?;
        d::run_check(state, &doc, exclude).await
    }
    .await;
    match checked {
        Ok(c) => Ok(panel_of(l, &c.report)),
        Err(e) => problems_panel(l, e),
    }
}

fn panel_of_error(l: Lang, e: &AppError) -> Panel {
    let mut errors: Vec<String> =
        e.body.fields.iter().map(|f| format!("{}: {}", f.field, l.t(&f.zh, &f.en))).collect();
    if errors.is_empty() {
        errors.push(l.t(&e.body.message_zh, &e.body.message_en).to_owned());
    }
    Panel { errors, ..Panel::default() }
}

// ---------------------------------------------------------------------------------------
// List

pub struct ListRow {
    pub id: String,
    pub title: String,
    pub body: String,
    pub status: String,
    pub status_text: String,
    pub flagged: bool,
    pub author: bool,
}

#[derive(Template)]
#[template(path = "directive_list.html")]
struct ListPage {
    c: Chrome,
    can_draft: bool,
    rows: Vec<ListRow>,
    /// The cursor of the next page, if any.
    next: Option<Uuid>,
}

async fn list_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let (after, limit) = d::page_params(&q).or_page(l)?;
    let (items, next) = d::list_for(&state, &user, after, limit).await.or_page(l)?;
    let rows = items
        .iter()
        .map(|v| ListRow {
            id: v["id"].as_str().unwrap_or_default().to_owned(),
            title: v["title"].as_str().unwrap_or_default().to_owned(),
            body: v["body_name"].as_str().unwrap_or_default().to_owned(),
            status: v["status"].as_str().unwrap_or_default().to_owned(),
            status_text: l
                .t(v["status_zh"].as_str().unwrap_or_default(), v["status"].as_str().unwrap_or_default())
                .to_owned(),
            flagged: v["blocks_issuance"] == true,
            author: v["is_author"] == true,
        })
        .collect();
    let can_draft = user.role != Role::Cadre;
    Ok(render(&ListPage { c: chrome(l, Some(user), "/directives"), can_draft, rows, next }))
}

// ---------------------------------------------------------------------------------------
// Editor

pub struct BodyChoice {
    pub id: Uuid,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "directive_edit.html")]
struct EditPage {
    c: Chrome,
    /// `None` for a new draft.
    id: Option<Uuid>,
    revision: u32,
    status: String,
    status_text: String,
    editable: bool,
    toml: String,
    bodies: Vec<BodyChoice>,
    panel: Panel,
    /// The consultation window, described.
    window: Option<String>,
    today: String,
}

/// The bodies `user` may draft for.
async fn bodies_for(
    state: &AppState,
    user: &User,
    selected: Option<Uuid>,
) -> Result<Vec<BodyChoice>, AppError> {
    let all = state.store.bodies(None).await?;
    let mut out: Vec<BodyChoice> = all
        .into_iter()
        .filter(|b: &Body| match user.role {
            Role::BodyStaff => {
                user.body.is_some_and(|u| u == b.id || (b.kind == BodyKind::Division && b.parent == Some(u)))
            }
            Role::Office | Role::Admin => user.covers(&b.unit),
            Role::Cadre => false,
        })
        .map(|b| BodyChoice {
            selected: Some(b.id) == selected || (selected.is_none() && user.body == Some(b.id)),
            id: b.id,
            name: b.name,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// A starting document for a new draft.
const STARTER: &str = r#"id = "draft"
issuing_body = "（由系统填写 / filled in by tongxin）"
title = ""
summary = ""
issued_on = 2026-12-01

[[task]]
id = "task1"
title = ""
template = "data_collection"
deadline = 2026-12-31
targets = { level = "village", under = "" }
resources = { cadre_hours = 10, visits = 1 }
requirements = []
"#;

fn toml_of(doc: &Directive) -> String {
    toml::to_string(doc).unwrap_or_else(|_| serde_json::to_string_pretty(doc).unwrap_or_default())
}

async fn new_page(State(state): State<AppState>, l: Lang, PageUser(user): PageUser) -> PageResult {
    if user.role == Role::Cadre {
        return Err(err(l, AppError::forbidden()));
    }
    let bodies = bodies_for(&state, &user, None).await.or_page(l)?;
    Ok(render(&EditPage {
        c: chrome(l, Some(user), "/directives/new"),
        id: None,
        revision: 0,
        status: "draft".into(),
        status_text: l.t("新草稿", "new draft").into(),
        editable: true,
        toml: STARTER.into(),
        bodies,
        panel: Panel::default(),
        window: None,
        today: today(),
    }))
}

fn window_text(l: Lang, c: &Value) -> Option<String> {
    if c.is_null() {
        return None;
    }
    let day = |k: &str| c[k].as_str().unwrap_or_default().chars().take(10).collect::<String>();
    let mut s = match c["round"].as_u64() {
        Some(n) => format!(
            "{}{n}{}{} — {}",
            l.t("第 ", "round "),
            l.t(" 轮：", ": "),
            day("opens_at"),
            day("closes_at")
        ),
        None => format!("{} — {}", day("opens_at"), day("closes_at")),
    };
    if c["open"] == true {
        s += l.t("（进行中）", " (open)");
    }
    if let Some(o) = c["outcome"].as_str() {
        s += &format!("；{}：{o}，{}", l.t("结论", "outcome"), c["response"].as_str().unwrap_or_default());
    }
    if let Some(i) = c["log_index"].as_u64() {
        s += &format!("（{} #{i}）", l.t("透明日志", "log entry"));
    }
    Some(s)
}

fn today() -> String {
    tongxin_voice::china_date(Utc::now()).to_string()
}

async fn new_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let text = field(&form, "toml").to_owned();
    let body = Uuid::parse_str(field(&form, "issuing_body")).ok();
    if user.role == Role::Cadre {
        return Err(err(l, AppError::forbidden()));
    }
    let panel = if field(&form, "action") == "save" {
        let saved = async {
            let doc = d::parse_source(Some(&text), None)?;
            d::create_draft(&state, &user, body, doc).await
        }
        .await;
        match saved {
            Ok(stored) => return Ok(Redirect::to(&format!("/directives/{}/edit", stored.id)).into_response()),
            Err(e) => problems_panel(l, e)?,
        }
    } else {
        check_panel(&state, l, &text, None).await?
    };
    let bodies = bodies_for(&state, &user, body).await.or_page(l)?;
    Ok(render(&EditPage {
        c: chrome(l, Some(user), "/directives/new"),
        id: None,
        revision: 0,
        status: "draft".into(),
        status_text: l.t("新草稿", "new draft").into(),
        editable: true,
        toml: text,
        bodies,
        panel,
        window: None,
        today: today(),
    }))
}

/// The check panel alone, for the editor's live check: `/static/directives.js` posts the
/// document as the author types and swaps this fragment in. (Without the script the Check
/// button re-renders the whole page with the same panel.) `id`, when editing a stored
/// draft, leaves that draft out of the conflicts.
#[derive(Template)]
#[template(path = "directive_panel_fragment.html")]
struct PanelFragment {
    c: Chrome,
    panel: Panel,
}

async fn panel_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    if user.role == Role::Cadre {
        return Err(err(l, AppError::forbidden()));
    }
    let exclude = match field(&form, "id") {
        "" => None,
        id => {
            let id = page_id(l, id)?;
            authored(&state, l, &user, id).await?;
            Some(id)
        }
    };
    let panel = check_panel(&state, l, field(&form, "toml"), exclude).await?;
    let mut res = render(&PanelFragment { c: chrome(l, Some(user), "/directives/panel"), panel });
    res.headers_mut().insert(header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn authored(state: &AppState, l: Lang, user: &User, id: Uuid) -> Result<Access, PageError> {
    let a = d::visible(state, user, id).await.or_page(l)?;
    if !a.author {
        return Err(err(l, AppError::forbidden()));
    }
    Ok(a)
}

async fn edit_render(
    state: &AppState,
    l: Lang,
    user: User,
    a: &Access,
    toml: Option<String>,
    panel: Option<Panel>,
) -> PageResult {
    let doc = d::document_of(&a.stored).or_page(l)?;
    let consultation = d::view(state, a).await.or_page(l)?["consultation"].clone();
    let s = a.stored.status;
    Ok(render(&EditPage {
        c: chrome(l, Some(user), format!("/directives/{}/edit", a.stored.id)),
        id: Some(a.stored.id),
        revision: a.stored.revision,
        status: s.as_str().into(),
        status_text: l.t(d::status_zh(s), s.as_str()).into(),
        editable: s == tongxin_store::DirectiveStatus::Draft,
        toml: toml.unwrap_or_else(|| toml_of(&doc)),
        bodies: vec![BodyChoice { id: a.body.id, name: a.body.name.clone(), selected: true }],
        panel: panel.unwrap_or_else(|| panel_of_value(l, a.stored.check.as_ref())),
        window: window_text(l, &consultation),
        today: today(),
    }))
}

async fn edit_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let a = authored(&state, l, &user, page_id(l, &id)?).await?;
    edit_render(&state, l, user, &a, None, None).await
}

async fn edit_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = page_id(l, &id)?;
    let a = authored(&state, l, &user, id).await?;
    let text = field(&form, "toml").to_owned();
    let rev = revision(l, &form)?;
    let panel = if field(&form, "action") == "save" {
        let saved = async {
            let doc = d::parse_source(Some(&text), None)?;
            d::update_draft(&state, &user, id, rev, doc).await
        }
        .await;
        match saved {
            Ok(_) => return Ok(Redirect::to(&format!("/directives/{id}/edit")).into_response()),
            Err(e) => problems_panel(l, e)?,
        }
    } else {
        check_panel(&state, l, &text, Some(id)).await?
    };
    edit_render(&state, l, user, &a, Some(text), Some(panel)).await
}

async fn consultation_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = page_id(l, &id)?;
    d::open_window(&state, &user, id, field(&form, "closes_on"), revision(l, &form)?).await.or_page(l)?;
    Ok(Redirect::to(&format!("/directives/{id}/edit")).into_response())
}

async fn status_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = page_id(l, &id)?;
    d::set_status_to(&state, &user, id, field(&form, "status"), revision(l, &form)?).await.or_page(l)?;
    Ok(Redirect::to(&format!("/directives/{id}/edit")).into_response())
}

async fn conclude_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = page_id(l, &id)?;
    d::conclude_consultation(
        &state,
        &user,
        id,
        field(&form, "outcome"),
        field(&form, "response"),
        revision(l, &form)?,
    )
    .await
    .or_page(l)?;
    Ok(Redirect::to(&format!("/directives/{id}/results")).into_response())
}

// ---------------------------------------------------------------------------------------
// Consultation (cadres)

pub struct ConsultTask {
    pub id: String,
    pub title: String,
    pub deadline: String,
    pub template: String,
    pub estimate: String,
}

#[derive(Template)]
#[template(path = "directive_consult.html")]
struct ConsultPage {
    c: Chrome,
    id: Uuid,
    title: String,
    summary: String,
    body: String,
    open: bool,
    closes: String,
    tasks: Vec<ConsultTask>,
    done: bool,
    /// For the anonymous rating script: `application/json` data.
    data: String,
}

fn estimate_text(l: Lang, e: &Value) -> String {
    match (e["probability"].as_f64(), e["deadline_p80"].as_str()) {
        (Some(p), Some(p80)) => match l {
            Lang::Zh => format!("同心测算：按期完成的概率约 {}；有 80% 把握的期限为 {p80}", pct(p)),
            Lang::En => {
                format!("tongxin's estimate: {} chance of meeting the deadline; 80% by {p80}", pct(p))
            }
        },
        _ => String::new(),
    }
}

async fn consult_render(state: &AppState, l: Lang, user: User, id: Uuid, done: bool) -> PageResult {
    let a = d::visible(state, &user, id).await.or_page(l)?;
    if user.role != Role::Cadre {
        return Err(err(l, AppError::forbidden()));
    }
    let doc = d::document_of(&a.stored).or_page(l)?;
    let results = d::results_json(state, &a, None).await.or_page(l)?;
    let c = &results["consultation"];
    let open = c["open"] == true;
    let tasks = doc
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| ConsultTask {
            id: t.id.clone(),
            title: t.title.clone(),
            deadline: t.deadline.to_string(),
            template: t.template.clone(),
            estimate: estimate_text(l, &results["tasks"][i]["estimate"]),
        })
        .collect();
    let levels: Vec<&str> = {
        let mut v: Vec<&str> = a.stored.targets.iter().map(|t| t.level().as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let data = json!({
        "id": id,
        "lang": if l == Lang::Zh { "zh" } else { "en" },
        "period": period_of(Utc::now()),
        "targets": a.stored.targets.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
        "levels": levels,
        "own_level": user.scope.level().as_str(),
        "hold_hours": TOKEN_HOLD_HOURS,
    })
    .to_string()
    .replace('<', "\\u003c");
    Ok(render(&ConsultPage {
        c: chrome(l, Some(user), format!("/directives/{id}/consult")),
        id,
        title: doc.title.clone(),
        summary: doc.summary.clone(),
        body: a.body.name.clone(),
        open,
        closes: c["closes_at"].as_str().unwrap_or_default().chars().take(10).collect(),
        tasks,
        done,
        data,
    }))
}

async fn consult_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = page_id(l, &id)?;
    consult_render(&state, l, user, id, false).await
}

/// The named rating from the form (no JavaScript): `rating.{task}` and `comment.{task}`.
async fn consult_submit(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = page_id(l, &id)?;
    let a = d::visible(&state, &user, id).await.or_page(l)?;
    let doc = d::document_of(&a.stored).or_page(l)?;
    let items: Vec<d::DirectiveRatingItem> = doc
        .tasks
        .iter()
        .filter_map(|t| {
            let r: u8 = field(&form, &format!("rating.{}", t.id)).parse().ok()?;
            Some(d::DirectiveRatingItem {
                task: t.id.clone(),
                rating: r,
                comment: field(&form, &format!("comment.{}", t.id)).to_owned(),
            })
        })
        .collect();
    d::rate_by_name(&state, &user, id, &items).await.or_page(l)?;
    consult_render(&state, l, user, id, true).await
}

// ---------------------------------------------------------------------------------------
// Results (authors)

pub struct LevelRow {
    pub level: String,
    pub suppressed: bool,
    pub responses: String,
    pub mean: String,
    pub histogram: String,
    pub comments: Vec<String>,
}

pub struct ResultTask {
    pub id: String,
    pub title: String,
    pub estimate: String,
    pub verdict: String,
    pub overall: LevelRow,
    pub levels: Vec<LevelRow>,
}

/// One consultation round, for the list of rounds on the results page.
pub struct RoundRow {
    pub round: u64,
    pub shown: bool,
    pub window: String,
}

#[derive(Template)]
#[template(path = "directive_results.html")]
struct ResultsPage {
    c: Chrome,
    id: Uuid,
    title: String,
    status: String,
    k: u64,
    responses: u64,
    revision: u32,
    /// The round shown, and whether it is the open one (then it can be concluded).
    round: Option<u64>,
    consulting: bool,
    window: Option<String>,
    rounds: Vec<RoundRow>,
    tasks: Vec<ResultTask>,
}

fn level_row(l: Lang, v: &Value) -> LevelRow {
    let level = match (v["level_zh"].as_str(), v["level_en"].as_str()) {
        (Some(zh), Some(en)) => l.t(zh, en).to_owned(),
        _ => l.t("全部", "all levels").to_owned(),
    };
    LevelRow {
        level,
        suppressed: v["suppressed"] == true,
        responses: v["responses"].as_u64().map(|n| n.to_string()).unwrap_or_default(),
        mean: v["mean"].as_f64().map(|m| format!("{m:.2}")).unwrap_or_default(),
        histogram: v["histogram"]
            .as_array()
            .map(|h| h.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" / "))
            .unwrap_or_default(),
        comments: v["comments"]
            .as_array()
            .map(|c| c.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
    }
}

async fn results_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let id = page_id(l, &id)?;
    let a = authored(&state, l, &user, id).await?;
    let round = d::round_param(q.get("round").map(String::as_str)).or_page(l)?;
    let v = d::results_json(&state, &a, round).await.or_page(l)?;
    let shown = v["round"].as_u64();
    let rounds: Vec<RoundRow> = v["rounds"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| RoundRow {
                    round: r["round"].as_u64().unwrap_or_default(),
                    shown: r["round"].as_u64() == shown,
                    window: window_text(l, r).unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let tasks = v["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| ResultTask {
                    id: t["task"].as_str().unwrap_or_default().to_owned(),
                    title: t["title"].as_str().unwrap_or_default().to_owned(),
                    estimate: estimate_text(l, &t["estimate"]),
                    verdict: t["estimate"]["verdict"].as_str().unwrap_or_default().to_owned(),
                    overall: level_row(l, &t["overall"]),
                    levels: t["levels"]
                        .as_array()
                        .map(|ls| ls.iter().map(|x| level_row(l, x)).collect())
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    let s = a.stored.status;
    Ok(render(&ResultsPage {
        c: chrome(l, Some(user), format!("/directives/{id}/results")),
        id,
        title: v["title"].as_str().unwrap_or_default().to_owned(),
        status: l.t(d::status_zh(s), s.as_str()).to_owned(),
        k: v["k"].as_u64().unwrap_or_default(),
        responses: v["responses"].as_u64().unwrap_or_default(),
        revision: a.stored.revision,
        round: shown,
        // Only the open (latest) round is concluded here.
        consulting: s == tongxin_store::DirectiveStatus::Consulting
            && v["consultation"]["concluded_at"].is_null(),
        window: window_text(l, &v["consultation"]),
        rounds,
        tasks,
    }))
}
