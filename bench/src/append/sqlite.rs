//! The SQLite half of the append benchmark: our append (group commit) per caller count, and a raw INSERT.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use super::{EVENT_TYPE, SqliteFigures, new_event, payload, slot, stream_name};
use crate::load::{Measurement, closed_loop};
use crate::scratch::ScratchSqlite;
use fiks_digisos::eventstore::open::Database;

/// The longest the set-up (migrations) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Measures in a scratch folder and removes it again (also on failure or Ctrl-C).
pub(super) async fn run(callers: &[usize], warmup: Duration, window: Duration) -> Result<SqliteFigures, String> {
    let scratch = ScratchSqlite::create().await?;
    let outcome = tokio::select! {
        outcome = measure(&scratch, callers, warmup, window) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let removed = scratch.drop().await;
    let figures = outcome?;
    removed.map(|()| figures)
}

async fn measure(
    scratch: &ScratchSqlite,
    callers: &[usize],
    warmup: Duration,
    window: Duration,
) -> Result<SqliteFigures, String> {
    let database = tokio::time::timeout(SETUP_TIMEOUT, async {
        let database = Database::connect(&scratch.url("events.db")).await.map_err(|e| e.to_string())?;
        database.migrate().await.map_err(|e| e.to_string())?;
        Ok::<_, String>(database)
    })
    .await
    .map_err(|_| format!("SQLite set-up took longer than {SETUP_TIMEOUT:?}"))??;
    let store = database.event_store();
    let mut appends = Vec::new();
    for (level, &count) in callers.iter().enumerate() {
        let appender = store.clone();
        let measured = closed_loop(count, warmup, window, move |caller, n| {
            let store = appender.clone();
            async move {
                let (k, _, expected) = slot(n);
                let stream = stream_name(level, caller, k)?;
                store.append(&stream, expected, vec![new_event(caller, n)]).await.map(|_| ()).map_err(|e| e.to_string())
            }
        })
        .await
        .map(|sample| Measurement::of(&[sample]))
        .map_err(|e| format!("SQLite append, {count} callers: {e}"))?;
        eprintln!("  {count:>3} callers: append {:>8.0}/s", measured.per_second());
        appends.push(measured);
    }
    drop(store);
    database.close().await;

    let (raw, version) = raw_inserts(&scratch.url("raw.db"), warmup, window).await?;
    let folder = scratch.folder().parent().unwrap_or(scratch.folder());
    let settings = format!(
        "SQLite {version} · WAL · synchronous=FULL · files under {} (its file system decides the cost of a commit)",
        folder.display()
    );
    Ok(SqliteFigures { appends, raw, settings })
}

/// One connection inserting one row per transaction into a table shaped like `es_events`.
async fn raw_inserts(url: &str, warmup: Duration, window: Duration) -> Result<(Measurement, String), String> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| e.to_string())?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.map_err(|e| e.to_string())?;
    sqlx::query(
        "CREATE TABLE bench_raw (
             position    INTEGER PRIMARY KEY AUTOINCREMENT,
             stream_id   INTEGER NOT NULL,
             revision    INTEGER NOT NULL,
             event_id    TEXT    NOT NULL,
             event_type  TEXT    NOT NULL,
             data        TEXT    NOT NULL,
             metadata    TEXT,
             recorded_at TEXT    NOT NULL,
             UNIQUE (stream_id, revision),
             UNIQUE (stream_id, event_id)
         ) STRICT",
    )
    .execute(&pool)
    .await
    .map_err(|e| e.to_string())?;
    let version: String =
        sqlx::query_scalar("SELECT sqlite_version()").fetch_one(&pool).await.map_err(|e| e.to_string())?;
    let inserter = pool.clone();
    let measured = closed_loop(1, warmup, window, move |caller, n| {
        let pool = inserter.clone();
        async move { raw_insert(&pool, caller, n).await }
    })
    .await
    .map(|sample| Measurement::of(&[sample]))
    .map_err(|e| format!("SQLite raw INSERT: {e}"))?;
    pool.close().await;
    Ok((measured, version))
}

async fn raw_insert(pool: &SqlitePool, caller: usize, n: u64) -> Result<(), String> {
    let (k, revision, _) = slot(n);
    let (data, metadata) = payload(caller, n);
    sqlx::query(
        "INSERT INTO bench_raw (stream_id, revision, event_id, event_type, data, metadata, recorded_at) \
         VALUES (?, ?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
    )
    .bind(k as i64)
    .bind(revision as i64)
    .bind(Uuid::now_v7().to_string())
    .bind(EVENT_TYPE)
    .bind(data.to_string())
    .bind(metadata.to_string())
    .execute(pool)
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}
