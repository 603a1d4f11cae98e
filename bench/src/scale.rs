//! `digisos-bench scale`: the citizen's queries with 10 thousand and with (up to) 1 million cases in the read model.
//!
//! Cases are seeded through the event store in chunks ([`seed`](super::seed): copies of a real submission, one
//! append per case, 32 writers), and the `innsyn` projection folds them as it folds any case (the app runs only
//! that projection here: the queries read nothing else, and the time goes to the cases). Each citizen has three
//! cases, so `mineSaker` returns the same amount at every size and only the table grows. At each size, after the
//! projection has caught up: `mineSaker` and `sak` closed-loop from a few clients, each request for a random
//! seeded case (and its citizen) among all of them. Goal: p50 at the large size within 1.5x of p50 at the small.
//!
//! Seeding and folding a million cases takes most of the run's time budget; the scenario grows the model in
//! chunks until it reaches the target or its time budget is spent, and reports the size it reached.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use digisos_projections::saker::INNSYN;
use rand::Rng;
use serde_json::json;

use super::app::{Backend, BenchApp, Projections};
use super::client::{gql, synthetic_fnrs};
use super::common::{Targets, goal, millis};
use super::load::{Measurement, closed_loop};
use super::report::{table, thousands};
use super::seed::{CaseTemplate, seed};
use fiks_digisos::eventstore::Position;
use fiks_digisos::eventstore::open::Database;

/// The goal: p50 at the large size over p50 at the small size.
pub const P50_GOAL: f64 = 1.5;
/// Cases per citizen.
pub const PER_CITIZEN: u64 = 3;

const MINE: &str = "{ mineSaker { fiksDigisosId status kommunenummer sistOppdatert navKontor } }";
const SAK: &str = "query($id: String!) { sak(fiksDigisosId: $id) { fiksDigisosId status sistOppdatert \
                   historikk { tidspunkt tekst } dokumenter { filnavn } } }";

/// Options of `digisos-bench scale`.
#[derive(Args, Clone, Debug)]
pub struct ScaleArgs {
    /// The small size, cases.
    #[arg(long, default_value_t = 10_000)]
    pub small: u64,

    /// The large size, cases (reached if the time budget allows).
    #[arg(long, default_value_t = 1_000_000)]
    pub large: u64,

    /// Seconds the growth from small to large may take per backend.
    #[arg(long, default_value_t = 300)]
    pub budget_seconds: u64,

    /// Seconds each query measurement runs.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

/// The sizes of one run.
#[derive(Clone, Debug)]
pub struct ScaleConfig {
    /// The small size.
    pub small: u64,
    /// The large size.
    pub large: u64,
    /// Cases appended per chunk.
    pub chunk: u64,
    /// Concurrent writers while seeding.
    pub writers: usize,
    /// The longest the growth from small to large may take.
    pub budget: Duration,
    /// Each query measurement.
    pub window: Duration,
    /// Closed-loop clients per measurement.
    pub clients: usize,
}

impl From<&ScaleArgs> for ScaleConfig {
    fn from(args: &ScaleArgs) -> Self {
        Self {
            small: args.small.max(1),
            large: args.large.max(args.small),
            chunk: 50_000,
            writers: 32,
            budget: Duration::from_secs(args.budget_seconds),
            window: Duration::from_secs(args.seconds.max(1)),
            clients: 8,
        }
    }
}

/// The queries at one size.
#[derive(Clone, Debug)]
pub struct SizeFigures {
    /// Cases in the read model.
    pub cases: u64,
    /// `mineSaker`.
    pub mine: Measurement,
    /// `sak`.
    pub sak: Measurement,
}

/// One backend's figures.
#[derive(Clone, Debug)]
pub struct ScaleFigures {
    /// The backend.
    pub backend: Backend,
    /// At the small size and at the size reached.
    pub sizes: Vec<SizeFigures>,
    /// Cases seeded and folded per second while growing (append and projection together).
    pub seed_rate: f64,
    /// Events per case.
    pub events_per_case: usize,
    /// The share of the seeding time spent appending (the projection folding meanwhile); the rest the
    /// projection took to catch up after the appends.
    pub appending_share: f64,
}

/// An app with a seeded read model, for `scale` and `rebuild`.
pub struct Seeded {
    /// The app (only the `innsyn` projection runs).
    pub app: BenchApp,
    template: Arc<CaseTemplate>,
    fnrs: Arc<Vec<String>>,
    /// Cases seeded so far.
    pub cases: u64,
    /// Time spent seeding and folding so far.
    pub seeding: Duration,
    /// Of which appending (the projection folds meanwhile; the rest is its catching up afterwards).
    pub appending: Duration,
}

impl Seeded {
    /// Starts an app on `backend` (only the `innsyn` projection) and captures the case template.
    pub async fn start(backend: Backend, postgres_server: &str, capacity: u64) -> Result<Self, String> {
        let app = BenchApp::start(backend, postgres_server, Projections::InnsynOnly).await?;
        let prepared = async {
            app.configure_kommune().await?;
            let fnrs = synthetic_fnrs((capacity / PER_CITIZEN + 1) as usize);
            let template = CaseTemplate::capture(&app, fnrs.first().ok_or("no citizen")?).await?;
            Ok::<_, String>((Arc::new(template), Arc::new(fnrs)))
        }
        .await;
        match prepared {
            Ok((template, fnrs)) => {
                Ok(Self { app, template, fnrs, cases: 0, seeding: Duration::ZERO, appending: Duration::ZERO })
            }
            Err(e) => {
                let _ = app.finish().await;
                Err(e)
            }
        }
    }

    /// Events per seeded case.
    pub fn events_per_case(&self) -> usize {
        self.template.events_per_case()
    }

    /// Seeds cases up to `total` and waits until the `innsyn` model has folded them.
    pub async fn grow_to(&mut self, total: u64, writers: usize) -> Result<(), String> {
        if total <= self.cases {
            return Ok(());
        }
        let started = Instant::now();
        let highest =
            seed(&self.app.store, &self.template, &self.fnrs, PER_CITIZEN, self.cases..total, writers).await?;
        let appended = started.elapsed();
        if let Some(position) = highest {
            self.wait(position).await?;
        }
        self.cases = total;
        self.seeding += started.elapsed();
        self.appending += appended;
        Ok(())
    }

    /// What autovacuum and the checkpointer would have done after a bulk load (autovacuum is off on some
    /// servers, and a query measured during a checkpoint measures the checkpoint): statistics, hint bits and
    /// the visibility map of the read model, then a checkpoint.
    pub async fn settle(&self) -> Result<(), String> {
        let failed = |e: sqlx::Error| format!("settling the database after seeding: {e}");
        match self.app.database() {
            Database::Postgres(pool) => {
                sqlx::query("VACUUM (ANALYZE) innsyn_sak").execute(pool).await.map_err(failed)?;
                sqlx::query("CHECKPOINT").execute(pool).await.map_err(failed)?;
            }
            Database::Sqlite { write, .. } => {
                sqlx::query("ANALYZE").execute(write).await.map_err(failed)?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(write).await.map_err(failed)?;
            }
        }
        Ok(())
    }

    /// Grows towards `target` cases in chunks of `chunk`, stopping early when the next chunk would likely end
    /// after `budget` from now.
    pub async fn grow_within(
        &mut self,
        target: u64,
        chunk: u64,
        budget: Duration,
        writers: usize,
    ) -> Result<(), String> {
        let started = Instant::now();
        let mut last_chunk = Duration::ZERO;
        while self.cases < target {
            if started.elapsed() + last_chunk > budget {
                break;
            }
            let before = Instant::now();
            let next = (self.cases + chunk.max(1)).min(target);
            self.grow_to(next, writers).await?;
            last_chunk = before.elapsed();
            eprintln!(
                "  {}: {} cases ({:.0} s for the chunk; {:.0} s appending in all so far)",
                self.app.backend.label(),
                self.cases,
                last_chunk.as_secs_f64(),
                self.appending.as_secs_f64()
            );
        }
        Ok(())
    }

    async fn wait(&self, position: Position) -> Result<(), String> {
        self.app
            .read_side
            .runner
            .wait_for(INNSYN, position, Duration::from_secs(3600))
            .await
            .map(|_| ())
            .map_err(|e| format!("the innsyn model did not reach {position}: {e}"))
    }

    /// `count` random seeded cases with their citizens' tokens: `(case id, token)`.
    fn sample(&self, count: usize) -> Result<Vec<(String, String)>, String> {
        let mut rng = rand::thread_rng();
        (0..count)
            .map(|_| {
                let i = rng.gen_range(0..self.cases.max(1));
                let fnr = self.fnrs.get((i / PER_CITIZEN) as usize).ok_or("no citizen")?;
                Ok((self.template.case_id(i), self.app.citizen(fnr)?))
            })
            .collect()
    }

    /// `mineSaker` and `sak` at the current size.
    pub async fn queries(&self, config: &ScaleConfig) -> Result<SizeFigures, String> {
        self.settle().await?;
        let sample = Arc::new(self.sample(1000)?);
        let (client, base) = (self.app.client().clone(), Arc::new(self.app.base.clone()));
        let mine_op = {
            let (sample, client, base) = (sample.clone(), client.clone(), base.clone());
            move |caller: usize, n: u64| {
                let (sample, client, base) = (sample.clone(), client.clone(), base.clone());
                async move {
                    let (_, token) = &sample[(caller * 7919 + n as usize) % sample.len()];
                    let data = gql(&client, &base, token, MINE, &json!({}), None).await?;
                    match data["mineSaker"].as_array().map(Vec::len) {
                        Some(n) if n > 0 => Ok(()),
                        _ => Err(format!("mineSaker returned no cases: {data}")),
                    }
                }
            }
        };
        let sak_op = {
            let (sample, client, base) = (sample.clone(), client.clone(), base.clone());
            move |caller: usize, n: u64| {
                let (sample, client, base) = (sample.clone(), client.clone(), base.clone());
                async move {
                    let (id, token) = &sample[(caller * 7919 + n as usize) % sample.len()];
                    let data = gql(&client, &base, token, SAK, &json!({"id": id}), None).await?;
                    if data["sak"]["fiksDigisosId"] == id.as_str() { Ok(()) } else { Err(format!("sak {id}: {data}")) }
                }
            }
        };
        let warmup = Duration::from_secs(1);
        let mine = closed_loop(config.clients, warmup, config.window, mine_op).await?;
        let sak = closed_loop(config.clients, warmup, config.window, sak_op).await?;
        let figures = SizeFigures { cases: self.cases, mine: Measurement::of(&[mine]), sak: Measurement::of(&[sak]) };
        eprintln!(
            "  {} at {} cases: mineSaker p50 {} p99 {}, sak p50 {} p99 {}",
            self.app.backend.label(),
            self.cases,
            millis(figures.mine.p50),
            millis(figures.mine.p99),
            millis(figures.sak.p50),
            millis(figures.sak.p99)
        );
        Ok(figures)
    }

    /// Stops the app and removes its database.
    pub async fn finish(self) -> Result<(), String> {
        self.app.finish().await
    }
}

/// Seeds to the small size, measures, grows towards the large size within the budget, measures again.
pub async fn run_on(seeded: &mut Seeded, config: &ScaleConfig) -> Result<ScaleFigures, String> {
    seeded.grow_to(config.small, config.writers).await?;
    let small = seeded.queries(config).await?;
    let started = Instant::now();
    let (seeding_before, appending_before) = (seeded.seeding, seeded.appending);
    seeded.grow_within(config.large, config.chunk, config.budget, config.writers).await?;
    let grown = started.elapsed();
    let appending_share = (seeded.appending - appending_before).as_secs_f64()
        / (seeded.seeding - seeding_before).as_secs_f64().max(f64::EPSILON);
    let large = seeded.queries(config).await?;
    let seed_rate = (large.cases - small.cases) as f64 / grown.as_secs_f64().max(f64::EPSILON);
    Ok(ScaleFigures {
        backend: seeded.app.backend,
        sizes: vec![small, large],
        seed_rate,
        events_per_case: seeded.events_per_case(),
        appending_share,
    })
}

/// Starts a seeded app on `backend` and runs the scenario.
pub async fn measure(backend: Backend, postgres_server: &str, config: &ScaleConfig) -> Result<ScaleFigures, String> {
    let mut seeded = Seeded::start(backend, postgres_server, config.large).await?;
    let outcome = tokio::select! {
        outcome = run_on(&mut seeded, config) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = seeded.finish().await;
    let figures = outcome?;
    finished.map(|()| figures)
}

/// The section of `BENCHMARKS.md`.
pub fn render(provenance: &str, config: &ScaleConfig, figures: &[ScaleFigures]) -> String {
    let mut out = vec!["## scale".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "Cases seeded through the event store (copies of a real submission, one append per case, {} writers, chunks \
         of {}), folded by the `innsyn` projection (the only one running in this app); three cases per citizen. At \
         each size: `mineSaker` and `sak` closed-loop at {} clients for {} s each, every request for a random case \
         among all seeded. Target {} cases, growth budget {} s per backend. Goal: p50 at the size reached within \
         {P50_GOAL}x of p50 at {}.",
        config.writers,
        thousands(config.chunk as f64),
        config.clients,
        config.window.as_secs(),
        thousands(config.large as f64),
        config.budget.as_secs(),
        thousands(config.small as f64),
    ));
    out.push(String::new());
    let mut rows = Vec::new();
    for f in figures {
        let (Some(small), Some(large)) = (f.sizes.first(), f.sizes.last()) else { continue };
        for (name, pick) in [("mineSaker", 0usize), ("sak", 1usize)] {
            let m = |s: &SizeFigures| if pick == 0 { s.mine } else { s.sak };
            let (a, b) = (m(small), m(large));
            let ratio = b.p50.as_secs_f64() / a.p50.as_secs_f64().max(f64::EPSILON);
            rows.push(vec![
                f.backend.label().to_string(),
                name.to_string(),
                format!("{} / {}", millis(a.p50), millis(a.p99)),
                thousands(large.cases as f64),
                format!("{} / {}", millis(b.p50), millis(b.p99)),
                format!("{ratio:.2}x"),
                goal(&format!("≤ {P50_GOAL}x"), ratio <= P50_GOAL, &format!("{ratio:.2}x")),
                format!("{} / {}", thousands(a.per_second()), thousands(b.per_second())),
            ]);
        }
    }
    out.push(table(
        &[
            "backend",
            "query",
            &format!("p50 / p99 at {}", thousands(config.small as f64)),
            "cases reached",
            "p50 / p99 there",
            "p50 ratio",
            "goal",
            "req/s small / large",
        ],
        &rows,
    ));
    out.push(String::new());
    for f in figures {
        let reached = f.sizes.last().map_or(0, |s| s.cases);
        out.push(format!(
            "- {}: {} cases reached ({} events each); seeding and folding ran at {} cases/s ({:.0} % of the time \
             appending while the projection folded, the rest the projection catching up).{}",
            f.backend.label(),
            thousands(reached as f64),
            f.events_per_case,
            thousands(f.seed_rate),
            f.appending_share * 100.0,
            if reached < config.large {
                format!(
                    " The target of {} did not fit in the time budget; the large size is {}.",
                    thousands(config.large as f64),
                    thousands(reached as f64)
                )
            } else {
                String::new()
            }
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ScaleConfig {
        ScaleConfig {
            small: 6,
            large: 12,
            chunk: 4,
            writers: 3,
            budget: Duration::from_secs(20),
            window: Duration::from_millis(200),
            clients: 2,
        }
    }

    #[tokio::test]
    async fn a_tiny_model_grows_is_queried_and_rebuilt_on_sqlite() {
        let config = tiny();
        let mut seeded = Seeded::start(Backend::Sqlite, "", config.large).await.expect("an app");
        let outcome = async {
            let scale = run_on(&mut seeded, &config).await?;
            let rebuilt = super::super::rebuild::measure_on(&seeded, Duration::from_secs(20)).await?;
            Ok::<_, String>((scale, rebuilt))
        }
        .await;
        seeded.finish().await.expect("clean-up");
        let (scale, rebuilt) = outcome.expect("the scenarios run");
        assert_eq!(scale.sizes.iter().map(|s| s.cases).collect::<Vec<_>>(), [6, 12]);
        assert!(scale.sizes.iter().all(|s| s.mine.operations > 0 && s.sak.operations > 0));
        assert!(rebuilt.events >= 12 * scale.events_per_case as u64, "every seeded event is replayed");
        let text = render("provenance", &config, &[scale]);
        assert!(text.starts_with("## scale") && text.contains("cases reached"));
        let text = super::super::rebuild::render("provenance", 1000, &[rebuilt], "");
        assert!(text.starts_with("## rebuild") && text.contains("rebuild events/s"));
    }

    #[tokio::test]
    async fn seeding_works_on_postgres() {
        let config = tiny();
        let server = fiks_digisos::testkit::server_url();
        let mut seeded = Seeded::start(Backend::Postgres, &server, config.large).await.expect("an app");
        let grown = seeded.grow_to(5, 2).await;
        let sized = seeded.queries(&config).await;
        seeded.finish().await.expect("clean-up");
        grown.expect("seeded");
        assert_eq!(sized.expect("queried").cases, 5);
    }
}
