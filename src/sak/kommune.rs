//! A kommune's configuration as a Decider (stream `kommune-<kommunenummer>`), and the questions the
//! write side asks of it: may a søknad go to this kommune and NAV office now, may its fagsystem post
//! status updates, may this organisation act for it.
//!
//! `PUT /admin/kommuner/{kommunenummer}` sets the whole configuration; putting the same one again appends
//! nothing. The `fiksOrgId` is fixed once set, because every case records the `fiksOrgId` it belongs to
//! and the fagsystem addresses cases through it; moving a kommune to another organisation would orphan its
//! cases. Rules that span kommuner (one NAV office routes to one kommune; one `fiksOrgId` per kommune) need
//! all streams and are left to a projection-backed check in the shell.

use std::collections::BTreeSet;

use digisos_schema::Orgnr;
use digisos_schema::events::{FiksIoIntegrasjon, KommuneEvent, KommuneKonfigurasjon, KommuneKonfigurert};
use digisos_schema::types::{Enhetsnummer, Kommunenummer, Tidspunkt};
use digisos_schema::validate::Problem;

use super::rejection::{Rejection, problem};

/// A kommune's configuration as its stream tells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum KommuneState {
    /// Never configured.
    #[default]
    Ukonfigurert,
    /// Configured.
    Konfigurert {
        /// The kommune.
        kommunenummer: Kommunenummer,
        /// Its current configuration.
        // Boxed: a certificate makes it large next to `Ukonfigurert`.
        konfigurasjon: Box<KommuneKonfigurasjon>,
        /// When it last changed.
        sist_endret: Tidspunkt,
    },
}

/// What can be asked of a kommune's configuration.
#[derive(Debug, Clone, PartialEq)]
pub enum KommuneCommand {
    /// Create or replace the configuration.
    Configure(Configure),
    /// Issue (or replace) the Fiks IO integration that may consume the kommune's account.
    IssueFiksIoIntegrasjon(IssueFiksIoIntegrasjon),
    /// Replace the Fiks IO account's certificate (the katalog's key upload).
    ReplaceFiksIoSertifikat(ReplaceFiksIoSertifikat),
}

/// Replace the certificate of the kommune's Fiks IO account `konto_id` (checked by the caller: PEM X.509, RSA).
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaceFiksIoSertifikat {
    /// The kommune.
    pub kommunenummer: Kommunenummer,
    /// The account the upload names: it must be the kommune's.
    pub konto_id: uuid::Uuid,
    /// The new certificate (PEM).
    pub sertifikat: String,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Issue a Fiks IO integration: the kommune must be configured with a Fiks IO account.
#[derive(Debug, Clone, PartialEq)]
pub struct IssueFiksIoIntegrasjon {
    /// The kommune of the path.
    pub kommunenummer: Kommunenummer,
    /// The integration id and its password's hash.
    pub integrasjon: FiksIoIntegrasjon,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Create or replace a kommune's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Configure {
    /// The kommune of the path.
    pub kommunenummer: Kommunenummer,
    /// The whole new configuration.
    pub konfigurasjon: KommuneKonfigurasjon,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Why a kommune cannot take a søknad or a status update now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KommuneRefusal {
    /// No configuration exists.
    #[error("kommune {0} is not set up for Fiks Digisos")]
    IkkeKonfigurert(Kommunenummer),
    /// `kanMottaSoknader` is off.
    #[error("kommune {0} does not take digital søknader")]
    MottakIkkeAktivert(Kommunenummer),
    /// `harMidlertidigDeaktivertMottak` is on.
    #[error("kommune {0} has temporarily switched off receiving søknader")]
    MottakMidlertidigDeaktivert(Kommunenummer),
    /// The NAV office does not route to this kommune.
    #[error("NAV office {enhet} does not route to kommune {kommunenummer}")]
    EnhetIkkeTilknyttet {
        /// The kommune.
        kommunenummer: Kommunenummer,
        /// The office.
        enhet: Enhetsnummer,
    },
    /// `kanOppdatereStatus` is off.
    #[error("kommune {0} does not send status updates (innsyn is not switched on)")]
    OppdateringerIkkeAktivert(Kommunenummer),
    /// `harMidlertidigDeaktivertOppdateringer` is on.
    #[error("kommune {0} has temporarily switched off status updates")]
    OppdateringerMidlertidigDeaktivert(Kommunenummer),
}

impl From<KommuneRefusal> for Rejection {
    /// Unknown kommune: 404. NAV office not routed: 400 at `$.enhetsnummer` (of `tilleggsinformasjonJson`).
    /// A switch that is off: 403, the kommune does not allow it now.
    fn from(refusal: KommuneRefusal) -> Self {
        let message = refusal.to_string();
        match refusal {
            KommuneRefusal::IkkeKonfigurert(_) => Rejection::not_found(message),
            KommuneRefusal::EnhetIkkeTilknyttet { .. } => {
                let path = problem("$.enhetsnummer", "is not a NAV office of this kommune");
                Rejection::invalid(message, vec![path])
            }
            _ => Rejection::forbidden(message),
        }
    }
}

impl KommuneState {
    /// The configuration, if any.
    pub fn konfigurasjon(&self) -> Option<&KommuneKonfigurasjon> {
        match self {
            KommuneState::Ukonfigurert => None,
            KommuneState::Konfigurert { konfigurasjon, .. } => Some(konfigurasjon.as_ref()),
        }
    }

    /// Whether kommune `kommunenummer` (this stream's) takes a søknad or ettersendelse now, sent to `enhet`
    /// when given: `kanMottaSoknader` and not `harMidlertidigDeaktivertMottak`, and the office among
    /// `navEnheter`. On success, the configuration (for its `fiksOrgId`).
    pub fn kan_motta_soknad(
        &self,
        kommunenummer: Kommunenummer,
        enhet: Option<Enhetsnummer>,
    ) -> Result<&KommuneKonfigurasjon, KommuneRefusal> {
        let konfig = self.konfigurasjon().ok_or(KommuneRefusal::IkkeKonfigurert(kommunenummer))?;
        if !konfig.kan_motta_soknader {
            return Err(KommuneRefusal::MottakIkkeAktivert(kommunenummer));
        }
        if konfig.har_midlertidig_deaktivert_mottak {
            return Err(KommuneRefusal::MottakMidlertidigDeaktivert(kommunenummer));
        }
        match enhet {
            Some(enhet) if !konfig.nav_enheter.contains(&enhet) => {
                Err(KommuneRefusal::EnhetIkkeTilknyttet { kommunenummer, enhet })
            }
            _ => Ok(konfig),
        }
    }

    /// Whether the kommune's fagsystem may post status updates now: `kanOppdatereStatus` and not
    /// `harMidlertidigDeaktivertOppdateringer`.
    pub fn kan_oppdatere_status(&self, kommunenummer: Kommunenummer) -> Result<&KommuneKonfigurasjon, KommuneRefusal> {
        let konfig = self.konfigurasjon().ok_or(KommuneRefusal::IkkeKonfigurert(kommunenummer))?;
        if !konfig.kan_oppdatere_status {
            return Err(KommuneRefusal::OppdateringerIkkeAktivert(kommunenummer));
        }
        if konfig.har_midlertidig_deaktivert_oppdateringer {
            return Err(KommuneRefusal::OppdateringerMidlertidigDeaktivert(kommunenummer));
        }
        Ok(konfig)
    }

    /// Whether the organisation `orgnr` may act as this kommune's fagsystem.
    pub fn tillater_fagsystem(&self, orgnr: &Orgnr) -> bool {
        self.konfigurasjon().is_some_and(|k| k.fagsystem_orgnr.contains(orgnr))
    }
}

/// Decides a configuration command.
pub fn decide_kommune(state: &KommuneState, command: KommuneCommand) -> Result<Vec<KommuneEvent>, Rejection> {
    let mut command = match command {
        KommuneCommand::Configure(command) => command,
        KommuneCommand::IssueFiksIoIntegrasjon(issue) => return issue_integrasjon(state, issue),
        KommuneCommand::ReplaceFiksIoSertifikat(replace) => return replace_sertifikat(state, replace),
    };
    // The integration is issued by its own command; a configuration keeps the current one while it names an
    // account, whatever its body says.
    // account, whatever its body says; a new account starts without one (the old integration may not read it).
    command.konfigurasjon.fiks_io_integrasjon = match (state, command.konfigurasjon.fiks_io_konto_id) {
        (KommuneState::Konfigurert { konfigurasjon, .. }, Some(konto))
            if konfigurasjon.fiks_io_konto_id == Some(konto) =>
        {
            konfigurasjon.fiks_io_integrasjon.clone()
        }
        _ => None,
    };
    let problems = problems(&command.konfigurasjon);
    if !problems.is_empty() {
        return Err(Rejection::invalid("the kommune configuration is not valid", problems));
    }
    if let KommuneState::Konfigurert { konfigurasjon, .. } = state {
        if **konfigurasjon == command.konfigurasjon {
            return Ok(Vec::new());
        }
        if konfigurasjon.fiks_org_id != command.konfigurasjon.fiks_org_id {
            return Err(Rejection::conflict(format!(
                "kommune {} belongs to fiksOrgId {}; the fiksOrgId cannot change",
                command.kommunenummer, konfigurasjon.fiks_org_id
            )));
        }
    }
    Ok(vec![KommuneEvent::KommuneKonfigurert(KommuneKonfigurert {
        kommunenummer: command.kommunenummer,
        konfigurasjon: command.konfigurasjon,
        tidspunkt: command.tidspunkt,
    })])
}

fn issue_integrasjon(state: &KommuneState, issue: IssueFiksIoIntegrasjon) -> Result<Vec<KommuneEvent>, Rejection> {
    let KommuneState::Konfigurert { konfigurasjon, .. } = state else {
        return Err(KommuneRefusal::IkkeKonfigurert(issue.kommunenummer).into());
    };
    if konfigurasjon.fiks_io_konto_id.is_none() {
        return Err(Rejection::conflict(format!(
            "kommune {} names no Fiks IO account (fiksIoKontoId): an integration would have nothing to consume",
            issue.kommunenummer
        )));
    }
    let mut konfigurasjon = konfigurasjon.as_ref().clone();
    konfigurasjon.fiks_io_integrasjon = Some(issue.integrasjon);
    Ok(vec![KommuneEvent::KommuneKonfigurert(KommuneKonfigurert {
        kommunenummer: issue.kommunenummer,
        konfigurasjon,
        tidspunkt: issue.tidspunkt,
    })])
}

fn replace_sertifikat(state: &KommuneState, replace: ReplaceFiksIoSertifikat) -> Result<Vec<KommuneEvent>, Rejection> {
    let KommuneState::Konfigurert { konfigurasjon, .. } = state else {
        return Err(KommuneRefusal::IkkeKonfigurert(replace.kommunenummer).into());
    };
    if konfigurasjon.fiks_io_konto_id != Some(replace.konto_id) {
        return Err(Rejection::forbidden(format!(
            "{} is not the Fiks IO account of kommune {}",
            replace.konto_id, replace.kommunenummer
        )));
    }
    if konfigurasjon.fiks_io_sertifikat.as_deref() == Some(replace.sertifikat.as_str()) {
        return Ok(Vec::new());
    }
    let mut konfigurasjon = konfigurasjon.as_ref().clone();
    konfigurasjon.fiks_io_sertifikat = Some(replace.sertifikat);
    Ok(vec![KommuneEvent::KommuneKonfigurert(KommuneKonfigurert {
        kommunenummer: replace.kommunenummer,
        konfigurasjon,
        tidspunkt: replace.tidspunkt,
    })])
}

/// Applies a configuration event.
pub fn evolve_kommune(_state: KommuneState, event: &KommuneEvent) -> KommuneState {
    let KommuneEvent::KommuneKonfigurert(e) = event;
    KommuneState::Konfigurert {
        kommunenummer: e.kommunenummer,
        konfigurasjon: Box::new(e.konfigurasjon.clone()),
        sist_endret: e.tidspunkt.clone(),
    }
}

/// Lists repeated entries and e-mail addresses without an `@`, each at its JSON path.
fn problems(konfig: &KommuneKonfigurasjon) -> Vec<Problem> {
    let mut problems = Vec::new();
    repeated(&konfig.nav_enheter, "$.navEnheter", &mut problems);
    repeated(&konfig.fagsystem_orgnr, "$.fagsystemOrgnr", &mut problems);
    let kontakt = &konfig.kontaktpersoner;
    for (field, list) in [
        ("fagansvarligEpost", &kontakt.fagansvarlig_epost),
        ("tekniskAnsvarligEpost", &kontakt.teknisk_ansvarlig_epost),
    ] {
        for (i, epost) in list.iter().enumerate() {
            let (local, domain) = epost.split_once('@').unwrap_or_default();
            if local.is_empty() || domain.is_empty() || epost.chars().any(char::is_whitespace) {
                problems.push(problem(format!("$.kontaktpersoner.{field}[{i}]"), "is not an e-mail address"));
            }
        }
    }
    problems
}

fn repeated<T: Ord + std::fmt::Display>(items: &[T], path: &str, problems: &mut Vec<Problem>) {
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        if !seen.insert(item) {
            problems.push(problem(format!("{path}[{i}]"), format!("{item} is listed twice")));
        }
    }
}
