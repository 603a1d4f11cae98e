//! Many cases at once, straight into the event store, shaped exactly like the ones the service writes.
//!
//! One søknad is submitted over HTTP; its case stream becomes the template. Each seeded case is a copy under its
//! own case id, Nav reference, delivery id and citizen (the values are replaced in the events' JSON), appended
//! with the [`EventStore`](fiks_digisos::eventstore::EventStore) trait by many concurrent writers, one append of the
//! whole stream per case: the projections then fold them as they fold real cases.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use digisos_schema::events::sak_stream;
use digisos_schema::types::FiksDigisosId;
use serde_json::Value;
use uuid::Uuid;

use super::app::BenchApp;
use super::client::soknad_body;
use fiks_digisos::eventstore::{DynEventStore, ExpectedRevision, NewEvent, Position, StreamName};

/// A captured case stream and the values that differ between cases.
#[derive(Clone, Debug)]
pub struct CaseTemplate {
    /// `(event type, data as JSON text, metadata)` of each event, in order.
    events: Vec<(String, String, Option<Value>)>,
    /// The case id, the citizen, and the other ids to replace (Nav reference, delivery ids).
    id: String,
    fnr: String,
    others: Vec<String>,
    /// Distinguishes this run's ids from another run's.
    nonce: u16,
}

impl CaseTemplate {
    /// Submits a søknad of `fnr` to `app` and captures its case stream.
    pub async fn capture(app: &BenchApp, fnr: &str) -> Result<Self, String> {
        let token = app.citizen(fnr)?;
        let (id, position) = app.submit(&token, soknad_body(fnr, 2000, u64::MAX)?).await?;
        app.caught_up(position).await?;
        let case = FiksDigisosId::parse(&id).map_err(|e| format!("case id {id}: {e}"))?;
        let stream = StreamName::parse(sak_stream(case)).map_err(|e| e.to_string())?;
        let recorded = app.store.read_stream(&stream, 0, 1000).await.map_err(|e| e.to_string())?;
        let mut others = Vec::new();
        let mut events = Vec::new();
        for event in recorded {
            for key in ["navEksternRefId", "leveranseId"] {
                if let Some(value) = event.data.get(key).and_then(Value::as_str)
                    && !others.iter().any(|o| o == value)
                {
                    others.push(value.to_owned());
                }
            }
            let data = serde_json::to_string(&event.data).map_err(|e| e.to_string())?;
            events.push((event.event_type, data, event.metadata));
        }
        if events.is_empty() {
            return Err("the template case has no events".to_string());
        }
        Ok(Self { events, id, fnr: fnr.to_owned(), others, nonce: rand::random() })
    }

    /// Events per case.
    pub fn events_per_case(&self) -> usize {
        self.events.len()
    }

    /// The id of seeded case `i`.
    pub fn case_id(&self, i: u64) -> String {
        derived(0, self.nonce, i).to_string()
    }

    /// Seeded case `i` of citizen `fnr`: its stream and events.
    pub fn case(&self, i: u64, fnr: &str) -> Result<(StreamName, Vec<NewEvent>), String> {
        let id = self.case_id(i);
        let replacements: Vec<(&str, String)> = std::iter::once((self.id.as_str(), id.clone()))
            .chain(std::iter::once((self.fnr.as_str(), fnr.to_owned())))
            .chain(
                self.others
                    .iter()
                    .enumerate()
                    .map(|(k, o)| (o.as_str(), derived(k as u16 + 1, self.nonce, i).to_string())),
            )
            .collect();
        let events = self
            .events
            .iter()
            .map(|(event_type, data, metadata)| {
                let mut text = data.clone();
                for (from, to) in &replacements {
                    text = text.replace(from, to);
                }
                let data: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                let event = NewEvent::new(event_type.clone(), data);
                Ok(match metadata {
                    Some(m) => event.with_metadata(m.clone()),
                    None => event,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let case = FiksDigisosId::parse(&id).map_err(|e| e.to_string())?;
        let stream = StreamName::parse(sak_stream(case)).map_err(|e| e.to_string())?;
        Ok((stream, events))
    }
}

/// A version-4-shaped id from a tag, the run's nonce and a number.
fn derived(tag: u16, nonce: u16, i: u64) -> Uuid {
    let mut bytes = [0u8; 16];
    bytes[0..2].copy_from_slice(&0x5eedu16.to_be_bytes());
    bytes[2..4].copy_from_slice(&tag.to_be_bytes());
    bytes[4..6].copy_from_slice(&nonce.to_be_bytes());
    bytes[10..16].copy_from_slice(&i.to_be_bytes()[2..8]);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Appends cases `range` (case `i` belongs to `fnrs[i / per_citizen]`) with `writers` concurrent writers;
/// returns the highest position written.
pub async fn seed(
    store: &DynEventStore,
    template: &Arc<CaseTemplate>,
    fnrs: &Arc<Vec<String>>,
    per_citizen: u64,
    range: Range<u64>,
    writers: usize,
) -> Result<Option<Position>, String> {
    let next = Arc::new(AtomicU64::new(range.start));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..writers.max(1) {
        let (store, template, fnrs, next, end) =
            (store.clone(), template.clone(), fnrs.clone(), next.clone(), range.end);
        tasks.spawn(async move {
            let mut highest: Option<Position> = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= end {
                    return Ok::<_, String>(highest);
                }
                let fnr =
                    fnrs.get((i / per_citizen.max(1)) as usize).ok_or_else(|| format!("no citizen for case {i}"))?;
                let (stream, events) = template.case(i, fnr)?;
                let written = store
                    .append(&stream, ExpectedRevision::NoStream, events)
                    .await
                    .map_err(|e| format!("seeding case {i}: {e}"))?;
                highest = highest.max(Some(written.position));
            }
        });
    }
    let mut highest = None;
    while let Some(done) = tasks.join_next().await {
        let mine = done.map_err(|e| format!("a seeding task failed: {e}"))??;
        highest = highest.max(mine);
    }
    Ok(highest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_differ_by_tag_and_number_and_parse_as_case_ids() {
        let a = derived(0, 7, 1);
        assert_ne!(a, derived(0, 7, 2));
        assert_ne!(a, derived(1, 7, 1));
        assert_ne!(a, derived(0, 8, 1));
        assert!(FiksDigisosId::parse(&a.to_string()).is_ok());
        assert_ne!(derived(0, 7, 1 << 40), derived(0, 7, 0), "numbers up to 2^48 stay distinct");
    }
}
