//! The `digisos` binary as an operator runs it: it starts with no subcommand, migrates, listens, answers health
//! checks, serves the development issuer's keys in development mode, stops cleanly on SIGTERM, and refuses to start
//! on invalid configuration with a message that names the setting.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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
    let mut cmd = command(dir.path());
    cmd.env("DATABASE_URL", db.url());
    let running = start(cmd);
    let (status, body) = get(format!("{}/internal/isready", running.base)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["eventStore"], "postgres");
    // Without development mode there is no development issuer.
    let (status, _) = get(format!("{}/dev-issuer/jwks.json", running.base)).await;
    assert_eq!(status, 404);
    assert!(terminate(running).success());
    db.drop().await;
}

#[test]
fn invalid_configuration_stops_start_up_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    for (name, value) in [
        ("DIGISOS_LISTEN", "not-an-address"),
        ("DATABASE_URL", "mysql://localhost/x"),
        ("DIGISOS_ISSUERS", "[{\"name\": 1}]"),
        ("DIGISOS_DEV_MODE", "ture"),
        // Nothing listens there: start-up stops instead of running without the configured event log.
        ("EVENTSTORE_URL", "esdb://127.0.0.1:1?tls=false"),
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
