//! Mellomlagring (DOMAIN.md A.2): `POST/GET/DELETE /digisos/api/v1/mellomlagring/{navEksternRefId}` and
//! `GET/DELETE …/{navEksternRefId}/{filId}`, called by Nav's system identity (Maskinporten) as Nav's
//! `MellomlagringClient` calls them, scoped by the `navEksternRefId` of the søknad (or ettersendelse) the files
//! are for.
//!
//! - `POST`: one file per request as Nav sends it (a part `metadata` with `{filnavn, mimetype, storrelse}`,
//!   `text/plain` or `application/json`, then the file in a part named `files` or by the file's own name); several
//!   pairs are taken too. Each file may be CMS EnvelopedData for the hub's certificate, and is stored decrypted.
//!   The answer is the whole list now stored (`MellomlagringDto`).
//! - `GET` of the list: the `MellomlagringDto`; for a reference with nothing stored, 404 with the message Nav's
//!   client recognises as empty ([`FANT_INGEN_DATA`]); its current version treats any 404 so, its earlier one
//!   looked for that message.
//! - `GET` of one file: its bytes. `DELETE` of one file or all: 204.
//!
//! State is read from the mellomlagring's own stream (a short one), never a read model, so a file is listed the
//! moment its upload is answered.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use digisos_schema::events::{TomtArsak, mellomlagring_stream};
use digisos_schema::types::NavEksternRefId;
use futures::TryStreamExt;
use serde::Serialize;
use uuid::Uuid;

use super::edge::{metadata, now, param, path_error, respond};
use crate::auth::CallerKind;
use crate::commands::{self, CommandError};
use crate::eventstore::StreamName;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::caller::NavSystemCaller;
use crate::http::error::ApiError;
use crate::http::multipart::{MultipartBody, body_limit, read_mellomlagring};
use crate::mellomlagring::{
    FANT_INGEN_DATA, MellomlagretFil, MellomlagringAggregate, MellomlagringCommand, MellomlagringState, NyFil,
};

const NAV_SYSTEM: Rule = Rule::Callers(&[CallerKind::NavSystem]);

/// Adds the mellomlagring routes.
pub fn routes(router: AccessRouter<AppState>, state: &AppState) -> AccessRouter<AppState> {
    let limit = body_limit(&state.upload_limits, state.documents.max_file_bytes());
    router
        .route(
            &[Method::GET, Method::POST, Method::DELETE],
            "/digisos/api/v1/mellomlagring/{navEksternRefId}",
            get(list).post(upload).layer(limit).delete(delete_all),
            NAV_SYSTEM,
        )
        .route(
            &[Method::GET, Method::DELETE],
            "/digisos/api/v1/mellomlagring/{navEksternRefId}/{filId}",
            get(download).delete(delete_one),
            NAV_SYSTEM,
        )
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(upload, list, download, delete_one, delete_all))]
pub(crate) struct Doc;

/// `MellomlagringDto` as Nav's client reads it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MellomlagringDto {
    nav_ekstern_ref_id: String,
    mellomlagring_metadata_list: Vec<MellomlagringDokumentInfo>,
}

/// One file of [`MellomlagringDto`].
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MellomlagringDokumentInfo {
    filnavn: String,
    fil_id: Uuid,
    storrelse: u64,
    mimetype: String,
}

impl MellomlagringDto {
    fn of(nav_ekstern_ref_id: &NavEksternRefId, state: &MellomlagringState) -> Self {
        Self {
            nav_ekstern_ref_id: nav_ekstern_ref_id.to_string(),
            mellomlagring_metadata_list: state
                .filer
                .iter()
                .map(|f: &MellomlagretFil| MellomlagringDokumentInfo {
                    filnavn: f.filnavn.clone(),
                    fil_id: f.fil_id,
                    storrelse: f.storrelse,
                    mimetype: f.mimetype.clone(),
                })
                .collect(),
        }
    }
}

/// The stream of a reference's mellomlagring.
pub(crate) fn stream_of(nav_ekstern_ref_id: &NavEksternRefId) -> Result<StreamName, ApiError> {
    StreamName::parse(mellomlagring_stream(nav_ekstern_ref_id)).map_err(|e| {
        tracing::error!(error = %e, "a mellomlagring stream name was refused");
        ApiError::internal()
    })
}

/// The mellomlagring of a reference as its stream tells it.
pub(crate) async fn load(state: &AppState, stream: &StreamName) -> Result<MellomlagringState, ApiError> {
    let (mellomlagring, _, _) = commands::load::<MellomlagringAggregate>(&state.store, stream).await?;
    Ok(mellomlagring)
}

fn reference(path: &str) -> Result<NavEksternRefId, ApiError> {
    param(path, NavEksternRefId::parse)
}

/// `POST /mellomlagring/{navEksternRefId}`: stores the request's files; answers the whole list.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/mellomlagring/{navEksternRefId}",
    tag = "mellomlagring",
    operation_id = "mellomlagring_upload",
    summary = "Store a vedlegg in the mellomlagring of a navEksternRefId",
    description = "Nav's system identity uploads a vedlegg while the citizen is still filling in the søknad (or \
        ettersendelse), as Nav's `MellomlagringClient` does: one file per request, several pairs are taken too. \
        Each file may be CMS EnvelopedData for the certificate of `GET /digisos/api/v1/dokumentlager-public-key` \
        and is stored decrypted. The v2 submission of the same `navEksternRefId` later takes the files it lists \
        from here. The answer is the whole list now stored, and carries `x-digisos-position`.\n\n\
        Not idempotent: each stored file gets a fresh `filId`, so a repeated upload stores the file again. At \
        most 200 files are kept a reference. The state is read from the mellomlagring's own stream, so a file \
        is listed the moment its upload is answered.",
    params(
        ("navEksternRefId" = String, Path, description = "The `navEksternRefId` of the søknad or ettersendelse the \
            files are for: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
    ),
    request_body(
        content = String,
        content_type = "multipart/form-data",
        description = "Per file, in this order: a part `metadata` with JSON `{filnavn, mimetype, storrelse}` (sent \
            as `text/plain` or `application/json`), then the file in a part of any name (`files` in Nav's current \
            client, the file's own name in the earlier one). `storrelse` must be the size of the (decrypted) \
            file.",
    ),
    responses(
        (status = 200, description = "The files now stored for this reference, as `MellomlagringDto`: \
            `{navEksternRefId, mellomlagringMetadataList: [{filnavn, filId, storrelse, mimetype}]}`. Carries \
            `x-digisos-position`.", body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`navEksternRefId` is malformed; the body is not multipart/form-data; it \
            carries no file, a file part without its `metadata` part, or invalid metadata; a file's size is not \
            its `storrelse`; a file cannot be decrypted, or is plain where encryption is required; or the \
            reference would hold more than 200 files."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 409, description = "The mellomlagring kept changing concurrently; retry."),
        (status = 413, description = "A file is larger than the limit a file, the request carries more files \
            than allowed, a metadata part is past its cap, or the body is past the route's limit."),
        (status = 503, description = "The database or the document store is unavailable; retry."),
    )
)]
async fn upload(
    State(state): State<AppState>,
    _caller: NavSystemCaller,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    MultipartBody(multipart): MultipartBody,
) -> Result<Response, ApiError> {
    let Path(nav_ekstern_ref_id) = path.map_err(path_error)?;
    let nav_ekstern_ref_id = reference(&nav_ekstern_ref_id)?;
    let stream = stream_of(&nav_ekstern_ref_id)?;
    let upload = read_mellomlagring(multipart, &state.documents, &state.upload_limits, &state.kryptering).await?;
    let filer = upload
        .filer
        .iter()
        .map(|f| NyFil {
            fil_id: Uuid::new_v4(),
            filnavn: f.metadata.filnavn.clone(),
            mimetype: f.metadata.mimetype.clone(),
            storrelse: f.blob.size,
            sha512: f.blob.sha512.clone(),
        })
        .collect();
    let command =
        MellomlagringCommand::Lagre { nav_ekstern_ref_id: nav_ekstern_ref_id.clone(), filer, tidspunkt: now() };
    let outcome = commands::execute::<MellomlagringAggregate>(
        &state.store,
        &stream,
        command,
        metadata(CallerKind::NavSystem, &headers),
    )
    .await?;
    Ok(respond(StatusCode::OK, outcome.position, Json(MellomlagringDto::of(&nav_ekstern_ref_id, &outcome.state))))
}

/// `GET /mellomlagring/{navEksternRefId}`: the list, or 404 "Fant ingen data …" when nothing is stored.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/mellomlagring/{navEksternRefId}",
    tag = "mellomlagring",
    operation_id = "mellomlagring_list",
    summary = "List the files in the mellomlagring of a navEksternRefId",
    description = "The files stored for this reference. For a reference with nothing stored the answer is a 404 \
        whose message is the one Nav's client recognises as empty (`Fant ingen data i basen knytter til angitt \
        id'en`, `errorCode` `MELLOMLAGRING_TOM`). Read from the mellomlagring's own stream, never a read model, \
        so an upload is listed as soon as it is answered; no `x-digisos-min-position` is needed.",
    params(
        ("navEksternRefId" = String, Path, description = "The `navEksternRefId` of the søknad or ettersendelse the \
            files are for: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
    ),
    responses(
        (status = 200, description = "The stored files, as `MellomlagringDto`: `{navEksternRefId, \
            mellomlagringMetadataList: [{filnavn, filId, storrelse, mimetype}]}`.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "`navEksternRefId` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 404, description = "Nothing is stored for this reference (`errorCode` `MELLOMLAGRING_TOM`)."),
        (status = 503, description = "The database is unavailable; retry."),
    )
)]
async fn list(
    State(state): State<AppState>,
    _caller: NavSystemCaller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(nav_ekstern_ref_id) = path.map_err(path_error)?;
    let nav_ekstern_ref_id = reference(&nav_ekstern_ref_id)?;
    let mellomlagring = load(&state, &stream_of(&nav_ekstern_ref_id)?).await?;
    if mellomlagring.filer.is_empty() {
        return Err(ApiError::not_found(FANT_INGEN_DATA).with_code("MELLOMLAGRING_TOM"));
    }
    Ok(Json(MellomlagringDto::of(&nav_ekstern_ref_id, &mellomlagring)).into_response())
}

/// `GET /mellomlagring/{navEksternRefId}/{filId}`: the file's bytes.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/mellomlagring/{navEksternRefId}/{filId}",
    tag = "mellomlagring",
    operation_id = "mellomlagring_download",
    summary = "Download one file from the mellomlagring",
    description = "The stored (decrypted) bytes of one file of this reference's mellomlagring, with the \
        `Content-Type` of its `mimetype` (`application/octet-stream` when that is not a valid header value), \
        its `Content-Length`, and a `Content-Disposition` naming its `filnavn`.",
    params(
        ("navEksternRefId" = String, Path, description = "The `navEksternRefId` of the søknad or ettersendelse the \
            files are for: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
        ("filId" = uuid::Uuid, Path, description = "The file's `filId` from the list (anything that is not a UUID \
            is a 404)."),
    ),
    responses(
        (status = 200, description = "The file's bytes, as its `mimetype`.", body = Vec<u8>,
            content_type = "application/octet-stream"),
        (status = 400, description = "`navEksternRefId` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 404, description = "No file with this `filId` is stored for this reference (also for a `filId` \
            that is not a UUID), or its bytes are no longer in the document store."),
        (status = 503, description = "The database or the document store is unavailable; retry."),
    )
)]
async fn download(
    State(state): State<AppState>,
    _caller: NavSystemCaller,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((nav_ekstern_ref_id, fil_id)) = path.map_err(path_error)?;
    let nav_ekstern_ref_id = reference(&nav_ekstern_ref_id)?;
    let not_found = || ApiError::not_found("no such file in this mellomlagring");
    let fil_id = Uuid::parse_str(&fil_id).map_err(|_| not_found())?;
    let mellomlagring = load(&state, &stream_of(&nav_ekstern_ref_id)?).await?;
    let fil = mellomlagring.fil(fil_id).ok_or_else(not_found)?;
    let blob = state.documents.get_stream(&fil.sha512).await.map_err(ApiError::from)?;
    let mut response = Body::from_stream(blob.stream.map_err(std::io::Error::other)).into_response();
    let headers = response.headers_mut();
    let mimetype =
        HeaderValue::from_str(&fil.mimetype).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_TYPE, mimetype);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    if let Ok(disposition) = HeaderValue::from_str(&super::dokumenter::content_disposition(&fil.filnavn)) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    Ok(response)
}

/// `DELETE /mellomlagring/{navEksternRefId}/{filId}`: 204, or 404 when no such file is stored.
#[utoipa::path(
    delete,
    path = "/digisos/api/v1/mellomlagring/{navEksternRefId}/{filId}",
    tag = "mellomlagring",
    operation_id = "mellomlagring_delete_one",
    summary = "Delete one file from the mellomlagring",
    description = "Removes one file from this reference's mellomlagring (the citizen removed a vedlegg). A file \
        that is not there, also one deleted before, is a 404, so a repeated delete is answered 404.",
    params(
        ("navEksternRefId" = String, Path, description = "The `navEksternRefId` of the søknad or ettersendelse the \
            files are for: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
        ("filId" = uuid::Uuid, Path, description = "The file's `filId` from the list (anything that is not a UUID \
            is a 404)."),
    ),
    responses(
        (status = 204, description = "The file is removed."),
        (status = 400, description = "`navEksternRefId` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 404, description = "No file with this `filId` is stored for this reference (also for a `filId` \
            that is not a UUID)."),
        (status = 409, description = "The mellomlagring kept changing concurrently; retry."),
        (status = 503, description = "The database is unavailable; retry."),
    )
)]
async fn delete_one(
    State(state): State<AppState>,
    _caller: NavSystemCaller,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((nav_ekstern_ref_id, fil_id)) = path.map_err(path_error)?;
    let nav_ekstern_ref_id = reference(&nav_ekstern_ref_id)?;
    let fil_id = Uuid::parse_str(&fil_id).map_err(|_| ApiError::not_found("no such file in this mellomlagring"))?;
    let command = MellomlagringCommand::SlettFil { fil_id, tidspunkt: now() };
    commands::execute::<MellomlagringAggregate>(
        &state.store,
        &stream_of(&nav_ekstern_ref_id)?,
        command,
        metadata(CallerKind::NavSystem, &headers),
    )
    .await?;
    crate::metrics::record_mellomlagring_removed(TomtArsak::Slettet, 1);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /mellomlagring/{navEksternRefId}`: removes every file; 204 (also when nothing was stored).
#[utoipa::path(
    delete,
    path = "/digisos/api/v1/mellomlagring/{navEksternRefId}",
    tag = "mellomlagring",
    operation_id = "mellomlagring_delete_all",
    summary = "Empty the mellomlagring of a navEksternRefId",
    description = "Removes every file stored for this reference (Nav's delete-all). Idempotent: a reference \
        with nothing stored is answered 204 as well, and nothing is recorded.",
    params(
        ("navEksternRefId" = String, Path, description = "The `navEksternRefId` of the søknad or ettersendelse the \
            files are for: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
    ),
    responses(
        (status = 204, description = "The mellomlagring is empty."),
        (status = 400, description = "`navEksternRefId` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 409, description = "The mellomlagring kept changing concurrently; retry."),
        (status = 503, description = "The database is unavailable; retry."),
    )
)]
async fn delete_all(
    State(state): State<AppState>,
    _caller: NavSystemCaller,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(nav_ekstern_ref_id) = path.map_err(path_error)?;
    let nav_ekstern_ref_id = reference(&nav_ekstern_ref_id)?;
    let stream = stream_of(&nav_ekstern_ref_id)?;
    tom(&state, &stream, TomtArsak::Slettet, &headers).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Removes the files a v2 submission saw (`fil_ids`) once they are in case `sak`, and counts them.
pub(crate) async fn ta_ut(
    state: &AppState,
    stream: &StreamName,
    fil_ids: Vec<Uuid>,
    sak: digisos_schema::types::FiksDigisosId,
    headers: &HeaderMap,
) -> Result<(), CommandError> {
    let seen = fil_ids.len();
    let command = MellomlagringCommand::TaUt { fil_ids: fil_ids.clone(), fiks_digisos_id: sak, tidspunkt: now() };
    let outcome = commands::execute::<MellomlagringAggregate>(
        &state.store,
        stream,
        command,
        metadata(CallerKind::Citizen, headers),
    )
    .await?;
    if outcome.appended > 0 {
        let left = outcome.state.filer.iter().filter(|f| fil_ids.contains(&f.fil_id)).count();
        crate::metrics::record_mellomlagring_removed(TomtArsak::Sendt, (seen - left) as u64);
    }
    Ok(())
}

/// Empties a mellomlagring (Nav's delete-all) and counts the files.
pub(crate) async fn tom(
    state: &AppState,
    stream: &StreamName,
    arsak: TomtArsak,
    headers: &HeaderMap,
) -> Result<(), CommandError> {
    let before = commands::load::<MellomlagringAggregate>(&state.store, stream).await?.0.filer.len();
    let command = MellomlagringCommand::Tom { arsak, fiks_digisos_id: None, eldre_enn: None, tidspunkt: now() };
    let outcome = commands::execute::<MellomlagringAggregate>(
        &state.store,
        stream,
        command,
        metadata(CallerKind::NavSystem, headers),
    )
    .await?;
    if outcome.appended > 0 {
        crate::metrics::record_mellomlagring_removed(arsak, before as u64);
    }
    Ok(())
}
