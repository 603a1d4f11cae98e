//! [`SakState`]: what the fold remembers about one case between batches, and [`SakState::apply`], which folds
//! one event of the case's stream into it.
//!
//! The state keeps the *inputs* of the views, not the views: the søknad and ettersendelser with their
//! `vedlegg.json`, the deliveries, the fagsystem's files, and the hendelser of `digisos-soker.json` that are
//! present now, in registration order, as the raw JSON the fagsystem sent. The views are computed from it on
//! demand (`fold.rs`), because `digisos-soker.json` is re-sent whole: a hendelse that disappears
//! (`HendelseFjernet`) must take its effect with it, and hendelser are applied by time, not arrival. Keeping
//! the raw JSON also means a hendelse this version cannot read is kept, and read by a later version after a
//! rebuild.
//!
//! Beside the inputs of the views, the state keeps what the Fiks REST read API answers with (`DigisosSak`,
//! DOMAIN.md A.5, built in `digisos_sak.rs`): the stored `soknad.json` and `vedlegg.json` of the søknad and of
//! each ettersendelse, and the current `digisos-soker.json`, each as the [`DokumentInfo`] of its blob. States
//! written before these fields existed decode with them absent (serde defaults); the projections' version was
//! raised with them, so such states are rebuilt.
//!
//! `apply` is idempotent over replays: an event whose stream revision is not above the last one applied is
//! ignored, so a batch delivered twice leaves the state unchanged.

use digisos_schema::events::{DokumentInfo, Fingerprint, Leveransetype, SakEvent};
use digisos_schema::types::Tidspunkt;
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who and where a case is: known once a `SoknadMottatt` or `PapirsakOpprettet` has been applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SakIdentitet {
    /// The case id.
    pub fiks_digisos_id: String,
    /// The applicant's fødselsnummer (11 digits). Personal data: never log it.
    pub soker_fnr: String,
    /// The receiving kommune.
    pub kommunenummer: String,
    /// The kommune's Fiks organisation.
    pub fiks_org_id: String,
    /// Whether the kommune created the case (paper søknad) rather than Nav.
    pub papirsoknad: bool,
    /// When the case began: the søknad's `timestampSendt`, or when the kommune created it (tidspunkt).
    pub soknad_opprettet: String,
}

/// Everything the fold needs to remember about one case; stored as JSON in the read model between batches.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SakState {
    /// The stream revision of the last event applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) revisjon: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) identitet: Option<SakIdentitet>,
    /// Nav's søknad (absent for a paper søknad).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) soknad: Option<Innsending>,
    /// The citizen's ettersendelser, in arrival order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) ettersendelser: Vec<Innsending>,
    /// Deliveries to the kommune's mailbox, in creation order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) leveranser: Vec<LeveranseTilstand>,
    /// Files the fagsystem uploaded and has not deleted, in upload order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) fagsystem_dokumenter: Vec<FagsystemDokument>,
    /// The hendelser of `digisos-soker.json` present now, in registration order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) hendelser: Vec<RegistrertHendelse>,
    /// Whether a `digisos-soker.json` is on the case (received and not deleted since).
    #[serde(default)]
    pub(super) har_digisos_soker: bool,
    /// The current `digisos-soker.json` (`digisosSoker` of `DigisosSak`); absent before the first update, after
    /// the status updates were deleted, and in states written before this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) digisos_soker: Option<GjeldendeDigisosSoker>,
    /// The last `timestampSistOppdatert` given out, kept across a deletion of the status updates so that the
    /// next file's timestamp is still later than any before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sist_oppdatert_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) sist_endret: Option<Tidspunkt>,
    #[serde(default)]
    pub(super) slettet: bool,
}

/// A søknad or an ettersendelse from Nav.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Innsending {
    pub(super) nav_ekstern_ref_id: String,
    /// The NAV office the søknad was sent to (søknad only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) enhetsnummer: Option<String>,
    /// The søknad PDF (søknad only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) soknad_dokument: Option<DokumentInfo>,
    pub(super) vedlegg: Vec<DokumentInfo>,
    pub(super) spesifikasjon: JsonVedleggSpesifikasjon,
    pub(super) timestamp_sendt: Tidspunkt,
    /// The stored `soknad.json` (`originalSoknadNAV.metadata`; søknad only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) metadata: Option<DokumentInfo>,
    /// The stored `vedlegg.json` (`vedleggMetadata`); absent only in states written before this field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) vedlegg_metadata: Option<DokumentInfo>,
}

/// The case's current `digisos-soker.json`, as `DigisosSak.digisosSoker` shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct GjeldendeDigisosSoker {
    /// The stored file (`metadata` is its `dokumentlagerDokumentId`).
    pub(super) metadata: DokumentInfo,
    /// `timestampSistOppdatert`, in milliseconds since the epoch: when the file was received, but always later
    /// than the previous file's (two files within one millisecond still differ), because clients cache the
    /// file under this timestamp.
    pub(super) sist_oppdatert_ms: i64,
}

/// How a delivery to the kommune's mailbox stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct LeveranseTilstand {
    pub(super) leveranse_id: String,
    pub(super) leveransetype: Leveransetype,
    pub(super) nav_ekstern_ref_id: String,
    pub(super) opprettet: Tidspunkt,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) kvittert: Option<Tidspunkt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) avvist: Option<(Tidspunkt, String)>,
}

/// A file the fagsystem uploaded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct FagsystemDokument {
    pub(super) dokument: DokumentInfo,
    pub(super) tidspunkt: Tidspunkt,
}

/// One present hendelse of `digisos-soker.json`, as sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RegistrertHendelse {
    pub(super) fingerprint: Fingerprint,
    pub(super) forekomst: u32,
    pub(super) hendelse: Value,
}

impl SakState {
    /// Folds one decoded event of the case's own stream; `revision` is its stream revision.
    pub fn apply(&mut self, event: &SakEvent, revision: u64) {
        if self.revisjon.is_some_and(|last| revision <= last) {
            return;
        }
        self.revisjon = Some(revision);
        if self.slettet {
            return;
        }
        match event {
            SakEvent::SoknadMottatt(s) => {
                self.endret(&s.timestamp_sendt);
                if self.identitet.is_none() {
                    self.identitet = Some(SakIdentitet {
                        fiks_digisos_id: s.fiks_digisos_id.to_string(),
                        soker_fnr: s.soker_fnr.expose().to_owned(),
                        kommunenummer: s.kommunenummer.to_string(),
                        fiks_org_id: s.fiks_org_id.to_string(),
                        papirsoknad: false,
                        soknad_opprettet: s.timestamp_sendt.to_string(),
                    });
                    self.soknad = Some(Innsending {
                        nav_ekstern_ref_id: s.nav_ekstern_ref_id.to_string(),
                        enhetsnummer: s.enhetsnummer.map(|e| e.to_string()),
                        soknad_dokument: Some(s.soknad_dokument.clone()),
                        vedlegg: s.vedlegg.clone(),
                        spesifikasjon: s.vedlegg_spesifikasjon.clone(),
                        timestamp_sendt: s.timestamp_sendt.clone(),
                        metadata: Some(s.metadata.clone()),
                        vedlegg_metadata: Some(s.vedlegg_metadata.clone()),
                    });
                }
            }
            SakEvent::PapirsakOpprettet(p) => {
                self.endret(&p.tidspunkt);
                if self.identitet.is_none() {
                    self.identitet = Some(SakIdentitet {
                        fiks_digisos_id: p.fiks_digisos_id.to_string(),
                        soker_fnr: p.soker_fnr.expose().to_owned(),
                        kommunenummer: p.kommunenummer.to_string(),
                        fiks_org_id: p.fiks_org_id.to_string(),
                        papirsoknad: true,
                        soknad_opprettet: p.tidspunkt.to_string(),
                    });
                }
            }
            SakEvent::EttersendelseMottatt(e) => {
                self.endret(&e.timestamp_sendt);
                self.ettersendelser.push(Innsending {
                    nav_ekstern_ref_id: e.nav_ekstern_ref_id.to_string(),
                    enhetsnummer: None,
                    soknad_dokument: None,
                    vedlegg: e.vedlegg.clone(),
                    spesifikasjon: e.vedlegg_spesifikasjon.clone(),
                    timestamp_sendt: e.timestamp_sendt.clone(),
                    metadata: None,
                    vedlegg_metadata: Some(e.vedlegg_metadata.clone()),
                });
            }
            SakEvent::LeveranseOpprettet(l) => {
                self.endret(&l.tidspunkt);
                let id = l.leveranse_id.to_string();
                if !self.leveranser.iter().any(|x| x.leveranse_id == id) {
                    self.leveranser.push(LeveranseTilstand {
                        leveranse_id: id,
                        leveransetype: l.leveransetype,
                        nav_ekstern_ref_id: l.nav_ekstern_ref_id.to_string(),
                        opprettet: l.tidspunkt.clone(),
                        kvittert: None,
                        avvist: None,
                    });
                }
            }
            SakEvent::LeveranseTilbudtIgjen(t) => self.endret(&t.tidspunkt),
            SakEvent::LeveranseTilMottak(t) => self.endret(&t.tidspunkt),
            SakEvent::LeveranseKvittert(k) => {
                self.endret(&k.tidspunkt);
                if let Some(l) = self.leveranse(&k.leveranse_id.to_string()) {
                    l.kvittert = Some(k.tidspunkt.clone());
                }
            }
            SakEvent::LeveranseAvvist(a) => {
                self.endret(&a.tidspunkt);
                if let Some(l) = self.leveranse(&a.leveranse_id.to_string()) {
                    l.avvist = Some((a.tidspunkt.clone(), a.arsak.clone()));
                }
            }
            SakEvent::DokumentLastetOpp(d) => {
                self.endret(&d.tidspunkt);
                let id = d.dokument.dokumentlager_dokument_id;
                self.fagsystem_dokumenter.retain(|f| f.dokument.dokumentlager_dokument_id != id);
                self.fagsystem_dokumenter
                    .push(FagsystemDokument { dokument: d.dokument.clone(), tidspunkt: d.tidspunkt.clone() });
            }
            SakEvent::DokumentSlettet(d) => {
                self.endret(&d.tidspunkt);
                self.fagsystem_dokumenter
                    .retain(|f| f.dokument.dokumentlager_dokument_id != d.dokumentlager_dokument_id);
            }
            SakEvent::HendelseRegistrert(h) => {
                let finnes =
                    self.hendelser.iter().any(|x| x.fingerprint == h.fingerprint && x.forekomst == h.forekomst);
                if !finnes {
                    self.hendelser.push(RegistrertHendelse {
                        fingerprint: h.fingerprint.clone(),
                        forekomst: h.forekomst,
                        hendelse: h.hendelse.clone(),
                    });
                }
            }
            SakEvent::HendelseFjernet(h) => {
                self.hendelser.retain(|x| !(x.fingerprint == h.fingerprint && x.forekomst == h.forekomst));
            }
            SakEvent::DigisosSokerOppdatert(d) => {
                self.endret(&d.tidspunkt);
                self.har_digisos_soker = true;
                let mottatt_ms = d.tidspunkt.instant().timestamp_millis();
                let sist_oppdatert_ms = match self.sist_oppdatert_ms {
                    Some(forrige) if forrige >= mottatt_ms => forrige.saturating_add(1),
                    _ => mottatt_ms,
                };
                self.sist_oppdatert_ms = Some(sist_oppdatert_ms);
                self.digisos_soker = Some(GjeldendeDigisosSoker { metadata: d.metadata.clone(), sist_oppdatert_ms });
            }
            SakEvent::StatusoppdateringerSlettet(s) => {
                self.endret(&s.tidspunkt);
                self.hendelser.clear();
                self.har_digisos_soker = false;
                self.digisos_soker = None;
            }
            SakEvent::SakSlettet(s) => {
                self.endret(&s.tidspunkt);
                // Keep only what tells the read model which case and person the deletion concerns.
                *self = SakState {
                    revisjon: self.revisjon,
                    identitet: self.identitet.take(),
                    sist_endret: self.sist_endret.take(),
                    slettet: true,
                    ..SakState::default()
                };
            }
        }
    }

    /// Identity of the case once a SoknadMottatt or PapirsakOpprettet has been applied.
    pub fn identitet(&self) -> Option<&SakIdentitet> {
        self.identitet.as_ref()
    }

    /// The latest time anything happened to the case (max of every event's timestamp, as a tidspunkt string).
    /// Hendelser count through the `DigisosSokerOppdatert` that follows them (their own `hendelsestidspunkt`
    /// is the fagsystem's claim, not when the hub received them).
    pub fn sist_endret(&self) -> Option<&str> {
        self.sist_endret.as_ref().map(Tidspunkt::as_str)
    }

    /// Whether the case was deleted (SakSlettet): views are then None.
    pub fn slettet(&self) -> bool {
        self.slettet
    }

    /// Whether the views show the case: it exists, is not deleted, and has a søknad or a status file.
    pub(super) fn synlig(&self) -> bool {
        let har_statusfil = self.har_digisos_soker || !self.hendelser.is_empty();
        !self.slettet && self.identitet.is_some() && (self.soknad.is_some() || har_statusfil)
    }

    fn endret(&mut self, tidspunkt: &Tidspunkt) {
        if self.sist_endret.as_ref().is_none_or(|t| t < tidspunkt) {
            self.sist_endret = Some(tidspunkt.clone());
        }
    }

    fn leveranse(&mut self, id: &str) -> Option<&mut LeveranseTilstand> {
        self.leveranser.iter_mut().find(|l| l.leveranse_id == id)
    }
}
