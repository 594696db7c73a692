//! Directives, consultations and ratings on PostgreSQL (see `tongxin_store::directives`).
//! An update locks its row (`FOR UPDATE`) before comparing the revision; the spent nonce
//! of an anonymous rating is inserted into `voice_spent` in the rating's transaction, whose
//! primary key refuses a second spender.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, Postgres, QueryBuilder, Row};
use tongxin_store::directives::{
    Consultation, ConsultationResponse, DirectiveFilter, DirectiveStore, StoredDirective, TaskRating,
    check_directive_update, check_next_round, check_response, json_value, parse_level, parse_status,
    parse_unit, targets_from_json, targets_json,
};
use tongxin_store::voice::micros;
use tongxin_store::{Result, StoreError};
use uuid::Uuid;

use crate::PgStore;
use crate::rows::db;

const COLUMNS: &str = "id, issuing_body, body_unit, status, document::text AS document, targets::text AS targets, \
                       check_report::text AS check_report, revision, created_by, created_at, updated_at";

const CONSULTATION: &str =
    "directive_id, round, opens_at, closes_at, concluded_at, outcome, response, log_index";

fn unique(e: sqlx::Error, what: impl FnOnce() -> String) -> StoreError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StoreError::Conflict(what()),
        _ => db(e),
    }
}

fn directive_from_row(r: &PgRow) -> Result<StoredDirective> {
    let check: Option<String> = r.try_get("check_report").map_err(db)?;
    Ok(StoredDirective {
        id: r.try_get("id").map_err(db)?,
        issuing_body: r.try_get("issuing_body").map_err(db)?,
        body_unit: parse_unit(&r.try_get::<String, _>("body_unit").map_err(db)?)?,
        status: parse_status(&r.try_get::<String, _>("status").map_err(db)?)?,
        document: json_value(&r.try_get::<String, _>("document").map_err(db)?, "directive document")?,
        targets: targets_from_json(&r.try_get::<String, _>("targets").map_err(db)?)?,
        check: check.as_deref().map(|c| json_value(c, "check report")).transpose()?,
        revision: r.try_get::<i32, _>("revision").map_err(db)? as u32,
        created_by: r.try_get("created_by").map_err(db)?,
        created_at: r.try_get("created_at").map_err(db)?,
        updated_at: r.try_get("updated_at").map_err(db)?,
    })
}

fn consultation_from_row(r: &PgRow) -> Result<Consultation> {
    Ok(Consultation {
        directive: r.try_get("directive_id").map_err(db)?,
        round: r.try_get::<i32, _>("round").map_err(db)? as u32,
        opens_at: r.try_get("opens_at").map_err(db)?,
        closes_at: r.try_get("closes_at").map_err(db)?,
        concluded_at: r.try_get("concluded_at").map_err(db)?,
        outcome: r.try_get("outcome").map_err(db)?,
        response: r.try_get("response").map_err(db)?,
        log_index: r.try_get::<Option<i64>, _>("log_index").map_err(db)?.map(|i| i as u64),
    })
}

fn doc_text(d: &StoredDirective) -> Result<(String, Option<String>)> {
    let doc = serde_json::to_string(&d.document)
        .map_err(|e| StoreError::Database(format!("directive document to JSON: {e}")))?;
    let check = d
        .check
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Database(format!("check report to JSON: {e}")))?;
    Ok((doc, check))
}

#[async_trait]
impl DirectiveStore for PgStore {
    async fn directive_put(&self, d: &StoredDirective) -> Result<()> {
        let (doc, check) = doc_text(d)?;
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO directives (province, id, issuing_body, body_unit, status, document, targets, \
             check_report, revision, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10, $11, $12)",
        )
        .bind(d.province())
        .bind(d.id)
        .bind(d.issuing_body)
        .bind(d.body_unit.as_str())
        .bind(d.status.as_str())
        .bind(doc)
        .bind(targets_json(&d.targets))
        .bind(check)
        .bind(d.revision as i32)
        .bind(d.created_by)
        .bind(micros(d.created_at))
        .bind(micros(d.updated_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| unique(e, || format!("directive {} is already stored", d.id)))?;
        tx.commit().await.map_err(db)
    }

    async fn directive_update(&self, d: &StoredDirective, expected_revision: u32) -> Result<()> {
        let (doc, check) = doc_text(d)?;
        let mut tx = self.begin().await?;
        let row =
            sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM directives WHERE id = $1 FOR UPDATE")))
                .bind(d.id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound(format!("directive {}", d.id)))?;
        let stored = directive_from_row(&row)?;
        check_directive_update(&stored, d, expected_revision)?;
        sqlx::query(
            "UPDATE directives SET status = $1, document = $2::jsonb, targets = $3::jsonb, check_report = $4::jsonb, revision = $5, \
             updated_at = $6 WHERE province = $7 AND id = $8 AND revision = $9",
        )
        .bind(d.status.as_str())
        .bind(doc)
        .bind(targets_json(&d.targets))
        .bind(check)
        .bind(d.revision as i32)
        .bind(micros(d.updated_at))
        .bind(d.province())
        .bind(d.id)
        .bind(expected_revision as i32)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn directive(&self, id: Uuid) -> Result<Option<StoredDirective>> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM directives WHERE id = $1")))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        row.as_ref().map(directive_from_row).transpose()
    }

    async fn directives(&self, filter: &DirectiveFilter) -> Result<Vec<StoredDirective>> {
        let mut q = QueryBuilder::<Postgres>::new(format!("SELECT {COLUMNS} FROM directives WHERE 1 = 1"));
        if let Some(p) = &filter.province {
            q.push(" AND province = ").push_bind(p.clone());
        }
        if !filter.statuses.is_empty() {
            let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            q.push(" AND status = ANY(").push_bind(statuses).push(")");
        }
        if !filter.bodies.is_empty() {
            q.push(" AND issuing_body = ANY(").push_bind(filter.bodies.clone()).push(")");
        }
        if let Some(u) = &filter.body_under {
            let (lo, hi) = u.descendant_range();
            q.push(" AND body_unit >= ").push_bind(lo).push(" AND body_unit < ").push_bind(hi);
        }
        if let Some(after) = filter.after {
            q.push(if filter.newest_first { " AND id < " } else { " AND id > " }).push_bind(after);
        }
        q.push(if filter.newest_first { " ORDER BY id DESC" } else { " ORDER BY id" });
        if let Some(n) = filter.limit {
            q.push(" LIMIT ").push_bind(i64::from(n));
        }
        let rows = q.build().fetch_all(&self.pool).await.map_err(db)?;
        rows.iter().map(directive_from_row).collect()
    }

    async fn consultation_put(&self, c: &Consultation) -> Result<()> {
        let mut tx = self.begin().await?;
        // The directive's row is locked, so two authors opening a round at once queue here.
        let province: String = sqlx::query_scalar("SELECT province FROM directives WHERE id = $1 FOR UPDATE")
            .bind(c.directive)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::NotFound(format!("directive {}", c.directive)))?;
        let latest = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CONSULTATION} FROM directive_consultations WHERE directive_id = $1 \
             ORDER BY round DESC LIMIT 1"
        )))
        .bind(c.directive)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        check_next_round(latest.as_ref().map(consultation_from_row).transpose()?.as_ref(), c)?;
        sqlx::query(
            "INSERT INTO directive_consultations (province, directive_id, round, opens_at, closes_at, \
             concluded_at, outcome, response, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(province)
        .bind(c.directive)
        .bind(c.round as i32)
        .bind(micros(c.opens_at))
        .bind(micros(c.closes_at))
        .bind(c.concluded_at.map(micros))
        .bind(c.outcome.as_deref())
        .bind(c.response.as_str())
        .bind(c.log_index.map(|i| i as i64))
        .execute(&mut *tx)
        .await
        .map_err(|e| {
            unique(e, || format!("round {} of directive {} is already open", c.round, c.directive))
        })?;
        tx.commit().await.map_err(db)
    }

    async fn consultation(&self, directive: Uuid) -> Result<Option<Consultation>> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CONSULTATION} FROM directive_consultations WHERE directive_id = $1 \
             ORDER BY round DESC LIMIT 1"
        )))
        .bind(directive)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(consultation_from_row).transpose()
    }

    async fn consultations(&self, directive: Uuid) -> Result<Vec<Consultation>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {CONSULTATION} FROM directive_consultations WHERE directive_id = $1 ORDER BY round"
        )))
        .bind(directive)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(consultation_from_row).collect()
    }

    async fn consultation_conclude(
        &self,
        directive: Uuid,
        round: u32,
        outcome: &str,
        response: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let concluded: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
            "SELECT concluded_at FROM directive_consultations WHERE directive_id = $1 AND round = $2 \
             FOR UPDATE",
        )
        .bind(directive)
        .bind(round as i32)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?;
        match concluded {
            None => {
                return Err(StoreError::NotFound(format!(
                    "round {round} of the consultation of directive {directive}"
                )));
            }
            Some(Some(_)) => {
                return Err(StoreError::Conflict(format!(
                    "round {round} of the consultation of directive {directive} is already concluded"
                )));
            }
            Some(None) => {}
        }
        sqlx::query(
            "UPDATE directive_consultations SET concluded_at = $1, outcome = $2, response = $3 \
             WHERE directive_id = $4 AND round = $5",
        )
        .bind(micros(at))
        .bind(outcome)
        .bind(response)
        .bind(directive)
        .bind(round as i32)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn consultation_logged(&self, directive: Uuid, round: u32, log_index: u64) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = sqlx::query(
            "UPDATE directive_consultations SET log_index = $1 WHERE directive_id = $2 AND round = $3",
        )
        .bind(log_index as i64)
        .bind(directive)
        .bind(round as i32)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "round {round} of the consultation of directive {directive}"
            )));
        }
        tx.commit().await.map_err(db)
    }

    async fn response_put(
        &self,
        r: &ConsultationResponse,
        spent_nonce: Option<(&str, [u8; 32])>,
    ) -> Result<()> {
        check_response(r, spent_nonce.as_ref())?;
        let mut tx = self.begin().await?;
        let province: String = sqlx::query_scalar(
            "SELECT province FROM directive_consultations WHERE directive_id = $1 AND round = $2",
        )
        .bind(r.directive)
        .bind(r.round as i32)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db)?
        .ok_or_else(|| {
            StoreError::NotFound(format!(
                "round {} of the consultation of directive {}",
                r.round, r.directive
            ))
        })?;
        if let Some((nonce_province, nonce)) = spent_nonce {
            sqlx::query("INSERT INTO voice_spent (province, nonce) VALUES ($1, $2)")
                .bind(nonce_province)
                .bind(&nonce[..])
                .execute(&mut *tx)
                .await
                .map_err(|e| unique(e, || "this token has already been spent".to_owned()))?;
        }
        for t in &r.ratings {
            sqlx::query(
                "INSERT INTO directive_responses (province, directive_id, round, response_id, task_index, \
                 level, rating, comment, user_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(province.as_str())
            .bind(r.directive)
            .bind(r.round as i32)
            .bind(r.id)
            .bind(t.task as i32)
            .bind(r.level.as_str())
            .bind(i32::from(t.rating))
            .bind(t.comment.as_str())
            .bind(r.user)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                unique(e, || format!("task {} is already rated by this response or user", t.task))
            })?;
        }
        tx.commit().await.map_err(db)
    }

    async fn responses(&self, directive: Uuid, round: u32) -> Result<Vec<ConsultationResponse>> {
        let rows = sqlx::query(
            "SELECT response_id, task_index, level, rating, comment, user_id FROM directive_responses \
             WHERE directive_id = $1 AND round = $2 ORDER BY response_id, task_index",
        )
        .bind(directive)
        .bind(round as i32)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut out: BTreeMap<Uuid, ConsultationResponse> = BTreeMap::new();
        for row in &rows {
            let id: Uuid = row.try_get("response_id").map_err(db)?;
            let level = parse_level(&row.try_get::<String, _>("level").map_err(db)?)?;
            let user: Option<Uuid> = row.try_get("user_id").map_err(db)?;
            let rating = TaskRating {
                task: row.try_get::<i32, _>("task_index").map_err(db)? as u32,
                rating: row.try_get::<i32, _>("rating").map_err(db)? as u8,
                comment: row.try_get("comment").map_err(db)?,
            };
            out.entry(id)
                .or_insert_with(|| ConsultationResponse {
                    id,
                    directive,
                    round,
                    level,
                    user,
                    ratings: Vec::new(),
                })
                .ratings
                .push(rating);
        }
        Ok(out.into_values().collect())
    }
}
