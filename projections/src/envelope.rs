//! The input of a projection: an event as the feed delivers it, independent of the event-store backend.
//!
//! The service's own `RecordedEvent` lives in the root crate, which this crate may not depend on; the runner
//! converts each one into an [`EventEnvelope`] (a copy of the same fields).

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A place in the all-events feed, ordered as the pair `(commit, prepare)` (PostgreSQL: transaction id and
/// sequence; SQLite: `(0, position)`). Mirrors the event store's `Position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// The major part.
    pub commit: u64,
    /// The minor part.
    pub prepare: u64,
}

impl Position {
    /// A position from its two parts.
    pub const fn new(commit: u64, prepare: u64) -> Self {
        Self { commit, prepare }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.commit, self.prepare)
    }
}

/// One event of the feed, as a projection sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct EventEnvelope {
    /// The stream's name, e.g. `kommune-0301` or `sak-<fiksDigisosId>`.
    pub stream: String,
    /// The event's revision within its stream (0 for the first).
    pub revision: u64,
    /// Its place in the all-events feed.
    pub position: Position,
    /// The id given at append.
    pub event_id: Uuid,
    /// The versioned type name, e.g. `KommuneKonfigurert.v1`.
    pub event_type: String,
    /// The payload.
    pub data: serde_json::Value,
    /// Correlation ids, the caller and the like, if the writer gave any.
    pub metadata: Option<serde_json::Value>,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
}

impl EventEnvelope {
    /// The stream revision as the `bigint` the read-model tables store (revisions beyond `i64` cannot occur).
    pub fn revision_i64(&self) -> i64 {
        i64::try_from(self.revision).unwrap_or(i64::MAX)
    }
}
