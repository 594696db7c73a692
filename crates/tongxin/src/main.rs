//! `tongxin`: the command line. A thin layer over the libraries: it parses arguments,
//! opens the store named by `--db`, and calls the domain, transfer and server crates.

mod appends;
mod bench;
mod bench_directives;
mod bench_rules;
mod bench_voice;
mod check;
mod commands;
mod directive;
mod verify;
mod voice_cli;

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc rather than the system allocator: see the note in Cargo.toml.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// 同心 tongxin — an honest record between upper levels and the grassroots.
///
/// The database is SQLite by default (a file, nothing to install) or PostgreSQL
/// (`--db postgres://user:pass@host/db`).
#[derive(Debug, Parser)]
#[command(name = "tongxin", version, propagate_version = true)]
pub struct Cli {
    /// Database: a SQLite file path or `sqlite://PATH`, or a `postgres://` URL.
    #[arg(long, global = true, env = "TONGXIN_DB", default_value = "sqlite://tongxin.sqlite")]
    db: String,

    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    log: LogFormat,

    #[command(subcommand)]
    command: Command,
}

/// The safe voice's time limits and working-day calendar.
#[derive(Debug, Clone, clap::Args)]
pub struct VoicePolicyArgs {
    /// A holiday calendar file, one date per line (`2027-01-01 holiday 元旦`, or `workday`
    /// for a make-up working day; `#` comments), as `crates/voice/calendars/cn-2026.txt`:
    /// added to the shipped calendar, e.g. next year's State Council notice or a local
    /// holiday. Repeatable.
    #[arg(long = "holidays", value_name = "FILE")]
    pub holidays: Vec<PathBuf>,
    /// Working days a body has to acknowledge a report.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub acknowledge_days: u32,
    /// Working days a body has to answer a report.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub answer_days: u32,
    /// Working days after an unrated answer before the report closes by itself.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub quiet_close_days: u32,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Text on a terminal, JSON otherwise.
    Auto,
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the web interface and the JSON API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Mark cookies Secure (when served behind HTTPS).
        #[arg(long)]
        secure_cookies: bool,
        /// The address users reach the server at (e.g. https://tongxin.example.gov.cn), for
        /// links handed to other programs such as calendar feeds.
        #[arg(long)]
        public_url: Option<String>,
        /// A burden-reduction rule set (TOML; a jurisdiction file may `extends = "national"`).
        /// Default: the shipped national rules.
        #[arg(long)]
        rules: Option<PathBuf>,
        #[command(flatten)]
        voice: VoicePolicyArgs,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Pre-check planned demands (CSV/XLSX/JSON, the columns of `import demands`) against
    /// the ledger: the rules each would break, what to merge it with, the burden it adds.
    /// Writes nothing; exits with status 1 when any planned demand breaks a rule.
    Check {
        /// The file of planned demands.
        file: PathBuf,
        /// A rule set file (default: the shipped national rules).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Print the reports as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Load a real province with a year of realistic demands and demo accounts, then serve.
    Demo {
        /// Two-digit province code (35 = 福建省, 44 = 广东省, 51 = 四川省, …).
        #[arg(long, default_value = "35")]
        province: String,
        /// The year of demands to generate.
        #[arg(long, default_value_t = 2026)]
        year: i32,
        /// Random seed: the same seed gives the same data.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// SQLite file (or database URL) for the demo.
        #[arg(long, default_value = "sqlite://tongxin-demo.sqlite")]
        demo_db: String,
        /// Delete an existing demo SQLite file first.
        #[arg(long)]
        fresh: bool,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// Load the data and exit without serving.
        #[arg(long)]
        no_serve: bool,
        #[command(flatten)]
        log: LogArgs,
    },
    /// Import units, bodies, demands or accounts (CSV in UTF-8 or GB18030, XLSX, JSON). All or nothing.
    Import {
        #[arg(value_enum)]
        what: Entity,
        /// The file to import. For `units` without a file: the vendored national list.
        file: Option<PathBuf>,
        /// With the vendored list: only this province (two digits).
        #[arg(long)]
        province: Option<String>,
    },
    /// Export units, bodies or demands; the format follows the file extension.
    Export {
        #[arg(value_enum)]
        what: Entity,
        /// Output file: .csv, .xlsx or .json.
        file: PathBuf,
        /// Only this unit and what lies below it.
        #[arg(long)]
        unit: Option<String>,
    },
    /// Manage local accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Run a witness (c2sp.org/tlog-witness) that checks and cosigns other logs' checkpoints.
    Witness {
        /// The witness configuration file (name, key, state and the logs it witnesses).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
    },
    /// Measure throughput; prints the figures.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Directives before issuance: deadline feasibility, conflicts, burden.
    Directive {
        #[command(subcommand)]
        command: directive::DirectiveCommand,
    },
    /// Verify a receipt or a whole transparency log, without trusting its server.
    Verify {
        #[command(subcommand)]
        command: verify::VerifyCommand,
    },
    /// The safe voice as a cadre: check a scope's issuer key against the log, take a token
    /// allowance, file anonymously, and follow a report with its receipt secret.
    Voice(voice_cli::VoiceArgs),
}

/// The transparency log this server runs.
#[derive(Debug, Clone, clap::Args)]
pub struct LogArgs {
    /// The log's origin (its public name, also the signing key's name), e.g. `tongxin.example.gov.cn/35`.
    #[arg(long, default_value = "tongxin.localhost/log")]
    pub log_origin: String,
    /// File holding the log's Ed25519 signing key (a note signer key string). Created,
    /// readable by the owner only, when missing. Default: beside the SQLite file, or
    /// `tongxin-log.key` for PostgreSQL.
    #[arg(long)]
    pub log_key: Option<PathBuf>,
    /// How long appends are pooled into one batch, in milliseconds (at most 1000): a
    /// filing's receipt waits about this long; a busy log publishes up to 1000/this
    /// checkpoints a second.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub log_period_ms: u64,
    /// A witness that cosigns the log's checkpoints, as `URL=VKEY` (repeatable), e.g.
    /// `http://witness.example:8090=zj.example/witness+1a2b3c4d+BF…`.
    #[arg(long = "witness", value_name = "URL=VKEY")]
    pub witnesses: Vec<String>,
    /// How many witnesses must cosign a checkpoint for receipts to count as witnessed.
    #[arg(long, default_value_t = 0)]
    pub witness_quorum: usize,
    /// Also keep a static copy of the log (checkpoint, tiles, bundles) in this directory,
    /// for any web server or object store to serve.
    #[arg(long)]
    pub log_static_dir: Option<PathBuf>,
    /// A writer silent for this many seconds is presumed dead and its lease taken over.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub log_lease_secs: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Entity {
    Units,
    Bodies,
    Demands,
    /// Accounts of cadres and body staff (import only): `username, display_name, role,
    /// scope, body, password`; missing passwords are generated and written to
    /// `<file>.passwords.csv`, readable by the owner only.
    Users,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create or replace an account. Prints a generated password unless --password-stdin.
    Add {
        username: String,
        /// The person's name as shown.
        #[arg(long)]
        name: String,
        /// cadre, body_staff, office or admin.
        #[arg(long)]
        role: String,
        /// The unit code whose subtree the account may see and act on.
        #[arg(long)]
        scope: String,
        /// The body (UUID) of a body_staff account.
        #[arg(long)]
        body: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Import the national unit list and generated demands into SQLite (and PostgreSQL).
    Import {
        /// Generated demands to import.
        #[arg(long, default_value_t = 1_000_000)]
        demands: usize,
        /// A PostgreSQL URL to measure too (default: from PGHOST etc. when set).
        #[arg(long)]
        postgres: Option<String>,
        /// Skip PostgreSQL even when PGHOST is set.
        #[arg(long)]
        sqlite_only: bool,
    },
    /// The burden engine on a national-scale ledger: full recomputation, incremental
    /// writes, pre-check latency, and a dashboard view against the same rollup in SQL.
    Rules(bench_rules::RulesBenchArgs),
    /// Transparency-log rates in memory: SHA-256 ceiling, appends, proofs, verification;
    /// then durable appends and integration latency on SQLite (and PostgreSQL).
    Log(bench::LogBenchArgs),
    /// The safe voice: token issuance and redemption per second, and anonymous reports
    /// filed per second end to end over HTTP on loopback (SQLite, log appends included),
    /// then a check that every acknowledged filing is stored and logged.
    Voice(bench_voice::VoiceBenchArgs),
    /// Directive checks: a 1,000-unit directive on a 20-step template with 3 risky
    /// branches (10,000 Monte Carlo runs), then conflicts against 1,000 active directives.
    Directives(bench_directives::DirectivesBenchArgs),
    /// Sustained appends into the log of `--db` until stopped (or `--entries`), printing
    /// every acknowledged index and every published checkpoint: the load of the
    /// crash tests.
    Appends {
        /// Appends in flight at once.
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        /// Stop after this many appends (default: run until killed).
        #[arg(long)]
        entries: Option<u64>,
        /// Entries are `<prefix>-<task>-<n>`.
        #[arg(long, default_value = "load")]
        prefix: String,
        #[command(flatten)]
        log: LogArgs,
    },
}

/// mimalloc's `mi_option_purge_delay`: its place in `mi_option_e` (mimalloc.h, the same in
/// v2 and v3); libmimalloc-sys names no constant for it.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory stays with the process for the next allocation instead of going back to
/// the kernel 10 ms later (mimalloc's default). A full recomputation frees the previous
/// findings and at once allocates as many new ones; returned pages came back as page faults
/// the kernel had to zero, a fifth of the recomputation's time (`tongxin bench rules`
/// prints the faults). The price: the resident size stays at its peak. An operator who
/// prefers the default sets `MIMALLOC_PURGE_DELAY` (mimalloc's own variable), which wins.
#[allow(unsafe_code)]
fn keep_freed_memory() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called first thing in `main`, before any other thread exists
        // (`mi_option_set` is not thread safe); the option takes any integer.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    init_logging(cli.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_env("TONGXIN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
