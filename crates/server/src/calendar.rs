//! The iCalendar (RFC 5545) feed of the demands on a unit, for a cadre's calendar app.
//!
//! Calendar apps cannot sign in, so the feed URL carries its own token: a long-lived
//! session of the account that asked for it, stored hashed like any session. The feed
//! shows exactly what that account may see.
//!
//! A feed URL ends up in calendar apps and their cloud services, so its token opens the
//! feed and nothing else: it is stored under a hash of a different input than a sign-in
//! token's, so it is no session cookie (and a session cookie is no feed token).

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, Utc};
use tongxin_domain::{Demand, DemandStatus, UnitCode, User};
use tongxin_store::Session;

use crate::AppState;
use crate::api::parse_code;
use crate::auth::{MaybeUser, hash_token, new_token};
use crate::authz;
use crate::error::{ApiResult, AppError};

pub fn routes() -> Router<AppState> {
    Router::new().route("/units/{code}/calendar.ics", get(feed))
}

/// Makes a feed token for `user` valid for a year and returns the feed's path.
pub async fn new_feed_url(state: &AppState, user: &User, unit: &UnitCode) -> Result<String, AppError> {
    let token = new_token();
    state
        .store
        .put_session(&Session {
            token_hash: feed_token_hash(&token),
            user_id: user.id,
            expires_at: Utc::now() + Duration::days(365),
        })
        .await?;
    Ok(format!("/units/{unit}/calendar.ics?token={token}"))
}

/// The stored hash of a feed token, apart from sign-in tokens' hashes.
fn feed_token_hash(token: &str) -> String {
    hash_token(&format!("calendar-feed:{token}"))
}

async fn feed_user(state: &AppState, token: &str) -> Result<Option<User>, AppError> {
    let Some(session) = state.store.session(&feed_token_hash(token), Utc::now()).await? else {
        return Ok(None);
    };
    Ok(state.store.user(session.user_id).await?)
}

async fn feed(
    State(state): State<AppState>,
    MaybeUser(signed_in): MaybeUser,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let user = match (signed_in, q.get("token")) {
        (Some(u), _) => u,
        (None, Some(token)) => feed_user(&state, token).await?.ok_or_else(AppError::unauthenticated)?,
        (None, None) => return Err(AppError::unauthenticated()),
    };
    let code = parse_code("code", &code)?;
    if !authz::can_list_unit(&user, &code) && !code.contains(&user.scope) {
        return Err(AppError::forbidden());
    }
    let unit =
        state.store.unit(&code).await?.ok_or_else(|| AppError::not_found("单位不存在", "no such unit"))?;
    let now = chrono::Local::now().naive_local();
    let mut demands =
        crate::pages::demands_on(&state, &code, now - Duration::days(92), now + Duration::days(366)).await?;
    demands.retain(|d| authz::can_see_demand(&user, d));
    let body = ics(&unit.name, &demands, Utc::now());
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "inline; filename=\"tongxin.ics\""),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

/// Escapes TEXT values (RFC 5545 §3.3.11).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Writes one content line, folded at 75 octets without splitting a UTF-8 character.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// The calendar of `demands`, times in China Standard Time (UTC+8, no daylight saving).
pub fn ics(calendar_name: &str, demands: &[Demand], stamp: chrono::DateTime<Utc>) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//tongxin//burden ledger//ZH",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        line(&mut out, l);
    }
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(&format!("{calendar_name} · 同心"))));
    for l in [
        "X-WR-TIMEZONE:Asia/Shanghai",
        "BEGIN:VTIMEZONE",
        "TZID:Asia/Shanghai",
        "BEGIN:STANDARD",
        "DTSTART:19700101T000000",
        "TZOFFSETFROM:+0800",
        "TZOFFSETTO:+0800",
        "TZNAME:CST",
        "END:STANDARD",
        "END:VTIMEZONE",
    ] {
        line(&mut out, l);
    }
    let stamp = stamp.format("%Y%m%dT%H%M%SZ").to_string();
    for d in demands {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}@tongxin", d.id));
        line(&mut out, &format!("DTSTAMP:{stamp}"));
        line(&mut out, &format!("DTSTART;TZID=Asia/Shanghai:{}", d.starts_at.format("%Y%m%dT%H%M%S")));
        line(&mut out, &format!("DTEND;TZID=Asia/Shanghai:{}", d.ends_at.format("%Y%m%dT%H%M%S")));
        line(&mut out, &format!("SUMMARY:{}", escape(&format!("【{}】{}", d.kind.zh(), d.title))));
        let mut desc = String::new();
        let _ = write!(desc, "{} / {}", d.kind.zh(), d.kind.en());
        if !d.topic.is_empty() {
            let _ = write!(desc, "\n事项 Topic: {}", d.topic);
        }
        if d.cost.cadre_hours > 0.0 {
            let _ = write!(desc, "\n干部工时 Cadre-hours: {}", d.cost.cadre_hours);
        }
        line(&mut out, &format!("DESCRIPTION:{}", escape(&desc)));
        line(&mut out, &format!("SEQUENCE:{}", d.revision.saturating_sub(1)));
        line(
            &mut out,
            match d.status {
                DemandStatus::Cancelled => "STATUS:CANCELLED",
                DemandStatus::Planned => "STATUS:TENTATIVE",
                DemandStatus::Held => "STATUS:CONFIRMED",
            },
        );
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_chinese_lines_fold_on_character_boundaries() {
        let mut out = String::new();
        let long = format!("SUMMARY:{}", "关于开展高标准农田建设项目督导检查的通知".repeat(3));
        line(&mut out, &long);
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded.trim_end(), long);
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
