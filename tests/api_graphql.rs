//! The GraphQL API end to end, over real HTTP and WebSocket, on SQLite and PostgreSQL: a citizen follows their
//! case through a full flow (queries with read-your-writes, and the live subscription), another citizen sees
//! nothing of it, Nav support sees the reduced view and the citizen then sees that lookup, a fagsystem sees only
//! its own kommune's cases, and no root field answers a caller outside its audience.

mod api_support;
mod fagsystem_support;
mod graphql_support;

use std::time::Duration;

use api_support::*;
use fagsystem_support::*;
use fiks_digisos::auth::dev_issuer::DevRole;
use graphql_support::*;
use serde_json::{Value, json};

const STAFF: &str = "Z990001";

const MINE_SAKER: &str = "{ mineSaker { fiksDigisosId kommunenummer status papirsoknad navKontor
    soknadPdf { url } dokumenter { filnavn url kilde } leveranser { type status } } }";

const SAK: &str = "query($id: String!) { sak(fiksDigisosId: $id) {
    fiksDigisosId status navKontor
    historikk { tidspunkt type tekst dokument { url } }
    saker { referanse tittel status vedtak { utfall vedtaksbrev { url } } }
    oppgaver { dokumenttype tilleggsinformasjon innsendelsesfrist erLevert fraSoknad }
    utbetalinger { referanse status belop kontonummer annenMottaker }
    dokumenter { filnavn url }
    leveranser { status arsak }
} }";

const SAK_OPPDATERT: &str =
    "subscription($id: String!) { sakOppdatert(fiksDigisosId: $id) { fiksDigisosId status saker { status } } }";

fn oppgave() -> Value {
    json!({
        "type": "dokumentasjonEtterspurt", "hendelsestidspunkt": "2018-10-11T13:37:00.134Z",
        "dokumenter": [{"dokumenttype": "Strømfaktura", "tilleggsinformasjon": "For periode 01.01 til 01.02",
                        "innsendelsesfrist": "2018-10-20T07:37:00.134Z"}]
    })
}

fn utbetaling() -> Value {
    json!({
        "type": "utbetaling", "hendelsestidspunkt": "2018-10-13T13:37:00.134Z", "utbetalingsreferanse": "U1",
        "saksreferanse": "SAK1", "status": "UTBETALT", "belop": 5000.5, "utbetalingsdato": "2018-10-14",
        "annenMottaker": false, "kontonummer": "12345678903", "mottaker": "Søkeren"
    })
}

fn saks_status() -> Value {
    json!({"type": "saksStatus", "hendelsestidspunkt": "2018-10-08T13:37:00.134Z", "referanse": "SAK1",
           "tittel": "Nødhjelp", "status": "UNDER_BEHANDLING"})
}

/// Posts the complete history so far (every update carries all hendelser) and returns the command's position.
async fn publish(app: &TestApp, id: &str, hendelser: &[Value]) -> fiks_digisos::eventstore::Position {
    let reply = update(app, id, &fagsystem(app), &update_body(hendelser)).await;
    assert_eq!(reply.status, 202, "{:?}", reply.body);
    reply.position()
}

async fn citizen_follows_the_case_through_each_update(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let citizen = app.citizen(FNR);

    let mine = gql(app, Some(&citizen), MINE_SAKER, json!({}), None).await;
    let saker = mine.data()["mineSaker"].as_array().expect("a list").clone();
    assert_eq!(saker.len(), 1, "{saker:?}");
    assert_eq!(saker[0]["fiksDigisosId"], id.as_str());
    assert_eq!(saker[0]["status"], "SENDT", "before the first update the søknad is SENDT");
    assert_eq!(saker[0]["navKontor"], ENHET);
    assert!(saker[0]["soknadPdf"]["url"].as_str().is_some_and(|u| u.contains("/dokumentlager/nedlasting/")));
    assert!(!saker[0]["dokumenter"].as_array().expect("documents").is_empty());
    assert_eq!(saker[0]["leveranser"][0]["status"], "SENDT");

    let (ack, mut live) = Subscriber::connect(app, &citizen).await;
    assert_eq!(ack, "connection_ack");
    live.subscribe("1", SAK_OPPDATERT, json!({"id": id})).await;
    let first = live.until(|_| true).await;
    assert_eq!(first["sakOppdatert"]["status"], "SENDT", "the subscription starts with the case as it is");

    let steps: Vec<(Vec<Value>, &str)> = vec![
        (vec![status("MOTTATT", "2018-10-04T13:37:00.134Z")], "MOTTATT"),
        (
            vec![status("MOTTATT", "2018-10-04T13:37:00.134Z"), status("UNDER_BEHANDLING", "2018-10-08T13:37:00.134Z")],
            "UNDER_BEHANDLING",
        ),
    ];
    for (hendelser, expected) in &steps {
        let position = publish(app, &id, hendelser).await;
        let sak = gql(app, Some(&citizen), SAK, json!({"id": id}), Some(position)).await;
        assert_eq!(sak.data()["sak"]["status"], *expected);
        let seen = live.until(|d| d["sakOppdatert"]["status"] == *expected).await;
        assert_eq!(seen["sakOppdatert"]["fiksDigisosId"], id.as_str());
    }

    // A request for documents: an open task, not yet answered.
    let mut history = steps[1].0.clone();
    history.push(saks_status());
    history.push(oppgave());
    let position = publish(app, &id, &history).await;
    let sak = gql(app, Some(&citizen), SAK, json!({"id": id}), Some(position)).await;
    let oppgaver = &sak.data()["sak"]["oppgaver"];
    assert_eq!(oppgaver[0]["dokumenttype"], "Strømfaktura");
    assert_eq!(oppgaver[0]["erLevert"], false);
    assert_eq!(oppgaver[0]["fraSoknad"], false);
    assert_eq!(sak.data()["sak"]["saker"][0]["tittel"], "Nødhjelp");

    // The vedtak, with its PDF uploaded first, and the søknad done.
    let uploaded = upload(app, &id, &[("vedtak.pdf", file_bytes(700, 7))]).await;
    assert_eq!(uploaded.status, 200, "{:?}", uploaded.body);
    let vedtak_id = uploaded.body[0]["dokumentlagerDokumentId"].as_str().expect("id").to_owned();
    history.push(vedtak(&vedtak_id));
    history.push(status("FERDIGBEHANDLET", "2018-10-12T13:38:00.134Z"));
    history.push(utbetaling());
    let position = publish(app, &id, &history).await;
    let sak = gql(app, Some(&citizen), SAK, json!({"id": id}), Some(position)).await;
    let sak = sak.data()["sak"].clone();
    assert_eq!(sak["status"], "FERDIGBEHANDLET");
    assert_eq!(sak["saker"][0]["status"], "FERDIGBEHANDLET");
    assert_eq!(sak["saker"][0]["vedtak"][0]["utfall"], "INNVILGET");
    let url = sak["saker"][0]["vedtak"][0]["vedtaksbrev"]["url"].as_str().expect("a link to the vedtak").to_owned();
    assert_eq!(sak["utbetalinger"][0]["belop"], 5000.5);
    assert_eq!(sak["utbetalinger"][0]["kontonummer"], "12345678903", "paid to the applicant: the account is shown");
    // The download reads the document index (the `mottak` model), which the GraphQL answer did not wait for.
    app.caught_up(position).await;
    let (status_code, _, bytes) = download(app, &url, &citizen).await;
    assert_eq!(status_code, 200, "the citizen downloads the vedtak through its link");
    assert_eq!(bytes, file_bytes(700, 7));
    let seen = live.until(|d| d["sakOppdatert"]["status"] == "FERDIGBEHANDLET").await;
    assert_eq!(seen["sakOppdatert"]["saker"][0]["status"], "FERDIGBEHANDLET");
}

async fn another_citizen_sees_nothing_of_it(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let other = app.citizen(OTHER_FNR);
    let mine = gql(app, Some(&other), MINE_SAKER, json!({}), None).await;
    assert_eq!(mine.data()["mineSaker"], json!([]));
    let theirs = gql(app, Some(&other), SAK, json!({"id": id}), None).await;
    let missing = gql(app, Some(&other), SAK, json!({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}), None).await;
    assert_eq!(theirs.data()["sak"], Value::Null);
    assert_eq!(theirs.body, missing.body, "someone else's case answers exactly like a case that does not exist");

    let (ack, mut live) = Subscriber::connect(app, &other).await;
    assert_eq!(ack, "connection_ack");
    live.subscribe("1", SAK_OPPDATERT, json!({"id": id})).await;
    let refused = live.next().await.expect("an answer");
    assert_eq!(subscription_error(&refused), "NOT_FOUND", "{refused}");
}

async fn staff_see_the_reduced_view_and_the_citizen_sees_the_lookup(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    let position = publish(app, &id, &[status("MOTTATT", "2018-10-04T13:37:00.134Z"), utbetaling()]).await;
    app.caught_up(position).await;
    let staff = app.nav_staff(STAFF);
    let list = gql(
        app,
        Some(&staff),
        "query($fnr: String!) { navSaker(fnr: $fnr, sporingsId: \"trace-1\") {
            fiksDigisosId status kommunenummer navKontor utbetalinger { kontonummer belop } vedlegg { type antallFiler } } }",
        json!({"fnr": FNR}),
        None,
    )
    .await;
    let saker = list.data()["navSaker"].as_array().expect("a list").clone();
    assert_eq!(saker.len(), 1);
    assert_eq!(saker[0]["status"], "MOTTATT");
    assert_eq!(saker[0]["utbetalinger"][0]["kontonummer"], "12345678903");
    let one = gql(
        app,
        Some(&staff),
        "query($id: String!) { navSak(fiksDigisosId: $id, sporingsId: \"trace-2\") { fiksDigisosId status } }",
        json!({"id": id}),
        None,
    )
    .await;
    assert_eq!(one.data()["navSak"]["fiksDigisosId"], id.as_str());

    // The staff view has no document links or file names at all: such a field does not exist on it.
    let links = gql(
        app,
        Some(&staff),
        "query($id: String!) { navSak(fiksDigisosId: $id, sporingsId: \"t\") { dokumenter { url } } }",
        json!({"id": id}),
        None,
    )
    .await;
    assert!(links.error_message().contains("dokumenter"), "{:?}", links.body);
    let sdl = fiks_digisos::graphql::sdl();
    let nav_types: Vec<&str> =
        sdl.split("\ntype ").filter(|t| t.starts_with("Nav")).filter_map(|t| t.split("\n}").next()).collect();
    assert!(!nav_types.is_empty());
    for t in nav_types {
        assert!(!t.contains("url") && !t.contains("filnavn"), "a staff type exposes a link or a file name: {t}");
    }

    // The lookups were recorded before the data was returned; the citizen sees them.
    let audit = app.stream_events(&format!("audit-{STAFF}")).await;
    assert_eq!(audit.len(), 2, "one record per lookup");
    let last = audit.last().expect("a record").position;
    let logg = gql(
        app,
        Some(&app.citizen(FNR)),
        "{ innsynslogg { navIdent enhet hva innsynGitt tidspunkt } }",
        json!({}),
        Some(last),
    )
    .await;
    let rows = logg.data()["innsynslogg"].as_array().expect("a list").clone();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0]["navIdent"], STAFF);
    assert_eq!(rows[0]["hva"], format!("navSak {id}"), "newest first");
    assert_eq!(rows[1]["hva"], "navSaker");
    assert_eq!(rows[0]["innsynGitt"], true);
    let other = gql(app, Some(&app.citizen(OTHER_FNR)), "{ innsynslogg { navIdent } }", json!({}), Some(last)).await;
    assert_eq!(other.data()["innsynslogg"], json!([]), "another citizen's log is theirs alone");
}

async fn a_fagsystem_sees_only_its_kommune(app: &TestApp) {
    kommuner(app).await;
    let ours = submitted(app, REF).await;
    let second = submitted(app, "8c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5f").await;
    let reply = app
        .send(
            reqwest::Method::POST,
            &format!("/{OTHER_FIKS_ORG_ID}/ny?sokerFnr={OTHER_FNR}"),
            Some(&other_fagsystem(app)),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let theirs = reply.body.as_str().expect("id").to_owned();
    let position = reply.position();
    let query = "query($after: String) { kommuneSaker(first: 1, after: $after) {
        saker { fiksDigisosId kommunenummer innsyn { status } kommune { kommunenummer harNksTilgang } }
        sluttMarkor harFlere } }";
    let page1 = gql(app, Some(&fagsystem(app)), query, json!({}), Some(position)).await;
    let page1 = page1.data()["kommuneSaker"].clone();
    assert_eq!(page1["saker"][0]["fiksDigisosId"], second.as_str(), "newest case first");
    assert_eq!(page1["saker"][0]["kommune"]["kommunenummer"], KOMMUNE);
    assert_eq!(page1["harFlere"], true);
    let page2 = gql(app, Some(&fagsystem(app)), query, json!({"after": page1["sluttMarkor"]}), None).await;
    let page2 = page2.data()["kommuneSaker"].clone();
    assert_eq!(page2["saker"][0]["fiksDigisosId"], ours.as_str());
    assert_eq!(page2["harFlere"], false);
    let other = gql(app, Some(&other_fagsystem(app)), query, json!({}), Some(position)).await;
    let other = other.data()["kommuneSaker"].clone();
    assert_eq!(other["saker"].as_array().map(Vec::len), Some(1));
    assert_eq!(other["saker"][0]["fiksDigisosId"], theirs.as_str());
    assert_eq!(other["saker"][0]["kommunenummer"], OTHER_KOMMUNE);
}

/// The error code of a refused subscription: async-graphql answers a resolver's refusal as a `next` message with
/// errors (a protocol-level `error` message carries them in `payload` directly).
fn subscription_error(message: &Value) -> String {
    let errors = match message["type"].as_str() {
        Some("next") => &message["payload"]["errors"],
        _ => &message["payload"],
    };
    assert!(message["payload"]["data"].is_null() || message["payload"]["data"]["sakOppdatert"].is_null(), "{message}");
    errors[0]["extensions"]["code"].as_str().unwrap_or_default().to_owned()
}

/// One query per root field, and the caller kinds it is for.
fn root_fields() -> Vec<(&'static str, &'static str, &'static [&'static str])> {
    vec![
        ("mineSaker", "{ mineSaker { status } }", &["citizen"]),
        ("sak", "{ sak(fiksDigisosId: \"3fa85f64-5717-4562-b3fc-2c963f66afa6\") { status } }", &["citizen"]),
        ("innsynslogg", "{ innsynslogg { hva } }", &["citizen"]),
        ("nySoknadUtkast", "{ nySoknadUtkast(kommunenummer: \"0301\") { soknadstype } }", &["citizen"]),
        ("navSaker", "{ navSaker(fnr: \"01017012343\", sporingsId: \"t\") { status } }", &["nav-staff"]),
        (
            "navSak",
            "{ navSak(fiksDigisosId: \"3fa85f64-5717-4562-b3fc-2c963f66afa6\", sporingsId: \"t\") { status } }",
            &["nav-staff"],
        ),
        ("kommuneSaker", "{ kommuneSaker { harFlere } }", &["fagsystem"]),
    ]
}

async fn no_root_field_answers_another_audience(app: &TestApp) {
    kommuner(app).await;
    let callers = [
        ("citizen", app.citizen(FNR)),
        ("nav-staff", app.nav_staff(STAFF)),
        ("nav-system", app.nav_system()),
        ("fagsystem", fagsystem(app)),
        ("admin", app.admin()),
    ];
    let sdl = fiks_digisos::graphql::sdl();
    let query_type = sdl.split("type Query {").nth(1).and_then(|t| t.split("\n}").next()).expect("a Query type");
    for (field, query, allowed) in root_fields() {
        assert!(query_type.contains(&format!("\t{field}")), "{field} is not a root field");
        for (kind, token) in &callers {
            let reply = gql(app, Some(token), query, json!({}), None).await;
            if allowed.contains(kind) {
                assert!(reply.body.get("errors").is_none(), "{kind} may use {field}: {}", reply.body);
            } else {
                assert_eq!(reply.error_code(), "FORBIDDEN", "{kind} must not use {field}: {}", reply.body);
                assert!(reply.body["data"].is_null() || reply.body["data"][field].is_null(), "{}", reply.body);
            }
        }
        let anonymous = gql(app, None, query, json!({}), None).await;
        assert_eq!(anonymous.status, 401, "{field} without a token");
    }
    // Every root field of the schema is in the table above: a new field must be given its audience.
    let mut in_description = false;
    let mut fields = Vec::new();
    for line in query_type.lines().map(str::trim) {
        if line.starts_with("\"\"\"") {
            // A one-line description opens and closes on the same line.
            in_description = !(in_description || (line.len() > 3 && line.ends_with("\"\"\"")));
            continue;
        }
        if !in_description && !line.is_empty() {
            fields.push(line.split(['(', ':']).next().unwrap_or_default());
        }
    }
    let listed: Vec<&str> = root_fields().iter().map(|(f, _, _)| *f).collect();
    for field in fields {
        assert!(listed.contains(&field), "root field {field} has no row in the audience table");
    }
    let (ack, mut live) = Subscriber::connect(app, &app.nav_staff(STAFF)).await;
    assert_eq!(ack, "connection_ack");
    live.subscribe("1", SAK_OPPDATERT, json!({"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"})).await;
    let refused = live.next().await.expect("an answer");
    assert_eq!(subscription_error(&refused), "FORBIDDEN", "staff may not subscribe to a citizen's case: {refused}");
}

async fn limits_refuse_abusive_queries(app: &TestApp) {
    let citizen = app.citizen(FNR);
    let huge = gql(app, Some(&citizen), "{ mineSaker(first: 1000) { status } }", json!({}), None).await;
    assert!(huge.error_message().contains("less than or equal to 100"), "{:?}", huge.body);
    let aliases: String = (0..31).map(|i| format!("a{i}: mineSaker {{ status }} ")).collect();
    let aliased = gql(app, Some(&citizen), &format!("{{ {aliases} }}"), json!({}), None).await;
    assert!(aliased.error_message().contains("aliases"), "{:?}", aliased.body);
    let mut nested = "name".to_owned();
    for _ in 0..14 {
        nested = format!("ofType {{ {nested} }}");
    }
    let deep = format!("{{ __schema {{ types {{ fields {{ type {{ {nested} }} }} }} }} }}");
    let deep = gql(app, Some(&citizen), &deep, json!({}), None).await;
    assert!(deep.error_message().to_lowercase().contains("nested too deep"), "{:?}", deep.body);
    let cycle = gql(
        app,
        Some(&citizen),
        "query { mineSaker { ...A } } fragment A on InnsynSak { status ...B } fragment B on InnsynSak { ...A }",
        json!({}),
        None,
    )
    .await;
    assert!(cycle.body.get("errors").is_some(), "a fragment cycle is refused: {:?}", cycle.body);
    let padding = "x".repeat(fiks_digisos::graphql::MAX_BODY_BYTES);
    let big = gql(app, Some(&citizen), &format!("{{ mineSaker {{ status }} }} # {padding}"), json!({}), None).await;
    assert_eq!(big.status, 413);
    let bad = app
        .client()
        .post(format!("{}/graphql", app.base))
        .bearer_auth(&citizen)
        .header("x-digisos-min-position", "yesterday")
        .json(&json!({"query": "{ mineSaker { status } }"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(bad.status().as_u16(), 400, "a malformed position is refused");
}

async fn the_socket_closes_when_the_token_expires(app: &TestApp) {
    let token = app.token_valid_for(DevRole::Citizen(FNR.parse().expect("fnr")), Duration::from_secs(2));
    let (ack, mut live) = Subscriber::connect(app, &token).await;
    assert_eq!(ack, "connection_ack");
    assert_eq!(live.next().await, None, "the server closes the socket once the token has expired");
    let (refused, _) = Subscriber::connect(app, "not-a-token").await;
    assert_ne!(refused, "connection_ack", "a bad token is refused at connection_init");
}

async fn a_new_soknad_is_prefilled_from_the_latest_one(app: &TestApp) {
    kommuner(app).await;
    let citizen = app.citizen(FNR);
    let query = "{ nySoknadUtkast(kommunenummer: \"0301\") { kommunenummer soknadstype basertPaFiksDigisosId
        utkast { personalia { navn { fornavn etternavn fraTidligereSoknad } } } } }";
    let none = gql(app, Some(&citizen), query, json!({}), None).await;
    assert_eq!(none.data()["nySoknadUtkast"]["utkast"], Value::Null, "no earlier søknad, nothing to take from");
    assert_eq!(none.data()["nySoknadUtkast"]["soknadstype"], "STANDARD");

    let id = submitted(app, REF).await;
    let soknad = soknad_json(FNR);
    let draft = gql(app, Some(&citizen), query, json!({}), None).await;
    let draft = draft.data()["nySoknadUtkast"].clone();
    assert_eq!(draft["basertPaFiksDigisosId"], id.as_str());
    assert_eq!(draft["soknadstype"], "STANDARD", "no payment yet: the standard søknad");
    let navn = &draft["utkast"]["personalia"]["navn"];
    assert_eq!(navn["fornavn"], soknad["data"]["personalia"]["navn"]["fornavn"]);
    assert_eq!(navn["etternavn"], soknad["data"]["personalia"]["navn"]["etternavn"]);
    assert_eq!(navn["fraTidligereSoknad"], true);

    // A payment made ten days ago makes the next søknad in the same kommune a short one.
    let paid = (chrono::Utc::now() - chrono::Duration::days(10)).format("%Y-%m-%d").to_string();
    let mut payment = utbetaling();
    payment["utbetalingsdato"] = json!(paid);
    let position = publish(app, &id, &[status("MOTTATT", "2018-10-04T13:37:00.134Z"), payment]).await;
    let kort = gql(app, Some(&citizen), query, json!({}), Some(position)).await;
    assert_eq!(kort.data()["nySoknadUtkast"]["soknadstype"], "KORT");
    let elsewhere = gql(app, Some(&citizen), &query.replace("0301", "4601"), json!({}), None).await;
    assert_eq!(elsewhere.data()["nySoknadUtkast"]["soknadstype"], "STANDARD", "the rule is per kommune");
    let bad = gql(app, Some(&citizen), &query.replace("0301", "03x1"), json!({}), None).await;
    assert_eq!(bad.error_code(), "BAD_USER_INPUT");
}

type InnsynRow = (String, Option<String>, Option<String>, i64, i64, i64, i64, i64, i64, String, Option<String>);

async fn innsyn_rows(app: &TestApp, version: i32) -> Vec<InnsynRow> {
    const SQL: &str = "SELECT fiks_digisos_id, soker_fnr, kommunenummer, sist_endret_ms, revision, opprettet_commit,
        opprettet_prepare, pos_commit, pos_prepare, state, view FROM innsyn_sak WHERE version = $1
        ORDER BY fiks_digisos_id";
    match &app.read_side.db {
        digisos_projections::ReadDb::Postgres(pool) => sqlx::query_as(SQL).bind(version).fetch_all(pool).await,
        digisos_projections::ReadDb::Sqlite(pool) => sqlx::query_as(SQL).bind(version).fetch_all(pool).await,
    }
    .expect("read innsyn_sak")
}

async fn rebuilding_innsyn_keeps_answers_and_equals_the_live_model(app: &TestApp) {
    kommuner(app).await;
    let id = submitted(app, REF).await;
    submitted(app, "8c9d2b1e-3f4a-4b5c-8d6e-0f1a2b3c4d5f").await;
    let position =
        publish(app, &id, &[status("MOTTATT", "2018-10-04T13:37:00.134Z"), saks_status(), oppgave(), utbetaling()])
            .await;
    app.caught_up(position).await;
    let citizen = app.citizen(FNR);
    let before = gql(app, Some(&citizen), SAK, json!({"id": id}), None).await.data().clone();
    let live_rows = innsyn_rows(app, 1).await;
    assert_eq!(live_rows.len(), 2);

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (base, client, citizen, id, expected, stop) =
            (app.base.clone(), app.client().clone(), citizen.clone(), id.clone(), before.clone(), stop.clone());
        tokio::spawn(async move {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || reads == 0 {
                let body: Value = client
                    .post(format!("{base}/graphql"))
                    .bearer_auth(&citizen)
                    .json(&json!({"query": SAK, "variables": {"id": id}}))
                    .send()
                    .await
                    .expect("answers")
                    .json()
                    .await
                    .expect("JSON");
                assert_eq!(body["data"], expected, "a read during the rebuild saw something else");
                reads += 1;
            }
            reads
        })
    };
    let version = app
        .read_side
        .runner
        .rebuild(digisos_projections::saker::INNSYN, Some(Duration::from_secs(30)))
        .await
        .expect("the rebuild finishes");
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.await.expect("the reader") >= 1);
    assert_eq!(version, 2);
    assert_eq!(innsyn_rows(app, 2).await, live_rows, "the rebuilt model equals the live one row for row");
    let after = gql(app, Some(&citizen), SAK, json!({"id": id}), None).await;
    assert_eq!(after.data(), &before);
}

async fn graphiql_is_served_in_development_mode(app: &TestApp) {
    // A browser asks for HTML; without a query string that is the page (a client's GET carries a query).
    let page =
        app.client().get(format!("{}/graphql", app.base)).header("accept", "text/html").send().await.expect("answers");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("text");
    assert!(html.to_lowercase().contains("graphiql"), "{html}");
}

on_both_backends!(
    rebuilding_innsyn_keeps_answers_and_equals_the_live_model,
    a_new_soknad_is_prefilled_from_the_latest_one,
    graphiql_is_served_in_development_mode,
    citizen_follows_the_case_through_each_update,
    another_citizen_sees_nothing_of_it,
    staff_see_the_reduced_view_and_the_citizen_sees_the_lookup,
    a_fagsystem_sees_only_its_kommune,
    no_root_field_answers_another_audience,
    limits_refuse_abusive_queries,
    the_socket_closes_when_the_token_expires,
);

#[test]
fn the_committed_sdl_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/schema.graphql"))
        .expect("schema/schema.graphql is committed");
    assert!(
        committed == fiks_digisos::graphql::sdl(),
        "schema/schema.graphql differs from the code; regenerate it with \
         `cargo run -- graphql-schema > schema/schema.graphql` and review the change"
    );
}

#[tokio::test]
async fn introspection_is_off_outside_development_mode() {
    let query = "{ __schema { queryType { name } } }";
    let production = fiks_digisos::graphql::schema(false).execute(query).await;
    let data = serde_json::to_value(&production.data).expect("JSON");
    assert!(data["__schema"].is_null(), "introspection must answer nothing in production: {data}");
    let dev = fiks_digisos::graphql::schema(true).execute(query).await;
    assert!(dev.errors.is_empty(), "{:?}", dev.errors);
    assert_eq!(serde_json::to_value(&dev.data).expect("JSON")["__schema"]["queryType"]["name"], "Query");
}
