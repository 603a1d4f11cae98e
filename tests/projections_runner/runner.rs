//! The runner's own guarantees, with a projection that records each application as a row.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use digisos_projections::Projection;
use fiks_digisos::eventstore::{NewEvent, Position};
use fiks_digisos::projection_runner::{BuildStatus, ProjectionLag, ProjectionRunner};
use serde_json::json;

use super::fixtures::{BOOM, Counting};
use super::support::*;

fn start(db: &TestDb, projection: Arc<Counting>) -> ProjectionRunner {
    let projections: Vec<Arc<dyn Projection>> = vec![projection];
    ProjectionRunner::start(db.store.clone(), db.database.clone(), projections, options())
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn event(db: &TestDb, event_type: &str) -> Position {
    append(&db.store, "test-1", NewEvent::new(event_type, json!({}))).await
}

async fn active_lag(runner: &ProjectionRunner) -> Option<ProjectionLag> {
    runner.lag_report().await.into_iter().find(|l| l.status == Some(BuildStatus::Active))
}

pub async fn failed_apply_commits_neither_its_rows_nor_the_checkpoint(backend: Backend) {
    let db = TestDb::new(backend).await;
    Counting::create_table(&db.database).await;
    let counting = Counting::new(1);
    counting.fail.store(true, Ordering::SeqCst);
    let runner = start(&db, counting.clone());
    let first = event(&db, "A.v1").await;
    runner.wait_for("counting", first, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));

    // One append of three events: the runner reads them as one batch, which writes three rows and then fails.
    let stream = fiks_digisos::eventstore::StreamName::parse("test-1").unwrap_or_else(|e| panic!("{e}"));
    let batch =
        vec![NewEvent::new("B.v1", json!({})), NewEvent::new("C.v1", json!({})), NewEvent::new(BOOM, json!({}))];
    let appended = db.store.append(&stream, fiks_digisos::eventstore::ExpectedRevision::Any, batch).await;
    let boom = appended.unwrap_or_else(|e| panic!("{e}")).position;

    let lag = eventually("the failure to be reported", || async {
        active_lag(&runner).await.filter(|l| l.failure.as_ref().is_some_and(|f| f.attempts >= 2))
    })
    .await;
    let failure = lag.failure.clone().unwrap_or_else(|| panic!("a failure"));
    assert_eq!(failure.position, Some(boom));
    // The failed batch's rows were rolled back with its checkpoint; its two good events were then applied one by
    // one, exactly once each; the failing event's own row (written before it failed) is not there.
    assert_eq!(Counting::count(&db.database, 1).await, (3, 3), "rows of A, B and C only, each once");
    assert_eq!(lag.applied, 3);
    assert!(lag.checkpoint < boom && lag.events_behind == 1, "{lag:?}");

    counting.fail.store(false, Ordering::SeqCst);
    runner.wait_for("counting", boom, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Counting::count(&db.database, 1).await, (4, 4));
    let lag = active_lag(&runner).await.unwrap_or_else(|| panic!("an active version"));
    assert!(lag.failure.is_none() && lag.applied == 4 && lag.checkpoint == boom, "{lag:?}");
    runner.shutdown().await;
    db.close().await;
}

/// A projection far behind catches up in full batches, reading each next batch while applying the last
/// (`RunnerOptions::burst`): every event is still applied exactly once, each batch in its own transaction, and a
/// batch that fails in the middle of such a run stops it with the batches before it kept.
pub async fn catching_up_in_full_batches_applies_each_event_once_and_stops_at_a_failing_batch(backend: Backend) {
    let db = TestDb::new(backend).await;
    Counting::create_table(&db.database).await;
    let stream = fiks_digisos::eventstore::StreamName::parse("test-1").unwrap_or_else(|e| panic!("{e}"));
    // 40 events, the 23rd a poison one, all there before the runner starts: batches of 4 are full all the way.
    let events: Vec<NewEvent> =
        (1..=40).map(|i| NewEvent::new(if i == 23 { BOOM } else { "Tick.v1" }, json!({ "i": i }))).collect();
    let appended = db.store.append(&stream, fiks_digisos::eventstore::ExpectedRevision::Any, events).await;
    let last = appended.unwrap_or_else(|e| panic!("{e}")).position;
    let counting = Counting::new(1);
    counting.fail.store(true, Ordering::SeqCst);
    let mut options = options();
    options.batch_size = 4;
    options.burst = Duration::from_secs(30);
    let projections: Vec<Arc<dyn Projection>> = vec![counting.clone()];
    let runner = ProjectionRunner::start(db.store.clone(), db.database.clone(), projections, options)
        .unwrap_or_else(|e| panic!("{e}"));

    let lag = eventually("the failure to be reported", || async {
        active_lag(&runner).await.filter(|l| l.failure.as_ref().is_some_and(|f| f.attempts >= 2))
    })
    .await;
    // Batches 1–5 (events 1–20) were applied during the run; the sixth (21–24) failed and was then isolated one
    // event at a time: 21 and 22 applied, 23 refused. Nothing after it, nothing twice.
    assert_eq!(Counting::count(&db.database, 1).await, (22, 22), "events 1–22, each once");
    assert_eq!((lag.applied, lag.events_behind), (22, 18), "{lag:?}");

    counting.fail.store(false, Ordering::SeqCst);
    runner.wait_for("counting", last, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Counting::count(&db.database, 1).await, (40, 40), "every event applied exactly once");
    let lag = active_lag(&runner).await.unwrap_or_else(|| panic!("an active version"));
    assert!(lag.failure.is_none() && lag.applied == 40 && lag.checkpoint == last, "{lag:?}");
    runner.shutdown().await;
    db.close().await;
}

pub async fn only_one_of_two_instances_leads_and_the_other_takes_over_without_reapplying(backend: Backend) {
    let db = TestDb::new(backend).await;
    Counting::create_table(&db.database).await;
    let projections = |_: ()| -> Vec<Arc<dyn Projection>> { vec![Counting::new(1)] };
    let (db_a, store_a) = db.another_instance().await;
    let (db_b, store_b) = db.another_instance().await;
    let a =
        ProjectionRunner::start(store_a, db_a.clone(), projections(()), options()).unwrap_or_else(|e| panic!("{e}"));
    let b =
        ProjectionRunner::start(store_b, db_b.clone(), projections(()), options()).unwrap_or_else(|e| panic!("{e}"));
    eventually("one instance to lead", || async {
        (a.is_leading("counting") || b.is_leading("counting")).then_some(())
    })
    .await;
    assert!(!(a.is_leading("counting") && b.is_leading("counting")), "both instances lead");
    let ((leader, leader_db), (standby, standby_db)) =
        if a.is_leading("counting") { ((a, db_a), (b, db_b)) } else { ((b, db_b), (a, db_a)) };

    let mut last = Position::default();
    for _ in 0..10 {
        last = event(&db, "Tick.v1").await;
    }
    // The standby sees the leader's progress through the database.
    standby.wait_for("counting", last, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(!standby.is_leading("counting"), "the standby stood by while the leader lived");
    let lag = active_lag(&standby).await.unwrap_or_else(|| panic!("an active version"));
    assert_eq!(lag.leader.as_deref(), Some(leader.instance()));

    drop(leader);
    leader_db.close().await;
    for _ in 0..10 {
        last = event(&db, "Tick.v1").await;
    }
    eventually("the standby to take over", || async { standby.is_leading("counting").then_some(()) }).await;
    standby.wait_for("counting", last, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(Counting::count(&db.database, 1).await, (20, 20), "every event applied exactly once");
    let lag = active_lag(&standby).await.unwrap_or_else(|| panic!("an active version"));
    assert_eq!((lag.applied, lag.leader.as_deref()), (20, Some(standby.instance())));
    standby.shutdown().await;
    standby_db.close().await;
    db.close().await;
}

pub async fn raising_the_logic_version_rebuilds_and_deletes_the_old_version(backend: Backend) {
    let db = TestDb::new(backend).await;
    Counting::create_table(&db.database).await;
    let old = start(&db, Counting::new(1));
    let mut last = Position::default();
    for _ in 0..5 {
        last = event(&db, "Tick.v1").await;
    }
    old.wait_for("counting", last, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    old.shutdown().await;

    let new = start(&db, Counting::new(2));
    let lag = eventually("version 2 to be built and switched in", || async {
        active_lag(&new).await.filter(|l| l.version == Some(2))
    })
    .await;
    assert_eq!((lag.applied, lag.checkpoint), (5, last));
    assert_eq!(Counting::count(&db.database, 2).await, (5, 5));
    eventually("version 1's rows to be deleted", || async {
        (Counting::count(&db.database, 1).await == (0, 0)).then_some(())
    })
    .await;
    new.shutdown().await;
    db.close().await;
}

pub async fn open_write_transaction_holding_the_feed_back_is_reported_in_lag() {
    let db = TestDb::new(Backend::Postgres).await;
    Counting::create_table(&db.database).await;
    let runner = start(&db, Counting::new(1));
    let first = event(&db, "Tick.v1").await;
    runner.wait_for("counting", first, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));

    let fiks_digisos::eventstore::open::Database::Postgres(pool) = &db.database else { unreachable!() };
    let mut blocker = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("CREATE TABLE blocker (x int)").execute(&mut *blocker).await.unwrap_or_else(|e| panic!("{e}"));
    let held = event(&db, "Tick.v1").await;

    let lag = eventually("the open transaction to show in the lag report", || async {
        active_lag(&runner).await.filter(|l| l.held_back_by_open_transaction)
    })
    .await;
    assert_eq!((lag.events_behind, lag.checkpoint), (1, first));
    assert!(lag.oldest_open_transaction.is_some(), "{lag:?}");
    // While the transaction stays open the event cannot be projected (it could be overtaken).
    let waited = runner.wait_for("counting", held, Duration::from_millis(100)).await;
    assert!(waited.is_err(), "{waited:?}");

    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    runner.wait_for("counting", held, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    let lag = active_lag(&runner).await.unwrap_or_else(|| panic!("an active version"));
    assert!(!lag.held_back_by_open_transaction && lag.events_behind == 0, "{lag:?}");
    runner.shutdown().await;
    db.close().await;
}
