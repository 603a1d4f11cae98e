//! The enums and small parts both views share: statuses after the fold's mappings, and links to documents.
//!
//! Every enum here is closed: the fold maps the formats' open code lists onto them (deprecated and unknown
//! codes included, see each enum), so a portal can switch on them exhaustively.

use async_graphql::{Enum, SimpleObject};
use digisos_schema::digisos_soker::Filreferanse;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where the download of a document in the hub starts; the document's `dokumentlagerDokumentId` follows.
pub const NEDLASTING: &str = "/digisos/api/v1/dokumentlager/nedlasting/";

/// The relative download path of a document in the hub's document store.
pub(crate) fn nedlasting(id: Uuid) -> String {
    format!("{NEDLASTING}{}", id.hyphenated())
}

/// How far the søknad has come, as the citizen is shown it.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Soknadsstatus {
    /// Sent to the kommune; the fagsystem has not reported anything yet.
    Sendt,
    /// The kommune has received the søknad.
    Mottatt,
    /// The kommune is processing the søknad (also shown while the søknad is reported finished but some sak is
    /// still being processed without a vedtak).
    UnderBehandling,
    /// The kommune has finished processing the søknad.
    Ferdigbehandlet,
    /// The søknad will not be processed, or its status cannot be shown on nav.no.
    BehandlesIkke,
}

/// The status of one sak within the søknad.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Saksstatus {
    /// Being processed (also when the fagsystem gave no status or one this version does not know).
    UnderBehandling,
    /// Processed, but the citizen gets no insight into it on nav.no.
    IkkeInnsyn,
    /// Will not be processed.
    BehandlesIkke,
    /// A vedtak has been made in the sak.
    Ferdigbehandlet,
}

/// The outcome of a vedtak.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Vedtaksutfall {
    /// Granted.
    Innvilget,
    /// Partly granted.
    DelvisInnvilget,
    /// Refused.
    Avslatt,
    /// Dismissed without being considered.
    Avvist,
}

/// The status of a payment.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Utbetalingsstatus {
    /// Planned, not yet paid (also when the fagsystem gave no status or one this version does not know).
    PlanlagtUtbetaling,
    /// Paid.
    Utbetalt,
    /// Stopped; see `stoppetDato`.
    Stoppet,
    /// Cancelled. Only the staff view lists cancelled payments.
    Annullert,
}

/// The status of a vilkår or dokumentasjonkrav, with the deprecated `OPPFYLT`/`IKKE_OPPFYLT` read as `RELEVANT`.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kravstatus {
    /// Applies (also when the fagsystem gave no status).
    Relevant,
    /// Satisfied through another channel or document (dokumentasjonkrav only).
    LevertTidligere,
    /// Cancelled: registered by mistake or replaced by a new vedtak.
    Annullert,
    /// A status this version does not know.
    Ukjent,
}

/// Where a letter or vedtak the fagsystem refers to is stored.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Lagringssted {
    /// In the hub's document store: `url` downloads it.
    Dokumentlager,
    /// In a SvarUt forsendelse the fagsystem keeps: no `url`; `id` and `nr` identify it.
    Svarut,
}

/// A letter, vedtak or søknad PDF a view points to.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dokumentlenke {
    /// Relative download path (`/digisos/api/v1/dokumentlager/nedlasting/{id}`); null for SvarUt documents,
    /// which the hub does not hold.
    pub url: Option<String>,
    /// Where the document is stored.
    pub lagringssted: Lagringssted,
    /// The `dokumentlagerDokumentId`, or the SvarUt forsendelse id.
    pub id: String,
    /// For SvarUt: the file's number in the forsendelse, from 1; null otherwise.
    pub nr: Option<i32>,
}

impl Dokumentlenke {
    /// The link to a document in the hub's store.
    pub(crate) fn dokumentlager(id: Uuid) -> Self {
        Dokumentlenke {
            url: Some(nedlasting(id)),
            lagringssted: Lagringssted::Dokumentlager,
            id: id.to_string(),
            nr: None,
        }
    }

    /// The link for a file reference of `digisos-soker.json`.
    pub(crate) fn fra(referanse: &Filreferanse) -> Self {
        match referanse {
            Filreferanse::Dokumentlager { id } => Dokumentlenke::dokumentlager(*id),
            Filreferanse::Svarut { id, nr } => Dokumentlenke {
                url: None,
                lagringssted: Lagringssted::Svarut,
                id: id.to_string(),
                nr: i32::try_from(*nr).ok(),
            },
        }
    }
}

/// Where a document of the case came from.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Dokumentkilde {
    /// The søknad PDF Nav generated.
    Soknad,
    /// A file sent with the søknad.
    SoknadVedlegg,
    /// A file the citizen sent later (ettersendelse).
    Ettersendelse,
    /// A file the kommune's fagsystem uploaded (letters, vedtak).
    Fagsystem,
}
