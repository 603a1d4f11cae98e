//! Group commit for SQLite: one task writes, committing the appends that wait together in one transaction.
//!
//! With `synchronous=FULL` a commit costs a disk flush, and SQLite allows one writer anyway, so a commit per
//! append would cap throughput at the disk's flush rate. The writer takes every request waiting when it is ready
//! (up to a cap), and in one `BEGIN IMMEDIATE` transaction reads what the group needs (two statements), decides
//! each append in arrival order (`group::plan`, check-then-apply: a refused append writes nothing and does not
//! fail the others), writes all streams and all events (two statements, the rows passed as one JSON array), and
//! commits once. Callers are answered only after the commit, so an acknowledged append is durable. If a group
//! fails for a reason other than an unavailable database, its appends are retried one by one, so one bad
//! append cannot fail the others.

use std::collections::HashMap;

use chrono::Utc;
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot, watch};

use super::group::{self, Decision, Existing, Plan, Request};
use super::map_err;
use crate::eventstore::{AppendResult, Position, StoreError};

/// The most appends one transaction commits.
const GROUP_CAP: usize = 512;
/// A group stops growing beyond this many serialised bytes.
const GROUP_BYTES: usize = 32 * 1024 * 1024;
/// Appends queued for the writer before callers wait to enqueue.
const QUEUE: usize = 1024;

/// An append and where to send its answer.
pub(super) struct Job {
    pub request: Request,
    pub reply: oneshot::Sender<Result<AppendResult, StoreError>>,
}

/// Starts the writer task on the write pool; it ends when every sender is dropped.
pub(super) fn start(pool: SqlitePool, wake: watch::Sender<u64>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(QUEUE);
    tokio::spawn(run(pool, rx, wake));
    tx
}

async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Job>, wake: watch::Sender<u64>) {
    let mut jobs = Vec::with_capacity(GROUP_CAP);
    while let Some(job) = rx.recv().await {
        jobs.push(job);
        // Let callers that are about to enqueue do so, then take what is there: cheap, and it fills the group
        // when many callers get their answers and append again at once.
        tokio::task::yield_now().await;
        let mut bytes = jobs[0].request.size();
        while jobs.len() < GROUP_CAP && bytes < GROUP_BYTES {
            let Ok(job) = rx.try_recv() else { break };
            bytes += job.request.size();
            jobs.push(job);
        }
        let requests: Vec<&Request> = jobs.iter().map(|j| &j.request).collect();
        let answers = match commit_group(&pool, &requests).await {
            Ok(answers) => answers,
            // Something in the group broke the transaction: isolate it by running each append alone.
            Err(StoreError::Backend(_)) if requests.len() > 1 => {
                let mut answers = Vec::with_capacity(requests.len());
                for request in &requests {
                    match commit_group(&pool, &[request]).await {
                        Ok(mut one) => answers.append(&mut one),
                        Err(e) => answers.push(Err(e)),
                    }
                }
                answers
            }
            Err(e) => requests.iter().map(|_| Err(same_error(&e))).collect(),
        };
        let appended = answers.iter().any(Result::is_ok);
        for (job, answer) in jobs.drain(..).zip(answers) {
            // A caller that gave up waiting is no reason to stop.
            let _ = job.reply.send(answer);
        }
        if appended {
            wake.send_modify(|n| *n = n.wrapping_add(1));
        }
    }
}

/// Decides and writes the group in one transaction; returns one answer per request.
async fn commit_group(
    pool: &SqlitePool,
    requests: &[&Request],
) -> Result<Vec<Result<AppendResult, StoreError>>, StoreError> {
    let mut conn = pool.acquire().await.map_err(map_err)?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
    let existing = read_existing(&mut tx, requests).await?;
    let plan = group::plan(requests, &existing);
    let positions = write(&mut tx, requests, &plan).await?;
    tx.commit().await.map_err(map_err)?;
    Ok(plan.decisions.into_iter().map(|d| resolve(d, &positions)).collect())
}

/// The same failure, for each caller of a failed group.
fn same_error(e: &StoreError) -> StoreError {
    match e {
        StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
        other => StoreError::Backend(other.to_string()),
    }
}

/// The group's streams and which of its event ids are stored already.
async fn read_existing(conn: &mut SqliteConnection, requests: &[&Request]) -> Result<Existing, StoreError> {
    let mut existing = Existing::default();
    let names: Vec<&str> = requests.iter().map(|r| r.stream.as_str()).collect();
    let rows = sqlx::query(
        "SELECT stream_name, revision FROM es_streams WHERE stream_name IN (SELECT value FROM json_each(?1))",
    )
    .bind(to_json(&names)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        existing
            .revisions
            .insert(row.try_get("stream_name").map_err(map_err)?, row.try_get("revision").map_err(map_err)?);
    }
    let pairs: Vec<(&str, &str)> = requests
        .iter()
        .filter(|r| existing.revisions.contains_key(r.stream.as_str()))
        .flat_map(|r| r.events.iter().map(|e| (r.stream.as_str(), e.id.as_str())))
        .collect();
    if pairs.is_empty() {
        return Ok(existing);
    }
    let rows = sqlx::query(
        "SELECT s.stream_name, e.event_id, e.revision, e.position
           FROM json_each(?1) j
           JOIN es_streams s ON s.stream_name = j.value ->> 0
           JOIN es_events e ON e.stream_id = s.stream_id AND e.event_id = j.value ->> 1",
    )
    .bind(to_json(&pairs)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        let key = (row.try_get("stream_name").map_err(map_err)?, row.try_get("event_id").map_err(map_err)?);
        let value = (row.try_get("revision").map_err(map_err)?, row.try_get("position").map_err(map_err)?);
        existing.events.insert(key, value);
    }
    Ok(existing)
}

/// Writes the plan's streams and rows; returns the position of each written (stream, revision).
async fn write(
    conn: &mut SqliteConnection,
    requests: &[&Request],
    plan: &Plan,
) -> Result<HashMap<(String, i64), i64>, StoreError> {
    let mut positions = HashMap::with_capacity(plan.rows.len());
    if plan.rows.is_empty() {
        return Ok(positions);
    }
    let streams: Vec<(&str, i64)> = plan.streams.iter().map(|(name, revision)| (name.as_str(), *revision)).collect();
    let rows = sqlx::query(
        "INSERT INTO es_streams (stream_name, revision)
         SELECT j.value ->> 0, j.value ->> 1 FROM json_each(?1) j WHERE true
         ON CONFLICT (stream_name) DO UPDATE SET revision = excluded.revision
         RETURNING stream_id, stream_name",
    )
    .bind(to_json(&streams)?)
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    let mut ids = HashMap::with_capacity(rows.len());
    for row in rows {
        ids.insert(
            row.try_get::<i64, _>("stream_id").map_err(map_err)?,
            row.try_get::<String, _>("stream_name").map_err(map_err)?,
        );
    }
    let by_name: HashMap<&str, i64> = ids.iter().map(|(id, name)| (name.as_str(), *id)).collect();

    let mut events = Vec::with_capacity(plan.rows.len());
    for row in &plan.rows {
        let stream_id = by_name
            .get(row.stream.as_str())
            .copied()
            .ok_or_else(|| StoreError::Backend(format!("stream {} was not written", row.stream)))?;
        let e = &requests[row.request].events[row.event];
        events.push((stream_id, row.revision, &e.id, &e.event_type, &e.data, &e.metadata));
    }
    let rows = sqlx::query(
        "INSERT INTO es_events (stream_id, revision, event_id, event_type, data, metadata, recorded_at)
         SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, j.value ->> 5, ?2
           FROM json_each(?1) j
          ORDER BY j.key
         RETURNING stream_id, revision, position",
    )
    .bind(to_json(&events)?)
    .bind(Utc::now())
    .fetch_all(&mut *conn)
    .await
    .map_err(map_err)?;
    for row in rows {
        let stream_id: i64 = row.try_get("stream_id").map_err(map_err)?;
        let name = ids.get(&stream_id).cloned().unwrap_or_default();
        positions.insert((name, row.try_get("revision").map_err(map_err)?), row.try_get("position").map_err(map_err)?);
    }
    Ok(positions)
}

/// The final answer for a decision, given the positions of the rows written.
fn resolve(decision: Decision, positions: &HashMap<(String, i64), i64>) -> Result<AppendResult, StoreError> {
    match decision {
        Decision::Answer(answer) => answer,
        Decision::Written { stream, revision } => {
            let position = positions
                .get(&(stream, revision))
                .ok_or_else(|| StoreError::Backend("a written event has no position".into()))?;
            match (u64::try_from(revision), u64::try_from(*position)) {
                (Ok(revision), Ok(position)) => {
                    Ok(AppendResult { next_revision: revision, position: Position::new(0, position) })
                }
                _ => Err(StoreError::Backend("negative revision or position in the event store".into())),
            }
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot serialise a group: {e}")))
}
