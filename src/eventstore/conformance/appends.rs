//! Conformance of appends and stream reads: round trip, expected revisions, idempotency, refused input.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Barrier;
use uuid::Uuid;

use super::{event, unique_stream};
use crate::eventstore::ExpectedRevision::{Any, Exact, NoStream, StreamExists};
use crate::eventstore::{
    AppendResult, DynEventStore, ExpectedRevision, MAX_EVENT_BYTES, MAX_EVENTS_PER_APPEND, NewEvent, StoreError,
    StreamName,
};

async fn append(
    store: &DynEventStore,
    stream: &StreamName,
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
) -> AppendResult {
    match store.append(stream, expected, events).await {
        Ok(result) => result,
        Err(e) => panic!("append to {stream} with {expected:?} failed: {e}"),
    }
}

async fn stream_len(store: &DynEventStore, stream: &StreamName) -> usize {
    match store.read_stream(stream, 0, usize::MAX).await {
        Ok(events) => events.len(),
        Err(e) => panic!("read_stream({stream}) failed: {e}"),
    }
}

/// Events come back from `read_stream` exactly as appended, with revisions from 0 and increasing positions.
pub async fn appended_events_read_back_unchanged(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let stream = unique_stream("roundtrip");
    let events = vec![
        event("Opened", 0).with_metadata(json!({ "correlationId": "abc", "caller": { "kind": "system" } })),
        NewEvent::new("Nested.v2", json!({ "list": [1, 2.5, null, true, "x"], "deep": { "a": { "b": [] } } })),
        NewEvent::new("Text.v1", json!({ "quotes": "\"'\\", "lines": "a\nb\tc", "big": u64::MAX, "neg": i64::MIN })),
    ];
    let result = append(&store, &stream, NoStream, events.clone()).await;
    assert_eq!(result.next_revision, 2, "next_revision is the revision of the last event");

    let read = store.read_stream(&stream, 0, 100).await.unwrap_or_else(|e| panic!("read_stream failed: {e}"));
    assert_eq!(read.len(), 3);
    for (revision, (stored, sent)) in read.iter().zip(&events).enumerate() {
        assert_eq!(stored.stream, stream);
        assert_eq!(stored.revision, revision as u64);
        assert_eq!(stored.event_id, sent.event_id);
        assert_eq!(stored.event_type, sent.event_type);
        assert_eq!(stored.data, sent.data);
        assert_eq!(stored.metadata, sent.metadata);
    }
    assert!(read.windows(2).all(|w| w[0].position < w[1].position), "positions increase within an append");
    assert_eq!(result.position, read[2].position, "the result carries the last event's position");

    let middle = store.read_stream(&stream, 1, 1).await.unwrap_or_default();
    assert_eq!(middle.iter().map(|e| e.revision).collect::<Vec<_>>(), [1], "from and max select a window");
    assert!(store.read_stream(&stream, 3, 10).await.is_ok_and(|e| e.is_empty()), "nothing after the end");
    assert!(store.read_stream(&stream, u64::MAX, 10).await.is_ok_and(|e| e.is_empty()), "huge from is empty");
    assert!(store.read_stream(&stream, 0, 0).await.is_ok_and(|e| e.is_empty()), "max 0 reads nothing");
    let missing = unique_stream("missing");
    assert!(store.read_stream(&missing, 0, 10).await.is_ok_and(|e| e.is_empty()), "unknown stream is empty");
}

/// Each expected revision accepts exactly the states EventStoreDB accepts, and a refusal writes nothing.
pub async fn expected_revision_is_enforced(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let refused = async |stream: &StreamName, expected: ExpectedRevision, current: Option<u64>| {
        let before = stream_len(&store, stream).await;
        match store.append(stream, expected, vec![event("Refused", 0)]).await {
            Err(StoreError::WrongExpectedRevision { stream: s, expected: e, current: c }) => {
                assert_eq!((&s, e, c), (stream, expected, current), "the refusal names stream and revisions");
            }
            other => panic!("{expected:?} with current {current:?} must be refused, got {other:?}"),
        }
        assert_eq!(stream_len(&store, stream).await, before, "a refused append writes nothing");
    };

    // A stream that does not exist yet.
    let fresh = unique_stream("expected");
    refused(&fresh, StreamExists, None).await;
    refused(&fresh, Exact(0), None).await;
    assert_eq!(append(&store, &fresh, NoStream, vec![event("A", 0)]).await.next_revision, 0);

    // It now has revision 0.
    refused(&fresh, NoStream, Some(0)).await;
    refused(&fresh, Exact(1), Some(0)).await;
    refused(&fresh, Exact(u64::MAX), Some(0)).await;
    assert_eq!(append(&store, &fresh, Exact(0), vec![event("A", 1), event("A", 2)]).await.next_revision, 2);
    refused(&fresh, Exact(0), Some(2)).await;
    assert_eq!(append(&store, &fresh, StreamExists, vec![event("A", 3)]).await.next_revision, 3);
    assert_eq!(append(&store, &fresh, Any, vec![event("A", 4)]).await.next_revision, 4);

    // Any and StreamExists on new streams.
    let any = unique_stream("expected-any");
    assert_eq!(append(&store, &any, Any, vec![event("A", 0)]).await.next_revision, 0);
    let exists = unique_stream("expected-exists");
    refused(&exists, StreamExists, None).await;
    assert_eq!(stream_len(&store, &exists).await, 0);
    assert_eq!(stream_len(&store, &fresh).await, 5);
}

/// Writers racing for the same revision of one stream: exactly one wins each, the others are refused.
pub async fn concurrent_writers_to_one_stream_win_each_revision_once(new_store: impl AsyncFnOnce() -> DynEventStore) {
    const WRITERS: usize = 8;
    const ROUNDS: u64 = 10;
    let store = new_store().await;
    let stream = unique_stream("race");
    let barrier = Arc::new(Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let (store, stream, barrier) = (store.clone(), stream.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut wins = Vec::new();
            for round in 0..=ROUNDS {
                barrier.wait().await;
                // Round 0 races to create the stream; round r races for revision r.
                let expected = if round == 0 { NoStream } else { Exact(round - 1) };
                match store.append(&stream, expected, vec![event(&format!("W{writer}"), round)]).await {
                    Ok(result) => {
                        assert_eq!(result.next_revision, round, "the winner of round {round} gets revision {round}");
                        wins.push(round);
                    }
                    Err(StoreError::WrongExpectedRevision { current: Some(_), .. }) => {}
                    Err(e) => panic!("a losing writer must get WrongExpectedRevision, got {e}"),
                }
                barrier.wait().await;
            }
            wins
        }));
    }
    let mut wins = Vec::new();
    for task in tasks {
        wins.extend(task.await.unwrap_or_else(|e| panic!("writer task failed: {e}")));
    }
    wins.sort_unstable();
    assert_eq!(wins, (0..=ROUNDS).collect::<Vec<_>>(), "exactly one writer wins each revision");
    let stored = store.read_stream(&stream, 0, 1000).await.unwrap_or_default();
    assert_eq!(stored.iter().map(|e| e.revision).collect::<Vec<_>>(), (0..=ROUNDS).collect::<Vec<_>>());
}

/// Retrying an append (same ids, same expected revision) returns the first result and writes nothing, also
/// after later appends to the stream.
pub async fn retried_append_returns_original_result_and_writes_nothing(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let stream = unique_stream("retry");
    let first = vec![event("A", 0), event("A", 1)];
    let second = vec![event("B", 2)];
    let third = vec![event("C", 3), event("C", 4)];
    let attempts = [(NoStream, first), (Exact(1), second), (Any, third)];
    let mut originals = Vec::new();
    for (expected, batch) in &attempts {
        let original = append(&store, &stream, *expected, batch.clone()).await;
        assert_eq!(append(&store, &stream, *expected, batch.clone()).await, original, "at once, {expected:?}");
        originals.push(original);
    }
    for ((expected, batch), original) in attempts.iter().zip(&originals) {
        let again = append(&store, &stream, *expected, batch.clone()).await;
        assert_eq!(&again, original, "a late retry under {expected:?} returns the original result");
    }
    assert_eq!(stream_len(&store, &stream).await, 5, "retries write nothing");
}

/// An append that repeats some but not all ids already written (or reorders them) is an idempotency conflict
/// and writes nothing.
pub async fn partly_repeated_append_is_an_idempotency_conflict(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let stream = unique_stream("overlap");
    let (a, b) = (event("A", 0), event("A", 1));
    append(&store, &stream, NoStream, vec![a.clone(), b.clone()]).await;
    let fresh = event("A", 2);
    let cases = [vec![b.clone(), fresh.clone()], vec![a.clone(), b.clone(), fresh], vec![b.clone(), a.clone()]];
    for batch in cases {
        for expected in [Any, Exact(1)] {
            match store.append(&stream, expected, batch.clone()).await {
                Err(StoreError::IdempotencyConflict { stream: s, event_id }) => {
                    assert_eq!(s, stream);
                    assert!(batch.iter().any(|e| e.event_id == event_id), "the conflict names an id of the batch");
                }
                other => panic!("a partial overlap must be an idempotency conflict, got {other:?}"),
            }
        }
    }
    assert_eq!(stream_len(&store, &stream).await, 2, "a conflict writes nothing");
    // The same ids in another stream are no repeat.
    append(&store, &unique_stream("overlap-other"), NoStream, vec![a, b]).await;
}

/// Invalid appends are refused with typed errors before anything is written.
pub async fn invalid_appends_are_refused_and_change_nothing(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    for bad in ["", "with space", "slash/y", "ø", "nul\0", "semi;colon", "quote'"] {
        assert!(matches!(StreamName::parse(bad), Err(StoreError::InvalidStreamName { .. })), "{bad:?}");
    }
    let stream = unique_stream("invalid");
    let big = NewEvent::new("Big.v1", json!({ "x": "y".repeat(MAX_EVENT_BYTES) }));
    let repeated = event("A", 0);
    let too_many: Vec<_> = (0..=MAX_EVENTS_PER_APPEND as u64).map(|n| event("Many", n)).collect();
    type IsExpected = fn(&StoreError) -> bool;
    let cases: Vec<(Vec<NewEvent>, IsExpected)> = vec![
        (vec![], |e| matches!(e, StoreError::EmptyBatch)),
        (vec![event("A", 1), big], |e| matches!(e, StoreError::EventTooLarge { .. })),
        (vec![repeated.clone(), repeated], |e| matches!(e, StoreError::DuplicateEventId { .. })),
        (vec![NewEvent::new("has space", json!({}))], |e| matches!(e, StoreError::InvalidEventType { .. })),
        (vec![NewEvent::new("", json!({}))], |e| matches!(e, StoreError::InvalidEventType { .. })),
        (too_many, |e| matches!(e, StoreError::TooManyEvents { .. })),
    ];
    for (events, is_expected) in cases {
        match store.append(&stream, Any, events).await {
            Err(e) => assert!(is_expected(&e), "unexpected error kind: {e}"),
            Ok(result) => panic!("an invalid append was accepted: {result:?}"),
        }
    }
    assert_eq!(stream_len(&store, &stream).await, 0, "refused appends write nothing");

    // Just under the size limit is accepted and read back whole.
    let padding = MAX_EVENT_BYTES - 64;
    let large = NewEvent::new("Large.v1", json!({ "x": "z".repeat(padding) }));
    append(&store, &stream, NoStream, vec![large.clone()]).await;
    let stored = store.read_stream(&stream, 0, 1).await.unwrap_or_default();
    assert_eq!(stored.first().map(|e| &e.data), Some(&large.data));
}

/// JSON some backend cannot hold (a NUL character in a string) is refused on every backend alike, with a typed
/// error, and no partial append; `null` data is stored exactly.
pub async fn nul_characters_are_refused_alike_and_null_data_is_kept(new_store: impl AsyncFnOnce() -> DynEventStore) {
    let store = new_store().await;
    let stream = unique_stream("awkward");
    let nul = NewEvent::new("Nul.v1", json!({ "s": "before\u{0}after" }));
    let batch = vec![event("A", 0), nul.clone()];
    let refused = store.append(&stream, NoStream, batch).await;
    assert!(matches!(refused, Err(StoreError::InvalidEventData { .. })), "{refused:?}");
    assert_eq!(stream_len(&store, &stream).await, 0, "no partial append");
    append(&store, &stream, NoStream, vec![event("A", 1)]).await;
    // `null` data is kept as `null`. (A nil event id is not used: EventStoreDB refuses it as "no id".)
    let id = Uuid::new_v4();
    let null_data = NewEvent::new("Null.v1", json!(null)).with_id(id);
    let other = unique_stream("awkward-null");
    append(&store, &other, NoStream, vec![null_data]).await;
    let stored = store.read_stream(&other, 0, 1).await.unwrap_or_default();
    assert_eq!(stored.first().map(|e| (e.event_id, e.data.clone())), Some((id, json!(null))));
}
