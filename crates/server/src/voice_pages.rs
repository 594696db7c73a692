//! The safe voice's pages (issue 5), zh/en, over the functions of [`crate::voice`]:
//!
//! | path | who | JavaScript |
//! |---|---|---|
//! | `GET /voice/new` | a signed-in cadre files a report | **needed**: `/static/voice.js` blinds tokens and files |
//! | `GET /voice/receipt`, `POST /voice/receipt/check[/reply\|/rate]` | the receipt holder; **no session is read** | no |
//! | `GET /voice/inbox`, `POST /voice/inbox/{id}/…` | body staff (their body and divisions) | no |
//! | `GET /voice/escalations` | the burden-reduction office, admin (within scope) | no |
//! | `GET /voice/rates?year=` | anyone | no |
//! | `GET /static/voice.js` | anyone; the exact bytes [`script_sha256`] hashes | — |
//!
//! The filing page is the one page that needs JavaScript: blinding and unblinding must
//! happen on the cadre's side. Its script is one static file with no inline code (the page
//! passes its data in a `type="application/json"` block), loaded with a Subresource
//! Integrity hash, so the hash shown on the page and published in the log names exactly
//! the code that runs. The receipt secret travels only in POST bodies, never in a URL,
//! and the receipt pages answer `Cache-Control: no-store`.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tongxin_domain::{BodyKind, Level, Role, User};
use tongxin_voice::{
    Content, EscalationCause, Event, Figure, RateKey, Rating, Report, State as VState, Which, china_date,
    deadlines, overdue,
};
use uuid::Uuid;

use crate::AppState;
use crate::auth::PageUser;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::pages::{Chrome, OrPage, PageError, PageResult, chrome, render};
use crate::voice::{self, ALLOWANCE, K};

/// The filing page's script, exactly as served at `/static/voice.js`.
pub const SCRIPT: &[u8] = include_bytes!("../static/voice.js");

/// SHA-256 of the bytes served at `/static/voice.js`, for the transparency log.
pub fn script_sha256() -> [u8; 32] {
    static HASH: OnceLock<[u8; 32]> = OnceLock::new();
    *HASH.get_or_init(|| Sha256::digest(SCRIPT).into())
}

fn script_hex() -> String {
    script_sha256().iter().map(|b| format!("{b:02x}")).collect()
}

/// The log record that publishes the script's hash: a text entry naming what it is, the
/// path it is served at and its SHA-256 in hex.
pub fn script_record() -> Vec<u8> {
    format!("tongxin/voice/script/v1\npath /static/voice.js\nsha256 {}\n", script_hex()).into_bytes()
}

/// Appends [`script_record`] to the log in the background and remembers its index in
/// `state.script_log_index`. Each start publishes it again: a restart costs one small
/// entry, and the filing page always names an entry this very process vouches for.
pub fn publish_script(state: AppState) {
    let Some(log) = state.log.clone() else { return };
    tokio::spawn(async move {
        match log.append(script_record()).await {
            Ok(index) => {
                state.script_log_index.set(index).ok();
                tracing::info!(index, "published the filing script's hash in the log");
            }
            Err(e) => tracing::error!(error = %e, "could not publish the filing script's hash in the log"),
        }
    });
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/voice.js", get(script))
        .route("/voice/new", get(file_page))
        .route("/voice/receipt", get(receipt_form))
        .route("/voice/receipt/check", post(receipt_check))
        .route("/voice/receipt/check/reply", post(receipt_reply))
        .route("/voice/receipt/check/rate", post(receipt_rate))
        .route("/voice/inbox", get(inbox_page))
        .route("/voice/inbox/{id}/acknowledge", post(inbox_acknowledge))
        .route("/voice/inbox/{id}/answer", post(inbox_answer))
        .route("/voice/inbox/{id}/assign", post(inbox_assign))
        .route("/voice/inbox/{id}/route", post(inbox_route))
        .route("/voice/inbox/{id}/escalate", post(inbox_escalate))
        .route("/voice/inbox/{id}/message", post(inbox_message))
        .route("/voice/receipt/check/reopen", post(receipt_reopen))
        .route("/voice/escalations", get(escalations_page))
        .route("/voice/rates", get(rates_page))
}

/// The script never changes under one build, and its URL carries its hash: cached for a
/// year, immutable, with its hash as the entity tag.
async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8".to_owned()),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_owned()),
            (header::ETAG, format!("\"{}\"", script_hex())),
        ],
        SCRIPT,
    )
        .into_response()
}

fn no_store(r: Response) -> Response {
    let mut r = r;
    r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    r
}

fn err(l: Lang, error: AppError) -> PageError {
    PageError { l, error }
}

/// JSON for a `<script type="application/json">` block: nothing in it can end the block
/// or open markup.
fn json_block(v: &Value) -> String {
    v.to_string().replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

// ---------------------------------------------------------------------------------------
// Filing

pub struct ScopeChoice {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub cadres: u32,
    pub choosable: bool,
    pub meter_zh: String,
    pub meter_en: String,
    pub default: bool,
}

pub struct BodyChoice {
    pub id: Uuid,
    pub name: String,
}

#[derive(Template)]
#[template(path = "voice_new.html")]
struct FilePage {
    c: Chrome,
    cadre: bool,
    scopes: Vec<ScopeChoice>,
    bodies: Vec<BodyChoice>,
    config: String,
    k: u32,
    allowance: usize,
    period: String,
    logged: bool,
    script_hex: String,
    script_sri: String,
    /// The log index of this process's publication of the script hash.
    script_log_index: Option<u64>,
}

/// Hours the browser holds freshly taken tokens before it spends one, so that taking an
/// allowance and filing anonymously are never close in time (the server cannot enforce
/// this: it never sees which token came from which allowance).
pub const TOKEN_HOLD_HOURS: u32 = 24;

/// How many days before a month ends the page also takes next month's allowance.
pub const PREPARE_NEXT_DAYS: u64 = 5;

/// Next month's period label when `today` (a China date) is within
/// [`PREPARE_NEXT_DAYS`] days of the month's end, so that the first report of a month
/// spends a token taken days before rather than seconds before.
pub fn next_period_to_prepare(today: NaiveDate) -> Option<String> {
    let first = today.with_day(1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    let days_left = u64::try_from((next - today).num_days()).ok()?;
    (days_left <= PREPARE_NEXT_DAYS).then(|| format!("{:04}-{:02}", next.year(), next.month()))
}

impl FilePage {
    /// The script URL's version: its hash's first 16 hex digits.
    fn short_hash(&self) -> &str {
        &self.script_hex[..16]
    }
}

/// The scopes a cadre of `user.scope` may file in: the units containing their own,
/// county and above when they reach k cadres, a township only when it does; never a
/// village.
async fn scope_choices(state: &AppState, user: &User) -> Result<Vec<ScopeChoice>, AppError> {
    let mut out = Vec::new();
    for code in user.scope.lineage() {
        let Some(unit) = state.store.unit(&code).await? else { continue };
        let cadres = voice::cadres_in(state, &code).await?.unwrap_or(0);
        let m = tongxin_voice::meter(cadres, K);
        let level = code.level();
        let (choosable, zh, en) = if level == Level::Village {
            (
                false,
                "村一级范围太小，不能作为匿名范围。".to_owned(),
                "A village is too small to be a disclosure scope.".to_owned(),
            )
        } else {
            (m.allowed, m.zh, m.en)
        };
        out.push(ScopeChoice {
            code: code.as_str().to_owned(),
            name: unit.name,
            level,
            cadres,
            choosable,
            meter_zh: zh,
            meter_en: en,
            default: false,
        });
    }
    // Default: the county if it can be chosen, else the lowest scope that can.
    let pick = out
        .iter()
        .position(|s| s.level == Level::County && s.choosable)
        .or_else(|| out.iter().rposition(|s| s.choosable));
    if let Some(i) = pick {
        out[i].default = true;
    }
    Ok(out)
}

async fn file_page(State(state): State<AppState>, l: Lang, PageUser(user): PageUser) -> PageResult {
    let cadre = user.role == Role::Cadre;
    let period = voice::period_of(Utc::now());
    let (scopes, bodies) = if cadre {
        let scopes = scope_choices(&state, &user).await.or_page(l)?;
        let lineage = user.scope.lineage();
        let province = lineage.first().cloned();
        let all = state.store.bodies(province.as_ref()).await.or_page(l)?;
        let names: HashMap<Uuid, &str> = all.iter().map(|b| (b.id, b.name.as_str())).collect();
        // A division is named with its department, so that the list groups them.
        let mut bodies: Vec<BodyChoice> = all
            .iter()
            .filter(|b| lineage.contains(&b.unit))
            .map(|b| BodyChoice {
                id: b.id,
                name: match b.parent.and_then(|p| names.get(&p)) {
                    Some(p) => format!("{p} · {}", b.name),
                    None => b.name.clone(),
                },
            })
            .collect();
        bodies.sort_by(|a, b| a.name.cmp(&b.name));
        (scopes, bodies)
    } else {
        (Vec::new(), Vec::new())
    };
    let log_key = state.log.as_ref().map(|log| log.verifier().to_string());
    let config = json!({
        "lang": l.param(),
        "period": period,
        "next_period": next_period_to_prepare(china_date(Utc::now())),
        "allowance": ALLOWANCE,
        "hold_hours": TOKEN_HOLD_HOURS,
        "k": K,
        "log_key": log_key,
        "scopes": scopes.iter().map(|s| json!({"code": s.code, "name": s.name, "choosable": s.choosable})).collect::<Vec<_>>(),
        "bodies": bodies.iter().map(|b| json!({"id": b.id, "name": b.name})).collect::<Vec<_>>(),
    });
    let page = FilePage {
        c: chrome(l, Some(user), "/voice/new"),
        cadre,
        scopes,
        bodies,
        config: json_block(&config),
        k: K,
        allowance: ALLOWANCE,
        period,
        logged: log_key.is_some(),
        script_hex: script_hex(),
        script_sri: STANDARD.encode(script_sha256()),
        script_log_index: state.script_log_index.get().copied(),
    };
    Ok(no_store(render(&page)))
}

// ---------------------------------------------------------------------------------------
// Shared views of a report

pub struct DeadlineView {
    pub due: NaiveDate,
    pub left: i64,
    /// `Some(true)` done on time, `Some(false)` done late, `None` not done yet.
    pub met: Option<bool>,
}

impl DeadlineView {
    pub fn text(&self, l: &Lang) -> String {
        match self.met {
            Some(true) => l.t("按时完成", "done on time").to_owned(),
            Some(false) => l.t("逾期完成", "done late").to_owned(),
            None if self.left >= 0 => match l {
                Lang::Zh => format!("剩 {} 个工作日", self.left),
                Lang::En => format!("{} working day(s) left", self.left),
            },
            None => match l {
                Lang::Zh => format!("已逾期 {} 个工作日", -self.left),
                Lang::En => format!("overdue by {} working day(s)", -self.left),
            },
        }
    }

    pub fn class(&self) -> &'static str {
        match self.met {
            Some(true) => "ok",
            Some(false) => "late",
            None if self.left < 0 => "overdue",
            None if self.left <= 1 => "soon",
            None => "",
        }
    }
}

pub struct MessageView {
    pub from_body: bool,
    pub answer: bool,
    pub text: String,
    pub on: String,
}

pub struct ReportView {
    pub id: Uuid,
    pub state: VState,
    pub escalation: u8,
    pub escalation_cause: Option<EscalationCause>,
    pub anonymous: bool,
    pub scope: String,
    pub scope_name: String,
    pub addressed: Option<String>,
    pub submitted_on: NaiveDate,
    pub content: Content,
    pub acknowledge: DeadlineView,
    pub answer: DeadlineView,
    pub overdue: Option<Which>,
    pub messages: Vec<MessageView>,
    pub rating: Option<Rating>,
    /// The ledger demands the report cites: id and title.
    pub cited_demands: Vec<(Uuid, String)>,
    /// The bodies it cites, by name.
    pub cited_bodies: Vec<String>,
}

impl ReportView {
    pub fn state_name(&self, l: &Lang) -> &'static str {
        l.t(self.state.zh(), self.state.en())
    }

    pub fn state_str(&self) -> &'static str {
        self.state.as_str()
    }

    pub fn cause_name(&self, l: &Lang) -> &'static str {
        match self.escalation_cause {
            Some(EscalationCause::Overdue(Which::Acknowledge)) => {
                l.t("逾期未受理", "not acknowledged in time")
            }
            Some(EscalationCause::Overdue(Which::Answer)) => l.t("逾期未答复", "not answered in time"),
            Some(EscalationCause::Office) => l.t("减负办提级", "escalated by the office"),
            None => "",
        }
    }

    pub fn overdue_name(&self, l: &Lang) -> &'static str {
        match self.overdue {
            Some(Which::Acknowledge) => l.t("受理已逾期", "acknowledgement overdue"),
            Some(Which::Answer) => l.t("答复已逾期", "answer overdue"),
            None => "",
        }
    }

    pub fn is_closed(&self) -> bool {
        self.state == VState::Closed
    }

    pub fn may_acknowledge(&self) -> bool {
        self.state == VState::Submitted
    }

    pub fn may_answer(&self) -> bool {
        matches!(self.state, VState::Submitted | VState::Acknowledged)
    }

    pub fn may_rate(&self) -> bool {
        self.state == VState::Answered
    }
}

/// A body's name as people know it: a division with its department's name before it.
async fn body_label(state: &AppState, id: Uuid) -> Result<Option<String>, AppError> {
    let Some(body) = state.store.body(id).await? else { return Ok(None) };
    let parent = match body.parent {
        Some(p) => state.store.body(p).await?.map(|p| p.name),
        None => None,
    };
    Ok(Some(match parent {
        Some(p) => format!("{p} · {}", body.name),
        None => body.name,
    }))
}

async fn report_view(state: &AppState, r: &Report, now: DateTime<Utc>) -> Result<ReportView, AppError> {
    let d = deadlines(r, voice::calendar(), voice::limits());
    let dl = |x: tongxin_voice::Deadline, done: Option<DateTime<Utc>>| DeadlineView {
        due: x.due_date,
        left: x.working_days_left(now, voice::calendar()),
        met: done.map(|t| x.met_by(t)),
    };
    let scope_name = state.store.unit(&r.scope).await?.map(|u| u.name).unwrap_or_default();
    let addressed = match r.addressed {
        Some(b) => body_label(state, b).await?,
        None => None,
    };
    let escalation_cause = r.history.iter().rev().find_map(|t| match t.event {
        Event::Escalate { cause } => Some(cause),
        _ => None,
    });
    let messages = voice::messages(state, r)
        .await?
        .as_array()
        .map(|a| {
            a.iter()
                .map(|m| MessageView {
                    from_body: m["from"] == "body",
                    answer: m["kind"] == "answer",
                    text: m["text"].as_str().unwrap_or("").to_owned(),
                    on: m["on"].as_str().unwrap_or("").to_owned(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut cited_demands = Vec::new();
    for id in &r.cited_demands {
        if let Some(d) = state.store.demand(*id).await? {
            cited_demands.push((d.id, d.title));
        }
    }
    let mut cited_bodies = Vec::new();
    for id in &r.cited_bodies {
        if let Some(b) = body_label(state, *id).await? {
            cited_bodies.push(b);
        }
    }
    Ok(ReportView {
        cited_demands,
        cited_bodies,
        id: r.id,
        state: r.state,
        escalation: r.escalation,
        escalation_cause,
        anonymous: r.identity.is_anonymous(),
        scope: r.scope.as_str().to_owned(),
        scope_name,
        addressed,
        submitted_on: china_date(r.submitted_at),
        content: r.content.clone(),
        acknowledge: dl(d.acknowledge, r.acknowledged_at),
        answer: dl(d.answer, r.answered_at),
        overdue: overdue(r, now, voice::calendar(), voice::limits()).map(|o| o.which),
        messages,
        rating: r.rating,
    })
}

// ---------------------------------------------------------------------------------------
// The receipt holder (no session is read on any of these)

#[derive(Template)]
#[template(path = "voice_receipt.html")]
struct ReceiptPage {
    c: Chrome,
    report: Option<ReportView>,
    secret: String,
    error: Option<String>,
    notice: Option<String>,
}

fn receipt_page(
    l: Lang,
    report: Option<ReportView>,
    secret: String,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let page = ReceiptPage { c: chrome(l, None, "/voice/receipt"), report, secret, error, notice };
    no_store(render(&page))
}

async fn receipt_form(l: Lang) -> Response {
    receipt_page(l, None, String::new(), None, None)
}

fn message(l: Lang, e: &AppError) -> String {
    let mut s = l.t(&e.body.message_zh, &e.body.message_en).to_owned();
    for f in &e.body.fields {
        s.push_str(&format!("（{}：{}）", f.field, l.t(&f.zh, &f.en)));
    }
    s
}

/// Opens the report of `secret` and shows it, with `error` or `notice`; a bad secret
/// shows the empty form with the one generic answer.
async fn show_receipt(
    state: &AppState,
    l: Lang,
    secret: &str,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let report = match voice::by_secret(state, secret).await {
        Ok(r) => r,
        Err(e) => return receipt_page(l, None, String::new(), Some(message(l, &e)), None),
    };
    match report_view(state, &report, Utc::now()).await {
        Ok(v) => receipt_page(l, Some(v), secret.trim().to_owned(), error, notice),
        Err(e) => err(l, e).into_response(),
    }
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map(String::as_str).unwrap_or("")
}

async fn receipt_check(
    State(state): State<AppState>,
    l: Lang,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    show_receipt(&state, l, field(&form, "secret"), None, None).await
}

async fn receipt_reply(
    State(state): State<AppState>,
    l: Lang,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let secret = field(&form, "secret");
    let outcome = async {
        let report = voice::by_secret(&state, secret).await?;
        let text = voice::check_free_text("text", field(&form, "text"))?;
        crate::voice_loop::check_submitter_budget(&report)?;
        voice::transition(&state, &report, Event::Message { from: tongxin_voice::Party::Submitter }, &text)
            .await
    }
    .await;
    match outcome {
        Ok(_) => show_receipt(&state, l, secret, None, Some(l.t("已发送", "sent").to_owned())).await,
        Err(e) => show_receipt(&state, l, secret, Some(message(l, &e)), None).await,
    }
}

async fn receipt_rate(
    State(state): State<AppState>,
    l: Lang,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let secret = field(&form, "secret");
    let outcome = async {
        let report = voice::by_secret(&state, secret).await?;
        let satisfaction = field(&form, "satisfaction").trim().parse::<u8>().map_err(|_| {
            AppError::field("satisfaction", "请选择 1 到 5 的满意度", "choose a satisfaction from 1 to 5")
        })?;
        let resolved = match field(&form, "resolved") {
            "yes" => true,
            "no" => false,
            _ => {
                return Err(AppError::field(
                    "resolved",
                    "请选择问题是否已解决",
                    "say whether the problem is solved",
                ));
            }
        };
        let rating = Rating::new(satisfaction, resolved)?;
        voice::transition(&state, &report, Event::Rate { rating }, "").await
    }
    .await;
    match outcome {
        Ok(_) => {
            show_receipt(&state, l, secret, None, Some(l.t("评价已记录", "rating recorded").to_owned())).await
        }
        Err(e) => show_receipt(&state, l, secret, Some(message(l, &e)), None).await,
    }
}

async fn receipt_reopen(
    State(state): State<AppState>,
    l: Lang,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let secret = field(&form, "secret");
    match crate::voice_loop::reopen_by_receipt(&state, secret, field(&form, "text")).await {
        Ok(_) => show_receipt(&state, l, secret, None, Some(l.t("已重新打开", "reopened").to_owned())).await,
        Err(e) => show_receipt(&state, l, secret, Some(message(l, &e)), None).await,
    }
}

// ---------------------------------------------------------------------------------------
// A body's inbox and the office's escalation list

/// A report in a list, with what the account may do to it.
pub struct InboxItem {
    pub r: ReportView,
    /// Staff of the addressed body (or its department): acknowledge, answer, assign.
    pub handles: bool,
    /// The divisions the report may be assigned to (a department's own reports).
    pub divisions: Vec<BodyChoice>,
    /// The bodies an office may route the report to (the units of its scope's lineage).
    pub route_to: Vec<BodyChoice>,
}

#[derive(Template)]
#[template(path = "voice_inbox.html")]
struct InboxPage {
    c: Chrome,
    escalations: bool,
    items: Vec<InboxItem>,
}

async fn list_page(state: &AppState, l: Lang, user: User, escalations: bool) -> PageResult {
    // Each role has one list: a link to the other one leads to its own.
    match (user.role, escalations) {
        (Role::BodyStaff, false) | (Role::Office | Role::Admin, true) => {}
        (Role::BodyStaff, true) => return Ok(Redirect::to("/voice/inbox").into_response()),
        (Role::Office | Role::Admin, false) => return Ok(Redirect::to("/voice/escalations").into_response()),
        (Role::Cadre, _) => return Err(err(l, AppError::forbidden())),
    }
    let now = Utc::now();
    let reports = voice::inbox_reports(state, &user).await.or_page(l)?;
    let handled = voice::handled_bodies(state, &user).await.or_page(l)?;
    let choice = |b: &tongxin_domain::Body| BodyChoice { id: b.id, name: b.name.clone() };
    // Staff assign to their own department's divisions; the office routes to the bodies
    // along a report's lineage. Only what the list needs is read, not every body.
    let divisions: Vec<BodyChoice> = match (escalations, user.body) {
        (false, Some(b)) => state
            .store
            .divisions(b)
            .await
            .or_page(l)?
            .iter()
            .filter(|d| d.kind == BodyKind::Division)
            .map(choice)
            .collect(),
        _ => Vec::new(),
    };
    let all_bodies = if escalations { state.store.bodies(None).await.or_page(l)? } else { Vec::new() };
    let mut items = Vec::with_capacity(reports.len());
    for r in &reports {
        let handles = user.role == Role::BodyStaff && r.addressed.is_some_and(|b| handled.contains(&b));
        let assignable = handles && r.addressed == user.body && !divisions.is_empty();
        let route_to = if escalations {
            let lineage = r.scope.lineage();
            let mut v: Vec<BodyChoice> = all_bodies
                .iter()
                .filter(|b| lineage.contains(&b.unit) && Some(b.id) != r.addressed)
                .map(choice)
                .collect();
            v.sort_by(|a, b| a.name.cmp(&b.name));
            v
        } else {
            Vec::new()
        };
        items.push(InboxItem {
            r: report_view(state, r, now).await.or_page(l)?,
            handles,
            divisions: if assignable {
                divisions.iter().map(|d| BodyChoice { id: d.id, name: d.name.clone() }).collect()
            } else {
                Vec::new()
            },
            route_to,
        });
    }
    // Most urgent first: overdue, then the nearest deadline; closed ones last.
    items.sort_by_key(|i| {
        let v = &i.r;
        (v.is_closed(), v.overdue.is_none(), v.acknowledge.met.is_some(), v.answer.left, v.submitted_on)
    });
    let path = if escalations { "/voice/escalations" } else { "/voice/inbox" };
    Ok(no_store(render(&InboxPage { c: chrome(l, Some(user), path), escalations, items })))
}

async fn inbox_page(State(state): State<AppState>, l: Lang, PageUser(user): PageUser) -> PageResult {
    list_page(&state, l, user, false).await
}

async fn escalations_page(State(state): State<AppState>, l: Lang, PageUser(user): PageUser) -> PageResult {
    list_page(&state, l, user, true).await
}

async fn inbox_acknowledge(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let report = voice::report_for_body(&state, &user, &id).await.or_page(l)?;
    voice::transition(&state, &report, Event::Acknowledge, "").await.or_page(l)?;
    Ok(back(&user, report.id))
}

async fn inbox_answer(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let report = voice::report_for_body(&state, &user, &id).await.or_page(l)?;
    let text = voice::check_free_text("text", field(&form, "text")).or_page(l)?;
    voice::transition(&state, &report, Event::Answer, &text).await.or_page(l)?;
    Ok(back(&user, report.id))
}

fn body_field(l: Lang, form: &HashMap<String, String>) -> Result<Uuid, PageError> {
    crate::api::parse_uuid("body", field(form, "body")).or_page(l)
}

/// Back to the list the form was on: the office's escalation list or the inbox.
fn back(user: &User, id: Uuid) -> Response {
    let list = match user.role {
        Role::Office | Role::Admin => "/voice/escalations",
        _ => "/voice/inbox",
    };
    Redirect::to(&format!("{list}#r-{id}")).into_response()
}

async fn inbox_assign(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let to = body_field(l, &form)?;
    let report = crate::voice_loop::assign_report(&state, &user, &id, to).await.or_page(l)?;
    Ok(back(&user, report.id))
}

async fn inbox_route(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let to = body_field(l, &form)?;
    let report = crate::voice_loop::route_report(&state, &user, &id, to).await.or_page(l)?;
    Ok(back(&user, report.id))
}

async fn inbox_escalate(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let report = crate::voice_loop::escalate_report(&state, &user, &id).await.or_page(l)?;
    Ok(back(&user, report.id))
}

async fn inbox_message(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let report =
        crate::voice_loop::body_message(&state, &user, &id, field(&form, "text")).await.or_page(l)?;
    Ok(back(&user, report.id))
}

// ---------------------------------------------------------------------------------------
// Public response rates

pub struct RateRow {
    pub id: String,
    pub name: String,
    pub received: Option<u32>,
    pub ack_on_time: Option<f64>,
    pub answer_on_time: Option<f64>,
    pub resolved: Option<f64>,
    pub satisfaction: Option<f64>,
    pub median_days: Option<f64>,
}

impl RateRow {
    fn rank(&self) -> (bool, i64, i64) {
        let score = |x: Option<f64>| x.map_or(i64::MAX, |v| -(v * 10_000.0) as i64);
        (self.received.is_none(), score(self.answer_on_time), score(self.ack_on_time))
    }
}

#[derive(Template)]
#[template(path = "voice_rates.html")]
struct RatesPage {
    c: Chrome,
    year: i32,
    k: u32,
    bodies: Vec<RateRow>,
    units: Vec<RateRow>,
}

impl RatesPage {
    fn suppressed(&self) -> String {
        match self.c.l {
            Lang::Zh => format!("少于 {} 份，不公开", self.k),
            Lang::En => format!("fewer than {}, not shown", self.k),
        }
    }

    fn pct(&self, x: &Option<f64>) -> String {
        x.map_or_else(|| self.suppressed(), |v| format!("{:.0}%", v * 100.0))
    }

    fn num(&self, x: &Option<f64>) -> String {
        x.map_or_else(|| self.suppressed(), |v| format!("{v:.1}"))
    }

    fn count(&self, x: &Option<u32>) -> String {
        x.map_or_else(|| self.suppressed(), |v| v.to_string())
    }
}

async fn rates_page(
    State(state): State<AppState>,
    l: Lang,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let now = Utc::now();
    let year = match q.get("year").map(|s| s.trim()) {
        None | Some("") => china_date(now).year(),
        Some(s) => s.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y)).ok_or_else(|| {
            err(l, AppError::field("year", "年份须为 2000 到 2100 之间的整数", "year must be 2000 to 2100"))
        })?,
    };
    let (figures, names) = voice::rate_figures(&state, year, now).await.or_page(l)?;
    let mut unit_names: BTreeMap<String, String> = BTreeMap::new();
    let mut bodies = Vec::new();
    let mut units = Vec::new();
    for f in figures {
        let (id, name, is_body) = match &f.key {
            RateKey::Body(b) => {
                let name = match body_label(&state, *b).await.or_page(l)? {
                    Some(n) => n,
                    None => names.get(b).cloned().unwrap_or_default(),
                };
                (b.to_string(), name, true)
            }
            RateKey::Unit(u) => {
                let name = match unit_names.get(u.as_str()) {
                    Some(n) => n.clone(),
                    None => {
                        let n = state.store.unit(u).await.or_page(l)?.map(|x| x.name).unwrap_or_default();
                        unit_names.insert(u.as_str().to_owned(), n.clone());
                        n
                    }
                };
                (u.as_str().to_owned(), name, false)
            }
        };
        let rate = |x: Figure<tongxin_voice::Ratio>| x.value().map(|r| r.rate());
        let row = RateRow {
            id,
            name,
            received: f.received.value(),
            ack_on_time: rate(f.acknowledged_on_time),
            answer_on_time: rate(f.answered_on_time),
            resolved: rate(f.resolved),
            satisfaction: f.mean_satisfaction.value(),
            median_days: f.median_working_days_to_answer.value(),
        };
        if is_body { bodies.push(row) } else { units.push(row) }
    }
    bodies.sort_by(|a, b| a.rank().cmp(&b.rank()).then_with(|| a.name.cmp(&b.name)));
    units.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(render(&RatesPage { c: chrome(l, None, "/voice/rates"), year, k: K, bodies, units }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, received: Option<u32>) -> RateRow {
        let v = |x: f64| received.map(|_| x);
        RateRow {
            id: name.to_owned(),
            name: name.to_owned(),
            received,
            ack_on_time: v(0.9),
            answer_on_time: v(0.75),
            resolved: v(0.5),
            satisfaction: v(4.25),
            median_days: v(6.0),
        }
    }

    #[test]
    fn rates_show_figures_at_k_and_withhold_them_below() {
        let mut bodies = [row("迟缓厅", None), row("甲厅", Some(12)), row("乙厅", Some(40))];
        bodies[2].answer_on_time = Some(0.95);
        bodies.sort_by(|a, b| a.rank().cmp(&b.rank()).then_with(|| a.name.cmp(&b.name)));
        let names: Vec<&str> = bodies.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["乙厅", "甲厅", "迟缓厅"], "most responsive first, withheld last");
        for (l, withheld) in [(Lang::Zh, "少于 10 份，不公开"), (Lang::En, "fewer than 10, not shown")]
        {
            let page = RatesPage {
                c: chrome(l, None, "/voice/rates"),
                year: 2026,
                k: 10,
                bodies: bodies
                    .iter()
                    .map(|r| RateRow { id: r.id.clone(), name: r.name.clone(), ..*r })
                    .collect(),
                units: Vec::new(),
            };
            let html = page.render().unwrap();
            assert!(
                html.contains("<td>12</td><td>90%</td><td>75%</td><td>50%</td><td>4.2</td><td>6.0</td>"),
                "{html}"
            );
            assert!(
                html.contains(&format!("<td colspan=\"6\" class=\"suppressed\">{withheld}</td>")),
                "{html}"
            );
        }
    }

    #[test]
    fn next_month_is_prepared_in_the_last_days_only() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(next_period_to_prepare(d(2026, 11, 25)), None);
        assert_eq!(next_period_to_prepare(d(2026, 11, 26)).as_deref(), Some("2026-12"));
        assert_eq!(next_period_to_prepare(d(2026, 12, 31)).as_deref(), Some("2027-01"));
        assert_eq!(next_period_to_prepare(d(2027, 2, 23)), None);
        assert_eq!(next_period_to_prepare(d(2027, 2, 24)).as_deref(), Some("2027-03"));
        assert_eq!(next_period_to_prepare(d(2027, 3, 1)), None);
    }

    #[test]
    fn countdowns_read_as_people_count() {
        let d = |left, met| DeadlineView { due: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(), left, met };
        assert_eq!(d(3, None).text(&Lang::Zh), "剩 3 个工作日");
        assert_eq!(d(-2, None).text(&Lang::En), "overdue by 2 working day(s)");
        assert_eq!(d(-2, None).class(), "overdue");
        assert_eq!(d(1, None).class(), "soon");
        assert_eq!(d(0, Some(true)).text(&Lang::Zh), "按时完成");
        assert_eq!(d(0, Some(false)).class(), "late");
    }

    #[test]
    fn the_data_block_cannot_end_its_script_element() {
        let s = json_block(&json!({"x": "</script><script>alert(1)</script>&"}));
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back["x"], "</script><script>alert(1)</script>&");
    }
}
