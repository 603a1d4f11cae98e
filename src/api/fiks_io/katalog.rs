//! The Fiks IO katalog as KS's clients read it (FIKS_IO.md §5, `CatalogHandler`), for the accounts this hub
//! knows: its own and each kommune's `fiksIoKontoId`.
//!
//! - `GET …/kontoer/{kontoId}/offentligNokkel` (public): the account's certificate, which a sender encrypts for.
//! - `PUT …/kontoer/{kontoId}/offentligNokkel`: the key upload of the account's own integration.
//! - `GET …/kontoer/{kontoId}` and `GET …/kontoer/{kontoId}/status`: the account (`KatalogKonto`) and its status
//!   (`KontoSvarStatus`), for any kommune's integration (the bearer token and its `IntegrasjonId` /
//!   `IntegrasjonPassord`), as the katalog answers any integration.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tilgang::{integrasjon, integrasjon_for_konto, kanal, kommune_for_konto, konto_id};
use crate::api::edge::{metadata, now, path_error};
use crate::api::fagsystem::tilgang::stream_name;
use crate::auth::CallerKind;
use crate::commands;
use crate::http::AppState;
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;

/// `GET /fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel` for the hub's account: the certificate a
/// fagsystem encrypts a payload to the hub for (the hub decrypts it with its dokumentlager key ring).
#[utoipa::path(
    get,
    path = "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel",
    tag = "fiks-io",
    operation_id = "fiks_io_katalog_offentlig_nokkel",
    summary = "Read a Fiks IO account's public key",
    description = "The certificate a sender encrypts a Fiks IO payload for, as KS's clients read it from the \
        katalog: for the hub's own account the certificate the hub decrypts with, for a kommune's account the \
        certificate of its configuration. Public: no token or integration needed. Cacheable for 10 minutes.",
    params(
        ("kontoId" = uuid::Uuid, Path, description = "The Fiks IO account: the hub's own or a kommune's \
            `fiksIoKontoId`."),
    ),
    responses(
        (status = 200, description = "The key: `nokkel` (the certificate in PEM), `validFrom`, `validTo`, `serial` \
            (decimal), `subjectDN` and `issuerDN`.", body = serde_json::Value, content_type = "application/json",
            headers(("Cache-Control" = String, description = "`max-age=600`."))),
        (status = 400, description = "`kontoId` is not a UUID."),
        (status = 404, description = "Fiks IO is not switched on in this hub, or no account (with a certificate) \
            `kontoId` is known to it."),
        (status = 503, description = "The kommune register is unavailable; retry shortly."),
    )
)]
pub(super) async fn offentlig_nokkel(
    State(state): State<AppState>,
    read: ReadSide,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(konto) = path.map_err(path_error)?;
    let konto = konto_id(&konto)?;
    let kanal = kanal(&state)?;
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

/// The body of the katalog's key upload, as KS's clients send it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
struct NyNokkel {
    /// The account's new X.509 certificate in PEM (RSA key, valid now).
    nokkel: String,
}

/// `PUT /fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel` as KS's clients call it (`UploadPublicKey`):
/// JSON `{"nokkel": "<PEM>"}` with the fagsystem's bearer token and the `integrasjonId` / `integrasjonPassord`
/// headers of the kommune's integration. The certificate replaces the account's (every later message is encrypted
/// for it); 200 with the key as the GET answers it. A token, integration or account that does not fit is 403, a
/// certificate the hub cannot encrypt for is 400; neither changes anything.
#[utoipa::path(
    put,
    path = "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel",
    tag = "fiks-io",
    operation_id = "fiks_io_katalog_last_opp_nokkel",
    summary = "Upload a kommune account's public key",
    description = "The katalog's key upload as KS's clients call it (`UploadPublicKey`), with the fagsystem's \
        bearer token and the headers of the kommune's integration for this very account. The certificate \
        replaces the account's: every later message to it is encrypted for the new one. Idempotent: the same \
        certificate again changes nothing. Answers 200 with the key as the GET answers it, and \
        `x-digisos-position`. A token, integration or account that does not fit, or a certificate the hub \
        cannot encrypt for, changes nothing.",
    params(
        ("kontoId" = uuid::Uuid, Path, description = "The Fiks IO account: the hub's own or a kommune's \
            `fiksIoKontoId`."),
        ("IntegrasjonId" = String, Header, description = "The id of the kommune's Fiks IO integration (issued by \
            the admin API), as KS's clients send it."),
        ("IntegrasjonPassord" = String, Header, description = "The password of that integration."),
    ),
    request_body(content = NyNokkel, content_type = "application/json", description = "`{\"nokkel\": \"<PEM>\"}`: \
        the account's X.509 certificate in PEM, with an RSA key (Fiks IO encrypts with RSA-OAEP), valid now."),
    responses(
        (status = 200, description = "The key as `GET .../offentligNokkel` answers it: `nokkel`, `validFrom`, \
            `validTo`, `serial`, `subjectDN`, `issuerDN`.", body = serde_json::Value,
            content_type = "application/json",
            headers(
                ("x-digisos-position" = String, description = "The position of the kommune stream's last event \
                    (`<commit>-<prepare>`); send it back as `x-digisos-min-position` to read your own write."),
                ("Cache-Control" = String, description = "`max-age=600`.")
            )),
        (status = 400, description = "`kontoId` is not a UUID, the body is not `{\"nokkel\": \"<PEM>\"}`, or the \
            certificate is not PEM X.509, has no RSA key or is not valid now."),
        (status = 403, description = "The token is not a fagsystem's, `kontoId` is not a kommune's Fiks IO account, \
            or the integration, its password or the token's organisation does not fit it."),
        (status = 404, description = "Fiks IO is not switched on in this hub."),
        (status = 409, description = "A concurrent write got there first."),
        (status = 413, description = "The body is larger than the service accepts."),
        (status = 503, description = "The kommune register or the event store is unavailable; retry shortly."),
    )
)]
pub(super) async fn last_opp_nokkel(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let Path(konto_text) = path.map_err(path_error)?;
    let konto = konto_id(&konto_text)?;
    // Before anything is decided: with the channel off the upload is refused and stores nothing.
    kanal(&state)?;
    let ny: NyNokkel = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not {{\"nokkel\": \"<PEM>\"}}: {e}")))?;
    let info = integrasjon_for_konto(&read, &headers, ("kontoId", konto), &orgnr).await?;
    if let Some(message) = crate::api::admin::sertifikat_problem(&ny.nokkel) {
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

/// `GET /fiks-io/katalog/api/v1/kontoer/{kontoId}`: the account as the katalog describes it (`KatalogKonto`):
/// `fiksOrgId`, `fiksOrgNavn`, `kontoId`, `kontoNavn`, `kommunenummer` and `status`. The hub is no Fiks
/// organisation: its own account answers with its account id as `fiksOrgId`.
#[utoipa::path(
    get,
    path = "/fiks-io/katalog/api/v1/kontoer/{kontoId}",
    tag = "fiks-io",
    operation_id = "fiks_io_katalog_konto",
    summary = "Read a Fiks IO account from the katalog",
    description = "The account as the katalog describes it (`KatalogKonto`), for the hub's own account and each \
        kommune's. Any kommune's integration may read it (bearer token plus `IntegrasjonId` / \
        `IntegrasjonPassord`). The hub is no Fiks organisation: its own account answers with its account id as \
        `fiksOrgId`. The queue figures in `status` are what this instance last saw of the account's queue.",
    params(
        ("kontoId" = uuid::Uuid, Path, description = "The Fiks IO account: the hub's own or a kommune's \
            `fiksIoKontoId`."),
        ("IntegrasjonId" = String, Header, description = "The id of a kommune's Fiks IO integration (issued by the \
            admin API), as KS's clients send it; any kommune's integration may read the katalog."),
        ("IntegrasjonPassord" = String, Header, description = "The password of that integration."),
    ),
    responses(
        (status = 200, description = "`KatalogKonto`: `fiksOrgId`, `fiksOrgNavn`, `kontoId`, `kontoNavn`, \
            `kommunenummer` (kommune accounts only) and `status` (as `GET .../status` answers it).",
            body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`kontoId` is not a UUID."),
        (status = 403, description = "The token is not a fagsystem's, or the integration is unknown or its \
            password or the token's organisation does not fit it."),
        (status = 404, description = "Fiks IO is not switched on in this hub, or no account `kontoId` is known to \
            it."),
        (status = 503, description = "The kommune register is unavailable; retry shortly."),
    )
)]
pub(super) async fn konto(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let beskrivelse = katalog_konto(&state, &read, &headers, &orgnr, path).await?;
    Ok(Json(beskrivelse).into_response())
}

/// `GET /fiks-io/katalog/api/v1/kontoer/{kontoId}/status`: `KontoSvarStatus` of the account.
#[utoipa::path(
    get,
    path = "/fiks-io/katalog/api/v1/kontoer/{kontoId}/status",
    tag = "fiks-io",
    operation_id = "fiks_io_katalog_status",
    summary = "Read a Fiks IO account's status",
    description = "`KontoSvarStatus` of the account, as KS's clients read it: whether it is a valid sender and \
        receiver (a kommune account without a certificate is no valid receiver: nothing can be \
        encrypted for it) and, when this instance has seen the account's queue, its consumers and waiting \
        messages. Same access as `GET .../kontoer/{kontoId}`.",
    params(
        ("kontoId" = uuid::Uuid, Path, description = "The Fiks IO account: the hub's own or a kommune's \
            `fiksIoKontoId`."),
        ("IntegrasjonId" = String, Header, description = "The id of a kommune's Fiks IO integration (issued by the \
            admin API), as KS's clients send it; any kommune's integration may read the katalog."),
        ("IntegrasjonPassord" = String, Header, description = "The password of that integration."),
    ),
    responses(
        (status = 200, description = "`KontoSvarStatus`: `gyldigAvsender`, `gyldigMottaker`, `melding` (why not a \
            valid receiver, or null), and `antallKonsumenter` and `antallUavhentedeMeldinger` when known.",
            body = serde_json::Value, content_type = "application/json"),
        (status = 400, description = "`kontoId` is not a UUID."),
        (status = 403, description = "The token is not a fagsystem's, or the integration is unknown or its \
            password or the token's organisation does not fit it."),
        (status = 404, description = "Fiks IO is not switched on in this hub, or no account `kontoId` is known to \
            it."),
        (status = 503, description = "The kommune register is unavailable; retry shortly."),
    )
)]
pub(super) async fn status(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let mut beskrivelse = katalog_konto(&state, &read, &headers, &orgnr, path).await?;
    Ok(Json(beskrivelse["status"].take()).into_response())
}

/// The account of the path, described for the katalog, once the caller's integration holds.
async fn katalog_konto(
    state: &AppState,
    read: &ReadSide,
    headers: &HeaderMap,
    orgnr: &digisos_schema::Orgnr,
    path: Result<Path<String>, PathRejection>,
) -> Result<Value, ApiError> {
    let Path(konto) = path.map_err(path_error)?;
    let konto = konto_id(&konto)?;
    let kanal = kanal(state)?;
    integrasjon(read, headers, orgnr).await?;
    // What this instance last saw of the account's queue (every instance that publishes watches them).
    let queue = crate::metrics::fiks_io_accounts().into_iter().find(|(k, _, _)| *k == konto.to_string());
    let mut status = json!({"gyldigAvsender": true, "gyldigMottaker": true, "melding": null});
    if let Some((_, messages, consumers)) = queue {
        status["antallKonsumenter"] = json!(consumers);
        status["antallUavhentedeMeldinger"] = json!(messages);
    }
    if konto == kanal.konto_id() {
        let beskrivelse = json!({
            "fiksOrgId": konto,
            "fiksOrgNavn": "Fiks Digisos",
            "kontoId": konto,
            "kontoNavn": "Digisos",
            "status": status,
        });
        return Ok(beskrivelse);
    }
    let Some(info) = kommune_for_konto(read, konto).await? else {
        return Err(ApiError::not_found(format!("no Fiks IO account {konto} in this hub")));
    };
    let mottaker = info.konfigurasjon.fiks_io_sertifikat.is_some();
    status["gyldigMottaker"] = json!(mottaker);
    if !mottaker {
        status["melding"] = json!("the account has no certificate: nothing can be encrypted for it");
    }
    let beskrivelse = json!({
        "fiksOrgId": info.konfigurasjon.fiks_org_id.to_string(),
        "fiksOrgNavn": format!("Kommune {}", info.kommunenummer),
        "kommunenummer": info.kommunenummer.to_string(),
        "kontoId": konto,
        "kontoNavn": format!("Digisos {}", info.kommunenummer),
        "status": status,
    });
    Ok(beskrivelse)
}
