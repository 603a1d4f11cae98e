//! Read model `kommune` (kommuneinfo): one row per configured kommune, from `KommuneKonfigurert` events on the
//! `kommune-<kommunenummer>` streams.
//!
//! Each event carries the kommune's whole configuration, so the fold is "the latest event per kommune wins": a
//! batch is reduced to one row per kommune in memory and written with one upsert (guarded by the stream
//! revision, so an older event never overwrites a newer row), and the kommune's NAV offices are rewritten from
//! the stored row. The queries in [`query`] answer what Nav and the write side ask: the `KommuneInfo` of one
//! kommune (DOMAIN.md A.6), all of them, which kommune a NAV office routes to, and which kommuner a Fiks
//! organisation stands for.

mod query;
mod write;

use async_trait::async_trait;
use digisos_schema::events::{KommuneEvent, kommunenummer_of_stream};

use crate::envelope::EventEnvelope;
use crate::projection::{ApplyError, Projection, Tx};

pub use query::{
    KommuneInfo, alle_kommuner, kommune_for_integrasjon, kommune_for_konto, kommune_info, kommuner_for_fiks_org,
    kommuner_for_nav_enhet,
};

/// The projection's name (also written into the queries' SQL: keep them in step).
pub const NAME: &str = "kommune";

/// The `kommune` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct KommuneProjection;

#[async_trait]
impl Projection for KommuneProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        let rows = latest_per_kommune(batch)?;
        if rows.is_empty() {
            return Ok(());
        }
        write::upsert(&rows, model_version, tx).await
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        write::purge(model_version, limit, tx).await
    }
}

/// The newest configuration of each kommune in `batch`. Events on other streams are not this model's business;
/// an event on a kommune stream that does not decode, or names another kommune than its stream, is an error.
fn latest_per_kommune(batch: &[EventEnvelope]) -> Result<Vec<write::Row>, ApplyError> {
    let mut latest = std::collections::BTreeMap::new();
    for event in batch {
        let Some(kommunenummer) = kommunenummer_of_stream(&event.stream) else { continue };
        let decoded = KommuneEvent::decode(&event.event_type, &event.data)
            .map_err(|e| ApplyError::event(event, e.to_string()))?;
        let KommuneEvent::KommuneKonfigurert(konfigurert) = decoded;
        if konfigurert.kommunenummer != kommunenummer {
            return Err(ApplyError::event(
                event,
                format!("the event configures kommune {} on the stream of {kommunenummer}", konfigurert.kommunenummer),
            ));
        }
        // The feed keeps each stream in revision order: a later event of the same kommune replaces an earlier one.
        latest.insert(kommunenummer, write::Row::new(&konfigurert, event.revision_i64()));
    }
    Ok(latest.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Position;
    use serde_json::json;

    fn envelope(stream: &str, revision: u64, event_type: &str, data: serde_json::Value) -> EventEnvelope {
        EventEnvelope {
            stream: stream.into(),
            revision,
            position: Position::new(0, revision + 1),
            event_id: uuid::Uuid::nil(),
            event_type: event_type.into(),
            data,
            metadata: None,
            recorded_at: chrono::Utc::now(),
        }
    }

    fn konfigurert(kommunenummer: &str, enheter: &[&str]) -> serde_json::Value {
        json!({
            "kommunenummer": kommunenummer,
            "tidspunkt": "2024-05-01T10:00:00.000Z",
            "konfigurasjon": {
                "fiksOrgId": "11415cd1-e26d-499a-8421-751457dfcbd5", "navEnheter": enheter,
                "kanMottaSoknader": true, "kanOppdatereStatus": true, "harMidlertidigDeaktivertMottak": false,
                "harMidlertidigDeaktivertOppdateringer": false, "harNksTilgang": false
            }
        })
    }

    #[test]
    fn the_latest_configuration_of_each_kommune_wins_and_other_streams_are_ignored() {
        let batch = [
            envelope("kommune-0301", 0, "KommuneKonfigurert.v1", konfigurert("0301", &["0314"])),
            envelope("sak-3fa85f64-5717-4562-b3fc-2c963f66afa6", 0, "SoknadMottatt.v1", json!({})),
            envelope("kommune-0301", 1, "KommuneKonfigurert.v1", konfigurert("0301", &["0315"])),
        ];
        let rows = latest_per_kommune(&batch).expect("folds");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].revision, 1);
        assert_eq!(rows[0].nav_enheter, json!(["0315"]));
    }

    #[test]
    fn an_undecodable_or_misplaced_kommune_event_is_an_error_at_its_position() {
        let bad = envelope("kommune-0301", 4, "KommuneKonfigurert.v1", json!({"kommunenummer": "0301"}));
        let err = latest_per_kommune(std::slice::from_ref(&bad)).expect_err("payload of the wrong shape");
        assert_eq!(err.position(), Some(bad.position));
        let misplaced = envelope("kommune-0301", 0, "KommuneKonfigurert.v1", konfigurert("4601", &[]));
        assert!(latest_per_kommune(&[misplaced]).is_err());
        let newer = envelope("kommune-0301", 0, "KommuneKonfigurert.v9", konfigurert("0301", &[]));
        assert!(latest_per_kommune(&[newer]).is_err());
    }
}
