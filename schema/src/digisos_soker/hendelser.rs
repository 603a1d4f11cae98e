//! The fields of each of the ten hendelse types of `digisos-soker.json` (DOMAIN.md B.3), and their code
//! lists. `type` and `hendelsestidspunkt` are common to all and live on [`super::Hendelse`].
//!
//! Required fields of the schema are plain fields; optional ones are `Option`, skipped when absent so a
//! file round-trips. References (`saksreferanse`, `utbetalingsreferanse`, …) are the fagsystem's free text.

use serde::{Deserialize, Serialize};
use serde_json::Number;

use super::{Filreferanse, Forvaltningsbrev, Vedlegg};
use crate::kodeliste::kodeliste;
use crate::types::{Dato, NavKontor, Tidspunkt};

kodeliste!(
    /// The søknad's status (`soknadsStatus.status`).
    SoknadsStatusVerdi {
        /// The fagsystem has received the søknad (must be in the first update).
        Mottatt = "MOTTATT",
        /// Being processed.
        UnderBehandling = "UNDER_BEHANDLING",
        /// Processing finished.
        Ferdigbehandlet = "FERDIGBEHANDLET",
        /// Will not be processed.
        BehandlesIkke = "BEHANDLES_IKKE",
    }
);

kodeliste!(
    /// The outcome of a vedtak (`vedtakFattet.utfall`).
    Utfall {
        /// Granted.
        Innvilget = "INNVILGET",
        /// Partly granted.
        DelvisInnvilget = "DELVIS_INNVILGET",
        /// Refused.
        Avslatt = "AVSLATT",
        /// Dismissed.
        Avvist = "AVVIST",
    }
);

kodeliste!(
    /// The status of a sak (`saksStatus.status`).
    SaksStatusVerdi {
        /// Being processed.
        UnderBehandling = "UNDER_BEHANDLING",
        /// Processed, but the citizen gets no innsyn in it.
        IkkeInnsyn = "IKKE_INNSYN",
        /// Will not be processed.
        BehandlesIkke = "BEHANDLES_IKKE",
        /// Registered by mistake; hidden.
        Feilregistrert = "FEILREGISTRERT",
    }
);

kodeliste!(
    /// The status of a payment (`utbetaling.status`).
    UtbetalingStatus {
        /// Planned.
        PlanlagtUtbetaling = "PLANLAGT_UTBETALING",
        /// Paid.
        Utbetalt = "UTBETALT",
        /// Stopped.
        Stoppet = "STOPPET",
        /// Cancelled; remove from the citizen's view.
        Annullert = "ANNULLERT",
    }
);

kodeliste!(
    /// The status of a vilkår (`vilkar.status`); `OPPFYLT`/`IKKE_OPPFYLT` are deprecated, read as relevant.
    VilkarStatus {
        /// Relevant for the sak.
        Relevant = "RELEVANT",
        /// Cancelled; remove from the citizen's view.
        Annullert = "ANNULLERT",
        /// Deprecated; read as `RELEVANT`.
        Oppfylt = "OPPFYLT",
        /// Deprecated; read as `RELEVANT`.
        IkkeOppfylt = "IKKE_OPPFYLT",
    }
);

kodeliste!(
    /// The status of a dokumentasjonkrav (`dokumentasjonkrav.status`).
    DokumentasjonkravStatus {
        /// Relevant for the sak.
        Relevant = "RELEVANT",
        /// Satisfied through another channel or document.
        LevertTidligere = "LEVERT_TIDLIGERE",
        /// Cancelled; remove from the citizen's view.
        Annullert = "ANNULLERT",
        /// Deprecated; read as `RELEVANT`.
        Oppfylt = "OPPFYLT",
        /// Deprecated; read as `RELEVANT`.
        IkkeOppfylt = "IKKE_OPPFYLT",
    }
);

/// An amount in kroner, as the JSON number the fagsystem sent (integer or decimal, kept exactly as read).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Belop(pub Number);

impl Belop {
    /// The amount as a float, for display and sums.
    pub fn kroner(&self) -> f64 {
        self.0.as_f64().unwrap_or_default()
    }
}

/// `tildeltNavKontor`: the søknad is handled by this NAV office from now on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TildeltNavKontor {
    /// The office (4-digit enhetsnummer).
    pub nav_kontor: NavKontor,
}

/// `soknadsStatus`: the søknad's new status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoknadsStatus {
    /// The status.
    pub status: SoknadsStatusVerdi,
}

/// The vedtak letter of a `vedtakFattet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vedtaksfil {
    /// Where the letter is.
    pub referanse: Filreferanse,
}

/// `vedtakFattet`: a vedtak under the sosialtjenesteloven was made in a sak.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VedtakFattet {
    /// The sak (`saksStatus.referanse`) the vedtak belongs to.
    pub saksreferanse: String,
    /// The outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utfall: Option<Utfall>,
    /// The vedtak letter.
    pub vedtaksfil: Vedtaksfil,
    /// Attachments to the letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vedlegg: Option<Vec<Vedlegg>>,
}

/// One document asked for in a `dokumentasjonEtterspurt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EtterspurtDokument {
    /// What kind of document (free text or a known type, e.g. "strømfaktura").
    pub dokumenttype: String,
    /// More about what is wanted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tilleggsinformasjon: Option<String>,
    /// Deadline.
    pub innsendelsesfrist: Tidspunkt,
    /// Reference that comes back in `vedlegg.json` as `hendelseReferanse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dokumentreferanse: Option<String>,
}

/// `dokumentasjonEtterspurt`: the complete list of documents asked for now (replaces earlier lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DokumentasjonEtterspurt {
    /// The letter asking for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forvaltningsbrev: Option<Forvaltningsbrev>,
    /// Attachments to the letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vedlegg: Option<Vec<Vedlegg>>,
    /// The documents; empty means nothing more is needed.
    pub dokumenter: Vec<EtterspurtDokument>,
}

/// `forelopigSvar`: a preliminary answer (the case takes longer than usual).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForelopigSvar {
    /// The letter.
    pub forvaltningsbrev: Forvaltningsbrev,
    /// Attachments to the letter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vedlegg: Option<Vec<Vedlegg>>,
}

/// `saksStatus`: a sak within the søknad, created or changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaksStatus {
    /// The sak's reference (what vedtak, utbetalinger, vilkår point to).
    pub referanse: String,
    /// What the sak is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tittel: Option<String>,
    /// Its status; absent means under behandling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SaksStatusVerdi>,
}

/// `utbetaling`: a payment; later ones with the same `utbetalingsreferanse` replace earlier ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Utbetaling {
    /// The payment's own reference.
    pub utbetalingsreferanse: String,
    /// The sak it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saksreferanse: Option<String>,
    /// The rammevedtak it is part of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rammevedtaksreferanse: Option<String>,
    /// Status; absent means planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UtbetalingStatus>,
    /// Amount in kroner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub belop: Option<Belop>,
    /// What it is for (livsopphold, strøm, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beskrivelse: Option<String>,
    /// Due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forfallsdato: Option<Dato>,
    /// Date paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utbetalingsdato: Option<Dato>,
    /// Period start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fom: Option<Dato>,
    /// Period end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tom: Option<Dato>,
    /// Whether someone other than the applicant gets the money (absent is read as true by innsyn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annen_mottaker: Option<bool>,
    /// The payee (applicant, fnr, orgnr or name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mottaker: Option<String>,
    /// The payee's account (11 digits); shown only when the payee is the applicant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kontonummer: Option<String>,
    /// How it is paid (kontooverføring, kontantkort, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utbetalingsmetode: Option<String>,
}

/// `vilkar`: a condition on the vedtak; later ones with the same `vilkarreferanse` replace earlier ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vilkar {
    /// The vilkår's own reference.
    pub vilkarreferanse: String,
    /// The sak it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saksreferanse: Option<String>,
    /// The payments it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utbetalingsreferanse: Option<Vec<String>>,
    /// What it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tittel: Option<String>,
    /// More detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beskrivelse: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VilkarStatus>,
}

/// `dokumentasjonkrav`: documentation required for payments; replaced by later ones with the same reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dokumentasjonkrav {
    /// The krav's own reference.
    pub dokumentasjonkravreferanse: String,
    /// The sak it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saksreferanse: Option<String>,
    /// The payments it applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utbetalingsreferanse: Option<Vec<String>>,
    /// What it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tittel: Option<String>,
    /// More detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beskrivelse: Option<String>,
    /// Deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frist: Option<Tidspunkt>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DokumentasjonkravStatus>,
}

/// `rammevedtak`: a framework decision that payments can refer to (not shown to citizens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rammevedtak {
    /// The rammevedtak's own reference.
    pub rammevedtaksreferanse: String,
    /// The sak it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saksreferanse: Option<String>,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beskrivelse: Option<String>,
    /// Amount in kroner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub belop: Option<Belop>,
    /// Period start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fom: Option<Dato>,
    /// Period end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tom: Option<Dato>,
}
