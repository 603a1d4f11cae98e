//! Nav's v2 submission (DOMAIN.md A.2), what Nav's `DigisosApiV2Client` uses today:
//! `POST /digisos/api/v2/soknader/{kommunenummer}/{navEksternRefId}` (a søknad) and
//! `POST /digisos/api/v2/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}` (an ettersendelse).
//!
//! The request carries the JSON documents and the PDFs Nav generates (`metadata<i>` or `metadata`, then a part
//! named by the file: `Soknad.pdf`, `Soknad-juridisk.pdf`, `Brukerkvittering.pdf`; the first is the søknad PDF);
//! the vedlegg that `vedleggJson` lists were uploaded beforehand to the mellomlagring of the same
//! `navEksternRefId` ([`crate::api::mellomlagring`]). Each listed file is taken from there, matched by its
//! `sha512` (by its `filnavn` where the listing has no real SHA-512, as Nav's own files may not), bound to the
//! new case, and the mellomlagring is emptied. A listed file that is not there is a 400 naming its listing,
//! and nothing is recorded.
//!
//! Order, each step able to refuse before the next: path (400), an existing case for the `navEksternRefId`
//! (below; first, so that a repeat is recognised even when the kommune has since stopped taking søknader), the
//! kommune (404/403), the body (400/413), ownership (403), the NAV office (400), the mellomlagring match (400),
//! the command. Duplicates answer as Nav's client expects: a søknad whose `navEksternRefId` is already a case is
//! a 409 whose one-line message says it `finnes allerede` and ends with the case's `fiksDigisosId` (the client
//! takes the last UUID after `message`, and treats it as sent); a repeated ettersendelse is a 400 saying an
//! ettersendelse with that `navEksternRefId` `finnes allerede` for the case. A repeat that races the first
//! (its mellomlagring already taken, or the decider finding the case recorded) is answered the same way.
//!
//! Mellomlagring has no owner but its reference (only Nav's system identity writes it), so the v2 ettersendelse
//! takes files only from a reference that belongs to its case: the søknad's `navEksternRefId` (or, for a paper
//! case, the `fiksDigisosId`) followed by Nav's 4-digit counter (DOMAIN.md A.9). After the command, only the
//! files the submission saw are removed from mellomlagring; one stored in the meantime stays for the sweep.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use digisos_schema::events::{DokumentInfo, LeveranseId, sak_stream};
use digisos_schema::types::{FiksDigisosId, Kommunenummer, NavEksternRefId};
use uuid::Uuid;

use super::innsending::{enhet_of, ensure_own_soknad, into_api, kommune, stream};
use crate::api::edge::{metadata, now, param, path_error, respond};
use crate::api::mellomlagring;
use crate::auth::{CallerKind, Fnr};
use crate::commands::{self, CommandError, SakAggregate};
use crate::documents::StoredBlob;
use crate::eventstore::StreamName;
use crate::http::AppState;
use crate::http::caller::CitizenCaller;
use crate::http::error::{ApiError, Problem};
use crate::http::multipart::{ListedFile, MultipartBody, read_ettersendelse_v2, read_soknad_v2};
use crate::mellomlagring::MellomlagringState;
use crate::sak::{Ettersend, Rejection, Sak, SakState, SubmitSoknad, sak_id_for_soknad};

/// Submits a v2 søknad: 202 with the case's `fiksDigisosId` as a JSON string.
#[utoipa::path(
    post,
    path = "/digisos/api/v2/soknader/{kommunenummer}/{navEksternRefId}",
    tag = "nav-innsending",
    operation_id = "v2_submit_soknad",
    summary = "Submit a søknad whose vedlegg are in mellomlagring (v2)",
    description = "What Nav's `DigisosApiV2Client` uses today: Nav submits the logged-in citizen's søknad with its \
        JSON documents and the PDFs Nav generates; the vedlegg that vedleggJson lists were uploaded beforehand to \
        the mellomlagring of the same `navEksternRefId` (`POST /digisos/api/v1/mellomlagring/{navEksternRefId}`). \
        Each listed file not in the request is taken from there, matched by its `sha512` (by its `filnavn` where \
        the listing has no real SHA-512), and bound to the new case; afterwards the files the submission saw are \
        removed from the mellomlagring (one stored in the meantime stays).\n\n\
        The checks run in this order, each able to refuse: the path parameters, an existing case for the \
        `navEksternRefId`, the kommune (set up and taking søknader now), the multipart body, the søknad's person \
        (the logged-in citizen), the NAV office, the mellomlagring match, then the command. A refusal records \
        nothing. A repeat is answered as Nav's client expects: when the `navEksternRefId` is already the \
        caller's case, whatever the content, the answer is a 409 (`errorCode` `SOKNAD_FINNES_ALLEREDE`) whose \
        one-line message says the søknad `finnes allerede` and ends with the case's `fiksDigisosId`; the client \
        takes that id and treats the søknad as sent. The case id is derived from `navEksternRefId`. The 202 \
        carries `x-digisos-position`; send it back as `x-digisos-min-position` on a read to see the new case.",
    params(
        ("kommunenummer" = String, Path, description = "The receiving kommune's kommunenummer: exactly four digits."),
        ("navEksternRefId" = String, Path, description = "Nav's reference for this søknad, its idempotency key \
            and the reference of its mellomlagring: 1 to 64 printable ASCII characters, none of `/ \\ ? # %`, \
            not `.` or `..`."),
    ),
    request_body(
        content = String,
        content_type = "multipart/form-data",
        description = "The parts, in this order: `tilleggsinformasjonJson` (optional, `{\"enhetsnummer\": \
            \"<4 digits>\"}`), `soknadJson` (the søknad, JsonSoknad) and `vedleggJson` (its vedlegg.json, \
            JsonVedleggSpesifikasjon), the JSON parts in any order but before the files; then, per generated PDF, \
            a part `metadata` (or `metadata<i>`) with JSON `{filnavn, mimetype, storrelse}` followed by the file \
            in a part named by its file name (`Soknad.pdf`, `Soknad-juridisk.pdf`, `Brukerkvittering.pdf`). The \
            first file is the søknad PDF. Vedlegg may also be sent as such pairs; the files vedleggJson lists \
            that the request does not carry are taken from mellomlagring. A file part may be CMS EnvelopedData \
            for the certificate of `GET /digisos/api/v1/dokumentlager-public-key`; it is decrypted, and the \
            plaintext is checked and stored. A service configured to require encryption refuses plain files.",
    ),
    responses(
        (status = 202, description = "The søknad is recorded: the case's `fiksDigisosId` as a JSON string. Carries \
            `x-digisos-position`.", body = uuid::Uuid, content_type = "application/json"),
        (status = 400, description = "A path parameter is malformed; the body is not multipart/form-data; a part \
            is unknown, unnamed, repeated, missing or out of order; a JSON part is not valid against its schema \
            (`problems` name `<part>: <JSON path>`); file metadata is invalid or its `storrelse` is not the size \
            received; a file cannot be decrypted, or is plain where encryption is required; the request carries \
            no file; the NAV office is not an enhetsnummer or not an office of this kommune; the søknad is \
            addressed to another kommune; or a file vedleggJson lists is neither in the request nor in the \
            mellomlagring of this `navEksternRefId` (`problems` name each listing)."),
        (status = 403, description = "The caller is not a citizen; the `navEksternRefId` is already used by \
            another citizen's søknad; the kommune does not take digital søknader (or has switched receiving off \
            for now); or the søknad's `personIdentifikator` is not the logged-in citizen."),
        (status = 404, description = "The kommune is not set up for Fiks Digisos."),
        (status = 409, description = "The `navEksternRefId` is already the caller's case: `errorCode` \
            `SOKNAD_FINNES_ALLEREDE`, the message ends with its `fiksDigisosId`. Also when the søknad otherwise \
            conflicts with a recorded case, or the case kept changing concurrently."),
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

    let fiks_digisos_id = sak_id_for_soknad(&nav_ekstern_ref_id);
    let sak_stream = stream(sak_stream(fiks_digisos_id))?;
    if let Some(repeat) = soknad_repeat(&state, &sak_stream, &fnr, &nav_ekstern_ref_id, fiks_digisos_id).await? {
        return Err(repeat);
    }
    let kommune = kommune(&state, kommunenummer).await?;
    kommune.kan_motta_soknad(kommunenummer, None).map_err(into_api)?;

    let upload = read_soknad_v2(multipart, &state.documents, &state.upload_limits, &state.kryptering).await?;
    ensure_own_soknad(&upload, &fnr)?;
    let enhet = enhet_of(&upload)?;
    let konfigurasjon = kommune.kan_motta_soknad(kommunenummer, enhet).map_err(into_api)?;

    let mellomlagring_stream = mellomlagring::stream_of(&nav_ekstern_ref_id)?;
    let stored = mellomlagring::load(&state, &mellomlagring_stream).await?;
    let mut vedlegg: Vec<DokumentInfo> = upload.filer.iter().map(|f| f.dokument_info()).collect();
    match take(&upload.fra_mellomlagring, &stored, &nav_ekstern_ref_id) {
        Ok(taken) => vedlegg.extend(taken),
        Err(refusal) => {
            let repeat = soknad_repeat(&state, &sak_stream, &fnr, &nav_ekstern_ref_id, fiks_digisos_id).await?;
            return Err(repeat.unwrap_or(refusal));
        }
    }

    let command = SubmitSoknad {
        fiks_digisos_id,
        kommunenummer,
        fiks_org_id: konfigurasjon.fiks_org_id,
        nav_ekstern_ref_id: nav_ekstern_ref_id.clone(),
        soker_fnr: fnr.clone(),
        enhetsnummer: upload.tilleggsinformasjon.as_ref().and_then(|t| t.typed.enhetsnummer),
        soknad_metadata: upload.soknad.dokument_info("soknad.json"),
        soknad: upload.soknad.typed,
        vedlegg_metadata: upload.vedlegg.dokument_info("vedlegg.json"),
        vedlegg_spesifikasjon: upload.vedlegg.typed,
        soknad_dokument: upload.soknad_pdf.dokument_info(),
        vedlegg,
        leveranse_id: LeveranseId(Uuid::new_v4()),
        fiks_io: crate::fiksio::sending(state.fiks_io.as_ref(), konfigurasjon),
        tidspunkt: now(),
    };
    let executed = commands::execute::<SakAggregate>(
        &state.store,
        &sak_stream,
        command.into(),
        metadata(CallerKind::Citizen, &headers),
    )
    .await;
    let outcome = match executed {
        Ok(outcome) => outcome,
        Err(CommandError::Rejected(Rejection::Conflict { .. })) => {
            let repeat = soknad_repeat(&state, &sak_stream, &fnr, &nav_ekstern_ref_id, fiks_digisos_id).await?;
            return Err(repeat.unwrap_or_else(|| ApiError::conflict("the søknad conflicts with a recorded case")));
        }
        Err(other) => return Err(other.into()),
    };
    taken_out(&state, &mellomlagring_stream, &stored, fiks_digisos_id, &headers).await;
    Ok(respond(StatusCode::ACCEPTED, outcome.position, Json(fiks_digisos_id)))
}

/// The answer to a søknad whose `navEksternRefId` is already a case, when it is: 409 "finnes allerede" with the
/// id last for the caller's own, 403 for another citizen's (who must not learn the id), 410 for a deleted one.
async fn soknad_repeat(
    state: &AppState,
    sak_stream: &StreamName,
    fnr: &Fnr,
    nav_ekstern_ref_id: &NavEksternRefId,
    fiks_digisos_id: FiksDigisosId,
) -> Result<Option<ApiError>, ApiError> {
    let (sak, _, _) = commands::load::<SakAggregate>(&state.store, sak_stream).await?;
    Ok(match &sak {
        SakState::Aktiv(sak) if sak.soker_fnr() == fnr => Some(
            // One line, the id last: Nav's client matches `^.*?message.*(<uuid>).*?$` on the body.
            ApiError::conflict(format!(
                "Søknad med navEksternRefId {nav_ekstern_ref_id} finnes allerede: {fiks_digisos_id}"
            ))
            .with_code("SOKNAD_FINNES_ALLEREDE"),
        ),
        SakState::Aktiv(_) => {
            Some(ApiError::forbidden("the navEksternRefId is already used by another citizen's søknad"))
        }
        SakState::Slettet { .. } => {
            Some(ApiError::new(StatusCode::GONE, format!("case {fiks_digisos_id} of this søknad has been deleted")))
        }
        SakState::Ny => None,
    })
}

/// Adds a v2 ettersendelse to an existing case: 202 without a body.
#[utoipa::path(
    post,
    path = "/digisos/api/v2/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}",
    tag = "nav-innsending",
    operation_id = "v2_ettersend",
    summary = "Send more documents to an existing case from mellomlagring (v2 ettersendelse)",
    description = "Nav adds documents to the logged-in citizen's case: the request carries vedlegg.json, and the \
        files it lists were uploaded beforehand to the mellomlagring of the ettersendelse's `navEksternRefId`. \
        Each listed file not in the request is taken from there (matched by `sha512`, or by `filnavn` where the \
        listing has no real SHA-512); afterwards the files the submission saw are removed from the \
        mellomlagring. Because mellomlagring has no owner but its reference, the `navEksternRefId` must belong \
        to this case: the søknad's `navEksternRefId` (for a paper case, the `fiksDigisosId`) followed by Nav's \
        4-digit counter.\n\n\
        The checks run in this order: the path parameters, the case (it must exist, not be deleted, be the \
        caller's, and not already hold this ettersendelse), the kommune (set up and taking søknader now), the \
        multipart body, the mellomlagring match, then the command. A refusal records nothing. A repeated \
        ettersendelse is a 400 (`errorCode` `ETTERSENDELSE_FINNES_ALLEREDE`) saying an ettersendelse with that \
        `navEksternRefId` `finnes allerede` for the case, as Nav's upload service recognises it. The 202 has no \
        body and carries `x-digisos-position`; send it back as `x-digisos-min-position` on a read to see the \
        ettersendelse.",
    params(
        ("kommunenummer" = String, Path, description = "The case's kommune's kommunenummer: exactly four digits."),
        ("fiksDigisosId" = uuid::Uuid, Path, description = "The case the documents are added to."),
        ("navEksternRefId" = String, Path, description = "Nav's reference for this ettersendelse and of its \
            mellomlagring: the søknad's `navEksternRefId` (for a paper case, the `fiksDigisosId`) followed by \
            four digits."),
    ),
    request_body(
        content = String,
        content_type = "multipart/form-data",
        description = "The part `vedlegg.json` (or `vedleggJson`: the ettersendelse's JsonVedleggSpesifikasjon), \
            alone as Nav sends it; files in the request are taken as in v1 (per file a metadata part \
            `vedleggSpesifikasjon:<i>` with JSON `{filnavn, mimetype, storrelse}` followed by `dokument:<i>`), \
            and each file may be CMS EnvelopedData for the certificate of \
            `GET /digisos/api/v1/dokumentlager-public-key`. The listed files the request does not carry are \
            taken from mellomlagring.",
    ),
    responses(
        (status = 202, description = "The ettersendelse is recorded. No body. Carries `x-digisos-position`."),
        (status = 400, description = "A path parameter is malformed, or `navEksternRefId` is not this case's \
            reference followed by four digits; the ettersendelse already exists (`errorCode` \
            `ETTERSENDELSE_FINNES_ALLEREDE`); the body is not multipart/form-data; a part is unknown, unnamed, \
            repeated, missing or out of order; vedlegg.json is not valid against its schema; the request lists \
            and carries no file; a file cannot be decrypted or is plain where encryption is required; or a \
            listed file is neither in the request nor in the mellomlagring of this `navEksternRefId` \
            (`problems` name each listing)."),
        (status = 403, description = "The caller is not a citizen; the case is not the logged-in citizen's; or \
            the kommune does not take digital søknader (or has switched receiving off for now)."),
        (status = 404, description = "There is no case with this `fiksDigisosId`, the case is not this \
            kommune's, or the kommune is not set up for Fiks Digisos."),
        (status = 409, description = "The ettersendelse conflicts with what the case holds, or the case kept \
            changing concurrently."),
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

    let sak_stream = stream(sak_stream(fiks_digisos_id))?;
    let (sak, _, _) = commands::load::<SakAggregate>(&state.store, &sak_stream).await?;
    match &sak {
        SakState::Ny => return Err(ApiError::not_found(format!("no case with fiksDigisosId {fiks_digisos_id}"))),
        SakState::Slettet { .. } => return Err(ApiError::new(StatusCode::GONE, "the case was deleted")),
        SakState::Aktiv(sak) if sak.soker_fnr() != &fnr => {
            return Err(ApiError::forbidden(format!("case {fiks_digisos_id} is not the logged-in citizen's")));
        }
        SakState::Aktiv(sak) if sak.har_ettersendelse(&nav_ekstern_ref_id) => {
            return Err(ettersendelse_repeat(&nav_ekstern_ref_id, fiks_digisos_id));
        }
        SakState::Aktiv(sak) => ensure_ettersendelse_ref(sak, &nav_ekstern_ref_id)?,
    }
    let kommune = kommune(&state, kommunenummer).await?;
    let konfigurasjon = kommune.kan_motta_soknad(kommunenummer, None).map_err(into_api)?;

    let upload = read_ettersendelse_v2(multipart, &state.documents, &state.upload_limits, &state.kryptering).await?;
    let mellomlagring_stream = mellomlagring::stream_of(&nav_ekstern_ref_id)?;
    let stored = mellomlagring::load(&state, &mellomlagring_stream).await?;
    let mut vedlegg: Vec<DokumentInfo> = upload.filer.iter().map(|f| f.dokument_info()).collect();
    let repeated = |sak: &SakState| matches!(sak, SakState::Aktiv(s) if s.har_ettersendelse(&nav_ekstern_ref_id));
    match take(&upload.fra_mellomlagring, &stored, &nav_ekstern_ref_id) {
        Ok(taken) => vedlegg.extend(taken),
        Err(refusal) => {
            let (sak, _, _) = commands::load::<SakAggregate>(&state.store, &sak_stream).await?;
            return Err(if repeated(&sak) {
                ettersendelse_repeat(&nav_ekstern_ref_id, fiks_digisos_id)
            } else {
                refusal
            });
        }
    }
    let command = Ettersend {
        kommunenummer,
        innsender: fnr,
        nav_ekstern_ref_id: nav_ekstern_ref_id.clone(),
        vedlegg_metadata: upload.vedlegg.dokument_info("vedlegg.json"),
        vedlegg_spesifikasjon: upload.vedlegg.typed,
        vedlegg,
        leveranse_id: LeveranseId(Uuid::new_v4()),
        fiks_io: crate::fiksio::sending(state.fiks_io.as_ref(), konfigurasjon),
        tidspunkt: now(),
    };
    let executed = commands::execute::<SakAggregate>(
        &state.store,
        &sak_stream,
        command.into(),
        metadata(CallerKind::Citizen, &headers),
    )
    .await;
    let outcome = match executed {
        Ok(outcome) => outcome,
        Err(CommandError::Rejected(Rejection::Conflict { .. })) => {
            let (sak, _, _) = commands::load::<SakAggregate>(&state.store, &sak_stream).await?;
            if repeated(&sak) {
                return Err(ettersendelse_repeat(&nav_ekstern_ref_id, fiks_digisos_id));
            }
            return Err(ApiError::conflict(format!(
                "the ettersendelse conflicts with what case {fiks_digisos_id} holds"
            )));
        }
        Err(other) => return Err(other.into()),
    };
    taken_out(&state, &mellomlagring_stream, &stored, fiks_digisos_id, &headers).await;
    Ok(respond(StatusCode::ACCEPTED, outcome.position, ()))
}

/// A repeated v2 ettersendelse, as Nav's upload service recognises it (`finnes all…` in a 400).
fn ettersendelse_repeat(nav_ekstern_ref_id: &NavEksternRefId, fiks_digisos_id: FiksDigisosId) -> ApiError {
    ApiError::bad_request(format!(
        "Ettersendelse med navEksternRefId {nav_ekstern_ref_id} finnes allerede for DigisosId {fiks_digisos_id}"
    ))
    .with_code("ETTERSENDELSE_FINNES_ALLEREDE")
}

/// 400 unless `nav_ekstern_ref_id` is an ettersendelse reference of `sak`: its søknad's `navEksternRefId`, or for
/// a paper case its `fiksDigisosId`, followed by exactly four digits (Nav's counter, DOMAIN.md A.9). The files of
/// a v2 ettersendelse come from the mellomlagring of that reference, which must therefore be this case's.
fn ensure_ettersendelse_ref(sak: &Sak, nav_ekstern_ref_id: &NavEksternRefId) -> Result<(), ApiError> {
    let reference = nav_ekstern_ref_id.as_str();
    let id = sak.fiks_digisos_id().to_string();
    let base = sak.nav_ekstern_ref_id().map_or(id.as_str(), |r| r.as_str());
    let counter = reference.strip_prefix(base).or_else(|| reference.strip_prefix(id.as_str()));
    if counter.is_some_and(|c| c.len() == 4 && c.bytes().all(|b| b.is_ascii_digit())) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "path parameter navEksternRefId: an ettersendelse to case {id} is named by the søknad's navEksternRefId \
             (for a paper case the fiksDigisosId) followed by a 4-digit counter"
        )))
    }
}

/// Removes from mellomlagring the files the submission saw once they are in the case. A failure here leaves them
/// behind for the sweep; the submission itself is recorded, so the answer stays a success.
async fn taken_out(
    state: &AppState,
    stream: &StreamName,
    seen: &MellomlagringState,
    sak: FiksDigisosId,
    headers: &HeaderMap,
) {
    let fil_ids = seen.filer.iter().map(|f| f.fil_id).collect::<Vec<_>>();
    if fil_ids.is_empty() {
        return;
    }
    if let Err(err) = mellomlagring::ta_ut(state, stream, fil_ids, sak, headers).await {
        tracing::warn!(error = %err, "the mellomlagring of a sent søknad could not be emptied; the sweep will remove it");
    }
}

/// The case's documents for the listed files, taken from the mellomlagring: each listing takes the first file
/// not yet taken with its SHA-512 (its `filnavn` where it has none), under the listed name and a fresh
/// `dokumentlagerDokumentId`. Every listing that finds no file is a problem; any problem refuses the request.
fn take(
    listed: &[ListedFile],
    stored: &MellomlagringState,
    nav_ekstern_ref_id: &NavEksternRefId,
) -> Result<Vec<DokumentInfo>, ApiError> {
    let mut taken = vec![false; stored.filer.len()];
    let mut documents = Vec::with_capacity(listed.len());
    let mut problems = Vec::new();
    for listing in listed {
        let found = stored.filer.iter().enumerate().find(|(i, f)| {
            !taken[*i]
                && match &listing.sha512 {
                    Some(sha512) => f.sha512 == *sha512,
                    None => f.filnavn == listing.filnavn,
                }
        });
        match found {
            Some((i, fil)) => {
                taken[i] = true;
                let blob = StoredBlob { sha512: fil.sha512.clone(), size: fil.storrelse };
                documents.push(blob.dokument_info(listing.filnavn.clone(), fil.mimetype.clone()));
            }
            None => problems.push(Problem {
                path: format!("{}.{}", listing.path, if listing.sha512.is_some() { "sha512" } else { "filnavn" }),
                message: format!(
                    "is listed, but no file with this {} is in the mellomlagring of navEksternRefId {nav_ekstern_ref_id}",
                    if listing.sha512.is_some() { "sha512" } else { "filnavn" }
                ),
            }),
        }
    }
    if problems.is_empty() {
        Ok(documents)
    } else {
        Err(ApiError::invalid_document(
            "files listed in vedlegg.json are neither in the request nor in the mellomlagring of its navEksternRefId",
            problems,
        ))
    }
}
