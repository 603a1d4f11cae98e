//! Start-up and shutdown of the service: configuration in, a listening server out, and a graceful stop.
//!
//! Order matters: open and migrate the database first (a service that cannot reach its database should not
//! claim the port), then build the identity layer (development mode says so loudly), then listen. On SIGTERM or
//! Ctrl-C the server stops accepting, lets in-flight requests finish, and returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;

use crate::api::mottak::spawn_redelivery;
use crate::app::app;
use crate::auth::AuthConfig;
use crate::config::StorageConfig;
use crate::documents::DocumentsConfig;
use crate::eventstore::open::Database;
use crate::fiksio::FiksIoConfig;
use crate::http::multipart::UploadLimits;
use crate::http::read_side::{ReadSide, with_read_side};
use crate::http::{AppState, HttpLimits};
use crate::kryptering::KrypteringConfig;
use crate::projection_runner::{ProjectionRunner, RunnerOptions, read_db};

/// Everything `digisos serve` takes.
#[derive(Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "DIGISOS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The largest request body accepted on any route, in bytes. Default: what the upload limits allow
    /// (files a request × the file size limit, plus the JSON parts). JSON endpoints keep a 2 MB cap of their own.
    #[arg(long, env = "DIGISOS_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,

    /// The longest a request may take, in seconds, before it is answered 408.
    #[arg(long, env = "DIGISOS_REQUEST_TIMEOUT_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,

    /// File the staff-access audit records (ArcSight CEF lines) are appended to. Default: `audit.log` in the
    /// data folder. These lines carry personal numbers: route the file to the audit sink, not to ordinary logs.
    #[arg(long, env = "DIGISOS_AUDIT_LOG")]
    pub audit_log: Option<std::path::PathBuf>,

    /// How long a query that names a position (`x-digisos-min-position`) waits for the read models, in seconds.
    #[arg(long, env = "DIGISOS_READ_WAIT_SECS", default_value_t = 5)]
    pub read_wait_secs: u64,

    /// A delivery the fagsystem has not confirmed (or rejected) within this many seconds is offered again and
    /// counted; it is never dropped.
    #[arg(long, env = "DIGISOS_DELIVERY_TTL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub delivery_ttl_secs: u64,

    /// How often the mailbox is swept for overdue deliveries, in seconds.
    #[arg(long, env = "DIGISOS_REDELIVERY_INTERVAL_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub redelivery_interval_secs: u64,

    /// Mellomlagring (files Nav stores before a v2 søknad is sent) unchanged for this many seconds is removed
    /// by a sweep that every instance runs (default 14 days).
    #[arg(long, env = "DIGISOS_MELLOMLAGRING_MAX_AGE_SECS", default_value_t = 14 * 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub mellomlagring_max_age_secs: u64,

    /// How often mellomlagring is swept for files left behind, in seconds.
    #[arg(long, env = "DIGISOS_MELLOMLAGRING_SWEEP_INTERVAL_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub mellomlagring_sweep_interval_secs: u64,

    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub documents: DocumentsConfig,

    #[command(flatten)]
    pub kryptering: KrypteringConfig,

    #[command(flatten)]
    pub fiks_io: FiksIoConfig,
}

impl ServeConfig {
    /// The audit file in force.
    pub fn audit_log_path(&self) -> std::path::PathBuf {
        self.audit_log.clone().unwrap_or_else(|| self.storage.data_dir.join("audit.log"))
    }
}

/// Opens the store, builds the app, and serves until a shutdown signal.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.storage.data_dir).with_context(|| {
        format!("DIGISOS_DATA_DIR: cannot create the data folder {}", config.storage.data_dir.display())
    })?;
    // A request waits for a database connection at most this long, so an outage answers 503 before the request
    // timeout would answer 408 (tests/outage.rs).
    let acquire_timeout = pool_acquire_timeout(Duration::from_secs(config.request_timeout_secs));
    let database = Database::connect_with(&config.storage.database_url(), acquire_timeout)
        .await
        .context("DATABASE_URL: cannot open the database")?;
    database.migrate().await.context("DATABASE_URL: cannot migrate the database")?;
    let store = event_store(&config.storage, &database).await?;
    let runner =
        ProjectionRunner::start(store.clone(), database.clone(), digisos_projections::all(), RunnerOptions::default())
            .context("cannot start the projections")?;
    let runner = Arc::new(runner);
    if config.auth.dev_mode {
        // The demo kommune, so a fresh `cargo run --release` takes a søknad at once; visible to readers before
        // the banner says the service is up.
        let configured =
            crate::dev_start::ensure_demo_kommune(&store).await.context("cannot configure the demo kommune")?;
        if let Some(position) = configured
            && let Err(err) = runner.wait_for_all(position, Duration::from_secs(30)).await
        {
            tracing::warn!(error = %err, "the read models have not seen the demo kommune yet");
        }
    }
    let read_side = ReadSide::new(read_db(&database), runner.clone(), Duration::from_secs(config.read_wait_secs));
    let auth = Arc::new(
        crate::auth::Authenticator::from_config(&config.auth, &config.storage.data_dir)
            .context("DIGISOS_ISSUERS / DIGISOS_DEV_MODE: cannot set up token verification")?,
    );
    let documents = config
        .documents
        .open(&config.storage.data_dir)
        .context("DIGISOS_DOCUMENTS_URL: cannot open the document store")?;
    let upload_limits = UploadLimits::from_config(&config.documents);
    let max_body_bytes =
        config.max_body_bytes.unwrap_or_else(|| upload_limits.max_body_bytes(documents.max_file_bytes()));
    let kryptering = config
        .kryptering
        .open(&config.storage.data_dir, config.auth.dev_mode)
        .context("the keys of encrypted uploads")?;
    let fiks_io = config
        .fiks_io
        .open(&config.storage.data_dir, config.auth.dev_mode)
        .context("the Fiks IO channel (DIGISOS_FIKS_IO_*)")?;
    let publisher = fiks_io.clone().map(|kanal| {
        crate::fiksio::utsending::spawn(crate::fiksio::utsending::Utsending {
            kanal,
            store: store.clone(),
            documents: documents.clone(),
            database: database.clone(),
            give_up_after: crate::fiksio::utsending::GIVE_UP_AFTER,
            read: read_side.db.clone(),
        })
    });
    // Without the channel a delivery still marked for Fiks IO (the channel was switched off) goes to the
    // mailbox at the next sweep.
    let fiks_io_deadline = fiks_io.as_ref().map_or(Duration::ZERO, crate::fiksio::Kanal::deadline);
    let state = AppState { store: store.clone(), auth, documents, upload_limits, kryptering, fiks_io };
    let limits = HttpLimits { max_body_bytes, request_timeout: Duration::from_secs(config.request_timeout_secs) };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("DIGISOS_LISTEN: cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, backend = store.backend(), "fiks-digisos listening");
    crate::dev_start::print_banner(&crate::dev_start::banner(local, config.auth.dev_mode, &config.storage.data_dir));
    let redelivery = spawn_redelivery(
        store.clone(),
        read_side.db.clone(),
        Duration::from_secs(config.redelivery_interval_secs),
        Duration::from_secs(config.delivery_ttl_secs),
        fiks_io_deadline,
    );
    let sweep = crate::mellomlagring::opprydding::spawn(
        store.clone(),
        read_side.db.clone(),
        Duration::from_secs(config.mellomlagring_sweep_interval_secs),
        Duration::from_secs(config.mellomlagring_max_age_secs),
    );
    let app = with_read_side(app(state, &limits), read_side);
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    redelivery.abort();
    if let Some(publisher) = publisher {
        publisher.abort();
    }
    sweep.abort();
    // In-flight requests are done and the router (with its handle on the runner) is gone: stop the projections,
    // which commit their last batch and checkpoint, then close the pools.
    match Arc::try_unwrap(runner) {
        Ok(runner) => runner.shutdown().await,
        Err(_) => tracing::warn!("projection runner still shared at shutdown; its tasks end with the process"),
    }
    database.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// How long a request may wait for a database connection: the pool's default, but well within the request
/// timeout (three quarters of it), so that a request during a database outage gets its 503 in time.
fn pool_acquire_timeout(request_timeout: Duration) -> Duration {
    crate::eventstore::postgres::DEFAULT_ACQUIRE_TIMEOUT.min(request_timeout * 3 / 4)
}

/// The event log: EventStoreDB when `EVENTSTORE_URL` is set (read models stay in the SQL database), otherwise the
/// SQL database itself. A set `EVENTSTORE_URL` in a build without the feature stops start-up rather than being
/// ignored.
async fn event_store(storage: &StorageConfig, database: &Database) -> anyhow::Result<crate::eventstore::DynEventStore> {
    let Some(url) = storage.eventstore_url.as_deref().filter(|u| !u.trim().is_empty()) else {
        return Ok(database.event_store());
    };
    #[cfg(feature = "eventstoredb")]
    {
        let store = crate::eventstore::esdb::EsdbStore::connect(url)
            .await
            .context("EVENTSTORE_URL: cannot connect to EventStoreDB")?;
        tracing::info!("event log on EventStoreDB; read models in the SQL database");
        Ok(Arc::new(store))
    }
    #[cfg(not(feature = "eventstoredb"))]
    {
        let _ = url;
        anyhow::bail!(
            "EVENTSTORE_URL is set, but this build has no EventStoreDB support (build with --features eventstoredb)"
        )
    }
}

/// Resolves on SIGTERM (how a cluster stops a pod) or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
