//! NAIS-style health endpoints: `/internal/isalive` (the process answers) and `/internal/isready` (it can serve:
//! the database answers). Both are public; they carry no personal data.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use super::AppState;

/// Liveness: the process is up and its runtime answers.
pub async fn isalive() -> &'static str {
    "alive"
}

/// Readiness: the event store answers a read. 503 with the reason when it does not.
pub async fn isready(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    match state.store.ping().await {
        Ok(_) => (StatusCode::OK, Json(json!({ "ready": true, "eventStore": state.store.backend() }))),
        Err(err) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "ready": false, "eventStore": state.store.backend(), "reason": err.to_string() })),
        ),
    }
}
