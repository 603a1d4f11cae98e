//! The case (DigisosSak) as a Decider: `decide(&state, command) -> events | rejection` and
//! `evolve(state, &event) -> state`, pure functions with no I/O and no clock (STYLE.md "The Decider").
//!
//! The shell around it (HTTP handlers, the mailbox timer) does, per command: read the stream
//! `sak-<fiksDigisosId>`, decode each event ([`SakEvent::decode`]), fold with [`evolve`] from
//! [`SakState::default`], call [`decide`], and append the events with the stream's revision as the expected
//! one (`NoStream` when the state was [`SakState::Ny`]). On a revision conflict it reloads and decides
//! again; an empty list means "already done" and is answered like the first success.
//!
//! Files, by idea: `command.rs` (what can be asked), `state.rs` (what the case remembers), `rejection.rs`
//! (why not, mapped to 400/403/404/409/410), `innsending.rs` (søknad, ettersendelse, paper case, and the
//! idempotency on `navEksternRefId`), `oppdatering.rs` (the digisos-soker diff and the deletion of status
//! updates), `referanser.rs` (file references in hendelser), `filer.rs` (the fagsystem's files),
//! `leveranse.rs` (deliveries to the kommune, and erasing a case), `kommune.rs` (the kommune configuration
//! Decider and its "can it receive now" questions).
//!
//! Deletion, decided here: `DELETE /{fiksOrgId}/{digisosId}` deletes the status updates only (DOMAIN.md
//! A.4): the case, its søknad and its files stay, the case reads as before its first update, and it keeps
//! answering normally (never 410). 410 Gone is for a case that was itself deleted ([`EraseCase`], for
//! retention or erasure): from then on every command on it, a resubmission of its søknad included, is
//! [`Rejection::Gone`], while a stream that never existed is [`Rejection::NotFound`].
//!
//! [`SakEvent::decode`]: digisos_schema::events::SakEvent::decode

mod command;
mod filer;
mod innsending;
mod kommune;
mod leveranse;
mod oppdatering;
mod referanser;
mod rejection;
mod state;

pub use command::{
    ConfirmDelivery, CreatePapersak, DeleteCase, DeleteFiles, EraseCase, Ettersend, FallBackToMailbox,
    OfferDeliveryAgain, RejectDelivery, SakCommand, SubmitSoknad, UpdateDigisosSoker, UploadFiles,
};
pub use digisos_schema::events::SakEvent;
pub use innsending::{ettersendelse_fingerprint, sak_id_for_soknad, soknad_fingerprint};
pub use kommune::{
    Configure, IssueFiksIoIntegrasjon, KommuneCommand, KommuneRefusal, KommuneState, ReplaceFiksIoSertifikat,
    decide_kommune, evolve_kommune,
};
pub use leveranse::MAX_ARSAK_LEN;
pub use rejection::Rejection;
pub use state::{Dokument, Kilde, Leveranse, LeveranseStatus, Sak, SakState, evolve};

use digisos_schema::types::FiksOrgId;

/// Decides a command against the case's state: the events to append (none when it was already done), or
/// why not.
pub fn decide(state: &SakState, command: SakCommand) -> Result<Vec<SakEvent>, Rejection> {
    match command {
        SakCommand::SubmitSoknad(c) => innsending::submit(state, *c),
        SakCommand::Ettersend(c) => innsending::ettersend(state, c),
        SakCommand::CreatePapersak(c) => innsending::create_papersak(state, c),
        SakCommand::UpdateDigisosSoker(c) => oppdatering::update(state, c),
        SakCommand::DeleteCase(c) => oppdatering::delete_case(state, c),
        SakCommand::UploadFiles(c) => filer::upload(state, c),
        SakCommand::DeleteFiles(c) => filer::delete(state, c),
        SakCommand::ConfirmDelivery(c) => leveranse::confirm(state, c),
        SakCommand::RejectDelivery(c) => leveranse::reject(state, c),
        SakCommand::OfferDeliveryAgain(c) => leveranse::offer_again(state, c),
        SakCommand::FallBackToMailbox(c) => leveranse::fall_back(state, c),
        SakCommand::EraseCase(c) => leveranse::erase(state, c),
    }
}

/// Folds a whole history into a state.
pub fn replay<'a>(events: impl IntoIterator<Item = &'a SakEvent>) -> SakState {
    events.into_iter().fold(SakState::default(), evolve)
}

/// The case a command addresses: 404 when it never existed, 410 when it was deleted, and 403 when the
/// command comes from a fagsystem (`fiks_org_id`) that the case does not belong to.
fn existing_sak(state: &SakState, fiks_org_id: Option<FiksOrgId>) -> Result<&Sak, Rejection> {
    match state {
        SakState::Ny => Err(Rejection::not_found("no case with this fiksDigisosId")),
        SakState::Slettet { fiks_digisos_id } => {
            Err(Rejection::Gone { message: format!("case {fiks_digisos_id} has been deleted") })
        }
        SakState::Aktiv(sak) => match fiks_org_id {
            Some(org) if org != sak.fiks_org_id => {
                Err(Rejection::forbidden(format!("case {} does not belong to fiksOrgId {org}", sak.fiks_digisos_id)))
            }
            _ => Ok(sak),
        },
    }
}
