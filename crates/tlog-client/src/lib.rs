//! Verifies a transparency log that someone else serves, and receipts from
//! it: the client side of `c2sp.org/tlog-tiles`, built on the formats and
//! algorithms of `tongxin_tlog`.
//!
//! - [`fetch`]: where the log is read from — the [`Fetch`] trait and its
//!   implementations for a directory in the static layout ([`DirFetch`]),
//!   a plain-HTTP base URL ([`HttpFetch`]; HTTPS needs a TLS-terminating
//!   proxy, TLS support is future work) and memory ([`MemoryFetch`]).
//! - [`log`]: [`verify_log`] fetches the checkpoint and every tile and
//!   entry bundle, checks all of it against the signed checkpoint (and an
//!   earlier checkpoint, for consistency) and reports the first
//!   discrepancy exactly: which tile or bundle, which level, position or
//!   entry index, and what was expected versus found.
//! - [`receipt`]: [`verify_receipt_file`] checks a `c2sp.org/tlog-proof@v1`
//!   receipt offline.
//! - [`fixture`]: a log's static files built in memory, for tests and
//!   benchmarks.
//!
//! This crate knows nothing of reports or databases; the `tongxin verify`
//! subcommands are a thin layer over it.

pub mod fetch;
pub mod fixture;
pub mod log;
pub mod receipt;

pub use fetch::{DirFetch, Fetch, FetchError, HttpFetch, MemoryFetch, Source, error_chain};
pub use fixture::StaticLog;
pub use log::{LogError, LogReport, Progress, verify_log};
pub use receipt::{ReceiptFileError, ReceiptReport, verify_receipt_file};
pub use tongxin_tlog as tlog;
