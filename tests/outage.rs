//! Database outage: the `digisos` binary on a private PostgreSQL cluster of its own (the machine's shared server
//! is never stopped: other tests run on it), under light load; the cluster is stopped and started again.
//! While it is down, requests are answered 503 with a clear JSON body, within the request timeout, and
//! `/internal/isready` says not ready; once it is back, everything works again within a bounded wait, and
//! every søknad acknowledged before and after is in the store.
//!
//! PostgreSQL refuses to run as root: when the test runs as root, the cluster is created and run as the
//! `postgres` user (`runuser`), in a temporary folder owned by it.

mod api_support;
mod binary_support;
mod fagsystem_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use api_support::{BOUNDARY, FAGSYSTEM_ORGNR, FIKS_ORG_ID, FNR, KOMMUNE, PREFIX, kommune_config, standard_soknad};
use binary_support::{START_PATIENCE, Service, Tokens};
use fagsystem_support::{status, update_body};
use serde_json::{Value, json};
use sqlx::PgPool;

/// The request timeout the service runs with here.
const TIMEOUT_SECS: u64 = 3;
/// How long the service may take to work again once the database is back (a guard, not a measurement).
const RECOVERY: Duration = Duration::from_secs(60);

/// A PostgreSQL cluster of this test's own.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Cluster {
    fn create(root: &Path) -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed under /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .expect("an initdb");
        let as_postgres = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let dir = root.join("pg");
        std::fs::create_dir_all(&dir).expect("cluster folder");
        if as_postgres {
            let owned = Command::new("chown").args(["-R", "postgres:postgres"]).arg(root).status().expect("chown");
            assert!(owned.success(), "chown the cluster folder to postgres");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let cluster = Cluster { bin, dir, port, as_postgres };
        let data = cluster.dir.join("data");
        cluster.run("initdb", &["-D", path(&data), "-A", "trust", "-U", "postgres", "--no-sync"]);
        cluster
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let output = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&program).args(args).output()
        } else {
            Command::new(&program).args(args).output()
        }
        .unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn start(&self) {
        let options = format!("-p {} -c listen_addresses=127.0.0.1 -k {}", self.port, path(&self.dir));
        let (data, log) = (self.dir.join("data"), self.dir.join("postgres.log"));
        self.run("pg_ctl", &["-D", path(&data), "-l", path(&log), "-o", &options, "-w", "start"]);
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", path(&self.dir.join("data")), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Best effort: a failed test must not leave a server running.
        let data = self.dir.join("data");
        let program = self.bin.join("pg_ctl");
        let args = ["-D", path(&data), "-m", "immediate", "stop"];
        let _ = if self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--"]).arg(&program).args(args).output()
        } else {
            Command::new(&program).args(args).output()
        };
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// A søknad as the citizen: status, body, and how long the answer took.
async fn submit(http: &reqwest::Client, base: &str, tokens: &Tokens) -> (u16, Value, Duration) {
    let started = Instant::now();
    let reference = uuid::Uuid::new_v4();
    let response = http
        .post(format!("{base}{PREFIX}/soknader/{KOMMUNE}/{reference}"))
        .bearer_auth(tokens.citizen(FNR))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
        .body(standard_soknad(FNR).finish())
        .send()
        .await
        .expect("the service answers, database or not");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null), started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_503_while_the_database_is_down_and_recovers() {
    let root = tempfile::tempdir().expect("temp dir");
    let cluster = Cluster::create(root.path());
    cluster.start();
    let data = root.path().join("data");
    let tokens = Tokens::new(&data);
    let timeout = TIMEOUT_SECS.to_string();
    let service = Service::start(
        &data,
        &cluster.url(),
        &[("DIGISOS_REQUEST_TIMEOUT_SECS", &timeout), ("DIGISOS_READ_WAIT_SECS", "2")],
        &root.path().join("digisos.log"),
    );
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

    let mut acknowledged = Vec::new();
    for _ in 0..3 {
        let (status, body, _) = submit(&http, &service.base, &tokens).await;
        assert_eq!(status, 202, "{body}");
        acknowledged.push(body.as_str().expect("the id").to_owned());
    }

    cluster.stop();
    let limit = Duration::from_secs(TIMEOUT_SECS);
    for _ in 0..3 {
        let (status, body, took) = submit(&http, &service.base, &tokens).await;
        assert_eq!(status, 503, "a søknad while the database is down: {body}");
        assert_eq!(body["status"], 503, "the error shape: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("database")), "a clear message: {body}");
        assert!(took <= limit + Duration::from_secs(2), "answered after {took:?}, past the request timeout");
    }
    let fagsystem = tokens.fagsystem(FAGSYSTEM_ORGNR);
    let update = http
        .post(format!("{}{PREFIX}/{FIKS_ORG_ID}/{}", service.base, acknowledged[0]))
        .bearer_auth(&fagsystem)
        .json(&update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]))
        .send()
        .await
        .expect("answers");
    assert_eq!(update.status().as_u16(), 503, "a status update while the database is down");
    let mailbox = http
        .get(format!("{}{PREFIX}/{FIKS_ORG_ID}/mottak", service.base))
        .bearer_auth(&fagsystem)
        .send()
        .await
        .expect("answers");
    assert_eq!(mailbox.status().as_u16(), 503, "the mailbox while the database is down");
    let (ready, body) = service.readiness(&http).await.expect("readiness answers");
    assert_eq!(ready, 503, "{body}");
    assert_eq!(body["ready"], false, "{body}");

    cluster.start();
    let deadline = Instant::now() + RECOVERY;
    let id = loop {
        let (status, body, _) = submit(&http, &service.base, &tokens).await;
        if status == 202 {
            break body.as_str().expect("the id").to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "no søknad taken within {RECOVERY:?} of the database's return: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    acknowledged.push(id.clone());
    service.wait_ready(&http, RECOVERY).await;
    // The read side works again: the new søknad reaches the mailbox, and a status update is taken.
    let deadline = Instant::now() + RECOVERY;
    loop {
        let response =
            http.get(format!("{}{PREFIX}/{FIKS_ORG_ID}/mottak", service.base)).bearer_auth(&fagsystem).send().await;
        let listed = match response {
            Ok(r) if r.status().as_u16() == 200 => r.text().await.unwrap_or_default(),
            _ => String::new(),
        };
        if listed.contains(&id) {
            break;
        }
        assert!(Instant::now() < deadline, "the mailbox does not show the new søknad within {RECOVERY:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let update = http
        .post(format!("{}{PREFIX}/{FIKS_ORG_ID}/{id}", service.base))
        .bearer_auth(&fagsystem)
        .json(&update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")]))
        .send()
        .await
        .expect("answers");
    assert_eq!(update.status().as_u16(), 202);
    let graphql = http
        .post(format!("{}/graphql", service.base))
        .bearer_auth(tokens.citizen(FNR))
        .json(&json!({"query": "{ mineSaker { fiksDigisosId } }"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(graphql.status().as_u16(), 200);
    assert!(service.terminate(), "a clean stop");

    let pool = PgPool::connect(&cluster.url()).await.expect("connect");
    for id in &acknowledged {
        let found: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM es_events e JOIN es_streams s ON s.stream_id = e.stream_id
              WHERE s.stream_name = $1 AND e.event_type = 'SoknadMottatt.v1'",
        )
        .bind(format!("sak-{id}"))
        .fetch_one(&pool)
        .await
        .expect("read the store");
        assert_eq!(found, 1, "acknowledged søknad {id}");
    }
    pool.close().await;
    cluster.stop();
}
