//! Running the scenarios: each subcommand on its own, and `all` of them in one run (`digisos-bench all`).
//!
//! A scenario runs on PostgreSQL and then on SQLite (each in its own scratch database and app), prints its
//! section and, with `--write`, replaces that section of `BENCHMARKS.md` as soon as it is done, so a later
//! failure does not lose earlier figures. `all` keeps going after a failed scenario and reports the failures
//! at the end. Its durations are chosen so the whole run fits in 20 minutes on a 2-core machine; the scale
//! scenario's growth towards a million cases has a time budget and reports the size it reached.

use std::time::{Duration, Instant};

use clap::Args;

use super::app::Backend;
use super::append::{self, AppendArgs};
use super::common::Targets;
use super::fiks_io::{self, FiksIoArgs, FiksIoBenchConfig};
use super::freshness::{self, FreshnessArgs, FreshnessConfig};
use super::query::{self, QueryArgs, QueryConfig};
use super::rebuild::{self, RebuildArgs};
use super::report::{Machine, provenance};
use super::scale::{self, ScaleArgs, ScaleConfig, Seeded};
use super::submit::{self, SubmitArgs, SubmitConfig};

/// Options of `digisos-bench all`.
#[derive(Args, Clone, Debug)]
pub struct AllArgs {
    /// Seconds per measurement of the append scenario.
    #[arg(long, default_value_t = 2)]
    pub append_seconds: u64,

    /// The large size of the scale scenario, cases.
    #[arg(long, default_value_t = 1_000_000)]
    pub large: u64,

    /// Seconds the scale scenario may spend growing towards the large size, per backend.
    #[arg(long, default_value_t = 240)]
    pub scale_budget_seconds: u64,

    /// The RabbitMQ broker of the Fiks IO scenario.
    #[arg(long, env = "DIGISOS_BENCH_AMQP_URL", default_value = fiks_io::DEFAULT_AMQP_URL)]
    pub amqp_url: String,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

fn write(targets: &Targets, name: &str, body: &str) -> Result<(), String> {
    println!("{body}\n");
    if let Some(path) = targets.out.apply(name, body)? {
        eprintln!("wrote the {name} section of {}", path.display());
    }
    Ok(())
}

/// Runs `measure` on every backend of `targets`, in order.
async fn each<T, F, Fut>(targets: &Targets, mut measure: F) -> Result<Vec<T>, String>
where
    F: FnMut(Backend, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let mut out = Vec::new();
    for backend in targets.backends() {
        eprintln!("{} …", backend.label());
        out.push(measure(backend, targets.postgres_server()).await.map_err(|e| format!("{}: {e}", backend.label()))?);
    }
    Ok(out)
}

fn append_args(targets: &Targets, seconds: u64, pg_writers: Vec<usize>) -> AppendArgs {
    AppendArgs {
        seconds,
        warmup: 1,
        database_url: Some(targets.postgres_server()),
        pg_writers,
        sqlite_callers: vec![1, 32],
        no_postgres: targets.no_postgres,
        no_sqlite: targets.no_sqlite,
        out: targets.out.clone(),
    }
}

/// `digisos-bench submit` (measures the append reference first, 2 s at 32 writers).
pub async fn submit(args: &SubmitArgs) -> Result<(), String> {
    let machine = Machine::detect();
    eprintln!("append reference (32 writers, 2 s) …");
    let (pg, lite) = append::measure(&append_args(&args.targets, 2, vec![32])).await?;
    let reference = append::reference(pg.as_ref(), lite.as_ref());
    let config = SubmitConfig::from(args);
    let figures = each(&args.targets, |b, pg| {
        let config = config.clone();
        async move { submit::measure(b, &pg, &config).await }
    })
    .await?;
    let command = "cargo run --release --bin digisos-bench -- submit";
    write(&args.targets, "submit", &submit::render(&provenance(command, &machine), &config, &figures, &reference))
}

/// `digisos-bench freshness`.
pub async fn freshness(args: &FreshnessArgs) -> Result<(), String> {
    let machine = Machine::detect();
    let config = FreshnessConfig::from(args);
    let figures = each(&args.targets, |b, pg| {
        let config = config.clone();
        async move { freshness::measure(b, &pg, &config).await }
    })
    .await?;
    let command = "cargo run --release --bin digisos-bench -- freshness";
    write(&args.targets, "freshness", &freshness::render(&provenance(command, &machine), &config, &figures))
}

/// `digisos-bench query`.
pub async fn query(args: &QueryArgs) -> Result<(), String> {
    let machine = Machine::detect();
    let config = QueryConfig::from(args);
    let figures = each(&args.targets, |b, pg| {
        let config = config.clone();
        async move { query::measure(b, &pg, &config).await }
    })
    .await?;
    let command = "cargo run --release --bin digisos-bench -- query";
    write(&args.targets, "query", &query::render(&provenance(command, &machine), &config, &figures))
}

/// `digisos-bench scale`.
pub async fn scale(args: &ScaleArgs) -> Result<(), String> {
    let machine = Machine::detect();
    let config = ScaleConfig::from(args);
    let figures = each(&args.targets, |b, pg| {
        let config = config.clone();
        async move { scale::measure(b, &pg, &config).await }
    })
    .await?;
    let command = "cargo run --release --bin digisos-bench -- scale";
    write(&args.targets, "scale", &scale::render(&provenance(command, &machine), &config, &figures))
}

/// `digisos-bench rebuild`.
pub async fn rebuild(args: &RebuildArgs) -> Result<(), String> {
    let machine = Machine::detect();
    let budget = Duration::from_secs(args.budget_seconds);
    let figures =
        each(&args.targets, |b, pg| async move { rebuild::measure(b, &pg, args.events, budget).await }).await?;
    let command = "cargo run --release --bin digisos-bench -- rebuild";
    let note = "The cases were seeded for this run (see `scale`).";
    write(&args.targets, "rebuild", &rebuild::render(&provenance(command, &machine), args.events, &figures, note))
}

/// `digisos-bench fiks-io`.
pub async fn fiks_io(args: &FiksIoArgs) -> Result<(), String> {
    let machine = Machine::detect();
    let config = FiksIoBenchConfig::from(args);
    let figures = each(&args.targets, |b, pg| {
        let config = config.clone();
        async move { fiks_io::measure(b, &pg, &config).await }
    })
    .await?;
    let command = "cargo run --release --bin digisos-bench -- fiks-io";
    write(&args.targets, "fiks-io", &fiks_io::render(&provenance(command, &machine), &config, &figures))
}

/// `digisos-bench all`: every scenario, in one run.
pub async fn all(args: &AllArgs) -> Result<(), String> {
    let started = Instant::now();
    let machine = Machine::detect();
    let targets = &args.targets;
    let command = "cargo run --release --bin digisos-bench -- all";
    let mut failures = Vec::new();

    eprintln!("[1/7] append …");
    let append_args = append_args(targets, args.append_seconds, vec![1, 8, 32]);
    let reference = match append::measure(&append_args).await {
        Ok((pg, lite)) => {
            append::report_as(&append_args, command, &machine, pg.as_ref(), lite.as_ref())?;
            append::reference(pg.as_ref(), lite.as_ref())
        }
        Err(e) => {
            failures.push(format!("append: {e}"));
            Vec::new()
        }
    };

    eprintln!("[2/7] submit …");
    let submit_config = SubmitConfig {
        rates: vec![10.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0],
        step: Duration::from_secs(4),
        pdf_bytes: 100 * 1024,
    };
    match each(targets, |b, pg| {
        let config = submit_config.clone();
        async move { submit::measure(b, &pg, &config).await }
    })
    .await
    {
        Ok(f) => {
            write(targets, "submit", &submit::render(&provenance(command, &machine), &submit_config, &f, &reference))?
        }
        Err(e) => failures.push(format!("submit: {e}")),
    }

    eprintln!("[3/7] freshness …");
    let freshness_config = FreshnessConfig {
        window: Duration::from_secs(15),
        background: 200.0,
        interval: Duration::from_millis(40),
        watched: 8,
        background_cases: 400,
    };
    match each(targets, |b, pg| {
        let config = freshness_config.clone();
        async move { freshness::measure(b, &pg, &config).await }
    })
    .await
    {
        Ok(f) => {
            write(targets, "freshness", &freshness::render(&provenance(command, &machine), &freshness_config, &f))?
        }
        Err(e) => failures.push(format!("freshness: {e}")),
    }

    eprintln!("[4/7] query …");
    let query_config = QueryConfig {
        window: Duration::from_secs(8),
        warmup: Duration::from_secs(1),
        clients: 32,
        hendelser: 30,
        rate: 500.0,
        rate_window: Duration::from_secs(5),
    };
    match each(targets, |b, pg| {
        let config = query_config.clone();
        async move { query::measure(b, &pg, &config).await }
    })
    .await
    {
        Ok(f) => write(targets, "query", &query::render(&provenance(command, &machine), &query_config, &f))?,
        Err(e) => failures.push(format!("query: {e}")),
    }

    eprintln!("[5/7] scale and [6/7] rebuild (on the scale scenario's database) …");
    let scale_config = ScaleConfig {
        small: 10_000,
        large: args.large,
        chunk: 50_000,
        writers: 32,
        budget: Duration::from_secs(args.scale_budget_seconds),
        window: Duration::from_secs(5),
        clients: 8,
    };
    let (mut scales, mut rebuilds) = (Vec::new(), Vec::new());
    for backend in targets.backends() {
        eprintln!("{} …", backend.label());
        let outcome = async {
            let mut seeded = Seeded::start(backend, &targets.postgres_server(), scale_config.large).await?;
            let measured = async {
                let s = scale::run_on(&mut seeded, &scale_config).await?;
                let r = rebuild::measure_on(&seeded, rebuild::REBUILD_LIMIT).await?;
                Ok::<_, String>((s, r))
            }
            .await;
            let finished = seeded.finish().await;
            let figures = measured?;
            finished.map(|()| figures)
        }
        .await;
        match outcome {
            Ok((s, r)) => {
                scales.push(s);
                rebuilds.push(r);
            }
            Err(e) => failures.push(format!("scale/rebuild on {}: {e}", backend.label())),
        }
    }
    if !scales.is_empty() {
        write(targets, "scale", &scale::render(&provenance(command, &machine), &scale_config, &scales))?;
        let note = "The store is the scale scenario's, after its queries: the cases it seeded (and the template \
                    case and the kommune's configuration).";
        write(targets, "rebuild", &rebuild::render(&provenance(command, &machine), 1_000_000, &rebuilds, note))?;
    }
    eprintln!("[7/7] fiks-io …");
    // Fewer rungs than `digisos-bench fiks-io` (10 … 150 in six), so the whole run stays under 20 minutes.
    let fiks_io_config = FiksIoBenchConfig {
        rates: vec![10.0, 50.0, 100.0, 150.0],
        step: Duration::from_secs(4),
        pdf_bytes: 100 * 1024,
        poll: Duration::from_secs(1),
        amqp_url: args.amqp_url.clone(),
    };
    match each(targets, |b, pg| {
        let config = fiks_io_config.clone();
        async move { fiks_io::measure(b, &pg, &config).await }
    })
    .await
    {
        Ok(f) => write(targets, "fiks-io", &fiks_io::render(&provenance(command, &machine), &fiks_io_config, &f))?,
        Err(e) => failures.push(format!("fiks-io: {e}")),
    }

    eprintln!("all scenarios ran in {:.0} s", started.elapsed().as_secs_f64());
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}
