//! Mellomlagring: the files Nav stores for a søknad (or an ettersendelse) before it is sent, one upload at a
//! time, under the søknad's `navEksternRefId` (DOMAIN.md A.2). A v2 submission takes the files it lists from
//! here into the new case and empties the mellomlagring; what is left behind is swept after a configured age
//! ([`opprydding`]).
//!
//! A Decider like the case's (`src/sak`): [`decide`] and [`evolve`] are pure; [`MellomlagringAggregate`] lets
//! the command shell (`crate::commands::execute`) load, decide and append with optimistic concurrency, so two
//! instances sweeping, or Nav deleting while a submission takes the files, can never both succeed on stale
//! state. The file bytes are in the document store (content-addressed); the events record which blob is which
//! file.

pub mod opprydding;

use digisos_schema::events::{
    DecodeError, FilMellomlagret, MellomlagretFilSlettet, MellomlagringEvent, MellomlagringTomt, Sha512, TomtArsak,
};
use digisos_schema::types::{FiksDigisosId, NavEksternRefId, Tidspunkt};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::commands::Aggregate;
use crate::eventstore::RecordedEvent;
use crate::sak::Rejection;

/// The most files one `navEksternRefId` may hold in mellomlagring (a søknad's vedlegg, with room to spare).
pub const MAX_FILER: usize = 200;

/// The message Nav's `MellomlagringClient` recognises as "nothing stored under this reference" (DOMAIN.md A.2).
pub const FANT_INGEN_DATA: &str = "Fant ingen data i basen knytter til angitt id'en";

/// A file in mellomlagring.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MellomlagretFil {
    /// `filId`.
    pub fil_id: Uuid,
    /// The file name. Personal data.
    pub filnavn: String,
    /// The declared media type.
    pub mimetype: String,
    /// Size of the stored bytes.
    pub storrelse: u64,
    /// Hash of the stored bytes (the blob's name).
    pub sha512: Sha512,
    /// When it was stored.
    pub tidspunkt: Tidspunkt,
}

/// What a mellomlagring holds now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MellomlagringState {
    /// The files, in upload order.
    pub filer: Vec<MellomlagretFil>,
}

impl MellomlagringState {
    /// The file `fil_id`, if stored.
    pub fn fil(&self, fil_id: Uuid) -> Option<&MellomlagretFil> {
        self.filer.iter().find(|f| f.fil_id == fil_id)
    }
}

/// A file to store: everything but the reference, which the command carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NyFil {
    /// The fresh `filId`.
    pub fil_id: Uuid,
    /// The file name. Personal data.
    pub filnavn: String,
    /// The declared media type.
    pub mimetype: String,
    /// Size of the stored bytes.
    pub storrelse: u64,
    /// Hash of the stored bytes.
    pub sha512: Sha512,
}

/// What can be asked of a mellomlagring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MellomlagringCommand {
    /// Store files (one upload request).
    Lagre {
        /// Whose.
        nav_ekstern_ref_id: NavEksternRefId,
        /// The files.
        filer: Vec<NyFil>,
        /// When.
        tidspunkt: Tidspunkt,
    },
    /// Delete one file.
    SlettFil {
        /// Which.
        fil_id: Uuid,
        /// When.
        tidspunkt: Tidspunkt,
    },
    /// Remove the files a v2 submission saw and took into its case.
    TaUt {
        /// The files seen.
        fil_ids: Vec<Uuid>,
        /// The case they went to.
        fiks_digisos_id: FiksDigisosId,
        /// When.
        tidspunkt: Tidspunkt,
    },
    /// Remove every file (Nav's delete-all, or the sweep).
    Tom {
        /// Why.
        arsak: TomtArsak,
        /// The case the files went to, when sent.
        fiks_digisos_id: Option<FiksDigisosId>,
        /// For the sweep: only if every file was stored before this (a file stored since keeps them all).
        eldre_enn: Option<Tidspunkt>,
        /// When.
        tidspunkt: Tidspunkt,
    },
}

/// Decides a command: the events (none: nothing to do) or why not.
///
/// [`MellomlagringCommand::TaUt`] removes only the files named (those a submission saw when it took them), so a
/// file stored in the meantime stays: all of them gone is [`MellomlagringTomt`], some of them one
/// [`MellomlagretFilSlettet`] each.
pub fn decide(state: &MellomlagringState, command: MellomlagringCommand) -> Result<Vec<MellomlagringEvent>, Rejection> {
    match command {
        MellomlagringCommand::Lagre { nav_ekstern_ref_id, filer, tidspunkt } => {
            if state.filer.len() + filer.len() > MAX_FILER {
                return Err(Rejection::invalid(
                    format!(
                        "the mellomlagring of this navEksternRefId holds {} files; at most {MAX_FILER} are kept",
                        state.filer.len()
                    ),
                    Vec::new(),
                ));
            }
            Ok(filer
                .into_iter()
                .filter(|f| state.fil(f.fil_id).is_none())
                .map(|f| {
                    MellomlagringEvent::FilMellomlagret(FilMellomlagret {
                        nav_ekstern_ref_id: nav_ekstern_ref_id.clone(),
                        fil_id: f.fil_id,
                        filnavn: f.filnavn,
                        mimetype: f.mimetype,
                        storrelse: f.storrelse,
                        sha512: f.sha512,
                        tidspunkt: tidspunkt.clone(),
                    })
                })
                .collect())
        }
        MellomlagringCommand::SlettFil { fil_id, tidspunkt } => match state.fil(fil_id) {
            Some(_) => {
                Ok(vec![MellomlagringEvent::MellomlagretFilSlettet(MellomlagretFilSlettet { fil_id, tidspunkt })])
            }
            None => Err(Rejection::not_found(format!("no file {fil_id} in this mellomlagring"))),
        },
        MellomlagringCommand::TaUt { fil_ids, fiks_digisos_id, tidspunkt } => {
            let present: Vec<Uuid> = state.filer.iter().map(|f| f.fil_id).filter(|id| fil_ids.contains(id)).collect();
            if present.is_empty() {
                return Ok(Vec::new());
            }
            if present.len() == state.filer.len() {
                return Ok(vec![MellomlagringEvent::MellomlagringTomt(MellomlagringTomt {
                    arsak: TomtArsak::Sendt,
                    fiks_digisos_id: Some(fiks_digisos_id),
                    antall_filer: u32::try_from(present.len()).unwrap_or(u32::MAX),
                    tidspunkt,
                })]);
            }
            Ok(present
                .into_iter()
                .map(|fil_id| {
                    MellomlagringEvent::MellomlagretFilSlettet(MellomlagretFilSlettet {
                        fil_id,
                        tidspunkt: tidspunkt.clone(),
                    })
                })
                .collect())
        }
        MellomlagringCommand::Tom { arsak, fiks_digisos_id, eldre_enn, tidspunkt } => {
            let fersk = |f: &MellomlagretFil| eldre_enn.as_ref().is_some_and(|grense| f.tidspunkt >= *grense);
            if state.filer.is_empty() || state.filer.iter().any(fersk) {
                return Ok(Vec::new());
            }
            let antall_filer = u32::try_from(state.filer.len()).unwrap_or(u32::MAX);
            Ok(vec![MellomlagringEvent::MellomlagringTomt(MellomlagringTomt {
                arsak,
                fiks_digisos_id,
                antall_filer,
                tidspunkt,
            })])
        }
    }
}

/// Folds one event.
pub fn evolve(mut state: MellomlagringState, event: &MellomlagringEvent) -> MellomlagringState {
    match event {
        MellomlagringEvent::FilMellomlagret(f) => {
            if state.fil(f.fil_id).is_none() {
                state.filer.push(MellomlagretFil {
                    fil_id: f.fil_id,
                    filnavn: f.filnavn.clone(),
                    mimetype: f.mimetype.clone(),
                    storrelse: f.storrelse,
                    sha512: f.sha512.clone(),
                    tidspunkt: f.tidspunkt.clone(),
                });
            }
        }
        MellomlagringEvent::MellomlagretFilSlettet(s) => state.filer.retain(|f| f.fil_id != s.fil_id),
        MellomlagringEvent::MellomlagringTomt(_) => state.filer.clear(),
    }
    state
}

/// The mellomlagring as the command shell sees it.
pub struct MellomlagringAggregate;

impl Aggregate for MellomlagringAggregate {
    const NAME: &'static str = "mellomlagring";
    type State = MellomlagringState;
    type Event = MellomlagringEvent;
    type Command = MellomlagringCommand;

    fn decode(event: &RecordedEvent) -> Result<MellomlagringEvent, DecodeError> {
        MellomlagringEvent::decode(&event.event_type, &event.data)
    }

    fn evolve(state: MellomlagringState, event: &MellomlagringEvent) -> MellomlagringState {
        evolve(state, event)
    }

    fn decide(state: &MellomlagringState, command: MellomlagringCommand) -> Result<Vec<MellomlagringEvent>, Rejection> {
        decide(state, command)
    }

    fn encode(event: &MellomlagringEvent) -> Result<(&'static str, Value), serde_json::Error> {
        Ok((event.event_type(), event.data()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Tidspunkt {
        Tidspunkt::parse("2026-12-01T10:00:00.000Z").expect("t")
    }

    fn fil(n: u8) -> NyFil {
        NyFil {
            fil_id: Uuid::from_u128(u128::from(n)),
            filnavn: format!("f{n}.pdf"),
            mimetype: "application/pdf".into(),
            storrelse: 3,
            sha512: Sha512::of_bytes(&[n; 3]),
        }
    }

    fn run(state: MellomlagringState, command: MellomlagringCommand) -> MellomlagringState {
        decide(&state, command).expect("decided").iter().fold(state, evolve)
    }

    #[test]
    fn files_are_stored_deleted_and_emptied_and_an_empty_one_is_emptied_by_nothing() {
        let r = NavEksternRefId::parse("ref-1").expect("ref");
        let state = run(
            MellomlagringState::default(),
            MellomlagringCommand::Lagre { nav_ekstern_ref_id: r.clone(), filer: vec![fil(1), fil(2)], tidspunkt: t() },
        );
        assert_eq!(state.filer.len(), 2);
        let again = MellomlagringCommand::Lagre { nav_ekstern_ref_id: r, filer: vec![fil(1)], tidspunkt: t() };
        assert!(decide(&state, again).expect("decided").is_empty(), "the same filId twice is stored once");
        let state = run(state, MellomlagringCommand::SlettFil { fil_id: fil(1).fil_id, tidspunkt: t() });
        assert_eq!(state.filer.iter().map(|f| f.fil_id).collect::<Vec<_>>(), vec![fil(2).fil_id]);
        let missing = decide(&state, MellomlagringCommand::SlettFil { fil_id: fil(1).fil_id, tidspunkt: t() });
        assert_eq!(missing.expect_err("gone").status(), 404);
        let fresh = MellomlagringCommand::Tom {
            arsak: TomtArsak::Utlopt,
            fiks_digisos_id: None,
            eldre_enn: Some(t()),
            tidspunkt: t(),
        };
        assert!(decide(&state, fresh).expect("decided").is_empty(), "a file as new as the cut-off keeps them");
        let tom = MellomlagringCommand::Tom {
            arsak: TomtArsak::Utlopt,
            fiks_digisos_id: None,
            eldre_enn: None,
            tidspunkt: t(),
        };
        let state = run(state, tom.clone());
        assert!(state.filer.is_empty());
        assert!(decide(&state, tom).expect("decided").is_empty(), "emptying an empty one appends nothing");
    }

    #[test]
    fn a_submission_takes_out_only_the_files_it_saw() {
        let r = NavEksternRefId::parse("ref-1").expect("ref");
        let lagre = |filer| MellomlagringCommand::Lagre { nav_ekstern_ref_id: r.clone(), filer, tidspunkt: t() };
        let state = run(MellomlagringState::default(), lagre(vec![fil(1), fil(2)]));
        let sak = FiksDigisosId::from_uuid(Uuid::from_u128(9));
        let seen = vec![fil(1).fil_id, fil(2).fil_id];
        // A third file arrives after the submission looked.
        let state = run(state, lagre(vec![fil(3)]));
        let events =
            decide(&state, MellomlagringCommand::TaUt { fil_ids: seen.clone(), fiks_digisos_id: sak, tidspunkt: t() })
                .expect("decided");
        assert_eq!(events.len(), 2, "one deletion per file seen: {events:?}");
        let state = events.iter().fold(state, evolve);
        assert_eq!(state.filer.iter().map(|f| f.fil_id).collect::<Vec<_>>(), vec![fil(3).fil_id]);
        let all = decide(
            &state,
            MellomlagringCommand::TaUt { fil_ids: vec![fil(3).fil_id], fiks_digisos_id: sak, tidspunkt: t() },
        )
        .expect("decided");
        assert!(matches!(all.as_slice(), [MellomlagringEvent::MellomlagringTomt(t)] if t.arsak == TomtArsak::Sendt));
    }

    #[test]
    fn more_than_the_limit_of_files_is_refused() {
        let r = NavEksternRefId::parse("ref-1").expect("ref");
        let many: Vec<NyFil> =
            (0..=MAX_FILER).map(|i| NyFil { fil_id: Uuid::from_u128(i as u128 + 1000), ..fil(1) }).collect();
        let refused = decide(
            &MellomlagringState::default(),
            MellomlagringCommand::Lagre { nav_ekstern_ref_id: r, filer: many, tidspunkt: t() },
        );
        assert_eq!(refused.expect_err("too many").status(), 400);
    }
}
