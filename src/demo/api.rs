//! The demo's HTTP client: the service's public API as an outside party calls it (bearer tokens, JSON,
//! hand-written multipart bodies, the read-your-writes position header), with typed failures that say which
//! request failed and what the service answered.
//!
//! The multipart bodies are written part by part, because this build's reqwest has no multipart feature and
//! because Nav's client sends exactly this shape: JSON parts as `text/plain`, then a `vedleggSpesifikasjon:<i>`
//! metadata part before each `dokument:<i>` file part.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::http::POSITION_HEADER;
use crate::http::read_side::MIN_POSITION_HEADER;

/// The REST prefix of the Digisos API.
pub const PREFIX: &str = "/digisos/api/v1";
/// How long one request may take before the demo gives up on it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a GraphQL read keeps being retried while the read models have not caught up.
const CATCH_UP_PATIENCE: Duration = Duration::from_secs(30);

/// Why a request of the demo failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiFailure {
    /// The request did not get an answer (connection refused, timeout, …).
    #[error("{what}: no answer from {url}: {source}")]
    Unreachable {
        /// What the request was for.
        what: String,
        /// The URL.
        url: String,
        /// The transport error.
        source: reqwest::Error,
    },
    /// The service answered with another status than expected.
    #[error("{what}: the service answered {status}, expected {expected}: {body}")]
    Status {
        /// What the request was for.
        what: String,
        /// The status received.
        status: u16,
        /// The status expected.
        expected: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// A GraphQL answer carried errors.
    #[error("{what}: GraphQL errors: {errors}")]
    GraphQl {
        /// What the query was for.
        what: String,
        /// The errors, as JSON.
        errors: String,
    },
    /// The answer did not hold what the flow needs.
    #[error("{0}")]
    Unexpected(String),
}

/// An answer: status, the `x-digisos-position` header and the body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The command's position, when the answer carries one.
    pub position: Option<String>,
    /// The raw body.
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }

    /// The body when the status is `expected`, else a [`ApiFailure::Status`] naming `what`.
    pub fn expect(self, expected: u16, what: &str) -> Result<Reply, ApiFailure> {
        if self.status == expected {
            return Ok(self);
        }
        let text = String::from_utf8_lossy(&self.bytes);
        let body: String = text.chars().take(600).collect();
        Err(ApiFailure::Status { what: what.to_owned(), status: self.status, expected, body })
    }

    /// The position header, required.
    pub fn position_or(&self, what: &str) -> Result<String, ApiFailure> {
        self.position
            .clone()
            .ok_or_else(|| ApiFailure::Unexpected(format!("{what}: the answer carries no {POSITION_HEADER} header")))
    }
}

/// The service at one base URL.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// A client of the service at `base` (`http://host:port`, no trailing slash needed).
    pub fn new(base: &str) -> Result<Self, ApiFailure> {
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| ApiFailure::Unexpected(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { base: base.trim_end_matches('/').to_owned(), client })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one request to `path` (absolute, from the host) and returns the answer whatever its status.
    pub async fn send(
        &self,
        what: &str,
        method: Method,
        path: &str,
        token: Option<&str>,
        min_position: Option<&str>,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<Reply, ApiFailure> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method, &url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(position) = min_position {
            request = request.header(MIN_POSITION_HEADER, position);
        }
        if let Some((content_type, bytes)) = body {
            request = request.header("content-type", content_type).body(bytes);
        }
        let unreachable = |source| ApiFailure::Unreachable { what: what.to_owned(), url: url.clone(), source };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let position = response.headers().get(POSITION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let bytes = response.bytes().await.map_err(unreachable)?.to_vec();
        Ok(Reply { status, position, bytes })
    }

    /// `GET path`.
    pub async fn get(&self, what: &str, path: &str, token: &str, min: Option<&str>) -> Result<Reply, ApiFailure> {
        self.send(what, Method::GET, path, Some(token), min, None).await
    }

    /// A JSON request.
    pub async fn json(
        &self,
        what: &str,
        method: Method,
        path: &str,
        token: &str,
        body: &Value,
    ) -> Result<Reply, ApiFailure> {
        let bytes = body.to_string().into_bytes();
        self.send(what, method, path, Some(token), None, Some(("application/json".into(), bytes))).await
    }

    /// A multipart POST.
    pub async fn post_form(&self, what: &str, path: &str, token: &str, form: Form) -> Result<Reply, ApiFailure> {
        let (content_type, bytes) = (Form::content_type(), form.finish());
        self.send(what, Method::POST, path, Some(token), None, Some((content_type, bytes))).await
    }

    /// Runs a GraphQL query and returns its `data`. With `min_position`, the service answers once its read
    /// models have reached that position; while they have not (`NOT_CAUGHT_UP`), the query is repeated for a
    /// bounded time.
    pub async fn graphql(
        &self,
        what: &str,
        token: &str,
        query: &str,
        variables: Value,
        min_position: Option<&str>,
    ) -> Result<Value, ApiFailure> {
        let deadline = tokio::time::Instant::now() + CATCH_UP_PATIENCE;
        let body = json!({"query": query, "variables": variables}).to_string().into_bytes();
        loop {
            let content = Some(("application/json".to_owned(), body.clone()));
            let reply = self.send(what, Method::POST, "/graphql", Some(token), min_position, content).await?;
            let answer = reply.json();
            let errors = answer.get("errors").filter(|e| !e.is_null());
            match errors {
                None if reply.status == 200 => return Ok(answer["data"].clone()),
                None => return reply.expect(200, what).map(|_| Value::Null),
                Some(errors) => {
                    let not_caught_up = errors
                        .as_array()
                        .is_some_and(|es| es.iter().any(|e| e["extensions"]["code"] == "NOT_CAUGHT_UP"));
                    if not_caught_up && tokio::time::Instant::now() < deadline {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    return Err(ApiFailure::GraphQl { what: what.to_owned(), errors: errors.to_string() });
                }
            }
        }
    }
}

pub use crate::multipart_form::Form;
