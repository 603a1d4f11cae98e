//! Fiks IO's REST side as KS's clients call it (FIKS_IO.md §3): `POST /fiks-io/api/v1/send`, where a fagsystem
//! answers a Digisos message with its receipt (`no.nav.digisos.soknad.mottatt.v1` or
//! `no.nav.digisos.ettersendelse.mottatt.v1`, `svarPaMelding` = the message's `melding-id`), and the katalog's
//! public-key read for the hub's own account, and the dokumentlager download of a message over 5 MB.
//!
//! A receipt records the same `LeveranseKvittert` as the mailbox's `kvittering`; a second receipt changes
//! nothing. The answer is Fiks IO's: 202 with the sent message (`SendtMelding`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use digisos_projections::kommune::KommuneInfo;
use digisos_projections::mottak::leveranse_for_melding;
use digisos_schema::events::{LeveranseId, sak_stream};
use digisos_schema::types::{FiksDigisosId, FiksOrgId};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::edge::{metadata, now, path_error, respond};
use super::fagsystem::FAGSYSTEM;
use super::fagsystem::tilgang::{kommuner_for_fagsystem, stream_name};
use crate::auth::{CallerKind, FagsystemCaller};
use crate::commands::{self, SakAggregate};
use crate::fiksio::melding::{ETTERSENDELSE_MOTTATT_V1, SOKNAD_MOTTATT_V1};
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::error::ApiError;
use crate::http::multipart::MultipartBody;
use crate::http::read_side::ReadSide;
use crate::sak::{ConfirmDelivery, SakCommand};

/// The largest `metadata` part read, in bytes.
const MAX_METADATA: usize = 64 * 1024;

pub mod broker;
mod dokumentlager;

/// Adds the Fiks IO routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    broker::routes(router)
        .route(&[Method::POST], "/fiks-io/api/v1/send", post(send), FAGSYSTEM)
        .route(&[Method::GET], "/dokumentlager/nedlasting/{dokumentlagerId}", get(dokumentlager::nedlasting), FAGSYSTEM)
        .route(
            &[Method::GET],
            "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel",
            get(offentlig_nokkel),
            Rule::Public,
        )
        .route(
            &[Method::PUT],
            "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel",
            put(last_opp_nokkel),
            FAGSYSTEM,
        )
}

/// The `metadata` part of a send (`MeldingSpesifikasjonApiModel`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MeldingSpesifikasjon {
    avsender_konto_id: Uuid,
    mottaker_konto_id: Uuid,
    melding_type: String,
    #[serde(default)]
    svar_pa_melding: Option<Uuid>,
    #[serde(default)]
    ttl: Option<i64>,
    /// KS's Java model writes `null` for no headers.
    #[serde(default)]
    headere: Option<BTreeMap<String, String>>,
}

async fn send(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    MultipartBody(mut multipart): MultipartBody,
) -> Result<Response, ApiError> {
    let Some(kanal) = state.fiks_io.as_ref() else {
        return Err(ApiError::not_found("Fiks IO is not switched on in this hub (DIGISOS_FIKS_IO_AMQP_URL)"));
    };
    let mut spesifikasjon = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request(format!("the multipart body could not be read: {}", e.body_text())))?
    {
        match field.name() {
            Some("metadata") => {
                let mut bytes = Vec::new();
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| ApiError::bad_request(format!("part metadata could not be read: {}", e.body_text())))?
                {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() > MAX_METADATA {
                        return Err(ApiError::bad_request(format!(
                            "part metadata is larger than {MAX_METADATA} bytes"
                        )));
                    }
                }
                let parsed: MeldingSpesifikasjon = serde_json::from_slice(&bytes)
                    .map_err(|e| ApiError::bad_request(format!("part metadata is not a MeldingSpesifikasjon: {e}")))?;
                spesifikasjon = Some(parsed);
            }
            // A receipt has no payload; one sent anyway is read and not kept.
            Some("data") => while field.chunk().await.ok().flatten().is_some() {},
            other => {
                return Err(ApiError::bad_request(format!(
                    "unexpected part {:?}: a send has a part metadata and optionally a part data",
                    other.unwrap_or_default()
                )));
            }
        }
    }
    let Some(melding) = spesifikasjon else {
        return Err(ApiError::bad_request("the send has no part metadata"));
    };
    if melding.mottaker_konto_id != kanal.konto_id() {
        return Err(ApiError::bad_request(format!(
            "mottakerKontoId {} is not this hub's account: receipts go to {}",
            melding.mottaker_konto_id,
            kanal.konto_id()
        )));
    }
    let kind = match melding.melding_type.as_str() {
        SOKNAD_MOTTATT_V1 => "SOKNAD",
        ETTERSENDELSE_MOTTATT_V1 => "ETTERSENDELSE",
        other => {
            return Err(ApiError::bad_request(format!(
                "meldingType {other:?} is not one the hub takes: {SOKNAD_MOTTATT_V1} or {ETTERSENDELSE_MOTTATT_V1}"
            )));
        }
    };
    let Some(svar_pa) = melding.svar_pa_melding else {
        return Err(ApiError::bad_request("a receipt needs svarPaMelding: the melding-id of the message it answers"));
    };
    read.catch_up(digisos_projections::kommune::NAME, &headers).await?;
    read.catch_up(digisos_projections::mottak::NAME, &headers).await?;
    integrasjon_for_konto(&read, &headers, ("avsenderKontoId", melding.avsender_konto_id), &orgnr).await?;
    let leveranse = leveranse_for_melding(&read.db, &svar_pa.to_string()).await.map_err(|e| {
        tracing::error!(error = %e, "the mottak read model failed");
        ApiError::unavailable("the mailbox is not available")
    })?;
    let Some(leveranse) = leveranse else {
        return Err(ApiError::not_found(format!("svarPaMelding {svar_pa} names no message this hub sent")));
    };
    let corrupt = |_| ApiError::internal();
    let fiks_org_id = FiksOrgId::parse(&leveranse.fiks_org_id).map_err(corrupt)?;
    let kommuner = kommuner_for_fagsystem(&read, &state.store, fiks_org_id, &orgnr).await?;
    let konto = kommuner.iter().filter_map(|(_, k)| k.konfigurasjon().and_then(|k| k.fiks_io_konto_id)).next();
    if !kommuner
        .iter()
        .any(|(_, k)| k.konfigurasjon().and_then(|k| k.fiks_io_konto_id) == Some(melding.avsender_konto_id))
    {
        let expected = konto.map(|k| format!(" (the kommune's account is {k})")).unwrap_or_default();
        return Err(ApiError::forbidden(format!(
            "avsenderKontoId {} is not the Fiks IO account of the kommune message {svar_pa} went to{expected}",
            melding.avsender_konto_id
        )));
    }
    if leveranse.kind != kind {
        return Err(ApiError::bad_request(format!(
            "message {svar_pa} is a {} delivery; its receipt is {}",
            leveranse.kind,
            if leveranse.kind == "SOKNAD" { SOKNAD_MOTTATT_V1 } else { ETTERSENDELSE_MOTTATT_V1 }
        )));
    }
    let leveranse_id = Uuid::parse_str(&leveranse.leveranse_id).map_err(corrupt_uuid)?;
    let sak = FiksDigisosId::parse(&leveranse.fiks_digisos_id).map_err(corrupt)?;
    let stream = stream_name(sak_stream(sak))?;
    let command = SakCommand::ConfirmDelivery(ConfirmDelivery {
        fiks_org_id,
        leveranse_id: LeveranseId(leveranse_id),
        tidspunkt: now(),
    });
    let outcome =
        commands::execute::<SakAggregate>(&state.store, &stream, command, metadata(CallerKind::Fagsystem, &headers))
            .await?;
    let sendt = json!({
        "meldingId": Uuid::new_v4(),
        "meldingType": melding.melding_type,
        "avsenderKontoId": melding.avsender_konto_id,
        "mottakerKontoId": melding.mottaker_konto_id,
        "ttl": melding.ttl.unwrap_or(0),
        "dokumentlagerId": null,
        "svarPaMelding": svar_pa,
        "headere": melding.headere.unwrap_or_default(),
    });
    Ok(respond(StatusCode::ACCEPTED, outcome.position, Json(sendt)))
}

fn corrupt_uuid(_: uuid::Error) -> ApiError {
    ApiError::internal()
}

/// `GET /fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel` for the hub's account: the certificate a
/// fagsystem encrypts a payload to the hub for (the hub decrypts it with its dokumentlager key ring).
async fn offentlig_nokkel(
    State(state): State<AppState>,
    read: ReadSide,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(konto) = path.map_err(path_error)?;
    let konto = Uuid::parse_str(&konto).map_err(|_| ApiError::bad_request("path parameter kontoId must be a UUID"))?;
    let Some(kanal) = state.fiks_io.as_ref() else {
        return Err(ApiError::not_found("Fiks IO is not switched on in this hub (DIGISOS_FIKS_IO_AMQP_URL)"));
    };
    let certificate = if kanal.konto_id() == konto {
        openssl::x509::X509::from_der(state.kryptering.certificate_der()).map_err(|_| ApiError::internal())?
    } else {
        let pem = kommune_for_konto(&read, konto)
            .await?
            .and_then(|info| info.konfigurasjon.fiks_io_sertifikat)
            .ok_or_else(|| ApiError::not_found(format!("no Fiks IO account {konto} in this hub")))?;
        openssl::x509::X509::from_pem(pem.as_bytes()).map_err(|_| ApiError::internal())?
    };
    let pem = certificate.to_pem().map_err(|_| ApiError::internal())?;
    let text = |name: &openssl::x509::X509NameRef| {
        name.entries()
            .filter_map(|e| {
                let key = e.object().nid().short_name().ok()?;
                let value = e.data().to_string().ok()?;
                Some(format!("{key}={value}"))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let serial =
        certificate.serial_number().to_bn().and_then(|b| b.to_dec_str()).map(|s| s.to_string()).unwrap_or_default();
    let body = json!({
        "nokkel": String::from_utf8_lossy(&pem),
        "validFrom": certificate.not_before().to_string(),
        "validTo": certificate.not_after().to_string(),
        "serial": serial,
        "subjectDN": text(certificate.subject_name()),
        "issuerDN": text(certificate.issuer_name()),
    });
    Ok(([(header::CACHE_CONTROL, "max-age=600")], Json(body)).into_response())
}

/// The configured kommune whose Fiks IO account is `konto`.
async fn kommune_for_konto(read: &ReadSide, konto: Uuid) -> Result<Option<KommuneInfo>, ApiError> {
    digisos_projections::kommune::kommune_for_konto(&read.db, konto).await.map_err(|e| {
        tracing::error!(error = %e, "the kommune read model failed");
        ApiError::unavailable("the kommune register is not available")
    })
}

/// The kommune of Fiks IO account `konto`, when the request carries that account's integration as KS's clients
/// send it (headers `IntegrasjonId` and `IntegrasjonPassord` beside the bearer token) and the token's
/// organisation `orgnr` is a fagsystem of that kommune: 401 without the headers, 403 when any part does not fit.
/// `rolle` names the account in the answer (`avsenderKontoId`, say).
pub(crate) async fn integrasjon_for_konto(
    read: &ReadSide,
    headers: &HeaderMap,
    (rolle, konto): (&str, Uuid),
    orgnr: &digisos_schema::Orgnr,
) -> Result<KommuneInfo, ApiError> {
    let header_text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (Some(integrasjon_id), Some(passord)) = (header_text("IntegrasjonId"), header_text("IntegrasjonPassord"))
    else {
        return Err(ApiError::unauthorized(
            "Fiks IO needs the headers IntegrasjonId and IntegrasjonPassord of the account's integration",
        ));
    };
    let Some(info) = kommune_for_konto(read, konto).await? else {
        return Err(ApiError::forbidden(format!("{rolle} {konto} is not a kommune's Fiks IO account in this hub")));
    };
    let integrasjon = info.konfigurasjon.fiks_io_integrasjon.as_ref();
    let Some(integrasjon) = integrasjon.filter(|i| i.integrasjon_id.to_string() == integrasjon_id) else {
        return Err(ApiError::forbidden(format!(
            "integration {integrasjon_id} is not the integration of {rolle} {konto}"
        )));
    };
    let matches = crate::fiksio::integrasjon::verify(&passord, &integrasjon.passord_hash).await;
    if !matches || !info.konfigurasjon.fagsystem_orgnr.contains(orgnr) {
        return Err(ApiError::forbidden(format!(
            "the integration password, or organisation {orgnr}, does not fit {rolle} {konto}"
        )));
    }
    Ok(info)
}

/// The body of the katalog's key upload, as KS's clients send it.
#[derive(Debug, Deserialize)]
struct NyNokkel {
    nokkel: String,
}

/// `PUT /fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel` as KS's clients call it (`UploadPublicKey`):
/// JSON `{"nokkel": "<PEM>"}` with the fagsystem's bearer token and the `integrasjonId` / `integrasjonPassord`
/// headers of the kommune's integration. The certificate replaces the account's (every later message is encrypted
/// for it); 200 with the key as the GET answers it. A token, integration or account that does not fit is 403, a
/// certificate the hub cannot encrypt for is 400; neither changes anything.
async fn last_opp_nokkel(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Path(konto_text) = path.map_err(path_error)?;
    let konto =
        Uuid::parse_str(&konto_text).map_err(|_| ApiError::bad_request("path parameter kontoId must be a UUID"))?;
    let ny: NyNokkel = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not {{\"nokkel\": \"<PEM>\"}}: {e}")))?;
    let info = integrasjon_for_konto(&read, &headers, ("kontoId", konto), &orgnr).await?;
    if let Some(message) = super::admin::sertifikat_problem(&ny.nokkel) {
        return Err(ApiError::invalid_document(
            "the key cannot be used for this account",
            vec![digisos_schema::validate::Problem { path: "$.nokkel".into(), message: message.into() }],
        ));
    }
    let command = crate::sak::KommuneCommand::ReplaceFiksIoSertifikat(crate::sak::ReplaceFiksIoSertifikat {
        kommunenummer: info.kommunenummer,
        konto_id: konto,
        sertifikat: ny.nokkel,
        tidspunkt: now(),
    });
    let stream = stream_name(digisos_schema::events::kommune_stream(info.kommunenummer))?;
    let outcome = commands::execute::<crate::commands::KommuneAggregate>(
        &state.store,
        &stream,
        command,
        metadata(CallerKind::Fagsystem, &headers),
    )
    .await?;
    let mut answer = offentlig_nokkel(State(state), read, Ok(Path(konto_text))).await?;
    if let Some(value) = outcome.position.and_then(|p| axum::http::HeaderValue::from_str(&p.to_string()).ok()) {
        answer.headers_mut().insert("x-digisos-position", value);
    }
    Ok(answer)
}
