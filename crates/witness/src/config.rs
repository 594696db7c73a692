//! The witness's configuration file: a short line-based text file naming the
//! witness, its key and state files, and the logs it witnesses with their
//! public keys. Plain text rather than TOML so the file needs no parser crate
//! and reads like the key strings it holds:
//!
//! ```text
//! # tongxin witness for the Guangdong office
//! name  gd.tongxin.example/witness      # key name, used when the key is created
//! key   witness.key                     # cosigner key file (created on first run, mode 0600)
//! state witness-state.json              # latest cosigned checkpoint per log
//! # log [<origin>] <log verifier key> [<more keys of the same log>...]
//! log   zj.tongxin.example/log+6d1f2a9c+AU0v...
//! log   example.org/other-log example.org/other-log+01020304+AX3j...
//! ```
//!
//! `#` starts a comment. Relative paths are relative to the configuration
//! file's directory. `key` defaults to `witness.key` and `state` to
//! `witness-state.json`. When a `log` line has a single key, the origin is the
//! key's name (tlog-checkpoint: the key name "SHOULD match the origin line").

use std::path::{Path, PathBuf};

use tongxin_tlog::{SignatureType, VerifierKey, WitnessedLog};

/// What a witness needs to run.
#[derive(Clone, Debug)]
pub struct WitnessConfig {
    /// The witness's key name, used when the key file is created; an existing
    /// key file must hold a key of this name.
    pub name: String,
    /// The cosigner key file (`PRIVATE+KEY+…`), created on first run.
    pub key_file: PathBuf,
    /// The JSON file holding the latest cosigned checkpoint of every log.
    pub state_file: PathBuf,
    /// The logs the witness cosigns, with their trusted keys.
    pub logs: Vec<WitnessedLog>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the witness configuration {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("witness configuration line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("witness configuration: {0}")]
    Invalid(String),
}

impl WitnessConfig {
    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<WitnessConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        let dir = path.parent().unwrap_or(Path::new("."));
        WitnessConfig::parse(&text, dir)
    }

    /// Parses configuration text; relative paths are taken relative to `dir`.
    pub fn parse(text: &str, dir: &Path) -> Result<WitnessConfig, ConfigError> {
        let mut name = None;
        let mut key_file = None;
        let mut state_file = None;
        let mut logs: Vec<WitnessedLog> = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| ConfigError::Line { line, message };
            let content = raw.split_once('#').map_or(raw, |(before, _)| before);
            let mut words = content.split_whitespace();
            let Some(directive) = words.next() else { continue };
            let args: Vec<&str> = words.collect();
            let single = |what: &str| -> Result<String, ConfigError> {
                match args.as_slice() {
                    [one] => Ok((*one).to_owned()),
                    _ => Err(err(format!("'{directive}' takes exactly one {what}"))),
                }
            };
            match directive {
                "name" => {
                    if name.replace(single("key name")?).is_some() {
                        return Err(err("'name' is given twice".into()));
                    }
                }
                "key" => {
                    if key_file.replace(dir.join(single("path")?)).is_some() {
                        return Err(err("'key' is given twice".into()));
                    }
                }
                "state" => {
                    if state_file.replace(dir.join(single("path")?)).is_some() {
                        return Err(err("'state' is given twice".into()));
                    }
                }
                "log" => logs.push(parse_log(&args).map_err(err)?),
                other => {
                    return Err(err(format!(
                        "unknown directive '{other}' (expected name, key, state or log)"
                    )));
                }
            }
        }
        let name =
            name.ok_or_else(|| ConfigError::Invalid("no 'name' line (the witness's key name)".into()))?;
        if !tongxin_tlog::note::is_valid_key_name(&name) {
            return Err(ConfigError::Invalid(format!("'{name}' cannot name a key (no spaces and no '+')")));
        }
        if logs.is_empty() {
            return Err(ConfigError::Invalid("no 'log' line: the witness would witness nothing".into()));
        }
        for (i, log) in logs.iter().enumerate() {
            if logs[..i].iter().any(|l| l.origin == log.origin) {
                return Err(ConfigError::Invalid(format!(
                    "the log {} is listed twice; list all its keys on one line",
                    log.origin
                )));
            }
        }
        Ok(WitnessConfig {
            name,
            key_file: key_file.unwrap_or_else(|| dir.join("witness.key")),
            state_file: state_file.unwrap_or_else(|| dir.join("witness-state.json")),
            logs,
        })
    }
}

fn parse_log(args: &[&str]) -> Result<WitnessedLog, String> {
    let (origin, keys) = match args {
        [] => return Err("'log' needs a log verifier key (and optionally the origin before it)".into()),
        [key] => (None, std::slice::from_ref(key)),
        [first, rest @ ..] if !first.contains('+') => (Some(*first), rest),
        keys => (None, keys),
    };
    let keys = keys
        .iter()
        .map(|k| {
            let key = VerifierKey::parse(k).map_err(|e| format!("log key {k:?}: {e}"))?;
            if key.sig_type() != SignatureType::Ed25519 {
                return Err(format!("log key {k:?} is not an Ed25519 (0x01) log key"));
            }
            Ok(key)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err("'log' needs at least one log verifier key after the origin".into());
    }
    let origin = match origin {
        Some(o) => o.to_owned(),
        None => {
            let first = keys[0].name();
            if let Some(other) = keys.iter().find(|k| k.name() != first) {
                return Err(format!(
                    "keys named {first} and {} without an origin: give the origin first",
                    other.name()
                ));
            }
            first.to_owned()
        }
    };
    Ok(WitnessedLog { origin, keys })
}

#[cfg(test)]
mod tests {
    use tongxin_tlog::SignerKey;

    use super::*;

    fn vkey(name: &str) -> String {
        SignerKey::generate(name, SignatureType::Ed25519).unwrap().verifier().to_string()
    }

    #[test]
    fn parses_names_paths_and_logs() {
        let (zj, other) = (vkey("zj.tongxin.example/log"), vkey("other-name"));
        let text = format!(
            "# comment\n\nname gd.tongxin.example/witness  # trailing comment\nstate /var/lib/w/state.json\n\
             log {zj}\nlog example.org/log {other} {zj}\n"
        );
        let c = WitnessConfig::parse(&text, Path::new("/etc/tongxin")).unwrap();
        assert_eq!(c.name, "gd.tongxin.example/witness");
        assert_eq!(c.key_file, Path::new("/etc/tongxin/witness.key"));
        assert_eq!(c.state_file, Path::new("/var/lib/w/state.json"));
        assert_eq!(c.logs.len(), 2);
        assert_eq!(c.logs[0].origin, "zj.tongxin.example/log");
        assert_eq!(c.logs[1].origin, "example.org/log");
        assert_eq!(c.logs[1].keys.len(), 2);
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let zj = vkey("zj.tongxin.example/log");
        let cosigner = SignerKey::generate("w", SignatureType::CosignatureV1).unwrap().verifier().to_string();
        let cases = [
            (format!("log {zj}\n"), "no 'name'"),
            ("name w\n".to_owned(), "no 'log'"),
            (format!("name w\nname v\nlog {zj}\n"), "twice"),
            (format!("name w\nlog {zj}\nlog {zj}\n"), "listed twice"),
            (format!("name w\nlisten :80\nlog {zj}\n"), "unknown directive"),
            (format!("name w\nlog {cosigner}\n"), "not an Ed25519"),
            ("name w\nlog zj.tongxin.example/log+00000000+AAAA\n".to_owned(), "line 2"),
            (format!("name w\nlog {zj} {}\n", vkey("b")), "without an origin"),
            (format!("name a+b\nlog {zj}\n"), "cannot name a key"),
            (format!("name w\nkey\nlog {zj}\n"), "exactly one path"),
        ];
        for (text, want) in cases {
            let err = WitnessConfig::parse(&text, Path::new(".")).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
