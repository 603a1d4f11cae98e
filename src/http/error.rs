//! One error shape for every endpoint, mapped to a status in one place.
//!
//! The body follows the Fiks error shape (DOMAIN.md A.1): `timestamp` (epoch ms), `status`, `error` (the status
//! text), `errorId` (a fresh UUID that also goes into the log line, so a kommune's developer can quote it),
//! `message`, and for invalid documents `problems`: each with the JSON path of the offending value.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::AuthError;
use crate::commands::CommandError;
use crate::documents::DocumentError;
use crate::eventstore::StoreError;
use crate::sak::Rejection;

/// One problem in a rejected document: its JSON path and what is wrong there (the schema crate's type).
pub use digisos_schema::validate::Problem;

/// An error answered to a caller.
#[derive(Clone, Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, in words a client developer can act on. Never personal data.
    pub message: String,
    /// For invalid documents: each problem by JSON path.
    pub problems: Vec<Problem>,
    /// A stable machine-readable code (`errorCode`), where one exists.
    pub code: Option<&'static str>,
    /// The request path (without the query, which may carry personal numbers), where known.
    pub path: Option<String>,
}

impl ApiError {
    /// An error with a status and a message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), problems: Vec::new(), code: None, path: None }
    }

    /// 400: the input is invalid.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 400 with a list of problems by JSON path.
    pub fn invalid_document(message: impl Into<String>, problems: Vec<Problem>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into(), problems, code: None, path: None }
    }

    /// 401: no token, or a token that does not verify.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    /// 403: a verified caller that may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    /// 404: nothing there (also what a caller gets for something that is not theirs, where existence is private).
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409: conflicts with what is already recorded.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 503: a dependency (the database) is down; the caller may retry.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// The same error with a machine-readable `errorCode`.
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    /// The same error, naming the request path in the body.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// 500: a fault of ours. The message stays generic; the details go to the log under the error id.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error; quote the errorId when reporting it")
    }
}

/// The body of every refusal (REST): the shape Fiks's own API answers with, and the OpenAPI document's
/// `ErrorBody` schema.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody<'a> {
    timestamp: i64,
    status: u16,
    error: &'a str,
    error_id: Uuid,
    // Before `message`: Nav's v2 client takes the last UUID after "message" in the body as the id of a søknad
    // that already exists, and a path holds the navEksternRefId (a UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_path: Option<&'a str>,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_code: Option<&'a str>,
    /// Where a document broke its JSON Schema: `{path, message}` per problem.
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    #[schema(value_type = Vec<Object>)]
    problems: &'a [Problem],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error_id = Uuid::new_v4();
        if self.status.is_server_error() {
            tracing::error!(%error_id, status = self.status.as_u16(), detail = %self.message, "request failed");
        } else {
            tracing::info!(%error_id, status = self.status.as_u16(), detail = %self.message, "request refused");
        }
        let body = ErrorBody {
            timestamp: chrono::Utc::now().timestamp_millis(),
            status: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error"),
            error_id,
            message: &self.message,
            path: self.path.as_deref(),
            original_path: self.path.as_deref(),
            error_code: self.code,
            problems: &self.problems,
        };
        let mut response = (self.status, Json(body)).into_response();
        challenge(&mut response, self.code);
        response
    }
}

impl ApiError {
    /// The same refusal in the GraphQL response shape (`{"errors":[{"message", "extensions":{"code", …}}]}`),
    /// for the GraphQL endpoint: Apollo, urql and graphql-request read an error from `errors`, not from a Fiks
    /// error body, and key on `extensions.code` (`UNAUTHENTICATED` for a missing or invalid token). The status
    /// stays what it is (401, 403, 400, 405, 503), and a 401 carries its `WWW-Authenticate` challenge as on REST.
    pub fn into_graphql_response(self) -> Response {
        let error_id = Uuid::new_v4();
        tracing::info!(%error_id, status = self.status.as_u16(), detail = %self.message, "GraphQL request refused");
        let code = match self.status {
            StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
            StatusCode::FORBIDDEN => "FORBIDDEN",
            StatusCode::BAD_REQUEST => "BAD_REQUEST",
            StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
            StatusCode::SERVICE_UNAVAILABLE => "UNAVAILABLE",
            s if s.is_client_error() => "BAD_REQUEST",
            _ => "INTERNAL_SERVER_ERROR",
        };
        let mut extensions = serde_json::json!({"code": code, "status": self.status.as_u16(), "errorId": error_id});
        if let Some(reason) = self.code {
            extensions["reason"] = serde_json::Value::from(reason);
        }
        let body = serde_json::json!({"errors": [{"message": self.message, "extensions": extensions}]});
        let mut response = (self.status, Json(body)).into_response();
        challenge(&mut response, self.code);
        response
    }
}

/// A 401's `WWW-Authenticate` challenge (RFC 6750: no error code when no credentials were sent at all).
fn challenge(response: &mut Response, code: Option<&'static str>) {
    if response.status() != StatusCode::UNAUTHORIZED {
        return;
    }
    let challenge = match code {
        Some(code) if code == AuthError::MissingToken.code() => r#"Bearer realm="digisos""#,
        _ => r#"Bearer realm="digisos", error="invalid_token""#,
    };
    response
        .headers_mut()
        .insert(axum::http::header::WWW_AUTHENTICATE, axum::http::HeaderValue::from_static(challenge));
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "event store unavailable");
                Self::unavailable("the database is unavailable; retry shortly")
            }
            StoreError::WrongExpectedRevision { .. } | StoreError::IdempotencyConflict { .. } => {
                Self::conflict(err.to_string())
            }
            StoreError::Backend(detail) => {
                tracing::error!(%detail, "event store failed");
                Self::internal()
            }
            other => Self::bad_request(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        Self {
            status: err.status(),
            message: err.to_string(),
            problems: Vec::new(),
            code: Some(err.code()),
            path: None,
        }
    }
}

impl From<CommandError> for ApiError {
    fn from(err: CommandError) -> Self {
        match err {
            CommandError::Rejected(rejection) => rejection.into(),
            CommandError::Store(store) => store.into(),
            CommandError::Contention => ApiError::conflict(err.to_string()),
            CommandError::Decode { .. } | CommandError::Encode(_) => {
                tracing::error!(error = %err, "command failed on stored data");
                ApiError::internal()
            }
        }
    }
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        let status = axum::http::StatusCode::from_u16(rejection.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = ApiError::new(status, rejection.message());
        error.problems = rejection.problems().to_vec();
        error
    }
}

impl From<DocumentError> for ApiError {
    fn from(err: DocumentError) -> Self {
        match &err {
            DocumentError::Store(detail) => {
                tracing::warn!(%detail, "document store failed");
                ApiError::unavailable("the document store is unavailable; retry shortly")
            }
            DocumentError::Config(detail) => {
                tracing::error!(%detail, "document store misconfigured");
                ApiError::unavailable("the document store is unavailable; retry shortly")
            }
            DocumentError::NotFound(_) => ApiError::not_found("no such document"),
            _ => ApiError::new(err.status(), err.to_string()),
        }
    }
}
