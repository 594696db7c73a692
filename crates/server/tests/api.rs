//! The JSON API behaves as documented: the unit tree, search and detail; bodies with
//! their divisions; a demand's whole life (create, read, update with a revision, a stale
//! update refused with 409, cancel that keeps it listed with its history); every list
//! filter and keyset pagination; and every error as JSON `{code, message_zh, message_en,
//! fields?}` with the right status, whichever layer produced it (CSRF included).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{TestApp, Who, at, id, input};
use serde_json::{Value, json};
use tongxin_domain::DemandKind;
use tongxin_store_conformance::demand;

fn names(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect()
}

fn codes(v: &Value) -> Vec<String> {
    v.as_array().unwrap().iter().map(|u| u["code"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn units_tree_search_and_detail() {
    let app = TestApp::new().await;
    let who = Who::VillageCadre;
    assert_eq!(codes(&app.get(who, "/api/units").await.json()), ["35"]);
    assert_eq!(names(&app.get(who, "/api/units?parent=35").await.json()), ["福州市", "厦门市"]);
    assert_eq!(app.get(who, "/api/units?parent=350102001").await.json().as_array().unwrap().len(), 2);

    let found = app.get(who, "/api/units/search?q=%E7%A4%BE%E5%8C%BA").await.json(); // 社区
    assert_eq!(found.as_array().unwrap().len(), 3);
    assert_eq!(app.get(who, "/api/units/search?q=350102").await.json().as_array().unwrap().len(), 6);
    assert_eq!(codes(&app.get(who, "/api/units/search?q=350102&limit=1").await.json()), ["350102"]);

    let detail = app.get(who, "/api/units/350102001").await.json();
    assert_eq!(detail["unit"]["name"], "鼓东街道");
    assert_eq!(codes(&detail["ancestors"]), ["35", "3501", "350102"]);
    assert_eq!(codes(&detail["children"]), ["350102001001", "350102001002"]);

    app.get(who, "/api/units/350199").await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get(who, "/api/units/35x").await.invalid_fields(), ["code"]);
    assert_eq!(app.get(who, "/api/units?parent=abc").await.invalid_fields(), ["parent"]);
    assert_eq!(app.get(who, "/api/units/search").await.invalid_fields(), ["q"]);
    assert_eq!(app.get(who, "/api/units/search?q=%E7%A4%BE&limit=-1").await.invalid_fields(), ["limit"]);
}

#[tokio::test]
async fn bodies_are_listed_with_their_divisions() {
    let app = TestApp::new().await;
    let who = Who::TownshipCadre;
    let all = app.get(who, "/api/bodies?unit=35").await.json();
    assert_eq!(all.as_array().unwrap().len(), 4, "{all}");
    assert_eq!(names(&app.get(who, "/api/bodies?unit=3501").await.json()), ["福州市教育局"]);

    let dept = app.get(who, &format!("/api/bodies/{}", app.fx.department.id)).await.json();
    assert_eq!(dept["body"]["name"], "福建省农业农村厅");
    assert!(dept["department"].is_null());
    let mut divisions = names(&dept["divisions"]);
    divisions.sort();
    let mut expected = vec!["种植业管理处".to_owned(), "农田建设管理处".to_owned()];
    expected.sort();
    assert_eq!(divisions, expected);

    let division = app.get(who, &format!("/api/bodies/{}", app.fx.division_a.id)).await.json();
    assert_eq!(division["department"]["id"], app.fx.department.id.to_string());
    assert_eq!(division["divisions"], json!([]));

    assert_eq!(app.get(who, "/api/bodies").await.invalid_fields(), ["unit"]);
    assert_eq!(app.get(who, "/api/bodies/not-a-uuid").await.invalid_fields(), ["id"]);
    app.get(who, &format!("/api/bodies/{}", uuid::Uuid::nil()))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn a_demand_is_created_read_updated_refused_when_stale_and_cancelled_with_history() {
    let app = TestApp::new().await;
    let created =
        app.create(Who::DivisionStaff, &input(app.fx.division_a.id, &["350102001"], at(4, 1, 9))).await;
    assert_eq!(created["revision"], 1);
    assert_eq!(created["status"], "planned");
    assert_eq!(created["origin"], "registered");
    assert_eq!(created["source_department"], app.fx.department.id.to_string(), "set from the body");
    let uri = format!("/api/demands/{}", created["id"].as_str().unwrap());
    assert_eq!(app.get(Who::TownshipCadre, &uri).await.json(), created);

    let mut change = input(app.fx.division_a.id, &["350102001", "350102002"], at(4, 2, 9));
    change["title"] = json!("高标准农田建设专项督查（改期）");
    change["revision"] = json!(1);
    let updated = app.put_json(Who::DivisionStaff, &uri, &change).await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text());
    let updated = updated.json();
    assert_eq!(updated["revision"], 2);
    assert_eq!(updated["title"], "高标准农田建设专项督查（改期）");
    assert_eq!(updated["targets"], json!(["350102001", "350102002"]));

    // Someone still holding revision 1 is told the record changed, and changes nothing.
    change["title"] = json!("stale");
    let stale = app.put_json(Who::DivisionStaff, &uri, &change).await.error(StatusCode::CONFLICT, "conflict");
    assert!(stale["message_en"].as_str().unwrap().contains("reload"), "{stale}");
    assert_eq!(app.get(Who::ProvinceAdmin, &uri).await.json()["revision"], 2);

    // The department's staff may cancel their division's demand.
    let cancelled =
        app.post_json(Who::DepartmentStaff, &format!("{uri}/cancel"), &json!({"revision": 2})).await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text());
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert_eq!(cancelled.json()["revision"], 3);
    app.post_json(Who::DepartmentStaff, &format!("{uri}/cancel"), &json!({"revision": 3}))
        .await
        .error(StatusCode::CONFLICT, "conflict");

    // Nothing vanishes: still listed, with every change and who made it.
    let listed = app.get(Who::TownshipCadre, "/api/demands?unit=350102001").await;
    assert!(listed.ids().contains(&created["id"].as_str().unwrap().to_owned()));
    let cancelled_only = app.get(Who::ProvinceAdmin, "/api/demands?status=cancelled").await;
    assert_eq!(cancelled_only.ids(), [created["id"].as_str().unwrap()]);
    let history = app.get(Who::TownshipCadre, &format!("{uri}/history")).await.json();
    let summary: Vec<(u64, &str, &str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["revision"].as_u64().unwrap(),
                r["actor"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["demand"]["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "staff.zhongzhi", "created", "planned"),
            (2, "staff.zhongzhi", "updated", "planned"),
            (3, "staff.nongye", "cancelled", "cancelled"),
        ]
    );
}

#[tokio::test]
async fn list_filters_narrow_by_unit_cascade_body_kind_status_and_time() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let list = |q: &'static str| {
        let app = &app;
        async move { app.get(Who::ProvinceAdmin, &format!("/api/demands?{q}")).await.ids() }
    };
    // A unit filter includes its descendants.
    assert_eq!(
        list("unit=350102").await,
        [id(&s.village), id(&s.county), id(&s.sibling_township), id(&s.reported)]
    );
    assert_eq!(
        list("unit=3501").await,
        [
            id(&s.village),
            id(&s.county),
            id(&s.sibling_county),
            id(&s.sibling_township),
            id(&s.cascade),
            id(&s.reported)
        ]
    );
    // cascade=1 adds meetings at ancestors that require this level to attend.
    assert_eq!(list("unit=350102001").await, [id(&s.village), id(&s.reported)]);
    assert_eq!(list("unit=350102001&cascade=1").await, [id(&s.village), id(&s.cascade), id(&s.reported)]);
    // A department's filter includes its divisions; a division's only itself.
    let dept = app.fx.department.id;
    assert_eq!(
        app.get(Who::ProvinceAdmin, &format!("/api/demands?body={dept}")).await.ids(),
        [
            id(&s.village),
            id(&s.county),
            id(&s.sibling_county),
            id(&s.sibling_township),
            id(&s.cascade),
            id(&s.xiamen)
        ]
    );
    let division_b = app.fx.division_b.id;
    assert_eq!(
        app.get(Who::ProvinceAdmin, &format!("/api/demands?body={division_b}")).await.ids(),
        [id(&s.county), id(&s.xiamen)]
    );
    assert_eq!(list("kind=inspection").await, [id(&s.county), id(&s.sibling_township)]);
    assert_eq!(list("kind=%E4%BC%9A%E8%AE%AE").await, [id(&s.cascade)], "the Chinese name 会议 works too");
    assert_eq!(list("status=planned&unit=350203").await, [id(&s.xiamen)]);
    assert!(list("status=cancelled").await.is_empty());
    assert_eq!(
        list("from=2026-03-04&to=2026-03-07").await,
        [id(&s.sibling_county), id(&s.sibling_township), id(&s.cascade)]
    );
    assert_eq!(list("from=2026-03-10T09:30&to=2026-03-10%2010:00").await, [id(&s.reported)]);
    // Without a unit the list is the account's scope.
    assert_eq!(app.get(Who::TownshipCadre, "/api/demands").await.ids(), [id(&s.village), id(&s.reported)]);

    // Every bad parameter is named, all at once.
    let r = app
        .get(
            Who::ProvinceAdmin,
            "/api/demands?unit=12345&body=x&kind=party&status=gone&from=2026-13-01&to=soon&after=zzz&limit=0",
        )
        .await;
    let mut fields = r.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["after", "body", "from", "kind", "limit", "status", "to", "unit"]);
    assert_eq!(
        app.get(Who::ProvinceAdmin, "/api/demands?from=12026-01-01").await.invalid_fields(),
        ["from"],
        "a year no ledger entry can have"
    );
}

#[tokio::test]
async fn keyset_pagination_follows_the_next_cursor_exactly() {
    let app = TestApp::new().await;
    let mut expected = Vec::new();
    for i in 0..25u32 {
        // Three demands share each start time, so the id breaks ties.
        let d = demand(DemandKind::ResearchVisit, &app.fx.division_a, &["350102001002"], at(5, 1 + i / 3, 9));
        expected.push(app.store.create_demand(d, "seed").await.unwrap());
    }
    expected.sort_by_key(|d| (d.starts_at, d.id));
    let expected: Vec<String> = expected.iter().map(|d| d.id.to_string()).collect();

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut uri = "/api/demands?unit=350102001002&limit=10".to_owned();
    loop {
        let page = app.get(Who::CountyOffice, &uri).await;
        let ids = page.ids();
        assert!(ids.len() <= 10);
        seen.extend(ids);
        pages += 1;
        match page.json()["next"].as_str() {
            Some(next) => {
                uri = format!("/api/demands?unit=350102001002&limit=10&after={}", common::encode(next))
            }
            None => break,
        }
        assert!(pages < 10, "pagination terminates");
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
}

#[tokio::test]
async fn sign_in_and_sign_out_manage_the_session_cookie() {
    let app = TestApp::new().await;
    let wrong = app
        .post_json(
            Who::Anonymous,
            "/api/session",
            &json!({"username": "staff.nongye", "password": "nope-nope"}),
        )
        .await;
    let wrong = wrong.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    let unknown = app
        .post_json(Who::Anonymous, "/api/session", &json!({"username": "nobody", "password": "nope-nope"}))
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    assert_eq!(wrong, unknown, "the same answer for an unknown user and a wrong password");

    let ok = app
        .post_json(
            Who::Anonymous,
            "/api/session",
            &json!({"username": "office.gulou", "password": common::PASSWORD}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.json()["role"], "office");
    assert_eq!(ok.json()["scope"], "350102");
    assert!(ok.json().get("password_hash").is_none());
    let set_cookie = ok.header(header::SET_COOKIE).unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    let cookie = ok.session_cookie().unwrap();

    let me = |cookie: String| {
        Request::get("/api/demands").header(header::COOKIE, cookie).body(Body::empty()).unwrap()
    };
    assert_eq!(app.send(me(cookie.clone())).await.status, StatusCode::OK);
    let out = app
        .send(
            Request::delete("/api/session")
                .header(header::COOKIE, cookie.clone())
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert!(out.header(header::SET_COOKIE).unwrap().contains("Max-Age=0"));
    app.send(me(cookie)).await.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    app.send(me("tongxin_session=forged".into())).await.error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn every_error_is_json_with_the_right_status_and_code() {
    let app = TestApp::new().await;
    let before = app.demand_count().await;
    let admin = Who::ProvinceAdmin;
    let body = app.fx.division_a.id;

    // 401: every API endpoint but sign-in and the OpenAPI document needs a session.
    for uri in
        ["/api/demands", "/api/units", "/api/units/35", "/api/units/search?q=35", "/api/bodies?unit=35"]
    {
        app.get(Who::Anonymous, uri).await.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    app.post_json(Who::Anonymous, "/api/demands", &input(body, &["350102"], at(4, 1, 9)))
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // 403: a cadre cannot change a demand they can see.
    let uri = format!("/api/demands/{}", app.seed.village.id);
    app.post_json(Who::TownshipCadre, &format!("{uri}/cancel"), &json!({"revision": 1}))
        .await
        .error(StatusCode::FORBIDDEN, "forbidden");

    // 404: no such demand, no such endpoint.
    app.get(admin, &format!("/api/demands/{}", uuid::Uuid::now_v7()))
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    app.get(admin, "/api/nothing/here").await.error(StatusCode::NOT_FOUND, "not_found");
    app.get(Who::Anonymous, "/api").await.error(StatusCode::NOT_FOUND, "not_found");
    assert_eq!(app.get(admin, "/api/demands/42").await.invalid_fields(), ["id"]);

    // 405 from the router itself, still JSON.
    let r = app.send(Request::patch("/api/demands").body(Body::empty()).unwrap()).await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");

    // 422 naming fields, from the domain, the server and the store.
    let mut bad = input(body, &["350102001", "350199999"], at(4, 1, 9));
    assert_eq!(app.post_json(admin, "/api/demands", &bad).await.invalid_fields(), ["targets[1]"]);
    bad = input(body, &["350102001"], at(4, 1, 9));
    bad["ends_at"] = json!("2026-03-31T09:00:00");
    bad["title"] = json!(" ");
    let mut fields = app.post_json(admin, "/api/demands", &bad).await.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["ends_at", "title"]);
    bad = input(body, &["350102001"], at(4, 1, 9));
    bad["kind"] = json!("meeting");
    assert_eq!(app.post_json(admin, "/api/demands", &bad).await.invalid_fields(), ["cost.attend_levels"]);
    bad["cost"]["attend_levels"] = json!(["county"]);
    assert_eq!(
        app.post_json(admin, "/api/demands", &bad).await.invalid_fields(),
        ["cost.attend_levels"],
        "a township meeting cannot require the county to attend"
    );
    bad = input(uuid::Uuid::now_v7(), &["350102001"], at(4, 1, 9));
    assert_eq!(app.post_json(admin, "/api/demands", &bad).await.invalid_fields(), ["source_body"]);
    bad = input(body, &["350102001"], at(4, 1, 9));
    bad["title"] = json!("bad\u{0}title");
    bad["cost"]["fields"] = json!(["常住人口", "a\u{7}b"]);
    let mut fields = app.post_json(admin, "/api/demands", &bad).await.invalid_fields();
    fields.sort();
    assert_eq!(fields, ["cost.fields[1]", "title"], "control characters are refused");
    bad = input(body, &["350102001"], at(4, 1, 9));
    bad["starts_at"] = json!("+20260-04-01T09:00:00");
    assert!(
        app.post_json(admin, "/api/demands", &bad).await.invalid_fields().contains(&"starts_at".to_owned())
    );

    // 422 for well-formed JSON of the wrong shape, naming the path.
    let shape = |f: &dyn Fn(&mut Value)| {
        let mut v = input(body, &["350102001"], at(4, 1, 9));
        f(&mut v);
        v
    };
    let cases: [(Value, &str); 7] = [
        (shape(&|v| v["targets"] = json!(["350102001", 12])), "targets[1]"),
        (shape(&|v| v["targets"] = json!(["350102001", "3501x"])), "targets[1]"),
        (shape(&|v| v["cost"]["cadre_hours"] = json!("many")), "cost.cadre_hours"),
        (shape(&|v| v["cost"]["attend_levels"] = json!(["galaxy"])), "cost.attend_levels[0]"),
        (shape(&|v| v["kind"] = json!("party")), "kind"),
        (shape(&|v| v.as_object_mut().unwrap().remove("title").map(drop).unwrap()), "title"),
        (shape(&|v| v["extra"] = json!(1)), "extra"),
    ];
    for (v, field) in cases {
        let r = app.post_json(admin, "/api/demands", &v).await;
        assert_eq!(r.invalid_fields(), [field], "{v}");
    }
    let r = app.put_json(admin, &uri, &json!({"revision": -1})).await;
    assert_eq!(r.invalid_fields(), ["revision"]);

    // 400 for malformed JSON, naming where it broke.
    let r = app.raw(admin, Method::POST, "/api/demands", "application/json", b"{\"kind\": ".to_vec()).await;
    let v = r.error(StatusCode::BAD_REQUEST, "bad_request");
    assert!(v["message_en"].as_str().unwrap().contains("line 1"), "{v}");
    let r = app
        .raw(admin, Method::POST, "/api/demands", "application/json", b"{\"kind\": \"inspection\",}".to_vec())
        .await;
    r.error(StatusCode::BAD_REQUEST, "bad_request");
    let r = app.raw(admin, Method::POST, "/api/demands", "application/json", vec![0xff, 0xfe, 0x00]).await;
    r.error(StatusCode::BAD_REQUEST, "bad_request");
    // 415 without a JSON content type.
    let r = app.raw(admin, Method::POST, "/api/demands", "text/plain", b"{}".to_vec()).await;
    r.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // 413 over the body limit.
    let r =
        app.raw(admin, Method::POST, "/api/demands", "application/json", vec![b' '; 3 * 1024 * 1024]).await;
    r.error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // 400 for a path segment that is not UTF-8.
    app.get(admin, "/api/demands/%FF%FE").await.error(StatusCode::BAD_REQUEST, "bad_request");

    assert_eq!(app.demand_count().await, before, "no refused request wrote anything");
}

#[tokio::test]
async fn a_cross_site_post_is_refused_and_changes_nothing() {
    let app = TestApp::new().await;
    let before = app.demand_count().await;
    let cookie = app.cookie(Who::ProvinceAdmin).await.unwrap();
    let body = input(app.fx.division_a.id, &["350102001"], at(4, 1, 9)).to_string();
    let post = |extra: (&'static str, &'static str)| {
        Request::post("/api/demands")
            .header(header::HOST, "tongxin.test")
            .header(header::COOKIE, cookie.clone())
            .header(header::CONTENT_TYPE, "application/json")
            .header(extra.0, extra.1)
            .body(Body::from(body.clone()))
            .unwrap()
    };
    app.send(post(("sec-fetch-site", "cross-site"))).await.error(StatusCode::FORBIDDEN, "cross_site");
    app.send(post(("origin", "https://evil.example"))).await.error(StatusCode::FORBIDDEN, "cross_site");
    app.send(post(("origin", "null"))).await.error(StatusCode::FORBIDDEN, "cross_site");
    assert_eq!(app.demand_count().await, before);

    // The cancel form and the sign-in form are protected the same way.
    let cancel = Request::post(format!("/demands/{}/cancel", app.seed.village.id))
        .header(header::HOST, "tongxin.test")
        .header(header::COOKIE, cookie.clone())
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("revision=1"))
        .unwrap();
    assert_eq!(app.send(cancel).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.demand(app.seed.village.id).await.unwrap().unwrap().revision, 1);
    let login = Request::post("/login")
        .header(header::HOST, "tongxin.test")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(format!("username=admin.fujian&password={}", common::PASSWORD)))
        .unwrap();
    let r = app.send(login).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.session_cookie().is_none());

    // The same request from the same origin goes through.
    let r = app.send(post(("origin", "http://tongxin.test"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let r = app.send(post(("sec-fetch-site", "same-origin"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(app.demand_count().await, before + 2);
}
