//! Redelivery: a delivery the fagsystem has not confirmed within a configurable time is offered again and
//! counted (`LeveranseTilbudtIgjen`, via the case's `OfferDeliveryAgain`), never dropped, as Fiks IO re-sends
//! a message whose receipt did not arrive within its TTL.
//!
//! [`offer_again_overdue`] is one sweep: it reads the waiting deliveries from the `mottak` read model and asks
//! each overdue one's case to offer it again. The read model may lag: a delivery confirmed a moment ago is
//! still listed, and the case's decider then refuses or ignores the offer, which the sweep skips. The
//! [`spawn_redelivery`] task runs a sweep at an interval; `serve` starts it.

use std::time::Duration;

use chrono::Utc;
use digisos_projections::ReadDb;
use digisos_projections::mottak::leveranser_til_ny_levering;
use digisos_schema::events::{LeveranseId, sak_stream};
use digisos_schema::types::{FiksDigisosId, Tidspunkt};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::commands::{self, CommandError, SakAggregate};
use crate::eventstore::{DynEventStore, StreamName};
use crate::sak::{FallBackToMailbox, OfferDeliveryAgain, SakCommand};
use digisos_schema::events::Fallbackgrunn;

/// The deliveries read at once; a sweep pages through every waiting delivery, oldest first, so deliveries
/// offered again a moment ago never hide later ones that are overdue.
const PAGE: u32 = 1000;

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum RedeliveryError {
    /// The read model could not be read.
    #[error(transparent)]
    Read(#[from] digisos_projections::ReadError),
    /// A command failed for another reason than the case refusing it.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Offers every waiting delivery last offered more than `older_than` ago again, and hands every Fiks IO delivery
/// unanswered for `fiks_io_deadline` over to the mailbox (the hub-side deadline: broker TTL is only checked at the
/// head of a queue); returns how many deliveries were offered or handed over.
pub async fn offer_again_overdue(
    store: &DynEventStore,
    db: &ReadDb,
    older_than: Duration,
    fiks_io_deadline: Duration,
) -> Result<usize, RedeliveryError> {
    offer_again_overdue_in_pages(store, db, older_than, fiks_io_deadline, PAGE).await
}

/// [`offer_again_overdue`], reading `page` deliveries at a time.
pub async fn offer_again_overdue_in_pages(
    store: &DynEventStore,
    db: &ReadDb,
    older_than: Duration,
    fiks_io_deadline: Duration,
    page: u32,
) -> Result<usize, RedeliveryError> {
    let older_than = chrono::Duration::from_std(older_than).unwrap_or(chrono::Duration::MAX);
    let fiks_io_deadline = chrono::Duration::from_std(fiks_io_deadline).unwrap_or(chrono::Duration::MAX);
    let now = Utc::now();
    let mut offered = 0;
    let mut after = None;
    loop {
        let rows = leveranser_til_ny_levering(db, after, page).await?;
        let last_page = rows.len() < page.max(1) as usize;
        after = rows.last().map(|row| row.pos);
        for row in rows {
            offered += offer_if_overdue(store, &row, now, older_than, fiks_io_deadline).await?;
        }
        if last_page {
            break;
        }
    }
    if offered > 0 {
        tracing::info!(offered, "unconfirmed deliveries offered again");
    }
    Ok(offered)
}

/// Offers `row` again (or, out on Fiks IO, hands it to the mailbox) when it is overdue at `now`: 1 if it was.
async fn offer_if_overdue(
    store: &DynEventStore,
    row: &digisos_projections::mottak::OverdueLeveranse,
    now: chrono::DateTime<Utc>,
    older_than: chrono::Duration,
    fiks_io_deadline: chrono::Duration,
) -> Result<usize, RedeliveryError> {
    let parsed = (
        Tidspunkt::parse(&row.sist_tilbudt),
        Uuid::parse_str(&row.leveranse_id),
        FiksDigisosId::parse(&row.fiks_digisos_id),
    );
    let (Ok(sist), Ok(id), Ok(sak)) = parsed else {
        tracing::error!(leveranse = %row.leveranse_id, "the mottak read model holds an unreadable delivery");
        return Ok(0);
    };
    let fiks_io = row.kanal == "FIKS_IO";
    let limit = if fiks_io { fiks_io_deadline } else { older_than };
    if now.signed_duration_since(sist.instant()) < limit {
        return Ok(0);
    }
    let Ok(stream) = StreamName::parse(sak_stream(sak)) else { return Ok(0) };
    let tidspunkt = Tidspunkt::from_instant(now);
    let command = if fiks_io {
        SakCommand::FallBackToMailbox(FallBackToMailbox {
            leveranse_id: LeveranseId(id),
            grunn: Fallbackgrunn::Tidsfrist,
            tidspunkt,
        })
    } else {
        SakCommand::OfferDeliveryAgain(OfferDeliveryAgain { leveranse_id: LeveranseId(id), tidspunkt })
    };
    let metadata = commands::metadata("redelivery", None);
    match commands::execute::<SakAggregate>(store, &stream, command, metadata).await {
        Ok(outcome) if outcome.appended > 0 => {
            if fiks_io {
                tracing::warn!(leveranse = %id, "fiks io: no receipt before the deadline; to the mailbox");
                crate::metrics::record_fiks_io_fallback(Fallbackgrunn::Tidsfrist);
            }
            Ok(1)
        }
        Ok(_) => Ok(0),
        // Confirmed or rejected since the read model saw it: nothing to offer.
        Err(CommandError::Rejected(rejection)) => {
            tracing::debug!(leveranse = %id, reason = rejection.message(), "delivery not offered again");
            Ok(0)
        }
        Err(other) => Err(other.into()),
    }
}

/// Runs [`offer_again_overdue`] every `every`, for deliveries unconfirmed for `older_than`, until aborted.
pub fn spawn_redelivery(
    store: DynEventStore,
    db: ReadDb,
    every: Duration,
    older_than: Duration,
    fiks_io_deadline: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(e) = offer_again_overdue(&store, &db, older_than, fiks_io_deadline).await {
                tracing::warn!(error = %e, "redelivery sweep failed; retrying at the next tick");
            }
        }
    })
}
