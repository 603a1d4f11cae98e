//! The metrics of `/internal/metrics` (served by `crate::http::health`): what an operator graphs and alerts on,
//! in the Prometheus text format (version 0.0.4).
//!
//! Two kinds of numbers. What happens inside requests (HTTP requests and their latency, event-store appends) is
//! counted as it happens into one process-wide registry, as Prometheus client libraries do: a scrape sees the
//! totals since the process started. What describes the state of the system (how far each projection is behind,
//! how many deliveries wait in each kommune's mailbox) is read at scrape time from the same sources
//! `/internal/isready` and the mailbox use, so every instance reports the same numbers whichever of them leads.
//!
//! The numbers are kept and written by `prometheus-client` (Prometheus's own Rust client), in the Prometheus text
//! format 0.0.4 that NAIS scrapes: one process-wide registry for what is counted, and a registry made at each
//! scrape for what is read then, written one after the other. GraphQL is counted per root field
//! (`digisos_graphql_fields_total{field, outcome}`), appends per aggregate including the audit trail's. Labels
//! carry no personal data and stay few: HTTP requests are labelled by the *route template* axum matched
//! (`/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}`), never by the raw path whose ids are case data; an
//! unmatched request is `route="unmatched"`; an unknown method is `method="OTHER"`. Appends are labelled by the
//! aggregate (`sak`, `kommune`, `tilgangslogg`), GraphQL by the schema's field name (never an alias),
//! deliveries by kommunenummer (a public number).
//!
//! The route is `Rule::Public`, like the other `/internal` paths on NAIS: the platform's ingress does not expose
//! `/internal`, and the numbers (counts per route and per kommune) are operational, not personal.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use digisos_projections::{ReadDb, ReadError};
use prometheus_client::encoding::{EncodeLabelSet, prometheus_text};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::projection_runner::ProjectionLag;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// The upper bounds (seconds) of the latency histograms' buckets: Prometheus's defaults, with 1 ms and 2.5 ms
/// below them (appends and GraphQL fields take single milliseconds).
pub const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The label `route` of a request that matched no route (the raw path is never a label).
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// How an append ended, as the `outcome` label says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum AppendOutcome {
    /// The events were stored.
    Ok,
    /// Another writer appended to the stream first (the command is retried from a fresh read).
    Conflict,
    /// The store failed or refused.
    Error,
}

impl AppendOutcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Conflict => "conflict",
            Self::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppendLabels {
    aggregate: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AggregateLabel {
    aggregate: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ArsakLabel {
    arsak: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GrunnLabel {
    grunn: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KontoLabel {
    konto: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphqlLabels {
    field: String,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabel {
    version: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProjectionLabels {
    projection: String,
    version: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KommuneLabel {
    kommunenummer: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

fn histograms<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(latency_histogram as fn() -> Histogram)
}

/// The process-wide metrics, counted as things happen.
struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<HttpLabels>,
    appends: Family<AppendLabels, Counter>,
    append_duration: Histograms<AppendLabels>,
    appended_events: Family<AggregateLabel, Counter>,
    mellomlagring_removed: Family<ArsakLabel, Counter>,
    fiks_io_published: Counter,
    fiks_io_fallbacks: Family<GrunnLabel, Counter>,
    fiks_io_waiting: Family<KontoLabel, Gauge>,
    fiks_io_consumers: Family<KontoLabel, Gauge>,
    graphql_fields: Family<GraphqlLabels, Counter>,
    graphql_duration: Histograms<GraphqlLabels>,
    /// Per Fiks IO account: messages waiting on its queue and consumers listening, as last seen (read by
    /// `/internal/isready` and the katalog's status as well).
    fiks_io_accounts: Mutex<BTreeMap<String, (u32, u32)>>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::default();
        let build_info = Family::<VersionLabel, Gauge>::default();
        build_info.get_or_create(&VersionLabel { version: env!("CARGO_PKG_VERSION") }).set(1);
        registry.register("digisos_build_info", "The running version of fiks-digisos", build_info);
        let metrics = Self {
            http_requests: Family::default(),
            http_duration: histograms(),
            appends: Family::default(),
            append_duration: histograms(),
            appended_events: Family::default(),
            mellomlagring_removed: Family::default(),
            fiks_io_published: Counter::default(),
            fiks_io_fallbacks: Family::default(),
            fiks_io_waiting: Family::default(),
            fiks_io_consumers: Family::default(),
            graphql_fields: Family::default(),
            graphql_duration: histograms(),
            fiks_io_accounts: Mutex::default(),
            registry: Registry::default(),
        };
        registry.register(
            "digisos_http_requests",
            "HTTP requests answered, by method, route template, status",
            metrics.http_requests.clone(),
        );
        registry.register(
            "digisos_http_request_duration_seconds",
            "Time to answer an HTTP request (to the response head), in seconds",
            metrics.http_duration.clone(),
        );
        registry.register(
            "digisos_eventstore_appends",
            "Appends to the event store (commands by aggregate; the audit trail as tilgangslogg)",
            metrics.appends.clone(),
        );
        registry.register(
            "digisos_eventstore_append_duration_seconds",
            "Time of one append to the event store, in seconds",
            metrics.append_duration.clone(),
        );
        registry.register(
            "digisos_eventstore_appended_events",
            "Events appended to the event store",
            metrics.appended_events.clone(),
        );
        registry.register(
            "digisos_mellomlagring_files_removed",
            "Files removed from mellomlagring, by why (UTLOPT: swept after the configured age)",
            metrics.mellomlagring_removed.clone(),
        );
        registry.register(
            "digisos_fiks_io_published",
            "Fiks IO messages confirmed by the broker",
            metrics.fiks_io_published.clone(),
        );
        registry.register(
            "digisos_fiks_io_fallbacks",
            "Fiks IO deliveries that fell back to the mailbox, by why",
            metrics.fiks_io_fallbacks.clone(),
        );
        registry.register(
            "digisos_fiks_io_messages_waiting",
            "Messages waiting on a Fiks IO account's queue, as last seen",
            metrics.fiks_io_waiting.clone(),
        );
        registry.register(
            "digisos_fiks_io_consumers",
            "Consumers on a Fiks IO account's queue, as last seen",
            metrics.fiks_io_consumers.clone(),
        );
        registry.register(
            "digisos_graphql_fields",
            "GraphQL root fields resolved, by field and outcome (ok, or error when the field answered an error)",
            metrics.graphql_fields.clone(),
        );
        registry.register(
            "digisos_graphql_field_duration_seconds",
            "Time to resolve a GraphQL root field with everything below it, in seconds",
            metrics.graphql_duration.clone(),
        );
        Self { registry, ..metrics }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// A lock that survives a panic elsewhere: the map holds plain numbers, never left half-updated.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The method as a label: the standard ones by name, anything else `OTHER` (a client cannot add label values).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware counting every request by method, route template and status, with its latency (to the response
/// head; a streamed body or a WebSocket's life is not included). Installed by [`crate::app::with_layers`].
pub async fn track_http(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, |p| p.as_str()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    record_http(method, route, response.status().as_u16(), started.elapsed());
    response
}

fn record_http(method: &'static str, route: String, status: u16, elapsed: Duration) {
    let labels = HttpLabels { method, route, status };
    METRICS.http_requests.get_or_create(&labels).inc();
    METRICS.http_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
}

/// Records one append of `events` events to a stream of aggregate `aggregate` (`sak`, `kommune`, and
/// `tilgangslogg` for the audit trail's records).
pub fn record_append(aggregate: &'static str, outcome: AppendOutcome, events: usize, elapsed: Duration) {
    let labels = AppendLabels { aggregate, outcome: outcome.as_str() };
    METRICS.appends.get_or_create(&labels).inc();
    METRICS.append_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
    if outcome == AppendOutcome::Ok {
        METRICS.appended_events.get_or_create(&AggregateLabel { aggregate }).inc_by(events as u64);
    }
}

/// Records one GraphQL root field resolved (`field` is the schema's field name, never an alias).
pub fn record_graphql_field(field: &str, ok: bool, elapsed: Duration) {
    let labels = GraphqlLabels { field: field.to_owned(), outcome: if ok { "ok" } else { "error" } };
    METRICS.graphql_fields.get_or_create(&labels).inc();
    METRICS.graphql_duration.get_or_create(&labels).observe(elapsed.as_secs_f64());
}

/// Records files removed from mellomlagring, by why (`UTLOPT`: swept after the configured age; `SLETTET`: deleted
/// by Nav; `SENDT`: taken into a case).
pub fn record_mellomlagring_removed(arsak: digisos_schema::events::TomtArsak, files: u64) {
    use digisos_schema::events::TomtArsak;
    let arsak = match arsak {
        TomtArsak::Utlopt => "UTLOPT",
        TomtArsak::Slettet => "SLETTET",
        TomtArsak::Sendt => "SENDT",
    };
    METRICS.mellomlagring_removed.get_or_create(&ArsakLabel { arsak }).inc_by(files);
}

/// Records one Fiks IO message confirmed by the broker.
pub fn record_fiks_io_published() {
    METRICS.fiks_io_published.inc();
}

/// Records one Fiks IO delivery that fell back to the mailbox, by why.
pub fn record_fiks_io_fallback(grunn: digisos_schema::events::Fallbackgrunn) {
    let label = serde_json::to_value(grunn).ok().and_then(|v| v.as_str().map(str::to_owned));
    let grunn: &'static str = match label.as_deref() {
        Some("TIDSFRIST") => "TIDSFRIST",
        Some("LEVERINGSGRENSE") => "LEVERINGSGRENSE",
        Some("AVVIST") => "AVVIST",
        Some("UTLOPT") => "UTLOPT",
        Some("PAPIRSAK") => "PAPIRSAK",
        Some("MELDINGSFEIL") => "MELDINGSFEIL",
        _ => "UKONFIGURERT",
    };
    METRICS.fiks_io_fallbacks.get_or_create(&GrunnLabel { grunn }).inc();
}

/// Records what the broker said of a Fiks IO account's queue: messages waiting and consumers.
pub fn record_fiks_io_account(konto_id: &str, messages: u32, consumers: u32) {
    let labels = KontoLabel { konto: konto_id.to_owned() };
    METRICS.fiks_io_waiting.get_or_create(&labels).set(i64::from(messages));
    METRICS.fiks_io_consumers.get_or_create(&labels).set(i64::from(consumers));
    lock(&METRICS.fiks_io_accounts).insert(konto_id.to_owned(), (messages, consumers));
}

/// The Fiks IO accounts as last seen: `(kontoId, messages waiting, consumers)`.
pub fn fiks_io_accounts() -> Vec<(String, u32, u32)> {
    lock(&METRICS.fiks_io_accounts).iter().map(|(k, (m, c))| (k.clone(), *m, *c)).collect()
}

/// Waiting deliveries (status `SENDT`) per kommunenummer in the active version of the `mottak` read model, in
/// one query.
pub async fn deliveries_waiting(db: &ReadDb) -> Result<Vec<(String, i64)>, ReadError> {
    const SQL: &str = "SELECT kommunenummer, COUNT(*) FROM mottak_leveranse
                        WHERE version = (SELECT active_version FROM projection_state WHERE name = 'mottak')
                          AND status = 'SENDT'
                        GROUP BY kommunenummer ORDER BY kommunenummer";
    Ok(match db {
        ReadDb::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SQL).fetch_all(pool).await?,
    })
}

/// What a scrape reads at the time it is made: the projections' lag, and the waiting deliveries per kommune
/// (`None` when the read model did not answer).
#[derive(Debug, Default)]
pub struct Reading {
    /// Each projection's lag, as `/internal/isready` reports it.
    pub lag: Vec<ProjectionLag>,
    /// Waiting deliveries per kommunenummer, or `None` when they could not be counted.
    pub deliveries: Option<Vec<(String, i64)>>,
}

/// The exposition of `/internal/metrics`: the process-wide registry, then what `reading` holds (a registry made
/// for this scrape). Deliveries that could not be counted are left out, with a comment line saying so, rather
/// than failing the scrape: the HTTP numbers matter most when the database does not answer.
pub fn exposition(reading: Option<&Reading>) -> String {
    let mut out = String::with_capacity(8 * 1024);
    let mut now = Registry::default();
    let mut unavailable = "";
    if let Some(reading) = reading {
        register_lag(&mut now, &reading.lag);
        match &reading.deliveries {
            Some(rows) => register_deliveries(&mut now, rows),
            None => unavailable = "# digisos_deliveries_waiting unavailable: the mottak read model did not answer\n",
        }
    }
    let encoded =
        prometheus_text::encode(&mut out, &METRICS.registry).and_then(|()| prometheus_text::encode(&mut out, &now));
    if let Err(err) = encoded {
        tracing::error!(error = %err, "metrics: the exposition could not be written");
    }
    out.push_str(unavailable);
    out
}

/// The projections' lag, as gauges of this scrape.
fn register_lag(registry: &mut Registry, lag: &[ProjectionLag]) {
    let labels = |p: &ProjectionLag| {
        let status = match p.status {
            Some(s) => serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            None => String::new(),
        };
        ProjectionLabels {
            projection: p.name.clone(),
            version: p.version.map(|v| v.to_string()).unwrap_or_default(),
            status,
        }
    };
    type Value = fn(&ProjectionLag) -> f64;
    let gauges: [(&str, &str, Value); 4] = [
        (
            "digisos_projection_events_behind",
            "Committed events the projection has not applied yet (counting stops at 10000)",
            |p| p.events_behind as f64,
        ),
        (
            "digisos_projection_seconds_behind",
            "Age of the oldest event the projection has not applied yet, in seconds (0 when caught up)",
            |p| p.seconds_behind,
        ),
        (
            "digisos_projection_failing",
            "1 when the projection is stuck on an event it cannot apply (it retries, never skips)",
            |p| f64::from(u8::from(p.failure.is_some())),
        ),
        (
            "digisos_projection_leading_here",
            "1 when this instance runs the projection (one instance leads each projection)",
            |p| f64::from(u8::from(p.leading_here)),
        ),
    ];
    for (name, help, value) in gauges {
        let family = Family::<ProjectionLabels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        for p in lag {
            family.get_or_create(&labels(p)).set(value(p));
        }
        registry.register(name, help, family);
    }
}

/// The waiting deliveries per kommune, as a gauge of this scrape (a kommune with none has no series).
fn register_deliveries(registry: &mut Registry, rows: &[(String, i64)]) {
    let family = Family::<KommuneLabel, Gauge>::default();
    for (kommunenummer, n) in rows {
        family.get_or_create(&KommuneLabel { kommunenummer: kommunenummer.clone() }).set(*n);
    }
    registry.register(
        "digisos_deliveries_waiting",
        "Deliveries in a kommune's mailbox that the fagsystem has not confirmed or rejected",
        family,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scrape_writes_cumulative_buckets_the_count_and_unchanged_names() {
        record_append("proeve", AppendOutcome::Ok, 3, Duration::from_millis(2));
        record_append("proeve", AppendOutcome::Ok, 1, Duration::from_secs(30));
        // A family without a series is not written: record one request here rather than rely on another test.
        record_http("GET", "/proeve".to_owned(), 200, Duration::from_millis(1));
        let mut out = String::new();
        prometheus_text::encode(&mut out, &METRICS.registry).expect("encoded");
        let series = "aggregate=\"proeve\",outcome=\"ok\"";
        assert!(
            out.contains(&format!("digisos_eventstore_append_duration_seconds_bucket{{{series},le=\"0.001\"}} 0\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("digisos_eventstore_append_duration_seconds_bucket{{{series},le=\"0.0025\"}} 1\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("digisos_eventstore_append_duration_seconds_bucket{{{series},le=\"10\"}} 1\n")),
            "{out}"
        );
        assert!(
            out.contains(&format!("digisos_eventstore_append_duration_seconds_bucket{{{series},le=\"+Inf\"}} 2\n")),
            "{out}"
        );
        assert!(out.contains(&format!("digisos_eventstore_append_duration_seconds_count{{{series}}} 2\n")), "{out}");
        assert!(out.contains(&format!("digisos_eventstore_appends_total{{{series}}} 2\n")), "{out}");
        assert!(out.contains("digisos_eventstore_appended_events_total{aggregate=\"proeve\"} 4\n"), "{out}");
        assert!(out.contains("# TYPE digisos_http_requests_total counter\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        record_graphql_field("a\"b\\c\nd", true, Duration::from_millis(1));
        let mut out = String::new();
        prometheus_text::encode(&mut out, &METRICS.registry).expect("encoded");
        assert!(out.contains("digisos_graphql_fields_total{field=\"a\\\"b\\\\c\\nd\",outcome=\"ok\"} 1\n"), "{out}");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&custom), "OTHER");
        assert_eq!(method_label(&Method::POST), "POST");
    }
}
