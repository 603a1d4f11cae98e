//! The conformance suite: every guarantee of `shared/docs/EVENTSTORE.md` as a public async function, so each
//! backend's test file runs the same checks (`conformance::expected_revision_is_enforced(factory).await`).
//!
//! Each function takes a factory that yields the store to test. It need not be empty: every check uses streams
//! of its own (a fresh random name) and follows the feed from its end at the start of the check, ignoring other
//! streams' events, so the suite also runs against a shared server (EventStoreDB). The functions panic on a
//! broken guarantee, with a message that names it. Waiting is bounded by generous limits that only a hang
//! reaches; nothing asserts how fast something happened.

mod appends;
mod feed;

pub use appends::*;
pub use feed::*;

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use super::{DynEventStore, NewEvent, Position, RecordedEvent, StreamName};

/// Longer than any healthy wait in the suite; reaching it means something hangs.
pub const HANG: Duration = Duration::from_secs(120);

/// A stream name no other check uses: `<label>-<random>`.
pub fn unique_stream(label: &str) -> StreamName {
    match StreamName::parse(format!("{label}-{}", Uuid::new_v4().simple())) {
        Ok(name) => name,
        Err(e) => panic!("test stream label {label:?} is not a valid stream name part: {e}"),
    }
}

/// A small event whose data says which writer and sequence number produced it.
pub fn event(kind: &str, n: u64) -> NewEvent {
    NewEvent::new(format!("{kind}.v1"), json!({ "n": n, "text": format!("event {n} æøå 🙂") }))
}

/// The position of the last event currently readable in the feed (`None` when it is empty).
pub async fn feed_end(store: &DynEventStore) -> Option<Position> {
    let mut end = None;
    loop {
        let batch = match store.read_all(end, 1000).await {
            Ok(batch) => batch,
            Err(e) => panic!("reading the feed failed: {e}"),
        };
        match batch.last() {
            Some(last) => end = Some(last.position),
            None => return end,
        }
    }
}

/// Every event after `after`, read in pages of `page`, until `count` events of `prefix`'s streams have arrived.
///
/// Committed events may become readable a little later (PostgreSQL holds the feed back behind any transaction
/// still open in the cluster), so an empty page means "look again", not "done".
pub async fn read_feed(
    store: &DynEventStore,
    mut after: Option<Position>,
    page: usize,
    prefix: &str,
    count: usize,
) -> Vec<RecordedEvent> {
    let started = std::time::Instant::now();
    let mut all = Vec::new();
    let mut ours_seen = 0;
    while ours_seen < count {
        let batch = match store.read_all(after, page).await {
            Ok(batch) => batch,
            Err(e) => panic!("reading the feed failed: {e}"),
        };
        let Some(last) = batch.last() else {
            assert!(started.elapsed() < HANG, "the feed stalled after {ours_seen} of {count} events");
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        after = Some(last.position);
        ours_seen += batch.iter().filter(|e| ours(e, prefix)).count();
        all.extend(batch);
    }
    all
}

/// Whether `event` belongs to a stream whose name starts with `prefix`.
fn ours(event: &RecordedEvent, prefix: &str) -> bool {
    event.stream.as_str().starts_with(prefix)
}

/// Checks feed order for the events of `prefix`'s streams: positions strictly increase, each stream's revisions
/// count up from `first` without a gap, no event appears twice. Returns how many it saw.
fn assert_feed_order(events: &[RecordedEvent], prefix: &str, who: &str) -> usize {
    let mut last_position = None;
    let mut next_revision = std::collections::HashMap::<&str, u64>::new();
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for e in events {
        assert!(
            last_position < Some(e.position),
            "{who}: feed positions must strictly increase, got {:?} after {last_position:?}",
            e.position
        );
        last_position = Some(e.position);
        if !ours(e, prefix) {
            continue;
        }
        assert!(seen.insert(e.event_id), "{who}: event {} delivered twice", e.event_id);
        let expected = next_revision.entry(e.stream.as_str()).or_insert(0);
        assert_eq!(e.revision, *expected, "{who}: stream {} out of revision order in the feed", e.stream);
        *expected += 1;
        count += 1;
    }
    count
}
