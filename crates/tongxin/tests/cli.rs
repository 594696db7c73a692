//! The `tongxin` binary on real files: imports are all or nothing and name every bad
//! row, GB18030 files read like UTF-8 ones, exports round-trip, and mistakes on the
//! command line get an error that says what to do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("tongxin-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }

    fn db(&self) -> String {
        format!("sqlite://{}", self.path("t.sqlite").display())
    }

    /// Runs `tongxin --db <scratch db> ARGS`.
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tongxin"))
            .arg("--db")
            .arg(self.db())
            .arg("--log")
            .arg("text")
            .args(args)
            .output()
            .expect("run tongxin")
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "tongxin failed:\n{}", stderr(&o));
    o
}

fn count_lines(path: &Path) -> usize {
    std::fs::read_to_string(path).unwrap().lines().count()
}

const BODIES: &str = "id,unit,name,kind,parent\n\
0190a000-0000-7000-8000-000000000001,35,福建省农业农村厅,department,\n\
,35,种植业管理处,division,福建省农业农村厅\n\
,3501,福州市教育局,部门,\n";

#[test]
fn imports_the_real_province_and_a_gb18030_bodies_file() {
    let s = Scratch::new("gb");
    let out = ok(s.run(&["import", "units", "--province", "35"]));
    assert!(stderr(&out).contains("Imported from china-division 2.7.0: 18762 units"), "{}", stderr(&out));
    let (gbk, _, unmappable) = encoding_rs::GB18030.encode(BODIES);
    assert!(!unmappable);
    std::fs::write(s.path("bodies.csv"), &gbk).unwrap();
    let out = ok(s.run(&["import", "bodies", s.path("bodies.csv").to_str().unwrap()]));
    assert!(stderr(&out).contains("3 bodies"), "{}", stderr(&out));
    ok(s.run(&["export", "bodies", s.path("out.json").to_str().unwrap()]));
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.path("out.json")).unwrap()).unwrap();
    let names: Vec<&str> = json.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"种植业管理处") && names.contains(&"福州市教育局"), "{names:?}");
}

#[test]
fn a_bad_demands_file_names_every_bad_row_and_imports_nothing() {
    let s = Scratch::new("bad");
    ok(s.run(&["import", "units", "--province", "35"]));
    std::fs::write(s.path("bodies.csv"), BODIES).unwrap();
    ok(s.run(&["import", "bodies", s.path("bodies.csv").to_str().unwrap()]));
    let demands = "kind,source_body,title,topic,targets,starts_at,ends_at,cadre_hours,attend_levels\n\
meeting,35/福建省农业农村厅,全省春耕生产视频会,春耕生产,3501,2026-03-02 09:00,2026-03-02 11:00,2,county;township\n\
inspection,35/福建省农业农村厅/种植业管理处,高标准农田督导,高标准农田,350199,2026-03-03 09:00,2026-03-03 17:00,6,\n\
visit,35/福建省农业农村厅,调研,x,3501,2026-03-04 09:00,2026-03-04 10:00,1,\n\
guidance_visit,35/福建省农业农村厅,指导,x,3501,2026-13-04 09:00,2026-03-04 10:00,abc,\n";
    std::fs::write(s.path("demands.csv"), demands).unwrap();
    let out = s.run(&["import", "demands", s.path("demands.csv").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("nothing was imported"), "{err}");
    for needle in ["row 3", "350199", "row 4", "kind", "row 5", "starts_at", "cadre_hours"] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    ok(s.run(&["export", "demands", s.path("after.csv").to_str().unwrap()]));
    assert_eq!(count_lines(&s.path("after.csv")), 1, "only the header: nothing was written");

    // The good row alone imports, and exports back with the same content.
    let good: String = demands.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(s.path("good.csv"), good).unwrap();
    ok(s.run(&["import", "demands", s.path("good.csv").to_str().unwrap()]));
    for ext in ["csv", "xlsx", "json"] {
        let file = s.path(&format!("all.{ext}"));
        ok(s.run(&["export", "demands", file.to_str().unwrap()]));
        let t = Scratch::new(&format!("rt-{ext}"));
        ok(t.run(&["import", "units", "--province", "35"]));
        ok(t.run(&["import", "bodies", s.path("bodies.csv").to_str().unwrap()]));
        // Bodies got new ids in the second database except the one with a fixed id,
        // which is the source of the round-tripped meeting.
        ok(t.run(&["import", "demands", file.to_str().unwrap()]));
        let back = t.path("back.json");
        ok(t.run(&["export", "demands", back.to_str().unwrap()]));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&back).unwrap()).unwrap();
        assert_eq!(v[0]["title"], "全省春耕生产视频会", "{ext}");
        assert_eq!(v[0]["attend_levels"], serde_json::json!(["county", "township"]), "{ext}");
    }
}

#[test]
fn command_line_mistakes_say_what_to_do() {
    let s = Scratch::new("mistakes");
    let out = s.run(&["import", "demands"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("give the file to import"), "{}", stderr(&out));
    let out = s.run(&["import", "units", "--province", "99"]);
    assert!(stderr(&out).contains("unknown province code '99'"), "{}", stderr(&out));
    let out = s.run(&["user", "add", "zhang.san", "--name", "张三", "--role", "boss", "--scope", "35"]);
    assert!(
        stderr(&out).contains("--role must be one of cadre, body_staff, office, admin"),
        "{}",
        stderr(&out)
    );
    let out = s.run(&["user", "add", "zhang.san", "--name", "张三", "--role", "cadre", "--scope", "35"]);
    assert!(stderr(&out).contains("import units first"), "{}", stderr(&out));
    let out = s.run(&["export", "units", s.path("x.txt").to_str().unwrap()]);
    assert!(!out.status.success() && stderr(&out).contains("x.txt"), "{}", stderr(&out));
    // The safe voice's calendar and limits are checked before anything is opened.
    std::fs::write(s.path("h.txt"), "2027-01-01 holiday 元旦\n2027-02-30 holiday 春节\n").unwrap();
    let out = s.run(&["serve", "--holidays", s.path("h.txt").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("h.txt") && stderr(&out).contains(":2"), "{}", stderr(&out));
    let out = s.run(&["serve", "--acknowledge-days", "20", "--answer-days", "10"]);
    assert!(
        stderr(&out).contains("--acknowledge-days (20) must not exceed --answer-days (10)"),
        "{}",
        stderr(&out)
    );
    let out = s.run(&["serve", "--answer-days", "0"]);
    assert!(!out.status.success() && stderr(&out).contains("--answer-days"), "{}", stderr(&out));
    let help = Command::new(env!("CARGO_BIN_EXE_tongxin")).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for sub in ["serve", "demo", "import", "export", "user", "bench"] {
        assert!(help.contains(sub), "--help lists {sub}:\n{help}");
    }
}

#[test]
fn user_add_prints_a_generated_password_once() {
    let s = Scratch::new("user");
    ok(s.run(&["import", "units", "--province", "35"]));
    let out = ok(s.run(&["user", "add", "li.si", "--name", "李四", "--role", "office", "--scope", "3501"]));
    let password = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(password.len(), 16, "a generated password on stdout");
    assert!(!stderr(&out).contains(&password), "the password is not logged");
}

#[test]
fn accounts_import_in_bulk_with_generated_passwords_and_refuse_bad_rows() {
    let s = Scratch::new("users");
    ok(s.run(&["import", "units", "--province", "35"]));
    std::fs::write(s.path("bodies.csv"), BODIES).unwrap();
    ok(s.run(&["import", "bodies", s.path("bodies.csv").to_str().unwrap()]));
    let bad = "用户名,姓名,角色,单位代码,所属部门,初始密码\n\
wang.fang,王芳,上级部门工作人员,35,35/福建省农业农村厅/种植业管理处,\n\
li.si,李四,boss,35,,\n\
li.si,李四,基层干部,350199,,short\n";
    std::fs::write(s.path("bad.csv"), bad).unwrap();
    let out = s.run(&["import", "users", s.path("bad.csv").to_str().unwrap()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for needle in
        ["row 3, column role", "row 4, column username", "row 4, column scope", "row 4, column password"]
    {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(!s.path("bad.csv.passwords.csv").exists(), "nothing generated for a refused file");

    let good = "username,display_name,role,scope,body,password\n\
wang.fang,王芳,body_staff,35,35/福建省农业农村厅/种植业管理处,\n\
chen.jing,陈静,cadre,350102001,,Initial-Pass-1\n";
    std::fs::write(s.path("users.csv"), good).unwrap();
    let out = ok(s.run(&["import", "users", s.path("users.csv").to_str().unwrap()]));
    assert!(stderr(&out).contains("2 accounts"), "{}", stderr(&out));
    let passwords = s.path("users.csv.passwords.csv");
    let text = std::fs::read_to_string(&passwords).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "a header and the one generated password: {text}");
    assert!(lines[1].starts_with("wang.fang,") && lines[1].len() == "wang.fang,".len() + 16, "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&passwords).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Importing the same accounts again is refused: usernames are unique.
    std::fs::remove_file(&passwords).unwrap();
    let again = s.run(&["import", "users", s.path("users.csv").to_str().unwrap()]);
    assert!(
        !again.status.success() && stderr(&again).contains("username already exists"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn check_pre_checks_planned_demands_and_writes_nothing() {
    let s = Scratch::new("check");
    ok(s.run(&["import", "units", "--province", "35"]));
    std::fs::write(s.path("bodies.csv"), BODIES).unwrap();
    ok(s.run(&["import", "bodies", s.path("bodies.csv").to_str().unwrap()]));
    // Two research visits of the department to one county in a quarter are already in the
    // ledger; the plan adds a third (over the per-source cap) that also demands forms
    // (a disguised inspection), and a harmless data request.
    let ledger = "kind,source_body,title,topic,targets,starts_at,ends_at,cadre_hours\n\
research_visit,35/福建省农业农村厅,春耕备耕调研,春耕生产,350102,2026-03-02 09:00,2026-03-02 11:00,2\n\
research_visit,35/福建省农业农村厅/种植业管理处,高标准农田建设调研,高标准农田,350102,2026-03-09 09:00,2026-03-09 11:00,2\n";
    std::fs::write(s.path("ledger.csv"), ledger).unwrap();
    ok(s.run(&["import", "demands", s.path("ledger.csv").to_str().unwrap()]));
    let plan = "kind,source_body,title,topic,targets,starts_at,ends_at,cadre_hours,forms,fields\n\
research_visit,35/福建省农业农村厅,种业振兴调研,种业振兴,350102,2026-03-16 09:00,2026-03-16 11:00,3,2,\n\
data_request,35/福建省农业农村厅,耕地面积统计,耕地保护,350102,2026-03-20 09:00,2026-03-27 17:00,1,1,耕地面积\n";
    std::fs::write(s.path("plan.csv"), plan).unwrap();
    let out = s.run(&["check", s.path("plan.csv").to_str().unwrap()]);
    assert!(!out.status.success(), "a violation makes the exit status 1");
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in
        ["row 2", "visit.cap_per_source", "inspection.disguised_as_visit", "row 3", "adds to 350102"]
    {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    assert!(
        stderr(&out).contains("1 of 2 planned demands break a burden-reduction rule"),
        "{}",
        stderr(&out)
    );
    // --json prints the reports whatever the outcome.
    let json = s.run(&["check", s.path("plan.csv").to_str().unwrap(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    // Nothing was written: the ledger still holds the two visits.
    ok(s.run(&["export", "demands", s.path("after.csv").to_str().unwrap()]));
    assert_eq!(count_lines(&s.path("after.csv")), 3);
    // A bad planned row is named and nothing is checked.
    std::fs::write(s.path("bad.csv"), "kind,source_body,title,targets,starts_at,ends_at\nvisit,35/福建省农业农村厅,x,350102,2026-03-16 09:00,2026-03-16 11:00\n").unwrap();
    let out = s.run(&["check", s.path("bad.csv").to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing was checked") && stderr(&out).contains("row 2"),
        "{}",
        stderr(&out)
    );
}
