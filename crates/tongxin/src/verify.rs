//! `tongxin verify …`: check, without trusting the server, what a
//! transparency log publishes. `verify receipt` checks a
//! `c2sp.org/tlog-proof@v1` receipt offline; `verify log` fetches a log's
//! checkpoint and every tile and entry bundle (from an `http://` URL or a
//! directory in the C2SP static layout), recomputes the tree, checks it
//! against the signed checkpoint and, with `--since`, against an earlier
//! checkpoint, and names the first discrepancy exactly. A thin layer over
//! `tongxin_tlog_client`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use tongxin_tlog::{Hash, Leaf, Note, VerifierKey};
use tongxin_tlog_client::{Source, verify_log, verify_receipt_file};

#[derive(Debug, clap::Subcommand)]
pub enum VerifyCommand {
    /// Check a receipt (c2sp.org/tlog-proof@v1) offline: the log's signature, the witness
    /// quorum and, given the entry or its leaf hash, that the entry is in the log.
    Receipt {
        /// The receipt file (usually `*.tlog-proof`).
        file: PathBuf,
        /// The log's public key (`name+id+base64`), or `@FILE` holding it.
        #[arg(long, value_name = "VKEY")]
        log_key: String,
        /// A witness's public key (cosignature/v1), or `@FILE`; repeat for each witness.
        #[arg(long = "witness-key", value_name = "VKEY")]
        witness_keys: Vec<String>,
        /// How many of the witnesses must have cosigned (default: all given).
        #[arg(long)]
        quorum: Option<usize>,
        /// The entry the receipt is for, as logged (without it, inclusion is not checked).
        #[arg(long, value_name = "FILE", conflicts_with = "leaf_hash")]
        entry: Option<PathBuf>,
        /// The entry's RFC 6962 leaf hash (base64 or hex), instead of --entry.
        #[arg(long, value_name = "HASH")]
        leaf_hash: Option<String>,
        /// The log's origin (default: the log key's name).
        #[arg(long)]
        origin: Option<String>,
    },
    /// Fetch a whole log (checkpoint, every tile and entry bundle) and verify it.
    Log {
        /// `http://host[:port]/prefix` or a directory (DIR/checkpoint, DIR/tile/…). For
        /// https, put a TLS-terminating proxy in front: this client speaks plain HTTP.
        source: String,
        /// The log's public key (`name+id+base64`), or `@FILE` holding it.
        #[arg(long, value_name = "VKEY")]
        log_key: String,
        /// The log's origin (default: the log key's name).
        #[arg(long)]
        origin: Option<String>,
        /// A checkpoint saved earlier (a signed note file): the log must have only grown since.
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        since: Option<PathBuf>,
        /// Save the verified checkpoint here, for the next `--since`.
        #[arg(long, value_name = "FILE")]
        save_checkpoint: Option<PathBuf>,
        /// Seconds allowed for each HTTP request.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
}

pub async fn run(command: VerifyCommand) -> Result<()> {
    match command {
        VerifyCommand::Receipt { file, log_key, witness_keys, quorum, entry, leaf_hash, origin } => {
            receipt(&file, &log_key, &witness_keys, quorum, entry.as_deref(), leaf_hash.as_deref(), origin)
        }
        VerifyCommand::Log { source, log_key, origin, since, save_checkpoint, timeout } => {
            log(&source, &log_key, origin, since.as_deref(), save_checkpoint.as_deref(), timeout).await
        }
    }
}

/// A key argument: the verifier key string, or `@FILE` holding it.
pub fn parse_key(arg: &str, flag: &str) -> Result<VerifierKey> {
    let text = match arg.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file).with_context(|| format!("{flag}: cannot read {file}"))?,
        None => arg.to_owned(),
    };
    let text = text.trim();
    if text.starts_with("PRIVATE+KEY") {
        bail!("{flag}: that is a private signing key; give the public verifier key (name+id+base64)");
    }
    VerifierKey::parse(text)
        .map_err(|e| anyhow!("{flag}: {text:?} is not a verifier key (name+hex id+base64 key): {e}"))
}

fn parse_leaf_hash(text: &str) -> Result<Hash> {
    let text = text.trim();
    Hash::from_base64(text)
        .or_else(|| Hash::from_hex(text))
        .ok_or_else(|| anyhow!("--leaf-hash {text:?} is neither base64 nor hex of 32 bytes"))
}

fn when(timestamp: u64) -> String {
    i64::try_from(timestamp)
        .ok()
        .and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| timestamp.to_string())
}

fn receipt(
    file: &Path,
    log_key: &str,
    witness_keys: &[String],
    quorum: Option<usize>,
    entry: Option<&Path>,
    leaf_hash: Option<&str>,
    origin: Option<String>,
) -> Result<()> {
    let text = std::fs::read(file).with_context(|| format!("cannot read the receipt {}", file.display()))?;
    let log_key = parse_key(log_key, "--log-key")?;
    let witnesses = witness_keys.iter().map(|k| parse_key(k, "--witness-key")).collect::<Result<Vec<_>>>()?;
    let quorum = quorum.unwrap_or(witnesses.len());
    let entry_bytes = match entry {
        Some(p) => Some(std::fs::read(p).with_context(|| format!("cannot read the entry {}", p.display()))?),
        None => None,
    };
    let leaf = match (&entry_bytes, leaf_hash) {
        (Some(e), _) => Some(Leaf::Entry(e)),
        (None, Some(h)) => Some(Leaf::Hash(parse_leaf_hash(h)?)),
        (None, None) => None,
    };
    let report = verify_receipt_file(&text, &log_key, origin.as_deref(), &witnesses, quorum, leaf)
        .map_err(|e| anyhow!("receipt {}: {e}", file.display()))?;
    let cp = &report.checkpoint;
    let cosigned = if witnesses.is_empty() {
        "no witnesses required".to_owned()
    } else {
        let names: Vec<String> =
            report.witnesses.iter().map(|(k, t)| format!("{} at {}", k.name(), when(*t))).collect();
        format!(
            "{} of {} witnesses cosigned (quorum {quorum}): {}",
            report.witnesses.len(),
            witnesses.len(),
            names.join(", ")
        )
    };
    if report.inclusion_checked() {
        println!(
            "receipt OK: entry {} is in the log {} (tree size {}, root {}); signed by the log key; {cosigned}",
            report.index, cp.origin, cp.size, cp.root
        );
    } else {
        eprintln!("warning: no --entry or --leaf-hash given: which entry is at this index was NOT checked");
        println!(
            "receipt signatures OK, inclusion NOT checked: index {} of the log {} (tree size {}, root {}); \
             signed by the log key; {cosigned}",
            report.index, cp.origin, cp.size, cp.root
        );
    }
    Ok(())
}

async fn log(
    source: &str,
    log_key: &str,
    origin: Option<String>,
    since: Option<&Path>,
    save_checkpoint: Option<&Path>,
    timeout: u64,
) -> Result<()> {
    let log_key = parse_key(log_key, "--log-key")?;
    let fetch = Source::parse_with_timeout(source, Duration::from_secs(timeout.max(1)))
        .map_err(|e| anyhow!("{e}"))?;
    let since_note = match since {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("cannot read --since {}", p.display()))?;
            Some(
                Note::parse(&bytes)
                    .map_err(|e| anyhow!("--since {} is not a signed checkpoint: {e}", p.display()))?,
            )
        }
        None => None,
    };
    let bar = crate::commands::progress(0, "verifying");
    let result = verify_log(&fetch, &log_key, origin.as_deref(), since_note.as_ref(), |p| {
        bar.set_length(p.entries_total);
        bar.set_position(p.entries_checked);
    })
    .await;
    bar.finish_and_clear();
    let report = result.map_err(|e| anyhow!("the log at {source} does not verify: {e}"))?;
    if let Some(path) = save_checkpoint {
        std::fs::write(path, &report.checkpoint_note)
            .with_context(|| format!("cannot save the checkpoint to {}", path.display()))?;
    }
    let consistent = match report.consistent_with {
        Some((size, _)) => format!("; consistent with the earlier checkpoint of {size} entries"),
        None => String::new(),
    };
    println!(
        "log OK: {} has {} entries, root {}; checked {} tiles, {} entry bundles and {} entries ({:.1} MB) in {:.2} s{consistent}",
        report.origin,
        report.size,
        report.root,
        report.tiles_checked,
        report.bundles_checked,
        report.entries_checked,
        report.bytes_fetched as f64 / 1e6,
        report.elapsed.as_secs_f64(),
    );
    Ok(())
}
