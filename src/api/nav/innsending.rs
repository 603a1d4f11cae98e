//! `POST /soknader/{kommunenummer}/{navEksternRefId}` (a new søknad) and
//! `POST /soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}` (an ettersendelse).
//!
//! Each request goes, in order: path parameters (400), the register step (the kommune must be configured and
//! take søknader now: 404/403), the multipart body (files streamed into the document store, JSON parts checked
//! against the schemas: 400/413), ownership (the søknad's person must be the caller: 403), the NAV office
//! routing (400), and only then the command. The cheap register checks come before the body so that a kommune
//! that takes nothing never receives the files; the office check needs the body. Every refusal appends
//! nothing; files read before a refusal stay as unreferenced, content-addressed blobs.
//!
//! The case id of a søknad is derived from its `navEksternRefId`, so a retry lands on the same case: the same
//! content answers 202 with the same id and appends nothing, other content is a 409 naming the case (both
//! decided by the case's Decider).

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use digisos_schema::events::{LeveranseId, kommune_stream, sak_stream};
use digisos_schema::types::{Enhetsnummer, FiksDigisosId, Kommunenummer, NavEksternRefId};
use digisos_schema::validate::Problem;
use uuid::Uuid;

use crate::api::edge::{metadata, now, param, path_error, respond};
use crate::auth::{CallerKind, Fnr};
use crate::commands::{self, KommuneAggregate, SakAggregate};
use crate::eventstore::StreamName;
use crate::http::AppState;
use crate::http::caller::CitizenCaller;
use crate::http::error::ApiError;
use crate::http::multipart::{MultipartBody, SoknadUpload, read_ettersendelse, read_soknad};
use crate::sak::{Ettersend, KommuneState, SakState, SubmitSoknad, sak_id_for_soknad};

/// Submits a søknad: 202 with the case's `fiksDigisosId` as a JSON string.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/soknader/{kommunenummer}/{navEksternRefId}",
    tag = "nav-innsending",
    operation_id = "innsending_submit_soknad",
    summary = "Submit a søknad with all its files in one request (v1)",
    description = "Nav submits a citizen's søknad to a kommune, on the citizen's behalf and with the citizen's \
        token: the søknad, its vedlegg.json and every file in one multipart request. The checks run in this \
        order, each able to refuse: the path parameters, the kommune (it must be set up and take søknader now), \
        the multipart body (files are stored as they arrive, JSON parts are validated against their schemas), \
        the søknad's person (it must be the logged-in citizen), the NAV office the søknad is sent to (it must \
        belong to the kommune), then the command. A refusal records nothing.\n\n\
        The case id is derived from `navEksternRefId`, so the request is idempotent: a retry with the same \
        content answers 202 with the same `fiksDigisosId` and records nothing new; the same `navEksternRefId` \
        with other content is a 409 naming the case. The answer carries `x-digisos-position`; send it back as \
        `x-digisos-min-position` on a read to see the new case.",
    params(
        ("kommunenummer" = String, Path, description = "The receiving kommune's kommunenummer: exactly four digits."),
        ("navEksternRefId" = String, Path, description = "Nav's reference for this søknad, its idempotency key: 1 \
            to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
    ),
    request_body(
        content = String,
        content_type = "multipart/form-data",
        description = "The parts, in this order: `tilleggsinformasjonJson` (optional, `{\"enhetsnummer\": \
            \"<4 digits>\"}`), `soknadJson` (the søknad, JsonSoknad) and `vedleggJson` (its vedlegg.json, \
            JsonVedleggSpesifikasjon), the JSON parts in any order but before the files; then, per file, a \
            metadata part `vedleggSpesifikasjon:<i>` (or `metadata:<i>`) with JSON `{filnavn, mimetype, \
            storrelse}` followed by its file part `dokument:<i>` (a single file may be `metadata` + `dokument`). \
            The first file is the søknad PDF. Every file must be listed by `filnavn` in vedleggJson (except the \
            PDFs Nav generates: the first file, `Soknad.pdf`, `Soknad-juridisk.pdf`, `Brukerkvittering.pdf`, \
            `ettersendelse.pdf`), and every listed file must be in the request; a listed real `sha512` must match \
            the bytes. A file part may be CMS EnvelopedData for the certificate of \
            `GET /digisos/api/v1/dokumentlager-public-key`; it is decrypted, and the plaintext is checked and \
            stored. A service configured to require encryption refuses plain files.",
    ),
    responses(
        (status = 202, description = "The søknad is recorded (or was already, with the same content): the \
            case's `fiksDigisosId` as a JSON string. Carries `x-digisos-position`.", body = uuid::Uuid,
            content_type = "application/json"),
        (status = 400, description = "A path parameter is malformed; the body is not multipart/form-data; a part \
            is unknown, unnamed, repeated, missing or out of order; a JSON part is not valid against its schema \
            (`problems` name `<part>: <JSON path>`); file metadata is invalid or its `storrelse` is not the size \
            received; the files and vedleggJson do not match; a file cannot be decrypted, or is plain where \
            encryption is required; the request carries no file; the NAV office is not an enhetsnummer or not an \
            office of this kommune; or the søknad is addressed to another kommune."),
        (status = 403, description = "The caller is not a citizen; the kommune does not take digital søknader \
            (or has switched receiving off for now); or the søknad's `personIdentifikator` is not the logged-in \
            citizen."),
        (status = 404, description = "The kommune is not set up for Fiks Digisos."),
        (status = 409, description = "The `navEksternRefId` is already a søknad with other content (the message \
            names its `fiksDigisosId`), or the case kept changing concurrently."),
        (status = 410, description = "The case of this `navEksternRefId` has been deleted."),
        (status = 413, description = "A file is larger than the limit a file, the request carries more files \
            than allowed, a JSON or metadata part is past its cap, or the body is past the route's limit."),
        (status = 503, description = "The database or the document store is unavailable; retry."),
    )
)]
pub(super) async fn submit_soknad(
    State(state): State<AppState>,
    CitizenCaller(fnr): CitizenCaller,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    MultipartBody(multipart): MultipartBody,
) -> Result<Response, ApiError> {
    let Path((kommunenummer, nav_ekstern_ref_id)) = path.map_err(path_error)?;
    let kommunenummer = param(&kommunenummer, Kommunenummer::parse)?;
    let nav_ekstern_ref_id = param(&nav_ekstern_ref_id, NavEksternRefId::parse)?;

    let kommune = kommune(&state, kommunenummer).await?;
    kommune.kan_motta_soknad(kommunenummer, None).map_err(into_api)?;

    let upload = read_soknad(multipart, &state.documents, &state.upload_limits, &state.kryptering).await?;
    ensure_own_soknad(&upload, &fnr)?;
    let enhet = enhet_of(&upload)?;
    let konfigurasjon = kommune.kan_motta_soknad(kommunenummer, enhet).map_err(into_api)?;

    let fiks_digisos_id = sak_id_for_soknad(&nav_ekstern_ref_id);
    let command = SubmitSoknad {
        fiks_digisos_id,
        kommunenummer,
        fiks_org_id: konfigurasjon.fiks_org_id,
        nav_ekstern_ref_id,
        soker_fnr: fnr,
        enhetsnummer: upload.tilleggsinformasjon.as_ref().and_then(|t| t.typed.enhetsnummer),
        soknad_metadata: upload.soknad.dokument_info("soknad.json"),
        soknad: upload.soknad.typed,
        vedlegg_metadata: upload.vedlegg.dokument_info("vedlegg.json"),
        vedlegg_spesifikasjon: upload.vedlegg.typed,
        soknad_dokument: upload.soknad_pdf.dokument_info(),
        vedlegg: upload.filer.iter().map(|f| f.dokument_info()).collect(),
        leveranse_id: LeveranseId(Uuid::new_v4()),
        fiks_io: crate::fiksio::sending(state.fiks_io.as_ref(), konfigurasjon),
        tidspunkt: now(),
    };
    let stream = stream(sak_stream(fiks_digisos_id))?;
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &stream,
        command.into(),
        metadata(CallerKind::Citizen, &headers),
    )
    .await?;
    Ok(respond(StatusCode::ACCEPTED, outcome.position, Json(fiks_digisos_id)))
}

/// Adds documents to an existing case: 202 without a body, as the real API.
#[utoipa::path(
    post,
    path = "/digisos/api/v1/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}",
    tag = "nav-innsending",
    operation_id = "innsending_ettersend",
    summary = "Send more documents to an existing case (v1 ettersendelse)",
    description = "Nav adds documents to the logged-in citizen's case, with every file in the request. The checks \
        run in this order: the path parameters, the kommune (it must be set up and take søknader now), the case \
        (it must exist and be the caller's; checked before the files are read, so such a request stores \
        nothing), the multipart body, then the command. A refusal records nothing.\n\n\
        Idempotent on the ettersendelse's `navEksternRefId`: a retry with the same content answers 202 and \
        records nothing new; the same `navEksternRefId` with other content, or the søknad's own, is a 409. The \
        answer has no body and carries `x-digisos-position`; send it back as `x-digisos-min-position` on a read \
        to see the ettersendelse.",
    params(
        ("kommunenummer" = String, Path, description = "The case's kommune's kommunenummer: exactly four digits."),
        ("fiksDigisosId" = uuid::Uuid, Path, description = "The case the documents are added to."),
        ("navEksternRefId" = String, Path, description = "Nav's reference for this ettersendelse, its idempotency \
            key within the case: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, not `.` or `..`."),
    ),
    request_body(
        content = String,
        content_type = "multipart/form-data",
        description = "The parts, in this order: `vedlegg.json` (or `vedleggJson`: the ettersendelse's \
            JsonVedleggSpesifikasjon), then, per file, a metadata part `vedleggSpesifikasjon:<i>` (or \
            `metadata:<i>`) with JSON `{filnavn, mimetype, storrelse}` followed by its file part `dokument:<i>` \
            (a single file may be `metadata` + `dokument`). At least one file. Every file must be listed by \
            `filnavn` in vedlegg.json (except `ettersendelse.pdf` and the other PDFs Nav generates), and every \
            listed file must be in the request; a listed real `sha512` must match the bytes. A file part may be \
            CMS EnvelopedData for the certificate of `GET /digisos/api/v1/dokumentlager-public-key`; it is \
            decrypted, and the plaintext is checked and stored.",
    ),
    responses(
        (status = 202, description = "The ettersendelse is recorded (or was already, with the same content). No \
            body. Carries `x-digisos-position`."),
        (status = 400, description = "A path parameter is malformed; the body is not multipart/form-data; a part \
            is unknown, unnamed, repeated, missing or out of order; vedlegg.json is not valid against its schema; \
            file metadata is invalid or its `storrelse` is not the size received; the files and vedlegg.json do \
            not match; a file cannot be decrypted, or is plain where encryption is required; or the request \
            carries no file."),
        (status = 403, description = "The caller is not a citizen; the kommune does not take digital søknader \
            (or has switched receiving off for now); or the case is not the logged-in citizen's."),
        (status = 404, description = "The kommune is not set up for Fiks Digisos, there is no case with this \
            `fiksDigisosId`, or the case is not this kommune's."),
        (status = 409, description = "The `navEksternRefId` is the søknad's own reference or is already used by \
            an ettersendelse of this case with other content, or the case kept changing concurrently."),
        (status = 410, description = "The case has been deleted."),
        (status = 413, description = "A file is larger than the limit a file, the request carries more files \
            than allowed, a JSON or metadata part is past its cap, or the body is past the route's limit."),
        (status = 503, description = "The database or the document store is unavailable; retry."),
    )
)]
pub(super) async fn ettersend(
    State(state): State<AppState>,
    CitizenCaller(fnr): CitizenCaller,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
    MultipartBody(multipart): MultipartBody,
) -> Result<Response, ApiError> {
    let Path((kommunenummer, fiks_digisos_id, nav_ekstern_ref_id)) = path.map_err(path_error)?;
    let kommunenummer = param(&kommunenummer, Kommunenummer::parse)?;
    let fiks_digisos_id = param(&fiks_digisos_id, FiksDigisosId::parse)?;
    let nav_ekstern_ref_id = param(&nav_ekstern_ref_id, NavEksternRefId::parse)?;

    let kommune = kommune(&state, kommunenummer).await?;
    let konfigurasjon = kommune.kan_motta_soknad(kommunenummer, None).map_err(into_api)?;

    // A first look at the case before the files are read, so that a request for a case that does not exist or
    // is not the caller's stores nothing at all. The decider checks again on the fresh state.
    let stream = stream(sak_stream(fiks_digisos_id))?;
    let (sak, _, _) = commands::load::<SakAggregate>(&state.store, &stream).await?;
    match &sak {
        SakState::Ny => return Err(ApiError::not_found(format!("no case with fiksDigisosId {fiks_digisos_id}"))),
        SakState::Aktiv(sak) if sak.soker_fnr() != &fnr => {
            return Err(ApiError::forbidden(format!("case {fiks_digisos_id} is not the logged-in citizen's")));
        }
        _ => {}
    }

    let upload = read_ettersendelse(multipart, &state.documents, &state.upload_limits, &state.kryptering).await?;
    let command = Ettersend {
        kommunenummer,
        innsender: fnr,
        nav_ekstern_ref_id,
        vedlegg_metadata: upload.vedlegg.dokument_info("vedlegg.json"),
        vedlegg_spesifikasjon: upload.vedlegg.typed,
        vedlegg: upload.filer.iter().map(|f| f.dokument_info()).collect(),
        leveranse_id: LeveranseId(Uuid::new_v4()),
        fiks_io: crate::fiksio::sending(state.fiks_io.as_ref(), konfigurasjon),
        tidspunkt: now(),
    };
    let outcome = commands::execute::<SakAggregate>(
        &state.store,
        &stream,
        command.into(),
        metadata(CallerKind::Citizen, &headers),
    )
    .await?;
    Ok(respond(StatusCode::ACCEPTED, outcome.position, ()))
}

/// The kommune's configuration as its stream tells it.
pub(super) async fn kommune(state: &AppState, kommunenummer: Kommunenummer) -> Result<KommuneState, ApiError> {
    let stream = stream(kommune_stream(kommunenummer))?;
    let (kommune, _, _) = commands::load::<KommuneAggregate>(&state.store, &stream).await?;
    Ok(kommune)
}

pub(super) fn stream(name: String) -> Result<StreamName, ApiError> {
    StreamName::parse(name).map_err(|e| {
        tracing::error!(error = %e, "a stream name built from parsed ids was refused");
        ApiError::internal()
    })
}

pub(super) fn into_api(refusal: crate::sak::KommuneRefusal) -> ApiError {
    crate::sak::Rejection::from(refusal).into()
}

/// 403 unless the søknad's `personIdentifikator` is the caller's.
pub(super) fn ensure_own_soknad(upload: &SoknadUpload, fnr: &Fnr) -> Result<(), ApiError> {
    if upload.soknad.typed.person_identifikator == fnr.expose() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "the søknad's personIdentifikator ($.data.personalia.personIdentifikator.verdi) is not the logged-in citizen",
        ))
    }
}

/// The NAV office the søknad was sent to: `tilleggsinformasjonJson.enhetsnummer`, else the søknad's
/// `mottaker.enhetsnummer` (an empty one counts as not given; anything else must be 4 digits).
pub(super) fn enhet_of(upload: &SoknadUpload) -> Result<Option<Enhetsnummer>, ApiError> {
    if let Some(enhet) = upload.tilleggsinformasjon.as_ref().and_then(|t| t.typed.enhetsnummer) {
        return Ok(Some(enhet));
    }
    match upload.soknad.typed.mottaker.enhetsnummer.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) => Enhetsnummer::parse(text).map(Some).map_err(|e| {
            ApiError::invalid_document(
                "the søknad's NAV office is not an enhetsnummer",
                vec![Problem { path: "soknadJson: $.mottaker.enhetsnummer".into(), message: e.rule().to_owned() }],
            )
        }),
    }
}
