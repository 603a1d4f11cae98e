//! `digisos-bench soak`: the service under a steady, bounded load for a long time; memory and latency at the
//! start and at the end.
//!
//! The `digisos` binary (the one built beside `digisos-bench`) runs as a child process on a scratch database, as
//! an operator runs it (development mode, so the soak can mint its callers' tokens; default logging, to a file), so
//! its memory is the service's alone and not the load generator's. For `--minutes`, in windows of
//! `--window-seconds`, the soak offers open-loop:
//!
//! - søknader (multipart: søknad JSON, vedlegg.json, three PDFs) at `--soknader` per second, from 1,000 citizens;
//! - status updates from the kommune's fagsystem at the same rate, to random cases among the newest 2,000 (one
//!   more hendelse each, at most 30 per case: a case's status file does not grow without end);
//! - queries at `--queries` per second: 60 % the citizen's full `sak`, 20 % `mineSaker`, 20 % the fagsystem's
//!   `kommuneSaker` page;
//!
//! and, all along, the fagsystem empties its mailbox every second (reads it and confirms each delivery, as a kommune
//! does), 16 citizens follow a case each over `sakOppdatert` (one update to it every 2 s; when it has 30 hendelser
//! they follow a newer one), and one more subscription is opened and closed every 2 s. After each window
//! it reads the child's `/proc/<pid>/status` (resident memory, threads) and counts its open file descriptors.
//! At the end it stops the service with SIGTERM and checks that it exits cleanly, and scans the service's log for
//! any of the citizens' fødselsnummer.
//!
//! Not a test (it asserts nothing and is not run by CI); it reports. "Flat" is judged, and printed, as: resident
//! memory at the end within 10 % (+ 16 MiB) of the highest reading of the first two windows.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Args;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::RwLock;

use super::app::Backend;
use super::client::{
    FIKS_ORG_ID, KOMMUNE, PREFIX, Subscriber, expect_status, gql, hendelser, kommune_config, soknad_body,
    status_update, synthetic_fnrs,
};
use super::common::{Summary, millis};
use super::rate::{RateSample, open_loop};
use super::report::{Machine, provenance, table, write_section};
use super::scratch::{DEFAULT_POSTGRES_URL, ScratchPostgres, ScratchSqlite};
use fiks_digisos::auth::dev_issuer::{DevIssuer, DevRole};

const MINE: &str = "{ mineSaker { fiksDigisosId status kommunenummer sistOppdatert navKontor } }";
const KOMMUNE_SAKER: &str =
    "{ kommuneSaker(first: 20) { saker { fiksDigisosId kommunenummer innsyn { status } } harFlere sluttMarkor } }";
const SAK_OPPDATERT: &str =
    "subscription($id: String!) { sakOppdatert(fiksDigisosId: $id) { fiksDigisosId status saker { tittel } } }";
/// Citizens the søknader come from.
const CITIZENS: usize = 1000;
/// Long-lived subscriptions.
const SUBSCRIPTIONS: usize = 16;
/// Status updates go to the newest this many cases.
const ACTIVE_CASES: usize = 2000;
/// A case gets no more hendelser than this (a real case has a handful to a few dozen).
const MAX_HENDELSER: usize = 30;

/// Options of `digisos-bench soak`.
#[derive(Args, Clone, Debug)]
pub struct SoakArgs {
    /// Minutes of load.
    #[arg(long, default_value_t = 20.0)]
    pub minutes: f64,

    /// Søknader per second (and as many status updates).
    #[arg(long, default_value_t = 20.0)]
    pub soknader: f64,

    /// Queries per second.
    #[arg(long, default_value_t = 200.0)]
    pub queries: f64,

    /// Seconds per measurement window.
    #[arg(long, default_value_t = 60)]
    pub window_seconds: u64,

    /// Size of each of a søknad's three PDFs, in KB.
    #[arg(long, default_value_t = 50)]
    pub pdf_kb: usize,

    /// Run on SQLite instead of PostgreSQL.
    #[arg(long)]
    pub sqlite: bool,

    /// The PostgreSQL server to create the scratch database on (default: postgres@127.0.0.1:5432).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Also write the report into its section of RELIABILITY.md (or `--output`).
    #[arg(long)]
    pub write: bool,

    /// The file `--write` updates.
    #[arg(long)]
    pub output: Option<PathBuf>,

    /// The `digisos` binary to run (default: the one beside this benchmark's binary).
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

/// What one window measured.
#[derive(Clone, Debug)]
pub struct Window {
    /// Seconds since the load started, at the window's end.
    pub at: Duration,
    /// Søknader: latencies from due time to 202.
    pub submit: Summary,
    /// Status updates.
    pub update: Summary,
    /// Queries.
    pub query: Summary,
    /// Failed operations of all three kinds.
    pub errors: u64,
    /// The first failure's message.
    pub first_error: Option<String>,
    /// The service's resident memory, bytes.
    pub rss: u64,
    /// Its peak resident memory so far, bytes.
    pub hwm: u64,
    /// Its threads.
    pub threads: u64,
    /// Its open file descriptors.
    pub fds: u64,
    /// Subscription messages received in the window.
    pub messages: u64,
    /// Deliveries the fagsystem confirmed in the window.
    pub confirmed: u64,
}

/// The whole run.
#[derive(Clone, Debug)]
pub struct SoakReport {
    /// The backend.
    pub backend: Backend,
    /// The service's memory before the load (after start and seeding).
    pub idle_rss: u64,
    /// One entry per window.
    pub windows: Vec<Window>,
    /// Whether the service exited cleanly on SIGTERM.
    pub clean_exit: bool,
    /// Log lines of the service, and how many of them hold one of the citizens' fødselsnummer.
    pub log_lines: usize,
    /// Lines with a fødselsnummer.
    pub fnr_lines: usize,
    /// Cases in the store at the end.
    pub cases: usize,
    /// The options.
    pub args: SoakArgs,
    /// When the PostgreSQL server's autovacuum is off: how many times the soak ran `VACUUM (ANALYZE)` instead.
    pub vacuums: Option<u64>,
}

/// Runs the soak and prints (and with `--write` stores) the report.
pub async fn run(args: &SoakArgs) -> Result<(), String> {
    let machine = Machine::detect();
    let backend = if args.sqlite { Backend::Sqlite } else { Backend::Postgres };
    let report = soak(args, backend).await?;
    let text = render(&provenance("digisos-bench soak", &machine), &report);
    println!("\n{text}");
    if args.write {
        let path = args.output.clone().unwrap_or_else(|| super::report::repository().join("RELIABILITY.md"));
        write_section(&path, "soak", &text)?;
        eprintln!("wrote the soak section of {}", path.display());
    }
    Ok(())
}

/// The service as a child process.
struct Service {
    child: Child,
    base: String,
    log: PathBuf,
}

impl Service {
    fn start(binary: &Path, data_dir: &Path, database_url: &str) -> Result<Self, String> {
        let log = data_dir.join("service.log");
        let out = std::fs::File::create(&log).map_err(|e| format!("service log: {e}"))?;
        let err = out.try_clone().map_err(|e| format!("service log: {e}"))?;
        let mut child = Command::new(binary)
            .env_remove("RUST_LOG")
            .env("DIGISOS_DATA_DIR", data_dir)
            .env("DIGISOS_LISTEN", "127.0.0.1:0")
            .env("DIGISOS_DEV_MODE", "true")
            .env("DATABASE_URL", database_url)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(line) = text.lines().find(|l| l.starts_with("fiks-digisos listening on ")) {
                let base = line
                    .split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .ok_or_else(|| format!("no address in {line:?}"))?
                    .to_owned();
                return Ok(Self { child, base, log });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("digisos exited with {status} before listening:\n{text}"));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return Err(format!("digisos did not listen within 60 s; see {}", log.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then up to 30 s for a clean exit.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        if !Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success()) {
            return false;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `(VmRSS, VmHWM, Threads)` of a `/proc/<pid>/status` text, memory in bytes.
pub fn proc_status(text: &str) -> (u64, u64, u64) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:") * 1024, field("VmHWM:") * 1024, field("Threads:"))
}

fn memory_of(pid: u32) -> (u64, u64, u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let (rss, hwm, threads) = proc_status(&text);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count() as u64).unwrap_or(0);
    (rss, hwm, threads, fds)
}

/// Lines of `log` holding one of `fnrs` (any run of 11 digits is looked up).
pub fn lines_with_fnr(log: &str, fnrs: &HashSet<String>) -> usize {
    log.lines()
        .filter(|line| {
            let bytes = line.as_bytes();
            let mut start = None;
            for (i, b) in bytes.iter().chain(std::iter::once(&b' ')).enumerate() {
                if b.is_ascii_digit() {
                    start.get_or_insert(i);
                } else if let Some(s) = start.take()
                    && i - s == 11
                    && fnrs.contains(&line[s..i])
                {
                    return true;
                }
            }
            false
        })
        .count()
}

struct Case {
    id: String,
    citizen: usize,
    hendelser: AtomicUsize,
}

struct Load {
    client: reqwest::Client,
    base: String,
    fnrs: Vec<String>,
    citizens: Vec<String>,
    fagsystem: String,
    cases: RwLock<Vec<Arc<Case>>>,
    pdf_bytes: usize,
    seed: AtomicU64,
    sak_query: String,
}

impl Load {
    async fn submit(&self, citizen: usize) -> Result<Arc<Case>, String> {
        let seed = self.seed.fetch_add(1, Ordering::Relaxed);
        let body = soknad_body(&self.fnrs[citizen], self.pdf_bytes, seed)?;
        let url = format!("{}{PREFIX}/soknader/{KOMMUNE}/{}", self.base, uuid::Uuid::new_v4());
        let request = self
            .client
            .post(url)
            .bearer_auth(&self.citizens[citizen])
            .header("content-type", super::client::Form::content_type())
            .body(body);
        let response = expect_status(request, 202).await?;
        let id: String = response.json().await.map_err(|e| format!("submit: the answer is not the id: {e}"))?;
        let case = Arc::new(Case { id, citizen, hendelser: AtomicUsize::new(0) });
        self.cases.write().await.push(case.clone());
        Ok(case)
    }

    /// A random case of all.
    async fn random_case(&self) -> Result<Arc<Case>, String> {
        let cases = self.cases.read().await;
        if cases.is_empty() {
            return Err("no case yet".into());
        }
        let i = rand::thread_rng().gen_range(0..cases.len());
        Ok(cases[i].clone())
    }

    /// A random case among the newest [`ACTIVE_CASES`] with fewer than [`MAX_HENDELSER`] hendelser (the kommune
    /// works on recent cases; a case's status file does not grow without end), if one is found in a few tries.
    async fn active_case(&self) -> Result<Arc<Case>, String> {
        let cases = self.cases.read().await;
        let from = cases.len().saturating_sub(ACTIVE_CASES);
        for _ in 0..8 {
            if cases.len() == from {
                break;
            }
            let case = &cases[rand::thread_rng().gen_range(from..cases.len())];
            if case.hendelser.load(Ordering::Relaxed) < MAX_HENDELSER {
                return Ok(case.clone());
            }
        }
        Err("no active case with room for a hendelse".into())
    }

    async fn update(&self, case: &Case) -> Result<(), String> {
        let m = case.hendelser.fetch_add(1, Ordering::SeqCst) + 1;
        let url = format!("{}{PREFIX}/{FIKS_ORG_ID}/{}", self.base, case.id);
        let body = status_update(&hendelser(m.max(1)));
        expect_status(self.client.post(url).bearer_auth(&self.fagsystem).json(&body), 202).await.map(|_| ())
    }

    async fn query(&self, k: u64) -> Result<(), String> {
        match k % 10 {
            0 | 1 => {
                // A citizen of the cases seeded before the load: they have a case in the read model for sure.
                let case = self.cases.read().await[(k as usize / 10) % 100].clone();
                let data = gql(&self.client, &self.base, &self.citizens[case.citizen], MINE, &json!({}), None).await?;
                match data["mineSaker"].as_array() {
                    Some(list) if !list.is_empty() => Ok(()),
                    _ => Err(format!("mineSaker returned no cases: {data}")),
                }
            }
            2 | 3 => {
                let data = gql(&self.client, &self.base, &self.fagsystem, KOMMUNE_SAKER, &json!({}), None).await?;
                match data["kommuneSaker"]["saker"].as_array() {
                    Some(list) if !list.is_empty() => Ok(()),
                    _ => Err(format!("kommuneSaker returned no cases: {data}")),
                }
            }
            _ => {
                let case = self.random_case().await?;
                let token = &self.citizens[case.citizen];
                let data = gql(&self.client, &self.base, token, &self.sak_query, &json!({"id": case.id}), None).await?;
                // A case submitted a moment ago may not be folded yet: `null` is a valid answer then.
                if data["sak"].is_null() || data["sak"]["fiksDigisosId"] == case.id.as_str() {
                    Ok(())
                } else {
                    Err(format!("sak answered another case: {data}"))
                }
            }
        }
    }

    /// Reads the mailbox and confirms every delivery on the first page (8 at a time); how many were confirmed.
    async fn drain_mailbox(&self) -> Result<u64, String> {
        let url = format!("{}{PREFIX}/{FIKS_ORG_ID}/mottak?first=100", self.base);
        let page: Value = expect_status(self.client.get(url).bearer_auth(&self.fagsystem), 200)
            .await?
            .json()
            .await
            .map_err(|e| format!("mailbox: {e}"))?;
        let ids: Vec<String> = page
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l["leveranseId"].as_str().map(str::to_owned))
            .collect();
        let confirmations = futures::stream::iter(ids.into_iter().map(|id| {
            let url = format!("{}{PREFIX}/{FIKS_ORG_ID}/mottak/{id}/kvittering", self.base);
            expect_status(self.client.post(url).bearer_auth(&self.fagsystem), 204)
        }));
        let answers: Vec<_> = futures::StreamExt::collect(futures::StreamExt::buffer_unordered(confirmations, 8)).await;
        let mut confirmed = 0;
        for answer in answers {
            answer?;
            confirmed += 1;
        }
        Ok(confirmed)
    }
}

/// Runs the soak on `backend`.
pub async fn soak(args: &SoakArgs, backend: Backend) -> Result<SoakReport, String> {
    let binary = match &args.binary {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("where am I: {e}"))?
            .with_file_name(format!("digisos{}", std::env::consts::EXE_SUFFIX)),
    };
    if !binary.exists() {
        return Err(format!("{} not found: build it (cargo build --release --bins)", binary.display()));
    }
    let folder = ScratchSqlite::create().await?;
    let postgres = match backend {
        Backend::Postgres => {
            let server = match &args.database_url {
                Some(url) if url.starts_with("postgres") => url.clone(),
                _ => DEFAULT_POSTGRES_URL.to_string(),
            };
            match ScratchPostgres::create(&server).await {
                Ok(pg) => Some(pg),
                Err(e) => {
                    let _ = folder.drop().await;
                    return Err(e);
                }
            }
        }
        Backend::Sqlite => None,
    };
    let url = match &postgres {
        Some(pg) => pg.url().to_owned(),
        None => folder.url("events.db"),
    };
    let outcome = tokio::select! {
        outcome = soak_on(args, backend, &binary, folder.folder(), &url) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    if let Some(pg) = postgres {
        let _ = pg.drop().await;
    }
    let removed = folder.drop().await;
    let report = outcome?;
    removed.map(|()| report)
}

async fn soak_on(
    args: &SoakArgs,
    backend: Backend,
    binary: &Path,
    data_dir: &Path,
    url: &str,
) -> Result<SoakReport, String> {
    let service = Service::start(binary, data_dir, url)?;
    eprintln!(
        "soak: {} on {} (pid {}), log {}",
        binary.display(),
        backend.label(),
        service.pid(),
        service.log.display()
    );
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build().map_err(|e| format!("client: {e}"))?;
    // Ready (migrated, projections started) before the load.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(client.get(format!("{}/internal/isready", service.base)).send().await, Ok(r) if r.status() == 200) {
        if Instant::now() > deadline {
            return Err("the service did not become ready in 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let minutes = args.minutes.max(0.05);
    let ttl = Duration::from_secs_f64(minutes * 60.0 + 1800.0).min(fiks_digisos::auth::dev_issuer::MAX_TTL);
    let issuer = DevIssuer::load_or_create(data_dir).map_err(|e| format!("the development key: {e}"))?;
    let mint = |role: DevRole| issuer.mint(&role, ttl).map_err(|e| format!("cannot mint a token: {e}"));
    let fnrs = synthetic_fnrs(CITIZENS);
    let citizens = fnrs
        .iter()
        .map(|f| mint(DevRole::Citizen(f.parse().map_err(|e| format!("fnr: {e}"))?)))
        .collect::<Result<Vec<_>, _>>()?;
    let fagsystem =
        mint(DevRole::Fagsystem(super::client::FAGSYSTEM_ORGNR.parse().map_err(|e| format!("orgnr: {e}"))?))?;
    let admin = mint(DevRole::Admin)?;
    let put = client.put(format!("{}{PREFIX}/admin/kommuner/{KOMMUNE}", service.base)).bearer_auth(&admin);
    expect_status(put.json(&kommune_config()), 200).await.map_err(|e| format!("configure the kommune: {e}"))?;

    let load = Arc::new(Load {
        client,
        base: service.base.clone(),
        fnrs: fnrs.clone(),
        citizens,
        fagsystem,
        cases: RwLock::new(Vec::new()),
        pdf_bytes: args.pdf_kb.max(1) * 1000,
        seed: AtomicU64::new(0),
        sak_query: super::query::full_sak_query()?,
    });
    // A first case per citizen of the first 100, with two hendelser, so every query has something to find.
    for citizen in 0..100 {
        let case = load.submit(citizen).await?;
        load.update(&case).await?;
        load.update(&case).await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = memory_of(service.pid()).0;
    eprintln!("soak: seeded 100 cases; service resident memory {}", mib(idle_rss));

    // Background: the mailbox drained every second, 16 subscriptions open, one opened and closed every 2 s.
    let stop = Arc::new(AtomicBool::new(false));
    let vacuums = Arc::new(AtomicU64::new(0));
    let autovacuum_off = match backend {
        Backend::Postgres => stand_in_for_autovacuum(url, stop.clone(), vacuums.clone()).await?,
        Backend::Sqlite => false,
    };
    let messages = Arc::new(AtomicU64::new(0));
    let confirmed = Arc::new(AtomicU64::new(0));
    let background_errors = Arc::new(AtomicU64::new(0));
    let mut background = tokio::task::JoinSet::new();
    {
        let (load, stop, confirmed, errors) =
            (load.clone(), stop.clone(), confirmed.clone(), background_errors.clone());
        background.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                // A full page: there is more waiting, read on at once; else look again in a second.
                match load.drain_mailbox().await {
                    Ok(n) if n >= 100 => {
                        confirmed.fetch_add(n, Ordering::Relaxed);
                        continue;
                    }
                    Ok(n) => confirmed.fetch_add(n, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
    for s in 0..SUBSCRIPTIONS {
        let (load, stop, messages, errors) = (load.clone(), stop.clone(), messages.clone(), background_errors.clone());
        background.spawn(async move {
            let mut case = load.cases.read().await[s % 100].clone();
            // A citizen follows a case while it is worked on (until it has MAX_HENDELSER), then a newer one.
            while !stop.load(Ordering::Relaxed) {
                let token = load.citizens[case.citizen].clone();
                let followed = async {
                    let mut subscriber = Subscriber::connect(&load.base, &token).await?;
                    subscriber.subscribe("1", SAK_OPPDATERT, &json!({"id": case.id})).await?;
                    while !stop.load(Ordering::Relaxed) && case.hendelser.load(Ordering::Relaxed) < MAX_HENDELSER {
                        // Keep this case changing so the subscription has something to carry.
                        load.update(&case).await?;
                        match subscriber.next().await? {
                            Some(_) => messages.fetch_add(1, Ordering::Relaxed),
                            None => return Err("the subscription closed".to_string()),
                        };
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    }
                    Ok::<(), String>(())
                };
                if followed.await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                match load.active_case().await {
                    Ok(next) => case = next,
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        });
    }
    {
        let (load, stop, messages, errors) = (load.clone(), stop.clone(), messages.clone(), background_errors.clone());
        background.spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let churn = async {
                    let case = load.random_case().await?;
                    let mut subscriber = Subscriber::connect(&load.base, &load.citizens[case.citizen]).await?;
                    subscriber.subscribe("1", SAK_OPPDATERT, &json!({"id": case.id})).await?;
                    // The first message is the case as it is now (or nothing yet for a case not folded).
                    let first = tokio::time::timeout(Duration::from_secs(2), subscriber.next()).await;
                    if matches!(first, Ok(Ok(Some(_)))) {
                        messages.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok::<(), String>(())
                };
                if churn.await.is_err() {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
    }

    let total = Duration::from_secs_f64(minutes * 60.0);
    let window = Duration::from_secs(args.window_seconds.max(1)).min(total);
    let started = Instant::now();
    let mut windows = Vec::new();
    let (mut seen_messages, mut seen_confirmed, mut seen_background_errors) = (0, 0, 0);
    while started.elapsed() + Duration::from_millis(500) < total {
        let this = window.min(total - started.elapsed());
        let submits = {
            let load = load.clone();
            open_loop(args.soknader, this, move |k| {
                let load = load.clone();
                async move { load.submit((k as usize * 7919) % CITIZENS).await.map(|_| ()) }
            })
        };
        let updates = {
            let load = load.clone();
            open_loop(args.soknader, this, move |_| {
                let load = load.clone();
                async move {
                    let case = load.active_case().await?;
                    load.update(&case).await
                }
            })
        };
        let queries = {
            let load = load.clone();
            open_loop(args.queries, this, move |k| {
                let load = load.clone();
                async move { load.query(k).await }
            })
        };
        let (submits, updates, queries): (RateSample, RateSample, RateSample) = tokio::join!(submits, updates, queries);
        let (rss, hwm, threads, fds) = memory_of(service.pid());
        let (m, c, b) = (
            messages.load(Ordering::Relaxed),
            confirmed.load(Ordering::Relaxed),
            background_errors.load(Ordering::Relaxed),
        );
        let first_error =
            submits.first_error.clone().or(updates.first_error.clone()).or(queries.first_error.clone()).or_else(|| {
                (b > seen_background_errors).then(|| "a mailbox read or a subscription failed".to_string())
            });
        let w = Window {
            at: started.elapsed(),
            submit: Summary::of(&submits.latencies),
            update: Summary::of(&updates.latencies),
            query: Summary::of(&queries.latencies),
            errors: submits.errors + updates.errors + queries.errors + (b - seen_background_errors),
            first_error,
            rss,
            hwm,
            threads,
            fds,
            messages: m - seen_messages,
            confirmed: c - seen_confirmed,
        };
        (seen_messages, seen_confirmed, seen_background_errors) = (m, c, b);
        eprintln!(
            "soak {:>5.1} min: rss {} (peak {}), {} threads, {} fds; p99 submit {} update {} query {}; {} errors{}",
            w.at.as_secs_f64() / 60.0,
            mib(w.rss),
            mib(w.hwm),
            w.threads,
            w.fds,
            millis(w.submit.p99),
            millis(w.update.p99),
            millis(w.query.p99),
            w.errors,
            w.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
        windows.push(w);
    }
    stop.store(true, Ordering::Relaxed);
    let _ =
        tokio::time::timeout(Duration::from_secs(40), async { while background.join_next().await.is_some() {} }).await;
    let cases = load.cases.read().await.len();
    let log = service.log.clone();
    let clean_exit = service.terminate();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let fnr_set: HashSet<String> = fnrs.into_iter().collect();
    Ok(SoakReport {
        backend,
        vacuums: autovacuum_off.then(|| vacuums.load(Ordering::Relaxed)),
        idle_rss,
        windows,
        clean_exit,
        log_lines: text.lines().count(),
        fnr_lines: lines_with_fnr(&text, &fnr_set),
        cases,
        args: args.clone(),
    })
}

/// A PostgreSQL server with autovacuum off (this project's development machines) lets dead row versions pile up
/// in the read models, which every upsert leaves behind, and the soak would measure that instead of the service:
/// in production autovacuum runs. If it is off, a task runs `VACUUM (ANALYZE)` on the scratch database every
/// minute until `stop`, counting in `vacuums`; returns whether it stands in.
async fn stand_in_for_autovacuum(url: &str, stop: Arc<AtomicBool>, vacuums: Arc<AtomicU64>) -> Result<bool, String> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await
        .map_err(|e| format!("cannot connect to the scratch database: {e}"))?;
    let setting: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
        .fetch_one(&pool)
        .await
        .map_err(|e| format!("autovacuum setting: {e}"))?;
    if setting == "on" {
        pool.close().await;
        return Ok(false);
    }
    eprintln!("soak: the server's autovacuum is off; running VACUUM (ANALYZE) every minute in its place");
    tokio::spawn(async move {
        let mut next = tokio::time::Instant::now() + Duration::from_secs(60);
        while !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if tokio::time::Instant::now() < next {
                continue;
            }
            next += Duration::from_secs(60);
            if sqlx::raw_sql("VACUUM (ANALYZE)").execute(&pool).await.is_ok() {
                vacuums.fetch_add(1, Ordering::Relaxed);
            }
        }
        pool.close().await;
    });
    Ok(true)
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// Whether memory stayed flat: the last reading within 10 % + 16 MiB of the highest of the first two windows.
pub fn flat(windows: &[Window]) -> Option<(u64, u64, bool)> {
    let early = windows.iter().take(2).map(|w| w.rss).max()?;
    let last = windows.last()?.rss;
    let allowed = early + early / 10 + 16 * 1024 * 1024;
    Some((early, last, last <= allowed))
}

/// The report (a section of RELIABILITY.md).
pub fn render(provenance: &str, report: &SoakReport) -> String {
    let args = &report.args;
    let mut out = vec!["## Soak".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "`cargo run --release --bin digisos-bench -- soak --minutes {} --write`: the `digisos` binary as a child \
         process on {} (development mode, default logging to a file), offered open-loop for {} minutes {} \
         søknader/s (three {} KB PDFs each) from {CITIZENS} citizens, as many status updates to random cases, {} \
         queries/s (60 % the citizen's full `sak`, 20 % `mineSaker`, 20 % the fagsystem's `kommuneSaker`); all along \
         the fagsystem drains its mailbox every second, {SUBSCRIPTIONS} citizens follow a case each over \
         `sakOppdatert` (an update to it every 2 s, the next case at {MAX_HENDELSER} hendelser) and one more \
         subscription opens and closes every 2 s. Status updates go to the newest {ACTIVE_CASES} cases, at most \
         {MAX_HENDELSER} hendelser each. Latency from each operation's due time to its answer; memory from the \
         service's `/proc/<pid>/status` after each {}-s window.",
        args.minutes,
        report.backend.label(),
        args.minutes,
        args.soknader,
        args.pdf_kb,
        args.queries,
        args.window_seconds
    ));
    out.push(String::new());
    let rows: Vec<Vec<String>> = report
        .windows
        .iter()
        .map(|w| {
            vec![
                format!("{:.1}", w.at.as_secs_f64() / 60.0),
                mib(w.rss),
                w.threads.to_string(),
                w.fds.to_string(),
                format!("{} / {}", millis(w.submit.p50), millis(w.submit.p99)),
                format!("{} / {}", millis(w.update.p50), millis(w.update.p99)),
                format!("{} / {}", millis(w.query.p50), millis(w.query.p99)),
                (w.submit.count + w.update.count + w.query.count).to_string(),
                w.errors.to_string(),
                w.messages.to_string(),
                w.confirmed.to_string(),
            ]
        })
        .collect();
    out.push(table(
        &[
            "minute",
            "resident memory",
            "threads",
            "open fds",
            "søknad p50 / p99",
            "update p50 / p99",
            "query p50 / p99",
            "answered",
            "errors",
            "subscription messages",
            "deliveries confirmed",
        ],
        &rows,
    ));
    out.push(String::new());
    let errors: u64 = report.windows.iter().map(|w| w.errors).sum();
    let first_error = report.windows.iter().find_map(|w| w.first_error.clone());
    let verdict = match flat(&report.windows) {
        Some((early, last, true)) => format!(
            "**Memory flat**: {} at the end against {} in the first two windows (allowed: +10 % + 16 MiB); {} before \
             the load; peak {}.",
            mib(last),
            mib(early),
            mib(report.idle_rss),
            mib(report.windows.iter().map(|w| w.hwm).max().unwrap_or(0))
        ),
        Some((early, last, false)) => format!(
            "**Memory NOT flat**: {} at the end against {} in the first two windows (allowed: +10 % + 16 MiB).",
            mib(last),
            mib(early)
        ),
        None => "No window completed.".to_string(),
    };
    out.push(format!("- {verdict}"));
    if let (Some(first), Some(last)) = (report.windows.first(), report.windows.last()) {
        out.push(format!(
            "- p99 first window → last: søknad {} → {}, update {} → {}, query {} → {}.",
            millis(first.submit.p99),
            millis(last.submit.p99),
            millis(first.update.p99),
            millis(last.update.p99),
            millis(first.query.p99),
            millis(last.query.p99)
        ));
    }
    out.push(format!(
        "- {} cases at the end; {errors} failed operations{}.",
        report.cases,
        first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
    ));
    if let Some(n) = report.vacuums {
        out.push(format!(
            "- The PostgreSQL server runs with autovacuum off (this machine's configuration); the soak ran `VACUUM \
             (ANALYZE)` on its database every minute in its place ({n} times), as autovacuum would in production."
        ));
    }
    out.push(format!(
        "- SIGTERM at the end: {}. The service's log: {} lines, {} with one of the {CITIZENS} citizens' \
         fødselsnummer.",
        if report.clean_exit { "clean exit" } else { "NOT a clean exit" },
        report.log_lines,
        report.fnr_lines
    ));
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_threads_are_read_from_proc_status() {
        let text = "Name:\tdigisos\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t9\n";
        assert_eq!(proc_status(text), (100 * 1024 * 1024, 200 * 1024 * 1024, 9));
        assert_eq!(proc_status(""), (0, 0, 0));
        let (rss, _, threads, fds) = memory_of(std::process::id());
        assert!(rss > 0 && threads > 0 && fds > 0, "this process has memory, threads and files");
    }

    #[test]
    fn only_whole_eleven_digit_runs_of_known_numbers_count_as_leaks() {
        let fnrs: HashSet<String> = ["01818512345".to_string()].into();
        let log = "a 01818512345 b\nid=101818512345\nnothing\n\"fnr\":\"01818512345\"\n";
        assert_eq!(lines_with_fnr(log, &fnrs), 2, "the 12-digit run is another number");
    }

    fn window(rss_mib: u64) -> Window {
        Window {
            at: Duration::from_secs(60),
            submit: Summary::default(),
            update: Summary::default(),
            query: Summary::default(),
            errors: 0,
            first_error: None,
            rss: rss_mib * 1024 * 1024,
            hwm: rss_mib * 1024 * 1024,
            threads: 1,
            fds: 1,
            messages: 0,
            confirmed: 0,
        }
    }

    #[test]
    fn flat_means_within_ten_percent_and_sixteen_mib_of_the_first_two_windows() {
        let grow = |last| vec![window(100), window(120), window(125), window(last)];
        assert!(flat(&grow(147)).is_some_and(|(_, _, ok)| ok), "120 + 12 + 16 = 148 allowed");
        assert!(flat(&grow(149)).is_some_and(|(_, _, ok)| !ok));
        assert!(flat(&[]).is_none());
    }
}
