//! The Fiks REST read API as Nav's two backends use it, over real HTTP on both backends.
//!
//! As Nav's innsyn-api (the citizen's token): list and read `DigisosSak` (DOMAIN.md A.5, every field the Kotlin
//! model needs), fetch `soknad.json`, `vedlegg.json` and `digisos-soker.json` by the ids found in it and compare
//! them byte for byte with what Nav and the fagsystem sent (sent pretty-printed, with keys out of order, so a
//! re-serialised copy would not pass), read many `digisos-soker.json` at once as `multipart/mixed` parsed the way
//! innsyn-api parses it, and see that another citizen gets 404 and a deleted case 410.
//!
//! As Nav's modia-api (Nav's Maskinporten identity): the staff reads with `sporingsId`, each recorded in the
//! audit trail (`SystemAccessRecorded.v1`) before the data is returned and shown in the citizen's innsynslogg,
//! the person's number in no ordinary log line; a case unchanged for 15 months is left out of the list and
//! refused (404, recorded as DENY); PDFs and attachments are 404; a missing `sporingsId` or a bad fnr is 400
//! and records nothing.

mod api_support;
mod fagsystem_support;
mod graphql_support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use api_support::*;
use chrono::Utc;
use digisos_schema::types::Tidspunkt;
use fagsystem_support::*;
use fiks_digisos::commands::{self, SakAggregate};
use fiks_digisos::eventstore::{ExpectedRevision, NewEvent, Position, StreamName};
use fiks_digisos::sak::{EraseCase, SakCommand};
use graphql_support::gql;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

/// The Nav system's organisation number in development tokens.
const NAV_ORGNR: &str = "889640782";
/// Nav's other reference, for a second case.
const REF_2: &str = "8c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5f";
/// An id nothing has.
const UNKNOWN: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

const MOTTATT: &str =
    r#"{ "type": "soknadsStatus", "status": "MOTTATT", "hendelsestidspunkt": "2018-10-04T13:37:00.134Z" }"#;
const UNDER_BEHANDLING: &str =
    r#"{ "type": "soknadsStatus", "status": "UNDER_BEHANDLING", "hendelsestidspunkt": "2018-10-05T13:37:00.134Z" }"#;

/// An answer as raw bytes.
struct Raw {
    status: u16,
    headers: HeaderMap,
    bytes: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    fn content_type(&self) -> &str {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// `method PREFIX + path` with `token`, optionally `x-digisos-min-position` and a JSON body.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    min: Option<Position>,
    body: Option<&Value>,
) -> Raw {
    let mut request =
        app.client().request(method, format!("{}{PREFIX}{path}", app.base)).bearer_auth(token).header("accept", "*/*");
    if let Some(position) = min {
        request = request.header("x-digisos-min-position", position.to_string());
    }
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body.to_string());
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Raw { status, headers, bytes: response.bytes().await.expect("body").to_vec() }
}

async fn get(app: &TestApp, path: &str, token: &str) -> Raw {
    raw(app, Method::GET, path, token, None, None).await
}

/// The standard søknad of `fnr` with its JSON parts pretty-printed: the form and the exact `soknad.json` and
/// `vedlegg.json` text sent.
fn pretty_soknad(fnr: &str) -> (Form, String, String) {
    let soknad = serde_json::to_string_pretty(&soknad_json(fnr)).expect("json");
    let vedlegg = serde_json::to_string_pretty(&resource("vedlegg/gyldig_standard.json")).expect("json");
    let mut form = Form::new()
        .text("tilleggsinformasjonJson", &format!("{{ \"enhetsnummer\": \"{ENHET}\" }}"))
        .text("soknadJson", &soknad)
        .text("vedleggJson", &vedlegg)
        .pair(0, "Soknad.pdf", &file_bytes(2000, 0));
    for (i, (name, bytes)) in standard_vedlegg().iter().enumerate() {
        form = form.pair(i + 1, name, bytes);
    }
    (form, soknad, vedlegg)
}

/// The harness's ettersendelse with its `vedlegg.json` pretty-printed: the form and the exact text sent.
fn pretty_ettersendelse(seed: u8) -> (Form, String) {
    let first = file_bytes(900, seed);
    let mut vedlegg = resource("vedlegg/gyldig_komplett.json");
    vedlegg["vedlegg"][0]["filer"][0]["sha512"] = json!(digisos_schema::events::Sha512::of_bytes(&first).as_str());
    let text = serde_json::to_string_pretty(&vedlegg).expect("json");
    let names = ["endaenfil-u95sdfght.png", "DCIM6666-ae94343bc.jpg", "yeyeye-u95sdfght.png", "alalla-ae94343bc.jpg"];
    let mut form = Form::new().text("vedlegg.json", &text).pair(0, names[0], &first);
    for (i, name) in names.iter().enumerate().skip(1) {
        form = form.pair(i, name, &file_bytes(100 * i, seed.wrapping_add(i as u8)));
    }
    (form.pair(names.len(), "ettersendelse.pdf", &file_bytes(50, seed)), text)
}

/// Submits `fnr`'s pretty søknad under `reference`: the case id, the position and the JSON texts sent.
async fn submit(app: &TestApp, fnr: &str, reference: &str) -> (String, Position, String, String) {
    let (form, soknad, vedlegg) = pretty_soknad(fnr);
    let reply = app.post_form(&format!("/soknader/{KOMMUNE}/{reference}"), Some(&app.citizen(fnr)), form).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    (reply.body.as_str().expect("the id").to_owned(), reply.position(), soknad, vedlegg)
}

/// A `digisos-soker.json` as a fagsystem might write it: indented, `avsender`'s keys out of order.
fn soker(hendelser: &[&str]) -> String {
    format!(
        "{{\n  \"version\": \"1.0.0\",\n  \"avsender\": {{ \"systemversjon\": \"1.0.0\", \"systemnavn\": \"Testsystemet\" }},\n  \
         \"hendelser\": [\n    {}\n  ]\n}}",
        hendelser.join(",\n    ")
    )
}

/// Posts `soker` as the case's status file, byte for byte inside the envelope; returns the position.
async fn publish(app: &TestApp, id: &str, soker: &str) -> Position {
    let body = format!("{{\"type\": \"no.nav.digisos.digisos.soker.v1\",  \"sak\": {{ \"soker\": {soker} }} }}");
    let reply = app
        .send(
            Method::POST,
            &format!("/{FIKS_ORG_ID}/{id}"),
            Some(&fagsystem(app)),
            Some(("application/json", body.into())),
        )
        .await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.position()
}

/// Checks that `sak` has exactly the fields of the Kotlin `DigisosSak`, each non-nullable one present and of its
/// type (jackson-module-kotlin fails the whole read otherwise).
fn assert_kotlin_shape(sak: &Value) {
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().expect("an object").keys().cloned().collect();
        k.sort();
        k
    };
    let sorted = |names: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    };
    let dokument_info = |d: &Value| {
        assert_eq!(keys(d), sorted(&["filnavn", "dokumentlagerDokumentId", "storrelse"]), "{d}");
        assert!(d["filnavn"].is_string() && d["dokumentlagerDokumentId"].is_string() && d["storrelse"].is_u64(), "{d}");
        uuid::Uuid::parse_str(d["dokumentlagerDokumentId"].as_str().unwrap()).expect("a UUID");
    };
    assert_eq!(
        keys(sak),
        sorted(&[
            "fiksDigisosId",
            "sokerFnr",
            "fiksOrgId",
            "kommunenummer",
            "sistEndret",
            "originalSoknadNAV",
            "ettersendtInfoNAV",
            "digisosSoker",
            "tilleggsinformasjon"
        ])
    );
    for text in ["fiksDigisosId", "sokerFnr", "fiksOrgId", "kommunenummer"] {
        assert!(sak[text].is_string(), "{text}: {sak}");
    }
    assert!(sak["sistEndret"].is_i64(), "{sak}");
    let soknad = &sak["originalSoknadNAV"];
    if !soknad.is_null() {
        assert_eq!(
            keys(soknad),
            sorted(&["navEksternRefId", "metadata", "vedleggMetadata", "soknadDokument", "vedlegg", "timestampSendt"])
        );
        for text in ["navEksternRefId", "metadata", "vedleggMetadata"] {
            assert!(soknad[text].is_string(), "{text}: {soknad}");
        }
        assert!(soknad["timestampSendt"].is_i64());
        dokument_info(&soknad["soknadDokument"]);
        soknad["vedlegg"].as_array().expect("a list").iter().for_each(dokument_info);
    }
    let ettersendt = &sak["ettersendtInfoNAV"];
    if !ettersendt.is_null() {
        assert_eq!(keys(ettersendt), sorted(&["ettersendelser"]));
        for e in ettersendt["ettersendelser"].as_array().expect("a list") {
            assert_eq!(keys(e), sorted(&["navEksternRefId", "vedleggMetadata", "vedlegg", "timestampSendt"]));
            assert!(
                e["navEksternRefId"].is_string() && e["vedleggMetadata"].is_string() && e["timestampSendt"].is_i64()
            );
            e["vedlegg"].as_array().expect("a list").iter().for_each(dokument_info);
        }
    }
    let soker = &sak["digisosSoker"];
    if !soker.is_null() {
        assert_eq!(keys(soker), sorted(&["metadata", "dokumenter", "timestampSistOppdatert"]));
        assert!(soker["metadata"].is_string() && soker["timestampSistOppdatert"].is_i64());
        soker["dokumenter"].as_array().expect("a list").iter().for_each(dokument_info);
    }
    let tillegg = &sak["tilleggsinformasjon"];
    if !tillegg.is_null() {
        assert_eq!(keys(tillegg), sorted(&["enhetsnummer"]));
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}")).to_owned()
}

/// The JSON document `dokument` of case `id` as the citizen fetches it; asserts 200 and `application/json`.
async fn document(app: &TestApp, id: &str, dokument: &Value, token: &str) -> String {
    let reply = get(app, &format!("/soknader/{id}/dokumenter/{}", text(dokument)), token).await;
    assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.bytes));
    assert_eq!(reply.content_type(), "application/json");
    String::from_utf8(reply.bytes).expect("UTF-8")
}

async fn innsyn_reads_the_digisos_sak_with_every_a5_field_and_its_json_documents_exactly_as_sent(app: &TestApp) {
    kommuner(app).await;
    let citizen = app.citizen(FNR);
    let (id, _, soknad_sent, vedlegg_sent) = submit(app, FNR, REF).await;
    let (form, ettersendt_vedlegg) = pretty_ettersendelse(3);
    let reply = app.post_form(&format!("/soknader/{KOMMUNE}/{id}/{REF}0001"), Some(&citizen), form).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let uploaded = upload(app, &id, &[("vedtak.pdf", file_bytes(700, 9))]).await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    let soker_sent = soker(&[MOTTATT]);
    let position = publish(app, &id, &soker_sent).await;

    // The list, read at the update's position (x-digisos-min-position), as innsyn-api reads it.
    let list = raw(app, Method::GET, "/soknader/soknader", &citizen, Some(position), None).await;
    assert_eq!(list.status, 200, "{}", String::from_utf8_lossy(&list.bytes));
    assert!(list.content_type().starts_with("application/json"), "{}", list.content_type());
    let saker = list.json();
    let saker = saker.as_array().expect("a list");
    assert_eq!(saker.len(), 1, "{saker:?}");
    let sak = &saker[0];
    assert_kotlin_shape(sak);
    assert_eq!((text(&sak["fiksDigisosId"]), text(&sak["sokerFnr"])), (id.clone(), FNR.to_owned()));
    assert_eq!((text(&sak["fiksOrgId"]), text(&sak["kommunenummer"])), (FIKS_ORG_ID.to_owned(), KOMMUNE.to_owned()));
    assert_eq!(sak["tilleggsinformasjon"], json!({"enhetsnummer": ENHET}));
    let soknad = &sak["originalSoknadNAV"];
    assert_eq!(soknad["navEksternRefId"], REF);
    assert_eq!(soknad["soknadDokument"]["filnavn"], "Soknad.pdf");
    assert_eq!(soknad["soknadDokument"]["storrelse"], 2000);
    let names: Vec<String> = soknad["vedlegg"].as_array().unwrap().iter().map(|v| text(&v["filnavn"])).collect();
    let expected: Vec<String> = standard_vedlegg().iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(names, expected, "the søknad's files in the order sent");
    let ettersendelser = sak["ettersendtInfoNAV"]["ettersendelser"].as_array().expect("one ettersendelse");
    assert_eq!(ettersendelser.len(), 1);
    assert_eq!(ettersendelser[0]["navEksternRefId"], format!("{REF}0001"));
    assert_eq!(ettersendelser[0]["vedlegg"].as_array().unwrap().last().unwrap()["filnavn"], "ettersendelse.pdf");
    let digisos_soker = &sak["digisosSoker"];
    assert_eq!(digisos_soker["dokumenter"], uploaded.body, "the fagsystem's files, as its upload answered");
    let now = Utc::now().timestamp_millis();
    let sendt = soknad["timestampSendt"].as_i64().unwrap();
    let oppdatert = digisos_soker["timestampSistOppdatert"].as_i64().unwrap();
    assert!(now - 600_000 < sendt && sendt <= oppdatert && oppdatert <= now, "{sendt} {oppdatert} {now}");
    assert!(sak["sistEndret"].as_i64().unwrap() >= oppdatert);

    // One case: the same DigisosSak.
    let one = get(app, &format!("/soknader/{id}"), &citizen).await;
    assert_eq!(one.status, 200);
    assert_eq!(&one.json(), sak);

    // The JSON documents by the ids found in DigisosSak: the bytes as they were sent.
    assert_eq!(document(app, &id, &digisos_soker["metadata"], &citizen).await, soker_sent);
    assert_eq!(document(app, &id, &soknad["metadata"], &citizen).await, soknad_sent);
    assert_eq!(document(app, &id, &soknad["vedleggMetadata"], &citizen).await, vedlegg_sent);
    assert_eq!(document(app, &id, &ettersendelser[0]["vedleggMetadata"], &citizen).await, ettersendt_vedlegg);
    // Files are not JSON documents: the søknad PDF, an attachment, an ettersendt file, the fagsystem's letter.
    let files = [
        &soknad["soknadDokument"]["dokumentlagerDokumentId"],
        &soknad["vedlegg"][0]["dokumentlagerDokumentId"],
        &ettersendelser[0]["vedlegg"][0]["dokumentlagerDokumentId"],
        &digisos_soker["dokumenter"][0]["dokumentlagerDokumentId"],
    ];
    for file in files.into_iter().map(text).chain([UNKNOWN.to_owned(), "not-a-uuid".to_owned()]) {
        let reply = get(app, &format!("/soknader/{id}/dokumenter/{file}"), &citizen).await;
        assert_eq!(reply.status, 404, "{file}");
        assert!(!reply.bytes.starts_with(b"%PDF"));
    }

    // A new file: a new id and a later timestampSistOppdatert; the earlier file is no longer served.
    let second = soker(&[MOTTATT, UNDER_BEHANDLING]);
    let position = publish(app, &id, &second).await;
    let again = raw(app, Method::GET, &format!("/soknader/{id}"), &citizen, Some(position), None).await.json();
    assert_kotlin_shape(&again);
    assert_ne!(again["digisosSoker"]["metadata"], digisos_soker["metadata"]);
    assert!(again["digisosSoker"]["timestampSistOppdatert"].as_i64().unwrap() > oppdatert);
    assert_eq!(document(app, &id, &again["digisosSoker"]["metadata"], &citizen).await, second);
    let old = get(app, &format!("/soknader/{id}/dokumenter/{}", text(&digisos_soker["metadata"])), &citizen).await;
    assert_eq!(old.status, 404, "only the current digisos-soker.json is served");
}

async fn a_paper_case_is_a_digisos_sak_without_nav_parts_once_the_kommune_publishes_a_status(app: &TestApp) {
    kommuner(app).await;
    let citizen = app.citizen(FNR);
    let id = paper_case(app).await;
    let reply = app.send(Method::POST, &format!("/{FIKS_ORG_ID}/ny?sokerFnr={FNR}"), Some(&fagsystem(app)), None).await;
    let hidden = text(&reply.body);
    let position = reply.position();
    let list = raw(app, Method::GET, "/soknader/soknader", &citizen, Some(position), None).await;
    assert_eq!(list.json(), json!([]), "a paper case without any status is not shown");
    assert_eq!(get(app, &format!("/soknader/{hidden}"), &citizen).await.status, 404);

    let sent = soker(&[MOTTATT]);
    let position = publish(app, &id, &sent).await;
    let sak = raw(app, Method::GET, &format!("/soknader/{id}"), &citizen, Some(position), None).await;
    assert_eq!(sak.status, 200);
    let sak = sak.json();
    assert_kotlin_shape(&sak);
    assert_eq!(sak["originalSoknadNAV"], Value::Null, "a paper case has no Nav søknad");
    assert_eq!(sak["ettersendtInfoNAV"], Value::Null);
    assert_eq!(sak["tilleggsinformasjon"], Value::Null);
    assert_eq!(sak["digisosSoker"]["dokumenter"], json!([]));
    assert_eq!(document(app, &id, &sak["digisosSoker"]["metadata"], &citizen).await, sent);
}

/// A `multipart/mixed` body split as Spring's `DefaultPartHttpMessageReader` reads it for innsyn-api: each
/// part's `Content-Disposition` name and its bytes.
fn parse_multipart_mixed(content_type: &str, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert!(content_type.starts_with("multipart/mixed"), "{content_type}");
    let boundary = content_type.split("boundary=").nth(1).expect("a boundary").trim_matches('"');
    let body = String::from_utf8(body.to_vec()).expect("JSON parts are UTF-8");
    let delimiter = format!("--{boundary}");
    let mut sections = body.split(&delimiter);
    assert_eq!(sections.next(), Some(""), "the body starts with the first delimiter");
    let mut parts = Vec::new();
    for section in sections {
        if section.starts_with("--") {
            assert_eq!(section, "--\r\n", "the closing delimiter ends the body");
            break;
        }
        let section = section.strip_prefix("\r\n").expect("CRLF after the delimiter");
        let section = section.strip_suffix("\r\n").expect("CRLF before the next delimiter");
        let (head, content) = section.split_once("\r\n\r\n").expect("headers, then the content");
        let mut name = None;
        for line in head.split("\r\n") {
            let (key, value) = line.split_once(':').expect("a header");
            match key.to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    name = value.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim_matches('"'));
                }
                "content-type" => assert_eq!(value.trim(), "application/json"),
                _ => {}
            }
        }
        parts.push((name.expect("every part is named").to_owned(), content.as_bytes().to_vec()));
    }
    parts
}

async fn bulk_fetch_answers_multipart_mixed_named_by_case_and_document_for_the_callers_cases_only(app: &TestApp) {
    kommuner(app).await;
    let citizen = app.citizen(FNR);
    let (first, _, _, _) = submit(app, FNR, REF).await;
    let (second, _, _, _) = submit(app, FNR, REF_2).await;
    let (theirs, _, _, _) = submit(app, OTHER_FNR, "9c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5f").await;
    let first_sent = soker(&[MOTTATT]);
    let second_sent = soker(&[MOTTATT, UNDER_BEHANDLING]);
    publish(app, &first, &first_sent).await;
    publish(app, &theirs, &first_sent).await;
    let position = publish(app, &second, &second_sent).await;
    app.caught_up(position).await;
    let saker = get(app, "/soknader/soknader", &citizen).await.json();
    let metadata = |id: &str| {
        let sak = saker.as_array().unwrap().iter().find(|s| s["fiksDigisosId"] == id).expect("the case");
        text(&sak["digisosSoker"]["metadata"])
    };
    let their_sak = get(app, &format!("/soknader/{theirs}"), &app.citizen(OTHER_FNR)).await.json();
    let their_metadata = text(&their_sak["digisosSoker"]["metadata"]);

    let body = json!({"dokumenter": [
        {"digisosId": second, "dokumentlagerId": metadata(&second)},
        {"digisosId": first, "dokumentlagerId": metadata(&first)},
        {"digisosId": theirs, "dokumentlagerId": their_metadata},
        {"digisosId": UNKNOWN, "dokumentlagerId": UNKNOWN},
        {"digisosId": first, "dokumentlagerId": metadata(&first)},
    ]});
    let response = app
        .client()
        .post(format!("{}{PREFIX}/soknader/dokumenter", app.base))
        .bearer_auth(&citizen)
        .header("accept", "multipart/mixed")
        .json(&body)
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    let parts = parse_multipart_mixed(&content_type, &response.bytes().await.unwrap());
    // innsyn-api: `name.split("_", limit = 2)` gives (fiksDigisosId, dokumentlagerId); each part is a
    // JsonDigisosSoker.
    let names: Vec<(String, String)> = parts
        .iter()
        .map(|(name, _)| {
            let (id, dokument) = name.split_once('_').expect("<fiksDigisosId>_<dokumentlagerId>");
            (id.to_owned(), dokument.to_owned())
        })
        .collect();
    assert_eq!(
        names,
        [(second.clone(), metadata(&second)), (first.clone(), metadata(&first))],
        "the caller's documents in request order, once each; the other citizen's and the unknown left out"
    );
    assert_eq!(String::from_utf8(parts[0].1.clone()).unwrap(), second_sent);
    assert_eq!(String::from_utf8(parts[1].1.clone()).unwrap(), first_sent);
    for (_, bytes) in &parts {
        let soker: Value = serde_json::from_slice(bytes).expect("a JSON document");
        assert!(soker["hendelser"].is_array());
    }

    // Too many at once: 400 naming the limit. An id that is not a UUID: 400 naming its path.
    let many: Vec<Value> = (0..101).map(|_| json!({"digisosId": first, "dokumentlagerId": UNKNOWN})).collect();
    let reply = app.json(Method::POST, "/soknader/dokumenter", Some(&citizen), &json!({"dokumenter": many})).await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("100"), "{:?}", reply.body);
    let bad = json!({"dokumenter": [{"digisosId": "nope", "dokumentlagerId": UNKNOWN}]});
    let reply = app.json(Method::POST, "/soknader/dokumenter", Some(&citizen), &bad).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.problem_paths(), ["$.dokumenter[0].digisosId"]);
}

async fn another_citizen_gets_404_for_the_case_and_its_documents_and_does_not_see_it_listed(app: &TestApp) {
    kommuner(app).await;
    let (id, _, _, _) = submit(app, FNR, REF).await;
    let position = publish(app, &id, &soker(&[MOTTATT])).await;
    app.caught_up(position).await;
    let sak = get(app, &format!("/soknader/{id}"), &app.citizen(FNR)).await.json();
    let other = app.citizen(OTHER_FNR);
    assert_eq!(get(app, "/soknader/soknader", &other).await.json(), json!([]));
    let reply = get(app, &format!("/soknader/{id}"), &other).await;
    assert_eq!(reply.status, 404, "{}", String::from_utf8_lossy(&reply.bytes));
    for dokument in [&sak["originalSoknadNAV"]["metadata"], &sak["digisosSoker"]["metadata"]] {
        let reply = get(app, &format!("/soknader/{id}/dokumenter/{}", text(dokument)), &other).await;
        assert_eq!(reply.status, 404);
        assert!(!String::from_utf8_lossy(&reply.bytes).contains(FNR), "nothing of the case");
    }
    assert_eq!(get(app, &format!("/soknader/{UNKNOWN}"), &other).await.status, 404, "same as an unknown case");
    // Other kinds of caller may not use the citizen's routes at all.
    assert_eq!(get(app, &format!("/soknader/{id}"), &app.nav_staff("Z990001")).await.status, 403);
    assert_eq!(get(app, &format!("/soknader/{id}"), &fagsystem(app)).await.status, 403);
}

async fn a_deleted_case_answers_410_to_its_citizen_and_to_staff_and_leaves_the_list(app: &TestApp) {
    kommuner(app).await;
    let citizen = app.citizen(FNR);
    let (id, position, _, _) = submit(app, FNR, REF).await;
    app.caught_up(position).await;
    let sak = get(app, &format!("/soknader/{id}"), &citizen).await.json();
    // The hub deletes a case with the EraseCase command (retention or erasure; no route yet).
    let stream = StreamName::parse(format!("sak-{id}")).expect("stream");
    let erase = EraseCase { arsak: "test of retention".into(), tidspunkt: Tidspunkt::from_instant(Utc::now()) };
    let outcome = commands::execute::<SakAggregate>(
        &app.store,
        &stream,
        SakCommand::EraseCase(erase),
        commands::metadata("admin", None),
    )
    .await
    .expect("erased");
    let position = outcome.position.expect("a position");

    let reply = raw(app, Method::GET, &format!("/soknader/{id}"), &citizen, Some(position), None).await;
    assert_eq!(reply.status, 410, "{}", String::from_utf8_lossy(&reply.bytes));
    let dokument = text(&sak["originalSoknadNAV"]["metadata"]);
    assert_eq!(get(app, &format!("/soknader/{id}/dokumenter/{dokument}"), &citizen).await.status, 410);
    assert_eq!(get(app, "/soknader/soknader", &citizen).await.json(), json!([]));
    assert_eq!(get(app, &format!("/soknader/{id}"), &app.citizen(OTHER_FNR)).await.status, 404, "not theirs");
    let staff = app.nav_system();
    let reply =
        raw(app, Method::GET, &format!("/nav/soknader/{id}?sporingsId=s-1"), &staff, Some(position), None).await;
    assert_eq!(reply.status, 410);
    assert!(app.stream_events(&format!("audit-system-{NAV_ORGNR}")).await.is_empty(), "no person's data: no record");
}

/// Every log line of this test binary (JSON, all levels and targets), from one process-wide subscriber installed
/// on first use. A thread-local subscriber (`set_default`) loses lines: tracing caches each call site's interest
/// across threads, and the other tests of the binary run on other threads at the same time. Lines of concurrent
/// tests mix here, so a test picks its own by a marker of its own (its `sporingsId`s).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

impl Captured {
    /// The binary's capture, installed as the global subscriber the first time.
    fn global() -> Captured {
        static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
        CAPTURED
            .get_or_init(|| {
                let captured = Captured::default();
                let subscriber = tracing_subscriber::fmt()
                    .json()
                    .with_max_level(tracing::Level::TRACE)
                    .with_writer(captured.clone())
                    .finish();
                tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this binary");
                captured
            })
            .clone()
    }

    fn lines(&self) -> Vec<Value> {
        let bytes = self.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
    }
}

async fn nav_support_reads_with_sporings_id_and_every_lookup_is_audited_before_data_leaves(app: &TestApp) {
    kommuner(app).await;
    let (id, _, soknad_sent, vedlegg_sent) = submit(app, FNR, REF).await;
    let soker_sent = soker(&[MOTTATT]);
    let position = publish(app, &id, &soker_sent).await;
    app.caught_up(position).await;
    let citizen_view = get(app, &format!("/soknader/{id}"), &app.citizen(FNR)).await.json();
    let staff = app.nav_system();
    let logs = Captured::global();
    // This run's own sporingsIds: the log is the binary's, shared with concurrent tests.
    let run = uuid::Uuid::new_v4().simple().to_string();
    let trace = |n: u32| format!("{run}-{n}");

    // The list by fnr (in the body, as modia-api sends it).
    let list = raw(
        app,
        Method::POST,
        &format!("/nav/soknader/soknader?sporingsId={}", trace(1)),
        &staff,
        None,
        Some(&json!({"fnr": FNR})),
    )
    .await;
    assert_eq!(list.status, 200, "{}", String::from_utf8_lossy(&list.bytes));
    assert_eq!(list.json(), json!([citizen_view.clone()]), "the same DigisosSak the citizen reads");
    let one = get(app, &format!("/nav/soknader/{id}?sporingsId={}", trace(2)), &staff).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.json(), citizen_view);
    // modia-api fetches digisos-soker.json and the vedlegg.json; soknad.json is a JSON document too.
    let documents = [
        (trace(3), &citizen_view["digisosSoker"]["metadata"], &soker_sent, "digisos-soker.json"),
        (trace(4), &citizen_view["originalSoknadNAV"]["vedleggMetadata"], &vedlegg_sent, "vedlegg.json"),
        (trace(5), &citizen_view["originalSoknadNAV"]["metadata"], &soknad_sent, "soknad.json"),
    ];
    for (trace, dokument, sent, _) in &documents {
        let path = format!("/nav/soknader/{id}/dokumenter/{}?sporingsId={trace}", text(dokument));
        let reply = get(app, &path, &staff).await;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(&reply.bytes));
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(&String::from_utf8(reply.bytes).unwrap(), *sent);
    }

    // One record per lookup, in order, on the Nav system's audit stream.
    let audit = app.stream_events(&format!("audit-system-{NAV_ORGNR}")).await;
    let records: Vec<(String, String, String, String, String)> = audit
        .iter()
        .map(|e| {
            assert_eq!(e.event_type, "SystemAccessRecorded.v1");
            let d = &e.data;
            (text(&d["sporingsId"]), text(&d["what"]), text(&d["decision"]), text(&d["fnr"]), text(&d["orgnr"]))
        })
        .collect();
    let mut expected = vec![(trace(1), "navSaker".to_owned()), (trace(2), format!("navSak {id}"))];
    expected.extend(documents.iter().map(|(trace, _, _, name)| (trace.clone(), format!("navDokument {id} {name}"))));
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(trace, what)| (trace, what, "PERMIT".to_owned(), FNR.to_owned(), NAV_ORGNR.to_owned()))
        .collect();
    assert_eq!(records, expected);
    assert_eq!(audit[0].data["path"], "/digisos/api/v1/nav/soknader/soknader");
    assert_eq!(audit[0].data["method"], "POST");

    // The person's number went to the audit target only (the CEF lines), never to an ordinary log line.
    let lines = logs.lines();
    let cef: Vec<&Value> =
        lines.iter().filter(|l| l["target"] == "audit" && l.to_string().contains(&format!("cs5={run}-"))).collect();
    assert_eq!(cef.len(), 5, "one CEF line per lookup");
    assert!(cef.iter().all(|l| l.to_string().contains(&format!("duid={FNR}"))));
    for line in lines.iter().filter(|l| l["target"] != "audit") {
        assert!(!line.to_string().contains(FNR), "the fødselsnummer in an ordinary log line: {line}");
    }

    // The citizen sees the lookups in the innsynslogg, the Nav system in place of an employee.
    let last = audit.last().expect("a record").position;
    let logg =
        gql(app, Some(&app.citizen(FNR)), "{ innsynslogg { navIdent hva innsynGitt } }", json!({}), Some(last)).await;
    let rows = logg.data()["innsynslogg"].as_array().expect("a list").clone();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[4], json!({"navIdent": format!("Nav-system {NAV_ORGNR}"), "hva": "navSaker", "innsynGitt": true}));
}

async fn nav_support_gets_404_for_files_and_400_without_sporings_id_or_with_a_bad_fnr_and_nothing_is_audited(
    app: &TestApp,
) {
    kommuner(app).await;
    let (id, _, _, _) = submit(app, FNR, REF).await;
    let uploaded = upload(app, &id, &[("vedtak.pdf", file_bytes(700, 9))]).await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    let position = publish(app, &id, &soker(&[MOTTATT])).await;
    app.caught_up(position).await;
    let sak = get(app, &format!("/soknader/{id}"), &app.citizen(FNR)).await.json();
    let staff = app.nav_system();

    // PDFs and attachments are never served to staff: their ids are 404 like any id that is not a JSON document.
    let files = [
        &sak["originalSoknadNAV"]["soknadDokument"]["dokumentlagerDokumentId"],
        &sak["originalSoknadNAV"]["vedlegg"][0]["dokumentlagerDokumentId"],
        &sak["digisosSoker"]["dokumenter"][0]["dokumentlagerDokumentId"],
    ];
    for file in files {
        let reply = get(app, &format!("/nav/soknader/{id}/dokumenter/{}?sporingsId=s-1", text(file)), &staff).await;
        assert_eq!(reply.status, 404, "{file}");
        assert!(!reply.bytes.starts_with(b"%PDF"));
    }
    assert_eq!(get(app, &format!("/nav/soknader/{UNKNOWN}?sporingsId=s-2"), &staff).await.status, 404);

    // sporingsId is required on every staff route, and must be a trace id.
    let metadata = text(&sak["digisosSoker"]["metadata"]);
    for path in [format!("/nav/soknader/{id}"), format!("/nav/soknader/{id}/dokumenter/{metadata}")] {
        let reply = get(app, &path, &staff).await;
        assert_eq!(reply.status, 400, "{path}");
        assert!(String::from_utf8_lossy(&reply.bytes).contains("sporingsId"), "{path}");
        assert_eq!(get(app, &format!("{path}?sporingsId=has%20space"), &staff).await.status, 400);
    }
    let body = json!({"fnr": FNR});
    let reply = raw(app, Method::POST, "/nav/soknader/soknader", &staff, None, Some(&body)).await;
    assert_eq!(reply.status, 400);
    for bad in [json!({"fnr": "12345678910"}), json!({"fnr": 1017012343_i64}), json!({}), json!([FNR])] {
        let reply = raw(app, Method::POST, "/nav/soknader/soknader?sporingsId=s-3", &staff, None, Some(&bad)).await;
        assert_eq!(reply.status, 400, "{bad}");
        assert!(!String::from_utf8_lossy(&reply.bytes).contains("1017012343"), "the number is not echoed");
    }
    assert!(app.stream_events(&format!("audit-system-{NAV_ORGNR}")).await.is_empty(), "nothing was looked up");

    // A Nav employee's own token is for GraphQL; these routes take Nav's system identity only.
    let reply = get(app, &format!("/nav/soknader/{id}?sporingsId=s-4"), &app.nav_staff("Z990001")).await;
    assert_eq!(reply.status, 403);
    let reply = get(app, &format!("/nav/soknader/{id}?sporingsId=s-4"), &app.citizen(FNR)).await;
    assert_eq!(reply.status, 403);
}

async fn nav_support_is_refused_a_case_unchanged_for_15_months_and_the_refusal_is_audited(app: &TestApp) {
    kommuner(app).await;
    let (recent, position, _, _) = submit(app, FNR, REF).await;
    app.caught_up(position).await;
    // A case of the same person whose søknad came 16 months ago: its SoknadMottatt as recorded then (the
    // recent one's, with another id, reference and time), appended to a stream of its own.
    let recorded = app.stream_events(&format!("sak-{recent}")).await;
    let mut data = recorded[0].data.clone();
    let old = uuid::Uuid::new_v4().to_string();
    let then = Utc::now() - chrono::Months::new(16);
    data["fiksDigisosId"] = json!(old);
    data["navEksternRefId"] = json!("gammel-soknad");
    data["timestampSendt"] = json!(Tidspunkt::from_instant(then).as_str());
    let stream = StreamName::parse(format!("sak-{old}")).expect("stream");
    let appended = app
        .store
        .append(&stream, ExpectedRevision::NoStream, vec![NewEvent::new(recorded[0].event_type.clone(), data)])
        .await
        .expect("appended");
    app.caught_up(appended.position).await;
    let citizen = get(app, "/soknader/soknader", &app.citizen(FNR)).await.json();
    assert_eq!(citizen.as_array().map(Vec::len), Some(2), "the citizen sees both: {citizen}");
    let sak = get(app, &format!("/soknader/{old}"), &app.citizen(FNR)).await.json();

    let staff = app.nav_system();
    let body = json!({"fnr": FNR});
    let list = raw(app, Method::POST, "/nav/soknader/soknader?sporingsId=w-1", &staff, None, Some(&body)).await;
    let ids: Vec<String> = list.json().as_array().expect("a list").iter().map(|s| text(&s["fiksDigisosId"])).collect();
    assert_eq!(ids, [recent], "the list holds the cases changed within 15 months");
    let reply = get(app, &format!("/nav/soknader/{old}?sporingsId=w-2"), &staff).await;
    assert_eq!(reply.status, 404, "{}", String::from_utf8_lossy(&reply.bytes));
    assert!(String::from_utf8_lossy(&reply.bytes).contains("15 months"));
    let metadata = text(&sak["originalSoknadNAV"]["vedleggMetadata"]);
    let reply = get(app, &format!("/nav/soknader/{old}/dokumenter/{metadata}?sporingsId=w-3"), &staff).await;
    assert_eq!(reply.status, 404);

    let audit = app.stream_events(&format!("audit-system-{NAV_ORGNR}")).await;
    let records: Vec<(String, String)> =
        audit.iter().map(|e| (text(&e.data["sporingsId"]), text(&e.data["decision"]))).collect();
    assert_eq!(
        records,
        [("w-1", "PERMIT"), ("w-2", "DENY"), ("w-3", "DENY")].map(|(s, d)| (s.to_owned(), d.to_owned())),
        "the refusals are recorded too"
    );
}

on_both_backends!(
    innsyn_reads_the_digisos_sak_with_every_a5_field_and_its_json_documents_exactly_as_sent,
    a_paper_case_is_a_digisos_sak_without_nav_parts_once_the_kommune_publishes_a_status,
    bulk_fetch_answers_multipart_mixed_named_by_case_and_document_for_the_callers_cases_only,
    another_citizen_gets_404_for_the_case_and_its_documents_and_does_not_see_it_listed,
    a_deleted_case_answers_410_to_its_citizen_and_to_staff_and_leaves_the_list,
    nav_support_reads_with_sporings_id_and_every_lookup_is_audited_before_data_leaves,
    nav_support_gets_404_for_files_and_400_without_sporings_id_or_with_a_bad_fnr_and_nothing_is_audited,
    nav_support_is_refused_a_case_unchanged_for_15_months_and_the_refusal_is_audited,
);
