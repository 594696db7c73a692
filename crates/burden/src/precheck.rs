//! Pre-check: what a planned demand would break, what it should be merged with and what
//! it adds to each target unit, before it is written.

use chrono::NaiveDateTime;
use serde::Serialize;
use tongxin_domain::{Demand, UnitCode};
use uuid::Uuid;

use crate::engine::{Engine, Finding, Unknown};
use crate::families;
use crate::period::PeriodKind;
use crate::rollup::{Totals, contribution};

/// A stored demand the planned one should be merged with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergeCandidate {
    pub id: Uuid,
    pub title: String,
    pub source: String,
    pub starts_at: NaiveDateTime,
    /// The rule that proposes the merge.
    pub rule: String,
}

/// What the planned demand adds to one target unit, beside what the unit already carries
/// that month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Added {
    pub unit: UnitCode,
    pub name: String,
    pub cadres: u64,
    pub added: Totals,
    /// The unit's totals (its subtree) in the demand's month before it.
    pub month_before: Totals,
    pub hours_per_cadre_before: f64,
    pub hours_per_cadre_after: f64,
}

/// The answer of a pre-check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Precheck {
    /// Findings the planned demand would be part of.
    pub findings: Vec<Finding>,
    pub merge_candidates: Vec<MergeCandidate>,
    pub added: Vec<Added>,
}

impl Engine {
    /// Checks a planned demand (new, or a change to a stored one with the same id) against
    /// the ledger as it is, without writing anything. Fails only on an unknown unit or body.
    pub fn precheck(&self, d: &Demand) -> Result<Precheck, Unknown> {
        let rec = self.compact(d)?;
        let mut keys = Vec::new();
        families::keys_of(self, &rec, &mut keys);
        keys.sort_unstable();
        keys.dedup();
        let mut findings: Vec<Finding> = keys
            .iter()
            .flat_map(|k| families::evaluate(self, k, Some(&rec)))
            .filter(|f| f.demands.contains(&rec.id))
            .collect();
        findings.sort_by(|a, b| {
            b.severity.cmp(&a.severity).then_with(|| a.rule.cmp(&b.rule)).then(a.units.cmp(&b.units))
        });
        let mut merge_candidates: Vec<MergeCandidate> = Vec::new();
        for f in findings.iter().filter(|f| f.merge) {
            for id in f.demands.iter().filter(|id| **id != rec.id) {
                if merge_candidates.iter().any(|m| m.id == *id) {
                    continue;
                }
                if let Some(&slot) = self.slots.get(id) {
                    let r = self.rec(slot);
                    merge_candidates.push(MergeCandidate {
                        id: *id,
                        title: r.title.to_string(),
                        source: self.body_name(r.body).to_owned(),
                        starts_at: r.start,
                        rule: f.rule.clone(),
                    });
                }
            }
        }
        merge_candidates.sort_by(|a, b| a.starts_at.cmp(&b.starts_at).then(a.id.cmp(&b.id)));
        let month = PeriodKind::Month.of(rec.day());
        let mut added_one = contribution(&rec);
        added_one.violations = 0;
        let added = rec
            .targets
            .iter()
            .map(|&t| {
                let u = self.unit(t);
                let before = self.rollups.unit.get(&(t, month)).copied().unwrap_or_default();
                // A change to a stored demand replaces it: take its share away first.
                let mut base = before;
                if let Some(&slot) = self.slots.get(&rec.id) {
                    let old = self.rec(slot);
                    if old.targets.contains(&t) && PeriodKind::Month.of(old.day()) == month {
                        let c = contribution(old);
                        base.demands -= c.demands;
                        base.cadre_centihours -= c.cadre_centihours;
                    }
                }
                let cadres = self.subtree_cadres[t as usize];
                let per = |centi: i64| if cadres == 0 { 0.0 } else { centi as f64 / 100.0 / cadres as f64 };
                Added {
                    unit: u.code.clone(),
                    name: u.name.clone(),
                    cadres,
                    added: added_one,
                    month_before: before,
                    hours_per_cadre_before: per(base.cadre_centihours),
                    hours_per_cadre_after: per(base.cadre_centihours + added_one.cadre_centihours),
                }
            })
            .collect();
        Ok(Precheck { findings, merge_candidates, added })
    }
}
