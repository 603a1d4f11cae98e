//! Who may use Fiks IO's REST side: a fagsystem's bearer token together with the headers `IntegrasjonId` and
//! `IntegrasjonPassord` of a kommune's integration (issued by the admin API), as KS's clients send them on
//! every authenticated call (`IntegrasjonAuthenticationStrategy`). 401 without the headers, 403 when any part
//! does not fit; the password is checked against its Argon2id hash (a match is remembered: see
//! [`crate::fiksio::integrasjon::verify`]).

use axum::http::HeaderMap;
use digisos_projections::kommune::KommuneInfo;
use digisos_schema::Orgnr;
use uuid::Uuid;

use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;

/// The configured kommune whose Fiks IO account is `konto`.
pub(super) async fn kommune_for_konto(read: &ReadSide, konto: Uuid) -> Result<Option<KommuneInfo>, ApiError> {
    digisos_projections::kommune::kommune_for_konto(&read.db, konto).await.map_err(unavailable)
}

/// The kommune of Fiks IO account `konto`, when the request carries that account's integration and the token's
/// organisation `orgnr` is a fagsystem of that kommune. `rolle` names the account in the answer
/// (`avsenderKontoId`, say).
pub(super) async fn integrasjon_for_konto(
    read: &ReadSide,
    headers: &HeaderMap,
    (rolle, konto): (&str, Uuid),
    orgnr: &Orgnr,
) -> Result<KommuneInfo, ApiError> {
    let (integrasjon_id, passord) = integrasjon_headers(headers)?;
    let Some(info) = kommune_for_konto(read, konto).await? else {
        return Err(ApiError::forbidden(format!("{rolle} {konto} is not a kommune's Fiks IO account in this hub")));
    };
    let integrasjon = info.konfigurasjon.fiks_io_integrasjon.as_ref();
    if integrasjon.is_none_or(|i| i.integrasjon_id.to_string() != integrasjon_id) {
        return Err(ApiError::forbidden(format!(
            "integration {integrasjon_id} is not the integration of {rolle} {konto}"
        )));
    }
    holds(info, &passord, orgnr).await.map_err(|()| {
        ApiError::forbidden(format!("the integration password, or organisation {orgnr}, does not fit {rolle} {konto}"))
    })
}

/// The kommune whose integration the request carries, whichever account it asks about (the katalog's reads).
pub(super) async fn integrasjon(read: &ReadSide, headers: &HeaderMap, orgnr: &Orgnr) -> Result<KommuneInfo, ApiError> {
    let (integrasjon_id, passord) = integrasjon_headers(headers)?;
    let id = Uuid::parse_str(&integrasjon_id)
        .map_err(|_| ApiError::forbidden(format!("IntegrasjonId {integrasjon_id:?} is not an integration id")))?;
    let info = digisos_projections::kommune::kommune_for_integrasjon(&read.db, id).await.map_err(unavailable)?;
    let Some(info) = info else {
        return Err(ApiError::forbidden(format!("integration {id} is not known to this hub")));
    };
    holds(info, &passord, orgnr).await.map_err(|()| {
        ApiError::forbidden(format!("the password of integration {id}, or organisation {orgnr}, does not fit"))
    })
}

/// `IntegrasjonId` and `IntegrasjonPassord`, or 401.
fn integrasjon_headers(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    match (text("IntegrasjonId"), text("IntegrasjonPassord")) {
        (Some(id), Some(passord)) => Ok((id, passord)),
        _ => Err(ApiError::unauthorized(
            "Fiks IO needs the headers IntegrasjonId and IntegrasjonPassord of the account's integration",
        )),
    }
}

/// `info` when `passord` is its integration's and `orgnr` one of its fagsystemer.
async fn holds(info: KommuneInfo, passord: &str, orgnr: &Orgnr) -> Result<KommuneInfo, ()> {
    let Some(integrasjon) = info.konfigurasjon.fiks_io_integrasjon.as_ref() else { return Err(()) };
    let matches = crate::fiksio::integrasjon::verify(passord, &integrasjon.passord_hash).await;
    if matches && info.konfigurasjon.fagsystem_orgnr.contains(orgnr) { Ok(info) } else { Err(()) }
}

fn unavailable(e: digisos_projections::ReadError) -> ApiError {
    tracing::error!(error = %e, "the kommune read model failed");
    ApiError::unavailable("the kommune register is not available")
}

/// The hub's Fiks IO channel; 404 when it is off (`DIGISOS_FIKS_IO_AMQP_URL` unset).
pub(super) fn kanal(state: &AppState) -> Result<&crate::fiksio::Kanal, ApiError> {
    state
        .fiks_io
        .as_ref()
        .ok_or_else(|| ApiError::not_found("Fiks IO is not switched on in this hub (DIGISOS_FIKS_IO_AMQP_URL)"))
}

/// The `kontoId` of a katalog path as a UUID; 400 when it is not one.
pub(super) fn konto_id(konto: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(konto).map_err(|_| ApiError::bad_request("path parameter kontoId must be a UUID"))
}
