//! The harness of the browser tests (`tests/browser.rs`): the real `tongxin` binary
//! serving a fresh copy of the Fujian demo database on a free loopback port, and real
//! headless Chromium driven through chromedriver (both started here as child processes
//! on free ports). Every child process is killed and every temporary directory removed
//! when its guard drops, on success and on panic alike.
//!
//! The demo load (about 5 s in a debug build) runs once per test process, into a
//! template under Cargo's `CARGO_TARGET_TMPDIR`; each test serves its own copy of it, so
//! no test sees another test's writes. Templates left by earlier runs are removed.
//!
//! Without Chromium, chromedriver or the CJK fonts, a test prints a notice and passes,
//! unless `TONGXIN_REQUIRE_BROWSER=1` (as in CI), where it fails saying what to install.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The packages that provide what these tests need.
pub const INSTALL_HINT: &str = "apt-get install chromium chromium-driver fonts-noto-cjk";

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "tongxin-demo-2026";

/// How long to wait for a page or an element before failing.
const WAIT: Duration = Duration::from_secs(20);

/// A phone-sized and a desktop-sized window.
pub const NARROW: (u32, u32) = (375, 812);
pub const DESKTOP: (u32, u32) = (1280, 900);

// ----- the browser binaries -----

/// Where Chromium and chromedriver are.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

fn find_tool(env: &str, default: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    let d = PathBuf::from(default);
    if d.is_file() { Some(d) } else { on_path(names) }
}

fn cjk_fonts_present() -> bool {
    [
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
        "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
        "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    ]
    .iter()
    .any(|p| Path::new(p).is_file())
}

/// Chromium and chromedriver, or `None` (with a printed notice) when they are missing
/// and not required. Panics when missing and `TONGXIN_REQUIRE_BROWSER=1`.
pub fn tools(test: &str) -> Option<Tools> {
    let chromium = find_tool(
        "TONGXIN_CHROMIUM",
        "/usr/bin/chromium",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = find_tool("TONGXIN_CHROMEDRIVER", "/usr/bin/chromedriver", &["chromedriver"]);
    let mut missing = Vec::new();
    if chromium.is_none() {
        missing.push("Chromium (looked at $TONGXIN_CHROMIUM, /usr/bin/chromium and PATH)");
    }
    if chromedriver.is_none() {
        missing.push("chromedriver (looked at $TONGXIN_CHROMEDRIVER, /usr/bin/chromedriver and PATH)");
    }
    if !cjk_fonts_present() {
        missing.push("the Noto CJK fonts (/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc)");
    }
    if missing.is_empty() {
        return Some(Tools { chromium: chromium?, chromedriver: chromedriver? });
    }
    let what = missing.join(", ");
    if std::env::var("TONGXIN_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: {what} not found, and TONGXIN_REQUIRE_BROWSER=1 requires the browser tests; install them with `{INSTALL_HINT}`"
        );
    }
    eprintln!(
        "NOTICE: skipping browser test {test}: {what} not found (install with `{INSTALL_HINT}`; set TONGXIN_REQUIRE_BROWSER=1 to make this a failure)"
    );
    None
}

// ----- processes, directories, ports -----

/// A temporary directory, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path =
            std::env::temp_dir().join(format!("tongxin-browser-{label}-{}-{n}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// A child process, killed (by its id) and reaped on drop.
pub struct Proc {
    child: Child,
    name: &'static str,
}

impl Proc {
    /// Panics, with the end of its log, if the process has already exited.
    fn check_alive(&mut self, log: &Path) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited early ({status}); the end of its output:\n{}", self.name, tail(log, 60));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(name: &'static str, program: &Path, args: &[String], log: &Path) -> Proc {
    let out = fs::File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let err = out.try_clone().expect("clone log handle");
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {name} ({}): {e}", program.display()));
    Proc { child, name }
}

/// The last `lines` lines of a log file.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A minimal HTTP/1.1 request over a plain socket (to the server or to chromedriver,
/// also from `Drop`, where no async runtime can be relied on); returns the status code
/// and the body.
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, Vec<u8>)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(5))).ok()?;
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    // Read the head, then exactly the body (chromedriver keeps connections open).
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut rest = raw.split_off(split + 4);
    let chunked = head.contains("transfer-encoding: chunked");
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    loop {
        let done = match (chunked, length) {
            (true, _) => rest.ends_with(b"0\r\n\r\n"),
            (false, Some(n)) => rest.len() >= n,
            (false, None) => false,
        };
        if done {
            break;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        rest.extend_from_slice(&buf[..n]);
    }
    if !chunked {
        return Some((status, rest));
    }
    let mut out = Vec::new();
    let mut rest = &rest[..];
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some((status, out));
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn http_status(port: u16, method: &str, path: &str) -> Option<u16> {
    http(port, method, path, None).map(|(status, _)| status)
}

// ----- the demo database -----

/// The `tongxin` binary under test.
pub fn tongxin_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_tongxin"))
}

/// `target/`, where screenshots go.
pub fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// The demo database files (`demo.sqlite` and its WAL) loaded once for this process.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match TEMPLATE.get_or_init(build_template) {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn build_template() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-demo");
    // Templates of earlier runs (whose process is gone) are 140 MB each: remove them.
    if Path::new("/proc/self").exists()
        && let Ok(entries) = fs::read_dir(&root)
    {
        for e in entries.flatten() {
            let pid = e.file_name().to_string_lossy().into_owned();
            if !Path::new("/proc").join(&pid).exists() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = root.join(std::process::id().to_string());
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let db = dir.join("demo.sqlite");
    let started = Instant::now();
    let out = Command::new(tongxin_bin())
        .args(["--log", "text", "demo", "--fresh", "--no-serve", "--demo-db"])
        .arg(format!("sqlite://{}", db.display()))
        .env("TONGXIN_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", tongxin_bin().display()))?;
    if !out.status.success() {
        return Err(format!(
            "`tongxin demo --no-serve` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    eprintln!("demo database loaded in {:.1} s", started.elapsed().as_secs_f64());
    Ok(dir)
}

/// A running `tongxin demo` server on its own copy of the demo database.
pub struct Server {
    _proc: Proc,
    port: u16,
    log: PathBuf,
    // Last: removed after the process is gone.
    _dir: TempDir,
}

impl Server {
    pub fn start() -> Server {
        let template = template();
        let dir = TempDir::new("server");
        for name in ["demo.sqlite", "demo.sqlite-wal", "demo.sqlite-shm"] {
            let from = template.join(name);
            if from.exists() {
                fs::copy(&from, dir.path().join(name))
                    .unwrap_or_else(|e| panic!("cannot copy {}: {e}", from.display()));
            }
        }
        let port = free_port();
        let log = dir.path().join("server.log");
        let args = vec![
            "--log".to_owned(),
            "text".to_owned(),
            "demo".to_owned(),
            "--demo-db".to_owned(),
            format!("sqlite://{}", dir.path().join("demo.sqlite").display()),
            "--listen".to_owned(),
            format!("127.0.0.1:{port}"),
        ];
        let mut proc = spawn("the tongxin server", tongxin_bin(), &args, &log);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            proc.check_alive(&log);
            if http_status(port, "GET", "/login") == Some(200) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the tongxin server did not answer GET /login with 200 within 90 s; its output:\n{}",
                tail(&log, 60)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Server { _proc: proc, port, log, _dir: dir }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A failing test shows what the server said.
        if std::thread::panicking() {
            eprintln!("--- the end of the tongxin server's output ---\n{}", tail(&self.log, 40));
        }
    }
}

// ----- the browser -----

/// Headless Chromium behind its own chromedriver.
pub struct Browser {
    pub client: Client,
    session: Option<String>,
    closed: bool,
    driver_port: u16,
    _driver: Proc,
    // Last: the profile is removed after both processes are gone.
    _dir: TempDir,
}

impl Browser {
    /// Starts chromedriver and a Chromium session with a `width`×`height` window whose
    /// preferred language (Accept-Language) is Simplified Chinese.
    pub async fn start(tools: &Tools, (width, height): (u32, u32)) -> Browser {
        let dir = TempDir::new("chromium");
        let driver_port = free_port();
        let log = dir.path().join("chromedriver.log");
        let mut driver = spawn(
            "chromedriver",
            &tools.chromedriver,
            &[format!("--port={driver_port}"), "--allowed-ips=127.0.0.1".to_owned()],
            &log,
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while http_status(driver_port, "GET", "/status") != Some(200) {
            driver.check_alive(&log);
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {driver_port} within 30 s; its output:\n{}",
                tail(&log, 40)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = dir.path().join("profile");
        let args = vec![
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            format!("--window-size={width},{height}"),
        ];
        let mut chrome = json!({
            "binary": tools.chromium.display().to_string(),
            "args": args,
            "prefs": { "intl.accept_languages": "zh-CN,zh" },
        });
        // Chromium's windows are at least 500 px wide: a phone's width is emulated.
        if width < 500 {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": {
                    "width": width, "height": height, "pixelRatio": 2.0, "touch": true, "mobile": true,
                },
            });
        }
        let caps = json!({ "browserName": "chrome", "goog:chromeOptions": chrome });
        let caps = match caps {
            Value::Object(m) => m,
            _ => unreachable!("capabilities are an object"),
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start a Chromium session through chromedriver: {e}\nchromedriver output:\n{}",
                    tail(&log, 40)
                )
            });
        let session = client.session_id().await.ok().flatten();
        Browser { client, session, closed: false, driver_port, _driver: driver, _dir: dir }
    }

    /// Ends the session (and so Chromium) cleanly.
    pub async fn close(mut self) {
        if self.client.clone().close().await.is_ok() {
            self.closed = true;
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // On a panic the session is still open: end it over plain HTTP so chromedriver
        // stops its Chromium before chromedriver itself is killed.
        if !self.closed
            && let Some(id) = &self.session
        {
            let _ = http_status(self.driver_port, "DELETE", &format!("/session/{id}"));
        }
    }
}

/// One test's world: a server and a browser pointed at it.
pub struct Ui {
    // Fields drop in order: the browser goes before the server.
    pub browser: Browser,
    pub server: Server,
    pub test: &'static str,
}

impl Ui {
    /// `None` when the browser is missing and not required (the test then passes).
    pub async fn start(test: &'static str, window: (u32, u32)) -> Option<Ui> {
        let tools = tools(test)?;
        let server = Server::start();
        let browser = Browser::start(&tools, window).await;
        Some(Ui { browser, server, test })
    }

    pub async fn finish(self) {
        let Ui { browser, server, .. } = self;
        browser.close().await;
        drop(server);
    }

    fn c(&self) -> &Client {
        &self.browser.client
    }

    pub async fn goto(&self, path: &str) {
        let url = self.server.url(path);
        self.c().goto(&url).await.unwrap_or_else(|e| panic!("{}: cannot open {url}: {e}", self.test));
    }

    /// The current path and query, e.g. `/units/350322/calendar?month=2026-04`.
    pub async fn path(&self) -> String {
        let url = self.c().current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the current path satisfies `ok`.
    pub async fn wait_path(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let p = self.path().await;
            // A script may fail while a navigation is under way: that is "not yet".
            let ready = self
                .c()
                .execute("return document.readyState", Vec::new())
                .await
                .is_ok_and(|v| v == "complete");
            if ready && ok(&p) {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "{}: waited for {what}, but the browser is still at {p}",
                self.test
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self.c().wait().at_most(WAIT).for_element(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => {
                let p = self.path().await;
                panic!(
                    "{}: no element `{css}` appeared on {p}: {e}\nbody:\n{}",
                    self.test,
                    self.body_text().await
                )
            }
        }
    }

    pub async fn exists(&self, css: &str) -> bool {
        self.c().find(Locator::Css(css)).await.is_ok()
    }

    /// The rendered (visible) text of the element `css`.
    pub async fn text(&self, css: &str) -> String {
        let e = self.wait_for(css).await;
        e.text().await.unwrap_or_else(|err| panic!("{}: cannot read the text of `{css}`: {err}", self.test))
    }

    pub async fn body_text(&self) -> String {
        match self.c().find(Locator::Css("body")).await {
            Ok(b) => b.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Clicks `css` and waits until the page it was on has been replaced, so that a
    /// following `wait_for` cannot find an element of the old page.
    pub async fn click_and_wait_for_new_page(&self, css: &str) {
        let old = self.wait_for("html").await;
        self.click(css).await;
        let deadline = Instant::now() + WAIT;
        while old.tag_name().await.is_ok() {
            assert!(Instant::now() < deadline, "{}: clicking `{css}` loaded no new page", self.test);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let e = self.wait_for(css).await;
        e.click().await.unwrap_or_else(|err| panic!("{}: cannot click `{css}`: {err}", self.test));
    }

    /// Clears the text field `css` and types `value` into it.
    pub async fn type_into(&self, css: &str, value: &str) {
        let e = self.wait_for(css).await;
        e.clear().await.unwrap_or_else(|err| panic!("{}: cannot clear `{css}`: {err}", self.test));
        e.send_keys(value)
            .await
            .unwrap_or_else(|err| panic!("{}: cannot type into `{css}`: {err}", self.test));
    }

    /// Sets an input's value by script (for `datetime-local`, whose typing is locale-bound).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        self.js(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
             e.dispatchEvent(new Event('input', {bubbles: true})); \
             e.dispatchEvent(new Event('change', {bubbles: true})); return e.value;",
            vec![json!(css), json!(value)],
        )
        .await;
        let got = self.value(css).await;
        assert_eq!(got, value, "{}: `{css}` did not take the value {value:?}", self.test);
    }

    pub async fn value(&self, css: &str) -> String {
        self.js("return document.querySelector(arguments[0]).value", vec![json!(css)])
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn select(&self, css: &str, value: &str) {
        let e = self.wait_for(css).await;
        e.select_by_value(value)
            .await
            .unwrap_or_else(|err| panic!("{}: cannot choose {value:?} in `{css}`: {err}", self.test));
    }

    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.c()
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("{}: script failed: {e}\n{script}", self.test))
    }

    /// Waits until `script` returns `true`, for at most `limit`; on timeout the test fails
    /// naming `what` and showing the page.
    #[allow(dead_code)] // used by tests/browser_voice.rs and tests/browser_directives.rs
    pub async fn wait_js_true(&self, what: &str, script: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            if self.js(script, Vec::new()).await == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: waited {limit:?} for {what}; page:\n{}",
                self.test,
                self.body_text().await
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn js_str(&self, script: &str) -> String {
        self.js(script, Vec::new()).await.as_str().unwrap_or_default().to_owned()
    }

    /// The page's language, from `<html lang>`.
    pub async fn lang(&self) -> String {
        self.js_str("return document.documentElement.lang").await
    }

    /// Switches the interface to English with the header link, and checks it took.
    pub async fn switch_to_english(&self) {
        let before = self.path().await;
        let link = self.text("#lang-switch").await;
        assert_eq!(
            link, "English",
            "{}: the language switch on a Chinese page should offer English",
            self.test
        );
        self.click("#lang-switch").await;
        let deadline = Instant::now() + WAIT;
        while self.lang().await != "en" {
            assert!(Instant::now() < deadline, "{}: the page did not switch to English", self.test);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let after = self.path().await;
        assert_eq!(after, before, "{}: the language switch should come back to the same page", self.test);
        assert_eq!(self.text("#lang-switch").await, "中文", "{}: an English page offers 中文", self.test);
    }

    /// Signs in through the form at `/login` and waits for the start page.
    pub async fn sign_in(&self, username: &str) {
        if !self.path().await.starts_with("/login") {
            self.goto("/login").await;
        }
        self.type_into("#username", username).await;
        self.type_into("#password", DEMO_PASSWORD).await;
        self.click("#sign-in").await;
        let deadline = Instant::now() + WAIT;
        loop {
            let p = self.path().await;
            if !p.starts_with("/login") {
                break;
            }
            if self.exists("#login-error").await {
                panic!("{}: signing in as {username} failed: {}", self.test, self.text("#login-error").await);
            }
            assert!(
                Instant::now() < deadline,
                "{}: signing in as {username} did not leave /login",
                self.test
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs out with the header's button (from the start page) and waits for the
    /// signed-out page.
    #[allow(dead_code)] // used by tests/browser_voice.rs, not tests/browser.rs
    pub async fn sign_out(&self) {
        self.goto("/").await;
        self.click_and_wait_for_new_page("form[action='/logout'] button").await;
        self.wait_for("html").await;
        assert!(
            !self.exists("form[action='/logout']").await,
            "{}: still signed in after signing out",
            self.test
        );
    }

    /// Saves a PNG of the viewport to `target/browser-screenshots/NAME.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png =
            self.c().screenshot().await.unwrap_or_else(|e| panic!("{}: screenshot failed: {e}", self.test));
        self.save_png(name, &png)
    }

    /// Saves a PNG of the whole page (beyond the viewport) to
    /// `target/browser-screenshots/NAME.png`, through chromedriver's DevTools bridge.
    pub async fn full_page_screenshot(&self, name: &str) -> PathBuf {
        let size = self
            .js(
                "const d = document.documentElement; \
                 return [d.scrollWidth, d.scrollHeight, window.devicePixelRatio || 1]",
                Vec::new(),
            )
            .await;
        let dim = |i: usize| size.get(i).and_then(Value::as_f64).unwrap_or(1.0);
        let cmd = json!({
            "cmd": "Page.captureScreenshot",
            "params": {
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {
                    "x": 0, "y": 0, "width": dim(0), "height": dim(1).min(16_000.0), "scale": 1.0 / dim(2),
                },
            },
        });
        let session = self.browser.session.as_deref().expect("a session id");
        let reply = http(
            self.browser.driver_port,
            "POST",
            &format!("/session/{session}/goog/cdp/execute"),
            Some(&cmd.to_string()),
        );
        let data = reply
            .filter(|(status, _)| *status == 200)
            .and_then(|(_, body)| serde_json::from_slice::<Value>(&body).ok())
            .and_then(|v| v["value"]["data"].as_str().map(str::to_owned))
            .unwrap_or_else(|| panic!("{}: the full-page screenshot failed", self.test));
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap_or_else(|e| panic!("{}: the screenshot is not base64: {e}", self.test));
        self.save_png(name, &png)
    }

    fn save_png(&self, name: &str, png: &[u8]) -> PathBuf {
        let dir = target_dir().join("browser-screenshots");
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        fs::write(&path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        eprintln!("screenshot: {}", path.display());
        path
    }
}
