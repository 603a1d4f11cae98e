//! The fagsystem's own files on a case: upload (`POST …/filer`) and delete (`DELETE …/filer?filIder=…`).
//!
//! Files are uploaded before an update references them (DOMAIN.md A.4), and may be deleted only when the
//! current `digisos-soker.json` no longer references them ("to drop a file, first post an update without it,
//! then delete the file"). Files Nav sent with a søknad or an ettersendelse are the citizen's and are never
//! deleted through this path.
//!
//! Both commands are safe to retry: uploading the same file under the same id again, or deleting a file
//! already deleted, appends nothing. Problems name each file by its place in the request (`$.filer[1]`,
//! `$.filIder[0]`), so a caller that sent many learns about all of them at once.

use std::collections::BTreeSet;

use digisos_schema::events::{DokumentLastetOpp, DokumentSlettet, SakEvent};
use uuid::Uuid;

use super::command::{DeleteFiles, UploadFiles};
use super::existing_sak;
use super::referanser::dokumentlager_referanser;
use super::rejection::{Rejection, problem};
use super::state::{Kilde, SakState};

pub(super) fn upload(state: &SakState, command: UploadFiles) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, Some(command.fiks_org_id))?;
    if command.filer.is_empty() {
        return Err(Rejection::invalid("an upload must carry at least one file", Vec::new()));
    }
    let mut problems = Vec::new();
    let mut conflicts = Vec::new();
    let mut seen = BTreeSet::new();
    let mut events = Vec::new();
    for (i, info) in command.filer.iter().enumerate() {
        let id = info.dokumentlager_dokument_id;
        if info.filnavn.trim().is_empty() {
            problems.push(problem(format!("$.filer[{i}].filnavn"), "must not be blank"));
        }
        if info.mimetype.trim().is_empty() {
            problems.push(problem(format!("$.filer[{i}].mimetype"), "must not be blank"));
        }
        if !seen.insert(id) {
            problems.push(problem(format!("$.filer[{i}].dokumentlagerDokumentId"), format!("{id} is used twice")));
            continue;
        }
        match sak.dokumenter.get(&id) {
            None => events.push(SakEvent::DokumentLastetOpp(DokumentLastetOpp {
                dokument: info.clone(),
                tidspunkt: command.tidspunkt.clone(),
            })),
            // The same upload again (a retry): already recorded.
            Some(d) if d.kilde == Kilde::Fagsystem && !d.slettet && d.info == *info => {}
            Some(_) => conflicts.push(problem(
                format!("$.filer[{i}].dokumentlagerDokumentId"),
                format!("{id} is already used on this case for another file"),
            )),
        }
    }
    if !problems.is_empty() {
        return Err(Rejection::invalid("the uploaded files are not described correctly", problems));
    }
    if !conflicts.is_empty() {
        return Err(Rejection::Conflict {
            message: "a file id is already used on this case".into(),
            existing: None,
            problems: conflicts,
        });
    }
    Ok(events)
}

pub(super) fn delete(state: &SakState, command: DeleteFiles) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, Some(command.fiks_org_id))?;
    if command.fil_ider.is_empty() {
        return Err(Rejection::invalid("filIder must name at least one file", vec![problem("$.filIder", "is empty")]));
    }
    let referenced: BTreeSet<Uuid> = sak
        .hendelser()
        .flat_map(|(_, hendelse)| dokumentlager_referanser(hendelse, "$"))
        .filter_map(|referanse| referanse.id)
        .collect();
    let (mut unknown, mut navs, mut in_use) = (Vec::new(), Vec::new(), Vec::new());
    let mut events = Vec::new();
    let mut seen = BTreeSet::new();
    for (i, id) in command.fil_ider.iter().copied().enumerate() {
        let path = format!("$.filIder[{i}]");
        match sak.dokumenter.get(&id) {
            _ if !seen.insert(id) => {}
            None => unknown.push(problem(path, format!("file {id} is not on this case"))),
            Some(d) if d.kilde == Kilde::Nav => navs.push(id.to_string()),
            Some(d) if d.slettet => {}
            Some(_) if referenced.contains(&id) => in_use.push(problem(
                path,
                format!("file {id} is referenced by the current digisos-soker.json; post an update without it first"),
            )),
            Some(_) => events.push(SakEvent::DokumentSlettet(DokumentSlettet {
                dokumentlager_dokument_id: id,
                tidspunkt: command.tidspunkt.clone(),
            })),
        }
    }
    if !unknown.is_empty() {
        return Err(Rejection::NotFound { message: "some files are not on this case".into(), problems: unknown });
    }
    if !navs.is_empty() {
        return Err(Rejection::forbidden(format!(
            "files sent by Nav belong to the søker and cannot be deleted: {}",
            navs.join(", ")
        )));
    }
    if !in_use.is_empty() {
        return Err(Rejection::Conflict {
            message: "some files are still referenced by the current digisos-soker.json".into(),
            existing: None,
            problems: in_use,
        });
    }
    Ok(events)
}
