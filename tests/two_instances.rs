//! Running at scale (issue 6 item 6), proven with the real binary: two service processes against one fresh
//! PostgreSQL database, sharing one data folder (so one development issuer key: a token minted once is accepted
//! by both, and one document folder). Both take commands and queries; each projection is led by exactly one of
//! them; when the instance leading the citizen's read model is killed with SIGKILL, the other takes the lead and
//! a new command sent to it becomes visible in its GraphQL.
//!
//! Every wait is bounded and polls (a guard against hanging, never a timing assertion).

mod api_support;
mod binary_support;
mod fagsystem_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use api_support::{BOUNDARY, FAGSYSTEM_ORGNR, FIKS_ORG_ID, FNR, KOMMUNE, kommune_config, standard_soknad};
use binary_support::Service;
use fagsystem_support::{REF, status, update_body};
use fiks_digisos::auth::dev_issuer::{DevIssuer, DevRole};
use fiks_digisos::http::POSITION_HEADER;
use fiks_digisos::http::read_side::MIN_POSITION_HEADER;
use fiks_digisos::testkit::FreshPostgres;
use serde_json::{Value, json};
use tokio::time::Instant;

/// The longest any one wait of this test lasts (starting, catching up, taking over).
const PATIENCE: Duration = Duration::from_secs(60);
/// The projection the citizen's `sak` query reads.
const INNSYN: &str = "innsyn";

const SAK: &str = "query($id: String!) { sak(fiksDigisosId: $id) { fiksDigisosId status } }";

/// One service process, named for the test's messages.
struct Instance {
    name: &'static str,
    service: Service,
}

impl Instance {
    /// Starts the binary in development mode on `database_url` with `data_dir`, on a free port; its log goes to
    /// `<data_dir>/<name>.log`.
    fn start(name: &'static str, data_dir: &Path, database_url: &str) -> Instance {
        let log = data_dir.join(format!("{name}.log"));
        Instance { name, service: Service::start(data_dir, database_url, &[], &log) }
    }
}

/// An answer: status, position header, JSON body.
#[derive(Debug)]
struct Reply {
    status: u16,
    position: Option<String>,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the instance answers");
    let status = response.status().as_u16();
    let position = response.headers().get(POSITION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    Reply { status, position, body }
}

/// The lag report of `instance`, once it answers ready.
async fn ready(client: &reqwest::Client, instance: &Instance) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let reply = send(client.get(format!("{}/internal/isready", instance.service.base))).await;
        if reply.status == 200 {
            return reply.body["projections"].as_array().cloned().unwrap_or_default();
        }
        assert!(Instant::now() < deadline, "{} is not ready within {PATIENCE:?}: {}", instance.name, reply.body);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Per projection: whether `instance` leads it, and whom the database names as the leader.
async fn leadership(client: &reqwest::Client, instance: &Instance) -> BTreeMap<String, (bool, Option<String>)> {
    ready(client, instance)
        .await
        .iter()
        .map(|p| {
            let name = p["name"].as_str().expect("a projection name").to_owned();
            (name, (p["leadingHere"] == true, p["leader"].as_str().map(str::to_owned)))
        })
        .collect()
}

/// The citizen's view of case `id` on `instance`, read at `position`; repeated while the instance's read model
/// has not reached it (it may be waiting for a new leader), up to [`PATIENCE`].
async fn status_seen(client: &reqwest::Client, instance: &Instance, token: &str, id: &str, position: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let request = client
            .post(format!("{}/graphql", instance.service.base))
            .bearer_auth(token)
            .header(MIN_POSITION_HEADER, position)
            .json(&json!({"query": SAK, "variables": {"id": id}}));
        let reply = send(request).await;
        if reply.status == 200 && reply.body.get("errors").is_none() {
            return reply.body["data"]["sak"]["status"].as_str().unwrap_or("none").to_owned();
        }
        assert!(
            Instant::now() < deadline,
            "{} did not show case {id} at {position} within {PATIENCE:?}: {:?}",
            instance.name,
            reply
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Posts a status update of case `id` holding `hendelser` to `instance`; returns its position.
async fn update(client: &reqwest::Client, instance: &Instance, token: &str, id: &str, hendelser: &[Value]) -> String {
    let url = format!("{}/digisos/api/v1/{FIKS_ORG_ID}/{id}", instance.service.base);
    let reply = send(client.post(url).bearer_auth(token).json(&update_body(hendelser))).await;
    assert_eq!(reply.status, 202, "status update via {}: {:?}", instance.name, reply.body);
    reply.position.expect("a position")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_instances_share_the_work_and_the_survivor_takes_over_the_projections() {
    let db = FreshPostgres::create().await.expect("a fresh database");
    let dir = tempfile::tempdir().unwrap();
    let a = Instance::start("a", dir.path(), db.url());
    let b = Instance::start("b", dir.path(), db.url());
    let client = reqwest::Client::builder().timeout(PATIENCE).build().unwrap();
    ready(&client, &a).await;
    ready(&client, &b).await;

    // One key in the shared data folder: the same tokens for both instances.
    let issuer = DevIssuer::load_or_create(dir.path()).expect("the development key both instances use");
    let mint = |role| issuer.mint(&role, Duration::from_secs(600)).expect("a token");
    let admin = mint(DevRole::Admin);
    let citizen = mint(DevRole::Citizen(FNR.parse().unwrap()));
    let fagsystem = mint(DevRole::Fagsystem(FAGSYSTEM_ORGNR.parse().unwrap()));

    // Commands on both: the kommune and the søknad through A, the status update through B.
    let configured = send(
        client
            .put(format!("{}/digisos/api/v1/admin/kommuner/{KOMMUNE}", a.service.base))
            .bearer_auth(&admin)
            .json(&kommune_config()),
    )
    .await;
    assert_eq!(configured.status, 200, "{:?}", configured.body);
    let submitted = send(
        client
            .post(format!("{}/digisos/api/v1/soknader/{KOMMUNE}/{REF}", a.service.base))
            .bearer_auth(&citizen)
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(standard_soknad(FNR).finish()),
    )
    .await;
    assert_eq!(submitted.status, 202, "{:?}", submitted.body);
    let id = submitted.body.as_str().expect("the fiksDigisosId").to_owned();
    let mottatt = vec![status("MOTTATT", "2018-10-04T13:37:00.134Z")];
    let position = update(&client, &b, &fagsystem, &id, &mottatt).await;

    // Queries on both see the case as it is after B's command (read-your-writes across instances).
    assert_eq!(status_seen(&client, &a, &citizen, &id, &position).await, "MOTTATT");
    assert_eq!(status_seen(&client, &b, &citizen, &id, &position).await, "MOTTATT");

    // Each projection has exactly one leader, and both instances name the same one.
    let on_a = leadership(&client, &a).await;
    let on_b = leadership(&client, &b).await;
    assert_eq!(on_a.keys().collect::<Vec<_>>(), on_b.keys().collect::<Vec<_>>(), "the same projections run on both");
    assert!(on_a.contains_key(INNSYN), "{on_a:?}");
    for (name, (a_leads, a_says)) in &on_a {
        let (b_leads, b_says) = &on_b[name];
        assert!(a_leads ^ b_leads, "projection {name} must be led by exactly one instance: a {a_leads}, b {b_leads}");
        assert!(a_says.is_some() && a_says == b_says, "both name the same leader of {name}: {a_says:?} / {b_says:?}");
    }
    eprintln!("leaders before the kill (true = a): {:?}", on_a.iter().map(|(n, (l, _))| (n, l)).collect::<Vec<_>>());

    // Kill the instance leading the citizen's read model, without any chance to clean up.
    let (victim, survivor) = if on_a[INNSYN].0 { (a, b) } else { (b, a) };
    victim.service.kill();
    eprintln!("killed {}; {} survives", victim.name, survivor.name);

    // The survivor takes a new command, and its GraphQL shows it: someone now projects the events.
    let behandling =
        vec![status("MOTTATT", "2018-10-04T13:37:00.134Z"), status("UNDER_BEHANDLING", "2018-10-08T13:37:00.134Z")];
    let position = update(&client, &survivor, &fagsystem, &id, &behandling).await;
    assert_eq!(status_seen(&client, &survivor, &citizen, &id, &position).await, "UNDER_BEHANDLING");

    // And the survivor now leads every projection.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = leadership(&client, &survivor).await;
        if now.values().all(|(leads, _)| *leads) {
            break;
        }
        assert!(Instant::now() < deadline, "{} did not take over every projection: {now:?}", survivor.name);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    drop(survivor);
    db.drop().await;
}
