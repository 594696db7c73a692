//! `c2sp.org/tlog-witness` for tongxin, both ways: a witness server that
//! checks the consistency of the logs it is configured for and cosigns their
//! checkpoints (`c2sp.org/tlog-cosignature`, Ed25519 cosignature/v1), and the
//! client a log uses to ask witnesses for cosignatures. Picture two
//! provinces, each running a log and a witness of the other's log.
//!
//! The formats and the decision itself (signature, sizes, consistency proof)
//! are `tongxin-tlog`'s pure [`tongxin_tlog::Witness`]; this crate adds
//! HTTP, the key and state files, and the atomic check-and-persist the spec
//! requires.
//!
//! - [`config`]: the configuration file ([`WitnessConfig`]).
//! - [`server`]: [`router`], [`run`], the persisted per-log state.
//! - [`client`]: [`add_checkpoint`] and the keep-alive [`WitnessClient`].

pub mod client;
pub mod config;
pub mod server;

pub use client::{WitnessClient, WitnessClientError, add_checkpoint};
pub use config::{ConfigError, WitnessConfig};
pub use server::{WitnessServerError, WitnessState, router, run, serve};
