//! End-to-end tests through a real browser: the real `tongxin demo` binary serving the
//! Fujian demo on a loopback port, driven by headless Chromium via chromedriver. Each
//! scenario runs twice, in Chinese (the default for a browser that prefers zh-CN) and in
//! English (chosen with the header's language switch), and asserts on what a person
//! would see: headings, counts, event links, field errors.
//!
//! Scenarios: a cadre finds the scenario county's guidance visits and the township's
//! cascading flood-season meetings on their calendars; a provincial department's staff
//! registers a demand through the form and finds it on the target unit's calendar; a bad
//! registration comes back with field errors in the page's language and registers
//! nothing; a phone-width window shows the calendar as a list without horizontal
//! scrolling (screenshots go to `target/browser-screenshots/`).
//!
//! Needs `chromium`, `chromium-driver` and `fonts-noto-cjk` (Debian). Without them each
//! test prints a notice and passes, unless `TONGXIN_REQUIRE_BROWSER=1`.

mod browser_support;

use std::collections::BTreeSet;

use browser_support::{DESKTOP, NARROW, Ui};
use chrono::{Datelike, Months, NaiveDate};
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Zh,
    En,
}

impl Lang {
    fn t<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    fn code(self) -> &'static str {
        self.t("zh", "en")
    }

    /// A calendar heading's month, as the server writes it.
    fn month_title(self, month: NaiveDate) -> String {
        match self {
            Lang::Zh => format!("{}年{}月", month.year(), month.month()),
            Lang::En => month.format("%B %Y").to_string(),
        }
    }
}

/// The scenario county (莆田市仙游县) and its township (枫亭镇).
const COUNTY: &str = "350322";
const COUNTY_NAME: &str = "仙游县";
const TOWNSHIP: &str = "350322100";
const TOWNSHIP_NAME: &str = "枫亭镇";

/// One `.event` link on a calendar page, as rendered.
#[derive(Debug, Clone)]
struct Event {
    href: String,
    title: String,
    text: String,
    kind: String,
    in_month: bool,
    visible: bool,
}

const EVENTS_JS: &str = r#"
return Array.from(document.querySelectorAll('table.calendar a.event, #ongoing a.event')).map(e => ({
  href: e.getAttribute('href'),
  title: e.getAttribute('title') || '',
  text: e.innerText,
  kind: (Array.from(e.classList).find(c => c.startsWith('kind-')) || '').slice(5),
  in_month: e.closest('td') ? !e.closest('td').classList.contains('out') : true,
  visible: e.checkVisibility(),
}));
"#;

fn s(v: &Value, k: &str) -> String {
    v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

async fn events(ui: &Ui) -> Vec<Event> {
    let v = ui.js(EVENTS_JS, Vec::new()).await;
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| Event {
                    href: s(e, "href"),
                    title: s(e, "title"),
                    text: s(e, "text"),
                    kind: s(e, "kind"),
                    in_month: e.get("in_month").and_then(Value::as_bool).unwrap_or(false),
                    visible: e.get("visible").and_then(Value::as_bool).unwrap_or(false),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Reads `#month-total` as a number.
async fn month_total(ui: &Ui) -> usize {
    let t = ui.text("#month-total").await;
    t.trim().parse().unwrap_or_else(|_| panic!("{}: #month-total is not a number: {t:?}", ui.test))
}

fn this_month() -> NaiveDate {
    let t = chrono::Local::now().date_naive();
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).expect("first of the month")
}

fn month_param(m: NaiveDate) -> String {
    m.format("%Y-%m").to_string()
}

/// Opens `/login`, checks the page language, and switches to English when asked.
async fn open_login(ui: &Ui, lang: Lang) {
    ui.goto("/login").await;
    assert_eq!(
        ui.lang().await,
        "zh-CN",
        "{}: a browser preferring zh-CN should get the Chinese sign-in page",
        ui.test
    );
    assert_eq!(ui.text("h1").await, "登录", "{}: the Chinese sign-in heading", ui.test);
    if lang == Lang::En {
        ui.switch_to_english().await;
        assert_eq!(ui.text("h1").await, "Sign in", "{}: the English sign-in heading", ui.test);
    }
}

/// Checks the calendar heading and the language of the page.
async fn assert_calendar_heading(ui: &Ui, lang: Lang, unit_name: &str, month: NaiveDate) {
    let title = ui.text("#calendar-title").await;
    let want = format!("{unit_name} · {}", lang.month_title(month));
    assert_eq!(title, want, "{}: the calendar heading", ui.test);
    let lead = ui.text("p.muted").await;
    assert!(
        lead.contains(lang.t("本月共", "This month:")),
        "{}: the month summary should be in {}: {lead:?}",
        ui.test,
        lang.code()
    );
}

// ----- 1. sign in and find demands on calendars -----

async fn cadre_finds_demands_on_calendars(test: &'static str, lang: Lang) {
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    open_login(&ui, lang).await;
    ui.sign_in(&format!("cadre.{COUNTY}")).await;
    let greeting = ui.text("h1").await;
    assert_eq!(
        greeting,
        format!("{}，{COUNTY_NAME}干部", lang.t("你好", "Hello")),
        "{}: the start page greets the signed-in cadre",
        test
    );

    // My unit → its page → its calendar (this month).
    ui.click(&format!("header nav a[href=\"/units/{COUNTY}\"]")).await;
    ui.wait_path("the county's unit page", |p| p == format!("/units/{COUNTY}")).await;
    assert_eq!(ui.text("#unit-name").await, COUNTY_NAME, "{test}: the unit page's heading");
    ui.click("#open-calendar").await;
    ui.wait_path("the county calendar", |p| p.starts_with(&format!("/units/{COUNTY}/calendar"))).await;
    assert_calendar_heading(&ui, lang, COUNTY_NAME, this_month()).await;

    // April 2026: the county's two months of guidance visits on one matter.
    let april = NaiveDate::from_ymd_opt(2026, 4, 1).expect("date");
    ui.goto(&format!("/units/{COUNTY}/calendar?month=2026-04")).await;
    assert_calendar_heading(&ui, lang, COUNTY_NAME, april).await;
    let total = month_total(&ui).await;
    assert!(total > 0, "{test}: {COUNTY_NAME} has demands in April 2026, but #month-total is {total}");
    let evs = events(&ui).await;
    let shown: BTreeSet<&str> = evs.iter().filter(|e| e.in_month).map(|e| e.href.as_str()).collect();
    assert_eq!(
        shown.len(),
        total,
        "{test}: #month-total ({total}) should equal the number of distinct demands shown on April's days and in the ongoing list"
    );
    assert!(
        evs.iter().all(|e| e.visible && !e.text.trim().is_empty()),
        "{test}: every event link on a desktop calendar is visible with text"
    );
    let visits: BTreeSet<&str> = evs
        .iter()
        .filter(|e| e.in_month && e.kind == "guidance_visit" && e.title.contains("指导"))
        .map(|e| e.href.as_str())
        .collect();
    assert!(
        visits.len() >= 5,
        "{test}: April 2026 should show many guidance visits to {COUNTY_NAME} (the 32-visits case), found {}",
        visits.len()
    );
    ui.screenshot(&format!("calendar-desktop-{}-{}", COUNTY, lang.code())).await;

    // An event link opens the demand.
    let first = evs.iter().find(|e| e.kind == "guidance_visit").expect("a guidance visit").clone();
    ui.click(&format!("a.event[href=\"{}\"]", first.href)).await;
    ui.wait_path("the demand page", |p| p == first.href).await;
    assert_eq!(
        ui.text("#demand-title").await,
        first.title,
        "{test}: the demand page shows the event's title"
    );
    let facts = ui.text("dl.facts").await;
    assert!(
        facts.contains(lang.t("对象单位", "Target units")) && facts.contains(COUNTY_NAME),
        "{test}: the demand's facts name the target unit in {}: {facts:?}",
        lang.code()
    );

    // The township below: the flood-season meeting cascading down to it in June.
    ui.goto(&format!("/units/{COUNTY}")).await;
    ui.click(&format!("#children a[href=\"/units/{TOWNSHIP}\"]")).await;
    ui.wait_path("the township's unit page", |p| p == format!("/units/{TOWNSHIP}")).await;
    assert_eq!(ui.text("#unit-name").await, TOWNSHIP_NAME, "{test}: the township's heading");
    ui.click("#open-calendar").await;
    ui.wait_path("the township calendar", |p| p.starts_with(&format!("/units/{TOWNSHIP}/calendar"))).await;
    let june = NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    ui.goto(&format!("/units/{TOWNSHIP}/calendar?month=2026-06")).await;
    assert_calendar_heading(&ui, lang, TOWNSHIP_NAME, june).await;
    assert!(month_total(&ui).await > 0, "{test}: {TOWNSHIP_NAME} has demands in June 2026");
    let flood: BTreeSet<String> = events(&ui)
        .await
        .into_iter()
        .filter(|e| e.in_month && e.kind == "meeting" && e.title.contains("防汛"))
        .map(|e| e.title)
        .collect();
    assert!(
        flood.len() >= 4,
        "{test}: the flood-season meeting should reach {TOWNSHIP_NAME} from four levels in June 2026, found {flood:?}"
    );
    ui.finish().await;
}

#[tokio::test]
async fn cadre_signs_in_and_sees_guidance_visits_and_cascading_meetings_on_calendars_zh() {
    cadre_finds_demands_on_calendars(
        "cadre_signs_in_and_sees_guidance_visits_and_cascading_meetings_on_calendars_zh",
        Lang::Zh,
    )
    .await;
}

#[tokio::test]
async fn cadre_signs_in_and_sees_guidance_visits_and_cascading_meetings_on_calendars_en() {
    cadre_finds_demands_on_calendars(
        "cadre_signs_in_and_sees_guidance_visits_and_cascading_meetings_on_calendars_en",
        Lang::En,
    )
    .await;
}

// ----- 2. register a demand and find it on the calendar -----

/// What the form is filled with.
struct Registration<'a> {
    title: &'a str,
    topic: &'a str,
    targets: &'a str,
    starts_at: String,
    ends_at: String,
}

/// Fills the registration form (already open) as `staff.agri` would.
async fn fill_form(ui: &Ui, r: &Registration<'_>) {
    ui.select("#kind", "meeting").await;
    let source = ui.value("#source_body").await;
    assert!(!source.is_empty(), "{}: the source body defaults to the staff's own department", ui.test);
    let source_label = ui
        .js(
            "const s = document.querySelector('#source_body'); return s.options[s.selectedIndex].text",
            Vec::new(),
        )
        .await;
    assert_eq!(
        source_label.as_str(),
        Some("福建省农业农村厅"),
        "{}: staff.agri registers for 福建省农业农村厅 by default",
        ui.test
    );
    ui.type_into("#title", r.title).await;
    ui.type_into("#topic", r.topic).await;
    ui.type_into("#targets", r.targets).await;
    ui.set_value("#starts_at", &r.starts_at).await;
    ui.set_value("#ends_at", &r.ends_at).await;
    ui.type_into("#cadre_hours", "3").await;
    let checked = ui.js("return document.querySelector('#level-township').checked", Vec::new()).await;
    if checked != json!(true) {
        ui.click("#level-township").await;
    }
    assert_eq!(
        ui.js("return document.querySelector('#level-township').checked", Vec::new()).await,
        json!(true),
        "{}: the township level checkbox is ticked",
        ui.test
    );
}

/// Signs in as `staff.agri` and opens the registration form from the header.
async fn open_registration(ui: &Ui, lang: Lang) {
    open_login(ui, lang).await;
    ui.sign_in("staff.agri").await;
    ui.click("#nav-register").await;
    ui.wait_path("the registration form", |p| p == "/demands/new").await;
    assert_eq!(
        ui.text("h1").await,
        lang.t("登记事项", "Register a demand"),
        "{}: the form's heading",
        ui.test
    );
}

async fn staff_registers_demand(test: &'static str, lang: Lang, day: u32, title: &str, topic: &str) {
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    open_registration(&ui, lang).await;
    let next = this_month().checked_add_months(Months::new(1)).expect("next month");
    let date = next.with_day(day).expect("a day of next month");
    let r = Registration {
        title,
        topic,
        targets: TOWNSHIP,
        starts_at: format!("{date}T09:00"),
        ends_at: format!("{date}T11:30"),
    };
    fill_form(&ui, &r).await;
    ui.click("#submit-demand").await;
    let path =
        ui.wait_path("the new demand's page", |p| p.starts_with("/demands/") && p != "/demands/new").await;
    if ui.exists("#form-errors").await {
        panic!("{test}: the registration was refused: {}", ui.text("#form-errors").await);
    }
    assert_eq!(
        ui.text("#demand-title").await,
        title,
        "{test}: the new demand's page ({path}) shows its title"
    );
    assert_eq!(ui.text("#demand-status").await, lang.t("计划", "planned"), "{test}: a new demand is planned");
    let facts = ui.text("dl.facts").await;
    let when = format!("{date} 09:00 – {date} 11:30");
    assert!(facts.contains(&when), "{test}: the demand page shows the time {when:?}: {facts:?}");
    assert!(facts.contains("福建省农业农村厅"), "{test}: the demand page names the source body: {facts:?}");
    assert!(
        facts.contains(lang.t("乡镇", "township")),
        "{test}: the demand page lists the township level to attend: {facts:?}"
    );
    ui.screenshot(&format!("register-done-{}", lang.code())).await;
    let history = ui.text("#history").await;
    assert!(
        history.contains("staff.agri") && history.contains(lang.t("登记", "created")),
        "{test}: the history records who registered it: {history:?}"
    );

    // Target unit → its calendar → next month: the demand is there.
    ui.click(&format!("dl.facts a[href=\"/units/{TOWNSHIP}\"]")).await;
    ui.wait_path("the target unit's page", |p| p == format!("/units/{TOWNSHIP}")).await;
    ui.click("#open-calendar").await;
    ui.wait_path("the target unit's calendar", |p| p.starts_with(&format!("/units/{TOWNSHIP}/calendar")))
        .await;
    assert_calendar_heading(&ui, lang, TOWNSHIP_NAME, this_month()).await;
    ui.click("#next-month").await;
    let want_month = month_param(next);
    ui.wait_path("next month's calendar", |p| p.ends_with(&format!("month={want_month}"))).await;
    assert_calendar_heading(&ui, lang, TOWNSHIP_NAME, next).await;
    assert!(month_total(&ui).await >= 1, "{test}: next month counts at least the new demand");
    let mine: Vec<Event> = events(&ui).await.into_iter().filter(|e| e.title == title).collect();
    assert_eq!(mine.len(), 1, "{test}: the new demand appears once, on {date}, in the calendar: {mine:?}");
    assert!(mine[0].visible, "{test}: the new demand's event link is visible");
    assert_eq!(mine[0].text, format!("09:00 {title}"), "{test}: the event link reads time and title");
    assert_eq!(mine[0].href, path, "{test}: the event links to the new demand");
    let cell = ui
        .js(
            "return document.querySelector('a.event[href=\"' + arguments[0] + '\"]').closest('td').dataset.date",
            vec![json!(path)],
        )
        .await;
    assert_eq!(cell.as_str(), Some(date.to_string().as_str()), "{test}: the event sits on its day");
    ui.finish().await;
}

#[tokio::test]
async fn body_staff_registers_a_demand_and_finds_it_on_the_target_calendar_zh() {
    staff_registers_demand(
        "body_staff_registers_a_demand_and_finds_it_on_the_target_calendar_zh",
        Lang::Zh,
        10,
        "浏览器测试：春耕生产调度会（中文界面）",
        "春耕生产",
    )
    .await;
}

#[tokio::test]
async fn body_staff_registers_a_demand_and_finds_it_on_the_target_calendar_en() {
    staff_registers_demand(
        "body_staff_registers_a_demand_and_finds_it_on_the_target_calendar_en",
        Lang::En,
        12,
        "Browser test: spring planting review (English UI)",
        "spring planting",
    )
    .await;
}

// ----- 3. a bad registration -----

/// The text of the `.field-error` next to the input `css`.
async fn field_error(ui: &Ui, css: &str) -> String {
    ui.js(
        "const e = document.querySelector(arguments[0]).closest('label').querySelector('.field-error'); \
         return e ? e.innerText : '';",
        vec![json!(css)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Submits and expects the form back with errors; returns the `#form-errors` text.
async fn submit_expecting_errors(ui: &Ui, lang: Lang, what: &str) -> String {
    ui.click_and_wait_for_new_page("#submit-demand").await;
    let errors = ui.wait_for("#form-errors").await;
    let text = errors.text().await.expect("#form-errors text");
    assert_eq!(
        ui.path().await,
        "/demands/new",
        "{}: {what}: the form comes back, nothing is created",
        ui.test
    );
    assert!(
        text.starts_with(lang.t("请更正以下问题：", "Please correct the following:")),
        "{}: {what}: the error list opens in {}: {text:?}",
        ui.test,
        lang.code()
    );
    assert!(ui.exists("#demand-form").await, "{}: {what}: the form is shown again", ui.test);
    text
}

async fn bad_registration_is_refused(test: &'static str, lang: Lang, title: &str) {
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    open_registration(&ui, lang).await;
    let next = this_month().checked_add_months(Months::new(1)).expect("next month");
    let date = next.with_day(15).expect("the 15th");

    // Ends before it starts.
    let r = Registration {
        title,
        topic: lang.t("防汛", "flood season"),
        targets: TOWNSHIP,
        starts_at: format!("{date}T15:00"),
        ends_at: format!("{date}T09:00"),
    };
    fill_form(&ui, &r).await;
    let text = submit_expecting_errors(&ui, lang, "ends before starts").await;
    let want = lang.t("结束时间不能早于开始时间", "ends_at must not be before starts_at");
    assert!(text.contains(want), "{test}: the error list says {want:?}: {text:?}");
    let by_field = field_error(&ui, "#ends_at").await;
    assert!(by_field.contains(want), "{test}: the error shows next to the end time: {by_field:?}");
    if lang == Lang::En {
        assert!(!has_cjk(&by_field), "{test}: the field error is in English: {by_field:?}");
    }
    assert_eq!(ui.value("#title").await, title, "{test}: the refused form keeps the title as typed");
    assert_eq!(ui.value("#ends_at").await, format!("{date}T09:00"), "{test}: … and the end time");

    // Times fixed, but one target unit does not exist.
    ui.set_value("#ends_at", &format!("{date}T17:00")).await;
    let targets = format!("{TOWNSHIP}, 350399");
    ui.type_into("#targets", &targets).await;
    let text = submit_expecting_errors(&ui, lang, "unknown target unit").await;
    assert!(text.contains("350399"), "{test}: the error list names the unknown unit 350399: {text:?}");
    let unknown = lang.t("不存在", "unknown");
    assert!(text.contains(unknown), "{test}: the error list says the unit is {unknown:?}: {text:?}");
    if lang == Lang::En {
        let messages: String = text.lines().skip(1).collect();
        assert!(!has_cjk(&messages), "{test}: the errors are in English: {text:?}");
    }
    let by_field = field_error(&ui, "#targets").await;
    assert!(by_field.contains("350399"), "{test}: the error shows next to the target units: {by_field:?}");
    assert_eq!(ui.value("#targets").await, targets, "{test}: the refused form keeps the targets as typed");
    ui.full_page_screenshot(&format!("register-refused-{}", lang.code())).await;

    // Nothing was registered: the township's calendar for that month does not show it.
    ui.goto(&format!("/units/{TOWNSHIP}/calendar?month={}", month_param(next))).await;
    assert_calendar_heading(&ui, lang, TOWNSHIP_NAME, next).await;
    let found: Vec<Event> = events(&ui).await.into_iter().filter(|e| e.title == title).collect();
    assert!(found.is_empty(), "{test}: a refused registration must not be on the calendar: {found:?}");
    let body = ui.body_text().await;
    assert!(!body.contains(title), "{test}: the refused title appears nowhere on the calendar page");
    ui.finish().await;
}

#[tokio::test]
async fn bad_registration_shows_field_errors_in_chinese_and_registers_nothing() {
    bad_registration_is_refused(
        "bad_registration_shows_field_errors_in_chinese_and_registers_nothing",
        Lang::Zh,
        "浏览器测试：不应登记的会议（中文界面）",
    )
    .await;
}

#[tokio::test]
async fn bad_registration_shows_field_errors_in_english_and_registers_nothing() {
    bad_registration_is_refused(
        "bad_registration_shows_field_errors_in_english_and_registers_nothing",
        Lang::En,
        "Browser test: a meeting that must not be registered (English UI)",
    )
    .await;
}

// ----- 4. a phone-width window -----

const LAYOUT_JS: &str = r#"
const cells = Array.from(document.querySelectorAll('table.calendar td'));
const shown = cells.filter(td => td.checkVisibility());
return {
  inner_width: window.innerWidth,
  scroll_width: document.documentElement.scrollWidth,
  body_scroll_width: document.body.scrollWidth,
  head_display: getComputedStyle(document.querySelector('table.calendar thead')).display,
  cell_display: shown.length ? getComputedStyle(shown[0]).display : '',
  shown: shown.length,
  shown_busy: shown.filter(td => td.classList.contains('busy')).length,
  busy: cells.filter(td => td.classList.contains('busy')).length,
  widest_right: Math.max(0, ...Array.from(document.querySelectorAll('body *')).map(e => e.getBoundingClientRect().right)),
};
"#;

async fn narrow_calendar_is_a_list(test: &'static str, lang: Lang) {
    let Some(ui) = Ui::start(test, NARROW).await else { return };
    open_login(&ui, lang).await;
    ui.sign_in(&format!("cadre.{TOWNSHIP}")).await;
    for (unit, name, month) in [(TOWNSHIP, TOWNSHIP_NAME, "2026-06"), (COUNTY, COUNTY_NAME, "2026-04")] {
        ui.goto(&format!("/units/{unit}/calendar?month={month}")).await;
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").expect("month");
        assert_calendar_heading(&ui, lang, name, first).await;
        let l = ui.js(LAYOUT_JS, Vec::new()).await;
        let num = |k: &str| l.get(k).and_then(Value::as_f64).unwrap_or(-1.0);
        let inner = num("inner_width");
        assert!(
            inner > 0.0 && inner <= f64::from(NARROW.0),
            "{test}: the window should be {} px wide, the page sees {inner}",
            NARROW.0
        );
        assert!(
            num("scroll_width") <= inner && num("body_scroll_width") <= inner,
            "{test}: {name} {month} at {inner} px must not scroll sideways: {l}"
        );
        assert!(
            num("widest_right") <= inner + 0.5,
            "{test}: {name} {month}: every element fits within {inner} px: {l}"
        );
        assert_eq!(s(&l, "head_display"), "none", "{test}: the weekday header is hidden on a phone: {l}");
        assert_eq!(s(&l, "cell_display"), "block", "{test}: days are stacked as a list: {l}");
        assert!(num("shown") > 0.0, "{test}: {name} {month} lists some days: {l}");
        assert_eq!(num("shown"), num("shown_busy"), "{test}: only days with demands are listed: {l}");
        assert_eq!(num("shown_busy"), num("busy"), "{test}: every busy day is listed: {l}");
        let evs = events(&ui).await;
        assert!(
            evs.iter().all(|e| e.visible),
            "{test}: every event of {name} {month} is visible in the list"
        );
        let total = month_total(&ui).await;
        assert!(total > 0, "{test}: {name} {month} has demands");
        ui.screenshot(&format!("calendar-375-{unit}-{month}-{}", lang.code())).await;
        ui.full_page_screenshot(&format!("calendar-375-{unit}-{month}-{}-full", lang.code())).await;
    }
    ui.finish().await;
}

#[tokio::test]
async fn narrow_window_renders_the_calendar_as_a_list_without_horizontal_overflow_zh() {
    narrow_calendar_is_a_list(
        "narrow_window_renders_the_calendar_as_a_list_without_horizontal_overflow_zh",
        Lang::Zh,
    )
    .await;
}

#[tokio::test]
async fn narrow_window_renders_the_calendar_as_a_list_without_horizontal_overflow_en() {
    narrow_calendar_is_a_list(
        "narrow_window_renders_the_calendar_as_a_list_without_horizontal_overflow_en",
        Lang::En,
    )
    .await;
}

// ----- 5. the burden dashboard: drill down the heat map, read the findings -----

/// Reads `#findings-count` as a number.
async fn findings_count(ui: &Ui) -> usize {
    let t = ui.text("#findings-count").await;
    t.trim().parse().unwrap_or_else(|_| panic!("{}: #findings-count is not a number: {t:?}", ui.test))
}

async fn office_drills_down_the_dashboard(test: &'static str, lang: Lang) {
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    open_login(&ui, lang).await;
    ui.sign_in("office").await;
    ui.click("#nav-burden").await;
    ui.wait_path("the burden dashboard", |p| p.starts_with("/burden")).await;
    let title = ui.text("#dashboard-title").await;
    assert!(
        title.starts_with(lang.t("减负看板", "Burden dashboard")) && title.contains("福建省"),
        "{test}: the dashboard opens on the office's province: {title:?}"
    );
    assert!(ui.exists("#heat-legend").await, "{test}: the heat map has a legend");
    let hours = ui.text("#total-hours").await;
    assert!(!hours.is_empty(), "{test}: the province's cadre-hours are shown");
    assert!(findings_count(&ui).await > 0, "{test}: the province has findings");
    assert!(ui.exists("#findings tr.finding").await, "{test}: the findings are listed");
    ui.screenshot(&format!("burden-province-{}", lang.code())).await;

    // Drill down: 莆田市, the scenario county's prefecture.
    let cell = "#heatmap a[data-code=\"3503\"]";
    assert!(ui.exists(cell).await, "{test}: 莆田市 is a cell of the province's heat map");
    ui.click_and_wait_for_new_page(cell).await;
    ui.wait_path("莆田市's dashboard", |p| p.contains("unit=3503")).await;
    let title = ui.text("#dashboard-title").await;
    assert!(title.contains("莆田市"), "{test}: the dashboard shows 莆田市 after the click: {title:?}");
    let crumbs = ui.text("#crumbs").await;
    assert!(crumbs.contains("福建省") && crumbs.contains("莆田市"), "{test}: the breadcrumb: {crumbs:?}");
    assert!(ui.exists("#crumbs a[href^=\"/burden?unit=35&\"]").await, "{test}: the province is a link up");
    assert!(
        ui.exists(&format!("#heatmap a[data-code=\"{COUNTY}\"]")).await,
        "{test}: {COUNTY_NAME} is a cell of 莆田市's heat map"
    );
    let heading = ui.text("#findings-heading").await;
    assert!(heading.starts_with(lang.t("违规与提示", "Findings")), "{test}: {heading:?}");
    let n = findings_count(&ui).await;
    assert!(n > 0, "{test}: 莆田市 (with the scenario county) has findings");
    assert!(
        ui.exists("#findings tr.finding td a[href^=\"/demands/\"]").await,
        "{test}: findings link demands"
    );

    // Filter by severity through the form.
    ui.select("#filter-severity", "violation").await;
    ui.click_and_wait_for_new_page("#apply-filter").await;
    ui.wait_path("the filtered list", |p| p.contains("severity=violation")).await;
    assert!(findings_count(&ui).await <= n, "{test}: a filter narrows the list");
    ui.screenshot(&format!("burden-3503-{}", lang.code())).await;
    ui.full_page_screenshot(&format!("burden-3503-{}-full", lang.code())).await;

    // Every scenario of DESIGN.md §1 shows on the scenario county's dashboard, each found
    // by its rule: the three divisions (merge), the 30+ guidance visits (monthly cap), the
    // stationed work group (hosting load), the cascading meeting (repetition at the
    // township), the field asked by five bodies (duplicate data at the village), the 300+
    // indicators (inflation).
    for rule in [
        "coordination.merge",
        "visit.cap_per_unit",
        "workgroup.hosting_load",
        "repetition.topic",
        "data.duplicate_field",
        "indicator.inflation",
    ] {
        ui.goto(&format!("/burden?unit={COUNTY}&year=2026&rule={rule}")).await;
        assert!(findings_count(&ui).await > 0, "{test}: {COUNTY_NAME}'s dashboard lists {rule} findings");
        assert!(
            ui.exists(&format!("#findings tr.finding[data-rule=\"{rule}\"]")).await,
            "{test}: a {rule} row is shown"
        );
    }
    ui.finish().await;
}

#[tokio::test]
async fn office_drills_down_the_burden_dashboard_and_sees_findings_zh() {
    office_drills_down_the_dashboard(
        "office_drills_down_the_burden_dashboard_and_sees_findings_zh",
        Lang::Zh,
    )
    .await;
}

#[tokio::test]
async fn office_drills_down_the_burden_dashboard_and_sees_findings_en() {
    office_drills_down_the_dashboard(
        "office_drills_down_the_burden_dashboard_and_sees_findings_en",
        Lang::En,
    )
    .await;
}

// ----- 6. pre-check a planned demand on the registration form -----

async fn staff_prechecks_demand(test: &'static str, lang: Lang, title: &str) {
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    open_registration(&ui, lang).await;
    let next = this_month().checked_add_months(Months::new(1)).expect("next month");
    let date = next.with_day(14).expect("a day of next month");
    let r = Registration {
        title,
        topic: "春耕生产",
        targets: TOWNSHIP,
        starts_at: format!("{date}T09:00"),
        ends_at: format!("{date}T11:30"),
    };
    fill_form(&ui, &r).await;
    // A 90-minute principal speech breaks the meeting rules (at most 60).
    ui.type_into("input[name=speech_minutes]", "90").await;
    ui.click_and_wait_for_new_page("#precheck-demand").await;
    ui.wait_for("#precheck").await;
    assert_eq!(ui.path().await, "/demands/new", "{test}: a pre-check stays on the form");
    assert!(!ui.exists("#form-errors").await, "{test}: the form is valid: {}", ui.body_text().await);
    let heading = ui.text("#precheck-title").await;
    assert!(heading.starts_with(lang.t("预检结果", "Pre-check")), "{test}: {heading:?}");
    assert!(
        ui.exists("#precheck-findings li[data-rule=\"meeting.duration\"]").await,
        "{test}: the long speech is flagged: {}",
        ui.text("#precheck").await
    );
    let added = ui.text("#precheck-added").await;
    assert!(added.contains(TOWNSHIP_NAME) && added.contains("→"), "{test}: the burden added: {added:?}");
    assert_eq!(ui.value("#title").await, title, "{test}: the form keeps its values");
    assert_eq!(ui.value("input[name=speech_minutes]").await, "90", "{test}: the form keeps its values");
    ui.screenshot(&format!("precheck-{}", lang.code())).await;
    ui.finish().await;
}

#[tokio::test]
async fn body_staff_prechecks_a_planned_demand_zh() {
    staff_prechecks_demand(
        "body_staff_prechecks_a_planned_demand_zh",
        Lang::Zh,
        "浏览器测试：预检的调度会（中文）",
    )
    .await;
}

#[tokio::test]
async fn body_staff_prechecks_a_planned_demand_en() {
    staff_prechecks_demand(
        "body_staff_prechecks_a_planned_demand_en",
        Lang::En,
        "浏览器测试：预检的调度会（英文）",
    )
    .await;
}
