//! NAIS-style operational endpoints: `/internal/isalive` (the process answers), `/internal/isready` (it can serve:
//! the database answers) and `/internal/metrics` (Prometheus). All are public; they carry no personal data.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::AppState;
use super::read_side::ReadSide;

/// The operational endpoints in the REST API's OpenAPI document (merged by `crate::api::openapi`); their routes
/// are added by `crate::app::routes`.
#[derive(utoipa::OpenApi)]
#[openapi(paths(isalive, isready, metrics))]
pub(crate) struct Doc;

/// Liveness: the process is up and its runtime answers.
#[utoipa::path(
    get,
    path = "/internal/isalive",
    tag = "drift",
    operation_id = "health_isalive",
    summary = "Liveness: the process answers",
    description = "NAIS-style liveness probe: answers `alive` as long as the process and its runtime answer; it \
        checks nothing else. Public, no token; carries no personal data.",
    responses(
        (status = 200, description = "The text `alive`.", body = String, content_type = "text/plain"),
    )
)]
pub async fn isalive() -> &'static str {
    "alive"
}

/// How far behind a projection may be (seconds) before the instance reports itself not ready.
pub const LAG_BUDGET_SECS: f64 = 30.0;

/// Readiness: the event store answers a read, and every projection is within its lag budget and not stuck on a
/// failing event. 503 with the reasons when not; the lag report per projection either way.
#[utoipa::path(
    get,
    path = "/internal/isready",
    tag = "drift",
    operation_id = "health_isready",
    summary = "Readiness: the instance can serve",
    description = "NAIS-style readiness probe: ready when the event store answers a read and every projection is \
        within its lag budget (30 s) and not stuck on a failing event; 503 with the reasons when not. The body is \
        the same report either way, with each projection's lag and, when Fiks IO is on, the hub's account and the \
        queues this instance watches (information only: they never make it unready). Public, no token; carries \
        no personal data.",
    responses(
        (status = 200, description = "Ready. `ready` (true), `eventStore` (the backend), `reasons` (empty), \
            `projections` (the lag report per projection, or null without read models) and `fiksIo` (`kontoId` \
            and `kontoer` with `kontoId`, `ventendeMeldinger` and `konsumenter`, or null when Fiks IO is off).",
            body = serde_json::Value, content_type = "application/json"),
        (status = 503, description = "Not ready: the same body with `ready` false and the `reasons` (the event \
            store down, a projection stuck, too far behind or reporting a problem); `projections` is null while \
            the event store is down.", body = serde_json::Value, content_type = "application/json"),
    )
)]
pub async fn isready(
    State(state): State<AppState>,
    read_side: Option<ReadSide>,
) -> (StatusCode, Json<serde_json::Value>) {
    let mut reasons = Vec::new();
    let store_down = match state.store.ping().await {
        Ok(()) => false,
        Err(err) => {
            reasons.push(format!("event store: {err}"));
            true
        }
    };
    let projections = match &read_side {
        // With the database down, the lag report's queries would each wait out the pool's timeout in turn, and
        // the answer would come after the request timeout (408) instead of a prompt 503 (tests/outage.rs).
        Some(_) if store_down => serde_json::Value::Null,
        Some(read) => {
            let lag = read.runner.lag_report().await;
            for p in &lag {
                if let Some(failure) = &p.failure {
                    let at = failure.position.map(|p| p.to_string()).unwrap_or_else(|| "an unknown position".into());
                    reasons.push(format!("projection {} is stuck at {at}: {}", p.name, failure.message));
                } else if p.seconds_behind > LAG_BUDGET_SECS {
                    reasons.push(format!("projection {} is {:.0} s behind", p.name, p.seconds_behind));
                } else if let Some(problem) = &p.problem {
                    reasons.push(format!("projection {}: {problem}", p.name));
                }
            }
            serde_json::to_value(&lag).unwrap_or_default()
        }
        None => serde_json::Value::Null,
    };
    let ready = reasons.is_empty();
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({
        "ready": ready,
        "eventStore": state.store.backend(),
        "reasons": reasons,
        "projections": projections,
        // Information, not a reason to be unready: an account nobody consumes is the kommune's to fix.
        "fiksIo": state.fiks_io.as_ref().map(|kanal| json!({
            "kontoId": kanal.konto_id(),
            "kontoer": crate::metrics::fiks_io_accounts().into_iter().map(|(konto, messages, consumers)| json!({
                "kontoId": konto, "ventendeMeldinger": messages, "konsumenter": consumers,
            })).collect::<Vec<_>>(),
        })),
    });
    (status, Json(body))
}

/// `GET /internal/metrics`: the process-wide counters, then the projections' lag and the waiting deliveries read
/// now ([`crate::metrics::exposition`]).
#[utoipa::path(
    get,
    path = "/internal/metrics",
    tag = "drift",
    operation_id = "health_metrics",
    summary = "Prometheus metrics",
    description = "The metrics in the Prometheus text exposition format: the process-wide counters, then each \
        projection's lag and the deliveries waiting, read at the moment of the request (left out when the read \
        models are not available). Public, no token; carries no personal data.",
    responses(
        (status = 200, description = "The Prometheus text exposition.", body = String,
            content_type = "text/plain; version=0.0.4; charset=utf-8"),
    )
)]
pub async fn metrics(read_side: Option<ReadSide>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let reading = match read_side {
        Some(read) => {
            let lag = read.runner.lag_report().await;
            let deliveries = match crate::metrics::deliveries_waiting(&read.db).await {
                Ok(rows) => Some(rows),
                Err(err) => {
                    tracing::warn!(error = %err, "metrics: waiting deliveries could not be counted");
                    None
                }
            };
            Some(crate::metrics::Reading { lag, deliveries })
        }
        None => None,
    };
    let body = crate::metrics::exposition(reading.as_ref());
    ([(axum::http::header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response()
}
