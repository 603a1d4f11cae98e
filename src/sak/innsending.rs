//! What Nav and the kommune send to create or add to a case: a søknad, an ettersendelse, a paper case.
//!
//! Idempotency is on Nav's `navEksternRefId` (DESIGN.md "Write side"): the same key with the same content is
//! answered as before and appends nothing; the same key with other content is a 409 naming the case. "Same
//! content" is a [`Fingerprint`] over the canonical documents and the files' names, types, sizes and
//! SHA-512, but not over ids the shell mints per attempt or the time, so a retry matches its original.
//!
//! For a søknad the key must lead the shell to the right stream before anything is recorded, so the case
//! id is derived from the key ([`sak_id_for_soknad`]): a retry, even a concurrent one, lands on the same
//! stream, where the first append wins (`ExpectedRevision::NoStream`) and the loser re-decides to "no
//! events" or 409. No lookup table can go stale, and no second case can appear for one key.

use std::collections::BTreeSet;

use digisos_schema::events::{
    DokumentInfo, EttersendelseMottatt, Fingerprint, LeveranseOpprettet, Leveransetype, PapirsakOpprettet, SakEvent,
    SoknadMottatt,
};
use digisos_schema::types::{FiksDigisosId, NavEksternRefId};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::command::{CreatePapersak, Ettersend, SubmitSoknad};
use super::existing_sak;
use super::rejection::{Rejection, problem};
use super::state::{Sak, SakState};

/// The case id of the søknad with this `navEksternRefId`: the first 16 bytes of SHA-256 over a fixed label
/// and the key, as a version-8 ("custom") UUID. Stable across processes and releases.
pub fn sak_id_for_soknad(nav_ekstern_ref_id: &NavEksternRefId) -> FiksDigisosId {
    let digest = Sha256::new()
        .chain_update(b"fiks-digisos/soknad/navEksternRefId\0")
        .chain_update(nav_ekstern_ref_id.as_str().as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    FiksDigisosId::from_uuid(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// The fingerprint of a submitted søknad: where it goes, its documents, and its files' contents.
pub fn soknad_fingerprint(command: &SubmitSoknad) -> Fingerprint {
    Fingerprint::of_json(&json!({
        "kommunenummer": command.kommunenummer,
        "enhetsnummer": command.enhetsnummer,
        "soknad": command.soknad.dokument,
        "vedlegg": serde_json::to_value(&command.vedlegg_spesifikasjon).unwrap_or(Value::Null),
        "filer": std::iter::once(&command.soknad_dokument).chain(&command.vedlegg).map(fil_innhold).collect::<Vec<_>>(),
    }))
}

/// The fingerprint of an ettersendelse: its `vedlegg.json` and its files' contents.
pub fn ettersendelse_fingerprint(command: &Ettersend) -> Fingerprint {
    Fingerprint::of_json(&json!({
        "kommunenummer": command.kommunenummer,
        "vedlegg": serde_json::to_value(&command.vedlegg_spesifikasjon).unwrap_or(Value::Null),
        "filer": command.vedlegg.iter().map(fil_innhold).collect::<Vec<_>>(),
    }))
}

/// What identifies a file's content (not its id, which is minted per attempt).
fn fil_innhold(info: &DokumentInfo) -> Value {
    json!({"filnavn": info.filnavn, "mimetype": info.mimetype, "storrelse": info.storrelse, "sha512": info.sha512})
}

pub(super) fn submit(state: &SakState, command: SubmitSoknad) -> Result<Vec<SakEvent>, Rejection> {
    if command.soknad.person_identifikator != command.soker_fnr.expose() {
        return Err(Rejection::forbidden(
            "the søknad's personIdentifikator ($.data.personalia.personIdentifikator.verdi) is not the logged-in citizen",
        ));
    }
    let mottaker = command.soknad.mottaker.kommunenummer.as_deref().unwrap_or_default();
    if !mottaker.is_empty() && mottaker != command.kommunenummer.as_str() {
        return Err(Rejection::invalid(
            "the søknad is addressed to another kommune than the request path",
            vec![problem(
                "$.mottaker.kommunenummer",
                format!("is {mottaker:?}, but the søknad was sent to kommune {}", command.kommunenummer),
            )],
        ));
    }
    // Ownership before idempotency: an identical søknad sent by someone else must not learn the case id.
    let fingerprint = soknad_fingerprint(&command);
    match state {
        SakState::Slettet { fiks_digisos_id } => {
            return Err(Rejection::Gone {
                message: format!("case {fiks_digisos_id} of this søknad has been deleted")
            });
        }
        SakState::Aktiv(sak) => return resubmitted(sak, &command.nav_ekstern_ref_id, &fingerprint),
        SakState::Ny => {}
    }
    let all = [&command.soknad_metadata, &command.vedlegg_metadata, &command.soknad_dokument];
    distinct_ids(all.into_iter().chain(&command.vedlegg), None)?;
    Ok(vec![
        SakEvent::SoknadMottatt(Box::new(SoknadMottatt {
            fiks_digisos_id: command.fiks_digisos_id,
            kommunenummer: command.kommunenummer,
            fiks_org_id: command.fiks_org_id,
            nav_ekstern_ref_id: command.nav_ekstern_ref_id.clone(),
            soker_fnr: command.soker_fnr,
            enhetsnummer: command.enhetsnummer,
            metadata: command.soknad_metadata,
            vedlegg_metadata: command.vedlegg_metadata,
            vedlegg_spesifikasjon: command.vedlegg_spesifikasjon,
            soknad_dokument: command.soknad_dokument,
            vedlegg: command.vedlegg,
            timestamp_sendt: command.tidspunkt.clone(),
            fingerprint,
        })),
        SakEvent::LeveranseOpprettet(LeveranseOpprettet {
            leveranse_id: command.leveranse_id,
            leveransetype: Leveransetype::Soknad,
            nav_ekstern_ref_id: command.nav_ekstern_ref_id,
            fiks_org_id: command.fiks_org_id,
            tidspunkt: command.tidspunkt,
            fiks_io: command.fiks_io,
        }),
    ])
}

/// A søknad for a stream that already holds a case: the same one again, or a conflict.
fn resubmitted(sak: &Sak, key: &NavEksternRefId, fingerprint: &Fingerprint) -> Result<Vec<SakEvent>, Rejection> {
    let existing = sak.fiks_digisos_id;
    match &sak.soknad {
        Some((recorded_key, recorded)) if recorded_key == key && recorded == fingerprint => Ok(Vec::new()),
        Some((recorded_key, _)) if recorded_key == key => Err(Rejection::Conflict {
            message: format!(
                "a søknad with navEksternRefId {key} already exists with other content: fiksDigisosId {existing}"
            ),
            existing: Some(existing),
            problems: Vec::new(),
        }),
        _ => Err(Rejection::Conflict {
            message: format!("fiksDigisosId {existing} is already in use by another case"),
            existing: Some(existing),
            problems: Vec::new(),
        }),
    }
}

pub(super) fn ettersend(state: &SakState, command: Ettersend) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, None)?;
    let id = sak.fiks_digisos_id;
    if command.innsender != sak.soker_fnr {
        return Err(Rejection::forbidden(format!("case {id} is not the logged-in citizen's")));
    }
    if command.kommunenummer != sak.kommunenummer {
        return Err(Rejection::not_found(format!("kommune {} has no case {id}", command.kommunenummer)));
    }
    let key = &command.nav_ekstern_ref_id;
    let fingerprint = ettersendelse_fingerprint(&command);
    let conflict = |what: &str| Rejection::Conflict {
        message: format!("navEksternRefId {key} {what} of case {id}"),
        existing: Some(id),
        problems: Vec::new(),
    };
    if sak.nav_ekstern_ref_id() == Some(key) {
        return Err(conflict("is the søknad's own reference"));
    }
    match sak.ettersendelser.get(key) {
        Some(recorded) if *recorded == fingerprint => return Ok(Vec::new()),
        Some(_) => return Err(conflict("is already used by an ettersendelse with other content")),
        None => {}
    }
    if command.vedlegg.is_empty() {
        return Err(Rejection::invalid("an ettersendelse must carry at least one file", Vec::new()));
    }
    distinct_ids(std::iter::once(&command.vedlegg_metadata).chain(&command.vedlegg), Some(sak))?;
    Ok(vec![
        SakEvent::EttersendelseMottatt(EttersendelseMottatt {
            nav_ekstern_ref_id: command.nav_ekstern_ref_id.clone(),
            vedlegg_metadata: command.vedlegg_metadata,
            vedlegg_spesifikasjon: command.vedlegg_spesifikasjon,
            vedlegg: command.vedlegg,
            timestamp_sendt: command.tidspunkt.clone(),
            fingerprint,
        }),
        SakEvent::LeveranseOpprettet(LeveranseOpprettet {
            leveranse_id: command.leveranse_id,
            leveransetype: Leveransetype::Ettersendelse,
            nav_ekstern_ref_id: command.nav_ekstern_ref_id,
            fiks_org_id: sak.fiks_org_id,
            tidspunkt: command.tidspunkt,
            fiks_io: command.fiks_io,
        }),
    ])
}

pub(super) fn create_papersak(state: &SakState, command: CreatePapersak) -> Result<Vec<SakEvent>, Rejection> {
    match state {
        SakState::Ny => Ok(vec![SakEvent::PapirsakOpprettet(PapirsakOpprettet {
            fiks_digisos_id: command.fiks_digisos_id,
            kommunenummer: command.kommunenummer,
            fiks_org_id: command.fiks_org_id,
            soker_fnr: command.soker_fnr,
            tidspunkt: command.tidspunkt,
        })]),
        SakState::Aktiv(sak) => Err(Rejection::Conflict {
            message: format!("fiksDigisosId {} is already in use by another case", sak.fiks_digisos_id),
            existing: Some(sak.fiks_digisos_id),
            problems: Vec::new(),
        }),
        SakState::Slettet { fiks_digisos_id } => {
            Err(Rejection::Gone { message: format!("case {fiks_digisos_id} has been deleted") })
        }
    }
}

/// Refuses documents whose ids repeat within the request or are already used on the case: each stored
/// document needs its own id, or one could not be deleted or referenced without the other. Problems are at
/// `$.dokumenter[i]`, `i` counting the request's documents in order: for a søknad `soknad.json`,
/// `vedlegg.json`, the søknad PDF, then the files; for an ettersendelse `vedlegg.json`, then the files.
fn distinct_ids<'a>(documents: impl Iterator<Item = &'a DokumentInfo>, sak: Option<&Sak>) -> Result<(), Rejection> {
    let mut seen = BTreeSet::new();
    let mut problems = Vec::new();
    for (i, info) in documents.enumerate() {
        let id = info.dokumentlager_dokument_id;
        let used = sak.is_some_and(|sak| sak.dokumenter.contains_key(&id));
        if !seen.insert(id) || used {
            problems.push(problem(format!("$.dokumenter[{i}].dokumentlagerDokumentId"), format!("{id} is used twice")));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Rejection::invalid("each document needs its own dokumentlagerDokumentId", problems))
    }
}
