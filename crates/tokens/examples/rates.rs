//! Rough issuance and redemption rates on this machine:
//! `cargo run --release -p tongxin-tokens --example rates [N]`.
//!
//! Prints wall-clock rates (what the library's `bench` functions return)
//! and, on Linux, the CPU time each operation took, which says what one
//! idle core can do even when other processes share the machine.

use tongxin_tokens::bench::{Rate, issuance, redemption};
use tongxin_tokens::scheme::{KeyScope, challenge};
use tongxin_tokens::{DefaultRng, IssuerKey, begin_issuance, finalize, issue};

/// Process CPU time (user + system) from /proc/self/stat, in seconds,
/// assuming the usual 100 clock ticks per second; `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn report(
    what: &str,
    run: impl FnOnce() -> Result<Rate, tongxin_tokens::Error>,
) -> Result<(), tongxin_tokens::Error> {
    // Setup (preparing requests or tokens) happens inside `run` too, so the
    // CPU figure is an upper bound on the cost per operation.
    let before = cpu_seconds();
    let rate = run()?;
    let cpu = cpu_seconds().zip(before).map(|(a, b)| a - b);
    let per_core = cpu
        .filter(|c| *c > 0.0)
        .map_or(String::new(), |c| format!(", <= {:.0} µs CPU each", c / rate.operations as f64 * 1e6));
    println!("{what}, {} thread(s): {:>8.0}/s wall{per_core}", rate.threads, rate.per_second());
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).map_or(Ok(4000), |a| a.parse())?;
    let start = std::time::Instant::now();
    let key = IssuerKey::generate(&mut DefaultRng)?;
    println!("key generation (RSA-2048): {:.2} s", start.elapsed().as_secs_f64());

    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    for threads in [1, cores] {
        report("issuance (issuer: decode + blind-sign + encode)", || issuance(&key, n, threads))?;
    }
    for threads in [1, cores] {
        report("redemption (decode + verify)                   ", || redemption(&key, n * 10, threads))?;
    }

    // The client's side, for reference: blind, and finalize (which verifies).
    let c = challenge("tongxin.example", &KeyScope::monthly("440305", 2026, 11)?)?;
    let m = n.min(1000);
    let prepared: Vec<_> = (0..m)
        .map(|_| {
            let (req, state) = begin_issuance(key.public_key(), &c, &mut DefaultRng)?;
            Ok::<_, tongxin_tokens::Error>((state, issue(&key, &req)?))
        })
        .collect::<Result<_, _>>()?;
    let start = std::time::Instant::now();
    for _ in 0..m {
        std::hint::black_box(begin_issuance(key.public_key(), &c, &mut DefaultRng)?);
    }
    let blind = m as f64 / start.elapsed().as_secs_f64();
    let start = std::time::Instant::now();
    for (state, response) in prepared {
        std::hint::black_box(finalize(state, &response)?);
    }
    let fin = m as f64 / start.elapsed().as_secs_f64();
    println!("client: blind {blind:.0}/s, finalize {fin:.0}/s (1 thread, wall)");
    Ok(())
}
