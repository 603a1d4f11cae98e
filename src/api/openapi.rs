//! The REST API's OpenAPI document: served at [`PATH`], committed as `schema/openapi.json` beside the GraphQL
//! SDL (a test fails when the two differ), with Swagger UI at [`UI_PATH`] in development mode.
//!
//! Each edge module describes its own operations (`#[utoipa::path]` on the handler, a `Doc` beside its
//! `routes`); this module merges them and adds what the route table knows better than any annotation: who may
//! call each operation (the security requirement comes from the operation's access [`Rule`], so the document
//! cannot promise an endpoint to a caller the service refuses), the 401 every authenticated operation can
//! answer, and the one error body of every refusal. The GraphQL endpoint is described by `schema/schema.graphql`,
//! the kommune's manual HTML pages are pages, and RabbitMQ's auth backend is the broker's: none is here.

use std::collections::HashMap;

use axum::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder, Server};

use crate::auth::CallerKind;
use crate::http::access::Rule;
use crate::http::error::ErrorBody;

/// Where the document is served (to anyone: it describes the API, not its data).
pub const PATH: &str = "/digisos/api/v1/openapi.json";
/// Where Swagger UI is served in development mode.
pub const UI_PATH: &str = "/digisos/api/v1/swagger-ui";
/// The schema every refusal's body refers to.
const ERROR_SCHEMA: &str = "ErrorBody";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "fiks-digisos",
        description = "The REST API of fiks-digisos, the hub that carries søknader om økonomisk sosialhjelp from \
            Nav to the kommune and the case back, on the paths of Fiks Digisos. Every call except the operational \
            ones carries a bearer token; which issuer and which caller each operation takes is its security \
            requirement. Commands answer with `x-digisos-position`; a read that sends it back as \
            `x-digisos-min-position` reflects that command. Refusals have one body (`ErrorBody`), whose \
            `message` names the problem and whose `errorId` is in the service's log. The GraphQL API is \
            described by schema/schema.graphql."
    ),
    tags(
        (name = "nav-innsending", description = "Nav submits søknader and ettersendelser (v1, and v2 with \
            encrypted files and mellomlagring)"),
        (name = "mellomlagring", description = "Nav's intermediate storage of a søknad's encrypted files"),
        (name = "nav-system", description = "Nav's systems: which kommuner take søknader, and where each søknad is"),
        (name = "nav-soknader", description = "Nav's innsyn and support backends read a person's DigisosSak"),
        (name = "innsyn", description = "The citizen's own cases (through Nav's innsyn backend)"),
        (name = "fagsystem", description = "The kommune's fagsystem reports the case: digisos-soker.json and files"),
        (name = "mottak", description = "The kommune's mailbox of søknader and ettersendelser"),
        (name = "dokumenter", description = "Stored documents and the certificate Nav encrypts files for"),
        (name = "fiks-io", description = "Fiks IO: receipts from the fagsystem, the katalog, the dokumentlager"),
        (name = "admin", description = "Kommune configuration and Fiks IO integrations"),
        (name = "drift", description = "Liveness, readiness and metrics (NAIS)")
    )
)]
struct Base;

/// Whether the route table's `path` belongs in the document (see the module's documentation for what does not).
pub fn documented(path: &str) -> bool {
    !(path.starts_with("/graphql")
        || path.starts_with("/kommune")
        || path.starts_with("/fiks-io/amqp-auth/")
        || path.starts_with("/dev-issuer/")
        || path.starts_with(UI_PATH)
        || path == PATH)
}

/// The document for the service whose route table is `rules` (`crate::app::routes(..).rules()`).
pub fn document(rules: &[(Method, String, Rule)]) -> utoipa::openapi::OpenApi {
    let mut doc = Base::openapi();
    for part in [
        super::nav::Doc::openapi(),
        super::mellomlagring::Doc::openapi(),
        super::nav_system::Doc::openapi(),
        super::nav_soknader::Doc::openapi(),
        super::innsyn::Doc::openapi(),
        super::fagsystem::Doc::openapi(),
        super::mottak::Doc::openapi(),
        super::dokumenter::Doc::openapi(),
        super::dokumentlager_nokkel::Doc::openapi(),
        super::fiks_io::Doc::openapi(),
        super::admin::Doc::openapi(),
        crate::http::health::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![Server::new("/")]);
    let components = doc.components.get_or_insert_with(Default::default);
    components.schemas.insert(ERROR_SCHEMA.to_owned(), <ErrorBody<'static> as utoipa::PartialSchema>::schema());
    for kind in KINDS {
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT");
        let scheme = scheme.description(Some(issuer(kind)));
        components.add_security_scheme(kind.as_str(), SecurityScheme::Http(scheme.build()));
    }

    let rules: HashMap<(String, String), Rule> =
        rules.iter().map(|(method, path, rule)| ((method.as_str().to_owned(), path.clone()), *rule)).collect();
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            ("GET", &mut item.get),
            ("PUT", &mut item.put),
            ("POST", &mut item.post),
            ("DELETE", &mut item.delete),
            ("PATCH", &mut item.patch),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            // The drift test holds every documented operation to the route table; one without a rule is closed.
            let rule = rules.get(&(method.to_owned(), path.clone())).copied();
            if let Some(Rule::Callers(kinds)) = rule {
                operation.security = Some(
                    kinds.iter().map(|kind| SecurityRequirement::new(kind.as_str(), Vec::<String>::new())).collect(),
                );
                let unauthorized = "no valid bearer token of an accepted issuer (`WWW-Authenticate` says why)";
                operation
                    .responses
                    .responses
                    .entry("401".to_owned())
                    .or_insert_with(|| RefOr::T(ResponseBuilder::new().description(unauthorized).build()));
            }
            for (status, response) in operation.responses.responses.iter_mut() {
                let refusal = status.starts_with('4') || status.starts_with('5');
                if let (true, RefOr::T(response)) = (refusal, response)
                    && response.content.is_empty()
                {
                    let body = ContentBuilder::new().schema(Some(Ref::from_schema_name(ERROR_SCHEMA))).build();
                    response.content.insert("application/json".to_owned(), RefOr::T(body));
                }
            }
        }
    }
    doc
}

/// Every caller kind, in the order the document lists their schemes.
const KINDS: [CallerKind; 5] =
    [CallerKind::Citizen, CallerKind::NavStaff, CallerKind::NavSystem, CallerKind::Fagsystem, CallerKind::Admin];

/// Who issues a caller kind's token, for the security scheme's description.
fn issuer(kind: CallerKind) -> &'static str {
    match kind {
        CallerKind::Citizen => {
            "The citizen, logged in with ID-porten, through Nav's backend: a TokenX token whose `pid` is the \
             person's fødselsnummer. The citizen sees only their own cases."
        }
        CallerKind::NavStaff => {
            "A Nav support employee: an Entra ID token with the NAVident and the support group. Every lookup is \
             written to the person's innsynslogg."
        }
        CallerKind::NavSystem => "Nav's systems: a Maskinporten token for Nav's organisation number (scope ks:fiks).",
        CallerKind::Fagsystem => {
            "A kommune's fagsystem: a Maskinporten token for the fagsystem's organisation number (scope ks:fiks), \
             which the kommune's configuration names; it reaches only the Fiks organisations it serves."
        }
        CallerKind::Admin => "An operator of the hub: a token of the configured admin issuer with the admin role.",
    }
}
