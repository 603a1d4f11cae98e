//! The kommune fagsystem's endpoints (DOMAIN.md A.4, "Sak API"), all scoped by the kommune's `fiksOrgId`:
//! paper cases, the `digisos-soker.json` status updates, the fagsystem's own files, and deleting the status
//! updates. The mailbox (`/{fiksOrgId}/mottak…`) is in [`super::mottak`].
//!
//! Every handler names its caller (`FagsystemCaller`) and then asks [`tilgang`] whether that organisation acts
//! for the kommune behind the path; the route rule only admits fagsystem tokens at all.

mod filer;
mod sak;
pub(crate) mod tilgang;

use axum::http::Method;
use axum::routing::post;

use crate::auth::CallerKind;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::multipart::body_limit;

/// The rule of every fagsystem route.
pub(crate) const FAGSYSTEM: Rule = Rule::Callers(&[CallerKind::Fagsystem]);

/// Adds the fagsystem's case routes.
pub fn routes(router: AccessRouter<AppState>, state: &AppState) -> AccessRouter<AppState> {
    let limit = body_limit(&state.upload_limits, state.documents.max_file_bytes());
    router
        .route(&[Method::POST], "/digisos/api/v1/{fiksOrgId}/ny", post(sak::ny_papirsak), FAGSYSTEM)
        .route(
            &[Method::POST, Method::DELETE],
            "/digisos/api/v1/{fiksOrgId}/{digisosId}",
            post(sak::oppdater).delete(sak::slett_statusoppdateringer),
            FAGSYSTEM,
        )
        .route(
            &[Method::POST, Method::GET, Method::DELETE],
            "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer",
            post(filer::last_opp).layer(limit).get(filer::list).delete(filer::slett),
            FAGSYSTEM,
        )
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    sak::ny_papirsak,
    sak::oppdater,
    sak::slett_statusoppdateringer,
    filer::last_opp,
    filer::list,
    filer::slett
))]
pub(crate) struct Doc;
