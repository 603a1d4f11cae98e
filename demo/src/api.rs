//! The demo's HTTP client: the service's public API as an outside party calls it (bearer tokens, JSON,
//! multipart bodies, the read-your-writes position header), with typed failures that say which request failed
//! and what the service answered.
//!
//! The multipart bodies are reqwest's, in the shape Nav's client sends: JSON parts as `text/plain`, then a
//! `vedleggSpesifikasjon:<i>` metadata part before each `dokument:<i>` file part ([`Form`]).

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

/// The REST prefix of the Digisos API.
pub const PREFIX: &str = "/digisos/api/v1";
/// The header a command's answer carries its position in (README "Reading your own writes").
pub const POSITION_HEADER: &str = "x-digisos-position";
/// The header a read names the position it must reflect with.
pub const MIN_POSITION_HEADER: &str = "x-digisos-min-position";
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
        body: Option<Body>,
    ) -> Result<Reply, ApiFailure> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method, &url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(position) = min_position {
            request = request.header(MIN_POSITION_HEADER, position);
        }
        match body {
            Some(Body::Bytes { content_type, bytes }) => {
                request = request.header("content-type", content_type).body(bytes);
            }
            Some(Body::Form(form)) => request = request.multipart(form.0),
            None => {}
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
        let body = Body::json(body);
        self.send(what, method, path, Some(token), None, Some(body)).await
    }

    /// A multipart POST.
    pub async fn post_form(&self, what: &str, path: &str, token: &str, form: Form) -> Result<Reply, ApiFailure> {
        self.send(what, Method::POST, path, Some(token), None, Some(Body::Form(form))).await
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
        let body = json!({"query": query, "variables": variables});
        loop {
            let content = Some(Body::json(&body));
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

/// A request's body.
#[derive(Debug)]
pub enum Body {
    /// Bytes of a content type.
    Bytes {
        /// The `Content-Type`.
        content_type: String,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// A `multipart/form-data` form.
    Form(Form),
}

impl Body {
    /// A JSON body.
    pub fn json(value: &Value) -> Self {
        Body::Bytes { content_type: "application/json".to_owned(), bytes: value.to_string().into_bytes() }
    }
}

/// A multipart form as Nav's client sends a søknad or an ettersendelse: JSON parts as `text/plain;charset=UTF-8`
/// without a file name, then per file the pair `vedleggSpesifikasjon:<i>` (`{filnavn, mimetype, storrelse}`)
/// and `dokument:<i>` (its bytes, `application/octet-stream`, with the file name).
#[derive(Debug, Default)]
pub struct Form(reqwest::multipart::Form);

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// A JSON part as Nav sends it.
    pub fn json(self, name: &str, value: &Value) -> Self {
        Self(self.0.part(name.to_owned(), text_part(value.to_string())))
    }

    /// Nav's file pair for file number `i`.
    pub fn file(self, i: usize, filnavn: &str, mimetype: &str, bytes: &[u8]) -> Self {
        let spesifikasjon = json!({"filnavn": filnavn, "mimetype": mimetype, "storrelse": bytes.len()});
        let dokument = reqwest::multipart::Part::bytes(bytes.to_vec())
            .file_name(filnavn.to_owned())
            .mime_str("application/octet-stream")
            .expect("a valid MIME type");
        Self(
            self.0
                .part(format!("vedleggSpesifikasjon:{i}"), text_part(spesifikasjon.to_string()))
                .part(format!("dokument:{i}"), dokument),
        )
    }
}

fn text_part(text: String) -> reqwest::multipart::Part {
    reqwest::multipart::Part::text(text).mime_str("text/plain;charset=UTF-8").expect("a valid MIME type")
}
