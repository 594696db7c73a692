//! The JSON API under `/api`, described by the OpenAPI 3.1 document at
//! `/api/openapi.json`. Every input is parsed here into domain values with errors that
//! name the parameter or field; no input makes a handler answer 500.

use std::collections::HashMap;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use tongxin_domain::{
    Body, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, FieldError, Invalid, Role, Unit, UnitCode,
    new_id,
};
use tongxin_store::{DemandFilter, DemandRevision};
use utoipa::OpenApi;
use uuid::Uuid;

use crate::AppState;
use crate::auth::ApiUser;
use crate::authz;
use crate::error::{ApiResult, AppError, ErrorBody};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/session", post(sign_in).delete(sign_out))
        .route("/api/units", get(list_units))
        .route("/api/units/search", get(search_units))
        .route("/api/units/{code}", get(get_unit))
        .route("/api/bodies", get(list_bodies))
        .route("/api/bodies/{id}", get(get_body))
        .route("/api/demands", get(list_demands).post(create_demand))
        .route("/api/demands/{id}", get(get_demand).put(update_demand))
        .route("/api/demands/{id}/cancel", post(cancel_demand))
        .route("/api/precheck", post(precheck))
        .route("/api/burden/recompute", post(recompute))
        .route("/api/demands/{id}/history", get(demand_history))
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tongxin API",
        description = "The burden ledger of tongxin (同心): units, bodies and the demands placed on grassroots units; and the safe voice (交底通道): anonymous and named reports, receipts, answers and replies, response rates."
    ),
    paths(
        openapi_json,
        sign_in,
        sign_out,
        list_units,
        search_units,
        get_unit,
        list_bodies,
        get_body,
        list_demands,
        create_demand,
        get_demand,
        update_demand,
        cancel_demand,
        demand_history,
        precheck,
        recompute,
        crate::voice::ensure_keys,
        crate::voice::get_keys,
        crate::voice::allowance,
        crate::voice::file_named,
        crate::voice::inbox,
        crate::voice::acknowledge,
        crate::voice::answer,
        crate::voice::rates,
        crate::voice::file_anonymous,
        crate::voice::receipt,
        crate::voice::receipt_reply,
        crate::voice::receipt_rate,
        crate::voice::check_token,
        crate::voice_loop::view,
        crate::voice_loop::route,
        crate::voice_loop::assign,
        crate::voice_loop::escalate,
        crate::voice_loop::message,
        crate::voice_loop::receipt_reopen,
        crate::voice_loop::sweep_now,
        crate::directives::check_only,
        crate::directives::create,
        crate::directives::list,
        crate::directives::get_one,
        crate::directives::update,
        crate::directives::set_status,
        crate::directives::open_consultation,
        crate::directives::rate_named,
        crate::directives::rate_anonymous,
        crate::directives::results,
        crate::directives::conclude
    ),
    components(schemas(
        ErrorBody,
        DemandInput,
        DemandUpdate,
        CancelInput,
        DemandList,
        UnitDetail,
        BodyDetail,
        SignIn,
        SignedIn,
        DemandRevision,
        PrecheckInput,
        PrecheckAnswer,
        PrecheckItem,
        Recomputed,
        crate::voice::VoiceMessage,
        crate::voice_loop::SweepSummary,
        crate::directives::DirectiveSource,
        crate::directives::DirectiveCreate,
        crate::directives::DirectiveUpdate,
        crate::directives::DirectiveStatusInput,
        crate::directives::DirectiveConsultationInput,
        crate::directives::DirectiveConcludeInput,
        crate::directives::DirectiveRatingItem,
        crate::directives::DirectiveRatingInput
    ))
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/openapi.json", responses((status = 200, description = "this document (OpenAPI 3.1)", content_type = "application/json")))]
async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], ApiDoc::openapi().to_pretty_json().unwrap_or_default())
        .into_response()
}

pub fn not_found() -> AppError {
    AppError::not_found("没有这个接口", "no such endpoint")
}

/// A JSON request body whose rejections are our JSON errors naming what was wrong:
/// 415 without a JSON content type, 400 for malformed JSON (with line and column),
/// 422 for well-formed JSON of the wrong shape (with the path of the field, e.g.
/// `targets[1]` or `cost.cadre_hours`).
pub struct ApiJson<T>(pub T);

fn is_json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers()) {
            return Err(AppError::for_status(StatusCode::UNSUPPORTED_MEDIA_TYPE, false, ""));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|r| AppError::for_status(r.status(), false, &r.body_text()))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            json_error(&path, e.into_inner())
        })?;
        de.end().map_err(|e| json_error(".", e))?;
        Ok(ApiJson(value))
    }
}

fn json_error(path: &str, inner: serde_json::Error) -> AppError {
    match inner.classify() {
        serde_json::error::Category::Data => {
            // A missing field is reported at the enclosing object; name the field itself.
            let text = inner.to_string();
            let named = text.split('`').nth(1).filter(|_| text.contains(" field `"));
            let field = match (path, named) {
                (".", Some(f)) => f.to_owned(),
                (".", None) => "body".to_owned(),
                (p, Some(f)) if text.starts_with("missing field") => format!("{p}.{f}"),
                (p, _) => p.to_owned(),
            };
            AppError::field(&field, format!("字段 {field} 有误：{text}"), format!("{field}: {text}"))
        }
        _ => AppError::bad_request(
            format!("请求内容不是有效的 JSON（第 {} 行第 {} 列）：{inner}", inner.line(), inner.column()),
            format!("the request body is not valid JSON: {inner}"),
        ),
    }
}

/// Refuses control characters (NUL among them: PostgreSQL cannot store it) in free text.
pub fn check_text(field: &str, s: &str) -> Result<(), FieldError> {
    if tongxin_domain::demand::has_control(s) {
        Err(FieldError::new(field, "不能含控制字符", "must not contain control characters"))
    } else {
        Ok(())
    }
}

/// The years a ledger entry or a filter may name; outside them a date is a typo (and some
/// would not fit a database timestamp).
pub const YEARS: std::ops::RangeInclusive<i32> =
    tongxin_domain::demand::MIN_YEAR..=tongxin_domain::demand::MAX_YEAR;

pub fn check_year(field: &str, t: &NaiveDateTime) -> Result<(), FieldError> {
    use chrono::Datelike;
    if YEARS.contains(&t.year()) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("年份须在 {} 到 {} 之间", YEARS.start(), YEARS.end()),
            format!("the year must be from {} to {}", YEARS.start(), YEARS.end()),
        ))
    }
}

/// Checks a demand before it reaches the store; the domain names every problem.
pub fn validate_demand(d: &Demand) -> Result<(), Invalid> {
    d.validate()
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(q: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    q.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

pub fn parse_code(field: &str, s: &str) -> ApiResult<UnitCode> {
    UnitCode::parse(s).map_err(|e| {
        AppError::invalid(e.0.into_iter().map(|f| FieldError { field: field.to_owned(), ..f }).collect())
    })
}

pub fn parse_uuid(field: &str, s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s.trim()).map_err(|_| {
        AppError::field(
            field,
            format!("“{s}”不是有效的编号（UUID）"),
            format!("'{s}' is not a valid id (UUID)"),
        )
    })
}

/// Accepts `2026-03-01T09:00`, `2026-03-01 09:00[:00]` and a bare date (midnight).
pub fn parse_time(field: &str, s: &str) -> ApiResult<NaiveDateTime> {
    let s = s.trim();
    let parsed = ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0))
        });
    if let Some(t) = parsed {
        return check_year(field, &t).map(|()| t).map_err(|e| AppError::invalid(vec![e]));
    }
    Err(AppError::field(
        field,
        format!("时间“{s}”格式应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM"),
        format!("time '{s}' must be YYYY-MM-DD or YYYY-MM-DDTHH:MM"),
    ))
}

fn parse_u32(field: &str, s: &str) -> ApiResult<u32> {
    s.trim().parse().map_err(|_| {
        AppError::field(field, format!("“{s}”不是非负整数"), format!("'{s}' is not a non-negative integer"))
    })
}

/// A keyset cursor: `<starts_at>~<id>`.
pub fn encode_cursor(c: (NaiveDateTime, Uuid)) -> String {
    format!("{}~{}", c.0.format("%Y-%m-%dT%H:%M:%S%.f"), c.1)
}

fn decode_cursor(s: &str) -> ApiResult<(NaiveDateTime, Uuid)> {
    let bad = || AppError::field("after", "分页游标无效", "invalid page cursor");
    let (t, id) = s.split_once('~').ok_or_else(bad)?;
    let t = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?;
    check_year("after", &t).map_err(|_| bad())?;
    Ok((t, Uuid::parse_str(id).map_err(|_| bad())?))
}

// ----- session -----

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SignIn {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SignedIn {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub scope: UnitCode,
}

/// Checks a username and password; the same answer for an unknown user and a wrong
/// password, so the endpoint does not reveal which accounts exist.
pub async fn authenticate(
    state: &AppState,
    username: &str,
    password: &str,
) -> ApiResult<tongxin_domain::User> {
    let username = username.trim();
    // A name with control characters names nobody (and PostgreSQL cannot compare NUL).
    let user = if check_text("username", username).is_ok() && username.len() <= 256 {
        state.store.user_by_name(username).await?
    } else {
        None
    };
    let hash = user.as_ref().map(|u| u.password_hash.as_str()).unwrap_or(DUMMY_HASH);
    let ok = tongxin_domain::account::verify_password(password, hash);
    match user {
        Some(u) if ok => Ok(u),
        _ => Err(AppError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "用户名或密码错误",
            "wrong username or password",
        )),
    }
}

/// Verified against when the user does not exist, so both paths take the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$dG9uZ3hpbmR1bW15$2ZkD8VWGOqfDwqmjMZqoS5tdYh7qy3eCVLgmFSu9iAM";

#[utoipa::path(post, path = "/api/session", request_body = SignIn, responses((status = 200, body = SignedIn), (status = 401, body = ErrorBody)))]
async fn sign_in(State(state): State<AppState>, ApiJson(input): ApiJson<SignIn>) -> ApiResult<Response> {
    let user = authenticate(&state, &input.username, &input.password).await?;
    let cookie = crate::auth::start_session(&state, &user).await?;
    let body = SignedIn {
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        scope: user.scope,
    };
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

#[utoipa::path(delete, path = "/api/session", responses((status = 204)))]
async fn sign_out(State(state): State<AppState>, headers: axum::http::HeaderMap) -> ApiResult<Response> {
    if let Some(token) = crate::auth::cookie(&headers, crate::auth::SESSION_COOKIE) {
        state.store.delete_session(&crate::auth::hash_token(&token)).await?;
    }
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, crate::auth::clear_cookie())]).into_response())
}

// ----- units and bodies -----

#[utoipa::path(get, path = "/api/units", params(("parent" = Option<String>, Query, description = "parent unit code; provinces when absent")), responses((status = 200, body = Vec<Unit>), (status = 422, body = ErrorBody)))]
async fn list_units(
    State(state): State<AppState>,
    _: ApiUser,
    Query(q): Params,
) -> ApiResult<Json<Vec<Unit>>> {
    let parent = param(&q, "parent").map(|p| parse_code("parent", p)).transpose()?;
    Ok(Json(state.store.children(parent.as_ref()).await?))
}

#[utoipa::path(get, path = "/api/units/search", params(("q" = String, Query, description = "part of a name, or the start of a code"), ("limit" = Option<u32>, Query)), responses((status = 200, body = Vec<Unit>)))]
async fn search_units(
    State(state): State<AppState>,
    _: ApiUser,
    Query(q): Params,
) -> ApiResult<Json<Vec<Unit>>> {
    let query =
        param(&q, "q").ok_or_else(|| AppError::field("q", "请输入要查找的名称或代码", "q is required"))?;
    check_text("q", query).map_err(|e| AppError::invalid(vec![e]))?;
    if query.chars().count() > 50 {
        return Err(AppError::field("q", "查询词不能超过 50 个字", "q must be at most 50 characters"));
    }
    let limit = param(&q, "limit").map(|l| parse_u32("limit", l)).transpose()?.unwrap_or(20).clamp(1, 100);
    Ok(Json(state.store.search_units(query, limit).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UnitDetail {
    pub unit: Unit,
    /// The ancestors, province first.
    pub ancestors: Vec<Unit>,
    pub children: Vec<Unit>,
}

pub async fn unit_detail(state: &AppState, code: &UnitCode) -> ApiResult<UnitDetail> {
    let unit = state.store.unit(code).await?.ok_or_else(|| {
        AppError::not_found(format!("单位 {code} 不存在"), format!("unit {code} does not exist"))
    })?;
    let mut ancestors = Vec::new();
    for a in code.lineage().iter().filter(|a| *a != code) {
        if let Some(u) = state.store.unit(a).await? {
            ancestors.push(u);
        }
    }
    let children = state.store.children(Some(code)).await?;
    Ok(UnitDetail { unit, ancestors, children })
}

#[utoipa::path(get, path = "/api/units/{code}", params(("code" = String, Path)), responses((status = 200, body = UnitDetail), (status = 404, body = ErrorBody)))]
async fn get_unit(
    State(state): State<AppState>,
    _: ApiUser,
    Path(code): Path<String>,
) -> ApiResult<Json<UnitDetail>> {
    let code = parse_code("code", &code)?;
    Ok(Json(unit_detail(&state, &code).await?))
}

#[utoipa::path(get, path = "/api/bodies", params(("unit" = Option<String>, Query, description = "bodies at this unit and below")), responses((status = 200, body = Vec<Body>)))]
async fn list_bodies(
    State(state): State<AppState>,
    _: ApiUser,
    Query(q): Params,
) -> ApiResult<Json<Vec<Body>>> {
    let unit = param(&q, "unit").map(|u| parse_code("unit", u)).transpose()?;
    if unit.is_none() {
        return Err(AppError::field("unit", "请指定单位", "unit is required"));
    }
    Ok(Json(state.store.bodies(unit.as_ref()).await?))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BodyDetail {
    pub body: Body,
    pub department: Option<Body>,
    pub divisions: Vec<Body>,
}

#[utoipa::path(get, path = "/api/bodies/{id}", params(("id" = String, Path)), responses((status = 200, body = BodyDetail), (status = 404, body = ErrorBody)))]
async fn get_body(
    State(state): State<AppState>,
    _: ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<BodyDetail>> {
    let id = parse_uuid("id", &id)?;
    let body =
        state.store.body(id).await?.ok_or_else(|| AppError::not_found("部门不存在", "no such body"))?;
    let department = match body.parent {
        Some(p) => state.store.body(p).await?,
        None => None,
    };
    let divisions = state.store.divisions(id).await?;
    Ok(Json(BodyDetail { body, department, divisions }))
}

// ----- demands -----

/// A demand as entered by a person or a client.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DemandInput {
    pub kind: DemandKind,
    pub source_body: Uuid,
    pub title: String,
    #[serde(default)]
    pub topic: String,
    pub targets: Vec<UnitCode>,
    /// Local time (China), e.g. `2026-03-02T09:00:00`.
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    #[serde(default)]
    pub status: Option<DemandStatus>,
    /// `reported` for a demand recorded by a receiving unit; cadres may only report.
    #[serde(default)]
    pub origin: Option<DemandOrigin>,
    #[serde(default)]
    pub cost: Cost,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DemandUpdate {
    /// The revision the change is based on (optimistic concurrency).
    pub revision: u32,
    #[serde(flatten)]
    pub demand: DemandInput,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CancelInput {
    pub revision: u32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DemandList {
    pub items: Vec<Demand>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

impl DemandInput {
    pub fn into_demand(self, id: Uuid, user: &tongxin_domain::User) -> Demand {
        // Cadres record what arrived; everyone else registers, unless they say otherwise
        // (and `authz::check_register` decides whether they may).
        let origin = self.origin.unwrap_or(match user.role {
            Role::Cadre => DemandOrigin::Reported,
            _ => DemandOrigin::Registered,
        });
        Demand {
            id,
            kind: self.kind,
            source_body: self.source_body,
            source_department: self.source_body,
            title: self.title.trim().to_owned(),
            topic: self.topic.trim().to_owned(),
            targets: self.targets,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            status: self.status.unwrap_or(DemandStatus::Planned),
            origin,
            cost: self.cost,
            revision: 1,
        }
    }
}

/// Registers a demand for `user` after validation and the role/scope check.
pub async fn register(
    state: &AppState,
    user: &tongxin_domain::User,
    input: DemandInput,
) -> ApiResult<Demand> {
    let demand = input.into_demand(new_id(), user);
    validate_demand(&demand)?;
    let source = state
        .store
        .body(demand.source_body)
        .await?
        .ok_or_else(|| AppError::field("source_body", "来源部门不存在", "unknown source body"))?;
    authz::check_register(user, &demand, &source)?;
    let stored = state.store.create_demand(demand, &user.username).await?;
    state.burden.demand_written(&stored);
    Ok(stored)
}

pub async fn visible_demand(state: &AppState, user: &tongxin_domain::User, id: Uuid) -> ApiResult<Demand> {
    let demand = state.store.demand(id).await?;
    match demand {
        // Not visible and not existing look the same from outside.
        Some(d) if authz::can_see_demand(user, &d) => Ok(d),
        _ => Err(AppError::not_found("事项不存在", "no such demand")),
    }
}

/// Parses the optional parameter `name`; a bad value adds its field errors to `errors`.
fn optional<T>(
    q: &HashMap<String, String>,
    name: &str,
    errors: &mut Vec<FieldError>,
    parse: impl FnOnce(&str) -> ApiResult<T>,
) -> Option<T> {
    match parse(param(q, name)?) {
        Ok(v) => Some(v),
        Err(e) => {
            errors.extend(e.body.fields.into_iter().map(|f| FieldError::new(f.field, f.zh, f.en)));
            None
        }
    }
}

/// Builds a store filter from query parameters, limited to what `user` may list.
pub fn demand_filter(q: &HashMap<String, String>, user: &tongxin_domain::User) -> ApiResult<DemandFilter> {
    let mut errors: Vec<FieldError> = Vec::new();
    let e = &mut errors;
    let mut f = DemandFilter {
        unit: optional(q, "unit", e, |u| parse_code("unit", u)),
        body: optional(q, "body", e, |b| parse_uuid("body", b)),
        kind: optional(q, "kind", e, |k| {
            DemandKind::parse(k).ok_or_else(|| {
                AppError::field("kind", format!("未知的事项类型“{k}”"), format!("unknown kind '{k}'"))
            })
        }),
        status: optional(q, "status", e, |s| {
            DemandStatus::parse(s).ok_or_else(|| {
                AppError::field("status", format!("未知的状态“{s}”"), format!("unknown status '{s}'"))
            })
        }),
        from: optional(q, "from", e, |t| parse_time("from", t)),
        to: optional(q, "to", e, |t| parse_time("to", t)),
        after: optional(q, "after", e, decode_cursor),
        limit: optional(q, "limit", e, |l| {
            parse_u32("limit", l).and_then(|n| {
                if (1..=1000).contains(&n) {
                    Ok(n)
                } else {
                    Err(AppError::field("limit", "每页条数须为 1–1000", "limit must be 1 to 1000"))
                }
            })
        })
        .unwrap_or(0),
        ..DemandFilter::default()
    };
    f.include_cascade = matches!(param(q, "cascade"), Some("1" | "true"));
    Invalid::check(errors)?;
    // Without a unit, list the user's own scope; a body's staff may list their body's.
    match &f.unit {
        Some(u) if !authz::can_list_unit(user, u) => return Err(AppError::forbidden()),
        Some(_) => {}
        None if f.body.is_some() && f.body == user.body => {}
        None => f.unit = Some(user.scope.clone()),
    }
    Ok(f)
}

#[utoipa::path(get, path = "/api/demands", params(
    ("unit" = Option<String>, Query, description = "demands with a target at this unit or below (default: your scope)"),
    ("cascade" = Option<bool>, Query, description = "also meetings at ancestors that require this unit's level to attend"),
    ("body" = Option<String>, Query, description = "from this body, or from a department and its divisions"),
    ("kind" = Option<String>, Query), ("status" = Option<String>, Query),
    ("from" = Option<String>, Query, description = "ending at or after"), ("to" = Option<String>, Query, description = "starting before"),
    ("after" = Option<String>, Query, description = "cursor from the previous page"), ("limit" = Option<u32>, Query)),
    responses((status = 200, body = DemandList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list_demands(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(q): Params,
) -> ApiResult<Json<DemandList>> {
    let filter = demand_filter(&q, &user)?;
    let page = state.store.demands(&filter).await?;
    let items = page.items.into_iter().filter(|d| authz::can_see_demand(&user, d)).collect();
    Ok(Json(DemandList { items, next: page.next.map(encode_cursor) }))
}

#[utoipa::path(post, path = "/api/demands", request_body = DemandInput, responses((status = 201, body = Demand), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_demand(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<DemandInput>,
) -> ApiResult<(StatusCode, Json<Demand>)> {
    Ok((StatusCode::CREATED, Json(register(&state, &user, input).await?)))
}

#[utoipa::path(get, path = "/api/demands/{id}", params(("id" = String, Path)), responses((status = 200, body = Demand), (status = 404, body = ErrorBody)))]
async fn get_demand(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Demand>> {
    let id = parse_uuid("id", &id)?;
    Ok(Json(visible_demand(&state, &user, id).await?))
}

#[utoipa::path(put, path = "/api/demands/{id}", params(("id" = String, Path)), request_body = DemandUpdate, responses((status = 200, body = Demand), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_demand(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DemandUpdate>,
) -> ApiResult<Json<Demand>> {
    let id = parse_uuid("id", &id)?;
    let old = visible_demand(&state, &user, id).await?;
    authz::check_change(&user, &old)?;
    let mut demand = input.demand.into_demand(id, &user);
    demand.origin = old.origin;
    validate_demand(&demand)?;
    let source = state
        .store
        .body(demand.source_body)
        .await?
        .ok_or_else(|| AppError::field("source_body", "来源部门不存在", "unknown source body"))?;
    if user.role != Role::Cadre {
        authz::check_register(&user, &demand, &source)?;
    }
    let stored = state.store.update_demand(demand, input.revision, &user.username).await?;
    state.burden.demand_written(&stored);
    Ok(Json(stored))
}

/// Cancels a demand: it stays in the ledger with status `cancelled` and its history.
pub async fn cancel(
    state: &AppState,
    user: &tongxin_domain::User,
    id: Uuid,
    revision: u32,
) -> ApiResult<Demand> {
    let mut demand = visible_demand(state, user, id).await?;
    authz::check_change(user, &demand)?;
    if demand.status == DemandStatus::Cancelled {
        return Err(AppError::new(
            StatusCode::CONFLICT,
            "conflict",
            "该事项已取消",
            "the demand is already cancelled",
        ));
    }
    demand.status = DemandStatus::Cancelled;
    let stored = state.store.update_demand(demand, revision, &user.username).await?;
    state.burden.demand_written(&stored);
    Ok(stored)
}

#[utoipa::path(post, path = "/api/demands/{id}/cancel", params(("id" = String, Path)), request_body = CancelInput, responses((status = 200, body = Demand), (status = 409, body = ErrorBody)))]
async fn cancel_demand(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<CancelInput>,
) -> ApiResult<Json<Demand>> {
    let id = parse_uuid("id", &id)?;
    Ok(Json(cancel(&state, &user, id, input.revision).await?))
}

#[utoipa::path(get, path = "/api/demands/{id}/history", params(("id" = String, Path)), responses((status = 200, body = Vec<DemandRevision>), (status = 404, body = ErrorBody)))]
async fn demand_history(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<DemandRevision>>> {
    let id = parse_uuid("id", &id)?;
    visible_demand(&state, &user, id).await?;
    let mut history = state.store.demand_history(id).await?;
    authz::redact_history(&user, &mut history);
    Ok(Json(history))
}

// ----- pre-check -----

/// Planned demands to check before they are registered.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PrecheckInput {
    /// 1 to 1,000 planned demands, as for `POST /api/demands`.
    pub demands: Vec<DemandInput>,
}

/// The answer for one planned demand: its field errors, or what it would break.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrecheckItem {
    pub index: usize,
    /// Problems with the planned demand itself, each naming its field as
    /// `demands[i].field`; empty when it could be checked.
    pub errors: Vec<FieldError>,
    /// Findings (rule, severity, demands, units, evidence), merge candidates and the
    /// burden added to each target unit.
    #[schema(value_type = Object)]
    pub report: Option<tongxin_burden::Precheck>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PrecheckAnswer {
    pub items: Vec<PrecheckItem>,
}

/// The most planned demands one pre-check takes.
pub const PRECHECK_MAX: usize = 1_000;

/// Pre-checks planned demands for `user`: each must pass the same validation and the same
/// role and scope check as registering it, and is then checked against the ledger without
/// being written.
pub async fn precheck_demands(
    state: &AppState,
    user: &tongxin_domain::User,
    inputs: Vec<DemandInput>,
) -> ApiResult<Vec<PrecheckItem>> {
    if inputs.is_empty() || inputs.len() > PRECHECK_MAX {
        return Err(AppError::field(
            "demands",
            format!("须为 1–{PRECHECK_MAX} 项计划事项"),
            format!("give 1 to {PRECHECK_MAX} planned demands"),
        ));
    }
    let mut planned: Vec<(Demand, Vec<FieldError>)> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let demand = input.into_demand(new_id(), user);
        let mut errors = match demand.validate() {
            Ok(()) => Vec::new(),
            Err(Invalid(e)) => e,
        };
        if errors.is_empty() {
            match state.store.body(demand.source_body).await? {
                None => errors.push(FieldError::new("source_body", "来源部门不存在", "unknown source body")),
                Some(source) => {
                    if let Err(e) = authz::check_register(user, &demand, &source) {
                        errors.push(FieldError::new("targets", e.body.message_zh, e.body.message_en));
                    }
                }
            }
        }
        for e in &mut errors {
            e.field = format!("demands[{i}].{}", e.field);
        }
        planned.push((demand, errors));
    }
    let engine = state.burden.engine(&*state.store).await?;
    Ok(planned
        .into_iter()
        .enumerate()
        .map(|(index, (demand, mut errors))| {
            let report = if errors.is_empty() {
                match engine.precheck(&demand) {
                    Ok(r) => Some(r),
                    Err(tongxin_burden::Unknown::Unit(code)) => {
                        errors.push(FieldError::new(
                            format!("demands[{index}].targets"),
                            format!("对象单位 {code} 不存在"),
                            format!("unknown target unit {code}"),
                        ));
                        None
                    }
                    Err(tongxin_burden::Unknown::Body(_)) => {
                        errors.push(FieldError::new(
                            format!("demands[{index}].source_body"),
                            "来源部门不存在",
                            "unknown source body",
                        ));
                        None
                    }
                }
            } else {
                None
            };
            PrecheckItem { index, errors, report }
        })
        .collect())
}

#[utoipa::path(post, path = "/api/precheck", request_body = PrecheckInput, responses((status = 200, body = PrecheckAnswer), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn precheck(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    ApiJson(input): ApiJson<PrecheckInput>,
) -> ApiResult<Json<PrecheckAnswer>> {
    Ok(Json(PrecheckAnswer { items: precheck_demands(&state, &user, input.demands).await? }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recomputed {
    /// Live demands the engine now holds.
    pub demands: usize,
}

#[utoipa::path(post, path = "/api/burden/recompute", responses((status = 200, body = Recomputed), (status = 403, body = ErrorBody)))]
async fn recompute(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult<Json<Recomputed>> {
    if !matches!(user.role, Role::Office | Role::Admin) {
        return Err(AppError::forbidden());
    }
    Ok(Json(Recomputed { demands: state.burden.recompute(&*state.store).await? }))
}
