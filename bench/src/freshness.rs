//! `digisos-bench freshness`: how soon a status update is visible to the citizen, under a background load.
//!
//! Background: status updates from the fagsystem to other cases, offered open-loop at the rate that appends
//! 200 events/s (each update adds one hendelse: a `HendelseRegistrert` and a `DigisosSokerOppdatert`).
//! Measured, one at a time: a status update to one of a few watched cases, then, from the moment its 202 arrived,
//! (a) the citizen's `sak` query with the command's position (`x-digisos-min-position`: it answers once the read
//! model has the change) until it returns the new hendelse, and (b) the message of the citizen's `sakOppdatert`
//! subscription (a WebSocket open all along) that carries it. Goal: p99 under 50 ms for both, on both databases.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use digisos_schema::events::sak_stream;
use digisos_schema::types::FiksDigisosId;
use serde_json::{Value, json};

use super::app::{Backend, BenchApp, Projections};
use super::client::{Subscriber, gql, hendelser, soknad_body, synthetic_fnrs};
use super::common::{Summary, Targets, goal, millis};
use super::rate::open_loop;
use super::report::table;
use fiks_digisos::eventstore::StreamName;

/// The goal for p99, query and subscription alike.
pub const P99_GOAL: Duration = Duration::from_millis(50);

const SAK: &str =
    "query($id: String!) { sak(fiksDigisosId: $id) { fiksDigisosId saker { tittel } utbetalinger { referanse } } }";
const SAK_OPPDATERT: &str = "subscription($id: String!) { sakOppdatert(fiksDigisosId: $id) { fiksDigisosId \
                             saker { tittel } utbetalinger { referanse } } }";

/// Options of `digisos-bench freshness`.
#[derive(Args, Clone, Debug)]
pub struct FreshnessArgs {
    /// Seconds of measurement.
    #[arg(long, default_value_t = 15)]
    pub seconds: u64,

    /// Background load, events per second.
    #[arg(long, default_value_t = 200.0)]
    pub background: f64,

    /// Milliseconds between measured updates.
    #[arg(long, default_value_t = 40)]
    pub interval_ms: u64,

    /// Cases the background load updates in turn. Each update re-sends the case's whole status file (as the
    /// fagsystem does) and each projection re-folds the case, so the fewer the cases, the longer each one's
    /// history grows during the run and the more each background update costs.
    #[arg(long, default_value_t = 400)]
    pub background_cases: usize,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

/// The sizes of one run.
#[derive(Clone, Debug)]
pub struct FreshnessConfig {
    /// How long measured updates are made.
    pub window: Duration,
    /// Background events per second.
    pub background: f64,
    /// The pause between one measurement's end and the next update.
    pub interval: Duration,
    /// Watched cases (each with a subscription), updated in turn.
    pub watched: usize,
    /// Background cases, updated in turn.
    pub background_cases: usize,
}

impl From<&FreshnessArgs> for FreshnessConfig {
    fn from(args: &FreshnessArgs) -> Self {
        Self {
            window: Duration::from_secs(args.seconds.max(1)),
            background: args.background,
            interval: Duration::from_millis(args.interval_ms),
            watched: 8,
            background_cases: args.background_cases.max(1),
        }
    }
}

/// One backend's figures.
#[derive(Clone, Debug)]
pub struct FreshnessFigures {
    /// The backend.
    pub backend: Backend,
    /// From the update's 202 to the query returning it.
    pub query: Summary,
    /// From the update's 202 to the subscription message carrying it.
    pub subscription: Summary,
    /// The update's own latency (request to 202).
    pub command: Summary,
    /// The background events per second actually appended.
    pub background_events: f64,
    /// Background updates that failed.
    pub background_errors: u64,
}

/// How many saker and utbetalinger a case with the first `m` hendelser shows (the first two are statuses).
fn expected_items(m: usize) -> usize {
    m.saturating_sub(2)
}

fn items(sak: &Value) -> usize {
    sak["saker"].as_array().map_or(0, Vec::len) + sak["utbetalinger"].as_array().map_or(0, Vec::len)
}

/// Starts an app on `backend` and measures.
pub async fn measure(
    backend: Backend,
    postgres_server: &str,
    config: &FreshnessConfig,
) -> Result<FreshnessFigures, String> {
    let app = BenchApp::start(backend, postgres_server, Projections::All).await?;
    let outcome = tokio::select! {
        outcome = run_on(&app, config) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = app.finish().await;
    let figures = outcome?;
    finished.map(|()| figures)
}

struct Case {
    id: String,
    hendelser: AtomicUsize,
}

async fn run_on(app: &BenchApp, config: &FreshnessConfig) -> Result<FreshnessFigures, String> {
    app.configure_kommune().await?;
    let fnr = synthetic_fnrs(1).pop().ok_or("no citizen")?;
    let citizen = app.citizen(&fnr)?;
    let fagsystem = app.fagsystem()?;
    let mut cases = Vec::new();
    let mut last = None;
    for i in 0..config.watched + config.background_cases {
        let (id, _) = app.submit(&citizen, soknad_body(&fnr, 2000, i as u64)?).await?;
        last = Some(app.update(&fagsystem, &id, &hendelser(2)).await?);
        cases.push(Arc::new(Case { id, hendelser: AtomicUsize::new(2) }));
    }
    if let Some(position) = last {
        app.caught_up(position).await?;
    }
    let (watched, background) = cases.split_at(config.watched.max(1));
    let background: Arc<Vec<Arc<Case>>> = Arc::new(background.to_vec());

    // Events per background update, counted on one update.
    let probe = background.first().ok_or("no background case")?;
    let stream = StreamName::parse(sak_stream(FiksDigisosId::parse(&probe.id).map_err(|e| e.to_string())?))
        .map_err(|e| e.to_string())?;
    let before = app.store.read_stream(&stream, 0, 100_000).await.map_err(|e| e.to_string())?.len();
    let m = probe.hendelser.fetch_add(1, Ordering::SeqCst) + 1;
    app.update(&fagsystem, &probe.id, &hendelser(m)).await?;
    let after = app.store.read_stream(&stream, 0, 100_000).await.map_err(|e| e.to_string())?.len();
    let per_update = (after.saturating_sub(before)).max(1) as f64;

    let mut subscribers = Vec::new();
    for case in watched {
        let mut subscriber = Subscriber::connect(&app.base, &citizen).await?;
        subscriber.subscribe("1", SAK_OPPDATERT, &json!({"id": case.id})).await?;
        subscriber.until(|_| true).await?;
        subscribers.push(subscriber);
    }

    let rate = config.background / per_update;
    let load_window = config.window + Duration::from_secs(2);
    let load = {
        let (client, base, token, background) =
            (app.client().clone(), app.base.clone(), fagsystem.clone(), background.clone());
        tokio::spawn(open_loop(rate, load_window, move |k| {
            let (client, base, token, background) = (client.clone(), base.clone(), token.clone(), background.clone());
            async move {
                let case = &background[(k as usize) % background.len()];
                let m = case.hendelser.fetch_add(1, Ordering::SeqCst) + 1;
                let url = format!("{base}{}/{}/{}", super::client::PREFIX, super::client::FIKS_ORG_ID, case.id);
                let body = super::client::status_update(&hendelser(m));
                super::client::expect_status(client.post(url).bearer_auth(&token).json(&body), 202).await.map(|_| ())
            }
        }))
    };
    // Let the background load settle before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (mut query, mut subscription, mut command) = (Vec::new(), Vec::new(), Vec::new());
    let end = Instant::now() + config.window;
    let mut turn = 0usize;
    let measured: Result<(), String> = async {
        while Instant::now() < end {
            let index = turn % watched.len();
            turn += 1;
            let case = &watched[index];
            let m = case.hendelser.fetch_add(1, Ordering::SeqCst) + 1;
            let sent = Instant::now();
            let position = app.update(&fagsystem, &case.id, &hendelser(m)).await?;
            let answered = Instant::now();
            let expected = expected_items(m);
            let read = async {
                let variables = json!({"id": case.id});
                loop {
                    let data = gql(app.client(), &app.base, &citizen, SAK, &variables, Some(position)).await?;
                    if items(&data["sak"]) >= expected {
                        return Ok::<Duration, String>(answered.elapsed());
                    }
                }
            };
            let live = async {
                subscribers[index].until(|d| items(&d["sakOppdatert"]) >= expected).await?;
                Ok::<Duration, String>(answered.elapsed())
            };
            let (read, live) = tokio::join!(read, live);
            query.push(read?);
            subscription.push(live?);
            command.push(answered - sent);
            tokio::time::sleep(config.interval).await;
        }
        Ok(())
    }
    .await;
    let load = load.await.map_err(|e| format!("the background load failed: {e}"))?;
    measured?;
    let background_events = load.latencies.len() as f64 * per_update / load.elapsed.as_secs_f64().max(f64::EPSILON);
    let figures = FreshnessFigures {
        backend: app.backend,
        query: Summary::of(&query),
        subscription: Summary::of(&subscription),
        command: Summary::of(&command),
        background_events,
        background_errors: load.errors,
    };
    eprintln!(
        "  {}: query p50 {} p99 {}, subscription p50 {} p99 {}, background {:.0} events/s",
        app.backend.label(),
        millis(figures.query.p50),
        millis(figures.query.p99),
        millis(figures.subscription.p50),
        millis(figures.subscription.p99),
        figures.background_events
    );
    Ok(figures)
}

/// The section of `BENCHMARKS.md`.
pub fn render(provenance: &str, config: &FreshnessConfig, figures: &[FreshnessFigures]) -> String {
    let mut out = vec!["## freshness".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "Background: status updates to {} other cases offered open-loop at {:.0} events/s. Measured: a status update \
         to one of {} watched cases every {} ms (after the previous measurement) for {} s; from its 202 to (a) the \
         citizen's `sak` query with the command's position returning the new hendelse, (b) the `sakOppdatert` message \
         carrying it. Goal: p99 < {} for both.",
        config.background_cases,
        config.background,
        config.watched,
        config.interval.as_millis(),
        config.window.as_secs(),
        millis(P99_GOAL)
    ));
    out.push(String::new());
    let rows: Vec<Vec<String>> = figures
        .iter()
        .flat_map(|f| {
            let row = |what: &str, s: &Summary, with_goal: bool| {
                vec![
                    f.backend.label().to_string(),
                    what.to_string(),
                    s.count.to_string(),
                    millis(s.p50),
                    millis(s.p99),
                    millis(s.max),
                    if with_goal {
                        goal(
                            &format!("p99 < {}", millis(P99_GOAL)),
                            s.p99 < P99_GOAL,
                            &format!("{:.1}x", s.p99.as_secs_f64() / P99_GOAL.as_secs_f64()),
                        )
                    } else {
                        String::new()
                    },
                    format!(
                        "{:.0}{}",
                        f.background_events,
                        match f.background_errors {
                            0 => String::new(),
                            n => format!(" ({n} failed)"),
                        }
                    ),
                ]
            };
            [
                row("query (min-position)", &f.query, true),
                row("subscription", &f.subscription, true),
                row("the update itself", &f.command, false),
            ]
        })
        .collect();
    out.push(table(&["backend", "visible through", "n", "p50", "p99", "max", "goal", "background events/s"], &rows));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tiny_run_measures_query_and_subscription_and_reports() {
        let config = FreshnessConfig {
            window: Duration::from_millis(600),
            background: 20.0,
            interval: Duration::from_millis(50),
            watched: 2,
            background_cases: 2,
        };
        let figures = measure(Backend::Sqlite, "", &config).await.expect("the scenario runs");
        assert!(figures.query.count > 0);
        assert_eq!(figures.query.count, figures.subscription.count, "each update is seen both ways");
        assert_eq!(figures.background_errors, 0);
        let text = render("provenance", &config, &[figures]);
        assert!(text.starts_with("## freshness") && text.contains("subscription") && text.contains("p99 < 50 ms"));
    }

    #[test]
    fn each_update_after_the_first_two_adds_one_item() {
        assert_eq!(expected_items(2), 0);
        assert_eq!(expected_items(5), 3);
        assert_eq!(items(&json!({"saker": [1, 2], "utbetalinger": [1]})), 3);
    }
}
