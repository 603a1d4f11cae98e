//! The Nav support staff's reduced view of a case ([`NavSak`], DOMAIN.md D, the "NAV staff (modia)" column).
//!
//! Staff see the case's facts but not its documents: no links, no file names, no letters' or vedtak's
//! contents. Attachments appear only as type, tilleggsinfo, date and a count of files. The fold is the same as
//! the citizen's (`fold.rs`), so both views agree on status, saker and payments; this view adds what staff
//! need (received time, forwarding history, cancelled payments, every krav status, account numbers).

use async_graphql::SimpleObject;
use chrono::{DateTime, Utc};
use digisos_schema::types::Tidspunkt;
use digisos_schema::vedlegg::VedleggStatus;
use serde::{Deserialize, Serialize};

use super::fold::{self, kravstatus, vilkarstatus};
use super::innsyn::{frist_orden, soknaden_er_ny};
use super::state::SakState;
use super::typer::{Dokumentkilde, Kravstatus, Saksstatus, Soknadsstatus, Utbetalingsstatus, Vedtaksutfall};

/// One søknad (case) as Nav support staff see it.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavSak {
    /// The case id Fiks gave the søknad.
    pub fiks_digisos_id: String,
    /// The receiving kommune (4 digits).
    pub kommunenummer: String,
    /// True when the kommune registered the case from a paper søknad.
    pub papirsoknad: bool,
    /// When the case began: when the søknad was sent, or when the kommune registered the paper søknad
    /// (tidspunkt).
    pub soknad_opprettet: String,
    /// When anything last happened to the case (tidspunkt); staff see cases changed in the last 15 months.
    pub sist_endret: String,
    /// The søknad's status, as the citizen sees it.
    pub status: Soknadsstatus,
    /// When Nav sent the søknad (tidspunkt); null for a paper søknad.
    pub soknad_sendt: Option<String>,
    /// When the kommune first reported the søknad received (tidspunkt); null until then.
    pub mottatt: Option<String>,
    /// The NAV office handling the søknad (4-digit enhetsnummer); null when unknown.
    pub nav_kontor: Option<String>,
    /// Every assignment of the søknad to another NAV office, oldest first.
    pub videresendt: Vec<NavVideresending>,
    /// When a preliminary answer was sent (tidspunkt); null when none.
    pub forelopig_svar: Option<String>,
    /// The saker within the søknad, in the order they appeared; saker registered by mistake are left out.
    pub saker: Vec<NavDelsak>,
    /// Documents the citizen is asked to send, by deadline (earliest first, without deadline last).
    pub oppgaver: Vec<NavOppgave>,
    /// Documentation required for payments, every status, by deadline (earliest first, without last).
    pub dokumentasjonkrav: Vec<NavDokumentasjonkrav>,
    /// Conditions attached to the vedtak, every status, in the order they appeared.
    pub vilkar: Vec<NavVilkar>,
    /// Payments, cancelled ones included, in the order the kommune first reported them.
    pub utbetalinger: Vec<NavUtbetaling>,
    /// Attachments the citizen sent (with the søknad and later), oldest first.
    pub vedlegg: Vec<NavVedlegg>,
}

/// One assignment of the søknad to another NAV office.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavVideresending {
    /// When (tidspunkt).
    pub tidspunkt: String,
    /// The new office (4-digit enhetsnummer).
    pub nav_kontor: String,
}

/// One sak within the søknad.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavDelsak {
    /// The kommune's reference of the sak (`default` for vedtak and payments placed in no sak).
    pub referanse: String,
    /// What the sak is about; "Økonomisk sosialhjelp" when the kommune gave no title.
    pub tittel: String,
    /// The sak's status; `FERDIGBEHANDLET` once it has a vedtak.
    pub status: Saksstatus,
    /// When the sak first appeared (tidspunkt).
    pub opprettet: String,
    /// When its latest vedtak was made (tidspunkt); null while it has none.
    pub avsluttet: Option<String>,
    /// The vedtak, oldest first.
    pub vedtak: Vec<NavVedtak>,
}

/// One vedtak, without its letter.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavVedtak {
    /// When it was made (tidspunkt).
    pub tidspunkt: String,
    /// The outcome; null when the kommune gave none.
    pub utfall: Option<Vedtaksutfall>,
}

/// A document the citizen is asked to send.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavOppgave {
    /// What kind of document.
    pub dokumenttype: String,
    /// More about what is wanted; null when nothing more.
    pub tilleggsinformasjon: Option<String>,
    /// Deadline (tidspunkt); null for tasks from the søknad.
    pub innsendelsesfrist: Option<String>,
    /// When it was asked for (tidspunkt).
    pub etterspurt: String,
    /// How many files of this type and tilleggsinformasjon the citizen has sent since.
    pub antall_filer: i32,
    /// True when the task comes from the søknad's own list of missing attachments (shown for 30 days).
    pub fra_soknad: bool,
}

/// Documentation required for payments.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavDokumentasjonkrav {
    /// The kommune's reference of the krav.
    pub referanse: String,
    /// The sak it belongs to; null when not given.
    pub saksreferanse: Option<String>,
    /// The title of that sak; null when the sak is unknown.
    pub sakstittel: Option<String>,
    /// Status.
    pub status: Kravstatus,
    /// Deadline (tidspunkt); null when none.
    pub frist: Option<String>,
}

/// A condition attached to the vedtak.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavVilkar {
    /// The kommune's reference of the vilkår.
    pub referanse: String,
    /// The sak it belongs to; null when not given.
    pub saksreferanse: Option<String>,
    /// The title of that sak; null when the sak is unknown.
    pub sakstittel: Option<String>,
    /// Status.
    pub status: Kravstatus,
    /// The payments it applies to (their `referanse`).
    pub utbetalingsreferanser: Vec<String>,
}

/// A payment.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavUtbetaling {
    /// The kommune's reference of the payment.
    pub referanse: String,
    /// The sak it is shown under (`default` when placed in no known sak).
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
    /// Whether someone other than the citizen gets the money, as the kommune said; null when it did not say.
    pub annen_mottaker: Option<bool>,
    /// The payee, as the kommune wrote it; null when not given.
    pub mottaker: Option<String>,
    /// The account paid to (11 digits); null when not given.
    pub kontonummer: Option<String>,
    /// How it is paid; null when not given.
    pub utbetalingsmetode: Option<String>,
}

/// An attachment the citizen sent, without its files.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NavVedlegg {
    /// Attachment type (e.g. `faktura`); null when not given.
    pub r#type: Option<String>,
    /// Attachment sub-type (e.g. `strom`); null when not given.
    pub tilleggsinfo: Option<String>,
    /// When it was sent (tidspunkt).
    pub tidspunkt: String,
    /// With the søknad (`SOKNAD_VEDLEGG`) or later (`ETTERSENDELSE`).
    pub kilde: Dokumentkilde,
    /// How many files.
    pub antall_filer: i32,
}

impl SakState {
    /// The Nav support staff's reduced view (DOMAIN.md D), or None when hidden/deleted.
    pub fn nav(&self) -> Option<NavSak> {
        if !self.synlig() {
            return None;
        }
        let identitet = self.identitet.as_ref()?;
        let f = fold::fold(self);
        let sakstittel = |referanse: &Option<String>| {
            referanse.as_ref().and_then(|r| f.saker.iter().find(|s| &s.referanse == r)).map(|s| s.vist_tittel())
        };
        let mut oppgaver: Vec<NavOppgave> = f
            .oppgaver
            .iter()
            .map(|o| NavOppgave {
                dokumenttype: o.dokumenttype.clone(),
                tilleggsinformasjon: o.tilleggsinformasjon.clone(),
                innsendelsesfrist: o.innsendelsesfrist.as_ref().map(Tidspunkt::to_string),
                etterspurt: o.etterspurt.to_string(),
                antall_filer: antall(fold::leverte_filer(self, o)),
                fra_soknad: o.fra_soknad,
            })
            .collect();
        oppgaver.sort_by(|a, b| frist_orden(a.innsendelsesfrist.as_deref(), b.innsendelsesfrist.as_deref()));
        let mut dokumentasjonkrav: Vec<NavDokumentasjonkrav> = f
            .dokumentasjonkrav
            .iter()
            .map(|(_, k)| NavDokumentasjonkrav {
                referanse: k.dokumentasjonkravreferanse.clone(),
                saksreferanse: k.saksreferanse.clone(),
                sakstittel: sakstittel(&k.saksreferanse),
                status: kravstatus(k.status.as_ref()),
                frist: k.frist.as_ref().map(Tidspunkt::to_string),
            })
            .collect();
        dokumentasjonkrav.sort_by(|a, b| frist_orden(a.frist.as_deref(), b.frist.as_deref()));

        let mut vedlegg = Vec::new();
        let innsendinger = self
            .soknad
            .iter()
            .map(|s| (s, Dokumentkilde::SoknadVedlegg))
            .chain(self.ettersendelser.iter().map(|e| (e, Dokumentkilde::Ettersendelse)));
        for (innsending, kilde) in innsendinger {
            for v in &innsending.spesifikasjon.vedlegg {
                if v.status == Some(VedleggStatus::LastetOpp) && !v.filer.is_empty() {
                    vedlegg.push(NavVedlegg {
                        r#type: v.vedleggstype.clone(),
                        tilleggsinfo: v.tilleggsinfo.clone(),
                        tidspunkt: innsending.timestamp_sendt.to_string(),
                        kilde,
                        antall_filer: antall(v.filer.len()),
                    });
                }
            }
        }
        vedlegg.sort_by(|a, b| frist_orden(Some(&a.tidspunkt), Some(&b.tidspunkt)));

        Some(NavSak {
            fiks_digisos_id: identitet.fiks_digisos_id.clone(),
            kommunenummer: identitet.kommunenummer.clone(),
            papirsoknad: identitet.papirsoknad,
            soknad_opprettet: identitet.soknad_opprettet.clone(),
            sist_endret: self.sist_endret().unwrap_or(&identitet.soknad_opprettet).to_owned(),
            status: f.status,
            soknad_sendt: self.soknad.as_ref().map(|s| s.timestamp_sendt.to_string()),
            mottatt: f.mottatt.as_ref().map(Tidspunkt::to_string),
            nav_kontor: f.nav_kontor.clone(),
            videresendt: f
                .videresendt
                .iter()
                .map(|(t, k)| NavVideresending { tidspunkt: t.to_string(), nav_kontor: k.clone() })
                .collect(),
            forelopig_svar: f.forelopig_svar.as_ref().map(|(t, _)| t.to_string()),
            saker: f
                .saker
                .iter()
                .filter(|s| s.synlig())
                .map(|s| NavDelsak {
                    referanse: s.referanse.clone(),
                    tittel: s.vist_tittel(),
                    status: s.vist_status(),
                    opprettet: s.opprettet.to_string(),
                    avsluttet: s.vedtak.iter().map(|v| &v.tidspunkt).max().map(Tidspunkt::to_string),
                    vedtak: s
                        .vedtak
                        .iter()
                        .map(|v| NavVedtak { tidspunkt: v.tidspunkt.to_string(), utfall: v.utfall })
                        .collect(),
                })
                .collect(),
            oppgaver,
            dokumentasjonkrav,
            vilkar: f
                .vilkar
                .iter()
                .map(|(_, v)| NavVilkar {
                    referanse: v.vilkarreferanse.clone(),
                    saksreferanse: v.saksreferanse.clone(),
                    sakstittel: sakstittel(&v.saksreferanse),
                    status: vilkarstatus(v.status.as_ref()),
                    utbetalingsreferanser: v.utbetalingsreferanse.clone().unwrap_or_default(),
                })
                .collect(),
            utbetalinger: f
                .utbetalinger
                .iter()
                .map(|u| {
                    let d = &u.data;
                    NavUtbetaling {
                        referanse: d.utbetalingsreferanse.clone(),
                        saksreferanse: u.saksreferanse.clone(),
                        status: u.status,
                        belop: d.belop.as_ref().map(|b| b.kroner()).unwrap_or(0.0),
                        beskrivelse: d.beskrivelse.clone(),
                        forfallsdato: d.forfallsdato.map(|x| x.to_string()),
                        utbetalingsdato: d.utbetalingsdato.map(|x| x.to_string()),
                        stoppet_dato: u.stoppet_dato.clone(),
                        fom: d.fom.map(|x| x.to_string()),
                        tom: d.tom.map(|x| x.to_string()),
                        annen_mottaker: d.annen_mottaker,
                        mottaker: d.mottaker.clone(),
                        kontonummer: d.kontonummer.clone(),
                        utbetalingsmetode: d.utbetalingsmetode.clone(),
                    }
                })
                .collect(),
            vedlegg,
        })
    }
}

impl NavSak {
    /// The view as seen at `now`: drops the tasks derived from the søknad's own vedlegg.json when the søknad is
    /// 30 days old or more at `now` (as [`super::InnsynSak::at`]).
    pub fn at(mut self, now: DateTime<Utc>) -> NavSak {
        if !soknaden_er_ny(self.soknad_sendt.as_deref(), now) {
            self.oppgaver.retain(|o| !o.fra_soknad);
        }
        self
    }
}

fn antall(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}
