//! `digisos-bench fiks-io`: søknader delivered to a kommune's fagsystem over Fiks IO at rising rates, beside
//! the same ladder delivered through the REST mailbox, in the same run.
//!
//! The app runs with the Fiks IO channel on, publishing to a RabbitMQ broker (the machine's, `guest` on
//! 127.0.0.1:5672, or `DIGISOS_BENCH_AMQP_URL`); the kommune names a new Fiks IO account with its certificate.
//! In the benchmark's process a fagsystem consumes the account's queue as KS's client does (prefetch 10, manual
//! ack), and for each message decrypts the CMS envelope with the account's key, unzips the ASiC-E and reads the
//! metadata and every file (OpenSSL's CMS and the `zip` crate, not the hub's code paths), then acks and sends
//! the `no.nav.digisos.soknad.mottatt.v1` receipt through `POST /fiks-io/api/v1/send` with its integration's
//! headers. The søknader are Nav's v1 submissions of the `submit` scenario (three PDFs), offered open-loop.
//! The latency of a søknad is from its 202 to the moment the fagsystem holds its decrypted files.
//!
//! The mailbox ladder runs on a fresh app without the channel: a fagsystem polls `GET /{fiksOrgId}/mottak`
//! every poll interval, downloads each new delivery's files and confirms it (`…/kvittering`), then sleeps
//! until the next poll. Its latency is dominated by the poll interval (on average half of it), which the report
//! says; the interval is a choice of the fagsystem, not a cost of the hub.
//!
//! The broker does not log in through the hub here (`guest`): a benchmark measures delivery, the login check of
//! KS's clients is tested in `tests/fiks_io.rs`. Each run uses a new account, and removes its queue afterwards.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions, QueueDeleteOptions};
use lapin::types::FieldTable;
use openssl::cms::CmsContentInfo;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::app::{Backend, BenchApp, Projections};
use super::client::{FIKS_ORG_ID, Form, KOMMUNE, PREFIX, expect_status, kommune_config, soknad_body, synthetic_fnrs};
use super::common::{Summary, Targets, millis};
use super::rate::open_loop;
use super::report::table;
use fiks_digisos::fiksio::melding::{METADATA_FIL, SOKNAD_MOTTATT_V1, queue_name};
use fiks_digisos::fiksio::utsending::{declare_account_queue, long_string};

/// The broker the benchmark uses unless `DIGISOS_BENCH_AMQP_URL` names another: the machine's RabbitMQ.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The messages a Fiks IO consumer takes before it acks (as the test consumer of KS's client).
pub const PREFETCH: u16 = 10;
/// A Fiks IO rate is sustained when p99 from the 202 to the decrypted files stays under this.
pub const FIKS_IO_P99_LIMIT: Duration = Duration::from_secs(1);
/// How many deliveries the mailbox fagsystem takes at once (each: its files one by one, then the receipt).
pub const MAILBOX_CONCURRENCY: usize = 32;
/// A mailbox rate is sustained when p99 stays under the poll interval plus this.
pub const MAILBOX_P99_MARGIN: Duration = Duration::from_secs(1);

/// Options of `digisos-bench fiks-io`.
#[derive(Args, Clone, Debug)]
pub struct FiksIoArgs {
    /// Offered rates, søknader per second, comma-separated, rising.
    #[arg(long, value_delimiter = ',', default_values_t = [10.0, 25.0, 50.0, 75.0, 100.0, 150.0])]
    pub rates: Vec<f64>,

    /// Seconds each rate is offered.
    #[arg(long, default_value_t = 4)]
    pub step_seconds: u64,

    /// Bytes of each of the three PDFs.
    #[arg(long, default_value_t = 100 * 1024)]
    pub pdf_bytes: usize,

    /// Milliseconds between two polls of the mailbox fagsystem.
    #[arg(long, default_value_t = 1000)]
    pub poll_ms: u64,

    /// The RabbitMQ broker (the user may read and declare `fiksio.*` queues).
    #[arg(long, env = "DIGISOS_BENCH_AMQP_URL", default_value = DEFAULT_AMQP_URL)]
    pub amqp_url: String,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

/// The sizes of one run.
#[derive(Clone, Debug)]
pub struct FiksIoBenchConfig {
    /// Offered rates, rising.
    pub rates: Vec<f64>,
    /// How long each rate is offered.
    pub step: Duration,
    /// Bytes of each PDF.
    pub pdf_bytes: usize,
    /// The mailbox fagsystem's poll interval.
    pub poll: Duration,
    /// The broker.
    pub amqp_url: String,
}

impl From<&FiksIoArgs> for FiksIoBenchConfig {
    fn from(args: &FiksIoArgs) -> Self {
        Self {
            rates: args.rates.clone(),
            step: Duration::from_secs(args.step_seconds.max(1)),
            pdf_bytes: args.pdf_bytes,
            poll: Duration::from_millis(args.poll_ms.max(1)),
            amqp_url: args.amqp_url.clone(),
        }
    }
}

/// How the fagsystem receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// Pushed over Fiks IO.
    FiksIo,
    /// Polled from the REST mailbox.
    Mailbox,
}

impl Route {
    fn label(self) -> &'static str {
        match self {
            Route::FiksIo => "Fiks IO",
            Route::Mailbox => "REST mailbox",
        }
    }
}

/// One offered rate and what came of it.
#[derive(Clone, Debug)]
pub struct Step {
    /// Offered søknader per second.
    pub offered: f64,
    /// Søknader delivered per second, from the first delivery to the last ([`delivery_rate`]).
    pub delivered: f64,
    /// From each søknad's 202 to the fagsystem holding its files.
    pub delivery: Summary,
    /// Søknader not answered 202 or not delivered within the operation timeout.
    pub errors: u64,
    /// The first failure (of a submission, or of the fagsystem).
    pub first_error: Option<String>,
    /// Messages the fagsystem received a second time (a re-delivery of one it already held).
    pub duplicates: u64,
    /// The p99 a sustained rate stays under.
    pub limit: Duration,
}

impl Step {
    /// Whether the rate was sustained: every søknad answered and delivered, at ≥ 95 % of the offered rate, p99
    /// under the step's limit.
    pub fn sustained(&self) -> bool {
        self.errors == 0 && self.delivered >= 0.95 * self.offered && self.delivery.p99 < self.limit
    }
}

/// One backend's two ladders.
#[derive(Clone, Debug)]
pub struct FiksIoFigures {
    /// The backend.
    pub backend: Backend,
    /// Over Fiks IO.
    pub fiks_io: Vec<Step>,
    /// Through the REST mailbox.
    pub mailbox: Vec<Step>,
}

fn sustained_of(steps: &[Step]) -> Option<f64> {
    steps.iter().filter(|s| s.sustained()).map(|s| s.offered).reduce(f64::max)
}

/// Runs both ladders of `config` on `backend`, each on a fresh app.
pub async fn measure(
    backend: Backend,
    postgres_server: &str,
    config: &FiksIoBenchConfig,
) -> Result<FiksIoFigures, String> {
    let fiks_io = measure_route(backend, postgres_server, config, Route::FiksIo).await?;
    let mailbox = measure_route(backend, postgres_server, config, Route::Mailbox).await?;
    Ok(FiksIoFigures { backend, fiks_io, mailbox })
}

async fn measure_route(
    backend: Backend,
    postgres_server: &str,
    config: &FiksIoBenchConfig,
    route: Route,
) -> Result<Vec<Step>, String> {
    let app = match route {
        Route::FiksIo => BenchApp::start_with_fiks_io(backend, postgres_server, &config.amqp_url).await?,
        Route::Mailbox => BenchApp::start(backend, postgres_server, Projections::All).await?,
    };
    let outcome = tokio::select! {
        outcome = run(&app, config, route) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = app.finish().await;
    let steps = outcome?;
    finished.map(|()| steps)
}

async fn run(app: &BenchApp, config: &FiksIoBenchConfig, route: Route) -> Result<Vec<Step>, String> {
    let arrivals = Arc::new(Arrivals::default());
    let fagsystem = match route {
        Route::FiksIo => Fagsystem::fiks_io(app, &config.amqp_url, arrivals.clone()).await?,
        Route::Mailbox => {
            app.configure_kommune().await?;
            Fagsystem::mailbox(app, config.poll, arrivals.clone())?
        }
    };
    let outcome = ladder(app, config, route, &arrivals).await;
    let removed = fagsystem.stop().await;
    let steps = outcome?;
    removed.map(|()| steps)
}

async fn ladder(
    app: &BenchApp,
    config: &FiksIoBenchConfig,
    route: Route,
    arrivals: &Arc<Arrivals>,
) -> Result<Vec<Step>, String> {
    let fnrs = synthetic_fnrs(200);
    let citizens: Arc<Vec<String>> = Arc::new(fnrs.iter().map(|fnr| app.citizen(fnr)).collect::<Result<Vec<_>, _>>()?);
    let limit = match route {
        Route::FiksIo => FIKS_IO_P99_LIMIT,
        Route::Mailbox => config.poll + MAILBOX_P99_MARGIN,
    };
    // One søknad first, so a broken set-up fails the run instead of being measured as errors.
    let (first, _) = app.submit(&citizens[0], soknad_body(&fnrs[0], config.pdf_bytes, 0)?).await?;
    tokio::time::timeout(Duration::from_secs(60), arrivals.wait(&first))
        .await
        .map_err(|_| format!("the first søknad did not reach the fagsystem over the {} in 60 s", route.label()))??;
    let mut steps = Vec::new();
    let mut offset = 1u64;
    for &rate in &config.rates {
        let count = (rate * config.step.as_secs_f64()).ceil() as u64 + 2;
        let bodies: Vec<Mutex<Option<Vec<u8>>>> = (0..count)
            .map(|k| {
                let citizen = (k as usize) % fnrs.len();
                soknad_body(&fnrs[citizen], config.pdf_bytes, offset + k).map(|b| Mutex::new(Some(b)))
            })
            .collect::<Result<_, _>>()?;
        let bodies = Arc::new(bodies);
        let latencies = Arc::new(Mutex::new(Vec::with_capacity(count as usize)));
        let duplicates_before = arrivals.duplicates();
        let errors_before = arrivals.errors();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (client, base, citizens, arrivals_of_step, latencies_of_step) =
            (app.client().clone(), app.base.clone(), citizens.clone(), arrivals.clone(), latencies.clone());
        let sample = open_loop(rate, config.step, move |k| {
            let (client, base, citizens, arrivals, latencies, bodies) = (
                client.clone(),
                base.clone(),
                citizens.clone(),
                arrivals_of_step.clone(),
                latencies_of_step.clone(),
                bodies.clone(),
            );
            async move {
                let body = bodies.get(k as usize).and_then(|b| b.lock().ok()?.take()).ok_or("no prepared body")?;
                let token = &citizens[(k as usize) % citizens.len()];
                let sak = submit(&client, &base, token, body).await?;
                let answered = Instant::now();
                let held = arrivals.wait(&sak).await?;
                lock(&latencies).push((held, held.saturating_duration_since(answered)));
                Ok(())
            }
        })
        .await;
        offset += count + 1;
        let (fagsystem_errors, fagsystem_error) = (arrivals.errors() - errors_before, arrivals.first_error());
        let (delivered, delivery) = {
            let latencies = lock(&latencies);
            let held: Vec<Instant> = latencies.iter().map(|(at, _)| *at).collect();
            (delivery_rate(&held), Summary::of(&latencies.iter().map(|(_, l)| *l).collect::<Vec<_>>()))
        };
        let step = Step {
            offered: rate,
            delivered,
            delivery,
            errors: sample.errors + fagsystem_errors,
            first_error: sample.first_error.clone().or(if fagsystem_errors > 0 { fagsystem_error } else { None }),
            duplicates: arrivals.duplicates() - duplicates_before,
            limit,
        };
        eprintln!(
            "  {} {}: {rate:>5.0}/s offered, {:>6.1}/s delivered, 202 → files p50 {}, p99 {}, {} errors, {} \
             duplicates",
            app.backend.label(),
            route.label(),
            step.delivered,
            millis(step.delivery.p50),
            millis(step.delivery.p99),
            step.errors,
            step.duplicates
        );
        let stop = !step.sustained();
        steps.push(step);
        if stop {
            break;
        }
    }
    Ok(steps)
}

/// Deliveries per second between the first and the last delivery of a step: the offered rate while the hub
/// keeps up, the rate it manages when a backlog grows.
fn delivery_rate(held: &[Instant]) -> f64 {
    let (Some(first), Some(last)) = (held.iter().min(), held.iter().max()) else { return 0.0 };
    let span = last.saturating_duration_since(*first).as_secs_f64();
    if held.len() < 2 || span <= 0.0 { 0.0 } else { (held.len() - 1) as f64 / span }
}

/// Submits a v1 søknad (body from [`soknad_body`]); returns the case id.
async fn submit(client: &reqwest::Client, base: &str, token: &str, body: Vec<u8>) -> Result<String, String> {
    let url = format!("{base}{PREFIX}/soknader/{KOMMUNE}/{}", Uuid::new_v4());
    let request = client.post(url).bearer_auth(token).header("content-type", Form::content_type()).body(body);
    let response = expect_status(request, 202).await.map_err(|e| format!("submit: {e}"))?;
    response.json::<String>().await.map_err(|e| format!("submit: the answer is not the case id: {e}"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// When the fagsystem came to hold each case's files, handed to whoever waits for the case (in either order).
#[derive(Default)]
struct Arrivals {
    state: Mutex<ArrivalState>,
}

#[derive(Default)]
struct ArrivalState {
    slots: HashMap<String, Slot>,
    held: HashSet<String>,
    duplicates: u64,
    errors: u64,
    first_error: Option<String>,
}

enum Slot {
    Waiting(oneshot::Sender<Instant>),
    Arrived(Instant),
}

impl Arrivals {
    /// The fagsystem holds the files of case `sak` since `at`.
    fn arrived(&self, sak: &str, at: Instant) {
        let mut state = lock(&self.state);
        if !state.held.insert(sak.to_owned()) {
            state.duplicates += 1;
            return;
        }
        match state.slots.remove(sak) {
            Some(Slot::Waiting(tx)) => {
                let _ = tx.send(at);
            }
            _ => {
                state.slots.insert(sak.to_owned(), Slot::Arrived(at));
            }
        }
    }

    /// The fagsystem could not take a message.
    fn failed(&self, error: String) {
        let mut state = lock(&self.state);
        state.errors += 1;
        state.first_error.get_or_insert(error);
    }

    /// When the fagsystem came to hold the files of case `sak` (waits for it).
    async fn wait(&self, sak: &str) -> Result<Instant, String> {
        let rx = {
            let mut state = lock(&self.state);
            match state.slots.remove(sak) {
                Some(Slot::Arrived(at)) => return Ok(at),
                Some(Slot::Waiting(_)) => return Err(format!("case {sak} was waited for twice")),
                None => {
                    let (tx, rx) = oneshot::channel();
                    state.slots.insert(sak.to_owned(), Slot::Waiting(tx));
                    rx
                }
            }
        };
        rx.await.map_err(|_| "the fagsystem stopped".to_string())
    }

    fn duplicates(&self) -> u64 {
        lock(&self.state).duplicates
    }

    fn errors(&self) -> u64 {
        lock(&self.state).errors
    }

    fn first_error(&self) -> Option<String> {
        lock(&self.state).first_error.clone()
    }
}

/// The receiving fagsystem, running in the benchmark's process.
struct Fagsystem {
    task: JoinHandle<()>,
    /// Over Fiks IO: the connection and the account's queue (removed at the end).
    broker: Option<(lapin::Connection, lapin::Channel, String)>,
}

impl Fagsystem {
    /// Sets the kommune up with a new Fiks IO account (its key pair made here, the certificate in the
    /// configuration, an integration issued by the admin API) and consumes the account's queue.
    async fn fiks_io(app: &BenchApp, amqp_url: &str, arrivals: Arc<Arrivals>) -> Result<Self, String> {
        let hub = app.fiks_io.as_ref().ok_or("the app runs without the Fiks IO channel")?.konto_id();
        let (certificate, key) = fiks_digisos::kryptering::config::self_signed("fagsystem konto", 2048, 2)
            .map_err(|e| format!("the account's key pair: {e:#}"))?;
        let pem = certificate.to_pem().map_err(|e| format!("the account's certificate: {e}"))?;
        let konto = Uuid::new_v4();
        let mut config = kommune_config();
        config["fiksIoKontoId"] = json!(konto);
        config["fiksIoSertifikat"] = json!(String::from_utf8_lossy(&pem));
        app.configure_kommune_as(&config).await?;
        let url = format!("{}{PREFIX}/admin/kommuner/{KOMMUNE}/fiks-io/integrasjon", app.base);
        let admin = app.token(&fiks_digisos::auth::dev_issuer::DevRole::Admin)?;
        let integrasjon: Value = expect_status(app.client().post(url).bearer_auth(admin), 201)
            .await
            .map_err(|e| format!("issue the integration: {e}"))?
            .json()
            .await
            .map_err(|e| format!("the integration: {e}"))?;
        let receipts = Receipts {
            client: app.client().clone(),
            url: format!("{}/fiks-io/api/v1/send", app.base),
            token: app.fagsystem()?,
            integrasjon_id: integrasjon["integrasjonId"].as_str().unwrap_or_default().to_owned(),
            integrasjon_passord: integrasjon["integrasjonPassord"].as_str().unwrap_or_default().to_owned(),
            konto,
            hub,
        };

        let connection = lapin::Connection::connect(amqp_url, lapin::ConnectionProperties::default())
            .await
            .map_err(|e| format!("cannot connect to the broker: {e}"))?;
        let channel = connection.create_channel().await.map_err(|e| format!("broker channel: {e}"))?;
        declare_account_queue(&channel, konto).await.map_err(|e| format!("declare the account's queue: {e}"))?;
        channel.basic_qos(PREFETCH, BasicQosOptions::default()).await.map_err(|e| format!("basic.qos: {e}"))?;
        let queue = queue_name(konto);
        let mut consumer = channel
            .basic_consume(
                queue.as_str().into(),
                "digisos-bench".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| format!("basic.consume: {e}"))?;
        let (key, certificate, receipts) = (Arc::new(key), Arc::new(certificate), Arc::new(receipts));
        let task = tokio::spawn(async move {
            while let Some(delivery) = consumer.next().await {
                let delivery = match delivery {
                    Ok(delivery) => delivery,
                    Err(e) => {
                        arrivals.failed(format!("the consumer failed: {e}"));
                        return;
                    }
                };
                let (key, certificate, receipts, arrivals) =
                    (key.clone(), certificate.clone(), receipts.clone(), arrivals.clone());
                tokio::spawn(async move {
                    if let Err(e) = take(delivery, key, certificate, &receipts, &arrivals).await {
                        arrivals.failed(e);
                    }
                });
            }
        });
        Ok(Self { task, broker: Some((connection, channel, queue)) })
    }

    /// Polls the REST mailbox every `poll`.
    fn mailbox(app: &BenchApp, poll: Duration, arrivals: Arc<Arrivals>) -> Result<Self, String> {
        let (client, base, token) = (app.client().clone(), app.base.clone(), app.fagsystem()?);
        let task = tokio::spawn(async move {
            let mut taken = HashSet::new();
            loop {
                if let Err(e) = poll_once(&client, &base, &token, &mut taken, &arrivals).await {
                    arrivals.failed(e);
                }
                tokio::time::sleep(poll).await;
            }
        });
        Ok(Self { task, broker: None })
    }

    /// Stops receiving; removes the account's queue.
    async fn stop(self) -> Result<(), String> {
        self.task.abort();
        let _ = self.task.await;
        if let Some((connection, channel, queue)) = self.broker {
            let deleted = channel.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await;
            let _ = connection.close(200, "digisos-bench done".into()).await;
            deleted.map_err(|e| format!("cannot remove {queue}: {e}"))?;
        }
        Ok(())
    }
}

/// What the Fiks IO fagsystem needs to send a receipt.
struct Receipts {
    client: reqwest::Client,
    url: String,
    token: String,
    integrasjon_id: String,
    integrasjon_passord: String,
    konto: Uuid,
    hub: Uuid,
}

impl Receipts {
    /// Sends the receipt of søknad message `melding_id` as KS's client sends a reply.
    async fn send(&self, melding_id: &str) -> Result<(), String> {
        let metadata = json!({
            "avsenderKontoId": self.konto, "mottakerKontoId": self.hub, "meldingType": SOKNAD_MOTTATT_V1,
            "svarPaMelding": melding_id, "ttl": 172_800_000_i64, "headere": {},
        });
        let body = Form::new().part("name=\"metadata\"", "application/json", metadata.to_string().as_bytes()).finish();
        let request = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("IntegrasjonId", &self.integrasjon_id)
            .header("IntegrasjonPassord", &self.integrasjon_passord)
            .header("content-type", Form::content_type())
            .body(body);
        expect_status(request, 202).await.map(|_| ()).map_err(|e| format!("the receipt: {e}"))
    }
}

/// Takes one Fiks IO message: opens it, records the arrival, acks, and sends the receipt.
async fn take(
    mut delivery: lapin::message::Delivery,
    key: Arc<PKey<Private>>,
    certificate: Arc<X509>,
    receipts: &Receipts,
    arrivals: &Arrivals,
) -> Result<(), String> {
    let headers = delivery.properties.headers().clone().unwrap_or_default();
    let melding_id = long_string(&headers, "melding-id").ok_or("a message without melding-id")?;
    let body = std::mem::take(&mut delivery.data);
    let opened = tokio::task::spawn_blocking(move || open(&body, &key, &certificate))
        .await
        .map_err(|e| format!("the decryption task failed: {e}"))?;
    let sak = match opened {
        Ok(sak) => sak,
        Err(e) => {
            let _ = delivery.ack(BasicAckOptions::default()).await;
            return Err(e);
        }
    };
    arrivals.arrived(&sak, Instant::now());
    delivery.ack(BasicAckOptions::default()).await.map_err(|e| format!("basic.ack: {e}"))?;
    receipts.send(&melding_id).await
}

/// Decrypts a message body for the account's key, unzips the ASiC-E and reads every entry; the case id of its
/// metadata. An error unless the container holds the metadata and at least one non-empty file.
fn open(body: &[u8], key: &PKey<Private>, certificate: &X509) -> Result<String, String> {
    let cms = CmsContentInfo::from_der(body).map_err(|e| format!("the body is not CMS: {e}"))?;
    let container = cms.decrypt(key, certificate).map_err(|e| format!("the body does not decrypt: {e}"))?;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(container)).map_err(|e| format!("not a zip: {e}"))?;
    let (mut sak, mut files) = (None, 0usize);
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| format!("zip entry {i}: {e}"))?;
        let name = entry.name().map_err(|e| format!("zip entry {i}: {e}"))?.into_owned();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(|e| format!("zip entry {name}: {e}"))?;
        if name == METADATA_FIL {
            let metadata: Value = serde_json::from_slice(&content).map_err(|e| format!("{METADATA_FIL}: {e}"))?;
            sak = metadata["digisosId"].as_str().map(str::to_owned);
        } else if name != "mimetype" && !name.starts_with("META-INF/") && !content.is_empty() {
            files += 1;
        }
    }
    match sak {
        Some(sak) if files > 0 => Ok(sak),
        Some(sak) => Err(format!("the message of case {sak} holds no file")),
        None => Err(format!("the message has no {METADATA_FIL} with a digisosId")),
    }
}

/// One poll of the mailbox: every waiting delivery not taken before gets its files downloaded ([`MAILBOX_CONCURRENCY`]
/// deliveries at a time) and is confirmed; pages through a full mailbox.
async fn poll_once(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    taken: &mut HashSet<String>,
    arrivals: &Arrivals,
) -> Result<(), String> {
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{base}{PREFIX}/{FIKS_ORG_ID}/mottak?first=100");
        if let Some(after) = &after {
            url.push_str(&format!("&after={after}"));
        }
        let page: Vec<Value> = expect_status(client.get(url).bearer_auth(token), 200)
            .await
            .map_err(|e| format!("the mailbox: {e}"))?
            .json()
            .await
            .map_err(|e| format!("the mailbox's answer: {e}"))?;
        let full = page.len() >= 100;
        after = page.last().and_then(|d| d["leveranseId"].as_str()).map(str::to_owned);
        let new: Vec<Value> = page
            .into_iter()
            .filter(|d| taken.insert(d["leveranseId"].as_str().unwrap_or_default().to_owned()))
            .collect();
        let outcomes: Vec<Result<(), String>> = futures::stream::iter(new.into_iter().map(|delivery| async move {
            let sak = delivery["digisosId"].as_str().ok_or("a delivery without digisosId")?.to_owned();
            let leveranse = delivery["leveranseId"].as_str().ok_or("a delivery without leveranseId")?.to_owned();
            let mut files = 0;
            for fil in delivery["filer"].as_array().map(Vec::as_slice).unwrap_or_default() {
                let path = fil["nedlastingPath"].as_str().ok_or("a file without nedlastingPath")?;
                let bytes = expect_status(client.get(format!("{base}{path}")).bearer_auth(token), 200)
                    .await
                    .map_err(|e| format!("download: {e}"))?
                    .bytes()
                    .await
                    .map_err(|e| format!("download: {e}"))?;
                files += usize::from(!bytes.is_empty());
            }
            if files == 0 {
                return Err(format!("the delivery of case {sak} has no file"));
            }
            arrivals.arrived(&sak, Instant::now());
            let url = format!("{base}{PREFIX}/{FIKS_ORG_ID}/mottak/{leveranse}/kvittering");
            expect_status(client.post(url).bearer_auth(token), 204)
                .await
                .map(|_| ())
                .map_err(|e| format!("kvittering: {e}"))
        }))
        .buffer_unordered(MAILBOX_CONCURRENCY)
        .collect()
        .await;
        for outcome in outcomes {
            outcome?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// The section of `BENCHMARKS.md`.
pub fn render(provenance: &str, config: &FiksIoBenchConfig, figures: &[FiksIoFigures]) -> String {
    let mut out = vec!["## fiks-io".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "Nav's v1 søknader (three PDFs of {} KB) offered open-loop at rising rates for {} s each, delivered to the \
         kommune's fagsystem in the benchmark's process; latency from each søknad's 202 to the fagsystem holding \
         its files. Over Fiks IO (RabbitMQ, a quorum queue per account): the fagsystem consumes with prefetch {}, \
         decrypts each message (CMS, RSA-OAEP-SHA256 and AES-256-CBC) with OpenSSL, unzips the ASiC-E, reads the \
         metadata and every file, acks and sends its `soknad.mottatt.v1` receipt through the hub's send endpoint. \
         Through the REST mailbox (a fresh app, no channel): the fagsystem polls every {}, downloads each new \
         delivery's files and confirms it ({} deliveries at a time), so its latency is mostly the poll interval (half of it on average), a \
         choice of the fagsystem, not a cost of the hub. Sustained: every søknad answered and delivered, \
         delivered/s (from the step's first delivery to its last) ≥ 95 % of the offered rate, p99 under {} (Fiks IO) or the poll interval plus {} (mailbox). The hub, the broker and the load generator share \
         the machine's cores.",
        config.pdf_bytes / 1024,
        config.step.as_secs(),
        PREFETCH,
        millis(config.poll),
        MAILBOX_CONCURRENCY,
        millis(FIKS_IO_P99_LIMIT),
        millis(MAILBOX_P99_MARGIN),
    ));
    let mut summary = Vec::new();
    for f in figures {
        for (route, steps) in [(Route::FiksIo, &f.fiks_io), (Route::Mailbox, &f.mailbox)] {
            out.push(String::new());
            out.push(format!("### {} ({})", f.backend.label(), route.label()));
            out.push(String::new());
            let rows: Vec<Vec<String>> = steps
                .iter()
                .map(|s| {
                    vec![
                        format!("{:.0}", s.offered),
                        format!("{:.1}", s.delivered),
                        millis(s.delivery.p50),
                        millis(s.delivery.p99),
                        millis(s.delivery.max),
                        s.errors.to_string(),
                        s.duplicates.to_string(),
                        if s.sustained() { "yes".into() } else { "no".into() },
                    ]
                })
                .collect();
            out.push(table(
                &["offered/s", "delivered/s", "202 → files p50", "p99", "max", "errors", "duplicates", "sustained"],
                &rows,
            ));
            if let Some(e) = steps.iter().find_map(|s| s.first_error.as_ref()) {
                out.push(String::new());
                out.push(format!("First error: {}", e.chars().take(200).collect::<String>()));
            }
        }
        let best = |steps: &[Step]| {
            let rate = sustained_of(steps);
            let at = rate.and_then(|r| steps.iter().find(|s| s.offered == r));
            (
                rate.map_or("none".into(), |r| format!("{r:.0}")),
                at.map_or("–".into(), |s| format!("{} / {}", millis(s.delivery.p50), millis(s.delivery.p99))),
            )
        };
        let (fiks_io, fiks_io_p) = best(&f.fiks_io);
        let (mailbox, mailbox_p) = best(&f.mailbox);
        summary.push(vec![f.backend.label().to_string(), fiks_io, fiks_io_p, mailbox, mailbox_p]);
    }
    out.push(String::new());
    out.push("### Summary".to_string());
    out.push(String::new());
    out.push(table(
        &[
            "backend",
            "Fiks IO sustained søknader/s",
            "Fiks IO p50 / p99 there",
            "mailbox sustained søknader/s",
            "mailbox p50 / p99 there",
        ],
        &summary,
    ));
    out.join("\n")
}
