//! `tongxin directive check` on real files: the road example of DESIGN.md §1 is refused as
//! infeasible with its reason, JSON output carries the same verdict, and bad files get an
//! error naming the task, field or template step.

use std::path::PathBuf;
use std::process::{Command, Output};

const ROAD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../directives/samples/road-3-months.toml");

fn tongxin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tongxin"))
        .args(["--log", "text", "directive", "check"])
        .args(args)
        .output()
        .expect("run tongxin")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tongxin-directive-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, file: &str, body: &str) -> String {
        let p = self.0.join(file);
        std::fs::write(&p, body).unwrap();
        p.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_road_example_is_infeasible_and_says_why() {
    let out = tongxin(&[ROAD]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("[不可行 INFEASIBLE] 1 个单位 units (350121101) · template road"), "{stdout}");
    assert!(stdout.contains("最早完成 earliest 2026-08-20 (172 days)"), "{stdout}");
    assert!(stdout.contains("breaking step: relocation"), "{stdout}");
    assert!(
        stdout.contains("《城乡规划法》第二十六条")
            && stdout.contains("《国有土地上房屋征收与补偿条例》第十条"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "the earliest completion is 2026-08-20 (172 days), after the deadline 2026-06-01 (92 days)"
        ),
        "{stdout}"
    );
    // The survey task of the same file resolves "all villages under 白沙镇" from the vendored list.
    assert!(stdout.contains("任务 task survey") && stdout.contains("25 个单位 units"), "{stdout}");
    assert!(stderr.contains("1 infeasible task(s), 0 conflict(s) to resolve before issuance"), "{stderr}");
    // The statutory figures whose statute text was not found are named, zh and en.
    assert!(stdout.contains("statutory figures not checked against the statute's text"), "{stdout}");
    assert!(stdout.contains("eia_participation 环评报告书征求意见稿公开征求公众意见"), "{stdout}");
    assert!(stdout.contains("[figure]") && stdout.contains("仅核对了数字"), "{stdout}");

    let out = tongxin(&[ROAD, "--json", "--samples", "2000", "--seed", "9"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let road = &report["tasks"][0];
    assert_eq!(road["verdict"], "infeasible");
    let f = &road["groups"][0]["feasibility"];
    assert_eq!(f["earliest"], "2026-08-20");
    assert_eq!(f["statutory_floor_days"], 60);
    assert_eq!(f["breaking_step"]["step"], "relocation");
    let unverified: Vec<&str> =
        road["unverified"].as_array().unwrap().iter().map(|u| u["step"].as_str().unwrap()).collect();
    assert!(unverified.contains(&"eia_participation") && !unverified.contains(&"tender"), "{unverified:?}");
    assert_eq!((f["samples"].as_u64(), f["seed"].as_u64()), (Some(2000), Some(9)));
    // Same seed, same figures.
    let again: serde_json::Value =
        serde_json::from_slice(&tongxin(&[ROAD, "--json", "--samples", "2000", "--seed", "9"]).stdout)
            .unwrap();
    assert_eq!(again, report);
}

#[test]
fn conflicts_with_an_active_directive_are_named() {
    let s = Scratch::new("active");
    let active = s.write(
        "active.toml",
        r#"id = "2026-env-07"
issuing_body = "某某县生态环境局"
title = "关于雨季施工管控的通知"
status = "issued"
issued_on = 2026-02-20
[[task]]
id = "quiet"
title = "汛期禁止开挖施工"
template = "data_collection"
deadline = 2026-09-30
targets = { units = ["350121101"] }
requirements = [{ kind = "must_not_before", action = "road_open", before = 2026-10-01 }]
"#,
    );
    let out = tongxin(&[ROAD, "--active", &active, "--samples", "500"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("[冲突 conflict] 要求相互矛盾 / contradictory requirements: 1 units (350121101)"),
        "{stdout}"
    );
    assert!(stdout.contains("《关于三个月内建成白沙镇通村公路的通知》/建成白沙镇通村公路并通车"), "{stdout}");
    assert!(stdout.contains("《关于雨季施工管控的通知》/汛期禁止开挖施工"), "{stdout}");
    assert!(text(&out.stderr).contains("1 conflict(s)"), "{}", text(&out.stderr));
}

#[test]
fn bad_files_name_the_task_field_or_step() {
    let s = Scratch::new("bad");
    let road = std::fs::read_to_string(ROAD).unwrap();

    let early = s.write("early.toml", &road.replace("deadline = 2026-06-01", "deadline = 2026-01-01"));
    let out = tongxin(&[&early]);
    let e = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        e.contains("early.toml: task \"road\" (task[0]).deadline")
            && e.contains("before the issue date 2026-03-02"),
        "{e}"
    );

    let unknown = s.write("unknown.toml", &road.replace("template = \"road\"", "template = \"bridge\""));
    let e = text(&tongxin(&[&unknown]).stderr);
    assert!(
        e.contains("task \"road\" (task[0]).template") && e.contains("unknown template \"bridge\""),
        "{e}"
    );

    let empty = s.write(
        "empty.toml",
        &road.replace("targets = { units = [\"350121101\"] }", "targets = { units = [] }"),
    );
    let e = text(&tongxin(&[&empty]).stderr);
    assert!(e.contains("task \"road\" (task[0]).targets") && e.contains("no target units"), "{e}");

    let typo = s.write("typo.toml", &road.replace("deadline = 2026-06-01", "dedline = 2026-06-01"));
    let e = text(&tongxin(&[&typo]).stderr);
    assert!(e.contains("typo.toml: line ") && e.contains("dedline"), "{e}");

    // A jurisdiction's template edit with a dependency cycle: file, step and reason.
    let cyclic =
        s.write("cyclic.toml", "extends = \"road\"\n[[step]]\nid = \"design\"\nafter = [\"acceptance\"]\n");
    let e = text(&tongxin(&[ROAD, "--template", &cyclic]).stderr);
    assert!(e.contains("cyclic.toml: step \"design\" (line 3)") && e.contains("dependency cycle"), "{e}");
    let p = s.write(
        "p.toml",
        "extends = \"road\"\n[[branch]]\nid = \"appeal\"\nprobability = 1.2\nsource = \"x\"\n",
    );
    let e = text(&tongxin(&[ROAD, "--template", &p]).stderr);
    assert!(e.contains("p.toml: branch \"appeal\" (line 3)") && e.contains("between 0 and 1"), "{e}");
}
