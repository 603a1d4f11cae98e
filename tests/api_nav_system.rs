//! Nav's system endpoints over HTTP, on SQLite and PostgreSQL: `KommuneInfo` for every configured kommune from the
//! read model (read-your-writes through `x-digisos-min-position`), and whether søknader reached the fagsystem.

mod api_support;

use api_support::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn kommune_info_lists_configured_kommuner_with_their_switches(app: &TestApp) {
    let put = app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let position = put.position();

    // The read model answers once it has reached the configuration's position: no sleeping.
    let response = app
        .client()
        .get(format!("{}/digisos/api/v1/nav/kommuner/{KOMMUNE}", app.base))
        .bearer_auth(app.nav_system())
        .header("x-digisos-min-position", position.to_string())
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    let info: Value = response.json().await.expect("json");
    assert_eq!(info["kommunenummer"], KOMMUNE);
    assert_eq!(info["kanMottaSoknader"], true);
    assert_eq!(info["harMidlertidigDeaktivertMottak"], false);
    assert!(info.get("fiksOrgId").is_none(), "Nav's KommuneInfo carries no routing internals: {info}");

    let all = app.get("/nav/kommuner", Some(&app.nav_system())).await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body.as_array().map(Vec::len), Some(1));
}

async fn unknown_kommune_is_404_and_a_bad_number_400(app: &TestApp) {
    let token = app.nav_system();
    assert_eq!(app.get("/nav/kommuner/9999", Some(&token)).await.status, 404);
    let bad = app.get("/nav/kommuner/12a4", Some(&token)).await;
    assert_eq!(bad.status, 400, "{:?}", bad.body);
}

async fn nav_system_endpoints_refuse_other_callers(app: &TestApp) {
    assert_eq!(app.get("/nav/kommuner", None).await.status, 401);
    assert_eq!(app.get("/nav/kommuner", Some(&app.citizen(FNR))).await.status, 403);
    assert_eq!(app.get("/nav/kommuner", Some(&app.fagsystem(FAGSYSTEM_ORGNR))).await.status, 403);
    let body = json!({ "digisosIdListe": [] });
    assert_eq!(app.json(Method::POST, "/nav/soknader/status", Some(&app.admin()), &body).await.status, 403);
}

async fn soknad_status_turns_true_when_the_fagsystem_confirms_receipt(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let submitted = app
        .post_form(&format!("/soknader/{KOMMUNE}/ref-status-1"), Some(&app.citizen(FNR)), standard_soknad(FNR))
        .await;
    assert_eq!(submitted.status, 202, "{:?}", submitted.body);
    let id = submitted.body.as_str().expect("the id as a JSON string").to_string();
    let unknown = "0b6a1f52-6ad5-4a8e-9d1c-3b3f8f2b0c11";

    let body = json!({ "digisosIdListe": [id, unknown] });
    let reply = app.json(Method::POST, "/nav/soknader/status", Some(&app.nav_system()), &body).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(
        reply.body,
        json!({ "statusListe": [
            { "digisosId": id, "levertFagsystem": false },
            { "digisosId": unknown, "levertFagsystem": false },
        ]})
    );

    // The fagsystem takes the delivery from its mailbox and confirms receipt; Nav now sees it delivered.
    app.caught_up(submitted.position()).await;
    let fagsystem = app.fagsystem(FAGSYSTEM_ORGNR);
    let mailbox = app.get(&format!("/{FIKS_ORG_ID}/mottak"), Some(&fagsystem)).await;
    assert_eq!(mailbox.status, 200, "{:?}", mailbox.body);
    let leveranse = mailbox.body[0]["leveranseId"].as_str().expect("one waiting delivery").to_string();
    let receipt =
        app.send(Method::POST, &format!("/{FIKS_ORG_ID}/mottak/{leveranse}/kvittering"), Some(&fagsystem), None).await;
    assert_eq!(receipt.status, 204, "{:?}", receipt.body);
    let reply = app
        .json(Method::POST, "/nav/soknader/status", Some(&app.nav_system()), &json!({ "digisosIdListe": [id] }))
        .await;
    assert_eq!(reply.body, json!({ "statusListe": [{ "digisosId": id, "levertFagsystem": true }] }));
}

async fn soknad_status_refuses_bad_ids_by_json_path(app: &TestApp) {
    let body = json!({ "digisosIdListe": ["0b6a1f52-6ad5-4a8e-9d1c-3b3f8f2b0c11", "nope"] });
    let reply = app.json(Method::POST, "/nav/soknader/status", Some(&app.nav_system()), &body).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem_paths(), ["$.digisosIdListe[1]"]);
    let too_many: Vec<String> = (0..101).map(|i| format!("0b6a1f52-6ad5-4a8e-9d1c-{i:012}")).collect();
    let reply = app
        .json(Method::POST, "/nav/soknader/status", Some(&app.nav_system()), &json!({ "digisosIdListe": too_many }))
        .await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("at most 100"), "{}", reply.message());
}

on_both_backends!(
    kommune_info_lists_configured_kommuner_with_their_switches,
    unknown_kommune_is_404_and_a_bad_number_400,
    nav_system_endpoints_refuse_other_callers,
    soknad_status_turns_true_when_the_fagsystem_confirms_receipt,
    soknad_status_refuses_bad_ids_by_json_path,
);
