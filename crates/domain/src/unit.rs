//! Administrative units (行政区划) and their official codes.
//!
//! Codes follow the National Bureau of Statistics' 统计用区划代码 as published in the
//! `china-division` package: 2 digits for a province, 4 for a prefecture, 6 for a county,
//! 9 for a township and 12 for a village or community. A unit's code is therefore a
//! prefix of the code of every unit below it, which the store uses for descendant queries
//! (a code range instead of a recursive walk).

use serde::{Deserialize, Serialize};

use crate::error::Invalid;

/// The five levels of the hierarchy, top down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Province = 1,
    Prefecture = 2,
    County = 3,
    Township = 4,
    Village = 5,
}

impl Level {
    pub const ALL: [Level; 5] =
        [Level::Province, Level::Prefecture, Level::County, Level::Township, Level::Village];

    /// The length of a code at this level.
    pub fn code_len(self) -> usize {
        match self {
            Level::Province => 2,
            Level::Prefecture => 4,
            Level::County => 6,
            Level::Township => 9,
            Level::Village => 12,
        }
    }

    pub fn from_code_len(len: usize) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.code_len() == len)
    }

    pub fn number(self) -> u8 {
        self as u8
    }

    pub fn from_number(n: u8) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.number() == n)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Prefecture => "prefecture",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s || l.zh() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            Level::Province => "省级",
            Level::Prefecture => "市级",
            Level::County => "县级",
            Level::Township => "乡镇级",
            Level::Village => "村（社区）级",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Prefecture => "prefecture",
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village/community",
        }
    }

    /// The default estimate of cadres working at one unit of this level, used where the
    /// real figure is unknown. Rough national orders of magnitude (a village committee has
    /// about five to seven members; a township about sixty staff); editable per unit.
    pub fn default_cadres(self) -> u32 {
        match self {
            Level::Province => 12_000,
            Level::Prefecture => 4_000,
            Level::County => 1_200,
            Level::Township => 60,
            Level::Village => 6,
        }
    }

    /// The level one step down, if any.
    pub fn below(self) -> Option<Level> {
        Level::from_number(self.number() + 1)
    }
}

/// An official division code, validated: ASCII digits of length 2, 4, 6, 9 or 12.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(try_from = "String", into = "String")]
pub struct UnitCode(String);

impl UnitCode {
    pub fn parse(s: &str) -> Result<UnitCode, Invalid> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Invalid::one(
                "code",
                format!("区划代码“{s}”应只含数字"),
                format!("division code '{s}' must be digits only"),
            ));
        }
        if Level::from_code_len(s.len()).is_none() {
            return Err(Invalid::one(
                "code",
                format!("区划代码“{s}”长度应为 2、4、6、9 或 12 位"),
                format!("division code '{s}' must have 2, 4, 6, 9 or 12 digits"),
            ));
        }
        Ok(UnitCode(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn level(&self) -> Level {
        Level::from_code_len(self.0.len()).expect("validated on construction")
    }

    /// The two-digit province code: the distribution key of every growing table.
    pub fn province(&self) -> &str {
        &self.0[..2]
    }

    pub fn parent(&self) -> Option<UnitCode> {
        let level = self.level();
        let up = Level::from_number(level.number().checked_sub(1)?)?;
        Some(UnitCode(self.0[..up.code_len()].to_owned()))
    }

    /// This unit and every ancestor, top down.
    pub fn lineage(&self) -> Vec<UnitCode> {
        Level::ALL
            .into_iter()
            .filter(|l| l.code_len() <= self.0.len())
            .map(|l| UnitCode(self.0[..l.code_len()].to_owned()))
            .collect()
    }

    /// True when `other` is this unit or lies below it.
    pub fn contains(&self, other: &UnitCode) -> bool {
        other.0.starts_with(&self.0)
    }

    /// The half-open range `[low, high)` of codes of this unit and all its descendants.
    pub fn descendant_range(&self) -> (String, String) {
        let mut high = self.0.clone().into_bytes();
        // Codes are ASCII digits; the byte after the last digit bounds every extension.
        *high.last_mut().expect("non-empty") += 1;
        (self.0.clone(), String::from_utf8(high).expect("ascii"))
    }
}

impl TryFrom<String> for UnitCode {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        UnitCode::parse(&s)
    }
}

impl From<UnitCode> for String {
    fn from(c: UnitCode) -> String {
        c.0
    }
}

impl std::fmt::Display for UnitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One administrative unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unit {
    pub code: UnitCode,
    pub name: String,
    /// Cadres working at this unit.
    pub cadres: u32,
    /// True while `cadres` is the level's default estimate rather than a reported figure.
    pub cadres_estimated: bool,
}

impl Unit {
    /// A unit with the level's estimated cadre count.
    pub fn new(code: UnitCode, name: impl Into<String>) -> Unit {
        let cadres = code.level().default_cadres();
        Unit { code, name: name.into(), cadres, cadres_estimated: true }
    }

    pub fn level(&self) -> Level {
        self.code.level()
    }

    pub fn parent(&self) -> Option<UnitCode> {
        self.code.parent()
    }

    pub fn province(&self) -> &str {
        self.code.province()
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        let name = self.name.trim();
        if name.is_empty() {
            errors.push(crate::FieldError::new("name", "名称不能为空", "name must not be empty"));
        } else if name.chars().count() > 100 {
            errors.push(crate::FieldError::new(
                "name",
                "名称不能超过 100 个字",
                "name must be at most 100 characters",
            ));
        }
        Invalid::check(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_levels_and_parents() {
        let v = UnitCode::parse("350102001001").unwrap();
        assert_eq!(v.level(), Level::Village);
        assert_eq!(v.province(), "35");
        assert_eq!(v.parent().unwrap().as_str(), "350102001");
        let lineage: Vec<String> = v.lineage().into_iter().map(String::from).collect();
        assert_eq!(lineage, ["35", "3501", "350102", "350102001", "350102001001"]);
        assert!(UnitCode::parse("35").unwrap().parent().is_none());
        assert!(UnitCode::parse("3501").unwrap().contains(&v));
        assert!(!UnitCode::parse("3502").unwrap().contains(&v));
    }

    #[test]
    fn bad_codes_are_refused_with_a_reason() {
        assert!(UnitCode::parse("3").unwrap_err().0[0].en.contains("2, 4, 6, 9 or 12"));
        assert!(UnitCode::parse("35a1").unwrap_err().0[0].en.contains("digits only"));
        assert!(UnitCode::parse("").is_err());
    }

    #[test]
    fn descendant_range_bounds_exactly_the_subtree() {
        let c = UnitCode::parse("3509").unwrap();
        let (lo, hi) = c.descendant_range();
        for inside in ["3509", "350901", "350999999999"] {
            assert!(lo.as_str() <= inside && inside < hi.as_str(), "{inside}");
        }
        for outside in ["3508", "351", "3510", "35"] {
            assert!(!(lo.as_str() <= outside && outside < hi.as_str()), "{outside}");
        }
    }
}
