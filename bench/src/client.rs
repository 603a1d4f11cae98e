//! What the benchmarks send, and how: the søknad fixture, synthetic personal numbers, status updates, a
//! multipart body writer, a GraphQL client over HTTP and a `graphql-transport-ws` subscriber.
//!
//! The søknad is the format's `soknad/systemdata.json` and a `vedlegg.json` listing two PDFs, embedded
//! (`bench/src/data/`) so the benchmark runs from a clean clone without the shared format files. Personal
//! numbers are Skatteetaten-style synthetic ones (month + 80, valid control digits), so no real person's
//! number can appear in a benchmark database.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use fiks_digisos::eventstore::Position;
use fiks_digisos::http::POSITION_HEADER;

/// The REST prefix.
pub const PREFIX: &str = "/digisos/api/v1";
/// The kommune every benchmark configures.
pub const KOMMUNE: &str = "0301";
/// The NAV office routed to [`KOMMUNE`] (the søknader are sent to it).
pub const ENHET: &str = "0315";
/// [`KOMMUNE`]'s Fiks organisation.
pub const FIKS_ORG_ID: &str = "11415cd1-e26d-499a-8421-751457dfcbd5";
/// The organisation acting as [`KOMMUNE`]'s fagsystem.
pub const FAGSYSTEM_ORGNR: &str = "958935420";
/// The longest a benchmark waits for one answer or message before it gives up.
pub const PATIENCE: Duration = Duration::from_secs(30);

const SOKNAD: &str = include_str!("data/soknad.json");
const VEDLEGG: &str = include_str!("data/vedlegg.json");
/// The two files `data/vedlegg.json` lists, in order (the søknad PDF comes before them and is not listed).
pub const VEDLEGG_FILES: [&str; 2] = ["husleie-1.pdf", "husleie-2.pdf"];
pub use crate::form::BOUNDARY;

/// [`KOMMUNE`]'s configuration: takes søknader and status updates, [`ENHET`] routed to it.
pub fn kommune_config() -> Value {
    json!({
        "fiksOrgId": FIKS_ORG_ID,
        "fagsystemOrgnr": [FAGSYSTEM_ORGNR],
        "navEnheter": [ENHET],
        "kanMottaSoknader": true,
        "kanOppdatereStatus": true,
        "harMidlertidigDeaktivertMottak": false,
        "harMidlertidigDeaktivertOppdateringer": false,
        "harNksTilgang": true,
        "kontaktpersoner": {"fagansvarligEpost": ["fag@kommune.no"], "tekniskAnsvarligEpost": ["it@kommune.no"]}
    })
}

/// The embedded søknad of citizen `fnr`, to [`KOMMUNE`]/[`ENHET`].
pub fn soknad_json(fnr: &str) -> Result<Value, String> {
    let mut soknad: Value = serde_json::from_str(SOKNAD).map_err(|e| format!("data/soknad.json: {e}"))?;
    soknad["data"]["personalia"]["personIdentifikator"]["verdi"] = json!(fnr);
    soknad["mottaker"]["kommunenummer"] = json!(KOMMUNE);
    soknad["mottaker"]["enhetsnummer"] = json!(ENHET);
    Ok(soknad)
}

/// The embedded `vedlegg.json`.
pub fn vedlegg_json() -> Result<Value, String> {
    serde_json::from_str(VEDLEGG).map_err(|e| format!("data/vedlegg.json: {e}"))
}

/// `n` bytes of a PDF-looking file whose first line names `seed` (the document store is content-addressed:
/// different seeds are different files, so each submission stores its own).
pub fn pdf(n: usize, seed: u64) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.7\n% digisos-bench {seed:020}\n").into_bytes();
    let start = bytes.len();
    bytes.extend((start..n.max(start)).map(|i| (i as u8).wrapping_mul(31)));
    bytes.truncate(n.max(start));
    bytes
}

pub use crate::form::Form;

/// A whole søknad request of `fnr`: `tilleggsinformasjonJson`, `soknadJson`, `vedleggJson`, the søknad PDF and
/// the two listed files, each PDF `pdf_bytes` long with content of its own (`seed`).
pub fn soknad_body(fnr: &str, pdf_bytes: usize, seed: u64) -> Result<Vec<u8>, String> {
    let mut form = Form::new()
        .json("tilleggsinformasjonJson", &json!({"enhetsnummer": ENHET}))
        .json("soknadJson", &soknad_json(fnr)?)
        .json("vedleggJson", &vedlegg_json()?)
        .pair(0, "Soknad.pdf", &pdf(pdf_bytes, seed.wrapping_mul(3)));
    for (i, name) in VEDLEGG_FILES.iter().enumerate() {
        form = form.pair(i + 1, name, &pdf(pdf_bytes, seed.wrapping_mul(3) + 1 + i as u64));
    }
    Ok(form.finish())
}

/// A file encrypted for `certificate` as Nav's sender encrypts it for the hub: CMS EnvelopedData with
/// AES-256-CBC content (OpenSSL's CMS, binary). The key transport is OpenSSL's default for an RSA recipient
/// (PKCS#1 v1.5) rather than Nav's RSAES-OAEP, which the safe `openssl` API does not select; the server's
/// cost, one RSA private-key operation and the AES decryption, is the same for both paddings. (The
/// compatibility tests encrypt with OAEP through the `openssl` command line.)
pub fn encrypt(certificate: &openssl::x509::X509, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    use openssl::cms::{CMSOptions, CmsContentInfo};
    use openssl::stack::Stack;
    let mut recipients = Stack::new().map_err(|e| e.to_string())?;
    recipients.push(certificate.clone()).map_err(|e| e.to_string())?;
    let cms = CmsContentInfo::encrypt(&recipients, plaintext, openssl::symm::Cipher::aes_256_cbc(), CMSOptions::BINARY)
        .map_err(|e| format!("encrypt: {e}"))?;
    cms.to_der().map_err(|e| format!("encrypt: {e}"))
}

/// One file into mellomlagring as Nav's `MellomlagringClient` sends it: `metadata` (application/json) then the
/// encrypted file in a part `files`.
pub fn mellomlagring_body(filnavn: &str, plaintext_len: usize, encrypted: &[u8]) -> Vec<u8> {
    let metadata = json!({"filnavn": filnavn, "mimetype": "application/pdf", "storrelse": plaintext_len});
    Form::new()
        .part("name=\"metadata\"", "application/json", metadata.to_string().as_bytes())
        .part(&format!("name=\"files\"; filename=\"{filnavn}\""), "application/octet-stream", encrypted)
        .finish()
}

/// A v2 søknad of `fnr` as `DigisosApiV2Client` sends it: the three JSON parts (application/json), then the
/// søknad PDF (`metadata0`, text/plain, and a part named `Soknad.pdf`), encrypted; the two listed files are
/// expected in mellomlagring.
pub fn soknad_v2_body(fnr: &str, soknad_pdf_len: usize, encrypted_pdf: &[u8]) -> Result<Vec<u8>, String> {
    let json_part = |form: Form, name: &str, value: &Value| {
        form.part(&format!("name=\"{name}\""), "application/json", value.to_string().as_bytes())
    };
    let mut form = json_part(Form::new(), "tilleggsinformasjonJson", &json!({"enhetsnummer": ENHET}));
    form = json_part(form, "soknadJson", &soknad_json(fnr)?);
    form = json_part(form, "vedleggJson", &vedlegg_json()?);
    let metadata = json!({"filnavn": "Soknad.pdf", "mimetype": "application/pdf", "storrelse": soknad_pdf_len});
    form = form.part("name=\"metadata0\"", "text/plain", metadata.to_string().as_bytes()).part(
        "name=\"Soknad.pdf\"; filename=\"Soknad.pdf\"",
        "application/octet-stream",
        encrypted_pdf,
    );
    Ok(form.finish())
}

/// The first `n` synthetic personal numbers (month + 80, valid control digits), in a fixed order.
pub fn synthetic_fnrs(n: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n);
    'dates: for year in 0..100u32 {
        for month in 1..=12u32 {
            for day in 1..=28u32 {
                for individ in 0..1000u32 {
                    if out.len() >= n {
                        break 'dates;
                    }
                    let nine = format!("{day:02}{:02}{year:02}{individ:03}", month + 80);
                    if let Some(fnr) = with_control_digits(&nine) {
                        out.push(fnr);
                    }
                }
            }
        }
    }
    out
}

/// The nine digits followed by their two mod-11 control digits, or `None` when a control digit would be 10.
fn with_control_digits(nine: &str) -> Option<String> {
    let digits: Vec<u32> = nine.chars().filter_map(|c| c.to_digit(10)).collect();
    let control = |digits: &[u32], weights: &[u32]| {
        let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        match 11 - sum % 11 {
            11 => Some(0),
            10 => None,
            k => Some(k),
        }
    };
    let k1 = control(&digits, &[3, 7, 6, 1, 8, 9, 4, 5, 2])?;
    let mut ten = digits.clone();
    ten.push(k1);
    let k2 = control(&ten, &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2])?;
    Some(format!("{nine}{k1}{k2}"))
}

/// A status-update body (`digisos-soker.json`) with these hendelser.
pub fn status_update(hendelser: &[Value]) -> Value {
    json!({
        "type": "no.nav.digisos.digisos.soker.v1",
        "sak": {"soker": {
            "version": "1.0.0",
            "avsender": {"systemnavn": "digisos-bench", "systemversjon": "1.0.0"},
            "hendelser": hendelser,
        }}
    })
}

/// The `k`-th hendelse of a benchmark case (k from 0): the søknad received, then under treatment, then
/// alternately a part-case (`saksStatus`, reference `SAK<k>`, title `Sak <k>`) and a payment on it; each a
/// minute after the one before.
pub fn hendelse(k: usize) -> Value {
    let tidspunkt =
        (chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(17_800) + chrono::Duration::minutes(k as i64))
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
    match k {
        0 => json!({"type": "soknadsStatus", "hendelsestidspunkt": tidspunkt, "status": "MOTTATT"}),
        1 => json!({"type": "soknadsStatus", "hendelsestidspunkt": tidspunkt, "status": "UNDER_BEHANDLING"}),
        k if k % 2 == 0 => json!({
            "type": "saksStatus", "hendelsestidspunkt": tidspunkt, "referanse": format!("SAK{k}"),
            "tittel": format!("Sak {k}"), "status": "UNDER_BEHANDLING"
        }),
        k => json!({
            "type": "utbetaling", "hendelsestidspunkt": tidspunkt, "utbetalingsreferanse": format!("U{k}"),
            "saksreferanse": format!("SAK{}", k - 1), "status": "UTBETALT", "belop": 1000.5 + k as f64,
            "utbetalingsdato": "2018-10-14", "annenMottaker": false, "kontonummer": "12345678903",
            "mottaker": "Søkeren"
        }),
    }
}

/// The first `n` hendelser of [`hendelse`].
pub fn hendelser(n: usize) -> Vec<Value> {
    (0..n).map(hendelse).collect()
}

/// The `x-digisos-position` of an answer.
pub fn position_of(response: &reqwest::Response) -> Result<Position, String> {
    let header = response.headers().get(POSITION_HEADER).ok_or_else(|| format!("no {POSITION_HEADER} header"))?;
    header.to_str().ok().and_then(|v| v.parse().ok()).ok_or_else(|| format!("a malformed {POSITION_HEADER}"))
}

/// Sends `request`, insists on `expected` status, and returns the response.
pub async fn expect_status(request: reqwest::RequestBuilder, expected: u16) -> Result<reqwest::Response, String> {
    let response = request.timeout(PATIENCE).send().await.map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    if status == expected {
        return Ok(response);
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().take(300).collect();
    Err(format!("answered {status}, expected {expected}: {body}"))
}

/// Runs a GraphQL query at `base` as `token`'s caller (with `min`: once the read models reached it) and
/// returns `data`; a reply with errors is an error.
pub async fn gql(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    query: &str,
    variables: &Value,
    min: Option<Position>,
) -> Result<Value, String> {
    let mut request = client
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&json!({"query": query, "variables": variables}));
    if let Some(position) = min {
        request = request.header("x-digisos-min-position", position.to_string());
    }
    let response = expect_status(request, 200).await?;
    let mut body: Value = response.json().await.map_err(|e| format!("GraphQL answer is not JSON: {e}"))?;
    if let Some(errors) = body.get("errors") {
        return Err(format!("GraphQL errors: {errors}"));
    }
    Ok(body["data"].take())
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` connection to `/graphql/ws`.
pub struct Subscriber {
    socket: Socket,
}

impl Subscriber {
    /// Connects to the app at `base` (`http://…`) and completes `connection_init` with `token`.
    pub async fn connect(base: &str, token: &str) -> Result<Self, String> {
        let url = format!("{}/graphql/ws", base.replacen("http", "ws", 1));
        let mut request = url.into_client_request().map_err(|e| format!("WebSocket request: {e}"))?;
        let protocol = "graphql-transport-ws".parse().map_err(|e| format!("header: {e}"))?;
        request.headers_mut().insert("sec-websocket-protocol", protocol);
        let (socket, _) = tokio::time::timeout(PATIENCE, tokio_tungstenite::connect_async(request))
            .await
            .map_err(|_| "the WebSocket did not open in time".to_string())?
            .map_err(|e| format!("the WebSocket did not open: {e}"))?;
        let mut subscriber = Self { socket };
        let init = json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}});
        subscriber.send(init).await?;
        match subscriber.next().await? {
            Some(m) if m["type"] == "connection_ack" => Ok(subscriber),
            other => Err(format!("connection_init was not acknowledged: {other:?}")),
        }
    }

    async fn send(&mut self, message: Value) -> Result<(), String> {
        self.socket.send(Message::Text(message.to_string().into())).await.map_err(|e| format!("WebSocket send: {e}"))
    }

    /// Starts subscription `id`.
    pub async fn subscribe(&mut self, id: &str, query: &str, variables: &Value) -> Result<(), String> {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}})).await
    }

    /// The next protocol message other than ping/pong; `None` when the socket closed.
    pub async fn next(&mut self) -> Result<Option<Value>, String> {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .map_err(|_| format!("no WebSocket message in {PATIENCE:?}"))?;
            match message {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Ok(Message::Text(text))) => {
                    let value: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
                    match value["type"].as_str() {
                        Some("ping") => self.send(json!({"type": "pong"})).await?,
                        Some("pong") => {}
                        _ => return Ok(Some(value)),
                    }
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Reads messages until one's `payload.data` satisfies `wanted`, and returns that data.
    pub async fn until(&mut self, wanted: impl Fn(&Value) -> bool) -> Result<Value, String> {
        loop {
            let Some(mut message) = self.next().await? else { return Err("the subscription closed".to_string()) };
            if message["type"] != "next" {
                return Err(format!("unexpected message: {message}"));
            }
            let data = message["payload"]["data"].take();
            if wanted(&data) {
                return Ok(data);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_numbers_are_valid_distinct_and_marked_synthetic() {
        let fnrs = synthetic_fnrs(5000);
        assert_eq!(fnrs.len(), 5000);
        assert_eq!(fnrs.iter().collect::<std::collections::HashSet<_>>().len(), 5000);
        for fnr in &fnrs {
            assert!(fiks_digisos::auth::Fnr::parse(fnr).is_ok(), "{fnr} is not valid");
            assert!(fnr[2..4].parse::<u32>().is_ok_and(|m| m > 80), "{fnr} is not synthetic");
        }
    }

    #[test]
    fn the_embedded_soknad_is_the_callers_and_lists_its_files() {
        let fnr = synthetic_fnrs(1).remove(0);
        let soknad = soknad_json(&fnr).expect("the søknad");
        assert_eq!(soknad["data"]["personalia"]["personIdentifikator"]["verdi"], fnr.as_str());
        assert_eq!(soknad["mottaker"]["enhetsnummer"], ENHET);
        let vedlegg = vedlegg_json().expect("vedlegg.json");
        let listed: Vec<&str> = vedlegg["vedlegg"][0]["filer"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["filnavn"].as_str())
            .collect();
        assert_eq!(listed, VEDLEGG_FILES);
        let body = soknad_body(&fnr, 1000, 7).expect("a body");
        assert!(body.len() > 3000 && body.ends_with(format!("--{BOUNDARY}--\r\n").as_bytes()));
        assert_ne!(pdf(100, 1), pdf(100, 2), "seeds make different files");
        assert_eq!(pdf(100, 1).len(), 100);
    }

    #[test]
    fn hendelser_alternate_part_cases_and_payments_with_rising_times() {
        let all = hendelser(6);
        let types: Vec<&str> = all.iter().filter_map(|h| h["type"].as_str()).collect();
        assert_eq!(types, ["soknadsStatus", "soknadsStatus", "saksStatus", "utbetaling", "saksStatus", "utbetaling"]);
        assert_eq!(all[3]["saksreferanse"], "SAK2");
        assert!(all[0]["hendelsestidspunkt"].as_str() < all[5]["hendelsestidspunkt"].as_str());
    }
}
