//! Rule families and their typed parameters.
//!
//! Every family declares its parameters once, in the `families!` table below: name, type,
//! whether it is required, and a one-line meaning. The same table generates the typed
//! parameter struct (what the engine reads), the [`ParamSpec`] list (what the loader checks
//! a rule file against, so that errors can name the parameter and its line) and the
//! [`Params`] enum tying a rule to its family.

use serde::{Deserialize, Serialize};
use tongxin_domain::{DemandKind, Level};

/// The type of one parameter, as the loader checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    /// A non-negative integer.
    UInt,
    /// A number (an integer is accepted too).
    Number,
    /// A number between 0 and 1 inclusive.
    Fraction,
    Bool,
    /// A non-empty list of non-empty strings.
    StrList,
    /// `week`, `month`, `quarter` or `year`.
    Period,
    /// A list of demand kinds (`meeting`, `inspection`, …).
    Kinds,
    /// A list of hierarchy levels (`province` … `village`).
    Levels,
    /// A list of demand flags ([`Practice`]).
    Practices,
    /// `department` or `system`.
    Scope,
}

impl ParamType {
    /// How the type is named in error messages.
    pub fn describe(self) -> &'static str {
        match self {
            ParamType::UInt => "a non-negative integer",
            ParamType::Number => "a number",
            ParamType::Fraction => "a number between 0 and 1",
            ParamType::Bool => "a boolean",
            ParamType::StrList => "a list of strings",
            ParamType::Period => "one of \"week\", \"month\", \"quarter\", \"year\"",
            ParamType::Kinds => "a list of demand kinds",
            ParamType::Levels => "a list of levels (province, prefecture, county, township, village)",
            ParamType::Practices => "a list of practices",
            ParamType::Scope => "one of \"department\", \"system\"",
        }
    }
}

/// One declared parameter of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub doc: &'static str,
}

/// A period over which counts and loads are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    pub const ALL: [(&'static str, Period); 4] = [
        ("week", Period::Week),
        ("month", Period::Month),
        ("quarter", Period::Quarter),
        ("year", Period::Year),
    ];
}

/// What an annual count is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The issuing department.
    Department,
    /// A system or field (系统/领域), as named by the source body.
    System,
}

/// Practices that a published rule forbids outright are flags on a demand.
pub use tongxin_domain::Flag as Practice;

fn is_true() -> bool {
    true
}

macro_rules! families {
    ($(
        $(#[$fdoc:meta])*
        $variant:ident = $code:literal, $params:ident {
            $( $(#[$attr:meta])* $field:ident : $fty:ty = $pty:ident, $req:literal, $pdoc:literal; )*
        }
    )*) => {
        /// A rule family: what kind of check a rule is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Family { $( $(#[$fdoc])* $variant, )* }

        impl Family {
            pub const ALL: &'static [Family] = &[ $( Family::$variant, )* ];

            /// The name used in rule files.
            pub fn as_str(self) -> &'static str {
                match self { $( Family::$variant => $code, )* }
            }

            pub fn parse(s: &str) -> Option<Family> {
                Family::ALL.iter().copied().find(|f| f.as_str() == s)
            }

            /// The declared parameters of this family.
            pub fn params(self) -> &'static [ParamSpec] {
                match self { $( Family::$variant => $params::SPEC, )* }
            }

            /// Builds the typed parameters from a table the loader has already checked
            /// against [`Family::params`].
            pub(crate) fn build(self, table: toml::Table) -> Result<Params, String> {
                let value = toml::Value::Table(table);
                match self {
                    $( Family::$variant => value.try_into().map(Params::$variant).map_err(|e| e.to_string()), )*
                }
            }
        }

        /// The typed parameters of a rule, one variant per family.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(untagged)]
        pub enum Params { $( $variant($params), )* }

        impl Params {
            pub fn family(&self) -> Family {
                match self { $( Params::$variant(_) => Family::$variant, )* }
            }
        }

        $(
            #[doc = concat!("Parameters of the `", $code, "` family.")]
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
            #[serde(deny_unknown_fields)]
            pub struct $params {
                $( #[doc = $pdoc] $(#[$attr])* pub $field: $fty, )*
            }

            impl $params {
                pub const SPEC: &'static [ParamSpec] = &[
                    $( ParamSpec { name: stringify!($field), ty: ParamType::$pty, required: $req, doc: $pdoc }, )*
                ];
            }
        )*
    };
}

families! {
    /// At most `max` demands per target unit per period (optionally per source body).
    Cap = "cap", CapParams {
        max: u32 = UInt, true, "most demands per target unit per period";
        period: Period = Period, true, "the counting period";
        #[serde(default)]
        per_source: bool = Bool, false, "count separately per source body (default false)";
        #[serde(default)]
        target_levels: Vec<Level> = Levels, false, "only count target units at these levels (default all)";
    }
    /// Demands from the same parent department to the same target in overlapping windows
    /// should be merged.
    Coordination = "coordination", CoordinationParams {
        merge_window_days: u32 = UInt, true, "days between two demands within which they count as overlapping";
        #[serde(default = "is_true")]
        same_parent_department: bool = Bool, false, "only merge demands under the same parent department (default true)";
    }
    /// A meeting requiring attendance more than `max_levels_down` levels below the convener.
    Cascade = "cascade", CascadeParams {
        max_levels_down: u32 = UInt, true, "deepest level below the convener that may be required to attend";
    }
    /// The same topic reaching the same cadre more than once in a window.
    Repetition = "repetition", RepetitionParams {
        similarity_threshold: f64 = Fraction, true, "topic similarity (Jaccard over character shingles) at or above which two topics are the same";
        window_days: u32 = UInt, true, "window in days";
        #[serde(default = "default_shingle")]
        shingle_chars: u32 = UInt, false, "characters per shingle (default 2)";
    }
    /// The same (normalised) field requested by at least `min_bodies` bodies (一表通).
    DuplicateData = "duplicate_data", DuplicateDataParams {
        min_bodies: u32 = UInt, true, "number of distinct bodies asking for one field that makes a finding";
        window_days: u32 = UInt, true, "window in days";
    }
    /// Too many assessment indicators per unit or per department, or new ones without retiring old.
    IndicatorInflation = "indicator_inflation", IndicatorInflationParams {
        max_per_unit: u32 = UInt, true, "most live indicators on one target unit";
        max_per_department: u32 = UInt, true, "most live indicators set by one department";
        one_in_one_out: bool = Bool, true, "a new indicator must retire an old one";
    }
    /// Work-group person-days hosted by one unit per period.
    HostingLoad = "hosting_load", HostingLoadParams {
        max_person_days: f64 = Number, true, "most host person-days per unit per period";
        period: Period = Period, true, "the counting period";
    }
    /// A research visit that demands forms, reports or scoring is an inspection in disguise.
    DisguisedInspection = "disguised_inspection", DisguisedInspectionParams {
        visit_kinds: Vec<DemandKind> = Kinds, true, "kinds treated as visits";
        #[serde(default = "is_true")]
        forms_count: bool = Bool, false, "demanding forms makes a visit an inspection (default true)";
        #[serde(default = "is_true")]
        reports_count: bool = Bool, false, "demanding reports or materials makes a visit an inspection (default true)";
    }
    /// Visitors routinely demanding forms or the principal leader's attendance.
    VisitDemands = "visit_demands", VisitDemandsParams {
        visit_kinds: Vec<DemandKind> = Kinds, true, "kinds treated as visits";
        forbid_principal_attendance: bool = Bool, true, "flag a visit that requires the principal leader";
        max_forms: u32 = UInt, true, "most forms a visit may request before it is flagged";
    }
    /// An inspection / assessment not in the filed annual plan.
    PlanCompliance = "plan_compliance", PlanComplianceParams {
        #[serde(default)]
        exempt_topics: Vec<String> = StrList, false, "topic keywords exempt from the plan (e.g. work safety, disasters)";
    }
    /// At most `max` items of one category per department or system per year.
    AnnualCount = "annual_count", AnnualCountParams {
        max: u32 = UInt, true, "most items per year";
        per: Scope = Scope, true, "grouped per department or per system";
        category: Vec<String> = StrList, true, "which items count (e.g. comprehensive)";
    }
    /// Document length caps in characters (字).
    DocumentLength = "document_length", DocumentLengthParams {
        general_max: u32 = UInt, true, "cap for general documents";
        specific_task_max: u32 = UInt, true, "cap for specific-task documents";
        #[serde(default)]
        exempt_categories: Vec<String> = StrList, false, "document categories exempt from the cap";
    }
    /// A body's yearly document count compared with the previous year.
    DocumentVolume = "document_volume", DocumentVolumeParams {
        max_increase: u32 = UInt, true, "documents above last year's count allowed without a written explanation";
        #[serde(default)]
        count_memos: bool = Bool, false, "count memos, white-head and bundled documents in the total";
    }
    /// Forbidden wording in a demand's text (title, content or indicator).
    ForbiddenTerms = "forbidden_terms", ForbiddenTermsParams {
        terms: Vec<String> = StrList, true, "terms whose presence is a finding";
        in_kinds: Vec<DemandKind> = Kinds, true, "kinds whose text is scanned";
    }
    /// Practices a demand may not require (flags on the demand).
    ForbiddenPractice = "forbidden_practice", ForbiddenPracticeParams {
        practices: Vec<Practice> = Practices, true, "the forbidden practices";
        in_kinds: Vec<DemandKind> = Kinds, true, "kinds the rule looks at";
        #[serde(default)]
        exempt_topics: Vec<String> = StrList, false, "topic keywords exempt (e.g. security, emergency)";
    }
    /// Meeting duration caps.
    MeetingDuration = "meeting_duration", MeetingDurationParams {
        principal_speech_max_minutes: u32 = UInt, true, "principal leader's speech or main report";
        group_discussion_max_days: f64 = Number, true, "meetings with group discussion";
        other_max_days: f64 = Number, true, "all other meetings";
    }
    /// Layer-by-layer escort attendance (层层陪会).
    EscortAttendance = "escort_attendance", EscortAttendanceParams {
        max_accompanying_levels: u32 = UInt, true, "levels that may attend beside the one the meeting concerns";
        deputy_convener_bars_principals: bool = Bool, true, "a meeting convened by a deputy does not require principal heads";
    }
    /// Work already deployed by document deployed again by meeting.
    Redeployment = "redeployment", RedeploymentParams {
        similarity_threshold: f64 = Fraction, true, "topic similarity at or above which a meeting repeats a document";
        window_days: u32 = UInt, true, "how far back documents are looked for";
    }
    /// Secondment (借调) from units at the given levels.
    SecondmentLevel = "secondment_level", SecondmentLevelParams {
        forbidden_source_levels: Vec<Level> = Levels, true, "levels cadres may not in principle be seconded from";
        #[serde(default)]
        evasion_terms: Vec<String> = StrList, false, "names used to disguise a secondment";
    }
    /// 达标 / creation-demonstration activities aimed at the given levels.
    DemonstrationTarget = "demonstration_target", DemonstrationTargetParams {
        forbidden_target_levels: Vec<Level> = Levels, true, "levels such activities may not target";
    }
}

fn default_shingle() -> u32 {
    2
}
