//! What a case knows of its own history: [`SakState`], folded from its events by [`evolve`].
//!
//! The state keeps exactly what `decide` needs to judge the next command, and no more: the case's identity
//! (for ownership checks), the fingerprints of what Nav sent (for idempotency), the documents and whether
//! they are gone, the deliveries and how they ended, and the recorded hendelser as a multiset keyed by
//! fingerprint (for the digisos-soker diff and for "is this file still referenced"). Read models for the
//! API are the projections' job, not this.
//!
//! `evolve` is total: an event that does not fit the state (which a correct `decide` never produces) leaves
//! it unchanged rather than panicking, so a replay never fails on history.

use std::collections::BTreeMap;

use digisos_schema::Fnr;
use digisos_schema::events::{
    DigisosSokerOppdatert, DokumentInfo, FiksIoSending, Fingerprint, LeveranseId, Leveransetype, SakEvent,
};
use digisos_schema::types::{FiksDigisosId, FiksOrgId, Kommunenummer, NavEksternRefId};
use serde_json::Value;
use uuid::Uuid;

/// A case as its stream tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SakState {
    /// No events: the case does not exist.
    #[default]
    Ny,
    /// The case exists.
    Aktiv(Box<Sak>),
    /// The case was deleted ([`SakEvent::SakSlettet`]).
    Slettet {
        /// Which case it was.
        fiks_digisos_id: FiksDigisosId,
    },
}

/// An existing case.
#[derive(Debug, Clone, PartialEq)]
pub struct Sak {
    pub(super) fiks_digisos_id: FiksDigisosId,
    pub(super) fiks_org_id: FiksOrgId,
    pub(super) kommunenummer: Kommunenummer,
    pub(super) soker_fnr: Fnr,
    pub(super) soknad: Option<(NavEksternRefId, Fingerprint)>,
    pub(super) ettersendelser: BTreeMap<NavEksternRefId, Fingerprint>,
    pub(super) dokumenter: BTreeMap<Uuid, Dokument>,
    pub(super) leveranser: BTreeMap<LeveranseId, Leveranse>,
    pub(super) digisos_soker: Option<DigisosSokerOppdatert>,
    pub(super) hendelser: BTreeMap<Fingerprint, Vec<Value>>,
}

/// Who put a document on the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kilde {
    /// Nav, with a søknad or an ettersendelse.
    Nav,
    /// The fagsystem, through `/filer`.
    Fagsystem,
}

/// A document of the case.
#[derive(Debug, Clone, PartialEq)]
pub struct Dokument {
    /// What was stored.
    pub info: DokumentInfo,
    /// Who sent it.
    pub kilde: Kilde,
    /// Deleted by the fagsystem.
    pub slettet: bool,
}

/// How a delivery stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeveranseStatus {
    /// In the mailbox, not yet answered.
    Sendt,
    /// Receipt confirmed.
    Kvittert,
    /// Rejected by the fagsystem, with its reason.
    Avvist {
        /// The reason.
        arsak: String,
    },
}

/// One delivery to the kommune.
#[derive(Debug, Clone, PartialEq)]
pub struct Leveranse {
    /// Søknad or ettersendelse.
    pub leveransetype: Leveransetype,
    /// The forsendelse it carries.
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// How it stands.
    pub status: LeveranseStatus,
    /// How many times it was offered (1 at first).
    pub forsok: u32,
    /// Its Fiks IO message while it is out on Fiks IO; `None` in the mailbox (from the start, or after a
    /// fallback).
    pub fiks_io: Option<FiksIoSending>,
}

impl SakState {
    /// The case, if it exists and is not deleted.
    pub fn sak(&self) -> Option<&Sak> {
        match self {
            SakState::Aktiv(sak) => Some(sak),
            _ => None,
        }
    }

    /// The case id, if the case exists or existed.
    pub fn fiks_digisos_id(&self) -> Option<FiksDigisosId> {
        match self {
            SakState::Ny => None,
            SakState::Aktiv(sak) => Some(sak.fiks_digisos_id),
            SakState::Slettet { fiks_digisos_id } => Some(*fiks_digisos_id),
        }
    }
}

impl Sak {
    /// The case id.
    pub fn fiks_digisos_id(&self) -> FiksDigisosId {
        self.fiks_digisos_id
    }

    /// The kommune's Fiks organisation.
    pub fn fiks_org_id(&self) -> FiksOrgId {
        self.fiks_org_id
    }

    /// The kommune.
    pub fn kommunenummer(&self) -> Kommunenummer {
        self.kommunenummer
    }

    /// The applicant.
    pub fn soker_fnr(&self) -> &Fnr {
        &self.soker_fnr
    }

    /// Whether an ettersendelse with this `navEksternRefId` is on the case.
    pub fn har_ettersendelse(&self, nav_ekstern_ref_id: &NavEksternRefId) -> bool {
        self.ettersendelser.contains_key(nav_ekstern_ref_id)
    }

    /// The `navEksternRefId` of Nav's søknad (`None` for a paper case).
    pub fn nav_ekstern_ref_id(&self) -> Option<&NavEksternRefId> {
        self.soknad.as_ref().map(|(id, _)| id)
    }

    /// A document of the case by id (also a deleted one).
    pub fn dokument(&self, id: Uuid) -> Option<&Dokument> {
        self.dokumenter.get(&id)
    }

    /// A delivery by id.
    pub fn leveranse(&self, id: LeveranseId) -> Option<&Leveranse> {
        self.leveranser.get(&id)
    }

    /// Every delivery of the case, by id.
    pub fn leveranser(&self) -> impl Iterator<Item = (&LeveranseId, &Leveranse)> {
        self.leveranser.iter()
    }

    /// The envelope of the current `digisos-soker.json`; `None` before the first update or after a delete.
    pub fn digisos_soker(&self) -> Option<&DigisosSokerOppdatert> {
        self.digisos_soker.as_ref()
    }

    /// How many hendelser are recorded now (counting identical copies).
    pub fn antall_hendelser(&self) -> usize {
        self.hendelser.values().map(Vec::len).sum()
    }

    /// The recorded hendelser, each copy once, grouped by fingerprint.
    pub fn hendelser(&self) -> impl Iterator<Item = (&Fingerprint, &Value)> {
        self.hendelser.iter().flat_map(|(f, copies)| copies.iter().map(move |h| (f, h)))
    }
}

/// Applies one event to the state.
pub fn evolve(state: SakState, event: &SakEvent) -> SakState {
    match (state, event) {
        (SakState::Ny, SakEvent::SoknadMottatt(e)) => {
            let mut sak = Sak::new(e.fiks_digisos_id, e.fiks_org_id, e.kommunenummer, e.soker_fnr.clone());
            sak.soknad = Some((e.nav_ekstern_ref_id.clone(), e.fingerprint.clone()));
            sak.add_documents(std::iter::once(&e.soknad_dokument).chain(&e.vedlegg), Kilde::Nav);
            SakState::Aktiv(Box::new(sak))
        }
        (SakState::Ny, SakEvent::PapirsakOpprettet(e)) => {
            SakState::Aktiv(Box::new(Sak::new(e.fiks_digisos_id, e.fiks_org_id, e.kommunenummer, e.soker_fnr.clone())))
        }
        (SakState::Aktiv(sak), SakEvent::SakSlettet(_)) => SakState::Slettet { fiks_digisos_id: sak.fiks_digisos_id },
        (SakState::Aktiv(mut sak), event) => {
            sak.apply(event);
            SakState::Aktiv(sak)
        }
        (state, _) => state,
    }
}

impl Sak {
    fn new(
        fiks_digisos_id: FiksDigisosId,
        fiks_org_id: FiksOrgId,
        kommunenummer: Kommunenummer,
        soker_fnr: Fnr,
    ) -> Self {
        Sak {
            fiks_digisos_id,
            fiks_org_id,
            kommunenummer,
            soker_fnr,
            soknad: None,
            ettersendelser: BTreeMap::new(),
            dokumenter: BTreeMap::new(),
            leveranser: BTreeMap::new(),
            digisos_soker: None,
            hendelser: BTreeMap::new(),
        }
    }

    fn add_documents<'a>(&mut self, documents: impl IntoIterator<Item = &'a DokumentInfo>, kilde: Kilde) {
        for info in documents {
            let dokument = Dokument { info: info.clone(), kilde, slettet: false };
            self.dokumenter.insert(info.dokumentlager_dokument_id, dokument);
        }
    }

    fn apply(&mut self, event: &SakEvent) {
        match event {
            SakEvent::EttersendelseMottatt(e) => {
                self.ettersendelser.insert(e.nav_ekstern_ref_id.clone(), e.fingerprint.clone());
                self.add_documents(&e.vedlegg, Kilde::Nav);
            }
            SakEvent::LeveranseOpprettet(e) => {
                let leveranse = Leveranse {
                    leveransetype: e.leveransetype,
                    nav_ekstern_ref_id: e.nav_ekstern_ref_id.clone(),
                    status: LeveranseStatus::Sendt,
                    forsok: 1,
                    fiks_io: e.fiks_io,
                };
                self.leveranser.insert(e.leveranse_id, leveranse);
            }
            SakEvent::LeveranseTilbudtIgjen(e) => {
                if let Some(leveranse) = self.leveranser.get_mut(&e.leveranse_id) {
                    leveranse.forsok = e.forsok;
                }
            }
            SakEvent::LeveranseTilMottak(e) => {
                if let Some(leveranse) = self.leveranser.get_mut(&e.leveranse_id) {
                    leveranse.fiks_io = None;
                }
            }
            SakEvent::LeveranseKvittert(e) => {
                if let Some(leveranse) = self.leveranser.get_mut(&e.leveranse_id) {
                    leveranse.status = LeveranseStatus::Kvittert;
                }
            }
            SakEvent::LeveranseAvvist(e) => {
                if let Some(leveranse) = self.leveranser.get_mut(&e.leveranse_id) {
                    leveranse.status = LeveranseStatus::Avvist { arsak: e.arsak.clone() };
                }
            }
            SakEvent::DokumentLastetOpp(e) => self.add_documents([&e.dokument], Kilde::Fagsystem),
            SakEvent::DokumentSlettet(e) => {
                if let Some(dokument) = self.dokumenter.get_mut(&e.dokumentlager_dokument_id) {
                    dokument.slettet = true;
                }
            }
            SakEvent::HendelseRegistrert(e) => {
                self.hendelser.entry(e.fingerprint.clone()).or_default().push(e.hendelse.clone());
            }
            SakEvent::HendelseFjernet(e) => {
                if let Some(copies) = self.hendelser.get_mut(&e.fingerprint) {
                    copies.pop();
                    if copies.is_empty() {
                        self.hendelser.remove(&e.fingerprint);
                    }
                }
            }
            SakEvent::DigisosSokerOppdatert(e) => self.digisos_soker = Some(e.clone()),
            SakEvent::StatusoppdateringerSlettet(_) => {
                self.hendelser.clear();
                self.digisos_soker = None;
            }
            // Creation events on an existing case, and deletion (handled in `evolve`), change nothing here.
            SakEvent::SoknadMottatt(_) | SakEvent::PapirsakOpprettet(_) | SakEvent::SakSlettet(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use digisos_schema::events::{HendelseFjernet, PapirsakOpprettet, SakSlettet, StatusoppdateringerSlettet};
    use digisos_schema::types::Tidspunkt;

    fn tid() -> Tidspunkt {
        Tidspunkt::parse("2024-01-01T00:00:00.000Z").expect("time")
    }

    fn papirsak() -> SakEvent {
        SakEvent::PapirsakOpprettet(PapirsakOpprettet {
            fiks_digisos_id: FiksDigisosId::from_uuid(Uuid::from_u128(1)),
            kommunenummer: Kommunenummer::parse("0301").expect("k"),
            fiks_org_id: FiksOrgId::from_uuid(Uuid::from_u128(2)),
            soker_fnr: Fnr::parse("01017012343").expect("fnr"),
            tidspunkt: tid(),
        })
    }

    #[test]
    fn events_that_do_not_fit_the_state_leave_it_unchanged() {
        let slettet =
            SakEvent::StatusoppdateringerSlettet(StatusoppdateringerSlettet { antall_hendelser: 0, tidspunkt: tid() });
        assert_eq!(evolve(SakState::Ny, &slettet), SakState::Ny, "no case yet");

        let aktiv = evolve(SakState::Ny, &papirsak());
        let unknown = SakEvent::HendelseFjernet(HendelseFjernet {
            fingerprint: Fingerprint::of_bytes(b"never recorded"),
            forekomst: 0,
        });
        assert_eq!(evolve(aktiv.clone(), &unknown), aktiv);
        assert_eq!(evolve(aktiv.clone(), &papirsak()), aktiv, "a second creation changes nothing");
    }

    #[test]
    fn an_erased_case_stays_erased_and_keeps_its_id() {
        let aktiv = evolve(SakState::Ny, &papirsak());
        let erased = evolve(aktiv, &SakEvent::SakSlettet(SakSlettet { arsak: "test".into(), tidspunkt: tid() }));
        let id = FiksDigisosId::from_uuid(Uuid::from_u128(1));
        assert_eq!(erased, SakState::Slettet { fiks_digisos_id: id });
        assert_eq!(evolve(erased.clone(), &papirsak()), erased);
        assert_eq!(erased.fiks_digisos_id(), Some(id));
        assert!(erased.sak().is_none());
    }
}
