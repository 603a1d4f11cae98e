//! The contract between a read model and the runner that feeds it.
//!
//! A projection is two functions of SQL: [`Projection::apply`] folds a batch of events into the rows of one
//! version of the read model, and [`Projection::purge`] deletes a retired version's rows a chunk at a time. Both
//! run inside a transaction the runner owns (it commits the checkpoint in the same transaction), on PostgreSQL or
//! SQLite, so each projection writes its SQL once per backend: static strings (sqlx 0.9 refuses others), with
//! batches passed as one JSON parameter rather than a statement per row.

use async_trait::async_trait;
use sqlx::{PgConnection, PgPool, SqliteConnection, SqlitePool};

use crate::envelope::{EventEnvelope, Position};

/// The open transaction a projection writes through.
pub enum Tx<'a> {
    /// A PostgreSQL transaction.
    Postgres(&'a mut PgConnection),
    /// An SQLite transaction (`BEGIN IMMEDIATE` on the single write connection).
    Sqlite(&'a mut SqliteConnection),
}

/// Why a batch could not be applied. The runner rolls the transaction back, backs off and retries; it never skips.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// One event cannot be folded (a payload of the wrong shape, a type from a newer release, a contradiction).
    #[error("event at {position} ({event_type} on {stream}) cannot be applied: {reason}")]
    Event {
        /// Where the event is in the feed.
        position: Position,
        /// Its stream.
        stream: String,
        /// Its type name.
        event_type: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The database refused or failed a statement.
    #[error("read-model write failed: {0}")]
    Database(#[from] sqlx::Error),
}

impl ApplyError {
    /// An error about `event`.
    pub fn event(event: &EventEnvelope, reason: impl Into<String>) -> Self {
        Self::Event {
            position: event.position,
            stream: event.stream.clone(),
            event_type: event.event_type.clone(),
            reason: reason.into(),
        }
    }

    /// The position of the offending event, when the error names one.
    pub fn position(&self) -> Option<Position> {
        match self {
            Self::Event { position, .. } => Some(*position),
            Self::Database(_) => None,
        }
    }
}

/// A read model built from the event feed.
#[async_trait]
pub trait Projection: Send + Sync + 'static {
    /// The projection's name: its key in `projection_state`, in logs and in the lag report (e.g. `kommune`).
    fn name(&self) -> &'static str;

    /// The version of the projection's logic. Raising it makes the runner rebuild the read model (beside the
    /// live one) the next time it leads; readers switch when the rebuild has caught up.
    fn version(&self) -> u32;

    /// Folds `batch` (in feed order, at least one event) into the rows of read-model version `model_version`.
    /// Events the projection does not care about are ignored. Must not commit or roll back `tx`.
    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError>;

    /// Deletes up to `limit` rows (per table) of read-model version `model_version`, which readers no longer
    /// use; returns how many it deleted. The runner calls it until it returns 0.
    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError>;
}

/// Where read-model queries run: the database's pool (SQLite: its read-only pool).
#[derive(Clone, Debug)]
pub enum ReadDb {
    /// PostgreSQL.
    Postgres(PgPool),
    /// SQLite, read-only connections.
    Sqlite(SqlitePool),
}

/// Why a read-model query failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The database failed.
    #[error("read model unavailable: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored row does not decode: a defect of the projection that wrote it.
    #[error("read model holds a row it cannot decode: {0}")]
    Corrupt(String),
}
