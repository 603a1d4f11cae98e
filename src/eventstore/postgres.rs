//! The PostgreSQL event store: the production backend.
//!
//! Shaped by `shared/docs/EVENTSTORE.md`. An append is one call of the `es_append` function (created by the
//! migration), so it costs one round trip and holds no lock but the advisory lock of its own stream: appends to
//! different streams commit in parallel. Single-event appends (nearly all) that wait at the same moment are
//! committed together by `es_append_group`, each decided alone (see `group`); a lone one goes to the leaner
//! `es_append_one`. The all-events feed is read by
//! `(tx, seq)` below the oldest running transaction (the xid8 horizon), which never skips an event whose
//! transaction took a smaller sequence number but committed later. Nothing is `NOTIFY`ed inside an append: see
//! `wake` for how subscribers are woken.

mod group;
mod wake;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, PgConnection, Postgres, Row};
use uuid::Uuid;

use super::sql_rows::{decode_err, limit, to_u64};
use super::{
    AppendResult, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent, StoreError, StreamName,
    validate_batch,
};

/// How many connections the pool opens at most, unless the caller builds its own pool.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a pooled connection by default (while the server is down: how long sqlx
/// keeps trying to connect) before the store reports itself unavailable.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The event store on PostgreSQL.
pub struct PgEventStore {
    pool: PgPool,
    waker: wake::Waker,
    group: group::Grouper,
    append_delay: Option<Duration>,
}

impl PgEventStore {
    /// Connection options for a pool the store (and the read side) can use: acknowledged appends are durable
    /// (`synchronous_commit=on`) and a forgotten open transaction cannot hold the feed back for long.
    pub fn connect_options(url: &str) -> Result<PgConnectOptions, StoreError> {
        let options: PgConnectOptions =
            url.parse().map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        Ok(options
            .application_name("digisos")
            .options([("synchronous_commit", "on"), ("idle_in_transaction_session_timeout", "60s")]))
    }

    /// Connects a pool to `url` with [`Self::connect_options`], waiting at most [`DEFAULT_ACQUIRE_TIMEOUT`] for a
    /// connection.
    pub async fn connect_pool(url: &str) -> Result<PgPool, StoreError> {
        Self::connect_pool_with(url, DEFAULT_ACQUIRE_TIMEOUT).await
    }

    /// [`Self::connect_pool`] with another limit on the wait for a connection. While the server is unreachable,
    /// sqlx keeps retrying the connection until this passes; the service sets it below its request timeout, so a
    /// request during an outage is answered 503 (`Unavailable`) rather than outliving its time (408).
    pub async fn connect_pool_with(url: &str, acquire_timeout: Duration) -> Result<PgPool, StoreError> {
        PgPoolOptions::new()
            .max_connections(DEFAULT_MAX_CONNECTIONS)
            .acquire_timeout(acquire_timeout)
            .connect_with(Self::connect_options(url)?)
            .await
            .map_err(map_err)
    }

    /// A store on `pool` (migrated with `migrations/postgres`). Starts the tasks that wake subscribers; they
    /// stop when the store is dropped.
    pub fn new(pool: PgPool) -> Self {
        let waker = wake::Waker::start(pool.clone());
        let group = group::Grouper::start(pool.clone());
        Self { pool, waker, group, append_delay: None }
    }

    /// For tests only: every append sleeps a random time up to `max` inside its transaction, after writing and
    /// before committing, so commits finish out of sequence order.
    #[doc(hidden)]
    pub fn with_append_delay(mut self, max: Duration) -> Self {
        self.append_delay = Some(max);
        self.group.set_delay(max);
        self
    }

    /// The pool the store uses.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Tells subscribers in this process (and, debounced, in others) that events were committed by a transaction
    /// the store did not run itself, such as one that used [`append_in_transaction`].
    pub fn committed_elsewhere(&self) {
        self.waker.committed();
    }
}

/// Appends inside the caller's transaction, with the same checks as [`EventStore::append`].
///
/// The append must be the transaction's first write (PostgreSQL refuses it otherwise): the stream lock must be
/// taken before the transaction has an id, or the stream's events could appear out of order in the feed. So one
/// transaction appends to one stream. After committing, call [`PgEventStore::committed_elsewhere`].
pub async fn append_in_transaction(
    conn: &mut PgConnection,
    stream: &StreamName,
    expected: ExpectedRevision,
    events: Vec<NewEvent>,
) -> Result<AppendResult, StoreError> {
    validate_batch(&events)?;
    let args = AppendArgs::from(events);
    let outcome = call_append(&mut *conn, stream, expected, &args).await.map_err(map_err)?;
    outcome.into_result(stream, expected)
}

#[async_trait]
impl EventStore for PgEventStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_batch(&events)?;
        let args = AppendArgs::from(events);
        // One event (the common case) waits for the next group commit; a batch is one call of its own.
        let outcome = if args.ids.len() == 1 {
            self.group.append(stream, expected, args).await?
        } else {
            append_alone(&self.pool, self.append_delay, stream, expected, &args).await?
        };
        let appended = outcome.kind == "appended";
        let result = outcome.into_result(stream, expected)?;
        if appended {
            self.waker.committed();
        }
        Ok(result)
    }

    async fn read_stream(&self, stream: &StreamName, from: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let Ok(from) = i64::try_from(from) else { return Ok(Vec::new()) };
        if max == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT e.revision, e.tx::text::bigint AS tx, e.seq, e.event_id, e.event_type, e.data, e.metadata,
                    e.recorded_at
               FROM es_events e JOIN es_streams s ON s.stream_id = e.stream_id
              WHERE s.stream_name = $1 AND e.revision >= $2
              ORDER BY e.revision
              LIMIT $3",
        )
        .bind(stream.as_str())
        .bind(from)
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(|row| decode_event(row, stream.clone())).collect()
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = after.unwrap_or_default();
        let (Ok(tx), Ok(seq)) = (i64::try_from(after.commit), i64::try_from(after.prepare)) else {
            return Err(StoreError::InvalidPosition { text: after.to_string() });
        };
        if max == 0 {
            return Ok(Vec::new());
        }
        // The horizon is computed once, with whether committed events are held back behind it, so a reader that
        // drained the feed can be woken as soon as the horizon moves (see `wake`). `held` compares the newest
        // event's transaction (one backward probe of `es_events_all`) with the horizon: written as
        // `EXISTS (… WHERE tx >= xmin)` it was planned as a scan of every event whenever the table had no fresh
        // statistics (31 ms per read at 100,000 events, on every read of every projection).
        let rows = sqlx::query(
            "WITH h AS MATERIALIZED (
                 SELECT x.xmin, coalesce((SELECT max(tx) FROM es_events) >= x.xmin, false) AS held
                   FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) x
             )
             SELECT h.xmin::text::bigint AS horizon, h.held, ev.*
               FROM h LEFT JOIN LATERAL (
                 SELECT s.stream_name, e.revision, e.tx::text::bigint AS tx, e.seq, e.event_id, e.event_type,
                        e.data, e.metadata, e.recorded_at
                   FROM es_events e JOIN es_streams s ON s.stream_id = e.stream_id
                  WHERE (e.tx, e.seq) > ($1::bigint::text::xid8, $2) AND e.tx < h.xmin
                  ORDER BY e.tx, e.seq
                  LIMIT $3
               ) ev ON true",
        )
        .bind(tx)
        .bind(seq)
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;

        let mut events = Vec::with_capacity(rows.len());
        let mut held_at = None;
        for row in &rows {
            if row.try_get::<bool, _>("held").map_err(decode_err)? {
                held_at = Some(row.try_get::<i64, _>("horizon").map_err(decode_err)?);
            }
            let Some(name) = row.try_get::<Option<String>, _>("stream_name").map_err(decode_err)? else {
                continue;
            };
            let stream = StreamName::parse(name).map_err(|e| StoreError::Backend(e.to_string()))?;
            events.push(decode_event(row, stream)?);
        }
        if events.len() < max
            && let Some(horizon) = held_at
        {
            self.waker.held_back(horizon);
        }
        Ok(events)
    }

    fn wake(&self) -> tokio::sync::watch::Receiver<u64> {
        self.waker.subscribe()
    }

    fn backend(&self) -> &'static str {
        "postgres"
    }
}

/// An append's events as the columns `es_append` takes (`es_append_one` takes the single row's values).
struct AppendArgs {
    ids: Vec<Uuid>,
    types: Vec<String>,
    data: Vec<serde_json::Value>,
    metadata: Vec<Option<serde_json::Value>>,
}

impl From<Vec<NewEvent>> for AppendArgs {
    fn from(events: Vec<NewEvent>) -> Self {
        let mut args = Self {
            ids: Vec::with_capacity(events.len()),
            types: Vec::with_capacity(events.len()),
            data: Vec::with_capacity(events.len()),
            metadata: Vec::with_capacity(events.len()),
        };
        for e in events {
            args.ids.push(e.event_id);
            args.types.push(e.event_type);
            args.data.push(e.data);
            args.metadata.push(e.metadata);
        }
        args
    }
}

/// What `es_append` answered.
struct Outcome {
    kind: String,
    current: Option<i64>,
    last_revision: Option<i64>,
    last_tx: Option<i64>,
    last_seq: Option<i64>,
    conflict: Option<Uuid>,
}

impl Outcome {
    fn into_result(self, stream: &StreamName, expected: ExpectedRevision) -> Result<AppendResult, StoreError> {
        let current = self.current.map(to_u64).transpose()?;
        match self.kind.as_str() {
            "appended" | "duplicate" => {
                let (Some(revision), Some(tx), Some(seq)) = (self.last_revision, self.last_tx, self.last_seq) else {
                    return Err(StoreError::Backend("es_append returned no position".into()));
                };
                Ok(AppendResult {
                    next_revision: to_u64(revision)?,
                    position: Position::new(to_u64(tx)?, to_u64(seq)?),
                })
            }
            "wrong_expected_revision" => {
                Err(StoreError::WrongExpectedRevision { stream: stream.clone(), expected, current })
            }
            "idempotency_conflict" => Err(StoreError::IdempotencyConflict {
                stream: stream.clone(),
                event_id: self.conflict.unwrap_or_default(),
            }),
            other => Err(StoreError::Backend(format!("es_append answered {other:?}"))),
        }
    }
}

/// One append in a transaction of its own (with the test delay, if set); on the all but impossible unique
/// violation (the stream lock prevents it), once more, which then sees the winner's commit and answers from it
/// (duplicate, or wrong expected revision).
async fn append_alone(
    pool: &PgPool,
    delay: Option<Duration>,
    stream: &StreamName,
    expected: ExpectedRevision,
    args: &AppendArgs,
) -> Result<Outcome, StoreError> {
    let mut rechecked = false;
    loop {
        let outcome = match delay {
            None => call_append(pool, stream, expected, args).await,
            Some(max) => {
                async {
                    let mut tx = pool.begin().await?;
                    let outcome = call_append(&mut *tx, stream, expected, args).await?;
                    tokio::time::sleep(random_pause(max)).await;
                    tx.commit().await?;
                    Ok::<Outcome, sqlx::Error>(outcome)
                }
                .await
            }
        };
        match outcome {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && !rechecked => rechecked = true,
            Err(e) => return Err(map_err(e)),
            Ok(outcome) => return Ok(outcome),
        }
    }
}

/// A random pause of at most `max` (the test delay).
fn random_pause(max: Duration) -> Duration {
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::Rng::gen_range(&mut rand::thread_rng(), 0..=nanos))
}

/// The append functions' `p_expected_kind` and `p_expected_revision`.
fn expected_args(expected: ExpectedRevision) -> (&'static str, i64) {
    match expected {
        ExpectedRevision::Any => ("any", 0),
        ExpectedRevision::NoStream => ("no_stream", 0),
        ExpectedRevision::StreamExists => ("stream_exists", 0),
        // A revision beyond i64 can never be current, like i64::MAX.
        ExpectedRevision::Exact(n) => ("exact", i64::try_from(n).unwrap_or(i64::MAX)),
    }
}

/// An append function's answer row.
fn outcome_of(row: &PgRow) -> Result<Outcome, sqlx::Error> {
    Ok(Outcome {
        kind: row.try_get("outcome")?,
        current: row.try_get("current_revision")?,
        last_revision: row.try_get("last_revision")?,
        last_tx: row.try_get("last_tx")?,
        last_seq: row.try_get("last_seq")?,
        conflict: row.try_get("conflict_event_id")?,
    })
}

async fn call_append<'c, E: Executor<'c, Database = Postgres>>(
    executor: E,
    stream: &StreamName,
    expected: ExpectedRevision,
    args: &AppendArgs,
) -> Result<Outcome, sqlx::Error> {
    let (kind, revision) = expected_args(expected);
    // One event (the common case) goes to the leaner `es_append_one` as scalars; batches to `es_append`.
    let query = match (&args.ids[..], &args.types[..], &args.data[..], &args.metadata[..]) {
        ([id], [event_type], [data], [metadata]) => sqlx::query(
            "SELECT outcome, current_revision, last_revision, last_tx, last_seq, conflict_event_id
               FROM es_append_one($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stream.as_str())
        .bind(kind)
        .bind(revision)
        .bind(id)
        .bind(event_type.as_str())
        .bind(data)
        .bind(metadata),
        _ => sqlx::query(
            "SELECT outcome, current_revision, last_revision, last_tx, last_seq, conflict_event_id
               FROM es_append($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(stream.as_str())
        .bind(kind)
        .bind(revision)
        .bind(&args.ids)
        .bind(&args.types)
        .bind(&args.data)
        .bind(&args.metadata),
    };
    let row = query.fetch_optional(executor).await?.ok_or(sqlx::Error::RowNotFound)?;
    outcome_of(&row)
}

fn decode_event(row: &PgRow, stream: StreamName) -> Result<RecordedEvent, StoreError> {
    let tx: i64 = row.try_get("tx").map_err(decode_err)?;
    let seq: i64 = row.try_get("seq").map_err(decode_err)?;
    Ok(RecordedEvent {
        stream,
        revision: to_u64(row.try_get("revision").map_err(decode_err)?)?,
        position: Position::new(to_u64(tx)?, to_u64(seq)?),
        event_id: row.try_get("event_id").map_err(decode_err)?,
        event_type: row.try_get("event_type").map_err(decode_err)?,
        data: row.try_get("data").map_err(decode_err)?,
        metadata: row.try_get("metadata").map_err(decode_err)?,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at").map_err(decode_err)?,
    })
}

/// Maps a driver error: lost connections, an unreachable or overloaded server, and conflicts PostgreSQL asks to
/// retry become [`StoreError::Unavailable`]; everything else is [`StoreError::Backend`].
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            // 08: connection exception; 53: insufficient resources; 57P: operator intervention (shutdown);
            // 40001/40P01: serialization failure, deadlock.
            let transient = code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01";
            match code.as_ref() {
                _ if transient => StoreError::Unavailable(e.to_string()),
                // Text PostgreSQL cannot store, such as \u0000 inside a JSON string.
                "22P05" | "22021" => StoreError::Backend(format!("event data PostgreSQL cannot store: {db}")),
                _ => StoreError::Backend(e.to_string()),
            }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
