//! Logging set-up, done once at start-up: JSON lines through `tracing`, filtered by `RUST_LOG`.
//!
//! Two sinks. Ordinary logs (JSON lines on stderr) never carry personal numbers: the types that hold them mask
//! themselves. The staff-access records of the `audit` target (ArcSight CEF lines, which do carry the citizen's
//! number, as the sporingslogg must) go only to the audit sink, a file of their own, and never to ordinary logs.

use std::fs::OpenOptions;
use std::path::Path;

use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, Targets, filter_fn};
use tracing_subscriber::fmt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::auth::audit::AUDIT_TARGET;

/// Installs the global subscriber: ordinary logs to stderr (JSON lines when `json`), and the `audit` target to
/// the file `audit_log` when given (appended, created if absent). Without an audit file, audit lines are dropped
/// from the ordinary logs all the same (the records are also events in the store).
pub fn init(json: bool, audit_log: Option<&Path>) -> std::io::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let not_audit = filter_fn(|meta| meta.target() != AUDIT_TARGET);
    let ordinary = if json {
        fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(not_audit)
            .with_filter(filter)
            .boxed()
    } else {
        fmt::layer().with_writer(std::io::stderr).with_filter(not_audit).with_filter(filter).boxed()
    };
    let audit = match audit_log {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let file = OpenOptions::new().create(true).append(true).open(path)?;
            Some(
                fmt::layer()
                    .with_writer(file)
                    .with_ansi(false)
                    .without_time()
                    .with_level(false)
                    .with_target(false)
                    .with_filter(Targets::new().with_target(AUDIT_TARGET, Level::INFO)),
            )
        }
        None => None,
    };
    // A second call (tests) keeps the first subscriber.
    let _ = Registry::default().with(ordinary).with(audit).try_init();
    Ok(())
}
