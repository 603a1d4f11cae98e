//! The fagsystem's status updates: the whole `digisos-soker.json`, diffed into events, and its deletion.
//!
//! Fiks keeps only the latest file (DOMAIN.md G.1); the hub keeps the history instead, by recording what
//! each re-sent file changed (issue 4 item 8). Each hendelse is identified by the [`Fingerprint`] of its
//! canonical JSON, and the file's hendelser are compared with the recorded ones as a *multiset*:
//! - a fingerprint with more copies in the file than recorded gives one `HendelseRegistrert` per new copy,
//!   in file order;
//! - one with fewer copies gives one `HendelseFjernet` per lost copy, highest copy first;
//! - the order of the hendelser in the file is not content (readers order them by `hendelsestidspunkt`),
//!   so a reordered file changes nothing.
//!
//! `DigisosSokerOppdatert` follows when a hendelse changed or the envelope (`version`, `avsender`) did; so
//! the same file twice appends nothing at all.
//!
//! Deleting the status updates (`DELETE /{fiksOrgId}/{digisosId}`) empties the recorded hendelser and the
//! envelope but keeps the case and its files; the next update is again a "first" one and must contain
//! `soknadsStatus` MOTTATT.

use std::collections::BTreeMap;

use digisos_schema::digisos_soker::{Avsender, Hendelse, HendelseData, SoknadsStatusVerdi};
use digisos_schema::events::{
    DigisosSokerOppdatert, Fingerprint, HendelseFjernet, HendelseRegistrert, SakEvent, StatusoppdateringerSlettet,
};
use digisos_schema::validate::Problem;
use serde::Deserialize;
use serde_json::Value;

use super::command::{DeleteCase, UpdateDigisosSoker};
use super::existing_sak;
use super::referanser::dokumentlager_referanser;
use super::rejection::{Rejection, problem};
use super::state::{Sak, SakState};

const NOT_A_UUID: &str = "must be a dokumentlager id (a UUID)";

/// The envelope fields of the file.
#[derive(Deserialize)]
struct Konvolutt {
    version: String,
    avsender: Avsender,
}

/// One hendelse of the incoming file.
struct Innkommende<'a> {
    fingerprint: Fingerprint,
    json: &'a Value,
    hendelse: Hendelse,
}

pub(super) fn update(state: &SakState, command: UpdateDigisosSoker) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, Some(command.fiks_org_id))?;
    let (konvolutt, hendelser) = parse(&command.dokument)?;

    let mut problems = missing_files(sak, &hendelser);
    if sak.digisos_soker.is_none() && !hendelser.iter().any(|h| is_mottatt(&h.hendelse)) {
        problems.push(problem(
            "$.hendelser",
            "the first update of a case must contain a soknadsStatus hendelse with status MOTTATT",
        ));
    }
    if !problems.is_empty() {
        return Err(Rejection::invalid("the digisos-soker.json breaks the rules of the case", problems));
    }

    let mut events = diff(sak, &hendelser);
    let envelope_changed = sak
        .digisos_soker
        .as_ref()
        .is_none_or(|current| current.version != konvolutt.version || current.avsender != konvolutt.avsender);
    if !events.is_empty() || envelope_changed {
        events.push(SakEvent::DigisosSokerOppdatert(DigisosSokerOppdatert {
            metadata: command.metadata,
            version: konvolutt.version,
            avsender: konvolutt.avsender,
            antall_hendelser: u32::try_from(hendelser.len()).unwrap_or(u32::MAX),
            tidspunkt: command.tidspunkt,
        }));
    }
    Ok(events)
}

pub(super) fn delete_case(state: &SakState, command: DeleteCase) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, Some(command.fiks_org_id))?;
    if sak.digisos_soker.is_none() && sak.hendelser.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![SakEvent::StatusoppdateringerSlettet(StatusoppdateringerSlettet {
        antall_hendelser: u32::try_from(sak.antall_hendelser()).unwrap_or(u32::MAX),
        tidspunkt: command.tidspunkt,
    })])
}

/// Reads the envelope and each hendelse; every unreadable part is a problem at its path.
fn parse(dokument: &Value) -> Result<(Konvolutt, Vec<Innkommende<'_>>), Rejection> {
    let refuse = |problems| Rejection::invalid("the digisos-soker.json cannot be read", problems);
    let konvolutt = Konvolutt::deserialize(dokument)
        .map_err(|e| refuse(vec![problem("$", format!("is not a digisos-soker.json envelope: {e}"))]))?;
    let Some(raw) = dokument.get("hendelser").and_then(Value::as_array) else {
        return Err(refuse(vec![problem("$.hendelser", "must be a list of hendelser")]));
    };
    let mut hendelser = Vec::with_capacity(raw.len());
    let mut problems = Vec::new();
    for (i, json) in raw.iter().enumerate() {
        match Hendelse::deserialize(json) {
            Ok(hendelse) => hendelser.push(Innkommende { fingerprint: Fingerprint::of_json(json), json, hendelse }),
            Err(e) => {
                // A malformed file reference is the usual cause; name its own path when it is.
                let path = format!("$.hendelser[{i}]");
                let bad: Vec<_> =
                    dokumentlager_referanser(json, &path).into_iter().filter(|r| r.id.is_none()).collect();
                if bad.is_empty() {
                    problems.push(problem(path, format!("is not a valid hendelse: {e}")));
                }
                problems.extend(bad.into_iter().map(|r| problem(r.path, NOT_A_UUID)));
            }
        }
    }
    if problems.is_empty() { Ok((konvolutt, hendelser)) } else { Err(refuse(problems)) }
}

fn is_mottatt(hendelse: &Hendelse) -> bool {
    matches!(&hendelse.data, HendelseData::SoknadsStatus(s) if s.status == SoknadsStatusVerdi::Mottatt)
}

/// A problem for every `dokumentlager` reference that is not a live document of this case.
fn missing_files(sak: &Sak, hendelser: &[Innkommende<'_>]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (i, h) in hendelser.iter().enumerate() {
        for referanse in dokumentlager_referanser(h.json, &format!("$.hendelser[{i}]")) {
            match referanse.id {
                None => problems.push(problem(referanse.path, NOT_A_UUID)),
                Some(id) => match sak.dokumenter.get(&id) {
                    Some(dokument) if !dokument.slettet => {}
                    Some(_) => problems.push(problem(referanse.path, format!("file {id} was deleted from this case"))),
                    None => problems.push(problem(
                        referanse.path,
                        format!("file {id} is not uploaded to this case; upload it to /filer first"),
                    )),
                },
            }
        }
    }
    problems
}

/// The `HendelseFjernet` and `HendelseRegistrert` events that turn the recorded multiset into the file's.
fn diff(sak: &Sak, hendelser: &[Innkommende<'_>]) -> Vec<SakEvent> {
    let recorded = |f: &Fingerprint| sak.hendelser.get(f).map_or(0, Vec::len);
    let mut in_file: BTreeMap<&Fingerprint, usize> = BTreeMap::new();
    let mut added = Vec::new();
    for h in hendelser {
        let copy = in_file.entry(&h.fingerprint).or_insert(0);
        if *copy >= recorded(&h.fingerprint) {
            added.push(SakEvent::HendelseRegistrert(HendelseRegistrert {
                fingerprint: h.fingerprint.clone(),
                forekomst: u32::try_from(*copy).unwrap_or(u32::MAX),
                hendelse: h.json.clone(),
            }));
        }
        *copy += 1;
    }
    let mut events = Vec::new();
    for (fingerprint, copies) in &sak.hendelser {
        let keep = in_file.get(fingerprint).copied().unwrap_or(0);
        for copy in (keep..copies.len()).rev() {
            events.push(SakEvent::HendelseFjernet(HendelseFjernet {
                fingerprint: fingerprint.clone(),
                forekomst: u32::try_from(copy).unwrap_or(u32::MAX),
            }));
        }
    }
    events.extend(added);
    events
}
