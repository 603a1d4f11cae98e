//! SubmitSoknad, Ettersend and CreatePapersak.

use digisos_schema::events::{Leveransetype, SakEvent};
use digisos_schema::types::FiksDigisosId;
use fiks_digisos::sak::{CreatePapersak, EraseCase, Rejection, sak_id_for_soknad};
use uuid::Uuid;

use super::support::*;

#[test]
fn submitted_soknad_opens_the_case_and_queues_its_delivery() {
    let events = when(&[], submit()).expect("accepted");
    assert_eq!(types(&events), ["SoknadMottatt.v1", "LeveranseOpprettet.v1"]);
    let SakEvent::SoknadMottatt(mottatt) = &events[0] else { panic!("SoknadMottatt first") };
    assert_eq!(mottatt.fiks_digisos_id, sak_id_for_soknad(&soknad_ref()));
    assert_eq!(mottatt.soker_fnr, soker());
    assert_eq!(mottatt.soknad_dokument.filnavn, "Soknad.pdf");
    assert_eq!(mottatt.vedlegg.len(), 1);
    assert_eq!(mottatt.timestamp_sendt, t(0));
    let SakEvent::LeveranseOpprettet(leveranse) = &events[1] else { panic!("then its delivery") };
    assert_eq!(leveranse.leveransetype, Leveransetype::Soknad);
    assert_eq!(leveranse.fiks_org_id, org());
    assert_eq!(leveranse.nav_ekstern_ref_id, soknad_ref());
}

#[test]
fn resubmitted_soknad_with_same_ref_and_content_appends_nothing() {
    assert_eq!(when(&soknad_mottatt(), submit()), Ok(vec![]));
}

#[test]
fn resubmission_with_new_document_ids_and_time_but_same_content_appends_nothing() {
    let mut retry = submit();
    retry.soknad_metadata.dokumentlager_dokument_id = Uuid::from_u128(901);
    retry.soknad_dokument.dokumentlager_dokument_id = Uuid::from_u128(902);
    retry.leveranse_id = leveranse(77);
    retry.tidspunkt = t(500);
    assert_eq!(when(&soknad_mottatt(), retry), Ok(vec![]));
}

#[test]
fn resubmitted_soknad_with_same_ref_and_other_content_is_a_conflict_naming_the_case() {
    let mut other = submit();
    other.vedlegg[0] = dok(4, "en-annen-fil.pdf");
    let rejection = when(&soknad_mottatt(), other).expect_err("conflict");
    assert_eq!(rejection.status(), 409);
    assert_eq!(rejection.existing(), Some(sak_id_for_soknad(&soknad_ref())));
    assert!(rejection.message().contains(&sak_id_for_soknad(&soknad_ref()).to_string()), "{rejection}");
}

#[test]
fn soknad_of_another_person_than_the_caller_is_forbidden() {
    let mut command = submit();
    command.soker_fnr = annen_person();
    let rejection = when(&[], command).expect_err("forbidden");
    assert!(matches!(rejection, Rejection::Forbidden { .. }), "{rejection:?}");
    assert!(!rejection.message().contains(annen_person().expose()), "no fnr in messages");
}

#[test]
fn identical_soknad_resent_by_another_citizen_is_forbidden_and_does_not_reveal_the_case() {
    let mut command = submit();
    command.soker_fnr = annen_person();
    let rejection = when(&soknad_mottatt(), command).expect_err("forbidden");
    assert_eq!(rejection.status(), 403);
    assert_eq!(rejection.existing(), None);
}

#[test]
fn soknad_addressed_to_another_kommune_than_the_path_is_invalid_at_mottaker() {
    let mut command = submit();
    command.soknad.mottaker.kommunenummer = Some("1103".into());
    let rejection = when(&[], command).expect_err("invalid");
    assert_eq!(rejection.status(), 400);
    assert_eq!(paths(&rejection), ["$.mottaker.kommunenummer"]);
}

#[test]
fn soknad_with_a_repeated_document_id_is_invalid() {
    let mut command = submit();
    command.vedlegg.push(dok(3, "kopi.pdf"));
    let rejection = when(&[], command).expect_err("invalid");
    assert_eq!(rejection.status(), 400);
    assert_eq!(paths(&rejection), ["$.dokumenter[4].dokumentlagerDokumentId"]);
}

#[test]
fn soknad_onto_a_case_id_held_by_a_paper_case_is_a_conflict() {
    let paper = then_given(&[], papirsak(sak_id_for_soknad(&soknad_ref())));
    let rejection = when(&paper, submit()).expect_err("conflict");
    assert_eq!(rejection.status(), 409);
    assert_eq!(rejection.existing(), Some(sak_id_for_soknad(&soknad_ref())));
}

#[test]
fn soknad_for_an_erased_case_is_gone() {
    let erased = then_given(&soknad_mottatt(), EraseCase { arsak: "oppbevaringstid".into(), tidspunkt: t(9) });
    assert_eq!(when(&erased, submit()).map_err(|r| r.status()), Err(410));
}

#[test]
fn case_id_of_a_soknad_is_stable_per_ref_and_differs_between_refs() {
    assert_eq!(sak_id_for_soknad(&soknad_ref()), sak_id_for_soknad(&ekstern_ref("110004PCC")));
    assert_ne!(sak_id_for_soknad(&soknad_ref()), sak_id_for_soknad(&ekstern_ref("110004PCD")));
    assert_eq!(sak_id_for_soknad(&soknad_ref()).as_uuid().get_version_num(), 8);
}

#[test]
fn ettersendelse_adds_its_files_and_queues_a_delivery() {
    let events = when(&soknad_mottatt(), ettersend("110004PCC0001")).expect("accepted");
    assert_eq!(types(&events), ["EttersendelseMottatt.v1", "LeveranseOpprettet.v1"]);
    let SakEvent::LeveranseOpprettet(leveranse) = &events[1] else { panic!("delivery") };
    assert_eq!(leveranse.leveransetype, Leveransetype::Ettersendelse);
    assert_eq!(leveranse.nav_ekstern_ref_id, ekstern_ref("110004PCC0001"));
    assert_eq!(leveranse.fiks_org_id, org());
}

#[test]
fn repeated_ettersendelse_with_same_content_appends_nothing() {
    let history = then_given(&soknad_mottatt(), ettersend("110004PCC0001"));
    let mut retry = ettersend("110004PCC0001");
    retry.vedlegg_metadata.dokumentlager_dokument_id = Uuid::from_u128(555);
    assert_eq!(when(&history, retry), Ok(vec![]));
}

#[test]
fn repeated_ettersendelse_ref_with_other_content_is_a_conflict_naming_the_case() {
    let history = then_given(&soknad_mottatt(), ettersend("110004PCC0001"));
    let mut other = ettersend("110004PCC0001");
    other.vedlegg = vec![dok(12, "annen.pdf")];
    let rejection = when(&history, other).expect_err("conflict");
    assert_eq!(rejection.status(), 409);
    assert_eq!(rejection.existing(), Some(sak_id_for_soknad(&soknad_ref())));
}

#[test]
fn ettersendelse_reusing_the_soknads_own_ref_is_a_conflict() {
    let rejection = when(&soknad_mottatt(), ettersend("110004PCC")).expect_err("conflict");
    assert_eq!(rejection.status(), 409);
}

#[test]
fn ettersendelse_by_another_citizen_is_forbidden() {
    let mut command = ettersend("110004PCC0001");
    command.innsender = annen_person();
    assert_eq!(when(&soknad_mottatt(), command).map_err(|r| r.status()), Err(403));
}

#[test]
fn ettersendelse_to_the_case_under_another_kommune_is_not_found() {
    let mut command = ettersend("110004PCC0001");
    command.kommunenummer = "1103".parse().expect("k");
    assert_eq!(when(&soknad_mottatt(), command).map_err(|r| r.status()), Err(404));
}

#[test]
fn ettersendelse_to_an_unknown_case_is_not_found() {
    assert_eq!(when(&[], ettersend("110004PCC0001")).map_err(|r| r.status()), Err(404));
}

#[test]
fn ettersendelse_without_files_is_invalid() {
    let mut command = ettersend("110004PCC0001");
    command.vedlegg.clear();
    assert_eq!(when(&soknad_mottatt(), command).map_err(|r| r.status()), Err(400));
}

#[test]
fn ettersendelse_reusing_a_file_id_of_the_case_is_invalid() {
    let mut command = ettersend("110004PCC0001");
    command.vedlegg = vec![dok(4, "husleie.pdf")];
    let rejection = when(&soknad_mottatt(), command).expect_err("invalid");
    assert_eq!(paths(&rejection), ["$.dokumenter[1].dokumentlagerDokumentId"]);
}

#[test]
fn ettersendelse_to_a_paper_case_is_accepted() {
    let paper = then_given(&[], papirsak(FiksDigisosId::from_uuid(Uuid::from_u128(7))));
    assert_eq!(types(&when(&paper, ettersend("REF1")).expect("accepted")).len(), 2);
}

fn papirsak(id: FiksDigisosId) -> CreatePapersak {
    CreatePapersak {
        fiks_digisos_id: id,
        kommunenummer: kommune(),
        fiks_org_id: org(),
        soker_fnr: soker(),
        tidspunkt: t(1),
    }
}

#[test]
fn paper_case_is_created_without_a_delivery() {
    let id = FiksDigisosId::from_uuid(Uuid::from_u128(7));
    let events = when(&[], papirsak(id)).expect("created");
    assert_eq!(types(&events), ["PapirsakOpprettet.v1"]);
    let SakEvent::PapirsakOpprettet(e) = &events[0] else { panic!("paper case") };
    assert_eq!((e.fiks_digisos_id, e.fiks_org_id, e.soker_fnr.clone()), (id, org(), soker()));
}

#[test]
fn paper_case_on_an_id_in_use_is_a_conflict_and_on_an_erased_one_gone() {
    let id = FiksDigisosId::from_uuid(Uuid::from_u128(7));
    let paper = then_given(&[], papirsak(id));
    assert_eq!(when(&paper, papirsak(id)).map_err(|r| r.status()), Err(409));
    let erased = then_given(&paper, EraseCase { arsak: "test".into(), tidspunkt: t(2) });
    assert_eq!(when(&erased, papirsak(id)).map_err(|r| r.status()), Err(410));
}
