//! The citizen's read endpoints of the Fiks REST API (DOMAIN.md A.2), as Nav's innsyn-api calls them with the
//! citizen's own token: the citizen's cases as `DigisosSak` (DOMAIN.md A.5), one case, one JSON document of a
//! case, and many `digisos-soker.json` at once as `multipart/mixed`.
//!
//! Everything is read from the `innsyn` read model, whose rows keep each case's fold state; the queries select
//! by the caller's fødselsnummer in SQL, so another citizen's case is indistinguishable from one that does not
//! exist (404). A deleted case answers 410 to its own citizen. `DigisosSak` is built from the state by
//! [`SakState::digisos_sak`], which also decides which document ids of a case are JSON documents this API serves
//! ([`SakState::json_dokument`]): `soknad.json`, each `vedlegg.json` and the current `digisos-soker.json`, as the
//! bytes stored when they were received. Files (PDFs, attachments) are never served here; the citizen downloads
//! them from the document store (`dokumenter.rs`).
//!
//! Each read first waits for `x-digisos-min-position` ([`ReadSide::catch_up`]). A state written by an older
//! version of the projection lacks the document ids; while its rebuild catches up such a case answers 503.
//!
//! The bulk call (`POST /soknader/dokumenter`) is what innsyn-api uses for its case overview: a list of
//! `{digisosId, dokumentlagerId}` (at most [`MAX_DOKUMENTER`]), answered as `multipart/mixed` with one part per
//! document, named `<fiksDigisosId>_<dokumentlagerId>` in its `Content-Disposition`, in request order. An entry
//! that is not one of the caller's JSON documents (unknown, someone else's, deleted, an earlier
//! `digisos-soker.json`) is left out, as the client skips what it does not get; an entry asked for twice comes
//! once. The parts stream from the document store.

use std::collections::HashSet;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use digisos_projections::saker::{self, SakTilstand};
use digisos_projections::sakvisning::{DigisosSak, JsonDokument, SakState};
use digisos_schema::events::Sha512;
use digisos_schema::types::FiksDigisosId;
use digisos_schema::validate::Problem;
use futures::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;
use uuid::Uuid;

use super::edge::{param, path_error};
use crate::auth::CallerKind;
use crate::documents::DocumentStore;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::caller::CitizenCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;

const CITIZEN: Rule = Rule::Callers(&[CallerKind::Citizen]);
/// The most cases a list answers with (newest first); no citizen has nearly as many.
pub const MAX_SAKER: u32 = 1000;
/// The most documents one bulk request may ask for (Nav's innsyn-api asks for 25 at a time).
pub const MAX_DOKUMENTER: usize = 100;

/// Adds the citizen's read routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(&[Method::GET], "/digisos/api/v1/soknader/soknader", get(saker), CITIZEN)
        .route(&[Method::GET], "/digisos/api/v1/soknader/{digisosId}", get(sak), CITIZEN)
        .route(
            &[Method::GET],
            "/digisos/api/v1/soknader/{digisosId}/dokumenter/{dokumentlagerId}",
            get(dokument),
            CITIZEN,
        )
        .route(&[Method::POST], "/digisos/api/v1/soknader/dokumenter", post(dokumenter), CITIZEN)
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(saker, sak, dokument, dokumenter))]
pub(crate) struct Doc;

/// `GET /soknader/soknader`: the caller's shown cases, most recently changed first.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/soknader/soknader",
    tag = "innsyn",
    operation_id = "innsyn_saker",
    summary = "List the citizen's own cases as DigisosSak",
    description = "The cases of the citizen whose token calls (Nav's innsyn-api with the citizen's own token), each \
        as a `DigisosSak` (`fiksDigisosId`, `sokerFnr`, `fiksOrgId`, `kommunenummer`, `sistEndret`, \
        `originalSoknadNAV`, `ettersendtInfoNAV`, `digisosSoker`, `tilleggsinformasjon`), most recently changed \
        first. There is no paging: the answer holds at most 1000 cases. Cases that are not shown to the citizen \
        (deleted ones, and paper cases the kommune has published nothing for yet) are left out. Read from the \
        `innsyn` read model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the innsyn read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The citizen's cases as a JSON array of `DigisosSak`, newest change first \
            (empty when there are none).", body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`x-digisos-min-position` is malformed."),
        (status = 403, description = "The token is not a citizen's."),
        (status = 503, description = "The read model is unavailable, has not reached `x-digisos-min-position` in \
            time, or is being rebuilt; retry shortly."),
    )
)]
async fn saker(
    CitizenCaller(fnr): CitizenCaller,
    read: ReadSide,
    headers: HeaderMap,
) -> Result<Json<Vec<DigisosSak>>, ApiError> {
    read.catch_up(saker::INNSYN, &headers).await?;
    let rows = saker::innsyn_tilstander(&read.db, fnr.expose(), MAX_SAKER).await.map_err(read_error)?;
    let mut saker = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(sak) = row.state.digisos_sak().map_err(rebuilding)? {
            saker.push(sak);
        }
    }
    Ok(Json(saker))
}

/// `GET /soknader/{digisosId}`.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/soknader/{digisosId}",
    tag = "innsyn",
    operation_id = "innsyn_sak",
    summary = "Read one of the citizen's cases as DigisosSak",
    description = "One case of the calling citizen as `DigisosSak` (the same shape as in the list). Another \
        citizen's case answers 404, exactly like a case that does not exist, and so does a paper case the kommune \
        has published nothing for yet; a deleted case answers 410 to its own citizen. Read from the `innsyn` read \
        model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("digisosId" = uuid::Uuid, Path, description = "The case's fiksDigisosId."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the innsyn read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The case as `DigisosSak`.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "`digisosId` is not a fiksDigisosId (a UUID), or `x-digisos-min-position` is \
            malformed."),
        (status = 403, description = "The token is not a citizen's."),
        (status = 404, description = "No such case of the calling citizen."),
        (status = 410, description = "The case has been deleted."),
        (status = 503, description = "The read model is unavailable, has not reached `x-digisos-min-position` in \
            time, or is being rebuilt; retry shortly."),
    )
)]
async fn sak(
    CitizenCaller(fnr): CitizenCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DigisosSak>, ApiError> {
    let Path(id) = path.map_err(path_error)?;
    let id = param(&id, FiksDigisosId::parse)?;
    read.catch_up(saker::INNSYN, &headers).await?;
    let row = saker::innsyn_tilstand(&read.db, &id.to_string(), fnr.expose()).await.map_err(read_error)?;
    let state = shown(row.as_ref(), id)?;
    state.digisos_sak().map_err(rebuilding)?.map(Json).ok_or_else(|| no_case(id))
}

/// `GET /soknader/{digisosId}/dokumenter/{dokumentlagerId}`: the JSON document's bytes as stored.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/soknader/{digisosId}/dokumenter/{dokumentlagerId}",
    tag = "innsyn",
    operation_id = "innsyn_dokument",
    summary = "Download one JSON document of the citizen's case",
    description = "The bytes of one JSON document of the calling citizen's case, exactly as they were received: \
        `soknad.json`, a `vedlegg.json`, or the case's current `digisos-soker.json` (the ids are the ones \
        `DigisosSak` names). Files (PDFs, attachments) are not served here; download them from \
        `/digisos/api/v1/dokumentlager/nedlasting/{dokumentlagerId}`. A document id that is not one of the \
        case's JSON documents (including an earlier `digisos-soker.json`) answers 404. Read from the `innsyn` \
        read model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("digisosId" = uuid::Uuid, Path, description = "The case's fiksDigisosId."),
        ("dokumentlagerId" = uuid::Uuid, Path, description = "The document's id, as `DigisosSak` names it (a \
            value that is not a UUID answers 404)."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the innsyn read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The JSON document's stored bytes.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "`digisosId` is not a fiksDigisosId (a UUID), or `x-digisos-min-position` is \
            malformed."),
        (status = 403, description = "The token is not a citizen's."),
        (status = 404, description = "No such case of the calling citizen, or no such JSON document on it."),
        (status = 410, description = "The case has been deleted."),
        (status = 503, description = "The read model or the document store is unavailable, the read model has not \
            reached `x-digisos-min-position` in time, or it is being rebuilt; retry shortly."),
    )
)]
async fn dokument(
    State(state): State<AppState>,
    CitizenCaller(fnr): CitizenCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((id, dokument_id)) = path.map_err(path_error)?;
    let id = param(&id, FiksDigisosId::parse)?;
    let Ok(dokument_id) = Uuid::parse_str(&dokument_id) else { return Err(no_document()) };
    read.catch_up(saker::INNSYN, &headers).await?;
    let row = saker::innsyn_tilstand(&read.db, &id.to_string(), fnr.expose()).await.map_err(read_error)?;
    let sak = shown(row.as_ref(), id)?;
    let dokument = sak.json_dokument(dokument_id).ok_or_else(no_document)?;
    json_response(&state.documents, &dokument).await
}

/// The bulk request: `{"dokumenter": [{"digisosId", "dokumentlagerId"}, …]}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct DokumenterRequest {
    dokumenter: Vec<Onsket>,
}

/// One asked-for document: a case and the id of one of its JSON documents, both UUIDs.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Onsket {
    /// The case's fiksDigisosId (a UUID).
    digisos_id: String,
    /// The JSON document's id, as `DigisosSak` names it (a UUID).
    dokumentlager_id: String,
}

/// `POST /soknader/dokumenter`: the asked-for JSON documents of the caller's cases as `multipart/mixed`.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/soknader/dokumenter",
    tag = "innsyn",
    operation_id = "innsyn_dokumenter",
    summary = "Download many JSON documents of the citizen's cases at once",
    description = "The bulk read innsyn-api uses for its case overview: the body lists `{digisosId, \
        dokumentlagerId}` pairs (at most 100), and the answer is `multipart/mixed` with one part per document \
        that is one of the calling citizen's JSON documents (`soknad.json`, a `vedlegg.json`, the current \
        `digisos-soker.json`), in request order. Each part has `Content-Disposition: form-data; \
        name=\"<fiksDigisosId>_<dokumentlagerId>\"` and `Content-Type: application/json`, and holds the \
        document's stored bytes. An entry that is not such a document (unknown, another citizen's, deleted, an \
        earlier `digisos-soker.json`) is left out rather than refused; an entry asked for twice comes once. A \
        store failure mid-way ends the body early. A read only: repeating it is harmless. Send \
        `x-digisos-min-position` to read your own writes.",
    params(
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the innsyn read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    request_body(content = DokumenterRequest, content_type = "application/json", description = "`{\"dokumenter\": \
        [{\"digisosId\": \"<uuid>\", \"dokumentlagerId\": \"<uuid>\"}, …]}`, at most 100 entries."),
    responses(
        (status = 200, description = "The found documents as `multipart/mixed` (boundary in the `Content-Type`), \
            one `application/json` part per document, named `<fiksDigisosId>_<dokumentlagerId>`.",
            body = String, content_type = "multipart/mixed"),
        (status = 400, description = "The body is not `{\"dokumenter\": [...]}`, holds more than 100 entries, or \
            holds ids that are not UUIDs (each named at its JSON path); or `x-digisos-min-position` is malformed."),
        (status = 403, description = "The token is not a citizen's."),
        (status = 413, description = "The body is larger than the service accepts."),
        (status = 503, description = "The read model is unavailable or has not reached `x-digisos-min-position` \
            in time; retry shortly."),
    )
)]
async fn dokumenter(
    State(state): State<AppState>,
    CitizenCaller(fnr): CitizenCaller,
    read: ReadSide,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: DokumenterRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body must be {{\"dokumenter\": [{{\"digisosId\": uuid, \"dokumentlagerId\": uuid}}, …]}}: {e}"
        ))
    })?;
    if request.dokumenter.len() > MAX_DOKUMENTER {
        return Err(ApiError::bad_request(format!(
            "dokumenter holds {} entries; ask for at most {MAX_DOKUMENTER} documents at a time",
            request.dokumenter.len()
        )));
    }
    let mut wanted: Vec<(FiksDigisosId, Uuid)> = Vec::with_capacity(request.dokumenter.len());
    let mut problems = Vec::new();
    for (i, entry) in request.dokumenter.iter().enumerate() {
        let id = FiksDigisosId::parse(&entry.digisos_id).map_err(|e| {
            problems.push(Problem { path: format!("$.dokumenter[{i}].digisosId"), message: e.to_string() });
        });
        let dokument_id = Uuid::parse_str(&entry.dokumentlager_id).map_err(|_| {
            problems.push(Problem {
                path: format!("$.dokumenter[{i}].dokumentlagerId"),
                message: "must be a dokumentlager id (a UUID)".to_owned(),
            });
        });
        if let (Ok(id), Ok(dokument_id)) = (id, dokument_id)
            && !wanted.contains(&(id, dokument_id))
        {
            wanted.push((id, dokument_id));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::invalid_document("dokumenter holds ids that are not UUIDs", problems));
    }

    read.catch_up(saker::INNSYN, &headers).await?;
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for (id, _) in &wanted {
        if seen.insert(*id) {
            ids.push(id.to_string());
        }
    }
    let rows = saker::innsyn_tilstander_med_id(&read.db, fnr.expose(), &ids).await.map_err(read_error)?;
    let mut parts = Vec::new();
    for (id, dokument_id) in &wanted {
        let Some(row) = rows.iter().find(|r| r.fiks_digisos_id == id.to_string()) else { continue };
        if let Some(dokument) = row.state.json_dokument(*dokument_id) {
            parts.push(Part {
                name: format!("{}_{}", row.fiks_digisos_id, dokument_id.hyphenated()),
                sha512: dokument.dokument.sha512.clone(),
            });
        }
    }
    Ok(multipart_mixed(state.documents.clone(), parts))
}

/// The state of a case the caller may read, or why not: 404 (unknown, or not the caller's), 410 (deleted).
pub(super) fn shown(row: Option<&SakTilstand>, id: FiksDigisosId) -> Result<&SakState, ApiError> {
    match row {
        None => Err(no_case(id)),
        Some(row) if row.state.slettet() => Err(gone(id)),
        Some(row) => Ok(&row.state),
    }
}

/// 404 for a case.
pub(super) fn no_case(id: FiksDigisosId) -> ApiError {
    ApiError::not_found(format!("no DigisosSak {id}"))
}

/// 404 for a document id that is not one of the case's JSON documents.
pub(super) fn no_document() -> ApiError {
    ApiError::not_found("no such JSON document on the case (soknad.json, vedlegg.json, the current digisos-soker.json)")
}

/// 410: the case was deleted.
pub(super) fn gone(id: FiksDigisosId) -> ApiError {
    ApiError::new(StatusCode::GONE, format!("DigisosSak {id} has been deleted"))
}

/// A read-model failure (the details go to the log, not to the caller).
pub(super) fn read_error(err: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %err, "the case read model failed");
    ApiError::unavailable("the case read model is unavailable; retry shortly")
}

/// The state predates the document ids: the projection's rebuild has not caught up yet.
pub(super) fn rebuilding(err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "a case was asked for before the read model's rebuild caught up");
    ApiError::unavailable("the case read model is being rebuilt; retry shortly")
}

/// A JSON document's stored bytes as the response, streamed from the document store.
pub(super) async fn json_response(
    documents: &DocumentStore,
    dokument: &JsonDokument<'_>,
) -> Result<Response, ApiError> {
    let blob = documents.get_stream(&dokument.dokument.sha512).await.map_err(ApiError::from)?;
    Ok(json_body(blob))
}

/// An opened blob as an `application/json` response.
pub(super) fn json_body(blob: crate::documents::BlobStream) -> Response {
    let body = Body::from_stream(blob.stream.map_err(std::io::Error::other));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    response
}

/// One part of the bulk answer.
struct Part {
    /// `<fiksDigisosId>_<dokumentlagerId>`.
    name: String,
    sha512: Sha512,
}

/// The parts as a `multipart/mixed` response (RFC 2046), each `Content-Disposition: form-data; name="…"` and
/// `Content-Type: application/json`, the bytes streamed from the store one document after the other. A store
/// failure mid-way ends the response early (the client sees a broken body, never a wrong one).
fn multipart_mixed(documents: DocumentStore, parts: Vec<Part>) -> Response {
    let boundary = format!("digisos-{}", Uuid::new_v4().simple());
    let closing = Bytes::from(format!("--{boundary}--\r\n"));
    let boundary_for_parts = boundary.clone();
    let body = stream::iter(parts)
        .then(move |part| {
            let documents = documents.clone();
            let head = Bytes::from(format!(
                "--{boundary_for_parts}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\
                 Content-Type: application/json\r\n\r\n",
                part.name
            ));
            async move {
                match documents.get_stream(&part.sha512).await {
                    Ok(blob) => stream::once(async { Ok(head) })
                        .chain(blob.stream.map_err(std::io::Error::other))
                        .chain(stream::once(async { Ok(Bytes::from_static(b"\r\n")) }))
                        .boxed(),
                    Err(e) => {
                        tracing::error!(error = %e, "a document of a bulk answer could not be read; answer cut short");
                        stream::once(async move { Err(std::io::Error::other(e)) }).boxed()
                    }
                }
            }
        })
        .flatten()
        .chain(stream::once(async { Ok::<Bytes, std::io::Error>(closing) }));
    let mut response = Body::from_stream(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("multipart/mixed; boundary={boundary}")) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}
