//! `digisos-bench submit`: whole søknad submissions over HTTP at rising rates.
//!
//! Each submission is what Nav sends: a multipart body with `tilleggsinformasjonJson`, `soknadJson`,
//! `vedleggJson` and three PDFs of 100 KB (the søknad PDF and two listed attachments), each file with content of
//! its own, from one of a few hundred citizens with their own tokens. Offered open-loop (see [`rate`]) at each
//! rate of a rising ladder for a few seconds; latency is from the moment a request was due to its 202. The
//! figure: the highest offered rate the service answered without errors, at ≥ 95 % of the offered rate and with
//! p99 under 100 ms; and p50/p99 at 50 søknader/s. Reference: our append's rate at 32 writers from the `append`
//! scenario (events/s; a submission is one append of two events plus the document writes and the HTTP path).
//!
//! [`rate`]: super::rate

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::app::{Backend, BenchApp, Projections};
use super::client::{soknad_body, synthetic_fnrs};
use super::common::{Summary, Targets, goal, millis};
use super::rate::open_loop;
use super::report::{table, thousands};

/// The latency a sustained rate must keep its p99 under.
pub const P99_LIMIT: Duration = Duration::from_millis(100);
/// The rate whose p50/p99 the report names.
pub const REPORTED_RATE: f64 = 50.0;

/// Options of `digisos-bench submit`.
#[derive(Args, Clone, Debug)]
pub struct SubmitArgs {
    /// Offered rates, søknader per second, comma-separated, rising.
    #[arg(long, value_delimiter = ',', default_values_t = [10.0, 25.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0])]
    pub rates: Vec<f64>,

    /// Seconds each rate is offered.
    #[arg(long, default_value_t = 4)]
    pub step_seconds: u64,

    /// Bytes of each of the three PDFs.
    #[arg(long, default_value_t = 100 * 1024)]
    pub pdf_bytes: usize,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

/// The sizes of one run.
#[derive(Clone, Debug)]
pub struct SubmitConfig {
    /// Offered rates, rising.
    pub rates: Vec<f64>,
    /// How long each rate is offered.
    pub step: Duration,
    /// Bytes of each PDF.
    pub pdf_bytes: usize,
}

impl From<&SubmitArgs> for SubmitConfig {
    fn from(args: &SubmitArgs) -> Self {
        Self {
            rates: args.rates.clone(),
            step: Duration::from_secs(args.step_seconds.max(1)),
            pdf_bytes: args.pdf_bytes,
        }
    }
}

/// One offered rate and what came of it.
#[derive(Clone, Debug)]
pub struct Step {
    /// Offered søknader per second.
    pub offered: f64,
    /// Answered (202) søknader per second.
    pub achieved: f64,
    /// Latencies of the successful submissions.
    pub latency: Summary,
    /// Failed submissions.
    pub errors: u64,
    /// The first failure.
    pub first_error: Option<String>,
}

impl Step {
    /// Whether the service sustained this rate: no errors, ≥ 95 % of it answered, p99 under [`P99_LIMIT`].
    pub fn sustained(&self) -> bool {
        self.errors == 0 && self.achieved >= 0.95 * self.offered && self.latency.p99 < P99_LIMIT
    }
}

/// One backend's ladder.
#[derive(Clone, Debug)]
pub struct SubmitFigures {
    /// The backend.
    pub backend: Backend,
    /// The rates offered, in order (the ladder stops after the first rate not sustained above 50/s).
    pub steps: Vec<Step>,
}

impl SubmitFigures {
    /// The highest rate sustained.
    pub fn sustained(&self) -> Option<f64> {
        self.steps.iter().filter(|s| s.sustained()).map(|s| s.offered).reduce(f64::max)
    }

    /// The step at [`REPORTED_RATE`].
    pub fn at_reported_rate(&self) -> Option<&Step> {
        self.steps.iter().find(|s| (s.offered - REPORTED_RATE).abs() < 0.5)
    }
}

/// Starts an app on `backend` and offers the ladder of `config`.
pub async fn measure(backend: Backend, postgres_server: &str, config: &SubmitConfig) -> Result<SubmitFigures, String> {
    let app = BenchApp::start(backend, postgres_server, Projections::All).await?;
    let outcome = tokio::select! {
        outcome = ladder(&app, config) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = app.finish().await;
    let figures = outcome?;
    finished.map(|()| figures)
}

async fn ladder(app: &BenchApp, config: &SubmitConfig) -> Result<SubmitFigures, String> {
    app.configure_kommune().await?;
    let citizens: Vec<(String, String)> = synthetic_fnrs(200)
        .into_iter()
        .map(|fnr| app.citizen(&fnr).map(|token| (fnr, token)))
        .collect::<Result<_, _>>()?;
    // One submission first, so a broken fixture fails the run instead of being measured as errors.
    let (fnr, token) = citizens.first().ok_or("no citizens")?;
    app.submit(token, soknad_body(fnr, config.pdf_bytes, 0)?).await.map_err(|e| format!("the first søknad: {e}"))?;
    let citizens = Arc::new(citizens);
    let app_handle = Arc::new((app.client().clone(), app.base.clone()));
    let mut steps = Vec::new();
    let mut offset = 1u64;
    for &rate in &config.rates {
        let (citizens, handle, pdf_bytes, base_seed) = (citizens.clone(), app_handle.clone(), config.pdf_bytes, offset);
        let sample = open_loop(rate, config.step, move |k| {
            let (citizens, handle) = (citizens.clone(), handle.clone());
            async move {
                let (fnr, token) = &citizens[(k as usize) % citizens.len()];
                let body = soknad_body(fnr, pdf_bytes, base_seed + k)?;
                submit(&handle.0, &handle.1, token, body).await
            }
        })
        .await;
        offset += (rate * config.step.as_secs_f64()) as u64 + 1;
        let step = Step {
            offered: rate,
            achieved: sample.achieved(),
            latency: Summary::of(&sample.latencies),
            errors: sample.errors,
            first_error: sample.first_error.clone(),
        };
        eprintln!(
            "  {}: {rate:>5.0}/s offered, {:>6.1}/s answered, p50 {}, p99 {}, {} errors",
            app.backend.label(),
            step.achieved,
            millis(step.latency.p50),
            millis(step.latency.p99),
            step.errors
        );
        let stop = !step.sustained() && rate >= REPORTED_RATE;
        steps.push(step);
        if stop {
            break;
        }
        // Let the read models catch up between rates, so one step's backlog does not load the next.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Ok(SubmitFigures { backend: app.backend, steps })
}

async fn submit(client: &reqwest::Client, base: &str, token: &str, body: Vec<u8>) -> Result<(), String> {
    let url = format!("{base}{}/soknader/{}/{}", super::client::PREFIX, super::client::KOMMUNE, uuid::Uuid::new_v4());
    let request =
        client.post(url).bearer_auth(token).header("content-type", super::client::Form::content_type()).body(body);
    super::client::expect_status(request, 202).await.map(|_| ())
}

/// The section of `BENCHMARKS.md`: one table per backend and the summary against the append reference
/// (`reference`: our append's events/s at 32 writers per backend, when measured).
pub fn render(
    provenance: &str,
    config: &SubmitConfig,
    figures: &[SubmitFigures],
    reference: &[(Backend, f64)],
) -> String {
    let mut out = vec!["## submit".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "Whole søknader over HTTP (multipart: søknad JSON, vedlegg.json, three PDFs of {} KB), offered open-loop at \
         rising rates for {} s each; latency from the moment a request was due to its 202. Sustained: no errors, \
         ≥ 95 % of the offered rate answered, p99 < {}. Reference: our append at 32 writers (`append` scenario, same \
         run), events/s.",
        config.pdf_bytes / 1024,
        config.step.as_secs(),
        millis(P99_LIMIT)
    ));
    let mut summary = Vec::new();
    for f in figures {
        out.push(String::new());
        out.push(format!("### {}", f.backend.label()));
        out.push(String::new());
        let rows: Vec<Vec<String>> = f
            .steps
            .iter()
            .map(|s| {
                vec![
                    format!("{:.0}", s.offered),
                    format!("{:.1}", s.achieved),
                    millis(s.latency.p50),
                    millis(s.latency.p99),
                    millis(s.latency.max),
                    s.errors.to_string(),
                    if s.sustained() { "yes".into() } else { "no".into() },
                ]
            })
            .collect();
        out.push(table(&["offered/s", "answered/s", "p50", "p99", "max", "errors", "sustained"], &rows));
        if let Some(e) = f.steps.iter().find_map(|s| s.first_error.as_ref()) {
            out.push(String::new());
            out.push(format!("First error: {}", e.chars().take(200).collect::<String>()));
        }
        let sustained = f.sustained();
        let at50 = f.at_reported_rate();
        let append = reference.iter().find(|(b, _)| *b == f.backend).map(|(_, r)| *r);
        summary.push(vec![
            f.backend.label().to_string(),
            sustained.map_or("none".into(), |r| format!("{r:.0}")),
            at50.map_or("–".into(), |s| format!("{} / {}", millis(s.latency.p50), millis(s.latency.p99))),
            append.map_or("–".into(), thousands),
            match (sustained, append) {
                (Some(s), Some(a)) if a > 0.0 => format!("{:.3}", s / a),
                _ => "–".into(),
            },
            at50.map_or("–".into(), |s| {
                goal(
                    &format!("p99 < {} at 50/s", millis(P99_LIMIT)),
                    s.sustained(),
                    &format!("p99 {}", millis(s.latency.p99)),
                )
            }),
        ]);
    }
    out.push(String::new());
    out.push("### Summary".to_string());
    out.push(String::new());
    out.push(table(
        &[
            "backend",
            "sustained søknader/s",
            "p50 / p99 at 50/s",
            "append events/s (32 writers)",
            "sustained / append",
            "goal",
        ],
        &summary,
    ));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_tiny_ladder_runs_and_reports() {
        let config = SubmitConfig { rates: vec![4.0], step: Duration::from_millis(500), pdf_bytes: 1000 };
        let figures = measure(Backend::Sqlite, "", &config).await.expect("the scenario runs");
        assert_eq!(figures.steps.len(), 1);
        assert_eq!(figures.steps[0].errors, 0, "{:?}", figures.steps[0].first_error);
        assert_eq!(figures.steps[0].latency.count, 2, "one søknad every 250 ms for 500 ms");
        let text = render("provenance", &config, &[figures], &[(Backend::Sqlite, 1000.0)]);
        assert!(text.starts_with("## submit") && text.contains("### SQLite") && text.contains("sustained / append"));
    }
}
