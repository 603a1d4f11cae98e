//! UploadFiles and DeleteFiles.

use digisos_schema::events::SakEvent;
use fiks_digisos::sak::{DeleteFiles, Rejection, UploadFiles};
use uuid::Uuid;

use super::support::*;

fn upload(filer: Vec<digisos_schema::events::DokumentInfo>) -> UploadFiles {
    UploadFiles { fiks_org_id: org(), filer, tidspunkt: t(40) }
}

fn delete(ids: &[u128]) -> DeleteFiles {
    DeleteFiles { fiks_org_id: org(), fil_ider: ids.iter().map(|n| Uuid::from_u128(*n)).collect(), tidspunkt: t(50) }
}

fn komplett_fil(i: usize) -> Uuid {
    Uuid::parse_str(KOMPLETT_FILER[i]).expect("uuid")
}

#[test]
fn uploaded_files_are_recorded_one_event_each() {
    let events = when(&soknad_mottatt(), upload(vec![dok(20, "vedtak.pdf"), dok(21, "brev.pdf")])).expect("ok");
    assert_eq!(types(&events), ["DokumentLastetOpp.v1", "DokumentLastetOpp.v1"]);
    let SakEvent::DokumentLastetOpp(first) = &events[0] else { panic!("upload") };
    assert_eq!(first.dokument, dok(20, "vedtak.pdf"));
    assert_eq!(first.tidspunkt, t(40));
}

#[test]
fn uploading_the_same_file_again_appends_nothing() {
    let history = then_given(&soknad_mottatt(), upload(vec![dok(20, "vedtak.pdf")]));
    assert_eq!(when(&history, upload(vec![dok(20, "vedtak.pdf")])), Ok(vec![]));
    let events = when(&history, upload(vec![dok(20, "vedtak.pdf"), dok(21, "brev.pdf")])).expect("the new one");
    assert_eq!(types(&events), ["DokumentLastetOpp.v1"]);
}

#[test]
fn upload_reusing_an_id_for_another_file_is_a_conflict_at_its_place() {
    let history = then_given(&soknad_mottatt(), upload(vec![dok(20, "vedtak.pdf")]));
    let rejection = when(&history, upload(vec![dok(21, "ok.pdf"), dok(20, "annet.pdf")])).expect_err("conflict");
    assert_eq!(rejection.status(), 409);
    assert_eq!(paths(&rejection), ["$.filer[1].dokumentlagerDokumentId"]);
    let nav_file = when(&soknad_mottatt(), upload(vec![dok(4, "husleie.pdf")])).expect_err("Nav's id");
    assert_eq!(nav_file.status(), 409);
}

#[test]
fn upload_without_files_is_invalid() {
    assert_eq!(when(&soknad_mottatt(), upload(vec![])).map_err(|r| r.status()), Err(400));
}

#[test]
fn upload_with_blank_names_or_a_repeated_id_is_invalid_at_each_place() {
    let mut blank = dok(21, "x.pdf");
    blank.filnavn = " ".into();
    blank.mimetype = String::new();
    let rejection = when(&soknad_mottatt(), upload(vec![dok(20, "a.pdf"), blank, dok(20, "a.pdf")])).expect_err("bad");
    assert_eq!(rejection.status(), 400);
    assert_eq!(paths(&rejection), ["$.filer[1].filnavn", "$.filer[1].mimetype", "$.filer[2].dokumentlagerDokumentId"]);
}

#[test]
fn deleting_unreferenced_files_records_each_deletion() {
    let history = then_given(&soknad_mottatt(), upload(vec![dok(20, "a.pdf"), dok(21, "b.pdf")]));
    let events = when(&history, delete(&[20, 21, 20])).expect("deleted");
    assert_eq!(types(&events), ["DokumentSlettet.v1", "DokumentSlettet.v1"], "a repeated id is deleted once");
}

#[test]
fn deleting_a_file_the_current_update_references_is_a_conflict_naming_it() {
    let in_use = DeleteFiles { fiks_org_id: org(), fil_ider: vec![komplett_fil(4), komplett_fil(0)], tidspunkt: t(90) };
    let rejection = when(&med_komplett(), in_use).expect_err("in use");
    assert_eq!(rejection.status(), 409);
    assert_eq!(paths(&rejection), ["$.filIder[0]", "$.filIder[1]"]);
    assert!(rejection.problems()[0].message.contains(KOMPLETT_FILER[4]));
}

#[test]
fn deleting_a_file_after_an_update_without_its_reference_is_allowed() {
    let mut without = komplett();
    let list = without["hendelser"].as_array_mut().expect("list");
    list.remove(6); // vedtakFattet, the only hendelse referencing …def0
    let history = then_given(&med_komplett(), oppdatering(without));
    let delete = DeleteFiles { fiks_org_id: org(), fil_ider: vec![komplett_fil(4)], tidspunkt: t(90) };
    assert_eq!(types(&when(&history, delete).expect("deleted")), ["DokumentSlettet.v1"]);
}

#[test]
fn deleting_an_already_deleted_file_appends_nothing() {
    let history = then_given(&soknad_mottatt(), upload(vec![dok(20, "a.pdf")]));
    let history = then_given(&history, delete(&[20]));
    assert_eq!(when(&history, delete(&[20])), Ok(vec![]));
}

#[test]
fn deleting_unknown_files_is_not_found_naming_each() {
    let history = then_given(&soknad_mottatt(), upload(vec![dok(20, "a.pdf")]));
    let rejection = when(&history, delete(&[99, 20, 98])).expect_err("unknown");
    assert!(matches!(rejection, Rejection::NotFound { .. }), "{rejection:?}");
    assert_eq!(paths(&rejection), ["$.filIder[0]", "$.filIder[2]"]);
}

#[test]
fn deleting_files_nav_sent_is_forbidden() {
    let rejection = when(&soknad_mottatt(), delete(&[4])).expect_err("Nav's file");
    assert_eq!(rejection.status(), 403);
    assert!(rejection.message().contains(&Uuid::from_u128(4).to_string()));
}

#[test]
fn delete_without_ids_is_invalid() {
    let rejection = when(&soknad_mottatt(), delete(&[])).expect_err("no ids");
    assert_eq!(paths(&rejection), ["$.filIder"]);
}
