//! The OpenAPI document at `/api/openapi.json` is valid JSON in OpenAPI 3.1 and documents
//! exactly the JSON routes the router serves (under `/api/`, and the anonymous safe-voice
//! routes under `/voice/`): every route in [`SERVED`] answers (not
//! 404, not 405) and appears in the document with its path parameters and an error
//! schema that exists; the sorted list of documented operations is a snapshot.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use common::{TestApp, Who};
use expect_test::expect;
use serde_json::Value;

/// Every JSON route of the router, as (method, path template).
const SERVED: &[(&str, &str)] = &[
    ("get", "/api/openapi.json"),
    ("post", "/api/session"),
    ("delete", "/api/session"),
    ("get", "/api/units"),
    ("get", "/api/units/search"),
    ("get", "/api/units/{code}"),
    ("get", "/api/bodies"),
    ("get", "/api/bodies/{id}"),
    ("post", "/api/precheck"),
    ("post", "/api/burden/recompute"),
    ("get", "/api/demands"),
    ("post", "/api/demands"),
    ("get", "/api/demands/{id}"),
    ("put", "/api/demands/{id}"),
    ("post", "/api/demands/{id}/cancel"),
    ("get", "/api/demands/{id}/history"),
    ("post", "/api/voice/keys/ensure"),
    ("get", "/api/voice/keys"),
    ("post", "/api/voice/allowance"),
    ("post", "/api/voice/reports"),
    ("get", "/api/voice/inbox"),
    ("post", "/api/voice/reports/{id}/acknowledge"),
    ("post", "/api/voice/reports/{id}/answer"),
    ("get", "/api/voice/rates"),
    ("post", "/voice/reports"),
    ("post", "/voice/receipt"),
    ("post", "/voice/receipt/reply"),
    ("post", "/voice/receipt/rate"),
    ("get", "/api/voice/reports/{id}"),
    ("post", "/api/voice/reports/{id}/route"),
    ("post", "/api/voice/reports/{id}/assign"),
    ("post", "/api/voice/reports/{id}/escalate"),
    ("post", "/api/voice/reports/{id}/message"),
    ("post", "/api/voice/sweep"),
    ("post", "/voice/receipt/reopen"),
    ("post", "/voice/tokens/check"),
    ("get", "/api/directives"),
    ("post", "/api/directives"),
    ("post", "/api/directives/check"),
    ("get", "/api/directives/{id}"),
    ("put", "/api/directives/{id}"),
    ("post", "/api/directives/{id}/status"),
    ("post", "/api/directives/{id}/consultation"),
    ("post", "/api/directives/{id}/consultation/conclude"),
    ("post", "/api/directives/{id}/ratings"),
    ("get", "/api/directives/{id}/results"),
    ("post", "/directives/{id}/ratings"),
];

async fn document(app: &TestApp) -> Value {
    let r = app.get(Who::Anonymous, "/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.content_type().starts_with("application/json"));
    r.json()
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            if ["get", "put", "post", "delete", "patch", "head", "options"].contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn the_document_is_openapi_3_1_and_covers_every_api_route() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert!(doc["info"]["title"].as_str().is_some_and(|t| !t.is_empty()));

    let served: BTreeSet<(String, String)> =
        SERVED.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(operations(&doc), served, "documented = served");

    // Each listed route really is served: it answers, but not with "no such route" or
    // "wrong method", for a signed-in administrator.
    for (method, path) in SERVED {
        let uri = path.replace("{code}", "35").replace("{id}", &app.seed.village.id.to_string());
        let method: Method = method.to_uppercase().parse().unwrap();
        let mut req = app.request(Who::ProvinceAdmin, method.clone(), &uri).await;
        let body = if method == Method::GET || method == Method::DELETE {
            Body::empty()
        } else {
            req = req.header("content-type", "application/json");
            Body::from("{}")
        };
        let r = app.send(req.body(body).unwrap()).await;
        // A handler's own 404 (no such report) is an answer; the router's fallback (an
        // HTML page, or "no such endpoint" under /api/) is not.
        let fallback = r.status == StatusCode::NOT_FOUND
            && (!r.content_type().starts_with("application/json") || r.text().contains("no such endpoint"));
        assert!(
            !fallback && r.status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}: {} {}",
            r.status,
            r.text()
        );
    }
    // And a method the document does not list is refused.
    let r = app.send(Request::delete("/api/demands").body(Body::empty()).unwrap()).await;
    r.error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");

    // Path parameters are declared, every operation answers something, every
    // reference resolves.
    for (method, path) in operations(&doc) {
        let op = &doc["paths"][&path][&method];
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
        for name in path.split('{').skip(1).map(|s| s.split('}').next().unwrap()) {
            let declared = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == name && p["in"] == "path"));
            assert!(declared, "{method} {path} declares {{{name}}}");
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.iter().any(|r| r == "#/components/schemas/ErrorBody"));
    for r in refs {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("{r}"));
        assert!(doc["components"]["schemas"].get(name).is_some(), "{r} resolves");
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r.clone());
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_documented_operations_match_the_snapshot() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let mut listing: Vec<(String, String)> = operations(&doc).into_iter().map(|(m, p)| (p, m)).collect();
    listing.sort();
    let listing: Vec<String> =
        listing.into_iter().map(|(p, m)| format!("{p} {}", m.to_uppercase())).collect();
    expect![[r#"
        /api/bodies GET
        /api/bodies/{id} GET
        /api/burden/recompute POST
        /api/demands GET
        /api/demands POST
        /api/demands/{id} GET
        /api/demands/{id} PUT
        /api/demands/{id}/cancel POST
        /api/demands/{id}/history GET
        /api/directives GET
        /api/directives POST
        /api/directives/check POST
        /api/directives/{id} GET
        /api/directives/{id} PUT
        /api/directives/{id}/consultation POST
        /api/directives/{id}/consultation/conclude POST
        /api/directives/{id}/ratings POST
        /api/directives/{id}/results GET
        /api/directives/{id}/status POST
        /api/openapi.json GET
        /api/precheck POST
        /api/session DELETE
        /api/session POST
        /api/units GET
        /api/units/search GET
        /api/units/{code} GET
        /api/voice/allowance POST
        /api/voice/inbox GET
        /api/voice/keys GET
        /api/voice/keys/ensure POST
        /api/voice/rates GET
        /api/voice/reports POST
        /api/voice/reports/{id} GET
        /api/voice/reports/{id}/acknowledge POST
        /api/voice/reports/{id}/answer POST
        /api/voice/reports/{id}/assign POST
        /api/voice/reports/{id}/escalate POST
        /api/voice/reports/{id}/message POST
        /api/voice/reports/{id}/route POST
        /api/voice/sweep POST
        /directives/{id}/ratings POST
        /voice/receipt POST
        /voice/receipt/rate POST
        /voice/receipt/reopen POST
        /voice/receipt/reply POST
        /voice/reports POST
        /voice/tokens/check POST"#]]
    .assert_eq(&listing.join("\n"));
    let mut schemas: Vec<&String> = doc["components"]["schemas"].as_object().unwrap().keys().collect();
    schemas.sort();
    let schemas: Vec<&str> = schemas.into_iter().map(|s| s.as_str()).collect();
    expect!["Body BodyDetail BodyKind CancelInput Cost Demand DemandInput DemandKind DemandList DemandOrigin DemandRevision DemandStatus DemandUpdate DirectiveConcludeInput DirectiveConsultationInput DirectiveCreate DirectiveRatingInput DirectiveRatingItem DirectiveSource DirectiveStatusInput DirectiveUpdate ErrorBody FieldError FieldErrorBody Flag Level PrecheckAnswer PrecheckInput PrecheckItem Recomputed Role SignIn SignedIn SweepSummary Unit UnitCode UnitDetail VoiceAllowanceInput VoiceAnswerInput VoiceBodyInput VoiceContentInput VoiceFilingInput VoiceKeyInput VoiceMessage VoiceRateInput VoiceReceiptInput VoiceReopenInput VoiceReplyInput VoiceTextInput VoiceTokenCheckInput"].assert_eq(&schemas.join(" "));
}
