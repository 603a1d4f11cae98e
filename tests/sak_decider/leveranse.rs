//! ConfirmDelivery, RejectDelivery and OfferDeliveryAgain.

use digisos_schema::events::SakEvent;
use fiks_digisos::sak::{ConfirmDelivery, MAX_ARSAK_LEN, OfferDeliveryAgain, RejectDelivery, replay};

use super::support::*;

fn confirm(n: u128) -> ConfirmDelivery {
    ConfirmDelivery { fiks_org_id: org(), leveranse_id: leveranse(n), tidspunkt: t(100) }
}

fn reject(n: u128, arsak: &str) -> RejectDelivery {
    RejectDelivery { fiks_org_id: org(), leveranse_id: leveranse(n), arsak: arsak.into(), tidspunkt: t(100) }
}

fn offer(n: u128) -> OfferDeliveryAgain {
    OfferDeliveryAgain { leveranse_id: leveranse(n), tidspunkt: t(200) }
}

#[test]
fn confirming_a_delivery_records_the_receipt() {
    let events = when(&soknad_mottatt(), confirm(1)).expect("confirmed");
    assert_eq!(types(&events), ["LeveranseKvittert.v1"]);
    let SakEvent::LeveranseKvittert(e) = &events[0] else { panic!("receipt") };
    assert_eq!((e.leveranse_id, e.tidspunkt.clone()), (leveranse(1), t(100)));
}

#[test]
fn confirming_twice_appends_nothing() {
    let history = then_given(&soknad_mottatt(), confirm(1));
    assert_eq!(when(&history, confirm(1)), Ok(vec![]));
}

#[test]
fn confirming_a_rejected_delivery_is_a_conflict() {
    let history = then_given(&soknad_mottatt(), reject(1, "Fagsystemet kjenner ikke søkeren"));
    assert_eq!(when(&history, confirm(1)).map_err(|r| r.status()), Err(409));
}

#[test]
fn confirming_an_unknown_delivery_is_not_found() {
    assert_eq!(when(&soknad_mottatt(), confirm(9)).map_err(|r| r.status()), Err(404));
}

#[test]
fn confirming_the_ettersendelse_delivery_leaves_the_soknad_delivery_open() {
    let history = then_given(&soknad_mottatt(), ettersend("110004PCC0001"));
    let history = then_given(&history, confirm(2));
    let state = replay(&history);
    let sak = state.sak().expect("case");
    assert_eq!(
        sak.leveranse(leveranse(2)).map(|l| l.status.clone()),
        Some(fiks_digisos::sak::LeveranseStatus::Kvittert)
    );
    assert_eq!(sak.leveranse(leveranse(1)).map(|l| l.status.clone()), Some(fiks_digisos::sak::LeveranseStatus::Sendt));
}

#[test]
fn rejecting_a_delivery_records_the_reason_nav_and_the_citizen_see() {
    let events = when(&soknad_mottatt(), reject(1, "  Kan ikke behandles i fagsystemet  ")).expect("rejected");
    let [SakEvent::LeveranseAvvist(e)] = events.as_slice() else { panic!("one rejection") };
    assert_eq!(e.arsak, "Kan ikke behandles i fagsystemet", "trimmed");
}

#[test]
fn rejecting_again_with_the_same_reason_appends_nothing() {
    let history = then_given(&soknad_mottatt(), reject(1, "Feil kommune"));
    assert_eq!(when(&history, reject(1, "Feil kommune")), Ok(vec![]));
}

#[test]
fn rejecting_again_with_another_reason_is_a_conflict() {
    let history = then_given(&soknad_mottatt(), reject(1, "Feil kommune"));
    assert_eq!(when(&history, reject(1, "Noe annet")).map_err(|r| r.status()), Err(409));
}

#[test]
fn rejecting_a_confirmed_delivery_is_a_conflict() {
    let history = then_given(&soknad_mottatt(), confirm(1));
    assert_eq!(when(&history, reject(1, "For sent")).map_err(|r| r.status()), Err(409));
}

#[test]
fn rejecting_without_a_reason_or_with_a_too_long_one_is_invalid_at_arsak() {
    for arsak in ["", "   ", &"x".repeat(MAX_ARSAK_LEN + 1)] {
        let rejection = when(&soknad_mottatt(), reject(1, arsak)).expect_err("no reason");
        assert_eq!(paths(&rejection), ["$.arsak"]);
    }
}

#[test]
fn rejecting_an_unknown_delivery_is_not_found() {
    assert_eq!(when(&soknad_mottatt(), reject(9, "x")).map_err(|r| r.status()), Err(404));
}

#[test]
fn unconfirmed_delivery_offered_again_is_counted() {
    let events = when(&soknad_mottatt(), offer(1)).expect("offered");
    let [SakEvent::LeveranseTilbudtIgjen(e)] = events.as_slice() else { panic!("one offer") };
    assert_eq!(e.forsok, 2);
    let history = then_given(&soknad_mottatt(), offer(1));
    let events = when(&history, offer(1)).expect("again");
    let [SakEvent::LeveranseTilbudtIgjen(e)] = events.as_slice() else { panic!("one offer") };
    assert_eq!(e.forsok, 3);
}

#[test]
fn offering_an_answered_delivery_again_appends_nothing() {
    let confirmed = then_given(&soknad_mottatt(), confirm(1));
    assert_eq!(when(&confirmed, offer(1)), Ok(vec![]));
    let rejected = then_given(&soknad_mottatt(), reject(1, "Feil"));
    assert_eq!(when(&rejected, offer(1)), Ok(vec![]));
}

#[test]
fn offering_an_unknown_delivery_is_not_found() {
    assert_eq!(when(&soknad_mottatt(), offer(9)).map_err(|r| r.status()), Err(404));
}
