//! The event store: one trait, several backends (PostgreSQL, SQLite, EventStoreDB).
//!
//! Every backend gives the guarantees of `shared/docs/EVENTSTORE.md`: no skipped event in the all-events feed,
//! per-stream order, parallel appends to different streams, optimistic concurrency with EventStoreDB's
//! expected-revision semantics, idempotent appends by event id, and durability once an append has returned.
//! The conformance suite in `tests/` checks each guarantee against each backend.

mod types;

pub use types::*;

use std::sync::Arc;

use async_trait::async_trait;

/// An append-only log of events, grouped into streams, with a global feed ordered by [`Position`].
#[async_trait]
pub trait EventStore: Send + Sync + 'static {
    /// Appends `events` to `stream` if the stream's revision matches `expected`.
    ///
    /// Retrying an append whose event ids were all already written to this stream (in the same order) returns
    /// the original result and writes nothing; a partial overlap is [`StoreError::IdempotencyConflict`].
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError>;

    /// Reads up to `max` events of one stream, in revision order, starting at revision `from`.
    async fn read_stream(&self, stream: &StreamName, from: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// Reads up to `max` events of the all-events feed strictly after `after` (`None`: from the start).
    ///
    /// Only events whose position can no longer be overtaken by a commit still in flight are returned, so a
    /// reader that advances its checkpoint to the last event it got never skips one.
    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError>;

    /// A signal that fires after events were committed (in this process, and where the backend can, in others).
    /// Subscribers wait on it instead of polling; they also poll on a timer as a fallback.
    fn wake(&self) -> tokio::sync::watch::Receiver<u64>;

    /// The name of the backend, for logs and metrics.
    fn backend(&self) -> &'static str;

    /// Checks that the backend answers (readiness). The default reads one event of the feed.
    async fn ping(&self) -> Result<(), StoreError> {
        self.read_all(None, 1).await.map(|_| ())
    }
}

/// A shared handle to any backend.
pub type DynEventStore = Arc<dyn EventStore>;

pub mod conformance;
#[cfg(feature = "eventstoredb")]
pub mod esdb;
pub mod open;
pub mod postgres;
mod sql_rows;
pub mod sqlite;
pub mod subscription;

pub use subscription::{SubscriptionOptions, subscribe_all};
