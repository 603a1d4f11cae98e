//! `POST /{fiksOrgId}/ny?sokerFnr=…` (a paper case), `POST /{fiksOrgId}/{digisosId}` (the whole
//! `digisos-soker.json`) and `DELETE /{fiksOrgId}/{digisosId}` (all status updates).
//!
//! A status update goes: path (400), access (404/410), the kommune's update switches (`kan_oppdatere_status`),
//! the envelope `{"type": "no.nav.digisos.digisos.soker.v1", "sak": {"soker": …}}` (400 naming `$.type` or
//! `$.sak.soker`), the JSON Schema of `digisos-soker.json` (400; problem paths are within `sak.soker`), and
//! then the decider, which diffs the file against the recorded hendelser and checks what the schema cannot
//! (first update has MOTTATT, referenced files exist on the case). The file is stored before the command (its
//! id goes into the event); a refused file stays an unreferenced, content-addressed blob. What is stored is
//! the bytes of `sak.soker` exactly as the fagsystem sent them (not the parsed value written out again, which
//! would reorder keys and rewrite numbers): the Fiks read API serves that blob as `digisos-soker.json`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use digisos_schema::Fnr;
use digisos_schema::events::sak_stream;
use digisos_schema::types::{FiksDigisosId, FiksOrgId, Kommunenummer};
use digisos_schema::validate::{DocumentKind, Problem, validate};
use serde::Deserialize;
use serde_json::Value;

use super::tilgang::{kommuner_for_fagsystem, sak_for_fagsystem, stream_name};
use crate::api::edge::{metadata, now, param, path_error, respond};
use crate::auth::CallerKind;
use crate::commands::{self, SakAggregate};
use crate::http::AppState;
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;
use crate::sak::{CreatePapersak, DeleteCase, Rejection, SakCommand, UpdateDigisosSoker};

/// The `type` a status update must carry.
const DIGISOS_SOKER_TYPE: &str = "no.nav.digisos.digisos.soker.v1";

/// The query of `/ny`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct NyQuery {
    soker_fnr: Option<String>,
    /// Which kommune, when the organisation stands for several (a vertskommune); otherwise optional.
    kommunenummer: Option<String>,
}

/// Creates a case without a Nav søknad: 200 with the new `digisosId` as a JSON string.
pub(super) async fn ny_papirsak(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<NyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(fiks_org_id) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(format!("the query could not be read: {e}")))?;
    let soker_fnr = query.soker_fnr.ok_or_else(|| ApiError::bad_request("query parameter sokerFnr is required"))?;
    let soker_fnr = Fnr::parse(&soker_fnr)
        .map_err(|e| ApiError::bad_request(format!("query parameter sokerFnr is not a fødselsnummer: {e}")))?;
    let wanted = query.kommunenummer.as_deref().map(|k| param(k, Kommunenummer::parse)).transpose()?;

    read.catch_up(digisos_projections::kommune::NAME, &headers).await?;
    let kommuner = kommuner_for_fagsystem(&read, &state.store, fiks_org_id, &orgnr).await?;
    let kommunenummer = match (wanted, kommuner.as_slice()) {
        (Some(k), _) if kommuner.iter().any(|(nr, _)| *nr == k) => k,
        (Some(k), _) => {
            return Err(ApiError::forbidden(format!("kommune {k} does not belong to fiksOrgId {fiks_org_id}")));
        }
        (None, [(k, _)]) => *k,
        (None, _) => {
            return Err(ApiError::bad_request(
                "fiksOrgId stands for several kommuner: name one with the query parameter kommunenummer",
            ));
        }
    };
    let fiks_digisos_id = FiksDigisosId::generate();
    let command = CreatePapersak { fiks_digisos_id, kommunenummer, fiks_org_id, soker_fnr, tidspunkt: now() };
    let stream = stream_name(sak_stream(fiks_digisos_id))?;
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &stream,
        SakCommand::CreatePapersak(command),
        metadata(CallerKind::Fagsystem, &headers),
    )
    .await?;
    Ok(respond(StatusCode::OK, outcome.position, Json(fiks_digisos_id)))
}

/// Replaces the case's `digisos-soker.json`: 202, diffed into events by the decider.
pub(super) async fn oppdater(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: Option<ReadSide>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path((fiks_org_id, digisos_id)) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let digisos_id = param(&digisos_id, FiksDigisosId::parse)?;
    let tillatt = sak_for_fagsystem(&state.store, read.as_ref(), fiks_org_id, &orgnr, digisos_id).await?;
    tillatt
        .kommune
        .kan_oppdatere_status(tillatt.sak.kommunenummer())
        .map_err(|refusal| ApiError::from(Rejection::from(refusal)))?;

    let soker = digisos_soker_of(&body)?;
    validate(DocumentKind::DigisosSoker, &soker).map_err(|problems| {
        ApiError::invalid_document("sak.soker is not a valid digisos-soker.json (paths are within sak.soker)", problems)
    })?;
    let bytes = raw_digisos_soker(&body)?;
    let blob = state.documents.put(bytes).await.map_err(ApiError::from)?;
    let command = UpdateDigisosSoker {
        fiks_org_id,
        metadata: blob.dokument_info("digisos-soker.json", "application/json"),
        dokument: soker,
        tidspunkt: now(),
    };
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &tillatt.stream,
        SakCommand::UpdateDigisosSoker(command),
        metadata(CallerKind::Fagsystem, &headers),
    )
    .await?;
    Ok(respond(StatusCode::ACCEPTED, outcome.position, ()))
}

/// Deletes every status update of the case (not its files): 204.
pub(super) async fn slett_statusoppdateringer(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: Option<ReadSide>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path((fiks_org_id, digisos_id)) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let digisos_id = param(&digisos_id, FiksDigisosId::parse)?;
    let tillatt = sak_for_fagsystem(&state.store, read.as_ref(), fiks_org_id, &orgnr, digisos_id).await?;
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &tillatt.stream,
        SakCommand::DeleteCase(DeleteCase { fiks_org_id, tidspunkt: now() }),
        metadata(CallerKind::Fagsystem, &headers),
    )
    .await?;
    Ok(respond(StatusCode::NO_CONTENT, outcome.position, ()))
}

/// The bytes of `sak.soker` in `body` exactly as sent (the body has been read by [`digisos_soker_of`] already).
fn raw_digisos_soker(body: &Bytes) -> Result<Bytes, ApiError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        sak: Sak<'a>,
    }
    #[derive(Deserialize)]
    struct Sak<'a> {
        #[serde(borrow)]
        soker: &'a serde_json::value::RawValue,
    }
    let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(|e| {
        // Only a body the value parse took but this one does not: a repeated `sak` or `soker` key.
        ApiError::invalid_document(
            "the body is not a digisos-soker update",
            vec![Problem { path: "$.sak.soker".into(), message: format!("must occur once: {e}") }],
        )
    })?;
    // A borrowed `RawValue` is a slice of the body itself: taken as such, without a copy.
    Ok(body.slice_ref(envelope.sak.soker.get().as_bytes()))
}

/// `sak.soker` of a body `{"type": "no.nav.digisos.digisos.soker.v1", "sak": {"soker": …}}`.
fn digisos_soker_of(body: &[u8]) -> Result<Value, ApiError> {
    let invalid = |path: &str, message: String| {
        ApiError::invalid_document(
            "the body is not a digisos-soker update",
            vec![Problem { path: path.into(), message }],
        )
    };
    let mut value: Value = serde_json::from_slice(body).map_err(|e| invalid("$", format!("not JSON: {e}")))?;
    match value.get("type").and_then(Value::as_str) {
        Some(DIGISOS_SOKER_TYPE) => {}
        Some(other) => return Err(invalid("$.type", format!("must be {DIGISOS_SOKER_TYPE}, not {other}"))),
        None => return Err(invalid("$.type", format!("required: \"{DIGISOS_SOKER_TYPE}\""))),
    }
    let sak = value.get_mut("sak").ok_or_else(|| invalid("$.sak", "required".into()))?;
    let soker = sak.get_mut("soker").ok_or_else(|| invalid("$.sak.soker", "required".into()))?;
    if !soker.is_object() {
        return Err(invalid("$.sak.soker", "must be a digisos-soker.json object".into()));
    }
    Ok(soker.take())
}
