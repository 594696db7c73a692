//! Upper-level bodies (上级部门) and their divisions (处室/科室).
//!
//! A body sits at a unit (a provincial department sits at the province). A division is
//! a child body of exactly one department, and divisions have no children of their own,
//! so "same parent department" is the equality of [`Body::department`].

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{FieldError, Invalid};
use crate::unit::UnitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// 党委 (Party committee of the unit).
    PartyCommittee,
    /// 人民政府 (people's government of the unit).
    Government,
    /// 部门 (a department, bureau or office of the Party committee or government).
    Department,
    /// 处室/科室 (a division inside a department).
    Division,
    /// 议事协调机构 (a coordination body, e.g. a leading group's office).
    CoordinationBody,
    /// 减负办 (the office for reducing the grassroots' burden at this unit).
    BurdenOffice,
}

impl BodyKind {
    pub const ALL: [BodyKind; 6] = [
        BodyKind::PartyCommittee,
        BodyKind::Government,
        BodyKind::Department,
        BodyKind::Division,
        BodyKind::CoordinationBody,
        BodyKind::BurdenOffice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::PartyCommittee => "party_committee",
            BodyKind::Government => "government",
            BodyKind::Department => "department",
            BodyKind::Division => "division",
            BodyKind::CoordinationBody => "coordination_body",
            BodyKind::BurdenOffice => "burden_office",
        }
    }

    pub fn parse(s: &str) -> Option<BodyKind> {
        BodyKind::ALL.into_iter().find(|k| k.as_str() == s || k.zh() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            BodyKind::PartyCommittee => "党委",
            BodyKind::Government => "政府",
            BodyKind::Department => "部门",
            BodyKind::Division => "处室",
            BodyKind::CoordinationBody => "议事协调机构",
            BodyKind::BurdenOffice => "减负办",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            BodyKind::PartyCommittee => "Party committee",
            BodyKind::Government => "government",
            BodyKind::Department => "department",
            BodyKind::Division => "division",
            BodyKind::CoordinationBody => "coordination body",
            BodyKind::BurdenOffice => "burden-reduction office",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Body {
    pub id: Uuid,
    /// The unit the body belongs to (a provincial department: the province).
    pub unit: UnitCode,
    pub name: String,
    pub kind: BodyKind,
    /// The department a division belongs to; `None` for every other kind.
    pub parent: Option<Uuid>,
}

impl Body {
    pub fn province(&self) -> &str {
        self.unit.province()
    }

    /// The department this body belongs to: its parent for a division, itself otherwise.
    pub fn department(&self) -> Uuid {
        self.parent.unwrap_or(self.id)
    }

    /// Checks the body alone and, where it is a division, against its parent.
    pub fn validate(&self, parent: Option<&Body>) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            errors.push(FieldError::new(
                "name",
                "名称不能为空，且不超过 100 个字",
                "name must be 1 to 100 characters",
            ));
        }
        match (self.kind, self.parent, parent) {
            (BodyKind::Division, None, _) => errors.push(FieldError::new(
                "parent",
                "处室必须属于一个部门",
                "a division must belong to a department",
            )),
            (BodyKind::Division, Some(_), Some(p)) => {
                if p.kind == BodyKind::Division {
                    errors.push(FieldError::new(
                        "parent",
                        "处室的上级不能是处室",
                        "a division's parent must not be a division",
                    ));
                }
                if p.unit != self.unit {
                    errors.push(FieldError::new(
                        "unit",
                        "处室与其所属部门应在同一单位",
                        "a division must sit at the same unit as its department",
                    ));
                }
            }
            (BodyKind::Division, Some(_), None) => errors.push(FieldError::new(
                "parent",
                "所属部门不存在",
                "the parent department does not exist",
            )),
            (_, Some(_), _) => errors.push(FieldError::new(
                "parent",
                "只有处室可以有上级部门",
                "only a division has a parent department",
            )),
            (_, None, _) => {}
        }
        Invalid::check(errors)
    }
}
