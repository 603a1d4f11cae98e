//! The PostgreSQL half of the append benchmark: raw single-row INSERTs against our append, per writer count.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::types::Json;
use uuid::Uuid;

use super::{EVENT_TYPE, PgFigures, PgRow, new_event, payload, slot, stream_name};
use crate::load::{Measurement, Sample, closed_loop};
use crate::scratch::ScratchPostgres;
use fiks_digisos::eventstore::EventStore;
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::postgres::PgEventStore;

/// The longest the set-up (migrations, pool, table) may take.
const SETUP_TIMEOUT: Duration = Duration::from_secs(120);

/// Creates a scratch database on `server`, measures, and drops the database again (also on failure or Ctrl-C).
pub(super) async fn run(
    server: &str,
    writers: &[usize],
    warmup: Duration,
    window: Duration,
) -> Result<PgFigures, String> {
    let scratch = ScratchPostgres::create(server).await?;
    let outcome = tokio::select! {
        outcome = measure(scratch.url(), writers, warmup, window) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let dropped = scratch.drop().await;
    let figures = outcome?;
    dropped.map(|()| figures)
}

async fn measure(url: &str, writers: &[usize], warmup: Duration, window: Duration) -> Result<PgFigures, String> {
    let (pool, server) = tokio::time::timeout(SETUP_TIMEOUT, set_up(url, writers))
        .await
        .map_err(|_| format!("PostgreSQL set-up took longer than {SETUP_TIMEOUT:?}"))??;
    // The store's own wake-up tasks (NOTIFY after commits, LISTEN) run as they do in the service.
    let store = Arc::new(PgEventStore::new(pool.clone()));
    let mut rows = Vec::new();
    for (level, &count) in writers.iter().enumerate() {
        // Raw, append, append, raw: drift during the run (autovacuum, checkpoints, neighbours) affects both alike.
        let half = window / 2;
        let tag = |segment: usize| level * 4 + segment;
        let (raw_failed, append_failed) =
            (|e| format!("raw INSERT, {count} writers: {e}"), |e| format!("append, {count} writers: {e}"));
        let (raw_a, raw_wal_a) = with_wal(&pool, closed_loop(count, warmup, half, raw_op(pool.clone(), tag(0)))).await;
        let (ours_a, ours_wal_a) =
            with_wal(&pool, closed_loop(count, warmup, half, append_op(store.clone(), tag(1)))).await;
        let (ours_b, ours_wal_b) =
            with_wal(&pool, closed_loop(count, warmup, half, append_op(store.clone(), tag(2)))).await;
        let (raw_b, raw_wal_b) = with_wal(&pool, closed_loop(count, warmup, half, raw_op(pool.clone(), tag(3)))).await;
        let (raw_a, raw_b) = (raw_a.map_err(raw_failed)?, raw_b.map_err(raw_failed)?);
        let (ours_a, ours_b) = (ours_a.map_err(append_failed)?, ours_b.map_err(append_failed)?);
        let per_event = |wal: i64, samples: [&Sample; 2]| {
            wal as f64 / samples.iter().map(|s| s.completed).sum::<u64>().max(1) as f64
        };
        let row = PgRow {
            raw_wal_bytes: per_event(raw_wal_a + raw_wal_b, [&raw_a, &raw_b]),
            append_wal_bytes: per_event(ours_wal_a + ours_wal_b, [&ours_a, &ours_b]),
            raw: Measurement::of(&[raw_a, raw_b]),
            append: Measurement::of(&[ours_a, ours_b]),
        };
        let (raw, ours) = (row.raw, row.append);
        eprintln!("  {count:>3} writers: raw {:>8.0}/s, append {:>8.0}/s", raw.per_second(), ours.per_second());
        rows.push(row);
    }
    drop(store);
    pool.close().await;
    Ok(PgFigures { server, rows })
}

/// Migrates the scratch database, creates the raw table, and opens one pool with a connection per writer (plus
/// two for the store's wake-up tasks), all connected before measuring.
async fn set_up(url: &str, writers: &[usize]) -> Result<(PgPool, String), String> {
    let database = Database::connect(url).await.map_err(|e| e.to_string())?;
    database.migrate().await.map_err(|e| e.to_string())?;
    database.close().await;

    let size = u32::try_from(writers.iter().copied().max().unwrap_or(1)).unwrap_or(u32::MAX).saturating_add(2);
    let options = PgEventStore::connect_options(url).map_err(|e| e.to_string())?;
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|e| format!("cannot connect a pool of {size}: {e}"))?;
    let sql = |e: sqlx::Error| e.to_string();
    sqlx::query("CREATE TABLE bench_raw (LIKE es_events INCLUDING ALL)").execute(&pool).await.map_err(sql)?;
    let mut held = Vec::new();
    for _ in 0..size {
        held.push(pool.acquire().await.map_err(sql)?);
    }
    drop(held);

    let (version, fsync, sync_commit, ssl): (String, String, String, Option<bool>) = sqlx::query_as(
        "SELECT current_setting('server_version'), current_setting('fsync'), current_setting('synchronous_commit'), \
                (SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    )
    .fetch_one(&pool)
    .await
    .map_err(sql)?;
    // Creating the database wrote a lot; start from a finished checkpoint rather than in the middle of one (needs
    // superuser or pg_checkpoint; without it the ABBA order still spreads the effect over both sides).
    let _ = sqlx::query("CHECKPOINT").execute(&pool).await;
    let tls = if ssl == Some(true) { "TLS" } else { "no TLS" };
    let server = format!(
        "PostgreSQL {version} on the same machine · fsync {fsync} · synchronous_commit {sync_commit} · {tls} on the \
         connection"
    );
    Ok((pool, server))
}

/// Runs `work` and returns how many bytes of WAL the server wrote meanwhile (0 if it cannot tell).
async fn with_wal<T>(pool: &PgPool, work: impl Future<Output = T>) -> (T, i64) {
    let before = wal_position(pool).await;
    let outcome = work.await;
    let written = match (before, wal_position(pool).await) {
        (Some(before), Some(after)) => after - before,
        _ => 0,
    };
    (outcome, written)
}

async fn wal_position(pool: &PgPool) -> Option<i64> {
    sqlx::query_scalar("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").fetch_one(pool).await.ok()
}

/// Writer `caller`'s `n`-th raw INSERT, in measurement segment `tag`.
fn raw_op(
    pool: PgPool,
    tag: usize,
) -> impl Fn(usize, u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static {
    move |caller, n| {
        let pool = pool.clone();
        Box::pin(async move { raw_insert(&pool, tag, caller, n).await })
    }
}

/// Writer `caller`'s `n`-th append, in measurement segment `tag`.
fn append_op(
    store: Arc<PgEventStore>,
    tag: usize,
) -> impl Fn(usize, u64) -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static {
    move |caller, n| {
        let store = store.clone();
        Box::pin(async move {
            let (k, _, expected) = slot(n);
            let stream = stream_name(tag, caller, k)?;
            store.append(&stream, expected, vec![new_event(caller, n)]).await.map(|_| ()).map_err(|e| e.to_string())
        })
    }
}

/// One event as one plain autocommit INSERT: the same row our append writes, without the stream bookkeeping.
async fn raw_insert(pool: &PgPool, tag: usize, caller: usize, n: u64) -> Result<(), String> {
    let (k, revision, _) = slot(n);
    // One stream id per (segment, writer, stream), as our append's streams.
    let stream_id = (i64::try_from(tag).unwrap_or(0) << 40) | (i64::try_from(caller).unwrap_or(0) << 24) | k as i64;
    let (data, metadata) = payload(caller, n);
    sqlx::query(
        "INSERT INTO bench_raw (stream_id, revision, event_id, event_type, data, metadata) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(stream_id)
    .bind(revision as i64)
    .bind(Uuid::now_v7())
    .bind(EVENT_TYPE)
    .bind(Json(data))
    .bind(Json(metadata))
    .execute(pool)
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}
