//! Nav support's read endpoints of the Fiks REST API (DOMAIN.md A.7), as Nav's modia-api calls them with Nav's
//! Maskinporten identity (caller kind `NavSystem`): a person's cases as `DigisosSak`, one case, and one JSON
//! document of a case. Every call carries `sporingsId` (400 without it) and is recorded in the audit trail
//! before any data leaves, as the GraphQL fields `navSaker`/`navSak` are.
//!
//! The audit record of a staff lookup names the employee (NAVident), which a Maskinporten token does not carry:
//! modia-api keeps the employee in its own trail and sends a fresh `sporingsId` with each call so the two can be
//! joined. So these calls are recorded as a Nav *system's* access ([`SystemAccess`]: the token's organisation
//! number and the `sporingsId`, with whose data, what, and PERMIT or DENY), on the audit stream of that system;
//! the citizen's innsynslogg shows them too. Taking a NAVident from a header instead would record an unverified
//! claim as if it were the verified identity.
//!
//! Reads come from the `navsupport` read model. Lists hold the cases changed within the last 15 months, the
//! window of the GraphQL staff fields; a single case (or its document) older than that is refused with 404 (what
//! modia-api itself makes of an old case) and the refusal recorded as DENY. Unknown and deleted (410) cases
//! record nothing: no person's data is involved. Staff get the JSON documents only (`soknad.json`, the
//! `vedlegg.json`s, the current `digisos-soker.json`); a PDF's or attachment's id is 404, as any other id.
//!
//! The order in each handler is: parameters (400), the read model's catch-up (`x-digisos-min-position`), the
//! read, the answer built (and a document's blob opened), the audit record (503 if it cannot be written, and
//! nothing is returned), and only then the answer. The person's number is in the body of the list call, never
//! in a log line or an error message.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Utc;
use digisos_projections::saker;
use digisos_projections::sakvisning::DigisosSak;
use digisos_schema::types::FiksDigisosId;
use serde::Deserialize;
use uuid::Uuid;

use super::edge::{param, path_error};
use super::innsyn::{gone, json_body, no_case, no_document, read_error, rebuilding};
use crate::auth::{AuditLog, CallerKind, Decision, Fnr, Orgnr, SporingsId, SystemAccess};
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::caller::NavSystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;

const NAV_SYSTEM: Rule = Rule::Callers(&[CallerKind::NavSystem]);
/// The most cases a list answers with (newest first).
pub const MAX_SAKER: u32 = 1000;

/// Adds Nav support's read routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(&[Method::POST], "/digisos/api/v1/nav/soknader/soknader", post(saker), NAV_SYSTEM)
        .route(&[Method::GET], "/digisos/api/v1/nav/soknader/{digisosId}", get(sak), NAV_SYSTEM)
        .route(
            &[Method::GET],
            "/digisos/api/v1/nav/soknader/{digisosId}/dokumenter/{dokumentlagerId}",
            get(dokument),
            NAV_SYSTEM,
        )
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(saker, sak, dokument))]
pub(crate) struct Doc;

/// The query every staff call carries.
#[derive(Debug, Deserialize)]
struct Sporing {
    #[serde(rename = "sporingsId")]
    sporings_id: Option<String>,
}

fn sporings_id(query: Result<Query<Sporing>, QueryRejection>) -> Result<SporingsId, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(format!("the query could not be read: {e}")))?;
    let raw = query.sporings_id.ok_or_else(|| {
        ApiError::bad_request("query parameter sporingsId is required (Nav's trace id for this lookup)")
    })?;
    SporingsId::parse(&raw).map_err(|e| ApiError::bad_request(format!("query parameter {e}")))
}

/// `{"fnr": "<11 digits>"}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct FnrBody {
    fnr: String,
}

/// One lookup, as it will be recorded.
struct Lookup<'a> {
    orgnr: &'a Orgnr,
    sporings_id: SporingsId,
    method: &'a Method,
    path: &'a str,
    headers: &'a HeaderMap,
}

impl Lookup<'_> {
    /// Records the lookup of `fnr`'s data; a record that cannot be written refuses the lookup (503).
    async fn record(&self, state: &AppState, fnr: &Fnr, what: String, decision: Decision) -> Result<(), ApiError> {
        let entry = SystemAccess {
            orgnr: self.orgnr.clone(),
            fnr: fnr.clone(),
            what,
            sporings_id: self.sporings_id.clone(),
            decision,
            method: self.method.to_string(),
            path: self.path.to_owned(),
            call_id: self.headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
        };
        AuditLog::new(state.store.clone()).record_system(&entry).await.map_err(|e| {
            tracing::error!(error = %e, "a staff lookup could not be recorded; refused");
            ApiError::unavailable("the lookup could not be recorded in the audit trail, so it is refused")
        })
    }
}

/// The fnr of a stored row (written from a parsed one).
fn stored_fnr(raw: &str) -> Result<Fnr, ApiError> {
    Fnr::parse(raw).map_err(|_| {
        tracing::error!("a stored fødselsnummer in the navsupport read model does not parse");
        ApiError::internal()
    })
}

/// `POST /nav/soknader/soknader?sporingsId=`: the person's cases changed within the last 15 months.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/nav/soknader/soknader",
    tag = "nav-soknader",
    operation_id = "nav_soknader_saker",
    summary = "List a person's cases as DigisosSak for Nav support",
    description = "Nav support's lookup of a person's cases, as Nav's modia-api calls it with Nav's Maskinporten \
        identity: the cases of the person in the body changed within the last 15 months, each as `DigisosSak`, \
        newest first, at most 1000 (no paging). The person's number travels in the body, never in the path or \
        query. Before any data is returned the lookup is recorded in the audit trail as an access by Nav's \
        system (its organisation number, the `sporingsId`, whose data, PERMIT); the person's innsynslogg shows \
        it too. Read from the `navsupport` read model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("sporingsId" = String, Query, description = "Required: Nav's trace id for this lookup (modia-api sends a \
            fresh UUID with each call; 1 to 100 characters of `A-Z a-z 0-9 - _ . :`), recorded with the audit \
            entry so that it can be joined with Nav's own trail of the employee."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the navsupport read model \
            has reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    request_body(
        content = FnrBody,
        content_type = "application/json",
        description = "`{\"fnr\": \"<11 digits>\"}`: the person's fødselsnummer or D-nummer, as a JSON object.",
    ),
    responses(
        (status = 200, description = "The person's cases as a JSON array of `DigisosSak` (`fiksDigisosId`, \
            `sokerFnr`, `fiksOrgId`, `kommunenummer`, `sistEndret`, `originalSoknadNAV`, `ettersendtInfoNAV`, \
            `digisosSoker`, `tilleggsinformasjon`), newest first; empty when there are none.",
            body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`sporingsId` is missing or malformed; the body is not a JSON object \
            `{\"fnr\": \"<11 digits>\"}`; `fnr` is not a valid fødselsnummer; or `x-digisos-min-position` is \
            malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 503, description = "The read model is unavailable, has not reached `x-digisos-min-position` in \
            time, or is being rebuilt; or the lookup could not be recorded in the audit trail (then nothing is \
            returned); retry shortly."),
    )
)]
async fn saker(
    State(state): State<AppState>,
    NavSystemCaller(orgnr): NavSystemCaller,
    read: ReadSide,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<Sporing>, QueryRejection>,
    body: Bytes,
) -> Result<Json<Vec<DigisosSak>>, ApiError> {
    let sporings_id = sporings_id(query)?;
    // serde's message could quote the value sent, so it is not passed on (it would reach the log line). An object
    // only: serde would also read a struct from an array.
    let bad_body = || ApiError::bad_request("the body must be {\"fnr\": \"<11 digits>\"}");
    let body: serde_json::Value = serde_json::from_slice(&body).map_err(|_| bad_body())?;
    if !body.is_object() {
        return Err(bad_body());
    }
    let FnrBody { fnr } = FnrBody::deserialize(&body).map_err(|_| bad_body())?;
    let fnr = Fnr::parse(&fnr).map_err(|e| ApiError::bad_request(format!("fnr is {e}")))?;
    read.catch_up(saker::NAVSUPPORT, &headers).await?;
    let lookup = Lookup { orgnr: &orgnr, sporings_id, method: &Method::POST, path: uri.path(), headers: &headers };
    lookup.record(&state, &fnr, "navSaker".to_owned(), Decision::Permit).await?;
    let since = saker::nav_vindu_start(Utc::now());
    let rows = saker::nav_tilstander(&read.db, fnr.expose(), since, MAX_SAKER).await.map_err(read_error)?;
    let mut saker = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(sak) = row.state.digisos_sak().map_err(rebuilding)? {
            saker.push(sak);
        }
    }
    Ok(Json(saker))
}

/// `GET /nav/soknader/{digisosId}?sporingsId=`.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/nav/soknader/{digisosId}",
    tag = "nav-soknader",
    operation_id = "nav_soknader_sak",
    summary = "Read one case as DigisosSak for Nav support",
    description = "One case as `DigisosSak`, for Nav support (modia-api with Nav's Maskinporten identity). The \
        lookup is recorded in the audit trail (Nav's system, the `sporingsId`, whose data, PERMIT) before the \
        case is returned. A case that has not changed for more than 15 months, the window of Nav support, is a \
        404 and the refusal is recorded as DENY; an unknown case (404) or a deleted one (410) records nothing. \
        Read from the `navsupport` read model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("digisosId" = uuid::Uuid, Path, description = "The case's fiksDigisosId."),
        ("sporingsId" = String, Query, description = "Required: Nav's trace id for this lookup (modia-api sends a \
            fresh UUID with each call; 1 to 100 characters of `A-Z a-z 0-9 - _ . :`), recorded with the audit \
            entry so that it can be joined with Nav's own trail of the employee."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the navsupport read model \
            has reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The case as `DigisosSak`.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "`digisosId` is not a UUID, `sporingsId` is missing or malformed, or \
            `x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 404, description = "No such case, or the case has not changed for more than 15 months."),
        (status = 410, description = "The case has been deleted."),
        (status = 503, description = "The read model is unavailable, has not reached `x-digisos-min-position` in \
            time, or is being rebuilt; or the lookup could not be recorded in the audit trail (then nothing is \
            returned); retry shortly."),
    )
)]
async fn sak(
    State(state): State<AppState>,
    NavSystemCaller(orgnr): NavSystemCaller,
    read: ReadSide,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<Sporing>, QueryRejection>,
) -> Result<Json<DigisosSak>, ApiError> {
    let Path(id) = path.map_err(path_error)?;
    let id = param(&id, FiksDigisosId::parse)?;
    let sporings_id = sporings_id(query)?;
    read.catch_up(saker::NAVSUPPORT, &headers).await?;
    let row = saker::nav_tilstand(&read.db, &id.to_string()).await.map_err(read_error)?;
    let row = row.ok_or_else(|| no_case(id))?;
    if row.state.slettet() {
        return Err(gone(id));
    }
    let sak = row.state.digisos_sak().map_err(rebuilding)?.ok_or_else(|| no_case(id))?;
    let fnr = stored_fnr(&row.soker_fnr)?;
    let lookup = Lookup { orgnr: &orgnr, sporings_id, method: &Method::GET, path: uri.path(), headers: &headers };
    let what = format!("navSak {id}");
    if row.sist_endret_ms < saker::nav_vindu_start(Utc::now()) {
        lookup.record(&state, &fnr, what, Decision::Deny).await?;
        return Err(too_old());
    }
    lookup.record(&state, &fnr, what, Decision::Permit).await?;
    Ok(Json(sak))
}

/// `GET /nav/soknader/{digisosId}/dokumenter/{dokumentlagerId}?sporingsId=`: a JSON document's stored bytes.
#[utoipa::path(
    get,
    path = "/digisos/api/v1/nav/soknader/{digisosId}/dokumenter/{dokumentlagerId}",
    tag = "nav-soknader",
    operation_id = "nav_soknader_dokument",
    summary = "Download one JSON document of a case for Nav support",
    description = "The stored bytes of one JSON document of a case, for Nav support: `soknad.json`, a \
        `vedlegg.json`, or the case's current `digisos-soker.json`. Nav support never gets a PDF or an \
        attachment: their ids are a 404, like any other id. The document is opened, then the lookup is recorded \
        in the audit trail (PERMIT), then returned; a case that has not changed for more than 15 months is a 404 \
        recorded as DENY; an unknown (404) or deleted (410) case records nothing. Read from the `navsupport` \
        read model; send `x-digisos-min-position` to read your own writes.",
    params(
        ("digisosId" = uuid::Uuid, Path, description = "The case's fiksDigisosId."),
        ("dokumentlagerId" = uuid::Uuid, Path, description = "The document's dokumentlager id, as `DigisosSak` \
            gives it (`metadata`, `vedleggMetadata`; anything that is not a UUID is a 404)."),
        ("sporingsId" = String, Query, description = "Required: Nav's trace id for this lookup (modia-api sends a \
            fresh UUID with each call; 1 to 100 characters of `A-Z a-z 0-9 - _ . :`), recorded with the audit \
            entry so that it can be joined with Nav's own trail of the employee."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the read waits until the navsupport read model \
            has reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    responses(
        (status = 200, description = "The JSON document exactly as stored.", body = serde_json::Value,
            content_type = "application/json"),
        (status = 400, description = "`digisosId` is not a UUID, `sporingsId` is missing or malformed, or \
            `x-digisos-min-position` is malformed."),
        (status = 403, description = "The caller is not Nav's system identity."),
        (status = 404, description = "No such case; the id is not one of the case's JSON documents (PDFs and \
            attachments included); the case has not changed for more than 15 months; or the document's bytes \
            are not in the document store."),
        (status = 410, description = "The case has been deleted."),
        (status = 503, description = "The read model is unavailable, has not reached `x-digisos-min-position` in \
            time, or is being rebuilt; the document store is unavailable; or the lookup could not be recorded \
            in the audit trail (then nothing is returned); retry shortly."),
    )
)]
async fn dokument(
    State(state): State<AppState>,
    NavSystemCaller(orgnr): NavSystemCaller,
    read: ReadSide,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    query: Result<Query<Sporing>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path((id, dokument_id)) = path.map_err(path_error)?;
    let id = param(&id, FiksDigisosId::parse)?;
    let sporings_id = sporings_id(query)?;
    let Ok(dokument_id) = Uuid::parse_str(&dokument_id) else { return Err(no_document()) };
    read.catch_up(saker::NAVSUPPORT, &headers).await?;
    let row = saker::nav_tilstand(&read.db, &id.to_string()).await.map_err(read_error)?;
    let row = row.ok_or_else(|| no_case(id))?;
    if row.state.slettet() {
        return Err(gone(id));
    }
    let dokument = row.state.json_dokument(dokument_id).ok_or_else(no_document)?;
    let fnr = stored_fnr(&row.soker_fnr)?;
    let lookup = Lookup { orgnr: &orgnr, sporings_id, method: &Method::GET, path: uri.path(), headers: &headers };
    let what = format!("navDokument {id} {}", dokument.dokumenttype.filnavn());
    if row.sist_endret_ms < saker::nav_vindu_start(Utc::now()) {
        lookup.record(&state, &fnr, what, Decision::Deny).await?;
        return Err(too_old());
    }
    // Opened before the record, so a store failure refuses the lookup without a PERMIT for data never shown.
    let blob = state.documents.get_stream(&dokument.dokument.sha512).await.map_err(ApiError::from)?;
    lookup.record(&state, &fnr, what, Decision::Permit).await?;
    Ok(json_body(blob).into_response())
}

/// 404 for a case outside Nav support's window.
fn too_old() -> ApiError {
    ApiError::not_found("the case has not changed for more than 15 months; Nav support may not see it")
}
