//! Decoding SQLite rows into domain values.

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use tongxin_domain::{
    Body, BodyKind, Cost, Demand, DemandKind, DemandOrigin, DemandStatus, Role, Unit, UnitCode, User,
};
use tongxin_store::codec::{bits_to_levels, corrupt, text_to_fields, text_to_targets};
use tongxin_store::{Result, StoreError};
use uuid::Uuid;

pub const DEMAND_COLUMNS: &str = "id, kind, source_body, source_department, title, topic, targets, starts_at, ends_at, \
    status, origin, cadre_hours, cadres_required, host_person_days, visitors, forms, fields, attend_levels, video, \
    indicators, doc_chars, revision, changed_at, changed_by, last_action";

pub fn db(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn bad(what: &str, value: &str) -> StoreError {
    StoreError::Database(format!("corrupt {what}: {value:?}"))
}

pub fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).map(|t| t.with_timezone(&Utc)).map_err(|_| bad("timestamp", s))
}

fn code(s: String) -> Result<UnitCode> {
    UnitCode::parse(&s).map_err(corrupt)
}

pub fn unit_from_row(r: &SqliteRow) -> Result<Unit> {
    Ok(Unit {
        code: code(r.try_get("code").map_err(db)?)?,
        name: r.try_get("name").map_err(db)?,
        cadres: r.try_get::<i64, _>("cadres").map_err(db)? as u32,
        cadres_estimated: r.try_get("cadres_estimated").map_err(db)?,
    })
}

pub fn body_from_row(r: &SqliteRow) -> Result<Body> {
    let kind: String = r.try_get("kind").map_err(db)?;
    Ok(Body {
        id: r.try_get("id").map_err(db)?,
        unit: code(r.try_get("unit").map_err(db)?)?,
        name: r.try_get("name").map_err(db)?,
        kind: BodyKind::parse(&kind).ok_or_else(|| bad("body kind", &kind))?,
        parent: r.try_get("parent").map_err(db)?,
    })
}

pub fn user_from_row(r: &SqliteRow) -> Result<User> {
    let role: String = r.try_get("role").map_err(db)?;
    Ok(User {
        id: r.try_get("id").map_err(db)?,
        username: r.try_get("username").map_err(db)?,
        display_name: r.try_get("display_name").map_err(db)?,
        role: Role::parse(&role).ok_or_else(|| bad("role", &role))?,
        scope: code(r.try_get("scope").map_err(db)?)?,
        body: r.try_get::<Option<Uuid>, _>("body").map_err(db)?,
        password_hash: r.try_get("password_hash").map_err(db)?,
    })
}

/// The demand, and when, by whom and how it last changed.
pub fn demand_from_row(r: &SqliteRow) -> Result<(Demand, DateTime<Utc>, String, String)> {
    let kind: String = r.try_get("kind").map_err(db)?;
    let status: String = r.try_get("status").map_err(db)?;
    let origin: String = r.try_get("origin").map_err(db)?;
    let u32_of = |c: &str| r.try_get::<i64, _>(c).map(|v| v as u32).map_err(db);
    let demand = Demand {
        id: r.try_get("id").map_err(db)?,
        kind: DemandKind::parse(&kind).ok_or_else(|| bad("kind", &kind))?,
        source_body: r.try_get("source_body").map_err(db)?,
        source_department: r.try_get("source_department").map_err(db)?,
        title: r.try_get("title").map_err(db)?,
        topic: r.try_get("topic").map_err(db)?,
        targets: text_to_targets(r.try_get("targets").map_err(db)?)?,
        starts_at: r.try_get::<NaiveDateTime, _>("starts_at").map_err(db)?,
        ends_at: r.try_get::<NaiveDateTime, _>("ends_at").map_err(db)?,
        status: DemandStatus::parse(&status).ok_or_else(|| bad("status", &status))?,
        origin: DemandOrigin::parse(&origin).ok_or_else(|| bad("origin", &origin))?,
        cost: Cost {
            cadre_hours: r.try_get("cadre_hours").map_err(db)?,
            cadres_required: u32_of("cadres_required")?,
            host_person_days: r.try_get("host_person_days").map_err(db)?,
            visitors: u32_of("visitors")?,
            forms: u32_of("forms")?,
            fields: text_to_fields(r.try_get("fields").map_err(db)?)?,
            attend_levels: bits_to_levels(r.try_get("attend_levels").map_err(db)?),
            video: r.try_get("video").map_err(db)?,
            indicators: u32_of("indicators")?,
            doc_chars: u32_of("doc_chars")?,
        },
        revision: u32_of("revision")?,
    };
    let at = parse_time(r.try_get("changed_at").map_err(db)?)?;
    Ok((demand, at, r.try_get("changed_by").map_err(db)?, r.try_get("last_action").map_err(db)?))
}
