//! Rules every command shares (the case must exist, not be deleted, belong to the fagsystem's kommune),
//! EraseCase, and the seed's whole flow as one history.

use digisos_schema::events::SakEvent;
use fiks_digisos::sak::{
    ConfirmDelivery, DeleteCase, DeleteFiles, EraseCase, OfferDeliveryAgain, RejectDelivery, Rejection, SakCommand,
    replay,
};
use uuid::Uuid;

use super::support::*;

/// One of every command that addresses an existing case, as fagsystem `org`.
fn commands_on_a_case(org: digisos_schema::types::FiksOrgId) -> Vec<SakCommand> {
    let mut update = oppdatering(komplett());
    update.fiks_org_id = org;
    let mut upload = last_opp_komplett_filer();
    upload.fiks_org_id = org;
    vec![
        update.into(),
        upload.into(),
        DeleteFiles { fiks_org_id: org, fil_ider: vec![Uuid::from_u128(4)], tidspunkt: t(1) }.into(),
        DeleteCase { fiks_org_id: org, tidspunkt: t(1) }.into(),
        ConfirmDelivery { fiks_org_id: org, leveranse_id: leveranse(1), tidspunkt: t(1) }.into(),
        RejectDelivery { fiks_org_id: org, leveranse_id: leveranse(1), arsak: "x".into(), tidspunkt: t(1) }.into(),
    ]
}

#[test]
fn every_command_on_a_case_that_never_existed_is_not_found() {
    let mut commands = commands_on_a_case(org());
    commands.push(ettersend("REF1").into());
    commands.push(OfferDeliveryAgain { leveranse_id: leveranse(1), tidspunkt: t(1) }.into());
    commands.push(EraseCase { arsak: "x".into(), tidspunkt: t(1) }.into());
    for command in commands {
        let rejection = when(&[], command.clone()).expect_err("no case");
        assert!(matches!(rejection, Rejection::NotFound { .. }), "{command:?}: {rejection:?}");
    }
}

#[test]
fn every_command_on_an_erased_case_is_gone() {
    let erased = then_given(&soknad_mottatt(), EraseCase { arsak: "oppbevaringstid utløpt".into(), tidspunkt: t(9) });
    let mut commands = commands_on_a_case(org());
    commands.push(ettersend("REF1").into());
    commands.push(OfferDeliveryAgain { leveranse_id: leveranse(1), tidspunkt: t(1) }.into());
    commands.push(submit().into());
    for command in commands {
        let rejection = when(&erased, command.clone()).expect_err("deleted");
        assert_eq!(rejection.status(), 410, "{command:?}");
        assert!(rejection.message().contains(&replay(&erased).fiks_digisos_id().expect("id").to_string()));
    }
}

#[test]
fn every_fagsystem_command_from_another_fiks_org_is_forbidden() {
    for command in commands_on_a_case(annen_org()) {
        let rejection = when(&med_komplett(), command.clone()).expect_err("not theirs");
        assert!(matches!(rejection, Rejection::Forbidden { .. }), "{command:?}: {rejection:?}");
    }
}

#[test]
fn erasing_a_case_records_why_and_erasing_again_appends_nothing() {
    let erase = EraseCase { arsak: "oppbevaringstid utløpt".into(), tidspunkt: t(9) };
    let events = when(&soknad_mottatt(), erase.clone()).expect("erased");
    let [SakEvent::SakSlettet(e)] = events.as_slice() else { panic!("one event") };
    assert_eq!(e.arsak, "oppbevaringstid utløpt");
    let erased = then_given(&soknad_mottatt(), erase.clone());
    assert_eq!(when(&erased, erase), Ok(vec![]));
    assert!(replay(&erased).sak().is_none());
}

#[test]
fn erasing_without_a_reason_is_invalid() {
    let rejection = when(&soknad_mottatt(), EraseCase { arsak: " ".into(), tidspunkt: t(9) }).expect_err("why?");
    assert_eq!(paths(&rejection), ["$.arsak"]);
}

#[test]
fn rejections_map_to_the_status_codes_of_the_api() {
    let cases = [
        (Rejection::invalid("x", vec![]), 400),
        (Rejection::forbidden("x"), 403),
        (Rejection::not_found("x"), 404),
        (Rejection::conflict("x"), 409),
        (Rejection::Gone { message: "x".into() }, 410),
    ];
    for (rejection, status) in cases {
        assert_eq!(rejection.status(), status, "{rejection:?}");
    }
}

#[test]
fn the_seed_flow_from_soknad_to_vedtak_is_one_consistent_history() {
    // Nav submits; the fagsystem confirms receipt, uploads its letters and vedtak, and posts the case file
    // three times as it grows; the citizen sends more documents; the fagsystem cannot take that delivery.
    let mut history = soknad_mottatt();
    history = then_given(&history, ConfirmDelivery { fiks_org_id: org(), leveranse_id: leveranse(1), tidspunkt: t(5) });
    history = then_given(&history, last_opp_komplett_filer());
    let full = komplett();
    let first_four = {
        let mut doc = full.clone();
        doc["hendelser"].as_array_mut().expect("list").truncate(4);
        doc
    };
    history = then_given(&history, oppdatering(first_four));
    history = then_given(&history, ettersend("110004PCC0001"));
    history = then_given(
        &history,
        RejectDelivery {
            fiks_org_id: org(),
            leveranse_id: leveranse(2),
            arsak: "Vedlegget kan ikke åpnes".into(),
            tidspunkt: t(31),
        },
    );
    history = then_given(&history, oppdatering(full.clone()));
    assert_eq!(when(&history, oppdatering(full)), Ok(vec![]), "the same file again");

    let state = replay(&history);
    let sak = state.sak().expect("case");
    assert_eq!(sak.antall_hendelser(), 18);
    assert_eq!(sak.digisos_soker().map(|d| d.antall_hendelser), Some(18));
    assert_eq!(sak.nav_ekstern_ref_id(), Some(&soknad_ref()));
    assert_eq!(sak.soker_fnr(), &soker());
    assert!(sak.dokument(Uuid::from_u128(11)).is_some(), "the ettersendt file is on the case");
    let avvist = sak.leveranse(leveranse(2)).map(|l| l.status.clone());
    assert_eq!(avvist, Some(fiks_digisos::sak::LeveranseStatus::Avvist { arsak: "Vedlegget kan ikke åpnes".into() }));
    let registered = history.iter().filter(|e| matches!(e, SakEvent::HendelseRegistrert(_))).count();
    assert_eq!(registered, 18, "each hendelse recorded once over three files");
}
