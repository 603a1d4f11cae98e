//! `GET /digisos/api/v1/dokumentlager/nedlasting/{dokumentlagerId}`: a document's bytes, with its media type and
//! file name, for the case's citizen and the case's kommune fagsystem only (issue 4 item 7, DOMAIN.md A.8).
//!
//! The path is under the API prefix, like every other route of this service (the real Fiks serves it on its
//! citizen host; one host is simpler for clients here). Nav staff are refused by the route rule (403): they never
//! see files. Any other citizen or fagsystem gets 404, as for a document that does not exist, so ids do not leak.
//! Which case a document belongs to comes from the `mottak` read model's document index; the fagsystem's right
//! is checked against its kommune's current configuration (the kommune stream). Bytes stream from the document
//! store; nothing is buffered whole.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use digisos_projections::mottak::{NAME, dokument};
use digisos_schema::events::Sha512;
use digisos_schema::types::Kommunenummer;
use futures::TryStreamExt;
use uuid::Uuid;

use super::edge::path_error;
use super::fagsystem::tilgang::kommune;
use crate::auth::{Caller, CallerKind};
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;

/// Adds the download route.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router.route(
        &[Method::GET],
        "/digisos/api/v1/dokumentlager/nedlasting/{dokumentlagerId}",
        get(last_ned),
        Rule::Callers(&[CallerKind::Citizen, CallerKind::Fagsystem]),
    )
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(last_ned))]
pub(crate) struct Doc;

#[utoipa::path(
    get,
    path = "/digisos/api/v1/dokumentlager/nedlasting/{dokumentlagerId}",
    tag = "dokumenter",
    operation_id = "dokumenter_last_ned",
    summary = "Download a case's file from the document store",
    description = "The bytes of one file of a case (a PDF or attachment, as its `DokumentInfo` names it), streamed \
        with the file's media type as `Content-Type`, its length, and `Content-Disposition: inline` with the file \
        name. For the case's own citizen and for a fagsystem of the case's kommune (checked against the \
        kommune's current configuration); Nav staff never see files (403). Any other citizen or fagsystem gets \
        404, exactly as for an id that does not exist. A deleted case's file answers 410. Which case a document \
        belongs to comes from the `mottak` read model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("dokumentlagerId" = uuid::Uuid, Path, description = "The file's dokumentlager id (a value that is not a \
            UUID answers 404)."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the mottak read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The file's bytes, with its own media type as `Content-Type` (e.g. \
            `application/pdf`), `Content-Length` and `Content-Disposition: inline; filename=...`.",
            body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 400, description = "`x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is neither a citizen nor a fagsystem (Nav staff, administrators)."),
        (status = 404, description = "No such document, or not one of the caller's (another citizen's, another \
            kommune's)."),
        (status = 410, description = "The document's case was deleted."),
        (status = 503, description = "The document index or the document store is unavailable, or the read model \
            has not reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
pub(crate) async fn last_ned(
    State(state): State<AppState>,
    caller: Caller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(path_error)?;
    let not_found = || ApiError::not_found("no such document");
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    read.catch_up(NAME, &headers).await?;
    let doc = dokument(&read.db, &id.hyphenated().to_string()).await.map_err(|e| {
        tracing::error!(error = %e, "the mottak read model failed");
        ApiError::unavailable("the document index is not available")
    })?;
    let doc = doc.ok_or_else(not_found)?;
    let allowed = match &caller {
        Caller::Citizen { fnr } => fnr.expose() == doc.soker_fnr,
        Caller::Fagsystem { orgnr } => {
            let kommunenummer = Kommunenummer::parse(&doc.kommunenummer).map_err(|_| ApiError::internal())?;
            let kommune = kommune(&state.store, kommunenummer).await?;
            let same_org = kommune.konfigurasjon().is_some_and(|k| k.fiks_org_id.to_string() == doc.fiks_org_id);
            same_org && kommune.tillater_fagsystem(orgnr)
        }
        _ => false,
    };
    if !allowed {
        return Err(not_found());
    }
    if doc.slettet {
        return Err(ApiError::new(StatusCode::GONE, "the case was deleted"));
    }
    let sha512 = Sha512::parse(&doc.sha512).map_err(|_| ApiError::internal())?;
    let blob = state.documents.get_stream(&sha512).await.map_err(ApiError::from)?;
    let body = Body::from_stream(blob.stream.map_err(std::io::Error::other));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    let mimetype =
        HeaderValue::from_str(&doc.mimetype).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, mimetype);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    if let Ok(disposition) = HeaderValue::from_str(&content_disposition(&doc.filnavn)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// `inline` with the file name: an ASCII fallback and the exact name percent-encoded (RFC 6266 / 5987).
pub(crate) fn content_disposition(filnavn: &str) -> String {
    let ascii: String =
        filnavn.chars().map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' { c } else { '_' }).collect();
    let encoded: String = filnavn
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("inline; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
