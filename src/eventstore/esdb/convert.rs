//! Translation between our event types and `eventstore`'s, and the idempotency rule applied to a stream's tail.
//!
//! Pure functions, so the parts of the backend that need no server are tested without one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use eventstore::EventData;
use uuid::Uuid;

use crate::eventstore::{NewEvent, Position, RecordedEvent, StoreError, StreamName};

/// The request for one event: JSON data, our id, JSON metadata in the user-metadata slot.
pub(super) fn event_data(event: &NewEvent) -> Result<EventData, StoreError> {
    let bad = |e: serde_json::Error| StoreError::Backend(format!("cannot serialize event {}: {e}", event.event_id));
    let data = EventData::json(&event.event_type, &event.data).map_err(bad)?.id(event.event_id);
    match &event.metadata {
        Some(metadata) => data.metadata_as_json(metadata).map_err(bad),
        None => Ok(data),
    }
}

/// Our position for an EventStoreDB `$all` position (the same pair).
pub(super) fn position(p: eventstore::Position) -> Position {
    Position::new(p.commit, p.prepare)
}

/// EventStoreDB's `$all` position for ours.
pub(super) fn esdb_position(p: Position) -> eventstore::Position {
    eventstore::Position { commit: p.commit, prepare: p.prepare }
}

/// Whether an event belongs to EventStoreDB itself (system streams, metadata, links, tombstones).
pub(super) fn is_system(event: &eventstore::RecordedEvent) -> bool {
    event.stream_id.starts_with('$') || event.event_type.starts_with('$')
}

/// Our form of a stored event, or why it has none (a stream name we would refuse, a payload that is not JSON:
/// such an event was not written through this backend).
pub(super) fn recorded(event: &eventstore::RecordedEvent) -> Result<RecordedEvent, String> {
    let stream = StreamName::parse(event.stream_id.as_str()).map_err(|e| e.to_string())?;
    let data = serde_json::from_slice(&event.data).map_err(|e| format!("data is not JSON: {e}"))?;
    let metadata = if event.custom_metadata.is_empty() {
        None
    } else {
        Some(serde_json::from_slice(&event.custom_metadata).map_err(|e| format!("metadata is not JSON: {e}"))?)
    };
    Ok(RecordedEvent {
        stream,
        revision: event.revision,
        position: position(event.position),
        event_id: event.id,
        event_type: event.event_type.clone(),
        data,
        metadata,
        recorded_at: created(&event.metadata).unwrap_or(event.created),
    })
}

/// The server's `created` system metadata: 100-nanosecond ticks since the Unix epoch. (The crate's own
/// `created` field drops the fraction of the second.)
fn created(system_metadata: &HashMap<String, String>) -> Option<DateTime<Utc>> {
    let ticks: i64 = system_metadata.get("created")?.parse().ok()?;
    let secs = ticks.div_euclid(10_000_000);
    let nanos = u32::try_from(ticks.rem_euclid(10_000_000) * 100).ok()?;
    DateTime::from_timestamp(secs, nanos)
}

/// One event of a stream as seen by the idempotency check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Written {
    /// The event's id.
    pub id: Uuid,
    /// Its revision in the stream.
    pub revision: u64,
    /// Its `$all` position.
    pub position: Position,
}

/// What a batch's ids say about an earlier append.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Prior {
    /// None of the ids is in the stream: append.
    Fresh,
    /// Every id is there, in order and back to back: the batch was appended before; this is its last event.
    Duplicate(Written),
    /// Some ids are there, or all in another order: the first id that is not where a retry would have put it.
    Conflict(Uuid),
}

/// Applies the rule of every backend (the same as PostgreSQL's `es_append`) to the events of a stream that the
/// batch's ids could match.
pub(super) fn classify(batch: &[Uuid], stream: &[Written]) -> Prior {
    let found: HashMap<Uuid, &Written> = stream.iter().filter(|w| batch.contains(&w.id)).map(|w| (w.id, w)).collect();
    let Some(first) = found.values().map(|w| w.revision).min() else {
        return Prior::Fresh;
    };
    let misplaced = batch
        .iter()
        .zip(first..)
        .find(|(id, revision)| found.get(*id).map(|w| w.revision) != Some(*revision))
        .map(|(id, _)| *id);
    match (misplaced, batch.last().and_then(|id| found.get(id))) {
        (None, Some(last)) => Prior::Duplicate(**last),
        (Some(id), _) => Prior::Conflict(id),
        (None, None) => Prior::Fresh, // an empty batch; validation refuses those earlier
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(ids: &[Uuid]) -> Vec<Written> {
        ids.iter()
            .zip(0u64..)
            .map(|(id, revision)| Written {
                id: *id,
                revision,
                position: Position::new(100 + revision, 100 + revision),
            })
            .collect()
    }

    #[test]
    fn a_batch_with_no_known_id_is_fresh() {
        let [a, b, c] = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        assert_eq!(classify(&[c], &stream(&[a, b])), Prior::Fresh);
    }

    #[test]
    fn a_repeated_batch_is_a_duplicate_answered_with_its_last_event() {
        let [x, a, b, y] = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let Prior::Duplicate(last) = classify(&[a, b], &stream(&[x, a, b, y])) else {
            panic!("expected a duplicate");
        };
        assert_eq!((last.id, last.revision, last.position), (b, 2, Position::new(102, 102)));
    }

    #[test]
    fn partial_overlap_reordering_and_gaps_are_conflicts() {
        let [a, b, c, x] = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
        let written = stream(&[a, b, x, c]);
        assert_eq!(classify(&[a, c], &written), Prior::Conflict(c), "known ids, not back to back");
        assert_eq!(classify(&[b, a], &written), Prior::Conflict(b), "known ids, other order");
        assert_eq!(classify(&[a, b, Uuid::nil()], &written), Prior::Conflict(Uuid::nil()), "one new id at the end");
        assert_eq!(classify(&[Uuid::nil(), a], &written), Prior::Conflict(Uuid::nil()), "one new id in front");
    }

    #[test]
    fn created_ticks_keep_the_fraction_of_the_second() {
        let metadata = HashMap::from([("created".to_string(), "17000000001234567".to_string())]);
        let at = created(&metadata).unwrap();
        assert_eq!(at.timestamp(), 1_700_000_000);
        assert_eq!(at.timestamp_subsec_nanos(), 123_456_700);
        assert_eq!(created(&HashMap::new()), None);
    }

    #[test]
    fn system_events_are_recognised_by_stream_or_type() {
        let mut event = eventstore::RecordedEvent {
            stream_id: "sak-1".into(),
            id: Uuid::nil(),
            revision: 0,
            event_type: "SoknadMottatt.v1".into(),
            data: bytes::Bytes::from_static(b"{}"),
            metadata: HashMap::new(),
            custom_metadata: bytes::Bytes::new(),
            is_json: true,
            position: eventstore::Position { commit: 1, prepare: 1 },
            created: Utc::now(),
        };
        assert!(!is_system(&event));
        event.event_type = "$streamDeleted".into();
        assert!(is_system(&event));
        event.event_type = "$>".into();
        event.stream_id = "$ce-sak".into();
        assert!(is_system(&event));
    }

    #[test]
    fn foreign_events_without_json_or_with_refused_stream_names_have_no_form() {
        let event = eventstore::RecordedEvent {
            stream_id: "has space".into(),
            id: Uuid::nil(),
            revision: 0,
            event_type: "X".into(),
            data: bytes::Bytes::from_static(b"{}"),
            metadata: HashMap::new(),
            custom_metadata: bytes::Bytes::new(),
            is_json: true,
            position: eventstore::Position { commit: 1, prepare: 1 },
            created: Utc::now(),
        };
        assert!(recorded(&event).is_err());
        let binary =
            eventstore::RecordedEvent { stream_id: "ok".into(), data: bytes::Bytes::from_static(b"\x00"), ..event };
        assert!(recorded(&binary).is_err());
        let fine = eventstore::RecordedEvent { data: bytes::Bytes::from_static(b"{\"a\":1}"), ..binary };
        assert_eq!(recorded(&fine).unwrap().data, serde_json::json!({ "a": 1 }));
    }
}
