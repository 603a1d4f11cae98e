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
    Demo(Box<digisos_demo::DemoArgs>),
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
            digisos_demo::run(&args, &demo_issuer::ServiceIssuer, &mut std::io::stdout()).await?;
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

/// The demo (its own crate, a client of the service) mints its tokens with the service's development issuer.
mod demo_issuer {
    use std::path::Path;
    use std::time::Duration;

    use digisos_demo::{DevIssuer, DevIssuers, Party};
    use fiks_digisos::auth::dev_issuer::{self, DevRole, KEY_FILE};
    use fiks_digisos::auth::{Fnr, NavIdent, Orgnr};

    /// The development issuer whose key is in a service's data folder.
    pub struct ServiceIssuer;

    impl DevIssuers for ServiceIssuer {
        fn load(&self, data_dir: &Path) -> Result<Box<dyn DevIssuer + Send + Sync>, String> {
            let key = data_dir.join(KEY_FILE);
            if !key.exists() {
                return Err(format!("there is no development issuer key at {}", key.display()));
            }
            let issuer = dev_issuer::DevIssuer::load_or_create(data_dir).map_err(|e| e.to_string())?;
            Ok(Box::new(Issuer(issuer)))
        }
    }

    struct Issuer(dev_issuer::DevIssuer);

    impl DevIssuer for Issuer {
        fn kid(&self) -> &str {
            self.0.kid()
        }

        fn key_path(&self) -> &Path {
            self.0.key_path()
        }

        fn mint(&self, party: Party<'_>, ttl: Duration) -> Result<String, String> {
            let wrong = |flag: &str, e: &dyn std::fmt::Display| format!("{flag}: {e}");
            let role = match party {
                Party::Citizen(fnr) => DevRole::Citizen(Fnr::parse(fnr).map_err(|e| wrong("--fnr", &e))?),
                Party::NavSystem => DevRole::NavSystem,
                Party::NavStaff(id) => DevRole::NavStaff(NavIdent::parse(id).map_err(|e| wrong("--navident", &e))?),
                Party::Fagsystem(orgnr) => {
                    DevRole::Fagsystem(Orgnr::parse(orgnr).map_err(|e| wrong("--fagsystem-orgnr", &e))?)
                }
                Party::Admin => DevRole::Admin,
            };
            self.0.mint(&role, ttl).map_err(|e| e.to_string())
        }
    }
}
