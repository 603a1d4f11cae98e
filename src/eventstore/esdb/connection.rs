//! One EventStoreDB client that heals itself, and the mapping of the crate's errors to [`StoreError`].
//!
//! `eventstore` 4.0 runs each client's connection in a background task that ends for good after a failed
//! (re)connection; every later call on that client answers `ConnectionClosed`. So the store keeps its client
//! behind a lock and swaps in a fresh one when a call reports that the task is gone. A generation number makes
//! many calls that fail together replace the client once. Every call is bounded in time.

use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use eventstore::{Client, ClientSettings};

use crate::eventstore::StoreError;

/// The longest any single call to the server may take before it counts as unavailable.
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The current client, replaced when its connection task has ended.
pub(super) struct Connection {
    settings: ClientSettings,
    runtime: tokio::runtime::Handle,
    current: Mutex<(u64, Client)>,
}

impl Connection {
    /// A connection (not yet connected: the crate connects on the first call). Needs a tokio runtime.
    pub(super) fn new(settings: ClientSettings) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| StoreError::Backend("the EventStoreDB backend needs a tokio runtime".into()))?;
        let client = Client::with_runtime_handle(runtime.clone(), settings.clone())
            .map_err(|e| StoreError::Backend(format!("cannot create an EventStoreDB client: {e}")))?;
        Ok(Self { settings, runtime, current: Mutex::new((0, client)) })
    }

    /// The client to use now, with its generation.
    pub(super) fn client(&self) -> (u64, Client) {
        let guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        (guard.0, guard.1.clone())
    }

    /// Runs one call on the current client, bounded by [`CALL_TIMEOUT`]; replaces the client if the call showed
    /// that its connection task has ended.
    pub(super) async fn call<T, F, Fut>(&self, op: F) -> eventstore::Result<T>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = eventstore::Result<T>>,
    {
        let (generation, client) = self.client();
        let outcome = match tokio::time::timeout(CALL_TIMEOUT, op(client)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(eventstore::Error::DeadlineExceeded),
        };
        if let Err(err) = &outcome {
            self.note_failure(generation, err);
        }
        outcome
    }

    /// Replaces the client of `generation` if `err` says its connection task has ended.
    pub(super) fn note_failure(&self, generation: u64, err: &eventstore::Error) {
        if !matches!(err, eventstore::Error::ConnectionClosed | eventstore::Error::GrpcConnectionError(_)) {
            return;
        }
        let mut guard = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.0 != generation {
            return; // another caller replaced it already
        }
        match Client::with_runtime_handle(self.runtime.clone(), self.settings.clone()) {
            Ok(client) => *guard = (generation.wrapping_add(1), client),
            Err(e) => tracing::warn!(error = %e, "cannot create a new EventStoreDB client; keeping the old one"),
        }
    }
}

/// Maps a crate error that has no more specific meaning at the call site.
pub(super) fn store_error(err: eventstore::Error) -> StoreError {
    use eventstore::Error as E;
    match err {
        E::ConnectionClosed => StoreError::Unavailable("the EventStoreDB connection is closed".into()),
        E::GrpcConnectionError(e) => StoreError::Unavailable(format!("cannot connect to EventStoreDB: {e}")),
        E::ServerError(e) => StoreError::Unavailable(format!("EventStoreDB: {e}")),
        E::NotLeaderException(leader) => {
            StoreError::Unavailable(format!("EventStoreDB node is not the leader (leader: {leader:?})"))
        }
        E::DeadlineExceeded => StoreError::Unavailable("EventStoreDB did not answer in time".into()),
        // Cancelled (1), ResourceExhausted (8), Aborted (10), Unavailable (14): worth retrying.
        E::Grpc { code, message } if matches!(i32::from(code), 1 | 8 | 10 | 14) => {
            StoreError::Unavailable(format!("EventStoreDB: {code:?}: {message}"))
        }
        E::AccessDenied => StoreError::Backend(
            "EventStoreDB denied access (reading $all needs an admin user in the connection string)".into(),
        ),
        E::ResourceDeleted => StoreError::Backend("the stream was deleted in EventStoreDB".into()),
        other => StoreError::Backend(format!("EventStoreDB: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_whose_connection_task_ended_is_replaced_by_a_working_one() {
        if let Err(e) = super::super::tls::prepare() {
            // Another test in this binary installed a crypto provider first (process-global state).
            println!("skipped: {e}");
            return;
        }
        let settings: ClientSettings = "esdb://127.0.0.1:1?tls=false".parse().expect("valid settings");
        let conn = Connection::new(settings).expect("a connection");
        for attempt in 0..3u64 {
            let err = conn.call(|client| async move { client.server_info().await }).await.err();
            // Without the replacement the second call would answer ConnectionClosed from the dead task.
            assert!(
                matches!(err, Some(eventstore::Error::GrpcConnectionError(_))),
                "attempt {attempt} tried to connect: {err:?}"
            );
            assert_eq!(conn.client().0, attempt + 1, "the failed client was replaced");
        }
        assert!(matches!(store_error(eventstore::Error::ConnectionClosed), StoreError::Unavailable(_)));
    }
}
