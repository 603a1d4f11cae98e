//! The `digisos` binary as an operator runs it: it starts with no subcommand, migrates, listens, answers health
//! checks, serves the development issuer's keys in development mode, stops cleanly on SIGTERM, and refuses to start
//! on invalid configuration with a message that names the setting. In development mode it prints a banner with
//! the addresses and the token commands, and configures the demo kommune once. Its JSON log lines carry their
//! request's id and never a fødselsnummer.

mod api_support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fiks_digisos::eventstore::StreamName;
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::testkit::FreshPostgres;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_digisos");

struct Running {
    child: Child,
    base: String,
}

fn command(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DIGISOS_DATA_DIR", data_dir)
        .env("DIGISOS_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts the service and reads the address it prints on its first line of stdout.
fn start(mut cmd: Command) -> Running {
    let mut child = cmd.spawn().expect("spawn digisos");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the banner");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the banner {line:?}"))
        .to_string();
    Running { child, base }
}

fn terminate(mut running: Running) -> std::process::ExitStatus {
    let pid = running.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
    assert!(killed.success());
    for _ in 0..100 {
        if let Some(status) = running.child.try_wait().expect("wait") {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = running.child.kill();
    panic!("the service did not stop within 10 s of SIGTERM");
}

async fn get(url: String) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_service_starts_on_sqlite_by_default_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("DIGISOS_DEV_MODE", "true");
    let running = start(cmd);

    let (status, body) = get(format!("{}/internal/isready", running.base)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["eventStore"], "sqlite");
    let projections = body["projections"].as_array().expect("a lag report per projection");
    assert!(projections.iter().any(|p| p["name"] == "kommune" && p["failure"].is_null()), "{body}");
    assert!(dir.path().join("digisos.db").exists(), "the SQLite database lives in the data folder");

    // The token the CLI mints is signed by the key whose JWKS the service serves.
    let (status, jwks) = get(format!("{}/dev-issuer/jwks.json", running.base)).await;
    assert_eq!(status, 200);
    let out = Command::new(BIN)
        .env("DIGISOS_DATA_DIR", dir.path())
        .args(["token", "--role", "fagsystem", "--orgnr", "958935420"])
        .output()
        .expect("digisos token");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let header = token.trim().split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&base64_url_decode(header)).unwrap();
    assert_eq!(header["kid"], jwks["keys"][0]["kid"]);

    let status = terminate(running);
    assert!(status.success(), "exit status after SIGTERM: {status:?}");
}

#[tokio::test]
async fn the_service_runs_on_postgres_when_database_url_names_it() {
    let db = FreshPostgres::create().await.expect("fresh database");
    let dir = tempfile::tempdir().unwrap();
    // Outside development mode the key pair of encrypted uploads is configured (made here with openssl).
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=digisos-test"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let mut cmd = command(dir.path());
    cmd.env("DATABASE_URL", db.url()).env("DIGISOS_DOKUMENTLAGER_CERT", &cert).env("DIGISOS_DOKUMENTLAGER_KEY", &key);
    let running = start(cmd);
    let (status, body) = get(format!("{}/internal/isready", running.base)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["eventStore"], "postgres");
    // It publishes the configured certificate.
    let der = reqwest::get(format!("{}/digisos/api/v1/dokumentlager-public-key", running.base))
        .await
        .expect("answers")
        .bytes()
        .await
        .expect("body");
    let expected =
        Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&cert).output().expect("openssl");
    assert_eq!(der.to_vec(), expected.stdout, "the configured certificate, DER");
    // Without development mode there is no development issuer.
    let (status, _) = get(format!("{}/dev-issuer/jwks.json", running.base)).await;
    assert_eq!(status, 404);
    assert!(terminate(running).success());
    db.drop().await;
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"not a folder").unwrap();
    let blocked = file.join("data");
    let blocked_audit = file.join("audit.log");
    for (name, value) in [
        ("DIGISOS_LISTEN", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DIGISOS_ISSUERS", "[{\"name\": 1}]"),
        ("DIGISOS_DEV_MODE", "ture"),
        // Nothing listens there: start-up stops instead of running without the configured event log.
        ("EVENTSTORE_URL", "esdb://127.0.0.1:1?tls=false"),
        // A data folder that cannot be created (its parent is a file).
        ("DIGISOS_DATA_DIR", blocked.to_str().expect("UTF-8 path")),
        ("DIGISOS_AUDIT_LOG", blocked_audit.to_str().expect("UTF-8 path")),
        ("DIGISOS_DOCUMENTS_URL", "ftp://example.org/documents"),
        ("DIGISOS_MAX_FILE_BYTES", "lots"),
        ("DIGISOS_MAX_FILES_PER_REQUEST", "0"),
        ("DIGISOS_MAX_BODY_BYTES", "-1"),
        ("DIGISOS_REQUEST_TIMEOUT_SECS", "0"),
        ("DIGISOS_READ_WAIT_SECS", "soon"),
        ("DIGISOS_DELIVERY_TTL_SECS", "0"),
        ("DIGISOS_REDELIVERY_INTERVAL_SECS", "0"),
        ("DIGISOS_MELLOMLAGRING_MAX_AGE_SECS", "0"),
        // Outside development mode the decryption key must be configured: a certificate without its key stops it.
        ("DIGISOS_DOKUMENTLAGER_CERT", "/nonexistent/cert.pem"),
        ("DIGISOS_REQUIRE_ENCRYPTED_FILES", "perhaps"),
    ] {
        let mut cmd = command(dir.path());
        cmd.env(name, value);
        let out = cmd.output().expect("run digisos");
        assert!(!out.status.success(), "{name}={value} should stop start-up");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said = stderr.to_uppercase().replace('-', "_");
        let flag = name.trim_start_matches("DIGISOS_");
        assert!(said.contains(name) || said.contains(flag), "{name}={value}: stderr does not name it: {stderr}");
    }
}

fn base64_url_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).expect("base64url")
}

/// Starts the service in development mode and reads its whole banner (up to the admin token line).
fn start_with_banner(mut cmd: Command) -> (Running, Vec<String>) {
    let mut child = cmd.spawn().expect("spawn digisos");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the banner");
        let last = line.contains("--role admin");
        lines.push(line);
        if last {
            break;
        }
    }
    let first = lines.first().cloned().unwrap_or_default();
    let base = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in the banner {lines:?}"))
        .to_string();
    (Running { child, base }, lines)
}

/// Runs a token command exactly as the banner prints it, with the built binary in place of
/// `cargo run --release --`, and no environment beyond PATH (so `--data-dir` must be in the command).
fn mint(banner_command: &str) -> String {
    let args = banner_command.split_once("cargo run --release -- ").map(|(_, a)| a).expect("a cargo run command");
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args.split_whitespace())
        .output()
        .expect("digisos token");
    assert!(out.status.success(), "{banner_command}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8").trim().to_owned()
}

async fn get_with(url: String, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new().get(url).bearer_auth(token).send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn development_mode_prints_the_banner_and_configures_the_demo_kommune_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("DIGISOS_DEV_MODE", "true");
    let (running, banner) = start_with_banner(cmd);
    let base = running.base.clone();
    let text = banner.join("\n");
    assert!(banner[0].starts_with(&format!("fiks-digisos listening on {base}")), "{text}");
    let ws = base.replacen("http://", "ws://", 1);
    for expected in [
        format!("POST {base}/graphql"),
        format!("GET  {base}/graphql"),
        format!("{ws}/graphql/ws"),
        format!("{base}/digisos/api/v1"),
        format!("{base}/kommune"),
        format!("{base}/internal/isready"),
        format!("{base}/internal/metrics"),
    ] {
        assert!(text.contains(&expected), "the banner lacks {expected}:\n{text}");
    }
    let command_of = |role: &str| {
        let line = banner
            .iter()
            .find(|l| l.contains(&format!("--role {role}")))
            .unwrap_or_else(|| panic!("no token command for {role}:\n{text}"));
        assert!(line.contains("cargo run --release -- token"), "{line}");
        line.clone()
    };
    let tokens: Vec<(&str, String)> = ["citizen", "nav-staff", "nav-system", "fagsystem", "admin"]
        .into_iter()
        .map(|r| (r, mint(&command_of(r))))
        .collect();
    for (role, token) in &tokens {
        assert_eq!(token.split('.').count(), 3, "{role}: not a JWT: {token}");
    }
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).map(|(_, t)| t.clone()).expect("minted");

    // The demo kommune, as Nav's systems see it (from the read model) and as the administrator set it.
    let (status, info) = get_with(format!("{base}/digisos/api/v1/nav/kommuner/0301"), &token("nav-system")).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["kanMottaSoknader"], true);
    assert_eq!(info["kanOppdatereStatus"], true);
    assert_eq!(info["harNksTilgang"], true);
    let (status, config) = get_with(format!("{base}/digisos/api/v1/admin/kommuner/0301"), &token("admin")).await;
    assert_eq!(status, 200, "{config}");
    assert_eq!(config["navEnheter"], serde_json::json!(["0315", "0316"]));
    assert_eq!(config["fagsystemOrgnr"], serde_json::json!(["958935420"]));
    // The banner's fagsystem token opens the demo kommune's mailbox.
    let fiks_org_id = config["fiksOrgId"].as_str().expect("fiksOrgId").to_owned();
    assert!(text.contains(&fiks_org_id), "the banner names the demo kommune's fiksOrgId:\n{text}");
    let (status, mailbox) = get_with(format!("{base}/digisos/api/v1/{fiks_org_id}/mottak"), &token("fagsystem")).await;
    assert_eq!(status, 200, "{mailbox}");
    assert!(terminate(running).success());

    // A restart on the same data folder finds the kommune configured and appends nothing.
    let mut cmd = command(dir.path());
    cmd.env("DIGISOS_DEV_MODE", "true");
    let (running, _) = start_with_banner(cmd);
    let (status, _) =
        get_with(format!("{}/digisos/api/v1/nav/kommuner/0301", running.base), &token("nav-system")).await;
    assert_eq!(status, 200);
    assert!(terminate(running).success());

    let url = format!("sqlite://{}?mode=rw", dir.path().join("digisos.db").display());
    let database = Database::connect(&url).await.expect("open the service's database");
    let stream = StreamName::parse("kommune-0301").expect("stream name");
    let events = database.event_store().read_stream(&stream, 0, 100).await.expect("read the kommune's stream");
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["KommuneKonfigurert.v1"], "one configuration event after two starts");
    database.close().await;
}

#[tokio::test]
async fn request_log_lines_carry_the_request_id_and_no_fodselsnummer() {
    use api_support::{BOUNDARY, FNR, standard_soknad};

    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    // tower_http's own request lines too (debug), so every request has lines to check.
    cmd.env("DIGISOS_DEV_MODE", "true").env("RUST_LOG", "info,sqlx=warn,tower_http=debug");
    let (mut running, _) = start_with_banner(cmd);
    let stderr = running.child.stderr.take().expect("stderr");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let collector = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })
    };
    // The søknad is FNR's, so the token is FNR's (the banner's citizen command mints a synthetic example person).
    let out = Command::new(BIN)
        .env("DIGISOS_DATA_DIR", dir.path())
        .args(["token", "--role", "citizen", "--fnr", FNR])
        .output()
        .expect("digisos token");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let citizen = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let client = reqwest::Client::new();
    let submitted = client
        .post(format!("{}/digisos/api/v1/soknader/0301/7c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5e", running.base))
        .bearer_auth(&citizen)
        .header("x-request-id", "ops-test-submit")
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(standard_soknad(FNR).finish())
        .send()
        .await
        .expect("submit");
    assert_eq!(submitted.status().as_u16(), 202);
    assert_eq!(submitted.headers()["x-request-id"], "ops-test-submit", "the request id is answered back");
    let refused = client
        .get(format!("{}/digisos/api/v1/nav/kommuner/0301", running.base))
        .header("x-request-id", "ops-test-refused")
        .send()
        .await
        .expect("refused");
    assert_eq!(refused.status().as_u16(), 401);
    let generated = client.get(format!("{}/internal/isalive", running.base)).send().await.expect("isalive");
    let generated_id = generated.headers()["x-request-id"].to_str().expect("ASCII").to_owned();
    assert!(!generated_id.is_empty(), "a request without an id gets one");

    assert!(terminate(running).success());
    collector.join().expect("the log collector");
    let lines = lines.lock().unwrap().clone();
    assert!(!lines.is_empty(), "the service logged nothing");

    let mut by_request: std::collections::HashMap<String, Vec<Value>> = std::collections::HashMap::new();
    for line in &lines {
        assert!(!line.contains(FNR), "a log line carries the fødselsnummer: {line}");
        let entry: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        if entry["span"]["name"] == "request" {
            let id = entry["span"]["request_id"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "a request's line without its request id: {line}");
            by_request.entry(id.to_owned()).or_default().push(entry);
        }
    }
    let submit = by_request.get("ops-test-submit").unwrap_or_else(|| panic!("no lines of the submission: {lines:#?}"));
    assert!(submit.len() >= 2, "started and finished, at least: {submit:#?}");
    assert!(
        submit.iter().all(|e| e["span"]["route"] == "/digisos/api/v1/soknader/{kommunenummer}/{navEksternRefId}"),
        "the route template, not the path: {submit:#?}"
    );
    let refused = by_request.get("ops-test-refused").unwrap_or_else(|| panic!("no lines of the refusal: {lines:#?}"));
    assert!(refused.iter().any(|e| e["message"] == "request refused"), "{refused:#?}");
    assert!(by_request.contains_key(&generated_id), "no lines under the generated id {generated_id}");
}
