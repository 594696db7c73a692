//! Tests of the rule-file format: the shipped national set, bad files and jurisdiction overrides.

use expect_test::{Expect, expect};
use tongxin_rules::{ErrorKind, Params, RuleSet, Severity};

fn errors(text: &str) -> String {
    match RuleSet::parse("bad.toml", text) {
        Ok(_) => "loaded".into(),
        Err(e) => e.to_string(),
    }
}

fn check_err(text: &str, expect: Expect) {
    expect.assert_eq(&errors(text));
}

const GOOD: &str = r#"
jurisdiction = "t"
version = "1"

[[rule]]
id = "a"
family = "cascade"
severity = "warning"
[rule.params]
max_levels_down = 2
[rule.source]
title = "t"
issued = "2024"
citation = "c"
confirmed = false
[rule.explanation]
zh = "本地默认参数 / local default"
en = "local default"
"#;

#[test]
fn national_loads_with_sources_and_explanations() {
    let set = RuleSet::national();
    assert_eq!(set.jurisdiction, "national");
    assert!(set.rules.len() >= 20);
    for r in &set.rules {
        assert!(!r.explanation.zh.trim().is_empty() && !r.explanation.en.trim().is_empty(), "{}", r.id);
        assert!(!r.source.title.is_empty() && !r.source.citation.is_empty(), "{}", r.id);
        assert_eq!(r.params.family(), r.family);
        if !r.source.confirmed || !r.source.local_defaults.is_empty() {
            assert!(r.explanation.zh.contains("本地默认参数"), "{} must be labelled", r.id);
            assert!(r.explanation.en.to_lowercase().contains("local default"), "{} must be labelled", r.id);
        }
    }
}

#[test]
fn national_rule_ids_snapshot() {
    let set = RuleSet::national();
    let mut lines: Vec<String> = set
        .rules
        .iter()
        .map(|r| {
            let conf = if r.source.confirmed { "confirmed" } else { "local default" };
            format!("{} {} {} ({conf})", r.id, r.family.as_str(), r.severity.as_str())
        })
        .collect();
    lines.sort();
    expect![[r#"
        app.forbidden_assessment forbidden_practice violation (confirmed)
        assessment.forbidden_content forbidden_terms violation (confirmed)
        coordination.merge coordination warning (local default)
        data.duplicate_field duplicate_data warning (local default)
        demonstration.grassroots demonstration_target violation (confirmed)
        doc.forbidden_demands forbidden_practice violation (confirmed)
        doc.forbidden_terms forbidden_terms warning (confirmed)
        doc.length document_length violation (confirmed)
        doc.volume document_volume warning (confirmed)
        indicator.inflation indicator_inflation warning (local default)
        inspection.comprehensive_per_year annual_count violation (confirmed)
        inspection.disguised_as_visit disguised_inspection violation (confirmed)
        inspection.plan plan_compliance violation (confirmed)
        meeting.cascade cascade warning (local default)
        meeting.comprehensive_per_year annual_count violation (confirmed)
        meeting.duration meeting_duration violation (confirmed)
        meeting.escort_attendance escort_attendance violation (confirmed)
        meeting.redeploy_document redeployment warning (confirmed)
        repetition.topic repetition warning (local default)
        secondment.county_and_below secondment_level violation (confirmed)
        visit.cap_per_source cap warning (local default)
        visit.cap_per_unit cap warning (local default)
        visit.routine_demands visit_demands warning (confirmed)
        workgroup.hosting_load hosting_load warning (local default)"#]]
    .assert_eq(&lines.join("\n"));
}

#[test]
fn national_explanations_snapshot() {
    let set = RuleSet::national();
    let mut rules: Vec<_> = set.rules.iter().collect();
    rules.sort_by(|a, b| a.id.cmp(&b.id));
    let text: Vec<String> = rules
        .iter()
        .map(|r| {
            format!(
                "{}\n  zh: {}\n  en: {}\n  source: {}",
                r.id, r.explanation.zh, r.explanation.en, r.source.title
            )
        })
        .collect();
    expect![[r#"
        app.forbidden_assessment
          zh: 政务APP和工作群不得强制打卡签到、积分排名、统计在线时长，不得考核或通报下载安装率，不得以点赞、转发、学习时长作为考核依据（安全、应急场景除外）。
          en: Government apps and work groups may not force clock-in, rank points, count online time, assess or publicise install rates, or use likes, forwards or study time as assessment basis (security and emergency uses excepted).
          source: 国务院办公厅《政务移动互联网应用程序规范化管理办法》（国办函〔2026〕12号）；中央网信委《关于防治“指尖上的形式主义”的若干意见》
        assessment.forbidden_content
          zh: 不得把领导批示、在报刊媒体发表文章和经验材料作为考核内容，不得以开会发文、拍照留痕、学习笔记评判工作。
          en: Leaders' instructions, articles or experience pieces in the media may not be assessment content, and work may not be judged by meetings held, documents issued, photos taken or study notes.
          source: 《整治形式主义为基层减负若干规定》第8条
        coordination.merge
          zh: 本地默认参数 / local default：同一上级部门所属机关在14天内对同一单位分别提出的要求，应合并开展。
          en: Local default (本地默认参数): demands on the same unit from bodies under the same parent department within 14 days should be merged.
          source: 本地默认参数（依据第7条“同类事项合并开展”及2018年中办通知“多部门联合”）
        data.duplicate_field
          zh: 本地默认参数 / local default：同一字段（规范化名称后）一年内被2个以上机关要求填报时提示，应通过“一表通”共享。
          en: Local default (本地默认参数): flags a field (after normalising names) requested by 2 or more bodies within a year; it should be shared through one-form reporting.
          source: 本地默认参数（依据“一表通”“最多报一次”原则）
        demonstration.grassroots
          zh: 不得开展面向乡镇（街道）、村（社区）的达标活动，严格控制创建示范活动。
          en: No compliance-standard (达标) or demonstration activities may target townships, streets, villages or communities.
          source: 《整治形式主义为基层减负若干规定》第21条
        doc.forbidden_demands
          zh: 文件一般不要求报送贯彻落实情况或制定配套文件；除专门文件外，不得在文件中提出一票否决、签订责任状等要求。
          en: A document should not demand a report on its implementation or supporting documents, and outside dedicated documents may not impose a one-vote veto or a responsibility pledge.
          source: 《整治形式主义为基层减负若干规定》第3条
        doc.forbidden_terms
          zh: 文件正文中出现“一票否决”“责任状”或要求报送落实情况等字样，需核查是否违反规定。
          en: A document whose text contains 'one-vote veto', 'responsibility pledge' or a demand for implementation reports is flagged for review.
          source: 《整治形式主义为基层减负若干规定》第3条
        doc.length
          zh: 文件一般不超过5000字（综合性工作除外），专项工作文件不超过4000字。
          en: A document may run to at most 5,000 characters in general (comprehensive work excepted), and a specific-task document to at most 4,000.
          source: 《整治形式主义为基层减负若干规定》第2条
        doc.volume
          zh: 年度实际发文数量一般只减不增；超过上年的，须向上级党委办公厅作出书面说明。便笺、白头文件和多文合一也计入总量。
          en: A body's yearly number of documents should not rise; issuing more than last year needs a written explanation to the upper-level Party committee general office. Memos, white-head and bundled documents count too.
          source: 《整治形式主义为基层减负若干规定》第1条
        indicator.inflation
          zh: 本地默认参数 / local default：一个单位承担的考核指标超过50项、一个部门设置超过10项，或新增指标未相应取消旧指标时提示。
          en: Local default (本地默认参数): flags a unit carrying more than 50 assessment indicators, a department setting more than 10, or a new indicator added without retiring one.
          source: 本地默认参数（依据“指标层层加码”纠治要求）
        inspection.comprehensive_per_year
          zh: 每个部门面向地方的综合性督查检查考核原则上每年不超过1项，同类事项合并开展。
          en: Each department runs in principle at most one comprehensive inspection or assessment of localities a year, merging similar items.
          source: 《整治形式主义为基层减负若干规定》第7条
        inspection.disguised_as_visit
          zh: 不得以调研名义变相开展督查检查考核：要求填表、报材料或打分的“调研”按督查检查考核对待。
          en: No inspection disguised as a research visit: a 'visit' that demands forms, reports or scoring is treated as an inspection.
          source: 《整治形式主义为基层减负若干规定》第7条
        inspection.plan
          zh: 督查检查考核实行年度计划和备案管理，计划外的项目不得开展（安全生产、自然灾害等应急工作除外）。
          en: Inspections and assessments follow a filed annual plan; an item not in the plan may not be run (work safety and natural-disaster emergencies excepted).
          source: 《整治形式主义为基层减负若干规定》第7条
        meeting.cascade
          zh: 本地默认参数 / local default：会议要求参会的层级超过召集单位以下2级时提示。全国规定未给出层级数。
          en: Local default (本地默认参数): flags a meeting that requires attendance more than 2 levels below the convener. The national rules give no number.
          source: 本地默认参数（参照甘肃高台2019、山东2019视频会议不层层重复召开的做法）
        meeting.comprehensive_per_year
          zh: 一个系统或领域的综合性工作会议每年不超过1次，业务会议能合并的合并召开。
          en: A system or field holds at most one comprehensive work meeting a year; business meetings are merged where they can be.
          source: 《整治形式主义为基层减负若干规定》第4条
        meeting.duration
          zh: 主要负责同志讲话或主报告一般不超过1小时；安排分组讨论的会议不超过1天半，其他会议不超过半天。
          en: A principal leader's speech or main report is at most one hour; a meeting with group discussion lasts at most a day and a half, any other meeting at most half a day.
          source: 《整治形式主义为基层减负若干规定》第6条
        meeting.escort_attendance
          zh: 只请密切相关的单位参会，不搞层层陪会；副职召集的会议一般不要求下级主要负责同志参加。
          en: Only closely concerned units attend, with no layer-by-layer escort attendance; a meeting convened by a deputy does not ask lower-level principal heads to attend.
          source: 《整治形式主义为基层减负若干规定》第5条
        meeting.redeploy_document
          zh: 已经用文件部署的工作，一般不再开会部署。（相似度阈值和回看天数为本地默认参数 / local default）
          en: Work already deployed by a document is generally not deployed again by a meeting. (The similarity threshold and look-back window are a local default.)
          source: 《整治形式主义为基层减负若干规定》第4条
        repetition.topic
          zh: 本地默认参数 / local default：同一主题（字符二元组相似度≥0.5）在90天内多次落到同一批干部身上时提示。
          en: Local default (本地默认参数): flags the same topic (character-bigram similarity ≥ 0.5) reaching the same cadres more than once within 90 days.
          source: 本地默认参数（依据“反复折腾”问题线索及第4条精简会议）
        secondment.county_and_below
          zh: 上级机关原则上不得从县及以下单位借调干部，也不得以工作专班、跟班学习等名义变相借调。
          en: Upper-level organs may not in principle second cadres from county-level units or below, nor disguise it as a task force or shadowing.
          source: 《整治形式主义为基层减负若干规定》（规范借调干部）
        visit.cap_per_source
          zh: 本地默认参数 / local default：同一来源机关每季度到同一单位调研、指导或检查超过1次时提示。
          en: Local default (本地默认参数): flags one source body visiting or inspecting the same unit more than once a quarter.
          source: 本地默认参数（参照2019年国务院第六次大督查“八不得”：不得轮番到同一地方）
        visit.cap_per_unit
          zh: 本地默认参数 / local default：同一基层单位每月接待的调研、指导帮扶和督查检查超过4次时提示。全国规定的具体次数未公开。
          en: Local default (本地默认参数): flags a grassroots unit receiving more than 4 visits and inspections in a month. The national number is not public.
          source: 本地默认参数（全国规定要求控制督查检查考核和调研频次，未公布次数）
        visit.routine_demands
          zh: 上级部门到地方，不得把要求主要负责同志陪同作为惯例，不得频繁要求填报表格和提供材料。
          en: Visitors from upper-level departments may not routinely demand the principal leader's attendance, nor keep demanding forms and materials.
          source: 《整治形式主义为基层减负若干规定》第8条
        workgroup.hosting_load
          zh: 本地默认参数 / local default：一个单位每季度接待工作组超过60人·天时提示。
          en: Local default (本地默认参数): flags a unit hosting more than 60 work-group person-days in a quarter.
          source: 本地默认参数（全国规定未给出工作组接待量）"#]].assert_eq(&text.join("\n"));
}

#[test]
fn good_file_loads() {
    let set = RuleSet::parse("good.toml", GOOD).unwrap();
    assert_eq!(set.rules[0].severity, Severity::Warning);
    assert!(set.rules[0].enabled);
}

#[test]
fn unknown_family() {
    let text = GOOD.replace("family = \"cascade\"", "family = \"cascades\"");
    let e = RuleSet::parse("bad.toml", &text).unwrap_err();
    assert_eq!(e.errors.len(), 1);
    assert_eq!(e.errors[0].line, 7);
    assert!(matches!(&e.errors[0].kind, ErrorKind::UnknownFamily(f, _) if f == "cascades"));
}

#[test]
fn missing_parameter() {
    let text = GOOD.replace("max_levels_down = 2", "");
    check_err(
        &text,
        expect!["bad.toml:9: family `cascade` requires parameter `max_levels_down` (a non-negative integer)"],
    );
}

#[test]
fn wrong_type_and_unknown_parameter() {
    let text = GOOD.replace("max_levels_down = 2", "max_levels_down = \"two\"\nmax_depth = 3");
    check_err(
        &text,
        expect![[r#"
        bad.toml:9: family `cascade` requires parameter `max_levels_down` (a non-negative integer)
        bad.toml:10: parameter `max_levels_down` must be a non-negative integer, found string "two"
        bad.toml:11: family `cascade` has no parameter `max_depth` (known: max_levels_down)"#]],
    );
}

#[test]
fn duplicate_id_and_bad_severity_and_empty_explanation() {
    let second = GOOD
        .split_once("[[rule]]")
        .unwrap()
        .1
        .replace("\"warning\"", "\"fatal\"")
        .replace("en = \"local default\"", "en = \" \"");
    let text = format!("{GOOD}\n[[rule]]{second}");
    check_err(
        &text,
        expect![[r#"
        bad.toml:21: duplicate rule id `a` (first defined on line 6)
        bad.toml:23: bad severity `fatal` (expected info, warning or violation)
        bad.toml:33: explanation in `en` is empty"#]],
    );
}

#[test]
fn syntax_error_has_line() {
    check_err(
        "jurisdiction = \"t\"\nversion = \n",
        expect!["bad.toml:2: TOML syntax error: string values must be quoted, expected literal string"],
    );
}

#[test]
fn override_changes_param_and_keeps_the_rest() {
    let national = RuleSet::national();
    let local = r#"
extends = "national"
jurisdiction = "某省"
version = "2026.1"

[[override]]
id = "visit.cap_per_unit"
[override.params]
max = 2

[[override]]
id = "meeting.cascade"
enabled = false

[[rule]]
id = "local.no_meeting_day"
family = "cap"
severity = "info"
applies_to = ["meeting"]
[rule.params]
max = 0
period = "week"
[rule.source]
title = "本地规定"
issued = "2026"
citation = "本地文件"
confirmed = false
[rule.explanation]
zh = "本地默认参数 / local default：无会日。"
en = "Local default: a no-meeting day."
"#;
    let set = RuleSet::with_overrides(&national, "prov.toml", local).unwrap();
    assert_eq!(set.jurisdiction, "某省");
    assert_eq!(set.rules.len(), national.rules.len() + 1);
    let cap = set.get("visit.cap_per_unit").unwrap();
    let Params::Cap(p) = &cap.params else { panic!() };
    let Params::Cap(orig) = &national.get("visit.cap_per_unit").unwrap().params else { panic!() };
    assert_eq!(p.max, 2);
    assert_eq!(p.period, orig.period);
    assert_eq!(p.target_levels, orig.target_levels);
    assert_eq!(cap.explanation, national.get("visit.cap_per_unit").unwrap().explanation);
    assert!(!set.get("meeting.cascade").unwrap().enabled);
    for r in &set.rules {
        if r.id != "visit.cap_per_unit" && r.id != "meeting.cascade" && r.id != "local.no_meeting_day" {
            assert_eq!(Some(r), national.get(&r.id));
        }
    }
    assert_eq!(RuleSet::load("prov.toml", local).unwrap(), set);
}

#[test]
fn bad_overrides() {
    let national = RuleSet::national();
    let local = r#"extends = "national"
jurisdiction = "x"
version = "1"

[[override]]
id = "no.such.rule"

[[override]]
id = "doc.length"
[override.params]
general_max = -5
pages = 3

[[rule]]
id = "doc.length"
family = "cascade"
severity = "info"
[rule.params]
max_levels_down = 1
[rule.source]
title = "t"
issued = "t"
citation = "t"
confirmed = true
[rule.explanation]
zh = "z"
en = "e"
"#;
    let e = RuleSet::with_overrides(&national, "x.toml", local).unwrap_err().to_string();
    expect![[r#"
        x.toml:6: override of unknown rule id `no.such.rule`
        x.toml:11: parameter `general_max` must be a non-negative integer, found integer -5
        x.toml:12: family `document_length` has no parameter `pages` (known: general_max, specific_task_max, exempt_categories)
        x.toml:15: duplicate rule id `doc.length` (first defined on line 8)"#]].assert_eq(&e);
}
