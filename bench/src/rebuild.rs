//! `digisos-bench rebuild`: replaying the whole event store into the `innsyn` model from position zero.
//!
//! The store holds seeded cases (see [`scale`](super::scale); `all` reuses the scale scenario's database). The
//! reference: reading the same events (the first million at most) with `read_all` in the runner's batch size,
//! without applying them. Then
//! the runner rebuilds `innsyn` into its next version (`ProjectionRunner::rebuild`: from position zero, beside
//! the live version, switched in when caught up), timed from the request to the switch. Figure: events/s of each
//! and their ratio. Goal: at least 20,000 events/s on PostgreSQL.

use std::time::{Duration, Instant};

use clap::Args;
use digisos_projections::ReadDb;
use digisos_projections::saker::INNSYN;

use super::app::Backend;
use super::common::{Targets, goal};
use super::report::{table, thousands};
use super::scale::Seeded;
use fiks_digisos::projection_runner::{RunnerError, RunnerOptions};

/// The longest a rebuild is waited for; an unfinished one reports the rate it reached.
pub const REBUILD_LIMIT: Duration = Duration::from_secs(90);

/// The most events the reference reads.
pub const READ_AT_MOST: u64 = 1_000_000;

/// The goal on PostgreSQL, events per second.
pub const GOAL_EVENTS_PER_SECOND: f64 = 20_000.0;

/// Options of `digisos-bench rebuild`.
#[derive(Args, Clone, Debug)]
pub struct RebuildArgs {
    /// Events to replay (seeded as whole cases; reached if the time budget allows).
    #[arg(long, default_value_t = 1_000_000)]
    pub events: u64,

    /// Seconds the seeding may take per backend.
    #[arg(long, default_value_t = 300)]
    pub budget_seconds: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

/// One backend's figures.
#[derive(Clone, Debug)]
pub struct RebuildFigures {
    /// The backend.
    pub backend: Backend,
    /// Events in the store.
    pub events: u64,
    /// Events the reference read (at most [`READ_AT_MOST`]).
    pub read_events: u64,
    /// Events replayed: all of them, or (when the rebuild did not finish in its time limit) the cases folded into
    /// the new version so far times the events per case.
    pub replayed: u64,
    /// Whether the new version was switched in within the time limit.
    pub finished: bool,
    /// Reading `read_events` of them.
    pub read: Duration,
    /// Rebuilding `innsyn` (up to the time limit).
    pub rebuild: Duration,
}

impl RebuildFigures {
    /// Events per second read.
    pub fn read_rate(&self) -> f64 {
        self.read_events as f64 / self.read.as_secs_f64().max(f64::EPSILON)
    }

    /// Events per second rebuilt.
    pub fn rebuild_rate(&self) -> f64 {
        self.replayed as f64 / self.rebuild.as_secs_f64().max(f64::EPSILON)
    }
}

/// Reads every event, then rebuilds `innsyn` (for at most `limit`), on a seeded app.
pub async fn measure_on(seeded: &Seeded, limit: Duration) -> Result<RebuildFigures, String> {
    let app = &seeded.app;
    let batch = RunnerOptions::default().batch_size;
    let events = count(app.read_db(), "SELECT count(*) FROM es_events", None).await?;
    let started = Instant::now();
    let (mut read_events, mut after) = (0u64, None);
    // The reference reads at most the million events (the store may hold more: `all` seeds two events per
    // case); its rate is what matters, and reading more would only spend the run's time budget.
    while read_events < READ_AT_MOST {
        let page = app.store.read_all(after, batch).await.map_err(|e| format!("read_all: {e}"))?;
        let Some(last) = page.last() else { break };
        after = Some(last.position);
        read_events += page.len() as u64;
    }
    let read = started.elapsed();
    let started = Instant::now();
    let runner = &app.read_side.runner;
    let version = runner.request_rebuild(INNSYN).await.map_err(|e| format!("rebuild: {e}"))?;
    let (finished, replayed) = match runner.wait_until_active(INNSYN, version, Some(limit)).await {
        Ok(()) => (true, events),
        Err(RunnerError::Timeout { .. }) => {
            let cases =
                count(app.read_db(), "SELECT count(*) FROM innsyn_sak WHERE version = $1", Some(version)).await?;
            (false, cases * seeded.events_per_case() as u64)
        }
        Err(e) => return Err(format!("rebuild: {e}")),
    };
    let rebuild = started.elapsed();
    let figures = RebuildFigures { backend: app.backend, events, read_events, replayed, finished, read, rebuild };
    eprintln!(
        "  {}: {} events, read {:.0}/s, rebuild {:.0}/s{}",
        app.backend.label(),
        events,
        figures.read_rate(),
        figures.rebuild_rate(),
        if finished { String::new() } else { format!(" (not finished in {limit:?}: {replayed} events replayed)") }
    );
    Ok(figures)
}

async fn count(db: &ReadDb, sql: &'static str, version: Option<i32>) -> Result<u64, String> {
    let count: i64 = match (db, version) {
        (ReadDb::Postgres(pool), Some(v)) => sqlx::query_scalar(sql).bind(v).fetch_one(pool).await,
        (ReadDb::Postgres(pool), None) => sqlx::query_scalar(sql).fetch_one(pool).await,
        (ReadDb::Sqlite(pool), Some(v)) => sqlx::query_scalar(sql).bind(v).fetch_one(pool).await,
        (ReadDb::Sqlite(pool), None) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .map_err(|e| format!("counting rows ({sql}): {e}"))?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Starts an app on `backend`, seeds about `events` events (within `budget`) and measures.
pub async fn measure(
    backend: Backend,
    postgres_server: &str,
    events: u64,
    budget: Duration,
) -> Result<RebuildFigures, String> {
    let capacity_guess = events;
    let mut seeded = Seeded::start(backend, postgres_server, capacity_guess).await?;
    let outcome = tokio::select! {
        outcome = async {
            let target = events / seeded.events_per_case().max(1) as u64;
            seeded.grow_within(target, 50_000, budget, 32).await?;
            measure_on(&seeded, REBUILD_LIMIT).await
        } => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = seeded.finish().await;
    let figures = outcome?;
    finished.map(|()| figures)
}

/// The section of `BENCHMARKS.md`.
pub fn render(provenance: &str, target: u64, figures: &[RebuildFigures], note: &str) -> String {
    let mut out = vec!["## rebuild".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "Every event of the store replayed into a new version of the `innsyn` model from position zero \
         (`ProjectionRunner::rebuild`, timed from the request to the switch), against reading the same events (the first \
         {} at most) with `read_all` in the runner's batch size ({}) without applying them. A rebuild not switched in within {} s is \
         reported at the rate it reached (the cases in the new version by then). Target {} events. {note}",
        thousands(READ_AT_MOST as f64),
        RunnerOptions::default().batch_size,
        REBUILD_LIMIT.as_secs(),
        thousands(target as f64)
    ));
    out.push(String::new());
    let rows: Vec<Vec<String>> = figures
        .iter()
        .map(|f| {
            let rate = f.rebuild_rate();
            vec![
                f.backend.label().to_string(),
                if f.finished {
                    thousands(f.events as f64)
                } else {
                    format!(
                        "{} (not finished: {} replayed in {:.0} s)",
                        thousands(f.events as f64),
                        thousands(f.replayed as f64),
                        f.rebuild.as_secs_f64()
                    )
                },
                thousands(f.read_rate()),
                thousands(rate),
                format!("{:.2}", rate / f.read_rate().max(f64::EPSILON)),
                format!("{:.1} s", f.rebuild.as_secs_f64()),
                match f.backend {
                    Backend::Postgres => goal(
                        &format!("≥ {} events/s", thousands(GOAL_EVENTS_PER_SECOND)),
                        rate >= GOAL_EVENTS_PER_SECOND,
                        &format!("{:.2} of it", rate / GOAL_EVENTS_PER_SECOND),
                    ),
                    Backend::Sqlite => String::new(),
                },
            ]
        })
        .collect();
    out.push(table(
        &["backend", "events", "read events/s", "rebuild events/s", "rebuild / read", "rebuild time", "goal"],
        &rows,
    ));
    out.join("\n")
}
