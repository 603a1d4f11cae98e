//! Rebuilding the kommune model without downtime: readers keep getting the whole live model while the next
//! version is built beside it, the live model keeps following the log, and the rebuilt version equals the live
//! one row for row when readers are switched to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use digisos_projections::kommune;
use fiks_digisos::projection_runner::{BuildStatus, ProjectionLag, ProjectionRunner, read_db};

use super::fixtures::{Throttled, kommune_rows};
use super::support::*;

const KOMMUNER: [(&str, &str); 6] =
    [("0301", "0314"), ("1103", "1161"), ("3024", "0219"), ("4601", "1201"), ("5001", "5701"), ("1804", "1805")];

async fn lag_of(runner: &ProjectionRunner, version: i32) -> Option<ProjectionLag> {
    runner.lag_report().await.into_iter().find(|l| l.version == Some(version))
}

pub async fn rebuild_keeps_reads_working_and_equals_the_live_model_row_for_row(backend: Backend) {
    let db = TestDb::new(backend).await;
    let budget = Arc::new(AtomicI64::new(0));
    let mut options = options();
    options.batch_size = 1;
    let projection = Arc::new(Throttled { budget: budget.clone() });
    let runner = ProjectionRunner::start(db.store.clone(), db.database.clone(), vec![projection], options)
        .unwrap_or_else(|e| panic!("{e}"));
    let reads = read_db(&db.database);
    let mut last = Default::default();
    for (number, office) in KOMMUNER {
        let konfig = konfigurasjon(FIKS_ORG_OSLO, &[office], &["958935420"]);
        last = configure(&db.store, number, konfig, "2024-05-01T10:00:00.000Z").await;
    }
    runner.wait_for(kommune::NAME, last, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    let before = kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(before.len(), KOMMUNER.len());

    // A reader that keeps reading the whole model until the rebuild is over; every read must see all kommuner.
    let stop = Arc::new(AtomicBool::new(false));
    let reader = tokio::spawn({
        let (reads, stop) = (reads.clone(), stop.clone());
        async move {
            let mut count = 0u64;
            loop {
                let alle = kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("read failed: {e}"));
                assert_eq!(alle.len(), KOMMUNER.len(), "a read during the rebuild saw a partial model");
                count += 1;
                if stop.load(Ordering::SeqCst) {
                    return count;
                }
                tokio::task::yield_now().await;
            }
        }
    });

    let version = runner.request_rebuild(kommune::NAME).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(version, 2);
    budget.store(3, Ordering::SeqCst);
    eventually("the rebuild to apply three events and stop there", || async {
        lag_of(&runner, 2).await.filter(|l| l.applied == 3 && l.failure.is_some())
    })
    .await;
    assert_eq!(runner.request_rebuild(kommune::NAME).await.ok(), Some(2), "a second request joins the first");
    // Half built: readers still get the whole live model.
    assert_eq!(kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}")), before);

    // The live model keeps following the log during the rebuild.
    let mut oslo = konfigurasjon(FIKS_ORG_OSLO, &["0314", "0316"], &["958935420"]);
    oslo.kan_oppdatere_status = false;
    let changed = configure(&db.store, "0301", oslo.clone(), "2024-06-01T08:00:00.000Z").await;
    runner.wait_for(kommune::NAME, changed, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
    let info = kommune::kommune_info(&reads, kommune("0301")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.map(|i| i.konfigurasjon), Some(oslo));
    let live = lag_of(&runner, 1).await.unwrap_or_else(|| panic!("the live version"));
    assert_eq!((live.status, live.checkpoint, live.failure.is_none()), (Some(BuildStatus::Active), changed, true));
    let building = lag_of(&runner, 2).await.unwrap_or_else(|| panic!("the version being built"));
    assert_eq!((building.status, building.applied), (Some(BuildStatus::Building), 3));
    assert!(building.events_behind >= 4, "{building:?}");
    let live_rows = kommune_rows(&db.database, 1).await;
    let live_model = kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}"));

    budget.store(1_000, Ordering::SeqCst);
    runner.wait_until_active(kommune::NAME, 2, Some(PATIENCE)).await.unwrap_or_else(|e| panic!("{e}"));
    stop.store(true, Ordering::SeqCst);
    let reads_during = reader.await.unwrap_or_else(|e| panic!("the reader failed: {e}"));
    assert!(reads_during >= 1);

    assert_eq!(kommune_rows(&db.database, 2).await, live_rows, "the rebuilt model equals the live one row for row");
    assert_eq!(kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}")), live_model);
    let routed = kommune::kommuner_for_nav_enhet(&reads, enhet("0316")).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(routed, [kommune("0301")]);
    eventually("the old version's rows and bookkeeping to be deleted", || async {
        let gone = kommune_rows(&db.database, 1).await.is_empty();
        let lag = runner.lag_report().await;
        (gone && lag.len() == 1 && lag[0].version == Some(2)).then_some(())
    })
    .await;
    let lag = lag_of(&runner, 2).await.unwrap_or_else(|| panic!("version 2"));
    assert_eq!((lag.status, lag.checkpoint, lag.applied), (Some(BuildStatus::Active), changed, 7));
    assert!(lag.failure.is_none(), "{lag:?}");
    runner.shutdown().await;
    db.close().await;
}
