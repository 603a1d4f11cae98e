//! Opening the database named by a URL: the event store on it, and the pools the read side shares.
//!
//! One URL (`DATABASE_URL`) decides the backend: `sqlite:…` for the embedded default, `postgres://…` or
//! `postgresql://…` for production. The read models live in the same database as the events, so projections can
//! commit their rows and checkpoints in one transaction; this module therefore hands out the pools too.
//! Migrations are embedded in the binary, one folder per backend.

use std::sync::Arc;

use sqlx::PgPool;

use super::postgres::PgEventStore;
use super::sqlite::{SqliteEventStore, SqlitePools};
use super::{DynEventStore, StoreError};

/// The migrations of the PostgreSQL schema (`migrations/postgres`).
pub static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
/// The migrations of the SQLite schema (`migrations/sqlite`).
pub static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// A connected database and its pools.
#[derive(Clone, Debug)]
pub enum Database {
    /// PostgreSQL: one pool for everything (its connections commit synchronously; a projector may
    /// `SET LOCAL synchronous_commit = off`).
    Postgres(PgPool),
    /// SQLite: a single-connection pool for writes (use `BEGIN IMMEDIATE`) and a read-only pool.
    Sqlite {
        /// The single writing connection.
        write: sqlx::SqlitePool,
        /// Read-only connections.
        read: sqlx::SqlitePool,
    },
}

impl Database {
    /// Connects to `url` (`sqlite:…`, `postgres://…`, `postgresql://…`), creating an SQLite file if needed.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, super::postgres::DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Self::connect`], with PostgreSQL's pool waiting at most `acquire_timeout` for a connection (also while
    /// the server is unreachable); `serve` keeps it below the request timeout, so an outage answers 503 in time.
    pub async fn connect_with(url: &str, acquire_timeout: std::time::Duration) -> Result<Self, StoreError> {
        match scheme(url) {
            "sqlite" => {
                let SqlitePools { write, read } = SqlitePools::connect(url).await?;
                Ok(Self::Sqlite { write, read })
            }
            "postgres" | "postgresql" => {
                Ok(Self::Postgres(PgEventStore::connect_pool_with(url, acquire_timeout).await?))
            }
            other => Err(StoreError::Backend(format!(
                "unsupported database URL scheme {other:?}: use sqlite:… or postgres://…"
            ))),
        }
    }

    /// Applies the embedded migrations that have not run yet. Safe to run from several processes at once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let result = match self {
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
            Self::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await,
        };
        result.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e) => match self {
                Self::Postgres(_) => super::postgres::map_err(e),
                Self::Sqlite { .. } => super::sqlite::map_err(e),
            },
            other => StoreError::Backend(format!("migration failed: {other}")),
        })
    }

    /// The event store on this database. PostgreSQL starts its wake-up tasks here (needs a Tokio runtime).
    pub fn event_store(&self) -> DynEventStore {
        match self {
            Self::Postgres(pool) => Arc::new(PgEventStore::new(pool.clone())),
            Self::Sqlite { write, read } => {
                Arc::new(SqliteEventStore::new(&SqlitePools { write: write.clone(), read: read.clone() }))
            }
        }
    }

    /// The backend's name, for logs.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite { .. } => "sqlite",
        }
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        match self {
            Self::Postgres(pool) => pool.close().await,
            Self::Sqlite { write, read } => {
                read.close().await;
                write.close().await;
            }
        }
    }
}

/// Connects to `url` and returns the event store on it with the database (not migrated: see [`migrate`]).
pub async fn open(url: &str) -> Result<(DynEventStore, Database), StoreError> {
    let database = Database::connect(url).await?;
    Ok((database.event_store(), database))
}

/// Applies the embedded migrations of `database`'s backend.
pub async fn migrate(database: &Database) -> Result<(), StoreError> {
    database.migrate().await
}

fn scheme(url: &str) -> &str {
    url.split_once(':').map_or("", |(scheme, _)| scheme)
}
