//! The black-box harness for the REST API: the whole app (`fiks_digisos::app::app`) on 127.0.0.1:0, on SQLite in
//! a temporary folder or on a fresh PostgreSQL database, in development mode (tokens for every role minted by the
//! development issuer), documents in a temporary folder. A test talks HTTP to it as a client would, then reads
//! the event store directly to check what a request recorded, or that a refusal recorded nothing.
//!
//! Use: `mod api_support; use api_support::*;`, write each scenario as `async fn name(app: &TestApp)`, and list
//! the scenarios in [`on_both_backends!`], which makes `sqlite::name` and `postgres::name` tests of each.
//! Multipart bodies are written by hand ([`Form`]), since this reqwest has no multipart feature, and so that a
//! test sends exactly the bytes a client would.
#![allow(dead_code)]

pub mod cms;
pub mod fixtures;
mod form;
pub mod rabbitmq;

use std::sync::Arc;
use std::time::Duration;

use fiks_digisos::auth::dev_issuer::DevRole;
use fiks_digisos::auth::{AuthConfig, Authenticator};
use fiks_digisos::documents::DocumentStore;
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::{DynEventStore, Position, RecordedEvent, StreamName};
use fiks_digisos::http::multipart::UploadLimits;
use fiks_digisos::http::read_side::{ReadSide, with_read_side};
use fiks_digisos::http::{AppState, HttpLimits, POSITION_HEADER};
use fiks_digisos::kryptering::KrypteringConfig;
use fiks_digisos::projection_runner::{ProjectionRunner, RunnerOptions, read_db};
use fiks_digisos::testkit::FreshPostgres;
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

// Not every test binary uses the fixtures (tests/openapi.rs reads only the served document).
#[allow(unused_imports)]
pub use fixtures::*;
pub use form::{BOUNDARY, Form};

/// The REST prefix; [`TestApp`] paths are relative to it.
pub const PREFIX: &str = "/digisos/api/v1";
/// The limit a file in these tests: small, so a "too large" file is cheap to send, yet a request of several
/// files can pass axum's 2 MB default body limit (which upload routes must lift).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// How long the test app's Fiks IO publisher retries a delivery whose message cannot be built (the service: a
/// minute), so a test of that fallback does not wait a minute.
pub const PUBLISHER_GIVES_UP_AFTER: Duration = Duration::from_secs(2);

/// Which event store the app runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in a temporary folder.
    Sqlite,
    /// A fresh PostgreSQL database on the server at `DATABASE_URL`, dropped by [`TestApp::finish`].
    Postgres,
}

/// The running app and direct access to its stores.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The event store the app writes to.
    pub store: DynEventStore,
    /// The document store the app writes to.
    pub documents: DocumentStore,
    /// The backend it runs on.
    pub backend: Backend,
    /// The read models and the projection runner filling them.
    pub read_side: ReadSide,
    auth: Arc<Authenticator>,
    /// The database under the event store and the read models.
    pub database: Database,
    postgres: Option<FreshPostgres>,
    server: tokio::task::JoinHandle<()>,
    client: reqwest::Client,
    /// The Fiks IO channel, when the app was started with one.
    pub fiks_io: Option<fiks_digisos::fiksio::Kanal>,
    publisher: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

/// An answer: status, headers and the body as JSON (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, parsed as JSON.
    pub body: Value,
}

/// One stored event, as the tests compare them.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Its stream.
    pub stream: String,
    /// Its stored type (`SoknadMottatt.v1`).
    pub event_type: String,
    /// Its payload.
    pub data: Value,
}

impl Reply {
    /// The error body's `message`.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// The error body's problem paths.
    pub fn problem_paths(&self) -> Vec<&str> {
        let problems = self.body["problems"].as_array();
        problems.map(|ps| ps.iter().filter_map(|p| p["path"].as_str()).collect()).unwrap_or_default()
    }

    /// The `x-digisos-position` header, parsed; panics if it is absent or not a position.
    pub fn position(&self) -> Position {
        let header = self.headers.get(POSITION_HEADER).unwrap_or_else(|| panic!("no {POSITION_HEADER}: {self:?}"));
        header.to_str().expect("ASCII header").parse().expect("a commit-prepare position")
    }
}

impl TestApp {
    /// Starts the app on `backend`.
    pub async fn start(backend: Backend) -> TestApp {
        Self::start_with_fiks_io(backend, None).await
    }

    /// Starts the app on `backend` with the Fiks IO channel on the broker at `amqp_url` (when given), its
    /// publisher running, and deliveries unanswered for `DEADLINE` falling back at each mailbox sweep.
    pub async fn start_with_fiks_io(backend: Backend, amqp_url: Option<String>) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(FreshPostgres::create().await.expect("create a PostgreSQL test database")),
        };
        let url = match &postgres {
            Some(pg) => pg.url().to_owned(),
            None => format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display()),
        };
        let database = Database::connect(&url).await.expect("open the event store");
        database.migrate().await.expect("migrate");
        let auth_config = AuthConfig { issuers: "[]".into(), dev_mode: true };
        let auth =
            Arc::new(fiks_digisos::auth::Authenticator::from_config(&auth_config, dir.path()).expect("authenticator"));
        let documents = DocumentStore::local(&dir.path().join("documents"), MAX_FILE_BYTES).expect("document folder");
        let upload_limits = UploadLimits::default();
        let limits =
            HttpLimits { max_body_bytes: upload_limits.max_body_bytes(MAX_FILE_BYTES), ..HttpLimits::default() };
        let store = database.event_store();
        // Development mode's key pair in the temporary data folder, as `serve` creates it: plain and encrypted
        // files are both taken.
        let kryptering = KrypteringConfig::default().open(dir.path(), true).expect("the development key pair");
        let fiks_io = fiks_digisos::fiksio::FiksIoConfig {
            fiks_io_amqp_url: amqp_url,
            fiks_io_deadline_secs: 7200,
            ..Default::default()
        }
        .open(dir.path(), true)
        .expect("the Fiks IO channel");
        let state = AppState {
            store: store.clone(),
            auth: auth.clone(),
            documents: documents.clone(),
            upload_limits,
            kryptering,
            fiks_io: fiks_io.clone(),
        };
        // The read side, as `serve` runs it: the projection runner and the read models' database.
        let runner = ProjectionRunner::start(
            store.clone(),
            database.clone(),
            digisos_projections::all(),
            RunnerOptions::default(),
        )
        .expect("start the projections");
        let read_side = ReadSide::new(read_db(&database), Arc::new(runner), Duration::from_secs(10));
        let publisher = fiks_io.clone().map(|kanal| {
            fiks_digisos::fiksio::utsending::spawn(fiks_digisos::fiksio::utsending::Utsending {
                kanal,
                store: store.clone(),
                documents: documents.clone(),
                database: database.clone(),
                give_up_after: PUBLISHER_GIVES_UP_AFTER,
                read: read_side.db.clone(),
            })
        });
        let app = with_read_side(fiks_digisos::app::app(state, &limits), read_side.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestApp {
            base,
            read_side,
            store,
            documents,
            backend,
            auth,
            database,
            postgres,
            server,
            client: reqwest::Client::new(),
            fiks_io,
            publisher,
            _dir: dir,
        }
    }

    /// Stops the Fiks IO publisher, as a crash of the instance would.
    pub fn stop_publisher(&mut self) {
        if let Some(publisher) = self.publisher.take() {
            publisher.abort();
        }
    }

    /// Starts the Fiks IO publisher (again), as a restarted instance does.
    pub fn start_publisher(&mut self) {
        self.stop_publisher();
        let kanal = self.fiks_io.clone().expect("the app was started with Fiks IO");
        self.publisher = Some(fiks_digisos::fiksio::utsending::spawn(fiks_digisos::fiksio::utsending::Utsending {
            kanal,
            store: self.store.clone(),
            documents: self.documents.clone(),
            database: self.database.clone(),
            give_up_after: PUBLISHER_GIVES_UP_AFTER,
            read: self.read_side.db.clone(),
        }));
    }

    /// Stops the app, closes the database and drops a PostgreSQL test database.
    pub async fn finish(self) {
        if let Some(publisher) = &self.publisher {
            publisher.abort();
        }
        self.server.abort();
        let _ = self.server.await;
        match Arc::try_unwrap(self.read_side.runner) {
            Ok(runner) => runner.shutdown().await,
            Err(_) => eprintln!("projection runner still shared when the test app finished"),
        }
        self.database.close().await;
        if let Some(pg) = self.postgres {
            pg.drop().await;
        }
    }

    /// Waits until every read model has applied the events up to `position` (read-your-writes, no sleeping).
    pub async fn caught_up(&self, position: Position) {
        if let Err(e) = self.read_side.runner.wait_for_all(position, Duration::from_secs(20)).await {
            panic!("read models did not reach {position}: {e}");
        }
    }

    /// The reqwest client the harness uses, for requests that need headers of their own.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// A development token for `role`.
    pub fn token(&self, role: DevRole) -> String {
        let dev = self.auth.dev_issuer().expect("development mode is on");
        dev.mint(&role, Duration::from_secs(300)).expect("mint a development token")
    }

    /// A development token for `role` that expires after `ttl`.
    pub fn token_valid_for(&self, role: DevRole, ttl: Duration) -> String {
        let dev = self.auth.dev_issuer().expect("development mode is on");
        dev.mint(&role, ttl).expect("mint a development token")
    }

    /// A Nav support employee's token.
    pub fn nav_staff(&self, navident: &str) -> String {
        self.token(DevRole::NavStaff(navident.parse().expect("a valid NAVident")))
    }

    /// A citizen's token.
    pub fn citizen(&self, fnr: &str) -> String {
        self.token(DevRole::Citizen(fnr.parse().expect("a valid fødselsnummer")))
    }

    /// An administrator's token.
    pub fn admin(&self) -> String {
        self.token(DevRole::Admin)
    }

    /// A fagsystem's token for organisation `orgnr`.
    pub fn fagsystem(&self, orgnr: &str) -> String {
        self.token(DevRole::Fagsystem(orgnr.parse().expect("a valid orgnr")))
    }

    /// A Nav system token.
    pub fn nav_system(&self) -> String {
        self.token(DevRole::NavSystem)
    }

    /// Sends a request to `PREFIX + path` with an optional bearer token, a content type and a body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content: Option<(&str, Vec<u8>)>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{PREFIX}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some((content_type, body)) = content {
            request = request.header("content-type", content_type).body(body);
        }
        let response = request.send().await.expect("the app answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply { status, headers, body }
    }

    /// `GET PREFIX + path`.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::GET, path, token, None).await
    }

    /// `DELETE PREFIX + path`.
    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.send(Method::DELETE, path, token, None).await
    }

    /// A JSON request.
    pub async fn json(&self, method: Method, path: &str, token: Option<&str>, body: &Value) -> Reply {
        self.send(method, path, token, Some(("application/json", body.to_string().into_bytes()))).await
    }

    /// A multipart POST.
    pub async fn post_form(&self, path: &str, token: Option<&str>, form: Form) -> Reply {
        let content_type = format!("multipart/form-data; boundary={BOUNDARY}");
        self.send(Method::POST, path, token, Some((&content_type, form.finish()))).await
    }

    /// Configures kommune `kommunenummer` through the admin endpoint; panics unless it answers 200.
    pub async fn configure_kommune(&self, kommunenummer: &str, konfigurasjon: &Value) -> Reply {
        let path = format!("/admin/kommuner/{kommunenummer}");
        let reply = self.json(Method::PUT, &path, Some(&self.admin()), konfigurasjon).await;
        assert_eq!(reply.status, 200, "configure kommune {kommunenummer}: {:?}", reply.body);
        reply
    }

    /// Every event in the store, in commit order, including any the feed still holds back.
    ///
    /// On PostgreSQL the all-events feed (`read_all`) returns an event only once no transaction on the server
    /// that started before it is still running; other tests' transactions on the same server can hold it back
    /// for a moment. "The store is unchanged" must see every committed event, so PostgreSQL is read directly.
    pub async fn events(&self) -> Vec<StoredEvent> {
        if let Database::Postgres(pool) = &self.database {
            let rows: Vec<(String, String, Value)> = sqlx::query_as(
                "SELECT s.stream_name, e.event_type, e.data FROM es_events e
                   JOIN es_streams s ON s.stream_id = e.stream_id ORDER BY e.tx, e.seq",
            )
            .fetch_all(pool)
            .await
            .expect("read es_events");
            return rows
                .into_iter()
                .map(|(stream, event_type, data)| StoredEvent { stream, event_type, data })
                .collect();
        }
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.read_all(after, 1000).await.expect("read_all");
            let Some(last) = page.last() else { return all };
            after = Some(last.position);
            all.extend(page.into_iter().map(|e| StoredEvent {
                stream: e.stream.as_str().to_owned(),
                event_type: e.event_type,
                data: e.data,
            }));
        }
    }

    /// The events of one stream.
    pub async fn stream_events(&self, stream: &str) -> Vec<RecordedEvent> {
        let name = StreamName::parse(stream).expect("stream name");
        self.store.read_stream(&name, 0, 100_000).await.expect("read_stream")
    }

    /// `(stream, event type)` of every event, for comparing the store before and after a request.
    pub async fn event_summary(&self) -> Vec<(String, String)> {
        self.events().await.into_iter().map(|e| (e.stream, e.event_type)).collect()
    }
}

/// Makes `sqlite::<name>` and `postgres::<name>` tests of each `async fn <name>(app: &TestApp)` in scope.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::api_support::TestApp::start($crate::api_support::Backend::Sqlite).await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let app = $crate::api_support::TestApp::start($crate::api_support::Backend::Postgres).await;
                    super::$name(&app).await;
                    app.finish().await;
                }
            )+
        }
    };
}
