//! The HTTP face of the hub: the REST API under `/digisos/api/v1`, health, and (later) GraphQL.
//!
//! Every route goes through [`access::AccessRouter`], so each one carries an explicit access rule; the shared
//! layers (request id, tracing, body and time limits) wrap them all in one place.

pub mod access;
pub mod error;
pub mod health;
pub mod multipart;
pub mod read_side;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, MatchedPath};
use axum::http::{HeaderName, Method, StatusCode};
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Authenticator;
use crate::documents::DocumentStore;
use crate::eventstore::DynEventStore;
use crate::kryptering::Kryptering;
use access::{AccessRouter, Rule};
use error::ApiError;
use multipart::UploadLimits;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The event store.
    pub store: DynEventStore,
    /// Token verification for every caller.
    pub auth: Arc<Authenticator>,
    /// Where the files of cases are kept.
    pub documents: DocumentStore,
    /// The limits of one upload request (files a request, part sizes).
    pub upload_limits: UploadLimits,
    /// The keys encrypted uploads are decrypted with, and whether plain files are taken.
    pub kryptering: Kryptering,
    /// The Fiks IO channel, when it is on (`DIGISOS_FIKS_IO_AMQP_URL`).
    pub fiks_io: Option<crate::fiksio::Kanal>,
}

/// The response header that carries the event-store position a command produced (read-your-writes: send it back
/// on a query to be answered only once the read models have reached it).
pub const POSITION_HEADER: &str = "x-digisos-position";

/// Limits applied to every request.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The longest a request may take before it is answered 408.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024 * 1024, request_timeout: Duration::from_secs(60) }
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The routes of the service with their access rules (before the shared layers).
pub fn routes(state: &AppState) -> AccessRouter<AppState> {
    let mut router = AccessRouter::new()
        .route(&[Method::GET], "/internal/isalive", get(health::isalive), Rule::Public)
        .route(&[Method::GET], "/internal/isready", get(health::isready), Rule::Public)
        .route(&[Method::GET], "/internal/metrics", get(health::metrics), Rule::Public);
    if state.auth.dev_issuer().is_some() {
        router = router.route(
            &[Method::GET],
            "/dev-issuer/jwks.json",
            get(crate::auth::dev_issuer_jwks_handler),
            Rule::Public,
        );
    }
    let router = crate::api::routes(router, state);
    let router = crate::graphql::routes(router, state);
    crate::manual::routes(router)
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
