//! The SQLite event store: the conformance suite, each check in a fresh temporary folder, plus what only SQLite
//! has: the group-commit writer answering each caller on its own, a write lock held by another connection, and
//! refusing in-memory databases.

use std::sync::Arc;
use std::time::Duration;

use fiks_digisos::eventstore::conformance::{self, HANG, event, unique_stream};
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::sqlite::{SqliteEventStore, SqlitePools};
use fiks_digisos::eventstore::{DynEventStore, ExpectedRevision, StoreError, SubscriptionOptions, subscribe_all};
use futures::StreamExt;
use sqlx::Connection;
use tempfile::TempDir;

/// A migrated database in a new temporary folder (deleted when the folder is dropped).
async fn fresh() -> (TempDir, String, SqlitePools) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temporary folder: {e}"));
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display());
    let database = Database::connect(&url).await.unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    database.migrate().await.unwrap_or_else(|e| panic!("cannot migrate: {e}"));
    let Database::Sqlite { write, read } = database else { panic!("a sqlite URL must give an SQLite database") };
    (dir, url, SqlitePools { write, read })
}

fn store(pools: &SqlitePools) -> DynEventStore {
    Arc::new(SqliteEventStore::new(pools))
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $check() {
            let (_dir, _url, pools) = fresh().await;
            conformance::$check(async || store(&pools)).await;
        }
    )*};
}

conformance!(
    appended_events_read_back_unchanged,
    expected_revision_is_enforced,
    concurrent_writers_to_one_stream_win_each_revision_once,
    retried_append_returns_original_result_and_writes_nothing,
    partly_repeated_append_is_an_idempotency_conflict,
    invalid_appends_are_refused_and_change_nothing,
    nul_characters_are_refused_alike_and_null_data_is_kept,
    feed_keeps_each_stream_in_revision_order,
    subscribers_miss_nothing_while_writers_commit_out_of_order,
    subscriber_is_woken_by_appends,
);

#[tokio::test]
async fn acknowledged_appends_survive_a_killed_process() {
    let (_dir, url, pools) = fresh().await;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_digisos"));
    conformance::acknowledged_appends_survive_a_killed_process(binary, &url, async || store(&pools)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_append_does_not_fail_the_others_committed_with_it() {
    let (_dir, _url, pools) = fresh().await;
    let store = store(&pools);
    let contested = unique_stream("contested");
    store.append(&contested, ExpectedRevision::NoStream, vec![event("A", 0)]).await.unwrap_or_else(|e| panic!("{e}"));
    // Many appends at once land in the same group: per stream, one Exact(0) can win; every other stream succeeds.
    let mut tasks = Vec::new();
    for n in 0..32 {
        let store = store.clone();
        let contested = contested.clone();
        tasks.push(tokio::spawn(async move {
            if n % 2 == 0 {
                store.append(&contested, ExpectedRevision::Exact(0), vec![event("Race", n)]).await
            } else {
                store.append(&unique_stream("free"), ExpectedRevision::NoStream, vec![event("Free", n)]).await
            }
        }));
    }
    let (mut won, mut refused, mut free) = (0, 0, 0);
    for (n, task) in tasks.into_iter().enumerate() {
        match (n % 2, task.await.unwrap_or_else(|e| panic!("{e}"))) {
            (0, Ok(_)) => won += 1,
            (0, Err(StoreError::WrongExpectedRevision { .. })) => refused += 1,
            (1, Ok(_)) => free += 1,
            (_, other) => panic!("unexpected answer for append {n}: {other:?}"),
        }
    }
    assert_eq!((won, refused, free), (1, 15, 16));
    let stored = store.read_stream(&contested, 0, 100).await.unwrap_or_default();
    assert_eq!(stored.len(), 2, "the winner's event and the first one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_lock_held_elsewhere_delays_appends_and_loses_nothing() {
    let (_dir, url, pools) = fresh().await;
    let store = store(&pools);
    let options = SubscriptionOptions { poll_interval: Duration::from_secs(3600), ..SubscriptionOptions::default() };
    let mut subscription = std::pin::pin!(subscribe_all(store.clone(), None, options));

    // Another process holds the write lock.
    let mut other = sqlx::SqliteConnection::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("BEGIN IMMEDIATE").execute(&mut other).await.unwrap_or_else(|e| panic!("{e}"));
    let stream = unique_stream("waiting");
    let pending = tokio::spawn({
        let (store, stream) = (store.clone(), stream.clone());
        async move { store.append(&stream, ExpectedRevision::NoStream, vec![event("Waiting", 0)]).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pending.is_finished(), "the append waits for the lock (busy timeout)");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap_or_else(|e| panic!("{e}"));

    let appended = tokio::time::timeout(HANG, pending).await;
    let appended = appended.unwrap_or_else(|_| panic!("append hung")).unwrap_or_else(|e| panic!("{e}"));
    let appended = appended.unwrap_or_else(|e| panic!("append failed after the lock was released: {e}"));
    match tokio::time::timeout(HANG, subscription.next()).await {
        Ok(Some(Ok(e))) => assert_eq!(e.position, appended.position),
        other => panic!("the subscriber did not get the delayed append: {other:?}"),
    }
}

#[tokio::test]
async fn events_survive_closing_and_reopening_the_database() {
    let (_dir, url, pools) = fresh().await;
    let stream = unique_stream("reopen");
    {
        let store = store(&pools);
        store
            .append(&stream, ExpectedRevision::NoStream, vec![event("A", 0), event("A", 1)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    pools.write.close().await;
    pools.read.close().await;
    let database = Database::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    database.migrate().await.unwrap_or_else(|e| panic!("migrating again must be a no-op: {e}"));
    let reopened = database.event_store();
    let stored = reopened.read_stream(&stream, 0, 10).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored.len(), 2);
    let next = reopened.append(&stream, ExpectedRevision::Exact(1), vec![event("A", 2)]).await;
    assert!(next.is_ok_and(|r| r.position > stored[1].position), "positions keep growing after a reopen");
}

#[tokio::test]
async fn in_memory_and_unknown_urls_are_refused() {
    for url in ["sqlite::memory:", "sqlite://x.db?mode=memory", "mysql://localhost/x", "nonsense"] {
        assert!(Database::connect(url).await.is_err(), "{url} must be refused");
    }
}

#[tokio::test]
async fn missing_folder_is_created() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a/b/events.db").display());
    let database = Database::connect(&url).await.unwrap_or_else(|e| panic!("{e}"));
    database.migrate().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(dir.path().join("a/b/events.db").exists());
}

/// Rough append throughput at 1, 8 and 32 concurrent writers (run with `--ignored --nocapture`; not a check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn append_throughput_by_concurrent_writers() {
    let (_dir, _url, pools) = fresh().await;
    let store = store(&pools);
    for writers in [1, 8, 32] {
        let rate = conformance::measure_append_rate(&store, writers, Duration::from_secs(3)).await;
        println!("sqlite: {writers:>2} writers: {rate:>8.0} appends/s");
    }
}
