//! Waking subscribers of the PostgreSQL store without slowing appends down.
//!
//! A `NOTIFY` inside the append transaction serialises every commit on PostgreSQL's notification queue lock
//! (measured: 1,760 → 380 appends/s at 8 writers), so an append only bumps an in-process `watch` channel after
//! it committed. Three background tasks do the rest:
//! - the notifier sends one `NOTIFY` per debounce window after commits, outside any append, for other processes;
//! - the listener `LISTEN`s and bumps the channel when another process committed (and after a reconnect, when
//!   notifications may have been lost);
//! - the horizon watcher serves readers that found committed events held back behind a transaction still open:
//!   nothing will be appended when that transaction ends, so it polls the horizon (cheaply, with back-off) and
//!   bumps the channel once it has moved.
//!
//! The tasks hold the pool and the channel, never the store; they are aborted when the store is dropped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};
use tokio::task::AbortHandle;
use uuid::Uuid;

/// The channel commits are announced on.
const CHANNEL: &str = "digisos_es_committed";
/// Commits within this window share one `NOTIFY`.
const DEBOUNCE: Duration = Duration::from_millis(25);
/// The first and the longest pause of the horizon watcher. The longest is short: the check is one cheap query
/// (at most 100 a second, and only while a reader is held back), and every step of back-off is added to how stale
/// the read models look once the holding transaction ends (a 1 s cap showed as a 3.6 s p99 in the freshness
/// benchmark). Commits of this process' appends need no watcher: they wake the readers themselves.
const HORIZON_FIRST: Duration = Duration::from_millis(2);
const HORIZON_MAX: Duration = Duration::from_millis(10);
/// The first and the longest pause before the listener reconnects.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// The store's half of the wake-up machinery.
pub(super) struct Waker {
    local: watch::Sender<u64>,
    notify: Arc<Notify>,
    horizon: Arc<HeldBack>,
    tasks: Vec<AbortHandle>,
}

/// The lowest horizon a reader found events held back at, if any reader is waiting for it to move.
#[derive(Default)]
struct HeldBack {
    at: Mutex<Option<i64>>,
    changed: Notify,
}

impl Waker {
    /// Starts the notifier, the listener and the horizon watcher.
    pub(super) fn start(pool: PgPool) -> Self {
        let (local, _) = watch::channel(0);
        let notify = Arc::new(Notify::new());
        let horizon = Arc::new(HeldBack::default());
        // Lets the listener ignore this process' own notifications: it has woken its subscribers already.
        let instance = Uuid::new_v4().simple().to_string();
        let tasks = vec![
            tokio::spawn(notifier(pool.clone(), notify.clone(), instance.clone())).abort_handle(),
            tokio::spawn(listener(pool.clone(), local.clone(), instance)).abort_handle(),
            tokio::spawn(horizon_watcher(pool, local.clone(), horizon.clone())).abort_handle(),
        ];
        Self { local, notify, horizon, tasks }
    }

    /// Events were committed: wake this process' subscribers now and other processes' soon.
    pub(super) fn committed(&self) {
        self.local.send_modify(|n| *n = n.wrapping_add(1));
        self.notify.notify_one();
    }

    /// A reader drained the feed while committed events were held back at `horizon`.
    pub(super) fn held_back(&self, horizon: i64) {
        if let Ok(mut at) = self.horizon.at.lock() {
            *at = Some(at.map_or(horizon, |h| h.min(horizon)));
        }
        self.horizon.changed.notify_one();
    }

    /// A receiver that changes after commits.
    pub(super) fn subscribe(&self) -> watch::Receiver<u64> {
        self.local.subscribe()
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn notifier(pool: PgPool, requested: Arc<Notify>, instance: String) {
    loop {
        requested.notified().await;
        if let Err(e) = send_notify(&pool, &instance).await {
            tracing::debug!(error = %e, "event store NOTIFY failed; other processes fall back to polling");
        }
        // Commits during the pause leave one permit behind: one more NOTIFY covers them all.
        tokio::time::sleep(DEBOUNCE).await;
    }
}

async fn send_notify(pool: &PgPool, instance: &str) -> Result<(), sqlx::Error> {
    // One statement in its own implicit transaction, one round trip. Losing a wake-up in a crash is harmless
    // (subscribers poll as a fallback), so the commit does not wait for the disk (`set_config(…, true)` is local
    // to that transaction).
    sqlx::query("SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)")
        .bind(CHANNEL)
        .bind(instance)
        .execute(pool)
        .await
        .map(|_| ())
}

async fn listener(pool: PgPool, local: watch::Sender<u64>, instance: String) {
    let mut pause = RECONNECT_FIRST;
    loop {
        let mut listening = false;
        match listen(&pool, &local, &instance, &mut listening).await {
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::debug!(error = %e, "event store LISTEN lost its connection; reconnecting"),
            Ok(()) => {}
        }
        // Back off while the server is unreachable; reconnect promptly after a connection that worked.
        pause = if listening { RECONNECT_FIRST } else { (pause * 2).min(RECONNECT_MAX) };
        tokio::time::sleep(pause).await;
    }
}

async fn listen(
    pool: &PgPool,
    local: &watch::Sender<u64>,
    instance: &str,
    listening: &mut bool,
) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    *listening = true;
    // Whatever was announced while no one listened is lost: let subscribers look.
    local.send_modify(|n| *n = n.wrapping_add(1));
    while let Some(notification) = listener.try_recv().await? {
        if notification.payload() != instance {
            local.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
    Ok(())
}

async fn horizon_watcher(pool: PgPool, local: watch::Sender<u64>, held: Arc<HeldBack>) {
    loop {
        held.changed.notified().await;
        let mut pause = HORIZON_FIRST;
        loop {
            tokio::time::sleep(pause).await;
            let Some(at) = held.at.lock().ok().and_then(|at| *at) else { break };
            let moved = sqlx::query_scalar::<_, i64>("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&pool)
                .await
                .is_ok_and(|xmin| xmin > at);
            if moved {
                if let Ok(mut slot) = held.at.lock()
                    && *slot == Some(at)
                {
                    *slot = None;
                }
                local.send_modify(|n| *n = n.wrapping_add(1));
                break;
            }
            pause = (pause * 2).min(HORIZON_MAX);
        }
    }
}
