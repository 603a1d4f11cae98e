//! The per-projection task: stand by until this instance leads, then follow the feed.
//!
//! While leading, each round reads one bounded batch after each live version's checkpoint (the active version
//! first, so readers' lag stays low during a rebuild; then the version being built), applies it in one short
//! transaction that first moves the checkpoint by compare-and-set, and commits rows and checkpoint together.
//! A version being built that has drained the feed and caught up with the active one is switched in; a retired
//! version's rows are deleted a chunk per round. With nothing to do the task sleeps until the store signals a
//! commit (in this process, or in another through PostgreSQL's debounced NOTIFY, which the store's `wake()`
//! already listens to), a rebuild is requested, a back-off ends, or the fallback timer fires.
//!
//! A batch that fails to apply is rolled back whole. The task then re-reads it one event at a time, so the
//! offending event is found, its predecessors committed, and the failure recorded at its exact position; that
//! event is retried with exponential back-off (never hot, never skipped) and the lag report shows it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use digisos_projections::{ApplyError, EventEnvelope};
use tokio::sync::watch;
use tokio::time::Instant;

use super::builds::{self, Build, BuildStatus};
use super::leader::Seat;
use super::sql::Txn;
use super::{Entry, Inner};
use crate::eventstore::{Position, RecordedEvent, StoreError};

/// Runs projection `index` of `inner` until shutdown: stand by, lead, stand by again if the lead is lost.
pub(super) async fn run(inner: Arc<Inner>, index: usize) {
    let entry = &inner.entries[index];
    let name = entry.projection.name();
    let mut shutdown = inner.shutdown.subscribe();
    let mut seat = Seat::new(inner.database.clone(), name);
    let mut standing_by = false;
    while !*shutdown.borrow() {
        match seat.try_lead().await {
            Ok(true) => {
                standing_by = false;
                entry.shared.leading.store(true, Ordering::SeqCst);
                tracing::info!(projection = name, instance = %inner.instance, "leading projection");
                lead(&inner, entry, &mut seat, &mut shutdown).await;
                entry.shared.leading.store(false, Ordering::SeqCst);
                seat.release().await;
                tracing::info!(projection = name, instance = %inner.instance, "stopped leading projection");
            }
            Ok(false) if !standing_by => {
                standing_by = true;
                tracing::info!(projection = name, instance = %inner.instance, "another instance leads; standing by");
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(projection = name, error = %e, "cannot reach the leader lock; retrying"),
        }
        if pause(&mut shutdown, inner.options.standby_retry).await {
            break;
        }
    }
    seat.release().await;
}

/// Sleeps for `duration`; `true` when shutdown was asked for instead.
async fn pause(shutdown: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    tokio::select! {
        _ = shutdown.changed() => true,
        _ = tokio::time::sleep(duration) => *shutdown.borrow(),
    }
}

/// Back-off and isolation state of one version.
#[derive(Default)]
struct Retry {
    failures: u32,
    not_before: Option<Instant>,
    /// Apply one event per transaction until the checkpoint reaches this position (a batch failed up to here).
    isolate_until: Option<Position>,
}

/// What one step did.
enum Step {
    Applied { position: Position, count: usize },
    Drained,
    Fenced,
    ReadFailed(StoreError),
    Failed { error: ApplyError, count: usize, first: Position, last: Position },
}

async fn lead(inner: &Inner, entry: &Entry, seat: &mut Seat, shutdown: &mut watch::Receiver<bool>) {
    let name = entry.projection.name();
    let logic = entry.projection.version();
    let options = &inner.options;
    let mut backoff = options.retry_first;
    loop {
        match builds::ensure(&inner.database, name, logic).await {
            Ok(rebuilding) => {
                if let Some(version) = rebuilding {
                    tracing::info!(projection = name, version, logic, "a rebuild is under way; building it here");
                }
                break;
            }
            Err(e) => tracing::warn!(projection = name, error = %e, "cannot set up the projection's bookkeeping"),
        }
        if pause(shutdown, backoff).await {
            return;
        }
        backoff = (backoff * 2).min(options.retry_max);
    }
    if let Err(e) = builds::set_leader(&inner.database, name, &inner.instance).await {
        tracing::debug!(projection = name, error = %e, "cannot note the leader");
    }
    let mut wake = inner.store.wake();
    let mut retries: HashMap<i32, Retry> = HashMap::new();
    let mut next_check = Instant::now() + options.leader_check;
    let mut load_backoff = options.retry_first;
    loop {
        if *shutdown.borrow() {
            return;
        }
        if Instant::now() >= next_check {
            if !seat.still_leading().await {
                tracing::warn!(projection = name, "lost the leader lock's session; standing down");
                return;
            }
            next_check = Instant::now() + options.leader_check;
        }
        // Mark the signal seen before reading, so a commit during this round wakes the next wait.
        wake.borrow_and_update();
        let all = match builds::load(&inner.database, name).await {
            Ok(all) => {
                load_backoff = options.retry_first;
                all
            }
            Err(e) => {
                tracing::warn!(projection = name, error = %e, "cannot read the projection's checkpoints");
                if pause(shutdown, load_backoff).await {
                    return;
                }
                load_backoff = (load_backoff * 2).min(options.retry_max);
                continue;
            }
        };
        let active = all.iter().find(|b| b.status == BuildStatus::Active);
        if let Some(active) = active {
            // Another instance may have moved it while this one stood by; waiters trust this value while we lead.
            publish(entry, active.checkpoint);
        }
        let building = all.iter().find(|b| b.status == BuildStatus::Building);
        let mut busy = false;
        let mut next_due: Option<Instant> = None;
        for build in [active, building].into_iter().flatten() {
            if i64::from(build.logic_version) > i64::from(logic) {
                // Built by newer code (a rolling deploy): leave it to the instance that knows that logic.
                continue;
            }
            let retry = retries.entry(build.version).or_default();
            if let Some(at) = retry.not_before.filter(|at| *at > Instant::now()) {
                next_due = Some(next_due.map_or(at, |due| due.min(at)));
                continue;
            }
            let isolating = retry.isolate_until.is_some_and(|until| build.checkpoint < until);
            let max = if isolating { 1 } else { options.batch_size.max(1) };
            match step(inner, entry, build, max).await {
                Step::Applied { position, count } => {
                    retry.failures = 0;
                    retry.not_before = None;
                    if build.status == BuildStatus::Active {
                        publish(entry, position);
                    }
                    busy |= count >= max;
                }
                Step::Drained => {
                    if let (BuildStatus::Building, Some(active)) = (build.status, active) {
                        busy |= switch(inner, entry, active, build).await;
                    }
                }
                Step::Fenced => {
                    tracing::warn!(projection = name, version = build.version, "checkpoint moved elsewhere; reloading");
                    busy = true;
                }
                Step::ReadFailed(e) => {
                    let wait = schedule(retry, options);
                    tracing::warn!(projection = name, error = %e, retry_in = ?wait, "cannot read the event feed");
                }
                Step::Failed { error, count, first, last } if count > 1 => {
                    tracing::warn!(projection = name, version = build.version, from = %first, to = %last, error = %error,
                        "a batch failed to apply; applying its events one at a time to find the offender");
                    retry.isolate_until = Some(last);
                    busy = true;
                }
                Step::Failed { error, first, .. } => {
                    let at = error.position().map(|p| Position::new(p.commit, p.prepare)).unwrap_or(first);
                    let wait = schedule(retry, options);
                    tracing::error!(projection = name, version = build.version, position = %at, attempts = retry.failures,
                        retry_in = ?wait, error = %error, "projection cannot apply an event; retrying after back-off");
                    let message = error.to_string();
                    if let Err(e) =
                        builds::record_failure(&inner.database, name, build.version, Some(at), &message).await
                    {
                        tracing::warn!(projection = name, error = %e, "cannot record the failure");
                    }
                }
            }
        }
        for retired in all.iter().filter(|b| b.status == BuildStatus::Retired) {
            busy |= purge(inner, entry, retired.version).await;
        }
        if busy {
            continue;
        }
        let now = Instant::now();
        let mut sleep_until = (now + options.poll_interval).min(next_check);
        if let Some(due) = next_due {
            sleep_until = sleep_until.min(due);
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            changed = wake.changed() => {
                // The store is gone: fall back to the timer rather than spin.
                if changed.is_err() {
                    tokio::time::sleep_until(sleep_until).await;
                }
            }
            _ = entry.shared.nudge.notified() => {}
            _ = tokio::time::sleep_until(sleep_until) => {}
        }
    }
}

/// Publishes the active version's checkpoint to waiters in this process. It only ever moves forward (a switch
/// happens only when the new version is at or past the old one).
fn publish(entry: &Entry, checkpoint: Position) {
    entry.shared.progress.send_if_modified(|known| {
        let newer = known.is_none_or(|k| k < checkpoint);
        if newer {
            *known = Some(checkpoint);
        }
        newer
    });
}

/// Schedules the next attempt after a failure; returns the pause.
fn schedule(retry: &mut Retry, options: &super::RunnerOptions) -> Duration {
    retry.failures = retry.failures.saturating_add(1);
    let exponent = retry.failures.saturating_sub(1).min(20);
    let wait = options.retry_first.saturating_mul(1u32 << exponent).min(options.retry_max);
    retry.not_before = Some(Instant::now() + wait);
    wait
}

/// Reads one batch after `build`'s checkpoint and applies it; while full batches keep coming (a rebuild, or a
/// projection catching up), goes on for up to `RunnerOptions::burst`, reading each next batch while the previous
/// one is applied. Reading and applying are separate round trips on separate connections, so on PostgreSQL the
/// server reads the feed on one core while the projection folds and writes on the other (done one after the
/// other, a rebuild left the machine idle half the time). Each batch is still its own transaction with its own
/// checkpoint; an active version's progress is published after each.
async fn step(inner: &Inner, entry: &Entry, build: &Build, max: usize) -> Step {
    let mut events = match inner.store.read_all(Some(build.checkpoint), max).await {
        Ok(events) => events,
        Err(e) => return Step::ReadFailed(e),
    };
    let until = Instant::now() + inner.options.burst;
    let mut checkpoint = build.checkpoint;
    loop {
        let (Some(first), Some(last)) = (events.first().map(|e| e.position), events.last().map(|e| e.position)) else {
            return Step::Drained;
        };
        let count = events.len();
        let batch: Vec<EventEnvelope> = events.into_iter().map(envelope).collect();
        let more = count >= max && max > 1 && Instant::now() < until;
        let applying = apply(inner, entry, build.version, checkpoint, &batch, last);
        let (applied, next) = if more {
            let (applied, next) = tokio::join!(applying, inner.store.read_all(Some(last), max));
            (applied, Some(next))
        } else {
            (applying.await, None)
        };
        match applied {
            Ok(true) => {}
            Ok(false) => return Step::Fenced,
            Err(error) => return Step::Failed { error, count, first, last },
        }
        if build.status == BuildStatus::Active {
            publish(entry, last);
        }
        checkpoint = last;
        // A failed read ahead is left to the next round, which reads again and reports it.
        match next {
            Some(Ok(next)) if !next.is_empty() => events = next,
            _ => return Step::Applied { position: last, count },
        }
    }
}

/// One projector transaction: move the checkpoint from `checkpoint` to `last` (compare-and-set), write the rows,
/// commit both.
async fn apply(
    inner: &Inner,
    entry: &Entry,
    version: i32,
    checkpoint: Position,
    batch: &[EventEnvelope],
    last: Position,
) -> Result<bool, ApplyError> {
    let name = entry.projection.name();
    let mut txn = Txn::begin_projector(&inner.database).await?;
    // The rows first, the checkpoint last: on PostgreSQL a transaction gets its id at its first write, and every
    // event appended after that id is held back from every reader of the feed until this transaction ends (the
    // feed's horizon). Written first, the checkpoint made each projection hold the whole feed back during its
    // whole fold (loading the states, folding, serialising), and several projections fold in turn. A second
    // instance that believes it leads writes the same rows (waiting on our row locks), then finds the checkpoint
    // moved and rolls all of it back.
    entry.projection.apply(batch, version, txn.projection_tx()).await?;
    if !builds::advance(&mut txn.conn(), name, version, checkpoint, last, batch.len()).await? {
        txn.rollback().await?;
        return Ok(false);
    }
    txn.commit().await?;
    Ok(true)
}

/// Switches readers to `new` if it has caught up with `old`; `true` when it did.
async fn switch(inner: &Inner, entry: &Entry, old: &Build, new: &Build) -> bool {
    let name = entry.projection.name();
    match builds::switch(&inner.database, name, old.version, new.version).await {
        Ok(Some(checkpoint)) => {
            publish(entry, checkpoint);
            tracing::info!(projection = name, from = old.version, to = new.version, at = %checkpoint,
                "rebuilt read model caught up; readers switched to it");
            true
        }
        Ok(None) => false,
        Err(e) => {
            tracing::warn!(projection = name, error = %e, "cannot switch to the rebuilt read model");
            false
        }
    }
}

/// Deletes a chunk of a retired version's rows, and its bookkeeping once none are left; `true` when more remain.
async fn purge(inner: &Inner, entry: &Entry, version: i32) -> bool {
    let name = entry.projection.name();
    let chunk = inner.options.purge_chunk.max(1);
    let result: Result<u64, ApplyError> = async {
        let mut txn = Txn::begin(&inner.database).await?;
        let deleted = entry.projection.purge(version, chunk, txn.projection_tx()).await?;
        txn.commit().await?;
        Ok(deleted)
    }
    .await;
    match result {
        Ok(0) => {
            match builds::forget(&inner.database, name, version).await {
                Ok(()) => tracing::info!(projection = name, version, "retired read model deleted"),
                Err(e) => tracing::warn!(projection = name, version, error = %e, "cannot forget a retired version"),
            }
            false
        }
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(projection = name, version, error = %e, "cannot delete a retired read model's rows");
            false
        }
    }
}

/// The projections crate's copy of a recorded event.
fn envelope(event: RecordedEvent) -> EventEnvelope {
    EventEnvelope {
        stream: event.stream.into(),
        revision: event.revision,
        position: digisos_projections::Position::new(event.position.commit, event.position.prepare),
        event_id: event.event_id,
        event_type: event.event_type,
        data: event.data,
        metadata: event.metadata,
        recorded_at: event.recorded_at,
    }
}
