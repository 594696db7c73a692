//! The witness's HTTP surface byte for byte, through the router without a
//! socket: the 200 body and the 409 body and content type as
//! `c2sp.org/tlog-witness` specifies, 400 for a malformed body, and only
//! `POST /add-checkpoint` routed.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use tongxin_tlog::{
    AddCheckpointRequest, Checkpoint, MemoryHashStore, SignatureType, SignerKey, WitnessedLog,
};
use tongxin_witness::{WitnessState, router};
use tower::ServiceExt as _;

async fn call(
    state: &WitnessState,
    method: Method,
    path: &str,
    body: String,
) -> (StatusCode, String, String) {
    let request = Request::builder().method(method).uri(path).body(Body::from(body)).unwrap();
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn statuses_bodies_and_content_types() {
    let origin = "gd.tongxin.example/log";
    let log_key = SignerKey::generate(origin, SignatureType::Ed25519).unwrap();
    let witness_key =
        SignerKey::generate("zj.tongxin.example/witness", SignatureType::CosignatureV1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let logs = vec![WitnessedLog { origin: origin.into(), keys: vec![log_key.verifier().clone()] }];
    let state = WitnessState::new(witness_key.clone(), logs, &dir.path().join("state.json")).unwrap();
    let tree = MemoryHashStore::from_entries((0..9).map(|i| format!("entry {i}")));
    let checkpoint = Checkpoint::new(origin, 9, tree.root()).unwrap().sign(&log_key).unwrap();
    let request = AddCheckpointRequest { old_size: 0, proof: vec![], checkpoint };

    let (status, content_type, body) = call(&state, Method::POST, "/add-checkpoint", request.to_text()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type, "text/plain; charset=utf-8");
    // One signature line by the witness key, "—" first and a newline last.
    let prefix = format!("— {} ", witness_key.name());
    assert!(body.starts_with(&prefix) && body.ends_with('\n') && body.lines().count() == 1, "{body:?}");

    // Old size 0 again: 409, body exactly "9\n", content type text/x.tlog.size.
    let (status, content_type, body) = call(&state, Method::POST, "/add-checkpoint", request.to_text()).await;
    assert_eq!(
        (status, content_type.as_str(), body.as_str()),
        (StatusCode::CONFLICT, "text/x.tlog.size", "9\n")
    );

    // Malformed bodies: 400.
    for bad in ["", "old 01\n\n", "old 0\nnot base64\n\n", "old 0\n\ngd.tongxin.example/log\n9\n"] {
        let (status, _, body) = call(&state, Method::POST, "/add-checkpoint", bad.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad:?}: {body}");
    }
    // Only POST /add-checkpoint.
    let (status, _, _) = call(&state, Method::GET, "/add-checkpoint", String::new()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, _) = call(&state, Method::POST, "/checkpoint", request.to_text()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
