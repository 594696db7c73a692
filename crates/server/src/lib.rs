//! The tongxin HTTP server: a JSON API described by OpenAPI 3.1 and server-rendered pages
//! (Simplified Chinese first, English second) that work without JavaScript.
//!
//! The server is a thin layer: it authenticates, checks role and scope, translates
//! requests into domain values and calls the [`Store`]. It holds no SQL and no domain
//! rules of its own beyond who may see and do what ([`authz`]).

pub mod api;
pub mod auth;
pub mod authz;
pub mod calendar;
pub mod error;
pub mod i18n;
pub mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use tongxin_store::Store;
use tower_http::csrf::CsrfLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
}

/// The whole application: API, pages and static assets, with CSRF protection on every
/// state-changing request, a body size limit and a request timeout.
pub fn app(store: Arc<dyn Store>, config: Config) -> Router {
    let state = AppState { store, config: Arc::new(config) };
    Router::new()
        .merge(api::routes())
        .merge(pages::routes())
        .merge(calendar::routes())
        .with_state(state)
        .layer(CsrfLayer::new())
        .layer(RequestBodyLimitLayer::new(2 * 1024 * 1024))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
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
