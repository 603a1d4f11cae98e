//! Test support: a fresh database per test on either backend, fast runner options, kommune events, and
//! bounded waiting with a clear failure message (no sleeps standing in for synchronisation).

use std::future::Future;
use std::time::Duration;

use digisos_schema::Orgnr;
use digisos_schema::events::{KommuneEvent, KommuneKonfigurasjon, KommuneKonfigurert, Kontaktpersoner, kommune_stream};
use digisos_schema::types::{Enhetsnummer, FiksOrgId, Kommunenummer, Tidspunkt};
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::{DynEventStore, ExpectedRevision, NewEvent, Position, StreamName};
use fiks_digisos::projection_runner::RunnerOptions;
use fiks_digisos::testkit::FreshPostgres;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A fresh, migrated database with an event store on it.
pub struct TestDb {
    pub url: String,
    pub database: Database,
    pub store: DynEventStore,
    postgres: Option<FreshPostgres>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let (url, postgres, dir) = match backend {
            Backend::Postgres => {
                let db = FreshPostgres::create().await.unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
                (db.url().to_owned(), Some(db), None)
            }
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
                (format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()), None, Some(dir))
            }
        };
        let database = connect(&url).await;
        let store = database.event_store();
        Self { url, database, store, postgres, _dir: dir }
    }

    /// Another connection to the same database, as a second service instance would have.
    pub async fn another_instance(&self) -> (Database, DynEventStore) {
        let database = connect(&self.url).await;
        let store = database.event_store();
        (database, store)
    }

    pub async fn close(self) {
        self.database.close().await;
        if let Some(db) = self.postgres {
            db.drop().await;
        }
    }
}

async fn connect(url: &str) -> Database {
    let database = Database::connect(url).await.unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    database.migrate().await.unwrap_or_else(|e| panic!("cannot migrate: {e}"));
    database
}

/// Runner options for tests: short pauses, so waiting in the tests stays short.
pub fn options() -> RunnerOptions {
    RunnerOptions {
        batch_size: 500,
        burst: Duration::from_millis(250),
        poll_interval: Duration::from_millis(200),
        standby_retry: Duration::from_millis(50),
        leader_check: Duration::from_millis(200),
        retry_first: Duration::from_millis(20),
        retry_max: Duration::from_millis(200),
        purge_chunk: 2,
        wait_poll_max: Duration::from_millis(20),
    }
}

/// The longest any wait in these tests may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Polls `check` until it returns `Some`, failing the test with `what` after [`PATIENCE`].
pub async fn eventually<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "gave up after {PATIENCE:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

pub fn kommune(number: &str) -> Kommunenummer {
    Kommunenummer::parse(number).unwrap_or_else(|e| panic!("{e}"))
}

pub fn enhet(number: &str) -> Enhetsnummer {
    Enhetsnummer::parse(number).unwrap_or_else(|e| panic!("{e}"))
}

pub const FIKS_ORG_OSLO: &str = "11415cd1-e26d-499a-8421-751457dfcbd5";
pub const FIKS_ORG_BERGEN: &str = "6f1c3d4e-2b7a-4c1e-9f0a-2d3b4c5d6e7f";

/// A configuration: mottak and innsyn on, no temporary stops, the given offices and fagsystem orgnrs.
pub fn konfigurasjon(fiks_org: &str, enheter: &[&str], orgnr: &[&str]) -> KommuneKonfigurasjon {
    KommuneKonfigurasjon {
        fiks_org_id: FiksOrgId::parse(fiks_org).unwrap_or_else(|e| panic!("{e}")),
        fagsystem_orgnr: orgnr.iter().map(|o| Orgnr::parse(o).unwrap_or_else(|e| panic!("{o}: {e}"))).collect(),
        nav_enheter: enheter.iter().map(|e| enhet(e)).collect(),
        kan_motta_soknader: true,
        kan_oppdatere_status: true,
        har_midlertidig_deaktivert_mottak: false,
        har_midlertidig_deaktivert_oppdateringer: false,
        har_nks_tilgang: false,
        kontaktpersoner: Kontaktpersoner::default(),
        behandlingsansvarlig: None,
        fiks_io_konto_id: None,
        fiks_io_sertifikat: None,
        fiks_io_integrasjon: None,
    }
}

/// Appends a `KommuneKonfigurert` event; returns its position.
pub async fn configure(
    store: &DynEventStore,
    kommunenummer: &str,
    konfigurasjon: KommuneKonfigurasjon,
    tidspunkt: &str,
) -> Position {
    let event = KommuneEvent::KommuneKonfigurert(KommuneKonfigurert {
        kommunenummer: kommune(kommunenummer),
        konfigurasjon,
        tidspunkt: Tidspunkt::parse(tidspunkt).unwrap_or_else(|e| panic!("{e}")),
    });
    let data = event.data().unwrap_or_else(|e| panic!("{e}"));
    append(store, &kommune_stream(kommune(kommunenummer)), NewEvent::new(event.event_type(), data)).await
}

/// Appends one event to `stream`; returns its position.
pub async fn append(store: &DynEventStore, stream: &str, event: NewEvent) -> Position {
    let stream = StreamName::parse(stream).unwrap_or_else(|e| panic!("{e}"));
    store.append(&stream, ExpectedRevision::Any, vec![event]).await.unwrap_or_else(|e| panic!("append: {e}")).position
}
