//! The SQLite event store: the embedded default, no server needed.
//!
//! SQLite has one writer at a time, so the order of positions is the order of commits and the feed is read by
//! position alone. Durability is WAL with `synchronous=FULL`: every commit waits for the disk. That makes a commit
//! per append slow, so appends go through one writer task that commits the appends waiting at that moment in one
//! transaction (group commit, see `writer`) and answers each caller on its own. Reads use a separate pool and
//! never wait for the writer.
//!
//! Subscribers in this process are woken after each commit. Other processes writing the same file are not (SQLite
//! has no notifications): their events arrive with the subscribers' fallback poll.

mod group;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use tokio::sync::{mpsc, oneshot, watch};

use super::sql_rows::{decode_err, limit, to_u64};
use super::{
    AppendResult, EventStore, ExpectedRevision, NewEvent, Position, RecordedEvent, StoreError, StreamName,
    validate_batch,
};

/// How long a statement waits for a lock held by another connection before it fails as unavailable.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections of the read pool.
const READ_CONNECTIONS: u32 = 8;

/// The two pools of an SQLite database: one connection that writes, several that only read.
#[derive(Clone, Debug)]
pub struct SqlitePools {
    /// The single writing connection. Writers use `BEGIN IMMEDIATE`, keep transactions short, and share it with
    /// the event store's writer task.
    pub write: SqlitePool,
    /// Read-only connections (`query_only`).
    pub read: SqlitePool,
}

impl SqlitePools {
    /// Opens (creating if needed, with its folder) the database at `url` (`sqlite:…`). In-memory databases are
    /// refused: the two pools would not share one.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.contains(":memory:") || url.contains("mode=memory") {
            return Err(StoreError::Backend(
                "an in-memory SQLite database cannot be shared by the write and read pools; use a file".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Backend(format!("invalid SQLite URL: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        if let Some(folder) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            create_folder(folder).await?;
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await
            .map_err(map_err)?;
        let read = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.pragma("query_only", "ON"))
            .await
            .map_err(map_err)?;
        Ok(Self { write, read })
    }
}

async fn create_folder(folder: &Path) -> Result<(), StoreError> {
    tokio::fs::create_dir_all(folder)
        .await
        .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", folder.display())))
}

/// The event store on SQLite.
pub struct SqliteEventStore {
    read: SqlitePool,
    requests: mpsc::Sender<writer::Job>,
    wake: watch::Receiver<u64>,
}

impl SqliteEventStore {
    /// A store on `pools` (migrated with `migrations/sqlite`). Starts the writer task; it stops when the store
    /// is dropped.
    pub fn new(pools: &SqlitePools) -> Self {
        let (wake_tx, wake) = watch::channel(0);
        let requests = writer::start(pools.write.clone(), wake_tx);
        Self { read: pools.read.clone(), requests, wake }
    }
}

#[async_trait]
impl EventStore for SqliteEventStore {
    async fn append(
        &self,
        stream: &StreamName,
        expected: ExpectedRevision,
        events: Vec<NewEvent>,
    ) -> Result<AppendResult, StoreError> {
        validate_batch(&events)?;
        let (reply, answer) = oneshot::channel();
        let request = group::Request::new(stream.clone(), expected, events)?;
        let gone = || StoreError::Unavailable("the SQLite writer has stopped".into());
        self.requests.send(writer::Job { request, reply }).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    async fn read_stream(&self, stream: &StreamName, from: u64, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let Ok(from) = i64::try_from(from) else { return Ok(Vec::new()) };
        if max == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT e.position, s.stream_name, e.revision, e.event_id, e.event_type, e.data, e.metadata,
                    e.recorded_at
               FROM es_events e JOIN es_streams s ON s.stream_id = e.stream_id
              WHERE s.stream_name = ?1 AND e.revision >= ?2
              ORDER BY e.revision
              LIMIT ?3",
        )
        .bind(stream.as_str())
        .bind(from)
        .bind(limit(max))
        .fetch_all(&self.read)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_event).collect()
    }

    async fn read_all(&self, after: Option<Position>, max: usize) -> Result<Vec<RecordedEvent>, StoreError> {
        let after = after.unwrap_or_default();
        // Every position here is (0, n): one with a larger first part is after all of them.
        let (0, Ok(after)) = (after.commit, i64::try_from(after.prepare)) else { return Ok(Vec::new()) };
        if max == 0 {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT e.position, s.stream_name, e.revision, e.event_id, e.event_type, e.data, e.metadata,
                    e.recorded_at
               FROM es_events e JOIN es_streams s ON s.stream_id = e.stream_id
              WHERE e.position > ?1
              ORDER BY e.position
              LIMIT ?2",
        )
        .bind(after)
        .bind(limit(max))
        .fetch_all(&self.read)
        .await
        .map_err(map_err)?;
        rows.iter().map(decode_event).collect()
    }

    fn wake(&self) -> watch::Receiver<u64> {
        self.wake.clone()
    }

    fn backend(&self) -> &'static str {
        "sqlite"
    }
}

fn decode_event(row: &SqliteRow) -> Result<RecordedEvent, StoreError> {
    let text = |name: &str| row.try_get::<String, _>(name).map_err(decode_err);
    let json = |text: &str| {
        serde_json::from_str(text).map_err(|e| StoreError::Backend(format!("stored event is not JSON: {e}")))
    };
    let stream = StreamName::parse(text("stream_name")?).map_err(|e| StoreError::Backend(e.to_string()))?;
    let event_id =
        text("event_id")?.parse().map_err(|e| StoreError::Backend(format!("stored event id is not a UUID: {e}")))?;
    let metadata = match row.try_get::<Option<String>, _>("metadata").map_err(decode_err)? {
        Some(m) => Some(json(&m)?),
        None => None,
    };
    Ok(RecordedEvent {
        stream,
        revision: to_u64(row.try_get("revision").map_err(decode_err)?)?,
        position: Position::new(0, to_u64(row.try_get("position").map_err(decode_err)?)?),
        event_id,
        event_type: text("event_type")?,
        data: json(&text("data")?)?,
        metadata,
        recorded_at: row.try_get::<DateTime<Utc>, _>("recorded_at").map_err(decode_err)?,
    })
}

/// Maps a driver error: a busy or locked database, I/O trouble and a closed pool become
/// [`StoreError::Unavailable`]; everything else is [`StoreError::Backend`].
pub(crate) fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) => {
            // Primary result codes: 5 BUSY, 6 LOCKED, 10 IOERR, 13 FULL, 14 CANTOPEN.
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
            if matches!(code, 5 | 6 | 10 | 13 | 14) {
                StoreError::Unavailable(e.to_string())
            } else {
                StoreError::Backend(e.to_string())
            }
        }
        _ => StoreError::Backend(e.to_string()),
    }
}
