//! Helpers of the fagsystem and mailbox tests, on top of the shared harness (`api_support`): a configured
//! kommune whose configuration the read models have seen, a submitted søknad, status-update bodies, uploads,
//! the mailbox after the read models caught up, and raw downloads (the harness parses bodies as JSON).
#![allow(dead_code)]

use crate::api_support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// The Nav reference of the standard søknad.
pub const REF: &str = "7c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5e";
/// Another kommune, with its own Fiks organisation and fagsystem.
pub const OTHER_KOMMUNE: &str = "4601";
/// The other kommune's Fiks organisation.
pub const OTHER_FIKS_ORG_ID: &str = "8c2c7b1e-1d2e-4f3a-9b8c-7d6e5f4a3b2c";
/// The other kommune's fagsystem (valid control digit).
pub const OTHER_ORGNR: &str = "974760673";

/// The other kommune's configuration.
pub fn other_kommune_config() -> Value {
    let mut config = kommune_config();
    config["fiksOrgId"] = json!(OTHER_FIKS_ORG_ID);
    config["fagsystemOrgnr"] = json!([OTHER_ORGNR]);
    config["navEnheter"] = json!(["1201"]);
    config
}

/// Configures [`KOMMUNE`] and the other kommune and waits until the read models know both.
pub async fn kommuner(app: &TestApp) {
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let reply = app.configure_kommune(KOMMUNE, &kommune_config()).await;
    app.caught_up(reply.position()).await;
}

/// Our fagsystem's token.
pub fn fagsystem(app: &TestApp) -> String {
    app.fagsystem(FAGSYSTEM_ORGNR)
}

/// The other kommune's fagsystem's token.
pub fn other_fagsystem(app: &TestApp) -> String {
    app.fagsystem(OTHER_ORGNR)
}

/// Submits the standard søknad of [`FNR`] under `reference`; returns the case id once the read models have it.
pub async fn submitted(app: &TestApp, reference: &str) -> String {
    let reply =
        app.post_form(&format!("/soknader/{KOMMUNE}/{reference}"), Some(&app.citizen(FNR)), standard_soknad(FNR)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    reply.body.as_str().expect("the id as a JSON string").to_owned()
}

/// Creates a paper case of [`FNR`]; returns its id.
pub async fn paper_case(app: &TestApp) -> String {
    let reply = app.send(Method::POST, &format!("/{FIKS_ORG_ID}/ny?sokerFnr={FNR}"), Some(&fagsystem(app)), None).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body.as_str().expect("the id as a JSON string").to_owned()
}

/// A status-update body with these hendelser.
pub fn update_body(hendelser: &[Value]) -> Value {
    json!({
        "type": "no.nav.digisos.digisos.soker.v1",
        "sak": {"soker": {
            "version": "1.0.0",
            "avsender": {"systemnavn": "Testsystemet", "systemversjon": "1.0.0"},
            "hendelser": hendelser,
        }}
    })
}

/// `soknadsStatus` hendelse.
pub fn status(status: &str, tidspunkt: &str) -> Value {
    json!({"type": "soknadsStatus", "hendelsestidspunkt": tidspunkt, "status": status})
}

/// A `vedtakFattet` whose vedtaksfil is dokumentlager file `id`.
pub fn vedtak(id: &str) -> Value {
    json!({
        "type": "vedtakFattet", "hendelsestidspunkt": "2018-10-12T13:37:00.134Z", "saksreferanse": "SAK1",
        "utfall": "INNVILGET", "vedtaksfil": {"referanse": {"type": "dokumentlager", "id": id}}, "vedlegg": []
    })
}

/// Posts a status update with `token`.
pub async fn update(app: &TestApp, id: &str, token: &str, body: &Value) -> Reply {
    app.json(Method::POST, &format!("/{FIKS_ORG_ID}/{id}"), Some(token), body).await
}

/// Uploads `files` (name, bytes) to case `id` as our fagsystem.
pub async fn upload(app: &TestApp, id: &str, files: &[(&str, Vec<u8>)]) -> Reply {
    let mut form = Form::new();
    for (i, (name, bytes)) in files.iter().enumerate() {
        form = form.pair(i, name, bytes);
    }
    app.post_form(&format!("/{FIKS_ORG_ID}/{id}/filer"), Some(&fagsystem(app)), form).await
}

/// The waiting deliveries of our mailbox.
pub async fn mailbox(app: &TestApp) -> Vec<Value> {
    let reply = app.get(&format!("/{FIKS_ORG_ID}/mottak"), Some(&fagsystem(app))).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.body.as_array().expect("a list").clone()
}

/// A raw GET of `path` (absolute, with the prefix): status, content type and bytes.
pub async fn download(app: &TestApp, path: &str, token: &str) -> (u16, String, Vec<u8>) {
    let response =
        app.client().get(format!("{}{path}", app.base)).bearer_auth(token).send().await.expect("the app answers");
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, content_type, response.bytes().await.expect("body").to_vec())
}

/// How many events of `event_type` are in the store.
pub async fn count(app: &TestApp, event_type: &str) -> usize {
    app.event_summary().await.iter().filter(|(_, t)| t == event_type).count()
}
