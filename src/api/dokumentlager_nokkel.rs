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

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(certificate))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/digisos/api/v1/dokumentlager-public-key",
    tag = "dokumenter",
    operation_id = "dokumentlager_nokkel_certificate",
    summary = "The X.509 certificate senders encrypt files for",
    description = "The document store's X.509 certificate as raw DER bytes, which senders encrypt uploaded files \
        for (CMS EnvelopedData), as Nav's `KrypteringService` and KS's `DigisosKlient` read it \
        (`CertificateFactory.getInstance(\"X.509\").generateCertificate(bytes)`). Public: it takes any caller, \
        with or without a token.",
    responses(
        (status = 200, description = "The certificate, DER-encoded.", body = Vec<u8>,
            content_type = "application/octet-stream"),
    )
)]
async fn certificate(State(state): State<AppState>) -> Response {
    let mut response = state.kryptering.certificate_der().to_vec().into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response
}
