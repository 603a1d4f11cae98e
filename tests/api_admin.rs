//! The administrators' kommune configuration over HTTP (`PUT`/`GET /digisos/api/v1/admin/kommuner/{nr}`), on
//! SQLite and on PostgreSQL: what is put is read back and recorded once; refusals record nothing.

mod api_support;

use api_support::*;
use reqwest::Method;
use serde_json::json;

const PATH: &str = "/admin/kommuner/0301";

async fn configured_kommune_is_read_back_with_its_switches(app: &TestApp) {
    let put = app.configure_kommune(KOMMUNE, &kommune_config()).await;
    put.position();
    assert_eq!(put.body["kommunenummer"], KOMMUNE);
    assert_eq!(put.body["fiksOrgId"], FIKS_ORG_ID);

    let got = app.get(PATH, Some(&app.admin())).await;
    assert_eq!(got.status, 200, "{:?}", got.body);
    for (field, value) in kommune_config().as_object().expect("object") {
        assert_eq!(&got.body[field], value, "{field}");
    }
    assert_eq!(got.body["kommunenummer"], KOMMUNE);
    assert!(got.body["sistEndret"].is_string(), "{:?}", got.body);
    let events = app.stream_events("kommune-0301").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type, "KommuneKonfigurert.v1");
}

async fn putting_the_same_configuration_again_records_nothing(app: &TestApp) {
    let first = app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let second = app.configure_kommune(KOMMUNE, &kommune_config()).await;
    assert_eq!(second.position(), first.position());
    assert_eq!(app.events().await.len(), 1);
}

async fn changed_switches_are_recorded_and_read_back(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let mut changed = kommune_config();
    changed["harMidlertidigDeaktivertMottak"] = json!(true);
    changed["navEnheter"] = json!(["0315"]);
    let put = app.configure_kommune(KOMMUNE, &changed).await;
    assert_eq!(put.body["harMidlertidigDeaktivertMottak"], true);
    let got = app.get(PATH, Some(&app.admin())).await;
    assert_eq!(got.body["harMidlertidigDeaktivertMottak"], true);
    assert_eq!(got.body["navEnheter"], json!(["0315"]));
    assert_eq!(app.stream_events("kommune-0301").await.len(), 2);
}

async fn unconfigured_kommune_reads_as_404(app: &TestApp) {
    let got = app.get(PATH, Some(&app.admin())).await;
    assert_eq!(got.status, 404, "{:?}", got.body);
}

async fn admin_endpoints_refuse_non_admins_and_record_nothing(app: &TestApp) {
    let citizen = app.citizen(FNR);
    let fagsystem = app.fagsystem(FAGSYSTEM_ORGNR);
    for (token, status) in [(None, 401), (Some(citizen.as_str()), 403), (Some(fagsystem.as_str()), 403)] {
        let put = app.json(Method::PUT, PATH, token, &kommune_config()).await;
        assert_eq!(put.status, status, "PUT: {:?}", put.body);
        let got = app.get(PATH, token).await;
        assert_eq!(got.status, status, "GET: {:?}", got.body);
    }
    assert!(app.events().await.is_empty());
}

async fn invalid_configuration_is_400_and_records_nothing(app: &TestApp) {
    let admin = app.admin();
    let mut missing_switch = kommune_config();
    missing_switch.as_object_mut().expect("object").remove("kanMottaSoknader");
    let reply = app.json(Method::PUT, PATH, Some(&admin), &missing_switch).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.body["problems"][0]["message"].as_str().unwrap_or("").contains("kanMottaSoknader"));

    let mut twice = kommune_config();
    twice["navEnheter"] = json!(["0315", "0315"]);
    let reply = app.json(Method::PUT, PATH, Some(&admin), &twice).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.problem_paths(), ["$.navEnheter[1]"]);

    let reply = app.json(Method::PUT, "/admin/kommuner/03x1", Some(&admin), &kommune_config()).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.message().contains("kommunenummer"), "{:?}", reply.body);
    assert!(app.events().await.is_empty());
}

async fn fiks_org_id_of_a_kommune_cannot_change(app: &TestApp) {
    app.configure_kommune(KOMMUNE, &kommune_config()).await;
    let mut moved = kommune_config();
    moved["fiksOrgId"] = json!("5e9c1a0e-1111-4222-8333-944455556666");
    let reply = app.json(Method::PUT, PATH, Some(&app.admin()), &moved).await;
    assert_eq!(reply.status, 409, "{:?}", reply.body);
    assert_eq!(app.events().await.len(), 1);
}

on_both_backends!(
    configured_kommune_is_read_back_with_its_switches,
    putting_the_same_configuration_again_records_nothing,
    changed_switches_are_recorded_and_read_back,
    unconfigured_kommune_reads_as_404,
    admin_endpoints_refuse_non_admins_and_record_nothing,
    invalid_configuration_is_400_and_records_nothing,
    fiks_org_id_of_a_kommune_cannot_change,
);
