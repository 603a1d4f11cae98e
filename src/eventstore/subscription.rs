//! Following the all-events feed: a catch-up subscription with back-pressure, shared by every backend.
//!
//! A task reads bounded batches after the last position it delivered and pushes them into a bounded channel; a
//! slow consumer makes the task wait (back-pressure) instead of buffering without limit. When the feed is drained
//! the task sleeps until the store signals a commit, or until a fallback timer fires, so an event committed by
//! another process (which this process' signal may not see) is still picked up.

use std::time::Duration;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use super::{DynEventStore, Position, RecordedEvent, StoreError};

/// How a subscription reads the feed.
#[derive(Clone, Debug)]
pub struct SubscriptionOptions {
    /// Events read per batch.
    pub batch_size: usize,
    /// Events buffered for the consumer before the reader waits.
    pub buffer: usize,
    /// The longest sleep between polls when no commit signal arrives.
    pub poll_interval: Duration,
}

impl Default for SubscriptionOptions {
    fn default() -> Self {
        Self { batch_size: 512, buffer: 1024, poll_interval: Duration::from_millis(500) }
    }
}

/// Subscribes to every event after `after` (`None`: from the start), in feed order, each exactly once.
///
/// Transient failures of the store are retried with back-off and never end the stream; the stream ends when
/// the consumer drops it. Other errors are delivered once, and the reader then keeps retrying from the same
/// position.
pub fn subscribe_all(
    store: DynEventStore,
    after: Option<Position>,
    options: SubscriptionOptions,
) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send + 'static {
    let (tx, rx) = mpsc::channel(options.buffer.max(1));
    tokio::spawn(follow(store, after, options, tx));
    ReceiverStream::new(rx)
}

async fn follow(
    store: DynEventStore,
    mut after: Option<Position>,
    options: SubscriptionOptions,
    tx: mpsc::Sender<Result<RecordedEvent, StoreError>>,
) {
    let mut wake = store.wake();
    let mut backoff = Duration::from_millis(50);
    loop {
        // Mark the current signal as seen before reading, so a commit during the read wakes the next wait.
        wake.borrow_and_update();
        match store.read_all(after, options.batch_size).await {
            Ok(batch) if batch.is_empty() => {
                backoff = Duration::from_millis(50);
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = wake.changed() => {}
                    _ = tokio::time::sleep(options.poll_interval) => {}
                }
            }
            Ok(batch) => {
                backoff = Duration::from_millis(50);
                for event in batch {
                    let position = event.position;
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                    after = Some(position);
                }
            }
            Err(err) => {
                if !err.is_transient() && tx.send(Err(err)).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = tx.closed() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}
