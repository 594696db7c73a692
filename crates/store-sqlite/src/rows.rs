//! Decoding SQLite rows into domain values (shared decoders: [`tongxin_store::row_decoders!`]).

tongxin_store::row_decoders!(sqlx::sqlite::SqliteRow, |r: &sqlx::sqlite::SqliteRow| parse_time(
    r.try_get("changed_at").map_err(db)?
));

/// An RFC 3339 timestamp as SQLite stores it.
pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| bad("timestamp", s))
}
