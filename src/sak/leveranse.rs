//! Deliveries to the kommune's mailbox (Fiks IO semantics, DOMAIN.md A.3), and the deletion of a case.
//!
//! A delivery is created with the søknad or ettersendelse it carries (`innsending.rs`) and ends exactly
//! once: confirmed (`kvittering`) or rejected (`avvis`, with a reason Nav and the citizen see). Until then
//! the mailbox may offer it again; each offer is counted, none is dropped. All three commands are safe to
//! retry: the same answer twice appends nothing, and an offer of a delivery that has ended is a no-op
//! (the timer and the fagsystem's answer may race). Only a contradicting answer (rejecting a confirmed
//! delivery, or the reverse, or rejecting again for another reason) is a 409.

use digisos_schema::events::{
    LeveranseAvvist, LeveranseId, LeveranseKvittert, LeveranseTilMottak, LeveranseTilbudtIgjen, SakEvent, SakSlettet,
};

use super::command::{ConfirmDelivery, EraseCase, FallBackToMailbox, OfferDeliveryAgain, RejectDelivery};
use super::existing_sak;
use super::rejection::{Rejection, problem};
use super::state::{Leveranse, LeveranseStatus, Sak, SakState};

/// The longest reason a fagsystem may give for a rejection, in characters.
pub const MAX_ARSAK_LEN: usize = 2000;

fn leveranse(sak: &Sak, id: LeveranseId) -> Result<&Leveranse, Rejection> {
    sak.leveranser
        .get(&id)
        .ok_or_else(|| Rejection::not_found(format!("case {} has no delivery {id}", sak.fiks_digisos_id)))
}

pub(super) fn confirm(state: &SakState, command: ConfirmDelivery) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, Some(command.fiks_org_id))?;
    let id = command.leveranse_id;
    match &leveranse(sak, id)?.status {
        LeveranseStatus::Sendt => {
            Ok(vec![SakEvent::LeveranseKvittert(LeveranseKvittert { leveranse_id: id, tidspunkt: command.tidspunkt })])
        }
        LeveranseStatus::Kvittert => Ok(Vec::new()),
        LeveranseStatus::Avvist { .. } => {
            Err(Rejection::conflict(format!("delivery {id} was rejected and cannot be confirmed")))
        }
    }
}

pub(super) fn reject(state: &SakState, command: RejectDelivery) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, Some(command.fiks_org_id))?;
    let id = command.leveranse_id;
    let status = &leveranse(sak, id)?.status;
    let arsak = command.arsak.trim();
    if arsak.is_empty() || arsak.chars().count() > MAX_ARSAK_LEN {
        let rule = format!("must say why, in 1 to {MAX_ARSAK_LEN} characters");
        return Err(Rejection::invalid("a rejection needs a reason", vec![problem("$.arsak", rule)]));
    }
    match status {
        LeveranseStatus::Sendt => Ok(vec![SakEvent::LeveranseAvvist(LeveranseAvvist {
            leveranse_id: id,
            arsak: arsak.to_owned(),
            tidspunkt: command.tidspunkt,
        })]),
        LeveranseStatus::Avvist { arsak: recorded } if recorded == arsak => Ok(Vec::new()),
        LeveranseStatus::Avvist { .. } => {
            Err(Rejection::conflict(format!("delivery {id} was already rejected with another reason")))
        }
        LeveranseStatus::Kvittert => {
            Err(Rejection::conflict(format!("delivery {id} was confirmed and cannot be rejected")))
        }
    }
}

pub(super) fn offer_again(state: &SakState, command: OfferDeliveryAgain) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, None)?;
    let leveranse = leveranse(sak, command.leveranse_id)?;
    // A delivery out on Fiks IO is the broker's to redeliver until it falls back.
    if leveranse.status != LeveranseStatus::Sendt || leveranse.fiks_io.is_some() {
        return Ok(Vec::new());
    }
    Ok(vec![SakEvent::LeveranseTilbudtIgjen(LeveranseTilbudtIgjen {
        leveranse_id: command.leveranse_id,
        forsok: leveranse.forsok.saturating_add(1),
        tidspunkt: command.tidspunkt,
    })])
}

/// A Fiks IO delivery that is still unanswered goes to the mailbox; one answered, or already there, stays as it
/// is (the deadline timer, the dead-letter queue and a late receipt may race).
pub(super) fn fall_back(state: &SakState, command: FallBackToMailbox) -> Result<Vec<SakEvent>, Rejection> {
    let sak = existing_sak(state, None)?;
    let leveranse = leveranse(sak, command.leveranse_id)?;
    if leveranse.status != LeveranseStatus::Sendt || leveranse.fiks_io.is_none() {
        return Ok(Vec::new());
    }
    Ok(vec![SakEvent::LeveranseTilMottak(LeveranseTilMottak {
        leveranse_id: command.leveranse_id,
        grunn: command.grunn,
        tidspunkt: command.tidspunkt,
    })])
}

pub(super) fn erase(state: &SakState, command: EraseCase) -> Result<Vec<SakEvent>, Rejection> {
    if let SakState::Slettet { .. } = state {
        return Ok(Vec::new());
    }
    existing_sak(state, None)?;
    if command.arsak.trim().is_empty() {
        return Err(Rejection::invalid(
            "deleting a case needs a reason",
            vec![problem("$.arsak", "must not be blank")],
        ));
    }
    Ok(vec![SakEvent::SakSlettet(SakSlettet { arsak: command.arsak, tidspunkt: command.tidspunkt })])
}
