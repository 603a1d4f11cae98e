//! The GraphQL API (async-graphql on axum): queries for each audience over the read models, and live case
//! updates over WebSocket.
//!
//! - `POST /graphql`: queries, with a verified bearer token of any caller kind (the access table lets every kind
//!   in; each root field's guard then admits only its audience, so a field of one audience is never reachable by
//!   another). A request may carry `x-digisos-min-position` (a command's `x-digisos-position`): each field then
//!   waits until its read model has reached that position (read-your-writes), or fails with `NOT_CAUGHT_UP`.
//! - `GET /graphql?query=…&variables=…&operationName=…&extensions=…`: queries as the GraphQL-over-HTTP spec and
//!   urql's default send them (never a mutation, never for Nav staff, whose queries name personal numbers: 405;
//!   answers `Cache-Control: no-store`), with the same token and position rules as POST. A browser
//!   asking for HTML without a query gets GraphiQL, in development mode only.
//! - Refusals before execution (no or invalid token, a bad header) come in the GraphQL shape, `errors[0].
//!   extensions.code` (`UNAUTHENTICATED` with a 401), so that Apollo, urql and graphql-request surface them.
//! - Apollo's automatic persisted queries (`extensions.persistedQuery.sha256Hash`): async-graphql's extension,
//!   over a bounded LRU of parsed documents; the alias limit still applies to every document.
//! - `GET /graphql/ws`: subscriptions (`graphql-transport-ws`, and the older `graphql-ws`). Browsers cannot set
//!   headers on a WebSocket, so the token comes in `connection_init` as `{"Authorization": "Bearer …"}`; it is
//!   verified there, and the socket is closed when the token expires.
//!
//! Limits: depth, complexity, aliases, directives, `first` ≤ 100 on every list, a small request body, and
//! introspection only in development mode (portal developers use the committed SDL, `schema/schema.graphql`,
//! regenerated with `cargo run -- graphql-schema > schema/schema.graphql`). DataLoaders are created per request.

pub mod context;
pub mod field_metrics;
pub mod limits;
pub mod query;
pub mod subscription;

use std::time::Duration;

use async_graphql::dataloader::DataLoader;
use async_graphql::extensions::apollo_persisted_queries::{ApolloPersistedQueries, CacheStorage, LruCacheStorage};
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql::{Data, EmptyMutation, Schema};
use async_graphql_axum::{GraphQLProtocol, GraphQLRequest, GraphQLResponse, GraphQLWebSocket};
use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use tokio::sync::watch;
use tower_http::limit::RequestBodyLimitLayer;

use crate::auth::{Caller, CallerKind};
use crate::eventstore::Position;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::error::ApiError;
use crate::http::read_side::{MIN_POSITION_HEADER, ReadSide};
use context::{Deps, RequestInfo};
use query::{KommuneLoader, Query};
use subscription::Subscription;

/// The schema of the service.
pub type DigisosSchema = Schema<Query, EmptyMutation, Subscription>;

/// The deepest selection nesting a query may have.
pub const MAX_DEPTH: usize = 16;
/// The highest complexity (roughly: fields selected) a query may have.
pub const MAX_COMPLEXITY: usize = 1000;
/// The most aliased fields in one document.
pub const MAX_ALIASES: usize = 30;
/// The largest GraphQL request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// How many automatic persisted queries are kept (least recently used go first).
pub const PERSISTED_QUERIES: usize = 512;
/// How long a WebSocket may stay open without a valid `connection_init`.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

const EVERY_CALLER: &[CallerKind] =
    &[CallerKind::Citizen, CallerKind::NavStaff, CallerKind::NavSystem, CallerKind::Fagsystem, CallerKind::Admin];

/// The schema with its limits; introspection only in development mode.
pub fn schema(dev_mode: bool) -> DigisosSchema {
    let builder = Schema::build(Query, EmptyMutation, Subscription)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .limit_recursive_depth(32)
        .limit_directives(10)
        .extension(field_metrics::FieldMetrics)
        .extension(ApolloPersistedQueries::new(PersistedQueries(LruCacheStorage::new(PERSISTED_QUERIES))))
        .extension(limits::DocumentLimits::new(MAX_ALIASES));
    if dev_mode { builder.finish() } else { builder.disable_introspection().finish() }
}

/// The store of automatic persisted queries: async-graphql's LRU, keeping only documents within the alias limit.
/// The APQ extension stores a document as soon as it parses, before [`limits::DocumentLimits`] counts its
/// aliases; a document the limit refuses is then not kept, so its hash alone answers `PersistedQueryNotFound`.
#[derive(Clone)]
struct PersistedQueries(LruCacheStorage);

#[async_trait::async_trait]
impl CacheStorage for PersistedQueries {
    async fn get(&self, key: String) -> Option<async_graphql::parser::types::ExecutableDocument> {
        self.0.get(key).await
    }

    async fn set(&self, key: String, query: async_graphql::parser::types::ExecutableDocument) {
        if limits::count_aliases(&query) <= MAX_ALIASES {
            self.0.set(key, query).await;
        }
    }
}

/// The schema in SDL, as committed in `schema/schema.graphql`.
pub fn sdl() -> String {
    schema(true).sdl()
}

/// Adds the GraphQL routes.
pub fn routes(router: AccessRouter<AppState>, state: &AppState) -> AccessRouter<AppState> {
    let dev_mode = state.auth.dev_issuer().is_some();
    let schema = schema(dev_mode);
    let http = {
        let schema = schema.clone();
        post(move |state, caller, read, headers, request| execute(schema, state, caller, read, headers, request))
            .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
    };
    let over_get = {
        let schema = schema.clone();
        get(move |state, read, method, headers, uri| get_request(schema, dev_mode, state, read, method, headers, uri))
    };
    let ws = get(move |state, read, protocol, upgrade| subscribe(schema, state, read, protocol, upgrade));
    // GET is public at the access table because GraphiQL (development mode) is a page for a browser without a
    // token; a GET that carries a request is authenticated by the handler with the same verifier, before anything
    // runs.
    router
        .route(&[Method::POST], "/graphql", http, Rule::Callers(EVERY_CALLER))
        .route(&[Method::GET], "/graphql", over_get, Rule::Public)
        .route(&[Method::GET], "/graphql/ws", ws, Rule::Public)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").subscription_endpoint("/graphql/ws").finish())
}

fn request_data(deps: Option<Deps>, info: RequestInfo) -> Data {
    let mut data = Data::default();
    if let Some(deps) = deps {
        data.insert(DataLoader::new(KommuneLoader::new(deps.read.db.clone()), tokio::spawn));
        data.insert(deps);
    }
    data.insert(info);
    data
}

fn deps_of(state: &AppState, read: Option<ReadSide>) -> Option<Deps> {
    read.map(|read| Deps { read, store: state.store.clone(), documents: state.documents.clone() })
}

async fn execute(
    schema: DigisosSchema,
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    read: Option<ReadSide>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    run(schema, &state, caller, read, &headers, request.into_inner()).await
}

/// `GET /graphql`: GraphiQL for a browser in development mode, otherwise a query from the query string.
async fn get_request(
    schema: DigisosSchema,
    dev_mode: bool,
    State(state): State<AppState>,
    read: Option<ReadSide>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let raw = uri.query().unwrap_or_default();
    if raw.is_empty() {
        if dev_mode && accepts_html(&headers) {
            return graphiql().await.into_response();
        }
        return ApiError::bad_request(
            "GET /graphql takes the request in the query string: ?query=…&variables=…&operationName=… \
             (or send it as JSON with POST)",
        )
        .into_graphql_response();
    }
    if method == Method::HEAD {
        return only_post("a GraphQL request is not run for HEAD; use GET or POST");
    }
    let caller = match state.auth.authenticate_headers(&headers).await {
        Ok(caller) => caller,
        Err(err) => return ApiError::from(err).into_graphql_response(),
    };
    if caller.kind() == CallerKind::NavStaff {
        // Staff queries name a person's number (`navSaker(fnr:)`); in a URL it would reach access logs.
        return only_post("Nav staff queries carry personal numbers and are sent with POST, never in a URL");
    }
    let mut request = match async_graphql::http::parse_query_string(raw) {
        Ok(request) => request,
        Err(_) => {
            // The parser's message may quote a variable's value (personal data): a fixed message instead.
            return ApiError::bad_request(
                "the query string is not a GraphQL request: query is text, variables and extensions are JSON objects",
            )
            .into_graphql_response();
        }
    };
    // The spec names it `operationName`; async-graphql's query-string reader knows only `operation_name`.
    if request.operation_name.is_none() {
        request.operation_name = url::form_urlencoded::parse(raw.as_bytes())
            .find(|(k, _)| k == "operationName")
            .map(|(_, v)| v.into_owned());
    }
    if is_mutation(&request.query, request.operation_name.as_deref()) {
        return only_post("a mutation cannot be sent with GET; use POST (GraphQL over HTTP)");
    }
    let mut response = run(schema, &state, caller, read, &headers, request).await;
    // A GET is cacheable by default; these answers are one person's data.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 405 with `Allow: POST`, in the GraphQL error shape.
fn only_post(message: &'static str) -> Response {
    let mut response = ApiError::new(StatusCode::METHOD_NOT_ALLOWED, message).into_graphql_response();
    response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
    response
}

/// Whether the browser asks for a page (`Accept: text/html`).
fn accepts_html(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).any(|v| v.contains("text/html"))
}

/// Whether the operation a GET would run is a mutation (a document that does not parse is left to execution,
/// which answers its syntax error).
fn is_mutation(query: &str, operation_name: Option<&str>) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType};
    let Ok(document) = async_graphql::parser::parse_query(query) else { return false };
    match &document.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name).is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    }
}

/// Runs one request for `caller`: the position header, the request's data, the schema.
async fn run(
    schema: DigisosSchema,
    state: &AppState,
    caller: Caller,
    read: Option<ReadSide>,
    headers: &HeaderMap,
    mut request: async_graphql::Request,
) -> Response {
    let min_position = match headers.get(MIN_POSITION_HEADER) {
        None => None,
        Some(value) => match value.to_str().ok().and_then(|v| v.parse::<Position>().ok()) {
            Some(position) => Some(position),
            None => {
                return ApiError::bad_request(format!("{MIN_POSITION_HEADER} must be two numbers joined by '-'"))
                    .into_graphql_response();
            }
        },
    };
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let info = RequestInfo { caller, min_position, request_id };
    request.data = request_data(deps_of(state, read), info);
    GraphQLResponse::from(schema.execute(request).await).into_response()
}

async fn subscribe(
    schema: DigisosSchema,
    State(state): State<AppState>,
    read: Option<ReadSide>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let deps = deps_of(&state, read);
    let auth = state.auth.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| serve_socket(socket, schema, protocol, auth, deps))
}

async fn serve_socket(
    socket: WebSocket,
    schema: DigisosSchema,
    protocol: GraphQLProtocol,
    auth: std::sync::Arc<crate::auth::Authenticator>,
    deps: Option<Deps>,
) {
    let (expiry_tx, expiry_rx) = watch::channel(None::<DateTime<Utc>>);
    let on_init = move |payload: serde_json::Value| async move {
        let token =
            payload.get("Authorization").or_else(|| payload.get("authorization")).and_then(|v| v.as_str()).ok_or_else(
                || async_graphql::Error::new("connection_init must carry {\"Authorization\": \"Bearer …\"}"),
            )?;
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_str(token).map_err(|_| async_graphql::Error::new("malformed Authorization"))?;
        headers.insert(header::AUTHORIZATION, value);
        let authenticated = auth.authenticate(&headers).await.map_err(|e| async_graphql::Error::new(e.to_string()))?;
        let _ = expiry_tx.send(Some(authenticated.expires_at));
        let info = RequestInfo { caller: authenticated.caller, min_position: None, request_id: None };
        Ok(request_data(deps, info))
    };
    let serve = GraphQLWebSocket::new(socket, schema, protocol).on_connection_init(on_init).serve();
    tokio::select! {
        () = serve => {}
        () = close_when_due(expiry_rx) => {
            tracing::info!("closing a GraphQL socket: its token expired or it never sent a valid connection_init");
        }
    }
}

/// Resolves when the socket's token expires, or when no valid `connection_init` arrived in time.
async fn close_when_due(mut expiry: watch::Receiver<Option<DateTime<Utc>>>) {
    let init_deadline = tokio::time::Instant::now() + INIT_TIMEOUT;
    loop {
        let current = *expiry.borrow_and_update();
        match current {
            Some(expires_at) => {
                let left = (expires_at - Utc::now()).to_std().unwrap_or_default();
                tokio::time::sleep(left).await;
                return;
            }
            None => {
                tokio::select! {
                    changed = expiry.changed() => {
                        if changed.is_err() {
                            // The socket ended before a valid connection_init; nothing to close.
                            std::future::pending::<()>().await;
                        }
                    }
                    () = tokio::time::sleep_until(init_deadline) => return,
                }
            }
        }
    }
}
