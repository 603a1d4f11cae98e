//! The whole service in the benchmark's own process, as `digisos serve` runs it, on a scratch database.
//!
//! The app (`app::app` with the read side and the projection runner) listens on 127.0.0.1 on a free port, in
//! development mode (the benchmark mints its callers' tokens with the development issuer), with documents in the
//! run's scratch folder. Running it in-process rather than as a child process keeps set-up and clean-up in one
//! place and lets a scenario reach the store and the runner directly (to seed cases, to time a rebuild); the
//! load generator shares the machine's two cores with it either way, which the reports say.

use std::sync::Arc;
use std::time::Duration;

use digisos_projections::saker::INNSYN;
use digisos_projections::{Projection, ReadDb};
use tokio::task::JoinHandle;

use super::client::{FAGSYSTEM_ORGNR, KOMMUNE, PREFIX, expect_status, kommune_config, position_of};
use super::scratch::{ScratchPostgres, ScratchSqlite};
use fiks_digisos::auth::dev_issuer::DevRole;
use fiks_digisos::auth::{AuthConfig, Authenticator};
use fiks_digisos::documents::DocumentStore;
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::{DynEventStore, Position};
use fiks_digisos::fiksio::{FiksIoConfig, Kanal};
use fiks_digisos::http::multipart::UploadLimits;
use fiks_digisos::http::read_side::{ReadSide, with_read_side};
use fiks_digisos::http::{AppState, HttpLimits};
use fiks_digisos::kryptering::KrypteringConfig;
use fiks_digisos::projection_runner::{ProjectionRunner, RunnerOptions, read_db};

/// The largest file the benchmark app accepts (the submissions send 100 KB files).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// How long a token minted by the benchmark lives.
const TOKEN_TTL: Duration = Duration::from_secs(3 * 3600);

/// The Fiks IO deadline of the benchmark app (the service's default): no delivery falls back within a run.
const FIKS_IO_DEADLINE: Duration = Duration::from_secs(7200);

/// What [`BenchApp::build`] made.
struct Built {
    base: String,
    store: DynEventStore,
    read_side: ReadSide,
    auth: Arc<Authenticator>,
    fiks_io: Option<Kanal>,
    database: Database,
    server: JoinHandle<()>,
    publisher: Option<JoinHandle<()>>,
}

/// Which database the app runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A scratch database on the PostgreSQL server.
    Postgres,
    /// A scratch SQLite file.
    Sqlite,
}

impl Backend {
    /// The name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// Which read models the app's runner keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Projections {
    /// Every projection of the service (as `serve` runs).
    All,
    /// Only the citizen's `innsyn` model (for the scenarios that seed and query only it).
    InnsynOnly,
}

/// A running app and direct access to its stores.
pub struct BenchApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The backend.
    pub backend: Backend,
    /// The event store the app appends to.
    pub store: DynEventStore,
    /// The read models and their runner.
    pub read_side: ReadSide,
    /// The authenticator (the reference handlers verify tokens with it too).
    pub auth: Arc<Authenticator>,
    /// The Fiks IO channel, when the app was started with a broker ([`BenchApp::start_with_fiks_io`]).
    pub fiks_io: Option<Kanal>,
    database: Database,
    server: JoinHandle<()>,
    publisher: Option<JoinHandle<()>>,
    client: reqwest::Client,
    folder: ScratchSqlite,
    postgres: Option<ScratchPostgres>,
}

impl BenchApp {
    /// Creates the scratch database and folder and starts the app on them; on failure removes what it created.
    pub async fn start(backend: Backend, postgres_server: &str, projections: Projections) -> Result<Self, String> {
        Self::start_on(backend, postgres_server, projections, None).await
    }

    /// [`Self::start`] with every projection and the Fiks IO channel on, publishing to the broker at `amqp_url`
    /// (a new hub account, the development signing key in the scratch folder, the default deadline of 2 h).
    pub async fn start_with_fiks_io(backend: Backend, postgres_server: &str, amqp_url: &str) -> Result<Self, String> {
        Self::start_on(backend, postgres_server, Projections::All, Some(amqp_url)).await
    }

    async fn start_on(
        backend: Backend,
        postgres_server: &str,
        projections: Projections,
        amqp_url: Option<&str>,
    ) -> Result<Self, String> {
        let folder = ScratchSqlite::create().await?;
        let postgres = match backend {
            Backend::Postgres => match ScratchPostgres::create(postgres_server).await {
                Ok(pg) => Some(pg),
                Err(e) => {
                    let _ = folder.drop().await;
                    return Err(e);
                }
            },
            Backend::Sqlite => None,
        };
        let url = match &postgres {
            Some(pg) => pg.url().to_owned(),
            None => folder.url("events.db"),
        };
        match Self::build(&url, &folder, projections, amqp_url).await {
            Ok(Built { base, store, read_side, auth, fiks_io, database, server, publisher }) => Ok(Self {
                base,
                backend,
                store,
                read_side,
                auth,
                fiks_io,
                database,
                server,
                publisher,
                client: reqwest::Client::builder()
                    .pool_max_idle_per_host(256)
                    .build()
                    .map_err(|e| format!("HTTP client: {e}"))?,
                folder,
                postgres,
            }),
            Err(e) => {
                if let Some(pg) = postgres {
                    let _ = pg.drop().await;
                }
                let _ = folder.drop().await;
                Err(e)
            }
        }
    }

    async fn build(
        url: &str,
        folder: &ScratchSqlite,
        projections: Projections,
        amqp_url: Option<&str>,
    ) -> Result<Built, String> {
        let database = Database::connect(url).await.map_err(|e| format!("cannot open the database: {e}"))?;
        database.migrate().await.map_err(|e| format!("cannot migrate: {e}"))?;
        let auth_config = AuthConfig { issuers: "[]".into(), dev_mode: true };
        let auth = Arc::new(
            fiks_digisos::auth::Authenticator::from_config(&auth_config, folder.folder())
                .map_err(|e| format!("authenticator: {e}"))?,
        );
        let documents = DocumentStore::local(&folder.folder().join("documents"), MAX_FILE_BYTES)
            .map_err(|e| format!("document folder: {e}"))?;
        let upload_limits = UploadLimits::default();
        let limits =
            HttpLimits { max_body_bytes: upload_limits.max_body_bytes(MAX_FILE_BYTES), ..HttpLimits::default() };
        let store = database.event_store();
        let kryptering = KrypteringConfig::default()
            .open(folder.folder(), true)
            .map_err(|e| format!("the development key pair: {e}"))?;
        let fiks_io = match amqp_url {
            Some(url) => FiksIoConfig {
                fiks_io_amqp_url: Some(url.to_owned()),
                fiks_io_deadline_secs: FIKS_IO_DEADLINE.as_secs(),
                ..FiksIoConfig::default()
            }
            .open(folder.folder(), true)
            .map_err(|e| format!("the Fiks IO channel: {e:#}"))?,
            None => None,
        };
        let state = AppState {
            store: store.clone(),
            auth: auth.clone(),
            documents: documents.clone(),
            upload_limits,
            kryptering,
            fiks_io: fiks_io.clone(),
        };
        let chosen: Vec<Arc<dyn Projection>> = match projections {
            Projections::All => digisos_projections::all(),
            Projections::InnsynOnly => digisos_projections::all().into_iter().filter(|p| p.name() == INNSYN).collect(),
        };
        let runner = ProjectionRunner::start(store.clone(), database.clone(), chosen, RunnerOptions::default())
            .map_err(|e| format!("cannot start the projections: {e}"))?;
        let read_side = ReadSide::new(read_db(&database), Arc::new(runner), Duration::from_secs(30));
        let publisher = fiks_io.clone().map(|kanal| {
            fiks_digisos::fiksio::utsending::spawn(fiks_digisos::fiksio::utsending::Utsending {
                kanal,
                store: store.clone(),
                documents,
                database: database.clone(),
                give_up_after: fiks_digisos::fiksio::utsending::GIVE_UP_AFTER,
                read: read_side.db.clone(),
            })
        });
        let app = with_read_side(fiks_digisos::app::app(state, &limits), read_side.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {e}"))?;
        let base = format!("http://{}", listener.local_addr().map_err(|e| format!("local address: {e}"))?);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Built { base, store, read_side, auth, fiks_io, database, server, publisher })
    }

    /// Stops the app, closes the database and removes the scratch database and folder.
    pub async fn finish(self) -> Result<(), String> {
        if let Some(publisher) = self.publisher {
            publisher.abort();
            let _ = publisher.await;
        }
        self.server.abort();
        let _ = self.server.await;
        if let Ok(runner) = Arc::try_unwrap(self.read_side.runner) {
            runner.shutdown().await;
        }
        self.database.close().await;
        let dropped = match self.postgres {
            Some(pg) => pg.drop().await,
            None => Ok(()),
        };
        let removed = self.folder.drop().await;
        dropped.and(removed)
    }

    /// The HTTP client (connections kept alive).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The read models' database.
    pub fn read_db(&self) -> &ReadDb {
        &self.read_side.db
    }

    /// The database the app runs on.
    pub fn database(&self) -> &Database {
        &self.database
    }

    /// A development token for `role`.
    pub fn token(&self, role: &DevRole) -> Result<String, String> {
        let dev = self.auth.dev_issuer().ok_or("the benchmark app runs in development mode")?;
        dev.mint(role, TOKEN_TTL).map_err(|e| format!("cannot mint a token: {e}"))
    }

    /// A citizen's token.
    pub fn citizen(&self, fnr: &str) -> Result<String, String> {
        self.token(&DevRole::Citizen(fnr.parse().map_err(|e| format!("fnr: {e}"))?))
    }

    /// The kommune's fagsystem's token.
    pub fn fagsystem(&self) -> Result<String, String> {
        self.token(&DevRole::Fagsystem(FAGSYSTEM_ORGNR.parse().map_err(|e| format!("orgnr: {e}"))?))
    }

    /// Configures [`KOMMUNE`] and waits until the read models know it.
    pub async fn configure_kommune(&self) -> Result<(), String> {
        self.configure_kommune_as(&kommune_config()).await
    }

    /// Configures [`KOMMUNE`] with `config` (the admin API's body) and waits until the read models know it.
    pub async fn configure_kommune_as(&self, config: &serde_json::Value) -> Result<(), String> {
        let url = format!("{}{PREFIX}/admin/kommuner/{KOMMUNE}", self.base);
        let request = self.client.put(url).bearer_auth(self.token(&DevRole::Admin)?).json(config);
        let response = expect_status(request, 200).await.map_err(|e| format!("configure the kommune: {e}"))?;
        self.caught_up(position_of(&response)?).await
    }

    /// Waits until every read model of the app has applied the events up to `position`.
    pub async fn caught_up(&self, position: Position) -> Result<(), String> {
        self.read_side
            .runner
            .wait_for_all(position, Duration::from_secs(600))
            .await
            .map_err(|e| format!("the read models did not reach {position}: {e}"))
    }

    /// Submits a søknad of `fnr` over HTTP (the request body from [`super::client::soknad_body`]); returns the
    /// case id and the command's position.
    pub async fn submit(&self, token: &str, body: Vec<u8>) -> Result<(String, Position), String> {
        let url = format!("{}{PREFIX}/soknader/{KOMMUNE}/{}", self.base, uuid::Uuid::new_v4());
        let request = self
            .client
            .post(url)
            .bearer_auth(token)
            .header("content-type", super::client::Form::content_type())
            .body(body);
        let response = expect_status(request, 202).await.map_err(|e| format!("submit: {e}"))?;
        let position = position_of(&response)?;
        let id: String = response.json().await.map_err(|e| format!("submit: the answer is not the id: {e}"))?;
        Ok((id, position))
    }

    /// Posts a status update (`digisos-soker.json` with `hendelser`) to case `id` as the fagsystem; returns the
    /// command's position.
    pub async fn update(&self, token: &str, id: &str, hendelser: &[serde_json::Value]) -> Result<Position, String> {
        let url = format!("{}{PREFIX}/{}/{id}", self.base, super::client::FIKS_ORG_ID);
        let body = super::client::status_update(hendelser);
        let response = expect_status(self.client.post(url).bearer_auth(token).json(&body), 202)
            .await
            .map_err(|e| format!("status update: {e}"))?;
        position_of(&response)
    }
}
