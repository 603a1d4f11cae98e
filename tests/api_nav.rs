//! Nav's citizen endpoints over HTTP, on SQLite and on PostgreSQL: a søknad (`POST /soknader/{nr}/{ref}`) and
//! an ettersendelse (`POST /soknader/{nr}/{fiksDigisosId}/{ref}`), built from the format's real test files.
//! Each accepted request is checked in the event store; each refusal is checked to have recorded nothing.

mod api_support;

use api_support::*;
use serde_json::json;

const REF: &str = "7c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5e";

fn soknad_path(reference: &str) -> String {
    format!("/soknader/{KOMMUNE}/{reference}")
}

/// Submits the standard søknad of `fnr` under `REF`; returns the reply.
async fn submit(app: &TestApp, fnr: &str, form: Form) -> Reply {
    app.post_form(&soknad_path(REF), Some(&app.citizen(fnr)), form).await
}

/// Configures the kommune and submits a søknad of [`FNR`]; returns its fiksDigisosId.
async fn submitted_case(app: &TestApp) -> String {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let reply = submit(app, FNR, standard_soknad(FNR)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.body.as_str().expect("the id as a JSON string").to_owned()
}

async fn submitted_soknad_is_accepted_with_its_id_and_recorded_with_a_delivery(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let reply = submit(app, FNR, standard_soknad(FNR)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let id = reply.body.as_str().expect("the id as a JSON string");
    uuid::Uuid::parse_str(id).expect("a UUID");
    let position = reply.position();

    let events = app.stream_events(&format!("sak-{id}")).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["SoknadMottatt.v1", "LeveranseOpprettet.v1"]);
    assert_eq!(events[1].position, position, "the header names the last event's position");
    assert_eq!(events[0].data["fiksOrgId"], FIKS_ORG_ID);
    assert_eq!(events[0].data["navEksternRefId"], REF);
    assert_eq!(events[0].data["enhetsnummer"], ENHET);
    assert_eq!(events[1].data["fiksOrgId"], FIKS_ORG_ID);
    assert_eq!(events[0].metadata.as_ref().expect("metadata")["caller"], "citizen");
}

async fn resubmitted_same_soknad_returns_same_id_and_records_nothing(app: &TestApp) {
    let id = submitted_case(app).await;
    let before = app.event_summary().await;
    let again = submit(app, FNR, standard_soknad(FNR)).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(again.body, json!(id));
    again.position();
    assert_eq!(app.event_summary().await, before);
}

async fn resubmitted_other_content_is_409_naming_the_case_and_records_nothing(app: &TestApp) {
    let id = submitted_case(app).await;
    let before = app.event_summary().await;
    let other_pdf = soknad_form(&soknad_json(FNR), Some(ENHET), &file_bytes(2001, 7));
    let reply = submit(app, FNR, other_pdf).await;
    assert_eq!(reply.status, 409, "{:?}", reply.body);
    assert!(reply.message().contains(&id), "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn soknad_of_another_person_is_403_and_records_nothing(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let before = app.event_summary().await;
    let reply = submit(app, OTHER_FNR, standard_soknad(FNR)).await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert!(reply.message().contains("personIdentifikator"), "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn soknad_to_unconfigured_kommune_is_404_and_records_nothing(app: &TestApp) {
    let reply = submit(app, FNR, standard_soknad(FNR)).await;
    assert_eq!(reply.status, 404, "{:?}", reply.body);
    assert!(reply.message().contains("not set up"), "{:?}", reply.body);
    assert!(app.events().await.is_empty());
}

async fn soknad_is_refused_with_the_reason_while_mottak_is_off(app: &TestApp) {
    for (switch, value, reason) in [
        ("kanMottaSoknader", false, "does not take digital søknader"),
        ("harMidlertidigDeaktivertMottak", true, "temporarily switched off"),
    ] {
        let mut config = kommune_config();
        config[switch] = json!(value);
        app.configure_kommune(KOMMUNE, &config).await;
        let before = app.event_summary().await;
        let reply = submit(app, FNR, standard_soknad(FNR)).await;
        assert_eq!(reply.status, 403, "{switch}: {:?}", reply.body);
        assert!(reply.message().contains(reason), "{switch}: {:?}", reply.body);
        assert_eq!(app.event_summary().await, before);
    }
}

async fn soknad_to_a_nav_office_of_another_kommune_is_400_and_records_nothing(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let before = app.event_summary().await;
    let via_tilleggsinformasjon = soknad_form(&soknad_json(FNR), Some(FOREIGN_ENHET), &file_bytes(2000, 0));
    let reply = submit(app, FNR, via_tilleggsinformasjon).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.message().contains("does not route to kommune"), "{:?}", reply.body);
    assert_eq!(reply.problem_paths(), ["$.enhetsnummer"]);

    let mut soknad = soknad_json(FNR);
    soknad["mottaker"]["enhetsnummer"] = json!(FOREIGN_ENHET);
    let reply = submit(app, FNR, soknad_form(&soknad, None, &file_bytes(2000, 0))).await;
    assert_eq!(reply.status, 400, "via mottaker: {:?}", reply.body);
    assert!(reply.message().contains(FOREIGN_ENHET), "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn invalid_soknad_json_is_400_with_json_path_problems_and_records_nothing(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let before = app.event_summary().await;
    let mut soknad = soknad_json(FNR);
    soknad.as_object_mut().expect("object").remove("version");
    let reply = submit(app, FNR, soknad_form(&soknad, Some(ENHET), &file_bytes(2000, 0))).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    let paths = reply.problem_paths();
    assert!(!paths.is_empty() && paths.iter().all(|p| p.starts_with("soknadJson")), "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn soknad_without_a_token_is_401_and_with_a_fagsystem_token_403(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let before = app.event_summary().await;
    let anonymous = app.post_form(&soknad_path(REF), None, standard_soknad(FNR)).await;
    assert_eq!(anonymous.status, 401, "{:?}", anonymous.body);
    let fagsystem = app.fagsystem(FAGSYSTEM_ORGNR);
    let reply = app.post_form(&soknad_path(REF), Some(&fagsystem), standard_soknad(FNR)).await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn bad_path_parameters_are_400_naming_the_parameter(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let token = app.citizen(FNR);
    let long_ref = "x".repeat(65);
    for (path, field) in [
        (format!("/soknader/030/{REF}"), "kommunenummer"),
        (format!("/soknader/{KOMMUNE}/{long_ref}"), "navEksternRefId"),
        (format!("/soknader/{KOMMUNE}/not-a-uuid/{REF}"), "fiksDigisosId"),
    ] {
        let form = if path.matches('/').count() == 4 { ettersendelse_form(1) } else { standard_soknad(FNR) };
        let reply = app.post_form(&path, Some(&token), form).await;
        assert_eq!(reply.status, 400, "{path}: {:?}", reply.body);
        assert!(reply.message().contains(field), "{path}: {:?}", reply.body);
    }
    assert_eq!(app.events().await.len(), 1, "only the configuration");
}

async fn soknad_of_more_than_two_megabytes_is_accepted(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let big = MAX_FILE_BYTES as usize - 1000;
    let files: Vec<(&str, Vec<u8>)> =
        standard_vedlegg().into_iter().enumerate().map(|(i, (name, _))| (name, file_bytes(big, i as u8))).collect();
    let form = soknad_form_with_files(&soknad_json(FNR), Some(ENHET), &file_bytes(big, 9), &files);
    let reply = submit(app, FNR, form).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

async fn soknad_with_a_file_over_the_limit_is_413_and_records_nothing(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let before = app.event_summary().await;
    let too_big = file_bytes(MAX_FILE_BYTES as usize + 1, 0);
    let reply = submit(app, FNR, soknad_form(&soknad_json(FNR), Some(ENHET), &too_big)).await;
    assert_eq!(reply.status, 413, "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn ettersendelse_is_accepted_and_recorded_with_a_delivery(app: &TestApp) {
    let id = submitted_case(app).await;
    let path = format!("/soknader/{KOMMUNE}/{id}/{REF}0001");
    let reply = app.post_form(&path, Some(&app.citizen(FNR)), ettersendelse_form(1)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let position = reply.position();
    let events = app.stream_events(&format!("sak-{id}")).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["SoknadMottatt.v1", "LeveranseOpprettet.v1", "EttersendelseMottatt.v1", "LeveranseOpprettet.v1"]
    );
    assert_eq!(events[3].position, position);
    assert_eq!(events[2].data["navEksternRefId"], format!("{REF}0001"));

    let again = app.post_form(&path, Some(&app.citizen(FNR)), ettersendelse_form(1)).await;
    assert_eq!(again.status, 202, "the same ettersendelse again: {:?}", again.body);
    assert_eq!(app.stream_events(&format!("sak-{id}")).await.len(), 4);
}

async fn ettersendelse_to_another_citizens_case_is_403_and_records_nothing(app: &TestApp) {
    let id = submitted_case(app).await;
    let before = app.event_summary().await;
    let path = format!("/soknader/{KOMMUNE}/{id}/{REF}0001");
    let reply = app.post_form(&path, Some(&app.citizen(OTHER_FNR)), ettersendelse_form(1)).await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn ettersendelse_to_an_unknown_case_is_404_and_records_nothing(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let before = app.event_summary().await;
    let path = format!("/soknader/{KOMMUNE}/3fa85f64-5717-4562-b3fc-2c963f66afa6/{REF}0001");
    let reply = app.post_form(&path, Some(&app.citizen(FNR)), ettersendelse_form(1)).await;
    assert_eq!(reply.status, 404, "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn ettersendelse_is_refused_while_mottak_is_temporarily_off(app: &TestApp) {
    let id = submitted_case(app).await;
    let mut config = kommune_config();
    config["harMidlertidigDeaktivertMottak"] = json!(true);
    app.configure_kommune(KOMMUNE, &config).await;
    let before = app.event_summary().await;
    let path = format!("/soknader/{KOMMUNE}/{id}/{REF}0001");
    let reply = app.post_form(&path, Some(&app.citizen(FNR)), ettersendelse_form(1)).await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert!(reply.message().contains("temporarily"), "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

on_both_backends!(
    submitted_soknad_is_accepted_with_its_id_and_recorded_with_a_delivery,
    resubmitted_same_soknad_returns_same_id_and_records_nothing,
    resubmitted_other_content_is_409_naming_the_case_and_records_nothing,
    soknad_of_another_person_is_403_and_records_nothing,
    soknad_to_unconfigured_kommune_is_404_and_records_nothing,
    soknad_is_refused_with_the_reason_while_mottak_is_off,
    soknad_to_a_nav_office_of_another_kommune_is_400_and_records_nothing,
    invalid_soknad_json_is_400_with_json_path_problems_and_records_nothing,
    soknad_without_a_token_is_401_and_with_a_fagsystem_token_403,
    bad_path_parameters_are_400_naming_the_parameter,
    soknad_of_more_than_two_megabytes_is_accepted,
    soknad_with_a_file_over_the_limit_is_413_and_records_nothing,
    ettersendelse_is_accepted_and_recorded_with_a_delivery,
    ettersendelse_to_another_citizens_case_is_403_and_records_nothing,
    ettersendelse_to_an_unknown_case_is_404_and_records_nothing,
    ettersendelse_is_refused_while_mottak_is_temporarily_off,
);
