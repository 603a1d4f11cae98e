//! Encrypted uploads end to end, on SQLite and PostgreSQL: the hub publishes its certificate (raw DER, to
//! anyone), every file part of a v1 søknad, a v1 ettersendelse and a fagsystem's upload may be CMS EnvelopedData
//! for it (DER, or the BER a streaming encoder writes), and the hub keeps and serves the plaintext, checked
//! against the declared size and `vedlegg.json`'s sha512. A file for another certificate, a damaged message, and
//! outside development mode a plain file, are refused with nothing recorded. The key ring's rotation (a
//! previous certificate decrypts until its grace period ends) is tested on `Kryptering` directly and over HTTP.
//!
//! The files are encrypted with the `openssl` command line (`api_support::cms`), not with the service's code.

mod api_support;
mod fagsystem_support;

use std::path::Path;

use api_support::cms::{self, Encoding, KeyPair};
use api_support::*;
use chrono::{DateTime, Duration, Utc};
use digisos_schema::events::Sha512;
use fagsystem_support::*;
use fiks_digisos::kryptering::{DekrypteringsFeil, Kryptering, KrypteringConfig};
use serde_json::{Value, json};

/// What the metadata part declares as `storrelse`.
#[derive(Debug, Clone, Copy)]
enum Declared {
    /// The plaintext's size (Nav's søknad backend).
    Plaintext,
    /// The size of the bytes sent, here the ciphertext (Nav's upload service).
    Sent,
}

/// One file of a request: its name, the plaintext, the bytes sent (plaintext or ciphertext) and the declared
/// size.
#[derive(Debug, Clone)]
struct Fil {
    filnavn: &'static str,
    plain: Vec<u8>,
    sent: Vec<u8>,
    storrelse: usize,
}

impl Fil {
    /// A plain file.
    fn plain(filnavn: &'static str, plain: Vec<u8>) -> Fil {
        Fil { filnavn, sent: plain.clone(), storrelse: plain.len(), plain }
    }

    /// A file encrypted for `cert_der`.
    fn encrypted(
        filnavn: &'static str,
        plain: Vec<u8>,
        cert_der: &[u8],
        encoding: Encoding,
        declared: Declared,
    ) -> Fil {
        let sent = cms::encrypt(cert_der, &plain, encoding);
        assert_ne!(sent.len(), plain.len());
        let storrelse = match declared {
            Declared::Plaintext => plain.len(),
            Declared::Sent => sent.len(),
        };
        Fil { filnavn, plain, sent, storrelse }
    }
}

/// Appends `vedleggSpesifikasjon:<i>` + `dokument:<i>` for each file, numbered from `first`.
fn with_files(mut form: Form, first: usize, files: &[Fil]) -> Form {
    for (i, fil) in files.iter().enumerate() {
        let i = first + i;
        form = form.metadata(&format!("vedleggSpesifikasjon:{i}"), fil.filnavn, fil.storrelse).file(
            &format!("dokument:{i}"),
            fil.filnavn,
            &fil.sent,
        );
    }
    form
}

/// Sets the `sha512` of each listed file of `vedlegg` to the SHA-512 of `files`' plaintext of that name.
fn with_sha512(mut vedlegg: Value, files: &[Fil]) -> Value {
    for entry in vedlegg["vedlegg"].as_array_mut().expect("vedlegg") {
        for fil in entry["filer"].as_array_mut().expect("filer") {
            if let Some(sent) = files.iter().find(|f| fil["filnavn"] == f.filnavn) {
                fil["sha512"] = json!(Sha512::of_bytes(&sent.plain).as_str());
            }
        }
    }
    vedlegg
}

/// A v1 søknad of [`FNR`] with the søknad PDF `pdf` and the five files of `vedlegg/gyldig_standard.json`, whose
/// sha512 are set to the plaintexts'.
fn soknad(pdf: &Fil, vedlegg: &[Fil]) -> Form {
    let names: Vec<&str> = standard_vedlegg().iter().map(|(name, _)| *name).collect();
    assert_eq!(vedlegg.iter().map(|f| f.filnavn).collect::<Vec<_>>(), names, "the files gyldig_standard lists");
    let form = Form::new()
        .json("tilleggsinformasjonJson", &json!({"enhetsnummer": ENHET}))
        .json("soknadJson", &soknad_json(FNR))
        .json("vedleggJson", &with_sha512(resource("vedlegg/gyldig_standard.json"), vedlegg));
    with_files(with_files(form, 0, std::slice::from_ref(pdf)), 1, vedlegg)
}

/// The five files of the standard søknad, as `make` sends each (index, name, plaintext).
fn standard_files(make: impl Fn(usize, &'static str, Vec<u8>) -> Fil) -> Vec<Fil> {
    standard_vedlegg().into_iter().enumerate().map(|(i, (name, bytes))| make(i, name, bytes)).collect()
}

/// The files of `vedlegg/gyldig_komplett.json` and the generated `ettersendelse.pdf`.
const ETTERSENDELSE_FILES: [&str; 5] = [
    "endaenfil-u95sdfght.png",
    "DCIM6666-ae94343bc.jpg",
    "yeyeye-u95sdfght.png",
    "alalla-ae94343bc.jpg",
    "ettersendelse.pdf",
];

/// A v1 ettersendelse of `files` (the names of [`ETTERSENDELSE_FILES`], in order), sha512 set to the plaintexts'.
fn ettersendelse(files: &[Fil]) -> Form {
    assert_eq!(files.iter().map(|f| f.filnavn).collect::<Vec<_>>(), ETTERSENDELSE_FILES);
    let vedlegg = with_sha512(resource("vedlegg/gyldig_komplett.json"), files);
    with_files(Form::new().json("vedlegg.json", &vedlegg), 0, files)
}

fn soknad_path(reference: &str) -> String {
    format!("/soknader/{KOMMUNE}/{reference}")
}

fn ettersendelse_path(id: &str) -> String {
    format!("/soknader/{KOMMUNE}/{id}/{REF}0001")
}

fn filer_path(id: &str) -> String {
    format!("/{FIKS_ORG_ID}/{id}/filer")
}

/// Every file the mailbox offers, by name: its download path.
async fn offered(app: &TestApp) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for delivery in mailbox(app).await {
        for fil in delivery["filer"].as_array().expect("files") {
            let filnavn = fil["filnavn"].as_str().expect("filnavn").to_owned();
            all.push((filnavn, fil["nedlastingPath"].as_str().expect("nedlastingPath").to_owned()));
        }
    }
    all
}

/// Downloads each of `files` through the mailbox's link as the citizen and compares it with its plaintext.
async fn citizen_downloads_the_plaintext(app: &TestApp, files: &[Fil]) {
    let offered = offered(app).await;
    let citizen = app.citizen(FNR);
    for fil in files {
        let (_, path) = offered
            .iter()
            .find(|(name, _)| name == fil.filnavn)
            .unwrap_or_else(|| panic!("{} is not offered: {offered:?}", fil.filnavn));
        let (status, _, bytes) = download(app, path, &citizen).await;
        assert_eq!(status, 200, "{}", fil.filnavn);
        assert!(bytes == fil.plain, "{}: the stored document is the plaintext ({} bytes)", fil.filnavn, bytes.len());
    }
}

/// A fagsystem upload of `files` to case `id`.
async fn upload_files(app: &TestApp, id: &str, files: &[Fil]) -> Reply {
    app.post_form(&filer_path(id), Some(&fagsystem(app)), with_files(Form::new(), 0, files)).await
}

/// Uploads `files` to `id` as the fagsystem (200 expected), then downloads each as the citizen and compares it
/// with its plaintext; also checks the answered `storrelse` is the plaintext's.
async fn fagsystem_upload_round_trip(app: &TestApp, id: &str, files: &[Fil]) {
    let reply = upload_files(app, id, files).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    let answered = reply.body.as_array().expect("a list");
    assert_eq!(answered.len(), files.len());
    for (fil, svar) in files.iter().zip(answered) {
        assert_eq!(svar["filnavn"], fil.filnavn);
        assert_eq!(svar["storrelse"], fil.plain.len(), "the stored size is the plaintext's: {svar}");
        let dokument = svar["dokumentlagerDokumentId"].as_str().expect("id");
        let path = format!("{PREFIX}/dokumentlager/nedlasting/{dokument}");
        let (status, _, bytes) = download(app, &path, &app.citizen(FNR)).await;
        assert_eq!(status, 200);
        assert!(bytes == fil.plain, "{}: the download is the plaintext", fil.filnavn);
    }
}

// ---- The published certificate ----

async fn the_certificate_is_published_as_raw_der_to_anyone(app: &TestApp) {
    let tokens: Vec<Option<String>> = vec![
        None,
        Some(app.citizen(FNR)),
        Some(app.fagsystem(FAGSYSTEM_ORGNR)),
        Some(app.nav_staff("Z990001")),
        Some(app.nav_system()),
        Some(app.admin()),
        Some("not-a-token".to_owned()),
    ];
    let mut answers = Vec::new();
    for token in &tokens {
        let mut request = app.client().get(format!("{}{PREFIX}{}", app.base, cms::PUBLIC_KEY_PATH));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("the app answers");
        assert_eq!(response.status().as_u16(), 200, "with token {token:?}");
        let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
        assert_eq!(content_type.as_deref(), Some("application/octet-stream"));
        answers.push(response.bytes().await.expect("body").to_vec());
    }
    let der = &answers[0];
    assert!(answers.iter().all(|a| a == der), "everyone gets the same certificate");
    assert!(!der.starts_with(b"-----BEGIN"), "raw DER, not PEM");
    // The bytes are exactly one DER X.509 certificate: openssl reads them and writes the same bytes back.
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("cert.der");
    std::fs::write(&file, der).expect("write");
    let path = file.to_str().expect("UTF-8");
    let again = cms::openssl(&["x509", "-inform", "DER", "-in", path, "-outform", "DER"]);
    assert_eq!(&again, der, "a DER certificate re-encodes to itself");
    let text =
        String::from_utf8(cms::openssl(&["x509", "-inform", "DER", "-in", path, "-noout", "-text"])).expect("text");
    assert!(text.contains("rsaEncryption"), "an RSA key, for RSAES-OAEP: {text}");
}

// ---- Encrypted files are decrypted and stored as plaintext ----

async fn an_encrypted_soknad_is_stored_as_its_plaintext(app: &TestApp) {
    kommuner(app).await;
    let cert = cms::published_certificate(app).await;
    // The PDF and four files encrypted, in both encodings and with both declared sizes; one file plain
    // (development mode takes both in one request).
    let pdf = Fil::encrypted("Soknad.pdf", file_bytes(3000, 0), &cert, Encoding::Der, Declared::Plaintext);
    let vedlegg = standard_files(|i, name, bytes| match i {
        0 => Fil::encrypted(name, bytes, &cert, Encoding::Der, Declared::Plaintext),
        1 => Fil::encrypted(name, bytes, &cert, Encoding::Der, Declared::Sent),
        2 => Fil::encrypted(name, bytes, &cert, Encoding::Streamed, Declared::Plaintext),
        3 => Fil::encrypted(name, bytes, &cert, Encoding::Streamed, Declared::Sent),
        _ => Fil::plain(name, bytes),
    });
    let reply = app.post_form(&soknad_path(REF), Some(&app.citizen(FNR)), soknad(&pdf, &vedlegg)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    let mut all = vec![pdf];
    all.extend(vedlegg);
    citizen_downloads_the_plaintext(app, &all).await;
    // The recorded documents carry the plaintext's hash and size, never the ciphertext's.
    let events = app.events().await;
    let recorded = events.iter().find(|e| e.event_type == "SoknadMottatt.v1").expect("SoknadMottatt").data.to_string();
    for fil in &all {
        assert!(recorded.contains(Sha512::of_bytes(&fil.plain).as_str()), "{} by its plaintext's hash", fil.filnavn);
        assert!(!recorded.contains(Sha512::of_bytes(&fil.sent).as_str()) || fil.sent == fil.plain);
    }
}

async fn an_encrypted_ettersendelse_is_stored_as_its_plaintext(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let cert = cms::published_certificate(app).await;
    let files: Vec<Fil> = ETTERSENDELSE_FILES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let encoding = if i % 2 == 0 { Encoding::Der } else { Encoding::Streamed };
            let declared = if i < 3 { Declared::Plaintext } else { Declared::Sent };
            Fil::encrypted(name, file_bytes(400 + 150 * i, 40 + i as u8), &cert, encoding, declared)
        })
        .collect();
    let reply = app.post_form(&ettersendelse_path(&id), Some(&app.citizen(FNR)), ettersendelse(&files)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    citizen_downloads_the_plaintext(app, &files).await;
}

async fn an_encrypted_fagsystem_upload_is_stored_as_its_plaintext(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let cert = cms::published_certificate(app).await;
    let files = [
        Fil::encrypted("vedtak.pdf", file_bytes(5000, 3), &cert, Encoding::Der, Declared::Plaintext),
        Fil::encrypted("vedlegg.pdf", file_bytes(777, 4), &cert, Encoding::Der, Declared::Sent),
    ];
    fagsystem_upload_round_trip(app, &id, &files).await;
}

async fn a_streamed_ber_message_is_decrypted_too(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let cert = cms::published_certificate(app).await;
    let fil = Fil::encrypted("vedtak.pdf", file_bytes(20_000, 8), &cert, Encoding::Streamed, Declared::Plaintext);
    assert_eq!(fil.sent[1], 0x80, "the streamed form has an indefinite length");
    fagsystem_upload_round_trip(app, &id, &[fil]).await;
}

async fn storrelse_and_sha512_are_checked_against_the_plaintext(app: &TestApp) {
    kommuner(app).await;
    let cert = cms::published_certificate(app).await;
    let citizen = app.citizen(FNR);
    let pdf = Fil::plain("Soknad.pdf", file_bytes(1000, 0));
    let good = standard_files(|_, name, bytes| Fil::encrypted(name, bytes, &cert, Encoding::Der, Declared::Plaintext));
    let before = app.events().await;

    // A declared size that is neither the plaintext's nor the ciphertext's.
    let mut wrong_size = good.clone();
    wrong_size[2].storrelse = wrong_size[2].plain.len() + 1;
    let reply = app.post_form(&soknad_path(REF), Some(&citizen), soknad(&pdf, &wrong_size)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.problem_paths(), ["vedleggSpesifikasjon:3: $.storrelse"], "{:?}", reply.body);

    // vedlegg.json's sha512 of the ciphertext: the hash is checked against the plaintext.
    let mut form = Form::new()
        .json("tilleggsinformasjonJson", &json!({"enhetsnummer": ENHET}))
        .json("soknadJson", &soknad_json(FNR));
    let mut vedlegg = with_sha512(resource("vedlegg/gyldig_standard.json"), &good);
    vedlegg["vedlegg"][0]["filer"][1]["sha512"] = json!(Sha512::of_bytes(&good[1].sent).as_str());
    form = form.json("vedleggJson", &vedlegg);
    let form = with_files(with_files(form, 0, std::slice::from_ref(&pdf)), 1, &good);
    let reply = app.post_form(&soknad_path(REF), Some(&citizen), form).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.message().contains("sha512"), "{:?}", reply.body);
    assert_eq!(reply.problem_paths(), ["vedleggJson: $.vedlegg[0].filer[1].sha512"], "{:?}", reply.body);
    assert_eq!(app.events().await, before, "refusals record nothing");

    // The same files with the right sizes and hashes are taken.
    let reply = app.post_form(&soknad_path(REF), Some(&citizen), soknad(&pdf, &good)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
}

async fn a_file_at_the_size_limit_declared_by_its_ciphertext_size_is_taken(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let cert = cms::published_certificate(app).await;
    let plain = file_bytes(MAX_FILE_BYTES as usize, 6);
    let fil = Fil::encrypted("stor.pdf", plain, &cert, Encoding::Der, Declared::Sent);
    assert!(fil.storrelse as u64 > MAX_FILE_BYTES, "the ciphertext is larger than the limit, the plaintext is not");
    fagsystem_upload_round_trip(app, &id, &[fil]).await;
}

// ---- Refusals record nothing ----

/// Sends `bad` in place of one file of each upload kind and expects a 400 whose message names the part and
/// contains `says`, with nothing recorded.
async fn refused_on_every_upload(app: &TestApp, bad: impl Fn(&'static str, Vec<u8>) -> Fil, says: &str) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);
    let before = app.events().await;

    let pdf = Fil::plain("Soknad.pdf", file_bytes(1000, 0));
    let vedlegg = standard_files(|i, name, bytes| if i == 2 { bad(name, bytes) } else { Fil::plain(name, bytes) });
    let reply = app
        .post_form(&soknad_path("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a"), Some(&citizen), soknad(&pdf, &vedlegg))
        .await;
    assert_eq!(reply.status, 400, "søknad: {:?}", reply.body);
    assert!(reply.message().contains("part dokument:3") && reply.message().contains(says), "{:?}", reply.body);

    let files: Vec<Fil> = ETTERSENDELSE_FILES
        .iter()
        .enumerate()
        .map(
            |(i, name)| if i == 1 { bad(name, file_bytes(600, 1)) } else { Fil::plain(name, file_bytes(300, i as u8)) },
        )
        .collect();
    let reply = app.post_form(&ettersendelse_path(&id), Some(&citizen), ettersendelse(&files)).await;
    assert_eq!(reply.status, 400, "ettersendelse: {:?}", reply.body);
    assert!(reply.message().contains("part dokument:1") && reply.message().contains(says), "{:?}", reply.body);

    let files = [Fil::plain("a.pdf", file_bytes(300, 1)), bad("b.pdf", file_bytes(600, 2))];
    let reply = upload_files(app, &id, &files).await;
    assert_eq!(reply.status, 400, "fagsystem: {:?}", reply.body);
    assert!(reply.message().contains("part dokument:1") && reply.message().contains(says), "{:?}", reply.body);

    assert_eq!(app.events().await, before, "nothing is recorded");
}

async fn a_file_for_another_certificate_is_refused_and_nothing_recorded(app: &TestApp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let other = cms::key_pair(dir.path(), "another-service").cert_der();
    let for_other =
        |name: &'static str, bytes: Vec<u8>| Fil::encrypted(name, bytes, &other, Encoding::Der, Declared::Plaintext);
    refused_on_every_upload(app, for_other, "is not encrypted for this service's certificate").await;
}

async fn a_damaged_message_is_refused_and_nothing_recorded(app: &TestApp) {
    let cert = cms::published_certificate(app).await;
    let damaged = |name: &'static str, bytes: Vec<u8>| {
        let mut fil = Fil::encrypted(name, bytes, &cert, Encoding::Der, Declared::Plaintext);
        fil.sent = cms::damage(&fil.sent);
        fil
    };
    refused_on_every_upload(app, damaged, "could not be decrypted").await;
}

async fn a_truncated_message_is_refused_and_nothing_recorded(app: &TestApp) {
    let cert = cms::published_certificate(app).await;
    let truncated = |name: &'static str, bytes: Vec<u8>| {
        let mut fil = Fil::encrypted(name, bytes, &cert, Encoding::Der, Declared::Plaintext);
        fil.sent.truncate(fil.sent.len() - 40);
        fil
    };
    refused_on_every_upload(app, truncated, "could not be decrypted").await;
}

// ---- Outside development mode ----

async fn plain_files_are_refused_when_encryption_is_required(app: &mut TestApp) {
    let strict = Kryptering::generated(true).expect("a key pair");
    assert!(strict.requires_encryption());
    app.restart_with_kryptering(strict).await;
    kommuner(app).await;
    let cert = cms::published_certificate(app).await;
    let citizen = app.citizen(FNR);
    let before = app.events().await;

    // One plain file among encrypted ones.
    let pdf = Fil::encrypted("Soknad.pdf", file_bytes(1000, 0), &cert, Encoding::Der, Declared::Plaintext);
    let encrypted = standard_files(|_, name, bytes| Fil::encrypted(name, bytes, &cert, Encoding::Der, Declared::Sent));
    let mut one_plain = encrypted.clone();
    one_plain[4] = Fil::plain(one_plain[4].filnavn, one_plain[4].plain.clone());
    let reply = app.post_form(&soknad_path(REF), Some(&citizen), soknad(&pdf, &one_plain)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["errorCode"], "IKKE_KRYPTERT", "{:?}", reply.body);
    assert!(reply.message().contains("part dokument:5"), "{:?}", reply.body);
    // A plain søknad PDF too.
    let plain_pdf = Fil::plain("Soknad.pdf", file_bytes(1000, 0));
    let reply = app.post_form(&soknad_path(REF), Some(&citizen), soknad(&plain_pdf, &encrypted)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["errorCode"], "IKKE_KRYPTERT", "{:?}", reply.body);
    assert_eq!(app.events().await, before, "nothing is recorded");

    // Everything encrypted: taken, and stored as plaintext.
    let reply = app.post_form(&soknad_path(REF), Some(&citizen), soknad(&pdf, &encrypted)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    app.caught_up(reply.position()).await;
    let id = reply.body.as_str().expect("the id").to_owned();
    citizen_downloads_the_plaintext(app, &encrypted).await;

    // The fagsystem's upload and the ettersendelse refuse plain files as well.
    let before = app.events().await;
    let reply = upload_files(app, &id, &[Fil::plain("vedtak.pdf", file_bytes(800, 5))]).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["errorCode"], "IKKE_KRYPTERT", "{:?}", reply.body);
    let files: Vec<Fil> =
        ETTERSENDELSE_FILES.iter().map(|name| Fil::plain(name, file_bytes(300, 2))).collect::<Vec<_>>();
    let reply = app.post_form(&ettersendelse_path(&id), Some(&citizen), ettersendelse(&files)).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert_eq!(reply.body["errorCode"], "IKKE_KRYPTERT", "{:?}", reply.body);
    assert_eq!(app.events().await, before, "nothing is recorded");
    let encrypted = [Fil::encrypted("vedtak.pdf", file_bytes(800, 5), &cert, Encoding::Streamed, Declared::Sent)];
    fagsystem_upload_round_trip(app, &id, &encrypted).await;
}

// ---- Key rotation over HTTP ----

/// A key ring read from PEM files as `serve` reads it (outside development mode), with `previous` until `until`.
fn ring(dir: &Path, current: &KeyPair, previous: Option<(&KeyPair, DateTime<Utc>)>) -> Kryptering {
    let config = KrypteringConfig {
        dokumentlager_cert: Some(current.cert_pem.clone()),
        dokumentlager_key: Some(current.key_pem.clone()),
        dokumentlager_previous_cert: previous.map(|(p, _)| p.cert_pem.clone()),
        dokumentlager_previous_key: previous.map(|(p, _)| p.key_pem.clone()),
        dokumentlager_previous_until: previous.map(|(_, until)| until),
        require_encrypted_files: None,
    };
    config.open(dir, false).expect("the configured key pairs")
}

async fn a_rotated_out_certificate_is_taken_until_its_grace_period_ends(app: &mut TestApp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = cms::key_pair(dir.path(), "old");
    let new = cms::key_pair(dir.path(), "new");
    kommuner(app).await;
    let id = submitted(app, REF).await;

    app.restart_with_kryptering(ring(dir.path(), &new, Some((&old, Utc::now() + Duration::hours(1))))).await;
    assert_eq!(cms::published_certificate(app).await, new.cert_der(), "the current certificate is published");
    let files = [
        Fil::encrypted("gammel.pdf", file_bytes(900, 1), &old.cert_der(), Encoding::Der, Declared::Plaintext),
        Fil::encrypted("ny.pdf", file_bytes(900, 2), &new.cert_der(), Encoding::Der, Declared::Plaintext),
    ];
    fagsystem_upload_round_trip(app, &id, &files).await;

    app.restart_with_kryptering(ring(dir.path(), &new, Some((&old, Utc::now() - Duration::seconds(1))))).await;
    let before = app.events().await;
    let late = Fil::encrypted("gammel.pdf", file_bytes(900, 3), &old.cert_der(), Encoding::Der, Declared::Plaintext);
    let reply = upload_files(app, &id, &[late]).await;
    assert_eq!(reply.status, 400, "{:?}", reply.body);
    assert!(reply.message().contains("not encrypted for this service's certificate"), "{:?}", reply.body);
    assert_eq!(app.events().await, before);
    let fresh = Fil::encrypted("ny.pdf", file_bytes(900, 4), &new.cert_der(), Encoding::Der, Declared::Plaintext);
    fagsystem_upload_round_trip(app, &id, &[fresh]).await;
}

on_both_backends!(
    the_certificate_is_published_as_raw_der_to_anyone,
    an_encrypted_soknad_is_stored_as_its_plaintext,
    an_encrypted_ettersendelse_is_stored_as_its_plaintext,
    an_encrypted_fagsystem_upload_is_stored_as_its_plaintext,
    a_streamed_ber_message_is_decrypted_too,
    storrelse_and_sha512_are_checked_against_the_plaintext,
    a_file_at_the_size_limit_declared_by_its_ciphertext_size_is_taken,
    a_file_for_another_certificate_is_refused_and_nothing_recorded,
    a_damaged_message_is_refused_and_nothing_recorded,
    a_truncated_message_is_refused_and_nothing_recorded,
);

/// `on_both_backends!` for scenarios that restart the app (`&mut TestApp`).
macro_rules! on_both_backends_mut {
    ($($name:ident),+ $(,)?) => {
        mod restarted {
            $(
                mod $name {
                    #[tokio::test]
                    async fn sqlite() {
                        let mut app = $crate::api_support::TestApp::start($crate::api_support::Backend::Sqlite).await;
                        super::super::$name(&mut app).await;
                        app.finish().await;
                    }

                    #[tokio::test]
                    async fn postgres() {
                        let mut app =
                            $crate::api_support::TestApp::start($crate::api_support::Backend::Postgres).await;
                        super::super::$name(&mut app).await;
                        app.finish().await;
                    }
                }
            )+
        }
    };
}

on_both_backends_mut!(
    plain_files_are_refused_when_encryption_is_required,
    a_rotated_out_certificate_is_taken_until_its_grace_period_ends,
);

// ---- The key ring itself (`Kryptering::decrypt`) ----

#[test]
fn a_previous_certificate_decrypts_while_its_grace_period_lasts_and_not_after() {
    let dir = tempfile::tempdir().expect("temp dir");
    let old = cms::key_pair(dir.path(), "old");
    let new = cms::key_pair(dir.path(), "new");
    let plain = file_bytes(4096, 9);
    let for_old = cms::encrypt_for_pem(&old.cert_pem, &plain, Encoding::Der);
    let for_old_streamed = cms::encrypt_for_pem(&old.cert_pem, &plain, Encoding::Streamed);
    let for_new = cms::encrypt_for_pem(&new.cert_pem, &plain, Encoding::Der);

    let during = ring(dir.path(), &new, Some((&old, Utc::now() + Duration::hours(1))));
    assert_eq!(during.certificate_der(), new.cert_der(), "the current certificate is the published one");
    assert!(during.requires_encryption(), "outside development mode plain files are refused by default");
    assert_eq!(during.decrypt(&for_old).as_deref(), Ok(&plain[..]));
    assert_eq!(during.decrypt(&for_old_streamed).as_deref(), Ok(&plain[..]));
    assert_eq!(during.decrypt(&for_new).as_deref(), Ok(&plain[..]));

    let after = ring(dir.path(), &new, Some((&old, Utc::now() - Duration::seconds(1))));
    assert_eq!(after.decrypt(&for_old), Err(DekrypteringsFeil::NoRecipient));
    assert_eq!(after.decrypt(&for_old_streamed), Err(DekrypteringsFeil::NoRecipient));
    assert_eq!(after.decrypt(&for_new).as_deref(), Ok(&plain[..]));
    let message = DekrypteringsFeil::NoRecipient.to_string();
    assert!(message.contains("not encrypted for this service's certificate"), "{message}");
    assert!(message.contains("dokumentlager-public-key"), "says where to fetch the certificate: {message}");

    let without = ring(dir.path(), &new, None);
    assert_eq!(without.decrypt(&for_old), Err(DekrypteringsFeil::NoRecipient), "no rotation configured");
}

#[test]
fn decrypt_reads_der_and_streamed_ber_and_refuses_damage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pair = cms::key_pair(dir.path(), "hub");
    let stranger = cms::key_pair(dir.path(), "stranger");
    let kryptering = ring(dir.path(), &pair, None);
    // Every byte value, and sizes around the AES block.
    for len in [0, 1, 15, 16, 17, 255, 256, 10_000] {
        let plain: Vec<u8> = (0..len).map(|i| (i % 256) as u8).collect();
        for encoding in [Encoding::Der, Encoding::Streamed] {
            let message = cms::encrypt_for_pem(&pair.cert_pem, &plain, encoding);
            assert_eq!(kryptering.decrypt(&message).as_deref(), Ok(&plain[..]), "{len} bytes, {encoding:?}");
        }
    }
    let plain = file_bytes(1000, 1);
    let message = cms::encrypt_for_pem(&pair.cert_pem, &plain, Encoding::Der);
    assert!(matches!(kryptering.decrypt(&cms::damage(&message)), Err(DekrypteringsFeil::Damaged(_))));
    assert!(matches!(kryptering.decrypt(&message[..message.len() - 40]), Err(DekrypteringsFeil::Damaged(_))));
    let for_stranger = cms::encrypt_for_pem(&stranger.cert_pem, &plain, Encoding::Der);
    assert_eq!(kryptering.decrypt(&for_stranger), Err(DekrypteringsFeil::NoRecipient));
}

#[test]
fn the_key_files_are_checked_when_the_ring_is_opened() {
    let dir = tempfile::tempdir().expect("temp dir");
    let a = cms::key_pair(dir.path(), "a");
    let b = cms::key_pair(dir.path(), "b");
    assert!(KrypteringConfig::default().open(dir.path(), false).is_err(), "outside development mode keys are required");
    let mismatched = KrypteringConfig {
        dokumentlager_cert: Some(a.cert_pem.clone()),
        dokumentlager_key: Some(b.key_pem.clone()),
        ..KrypteringConfig::default()
    };
    assert!(mismatched.open(dir.path(), false).is_err(), "a key that does not belong to the certificate");
    // A PKCS#1 key ("BEGIN RSA PRIVATE KEY") is read as well as PKCS#8.
    let pkcs1 = dir.path().join("a.pkcs1.pem");
    let key = a.key_pem.to_str().expect("UTF-8");
    cms::openssl(&["rsa", "-in", key, "-traditional", "-out", pkcs1.to_str().expect("UTF-8")]);
    assert!(std::fs::read_to_string(&pkcs1).expect("read").contains("BEGIN RSA PRIVATE KEY"));
    let kryptering = ring(dir.path(), &KeyPair { cert_pem: a.cert_pem.clone(), key_pem: pkcs1 }, None);
    let plain = file_bytes(100, 2);
    assert_eq!(
        kryptering.decrypt(&cms::encrypt_for_pem(&a.cert_pem, &plain, Encoding::Der)).as_deref(),
        Ok(&plain[..])
    );
    // Development mode: plain files taken by default; the setting overrides either way.
    let dev = KrypteringConfig::default().open(dir.path(), true).expect("the development pair");
    assert!(!dev.requires_encryption());
    let strict_dev = KrypteringConfig { require_encrypted_files: Some(true), ..KrypteringConfig::default() };
    assert!(strict_dev.open(dir.path(), true).expect("the development pair").requires_encryption());
    let lenient = KrypteringConfig { require_encrypted_files: Some(false), ..configured(&a) };
    assert!(!lenient.open(dir.path(), false).expect("configured").requires_encryption());
    let reopened = KrypteringConfig::default().open(dir.path(), true).expect("the same development pair");
    assert_eq!(reopened.certificate_der(), dev.certificate_der(), "the development pair is created once and kept");
}

/// A configuration naming `pair` as the current key.
fn configured(pair: &KeyPair) -> KrypteringConfig {
    KrypteringConfig {
        dokumentlager_cert: Some(pair.cert_pem.clone()),
        dokumentlager_key: Some(pair.key_pem.clone()),
        ..KrypteringConfig::default()
    }
}
