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
    /// Stable code: `invalid`, `bad_request`, `unauthenticated`, `forbidden`, `not_found`,
    /// `conflict`, `internal`.
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
