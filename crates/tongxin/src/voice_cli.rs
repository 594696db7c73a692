//! `tongxin voice …`: the cadre's side of the safe voice on the command line.
//!
//! - `voice key`: fetches a scope's issuer key and **refuses it unless it is in the
//!   transparency log**: its record must hash to the leaf at its `log_index`, included
//!   under a checkpoint signed by the log key (`--log-key`, else the one pinned in the
//!   wallet for this server, else fetched from the server's `/log` page and pinned on
//!   first use).
//! - `voice allowance`: signs in, blinds [`ALLOWANCE`] token requests here, takes the
//!   allowance, unblinds and verifies every token under the logged key, and keeps the
//!   tokens in the wallet.
//! - `voice file`: spends one token on the anonymous endpoint (no cookie, no session),
//!   drops it from the wallet once the server accepted it (or said it was spent),
//!   prints the receipt secret once and writes the `tlog-proof`, verified here.
//! - `voice receipt` / `reply` / `rate`: the receipt holder's view and actions, the
//!   secret read from standard input or `TONGXIN_RECEIPT_SECRET`, never an argument.
//!
//! The wallet (JSON, created 0600, replaced atomically) holds per server the pinned log
//! key and per scope and period the issuer key and the unspent tokens: nothing about the
//! user. Blinding secrets never leave this process.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, COOKIE, SET_COOKIE};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tongxin_tlog::{
    Checkpoint, Hash, Leaf, Note, Receipt, Tile, TileHashReader, TileReader, VerifierKey, leaf_hash,
    prove_inclusion, verify_checkpoint_note, verify_inclusion,
};
use tongxin_tlog_client::{Fetch as _, HttpFetch};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{
    DefaultRng, IssuerPublicKey, KeyRecord, Token, TokenChallenge, TokenResponse, begin_issuance, finalize,
};
use uuid::Uuid;

/// Tokens per scope and period, as the server hands them out.
pub const ALLOWANCE: usize = tongxin_server::voice::ALLOWANCE;
/// The environment variable a receipt secret may be read from.
pub const SECRET_ENV: &str = "TONGXIN_RECEIPT_SECRET";
/// The environment variable the password may be read from.
pub const PASSWORD_ENV: &str = "TONGXIN_PASSWORD";
/// How long to wait for a checkpoint covering a fresh log entry.
const LOG_WAIT: Duration = Duration::from_secs(10);
/// Largest JSON answer read from the server.
const MAX_BODY: usize = 8 << 20;
/// Whole-request timeout.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, clap::Args)]
pub struct VoiceArgs {
    /// The tongxin server (plain http; put HTTPS behind a local TLS-terminating proxy).
    #[arg(long, global = true, env = "TONGXIN_SERVER", default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Where the transparency log is read (default: SERVER/log).
    #[arg(long, global = true)]
    pub log_url: Option<String>,
    /// The log's public key (a note verifier key `origin+hash+key`). Default: the key pinned in
    /// the wallet for this server, or the one the server's /log page shows, pinned on first use.
    #[arg(long, global = true)]
    pub log_key: Option<String>,
    /// The wallet file (default: $XDG_DATA_HOME/tongxin/voice-wallet.json, or
    /// ~/.local/share/tongxin/voice-wallet.json).
    #[arg(long, global = true, env = "TONGXIN_WALLET")]
    pub wallet: Option<PathBuf>,
    #[command(subcommand)]
    pub command: VoiceCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum VoiceCommand {
    /// Fetch a scope's issuer key and check it is in the transparency log.
    Key {
        /// The unit code of the scope (county level or above, at least k cadres).
        #[arg(long)]
        scope: String,
        /// YYYY-MM (default: this month, China time).
        #[arg(long)]
        period: Option<String>,
    },
    /// Sign in, take this period's token allowance for a scope (blinded here) and keep the tokens.
    Allowance {
        #[arg(long)]
        scope: String,
        /// YYYY-MM (default: this month, China time).
        #[arg(long)]
        period: Option<String>,
        /// Your user name. The password is read from TONGXIN_PASSWORD or asked for.
        #[arg(long)]
        user: String,
    },
    /// File an anonymous report with one token from the wallet.
    File {
        #[arg(long)]
        scope: String,
        /// The period of the token to spend (default: this month, China time).
        #[arg(long)]
        period: Option<String>,
        /// What is demanded.
        #[arg(long)]
        demanded: String,
        /// By whom.
        #[arg(long)]
        by_whom: String,
        /// What it costs.
        #[arg(long)]
        cost: String,
        /// What would fix it.
        #[arg(long)]
        fix: String,
        /// The body (id) the report is addressed to; default: the burden-reduction office routes it.
        #[arg(long)]
        to: Option<Uuid>,
        /// A ledger demand (id) the report cites (repeatable).
        #[arg(long = "cite")]
        cite: Vec<Uuid>,
        /// A body (id) the report cites (repeatable).
        #[arg(long = "cite-body")]
        cite_body: Vec<Uuid>,
        /// Where to write the report's tlog-proof (default: voice-<report ref>.tlog-proof here).
        #[arg(long)]
        proof_out: Option<PathBuf>,
        /// Hours a freshly taken allowance is held before one of its tokens is spent, so
        /// that taking it and filing cannot be matched by their timing (as the filing page
        /// does). Lower it only knowing that risk.
        #[arg(long, default_value_t = tongxin_server::voice_pages::TOKEN_HOLD_HOURS)]
        hold_hours: u32,
    },
    /// Show a report's status and answers (the receipt secret from stdin or TONGXIN_RECEIPT_SECRET).
    Receipt {
        /// Print the server's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reply to the body's answer (the receipt secret from stdin or TONGXIN_RECEIPT_SECRET).
    Reply {
        /// The reply.
        #[arg(long)]
        text: String,
    },
    /// Rate the answer, 1 to 5, which closes the report (secret from stdin or TONGXIN_RECEIPT_SECRET).
    Rate {
        #[arg(long)]
        satisfaction: u8,
        /// Whether the problem was resolved.
        #[arg(long)]
        resolved: bool,
    },
}

pub async fn run(args: VoiceArgs) -> Result<()> {
    let server = args.server.trim_end_matches('/').to_owned();
    let http = Http::new(&server)?;
    let wallet_path = match &args.wallet {
        Some(p) => p.clone(),
        None => default_wallet()?,
    };
    let log_url = args.log_url.clone().unwrap_or_else(|| format!("{server}/log"));
    let ctx = Ctx { server, http, wallet_path, log_url, log_key: args.log_key.clone() };
    match args.command {
        VoiceCommand::Key { scope, period } => key(&ctx, &scope, period).await,
        VoiceCommand::Allowance { scope, period, user } => allowance(&ctx, &scope, period, &user).await,
        VoiceCommand::File {
            scope,
            period,
            demanded,
            by_whom,
            cost,
            fix,
            to,
            cite,
            cite_body,
            proof_out,
            hold_hours,
        } => {
            let content = json!({"demanded": demanded, "by_whom": by_whom, "cost": cost, "fix": fix});
            file(&ctx, &scope, period, content, to, cite, cite_body, proof_out, hold_hours).await
        }
        VoiceCommand::Receipt { json } => {
            let secret = read_secret()?;
            let view = receipt_call(&ctx, "/voice/receipt", json!({"secret": secret})).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                print_view(&view);
            }
            Ok(())
        }
        VoiceCommand::Reply { text } => {
            let secret = read_secret()?;
            let view =
                receipt_call(&ctx, "/voice/receipt/reply", json!({"secret": secret, "text": text})).await?;
            print_view(&view);
            Ok(())
        }
        VoiceCommand::Rate { satisfaction, resolved } => {
            let secret = read_secret()?;
            let body = json!({"secret": secret, "satisfaction": satisfaction, "resolved": resolved});
            let view = receipt_call(&ctx, "/voice/receipt/rate", body).await?;
            print_view(&view);
            Ok(())
        }
    }
}

struct Ctx {
    server: String,
    http: Http,
    wallet_path: PathBuf,
    log_url: String,
    log_key: Option<String>,
}

fn default_wallet() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => {
            let home = std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .ok_or_else(|| anyhow!("neither XDG_DATA_HOME nor HOME is set: pass --wallet PATH"))?;
            PathBuf::from(home).join(".local").join("share")
        }
    };
    Ok(base.join("tongxin").join("voice-wallet.json"))
}

fn period_or_now(period: Option<String>) -> String {
    period.unwrap_or_else(|| tongxin_server::voice::period_of(chrono::Utc::now()))
}

// ---------------------------------------------------------------------------------------
// HTTP

/// A small JSON client over hyper-util (plain HTTP).
pub struct Http {
    base: String,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// A server's answer.
pub struct Reply {
    pub status: u16,
    pub cookie: Option<String>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Result<Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "the server's answer is not JSON: {}",
                String::from_utf8_lossy(&self.body[..self.body.len().min(200)])
            )
        })
    }

    /// An error naming what failed and what the server said (its English and Chinese
    /// messages and any field problems).
    pub fn error(&self, what: &str) -> anyhow::Error {
        let Ok(v) = serde_json::from_slice::<Value>(&self.body) else {
            let text = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned();
            return anyhow!("{what}: the server answered HTTP {}: {text}", self.status);
        };
        let mut msg = format!(
            "{what}: the server answered HTTP {} ({}): {} / {}",
            self.status,
            v["code"].as_str().unwrap_or("?"),
            v["message_en"].as_str().unwrap_or(""),
            v["message_zh"].as_str().unwrap_or("")
        );
        for f in v["fields"].as_array().into_iter().flatten() {
            msg.push_str(&format!(
                "\n  {}: {} / {}",
                f["field"].as_str().unwrap_or("?"),
                f["en"].as_str().unwrap_or(""),
                f["zh"].as_str().unwrap_or("")
            ));
        }
        anyhow!(msg)
    }
}

impl Http {
    pub fn new(base: &str) -> Result<Http> {
        if base.starts_with("https://") {
            bail!(
                "--server {base}: https is not supported by this client (no TLS stack); use a local \
                 TLS-terminating proxy that serves plain http"
            );
        }
        if !base.starts_with("http://") {
            bail!("--server {base}: expected an http:// URL, e.g. http://127.0.0.1:8080");
        }
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(10)));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Http { base: base.trim_end_matches('/').to_owned(), client })
    }

    /// One request; `body` is sent as JSON, `cookie` as the session cookie.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        cookie: Option<&str>,
    ) -> Result<Reply> {
        let url = format!("{}{path}", self.base);
        let uri: Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        let bytes = match body {
            Some(b) => {
                req = req.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(b)?)
            }
            None => Bytes::new(),
        };
        let req = req.body(Full::new(bytes)).context("cannot build the request")?;
        let fut = async {
            let resp = self.client.request(req).await.map_err(|e| {
                anyhow!(
                    "cannot reach {url}: {} (is the server running? see --server)",
                    tongxin_tlog_client::error_chain(&e)
                )
            })?;
            let status = resp.status().as_u16();
            let cookie = resp
                .headers()
                .get_all(SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find(|v| v.starts_with(tongxin_server::auth::SESSION_COOKIE))
                .and_then(|v| v.split(';').next())
                .map(str::to_owned);
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| anyhow!("reading the answer of {url}: {e}"))?
                .to_bytes()
                .to_vec();
            Ok::<Reply, anyhow::Error>(Reply { status, cookie, body })
        };
        tokio::time::timeout(TIMEOUT, fut)
            .await
            .map_err(|_| anyhow!("{url} did not answer within {TIMEOUT:?}"))?
    }
}

// ---------------------------------------------------------------------------------------
// The wallet

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What the wallet keeps: per server the pinned log key, per scope and period the issuer
/// key and the unspent tokens. Nothing about the user.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Wallet {
    pub version: u32,
    /// Server URL → the log's verifier key.
    #[serde(default)]
    pub log_keys: BTreeMap<String, String>,
    #[serde(default)]
    pub allowances: Vec<WalletAllowance>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WalletAllowance {
    pub server: String,
    pub scope: String,
    pub period: String,
    /// The server name the challenge is for.
    pub server_name: String,
    /// The issuer key's SPKI, base64.
    pub token_key: String,
    pub token_key_id: String,
    /// Where the key's record is in the log.
    pub log_index: u64,
    /// The key's validity, Unix seconds.
    pub not_before: u64,
    pub not_after: u64,
    /// When the allowance was taken, Unix seconds (0 in wallets written before this was
    /// kept: treated as long ago).
    #[serde(default)]
    pub obtained_at: u64,
    /// Unspent tokens, base64.
    pub tokens: Vec<String>,
}

impl Wallet {
    pub fn load(path: &Path) -> Result<Wallet> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("the wallet {} is not a tongxin voice wallet", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Wallet { version: 1, ..Default::default() })
            }
            Err(e) => Err(anyhow!("cannot read the wallet {}: {e}", path.display())),
        }
    }

    /// Writes the wallet atomically (a fresh 0600 file beside it, synced, renamed over).
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.exists() {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let name =
            path.file_name().ok_or_else(|| anyhow!("the wallet path {} names no file", path.display()))?;
        let tmp = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let write = || -> std::io::Result<()> {
            let mut f = options.open(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)?;
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow!("cannot write the wallet {}: {e}", path.display())
        })
    }

    fn find(&self, server: &str, scope: &str, period: &str) -> Option<usize> {
        self.allowances.iter().position(|a| a.server == server && a.scope == scope && a.period == period)
    }
}

// ---------------------------------------------------------------------------------------
// The transparency log

/// Hash tiles fetched ahead, served to the synchronous tile reader.
struct FetchedTiles(HashMap<Tile, Vec<u8>>);

impl TileReader for FetchedTiles {
    type Error = std::io::Error;

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, Self::Error> {
        tiles
            .iter()
            .map(|t| {
                self.0
                    .get(t)
                    .cloned()
                    .ok_or_else(|| std::io::Error::other(format!("tile {} was not fetched", t.path())))
            })
            .collect()
    }
}

/// The log's key for this server: `--log-key`, else the pinned one, else the one the
/// server's `/log` page shows, checked against the current checkpoint and pinned.
async fn log_key(ctx: &Ctx, wallet: &mut Wallet) -> Result<VerifierKey> {
    if let Some(k) = &ctx.log_key {
        return VerifierKey::parse(k.trim()).map_err(|e| anyhow!("--log-key is not a log verifier key: {e}"));
    }
    if let Some(k) = wallet.log_keys.get(&ctx.server) {
        return VerifierKey::parse(k)
            .map_err(|e| anyhow!("the log key pinned in the wallet for {} is unusable: {e}", ctx.server));
    }
    // Trust on first use: the key the log page shows, if it signs the current checkpoint.
    let fetch = HttpFetch::new(&ctx.log_url).map_err(|e| anyhow!("--log-url: {e}"))?;
    let note =
        fetch.get("checkpoint").await.map_err(|e| anyhow!("{e}"))?.ok_or_else(|| {
            anyhow!("{} has no checkpoint: is a transparency log running there?", ctx.log_url)
        })?;
    let origin = String::from_utf8_lossy(&note).lines().next().unwrap_or("").to_owned();
    let page = ctx.http.send(Method::GET, "/log", None, None).await?;
    if page.status != 200 {
        return Err(page.error("reading the log page for its public key"));
    }
    let html = String::from_utf8_lossy(&page.body)
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#47;", "/")
        .replace("&#43;", "+")
        .replace("&#x2b;", "+")
        .replace("&amp;", "&");
    let needle = format!("{origin}+");
    let key = html
        .match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at..];
            let end = rest.find(|c: char| c.is_whitespace() || "<>\"'".contains(c)).unwrap_or(rest.len());
            VerifierKey::parse(&rest[..end]).ok()
        })
        .next()
        .ok_or_else(|| {
            anyhow!("the log page of {} shows no key for the log {origin:?}: pass --log-key", ctx.server)
        })?;
    let note = Note::parse(&note).map_err(|e| anyhow!("the log's checkpoint is malformed: {e}"))?;
    verify_checkpoint_note(&note, key.name(), &key, &[])
        .map_err(|e| anyhow!("the key the log page shows does not sign the log's checkpoint: {e}"))?;
    eprintln!("Pinned the transparency log key of {} on first use: {key}", ctx.server);
    wallet.log_keys.insert(ctx.server.clone(), key.to_string());
    Ok(key)
}

/// Fetches a checkpoint signed by `key` whose tree holds `index`, waiting up to
/// [`LOG_WAIT`] for one, and proves `entry` is the leaf at `index` from the log's
/// tiles. Returns the receipt this makes (checkpoint note, index, proof).
pub async fn prove_in_log(log_url: &str, key: &VerifierKey, index: u64, entry: &[u8]) -> Result<Receipt> {
    let fetch = HttpFetch::new(log_url).map_err(|e| anyhow!("--log-url: {e}"))?;
    let started = Instant::now();
    let (note, checkpoint) = loop {
        let bytes =
            fetch.get("checkpoint").await.map_err(|e| anyhow!("{e}"))?.ok_or_else(|| {
                anyhow!("{log_url} has no checkpoint: is a transparency log running there?")
            })?;
        let note = Note::parse(&bytes).map_err(|e| anyhow!("the log's checkpoint is malformed: {e}"))?;
        let checkpoint: Checkpoint = verify_checkpoint_note(&note, key.name(), key, &[])
            .map_err(|e| anyhow!("the log's checkpoint does not verify with the log key {key}: {e}"))?
            .checkpoint;
        if checkpoint.size > index {
            break (note, checkpoint);
        }
        if started.elapsed() > LOG_WAIT {
            bail!(
                "the log's checkpoint holds {} entries, not entry {index}, after waiting {LOG_WAIT:?}",
                checkpoint.size
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let size = checkpoint.size;
    let wanted = tongxin_tlog::tile::tiles_for_inclusion_proof(index, size).map_err(|e| anyhow!("{e}"))?;
    let mut tiles = HashMap::new();
    for t in wanted {
        let data = fetch
            .get(&t.path())
            .await
            .map_err(|e| anyhow!("{e}"))?
            .ok_or_else(|| anyhow!("the log does not serve the tile {}", t.path()))?;
        tiles.insert(t, data);
    }
    let reader = TileHashReader::new(size, checkpoint.root, FetchedTiles(tiles));
    let proof = prove_inclusion(index, size, &reader)
        .map_err(|e| anyhow!("the log's tiles do not match its signed checkpoint: {e}"))?;
    let leaf: Hash = leaf_hash(entry);
    verify_inclusion(index, size, &leaf, &proof, &checkpoint.root)
        .map_err(|_| anyhow!("the log's entry {index} is not the expected entry (its hash differs)"))?;
    Ok(Receipt { extra: None, index, proof, checkpoint: note })
}

/// A scope's issuer key, checked against the log.
pub struct LoggedKey {
    pub public: IssuerPublicKey,
    pub challenge: TokenChallenge,
    pub server_name: String,
    pub log_index: u64,
    pub record: KeyRecord,
    /// How many cadres share the scope, when the server says.
    pub cadres: Option<u64>,
}

/// Fetches the issuer key of (scope, period) and refuses it unless its record is the
/// log entry at its `log_index`, included under a checkpoint signed by `key`.
async fn logged_key(ctx: &Ctx, key: &VerifierKey, scope: &str, period: &str) -> Result<LoggedKey> {
    let r = ctx
        .http
        .send(Method::GET, &format!("/api/voice/keys?scope={scope}&period={period}"), None, None)
        .await?;
    if r.status != 200 {
        return Err(r.error(&format!("fetching the issuer key of scope {scope}, period {period}")));
    }
    let v = r.json()?;
    let refuse = |why: String| anyhow!("refusing the issuer key of scope {scope}, period {period}: {why}");
    let spki = v["token_key"]
        .as_str()
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or_else(|| refuse("the server sent no token_key".into()))?;
    let public = IssuerPublicKey::from_spki(&spki).map_err(|e| refuse(format!("{e}")))?;
    if v["token_key_id"].as_str() != Some(hex(public.token_key_id()).as_str()) {
        return Err(refuse("its token_key_id is not the hash of its key".into()));
    }
    let Some(log_index) = v["log_index"].as_u64() else {
        return Err(refuse("it is not in the transparency log (the server gives no log index)".into()));
    };
    let record_text =
        v["log_record"].as_str().ok_or_else(|| refuse("the server sent no log_record".into()))?;
    let record =
        KeyRecord::from_bytes(record_text.as_bytes()).map_err(|e| refuse(format!("bad log record: {e}")))?;
    let want_scope = KeyScope::new(scope, period).map_err(|e| anyhow!("bad scope or period: {e}"))?;
    if record.scope() != &want_scope {
        return Err(refuse("its log record is for another scope or period".into()));
    }
    if record.spki() != public.spki() {
        return Err(refuse("its log record names another key".into()));
    }
    prove_in_log(&ctx.log_url, key, log_index, &record.to_bytes())
        .await
        .map_err(|e| refuse(format!("it is not in the transparency log at index {log_index}: {e:#}")))?;
    let server_name = v["server_name"].as_str().ok_or_else(|| refuse("no server_name".into()))?.to_owned();
    let challenge = challenge(&server_name, &want_scope).map_err(|e| refuse(format!("{e}")))?;
    let theirs = v["challenge"].as_str().and_then(|s| STANDARD.decode(s).ok());
    if theirs.as_deref() != Some(challenge.to_bytes().as_slice()) {
        return Err(refuse("the server's challenge is not the one of this scope and period".into()));
    }
    Ok(LoggedKey { public, challenge, server_name, log_index, record, cadres: v["cadres_in_scope"].as_u64() })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fmt_time(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|| secs.to_string())
}

// ---------------------------------------------------------------------------------------
// The subcommands

async fn key(ctx: &Ctx, scope: &str, period: Option<String>) -> Result<()> {
    let period = period_or_now(period);
    let mut wallet = Wallet::load(&ctx.wallet_path)?;
    let pinned = wallet.log_keys.len();
    let lkey = log_key(ctx, &mut wallet).await?;
    let k = logged_key(ctx, &lkey, scope, &period).await?;
    if wallet.log_keys.len() != pinned {
        wallet.save(&ctx.wallet_path)?;
    }
    println!("scope {scope}, period {period}");
    println!("token key id {}", hex(k.public.token_key_id()));
    println!("in the transparency log at index {} (verified against {})", k.log_index, lkey.name());
    println!("valid {} to {}", fmt_time(k.record.not_before()), fmt_time(k.record.not_after()));
    println!("server name {}", k.server_name);
    match k.cadres {
        Some(n) => println!("cadres in scope {n}"),
        None => println!("cadres in scope: shown when you take the allowance (`tongxin voice allowance`)"),
    }
    Ok(())
}

fn read_password(user: &str) -> Result<String> {
    if let Ok(p) = std::env::var(PASSWORD_ENV)
        && !p.is_empty()
    {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        let p = line.trim_end_matches(['\r', '\n']).to_owned();
        if p.is_empty() {
            bail!("no password: set {PASSWORD_ENV} or type it when asked");
        }
        return Ok(p);
    }
    rpassword::prompt_password(format!("Password for {user}: ")).context("cannot read the password")
}

async fn allowance(ctx: &Ctx, scope: &str, period: Option<String>, user: &str) -> Result<()> {
    let period = period_or_now(period);
    let mut wallet = Wallet::load(&ctx.wallet_path)?;
    if let Some(i) = wallet.find(&ctx.server, scope, &period) {
        bail!(
            "the wallet {} already holds the allowance of scope {scope}, period {period} ({} tokens unspent)",
            ctx.wallet_path.display(),
            wallet.allowances[i].tokens.len()
        );
    }
    let password = read_password(user)?;
    let r = ctx
        .http
        .send(Method::POST, "/api/session", Some(&json!({"username": user, "password": password})), None)
        .await?;
    if r.status != 200 {
        return Err(r.error("signing in"));
    }
    let cookie = r.cookie.clone().ok_or_else(|| anyhow!("signing in: the server set no session cookie"))?;
    // Make sure the key exists (made and logged on first need), then check it ourselves.
    let r = ctx
        .http
        .send(
            Method::POST,
            "/api/voice/keys/ensure",
            Some(&json!({"scope": scope, "period": period})),
            Some(&cookie),
        )
        .await?;
    if r.status != 200 {
        return Err(r.error(&format!("asking for the issuer key of scope {scope}, period {period}")));
    }
    let lkey = log_key(ctx, &mut wallet).await?;
    let k = logged_key(ctx, &lkey, scope, &period).await?;

    let mut states = Vec::with_capacity(ALLOWANCE);
    let mut requests = Vec::with_capacity(ALLOWANCE);
    for _ in 0..ALLOWANCE {
        let (req, state) = begin_issuance(&k.public, &k.challenge, &mut DefaultRng)
            .map_err(|e| anyhow!("cannot blind a token request: {e}"))?;
        requests.push(STANDARD.encode(req.to_bytes()));
        states.push(state);
    }
    let body = json!({"scope": scope, "period": period, "requests": requests});
    let r = ctx.http.send(Method::POST, "/api/voice/allowance", Some(&body), Some(&cookie)).await?;
    // Sign out whatever happened: the session is not needed any more.
    let _ = ctx.http.send(Method::DELETE, "/api/session", None, Some(&cookie)).await;
    if r.status != 200 {
        return Err(r.error(&format!("taking the allowance of scope {scope}, period {period}")));
    }
    let v = r.json()?;
    let responses = v["responses"].as_array().cloned().unwrap_or_default();
    if responses.len() != ALLOWANCE {
        bail!("the server sent {} signed responses, not {ALLOWANCE}", responses.len());
    }
    let digest = k.challenge.digest();
    let mut tokens = Vec::with_capacity(ALLOWANCE);
    for (i, (state, resp)) in states.into_iter().zip(responses).enumerate() {
        let resp = resp
            .as_str()
            .and_then(|s| STANDARD.decode(s).ok())
            .and_then(|b| TokenResponse::decode(&b).ok())
            .ok_or_else(|| anyhow!("the server's response {i} is not a token response"))?;
        let token =
            finalize(state, &resp).map_err(|e| anyhow!("the server's response {i} does not unblind: {e}"))?;
        tongxin_tokens::verify(&k.public, &token, &digest)
            .map_err(|e| anyhow!("token {i} does not verify under the logged key: {e}"))?;
        tokens.push(STANDARD.encode(token.to_bytes()));
    }
    wallet.allowances.push(WalletAllowance {
        server: ctx.server.clone(),
        scope: scope.to_owned(),
        period: period.clone(),
        server_name: k.server_name.clone(),
        token_key: STANDARD.encode(k.public.spki()),
        token_key_id: hex(k.public.token_key_id()),
        log_index: k.log_index,
        not_before: k.record.not_before(),
        not_after: k.record.not_after(),
        obtained_at: unix_now(),
        tokens,
    });
    wallet.save(&ctx.wallet_path)?;
    println!(
        "scope {scope}, period {period}: {ALLOWANCE} tokens verified and kept in {}",
        ctx.wallet_path.display()
    );
    println!(
        "token key id {} (in the transparency log at index {})",
        hex(k.public.token_key_id()),
        k.log_index
    );
    if let Some(n) = v["cadres_in_scope"].as_u64() {
        println!("cadres in scope {n}: an anonymous report is one of theirs, not yours in particular");
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn file(
    ctx: &Ctx,
    scope: &str,
    period: Option<String>,
    content: Value,
    to: Option<Uuid>,
    cite: Vec<Uuid>,
    cite_body: Vec<Uuid>,
    proof_out: Option<PathBuf>,
    hold_hours: u32,
) -> Result<()> {
    let period = period_or_now(period);
    let mut wallet = Wallet::load(&ctx.wallet_path)?;
    let i = wallet.find(&ctx.server, scope, &period).ok_or_else(|| {
        anyhow!(
            "the wallet {} holds no tokens of scope {scope}, period {period} for {}: run `tongxin voice allowance` first",
            ctx.wallet_path.display(),
            ctx.server
        )
    })?;
    let a = wallet.allowances[i].clone();
    let usable_from = a.obtained_at + u64::from(hold_hours) * 3600;
    if unix_now() < usable_from {
        let at = chrono::DateTime::from_timestamp(usable_from as i64, 0)
            .map(|t| {
                t.with_timezone(&tongxin_voice::calendar::china_offset()).format("%Y-%m-%d %H:%M").to_string()
            })
            .unwrap_or_default();
        bail!(
            "these tokens were taken less than {hold_hours} hours ago; file anonymously from {at} (China time), so that taking the allowance and filing cannot be matched by their timing"
        );
    }
    let token = a.tokens.first().cloned().ok_or_else(|| {
        anyhow!("all {ALLOWANCE} tokens of scope {scope}, period {period} are spent; the next allowance comes next period")
    })?;
    // The token must still verify under the key checked at allowance time.
    let public = STANDARD
        .decode(&a.token_key)
        .ok()
        .and_then(|b| IssuerPublicKey::from_spki(&b).ok())
        .ok_or_else(|| anyhow!("the wallet's issuer key of scope {scope} is damaged"))?;
    let key_scope = KeyScope::new(scope, &period).map_err(|e| anyhow!("{e}"))?;
    let digest = challenge(&a.server_name, &key_scope).map_err(|e| anyhow!("{e}"))?.digest();
    let parsed = STANDARD
        .decode(&token)
        .ok()
        .and_then(|b| Token::decode(&b).ok())
        .ok_or_else(|| anyhow!("the wallet's next token is damaged"))?;
    tongxin_tokens::verify(&public, &parsed, &digest)
        .map_err(|e| anyhow!("the wallet's next token does not verify: {e}"))?;
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    if now < a.not_before || now >= a.not_after {
        bail!(
            "the tokens of period {period} can be spent from {} to {} only",
            fmt_time(a.not_before),
            fmt_time(a.not_after)
        );
    }
    let lkey = log_key(ctx, &mut wallet).await?;

    let body = json!({
        "scope": scope,
        "period": period,
        "token": token,
        "addressed_body": to,
        "cited_demands": cite,
        "cited_bodies": cite_body,
        "content": content,
    });
    // The anonymous endpoint: no cookie, no session.
    let r = ctx.http.send(Method::POST, "/voice/reports", Some(&body), None).await?;
    match r.status {
        201 => {}
        409 => {
            drop_token(&mut wallet, i, &token);
            wallet.save(&ctx.wallet_path)?;
            bail!(
                "the server says this token was already spent (HTTP 409); it is removed from the wallet, \
                 {} left for scope {scope}, period {period}. Nothing was filed: run the command again to \
                 spend the next token",
                wallet.allowances[i].tokens.len()
            );
        }
        _ => return Err(r.error("filing the report (the token is kept in the wallet)")),
    }
    drop_token(&mut wallet, i, &token);
    wallet.save(&ctx.wallet_path)?;
    let v = r.json()?;
    let secret = v["receipt_secret"].as_str().ok_or_else(|| anyhow!("the server sent no receipt secret"))?;
    let report_ref = v["report_ref"].as_str().unwrap_or("report").to_owned();
    println!(
        "Filed anonymously. Your receipt secret (shown once; keep it, it is the only way back to this report):"
    );
    println!();
    println!("    {secret}");
    println!();
    let Some(index) = v["log_index"].as_u64() else {
        println!("The server runs no transparency log: there is no proof to keep.");
        return Ok(());
    };
    let entry =
        v["log_entry"].as_str().ok_or_else(|| anyhow!("the server sent no log entry"))?.as_bytes().to_vec();
    // The server's proof if it sent one, else one made here from the log's tiles.
    let proof_text = match v["proof"].as_str() {
        Some(p) => p.as_bytes().to_vec(),
        None => prove_in_log(&ctx.log_url, &lkey, index, &entry).await?.to_text().into_bytes(),
    };
    let report =
        tongxin_tlog_client::verify_receipt_file(&proof_text, &lkey, None, &[], 0, Some(Leaf::Entry(&entry)))
            .map_err(|e| anyhow!("the report is filed, but its log proof does not verify: {e}"))?;
    let path = proof_out.unwrap_or_else(|| {
        PathBuf::from(format!("voice-{}.tlog-proof", &report_ref[..report_ref.len().min(16)]))
    });
    std::fs::write(&path, &proof_text)
        .with_context(|| format!("cannot write the proof to {}", path.display()))?;
    // The entry too (it is public in the log): with it, the proof shows this very entry.
    let mut entry_path = path.clone().into_os_string();
    entry_path.push(".entry");
    let entry_path = PathBuf::from(entry_path);
    std::fs::write(&entry_path, &entry)
        .with_context(|| format!("cannot write the log entry to {}", entry_path.display()))?;
    println!(
        "In the transparency log at index {} (checkpoint of {} entries, verified here); proof written to {}",
        report.index,
        report.checkpoint.size,
        path.display()
    );
    println!(
        "Check it any time: tongxin verify receipt --log-key {lkey} --entry {} {}",
        entry_path.display(),
        path.display()
    );
    println!("{} tokens left for scope {scope}, period {period}", wallet.allowances[i].tokens.len());
    Ok(())
}

fn drop_token(wallet: &mut Wallet, i: usize, token: &str) {
    wallet.allowances[i].tokens.retain(|t| t != token);
}

/// The receipt secret from `TONGXIN_RECEIPT_SECRET`, else the first line of standard input
/// (asked for without echo on a terminal).
fn read_secret() -> Result<String> {
    if let Ok(s) = std::env::var(SECRET_ENV)
        && !s.trim().is_empty()
    {
        return Ok(s.trim().to_owned());
    }
    let s = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("Receipt secret: ").context("cannot read the receipt secret")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the receipt secret from standard input")?;
        line
    };
    let s = s.trim().to_owned();
    if s.is_empty() {
        bail!("no receipt secret: pipe it on standard input or set {SECRET_ENV}");
    }
    Ok(s)
}

async fn receipt_call(ctx: &Ctx, path: &str, body: Value) -> Result<Value> {
    let r = ctx.http.send(Method::POST, path, Some(&body), None).await?;
    if r.status != 200 {
        return Err(r.error("the receipt"));
    }
    r.json()
}

fn print_view(v: &Value) {
    let s = |x: &Value| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string());
    println!("state {} ({})", s(&v["state"]), s(&v["state_zh"]));
    println!("scope {}, submitted on {}", s(&v["scope"]), s(&v["submitted_on"]));
    if !v["addressed_body"].is_null() {
        println!("addressed to body {}", s(&v["addressed_body"]));
    }
    if v["escalation"].as_u64().is_some_and(|e| e > 0) {
        println!("escalated {} level(s) up", v["escalation"]);
    }
    for (what, d) in [("acknowledge", &v["deadlines"]["acknowledge"]), ("answer", &v["deadlines"]["answer"])]
    {
        if d.is_object() {
            let met = match d["met"].as_bool() {
                Some(true) => "met".to_owned(),
                Some(false) => "missed".to_owned(),
                None => format!("{} working days left", d["working_days_left"]),
            };
            println!("{what} by {}: {met}", s(&d["due_date"]));
        }
    }
    for m in v["messages"].as_array().into_iter().flatten() {
        println!(
            "[{} {} #{}] {}",
            s(&m["on"]),
            s(&m["from"]),
            m["seq"],
            m["text"].as_str().unwrap_or("(no text)")
        );
    }
    if !v["rating"].is_null() {
        println!("rating {}", v["rating"]);
    }
}
