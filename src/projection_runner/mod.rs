//! The projection runner: feeds every read model of `digisos_projections` from the event store.
//!
//! Per projection, one task in each service instance competes for leadership ([`leader`]); the leader follows
//! the all-events feed in bounded batches and applies each batch in one short transaction that also moves the
//! version's checkpoint by compare-and-set, so rows and checkpoint commit together and a second instance is
//! fenced off ([`worker`]). Readers use the version named by `projection_state.active_version`; a rebuild builds
//! the next version beside it from position zero and switches readers when it has caught up, then deletes the old
//! version's rows ([`builds`]). The runner answers how far behind each projection is ([`ProjectionLag`]) and
//! waits for a projection to reach a position, for read-your-writes ([`ProjectionRunner::wait_for`]).
//!
//! The runner lives in the service crate, not in `projections/`, because it reads the event store; it hands
//! the projections the crate's own [`digisos_projections::EventEnvelope`].

mod builds;
pub mod change_feed;
pub mod cli;
mod lag;
pub(crate) mod leader;
mod sql;
mod wait;
mod worker;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use digisos_projections::{Projection, ReadDb};
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use builds::{BuildStatus, Failure};
pub use lag::{EVENTS_BEHIND_CAP, OpenTransaction, ProjectionLag};
pub use wait::WaitError;

use crate::eventstore::open::Database;
use crate::eventstore::{DynEventStore, Position};

/// The PostgreSQL channel the event store announces commits on (`eventstore/postgres/wake.rs`); a rebuild
/// request is announced there too, so a leader in another instance looks at once.
const WAKE_CHANNEL: &str = "digisos_es_committed";

/// How the runner paces itself.
#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// The most events applied in one transaction.
    pub batch_size: usize,
    /// How long a leader keeps applying full batches back to back (reading the next while applying the last)
    /// before it looks at its other builds, its leadership and retired versions again.
    pub burst: Duration,
    /// The longest a leader sleeps without a wake-up signal before it looks at the feed anyway.
    pub poll_interval: Duration,
    /// How often a standby tries to take the lead.
    pub standby_retry: Duration,
    /// How often a leader checks that its lock's session is alive.
    pub leader_check: Duration,
    /// The first pause after a failure; it doubles with each further failure.
    pub retry_first: Duration,
    /// The longest pause after failures.
    pub retry_max: Duration,
    /// Rows of a retired version deleted per transaction.
    pub purge_chunk: u32,
    /// The longest pause between checks while waiting for a projection led by another instance.
    pub wait_poll_max: Duration,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        Self {
            batch_size: 500,
            burst: Duration::from_millis(250),
            poll_interval: Duration::from_secs(1),
            standby_retry: Duration::from_secs(2),
            leader_check: Duration::from_secs(5),
            retry_first: Duration::from_millis(100),
            retry_max: Duration::from_secs(30),
            purge_chunk: 1000,
            wait_poll_max: Duration::from_millis(100),
        }
    }
}

/// Why the runner refused or failed a request.
#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    /// No projection of that name is registered.
    #[error("no projection named {0:?}; known: see `digisos projections status`")]
    UnknownProjection(String),
    /// Two projections share a name.
    #[error("two projections are named {0:?}")]
    DuplicateProjection(String),
    /// The database failed.
    #[error("projection bookkeeping failed: {0}")]
    Database(#[from] sqlx::Error),
    /// A rebuilt version was not switched in within the time given.
    #[error("version {version} of projection {name} was not switched in within {waited:?}; it is still building")]
    Timeout {
        /// The projection.
        name: String,
        /// The version being built.
        version: i32,
        /// How long the caller waited.
        waited: Duration,
    },
    /// The rebuild was given up in favour of a newer one.
    #[error("version {version} of projection {name} was given up for a newer rebuild")]
    Superseded {
        /// The projection.
        name: String,
        /// The version that was given up.
        version: i32,
    },
}

/// What a projection's task shares with the runner's handle.
struct Shared {
    /// Whether this process leads the projection.
    leading: AtomicBool,
    /// The active version's checkpoint as this process' leader last committed it.
    progress: watch::Sender<Option<Position>>,
    /// Tells the leader to look at its versions now (a rebuild was requested here).
    nudge: Notify,
}

struct Entry {
    projection: Arc<dyn Projection>,
    shared: Arc<Shared>,
}

struct Inner {
    database: Database,
    store: DynEventStore,
    options: RunnerOptions,
    instance: String,
    entries: Vec<Entry>,
    shutdown: watch::Sender<bool>,
}

impl Inner {
    fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.projection.name() == name)
    }
}

/// Runs projections in the background; dropping it stops them (use [`ProjectionRunner::shutdown`] to let the
/// current transactions finish first).
pub struct ProjectionRunner {
    inner: Arc<Inner>,
    tasks: Vec<JoinHandle<()>>,
}

impl ProjectionRunner {
    /// Starts a task per projection on the current Tokio runtime. `store` must be the event store on `database`
    /// (the one the service appends through, so its in-process wake-ups reach the projections).
    pub fn start(
        store: DynEventStore,
        database: Database,
        projections: Vec<Arc<dyn Projection>>,
        options: RunnerOptions,
    ) -> Result<Self, RunnerError> {
        Self::start_with(store, database, projections, options, true)
    }

    fn start_with(
        store: DynEventStore,
        database: Database,
        projections: Vec<Arc<dyn Projection>>,
        options: RunnerOptions,
        run: bool,
    ) -> Result<Self, RunnerError> {
        let mut entries: Vec<Entry> = Vec::with_capacity(projections.len());
        for projection in projections {
            if entries.iter().any(|e| e.projection.name() == projection.name()) {
                return Err(RunnerError::DuplicateProjection(projection.name().to_owned()));
            }
            let shared =
                Shared { leading: AtomicBool::new(false), progress: watch::Sender::new(None), nudge: Notify::new() };
            entries.push(Entry { projection, shared: Arc::new(shared) });
        }
        let inner = Arc::new(Inner {
            database,
            store,
            options,
            instance: instance_id(),
            entries,
            shutdown: watch::Sender::new(false),
        });
        let tasks = if run {
            (0..inner.entries.len()).map(|i| tokio::spawn(worker::run(inner.clone(), i))).collect()
        } else {
            Vec::new()
        };
        Ok(Self { inner, tasks })
    }

    /// A runner that runs nothing: it reports lag, waits and requests rebuilds for projections led elsewhere
    /// (for `digisos projections status`, and for instances that should never lead).
    pub fn observe(
        store: DynEventStore,
        database: Database,
        projections: Vec<Arc<dyn Projection>>,
    ) -> Result<Self, RunnerError> {
        Self::start_with(store, database, projections, RunnerOptions::default(), false)
    }

    /// This instance's name in `projection_state.leader` and the logs.
    pub fn instance(&self) -> &str {
        &self.inner.instance
    }

    /// The names of the projections this runner runs.
    pub fn names(&self) -> Vec<&'static str> {
        self.inner.entries.iter().map(|e| e.projection.name()).collect()
    }

    /// The checkpoint of projection `name` as this process' leader commits it (it changes only while this
    /// process leads), or `None` for an unknown projection.
    pub fn progress(&self, name: &str) -> Option<watch::Receiver<Option<Position>>> {
        self.inner.entry(name).map(|e| e.shared.progress.subscribe())
    }

    /// Whether this process currently leads projection `name`.
    pub fn is_leading(&self, name: &str) -> bool {
        self.inner.entry(name).is_some_and(|e| e.shared.leading.load(Ordering::SeqCst))
    }

    /// How far behind each projection is: one entry per live version (the active one, and one being rebuilt).
    pub async fn lag_report(&self) -> Vec<ProjectionLag> {
        lag::report(&self.inner).await
    }

    /// Resolves once projection `name`'s read model (the version readers use) has applied every event up to and
    /// including `position`; returns the checkpoint it has reached. Errors when `timeout` passes first.
    pub async fn wait_for(&self, name: &str, position: Position, timeout: Duration) -> Result<Position, WaitError> {
        wait::wait_for(&self.inner, name, position, timeout).await
    }

    /// [`Self::wait_for`] for every projection of this runner, within one `timeout` overall.
    pub async fn wait_for_all(&self, position: Position, timeout: Duration) -> Result<(), WaitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        for entry in &self.inner.entries {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            wait::wait_for(&self.inner, entry.projection.name(), position, left).await?;
        }
        Ok(())
    }

    /// Starts rebuilding projection `name` into its next version (from position zero, beside the version readers
    /// use) and returns that version; a rebuild already under way is returned instead of starting another. The
    /// leader, in this instance or another, builds it and switches readers when it has caught up.
    pub async fn request_rebuild(&self, name: &str) -> Result<i32, RunnerError> {
        let entry = self.inner.entry(name).ok_or_else(|| RunnerError::UnknownProjection(name.to_owned()))?;
        let version = builds::request_rebuild(&self.inner.database, name, entry.projection.version()).await?;
        entry.shared.nudge.notify_one();
        if let Database::Postgres(pool) = &self.inner.database {
            // Best effort: the other instances' leaders also find the request on their next timer round.
            let notified =
                sqlx::query("SELECT pg_notify($1, 'projection-rebuild')").bind(WAKE_CHANNEL).execute(pool).await;
            if let Err(e) = notified {
                tracing::debug!(projection = name, error = %e, "cannot announce the rebuild to other instances");
            }
        }
        tracing::info!(projection = name, version, "rebuild requested");
        Ok(version)
    }

    /// Resolves once version `version` of projection `name` is the one readers use (`None`: wait as long as it
    /// takes).
    pub async fn wait_until_active(
        &self,
        name: &str,
        version: i32,
        timeout: Option<Duration>,
    ) -> Result<(), RunnerError> {
        wait::until_active(&self.inner, name, version, timeout).await
    }

    /// Rebuilds projection `name` without downtime: [`Self::request_rebuild`], then
    /// [`Self::wait_until_active`]. Returns the new version.
    pub async fn rebuild(&self, name: &str, timeout: Option<Duration>) -> Result<i32, RunnerError> {
        let version = self.request_rebuild(name).await?;
        self.wait_until_active(name, version, timeout).await?;
        Ok(version)
    }

    /// Stops every projection after its current transaction and gives up leadership.
    pub async fn shutdown(mut self) {
        self.inner.shutdown.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            if let Err(e) = task.await
                && e.is_panic()
            {
                tracing::error!(error = %e, "a projection task panicked");
            }
        }
    }
}

impl Drop for ProjectionRunner {
    fn drop(&mut self) {
        self.inner.shutdown.send_replace(true);
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Where read-model queries run on `database`: its pool (SQLite: the read-only pool).
pub fn read_db(database: &Database) -> ReadDb {
    match database {
        Database::Postgres(pool) => ReadDb::Postgres(pool.clone()),
        Database::Sqlite { read, .. } => ReadDb::Sqlite(read.clone()),
    }
}

/// A name for this process: host, process id and a random suffix (two runners in one process differ too).
fn instance_id() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "digisos".to_owned());
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}/{}/{}", std::process::id(), &suffix[..8])
}
