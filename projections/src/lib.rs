//! Read models of fiks-digisos, each a projection of the event store (events in, rows out).
//!
//! Dependencies point `src` → `projections` → `schema`, so this crate does not know the event store: it takes
//! events as [`EventEnvelope`]s and writes rows through sqlx inside a transaction someone else owns. The runner
//! in the service (`fiks_digisos::projection_runner`) reads the feed, opens that transaction, hands the batch to
//! [`Projection::apply`] and commits the checkpoint with the rows, so a read model and its checkpoint are kept or
//! lost together (EVENTSTORE.md guarantee 6).
//!
//! Every read-model table carries a `version` column: the runner rebuilds a projection beside the live one
//! under the next version and switches readers over when it has caught up (`projection_state.active_version`).
//! Queries therefore always select `WHERE version = <active version>`, in the same statement, so a read never
//! mixes two versions.

mod envelope;
pub mod innsynslogg;
pub mod kommune;
pub mod mellomlagring;
pub mod mottak;
mod projection;
pub mod saker;
pub mod sakvisning;
mod sql;

use std::sync::Arc;

pub use envelope::{EventEnvelope, Position};
pub use projection::{ApplyError, Projection, ReadDb, ReadError, Tx};

/// Every projection of the service, in the order the runner starts them.
pub fn all() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(kommune::KommuneProjection),
        Arc::new(mottak::MottakProjection),
        Arc::new(saker::SakProjection(saker::Visning::Innsyn)),
        Arc::new(saker::SakProjection(saker::Visning::Navsupport)),
        Arc::new(innsynslogg::InnsynsloggProjection),
        Arc::new(mellomlagring::MellomlagringProjection),
    ]
}
