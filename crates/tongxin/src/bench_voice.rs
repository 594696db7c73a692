//! `tongxin bench voice`: the safe voice's throughput.
//!
//! 1. **Issuance**: the issuer's work per token (decode the `TokenRequest`, blind-sign,
//!    encode the response) on every core, with the scope's real key made by the server.
//! 2. **Redemption**: per token, decode, RSA-PSS verification under the issuer key, and
//!    the double-spend check against a set of spent nonces (every token once, then every
//!    token again: all replays refused), on every core.
//! 3. **Anonymous filing end to end**: the real router served on a loopback port, a
//!    SQLite store in a fresh file and the transparency log on it; a load generator with
//!    a bounded number of requests in flight files reports on `POST /voice/reports`, each
//!    with its own token, and counts a filing as acknowledged only on `201 Created` (the
//!    report and spent nonce committed, the log entry sequenced and committed). Then the
//!    check: a second store opened on the file finds every acknowledged report by its
//!    receipt secret, with its filing event logged; the whole log verifies over HTTP
//!    against its signed checkpoint; and each acknowledged entry is at its index.
//!
//! The server, the load generator and the client-side token work all run in this one
//! process on the same cores: the figures are for the whole machine.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hyper::Method;
use serde_json::{Value, json};
use tongxin_domain::{Role, UnitCode, User};
use tongxin_store::{ImportBatch, Store};
use tongxin_tlog::{Leaf, Receipt, ReceiptPolicy, SignatureType, SignerKey, verify_receipt};
use tongxin_tlog_client::{Fetch as _, HttpFetch};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{DefaultRng, IssuerKey, Token, TokenRequest, begin_issuance, finalize, issue};

use crate::voice_cli::Http;

/// The scope the bench files in: 仙游县, Fujian (a county of some 4,000 cadres).
const SCOPE: &str = "350322";
const CADRE: &str = "bench.cadre";
const PASSWORD: &str = "bench-voice-password";

#[derive(Debug, Clone, clap::Args)]
pub struct VoiceBenchArgs {
    /// Anonymous reports to file over HTTP (each needs its own token: as many are issued).
    #[arg(long, default_value_t = 10_000)]
    pub reports: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// Token verifications for the redemption figure (cycling over the issued tokens).
    #[arg(long, default_value_t = 20_000)]
    pub redemptions: usize,
    /// How long the log pools appends into one batch, in milliseconds (as `serve --log-period-ms`,
    /// whose default this is: with a bounded number of requests in flight, filings per second
    /// are at most that number divided by this period).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub log_period_ms: u64,
    /// Threads for issuance and redemption (0: one per core).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
}

fn threads(n: usize) -> usize {
    if n == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { n }
}

/// Runs `work` over `items` split over `threads` OS threads; returns the results in order.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| s.spawn(|| part.iter().map(&work).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("a bench thread panicked")).collect()
    })
}

fn rate(n: usize, secs: f64) -> f64 {
    if secs > 0.0 { n as f64 / secs } else { f64::INFINITY }
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

pub async fn run(args: VoiceBenchArgs) -> Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; build with --release for meaningful figures");
    }
    let threads = threads(args.threads);
    println!(
        "tongxin bench voice: {} cores available, load average {} at start; server, load generator and \
         client work share them",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        load()
    );
    let dir = std::env::temp_dir().join(format!("tongxin-bench-voice-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = bench(&args, threads, &dir).await;
    std::fs::remove_dir_all(&dir).ok();
    result
}

async fn bench(args: &VoiceBenchArgs, threads: usize, dir: &std::path::Path) -> Result<()> {
    // A fresh SQLite file with Fujian's units and one cadre.
    let db = dir.join("voice.sqlite");
    let db_url = format!("sqlite://{}", db.display());
    let store: Arc<dyn Store> =
        Arc::new(tongxin_store_sqlite::SqliteStore::open(&db_url).await.map_err(|e| anyhow!("SQLite: {e}"))?);
    let units = tongxin_divisions::load(Some("35")).context("cannot read the vendored division list")?;
    store
        .import(ImportBatch { units, actor: "bench".into(), ..Default::default() }, None)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    let scope = UnitCode::parse(SCOPE).map_err(|e| anyhow!("{e:?}"))?;
    let cadre_scope = UnitCode::parse("350322100").map_err(|e| anyhow!("{e:?}"))?;
    store
        .put_user(&User {
            id: tongxin_domain::new_id(),
            username: CADRE.into(),
            display_name: "压测干部".into(),
            role: Role::Cadre,
            scope: cadre_scope,
            body: None,
            password_hash: tongxin_domain::account::hash_password(PASSWORD).map_err(|e| anyhow!("{e:?}"))?,
        })
        .await
        .map_err(|e| anyhow!("{e}"))?;

    // The transparency log on the same store, and the real router on a loopback port.
    let signer =
        SignerKey::generate("bench.tongxin.local/log", SignatureType::Ed25519).map_err(|e| anyhow!("{e}"))?;
    let mut config = tongxin_log::LogConfig::new("bench.tongxin.local/log", signer);
    config.period = Duration::from_millis(args.log_period_ms);
    let log = tongxin_log::Log::open(store.clone(), config).await.map_err(|e| anyhow!("{e}"))?;
    let log_key = log.verifier().clone();
    let app =
        tongxin_server::app_with_log(store.clone(), tongxin_server::Config::default(), Some(log.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move { tongxin_server::serve(listener, app).await });
    let base = format!("http://{addr}");
    let http = Arc::new(Http::new(&base)?);

    // The scope's key, made and logged by the server as for any cadre.
    let r = http
        .send(Method::POST, "/api/session", Some(&json!({"username": CADRE, "password": PASSWORD})), None)
        .await?;
    if r.status != 200 {
        return Err(r.error("signing in"));
    }
    let cookie = r.cookie.clone().ok_or_else(|| anyhow!("no session cookie"))?;
    let period = tongxin_server::voice::period_of(chrono::Utc::now());
    let r = http
        .send(
            Method::POST,
            "/api/voice/keys/ensure",
            Some(&json!({"scope": SCOPE, "period": period})),
            Some(&cookie),
        )
        .await?;
    if r.status != 200 {
        return Err(r.error("making the scope's key"));
    }
    let key_json = r.json()?;
    let server_name = key_json["server_name"].as_str().ok_or_else(|| anyhow!("no server_name"))?.to_owned();
    let stored = store
        .voice()
        .voice_keys(Some(&scope), Some(&period))
        .await
        .map_err(|e| anyhow!("{e}"))?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("the server stored no key"))?;
    let issuer = IssuerKey::from_pkcs8_der(&stored.secret_pkcs8).map_err(|e| anyhow!("{e}"))?;
    let chal = challenge(&server_name, &KeyScope::new(SCOPE, &period).map_err(|e| anyhow!("{e}"))?)
        .map_err(|e| anyhow!("{e}"))?;
    let digest = chal.digest();

    // 1. Issuance. The client blinds first (not timed); the issuer's part is timed.
    let n = args.reports.max(1);
    let t = Instant::now();
    let begun: Vec<_> = parallel(&vec![(); n], threads, |_| {
        begin_issuance(issuer.public_key(), &chal, &mut DefaultRng).map(|(r, s)| (r.to_bytes(), s))
    })
    .into_iter()
    .collect::<Result<_, _>>()
    .map_err(|e| anyhow!("blinding: {e}"))?;
    let blind_secs = t.elapsed().as_secs_f64();
    let (requests, states): (Vec<Vec<u8>>, Vec<_>) = begun.into_iter().unzip();
    println!();
    println!(
        "{:<50} {:>8} {:>8} {:>10} {:>8} {:>12}",
        "what", "count", "seconds", "per second", "CPU s", "per CPU s"
    );
    let load_before = load();
    let t = Clock::start();
    let responses: Vec<_> = parallel(&requests, threads, |bytes| {
        let request = TokenRequest::decode(bytes)?;
        issue(&issuer, &request).map(|r| r.to_bytes())
    })
    .into_iter()
    .collect::<Result<_, _>>()
    .map_err(|e| anyhow!("issuance: {e}"))?;
    print_row(&format!("token issuance (issuer side, {threads} threads)"), n, &t);
    let t = Instant::now();
    let pairs: Vec<_> = states.into_iter().zip(responses).collect();
    let tokens: Vec<Vec<u8>> = parallel(&pairs, threads, |(state, resp)| {
        let resp = tongxin_tokens::TokenResponse::decode(resp)?;
        finalize(state.clone(), &resp).map(|t| t.to_bytes())
    })
    .into_iter()
    .collect::<Result<_, _>>()
    .map_err(|e| anyhow!("unblinding: {e}"))?;
    println!(
        "  client blinding and unblinding (not a target): {:.0} tokens/s",
        rate(n, blind_secs + t.elapsed().as_secs_f64())
    );

    // 2. Redemption: verify, then the double-spend check; every token once, then replayed.
    let spent: Vec<Mutex<HashSet<[u8; 32]>>> = (0..64).map(|_| Mutex::new(HashSet::new())).collect();
    let redeem = |bytes: &Vec<u8>| -> Result<bool, tongxin_tokens::Error> {
        let token = Token::decode(bytes)?;
        tongxin_tokens::verify(issuer.public_key(), &token, &digest)?;
        let nonce = *token.nonce();
        let shard = usize::from(nonce[0]) % spent.len();
        Ok(spent[shard].lock().map(|mut s| s.insert(nonce)).unwrap_or(false))
    };
    let m = args.redemptions.max(tokens.len());
    let work: Vec<&Vec<u8>> = (0..m).map(|i| &tokens[i % tokens.len()]).collect();
    let t = Clock::start();
    let outcomes = parallel(&work, threads, |b| redeem(b));
    let accepted = outcomes.iter().filter(|o| matches!(o, Ok(true))).count();
    let refused = outcomes.iter().filter(|o| matches!(o, Ok(false))).count();
    if accepted != tokens.len() || refused != m - tokens.len() {
        bail!(
            "redemption: {accepted} accepted and {refused} refused as spent, expected {} and {}",
            tokens.len(),
            m - tokens.len()
        );
    }
    print_row(&format!("token redemption (verify + spent check, {threads} thr.)"), m, &t);
    println!(
        "  {} distinct tokens accepted once, {} replays refused; load average {} before, {} after",
        accepted,
        refused,
        load_before,
        load()
    );

    // 3. Anonymous filing over HTTP.
    let bodies: Vec<String> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "scope": SCOPE,
                "period": period,
                "token": STANDARD.encode(t),
                "content": {
                    "demanded": format!("每周填报三张内容相同的种植面积表（第 {i} 份）"),
                    "by_whom": "县农业农村局种植业股",
                    "cost": "每周约 4 小时，全镇每年约 200 个工作日",
                    "fix": "合并为一张表，按月填报",
                }
            })
            .to_string()
        })
        .collect();
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let acked: Arc<Mutex<Vec<Filed>>> = Arc::new(Mutex::new(Vec::with_capacity(n)));
    let failures: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let load_before = load();
    let clock = Clock::start();
    let started = clock.wall;
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (http, bodies, next, acked, failures) =
            (http.clone(), bodies.clone(), next.clone(), acked.clone(), failures.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= bodies.len() {
                    return;
                }
                let body: Value = serde_json::from_str(&bodies[i]).expect("our own JSON");
                let t = Instant::now();
                match http.send(Method::POST, "/voice/reports", Some(&body), None).await {
                    Ok(r) if r.status == 201 => match r.json() {
                        Ok(v) => {
                            let filed = Filed {
                                secret: v["receipt_secret"].as_str().unwrap_or("").to_owned(),
                                index: v["log_index"].as_u64(),
                                entry: v["log_entry"].as_str().unwrap_or("").as_bytes().to_vec(),
                                proof: v["proof"].as_str().map(str::to_owned),
                                done: started.elapsed(),
                                latency: t.elapsed(),
                            };
                            acked.lock().expect("lock").push(filed);
                        }
                        Err(e) => failures.lock().expect("lock").push(format!("{e:#}")),
                    },
                    Ok(r) => failures.lock().expect("lock").push(format!("{:#}", r.error("filing"))),
                    Err(e) => failures.lock().expect("lock").push(format!("{e:#}")),
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = started.elapsed().as_secs_f64();
    let mut acked = std::mem::take(&mut *acked.lock().expect("lock"));
    let failures = std::mem::take(&mut *failures.lock().expect("lock"));
    print_row(
        &format!("anonymous reports filed over HTTP ({} in flight)", args.concurrency),
        acked.len(),
        &clock,
    );
    let mut lat: Vec<Duration> = acked.iter().map(|f| f.latency).collect();
    lat.sort();
    let pct = |p: f64| lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied();
    // The slowest whole second of the run.
    let whole = secs.floor() as usize;
    let mut per_second = vec![0usize; whole.max(1)];
    for f in &acked {
        let s = f.done.as_secs() as usize;
        if s < whole {
            per_second[s] += 1;
        }
    }
    println!(
        "  latency p50 {:?}, p99 {:?}, max {:?}; slowest whole second {} filings; log batching {} ms; \
         load average {} before, {} after",
        pct(0.5).unwrap_or_default(),
        pct(0.99).unwrap_or_default(),
        lat.last().copied().unwrap_or_default(),
        if whole > 0 {
            per_second.iter().min().copied().unwrap_or(0).to_string()
        } else {
            "n/a (under 1 s)".into()
        },
        args.log_period_ms,
        load_before,
        load()
    );
    if !failures.is_empty() {
        println!("  {} filings NOT acknowledged; the first: {}", failures.len(), failures[0]);
    }

    // 4. Nothing lost: every acknowledged filing is in the file and in the log.
    let t = Instant::now();
    let reopened = tongxin_store_sqlite::SqliteStore::open(&db_url).await.map_err(|e| anyhow!("{e}"))?;
    let mut missing = 0usize;
    let mut unlogged = 0usize;
    for f in &acked {
        let secret =
            tongxin_voice::ReceiptSecret::parse(&f.secret).map_err(|e| anyhow!("receipt secret: {e:?}"))?;
        let Some(report) = reopened
            .voice()
            .voice_report_by_receipt(secret.hash().as_bytes())
            .await
            .map_err(|e| anyhow!("{e}"))?
        else {
            missing += 1;
            continue;
        };
        let events = reopened.voice().voice_events(report.id).await.map_err(|e| anyhow!("{e}"))?;
        match events.iter().find(|e| e.seq == 0) {
            Some(e) if e.log_index.is_some() && e.log_index == f.index && e.entry == f.entry => {}
            _ => unlogged += 1,
        }
    }
    let max_index = acked.iter().filter_map(|f| f.index).max();
    if let Some(i) = max_index {
        tokio::time::timeout(Duration::from_secs(10), log.covering(i))
            .await
            .map_err(|_| anyhow!("no checkpoint covers entry {i} within 10 s"))?
            .map_err(|e| anyhow!("{e}"))?;
    }
    let fetch = HttpFetch::new(&format!("{base}/log")).map_err(|e| anyhow!("{e}"))?;
    let report = tongxin_tlog_client::verify_log(&fetch, &log_key, None, None, |_| {})
        .await
        .map_err(|e| anyhow!("the log does not verify: {e}"))?;
    // Each acknowledged entry at its index, from the verified log's bundles.
    acked.sort_by_key(|f| f.index);
    let mut not_in_log = 0usize;
    let mut bundle: Option<(u64, Vec<Vec<u8>>)> = None;
    for f in &acked {
        let Some(index) = f.index else {
            not_in_log += 1;
            continue;
        };
        let b = index / 256;
        if bundle.as_ref().is_none_or(|(have, _)| *have != b) {
            let width = (report.size - b * 256).min(256) as u16;
            let path = tongxin_tlog::Bundle { index: b, width }.path();
            let data =
                fetch.get(&path).await.map_err(|e| anyhow!("{e}"))?.ok_or_else(|| anyhow!("no {path}"))?;
            let entries = tongxin_tlog::decode_bundle(&data).map_err(|e| anyhow!("{e}"))?;
            bundle = Some((b, entries.into_iter().map(<[u8]>::to_vec).collect()));
        }
        let entries = &bundle.as_ref().expect("just set").1;
        if entries.get((index % 256) as usize) != Some(&f.entry) {
            not_in_log += 1;
        }
    }
    // The proofs handed out verify for their entries.
    let policy = ReceiptPolicy::new(log_key.clone(), Vec::new(), 0).map_err(|e| anyhow!("{e}"))?;
    let with_proof = acked.iter().filter(|f| f.proof.is_some()).count();
    let bad_proofs = acked
        .iter()
        .filter_map(|f| f.proof.as_ref().map(|p| (p, &f.entry)))
        .filter(|(p, e)| {
            Receipt::parse(p.as_bytes())
                .map_or(true, |r| verify_receipt(&r, Leaf::Entry(e), &policy).is_err())
        })
        .count();
    println!(
        "  check ({:.1} s): {} acknowledged; {} missing from the reopened store, {} without their logged \
         filing event, {} not at their index in the log; the log ({} entries, {} bundles) verifies against \
         its signed checkpoint; {} proofs handed out, {} failing",
        t.elapsed().as_secs_f64(),
        acked.len(),
        missing,
        unlogged,
        not_in_log,
        report.size,
        report.bundles_checked,
        with_proof,
        bad_proofs
    );
    server.abort();
    if missing + unlogged + not_in_log + bad_proofs > 0 {
        bail!("acknowledged filings were lost or mislogged");
    }
    println!();
    println!("targets on this machine: issuance ≥ 800/s, redemption ≥ 10,000/s, ≥ 1,000 anonymous reports/s");
    Ok(())
}

struct Filed {
    secret: String,
    index: Option<u64>,
    entry: Vec<u8>,
    proof: Option<String>,
    done: Duration,
    latency: Duration,
}

/// Wall time and this process's CPU time (user + system) since a start.
struct Clock {
    wall: Instant,
    cpu: Option<f64>,
}

impl Clock {
    fn start() -> Clock {
        Clock { wall: Instant::now(), cpu: cpu_seconds() }
    }
}

/// This process's CPU time so far, from `/proc/self/stat` (user + system, at the usual
/// 100 ticks per second); `None` where there is no such file.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3, utime 14 and stime 15 (1-based, in `man proc`).
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// One figure: operations per wall second, and per CPU second of this process (which
/// says what the machine would do if the other processes on it left its cores alone).
fn print_row(what: &str, count: usize, clock: &Clock) {
    let secs = clock.wall.elapsed().as_secs_f64();
    let cpu = match (clock.cpu, cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    println!(
        "{what:<50} {count:>8} {secs:>8.2} {:>10.0} {:>8} {:>12}",
        rate(count, secs),
        cpu.map_or("?".into(), |c| format!("{c:.2}")),
        cpu.map_or("?".into(), |c| format!("{:.0}", rate(count, c)))
    );
}
