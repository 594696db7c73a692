//! Who an escalated report goes to.
//!
//! The chain from the addressed body upwards:
//! 1. a division → its department (same unit);
//! 2. any body other than the office → the burden-reduction office at its unit;
//! 3. an office → the burden-reduction office of the unit above, and so on to the
//!    province (units without an office are skipped).
//!
//! A report left unaddressed belongs to the office of its scope, so its chain starts at
//! the office of the scope's parent unit. At escalation level `n` the first `n` bodies of
//! the chain see the report (escalation adds viewers; the addressed body keeps it).

use tongxin_domain::{Body, BodyKind, UnitCode};
use uuid::Uuid;

use crate::report::Report;

/// What escalation needs to know of the organisation.
pub trait Hierarchy {
    /// A body by id.
    fn body(&self, id: Uuid) -> Option<Body>;
    /// The burden-reduction office at a unit, if it has one.
    fn burden_office(&self, unit: &UnitCode) -> Option<Uuid>;
}

/// The whole escalation chain of a report addressed to `addressed` (or unaddressed in
/// `scope`), nearest first, without repeats.
pub fn escalation_chain(addressed: Option<Uuid>, scope: &UnitCode, h: &impl Hierarchy) -> Vec<Uuid> {
    let mut chain = Vec::new();
    let push = |id: Uuid, chain: &mut Vec<Uuid>| {
        if !chain.contains(&id) {
            chain.push(id);
        }
    };
    // The unit whose office is next, and whether that office is the addressee itself.
    let mut unit: Option<UnitCode> = match addressed.and_then(|id| h.body(id)) {
        Some(body) => {
            if body.kind == BodyKind::Division
                && let Some(parent) = body.parent
            {
                push(parent, &mut chain);
            }
            if body.kind == BodyKind::BurdenOffice { body.unit.parent() } else { Some(body.unit) }
        }
        None => scope.parent(),
    };
    while let Some(u) = unit {
        if let Some(office) = h.burden_office(&u)
            && Some(office) != addressed
        {
            push(office, &mut chain);
        }
        unit = u.parent();
    }
    chain
}

/// The bodies a report is escalated to at its current level (empty at level 0).
pub fn escalation_targets(report: &Report, h: &impl Hierarchy) -> Vec<Uuid> {
    let mut chain = escalation_chain(report.addressed, &report.scope, h);
    chain.truncate(usize::from(report.escalation));
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Org(HashMap<Uuid, Body>);

    impl Hierarchy for Org {
        fn body(&self, id: Uuid) -> Option<Body> {
            self.0.get(&id).cloned()
        }
        fn burden_office(&self, unit: &UnitCode) -> Option<Uuid> {
            self.0.values().find(|b| b.kind == BodyKind::BurdenOffice && &b.unit == unit).map(|b| b.id)
        }
    }

    fn body(id: u128, unit: &str, kind: BodyKind, parent: Option<u128>) -> Body {
        Body {
            id: Uuid::from_u128(id),
            unit: UnitCode::parse(unit).unwrap(),
            name: format!("b{id}"),
            kind,
            parent: parent.map(Uuid::from_u128),
        }
    }

    fn org() -> Org {
        let bodies = [
            body(1, "35", BodyKind::BurdenOffice, None),
            body(2, "3501", BodyKind::BurdenOffice, None),
            // No office at county 350102.
            body(10, "3501", BodyKind::Department, None),
            body(11, "3501", BodyKind::Division, Some(10)),
            body(20, "350102", BodyKind::Department, None),
        ];
        Org(bodies.into_iter().map(|b| (b.id, b)).collect())
    }

    fn ids(v: &[u128]) -> Vec<Uuid> {
        v.iter().map(|&i| Uuid::from_u128(i)).collect()
    }

    #[test]
    fn chains() {
        let o = org();
        let scope = UnitCode::parse("350102").unwrap();
        let u = |i| Some(Uuid::from_u128(i));
        assert_eq!(escalation_chain(u(11), &scope, &o), ids(&[10, 2, 1]));
        assert_eq!(escalation_chain(u(10), &scope, &o), ids(&[2, 1]));
        assert_eq!(escalation_chain(u(2), &scope, &o), ids(&[1]));
        assert_eq!(escalation_chain(u(1), &scope, &o), ids(&[]));
        // County department, county without an office: straight to the city's office.
        assert_eq!(escalation_chain(u(20), &scope, &o), ids(&[2, 1]));
        // Unaddressed in a county scope: the office above the scope.
        assert_eq!(escalation_chain(None, &scope, &o), ids(&[2, 1]));
        // An unknown body is treated like an unaddressed report.
        assert_eq!(escalation_chain(u(99), &scope, &o), ids(&[2, 1]));
    }

    #[test]
    fn targets_follow_the_level() {
        let o = org();
        let mut r =
            crate::machine::tests::sample(chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap());
        r.addressed = Some(Uuid::from_u128(11));
        assert!(escalation_targets(&r, &o).is_empty());
        r.escalation = 2;
        assert_eq!(escalation_targets(&r, &o), ids(&[10, 2]));
        r.escalation = 9;
        assert_eq!(escalation_targets(&r, &o), ids(&[10, 2, 1]));
    }
}
