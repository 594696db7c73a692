//! The demo's directives (issue 6), on the scenario county: three directives in force
//! (issued) and the road example of DESIGN.md §1 as a draft, whose survey of the
//! villages collides with the flood-season ban on household visits.
//!
//! Only text here: each directive is the TOML document `tongxin directive check` reads,
//! with the issuing body and author it belongs to; the caller stores them (checked) in
//! order, the active ones first.

use chrono::{Days, Months, NaiveDate};
use uuid::Uuid;

use crate::bodies::Bodies;
use crate::geo::{Geo, Stage};

/// One demo directive.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoDirective {
    /// The issuing body.
    pub body: Uuid,
    /// The username of the account that drafts it (a staff account of the body).
    pub author: String,
    /// `issued` or `draft`.
    pub status: &'static str,
    /// The directive as TOML.
    pub toml: String,
}

pub(crate) fn build(geo: &Geo<'_>, stage: &Stage, bodies: &Bodies, today: NaiveDate) -> Vec<DemoDirective> {
    let county = geo.counties[stage.county];
    let township = geo.townships[stage.township];
    let village = geo.villages[stage.village];
    let body = |key: &str| bodies.province.dept(key).map(|d| bodies.all[d.body].id);
    let since = today - Days::new(20);
    let issue = today + Days::new(7);
    let mut out = Vec::new();

    if let Some(b) = body("emergency") {
        out.push(DemoDirective {
            body: b,
            author: "staff.emergency".into(),
            status: "issued",
            toml: format!(
                r#"id = "flood-visits"
issuing_body = "应急管理厅"
title = "关于汛期暂停非必要入户走访的通知"
summary = "汛期内{county}各村（社区）暂停非必要入户走访，集中力量做好防汛值守。"
issued_on = {since}

[[task]]
id = "duty"
title = "汛期防汛值守"
template = "data_collection"
deadline = {until}
targets = {{ level = "village", under = "{county_code}" }}
resources = {{ cadre_hours = 40, visits = 1 }}
requirements = [{{ kind = "forbid", action = "household_visits" }}]
"#,
                county = county.name,
                county_code = county.code.as_str(),
                until = today + Months::new(4),
            ),
        });
    }
    if let Some(b) = body("agri") {
        out.push(DemoDirective {
            body: b,
            author: "staff.agri".into(),
            status: "issued",
            toml: format!(
                r#"id = "farmland-survey"
issuing_body = "农业农村厅"
title = "关于开展高标准农田建设情况摸底的通知"
summary = "各乡镇汇总辖区高标准农田建设和管护情况。"
issued_on = {since}

[[task]]
id = "farmland"
title = "高标准农田建设情况摸底"
template = "data_collection"
deadline = {deadline}
targets = {{ level = "township", under = "{county_code}" }}
resources = {{ cadre_hours = 24, visits = 1 }}
requirements = [{{ kind = "do_by", action = "farmland_report", by = {deadline} }}]
"#,
                county_code = county.code.as_str(),
                deadline = today + Days::new(40),
            ),
        });
    }
    if let Some(b) = body("rural") {
        out.push(DemoDirective {
            body: b,
            author: "staff.rural".into(),
            status: "issued",
            toml: format!(
                r#"id = "housing"
issuing_body = "乡村振兴局"
title = "关于推进农村危房改造的通知"
summary = "{village}年内完成危房改造。"
issued_on = {since}

[[task]]
id = "renovation"
title = "完成农村危房改造"
template = "rural_housing"
deadline = {deadline}
targets = {{ units = ["{village_code}"] }}
resources = {{ cadre_hours = 120, visits = 3, money_yuan = 600000 }}
"#,
                village = village.name,
                village_code = village.code.as_str(),
                deadline = since + Months::new(8),
            ),
        });
        // The road example: three months for a road through the township, and a survey
        // of the households along it.
        out.push(DemoDirective {
            body: b,
            author: "staff.rural".into(),
            status: "draft",
            toml: format!(
                r#"id = "road"
issuing_body = "乡村振兴局"
title = "关于三个月内建成{township}通村公路的通知"
summary = "限三个月内建成通车，并先摸排沿线农户情况。"
issued_on = {issue}

[[task]]
id = "road"
title = "建成{township}通村公路并通车"
template = "road"
deadline = {road_deadline}
targets = {{ units = ["{township_code}"] }}
resources = {{ cadre_hours = 600, visits = 8, money_yuan = 30000000, presumes = ["房屋征收决定权（县级人民政府）"] }}
requirements = [{{ kind = "do_by", action = "road_open", by = {road_deadline} }}]

[[task]]
id = "survey"
title = "摸排沿线农户情况"
template = "data_collection"
deadline = {survey_deadline}
targets = {{ level = "village", under = "{township_code}" }}
resources = {{ cadre_hours = 30, visits = 1 }}
requirements = [{{ kind = "do_by", action = "household_visits", by = {survey_deadline} }}]
"#,
                township = township.name,
                township_code = township.code.as_str(),
                road_deadline = issue + Months::new(3),
                survey_deadline = issue + Days::new(45),
            ),
        });
    }
    out
}
