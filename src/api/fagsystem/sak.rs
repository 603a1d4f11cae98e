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
#[utoipa::path(
    post,
    path = "/digisos/api/v1/{fiksOrgId}/ny",
    tag = "fagsystem",
    operation_id = "fagsystem_ny_papirsak",
    summary = "Create a case without a Nav søknad (a paper case)",
    description = "Creates a case for a søknad that did not come through Nav (for example one on paper), for the \
        søker named by `sokerFnr`, in a kommune that `fiksOrgId` stands for and that lists the caller as its \
        fagsystem. When `fiksOrgId` stands for several such kommuner (a vertskommune), `kommunenummer` says which \
        one; otherwise it may be left out. The answer is the new case's `digisosId`, to which status updates and \
        files are then posted.\n\n\
        Not idempotent: every call mints a new case id, so a retry after a lost answer creates a second case. \
        The kommuner of `fiksOrgId` are found in the kommune read model (each then checked against its recorded \
        configuration); `x-digisos-min-position` makes the request wait until that read model has reached the \
        given position. The answer carries `x-digisos-position`; send it back as `x-digisos-min-position` on a \
        read to see the new case.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The kommune's Fiks organisation id; the caller must be a \
            fagsystem that a kommune of this organisation lists."),
        ("sokerFnr" = String, Query, description = "Required: the søker's fødselsnummer (11 digits)."),
        ("kommunenummer" = Option<String>, Query, description = "Which kommune (exactly four digits), when \
            `fiksOrgId` stands for several; optional otherwise."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the request waits until the kommune read model \
            has reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The case is created: its `digisosId` as a JSON string. Carries \
            `x-digisos-position`.", body = uuid::Uuid, content_type = "application/json"),
        (status = 400, description = "`fiksOrgId` is not a UUID; the query cannot be read; `sokerFnr` is missing \
            or not a fødselsnummer; `kommunenummer` is not four digits; `fiksOrgId` stands for several kommuner \
            and `kommunenummer` is not given; or `x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is not a fagsystem, or no kommune of `fiksOrgId` lists it; or \
            `kommunenummer` is not one of the kommuner of `fiksOrgId` that list the caller."),
        (status = 503, description = "The read models, the kommune register or the database are unavailable, or \
            the kommune read model has not reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
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
#[utoipa::path(
    post,
    path = "/digisos/api/v1/{fiksOrgId}/{digisosId}",
    tag = "fagsystem",
    operation_id = "fagsystem_oppdater",
    summary = "Replace the case's digisos-soker.json (a status update)",
    description = "Posts the case's whole `digisos-soker.json`, which replaces the previous one: every update \
        carries the full list of hendelser. The checks run in this order, each able to refuse: the path, access \
        to the case, the kommune's switches (`kanOppdatereStatus` on and updates not paused by \
        `harMidlertidigDeaktivertOppdateringer`), the envelope, the JSON Schema of `digisos-soker.json`, then the \
        rules of the case: the first update (also the first after the status updates were deleted) must contain \
        a `soknadsStatus` hendelse with status MOTTATT, and every `dokumentlager` file referenced must already be \
        uploaded to this case (`POST …/filer`) and not deleted. A refusal records no event.\n\n\
        The hub compares the file with the hendelser it has recorded and records only what changed; the same file \
        again (or one that only reorders its hendelser) records nothing and is answered 202 alike, so a retry is \
        safe. The bytes of `sak.soker` are kept exactly as sent: they are what readers get as \
        `digisos-soker.json`. Access is decided on the case itself, so the fagsystem's previous commands count at \
        once. The answer has no body and carries `x-digisos-position`; send it back as `x-digisos-min-position` \
        on a read to see the update.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The kommune's Fiks organisation id the case belongs to."),
        ("digisosId" = uuid::Uuid, Path, description = "The case (`fiksDigisosId`)."),
    ),
    request_body(
        content = serde_json::Value,
        content_type = "application/json",
        description = "The envelope `{\"type\": \"no.nav.digisos.digisos.soker.v1\", \"sak\": {\"soker\": …}}`: \
            `type` must be exactly that value, and `sak.soker` is the whole digisos-soker.json (Nav's format: \
            `version`, `avsender` and the list `hendelser`), given once.",
    ),
    responses(
        (status = 202, description = "The update is recorded (or changed nothing). No body. Carries \
            `x-digisos-position`."),
        (status = 400, description = "A path parameter is not a UUID; the body is not JSON, `type` is missing or \
            not `no.nav.digisos.digisos.soker.v1`, or `sak.soker` is missing, repeated or not an object; \
            `sak.soker` is not valid against the digisos-soker.json schema (`problems` give JSON paths within \
            `sak.soker`); or the file breaks the rules of the case (no MOTTATT in a first update, a referenced \
            file not uploaded to this case or deleted)."),
        (status = 403, description = "The caller is not a fagsystem, or not a fagsystem of `fiksOrgId`; or the kommune \
            does not take status updates (`kanOppdatereStatus` off) or has paused them \
            (`harMidlertidigDeaktivertOppdateringer`)."),
        (status = 404, description = "No such case for `fiksOrgId`, or its kommune does not list the caller \
            (answered alike, so that case ids cannot be probed)."),
        (status = 409, description = "The case kept changing concurrently; retry."),
        (status = 410, description = "The case was deleted."),
        (status = 413, description = "The body is larger than this endpoint accepts."),
        (status = 503, description = "The database, the document store or the kommune register is unavailable; \
            retry."),
    )
)]
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
#[utoipa::path(
    delete,
    path = "/digisos/api/v1/{fiksOrgId}/{digisosId}",
    tag = "fagsystem",
    operation_id = "fagsystem_slett_statusoppdateringer",
    summary = "Delete all status updates of the case",
    description = "Deletes every status update of the case: the recorded hendelser and the digisos-soker.json \
        envelope. The case itself, its søknad and all its files stay, and the case keeps answering, as it read \
        before its first update. The next update is again a first one and must contain a `soknadsStatus` \
        hendelse with status MOTTATT. Idempotent: on a case without status updates it records nothing and is \
        answered 204 alike. Access is decided on the case itself, so the fagsystem's previous commands count at \
        once. The answer has no body and carries `x-digisos-position`; send it back as `x-digisos-min-position` \
        on a read to see the deletion.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The kommune's Fiks organisation id the case belongs to."),
        ("digisosId" = uuid::Uuid, Path, description = "The case (`fiksDigisosId`)."),
    ),
    responses(
        (status = 204, description = "The status updates are deleted (or there were none). Carries \
            `x-digisos-position`."),
        (status = 400, description = "A path parameter is not a UUID."),
        (status = 403, description = "The caller is not a fagsystem, or not a fagsystem of `fiksOrgId`."),
        (status = 404, description = "No such case for `fiksOrgId`, or its kommune does not list the caller \
            (answered alike, so that case ids cannot be probed)."),
        (status = 409, description = "The case kept changing concurrently; retry."),
        (status = 410, description = "The case was deleted."),
        (status = 503, description = "The database or the kommune register is unavailable; retry."),
    )
)]
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
