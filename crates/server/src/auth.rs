//! Sign-in sessions. The cookie carries a random 256-bit token; the store keeps only its
//! SHA-256, so a copy of the database cannot be used to sign in.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tongxin_domain::User;
use tongxin_store::Session;

use crate::AppState;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "tongxin_session";
pub const SESSION_HOURS: i64 = 12;

/// The value of cookie `name`, if present.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn hash_token(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Starts a session for `user`; returns the `Set-Cookie` value.
pub async fn start_session(state: &AppState, user: &User) -> Result<String, AppError> {
    let token = new_token();
    let session = Session {
        token_hash: hash_token(&token),
        user_id: user.id,
        expires_at: Utc::now() + Duration::hours(SESSION_HOURS),
    };
    state.store.put_session(&session).await?;
    Ok(format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if state.config.secure_cookies { "; Secure" } else { "" }
    ))
}

pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// Resolves the token of a session cookie to its user (feed tokens are not sessions).
pub async fn user_for_token(state: &AppState, token: &str) -> Result<Option<User>, AppError> {
    let Some(session) = state.store.session(&hash_token(token), Utc::now()).await? else {
        return Ok(None);
    };
    Ok(state.store.user(session.user_id).await?)
}

async fn current_user(parts: &Parts, state: &AppState) -> Result<Option<User>, AppError> {
    match cookie(&parts.headers, SESSION_COOKIE) {
        Some(token) => user_for_token(state, &token).await,
        None => Ok(None),
    }
}

/// The signed-in user, or none; never rejects.
pub struct MaybeUser(pub Option<User>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(MaybeUser(current_user(parts, state).await?))
    }
}

/// The signed-in user for the JSON API: 401 without one.
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        current_user(parts, state).await?.map(ApiUser).ok_or_else(AppError::unauthenticated)
    }
}

/// The signed-in user for pages: a redirect to the sign-in page without one.
pub struct PageUser(pub User);

pub enum PageRejection {
    SignIn(String),
    Error(AppError),
}

impl IntoResponse for PageRejection {
    fn into_response(self) -> Response {
        match self {
            PageRejection::SignIn(next) => Redirect::to(&next).into_response(),
            PageRejection::Error(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageRejection;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match current_user(parts, state).await {
            Ok(Some(u)) => Ok(PageUser(u)),
            Ok(None) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let next: String = url_encode(next);
                Err(PageRejection::SignIn(format!("/login?next={next}")))
            }
            Err(e) => Err(PageRejection::Error(e)),
        }
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Only same-site relative paths are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}
