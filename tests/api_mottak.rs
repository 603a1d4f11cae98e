//! The kommune's mailbox over HTTP (issue 4 item 6, DOMAIN.md A.3), on SQLite and on PostgreSQL: the seed's flow
//! from Nav's submission to the fagsystem's receipt, ettersendelse, rejection, paging, redelivery of an
//! unconfirmed delivery, and the download endpoint's access rules. Refusals are checked to record nothing.

mod api_support;
mod fagsystem_support;

use std::time::Duration;

use api_support::*;
use fagsystem_support::*;
use fiks_digisos::api::mottak::{offer_again_overdue, offer_again_overdue_in_pages};
use fiks_digisos::auth::dev_issuer::DevRole;
use reqwest::Method;
use serde_json::{Value, json};

fn delivery_path(leveranse_id: &str) -> String {
    format!("/{FIKS_ORG_ID}/mottak/{leveranse_id}")
}

fn id_of(delivery: &Value) -> String {
    delivery["leveranseId"].as_str().expect("leveranseId").to_owned()
}

async fn seed_flow_soknad_is_listed_fetched_downloaded_and_confirmed(app: &TestApp) {
    kommuner(app).await;
    let sak = submitted(app, REF).await;
    let token = fagsystem(app);

    let waiting = mailbox(app).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    let delivery = &waiting[0];
    assert_eq!(delivery["kind"], "SOKNAD");
    assert_eq!(delivery["status"], "SENDT");
    assert_eq!(delivery["antallForsok"], 1);
    assert_eq!(delivery["meldingstype"], "no.nav.digisos.soknad.v1");
    assert_eq!(delivery["melding"], json!({"eksternRef": REF, "digisosId": sak}));
    let filer = delivery["filer"].as_array().expect("files");
    let names: Vec<&str> = filer.iter().filter_map(|f| f["filnavn"].as_str()).collect();
    assert_eq!(&names[..3], ["soknad.json", "vedlegg.json", "Soknad.pdf"]);
    assert_eq!(filer.len(), 3 + standard_vedlegg().len());

    let fetched = app.get(&delivery_path(&id_of(delivery)), Some(&token)).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(&fetched.body, delivery);

    let pdf = &filer[2];
    let (status, content_type, bytes) = download(app, pdf["nedlastingPath"].as_str().expect("path"), &token).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "application/pdf");
    assert_eq!(bytes, file_bytes(2000, 0), "the søknad PDF as Nav sent it");

    let receipt =
        app.send(Method::POST, &format!("{}/kvittering", delivery_path(&id_of(delivery))), Some(&token), None).await;
    assert_eq!(receipt.status, 204, "{:?}", receipt.body);
    assert_eq!(count(app, "LeveranseKvittert.v1").await, 1);
    app.caught_up(receipt.position()).await;
    assert!(mailbox(app).await.is_empty(), "a confirmed delivery leaves the mailbox");
    let fetched = app.get(&delivery_path(&id_of(delivery)), Some(&token)).await;
    assert_eq!(fetched.body["status"], "BEKREFTET");

    let before = app.event_summary().await;
    let again =
        app.send(Method::POST, &format!("{}/kvittering", delivery_path(&id_of(delivery))), Some(&token), None).await;
    assert_eq!(again.status, 204, "a repeated receipt is answered alike");
    assert_eq!(app.event_summary().await, before, "and appends nothing");
}

async fn ettersendelse_shows_up_as_a_second_delivery(app: &TestApp) {
    kommuner(app).await;
    let sak = submitted(app, REF).await;
    let soknad_delivery = id_of(&mailbox(app).await[0]);
    let ettersendelse_ref = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let path = format!("/soknader/{KOMMUNE}/{sak}/{ettersendelse_ref}");
    let reply = app.post_form(&path, Some(&app.citizen(FNR)), ettersendelse_form(3)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.caught_up(reply.position()).await;

    let waiting = mailbox(app).await;
    assert_eq!(waiting.len(), 2, "oldest first: the søknad, then the ettersendelse");
    assert_eq!(id_of(&waiting[0]), soknad_delivery);
    let second = &waiting[1];
    assert_eq!(second["kind"], "ETTERSENDELSE");
    assert_eq!(second["meldingstype"], "no.nav.digisos.ettersendelse.v1");
    assert_eq!(
        second["melding"],
        json!({"eksternRef": ettersendelse_ref, "digisosId": sak,
               "soknadLeveranseId": {"sendtKanal": "FIKS_IO", "id": soknad_delivery}})
    );
    assert_eq!(second["filer"][0]["filnavn"], "vedlegg.json");
}

async fn rejection_by_the_fagsystem_is_recorded_with_its_reason(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    let token = fagsystem(app);
    let id = id_of(&mailbox(app).await[0]);
    let path = format!("{}/avvis", delivery_path(&id));

    let before = app.event_summary().await;
    let blank = app.json(Method::POST, &path, Some(&token), &json!({})).await;
    assert_eq!(blank.status, 400, "a reason is required: {:?}", blank.body);
    assert_eq!(app.event_summary().await, before);

    let reply = app.json(Method::POST, &path, Some(&token), &json!({"arsak": "Fagsystemet kan ikke lese filen"})).await;
    assert_eq!(reply.status, 204, "{:?}", reply.body);
    let avvist: Vec<_> = app.events().await.into_iter().filter(|e| e.event_type == "LeveranseAvvist.v1").collect();
    assert_eq!(avvist.len(), 1);
    assert_eq!(avvist[0].data["arsak"], "Fagsystemet kan ikke lese filen");
    app.caught_up(reply.position()).await;
    assert!(mailbox(app).await.is_empty());
    let fetched = app.get(&delivery_path(&id), Some(&token)).await;
    assert_eq!(fetched.body["status"], "AVVIST");
    assert_eq!(fetched.body["arsak"], "Fagsystemet kan ikke lese filen");
}

async fn mailbox_is_paged_oldest_first(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    submitted(app, "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a").await;
    let token = fagsystem(app);
    let all = mailbox(app).await;
    assert_eq!(all.len(), 2);
    let first = app.get(&format!("/{FIKS_ORG_ID}/mottak?first=1"), Some(&token)).await;
    assert_eq!(first.body, json!([all[0]]));
    let next = app.get(&format!("/{FIKS_ORG_ID}/mottak?first=1&after={}", id_of(&all[0])), Some(&token)).await;
    assert_eq!(next.body, json!([all[1]]));
    let rest = app.get(&format!("/{FIKS_ORG_ID}/mottak?after={}", id_of(&all[1])), Some(&token)).await;
    assert_eq!(rest.body, json!([]));
}

async fn another_kommunes_fagsystem_cannot_see_or_answer_the_mailbox(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    let id = id_of(&mailbox(app).await[0]);
    let other = other_fagsystem(app);
    let before = app.event_summary().await;
    assert_eq!(app.get(&format!("/{FIKS_ORG_ID}/mottak"), Some(&other)).await.status, 403);
    assert_eq!(app.get(&delivery_path(&id), Some(&other)).await.status, 403);
    let receipt = app.send(Method::POST, &format!("{}/kvittering", delivery_path(&id)), Some(&other), None).await;
    assert_eq!(receipt.status, 403);
    let reject =
        app.json(Method::POST, &format!("{}/avvis", delivery_path(&id)), Some(&other), &json!({"arsak": "x"})).await;
    assert_eq!(reject.status, 403);
    // Its own mailbox does not hold our delivery.
    let own = app.get(&format!("/{OTHER_FIKS_ORG_ID}/mottak/{id}"), Some(&other)).await;
    assert_eq!(own.status, 404);
    let own_receipt =
        app.send(Method::POST, &format!("/{OTHER_FIKS_ORG_ID}/mottak/{id}/kvittering"), Some(&other), None).await;
    assert_eq!(own_receipt.status, 404);
    assert!(
        app.get(&format!("/{OTHER_FIKS_ORG_ID}/mottak"), Some(&other)).await.body.as_array().expect("list").is_empty()
    );
    assert_eq!(app.event_summary().await, before);
}

async fn download_is_for_the_citizen_and_the_kommunes_fagsystem_only(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    let delivery = &mailbox(app).await[0];
    let path = delivery["filer"][3]["nedlastingPath"].as_str().expect("path").to_owned();
    let expected = standard_vedlegg()[0].1.clone();

    let (status, _, bytes) = download(app, &path, &app.citizen(FNR)).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, expected);
    let (status, _, bytes) = download(app, &path, &fagsystem(app)).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, expected);

    assert_eq!(download(app, &path, &app.citizen(OTHER_FNR)).await.0, 404);
    assert_eq!(download(app, &path, &other_fagsystem(app)).await.0, 404);
    let staff = app.token(DevRole::NavStaff("Z123456".parse().expect("a NAVident")));
    assert_eq!(download(app, &path, &staff).await.0, 403, "Nav staff never see files");
    assert_eq!(download(app, &path, &app.nav_system()).await.0, 403);
    let unknown = format!("{PREFIX}/dokumentlager/nedlasting/{}", uuid::Uuid::new_v4());
    assert_eq!(download(app, &unknown, &app.citizen(FNR)).await.0, 404);
}

async fn fagsystem_upload_is_downloadable_by_the_citizen(app: &TestApp) {
    kommuner(app).await;
    let sak = paper_case(app).await;
    let reply = upload(app, &sak, &[("vedtak.pdf", file_bytes(800, 5))]).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    let id = reply.body[0]["dokumentlagerDokumentId"].as_str().expect("id");
    let (status, content_type, bytes) =
        download(app, &format!("{PREFIX}/dokumentlager/nedlasting/{id}"), &app.citizen(FNR)).await;
    assert_eq!((status, content_type.as_str()), (200, "application/pdf"));
    assert_eq!(bytes, file_bytes(800, 5));
}

async fn overdue_delivery_is_offered_again_and_counted(app: &TestApp) {
    kommuner(app).await;
    submitted(app, REF).await;
    submitted(app, "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a").await;
    let token = fagsystem(app);
    let waiting = mailbox(app).await;
    let confirmed =
        app.send(Method::POST, &format!("{}/kvittering", delivery_path(&id_of(&waiting[0]))), Some(&token), None).await;
    assert_eq!(confirmed.status, 204);
    app.caught_up(confirmed.position()).await;

    let read = &app.read_side.db;
    let not_yet = offer_again_overdue(&app.store, read, Duration::from_secs(3600), Duration::from_secs(3600))
        .await
        .expect("sweep");
    assert_eq!(not_yet, 0, "nothing is overdue yet");
    let offered = offer_again_overdue(&app.store, read, Duration::ZERO, Duration::ZERO).await.expect("sweep");
    assert_eq!(offered, 1, "only the unconfirmed delivery is offered again");
    let again: Vec<_> = app.events().await.into_iter().filter(|e| e.event_type == "LeveranseTilbudtIgjen.v1").collect();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].data["leveranseId"], waiting[1]["leveranseId"]);
    assert_eq!(again[0].data["forsok"], 2);

    // The offer's own position, from its stream: on PostgreSQL the all-events feed may not show a just-committed
    // event yet (other tests' open transactions hold its horizon back), so its last position can be too early.
    let stream = app.stream_events(&again[0].stream).await;
    let offer = stream.iter().rev().find(|e| e.event_type == "LeveranseTilbudtIgjen.v1").expect("the offer event");
    app.caught_up(offer.position).await;
    let still = mailbox(app).await;
    assert_eq!(still.len(), 1, "an unconfirmed delivery is never dropped");
    assert_eq!(still[0]["antallForsok"], 2);
}

/// A sweep pages through every waiting delivery: with pages of one, each of three overdue deliveries is offered
/// again in one sweep (the first page alone would hide the other two).
async fn a_sweep_reaches_overdue_deliveries_past_its_first_page(app: &TestApp) {
    kommuner(app).await;
    for reference in [REF, "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a", "6e5d4c3b-2a1f-4e0d-9c8b-7a6f5e4d3c2b"] {
        submitted(app, reference).await;
    }
    let read = &app.read_side.db;
    let offered =
        offer_again_overdue_in_pages(&app.store, read, Duration::ZERO, Duration::ZERO, 1).await.expect("sweep");
    assert_eq!(offered, 3, "every overdue delivery, not only the first page's");
    let again = app.events().await.into_iter().filter(|e| e.event_type == "LeveranseTilbudtIgjen.v1").count();
    assert_eq!(again, 3);
}

async fn mailbox_answers_once_it_has_reached_the_position_the_client_names(app: &TestApp) {
    kommuner(app).await;
    let path = format!("/soknader/{KOMMUNE}/{REF}");
    let reply = app.post_form(&path, Some(&app.citizen(FNR)), standard_soknad(FNR)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    // No waiting in the test: the request names the submission's position and the server waits for it.
    let response = app
        .client()
        .get(format!("{}{PREFIX}/{FIKS_ORG_ID}/mottak", app.base))
        .bearer_auth(fagsystem(app))
        .header("x-digisos-min-position", reply.position().to_string())
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status(), 200);
    let waiting: Value = response.json().await.expect("JSON");
    assert_eq!(waiting.as_array().map(Vec::len), Some(1), "{waiting}");
}

on_both_backends!(
    mailbox_answers_once_it_has_reached_the_position_the_client_names,
    seed_flow_soknad_is_listed_fetched_downloaded_and_confirmed,
    ettersendelse_shows_up_as_a_second_delivery,
    rejection_by_the_fagsystem_is_recorded_with_its_reason,
    mailbox_is_paged_oldest_first,
    another_kommunes_fagsystem_cannot_see_or_answer_the_mailbox,
    download_is_for_the_citizen_and_the_kommunes_fagsystem_only,
    fagsystem_upload_is_downloadable_by_the_citizen,
    overdue_delivery_is_offered_again_and_counted,
    a_sweep_reaches_overdue_deliveries_past_its_first_page,
);
