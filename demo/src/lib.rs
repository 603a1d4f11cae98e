//! `digisos demo`: the seed's whole flow, driven against a running service over its public API only, the way the
//! real parties would drive it, printing after each step what the citizen and a Nav support employee see.
//!
//! Nav submits a søknad with its PDF; the kommune's fagsystem fetches the delivery from its mailbox, checks the
//! PDF and confirms it; the fagsystem reports MOTTATT and UNDER_BEHANDLING and asks for a document; the citizen
//! sends it (an ettersendelse), which the fagsystem fetches and confirms in turn; the fagsystem uploads the vedtak
//! letter and reports the vedtak, then a payment. At the end the citizen's `innsynslogg` lists the staff
//! lookups the demo made. Every step checks what it expects to see (a status, a task marked sent, the letter
//! downloadable by the citizen), so the demo is also the smoke test a new operator runs against a fresh
//! deployment: it exits non-zero naming the step that failed.
//!
//! Reads use the position of the step's command (`x-digisos-position` → `x-digisos-min-position`), so each view
//! shows the step's own effect without sleeping. Tokens are minted with the development issuer's key from the
//! service's data folder, or given one per party for a deployment with real issuers ([`tokens`]).

pub mod api;
pub mod data;
pub mod tokens;
pub mod views;

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::Args;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use uuid::Uuid;

use api::{Api, ApiFailure, Form, PREFIX};
use tokens::Tokens;
pub use tokens::{DevIssuer, DevIssuers, Party};

/// The demo's citizen when none is given: a synthetic fødselsnummer (valid control digits, no real person).
pub const EXAMPLE_FNR: &str = "01817012309";

/// How long the demo waits for the staff lookups to show in the citizen's log.
const INNSYNSLOGG_PATIENCE: Duration = Duration::from_secs(30);

/// Arguments of `digisos demo`.
#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// The running service's base URL.
    #[arg(long, env = "DIGISOS_DEMO_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The service's data folder, whose development issuer key mints the tokens not given below (the service
    /// must run with DIGISOS_DEV_MODE=true).
    #[arg(long, env = "DIGISOS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The citizen's token (ID-porten/TokenX, `pid` = --fnr); minted when absent.
    #[arg(long, env = "DIGISOS_DEMO_CITIZEN_TOKEN", hide_env_values = true)]
    pub citizen_token: Option<String>,
    /// Nav's system token (Maskinporten, Nav's organisation); minted when absent.
    #[arg(long, env = "DIGISOS_DEMO_NAV_TOKEN", hide_env_values = true)]
    pub nav_token: Option<String>,
    /// A Nav support employee's token (Entra ID); minted when absent.
    #[arg(long, env = "DIGISOS_DEMO_STAFF_TOKEN", hide_env_values = true)]
    pub staff_token: Option<String>,
    /// The kommune fagsystem's token (Maskinporten, --fagsystem-orgnr); minted when absent.
    #[arg(long, env = "DIGISOS_DEMO_FAGSYSTEM_TOKEN", hide_env_values = true)]
    pub fagsystem_token: Option<String>,
    /// An administrator's token, used only to read or create the kommune's configuration; minted when the
    /// development issuer is at hand.
    #[arg(long, env = "DIGISOS_DEMO_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// The citizen (must be the citizen token's `pid`).
    #[arg(long, default_value = EXAMPLE_FNR)]
    pub fnr: String,
    /// The Nav support employee's NAVident (of the staff token).
    #[arg(long, default_value = "Z123456")]
    pub navident: String,
    /// The kommune the søknad goes to.
    #[arg(long, default_value = "0301")]
    pub kommunenummer: String,
    /// The NAV office the søknad is sent to (one of the kommune's).
    #[arg(long, default_value = "0315")]
    pub enhet: String,
    /// The kommune's fagsystem organisation (of the fagsystem token).
    #[arg(long, default_value = "958935420")]
    pub fagsystem_orgnr: String,
    /// The kommune's Fiks organisation id (its mailbox). Default: read from the kommune's configuration with
    /// the admin token (a kommune the demo configures itself gets a new one).
    #[arg(long)]
    pub fiks_org_id: Option<String>,
}

/// The steps, in order: (name, what it does).
pub const STEPS: [(&str, &str); 12] = [
    ("service", "The service answers and accepts the demo's tokens"),
    ("kommune", "The kommune takes søknader"),
    ("submit", "Nav submits the citizen's søknad with its PDF and an attachment"),
    ("mailbox", "The kommune's fagsystem fetches the søknad from its mailbox and confirms it"),
    ("mottatt", "The fagsystem reports the søknad MOTTATT"),
    ("under-behandling", "The fagsystem reports the søknad UNDER_BEHANDLING"),
    ("dokumentasjon-etterspurt", "The fagsystem asks the citizen for a document"),
    ("ettersendelse", "The citizen sends the document (ettersendelse)"),
    ("ettersendelse-mailbox", "The fagsystem fetches the ettersendelse from its mailbox and confirms it"),
    ("vedtak", "The fagsystem uploads the vedtak letter and reports the vedtak"),
    ("utbetaling", "The fagsystem reports the payment"),
    ("innsynslogg", "The citizen sees who at Nav looked at their case"),
];

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepFailure {
    /// A request failed or answered something else than the flow needs.
    #[error(transparent)]
    Api(#[from] ApiFailure),
    /// The demo's output could not be written.
    #[error("cannot write the demo's output: {0}")]
    Output(#[from] std::io::Error),
}

/// Why the demo stopped: the step that failed and how.
#[derive(Debug, thiserror::Error)]
#[error("demo step {number}/{total} \"{step}\" failed: {failure}")]
pub struct DemoError {
    /// The step's number, from 1.
    pub number: usize,
    /// How many steps there are.
    pub total: usize,
    /// The step's name (see [`STEPS`]).
    pub step: &'static str,
    /// What went wrong.
    pub failure: StepFailure,
}

/// What the demo ended with.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoSummary {
    /// The case the demo created.
    pub fiks_digisos_id: String,
    /// The søknad's final status as the citizen sees it.
    pub status: String,
    /// How many staff lookups the citizen's log shows for the case.
    pub staff_lookups: usize,
}

fn unexpected(message: impl Into<String>) -> StepFailure {
    StepFailure::Api(ApiFailure::Unexpected(message.into()))
}

/// Runs the demo against the service `args.url`, writing the story to `out`.
/// Tokens not given in `args` are minted with the development issuer `issuers` finds in `args.data_dir`.
pub async fn run(args: &DemoArgs, issuers: &dyn DevIssuers, out: &mut dyn Write) -> Result<DemoSummary, DemoError> {
    let mut demo =
        Demo { args, issuers, out, number: 0, api: None, tokens: None, fiks_org_id: String::new(), case: None };
    demo.begin()?;
    let result = demo.service().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.kommune().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.submit().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.mailbox().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.report(&["MOTTATT"], "MOTTATT").await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.report(&["UNDER_BEHANDLING", "saksStatus"], "UNDER_BEHANDLING").await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.report(&["dokumentasjonEtterspurt"], "UNDER_BEHANDLING").await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.ettersendelse().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.ettersendelse_mailbox().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.vedtak().await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.report(&["utbetaling"], "FERDIGBEHANDLET").await;
    demo.check(result)?;
    demo.begin()?;
    let result = demo.innsynslogg().await;
    let summary = demo.check(result)?;
    let finish = writeln!(
        demo.out,
        "\nDemo complete: søknad {} is {}; {} staff lookup(s) are in the citizen's innsynslogg.",
        summary.fiks_digisos_id, summary.status, summary.staff_lookups
    );
    demo.check(finish.map_err(StepFailure::from))?;
    Ok(summary)
}

/// The case as the steps build it.
struct Case {
    id: String,
    nav_ekstern_ref_id: String,
    /// Every hendelse reported so far: each status update sends them all.
    hendelser: Vec<Value>,
    /// The position of the latest command, for the next read.
    position: String,
    /// Staff lookups made.
    lookups: usize,
}

struct Demo<'a> {
    args: &'a DemoArgs,
    issuers: &'a dyn DevIssuers,
    out: &'a mut dyn Write,
    number: usize,
    api: Option<Api>,
    tokens: Option<Tokens>,
    fiks_org_id: String,
    case: Option<Case>,
}

impl Demo<'_> {
    fn begin(&mut self) -> Result<(), DemoError> {
        self.number += 1;
        let (_, title) = STEPS[self.number - 1];
        let line = writeln!(self.out, "\n[{}/{}] {title}", self.number, STEPS.len()).and_then(|()| self.out.flush());
        self.check(line.map_err(StepFailure::from))
    }

    fn check<T>(&self, result: Result<T, StepFailure>) -> Result<T, DemoError> {
        result.map_err(|failure| DemoError {
            number: self.number,
            total: STEPS.len(),
            step: STEPS[self.number.saturating_sub(1)].0,
            failure,
        })
    }

    fn say(&mut self, line: &str) -> Result<(), StepFailure> {
        writeln!(self.out, "      {line}")?;
        self.out.flush()?;
        Ok(())
    }

    fn api(&self) -> Result<&Api, StepFailure> {
        self.api.as_ref().ok_or_else(|| unexpected("the service step did not run"))
    }

    fn tokens(&self) -> Result<&Tokens, StepFailure> {
        self.tokens.as_ref().ok_or_else(|| unexpected("the service step did not run"))
    }

    fn case(&mut self) -> Result<&mut Case, StepFailure> {
        self.case.as_mut().ok_or_else(|| unexpected("the submit step did not run"))
    }

    /// Step 1: the service is up; the tokens are resolved.
    async fn service(&mut self) -> Result<(), StepFailure> {
        let api = Api::new(&self.args.url)?;
        let ready = api.send("readiness", Method::GET, "/internal/isready", None, None, None).await?;
        let body = ready.json();
        let backend = body["eventStore"].as_str().unwrap_or("unknown").to_owned();
        if ready.status != 200 {
            let reasons = body["reasons"].to_string();
            self.say(&format!("note: the service reports itself not ready ({}): {reasons}", ready.status))?;
        }
        let tokens = tokens::resolve(self.args, &api, self.issuers).await?;
        let source = match &tokens.minted_from {
            Some(key) => format!("tokens minted with the development issuer key {}", key.display()),
            None => "tokens given on the command line".to_owned(),
        };
        self.say(&format!("{} is up (event store: {backend}); {source}", api.base()))?;
        self.api = Some(api);
        self.tokens = Some(tokens);
        Ok(())
    }

    /// Step 2: the kommune is configured to take søknader and status updates (configured here when it is not
    /// and an admin token is at hand), and its mailbox (`fiksOrgId`) is known.
    async fn kommune(&mut self) -> Result<(), StepFailure> {
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let nr = self.args.kommunenummer.clone();
        let admin_path = format!("{PREFIX}/admin/kommuner/{nr}");
        let nav_path = format!("{PREFIX}/nav/kommuner/{nr}");
        let mut info = api.get("Nav reads the kommune's switches", &nav_path, &tokens.nav, None).await?;
        if info.status == 404 {
            let Some(admin) = tokens.admin.as_deref() else {
                return Err(unexpected(format!(
                    "kommune {nr} is not configured in the service, and there is no admin token to configure it \
                     (pass --admin-token, or run against a development service so one can be minted)"
                )));
            };
            // A new Fiks organisation unless one is named: the kommune's mailbox is its own.
            let fiks_org_id = self.args.fiks_org_id.clone().unwrap_or_else(|| Uuid::new_v4().to_string());
            let konfigurasjon = json!({
                "fiksOrgId": fiks_org_id, "fagsystemOrgnr": [self.args.fagsystem_orgnr], "navEnheter": [self.args.enhet],
                "kanMottaSoknader": true, "kanOppdatereStatus": true, "harMidlertidigDeaktivertMottak": false,
                "harMidlertidigDeaktivertOppdateringer": false, "harNksTilgang": true
            });
            let put = api.json("configure the kommune", Method::PUT, &admin_path, admin, &konfigurasjon).await?;
            let put = put.expect(200, "configure the kommune")?;
            let position = put.position_or("configure the kommune")?;
            self.say(&format!(
                "kommune {nr} was not configured: configured it as admin (fiksOrgId {fiks_org_id}, NAV-enhet {}, \
                 fagsystem {})",
                self.args.enhet, self.args.fagsystem_orgnr
            ))?;
            info = api.get("Nav reads the kommune's switches", &nav_path, &tokens.nav, Some(&position)).await?;
        }
        let info = info.expect(200, "Nav reads the kommune's switches")?.json();
        for (switch, wanted) in [
            ("kanMottaSoknader", true),
            ("kanOppdatereStatus", true),
            ("harMidlertidigDeaktivertMottak", false),
            ("harMidlertidigDeaktivertOppdateringer", false),
            ("harNksTilgang", true),
        ] {
            if info[switch] != wanted {
                return Err(unexpected(format!(
                    "kommune {nr} has {switch} = {}; the demo needs {wanted} (change it with PUT {admin_path})",
                    info[switch]
                )));
            }
        }
        self.fiks_org_id = match &self.args.fiks_org_id {
            Some(id) => id.clone(),
            None => {
                let Some(admin) = tokens.admin.as_deref() else {
                    return Err(unexpected(format!(
                        "the fagsystem's mailbox needs kommune {nr}'s fiksOrgId: pass --fiks-org-id, or an admin \
                         token (--admin-token) to read it from the configuration"
                    )));
                };
                let konfigurasjon = api.get("read the kommune's configuration", &admin_path, admin, None).await?;
                let konfigurasjon = konfigurasjon.expect(200, "read the kommune's configuration")?.json();
                let orgnr = json!(self.args.fagsystem_orgnr);
                let orgnrs = konfigurasjon["fagsystemOrgnr"].as_array().cloned().unwrap_or_default();
                if !orgnrs.contains(&orgnr) {
                    return Err(unexpected(format!(
                        "kommune {nr}'s fagsystem is {orgnrs:?}, not {orgnr} (pass --fagsystem-orgnr and a matching \
                         --fagsystem-token)"
                    )));
                }
                let enheter = konfigurasjon["navEnheter"].as_array().cloned().unwrap_or_default();
                if !enheter.contains(&json!(self.args.enhet)) {
                    return Err(unexpected(format!(
                        "NAV-enhet {} is not one of kommune {nr}'s ({enheter:?}); pass --enhet",
                        self.args.enhet
                    )));
                }
                konfigurasjon["fiksOrgId"]
                    .as_str()
                    .ok_or_else(|| unexpected("the kommune's configuration has no fiksOrgId"))?
                    .to_owned()
            }
        };
        self.say(&format!(
            "Nav sees kommune {nr}: takes søknader, shows status, Nav Kontaktsenter has access; its mailbox is \
             fiksOrgId {}",
            self.fiks_org_id
        ))?;
        Ok(())
    }

    /// Step 3: Nav submits the søknad (as the citizen, through Nav): soknad.json, vedlegg.json, the PDF and one
    /// attachment.
    async fn submit(&mut self) -> Result<(), StepFailure> {
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let args = self.args;
        let reference = Uuid::new_v4().to_string();
        let soknad = data::soknad(&args.fnr, &args.kommunenummer, &args.enhet)
            .map_err(|e| unexpected(format!("the embedded søknad is not JSON: {e}")))?;
        let pdf = soknad_pdf(&reference);
        let kontrakt = data::pdf(&["Husleiekontrakt", "Leie: 9 800 kr i måneden"]);
        let form = Form::new()
            .json("tilleggsinformasjonJson", &json!({"enhetsnummer": args.enhet}))
            .json("soknadJson", &soknad)
            .json("vedleggJson", &data::soknad_vedlegg())
            .file(0, "Soknad.pdf", "application/pdf", &pdf)
            .file(1, data::HUSLEIEKONTRAKT, "application/pdf", &kontrakt);
        let path = format!("{PREFIX}/soknader/{}/{reference}", args.kommunenummer);
        let reply = api.post_form("submit the søknad", &path, &tokens.citizen, form).await?;
        let reply = reply.expect(202, "submit the søknad")?;
        let position = reply.position_or("submit the søknad")?;
        let id =
            reply.json().as_str().ok_or_else(|| unexpected("the submission answered no fiksDigisosId"))?.to_owned();
        self.say(&format!(
            "202 Accepted: fiksDigisosId {id} (navEksternRefId {reference}, citizen {}, NAV-enhet {})",
            mask(&args.fnr),
            args.enhet
        ))?;
        self.case = Some(Case { id, nav_ekstern_ref_id: reference, hendelser: Vec::new(), position, lookups: 0 });
        let sak = self.views().await?;
        expect_status(&sak, "SENDT")?;
        Ok(())
    }

    /// Step 4: the fagsystem finds the søknad in its mailbox, downloads and checks the PDF, and confirms it;
    /// then Nav sees that the søknad reached the kommune.
    async fn mailbox(&mut self) -> Result<(), StepFailure> {
        let (id, reference, position) = {
            let case = self.case()?;
            (case.id.clone(), case.nav_ekstern_ref_id.clone(), case.position.clone())
        };
        let leveranse = self.fetch_delivery("SOKNAD", &id, &reference, &position).await?;
        let expected_pdf = soknad_pdf(&reference);
        let position = self.confirm(&leveranse, "Soknad.pdf", &expected_pdf).await?;
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let status = api
            .json(
                "Nav asks whether the søknad reached the kommune",
                Method::POST,
                &format!("{PREFIX}/nav/soknader/status"),
                &tokens.nav,
                &json!({"digisosIdListe": [id]}),
            )
            .await?
            .expect(200, "Nav asks whether the søknad reached the kommune")?
            .json();
        let levert = status["statusListe"][0]["levertFagsystem"] == true;
        if !levert {
            return Err(unexpected(format!("Nav is told the søknad has not reached the kommune: {status}")));
        }
        self.say("Nav asks POST /nav/soknader/status: levertFagsystem = true (Nav may delete its copy)")?;
        self.case()?.position = position;
        let sak = self.views().await?;
        expect_status(&sak, "SENDT")?;
        if !views_delivery(&sak, "SOKNAD", "BEKREFTET") {
            return Err(unexpected("the citizen does not see the søknad's delivery BEKREFTET"));
        }
        Ok(())
    }

    /// Steps 5, 6, 7 and 11: the fagsystem adds hendelser and posts the whole `digisos-soker.json`.
    async fn report(&mut self, what: &[&str], expected: &str) -> Result<(), StepFailure> {
        let now = Utc::now();
        let mut added = Vec::new();
        for item in what {
            added.push(match *item {
                "saksStatus" => data::saks_status("UNDER_BEHANDLING", now),
                "dokumentasjonEtterspurt" => data::dokumentasjon_etterspurt(now),
                "utbetaling" => data::utbetaling(now),
                status => data::soknads_status(status, now),
            });
        }
        self.post_update(added).await?;
        let sak = self.views().await?;
        expect_status(&sak, expected)?;
        if what.contains(&"dokumentasjonEtterspurt") && !has_task(&sak, data::ETTERSPURT_TYPE, false) {
            return Err(unexpected("the citizen does not see the requested document as an open task"));
        }
        if what.contains(&"utbetaling") {
            let paid = sak["utbetalinger"]
                .as_array()
                .is_some_and(|us| us.iter().any(|u| u["status"] == "UTBETALT" && u["belop"] == data::BELOP));
            if !paid {
                return Err(unexpected("the citizen does not see the payment UTBETALT"));
            }
        }
        Ok(())
    }

    /// Posts the history so far plus `added` as one status update.
    async fn post_update(&mut self, added: Vec<Value>) -> Result<(), StepFailure> {
        let api = self.api()?.clone();
        let token = self.tokens()?.fagsystem.clone();
        let fiks_org_id = self.fiks_org_id.clone();
        let case = self.case()?;
        let types: Vec<String> = added
            .iter()
            .map(|h| match h["status"].as_str() {
                Some(status) => format!("{} {status}", h["type"].as_str().unwrap_or("?")),
                None => h["type"].as_str().unwrap_or("?").to_owned(),
            })
            .collect();
        case.hendelser.extend(added);
        let path = format!("{PREFIX}/{fiks_org_id}/{}", case.id);
        let body = data::digisos_soker(&case.hendelser);
        let what = "post the status update";
        let reply = api.json(what, Method::POST, &path, &token, &body).await?.expect(202, what)?;
        case.position = reply.position_or(what)?;
        let count = case.hendelser.len();
        self.say(&format!(
            "POST digisos-soker.json with {count} hendelser ({} new: {}): 202 Accepted",
            types.len(),
            types.join(", ")
        ))?;
        Ok(())
    }

    /// Step 8: the citizen sends the requested document.
    async fn ettersendelse(&mut self) -> Result<(), StepFailure> {
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let kommunenummer = self.args.kommunenummer.clone();
        let case = self.case()?;
        let faktura = data::pdf(&["Strømfaktura", "Forbruk siste måned: 1 234 kWh", "Å betale: 2 345 kr"]);
        let sha512 = hex::encode(Sha512::digest(&faktura));
        let generated = data::pdf(&["Ettersendelse", "1 vedlegg: Strømfaktura"]);
        let form = Form::new()
            .json("vedlegg.json", &data::ettersendelse_vedlegg(&sha512))
            .file(0, data::STROMFAKTURA, "application/pdf", &faktura)
            .file(1, "ettersendelse.pdf", "application/pdf", &generated);
        let reference = format!("{}-0001", case.nav_ekstern_ref_id);
        let path = format!("{PREFIX}/soknader/{kommunenummer}/{}/{reference}", case.id);
        let what = "send the ettersendelse";
        let reply = api.post_form(what, &path, &tokens.citizen, form).await?.expect(202, what)?;
        case.position = reply.position_or(what)?;
        self.say(&format!(
            "202 Accepted: {} answering \"{}\" (navEksternRefId {reference})",
            data::STROMFAKTURA,
            data::ETTERSPURT_REFERANSE
        ))?;
        let sak = self.views().await?;
        if !has_task(&sak, data::ETTERSPURT_TYPE, true) {
            return Err(unexpected("the citizen does not see the requested document as sent"));
        }
        Ok(())
    }

    /// Step 9: the fagsystem fetches the ettersendelse and confirms it.
    async fn ettersendelse_mailbox(&mut self) -> Result<(), StepFailure> {
        let (id, reference, position) = {
            let case = self.case()?;
            (case.id.clone(), format!("{}-0001", case.nav_ekstern_ref_id), case.position.clone())
        };
        let leveranse = self.fetch_delivery("ETTERSENDELSE", &id, &reference, &position).await?;
        let faktura = data::pdf(&["Strømfaktura", "Forbruk siste måned: 1 234 kWh", "Å betale: 2 345 kr"]);
        let position = self.confirm(&leveranse, data::STROMFAKTURA, &faktura).await?;
        self.case()?.position = position;
        let sak = self.views().await?;
        if !views_delivery(&sak, "ETTERSENDELSE", "BEKREFTET") {
            return Err(unexpected("the citizen does not see the ettersendelse's delivery BEKREFTET"));
        }
        Ok(())
    }

    /// Step 10: the fagsystem uploads the vedtak letter, then reports the vedtak and the søknad done; the citizen
    /// downloads the letter through the link in their view.
    async fn vedtak(&mut self) -> Result<(), StepFailure> {
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let fiks_org_id = self.fiks_org_id.clone();
        let id = self.case()?.id.clone();
        let brev = data::pdf(&["Vedtak om økonomisk sosialhjelp", "Du får 7 500 kr til livsopphold.", "Innvilget."]);
        let what = "upload the vedtak letter";
        let form = Form::new().file(0, "vedtak.pdf", "application/pdf", &brev);
        let path = format!("{PREFIX}/{fiks_org_id}/{id}/filer");
        let uploaded = api.post_form(what, &path, &tokens.fagsystem, form).await?.expect(200, what)?.json();
        let dokument_id = uploaded[0]["dokumentlagerDokumentId"]
            .as_str()
            .ok_or_else(|| unexpected(format!("the upload answered no dokumentlagerDokumentId: {uploaded}")))?
            .to_owned();
        self.say(&format!("uploaded vedtak.pdf: dokumentlagerDokumentId {dokument_id}"))?;
        let now = Utc::now();
        self.post_update(vec![data::vedtak_fattet(&dokument_id, now), data::soknads_status("FERDIGBEHANDLET", now)])
            .await?;
        let sak = self.views().await?;
        expect_status(&sak, "FERDIGBEHANDLET")?;
        let url = sak["saker"][0]["vedtak"][0]["vedtaksbrev"]["url"]
            .as_str()
            .ok_or_else(|| unexpected("the citizen sees no vedtak letter"))?
            .to_owned();
        let what = "the citizen downloads the vedtak letter";
        let letter = api.get(what, &url, &tokens.citizen, None).await?.expect(200, what)?;
        if letter.bytes != brev {
            return Err(unexpected("the vedtak letter the citizen downloads is not the one the fagsystem uploaded"));
        }
        self.say(&format!("the citizen downloads the vedtak letter from {url}: the same {} bytes", brev.len()))?;
        Ok(())
    }

    /// Step 12: the citizen's log of staff lookups, once it shows every lookup the demo made.
    async fn innsynslogg(&mut self) -> Result<DemoSummary, StepFailure> {
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let (id, lookups, position) = {
            let case = self.case()?;
            (case.id.clone(), case.lookups, case.position.clone())
        };
        let deadline = tokio::time::Instant::now() + INNSYNSLOGG_PATIENCE;
        let rows = loop {
            let data = api.graphql("the citizen's innsynslogg", &tokens.citizen, views::INNSYNSLOGG, json!({}), None);
            let data = data.await?;
            let rows: Vec<Value> = data["innsynslogg"]
                .as_array()
                .map(|rs| rs.iter().filter(|r| r["hva"].as_str().is_some_and(|h| h.contains(&id))).cloned().collect())
                .unwrap_or_default();
            if rows.len() >= lookups {
                break rows;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(unexpected(format!(
                    "the citizen's innsynslogg shows {} of the {lookups} staff lookups after {INNSYNSLOGG_PATIENCE:?}",
                    rows.len()
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        self.say(&format!("{} staff lookup(s) of this case, newest first:", rows.len()))?;
        for row in &rows {
            self.say(&format!("  {}", views::innsynslogg_line(row)))?;
        }
        let sak =
            api.graphql("the citizen's view", &tokens.citizen, views::SAK, views::sak_variables(&id), Some(&position));
        let status = sak.await?["sak"]["status"].as_str().unwrap_or("?").to_owned();
        Ok(DemoSummary { fiks_digisos_id: id, status, staff_lookups: rows.len() })
    }

    /// Finds the delivery of `kind` for case `id` and reference `reference` in the mailbox (reading at
    /// `position`), and fetches it in full.
    async fn fetch_delivery(
        &mut self,
        kind: &str,
        id: &str,
        reference: &str,
        position: &str,
    ) -> Result<Value, StepFailure> {
        let api = self.api()?.clone();
        let token = self.tokens()?.fagsystem.clone();
        let mailbox = format!("{PREFIX}/{}/mottak", self.fiks_org_id);
        let mut after: Option<String> = None;
        let (leveranse, waiting) = loop {
            let path = match &after {
                Some(a) => format!("{mailbox}?first=100&after={a}"),
                None => format!("{mailbox}?first=100"),
            };
            let what = "the fagsystem reads its mailbox";
            let page = api.get(what, &path, &token, Some(position)).await?.expect(200, what)?.json();
            let page = page.as_array().cloned().unwrap_or_default();
            let found = page.iter().find(|l| {
                l["kind"] == kind && l["melding"]["digisosId"] == id && l["melding"]["eksternRef"] == reference
            });
            if let Some(found) = found {
                break (found.clone(), page.len());
            }
            match page.last().and_then(|l| l["leveranseId"].as_str()) {
                Some(last) => after = Some(last.to_owned()),
                None => return Err(unexpected(format!("the {kind} delivery of case {id} is not in the mailbox"))),
            }
        };
        let leveranse_id = leveranse["leveranseId"].as_str().unwrap_or_default().to_owned();
        let what = "the fagsystem fetches the delivery";
        let full = api.get(what, &format!("{mailbox}/{leveranse_id}"), &token, None).await?.expect(200, what)?.json();
        let filer: Vec<&str> = full["filer"]
            .as_array()
            .map(|fs| fs.iter().filter_map(|f| f["filnavn"].as_str()).collect())
            .unwrap_or_default();
        self.say(&format!(
            "GET mottak: {waiting} waiting deliver{} on the page; {kind} delivery {leveranse_id} ({}) holds {}",
            if waiting == 1 { "y" } else { "ies" },
            full["meldingstype"].as_str().unwrap_or("?"),
            filer.join(", ")
        ))?;
        Ok(full)
    }

    /// Downloads `filnavn` of `leveranse`, checks it is `expected`, and confirms the delivery; the position of
    /// the receipt.
    async fn confirm(&mut self, leveranse: &Value, filnavn: &str, expected: &[u8]) -> Result<String, StepFailure> {
        let api = self.api()?.clone();
        let token = self.tokens()?.fagsystem.clone();
        let fil = leveranse["filer"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["filnavn"] == filnavn))
            .ok_or_else(|| unexpected(format!("the delivery holds no {filnavn}")))?;
        let path =
            fil["nedlastingPath"].as_str().ok_or_else(|| unexpected(format!("{filnavn} has no download path")))?;
        let what = "the fagsystem downloads the file";
        let bytes = api.get(what, path, &token, None).await?.expect(200, what)?.bytes;
        if bytes != expected {
            return Err(unexpected(format!("{filnavn} as downloaded is not the file that was sent")));
        }
        let leveranse_id = leveranse["leveranseId"].as_str().unwrap_or_default();
        let path = format!("{PREFIX}/{}/mottak/{leveranse_id}/kvittering", self.fiks_org_id);
        let what = "the fagsystem confirms the delivery";
        let receipt = api.send(what, Method::POST, &path, Some(&token), None, None).await?.expect(204, what)?;
        self.say(&format!("downloaded {filnavn} ({} bytes, as sent); POST kvittering: 204 No Content", bytes.len()))?;
        receipt.position_or(what).map_err(StepFailure::from)
    }

    /// Prints what the citizen and a Nav support employee see now; returns the citizen's view.
    async fn views(&mut self) -> Result<Value, StepFailure> {
        let api = self.api()?.clone();
        let tokens = self.tokens()?.clone();
        let number = self.number;
        let case = self.case()?;
        case.lookups += 1;
        let (id, position) = (case.id.clone(), case.position.clone());
        let what = "the citizen's view";
        let sak = api.graphql(what, &tokens.citizen, views::SAK, views::sak_variables(&id), Some(&position)).await?;
        let sak = sak["sak"].clone();
        if sak.is_null() {
            return Err(unexpected(format!("the citizen does not see case {id}")));
        }
        let sporings_id = format!("demo-{number}-{}", &Uuid::new_v4().simple().to_string()[..8]);
        let variables = json!({"id": id, "sporingsId": sporings_id});
        let what = "the Nav staff view";
        let nav = api.graphql(what, &tokens.staff, views::NAV_SAK, variables, Some(&position)).await?;
        let nav = nav["navSak"].clone();
        if nav.is_null() {
            return Err(unexpected(format!("Nav support does not see case {id}")));
        }
        for (i, line) in views::citizen_lines(&sak).iter().enumerate() {
            self.say(&format!("{} {line}", if i == 0 { "citizen sees:  " } else { "               " }))?;
        }
        for (i, line) in views::staff_lines(&nav, &sporings_id).iter().enumerate() {
            self.say(&format!("{} {line}", if i == 0 { "Nav staff sees:" } else { "               " }))?;
        }
        Ok(sak)
    }
}

/// The søknad PDF Nav generates (the same bytes for the same reference, so the fagsystem's copy can be checked).
fn soknad_pdf(reference: &str) -> Vec<u8> {
    data::pdf(&["Søknad om økonomisk sosialhjelp", "Ola Nordmann", &format!("Nav-referanse {reference}")])
}

fn expect_status(sak: &Value, expected: &str) -> Result<(), StepFailure> {
    match sak["status"].as_str() {
        Some(status) if status == expected => Ok(()),
        other => Err(unexpected(format!("the citizen sees status {}, expected {expected}", other.unwrap_or("none")))),
    }
}

fn has_task(sak: &Value, dokumenttype: &str, levert: bool) -> bool {
    sak["oppgaver"]
        .as_array()
        .is_some_and(|os| os.iter().any(|o| o["dokumenttype"] == dokumenttype && o["erLevert"] == levert))
}

fn views_delivery(sak: &Value, kind: &str, status: &str) -> bool {
    sak["leveranser"].as_array().is_some_and(|ls| ls.iter().any(|l| l["type"] == kind && l["status"] == status))
}

/// A fødselsnummer as the demo prints it: the birth date, the rest masked.
fn mask(fnr: &str) -> String {
    let shown: String = fnr.chars().take(6).collect();
    format!("{shown}*****")
}
