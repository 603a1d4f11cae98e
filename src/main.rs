//! The `digisos` command: serves the hub (the default), migrates, and mints development tokens.

use clap::{Parser, Subcommand};
use fiks_digisos::config::StorageConfig;
use fiks_digisos::server::ServeConfig;

#[derive(Parser, Debug)]
#[command(name = "digisos", version, about = "Fiks Digisos: søknader om sosialhjelp from Nav to the kommune")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the hub (the default when no subcommand is given).
    Serve(Box<ServeConfig>),
    /// Apply the database migrations and exit.
    Migrate {
        #[command(flatten)]
        storage: StorageConfig,
    },
    /// Print a development token for a role (accepted only while the service runs with DIGISOS_DEV_MODE=true).
    Token(fiks_digisos::auth::TokenArgs),
    /// Rebuild a read model without downtime (`projections rebuild <name>`), or show projection lag.
    Projections(fiks_digisos::projection_runner::cli::ProjectionsArgs),
    /// Print the GraphQL schema (SDL); `schema/schema.graphql` is this output, committed.
    GraphqlSchema,
    /// Drive the whole flow against a running service over its API, printing what the citizen and Nav staff see.
    Demo(Box<fiks_digisos::demo::DemoArgs>),
    /// Append to one stream forever, printing each acknowledged revision (used by the durability test).
    #[command(hide = true)]
    DebugAppendLoop {
        #[command(flatten)]
        storage: StorageConfig,
        /// The stream to append to.
        #[arg(long)]
        stream: String,
        /// Stop after this many appends.
        #[arg(long)]
        count: Option<u64>,
    },
}

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        // One readable line (with its causes) for the operator; no backtrace for a configuration mistake.
        tracing::error!(error = format!("{err:#}"), "fiks-digisos stopped");
        eprintln!("error: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    // `digisos` with no subcommand serves: parse again as `digisos serve …` so its flags and env apply.
    let cli = Cli::parse();
    let command = match cli.command {
        Some(command) => command,
        None => match Cli::parse_from(["digisos", "serve"]).command {
            Some(command) => command,
            None => unreachable!("`serve` always parses to a command"),
        },
    };
    let audit_log = match &command {
        Command::Serve(config) => Some(config.audit_log_path()),
        _ => None,
    };
    if let Err(err) = fiks_digisos::telemetry::init(true, audit_log.as_deref()) {
        // Unless DIGISOS_AUDIT_LOG is set, the audit log lives in the data folder: name the setting to fix.
        let setting = match &command {
            Command::Serve(config) if config.audit_log.is_none() => "DIGISOS_DATA_DIR",
            _ => "DIGISOS_AUDIT_LOG",
        };
        let path = audit_log.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        eprintln!("error: {setting}: cannot open the audit log {path}: {err}");
        std::process::exit(2);
    }
    match command {
        Command::Serve(config) => fiks_digisos::server::serve(*config).await,
        Command::Migrate { storage } => {
            tracing::info!(url_kind = %storage.database_url().split(':').next().unwrap_or(""), "migrating");
            let database = fiks_digisos::eventstore::open::Database::connect(&storage.database_url()).await?;
            database.migrate().await?;
            tracing::info!(backend = database.backend(), "migrated");
            Ok(())
        }
        Command::Token(args) => {
            // Only the token goes to stdout, so `TOKEN=$(digisos token …)` works; a usage error is one clear line.
            match args.run() {
                Ok(token) => {
                    println!("{token}");
                    Ok(())
                }
                Err(err) => {
                    eprintln!("error: {err}");
                    std::process::exit(2)
                }
            }
        }
        Command::Projections(args) => args.run().await,
        Command::Demo(args) => {
            fiks_digisos::demo::run(&args, &mut std::io::stdout()).await?;
            Ok(())
        }
        Command::GraphqlSchema => {
            print!("{}", fiks_digisos::graphql::sdl());
            Ok(())
        }
        Command::DebugAppendLoop { storage, stream, count } => {
            use fiks_digisos::eventstore::{StreamName, conformance, open};
            let stream = StreamName::parse(stream)?;
            let (store, database) = open::open(&storage.database_url()).await?;
            database.migrate().await?;
            conformance::append_loop(store, &stream, count, &mut std::io::stdout().lock()).await?;
            Ok(())
        }
    }
}
