//! Sustained durable appends through the log service: the durable rows of
//! `tongxin bench log`, and `tongxin bench appends`, the load of the crash tests, which
//! prints every acknowledgement (`ack <index> <entry>`) and every published checkpoint
//! (`checkpoint <size> <note in base64>`) on standard output as they happen, so a test
//! that kills the process knows exactly what was acknowledged before.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use base64::Engine;
use tokio::sync::mpsc;
use tongxin_log::Log;

pub struct Load {
    pub concurrency: usize,
    /// Stop after this many appends in all.
    pub entries: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    pub prefix: String,
    /// Print acknowledgements and checkpoints on standard output.
    pub print: bool,
}

pub struct Report {
    pub appended: u64,
    pub elapsed: Duration,
    /// From the call to `append` to a published checkpoint covering the entry.
    pub latencies: Vec<Duration>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.appended as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn percentile(&self, p: f64) -> Duration {
        let mut l = self.latencies.clone();
        l.sort();
        l.get(((l.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or_default()
    }

    pub fn summary(&self) -> String {
        format!(
            "{} appends in {:.1} s: {:.0}/s; append → checkpoint p50 {:?}, p99 {:?}",
            self.appended,
            self.elapsed.as_secs_f64(),
            self.per_second(),
            self.percentile(0.5),
            self.percentile(0.99)
        )
    }
}

pub async fn run(log: &Log, load: &Load) -> Result<Report> {
    let started = Instant::now();
    let (lines, mut printer) = mpsc::unbounded_channel::<String>();
    let mut watcher = None;
    if load.print {
        // Checkpoints as they are published.
        let log = log.clone();
        let lines = lines.clone();
        watcher = Some(tokio::spawn(async move {
            let mut size = log.latest().size;
            while let Ok(p) = log.covering(size).await {
                size = p.size;
                let note = base64::engine::general_purpose::STANDARD.encode(p.note.as_bytes());
                if lines.send(format!("checkpoint {} {note}", p.size)).is_err() {
                    return;
                }
            }
        }));
    }
    let printing = tokio::spawn(async move {
        let stdout = std::io::stdout();
        while let Some(line) = printer.recv().await {
            // One write and flush per line: a kill loses no acknowledged line.
            let mut out = stdout.lock();
            if writeln!(out, "{line}").and_then(|_| out.flush()).is_err() {
                return;
            }
        }
    });
    let per_task = load.entries.map(|n| n.div_ceil(load.concurrency.max(1) as u64));
    let deadline = load.duration.map(|d| started + d);
    let mut tasks = Vec::with_capacity(load.concurrency);
    for task in 0..load.concurrency.max(1) {
        let log = log.clone();
        let lines = lines.clone();
        let prefix = load.prefix.clone();
        let print = load.print;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            loop {
                if per_task.is_some_and(|max| n >= max) || deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let entry = format!("{prefix}-{task}-{n}");
                let t = Instant::now();
                let index = log.append(entry.clone().into_bytes()).await?;
                if print {
                    let _ = lines.send(format!("ack {index} {entry}"));
                }
                log.covering(index).await?;
                latencies.push(t.elapsed());
                n += 1;
            }
            Ok::<_, tongxin_log::LogError>(latencies)
        }));
    }
    drop(lines);
    let mut report = Report { appended: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for t in tasks {
        let latencies = t.await.map_err(|e| anyhow!("append task: {e}"))?.map_err(|e| anyhow!("{e}"))?;
        report.appended += latencies.len() as u64;
        report.latencies.extend(latencies);
    }
    report.elapsed = started.elapsed();
    // The watcher waits for checkpoints that will not come: stop it so the printer sees
    // every sender gone, drains and ends.
    if let Some(w) = watcher {
        w.abort();
        let _ = w.await;
    }
    let _ = printing.await;
    Ok(report)
}
