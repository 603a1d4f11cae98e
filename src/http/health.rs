//! NAIS-style operational endpoints: `/internal/isalive` (the process answers), `/internal/isready` (it can serve:
//! the database answers) and `/internal/metrics` (Prometheus). All are public; they carry no personal data.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::AppState;
use super::read_side::ReadSide;

/// Liveness: the process is up and its runtime answers.
pub async fn isalive() -> &'static str {
    "alive"
}

/// How far behind a projection may be (seconds) before the instance reports itself not ready.
pub const LAG_BUDGET_SECS: f64 = 30.0;

/// Readiness: the event store answers a read, and every projection is within its lag budget and not stuck on a
/// failing event. 503 with the reasons when not; the lag report per projection either way.
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
