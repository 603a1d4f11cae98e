//! Crash test: the `digisos` binary on a fresh PostgreSQL database, under concurrent søknader and status
//! updates over HTTP, killed with SIGKILL at a random moment and started again, round after round. Every request
//! the service answered with success is recorded; afterwards the store is read directly and must hold every
//! acknowledged søknad and update, the mailbox must hold exactly one delivery per søknad (none lost, none
//! doubled), and every projection must equal a rebuild of it from position zero, row for row.
//!
//! CI runs 5 rounds; `DIGISOS_CRASH_ROUNDS=50 cargo test --test crash -- --nocapture` is the long form (it prints
//! its totals, which RELIABILITY.md records).

mod api_support;
mod binary_support;
mod fagsystem_support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_support::{BOUNDARY, FAGSYSTEM_ORGNR, FIKS_ORG_ID, FNR, KOMMUNE, PREFIX, kommune_config, standard_soknad};
use binary_support::{Service, Tokens};
use fagsystem_support::{status, update_body};
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::projection_runner::{ProjectionRunner, RunnerOptions};
use fiks_digisos::testkit::FreshPostgres;
use rand::Rng;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, PgPool};

/// Concurrent clients in each round.
const WORKERS: usize = 4;

/// What the service acknowledged, across all rounds.
#[derive(Default)]
struct Ledger {
    /// `fiksDigisosId` of every søknad answered 202.
    soknader: Vec<String>,
    /// `(fiksDigisosId, number of hendelser)` of every status update answered 202.
    updates: Vec<(String, usize)>,
    /// Answers that were neither success nor a dropped connection (there should be none).
    unexpected: Vec<String>,
}

/// One client's own cases and how many `saksStatus` hendelser the last acknowledged update of each carried.
#[derive(Default)]
struct Client {
    cases: Vec<(String, usize)>,
}

/// The hendelser of update number `k` (from 0) of a case: MOTTATT and `k` saker, so each update of a case carries
/// one hendelse more than the one before and is told apart by its count.
fn hendelser(k: usize) -> Vec<Value> {
    let mut all = vec![status("MOTTATT", "2018-10-04T13:37:00.134Z")];
    all.extend((1..=k).map(|i| {
        json!({"type": "saksStatus", "hendelsestidspunkt": "2018-10-08T13:37:00.134Z", "referanse": format!("S{i}"),
               "tittel": format!("Sak {i}"), "status": "UNDER_BEHANDLING"})
    }));
    all
}

/// Submits søknader and updates its cases until the service stops answering.
async fn drive(base: String, citizen: String, fagsystem: String, mut me: Client, ledger: Arc<Mutex<Ledger>>) -> Client {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let soknad_body = standard_soknad(FNR).finish();
    loop {
        let reference = uuid::Uuid::new_v4();
        let sent = http
            .post(format!("{base}{PREFIX}/soknader/{KOMMUNE}/{reference}"))
            .bearer_auth(&citizen)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(soknad_body.clone())
            .send()
            .await;
        let Ok(response) = sent else { return me };
        let code = response.status().as_u16();
        let Ok(body) = response.bytes().await else { return me };
        match code {
            202 => {
                let id: String = serde_json::from_slice(&body).expect("the case id as a JSON string");
                ledger.lock().expect("ledger").soknader.push(id.clone());
                me.cases.push((id, 0));
            }
            _ => {
                ledger
                    .lock()
                    .expect("ledger")
                    .unexpected
                    .push(format!("søknad: {code} {}", String::from_utf8_lossy(&body)));
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // Two updates to cases of this client: the newest and one picked at random.
        for pick in 0..2 {
            if me.cases.is_empty() {
                break;
            }
            let index = if pick == 0 { me.cases.len() - 1 } else { rand::thread_rng().gen_range(0..me.cases.len()) };
            let (id, k) = me.cases[index].clone();
            let sent = http
                .post(format!("{base}{PREFIX}/{FIKS_ORG_ID}/{id}"))
                .bearer_auth(&fagsystem)
                .json(&update_body(&hendelser(k)))
                .send()
                .await;
            let Ok(response) = sent else { return me };
            let code = response.status().as_u16();
            let Ok(body) = response.bytes().await else { return me };
            if code == 202 {
                ledger.lock().expect("ledger").updates.push((id, k + 1));
                me.cases[index].1 = k + 1;
            } else {
                let text = String::from_utf8_lossy(&body).into_owned();
                ledger.lock().expect("ledger").unexpected.push(format!("update: {code} {text}"));
            }
        }
    }
}

/// `(stream, event type, data)` of every committed event.
async fn all_events(pool: &PgPool) -> Vec<(String, String, Value)> {
    sqlx::query_as(
        "SELECT s.stream_name, e.event_type, e.data FROM es_events e
           JOIN es_streams s ON s.stream_id = e.stream_id ORDER BY e.tx, e.seq",
    )
    .fetch_all(pool)
    .await
    .expect("read es_events")
}

/// The read-model tables of each projection. Every table with a `version` column must be listed here.
const TABLES: &[(&str, &[&str])] = &[
    ("kommune", &["kommuneinfo", "kommuneinfo_enheter"]),
    ("mottak", &["mottak_sak", "mottak_innsending", "mottak_leveranse", "mottak_dokument"]),
    ("innsyn", &["innsyn_sak"]),
    ("navsupport", &["navsupport_sak"]),
    ("innsynslogg", &["innsynslogg"]),
    ("mellomlagring", &["mellomlagring"]),
];

async fn active_version(pool: &PgPool, projection: &str) -> i32 {
    sqlx::query_scalar("SELECT active_version FROM projection_state WHERE name = $1")
        .bind(projection)
        .fetch_one(pool)
        .await
        .expect("the projection's state")
}

/// The rows of `table` at `version`, each as JSON text without the `version` column, sorted.
async fn rows(pool: &PgPool, table: &str, version: i32) -> Vec<String> {
    // `table` comes from TABLES, not from input.
    let sql = format!("SELECT (to_jsonb(t) - 'version')::text AS r FROM {table} t WHERE version = $1 ORDER BY r");
    sqlx::query_scalar(AssertSqlSafe(sql)).bind(version).fetch_all(pool).await.expect("read the rows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_acknowledged_is_lost_or_doubled_across_sigkills() {
    let rounds: usize = std::env::var("DIGISOS_CRASH_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(5);
    let pg = FreshPostgres::create().await.expect("a fresh database");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let log = dir.path().join("digisos.log");
    let tokens = Tokens::new(&data);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");

    // The kommune takes søknader and updates.
    let service = Service::start(&data, pg.url(), &[], &log);
    service.wait_ready(&http, binary_support::START_PATIENCE).await;
    let configured = http
        .put(format!("{}{PREFIX}/admin/kommuner/{KOMMUNE}", service.base))
        .bearer_auth(tokens.admin())
        .json(&kommune_config())
        .send()
        .await
        .expect("configure the kommune");
    assert_eq!(configured.status().as_u16(), 200);
    service.terminate();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut clients: Vec<Client> = (0..WORKERS).map(|_| Client::default()).collect();
    let citizen = tokens.citizen(FNR);
    let fagsystem = tokens.fagsystem(FAGSYSTEM_ORGNR);
    let mut kill_delays = Vec::new();
    for round in 0..rounds {
        let service = Service::start(&data, pg.url(), &[], &log);
        service.wait_ready(&http, binary_support::START_PATIENCE).await;
        let workers: Vec<_> = clients
            .drain(..)
            .map(|me| tokio::spawn(drive(service.base.clone(), citizen.clone(), fagsystem.clone(), me, ledger.clone())))
            .collect();
        let delay = Duration::from_millis(rand::thread_rng().gen_range(200..2500));
        kill_delays.push(delay);
        tokio::time::sleep(delay).await;
        service.kill();
        for worker in workers {
            clients.push(worker.await.expect("a client task"));
        }
        let acked = ledger.lock().expect("ledger").soknader.len();
        eprintln!("round {round}: killed after {delay:?}; {acked} søknader acknowledged so far");
    }

    // Once more, to see it start after the last kill, then stop it cleanly.
    let service = Service::start(&data, pg.url(), &[], &log);
    service.wait_ready(&http, binary_support::START_PATIENCE).await;
    assert!(service.terminate(), "a clean stop after the crashes");

    let ledger = Arc::try_unwrap(ledger).ok().expect("no client left").into_inner().expect("ledger");
    assert!(ledger.unexpected.is_empty(), "answers other than success: {:?}", ledger.unexpected);
    assert!(!ledger.soknader.is_empty(), "no søknad was acknowledged at all; the test proved nothing");

    let database = Database::connect(pg.url()).await.expect("open the store");
    let Database::Postgres(pool) = &database else { unreachable!("a PostgreSQL URL") };
    let events = all_events(pool).await;

    // Every acknowledged søknad and update is in the store, a søknad exactly once with exactly one delivery.
    let mut by_stream: BTreeMap<&str, Vec<(&str, &Value)>> = BTreeMap::new();
    for (stream, event_type, data) in &events {
        by_stream.entry(stream.as_str()).or_default().push((event_type.as_str(), data));
    }
    let count = |stream: &str, event_type: &str| {
        by_stream.get(stream).map_or(0, |es| es.iter().filter(|(t, _)| *t == event_type).count())
    };
    for id in &ledger.soknader {
        let stream = format!("sak-{id}");
        assert_eq!(count(&stream, "SoknadMottatt.v1"), 1, "acknowledged søknad {id}");
        assert_eq!(count(&stream, "LeveranseOpprettet.v1"), 1, "the delivery of acknowledged søknad {id}");
    }
    for (id, antall) in &ledger.updates {
        let stream = format!("sak-{id}");
        let found = by_stream.get(stream.as_str()).is_some_and(|es| {
            es.iter().any(|(t, d)| *t == "DigisosSokerOppdatert.v1" && d["antallHendelser"] == json!(antall))
        });
        assert!(found, "acknowledged update of {id} with {antall} hendelser is not in the store");
    }

    // The read models, caught up with the whole store by a runner in this process (the service is stopped).
    let store = database.event_store();
    let mut last = None;
    loop {
        let page = store.read_all(last, 1000).await.expect("read_all");
        match page.last() {
            Some(e) => last = Some(e.position),
            None => break,
        }
    }
    let last = last.expect("events");
    let runner =
        ProjectionRunner::start(store.clone(), database.clone(), digisos_projections::all(), RunnerOptions::default())
            .expect("start the projections");
    runner.wait_for_all(last, Duration::from_secs(60)).await.expect("the projections catch up");

    // The mailbox: exactly one delivery per søknad in the store (acknowledged or not), none lost, none doubled.
    let mottak = active_version(pool, "mottak").await;
    let deliveries: Vec<(String, i64)> = sqlx::query_as(
        "SELECT fiks_digisos_id, count(*) FROM mottak_leveranse WHERE version = $1 AND kind = 'SOKNAD' GROUP BY 1",
    )
    .bind(mottak)
    .fetch_all(pool)
    .await
    .expect("the mailbox");
    let deliveries: BTreeMap<String, i64> = deliveries.into_iter().collect();
    let in_store: BTreeSet<String> = events
        .iter()
        .filter(|(_, t, _)| t == "SoknadMottatt.v1")
        .map(|(s, _, _)| s.trim_start_matches("sak-").to_owned())
        .collect();
    for id in &ledger.soknader {
        assert_eq!(deliveries.get(id), Some(&1), "mailbox deliveries of acknowledged søknad {id}");
    }
    for id in &in_store {
        assert_eq!(deliveries.get(id), Some(&1), "mailbox deliveries of recorded søknad {id}");
    }
    assert_eq!(deliveries.len(), in_store.len(), "a delivery for a søknad that is not in the store");

    // Every projection equals a rebuild from zero, row for row.
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns
          WHERE table_schema = current_schema() AND column_name = 'version' AND table_name NOT IN ('projection_builds', '_sqlx_migrations')",
    )
    .fetch_all(pool)
    .await
    .expect("the read-model tables");
    for table in &tables {
        assert!(TABLES.iter().any(|(_, ts)| ts.contains(&table.as_str())), "read-model table {table} is not in TABLES");
    }
    let mut compared = 0;
    for (projection, tables) in TABLES {
        assert!(runner.names().contains(projection), "projection {projection}");
        let live = active_version(pool, projection).await;
        let mut before = Vec::new();
        for table in *tables {
            before.push(rows(pool, table, live).await);
        }
        let rebuilt = runner.rebuild(projection, Some(Duration::from_secs(120))).await.expect("the rebuild finishes");
        assert_ne!(rebuilt, live);
        for (table, before) in tables.iter().zip(before) {
            let after = rows(pool, table, rebuilt).await;
            assert_eq!(after.len(), before.len(), "{table}: rows of the rebuild vs the live model");
            for (a, b) in after.iter().zip(&before) {
                assert_eq!(a, b, "{table}: a rebuilt row differs from the live one");
            }
            compared += before.len();
        }
    }
    runner.shutdown().await;
    database.close().await;
    eprintln!(
        "crash test: {rounds} SIGKILLs (after {:?} .. {:?}); acknowledged {} søknader and {} updates; {} events, \
         {} søknader in the store, {} read-model rows equal to their rebuild",
        kill_delays.iter().min().expect("rounds"),
        kill_delays.iter().max().expect("rounds"),
        ledger.soknader.len(),
        ledger.updates.len(),
        events.len(),
        in_store.len(),
        compared
    );
    pg.drop().await;
}
