//! `/internal/metrics`: what an operator graphs and alerts on, in the Prometheus text format (version 0.0.4).
//!
//! Two kinds of numbers. What happens inside requests (HTTP requests and their latency, event-store appends) is
//! counted as it happens into one process-wide registry, as Prometheus client libraries do: a scrape sees the
//! totals since the process started. What describes the state of the system (how far each projection is behind,
//! how many deliveries wait in each kommune's mailbox) is read at scrape time from the same sources
//! `/internal/isready` and the mailbox use, so every instance reports the same numbers whichever of them leads.
//!
//! The exposition is written by hand (a few counters and histograms need no metrics framework). Labels carry no
//! personal data and stay few: HTTP requests are labelled by the *route template* axum matched
//! (`/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}`), never by the raw path whose ids are case data; an
//! unmatched request is `route="unmatched"`; an unknown method is `method="OTHER"`. Appends are labelled by the
//! aggregate (`sak`, `kommune`), deliveries by kommunenummer (a public number).
//!
//! The route is `Rule::Public`, like the other `/internal` paths on NAIS: the platform's ingress does not expose
//! `/internal`, and the numbers (counts per route and per kommune) are operational, not personal.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use digisos_projections::{ReadDb, ReadError};

use crate::http::read_side::ReadSide;
use crate::projection_runner::ProjectionLag;

/// The content type of the Prometheus text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The upper bounds (seconds) of the latency histograms' buckets: Prometheus's defaults.
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

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

/// Observations of one label set: a histogram (its count is also the label set's counter).
#[derive(Clone, Debug, Default)]
struct Histogram {
    /// Observations at or below each bound of [`BUCKETS`] (cumulative counts are summed when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(i) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[i] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }
}

type HttpKey = (&'static str, String, u16);
type AppendKey = (&'static str, AppendOutcome);

/// The process-wide counters.
#[derive(Default)]
struct Registry {
    http: Mutex<BTreeMap<HttpKey, Histogram>>,
    appends: Mutex<BTreeMap<AppendKey, Histogram>>,
    appended_events: Mutex<BTreeMap<&'static str, u64>>,
    mellomlagring_removed: Mutex<BTreeMap<&'static str, u64>>,
    fiks_io_published: Mutex<u64>,
    fiks_io_fallbacks: Mutex<BTreeMap<&'static str, u64>>,
    /// Per Fiks IO account: messages waiting on its queue and consumers listening, as last seen.
    fiks_io_accounts: Mutex<BTreeMap<String, (u32, u32)>>,
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);

/// A lock that survives a panic elsewhere: counters are plain numbers, never left half-updated.
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
/// head; a streamed body or a WebSocket's life is not included). Installed by [`crate::http::with_layers`].
pub async fn track_http(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map_or(UNMATCHED_ROUTE, |p| p.as_str()).to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    record_http(method, route, response.status().as_u16(), started.elapsed());
    response
}

fn record_http(method: &'static str, route: String, status: u16, elapsed: Duration) {
    lock(&REGISTRY.http).entry((method, route, status)).or_default().observe(elapsed.as_secs_f64());
}

/// Records one append of `events` events to a stream of aggregate `aggregate` (`sak`, `kommune`).
pub fn record_append(aggregate: &'static str, outcome: AppendOutcome, events: usize, elapsed: Duration) {
    lock(&REGISTRY.appends).entry((aggregate, outcome)).or_default().observe(elapsed.as_secs_f64());
    if outcome == AppendOutcome::Ok {
        *lock(&REGISTRY.appended_events).entry(aggregate).or_default() += events as u64;
    }
}

/// Records files removed from mellomlagring, by why (`UTLOPT`: swept after the configured age; `SLETTET`: deleted
/// by Nav; `SENDT`: taken into a case).
pub fn record_mellomlagring_removed(arsak: digisos_schema::events::TomtArsak, files: u64) {
    use digisos_schema::events::TomtArsak;
    let label = match arsak {
        TomtArsak::Utlopt => "UTLOPT",
        TomtArsak::Slettet => "SLETTET",
        TomtArsak::Sendt => "SENDT",
    };
    *lock(&REGISTRY.mellomlagring_removed).entry(label).or_default() += files;
}

/// Records one Fiks IO message confirmed by the broker.
pub fn record_fiks_io_published() {
    *lock(&REGISTRY.fiks_io_published) += 1;
}

/// Records one Fiks IO delivery that fell back to the mailbox, by why.
pub fn record_fiks_io_fallback(grunn: digisos_schema::events::Fallbackgrunn) {
    let label = serde_json::to_value(grunn).ok().and_then(|v| v.as_str().map(str::to_owned));
    let label: &'static str = match label.as_deref() {
        Some("TIDSFRIST") => "TIDSFRIST",
        Some("LEVERINGSGRENSE") => "LEVERINGSGRENSE",
        Some("AVVIST") => "AVVIST",
        Some("UTLOPT") => "UTLOPT",
        Some("PAPIRSAK") => "PAPIRSAK",
        Some("MELDINGSFEIL") => "MELDINGSFEIL",
        _ => "UKONFIGURERT",
    };
    *lock(&REGISTRY.fiks_io_fallbacks).entry(label).or_default() += 1;
}

/// Records what the broker said of a Fiks IO account's queue: messages waiting and consumers.
pub fn record_fiks_io_account(konto_id: &str, messages: u32, consumers: u32) {
    lock(&REGISTRY.fiks_io_accounts).insert(konto_id.to_owned(), (messages, consumers));
}

/// The Fiks IO accounts as last seen: `(kontoId, messages waiting, consumers)`.
pub fn fiks_io_accounts() -> Vec<(String, u32, u32)> {
    lock(&REGISTRY.fiks_io_accounts).iter().map(|(k, (m, c))| (k.clone(), *m, *c)).collect()
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

/// `GET /internal/metrics`: the registry's counters, then the projections' lag and the waiting deliveries read
/// now. A read-model query that fails leaves its metric out (and says why in a comment line) rather than failing
/// the scrape: the HTTP numbers matter most when the database does not answer.
pub async fn handler(read_side: Option<ReadSide>) -> Response {
    let mut out = String::with_capacity(8 * 1024);
    render_registry(&mut out);
    if let Some(read) = read_side {
        render_lag(&mut out, &read.runner.lag_report().await);
        match deliveries_waiting(&read.db).await {
            Ok(rows) => render_deliveries(&mut out, &rows),
            Err(err) => {
                tracing::warn!(error = %err, "metrics: waiting deliveries could not be counted");
                let _ = writeln!(out, "# digisos_deliveries_waiting unavailable: the mottak read model did not answer");
            }
        }
    }
    let mut response = out.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// A label value as the text format writes it (backslash, quote and newline escaped).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn describe(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram_lines(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let mut cumulative = 0;
    for (bound, n) in BUCKETS.iter().zip(h.buckets) {
        cumulative += n;
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", h.sum);
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

fn render_registry(out: &mut String) {
    describe(out, "digisos_build_info", "gauge", "The running version of fiks-digisos.");
    let _ = writeln!(out, "digisos_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"));

    let http = lock(&REGISTRY.http).clone();
    let labels = |(method, route, status): &HttpKey| {
        format!("method=\"{method}\",route=\"{}\",status=\"{status}\"", escape(route))
    };
    describe(
        out,
        "digisos_http_requests_total",
        "counter",
        "HTTP requests answered, by method, route template, status.",
    );
    for (key, h) in &http {
        let _ = writeln!(out, "digisos_http_requests_total{{{}}} {}", labels(key), h.count);
    }
    let name = "digisos_http_request_duration_seconds";
    describe(out, name, "histogram", "Time to answer an HTTP request (to the response head), in seconds.");
    for (key, h) in &http {
        histogram_lines(out, name, &labels(key), h);
    }

    let appends = lock(&REGISTRY.appends).clone();
    let labels =
        |(aggregate, outcome): &AppendKey| format!("aggregate=\"{aggregate}\",outcome=\"{}\"", outcome.as_str());
    describe(out, "digisos_eventstore_appends_total", "counter", "Appends to the event store by commands.");
    for (key, h) in &appends {
        let _ = writeln!(out, "digisos_eventstore_appends_total{{{}}} {}", labels(key), h.count);
    }
    let name = "digisos_eventstore_append_duration_seconds";
    describe(out, name, "histogram", "Time of one append to the event store, in seconds.");
    for (key, h) in &appends {
        histogram_lines(out, name, &labels(key), h);
    }
    let events = lock(&REGISTRY.appended_events).clone();
    describe(out, "digisos_eventstore_appended_events_total", "counter", "Events appended to the event store.");
    for (aggregate, n) in &events {
        let _ = writeln!(out, "digisos_eventstore_appended_events_total{{aggregate=\"{aggregate}\"}} {n}");
    }
    let removed = lock(&REGISTRY.mellomlagring_removed).clone();
    let name = "digisos_mellomlagring_files_removed_total";
    describe(
        out,
        name,
        "counter",
        "Files removed from mellomlagring, by why (UTLOPT: swept after the configured age).",
    );
    for (arsak, n) in &removed {
        let _ = writeln!(out, "{name}{{arsak=\"{arsak}\"}} {n}");
    }
    let published = *lock(&REGISTRY.fiks_io_published);
    describe(out, "digisos_fiks_io_published_total", "counter", "Fiks IO messages confirmed by the broker.");
    let _ = writeln!(out, "digisos_fiks_io_published_total {published}");
    let fallbacks = lock(&REGISTRY.fiks_io_fallbacks).clone();
    let name = "digisos_fiks_io_fallbacks_total";
    describe(out, name, "counter", "Fiks IO deliveries that fell back to the mailbox, by why.");
    for (grunn, n) in &fallbacks {
        let _ = writeln!(out, "{name}{{grunn=\"{grunn}\"}} {n}");
    }
    let accounts = fiks_io_accounts();
    let name = "digisos_fiks_io_messages_waiting";
    describe(out, name, "gauge", "Messages waiting on a Fiks IO account's queue, as last seen.");
    for (konto, messages, _) in &accounts {
        let _ = writeln!(out, "{name}{{konto=\"{konto}\"}} {messages}");
    }
    let name = "digisos_fiks_io_consumers";
    describe(out, name, "gauge", "Consumers on a Fiks IO account's queue, as last seen.");
    for (konto, _, consumers) in &accounts {
        let _ = writeln!(out, "{name}{{konto=\"{konto}\"}} {consumers}");
    }
}

fn render_lag(out: &mut String, lag: &[ProjectionLag]) {
    let labels = |p: &ProjectionLag| {
        let version = p.version.map(|v| v.to_string()).unwrap_or_default();
        let status = match p.status {
            Some(s) => serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default(),
            None => String::new(),
        };
        format!("projection=\"{}\",version=\"{version}\",status=\"{status}\"", escape(&p.name))
    };
    type Value = fn(&ProjectionLag) -> f64;
    let gauges: [(&str, &str, Value); 4] = [
        (
            "digisos_projection_events_behind",
            "Committed events the projection has not applied yet (counting stops at 10000).",
            |p| p.events_behind as f64,
        ),
        (
            "digisos_projection_seconds_behind",
            "Age of the oldest event the projection has not applied yet, in seconds (0 when caught up).",
            |p| p.seconds_behind,
        ),
        (
            "digisos_projection_failing",
            "1 when the projection is stuck on an event it cannot apply (it retries, never skips).",
            |p| f64::from(u8::from(p.failure.is_some())),
        ),
        (
            "digisos_projection_leading_here",
            "1 when this instance runs the projection (one instance leads each projection).",
            |p| f64::from(u8::from(p.leading_here)),
        ),
    ];
    for (name, help, value) in gauges {
        describe(out, name, "gauge", help);
        for p in lag {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(p), value(p));
        }
    }
}

fn render_deliveries(out: &mut String, rows: &[(String, i64)]) {
    let name = "digisos_deliveries_waiting";
    describe(out, name, "gauge", "Deliveries in a kommune's mailbox that the fagsystem has not confirmed or rejected.");
    for (kommunenummer, n) in rows {
        let _ = writeln!(out, "{name}{{kommunenummer=\"{}\"}} {n}", escape(kommunenummer));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_end_with_the_count() {
        let mut h = Histogram::default();
        for s in [0.001, 0.02, 0.02, 30.0] {
            h.observe(s);
        }
        let mut out = String::new();
        histogram_lines(&mut out, "x", "a=\"b\"", &h);
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.025\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"10\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 4\n"), "{out}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn unknown_methods_share_one_label() {
        let custom = Method::from_bytes(b"BREW").expect("a method");
        assert_eq!(method_label(&custom), "OTHER");
        assert_eq!(method_label(&Method::POST), "POST");
    }
}
