//! GraphQL over HTTP as the browser clients send it, on SQLite and PostgreSQL: queries over `GET /graphql`
//! (urql's default `preferGetMethod`, and Apollo's GET), never a mutation over GET (405), GraphiQL only for a
//! browser in development mode, refusals without a valid token in the GraphQL error shape (401,
//! `UNAUTHENTICATED`, `WWW-Authenticate`), Apollo's automatic persisted queries over GET and POST (with the
//! alias limit still applied), and `x-digisos-min-position` on GET.
//!
//! Requests carry exactly what the clients send: `query`, `operationName`, `variables` and `extensions` (JSON
//! text) in the query string, URL-encoded as urql (`URLSearchParams`) or Apollo (`encodeURIComponent`) does,
//! and `Accept: application/graphql-response+json, application/json`.

mod api_support;
mod fagsystem_support;

use std::sync::Arc;

use api_support::*;
use fagsystem_support::*;
use fiks_digisos::auth::AuthConfig;
use fiks_digisos::documents::DocumentStore;
use fiks_digisos::eventstore::open::Database;
use fiks_digisos::http::multipart::UploadLimits;
use fiks_digisos::http::{AppState, HttpLimits};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What urql and Apollo send as `Accept`.
const ACCEPT: &str = "application/graphql-response+json, application/json";

const MINE_SAKER: &str = "query MineSaker { mineSaker { fiksDigisosId kommunenummer status papirsoknad navKontor
    soknadPdf { url } dokumenter { filnavn url kilde } leveranser { type status } } }";

const SAK: &str = "query Sak($id: String!) { sak(fiksDigisosId: $id) { fiksDigisosId status navKontor
    historikk { type tekst } dokumenter { filnavn url } } }";

/// A case id that does not exist.
const NO_SUCH_CASE: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// How a client encodes the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// urql: `URLSearchParams` (`application/x-www-form-urlencoded`, a space as `+`).
    Urql,
    /// Apollo: `encodeURIComponent` (a space as `%20`).
    Apollo,
}

/// One GraphQL request, as both methods carry it.
#[derive(Debug, Clone, Default)]
struct Op {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<Value>,
    extensions: Option<Value>,
}

impl Op {
    fn query(query: &str) -> Op {
        Op { query: Some(query.to_owned()), ..Op::default() }
    }

    fn named(mut self, name: &str) -> Op {
        self.operation_name = Some(name.to_owned());
        self
    }

    fn variables(mut self, variables: Value) -> Op {
        self.variables = Some(variables);
        self
    }

    /// Apollo's automatic persisted query extension for `hash`.
    fn persisted(mut self, hash: &str) -> Op {
        self.extensions = Some(json!({"persistedQuery": {"version": 1, "sha256Hash": hash}}));
        self
    }

    /// The request's fields, as the query string carries them (JSON values as JSON text).
    fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(query) = &self.query {
            params.push(("query", query.clone()));
        }
        if let Some(name) = &self.operation_name {
            params.push(("operationName", name.clone()));
        }
        if let Some(variables) = &self.variables {
            params.push(("variables", variables.to_string()));
        }
        if let Some(extensions) = &self.extensions {
            params.push(("extensions", extensions.to_string()));
        }
        params
    }

    /// The POST body.
    fn body(&self) -> Value {
        let mut body = json!({});
        if let Some(query) = &self.query {
            body["query"] = json!(query);
        }
        if let Some(name) = &self.operation_name {
            body["operationName"] = json!(name);
        }
        if let Some(variables) = &self.variables {
            body["variables"] = variables.clone();
        }
        if let Some(extensions) = &self.extensions {
            body["extensions"] = extensions.clone();
        }
        body
    }

    /// The query string in `style`.
    fn query_string(&self, style: Style) -> String {
        match style {
            Style::Urql => {
                let mut serializer = url::form_urlencoded::Serializer::new(String::new());
                for (key, value) in self.params() {
                    serializer.append_pair(key, &value);
                }
                serializer.finish()
            }
            Style::Apollo => self
                .params()
                .iter()
                .map(|(key, value)| format!("{key}={}", encode_uri_component(value)))
                .collect::<Vec<_>>()
                .join("&"),
        }
    }
}

/// JavaScript's `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` percent-encoded as UTF-8.
fn encode_uri_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// An answer of `/graphql`.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    /// `data`, asserting a 200 without errors.
    fn data(&self) -> &Value {
        assert_eq!(self.status, 200, "{}", self.body);
        assert!(self.body.get("errors").is_none(), "unexpected errors: {}", self.body);
        &self.body["data"]
    }

    /// The first error's message.
    fn error_message(&self) -> &str {
        self.body["errors"][0]["message"].as_str().unwrap_or_default()
    }

    /// The first error's `extensions.code`.
    fn error_code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"].as_str().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the body is the GraphQL error shape `{"errors":[{"message", "extensions":{"code": code}}]}`.
    fn assert_refusal(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        let keys: Vec<&String> = self.body.as_object().expect("a JSON object").keys().collect();
        assert_eq!(keys, ["errors"], "only `errors`, not the Fiks error shape: {}", self.body);
        let errors = self.body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{}", self.body);
        assert!(!self.error_message().is_empty(), "a message: {}", self.body);
        assert_eq!(self.error_code(), code, "{}", self.body);
        assert!(self.header("content-type").is_some_and(|t| t.contains("json")), "{:?}", self.headers);
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    Answer { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
}

/// `GET /graphql?<op>` as a client sends it, with `headers` besides `Accept` and the token.
async fn get_with(base: &str, token: Option<&str>, op: &Op, style: Style, headers: &[(&str, &str)]) -> Answer {
    let url = format!("{base}/graphql?{}", op.query_string(style));
    let mut request = reqwest::Client::new().get(url).header("accept", ACCEPT);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer(request.send().await.expect("the app answers")).await
}

/// `GET /graphql?<op>`, urql's encoding.
async fn get(app: &TestApp, token: Option<&str>, op: &Op) -> Answer {
    get_with(&app.base, token, op, Style::Urql, &[]).await
}

/// `POST /graphql` with `op` as JSON.
async fn post_with(app: &TestApp, token: Option<&str>, op: &Op, headers: &[(&str, &str)]) -> Answer {
    let mut request = app.client().post(format!("{}/graphql", app.base)).header("accept", ACCEPT).json(&op.body());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer(request.send().await.expect("the app answers")).await
}

async fn post(app: &TestApp, token: Option<&str>, op: &Op) -> Answer {
    post_with(app, token, op, &[]).await
}

/// The lowercase hex SHA-256 of `query`, as Apollo's link computes it.
fn sha256(query: &str) -> String {
    hex::encode(Sha256::digest(query.as_bytes()))
}

/// Which method a scenario uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Get,
    Post,
}

async fn send(app: &TestApp, over: Over, token: &str, op: &Op) -> Answer {
    match over {
        Over::Get => get(app, Some(token), op).await,
        Over::Post => post(app, Some(token), op).await,
    }
}

// ---- Queries over GET ----

async fn a_citizen_reads_their_own_case_over_get(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);

    let mine = get(app, Some(&citizen), &Op::query(MINE_SAKER).named("MineSaker")).await;
    assert!(mine.header("content-type").is_some_and(|t| t.contains("json")), "{:?}", mine.headers);
    let saker = mine.data()["mineSaker"].as_array().expect("a list").clone();
    assert_eq!(saker.len(), 1, "{saker:?}");
    assert_eq!(saker[0]["fiksDigisosId"], id.as_str());
    assert_eq!(saker[0]["status"], "SENDT");
    assert_eq!(saker[0]["navKontor"], ENHET);
    assert_eq!(saker[0]["kommunenummer"], KOMMUNE);
    assert!(saker[0]["soknadPdf"]["url"].as_str().is_some_and(|u| u.contains("/dokumentlager/nedlasting/")));

    // The same request over POST answers the same.
    let over_post = post(app, Some(&citizen), &Op::query(MINE_SAKER).named("MineSaker")).await;
    assert_eq!(over_post.data(), mine.data());

    // A query with variables, in urql's and in Apollo's encoding.
    let op = Op::query(SAK).named("Sak").variables(json!({"id": id}));
    for style in [Style::Urql, Style::Apollo] {
        let sak = get_with(&app.base, Some(&citizen), &op, style, &[]).await;
        assert_eq!(sak.data()["sak"]["fiksDigisosId"], id.as_str(), "{style:?}");
        assert_eq!(sak.data()["sak"]["status"], "SENDT", "{style:?}");
        assert_eq!(sak.data(), post(app, Some(&citizen), &op).await.data(), "{style:?}: as over POST");
    }
}

async fn another_citizen_sees_nothing_of_it_over_get(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let other = app.citizen(OTHER_FNR);
    let mine = get(app, Some(&other), &Op::query(MINE_SAKER).named("MineSaker")).await;
    assert_eq!(mine.data()["mineSaker"], json!([]));
    let theirs = get(app, Some(&other), &Op::query(SAK).named("Sak").variables(json!({"id": id}))).await;
    let missing = get(app, Some(&other), &Op::query(SAK).named("Sak").variables(json!({"id": NO_SUCH_CASE}))).await;
    assert_eq!(theirs.data()["sak"], Value::Null);
    assert_eq!(theirs.body, missing.body, "someone else's case answers exactly like a case that does not exist");
}

async fn the_named_operation_of_a_document_runs_over_get(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);
    let document = "query Statuser { mineSaker { status } } query Ider { mineSaker { fiksDigisosId } }";
    for style in [Style::Urql, Style::Apollo] {
        let ider = get_with(&app.base, Some(&citizen), &Op::query(document).named("Ider"), style, &[]).await;
        assert_eq!(ider.data()["mineSaker"], json!([{"fiksDigisosId": id}]), "{style:?}");
        let statuser = get_with(&app.base, Some(&citizen), &Op::query(document).named("Statuser"), style, &[]).await;
        assert_eq!(statuser.data()["mineSaker"], json!([{"status": "SENDT"}]), "{style:?}");
    }
}

async fn a_mutation_over_get_is_405_allowing_post(app: &TestApp) {
    let citizen = app.citizen(FNR);
    let cases = [
        Op::query("mutation { gjorNoe }"),
        Op::query("mutation Endre { gjorNoe }").named("Endre"),
        Op::query("query Les { mineSaker { status } } mutation Endre { gjorNoe }").named("Endre"),
        Op::query("query Les { mineSaker { status } } mutation Endre { gjorNoe }"),
    ];
    for op in &cases {
        for style in [Style::Urql, Style::Apollo] {
            let refused = get_with(&app.base, Some(&citizen), op, style, &[]).await;
            refused.assert_refusal(405, "METHOD_NOT_ALLOWED");
            assert_eq!(refused.header("allow"), Some("POST"), "{op:?}");
        }
    }
    // The query of such a document, named, is not taken for a mutation.
    let op = Op::query("query Les { mineSaker { status } } mutation Endre { gjorNoe }").named("Les");
    let read = get(app, Some(&citizen), &op).await;
    assert_ne!(read.status, 405, "{}", read.body);
    assert!(read.header("allow").is_none());
}

async fn graphiql_only_for_a_browser_asking_for_html(app: &TestApp) {
    let url = format!("{}/graphql", app.base);
    let page = reqwest::Client::new()
        .get(&url)
        .header("accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
        .send()
        .await
        .expect("answers");
    assert_eq!(page.status().as_u16(), 200);
    let content_type = page.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let html = page.text().await.expect("text");
    assert!(html.to_lowercase().contains("graphiql"), "{html}");

    // Without a query and without asking for HTML: 400 in the GraphQL shape (also for reqwest's `*/*`).
    for accept in [Some(ACCEPT), Some("application/json"), None] {
        let mut request = reqwest::Client::new().get(&url);
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        answer(request.send().await.expect("answers")).await.assert_refusal(400, "BAD_REQUEST");
    }

    // A browser sending a query gets the answer, not the page.
    let op = Op::query("{ mineSaker { status } }");
    let url = format!("{url}?{}", op.query_string(Style::Urql));
    let response = reqwest::Client::new()
        .get(url)
        .header("accept", "text/html,*/*")
        .bearer_auth(app.citizen(FNR))
        .send()
        .await
        .expect("answers");
    assert_eq!(answer(response).await.data()["mineSaker"], json!([]));
}

// ---- Refusals without a valid token ----

async fn requests_without_a_valid_token_are_401_in_the_graphql_shape(app: &TestApp) {
    // A real token with its signature changed.
    let token = app.citizen(FNR);
    let (signed, signature) = token.rsplit_once('.').expect("a JWT");
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let garbled = format!("{signed}.{flipped}{}", &signature[1..]);
    let query = "{ mineSaker { status } }";
    let hash_only = Op { extensions: Op::default().persisted(&sha256(query)).extensions, ..Op::default() };
    let ops = [Op::query(query), Op::query("mutation { gjorNoe }"), hash_only];
    for (token, challenge) in [
        (None, r#"Bearer realm="digisos""#),
        (Some("not-a-token"), r#"Bearer realm="digisos", error="invalid_token""#),
        (Some(garbled.as_str()), r#"Bearer realm="digisos", error="invalid_token""#),
    ] {
        for op in &ops {
            for refused in [get(app, token, op).await, post(app, token, op).await] {
                refused.assert_refusal(401, "UNAUTHENTICATED");
                assert_eq!(refused.header("www-authenticate"), Some(challenge), "{token:?} {op:?}");
            }
        }
    }
}

// ---- Automatic persisted queries ----

async fn persisted_query_flow(app: &TestApp, over: Over) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);
    let query = "query Mine { mineSaker { fiksDigisosId status } }";
    let hash = sha256(query);
    // Apollo's first try: the hash alone (with operationName and empty variables).
    let hash_only = Op::default().named("Mine").variables(json!({})).persisted(&hash);

    let unknown = send(app, over, &citizen, &hash_only).await;
    assert_eq!(unknown.error_message(), "PersistedQueryNotFound", "{}", unknown.body);
    assert!(unknown.body["data"].is_null(), "{}", unknown.body);

    let registered = send(app, over, &citizen, &Op::query(query).named("Mine").persisted(&hash)).await;
    let expected = json!({"mineSaker": [{"fiksDigisosId": id, "status": "SENDT"}]});
    assert_eq!(registered.data(), &expected);

    let by_hash = send(app, over, &citizen, &hash_only).await;
    assert_eq!(by_hash.data(), &expected);
    // Kept for the other method too (one store), and in the other encoding.
    let other = match over {
        Over::Get => post(app, Some(&citizen), &hash_only).await,
        Over::Post => get_with(&app.base, Some(&citizen), &hash_only, Style::Apollo, &[]).await,
    };
    assert_eq!(other.data(), &expected);

    // The hash of another text with this query is refused.
    let wrong =
        send(app, over, &citizen, &Op::query(query).named("Mine").persisted(&sha256("{ mineSaker { status } }"))).await;
    assert!(wrong.body.get("errors").is_some(), "a wrong hash is an error: {}", wrong.body);
    assert!(wrong.body["data"].is_null(), "{}", wrong.body);
    let unknown_hash = Op::default().persisted(&sha256("query Unknown { mineSaker { status } }"));
    let still_unknown = send(app, over, &citizen, &unknown_hash).await;
    assert_eq!(still_unknown.error_message(), "PersistedQueryNotFound", "{}", still_unknown.body);
}

async fn persisted_queries_over_get(app: &TestApp) {
    persisted_query_flow(app, Over::Get).await;
}

async fn persisted_queries_over_post(app: &TestApp) {
    persisted_query_flow(app, Over::Post).await;
}

async fn each_persisted_query_keeps_its_own_document(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);
    let a = "{ mineSaker { status } }";
    let b = "{ mineSaker { fiksDigisosId } }";
    let c = "query Sak($id: String!) { sak(fiksDigisosId: $id) { navKontor } }";
    let expected_a = json!({"mineSaker": [{"status": "SENDT"}]});
    let expected_b = json!({"mineSaker": [{"fiksDigisosId": id}]});
    let expected_c = json!({"sak": {"navKontor": ENHET}});
    assert_eq!(get(app, Some(&citizen), &Op::query(a).persisted(&sha256(a))).await.data(), &expected_a);
    assert_eq!(post(app, Some(&citizen), &Op::query(b).persisted(&sha256(b))).await.data(), &expected_b);
    let with_id = |op: Op| op.variables(json!({"id": id}));
    assert_eq!(get(app, Some(&citizen), &with_id(Op::query(c).persisted(&sha256(c)))).await.data(), &expected_c);
    for over in [Over::Get, Over::Post] {
        let by_hash = |text: &str| Op::default().persisted(&sha256(text));
        assert_eq!(send(app, over, &citizen, &by_hash(a)).await.data(), &expected_a, "{over:?}");
        assert_eq!(send(app, over, &citizen, &by_hash(b)).await.data(), &expected_b, "{over:?}");
        assert_eq!(send(app, over, &citizen, &with_id(by_hash(c))).await.data(), &expected_c, "{over:?}");
        // The texts themselves, without the extension, answer as before.
        assert_eq!(send(app, over, &citizen, &Op::query(a)).await.data(), &expected_a, "{over:?}");
    }
}

fn aliased(count: usize) -> String {
    let aliases: String = (0..count).map(|i| format!("a{i}: mineSaker {{ status }} ")).collect();
    format!("{{ {aliases}}}")
}

async fn the_alias_limit_applies_to_persisted_queries(app: &TestApp) {
    let citizen = app.citizen(FNR);
    let max = fiks_digisos::graphql::MAX_ALIASES;
    for over in [Over::Get, Over::Post] {
        // One past the limit, with a different text per method (so each is registered afresh).
        let query = format!("{} # {over:?}", aliased(max + 1));
        let hash = sha256(&query);
        let refused = send(app, over, &citizen, &Op::query(&query).persisted(&hash)).await;
        assert!(refused.error_message().contains("aliases"), "{over:?}: {}", refused.body);
        assert!(refused.body["data"].is_null(), "{}", refused.body);
        let later = send(app, over, &citizen, &Op::default().persisted(&hash)).await;
        assert!(later.body["data"].is_null(), "{}", later.body);
        assert_eq!(
            later.error_message(),
            "PersistedQueryNotFound",
            "{over:?}: a refused document is not kept: {}",
            later.body
        );

        // At the limit: registered, and answered by its hash.
        let query = format!("{} # {over:?}", aliased(max));
        let hash = sha256(&query);
        let taken = send(app, over, &citizen, &Op::query(&query).persisted(&hash)).await;
        assert_eq!(taken.data()["a0"], json!([]), "{over:?}");
        let by_hash = send(app, over, &citizen, &Op::default().persisted(&hash)).await;
        assert_eq!(by_hash.data()[format!("a{}", max - 1)], json!([]), "{over:?}");
    }
}

// ---- Read-your-writes on GET ----

async fn the_min_position_header_works_on_get(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);
    let reply = update(app, &id, &fagsystem(app), &update_body(&[status("MOTTATT", "2018-10-04T13:37:00.134Z")])).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    let position = reply.position().to_string();
    let op = Op::query(SAK).named("Sak").variables(json!({"id": id}));

    // The command's position: answered once the read models have it.
    for style in [Style::Urql, Style::Apollo] {
        let sak = get_with(&app.base, Some(&citizen), &op, style, &[("x-digisos-min-position", &position)]).await;
        assert_eq!(sak.data()["sak"]["status"], "MOTTATT", "{style:?}");
    }

    // A malformed position: 400 in the GraphQL shape, as over POST.
    let bad = [("x-digisos-min-position", "yesterday")];
    get_with(&app.base, Some(&citizen), &op, Style::Urql, &bad).await.assert_refusal(400, "BAD_REQUEST");
    assert_eq!(post_with(app, Some(&citizen), &op, &bad).await.status, 400);

    // A position no read model will reach: the field fails with NOT_CAUGHT_UP (after the read side's wait).
    let future = [("x-digisos-min-position", "999999999999-0")];
    let unreachable = get_with(&app.base, Some(&citizen), &op, Style::Urql, &future).await;
    assert_eq!(unreachable.error_code(), "NOT_CAUGHT_UP", "{}", unreachable.body);
    assert!(unreachable.body["data"]["sak"].is_null(), "{}", unreachable.body);
}

async fn get_answers_are_not_cached_and_staff_and_head_are_refused(app: &TestApp) {
    let citizen = app.citizen(FNR);
    let read = get(app, Some(&citizen), &Op::query("{ mineSaker { status } }")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.header("cache-control"), Some("no-store"), "one person's data: never cached");
    // Nav staff name a person's number in their queries: over GET it would be in the URL, so only POST.
    let staff = app.nav_staff("Z990001");
    let op = Op::query("query($fnr: String!) { navSaker(fnr: $fnr, sporingsId: \"get-1\") { status } }")
        .variables(json!({"fnr": FNR}));
    let refused = get(app, Some(&staff), &op).await;
    refused.assert_refusal(405, "METHOD_NOT_ALLOWED");
    assert_eq!(refused.header("allow"), Some("POST"));
    assert!(!refused.body.to_string().contains(FNR), "{}", refused.body);
    assert!(app.events().await.iter().all(|e| !e.stream.starts_with("audit-")), "nothing was looked up");
    // HEAD runs no query (the GET handler answers HEAD; a staff field would be audited for a body never sent).
    let url = format!("{}/graphql?query=%7B%20mineSaker%20%7B%20status%20%7D%20%7D", app.base);
    let head = app.client().head(url).bearer_auth(&citizen).send().await.expect("answers");
    assert_eq!(head.status().as_u16(), 405);
}

on_both_backends!(
    get_answers_are_not_cached_and_staff_and_head_are_refused,
    a_citizen_reads_their_own_case_over_get,
    another_citizen_sees_nothing_of_it_over_get,
    the_named_operation_of_a_document_runs_over_get,
    a_mutation_over_get_is_405_allowing_post,
    graphiql_only_for_a_browser_asking_for_html,
    requests_without_a_valid_token_are_401_in_the_graphql_shape,
    persisted_queries_over_get,
    persisted_queries_over_post,
    each_persisted_query_keeps_its_own_document,
    the_alias_limit_applies_to_persisted_queries,
    the_min_position_header_works_on_get,
);

// ---- Outside development mode ----

#[tokio::test]
async fn graphiql_is_not_served_outside_development_mode() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("events.db").display());
    let database = Database::connect(&url).await.expect("open SQLite");
    database.migrate().await.expect("migrate");
    let auth = AuthConfig { issuers: "[]".into(), dev_mode: false };
    let auth = Arc::new(fiks_digisos::auth::Authenticator::from_config(&auth, dir.path()).expect("authenticator"));
    assert!(auth.dev_issuer().is_none(), "not development mode");
    let state = AppState {
        store: database.event_store(),
        auth,
        documents: DocumentStore::in_memory(1024 * 1024),
        upload_limits: UploadLimits::default(),
        kryptering: fiks_digisos::kryptering::Kryptering::generated(true).expect("a key pair"),
        fiks_io: None,
    };
    let app = fiks_digisos::app::app(state, &HttpLimits::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let page = reqwest::Client::new()
        .get(format!("{base}/graphql"))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("answers");
    answer(page).await.assert_refusal(400, "BAD_REQUEST");
    let query = get_with(&base, None, &Op::query("{ mineSaker { status } }"), Style::Urql, &[]).await;
    query.assert_refusal(401, "UNAUTHENTICATED");
    assert_eq!(query.header("www-authenticate"), Some(r#"Bearer realm="digisos""#));

    server.abort();
    let _ = server.await;
    database.close().await;
}
