//! Live updates: which cases' citizen views changed, for the `sakOppdatert` subscription.
//!
//! One task per process follows the `innsyn` read model by the feed position stored on each row (`pos_*`), and
//! broadcasts the id of every case whose view changed. Subscribers filter by their case and re-read it, so the
//! cost is one query per change batch for the process, not per subscriber. The task wakes when the projection
//! commits in this process (its progress signal), when the event store announces an append (also from another
//! instance on PostgreSQL), and at least every [`TICK`]; it runs only while someone listens.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use digisos_projections::saker::{EndretSak, INNSYN, endrede_saker, siste_endring};
use tokio::sync::broadcast;

use digisos_projections::ReadDb;

use super::ProjectionRunner;
use crate::eventstore::DynEventStore;

/// The longest the feed sleeps without a signal.
const TICK: Duration = Duration::from_millis(250);
/// Changed cases read per query.
const PAGE: u32 = 500;

/// The process' feed of changed cases.
pub struct ChangeFeed {
    sender: broadcast::Sender<Arc<EndretSak>>,
    running: Mutex<bool>,
}

impl Default for ChangeFeed {
    fn default() -> Self {
        Self { sender: broadcast::Sender::new(1024), running: Mutex::new(false) }
    }
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").field("listeners", &self.sender.receiver_count()).finish()
    }
}

impl ChangeFeed {
    /// A receiver of every change committed after this call returns (and possibly a few just before it: a
    /// subscriber de-duplicates by comparing views). Starts the feed task if it is not running.
    pub async fn subscribe(
        self: &Arc<Self>,
        db: &ReadDb,
        runner: &Arc<ProjectionRunner>,
        store: &DynEventStore,
    ) -> Result<broadcast::Receiver<Arc<EndretSak>>, digisos_projections::ReadError> {
        let receiver = self.sender.subscribe();
        let start = {
            let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            !*running
        };
        if start {
            let after = siste_endring(db).await?;
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if !*running {
                *running = true;
                tokio::spawn(Arc::clone(self).run(db.clone(), runner.clone(), store.clone(), after));
            }
        }
        Ok(receiver)
    }

    async fn run(
        self: Arc<Self>,
        db: ReadDb,
        runner: Arc<ProjectionRunner>,
        store: DynEventStore,
        mut after: (i64, i64),
    ) {
        let mut wake = store.wake();
        let mut progress = runner.progress(INNSYN);
        loop {
            {
                let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
                if self.sender.receiver_count() == 0 {
                    *running = false;
                    return;
                }
            }
            match endrede_saker(&db, after, PAGE).await {
                Ok(changes) => {
                    let full = changes.len() == PAGE as usize;
                    for change in changes {
                        after = change.posisjon;
                        // No receiver left is not an error: the loop notices and stops.
                        let _ = self.sender.send(Arc::new(change));
                    }
                    if full {
                        continue;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the live-update feed could not read changed cases; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            tokio::select! {
                woke = wake.changed() => {
                    if woke.is_err() {
                        // The store is gone (shutting down): keep to the timer.
                        tokio::time::sleep(TICK).await;
                    }
                }
                _ = async {
                    let alive = match progress.as_mut() {
                        Some(p) => p.changed().await.is_ok(),
                        None => false,
                    };
                    if !alive {
                        std::future::pending::<()>().await;
                    }
                } => {}
                _ = tokio::time::sleep(TICK) => {}
            }
        }
    }
}
