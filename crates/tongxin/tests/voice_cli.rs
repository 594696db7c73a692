//! `tongxin voice …` against a real server: the real binary serving the Fujian demo on a
//! loopback port, and the real binary as the cadre's client. The allowance is blinded in
//! the client and kept in a 0600 wallet that names nobody; a report is filed with one
//! token and no session, its receipt proof verifies offline, the receipt secret opens
//! the report; a replayed token is refused with a clear message and dropped; a key that
//! is not in the transparency log is refused.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

const PASSWORD: &str = "tongxin-demo-2026";
/// The demo's scenario county (仙游县, thousands of cadres) and a cadre of one of its townships.
const SCOPE: &str = "350322";
const CADRE: &str = "cadre.350322100";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tongxin")
}

/// A directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tongxin-voice-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo database, loaded once per test process.
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("voice-cli-demo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(bin())
            .args(["--log", "text", "demo", "--fresh", "--no-serve", "--demo-db"])
            .arg(format!("sqlite://{}", dir.join("demo.sqlite").display()))
            .env("TONGXIN_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "demo load failed: {}", String::from_utf8_lossy(&out.stderr));
        dir
    })
}

/// A `tongxin demo` server on its own copy of the demo database; killed on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
    /// The log's public key, as the server printed it.
    log_key: String,
    _dir: Scratch,
}

impl Server {
    fn start(name: &str) -> Server {
        let dir = Scratch::new(name);
        for f in ["demo.sqlite", "demo.sqlite-wal", "demo.sqlite-shm"] {
            let from = template().join(f);
            if from.exists() {
                std::fs::copy(&from, dir.path(f)).unwrap();
            }
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = dir.path("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(bin())
            .args(["--log", "text", "demo", "--demo-db"])
            .arg(format!("sqlite://{}", dir.path("demo.sqlite").display()))
            .args(["--listen", &format!("127.0.0.1:{port}"), "--log-period-ms", "50"])
            .env("TONGXIN_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let mut server = Server { child, port, log, log_key: String::new(), _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        while http_get(port, "/login").map(|(s, _)| s) != Some(200) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited ({status}):\n{}", server.output());
            }
            assert!(Instant::now() < deadline, "the server did not start:\n{}", server.output());
            std::thread::sleep(Duration::from_millis(100));
        }
        let text = server.output();
        server.log_key = text
            .lines()
            .find_map(|l| l.split_once("; public key ").map(|(_, k)| k.trim().to_owned()))
            .unwrap_or_else(|| panic!("no log key in the server's output:\n{text}"));
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- the server's output ---\n{}", self.output());
        }
    }
}

/// A plain HTTP/1.1 GET: status and body.
fn http_get(port: u16, path: &str) -> Option<(u16, Vec<u8>)> {
    http(port, "GET", path, None, None).map(|(s, _, b)| (s, b))
}

/// A plain HTTP/1.1 request with an optional JSON body and cookie: status, head, body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    json: Option<&str>,
    cookie: Option<&str>,
) -> Option<(u16, String, Vec<u8>)> {
    let mut s =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(c) = cookie {
        req.push_str(&format!("Cookie: {c}\r\n"));
    }
    if let Some(j) = json {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", j.len()));
    }
    req.push_str("\r\n");
    req.push_str(json.unwrap_or(""));
    s.write_all(req.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = buf[head_end + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    Some((status, head, body))
}

/// Signs in over HTTP; the session cookie.
fn sign_in(port: u16, user: &str) -> String {
    let body = serde_json::json!({"username": user, "password": PASSWORD}).to_string();
    let (status, head, _) = http(port, "POST", "/api/session", Some(&body), None).unwrap();
    assert_eq!(status, 200);
    head.lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_owned()
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else { return out };
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..eol]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 4 + size..];
    }
}

/// Runs `tongxin voice --server URL --wallet WALLET ARGS` with `env` and `stdin`.
fn voice(server: &str, wallet: &Path, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(["voice", "--server", server, "--wallet"]).arg(wallet).args(args);
    cmd.env_remove("TONGXIN_PASSWORD").env_remove("TONGXIN_RECEIPT_SECRET");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "tongxin voice failed:\nstdout:\n{}\nstderr:\n{}", out(&o), err(&o));
    o
}

fn failed(o: Output) -> String {
    assert!(!o.status.success(), "tongxin voice should have failed:\n{}", out(&o));
    err(&o)
}

fn tokens_in(wallet: &Path) -> usize {
    let w: Value = serde_json::from_slice(&std::fs::read(wallet).unwrap()).unwrap();
    w["allowances"][0]["tokens"].as_array().unwrap().len()
}

fn file_args<'a>(proof: &'a str, demanded: &'a str) -> Vec<&'a str> {
    vec![
        "file",
        "--scope",
        SCOPE,
        "--demanded",
        demanded,
        "--by-whom",
        "县农业农村局种植业股",
        "--cost",
        "每周约 4 小时，全镇每年约 200 个工作日",
        "--fix",
        "合并为一张表，按月填报",
        "--proof-out",
        proof,
        // The tests file right after taking the allowance: no holding period.
        "--hold-hours",
        "0",
    ]
}

#[test]
fn allowance_file_receipt_round_trip_and_a_replayed_token() {
    let server = Server::start("round-trip");
    let url = server.url();
    let s = Scratch::new("round-trip-client");
    let wallet = s.path("wallet/voice.json");
    let pw = [("TONGXIN_PASSWORD", PASSWORD)];

    // Before any allowance there is no key for the scope: a clear refusal.
    let e = failed(voice(&url, &wallet, &["key", "--scope", SCOPE], &[], ""));
    assert!(e.contains("no issuer key for this scope and period yet"), "{e}");

    // A wrong password: refused, nothing kept.
    let e = failed(voice(&url, &wallet, &["allowance", "--scope", SCOPE, "--user", CADRE], &[], "wrong\n"));
    assert!(e.contains("wrong username or password"), "{e}");
    assert!(!wallet.exists());

    // The allowance, password on standard input: ten tokens, the log key pinned on first use.
    let o = ok(voice(
        &url,
        &wallet,
        &["allowance", "--scope", SCOPE, "--user", CADRE],
        &[],
        &format!("{PASSWORD}\n"),
    ));
    assert!(out(&o).contains("10 tokens verified"), "{}", out(&o));
    assert!(out(&o).contains("cadres in scope"), "{}", out(&o));
    assert!(err(&o).contains("Pinned the transparency log key"), "{}", err(&o));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&wallet).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&wallet).unwrap();
    let w: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(w["log_keys"][&url], server.log_key.as_str(), "the pinned key is the server's");
    assert_eq!(tokens_in(&wallet), 10);
    assert!(!text.contains(CADRE) && !text.contains("350322100\""), "the wallet names nobody: {text}");
    assert!(!text.contains(PASSWORD));

    // The key, checked against the log.
    let o = ok(voice(&url, &wallet, &["key", "--scope", SCOPE], &[], ""));
    assert!(out(&o).contains("in the transparency log at index"), "{}", out(&o));
    // The allowance is once per period.
    let e = failed(voice(&url, &wallet, &["allowance", "--scope", SCOPE, "--user", CADRE], &pw, ""));
    assert!(e.contains("already holds the allowance"), "{e}");

    // By default a fresh allowance is held a day before a token is spent: nothing is
    // filed and no token leaves the wallet.
    let held_proof = s.path("held.tlog-proof");
    let mut held = file_args(held_proof.to_str().unwrap(), "刚领凭证就提交");
    held.truncate(held.len() - 2);
    let e = failed(voice(&url, &wallet, &held, &[], ""));
    assert!(e.contains("taken less than 24 hours ago"), "{e}");
    assert_eq!(tokens_in(&wallet), 10);

    // File with one token; keep the wallet as it was before, to replay the token later.
    let before = std::fs::read(&wallet).unwrap();
    let proof = s.path("report.tlog-proof");
    let o = ok(voice(
        &url,
        &wallet,
        &file_args(proof.to_str().unwrap(), "每周填报三张内容相同的种植面积表"),
        &[],
        "",
    ));
    let printed = out(&o);
    let secret = printed
        .lines()
        .map(str::trim)
        .find(|l| l.len() == 39 && l.split('-').count() == 8)
        .unwrap_or_else(|| panic!("no receipt secret in:\n{printed}"))
        .to_owned();
    assert!(printed.contains("9 tokens left"), "{printed}");
    assert_eq!(tokens_in(&wallet), 9);
    // The proof verifies offline with the standalone verifier, for this very entry.
    let entry = s.path("report.tlog-proof.entry");
    let v = Command::new(bin())
        .args(["verify", "receipt", "--log-key", &server.log_key, "--entry"])
        .arg(&entry)
        .arg(&proof)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}{}", out(&v), err(&v));
    assert!(std::fs::read_to_string(&entry).unwrap().starts_with("tongxin-voice-entry/v1\nkind report\n"));

    // The receipt: the secret on standard input, then from the environment.
    let o = ok(voice(&url, &wallet, &["receipt"], &[], &format!("{secret}\n")));
    assert!(out(&o).contains("state submitted"), "{}", out(&o));
    let o = ok(voice(&url, &wallet, &["receipt", "--json"], &[("TONGXIN_RECEIPT_SECRET", &secret)], ""));
    let view: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(view["content"]["demanded"], "每周填报三张内容相同的种植面积表");
    assert_eq!(view["scope"], SCOPE);
    // A wrong secret: the server's one generic answer.
    let wrong = "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA";
    let e = failed(voice(&url, &wallet, &["receipt"], &[], &format!("{wrong}\n")));
    assert!(e.contains("no report for this receipt"), "{e}");
    let e = failed(voice(&url, &wallet, &["receipt"], &[], ""));
    assert!(e.contains("no receipt secret"), "{e}");
    // Rating before any answer: refused by the state machine, with the server's reason.
    let e = failed(voice(
        &url,
        &wallet,
        &["rate", "--satisfaction", "4", "--resolved"],
        &[("TONGXIN_RECEIPT_SECRET", &secret)],
        "",
    ));
    assert!(e.contains("HTTP 409"), "{e}");

    // Replay: the old wallet still holds the spent token. The server refuses it, the client
    // says so plainly and drops it; nothing is filed.
    std::fs::write(&wallet, &before).unwrap();
    assert_eq!(tokens_in(&wallet), 10);
    let proof2 = s.path("again.tlog-proof");
    let e = failed(voice(&url, &wallet, &file_args(proof2.to_str().unwrap(), "重复提交"), &[], ""));
    assert!(e.contains("already spent"), "{e}");
    assert!(e.contains("Nothing was filed"), "{e}");
    assert_eq!(tokens_in(&wallet), 9, "the spent token is dropped");
    assert!(!proof2.exists());
    // The next token works.
    ok(voice(&url, &wallet, &file_args(proof2.to_str().unwrap(), "重复提交"), &[], ""));
    assert_eq!(tokens_in(&wallet), 8);

    // Addressed to a provincial department, answered by its staff; the submitter reads the
    // answer, replies and rates with the secret alone.
    let staff = sign_in(server.port, "staff.agri");
    let (_, _, bodies) = http(server.port, "GET", "/api/bodies?unit=35", None, Some(&staff)).unwrap();
    let bodies: Value = serde_json::from_slice(&bodies).unwrap();
    let list = bodies.get("items").unwrap_or(&bodies).as_array().unwrap().clone();
    let body = list
        .iter()
        .find(|b| b["name"].as_str().is_some_and(|n| n.ends_with("农业农村厅")))
        .unwrap_or_else(|| panic!("{bodies}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let proof3 = s.path("addressed.tlog-proof");
    let mut args = file_args(proof3.to_str().unwrap(), "每月报送三次同样的统计表");
    args.extend(["--to", body.as_str()]);
    let o = ok(voice(&url, &wallet, &args, &[], ""));
    let secret3 = out(&o).lines().nth(2).unwrap().trim().to_owned();
    let (_, _, inbox) = http(server.port, "GET", "/api/voice/inbox", None, Some(&staff)).unwrap();
    let inbox: Value = serde_json::from_slice(&inbox).unwrap();
    let item = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["content"]["demanded"] == "每月报送三次同样的统计表")
        .unwrap_or_else(|| panic!("{inbox}"))
        .clone();
    let answer = serde_json::json!({"text": "已合并为一张月报表。"}).to_string();
    let path = format!("/api/voice/reports/{}/answer", item["id"].as_str().unwrap());
    let (status, _, _) = http(server.port, "POST", &path, Some(&answer), Some(&staff)).unwrap();
    assert_eq!(status, 200);
    let o = ok(voice(&url, &wallet, &["reply", "--text", "谢谢，已看到。"], &[], &format!("{secret3}\n")));
    let shown = out(&o);
    assert!(shown.contains("state answered"), "{shown}");
    assert!(shown.contains("body #1] 已合并为一张月报表。"), "{shown}");
    assert!(shown.contains("submitter #2] 谢谢，已看到。"), "{shown}");
    let o = ok(voice(
        &url,
        &wallet,
        &["rate", "--satisfaction", "5", "--resolved"],
        &[("TONGXIN_RECEIPT_SECRET", &secret3)],
        "",
    ));
    assert!(out(&o).contains("state closed"), "{}", out(&o));
}

/// Serves one fixed JSON answer to every request, like a server handing out a key of its own.
struct FakeKeyServer {
    port: u16,
}

impl FakeKeyServer {
    fn start(body: String) -> FakeKeyServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                let mut buf = [0u8; 8192];
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = s.read(&mut buf);
                let _ = write!(
                    s,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        FakeKeyServer { port }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

#[test]
fn a_key_that_is_not_in_the_log_is_refused() {
    let server = Server::start("unlogged");
    let url = server.url();
    let s = Scratch::new("unlogged-client");
    let wallet = s.path("voice.json");
    let pw = [("TONGXIN_PASSWORD", PASSWORD)];
    ok(voice(&url, &wallet, &["allowance", "--scope", SCOPE, "--user", CADRE], &pw, ""));
    let period = tongxin_server::voice::period_of(chrono::Utc::now());
    let (status, body) =
        http_get(server.port, &format!("/api/voice/keys?scope={SCOPE}&period={period}")).unwrap();
    assert_eq!(status, 200);
    let real: Value = serde_json::from_slice(&body).unwrap();
    let log_key = server.log_key.as_str();
    let log_url = format!("{url}/log");
    let common = ["--log-key", log_key, "--log-url", log_url.as_str(), "key", "--scope", SCOPE];

    // The real key through a stand-in server: accepted (the check itself works).
    let fake = FakeKeyServer::start(real.to_string());
    let o = ok(voice(&fake.url(), &wallet, &common, &[], ""));
    assert!(out(&o).contains(real["token_key_id"].as_str().unwrap()), "{}", out(&o));

    // Another key for the same scope and period (a hidden per-person key), claiming the real
    // key's place in the log: its record is not the entry there.
    let other = tongxin_tokens::IssuerKey::generate(&mut tongxin_tokens::DefaultRng).unwrap();
    let record =
        tongxin_tokens::KeyRecord::from_bytes(real["log_record"].as_str().unwrap().as_bytes()).unwrap();
    let forged = tongxin_tokens::KeyRecord::new(
        record.scope().clone(),
        other.public_key(),
        record.not_before(),
        record.not_after(),
    )
    .unwrap();
    let mut hidden = real.clone();
    hidden["token_key"] = Value::from(STANDARD.encode(other.public_key().spki()));
    hidden["token_key_id"] =
        Value::from(other.public_key().token_key_id().iter().map(|b| format!("{b:02x}")).collect::<String>());
    hidden["log_record"] = Value::from(String::from_utf8(forged.to_bytes()).unwrap());
    let fake = FakeKeyServer::start(hidden.to_string());
    let e = failed(voice(&fake.url(), &wallet, &common, &[], ""));
    assert!(e.contains("refusing the issuer key"), "{e}");
    assert!(e.contains("not in the transparency log"), "{e}");
    assert!(e.contains("not the expected entry"), "{e}");

    // The same key with no log index at all.
    let mut unlogged = hidden.clone();
    unlogged["log_index"] = Value::Null;
    let fake = FakeKeyServer::start(unlogged.to_string());
    let e = failed(voice(&fake.url(), &wallet, &common, &[], ""));
    assert!(e.contains("it is not in the transparency log (the server gives no log index)"), "{e}");

    // The other key with the real key's record: the record names another key.
    let mut swapped = hidden.clone();
    swapped["log_record"] = real["log_record"].clone();
    let fake = FakeKeyServer::start(swapped.to_string());
    let e = failed(voice(&fake.url(), &wallet, &common, &[], ""));
    assert!(e.contains("its log record names another key"), "{e}");

    // A log index past the end of the log.
    let mut beyond = real.clone();
    beyond["log_index"] = Value::from(1_000_000u64);
    let fake = FakeKeyServer::start(beyond.to_string());
    let started = Instant::now();
    let e = failed(voice(&fake.url(), &wallet, &common, &[], ""));
    assert!(e.contains("not in the transparency log at index 1000000"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(60));

    // A log key that is not this log's: the checkpoint does not verify.
    let stranger =
        tongxin_tlog::SignerKey::generate("tongxin.localhost/log", tongxin_tlog::SignatureType::Ed25519)
            .unwrap()
            .verifier()
            .to_string();
    let fake = FakeKeyServer::start(real.to_string());
    let e = failed(voice(
        &fake.url(),
        &wallet,
        &["--log-key", &stranger, "--log-url", &log_url, "key", "--scope", SCOPE],
        &[],
        "",
    ));
    assert!(e.contains("does not verify with the log key"), "{e}");
}
