//! `GET /digisos/api/v1/dokumentlager-public-key`: the X.509 certificate senders encrypt files for, as raw DER
//! bytes (DOMAIN.md A.1), as Nav's `KrypteringService` and KS's `DigisosKlient` read it
//! (`CertificateFactory.getInstance("X.509").generateCertificate(bytes)`).
//!
//! A certificate is public; the route takes any caller, with or without a token, as a client fetching it before
//! it has a token would expect.

use axum::extract::State;
use axum::http::{HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};

/// The path of the certificate.
pub const PATH: &str = "/digisos/api/v1/dokumentlager-public-key";

/// Adds the route.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router.route(&[Method::GET], PATH, get(certificate), Rule::Public)
}

async fn certificate(State(state): State<AppState>) -> Response {
    let mut response = state.kryptering.certificate_der().to_vec().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response
}
