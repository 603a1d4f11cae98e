//! The authorization matrix: one table of who may do what, for every REST route the service registers
//! (`fiks_digisos::app::routes(..).rules()`) and every root field of the committed GraphQL schema
//! (`schema/schema.graphql`, types `Query` and `Subscription`). Each route and field is called as each kind of
//! caller and anonymously, and the outcome is checked against the table: anonymous → 401, a kind the table does
//! not name → 403 (GraphQL: the `FORBIDDEN` error), a kind it names → anything but a refusal of access. A route
//! or field without a row fails the test, so a new one must be given its audience here.
//!
//! Row-level checks follow: citizen A against citizen B's case (REST download of B's document, GraphQL `sak`),
//! and the fagsystem of kommune X against kommune Y's case (status update, upload, Y's mailbox).

mod api_support;
mod fagsystem_support;
mod graphql_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use api_support::*;
use fagsystem_support::*;
use fiks_digisos::auth::AuthConfig;
use fiks_digisos::http::AppState;
use fiks_digisos::http::access::Rule;
use fiks_digisos::http::multipart::UploadLimits;
use graphql_support::*;
use reqwest::Method;
use serde_json::{Value, json};

/// Every kind of caller, and no caller.
const KINDS: [&str; 6] = ["citizen", "nav-staff", "nav-system", "fagsystem", "admin", "anonymous"];
/// Every kind, for public routes.
const ALL: &[&str] = &KINDS;
const CITIZEN: &[&str] = &["citizen"];
const NAV_STAFF: &[&str] = &["nav-staff"];
const NAV_SYSTEM: &[&str] = &["nav-system"];
const FAGSYSTEM: &[&str] = &["fagsystem"];
const ADMIN: &[&str] = &["admin"];
/// Any verified caller (the GraphQL endpoint; its fields then have rows of their own).
const ANY_CALLER: &[&str] = &["citizen", "nav-staff", "nav-system", "fagsystem", "admin"];

/// Who may call each REST route: `(method, route template, kinds)`.
const REST: &[(&str, &str, &[&str])] = &[
    ("GET", "/internal/isalive", ALL),
    ("GET", "/internal/isready", ALL),
    ("GET", "/internal/metrics", ALL),
    ("GET", "/dev-issuer/jwks.json", ALL),
    ("GET", "/digisos/api/v1/openapi.json", ALL),
    ("GET", "/digisos/api/v1/swagger-ui", ALL),
    ("GET", "/digisos/api/v1/swagger-ui/", ALL),
    ("GET", "/digisos/api/v1/swagger-ui/{*rest}", ALL),
    ("GET", "/digisos/api/v1/admin/kommuner/{kommunenummer}", ADMIN),
    ("PUT", "/digisos/api/v1/admin/kommuner/{kommunenummer}", ADMIN),
    ("POST", "/digisos/api/v1/admin/kommuner/{kommunenummer}/fiks-io/integrasjon", ADMIN),
    ("GET", "/digisos/api/v1/nav/kommuner", NAV_SYSTEM),
    ("GET", "/digisos/api/v1/nav/kommuner/{kommunenummer}", NAV_SYSTEM),
    ("POST", "/digisos/api/v1/nav/soknader/status", NAV_SYSTEM),
    ("POST", "/digisos/api/v1/nav/soknader/soknader", NAV_SYSTEM),
    ("GET", "/digisos/api/v1/nav/soknader/{digisosId}", NAV_SYSTEM),
    ("GET", "/digisos/api/v1/nav/soknader/{digisosId}/dokumenter/{dokumentlagerId}", NAV_SYSTEM),
    ("POST", "/digisos/api/v1/{fiksOrgId}/ny", FAGSYSTEM),
    ("POST", "/digisos/api/v1/{fiksOrgId}/{digisosId}", FAGSYSTEM),
    ("DELETE", "/digisos/api/v1/{fiksOrgId}/{digisosId}", FAGSYSTEM),
    ("GET", "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer", FAGSYSTEM),
    ("POST", "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer", FAGSYSTEM),
    ("DELETE", "/digisos/api/v1/{fiksOrgId}/{digisosId}/filer", FAGSYSTEM),
    ("GET", "/digisos/api/v1/{fiksOrgId}/mottak", FAGSYSTEM),
    ("GET", "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}", FAGSYSTEM),
    ("POST", "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/kvittering", FAGSYSTEM),
    ("POST", "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/avvis", FAGSYSTEM),
    ("POST", "/digisos/api/v1/soknader/{kommunenummer}/{navEksternRefId}", CITIZEN),
    ("POST", "/digisos/api/v1/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}", CITIZEN),
    ("GET", "/digisos/api/v1/soknader/soknader", CITIZEN),
    ("GET", "/digisos/api/v1/soknader/{digisosId}", CITIZEN),
    ("GET", "/digisos/api/v1/soknader/{digisosId}/dokumenter/{dokumentlagerId}", CITIZEN),
    ("POST", "/digisos/api/v1/soknader/dokumenter", CITIZEN),
    ("GET", "/digisos/api/v1/dokumentlager/nedlasting/{dokumentlagerId}", &["citizen", "fagsystem"]),
    ("GET", "/digisos/api/v1/dokumentlager-public-key", ALL),
    ("POST", "/fiks-io/api/v1/send", FAGSYSTEM),
    ("GET", "/dokumentlager/nedlasting/{dokumentlagerId}", FAGSYSTEM),
    ("GET", "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel", ALL),
    ("GET", "/fiks-io/katalog/api/v1/kontoer/{kontoId}", FAGSYSTEM),
    ("GET", "/fiks-io/katalog/api/v1/kontoer/{kontoId}/status", FAGSYSTEM),
    ("PUT", "/fiks-io/katalog/api/v1/kontoer/{kontoId}/offentligNokkel", FAGSYSTEM),
    ("POST", "/fiks-io/amqp-auth/user", ALL),
    ("POST", "/fiks-io/amqp-auth/vhost", ALL),
    ("POST", "/fiks-io/amqp-auth/resource", ALL),
    ("POST", "/fiks-io/amqp-auth/topic", ALL),
    ("GET", "/digisos/api/v1/mellomlagring/{navEksternRefId}", NAV_SYSTEM),
    ("POST", "/digisos/api/v1/mellomlagring/{navEksternRefId}", NAV_SYSTEM),
    ("DELETE", "/digisos/api/v1/mellomlagring/{navEksternRefId}", NAV_SYSTEM),
    ("GET", "/digisos/api/v1/mellomlagring/{navEksternRefId}/{filId}", NAV_SYSTEM),
    ("DELETE", "/digisos/api/v1/mellomlagring/{navEksternRefId}/{filId}", NAV_SYSTEM),
    ("POST", "/digisos/api/v2/soknader/{kommunenummer}/{navEksternRefId}", CITIZEN),
    ("POST", "/digisos/api/v2/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}", CITIZEN),
    ("POST", "/graphql", ANY_CALLER),
    ("GET", "/graphql", ALL),
    ("GET", "/graphql/ws", ALL),
    ("GET", "/kommune", ALL),
    ("POST", "/kommune/login", ALL),
    ("POST", "/kommune/logout", ALL),
    ("GET", "/kommune/organisasjoner", FAGSYSTEM),
    ("GET", "/kommune/{fiksOrgId}/mottak", FAGSYSTEM),
    ("GET", "/kommune/{fiksOrgId}/mottak/{leveranseId}", FAGSYSTEM),
    ("POST", "/kommune/{fiksOrgId}/mottak/{leveranseId}/kvitter", FAGSYSTEM),
    ("POST", "/kommune/{fiksOrgId}/mottak/{leveranseId}/avvis", FAGSYSTEM),
    ("GET", "/kommune/{fiksOrgId}/dokument/{dokumentlagerId}", FAGSYSTEM),
];

const SOME_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// Who may use each GraphQL root field: `(type, field, an operation using it, kinds)`.
const GRAPHQL: &[(&str, &str, &str, &[&str])] = &[
    ("Query", "mineSaker", "{ mineSaker { status } }", CITIZEN),
    ("Query", "sak", "{ sak(fiksDigisosId: \"3fa85f64-5717-4562-b3fc-2c963f66afa6\") { status } }", CITIZEN),
    ("Query", "innsynslogg", "{ innsynslogg { hva } }", CITIZEN),
    ("Query", "nySoknadUtkast", "{ nySoknadUtkast(kommunenummer: \"0301\") { soknadstype } }", CITIZEN),
    ("Query", "navSaker", "{ navSaker(fnr: \"01017012343\", sporingsId: \"matrix\") { status } }", NAV_STAFF),
    (
        "Query",
        "navSak",
        "{ navSak(fiksDigisosId: \"3fa85f64-5717-4562-b3fc-2c963f66afa6\", sporingsId: \"matrix\") { status } }",
        NAV_STAFF,
    ),
    ("Query", "kommuneSaker", "{ kommuneSaker { harFlere } }", FAGSYSTEM),
    (
        "Subscription",
        "sakOppdatert",
        "subscription { sakOppdatert(fiksDigisosId: \"3fa85f64-5717-4562-b3fc-2c963f66afa6\") { status } }",
        CITIZEN,
    ),
];

/// The fields of `type_name` in the SDL text (descriptions skipped).
fn sdl_fields(sdl: &str, type_name: &str) -> Vec<String> {
    let body = sdl
        .split(&format!("type {type_name} {{"))
        .nth(1)
        .and_then(|t| t.split("\n}").next())
        .unwrap_or_else(|| panic!("no type {type_name} in the SDL"));
    let mut in_description = false;
    let mut fields = Vec::new();
    for line in body.lines().map(str::trim) {
        if line.starts_with("\"\"\"") {
            // A one-line description opens and closes on the same line.
            in_description = !(in_description || (line.len() > 3 && line.ends_with("\"\"\"")));
            continue;
        }
        if !in_description && !line.is_empty() && !line.starts_with('"') && !line.starts_with('#') {
            fields.push(line.split(['(', ':']).next().unwrap_or_default().trim().to_owned());
        }
    }
    fields
}

/// The committed SDL.
fn committed_sdl() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql"))
        .expect("schema/schema.graphql is committed")
}

/// The route template with each parameter replaced by a syntactically valid value.
fn concrete(template: &str, case_id: &str) -> String {
    template
        .replace("{kommunenummer}", KOMMUNE)
        .replace("{fiksOrgId}", FIKS_ORG_ID)
        .replace("{digisosId}", case_id)
        .replace("{fiksDigisosId}", case_id)
        .replace("{navEksternRefId}", &uuid::Uuid::new_v4().to_string())
        .replace("{leveranseId}", SOME_ID)
        .replace("{dokumentlagerId}", SOME_ID)
        .replace("{filId}", SOME_ID)
        .replace("{kontoId}", SOME_ID)
        .replace("{*rest}", "index.html")
}

/// The token of each kind (`None` for anonymous).
fn token_of(app: &TestApp, kind: &str) -> Option<String> {
    match kind {
        "citizen" => Some(app.citizen(FNR)),
        "nav-staff" => Some(app.nav_staff("Z990001")),
        "nav-system" => Some(app.nav_system()),
        "fagsystem" => Some(fagsystem(app)),
        "admin" => Some(app.admin()),
        "anonymous" => None,
        other => panic!("unknown kind {other}"),
    }
}

/// Calls `method url` with a JSON body `{}` (a body the handler reads and may refuse, after access is decided).
async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let method: Method = method.parse().expect("a method");
    let mut request = app.client().request(method.clone(), format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if method != Method::GET && method != Method::DELETE {
        request = request.header("content-type", "application/json").body("{}");
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// The registered routes and their rules, from an app state like the harness's (development mode).
fn registered_routes(app: &TestApp) -> Vec<(String, String, Rule)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let auth = fiks_digisos::auth::Authenticator::from_config(
        &AuthConfig { issuers: "[]".into(), dev_mode: true },
        dir.path(),
    )
    .expect("authenticator");
    let state = AppState {
        store: app.store.clone(),
        auth: Arc::new(auth),
        documents: app.documents.clone(),
        upload_limits: UploadLimits::default(),
        kryptering: fiks_digisos::kryptering::Kryptering::generated(false).expect("a key pair"),
        fiks_io: None,
    };
    fiks_digisos::app::routes(&state).rules().into_iter().map(|(m, p, r)| (m.to_string(), p, r)).collect()
}

async fn every_rest_route_answers_each_kind_as_the_table_says(app: &TestApp) {
    kommuner(app).await;
    let case_id = submitted(app, REF).await;
    let routes = registered_routes(app);
    for (method, path, rule) in &routes {
        let row = REST.iter().find(|(m, p, _)| m == method && p == path);
        let (_, _, allowed) = row.unwrap_or_else(|| panic!("{method} {path} has no row in the authorization table"));
        // The table agrees with the rule the route was registered with.
        match rule {
            Rule::Public => assert_eq!(*allowed, ALL, "{method} {path} is public"),
            Rule::Callers(kinds) => {
                let named: BTreeSet<String> = kinds.iter().map(|k| k.to_string()).collect();
                let table: BTreeSet<String> = allowed.iter().map(|k| k.to_string()).collect();
                assert_eq!(named, table, "{method} {path}: the registered rule and the table disagree");
            }
        }
        for kind in KINDS {
            let token = token_of(app, kind);
            let (status, body) = call(app, method, &concrete(path, &case_id), token.as_deref()).await;
            if allowed.contains(&kind) {
                assert!(status != 401 && status != 403, "{kind} may use {method} {path}, got {status}: {body}");
            } else if kind == "anonymous" {
                assert_eq!(status, 401, "{method} {path} without a token: {body}");
            } else {
                assert_eq!(status, 403, "{kind} must not use {method} {path}: {body}");
            }
        }
    }
    // No stale rows: every row of the table names a registered route.
    for (method, path, _) in REST {
        assert!(
            routes.iter().any(|(m, p, _)| m == method && p == path),
            "the table lists {method} {path}, which is not registered"
        );
    }
}

/// The subscription's first answer as `kind`: `Ok(code)` of its first error (empty when none), `Err` when the
/// socket was refused at `connection_init`.
async fn subscribe_as(app: &TestApp, token: &str, query: &str) -> Result<String, String> {
    let (ack, mut live) = Subscriber::connect(app, token).await;
    if ack != "connection_ack" {
        return Err(ack);
    }
    live.subscribe("1", query, json!({})).await;
    let first = live.next().await.expect("an answer to the subscription");
    let errors = match first["type"].as_str() {
        Some("next") => first["payload"]["errors"].clone(),
        _ => first["payload"].clone(),
    };
    Ok(errors[0]["extensions"]["code"].as_str().unwrap_or_default().to_owned())
}

async fn every_graphql_root_field_answers_each_kind_as_the_table_says(app: &TestApp) {
    kommuner(app).await;
    let sdl = committed_sdl();
    for type_name in ["Query", "Subscription"] {
        for field in sdl_fields(&sdl, type_name) {
            assert!(
                GRAPHQL.iter().any(|(t, f, _, _)| *t == type_name && *f == field),
                "{type_name}.{field} has no row in the authorization table"
            );
        }
    }
    for (type_name, field, operation, allowed) in GRAPHQL {
        assert!(sdl_fields(&sdl, type_name).iter().any(|f| f == field), "{type_name}.{field} is not in the SDL");
        for kind in KINDS {
            let token = token_of(app, kind);
            if *type_name == "Subscription" {
                let outcome = match &token {
                    Some(token) => subscribe_as(app, token, operation).await,
                    None => subscribe_as(app, "", operation).await,
                };
                if kind == "anonymous" {
                    assert!(outcome.is_err(), "{field} without a token: {outcome:?}");
                } else if allowed.contains(&kind) {
                    assert!(outcome.as_deref().is_ok_and(|c| c != "FORBIDDEN"), "{kind} may use {field}: {outcome:?}");
                } else {
                    assert_eq!(outcome.as_deref(), Ok("FORBIDDEN"), "{kind} must not use {field}");
                }
                continue;
            }
            let reply = gql(app, token.as_deref(), operation, json!({}), None).await;
            if kind == "anonymous" {
                assert_eq!(reply.status, 401, "{field} without a token: {:?}", reply.body);
            } else if allowed.contains(&kind) {
                assert_eq!(reply.status, 200, "{kind}: {field}: {:?}", reply.body);
                assert!(reply.body.get("errors").is_none(), "{kind} may use {field}: {}", reply.body);
            } else {
                assert_eq!(reply.error_code(), "FORBIDDEN", "{kind} must not use {field}: {}", reply.body);
                assert!(reply.body["data"].is_null() || reply.body["data"][field].is_null(), "{}", reply.body);
            }
        }
    }
}

async fn a_citizen_gets_nothing_of_another_citizens_case(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let owner = app.citizen(FNR);
    let other = app.citizen(OTHER_FNR);
    let query = "query($id: String!) { sak(fiksDigisosId: $id) { soknadPdf { url } dokumenter { url } } }";
    let own = gql(app, Some(&owner), query, json!({"id": id}), None).await;
    let sak = &own.data()["sak"];
    let mut urls: Vec<String> = vec![sak["soknadPdf"]["url"].as_str().expect("the søknad PDF's link").to_owned()];
    urls.extend(
        sak["dokumenter"].as_array().expect("documents").iter().filter_map(|d| d["url"].as_str().map(String::from)),
    );
    assert!(urls.len() > 1, "{sak}");
    for url in &urls {
        let (status, _, _) = download(app, url, &owner).await;
        assert_eq!(status, 200, "the owner downloads {url}");
        let (status, _, bytes) = download(app, url, &other).await;
        assert!(status == 403 || status == 404, "another citizen downloads {url}: {status}");
        assert!(bytes.len() < 1000 && !bytes.starts_with(b"%PDF"), "no document bytes to another citizen");
    }
    let theirs = gql(app, Some(&other), query, json!({"id": id}), None).await;
    assert_eq!(theirs.data()["sak"], Value::Null, "another citizen's `sak` is null");
    // The Fiks REST read API: the case, and its soknad.json by the id in the owner's DigisosSak, are 404.
    let sak = app.get(&format!("/soknader/{id}"), Some(&owner)).await;
    assert_eq!(sak.status, 200, "{:?}", sak.body);
    let soknad_json = sak.body["originalSoknadNAV"]["metadata"].as_str().expect("soknad.json's id").to_owned();
    assert_eq!(app.get(&format!("/soknader/{id}"), Some(&other)).await.status, 404);
    let (status, _, _) = download(app, &format!("{PREFIX}/soknader/{id}/dokumenter/{soknad_json}"), &other).await;
    assert_eq!(status, 404, "another citizen fetches soknad.json");
}

async fn a_fagsystem_cannot_touch_another_kommunes_case(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let intruder = other_fagsystem(app);
    let before = app.event_summary().await;

    let body = update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]);
    for org in [FIKS_ORG_ID, OTHER_FIKS_ORG_ID] {
        let reply = app.json(Method::POST, &format!("/{org}/{id}"), Some(&intruder), &body).await;
        assert!(reply.status == 403 || reply.status == 404, "status update via {org}: {:?}", reply.body);
        let form = Form::new().pair(0, "brev.pdf", &file_bytes(100, 1));
        let reply = app.post_form(&format!("/{org}/{id}/filer"), Some(&intruder), form).await;
        assert!(reply.status == 403 || reply.status == 404, "upload via {org}: {:?}", reply.body);
    }
    let mailbox = app.get(&format!("/{FIKS_ORG_ID}/mottak"), Some(&intruder)).await;
    assert!(mailbox.status == 403 || mailbox.status == 404, "the other kommune's mailbox: {:?}", mailbox.body);
    assert_eq!(app.event_summary().await, before, "the refusals recorded nothing");

    // The case's own fagsystem does reach it (the refusals above are about the caller, not the request).
    let own = mailbox_of(app).await;
    assert!(own.iter().any(|d| d.to_string().contains(&id)), "{own:?}");
    let reply = update(app, &id, &fagsystem(app), &body).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

async fn mailbox_of(app: &TestApp) -> Vec<Value> {
    mailbox(app).await
}

on_both_backends!(
    every_rest_route_answers_each_kind_as_the_table_says,
    every_graphql_root_field_answers_each_kind_as_the_table_says,
    a_citizen_gets_nothing_of_another_citizens_case,
    a_fagsystem_cannot_touch_another_kommunes_case,
);
