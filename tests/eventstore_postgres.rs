//! The PostgreSQL event store: the conformance suite, each check on a fresh database, plus what only PostgreSQL
//! has: the transaction-id horizon (an open transaction holds the feed back, never makes it skip), per-stream
//! locking (no global lock), cross-process wake-ups through LISTEN/NOTIFY, and appends inside a caller's
//! transaction.

use std::sync::Arc;
use std::time::Duration;

use fiks_digisos::eventstore::conformance::{self, HANG, event, feed_end, unique_stream};
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::eventstore::postgres::{PgEventStore, append_in_transaction};
use fiks_digisos::eventstore::{DynEventStore, ExpectedRevision, StoreError, SubscriptionOptions, subscribe_all};
use fiks_digisos::testkit::FreshPostgres;
use futures::StreamExt;
use sqlx::PgPool;

/// A fresh, migrated database and a pool on it.
async fn fresh() -> (FreshPostgres, PgPool) {
    let db = FreshPostgres::create().await.unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
    let database = Database::connect(db.url()).await.unwrap_or_else(|e| panic!("cannot connect: {e}"));
    database.migrate().await.unwrap_or_else(|e| panic!("cannot migrate: {e}"));
    let Database::Postgres(pool) = database else { panic!("a postgres URL must give a PostgreSQL database") };
    (db, pool)
}

fn store(pool: &PgPool) -> DynEventStore {
    Arc::new(PgEventStore::new(pool.clone()))
}

macro_rules! conformance {
    ($($check:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $check() {
            let (db, pool) = fresh().await;
            conformance::$check(async || store(&pool)).await;
            pool.close().await;
            db.drop().await;
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
    subscriber_is_woken_by_appends,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn subscribers_miss_nothing_while_writers_commit_out_of_order() {
    let (db, pool) = fresh().await;
    // Each append lingers up to 20 ms inside its transaction, so commits finish out of sequence order.
    let slow = async || {
        let store: DynEventStore =
            Arc::new(PgEventStore::new(pool.clone()).with_append_delay(Duration::from_millis(20)));
        store
    };
    conformance::subscribers_miss_nothing_while_writers_commit_out_of_order(slow).await;
    pool.close().await;
    db.drop().await;
}

#[tokio::test]
async fn acknowledged_appends_survive_a_killed_process() {
    let (db, pool) = fresh().await;
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_digisos"));
    conformance::acknowledged_appends_survive_a_killed_process(binary, db.url(), async || store(&pool)).await;
    pool.close().await;
    db.drop().await;
}

/// Appends on a separate connection, inside a transaction left open until `finish` (commit or roll back).
async fn open_transaction_with_append(
    pool: &PgPool,
    stream: &fiks_digisos::eventstore::StreamName,
) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("begin failed: {e}"));
    append_in_transaction(&mut tx, stream, ExpectedRevision::NoStream, vec![event("Held", 0)])
        .await
        .unwrap_or_else(|e| panic!("append in transaction failed: {e}"));
    tx
}

async fn open_write_transaction_holds_the_feed_back(commit: bool) {
    let (db, pool) = fresh().await;
    let store = store(&pool);
    let before = store.append(&unique_stream("before"), ExpectedRevision::Any, vec![event("Before", 0)]).await;
    let before = before.unwrap_or_else(|e| panic!("append failed: {e}")).position;
    let options = SubscriptionOptions { poll_interval: Duration::from_secs(3600), ..SubscriptionOptions::default() };
    let mut subscription = Box::pin(subscribe_all(store.clone(), Some(before), options));

    let held_stream = unique_stream("held");
    let held = open_transaction_with_append(&pool, &held_stream).await;
    let later = unique_stream("later");
    let mut later_positions = Vec::new();
    for n in 0..3 {
        let result = store.append(&later, ExpectedRevision::Any, vec![event("Later", n)]).await;
        later_positions.push(result.unwrap_or_else(|e| panic!("append elsewhere failed: {e}")).position);
    }
    // Committed, but behind the open transaction: not readable yet, by anyone.
    assert!(store.read_all(Some(before), 100).await.is_ok_and(|b| b.is_empty()), "the feed must stall");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), subscription.next()).await.is_err(),
        "the subscriber must not get past the open transaction"
    );

    if commit {
        held.commit().await.unwrap_or_else(|e| panic!("commit failed: {e}"));
    } else {
        held.rollback().await.unwrap_or_else(|e| panic!("rollback failed: {e}"));
    }
    let mut seen = Vec::new();
    while seen.len() < 3 + usize::from(commit) {
        match tokio::time::timeout(HANG, subscription.next()).await {
            Ok(Some(Ok(e))) => seen.push(e),
            other => panic!("the subscriber did not resume: {other:?}"),
        }
    }
    let streams: Vec<_> = seen.iter().map(|e| e.stream.as_str().to_owned()).collect();
    let mut expected = vec![later.to_string(); 3];
    if commit {
        // The open transaction got its id first, so its event comes first in the feed.
        expected.insert(0, held_stream.to_string());
    }
    assert_eq!(streams, expected, "everything committed arrives, in (tx, seq) order");
    assert_eq!(seen.last().map(|e| e.position), later_positions.last().copied());
    drop(subscription);
    pool.close().await;
    db.drop().await;
}

#[tokio::test]
async fn open_write_transaction_stalls_the_feed_which_resumes_without_loss_on_commit() {
    open_write_transaction_holds_the_feed_back(true).await;
}

#[tokio::test]
async fn rolled_back_append_stalls_the_feed_only_while_open() {
    open_write_transaction_holds_the_feed_back(false).await;
}

#[tokio::test]
async fn append_to_another_stream_completes_while_a_transaction_holds_one() {
    let (db, pool) = fresh().await;
    let store = store(&pool);
    let busy = unique_stream("busy");
    let held = open_transaction_with_append(&pool, &busy).await;
    // No global lock: another stream is appended to while `busy` is locked.
    let free = unique_stream("free");
    let other = store.append(&free, ExpectedRevision::NoStream, vec![event("Free", 0)]);
    let other = tokio::time::timeout(HANG, other).await;
    other.unwrap_or_else(|_| panic!("blocked by another stream's append")).unwrap_or_else(|e| panic!("{e}"));
    // The same stream waits for the lock, then sees the committed revision.
    let same = tokio::spawn({
        let (store, busy) = (store.clone(), busy.clone());
        async move { store.append(&busy, ExpectedRevision::NoStream, vec![event("Late", 1)]).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!same.is_finished(), "an append to a locked stream waits for the lock");
    held.commit().await.unwrap_or_else(|e| panic!("commit failed: {e}"));
    match tokio::time::timeout(HANG, same).await {
        Ok(Ok(Err(StoreError::WrongExpectedRevision { current: Some(0), .. }))) => {}
        other => panic!("the waiting append must see the committed stream: {other:?}"),
    }
    pool.close().await;
    db.drop().await;
}

#[tokio::test]
async fn subscriber_in_another_process_is_woken_through_notify() {
    let (db, pool) = fresh().await;
    // Two stores on two pools stand for two processes: only NOTIFY connects them.
    let other_pool = PgEventStore::connect_pool(db.url()).await.unwrap_or_else(|e| panic!("{e}"));
    let (reader, writer) = (store(&pool), store(&other_pool));
    let options = SubscriptionOptions { poll_interval: Duration::from_secs(3600), ..SubscriptionOptions::default() };
    let start = feed_end(&reader).await;
    let mut subscription = Box::pin(subscribe_all(reader.clone(), start, options));
    let stream = unique_stream("remote");
    for n in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let appended = writer.append(&stream, ExpectedRevision::Any, vec![event("Remote", n)]).await;
        let appended = appended.unwrap_or_else(|e| panic!("append failed: {e}"));
        match tokio::time::timeout(HANG, subscription.next()).await {
            Ok(Some(Ok(e))) => assert_eq!(e.position, appended.position),
            other => panic!("the other process' subscriber was not woken: {other:?}"),
        }
    }
    drop(subscription);
    other_pool.close().await;
    pool.close().await;
    db.drop().await;
}

#[tokio::test]
async fn append_after_another_write_in_the_same_transaction_is_refused() {
    let (db, pool) = fresh().await;
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let first = append_in_transaction(&mut tx, &unique_stream("one"), ExpectedRevision::Any, vec![event("A", 0)]).await;
    assert!(first.is_ok(), "the first append of a transaction is allowed: {first:?}");
    let second =
        append_in_transaction(&mut tx, &unique_stream("two"), ExpectedRevision::Any, vec![event("B", 0)]).await;
    assert!(matches!(second, Err(StoreError::Backend(_))), "a second stream in one transaction is refused: {second:?}");
    drop(tx);
    pool.close().await;
    db.drop().await;
}

#[tokio::test]
async fn unreachable_server_is_reported_as_unavailable() {
    let refused = PgEventStore::connect_pool("postgres://postgres@127.0.0.1:1/postgres").await;
    assert!(matches!(refused, Err(StoreError::Unavailable(_))), "{refused:?}");

    let (db, pool) = fresh().await;
    let store = store(&pool);
    pool.close().await;
    let closed = store.append(&unique_stream("closed"), ExpectedRevision::Any, vec![event("A", 0)]).await;
    assert!(matches!(closed, Err(StoreError::Unavailable(_))), "{closed:?}");
    let read = store.read_all(None, 10).await;
    assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    db.drop().await;
}

#[tokio::test]
async fn position_beyond_the_backend_range_is_refused() {
    let (db, pool) = fresh().await;
    let store = store(&pool);
    let far = fiks_digisos::eventstore::Position::new(u64::MAX, 0);
    assert!(matches!(store.read_all(Some(far), 10).await, Err(StoreError::InvalidPosition { .. })));
    pool.close().await;
    db.drop().await;
}

/// Rough append throughput at 1, 8 and 32 concurrent writers (run with `--ignored --nocapture`; not a check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn append_throughput_by_concurrent_writers() {
    let (db, pool) = fresh().await;
    let pool_for_32 = sqlx::postgres::PgPoolOptions::new()
        .max_connections(40)
        .connect_with(PgEventStore::connect_options(db.url()).unwrap_or_else(|e| panic!("{e}")))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let store = store(&pool_for_32);
    for writers in [1, 8, 32] {
        let rate = conformance::measure_append_rate(&store, writers, Duration::from_secs(5)).await;
        println!("postgres: {writers:>2} writers: {rate:>8.0} appends/s");
    }
    pool_for_32.close().await;
    pool.close().await;
    db.drop().await;
}

/// `es_append_group` (group commit) decides each append of a group alone, in order, with the single append's rules.
#[tokio::test]
async fn group_function_decides_each_append_alone_in_order() {
    let (db, pool) = fresh().await;
    let ids: Vec<uuid::Uuid> = (0..4).map(|_| uuid::Uuid::new_v4()).collect();
    let group = |streams: Vec<&'static str>, kinds: Vec<&'static str>, revisions: Vec<i64>, ids: Vec<uuid::Uuid>| {
        let n = streams.len();
        sqlx::query_as::<_, (i32, String, Option<i64>, Option<i64>)>(
            "SELECT idx, outcome, current_revision, last_revision
               FROM es_append_group($1, $2, $3, $4, $5, $6, $7) ORDER BY idx",
        )
        .bind(streams)
        .bind(kinds)
        .bind(revisions)
        .bind(ids)
        .bind(vec!["Grouped.v1"; n])
        .bind(vec![serde_json::json!({"n": 1}); n])
        .bind(vec![None::<serde_json::Value>; n])
        .fetch_all(&pool)
    };
    let answers = group(
        vec!["g-a", "g-a", "g-b", "g-c", "g-a"],
        vec!["no_stream", "exact", "exact", "any", "any"],
        vec![0, 0, 5, 0, 0],
        vec![ids[0], ids[1], ids[2], ids[3], ids[0]],
    )
    .await
    .unwrap_or_else(|e| panic!("es_append_group: {e}"));
    let outcome = |(i, o, c, l): &(i32, String, Option<i64>, Option<i64>)| (*i, o.clone(), *c, *l);
    let answers: Vec<_> = answers.iter().map(outcome).collect();
    assert_eq!(
        answers,
        vec![
            (1, "appended".to_string(), None, Some(0)),
            (2, "appended".to_string(), Some(0), Some(1)),
            (3, "wrong_expected_revision".to_string(), None, None),
            (4, "appended".to_string(), None, Some(0)),
            (5, "duplicate".to_string(), Some(1), Some(0)),
        ],
        "the second append sees the first one's event; the refused one does not stop the rest; a repeated id is a duplicate"
    );
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT s.stream_name, e.revision FROM es_events e JOIN es_streams s USING (stream_id) ORDER BY e.tx, e.seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stored, vec![("g-a".into(), 0), ("g-a".into(), 1), ("g-c".into(), 0)]);

    // A retry of the whole group writes nothing more and answers each append as before (or as duplicate).
    let retried = group(
        vec!["g-a", "g-a", "g-c"],
        vec!["no_stream", "exact", "any"],
        vec![0, 0, 0],
        vec![ids[0], ids[1], ids[3]],
    )
    .await
    .unwrap_or_else(|e| panic!("es_append_group: {e}"));
    let kinds: Vec<String> = retried.iter().map(|r| r.1.clone()).collect();
    assert_eq!(kinds, ["duplicate", "duplicate", "duplicate"]);
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM es_events").fetch_one(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count, 3);
    pool.close().await;
    db.drop().await;
}

/// An append the database refuses fails alone even when it was committed in a group with others: the group's
/// statement fails, and its appends are run one by one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_append_the_database_refuses_fails_alone_within_a_group() {
    let (db, pool) = fresh().await;
    // A real refusal by the server, for one event type only.
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'poison refused'; END $$;
         CREATE TRIGGER refuse_poison BEFORE INSERT ON es_events FOR EACH ROW
           WHEN (NEW.event_type = 'Poison.v1') EXECUTE FUNCTION refuse_poison();",
    )
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let store = store(&pool);
    for wave in 0..5u64 {
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..32u64 {
            let store = store.clone();
            tasks.spawn(async move {
                let stream = unique_stream(&format!("wave{wave}-w{writer}"));
                let event = if writer == 7 {
                    fiks_digisos::eventstore::NewEvent::new("Poison.v1", serde_json::json!({"n": writer}))
                } else {
                    event("Good", writer)
                };
                (writer, store.append(&stream, ExpectedRevision::NoStream, vec![event]).await)
            });
        }
        while let Some(done) = tasks.join_next().await {
            let (writer, result) = done.unwrap_or_else(|e| panic!("{e}"));
            if writer == 7 {
                assert!(matches!(result, Err(StoreError::Backend(ref m)) if m.contains("poison")), "{result:?}");
            } else {
                assert!(result.is_ok(), "writer {writer} of wave {wave}: {result:?}");
            }
        }
    }
    let count: i64 =
        sqlx::query_scalar("SELECT count(*) FROM es_events").fetch_one(&pool).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(count, 5 * 31, "every other append is stored once");
    pool.close().await;
    db.drop().await;
}
