//! The subscription root: `sakOppdatert`, the citizen's case as it changes.

use async_graphql::{Context, Subscription};
use chrono::Utc;
use digisos_projections::saker;
use digisos_projections::sakvisning::InnsynSak;
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::context::{CITIZEN, Only, citizen, deps, error, unavailable};
use digisos_schema::types::FiksDigisosId;

/// The subscription root.
pub struct Subscription;

#[Subscription]
impl Subscription {
    /// The signed-in citizen's case `fiksDigisosId`: first as it is now, then again every time it changes (a
    /// status update, a new document, a delivery confirmed). Only the citizen's own cases; another id gets the
    /// same error as one that does not exist.
    #[graphql(guard = "Only(CITIZEN)")]
    async fn sak_oppdatert(
        &self,
        ctx: &Context<'_>,
        fiks_digisos_id: String,
    ) -> async_graphql::Result<impl Stream<Item = InnsynSak> + use<>> {
        let fnr = citizen(ctx)?.expose().to_owned();
        let id = FiksDigisosId::parse(&fiks_digisos_id)
            .map_err(|e| error("BAD_USER_INPUT", format!("fiksDigisosId: {e}")))?
            .to_string();
        let deps = deps(ctx)?.clone();
        // Listen first, then read: a change between the two is then seen twice (and sent once), never missed.
        let changes =
            deps.read.live.subscribe(&deps.read.db, &deps.read.runner, &deps.store).await.map_err(unavailable)?;
        let db = deps.read.db.clone();
        let current = saker::innsyn_sak(&db, &id, &fnr).await.map_err(unavailable)?;
        let Some(current) = current else { return Err(error("NOT_FOUND", "no such case")) };
        let current = current.at(Utc::now());
        let state = (Some(current), None::<InnsynSak>, changes);
        Ok(futures::stream::unfold(state, move |(pending, mut last, mut changes)| {
            let (db, id, fnr) = (db.clone(), id.clone(), fnr.clone());
            async move {
                if let Some(next) = pending {
                    return Some((next.clone(), (None, Some(next), changes)));
                }
                loop {
                    match changes.recv().await {
                        Ok(change) if change.fiks_digisos_id != id => continue,
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    }
                    match saker::innsyn_sak(&db, &id, &fnr).await {
                        Ok(Some(sak)) => {
                            let sak = sak.at(Utc::now());
                            if last.as_ref() != Some(&sak) {
                                last = Some(sak.clone());
                                return Some((sak, (None, last, changes)));
                            }
                        }
                        // Deleted, or no longer the citizen's: the subscription ends.
                        Ok(None) => return None,
                        Err(e) => {
                            tracing::warn!(error = %e, "a live update could not read its case; ending the subscription");
                            return None;
                        }
                    }
                }
            }
        }))
    }
}
