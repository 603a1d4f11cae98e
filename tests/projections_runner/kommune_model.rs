//! The `kommune` read model through the runner: exact rows, read-your-writes with `wait_for`, a poison event.

use std::sync::Arc;
use std::time::Duration;

use digisos_projections::kommune::{self, KommuneProjection};
use fiks_digisos::eventstore::{NewEvent, Position};
use fiks_digisos::projection_runner::{BuildStatus, ProjectionRunner, WaitError, read_db};
use serde_json::json;

use super::support::*;

fn runner(db: &TestDb) -> ProjectionRunner {
    ProjectionRunner::start(db.store.clone(), db.database.clone(), vec![Arc::new(KommuneProjection)], options())
        .unwrap_or_else(|e| panic!("{e}"))
}

pub async fn configured_kommuner_become_rows_with_exact_values(backend: Backend) {
    let db = TestDb::new(backend).await;
    let runner = runner(&db);
    let reads = read_db(&db.database);

    let mut oslo = konfigurasjon(FIKS_ORG_OSLO, &["0314", "0315"], &["958935420"]);
    oslo.kontaktpersoner.fagansvarlig_epost = vec!["fag@oslo.kommune.no".into()];
    configure(&db.store, "0301", oslo.clone(), "2024-05-01T10:00:00.000Z").await;
    let mut bergen = konfigurasjon(FIKS_ORG_BERGEN, &["1201"], &[]);
    bergen.har_nks_tilgang = true;
    bergen.behandlingsansvarlig = Some("Bergen kommune".into());
    configure(&db.store, "4601", bergen.clone(), "2024-05-02T10:00:00.000Z").await;
    // An unrelated stream the model ignores.
    append(&db.store, "sak-3fa85f64-5717-4562-b3fc-2c963f66afa6", NewEvent::new("Annet.v1", json!({}))).await;
    // Oslo moves office 0315 away and switches mottak off for now: the latest configuration wins.
    oslo.nav_enheter = vec![enhet("0314")];
    oslo.har_midlertidig_deaktivert_mottak = true;
    let last = configure(&db.store, "0301", oslo.clone(), "2024-05-03T10:00:00.123Z").await;

    runner.wait_for(kommune::NAME, last, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));

    let info = kommune::kommune_info(&reads, kommune("0301")).await.unwrap_or_else(|e| panic!("{e}"));
    let info = info.unwrap_or_else(|| panic!("kommune 0301 is in the read model"));
    assert_eq!(info.kommunenummer, kommune("0301"));
    assert_eq!(info.konfigurasjon, oslo);
    assert_eq!(info.sist_endret.as_str(), "2024-05-03T10:00:00.123Z");
    let alle = kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}"));
    let numbers: Vec<_> = alle.iter().map(|k| k.kommunenummer.as_str().to_owned()).collect();
    assert_eq!(numbers, ["0301", "4601"]);
    assert_eq!(alle[1].konfigurasjon, bergen);
    assert_eq!(alle[1].sist_endret.as_str(), "2024-05-02T10:00:00.000Z");
    assert_eq!(kommune::kommune_info(&reads, kommune("5001")).await.ok(), Some(None));

    let route = |e: &'static str| {
        let reads = reads.clone();
        async move { kommune::kommuner_for_nav_enhet(&reads, enhet(e)).await.unwrap_or_else(|e| panic!("{e}")) }
    };
    assert_eq!(route("0314").await, [kommune("0301")]);
    assert_eq!(route("0315").await, [], "0315 no longer routes to Oslo");
    assert_eq!(route("1201").await, [kommune("4601")]);
    let org = digisos_schema::types::FiksOrgId::parse(FIKS_ORG_BERGEN).unwrap_or_else(|e| panic!("{e}"));
    let bergen_org = kommune::kommuner_for_fiks_org(&reads, org).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bergen_org.iter().map(|k| k.kommunenummer).collect::<Vec<_>>(), [kommune("4601")]);

    let lag = runner.lag_report().await;
    assert_eq!(lag.len(), 1, "{lag:?}");
    assert_eq!((lag[0].status, lag[0].version, lag[0].applied), (Some(BuildStatus::Active), Some(1), 4));
    assert_eq!(lag[0].events_behind, 0);
    assert!(lag[0].failure.is_none() && lag[0].problem.is_none(), "{lag:?}");
    runner.shutdown().await;
    db.close().await;
}

pub async fn wait_for_resolves_at_a_position_and_times_out_with_a_clear_error(backend: Backend) {
    let db = TestDb::new(backend).await;
    let runner = runner(&db);
    let reads = read_db(&db.database);
    for (i, number) in ["0301", "4601", "5001"].iter().enumerate() {
        let at = configure(&db.store, number, konfigurasjon(FIKS_ORG_OSLO, &[], &[]), "2024-05-01T10:00:00.000Z").await;
        let reached = runner.wait_for(kommune::NAME, at, PATIENCE).await.unwrap_or_else(|e| panic!("{e}"));
        assert!(reached >= at);
        // Read-your-writes: once wait_for resolves, the row is there.
        let alle = kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(alle.len(), i + 1);
    }

    let beyond = Position::new(u64::MAX / 2, 0);
    let err = runner.wait_for(kommune::NAME, beyond, Duration::from_millis(100)).await.expect_err("cannot reach it");
    assert!(matches!(&err, WaitError::Timeout { wanted, reached: Some(_), .. } if *wanted == beyond), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("has not reached position") && message.contains("kommune"), "{message}");
    let unknown = runner.wait_for("nope", beyond, Duration::from_millis(1)).await;
    assert!(matches!(unknown, Err(WaitError::UnknownProjection(_))), "{unknown:?}");
    runner.shutdown().await;
    db.close().await;
}

pub async fn poison_event_is_reported_in_lag_and_never_skipped(backend: Backend) {
    let db = TestDb::new(backend).await;
    let runner = runner(&db);
    let reads = read_db(&db.database);
    let good = configure(&db.store, "0301", konfigurasjon(FIKS_ORG_OSLO, &[], &[]), "2024-05-01T10:00:00.000Z").await;
    // A payload of the wrong shape: the switches are missing.
    let poison = NewEvent::new("KommuneKonfigurert.v1", json!({"kommunenummer": "0301"}));
    let poison = append(&db.store, "kommune-0301", poison).await;
    configure(&db.store, "4601", konfigurasjon(FIKS_ORG_BERGEN, &[], &[]), "2024-05-01T10:00:00.000Z").await;

    let failure = eventually("the poison event to be retried and reported", || async {
        let lag = runner.lag_report().await;
        let active = lag.into_iter().find(|l| l.status == Some(BuildStatus::Active))?;
        active.failure.clone().filter(|f| f.attempts >= 2).map(|f| (active, f))
    })
    .await;
    let (active, failure) = failure;
    assert_eq!(failure.position, Some(poison), "the failure names the poison event's position");
    assert!(failure.message.contains("KommuneKonfigurert.v1"), "{}", failure.message);
    assert_eq!(active.checkpoint, good, "the good event before it is applied; nothing after it is");
    assert_eq!(active.events_behind, 2);
    let alle = kommune::alle_kommuner(&reads).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(alle.len(), 1, "kommune 4601 comes after the poison event and is not applied: {alle:?}");
    let err = runner.wait_for(kommune::NAME, poison, Duration::from_millis(50)).await.expect_err("stuck before it");
    assert!(matches!(err, WaitError::Timeout { reached: Some(r), .. } if r == good), "{err:?}");
    runner.shutdown().await;
    db.close().await;
}
