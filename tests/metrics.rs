//! `/internal/metrics` (issue 6 item 4) on SQLite and on PostgreSQL: after a submitted søknad the scrape shows
//! the request counted under its route template, the appends, a lag gauge per projection and the delivery
//! waiting in the kommune's mailbox, which leaves the gauge once the fagsystem confirms it. No label carries an
//! id or a personal number. GraphQL is counted per root field (by name, never by alias, ok or error), and the
//! audit trail's appends beside the commands'.
//!
//! The request and append counters are process-wide (as Prometheus counters are), and the tests of this file
//! share a process: they assert "at least", never an exact count, for those.

mod api_support;
mod fagsystem_support;
mod graphql_support;

use api_support::*;
use fagsystem_support::*;
use graphql_support::*;
use reqwest::Method;
use serde_json::json;

const SUBMIT_ROUTE: &str = "/digisos/api/v1/soknader/{kommunenummer}/{navEksternRefId}";

/// Scrapes the app: the exposition's content type and text.
async fn scrape(app: &TestApp) -> (String, String) {
    let response = app.client().get(format!("{}/internal/metrics", app.base)).send().await.expect("scrape");
    assert_eq!(response.status().as_u16(), 200, "no token is needed for /internal/metrics");
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (content_type, response.text().await.expect("text"))
}

/// The value of the sample whose name and labels are exactly `series` (`name{a="b"}`), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scrape_counts_requests_by_route_appends_lag_and_waiting_deliveries(app: &TestApp) {
    kommuner(app).await;
    let sak = submitted(app, REF).await;
    // A path no route matches, with a personal number in it: counted as "unmatched", the path never shown.
    let stray = app.client().get(format!("{}/no-such-thing/{FNR}", app.base)).send().await.expect("answer");
    assert_eq!(stray.status().as_u16(), 404);

    let (content_type, text) = scrape(app).await;
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");

    let submit = format!("digisos_http_requests_total{{method=\"POST\",route=\"{SUBMIT_ROUTE}\",status=\"202\"}}");
    assert!(sample(&text, &submit).is_some_and(|n| n >= 1.0), "no {submit} in\n{text}");
    let latency = format!(
        "digisos_http_request_duration_seconds_count{{method=\"POST\",route=\"{SUBMIT_ROUTE}\",status=\"202\"}}"
    );
    assert!(sample(&text, &latency).is_some_and(|n| n >= 1.0), "no {latency} in\n{text}");
    let unmatched = "digisos_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"}";
    assert!(sample(&text, unmatched).is_some_and(|n| n >= 1.0), "no {unmatched} in\n{text}");
    for secret in [FNR, sak.as_str(), REF] {
        assert!(!text.contains(secret), "the scrape shows {secret}:\n{text}");
    }

    let sak_appends = "digisos_eventstore_appends_total{aggregate=\"sak\",outcome=\"ok\"}";
    assert!(sample(&text, sak_appends).is_some_and(|n| n >= 1.0), "no {sak_appends} in\n{text}");
    let kommune_appends = "digisos_eventstore_appends_total{aggregate=\"kommune\",outcome=\"ok\"}";
    assert!(sample(&text, kommune_appends).is_some_and(|n| n >= 2.0), "no {kommune_appends} in\n{text}");
    let append_latency = "digisos_eventstore_append_duration_seconds_count{aggregate=\"sak\",outcome=\"ok\"}";
    assert!(sample(&text, append_latency).is_some_and(|n| n >= 1.0), "no {append_latency} in\n{text}");

    for lag in app.read_side.runner.lag_report().await {
        let version = lag.version.expect("every projection has run");
        let labels = format!("{{projection=\"{}\",version=\"{version}\",status=\"active\"}}", lag.name);
        for gauge in ["digisos_projection_events_behind", "digisos_projection_seconds_behind"] {
            let series = format!("{gauge}{labels}");
            assert!(sample(&text, &series).is_some(), "no {series} in\n{text}");
        }
    }

    assert_eq!(sample(&text, "digisos_deliveries_waiting{kommunenummer=\"0301\"}"), Some(1.0), "{text}");
    assert!(!text.contains(&format!("digisos_deliveries_waiting{{kommunenummer=\"{OTHER_KOMMUNE}\"}}")), "{text}");

    // The fagsystem confirms the delivery: the mailbox, and so the gauge, is empty again.
    let delivery = mailbox(app).await[0]["leveranseId"].as_str().expect("leveranseId").to_owned();
    let path = format!("/{FIKS_ORG_ID}/mottak/{delivery}/kvittering");
    let receipt = app.send(Method::POST, &path, Some(&fagsystem(app)), None).await;
    assert_eq!(receipt.status, 204, "{:?}", receipt.body);
    app.caught_up(receipt.position()).await;
    let (_, text) = scrape(app).await;
    assert_eq!(sample(&text, "digisos_deliveries_waiting{kommunenummer=\"0301\"}"), None, "{text}");
    let receipt_route = "/digisos/api/v1/{fiksOrgId}/mottak/{leveranseId}/kvittering";
    let receipts = format!("digisos_http_requests_total{{method=\"POST\",route=\"{receipt_route}\",status=\"204\"}}");
    assert!(sample(&text, &receipts).is_some_and(|n| n >= 1.0), "no {receipts} in\n{text}");
    assert!(!text.contains(&delivery), "the scrape shows a delivery id:\n{text}");
}

async fn graphql_root_fields_and_the_audit_trails_appends_are_counted(app: &TestApp) {
    kommuner(app).await;
    let sak = submitted(app, REF).await;
    let citizen = app.citizen(FNR);
    let (_, before) = scrape(app).await;
    let ok = "digisos_graphql_fields_total{field=\"mineSaker\",outcome=\"ok\"}";
    let refused = "digisos_graphql_fields_total{field=\"navSaker\",outcome=\"error\"}";
    let looked_up = "digisos_graphql_fields_total{field=\"navSak\",outcome=\"ok\"}";
    let audit = "digisos_eventstore_appends_total{aggregate=\"tilgangslogg\",outcome=\"ok\"}";
    let count = |text: &str, series: &str| sample(text, series).unwrap_or(0.0);

    // Two root fields in one document, one of them under an alias: each counted once, by its name.
    let mine =
        gql(app, Some(&citizen), "{ mineSaker { fiksDigisosId } mine: mineSaker { status } }", json!({}), None).await;
    assert!(mine.data()["mine"][0]["status"].is_string(), "{:?}", mine.data());
    assert_eq!(mine.data()["mineSaker"][0]["fiksDigisosId"], sak.as_str(), "{:?}", mine.data());
    // A citizen asking Nav support's root field is refused: an error of that field.
    let query = "query($fnr: String!) { navSaker(fnr: $fnr, sporingsId: \"t-1\") { fiksDigisosId } }";
    let denied = gql(app, Some(&citizen), query, json!({"fnr": FNR}), None).await;
    assert_eq!(denied.error_code(), "FORBIDDEN", "{:?}", denied.body);
    assert!(denied.body["data"]["navSaker"].is_null(), "{:?}", denied.body);
    // Nav staff look the case up: the lookup is recorded in the audit trail, an append of its own.
    let staff = app.nav_staff("Z990001");
    let query = "query($id: String!) { navSak(fiksDigisosId: $id, sporingsId: \"t-2\") { fiksDigisosId } }";
    let lookup = gql(app, Some(&staff), query, json!({"id": sak}), None).await;
    assert_eq!(lookup.data()["navSak"]["fiksDigisosId"], sak.as_str(), "{:?}", lookup.data());

    let (_, after) = scrape(app).await;
    assert!(count(&after, ok) >= count(&before, ok) + 2.0, "{ok} did not count both fields:\n{after}");
    assert!(count(&after, refused) >= count(&before, refused) + 1.0, "no {refused} in\n{after}");
    assert!(count(&after, looked_up) >= count(&before, looked_up) + 1.0, "no {looked_up} in\n{after}");
    assert!(count(&after, audit) >= count(&before, audit) + 1.0, "no {audit} in\n{after}");
    assert!(!after.contains("field=\"mine\""), "an alias became a label:\n{after}");
    let latency = "digisos_graphql_field_duration_seconds_bucket{field=\"navSak\",outcome=\"ok\",le=\"+Inf\"}";
    assert!(sample(&after, latency).is_some_and(|n| n >= 1.0), "no {latency} in\n{after}");
    for secret in [FNR, sak.as_str(), "Z990001"] {
        assert!(!after.contains(secret), "the scrape shows {secret}:\n{after}");
    }
}

on_both_backends!(
    scrape_counts_requests_by_route_appends_lag_and_waiting_deliveries,
    graphql_root_fields_and_the_audit_trails_appends_are_counted,
);
