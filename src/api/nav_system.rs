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

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(kommuner, kommune, status))]
pub(crate) struct Doc;

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

#[utoipa::path(
    get,
    path = "/digisos/api/v1/nav/kommuner",
    tag = "nav-system",
    operation_id = "nav_system_kommuner",
    summary = "List every configured kommune's KommuneInfo",
    description = "Which kommuner take digital søknader and show status: every kommune configured in Fiks \
        Digisos, by kommunenummer, each as `KommuneInfo` (`kommunenummer`, `kanMottaSoknader`, \
        `kanOppdatereStatus`, `harMidlertidigDeaktivertMottak`, `harMidlertidigDeaktivertOppdateringer`, \
        `kontaktpersoner`, `harNksTilgang`, `behandlingsansvarlig`). No paging: the answer holds every \
        configured kommune. Read from the kommune read model; send `x-digisos-min-position` to read your own \
        writes.",
    params(
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the kommune read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "A JSON array of `KommuneInfo`, one for each configured kommune.",
            body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 503, description = "The kommune read model is unavailable or has not reached \
            `x-digisos-min-position` in time; retry shortly."),
    )
)]
async fn kommuner(
    _: NavSystemCaller,
    read: ReadSide,
    headers: HeaderMap,
) -> Result<Json<Vec<KommuneInfoDto>>, ApiError> {
    read.catch_up(KOMMUNE_MODEL, &headers).await?;
    let all = alle_kommuner(&read.db).await.map_err(read_error)?;
    Ok(Json(all.into_iter().map(KommuneInfoDto::from).collect()))
}

#[utoipa::path(
    get,
    path = "/digisos/api/v1/nav/kommuner/{kommunenummer}",
    tag = "nav-system",
    operation_id = "nav_system_kommune",
    summary = "Read one kommune's KommuneInfo",
    description = "Whether one kommune takes digital søknader and shows status, as `KommuneInfo` \
        (`kommunenummer`, `kanMottaSoknader`, `kanOppdatereStatus`, `harMidlertidigDeaktivertMottak`, \
        `harMidlertidigDeaktivertOppdateringer`, `kontaktpersoner`, `harNksTilgang`, `behandlingsansvarlig`). \
        A søknad or ettersendelse to the kommune is taken only while `kanMottaSoknader` is on and \
        `harMidlertidigDeaktivertMottak` is off. Read from the kommune read model; send \
        `x-digisos-min-position` to read your own writes.",
    params(
        ("kommunenummer" = String, Path, description = "The kommune's kommunenummer: exactly four digits."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the kommune read model has \
            reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The kommune's `KommuneInfo`.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "`kommunenummer` is not four digits, or `x-digisos-min-position` is \
            malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 404, description = "The kommune is not configured in Fiks Digisos."),
        (status = 503, description = "The kommune read model is unavailable or has not reached \
            `x-digisos-min-position` in time; retry shortly."),
    )
)]
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
#[derive(Debug, Deserialize, utoipa::ToSchema)]
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

#[utoipa::path(
    post,
    path = "/digisos/api/v1/nav/soknader/status",
    tag = "nav-system",
    operation_id = "nav_system_status",
    summary = "Whether given søknader have reached the kommune's fagsystem",
    description = "For each `fiksDigisosId` asked about (at most 100 a request), whether the søknad has reached \
        the kommune's fagsystem: `levertFagsystem` is true once the fagsystem has confirmed the receipt of the \
        søknad's delivery. Nav deletes its own copy of a søknad on `true`. Each case is decided from its own \
        event stream, not from a read model, so the answer never lags behind a receipt just confirmed and no \
        `x-digisos-min-position` is needed. A case that does not exist (or is deleted) answers `false`. Answers \
        in the order asked; a read, it records nothing.",
    request_body(
        content = StatusRequest,
        content_type = "application/json",
        description = "`{\"digisosIdListe\": [\"<fiksDigisosId>\", …]}`: the cases asked about, at most 100.",
    ),
    responses(
        (status = 200, description = "`{\"statusListe\": [{\"digisosId\", \"levertFagsystem\": bool}]}`, one \
            entry for each id asked about, in the order asked.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "The body is not JSON of the shape `{\"digisosIdListe\": [uuid, …]}`, it \
            holds more than 100 ids, or an id is not a UUID (`problems` name `$.digisosIdListe[i]`)."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 503, description = "The database is unavailable; retry."),
    )
)]
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
