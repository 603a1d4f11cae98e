//! Configuration: flags and environment variables (clap with `env`), resolved once at start-up.

use std::path::PathBuf;

use clap::Args;

/// Where the service keeps its state.
#[derive(Args, Clone, Debug)]
pub struct StorageConfig {
    /// Folder for local state: the SQLite database, documents and the development issuer's key.
    #[arg(long, env = "DIGISOS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// Database for events and read models: `sqlite:…` or `postgres://…`. Default: SQLite in the data folder.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Optional EventStoreDB/KurrentDB for the event log (`esdb://…`); needs the `eventstoredb` feature.
    #[arg(long, env = "EVENTSTORE_URL")]
    pub eventstore_url: Option<String>,
}

impl StorageConfig {
    /// The database URL in force: the configured one, or SQLite in the data folder.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.trim().is_empty() => url.clone(),
            _ => format!("sqlite://{}?mode=rwc", self.data_dir.join("digisos.db").display()),
        }
    }
}
