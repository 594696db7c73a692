//! The safe voice through a real browser (issue 5): the real `tongxin demo` binary and
//! headless Chromium. In Chinese and in English, a township cadre opens the filing page,
//! whose script checks the county's issuer key against the transparency log, blinds the
//! allowance of token requests, takes it and unblinds the tokens (all in the browser);
//! the cadre cites a ledger demand (its cost is filled in from the ledger), addresses the
//! provincial agriculture department and files anonymously; the receipt secret and the
//! log proof appear once. The cadre signs out and opens the receipt (no session); the
//! department's staff acknowledge and answer in their inbox; the submitter reads the
//! answer through the receipt, rates it and sees the report closed; the public
//! responsiveness page shows the department with its figures withheld under k.
//!
//! Needs `chromium`, `chromium-driver` and `fonts-noto-cjk`; without them each test
//! prints a notice and passes, unless `TONGXIN_REQUIRE_BROWSER=1`.

#[allow(dead_code)] // the harness is shared with tests/browser.rs, which uses all of it
mod browser_support;

use std::time::Duration;

use browser_support::{DESKTOP, NARROW, Ui};
use serde_json::json;

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
}

/// The scenario township (枫亭镇) and its county (仙游县), the default disclosure scope.
const TOWNSHIP: &str = "350322100";
const COUNTY: &str = "350322";
/// The provincial department the report is addressed to, and its staff account.
const DEPARTMENT: &str = "福建省农业农村厅";
const STAFF: &str = "staff.agri";
/// One of its divisions.
const DIVISION: &str = "种植业管理处";
/// The county's burden-reduction office.
const OFFICE: &str = "office.350322";

/// Token issuance (an RSA key made on first need, a log checkpoint, blinding in the
/// browser) takes longer than a page load.
const TOKENS_WAIT: Duration = Duration::from_secs(120);

/// Waits until the page has taken the tokens of every scope it offers (the status lines
/// above the form stop changing, so the form's fields stop moving).
async fn wait_tokens_settled(ui: &Ui) {
    ui.wait_js_true(
        "every scope's tokens",
        "return document.body.dataset.tokens === 'settled';",
        TOKENS_WAIT,
    )
    .await;
}

/// Moves the stored allowances' taking time back past the holding period (the test's
/// stand-in for waiting a day), then lets the page re-evaluate the form.
async fn hold_passed(ui: &Ui) {
    ui.js(
        "const hold = JSON.parse(document.getElementById('voice-config').textContent).hold_hours; \
         for (let i = 0; i < localStorage.length; i++) { \
           const k = localStorage.key(i); \
           if (!k.startsWith('tongxin.voice.tokens.v1.')) continue; \
           const v = JSON.parse(localStorage.getItem(k)); \
           v.obtained_at = Date.now() - (hold + 1) * 3600 * 1000; \
           localStorage.setItem(k, JSON.stringify(v)); \
         } \
         document.querySelector('input[name=scope]:checked').dispatchEvent(new Event('change')); \
         return true;",
        Vec::new(),
    )
    .await;
}

/// A phone-width page must not scroll sideways.
async fn assert_fits(ui: &Ui, what: &str) {
    let fits = ui.js("return document.documentElement.scrollWidth <= window.innerWidth", Vec::new()).await;
    assert_eq!(fits, json!(true), "{}: {what} overflows a narrow window sideways", ui.test);
}

async fn open_receipt(ui: &Ui, secret: &str) {
    ui.goto("/voice/receipt").await;
    ui.type_into("#secret", secret).await;
    ui.click_and_wait_for_new_page("#check-receipt").await;
    ui.wait_for("#report-state").await;
    assert!(!ui.path().await.contains(secret), "{}: the secret went into a URL", ui.test);
}

async fn file_answer_rate(lang: Lang, test: &'static str) {
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    if lang == Lang::En {
        ui.goto("/lang/en?next=/login").await;
    } else {
        ui.goto("/login").await;
    }
    ui.sign_in(&format!("cadre.{TOWNSHIP}")).await;

    // The filing page: scopes with their anonymity meter; the village-free lineage, the
    // county preselected; the script's hash shown.
    ui.goto("/voice/new").await;
    assert_eq!(ui.lang().await, lang.t("zh-CN", "en"));
    ui.wait_for("#voice-form:not([hidden])").await;
    let county = ui.wait_for(&format!("input[name=scope][value='{COUNTY}']")).await;
    assert!(county.is_selected().await.unwrap(), "{test}: the county is the default scope");
    let meter = ui.text(&format!("[data-meter='{COUNTY}']")).await;
    assert!(meter.contains(lang.t("名干部", "cadres share this scope")), "{test}: meter: {meter}");
    let hash = ui.text("#script-hash code").await;
    assert_eq!(hash.len(), 64, "{test}: the script's SHA-256 is shown");
    let served = ui
        .js(
            "return fetch('/static/voice.js').then(r => r.arrayBuffer()).then(b => crypto.subtle.digest('SHA-256', b)).then(h => Array.from(new Uint8Array(h), x => x.toString(16).padStart(2, '0')).join(''))",
            Vec::new(),
        )
        .await;
    assert_eq!(served, json!(hash), "{test}: the hash shown is the hash of the served script");

    // The tokens: key checked against the log, blinded, issued, unblinded, stored.
    let status = format!("[data-token-status='{COUNTY}']");
    ui.wait_js_true("the county's tokens",
        &format!("const e = document.querySelector(\"{status}\"); if (e && e.classList.contains('bad')) throw new Error(e.textContent); return !!e && e.classList.contains('ok');"),
        TOKENS_WAIT,
    )
    .await;
    wait_tokens_settled(&ui).await;
    let stored = ui
        .js(
            &format!("return JSON.parse(localStorage.getItem('tongxin.voice.tokens.v1.{COUNTY}.' + JSON.parse(document.getElementById('voice-config').textContent).period)).tokens.length"),
            Vec::new(),
        )
        .await;
    assert_eq!(stored, json!(10), "{test}: the allowance is kept in the browser");
    // In a month's last days, next month's allowance is taken ahead too.
    let next = ui
        .js(
            &format!(
                "const c = JSON.parse(document.getElementById('voice-config').textContent); \
                 if (!c.next_period) return null; \
                 const v = JSON.parse(localStorage.getItem('tongxin.voice.tokens.v1.{COUNTY}.' + c.next_period)); \
                 return v ? v.tokens.length : 0;"
            ),
            Vec::new(),
        )
        .await;
    assert!(next.is_null() || next == json!(10), "{test}: next month's allowance: {next}");

    // The report: cite a ledger demand (its cost comes from the ledger).
    ui.type_into(
        "#f-demanded",
        lang.t(
            "十天内四次同题会议，每次要求镇村干部参会",
            "Four meetings on one topic in ten days, township and village cadres required each time",
        ),
    )
    .await;
    let from = (chrono::Utc::now() - chrono::Duration::days(150)).format("%Y-%m-%d");
    let title = ui
        .js(
            "return fetch(arguments[0]).then(r => r.json()).then(b => b.items[0].title)",
            vec![json!(format!("/api/demands?cascade=1&limit=5&from={from}"))],
        )
        .await;
    let title =
        title.as_str().unwrap_or_else(|| panic!("{test}: no demand in the ledger to cite")).to_owned();
    ui.type_into("#cite-search", &title.chars().take(6).collect::<String>()).await;
    ui.click("#cite-results .cite-demands").await;
    ui.wait_for("#cited-list li").await;
    let cost = ui.value("#f-cost").await;
    assert!(cost.starts_with('《'), "{test}: citing a demand fills in its ledger cost: {cost:?}");
    if ui.value("#f-by_whom").await.trim().is_empty() {
        ui.type_into("#f-by_whom", DEPARTMENT).await;
    }
    ui.type_into("#f-fix", lang.t("合并为一次会议，视频参会", "One meeting, by video")).await;
    let addressed = ui
        .js(
            "const o = Array.from(document.querySelectorAll('#f-addressed option')).find(o => o.textContent === arguments[0]); return o ? o.value : null;",
            vec![json!(DEPARTMENT)],
        )
        .await;
    let addressed =
        addressed.as_str().unwrap_or_else(|| panic!("{test}: {DEPARTMENT} is not offered")).to_owned();
    ui.select("#f-addressed", &addressed).await;
    // Tokens taken seconds ago are held: anonymous filing waits, so that the allowance
    // and the report cannot be matched by their timing.
    let mode = ui.text("#file-mode").await;
    assert!(mode.contains(lang.t("小时", "hours apart")), "{test}: {mode}");
    assert_eq!(
        ui.js("return document.getElementById('file-submit').disabled", Vec::new()).await,
        json!(true),
        "{test}: fresh tokens cannot be spent"
    );
    hold_passed(&ui).await;
    let mode = ui.text("#file-mode").await;
    assert!(mode.contains(lang.t("将匿名提交", "Filed anonymously")), "{test}: {mode}");
    ui.full_page_screenshot(&format!("{test}_filing")).await;
    ui.click("#file-submit").await;

    // The receipt, shown once, with the log proof.
    ui.wait_js_true("the receipt",
        "const err = document.getElementById('file-error'); if (!err.hidden) throw new Error(err.textContent); return !document.getElementById('receipt').hidden;",
        Duration::from_secs(30),
    )
    .await;
    let secret = ui.text("#receipt-secret").await;
    assert_eq!(secret.len(), 39, "{test}: receipt secret {secret:?}");
    let proof = ui.text("#receipt-proof").await;
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1"), "{test}: proof {proof:?}");
    let left = ui
        .js(
            &format!("return JSON.parse(localStorage.getItem('tongxin.voice.tokens.v1.{COUNTY}.' + JSON.parse(document.getElementById('voice-config').textContent).period)).tokens.length"),
            Vec::new(),
        )
        .await;
    assert_eq!(left, json!(9), "{test}: one token spent");
    ui.full_page_screenshot(&format!("{test}_receipt")).await;
    ui.sign_out().await;

    // The receipt, without a session.
    open_receipt(&ui, &secret).await;
    assert_eq!(ui.text("#report-state").await, lang.t("已提交", "submitted"));
    assert_eq!(ui.text("#report-addressed").await, DEPARTMENT);

    // The department answers in its inbox.
    ui.goto("/login").await;
    ui.sign_in(STAFF).await;
    ui.goto("/voice/inbox").await;
    let article = "article.report[data-state='submitted']";
    ui.wait_for(article).await;
    assert!(ui.text(&format!("{article} .deadline.ack")).await.contains(lang.t("个工作日", "working day")));
    ui.click_and_wait_for_new_page(&format!("{article} button.acknowledge")).await;
    let article = "article.report[data-state='acknowledged']";
    ui.wait_for(article).await;
    // The department hands it to its division; the department still answers for it.
    let division = ui
        .js(
            "const o = Array.from(document.querySelectorAll('select.assign-to option')).find(o => o.textContent.includes(arguments[0])); return o ? o.value : null;",
            vec![json!(DIVISION)],
        )
        .await;
    let division =
        division.as_str().unwrap_or_else(|| panic!("{test}: {DIVISION} is not offered")).to_owned();
    ui.select(&format!("{article} select.assign-to"), &division).await;
    ui.click_and_wait_for_new_page(&format!("{article} button.assign")).await;
    let article = "article.report:has(.answer-form)";
    ui.wait_for(article).await;
    let answer =
        lang.t("已合并为一次视频会议，下月起执行。", "Merged into one video meeting from next month.");
    let cited = ui.text(&format!("{article} .cited-demands")).await;
    assert_eq!(cited, title, "{test}: the inbox shows the cited ledger demand");
    ui.full_page_screenshot(&format!("{test}_inbox")).await;
    ui.type_into(&format!("{article} .answer-form textarea"), answer).await;
    ui.click_and_wait_for_new_page(&format!("{article} button.answer")).await;
    ui.wait_for("article.report[data-state='answered']").await;
    ui.sign_out().await;

    // The submitter reads the answer and rates it; the report closes.
    open_receipt(&ui, &secret).await;
    assert_eq!(ui.text("#report-state").await, lang.t("已答复", "answered"));
    assert!(ui.text("#report-addressed").await.contains(DIVISION), "{test}: assigned to the division");
    assert!(ui.text("#messages").await.contains(answer), "{test}: the answer is shown");
    ui.click("#satisfaction-4").await;
    ui.click("#resolved-yes").await;
    ui.click_and_wait_for_new_page("#rate-submit").await;
    assert_eq!(ui.text("#report-state").await, lang.t("已办结", "closed"));
    assert!(ui.text("#report-rating").await.contains("4/5"));
    assert!(!ui.exists("#rate-form").await, "{test}: a closed report takes no rating");
    ui.full_page_screenshot(&format!("{test}_closed")).await;

    // The public page: no sign-in, the department listed, its figures withheld under k.
    ui.goto("/voice/rates").await;
    let table = ui.text("#rates-bodies").await;
    assert!(table.contains(&format!("{DEPARTMENT} · {DIVISION}")), "{test}: {table}");
    assert!(table.contains(lang.t("少于 10 份，不公开", "fewer than 10, not shown")), "{test}: {table}");
    ui.finish().await;
}

#[tokio::test]
async fn a_cadre_files_anonymously_the_body_answers_and_the_submitter_rates_zh() {
    file_answer_rate(Lang::Zh, "voice_zh").await;
}

#[tokio::test]
async fn a_cadre_files_anonymously_the_body_answers_and_the_submitter_rates_en() {
    file_answer_rate(Lang::En, "voice_en").await;
}

/// A report filed by name and left to the burden-reduction office: it appears on the
/// county office's escalation list, which routes it to the department; the department
/// then finds it in its inbox, marked as filed by name.
async fn named_report_routed_by_the_office(lang: Lang, test: &'static str) {
    let Some(ui) = Ui::start(test, NARROW).await else { return };
    if lang == Lang::En {
        ui.goto("/lang/en?next=/login").await;
    } else {
        ui.goto("/login").await;
    }
    ui.sign_in(&format!("cadre.{COUNTY}")).await;
    ui.goto("/voice/new").await;
    ui.wait_for("#voice-form:not([hidden])").await;
    wait_tokens_settled(&ui).await;
    let demanded = lang.t(
        "同一数据每月向三个处室分别报送",
        "The same figures reported monthly to three divisions separately",
    );
    ui.type_into("#f-demanded", demanded).await;
    ui.type_into("#f-by_whom", DEPARTMENT).await;
    ui.type_into("#f-cost", lang.t("每月约 2 个工作日", "about 2 working days a month")).await;
    ui.type_into("#f-fix", lang.t("一次报送，处室共享", "Report once, shared between divisions")).await;
    assert_fits(&ui, "the filing page").await;
    ui.click("#file-named-label").await;
    let mode = ui.text("#file-mode").await;
    assert!(mode.contains(lang.t("实名", "by name")), "{test}: {mode}");
    ui.click("#file-submit").await;
    ui.wait_js_true("the receipt",
        "const err = document.getElementById('file-error'); if (!err.hidden) throw new Error(err.textContent); return !document.getElementById('receipt').hidden;",
        Duration::from_secs(30),
    )
    .await;
    let secret = ui.text("#receipt-secret").await;
    assert_fits(&ui, "the receipt").await;
    ui.sign_out().await;

    // The county office routes it.
    ui.sign_in(OFFICE).await;
    ui.goto("/voice/escalations").await;
    let article = "article.report[data-state='submitted']";
    assert!(ui.text(article).await.contains(demanded), "{test}: the unaddressed report is on the list");
    assert_fits(&ui, "the escalation list").await;
    ui.full_page_screenshot(&format!("{test}_escalations")).await;
    let department = ui
        .js(
            "const o = Array.from(document.querySelectorAll('select.route-to option')).find(o => o.textContent === arguments[0]); return o ? o.value : null;",
            vec![json!(DEPARTMENT)],
        )
        .await;
    let department =
        department.as_str().unwrap_or_else(|| panic!("{test}: {DEPARTMENT} is not offered")).to_owned();
    ui.select(&format!("{article} select.route-to"), &department).await;
    ui.click_and_wait_for_new_page(&format!("{article} button.route")).await;
    ui.wait_for("h1").await;
    assert!(ui.exists("#inbox-empty").await, "{test}: routed, it leaves the office's list");
    ui.sign_out().await;

    // The department has it, by name; the submitter sees where it went.
    ui.sign_in(STAFF).await;
    ui.goto("/voice/inbox").await;
    let text = ui.text("article.report").await;
    assert!(text.contains(demanded) && text.contains(lang.t("实名", "by name")), "{test}: {text}");
    ui.sign_out().await;
    open_receipt(&ui, &secret).await;
    assert_eq!(ui.text("#report-addressed").await, DEPARTMENT);
    assert_fits(&ui, "the receipt page").await;
    ui.goto("/voice/rates").await;
    ui.wait_for("#rates-bodies").await;
    assert_fits(&ui, "the responsiveness page").await;
    ui.full_page_screenshot(&format!("{test}_rates")).await;
    ui.finish().await;
}

#[tokio::test]
async fn a_named_report_is_routed_by_the_office_zh() {
    named_report_routed_by_the_office(Lang::Zh, "voice_routed_zh").await;
}

/// RFC 9474 Appendix A, the RSABSSA-SHA384-PSS-Deterministic vector (Privacy Pass type
/// 0x0002's variant), run through the page's own script with the vector's salt and
/// blinding factor: the blinded message and the final signature match byte for byte.
/// And the script's log check: the county key's real proof verifies, while the proof
/// against another entry, or under another log key, is refused.
#[tokio::test]
async fn the_page_script_meets_rfc_9474_and_refuses_keys_outside_the_log() {
    let test = "voice_vectors";
    let Some(ui) = Ui::start(test, DESKTOP).await else { return };
    ui.goto("/login").await;
    ui.sign_in(&format!("cadre.{TOWNSHIP}")).await;
    ui.goto("/voice/new").await;
    ui.wait_for("#voice-form:not([hidden])").await;

    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../tokens/tests/vectors/rfc9474-a.json")).unwrap();
    let v = vectors
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "RSABSSA-SHA384-PSS-Deterministic")
        .expect("the vector");
    let got = ui
        .js(
            r#"
const [v] = arguments;
const T = globalThis.tongxinVoiceCrypto;
const hx = (h) => { const x = h.replace(/^0x/, ''); return x.length % 2 ? '0' + x : x; };
const bytes = (h) => Uint8Array.from(hx(h).match(/../g).map((x) => parseInt(x, 16)));
const big = (h) => BigInt('0x' + hx(h));
const n = big(v.n), e = big(v.e), inv = big(v.inv);
const pk = { n, e, nBytes: bytes(v.n), eBytes: bytes(v.e) };
return (async () => {
  const b = await T.blind(pk, bytes(v.msg), bytes(v.salt), T.modInv(inv, n));
  const sig = await T.finalize(pk, await T.rsaVerifier(pk), bytes(v.msg), bytes(v.blind_sig), b.inv);
  return { blinded: T.hex(b.blinded), inv: b.inv === inv, sig: T.hex(sig) };
})();
"#,
            vec![v.clone()],
        )
        .await;
    let hex = |k: &str| v[k].as_str().unwrap().trim_start_matches("0x").to_ascii_lowercase();
    assert_eq!(got["blinded"], json!(hex("blinded_msg")), "{test}: blinded message");
    assert_eq!(got["inv"], json!(true), "{test}: blinding inverse");
    assert_eq!(got["sig"], json!(hex("sig")), "{test}: unblinded signature");

    // The log check, on the county's published key.
    let status = format!("[data-token-status='{COUNTY}']");
    ui.wait_js_true(
        "the county's tokens",
        &format!("const e = document.querySelector(\"{status}\"); return !!e && e.classList.contains('ok');"),
        TOKENS_WAIT,
    )
    .await;
    let outcomes = ui
        .js(
            r#"
const T = globalThis.tongxinVoiceCrypto;
const cfg = JSON.parse(document.getElementById('voice-config').textContent);
const enc = new TextEncoder();
const attempt = (p) => p.then(() => 'accepted', (e) => 'refused: ' + e.message);
return (async () => {
  const key = await (await fetch(`/api/voice/keys?scope=${arguments[0]}&period=${cfg.period}`)).json();
  const record = enc.encode(key.log_record);
  const other = enc.encode(key.log_record.replace('token-type 2', 'token-type 3'));
  const name = cfg.log_key.split('+')[0];
  const wrongKey = name + '+00000000+' + btoa(String.fromCharCode(1, ...new Uint8Array(32)));
  return [
    await attempt(T.verifyReceipt(key.proof, record, cfg.log_key)),
    await attempt(T.verifyReceipt(key.proof, other, cfg.log_key)),
    await attempt(T.verifyReceipt(key.proof, record, wrongKey)),
  ];
})();
"#,
            vec![json!(COUNTY)],
        )
        .await;
    assert_eq!(outcomes[0], "accepted", "{test}: {outcomes}");
    assert!(outcomes[1].as_str().unwrap().starts_with("refused"), "{test}: another entry: {outcomes}");
    assert!(outcomes[2].as_str().unwrap().starts_with("refused"), "{test}: another log key: {outcomes}");
    ui.finish().await;
}
