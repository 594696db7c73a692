//! Who may see and do what: least privilege by role and unit scope.
//!
//! - Every signed-in account may browse units and bodies (public administrative facts).
//! - A demand is visible to an account whose scope lies on the same branch as one of its
//!   targets (the unit itself, above it, or below it), and to the staff of its source body.
//! - Body staff register demands (origin `registered`) for their own body (a department's
//!   staff also for its divisions), aimed at units inside their scope, and change or cancel
//!   those registered demands. A demand a receiving unit recorded (origin `reported`) is
//!   the unit's record, not the body's: the body cannot rewrite or cancel it away.
//! - Cadres record demands that arrived at units inside their scope (origin `reported`);
//!   they change nothing afterwards.
//! - Burden-reduction offices and administrators act on anything inside their scope.
//! - A demand the account may not see does not exist for it (404, not 403).

use tongxin_domain::{Body, Demand, DemandOrigin, Role, UnitCode, User};

use crate::error::AppError;

pub fn can_see_demand(user: &User, demand: &Demand) -> bool {
    demand.targets.iter().any(|t| user.scope.contains(t) || t.contains(&user.scope))
        || user.body.is_some_and(|b| b == demand.source_body || b == demand.source_department)
}

/// May `user` list demands at `unit` (and below)?
pub fn can_list_unit(user: &User, unit: &UnitCode) -> bool {
    user.scope.contains(unit)
}

/// Checks that `user` may register `demand` coming from `source`.
pub fn check_register(user: &User, demand: &Demand, source: &Body) -> Result<(), AppError> {
    let targets_in_scope = demand.targets.iter().all(|t| user.scope.contains(t));
    let ok = match user.role {
        Role::BodyStaff => {
            targets_in_scope
                && demand.origin == DemandOrigin::Registered
                && user.body.is_some_and(|b| b == source.id || Some(b) == source.parent)
        }
        Role::Cadre => targets_in_scope && demand.origin == DemandOrigin::Reported,
        Role::Office | Role::Admin => targets_in_scope,
    };
    if ok { Ok(()) } else { Err(AppError::forbidden()) }
}

/// Checks that `user` may change or cancel `demand`.
pub fn check_change(user: &User, demand: &Demand) -> Result<(), AppError> {
    let ok = match user.role {
        Role::BodyStaff => {
            demand.origin == DemandOrigin::Registered
                && user.body.is_some_and(|b| b == demand.source_body || b == demand.source_department)
        }
        Role::Cadre => false,
        Role::Office | Role::Admin => demand.targets.iter().all(|t| user.scope.contains(t)),
    };
    if ok { Ok(()) } else { Err(AppError::forbidden()) }
}

/// What a viewer may see of who changed a demand. A demand recorded by a receiving unit
/// names the cadre who recorded it only to that cadre and to burden-reduction offices
/// and administrators: the source body learns which unit reported it, not which person
/// (DESIGN.md §1, "言多必失").
pub fn redact_history(user: &User, history: &mut [tongxin_store::DemandRevision]) {
    if matches!(user.role, Role::Office | Role::Admin) {
        return;
    }
    for r in history.iter_mut() {
        if r.demand.origin == DemandOrigin::Reported && r.actor != user.username {
            r.actor = REDACTED_ACTOR.to_owned();
        }
    }
}

/// Shown instead of the username of a cadre who recorded a demand.
pub const REDACTED_ACTOR: &str = "基层单位 / receiving unit";
