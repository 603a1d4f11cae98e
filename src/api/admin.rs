//! Fiks Konfigurasjon's part, for administrators: `PUT /admin/kommuner/{kommunenummer}` sets a kommune's whole
//! configuration (a `KommuneKonfigurert` event on `kommune-<nr>`; the same configuration again appends
//! nothing), `GET /admin/kommuner/{kommunenummer}` reads it back.
//!
//! The body and the answer are [`KommuneKonfigurasjon`] in the field names of the real `KommuneInfo`
//! (DOMAIN.md A.6), the answer with `kommunenummer` and `sistEndret` added. The PUT answers 200 whether it
//! created or changed the configuration: the caller states the whole desired configuration and gets it back.
//!
//! The GET reads the kommune's own stream through the command shell's `load`, not a projection: a kommune's
//! configuration is one small aggregate whose latest event holds all of it, and reading the stream gives the
//! administrator their own write at once. (A projection of all kommuner belongs to the read side.)

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use digisos_schema::events::{FiksIoIntegrasjon, KommuneKonfigurasjon, kommune_stream};
use digisos_schema::types::{Kommunenummer, Tidspunkt};
use digisos_schema::validate::Problem;
use serde::Serialize;
use uuid::Uuid;

use super::edge::{metadata, now, param, path_error, respond};
use crate::auth::CallerKind;
use crate::commands::{self, KommuneAggregate};
use crate::eventstore::StreamName;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::caller::AdminCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;
use crate::sak::{Configure, IssueFiksIoIntegrasjon, KommuneCommand, KommuneState};

/// Adds the administrators' routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(
            &[Method::GET, Method::PUT],
            "/digisos/api/v1/admin/kommuner/{kommunenummer}",
            get(read_kommune).put(configure_kommune),
            Rule::Callers(&[CallerKind::Admin]),
        )
        .route(
            &[Method::POST],
            "/digisos/api/v1/admin/kommuner/{kommunenummer}/fiks-io/integrasjon",
            post(issue_integrasjon),
            Rule::Callers(&[CallerKind::Admin]),
        )
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`).
#[derive(utoipa::OpenApi)]
#[openapi(paths(read_kommune, configure_kommune, issue_integrasjon))]
pub(crate) struct Doc;

/// A kommune's configuration as answered: the integration's id, never its password hash.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct KommuneSvar<'a> {
    kommunenummer: Kommunenummer,
    #[serde(flatten)]
    konfigurasjon: KommuneKonfigurasjon,
    #[serde(skip_serializing_if = "Option::is_none")]
    fiks_io_integrasjon_id: Option<Uuid>,
    sist_endret: &'a Tidspunkt,
}

fn answer(state: &KommuneState) -> Result<Json<KommuneSvar<'_>>, ApiError> {
    match state {
        KommuneState::Konfigurert { kommunenummer, konfigurasjon, sist_endret } => {
            let mut konfigurasjon = konfigurasjon.as_ref().clone();
            let fiks_io_integrasjon_id = konfigurasjon.fiks_io_integrasjon.take().map(|i| i.integrasjon_id);
            Ok(Json(KommuneSvar { kommunenummer: *kommunenummer, konfigurasjon, fiks_io_integrasjon_id, sist_endret }))
        }
        KommuneState::Ukonfigurert => Err(ApiError::not_found("this kommune has no configuration")),
    }
}

fn stream_of(kommunenummer: Kommunenummer) -> Result<StreamName, ApiError> {
    StreamName::parse(kommune_stream(kommunenummer)).map_err(|e| {
        tracing::error!(error = %e, "a kommune stream name was refused");
        ApiError::internal()
    })
}

#[utoipa::path(
    get,
    path = "/digisos/api/v1/admin/kommuner/{kommunenummer}",
    tag = "admin",
    operation_id = "admin_read_kommune",
    summary = "Read a kommune's configuration",
    description = "The kommune's whole configuration (Fiks Konfigurasjon's `KommuneInfo` field names), with \
        `kommunenummer` and `sistEndret` added and the Fiks IO integration shown only by its \
        `fiksIoIntegrasjonId` (never its password hash). Read from the kommune's own event stream, not a read \
        model, so an administrator sees their own write at once (no `x-digisos-min-position` needed).",
    params(
        ("kommunenummer" = String, Path, description = "The kommune's number: exactly four digits, e.g. `0301`."),
    ),
    responses(
        (status = 200, description = "The configuration: `kommunenummer`, `fiksOrgId`, `fagsystemOrgnr`, \
            `navEnheter`, `kanMottaSoknader`, `kanOppdatereStatus`, `harMidlertidigDeaktivertMottak`, \
            `harMidlertidigDeaktivertOppdateringer`, `harNksTilgang`, `kontaktpersoner`, `behandlingsansvarlig`, \
            `fiksIoKontoId`, `fiksIoSertifikat`, `fiksIoIntegrasjonId` (the optional ones only when set) and \
            `sistEndret`.", body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`kommunenummer` is not four digits."),
        (status = 403, description = "The caller is not an administrator."),
        (status = 404, description = "The kommune has no configuration."),
        (status = 503, description = "The event store is unavailable; retry shortly."),
    )
)]
async fn read_kommune(
    State(state): State<AppState>,
    _admin: AdminCaller,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(kommunenummer) = path.map_err(path_error)?;
    let kommunenummer = param(&kommunenummer, Kommunenummer::parse)?;
    let (kommune, _, _) = commands::load::<KommuneAggregate>(&state.store, &stream_of(kommunenummer)?).await?;
    Ok(answer(&kommune)?.into_response())
}

#[utoipa::path(
    put,
    path = "/digisos/api/v1/admin/kommuner/{kommunenummer}",
    tag = "admin",
    operation_id = "admin_configure_kommune",
    summary = "Set a kommune's whole configuration",
    description = "Creates or replaces the kommune's whole configuration (a `KommuneKonfigurert` event on the \
        kommune's stream) and answers it as the GET does, 200 whether it was created or changed. Idempotent: the \
        same configuration again appends nothing. `fiksOrgId` cannot change once set. A Fiks IO account \
        (`fiksIoKontoId`) needs its certificate (`fiksIoSertifikat`: an RSA X.509 certificate in PEM, valid now) \
        and belongs to one kommune only. The Fiks IO integration is never taken from the body: it is kept while \
        the account stays the same and dropped when the account changes (issue a new one with \
        `POST .../fiks-io/integrasjon`). The answer carries `x-digisos-position`.",
    params(
        ("kommunenummer" = String, Path, description = "The kommune's number: exactly four digits, e.g. `0301`."),
    ),
    request_body(content = serde_json::Value, content_type = "application/json", description = "The whole \
        configuration in `KommuneInfo`'s field names: `fiksOrgId` (UUID), `fagsystemOrgnr` (organisation numbers \
        that may act as the kommune's fagsystem), `navEnheter` (four-digit NAV office numbers), the booleans \
        `kanMottaSoknader`, `kanOppdatereStatus`, `harMidlertidigDeaktivertMottak`, \
        `harMidlertidigDeaktivertOppdateringer` and `harNksTilgang`, `kontaktpersoner` (`fagansvarligEpost`, \
        `tekniskAnsvarligEpost`: lists of e-mail addresses), and optionally `behandlingsansvarlig`, \
        `fiksIoKontoId` (UUID) with `fiksIoSertifikat` (PEM)."),
    responses(
        (status = 200, description = "The configuration as now stored, as the GET answers it.",
            body = serde_json::Value, content_type = "application/json",
            headers(
                ("x-digisos-position" = String, description = "The position of the kommune stream's last event \
                    (`<commit>-<prepare>`); send it back as `x-digisos-min-position` to read your own write.")
            )),
        (status = 400, description = "`kommunenummer` is not four digits, the body is not a kommune \
            configuration, or it is not valid (a repeated entry, an e-mail address without `@`, `fiksIoKontoId` \
            without `fiksIoSertifikat` or the other way round, a certificate that is not PEM X.509, not RSA or \
            not valid now); the problems are named at their JSON paths."),
        (status = 403, description = "The caller is not an administrator."),
        (status = 409, description = "The body changes the kommune's `fiksOrgId`, its `fiksIoKontoId` is another \
            kommune's or the hub's own Fiks IO account, or a concurrent write got there first."),
        (status = 413, description = "The body is larger than the service accepts."),
        (status = 503, description = "The event store or the kommune register is unavailable; retry shortly."),
    )
)]
async fn configure_kommune(
    State(state): State<AppState>,
    _admin: AdminCaller,
    read: Option<ReadSide>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Path(kommunenummer) = path.map_err(path_error)?;
    let kommunenummer = param(&kommunenummer, Kommunenummer::parse)?;
    let konfigurasjon: KommuneKonfigurasjon = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid_document(
            "the body is not a kommune configuration",
            vec![Problem { path: "$".into(), message: e.to_string() }],
        )
    })?;
    fiks_io_account(&konfigurasjon)?;
    if let Some(konto) = konfigurasjon.fiks_io_konto_id {
        account_not_taken(&state, read.as_ref(), kommunenummer, konto).await?;
    }
    let command = KommuneCommand::Configure(Configure { kommunenummer, konfigurasjon, tidspunkt: now() });
    let outcome = commands::execute::<KommuneAggregate>(
        &state.store,
        &stream_of(kommunenummer)?,
        command,
        metadata(CallerKind::Admin, &headers),
    )
    .await?;
    Ok(respond(StatusCode::OK, outcome.position, answer(&outcome.state)?))
}

/// A Fiks IO account belongs to one kommune: another kommune's account, or the hub's own, is 409 (an integration
/// is granted its kommune's queue, so a shared account would let it read another kommune's søknader).
async fn account_not_taken(
    state: &AppState,
    read: Option<&ReadSide>,
    kommunenummer: Kommunenummer,
    konto: Uuid,
) -> Result<(), ApiError> {
    let taken = |message: String| ApiError::conflict(format!("fiksIoKontoId: {message}"));
    if state.fiks_io.as_ref().is_some_and(|k| k.konto_id() == konto) {
        return Err(taken(format!("{konto} is the hub's own Fiks IO account")));
    }
    let Some(read) = read else { return Ok(()) };
    let holder = digisos_projections::kommune::kommune_for_konto(&read.db, konto).await.map_err(|e| {
        tracing::error!(error = %e, "the kommune read model failed");
        ApiError::unavailable("the kommune register is not available")
    })?;
    match holder.filter(|other| other.kommunenummer != kommunenummer) {
        Some(other) => Err(taken(format!("Fiks IO account {konto} is kommune {}'s", other.kommunenummer))),
        None => Ok(()),
    }
}

/// Issues a new Fiks IO integration for the kommune's account (replacing the one before): a new integration id
/// and password, the password answered once and kept only as its Argon2id hash. 201
/// `{integrasjonId, integrasjonPassord, kontoId}`; 404 for a kommune without configuration, 409 without
/// `fiksIoKontoId`.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/admin/kommuner/{kommunenummer}/fiks-io/integrasjon",
    tag = "admin",
    operation_id = "admin_issue_integrasjon",
    summary = "Issue a new Fiks IO integration for a kommune's account",
    description = "Issues a new Fiks IO integration (id and password) for the kommune's Fiks IO account, \
        replacing the one before: the previous integration stops working. The password is answered this once; \
        the hub keeps only its Argon2id hash. Not idempotent: every call issues new credentials. The kommune \
        must be configured with a `fiksIoKontoId`. The answer carries `x-digisos-position`.",
    params(
        ("kommunenummer" = String, Path, description = "The kommune's number: exactly four digits, e.g. `0301`."),
    ),
    responses(
        (status = 201, description = "The new integration: `integrasjonId` (UUID), `integrasjonPassord` (shown \
            only now) and `kontoId` (the kommune's Fiks IO account).", body = serde_json::Value,
            content_type = "application/json",
            headers(
                ("x-digisos-position" = String, description = "The position of the kommune stream's last event \
                    (`<commit>-<prepare>`); send it back as `x-digisos-min-position` to read your own write.")
            )),
        (status = 400, description = "`kommunenummer` is not four digits."),
        (status = 403, description = "The caller is not an administrator."),
        (status = 404, description = "The kommune has no configuration."),
        (status = 409, description = "The kommune names no Fiks IO account (`fiksIoKontoId`), or a concurrent write \
            got there first."),
        (status = 503, description = "The event store is unavailable; retry shortly."),
    )
)]
async fn issue_integrasjon(
    State(state): State<AppState>,
    _admin: AdminCaller,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(kommunenummer) = path.map_err(path_error)?;
    let kommunenummer = param(&kommunenummer, Kommunenummer::parse)?;
    let integrasjon_id = Uuid::new_v4();
    let passord = crate::fiksio::integrasjon::new_password();
    let hash_of = passord.clone();
    let passord_hash = tokio::task::spawn_blocking(move || crate::fiksio::integrasjon::hash_password(&hash_of))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "hashing an integration password failed");
            ApiError::internal()
        })?;
    let command = KommuneCommand::IssueFiksIoIntegrasjon(IssueFiksIoIntegrasjon {
        kommunenummer,
        integrasjon: FiksIoIntegrasjon { integrasjon_id, passord_hash },
        tidspunkt: now(),
    });
    let outcome = commands::execute::<KommuneAggregate>(
        &state.store,
        &stream_of(kommunenummer)?,
        command,
        metadata(CallerKind::Admin, &headers),
    )
    .await?;
    let konto_id = outcome.state.konfigurasjon().and_then(|k| k.fiks_io_konto_id);
    let body = serde_json::json!({"integrasjonId": integrasjon_id, "integrasjonPassord": passord, "kontoId": konto_id});
    Ok(respond(StatusCode::CREATED, outcome.position, Json(body)))
}

/// A Fiks IO account comes with its certificate, an RSA X.509 certificate in PEM that is valid now (the hub
/// encrypts every message for it).
fn fiks_io_account(konfigurasjon: &KommuneKonfigurasjon) -> Result<(), ApiError> {
    let problem = |path: &str, message: &str| {
        ApiError::invalid_document(
            "the Fiks IO account is not usable",
            vec![Problem { path: path.into(), message: message.into() }],
        )
    };
    match (&konfigurasjon.fiks_io_konto_id, &konfigurasjon.fiks_io_sertifikat) {
        (None, None) => Ok(()),
        (None, Some(_)) => Err(problem("$.fiksIoKontoId", "is required with fiksIoSertifikat")),
        (Some(_), None) => {
            Err(problem("$.fiksIoSertifikat", "is required with fiksIoKontoId: the account's X.509 certificate (PEM)"))
        }
        (Some(_), Some(pem)) => match sertifikat_problem(pem) {
            Some(message) => Err(problem("$.fiksIoSertifikat", message)),
            None => Ok(()),
        },
    }
}

/// What is wrong with a Fiks IO account's certificate (PEM), if anything: the hub must be able to encrypt for it
/// now (X.509, an RSA key for RSA-OAEP, valid today).
pub(crate) fn sertifikat_problem(pem: &str) -> Option<&'static str> {
    let Ok(certificate) = openssl::x509::X509::from_pem(pem.as_bytes()) else {
        return Some("is not a PEM X.509 certificate");
    };
    if certificate.public_key().ok().is_none_or(|k| k.rsa().is_err()) {
        return Some("must carry an RSA key (Fiks IO encrypts with RSA-OAEP)");
    }
    let Ok(now) = openssl::asn1::Asn1Time::days_from_now(0) else { return Some("could not be checked") };
    if certificate.not_after() < now || certificate.not_before() > now {
        return Some("is not valid now");
    }
    None
}
