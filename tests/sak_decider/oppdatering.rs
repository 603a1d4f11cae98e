//! UpdateDigisosSoker (the diff of the whole file) and DeleteCase (the status updates).

use digisos_schema::events::SakEvent;
use fiks_digisos::sak::{DeleteCase, DeleteFiles};
use serde_json::{Value, json};
use uuid::Uuid;

use super::support::*;

fn registrert(events: &[SakEvent]) -> Vec<(Value, u32)> {
    let pick = |e: &SakEvent| match e {
        SakEvent::HendelseRegistrert(h) => Some((h.hendelse.clone(), h.forekomst)),
        _ => None,
    };
    events.iter().filter_map(pick).collect()
}

fn fjernet(events: &[SakEvent]) -> Vec<u32> {
    let pick = |e: &SakEvent| match e {
        SakEvent::HendelseFjernet(h) => Some(h.forekomst),
        _ => None,
    };
    events.iter().filter_map(pick).collect()
}

fn uten_hendelse(mut dokument: Value, indeks: usize) -> Value {
    if let Some(list) = dokument["hendelser"].as_array_mut() {
        list.remove(indeks);
    }
    dokument
}

#[test]
fn first_update_records_every_hendelse_of_komplett_then_the_envelope() {
    let events = when(&med_komplett_filer(), oppdatering(komplett())).expect("accepted");
    assert_eq!(events.len(), 19);
    let hendelser = registrert(&events);
    assert_eq!(hendelser.len(), 18);
    assert_eq!(hendelser[0], (komplett()["hendelser"][0].clone(), 0), "file order, all as sent");
    let Some(SakEvent::DigisosSokerOppdatert(envelope)) = events.last() else { panic!("envelope last") };
    assert_eq!(envelope.antall_hendelser, 18);
    assert_eq!(envelope.version, "1.0.0");
    assert_eq!(envelope.avsender.systemnavn, "Testsystemet");
    assert_eq!(envelope.metadata, dok(100, "digisos-soker.json"));
    assert_eq!(envelope.tidspunkt, t(60));
}

#[test]
fn same_file_again_appends_nothing() {
    assert_eq!(when(&med_komplett(), oppdatering(komplett())), Ok(vec![]));
}

#[test]
fn reordered_file_appends_nothing() {
    let mut reversed = komplett();
    if let Some(list) = reversed["hendelser"].as_array_mut() {
        list.reverse();
    }
    assert_eq!(when(&med_komplett(), oppdatering(reversed)), Ok(vec![]));
}

#[test]
fn reformatted_hendelse_with_the_same_values_appends_nothing() {
    let mut respelled = komplett();
    assert_eq!(respelled["hendelser"][10]["belop"], json!(5000.0));
    respelled["hendelser"][10]["belop"] = json!(5000);
    let text = serde_json::to_string_pretty(&respelled).expect("json");
    let reparsed: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(when(&med_komplett(), oppdatering(reparsed)), Ok(vec![]));
}

#[test]
fn one_added_hendelse_appends_only_it_and_the_envelope() {
    let mut more = komplett();
    let ny = json!({"type": "soknadsStatus", "hendelsestidspunkt": "2018-10-20T10:00:00.000Z", "status": "UNDER_BEHANDLING"});
    more["hendelser"].as_array_mut().expect("list").insert(3, ny.clone());
    let events = when(&med_komplett(), oppdatering(more)).expect("accepted");
    assert_eq!(types(&events), ["HendelseRegistrert.v1", "DigisosSokerOppdatert.v1"]);
    assert_eq!(registrert(&events), [(ny, 0)]);
}

#[test]
fn one_removed_hendelse_appends_only_its_removal_and_the_envelope() {
    let events = when(&med_komplett(), oppdatering(uten_hendelse(komplett(), 12))).expect("accepted");
    assert_eq!(types(&events), ["HendelseFjernet.v1", "DigisosSokerOppdatert.v1"]);
    let SakEvent::HendelseFjernet(removed) = &events[0] else { panic!("removal") };
    assert_eq!(removed.fingerprint, digisos_schema::events::Fingerprint::of_json(&komplett()["hendelser"][12]));
    let SakEvent::DigisosSokerOppdatert(envelope) = &events[1] else { panic!("envelope") };
    assert_eq!(envelope.antall_hendelser, 17);
}

#[test]
fn changed_hendelse_is_one_removal_and_one_registration() {
    let mut changed = komplett();
    changed["hendelser"][3]["status"] = json!("FERDIGBEHANDLET");
    let events = when(&med_komplett(), oppdatering(changed)).expect("accepted");
    assert_eq!(types(&events), ["HendelseFjernet.v1", "HendelseRegistrert.v1", "DigisosSokerOppdatert.v1"]);
}

#[test]
fn identical_hendelser_in_one_file_are_recorded_as_numbered_copies() {
    let mottatt = komplett()["hendelser"][0].clone();
    let fil = |copies: usize| {
        let mut doc = resource("digisos/soker/minimal.json");
        doc["hendelser"] = Value::Array(vec![mottatt.clone(); copies]);
        oppdatering(doc)
    };
    let to = when(&soknad_mottatt(), fil(2)).expect("two copies");
    assert_eq!(registrert(&to), [(mottatt.clone(), 0), (mottatt.clone(), 1)]);
    let history = then_given(&soknad_mottatt(), fil(2));

    let en = when(&history, fil(1)).expect("one copy");
    assert_eq!(types(&en), ["HendelseFjernet.v1", "DigisosSokerOppdatert.v1"]);
    assert_eq!(fjernet(&en), [1], "the highest copy goes");
    let history = then_given(&history, fil(1));
    assert_eq!(when(&history, fil(1)), Ok(vec![]));

    let tre = when(&history, fil(3)).expect("three copies");
    assert_eq!(registrert(&tre), [(mottatt.clone(), 1), (mottatt, 2)]);
}

#[test]
fn changed_envelope_alone_appends_only_the_envelope() {
    let mut newer = komplett();
    newer["avsender"]["systemversjon"] = json!("2.0.0");
    let events = when(&med_komplett(), oppdatering(newer)).expect("accepted");
    assert_eq!(types(&events), ["DigisosSokerOppdatert.v1"]);
}

#[test]
fn first_update_without_mottatt_is_invalid_at_hendelser() {
    let rejection = when(&med_komplett_filer(), oppdatering(uten_hendelse(komplett(), 0))).expect_err("invalid");
    assert_eq!(rejection.status(), 400);
    assert_eq!(paths(&rejection), ["$.hendelser"]);
    assert!(rejection.problems()[0].message.contains("MOTTATT"));
}

#[test]
fn later_update_need_not_repeat_mottatt() {
    let events = when(&med_komplett(), oppdatering(uten_hendelse(komplett(), 0))).expect("accepted");
    assert_eq!(types(&events), ["HendelseFjernet.v1", "DigisosSokerOppdatert.v1"]);
}

#[test]
fn update_referencing_files_not_on_the_case_names_each_reference_by_path() {
    let rejection = when(&soknad_mottatt(), oppdatering(komplett())).expect_err("invalid");
    assert_eq!(rejection.status(), 400);
    let mut found = paths(&rejection);
    found.sort_unstable();
    assert_eq!(
        found,
        [
            "$.hendelser[4].forvaltningsbrev.referanse.id",
            "$.hendelser[4].vedlegg[0].referanse.id",
            "$.hendelser[5].forvaltningsbrev.referanse.id",
            "$.hendelser[5].vedlegg[0].referanse.id",
            "$.hendelser[6].vedlegg[0].referanse.id",
            "$.hendelser[6].vedtaksfil.referanse.id",
        ]
    );
    assert!(rejection.problems()[0].message.contains("12345678-9abc-def0-1234-56789abcde"), "names the id");
}

#[test]
fn update_referencing_a_deleted_file_is_invalid() {
    let vedtak = Uuid::parse_str(KOMPLETT_FILER[4]).expect("uuid");
    let delete = DeleteFiles { fiks_org_id: org(), fil_ider: vec![vedtak], tidspunkt: t(50) };
    let history = then_given(&med_komplett_filer(), delete);
    let rejection = when(&history, oppdatering(komplett())).expect_err("invalid");
    let mut found = paths(&rejection);
    found.sort_unstable();
    assert_eq!(found, ["$.hendelser[6].vedlegg[0].referanse.id", "$.hendelser[6].vedtaksfil.referanse.id"]);
}

#[test]
fn update_may_reference_files_nav_sent_with_the_soknad() {
    let mut doc = resource("digisos/soker/minimal.json");
    let husleie = dok(4, "husleie.pdf").dokumentlager_dokument_id.to_string();
    doc["hendelser"].as_array_mut().expect("list").push(json!({
        "type": "forelopigSvar", "hendelsestidspunkt": "2018-10-12T07:37:00.134Z",
        "forvaltningsbrev": {"referanse": {"type": "dokumentlager", "id": husleie}}
    }));
    assert_eq!(when(&soknad_mottatt(), oppdatering(doc)).map(|e| e.len()), Ok(3));
}

#[test]
fn update_with_an_unreadable_hendelse_names_its_path() {
    let mut doc = komplett();
    doc["hendelser"][2]["hendelsestidspunkt"] = json!("2018-13-04T13:42:00.134Z");
    let rejection = when(&med_komplett_filer(), oppdatering(doc)).expect_err("invalid");
    assert_eq!(paths(&rejection), ["$.hendelser[2]"]);
}

#[test]
fn update_with_a_dokumentlager_id_that_is_not_a_uuid_is_invalid_at_the_id() {
    let mut doc = komplett();
    doc["hendelser"][6]["vedtaksfil"]["referanse"]["id"] = json!("vedtak-1");
    let rejection = when(&med_komplett_filer(), oppdatering(doc)).expect_err("invalid");
    assert_eq!(paths(&rejection), ["$.hendelser[6].vedtaksfil.referanse.id"]);
}

#[test]
fn delete_case_removes_the_status_updates_and_keeps_the_files() {
    let delete = DeleteCase { fiks_org_id: org(), tidspunkt: t(70) };
    let events = when(&med_komplett(), delete.clone()).expect("accepted");
    assert_eq!(types(&events), ["StatusoppdateringerSlettet.v1"]);
    let SakEvent::StatusoppdateringerSlettet(e) = &events[0] else { panic!("deleted") };
    assert_eq!(e.antall_hendelser, 18);
    let history = then_given(&med_komplett(), delete);
    let vedtak = Uuid::parse_str(KOMPLETT_FILER[4]).expect("uuid");
    let delete_file = DeleteFiles { fiks_org_id: org(), fil_ider: vec![vedtak], tidspunkt: t(80) };
    assert_eq!(types(&when(&history, delete_file).expect("no longer referenced")), ["DokumentSlettet.v1"]);
}

#[test]
fn delete_case_without_status_updates_appends_nothing() {
    let delete = DeleteCase { fiks_org_id: org(), tidspunkt: t(70) };
    assert_eq!(when(&soknad_mottatt(), delete.clone()), Ok(vec![]));
    let deleted = then_given(&med_komplett(), delete.clone());
    assert_eq!(when(&deleted, delete), Ok(vec![]), "deleting twice");
}

#[test]
fn after_delete_case_the_next_update_is_a_first_one_again() {
    let deleted = then_given(&med_komplett(), DeleteCase { fiks_org_id: org(), tidspunkt: t(70) });
    let rejection = when(&deleted, oppdatering(uten_hendelse(komplett(), 0))).expect_err("needs MOTTATT");
    assert_eq!(paths(&rejection), ["$.hendelser"]);
    assert_eq!(when(&deleted, oppdatering(komplett())).map(|e| e.len()), Ok(19));
}
