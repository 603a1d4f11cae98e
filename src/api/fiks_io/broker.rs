//! Broker login as KS's clients make it (FIKS_IO.md §1, "What a compatible hub must do" 3), answered for
//! RabbitMQ's HTTP auth backend (`rabbitmq_auth_backend_http`, `auth_http.http_method = post`).
//!
//! A fagsystem logs in with username = its integration id and password = `"<integrasjonPassord> <Maskinporten
//! token>"`. The broker asks `…/user` with both: the hub splits the password at its first space, verifies the
//! token as any fagsystem token (a trusted issuer, a `consumer` organisation), requires that organisation to be a
//! fagsystem of the integration's kommune, and only then checks the integration password against its Argon2id
//! hash (issued by the admin API), so a login without a valid token costs no hashing. `…/vhost` lets a known integration into any vhost; `…/resource` grants `read` on the
//! integration's own `fiksio.konto.<kontoId>` and nothing else (no configure, no write: the hub declares and
//! publishes); `…/topic` grants nothing. Every answer is `allow` or `deny` as text, status 200, as the plugin
//! expects; a refusal is logged with its reason, never with the password or the token.
//!
//! The broker's own users (the hub's, an operator's) come before this backend in `auth_backends`, so the hub
//! never sees their passwords. These routes answer only the broker: operators keep them off the public ingress.

use axum::Form;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use digisos_projections::kommune::{KommuneInfo, kommune_for_integrasjon};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::Caller;
use crate::fiksio::melding::queue_name;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::read_side::ReadSide;

/// Where the broker's HTTP auth backend asks (`auth_http.user_path` and the others).
pub const USER_PATH: &str = "/fiks-io/amqp-auth/user";
/// `auth_http.vhost_path`.
pub const VHOST_PATH: &str = "/fiks-io/amqp-auth/vhost";
/// `auth_http.resource_path`.
pub const RESOURCE_PATH: &str = "/fiks-io/amqp-auth/resource";
/// `auth_http.topic_path`.
pub const TOPIC_PATH: &str = "/fiks-io/amqp-auth/topic";

/// Adds the broker's auth routes (public: the broker calls them without a token).
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(&[Method::POST], USER_PATH, post(user), Rule::Public)
        .route(&[Method::POST], VHOST_PATH, post(vhost), Rule::Public)
        .route(&[Method::POST], RESOURCE_PATH, post(resource), Rule::Public)
        .route(&[Method::POST], TOPIC_PATH, post(topic), Rule::Public)
}

#[derive(Debug, Deserialize)]
struct UserQuery {
    username: String,
    #[serde(default)]
    password: String,
}

#[derive(Debug, Deserialize)]
struct VhostQuery {
    username: String,
}

#[derive(Debug, Deserialize)]
struct ResourceQuery {
    username: String,
    resource: String,
    name: String,
    permission: String,
}

fn answer(allow: bool) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], if allow { "allow" } else { "deny" }).into_response()
}

async fn user(State(state): State<AppState>, read: ReadSide, Form(query): Form<UserQuery>) -> Response {
    match login(&state, &read, &query.username, &query.password).await {
        Ok(info) => {
            tracing::info!(integrasjon = %query.username, kommune = %info.kommunenummer,
                           "fiks io: broker login accepted");
            answer(true)
        }
        Err(reason) => {
            tracing::info!(reason, "fiks io: broker login refused");
            answer(false)
        }
    }
}

/// The kommune whose integration logs in, when the password and the token both hold.
async fn login(state: &AppState, read: &ReadSide, username: &str, password: &str) -> Result<KommuneInfo, &'static str> {
    let info = integrasjon(read, username).await?;
    let (passord, token) = password.split_once(' ').ok_or("the password is not \"<integrasjonPassord> <token>\"")?;
    // The token first: it is cheap to check, and without a valid one nobody gets to spend an Argon2 hash.
    let authenticated = state.auth.verify(token.trim()).await.map_err(|_| "the Maskinporten token was refused")?;
    let Caller::Fagsystem { orgnr } = authenticated.caller else {
        return Err("the token is not a fagsystem's");
    };
    if !info.konfigurasjon.fagsystem_orgnr.contains(&orgnr) {
        return Err("the token's organisation is not a fagsystem of the integration's kommune");
    }
    let hash = info
        .konfigurasjon
        .fiks_io_integrasjon
        .as_ref()
        .map(|i| i.passord_hash.clone())
        .ok_or("the integration has no password")?;
    if !crate::fiksio::integrasjon::verify(passord, &hash).await {
        return Err("wrong integration password");
    }
    Ok(info)
}

/// The kommune of integration `username`.
async fn integrasjon(read: &ReadSide, username: &str) -> Result<KommuneInfo, &'static str> {
    let id = Uuid::parse_str(username).map_err(|_| "the username is not an integration id")?;
    match kommune_for_integrasjon(&read.db, id).await {
        Ok(Some(info)) => Ok(info),
        Ok(None) => Err("unknown integration"),
        Err(e) => {
            tracing::error!(error = %e, "fiks io: the kommune read model failed during a broker login");
            Err("the kommune register is not available")
        }
    }
}

async fn vhost(read: ReadSide, Form(query): Form<VhostQuery>) -> Response {
    answer(integrasjon(&read, &query.username).await.is_ok())
}

async fn resource(read: ReadSide, Form(query): Form<ResourceQuery>) -> Response {
    let Ok(info) = integrasjon(&read, &query.username).await else { return answer(false) };
    let own = info.konfigurasjon.fiks_io_konto_id.map(queue_name);
    let allow = query.resource == "queue" && query.permission == "read" && own.as_deref() == Some(&query.name);
    if !allow {
        tracing::info!(integrasjon = %query.username, resource = %query.resource, name = %query.name,
                       permission = %query.permission, "fiks io: broker access refused");
    }
    answer(allow)
}

async fn topic() -> Response {
    answer(false)
}
