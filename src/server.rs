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

use crate::auth::AuthConfig;
use crate::config::StorageConfig;
use crate::eventstore::open::Database;
use crate::http::{AppState, HttpLimits, app};

/// Everything `digisos serve` takes.
#[derive(Args, Clone, Debug)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "DIGISOS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The largest request body accepted, in bytes.
    #[arg(long, env = "DIGISOS_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// The longest a request may take, in seconds, before it is answered 408.
    #[arg(long, env = "DIGISOS_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,

    /// File the staff-access audit records (ArcSight CEF lines) are appended to. Default: `audit.log` in the
    /// data folder. These lines carry personal numbers: route the file to the audit sink, not to ordinary logs.
    #[arg(long, env = "DIGISOS_AUDIT_LOG")]
    pub audit_log: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub storage: StorageConfig,

    #[command(flatten)]
    pub auth: AuthConfig,
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
    let database =
        Database::connect(&config.storage.database_url()).await.context("DATABASE_URL: cannot open the database")?;
    database.migrate().await.context("DATABASE_URL: cannot migrate the database")?;
    let store = database.event_store();
    let auth = Arc::new(
        config
            .auth
            .authenticator(&config.storage.data_dir)
            .context("DIGISOS_ISSUERS / DIGISOS_DEV_MODE: cannot set up token verification")?,
    );
    let state = AppState { store: store.clone(), auth };
    let limits = HttpLimits {
        max_body_bytes: config.max_body_bytes,
        request_timeout: Duration::from_secs(config.request_timeout_secs),
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("DIGISOS_LISTEN: cannot listen on {}", config.listen))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, backend = store.backend(), "fiks-digisos listening");
    println!("fiks-digisos listening on http://{local}  (health: http://{local}/internal/isready)");
    axum::serve(listener, app(state, &limits)).with_graceful_shutdown(shutdown_signal()).await?;
    database.close().await;
    tracing::info!("stopped");
    Ok(())
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
