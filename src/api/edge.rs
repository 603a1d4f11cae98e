//! Small pieces every REST handler needs at the edge: path parameters parsed into domain types (a clear 400
//! naming the parameter), the position header of a command's response, event metadata from the request, and
//! the time of a command. Every REST module uses them, so that every endpoint answers a bad path and reports its
//! position the same way.

use axum::extract::rejection::PathRejection;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use digisos_schema::types::{ParseError, Tidspunkt};
use serde_json::Value;

use crate::auth::CallerKind;
use crate::commands;
use crate::eventstore::Position;
use crate::http::POSITION_HEADER;
use crate::http::error::ApiError;

/// A path that axum could not split into its parameters (bad percent-encoding): 400.
pub fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::bad_request(format!("the request path could not be read: {}", rejection.body_text()))
}

/// Parses one path parameter into its domain type; a refusal is a 400 that names the parameter and the rule.
pub fn param<T>(value: &str, parse: impl FnOnce(&str) -> Result<T, ParseError>) -> Result<T, ApiError> {
    parse(value).map_err(|e| ApiError::bad_request(format!("path parameter {e}")))
}

/// A command's answer: `status`, `body`, and the `x-digisos-position` header (`commit-prepare`) when the
/// stream has a position.
pub fn respond(status: StatusCode, position: Option<Position>, body: impl IntoResponse) -> Response {
    let mut response = (status, body).into_response();
    if let Some(value) = position.and_then(|p| HeaderValue::from_str(&p.to_string()).ok()) {
        response.headers_mut().insert(HeaderName::from_static(POSITION_HEADER), value);
    }
    response
}

/// Event metadata for a command from this request: the kind of caller and the request id (no personal data).
pub fn metadata(kind: CallerKind, headers: &HeaderMap) -> Value {
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
    commands::metadata(kind.as_str(), request_id)
}

/// Now, as a command carries it.
pub fn now() -> Tidspunkt {
    Tidspunkt::from_instant(chrono::Utc::now())
}
