//! Nav's søknad backend against the hub, as its production clients send (DOMAIN.md A.2; the research of
//! `DigisosApiV2Client.kt`, `MellomlagringClient.kt`, `KrypteringService.kt` in navikt/sosialhjelp-soknad-api):
//! fetch the certificate, encrypt every file with the `openssl` command line (an implementation independent of
//! the hub's), store the vedlegg in mellomlagring one file per request, submit through v2 with the generated
//! PDFs, read the answer as the client does (quotes removed, a UUID), and poll `/nav/soknader/status` until
//! `levertFagsystem`. Then a v2 ettersendelse, the duplicate answers as the client parses them, every refusal
//! with the store unchanged, and the sweep of mellomlagring left behind. On SQLite and PostgreSQL.

mod api_support;
mod fagsystem_support;

use api_support::cms::{Encoding, encrypt, key_pair, published_certificate};
use api_support::*;
use digisos_schema::events::Sha512;
use fagsystem_support::{fagsystem, kommuner};
use reqwest::Method;
use serde_json::{Value, json};

/// The søknad's `navEksternRefId` (Nav uses a UUID).
const SOKNAD_REF: &str = "5b0c3f4e-9a1d-4e2b-8c7f-1d2e3f4a5b6c";
/// The ettersendelse's: the søknad's plus a 4-digit counter (DOMAIN.md A.9).
const ETTERSENDELSE_REF: &str = "5b0c3f4e-9a1d-4e2b-8c7f-1d2e3f4a5b6c0001";
/// The PDFs Nav generates for a søknad, in the order it sends them.
const PDFS: [&str; 3] = ["Soknad.pdf", "Soknad-juridisk.pdf", "Brukerkvittering.pdf"];

/// A multipart body with Nav's boundary style, part by part (exact content types and dispositions).
fn part(form: Form, name: &str, filename: Option<&str>, content_type: &str, bytes: &[u8]) -> Form {
    let disposition = match filename {
        Some(f) => format!("name=\"{name}\"; filename=\"{f}\""),
        None => format!("name=\"{name}\""),
    };
    form.part(&disposition, content_type, bytes)
}

fn metadata(filnavn: &str, mimetype: &str, storrelse: usize) -> Vec<u8> {
    json!({"filnavn": filnavn, "mimetype": mimetype, "storrelse": storrelse}).to_string().into_bytes()
}

/// The vedlegg of `vedlegg/gyldig_standard.json` with `sha512` as Nav's upload service writes it (lowercase hex
/// of the plaintext) for the first three, and the format's placeholders left on the last two (matched by name).
fn vedlegg_json(files: &[(&str, Vec<u8>)]) -> Value {
    let mut vedlegg = resource("vedlegg/gyldig_standard.json");
    let mut i = 0;
    for entry in vedlegg["vedlegg"].as_array_mut().expect("vedlegg") {
        for fil in entry["filer"].as_array_mut().expect("filer") {
            if i < 3 {
                fil["sha512"] = json!(Sha512::of_bytes(&files[i].1).as_str());
            }
            i += 1;
        }
    }
    vedlegg
}

/// `POST /mellomlagring/{ref}` of one file as Nav's current `MellomlagringClient` sends it: `metadata`
/// (application/json) then `files` (application/octet-stream, with the file name), the file encrypted.
async fn mellomlagre(app: &TestApp, reference: &str, cert: &[u8], filnavn: &str, plain: &[u8]) -> Reply {
    let encrypted = encrypt(cert, plain, Encoding::Streamed);
    let form =
        part(Form::new(), "metadata", None, "application/json", &metadata(filnavn, "application/pdf", plain.len()));
    let form = part(form, "files", Some(filnavn), "application/octet-stream", &encrypted);
    app.post_form(&format!("/mellomlagring/{reference}"), Some(&app.nav_system()), form).await
}

/// The same as Nav's client sent it before February 2026: `metadata` as text/plain;charset=UTF-8, then the file
/// in a part named by its own name.
async fn mellomlagre_earlier(app: &TestApp, reference: &str, cert: &[u8], filnavn: &str, plain: &[u8]) -> Reply {
    let encrypted = encrypt(cert, plain, Encoding::Der);
    let meta = metadata(filnavn, "image/png", plain.len());
    let form = part(Form::new(), "metadata", None, "text/plain;charset=UTF-8", &meta);
    let form = part(form, filnavn, Some(filnavn), "application/octet-stream", &encrypted);
    app.post_form(&format!("/mellomlagring/{reference}"), Some(&app.nav_system()), form).await
}

/// The v2 søknad body exactly as `DigisosApiV2Client` builds it: three JSON parts (application/json, no
/// charset), then per generated PDF `metadata<i>` (text/plain JSON) and the encrypted PDF in a part named by
/// its file name.
fn v2_soknad(cert: &[u8], soknad: &Value, vedlegg: &Value, pdfs: &[(&str, Vec<u8>)]) -> Form {
    let json_part =
        |form, name, value: &Value| part(form, name, None, "application/json", value.to_string().as_bytes());
    let mut form = json_part(Form::new(), "tilleggsinformasjonJson", &json!({"enhetsnummer": ENHET}));
    form = json_part(form, "soknadJson", soknad);
    form = json_part(form, "vedleggJson", vedlegg);
    for (i, (name, bytes)) in pdfs.iter().enumerate() {
        form = part(form, &format!("metadata{i}"), None, "text/plain", &metadata(name, "application/pdf", bytes.len()));
        form = part(form, name, Some(name), "application/octet-stream", &encrypt(cert, bytes, Encoding::Streamed));
    }
    form
}

fn pdfs() -> Vec<(&'static str, Vec<u8>)> {
    PDFS.iter().enumerate().map(|(i, name)| (*name, file_bytes(1500 + i * 10, 40 + i as u8))).collect()
}

/// How Nav's client reads the answer of a v2 submission: every `"` removed, then `UUID.fromString`.
fn fiks_digisos_id_of(body: &str) -> uuid::Uuid {
    uuid::Uuid::parse_str(&body.replace('"', "")).unwrap_or_else(|_| panic!("not a quoted UUID: {body:?}"))
}

/// How Nav's client recognises "already sent" in an error body: the lowercase reference and `finnes allerede`,
/// and the id as the last UUID after `message` on one line.
fn existing_id_of(body: &str, reference: &str) -> Option<String> {
    if !(body.contains(&reference.to_lowercase()) && body.contains("finnes allerede")) {
        return None;
    }
    let uuid = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
    let pattern = regex::Regex::new(&format!("^.*?message.*({uuid}).*?$")).expect("regex");
    pattern.captures(body).map(|c| c[1].to_owned())
}

/// A multipart POST to an absolute path: status, the position header (if any), and the body as text.
async fn raw_post(
    app: &TestApp,
    path: &str,
    token: &str,
    form: Form,
) -> (u16, Option<fiks_digisos::eventstore::Position>, String) {
    let response = app
        .client()
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(form.finish())
        .send()
        .await
        .expect("the app answers");
    let position = response
        .headers()
        .get(fiks_digisos::http::POSITION_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    (response.status().as_u16(), position, response.text().await.expect("body"))
}

/// Whether `der` is an X.509 certificate, as the `openssl` command line reads one.
fn parses_as_x509(der: &[u8]) -> bool {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("cert.der");
    std::fs::write(&file, der).expect("write");
    std::process::Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-in", file.to_str().expect("path")])
        .status()
        .expect("openssl runs")
        .success()
}

/// Nav's status poll, with the header as `DigisosApiV2Client` writes it (`BEARER` in capitals).
async fn levert_fagsystem(app: &TestApp, id: &str) -> bool {
    let response = app
        .client()
        .post(format!("{}{PREFIX}/nav/soknader/status?sporingsId={}", app.base, uuid::Uuid::new_v4()))
        .header("Authorization", format!("BEARER {}", app.nav_system()))
        .json(&json!({"digisosIdListe": [id]}))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["statusListe"][0]["digisosId"], json!(id));
    body["statusListe"][0]["levertFagsystem"].as_bool().expect("levertFagsystem")
}

async fn nav_sender_stores_encrypted_vedlegg_submits_v2_and_sees_levert_fagsystem(app: &TestApp) {
    kommuner(app).await;
    // The certificate as Nav fetches it (Maskinporten token, Accept */*), parsed as X.509 DER.
    let response = app
        .client()
        .get(format!("{}{PREFIX}/dokumentlager-public-key", app.base))
        .bearer_auth(app.nav_system())
        .header("Accept", "*/*")
        .send()
        .await
        .expect("the app answers");
    assert_eq!(response.status().as_u16(), 200);
    let cert = response.bytes().await.expect("body").to_vec();
    assert!(parses_as_x509(&cert), "the certificate is DER X.509");

    let vedlegg = standard_vedlegg();
    for (i, (name, bytes)) in vedlegg.iter().enumerate() {
        let reply = if i == 1 {
            mellomlagre_earlier(app, SOKNAD_REF, &cert, name, bytes).await
        } else {
            mellomlagre(app, SOKNAD_REF, &cert, name, bytes).await
        };
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        assert_eq!(reply.body["navEksternRefId"], json!(SOKNAD_REF));
        let list = reply.body["mellomlagringMetadataList"].as_array().expect("the list");
        assert_eq!(list.len(), i + 1, "the answer lists every file stored so far");
        let last = &list[i];
        assert_eq!(last["filnavn"], json!(name));
        assert_eq!(last["storrelse"], json!(bytes.len()), "the decrypted size");
        assert!(last["filId"].as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()).is_some());
        assert!(last["mimetype"].is_string());
    }
    let listed = app.get(&format!("/mellomlagring/{SOKNAD_REF}"), Some(&app.nav_system())).await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["mellomlagringMetadataList"].as_array().map(Vec::len), Some(5));
    // One file back, as stored: the plaintext.
    let fil_id = listed.body["mellomlagringMetadataList"][0]["filId"].as_str().expect("filId").to_owned();
    let (status, _, bytes) =
        fagsystem_support::download(app, &format!("{PREFIX}/mellomlagring/{SOKNAD_REF}/{fil_id}"), &app.nav_system())
            .await;
    assert_eq!((status, bytes), (200, vedlegg[0].1.clone()));

    let pdfs = pdfs();
    let form = v2_soknad(&cert, &soknad_json(FNR), &vedlegg_json(&vedlegg), &pdfs);
    let (status, position, body) =
        raw_post(app, &format!("/digisos/api/v2/soknader/{KOMMUNE}/{SOKNAD_REF}"), &app.citizen(FNR), form).await;
    assert_eq!(status, 202, "{body}");
    assert!(body.starts_with('"') && body.ends_with('"'), "a quoted JSON string without a trailing newline: {body:?}");
    let id = fiks_digisos_id_of(&body).to_string();

    // The case holds the søknad PDF, the two other PDFs and the five vedlegg, all decrypted.
    let events = app.events().await;
    let mottatt = events.iter().find(|e| e.event_type == "SoknadMottatt.v1").expect("SoknadMottatt");
    assert_eq!(mottatt.data["soknadDokument"]["filnavn"], json!("Soknad.pdf"));
    assert_eq!(mottatt.data["soknadDokument"]["sha512"], json!(Sha512::of_bytes(&pdfs[0].1).as_str()));
    let files: Vec<(String, String)> = mottatt.data["vedlegg"]
        .as_array()
        .expect("vedlegg")
        .iter()
        .map(|v| {
            (v["filnavn"].as_str().unwrap_or_default().to_owned(), v["sha512"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let mut expected: Vec<(String, String)> = pdfs[1..]
        .iter()
        .chain(vedlegg.iter())
        .map(|(n, b)| ((*n).to_owned(), Sha512::of_bytes(b).as_str().to_owned()))
        .collect();
    let mut got = files.clone();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    // The mellomlagring is emptied, and answers as Nav's client takes for "nothing stored".
    let after = app.get(&format!("/mellomlagring/{SOKNAD_REF}"), Some(&app.nav_system())).await;
    assert_eq!(after.status, 404);
    assert!(after.message().contains("Fant ingen data i basen knytter til angitt id'en"), "{:?}", after.body);
    assert!(events.iter().any(|e| e.event_type == "MellomlagringTomt.v1" && e.data["arsak"] == json!("SENDT")));

    // A vedlegg downloads as its plaintext for the citizen.
    let dokument = mottatt.data["vedlegg"]
        .as_array()
        .and_then(|v| v.iter().find(|d| d["filnavn"] == json!(vedlegg[2].0)))
        .expect("the third vedlegg");
    let id_path =
        format!("{PREFIX}/dokumentlager/nedlasting/{}", dokument["dokumentlagerDokumentId"].as_str().expect("id"));
    app.caught_up(position.expect("the submission's position")).await;
    let (status, _, bytes) = fagsystem_support::download(app, &id_path, &app.citizen(FNR)).await;
    assert_eq!((status, bytes), (200, vedlegg[2].1.clone()));

    // Not yet received by the fagsystem; after its receipt, yes.
    assert!(!levert_fagsystem(app, &id).await);
    let mailbox = fagsystem_support::mailbox(app).await;
    let delivery = mailbox.iter().find(|d| d["melding"]["digisosId"] == json!(id)).expect("the delivery");
    let leveranse = delivery["leveranseId"].as_str().expect("leveranseId");
    let receipt = app
        .send(Method::POST, &format!("/{FIKS_ORG_ID}/mottak/{leveranse}/kvittering"), Some(&fagsystem(app)), None)
        .await;
    assert!(receipt.status < 300, "{:?}", receipt.body);
    assert!(levert_fagsystem(app, &id).await);
}

/// Stores the five vedlegg and submits the v2 søknad; returns the case id.
async fn sent_v2(app: &TestApp, cert: &[u8]) -> String {
    let vedlegg = standard_vedlegg();
    for (name, bytes) in &vedlegg {
        assert_eq!(mellomlagre(app, SOKNAD_REF, cert, name, bytes).await.status, 200);
    }
    let form = v2_soknad(cert, &soknad_json(FNR), &vedlegg_json(&vedlegg), &pdfs());
    let (status, position, body) =
        raw_post(app, &format!("/digisos/api/v2/soknader/{KOMMUNE}/{SOKNAD_REF}"), &app.citizen(FNR), form).await;
    assert_eq!(status, 202, "{body}");
    app.caught_up(position.expect("position")).await;
    fiks_digisos_id_of(&body).to_string()
}

async fn a_repeated_v2_soknad_answers_finnes_allerede_with_the_case_id_as_navs_client_reads_it(app: &TestApp) {
    kommuner(app).await;
    let cert = published_certificate(app).await;
    let id = sent_v2(app, &cert).await;
    let before = app.events().await;
    let form = v2_soknad(&cert, &soknad_json(FNR), &vedlegg_json(&standard_vedlegg()), &pdfs());
    let (status, _, body) =
        raw_post(app, &format!("/digisos/api/v2/soknader/{KOMMUNE}/{SOKNAD_REF}"), &app.citizen(FNR), form).await;
    assert!(status >= 400, "{status} {body}");
    assert!(!body.contains('\n'), "one line: {body:?}");
    assert_eq!(existing_id_of(&body, SOKNAD_REF), Some(id), "{body}");
    assert_eq!(app.events().await, before, "the repeat records nothing");
}

async fn a_listed_vedlegg_missing_from_mellomlagring_is_a_400_naming_it_and_records_nothing(app: &TestApp) {
    kommuner(app).await;
    let cert = published_certificate(app).await;
    let vedlegg = standard_vedlegg();
    // All but the second file.
    for (i, (name, bytes)) in vedlegg.iter().enumerate() {
        if i != 1 {
            assert_eq!(mellomlagre(app, SOKNAD_REF, &cert, name, bytes).await.status, 200);
        }
    }
    let before = app.events().await;
    let form = v2_soknad(&cert, &soknad_json(FNR), &vedlegg_json(&vedlegg), &pdfs());
    let path = format!("/digisos/api/v2/soknader/{KOMMUNE}/{SOKNAD_REF}");
    let (status, _, body) = raw_post(app, &path, &app.citizen(FNR), form).await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).expect("JSON error");
    let paths: Vec<&str> =
        body["problems"].as_array().expect("problems").iter().filter_map(|p| p["path"].as_str()).collect();
    assert_eq!(paths, ["vedleggJson: $.vedlegg[0].filer[1].sha512"], "{body}");
    assert_eq!(app.events().await, before, "nothing recorded, the mellomlagring kept");
    let listed = app.get(&format!("/mellomlagring/{SOKNAD_REF}"), Some(&app.nav_system())).await;
    assert_eq!(listed.body["mellomlagringMetadataList"].as_array().map(Vec::len), Some(4));
}

async fn a_file_encrypted_for_another_certificate_is_refused_at_mellomlagring_and_records_nothing(app: &TestApp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let other = key_pair(dir.path(), "another-service");
    let before = app.events().await;
    let reply = mellomlagre(app, SOKNAD_REF, &other.cert_der(), "a.pdf", &file_bytes(300, 1)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.message().contains("not encrypted for this service's certificate"), "{:?}", reply.body);
    assert_eq!(app.events().await, before);
}

async fn mellomlagring_is_for_navs_system_identity_only(app: &TestApp) {
    let cert = published_certificate(app).await;
    let encrypted = encrypt(&cert, &file_bytes(100, 2), Encoding::Der);
    let form = || {
        let form = part(Form::new(), "metadata", None, "application/json", &metadata("a.pdf", "application/pdf", 100));
        part(form, "files", Some("a.pdf"), "application/octet-stream", &encrypted)
    };
    let path = format!("/mellomlagring/{SOKNAD_REF}");
    assert_eq!(app.post_form(&path, None, form()).await.status, 401);
    assert_eq!(app.post_form(&path, Some(&app.citizen(FNR)), form()).await.status, 403);
    assert_eq!(app.post_form(&path, Some(&app.fagsystem(FAGSYSTEM_ORGNR)), form()).await.status, 403);
    assert_eq!(app.get(&path, Some(&app.citizen(FNR))).await.status, 403);
    assert!(app.events().await.is_empty(), "no refused call recorded anything");
}

async fn nav_deletes_one_file_then_all_and_each_delete_answers_204(app: &TestApp) {
    let cert = published_certificate(app).await;
    for (name, bytes) in standard_vedlegg().iter().take(3) {
        assert_eq!(mellomlagre(app, SOKNAD_REF, &cert, name, bytes).await.status, 200);
    }
    let path = format!("/mellomlagring/{SOKNAD_REF}");
    let listed = app.get(&path, Some(&app.nav_system())).await;
    let first = listed.body["mellomlagringMetadataList"][0]["filId"].as_str().expect("filId").to_owned();
    assert_eq!(app.delete(&format!("{path}/{first}"), Some(&app.nav_system())).await.status, 204);
    let listed = app.get(&path, Some(&app.nav_system())).await;
    let ids: Vec<&str> = listed.body["mellomlagringMetadataList"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|f| f["filId"].as_str())
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(!ids.contains(&first.as_str()));
    assert_eq!(app.delete(&format!("{path}/{first}"), Some(&app.nav_system())).await.status, 404, "already gone");
    assert_eq!(app.delete(&path, Some(&app.nav_system())).await.status, 204);
    assert_eq!(app.get(&path, Some(&app.nav_system())).await.status, 404);
    assert_eq!(app.delete(&path, Some(&app.nav_system())).await.status, 204, "deleting nothing is fine");
}

async fn a_v2_ettersendelse_takes_its_files_from_mellomlagring_and_a_repeat_finnes_allerede(app: &TestApp) {
    kommuner(app).await;
    let cert = published_certificate(app).await;
    let id = sent_v2(app, &cert).await;
    let first = file_bytes(900, 7);
    let names = ["endaenfil-u95sdfght.png", "DCIM6666-ae94343bc.jpg", "yeyeye-u95sdfght.png", "alalla-ae94343bc.jpg"];
    let files: Vec<(&str, Vec<u8>)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, if i == 0 { first.clone() } else { file_bytes(100 * i, i as u8) }))
        .collect();
    for (name, bytes) in &files {
        assert_eq!(mellomlagre(app, ETTERSENDELSE_REF, &cert, name, bytes).await.status, 200);
    }
    let mut vedlegg = resource("vedlegg/gyldig_komplett.json");
    vedlegg["vedlegg"][0]["filer"][0]["sha512"] = json!(Sha512::of_bytes(&first).as_str());
    let form = || part(Form::new(), "vedlegg.json", None, "application/json", vedlegg.to_string().as_bytes());
    let path = format!("/digisos/api/v2/soknader/{KOMMUNE}/{id}/{ETTERSENDELSE_REF}");
    let (status, _, body) = raw_post(app, &path, &app.citizen(FNR), form()).await;
    assert_eq!(status, 202, "{body}");
    let events = app.events().await;
    let ettersendt = events.iter().find(|e| e.event_type == "EttersendelseMottatt.v1").expect("EttersendelseMottatt");
    let mut got: Vec<String> = ettersendt.data["vedlegg"]
        .as_array()
        .expect("vedlegg")
        .iter()
        .filter_map(|v| v["sha512"].as_str().map(str::to_owned))
        .collect();
    let mut expected: Vec<String> = files.iter().map(|(_, b)| Sha512::of_bytes(b).as_str().to_owned()).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert_eq!(app.get(&format!("/mellomlagring/{ETTERSENDELSE_REF}"), Some(&app.nav_system())).await.status, 404);

    // Repeated: a 400 that says it finnes allerede, as Nav's upload service expects; nothing recorded.
    let before = app.events().await;
    let (status, _, body) = raw_post(app, &path, &app.citizen(FNR), form()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("finnes all"), "{body}");
    assert_eq!(app.events().await, before);
    // Another citizen may not add to the case.
    let (status, _, _) = raw_post(app, &path, &app.citizen(OTHER_FNR), form()).await;
    assert_eq!(status, 403);
}

async fn the_sweep_removes_mellomlagring_left_behind_and_keeps_what_is_newer_than_the_age(app: &TestApp) {
    let cert = published_certificate(app).await;
    for (name, bytes) in standard_vedlegg().iter().take(2) {
        assert_eq!(mellomlagre(app, SOKNAD_REF, &cert, name, bytes).await.status, 200);
    }
    let last = mellomlagre(app, ETTERSENDELSE_REF, &cert, "x.pdf", &file_bytes(64, 9)).await;
    assert_eq!(last.status, 200);
    app.caught_up(last.position()).await;
    let db = app.read_side.db.clone();
    let sweep = fiks_digisos::mellomlagring::opprydding::sweep;
    // Nothing is older than an hour.
    assert_eq!(sweep(&app.store, &db, std::time::Duration::from_secs(3600)).await.expect("sweep"), 0);
    assert_eq!(app.get(&format!("/mellomlagring/{SOKNAD_REF}"), Some(&app.nav_system())).await.status, 200);
    // Everything is older than nothing: both are emptied, three files, and the metric counts them.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    assert_eq!(sweep(&app.store, &db, std::time::Duration::ZERO).await.expect("sweep"), 3);
    assert_eq!(app.get(&format!("/mellomlagring/{SOKNAD_REF}"), Some(&app.nav_system())).await.status, 404);
    assert_eq!(app.get(&format!("/mellomlagring/{ETTERSENDELSE_REF}"), Some(&app.nav_system())).await.status, 404);
    let events = app.events().await;
    assert_eq!(
        events.iter().filter(|e| e.event_type == "MellomlagringTomt.v1" && e.data["arsak"] == json!("UTLOPT")).count(),
        2
    );
    // A second sweep (another instance, or the next interval) finds nothing to do, even before the read model
    // has seen the first: it decides on the streams.
    assert_eq!(sweep(&app.store, &db, std::time::Duration::ZERO).await.expect("sweep"), 0);
    let metrics =
        reqwest::get(format!("{}/internal/metrics", app.base)).await.expect("metrics").text().await.expect("text");
    assert!(
        metrics.lines().any(|l| l.starts_with("digisos_mellomlagring_files_removed_total{arsak=\"UTLOPT\"}")),
        "{metrics}"
    );
}

async fn a_v2_ettersendelse_cannot_take_files_from_another_cases_mellomlagring(app: &TestApp) {
    kommuner(app).await;
    let cert = published_certificate(app).await;
    let id = sent_v2(app, &cert).await;
    // Someone else's ettersendelse waiting in mellomlagring, under a reference that is not this case's.
    let theirs = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b0001";
    assert_eq!(mellomlagre(app, theirs, &cert, "ettersendelse.pdf", &file_bytes(300, 3)).await.status, 200);
    let before = app.events().await;
    let vedlegg = json!({"vedlegg": [{"type": "annet", "tilleggsinfo": "annet", "status": "LastetOpp",
                                       "filer": [{"filnavn": "ettersendelse.pdf"}]}]});
    let form = part(Form::new(), "vedlegg.json", None, "application/json", vedlegg.to_string().as_bytes());
    let path = format!("/digisos/api/v2/soknader/{KOMMUNE}/{id}/{theirs}");
    let (status, _, body) = raw_post(app, &path, &app.citizen(FNR), form).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("4-digit counter"), "{body}");
    assert_eq!(app.events().await, before, "nothing recorded");
    let listed = app.get(&format!("/mellomlagring/{theirs}"), Some(&app.nav_system())).await;
    assert_eq!(listed.body["mellomlagringMetadataList"].as_array().map(Vec::len), Some(1), "theirs is untouched");
}

on_both_backends!(
    a_v2_ettersendelse_cannot_take_files_from_another_cases_mellomlagring,
    nav_sender_stores_encrypted_vedlegg_submits_v2_and_sees_levert_fagsystem,
    a_repeated_v2_soknad_answers_finnes_allerede_with_the_case_id_as_navs_client_reads_it,
    a_listed_vedlegg_missing_from_mellomlagring_is_a_400_naming_it_and_records_nothing,
    a_file_encrypted_for_another_certificate_is_refused_at_mellomlagring_and_records_nothing,
    mellomlagring_is_for_navs_system_identity_only,
    nav_deletes_one_file_then_all_and_each_delete_answers_204,
    a_v2_ettersendelse_takes_its_files_from_mellomlagring_and_a_repeat_finnes_allerede,
    the_sweep_removes_mellomlagring_left_behind_and_keeps_what_is_newer_than_the_age,
);
