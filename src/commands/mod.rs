//! The command shell around the Deciders: load a stream, fold it, decide, append with the expected revision.
//!
//! The domain (`src/sak/`) is pure; this module does the I/O. One function, [`execute`], serves every aggregate
//! through the small [`Aggregate`] trait. A revision conflict (another command appended to the same stream
//! between our read and our append) is retried from a fresh read, a few times, and then answered 409: a
//! command is never lost and never applied twice. A command that decides "nothing to do" (an idempotent retry)
//! appends nothing and is answered like the first success, with the stream's last position so the caller's next
//! read can wait for the read models to reach it.

use digisos_schema::events::{DecodeError, KommuneEvent, SakEvent};
use serde_json::{Value, json};

use crate::eventstore::{DynEventStore, ExpectedRevision, NewEvent, Position, RecordedEvent, StoreError, StreamName};
use crate::metrics::AppendOutcome;
use crate::sak::{self, KommuneCommand, KommuneState, Rejection, SakCommand, SakState};

/// How many times a command is decided again after losing a race for its stream.
const MAX_ATTEMPTS: usize = 5;
/// Events read per page while loading a stream.
const PAGE: usize = 1000;

/// A Decider as the shell sees it.
pub trait Aggregate {
    /// A short name for metrics labels (`sak`, `kommune`); never an id.
    const NAME: &'static str = "other";
    /// What the aggregate remembers.
    type State: Default + Send;
    /// What it records.
    type Event: Send;
    /// What it can be asked.
    type Command: Clone + Send;

    /// Reads a stored event.
    fn decode(event: &RecordedEvent) -> Result<Self::Event, DecodeError>;
    /// Folds one event into the state.
    fn evolve(state: Self::State, event: &Self::Event) -> Self::State;
    /// Decides a command: events to append (none: already done) or why not.
    fn decide(state: &Self::State, command: Self::Command) -> Result<Vec<Self::Event>, Rejection>;
    /// The event's stored type name and payload.
    fn encode(event: &Self::Event) -> Result<(&'static str, Value), serde_json::Error>;
}

/// The case (DigisosSak).
pub struct SakAggregate;

impl Aggregate for SakAggregate {
    const NAME: &'static str = "sak";
    type State = SakState;
    type Event = SakEvent;
    type Command = SakCommand;

    fn decode(event: &RecordedEvent) -> Result<SakEvent, DecodeError> {
        SakEvent::decode(&event.event_type, &event.data)
    }
    fn evolve(state: SakState, event: &SakEvent) -> SakState {
        sak::evolve(state, event)
    }
    fn decide(state: &SakState, command: SakCommand) -> Result<Vec<SakEvent>, Rejection> {
        sak::decide(state, command)
    }
    fn encode(event: &SakEvent) -> Result<(&'static str, Value), serde_json::Error> {
        Ok((event.event_type(), event.data()?))
    }
}

/// A kommune's configuration.
pub struct KommuneAggregate;

impl Aggregate for KommuneAggregate {
    const NAME: &'static str = "kommune";
    type State = KommuneState;
    type Event = KommuneEvent;
    type Command = KommuneCommand;

    fn decode(event: &RecordedEvent) -> Result<KommuneEvent, DecodeError> {
        KommuneEvent::decode(&event.event_type, &event.data)
    }
    fn evolve(state: KommuneState, event: &KommuneEvent) -> KommuneState {
        sak::evolve_kommune(state, event)
    }
    fn decide(state: &KommuneState, command: KommuneCommand) -> Result<Vec<KommuneEvent>, Rejection> {
        sak::decide_kommune(state, command)
    }
    fn encode(event: &KommuneEvent) -> Result<(&'static str, Value), serde_json::Error> {
        Ok((event.event_type(), event.data()?))
    }
}

/// What a command did.
#[derive(Debug)]
pub struct Outcome<S> {
    /// The aggregate's state after the command.
    pub state: S,
    /// How many events were appended (0: it was already done).
    pub appended: usize,
    /// The position of the stream's last event (for read-your-writes); `None` for an empty stream.
    pub position: Option<Position>,
}

/// Why a command did not complete.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The domain refused it; nothing was appended.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The event store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event could not be read (a bug or a newer version).
    #[error("stream {stream} holds an event that cannot be read: {source}")]
    Decode {
        /// The stream.
        stream: StreamName,
        /// Why.
        source: DecodeError,
    },
    /// Encoding an event failed (a bug).
    #[error("an event could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    /// The stream kept changing under us.
    #[error("the case changed concurrently {MAX_ATTEMPTS} times; retry the request")]
    Contention,
}

/// Loads a stream and folds it into its state; also returns the stream's revision and last position.
pub async fn load<A: Aggregate>(
    store: &DynEventStore,
    stream: &StreamName,
) -> Result<(A::State, Option<u64>, Option<Position>), CommandError> {
    let mut state = A::State::default();
    let mut revision = None;
    let mut position = None;
    loop {
        let from = revision.map_or(0, |r: u64| r + 1);
        let page = store.read_stream(stream, from, PAGE).await?;
        let full = page.len() == PAGE;
        for recorded in &page {
            let event =
                A::decode(recorded).map_err(|source| CommandError::Decode { stream: stream.clone(), source })?;
            state = A::evolve(state, &event);
            revision = Some(recorded.revision);
            position = Some(recorded.position);
        }
        if !full {
            return Ok((state, revision, position));
        }
    }
}

/// Runs one command against one stream: load, decide, append; retried on a lost race.
///
/// `metadata` is stored with each appended event (who asked, the request id), never personal data.
pub async fn execute<A: Aggregate>(
    store: &DynEventStore,
    stream: &StreamName,
    command: A::Command,
    metadata: Value,
) -> Result<Outcome<A::State>, CommandError> {
    for _ in 0..MAX_ATTEMPTS {
        let (state, revision, position) = load::<A>(store, stream).await?;
        let events = A::decide(&state, command.clone())?;
        if events.is_empty() {
            return Ok(Outcome { state, appended: 0, position });
        }
        let mut batch = Vec::with_capacity(events.len());
        for event in &events {
            let (event_type, data) = A::encode(event)?;
            batch.push(NewEvent::new(event_type, data).with_metadata(metadata.clone()));
        }
        let expected = revision.map_or(ExpectedRevision::NoStream, ExpectedRevision::Exact);
        let started = std::time::Instant::now();
        let appended = store.append(stream, expected, batch).await;
        let outcome = match &appended {
            Ok(_) => AppendOutcome::Ok,
            Err(StoreError::WrongExpectedRevision { .. }) => AppendOutcome::Conflict,
            Err(_) => AppendOutcome::Error,
        };
        crate::metrics::record_append(A::NAME, outcome, events.len(), started.elapsed());
        match appended {
            Ok(result) => {
                let state = events.iter().fold(state, A::evolve);
                return Ok(Outcome { state, appended: events.len(), position: Some(result.position) });
            }
            Err(StoreError::WrongExpectedRevision { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(CommandError::Contention)
}

/// Event metadata naming the kind of caller and the request, for tracing a change back to its request.
pub fn metadata(caller_kind: &str, request_id: Option<&str>) -> Value {
    json!({ "caller": caller_kind, "requestId": request_id })
}
