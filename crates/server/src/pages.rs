//! Server-rendered pages (askama): sign-in, unit browser, unit calendar, demand
//! registration and detail. Every page works without JavaScript and on a narrow screen.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, FieldError, Flag, Level, Role,
    Unit, UnitCode, User,
};
use tongxin_store::{DemandFilter, DemandRevision};

use crate::AppState;
use crate::api::{self, DemandInput, parse_code, parse_time, parse_uuid};
use crate::auth::{MaybeUser, PageUser, safe_next};
use crate::authz;
use crate::error::AppError;
use crate::i18n::Lang;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(set_lang))
        .route("/static/app.css", get(css))
        .route("/units", get(provinces))
        .route("/units/{code}", get(unit_page))
        .route("/units/{code}/calendar", get(calendar_page))
        .route("/demands/new", get(new_demand_form).post(new_demand))
        .route("/demands/{id}", get(demand_page))
        .route("/demands/{id}/cancel", post(cancel_demand))
}

/// What every page's frame needs.
pub struct Chrome {
    pub l: Lang,
    pub user: Option<User>,
    /// The current path, for the language switch.
    pub path: String,
}

impl Chrome {
    pub fn role_name(&self) -> &'static str {
        match (&self.user, self.l) {
            (Some(u), Lang::Zh) => u.role.zh(),
            (Some(u), Lang::En) => u.role.en(),
            (None, _) => "",
        }
    }

    pub fn lang_switch(&self) -> String {
        format!("/lang/{}?next={}", self.l.other().param(), crate::auth::url_encode(&self.path))
    }
}

/// An error as a page, in the request's language.
pub struct PageError {
    pub l: Lang,
    pub error: AppError,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: Chrome,
    status: u16,
    message: &'a str,
    fields: &'a [crate::error::FieldErrorBody],
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let message = self.l.t(&self.error.body.message_zh, &self.error.body.message_en).to_owned();
        let page = ErrorPage {
            c: Chrome { l: self.l, user: None, path: "/".into() },
            status: self.error.status.as_u16(),
            message: &message,
            fields: &self.error.body.fields,
        };
        (self.error.status, render(&page)).into_response()
    }
}

pub(crate) type PageResult = Result<Response, PageError>;

pub(crate) trait OrPage<T> {
    fn or_page(self, l: Lang) -> Result<T, PageError>;
}

impl<T, E: Into<AppError>> OrPage<T> for Result<T, E> {
    fn or_page(self, l: Lang) -> Result<T, PageError> {
        self.map_err(|e| PageError { l, error: e.into() })
    }
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "template error").into_response()
        }
    }
}

pub fn chrome(l: Lang, user: Option<User>, path: impl Into<String>) -> Chrome {
    Chrome { l, user, path: path.into() }
}

pub fn kind_name(l: &Lang, k: &DemandKind) -> &'static str {
    l.t(k.zh(), k.en())
}

pub fn status_name(l: &Lang, s: &DemandStatus) -> &'static str {
    l.t(s.zh(), s.en())
}

pub fn level_name(l: &Lang, lv: &Level) -> &'static str {
    l.t(lv.zh(), lv.en())
}

async fn css() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")],
        include_str!("../static/app.css"),
    )
        .into_response()
}

pub fn not_found(l: Lang) -> PageError {
    PageError { l, error: AppError::not_found("页面不存在", "page not found") }
}

async fn set_lang(Path(lang): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let lang = if lang == "en" { "en" } else { "zh" };
    let next = safe_next(q.get("next").map(|s| s.as_str()));
    (
        [(header::SET_COOKIE, format!("lang={lang}; Path=/; SameSite=Lax; Max-Age=31536000"))],
        Redirect::to(&next),
    )
        .into_response()
}

// ----- sign-in -----

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    next: String,
    username: String,
    error: Option<String>,
}

async fn login_form(
    l: Lang,
    MaybeUser(user): MaybeUser,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let next = safe_next(q.get("next").map(|s| s.as_str()));
    if user.is_some() {
        return Redirect::to(&next).into_response();
    }
    render(&LoginPage { c: chrome(l, None, "/login"), next, username: String::new(), error: None })
}

async fn login(
    State(state): State<AppState>,
    l: Lang,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let username = form.get("username").cloned().unwrap_or_default();
    let password = form.get("password").cloned().unwrap_or_default();
    let next = safe_next(form.get("next").map(|s| s.as_str()));
    match api::authenticate(&state, &username, &password).await {
        Ok(user) => match crate::auth::start_session(&state, &user).await {
            Ok(cookie) => ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response(),
            Err(e) => PageError { l, error: e }.into_response(),
        },
        Err(e) => {
            let page = LoginPage {
                c: chrome(l, None, "/login"),
                next,
                username,
                error: Some(l.t(&e.body.message_zh, &e.body.message_en).to_owned()),
            };
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
    }
}

async fn logout(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    if let Some(token) = crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE) {
        let _ = state.store.delete_session(&crate::auth::hash_token(&token)).await;
    }
    ([(header::SET_COOKIE, crate::auth::clear_cookie())], Redirect::to("/login")).into_response()
}

// ----- home and units -----

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    scope: Unit,
    counts: tongxin_store::Counts,
    upcoming: Vec<Demand>,
}

async fn home(State(state): State<AppState>, l: Lang, PageUser(user): PageUser) -> PageResult {
    let scope = state.store.unit(&user.scope).await.or_page(l)?.ok_or_else(|| PageError {
        l,
        error: AppError::not_found("账号的范围单位不存在", "the account's scope unit does not exist"),
    })?;
    let counts = state.store.counts().await.or_page(l)?;
    let now = chrono::Local::now().naive_local();
    let filter = DemandFilter {
        unit: Some(user.scope.clone()),
        include_cascade: true,
        from: Some(now),
        limit: 8,
        ..Default::default()
    };
    let upcoming = state.store.demands(&filter).await.or_page(l)?.items;
    Ok(render(&HomePage { c: chrome(l, Some(user), "/"), scope, counts, upcoming }))
}

#[derive(Template)]
#[template(path = "unit.html")]
struct UnitPage {
    c: Chrome,
    unit: Option<Unit>,
    ancestors: Vec<Unit>,
    children: Vec<Unit>,
    bodies: Vec<Body>,
    recent: Vec<Demand>,
    may_list: bool,
}

impl UnitPage {
    fn body_kind(&self, b: &Body) -> &'static str {
        self.c.l.t(b.kind.zh(), b.kind.en())
    }

    fn is_department(&self, b: &Body) -> bool {
        b.kind != BodyKind::Division
    }

    fn is_division_of(&self, d: &Body, b: &Body) -> bool {
        d.parent == Some(b.id)
    }
}

async fn provinces(State(state): State<AppState>, l: Lang, PageUser(user): PageUser) -> PageResult {
    let children = state.store.children(None).await.or_page(l)?;
    Ok(render(&UnitPage {
        c: chrome(l, Some(user), "/units"),
        unit: None,
        ancestors: Vec::new(),
        children,
        bodies: Vec::new(),
        recent: Vec::new(),
        may_list: false,
    }))
}

async fn unit_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(code): Path<String>,
) -> PageResult {
    let code = parse_code("code", &code).or_page(l)?;
    let detail = api::unit_detail(&state, &code).await.or_page(l)?;
    let bodies: Vec<Body> =
        state.store.bodies(Some(&code)).await.or_page(l)?.into_iter().filter(|b| b.unit == code).collect();
    let may_list = authz::can_list_unit(&user, &code);
    let recent = if may_list {
        let f = DemandFilter { unit: Some(code.clone()), limit: 10, ..Default::default() };
        state.store.demands(&f).await.or_page(l)?.items
    } else {
        Vec::new()
    };
    Ok(render(&UnitPage {
        c: chrome(l, Some(user), format!("/units/{code}")),
        unit: Some(detail.unit),
        ancestors: detail.ancestors,
        children: detail.children,
        bodies,
        recent,
        may_list,
    }))
}

// ----- calendar -----

pub struct Day {
    pub date: NaiveDate,
    pub in_month: bool,
    pub today: bool,
    pub demands: Vec<Demand>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    c: Chrome,
    unit: Unit,
    month: NaiveDate,
    prev: String,
    next: String,
    weeks: Vec<Vec<Day>>,
    /// Demands spanning more than a week (work groups, indicators, documents in force):
    /// listed once above the grid instead of on every day.
    ongoing: Vec<Demand>,
    total: usize,
    feed_url: Option<String>,
}

impl CalendarPage {
    fn month_title(&self) -> String {
        match self.c.l {
            Lang::Zh => format!("{}年{}月", self.month.year(), self.month.month()),
            Lang::En => self.month.format("%B %Y").to_string(),
        }
    }
}

/// Every demand on `unit` (including meetings cascading to it) overlapping `[from, to)`.
pub async fn demands_on(
    state: &AppState,
    unit: &UnitCode,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<Demand>, AppError> {
    let mut filter = DemandFilter {
        unit: Some(unit.clone()),
        include_cascade: true,
        from: Some(from),
        to: Some(to),
        limit: 1000,
        ..Default::default()
    };
    let mut out = Vec::new();
    loop {
        let page = state.store.demands(&filter).await?;
        out.extend(page.items);
        match page.next {
            Some(c) if out.len() < 20_000 => filter.after = Some(c),
            _ => break,
        }
    }
    Ok(out)
}

/// The scheme and host the server is reached at, for addresses handed to other programs.
fn public_base(state: &AppState, headers: &axum::http::HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c)))
        .unwrap_or("127.0.0.1:8080");
    let scheme = if state.config.secure_cookies { "https" } else { "http" };
    format!("{scheme}://{host}")
}

/// Demands longer than this many days are "ongoing" on the calendar.
const ONGOING_DAYS: i64 = 7;

fn parse_month(s: Option<&String>) -> Result<NaiveDate, AppError> {
    match s.map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => {
            let t = chrono::Local::now().date_naive();
            Ok(NaiveDate::from_ymd_opt(t.year(), t.month(), 1).expect("first of month"))
        }
        Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d")
            .ok()
            // A month far outside the ledger's years is a typo (and the grid around it
            // would leave chrono's range).
            .filter(|d| api::YEARS.contains(&d.year()))
            .ok_or_else(|| {
                AppError::field(
                    "month",
                    format!("月份“{m}”格式应为 YYYY-MM（{}–{} 年）", api::YEARS.start(), api::YEARS.end()),
                    format!(
                        "month '{m}' must be YYYY-MM (years {}–{})",
                        api::YEARS.start(),
                        api::YEARS.end()
                    ),
                )
            }),
    }
}

async fn calendar_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> PageResult {
    let code = parse_code("code", &code).or_page(l)?;
    if !authz::can_list_unit(&user, &code) && !code.contains(&user.scope) {
        return Err(PageError { l, error: AppError::forbidden() });
    }
    let unit = api::unit_detail(&state, &code).await.or_page(l)?.unit;
    let month = parse_month(q.get("month")).or_page(l)?;
    let next_month = month.checked_add_months(chrono::Months::new(1)).expect("in range");
    let prev_month = month.checked_sub_months(chrono::Months::new(1)).expect("in range");
    let grid_start = month - Duration::days(month.weekday().num_days_from_monday() as i64);
    let last = next_month - Duration::days(1);
    let grid_end = last + Duration::days(6 - last.weekday().num_days_from_monday() as i64);
    let from = grid_start.and_hms_opt(0, 0, 0).expect("midnight");
    let to = (grid_end + Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight");
    let mut demands = demands_on(&state, &code, from, to).await.or_page(l)?;
    // A cadre whose scope is below this unit sees only what concerns their branch.
    demands.retain(|d| authz::can_see_demand(&user, d));
    let today = chrono::Local::now().date_naive();
    let month_start = month.and_hms_opt(0, 0, 0).expect("midnight");
    let month_end = next_month.and_hms_opt(0, 0, 0).expect("midnight");
    let (ongoing, demands): (Vec<Demand>, Vec<Demand>) =
        demands.into_iter().partition(|d| d.ends_at - d.starts_at > Duration::days(ONGOING_DAYS));
    let ongoing: Vec<Demand> =
        ongoing.into_iter().filter(|d| d.starts_at < month_end && d.ends_at >= month_start).collect();
    let mut weeks = Vec::new();
    let mut day = grid_start;
    while day <= grid_end {
        let mut week = Vec::with_capacity(7);
        for _ in 0..7 {
            let start = day.and_hms_opt(0, 0, 0).expect("midnight");
            let end = start + Duration::days(1);
            let on_day: Vec<Demand> =
                demands.iter().filter(|d| d.starts_at < end && d.ends_at >= start).cloned().collect();
            week.push(Day {
                date: day,
                in_month: day.month() == month.month(),
                today: day == today,
                demands: on_day,
            });
            day += Duration::days(1);
        }
        weeks.push(week);
    }
    let total = ongoing.len()
        + demands.iter().filter(|d| d.starts_at.date() <= last && d.ends_at.date() >= month).count();
    // A calendar app needs an absolute address: the configured public URL, else the
    // host this page was requested on.
    let feed_url = match q.get("feed") {
        Some(_) => {
            let path = crate::calendar::new_feed_url(&state, &user, &code).await.or_page(l)?;
            Some(format!("{}{path}", public_base(&state, &headers)))
        }
        None => None,
    };
    Ok(render(&CalendarPage {
        c: chrome(l, Some(user), format!("/units/{code}/calendar?month={}", month.format("%Y-%m"))),
        unit,
        month,
        prev: prev_month.format("%Y-%m").to_string(),
        next: next_month.format("%Y-%m").to_string(),
        weeks,
        ongoing,
        total,
        feed_url,
    }))
}

// ----- demands -----

#[derive(Template)]
#[template(path = "demand.html")]
struct DemandPage {
    c: Chrome,
    demand: Demand,
    source: Option<Body>,
    department: Option<Body>,
    targets: Vec<Unit>,
    history: Vec<DemandRevision>,
    may_change: bool,
}

impl DemandPage {
    fn flag_names(&self) -> String {
        let names: Vec<&str> = self.demand.cost.flags.iter().map(|f| self.c.l.t(f.zh(), f.en())).collect();
        names.join(self.c.l.t("、", ", "))
    }

    fn levels(&self) -> String {
        let names: Vec<&str> =
            self.demand.cost.attend_levels.iter().map(|l| level_name(&self.c.l, l)).collect();
        names.join(self.c.l.t("、", ", "))
    }

    fn action_name(&self, a: &str) -> &'static str {
        match a {
            "created" => self.c.l.t("登记", "created"),
            "cancelled" => self.c.l.t("取消", "cancelled"),
            _ => self.c.l.t("修改", "updated"),
        }
    }
}

async fn demand_page(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
) -> PageResult {
    let id = parse_uuid("id", &id).or_page(l)?;
    let demand = api::visible_demand(&state, &user, id).await.or_page(l)?;
    let source = state.store.body(demand.source_body).await.or_page(l)?;
    let department = match source.as_ref().and_then(|s| s.parent) {
        Some(p) => state.store.body(p).await.or_page(l)?,
        None => None,
    };
    let mut targets = Vec::new();
    for t in &demand.targets {
        if let Some(u) = state.store.unit(t).await.or_page(l)? {
            targets.push(u);
        }
    }
    let mut history = state.store.demand_history(id).await.or_page(l)?;
    authz::redact_history(&user, &mut history);
    let may_change = authz::check_change(&user, &demand).is_ok() && demand.status != DemandStatus::Cancelled;
    Ok(render(&DemandPage {
        c: chrome(l, Some(user), format!("/demands/{id}")),
        demand,
        source,
        department,
        targets,
        history,
        may_change,
    }))
}

async fn cancel_demand(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> PageResult {
    let id = parse_uuid("id", &id).or_page(l)?;
    let revision = form.get("revision").and_then(|r| r.parse().ok()).ok_or_else(|| PageError {
        l,
        error: AppError::field("revision", "缺少版本号", "revision is missing"),
    })?;
    api::cancel(&state, &user, id, revision).await.or_page(l)?;
    Ok(Redirect::to(&format!("/demands/{id}")).into_response())
}

/// The registration form's values, as typed (so a refused form comes back filled in).
#[derive(Debug, Clone, Default)]
pub struct DemandForm {
    pub kind: String,
    pub source_body: String,
    pub title: String,
    pub topic: String,
    pub targets: String,
    pub starts_at: String,
    pub ends_at: String,
    pub status: String,
    pub origin: String,
    pub cadre_hours: String,
    pub cadres_required: String,
    pub host_person_days: String,
    pub visitors: String,
    pub forms: String,
    pub fields: String,
    pub attend_levels: Vec<String>,
    pub video: bool,
    pub indicators: String,
    pub doc_chars: String,
    pub speech_minutes: String,
    pub flags: Vec<String>,
}

impl DemandForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> DemandForm {
        let mut f = DemandForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "kind" => f.kind = v,
                "source_body" => f.source_body = v,
                "title" => f.title = v,
                "topic" => f.topic = v,
                "targets" => f.targets = v,
                "starts_at" => f.starts_at = v,
                "ends_at" => f.ends_at = v,
                "status" => f.status = v,
                "origin" => f.origin = v,
                "cadre_hours" => f.cadre_hours = v,
                "cadres_required" => f.cadres_required = v,
                "host_person_days" => f.host_person_days = v,
                "visitors" => f.visitors = v,
                "forms" => f.forms = v,
                "fields" => f.fields = v,
                "attend_levels" => f.attend_levels.push(v),
                "video" => f.video = true,
                "indicators" => f.indicators = v,
                "doc_chars" => f.doc_chars = v,
                "speech_minutes" => f.speech_minutes = v,
                "flags" => f.flags.push(v),
                _ => {}
            }
        }
        f
    }

    /// Parses every field, collecting all problems.
    fn parse(&self) -> Result<DemandInput, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut keep = |r: Result<(), AppError>| {
            if let Err(e) = r {
                errors.extend(e.body.fields.into_iter().map(|f| FieldError::new(f.field, f.zh, f.en)));
            }
        };
        let kind = DemandKind::parse(&self.kind);
        if kind.is_none() {
            keep(Err(AppError::field("kind", "请选择事项类型", "choose a kind")));
        }
        let mut source = None;
        keep(parse_uuid("source_body", &self.source_body).map(|u| source = Some(u)));
        let mut targets = Vec::new();
        for (i, t) in self
            .targets
            .split(|c: char| c == ',' || c == '，' || c == ';' || c == '；' || c.is_whitespace())
            .filter(|t| !t.is_empty())
            .enumerate()
        {
            keep(parse_code(&format!("targets[{i}]"), t).map(|c| targets.push(c)));
        }
        let mut starts = None;
        keep(parse_time("starts_at", &self.starts_at).map(|t| starts = Some(t)));
        let mut ends = None;
        keep(parse_time("ends_at", &self.ends_at).map(|t| ends = Some(t)));
        let status = if self.status.is_empty() {
            Some(DemandStatus::Planned)
        } else {
            DemandStatus::parse(&self.status)
        };
        if status.is_none() {
            keep(Err(AppError::field("status", "状态无效", "invalid status")));
        }
        let mut num = |field: &str, s: &str, whole: bool| -> f64 {
            match parse_number(field, s, whole) {
                Ok(v) => v,
                Err(e) => {
                    keep(Err(e));
                    0.0
                }
            }
        };
        let cadre_hours = num("cost.cadre_hours", &self.cadre_hours, false);
        let host_person_days = num("cost.host_person_days", &self.host_person_days, false);
        let cadres_required = num("cost.cadres_required", &self.cadres_required, true) as u32;
        let visitors = num("cost.visitors", &self.visitors, true) as u32;
        let forms = num("cost.forms", &self.forms, true) as u32;
        let indicators = num("cost.indicators", &self.indicators, true) as u32;
        let doc_chars = num("cost.doc_chars", &self.doc_chars, true) as u32;
        let speech_minutes = num("cost.speech_minutes", &self.speech_minutes, true) as u32;
        let mut flags = Vec::new();
        for f in &self.flags {
            match Flag::parse(f) {
                Some(f) if !flags.contains(&f) => flags.push(f),
                Some(_) => {}
                None => keep(Err(AppError::field("cost.flags", "标记无效", "invalid flag"))),
            }
        }
        let mut attend_levels = Vec::new();
        for l in &self.attend_levels {
            match Level::parse(l) {
                Some(l) => attend_levels.push(l),
                None => keep(Err(AppError::field("cost.attend_levels", "层级无效", "invalid level"))),
            }
        }
        let fields: Vec<String> = self
            .fields
            .split([',', '，', ';', '；', '、', '\n'])
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect();
        let origin = if self.origin == "reported" { Some(DemandOrigin::Reported) } else { None };
        match (kind, source, starts, ends, status) {
            (Some(kind), Some(source_body), Some(starts_at), Some(ends_at), Some(status))
                if errors.is_empty() =>
            {
                Ok(DemandInput {
                    kind,
                    source_body,
                    title: self.title.clone(),
                    topic: self.topic.clone(),
                    targets,
                    starts_at,
                    ends_at,
                    status: Some(status),
                    origin,
                    cost: Cost {
                        cadre_hours,
                        cadres_required,
                        host_person_days,
                        visitors,
                        forms,
                        fields,
                        attend_levels,
                        video: self.video,
                        indicators,
                        doc_chars,
                        speech_minutes,
                        flags,
                    },
                })
            }
            _ => Err(errors),
        }
    }
}

/// A non-negative number from a form field (empty = 0); `whole` demands an integer.
fn parse_number(field: &str, s: &str, whole: bool) -> Result<f64, AppError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(0.0);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && (!whole || (v.fract() == 0.0 && v <= u32::MAX as f64)) => Ok(v),
        _ if whole => Err(AppError::field(
            field,
            format!("“{s}”不是非负整数"),
            format!("'{s}' is not a non-negative whole number"),
        )),
        _ => Err(AppError::field(
            field,
            format!("“{s}”不是非负数"),
            format!("'{s}' is not a non-negative number"),
        )),
    }
}

#[derive(Template)]
#[template(path = "demand_form.html")]
struct DemandFormPage {
    c: Chrome,
    form: DemandForm,
    bodies: Vec<Body>,
    errors: Vec<FieldError>,
    /// The pre-check of the form's demand, when "pre-check" was pressed.
    precheck: Option<PrecheckView>,
}

/// A finding of a pre-check, in the page's language.
pub struct PrecheckFinding {
    pub rule: String,
    pub severity: tongxin_rules::Severity,
    pub severity_name: &'static str,
    pub explanation: String,
    pub evidence: String,
}

/// What a pre-check of the registration form shows.
pub struct PrecheckView {
    pub findings: Vec<PrecheckFinding>,
    pub merge_candidates: Vec<tongxin_burden::MergeCandidate>,
    pub added: Vec<tongxin_burden::Added>,
}

impl PrecheckView {
    fn new(l: Lang, rules: &tongxin_rules::RuleSet, p: tongxin_burden::Precheck) -> PrecheckView {
        PrecheckView {
            findings: p
                .findings
                .into_iter()
                .map(|f| PrecheckFinding {
                    explanation: rules
                        .get(&f.rule)
                        .map(|r| l.t(&r.explanation.zh, &r.explanation.en).to_owned())
                        .unwrap_or_default(),
                    severity_name: crate::dashboard::severity_name(l, f.severity),
                    severity: f.severity,
                    evidence: l.t(&f.evidence.zh, &f.evidence.en).to_owned(),
                    rule: f.rule,
                })
                .collect(),
            merge_candidates: p.merge_candidates,
            added: p.added,
        }
    }
}

impl DemandFormPage {
    fn error_for(&self, field: &str) -> String {
        let msgs: Vec<&str> = self
            .errors
            .iter()
            .filter(|e| e.field == field || e.field.starts_with(&format!("{field}[")))
            .map(|e| self.c.l.t(&e.zh, &e.en))
            .collect();
        msgs.join("；")
    }

    fn kinds(&self) -> Vec<(&'static str, &'static str)> {
        DemandKind::ALL.iter().map(|k| (k.as_str(), kind_name(&self.c.l, k))).collect()
    }

    /// Every flag with its name in the page language and whether the form has it.
    fn flag_choices(&self) -> Vec<(&'static str, &'static str, bool)> {
        Flag::ALL
            .iter()
            .map(|f| {
                (f.as_str(), self.c.l.t(f.zh(), f.en()), self.form.flags.iter().any(|s| s == f.as_str()))
            })
            .collect()
    }

    fn levels(&self) -> Vec<(&'static str, &'static str, bool)> {
        Level::ALL
            .iter()
            .map(|lv| {
                (
                    lv.as_str(),
                    level_name(&self.c.l, lv),
                    self.form.attend_levels.iter().any(|s| s == lv.as_str()),
                )
            })
            .collect()
    }

    fn body_label(&self, b: &Body) -> String {
        if b.kind == BodyKind::Division {
            let dept =
                self.bodies.iter().find(|d| Some(d.id) == b.parent).map(|d| d.name.as_str()).unwrap_or("");
            format!("{dept} / {}", b.name)
        } else {
            b.name.clone()
        }
    }

    fn is_cadre(&self) -> bool {
        self.c.user.as_ref().is_some_and(|u| u.role == Role::Cadre)
    }
}

/// The bodies `user` may register demands for.
async fn bodies_for(state: &AppState, user: &User) -> Result<Vec<Body>, AppError> {
    match (user.role, user.body) {
        (Role::BodyStaff, Some(b)) => {
            let mut out: Vec<Body> = state.store.body(b).await?.into_iter().collect();
            out.extend(state.store.divisions(b).await?);
            Ok(out)
        }
        // Cadres report demands from any body of their province; offices and
        // administrators act for any body in the province of their scope.
        _ => {
            let province = UnitCode::parse(user.scope.province()).map_err(AppError::from)?;
            state.store.bodies(Some(&province)).await.map_err(AppError::from)
        }
    }
}

async fn new_demand_form(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Query(q): Query<HashMap<String, String>>,
) -> PageResult {
    let bodies = bodies_for(&state, &user).await.or_page(l)?;
    let tomorrow = chrono::Local::now().date_naive() + Duration::days(1);
    let form = DemandForm {
        targets: q.get("unit").cloned().unwrap_or_else(|| user.scope.to_string()),
        starts_at: format!("{}T09:00", tomorrow),
        ends_at: format!("{}T11:30", tomorrow),
        source_body: user.body.map(|b| b.to_string()).unwrap_or_default(),
        origin: if user.role == Role::Cadre { "reported".into() } else { String::new() },
        ..DemandForm::default()
    };
    Ok(render(&DemandFormPage {
        c: chrome(l, Some(user), "/demands/new"),
        form,
        bodies,
        errors: Vec::new(),
        precheck: None,
    }))
}

async fn new_demand(
    State(state): State<AppState>,
    l: Lang,
    PageUser(user): PageUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let precheck = pairs.iter().any(|(k, v)| k == "action" && v == "precheck");
    let form = DemandForm::from_pairs(pairs);
    if precheck {
        return precheck_form(&state, l, user, form).await;
    }
    let result = match form.parse() {
        Ok(input) => api::register(&state, &user, input).await.map_err(|e| {
            if e.body.fields.is_empty() {
                Err(e)
            } else {
                Ok(e.body
                    .fields
                    .into_iter()
                    .map(|f| FieldError::new(f.field, f.zh, f.en))
                    .collect::<Vec<_>>())
            }
        }),
        Err(errors) => Err(Ok(errors)),
    };
    match result {
        Ok(d) => Ok(Redirect::to(&format!("/demands/{}", d.id)).into_response()),
        Err(Err(e)) => Err(PageError { l, error: e }),
        Err(Ok(errors)) => {
            let bodies = bodies_for(&state, &user).await.or_page(l)?;
            let page = DemandFormPage {
                c: chrome(l, Some(user), "/demands/new"),
                form,
                bodies,
                errors,
                precheck: None,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
    }
}

/// "Pre-check" on the registration form: the same checks as registering, then what the
/// planned demand would break, what it should be merged with and what it adds to each
/// target unit. Writes nothing; the form comes back as typed.
async fn precheck_form(state: &AppState, l: Lang, user: User, form: DemandForm) -> PageResult {
    let (errors, report) = match form.parse() {
        Err(errors) => (errors, None),
        Ok(input) => {
            let item = api::precheck_demands(state, &user, vec![input])
                .await
                .or_page(l)?
                .into_iter()
                .next()
                .ok_or_else(|| PageError { l, error: AppError::internal() })?;
            let errors: Vec<FieldError> = item
                .errors
                .into_iter()
                .map(|mut e| {
                    if let Some(f) = e.field.strip_prefix("demands[0].") {
                        e.field = f.to_owned();
                    }
                    e
                })
                .collect();
            (errors, item.report)
        }
    };
    let bodies = bodies_for(state, &user).await.or_page(l)?;
    let precheck = report.map(|r| PrecheckView::new(l, state.burden.rules(), r));
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let page = DemandFormPage { c: chrome(l, Some(user), "/demands/new"), form, bodies, errors, precheck };
    Ok((status, render(&page)).into_response())
}
