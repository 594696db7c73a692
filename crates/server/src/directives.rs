//! Directives before issuance (issue 6) over HTTP: drafting with the pre-issuance check
//! (feasibility, conflicts with the stored active directives, burden added), status
//! transitions keeping the check report, the consultation window, ratings by the target
//! units' cadres (anonymous with a Privacy Pass token, or named), the results per task and
//! level suppressed below k beside tongxin's own estimate, and the conclusion in the
//! transparency log.
//!
//! Who may do what:
//! - authoring (create, edit a draft, transitions, consultation, results): staff of the
//!   issuing body or of its department, and the burden-reduction office or an admin whose
//!   scope covers the body's unit;
//! - reading a directive: the authors, and once it is consulting or issued the cadres of
//!   units related to its targets (a target at, above or below their unit);
//! - rating: cadres of those units while the window is open, by name at
//!   `POST /api/directives/{id}/ratings`, or anonymously at `POST /directives/{id}/ratings`
//!   with a token, no session read.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use tongxin_directives::{CheckOptions, CheckReport, Directive, LedgerLoad, Status, TemplateSet, UnitIndex};
use tongxin_domain::{Body, DemandStatus, FieldError, Level, Role, UnitCode, User, new_id};
use tongxin_store::{
    Consultation, ConsultationResponse, DemandFilter, DirectiveFilter, DirectiveStatus, Store, StoreError,
    StoredDirective, TaskRating,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{ApiJson, parse_code};
use crate::auth::ApiUser;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::voice::{check_free_text, spent_token, verify_token};

/// Responses below this many per task and level are not shown.
pub const K: u32 = tongxin_voice::DEFAULT_K;

/// Monte Carlo runs per simulation for the server's checks.
pub const SAMPLES: u32 = 10_000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/directives", get(list).post(create))
        .route("/api/directives/check", post(check_only))
        .route("/api/directives/{id}", get(get_one).put(update))
        .route("/api/directives/{id}/status", post(set_status))
        .route("/api/directives/{id}/consultation", post(open_consultation))
        .route("/api/directives/{id}/consultation/conclude", post(conclude))
        .route("/api/directives/{id}/ratings", post(rate_named))
        .route("/api/directives/{id}/results", get(results))
        .route("/directives/{id}/ratings", post(rate_anonymous))
}

/// The shipped process templates.
pub fn templates() -> &'static TemplateSet {
    static T: OnceLock<TemplateSet> = OnceLock::new();
    T.get_or_init(TemplateSet::shipped)
}

// ---------------------------------------------------------------------------------------
// Inputs

/// A directive document: TOML text (`toml`) or the JSON document (`document`), exactly one.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DirectiveSource {
    /// The directive as TOML (see `tongxin directive check`).
    pub toml: Option<String>,
    /// The directive as a JSON object.
    pub document: Option<Value>,
    /// For a check: the stored directive being edited (left out of the active set).
    pub id: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveCreate {
    pub toml: Option<String>,
    pub document: Option<Value>,
    /// The issuing body; staff default to their own body; offices and admins must name it.
    pub issuing_body: Option<Uuid>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveUpdate {
    pub toml: Option<String>,
    pub document: Option<Value>,
    /// The revision the edit is based on.
    pub revision: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveStatusInput {
    /// `issued` or `withdrawn` (from draft; a consultation ends by its conclusion).
    pub status: String,
    pub revision: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveConsultationInput {
    /// The last day of the window (inclusive, China time).
    pub closes_on: String,
    pub revision: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveConcludeInput {
    /// `issue`, `revise` (back to draft) or `withdraw`.
    pub outcome: String,
    /// The author's response to the executors (published in the transparency log).
    pub response: String,
    pub revision: u32,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveRatingItem {
    /// The task's id in the directive.
    pub task: String,
    /// 1 (cannot be done as asked) … 5 (easily done).
    pub rating: u8,
    #[serde(default)]
    pub comment: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectiveRatingInput {
    /// Anonymous only: the token's scope (a unit containing the cadre's).
    pub scope: Option<String>,
    /// Anonymous only: the token's period.
    pub period: Option<String>,
    /// Anonymous only: base64 of the Privacy Pass token.
    pub token: Option<String>,
    /// Anonymous only: the level of the responding unit (`village`, `township`, …); a
    /// named rating takes the level of the cadre's unit.
    pub level: Option<String>,
    pub ratings: Vec<DirectiveRatingItem>,
}

// ---------------------------------------------------------------------------------------
// Documents, units and the check

fn invalid_of(e: tongxin_directives::Invalid) -> AppError {
    AppError::invalid(e.problems.into_iter().map(|p| FieldError::new(p.at, p.zh, p.en)).collect())
}

/// The document of a request: exactly one of `toml` and `document`.
pub(crate) fn parse_source(toml: Option<&str>, document: Option<&Value>) -> ApiResult<Directive> {
    match (toml, document) {
        (Some(t), None) => Directive::from_toml("toml", t).map_err(invalid_of),
        (None, Some(d)) => Directive::from_json("document", &d.to_string()).map_err(invalid_of),
        _ => Err(AppError::field(
            "document",
            "须提供 toml（文本）或 document（JSON）之一",
            "send exactly one of `toml` (text) and `document` (JSON)",
        )),
    }
}

/// A stored directive's document, with the stored id and status.
pub(crate) fn document_of(d: &StoredDirective) -> ApiResult<Directive> {
    let mut doc: Directive = serde_json::from_value(d.document.clone()).map_err(|e| {
        tracing::error!(directive = %d.id, "stored directive document: {e}");
        AppError::internal()
    })?;
    doc.id = d.id.to_string();
    doc.status = match d.status {
        DirectiveStatus::Draft => Status::Draft,
        DirectiveStatus::Consulting => Status::Consulting,
        DirectiveStatus::Issued => Status::Issued,
        DirectiveStatus::Withdrawn => Status::Withdrawn,
    };
    Ok(doc)
}

fn provinces_of<'a>(docs: impl IntoIterator<Item = &'a Directive>) -> BTreeSet<String> {
    docs.into_iter()
        .flat_map(|d| &d.tasks)
        .flat_map(|t| t.targets.units.iter().chain(&t.targets.under))
        .map(|c| c.province().to_owned())
        .collect()
}

/// Most unit subtrees read for one check; more targets are coalesced into ancestors.
const MAX_ROOTS: usize = 64;

/// The subtrees a check of `draft` reads: its targets' codes (explicit units and the
/// roots of "all units of level L under U"), those inside another left out, and while
/// there are more than `max`, the deepest lifted to their parents (a directive naming a
/// thousand villages reads their townships' or counties' subtrees, not a thousand).
pub(crate) fn target_roots(draft: &Directive, max: usize) -> Vec<UnitCode> {
    let mut roots: BTreeSet<UnitCode> =
        draft.tasks.iter().flat_map(|t| t.targets.units.iter().chain(&t.targets.under)).cloned().collect();
    loop {
        // Sorted by code, a unit's descendants follow it directly.
        let mut minimal: Vec<UnitCode> = Vec::with_capacity(roots.len());
        for c in roots {
            if !minimal.last().is_some_and(|r| r.contains(&c)) {
                minimal.push(c);
            }
        }
        let deepest = minimal.iter().map(|c| c.as_str().len()).max().unwrap_or(0);
        if minimal.len() <= max || minimal.iter().all(|c| c.parent().is_none()) {
            return minimal;
        }
        roots = minimal
            .into_iter()
            .map(|c| if c.as_str().len() == deepest { c.parent().unwrap_or(c) } else { c })
            .collect();
    }
}

/// The units a check of `draft` needs, from the store: the subtrees of its targets
/// ([`target_roots`], each one code range: `UnitCode::descendant_range`) and their
/// ancestors (named in the burden rollups). Active directives are resolved against the
/// same units, so only their overlap with the draft is seen, which is all the conflicts
/// look at.
async fn unit_index(store: &dyn Store, draft: &Directive) -> ApiResult<UnitIndex> {
    let roots = target_roots(draft, MAX_ROOTS);
    let mut units = Vec::new();
    let mut ancestors = BTreeSet::new();
    for r in &roots {
        units.extend(store.units_under(Some(r)).await?);
        let mut up = r.parent();
        while let Some(p) = up {
            up = p.parent();
            ancestors.insert(p);
        }
    }
    for a in &ancestors {
        units.extend(store.unit(a).await?);
    }
    Ok(UnitIndex::new(units))
}

/// At most this many pages of 1,000 demands are read for [`ledger_loads`].
const LEDGER_PAGES: usize = 50;

/// What the ledger already puts on the draft's target units, per unit and week, between
/// its issue date and its last deadline: the demands' cadre-hours (the burden dashboard's
/// figure), cancelled ones left out, read under the targets' lowest common ancestor. Added
/// to the directives' load in the capacity check.
async fn ledger_loads(store: &dyn Store, draft: &Directive, units: &UnitIndex) -> ApiResult<Vec<LedgerLoad>> {
    let mut targets: BTreeSet<UnitCode> = BTreeSet::new();
    for (i, t) in draft.tasks.iter().enumerate() {
        if let Ok(idx) = units.resolve(t, i, false) {
            targets.extend(idx.into_iter().map(|u| units.get(u).code.clone()));
        }
    }
    let (Some(first), Some(last)) = (targets.first(), draft.tasks.iter().map(|t| t.deadline).max()) else {
        return Ok(Vec::new());
    };
    let mut root = first.clone();
    while !targets.iter().all(|t| root.contains(t)) {
        match root.parent() {
            Some(p) => root = p,
            None => break,
        }
    }
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).expect("midnight");
    let mut filter = DemandFilter {
        unit: Some(root),
        from: Some(midnight(draft.issued_on)),
        to: Some(midnight(last.succ_opt().unwrap_or(last))),
        limit: 1000,
        ..Default::default()
    };
    let mut load: BTreeMap<(UnitCode, NaiveDate), f64> = BTreeMap::new();
    for _ in 0..LEDGER_PAGES {
        let page = store.demands(&filter).await?;
        for d in page.items.iter().filter(|d| d.status != DemandStatus::Cancelled) {
            for t in d.targets.iter().filter(|t| targets.contains(*t)) {
                *load.entry((t.clone(), d.starts_at.date())).or_default() += d.cost.cadre_hours;
            }
        }
        match page.next {
            Some(next) => filter.after = Some(next),
            None => break,
        }
    }
    Ok(load.into_iter().map(|((unit, week), cadre_hours)| LedgerLoad { unit, week, cadre_hours }).collect())
}

/// The outcome of [`run_check`]: the report and the draft's resolved target units.
pub(crate) struct Checked {
    pub report: CheckReport,
    pub targets: Vec<UnitCode>,
}

/// Checks `draft` against the stored active directives of the provinces it targets
/// (leaving out `exclude`, the stored directive being edited). Bad documents are 422
/// naming the task, step or field.
pub(crate) async fn run_check(
    state: &AppState,
    draft: &Directive,
    exclude: Option<Uuid>,
) -> ApiResult<Checked> {
    check_in(state.store.as_ref(), draft, exclude).await
}

async fn check_in(store: &dyn Store, draft: &Directive, exclude: Option<Uuid>) -> ApiResult<Checked> {
    let provinces = provinces_of([draft]);
    let mut active = Vec::new();
    for p in &provinces {
        let filter = DirectiveFilter {
            province: Some(p.clone()),
            statuses: vec![DirectiveStatus::Consulting, DirectiveStatus::Issued],
            ..Default::default()
        };
        for d in store.directives().directives(&filter).await? {
            if Some(d.id) != exclude {
                active.push(document_of(&d)?);
            }
        }
    }
    let units = unit_index(store, draft).await?;
    let ledger = ledger_loads(store, draft, &units).await?;
    let draft = draft.clone();
    tokio::task::spawn_blocking(move || {
        let mut opts = CheckOptions { samples: SAMPLES, ..CheckOptions::default() };
        opts.conflicts.ledger = ledger;
        let report = tongxin_directives::check("directive", &draft, &active, &units, templates(), &opts)
            .map_err(invalid_of)?;
        let mut targets = BTreeSet::new();
        for (i, t) in draft.tasks.iter().enumerate() {
            let idx = units.resolve(t, i, true).map_err(|p| AppError::field(&p.at, p.zh, p.en))?;
            targets.extend(idx.into_iter().map(|u| units.get(u).code.clone()));
        }
        Ok(Checked { report, targets: targets.into_iter().collect() })
    })
    .await
    .map_err(|e| {
        tracing::error!("directive check task: {e}");
        AppError::internal()
    })?
}

fn report_json(r: &CheckReport) -> Value {
    json!({
        "report": r,
        "blocks_issuance": r.blocks_issuance(),
        "infeasible_tasks": r.infeasible_tasks(),
        "blocking_conflicts": r.blocking_conflicts(),
        "unverified_figures": r.tasks.iter().map(|t| t.unverified.len()).sum::<usize>(),
    })
}

// ---------------------------------------------------------------------------------------
// Authorisation

/// The body a user drafts for: staff for their own body or a division of their
/// department; offices and admins for a body whose unit their scope covers.
async fn authoring_body(state: &AppState, user: &User, requested: Option<Uuid>) -> ApiResult<Body> {
    let id = match (user.role, requested, user.body) {
        (Role::Cadre, ..) => return Err(AppError::forbidden()),
        (_, Some(b), _) => b,
        (Role::BodyStaff, None, Some(b)) => b,
        _ => {
            return Err(AppError::field("issuing_body", "请选择发文机关", "choose the issuing body"));
        }
    };
    let body = state
        .store
        .body(id)
        .await?
        .ok_or_else(|| AppError::field("issuing_body", "没有这个部门", "no such body"))?;
    if !may_author(user, &body) {
        return Err(AppError::forbidden());
    }
    Ok(body)
}

fn may_author(user: &User, body: &Body) -> bool {
    match user.role {
        Role::BodyStaff => user.body.is_some_and(|b| b == body.id || Some(b) == body.parent),
        Role::Office | Role::Admin => user.covers(&body.unit),
        Role::Cadre => false,
    }
}

/// Whether a target is at, above or below the user's unit.
fn related(user: &User, targets: &[UnitCode]) -> bool {
    targets.iter().any(|t| user.scope.contains(t) || t.contains(&user.scope))
}

pub(crate) struct Access {
    pub stored: StoredDirective,
    pub body: Body,
    pub author: bool,
}

/// The directive if `user` may read it (404 otherwise, so that existence is not told).
pub(crate) async fn visible(state: &AppState, user: &User, id: Uuid) -> ApiResult<Access> {
    let missing = || AppError::not_found("没有这个文件", "no such directive");
    let stored = state.store.directives().directive(id).await?.ok_or_else(missing)?;
    let body = state.store.body(stored.issuing_body).await?.ok_or_else(missing)?;
    let author = may_author(user, &body);
    let reader = user.role == Role::Cadre && stored.status.is_active() && related(user, &stored.targets);
    if !author && !reader {
        return Err(missing());
    }
    Ok(Access { stored, body, author })
}

async fn authored(state: &AppState, user: &User, id: Uuid) -> ApiResult<Access> {
    let a = visible(state, user, id).await?;
    if !a.author {
        return Err(AppError::forbidden());
    }
    Ok(a)
}

fn parse_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| AppError::not_found("没有这个文件", "no such directive"))
}

// ---------------------------------------------------------------------------------------
// Views

pub(crate) fn status_zh(s: DirectiveStatus) -> &'static str {
    match s {
        DirectiveStatus::Draft => "草稿",
        DirectiveStatus::Consulting => "征求意见中",
        DirectiveStatus::Issued => "已印发",
        DirectiveStatus::Withdrawn => "已撤回",
    }
}

fn consultation_json(c: &Consultation, now: DateTime<Utc>) -> Value {
    json!({
        "round": c.round,
        "opens_at": c.opens_at,
        "closes_at": c.closes_at,
        "open": is_open(c, now),
        "concluded_at": c.concluded_at,
        "outcome": c.outcome,
        "response": c.response,
        "log_index": c.log_index,
    })
}

fn is_open(c: &Consultation, now: DateTime<Utc>) -> bool {
    c.concluded_at.is_none() && c.opens_at <= now && now < c.closes_at
}

pub(crate) async fn view(state: &AppState, a: &Access) -> ApiResult<Value> {
    let d = &a.stored;
    let consultation = state.store.directives().consultation(d.id).await?;
    let now = Utc::now();
    Ok(json!({
        "id": d.id,
        "issuing_body": d.issuing_body,
        "body_name": a.body.name,
        "status": d.status.as_str(),
        "status_zh": status_zh(d.status),
        "revision": d.revision,
        "document": d.document,
        "targets": d.targets.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "check": d.check,
        "consultation": consultation.as_ref().map(|c| consultation_json(c, now)),
        "created_at": d.created_at,
        "updated_at": d.updated_at,
        "can_edit": a.author && d.status == DirectiveStatus::Draft,
        "is_author": a.author,
    }))
}

fn summary(d: &StoredDirective, body: &str, author: bool) -> Value {
    let title = d.document.get("title").cloned().unwrap_or(Value::Null);
    let tasks = d.document.get("tasks").and_then(|t| t.as_array()).map(|t| t.len()).unwrap_or(0);
    let blocks = d
        .check
        .as_ref()
        .and_then(|c| serde_json::from_value::<CheckReport>(c.clone()).ok())
        .map(|r| r.blocks_issuance());
    json!({
        "id": d.id,
        "title": title,
        "issuing_body": d.issuing_body,
        "body_name": body,
        "status": d.status.as_str(),
        "status_zh": status_zh(d.status),
        "revision": d.revision,
        "tasks": tasks,
        "targets": d.targets.len(),
        "blocks_issuance": blocks,
        "is_author": author,
        "updated_at": d.updated_at,
    })
}

/// Directives shown per page of the list, by default and at most.
pub(crate) const PAGE: u32 = 50;
const PAGE_MAX: u32 = 200;
/// Store pages read for one page of the list before answering with what was found (the
/// cursor then continues from the last directive read).
const LIST_READS: usize = 20;

/// One page of the directives `user` may read, newest first, after the directive
/// `after` (a cursor from the previous page); with the cursor of the next page, if any.
/// Filtered in the store by what the account may author (its body and that body's
/// divisions; or bodies in its scope) or, for a cadre, by status; a cadre's relation to
/// the targets is checked here.
pub(crate) async fn list_for(
    state: &AppState,
    user: &User,
    after: Option<Uuid>,
    limit: u32,
) -> ApiResult<(Vec<Value>, Option<Uuid>)> {
    let limit = limit.clamp(1, PAGE_MAX);
    let mut filter = DirectiveFilter {
        province: Some(user.province().to_owned()),
        newest_first: true,
        after,
        limit: Some(limit),
        ..Default::default()
    };
    match (user.role, user.body) {
        (Role::Cadre, _) => filter.statuses = vec![DirectiveStatus::Consulting, DirectiveStatus::Issued],
        (Role::BodyStaff, Some(b)) => {
            filter.bodies =
                std::iter::once(b).chain(state.store.divisions(b).await?.into_iter().map(|d| d.id)).collect();
        }
        (Role::BodyStaff, None) => return Ok((Vec::new(), None)),
        (Role::Office | Role::Admin, _) => filter.body_under = Some(user.scope.clone()),
    }
    let mut bodies: BTreeMap<Uuid, Option<Body>> = BTreeMap::new();
    let mut out = Vec::new();
    for _ in 0..LIST_READS {
        let page = state.store.directives().directives(&filter).await?;
        let exhausted = page.len() < limit as usize;
        for d in page {
            filter.after = Some(d.id);
            if let std::collections::btree_map::Entry::Vacant(e) = bodies.entry(d.issuing_body) {
                e.insert(state.store.body(d.issuing_body).await?);
            }
            let Some(body) = bodies[&d.issuing_body].as_ref() else { continue };
            let author = may_author(user, body);
            if author || (user.role == Role::Cadre && d.status.is_active() && related(user, &d.targets)) {
                out.push(summary(&d, &body.name, author));
                if out.len() == limit as usize {
                    return Ok((out, Some(d.id)));
                }
            }
        }
        if exhausted {
            return Ok((out, None));
        }
    }
    Ok((out, filter.after))
}

/// The list's `after` and `limit` parameters.
pub(crate) fn page_params(q: &HashMap<String, String>) -> ApiResult<(Option<Uuid>, u32)> {
    let after =
        match q.get("after").map(|s| s.trim()).filter(|s| !s.is_empty()) {
            None => None,
            Some(a) => Some(Uuid::parse_str(a).map_err(|_| {
                AppError::field("after", "翻页游标无效", "the cursor is not one this list gave")
            })?),
        };
    let limit = match q.get("limit").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => PAGE,
        Some(l) => l.parse::<u32>().ok().filter(|n| (1..=PAGE_MAX).contains(n)).ok_or_else(|| {
            AppError::field(
                "limit",
                format!("每页条数须在 1 到 {PAGE_MAX} 之间"),
                format!("limit is between 1 and {PAGE_MAX}"),
            )
        })?,
    };
    Ok((after, limit))
}

// ---------------------------------------------------------------------------------------
// Handlers: drafting and checking

/// `POST /api/directives/check`: the pre-issuance check of a document, nothing stored.
#[utoipa::path(post, path = "/api/directives/check", tag = "directives", description = "Checks a directive document (TOML or JSON) without storing it: feasibility per task and unit group, conflicts with the stored active directives on overlapping units, and the burden added.", request_body = DirectiveSource, responses((status = 200, body = Value, description = "report (tongxin_directives::CheckReport; each task lists in `unverified` the statutory figures of its templates not checked against the statute's text, with `verified` = figure | unverified), blocks_issuance, infeasible_tasks, blocking_conflicts, unverified_figures"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "a cadre (checks are for authors)"), (status = 422, body = ErrorBody, description = "bad document: fields name the task, step or field")))]
async fn check_only(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<DirectiveSource>,
) -> ApiResult<Json<Value>> {
    if user.role == Role::Cadre {
        return Err(AppError::forbidden());
    }
    let draft = parse_source(input.toml.as_deref(), input.document.as_ref())?;
    let checked = run_check(&state, &draft, input.id).await?;
    Ok(Json(report_json(&checked.report)))
}

/// Fixes what the server owns in a document: its id, issuing body and status.
fn own(doc: &mut Directive, id: Uuid, body: &Body, status: DirectiveStatus) {
    doc.id = id.to_string();
    doc.issuing_body = body.name.clone();
    doc.status = match status {
        DirectiveStatus::Draft => Status::Draft,
        DirectiveStatus::Consulting => Status::Consulting,
        DirectiveStatus::Issued => Status::Issued,
        DirectiveStatus::Withdrawn => Status::Withdrawn,
    };
}

fn to_value<T: serde::Serialize>(v: &T) -> ApiResult<Value> {
    serde_json::to_value(v).map_err(|e| {
        tracing::error!("directive to JSON: {e}");
        AppError::internal()
    })
}

/// Creates a draft; returns the stored directive.
pub(crate) async fn create_draft(
    state: &AppState,
    user: &User,
    body: Option<Uuid>,
    mut doc: Directive,
) -> ApiResult<StoredDirective> {
    let body = authoring_body(state, user, body).await?;
    let id = new_id();
    own(&mut doc, id, &body, DirectiveStatus::Draft);
    let checked = run_check(state, &doc, Some(id)).await?;
    let now = Utc::now();
    let stored = StoredDirective {
        id,
        issuing_body: body.id,
        body_unit: body.unit.clone(),
        status: DirectiveStatus::Draft,
        document: to_value(&doc)?,
        targets: checked.targets,
        check: Some(to_value(&checked.report)?),
        revision: 1,
        created_by: user.id,
        created_at: now,
        updated_at: now,
    };
    state.store.directives().directive_put(&stored).await?;
    Ok(stored)
}

#[utoipa::path(post, path = "/api/directives", tag = "directives", description = "Creates a draft from a TOML or JSON document, checked first (nothing stored when it is bad).", request_body = DirectiveCreate, responses((status = 201, body = Value, description = "the stored directive with its check report"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not staff of the body or its department, nor an office or admin covering it"), (status = 422, body = ErrorBody, description = "bad document: fields name the task, step or field")))]
async fn create(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<DirectiveCreate>,
) -> ApiResult<Response> {
    let doc = parse_source(input.toml.as_deref(), input.document.as_ref())?;
    let stored = create_draft(&state, &user, input.issuing_body, doc).await?;
    let a = visible(&state, &user, stored.id).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &a).await?)).into_response())
}

#[utoipa::path(get, path = "/api/directives", tag = "directives", description = "The directives the account may read in its province, newest first, a page at a time: pass the `next` of a page as `after` for the following one.", params(("after" = Option<Uuid>, Query, description = "cursor: the `next` of the previous page"), ("limit" = Option<u32>, Query, description = "directives per page, 1-200 (default 50)")), responses((status = 200, body = Value, description = "items, and next (the cursor of the following page, null on the last)"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 422, body = ErrorBody, description = "bad cursor or limit")))]
async fn list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let (after, limit) = page_params(&q)?;
    let (items, next) = list_for(&state, &user, after, limit).await?;
    Ok(Json(json!({ "items": items, "next": next })))
}

#[utoipa::path(get, path = "/api/directives/{id}", tag = "directives", params(("id" = Uuid, Path, description = "the directive")), responses((status = 200, body = Value, description = "the directive, its last check report and its consultation"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 404, body = ErrorBody, description = "no such directive for this account")))]
async fn get_one(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let a = visible(&state, &user, parse_id(&id)?).await?;
    Ok(Json(view(&state, &a).await?))
}

/// Replaces a draft's document (checked first).
pub(crate) async fn update_draft(
    state: &AppState,
    user: &User,
    id: Uuid,
    revision: u32,
    mut doc: Directive,
) -> ApiResult<StoredDirective> {
    let a = authored(state, user, id).await?;
    if a.stored.status != DirectiveStatus::Draft {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "只有草稿可以修改",
            "only a draft can be edited",
        ));
    }
    own(&mut doc, id, &a.body, DirectiveStatus::Draft);
    let checked = run_check(state, &doc, Some(id)).await?;
    let mut next = a.stored.clone();
    next.document = to_value(&doc)?;
    next.targets = checked.targets;
    next.check = Some(to_value(&checked.report)?);
    next.revision = revision + 1;
    next.updated_at = Utc::now();
    state.store.directives().directive_update(&next, revision).await?;
    Ok(next)
}

#[utoipa::path(put, path = "/api/directives/{id}", tag = "directives", params(("id" = Uuid, Path, description = "the directive")), request_body = DirectiveUpdate, responses((status = 200, body = Value, description = "the stored directive"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not an author"), (status = 404, body = ErrorBody, description = "no such directive for this account"), (status = 409, body = ErrorBody, description = "not a draft, or a stale revision"), (status = 422, body = ErrorBody, description = "bad document")))]
async fn update(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectiveUpdate>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let doc = parse_source(input.toml.as_deref(), input.document.as_ref())?;
    update_draft(&state, &user, id, input.revision, doc).await?;
    let a = visible(&state, &user, id).await?;
    Ok(Json(view(&state, &a).await?))
}

/// Moves a directive to `to`, re-running the check against the active directives of
/// the moment and keeping its report.
async fn transition(state: &AppState, a: &Access, to: DirectiveStatus, revision: u32) -> ApiResult<()> {
    if !a.stored.status.may_become(to) {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("不能从“{}”改为“{}”", status_zh(a.stored.status), status_zh(to)),
            format!("cannot go from {} to {}", a.stored.status.as_str(), to.as_str()),
        ));
    }
    let mut doc = document_of(&a.stored)?;
    own(&mut doc, a.stored.id, &a.body, to);
    let checked = run_check(state, &doc, Some(a.stored.id)).await?;
    let mut next = a.stored.clone();
    next.status = to;
    next.document = to_value(&doc)?;
    next.targets = checked.targets;
    next.check = Some(to_value(&checked.report)?);
    next.revision = revision + 1;
    next.updated_at = Utc::now();
    state.store.directives().directive_update(&next, revision).await?;
    Ok(())
}

/// Issues, withdraws or (from consulting) returns a directive to draft.
pub(crate) async fn set_status_to(
    state: &AppState,
    user: &User,
    id: Uuid,
    status: &str,
    revision: u32,
) -> ApiResult<()> {
    let to = match DirectiveStatus::parse(status.trim()) {
        Some(DirectiveStatus::Consulting) => {
            return Err(AppError::field(
                "status",
                "征求意见请通过 /consultation 开启窗口",
                "open a consultation window at /consultation instead",
            ));
        }
        Some(s @ (DirectiveStatus::Issued | DirectiveStatus::Withdrawn)) => s,
        _ => {
            return Err(AppError::field(
                "status",
                "状态须为 issued 或 withdrawn",
                "status must be issued or withdrawn",
            ));
        }
    };
    let a = authored(state, user, id).await?;
    if a.stored.status == DirectiveStatus::Consulting {
        // The outcome of a consultation goes through its conclusion, into the log.
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "征求意见中的文件须先作出结论（/consultation/conclude）",
            "a directive in consultation is concluded at /consultation/conclude",
        ));
    }
    transition(state, &a, to, revision).await
}

#[utoipa::path(post, path = "/api/directives/{id}/status", tag = "directives", params(("id" = Uuid, Path, description = "the directive")), request_body = DirectiveStatusInput, responses((status = 200, body = Value, description = "the stored directive with the check report of the transition"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not an author"), (status = 404, body = ErrorBody, description = "no such directive for this account"), (status = 409, body = ErrorBody, description = "transition not allowed (a consultation is concluded instead), or a stale revision"), (status = 422, body = ErrorBody, description = "unknown status")))]
async fn set_status(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectiveStatusInput>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    set_status_to(&state, &user, id, &input.status, input.revision).await?;
    let a = visible(&state, &user, id).await?;
    Ok(Json(view(&state, &a).await?))
}

/// The end of a China-time day, as UTC.
fn end_of_day_cst(d: NaiveDate) -> DateTime<Utc> {
    let next = d.succ_opt().unwrap_or(d).and_hms_opt(0, 0, 0).expect("midnight");
    chrono::FixedOffset::east_opt(8 * 3600)
        .expect("UTC+8")
        .from_local_datetime(&next)
        .single()
        .expect("fixed offset")
        .with_timezone(&Utc)
}

pub(crate) async fn open_window(
    state: &AppState,
    user: &User,
    id: Uuid,
    closes_on: &str,
    revision: u32,
) -> ApiResult<()> {
    let a = authored(state, user, id).await?;
    let day = NaiveDate::parse_from_str(closes_on.trim(), "%Y-%m-%d").map_err(|_| {
        AppError::field("closes_on", "日期格式应为 YYYY-MM-DD", "the date must be YYYY-MM-DD")
    })?;
    let now = Utc::now();
    let closes_at = end_of_day_cst(day);
    if closes_at <= now {
        return Err(AppError::field(
            "closes_on",
            "截止日期须在今天或以后",
            "the window must close today or later",
        ));
    }
    if a.stored.status != DirectiveStatus::Draft {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "只有草稿可以征求意见",
            "only a draft can be put to consultation",
        ));
    }
    // A draft sent back for revision may be consulted again: the next round.
    let round = match state.store.directives().consultation(id).await? {
        None => 1,
        Some(c) if c.concluded_at.is_none() => {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "conflict",
                "上一轮征求意见尚未作出结论",
                "the previous consultation round is not concluded",
            ));
        }
        Some(c) => c.round + 1,
    };
    transition(state, &a, DirectiveStatus::Consulting, revision).await?;
    let c = Consultation {
        directive: id,
        round,
        opens_at: now,
        closes_at,
        concluded_at: None,
        outcome: None,
        response: String::new(),
        log_index: None,
    };
    state.store.directives().consultation_put(&c).await?;
    Ok(())
}

#[utoipa::path(post, path = "/api/directives/{id}/consultation", tag = "directives", params(("id" = Uuid, Path, description = "the directive")), request_body = DirectiveConsultationInput, responses((status = 200, body = Value, description = "the directive, now consulting, with its window"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not an author"), (status = 404, body = ErrorBody, description = "no such directive for this account"), (status = 409, body = ErrorBody, description = "not a draft (a directive concluded with \"revise\" is a draft again and opens the next round), or a stale revision"), (status = 422, body = ErrorBody, description = "bad closing date")))]
async fn open_consultation(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectiveConsultationInput>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    open_window(&state, &user, id, &input.closes_on, input.revision).await?;
    let a = visible(&state, &user, id).await?;
    Ok(Json(view(&state, &a).await?))
}

// ---------------------------------------------------------------------------------------
// Ratings

/// Ratings of the input, checked against the directive's tasks (422 naming the item).
fn ratings_of(doc: &Directive, items: &[DirectiveRatingItem]) -> ApiResult<Vec<TaskRating>> {
    if items.is_empty() {
        return Err(AppError::field("ratings", "至少评价一项任务", "rate at least one task"));
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, r) in items.iter().enumerate() {
        let Some(task) = doc.tasks.iter().position(|t| t.id == r.task.trim()) else {
            errors.push(FieldError::new(
                format!("ratings[{i}].task"),
                format!("文件中没有任务“{}”", r.task),
                format!("the directive has no task \"{}\"", r.task),
            ));
            continue;
        };
        if !seen.insert(task) {
            errors.push(FieldError::new(
                format!("ratings[{i}].task"),
                "同一任务只能评价一次",
                "each task is rated once",
            ));
        }
        if !(1..=5).contains(&r.rating) {
            errors.push(FieldError::new(
                format!("ratings[{i}].rating"),
                "评分须在 1 到 5 之间",
                "a rating is between 1 and 5",
            ));
        }
        let comment = if r.comment.trim().is_empty() {
            String::new()
        } else {
            match check_free_text(&format!("ratings[{i}].comment"), &r.comment) {
                Ok(c) => c,
                Err(e) => {
                    errors.extend(e.body.fields.into_iter().map(|f| FieldError::new(f.field, f.zh, f.en)));
                    continue;
                }
            }
        };
        out.push(TaskRating { task: task as u32, rating: r.rating, comment });
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors));
    }
    Ok(out)
}

/// The directive open for consultation now, with its open round, or 409.
async fn open_for_rating(state: &AppState, id: Uuid) -> ApiResult<(StoredDirective, Directive, u32)> {
    let missing = || AppError::not_found("没有这个文件", "no such directive");
    let stored = state.store.directives().directive(id).await?.ok_or_else(missing)?;
    if stored.status != DirectiveStatus::Consulting {
        return Err(missing());
    }
    let c = state.store.directives().consultation(id).await?.ok_or_else(missing)?;
    if !is_open(&c, Utc::now()) {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "closed",
            "征求意见窗口未开放",
            "the consultation window is not open",
        ));
    }
    let doc = document_of(&stored)?;
    Ok((stored, doc, c.round))
}

fn random_id() -> Uuid {
    uuid::Builder::from_random_bytes(rand::random()).into_uuid()
}

/// Stores a named rating by a cadre of a target unit; returns how many tasks it rates.
pub(crate) async fn rate_by_name(
    state: &AppState,
    user: &User,
    id: Uuid,
    items: &[DirectiveRatingItem],
) -> ApiResult<usize> {
    let (stored, doc, round) = open_for_rating(state, id).await?;
    if user.role != Role::Cadre || !related(user, &stored.targets) {
        return Err(AppError::forbidden());
    }
    let ratings = ratings_of(&doc, items)?;
    let r = ConsultationResponse {
        id: random_id(),
        directive: id,
        round,
        level: user.scope.level(),
        user: Some(user.id),
        ratings,
    };
    match state.store.directives().response_put(&r, None).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                "conflict",
                "您已经评价过其中的任务",
                "you have already rated one of these tasks",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(r.ratings.len())
}

#[utoipa::path(post, path = "/api/directives/{id}/ratings", tag = "directives", description = "A cadre of a target unit rates the tasks by name.", params(("id" = Uuid, Path, description = "the directive")), request_body = DirectiveRatingInput, responses((status = 201, body = Value, description = "stored"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not a cadre of a target unit"), (status = 404, body = ErrorBody, description = "no such directive in consultation"), (status = 409, body = ErrorBody, description = "window closed, or a task already rated by this cadre"), (status = 422, body = ErrorBody, description = "bad ratings, or a token sent")))]
async fn rate_named(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectiveRatingInput>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    if input.token.is_some() || input.period.is_some() || input.scope.is_some() || input.level.is_some() {
        return Err(AppError::field(
            "token",
            "实名评价不使用匿名凭证；匿名评价请提交到 /directives/{id}/ratings",
            "a named rating takes no token, scope or level; rate anonymously at /directives/{id}/ratings",
        ));
    }
    let stored = rate_by_name(&state, &user, id, &input.ratings).await?;
    Ok((StatusCode::CREATED, Json(json!({ "stored": stored }))).into_response())
}

/// `POST /directives/{id}/ratings`: anonymous rating with a token. Takes the JSON body
/// and nothing else: no cookie, no header, no address.
#[utoipa::path(post, path = "/directives/{id}/ratings", tag = "directives", description = "Anonymous rating with a Privacy Pass token (the same tokens as the safe voice's reports; one token is spent once across reports and ratings); no session, cookie or header is read.", params(("id" = Uuid, Path, description = "the directive")), request_body = DirectiveRatingInput, responses((status = 201, body = Value, description = "stored"), (status = 403, body = ErrorBody, description = "invalid token (one generic answer)"), (status = 404, body = ErrorBody, description = "no such directive in consultation"), (status = 409, body = ErrorBody, description = "window closed, or token already spent"), (status = 422, body = ErrorBody, description = "bad ratings, scope or level")))]
async fn rate_anonymous(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectiveRatingInput>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let (stored, doc, round) = open_for_rating(&state, id).await?;
    let scope = parse_code("scope", input.scope.as_deref().unwrap_or(""))?;
    let level = input
        .level
        .as_deref()
        .and_then(|l| Level::parse(l.trim()))
        .ok_or_else(|| AppError::field("level", "请选择本单位的层级", "choose the level of your unit"))?;
    // The token's scope must hold a target unit of the declared level.
    if !stored.targets.iter().any(|t| t.level() == level && scope.contains(t)) {
        return Err(AppError::field(
            "level",
            "凭证范围内没有该层级的目标单位",
            "no target unit of that level lies within the token's scope",
        ));
    }
    let ratings = ratings_of(&doc, &input.ratings)?;
    let now = Utc::now();
    let (token, _) =
        verify_token(&state, &scope, input.period.as_deref(), input.token.as_deref(), now).await?;
    let r = ConsultationResponse { id: random_id(), directive: id, round, level, user: None, ratings };
    match state.store.directives().response_put(&r, Some((scope.province(), *token.nonce()))).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(spent_token()),
        Err(e) => return Err(e.into()),
    }
    Ok((StatusCode::CREATED, Json(json!({ "stored": r.ratings.len() }))).into_response())
}

// ---------------------------------------------------------------------------------------
// Results and conclusion

/// tongxin's own estimate for task `i` from the kept check report: the lowest
/// probability of meeting the deadline over the unit groups, and the latest 80% deadline.
fn estimate(check: Option<&Value>, i: usize) -> Value {
    let Some(report) = check.and_then(|c| serde_json::from_value::<CheckReport>(c.clone()).ok()) else {
        return Value::Null;
    };
    let Some(t) = report.tasks.get(i) else { return Value::Null };
    let p = t.groups.iter().map(|g| g.feasibility.probability).fold(f64::INFINITY, f64::min);
    let p80 = t.groups.iter().map(|g| g.feasibility.deadline_p80).max();
    json!({
        "verdict": t.verdict,
        "probability": if p.is_finite() { Some(p) } else { None },
        "deadline": t.deadline.to_string(),
        "deadline_p80": p80.map(|d| d.to_string()),
    })
}

/// The ratings of one task at one level, suppressed below [`K`].
fn cell(level: Option<Level>, ratings: &[&TaskRating]) -> Value {
    let n = ratings.len() as u32;
    let level_json = json!({
        "level": level.map(|l| l.as_str()),
        "level_zh": level.map(|l| l.zh()),
        "level_en": level.map(|l| l.en()),
    });
    let mut v = if n < K {
        json!({ "suppressed": true, "responses": Value::Null })
    } else {
        let mut hist = [0u32; 5];
        for r in ratings {
            hist[usize::from(r.rating.clamp(1, 5)) - 1] += 1;
        }
        let mean = ratings.iter().map(|r| f64::from(r.rating)).sum::<f64>() / f64::from(n);
        let mut comments: Vec<&str> =
            ratings.iter().map(|r| r.comment.as_str()).filter(|c| !c.is_empty()).collect();
        comments.sort_unstable();
        json!({
            "suppressed": false,
            "responses": n,
            "mean": (mean * 100.0).round() / 100.0,
            "histogram": hist,
            "comments": comments,
        })
    };
    if let (Value::Object(m), Value::Object(l)) = (&mut v, level_json) {
        m.extend(l);
    }
    v
}

/// The results of consultation round `round` (the latest when `None`; 404 for a round
/// that was never opened), with every round's window and outcome.
pub(crate) async fn results_json(state: &AppState, a: &Access, round: Option<u32>) -> ApiResult<Value> {
    let doc = document_of(&a.stored)?;
    let rounds = state.store.directives().consultations(a.stored.id).await?;
    let consultation = match round {
        None => rounds.last(),
        Some(n) => Some(
            rounds
                .iter()
                .find(|c| c.round == n)
                .ok_or_else(|| AppError::not_found("没有这一轮征求意见", "no such consultation round"))?,
        ),
    };
    let responses = match consultation {
        Some(c) => state.store.directives().responses(a.stored.id, c.round).await?,
        None => Vec::new(),
    };
    let now = Utc::now();
    let mut tasks = Vec::new();
    for (i, t) in doc.tasks.iter().enumerate() {
        let mut by_level: BTreeMap<u8, (Level, Vec<&TaskRating>)> = BTreeMap::new();
        let mut all = Vec::new();
        for r in &responses {
            for x in r.ratings.iter().filter(|x| x.task as usize == i) {
                by_level.entry(r.level.number()).or_insert_with(|| (r.level, Vec::new())).1.push(x);
                all.push(x);
            }
        }
        tasks.push(json!({
            "task": t.id,
            "title": t.title,
            "estimate": estimate(a.stored.check.as_ref(), i),
            "overall": cell(None, &all),
            "levels": by_level.values().map(|(l, v)| cell(Some(*l), v)).collect::<Vec<_>>(),
        }));
    }
    Ok(json!({
        "id": a.stored.id,
        "title": doc.title,
        "status": a.stored.status.as_str(),
        "k": K,
        "responses": responses.len(),
        "round": consultation.map(|c| c.round),
        "consultation": consultation.map(|c| consultation_json(c, now)),
        "rounds": rounds.iter().map(|c| consultation_json(c, now)).collect::<Vec<_>>(),
        "levels_self_declared": true,
        "tasks": tasks,
    }))
}

#[utoipa::path(get, path = "/api/directives/{id}/results", tag = "directives", description = "One consultation round's ratings per task and level (fewer than k responses are suppressed), beside tongxin's estimate of the probability of meeting each deadline. The level of an anonymous answer is declared by the cadre within the scope of the token (a level with no target unit in that scope is refused), not proven.", params(("id" = Uuid, Path, description = "the directive"), ("round" = Option<u32>, Query, description = "the consultation round (1, 2, …); the latest when absent")), responses((status = 200, body = Value, description = "k, responses, round, consultation (that round), rounds (every round's window, outcome, response and log index), levels_self_declared, and per task: estimate, overall and per level (suppressed, responses, mean, histogram, comments)"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not an author"), (status = 404, body = ErrorBody, description = "no such directive for this account, or no such round"), (status = 422, body = ErrorBody, description = "bad round")))]
async fn results(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let a = authored(&state, &user, parse_id(&id)?).await?;
    Ok(Json(results_json(&state, &a, round_param(q.get("round").map(String::as_str))?).await?))
}

/// The `round` parameter: absent or empty for the latest round, else a round number.
pub(crate) fn round_param(v: Option<&str>) -> ApiResult<Option<u32>> {
    match v.map(str::trim) {
        None | Some("") => Ok(None),
        Some(r) => r.parse::<u32>().ok().filter(|n| *n >= 1).map(Some).ok_or_else(|| {
            AppError::field("round", "轮次须为正整数", "the round is a positive whole number")
        }),
    }
}

/// The log entry of a conclusion: the directive, outcome, response, and the counts per
/// task and level (below k: only that it was below k; never a comment).
fn conclusion_entry(results: &Value, outcome: &str, response: &str, body: &Body) -> Vec<u8> {
    let tasks: Vec<Value> = results["tasks"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    json!({
                        "task": t["task"],
                        "levels": t["levels"].as_array().map(|ls| ls.iter().map(|l| json!({
                            "level": l["level"],
                            "responses": l["responses"],
                            "mean": l.get("mean"),
                        })).collect::<Vec<_>>()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let entry = json!({
        "type": "tongxin.directive.consultation/v1",
        "directive": results["id"],
        "round": results["round"],
        "title": results["title"],
        "issuing_body": body.name,
        "outcome": outcome,
        "response": response,
        "k": K,
        "responses": results["responses"],
        "tasks": tasks,
    });
    entry.to_string().into_bytes()
}

/// Concludes the consultation; returns the log index when a log is served.
pub(crate) async fn conclude_consultation(
    state: &AppState,
    user: &User,
    id: Uuid,
    outcome: &str,
    response: &str,
    revision: u32,
) -> ApiResult<Option<u64>> {
    let a = authored(state, user, id).await?;
    let to = match outcome.trim() {
        "issue" => DirectiveStatus::Issued,
        "revise" => DirectiveStatus::Draft,
        "withdraw" => DirectiveStatus::Withdrawn,
        _ => {
            return Err(AppError::field(
                "outcome",
                "结论须为 issue（印发）、revise（修改）或 withdraw（撤回）",
                "outcome must be issue, revise or withdraw",
            ));
        }
    };
    let response = check_free_text("response", response)?;
    if a.stored.status != DirectiveStatus::Consulting {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "该文件不在征求意见中",
            "this directive is not in consultation",
        ));
    }
    if a.stored.revision != revision {
        return Err(StoreError::Conflict(format!("directive {id} revision")).into());
    }
    let results = results_json(state, &a, None).await?;
    let Some(round) = results["round"].as_u64().map(|r| r as u32) else {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "该文件不在征求意见中",
            "this directive is not in consultation",
        ));
    };
    state.store.directives().consultation_conclude(id, round, outcome.trim(), &response, Utc::now()).await?;
    transition(state, &a, to, revision).await?;
    let Some(log) = &state.log else { return Ok(None) };
    let entry = conclusion_entry(&results, outcome.trim(), &response, &a.body);
    let index = log.append(entry).await.map_err(|e| {
        tracing::error!("log append: {e}");
        AppError::internal()
    })?;
    state.store.directives().consultation_logged(id, round, index).await?;
    Ok(Some(index))
}

#[utoipa::path(post, path = "/api/directives/{id}/consultation/conclude", tag = "directives", description = "Concludes the consultation: the outcome and the author's response, with the counts per task and level (never a comment), are appended to the transparency log.", params(("id" = Uuid, Path, description = "the directive")), request_body = DirectiveConcludeInput, responses((status = 200, body = Value, description = "the directive and log_index"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not an author"), (status = 404, body = ErrorBody, description = "no such directive for this account"), (status = 409, body = ErrorBody, description = "not in consultation, already concluded, or a stale revision"), (status = 422, body = ErrorBody, description = "bad outcome or response")))]
async fn conclude(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DirectiveConcludeInput>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let index =
        conclude_consultation(&state, &user, id, &input.outcome, &input.response, input.revision).await?;
    let a = visible(&state, &user, id).await?;
    let mut v = view(&state, &a).await?;
    v["log_index"] = json!(index);
    Ok(Json(v))
}

/// Stores a directive given as TOML for `body`, drafted by `author`, with `status`
/// `draft` or `issued`, checked like any other (for the demo). Returns its id.
pub async fn store_seeded(
    store: &dyn Store,
    body: Uuid,
    author: &User,
    status: &str,
    toml: &str,
) -> Result<Uuid, AppError> {
    let status = match DirectiveStatus::parse(status) {
        Some(s @ (DirectiveStatus::Draft | DirectiveStatus::Issued)) => s,
        _ => {
            return Err(AppError::field(
                "status",
                "状态须为 draft 或 issued",
                "status must be draft or issued",
            ));
        }
    };
    let body = store
        .body(body)
        .await?
        .ok_or_else(|| AppError::field("issuing_body", "没有这个部门", "no such body"))?;
    let mut doc = parse_source(Some(toml), None)?;
    let id = new_id();
    own(&mut doc, id, &body, status);
    let checked = check_in(store, &doc, Some(id)).await?;
    let now = Utc::now();
    store
        .directives()
        .directive_put(&StoredDirective {
            id,
            issuing_body: body.id,
            body_unit: body.unit.clone(),
            status,
            document: to_value(&doc)?,
            targets: checked.targets,
            check: Some(to_value(&checked.report)?),
            revision: 1,
            created_by: author.id,
            created_at: now,
            updated_at: now,
        })
        .await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(targets: &[&str]) -> Directive {
        let units: Vec<String> = targets.iter().map(|c| format!("\"{c}\"")).collect();
        let toml = format!(
            "id = \"d\"\nissuing_body = \"b\"\ntitle = \"t\"\nissued_on = 2026-12-01\n[[task]]\nid = \"a\"\n\
             title = \"a\"\ntemplate = \"data_collection\"\ndeadline = 2026-12-31\ntargets = {{ units = [{}] }}\n\
             [[task]]\nid = \"b\"\ntitle = \"b\"\ntemplate = \"data_collection\"\ndeadline = 2026-12-31\n\
             targets = {{ level = \"village\", under = \"350102\" }}\n",
            units.join(", ")
        );
        Directive::from_toml("d.toml", &toml).unwrap()
    }

    fn codes(v: Vec<UnitCode>) -> Vec<String> {
        v.into_iter().map(|c| c.as_str().to_owned()).collect()
    }

    #[test]
    fn a_check_reads_the_targets_subtrees_only() {
        // A unit inside another target's subtree is read with it; one elsewhere alone.
        let d = draft(&["350102001001", "350103001", "350102"]);
        assert_eq!(codes(target_roots(&d, 64)), ["350102", "350103001"]);
        // Many targets are coalesced into their ancestors, the deepest first.
        let d = draft(&["350103001001", "350103001002", "350103002001", "350104001001"]);
        assert_eq!(codes(target_roots(&d, 4)), ["350102", "350103001", "350103002", "350104001"]);
        assert_eq!(codes(target_roots(&d, 2)), ["3501"]);
    }
}
