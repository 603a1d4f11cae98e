//! `digisos-bench append`: how fast our append is, measured beside the simplest write of the same row.
//!
//! PostgreSQL: a raw single-row INSERT into a copy of `es_events` (same columns, defaults, keys and indexes, no
//! foreign key), one row per autocommit transaction, against our `append` with one event per call, each writer
//! on its own streams, at 1, 8 and 32 concurrent writers. Goal: append ≥ 0.8 of the raw rate at 8 and 32 writers,
//! i.e. the stream lock, the revision check and the idempotency check cost little and group commit still works.
//! SQLite: our append with 1 and 32 concurrent callers. Goal: 32 callers ≥ 5x one caller (the writer task's
//! group commit); a raw single-row INSERT with `synchronous=FULL` is shown for reference.
//!
//! Both sides of a comparison use the same connection settings, the same payload and the same number of
//! connections, and run in one process in the order raw, append, append, raw (half the time each), so drift
//! during the run (autovacuum, checkpoints, other work on the machine) touches both alike and the ratio means
//! something even on a noisy machine. Each part runs a fixed time after an unmeasured warm-up (see
//! [`load`](super::load)).

mod postgres;
mod sqlite;

use std::time::Duration;

use clap::Args;
use serde_json::json;
use uuid::Uuid;

use super::load::Measurement;
use super::report::{Machine, WriteArgs, provenance, table, thousands};
use super::scratch::DEFAULT_POSTGRES_URL;
use fiks_digisos::eventstore::{ExpectedRevision, NewEvent, StreamName};

/// Options of `digisos-bench append`.
#[derive(Args, Clone, Debug)]
pub struct AppendArgs {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,

    /// Seconds of unmeasured warm-up before each measurement.
    #[arg(long, default_value_t = 1)]
    pub warmup: u64,

    /// The PostgreSQL server to create the scratch database on (default: postgres@127.0.0.1:5432).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Concurrent writers on PostgreSQL, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 8, 32])]
    pub pg_writers: Vec<usize>,

    /// Concurrent callers on SQLite, comma-separated (the first is the baseline).
    #[arg(long, value_delimiter = ',', default_values_t = [1, 32])]
    pub sqlite_callers: Vec<usize>,

    /// Skip PostgreSQL.
    #[arg(long)]
    pub no_postgres: bool,

    /// Skip SQLite.
    #[arg(long)]
    pub no_sqlite: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub out: WriteArgs,
}

impl AppendArgs {
    fn warmup(&self) -> Duration {
        Duration::from_secs(self.warmup)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.seconds.max(1))
    }

    /// The server URL: the configured one if it is PostgreSQL's, else the local default.
    fn postgres_server(&self) -> String {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url.clone(),
            _ => DEFAULT_POSTGRES_URL.to_string(),
        }
    }
}

/// PostgreSQL's figures: the server and, per writer count, the raw INSERT and our append.
#[derive(Clone, Debug)]
pub struct PgFigures {
    /// Version and durability settings of the server.
    pub server: String,
    /// One row per writer count.
    pub rows: Vec<PgRow>,
}

/// The raw INSERT and our append at one writer count.
#[derive(Clone, Copy, Debug)]
pub struct PgRow {
    /// The raw INSERT.
    pub raw: Measurement,
    /// Our append.
    pub append: Measurement,
    /// WAL written per raw INSERT (the server's whole WAL: other databases' writes count too).
    pub raw_wal_bytes: f64,
    /// WAL written per append.
    pub append_wal_bytes: f64,
}

/// SQLite's figures.
#[derive(Clone, Debug)]
pub struct SqliteFigures {
    /// Our append per caller count.
    pub appends: Vec<Measurement>,
    /// The raw single-row INSERT, one connection.
    pub raw: Measurement,
    /// Version and settings.
    pub settings: String,
}

/// Runs the benchmark, prints the report, and writes it into BENCHMARKS.md with `--write`.
pub async fn run(args: &AppendArgs) -> Result<(), String> {
    let (pg, lite) = measure(args).await?;
    report(args, pg.as_ref(), lite.as_ref())
}

/// Measures without reporting (`digisos-bench all` reports it with the other scenarios).
pub async fn measure(args: &AppendArgs) -> Result<(Option<PgFigures>, Option<SqliteFigures>), String> {
    let pg = if args.no_postgres {
        None
    } else {
        eprintln!(
            "PostgreSQL at {}: {} writer levels, {} s each …",
            redact(&args.postgres_server()),
            args.pg_writers.len(),
            args.seconds
        );
        Some(postgres::run(&args.postgres_server(), &args.pg_writers, args.warmup(), args.window()).await?)
    };
    let lite = if args.no_sqlite {
        None
    } else {
        eprintln!(
            "SQLite in a temporary folder: {} caller levels, {} s each …",
            args.sqlite_callers.len(),
            args.seconds
        );
        Some(sqlite::run(&args.sqlite_callers, args.warmup(), args.window()).await?)
    };
    Ok((pg, lite))
}

/// Our append's rate at the most writers measured, per backend: the reference of the `submit` scenario.
pub fn reference(pg: Option<&PgFigures>, lite: Option<&SqliteFigures>) -> Vec<(super::app::Backend, f64)> {
    let pg = pg.and_then(|f| f.rows.iter().max_by_key(|r| r.append.callers)).map(|r| r.append.per_second());
    let lite = lite.and_then(|f| f.appends.iter().max_by_key(|m| m.callers)).map(Measurement::per_second);
    [(super::app::Backend::Postgres, pg), (super::app::Backend::Sqlite, lite)]
        .into_iter()
        .filter_map(|(b, r)| r.map(|r| (b, r)))
        .collect()
}

/// Prints the report and writes it with `--write`.
pub fn report(args: &AppendArgs, pg: Option<&PgFigures>, lite: Option<&SqliteFigures>) -> Result<(), String> {
    let machine = Machine::detect();
    let command = format!("cargo run --release --bin digisos-bench -- append --seconds {}", args.seconds);
    report_as(args, &command, &machine, pg, lite)
}

/// [`report`] naming the command that produced it.
pub fn report_as(
    args: &AppendArgs,
    command: &str,
    machine: &Machine,
    pg: Option<&PgFigures>,
    lite: Option<&SqliteFigures>,
) -> Result<(), String> {
    let body = render(&provenance(command, machine), args.seconds, pg, lite);
    println!("{body}");
    if let Some(path) = args.out.apply("append", &body)? {
        eprintln!("wrote the append section of {}", path.display());
    }
    Ok(())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => match url[scheme + 3..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

/// How many events one stream gets before a writer moves on to a new one (case streams are short).
const STREAM_LENGTH: u64 = 50;

/// The `n`-th event of a writer: which of its streams, the revision there, and what it expects.
fn slot(n: u64) -> (u64, u64, ExpectedRevision) {
    let (stream, revision) = (n / STREAM_LENGTH, n % STREAM_LENGTH);
    let expected = if revision == 0 { ExpectedRevision::NoStream } else { ExpectedRevision::Exact(revision - 1) };
    (stream, revision, expected)
}

/// The stream of writer `caller`'s `k`-th stream in measurement `level`.
fn stream_name(level: usize, caller: usize, k: u64) -> Result<StreamName, String> {
    StreamName::parse(format!("bench-{level}-{caller}-{k}")).map_err(|e| e.to_string())
}

/// The payload every write carries, raw or appended: a small søknad-like event and its metadata.
fn payload(caller: usize, n: u64) -> (serde_json::Value, serde_json::Value) {
    let data = json!({
        "fiksDigisosId": Uuid::now_v7(),
        "kommunenummer": "0301",
        "navEksternRefId": format!("bench-{caller}-{n}"),
        "status": "MOTTATT",
        "tekst": "Søknad om økonomisk sosialhjelp er mottatt",
    });
    (data, json!({ "correlationId": Uuid::now_v7(), "caller": { "kind": "bench" } }))
}

/// The event our append writes for writer `caller`'s `n`-th call.
fn new_event(caller: usize, n: u64) -> NewEvent {
    let (data, metadata) = payload(caller, n);
    NewEvent::new(EVENT_TYPE, data).with_metadata(metadata)
}

const EVENT_TYPE: &str = "BenchSoknadMottatt.v1";

fn millis(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn render(provenance: &str, seconds: u64, pg: Option<&PgFigures>, lite: Option<&SqliteFigures>) -> String {
    let mut out = vec!["## append".to_string(), String::new(), provenance.to_string()];
    if let Some(pg) = pg {
        out.push(String::new());
        out.push(format!("### PostgreSQL: one event per transaction, {seconds} s per measurement"));
        out.push(String::new());
        out.push(pg.server.clone());
        out.push(String::new());
        let rows: Vec<Vec<String>> = pg
            .rows
            .iter()
            .map(|PgRow { raw, append: ours, raw_wal_bytes, append_wal_bytes }| {
                let ratio = ours.per_second() / raw.per_second().max(f64::EPSILON);
                let goal = match raw.callers >= 8 {
                    true if ratio >= 0.8 => "≥ 0.80: met",
                    true => "≥ 0.80: MISSED",
                    false => "",
                };
                vec![
                    raw.callers.to_string(),
                    thousands(raw.per_second()),
                    thousands(ours.per_second()),
                    format!("{ratio:.2}"),
                    goal.to_string(),
                    millis(raw.p50),
                    millis(ours.p50),
                    millis(ours.p99),
                    format!("{} / {}", thousands(*raw_wal_bytes), thousands(*append_wal_bytes)),
                ]
            })
            .collect();
        let header = [
            "writers",
            "raw INSERT events/s",
            "append events/s",
            "append / raw",
            "goal",
            "raw p50",
            "append p50",
            "append p99",
            "WAL bytes per event, raw / append",
        ];
        out.push(table(&header, &rows));
        out.push(String::new());
        out.push(
            "Raw INSERT: one row per autocommit transaction into a copy of `es_events` (`LIKE … INCLUDING ALL`: \
             same columns, defaults, keys and indexes; no foreign key). Append: `EventStore::append` with one event, \
             each writer on its own streams (a new stream every 50 events, `NoStream` then `Exact`). Both use the \
             store's connection settings (`synchronous_commit=on`) and one pool with a connection per writer; they run \
             raw, append, append, raw, half the time each."
                .to_string(),
        );
    }
    if let Some(lite) = lite {
        out.push(String::new());
        out.push(format!("### SQLite: {seconds} s per measurement"));
        out.push(String::new());
        out.push(lite.settings.clone());
        out.push(String::new());
        let base = lite.appends.first().map(Measurement::per_second).unwrap_or(0.0);
        let rows: Vec<Vec<String>> = lite
            .appends
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let factor = m.per_second() / base.max(f64::EPSILON);
                let goal = match i > 0 && m.callers >= 32 {
                    true if factor >= 5.0 => "≥ 5x: met",
                    true => "≥ 5x: MISSED",
                    false => "",
                };
                vec![
                    m.callers.to_string(),
                    thousands(m.per_second()),
                    format!("{factor:.1}x"),
                    goal.to_string(),
                    millis(m.p50),
                    millis(m.p99),
                ]
            })
            .collect();
        out.push(table(&["callers", "append events/s", "vs first row", "goal", "p50", "p99"], &rows));
        out.push(String::new());
        out.push(format!(
            "For reference, a raw single-row INSERT per transaction on one connection (same settings): {} events/s \
             (p50 {}). Group commit is what lets many callers beat that.",
            thousands(lite.raw.per_second()),
            millis(lite.raw.p50)
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_fill_streams_of_fifty_with_exact_expectations() {
        assert_eq!(slot(0), (0, 0, ExpectedRevision::NoStream));
        assert_eq!(slot(1), (0, 1, ExpectedRevision::Exact(0)));
        assert_eq!(slot(49), (0, 49, ExpectedRevision::Exact(48)));
        assert_eq!(slot(50), (1, 0, ExpectedRevision::NoStream));
    }

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(redact("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432/postgres"),
            "postgres://postgres@127.0.0.1:5432/postgres"
        );
    }

    #[test]
    fn the_report_marks_goals_met_and_missed() {
        let m = |callers, operations| Measurement {
            callers,
            operations,
            window: Duration::from_secs(1),
            p50: Duration::from_millis(1),
            p99: Duration::from_millis(2),
        };
        let row = |callers, append| PgRow {
            raw: m(callers, 100),
            append: m(callers, append),
            raw_wal_bytes: 500.0,
            append_wal_bytes: 900.0,
        };
        let pg = PgFigures { server: "PostgreSQL 15".into(), rows: vec![row(1, 50), row(8, 90), row(32, 70)] };
        let lite = SqliteFigures { appends: vec![m(1, 100), m(32, 600)], raw: m(1, 100), settings: "WAL".into() };
        let text = render("provenance", 1, Some(&pg), Some(&lite));
        assert!(text.contains("≥ 0.80: met") && text.contains("≥ 0.80: MISSED") && text.contains("≥ 5x: met"));
        assert_eq!(text.matches("MISSED").count(), 1, "no goal at one writer");
    }
}
