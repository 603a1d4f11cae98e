#![cfg(feature = "eventstoredb")]
//! The EventStoreDB/KurrentDB backend.
//!
//! Without a server (none can be installed on the CI machines) this checks the crate's rustls trap: the backend
//! must answer a connection failure with a typed error, never with a panic or an eternally closed connection,
//! also after sqlx and reqwest did TLS in the same process. A crypto provider is process-global, so each
//! scenario runs in a fresh process: the test re-runs this binary, filtered to a `child_…` test, with
//! `DIGISOS_ESDB_CHILD` set (without it the `child_…` tests do nothing).
//!
//! With `EVENTSTORE_URL` set (for example `esdb://127.0.0.1:2113?tls=false`), the whole conformance suite runs
//! against that server; without it each conformance test prints "skipped: EVENTSTORE_URL not set".

use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use fiks_digisos::eventstore::esdb::EsdbStore;
use fiks_digisos::eventstore::{DynEventStore, StoreError, conformance};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgSslMode};

/// Nothing listens on port 1 of the loopback: connecting is refused at once.
const CLOSED_PORT: &str = "esdb://127.0.0.1:1?tls=false";
const CHILD: &str = "DIGISOS_ESDB_CHILD";

fn server_url() -> Option<String> {
    std::env::var("EVENTSTORE_URL").ok().filter(|url| !url.trim().is_empty())
}

fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs the test `name` of this binary in a new process and checks that it passed, said so, and that nothing
/// panicked in it (a panic in the crate's connection task would not fail the test by itself).
fn run_in_fresh_process(name: &str) -> String {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("cannot find the test binary: {e}"));
    let output = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} in a child process: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{name} failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("child passed"), "{name} did not run:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked") && !stdout.contains("panicked"), "{name} panicked:\n{stdout}\n{stderr}");
    stdout.into_owned()
}

#[test]
fn closed_port_is_unavailable_after_reqwest_and_sqlx_used_rustls() {
    run_in_fresh_process("child_closed_port_after_other_rustls_clients");
}

#[test]
fn provider_installed_before_the_client_is_a_typed_error_not_a_panic() {
    run_in_fresh_process("child_provider_installed_first");
}

#[tokio::test]
async fn child_closed_port_after_other_rustls_clients() {
    if !is_child() {
        return;
    }
    // reqwest over rustls: the TLS configuration is built, the connection is refused.
    let http = reqwest::Client::builder().build().expect("a reqwest client");
    assert!(http.get("https://127.0.0.1:1/").send().await.is_err());
    // sqlx over rustls: a TLS handshake with the local PostgreSQL when it runs (its outcome does not matter).
    let pg = std::env::var("DATABASE_URL").unwrap_or_else(|_| fiks_digisos::testkit::DEFAULT_SERVER_URL.into());
    if let Ok(options) = PgConnectOptions::from_str(&pg) {
        let options = options.ssl_mode(PgSslMode::Require);
        if let Ok(Ok(connection)) =
            tokio::time::timeout(Duration::from_secs(10), PgConnection::connect_with(&options)).await
        {
            let _ = connection.close().await;
        }
    }

    for attempt in 0..2 {
        match EsdbStore::connect(CLOSED_PORT).await {
            Err(StoreError::Unavailable(message)) => {
                let refused = message.starts_with("cannot connect to EventStoreDB");
                assert!(refused, "attempt {attempt}: a refused connection, not a dead task: {message}");
            }
            Err(other) => panic!("attempt {attempt}: expected Unavailable, got {other:?}"),
            Ok(_) => panic!("attempt {attempt}: connected to a closed port"),
        }
    }
    // The crate's provider is now the process default; code that installs one later must tolerate that.
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    assert!(rustls::crypto::ring::default_provider().install_default().is_err());
    println!("child passed");
}

#[tokio::test]
async fn child_provider_installed_first() {
    if !is_child() {
        return;
    }
    assert!(rustls::crypto::ring::default_provider().install_default().is_ok(), "the child starts without one");
    match EsdbStore::connect(CLOSED_PORT).await {
        Err(StoreError::Backend(message)) => {
            assert!(message.contains("crypto provider"), "the error says what went wrong: {message}");
        }
        Err(other) => panic!("expected a typed configuration error, got {other:?}"),
        Ok(_) => panic!("connected to a closed port"),
    }
    // Asking again gives the same answer (no client is ever started).
    assert!(matches!(EsdbStore::connect(CLOSED_PORT).await, Err(StoreError::Backend(_))));
    println!("child passed");
}

/// A new handle on the server at `url` (every check uses its own streams, so they may share the server).
async fn connect(url: &str) -> DynEventStore {
    match EsdbStore::connect(url).await {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot connect to EventStoreDB at EVENTSTORE_URL: {e}"),
    }
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            let Some(url) = server_url() else {
                println!("skipped: EVENTSTORE_URL not set");
                return;
            };
            conformance::$check(async || connect(&url).await).await;
        }
    )*};
}

// Durability after a killed process is EventStoreDB's own guarantee (it acknowledges after fsync); the suite's
// check drives the `digisos` binary against a SQL database and is not repeated here.
conformance!(
    appended_events_read_back_unchanged,
    expected_revision_is_enforced,
    concurrent_writers_to_one_stream_win_each_revision_once,
    retried_append_returns_original_result_and_writes_nothing,
    partly_repeated_append_is_an_idempotency_conflict,
    invalid_appends_are_refused_and_change_nothing,
    nul_characters_are_refused_alike_and_null_data_is_kept,
    feed_keeps_each_stream_in_revision_order,
    subscribers_miss_nothing_while_writers_commit_out_of_order,
    subscriber_is_woken_by_appends,
);
