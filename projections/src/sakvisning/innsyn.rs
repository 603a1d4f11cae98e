//! The citizen's view of a case ([`InnsynSak`], DOMAIN.md B.5 "What the citizen finally sees"), cut from the
//! fold, and the time-dependent part of B.5 ([`InnsynSak::at`]).
//!
//! The view is a GraphQL output type: the doc comments below are the field descriptions a portal developer
//! reads. Times are the formats' own texts: a *tidspunkt* is `YYYY-MM-DDTHH:MM:SS.fffZ` (UTC), a *dato*
//! is `YYYY-MM-DD`. Amounts are kroner.

use async_graphql::{Enum, SimpleObject};
use chrono::{DateTime, Duration, Utc};
use digisos_schema::events::{DokumentInfo, Leveransetype};
use digisos_schema::types::Tidspunkt;
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;
use serde::{Deserialize, Serialize};

use super::fold::{self, FoldOppgave, kravstatus, vilkarstatus};
use super::state::SakState;
use super::typer::{
    Dokumentkilde, Dokumentlenke, Kravstatus, Saksstatus, Soknadsstatus, Utbetalingsstatus, Vedtaksutfall, nedlasting,
};

/// How long tasks derived from the søknad's own attachment list are shown (B.5 post-processing).
pub const OPPGAVER_FRA_SOKNAD_DAGER: i64 = 30;

/// One søknad (case) as the citizen sees it on nav.no.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynSak {
    /// The case id Fiks gave the søknad.
    pub fiks_digisos_id: String,
    /// The receiving kommune (4 digits).
    pub kommunenummer: String,
    /// When the case began: when the søknad was sent, or when the kommune registered a paper søknad (tidspunkt).
    pub soknad_opprettet: String,
    /// When anything last happened to the case (tidspunkt).
    pub sist_oppdatert: String,
    /// True when the kommune registered the case from a paper søknad; such cases have no søknad PDF.
    pub papirsoknad: bool,
    /// The søknad's status.
    pub status: Soknadsstatus,
    /// The NAV office handling the søknad (4-digit enhetsnummer): the one it was sent to, or the latest one
    /// the kommune assigned it to. Null when unknown.
    pub nav_kontor: Option<String>,
    /// When Nav sent the søknad (tidspunkt); null for a paper søknad.
    pub soknad_sendt: Option<String>,
    /// The søknad as PDF; null for a paper søknad.
    pub soknad_pdf: Option<Dokumentlenke>,
    /// The preliminary answer (the case takes longer than usual), when one was sent.
    pub forelopig_svar: Option<InnsynForelopigSvar>,
    /// What happened, oldest first (entries at the same time in the order they took effect).
    pub historikk: Vec<Historikk>,
    /// The saker within the søknad, in the order they appeared; saker registered by mistake are left out.
    pub saker: Vec<InnsynDelsak>,
    /// Documents the citizen is asked to send, by deadline (earliest first, without deadline last).
    pub oppgaver: Vec<InnsynOppgave>,
    /// Conditions attached to the vedtak (relevant ones only), in the order they appeared.
    pub vilkar: Vec<InnsynVilkar>,
    /// Documentation required for payments (relevant ones only), by deadline (earliest first, without last).
    pub dokumentasjonkrav: Vec<InnsynDokumentasjonkrav>,
    /// Payments, planned, made or stopped, in the order the kommune first reported them; cancelled ones are
    /// left out.
    pub utbetalinger: Vec<InnsynUtbetaling>,
    /// Every file of the case, oldest first (the files of one sending in the order they were sent).
    pub dokumenter: Vec<InnsynDokument>,
    /// Deliveries of the søknad and ettersendelser to the kommune, oldest first.
    pub leveranser: Vec<InnsynLeveranse>,
}

/// What kind of thing a history entry records.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Historikktype {
    /// The søknad was sent to the kommune; links to the søknad PDF.
    SoknadSendt,
    /// The kommune received the søknad.
    SoknadMottatt,
    /// The kommune started processing the søknad.
    SoknadUnderBehandling,
    /// The kommune finished processing the søknad.
    SoknadFerdigbehandlet,
    /// The søknad will not be processed, or its status cannot be shown.
    SoknadBehandlesIkke,
    /// The søknad was forwarded to another NAV office.
    SoknadVideresendt,
    /// A paper søknad was assigned its first NAV office.
    SoknadTildeltKontor,
    /// A sak's status cannot be shown on nav.no.
    SakKanIkkeViseStatus,
    /// A vedtak was made in a sak; links to the vedtak letter.
    SakFerdigbehandlet,
    /// The kommune asked for documents; links to the letter.
    DokumentasjonEtterspurt,
    /// The kommune no longer needs the documents it asked for.
    DokumentasjonIkkeLengerNodvendig,
    /// A preliminary answer was sent; links to the letter.
    ForelopigSvar,
    /// The documentation required for payments changed.
    OppgaverOppdatert,
}

/// One entry of the case's history.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Historikk {
    /// When it happened (tidspunkt).
    pub tidspunkt: String,
    /// What kind of entry this is (for icons and translations).
    pub r#type: Historikktype,
    /// A short text in Norwegian (bokmål) to show as is.
    pub tekst: String,
    /// The letter, vedtak or søknad the entry is about; null when none.
    pub dokument: Option<Dokumentlenke>,
}

impl Historikk {
    pub(super) fn ny(
        tidspunkt: &Tidspunkt,
        r#type: Historikktype,
        tekst: String,
        dokument: Option<Dokumentlenke>,
    ) -> Self {
        Historikk { tidspunkt: tidspunkt.to_string(), r#type, tekst, dokument }
    }
}

/// The preliminary answer.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynForelopigSvar {
    /// When it was sent (tidspunkt).
    pub tidspunkt: String,
    /// The letter.
    pub brev: Dokumentlenke,
}

/// One sak within the søknad (what the kommune decides on separately, e.g. "Nødhjelp").
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynDelsak {
    /// The kommune's reference of the sak; `default` for the sak that holds vedtak and payments the kommune
    /// did not place in a sak.
    pub referanse: String,
    /// What the sak is about; "Økonomisk sosialhjelp" when the kommune gave no title.
    pub tittel: String,
    /// The sak's status; `FERDIGBEHANDLET` once it has a vedtak.
    pub status: Saksstatus,
    /// The vedtak, oldest first.
    pub vedtak: Vec<InnsynVedtak>,
}

/// One vedtak.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynVedtak {
    /// The outcome; null when the kommune gave none.
    pub utfall: Option<Vedtaksutfall>,
    /// When the vedtak was made (tidspunkt).
    pub tidspunkt: String,
    /// The vedtak letter.
    pub vedtaksbrev: Dokumentlenke,
}

/// A document the citizen is asked to send.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynOppgave {
    /// What kind of document (the kommune's words, or the attachment type of the søknad when `fraSoknad`).
    pub dokumenttype: String,
    /// More about what is wanted; null when nothing more.
    pub tilleggsinformasjon: Option<String>,
    /// Deadline (tidspunkt); null for tasks from the søknad.
    pub innsendelsesfrist: Option<String>,
    /// The kommune's reference for the document, to send back with the upload; null when none.
    pub dokumentreferanse: Option<String>,
    /// When the document was asked for (tidspunkt).
    pub etterspurt: String,
    /// True when the citizen has sent a file of this type and tilleggsinformasjon since it was asked for.
    pub er_levert: bool,
    /// True when the task comes from the søknad's own list of missing attachments: shown only until the
    /// kommune first asks for documents, and for 30 days after the søknad was sent.
    pub fra_soknad: bool,
}

/// A condition attached to the vedtak.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynVilkar {
    /// The kommune's reference of the vilkår.
    pub referanse: String,
    /// The sak it belongs to; null when not given.
    pub saksreferanse: Option<String>,
    /// What it is about; null when not given.
    pub tittel: Option<String>,
    /// More detail; null when not given.
    pub beskrivelse: Option<String>,
    /// The payments it applies to (their `referanse`).
    pub utbetalingsreferanser: Vec<String>,
    /// When the kommune last changed it (tidspunkt).
    pub sist_endret: String,
}

/// Documentation required for payments.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynDokumentasjonkrav {
    /// The kommune's reference of the krav.
    pub referanse: String,
    /// The sak it belongs to; null when not given.
    pub saksreferanse: Option<String>,
    /// What it is about; null when not given.
    pub tittel: Option<String>,
    /// More detail; null when not given.
    pub beskrivelse: Option<String>,
    /// Deadline (tidspunkt); null when none.
    pub frist: Option<String>,
    /// The payments it applies to (their `referanse`).
    pub utbetalingsreferanser: Vec<String>,
    /// When the kommune last changed it (tidspunkt).
    pub sist_endret: String,
}

/// A payment.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynUtbetaling {
    /// The kommune's reference of the payment.
    pub referanse: String,
    /// The sak it is shown under (`default` when the kommune placed it in no known sak).
    pub saksreferanse: String,
    /// Status.
    pub status: Utbetalingsstatus,
    /// Amount in kroner (0 when the kommune gave none).
    pub belop: f64,
    /// What it is for; null when not given.
    pub beskrivelse: Option<String>,
    /// Due date (dato); null when not given.
    pub forfallsdato: Option<String>,
    /// Date paid (dato); null when not paid or not given.
    pub utbetalingsdato: Option<String>,
    /// Date the payment was stopped (dato); null unless `STOPPET`.
    pub stoppet_dato: Option<String>,
    /// Start of the period it covers (dato); null when not given.
    pub fom: Option<String>,
    /// End of the period it covers (dato); null when not given.
    pub tom: Option<String>,
    /// True when someone other than the citizen gets the money (also when the kommune did not say).
    pub annen_mottaker: bool,
    /// The payee, as the kommune wrote it; null when not given.
    pub mottaker: Option<String>,
    /// The account paid to (11 digits); null unless the kommune said the citizen is the payee.
    pub kontonummer: Option<String>,
    /// How it is paid (e.g. kontooverføring); null when not given.
    pub utbetalingsmetode: Option<String>,
    /// The relevant vilkår that apply to this payment (their `referanse`), in the order of `vilkar`.
    pub vilkarreferanser: Vec<String>,
    /// The relevant dokumentasjonkrav for this payment (their `referanse`), in the order of `dokumentasjonkrav`.
    pub dokumentasjonkravreferanser: Vec<String>,
}

/// A file of the case.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynDokument {
    /// The file's id in the document store.
    pub dokumentlager_dokument_id: String,
    /// The file name as sent.
    pub filnavn: String,
    /// Size in bytes.
    pub storrelse: i64,
    /// Media type, e.g. `application/pdf`.
    pub mimetype: String,
    /// Where the file came from.
    pub kilde: Dokumentkilde,
    /// The attachment type from the sending's `vedlegg.json` (e.g. `faktura`); null when not listed there.
    pub r#type: Option<String>,
    /// The attachment sub-type from `vedlegg.json` (e.g. `strom`); null when not listed there.
    pub tilleggsinfo: Option<String>,
    /// When the file was sent or uploaded (tidspunkt).
    pub tidspunkt: String,
    /// Relative download path (`/digisos/api/v1/dokumentlager/nedlasting/{dokumentlagerDokumentId}`).
    pub url: String,
}

/// What a delivery to the kommune carried.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InnsynLeveransetype {
    /// The søknad.
    Soknad,
    /// An ettersendelse.
    Ettersendelse,
}

/// How a delivery to the kommune stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InnsynLeveransestatus {
    /// In the kommune's mailbox, not yet confirmed.
    Sendt,
    /// The kommune's system confirmed receipt.
    Bekreftet,
    /// The kommune's system could not handle it; see `arsak`.
    Avvist,
}

/// One delivery of the søknad or an ettersendelse to the kommune.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InnsynLeveranse {
    /// The delivery's id.
    pub leveranse_id: String,
    /// What it carried.
    pub r#type: InnsynLeveransetype,
    /// Nav's reference of the søknad or ettersendelse it carried.
    pub nav_ekstern_ref_id: String,
    /// How it stands.
    pub status: InnsynLeveransestatus,
    /// The kommune's reason when `AVVIST`; null otherwise.
    pub arsak: Option<String>,
    /// When it was put in the kommune's mailbox (tidspunkt).
    pub opprettet: String,
    /// When the kommune confirmed or rejected it (tidspunkt); null while `SENDT`.
    pub besvart: Option<String>,
}

impl SakState {
    /// The citizen's view (DOMAIN.md B.5), or None when the case is hidden (deleted, or neither søknad nor
    /// status file: "empty cases are hidden").
    pub fn innsyn(&self) -> Option<InnsynSak> {
        if !self.synlig() {
            return None;
        }
        let identitet = self.identitet.as_ref()?;
        let f = fold::fold(self);
        let mut oppgaver: Vec<InnsynOppgave> = f.oppgaver.iter().map(|o| oppgave(self, o)).collect();
        oppgaver.sort_by(|a, b| frist_orden(a.innsendelsesfrist.as_deref(), b.innsendelsesfrist.as_deref()));

        let vilkar: Vec<InnsynVilkar> = f
            .vilkar
            .iter()
            .filter(|(_, v)| vilkarstatus(v.status.as_ref()) == Kravstatus::Relevant)
            .map(|(t, v)| InnsynVilkar {
                referanse: v.vilkarreferanse.clone(),
                saksreferanse: v.saksreferanse.clone(),
                tittel: v.tittel.clone(),
                beskrivelse: v.beskrivelse.clone(),
                utbetalingsreferanser: v.utbetalingsreferanse.clone().unwrap_or_default(),
                sist_endret: t.to_string(),
            })
            .collect();
        let mut dokumentasjonkrav: Vec<InnsynDokumentasjonkrav> = f
            .dokumentasjonkrav
            .iter()
            .filter(|(_, k)| kravstatus(k.status.as_ref()) == Kravstatus::Relevant)
            .map(|(t, k)| InnsynDokumentasjonkrav {
                referanse: k.dokumentasjonkravreferanse.clone(),
                saksreferanse: k.saksreferanse.clone(),
                tittel: k.tittel.clone(),
                beskrivelse: k.beskrivelse.clone(),
                frist: k.frist.as_ref().map(Tidspunkt::to_string),
                utbetalingsreferanser: k.utbetalingsreferanse.clone().unwrap_or_default(),
                sist_endret: t.to_string(),
            })
            .collect();
        dokumentasjonkrav.sort_by(|a, b| frist_orden(a.frist.as_deref(), b.frist.as_deref()));

        let utbetalinger = f
            .utbetalinger
            .iter()
            .filter(|u| u.status != Utbetalingsstatus::Annullert)
            .map(|u| {
                let d = &u.data;
                let referanse = &d.utbetalingsreferanse;
                InnsynUtbetaling {
                    referanse: referanse.clone(),
                    saksreferanse: u.saksreferanse.clone(),
                    status: u.status,
                    belop: d.belop.as_ref().map(|b| b.kroner()).unwrap_or(0.0),
                    beskrivelse: d.beskrivelse.clone(),
                    forfallsdato: d.forfallsdato.map(|x| x.to_string()),
                    utbetalingsdato: d.utbetalingsdato.map(|x| x.to_string()),
                    stoppet_dato: u.stoppet_dato.clone(),
                    fom: d.fom.map(|x| x.to_string()),
                    tom: d.tom.map(|x| x.to_string()),
                    annen_mottaker: d.annen_mottaker != Some(false),
                    mottaker: d.mottaker.clone(),
                    kontonummer: if d.annen_mottaker == Some(false) { d.kontonummer.clone() } else { None },
                    utbetalingsmetode: d.utbetalingsmetode.clone(),
                    vilkarreferanser: vilkar
                        .iter()
                        .filter(|v| v.utbetalingsreferanser.contains(referanse))
                        .map(|v| v.referanse.clone())
                        .collect(),
                    dokumentasjonkravreferanser: dokumentasjonkrav
                        .iter()
                        .filter(|k| k.utbetalingsreferanser.contains(referanse))
                        .map(|k| k.referanse.clone())
                        .collect(),
                }
            })
            .collect();

        Some(InnsynSak {
            fiks_digisos_id: identitet.fiks_digisos_id.clone(),
            kommunenummer: identitet.kommunenummer.clone(),
            soknad_opprettet: identitet.soknad_opprettet.clone(),
            sist_oppdatert: self.sist_endret().unwrap_or(&identitet.soknad_opprettet).to_owned(),
            papirsoknad: identitet.papirsoknad,
            status: f.status,
            nav_kontor: f.nav_kontor.clone(),
            soknad_sendt: self.soknad.as_ref().map(|s| s.timestamp_sendt.to_string()),
            soknad_pdf: self
                .soknad
                .as_ref()
                .and_then(|s| s.soknad_dokument.as_ref())
                .map(|d| Dokumentlenke::dokumentlager(d.dokumentlager_dokument_id)),
            forelopig_svar: f
                .forelopig_svar
                .as_ref()
                .map(|(t, brev)| InnsynForelopigSvar { tidspunkt: t.to_string(), brev: brev.clone() }),
            historikk: f.historikk.clone(),
            saker: f
                .saker
                .iter()
                .filter(|s| s.synlig())
                .map(|s| InnsynDelsak {
                    referanse: s.referanse.clone(),
                    tittel: s.vist_tittel(),
                    status: s.vist_status(),
                    vedtak: s
                        .vedtak
                        .iter()
                        .map(|v| InnsynVedtak {
                            utfall: v.utfall,
                            tidspunkt: v.tidspunkt.to_string(),
                            vedtaksbrev: v.fil.clone(),
                        })
                        .collect(),
                })
                .collect(),
            oppgaver,
            vilkar,
            dokumentasjonkrav,
            utbetalinger,
            dokumenter: dokumenter(self),
            leveranser: leveranser(self),
        })
    }
}

impl InnsynSak {
    /// The view as seen at `now`: drops the tasks derived from the søknad's own vedlegg.json (B.5
    /// post-processing, "søknad < 30 days old") when the søknad is 30 days old or more at `now`.
    pub fn at(mut self, now: DateTime<Utc>) -> InnsynSak {
        if !soknaden_er_ny(self.soknad_sendt.as_deref(), now) {
            self.oppgaver.retain(|o| !o.fra_soknad);
        }
        self
    }
}

/// Whether a søknad sent at `sendt` is less than 30 days old at `now` (false when there is none).
pub(super) fn soknaden_er_ny(sendt: Option<&str>, now: DateTime<Utc>) -> bool {
    sendt
        .and_then(|s| Tidspunkt::parse(s).ok())
        .is_some_and(|t| now - t.instant() < Duration::days(OPPGAVER_FRA_SOKNAD_DAGER))
}

/// Orders by deadline, earliest first, those without one last.
pub(super) fn frist_orden(a: Option<&str>, b: Option<&str>) -> std::cmp::Ordering {
    let instant = |x: Option<&str>| x.and_then(|s| Tidspunkt::parse(s).ok()).map(|t| t.instant());
    match (instant(a), instant(b)) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

fn oppgave(state: &SakState, o: &FoldOppgave) -> InnsynOppgave {
    InnsynOppgave {
        dokumenttype: o.dokumenttype.clone(),
        tilleggsinformasjon: o.tilleggsinformasjon.clone(),
        innsendelsesfrist: o.innsendelsesfrist.as_ref().map(Tidspunkt::to_string),
        dokumentreferanse: o.dokumentreferanse.clone(),
        etterspurt: o.etterspurt.to_string(),
        er_levert: fold::leverte_filer(state, o) > 0,
        fra_soknad: o.fra_soknad,
    }
}

fn dokumenter(state: &SakState) -> Vec<InnsynDokument> {
    let mut ut = Vec::new();
    if let Some(soknad) = &state.soknad {
        if let Some(pdf) = &soknad.soknad_dokument {
            ut.push(dokument(pdf, Dokumentkilde::Soknad, None, &soknad.timestamp_sendt));
        }
        for fil in &soknad.vedlegg {
            ut.push(dokument(fil, Dokumentkilde::SoknadVedlegg, Some(&soknad.spesifikasjon), &soknad.timestamp_sendt));
        }
    }
    for e in &state.ettersendelser {
        for fil in &e.vedlegg {
            ut.push(dokument(fil, Dokumentkilde::Ettersendelse, Some(&e.spesifikasjon), &e.timestamp_sendt));
        }
    }
    for f in &state.fagsystem_dokumenter {
        ut.push(dokument(&f.dokument, Dokumentkilde::Fagsystem, None, &f.tidspunkt));
    }
    ut.sort_by(|a, b| frist_orden(Some(&a.tidspunkt), Some(&b.tidspunkt)));
    ut
}

fn dokument(
    fil: &DokumentInfo,
    kilde: Dokumentkilde,
    spesifikasjon: Option<&JsonVedleggSpesifikasjon>,
    tidspunkt: &Tidspunkt,
) -> InnsynDokument {
    let vedlegg = spesifikasjon
        .and_then(|s| s.filer().find(|(_, f)| f.filnavn.as_deref() == Some(fil.filnavn.as_str())).map(|(v, _)| v));
    InnsynDokument {
        dokumentlager_dokument_id: fil.dokumentlager_dokument_id.to_string(),
        filnavn: fil.filnavn.clone(),
        storrelse: i64::try_from(fil.storrelse).unwrap_or(i64::MAX),
        mimetype: fil.mimetype.clone(),
        kilde,
        r#type: vedlegg.and_then(|v| v.vedleggstype.clone()),
        tilleggsinfo: vedlegg.and_then(|v| v.tilleggsinfo.clone()),
        tidspunkt: tidspunkt.to_string(),
        url: nedlasting(fil.dokumentlager_dokument_id),
    }
}

fn leveranser(state: &SakState) -> Vec<InnsynLeveranse> {
    state
        .leveranser
        .iter()
        .map(|l| {
            let (status, arsak, besvart) = match (&l.avvist, &l.kvittert) {
                (Some((t, arsak)), _) => (InnsynLeveransestatus::Avvist, Some(arsak.clone()), Some(t.to_string())),
                (None, Some(t)) => (InnsynLeveransestatus::Bekreftet, None, Some(t.to_string())),
                (None, None) => (InnsynLeveransestatus::Sendt, None, None),
            };
            InnsynLeveranse {
                leveranse_id: l.leveranse_id.clone(),
                r#type: match l.leveransetype {
                    Leveransetype::Soknad => InnsynLeveransetype::Soknad,
                    Leveransetype::Ettersendelse => InnsynLeveransetype::Ettersendelse,
                },
                nav_ekstern_ref_id: l.nav_ekstern_ref_id.clone(),
                status,
                arsak,
                opprettet: l.opprettet.to_string(),
                besvart,
            }
        })
        .collect()
}
