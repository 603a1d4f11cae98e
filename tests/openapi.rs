//! The REST API's OpenAPI document (`GET /digisos/api/v1/openapi.json`): it is the committed
//! `schema/openapi.json`, it documents exactly the REST routes the service registers (method and path), each
//! operation's security names the callers its access rule admits, it is valid OpenAPI 3.1 to an independent
//! validator, and Swagger UI over it is served in development mode only.
//!
//! After changing an endpoint, regenerate the committed file with
//! `DIGISOS_WRITE_OPENAPI=1 cargo test --test openapi`, and read its diff.

mod api_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use api_support::*;
use fiks_digisos::api::openapi::{PATH, UI_PATH, documented};
use fiks_digisos::auth::AuthConfig;
use fiks_digisos::http::AppState;
use fiks_digisos::http::access::Rule;
use fiks_digisos::http::multipart::UploadLimits;
use serde_json::Value;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema/openapi.json");

/// The document as the running service serves it, without a token.
async fn served(app: &TestApp) -> (String, Value) {
    let response = app.client().get(format!("{}{PATH}", app.base)).send().await.expect("the app answers");
    assert_eq!(response.status(), 200, "the document is public");
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert_eq!(content_type, "application/json");
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).expect("the document is JSON");
    (text, json)
}

/// The route table of an app state like the harness's, in development mode or not.
fn rules(app: &TestApp, dev_mode: bool) -> Vec<(String, String, Rule)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let auth =
        fiks_digisos::auth::Authenticator::from_config(&AuthConfig { issuers: "[]".into(), dev_mode }, dir.path())
            .expect("authenticator");
    let state = AppState {
        store: app.store.clone(),
        auth: Arc::new(auth),
        documents: app.documents.clone(),
        upload_limits: UploadLimits::default(),
        kryptering: fiks_digisos::kryptering::Kryptering::generated(false).expect("a key pair"),
        fiks_io: None,
    };
    fiks_digisos::app::routes(&state).rules().into_iter().map(|(m, p, r)| (m.to_string(), p, r)).collect()
}

/// `(METHOD, path)` of every operation in the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("a path item").keys() {
            if ["get", "put", "post", "delete", "patch"].contains(&method.as_str()) {
                all.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    all
}

#[tokio::test]
async fn the_committed_document_is_the_one_the_service_serves() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (text, _) = served(&app).await;
    if std::env::var_os("DIGISOS_WRITE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &text).expect("write schema/openapi.json");
    }
    let committed = std::fs::read_to_string(COMMITTED).expect("schema/openapi.json is committed");
    assert!(
        committed == text,
        "schema/openapi.json differs from what the service serves; regenerate it with \
         `DIGISOS_WRITE_OPENAPI=1 cargo test --test openapi` and review the diff"
    );
    app.finish().await;
}

/// The document is valid OpenAPI 3.1, by an implementation independent of the one that wrote it (the Python
/// `openapi-spec-validator`, which `.ci/test` installs).
#[tokio::test]
async fn the_document_is_valid_openapi_3_1() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (text, doc) = served(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, text).expect("write the document");
    let out = std::process::Command::new("python3")
        .args(["-m", "openapi_spec_validator"])
        .arg(&file)
        .output()
        .expect("python3 runs (the validator is installed by .ci/test: pip install openapi-spec-validator)");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the validator refuses the document:\n{said}");
    assert!(said.contains(": OK"), "{said}");
    app.finish().await;
}

#[tokio::test]
async fn every_rest_route_is_documented_and_every_documented_operation_is_a_route() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (_, doc) = served(&app).await;
    let routes: BTreeSet<(String, String)> =
        rules(&app, false).into_iter().filter(|(_, path, _)| documented(path)).map(|(m, p, _)| (m, p)).collect();
    let documented_ops = operations(&doc);
    let missing: Vec<_> = routes.difference(&documented_ops).collect();
    let extra: Vec<_> = documented_ops.difference(&routes).collect();
    assert!(missing.is_empty(), "routes the document does not describe: {missing:?}");
    assert!(extra.is_empty(), "documented operations the service does not route: {extra:?}");
    assert!(routes.len() > 40, "the whole REST API is there, not a part: {}", routes.len());
    // Every operation has an id of its own, a summary and at least one success answer.
    let mut ids = BTreeSet::new();
    for (method, path) in &documented_ops {
        let operation = &doc["paths"][path][method.to_lowercase()];
        let id = operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(operation["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path} has no summary");
        let statuses: Vec<&String> = operation["responses"].as_object().expect("responses").keys().collect();
        assert!(statuses.iter().any(|s| s.starts_with('2')), "{method} {path} documents no success: {statuses:?}");
    }
    app.finish().await;
}

#[tokio::test]
async fn each_operation_requires_the_callers_its_access_rule_admits_and_documents_its_refusals() {
    let app = TestApp::start(Backend::Sqlite).await;
    let (_, doc) = served(&app).await;
    let schemes = doc["components"]["securitySchemes"].as_object().expect("security schemes");
    for kind in ["citizen", "nav-staff", "nav-system", "fagsystem", "admin"] {
        assert_eq!(schemes[kind]["type"], "http", "{kind}");
        assert_eq!(schemes[kind]["scheme"], "bearer", "{kind}");
    }
    for (method, path, rule) in rules(&app, false) {
        if !documented(&path) {
            continue;
        }
        let operation = &doc["paths"][&path][method.to_lowercase()];
        let required: BTreeSet<String> = operation["security"]
            .as_array()
            .map(|all| all.iter().flat_map(|r| r.as_object().expect("a requirement").keys().cloned()).collect())
            .unwrap_or_default();
        match rule {
            Rule::Public => {
                assert!(required.is_empty(), "{method} {path} is public but the document requires {required:?}")
            }
            Rule::Callers(kinds) => {
                let admitted: BTreeSet<String> = kinds.iter().map(|k| k.as_str().to_owned()).collect();
                assert_eq!(required, admitted, "{method} {path}");
                let unauthorized = &operation["responses"]["401"];
                assert_eq!(
                    unauthorized["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path}: 401 with the error body"
                );
            }
        }
        // Every refusal the document lists has the one error body.
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if status.starts_with('4') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                    "{method} {path} {status}"
                );
            }
        }
    }
    // The error body's schema names the fields a client reads.
    let error = &doc["components"]["schemas"]["ErrorBody"]["properties"];
    for field in ["status", "error", "errorId", "message", "timestamp"] {
        assert!(error.get(field).is_some(), "ErrorBody documents {field}");
    }
    app.finish().await;
}

#[tokio::test]
async fn swagger_ui_reads_the_document_in_development_mode_only() {
    let app = TestApp::start(Backend::Sqlite).await;
    let page = app.client().get(format!("{}{UI_PATH}/", app.base)).send().await.expect("the app answers");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("a body").contains("swagger-ui"), "the Swagger UI page");
    let init = app
        .client()
        .get(format!("{}{UI_PATH}/swagger-initializer.js", app.base))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(init.status(), 200);
    assert!(init.text().await.expect("a body").contains(PATH), "Swagger UI loads the served document");
    // Outside development mode the route table has no UI (and the document stays).
    let production = rules(&app, false);
    assert!(production.iter().all(|(_, path, _)| !path.starts_with(UI_PATH)), "no Swagger UI in production");
    assert!(production.iter().any(|(m, path, _)| m == "GET" && path == PATH), "the document is served in production");
    let development = rules(&app, true);
    assert!(development.iter().any(|(_, path, _)| path.starts_with(UI_PATH)));
    app.finish().await;
}
