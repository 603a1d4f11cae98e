//! Nav's system endpoints (Maskinporten identity of Nav's organisation, DOMAIN.md A.2 and A.6): which kommuner can
//! take søknader and show status (`KommuneInfo`), and whether given søknader have reached the kommune's fagsystem.
//!
//! `KommuneInfo` is read from the kommune read model. The delivery status is decided per case from its own
//! stream: Nav asks about a bounded list of its own recent cases, each a short stream, and the answer must not
//! lag behind a receipt the fagsystem has just confirmed (Nav deletes its copy of the søknad on `true`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::routing::{get, post};
use digisos_projections::kommune::{KommuneInfo, alle_kommuner, kommune_info};
use digisos_schema::events::{Leveransetype, sak_stream};
use digisos_schema::types::{FiksDigisosId, Kommunenummer};
use serde::{Deserialize, Serialize};

use super::edge::param;
use crate::auth::CallerKind;
use crate::commands::{SakAggregate, load};
use crate::eventstore::StreamName;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::caller::NavSystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;
use crate::sak::{LeveranseStatus, SakState};

/// The read model these answers come from.
const KOMMUNE_MODEL: &str = digisos_projections::kommune::NAME;
const NAV_SYSTEM: Rule = Rule::Callers(&[CallerKind::NavSystem]);
/// The most case ids one status question may carry.
pub const MAX_STATUS_IDS: usize = 100;

/// Adds Nav's system routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(&[Method::GET], "/digisos/api/v1/nav/kommuner", get(kommuner), NAV_SYSTEM)
        .route(&[Method::GET], "/digisos/api/v1/nav/kommuner/{kommunenummer}", get(kommune), NAV_SYSTEM)
        .route(&[Method::POST], "/digisos/api/v1/nav/soknader/status", post(status), NAV_SYSTEM)
}

/// One kommune's switches as Nav reads them (`KommuneInfo`, DOMAIN.md A.6).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KommuneInfoDto {
    kommunenummer: Kommunenummer,
    kan_motta_soknader: bool,
    kan_oppdatere_status: bool,
    har_midlertidig_deaktivert_mottak: bool,
    har_midlertidig_deaktivert_oppdateringer: bool,
    kontaktpersoner: serde_json::Value,
    har_nks_tilgang: bool,
    behandlingsansvarlig: Option<String>,
}

impl From<KommuneInfo> for KommuneInfoDto {
    fn from(info: KommuneInfo) -> Self {
        let k = info.konfigurasjon;
        Self {
            kommunenummer: info.kommunenummer,
            kan_motta_soknader: k.kan_motta_soknader,
            kan_oppdatere_status: k.kan_oppdatere_status,
            har_midlertidig_deaktivert_mottak: k.har_midlertidig_deaktivert_mottak,
            har_midlertidig_deaktivert_oppdateringer: k.har_midlertidig_deaktivert_oppdateringer,
            kontaktpersoner: serde_json::to_value(&k.kontaktpersoner).unwrap_or_default(),
            har_nks_tilgang: k.har_nks_tilgang,
            behandlingsansvarlig: k.behandlingsansvarlig,
        }
    }
}

fn read_error(err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "kommune read model unavailable");
    ApiError::unavailable("the kommune read model is unavailable; retry shortly")
}

async fn kommuner(
    _: NavSystemCaller,
    read: ReadSide,
    headers: HeaderMap,
) -> Result<Json<Vec<KommuneInfoDto>>, ApiError> {
    read.catch_up(KOMMUNE_MODEL, &headers).await?;
    let all = alle_kommuner(&read.db).await.map_err(read_error)?;
    Ok(Json(all.into_iter().map(KommuneInfoDto::from).collect()))
}

async fn kommune(
    _: NavSystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    Path(kommunenummer): Path<String>,
) -> Result<Json<KommuneInfoDto>, ApiError> {
    let kommunenummer = param(&kommunenummer, Kommunenummer::parse)?;
    read.catch_up(KOMMUNE_MODEL, &headers).await?;
    match kommune_info(&read.db, kommunenummer).await.map_err(read_error)? {
        Some(info) => Ok(Json(info.into())),
        None => Err(ApiError::not_found(format!("kommune {kommunenummer} is not configured in Fiks Digisos"))),
    }
}

/// `{"digisosIdListe": [uuid, …]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRequest {
    digisos_id_liste: Vec<String>,
}

/// `{"statusListe": [{"digisosId", "levertFagsystem"}]}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResponse {
    status_liste: Vec<LevertStatus>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LevertStatus {
    digisos_id: FiksDigisosId,
    levert_fagsystem: bool,
}

async fn status(
    _: NavSystemCaller,
    State(state): State<AppState>,
    body: Result<Json<StatusRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<StatusResponse>, ApiError> {
    let Json(request) =
        body.map_err(|e| ApiError::bad_request(format!("body must be {{\"digisosIdListe\": [uuid, …]}}: {e}")))?;
    if request.digisos_id_liste.len() > MAX_STATUS_IDS {
        return Err(ApiError::bad_request(format!(
            "digisosIdListe holds {} ids; ask about at most {MAX_STATUS_IDS} at a time",
            request.digisos_id_liste.len()
        )));
    }
    let mut status_liste = Vec::with_capacity(request.digisos_id_liste.len());
    for (i, raw) in request.digisos_id_liste.iter().enumerate() {
        let id = FiksDigisosId::parse(raw).map_err(|e| {
            ApiError::invalid_document(
                "digisosIdListe holds an id that is not a UUID",
                vec![crate::http::error::Problem { path: format!("$.digisosIdListe[{i}]"), message: e.to_string() }],
            )
        })?;
        let stream = StreamName::parse(sak_stream(id))?;
        let (state, _, _) = load::<SakAggregate>(&state.store, &stream).await?;
        // A case that does not exist (or is not Nav's) answers false, as "not delivered".
        let levert_fagsystem = match &state {
            SakState::Aktiv(sak) => sak
                .leveranser()
                .any(|(_, l)| l.leveransetype == Leveransetype::Soknad && l.status == LeveranseStatus::Kvittert),
            _ => false,
        };
        status_liste.push(LevertStatus { digisos_id: id, levert_fagsystem });
    }
    Ok(Json(StatusResponse { status_liste }))
}
