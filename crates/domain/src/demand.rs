//! Demands: every top-down requirement placed on grassroots units (the ledger entries).
//!
//! A demand is never deleted. It is cancelled or corrected, and every change is kept as a
//! revision by the store, so thirty visits cannot be made to vanish from the record.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{FieldError, Invalid};
use crate::flag::Flag;
use crate::unit::{Level, UnitCode};

/// The kinds of DESIGN.md §3.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DemandKind {
    /// 会议, including video meetings and the levels required to attend.
    Meeting,
    /// 督查检查考核.
    Inspection,
    /// 调研.
    ResearchVisit,
    /// 指导帮扶.
    GuidanceVisit,
    /// 工作组/服务队 stationed at the unit.
    WorkGroup,
    /// 文件 requiring action.
    Document,
    /// 填表报数.
    DataRequest,
    /// 政务APP/工作群 obligation.
    AppObligation,
    /// 考核指标.
    Indicator,
    /// 借调.
    Secondment,
    /// 挂牌/评比达标.
    Signboard,
}

impl DemandKind {
    pub const ALL: [DemandKind; 11] = [
        DemandKind::Meeting,
        DemandKind::Inspection,
        DemandKind::ResearchVisit,
        DemandKind::GuidanceVisit,
        DemandKind::WorkGroup,
        DemandKind::Document,
        DemandKind::DataRequest,
        DemandKind::AppObligation,
        DemandKind::Indicator,
        DemandKind::Secondment,
        DemandKind::Signboard,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DemandKind::Meeting => "meeting",
            DemandKind::Inspection => "inspection",
            DemandKind::ResearchVisit => "research_visit",
            DemandKind::GuidanceVisit => "guidance_visit",
            DemandKind::WorkGroup => "work_group",
            DemandKind::Document => "document",
            DemandKind::DataRequest => "data_request",
            DemandKind::AppObligation => "app_obligation",
            DemandKind::Indicator => "indicator",
            DemandKind::Secondment => "secondment",
            DemandKind::Signboard => "signboard",
        }
    }

    /// Accepts the code (`meeting`) or the Chinese name (`会议`).
    pub fn parse(s: &str) -> Option<DemandKind> {
        let s = s.trim();
        DemandKind::ALL.into_iter().find(|k| k.as_str() == s || k.zh() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            DemandKind::Meeting => "会议",
            DemandKind::Inspection => "督查检查考核",
            DemandKind::ResearchVisit => "调研",
            DemandKind::GuidanceVisit => "指导帮扶",
            DemandKind::WorkGroup => "工作组",
            DemandKind::Document => "文件",
            DemandKind::DataRequest => "填表报数",
            DemandKind::AppObligation => "政务APP/工作群",
            DemandKind::Indicator => "考核指标",
            DemandKind::Secondment => "借调",
            DemandKind::Signboard => "挂牌/评比达标",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            DemandKind::Meeting => "meeting",
            DemandKind::Inspection => "inspection / assessment",
            DemandKind::ResearchVisit => "research visit",
            DemandKind::GuidanceVisit => "guidance visit",
            DemandKind::WorkGroup => "stationed work group",
            DemandKind::Document => "document",
            DemandKind::DataRequest => "data request",
            DemandKind::AppObligation => "app / work-group obligation",
            DemandKind::Indicator => "assessment indicator",
            DemandKind::Secondment => "secondment",
            DemandKind::Signboard => "signboard / ranking",
        }
    }

    /// Kinds where people from the source body come to the unit.
    pub fn is_visit(self) -> bool {
        matches!(
            self,
            DemandKind::Inspection
                | DemandKind::ResearchVisit
                | DemandKind::GuidanceVisit
                | DemandKind::WorkGroup
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DemandStatus {
    Planned,
    Held,
    Cancelled,
}

impl DemandStatus {
    pub const ALL: [DemandStatus; 3] = [DemandStatus::Planned, DemandStatus::Held, DemandStatus::Cancelled];

    pub fn as_str(self) -> &'static str {
        match self {
            DemandStatus::Planned => "planned",
            DemandStatus::Held => "held",
            DemandStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<DemandStatus> {
        let s = s.trim();
        DemandStatus::ALL.into_iter().find(|k| k.as_str() == s || k.zh() == s)
    }

    pub fn zh(self) -> &'static str {
        match self {
            DemandStatus::Planned => "计划",
            DemandStatus::Held => "已开展",
            DemandStatus::Cancelled => "已取消",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            DemandStatus::Planned => "planned",
            DemandStatus::Held => "held",
            DemandStatus::Cancelled => "cancelled",
        }
    }
}

/// Who put the demand in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DemandOrigin {
    /// Registered by the source body, normally before it happens.
    Registered,
    /// Recorded by a receiving unit (the visit nobody registered); the source body
    /// confirms or disputes it.
    Reported,
}

impl DemandOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            DemandOrigin::Registered => "registered",
            DemandOrigin::Reported => "reported",
        }
    }

    pub fn parse(s: &str) -> Option<DemandOrigin> {
        [DemandOrigin::Registered, DemandOrigin::Reported].into_iter().find(|o| o.as_str() == s)
    }
}

/// The cost model of a demand, per target unit. Which fields matter depends on the kind;
/// the others stay zero or empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Cost {
    /// Cadre-hours the demand takes at each target unit (attending, hosting, filling in).
    pub cadre_hours: f64,
    /// Cadres of each target unit that must take part.
    pub cadres_required: u32,
    /// Person-days of hosting (reception, escort, reporting) at each target unit.
    pub host_person_days: f64,
    /// People in the visiting team or stationed work group.
    pub visitors: u32,
    /// Forms to fill in (data requests, and forms demanded during visits).
    pub forms: u32,
    /// The data fields requested, as named by the requester.
    pub fields: Vec<String>,
    /// Meetings: the levels required to attend, below the target unit included.
    pub attend_levels: Vec<Level>,
    /// Meetings: held by video (视频会议).
    pub video: bool,
    /// Assessment indicators placed on each target unit.
    pub indicators: u32,
    /// Documents: length in characters.
    pub doc_chars: u32,
    /// Meetings: minutes of the principal leader's speech or main report.
    pub speech_minutes: u32,
    /// What the demand is and what it requires beyond its costs (see [`Flag`]).
    pub flags: Vec<Flag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Demand {
    pub id: Uuid,
    pub kind: DemandKind,
    /// The body that places the demand (a department or one of its divisions).
    pub source_body: Uuid,
    /// The department of the source body, kept with the demand so that "same parent
    /// department" needs no join. Set by the store from the body, never by the caller.
    pub source_department: Uuid,
    pub title: String,
    /// The matter it concerns (e.g. 高标准农田建设), for grouping and repetition checks.
    pub topic: String,
    pub targets: Vec<UnitCode>,
    /// Local time in China (UTC+8), no zone stored.
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub status: DemandStatus,
    pub origin: DemandOrigin,
    pub cost: Cost,
    /// Starts at 1; every stored change adds one.
    pub revision: u32,
}

/// Maximum targets on one demand; a province-wide demand targets the province and lets
/// the cascade levels say who attends.
pub const MAX_TARGETS: usize = 2_000;

/// The years a demand may fall in: wide enough for any real ledger, narrow enough that
/// every backend stores and compares the times the same way.
pub const MIN_YEAR: i32 = 1900;
pub const MAX_YEAR: i32 = 2999;

/// Control characters (NUL, escapes, …) have no place in a title or a field name, and
/// PostgreSQL refuses NUL in text.
pub fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

impl Demand {
    /// The province of the targets: the distribution key of the demand's rows.
    pub fn province(&self) -> &str {
        self.targets.first().map(|t| t.province()).unwrap_or("")
    }

    /// Checks everything that does not need the store: text lengths, dates, targets and
    /// the cost fields the kind requires.
    pub fn validate(&self) -> Result<(), Invalid> {
        let mut e = Vec::new();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            e.push(FieldError::new("title", "标题须为 1–200 个字", "title must be 1 to 200 characters"));
        }
        if self.topic.chars().count() > 100 {
            e.push(FieldError::new("topic", "事项不能超过 100 个字", "topic must be at most 100 characters"));
        }
        for (field, text) in [("title", &self.title), ("topic", &self.topic)] {
            if has_control(text) {
                e.push(FieldError::new(field, "不能含控制字符", "must not contain control characters"));
            }
        }
        for (field, t) in [("starts_at", self.starts_at), ("ends_at", self.ends_at)] {
            if !(MIN_YEAR..=MAX_YEAR).contains(&chrono::Datelike::year(&t)) {
                e.push(FieldError::new(
                    field,
                    format!("年份须在 {MIN_YEAR}–{MAX_YEAR} 之间"),
                    format!("the year must be {MIN_YEAR} to {MAX_YEAR}"),
                ));
            }
        }
        if self.ends_at < self.starts_at {
            e.push(FieldError::new(
                "ends_at",
                "结束时间不能早于开始时间",
                "ends_at must not be before starts_at",
            ));
        }
        if self.targets.is_empty() {
            e.push(FieldError::new(
                "targets",
                "至少需要一个对象单位",
                "at least one target unit is required",
            ));
        }
        if self.targets.len() > MAX_TARGETS {
            e.push(FieldError::new(
                "targets",
                format!("对象单位不能超过 {MAX_TARGETS} 个"),
                format!("at most {MAX_TARGETS} target units"),
            ));
        }
        if let Some(first) = self.targets.first().filter(|_| self.targets.len() <= MAX_TARGETS) {
            let mut seen = std::collections::HashSet::with_capacity(self.targets.len());
            for (i, t) in self.targets.iter().enumerate() {
                if t.province() != first.province() {
                    e.push(FieldError::new(
                        format!("targets[{i}]"),
                        "所有对象单位须在同一省份内",
                        "all target units must be in one province",
                    ));
                }
                if !seen.insert(t) {
                    e.push(FieldError::new(
                        format!("targets[{i}]"),
                        format!("对象单位 {t} 重复"),
                        format!("target unit {t} is listed twice"),
                    ));
                }
            }
        }
        let c = &self.cost;
        for (field, v) in [("cost.cadre_hours", c.cadre_hours), ("cost.host_person_days", c.host_person_days)]
        {
            if !v.is_finite() || !(0.0..=1.0e6).contains(&v) {
                e.push(FieldError::new(
                    field,
                    "须为 0 到 1000000 之间的数",
                    "must be a number from 0 to 1,000,000",
                ));
            }
        }
        if c.fields.len() > 1000 {
            e.push(FieldError::new("cost.fields", "最多 1000 个字段", "at most 1,000 fields"));
        }
        for (i, f) in c.fields.iter().enumerate().take(1000) {
            if f.trim().is_empty() || f.chars().count() > 100 || has_control(f) {
                e.push(FieldError::new(
                    format!("cost.fields[{i}]"),
                    "字段名须为 1–100 个字，且不含控制字符",
                    "a field name must be 1 to 100 characters without control characters",
                ));
            }
        }
        if c.speech_minutes > 24 * 60 {
            e.push(FieldError::new(
                "cost.speech_minutes",
                "讲话时长不能超过 1440 分钟",
                "speech_minutes must be at most 1,440",
            ));
        }
        for (i, f) in c.flags.iter().enumerate() {
            if c.flags[..i].contains(f) {
                e.push(FieldError::new(
                    format!("cost.flags[{i}]"),
                    format!("标记“{}”重复", f.zh()),
                    format!("flag {} is listed twice", f.as_str()),
                ));
            }
        }
        match self.kind {
            DemandKind::Meeting if c.attend_levels.is_empty() => e.push(FieldError::new(
                "cost.attend_levels",
                "会议须注明要求参会的层级",
                "a meeting must name the levels required to attend",
            )),
            DemandKind::DataRequest if c.forms == 0 && c.fields.is_empty() => e.push(FieldError::new(
                "cost.fields",
                "填表报数须注明表格数或字段",
                "a data request must give its forms or fields",
            )),
            DemandKind::WorkGroup if c.visitors == 0 => e.push(FieldError::new(
                "cost.visitors",
                "工作组须注明人数",
                "a work group must give its number of members",
            )),
            DemandKind::Indicator if c.indicators == 0 => e.push(FieldError::new(
                "cost.indicators",
                "考核指标须注明指标数",
                "an indicator demand must give the number of indicators",
            )),
            _ => {}
        }
        if self.kind == DemandKind::Meeting
            && let Some(top) = self.targets.iter().map(|t| t.level()).min()
            && c.attend_levels.iter().any(|l| *l < top)
        {
            e.push(FieldError::new(
                "cost.attend_levels",
                "参会层级不能高于对象单位的层级",
                "attendance levels cannot be above the target units' level",
            ));
        }
        Invalid::check(e)
    }

    /// The number of levels below the highest target that must attend (0 when only the
    /// targets themselves attend).
    pub fn cascade_depth(&self) -> u8 {
        let top = self.targets.iter().map(|t| t.level().number()).min().unwrap_or(0);
        self.cost.attend_levels.iter().map(|l| l.number().saturating_sub(top)).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    fn meeting() -> Demand {
        Demand {
            id: crate::new_id(),
            kind: DemandKind::Meeting,
            source_body: crate::new_id(),
            source_department: crate::new_id(),
            title: "全省春季农业生产视频调度会".into(),
            topic: "春季农业生产".into(),
            targets: vec![UnitCode::parse("3501").unwrap()],
            starts_at: at(2, 9),
            ends_at: at(2, 11),
            status: DemandStatus::Planned,
            origin: DemandOrigin::Registered,
            cost: Cost {
                attend_levels: vec![Level::Prefecture, Level::County, Level::Township, Level::Village],
                video: true,
                cadre_hours: 2.0,
                ..Cost::default()
            },
            revision: 1,
        }
    }

    #[test]
    fn a_cascading_meeting_is_valid_and_reaches_three_levels_down() {
        let m = meeting();
        m.validate().unwrap();
        assert_eq!(m.cascade_depth(), 3);
    }

    #[test]
    fn every_problem_is_named_by_field() {
        let mut m = meeting();
        m.title = " ".into();
        m.ends_at = at(1, 9);
        m.cost.attend_levels.clear();
        m.targets.push(UnitCode::parse("3601").unwrap());
        m.cost.cadre_hours = f64::NAN;
        let fields: Vec<String> = m.validate().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["title", "ends_at", "targets[1]", "cost.cadre_hours", "cost.attend_levels"]);
    }

    #[test]
    fn kinds_parse_from_code_and_chinese() {
        for k in DemandKind::ALL {
            assert_eq!(DemandKind::parse(k.as_str()), Some(k));
            assert_eq!(DemandKind::parse(k.zh()), Some(k));
        }
        assert_eq!(DemandKind::parse("party"), None);
    }
}
