//! `digisos-bench`: the benchmarks of fiks-digisos, one subcommand each (see `BENCHMARKS.md` for results).
//!
//! Run in release mode: `cargo run --release --bin digisos-bench -- append [--seconds 8] [--write]`. The
//! benchmarks live in the library (`fiks_digisos::bench`), so later ones reuse its load generator, scratch
//! databases and report writer; this file only parses the command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fiks_digisos::bench;

#[derive(Parser, Debug)]
#[command(name = "digisos-bench", version, about = "Benchmarks of fiks-digisos (build with --release)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Append throughput: raw INSERT vs our append on PostgreSQL (1, 8, 32 writers), group commit on SQLite.
    Append(bench::append::AppendArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; benchmark figures need --release");
    }
    let outcome = match &cli.command {
        Command::Append(args) => bench::append::run(args).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("digisos-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
