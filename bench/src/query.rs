//! `digisos-bench query`: the citizen's `sak` query against a plain axum handler that returns the same case.
//!
//! One case with 30 hendelser (a søknad, then a status update carrying 30 hendelser). The query selects every
//! field of `InnsynSak` (the selection is generated from the schema), closed-loop from 32 concurrent clients over
//! loopback. The reference, in the same process and run: an axum handler on its own port that verifies the same
//! bearer token, reads the same read-model row with the same SQL (`saker::innsyn_sak`) and returns the view as
//! `{"data": {"sak": …}}` with serde. The difference is what GraphQL costs (parse, validate, resolve, serialize
//! through its value tree). They run GraphQL, reference, reference, GraphQL, half the time each. Goal: GraphQL ≥ 0.6
//! of the reference's rate. Also p99 at a fixed 500 requests/s, offered open-loop.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use clap::Args;
use digisos_projections::ReadDb;
use digisos_projections::saker;
use serde_json::{Value, json};

use super::app::{Backend, BenchApp, Projections};
use super::client::{expect_status, hendelser, soknad_body, synthetic_fnrs};
use super::common::{Summary, Targets, goal, millis};
use super::load::{Measurement, closed_loop};
use super::rate::open_loop;
use super::report::{table, thousands};
use fiks_digisos::auth::{Authenticator, Caller};

/// The goal: GraphQL's rate over the reference's.
pub const RATIO_GOAL: f64 = 0.6;

/// Options of `digisos-bench query`.
#[derive(Args, Clone, Debug)]
pub struct QueryArgs {
    /// Seconds each closed-loop measurement runs (split in two halves).
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,

    /// Concurrent clients of the closed loop.
    #[arg(long, default_value_t = 32)]
    pub clients: usize,

    /// The fixed rate, requests per second.
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,

    /// Seconds the fixed rate is offered.
    #[arg(long, default_value_t = 5)]
    pub rate_seconds: u64,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub targets: Targets,
}

/// The sizes of one run.
#[derive(Clone, Debug)]
pub struct QueryConfig {
    /// Each closed-loop measurement (two halves).
    pub window: Duration,
    /// Unmeasured warm-up before each half.
    pub warmup: Duration,
    /// Closed-loop clients.
    pub clients: usize,
    /// Hendelser of the case.
    pub hendelser: usize,
    /// The fixed rate.
    pub rate: f64,
    /// How long it is offered.
    pub rate_window: Duration,
}

impl From<&QueryArgs> for QueryConfig {
    fn from(args: &QueryArgs) -> Self {
        Self {
            window: Duration::from_secs(args.seconds.max(1)),
            warmup: Duration::from_secs(1),
            clients: args.clients.max(1),
            hendelser: 30,
            rate: args.rate,
            rate_window: Duration::from_secs(args.rate_seconds.max(1)),
        }
    }
}

/// One backend's figures.
#[derive(Clone, Debug)]
pub struct QueryFigures {
    /// The backend.
    pub backend: Backend,
    /// GraphQL, closed loop.
    pub graphql: Measurement,
    /// The reference, closed loop.
    pub reference: Measurement,
    /// GraphQL at the fixed rate.
    pub graphql_fixed: Summary,
    /// The reference at the fixed rate.
    pub reference_fixed: Summary,
    /// Failed requests at the fixed rate (GraphQL, reference).
    pub fixed_errors: (u64, u64),
    /// Bytes of one answer (GraphQL, reference).
    pub bytes: (usize, usize),
}

/// Starts an app on `backend` and measures.
pub async fn measure(backend: Backend, postgres_server: &str, config: &QueryConfig) -> Result<QueryFigures, String> {
    let app = BenchApp::start(backend, postgres_server, Projections::All).await?;
    let outcome = tokio::select! {
        outcome = run_on(&app, config) => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
    };
    let finished = app.finish().await;
    let figures = outcome?;
    finished.map(|()| figures)
}

struct Reference {
    auth: Arc<Authenticator>,
    db: ReadDb,
}

/// The reference: verify the token, read the row, return the view.
async fn reference(State(r): State<Arc<Reference>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let fnr = match r.auth.authenticate_headers(&headers).await {
        Ok(Caller::Citizen { fnr }) => fnr,
        Ok(_) => return StatusCode::FORBIDDEN.into_response(),
        Err(_) => return StatusCode::UNAUTHORIZED.into_response(),
    };
    match saker::innsyn_sak(&r.db, &id, fnr.expose()).await {
        Ok(sak) => Json(json!({"data": {"sak": sak.map(|s| s.at(Utc::now()))}})).into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A request of either kind, as the load generators send it.
#[derive(Clone)]
struct Target {
    client: reqwest::Client,
    graphql_url: String,
    reference_url: String,
    token: String,
    body: Arc<Value>,
}

impl Target {
    async fn graphql(&self) -> Result<(), String> {
        let request = self.client.post(&self.graphql_url).bearer_auth(&self.token).json(&*self.body);
        let bytes = expect_status(request, 200).await?.bytes().await.map_err(|e| e.to_string())?;
        if bytes.starts_with(b"{\"data\":{\"sak\":{") { Ok(()) } else { Err("an answer without the case".into()) }
    }

    async fn reference(&self) -> Result<(), String> {
        let request = self.client.get(&self.reference_url).bearer_auth(&self.token);
        let bytes = expect_status(request, 200).await?.bytes().await.map_err(|e| e.to_string())?;
        if bytes.starts_with(b"{\"data\":{\"sak\":{") { Ok(()) } else { Err("an answer without the case".into()) }
    }
}

async fn run_on(app: &BenchApp, config: &QueryConfig) -> Result<QueryFigures, String> {
    app.configure_kommune().await?;
    let fnr = synthetic_fnrs(1).pop().ok_or("no citizen")?;
    let token = app.citizen(&fnr)?;
    let (id, _) = app.submit(&token, soknad_body(&fnr, 2000, 1)?).await?;
    let position = app.update(&app.fagsystem()?, &id, &hendelser(config.hendelser)).await?;
    app.caught_up(position).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("bind: {e}"))?;
    let reference_base = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let state = Arc::new(Reference { auth: app.auth.clone(), db: app.read_db().clone() });
    let router = axum::Router::new().route("/reference/sak/{id}", axum::routing::get(reference)).with_state(state);
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let target = Target {
        client: app.client().clone(),
        graphql_url: format!("{}/graphql", app.base),
        reference_url: format!("{reference_base}/reference/sak/{id}"),
        token,
        body: Arc::new(json!({"query": full_sak_query()?, "variables": {"id": id}})),
    };
    let outcome = compare(&target, config).await;
    server.abort();
    let mut figures = outcome?;
    figures.backend = app.backend;
    Ok(figures)
}

async fn compare(target: &Target, config: &QueryConfig) -> Result<QueryFigures, String> {
    let size = |r: reqwest::Response| async move { r.bytes().await.map(|b| b.len()).map_err(|e| e.to_string()) };
    let graphql_bytes = size(
        expect_status(target.client.post(&target.graphql_url).bearer_auth(&target.token).json(&*target.body), 200)
            .await?,
    )
    .await?;
    let reference_bytes =
        size(expect_status(target.client.get(&target.reference_url).bearer_auth(&target.token), 200).await?).await?;
    let half = config.window / 2;
    let graphql_op = |t: Target| {
        move |_, _| {
            let t = t.clone();
            async move { t.graphql().await }
        }
    };
    let reference_op = |t: Target| {
        move |_, _| {
            let t = t.clone();
            async move { t.reference().await }
        }
    };
    let g1 = closed_loop(config.clients, config.warmup, half, graphql_op(target.clone())).await?;
    let r1 = closed_loop(config.clients, config.warmup, half, reference_op(target.clone())).await?;
    let r2 = closed_loop(config.clients, config.warmup, half, reference_op(target.clone())).await?;
    let g2 = closed_loop(config.clients, config.warmup, half, graphql_op(target.clone())).await?;
    let (graphql, reference) = (Measurement::of(&[g1, g2]), Measurement::of(&[r1, r2]));
    eprintln!("  closed loop: GraphQL {:.0}/s, reference {:.0}/s", graphql.per_second(), reference.per_second());
    let t = target.clone();
    let graphql_fixed = open_loop(config.rate, config.rate_window, move |_| {
        let t = t.clone();
        async move { t.graphql().await }
    })
    .await;
    let t = target.clone();
    let reference_fixed = open_loop(config.rate, config.rate_window, move |_| {
        let t = t.clone();
        async move { t.reference().await }
    })
    .await;
    Ok(QueryFigures {
        backend: Backend::Sqlite,
        graphql,
        reference,
        graphql_fixed: Summary::of(&graphql_fixed.latencies),
        reference_fixed: Summary::of(&reference_fixed.latencies),
        fixed_errors: (graphql_fixed.errors, reference_fixed.errors),
        bytes: (graphql_bytes, reference_bytes),
    })
}

/// The `sak` query selecting every field of `InnsynSak` and, recursively, of the object types under it (from
/// the schema's SDL; fields with arguments are left out).
pub fn full_sak_query() -> Result<String, String> {
    let types = object_types(&fiks_digisos::graphql::sdl());
    let selection = selection(&types, "InnsynSak", &mut HashSet::new())?;
    Ok(format!("query($id: String!) {{ sak(fiksDigisosId: $id) {selection} }}"))
}

/// Object types of an SDL and their fields `(name, type name)`.
fn object_types(sdl: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut types = BTreeMap::new();
    let mut current: Option<(String, Vec<(String, String)>)> = None;
    let mut in_description = false;
    for line in sdl.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("\"\"\"") {
            in_description = !(in_description || (trimmed.len() > 3 && trimmed.ends_with("\"\"\"")));
            continue;
        }
        if in_description || trimmed.starts_with('"') {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("type ") {
            let name = rest.split([' ', '{']).next().unwrap_or_default().to_string();
            current = Some((name, Vec::new()));
        } else if trimmed == "}" {
            if let Some((name, fields)) = current.take() {
                types.insert(name, fields);
            }
        } else if let Some((_, fields)) = current.as_mut()
            && let Some((name, ty)) = trimmed.split_once(':')
            && !name.contains('(')
        {
            let ty: String = ty.chars().filter(|c| c.is_alphanumeric() || *c == '_').collect();
            fields.push((name.trim().to_string(), ty));
        }
    }
    types
}

fn selection(
    types: &BTreeMap<String, Vec<(String, String)>>,
    name: &str,
    seen: &mut HashSet<String>,
) -> Result<String, String> {
    let fields = types.get(name).ok_or_else(|| format!("type {name} is not in the schema"))?;
    if !seen.insert(name.to_string()) {
        return Err(format!("type {name} refers to itself"));
    }
    let mut parts = Vec::new();
    for (field, ty) in fields {
        if types.contains_key(ty) {
            parts.push(format!("{field} {}", selection(types, ty, seen)?));
        } else {
            parts.push(field.clone());
        }
    }
    seen.remove(name);
    Ok(format!("{{ {} }}", parts.join(" ")))
}

/// The section of `BENCHMARKS.md`.
pub fn render(provenance: &str, config: &QueryConfig, figures: &[QueryFigures]) -> String {
    let mut out = vec!["## query".to_string(), String::new(), provenance.to_string(), String::new()];
    out.push(format!(
        "The citizen's `sak` query (every field of `InnsynSak`) for a case with {} hendelser, closed-loop at {} \
         clients, {} s each (GraphQL, reference, reference, GraphQL; {} s warm-up each), against the reference: an \
         axum handler in the same process that verifies the same token, reads the same row with the same SQL and \
         returns the view as JSON with serde. Then each offered open-loop at {:.0} requests/s for {} s.",
        config.hendelser,
        config.clients,
        config.window.as_secs(),
        config.warmup.as_secs(),
        config.rate,
        config.rate_window.as_secs()
    ));
    out.push(String::new());
    let rows: Vec<Vec<String>> = figures
        .iter()
        .map(|f| {
            let ratio = f.graphql.per_second() / f.reference.per_second().max(f64::EPSILON);
            vec![
                f.backend.label().to_string(),
                thousands(f.graphql.per_second()),
                thousands(f.reference.per_second()),
                format!("{ratio:.2}"),
                goal(&format!("≥ {RATIO_GOAL:.1}"), ratio >= RATIO_GOAL, &format!("{ratio:.2}")),
                format!("{} / {}", millis(f.graphql.p50), millis(f.graphql.p99)),
                format!("{} / {}", millis(f.reference.p50), millis(f.reference.p99)),
                format!(
                    "{} / {}{}",
                    millis(f.graphql_fixed.p50),
                    millis(f.graphql_fixed.p99),
                    errors(f.fixed_errors.0)
                ),
                format!(
                    "{} / {}{}",
                    millis(f.reference_fixed.p50),
                    millis(f.reference_fixed.p99),
                    errors(f.fixed_errors.1)
                ),
                format!("{} / {}", thousands(f.bytes.0 as f64), thousands(f.bytes.1 as f64)),
            ]
        })
        .collect();
    out.push(table(
        &[
            "backend",
            "GraphQL req/s",
            "reference req/s",
            "GraphQL / reference",
            "goal",
            "GraphQL p50 / p99",
            "reference p50 / p99",
            &format!("GraphQL p50 / p99 at {:.0}/s", config.rate),
            &format!("reference p50 / p99 at {:.0}/s", config.rate),
            "answer bytes, GraphQL / reference",
        ],
        &rows,
    ));
    out.join("\n")
}

fn errors(n: u64) -> String {
    if n == 0 { String::new() } else { format!(" ({n} failed)") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_query_selects_nested_fields_of_the_case() {
        let query = full_sak_query().expect("a query");
        assert!(query.contains("fiksDigisosId") && query.contains("saker {") && query.contains("utbetalinger {"));
        let parsed = async_graphql::parser::parse_query(&query);
        assert!(parsed.is_ok(), "{query}");
    }

    #[tokio::test]
    async fn a_tiny_comparison_runs_and_reports() {
        let config = QueryConfig {
            window: Duration::from_millis(400),
            warmup: Duration::ZERO,
            clients: 2,
            hendelser: 30,
            rate: 20.0,
            rate_window: Duration::from_millis(300),
        };
        let figures = measure(Backend::Sqlite, "", &config).await.expect("the scenario runs");
        assert!(figures.graphql.operations > 0 && figures.reference.operations > 0);
        assert_eq!(figures.fixed_errors, (0, 0));
        assert!(figures.bytes.0 > 1000, "the whole case comes back");
        let text = render("provenance", &config, &[figures]);
        assert!(text.starts_with("## query") && text.contains("GraphQL / reference"));
    }
}
