//! The tongxin domain: administrative units, upper-level bodies, the demands they place
//! on grassroots units (the burden ledger's entries) and local accounts.
//!
//! This crate knows nothing of HTTP, SQL or files. Its types are plain data with
//! validation; the `store-*` crates persist them and the server shows them.

pub mod account;
pub mod body;
pub mod demand;
pub mod error;
pub mod flag;
pub mod unit;

pub use account::{Role, User};
pub use body::{Body, BodyKind};
pub use demand::{Cost, Demand, DemandKind, DemandOrigin, DemandStatus};
pub use error::{FieldError, Invalid};
pub use flag::Flag;
pub use unit::{Level, Unit, UnitCode};

/// A new application-generated key: UUIDv7, so keys sort by creation time and
/// B-tree inserts stay append-mostly on both SQLite and PostgreSQL.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
