//! The tongxin HTTP server: a JSON API described by OpenAPI 3.1 and server-rendered pages
//! (Simplified Chinese first, English second) that work without JavaScript.
//!
//! The server is a thin layer: it authenticates, checks role and scope, translates
//! requests into domain values and calls the [`Store`]. It holds no SQL and no domain
//! rules of its own beyond who may see and do what ([`authz`]).

pub mod api;
pub mod auth;
pub mod authz;
pub mod burden;
pub mod calendar;
pub mod dashboard;
pub mod directive_pages;
pub mod directives;
pub mod error;
pub mod i18n;
pub mod log;
pub mod pages;
pub mod voice;
pub mod voice_loop;
pub mod voice_pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tongxin_store::Store;
use tower_http::csrf::{CsrfLayer, ProtectionError};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    /// The transparency log, when this server runs one.
    pub log: Option<tongxin_log::Log>,
    /// The burden engine (rules, findings, rollups), loaded on first use.
    pub burden: std::sync::Arc<burden::Burden>,
    /// Where this process published the filing page's script hash in the log
    /// ([`voice_pages::publish_script`]), once it has.
    pub script_log_index: Arc<std::sync::OnceLock<u64>>,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// The address users reach the server at (`https://tongxin.example.gov.cn`), for
    /// links handed to other programs such as calendar feeds; default: the request's host.
    pub public_url: Option<String>,
    /// The burden-reduction rule set; default: the shipped national set.
    pub rules: Option<tongxin_rules::RuleSet>,
    /// How often the safe voice's sweep escalates overdue reports and closes quietly
    /// answered ones; `None`: no background sweep (tests run it by hand).
    pub voice_sweep_every: Option<Duration>,
    /// Publish the SHA-256 of the filing page's script in the log at startup (when a log
    /// is served), so that anyone can check the script the browser runs.
    pub publish_script: bool,
}

/// The whole application: API, pages and static assets, with CSRF protection on every
/// state-changing request, a body size limit and a request timeout. Every error under
/// `/api/` is a JSON [`error::ErrorBody`], whichever layer produced it.
pub fn app(store: Arc<dyn Store>, config: Config) -> Router {
    app_with_log(store, config, None)
}

/// [`app`] serving a transparency log too: `/log/checkpoint`, `/log/tile/…` and the
/// public log page.
pub fn app_with_log(store: Arc<dyn Store>, config: Config, log: Option<tongxin_log::Log>) -> Router {
    let burden = burden::Burden::new(config.rules.clone().unwrap_or_else(tongxin_rules::RuleSet::national));
    let state = AppState { store, config: Arc::new(config), log, burden, script_log_index: Arc::default() };
    if state.config.publish_script {
        voice_pages::publish_script(state.clone());
    }
    if let Some(every) = state.config.voice_sweep_every {
        voice_loop::spawn_sweeper(state.clone(), every);
    }
    // One fallback for the whole router (axum refuses to merge routers that each have
    // one): JSON under `/api/`, a page elsewhere.
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(dashboard::routes())
        .merge(calendar::routes())
        .merge(log::routes())
        .merge(voice::routes())
        .merge(voice_pages::routes())
        .merge(voice_loop::routes())
        .merge(directives::routes())
        .merge(directive_pages::routes())
        .fallback(not_found)
        .with_state(state)
        .layer(CsrfLayer::new())
        .layer(RequestBodyLimitLayer::new(2 * 1024 * 1024))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, Duration::from_secs(30)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(middleware::from_fn(api_errors_as_json))
}

pub fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

async fn not_found(l: i18n::Lang, uri: Uri) -> Response {
    if is_api_path(uri.path()) {
        api::not_found().into_response()
    } else {
        pages::not_found(l).into_response()
    }
}

/// Rewrites the plain-text errors of axum and tower-http (405, 413, CSRF 403, 408, a bad
/// path segment…) under `/api/` into the JSON error body, keeping their text as detail.
async fn api_errors_as_json(req: Request, next: Next) -> Response {
    let api = is_api_path(req.uri().path());
    let res = next.run(req).await;
    let status = res.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return res;
    }
    let cross_site = res.extensions().get::<ProtectionError>().is_some();
    let allow = res.headers().get(header::ALLOW).cloned();
    let detail = axum::body::to_bytes(res.into_body(), 2048)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let mut out = error::AppError::for_status(status, cross_site, &detail).into_response();
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

/// Serves `app` on `listener` until Ctrl-C or SIGTERM.
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
