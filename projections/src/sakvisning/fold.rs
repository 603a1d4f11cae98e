//! The fold of DOMAIN.md B.5: the present hendelser, sorted, applied one by one to a model of the case that
//! both views are cut from.
//!
//! Sorting is by `hendelsestidspunkt` (the instant), stable over registration order. On a tie a
//! `soknadsStatus` `MOTTATT` goes first and `vilkar`/`dokumentasjonkrav` go last, which gives B.5's two tie
//! rules (`utbetaling` before `vilkar`/`dokumentasjonkrav`, `MOTTATT` before `UNDER_BEHANDLING`) and leaves
//! everything else in the order the fagsystem's files introduced it.
//!
//! A hendelse that does not read as its type (a field of the wrong JSON type, a bad time) is skipped, as is
//! an unknown `type`: the fagsystem's mistakes must not take the citizen's view down. Things that attach to
//! others by reference (a payment to its sak, a vilkår to its payments) are resolved after the whole fold,
//! from the latest state, so the result does not depend on which of two hendelser at the same time came
//! first.

use digisos_schema::digisos_soker::{
    Dokumentasjonkrav, DokumentasjonkravStatus, Hendelse, HendelseData, SaksStatusVerdi, SoknadsStatusVerdi,
    Utbetaling, UtbetalingStatus, Utfall, Vilkar, VilkarStatus,
};
use digisos_schema::types::Tidspunkt;
use digisos_schema::vedlegg::VedleggStatus;
use serde::Deserialize;

use super::innsyn::{Historikk, Historikktype};
use super::state::SakState;
use super::typer::{Dokumentlenke, Kravstatus, Saksstatus, Soknadsstatus, Utbetalingsstatus, Vedtaksutfall};

/// The referanse of the sak that holds vedtak and payments whose own sak is unknown.
pub const DEFAULT_SAKSREFERANSE: &str = "default";
/// The title shown for a sak the fagsystem gave no title.
pub const DEFAULT_SAKSTITTEL: &str = "Økonomisk sosialhjelp";

/// The case after the fold, before either view is cut from it.
#[derive(Debug)]
pub(super) struct Foldet {
    pub(super) status: Soknadsstatus,
    pub(super) mottatt: Option<Tidspunkt>,
    pub(super) nav_kontor: Option<String>,
    pub(super) videresendt: Vec<(Tidspunkt, String)>,
    pub(super) historikk: Vec<Historikk>,
    pub(super) saker: Vec<FoldSak>,
    pub(super) oppgaver: Vec<FoldOppgave>,
    pub(super) forelopig_svar: Option<(Tidspunkt, Dokumentlenke)>,
    pub(super) utbetalinger: Vec<FoldUtbetaling>,
    pub(super) vilkar: Vec<(Tidspunkt, Vilkar)>,
    pub(super) dokumentasjonkrav: Vec<(Tidspunkt, Dokumentasjonkrav)>,
}

/// One sak (`saksStatus.referanse`).
#[derive(Debug)]
pub(super) struct FoldSak {
    pub(super) referanse: String,
    pub(super) tittel: Option<String>,
    pub(super) status: SaksStatusVerdi,
    pub(super) opprettet: Tidspunkt,
    pub(super) vedtak: Vec<FoldVedtak>,
    /// Created by the fold for vedtak or payments without a known sak, not by a `saksStatus`.
    pub(super) implisitt: bool,
}

impl FoldSak {
    pub(super) fn synlig(&self) -> bool {
        self.status != SaksStatusVerdi::Feilregistrert
    }

    pub(super) fn vist_status(&self) -> Saksstatus {
        if !self.vedtak.is_empty() {
            return Saksstatus::Ferdigbehandlet;
        }
        match self.status {
            SaksStatusVerdi::IkkeInnsyn => Saksstatus::IkkeInnsyn,
            SaksStatusVerdi::BehandlesIkke => Saksstatus::BehandlesIkke,
            _ => Saksstatus::UnderBehandling,
        }
    }

    pub(super) fn vist_tittel(&self) -> String {
        self.tittel.clone().unwrap_or_else(|| DEFAULT_SAKSTITTEL.to_owned())
    }
}

/// One vedtak.
#[derive(Debug)]
pub(super) struct FoldVedtak {
    pub(super) tidspunkt: Tidspunkt,
    pub(super) utfall: Option<Vedtaksutfall>,
    pub(super) fil: Dokumentlenke,
}

/// One open task: a document asked for, or (before any request) an attachment the søknad said was missing.
#[derive(Debug, Clone)]
pub(super) struct FoldOppgave {
    pub(super) dokumenttype: String,
    pub(super) tilleggsinformasjon: Option<String>,
    pub(super) innsendelsesfrist: Option<Tidspunkt>,
    pub(super) dokumentreferanse: Option<String>,
    pub(super) etterspurt: Tidspunkt,
    pub(super) fra_soknad: bool,
}

/// One payment, its latest hendelse, and the sak it is shown under (resolved after the fold).
#[derive(Debug)]
pub(super) struct FoldUtbetaling {
    pub(super) data: Utbetaling,
    pub(super) status: Utbetalingsstatus,
    pub(super) stoppet_dato: Option<String>,
    pub(super) saksreferanse: String,
    pub(super) sist_endret: Tidspunkt,
}

/// Maps a vilkår status (absent = relevant; deprecated = relevant).
pub(super) fn vilkarstatus(status: Option<&VilkarStatus>) -> Kravstatus {
    match status {
        None | Some(VilkarStatus::Relevant | VilkarStatus::Oppfylt | VilkarStatus::IkkeOppfylt) => Kravstatus::Relevant,
        Some(VilkarStatus::Annullert) => Kravstatus::Annullert,
        Some(VilkarStatus::Annen(_)) => Kravstatus::Ukjent,
    }
}

/// Maps a dokumentasjonkrav status (absent = relevant; deprecated = relevant).
pub(super) fn kravstatus(status: Option<&DokumentasjonkravStatus>) -> Kravstatus {
    use DokumentasjonkravStatus as S;
    match status {
        None | Some(S::Relevant | S::Oppfylt | S::IkkeOppfylt) => Kravstatus::Relevant,
        Some(S::LevertTidligere) => Kravstatus::LevertTidligere,
        Some(S::Annullert) => Kravstatus::Annullert,
        Some(S::Annen(_)) => Kravstatus::Ukjent,
    }
}

fn utfall(utfall: Option<&Utfall>) -> Option<Vedtaksutfall> {
    match utfall? {
        Utfall::Innvilget => Some(Vedtaksutfall::Innvilget),
        Utfall::DelvisInnvilget => Some(Vedtaksutfall::DelvisInnvilget),
        Utfall::Avslatt => Some(Vedtaksutfall::Avslatt),
        Utfall::Avvist => Some(Vedtaksutfall::Avvist),
        Utfall::Annen(_) => None,
    }
}

/// The present hendelser that read as hendelser, in fold order.
pub(super) fn sorterte_hendelser(state: &SakState) -> Vec<Hendelse> {
    let mut hendelser: Vec<Hendelse> =
        state.hendelser.iter().filter_map(|h| Hendelse::deserialize(&h.hendelse).ok()).collect();
    let rang = |h: &Hendelse| match &h.data {
        HendelseData::SoknadsStatus(s) if s.status == SoknadsStatusVerdi::Mottatt => 0,
        HendelseData::Vilkar(_) | HendelseData::Dokumentasjonkrav(_) => 2,
        _ => 1,
    };
    hendelser.sort_by(|a, b| {
        a.hendelsestidspunkt.instant().cmp(&b.hendelsestidspunkt.instant()).then_with(|| rang(a).cmp(&rang(b)))
    });
    hendelser
}

/// Folds the case. The caller checks that the case is visible.
pub(super) fn fold(state: &SakState) -> Foldet {
    let papirsoknad = state.identitet.as_ref().is_some_and(|i| i.papirsoknad);
    let opprinnelig_kontor = state.soknad.as_ref().and_then(|s| s.enhetsnummer.clone());
    let mut f = Foldet {
        status: Soknadsstatus::Sendt,
        mottatt: None,
        nav_kontor: opprinnelig_kontor.clone(),
        videresendt: Vec::new(),
        historikk: Vec::new(),
        saker: Vec::new(),
        oppgaver: Vec::new(),
        forelopig_svar: None,
        utbetalinger: Vec::new(),
        vilkar: Vec::new(),
        dokumentasjonkrav: Vec::new(),
    };
    if let Some(soknad) = &state.soknad {
        let tekst = match &soknad.enhetsnummer {
            Some(e) => format!("Søknaden med vedlegg er sendt til NAV-kontor {e}."),
            None => "Søknaden med vedlegg er sendt til kommunen.".to_owned(),
        };
        let pdf = soknad.soknad_dokument.as_ref().map(|d| Dokumentlenke::dokumentlager(d.dokumentlager_dokument_id));
        f.historikk.push(Historikk::ny(&soknad.timestamp_sendt, Historikktype::SoknadSendt, tekst, pdf));
    }
    let mut etterspurt_mottatt = false;
    for hendelse in sorterte_hendelser(state) {
        let t = &hendelse.hendelsestidspunkt;
        match &hendelse.data {
            HendelseData::SoknadsStatus(s) => {
                let (status, typ, tekst) = match &s.status {
                    SoknadsStatusVerdi::Mottatt => {
                        let tekst = match &f.nav_kontor {
                            Some(k) => format!("Søknaden med vedlegg er mottatt ved NAV-kontor {k}."),
                            None => "Søknaden med vedlegg er mottatt.".to_owned(),
                        };
                        (Soknadsstatus::Mottatt, Historikktype::SoknadMottatt, tekst)
                    }
                    SoknadsStatusVerdi::UnderBehandling => (
                        Soknadsstatus::UnderBehandling,
                        Historikktype::SoknadUnderBehandling,
                        "Søknaden er under behandling.".to_owned(),
                    ),
                    SoknadsStatusVerdi::Ferdigbehandlet => (
                        Soknadsstatus::Ferdigbehandlet,
                        Historikktype::SoknadFerdigbehandlet,
                        "Søknaden er ferdigbehandlet.".to_owned(),
                    ),
                    SoknadsStatusVerdi::BehandlesIkke => (
                        Soknadsstatus::BehandlesIkke,
                        Historikktype::SoknadBehandlesIkke,
                        "Vi kan ikke vise status for søknaden din på nav.no.".to_owned(),
                    ),
                    SoknadsStatusVerdi::Annen(_) => continue,
                };
                if status == Soknadsstatus::Mottatt && f.mottatt.is_none() {
                    f.mottatt = Some(t.clone());
                }
                f.status = status;
                f.historikk.push(Historikk::ny(t, typ, tekst, None));
            }
            HendelseData::TildeltNavKontor(k) => {
                let kontor = k.nav_kontor.to_string();
                if f.nav_kontor.as_deref() == Some(kontor.as_str()) || opprinnelig_kontor.as_deref() == Some(&kontor) {
                    continue;
                }
                let (typ, tekst) = if papirsoknad && f.nav_kontor.is_none() {
                    (Historikktype::SoknadTildeltKontor, format!("Søknaden er mottatt ved NAV-kontor {kontor}."))
                } else {
                    (
                        Historikktype::SoknadVideresendt,
                        format!("Søknaden med vedlegg er videresendt og mottatt ved NAV-kontor {kontor}."),
                    )
                };
                f.nav_kontor = Some(kontor.clone());
                f.videresendt.push((t.clone(), kontor));
                f.historikk.push(Historikk::ny(t, typ, tekst, None));
            }
            HendelseData::SaksStatus(s) => {
                let status = s.status.clone().unwrap_or(SaksStatusVerdi::UnderBehandling);
                let ikke_vis = matches!(status, SaksStatusVerdi::IkkeInnsyn | SaksStatusVerdi::BehandlesIkke);
                let sak = match f.saker.iter_mut().position(|x| x.referanse == s.referanse) {
                    Some(i) => &mut f.saker[i],
                    None => {
                        f.saker.push(FoldSak {
                            referanse: s.referanse.clone(),
                            tittel: None,
                            status: SaksStatusVerdi::UnderBehandling,
                            opprettet: t.clone(),
                            vedtak: Vec::new(),
                            implisitt: false,
                        });
                        let last = f.saker.len() - 1;
                        &mut f.saker[last]
                    }
                };
                let entret = ikke_vis && sak.status != status;
                if s.tittel.is_some() {
                    sak.tittel.clone_from(&s.tittel);
                }
                sak.status = status;
                sak.implisitt = false;
                if entret {
                    let tekst = match &sak.tittel {
                        Some(tittel) => format!("Vi kan ikke vise status for «{tittel}» på nav.no."),
                        None => "Vi kan ikke vise status for en av sakene dine på nav.no.".to_owned(),
                    };
                    f.historikk.push(Historikk::ny(t, Historikktype::SakKanIkkeViseStatus, tekst, None));
                }
            }
            HendelseData::VedtakFattet(v) => {
                let fil = Dokumentlenke::fra(&v.vedtaksfil.referanse);
                let sak = sak_eller_ny(&mut f.saker, &v.saksreferanse, t);
                sak.vedtak.push(FoldVedtak {
                    tidspunkt: t.clone(),
                    utfall: utfall(v.utfall.as_ref()),
                    fil: fil.clone(),
                });
                let tekst = match &sak.tittel {
                    Some(tittel) => format!("«{tittel}» er ferdigbehandlet."),
                    None => "En sak i søknaden din er ferdigbehandlet.".to_owned(),
                };
                f.historikk.push(Historikk::ny(t, Historikktype::SakFerdigbehandlet, tekst, Some(fil)));
            }
            HendelseData::DokumentasjonEtterspurt(d) => {
                let hadde_oppgaver = etterspurt_mottatt && !f.oppgaver.is_empty();
                etterspurt_mottatt = true;
                f.oppgaver = d
                    .dokumenter
                    .iter()
                    .map(|dok| FoldOppgave {
                        dokumenttype: dok.dokumenttype.clone(),
                        tilleggsinformasjon: dok.tilleggsinformasjon.clone(),
                        innsendelsesfrist: Some(dok.innsendelsesfrist.clone()),
                        dokumentreferanse: dok.dokumentreferanse.clone(),
                        etterspurt: t.clone(),
                        fra_soknad: false,
                    })
                    .collect();
                if let Some(brev) = &d.forvaltningsbrev {
                    let tekst = "Du har fått et brev om dokumentasjon vi trenger. Se oppgavene dine.".to_owned();
                    let lenke = Some(Dokumentlenke::fra(&brev.referanse));
                    f.historikk.push(Historikk::ny(t, Historikktype::DokumentasjonEtterspurt, tekst, lenke));
                }
                if d.dokumenter.is_empty() && hadde_oppgaver && f.status != Soknadsstatus::BehandlesIkke {
                    let tekst = "Vi trenger ikke lenger dokumentasjonen vi har bedt om.".to_owned();
                    f.historikk.push(Historikk::ny(t, Historikktype::DokumentasjonIkkeLengerNodvendig, tekst, None));
                }
            }
            HendelseData::ForelopigSvar(s) => {
                let brev = Dokumentlenke::fra(&s.forvaltningsbrev.referanse);
                f.forelopig_svar = Some((t.clone(), brev.clone()));
                let tekst = "Du har fått et brev om saksbehandlingstiden for søknaden din.".to_owned();
                f.historikk.push(Historikk::ny(t, Historikktype::ForelopigSvar, tekst, Some(brev)));
            }
            HendelseData::Utbetaling(u) => {
                let status = match &u.status {
                    Some(UtbetalingStatus::Utbetalt) => Utbetalingsstatus::Utbetalt,
                    Some(UtbetalingStatus::Stoppet) => Utbetalingsstatus::Stoppet,
                    Some(UtbetalingStatus::Annullert) => Utbetalingsstatus::Annullert,
                    _ => Utbetalingsstatus::PlanlagtUtbetaling,
                };
                let dato = t.instant().format("%Y-%m-%d").to_string();
                match f.utbetalinger.iter_mut().find(|x| x.data.utbetalingsreferanse == u.utbetalingsreferanse) {
                    Some(x) => {
                        x.stoppet_dato = match status {
                            Utbetalingsstatus::Stoppet => x.stoppet_dato.take().or(Some(dato)),
                            _ => None,
                        };
                        x.data = u.clone();
                        x.status = status;
                        x.sist_endret = t.clone();
                    }
                    None => f.utbetalinger.push(FoldUtbetaling {
                        data: u.clone(),
                        status,
                        stoppet_dato: (status == Utbetalingsstatus::Stoppet).then_some(dato),
                        saksreferanse: String::new(),
                        sist_endret: t.clone(),
                    }),
                }
            }
            HendelseData::Vilkar(v) => upsert(&mut f.vilkar, t, v, |x| &x.vilkarreferanse),
            HendelseData::Dokumentasjonkrav(k) => {
                upsert(&mut f.dokumentasjonkrav, t, k, |x| &x.dokumentasjonkravreferanse);
                if kravstatus(k.status.as_ref()) == Kravstatus::Relevant {
                    let tekst = "Dine oppgaver er oppdatert. Les mer i vedtaket.".to_owned();
                    f.historikk.push(Historikk::ny(t, Historikktype::OppgaverOppdatert, tekst, None));
                }
            }
            HendelseData::Rammevedtak(_) | HendelseData::Ukjent(_) => {}
        }
    }

    // Payments go under their sak, or the default sak when it is absent or unknown.
    for i in 0..f.utbetalinger.len() {
        let u = &f.utbetalinger[i];
        let kjent = u.data.saksreferanse.as_ref().filter(|r| f.saker.iter().any(|s| &&s.referanse == r)).cloned();
        let referanse = match kjent {
            Some(r) => r,
            None => {
                let t = u.sist_endret.clone();
                sak_eller_ny(&mut f.saker, DEFAULT_SAKSREFERANSE, &t);
                DEFAULT_SAKSREFERANSE.to_owned()
            }
        };
        f.utbetalinger[i].saksreferanse = referanse;
    }

    // B.5 post-processing: finished, but a sak is still being processed without a vedtak.
    let sak_under_behandling = f
        .saker
        .iter()
        .any(|s| s.synlig() && !s.implisitt && s.vedtak.is_empty() && s.vist_status() == Saksstatus::UnderBehandling);
    if f.status == Soknadsstatus::Ferdigbehandlet && sak_under_behandling {
        f.status = Soknadsstatus::UnderBehandling;
    }

    // B.5 post-processing: before any request from the kommune, the tasks are the søknad's missing attachments.
    if !etterspurt_mottatt && let Some(soknad) = &state.soknad {
        f.oppgaver = soknad
            .spesifikasjon
            .vedlegg
            .iter()
            .filter(|v| v.status == Some(VedleggStatus::VedleggKreves))
            .filter(|v| !(v.vedleggstype.as_deref() == Some("annet") && v.tilleggsinfo.as_deref() == Some("annet")))
            .filter_map(|v| {
                Some(FoldOppgave {
                    dokumenttype: v.vedleggstype.clone()?,
                    tilleggsinformasjon: v.tilleggsinfo.clone(),
                    innsendelsesfrist: None,
                    dokumentreferanse: None,
                    etterspurt: soknad.timestamp_sendt.clone(),
                    fra_soknad: true,
                })
            })
            .collect();
    }
    f
}

fn sak_eller_ny<'a>(saker: &'a mut Vec<FoldSak>, referanse: &str, t: &Tidspunkt) -> &'a mut FoldSak {
    let i = match saker.iter().position(|s| s.referanse == referanse) {
        Some(i) => i,
        None => {
            saker.push(FoldSak {
                referanse: referanse.to_owned(),
                tittel: None,
                status: SaksStatusVerdi::UnderBehandling,
                opprettet: t.clone(),
                vedtak: Vec::new(),
                implisitt: true,
            });
            saker.len() - 1
        }
    };
    &mut saker[i]
}

fn upsert<T: Clone>(liste: &mut Vec<(Tidspunkt, T)>, t: &Tidspunkt, ny: &T, referanse: impl Fn(&T) -> &String) {
    match liste.iter_mut().find(|(_, x)| referanse(x) == referanse(ny)) {
        Some(x) => *x = (t.clone(), ny.clone()),
        None => liste.push((t.clone(), ny.clone())),
    }
}

/// How many files the citizen uploaded (ettersendelse entries `LastetOpp`) for a document of this type and
/// tilleggsinfo after `etter`.
pub(super) fn leverte_filer(state: &SakState, oppgave: &FoldOppgave) -> usize {
    state
        .ettersendelser
        .iter()
        .filter(|e| e.timestamp_sendt.instant() > oppgave.etterspurt.instant())
        .flat_map(|e| &e.spesifikasjon.vedlegg)
        .filter(|v| {
            v.status == Some(VedleggStatus::LastetOpp)
                && v.vedleggstype.as_deref() == Some(oppgave.dokumenttype.as_str())
                && v.tilleggsinfo == oppgave.tilleggsinformasjon
        })
        .map(|v| v.filer.len())
        .sum()
}
