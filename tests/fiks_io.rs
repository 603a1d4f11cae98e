//! Push delivery over Fiks IO (issue 18), tested as a kommune's fagsystem using KS's Fiks IO client meets it: on
//! a private RabbitMQ node, the fagsystem consumes its account's queue with manual acks and a prefetch of 10,
//! reads every header, decrypts the body with the `openssl` command line (not the hub's code), verifies the
//! ASiC-E's signature over its manifest and the manifest's digests, reads the metadata and Nav's files byte for
//! byte, and answers with `no.nav.digisos.soknad.mottatt.v1` through `POST /fiks-io/api/v1/send`, multipart as
//! the clients send it. Then the delivery is confirmed, exactly once, and was never in the REST mailbox.

mod api_support;
mod fagsystem_support;

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use api_support::rabbitmq::RabbitNode;
use api_support::*;
use base64::Engine;
use fagsystem_support::*;
use fiks_digisos::api::mottak::offer_again_overdue;
use futures::StreamExt;
use lapin::options::BasicNackOptions;
use lapin::options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A key pair the fagsystem makes for its account with the `openssl` command line: `(certificate PEM path, key
/// path)` in `dir`.
fn fagsystem_keys(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (dir.join("konto.crt"), dir.join("konto.key"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=fagsystem konto"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success(), "openssl req");
    (cert, key)
}

fn openssl(args: &[&str]) -> std::process::Output {
    let output = Command::new("openssl").args(args).output().expect("openssl");
    assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn header(headers: &FieldTable, name: &str) -> String {
    match headers.inner().get(name) {
        Some(AMQPValue::LongString(s)) => String::from_utf8(s.as_bytes().to_vec()).expect("UTF-8"),
        other => panic!("header {name} must be an AMQP long string, is {other:?}"),
    }
}

/// Consumes the account's queue as KS's client does (prefetch 10, manual ack), retrying while the hub has not
/// declared it yet.
async fn consumer(node: &RabbitNode, konto: Uuid) -> (lapin::Connection, lapin::Channel, lapin::Consumer) {
    let queue = format!("fiksio.konto.{konto}");
    for _ in 0..200 {
        let connection =
            lapin::Connection::connect(&node.url(), lapin::ConnectionProperties::default()).await.expect("connect");
        let channel = connection.create_channel().await.expect("channel");
        channel.basic_qos(10, BasicQosOptions::default()).await.expect("qos");
        let consume = channel.basic_consume(
            queue.as_str().into(),
            "fagsystem".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        );
        match tokio::time::timeout(Duration::from_secs(30), consume).await.expect("the broker answers basic.consume") {
            Ok(consumer) => return (connection, channel, consumer),
            Err(_) => {
                let _ = connection.close(200, "retry".into()).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("the hub never declared {queue}");
}

async fn soknad_goes_out_over_fiks_io_and_the_receipt_confirms_it(app: &TestApp, node: &RabbitNode) {
    let keys = tempfile::tempdir().expect("temp dir");
    let (cert_path, key_path) = fagsystem_keys(keys.path());
    let konto = Uuid::new_v4();
    let mut config = kommune_config();
    config["fiksIoKontoId"] = json!(konto);
    config["fiksIoSertifikat"] = json!(std::fs::read_to_string(&cert_path).expect("certificate"));
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let reply = app.configure_kommune(KOMMUNE, &config).await;
    app.caught_up(reply.position()).await;
    let integrasjon = integrasjon(app, KOMMUNE).await;

    let (_connection, _channel, mut consumer) = consumer(node, konto).await;
    let sak = submitted(app, REF).await;
    assert!(mailbox(app).await.is_empty(), "a Fiks IO delivery is not offered in the REST mailbox");

    let delivery = tokio::time::timeout(Duration::from_secs(60), consumer.next())
        .await
        .expect("a message within a minute")
        .expect("the consumer is open")
        .expect("a delivery");
    assert_eq!(delivery.routing_key.as_str(), format!("fiksio.konto.{konto}"), "routing key = queue name");
    let headers = delivery.properties.headers().clone().expect("headers");
    let melding_id = Uuid::parse_str(&header(&headers, "melding-id")).expect("melding-id is a UUID");
    assert_eq!(header(&headers, "type"), "no.nav.digisos.soknad.v1");
    let hub = app.fiks_io.as_ref().expect("the channel is on");
    assert_eq!(header(&headers, "avsender-id"), hub.konto_id().to_string());
    let leveranse_id = header(&headers, "egendefinert-header.klientMeldingId");
    let events = app.stream_events(&format!("sak-{sak}")).await;
    let opprettet = events.iter().find(|e| e.event_type == "LeveranseOpprettet.v1").expect("the delivery");
    assert_eq!(opprettet.data["leveranseId"], json!(leveranse_id), "klientMeldingId is the delivery");
    assert_eq!(opprettet.data["fiksIo"]["meldingId"], json!(melding_id));
    assert_eq!(delivery.properties.expiration().as_ref().map(|e| e.as_str().to_owned()), Some("7200000".to_owned()));
    assert_eq!(*delivery.properties.delivery_mode(), Some(2), "persistent");

    // The body, decrypted with the command line and the fagsystem's own key.
    let entries = open_melding(keys.path(), &cert_path, &key_path, &delivery.data);
    let body_path = keys.path().join("body.cms");
    let printed = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", body_path.to_str().expect("path")]);
    let printed = String::from_utf8_lossy(&printed.stdout);
    assert!(printed.contains("rsaesOaep"), "RSA-OAEP key transport:\n{printed}");
    assert!(printed.contains("aes-256-cbc"), "AES-256-CBC content:\n{printed}");
    assert!(printed.contains("sha256"), "OAEP with SHA-256:\n{printed}");
    let names: Vec<String> = entries.iter().map(|(name, _)| name.clone()).collect();
    assert_eq!(names[0], "mimetype");
    assert_eq!(names[1], "forsendelseMetadata.json", "the metadata is the root file");
    let entry = |name: &str| entry(&entries, name).to_vec();
    assert_eq!(entry("mimetype"), b"application/vnd.etsi.asic-e+zip");
    let metadata: Value = serde_json::from_slice(&entry("forsendelseMetadata.json")).expect("JSON");
    assert_eq!(metadata, json!({"eksternRef": REF, "digisosId": sak}));
    assert_eq!(entry("Soknad.pdf"), file_bytes(2000, 0), "the søknad PDF as Nav sent it");
    for (name, bytes) in standard_vedlegg() {
        assert_eq!(entry(name), bytes, "{name} as Nav sent it");
    }
    let soknad: Value = serde_json::from_slice(&entry("soknad.json")).expect("soknad.json");
    assert_eq!(soknad, soknad_json(FNR));

    // The signature over the manifest, and the manifest's digest of every file.
    let signature = names.iter().find(|n| n.starts_with("META-INF/signature-") && n.ends_with(".p7s")).expect("p7s");
    let manifest = entry("META-INF/asicmanifest.xml");
    let (manifest_path, signature_path, signer_path) =
        (keys.path().join("manifest.xml"), keys.path().join("signature.p7s"), keys.path().join("signer.pem"));
    std::fs::write(&manifest_path, &manifest).expect("write");
    std::fs::write(&signature_path, entry(signature)).expect("write");
    openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-noverify",
        "-inform",
        "DER",
        "-in",
        signature_path.to_str().expect("path"),
        "-content",
        manifest_path.to_str().expect("path"),
        "-certsout",
        signer_path.to_str().expect("path"),
        "-out",
        "/dev/null",
    ]);
    let signer = std::fs::read(&signer_path).expect("signer");
    assert_eq!(signer, hub.signerer().certificate.to_pem().expect("pem"), "signed with the hub's certificate");
    let manifest = String::from_utf8(manifest).expect("UTF-8");
    assert!(manifest.contains(&format!("<asic:SigReference URI=\"{signature}\"")), "{manifest}");
    for name in names.iter().filter(|n| *n != "mimetype" && !n.starts_with("META-INF/")) {
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(entry(name)));
        let reference = manifest.split("<asic:DataObjectReference").find(|r| r.contains(&format!("URI=\"{name}\"")));
        let reference = reference.unwrap_or_else(|| panic!("the manifest names {name}:\n{manifest}"));
        assert!(reference.contains(&format!("<ds:DigestValue>{digest}</ds:DigestValue>")), "{name}'s digest");
    }

    // The receipt, as KS's client sends a reply: multipart with the part `metadata` only.
    let spesifikasjon = json!({
        "avsenderKontoId": konto,
        "mottakerKontoId": hub.konto_id(),
        "meldingType": "no.nav.digisos.soknad.mottatt.v1",
        "svarPaMelding": melding_id,
        "ttl": 172_800_000_i64,
        "headere": {"klientMeldingId": Uuid::new_v4().to_string()},
    });
    // Without the integration's headers, or with a wrong password, a receipt is refused and records nothing.
    let before = app.event_summary().await;
    let without = send_melding(app, None, &spesifikasjon).await;
    assert_eq!(without.status(), 401, "no IntegrasjonId / IntegrasjonPassord");
    let message: Value = without.json().await.expect("JSON");
    assert!(message["message"].as_str().unwrap_or_default().contains("IntegrasjonPassord"), "{message}");
    let wrong = (integrasjon.0.clone(), "not the password".to_owned());
    assert_eq!(send_melding(app, Some(&wrong), &spesifikasjon).await.status(), 403, "a wrong password");
    let unknown = (Uuid::new_v4().to_string(), integrasjon.1.clone());
    assert_eq!(send_melding(app, Some(&unknown), &spesifikasjon).await.status(), 403, "an unknown integration");
    assert_eq!(app.event_summary().await, before, "refused receipts record nothing");
    let response = send_melding(app, Some(&integrasjon), &spesifikasjon).await;
    assert_eq!(response.status(), 202);
    let position = response.headers().get("x-digisos-position").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let sendt: Value = response.json().await.expect("SendtMelding JSON");
    assert!(Uuid::parse_str(sendt["meldingId"].as_str().unwrap_or_default()).is_ok(), "{sendt}");
    assert_eq!(sendt["svarPaMelding"], json!(melding_id));
    assert_eq!(sendt["meldingType"], "no.nav.digisos.soknad.mottatt.v1");
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    assert_eq!(count(app, "LeveranseKvittert.v1").await, 1, "the receipt confirms the delivery");
    app.caught_up(position.expect("a position").parse().expect("position")).await;
    let fetched = app.get(&format!("/{FIKS_ORG_ID}/mottak/{leveranse_id}"), Some(&fagsystem(app))).await;
    assert_eq!(fetched.body["status"], "BEKREFTET", "{:?}", fetched.body);

    let before = app.event_summary().await;
    let again = send_melding(app, Some(&integrasjon), &spesifikasjon).await;
    assert_eq!(again.status(), 202, "a repeated receipt is answered alike");
    assert_eq!(app.event_summary().await, before, "and records nothing");

    // A receipt for a message the hub never sent, or from another account, changes nothing either.
    let mut unknown = spesifikasjon.clone();
    unknown["svarPaMelding"] = json!(Uuid::new_v4());
    let refused = send_melding(app, Some(&integrasjon), &unknown).await;
    assert_eq!(refused.status(), 404);
    let mut foreign = spesifikasjon;
    foreign["avsenderKontoId"] = json!(Uuid::new_v4());
    let refused = send_melding(app, Some(&integrasjon), &foreign).await;
    assert_eq!(refused.status(), 403);
    let message: Value = refused.json().await.expect("JSON");
    assert!(message["message"].as_str().unwrap_or_default().contains("avsenderKontoId"), "{message}");
    assert_eq!(app.event_summary().await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soknad_goes_out_over_fiks_io_and_the_receipt_confirms_it_on_both_databases() {
    let node = RabbitNode::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::start_with_fiks_io(backend, Some(node.url())).await;
        soknad_goes_out_over_fiks_io_and_the_receipt_confirms_it(&app, &node).await;
        app.finish().await;
    }
}

/// A kommune configured for Fiks IO: its account, its integration, and the fagsystem's key pair (made with the
/// command line).
struct Konto {
    id: Uuid,
    /// `(integrasjonId, integrasjonPassord)`.
    integrasjon: (String, String),
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
    dir: tempfile::TempDir,
}

async fn fiks_io_kommune(app: &TestApp) -> Konto {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = fagsystem_keys(dir.path());
    let id = Uuid::new_v4();
    let mut config = kommune_config();
    config["fiksIoKontoId"] = json!(id);
    config["fiksIoSertifikat"] = json!(std::fs::read_to_string(&cert).expect("certificate"));
    let reply = app.configure_kommune(KOMMUNE, &config).await;
    app.caught_up(reply.position()).await;
    let integrasjon = integrasjon(app, KOMMUNE).await;
    Konto { id, integrasjon, cert, key, dir }
}

/// Submits a søknad of [`FNR`] under a new reference; returns the case id.
async fn new_soknad(app: &TestApp) -> String {
    submitted(app, &Uuid::new_v4().to_string()).await
}

async fn next(consumer: &mut lapin::Consumer) -> lapin::message::Delivery {
    tokio::time::timeout(Duration::from_secs(90), consumer.next())
        .await
        .expect("a message in time")
        .expect("the consumer is open")
        .expect("a delivery")
}

/// Sends a message through Fiks IO's send as KS's client sends a reply: multipart with the part `metadata` only,
/// the fagsystem's token and the headers of `integrasjon` (`(integrasjonId, integrasjonPassord)`; none without).
async fn send_melding(
    app: &TestApp,
    integrasjon: Option<&(String, String)>,
    spesifikasjon: &Value,
) -> reqwest::Response {
    let form = Form::new().part("name=\"metadata\"", "application/json", spesifikasjon.to_string().as_bytes());
    let mut request = app
        .client()
        .post(format!("{}/fiks-io/api/v1/send", app.base))
        .bearer_auth(fagsystem(app))
        .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"));
    if let Some((id, passord)) = integrasjon {
        request = request.header("IntegrasjonId", id).header("IntegrasjonPassord", passord);
    }
    request.body(form.finish()).send().await.expect("the app answers")
}

/// The receipt `meldingstype` from account `konto` of message `melding_id`.
fn kvittering(app: &TestApp, konto: Uuid, meldingstype: &str, melding_id: &str) -> Value {
    let hub = app.fiks_io.as_ref().expect("the channel is on").konto_id();
    json!({
        "avsenderKontoId": konto, "mottakerKontoId": hub, "meldingType": meldingstype,
        "svarPaMelding": melding_id, "ttl": 172_800_000_i64, "headere": {},
    })
}

/// Sends the fagsystem's receipt of søknad message `melding_id` from account `konto` with its integration;
/// returns the status.
async fn receipt(app: &TestApp, konto: Uuid, integrasjon: &(String, String), melding_id: &str) -> u16 {
    let spesifikasjon = kvittering(app, konto, "no.nav.digisos.soknad.mottatt.v1", melding_id);
    send_melding(app, Some(integrasjon), &spesifikasjon).await.status().as_u16()
}

/// Waits until the REST mailbox lists the delivery of case `sak`; returns its id.
async fn in_mailbox(app: &TestApp, sak: &str) -> String {
    for _ in 0..300 {
        if let Some(d) = mailbox(app).await.into_iter().find(|d| d["digisosId"] == json!(sak)) {
            return d["leveranseId"].as_str().expect("id").to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the delivery of case {sak} never reached the mailbox");
}

/// The reasons recorded for the fallbacks of case `sak`.
async fn fallbacks(app: &TestApp, sak: &str) -> Vec<Value> {
    let events = app.stream_events(&format!("sak-{sak}")).await;
    events.iter().filter(|e| e.event_type == "LeveranseTilMottak.v1").map(|e| e.data["grunn"].clone()).collect()
}

async fn unanswered_messages_fall_back_to_the_mailbox_and_are_confirmed_once(app: &TestApp, node: &RabbitNode) {
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let konto = fiks_io_kommune(app).await;
    let token = fagsystem(app);

    // Three failed deliveries (requeued, dropped with the channel, requeued): the broker dead-letters the
    // message and the hub hands the delivery to the mailbox.
    let (_c1, channel, mut consumer) = consumer(node, konto.id).await;
    let sak = new_soknad(app).await;
    let first = next(&mut consumer).await;
    assert!(!first.redelivered);
    first.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await.expect("nack");
    let second = next(&mut consumer).await;
    assert!(second.redelivered, "a requeued message comes back marked redelivered");
    channel.close(200, "the fagsystem crashes before its ack".into()).await.expect("close");
    let (_c2, _channel, mut consumer) = consumer_again(node, konto.id).await;
    let third = next(&mut consumer).await;
    assert_eq!(
        header(third.properties.headers().as_ref().expect("headers"), "melding-id"),
        header(first.properties.headers().as_ref().expect("headers"), "melding-id"),
        "the same message"
    );
    third.nack(BasicNackOptions { requeue: true, ..BasicNackOptions::default() }).await.expect("nack");
    let leveranse = in_mailbox(app, &sak).await;
    assert_eq!(fallbacks(app, &sak).await, [json!("LEVERINGSGRENSE")]);
    let confirmed =
        app.send(Method::POST, &format!("/{FIKS_ORG_ID}/mottak/{leveranse}/kvittering"), Some(&token), None).await;
    assert_eq!(confirmed.status, 204, "{:?}", confirmed.body);

    // A plain nack (the fagsystem rejects the message): to the mailbox at once.
    let sak = new_soknad(app).await;
    let rejected = next(&mut consumer).await;
    rejected.nack(BasicNackOptions::default()).await.expect("nack");
    in_mailbox(app, &sak).await;
    assert_eq!(fallbacks(app, &sak).await, [json!("AVVIST")]);

    // No receipt by the deadline: the hub's own timer hands it over; a late receipt still confirms it, once.
    let sak = new_soknad(app).await;
    let late = next(&mut consumer).await;
    let read = &app.read_side.db;
    let handed = offer_again_overdue(&app.store, read, Duration::from_secs(3600), Duration::ZERO).await.expect("sweep");
    assert_eq!(handed, 1, "the one unanswered Fiks IO delivery");
    let leveranse = in_mailbox(app, &sak).await;
    assert_eq!(fallbacks(app, &sak).await, [json!("TIDSFRIST")]);
    let melding_id = header(late.properties.headers().as_ref().expect("headers"), "melding-id");
    assert_eq!(receipt(app, konto.id, &konto.integrasjon, &melding_id).await, 202);
    late.ack(BasicAckOptions::default()).await.expect("ack");
    let before = app.event_summary().await;
    let again =
        app.send(Method::POST, &format!("/{FIKS_ORG_ID}/mottak/{leveranse}/kvittering"), Some(&token), None).await;
    assert_eq!(again.status, 204);
    assert_eq!(app.event_summary().await, before, "the mailbox's receipt after the Fiks IO one records nothing");
    assert_eq!(count(app, "LeveranseKvittert.v1").await, 2, "the first and the third, each once");
}

/// [`consumer`] on a fresh connection (the old channel is gone).
async fn consumer_again(node: &RabbitNode, konto: Uuid) -> (lapin::Connection, lapin::Channel, lapin::Consumer) {
    consumer(node, konto).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_messages_fall_back_to_the_mailbox_and_are_confirmed_once_on_both_databases() {
    let node = RabbitNode::start().await;
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = TestApp::start_with_fiks_io(backend, Some(node.url())).await;
        unanswered_messages_fall_back_to_the_mailbox_and_are_confirmed_once(&app, &node).await;
        app.finish().await;
    }
}

/// Receives `n` distinct deliveries (by `klientMeldingId`; a duplicate after a reconnect is acked and skipped,
/// as KS's client does with `meldingErBehandlet`), sends each receipt, then acks.
async fn receive_and_confirm(
    app: &TestApp,
    konto: &Konto,
    consumer: &mut lapin::Consumer,
    n: usize,
    seen: &mut Vec<String>,
) {
    let mut new = 0;
    while new < n {
        let delivery = next(consumer).await;
        let headers = delivery.properties.headers().clone().expect("headers");
        let leveranse = header(&headers, "egendefinert-header.klientMeldingId");
        if !seen.contains(&leveranse) {
            assert_eq!(receipt(app, konto.id, &konto.integrasjon, &header(&headers, "melding-id")).await, 202);
            seen.push(leveranse);
            new += 1;
        }
        delivery.ack(BasicAckOptions::default()).await.expect("ack");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_when_the_hub_dies_before_publishing_or_the_broker_stops_mid_load() {
    let mut node = RabbitNode::start().await;
    let mut app = TestApp::start_with_fiks_io(Backend::Postgres, Some(node.url())).await;
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let konto = fiks_io_kommune(&app).await;

    // The hub "dies" after its commits and before any publish: Nav has its 202s, the queue nothing yet.
    app.stop_publisher();
    for _ in 0..3 {
        new_soknad(&app).await;
    }
    app.start_publisher();
    let (_c1, _ch1, mut consumer1) = consumer(&node, konto.id).await;
    let mut seen = Vec::new();
    receive_and_confirm(&app, &konto, &mut consumer1, 3, &mut seen).await;

    // The broker stops while søknader keep coming; Nav is not held up, and all of them arrive once it is back.
    // (An orderly stop: after a SIGKILL, RabbitMQ 3.10's single-node quorum queue did not elect its leader again
    // here, "leader not known" for minutes; production runs a three-node cluster, where another member leads.)
    node.stop();
    for _ in 0..3 {
        new_soknad(&app).await;
    }
    node.restart().await;
    let (_c2, _ch2, mut consumer2) = consumer(&node, konto.id).await;
    receive_and_confirm(&app, &konto, &mut consumer2, 3, &mut seen).await;

    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "six deliveries, each received");
    assert_eq!(count(&app, "LeveranseKvittert.v1").await, 6, "every søknad confirmed exactly once");
    assert!(mailbox(&app).await.is_empty());
    app.finish().await;
}

/// Issues a Fiks IO integration for `kommunenummer` through the admin API: `(integrasjonId, integrasjonPassord)`.
async fn integrasjon(app: &TestApp, kommunenummer: &str) -> (String, String) {
    let path = format!("/admin/kommuner/{kommunenummer}/fiks-io/integrasjon");
    let reply = app.json(Method::POST, &path, Some(&app.admin()), &json!({})).await;
    assert_eq!(reply.status, 201, "issue an integration: {:?}", reply.body);
    app.caught_up(reply.position()).await;
    let id = reply.body["integrasjonId"].as_str().expect("integrasjonId").to_owned();
    (id, reply.body["integrasjonPassord"].as_str().expect("integrasjonPassord").to_owned())
}

/// Connects as KS's client does: username the integration id, password `"<integrasjonPassord> <token>"`.
async fn login(node: &RabbitNode, username: &str, password: &str) -> lapin::Result<lapin::Connection> {
    let mut uri: lapin::uri::AMQPUri = node.url().parse().expect("the node's URL");
    uri.authority.userinfo = lapin::uri::AMQPUserInfo { username: username.into(), password: password.into() };
    let properties = lapin::ConnectionProperties::default().with_connection_name("Fiks IO klient (Java)".into());
    lapin::Connection::connect_uri(uri, properties).await
}

/// Whether `connection` may consume `queue` (prefetch 10, manual ack).
async fn may_consume(connection: &lapin::Connection, queue: &str) -> Option<lapin::Consumer> {
    let channel = connection.create_channel().await.expect("channel");
    channel.basic_qos(10, BasicQosOptions::default()).await.expect("qos");
    let consume =
        channel.basic_consume(queue.into(), "fagsystem".into(), BasicConsumeOptions::default(), FieldTable::default());
    tokio::time::timeout(Duration::from_secs(30), consume).await.expect("the broker answers").ok()
}

/// Consumes `queue` once the hub has declared it (within its 15 s account watch); panics if it never may.
async fn consume_when_declared(connection: &lapin::Connection, queue: &str) -> lapin::Consumer {
    for _ in 0..300 {
        if let Some(consumer) = may_consume(connection, queue).await {
            return consumer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the integration could not consume its own {queue}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_integration_logs_in_with_password_and_token_and_consumes_only_its_own_account() {
    let mut node = RabbitNode::new();
    let mut app = TestApp::start_with_fiks_io(Backend::Postgres, Some(node.url())).await;
    node.with_hub_logins(&app.base);
    node.boot().await;
    app.start_publisher();
    let konto = fiks_io_kommune(&app).await;
    let other_keys = tempfile::tempdir().expect("temp dir");
    let (other_cert, _) = fagsystem_keys(other_keys.path());
    let other_konto = Uuid::new_v4();
    let mut other = other_kommune_config();
    other["fiksIoKontoId"] = json!(other_konto);
    other["fiksIoSertifikat"] = json!(std::fs::read_to_string(&other_cert).expect("certificate"));
    app.configure_kommune(OTHER_KOMMUNE, &other).await;
    // One account, one kommune: another kommune's account is refused (its integration would read both).
    let before = app.events().await.len();
    let mut shared = other.clone();
    shared["fiksIoKontoId"] = json!(konto.id);
    let refused = app.json(Method::PUT, &format!("/admin/kommuner/{OTHER_KOMMUNE}"), Some(&app.admin()), &shared).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(refused.body["message"].as_str().expect("message").contains("fiksIoKontoId"));
    assert_eq!(app.events().await.len(), before, "the refusal records nothing");
    let (id, passord) = integrasjon(&app, KOMMUNE).await;
    let (other_id, other_passord) = integrasjon(&app, OTHER_KOMMUNE).await;
    let token = fagsystem(&app);

    // The administrator sees the integration's id, never its password or hash; a new PUT keeps it.
    let shown = app.send(Method::GET, &format!("/admin/kommuner/{KOMMUNE}"), Some(&app.admin()), None).await;
    assert_eq!(shown.body["fiksIoIntegrasjonId"], json!(id));
    assert!(!shown.body.to_string().contains("argon2") && !shown.body.to_string().contains(&passord));
    let mut again = kommune_config();
    again["fiksIoKontoId"] = json!(konto.id);
    again["fiksIoSertifikat"] = shown.body["fiksIoSertifikat"].clone();
    again["harNksTilgang"] = json!(!shown.body["harNksTilgang"].as_bool().expect("harNksTilgang"));
    let reply = app.configure_kommune(KOMMUNE, &again).await;
    assert_eq!(reply.body["fiksIoIntegrasjonId"], json!(id), "a PUT keeps the integration");
    app.caught_up(reply.position()).await;

    // No integration for a kommune without a Fiks IO account; none for an unknown kommune.
    let before = app.events().await.len();
    let path = "/admin/kommuner/1103/fiks-io/integrasjon";
    assert_eq!(app.json(Method::POST, path, Some(&app.admin()), &json!({})).await.status, 404);
    let before_put = app.events().await.len();
    let mut plain = kommune_config();
    plain["navEnheter"] = json!(["1161"]);
    app.configure_kommune("1103", &plain).await;
    let after_put = app.events().await.len();
    let refused = app.json(Method::POST, path, Some(&app.admin()), &json!({})).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(refused.body["message"].as_str().expect("message").contains("fiksIoKontoId"));
    assert_eq!((before, after_put), (before_put, app.events().await.len()), "refusals record nothing");
    let own = format!("fiksio.konto.{}", konto.id);

    // Refused logins: each part of the credentials must hold.
    let refused = [
        ("wrong password", id.clone(), format!("{other_passord} {token}")),
        ("no token", id.clone(), passord.clone()),
        ("a token that does not verify", id.clone(), format!("{passord} {token}x")),
        ("another kommune's fagsystem's token", id.clone(), format!("{passord} {}", other_fagsystem(&app))),
        ("a citizen's token", id.clone(), format!("{passord} {}", app.citizen(FNR))),
        ("unknown integration", Uuid::new_v4().to_string(), format!("{passord} {token}")),
    ];
    for (what, username, password) in refused {
        assert!(login(&node, &username, &password).await.is_err(), "{what}: the broker must refuse the login");
    }

    // The right credentials: the own account may be consumed, another kommune's may not, nor may it publish.
    let connection = login(&node, &id, &format!("{passord} {token}")).await.expect("the integration logs in");
    assert!(may_consume(&connection, &format!("fiksio.konto.{other_konto}")).await.is_none(), "another account");
    let publish = connection.create_channel().await.expect("channel");
    let sent = publish
        .basic_publish(
            "".into(),
            own.as_str().into(),
            lapin::options::BasicPublishOptions::default(),
            b"{}",
            lapin::BasicProperties::default(),
        )
        .await;
    let refused_publish = match sent {
        Err(_) => true,
        Ok(_) => publish.basic_qos(1, BasicQosOptions::default()).await.is_err(),
    };
    assert!(refused_publish, "an integration may not publish to a queue");
    let mut consumer = consume_when_declared(&connection, &own).await;

    // A søknad reaches it, and its receipt confirms it.
    let sak = new_soknad(&app).await;
    let delivery = next(&mut consumer).await;
    let headers = delivery.properties.headers().clone().expect("headers");
    assert_eq!(receipt(&app, konto.id, &(id.clone(), passord.clone()), &header(&headers, "melding-id")).await, 202);
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    assert_eq!(count(&app, "LeveranseKvittert.v1").await, 1, "the søknad of case {sak} is confirmed");

    // The other kommune's integration, with its own fagsystem's token, consumes its own account only.
    let other_connection = login(&node, &other_id, &format!("{other_passord} {}", other_fagsystem(&app)))
        .await
        .expect("the other integration logs in");
    assert!(may_consume(&other_connection, &own).await.is_none(), "the first kommune's account");
    consume_when_declared(&other_connection, &format!("fiksio.konto.{other_konto}")).await;

    // A new integration replaces the old: the old password no longer logs in.
    let (new_id, new_passord) = integrasjon(&app, KOMMUNE).await;
    assert!(login(&node, &id, &format!("{passord} {token}")).await.is_err(), "the replaced integration");
    let fresh = login(&node, &new_id, &format!("{new_passord} {token}")).await.expect("the new integration");
    drop(consumer);
    drop(connection);

    // The katalog's key upload, as KS's clients make it: the new key is used for the next message.
    let new_keys = tempfile::tempdir().expect("temp dir");
    let (new_cert, new_key) = fagsystem_keys(new_keys.path());
    let pem = std::fs::read_to_string(&new_cert).expect("certificate");
    let url = format!("{}/fiks-io/katalog/api/v1/kontoer/{}/offentligNokkel", app.base, konto.id);
    let upload = |body: Value, integrasjon: &str, passord: &str, token: String| {
        app.client()
            .put(&url)
            .bearer_auth(token)
            .header("integrasjonId", integrasjon)
            .header("integrasjonPassord", passord)
            .json(&body)
            .send()
    };
    let before = app.event_summary().await;
    let refusals = [
        (upload(json!({"nokkel": pem}), &new_id, &passord, token.clone()).await, 403, "the old password"),
        (upload(json!({"nokkel": pem}), &id, &passord, token.clone()).await, 403, "the replaced integration"),
        (upload(json!({"nokkel": pem}), &new_id, &new_passord, other_fagsystem(&app)).await, 403, "another org"),
        (upload(json!({"nokkel": "not a key"}), &new_id, &new_passord, token.clone()).await, 400, "not a PEM"),
        (upload(json!({"key": pem}), &new_id, &new_passord, token.clone()).await, 400, "no nokkel"),
    ];
    for (response, status, what) in refusals {
        let response = response.expect("the app answers");
        assert_eq!(response.status().as_u16(), status, "{what}");
        let body: Value = response.json().await.expect("a JSON error");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body}");
    }
    assert_eq!(app.event_summary().await, before, "refused uploads record nothing");
    let uploaded = upload(json!({"nokkel": pem}), &new_id, &new_passord, token.clone()).await.expect("answer");
    assert_eq!(uploaded.status(), 200);
    let position = uploaded.headers().get("x-digisos-position").and_then(|v| v.to_str().ok()).map(str::to_owned);
    app.caught_up(position.expect("a position").parse().expect("position")).await;
    let published = app.client().get(&url).send().await.expect("answer");
    let published: Value = published.json().await.expect("JSON");
    let der = |pem: &str| openssl::x509::X509::from_pem(pem.as_bytes()).expect("PEM").to_der().expect("DER");
    assert_eq!(der(published["nokkel"].as_str().expect("nokkel")), der(&pem), "the katalog publishes the new key");
    let mut consumer = consume_when_declared(&fresh, &own).await;
    let second = submitted(&app, &Uuid::new_v4().to_string()).await;
    let delivery = next(&mut consumer).await;
    let entries = open_melding(new_keys.path(), &new_cert, &new_key, &delivery.data);
    let metadata: Value = serde_json::from_slice(entry(&entries, "forsendelseMetadata.json")).expect("JSON");
    assert_eq!(metadata["digisosId"], json!(second), "encrypted for the uploaded key");
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    app.finish().await;
}

/// Decrypts a message body with the `openssl` command line and the account's key (leaving `body.cms` in `dir`);
/// the ASiC-E's entries in the zip's order.
fn open_melding(dir: &Path, cert: &Path, key: &Path, body: &[u8]) -> Vec<(String, Vec<u8>)> {
    let (body_path, zip_path) = (dir.join("body.cms"), dir.join("melding.asice"));
    std::fs::write(&body_path, body).expect("write body");
    let path = |p: &Path| p.to_str().expect("path").to_owned();
    openssl(&[
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        &path(&body_path),
        "-inkey",
        &path(key),
        "-recip",
        &path(cert),
        "-out",
        &path(&zip_path),
    ]);
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("zip")).expect("an ASiC-E zip");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).expect("entry");
            let name = entry.name().expect("a name").into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read");
            (name, bytes)
        })
        .collect()
}

/// The entry `name` of an opened message.
fn entry<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    entries.iter().find(|(n, _)| n == name).map(|(_, bytes)| bytes.as_slice()).unwrap_or_else(|| {
        panic!("no entry {name} in the message: {:?}", entries.iter().map(|(n, _)| n).collect::<Vec<_>>())
    })
}

/// Checks `metadata` against the real catalogue's JSON Schema of `meldingstype` (`../shared/formats`).
fn valid_against_catalogue(meldingstype: &str, metadata: &Value) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/formats/fiks-io-meldingstype-katalog/schema")
        .join(meldingstype);
    let file = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(".schema.json"))
        .expect("a schema file");
    let schema: Value = serde_json::from_slice(&std::fs::read(&file).expect("schema")).expect("JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let errors: Vec<String> = validator.iter_errors(metadata).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{meldingstype} metadata {metadata} against {}: {errors:?}", file.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ettersendelse_goes_out_naming_the_soknads_fiks_io_message_and_its_receipt_confirms_it() {
    let node = RabbitNode::start().await;
    let app = TestApp::start_with_fiks_io(Backend::Postgres, Some(node.url())).await;
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let keys = tempfile::tempdir().expect("temp dir");
    let (cert, key) = fagsystem_keys(keys.path());
    let konto = Uuid::new_v4();
    let mut config = kommune_config();
    config["fiksIoKontoId"] = json!(konto);
    config["fiksIoSertifikat"] = json!(std::fs::read_to_string(&cert).expect("certificate"));
    let reply = app.configure_kommune(KOMMUNE, &config).await;
    app.caught_up(reply.position()).await;
    let integrasjon = integrasjon(&app, KOMMUNE).await;
    let (_connection, _channel, mut consumer) = consumer(&node, konto).await;

    let sak = submitted(&app, REF).await;
    let soknad = next(&mut consumer).await;
    let soknad_headers = soknad.properties.headers().clone().expect("headers");
    let soknad_melding = header(&soknad_headers, "melding-id");
    let entries = open_melding(keys.path(), &cert, &key, &soknad.data);
    let metadata: Value = serde_json::from_slice(entry(&entries, "forsendelseMetadata.json")).expect("JSON");
    valid_against_catalogue("no.nav.digisos.soknad.v1", &metadata);
    assert_eq!(receipt(&app, konto, &integrasjon, &soknad_melding).await, 202);
    soknad.ack(BasicAckOptions::default()).await.expect("ack");

    let ettersendelse_ref = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    let path = format!("/soknader/{KOMMUNE}/{sak}/{ettersendelse_ref}");
    let reply = app.post_form(&path, Some(&app.citizen(FNR)), ettersendelse_form(3)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let ettersendelse = next(&mut consumer).await;
    let headers = ettersendelse.properties.headers().clone().expect("headers");
    assert_eq!(header(&headers, "type"), "no.nav.digisos.ettersendelse.v1");
    let melding_id = header(&headers, "melding-id");
    assert_ne!(melding_id, soknad_melding, "a new melding-id per message");
    let entries = open_melding(keys.path(), &cert, &key, &ettersendelse.data);
    let metadata: Value = serde_json::from_slice(entry(&entries, "forsendelseMetadata.json")).expect("JSON");
    valid_against_catalogue("no.nav.digisos.ettersendelse.v1", &metadata);
    assert_eq!(
        metadata,
        json!({"eksternRef": ettersendelse_ref, "digisosId": sak,
               "soknadLeveranseId": {"sendtKanal": "FIKS_IO", "id": soknad_melding}}),
        "the søknad's channel and its Fiks IO melding-id"
    );
    assert!(!entry(&entries, "vedlegg.json").is_empty(), "Nav's vedlegg.json");

    // The receipt of an ettersendelse is an ettersendelse.mottatt.v1; a søknad's receipt type does not fit it.
    let before = app.event_summary().await;
    let wrong = send_melding(
        &app,
        Some(&integrasjon),
        &kvittering(&app, konto, "no.nav.digisos.soknad.mottatt.v1", &melding_id),
    )
    .await;
    assert_eq!(wrong.status(), 400, "a søknad receipt for an ettersendelse");
    assert_eq!(app.event_summary().await, before, "records nothing");
    let right = send_melding(
        &app,
        Some(&integrasjon),
        &kvittering(&app, konto, "no.nav.digisos.ettersendelse.mottatt.v1", &melding_id),
    )
    .await;
    assert_eq!(right.status(), 202);
    ettersendelse.ack(BasicAckOptions::default()).await.expect("ack");
    assert_eq!(count(&app, "LeveranseKvittert.v1").await, 2, "the søknad and the ettersendelse, once each");
    assert!(mailbox(&app).await.is_empty(), "neither was in the REST mailbox");
    app.finish().await;
}

/// `digisos-bench fiks-io` on a tiny ladder against a node of its own: every søknad reaches the consuming
/// fagsystem over Fiks IO, decrypted and unzipped, and through the mailbox, and the report names both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_delivers_a_tiny_ladder_over_fiks_io_and_through_the_mailbox() {
    use digisos_bench::app::Backend as BenchBackend;
    use digisos_bench::fiks_io::{FiksIoBenchConfig, measure, render};
    let node = RabbitNode::start().await;
    let config = FiksIoBenchConfig {
        rates: vec![4.0],
        step: Duration::from_secs(1),
        pdf_bytes: 1000,
        poll: Duration::from_millis(200),
        amqp_url: node.url(),
    };
    let figures = measure(BenchBackend::Sqlite, "", &config).await.expect("the scenario runs");
    for steps in [&figures.fiks_io, &figures.mailbox] {
        assert_eq!(steps.len(), 1);
        assert_eq!(steps[0].errors, 0, "{:?}", steps[0].first_error);
        assert_eq!(steps[0].delivery.count, 4, "one søknad every 250 ms for a second, each delivered");
        assert_eq!(steps[0].duplicates, 0);
    }
    let text = render("provenance", &config, &[figures]);
    assert!(text.starts_with("## fiks-io") && text.contains("### SQLite (Fiks IO)"));
    assert!(text.contains("### SQLite (REST mailbox)") && text.contains("mailbox sustained søknader/s"));
}

/// `n` bytes that do not compress (the container deflates its entries), starting as a PDF does.
fn incompressible(n: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes[..9].copy_from_slice(b"%PDF-1.7\n");
    bytes
}

/// Downloads dokumentlager file `id` as KS's client does: the fagsystem's token and the integration's headers.
async fn nedlasting(app: &TestApp, id: &str, integrasjon: Option<&(String, String)>) -> reqwest::Response {
    let mut request =
        app.client().get(format!("{}/dokumentlager/nedlasting/{id}", app.base)).bearer_auth(fagsystem(app));
    if let Some((id, passord)) = integrasjon {
        request = request.header("IntegrasjonId", id).header("IntegrasjonPassord", passord);
    }
    request.send().await.expect("the app answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soknad_over_5_mb_goes_by_the_dokumentlager_and_its_file_is_deleted_after_its_time() {
    let node = RabbitNode::start().await;
    let app = TestApp::start_with_fiks_io(Backend::Postgres, Some(node.url())).await;
    let mut other = other_kommune_config();
    let other_keys = tempfile::tempdir().expect("temp dir");
    let (other_cert, _) = fagsystem_keys(other_keys.path());
    other["fiksIoKontoId"] = json!(Uuid::new_v4());
    other["fiksIoSertifikat"] = json!(std::fs::read_to_string(&other_cert).expect("certificate"));
    app.configure_kommune(OTHER_KOMMUNE, &other).await;
    let other_integrasjon = integrasjon(&app, OTHER_KOMMUNE).await;
    let konto = fiks_io_kommune(&app).await;
    let (_connection, _channel, mut consumer) = consumer(&node, konto.id).await;

    // Six files of 1 MB each that the container cannot compress: the encrypted body is over 5 MB.
    let pdf = incompressible(1_000_000);
    let files: Vec<(&str, Vec<u8>)> =
        standard_vedlegg().into_iter().map(|(name, _)| (name, incompressible(1_000_000))).collect();
    let form = soknad_form_with_files(&soknad_json(FNR), Some(ENHET), &pdf, &files);
    let reply = app.post_form(&format!("/soknader/{KOMMUNE}/{REF}"), Some(&app.citizen(FNR)), form).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let sak = reply.body.as_str().expect("the case id").to_owned();

    let delivery = next(&mut consumer).await;
    let headers = delivery.properties.headers().clone().expect("headers");
    assert!(delivery.data.is_empty(), "the message itself carries no body ({} bytes)", delivery.data.len());
    let id = header(&headers, "dokumentlager-id");
    Uuid::parse_str(&id).expect("dokumentlager-id is a UUID");
    assert_eq!(header(&headers, "type"), "no.nav.digisos.soknad.v1");

    // The download wants the receiving account's integration; nothing else gets the file.
    let without = nedlasting(&app, &id, None).await;
    assert_eq!(without.status(), 401);
    let body: Value = without.json().await.expect("a JSON error");
    assert!(body["message"].as_str().unwrap_or_default().contains("IntegrasjonId"), "{body}");
    let wrong = (konto.integrasjon.0.clone(), format!("{}x", konto.integrasjon.1));
    assert_eq!(nedlasting(&app, &id, Some(&wrong)).await.status(), 403, "a wrong password");
    assert_eq!(nedlasting(&app, &id, Some(&other_integrasjon)).await.status(), 403, "another kommune's integration");
    let unknown = nedlasting(&app, &Uuid::new_v4().to_string(), Some(&konto.integrasjon)).await;
    assert_eq!(unknown.status(), 404);

    let download = nedlasting(&app, &id, Some(&konto.integrasjon)).await;
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "application/octet-stream");
    let length: usize = download.headers()["content-length"].to_str().expect("text").parse().expect("a length");
    let bytes = download.bytes().await.expect("the body");
    assert_eq!(bytes.len(), length);
    assert!(bytes.len() > 5 * 1024 * 1024, "over 5 MB: {}", bytes.len());
    let entries = open_melding(konto.dir.path(), &konto.cert, &konto.key, &bytes);
    let metadata: Value = serde_json::from_slice(entry(&entries, "forsendelseMetadata.json")).expect("JSON");
    assert_eq!(metadata, json!({"eksternRef": REF, "digisosId": sak}));
    assert_eq!(entry(&entries, "Soknad.pdf"), pdf.as_slice(), "the søknad PDF byte for byte");
    for (name, bytes) in &files {
        assert_eq!(entry(&entries, name), bytes.as_slice(), "{name} byte for byte");
    }
    assert_eq!(receipt(&app, konto.id, &konto.integrasjon, &header(&headers, "melding-id")).await, 202);
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    assert_eq!(count(&app, "LeveranseKvittert.v1").await, 1);

    // Kept for the message's TTL + 24 h: the sweep at that time deletes the file and its row.
    let sha512 = fiks_digisos::documents::StoredBlob::of_bytes(&bytes).sha512;
    assert!(app.documents.exists(&sha512).await.expect("the store answers"), "the body is a stored blob");
    let sweep = fiks_digisos::fiksio::dokumentlager::rydd;
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    assert_eq!(sweep(&app.database, &app.documents, soon).await.expect("sweep"), 0, "not yet");
    assert_eq!(nedlasting(&app, &id, Some(&konto.integrasjon)).await.status(), 200);
    let later = chrono::Utc::now() + chrono::Duration::hours(2 + 24) + chrono::Duration::minutes(1);
    assert_eq!(sweep(&app.database, &app.documents, later).await.expect("sweep"), 1);
    assert!(!app.documents.exists(&sha512).await.expect("the store answers"), "the blob is deleted");
    let gone = nedlasting(&app, &id, Some(&konto.integrasjon)).await;
    assert_eq!(gone.status(), 404, "after its time the file is gone");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_whose_message_cannot_be_built_goes_to_the_mailbox_and_holds_up_no_other() {
    let node = RabbitNode::start().await;
    let mut app = TestApp::start_with_fiks_io(Backend::Postgres, Some(node.url())).await;
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let konto = fiks_io_kommune(&app).await;
    let (_connection, _channel, mut consumer) = consumer(&node, konto.id).await;

    // Two søknader committed before the publisher runs; the first one's PDF (its own bytes) is then lost from
    // the document store, so its message can never be built.
    app.stop_publisher();
    let broken_pdf = file_bytes(2100, 9);
    let form = soknad_form(&soknad_json(FNR), Some(ENHET), &broken_pdf);
    let reply = app.post_form(&format!("/soknader/{KOMMUNE}/{REF}"), Some(&app.citizen(FNR)), form).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let broken = reply.body.as_str().expect("the case id").to_owned();
    let fine = new_soknad(&app).await;
    let sha512 = fiks_digisos::documents::StoredBlob::of_bytes(&broken_pdf).sha512;
    app.documents.delete(&sha512).await.expect("delete the blob");
    app.start_publisher();

    // The second arrives over Fiks IO; the first, after its retries, is offered in the mailbox instead.
    let delivery = next(&mut consumer).await;
    let headers = delivery.properties.headers().clone().expect("headers");
    let events = app.stream_events(&format!("sak-{fine}")).await;
    let opprettet = events.iter().find(|e| e.event_type == "LeveranseOpprettet.v1").expect("the delivery");
    assert_eq!(
        json!(header(&headers, "egendefinert-header.klientMeldingId")),
        opprettet.data["leveranseId"],
        "the first message out is the second søknad's"
    );
    assert_eq!(receipt(&app, konto.id, &konto.integrasjon, &header(&headers, "melding-id")).await, 202);
    delivery.ack(BasicAckOptions::default()).await.expect("ack");
    in_mailbox(&app, &broken).await;
    assert_eq!(fallbacks(&app, &broken).await, [json!("MELDINGSFEIL")]);
    assert!(fallbacks(&app, &fine).await.is_empty());
    app.finish().await;
}

/// A katalog read as KS's client makes it (`CatalogHandler.GetAsModel`): the bearer token and the integration's
/// `integrasjonId` / `integrasjonPassord` headers.
async fn katalog(app: &TestApp, path: &str, integrasjon: Option<&(String, String)>) -> (u16, Value) {
    let mut request =
        app.client().get(format!("{}/fiks-io/katalog/api/v1/{path}", app.base)).bearer_auth(fagsystem(app));
    if let Some((id, passord)) = integrasjon {
        request = request.header("integrasjonId", id).header("integrasjonPassord", passord);
    }
    let response = request.send().await.expect("the app answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_katalog_describes_the_hubs_and_the_kommunes_accounts_to_an_integration() {
    let node = RabbitNode::start().await;
    let app = TestApp::start_with_fiks_io(Backend::Postgres, Some(node.url())).await;
    app.configure_kommune(OTHER_KOMMUNE, &other_kommune_config()).await;
    let konto = fiks_io_kommune(&app).await;
    let hub = app.fiks_io.as_ref().expect("the channel is on").konto_id();

    let (status, body) = katalog(&app, &format!("kontoer/{}", konto.id), None).await;
    assert_eq!(status, 401, "{body}");
    let wrong = (konto.integrasjon.0.clone(), "wrong".to_owned());
    assert_eq!(katalog(&app, &format!("kontoer/{}", konto.id), Some(&wrong)).await.0, 403);
    let unknown = katalog(&app, &format!("kontoer/{}", Uuid::new_v4()), Some(&konto.integrasjon)).await;
    assert_eq!(unknown.0, 404, "{}", unknown.1);

    let (status, own) = katalog(&app, &format!("kontoer/{}", konto.id), Some(&konto.integrasjon)).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["kontoId"], json!(konto.id));
    assert_eq!(own["fiksOrgId"], json!(FIKS_ORG_ID));
    assert_eq!(own["kommunenummer"], json!(KOMMUNE));
    assert!(own["kontoNavn"].as_str().is_some_and(|n| !n.is_empty()) && own["fiksOrgNavn"].is_string());
    assert_eq!(own["status"]["gyldigAvsender"], json!(true));
    assert_eq!(own["status"]["gyldigMottaker"], json!(true), "it has a certificate");
    let (status, hubs) = katalog(&app, &format!("kontoer/{hub}"), Some(&konto.integrasjon)).await;
    assert_eq!(status, 200, "{hubs}");
    assert_eq!(hubs["kontoId"], json!(hub));
    Uuid::parse_str(hubs["fiksOrgId"].as_str().expect("fiksOrgId")).expect("KS's client reads fiksOrgId as a Guid");
    assert_eq!(hubs["status"]["gyldigMottaker"], json!(true));

    // The status counts the account's consumers as the hub's account watch last saw them.
    let (_connection, _channel, _consumer) = consumer(&node, konto.id).await;
    let mut seen = Value::Null;
    for _ in 0..300 {
        let (status, body) = katalog(&app, &format!("kontoer/{}/status", konto.id), Some(&konto.integrasjon)).await;
        assert_eq!(status, 200, "{body}");
        if body["antallKonsumenter"] == json!(1) {
            seen = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(seen["antallKonsumenter"], json!(1), "the consumer is counted within the watch's 15 s");
    assert_eq!(seen["antallUavhentedeMeldinger"], json!(0));
    assert_eq!(seen["gyldigMottaker"], json!(true));
    app.finish().await;
}

/// With the channel off (no DIGISOS_FIKS_IO_AMQP_URL), the katalog's key upload is 404 like every Fiks IO route,
/// and the certificate it carried is not stored.
#[tokio::test]
async fn with_fiks_io_off_a_key_upload_is_refused_and_stores_nothing() {
    let app = TestApp::start(Backend::Sqlite).await;
    let konto = fiks_io_kommune(&app).await;
    let (id, passord) = &konto.integrasjon;
    let new_keys = tempfile::tempdir().expect("temp dir");
    let (new_cert, _) = fagsystem_keys(new_keys.path());
    let pem = std::fs::read_to_string(&new_cert).expect("certificate");
    let before = app.event_summary().await;
    let reply = app
        .client()
        .put(format!("{}/fiks-io/katalog/api/v1/kontoer/{}/offentligNokkel", app.base, konto.id))
        .bearer_auth(fagsystem(&app))
        .header("integrasjonId", id)
        .header("integrasjonPassord", passord)
        .json(&json!({"nokkel": pem}))
        .send()
        .await
        .expect("the app answers");
    assert_eq!(reply.status(), 404);
    let body: Value = reply.json().await.expect("the error body");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("DIGISOS_FIKS_IO_AMQP_URL")), "{body}");
    assert_eq!(app.event_summary().await, before, "the certificate is not stored");
    app.finish().await;
}
