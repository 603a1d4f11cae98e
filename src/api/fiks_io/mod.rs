//! Fiks IO's REST side as KS's clients call it (FIKS_IO.md §3): `POST /fiks-io/api/v1/send`, where a fagsystem
//! answers a Digisos message with its receipt (`no.nav.digisos.soknad.mottatt.v1` or
//! `no.nav.digisos.ettersendelse.mottatt.v1`, `svarPaMelding` = the message's `melding-id`), and the katalog's
//! reads and key upload ([`katalog`]), and the dokumentlager download of a message over 5 MB ([`dokumentlager`]);
//! [`tilgang`] checks the integration headers every one of them but the public-key read needs.
//!
//! A receipt records the same `LeveranseKvittert` as the mailbox's `kvittering`; a second receipt changes
//! nothing. The answer is Fiks IO's: 202 with the sent message (`SendtMelding`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post, put};
use digisos_projections::mottak::leveranse_for_melding;
use digisos_schema::events::{LeveranseId, sak_stream};
use digisos_schema::types::{FiksDigisosId, FiksOrgId};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::edge::{metadata, now, respond};
use super::fagsystem::FAGSYSTEM;
use super::fagsystem::tilgang::{kommuner_for_fagsystem, stream_name};
use crate::auth::CallerKind;
use crate::commands::{self, SakAggregate};
use crate::fiksio::melding::{ETTERSENDELSE_MOTTATT_V1, SOKNAD_MOTTATT_V1};
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::multipart::MultipartBody;
use crate::http::read_side::ReadSide;
use crate::sak::{ConfirmDelivery, SakCommand};

/// The largest `metadata` part read, in bytes.
const MAX_METADATA: usize = 64 * 1024;

pub mod broker;
mod dokumentlager;
mod katalog;
mod tilgang;

use tilgang::integrasjon_for_konto;

/// Adds the Fiks IO routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    broker::routes(router)
        .route(&[Method::POST], "/fiks-io/api/v1/send", post(send), FAGSYSTEM)
        .route(&[Method::GET], "/dokumentlager/nedlasting/{dokumentlagerId}", get(dokumentlager::nedlasting), FAGSYSTEM)
        .route(
            &[Method::GET],
            "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel",
            get(katalog::offentlig_nokkel),
            Rule::Public,
        )
        .route(
            &[Method::PUT],
            "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel",
            put(katalog::last_opp_nokkel),
            FAGSYSTEM,
        )
        .route(&[Method::GET], "/fiks-io/katalog/api/v1/kontoer/{kontoId}", get(katalog::konto), FAGSYSTEM)
        .route(&[Method::GET], "/fiks-io/katalog/api/v1/kontoer/{kontoId}/status", get(katalog::status), FAGSYSTEM)
}

/// This module's operations in the REST API's OpenAPI document (merged by `crate::api::openapi`); the RabbitMQ
/// auth-backend routes of [`broker`] are not part of the REST API and stay out of it.
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    send,
    dokumentlager::nedlasting,
    katalog::offentlig_nokkel,
    katalog::last_opp_nokkel,
    katalog::konto,
    katalog::status
))]
pub(crate) struct Doc;

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

#[utoipa::path(
    post,
    path = "/fiks-io/api/v1/send",
    tag = "fiks-io",
    operation_id = "fiks_io_send",
    summary = "Send a Fiks IO receipt for a Digisos message",
    description = "Fiks IO's send, as KS's clients call it, for the one thing a fagsystem sends the hub: the \
        receipt of a Digisos message it consumed from its kommune's queue. `meldingType` is \
        `no.nav.digisos.soknad.mottatt.v1` or `no.nav.digisos.ettersendelse.mottatt.v1` (matching the kind of \
        delivery), `svarPaMelding` is the `melding-id` of the message answered, `mottakerKontoId` is the hub's \
        account and `avsenderKontoId` the kommune's account, whose integration the `IntegrasjonId` / \
        `IntegrasjonPassord` headers must carry. The receipt records the same `LeveranseKvittert` as the \
        mailbox's `kvittering`. Idempotent: a second receipt for the same message changes nothing. Answers 202 \
        with the sent message (`SendtMelding`) and `x-digisos-position`; send `x-digisos-min-position` to have \
        the kommune and mottak read models catch up first.",
    params(
        ("IntegrasjonId" = String, Header, description = "The id of the kommune's Fiks IO integration (issued by \
            the admin API), as KS's clients send it."),
        ("IntegrasjonPassord" = String, Header, description = "The password of that integration."),
        ("x-digisos-min-position" = Option<String>, Header, description = "Read-your-writes: the \
            `x-digisos-position` of an earlier command's answer; the send waits until the kommune and mottak read \
            models have reached it (400 when malformed, 503 when it is not reached in time)."),
    ),
    request_body(content = String, content_type = "multipart/form-data", description = "Part `metadata` \
        (`application/json`, at most 64 KiB): `MeldingSpesifikasjon` with `avsenderKontoId` (UUID), \
        `mottakerKontoId` (UUID), `meldingType`, `svarPaMelding` (UUID, required here), and optionally `ttl` \
        (milliseconds) and `headere` (a map of strings, or null). Optionally part `data`: a receipt has no \
        payload, so one sent anyway is read and discarded. No other part is accepted."),
    responses(
        (status = 202, description = "The sent message (`SendtMelding`): `meldingId` (new UUID), `meldingType`, \
            `avsenderKontoId`, `mottakerKontoId`, `ttl` (0 when not given), `dokumentlagerId` (null), \
            `svarPaMelding` and `headere`.", body = serde_json::Value, content_type = "application/json",
            headers(
                ("x-digisos-position" = String, description = "The position of the case stream's last event \
                    (`<commit>-<prepare>`); send it back as `x-digisos-min-position` to read your own write.")
            )),
        (status = 400, description = "The body is not multipart, a part cannot be read, a part other than \
            `metadata` / `data` is sent, `metadata` is missing, larger than 64 KiB or not a \
            `MeldingSpesifikasjon`, `mottakerKontoId` is not the hub's account, `meldingType` is not one of the \
            two receipts or does not match the delivery's kind, `svarPaMelding` is missing; or \
            `x-digisos-min-position` is malformed."),
        (status = 403, description = "The token is not a fagsystem's, `avsenderKontoId` is not a kommune's Fiks IO \
            account or not the account of the kommune the message went to, or the integration, its password or \
            the token's organisation does not fit it."),
        (status = 404, description = "Fiks IO is not switched on in this hub, or `svarPaMelding` names no message \
            this hub sent."),
        (status = 409, description = "The delivery was rejected and cannot be confirmed, or a concurrent write \
            got there first."),
        (status = 410, description = "The message's case has been deleted."),
        (status = 413, description = "The body is larger than the service accepts."),
        (status = 503, description = "A read model or the event store is unavailable, or the read models have not \
            reached `x-digisos-min-position` in time; retry shortly."),
    )
)]
async fn send(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    MultipartBody(mut multipart): MultipartBody,
) -> Result<Response, ApiError> {
    let kanal = tilgang::kanal(&state)?;
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
