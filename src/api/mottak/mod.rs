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

/// The paging query of the mailbox.
#[derive(Debug, Deserialize)]
struct Side {
    first: Option<u32>,
    after: Option<Uuid>,
}

/// The waiting deliveries of the mailbox, oldest first: `?first=` (at most 100, the default) and `?after=` (the
/// last `leveranseId` of the previous page).
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
#[derive(Debug, Deserialize)]
struct Avvisning {
    arsak: String,
}

/// Rejects a delivery the fagsystem cannot handle, with `{"arsak": "…"}` for Nav and the citizen: 204.
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
