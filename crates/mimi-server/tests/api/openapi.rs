//! The OpenAPI document describes the API that is served.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt as _;

use crate::support::Api;

#[tokio::test]
async fn every_operation_in_the_openapi_document_is_served() {
    let api = Api::new().await;
    let (status, doc) = api.call("GET", "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 18, "{} paths", paths.len());
    for (path, ops) in paths {
        let concrete = path
            .replace("{provider}", "example.com")
            .replace("{room}", "team")
            .replace("{name}", "phone");
        for method in ops.as_object().unwrap().keys() {
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let resp = api.app.clone().oneshot(req).await.unwrap();
            let status = resp.status();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let body = String::from_utf8_lossy(&body);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !body.contains("no such endpoint"),
                "{method} {path} is not served"
            );
        }
    }
}

/// The routes the crate documentation lists, as `(METHOD, path)`.
fn routes_in_the_crate_docs() -> std::collections::BTreeSet<(String, String)> {
    let lib = include_str!("../../src/lib.rs");
    lib.lines()
        .filter_map(|l| l.strip_prefix("//! "))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let method = words.next()?;
            let path = words.next()?;
            let known = ["GET", "POST", "DELETE", "PUT", "PATCH"].contains(&method);
            let path = path.split('?').next().unwrap_or(path);
            known.then(|| (method.to_owned(), path.to_owned()))
        })
        .collect()
}

#[tokio::test]
async fn every_route_is_documented_and_the_document_is_generated_from_the_routes() {
    let api = Api::new().await;
    let (_, served) = api.call("GET", "/openapi.json", None, None).await;
    // What is served is what the routes and the API types generate.
    let generated = serde_json::to_value(mimi_server::openapi()).unwrap();
    assert_eq!(served, generated);
    let documented: std::collections::BTreeSet<(String, String)> = served["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    assert_eq!(documented, routes_in_the_crate_docs());
    // No method is served on a documented path that the document does not name.
    for (method, path) in &documented {
        let concrete = path
            .replace("{provider}", "example.com")
            .replace("{room}", "team")
            .replace("{name}", "phone")
            .replace("{user}", "bob");
        for other in ["GET", "POST", "DELETE", "PUT", "PATCH"] {
            if documented.contains(&(other.to_owned(), path.clone())) {
                continue;
            }
            let req = Request::builder()
                .method(other)
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let resp = api.app.clone().oneshot(req).await.unwrap();
            assert_eq!(
                resp.status(),
                StatusCode::METHOD_NOT_ALLOWED,
                "{other} {path} is served but not documented (beside {method})"
            );
        }
    }
}

#[tokio::test]
async fn every_request_and_answer_type_is_a_documented_schema() {
    let api = Api::new().await;
    let (_, doc) = api.call("GET", "/openapi.json", None, None).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Credentials",
        "Session",
        "PasswordChange",
        "Reauthenticate",
        "NewDevice",
        "Device",
        "Devices",
        "Upload",
        "Stored",
        "KeyPackageCount",
        "Claim",
        "ClaimedAll",
        "ConsentBody",
        "ConsentView",
        "Consents",
        "CreateRoom",
        "RoomCreated",
        "Directory",
        "Commit",
        "Proposal",
        "Handshake",
        "Message",
        "Sent",
        "GroupInfo",
        "Knocked",
        "Withdrawn",
        "Declined",
        "SyncBatch",
        "Ack",
        "Provider",
        "ErrorBody",
    ] {
        assert!(schemas.contains_key(name), "no schema {name}");
    }
    // The bearer tokens are declared.
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}
