//! The sweep of mellomlagring left behind: files Nav stored for a søknad that was never sent. Every
//! mellomlagring whose newest file is older than the configured age is emptied ([`TomtArsak::Utlopt`]), as
//! Fiks's own clean-up job does (DOMAIN.md A.3), and the removed files are counted in the metrics
//! (`digisos_mellomlagring_files_removed_total{arsak="UTLOPT"}`).
//!
//! Safe on every instance at once: the read model only proposes candidates; each is emptied by a command on its
//! own stream, decided on the stream's current state (a file stored since then keeps the mellomlagring) and
//! appended with the expected revision, so of two instances sweeping the same one, one appends and the other
//! decides "nothing to do". The blobs stay in the document store (content-addressed, possibly shared with a
//! case); they are unreferenced once no event names them.

use std::time::Duration;

use chrono::Utc;
use digisos_projections::ReadDb;
use digisos_projections::mellomlagring::utlopte;
use digisos_schema::events::TomtArsak;
use digisos_schema::types::Tidspunkt;
use tokio::task::JoinHandle;

use super::{MellomlagringAggregate, MellomlagringCommand};
use crate::commands::{self, CommandError};
use crate::eventstore::{DynEventStore, StreamName};

/// The most mellomlagringer one sweep empties (the oldest first; the next sweep continues).
const SWEEP: u32 = 500;

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum OppryddingError {
    /// The read model could not be read.
    #[error(transparent)]
    Read(#[from] digisos_projections::ReadError),
    /// A command failed for another reason than a refusal.
    #[error(transparent)]
    Command(#[from] CommandError),
}

/// Empties every mellomlagring unchanged for longer than `max_age`; returns how many files were removed.
pub async fn sweep(store: &DynEventStore, db: &ReadDb, max_age: Duration) -> Result<u64, OppryddingError> {
    let max_age = chrono::Duration::from_std(max_age).unwrap_or(chrono::Duration::MAX);
    let cutoff = Utc::now().checked_sub_signed(max_age).unwrap_or(chrono::DateTime::<Utc>::MIN_UTC);
    let mut removed = 0;
    for stream in utlopte(db, cutoff.timestamp_millis(), SWEEP).await? {
        let Ok(stream) = StreamName::parse(stream) else {
            tracing::error!("the mellomlagring read model holds an invalid stream name");
            continue;
        };
        let command = MellomlagringCommand::Tom {
            arsak: TomtArsak::Utlopt,
            fiks_digisos_id: None,
            eldre_enn: Some(Tidspunkt::from_instant(cutoff)),
            tidspunkt: Tidspunkt::from_instant(Utc::now()),
        };
        let (state, _, _) = commands::load::<MellomlagringAggregate>(store, &stream).await?;
        let files = state.filer.len() as u64;
        match commands::execute::<MellomlagringAggregate>(store, &stream, command, commands::metadata("system", None))
            .await
        {
            Ok(outcome) if outcome.appended > 0 => {
                removed += files;
                crate::metrics::record_mellomlagring_removed(TomtArsak::Utlopt, files);
            }
            Ok(_) => {}
            Err(CommandError::Rejected(_)) => {}
            Err(other) => return Err(other.into()),
        }
    }
    if removed > 0 {
        tracing::info!(files = removed, "swept mellomlagring left behind");
    }
    Ok(removed)
}

/// Runs [`sweep`] every `interval`, forever (until the task is aborted). Failures are logged and retried at
/// the next interval.
pub fn spawn(store: DynEventStore, db: ReadDb, interval: Duration, max_age: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = sweep(&store, &db, max_age).await {
                tracing::warn!(error = %err, "the mellomlagring sweep failed; retrying at the next interval");
            }
        }
    })
}
