//! Deny by default, over real HTTP: every route carries an access rule, a route without one is closed, and the
//! rule's caller kinds are enforced before a handler runs. The app runs on a random port on SQLite with the
//! development issuer, as a client would see it.

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use axum::routing::{get, post};
use fiks_digisos::auth::CallerKind;
use fiks_digisos::auth::dev_issuer::DevRole;
use fiks_digisos::auth::{AuthConfig, Authenticator};
use fiks_digisos::documents::DocumentStore;
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::http::access::Rule;
use fiks_digisos::http::caller::FagsystemCaller;
use fiks_digisos::http::multipart::UploadLimits;
use fiks_digisos::http::{AppState, HttpLimits};
use reqwest::StatusCode;
use serde_json::Value;

struct Service {
    base: String,
    auth: Arc<Authenticator>,
    _dir: tempfile::TempDir,
}

impl Service {
    fn token(&self, role: DevRole) -> String {
        let dev = self.auth.dev_issuer().expect("development issuer is on in these tests");
        dev.mint(&role, Duration::from_secs(300)).expect("mint a development token")
    }
}

async fn whoami(FagsystemCaller(orgnr): FagsystemCaller) -> String {
    orgnr.to_string()
}

/// Starts the app with two extra routes: one with a fagsystem-only rule, one merged without any rule.
async fn start(dev_mode: bool, limits: HttpLimits) -> Service {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let database = Database::connect(&url).await.expect("open SQLite");
    database.migrate().await.expect("migrate");
    let auth_config = AuthConfig { issuers: "[]".into(), dev_mode };
    let auth = Arc::new(Authenticator::from_config(&auth_config, dir.path()).expect("authenticator"));
    let state = AppState {
        store: database.event_store(),
        auth: auth.clone(),
        documents: DocumentStore::in_memory(1024 * 1024),
        upload_limits: UploadLimits::default(),
        kryptering: fiks_digisos::kryptering::Kryptering::generated(false).expect("a key pair"),
        fiks_io: None,
    };
    let router = fiks_digisos::app::routes(&state)
        .route(&[Method::GET], "/test/fagsystem", get(whoami), Rule::Callers(&[CallerKind::Fagsystem]))
        .route(&[Method::POST], "/test/echo", post(|body: String| async move { body }), Rule::Public)
        .merge_unruled(axum::Router::new().route("/test/unruled", get(|| async { "secret" })));
    let app = fiks_digisos::app::with_layers(router.finish(auth.clone()), &limits).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    Service { base, auth, _dir: dir }
}

async fn get_json(url: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[tokio::test]
async fn health_endpoints_are_public() {
    let svc = start(false, HttpLimits::default()).await;
    let alive = reqwest::get(format!("{}/internal/isalive", svc.base)).await.unwrap();
    assert_eq!(alive.status(), StatusCode::OK);
    let (status, body) = get_json(&format!("{}/internal/isready", svc.base), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["ready"], true);
    assert_eq!(body["eventStore"], "sqlite");
}

#[tokio::test]
async fn a_route_without_an_access_rule_is_refused_even_with_a_valid_token() {
    let svc = start(true, HttpLimits::default()).await;
    let token = svc.token(DevRole::Admin);
    for token in [None, Some(token.as_str())] {
        let (status, body) = get_json(&format!("{}/test/unruled", svc.base), token).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body["message"].as_str().unwrap().contains("no access rule"), "{body}");
    }
}

#[tokio::test]
async fn a_ruled_route_needs_a_token_of_the_named_kind() {
    let svc = start(true, HttpLimits::default()).await;
    let url = format!("{}/test/fagsystem", svc.base);

    let response = reqwest::get(&url).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers().get("www-authenticate").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errorCode"], "MISSING_TOKEN");
    assert_eq!(body["path"], "/test/fagsystem");

    let citizen = svc.token(DevRole::Citizen("01817012309".parse().unwrap()));
    let (status, body) = get_json(&url, Some(&citizen)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["message"].as_str().unwrap().contains("citizen"), "{body}");

    let fagsystem = svc.token(DevRole::Fagsystem("958935420".parse().unwrap()));
    let response = reqwest::Client::new().get(&url).bearer_auth(&fagsystem).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "958935420");
}

#[tokio::test]
async fn a_garbage_token_is_refused_with_401_and_is_not_echoed() {
    let svc = start(true, HttpLimits::default()).await;
    let (status, body) = get_json(&format!("{}/test/fagsystem", svc.base), Some("not.a.jwt-secret-ish")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.to_string().contains("jwt-secret-ish"), "{body}");
    assert!(body["errorId"].is_string());
}

#[tokio::test]
async fn unknown_paths_get_a_json_404() {
    let svc = start(false, HttpLimits::default()).await;
    let (status, body) = get_json(&format!("{}/digisos/api/v1/nothing-here", svc.base), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn the_development_issuer_exists_only_in_development_mode() {
    let on = start(true, HttpLimits::default()).await;
    let (status, body) = get_json(&format!("{}/dev-issuer/jwks.json", on.base), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["keys"][0]["kty"], "EC");

    let off = start(false, HttpLimits::default()).await;
    assert!(off.auth.dev_issuer().is_none());
    let (status, _) = get_json(&format!("{}/dev-issuer/jwks.json", off.base), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let limits = HttpLimits { max_body_bytes: 1024, ..HttpLimits::default() };
    let svc = start(false, limits).await;
    let client = reqwest::Client::new();
    let ok = client.post(format!("{}/test/echo", svc.base)).body("x".repeat(1000)).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let big = client.post(format!("{}/test/echo", svc.base)).body("x".repeat(4096)).send().await.unwrap();
    assert_eq!(big.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let svc = start(false, HttpLimits::default()).await;
    let response = reqwest::get(format!("{}/internal/isalive", svc.base)).await.unwrap();
    let id = response.headers().get("x-request-id").expect("x-request-id header");
    assert_eq!(id.to_str().unwrap().len(), 36);
}
