//! `digisos-bench`: the benchmarks of fiks-digisos, one subcommand each (see `BENCHMARKS.md` for results).
//!
//! Run in release mode: `cargo run --release --bin digisos-bench -- all [--write]` runs every scenario on
//! PostgreSQL (`DATABASE_URL`) and SQLite in under 20 minutes; `append`, `submit`, `freshness`, `query`, `scale`,
//! `rebuild` and `fiks-io` run one. The benchmarks live in this crate's library (`digisos_bench`); this file only
//! parses the command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use digisos_bench as bench;

#[derive(Parser, Debug)]
#[command(name = "digisos-bench", version, about = "Benchmarks of fiks-digisos (build with --release)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Every scenario below, on PostgreSQL and SQLite, in one run (under 20 minutes).
    All(bench::suite::AllArgs),
    /// Append throughput: raw INSERT vs our append on PostgreSQL (1, 8, 32 writers), group commit on SQLite.
    Append(bench::append::AppendArgs),
    /// Søknad submissions over HTTP at rising rates, against the append rate.
    Submit(bench::submit::SubmitArgs),
    /// From a status update's answer to the change in GraphQL and in a subscription, under background load.
    Freshness(bench::freshness::FreshnessArgs),
    /// The citizen's `sak` query against a plain handler returning the same case.
    Query(bench::query::QueryArgs),
    /// `mineSaker` and `sak` with 10 thousand and (up to) 1 million cases.
    Scale(bench::scale::ScaleArgs),
    /// Rebuilding the innsyn model from position zero against reading the events.
    Rebuild(bench::rebuild::RebuildArgs),
    /// Søknader delivered over Fiks IO (RabbitMQ) at rising rates, beside the REST mailbox.
    FiksIo(bench::fiks_io::FiksIoArgs),
    /// The service as a child process under a steady load for a long time (default 20 minutes): memory and p99.
    Soak(bench::soak::SoakArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    bench::scratch::defer_removal();
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; benchmark figures need --release");
    }
    let outcome = match &cli.command {
        Command::All(args) => bench::suite::all(args).await,
        Command::Append(args) => bench::append::run(args).await,
        Command::Submit(args) => bench::suite::submit(args).await,
        Command::Freshness(args) => bench::suite::freshness(args).await,
        Command::Query(args) => bench::suite::query(args).await,
        Command::Scale(args) => bench::suite::scale(args).await,
        Command::Rebuild(args) => bench::suite::rebuild(args).await,
        Command::FiksIo(args) => bench::suite::fiks_io(args).await,
        Command::Soak(args) => bench::soak::run(args).await,
    };
    let outcome = match (outcome, bench::scratch::remove_retired().await) {
        (Ok(()), removed) => removed,
        (Err(e), Ok(())) => Err(e),
        (Err(e), Err(removal)) => Err(format!("{e} (and {removal})")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("digisos-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
