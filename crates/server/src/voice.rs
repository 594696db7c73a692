//! The safe voice over HTTP (issue 5): issuer keys, token allowances, anonymous and named
//! filing, the receipt holder's view, a body's inbox and its answers, public response
//! rates. JSON only for now; the pages come later.
//!
//! | method, path | who |
//! |---|---|
//! | `POST /api/voice/keys/ensure` | office/admin within their scope; a cadre for a scope holding their unit |
//! | `GET /api/voice/keys?scope=&period=` | anyone, no session |
//! | `POST /api/voice/allowance` | a signed-in cadre, once per scope and period |
//! | `POST /voice/reports` | anyone holding a token: **no session is read** |
//! | `POST /api/voice/reports` | a signed-in cadre filing by name |
//! | `POST /voice/receipt`, `/voice/receipt/reply`, `/voice/receipt/rate` | the receipt holder, no session |
//! | `GET /api/voice/inbox` | body staff (their body and its divisions); office/admin (unaddressed and escalated within scope) |
//! | `POST /api/voice/reports/{id}/acknowledge`, `/answer` | staff of the addressed body or its parent department |
//! | `GET /api/voice/rates?year=` | anyone |
//!
//! The anonymous endpoints live outside `/api/` and take only the JSON body: no cookie,
//! no header, no client address reaches them (the router has no tracing layer that
//! would log addresses; see ARCHITECTURE.md). Every token failure (malformed, unknown
//! key, wrong scope or period, bad signature) is one generic 403, a spent token one
//! generic 409, a wrong receipt secret one generic 404: no oracle.
//!
//! What is stored per step:
//! - keys: the issuer key of (scope, period), private half included (`voice_keys`), and
//!   its `KeyRecord` appended to the transparency log when one is configured;
//! - allowance: only that the cadre received `ALLOWANCE` tokens for (scope, period), and
//!   when; nothing derived from the requests or signatures;
//! - filing: the report (anonymous: with its public token; named: with the user id), the
//!   token's nonce as spent, the filing's log entry and its commitment opening;
//! - each transition: the updated report (compare-and-set on its event count) and the
//!   transition's log entry, opening and committed content (`tongxin_voice::event_content`:
//!   the event's data and its text). The content stays in the database; the log holds only
//!   the commitment to it. The receipt holder's view and the body's inbox show the answers
//!   and replies read back from it (`messages`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tongxin_domain::{FieldError, Role, UnitCode, User};
use tongxin_store::StoreError;
use tongxin_store::voice::{VoiceEvent, VoiceFilter, VoiceKey};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{IssuerKey, IssuerPublicKey, KeyRecord, Token, TokenRequest};
use tongxin_voice::{
    BodyRates, Content, Event, Figure, Identity, LogEntry, Party, Period, Policy, Rating, ReceiptSecret,
    Report, TimeLimits, WorkCalendar, apply, china_date, china_midnight, deadlines, event_content,
    event_content_text, overdue,
};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::AppState;
use crate::api::{ApiJson, parse_code, parse_uuid};
use crate::auth::ApiUser;
use crate::error::{ApiResult, AppError, ErrorBody};

/// The anonymity threshold: a scope with fewer cadres cannot be chosen, and a public
/// figure over fewer reports is suppressed.
pub const K: u32 = tongxin_voice::DEFAULT_K;
/// The allowance: every cadre receives exactly this many tokens per scope and period,
/// in one batch.
pub const ALLOWANCE: usize = 10;
/// The server name in challenges when no public URL is configured.
pub const DEFAULT_SERVER_NAME: &str = "tongxin.local";
/// The longest reply or answer text, in characters.
pub const MAX_TEXT: usize = 2000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/voice/keys/ensure", post(ensure_keys))
        .route("/api/voice/keys", get(get_keys))
        .route("/api/voice/allowance", post(allowance))
        .route("/api/voice/reports", post(file_named))
        .route("/api/voice/inbox", get(inbox))
        .route("/api/voice/reports/{id}/acknowledge", post(acknowledge))
        .route("/api/voice/reports/{id}/answer", post(answer))
        .route("/api/voice/rates", get(rates))
        .route("/voice/reports", post(file_anonymous))
        .route("/voice/receipt", post(receipt))
        .route("/voice/receipt/reply", post(receipt_reply))
        .route("/voice/receipt/rate", post(receipt_rate))
        .route("/voice/tokens/check", post(check_token))
}

/// The working-day calendar and time limits of this process: set once at startup by
/// [`configure`] (from `serve --holidays`, `--acknowledge-days`, …), else the shipped
/// calendar and the default limits. Process-wide like the clock the limits are read
/// against: every report of a deployment runs on the same calendar.
static POLICY: OnceLock<(WorkCalendar, TimeLimits)> = OnceLock::new();

/// Sets the process's calendar and limits. Fails (returning them) when they were already
/// set or already read.
pub fn configure(calendar: WorkCalendar, limits: TimeLimits) -> Result<(), (WorkCalendar, TimeLimits)> {
    POLICY.set((calendar, limits))
}

fn configured() -> &'static (WorkCalendar, TimeLimits) {
    POLICY.get_or_init(|| (WorkCalendar::cn_default(), TimeLimits::default()))
}

pub(crate) fn calendar() -> &'static WorkCalendar {
    &configured().0
}

pub(crate) fn limits() -> &'static TimeLimits {
    &configured().1
}

pub(crate) fn policy() -> Policy<'static> {
    Policy { calendar: calendar(), limits: limits() }
}

/// The host name the challenges name: the configured public URL's host (and port), else
/// [`DEFAULT_SERVER_NAME`]. Never the request's `Host` header, so that every client of a
/// scope gets the same challenge.
pub fn server_name(state: &AppState) -> String {
    state
        .config
        .public_url
        .as_deref()
        .map(|u| {
            let rest = u.split_once("://").map_or(u, |(_, r)| r);
            rest.split(['/', '?', '#']).next().unwrap_or("").to_ascii_lowercase()
        })
        .filter(|n| tongxin_tokens::scheme::check_server_name(n).is_ok())
        .unwrap_or_else(|| DEFAULT_SERVER_NAME.to_owned())
}

/// The period label of `at`: its month in China time, `YYYY-MM`.
pub fn period_of(at: DateTime<Utc>) -> String {
    let d = china_date(at);
    format!("{:04}-{:02}", d.year(), d.month())
}

/// The first day of a `YYYY-MM` period and of the next one.
fn period_bounds(period: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (y, m) = period.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let first = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    let next = first.checked_add_months(chrono::Months::new(1))?;
    Some((first, next))
}

/// A period a key may be made or an allowance taken for: this month or the next.
fn check_period(field: &str, period: &str, now: DateTime<Utc>) -> ApiResult<String> {
    let current = period_of(now);
    let next = period_bounds(&current).map(|(_, n)| format!("{:04}-{:02}", n.year(), n.month()));
    if period == current || Some(period) == next.as_deref() {
        Ok(period.to_owned())
    } else {
        Err(AppError::field(
            field,
            format!("期间须为本月（{current}）或下月，格式 YYYY-MM"),
            format!("the period must be this month ({current}) or the next, as YYYY-MM"),
        ))
    }
}

/// Base64 in either alphabet, padded or not.
fn decode_b64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim().trim_end_matches('=');
    STANDARD_NO_PAD.decode(s).or_else(|_| URL_SAFE_NO_PAD.decode(s)).ok()
}

fn hex(b: &[u8]) -> String {
    tongxin_store::voice::hex(b)
}

fn no_store(status: StatusCode, body: Value) -> Response {
    (status, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

// ---------------------------------------------------------------------------------------
// Scopes and keys

/// How many cadres share `scope` (the unit and everything below it); `None` when there
/// is no such unit.
pub(crate) async fn cadres_in(state: &AppState, scope: &UnitCode) -> ApiResult<Option<u32>> {
    if state.store.unit(scope).await?.is_none() {
        return Ok(None);
    }
    let units = state.store.units_under(Some(scope)).await?;
    let total: u64 = units.iter().map(|u| u64::from(u.cadres)).sum();
    Ok(Some(u32::try_from(total).unwrap_or(u32::MAX)))
}

/// Checks that `scope` names a unit with at least [`K`] cadres (422 naming `scope`).
pub(crate) async fn check_scope_size(state: &AppState, scope: &UnitCode) -> ApiResult<u32> {
    let Some(n) = cadres_in(state, scope).await? else {
        return Err(AppError::field("scope", "没有这个单位", "no such unit"));
    };
    if !tongxin_voice::can_choose_scope(n, K) {
        let m = tongxin_voice::meter(n, K);
        return Err(AppError::field("scope", m.zh, m.en));
    }
    Ok(n)
}

/// The key of (scope, period), made and published on first need.
pub(crate) async fn ensure_key(state: &AppState, scope: &UnitCode, period: &str) -> ApiResult<VoiceKey> {
    let key = match state.store.voice().voice_keys(Some(scope), Some(period)).await?.into_iter().next() {
        Some(k) => k,
        None => {
            let (first, next) = period_bounds(period).ok_or_else(|| {
                AppError::field("period", "期间格式应为 YYYY-MM", "the period must be YYYY-MM")
            })?;
            // RSA key generation takes a while: keep it off the async workers.
            let generated =
                tokio::task::spawn_blocking(|| IssuerKey::generate(&mut tongxin_tokens::DefaultRng))
                    .await
                    .map_err(|e| internal("key generation task", &e.to_string()))?
                    .map_err(|e| internal("key generation", &e.to_string()))?;
            let secret =
                generated.to_pkcs8_der().map_err(|e| internal("key serialisation", &e.to_string()))?;
            let key = VoiceKey {
                scope: scope.clone(),
                period: period.to_owned(),
                token_key_id: *generated.public_key().token_key_id(),
                spki: generated.public_key().spki().to_vec(),
                secret_pkcs8: secret.to_vec(),
                not_before: china_midnight(first),
                not_after: china_midnight(next),
                log_index: None,
            };
            match state.store.voice().voice_key_put(&key).await {
                Ok(()) => key,
                // Someone else made it meanwhile: use theirs.
                Err(StoreError::Conflict(_)) => state
                    .store
                    .voice()
                    .voice_keys(Some(scope), Some(period))
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(AppError::internal)?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    publish_key(state, key).await
}

/// Appends the key's record to the log if it is not there yet.
async fn publish_key(state: &AppState, mut key: VoiceKey) -> ApiResult<VoiceKey> {
    let (Some(log), None) = (&state.log, key.log_index) else {
        return Ok(key);
    };
    let record = key_record(&key)?;
    let index = log.append(record.to_bytes()).await.map_err(|e| internal("log append", &e.to_string()))?;
    state.store.voice().voice_key_logged(&key.scope, &key.period, index).await?;
    key.log_index = Some(index);
    Ok(key)
}

fn key_record(key: &VoiceKey) -> ApiResult<KeyRecord> {
    let scope =
        KeyScope::new(key.scope.as_str(), &key.period).map_err(|e| internal("key scope", &e.to_string()))?;
    let public = IssuerPublicKey::from_spki(&key.spki).map_err(|e| internal("stored key", &e.to_string()))?;
    let secs = |t: DateTime<Utc>| u64::try_from(t.timestamp()).unwrap_or(0);
    KeyRecord::new(scope, &public, secs(key.not_before), secs(key.not_after))
        .map_err(|e| internal("key record", &e.to_string()))
}

fn internal(what: &str, detail: &str) -> AppError {
    tracing::error!(what, detail, "voice failure");
    AppError::internal()
}

/// The key as clients read it, with `proof`: the `c2sp.org/tlog-proof@v1` receipt of its
/// log entry (`log_record`) once a checkpoint covers it (waited for a few seconds), so
/// that a client can refuse a key that is not in the log.
pub(crate) async fn key_json(state: &AppState, key: &VoiceKey) -> ApiResult<Value> {
    let name = server_name(state);
    let scope =
        KeyScope::new(key.scope.as_str(), &key.period).map_err(|e| internal("key scope", &e.to_string()))?;
    let challenge = challenge(&name, &scope).map_err(|e| internal("challenge", &e.to_string()))?;
    let record = key_record(key)?;
    let proof = match (&state.log, key.log_index) {
        (Some(log), Some(index)) => {
            match tokio::time::timeout(Duration::from_secs(5), log.covering(index)).await {
                Ok(Ok(_)) => log.receipt(index).await.ok().map(|r| r.to_text()),
                _ => None,
            }
        }
        _ => None,
    };
    Ok(json!({
        "scope": key.scope.as_str(),
        "period": key.period,
        "token_key": STANDARD.encode(&key.spki),
        "token_key_id": hex(&key.token_key_id),
        "not_before": key.not_before,
        "not_after": key.not_after,
        "log_index": key.log_index,
        "log_record": String::from_utf8_lossy(&record.to_bytes()),
        "proof": proof,
        "server_name": name,
        "challenge": STANDARD.encode(challenge.to_bytes()),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceKeyInput {
    scope: String,
    period: Option<String>,
}

#[utoipa::path(post, path = "/api/voice/keys/ensure", tag = "voice", request_body = VoiceKeyInput, responses((status = 200, body = Value, description = "the issuer key of the scope and period (made if missing): token_key (SPKI, base64), token_key_id, not_before, not_after, log_index, log_record, proof (the c2sp.org/tlog-proof@v1 receipt of log_record once a checkpoint covers it, else null), server_name, challenge"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not office/admin within scope, nor a cadre of the scope"), (status = 422, body = ErrorBody, description = "bad scope or period, or a scope under k cadres")))]
async fn ensure_keys(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<VoiceKeyInput>,
) -> ApiResult<Json<Value>> {
    let scope = parse_code("scope", &input.scope)?;
    let allowed = match user.role {
        Role::Office | Role::Admin => user.scope.contains(&scope),
        Role::Cadre => scope.contains(&user.scope),
        Role::BodyStaff => false,
    };
    if !allowed {
        return Err(AppError::forbidden());
    }
    let now = Utc::now();
    let period = check_period("period", input.period.as_deref().unwrap_or(&period_of(now)), now)?;
    check_scope_size(&state, &scope).await?;
    let key = ensure_key(&state, &scope, &period).await?;
    Ok(Json(key_json(&state, &key).await?))
}

#[utoipa::path(get, path = "/api/voice/keys", tag = "voice", params(("scope" = String, Query, description = "unit code of the scope"), ("period" = Option<String>, Query, description = "YYYY-MM; this month when absent")), responses((status = 200, body = Value, description = "the issuer key of the scope and period, as from /api/voice/keys/ensure"), (status = 404, body = ErrorBody, description = "no key for this scope and period yet"), (status = 422, body = ErrorBody, description = "bad scope or period")))]
async fn get_keys(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let scope = parse_code("scope", q.get("scope").map(String::as_str).unwrap_or(""))?;
    let period = q.get("period").cloned().unwrap_or_else(|| period_of(Utc::now()));
    if period_bounds(&period).is_none() {
        return Err(AppError::field("period", "期间格式应为 YYYY-MM", "the period must be YYYY-MM"));
    }
    let key = state.store.voice().voice_keys(Some(&scope), Some(&period)).await?.into_iter().next();
    let Some(key) = key else {
        return Err(AppError::not_found(
            "该范围本期尚无发放密钥",
            "no issuer key for this scope and period yet",
        ));
    };
    Ok(Json(key_json(&state, &key).await?))
}

// ---------------------------------------------------------------------------------------
// Allowance

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceAllowanceInput {
    scope: String,
    period: String,
    requests: Vec<String>,
}

#[utoipa::path(post, path = "/api/voice/allowance", tag = "voice", request_body = VoiceAllowanceInput, responses((status = 200, body = Value, description = "scope, period, cadres_in_scope, token_key_id, log_index and the blind-signed responses (base64), in request order"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not a cadre"), (status = 409, body = ErrorBody, description = "allowance already taken for this scope and period"), (status = 422, body = ErrorBody, description = "bad scope, period or requests")))]
async fn allowance(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<VoiceAllowanceInput>,
) -> ApiResult<Json<Value>> {
    if user.role != Role::Cadre {
        return Err(AppError::forbidden());
    }
    let scope = parse_code("scope", &input.scope)?;
    if !scope.contains(&user.scope) {
        return Err(AppError::field(
            "scope",
            "所选范围须包含本人所在单位",
            "the scope must contain your own unit",
        ));
    }
    let now = Utc::now();
    let period = check_period("period", &input.period, now)?;
    let cadres = check_scope_size(&state, &scope).await?;
    if input.requests.len() != ALLOWANCE {
        return Err(AppError::field(
            "requests",
            format!("每个范围每期须一次申请 {ALLOWANCE} 个凭证"),
            format!("exactly {ALLOWANCE} token requests per scope and period, in one batch"),
        ));
    }
    let mut requests = Vec::with_capacity(ALLOWANCE);
    let mut errors = Vec::new();
    for (i, r) in input.requests.iter().enumerate() {
        match decode_b64(r).and_then(|b| TokenRequest::decode(&b).ok()) {
            Some(req) => requests.push(req),
            None => errors.push(FieldError::new(
                format!("requests[{i}]"),
                "不是有效的凭证申请（base64 编码的 TokenRequest）",
                "not a valid token request (base64 TokenRequest)",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(AppError::invalid(errors));
    }
    let key = ensure_key(&state, &scope, &period).await?;
    let secret = key.secret_pkcs8.clone();
    // Sign first (so a refused request consumes nothing), then take the allowance.
    let signed = tokio::task::spawn_blocking(move || {
        let issuer = IssuerKey::from_pkcs8_der(&secret).map_err(|e| (None, e.to_string()))?;
        requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                tongxin_tokens::issue(&issuer, r)
                    .map(|s| STANDARD.encode(s.to_bytes()))
                    .map_err(|e| (Some(i), e.to_string()))
            })
            .collect::<Result<Vec<String>, _>>()
    })
    .await
    .map_err(|e| internal("issuance task", &e.to_string()))?;
    let responses = match signed {
        Ok(r) => r,
        Err((Some(i), _)) => {
            return Err(AppError::field(
                &format!("requests[{i}]"),
                "凭证申请与本期发放密钥不符",
                "the token request does not match this period's issuer key",
            ));
        }
        Err((None, e)) => return Err(internal("stored issuer key", &e)),
    };
    let taken =
        state.store.voice().voice_allowance_take(user.id, &scope, &period, ALLOWANCE as u32, now).await?;
    if !taken {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "本期该范围的凭证已经领取过",
            "allowance already taken for this scope and period",
        ));
    }
    Ok(Json(json!({
        "scope": scope.as_str(),
        "period": period,
        "cadres_in_scope": cadres,
        "token_key_id": hex(&key.token_key_id),
        "log_index": key.log_index,
        "responses": responses,
    })))
}

// ---------------------------------------------------------------------------------------
// Filing

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceContentInput {
    demanded: String,
    by_whom: String,
    cost: String,
    fix: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceFilingInput {
    scope: String,
    /// Only for anonymous filing; the period of the token's key.
    period: Option<String>,
    /// Only for anonymous filing: base64 of the Privacy Pass token.
    token: Option<String>,
    addressed_body: Option<Uuid>,
    #[serde(default)]
    cited_demands: Vec<Uuid>,
    #[serde(default)]
    cited_bodies: Vec<Uuid>,
    content: VoiceContentInput,
}

fn invalid_token() -> AppError {
    AppError::new(StatusCode::FORBIDDEN, "invalid_token", "匿名凭证无效", "invalid token")
}

pub(crate) fn spent_token() -> AppError {
    AppError::new(StatusCode::CONFLICT, "conflict", "该凭证已经使用过", "this token has already been used")
}

/// The parts of a filing every kind shares, checked (422 naming fields).
async fn filing_parts(
    state: &AppState,
    input: &VoiceFilingInput,
) -> ApiResult<(UnitCode, Option<Uuid>, Content)> {
    let scope = parse_code("scope", &input.scope)?;
    let c = &input.content;
    let content = Content::new(&c.demanded, &c.by_whom, &c.cost, &c.fix).map_err(|e| {
        AppError::invalid(
            e.0.into_iter().map(|f| FieldError { field: format!("content.{}", f.field), ..f }).collect(),
        )
    })?;
    if let Some(b) = input.addressed_body
        && state.store.body(b).await?.is_none()
    {
        return Err(AppError::field("addressed_body", "没有这个部门", "no such body"));
    }
    Ok((scope, input.addressed_body, content))
}

/// Stores the filing's log entry and opening, appends it to the log, and answers the
/// submitter with the receipt secret (shown once) and the log proof.
async fn finish_filing(state: &AppState, report: &Report, secret: &ReceiptSecret) -> ApiResult<Response> {
    let (entry, opening) = LogEntry::filing(report, &mut rand::rng());
    let bytes = entry.encode();
    let (log_index, proof) =
        record_event(state, report, 0, opening.0, bytes.clone(), report.content_bytes()).await?;
    Ok(no_store(
        StatusCode::CREATED,
        json!({
            "receipt_secret": secret.display(),
            "report_ref": entry.report.to_hex(),
            "log_entry": String::from_utf8_lossy(&bytes),
            "log_index": log_index,
            "proof": proof,
        }),
    ))
}

/// Keeps an event's entry, opening and committed content, appends the entry to the log when one is
/// configured, and returns its index and `tlog-proof` text (when the log has a
/// checkpoint covering it within a few seconds).
async fn record_event(
    state: &AppState,
    report: &Report,
    seq: u32,
    opening: [u8; 32],
    entry: Vec<u8>,
    content: Vec<u8>,
) -> ApiResult<(Option<u64>, Option<String>)> {
    let voice = state.store.voice();
    voice
        .voice_event_put(
            &report.scope,
            &VoiceEvent { report: report.id, seq, opening, entry: entry.clone(), content, log_index: None },
        )
        .await?;
    let Some(log) = &state.log else {
        return Ok((None, None));
    };
    let index = log.append(entry).await.map_err(|e| internal("log append", &e.to_string()))?;
    voice.voice_event_logged(&report.scope, report.id, seq, index).await?;
    let proof = match tokio::time::timeout(Duration::from_secs(5), log.covering(index)).await {
        Ok(Ok(_)) => log.receipt(index).await.ok().map(|r| r.to_text()),
        _ => None,
    };
    Ok((Some(index), proof))
}

/// Checks an anonymous Privacy Pass token (base64) issued for `scope` and `period` at
/// `now`; returns it and its bytes. Every failure is the same 403 answer. Used by the
/// anonymous filing and the directives' anonymous rating (which spend its nonce in the
/// same spent-nonce table).
pub(crate) async fn verify_token(
    state: &AppState,
    scope: &UnitCode,
    period: Option<&str>,
    token_b64: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<(Token, Vec<u8>)> {
    let token_bytes = token_b64.and_then(decode_b64).ok_or_else(invalid_token)?;
    let token = Token::decode(&token_bytes).map_err(|_| invalid_token())?;
    let period = period.ok_or_else(invalid_token)?;
    let key_scope = KeyScope::new(scope.as_str(), period).map_err(|_| invalid_token())?;
    let key = state
        .store
        .voice()
        .voice_keys(Some(scope), Some(period))
        .await?
        .into_iter()
        .next()
        .filter(|k| k.not_before <= now && now < k.not_after)
        .ok_or_else(invalid_token)?;
    let public = IssuerPublicKey::from_spki(&key.spki).map_err(|_| invalid_token())?;
    let challenge = challenge(&server_name(state), &key_scope).map_err(|_| invalid_token())?;
    tongxin_tokens::verify(&public, &token, &challenge.digest()).map_err(|_| invalid_token())?;
    Ok((token, token_bytes))
}

/// `POST /voice/reports`: anonymous filing. Takes the JSON body and nothing else: no
/// cookie, no header, no address.
#[utoipa::path(post, path = "/voice/reports", tag = "voice", description = "Anonymous filing with a token; no session, cookie or header is read.", request_body = VoiceFilingInput, responses((status = 201, body = Value, description = "receipt_secret (shown once), report_ref, log_entry, log_index, proof"), (status = 403, body = ErrorBody, description = "invalid token (one generic answer)"), (status = 409, body = ErrorBody, description = "token already spent"), (status = 422, body = ErrorBody, description = "bad fields")))]
async fn file_anonymous(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VoiceFilingInput>,
) -> ApiResult<Response> {
    let (scope, addressed, content) = filing_parts(&state, &input).await?;
    let now = Utc::now();
    let (token, token_bytes) =
        verify_token(&state, &scope, input.period.as_deref(), input.token.as_deref(), now).await?;

    let secret = ReceiptSecret::generate(&mut rand::rng());
    let report = Report::new(
        scope,
        addressed,
        input.cited_demands,
        input.cited_bodies,
        content,
        Identity::Anonymous { token: token_bytes },
        secret.hash(),
        now,
    )?;
    match state.store.voice().voice_file(&report, Some(*token.nonce())).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(spent_token()),
        Err(e) => return Err(e.into()),
    }
    finish_filing(&state, &report, &secret).await
}

/// `POST /api/voice/reports`: filing by name, by the cadre's choice.
#[utoipa::path(post, path = "/api/voice/reports", tag = "voice", description = "Filing by name, by a signed-in cadre.", request_body = VoiceFilingInput, responses((status = 201, body = Value, description = "receipt_secret (shown once), report_ref, log_entry, log_index, proof"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not a cadre"), (status = 422, body = ErrorBody, description = "bad fields, or a token sent"), (status = 429, body = ErrorBody, description = "the month's named reports are used up (as many as the token allowance)")))]
async fn file_named(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<VoiceFilingInput>,
) -> ApiResult<Response> {
    if user.role != Role::Cadre {
        return Err(AppError::forbidden());
    }
    if input.token.is_some() || input.period.is_some() {
        return Err(AppError::field(
            "token",
            "实名报告不使用匿名凭证；匿名报告请提交到 /voice/reports",
            "a named report spends no token; file anonymous reports at /voice/reports",
        ));
    }
    let (scope, addressed, content) = filing_parts(&state, &input).await?;
    if !scope.contains(&user.scope) {
        return Err(AppError::field(
            "scope",
            "所选范围须包含本人所在单位",
            "the scope must contain your own unit",
        ));
    }
    check_named_budget(&state, &user).await?;
    let secret = ReceiptSecret::generate(&mut rand::rng());
    let report = Report::new(
        scope,
        addressed,
        input.cited_demands,
        input.cited_bodies,
        content,
        Identity::Named { user: user.id },
        secret.hash(),
        Utc::now(),
    )?;
    state.store.voice().voice_file(&report, None).await?;
    finish_filing(&state, &report, &secret).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceTokenCheckInput {
    /// The scope the report was filed in.
    scope: String,
    /// The token, base64, as the inbox and the receipt show it.
    token: String,
}

/// Anyone may check an anonymous report's token: that it is a token of the scope's issuer
/// key for some period, that key being the one published in the log (its index is
/// returned). Tokens are blind-signed, so a valid token shows that a cadre of the scope
/// filed, never which one.
#[utoipa::path(post, path = "/voice/tokens/check", tag = "voice", description = "Public check of an anonymous report's token; no session is read.", request_body = VoiceTokenCheckInput, responses((status = 200, body = Value, description = "valid (bool); when valid: scope, period, token_key_id, key_log_index"), (status = 422, body = ErrorBody, description = "bad scope, or not a token (base64 of a Privacy Pass token)")))]
async fn check_token(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VoiceTokenCheckInput>,
) -> ApiResult<Json<Value>> {
    let scope = parse_code("scope", &input.scope)?;
    let bytes = decode_b64(&input.token)
        .ok_or_else(|| AppError::field("token", "不是 base64 编码的凭证", "not a base64-encoded token"))?;
    let token = Token::decode(&bytes)
        .map_err(|_| AppError::field("token", "不是有效的凭证格式", "not a Privacy Pass token"))?;
    let keys = state.store.voice().voice_keys(Some(&scope), None).await?;
    let name = server_name(&state);
    for key in keys.iter().filter(|k| k.token_key_id == *token.token_key_id()) {
        let (Ok(public), Ok(key_scope)) =
            (IssuerPublicKey::from_spki(&key.spki), KeyScope::new(key.scope.as_str(), &key.period))
        else {
            continue;
        };
        let Ok(challenge) = challenge(&name, &key_scope) else { continue };
        if tongxin_tokens::verify(&public, &token, &challenge.digest()).is_ok() {
            return Ok(Json(json!({
                "valid": true,
                "scope": key.scope.as_str(),
                "period": key.period,
                "token_key_id": hex(&key.token_key_id),
                "key_log_index": key.log_index,
            })));
        }
    }
    Ok(Json(json!({ "valid": false })))
}

/// A cadre files at most [`ALLOWANCE`] named reports per month, the same budget the
/// token allowance sets for anonymous ones (429 beyond it).
async fn check_named_budget(state: &AppState, user: &User) -> ApiResult<()> {
    let now = Utc::now();
    let (first, next) = period_bounds(&period_of(now)).ok_or_else(AppError::internal)?;
    let filter = VoiceFilter {
        named_by: Some(user.id),
        submitted_from: Some(china_midnight(first)),
        submitted_before: Some(china_midnight(next)),
        limit: ALLOWANCE as u32 + 1,
        ..Default::default()
    };
    let filed = state.store.voice().voice_reports(&filter).await?.items.len();
    if filed >= ALLOWANCE {
        return Err(AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("每人每月最多提交 {ALLOWANCE} 份实名报告"),
            format!("at most {ALLOWANCE} named reports per person and month"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Transitions

/// Applies `event` now, stores the report (compare-and-set on its event count) and logs
/// the transition with a commitment to `text`.
pub(crate) async fn transition(
    state: &AppState,
    report: &Report,
    event: Event,
    text: &str,
) -> ApiResult<Report> {
    transition_at(state, report, event, text, Utc::now()).await
}

/// [`transition`] at a given time (the scheduler's sweep time).
pub(crate) async fn transition_at(
    state: &AppState,
    report: &Report,
    event: Event,
    text: &str,
    at: DateTime<Utc>,
) -> ApiResult<Report> {
    let expected = report.history.len() as u32;
    let mut next = report.clone();
    let t = apply(&mut next, event, at, &policy())
        .map_err(|e| AppError::new(StatusCode::CONFLICT, "conflict", e.zh(), e.en()))?;
    state.store.voice().voice_update(&next, expected).await?;
    let content = event_content(&event, text);
    let (entry, opening) = LogEntry::transition(next.id, &t, &content, &mut rand::rng());
    record_event(state, &next, t.seq, opening.0, entry.encode(), content).await?;
    Ok(next)
}

pub(crate) fn check_free_text(field: &str, text: &str) -> ApiResult<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > MAX_TEXT {
        return Err(AppError::field(
            field,
            format!("内容不能为空，且不超过 {MAX_TEXT} 个字"),
            format!("must be 1 to {MAX_TEXT} characters"),
        ));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(AppError::field(field, "不能含控制字符", "must not contain control characters"));
    }
    Ok(t.to_owned())
}

// ---------------------------------------------------------------------------------------
// The receipt holder

#[derive(Deserialize, ToSchema)]
struct VoiceReceiptInput {
    secret: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceReplyInput {
    secret: String,
    text: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceRateInput {
    secret: String,
    satisfaction: u8,
    resolved: bool,
}

fn no_receipt() -> AppError {
    AppError::not_found("没有与该回执码对应的报告", "no report for this receipt")
}

pub(crate) async fn by_secret(state: &AppState, secret: &str) -> ApiResult<Report> {
    let secret = ReceiptSecret::parse(secret).map_err(|_| no_receipt())?;
    let report = state.store.voice().voice_report_by_receipt(secret.hash().as_bytes()).await?;
    report.filter(|r| r.receipt.matches(&secret)).ok_or_else(no_receipt)
}

pub(crate) fn deadlines_json(report: &Report, now: DateTime<Utc>) -> Value {
    let d = deadlines(report, calendar(), limits());
    let one = |dl: tongxin_voice::Deadline, done: Option<DateTime<Utc>>| {
        json!({
            "due_date": dl.due_date,
            "late_from": dl.late_from,
            "working_days_left": dl.working_days_left(now, calendar()),
            "met": done.map(|t| dl.met_by(t)),
        })
    };
    json!({
        "acknowledge": one(d.acknowledge, report.acknowledged_at),
        "answer": one(d.answer, report.answered_at),
        "overdue": overdue(report, now, calendar(), limits()).map(|o| o.which),
    })
}

pub(crate) fn events_json(report: &Report) -> Value {
    report
        .history
        .iter()
        .map(|t| json!({"seq": t.seq, "event": t.event, "from": t.from, "to": t.to, "escalation": t.escalation, "at": t.at}))
        .collect()
}

/// One answer or message of a report, as the receipt holder and the body see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceMessage {
    /// The transition's sequence number (1, 2, …).
    pub seq: u32,
    /// `answer`, `message`, or `reopen` (a reopening with the submitter's reason).
    #[schema(value_type = String, example = "answer")]
    pub kind: tongxin_voice::EventKind,
    /// Who wrote it: `body` or `submitter`.
    #[schema(value_type = String, example = "body")]
    pub from: Party,
    /// The text, read back from the stored committed content; null for an event stored
    /// before contents were kept.
    pub text: Option<String>,
    /// The day it was written, China time.
    pub on: NaiveDate,
}

/// The answers and messages of a report in order, with their texts read back from the
/// stored committed contents: who wrote each (`body` or `submitter`) and on which day
/// (China date).
pub(crate) async fn messages(state: &AppState, report: &Report) -> ApiResult<Value> {
    let events = state.store.voice().voice_events(report.id).await?;
    let contents: HashMap<u32, &[u8]> = events.iter().map(|e| (e.seq, e.content.as_slice())).collect();
    Ok(report
        .history
        .iter()
        .filter_map(|t| {
            let from = match t.event {
                Event::Answer => Party::Body,
                Event::Message { from } => from,
                Event::Reopen => Party::Submitter,
                _ => return None,
            };
            let text = contents.get(&t.seq).and_then(|c| event_content_text(c));
            // A reopening shows only when the submitter gave a reason.
            if t.event == Event::Reopen && text.is_none_or(str::is_empty) {
                return None;
            }
            Some(VoiceMessage {
                seq: t.seq,
                kind: t.event.kind(),
                from,
                text: text.map(str::to_owned),
                on: china_date(t.at),
            })
        })
        .map(|m| serde_json::to_value(m).unwrap_or(Value::Null))
        .collect())
}

/// What the receipt holder sees, with the answers and replies (`messages`). The
/// submission time is shown as a date only.
pub(crate) async fn receipt_view(state: &AppState, report: &Report) -> ApiResult<Response> {
    let mut view = receipt_json(report);
    view["messages"] = messages(state, report).await?;
    Ok(no_store(StatusCode::OK, view))
}

/// An anonymous report's token (base64), which anyone can check at
/// `POST /voice/tokens/check`; `null` for a named report.
fn token_of(report: &Report) -> Value {
    match &report.identity {
        Identity::Anonymous { token } => json!(STANDARD.encode(token)),
        Identity::Named { .. } => Value::Null,
    }
}

pub(crate) fn receipt_json(report: &Report) -> Value {
    let now = Utc::now();
    json!({
        "token": token_of(report),
        "state": report.state,
        "state_zh": report.state.zh(),
        "escalation": report.escalation,
        "scope": report.scope.as_str(),
        "addressed_body": report.addressed,
        "submitted_on": china_date(report.submitted_at),
        "acknowledged_at": report.acknowledged_at,
        "answered_at": report.answered_at,
        "closed_at": report.closed_at,
        "rating": report.rating,
        "content": report.content,
        "deadlines": deadlines_json(report, now),
        "events": events_json(report),
    })
}

#[utoipa::path(post, path = "/voice/receipt", tag = "voice", request_body = VoiceReceiptInput, responses((status = 200, body = Value, description = "the receipt holder's view: state, scope, addressed_body, submitted_on, deadlines, rating, content, events, and messages (the answers and replies in order, see VoiceMessage)"), (status = 404, body = ErrorBody, description = "no report for this receipt (one generic answer)"), (status = 422, body = ErrorBody, description = "bad body")))]
async fn receipt(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VoiceReceiptInput>,
) -> ApiResult<Response> {
    let report = by_secret(&state, &input.secret).await?;
    receipt_view(&state, &report).await
}

#[utoipa::path(post, path = "/voice/receipt/reply", tag = "voice", request_body = VoiceReplyInput, responses((status = 200, body = Value, description = "the receipt holder's view: state, scope, addressed_body, submitted_on, deadlines, rating, content, events, and messages (the answers and replies in order, see VoiceMessage)"), (status = 404, body = ErrorBody, description = "no report for this receipt"), (status = 409, body = ErrorBody, description = "the report does not take a reply now"), (status = 422, body = ErrorBody, description = "bad text"), (status = 429, body = ErrorBody, description = "too many replies on this report")))]
async fn receipt_reply(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VoiceReplyInput>,
) -> ApiResult<Response> {
    let report = by_secret(&state, &input.secret).await?;
    let text = check_free_text("text", &input.text)?;
    crate::voice_loop::check_submitter_budget(&report)?;
    let report = transition(&state, &report, Event::Message { from: Party::Submitter }, &text).await?;
    receipt_view(&state, &report).await
}

#[utoipa::path(post, path = "/voice/receipt/rate", tag = "voice", request_body = VoiceRateInput, responses((status = 200, body = Value, description = "the receipt holder's view: state, scope, addressed_body, submitted_on, deadlines, rating, content, events, and messages (the answers and replies in order, see VoiceMessage)"), (status = 404, body = ErrorBody, description = "no report for this receipt"), (status = 409, body = ErrorBody, description = "the report cannot be rated now"), (status = 422, body = ErrorBody, description = "bad rating")))]
async fn receipt_rate(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<VoiceRateInput>,
) -> ApiResult<Response> {
    let report = by_secret(&state, &input.secret).await?;
    let rating = Rating::new(input.satisfaction, input.resolved)?;
    let report = transition(&state, &report, Event::Rate { rating }, "").await?;
    receipt_view(&state, &report).await
}

// ---------------------------------------------------------------------------------------
// Bodies and offices

/// The bodies whose reports `user` handles: their own body and, for a department, its
/// divisions.
pub(crate) async fn handled_bodies(state: &AppState, user: &User) -> ApiResult<Vec<Uuid>> {
    let Some(own) = user.body else { return Ok(Vec::new()) };
    let Some(body) = state.store.body(own).await? else { return Ok(Vec::new()) };
    let mut ids = vec![own];
    ids.extend(
        state
            .store
            .bodies(Some(&body.unit))
            .await?
            .into_iter()
            .filter(|b| b.parent == Some(own))
            .map(|b| b.id),
    );
    Ok(ids)
}

pub(crate) async fn all_pages(state: &AppState, mut filter: VoiceFilter) -> ApiResult<Vec<Report>> {
    let mut out = Vec::new();
    filter.limit = 500;
    loop {
        let page = state.store.voice().voice_reports(&filter).await?;
        out.extend(page.items);
        match page.next {
            Some(n) => filter.after = Some(n),
            None => return Ok(out),
        }
    }
}

/// The reports `user` handles: body staff, those addressed to their body or its divisions;
/// an office or admin, the unaddressed and the escalated ones within their scope (the
/// escalation list). A cadre has none (403).
pub(crate) async fn inbox_reports(state: &AppState, user: &User) -> ApiResult<Vec<Report>> {
    Ok(match user.role {
        Role::BodyStaff => {
            let bodies = handled_bodies(state, user).await?;
            if bodies.is_empty() {
                return Ok(Vec::new());
            }
            let mut out =
                all_pages(state, VoiceFilter { addressed: bodies.clone(), ..Default::default() }).await?;
            let org = crate::voice_loop::Org::load(state).await?;
            let seen: HashSet<Uuid> = out.iter().map(|r| r.id).collect();
            out.extend(
                crate::voice_loop::escalated_to(state, &bodies, &org)
                    .await?
                    .into_iter()
                    .filter(|r| !seen.contains(&r.id)),
            );
            out.sort_by_key(|r| (r.submitted_at, r.id));
            out
        }
        Role::Office | Role::Admin => {
            let scope = Some(user.scope.clone());
            let mut seen = HashSet::new();
            let mut out = Vec::new();
            for f in [
                VoiceFilter { unaddressed: true, scope: scope.clone(), ..Default::default() },
                VoiceFilter { escalated_only: true, scope, ..Default::default() },
            ] {
                for r in all_pages(state, f).await? {
                    if seen.insert(r.id) {
                        out.push(r);
                    }
                }
            }
            out.sort_by_key(|r| (r.submitted_at, r.id));
            out
        }
        Role::Cadre => return Err(AppError::forbidden()),
    })
}

#[utoipa::path(get, path = "/api/voice/inbox", tag = "voice", responses((status = 200, body = Value, description = "items: the reports the user handles, each with id, scope, addressed_body, anonymous, state, escalation, submitted_on, cited_demands, cited_bodies, content, deadlines, events, and messages (the answers and replies in order, see VoiceMessage)"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "a cadre has no inbox")))]
async fn inbox(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<Value>> {
    let reports = inbox_reports(&state, &user).await?;
    let now = Utc::now();
    let mut items = Vec::with_capacity(reports.len());
    for r in &reports {
        items.push(inbox_item(&state, r, now).await?);
    }
    Ok(Json(json!({ "items": items })))
}

/// One report as body staff and offices see it, with its answers and replies
/// (`messages`).
pub(crate) async fn inbox_item(state: &AppState, r: &Report, now: DateTime<Utc>) -> ApiResult<Value> {
    Ok(json!({
        "id": r.id,
        "scope": r.scope.as_str(),
        "addressed_body": r.addressed,
        "anonymous": r.identity.is_anonymous(),
        "token": token_of(r),
        "state": r.state,
        "state_zh": r.state.zh(),
        "escalation": r.escalation,
        "submitted_on": china_date(r.submitted_at),
        "cited_demands": r.cited_demands,
        "cited_bodies": r.cited_bodies,
        "content": r.content,
        "deadlines": deadlines_json(r, now),
        "events": events_json(r),
        "messages": messages(state, r).await?,
    }))
}

/// The report `id` if `user` is staff of its addressed body (or that body's parent
/// department); otherwise it does not exist for them (404). Anyone but body staff is
/// refused first (403), whatever the id: the answer says nothing about the report.
pub(crate) async fn report_for_body(state: &AppState, user: &User, id: &str) -> ApiResult<Report> {
    if user.role != Role::BodyStaff {
        return Err(AppError::forbidden());
    }
    let id = parse_uuid("id", id)?;
    let missing = || AppError::not_found("没有这份报告", "no such report");
    let report = state.store.voice().voice_report(id).await?.ok_or_else(missing)?;
    let handled = handled_bodies(state, user).await?;
    match report.addressed {
        Some(b) if handled.contains(&b) => Ok(report),
        _ => Err(missing()),
    }
}

#[utoipa::path(post, path = "/api/voice/reports/{id}/acknowledge", tag = "voice", params(("id" = Uuid, Path, description = "the report")), responses((status = 200, body = Value, description = "the report as an inbox item: id, scope, addressed_body, anonymous, state, escalation, submitted_on, cited_demands, cited_bodies, content, deadlines, events, and messages (the answers and replies in order, see VoiceMessage)"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not body staff"), (status = 404, body = ErrorBody, description = "no such report for this body"), (status = 409, body = ErrorBody, description = "cannot be acknowledged now")))]
async fn acknowledge(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let report = report_for_body(&state, &user, &id).await?;
    let report = transition(&state, &report, Event::Acknowledge, "").await?;
    Ok(Json(inbox_item(&state, &report, Utc::now()).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VoiceAnswerInput {
    text: String,
}

#[utoipa::path(post, path = "/api/voice/reports/{id}/answer", tag = "voice", params(("id" = Uuid, Path, description = "the report")), request_body = VoiceAnswerInput, responses((status = 200, body = Value, description = "the report as an inbox item: id, scope, addressed_body, anonymous, state, escalation, submitted_on, cited_demands, cited_bodies, content, deadlines, events, and messages (the answers and replies in order, see VoiceMessage)"), (status = 401, body = ErrorBody, description = "not signed in"), (status = 403, body = ErrorBody, description = "not body staff"), (status = 404, body = ErrorBody, description = "no such report for this body"), (status = 409, body = ErrorBody, description = "cannot be answered now"), (status = 422, body = ErrorBody, description = "bad text")))]
async fn answer(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<VoiceAnswerInput>,
) -> ApiResult<Json<Value>> {
    let report = report_for_body(&state, &user, &id).await?;
    let text = check_free_text("text", &input.text)?;
    let report = transition(&state, &report, Event::Answer, &text).await?;
    Ok(Json(inbox_item(&state, &report, Utc::now()).await?))
}

// ---------------------------------------------------------------------------------------
// Public response rates

fn figure<T: serde::Serialize>(f: Figure<T>) -> Value {
    match f {
        Figure::Value(v) => json!({"value": v, "suppressed": false}),
        Figure::Suppressed => json!({"value": null, "suppressed": true}),
    }
}

fn rates_json(r: BodyRates, names: &BTreeMap<Uuid, String>) -> Value {
    let (level, id, name) = match &r.key {
        tongxin_voice::RateKey::Body(b) => ("body", b.to_string(), names.get(b).cloned()),
        tongxin_voice::RateKey::Unit(u) => ("unit", u.as_str().to_owned(), None),
    };
    json!({
        "level": level,
        "id": id,
        "name": name,
        "received": figure(r.received),
        "acknowledged_on_time": figure(r.acknowledged_on_time),
        "answered_on_time": figure(r.answered_on_time),
        "resolved": figure(r.resolved),
        "mean_satisfaction": figure(r.mean_satisfaction),
        "median_working_days_to_answer": figure(r.median_working_days_to_answer),
    })
}

/// The public response figures of `year` per body and per unit (suppressed under [`K`]),
/// with the bodies' names.
pub(crate) async fn rate_figures(
    state: &AppState,
    year: i32,
    now: DateTime<Utc>,
) -> ApiResult<(Vec<BodyRates>, BTreeMap<Uuid, String>)> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1).map(china_midnight);
    let before = NaiveDate::from_ymd_opt(year + 1, 1, 1).map(china_midnight);
    let reports = all_pages(
        state,
        VoiceFilter { submitted_from: from, submitted_before: before, ..Default::default() },
    )
    .await?;
    let bodies = state.store.bodies(None).await?;
    let units: HashMap<Uuid, UnitCode> = bodies.iter().map(|b| (b.id, b.unit.clone())).collect();
    let names: BTreeMap<Uuid, String> = bodies.into_iter().map(|b| (b.id, b.name)).collect();
    let figures = tongxin_voice::response_rates(
        &reports,
        |b| units.get(&b).cloned(),
        Period::Year(year),
        now,
        calendar(),
        limits(),
        K,
    );
    Ok((figures, names))
}

#[utoipa::path(get, path = "/api/voice/rates", tag = "voice", params(("year" = Option<i32>, Query, description = "2000 to 2100; this year when absent")), responses((status = 200, body = Value, description = "year, k, and items: per body and per unit, received, acknowledged_on_time, answered_on_time, resolved, mean_satisfaction, median_working_days_to_answer, each a value or suppressed under k"), (status = 422, body = ErrorBody, description = "bad year")))]
async fn rates(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Json<Value>> {
    let now = Utc::now();
    let year = match q.get("year").map(|s| s.trim()) {
        None | Some("") => china_date(now).year(),
        Some(s) => s.parse::<i32>().ok().filter(|y| (2000..=2100).contains(y)).ok_or_else(|| {
            AppError::field("year", "年份须为 2000 到 2100 之间的整数", "year must be 2000 to 2100")
        })?,
    };
    let (figures, names) = rate_figures(&state, year, now).await?;
    let items: Vec<Value> = figures.into_iter().map(|r| rates_json(r, &names)).collect();
    Ok(Json(json!({ "year": year, "k": K, "items": items })))
}
