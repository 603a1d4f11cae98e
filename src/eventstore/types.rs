//! The values that go into and come out of an [`EventStore`](super::EventStore).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The largest serialized size (data plus metadata) of one event, in bytes.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;
/// The most events one append may carry.
pub const MAX_EVENTS_PER_APPEND: usize = 10_000;
/// The longest stream name.
pub const MAX_STREAM_NAME_LEN: usize = 200;

/// A stream's name: 1 to 200 characters of `A-Z a-z 0-9 - _ . : @`.
///
/// Names are part of keys and log lines, so anything else (spaces, slashes, control characters, non-ASCII) is
/// refused at the edge.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StreamName(String);

impl StreamName {
    /// Parses a stream name, refusing characters outside the allowed set.
    pub fn parse(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        let ok = !name.is_empty()
            && name.len() <= MAX_STREAM_NAME_LEN
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'@'));
        if ok {
            Ok(Self(name))
        } else {
            Err(StoreError::InvalidStreamName { name: name.chars().take(MAX_STREAM_NAME_LEN).collect() })
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for StreamName {
    type Error = StoreError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<StreamName> for String {
    fn from(value: StreamName) -> Self {
        value.0
    }
}

impl fmt::Display for StreamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the caller expects the stream's revision to be before the append (EventStoreDB's semantics).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExpectedRevision {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must exist (have at least one event).
    StreamExists,
    /// The stream's last event must have exactly this revision (the first event is revision 0).
    Exact(u64),
}

/// The current revision of a stream as the store sees it: `None` when the stream has no events.
pub type CurrentRevision = Option<u64>;

impl ExpectedRevision {
    /// Whether `current` satisfies this expectation.
    pub fn accepts(self, current: CurrentRevision) -> bool {
        match (self, current) {
            (Self::Any, _) => true,
            (Self::NoStream, None) => true,
            (Self::StreamExists, Some(_)) => true,
            (Self::Exact(n), Some(c)) => n == c,
            _ => false,
        }
    }
}

/// An event to append.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// Unique per stream; appending the same id again is a no-op (idempotency).
    pub event_id: Uuid,
    /// The event's type name, including its version (for example `SoknadMottatt.v1`).
    pub event_type: String,
    /// The event's payload.
    pub data: serde_json::Value,
    /// Correlation and causation ids, the caller, and the like.
    pub metadata: Option<serde_json::Value>,
}

impl NewEvent {
    /// A new event with a fresh, time-ordered id and no metadata.
    pub fn new(event_type: impl Into<String>, data: serde_json::Value) -> Self {
        Self { event_id: Uuid::now_v7(), event_type: event_type.into(), data, metadata: None }
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: serde_json::Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Sets the event id (for idempotent retries).
    pub fn with_id(mut self, event_id: Uuid) -> Self {
        self.event_id = event_id;
        self
    }
}

/// A place in the all-events feed. Positions are ordered: `(commit, prepare)` compared as a pair.
///
/// PostgreSQL: `(transaction id, sequence)`; SQLite: `(0, sequence)`; EventStoreDB: `(commit, prepare)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
pub struct Position {
    /// The major part (PostgreSQL: the transaction id).
    pub commit: u64,
    /// The minor part (PostgreSQL: the sequence number).
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

impl FromStr for Position {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || StoreError::InvalidPosition { text: s.chars().take(64).collect() };
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        Ok(Self { commit: a.parse().map_err(|_| bad())?, prepare: b.parse().map_err(|_| bad())? })
    }
}

/// An event as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    /// The stream it belongs to.
    pub stream: StreamName,
    /// Its revision within the stream (0 for the first).
    pub revision: u64,
    /// Its place in the all-events feed.
    pub position: Position,
    /// The id given at append.
    pub event_id: Uuid,
    /// The type name.
    pub event_type: String,
    /// The payload.
    pub data: serde_json::Value,
    /// The metadata, if any.
    pub metadata: Option<serde_json::Value>,
    /// When the store recorded it.
    pub recorded_at: DateTime<Utc>,
}

/// The result of a successful append.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResult {
    /// The stream's revision after the append (the revision of its last event).
    pub next_revision: u64,
    /// The position of the last event appended (for read-your-writes).
    pub position: Position,
}

/// Why the store refused or failed an operation.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream name has characters outside the allowed set, or is empty or too long.
    #[error("invalid stream name {name:?}: use 1 to 200 characters of A-Z a-z 0-9 - _ . : @")]
    InvalidStreamName {
        /// The offending name (cut to 200 characters).
        name: String,
    },
    /// An append with no events.
    #[error("an append must carry at least one event")]
    EmptyBatch,
    /// An append with more events than allowed.
    #[error("an append may carry at most {max} events, got {count}")]
    TooManyEvents {
        /// How many were sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// An event whose data and metadata are larger than allowed.
    #[error("event {event_id} is {size} bytes; the limit is {max}")]
    EventTooLarge {
        /// The event's id.
        event_id: Uuid,
        /// Its serialized size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// An event type that is empty or too long.
    #[error("invalid event type {event_type:?}: use 1 to 200 printable ASCII characters")]
    InvalidEventType {
        /// The offending type (cut).
        event_type: String,
    },
    /// Event data or metadata with a NUL character in a string or key (PostgreSQL's jsonb cannot hold one, so no
    /// backend takes it).
    #[error("event {event_id} has a NUL character (\\u0000) in a string of its {part}; remove it")]
    InvalidEventData {
        /// The event's id.
        event_id: Uuid,
        /// `data` or `metadata`.
        part: &'static str,
    },
    /// The same event id twice in one append.
    #[error("event id {event_id} appears twice in one append")]
    DuplicateEventId {
        /// The repeated id.
        event_id: Uuid,
    },
    /// A position that cannot be parsed.
    #[error("invalid position {text:?}: expected two numbers joined by '-'")]
    InvalidPosition {
        /// The offending text (cut).
        text: String,
    },
    /// The stream's revision did not match the expectation.
    #[error("wrong expected revision on stream {stream}: expected {expected:?}, current {current:?}")]
    WrongExpectedRevision {
        /// The stream.
        stream: StreamName,
        /// What the caller expected.
        expected: ExpectedRevision,
        /// What the stream's revision is.
        current: CurrentRevision,
    },
    /// Some, but not all, of the append's event ids were already in the stream, or in another order.
    #[error(
        "append to {stream} partly repeats events already written (event {event_id}); retry with the same batch or new ids"
    )]
    IdempotencyConflict {
        /// The stream.
        stream: StreamName,
        /// The first id that did not line up.
        event_id: Uuid,
    },
    /// The backend could not be reached or failed; the operation may be retried.
    #[error("event store unavailable: {0}")]
    Unavailable(String),
    /// Anything else that went wrong inside the backend.
    #[error("event store error: {0}")]
    Backend(String),
}

impl StoreError {
    /// Whether retrying the same call may succeed (the backend was unavailable).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// Checks an append's events before any backend sees them: non-empty, within size limits, ids unique.
pub fn validate_batch(events: &[NewEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Err(StoreError::EmptyBatch);
    }
    if events.len() > MAX_EVENTS_PER_APPEND {
        return Err(StoreError::TooManyEvents { count: events.len(), max: MAX_EVENTS_PER_APPEND });
    }
    let mut seen = std::collections::HashSet::with_capacity(events.len());
    for e in events {
        if !seen.insert(e.event_id) {
            return Err(StoreError::DuplicateEventId { event_id: e.event_id });
        }
        if e.event_type.is_empty() || e.event_type.len() > 200 || !e.event_type.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(StoreError::InvalidEventType { event_type: e.event_type.chars().take(200).collect() });
        }
        if has_nul(&e.data) {
            return Err(StoreError::InvalidEventData { event_id: e.event_id, part: "data" });
        }
        if e.metadata.as_ref().is_some_and(has_nul) {
            return Err(StoreError::InvalidEventData { event_id: e.event_id, part: "metadata" });
        }
        let size = json_size(&e.data) + e.metadata.as_ref().map_or(0, json_size);
        if size > MAX_EVENT_BYTES {
            return Err(StoreError::EventTooLarge { event_id: e.event_id, size, max: MAX_EVENT_BYTES });
        }
    }
    Ok(())
}

/// The length of `value` serialized as JSON, counted without building the text (appends are a hot path).
fn json_size(value: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing a Value to a sink that never fails cannot fail.
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Whether any string or object key in `value` holds a NUL character.
fn has_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(has_nul),
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_outside_the_allowed_set_are_refused() {
        for bad in ["", "has space", "slash/name", "ø", "tab\t", &"x".repeat(201)] {
            assert!(matches!(StreamName::parse(bad), Err(StoreError::InvalidStreamName { .. })), "{bad:?}");
        }
        for good in ["sak-0b6a1f52-6ad5-4a8e-9d1c-3b3f8f2b0c11", "kommune:0301", "audit@Z123456", "a.b_c"] {
            assert!(StreamName::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn expected_revision_follows_eventstoredb_semantics() {
        use ExpectedRevision::*;
        assert!(Any.accepts(None) && Any.accepts(Some(3)));
        assert!(NoStream.accepts(None) && !NoStream.accepts(Some(0)));
        assert!(StreamExists.accepts(Some(0)) && !StreamExists.accepts(None));
        assert!(Exact(2).accepts(Some(2)) && !Exact(2).accepts(Some(1)) && !Exact(0).accepts(None));
    }

    #[test]
    fn empty_oversized_and_repeated_batches_are_typed_errors() {
        assert!(matches!(validate_batch(&[]), Err(StoreError::EmptyBatch)));
        let big = NewEvent::new("Big.v1", serde_json::json!({ "x": "y".repeat(MAX_EVENT_BYTES) }));
        assert!(matches!(validate_batch(&[big]), Err(StoreError::EventTooLarge { .. })));
        let e = NewEvent::new("A.v1", serde_json::json!({}));
        assert!(matches!(validate_batch(&[e.clone(), e]), Err(StoreError::DuplicateEventId { .. })));
        assert!(matches!(
            validate_batch(&[NewEvent::new("", serde_json::json!({}))]),
            Err(StoreError::InvalidEventType { .. })
        ));
        let nul = NewEvent::new("A.v1", serde_json::json!({ "list": ["ok", "bad\u{0}"] }));
        assert!(matches!(validate_batch(&[nul]), Err(StoreError::InvalidEventData { part: "data", .. })));
        let nul_key = NewEvent::new("A.v1", serde_json::json!({})).with_metadata(serde_json::json!({ "k\u{0}": 1 }));
        assert!(matches!(validate_batch(&[nul_key]), Err(StoreError::InvalidEventData { part: "metadata", .. })));
    }

    #[test]
    fn positions_order_as_pairs_and_round_trip_as_text() {
        assert!(Position::new(5, 100) < Position::new(6, 1));
        assert!(Position::new(5, 1) < Position::new(5, 2));
        let p: Position = "17-42".parse().unwrap();
        assert_eq!(p, Position::new(17, 42));
        assert_eq!(p.to_string(), "17-42");
        assert!("17".parse::<Position>().is_err());
    }
}
