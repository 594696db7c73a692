//! The six cases of DESIGN.md §1, staged as data on one real county, and the record of
//! which bodies, demands and units each involves, so tests (and a guided demo) can find
//! them:
//!
//! 1. three divisions of the provincial 农业农村厅 visit the county in the same week;
//! 2. the county receives 32 guidance visits on 农村人居环境整治提升 within two months;
//! 3. a 32-person work group is stationed in the county for about six months;
//! 4. a flood-season meeting cascades province → prefecture → county → township, so
//!    the township's cadres hear the same topic four times within ten days;
//! 5. five bodies ask the township's villages for the same field, 常住人口;
//! 6. the county carries 300+ assessment indicators from 25+ departments.
//!
//! and one clear case of each practice the burden-reduction rules forbid, all reaching the
//! same county (its township or villages), each breaking the one rule it is named for and
//! as few others as the case allows:
//!
//! - a research visit (调研) that demands three forms and a report: an inspection in
//!   disguise;
//! - an inspection outside the filed annual plan, and one on work safety (exempt);
//! - a document imposing a one-vote veto and a responsibility pledge;
//! - a provincial department with two comprehensive inspections in the year, another
//!   with two comprehensive work meetings;
//! - a two-day meeting without group discussion, a meeting with an 85-minute speech, and
//!   a meeting convened by a deputy that summons the townships' principal heads;
//! - a mini-program that forces daily clock-in and ranks points.

use chrono::{Days, NaiveDate};
use rand::Rng;
use rand::seq::SliceRandom;
use tongxin_domain::{Cost, DemandKind, Flag, Level, UnitCode};
use uuid::Uuid;

use crate::calendar::at;
use crate::catalog::scope_word;
use crate::geo::Stage;
use crate::ledger::{Draft, Gen, Tier, round1};
use crate::practice::meeting_hours;

/// Where the scenarios happen and what they consist of.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenarios {
    /// The scenario county's prefecture.
    pub prefecture: UnitCode,
    /// The county all six cases land on.
    pub county: UnitCode,
    /// The township of case 4 (the cadre who hears one topic four times) and case 5.
    pub township: UnitCode,
    /// A village of that township, asked for 常住人口 five times (case 5).
    pub village: UnitCode,
    pub three_divisions: ThreeDivisions,
    pub guidance_visits: GuidanceVisits,
    pub work_group: WorkGroup,
    pub cascade: Cascade,
    pub duplicate_field: DuplicateField,
    pub indicators: IndicatorLoad,
    /// A research visit to the county that demands forms and a report.
    pub disguised_inspection: DisguisedInspection,
    /// An inspection of the county outside the filed annual plan (no `in_annual_plan`),
    /// on a topic the plan does not exempt (农村生活垃圾治理), by a prefecture division.
    pub unplanned_inspection: Uuid,
    /// An inspection of the county outside the plan on work safety (安全生产大检查), which
    /// the plan rule exempts: `inspection.plan` must not fire on it.
    pub unplanned_safety_inspection: Uuid,
    /// A prefecture document to its counties (the county among them) flagged
    /// `one_vote_veto` and `responsibility_pledge`; 3,200 characters, general (neither
    /// specific-task nor comprehensive), so only the forbidden demands break a rule.
    pub veto_document: Uuid,
    /// A provincial department (生态环境厅) with two comprehensive inspections in the year,
    /// both in the plan and both reaching the county.
    pub comprehensive_inspections: AnnualExcess,
    /// A provincial department (卫生健康委员会) with two comprehensive work meetings in the
    /// year (January and July), both mornings with speeches of at most an hour.
    pub comprehensive_meetings: AnnualExcess,
    /// A prefecture meeting of two full days (9:00 the first day to 17:30 the second)
    /// without group discussion, for the counties' cadres (the county among them): over
    /// the half-day cap. Its speech is 45 minutes, it is not a video meeting, only county
    /// level attends, and it has no flags.
    pub overlong_meeting: Uuid,
    /// A county morning meeting (9:00–11:30) for the townships whose principal speech
    /// runs 85 minutes.
    pub long_speech_meeting: Uuid,
    /// A county meeting convened by a deputy (`deputy_convener`) that still summons the
    /// townships' principal heads (`principal_attendance`); a morning, 30-minute speech.
    pub deputy_meeting: Uuid,
    /// A county 组织部 mini-program on the township's villages forcing daily clock-in and
    /// ranking points (`forced_clock_in`, `points_ranking`).
    pub clock_in_app: Uuid,
}

/// A research visit (调研) that is an inspection in disguise: it demands forms and a
/// report (`reports_demanded`) of the scenario county, its only target.
#[derive(Debug, Clone, PartialEq)]
pub struct DisguisedInspection {
    pub demand: Uuid,
    /// The visiting body: 考核评估处 of the provincial 乡村振兴局.
    pub source: Uuid,
    /// Forms it demands (3).
    pub forms: u32,
}

/// One department over an annual count: more than one comprehensive item in the year.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnualExcess {
    /// The department (a provincial department body).
    pub department: Uuid,
    /// Its comprehensive items of the year, in date order (two).
    pub demands: Vec<Uuid>,
}

/// Case 1: three divisions of one provincial department, same county, same week.
#[derive(Debug, Clone, PartialEq)]
pub struct ThreeDivisions {
    /// The provincial department (农业农村厅).
    pub department: Uuid,
    /// Its three divisions, one per visit.
    pub divisions: Vec<Uuid>,
    /// The three visits (inspection, research, guidance), in date order.
    pub visits: Vec<Uuid>,
    /// The Monday of the week.
    pub week_of: NaiveDate,
}

/// Case 2: 30+ guidance visits on one matter within two months.
#[derive(Debug, Clone, PartialEq)]
pub struct GuidanceVisits {
    pub topic: String,
    pub visits: Vec<Uuid>,
    /// First and last day of the window (at most 60 days apart).
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Case 3: a stationed work group of 30+ people.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkGroup {
    pub demand: Uuid,
    pub visitors: u32,
}

/// Case 4: one topic, four meetings, top down.
#[derive(Debug, Clone, PartialEq)]
pub struct Cascade {
    pub topic: String,
    /// Province, prefecture, county and township meeting, in that order.
    pub meetings: Vec<Uuid>,
}

/// Case 5: one field requested by five bodies.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateField {
    /// The exact field name all five requests share.
    pub field: String,
    pub requests: Vec<Uuid>,
}

/// Case 6: the assessment indicators on the county.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorLoad {
    pub demands: Vec<Uuid>,
    /// Sum of `cost.indicators` over `demands`.
    pub indicators: u32,
    /// Distinct source departments of `demands`.
    pub departments: usize,
}

/// Provinces on the coast, whose flood season is also typhoon season.
const COASTAL: &[&str] = &["12", "13", "21", "31", "32", "33", "35", "37", "44", "45", "46"];

pub(crate) fn stage_all(g: &mut Gen, stage: &Stage) -> Scenarios {
    let geo = g.geo;
    let county = geo.counties[stage.county].code.clone();
    let three_divisions = three_divisions(g, &county);
    let guidance_visits = guidance_visits(g, stage, &county);
    let work_group = work_group(g, &county);
    let cascade = cascade(g, stage);
    let duplicate_field = duplicate_field(g, stage);
    let indicators = indicator_load(g, stage.county);
    let practices = practices(g, stage);
    Scenarios {
        prefecture: geo.prefectures[stage.prefecture].code.clone(),
        county,
        township: geo.townships[stage.township].code.clone(),
        village: geo.villages[stage.village].code.clone(),
        three_divisions,
        guidance_visits,
        work_group,
        cascade,
        duplicate_field,
        indicators,
        disguised_inspection: practices.disguised_inspection,
        unplanned_inspection: practices.unplanned_inspection,
        unplanned_safety_inspection: practices.unplanned_safety_inspection,
        veto_document: practices.veto_document,
        comprehensive_inspections: practices.comprehensive_inspections,
        comprehensive_meetings: practices.comprehensive_meetings,
        overlong_meeting: practices.overlong_meeting,
        long_speech_meeting: practices.long_speech_meeting,
        deputy_meeting: practices.deputy_meeting,
        clock_in_app: practices.clock_in_app,
    }
}

/// A department of the catalogue at a unit's bodies; the catalogue's core departments
/// exist everywhere, so this only fails on a programming error.
fn dept<'b>(ub: &'b crate::bodies::UnitBodies, key: &str) -> &'b crate::bodies::Dept {
    ub.dept(key).unwrap_or_else(|| &ub.depts[0])
}

fn three_divisions(g: &mut Gen, county: &UnitCode) -> ThreeDivisions {
    let agri = dept(&g.bodies.province, "agri");
    let (department, divs) = (agri.body, agri.divisions.clone());
    let monday = g.cal.on_or_after(g.cal.nth_monday(4, 3));
    let y = g.cal.year;
    // (division index, kind, title, topic, first day offset, days)
    let plan = [
        (0, DemandKind::Inspection, format!("{y}年春季农业生产督导检查"), "春季农业生产", 0, 2),
        (2, DemandKind::ResearchVisit, "乡村特色产业发展专题调研".to_owned(), "乡村产业发展", 1, 2),
        (1, DemandKind::GuidanceVisit, format!("{y}年高标准农田建设项目现场指导"), "高标准农田建设", 3, 2),
    ];
    let mut visits = Vec::new();
    let mut divisions = Vec::new();
    for (div, kind, title, topic, offset, days) in plan {
        let source = divs.get(div).copied().unwrap_or(department);
        let day = g.cal.add_workdays(monday, offset);
        let (start, end) = g.visit_window(day, days);
        let visitors = g.rng.random_range(4..=6);
        let mut cost = g.visit_cost(days, visitors, 3, 2);
        if kind == DemandKind::Inspection {
            cost.flags = vec![Flag::InAnnualPlan, Flag::ReportsDemanded];
        }
        visits.push(g.push(Draft {
            kind,
            source,
            title,
            topic: topic.to_owned(),
            targets: vec![county.clone()],
            starts_at: start,
            ends_at: end,
            cost,
            reported: false,
            cancellable: false,
        }));
        divisions.push(g.bodies.all[source].id);
    }
    ThreeDivisions { department: g.bodies.all[department].id, divisions, visits, week_of: monday }
}

fn guidance_visits(g: &mut Gen, stage: &Stage, county: &UnitCode) -> GuidanceVisits {
    const TOPIC: &str = "农村人居环境整治提升";
    const TITLES: &[&str] = &[
        "农村人居环境整治提升工作指导",
        "农村厕所革命问题摸排整改指导",
        "村庄清洁行动现场指导",
        "农村生活垃圾治理技术指导",
        "农村生活污水治理帮扶指导",
        "农村人居环境整治提升“回头看”指导",
        "美丽乡村建设业务指导",
        "农村人居环境长效管护机制指导",
    ];
    let b = g.bodies;
    let pref = &b.prefectures[stage.prefecture];
    // Various bodies: provincial and prefecture departments and divisions that all
    // claim a share of the same matter.
    let mut pool = Vec::new();
    for (ub, keys) in
        [(&b.province, ["agri", "housing", "eco", "health"]), (pref, ["agri", "housing", "eco", "health"])]
    {
        for key in keys {
            let d = dept(ub, key);
            pool.push(d.body);
            pool.extend(d.divisions.iter().take(2).copied());
        }
    }
    pool.shuffle(&mut g.rng);
    let from = g.cal.on_or_after(g.cal.nth_monday(3, 1));
    let to = from + Days::new(55);
    let mut days: Vec<NaiveDate> = (0..32).map(|_| g.cal.random_workday(&mut g.rng, from, to)).collect();
    days.sort_unstable();
    let mut visits = Vec::new();
    for (i, day) in days.into_iter().enumerate() {
        let source = pool[i % pool.len()];
        let n_days = if g.rng.random_bool(0.2) { 2 } else { 1 };
        let (start, mut end) = g.visit_window(day, n_days);
        if end.date() > to {
            end = at(day, 17, 30);
        }
        let visitors = g.rng.random_range(2..=5);
        let cost = g.visit_cost(n_days, visitors, 2, u32::from(i % 3 == 0));
        let title = TITLES[g.rng.random_range(0..TITLES.len())].to_owned();
        visits.push(g.push(Draft {
            kind: DemandKind::GuidanceVisit,
            source,
            title,
            topic: TOPIC.to_owned(),
            targets: vec![county.clone()],
            starts_at: start,
            ends_at: end,
            cost,
            // Some of them nobody registered: the county recorded them.
            reported: i % 7 == 3,
            cancellable: false,
        }));
    }
    GuidanceVisits { topic: TOPIC.to_owned(), visits, from, to }
}

fn work_group(g: &mut Gen, county: &UnitCode) -> WorkGroup {
    let rural = dept(&g.bodies.province, "rural");
    let source = rural.body;
    let start = g.cal.on_or_after(g.cal.nth_monday(3, 2));
    let end = g.cal.on_or_before(g.cal.date(9, 30));
    let workdays = g.cal.workdays_between(start, end);
    let visitors = 32;
    // Three county liaison cadres accompany the group every working day, plus
    // reception, reporting and materials.
    let host_person_days = f64::from(workdays * 3 + 20);
    let demand = g.push(Draft {
        kind: DemandKind::WorkGroup,
        source,
        title: format!("{}乡村振兴驻县帮扶工作组", g.geo.province.name),
        topic: "乡村振兴驻县帮扶".to_owned(),
        targets: vec![county.clone()],
        starts_at: at(start, 9, 0),
        ends_at: at(end, 17, 30),
        cost: Cost {
            cadre_hours: round1(host_person_days * 8.0),
            cadres_required: 3,
            host_person_days,
            visitors,
            forms: 6,
            ..Cost::default()
        },
        reported: false,
        cancellable: false,
    });
    WorkGroup { demand, visitors }
}

fn cascade(g: &mut Gen, stage: &Stage) -> Cascade {
    let geo = g.geo;
    let b = g.bodies;
    let coastal = COASTAL.contains(&geo.province.code.as_str());
    let topic = if coastal { "防汛防台风" } else { "防汛抗旱" };
    let d0 = g.cal.on_or_after(g.cal.nth_monday(6, 1));
    let all_prefs: Vec<UnitCode> = geo.prefectures.iter().map(|u| u.code.clone()).collect();
    let pref_counties: Vec<UnitCode> =
        geo.pref_counties[stage.prefecture].iter().map(|c| geo.counties[*c].code.clone()).collect();
    let county_towns: Vec<UnitCode> =
        geo.county_towns[stage.county].iter().map(|t| geo.townships[*t].code.clone()).collect();
    let town = geo.townships[stage.township];
    use Level::*;
    let plan = [
        (
            dept(&b.province, "emergency").body,
            format!("{}{topic}工作视频调度会议", scope_word(&geo.province.name)),
            all_prefs,
            vec![Prefecture, County, Township, Village],
            0,
            true,
        ),
        (
            dept(&b.prefectures[stage.prefecture], "emergency").body,
            format!("{}{topic}工作视频会议", scope_word(&geo.prefectures[stage.prefecture].name)),
            pref_counties,
            vec![County, Township, Village],
            1,
            true,
        ),
        (
            dept(&b.counties[stage.county], "emergency").body,
            format!("{}{topic}工作部署会", scope_word(&geo.counties[stage.county].name)),
            county_towns,
            vec![Township, Village],
            3,
            false,
        ),
        (
            b.township.party,
            format!("{}{topic}工作会议", scope_word(&town.name)),
            vec![town.code.clone()],
            vec![Township, Village],
            6,
            false,
        ),
    ];
    let mut meetings = Vec::new();
    for (source, title, targets, attend_levels, offset, video) in plan {
        let day = g.cal.add_workdays(d0, offset);
        let (start, end) = (at(day, 9, 0), at(day, 10, 30));
        let cadres = if offset == 6 { 12 } else { 3 };
        // Each level's leader speaks a little less than the one above.
        let speech_minutes = 35 - 5 * offset.min(4);
        meetings.push(g.push(Draft {
            kind: DemandKind::Meeting,
            source,
            title,
            topic: topic.to_owned(),
            targets,
            starts_at: start,
            ends_at: end,
            cost: Cost {
                cadre_hours: f64::from(cadres) * 1.5,
                cadres_required: cadres,
                attend_levels,
                video,
                speech_minutes,
                ..Cost::default()
            },
            reported: false,
            cancellable: false,
        }));
    }
    Cascade { topic: topic.to_owned(), meetings }
}

fn duplicate_field(g: &mut Gen, stage: &Stage) -> DuplicateField {
    const FIELD: &str = "常住人口";
    let geo = g.geo;
    let b = g.bodies;
    let villages: Vec<UnitCode> =
        geo.town_villages[stage.township].iter().map(|v| geo.villages[*v].code.clone()).collect();
    let y = g.cal.year;
    let division = |d: &crate::bodies::Dept, i: usize| d.divisions.get(i).copied().unwrap_or(d.body);
    let plan: [(usize, String, &str, &[&str]); 5] = [
        (
            division(dept(&b.province, "stats"), 2),
            format!("关于报送{y}年人口变动情况抽样调查基础数据的通知"),
            "人口变动情况抽样调查",
            &["常住人口", "户籍人口", "出生人数", "死亡人数", "迁入人数"],
        ),
        (
            division(dept(&b.province, "civil"), 0),
            format!("关于报送{y}年第二季度低保规范管理情况的通知"),
            "低保规范管理",
            &["低保户数", "低保对象人数", "特困供养人数", "常住人口"],
        ),
        (
            division(dept(&b.prefectures[stage.prefecture], "health"), 0),
            "基本公共卫生服务项目基础数据统计表".to_owned(),
            "基本公共卫生服务",
            &["常住人口", "65岁以上老年人数", "高血压患者管理人数", "糖尿病患者管理人数"],
        ),
        (
            dept(&b.counties[stage.county], "rural").body,
            "关于填报防止返贫动态监测台账的通知".to_owned(),
            "防止返贫动态监测",
            &["脱贫户人数", "监测对象户数", "监测对象人数", "常住人口", "外出务工人数"],
        ),
        (
            dept(&b.counties[stage.county], "org").body,
            "关于报送村级组织基本情况统计表的通知".to_owned(),
            "基层党建",
            &["党员人数", "村“两委”成员数", "常住人口", "常住人口数"],
        ),
    ];
    let first = g.cal.on_or_after(g.cal.nth_monday(5, 2));
    let mut requests = Vec::new();
    for (i, (source, title, topic, fields)) in plan.into_iter().enumerate() {
        let day = g.cal.add_workdays(first, (i as u32) * 3);
        let end = g.cal.add_workdays(day, 3);
        requests.push(g.push(Draft {
            kind: DemandKind::DataRequest,
            source,
            title,
            topic: topic.to_owned(),
            targets: villages.clone(),
            starts_at: at(day, 9, 0),
            ends_at: at(end, 17, 30),
            cost: Cost {
                cadre_hours: round1(1.5 + 0.5 * fields.len() as f64),
                cadres_required: 1,
                forms: 1,
                fields: fields.iter().map(|f| (*f).to_owned()).collect(),
                ..Cost::default()
            },
            reported: false,
            cancellable: false,
        }));
    }
    DuplicateField { field: FIELD.to_owned(), requests }
}

fn indicator_load(g: &mut Gen, county: usize) -> IndicatorLoad {
    let demands = g.indicators(county);
    let mut total: u32 = 0;
    let mut departments: Vec<Uuid> = Vec::new();
    for d in g.demands.iter().filter(|d| demands.contains(&d.id)) {
        total += d.cost.indicators;
        departments.push(d.source_department);
    }
    departments.sort_unstable();
    departments.dedup();
    // The case needs 300+; draws fall short only rarely, and then the first set grows.
    if total < 300
        && let Some(d) = demands.first().and_then(|id| g.demands.iter_mut().find(|d| d.id == *id))
    {
        d.cost.indicators += 300 - total;
        d.cost.cadre_hours = f64::from(d.cost.indicators * 6);
        total = 300;
    }
    IndicatorLoad { demands, indicators: total, departments: departments.len() }
}

/// The practice cases, before they join [`Scenarios`].
struct Practices {
    disguised_inspection: DisguisedInspection,
    unplanned_inspection: Uuid,
    unplanned_safety_inspection: Uuid,
    veto_document: Uuid,
    comprehensive_inspections: AnnualExcess,
    comprehensive_meetings: AnnualExcess,
    overlong_meeting: Uuid,
    long_speech_meeting: Uuid,
    deputy_meeting: Uuid,
    clock_in_app: Uuid,
}

/// One case of each forbidden practice, on the scenario county (see the module doc).
fn practices(g: &mut Gen, stage: &Stage) -> Practices {
    let geo = g.geo;
    let b = g.bodies;
    let y = g.cal.year;
    let county = geo.counties[stage.county].code.clone();
    let (province, pref, cty) = (&b.province, &b.prefectures[stage.prefecture], &b.counties[stage.county]);
    let province_scope = scope_word(&geo.province.name);
    let pref_scope = scope_word(&geo.prefectures[stage.prefecture].name);
    let county_scope = scope_word(&geo.counties[stage.county].name);
    let pref_counties: Vec<UnitCode> =
        geo.pref_counties[stage.prefecture].iter().map(|c| geo.counties[*c].code.clone()).collect();
    let towns: Vec<UnitCode> =
        geo.county_towns[stage.county].iter().map(|t| geo.townships[*t].code.clone()).collect();
    let villages: Vec<UnitCode> =
        geo.town_villages[stage.township].iter().map(|v| geo.villages[*v].code.clone()).collect();
    let division = |d: &crate::bodies::Dept, i: usize| d.divisions.get(i).copied().unwrap_or(d.body);

    // A "research" visit that asks for three forms and a written report.
    let source = division(dept(province, "rural"), 3);
    let day = g.cal.add_workdays(g.cal.nth_monday(5, 3), 1);
    let (start, end) = g.visit_window(day, 2);
    let mut cost = g.visit_cost(2, 4, 2, 3);
    cost.flags = vec![Flag::ReportsDemanded];
    let demand = g.push(Draft {
        kind: DemandKind::ResearchVisit,
        source,
        title: "防止返贫动态监测帮扶工作专题调研".to_owned(),
        topic: "防止返贫动态监测".to_owned(),
        targets: vec![county.clone()],
        starts_at: start,
        ends_at: end,
        cost,
        reported: false,
        cancellable: false,
    });
    let disguised_inspection = DisguisedInspection { demand, source: b.all[source].id, forms: 3 };

    // Two inspections outside the plan, one on a matter the plan exempts; neither asks
    // for forms or the principal leader.
    let unplanned = |g: &mut Gen, source: usize, title: &str, topic: &str, day: NaiveDate| {
        let (start, end) = g.visit_window(day, 1);
        let cost = g.visit_cost(1, 4, 2, 0);
        g.push(Draft {
            kind: DemandKind::Inspection,
            source,
            title: title.to_owned(),
            topic: topic.to_owned(),
            targets: vec![county.clone()],
            starts_at: start,
            ends_at: end,
            cost,
            reported: false,
            cancellable: false,
        })
    };
    let day = g.cal.add_workdays(g.cal.nth_monday(6, 2), 2);
    let unplanned_inspection = unplanned(
        g,
        division(dept(pref, "housing"), 0),
        "农村生活垃圾治理临时性督查",
        "农村生活垃圾治理",
        day,
    );
    let day = g.cal.add_workdays(g.cal.nth_monday(9, 2), 1);
    let unplanned_safety_inspection =
        unplanned(g, dept(pref, "emergency").body, "安全生产大检查突击检查", "安全生产大检查", day);

    // A document that makes straw burning a one-vote veto, with a pledge to sign.
    let day = g.cal.add_workdays(g.cal.nth_monday(5, 2), 3);
    let end = g.cal.on_or_after(day + Days::new(25));
    let veto_document = g.push(Draft {
        kind: DemandKind::Document,
        source: dept(pref, "eco").body,
        title: format!("关于做好{y}年秸秆禁烧工作的通知"),
        topic: "秸秆禁烧".to_owned(),
        targets: pref_counties.clone(),
        starts_at: at(day, 9, 0),
        ends_at: at(end, 17, 30),
        cost: Cost {
            cadre_hours: 10.0,
            cadres_required: 2,
            doc_chars: 3_200,
            flags: vec![Flag::OneVoteVeto, Flag::ResponsibilityPledge],
            ..Cost::default()
        },
        reported: false,
        cancellable: false,
    });

    // 生态环境厅: two comprehensive inspections in one year, on the county and up to two
    // neighbours.
    let eco = dept(province, "eco").body;
    g.staged.push((eco, DemandKind::Inspection));
    let mut targets = vec![county.clone()];
    targets.extend(pref_counties.iter().filter(|c| **c != county).take(2).cloned());
    targets.sort();
    let topic = "生态环境保护督察整改";
    let windows = [
        (format!("{y}年度{province_scope}生态环境保护综合督查"), (g.cal.date(4, 20), g.cal.date(5, 15))),
        (
            format!("{y}年{province_scope}生态环境领域突出问题综合检查"),
            (g.cal.date(10, 12), g.cal.date(11, 20)),
        ),
    ];
    let mut demands = Vec::new();
    for (title, window) in windows {
        demands.extend(g.comprehensive_inspection(
            Tier::Province,
            eco,
            title,
            topic,
            window,
            Some(targets.clone()),
        ));
    }
    let comprehensive_inspections = AnnualExcess { department: b.all[eco].id, demands };

    // 卫生健康委员会: two comprehensive work meetings in one year.
    let health = dept(province, "health").body;
    g.staged.push((health, DemandKind::Meeting));
    let meetings = [
        (format!("{y}年{province_scope}卫生健康工作会议"), (g.cal.date(1, 12), g.cal.date(2, 6)), 50),
        (format!("{y}年{province_scope}卫生健康工作年中会议"), (g.cal.date(7, 13), g.cal.date(7, 31)), 45),
    ];
    let mut demands = Vec::new();
    for (title, window, speech) in meetings {
        demands.extend(g.comprehensive_meeting(
            Tier::Province,
            health,
            title,
            "卫生健康工作",
            window,
            1,
            Some(speech),
        ));
    }
    let comprehensive_meetings = AnnualExcess { department: b.all[health].id, demands };

    // Meetings: two full days without group discussion; an 85-minute speech; a deputy
    // summoning the principal heads.
    let meeting = |g: &mut Gen,
                   source: usize,
                   title: String,
                   topic: &str,
                   (targets, attend_levels): (Vec<UnitCode>, Vec<Level>),
                   (start, end): (chrono::NaiveDateTime, chrono::NaiveDateTime),
                   speech_minutes: u32,
                   flags: Vec<Flag>| {
        let cadres = 2;
        g.push(Draft {
            kind: DemandKind::Meeting,
            source,
            title,
            topic: topic.to_owned(),
            targets,
            starts_at: start,
            ends_at: end,
            cost: Cost {
                cadre_hours: round1(meeting_hours(start, end) * f64::from(cadres)),
                cadres_required: cadres,
                attend_levels,
                speech_minutes,
                flags,
                ..Cost::default()
            },
            reported: false,
            cancellable: false,
        })
    };
    let day = g.run_of_workdays(g.cal.date(9, 14), g.cal.date(9, 30), 2);
    let overlong_meeting = meeting(
        g,
        dept(pref, "agri").body,
        format!("{pref_scope}高标准农田建设工作现场推进会"),
        "高标准农田建设",
        (pref_counties, vec![Level::County]),
        (at(day, 9, 0), at(day + Days::new(1), 17, 30)),
        45,
        Vec::new(),
    );
    let day = g.cal.add_workdays(g.cal.nth_monday(3, 3), 2);
    let long_speech_meeting = meeting(
        g,
        cty.party,
        format!("{county_scope}乡村振兴工作推进会"),
        "乡村振兴",
        (towns.clone(), vec![Level::Township]),
        (at(day, 9, 0), at(day, 11, 30)),
        85,
        Vec::new(),
    );
    let day = g.cal.add_workdays(g.cal.nth_monday(3, 4), 1);
    let deputy_meeting = meeting(
        g,
        cty.gov,
        format!("{county_scope}森林防灭火工作调度会"),
        "森林防灭火",
        (towns, vec![Level::Township]),
        (at(day, 9, 30), at(day, 11, 0)),
        30,
        vec![Flag::DeputyConvener, Flag::PrincipalAttendance],
    );

    // A mini-program the villages must clock into every day, ranked by points.
    let start = g.cal.on_or_after(g.cal.nth_monday(3, 1));
    let end = g.cal.on_or_before(g.cal.last());
    let cadres = 3;
    let clock_in_app = g.push(Draft {
        kind: DemandKind::AppObligation,
        source: dept(cty, "org").body,
        title: "“党员教育”小程序每日学习打卡和积分排名".to_owned(),
        topic: "党员教育管理".to_owned(),
        targets: villages,
        starts_at: at(start, 9, 0),
        ends_at: at(end, 17, 30),
        cost: Cost {
            cadre_hours: round1(f64::from(g.cal.workdays_between(start, end) * cadres) * 0.25),
            cadres_required: cadres,
            flags: vec![Flag::ForcedClockIn, Flag::PointsRanking],
            ..Cost::default()
        },
        reported: false,
        cancellable: false,
    });

    Practices {
        disguised_inspection,
        unplanned_inspection,
        unplanned_safety_inspection,
        veto_document,
        comprehensive_inspections,
        comprehensive_meetings,
        overlong_meeting,
        long_speech_meeting,
        deputy_meeting,
        clock_in_app,
    }
}
