//! Read models `innsyn` and `navsupport`: one row per case, folded from the case's stream by
//! [`crate::sakvisning::SakState`], holding the citizen's view (DOMAIN.md B.5) or Nav support's reduced view
//! (DOMAIN.md D).
//!
//! The fold of B.5 is not incremental in the events (hendelser are sorted by their own time, removed again when a
//! later `digisos-soker.json` drops them, and post-processed), so each row keeps the fold's state beside the view:
//! a batch loads the states of the cases it touches in one query, applies their events in memory, recomputes each
//! view once and writes one row per case. Both projections share this code and differ only in their table and in
//! which view they store; they are separate projections so each can be rebuilt (and versioned) on its own.
//!
//! The stored state also answers the Fiks REST read API: `DigisosSak` and the case's JSON documents are built
//! from it when read ([`SakTilstand`], [`crate::sakvisning::SakState::digisos_sak`]), the citizen's from
//! `innsyn`, Nav support's from `navsupport`.

mod query;
mod write;

use std::collections::HashMap;

use async_trait::async_trait;
use digisos_schema::events::{SakEvent, sak_id_of_stream};

use crate::envelope::EventEnvelope;
use crate::projection::{ApplyError, Projection, Tx};
use crate::sakvisning::SakState;

pub use query::{
    EndretSak, KommuneSak, NAV_VINDU_MANEDER, NavSakRad, SakTilstand, endrede_saker, innsyn_sak,
    innsyn_saker_for_soker, innsyn_tilstand, innsyn_tilstander, innsyn_tilstander_med_id, kommune_saker, nav_sak,
    nav_saker_for_soker, nav_tilstand, nav_tilstander, nav_vindu_start, siste_endring,
};

/// The name of the citizen's read model.
pub const INNSYN: &str = "innsyn";
/// The name of Nav support's read model.
pub const NAVSUPPORT: &str = "navsupport";

/// Which of the two read models a projection writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visning {
    /// The citizen's view, table `innsyn_sak`.
    Innsyn,
    /// Nav support's view, table `navsupport_sak`.
    Navsupport,
}

/// The projection writing one of the two case views.
#[derive(Debug, Clone, Copy)]
pub struct SakProjection(pub Visning);

#[async_trait]
impl Projection for SakProjection {
    fn name(&self) -> &'static str {
        match self.0 {
            Visning::Innsyn => INNSYN,
            Visning::Navsupport => NAVSUPPORT,
        }
    }

    /// 2: the state keeps the document ids of `soknad.json`, each `vedlegg.json` and the current
    /// `digisos-soker.json`, which the REST read API (`DigisosSak`) needs; states of version 1 lack them.
    fn version(&self) -> u32 {
        2
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        let mut order: Vec<String> = Vec::new();
        let mut events: HashMap<String, Vec<(&EventEnvelope, SakEvent)>> = HashMap::new();
        for event in batch {
            let Some(sak_id) = sak_id_of_stream(&event.stream) else { continue };
            let decoded = SakEvent::decode(&event.event_type, &event.data)
                .map_err(|e| ApplyError::event(event, e.to_string()))?;
            let key = sak_id.to_string();
            if !events.contains_key(&key) {
                order.push(key.clone());
            }
            events.entry(key).or_default().push((event, decoded));
        }
        if order.is_empty() {
            return Ok(());
        }
        let table = write::Table::of(self.0);
        let mut conn = crate::sql::Conn::from(tx);
        let mut stored = write::load(&mut conn, table, model_version, &order).await?;
        let mut rows = Vec::with_capacity(order.len());
        for id in order {
            let case_events = events.remove(&id).unwrap_or_default();
            let Some((first, _)) = case_events.first() else { continue };
            let (mut state, revision, opprettet) = match stored.remove(&id) {
                Some(row) => {
                    let state: SakState = serde_json::from_str(&row.state)
                        .map_err(|e| ApplyError::event(first, format!("stored state does not decode: {e}")))?;
                    (state, Some(row.revision), (row.opprettet_commit, row.opprettet_prepare))
                }
                None => (SakState::default(), None, (pos_i64(first.position.commit), pos_i64(first.position.prepare))),
            };
            let mut last = None;
            for (event, decoded) in &case_events {
                // The runner applies each event once (checkpoint and rows commit together); this guard only keeps
                // a replayed event from being folded twice should that promise ever break.
                if revision.is_some_and(|r| event.revision_i64() <= r) {
                    continue;
                }
                state.apply(decoded, event.revision);
                last = Some(*event);
            }
            if let Some(last) = last {
                rows.push(write::Row::new(&id, &state, self.0, last, opprettet)?);
            }
        }
        write::upsert(&mut conn, table, model_version, &rows).await
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        let mut conn = crate::sql::Conn::from(tx);
        write::purge(&mut conn, write::Table::of(self.0), model_version, limit).await
    }
}

/// A feed position part as the `bigint` the tables store.
fn pos_i64(part: u64) -> i64 {
    i64::try_from(part).unwrap_or(i64::MAX)
}
