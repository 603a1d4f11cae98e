//! The fagsystem's files of a case: `POST /{fiksOrgId}/{digisosId}/filer` (upload, before an update refers to
//! them), `GET …/filer` (the files it uploaded and has not deleted) and `DELETE …/filer?filIder=…` (only files the
//! current `digisos-soker.json` does not reference; the decider answers 409 for the others).
//!
//! The list is read from the case stream, not a read model: access needs the case loaded anyway, the list is
//! part of the case's own history, and a fagsystem that just uploaded sees its files at once.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use digisos_schema::events::{DokumentInfo, SakEvent};
use digisos_schema::types::{FiksDigisosId, FiksOrgId};
use serde::Serialize;
use uuid::Uuid;

use super::tilgang::sak_for_fagsystem;
use crate::api::edge::{metadata, now, param, path_error, respond};
use crate::auth::CallerKind;
use crate::commands::{self, SakAggregate};
use crate::http::AppState;
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::multipart::{MultipartBody, read_filer};
use crate::http::read_side::ReadSide;
use crate::sak::{DeleteFiles, SakCommand, UploadFiles};

/// `DokumentInfo` as the real API answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct DokumentInfoSvar {
    /// The file name the metadata part gave.
    filnavn: String,
    /// The file's id on the case: what a `digisos-soker.json` refers to, and what `filIder` names.
    dokumentlager_dokument_id: Uuid,
    /// The size in bytes (of the plaintext, for a file sent encrypted).
    storrelse: u64,
}

impl From<&DokumentInfo> for DokumentInfoSvar {
    fn from(info: &DokumentInfo) -> Self {
        Self {
            filnavn: info.filnavn.clone(),
            dokumentlager_dokument_id: info.dokumentlager_dokument_id,
            storrelse: info.storrelse,
        }
    }
}

fn ids(path: Result<Path<(String, String)>, PathRejection>) -> Result<(FiksOrgId, FiksDigisosId), ApiError> {
    let Path((fiks_org_id, digisos_id)) = path.map_err(path_error)?;
    Ok((param(&fiks_org_id, FiksOrgId::parse)?, param(&digisos_id, FiksDigisosId::parse)?))
}

/// Uploads files: 200 `[{filnavn, dokumentlagerDokumentId, storrelse}]` in request order.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer",
    tag = "fagsystem",
    operation_id = "fagsystem_filer_last_opp",
    summary = "Upload the fagsystem's files to the case",
    description = "Uploads the fagsystem's own files (vedtak, letters, …) to the case, before a status update \
        refers to them by `dokumentlagerDokumentId`. Access to the case is checked before the body is read, so a \
        refused request stores no file. Each file is stored as it arrives and gets a new \
        `dokumentlagerDokumentId`; the answer lists them in request order. Not idempotent: a retry uploads the \
        files again, under new ids (delete the extra ones with `DELETE …/filer`). The files are listed by \
        `GET …/filer` at once. The answer carries `x-digisos-position`; send it back as \
        `x-digisos-min-position` on a read to see the files.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The kommune's Fiks organisation id the case belongs to."),
        ("digisosId" = uuid::Uuid, Path, description = "The case (`fiksDigisosId`)."),
    ),
    request_body(
        content = String,
        content_type = "multipart/form-data",
        description = "One or more files, each as two parts in this order: a metadata part with JSON `{filnavn, \
            mimetype, storrelse}` (all required; `storrelse` is the file's size in bytes), then its file part. \
            The names pair them: `vedleggSpesifikasjon:<i>` or `metadata:<i>` is followed by exactly \
            `dokument:<i>`, and `metadata` by `dokument`; parts with other names pair by position (a metadata \
            part, then its file part), as long as a file part is not itself named like metadata. A file part may \
            be CMS EnvelopedData for the certificate of `GET /digisos/api/v1/dokumentlager-public-key`; it is \
            decrypted, and the plaintext is checked and stored. A service configured to require encryption \
            refuses plain files.",
    ),
    responses(
        (status = 200, description = "The files are stored and recorded on the case: a JSON array, in request \
            order, of `{filnavn, dokumentlagerDokumentId, storrelse}`. Carries `x-digisos-position`.",
            body = Vec<DokumentInfoSvar>, content_type = "application/json"),
        (status = 400, description = "A path parameter is not a UUID; the body is not multipart/form-data or \
            cannot be read; a part has no name; a metadata part is invalid (`filnavn` or `mimetype` blank \
            included) or not followed by its file part, or a file part has no metadata part before it; a file's \
            size is not its declared `storrelse`; a file cannot be decrypted, or is plain where encryption is \
            required; or the request carries no file."),
        (status = 403, description = "The caller is not a fagsystem, or not a fagsystem of `fiksOrgId`."),
        (status = 404, description = "No such case for `fiksOrgId`, or its kommune does not list the caller \
            (answered alike, so that case ids cannot be probed)."),
        (status = 409, description = "The case kept changing concurrently; retry."),
        (status = 410, description = "The case was deleted."),
        (status = 413, description = "A file is larger than the limit a file, the request carries more files \
            than allowed, a metadata part is past its cap, or the body is past the route's limit."),
        (status = 503, description = "The database, the document store or the kommune register is unavailable; \
            retry."),
    )
)]
pub(super) async fn last_opp(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: Option<ReadSide>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    MultipartBody(multipart): MultipartBody,
) -> Result<Response, ApiError> {
    let (fiks_org_id, digisos_id) = ids(path)?;
    // Access before the body, so that a refused request stores no file at all.
    let tillatt = sak_for_fagsystem(&state.store, read.as_ref(), fiks_org_id, &orgnr, digisos_id).await?;
    let upload = read_filer(multipart, &state.documents, &state.upload_limits, &state.kryptering).await?;
    let filer: Vec<DokumentInfo> = upload.filer.iter().map(|f| f.dokument_info()).collect();
    let svar: Vec<DokumentInfoSvar> = filer.iter().map(DokumentInfoSvar::from).collect();
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &tillatt.stream,
        SakCommand::UploadFiles(UploadFiles { fiks_org_id, filer, tidspunkt: now() }),
        metadata(CallerKind::Fagsystem, &headers),
    )
    .await?;
    Ok(respond(StatusCode::OK, outcome.position, Json(svar)))
}

/// The files the fagsystem uploaded to the case and has not deleted, in upload order.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer",
    tag = "fagsystem",
    operation_id = "fagsystem_filer_list",
    summary = "List the fagsystem's files on the case",
    description = "The files the fagsystem has uploaded to this case and not deleted, in upload order, each as \
        `{filnavn, dokumentlagerDokumentId, storrelse}`. The files Nav sent with the søknad or an ettersendelse \
        are not listed. No paging: the answer holds every such file. The list is read from the case itself, not \
        from a read model, so a file just uploaded (or deleted) shows at once; `x-digisos-min-position` is not \
        needed.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The kommune's Fiks organisation id the case belongs to."),
        ("digisosId" = uuid::Uuid, Path, description = "The case (`fiksDigisosId`)."),
    ),
    responses(
        (status = 200, description = "A JSON array of `{filnavn, dokumentlagerDokumentId, storrelse}`, in upload \
            order (empty when there are none).", body = Vec<DokumentInfoSvar>, content_type = "application/json"),
        (status = 400, description = "A path parameter is not a UUID."),
        (status = 403, description = "The caller is not a fagsystem, or not a fagsystem of `fiksOrgId`."),
        (status = 404, description = "No such case for `fiksOrgId`, or its kommune does not list the caller \
            (answered alike, so that case ids cannot be probed)."),
        (status = 410, description = "The case was deleted."),
        (status = 503, description = "The database or the kommune register is unavailable; retry."),
    )
)]
pub(super) async fn list(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: Option<ReadSide>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (fiks_org_id, digisos_id) = ids(path)?;
    let tillatt = sak_for_fagsystem(&state.store, read.as_ref(), fiks_org_id, &orgnr, digisos_id).await?;
    let mut filer: Vec<DokumentInfo> = Vec::new();
    for event in &tillatt.events {
        match event {
            SakEvent::DokumentLastetOpp(e) => filer.push(e.dokument.clone()),
            SakEvent::DokumentSlettet(e) => {
                filer.retain(|f| f.dokumentlager_dokument_id != e.dokumentlager_dokument_id)
            }
            _ => {}
        }
    }
    let svar: Vec<DokumentInfoSvar> = filer.iter().map(DokumentInfoSvar::from).collect();
    Ok(Json(svar).into_response())
}

/// Deletes files (`filIder`, repeated or comma-separated): 204.
#[utoipa::path(
    delete,
    path = "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer",
    tag = "fagsystem",
    operation_id = "fagsystem_filer_slett",
    summary = "Delete uploaded files from the case",
    description = "Deletes files the fagsystem uploaded to this case, named by `filIder`: repeated \
        (`filIder=a&filIder=b`) or comma-separated (`filIder=a,b`). Only files the current `digisos-soker.json` \
        does not reference can be deleted: to drop a file, first post an update without it, then delete it. \
        Files Nav sent with the søknad or an ettersendelse belong to the søker and cannot be deleted. All or \
        nothing: when one named file is refused, none is deleted; the `problems` name each file that is not on \
        the case or still referenced by its place in the query (`$.filIder[i]`). Idempotent: a file already \
        deleted is skipped, so a retry is answered 204 alike. Access is decided on the case itself, so the \
        fagsystem's previous commands count at once. The answer has no body and carries `x-digisos-position`.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The kommune's Fiks organisation id the case belongs to."),
        ("digisosId" = uuid::Uuid, Path, description = "The case (`fiksDigisosId`)."),
        ("filIder" = Vec<uuid::Uuid>, Query, description = "Required: the `dokumentlagerDokumentId` of each file \
            to delete, one or more; repeated or comma-separated."),
    ),
    responses(
        (status = 204, description = "The files are deleted (or were already). Carries `x-digisos-position`."),
        (status = 400, description = "A path parameter is not a UUID, or `filIder` is missing or names a value \
            that is not a UUID."),
        (status = 403, description = "The caller is not a fagsystem, or not a fagsystem of `fiksOrgId`; or a named \
            file was sent by Nav."),
        (status = 404, description = "No such case for `fiksOrgId`, or its kommune does not list the caller \
            (answered alike, so that case ids cannot be probed); or a named file is not on this case."),
        (status = 409, description = "A named file is still referenced by the current digisos-soker.json, or the \
            case kept changing concurrently (retry)."),
        (status = 410, description = "The case was deleted."),
        (status = 503, description = "The database or the kommune register is unavailable; retry."),
    )
)]
pub(super) async fn slett(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: Option<ReadSide>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let (fiks_org_id, digisos_id) = ids(path)?;
    let fil_ider = fil_ider(query.as_deref().unwrap_or_default())?;
    let tillatt = sak_for_fagsystem(&state.store, read.as_ref(), fiks_org_id, &orgnr, digisos_id).await?;
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &tillatt.stream,
        SakCommand::DeleteFiles(DeleteFiles { fiks_org_id, fil_ider, tidspunkt: now() }),
        metadata(CallerKind::Fagsystem, &headers),
    )
    .await?;
    Ok(respond(StatusCode::NO_CONTENT, outcome.position, ()))
}

/// The `filIder` of a query string (`filIder=a&filIder=b` or `filIder=a,b`); at least one, each a UUID.
fn fil_ider(query: &str) -> Result<Vec<Uuid>, ApiError> {
    let mut ider = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "filIder" {
            continue;
        }
        for id in value.split("%2C").flat_map(|v| v.split(',')).filter(|v| !v.is_empty()) {
            let id = Uuid::parse_str(id)
                .map_err(|_| ApiError::bad_request(format!("query parameter filIder: {id} is not a UUID")))?;
            ider.push(id);
        }
    }
    if ider.is_empty() {
        return Err(ApiError::bad_request("query parameter filIder is required (one or more file ids)"));
    }
    Ok(ider)
}

#[cfg(test)]
mod tests {
    use super::fil_ider;

    #[test]
    fn fil_ider_are_read_repeated_or_comma_separated_and_must_be_uuids() {
        let a = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
        let b = "11415cd1-e26d-499a-8421-751457dfcbd5";
        assert_eq!(fil_ider(&format!("filIder={a}&filIder={b}")).expect("two").len(), 2);
        assert_eq!(fil_ider(&format!("filIder={a}%2C{b}")).expect("two").len(), 2);
        assert!(fil_ider("filIder=nope").is_err());
        assert!(fil_ider("other=1").is_err());
    }
}
