//! Timed issuance and redemption, for `tongxin bench voice` and
//! `examples/rates.rs`.
//!
//! Issuance is timed on the issuer's side, as the server does it: decode
//! the `TokenRequest` bytes, [`issue`], encode the response. Redemption is
//! the verifier's side: decode the token bytes, [`verify`] (the double-spend
//! lookup is the store's and is not included). Keys and client work are
//! prepared before the clock starts. Work is split over `threads` OS
//! threads; `0` means one per available core.

use std::time::Instant;

use crate::scheme::{KeyScope, challenge};
use crate::{DefaultRng, Error, IssuerKey, Token, TokenRequest, begin_issuance, finalize, issue, verify};

/// A timed run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Operations completed.
    pub operations: u64,
    /// Wall-clock seconds they took.
    pub seconds: f64,
    /// Threads used.
    pub threads: usize,
}

impl Rate {
    /// Operations per second.
    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.operations as f64 / self.seconds } else { f64::INFINITY }
    }
}

fn thread_count(threads: usize) -> usize {
    if threads == 0 { std::thread::available_parallelism().map_or(1, |n| n.get()) } else { threads }
}

const BENCH_SERVER: &str = "tongxin.example";

fn bench_scope() -> KeyScope {
    KeyScope { scope_code: "440305".into(), period: "2026-11".into() }
}

/// Runs `work` over `items` split into `threads` chunks and times it.
fn timed<T: Sync>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> Result<(), Error> + Sync,
) -> Result<Rate, Error> {
    let chunk = items.len().div_ceil(threads).max(1);
    let start = Instant::now();
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| s.spawn(|| part.iter().try_for_each(&work))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(Error::Crypto("benchmark thread panicked".into()))))
            .collect()
    });
    let seconds = start.elapsed().as_secs_f64();
    results.into_iter().collect::<Result<(), Error>>()?;
    Ok(Rate { operations: items.len() as u64, seconds, threads })
}

/// Issues `n` tokens with `key` on `threads` threads (0: all cores).
pub fn issuance(key: &IssuerKey, n: usize, threads: usize) -> Result<Rate, Error> {
    let threads = thread_count(threads);
    let challenge = challenge(BENCH_SERVER, &bench_scope())?;
    let mut rng = DefaultRng;
    // Blinding is the client's cost; prepare requests outside the clock.
    // Distinct requests are prepared up to 256 and reused beyond that:
    // signing costs the same whatever the input.
    let distinct = n.clamp(1, 256);
    let requests: Vec<Vec<u8>> = (0..distinct)
        .map(|_| begin_issuance(key.public_key(), &challenge, &mut rng).map(|(r, _)| r.to_bytes()))
        .collect::<Result<_, _>>()?;
    let work: Vec<&[u8]> = (0..n).map(|i| requests[i % distinct].as_slice()).collect();
    timed(&work, threads, |bytes| {
        let request = TokenRequest::decode(bytes)?;
        let response = issue(key, &request)?;
        std::hint::black_box(response.to_bytes());
        Ok(())
    })
}

/// Verifies `n` token redemptions under `key` on `threads` threads (0: all
/// cores). Up to 64 distinct tokens are issued beforehand and cycled:
/// verification costs the same for every token.
pub fn redemption(key: &IssuerKey, n: usize, threads: usize) -> Result<Rate, Error> {
    let threads = thread_count(threads);
    let challenge = challenge(BENCH_SERVER, &bench_scope())?;
    let digest = challenge.digest();
    let mut rng = DefaultRng;
    let distinct = n.clamp(1, 64);
    let tokens: Vec<Vec<u8>> = (0..distinct)
        .map(|_| {
            let (request, state) = begin_issuance(key.public_key(), &challenge, &mut rng)?;
            let response = issue(key, &request)?;
            finalize(state, &response).map(|t| t.to_bytes())
        })
        .collect::<Result<_, _>>()?;
    let work: Vec<&[u8]> = (0..n).map(|i| tokens[i % distinct].as_slice()).collect();
    let public = key.public_key();
    timed(&work, threads, |bytes| {
        let token = Token::decode(bytes)?;
        verify(public, &token, &digest)
    })
}

/// Token issuance per second with a freshly generated key, on all cores.
pub fn issuance_per_second(n: usize) -> Result<Rate, Error> {
    let key = IssuerKey::generate(&mut DefaultRng)?;
    issuance(&key, n, 0)
}

/// Token redemptions (decode + verify) per second with a freshly generated
/// key, on all cores.
pub fn redemption_per_second(n: usize) -> Result<Rate, Error> {
    let key = IssuerKey::generate(&mut DefaultRng)?;
    redemption(&key, n, 0)
}
