//! The whole application: every edge's routes (REST, GraphQL, the kommune's pages, the operational endpoints)
//! with their access rules, and the layers every request passes (request id, tracing, metrics, body and time
//! limits). The composition root of the HTTP side: it imports the edges, and none of them imports it.

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, Method, StatusCode};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::http::access::{AccessRouter, Rule};
use crate::http::error::ApiError;
use crate::http::{AppState, HttpLimits, caller, health};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes of the service with their access rules (before the shared layers).
pub fn routes(state: &AppState) -> AccessRouter<AppState> {
    let mut router = AccessRouter::new()
        .route(&[Method::GET], "/internal/isalive", get(health::isalive), Rule::Public)
        .route(&[Method::GET], "/internal/isready", get(health::isready), Rule::Public)
        .route(&[Method::GET], "/internal/metrics", get(health::metrics), Rule::Public);
    if state.auth.dev_issuer().is_some() {
        router = router.route(&[Method::GET], "/dev-issuer/jwks.json", get(caller::dev_issuer_jwks), Rule::Public);
    }
    let router = crate::api::routes(router, state);
    let router = crate::graphql::routes(router, state);
    let router = crate::manual::routes(router);
    openapi(router, state)
}

/// The OpenAPI document of the routes above, served to anyone, and Swagger UI over it in development mode.
fn openapi(router: AccessRouter<AppState>, state: &AppState) -> AccessRouter<AppState> {
    use crate::api::openapi::{PATH, UI_PATH, document};
    let mut rules = router.rules();
    rules.push((Method::GET, PATH.to_owned(), Rule::Public));
    let json = match document(&rules).to_pretty_json() {
        Ok(json) => axum::body::Bytes::from(json),
        Err(e) => unreachable!("the OpenAPI document is plain data and always serializes: {e}"),
    };
    let serve = get(move || {
        let json = json.clone();
        async move { ([(axum::http::header::CONTENT_TYPE, "application/json")], json) }
    });
    let router = router.route(&[Method::GET], PATH, serve, Rule::Public);
    if state.auth.dev_issuer().is_none() {
        return router;
    }
    let ui = utoipa_swagger_ui::SwaggerUi::new(UI_PATH).config(utoipa_swagger_ui::Config::from(PATH));
    let paths = [UI_PATH.to_owned(), format!("{UI_PATH}/"), format!("{UI_PATH}/{{*rest}}")];
    router.merge_with_rule(Router::from(ui), &[Method::GET], &paths, Rule::Public)
}

/// The whole application: routes, access enforcement and the shared layers.
pub fn app(state: AppState, limits: &HttpLimits) -> Router {
    let routes = routes(&state).finish(state.auth.clone());
    with_layers(routes, limits).with_state(state)
}

/// The timeout's 408 and the body limit's 413 come from tower layers with an empty or plain-text body; they get
/// the API's one error shape like every other refusal.
async fn limit_errors_as_json(response: axum::response::Response) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = response.status();
    let json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json") || v.contains("html"));
    match status {
        StatusCode::REQUEST_TIMEOUT if !json => {
            ApiError::new(status, "the request took longer than the service allows and was stopped").into_response()
        }
        StatusCode::PAYLOAD_TOO_LARGE if !json => {
            ApiError::new(status, "the request body is larger than the service accepts").into_response()
        }
        _ => response,
    }
}

/// Wraps routes (with their access rules already enforced) in the fallback and the layers every request passes.
pub fn with_layers(routes: Router<AppState>, limits: &HttpLimits) -> Router<AppState> {
    routes
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        // The kommune's manual pages: their session cookie becomes the bearer token before the access rules run.
        .layer(axum::middleware::from_fn(crate::manual::okt))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, limits.request_timeout))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(axum::middleware::map_response(limit_errors_as_json))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Counts every answer, the limits' 408 and 413 included, by route template (see `crate::metrics`).
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let request_id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
            // The route template, never the raw path (its ids are case data and personal numbers).
            let route = req.extensions().get::<MatchedPath>().map_or(crate::metrics::UNMATCHED_ROUTE, |p| p.as_str());
            tracing::info_span!("request", method = %req.method(), route = %route, request_id = %request_id)
        }))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
