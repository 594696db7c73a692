//! One error type for the HTTP surface: each failure maps to a status, a stable
//! machine-readable code and a message in Chinese and English.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tongxin_domain::{FieldError, Invalid};
use tongxin_store::StoreError;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable code: `invalid`, `bad_request`, `unauthenticated`, `forbidden`,
    /// `cross_site`, `not_found`, `method_not_allowed`, `conflict`, `payload_too_large`,
    /// `unsupported_media_type`, `timeout`, `rate_limited`, `internal`.
    pub code: &'static str,
    pub message_zh: String,
    pub message_en: String,
    /// Per-field problems, for `invalid`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub zh: String,
    pub en: String,
}

#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError {
            status,
            body: ErrorBody { code, message_zh: zh.into(), message_en: en.into(), fields: Vec::new() },
        }
    }

    pub fn bad_request(zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", zh, en)
    }

    pub fn not_found(zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::new(StatusCode::NOT_FOUND, "not_found", zh, en)
    }

    pub fn forbidden() -> Self {
        AppError::new(StatusCode::FORBIDDEN, "forbidden", "无权进行此操作", "you are not allowed to do this")
    }

    pub fn unauthenticated() -> Self {
        AppError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "请先登录", "please sign in first")
    }

    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let mut e = AppError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "输入有误", "invalid input");
        e.body.fields =
            errors.into_iter().map(|f| FieldErrorBody { field: f.field, zh: f.zh, en: f.en }).collect();
        e
    }

    pub fn field(field: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        AppError::invalid(vec![FieldError::new(field, zh, en)])
    }

    /// The JSON error for a status produced outside a handler (by axum or a tower layer);
    /// `detail` is that layer's own text, kept for the English message.
    pub fn for_status(status: StatusCode, cross_site: bool, detail: &str) -> Self {
        let detail: String = detail.chars().take(300).collect();
        let with = |en: &str| if detail.is_empty() { en.to_owned() } else { format!("{en}: {detail}") };
        let (code, zh, en) = match status {
            StatusCode::FORBIDDEN if cross_site => {
                ("cross_site", "拒绝跨站请求".to_owned(), "cross-site request refused".to_owned())
            }
            StatusCode::BAD_REQUEST => ("bad_request", format!("请求无效：{detail}"), with("bad request")),
            StatusCode::UNAUTHORIZED => return AppError::unauthenticated(),
            StatusCode::FORBIDDEN => return AppError::forbidden(),
            StatusCode::NOT_FOUND => ("not_found", "没有这个接口".to_owned(), with("not found")),
            StatusCode::METHOD_NOT_ALLOWED => (
                "method_not_allowed",
                "此接口不支持该请求方法".to_owned(),
                "this endpoint does not support that method".to_owned(),
            ),
            StatusCode::REQUEST_TIMEOUT => {
                ("timeout", "请求超时".to_owned(), "the request took too long".to_owned())
            }
            StatusCode::PAYLOAD_TOO_LARGE => {
                ("payload_too_large", "请求内容过大".to_owned(), "the request body is too large".to_owned())
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (
                "unsupported_media_type",
                "请求内容须为 JSON（Content-Type: application/json）".to_owned(),
                "the request body must be JSON (Content-Type: application/json)".to_owned(),
            ),
            s if s.is_server_error() => return AppError::internal(),
            _ => ("bad_request", format!("请求无效：{detail}"), with("bad request")),
        };
        AppError::new(status, code, zh, en)
    }

    pub fn internal() -> Self {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误",
            "internal server error",
        )
    }
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::invalid(e.0)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(inv) => inv.into(),
            StoreError::NotFound(what) => {
                AppError::not_found(format!("未找到：{what}"), format!("not found: {what}"))
            }
            StoreError::Conflict(what) => AppError::new(
                StatusCode::CONFLICT,
                "conflict",
                "记录已被他人修改，请刷新后重试",
                format!("the record changed meanwhile, reload and retry ({what})"),
            ),
            StoreError::Database(msg) => {
                // Operators see the cause in the log; users never see database text.
                tracing::error!(error = %msg, "store failure");
                AppError::internal()
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

pub type ApiResult<T> = Result<T, AppError>;
