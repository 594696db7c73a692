//! The authorisation matrix: for every demand endpoint and every role and scope (cadres of
//! a township, of a village under it and of the sibling county; staff of a department, of
//! one of its divisions and of a city bureau; a county's burden-reduction office; the
//! province's administrator; anonymous), who may list, read, create, update and cancel
//! which demands. A demand an account may not see answers 404 exactly like one that does
//! not exist, so nobody learns what exists outside their branch.

mod common;

use axum::http::StatusCode;
use common::{TestApp, Who, at, id, input};
use serde_json::{Value, json};
use tongxin_domain::Demand;
use uuid::Uuid;

use Who::*;

/// The roles in the order of the matrices below (anonymous is checked separately).
const ROLES: [Who; 8] = [
    TownshipCadre,
    VillageCadre,
    SiblingCountyCadre,
    DepartmentStaff,
    DivisionStaff,
    CityBureauStaff,
    CountyOffice,
    ProvinceAdmin,
];

/// The JSON a client sends to update `d`, based on `revision`.
fn update_of(d: &Demand, revision: u32) -> Value {
    let mut v = serde_json::to_value(d).unwrap();
    let o = v.as_object_mut().unwrap();
    for k in ["id", "source_department", "origin"] {
        o.remove(k);
    }
    o.insert("revision".into(), json!(revision));
    v
}

#[tokio::test]
async fn reading_a_demand_follows_the_branch_and_hidden_ones_do_not_exist() {
    let app = TestApp::new().await;
    let s = &app.seed;
    // Columns: ROLES. `true`: the demand is readable; `false`: 404.
    let matrix: [(&Demand, [bool; 8]); 7] = [
        (&s.village, [true, true, false, true, true, true, true, true]),
        (&s.county, [true, true, false, true, true, true, true, true]),
        (&s.sibling_county, [false, false, true, true, true, true, false, true]),
        (&s.sibling_township, [false, false, false, true, true, true, true, true]),
        (&s.cascade, [true, true, true, true, true, true, true, true]),
        (&s.xiamen, [false, false, false, true, true, false, false, true]),
        (&s.reported, [true, true, false, true, true, true, true, true]),
    ];
    let nowhere = app.get(ProvinceAdmin, &format!("/api/demands/{}", Uuid::now_v7())).await;
    let nowhere = nowhere.error(StatusCode::NOT_FOUND, "not_found");
    for (d, row) in matrix {
        for (who, visible) in ROLES.into_iter().zip(row) {
            for uri in [format!("/api/demands/{}", d.id), format!("/api/demands/{}/history", d.id)] {
                let r = app.get(who, &uri).await;
                if visible {
                    assert_eq!(r.status, StatusCode::OK, "{who:?} reads {uri} ({}): {}", d.title, r.text());
                } else {
                    let body = r.error(StatusCode::NOT_FOUND, "not_found");
                    assert_eq!(body, nowhere, "{who:?} {uri}: hidden looks exactly like missing");
                }
            }
        }
        app.get(Anonymous, &format!("/api/demands/{}", d.id))
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

#[tokio::test]
async fn listing_shows_each_account_its_scope_and_refuses_units_outside_it() {
    let app = TestApp::new().await;
    let s = &app.seed;
    let all: Vec<String> = {
        let mut v: Vec<&Demand> = s.all().to_vec();
        v.sort_by_key(|d| (d.starts_at, d.id));
        v.into_iter().map(id).collect()
    };
    let expect: [(Who, Vec<String>); 8] = [
        (TownshipCadre, vec![id(&s.village), id(&s.reported)]),
        (VillageCadre, vec![id(&s.village)]),
        (SiblingCountyCadre, vec![id(&s.sibling_county)]),
        (DepartmentStaff, all.clone()),
        (DivisionStaff, all.clone()),
        (
            CityBureauStaff,
            vec![
                id(&s.village),
                id(&s.county),
                id(&s.sibling_county),
                id(&s.sibling_township),
                id(&s.cascade),
                id(&s.reported),
            ],
        ),
        (CountyOffice, vec![id(&s.village), id(&s.county), id(&s.sibling_township), id(&s.reported)]),
        (ProvinceAdmin, all.clone()),
    ];
    for (who, ids) in expect {
        assert_eq!(app.get(who, "/api/demands").await.ids(), ids, "{who:?} lists their scope");
    }
    app.get(Anonymous, "/api/demands").await.error(StatusCode::UNAUTHORIZED, "unauthenticated");

    // A township cadre's calendar list includes the meeting cascading down to it, never
    // the sibling township's or the sibling county's demands.
    assert_eq!(
        app.get(TownshipCadre, "/api/demands?unit=350102001&cascade=1").await.ids(),
        [id(&s.village), id(&s.cascade), id(&s.reported)]
    );
    assert_eq!(
        app.get(SiblingCountyCadre, "/api/demands?unit=350103&cascade=1").await.ids(),
        [id(&s.sibling_county), id(&s.cascade)]
    );

    // Units outside the scope (above it, beside it) are refused.
    for (who, unit) in [
        (TownshipCadre, "350102"),
        (TownshipCadre, "350102002"),
        (TownshipCadre, "350103"),
        (VillageCadre, "350102001"),
        (SiblingCountyCadre, "350102"),
        (CountyOffice, "3501"),
        (CityBureauStaff, "3502"),
    ] {
        app.get(who, &format!("/api/demands?unit={unit}")).await.error(StatusCode::FORBIDDEN, "forbidden");
    }

    // Staff listing their own body see its demands wherever they are; another body's
    // only inside their scope. Nobody else gains anything from `body`.
    let far = app
        .store
        .create_demand(
            tongxin_store_conformance::demand(
                tongxin_domain::DemandKind::Document,
                &app.fx.other,
                &["350203"],
                at(3, 20, 9),
            ),
            "seed",
        )
        .await
        .unwrap();
    let other = app.fx.other.id;
    assert_eq!(
        app.get(CityBureauStaff, &format!("/api/demands?body={other}")).await.ids(),
        [id(&s.reported), id(&far)]
    );
    assert_eq!(app.get(TownshipCadre, &format!("/api/demands?body={other}")).await.ids(), [id(&s.reported)]);
    assert_eq!(app.get(CityBureauStaff, &format!("/api/demands/{}", far.id)).await.status, StatusCode::OK);
    let dept = app.fx.department.id;
    assert_eq!(
        app.get(CityBureauStaff, &format!("/api/demands?body={dept}")).await.ids(),
        [id(&s.village), id(&s.county), id(&s.sibling_county), id(&s.sibling_township), id(&s.cascade)]
    );
}

#[tokio::test]
async fn creating_follows_role_body_and_scope() {
    let app = TestApp::new().await;
    let fx = &app.fx;
    const C: u16 = 201;
    const F: u16 = 403;
    // (source body, target, origin given, expected per ROLES)
    let cases: [(Uuid, &str, Option<&str>, [u16; 8]); 7] = [
        // A division's demand on a township.
        (fx.division_a.id, "350102001", None, [C, F, F, C, C, F, C, C]),
        // The sibling division's: not for the first division's staff.
        (fx.division_b.id, "350102001", None, [C, F, F, C, F, F, C, C]),
        // The department's on Xiamen: only its staff and the province's administrator.
        (fx.department.id, "350203", None, [F, F, F, C, F, F, F, C]),
        // The city bureau's on a village.
        (fx.other.id, "350102001001", None, [C, C, F, F, F, C, C, C]),
        // The city bureau's outside its city: only the province's administrator.
        (fx.other.id, "350203", None, [F, F, F, F, F, F, F, C]),
        // Registering (as a body does) is not for cadres.
        (fx.division_a.id, "350102001001", Some("registered"), [F, F, F, C, C, F, C, C]),
        // Recording what arrived (as a unit does) is not for body staff.
        (fx.division_a.id, "350102001001", Some("reported"), [C, C, F, F, F, F, C, C]),
    ];
    let mut created = 0;
    for (body, target, origin, row) in cases {
        let mut v = input(body, &[target], at(4, 1, 9));
        if let Some(o) = origin {
            v["origin"] = json!(o);
        }
        for (who, expected) in ROLES.into_iter().zip(row) {
            let before = app.demand_count().await;
            let r = app.post_json(who, "/api/demands", &v).await;
            assert_eq!(r.status.as_u16(), expected, "{who:?} creates {v}: {}", r.text());
            if expected == C {
                created += 1;
                let d = r.json();
                let cadre = matches!(who, TownshipCadre | VillageCadre | SiblingCountyCadre);
                let want = origin.unwrap_or(if cadre { "reported" } else { "registered" });
                assert_eq!(d["origin"], want, "{who:?}");
                assert_eq!(
                    app.get(who, &format!("/api/demands/{}", d["id"].as_str().unwrap())).await.status,
                    200
                );
            } else {
                r.error(StatusCode::FORBIDDEN, "forbidden");
                assert_eq!(app.demand_count().await, before, "a refused create writes nothing");
            }
        }
        let v = input(body, &[target], at(4, 1, 9));
        app.post_json(Anonymous, "/api/demands", &v).await.error(StatusCode::UNAUTHORIZED, "unauthenticated");
    }
    assert_eq!(app.demand_count().await, 7 + created);
}

/// What `who` gets when updating or cancelling a demand with a stale revision: 409 once
/// every permission check has passed, so the matrix changes nothing.
const OK: u16 = 409;
const NO: u16 = 403;
const GONE: u16 = 404;

#[tokio::test]
async fn updating_and_cancelling_follow_role_body_and_scope() {
    let app = TestApp::new().await;
    let s = &app.seed;
    // Columns: ROLES.
    let matrix: [(&Demand, [u16; 8]); 7] = [
        (&s.village, [NO, NO, GONE, OK, OK, NO, OK, OK]),
        (&s.county, [NO, NO, GONE, OK, NO, NO, OK, OK]),
        (&s.sibling_county, [GONE, GONE, NO, OK, NO, NO, GONE, OK]),
        (&s.sibling_township, [GONE, GONE, GONE, OK, OK, NO, OK, OK]),
        (&s.cascade, [NO, NO, NO, OK, NO, NO, NO, OK]),
        (&s.xiamen, [GONE, GONE, GONE, OK, NO, GONE, GONE, OK]),
        // Recorded by the township: its source body cannot rewrite or cancel it away.
        (&s.reported, [NO, NO, GONE, NO, NO, NO, OK, OK]),
    ];
    for (d, row) in matrix {
        let uri = format!("/api/demands/{}", d.id);
        for (who, expected) in ROLES.into_iter().zip(row) {
            let r = app.put_json(who, &uri, &update_of(d, 99)).await;
            assert_eq!(r.status.as_u16(), expected, "{who:?} updates {}: {}", d.title, r.text());
            r.json();
            let r = app.post_json(who, &format!("{uri}/cancel"), &json!({"revision": 99})).await;
            assert_eq!(r.status.as_u16(), expected, "{who:?} cancels {}: {}", d.title, r.text());
            r.json();
        }
        app.put_json(Anonymous, &uri, &update_of(d, 1))
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthenticated");
        app.post_json(Anonymous, &format!("{uri}/cancel"), &json!({"revision": 1}))
            .await
            .error(StatusCode::UNAUTHORIZED, "unauthenticated");
        let stored = app.store.demand(d.id).await.unwrap().unwrap();
        assert_eq!(&stored, d, "the matrix changed nothing");
    }

    // With the right revision, an allowed change goes through.
    let r = app
        .put_json(CountyOffice, &format!("/api/demands/{}", s.reported.id), &update_of(&s.reported, 1))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["origin"], "reported", "an update keeps the origin");
    let r = app
        .post_json(DivisionStaff, &format!("/api/demands/{}/cancel", s.village.id), &json!({"revision": 1}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn an_update_cannot_move_a_demand_outside_the_accounts_body_or_scope() {
    let app = TestApp::new().await;
    let d = &app.seed.village;
    let uri = format!("/api/demands/{}", d.id);
    let mut wider = update_of(d, 1);
    wider["targets"] = json!(["350102001001", "350103"]);
    app.put_json(CountyOffice, &uri, &wider).await.error(StatusCode::FORBIDDEN, "forbidden");
    let mut elsewhere = update_of(d, 1);
    elsewhere["source_body"] = json!(app.fx.division_b.id);
    app.put_json(DivisionStaff, &uri, &elsewhere).await.error(StatusCode::FORBIDDEN, "forbidden");
    // The department's staff may move it between their own divisions.
    let r = app.put_json(DepartmentStaff, &uri, &elsewhere).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["source_body"], app.fx.division_b.id.to_string());
    // Its first division's staff now only see it through their scope, and cannot change it.
    app.put_json(DivisionStaff, &uri, &update_of(d, 2)).await.error(StatusCode::FORBIDDEN, "forbidden");
}
