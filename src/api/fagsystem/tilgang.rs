//! Who may act on a fagsystem path `/{fiksOrgId}/…`: a `Fagsystem{orgnr}` caller whose organisation number the
//! kommune behind `fiksOrgId` lists in `fagsystemOrgnr`.
//!
//! Two shapes, chosen so that existence does not leak and a fagsystem reads its own writes:
//! - **case paths** (`/{fiksOrgId}/{digisosId}…`): first, as on organisation paths, a caller that is not a
//!   fagsystem of `fiksOrgId` at all is answered **403** (a kommune's integration developer with a wrong
//!   `fiksOrgId` is told so on every path, whatever the case id). Then the case is loaded from its stream and its
//!   own kommune's configuration from the kommune stream (the write side: both are needed to decide anyway, and
//!   the caller's previous command is visible at once). A case that does not exist, belongs to another
//!   `fiksOrgId`, or whose kommune does not list the caller is answered **404** alike, so a fagsystem cannot probe
//!   for other kommuners' case ids. A deleted case is 410.
//! - **organisation paths** (`/{fiksOrgId}/ny`, the mailbox): the kommuner of `fiksOrgId` come from the `kommune`
//!   read model (only it can answer "which kommuner does this organisation stand for"), and each is checked again
//!   against its kommune stream, so a configuration change takes effect at once. A caller not listed by any of
//!   them is answered **403**: the `fiksOrgId` is not a secret, and the caller learns nothing about cases.

use digisos_projections::kommune::kommuner_for_fiks_org;
use digisos_schema::Orgnr;
use digisos_schema::events::{SakEvent, kommune_stream, sak_stream};
use digisos_schema::types::{FiksDigisosId, FiksOrgId, Kommunenummer};

use crate::commands::{self, KommuneAggregate};
use crate::eventstore::{DynEventStore, StreamName};
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;
use crate::sak::{self, KommuneState, Sak, SakState};

/// Events read per page while loading a case.
const PAGE: usize = 1000;

/// A case the caller may act on, as its stream tells it.
pub(crate) struct TillattSak {
    /// The case's stream.
    pub stream: StreamName,
    /// The case.
    pub sak: Box<Sak>,
    /// Its kommune's configuration.
    pub kommune: KommuneState,
    /// Every event of the case, in order (for the views the state does not expose, such as the file list).
    pub events: Vec<SakEvent>,
}

/// Loads case `digisos_id` for fagsystem `orgnr` acting as `fiks_org_id` (403 / 404 / 410 as described above).
///
/// The case and its kommune are decided on their streams; only a refusal asks the `kommune` read model whether the
/// caller serves `fiks_org_id` at all (403) or the case is simply not one it may see (404). So a caller's
/// ordinary writes never wait for, or depend on, the read model. Without the read side (a process serving only the
/// write side) every refusal is 404.
pub(crate) async fn sak_for_fagsystem(
    store: &DynEventStore,
    read: Option<&ReadSide>,
    fiks_org_id: FiksOrgId,
    orgnr: &Orgnr,
    digisos_id: FiksDigisosId,
) -> Result<TillattSak, ApiError> {
    let refused = |not_found: ApiError| async move {
        match read {
            Some(read) => match kommuner_for_fagsystem(read, store, fiks_org_id, orgnr).await {
                Ok(_) => not_found,
                Err(forbidden) => forbidden,
            },
            None => not_found,
        }
    };
    let stream = stream_name(sak_stream(digisos_id))?;
    let events = read_case(store, &stream).await?;
    let not_found = || ApiError::not_found(format!("no case {digisos_id} for fiksOrgId {fiks_org_id}"));
    let sak = match events.iter().fold(SakState::default(), sak::evolve) {
        SakState::Ny => return Err(refused(not_found()).await),
        SakState::Slettet { .. } => {
            return Err(refused(ApiError::new(axum::http::StatusCode::GONE, "the case was deleted")).await);
        }
        SakState::Aktiv(sak) => sak,
    };
    if sak.fiks_org_id() != fiks_org_id {
        return Err(refused(not_found()).await);
    }
    let kommune = kommune(store, sak.kommunenummer()).await?;
    if !kommune.tillater_fagsystem(orgnr) {
        return Err(refused(not_found()).await);
    }
    Ok(TillattSak { stream, sak, kommune, events })
}

/// The kommuner of `fiks_org_id` that let fagsystem `orgnr` act for them, by kommunenummer; 403 when none does.
pub(crate) async fn kommuner_for_fagsystem(
    read: &ReadSide,
    store: &DynEventStore,
    fiks_org_id: FiksOrgId,
    orgnr: &Orgnr,
) -> Result<Vec<(Kommunenummer, KommuneState)>, ApiError> {
    let kandidater = kommuner_for_fiks_org(&read.db, fiks_org_id).await.map_err(|e| {
        tracing::error!(error = %e, "the kommune read model failed");
        ApiError::unavailable("the kommune register is not available")
    })?;
    let mut tillatt = Vec::new();
    for info in kandidater {
        let state = kommune(store, info.kommunenummer).await?;
        let same_org = state.konfigurasjon().is_some_and(|k| k.fiks_org_id == fiks_org_id);
        if same_org && state.tillater_fagsystem(orgnr) {
            tillatt.push((info.kommunenummer, state));
        }
    }
    if tillatt.is_empty() {
        return Err(ApiError::forbidden(format!("organisation {orgnr} is not a fagsystem of fiksOrgId {fiks_org_id}")));
    }
    Ok(tillatt)
}

/// A kommune's configuration from its stream.
pub(crate) async fn kommune(store: &DynEventStore, kommunenummer: Kommunenummer) -> Result<KommuneState, ApiError> {
    let stream = stream_name(kommune_stream(kommunenummer))?;
    let (state, _, _) = commands::load::<KommuneAggregate>(store, &stream).await?;
    Ok(state)
}

/// A stream name built from parsed ids (a refusal is a bug).
pub(crate) fn stream_name(name: String) -> Result<StreamName, ApiError> {
    StreamName::parse(name).map_err(|e| {
        tracing::error!(error = %e, "a stream name built from parsed ids was refused");
        ApiError::internal()
    })
}

async fn read_case(store: &DynEventStore, stream: &StreamName) -> Result<Vec<SakEvent>, ApiError> {
    let mut events = Vec::new();
    let mut from = 0;
    loop {
        let page = store.read_stream(stream, from, PAGE).await.map_err(ApiError::from)?;
        let full = page.len() == PAGE;
        for recorded in &page {
            let event = SakEvent::decode(&recorded.event_type, &recorded.data).map_err(|e| {
                tracing::error!(error = %e, stream = %stream, "a case event cannot be read");
                ApiError::internal()
            })?;
            events.push(event);
            from = recorded.revision + 1;
        }
        if !full {
            return Ok(events);
        }
    }
}
