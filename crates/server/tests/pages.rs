//! The server-rendered pages work for a person with a browser and no JavaScript: the
//! sign-in form (a wrong password gives a 401 page with the error and no cookie), the
//! redirect to `/login?next=…` when signed out, the unit page, the calendar month view,
//! the demand page with its history, and the registration form (urlencoded) that creates
//! a demand or comes back with every field error and the typed values kept. Chinese by
//! default; English by `?lang=en`, the `lang` cookie or `Accept-Language`. Every page is
//! well-formed HTML with `<html lang=…>`.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Reply, TestApp, Who, at};
use serde_json::json;

use Who::*;

/// The text content of the element with `id` (up to its first child tag).
fn by_id(html: &str, id: &str) -> Option<String> {
    let start = html.find(&format!("id=\"{id}\""))?;
    let rest = &html[start..];
    let open_end = rest.find('>')? + 1;
    let text = &rest[open_end..];
    Some(text[..text.find('<').unwrap_or(text.len())].trim().to_owned())
}

/// Checks what a browser and a screen reader rely on: a doctype, `<html lang>`, one
/// `<title>`, and every non-void element closed in order.
#[track_caller]
fn assert_html(r: &Reply, lang: &str) -> String {
    assert!(r.content_type().starts_with("text/html"), "{:?}", r.headers);
    let html = r.text();
    assert!(html.starts_with("<!doctype html>"), "doctype: {}", &html[..html.len().min(80)]);
    assert!(html.contains(&format!("<html lang=\"{lang}\">")), "lang {lang}");
    assert_eq!(html.matches("<title>").count(), 1);
    assert!(html.trim_end().ends_with("</html>"));
    const VOID: [&str; 7] = ["meta", "link", "input", "br", "hr", "img", "!doctype"];
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html.as_str();
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let end = rest.find('>').expect("every tag ends");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let closing = tag.starts_with('/');
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '!')
            .collect::<String>()
            .to_ascii_lowercase();
        if VOID.contains(&name.as_str()) || tag.ends_with('/') {
            continue;
        }
        if closing {
            let open = stack.pop().unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(open, name, "<{open}> closed by </{name}>");
        } else {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");
    html
}

fn location(r: &Reply) -> &str {
    assert!(r.status.is_redirection(), "{} is not a redirect: {}", r.status, r.text());
    r.header(header::LOCATION).expect("a redirect has a location")
}

#[tokio::test]
async fn the_sign_in_form_refuses_a_wrong_password_with_a_401_page_and_no_cookie() {
    let app = TestApp::new().await;
    let form = app.get(Anonymous, "/login?next=%2Funits%2F350102").await;
    assert_eq!(form.status, StatusCode::OK);
    let html = assert_html(&form, "zh-CN");
    assert!(
        html.contains("id=\"username\"")
            && html.contains("id=\"password\"")
            && html.contains("id=\"sign-in\"")
    );
    assert!(html.contains("name=\"next\" value=\"/units/350102\""), "the target survives the form");

    let wrong = app
        .post_form(
            Anonymous,
            "/login",
            &[("username", "office.gulou"), ("password", "wrong-password"), ("next", "/")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let html = assert_html(&wrong, "zh-CN");
    assert_eq!(by_id(&html, "login-error").as_deref(), Some("用户名或密码错误"));
    assert!(html.contains("value=\"office.gulou\""), "the username is kept");
    assert!(wrong.session_cookie().is_none());

    let ok = app
        .post_form(
            Anonymous,
            "/login",
            &[("username", "office.gulou"), ("password", common::PASSWORD), ("next", "/units/350102")],
        )
        .await;
    assert_eq!(location(&ok), "/units/350102");
    let cookie = ok.session_cookie().expect("signed in");
    let page = app
        .send(Request::get("/units/350102").header(header::COOKIE, cookie).body(Body::empty()).unwrap())
        .await;
    assert_eq!(page.status, StatusCode::OK);

    // No open redirect after sign-in.
    let away = app
        .post_form(
            Anonymous,
            "/login",
            &[("username", "office.gulou"), ("password", common::PASSWORD), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(location(&away), "/");
}

#[tokio::test]
async fn signed_out_pages_redirect_to_sign_in_with_the_way_back() {
    let app = TestApp::new().await;
    for (uri, next) in [
        ("/", "%2F"),
        ("/units/350102?lang=en", "%2Funits%2F350102%3Flang%3Den"),
        ("/units/350102001/calendar?month=2026-03", "%2Funits%2F350102001%2Fcalendar%3Fmonth%3D2026-03"),
        ("/demands/new", "%2Fdemands%2Fnew"),
    ] {
        let r = app.get(Anonymous, uri).await;
        assert_eq!(location(&r), format!("/login?next={next}"), "{uri}");
    }
    // Signing out clears the cookie and the session.
    let cookie = app.cookie(CountyOffice).await.unwrap();
    let out = app
        .send(Request::post("/logout").header(header::COOKIE, cookie.clone()).body(Body::empty()).unwrap())
        .await;
    assert_eq!(location(&out), "/login");
    let r = app.send(Request::get("/").header(header::COOKIE, cookie).body(Body::empty()).unwrap()).await;
    assert_eq!(location(&r), "/login?next=%2F");
}

#[tokio::test]
async fn the_unit_page_shows_the_unit_its_children_bodies_and_demands() {
    let app = TestApp::new().await;
    let r = app.get(ProvinceAdmin, "/units/35").await;
    assert_eq!(r.status, StatusCode::OK);
    let html = assert_html(&r, "zh-CN");
    assert_eq!(by_id(&html, "unit-name").as_deref(), Some("福建省"));
    for name in ["福州市", "厦门市", "福建省农业农村厅", "种植业管理处", "农田建设管理处"]
    {
        assert!(html.contains(name), "{name}");
    }
    let html = assert_html(&app.get(TownshipCadre, "/units/350102001").await, "zh-CN");
    assert!(html.contains(&app.seed.village.title) && html.contains(&app.seed.reported.title));
    assert!(html.contains("三牧坊社区居委会") && html.contains("鼓楼区"), "children and ancestors");
    // Above the cadre's scope the unit is shown, its ledger is not.
    let html = assert_html(&app.get(TownshipCadre, "/units/350102").await, "zh-CN");
    assert!(!html.contains(&format!("/demands/{}", app.seed.sibling_township.id)));
    assert!(assert_html(&app.get(ProvinceAdmin, "/units").await, "zh-CN").contains("福建省"));

    let missing = app.get(ProvinceAdmin, "/units/350199").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_html(&missing, "zh-CN");
    let bad = app.get(ProvinceAdmin, "/units/35x").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(assert_html(&bad, "zh-CN").contains("<code>code</code>"));
    let nowhere = app.get(ProvinceAdmin, "/no/such/page").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert_html(&nowhere, "zh-CN");
}

#[tokio::test]
async fn the_calendar_month_view_shows_the_demands_on_the_unit() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let r = app.get(TownshipCadre, "/units/350102001/calendar?month=2026-03").await;
    assert_eq!(r.status, StatusCode::OK);
    let html = assert_html(&r, "zh-CN");
    assert_eq!(by_id(&html, "calendar-title").as_deref(), Some("鼓东街道 · 2026年3月"));
    assert_eq!(by_id(&html, "month-total").as_deref(), Some("3"));
    for d in [&s.village, &s.cascade, &s.reported] {
        assert!(html.contains(&format!("href=\"/demands/{}\"", d.id)), "{}", d.title);
    }
    for d in [&s.sibling_township, &s.sibling_county, &s.xiamen] {
        assert!(!html.contains(&format!("/demands/{}", d.id)), "{}", d.title);
    }
    assert!(html.contains("data-date=\"2026-03-02\""));
    assert!(html.contains("id=\"prev-month\"") && html.contains("?month=2026-02"));
    assert!(html.contains("?month=2026-04"));

    // A cadre may look at the calendar of a unit above them, seeing only their branch.
    let html = assert_html(&app.get(TownshipCadre, "/units/350102/calendar?month=2026-03").await, "zh-CN");
    assert!(html.contains(&format!("/demands/{}", s.county.id)));
    assert!(!html.contains(&format!("/demands/{}", s.sibling_township.id)));
    // Not a sibling's.
    let r = app.get(TownshipCadre, "/units/350103/calendar?month=2026-03").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_html(&r, "zh-CN");

    for month in ["2026-13", "March", "99999-01", "1066-10"] {
        let r = app.get(TownshipCadre, &format!("/units/350102001/calendar?month={month}")).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{month}");
        let html = assert_html(&r, "zh-CN");
        assert!(html.contains("<code>month</code>"), "{month}: the field is named");
    }
    let en = app.get(TownshipCadre, "/units/350102001/calendar?month=2026-13&lang=en").await;
    assert!(assert_html(&en, "en").contains("must be YYYY-MM"));
}

#[tokio::test]
async fn the_demand_page_shows_the_demand_and_its_history() {
    let app = TestApp::new().await;
    let d = &app.seed.village;
    let mut change = serde_json::to_value(d).unwrap();
    change.as_object_mut().unwrap().remove("source_department");
    change.as_object_mut().unwrap().remove("id");
    change["title"] = json!("三牧坊社区常住人口数据报送（补报）");
    change["revision"] = json!(1);
    let r = app.put_json(DivisionStaff, &format!("/api/demands/{}", d.id), &change).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    let r = app.get(VillageCadre, &format!("/demands/{}", d.id)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = assert_html(&r, "zh-CN");
    assert_eq!(by_id(&html, "demand-title").as_deref(), Some("三牧坊社区常住人口数据报送（补报）"));
    assert_eq!(by_id(&html, "demand-status").as_deref(), Some("计划"));
    assert!(html.contains("福建省农业农村厅 / 种植业管理处"), "department / division");
    let history = &html[html.find("id=\"history\"").unwrap()..];
    assert_eq!(history.matches("<li>").count(), 2);
    assert!(history.contains("seed · 登记") && history.contains("staff.zhongzhi · 修改"), "{history}");
    assert!(!html.contains("id=\"cancel-demand\""), "a cadre cannot cancel");

    // The body's staff cancel from the page; it stays, marked cancelled.
    let html = assert_html(&app.get(DivisionStaff, &format!("/demands/{}", d.id)).await, "zh-CN");
    assert!(html.contains("id=\"cancel-demand\""));
    let r = app.post_form(DivisionStaff, &format!("/demands/{}/cancel", d.id), &[("revision", "2")]).await;
    assert_eq!(location(&r), format!("/demands/{}", d.id));
    let html = assert_html(&app.get(VillageCadre, &format!("/demands/{}?lang=en", d.id)).await, "en");
    assert_eq!(by_id(&html, "demand-status").as_deref(), Some("cancelled"));
    assert!(html.contains("staff.zhongzhi · cancelled"));
    // A stale cancel is refused with a page, not a crash.
    let r = app.post_form(DivisionStaff, &format!("/demands/{}/cancel", d.id), &[("revision", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_html(&r, "zh-CN");

    // Hidden is missing, here too.
    let r = app.get(TownshipCadre, &format!("/demands/{}", app.seed.sibling_county.id)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_html(&r, "zh-CN");
    let r = app.get(TownshipCadre, "/demands/not-an-id").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_registration_form_creates_a_demand_and_redirects_to_it() {
    let app = TestApp::new().await;
    let r = app.get(DivisionStaff, "/demands/new?unit=350102001").await;
    let html = assert_html(&r, "zh-CN");
    assert!(html.contains("id=\"demand-form\"") && html.contains("id=\"submit-demand\""));
    assert!(html.contains("value=\"350102001\""), "the unit is prefilled");
    assert!(
        html.contains(&app.fx.division_a.id.to_string()) && !html.contains(&app.fx.division_b.id.to_string())
    );

    let division = app.fx.division_a.id.to_string();
    let r = app
        .post_form(
            DivisionStaff,
            "/demands/new",
            &[
                ("kind", "meeting"),
                ("source_body", &division),
                ("title", "全区春播工作推进会"),
                ("topic", "春播"),
                ("targets", "350102001，350102002"),
                ("starts_at", "2026-04-01T09:00"),
                ("ends_at", "2026-04-01T11:30"),
                ("cadre_hours", "2.5"),
                ("attend_levels", "township"),
                ("attend_levels", "village"),
                ("video", "1"),
                ("fields", "常住人口、耕地面积"),
            ],
        )
        .await;
    let to = location(&r).to_owned();
    let id = to.strip_prefix("/demands/").expect("to the new demand").parse::<uuid::Uuid>().unwrap();
    let d = app.store.demand(id).await.unwrap().expect("stored");
    assert_eq!(d.title, "全区春播工作推进会");
    assert_eq!(d.targets.iter().map(|t| t.as_str()).collect::<Vec<_>>(), ["350102001", "350102002"]);
    assert_eq!(d.starts_at, at(4, 1, 9));
    assert_eq!(d.cost.cadre_hours, 2.5);
    assert_eq!(d.cost.fields, ["常住人口", "耕地面积"]);
    assert!(d.cost.video);
    assert_eq!(d.origin, tongxin_domain::DemandOrigin::Registered);
    let html = assert_html(&app.get(DivisionStaff, &to).await, "zh-CN");
    assert!(html.contains("乡镇级、村（社区）级 · 视频会议"));

    // A cadre's form records what arrived.
    let html = assert_html(&app.get(VillageCadre, "/demands/new").await, "zh-CN");
    assert!(html.contains("name=\"origin\" value=\"reported\""));
    let other = app.fx.other.id.to_string();
    let r = app
        .post_form(
            VillageCadre,
            "/demands/new",
            &[
                ("origin", "reported"),
                ("kind", "data_request"),
                ("source_body", &other),
                ("title", "临时要求填报学生信息"),
                ("targets", "350102001001"),
                ("starts_at", "2026-04-02 20:00"),
                ("ends_at", "2026-04-02 23:00"),
                ("forms", "2"),
            ],
        )
        .await;
    let id: uuid::Uuid = location(&r).strip_prefix("/demands/").unwrap().parse().unwrap();
    assert_eq!(app.store.demand(id).await.unwrap().unwrap().origin, tongxin_domain::DemandOrigin::Reported);
}

#[tokio::test]
async fn a_refused_form_comes_back_with_field_errors_and_the_values_kept() {
    let app = TestApp::new().await;
    let before = app.demand_count().await;
    let division = app.fx.division_a.id.to_string();
    let base = |title: &'static str| {
        vec![
            ("kind", "inspection"),
            ("source_body", division.as_str()),
            ("title", title),
            ("targets", "350102001"),
            ("starts_at", "2026-04-01T09:00"),
            ("ends_at", "2026-04-01T11:30"),
        ]
    };
    // Unparseable fields: every one named at once.
    let mut form = base("保留的标题");
    form[3] = ("targets", "350102001,3501x");
    form[5] = ("ends_at", "tomorrow");
    form.push(("cadre_hours", "-1"));
    form.push(("cadres_required", "2.5"));
    let r = app.post_form(DivisionStaff, "/demands/new", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = assert_html(&r, "zh-CN");
    let errors = &html[html.find("id=\"form-errors\"").expect("an error summary")..];
    for field in ["targets[1]", "ends_at", "cost.cadre_hours", "cost.cadres_required"] {
        assert!(errors.contains(&format!("<code>{field}</code>")), "{field} named");
    }
    assert!(html.contains("value=\"保留的标题\""));
    assert!(html.contains("value=\"350102001,3501x\""));
    assert!(html.contains("value=\"tomorrow\""));
    assert!(html.contains("value=\"-1\""));

    // Parsed but invalid: the domain's and the store's errors come back the same way.
    let mut form = base("时间倒置的检查");
    form[5] = ("ends_at", "2026-03-01T09:00");
    form[3] = ("targets", "350102001 350102099");
    let r = app.post_form(DivisionStaff, "/demands/new", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = assert_html(&r, "zh-CN");
    assert!(html.contains("<code>ends_at</code>"));
    assert!(html.contains("value=\"时间倒置的检查\""));
    let mut form = base("未知单位");
    form[3] = ("targets", "350102001 350102099");
    let r = app.post_form(DivisionStaff, "/demands/new?lang=en", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let html = assert_html(&r, "en");
    assert!(html.contains("<code>targets[1]</code>"));
    assert!(html.contains("Please correct the following"));

    // Not allowed at all: an error page, nothing written.
    let mut form = base("别的处室");
    form[1] = ("source_body", "00000000-0000-0000-0000-000000000000");
    let r = app.post_form(DivisionStaff, "/demands/new", &form).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an unknown body is a field error");
    let mut form = base("越权登记");
    form[3] = ("targets", "350203");
    let r = app.post_form(CountyOffice, "/demands/new", &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_html(&r, "zh-CN");
    assert_eq!(app.demand_count().await, before);
}

#[tokio::test]
async fn pages_are_chinese_by_default_and_english_on_request() {
    let app = TestApp::new().await;
    let zh = assert_html(&app.get(Anonymous, "/login").await, "zh-CN");
    assert!(zh.contains("<h1>登录</h1>"));
    let en = assert_html(&app.get(Anonymous, "/login?lang=en").await, "en");
    assert!(en.contains("<h1>Sign in</h1>"));

    let with = |name: header::HeaderName, value: &'static str| {
        Request::builder().method(Method::GET).uri("/login").header(name, value).body(Body::empty()).unwrap()
    };
    let r = app.send(with(header::COOKIE, "lang=en")).await;
    assert!(assert_html(&r, "en").contains("Sign in"));
    let r = app.send(with(header::ACCEPT_LANGUAGE, "en-GB,en;q=0.9,zh;q=0.5")).await;
    assert!(assert_html(&r, "en").contains("Sign in"));
    let r = app.send(with(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.5")).await;
    assert!(assert_html(&r, "zh-CN").contains("登录"));
    // ?lang= wins over the cookie.
    let r = app
        .send(Request::get("/login?lang=zh").header(header::COOKIE, "lang=en").body(Body::empty()).unwrap())
        .await;
    assert_html(&r, "zh-CN");

    // The switch remembers the choice and goes back.
    let r = app.get(Anonymous, "/lang/en?next=%2Funits%2F35").await;
    assert_eq!(location(&r), "/units/35");
    assert!(r.header(header::SET_COOKIE).unwrap().starts_with("lang=en"));
    let r = app.get(Anonymous, "/lang/en?next=https%3A%2F%2Fevil.example").await;
    assert_eq!(location(&r), "/", "no open redirect");

    // Signed-in pages in both languages, each well-formed.
    let pages = [
        "/".to_owned(),
        "/units".to_owned(),
        "/units/35".to_owned(),
        "/units/350102001/calendar?month=2026-03".to_owned(),
        "/demands/new".to_owned(),
        format!("/demands/{}", app.seed.cascade.id),
    ];
    for page in &pages {
        for (suffix, lang, word) in [("", "zh-CN", "退出"), ("lang=en", "en", "Sign out")] {
            let sep = if page.contains('?') { '&' } else { '?' };
            let uri = if suffix.is_empty() { page.clone() } else { format!("{page}{sep}{suffix}") };
            let r = app.get(ProvinceAdmin, &uri).await;
            assert_eq!(r.status, StatusCode::OK, "{uri}");
            assert!(assert_html(&r, lang).contains(word), "{uri}");
        }
    }
    let css = app.get(Anonymous, "/static/app.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.content_type().starts_with("text/css"));
}
