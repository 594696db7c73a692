//! The subcommands: each opens what it needs, calls the libraries and reports.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tongxin_domain::{Body, Role, UnitCode, User, new_id};
use tongxin_store::{DemandFilter, ImportBatch, ImportCounts, Store, StoreError};
use tongxin_transfer::{Format, Known, References};

use crate::{BenchCommand, Cli, Command, Entity, UserCommand};

/// How often a serving process sweeps the safe voice for overdue and quietly answered
/// reports.
const VOICE_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { listen, secure_cookies, public_url, rules, voice, log } => {
            let rules = Some(crate::check::rules(rules.as_deref())?);
            configure_voice(&voice)?;
            let store = open_store(&cli.db).await?;
            let log = open_log(store.clone(), &cli.db, &log).await?;
            let config = tongxin_server::Config {
                secure_cookies,
                public_url,
                rules,
                voice_sweep_every: Some(VOICE_SWEEP_EVERY),
                publish_script: true,
            };
            serve(store, &listen, config, Some(log)).await
        }
        Command::Demo { province, year, seed, demo_db, fresh, listen, no_serve, log } => {
            demo(&demo_db, &province, year, seed, fresh, &listen, no_serve, &log).await
        }
        Command::Check { file, rules, json } => {
            let store = open_store(&cli.db).await?;
            crate::check::run(store.as_ref(), &file, rules.as_deref(), json).await
        }
        Command::Import { what, file, province } => {
            let store = open_store(&cli.db).await?;
            import(store.as_ref(), what, file.as_deref(), province.as_deref()).await
        }
        Command::Export { what, file, unit } => {
            let store = open_store(&cli.db).await?;
            export(store.as_ref(), what, &file, unit.as_deref()).await
        }
        Command::User { command: UserCommand::Add { username, name, role, scope, body, password_stdin } } => {
            let store = open_store(&cli.db).await?;
            add_user(store.as_ref(), username, name, &role, &scope, body.as_deref(), password_stdin).await
        }
        Command::Witness { config, listen } => witness(&config, &listen).await,
        Command::Bench { command: BenchCommand::Import { demands, postgres, sqlite_only } } => {
            crate::bench::import(demands, postgres, sqlite_only).await
        }
        Command::Bench { command: BenchCommand::Log(args) } => crate::bench::log(args).await,
        Command::Bench { command: BenchCommand::Rules(args) } => crate::bench_rules::run(args).await,
        Command::Bench { command: BenchCommand::Voice(args) } => crate::bench_voice::run(args).await,
        Command::Bench { command: BenchCommand::Appends { concurrency, entries, prefix, log } } => {
            let store = open_store(&cli.db).await?;
            let log = open_log(store, &cli.db, &log).await?;
            let load = crate::appends::Load { concurrency, entries, duration: None, prefix, print: true };
            let report = crate::appends::run(&log, &load).await?;
            eprintln!("{}", report.summary());
            Ok(())
        }
        Command::Verify { command } => crate::verify::run(command).await,
        Command::Directive { command } => crate::directive::run(command),
        Command::Bench { command: BenchCommand::Directives(args) } => {
            crate::bench_directives::run(args).await
        }
        Command::Voice(args) => crate::voice_cli::run(args).await,
    }
}

/// Sets the safe voice's calendar and time limits for this process from `serve`'s flags.
fn configure_voice(args: &crate::VoicePolicyArgs) -> Result<()> {
    let mut calendar = tongxin_voice::WorkCalendar::cn_default();
    for path in &args.holidays {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the holiday calendar {}", path.display()))?;
        calendar.add_file(&path.display().to_string(), &text).map_err(|e| anyhow!("{e}"))?;
    }
    let limits = tongxin_voice::TimeLimits {
        acknowledge: args.acknowledge_days,
        answer: args.answer_days,
        quiet_close: args.quiet_close_days,
        ..tongxin_voice::TimeLimits::default()
    };
    if args.acknowledge_days > args.answer_days {
        bail!(
            "--acknowledge-days ({}) must not exceed --answer-days ({})",
            args.acknowledge_days,
            args.answer_days
        );
    }
    tongxin_server::voice::configure(calendar, limits)
        .map_err(|_| anyhow!("the voice calendar was already configured in this process"))
}

/// Opens the store a `--db` value names.
pub async fn open_store(db: &str) -> Result<Arc<dyn Store>> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let s = tongxin_store_postgres::PgStore::open(db)
            .await
            .map_err(|e| anyhow!("cannot open the PostgreSQL database: {e}"))?;
        Ok(Arc::new(s))
    } else {
        let s = tongxin_store_sqlite::SqliteStore::open(db)
            .await
            .map_err(|e| anyhow!("cannot open the SQLite database {db}: {e}"))?;
        Ok(Arc::new(s))
    }
}

/// Opens the transparency log, creating its signing key on first use.
pub async fn open_log(store: Arc<dyn Store>, db: &str, args: &crate::LogArgs) -> Result<tongxin_log::Log> {
    use tongxin_tlog::{SignatureType, SignerKey};
    let path = match &args.log_key {
        Some(p) => p.clone(),
        None if db.starts_with("postgres") => std::path::PathBuf::from("tongxin-log.key"),
        None => std::path::PathBuf::from(format!("{}.log-key", db.strip_prefix("sqlite://").unwrap_or(db))),
    };
    let key = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the log key {}", path.display()))?;
        let key = SignerKey::parse(text.trim(), SignatureType::Ed25519)
            .map_err(|e| anyhow!("{} is not a log signing key: {e}", path.display()))?;
        if key.verifier().name() != args.log_origin {
            bail!(
                "the key in {} is for the log '{}'; pass --log-origin {} (or another --log-key)",
                path.display(),
                key.verifier().name(),
                key.verifier().name()
            );
        }
        key
    } else {
        let key = SignerKey::generate(&args.log_origin, SignatureType::Ed25519)
            .map_err(|e| anyhow!("--log-origin '{}' cannot name a key: {e}", args.log_origin))?;
        write_secret(&path, &key.to_secret_string())?;
        eprintln!("Created the log signing key {} (keep it safe; never share it).", path.display());
        key
    };
    let mut config = tongxin_log::LogConfig::new(&args.log_origin, key);
    for w in &args.witnesses {
        let (url, vkey) = w.split_once('=').ok_or_else(|| {
            anyhow!("--witness '{w}': expected URL=VKEY (the witness URL, '=', its public key)")
        })?;
        let key = tongxin_tlog::VerifierKey::parse(vkey.trim())
            .map_err(|e| anyhow!("--witness '{w}': the key is not a verifier key: {e}"))?;
        config.witnesses.push(tongxin_log::WitnessEndpoint { url: url.trim().to_owned(), key });
    }
    config.quorum = args.witness_quorum;
    config.period = std::time::Duration::from_millis(args.log_period_ms);
    config.lease = std::time::Duration::from_secs(args.log_lease_secs);
    let log = tongxin_log::Log::open(store, config)
        .await
        .map_err(|e| anyhow!("cannot open the transparency log '{}': {e}", args.log_origin))?;
    eprintln!(
        "Transparency log {}: {} entries; public key {}",
        log.origin(),
        log.latest().size,
        log.verifier()
    );
    Ok(log)
}

/// Runs a witness until Ctrl-C or SIGTERM.
async fn witness(config: &Path, listen: &str) -> Result<()> {
    let config = tongxin_witness::WitnessConfig::load(config).map_err(|e| anyhow!("{e}"))?;
    let state = tongxin_witness::WitnessState::open(&config).map_err(|e| anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (try another --listen)"))?;
    eprintln!("witness {} on http://{}/add-checkpoint", config.name, listener.local_addr()?);
    eprintln!("its cosigning key (give it to the logs it witnesses): {}", state.verifier());
    for l in &config.logs {
        eprintln!("  witnesses {}", l.origin);
    }
    tokio::select! {
        r = tongxin_witness::serve(state, listener) => r.map_err(|e| anyhow!("{e}")),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Writes a secret readable by the owner only.
fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{text}").with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

async fn serve(
    store: Arc<dyn Store>,
    listen: &str,
    config: tongxin_server::Config,
    log: Option<tongxin_log::Log>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
        format!("cannot listen on {listen} (is another server running there? try --listen 127.0.0.1:8081)")
    })?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, backend = store.backend(), "serving");
    eprintln!("tongxin is serving on http://{addr}/  (Ctrl-C to stop)");
    let app = tongxin_server::app_with_log(store, config, log);
    tongxin_server::serve(listener, app).await?;
    Ok(())
}

/// A progress bar on a terminal, nothing otherwise.
pub fn progress(total: u64, what: &str) -> ProgressBar {
    use std::io::IsTerminal;
    let bar = ProgressBar::new(total);
    if std::io::stderr().is_terminal() {
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(what.to_owned());
    } else {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// Writes a batch with a progress bar.
pub async fn write_batch(
    store: &dyn Store,
    batch: ImportBatch,
    what: &str,
) -> Result<ImportCounts, StoreError> {
    let total = (batch.units.len() + batch.bodies.len() + batch.demands.len() + batch.users.len()) as u64;
    let bar = progress(total, what);
    let tick = {
        let bar = bar.clone();
        move |done: u64, _total: u64| bar.set_position(done)
    };
    let result = store.import(batch, Some(&tick)).await;
    bar.finish_and_clear();
    result
}

#[allow(clippy::too_many_arguments)]
async fn demo(
    db: &str,
    province: &str,
    year: i32,
    seed: u64,
    fresh: bool,
    listen: &str,
    no_serve: bool,
    log: &crate::LogArgs,
) -> Result<()> {
    let name = tongxin_divisions::province_name(province).ok_or_else(|| {
        anyhow!("unknown province code '{province}': use two digits, e.g. 35 for 福建省, 44 for 广东省")
    })?;
    if fresh && !db.starts_with("postgres") {
        let path = db.strip_prefix("sqlite://").unwrap_or(db);
        for suffix in ["", "-wal", "-shm", ".log-key"] {
            let p = format!("{path}{suffix}");
            if Path::new(&p).exists() {
                std::fs::remove_file(&p).with_context(|| format!("cannot remove {p}"))?;
            }
        }
    }
    let store = open_store(db).await?;
    let accounts;
    if store.counts().await?.demands > 0 {
        eprintln!("{db} already holds demo data; serving it (use --fresh to rebuild).");
        accounts =
            tongxin_demo::generate(&tongxin_divisions::load(Some(province))?, province, year, seed)?.accounts;
    } else {
        let started = Instant::now();
        let units =
            tongxin_divisions::load(Some(province)).context("cannot read the vendored division list")?;
        let today = chrono::Local::now().date_naive();
        let options = tongxin_demo::DemoOptions {
            province: province.to_owned(),
            year,
            seed,
            today: (chrono::Datelike::year(&today) == year).then_some(today),
        };
        let demo = tongxin_demo::generate_with(&units, &options)?;
        let mut users = Vec::with_capacity(demo.accounts.len());
        for a in &demo.accounts {
            let mut u = a.user.clone();
            u.password_hash = tongxin_domain::account::hash_password(&a.password)?;
            users.push(u);
        }
        let n_units = units.len();
        let (n_bodies, n_demands) = (demo.bodies.len(), demo.demands.len());
        let batch =
            ImportBatch { units, bodies: demo.bodies, demands: demo.demands, users, actor: "demo".into() };
        write_batch(store.as_ref(), batch, "demo").await.map_err(|e| anyhow!("cannot load the demo: {e}"))?;
        // The directives (issue 6): those in force first, so the draft is checked against them.
        for d in &demo.directives {
            let Some(author) = demo.accounts.iter().find(|a| a.user.username == d.author) else { continue };
            tongxin_server::directives::store_seeded(store.as_ref(), d.body, &author.user, d.status, &d.toml)
                .await
                .map_err(|e| {
                    let fields: Vec<String> =
                        e.body.fields.iter().map(|f| format!("{}: {}", f.field, f.en)).collect();
                    anyhow!("cannot store a demo directive: {} {}", e.body.message_en, fields.join("; "))
                })?;
        }
        eprintln!(
            "Loaded {name}: {n_units} units, {n_bodies} bodies, {n_demands} demands of {year} (seed {seed}) in {:.1} s.",
            started.elapsed().as_secs_f64()
        );
        accounts = demo.accounts;
    }
    eprintln!();
    eprintln!("Demo accounts (password for all: {}):", tongxin_demo::DEMO_PASSWORD);
    for a in &accounts {
        eprintln!(
            "  {:<28} {} · {} · scope {}",
            a.user.username,
            a.user.display_name,
            a.user.role.zh(),
            a.user.scope
        );
    }
    if no_serve {
        return Ok(());
    }
    eprintln!();
    eprintln!("Sign in at http://{listen}/login");
    let log = open_log(store.clone(), db, log).await?;
    eprintln!("The public transparency log: http://{listen}/log");
    let config = tongxin_server::Config {
        voice_sweep_every: Some(VOICE_SWEEP_EVERY),
        publish_script: true,
        ..Default::default()
    };
    serve(store, listen, config, Some(log)).await
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Fills [`Known`] with exactly what a table refers to.
pub async fn known(store: &dyn Store, refs: &References) -> Result<Known, StoreError> {
    let codes: Vec<UnitCode> = refs.unit_codes.iter().cloned().collect();
    let units = store.existing_units(&codes).await?;
    let mut bodies: Vec<Body> = Vec::new();
    for id in &refs.body_ids {
        if let Some(b) = store.body(*id).await? {
            bodies.push(b);
        }
    }
    for at in &refs.bodies_at {
        bodies.extend(store.bodies(Some(at)).await?.into_iter().filter(|b| &b.unit == at));
    }
    Ok(Known { units, bodies })
}

async fn import(store: &dyn Store, what: Entity, file: Option<&Path>, province: Option<&str>) -> Result<()> {
    let started = Instant::now();
    // Generated initial passwords, written beside the file once the import committed.
    let mut generated: Vec<(String, String)> = Vec::new();
    let mut passwords_file = None;
    let (batch, source) = match (what, file) {
        (Entity::Units, None) => {
            if let Some(p) = province
                && tongxin_divisions::province_name(p).is_none()
            {
                bail!("unknown province code '{p}': use two digits, e.g. 35 for 福建省");
            }
            let units =
                tongxin_divisions::load(province).context("cannot read the vendored division list")?;
            (
                ImportBatch { units, actor: "import:china-division".into(), ..Default::default() },
                "china-division 2.7.0".to_owned(),
            )
        }
        (_, None) => bail!("give the file to import, e.g. `tongxin import demands demands.csv`"),
        (what, Some(path)) => {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let bytes = read_file(path)?;
            let table = tongxin_transfer::read_table(&name, &bytes).map_err(|e| anyhow!("{e}"))?;
            let entity = match what {
                Entity::Units => tongxin_transfer::Entity::Units,
                Entity::Bodies => tongxin_transfer::Entity::Bodies,
                Entity::Demands => tongxin_transfer::Entity::Demands,
                Entity::Users => tongxin_transfer::Entity::Users,
            };
            let known = known(store, &tongxin_transfer::references(&table, entity)).await?;
            let actor = format!("import:{name}");
            let batch = match what {
                Entity::Units => tongxin_transfer::import_units(&table, &known).map(|units| ImportBatch {
                    units,
                    actor,
                    ..Default::default()
                }),
                Entity::Bodies => tongxin_transfer::import_bodies(&table, &known).map(|bodies| ImportBatch {
                    bodies,
                    actor,
                    ..Default::default()
                }),
                Entity::Demands => tongxin_transfer::import_demands(&table, &known)
                    .map(|demands| ImportBatch { demands, actor, ..Default::default() }),
                Entity::Users => match tongxin_transfer::import_users(&table, &known) {
                    Ok(rows) => {
                        let out = path.with_file_name(format!("{name}.passwords.csv"));
                        if rows.iter().any(|r| r.password.is_none()) && out.exists() {
                            bail!(
                                "{} exists: move it away first (it would receive the generated passwords)",
                                out.display()
                            );
                        }
                        let mut users = Vec::with_capacity(rows.len());
                        for row in rows {
                            let password = match row.password {
                                Some(p) => p,
                                None => {
                                    let p = tongxin_server::auth::new_token()[..16].to_owned();
                                    generated.push((row.user.username.clone(), p.clone()));
                                    p
                                }
                            };
                            let mut user = row.user;
                            user.password_hash = tongxin_domain::account::hash_password(&password)?;
                            users.push(user);
                        }
                        passwords_file = Some(out);
                        Ok(ImportBatch { users, actor, ..Default::default() })
                    }
                    Err(e) => Err(e),
                },
            };
            match batch {
                Ok(b) => (b, name),
                Err(errors) => bail!("{name}: nothing was imported.\n{errors}"),
            }
        }
    };
    let counts = write_batch(store, batch, "import").await.map_err(|e| match e {
        StoreError::Invalid(inv) => anyhow!(
            "{source}: nothing was imported.\n{}",
            inv.0
                .iter()
                .map(|f| format!("  {}: {} ({})", f.field, f.en, f.zh))
                .collect::<Vec<_>>()
                .join("\n")
        ),
        other => anyhow!("{source}: nothing was imported: {other}"),
    })?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "Imported from {source}: {} units, {} bodies, {} demands, {} accounts in {secs:.1} s.",
        counts.units, counts.bodies, counts.demands, counts.users
    );
    if let (Some(out), false) = (passwords_file, generated.is_empty()) {
        let mut text = String::from("username,password\n");
        for (u, p) in &generated {
            text.push_str(&format!("{u},{p}\n"));
        }
        write_secret(&out, text.trim_end())?;
        eprintln!(
            "{} generated initial passwords are in {} (readable by you only): hand them out, then delete the file.",
            generated.len(),
            out.display()
        );
    }
    Ok(())
}

async fn export(store: &dyn Store, what: Entity, file: &Path, unit: Option<&str>) -> Result<()> {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let format = Format::from_path(&name).map_err(|e| anyhow!("{e}"))?;
    let unit = unit.map(UnitCode::parse).transpose().map_err(|e| anyhow!("--unit: {e}"))?;
    let bytes = match what {
        Entity::Users => bail!("accounts cannot be exported (only their password hashes are stored)"),
        Entity::Units => tongxin_transfer::export_units(&store.units_under(unit.as_ref()).await?, format),
        Entity::Bodies => tongxin_transfer::export_bodies(&store.bodies(unit.as_ref()).await?, format),
        Entity::Demands => {
            let mut filter = DemandFilter { unit, limit: 1000, ..Default::default() };
            let mut all = Vec::new();
            loop {
                let page = store.demands(&filter).await?;
                all.extend(page.items);
                match page.next {
                    Some(c) => filter.after = Some(c),
                    None => break,
                }
            }
            tongxin_transfer::export_demands(&all, format)
        }
    }
    .map_err(|e| anyhow!("cannot write {name}: {e}"))?;
    std::fs::write(file, &bytes).with_context(|| format!("cannot write {}", file.display()))?;
    eprintln!("Wrote {} ({} bytes).", file.display(), bytes.len());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn add_user(
    store: &dyn Store,
    username: String,
    name: String,
    role: &str,
    scope: &str,
    body: Option<&str>,
    password_stdin: bool,
) -> Result<()> {
    let role = Role::parse(role)
        .ok_or_else(|| anyhow!("--role must be one of cadre, body_staff, office, admin (got '{role}')"))?;
    let scope = UnitCode::parse(scope).map_err(|e| anyhow!("--scope: {e}"))?;
    if store.unit(&scope).await?.is_none() {
        bail!(
            "--scope: unit {scope} does not exist (import units first: `tongxin import units --province {}`)",
            scope.province()
        );
    }
    let body = body
        .map(|b| uuid::Uuid::parse_str(b).map_err(|_| anyhow!("--body: '{b}' is not a UUID")))
        .transpose()?;
    if let Some(b) = body
        && store.body(b).await?.is_none()
    {
        bail!("--body: no body with id {b}");
    }
    let (password, generated) = if password_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("cannot read the password from standard input")?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (tongxin_server::auth::new_token()[..16].to_owned(), true)
    };
    let id = store.user_by_name(&username).await?.map(|u| u.id).unwrap_or_else(new_id);
    let user = User {
        id,
        username,
        display_name: name,
        role,
        scope,
        body,
        password_hash: tongxin_domain::account::hash_password(&password)?,
    };
    store.put_user(&user).await?;
    eprintln!("Account {} ({}) saved.", user.username, user.role.en());
    if generated {
        println!("{password}");
        eprintln!("(the password above is shown once; it is not stored in clear)");
    }
    Ok(())
}
