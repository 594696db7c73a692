//! The public face of the transparency log: the C2SP endpoints (`/log/checkpoint`,
//! `/log/tile/…`) that independent tools read, and the log page (zh/en) with the latest
//! checkpoint, the public key, growth over time and a receipt checker. No sign-in: the
//! log is public by design.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use tongxin_tlog::{Checkpoint, Hash, Leaf, Receipt, ReceiptPolicy, verify_receipt};

use crate::AppState;
use crate::auth::MaybeUser;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::pages::{Chrome, PageError, chrome, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/log", get(log_page))
        .route("/log/check", axum::routing::post(check_receipt))
        .route("/log/checkpoint", get(checkpoint))
        .route("/log/tile/{*path}", get(tile))
}

fn log_of(state: &AppState) -> Result<&tongxin_log::Log, AppError> {
    state.log.as_ref().ok_or_else(|| {
        AppError::not_found("本服务器未运行透明日志", "this server does not run a transparency log")
    })
}

fn log_error(e: tongxin_log::LogError) -> AppError {
    tracing::error!(error = %e, "transparency log failure");
    AppError::internal()
}

/// `c2sp.org/tlog-checkpoint`: the newest signed checkpoint. Never cached for long: it
/// changes with every batch.
async fn checkpoint(State(state): State<AppState>) -> Result<Response, AppError> {
    let log = log_of(&state)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
        ],
        log.latest().note,
    )
        .into_response())
}

/// `c2sp.org/tlog-tiles`: hash tiles and entry bundles. A tile path names its width, so
/// its content never changes: served as immutable.
async fn tile(State(state): State<AppState>, Path(path): Path<String>) -> Result<Response, AppError> {
    let log = log_of(&state)?;
    match log.tile(&format!("tile/{path}")).await.map_err(log_error)? {
        Some((data, _full)) => Ok((
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
            ],
            data,
        )
            .into_response()),
        None => Err(AppError::not_found("没有这个瓦片", "no such tile")),
    }
}

/// One point of the growth chart.
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Template)]
#[template(path = "log.html")]
struct LogPage {
    c: Chrome,
    origin: String,
    size: u64,
    note: String,
    at: Option<DateTime<Utc>>,
    public_key: String,
    root: String,
    growth: Vec<Point>,
    /// The witnesses' cosigning keys and the quorum receipts need.
    witnesses: Vec<String>,
    quorum: usize,
    first_at: Option<DateTime<Utc>>,
    receipt: String,
    entry: String,
    outcome: Option<Result<String, String>>,
}

impl LogPage {
    fn polyline(&self) -> String {
        self.growth.iter().map(|p| format!("{:.1},{:.1}", p.x, p.y)).collect::<Vec<_>>().join(" ")
    }
}

/// The growth chart's points: size against time, scaled into a 600×160 box.
fn growth(history: &[tongxin_store::PublishedCheckpoint]) -> Vec<Point> {
    let (Some(first), Some(last)) = (history.last(), history.first()) else { return Vec::new() };
    let t0 = first.at.timestamp() as f64;
    let span = (last.at.timestamp() as f64 - t0).max(1.0);
    let max = last.size.max(1) as f64;
    history
        .iter()
        .rev()
        .map(|c| Point {
            x: 600.0 * (c.at.timestamp() as f64 - t0) / span,
            y: 160.0 - 150.0 * c.size as f64 / max,
        })
        .collect()
}

async fn page(
    state: &AppState,
    l: Lang,
    user: Option<tongxin_domain::User>,
    form: Option<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let log = log_of(state).map_err(|error| PageError { l, error })?;
    let latest = log.latest();
    let history = log.history(500).await.map_err(|e| PageError { l, error: log_error(e) })?;
    let at = history.first().map(|c| c.at);
    let first_at = history.last().map(|c| c.at);
    let (receipt, entry) = form
        .as_ref()
        .map(|f| (f.get("receipt").cloned().unwrap_or_default(), f.get("entry").cloned().unwrap_or_default()))
        .unwrap_or_default();
    let outcome = form.map(|_| check(log, &receipt, &entry, l));
    let page = LogPage {
        c: chrome(l, user, "/log"),
        origin: log.origin().to_owned(),
        size: latest.size,
        note: latest.note,
        at,
        public_key: log.verifier().to_string(),
        root: latest.root.to_base64(),
        growth: growth(&history),
        witnesses: log.witnesses().iter().map(|w| w.to_string()).collect(),
        quorum: log.quorum(),
        first_at,
        receipt,
        entry,
        outcome,
    };
    let status = match &page.outcome {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    Ok((status, render(&page)).into_response())
}

async fn log_page(
    State(state): State<AppState>,
    l: Lang,
    MaybeUser(user): MaybeUser,
) -> Result<Response, PageError> {
    page(&state, l, user, None).await
}

async fn check_receipt(
    State(state): State<AppState>,
    l: Lang,
    MaybeUser(user): MaybeUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    page(&state, l, user, Some(form)).await
}

/// Checks a pasted receipt against this log's key and the pasted entry (its text, or its
/// leaf hash in hex or base64); says what was verified or exactly why not.
fn check(log: &tongxin_log::Log, receipt: &str, entry: &str, l: Lang) -> Result<String, String> {
    let receipt = receipt.replace("\r\n", "\n");
    let parsed = Receipt::parse(receipt.as_bytes())
        .map_err(|e| format!("{}{e}", l.t("回执格式有误：", "The receipt is malformed: ")))?;
    let hash;
    let leaf = match entry.trim() {
        "" => {
            return Err(l
                .t("请同时粘贴条目内容或其叶子哈希。", "Paste the entry or its leaf hash too.")
                .to_owned());
        }
        e if e.len() == 64 && e.bytes().all(|b| b.is_ascii_hexdigit()) => {
            hash = Hash::from_hex(e).ok_or_else(|| l.t("叶子哈希无效", "invalid leaf hash").to_owned())?;
            Leaf::Hash(hash)
        }
        e if e.len() == 44 && e.ends_with('=') => {
            hash = Hash::from_base64(e).ok_or_else(|| l.t("叶子哈希无效", "invalid leaf hash").to_owned())?;
            Leaf::Hash(hash)
        }
        _ => Leaf::Entry(entry.as_bytes()),
    };
    let policy = ReceiptPolicy::new(log.verifier().clone(), Vec::new(), 0).map_err(|e| e.to_string())?;
    verify_receipt(&parsed, leaf, &policy)
        .map_err(|e| format!("{}{e}", l.t("验证失败：", "Not verified: ")))?;
    let size = Checkpoint::parse(parsed.checkpoint.text()).map(|c| c.size).unwrap_or(0);
    Ok(format!(
        "{} #{} {} {size}",
        l.t("已验证：该条目在日志中，序号", "Verified: the entry is in the log at index"),
        parsed.index,
        l.t("，检查点大小", "under the checkpoint of size"),
    ))
}
