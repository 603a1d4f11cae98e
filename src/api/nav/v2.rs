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
