//! The kommune's mailbox (issue 4 item 6, DOMAIN.md A.3): each accepted søknad or ettersendelse is a delivery
//! that waits in `GET /{fiksOrgId}/mottak` until the fagsystem confirms it (`…/mottak/{leveranseId}/kvittering`,
//! Fiks IO's `no.nav.digisos.soknad.mottatt.v1`) or rejects it with a reason (`…/avvis`). This is Fiks IO's
//! contract over HTTP polling: at-least-once, the fagsystem confirms what it has safely taken, and a delivery
//! not confirmed in time is offered again and counted ([`redelivery`]), never dropped.
//!
//! Reads come from the `mottak` read model (a mailbox spans every case of the organisation, which only a
//! projection can list); a client that has just acted may send `x-digisos-min-position` to read its write.
//! Receipt and rejection find the delivery's case in the read model and are decided on the case stream.

mod redelivery;
mod svar;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use digisos_projections::mottak::{self as read_model, Leveranse, NAME};
use digisos_schema::Orgnr;
use digisos_schema::events::{LeveranseId, sak_stream};
use digisos_schema::types::{FiksDigisosId, FiksOrgId};
use digisos_schema::validate::Problem;
use serde::Deserialize;
use uuid::Uuid;

use super::edge::{metadata, now, param, path_error, respond};
use super::fagsystem::FAGSYSTEM;
use super::fagsystem::tilgang::{kommuner_for_fagsystem, stream_name};
use crate::auth::CallerKind;
use crate::commands::{self, SakAggregate};
use crate::eventstore::Position;
use crate::http::AppState;
use crate::http::access::AccessRouter;
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;
use crate::sak::{ConfirmDelivery, RejectDelivery, SakCommand};

pub use redelivery::{offer_again_overdue, offer_again_overdue_in_pages, spawn_redelivery};

/// The most deliveries one mailbox page holds.
pub const MAX_PAGE: u32 = 100;

/// Adds the mailbox routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(&[Method::GET], "/digisos/api/v1/{fiksOrgId}/mottak", get(list), FAGSYSTEM)
        .route(&[Method::GET], "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}", get(en), FAGSYSTEM)
        .route(&[Method::POST], "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/kvittering", post(kvitter), FAGSYSTEM)
        .route(&[Method::POST], "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/avvis", post(avvis), FAGSYSTEM)
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(list, en, kvitter, avvis))]
pub(crate) struct Doc;

/// The paging query of the mailbox.
#[derive(Debug, Deserialize)]
struct Side {
    first: Option<u32>,
    after: Option<Uuid>,
}

/// The waiting deliveries of the mailbox, oldest first: `?first=` (at most 100, the default) and `?after=` (the
/// last `leveranseId` of the previous page).
#[utoipa::path(
    get,
    path = "/digisos/api/v1/{fiksOrgId}/mottak",
    tag = "mottak",
    operation_id = "mottak_list",
    summary = "List the deliveries waiting in the mailbox",
    description = "The søknader and ettersendelser delivered to the mailbox of `fiksOrgId` that wait for the \
        fagsystem's answer (status SENDT), oldest first, each with its Fiks IO message (`meldingstype` \
        `no.nav.digisos.soknad.v1` or `no.nav.digisos.ettersendelse.v1`, and `melding`) and its files with the \
        path to download each. A delivery stays listed until it is confirmed (`POST …/{leveranseId}/kvittering`) \
        or rejected (`POST …/{leveranseId}/avvis`); one not confirmed in time is offered again and counted \
        (`antallForsok`, `sistTilbudt`), never dropped. This is Fiks IO's contract over HTTP polling: \
        at-least-once, so the fagsystem must expect to see a delivery again. Deliveries out on Fiks IO at the \
        moment are not listed.\n\n\
        Paging: `first` (1 to 100, default 100; other values are clamped) and `after` (the last `leveranseId` \
        of the previous page). Read from the mottak read model, which may lag: send the `x-digisos-position` of \
        your last receipt or rejection as `x-digisos-min-position`, so that the delivery just answered is no \
        longer listed.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The mailbox: the kommune's Fiks organisation id; the \
            caller must be a fagsystem that a kommune of this organisation lists."),
        ("first" = Option<u32>, Query, description = "The most deliveries on the page: 1 to 100 (default 100)."),
        ("after" = Option<uuid::Uuid>, Query, description = "The cursor: the last `leveranseId` of the previous \
            page; the page starts after that delivery."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the kommune and mottak read \
            models have reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "A JSON array of the waiting deliveries, oldest first, each `{leveranseId, \
            kind (SOKNAD or ETTERSENDELSE), meldingstype, melding ({eksternRef, digisosId}, for an ettersendelse \
            also soknadLeveranseId {sendtKanal, id}), eksternRef, digisosId, kommunenummer, status (SENDT), arsak \
            (null), opprettet, sistTilbudt, antallForsok, filer: [{filnavn, mimetype, storrelse, \
            dokumentlagerDokumentId, nedlastingPath}]}`.", body = Vec<serde_json::Value>,
            content_type = "application/json"),
        (status = 400, description = "`fiksOrgId` is not a UUID, `first` is not a number or `after` not a UUID, \
            or `x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is not a fagsystem, or no kommune of `fiksOrgId` lists it."),
        (status = 503, description = "The read models, the kommune register, the mailbox or the database are \
            unavailable, or the read models have not reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
async fn list(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Side>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(fiks_org_id) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let Query(side) = query.map_err(|e| ApiError::bad_request(format!("first/after could not be read: {e}")))?;
    let first = side.first.unwrap_or(MAX_PAGE);
    let rows = ventende(&state, &read, &headers, &orgnr, fiks_org_id, side.after, first).await?;
    let svar: Vec<_> = rows.iter().map(svar::leveranse).collect();
    Ok(Json(svar).into_response())
}

/// Up to `first` (1 to [`MAX_PAGE`]) waiting deliveries of mailbox `fiks_org_id`, oldest first, after delivery
/// `after`; 403 unless fagsystem `orgnr` acts for the organisation. The REST list and the manual pages
/// ([`crate::manual`]) both read the mailbox through this.
pub(crate) async fn ventende(
    state: &AppState,
    read: &ReadSide,
    headers: &HeaderMap,
    orgnr: &Orgnr,
    fiks_org_id: FiksOrgId,
    after: Option<Uuid>,
    first: u32,
) -> Result<Vec<Leveranse>, ApiError> {
    catch_up(read, headers).await?;
    kommuner_for_fagsystem(read, &state.store, fiks_org_id, orgnr).await?;
    let first = first.clamp(1, MAX_PAGE);
    let after = after.map(|a| a.hyphenated().to_string());
    read_model::ventende_leveranser(&read.db, &fiks_org_id.to_string(), after.as_deref(), first)
        .await
        .map_err(read_failed)
}

/// One delivery of the mailbox (any status): the Fiks IO message and its files with download paths.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}",
    tag = "mottak",
    operation_id = "mottak_en",
    summary = "Read one delivery of the mailbox",
    description = "One delivery of the mailbox of `fiksOrgId`, whatever its status (SENDT, BEKREFTET, or AVVIST \
        with the fagsystem's `arsak`), in the shape of the list: its Fiks IO message and its files, each with the \
        `nedlastingPath` to download it. Read from the mottak read model, which may lag: send \
        `x-digisos-min-position` to read your own writes.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The mailbox: the kommune's Fiks organisation id; the \
            caller must be a fagsystem that a kommune of this organisation lists."),
        ("leveranseId" = uuid::Uuid, Path, description = "The delivery."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the kommune and mottak read \
            models have reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The delivery: `{leveranseId, kind (SOKNAD or ETTERSENDELSE), meldingstype, \
            melding ({eksternRef, digisosId}, for an ettersendelse also soknadLeveranseId {sendtKanal, id}), \
            eksternRef, digisosId, kommunenummer, status (SENDT, BEKREFTET or AVVIST), arsak (when rejected), \
            opprettet, sistTilbudt, antallForsok, filer: [{filnavn, mimetype, storrelse, dokumentlagerDokumentId, \
            nedlastingPath}]}`.", body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`fiksOrgId` or `leveranseId` is not a UUID, or `x-digisos-min-position` is \
            malformed."),
        (status = 403, description = "The caller is not a fagsystem, or no kommune of `fiksOrgId` lists it."),
        (status = 404, description = "There is no such delivery in the mailbox of `fiksOrgId` (as far as the read \
            model has come)."),
        (status = 503, description = "The read models, the kommune register, the mailbox or the database are \
            unavailable, or the read models have not reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
async fn en(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let leveranse = leveranse_for(&state, &read, &headers, &orgnr, path).await?;
    Ok(Json(svar::leveranse(&leveranse)).into_response())
}

/// Confirms receipt: 204 (the same receipt again is answered alike and appends nothing).
#[utoipa::path(
    post,
    path = "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/kvittering",
    tag = "mottak",
    operation_id = "mottak_kvitter",
    summary = "Confirm receipt of a delivery",
    description = "Confirms that the fagsystem has safely taken the delivery (as Fiks IO's \
        `no.nav.digisos.soknad.mottatt.v1` does): it leaves the mailbox's waiting list and is not offered again. \
        Idempotent: confirming a delivery already confirmed records nothing and is answered 204 alike; a delivery \
        that was rejected cannot be confirmed (409). No body is needed. The delivery is found in the mottak read \
        model (send `x-digisos-min-position` to wait for it) and the receipt is decided on its case. The answer \
        has no body and carries `x-digisos-position`; send it back as `x-digisos-min-position` on the next list, \
        so that the delivery is no longer listed.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The mailbox: the kommune's Fiks organisation id; the \
            caller must be a fagsystem that a kommune of this organisation lists."),
        ("leveranseId" = uuid::Uuid, Path, description = "The delivery to confirm."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the delivery is looked up once the kommune and \
            mottak read models have reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 204, description = "The delivery is confirmed (or already was). Carries `x-digisos-position`."),
        (status = 400, description = "`fiksOrgId` or `leveranseId` is not a UUID, or `x-digisos-min-position` is \
            malformed."),
        (status = 403, description = "The caller is not a fagsystem, or no kommune of `fiksOrgId` lists it."),
        (status = 404, description = "There is no such delivery in the mailbox of `fiksOrgId` (as far as the read \
            model has come)."),
        (status = 409, description = "The delivery was rejected and cannot be confirmed, or its case kept changing \
            concurrently (retry)."),
        (status = 410, description = "The delivery's case has been deleted."),
        (status = 503, description = "The read models, the kommune register, the mailbox or the database are \
            unavailable, or the read models have not reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
async fn kvitter(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let leveranse = leveranse_for(&state, &read, &headers, &orgnr, path).await?;
    let position = bekreft(&state, &headers, &leveranse).await?;
    Ok(respond(StatusCode::NO_CONTENT, position, ()))
}

/// Confirms receipt of `leveranse` (found by [`leveranse_i_mottak`]) on its case; the position of the case
/// stream after it. The REST receipt and the manual pages both confirm through this.
pub(crate) async fn bekreft(
    state: &AppState,
    headers: &HeaderMap,
    leveranse: &Leveranse,
) -> Result<Option<Position>, ApiError> {
    let (fiks_org_id, leveranse_id, sak) = ids_of(leveranse)?;
    let command = SakCommand::ConfirmDelivery(ConfirmDelivery { fiks_org_id, leveranse_id, tidspunkt: now() });
    let stream = stream_name(sak_stream(sak))?;
    let outcome =
        commands::execute::<SakAggregate>(&state.store, &stream, command, metadata(CallerKind::Fagsystem, headers))
            .await?;
    Ok(outcome.position)
}

/// The body of a rejection.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct Avvisning {
    /// Why the fagsystem cannot handle the delivery: 1 to 2000 characters after trimming; Nav and the citizen see it.
    arsak: String,
}

/// Rejects a delivery the fagsystem cannot handle, with `{"arsak": "…"}` for Nav and the citizen: 204.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/avvis",
    tag = "mottak",
    operation_id = "mottak_avvis",
    summary = "Reject a delivery, with a reason",
    description = "Rejects a delivery the fagsystem cannot handle, with a reason (`arsak`) that Nav and the \
        citizen see: it leaves the mailbox's waiting list and is not offered again. `arsak` must say why, in 1 to \
        2000 characters (surrounding whitespace is trimmed). Idempotent: rejecting again with the same reason \
        records nothing and is answered 204 alike; another reason, or rejecting a confirmed delivery, is a 409. \
        The body is checked first, then the delivery is found in the mottak read model (send \
        `x-digisos-min-position` to wait for it) and the rejection is decided on its case. The answer has no \
        body and carries `x-digisos-position`; send it back as `x-digisos-min-position` on the next list, so \
        that the delivery is no longer listed.",
    params(
        ("fiksOrgId" = uuid::Uuid, Path, description = "The mailbox: the kommune's Fiks organisation id; the \
            caller must be a fagsystem that a kommune of this organisation lists."),
        ("leveranseId" = uuid::Uuid, Path, description = "The delivery to reject."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the delivery is looked up once the kommune and \
            mottak read models have reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    request_body(
        content = Avvisning,
        content_type = "application/json",
        description = "`{\"arsak\": \"…\"}`: why the fagsystem cannot handle the delivery, 1 to 2000 characters \
            after trimming; Nav and the citizen see it.",
    ),
    responses(
        (status = 204, description = "The delivery is rejected (or already was, for the same reason). Carries \
            `x-digisos-position`."),
        (status = 400, description = "The body is not `{\"arsak\": \"…\"}` (not JSON, or `arsak` missing or not a \
            string); `arsak` is blank or longer than 2000 characters; `fiksOrgId` or `leveranseId` is not a UUID; \
            or `x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is not a fagsystem, or no kommune of `fiksOrgId` lists it."),
        (status = 404, description = "There is no such delivery in the mailbox of `fiksOrgId` (as far as the read \
            model has come)."),
        (status = 409, description = "The delivery was confirmed, or already rejected with another reason; or its \
            case kept changing concurrently (retry)."),
        (status = 410, description = "The delivery's case has been deleted."),
        (status = 413, description = "The body is larger than this endpoint accepts."),
        (status = 503, description = "The read models, the kommune register, the mailbox or the database are \
            unavailable, or the read models have not reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
async fn avvis(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let avvisning: Avvisning = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_document(
            "the body must be {\"arsak\": \"…\"}",
            vec![Problem { path: "$.arsak".into(), message: e.to_string() }],
        )
    })?;
    let leveranse = leveranse_for(&state, &read, &headers, &orgnr, path).await?;
    let position = avvis_leveranse(&state, &headers, &leveranse, avvisning.arsak).await?;
    Ok(respond(StatusCode::NO_CONTENT, position, ()))
}

/// Rejects `leveranse` (found by [`leveranse_i_mottak`]) with `arsak` on its case (the case refuses a blank
/// reason); the position of the case stream after it. The REST rejection and the manual pages both reject
/// through this.
pub(crate) async fn avvis_leveranse(
    state: &AppState,
    headers: &HeaderMap,
    leveranse: &Leveranse,
    arsak: String,
) -> Result<Option<Position>, ApiError> {
    let (fiks_org_id, leveranse_id, sak) = ids_of(leveranse)?;
    let command = SakCommand::RejectDelivery(RejectDelivery { fiks_org_id, leveranse_id, arsak, tidspunkt: now() });
    let stream = stream_name(sak_stream(sak))?;
    let outcome =
        commands::execute::<SakAggregate>(&state.store, &stream, command, metadata(CallerKind::Fagsystem, headers))
            .await?;
    Ok(outcome.position)
}

/// The delivery of the path, if the caller acts for its mailbox: 403 for a foreign organisation, 404 for a
/// delivery that is not in this mailbox.
async fn leveranse_for(
    state: &AppState,
    read: &ReadSide,
    headers: &HeaderMap,
    orgnr: &Orgnr,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Leveranse, ApiError> {
    let Path((fiks_org_id, leveranse_id)) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let leveranse_id = Uuid::parse_str(&leveranse_id)
        .map_err(|_| ApiError::bad_request("path parameter leveranseId must be a UUID"))?;
    leveranse_i_mottak(state, read, headers, orgnr, fiks_org_id, leveranse_id).await
}

/// Delivery `leveranse_id` of mailbox `fiks_org_id`, if fagsystem `orgnr` acts for it: 403 for a foreign
/// organisation, 404 for a delivery that is not in this mailbox. The REST mailbox and the manual pages both find
/// a delivery through this.
pub(crate) async fn leveranse_i_mottak(
    state: &AppState,
    read: &ReadSide,
    headers: &HeaderMap,
    orgnr: &Orgnr,
    fiks_org_id: FiksOrgId,
    leveranse_id: Uuid,
) -> Result<Leveranse, ApiError> {
    catch_up(read, headers).await?;
    kommuner_for_fagsystem(read, &state.store, fiks_org_id, orgnr).await?;
    let leveranse =
        read_model::leveranse(&read.db, &leveranse_id.hyphenated().to_string()).await.map_err(read_failed)?;
    match leveranse {
        Some(l) if l.fiks_org_id == fiks_org_id.to_string() => Ok(l),
        _ => Err(ApiError::not_found(format!("no delivery {leveranse_id} in the mailbox of {fiks_org_id}"))),
    }
}

/// The typed ids of a read-model row (a row that does not parse is a defect of the projection).
fn ids_of(leveranse: &Leveranse) -> Result<(FiksOrgId, LeveranseId, FiksDigisosId), ApiError> {
    let corrupt = |what: &str| {
        tracing::error!(what, "the mottak read model holds an unreadable id");
        ApiError::internal()
    };
    let org = FiksOrgId::parse(&leveranse.fiks_org_id).map_err(|_| corrupt("fiks_org_id"))?;
    let id = Uuid::parse_str(&leveranse.leveranse_id).map_err(|_| corrupt("leveranse_id"))?;
    let sak = FiksDigisosId::parse(&leveranse.fiks_digisos_id).map_err(|_| corrupt("fiks_digisos_id"))?;
    Ok((org, LeveranseId(id), sak))
}

/// Read-your-writes: waits for both read models a mailbox request uses (`kommune` for access, `mottak`) to reach
/// the request's `x-digisos-min-position`, if it sent one.
async fn catch_up(read: &ReadSide, headers: &HeaderMap) -> Result<(), ApiError> {
    read.catch_up(digisos_projections::kommune::NAME, headers).await?;
    read.catch_up(NAME, headers).await
}

fn read_failed(e: digisos_projections::ReadError) -> ApiError {
    tracing::error!(error = %e, "the mottak read model failed");
    ApiError::unavailable("the mailbox is not available")
}
