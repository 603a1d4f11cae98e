//! Nav's endpoints on behalf of the citizen (DOMAIN.md A.2): submitting a søknad and sending more documents
//! to its case, in v1 (every file in the request, `innsending.rs`) and v2 (the vedlegg from mellomlagring,
//! `v2.rs`). All are multipart uploads authorised by the citizen's own token.
//!
//! The handlers are in `innsending.rs`; `../edge.rs` holds what every REST handler shares (path parameters, the
//! position header, event metadata). Upload routes lift axum's 2 MB default body limit to what the upload
//! limits allow ([`body_limit`]); the app's overall body limit still applies on top.

mod innsending;
mod v2;

use axum::http::Method;
use axum::routing::post;

use crate::auth::CallerKind;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::multipart::body_limit;

const CITIZEN: Rule = Rule::Callers(&[CallerKind::Citizen]);

/// Adds Nav's citizen routes.
pub fn routes(router: AccessRouter<AppState>, state: &AppState) -> AccessRouter<AppState> {
    let limit = || body_limit(&state.upload_limits, state.documents.max_file_bytes());
    router
        .route(
            &[Method::POST],
            "/digisos/api/v1/soknader/{kommunenummer}/{navEksternRefId}",
            post(innsending::submit_soknad).layer(limit()),
            CITIZEN,
        )
        .route(
            &[Method::POST],
            "/digisos/api/v1/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}",
            post(innsending::ettersend).layer(limit()),
            CITIZEN,
        )
        .route(
            &[Method::POST],
            "/digisos/api/v2/soknader/{kommunenummer}/{navEksternRefId}",
            post(v2::submit_soknad).layer(limit()),
            CITIZEN,
        )
        .route(
            &[Method::POST],
            "/digisos/api/v2/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}",
            post(v2::ettersend).layer(limit()),
            CITIZEN,
        )
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(innsending::submit_soknad, innsending::ettersend, v2::submit_soknad, v2::ettersend))]
pub(crate) struct Doc;
