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
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DokumentInfoSvar {
    filnavn: String,
    dokumentlager_dokument_id: Uuid,
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
