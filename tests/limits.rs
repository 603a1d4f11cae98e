//! Limits on hostile input, exceeded on purpose against the `digisos` binary on a fresh PostgreSQL database: a
//! body over the service's limit (413), too many files and a part over its cap in an upload (413, the body
//! naming the limit), headers too large or too many (431, hyper's limits), JSON nested past serde_json's
//! recursion limit in a status update (400, not 500 and not a crash), and a body that arrives too slowly (408).
//! After each refusal the store holds exactly the events it held before.
//!
//! Already tested elsewhere, not repeated here: a file over the size limit (`api_nav.rs`, 413, store
//! unchanged), the file count and size limits of the multipart reader itself (`multipart.rs`), a body over the
//! limit on a bare route (`http_access.rs`), and GraphQL's own limits (`api_graphql.rs`).

mod api_support;
mod binary_support;
mod fagsystem_support;

use std::time::Duration;

use api_support::{
    BOUNDARY, ENHET, FAGSYSTEM_ORGNR, FIKS_ORG_ID, FNR, Form, KOMMUNE, PREFIX, file_bytes, kommune_config, soknad_form,
    soknad_form_with_files, soknad_json, standard_soknad,
};
use binary_support::{START_PATIENCE, Service, Tokens};
use fagsystem_support::{status, update_body};
use fiks_digisos::testkit::FreshPostgres;
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The body limit the service runs with here: a søknad of small files fits, a bigger body does not.
const MAX_BODY: usize = 256 * 1024;
/// Files a request.
const MAX_FILES: usize = 3;

/// A running service on its own database, with the kommune configured.
struct Limited {
    service: Service,
    pg: Option<FreshPostgres>,
    pool: PgPool,
    tokens: Tokens,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Limited {
    async fn start(extra: &[(&str, &str)]) -> Limited {
        let pg = FreshPostgres::create().await.expect("a fresh database");
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let tokens = Tokens::new(&data);
        let service = Service::start(&data, pg.url(), extra, &dir.path().join("digisos.log"));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
        service.wait_ready(&http, START_PATIENCE).await;
        let configured = http
            .put(format!("{}{PREFIX}/admin/kommuner/{KOMMUNE}", service.base))
            .bearer_auth(tokens.admin())
            .json(&kommune_config())
            .send()
            .await
            .expect("configure the kommune");
        assert_eq!(configured.status().as_u16(), 200);
        let pool = PgPool::connect(pg.url()).await.expect("connect to the store");
        Limited { service, pg: Some(pg), pool, tokens, http, _dir: dir }
    }

    /// How many events the store holds (read directly: every committed event).
    async fn events(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM es_events").fetch_one(&self.pool).await.expect("count events")
    }

    /// Submits a søknad form as the citizen: status and JSON body.
    async fn submit(&self, form: Form) -> (u16, Value) {
        let reference = uuid::Uuid::new_v4();
        let response = self
            .http
            .post(format!("{}{PREFIX}/soknader/{KOMMUNE}/{reference}", self.service.base))
            .bearer_auth(self.tokens.citizen(FNR))
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(form.finish())
            .send()
            .await
            .expect("the service answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A case of the citizen, created by a søknad.
    async fn case(&self) -> String {
        let (status, body) = self.submit(standard_soknad(FNR)).await;
        assert_eq!(status, 202, "{body}");
        body.as_str().expect("the id").to_owned()
    }

    async fn finish(mut self) {
        assert!(self.service.terminate(), "a clean stop");
        self.pool.close().await;
        if let Some(pg) = self.pg.take() {
            pg.drop().await;
        }
    }
}

/// Sends `request` (raw bytes) and returns the status line of the answer (empty when the connection closed
/// without one).
async fn raw(base: &str, request: &[u8]) -> String {
    let address = base.trim_start_matches("http://");
    let socket = tokio::net::TcpStream::connect(address).await.expect("connect");
    let (mut socket, mut writer) = socket.into_split();
    // Written while the answer is read: the service may answer and close before it has read everything (a
    // failed write is not the answer, and an answer not read before the close could be lost with it).
    let request = request.to_vec();
    let write = tokio::spawn(async move {
        let _ = writer.write_all(&request).await;
        writer
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buf = [0u8; 4096];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 60 s");
    write.abort();
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_records_nothing() {
    let app = Limited::start(&[("DIGISOS_MAX_BODY_BYTES", &MAX_BODY.to_string())]).await;
    let before = app.events().await;
    // The service refuses on the declared length, before reading the body, so only the head is sent (sending the
    // body too races the service closing the connection against the client still writing).
    let big = soknad_form(&soknad_json(FNR), Some(ENHET), &file_bytes(MAX_BODY, 1)).finish();
    let head = format!(
        "POST {PREFIX}/soknader/{KOMMUNE}/{} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {}\r\n\r\n",
        uuid::Uuid::new_v4(),
        app.tokens.citizen(FNR),
        big.len()
    );
    assert!(big.len() > MAX_BODY);
    let line = raw(&app.service.base, head.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 413"), "a body of {} bytes: {line:?}", big.len());
    assert_eq!(app.events().await, before, "the store is unchanged");
    // Within the limit the same route takes a søknad: the refusal was the size.
    app.case().await;
    app.finish().await;
}

#[tokio::test]
async fn too_many_files_or_a_part_over_its_cap_is_413_naming_the_limit_and_records_nothing() {
    let app = Limited::start(&[("DIGISOS_MAX_FILES_PER_REQUEST", &MAX_FILES.to_string())]).await;
    let before = app.events().await;
    // The standard søknad carries the PDF and five files: more than three.
    let (status, body) = app.submit(standard_soknad(FNR)).await;
    assert_eq!(status, 413, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("more than {MAX_FILES} files")), "the message names the limit: {message}");

    // A metadata part over its 16 KiB cap.
    let files: Vec<(&str, Vec<u8>)> = vec![];
    let form = soknad_form_with_files(&soknad_json(FNR), Some(ENHET), &file_bytes(100, 0), &files);
    let padding = "x".repeat(20 * 1024);
    let form = form
        .json("vedleggSpesifikasjon:1", &json!({"filnavn": padding, "mimetype": "application/pdf", "storrelse": 1}));
    let (status, body) = app.submit(form).await;
    assert_eq!(status, 413, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains("16384"), "the message names the cap: {message}");
    assert_eq!(app.events().await, before, "the store is unchanged");
    app.finish().await;
}

#[tokio::test]
async fn headers_too_large_or_too_many_are_431_and_record_nothing() {
    let app = Limited::start(&[]).await;
    let before = app.events().await;
    let path = format!("{PREFIX}/soknader/{KOMMUNE}/{}", uuid::Uuid::new_v4());
    let huge = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nX-Padding: {}\r\nContent-Length: 0\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    let line = raw(&app.service.base, huge.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 431"), "a 1 MiB header: {line:?}");
    let many: String = (0..200).map(|i| format!("X-Header-{i}: {i}\r\n")).collect();
    let many = format!("POST {path} HTTP/1.1\r\nHost: localhost\r\n{many}Content-Length: 0\r\n\r\n");
    let line = raw(&app.service.base, many.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 431"), "200 headers: {line:?}");
    assert_eq!(app.events().await, before, "the store is unchanged");
    // The service still answers.
    let (status, _) = app.service.readiness(&app.http).await.expect("it answers");
    assert_eq!(status, 200);
    app.finish().await;
}

#[tokio::test]
async fn json_nested_past_the_recursion_limit_is_400_and_records_nothing() {
    let app = Limited::start(&[]).await;
    let id = app.case().await;
    let before = app.events().await;
    let fagsystem = app.tokens.fagsystem(FAGSYSTEM_ORGNR);
    let url = format!("{}{PREFIX}/{FIKS_ORG_ID}/{id}", app.service.base);
    for depth in [129, 100_000] {
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let update = update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]).to_string();
        let body = update.replacen("\"hendelser\":", &format!("\"dypt\":{nested},\"hendelser\":"), 1);
        assert!(body.contains(&nested));
        let response = app
            .http
            .post(&url)
            .bearer_auth(&fagsystem)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("the service answers");
        let code = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        assert_eq!(code, 400, "nesting {depth} deep: {answer}");
        assert!(answer["problems"].to_string().contains("recursion limit"), "{answer}");
    }
    assert_eq!(app.events().await, before, "the store is unchanged");
    // The same update, not nested, is taken.
    let ok = app
        .http
        .post(&url)
        .bearer_auth(&fagsystem)
        .json(&update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]));
    assert_eq!(ok.send().await.expect("answers").status().as_u16(), 202);
    app.finish().await;
}

#[tokio::test]
async fn a_body_that_arrives_too_slowly_is_408_and_records_nothing() {
    let app = Limited::start(&[("DIGISOS_REQUEST_TIMEOUT_SECS", "2")]).await;
    let before = app.events().await;
    // The headers promise a configuration, a few bytes of it come, then nothing: the request outlives its time.
    let token = app.tokens.admin();
    let slow = format!(
        "PUT {PREFIX}/admin/kommuner/{KOMMUNE} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"fiksOrgId\": "
    );
    let line = raw(&app.service.base, slow.as_bytes()).await;
    assert!(line.starts_with("HTTP/1.1 408"), "a body that never completes: {line:?}");
    assert_eq!(app.events().await, before, "the store is unchanged");
    app.finish().await;
}
