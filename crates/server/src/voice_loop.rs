//! The closed loop beyond acknowledging and answering (issue 5): the office routes
//! unaddressed reports and escalates by hand, a department assigns a report to one of its
//! divisions, the handling and escalated-to bodies write messages, the submitter reopens
//! through the receipt, and the **sweep** escalates overdue reports and closes quietly
//! answered ones. The sweep runs in a background task every few minutes
//! ([`crate::Config::voice_sweep_every`]) and on demand for an administrator.
//!
//! | method, path | who |
//! |---|---|
//! | `GET /api/voice/reports/{id}` | staff of the addressed body (or its department), of a body it is escalated to; office/admin within scope for unaddressed or escalated reports |
//! | `POST /api/voice/reports/{id}/route` | office/admin within the report's scope |
//! | `POST /api/voice/reports/{id}/assign` | staff of the addressed department, to one of its divisions |
//! | `POST /api/voice/reports/{id}/escalate` | office/admin within scope |
//! | `POST /api/voice/reports/{id}/message` | whoever may view it, but a cadre |
//! | `POST /voice/receipt/reopen` | the receipt holder, no session |
//! | `POST /api/voice/sweep` | admin |
//!
//! Access is decided by [`access`] from the organisation ([`Org`]): a report the account
//! may not see does not exist for it (404), whatever its id.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tongxin_domain::{Body, BodyKind, Role, UnitCode, User};
use tongxin_store::voice::VoiceFilter;
use tongxin_voice::{
    EscalationCause, Event, Hierarchy, Party, Report, State as ReportState, Which, escalation_targets,
    overdue,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{ApiJson, parse_uuid};
use crate::auth::ApiUser;
use crate::error::{ApiResult, AppError, ErrorBody};
use crate::voice::{
    all_pages, by_secret, calendar, check_free_text, handled_bodies, inbox_item, limits, receipt_view,
    transition, transition_at,
};

/// The most messages a submitter may write on one report (replies and reopening
/// reasons): the rate limit of the receipt holder, who has no account to limit.
pub const MAX_SUBMITTER_MESSAGES: usize = 30;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/voice/reports/{id}", get(view))
        .route("/api/voice/reports/{id}/route", post(route))
        .route("/api/voice/reports/{id}/assign", post(assign))
        .route("/api/voice/reports/{id}/escalate", post(escalate))
        .route("/api/voice/reports/{id}/message", post(message))
        .route("/api/voice/sweep", post(sweep_now))
        .route("/voice/receipt/reopen", post(receipt_reopen))
}

// ---------------------------------------------------------------------------------------
// The organisation and who may see what

/// Every body, and the burden-reduction office of each unit: what escalation needs.
pub struct Org {
    bodies: HashMap<Uuid, Body>,
    offices: HashMap<UnitCode, Uuid>,
}

impl Org {
    pub(crate) async fn load(state: &AppState) -> ApiResult<Org> {
        Ok(Org::load_from(state.store.as_ref()).await?)
    }

    /// Reads every body from `store`.
    pub async fn load_from(store: &dyn tongxin_store::Store) -> Result<Org, tongxin_store::StoreError> {
        let bodies: HashMap<Uuid, Body> = store.bodies(None).await?.into_iter().map(|b| (b.id, b)).collect();
        let offices = bodies
            .values()
            .filter(|b| b.kind == BodyKind::BurdenOffice)
            .map(|b| (b.unit.clone(), b.id))
            .collect();
        Ok(Org { bodies, offices })
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<&Body> {
        self.bodies.get(&id)
    }
}

impl Hierarchy for Org {
    fn body(&self, id: Uuid) -> Option<Body> {
        self.bodies.get(&id).cloned()
    }

    fn burden_office(&self, unit: &UnitCode) -> Option<Uuid> {
        self.offices.get(unit).copied()
    }
}

/// How an account reaches a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Staff of the addressed body, or of the department of the addressed division: they
    /// acknowledge, answer, assign and write.
    Handles,
    /// Staff of a body the report is escalated to: they see it and write.
    EscalatedTo,
    /// A burden-reduction office or administrator whose scope holds the report's scope,
    /// for an unaddressed or escalated report: they route, escalate and write.
    Office,
}

/// How `user` reaches `report`, if at all. Cadres reach reports only through receipts.
pub(crate) fn access(user: &User, handled: &[Uuid], report: &Report, org: &Org) -> Option<Access> {
    match user.role {
        Role::Cadre => None,
        // The office sees what is its to route or to chase: unaddressed and escalated
        // reports within its scope (as in its escalation list), not every body's mail.
        Role::Office | Role::Admin => (user.scope.contains(&report.scope)
            && (report.addressed.is_none() || report.escalation > 0))
            .then_some(Access::Office),
        Role::BodyStaff => {
            if report.addressed.is_some_and(|b| handled.contains(&b)) {
                Some(Access::Handles)
            } else if escalation_targets(report, org).iter().any(|b| handled.contains(b)) {
                Some(Access::EscalatedTo)
            } else {
                None
            }
        }
    }
}

/// The escalated reports that reach the bodies `handled` because they were escalated to
/// one of them (from a division to its department, or up the offices).
pub(crate) async fn escalated_to(state: &AppState, handled: &[Uuid], org: &Org) -> ApiResult<Vec<Report>> {
    if handled.is_empty() {
        return Ok(Vec::new());
    }
    let escalated = all_pages(state, VoiceFilter { escalated_only: true, ..Default::default() }).await?;
    Ok(escalated
        .into_iter()
        .filter(|r| escalation_targets(r, org).iter().any(|b| handled.contains(b)))
        .collect())
}

fn missing() -> AppError {
    AppError::not_found("没有这份报告", "no such report")
}

/// The report `id` with the account's access to it; 403 for a cadre whatever the id,
/// 404 when the account may not see it.
pub(crate) async fn report_with_access(
    state: &AppState,
    user: &User,
    id: &str,
) -> ApiResult<(Report, Access, Org)> {
    if user.role == Role::Cadre {
        return Err(AppError::forbidden());
    }
    let id = parse_uuid("id", id)?;
    let report = state.store.voice().voice_report(id).await?.ok_or_else(missing)?;
    let org = Org::load(state).await?;
    let handled = handled_bodies(state, user).await?;
    let access = access(user, &handled, &report, &org).ok_or_else(missing)?;
    Ok((report, access, org))
}

async fn item(state: &AppState, report: &Report) -> ApiResult<Json<Value>> {
    Ok(Json(inbox_item(state, report, Utc::now()).await?))
}

// ---------------------------------------------------------------------------------------
// Handlers

#[utoipa::path(get, path = "/api/voice/reports/{id}", tag = "voice", params(("id" = Uuid, Path, description = "the report")), responses((status = 200, body = Value, description = "the report as an inbox item"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "a cadre (reports are read through receipts)"), (status = 404, body = ErrorBody, description = "no such report for this account")))]
async fn view(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let (report, _, _) = report_with_access(&state, &user, &id).await?;
    item(&state, &report).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceBodyInput {
    /// The body to address the report to.
    body: Uuid,
}

/// The office addresses (or re-addresses) a report to a body.
pub(crate) async fn route_report(state: &AppState, user: &User, id: &str, to: Uuid) -> ApiResult<Report> {
    let (report, access, org) = report_with_access(state, user, id).await?;
    if access != Access::Office {
        return Err(AppError::forbidden());
    }
    if org.get(to).is_none() {
        return Err(AppError::field("body", "没有这个部门", "no such body"));
    }
    transition(state, &report, Event::Route { to }, "").await
}

#[utoipa::path(post, path = "/api/voice/reports/{id}/route", tag = "voice", params(("id" = Uuid, Path, description = "the report")), request_body = VoiceBodyInput, responses((status = 200, body = Value, description = "the report as an inbox item"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not the burden-reduction office or an admin"), (status = 404, body = ErrorBody, description = "no such report for this account"), (status = 409, body = ErrorBody, description = "cannot be routed now (answered, closed, or already addressed there)"), (status = 422, body = ErrorBody, description = "no such body")))]
async fn route(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VoiceBodyInput>,
) -> ApiResult<Json<Value>> {
    let report = route_report(&state, &user, &id, input.body).await?;
    item(&state, &report).await
}

/// A department hands a report addressed to it to one of its divisions.
pub(crate) async fn assign_report(state: &AppState, user: &User, id: &str, to: Uuid) -> ApiResult<Report> {
    let (report, access, org) = report_with_access(state, user, id).await?;
    if access != Access::Handles {
        return Err(AppError::forbidden());
    }
    let own = user.body.ok_or_else(AppError::forbidden)?;
    let is_division = org.get(to).is_some_and(|b| b.kind == BodyKind::Division && b.parent == Some(own));
    if !is_division {
        return Err(AppError::field(
            "body",
            "只能交给本部门的处室",
            "only to a division of your own department",
        ));
    }
    transition(state, &report, Event::Route { to }, "").await
}

#[utoipa::path(post, path = "/api/voice/reports/{id}/assign", tag = "voice", params(("id" = Uuid, Path, description = "the report")), request_body = VoiceBodyInput, responses((status = 200, body = Value, description = "the report as an inbox item"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not staff of the addressed department"), (status = 404, body = ErrorBody, description = "no such report for this account"), (status = 409, body = ErrorBody, description = "cannot be assigned now"), (status = 422, body = ErrorBody, description = "not a division of the department")))]
async fn assign(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VoiceBodyInput>,
) -> ApiResult<Json<Value>> {
    let report = assign_report(&state, &user, &id, input.body).await?;
    item(&state, &report).await
}

/// The office raises a report's escalation level by hand.
pub(crate) async fn escalate_report(state: &AppState, user: &User, id: &str) -> ApiResult<Report> {
    let (report, access, _) = report_with_access(state, user, id).await?;
    if access != Access::Office {
        return Err(AppError::forbidden());
    }
    transition(state, &report, Event::Escalate { cause: EscalationCause::Office }, "").await
}

#[utoipa::path(post, path = "/api/voice/reports/{id}/escalate", tag = "voice", params(("id" = Uuid, Path, description = "the report")), responses((status = 200, body = Value, description = "the report as an inbox item"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not the burden-reduction office or an admin"), (status = 404, body = ErrorBody, description = "no such report for this account"), (status = 409, body = ErrorBody, description = "cannot be escalated now")))]
async fn escalate(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let report = escalate_report(&state, &user, &id).await?;
    item(&state, &report).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceTextInput {
    text: String,
}

/// A body (handling, escalated-to, or the office) writes to the submitter.
pub(crate) async fn body_message(state: &AppState, user: &User, id: &str, text: &str) -> ApiResult<Report> {
    let (report, _, _) = report_with_access(state, user, id).await?;
    let text = check_free_text("text", text)?;
    transition(state, &report, Event::Message { from: Party::Body }, &text).await
}

#[utoipa::path(post, path = "/api/voice/reports/{id}/message", tag = "voice", params(("id" = Uuid, Path, description = "the report")), request_body = VoiceTextInput, responses((status = 200, body = Value, description = "the report as an inbox item"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "a cadre"), (status = 404, body = ErrorBody, description = "no such report for this account"), (status = 409, body = ErrorBody, description = "closed"), (status = 422, body = ErrorBody, description = "bad text")))]
async fn message(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VoiceTextInput>,
) -> ApiResult<Json<Value>> {
    let report = body_message(&state, &user, &id, &input.text).await?;
    item(&state, &report).await
}

/// Refuses a submitter's message beyond [`MAX_SUBMITTER_MESSAGES`] on one report.
pub(crate) fn check_submitter_budget(report: &Report) -> ApiResult<()> {
    let written = report
        .history
        .iter()
        .filter(|t| matches!(t.event, Event::Message { from: Party::Submitter } | Event::Reopen))
        .count();
    if written >= MAX_SUBMITTER_MESSAGES {
        return Err(AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("每份报告最多回复 {MAX_SUBMITTER_MESSAGES} 次"),
            format!("at most {MAX_SUBMITTER_MESSAGES} replies per report"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceReopenInput {
    secret: String,
    /// Why the answer does not settle it (optional; committed in the log like a reply).
    #[serde(default)]
    text: String,
}

/// The submitter reopens an answered or closed report (within the reopening window).
pub(crate) async fn reopen_by_receipt(state: &AppState, secret: &str, text: &str) -> ApiResult<Report> {
    let report = by_secret(state, secret).await?;
    let text = if text.trim().is_empty() { String::new() } else { check_free_text("text", text)? };
    check_submitter_budget(&report)?;
    transition(state, &report, Event::Reopen, &text).await
}

#[utoipa::path(post, path = "/voice/receipt/reopen", tag = "voice", request_body = VoiceReopenInput, responses((status = 200, body = Value, description = "the receipt holder's view"), (status = 404, body = ErrorBody, description = "no report for this receipt"), (status = 409, body = ErrorBody, description = "cannot be reopened now (not answered, too late, or reopened too often)"), (status = 422, body = ErrorBody, description = "bad text"), (status = 429, body = ErrorBody, description = "too many replies on this report")))]
async fn receipt_reopen(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VoiceReopenInput>,
) -> ApiResult<Response> {
    let report = reopen_by_receipt(&state, &input.secret, &input.text).await?;
    receipt_view(&state, &report).await
}

// ---------------------------------------------------------------------------------------
// The sweep

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SweepSummary {
    /// Open reports looked at.
    pub open: u32,
    /// Escalations made because a time limit passed.
    pub escalated: u32,
    /// Answered reports closed after the quiet period.
    pub closed: u32,
    /// Reports changed by someone else meanwhile (left for the next sweep).
    pub raced: u32,
}

/// Escalates every report past a time limit (once per limit and round: acknowledging
/// late, then answering late), and closes answered reports whose quiet period is over,
/// all at `now`. A report someone changes meanwhile is left for the next sweep.
pub(crate) async fn sweep(state: &AppState, now: DateTime<Utc>) -> ApiResult<SweepSummary> {
    let mut summary = SweepSummary::default();
    for st in [ReportState::Submitted, ReportState::Acknowledged, ReportState::Answered] {
        let reports = all_pages(state, VoiceFilter { state: Some(st), ..Default::default() }).await?;
        for mut report in reports {
            summary.open += 1;
            let mut events = Vec::new();
            if st == ReportState::Answered {
                events.push(Event::CloseQuiet);
            } else if let Some(o) = overdue(&report, now, calendar(), limits()) {
                if report.state == ReportState::Submitted {
                    events.push(Event::Escalate { cause: EscalationCause::Overdue(Which::Acknowledge) });
                }
                if o.which == Which::Answer {
                    events.push(Event::Escalate { cause: EscalationCause::Overdue(Which::Answer) });
                }
            }
            for event in events {
                // Try on a copy first: most reports are not due, and a refused event is
                // not an error here.
                let mut trial = report.clone();
                if tongxin_voice::apply(&mut trial, event, now, &crate::voice::policy()).is_err() {
                    continue;
                }
                match transition_at(state, &report, event, "", now).await {
                    Ok(next) => {
                        if event == Event::CloseQuiet {
                            summary.closed += 1;
                        } else {
                            summary.escalated += 1;
                        }
                        report = next;
                    }
                    Err(e) if e.status == axum::http::StatusCode::CONFLICT => {
                        summary.raced += 1;
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    Ok(summary)
}

#[utoipa::path(post, path = "/api/voice/sweep", tag = "voice", responses((status = 200, body = SweepSummary, description = "what the sweep did"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not an admin")))]
async fn sweep_now(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<SweepSummary>> {
    if user.role != Role::Admin {
        return Err(AppError::forbidden());
    }
    Ok(Json(sweep(&state, Utc::now()).await?))
}

/// Runs the sweep every `every` until the process ends. Only counts are logged.
pub(crate) fn spawn_sweeper(state: AppState, every: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sweep(&state, Utc::now()).await {
                Ok(s) if s.escalated + s.closed + s.raced > 0 => {
                    tracing::info!(escalated = s.escalated, closed = s.closed, raced = s.raced, "voice sweep")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(status = %e.status, "voice sweep failed; retrying at the next tick"),
            }
        }
    });
}
