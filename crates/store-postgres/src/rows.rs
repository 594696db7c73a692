//! Decoding PostgreSQL rows into domain values (shared decoders: [`tongxin_store::row_decoders!`]).

tongxin_store::row_decoders!(sqlx::postgres::PgRow, |r: &sqlx::postgres::PgRow| r
    .try_get::<DateTime<Utc>, _>("changed_at")
    .map_err(db));
