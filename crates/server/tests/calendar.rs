//! The iCalendar feed of a unit (`/units/{code}/calendar.ics`) is what a calendar app
//! accepts: `text/calendar`, CRLF line ends, lines folded at 75 octets, one VEVENT per
//! demand the account may see (UID, DTSTART in Asia/Shanghai, SUMMARY, STATUS:CANCELLED
//! for a cancelled one). It opens with the session cookie or with the feed token from
//! the calendar page's `?feed=1`, and with nothing else: no auth is 401, and the feed
//! token is not a session cookie.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{Duration, NaiveDateTime, Timelike};
use common::{Reply, TestApp, Who, demand};
use tongxin_domain::{Demand, DemandKind, DemandStatus};

use Who::*;

/// Today in China at `hour`, plus `days`: inside the feed's window whenever the tests run.
fn soon(days: i64, hour: u32) -> NaiveDateTime {
    let now = chrono::Utc::now().naive_utc() + Duration::hours(8);
    (now + Duration::days(days))
        .with_hour(hour)
        .unwrap()
        .with_minute(0)
        .unwrap()
        .with_second(0)
        .unwrap()
        .with_nanosecond(0)
        .unwrap()
}

struct Feed {
    upcoming: Demand,
    cancelled: Demand,
    long: Demand,
    sibling: Demand,
}

async fn feed_demands(app: &TestApp) -> Feed {
    let s = app.store.as_ref();
    let upcoming = demand(DemandKind::Inspection, &app.fx.division_a, &["350102001"], soon(3, 9));
    let upcoming = s.create_demand(upcoming, "seed").await.unwrap();
    let cancelled = demand(DemandKind::ResearchVisit, &app.fx.division_b, &["350102001001"], soon(5, 14));
    let cancelled = s.create_demand(cancelled, "seed").await.unwrap();
    let mut gone = cancelled.clone();
    gone.status = DemandStatus::Cancelled;
    let cancelled = s.update_demand(gone, 1, "seed").await.unwrap();
    let mut long = demand(DemandKind::DataRequest, &app.fx.other, &["350102001"], soon(7, 10));
    long.title =
        "关于报送2026年度高标准农田建设项目实施情况、资金使用情况及群众满意度调查结果的通知;附件,说明\\"
            .into();
    let long = s.create_demand(long, "seed").await.unwrap();
    let sibling = demand(DemandKind::Inspection, &app.fx.division_a, &["350102002"], soon(4, 9));
    let sibling = s.create_demand(sibling, "seed").await.unwrap();
    Feed { upcoming, cancelled, long, sibling }
}

/// Checks the framing of RFC 5545 and returns the unfolded content lines.
#[track_caller]
fn unfold(r: &Reply) -> Vec<String> {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.content_type().starts_with("text/calendar"), "{:?}", r.headers);
    let text = r.text();
    assert!(text.starts_with("BEGIN:VCALENDAR\r\n") && text.ends_with("END:VCALENDAR\r\n"));
    let physical: Vec<&str> = text.strip_suffix("\r\n").unwrap().split("\r\n").collect();
    for line in &physical {
        assert!(!line.contains('\n') && !line.contains('\r'), "bare line break in {line:?}");
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
    let mut lines: Vec<String> = Vec::new();
    for line in physical {
        match line.strip_prefix(' ') {
            Some(cont) => lines.last_mut().expect("a continuation follows a line").push_str(cont),
            None => lines.push(line.to_owned()),
        }
    }
    lines
}

/// The content lines of the VEVENT with `uid`.
fn event(lines: &[String], d: &Demand) -> Option<Vec<String>> {
    let uid = format!("UID:{}@tongxin", d.id);
    let at = lines.iter().position(|l| *l == uid)?;
    let begin = lines[..at].iter().rposition(|l| l == "BEGIN:VEVENT")?;
    let end = at + lines[at..].iter().position(|l| l == "END:VEVENT")?;
    Some(lines[begin..=end].to_vec())
}

#[tokio::test]
async fn the_feed_lists_the_units_demands_as_events() {
    let app = TestApp::new().await;
    let f = feed_demands(&app).await;
    let lines = unfold(&app.get(TownshipCadre, "/units/350102001/calendar.ics").await);
    assert!(lines.contains(&"VERSION:2.0".to_owned()));
    assert!(lines.contains(&"X-WR-CALNAME:鼓东街道 · 同心".to_owned()));
    assert_eq!(lines.iter().filter(|l| *l == "BEGIN:VEVENT").count(), 3, "{lines:#?}");

    let e = event(&lines, &f.upcoming).expect("the inspection");
    let start = format!("DTSTART;TZID=Asia/Shanghai:{}", f.upcoming.starts_at.format("%Y%m%dT%H%M%S"));
    assert!(e.contains(&start), "{e:?}");
    let end = format!("DTEND;TZID=Asia/Shanghai:{}", f.upcoming.ends_at.format("%Y%m%dT%H%M%S"));
    assert!(e.contains(&end), "{e:?}");
    assert!(e.contains(&format!("SUMMARY:【督查检查考核】{}", f.upcoming.title)), "{e:?}");
    assert!(e.contains(&"STATUS:TENTATIVE".to_owned()));
    assert!(e.iter().any(|l| l.starts_with("DTSTAMP:") && l.ends_with('Z')));

    let e = event(&lines, &f.cancelled).expect("the cancelled visit, from the village below");
    assert!(e.contains(&"STATUS:CANCELLED".to_owned()), "{e:?}");
    assert!(e.contains(&"SEQUENCE:1".to_owned()));

    // The long title was folded (checked above) and escaped.
    let e = event(&lines, &f.long).expect("the long data request");
    let summary = e.iter().find(|l| l.starts_with("SUMMARY:")).unwrap();
    assert!(summary.ends_with("群众满意度调查结果的通知\\;附件\\,说明\\\\"), "{summary}");

    assert!(event(&lines, &f.sibling).is_none(), "not the sibling township's");
    let county = unfold(&app.get(CountyOffice, "/units/350102/calendar.ics").await);
    assert!(event(&county, &f.sibling).is_some(), "the county sees both townships");
}

#[tokio::test]
async fn the_feed_opens_with_the_token_from_the_calendar_page_and_nothing_else() {
    let app = TestApp::new().await;
    let f = feed_demands(&app).await;
    let page = app.get(TownshipCadre, "/units/350102001/calendar?feed=1").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let start = html.find("id=\"feed-url\">").expect("the feed link") + "id=\"feed-url\">".len();
    let absolute = html[start..start + html[start..].find('<').unwrap()].replace("&amp;", "&");
    // An absolute address a calendar app can use, on the host the page was asked on.
    let url = absolute.strip_prefix("http://tongxin.test").unwrap_or_else(|| panic!("absolute: {absolute}"));
    assert!(url.starts_with("/units/350102001/calendar.ics?token="), "{url}");
    let token = url.split("token=").nth(1).unwrap().to_owned();

    // A calendar app has no cookie.
    let by_token = app.send(Request::get(url).body(Body::empty()).unwrap()).await;
    let lines = unfold(&by_token);
    assert!(event(&lines, &f.upcoming).is_some());
    assert!(event(&lines, &f.sibling).is_none(), "the token sees what its account sees");

    // Nothing, a wrong token, or the token used as a session: 401.
    app.send(Request::get("/units/350102001/calendar.ics").body(Body::empty()).unwrap())
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.send(Request::get("/units/350102001/calendar.ics?token=forged").body(Body::empty()).unwrap())
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let as_session = format!("tongxin_session={token}");
    let r = app
        .send(
            Request::get("/api/demands")
                .header(header::COOKIE, as_session.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    r.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let r = app.send(Request::get("/").header(header::COOKIE, as_session).body(Body::empty()).unwrap()).await;
    assert!(r.status.is_redirection(), "a feed token does not sign in to pages");
    // Nor is a session cookie a feed token.
    let cookie = app.cookie(TownshipCadre).await.unwrap();
    let session_token = cookie.split('=').nth(1).unwrap();
    app.send(
        Request::get(format!("/units/350102001/calendar.ics?token={session_token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // Scope still applies: not a sibling's feed, nor a unit that does not parse.
    app.get(TownshipCadre, "/units/350103/calendar.ics").await.error(StatusCode::FORBIDDEN, "forbidden");
    let bad = app.get(TownshipCadre, "/units/35x/calendar.ics").await;
    assert_eq!(bad.invalid_fields(), ["code"]);
    app.get(ProvinceAdmin, "/units/350199/calendar.ics").await.error(StatusCode::NOT_FOUND, "not_found");
}
