//! Group commit for PostgreSQL: single-event appends that wait at the same moment share one transaction.
//!
//! Measured (BENCHMARKS.md, append): with a commit per append, our append stayed at about 0.7 of a raw INSERT
//! however lean the append function became, because each append pays a round trip, a function call and a commit
//! beside the insert, on a machine where the CPU, not the disk, is the limit. Here a few worker tasks (one per
//! core, at least two) take every single-event append waiting in the queue when they are free (up to a cap) and
//! send them as one call of `es_append_group` (migration 0500) in one autocommit statement: one round trip and
//! one commit for the group. Each append in the group is decided alone, with the rules of `es_append_one`, so a
//! refused or duplicate append does not affect the others. A group of one goes to `es_append_one` as before, so a
//! lone writer waits for nothing.
//!
//! Callers are answered after the commit, so an acknowledged append is durable. If a group fails for a reason
//! other than an unavailable database (such as one event PostgreSQL cannot store), its appends are run one by
//! one, so one bad append cannot fail the others. Ordering is kept: the group function takes every stream's lock
//! before its first write (in lock-key order, so groups cannot deadlock), as a single append does.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::{PgPool, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{AppendArgs, Outcome, append_alone, map_err, outcome_of};
use crate::eventstore::{ExpectedRevision, StoreError, StreamName};

/// The most appends one group commits.
const GROUP_CAP: usize = 64;
/// Appends queued before callers wait to enqueue.
const QUEUE: usize = 1024;

/// One single-event append and where its answer goes.
struct Job {
    stream: StreamName,
    expected: ExpectedRevision,
    args: AppendArgs,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The queue the workers take groups from. Dropping it stops them once the queue is empty.
pub(super) struct Grouper {
    queue: mpsc::Sender<Job>,
    /// For tests: the most a group sleeps between writing and committing, in nanoseconds (0: never).
    delay: Arc<AtomicU64>,
}

impl Grouper {
    /// Starts the workers on `pool`.
    pub(super) fn start(pool: PgPool) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let delay = Arc::new(AtomicU64::new(0));
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        for _ in 0..workers {
            tokio::spawn(work(pool.clone(), rx.clone(), delay.clone()));
        }
        Self { queue, delay }
    }

    /// For tests: every group sleeps a random time up to `max` inside its transaction.
    pub(super) fn set_delay(&self, max: Duration) {
        self.delay.store(u64::try_from(max.as_nanos()).unwrap_or(u64::MAX).max(1), Ordering::Relaxed);
    }

    /// Appends the one event of `args` to `stream` with the next group; the function's answer.
    pub(super) async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        args: AppendArgs,
    ) -> Result<Outcome, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = Job { stream: stream.clone(), expected, args, reply };
        self.queue.send(job).await.map_err(|_| StoreError::Unavailable("the append workers stopped".into()))?;
        answer.await.map_err(|_| StoreError::Unavailable("the append worker stopped before answering".into()))?
    }
}

async fn work(pool: PgPool, rx: Arc<Mutex<mpsc::Receiver<Job>>>, delay: Arc<AtomicU64>) {
    loop {
        let jobs = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut jobs = vec![first];
            // Let callers that are about to enqueue (those just answered, appending again) do so, then take what
            // is there: no timer, so a lone append waits for nothing but this one turn of the scheduler.
            tokio::task::yield_now().await;
            while jobs.len() < GROUP_CAP {
                let Ok(job) = rx.try_recv() else { break };
                jobs.push(job);
            }
            jobs
        };
        let delay = match delay.load(Ordering::Relaxed) {
            0 => None,
            nanos => Some(Duration::from_nanos(nanos)),
        };
        if let Some(message) = run(&pool, delay, jobs).await {
            // The database is unavailable: the appends queued meanwhile would wait out the same failure one group
            // after another (each up to the pool's acquire timeout, which could outlast their requests), so they
            // get the answer now.
            let mut rx = rx.lock().await;
            while let Ok(job) = rx.try_recv() {
                let _ = job.reply.send(Err(StoreError::Unavailable(message.clone())));
            }
        }
    }
}

/// Commits `jobs` and answers them; the message if the database was unavailable.
async fn run(pool: &PgPool, delay: Option<Duration>, jobs: Vec<Job>) -> Option<String> {
    let mut unavailable = None;
    if jobs.len() == 1 {
        for job in jobs {
            let answer = append_alone(pool, delay, &job.stream, job.expected, &job.args).await;
            if let Err(StoreError::Unavailable(message)) = &answer {
                unavailable = Some(message.clone());
            }
            // A caller that gave up waiting is no reason to stop.
            let _ = job.reply.send(answer);
        }
        return unavailable;
    }
    match commit_group(pool, delay, &jobs).await {
        Ok(outcomes) => {
            for (job, outcome) in jobs.into_iter().zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
        }
        Err(e) => match map_err(e) {
            StoreError::Unavailable(message) => {
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable(message.clone())));
                }
                unavailable = Some(message);
            }
            // Something in the group broke the statement: each append alone, so only the bad one fails.
            _ => {
                for job in jobs {
                    let answer = append_alone(pool, delay, &job.stream, job.expected, &job.args).await;
                    let _ = job.reply.send(answer);
                }
            }
        },
    }
    unavailable
}

/// One call of `es_append_group` for `jobs` (in one transaction); the outcomes in the order of `jobs`.
async fn commit_group(pool: &PgPool, delay: Option<Duration>, jobs: &[Job]) -> Result<Vec<Outcome>, sqlx::Error> {
    let mut streams = Vec::with_capacity(jobs.len());
    let mut kinds = Vec::with_capacity(jobs.len());
    let mut revisions = Vec::with_capacity(jobs.len());
    let (mut ids, mut types, mut data, mut metadata) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for job in jobs {
        let (kind, revision) = super::expected_args(job.expected);
        streams.push(job.stream.as_str());
        kinds.push(kind);
        revisions.push(revision);
        ids.extend(job.args.ids.iter().copied());
        types.extend(job.args.types.iter().map(String::as_str));
        data.extend(job.args.data.iter());
        metadata.extend(job.args.metadata.iter());
    }
    let query = sqlx::query(
        "SELECT idx, outcome, current_revision, last_revision, last_tx, last_seq, conflict_event_id
           FROM es_append_group($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&streams)
    .bind(&kinds)
    .bind(&revisions)
    .bind(&ids)
    .bind(&types)
    .bind(&data)
    .bind(&metadata);
    let rows = match delay {
        None => query.fetch_all(pool).await?,
        Some(max) => {
            let mut tx = pool.begin().await?;
            let rows = query.fetch_all(&mut *tx).await?;
            tokio::time::sleep(super::random_pause(max)).await;
            tx.commit().await?;
            rows
        }
    };
    let mut outcomes: Vec<Option<Outcome>> = jobs.iter().map(|_| None).collect();
    for row in &rows {
        let idx: i32 = row.try_get("idx")?;
        let slot = usize::try_from(idx - 1).ok().and_then(|i| outcomes.get_mut(i));
        let Some(slot) = slot else { return Err(sqlx::Error::RowNotFound) };
        *slot = Some(outcome_of(row)?);
    }
    outcomes.into_iter().map(|o| o.ok_or(sqlx::Error::RowNotFound)).collect()
}
