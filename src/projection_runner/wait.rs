//! Waiting for projections: until a read model has reached a feed position (read-your-writes), and until a
//! rebuilt version has been switched in.
//!
//! When this process leads the projection, its task publishes each committed checkpoint of the active version
//! and a waiter compares in memory. When another instance leads, nothing tells this process of its progress, so
//! the waiter reads the checkpoint from the database, polling with a short back-off (a primary-key lookup).

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;

use super::builds::{self, BuildStatus};
use super::{Inner, RunnerError};
use crate::eventstore::Position;

/// Why [`super::ProjectionRunner::wait_for`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The runner has no projection of that name.
    #[error("no projection named {0:?} runs here")]
    UnknownProjection(String),
    /// The projection did not reach the position in time.
    #[error(
        "projection {name} has not reached position {wanted} within {waited:?} (it is at {}){}; its lag report \
         (/internal/isready) says why",
        reached.map_or_else(|| "no checkpoint yet".to_owned(), |p| p.to_string()),
        cause.as_ref().map(|c| format!(", last error: {c}")).unwrap_or_default()
    )]
    Timeout {
        /// The projection.
        name: String,
        /// The position asked for.
        wanted: Position,
        /// The checkpoint it had reached, if any.
        reached: Option<Position>,
        /// How long the caller waited.
        waited: Duration,
        /// The last database error met while waiting, if any.
        cause: Option<String>,
    },
}

/// Resolves once the active version of projection `name` has applied every event up to `position`.
pub(super) async fn wait_for(
    inner: &Inner,
    name: &str,
    position: Position,
    timeout: Duration,
) -> Result<Position, WaitError> {
    let entry = inner.entry(name).ok_or_else(|| WaitError::UnknownProjection(name.to_owned()))?;
    let started = Instant::now();
    let deadline = started + timeout;
    let mut progress = entry.shared.progress.subscribe();
    let mut poll = Duration::from_millis(5);
    let mut reached = None;
    let mut cause = None;
    loop {
        let local = *progress.borrow_and_update();
        if let Some(local) = local {
            if local >= position {
                return Ok(local);
            }
            reached = reached.max(Some(local));
        }
        // The in-memory value is authoritative only while this process leads and has published one.
        if !(entry.shared.leading.load(Ordering::SeqCst) && local.is_some()) {
            match builds::active_checkpoint(&inner.database, name).await {
                Ok(Some(checkpoint)) if checkpoint >= position => return Ok(checkpoint),
                Ok(checkpoint) => reached = reached.max(checkpoint),
                Err(e) => cause = Some(e.to_string()),
            }
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitError::Timeout {
                name: name.to_owned(),
                wanted: position,
                reached,
                waited: timeout,
                cause,
            });
        }
        tokio::select! {
            _ = progress.changed() => {}
            _ = tokio::time::sleep(poll.min(deadline - now)) => {}
        }
        poll = (poll * 2).min(inner.options.wait_poll_max);
    }
}

/// Resolves once version `version` of projection `name` is the one readers use.
pub(super) async fn until_active(
    inner: &Inner,
    name: &str,
    version: i32,
    timeout: Option<Duration>,
) -> Result<(), RunnerError> {
    let entry = inner.entry(name).ok_or_else(|| RunnerError::UnknownProjection(name.to_owned()))?;
    let started = Instant::now();
    let mut progress = entry.shared.progress.subscribe();
    let mut poll = Duration::from_millis(10);
    loop {
        let all = builds::load(&inner.database, name).await?;
        match all.iter().find(|b| b.version == version).map(|b| b.status) {
            Some(BuildStatus::Active) => return Ok(()),
            Some(BuildStatus::Building) => {}
            Some(BuildStatus::Retired) | None => {
                let active = all.iter().find(|b| b.status == BuildStatus::Active).map(|b| b.version);
                if active.is_some_and(|a| a > version) {
                    return Ok(());
                }
                return Err(RunnerError::Superseded { name: name.to_owned(), version });
            }
        }
        let pause = match timeout {
            Some(timeout) => {
                let elapsed = started.elapsed();
                if elapsed >= timeout {
                    return Err(RunnerError::Timeout { name: name.to_owned(), version, waited: timeout });
                }
                poll.min(timeout - elapsed)
            }
            None => poll,
        };
        tokio::select! {
            _ = progress.changed() => {}
            _ = tokio::time::sleep(pause) => {}
        }
        poll = (poll * 2).min(Duration::from_millis(250));
    }
}
