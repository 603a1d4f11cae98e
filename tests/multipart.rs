//! The multipart reader behind a tiny axum app on 127.0.0.1:0, driven over HTTP with bodies built from the real
//! test files of the søknad format (`shared/formats/soknadsosialhjelp-filformat/src/test/resources`).
//!
//! The bodies are written byte by byte here (not by a client library's form builder), so a test can send
//! exactly what a client would, including the malformed shapes the reader must refuse. Each app stores files in
//! its own temporary folder, with small limits so a "too large" file is a few kilobytes.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};

use digisos_schema::events::Sha512;
use fiks_digisos::documents::DocumentStore;
use fiks_digisos::http::error::ApiError;
use fiks_digisos::http::multipart::{
    MultipartBody, UploadLimits, body_limit, read_ettersendelse, read_filer, read_soknad,
};

const RESOURCES: &str = "../shared/formats/soknadsosialhjelp-filformat/src/test/resources/json";
/// A fødselsnummer with valid control digits, put in place of the test files' placeholder.
const FNR: &str = "01017012343";
/// The limit a file in these tests.
const MAX_FILE: u64 = 4096;

fn resource(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(RESOURCES).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).expect("test file is JSON")
}

/// A valid søknad: the format's `systemdata.json` with a valid fødselsnummer.
fn soknad() -> Value {
    let mut soknad = resource("soknad/systemdata.json");
    soknad["data"]["personalia"]["personIdentifikator"]["verdi"] = json!(FNR);
    soknad
}

/// `n` bytes of a file (a PDF header and a pattern that differs by `seed`).
fn file_bytes(n: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes.truncate(n);
    bytes
}

/// A `multipart/form-data` body, part by part.
struct Form {
    body: Vec<u8>,
}

const BOUNDARY: &str = "digisos-test-7f3a9c";

impl Form {
    fn new() -> Self {
        Form { body: Vec::new() }
    }

    fn part(mut self, disposition: &str, content_type: &str, bytes: &[u8]) -> Self {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\nContent-Type: {content_type}\r\n\r\n"
        );
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A JSON part sent as Nav sends it: text/plain, no file name.
    fn json(self, name: &str, value: &Value) -> Self {
        self.part(&format!("name=\"{name}\""), "text/plain;charset=UTF-8", value.to_string().as_bytes())
    }

    /// A file part with a file name.
    fn file(self, name: &str, filnavn: &str, bytes: &[u8]) -> Self {
        self.part(&format!("name=\"{name}\"; filename=\"{filnavn}\""), "application/octet-stream", bytes)
    }

    /// Metadata `{filnavn, mimetype, storrelse}` under `name`.
    fn metadata(self, name: &str, filnavn: &str, storrelse: usize) -> Self {
        self.json(name, &json!({"filnavn": filnavn, "mimetype": "application/pdf", "storrelse": storrelse}))
    }

    /// Nav's pair `vedleggSpesifikasjon:<i>` + `dokument:<i>`, with the right size.
    fn pair(self, i: usize, filnavn: &str, bytes: &[u8]) -> Self {
        self.metadata(&format!("vedleggSpesifikasjon:{i}"), filnavn, bytes.len()).file(
            &format!("dokument:{i}"),
            filnavn,
            bytes,
        )
    }

    fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.body
    }
}

/// The app under test: one route per reader, answering what was read as JSON.
struct App {
    base: String,
    store: DocumentStore,
    _dir: tempfile::TempDir,
}

#[derive(Clone)]
struct Shared {
    store: DocumentStore,
    limits: UploadLimits,
    kryptering: fiks_digisos::kryptering::Kryptering,
}

async fn soknad_route(State(s): State<Shared>, MultipartBody(m): MultipartBody) -> Result<axum::Json<Value>, ApiError> {
    let upload = read_soknad(m, &s.store, &s.limits, &s.kryptering).await?;
    Ok(axum::Json(serde_json::to_value(upload).map_err(|_| ApiError::internal())?))
}

async fn ettersendelse_route(
    State(s): State<Shared>,
    MultipartBody(m): MultipartBody,
) -> Result<axum::Json<Value>, ApiError> {
    let upload = read_ettersendelse(m, &s.store, &s.limits, &s.kryptering).await?;
    Ok(axum::Json(serde_json::to_value(upload).map_err(|_| ApiError::internal())?))
}

async fn filer_route(State(s): State<Shared>, MultipartBody(m): MultipartBody) -> Result<axum::Json<Value>, ApiError> {
    let upload = read_filer(m, &s.store, &s.limits, &s.kryptering).await?;
    Ok(axum::Json(serde_json::to_value(upload).map_err(|_| ApiError::internal())?))
}

async fn app(max_files: usize) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = DocumentStore::local(dir.path(), MAX_FILE).expect("store");
    let limits = UploadLimits { max_files, ..UploadLimits::default() };
    let router = Router::new()
        .route("/soknad", post(soknad_route))
        .route("/ettersendelse", post(ettersendelse_route))
        .route("/filer", post(filer_route))
        .layer(body_limit(&limits, MAX_FILE))
        .with_state(Shared {
            store: store.clone(),
            limits,
            kryptering: fiks_digisos::kryptering::Kryptering::generated(false).expect("a key pair"),
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    App { base, store, _dir: dir }
}

impl App {
    async fn post(&self, route: &str, form: Form) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{route}", self.base))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(form.finish())
            .send()
            .await
            .expect("response");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON body"))
    }
}

/// The `path`s of an error body's problems.
fn paths(body: &Value) -> Vec<&str> {
    body["problems"].as_array().map(|ps| ps.iter().filter_map(|p| p["path"].as_str()).collect()).unwrap_or_default()
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

/// The five files `vedlegg/gyldig_standard.json` lists, each with its own bytes.
fn standard_vedlegg() -> Vec<(&'static str, Vec<u8>)> {
    [
        "lonn1-u95sfdgt.png",
        "DCIM567-a43sgfg.jpg",
        "barnehagefaktura-ytr64564.pdf",
        "fotball-ytr64564.pdf",
        "skikurs2017-08-01-med-langt-filnavn-564rftrfdserf-ytr64564.pdf",
    ]
    .into_iter()
    .enumerate()
    .map(|(i, name)| (name, file_bytes(500 + 100 * i, i as u8 + 1)))
    .collect()
}

/// A søknad's JSON parts: tilleggsinformasjonJson, soknadJson and `vedlegg/gyldig_standard.json`.
fn soknad_json_parts() -> Form {
    Form::new()
        .json("tilleggsinformasjonJson", &json!({"enhetsnummer": "0315"}))
        .json("soknadJson", &soknad())
        .json("vedleggJson", &resource("vedlegg/gyldig_standard.json"))
}

#[tokio::test]
async fn soknad_with_json_parts_and_file_pairs_is_read_and_its_files_stored() {
    let app = app(30).await;
    let pdf = file_bytes(2000, 0);
    let mut form = soknad_json_parts().pair(0, "Soknad.pdf", &pdf);
    for (i, (name, bytes)) in standard_vedlegg().iter().enumerate() {
        form = form.pair(i + 1, name, bytes);
    }
    let kvittering = file_bytes(700, 9);
    let (status, body) = app.post("/soknad", form.pair(6, "Brukerkvittering.pdf", &kvittering)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["tilleggsinformasjon"]["typed"]["enhetsnummer"], "0315");
    assert_eq!(body["soknad"]["typed"]["data"]["personalia"]["personIdentifikator"]["verdi"], FNR);
    assert_eq!(body["soknadPdf"]["part"], "dokument:0");
    assert_eq!(body["soknadPdf"]["blob"]["sha512"], Sha512::of_bytes(&pdf).as_str());
    let filer = body["filer"].as_array().expect("filer");
    let indices: Vec<&Value> = filer.iter().map(|f| &f["vedleggIndex"]).collect();
    assert_eq!(indices, [&json!(0), &json!(0), &json!(1), &json!(2), &json!(2), &Value::Null]);
    for (file, (_, bytes)) in filer.iter().zip(standard_vedlegg()) {
        let sha = Sha512::parse(file["blob"]["sha512"].as_str().expect("sha")).expect("hex");
        assert_eq!(app.store.get(&sha).await.expect("stored"), bytes);
    }
    let soknad_blob = Sha512::parse(body["soknad"]["blob"]["sha512"].as_str().expect("sha")).expect("hex");
    let stored: Value = serde_json::from_slice(&app.store.get(&soknad_blob).await.expect("stored")).expect("json");
    assert_eq!(stored, soknad(), "soknadJson is stored as received");
}

#[tokio::test]
async fn soknad_in_navs_v2_naming_pairs_metadata_with_the_file_named_after_it() {
    let app = app(30).await;
    let vedlegg = json!({"vedlegg": [{"type": "annet", "tilleggsinfo": "annet", "status": "VedleggKreves"}]});
    let mut form = Form::new().json("soknadJson", &soknad()).json("vedleggJson", &vedlegg);
    for (i, name) in ["Soknad.pdf", "Soknad-juridisk.pdf", "Brukerkvittering.pdf"].into_iter().enumerate() {
        let bytes = file_bytes(300 + i, i as u8);
        form = form.metadata(&format!("metadata{i}"), name, bytes.len()).file(name, name, &bytes);
    }
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["soknadPdf"]["part"], "Soknad.pdf");
    assert_eq!(body["filer"].as_array().map(Vec::len), Some(2));
    assert!(body["tilleggsinformasjon"].is_null());
}

#[tokio::test]
async fn ettersendelse_accepts_vedlegg_json_under_both_names_and_checks_a_real_sha512() {
    let app = app(30).await;
    let bytes = file_bytes(900, 3);
    let mut vedlegg = resource("vedlegg/gyldig_komplett.json");
    vedlegg["vedlegg"][0]["filer"][0]["sha512"] = json!(Sha512::of_bytes(&bytes).as_str().to_uppercase());
    let komplett =
        ["endaenfil-u95sdfght.png", "DCIM6666-ae94343bc.jpg", "yeyeye-u95sdfght.png", "alalla-ae94343bc.jpg"];
    for part_name in ["vedlegg.json", "vedleggJson"] {
        let mut form = Form::new().json(part_name, &vedlegg).pair(0, komplett[0], &bytes);
        for (i, name) in komplett.iter().enumerate().skip(1) {
            form = form.pair(i, name, &file_bytes(100 * i, i as u8));
        }
        let (status, body) = app.post("/ettersendelse", form.pair(9, "ettersendelse.pdf", &file_bytes(50, 0))).await;
        assert_eq!(status, 200, "{part_name}: {body}");
        assert_eq!(body["vedlegg"]["part"], part_name);
        assert_eq!(body["filer"][0]["blob"]["sha512"], Sha512::of_bytes(&bytes).as_str());
        assert_eq!(body["filer"].as_array().map(Vec::len), Some(5));
    }
}

#[tokio::test]
async fn fagsystem_files_pair_by_order_under_nav_ks_and_other_names() {
    let app = app(30).await;
    let (a, b, c, d) = (file_bytes(100, 1), file_bytes(200, 2), file_bytes(300, 3), file_bytes(400, 4));
    let form = Form::new()
        .pair(0, "vedtak.pdf", &a)
        .metadata("metadata:1", "brev.pdf", b.len())
        .file("dokument:1", "brev.pdf", &b)
        .metadata("fil-info", "vedlegg.pdf", c.len())
        .file("fil-data", "vedlegg.pdf", &c)
        .metadata("metadata", "siste.pdf", d.len())
        .file("dokument", "siste.pdf", &d);
    let (status, body) = app.post("/filer", form).await;
    assert_eq!(status, 200, "{body}");
    let parts: Vec<(&str, &str)> = body["filer"]
        .as_array()
        .expect("filer")
        .iter()
        .map(|f| (f["metadataPart"].as_str().unwrap_or(""), f["part"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        parts,
        [
            ("vedleggSpesifikasjon:0", "dokument:0"),
            ("metadata:1", "dokument:1"),
            ("fil-info", "fil-data"),
            ("metadata", "dokument")
        ]
    );
    assert_eq!(
        body["filer"][3]["metadata"],
        json!({"filnavn": "siste.pdf", "mimetype": "application/pdf", "storrelse": 400})
    );
}

#[tokio::test]
async fn a_file_part_without_its_metadata_part_is_refused() {
    let app = app(30).await;
    let pdf = file_bytes(100, 0);
    let form = soknad_json_parts().pair(0, "Soknad.pdf", &pdf).file("dokument:2", "x.pdf", &pdf);
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("part dokument:2 has no preceding vedleggSpesifikasjon:2"), "{body}");
    assert!(body["errorId"].is_string(), "the API's error shape: {body}");
}

#[tokio::test]
async fn a_size_that_is_not_the_declared_storrelse_is_refused_naming_both() {
    let app = app(30).await;
    let form = soknad_json_parts()
        .pair(0, "Soknad.pdf", &file_bytes(100, 0))
        .metadata("vedleggSpesifikasjon:1", "lonn1-u95sfdgt.png", 1200)
        .file("dokument:1", "lonn1-u95sfdgt.png", &file_bytes(1187, 1));
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(message(&body), "part dokument:1: metadata storrelse 1200 does not match the 1187 bytes received");
    assert_eq!(paths(&body), ["vedleggSpesifikasjon:1: $.storrelse"]);
}

#[tokio::test]
async fn a_json_part_that_is_not_json_is_refused() {
    let app = app(30).await;
    let form = Form::new().part("name=\"soknadJson\"", "application/json", b"{\"version\": ");
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(message(&body), "part soknadJson is not JSON");
    assert_eq!(paths(&body), ["soknadJson: $"]);
}

#[tokio::test]
async fn schema_problems_are_named_by_part_and_json_path() {
    let app = app(30).await;
    let form = Form::new().json("soknadJson", &resource("soknad/feil-minimal-mangler-version.json"));
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!((status, paths(&body)[0]), (400, "soknadJson: $.version"), "{body}");
    assert_eq!(message(&body), "part soknadJson is not a valid soknad.json");

    let form = Form::new().json("vedlegg.json", &resource("vedlegg/ikkegyldig_ugyldigfil.json"));
    let (status, body) = app.post("/ettersendelse", form).await;
    assert_eq!(status, 400, "{body}");
    assert!(paths(&body).iter().all(|p| p.starts_with("vedlegg.json: $.vedlegg[0].filer[")), "{body}");

    let form = Form::new().json("tilleggsinformasjonJson", &json!({"enhetsnummer": "031500"}));
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!((status, paths(&body)), (400, vec!["tilleggsinformasjonJson: $.enhetsnummer"]), "{body}");
}

#[tokio::test]
async fn required_json_parts_must_come_and_come_before_the_files() {
    let app = app(30).await;
    let vedlegg = resource("vedlegg/gyldig_minimal.json");
    let form = Form::new().json("vedleggJson", &vedlegg).pair(0, "Soknad.pdf", &file_bytes(10, 0));
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        message(&body),
        "part vedleggSpesifikasjon:0 came before the required part soknadJson; the JSON parts come first"
    );

    let (status, body) = app.post("/soknad", Form::new().json("vedleggJson", &vedlegg)).await;
    assert_eq!((status, message(&body)), (400, "the required part soknadJson is missing"), "{body}");

    let form = Form::new().json("vedlegg.json", &vedlegg).pair(0, "ettersendelse.pdf", &file_bytes(10, 0));
    let (status, body) = app.post("/ettersendelse", form.json("vedleggJson", &vedlegg)).await;
    assert_eq!((status, message(&body)), (400, "part vedleggJson must come before the files"), "{body}");

    let form = Form::new().json("vedlegg.json", &vedlegg).json("vedleggJson", &vedlegg);
    let (status, body) = app.post("/ettersendelse", form).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("more than once"), "{body}");
}

#[tokio::test]
async fn requests_without_files_are_refused() {
    let app = app(30).await;
    let vedlegg = resource("vedlegg/gyldig_minimal.json");
    let form = Form::new().json("soknadJson", &soknad()).json("vedleggJson", &vedlegg);
    let (status, body) = app.post("/soknad", form).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).contains("the first file (vedleggSpesifikasjon:0 + dokument:0) is the søknad PDF"));
    let (status, _) = app.post("/ettersendelse", Form::new().json("vedlegg.json", &vedlegg)).await;
    assert_eq!(status, 400);
    let (status, _) = app.post("/filer", Form::new()).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn more_files_than_the_limit_are_refused_with_413_at_the_first_file_too_many() {
    let app = app(2).await;
    let form = Form::new().pair(0, "a.pdf", &file_bytes(10, 0)).pair(1, "b.pdf", &file_bytes(10, 1)).pair(
        2,
        "c.pdf",
        &file_bytes(10, 2),
    );
    let (status, body) = app.post("/filer", form).await;
    assert_eq!(status, 413, "{body}");
    assert!(message(&body).starts_with("part vedleggSpesifikasjon:2: more than 2 files in one request"), "{body}");
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_with_413_whether_declared_or_not() {
    let app = app(30).await;
    let big = file_bytes(MAX_FILE as usize + 1000, 0);
    let declared =
        Form::new().metadata("vedleggSpesifikasjon:0", "stor.pdf", big.len()).file("dokument:0", "stor.pdf", &big);
    let (status, body) = app.post("/filer", declared).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(
        message(&body),
        format!("part vedleggSpesifikasjon:0 declares a file of 5096 bytes; the limit is {MAX_FILE} bytes a file")
    );

    let understated = Form::new().metadata("metadata:0", "stor.pdf", 100).file("dokument:0", "stor.pdf", &big);
    let (status, body) = app.post("/filer", understated).await;
    assert_eq!(status, 413, "{body}");
    assert_eq!(message(&body), format!("part dokument:0 is larger than the limit of {MAX_FILE} bytes a file"));
    assert!(!app.store.exists(&Sha512::of_bytes(&big)).await.expect("exists"), "nothing stored");
}

#[tokio::test]
async fn files_must_match_vedlegg_json_both_ways_except_the_generated_pdfs() {
    let app = app(30).await;
    let vedlegg = resource("vedlegg/gyldig_standard.json");
    let ikke_listet = "Ola Nordmann kontoutskrift.pdf";
    let form = Form::new().json("vedlegg.json", &vedlegg).pair(0, "ettersendelse.pdf", &file_bytes(10, 0)).pair(
        1,
        ikke_listet,
        &file_bytes(10, 1),
    );
    let (status, body) = app.post("/ettersendelse", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(paths(&body), ["vedleggSpesifikasjon:1: $.filnavn"]);
    assert!(!body.to_string().contains("Nordmann"), "file names are personal data: {body}");

    let form = Form::new().json("vedlegg.json", &vedlegg).pair(0, "lonn1-u95sfdgt.png", &file_bytes(10, 0));
    let (status, body) = app.post("/ettersendelse", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(message(&body), "files listed in vedlegg.json were not uploaded");
    assert_eq!(paths(&body)[0], "vedlegg.json: $.vedlegg[0].filer[1].filnavn");
    assert_eq!(paths(&body).len(), 4);
}

#[tokio::test]
async fn a_sha512_in_vedlegg_json_that_does_not_match_the_bytes_is_refused() {
    let app = app(30).await;
    let mut vedlegg = json!({"vedlegg": [{"type": "annet", "tilleggsinfo": "annet", "status": "LastetOpp",
        "filer": [{"filnavn": "a.pdf", "sha512": Sha512::of_bytes(b"other").as_str()}]}]});
    let bytes = file_bytes(300, 0);
    let form = Form::new().json("vedlegg.json", &vedlegg).pair(0, "a.pdf", &bytes);
    let (status, body) = app.post("/ettersendelse", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(paths(&body), ["vedlegg.json: $.vedlegg[0].filer[0].sha512"]);
    assert!(!app.store.exists(&Sha512::of_bytes(&bytes)).await.expect("exists"), "nothing stored");

    // Nav's test files carry placeholders such as "sha512sha512…"; those are not checked.
    vedlegg["vedlegg"][0]["filer"][0]["sha512"] = json!("sha512sha512sha512sha512sha1");
    let form = Form::new().json("vedlegg.json", &vedlegg).pair(0, "a.pdf", &bytes);
    assert_eq!(app.post("/ettersendelse", form).await.0, 200);
}

#[tokio::test]
async fn invalid_metadata_is_refused_with_each_problem() {
    let app = app(30).await;
    let form = Form::new().json("vedleggSpesifikasjon:0", &json!({"filnavn": "", "storrelse": -1})).file(
        "dokument:0",
        "a.pdf",
        b"x",
    );
    let (status, body) = app.post("/filer", form).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        paths(&body),
        [
            "vedleggSpesifikasjon:0: $.filnavn",
            "vedleggSpesifikasjon:0: $.mimetype",
            "vedleggSpesifikasjon:0: $.storrelse"
        ]
    );
}

#[tokio::test]
async fn pairs_that_break_off_or_cross_are_refused() {
    let app = app(30).await;
    let bytes = file_bytes(10, 0);
    let dangling = Form::new().pair(0, "a.pdf", &bytes).metadata("vedleggSpesifikasjon:1", "b.pdf", 10);
    let (status, body) = app.post("/filer", dangling).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(message(&body), "part vedleggSpesifikasjon:1 has no file after it; its file part dokument:1 is missing");

    let crossed = Form::new().metadata("vedleggSpesifikasjon:1", "b.pdf", 10).file("dokument:2", "b.pdf", &bytes);
    let (status, body) = app.post("/filer", crossed).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        message(&body),
        "part vedleggSpesifikasjon:1 must be followed by its file part dokument:1, but the next part is part dokument:2"
    );
}

#[tokio::test]
async fn unknown_and_unnamed_parts_and_non_multipart_bodies_are_refused_in_the_error_shape() {
    let app = app(30).await;
    let (status, body) = app.post("/soknad", Form::new().json("ekstraJson", &json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("unexpected part ekstraJson; this request takes tilleggsinformasjonJson"));

    let (status, body) = app.post("/filer", Form::new().part("filename=\"a.pdf\"", "application/pdf", b"x")).await;
    assert_eq!(status, 400, "{body}");
    assert!(message(&body).starts_with("part #1 has no name"), "{body}");

    let response = reqwest::Client::new()
        .post(format!("{}/soknad", app.base))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("response");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON body");
    assert!(message(&body).starts_with("the body must be multipart/form-data"), "{body}");
    assert!(body["errorId"].is_string(), "{body}");
}
