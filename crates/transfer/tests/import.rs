//! Import tests: every kind of problem is reported at the right row and column, nothing
//! is returned when anything is wrong, and CSV in UTF-8, UTF-8 with BOM and GB18030 reads
//! the same.

mod common;

use common::*;
use tongxin_domain::{BodyKind, DemandKind, DemandOrigin, DemandStatus, Level};
use tongxin_transfer::{
    Entity, Format, Known, MAX_ERRORS, RowLabel, import_bodies, import_demands, import_units, read_table,
    read_table_as, references,
};

// ------------------------------------------------------------------ tables and headers

#[test]
fn unknown_extension_is_refused() {
    let e = read_table("units.txt", b"code,name\n").unwrap_err();
    assert_eq!(e.errors()[0].row, None);
    assert!(e.to_string().contains("units.txt: unknown file type"), "{e}");
    assert_eq!(Format::from_path("A.XLSX").unwrap(), Format::Xlsx);
}

#[test]
fn unknown_and_missing_columns_are_each_reported() {
    let t = csv("units.csv", "code,colour,size\n35,red,1\n");
    let e = import_units(&t, &Known::default()).unwrap_err();
    assert_errors(
        &e,
        &[
            (1, "colour", "unknown column 'colour'"),
            (1, "size", "unknown column 'size'"),
            (1, "name", "required column name is missing"),
        ],
    );
}

#[test]
fn a_column_given_twice_is_refused() {
    let t = csv("units.csv", "code,name,名称\n35,福建省,福建\n");
    let e = import_units(&t, &Known::default()).unwrap_err();
    assert_errors(&e, &[(1, "名称", "repeats column 'name'")]);
}

#[test]
fn chinese_and_decorated_headers_are_accepted() {
    let t = csv("units.csv", " 区划代码 ,名称*,干部数（可空）\n35,福建省,\n3501,福州市,3800\n");
    let units = import_units(&t, &Known::default()).unwrap();
    assert_eq!(units.len(), 2);
    assert_eq!(units[0].cadres, Level::Province.default_cadres());
    assert!(units[0].cadres_estimated);
    assert_eq!(units[1].cadres, 3800);
    assert!(!units[1].cadres_estimated);
    let t = csv("units.csv", "CODE,Name\n35,福建省\n");
    assert_eq!(import_units(&t, &Known::default()).unwrap().len(), 1);
}

#[test]
fn blank_rows_are_skipped_and_rows_keep_their_numbers() {
    let t = csv("units.csv", "code,name\n35,福建省\n,\n3501,\n");
    let e = import_units(&t, &Known::default()).unwrap_err();
    assert_errors(&e, &[(4, "name", "name must not be empty")]);
}

// ------------------------------------------------------------------ units

#[test]
fn unit_errors_name_row_and_column() {
    let text = "code,name,cadres\n\
                35,福建省,\n\
                35a,坏代码,\n\
                3501,,\n\
                3501,福州市,\n\
                370101,孤儿区,\n\
                3502,厦门市,-3\n\
                3503,莆田市,many\n";
    let e = import_units(&csv("units.csv", text), &Known::default()).unwrap_err();
    assert_errors(
        &e,
        &[
            (3, "code", "division code '35a' must be digits only"),
            (4, "name", "name must not be empty"),
            (5, "code", "duplicate code 3501: rows 4 and 5"),
            (7, "cadres", "bad number '-3'"),
            (8, "cadres", "bad number 'many'"),
            (6, "code", "the parent 3701 of 370101 is neither in the file nor already known"),
        ],
    );
    let first = &e.errors()[0];
    assert_eq!(first.file, "units.csv");
    assert_eq!(first.row_label, RowLabel::Row);
    assert!(first.zh_message().starts_with("units.csv 第 3 行，code 列："), "{}", first.zh_message());
}

#[test]
fn parents_may_be_known_or_in_the_file_and_come_first() {
    let text = "code,name\n350102001,鼓楼区某街道\n350102,鼓楼区\n";
    let units = import_units(&csv("units.csv", text), &known()).unwrap();
    let codes: Vec<&str> = units.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["350102", "350102001"]);
    // Without the known 3501, 350102's parent is an orphan.
    let e = import_units(&csv("units.csv", text), &Known::default()).unwrap_err();
    assert_errors(&e, &[(3, "code", "the parent 3501 of 350102")]);
}

#[test]
fn references_list_only_what_the_file_names() {
    let t = csv("units.csv", "code,name\n350102001,街道\n350102,鼓楼区\n360101,东湖区\n");
    let r = references(&t, Entity::Units);
    let got: Vec<&str> = r.unit_codes.iter().map(|c| c.as_str()).collect();
    assert_eq!(got, ["3501", "3601"]);

    let t = csv(
        "demands.csv",
        &format!(
            "kind,source_body,title,targets,starts_at,ends_at\n\
             meeting,{},会,350102;350103,2026-03-02 09:00,2026-03-02 10:00\n\
             meeting,35/省农业农村厅,会,3601,2026-03-02 09:00,2026-03-02 10:00\n",
            id(EDU)
        ),
    );
    let r = references(&t, Entity::Demands);
    assert_eq!(r.body_ids.iter().copied().collect::<Vec<_>>(), [id(EDU)]);
    assert_eq!(r.bodies_at.iter().map(|c| c.as_str()).collect::<Vec<_>>(), ["35"]);
    assert_eq!(r.unit_codes.len(), 3);
}

// ------------------------------------------------------------------ bodies

#[test]
fn bodies_resolve_parents_by_name_in_file_and_known() {
    let text = "unit,name,kind,parent\n\
                35,省发展改革委,部门,\n\
                35,规划处,处室,省发展改革委\n\
                35,粮食处,division,省农业农村厅\n\
                3501,市教育局办公室,division,市教育局\n";
    let bodies = import_bodies(&csv("bodies.csv", text), &known()).unwrap();
    assert_eq!(bodies.len(), 4);
    assert_eq!(bodies[0].kind, BodyKind::Department);
    assert_eq!(bodies[1].parent, Some(bodies[0].id));
    assert_eq!(bodies[2].parent, Some(id(AGRI)));
    assert_eq!(bodies[3].parent, Some(id(EDU)));
    assert_ne!(bodies[0].id, bodies[1].id);
}

#[test]
fn divisions_come_after_their_departments() {
    let text = "unit,name,kind,parent\n35,规划处,处室,省发展改革委\n35,省发展改革委,部门,\n";
    let bodies = import_bodies(&csv("bodies.csv", text), &known()).unwrap();
    assert_eq!(bodies[0].name, "省发展改革委");
    assert_eq!(bodies[1].parent, Some(bodies[0].id));
}

#[test]
fn body_errors_name_row_and_column() {
    let dup = id(100);
    let text = format!(
        "id,unit,name,kind,parent\n\
         ,999,某厅,部门,\n\
         ,3509,某厅,部门,\n\
         ,35,某厅,agency,\n\
         ,35,某处,处室,不存在的厅\n\
         ,3501,某科,处室,市场监管局\n\
         ,35,某处,处室,\n\
         {dup},35,甲厅,部门,\n\
         {dup},35,乙厅,部门,\n\
         ,35,某处,处室,{missing}\n\
         ,35,孙处,处室,种植业管理处\n\
         ,35,孙处,处室,{planting}\n\
         ,3501,跨级处,处室,{agri}\n\
         ,35,厅,部门,{agri}\n\
         ,35,,部门,\n",
        missing = id(999),
        planting = id(PLANTING),
        agri = id(AGRI),
    );
    let e = import_bodies(&csv("bodies.csv", &text), &known()).unwrap_err();
    assert_errors(
        &e,
        &[
            (2, "unit", "must have 2, 4, 6, 9 or 12 digits"),
            (3, "unit", "unknown unit 3509"),
            (4, "kind", "unknown kind 'agency'"),
            (9, "id", &format!("duplicate id {dup}: rows 8 and 9")),
            (5, "parent", "unknown parent: no department named '不存在的厅' at unit 35"),
            (6, "parent", "ambiguous parent: 2 departments named '市场监管局' at unit 3501"),
            (7, "parent", "a division must belong to a department"),
            (10, "parent", &format!("unknown parent {}", id(999))),
            // A division's name is not a department's: not found by name.
            (11, "parent", "unknown parent: no department named '种植业管理处'"),
            (12, "parent", "a division's parent must not be a division"),
            (13, "unit", "same unit as its department"),
            (14, "parent", "only a division has a parent department"),
            (15, "name", "name must be 1 to 100 characters"),
        ],
    );
}

// ------------------------------------------------------------------ demands

const DEMAND_HEADER: &str = "id,kind,source_body,title,topic,targets,starts_at,ends_at,status,origin,\
cadre_hours,cadres_required,host_person_days,visitors,forms,fields,attend_levels,video,indicators,doc_chars\n";

#[test]
fn demands_import_with_every_column() {
    let text = format!(
        "{DEMAND_HEADER}\
         ,会议,35/省农业农村厅/种植业管理处,春耕调度会,春季农业生产,3501；350102,2026-03-02 09:00,2026-03-02T11:00:00,计划,registered,2.5,3,0,0,0,,市级;县级、乡镇级,是,0,0\n\
         {id},data_request,{edu},报表,,350102001001,2026/03/05 08:00,2026-03-06,held,上报,,,,,2,户数；人口; 面积,,,,\n",
        id = id(500),
        edu = id(EDU),
    );
    let demands = import_demands(&csv("demands.csv", &text), &known()).unwrap();
    let m = &demands[0];
    assert_eq!(m.kind, DemandKind::Meeting);
    assert_eq!(m.source_body, id(PLANTING));
    assert_eq!(m.source_department, id(AGRI));
    assert_eq!(m.targets, [code("3501"), code("350102")]);
    assert_eq!(m.cost.attend_levels, [Level::Prefecture, Level::County, Level::Township]);
    assert!(m.cost.video);
    assert_eq!(m.cost.cadre_hours, 2.5);
    assert_eq!(m.cost.cadres_required, 3);
    assert_eq!(m.revision, 1);
    assert_eq!(m.status, DemandStatus::Planned);
    let d = &demands[1];
    assert_eq!(d.id, id(500));
    assert_eq!(d.source_department, id(EDU));
    assert_eq!(d.status, DemandStatus::Held);
    assert_eq!(d.origin, DemandOrigin::Reported);
    assert_eq!(d.cost.fields, ["户数", "人口", "面积"]);
    assert_eq!(d.cost.forms, 2);
    assert_eq!(d.starts_at.to_string(), "2026-03-05 08:00:00");
    // A bare end date means the end of that day.
    assert_eq!(d.ends_at.to_string(), "2026-03-06 23:59:59");
}

#[test]
fn a_bad_date_reads_as_in_the_brief() {
    let good = ",document,35/省农业农村厅,文件,,3501,2026-03-02 09:00,2026-03-03 09:00,,,,,,,,,,,,\n";
    let mut text = format!("{DEMAND_HEADER}{}", good.repeat(5));
    text.push_str(",document,35/省农业农村厅,文件,,3501,2026-13-01,2026-03-03 09:00,,,,,,,,,,,,\n");
    let e = import_demands(&csv("demands.csv", &text), &known()).unwrap_err();
    assert_eq!(e.total(), 1);
    assert_eq!(
        e.to_string(),
        "demands.csv row 7, column starts_at: bad date '2026-13-01' (expected YYYY-MM-DD HH:MM)"
    );
    assert_eq!(
        e.zh_report(),
        "demands.csv 第 7 行，starts_at 列：日期时间“2026-13-01”无效（应为 YYYY-MM-DD HH:MM）"
    );
}

#[test]
fn demand_errors_name_row_and_column() {
    let dup = id(600);
    let agri = id(AGRI);
    let rows = [
        // 2: unknown target unit, bad target code
        format!(",document,{agri},文件,,3501;350199;3x,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,"),
        // 3: unknown body by id, by path, and not a body reference at all
        format!(",document,{},文件,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,", id(999)),
        ",document,35/不存在的厅,文件,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,".into(),
        ",document,农业农村厅,文件,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,".into(),
        // 6: ambiguous body
        ",document,3501/市场监管局,文件,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,".into(),
        // 7: unknown kind, status, origin, level, bad numbers, bad flag
        format!(
            ",party,{agri},文件,,3501,2026-03-02 09:00,2026-03-02 10:00,done,mailed,x,-1,1e999,2.5,,,hamlet,maybe,,"
        ),
        // 8: bad end date
        format!(",document,{agri},文件,,3501,2026-03-02 09:00,soon,,,,,,,,,,,,"),
        // 9, 10: duplicate id
        format!("{dup},document,{agri},文件,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,"),
        format!("{dup},document,{agri},文件,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,"),
        // 11: validate: title, ends before start, targets in two provinces and repeated,
        // a meeting without levels
        format!(",meeting,{agri},,,3501;3601;3501,2026-03-02 09:00,2026-03-01 10:00,,,,,,,,,,,,"),
        // 12: validate: attendance above the targets, data request without forms or fields
        format!(",meeting,{agri},会,,350102,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,市级,,,"),
        format!(",data_request,{agri},表,,350102,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,"),
        // 14: required cells empty
        ",,,标题,,,,,,,,,,,,,,,,".into(),
    ];
    let text = format!("{DEMAND_HEADER}{}\n", rows.join("\n"));
    let e = import_demands(&csv("demands.csv", &text), &known()).unwrap_err();
    assert_errors(
        &e,
        &[
            (2, "targets", "unknown target unit 350199"),
            (2, "targets", "division code '3x' must be digits only"),
            (3, "source_body", &format!("unknown body {}", id(999))),
            (4, "source_body", "unknown body: no '不存在的厅' at unit 35"),
            (5, "source_body", "unknown body '农业农村厅' (expected a UUID"),
            (6, "source_body", "ambiguous body: 2 bodies named '市场监管局' at unit 3501"),
            (7, "kind", "unknown kind 'party'"),
            (7, "status", "unknown status 'done'"),
            (7, "origin", "unknown origin 'mailed'"),
            (7, "cadre_hours", "bad number 'x'"),
            (7, "cadres_required", "bad number '-1'"),
            (7, "host_person_days", "bad number '1e999'"),
            (7, "visitors", "bad number '2.5'"),
            (7, "attend_levels", "unknown level 'hamlet'"),
            (7, "video", "bad yes/no value 'maybe'"),
            (8, "ends_at", "bad date 'soon'"),
            (10, "id", &format!("duplicate id {dup}: rows 9 and 10")),
            (11, "title", "title must be 1 to 200 characters"),
            (11, "ends_at", "ends_at must not be before starts_at"),
            (11, "targets", "all target units must be in one province"),
            (11, "targets", "target unit 3501 is listed twice"),
            (11, "attend_levels", "a meeting must name the levels required to attend"),
            (12, "attend_levels", "attendance levels cannot be above the target units' level"),
            (13, "fields", "a data request must give its forms or fields"),
            (14, "kind", "must not be empty"),
            (14, "source_body", "must not be empty"),
            (14, "targets", "must not be empty"),
            (14, "starts_at", "must not be empty"),
            (14, "ends_at", "must not be empty"),
        ],
    );
}

#[test]
fn three_bad_rows_are_all_reported_and_nothing_is_returned() {
    let agri = id(AGRI);
    let text = format!(
        "{DEMAND_HEADER}\
         ,document,{agri},好,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,\n\
         ,document,{agri},坏,,3501,2026-03-32 09:00,2026-03-02 10:00,,,,,,,,,,,,\n\
         ,document,{agri},好,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,\n\
         ,document,{agri},坏,,3509,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,\n\
         ,work_group,{agri},坏,,3501,2026-03-02 09:00,2026-03-02 10:00,,,,,,,,,,,,\n"
    );
    let e = import_demands(&csv("demands.csv", &text), &known()).unwrap_err();
    let rows: Vec<usize> = e.errors().iter().filter_map(|e| e.row).collect();
    assert_eq!(rows, [3, 5, 6]);
    assert_eq!(e.total(), 3);
}

#[test]
fn problems_are_capped_but_counted() {
    let mut text = String::from("code,name\n");
    for _ in 0..1500 {
        text.push_str("x,坏\n");
    }
    let e = import_units(&csv("units.csv", &text), &Known::default()).unwrap_err();
    assert_eq!(e.errors().len(), MAX_ERRORS);
    assert_eq!(e.total(), 1500);
    assert!(e.to_string().ends_with("... and 500 more problems"));
    assert!(e.zh_report().ends_with("……另有 500 个问题未列出"));
}

// ------------------------------------------------------------------ encodings

const GB_TEXT: &str = "id,unit,name,kind,parent\r\n\
    01900000-0000-7000-8000-000000000101,35,省发展改革委,部门,\r\n\
    01900000-0000-7000-8000-000000000102,35,\"规划处，含“引号”\",处室,省发展改革委\r\n";

#[test]
fn gb18030_utf8_and_bom_read_the_same() {
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(GB_TEXT);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&gb).is_err(), "the test text must not be valid UTF-8 in GB18030");
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(GB_TEXT.as_bytes());
    let plain = read_table("bodies.csv", GB_TEXT.as_bytes()).unwrap();
    let from_gb = read_table("bodies.csv", &gb).unwrap();
    let from_bom = read_table("bodies.csv", &bom).unwrap();
    assert_eq!(plain, from_gb);
    assert_eq!(plain, from_bom);
    let bodies = import_bodies(&from_gb, &known()).unwrap();
    assert_eq!(bodies[1].name, "规划处，含“引号”");
    assert_eq!(bodies, import_bodies(&plain, &known()).unwrap());
    // GBK-only text (a subset of GB18030) reads the same way.
    let (gbk, _, _) = encoding_rs::GBK.encode(GB_TEXT);
    assert_eq!(read_table("bodies.csv", &gbk).unwrap(), plain);
}

#[test]
fn invalid_bytes_are_a_wrong_encoding_error() {
    let mut bytes = b"code,name\n35,".to_vec();
    bytes.extend_from_slice(&[0xFF, 0xFE, 0x80]);
    bytes.extend_from_slice(b"\n");
    let e = read_table("units.csv", &bytes).unwrap_err();
    assert_eq!(e.total(), 1);
    let err = &e.errors()[0];
    assert_eq!(err.row_label, RowLabel::Line);
    assert_eq!(err.row, Some(2));
    assert!(err.en.contains("wrong encoding") && err.en.contains("offset 13"), "{}", err.en);
    // A UTF-8 BOM followed by bytes that are not UTF-8 is refused, not read as GB18030.
    let mut bytes = b"\xEF\xBB\xBFcode,name\n35,".to_vec();
    bytes.extend_from_slice(&encoding_rs::GB18030.encode("福建").0);
    let e = read_table("units.csv", &bytes).unwrap_err();
    assert!(e.errors()[0].en.contains("wrong encoding"));
    assert!(e.to_string().starts_with("units.csv line 2: wrong encoding"), "{e}");
}

// ------------------------------------------------------------------ XLSX and JSON input

#[test]
fn xlsx_cells_of_every_type_become_text() {
    use rust_xlsxwriter::{ExcelDateTime, Format as XFormat, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let date = XFormat::new().set_num_format("yyyy/mm/dd hh:mm");
    let header =
        ["kind", "source_body", "title", "targets", "starts_at", "ends_at", "cadre_hours", "forms", "video"];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    sheet.write_string(1, 0, "填表报数").unwrap();
    sheet.write_string(1, 1, "35/省农业农村厅").unwrap();
    sheet.write_string(1, 2, "'=统计表").unwrap();
    sheet.write_number(1, 3, 350102001001.0).unwrap();
    let start = ExcelDateTime::from_ymd(2026, 3, 2).unwrap().and_hms(9, 30, 0).unwrap();
    let end = ExcelDateTime::from_ymd(2026, 3, 2).unwrap().and_hms(17, 0, 15).unwrap();
    sheet.write_datetime_with_format(1, 4, start, &date).unwrap();
    sheet.write_datetime_with_format(1, 5, end, &date).unwrap();
    sheet.write_number(1, 6, 1.25).unwrap();
    sheet.write_number(1, 7, 3).unwrap();
    sheet.write_boolean(1, 8, true).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let t = read_table("d.xlsx", &bytes).unwrap();
    assert_eq!(t.rows[0].number, 2);
    let d = &import_demands(&t, &known()).unwrap()[0];
    assert_eq!(d.title, "=统计表");
    assert_eq!(d.targets, [code("350102001001")]);
    assert_eq!(d.starts_at.to_string(), "2026-03-02 09:30:00");
    assert_eq!(d.ends_at.to_string(), "2026-03-02 17:00:15");
    assert_eq!(d.cost.cadre_hours, 1.25);
    assert_eq!(d.cost.forms, 3);
    assert!(d.cost.video);
}

#[test]
fn xlsx_garbage_is_reported() {
    let e = read_table("x.xlsx", b"not a zip").unwrap_err();
    assert!(e.to_string().starts_with("x.xlsx: not a valid XLSX file"), "{e}");
}

#[test]
fn json_items_take_strings_numbers_bools_and_arrays() {
    let json = format!(
        r#"[
          {{"kind": "meeting", "source_body": "{agri}", "title": "会", "targets": ["3501", "350102"],
            "starts_at": "2026-03-02 09:00", "ends_at": "2026-03-02 10:00",
            "attend_levels": ["prefecture", "县级"], "video": true, "cadre_hours": 2, "forms": 1.0,
            "fields": ["a;b", "c"], "topic": null}},
          {{"kind": "meeting", "source_body": "{agri}", "title": "会", "targets": "3501",
            "starts_at": "2026-03-02 09:00", "ends_at": "2026-03-02 10:00", "colour": "red",
            "attend_levels": "prefecture", "video": {{"x": 1}}}}
        ]"#,
        agri = id(AGRI)
    );
    let t = read_table("d.json", json.as_bytes());
    let e = t.unwrap_err();
    assert_eq!(
        errors(&e),
        [(Some(2), Some("video".into()), "value must be a string, number, boolean or array of those".into())]
    );
    let json = json.replace(r#""video": {"x": 1}"#, r#""video": 0"#);
    let t = read_table("d.json", json.as_bytes()).unwrap();
    let e = import_demands(&t, &known()).unwrap_err();
    assert_eq!(errors(&e), [(Some(2), Some("colour".into()), e.errors()[0].en.clone())]);
    assert!(e.to_string().starts_with("d.json item 2, column colour: unknown column 'colour'"), "{e}");
    let json = json.replace(r#""colour": "red","#, "");
    let t = read_table_as("upload", json.as_bytes(), Format::Json).unwrap();
    let d = import_demands(&t, &known()).unwrap();
    assert_eq!(d[0].targets, [code("3501"), code("350102")]);
    assert_eq!(d[0].cost.fields, ["a;b", "c"]);
    assert_eq!(d[0].cost.forms, 1);
    assert_eq!(d[0].cost.cadre_hours, 2.0);
    assert_eq!(d[0].cost.attend_levels, [Level::Prefecture, Level::County]);
    assert!(!d[1].cost.video);
}

#[test]
fn json_that_is_not_an_array_of_objects_is_refused() {
    let e = read_table("d.json", b"{\"a\": 1}").unwrap_err();
    assert!(e.to_string().contains("must be an array of objects"));
    let e = read_table("d.json", b"[1, {\"code\": \"35\"}]").unwrap_err();
    assert_eq!(errors(&e)[0].0, Some(1));
    let e = read_table("d.json", b"[\n{\"code\": }\n]").unwrap_err();
    assert_eq!(e.errors()[0].row, Some(2));
    assert_eq!(e.errors()[0].row_label, RowLabel::Line);
    let e = read_table("d.json", b"[{\"code\": [\"35\"], \"name\": \"x\"}]").unwrap();
    let e = import_units(&e, &Known::default()).unwrap_err();
    assert_errors(&e, &[(1, "code", "expected a single value")]);
}

#[test]
fn csv_rows_are_counted_as_a_spreadsheet_shows_them() {
    // A cell with a line break is one row; a blank line is a row of its own.
    let t = csv("units.csv", "code,name\n35,\"福\n建\"\n\n3501,\n350102,\r\n\r\n350103,\r\n");
    let e = import_units(&t, &Known::default()).unwrap_err();
    assert_errors(
        &e,
        &[(4, "name", "name must not be empty"), (5, "name", "must not"), (7, "name", "must not")],
    );
}

#[test]
fn cells_beyond_the_header_are_refused() {
    let t = csv("units.csv", "code,name\n35,福建省,多余\n3501,福州市,\n");
    let e = import_units(&t, &Known::default()).unwrap_err();
    assert_eq!(errors(&e), [(Some(2), None, "the row has cells beyond the 2 columns of the header".into())]);
}
