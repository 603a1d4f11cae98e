//! The fagsystem's case endpoints over HTTP (DOMAIN.md A.4), on SQLite and on PostgreSQL: paper cases, status
//! updates diffed into events, the fagsystem's files, deleting the status updates, and the refusals, each
//! checked to have recorded nothing.

mod api_support;
mod fagsystem_support;

use api_support::*;
use fagsystem_support::*;
use reqwest::Method;
use serde_json::json;

async fn paper_case_is_created_with_a_fresh_id_and_recorded(app: &TestApp) {
    kommuner(app).await;
    let id = paper_case(app).await;
    let events = app.stream_events(&format!("sak-{id}")).await;
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["PapirsakOpprettet.v1"]);
    assert_eq!(events[0].data["kommunenummer"], KOMMUNE);
    assert_eq!(events[0].data["fiksOrgId"], FIKS_ORG_ID);
    assert_ne!(paper_case(app).await, id, "every paper case is a new case");
}

async fn paper_case_without_a_valid_soker_fnr_is_400_and_records_nothing(app: &TestApp) {
    kommuner(app).await;
    let before = app.event_summary().await;
    for query in ["", "?sokerFnr=12345678901"] {
        let reply = app.send(Method::POST, &format!("/{FIKS_ORG_ID}/ny{query}"), Some(&fagsystem(app)), None).await;
        assert_eq!(reply.status, 400, "{query}: {:?}", reply.body);
        assert!(reply.message().contains("sokerFnr"), "{}", reply.message());
    }
    assert_eq!(app.event_summary().await, before);
}

async fn status_updates_are_diffed_and_the_same_file_twice_appends_nothing(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let token = fagsystem(app);
    let mottatt = status("MOTTATT", "2018-10-04T13:37:00.134Z");
    let under = status("UNDER_BEHANDLING", "2018-10-10T13:42:00.134Z");

    let before = app.event_summary().await;
    let reply = update(app, &id, &token, &update_body(std::slice::from_ref(&under))).await;
    assert_eq!(reply.status, 400, "the first update must contain MOTTATT: {:?}", reply.body);
    assert_eq!(app.event_summary().await, before);

    let reply = update(app, &id, &token, &update_body(std::slice::from_ref(&mottatt))).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.position();
    assert_eq!(count(app, "HendelseRegistrert.v1").await, 1);
    assert_eq!(count(app, "DigisosSokerOppdatert.v1").await, 1);

    let before = app.event_summary().await;
    let again = update(app, &id, &token, &update_body(std::slice::from_ref(&mottatt))).await;
    assert_eq!(again.status, 202, "{:?}", again.body);
    assert_eq!(app.event_summary().await, before, "the same file twice appends nothing");

    let reply = update(app, &id, &token, &update_body(&[under.clone(), mottatt.clone()])).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    assert_eq!(count(app, "HendelseRegistrert.v1").await, 2, "only the new hendelse is recorded");
    assert_eq!(count(app, "DigisosSokerOppdatert.v1").await, 2);
    let last = app.stream_events(&format!("sak-{id}")).await;
    assert_eq!(last[last.len() - 2].data["hendelse"]["status"], "UNDER_BEHANDLING");
}

async fn update_referencing_an_unknown_file_is_400_with_its_json_path_and_records_nothing(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let before = app.event_summary().await;
    let body =
        update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z"), vedtak("12345678-9abc-def0-1234-56789abcdef0")]);
    let reply = update(app, &id, &fagsystem(app), &body).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(
        reply.problem_paths().iter().any(|p| p.contains("hendelser[1]") && p.contains("vedtaksfil")),
        "{:?}",
        reply.body
    );
    assert_eq!(app.event_summary().await, before);
}

async fn update_with_a_bad_envelope_or_schema_is_400_with_json_paths_and_records_nothing(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let token = fagsystem(app);
    let before = app.event_summary().await;
    let mut no_type = update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]);
    no_type.as_object_mut().expect("object").remove("type");
    let reply = update(app, &id, &token, &no_type).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem_paths(), ["$.type"]);

    let reply = update(app, &id, &token, &json!({"type": "no.nav.digisos.digisos.soker.v1", "sak": {}})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem_paths(), ["$.sak.soker"]);

    let reply = update(app, &id, &token, &update_body(&[json!({"type": "soknadsStatus", "status": "MOTTATT"})])).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.problem_paths().iter().any(|p| p.contains("hendelser[0]")), "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn updates_are_refused_while_the_kommune_has_them_switched_off(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let mut off = kommune_config();
    off["harMidlertidigDeaktivertOppdateringer"] = json!(true);
    app.configure_kommune(KOMMUNE, &off).await;
    let before = app.event_summary().await;
    let reply = update(app, &id, &fagsystem(app), &update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")])).await;
    assert_eq!(reply.status, 403, "{:?}", reply.body);
    assert_eq!(app.event_summary().await, before);
}

async fn files_are_uploaded_listed_and_only_unreferenced_ones_deleted(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let token = fagsystem(app);
    let reply = upload(app, &id, &[("vedtak.pdf", file_bytes(700, 7)), ("brev.pdf", file_bytes(300, 9))]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let uploaded = reply.body.as_array().expect("a list").clone();
    assert_eq!(uploaded.len(), 2);
    assert_eq!(uploaded[0]["filnavn"], "vedtak.pdf");
    assert_eq!(uploaded[0]["storrelse"], 700);
    let vedtak_id = uploaded[0]["dokumentlagerDokumentId"].as_str().expect("id").to_owned();
    let brev_id = uploaded[1]["dokumentlagerDokumentId"].as_str().expect("id").to_owned();

    let listed = app.get(&format!("/{FIKS_ORG_ID}/{id}/filer"), Some(&token)).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body, json!(uploaded));

    let body = update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z"), vedtak(&vedtak_id)]);
    assert_eq!(update(app, &id, &token, &body).await.status, 202);

    let before = app.event_summary().await;
    let referenced = app.delete(&format!("/{FIKS_ORG_ID}/{id}/filer?filIder={vedtak_id}"), Some(&token)).await;
    assert_eq!(referenced.status, 409, "{:?}", referenced.body);
    assert_eq!(app.event_summary().await, before);

    let deleted = app.delete(&format!("/{FIKS_ORG_ID}/{id}/filer?filIder={brev_id}"), Some(&token)).await;
    assert_eq!(deleted.status, 204, "{:?}", deleted.body);
    assert_eq!(count(app, "DokumentSlettet.v1").await, 1);
    let listed = app.get(&format!("/{FIKS_ORG_ID}/{id}/filer"), Some(&token)).await;
    assert_eq!(listed.body, json!([uploaded[0]]));
}

async fn deleting_the_case_removes_its_status_updates(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let token = fagsystem(app);
    assert_eq!(
        update(app, &id, &token, &update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")])).await.status,
        202
    );
    let reply = app.delete(&format!("/{FIKS_ORG_ID}/{id}"), Some(&token)).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    reply.position();
    assert_eq!(count(app, "StatusoppdateringerSlettet.v1").await, 1);
}

async fn another_kommunes_fagsystem_is_refused_and_nothing_is_recorded(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let other = other_fagsystem(app);
    let before = app.event_summary().await;

    // Under a fiksOrgId it does not serve, every path answers 403, as the mailbox does: an integration developer
    // with the wrong fiksOrgId is told so, whatever the case id (existing or not).
    let ny = app.send(Method::POST, &format!("/{FIKS_ORG_ID}/ny?sokerFnr={FNR}"), Some(&other), None).await;
    assert_eq!(ny.status, 403, "{:?}", ny.body);
    let body = update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]);
    let refused = update(app, &id, &other, &body).await;
    assert_eq!(refused.status, 403, "{:?}", refused.body);
    assert!(refused.message().contains("is not a fagsystem of fiksOrgId"), "{:?}", refused.body);
    let unknown = uuid::Uuid::new_v4().to_string();
    assert_eq!(update(app, &unknown, &other, &body).await.status, 403, "the same for a case that does not exist");
    assert_eq!(app.get(&format!("/{FIKS_ORG_ID}/mottak"), Some(&other)).await.status, 403);
    assert_eq!(app.get(&format!("/{FIKS_ORG_ID}/{id}/filer"), Some(&other)).await.status, 403);
    let form = Form::new().pair(0, "x.pdf", &file_bytes(100, 1));
    assert_eq!(app.post_form(&format!("/{FIKS_ORG_ID}/{id}/filer"), Some(&other), form).await.status, 403);
    assert_eq!(app.delete(&format!("/{FIKS_ORG_ID}/{id}"), Some(&other)).await.status, 403);
    // Under its own fiksOrgId our case is not found: case ids of other kommuner do not leak.
    let own_org = app.json(Method::POST, &format!("/{OTHER_FIKS_ORG_ID}/{id}"), Some(&other), &body).await;
    assert_eq!(own_org.status, 404);
    assert_eq!(app.get(&format!("/{OTHER_FIKS_ORG_ID}/{id}/filer"), Some(&other)).await.status, 404);
    // A citizen is no fagsystem at all.
    assert_eq!(update(app, &id, &app.citizen(FNR), &body).await.status, 403);
    assert_eq!(app.event_summary().await, before);
}

async fn unknown_case_is_404(app: &TestApp) {
    kommuner(app).await;
    let body = update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]);
    let reply = update(app, &uuid::Uuid::new_v4().to_string(), &fagsystem(app), &body).await;
    assert_eq!(reply.status, 404, "{:?}", reply.body);
}

on_both_backends!(
    paper_case_is_created_with_a_fresh_id_and_recorded,
    paper_case_without_a_valid_soker_fnr_is_400_and_records_nothing,
    status_updates_are_diffed_and_the_same_file_twice_appends_nothing,
    update_referencing_an_unknown_file_is_400_with_its_json_path_and_records_nothing,
    update_with_a_bad_envelope_or_schema_is_400_with_json_paths_and_records_nothing,
    updates_are_refused_while_the_kommune_has_them_switched_off,
    files_are_uploaded_listed_and_only_unreferenced_ones_deleted,
    deleting_the_case_removes_its_status_updates,
    another_kommunes_fagsystem_is_refused_and_nothing_is_recorded,
    unknown_case_is_404,
);
