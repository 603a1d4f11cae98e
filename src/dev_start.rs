//! What the service does at start beyond listening: the banner on stdout, and in development mode the demo
//! kommune, so that `cargo run --release` on a fresh machine is a working hub one can call at once.
//!
//! The banner's first line keeps the format scripts and tests parse (`fiks-digisos listening on http://…`); the
//! lines after it list the addresses and, in development mode, the exact commands that mint a token for each
//! role. The whole banner is written in one write whose error is ignored: a reader that closed stdout after the
//! first line (as the binary's tests do) must not stop the service.
//!
//! The demo kommune (0301 Oslo, NAV-enheter 0315 and 0316, fagsystem 958935420) is configured through the same
//! command the admin endpoint runs, and only when the kommune has no configuration yet: a restart appends
//! nothing, and a configuration an administrator changed is left as it is.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use digisos_schema::events::{KommuneKonfigurasjon, Kontaktpersoner, kommune_stream};
use digisos_schema::types::{Enhetsnummer, FiksOrgId, Kommunenummer, ParseError, Tidspunkt};
use digisos_schema::{IdentError, Orgnr};

use crate::auth::token_cli::EXAMPLE_FNR;
use crate::commands::{self, CommandError, KommuneAggregate};
use crate::eventstore::{DynEventStore, Position, StreamName};
use crate::sak::{Configure, KommuneCommand, KommuneState};

/// The demo kommune's number (Oslo).
pub const DEMO_KOMMUNENUMMER: &str = "0301";
/// The demo kommune's name, for the banner.
pub const DEMO_KOMMUNENAVN: &str = "Oslo";
/// The demo kommune's Fiks organisation.
pub const DEMO_FIKS_ORG_ID: &str = "11415cd1-e26d-499a-8421-751457dfcbd5";
/// The NAV offices routed to the demo kommune.
pub const DEMO_NAV_ENHETER: [&str; 2] = ["0315", "0316"];
/// The organisation allowed to act as the demo kommune's fagsystem.
pub const DEMO_FAGSYSTEM_ORGNR: &str = "958935420";
/// The NAVident the banner's nav-staff token command uses.
pub const DEMO_NAVIDENT: &str = "Z123456";

/// Why the demo kommune could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum DemoKommuneError {
    /// One of the constants above does not parse (a bug).
    #[error("the demo kommune's configuration is not valid: {0}")]
    Invalid(#[from] ParseError),
    /// The organisation number does not parse (a bug).
    #[error("the demo kommune's fagsystem orgnr is not valid: {0}")]
    Orgnr(#[from] IdentError),
    /// A stream name was refused (a bug).
    #[error("the demo kommune's stream name was refused: {0}")]
    Stream(String),
    /// The command failed.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// The demo kommune's configuration: it takes søknader and status updates, and Nav Kontaktsenter may read it.
pub fn demo_konfigurasjon() -> Result<KommuneKonfigurasjon, DemoKommuneError> {
    let nav_enheter = DEMO_NAV_ENHETER.iter().map(|e| Enhetsnummer::parse(e)).collect::<Result<Vec<_>, _>>()?;
    let orgnr = Orgnr::parse(DEMO_FAGSYSTEM_ORGNR)?;
    Ok(KommuneKonfigurasjon {
        fiks_org_id: FiksOrgId::parse(DEMO_FIKS_ORG_ID)?,
        fagsystem_orgnr: vec![orgnr],
        nav_enheter,
        kan_motta_soknader: true,
        kan_oppdatere_status: true,
        har_midlertidig_deaktivert_mottak: false,
        har_midlertidig_deaktivert_oppdateringer: false,
        har_nks_tilgang: true,
        kontaktpersoner: Kontaktpersoner::default(),
        behandlingsansvarlig: None,
        fiks_io_konto_id: None,
        fiks_io_sertifikat: None,
        fiks_io_integrasjon: None,
    })
}

/// Configures the demo kommune unless it has a configuration already. Returns the position of the event it
/// appended, or `None` when it appended nothing.
pub async fn ensure_demo_kommune(store: &DynEventStore) -> Result<Option<Position>, DemoKommuneError> {
    let kommunenummer = Kommunenummer::parse(DEMO_KOMMUNENUMMER)?;
    let stream =
        StreamName::parse(kommune_stream(kommunenummer)).map_err(|e| DemoKommuneError::Stream(e.to_string()))?;
    let (state, _, _) = commands::load::<KommuneAggregate>(store, &stream).await?;
    if let KommuneState::Konfigurert { .. } = state {
        tracing::info!(kommunenummer = DEMO_KOMMUNENUMMER, "demo kommune already configured; left as it is");
        return Ok(None);
    }
    let command = KommuneCommand::Configure(Configure {
        kommunenummer,
        konfigurasjon: demo_konfigurasjon()?,
        tidspunkt: Tidspunkt::from_instant(chrono::Utc::now()),
    });
    // A second instance starting at the same moment loses the race, decides again and appends nothing.
    let outcome =
        commands::execute::<KommuneAggregate>(store, &stream, command, commands::metadata("dev-mode", None)).await?;
    tracing::info!(kommunenummer = DEMO_KOMMUNENUMMER, appended = outcome.appended, "demo kommune configured");
    Ok(if outcome.appended > 0 { outcome.position } else { None })
}

/// The banner: the first line scripts parse, then the addresses; in development mode also the demo kommune and
/// the commands that mint a token for each role (with `--data-dir` when the data folder is not the default).
pub fn banner(local: SocketAddr, dev_mode: bool, data_dir: &Path) -> String {
    let base = format!("http://{local}");
    let mut lines = vec![
        format!("fiks-digisos listening on {base}  (health: {base}/internal/isready)"),
        format!("  GraphQL        POST {base}/graphql"),
    ];
    if dev_mode {
        lines.push(format!("  GraphiQL       GET  {base}/graphql   (open in a browser)"));
    }
    lines.extend([
        format!("  WebSocket           ws://{local}/graphql/ws   (graphql-transport-ws)"),
        format!("  REST                {base}/digisos/api/v1"),
        format!("  Kommune page        {base}/kommune"),
        format!("  Health              {base}/internal/isready   {base}/internal/isalive"),
        format!("  Metrics             {base}/internal/metrics"),
    ]);
    if dev_mode {
        let data = if data_dir == Path::new("./data") || data_dir == Path::new("data") {
            String::new()
        } else {
            format!(" --data-dir {}", shell_word(&data_dir.display().to_string()))
        };
        let token = |args: &str| format!("cargo run --release -- token{data} --role {args}");
        lines.extend([
            "Development mode: tokens of the built-in issuer are accepted. Never in production.".to_owned(),
            format!(
                "  Demo kommune {DEMO_KOMMUNENUMMER} {DEMO_KOMMUNENAVN}: fiksOrgId {DEMO_FIKS_ORG_ID}, NAV-enheter {}, \
                 fagsystem orgnr {DEMO_FAGSYSTEM_ORGNR}",
                DEMO_NAV_ENHETER.join(" and ")
            ),
            "Tokens (send as 'Authorization: Bearer <token>'):".to_owned(),
            format!("  citizen       {}", token(&format!("citizen --fnr {EXAMPLE_FNR}"))),
            format!("  nav-staff     {}", token(&format!("nav-staff --navident {DEMO_NAVIDENT}"))),
            format!("  nav-system    {}", token("nav-system")),
            format!("  fagsystem     {}", token(&format!("fagsystem --orgnr {DEMO_FAGSYSTEM_ORGNR}"))),
            format!("  admin         {}", token("admin")),
        ]);
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Writes the banner to stdout in one write; a closed stdout is not an error worth stopping for.
pub fn print_banner(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// A path as one shell word: quoted when it holds anything but plain characters.
fn shell_word(word: &str) -> String {
    if !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+=:,".contains(c)) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_configuration_is_valid() {
        let konfigurasjon = demo_konfigurasjon().expect("the constants parse");
        assert_eq!(konfigurasjon.nav_enheter.len(), 2);
        assert!(
            konfigurasjon.kan_motta_soknader && konfigurasjon.kan_oppdatere_status && konfigurasjon.har_nks_tilgang
        );
    }

    #[test]
    fn the_banner_keeps_its_first_line_and_names_the_data_folder_when_not_the_default() {
        let local: SocketAddr = "127.0.0.1:8080".parse().expect("address");
        let text = banner(local, true, Path::new("./data"));
        let first = text.lines().next().expect("a first line");
        assert_eq!(
            first,
            "fiks-digisos listening on http://127.0.0.1:8080  (health: http://127.0.0.1:8080/internal/isready)"
        );
        assert!(text.contains("cargo run --release -- token --role admin\n"), "{text}");
        let text = banner(local, true, Path::new("/tmp/my data"));
        assert!(text.contains("cargo run --release -- token --data-dir '/tmp/my data' --role admin\n"), "{text}");
        let text = banner(local, false, Path::new("./data"));
        assert!(!text.contains("token") && !text.contains("GraphiQL"), "{text}");
    }
}
