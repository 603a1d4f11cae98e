//! The EventStoreDB/KurrentDB backend, through the `eventstore` 4.0 crate (cargo feature `eventstoredb`).
//!
//! Expected revisions and `$all` positions map one to one. Idempotency needs help: EventStoreDB recognises a
//! retried append natively only in some cases. With `Exact`/`NoStream` it compares ids only when the expected
//! revision is behind the stream, at the revisions a retry would occupy; with `Any`/`StreamExists` it looks ids up
//! in a bounded in-memory cache, and when the *first* id is unknown it writes the whole batch, so a partial
//! overlap that starts with a new id silently duplicates events. A partial overlap it does notice is answered as
//! a wrong expected version. So every append first reads the stream's last [`IDEMPOTENCY_WINDOW`] events and
//! applies the rule all backends share (all ids there, in order, back to back: return the original result and
//! write nothing; some there: [`StoreError::IdempotencyConflict`]); a wrong expected version is checked the same
//! way once more, because a concurrent retry may have landed in between. An overlap with events further back than
//! the window is left to EventStoreDB's own check. After the write the last event is read back for its position
//! (the write result carries the first event's). So an append costs three round trips; the guarantees are worth
//! more than the speed here, and the default backends are PostgreSQL and SQLite. EventStoreDB refuses the nil
//! UUID as an event id, so this backend does too, before sending.
//!
//! The all-events feed reads `$all` forwards and leaves out EventStoreDB's own events (`$`-prefixed streams or
//! types) and events this backend could not have written (stream names we refuse, non-JSON payloads), so
//! projections see only ours. Reading `$all` needs an admin user when the server runs with access control.
//! `wake()` is driven by a `$all` subscription task (and by this process's own appends); the generic subscriber
//! still polls as a fallback. The rustls trap of the crate is handled in [`tls`].

mod connection;
mod convert;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use eventstore::{
    AppendToStreamOptions, ClientSettings, CurrentRevision, ReadAllOptions, ReadStreamOptions, ResolvedEvent,
    StreamPosition, SubscribeToAllOptions, SubscriptionEvent, SubscriptionFilter,
};
use tokio::sync::watch;

use self::connection::{Connection, store_error};
use self::convert::{Prior, Written};
use super::{
    AppendResult, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent, StoreError, StreamName,
    validate_batch,
};

pub use self::tls::prepare as prepare_tls;

/// How many of a stream's last events an append compares its ids with.
pub const IDEMPOTENCY_WINDOW: usize = 128;

/// Events fetched per page when scanning `$all`.
const PAGE: usize = 512;

/// An [`EventStore`] on an EventStoreDB/KurrentDB server.
pub struct EsdbStore {
    conn: Arc<Connection>,
    wake: Arc<watch::Sender<u64>>,
    follower: tokio::task::AbortHandle,
}

impl EsdbStore {
    /// Connects to the server at `url` (`esdb://host:2113?tls=false`, `esdb+discover://…`), failing with
    /// [`StoreError::Unavailable`] when it cannot be reached, and with [`StoreError::Backend`] for a bad URL or
    /// when another crypto provider was installed first (see [`prepare_tls`]). Must run inside a tokio runtime.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        tokio::task::spawn_blocking(tls::prepare)
            .await
            .map_err(|e| StoreError::Backend(format!("EventStoreDB TLS set-up did not finish: {e}")))??;
        let settings: ClientSettings =
            url.parse().map_err(|e| StoreError::Backend(format!("invalid EventStoreDB connection string: {e}")))?;
        let conn = Arc::new(Connection::new(settings)?);
        conn.call(|client| async move { client.server_info().await }).await.map_err(store_error)?;
        let wake = Arc::new(watch::channel(0u64).0);
        let follower = tokio::spawn(follow_all(conn.clone(), wake.clone())).abort_handle();
        Ok(Self { conn, wake, follower })
    }

    /// The stream's last events (up to [`IDEMPOTENCY_WINDOW`] plus `extra`), newest first.
    async fn tail(&self, stream: &StreamName, extra: usize) -> Result<Vec<Written>, StoreError> {
        let options = ReadStreamOptions::default().position(StreamPosition::End).max_count(IDEMPOTENCY_WINDOW + extra);
        let events = self.read_stream_raw(stream, &options).await?;
        Ok(events
            .iter()
            .map(|e| Written { id: e.id, revision: e.revision, position: convert::position(e.position) })
            .collect())
    }

    async fn read_stream_raw(
        &self,
        stream: &StreamName,
        options: &ReadStreamOptions,
    ) -> Result<Vec<eventstore::RecordedEvent>, StoreError> {
        let outcome = self
            .conn
            .call(|client| async move {
                let mut read = client.read_stream(stream.as_str(), options).await?;
                let mut events = Vec::new();
                while let Some(resolved) = read.next().await? {
                    events.extend(resolved.event);
                }
                Ok(events)
            })
            .await;
        match outcome {
            Err(eventstore::Error::ResourceNotFound) => Ok(Vec::new()),
            other => other.map_err(store_error),
        }
    }

    /// One page of `$all` from `from` (inclusive), forwards.
    async fn read_all_page(&self, from: Option<Position>, count: usize) -> Result<Vec<ResolvedEvent>, StoreError> {
        let start = from.map_or(StreamPosition::Start, |p| StreamPosition::Position(convert::esdb_position(p)));
        let options = ReadAllOptions::default().position(start).forwards().max_count(count);
        let options = &options;
        self.conn
            .call(|client| async move {
                let mut read = client.read_all(options).await?;
                let mut events = Vec::new();
                while let Some(resolved) = read.next().await? {
                    events.push(resolved);
                }
                Ok(events)
            })
            .await
            .map_err(store_error)
    }

    /// The `$all` position of the event at `revision` of `stream`.
    async fn position_of(&self, stream: &StreamName, revision: u64) -> Result<Position, StoreError> {
        let options = ReadStreamOptions::default().position(StreamPosition::Position(revision)).max_count(1);
        let events = self.read_stream_raw(stream, &options).await?;
        events
            .first()
            .filter(|e| e.revision == revision)
            .map(|e| convert::position(e.position))
            .ok_or_else(|| StoreError::Backend(format!("event {revision} of {stream} is missing after the append")))
    }

    fn bump(&self) {
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }
}

impl Drop for EsdbStore {
    fn drop(&mut self) {
        self.follower.abort();
    }
}

#[async_trait]
impl EventStore for EsdbStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_batch(&events)?;
        if let Some(e) = events.iter().find(|e| e.event_type.starts_with('$')) {
            // EventStoreDB reserves `$` types for itself; the feed would hide such an event.
            return Err(StoreError::InvalidEventType { event_type: e.event_type.clone() });
        }
        if let Some(e) = events.iter().find(|e| e.event_id.is_nil()) {
            return Err(StoreError::Backend(format!(
                "EventStoreDB refuses the nil event id (event type {}); use a real UUID",
                e.event_type
            )));
        }
        let ids: Vec<_> = events.iter().map(|e| e.event_id).collect();
        let tail = self.tail(stream, ids.len()).await?;
        match convert::classify(&ids, &tail) {
            Prior::Duplicate(last) => {
                return Ok(AppendResult { next_revision: last.revision, position: last.position });
            }
            Prior::Conflict(event_id) => {
                return Err(StoreError::IdempotencyConflict { stream: stream.clone(), event_id });
            }
            Prior::Fresh => {}
        }
        if let ExpectedRevision::Exact(n) = expected
            && i64::try_from(n).is_err()
        {
            // On the wire a revision is a signed number: -1, -2 and -4 mean NoStream, Any and StreamExists.
            let current = tail.first().map(|w| w.revision);
            return Err(StoreError::WrongExpectedRevision { stream: stream.clone(), expected, current });
        }
        let data = events.iter().map(convert::event_data).collect::<Result<Vec<_>, _>>()?;
        let options = AppendToStreamOptions::default().expected_revision(match expected {
            ExpectedRevision::Any => eventstore::ExpectedRevision::Any,
            ExpectedRevision::NoStream => eventstore::ExpectedRevision::NoStream,
            ExpectedRevision::StreamExists => eventstore::ExpectedRevision::StreamExists,
            ExpectedRevision::Exact(n) => eventstore::ExpectedRevision::Exact(n),
        });
        let options = &options;
        let outcome =
            self.conn.call(|client| async move { client.append_to_stream(stream.as_str(), options, data).await }).await;
        let written = match outcome {
            Ok(written) => written,
            Err(eventstore::Error::WrongExpectedVersion { current, .. }) => {
                return match convert::classify(&ids, &self.tail(stream, ids.len()).await?) {
                    Prior::Duplicate(last) => {
                        Ok(AppendResult { next_revision: last.revision, position: last.position })
                    }
                    Prior::Conflict(event_id) => {
                        Err(StoreError::IdempotencyConflict { stream: stream.clone(), event_id })
                    }
                    Prior::Fresh => Err(StoreError::WrongExpectedRevision {
                        stream: stream.clone(),
                        expected,
                        current: match current {
                            CurrentRevision::Current(n) => Some(n),
                            CurrentRevision::NoStream => None,
                        },
                    }),
                };
            }
            Err(err) => return Err(store_error(err)),
        };
        self.bump();
        // The write result's own position is the batch's first event's (and none for a write the server took for
        // a retry). Read the last event's, so that a retry found by the tail check answers exactly the same.
        let next_revision = written.next_expected_version;
        Ok(AppendResult { next_revision, position: self.position_of(stream, next_revision).await? })
    }

    async fn read_stream(&self, stream: &StreamName, from: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        if max == 0 || i64::try_from(from).is_err() {
            return Ok(Vec::new()); // no stream reaches such a revision (on the wire it is a signed number)
        }
        let options = ReadStreamOptions::default().position(StreamPosition::Position(from)).forwards().max_count(max);
        self.read_stream_raw(stream, &options)
            .await?
            .iter()
            .map(|e| {
                convert::recorded(e)
                    .map_err(|why| StoreError::Backend(format!("event {} of {stream}: {why}", e.revision)))
            })
            .collect()
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let mut found = Vec::new();
        let mut cursor = after;
        while found.len() < max {
            // The first page asks for one more than wanted (the start position is included); later pages only
            // happen when EventStoreDB's own events were in the way, so they take bigger steps.
            let size = if cursor == after { (max - found.len()).saturating_add(1).clamp(2, PAGE) } else { PAGE };
            let page = self.read_all_page(cursor, size).await?;
            let full = page.len() == size;
            let before = cursor;
            for event in page.iter().filter_map(|r| r.event.as_ref()) {
                let position = convert::position(event.position);
                // Reading from a position includes the event at that position.
                if cursor.is_some_and(|c| position <= c) {
                    continue;
                }
                cursor = Some(position);
                if convert::is_system(event) {
                    continue;
                }
                match convert::recorded(event) {
                    Ok(recorded) => found.push(recorded),
                    Err(why) => tracing::debug!(%position, stream = %event.stream_id, %why, "skipping a foreign event"),
                }
                if found.len() == max {
                    break;
                }
            }
            if !full || cursor == before {
                break;
            }
        }
        Ok(found)
    }

    fn wake(&self) -> watch::Receiver<u64> {
        self.wake.subscribe()
    }

    fn backend(&self) -> &'static str {
        "eventstoredb"
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // The last event of `$all` (whatever it is): one cheap round trip, unlike scanning for our first event.
        let options = ReadAllOptions::default().position(StreamPosition::End).max_count(1);
        let options = &options;
        self.conn
            .call(|client| async move { client.read_all(options).await?.next().await.map(|_| ()) })
            .await
            .map_err(store_error)
    }
}

/// Follows `$all` (without system events) and bumps `wake` on every event and every (re)subscription, the latter
/// because events may have been missed while it was down. Runs until the store is dropped.
async fn follow_all(conn: Arc<Connection>, wake: Arc<watch::Sender<u64>>) {
    let bump = || wake.send_modify(|n| *n = n.wrapping_add(1));
    let mut backoff = Duration::from_millis(100);
    loop {
        let (generation, client) = conn.client();
        let options = SubscribeToAllOptions::default()
            .position(StreamPosition::End)
            .filter(SubscriptionFilter::on_event_type().exclude_system_events());
        let mut subscription = client.subscribe_to_all(&options).await;
        loop {
            match subscription.next_subscription_event().await {
                Ok(SubscriptionEvent::EventAppeared(_) | SubscriptionEvent::Confirmed(_)) => {
                    backoff = Duration::from_millis(100);
                    bump();
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::debug!(error = %err, "EventStoreDB $all subscription ended; resubscribing");
                    conn.note_failure(generation, &err);
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
