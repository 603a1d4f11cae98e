//! `digisos projections …`: rebuild a read model without downtime, or print every projection's lag.
//!
//! `rebuild` joins the election like a service instance: if a running service leads the projection, that
//! service builds the new version and this command only reports progress; if none runs, this command builds it.
//! `status` only reads, so it never takes the lead from anyone.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::{ProjectionRunner, RunnerError, RunnerOptions};
use crate::config::StorageConfig;
use crate::eventstore::open;

/// How often `rebuild` reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// `digisos projections`.
#[derive(Args, Debug)]
pub struct ProjectionsArgs {
    #[command(subcommand)]
    command: ProjectionsCommand,
}

#[derive(Subcommand, Debug)]
enum ProjectionsCommand {
    /// Rebuild a projection's read model from the start of the log beside the live one, and switch readers to it
    /// when it has caught up. Reads keep working throughout.
    Rebuild {
        /// The projection (see `digisos projections status`), e.g. `kommune`.
        name: String,
        /// Give up waiting after this many seconds (the rebuild itself carries on). Default: wait until done.
        #[arg(long)]
        timeout_secs: Option<u64>,
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Print every projection's lag (JSON), as `/internal/isready` reports it.
    Status {
        #[command(flatten)]
        storage: StorageConfig,
    },
}

impl ProjectionsArgs {
    /// Runs the subcommand.
    pub async fn run(self) -> anyhow::Result<()> {
        match self.command {
            ProjectionsCommand::Rebuild { name, timeout_secs, storage } => {
                rebuild(&storage, &name, timeout_secs.map(Duration::from_secs)).await
            }
            ProjectionsCommand::Status { storage } => {
                let (store, database) = open::open(&storage.database_url()).await.context("DATABASE_URL")?;
                database.migrate().await.context("DATABASE_URL: cannot migrate the database")?;
                let runner = ProjectionRunner::observe(store, database.clone(), digisos_projections::all())?;
                println!("{}", serde_json::to_string_pretty(&runner.lag_report().await)?);
                database.close().await;
                Ok(())
            }
        }
    }
}

async fn rebuild(storage: &StorageConfig, name: &str, timeout: Option<Duration>) -> anyhow::Result<()> {
    let projections = digisos_projections::all();
    if !projections.iter().any(|p| p.name() == name) {
        let known: Vec<_> = projections.iter().map(|p| p.name()).collect();
        anyhow::bail!("no projection named {name:?}; known: {}", known.join(", "));
    }
    let (store, database) = open::open(&storage.database_url()).await.context("DATABASE_URL")?;
    database.migrate().await.context("DATABASE_URL: cannot migrate the database")?;
    let runner = ProjectionRunner::start(store, database.clone(), projections, RunnerOptions::default())?;
    let result = drive(&runner, name, timeout).await;
    runner.shutdown().await;
    database.close().await;
    result
}

async fn drive(runner: &ProjectionRunner, name: &str, timeout: Option<Duration>) -> anyhow::Result<()> {
    let version = runner.request_rebuild(name).await?;
    println!("{name}: building version {version} beside the live one");
    let started = tokio::time::Instant::now();
    loop {
        let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
        let slice = left.map_or(PROGRESS_EVERY, |l| l.min(PROGRESS_EVERY));
        match runner.wait_until_active(name, version, Some(slice)).await {
            Ok(()) => {
                println!("{name}: version {version} is live; the old version's rows are deleted in the background");
                return Ok(());
            }
            Err(RunnerError::Timeout { .. }) if left.is_none_or(|l| l > slice) => {
                let lags = runner.lag_report().await;
                let lag = lags.iter().find(|l| l.name == name && l.version == Some(version));
                match lag {
                    Some(lag) => println!(
                        "{name}: version {version}: {} events applied, {}{} behind{}{}",
                        lag.applied,
                        lag.events_behind,
                        if lag.events_behind_capped { "+" } else { "" },
                        if runner.is_leading(name) { " (building here)" } else { " (built by the leading instance)" },
                        lag.failure.as_ref().map(|f| format!("; stuck: {}", f.message)).unwrap_or_default(),
                    ),
                    None => println!("{name}: version {version}: waiting"),
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}
