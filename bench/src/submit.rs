//! `digisos-bench submit`: whole søknad submissions over HTTP at rising rates.
//!
//! Each submission is what Nav sends: a multipart body with `tilleggsinformasjonJson`, `soknadJson`,
//! `vedleggJson` and three PDFs of 100 KB (the søknad PDF and two listed attachments), each file with content of
//! its own, from one of a few hundred citizens with their own tokens. Offered open-loop (see [`rate`]) at each
//! rate of a rising ladder for a few seconds; latency is from the moment a request was due to its 202. Every
//! request body of a step (PDFs, JSON, multipart, encryption) is built before the step starts: Nav builds and
//! encrypts on its own machines, so that work is kept out of the timed window and off the cores the load
//! generator shares with the hub.
//!
//! The figure: the highest offered rate the service answered without errors, at ≥ 95 % of the offered rate and with
//! p99 under 100 ms; and p50/p99 at 50 søknader/s. Reference: our append's rate at 32 writers from the `append`
//! scenario (events/s; a submission is one append of two events plus the document writes and the HTTP path).
//!
//! The same ladder runs a second time, on a fresh app, with Nav's v2 flow and encrypted files: per søknad the
//! two listed files go one by one into mellomlagring (`POST /mellomlagring/{ref}`, encrypted for the hub's
//! certificate), then the v2 submission carries the søknad PDF (encrypted) and takes the two from
//! mellomlagring. The same three files of the same size; the latency is of the whole flow (three requests, from
//! the moment the søknad was due to its 202). The ratio of the two sustained rates is the cost of decryption and
//! mellomlagring together.
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

/// Which flow a ladder runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// v1: every file plain in the one request.
    V1,
    /// v2: the listed files encrypted into mellomlagring first, the søknad PDF encrypted in the submission.
    V2Encrypted,
    /// v2 as Nav runs it: each søknad's two mellomlagring uploads made just before the step (as Nav makes them
    /// while the citizen fills in the søknad; not timed), then the submissions timed alone.
    V2Submission,
}

impl Flow {
    fn label(self) -> &'static str {
        match self {
            Flow::V1 => "v1",
            Flow::V2Encrypted => "v2 encrypted",
            Flow::V2Submission => "v2 submission alone",
        }
    }
}

/// One backend's ladders.
#[derive(Clone, Debug)]
pub struct SubmitFigures {
    /// The backend.
    pub backend: Backend,
    /// The v1 rates offered, in order (the ladder stops after the first rate not sustained above 50/s).
    pub steps: Vec<Step>,
    /// The same for the v2 flow with encrypted files (uploads and submission timed together).
    pub v2_steps: Vec<Step>,
    /// The v2 submissions alone, their uploads made before each step.
    pub v2_submission_steps: Vec<Step>,
}

fn sustained_of(steps: &[Step]) -> Option<f64> {
    steps.iter().filter(|s| s.sustained()).map(|s| s.offered).reduce(f64::max)
}

fn at_reported_rate_of(steps: &[Step]) -> Option<&Step> {
    steps.iter().find(|s| (s.offered - REPORTED_RATE).abs() < 0.5)
}

impl SubmitFigures {
    /// The highest v1 rate sustained.
    pub fn sustained(&self) -> Option<f64> {
        sustained_of(&self.steps)
    }

    /// The v1 step at [`REPORTED_RATE`].
    pub fn at_reported_rate(&self) -> Option<&Step> {
        at_reported_rate_of(&self.steps)
    }

    /// The highest v2 rate sustained.
    pub fn v2_sustained(&self) -> Option<f64> {
        sustained_of(&self.v2_steps)
    }
}

/// Offers the ladder of `config` on `backend`, once per flow, each on a fresh app.
pub async fn measure(backend: Backend, postgres_server: &str, config: &SubmitConfig) -> Result<SubmitFigures, String> {
    let steps = measure_flow(backend, postgres_server, config, Flow::V1).await?;
    let v2_steps = measure_flow(backend, postgres_server, config, Flow::V2Encrypted).await?;
    let v2_submission_steps = measure_flow(backend, postgres_server, config, Flow::V2Submission).await?;
    Ok(SubmitFigures { backend, steps, v2_steps, v2_submission_steps })
}

async fn measure_flow(
    backend: Backend,
    postgres_server: &str,
    config: &SubmitConfig,
    flow: Flow,
) -> Result<Vec<Step>, String> {
    let app = BenchApp::start(backend, postgres_server, Projections::All).await?;
    let outcome = tokio::select! {
        outcome = ladder(&app, config, flow) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = app.finish().await;
    let steps = outcome?;
    finished.map(|()| steps)
}

/// What every submission of a ladder shares.
struct Sender {
    client: reqwest::Client,
    base: String,
    citizens: Vec<(String, String)>,
    nav_system: String,
    certificate: openssl::x509::X509,
    pdf_bytes: usize,
}

/// One submission's request bodies, built before its step (Nav builds and encrypts them on its own machines, so
/// the load generator does that work outside the timed window and off the cores it shares with the hub).
enum Prepared {
    /// The v1 body.
    V1 { token: usize, body: Vec<u8> },
    /// The v2 body under `reference`, and the mellomlagring upload bodies to send first (none when made ahead).
    V2 { token: usize, reference: uuid::Uuid, uploads: Vec<Vec<u8>>, body: Vec<u8> },
}

impl Sender {
    /// The bodies of submission number `seed` (of citizen `k`), by `flow`.
    fn prepare(&self, flow: Flow, k: u64, seed: u64) -> Result<Prepared, String> {
        let citizen = (k as usize) % self.citizens.len();
        let fnr = &self.citizens[citizen].0;
        Ok(match flow {
            Flow::V1 => Prepared::V1 { token: citizen, body: soknad_body(fnr, self.pdf_bytes, seed)? },
            Flow::V2Encrypted | Flow::V2Submission => {
                use super::client::{encrypt, pdf, soknad_v2_body};
                let uploads = if flow == Flow::V2Encrypted { self.upload_bodies(seed)? } else { Vec::new() };
                let plain = pdf(self.pdf_bytes, seed.wrapping_mul(3));
                let body = soknad_v2_body(fnr, plain.len(), &encrypt(&self.certificate, &plain)?)?;
                Prepared::V2 { token: citizen, reference: self.reference(seed), uploads, body }
            }
        })
    }

    /// Sends a prepared submission: its uploads one by one, then the submission.
    async fn send(&self, prepared: Prepared) -> Result<(), String> {
        match prepared {
            Prepared::V1 { token, body } => submit(&self.client, &self.base, &self.citizens[token].1, body).await,
            Prepared::V2 { token, reference, uploads, body } => {
                for upload in uploads {
                    self.upload(reference, upload).await?;
                }
                self.v2(&self.citizens[token].1, reference, body).await
            }
        }
    }

    /// The `navEksternRefId` of submission `seed` (the same for its uploads and its submission).
    fn reference(&self, seed: u64) -> uuid::Uuid {
        uuid::Uuid::from_u64_pair(0x6469_6769_736f_7300, seed)
    }

    /// The uploads of submissions `seeds`, eight at a time, before a [`Flow::V2Submission`] step.
    async fn upload_ahead(&self, seeds: std::ops::Range<u64>) -> Result<(), String> {
        use futures::{StreamExt, TryStreamExt};
        futures::stream::iter(seeds.map(|seed| async move {
            for body in self.upload_bodies(seed)? {
                self.upload(self.reference(seed), body).await?;
            }
            Ok(())
        }))
        .buffer_unordered(8)
        .try_collect::<()>()
        .await
    }

    /// The bodies of the two listed files of submission `seed`, encrypted, for its mellomlagring.
    fn upload_bodies(&self, seed: u64) -> Result<Vec<Vec<u8>>, String> {
        use super::client::{VEDLEGG_FILES, encrypt, mellomlagring_body, pdf};
        VEDLEGG_FILES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let plain = pdf(self.pdf_bytes, seed.wrapping_mul(3) + 1 + i as u64);
                Ok(mellomlagring_body(name, plain.len(), &encrypt(&self.certificate, &plain)?))
            })
            .collect()
    }

    /// One upload into the mellomlagring of `reference`.
    async fn upload(&self, reference: uuid::Uuid, body: Vec<u8>) -> Result<(), String> {
        use super::client::{PREFIX, expect_status};
        let content_type = super::client::Form::content_type();
        let url = format!("{}{PREFIX}/mellomlagring/{reference}", self.base);
        let request =
            self.client.post(url).bearer_auth(&self.nav_system).header("content-type", &content_type).body(body);
        expect_status(request, 200).await.map(|_| ()).map_err(|e| format!("mellomlagring: {e}"))
    }

    /// The v2 submission under `reference`.
    async fn v2(&self, token: &str, reference: uuid::Uuid, body: Vec<u8>) -> Result<(), String> {
        use super::client::expect_status;
        let content_type = super::client::Form::content_type();
        let url = format!("{}/digisos/api/v2/soknader/{}/{reference}", self.base, super::client::KOMMUNE);
        let request = self.client.post(url).bearer_auth(token).header("content-type", &content_type).body(body);
        expect_status(request, 202).await.map(|_| ()).map_err(|e| format!("v2 submission: {e}"))
    }
}

async fn ladder(app: &BenchApp, config: &SubmitConfig, flow: Flow) -> Result<Vec<Step>, String> {
    app.configure_kommune().await?;
    let citizens: Vec<(String, String)> = synthetic_fnrs(200)
        .into_iter()
        .map(|fnr| app.citizen(&fnr).map(|token| (fnr, token)))
        .collect::<Result<_, _>>()?;
    let url = format!("{}{}/dokumentlager-public-key", app.base, super::client::PREFIX);
    let der = super::client::expect_status(app.client().get(url), 200)
        .await?
        .bytes()
        .await
        .map_err(|e| format!("the certificate: {e}"))?;
    let certificate = openssl::x509::X509::from_der(&der).map_err(|e| format!("the certificate: {e}"))?;
    let sender = Arc::new(Sender {
        client: app.client().clone(),
        base: app.base.clone(),
        citizens,
        nav_system: app.token(&fiks_digisos::auth::dev_issuer::DevRole::NavSystem)?,
        certificate,
        pdf_bytes: config.pdf_bytes,
    });
    // One submission first, so a broken fixture fails the run instead of being measured as errors.
    if flow == Flow::V2Submission {
        sender.upload_ahead(0..1).await?;
    }
    let first = sender.prepare(flow, 0, 0)?;
    sender.send(first).await.map_err(|e| format!("the first søknad ({}): {e}", flow.label()))?;
    let mut steps = Vec::new();
    let mut offset = 1u64;
    for &rate in &config.rates {
        let (sender, base_seed) = (sender.clone(), offset);
        // Every submission the step can offer, and a few more (the open loop's last tick may round up).
        let count = (rate * config.step.as_secs_f64()).ceil() as u64 + 2;
        if flow == Flow::V2Submission {
            sender.upload_ahead(base_seed..base_seed + count).await?;
        }
        let prepared: Vec<std::sync::Mutex<Option<Prepared>>> = (0..count)
            .map(|k| sender.prepare(flow, k, base_seed + k).map(|p| std::sync::Mutex::new(Some(p))))
            .collect::<Result<_, _>>()?;
        let prepared = Arc::new(prepared);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let sample = open_loop(rate, config.step, move |k| {
            let (sender, prepared) = (sender.clone(), prepared.clone());
            async move {
                let taken = prepared.get(k as usize).and_then(|p| p.lock().ok()?.take());
                let prepared = match taken {
                    Some(prepared) => prepared,
                    None => sender.prepare(flow, k, base_seed + k)?,
                };
                sender.send(prepared).await
            }
        })
        .await;
        offset += count + 1;
        let step = Step {
            offered: rate,
            achieved: sample.achieved(),
            latency: Summary::of(&sample.latencies),
            errors: sample.errors,
            first_error: sample.first_error.clone(),
        };
        eprintln!(
            "  {} {}: {rate:>5.0}/s offered, {:>6.1}/s answered, p50 {}, p99 {}, {} errors",
            app.backend.label(),
            flow.label(),
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
    Ok(steps)
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
    out.push(format!(
        "The v2 ladder (same rates, a fresh app): per søknad the two listed files encrypted into mellomlagring one \
         request each, then the v2 submission with the søknad PDF encrypted; the same three files of {} KB; latency \
         of the whole flow. Then again with each søknad's two uploads made just before the step (untimed, as Nav \
         makes them while the citizen fills in) and the v2 submission timed alone. Every body of a step is built, and \
         its files encrypted, before the step starts (Nav does that work on its own machines). Encryption: CMS \
         EnvelopedData, AES-256-CBC, the RSA key transport OpenSSL picks by default (PKCS#1 v1.5; Nav's OAEP costs \
         the server the same private-key operation).",
        config.pdf_bytes / 1024
    ));
    let mut summary = Vec::new();
    for f in figures {
        for (flow, steps) in
            [(Flow::V1, &f.steps), (Flow::V2Encrypted, &f.v2_steps), (Flow::V2Submission, &f.v2_submission_steps)]
        {
            out.push(String::new());
            out.push(format!("### {} ({})", f.backend.label(), flow.label()));
            out.push(String::new());
            let rows: Vec<Vec<String>> = steps
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
            if let Some(e) = steps.iter().find_map(|s| s.first_error.as_ref()) {
                out.push(String::new());
                out.push(format!("First error: {}", e.chars().take(200).collect::<String>()));
            }
        }
        let sustained = f.sustained();
        let at50 = f.at_reported_rate();
        let v2 = f.v2_sustained();
        let v2_at50 = at_reported_rate_of(&f.v2_steps);
        let alone = sustained_of(&f.v2_submission_steps);
        let alone_at50 = at_reported_rate_of(&f.v2_submission_steps);
        let append = reference.iter().find(|(b, _)| *b == f.backend).map(|(_, r)| *r);
        let p = |s: Option<&Step>| {
            s.map_or("–".into(), |s| format!("{} / {}", millis(s.latency.p50), millis(s.latency.p99)))
        };
        let goal_of = |s: Option<&Step>| {
            s.map_or("–".into(), |s| {
                goal(
                    &format!("p99 < {} at 50/s", millis(P99_LIMIT)),
                    s.sustained(),
                    &format!("p99 {}", millis(s.latency.p99)),
                )
            })
        };
        summary.push(vec![
            f.backend.label().to_string(),
            sustained.map_or("none".into(), |r| format!("{r:.0}")),
            p(at50),
            append.map_or("–".into(), thousands),
            match (sustained, append) {
                (Some(s), Some(a)) if a > 0.0 => format!("{:.3}", s / a),
                _ => "–".into(),
            },
            goal_of(at50),
            v2.map_or("none".into(), |r| format!("{r:.0}")),
            p(v2_at50),
            match (v2, sustained) {
                (Some(v2), Some(v1)) if v1 > 0.0 => format!("{:.2}", v2 / v1),
                _ => "–".into(),
            },
            goal_of(v2_at50),
            alone.map_or("none".into(), |r| format!("{r:.0}")),
            p(alone_at50),
            match (alone, sustained) {
                (Some(a), Some(v1)) if v1 > 0.0 => format!("{:.2}", a / v1),
                _ => "–".into(),
            },
            goal_of(alone_at50),
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
            "v2 encrypted sustained/s",
            "v2 p50 / p99 at 50/s",
            "v2 / v1 sustained",
            "v2 goal",
            "v2 submission alone sustained/s",
            "alone p50 / p99 at 50/s",
            "alone / v1 sustained",
            "alone goal",
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
        assert_eq!(figures.v2_steps.len(), 1);
        assert_eq!(figures.v2_steps[0].errors, 0, "{:?}", figures.v2_steps[0].first_error);
        assert_eq!(figures.v2_steps[0].latency.count, 2);
        assert_eq!(figures.v2_submission_steps.len(), 1);
        assert_eq!(figures.v2_submission_steps[0].errors, 0, "{:?}", figures.v2_submission_steps[0].first_error);
        assert_eq!(figures.v2_submission_steps[0].latency.count, 2);
        let text = render("provenance", &config, &[figures], &[(Backend::Sqlite, 1000.0)]);
        assert!(
            text.starts_with("## submit") && text.contains("### SQLite (v1)") && text.contains("sustained / append")
        );
        assert!(text.contains("### SQLite (v2 encrypted)") && text.contains("v2 / v1 sustained"));
        assert!(text.contains("### SQLite (v2 submission alone)") && text.contains("alone / v1 sustained"));
    }
}
