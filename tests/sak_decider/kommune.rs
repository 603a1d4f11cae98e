//! The kommune configuration Decider and its "can it receive now" questions.

use digisos_schema::Orgnr;
use digisos_schema::events::{KommuneEvent, KommuneKonfigurasjon, Kontaktpersoner};
use digisos_schema::types::Enhetsnummer;
use fiks_digisos::sak::{
    Configure, KommuneCommand, KommuneRefusal, KommuneState, Rejection, decide_kommune, evolve_kommune,
};

use super::support::*;

fn konfig() -> KommuneKonfigurasjon {
    KommuneKonfigurasjon {
        fiks_org_id: org(),
        fagsystem_orgnr: vec![Orgnr::parse("958935420").expect("orgnr")],
        nav_enheter: vec![enhet("0314"), enhet("0315")],
        kan_motta_soknader: true,
        kan_oppdatere_status: true,
        har_midlertidig_deaktivert_mottak: false,
        har_midlertidig_deaktivert_oppdateringer: false,
        har_nks_tilgang: true,
        kontaktpersoner: Kontaktpersoner {
            fagansvarlig_epost: vec!["fag@oslo.kommune.no".into()],
            teknisk_ansvarlig_epost: vec![],
        },
        behandlingsansvarlig: None,
        fiks_io_konto_id: None,
        fiks_io_sertifikat: None,
        fiks_io_integrasjon: None,
    }
}

fn enhet(text: &str) -> Enhetsnummer {
    Enhetsnummer::parse(text).expect("enhet")
}

fn configure(konfigurasjon: KommuneKonfigurasjon) -> KommuneCommand {
    KommuneCommand::Configure(Configure { kommunenummer: kommune(), konfigurasjon, tidspunkt: t(0) })
}

fn state_with(konfigurasjon: KommuneKonfigurasjon) -> KommuneState {
    let events = decide_kommune(&KommuneState::default(), configure(konfigurasjon)).expect("configured");
    events.iter().fold(KommuneState::default(), evolve_kommune)
}

#[test]
fn configuring_a_new_kommune_records_the_whole_configuration() {
    let events = decide_kommune(&KommuneState::default(), configure(konfig())).expect("configured");
    let [KommuneEvent::KommuneKonfigurert(e)] = events.as_slice() else { panic!("one event") };
    assert_eq!((e.kommunenummer, &e.konfigurasjon), (kommune(), &konfig()));
    let data = events[0].data().expect("json");
    assert_eq!(KommuneEvent::decode(events[0].event_type(), &data).ok().as_ref(), Some(&events[0]));
}

#[test]
fn configuring_the_same_again_appends_nothing() {
    assert_eq!(decide_kommune(&state_with(konfig()), configure(konfig())), Ok(vec![]));
}

#[test]
fn changing_a_switch_records_the_new_configuration() {
    let mut changed = konfig();
    changed.har_midlertidig_deaktivert_mottak = true;
    let events = decide_kommune(&state_with(konfig()), configure(changed.clone())).expect("changed");
    let [KommuneEvent::KommuneKonfigurert(e)] = events.as_slice() else { panic!("one event") };
    assert_eq!(e.konfigurasjon, changed);
}

#[test]
fn changing_the_fiks_org_id_is_a_conflict() {
    let mut moved = konfig();
    moved.fiks_org_id = annen_org();
    let rejection = decide_kommune(&state_with(konfig()), configure(moved)).expect_err("fixed");
    assert_eq!(rejection.status(), 409);
}

#[test]
fn repeated_entries_and_bad_addresses_are_invalid_at_their_paths() {
    let mut bad = konfig();
    bad.nav_enheter.push(enhet("0314"));
    bad.fagsystem_orgnr.push(Orgnr::parse("958935420").expect("orgnr"));
    bad.kontaktpersoner.teknisk_ansvarlig_epost = vec!["ok@x.no".into(), "ikke en adresse".into()];
    let rejection = decide_kommune(&KommuneState::default(), configure(bad)).expect_err("invalid");
    assert_eq!(
        paths(&rejection),
        ["$.navEnheter[2]", "$.fagsystemOrgnr[1]", "$.kontaktpersoner.tekniskAnsvarligEpost[1]"]
    );
}

#[test]
fn kommune_with_mottak_on_takes_a_soknad_for_its_own_enhet_or_none() {
    let state = state_with(konfig());
    assert_eq!(state.kan_motta_soknad(kommune(), Some(enhet("0315"))).map(|k| k.fiks_org_id), Ok(org()));
    assert!(state.kan_motta_soknad(kommune(), None).is_ok());
}

#[test]
fn unconfigured_kommune_cannot_take_a_soknad_and_answers_not_found() {
    let refusal = KommuneState::default().kan_motta_soknad(kommune(), None).expect_err("unknown");
    assert_eq!(refusal, KommuneRefusal::IkkeKonfigurert(kommune()));
    assert_eq!(Rejection::from(refusal).status(), 404);
}

#[test]
fn kommune_with_mottak_off_or_temporarily_off_refuses_a_soknad_with_403() {
    let mut off = konfig();
    off.kan_motta_soknader = false;
    let refusal = state_with(off).kan_motta_soknad(kommune(), None).expect_err("off");
    assert_eq!(refusal, KommuneRefusal::MottakIkkeAktivert(kommune()));
    assert_eq!(Rejection::from(refusal).status(), 403);
    let mut paused = konfig();
    paused.har_midlertidig_deaktivert_mottak = true;
    let refusal = state_with(paused).kan_motta_soknad(kommune(), Some(enhet("0314"))).expect_err("paused");
    assert_eq!(refusal, KommuneRefusal::MottakMidlertidigDeaktivert(kommune()));
}

#[test]
fn soknad_for_an_enhet_not_routed_to_the_kommune_is_refused_at_enhetsnummer() {
    let refusal = state_with(konfig()).kan_motta_soknad(kommune(), Some(enhet("1201"))).expect_err("not ours");
    assert!(matches!(refusal, KommuneRefusal::EnhetIkkeTilknyttet { .. }));
    let rejection = Rejection::from(refusal);
    assert_eq!((rejection.status(), paths(&rejection)), (400, vec!["$.enhetsnummer"]));
}

#[test]
fn status_updates_need_kan_oppdatere_status_and_no_pause() {
    assert!(state_with(konfig()).kan_oppdatere_status(kommune()).is_ok());
    let mut off = konfig();
    off.kan_oppdatere_status = false;
    assert_eq!(
        state_with(off).kan_oppdatere_status(kommune()).err(),
        Some(KommuneRefusal::OppdateringerIkkeAktivert(kommune()))
    );
    let mut paused = konfig();
    paused.har_midlertidig_deaktivert_oppdateringer = true;
    assert_eq!(
        state_with(paused).kan_oppdatere_status(kommune()).err(),
        Some(KommuneRefusal::OppdateringerMidlertidigDeaktivert(kommune()))
    );
    assert!(KommuneState::default().kan_oppdatere_status(kommune()).is_err());
}

#[test]
fn only_listed_organisations_may_act_as_the_fagsystem() {
    let state = state_with(konfig());
    assert!(state.tillater_fagsystem(&Orgnr::parse("958935420").expect("orgnr")));
    assert!(!state.tillater_fagsystem(&Orgnr::parse("974760673").expect("orgnr")));
    assert!(!KommuneState::default().tillater_fagsystem(&Orgnr::parse("958935420").expect("orgnr")));
}
