//! The caller at the HTTP edge: axum extractors, so a handler states the caller it serves in its signature, and
//! the development issuer's public keys.
//!
//! `Caller` is produced once per request. The access middleware of the HTTP layer verifies the token and puts
//! the [`Caller`] into the request's extensions; the extractors here take it from there. Where no middleware ran
//! but an `Arc<Authenticator>` is in the extensions (a small router with `Extension(auth)`), the extractor
//! verifies the `Authorization` header itself and stores the result, so a second extractor in the same handler
//! does not verify again. With neither, the request is refused: a route without verification is a bug, and a
//! bug must not let a request through.
//!
//! The typed extractors ([`CitizenCaller`], [`NavStaffCaller`], …) refuse any other kind of caller with 403.
//! Refusals are JSON bodies in the Fiks error shape (DOMAIN.md A.1) that say why, never echoing the token.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::auth::{AuthError, Authenticated, Authenticator, Caller, CallerKind, Fnr, NavIdent, Orgnr};

/// A refused request: the reason and the path, answered as 401/403 with a JSON body.
#[derive(Clone, Debug)]
pub struct AuthRejection {
    /// Why.
    pub error: AuthError,
    /// The request path (without query), for the body's `path`.
    pub path: String,
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        ApiError::from(self.error).with_path(self.path).into_response()
    }
}

/// The outcome of verifying this request's token, kept in the request's extensions.
#[derive(Clone)]
struct Verified(Result<Authenticated, AuthError>);

async fn caller_of(parts: &mut Parts) -> Result<Caller, AuthRejection> {
    let reject = |error: AuthError, parts: &Parts| AuthRejection { error, path: parts.uri.path().to_string() };
    if let Some(caller) = parts.extensions.get::<Caller>() {
        return Ok(caller.clone());
    }
    if let Some(Verified(outcome)) = parts.extensions.get::<Verified>() {
        return outcome.clone().map(|a| a.caller).map_err(|e| reject(e, parts));
    }
    let Some(auth) = parts.extensions.get::<Arc<Authenticator>>().cloned() else {
        return Err(reject(AuthError::NotConfigured, parts));
    };
    let outcome = auth.authenticate(&parts.headers).await;
    parts.extensions.insert(Verified(outcome.clone()));
    match outcome {
        Ok(authenticated) => {
            parts.extensions.insert(authenticated.caller.clone());
            Ok(authenticated.caller)
        }
        Err(e) => Err(reject(e, parts)),
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        caller_of(parts).await
    }
}

fn wrong(needed: CallerKind, got: &Caller, parts: &Parts) -> AuthRejection {
    AuthRejection { error: AuthError::WrongCaller { needed, got: got.kind() }, path: parts.uri.path().to_string() }
}

/// A citizen caller; any other caller is refused with 403.
#[derive(Clone, Debug)]
pub struct CitizenCaller(pub Fnr);

impl<S: Send + Sync> FromRequestParts<S> for CitizenCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match caller_of(parts).await? {
            Caller::Citizen { fnr } => Ok(Self(fnr)),
            other => Err(wrong(CallerKind::Citizen, &other, parts)),
        }
    }
}

/// A Nav staff caller; any other caller is refused with 403.
#[derive(Clone, Debug)]
pub struct NavStaffCaller(pub NavIdent);

impl<S: Send + Sync> FromRequestParts<S> for NavStaffCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match caller_of(parts).await? {
            Caller::NavStaff { navident } => Ok(Self(navident)),
            other => Err(wrong(CallerKind::NavStaff, &other, parts)),
        }
    }
}

/// A Nav system caller (its organisation number); any other caller is refused with 403.
#[derive(Clone, Debug)]
pub struct NavSystemCaller(pub Orgnr);

impl<S: Send + Sync> FromRequestParts<S> for NavSystemCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match caller_of(parts).await? {
            Caller::NavSystem { orgnr } => Ok(Self(orgnr)),
            other => Err(wrong(CallerKind::NavSystem, &other, parts)),
        }
    }
}

/// A kommune fagsystem caller (its organisation number); any other caller is refused with 403.
#[derive(Clone, Debug)]
pub struct FagsystemCaller(pub Orgnr);

impl<S: Send + Sync> FromRequestParts<S> for FagsystemCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match caller_of(parts).await? {
            Caller::Fagsystem { orgnr } => Ok(Self(orgnr)),
            other => Err(wrong(CallerKind::Fagsystem, &other, parts)),
        }
    }
}

/// An administrator (its subject); any other caller is refused with 403.
#[derive(Clone, Debug)]
pub struct AdminCaller(pub String);

impl<S: Send + Sync> FromRequestParts<S> for AdminCaller {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match caller_of(parts).await? {
            Caller::Admin { subject } => Ok(Self(subject)),
            other => Err(wrong(CallerKind::Admin, &other, parts)),
        }
    }
}

/// `GET /dev-issuer/jwks.json`: the development issuer's public keys; 404 when development mode is off.
/// Needs `Arc<Authenticator>` reachable from the router state (`#[derive(FromRef)]` on the state).
pub async fn dev_issuer_jwks(axum::extract::State(auth): axum::extract::State<Arc<Authenticator>>) -> Response {
    match auth.dev_issuer() {
        Some(dev) => axum::Json(dev.jwks()).into_response(),
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}
