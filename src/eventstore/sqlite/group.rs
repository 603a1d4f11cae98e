//! Deciding a group of appends in memory: which are refused, which repeat earlier ones, which rows to write.
//!
//! The writer reads what the group needs (its streams, and which of its event ids exist) in two statements,
//! then this pure function checks every append in turn against that state, as updated by the appends before it
//! in the group, exactly as if each had run alone in arrival order. Keeping it free of I/O lets the writer
//! apply a whole group in two more statements, and lets the rules be tested without a database.

use std::collections::HashMap;

use crate::eventstore::{AppendResult, ExpectedRevision, NewEvent, Position, StoreError, StreamName};

/// One append waiting for the writer, its events already serialised.
pub(super) struct Request {
    pub stream: StreamName,
    pub expected: ExpectedRevision,
    pub events: Vec<Encoded>,
}

/// An event as the writer stores it.
pub(super) struct Encoded {
    pub id: String,
    pub event_type: String,
    pub data: String,
    pub metadata: Option<String>,
}

impl Request {
    /// Serialises the events (on the caller's task, to keep the writer's work short).
    pub fn new(stream: StreamName, expected: ExpectedRevision, events: Vec<NewEvent>) -> Result<Self, StoreError> {
        let encode = |v: &serde_json::Value| {
            serde_json::to_string(v).map_err(|e| StoreError::Backend(format!("cannot serialise event: {e}")))
        };
        let events = events
            .into_iter()
            .map(|e| {
                Ok(Encoded {
                    id: e.event_id.hyphenated().to_string(),
                    data: encode(&e.data)?,
                    metadata: e.metadata.as_ref().map(encode).transpose()?,
                    event_type: e.event_type,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Self { stream, expected, events })
    }

    /// The serialised size, to bound a group's memory.
    pub fn size(&self) -> usize {
        self.events.iter().map(|e| e.data.len() + e.metadata.as_ref().map_or(0, String::len) + 64).sum()
    }
}

/// What the database holds for the group's streams before the group runs.
#[derive(Default)]
pub(super) struct Existing {
    /// Stream name → its revision (-1 or more).
    pub revisions: HashMap<String, i64>,
    /// (stream name, event id) → (revision, position), for the group's ids that are already stored.
    pub events: HashMap<(String, String), (i64, i64)>,
}

/// The answer an append will get.
#[derive(Debug)]
pub(super) enum Decision {
    /// Known now: refused, or a repeat of events committed earlier.
    Answer(Result<AppendResult, StoreError>),
    /// The append (or a repeat of an append earlier in this group) ends at this revision of the stream; its
    /// position is known once the rows are written.
    Written { stream: String, revision: i64 },
}

/// One event row to insert, in feed order.
pub(super) struct Row {
    pub stream: String,
    pub revision: i64,
    pub request: usize,
    pub event: usize,
}

/// Everything the writer must do for a group.
#[derive(Default)]
pub(super) struct Plan {
    pub decisions: Vec<Decision>,
    /// Streams to create or update: name → new revision.
    pub streams: HashMap<String, i64>,
    pub rows: Vec<Row>,
}

#[derive(Default)]
struct StreamState<'a> {
    current: Option<i64>,
    /// Ids written by earlier appends of this group → revision.
    written: HashMap<&'a str, i64>,
}

/// Decides each request of the group in order, against `existing` plus the effect of the requests before it.
pub(super) fn plan(requests: &[&Request], existing: &Existing) -> Plan {
    let mut plan = Plan::default();
    let mut states: HashMap<&str, StreamState> = HashMap::new();
    for (index, request) in requests.iter().enumerate() {
        let name = request.stream.as_str();
        let state = states.entry(name).or_insert_with(|| StreamState {
            current: existing.revisions.get(name).copied().filter(|r| *r >= 0),
            written: HashMap::new(),
        });
        // Where each id already is: (revision, position if committed before the group).
        let found: Vec<Option<(i64, Option<i64>)>> = request
            .events
            .iter()
            .map(|e| match existing.events.get(&(name.to_owned(), e.id.clone())) {
                Some((revision, position)) => Some((*revision, Some(*position))),
                None => state.written.get(e.id.as_str()).map(|r| (*r, None)),
            })
            .collect();
        if let Some(first) = found.iter().flatten().map(|(r, _)| *r).min() {
            plan.decisions.push(repeat(request, &found, first));
            continue;
        }
        let current = state.current.and_then(|c| u64::try_from(c).ok());
        if !request.expected.accepts(current) {
            plan.decisions.push(Decision::Answer(Err(StoreError::WrongExpectedRevision {
                stream: request.stream.clone(),
                expected: request.expected,
                current,
            })));
            continue;
        }
        let first = state.current.map_or(0, |c| c + 1);
        for (event, (revision, e)) in (first..).zip(&request.events).enumerate() {
            plan.rows.push(Row { stream: name.to_owned(), revision, request: index, event });
            state.written.insert(e.id.as_str(), revision);
            state.current = Some(revision);
        }
        let last = state.current.unwrap_or(first);
        plan.streams.insert(name.to_owned(), last);
        plan.decisions.push(Decision::Written { stream: name.to_owned(), revision: last });
    }
    plan
}

/// The answer to an append some of whose ids are stored: the original result if all are, in order and together.
fn repeat(request: &Request, found: &[Option<(i64, Option<i64>)>], first: i64) -> Decision {
    let misplaced = (first..).zip(found).position(|(at, f)| f.map(|(r, _)| r) != Some(at));
    if let Some(k) = misplaced {
        let event_id = request.events[k].id.parse().unwrap_or_default();
        return Decision::Answer(Err(StoreError::IdempotencyConflict { stream: request.stream.clone(), event_id }));
    }
    match found.last().copied().flatten() {
        Some((revision, Some(position))) => {
            Decision::Answer(match (u64::try_from(revision), u64::try_from(position)) {
                (Ok(revision), Ok(position)) => {
                    Ok(AppendResult { next_revision: revision, position: Position::new(0, position) })
                }
                _ => Err(StoreError::Backend("negative revision or position in the event store".into())),
            })
        }
        Some((revision, None)) => Decision::Written { stream: request.stream.to_string(), revision },
        None => Decision::Answer(Err(StoreError::Backend("a repeated append without events".into()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ExpectedRevision::*;

    fn request(stream: &str, expected: ExpectedRevision, ids: &[&str]) -> Request {
        let events = ids
            .iter()
            .map(|id| Encoded { id: (*id).into(), event_type: "T.v1".into(), data: "{}".into(), metadata: None })
            .collect();
        Request { stream: StreamName::parse(stream).unwrap(), expected, events }
    }

    fn existing(stream: &str, ids: &[&str]) -> Existing {
        let mut e = Existing::default();
        e.revisions.insert(stream.into(), ids.len() as i64 - 1);
        for (i, id) in ids.iter().enumerate() {
            e.events.insert((stream.into(), (*id).into()), (i as i64, 100 + i as i64));
        }
        e
    }

    #[test]
    fn appends_in_one_group_see_each_other_in_arrival_order() {
        let group =
            [request("s", NoStream, &["a"]), request("s", Exact(0), &["b", "c"]), request("s", NoStream, &["d"])];
        let plan = plan(&group.iter().collect::<Vec<_>>(), &Existing::default());
        assert!(matches!(&plan.decisions[0], Decision::Written { revision: 0, .. }));
        assert!(matches!(&plan.decisions[1], Decision::Written { revision: 2, .. }));
        assert!(matches!(
            &plan.decisions[2],
            Decision::Answer(Err(StoreError::WrongExpectedRevision { current: Some(2), .. }))
        ));
        assert_eq!(plan.rows.iter().map(|r| r.revision).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(plan.streams.get("s"), Some(&2));
    }

    #[test]
    fn repeat_of_a_committed_append_is_answered_with_its_position() {
        let plan = plan(&[&request("s", Exact(0), &["a", "b"])], &existing("s", &["a", "b"]));
        match &plan.decisions[0] {
            Decision::Answer(Ok(r)) => assert_eq!((r.next_revision, r.position), (1, Position::new(0, 101))),
            other => panic!("{other:?}"),
        }
        assert!(plan.rows.is_empty() && plan.streams.is_empty());
    }

    #[test]
    fn repeat_within_the_group_waits_for_the_first_ones_position() {
        let group = [request("s", Any, &["a"]), request("s", Any, &["a"])];
        let plan = plan(&group.iter().collect::<Vec<_>>(), &Existing::default());
        assert!(matches!(&plan.decisions[1], Decision::Written { revision: 0, .. }));
        assert_eq!(plan.rows.len(), 1);
    }

    #[test]
    fn partial_or_reordered_repeats_are_conflicts() {
        let stored = existing("s", &["a", "b"]);
        for (ids, offending) in
            [(&["b", "x"][..], "x"), (&["a", "b", "x"][..], "x"), (&["b", "a"][..], "b"), (&["x", "a"][..], "x")]
        {
            let plan = plan(&[&request("s", Any, ids)], &stored);
            match &plan.decisions[0] {
                Decision::Answer(Err(StoreError::IdempotencyConflict { .. })) => {}
                other => panic!("{ids:?} → {other:?} (expected a conflict at {offending})"),
            }
            assert!(plan.rows.is_empty());
        }
    }
}
