//! `digisos-soker.json` as the status-update endpoint reads it (JSON, JSON Schema, typed model), and every
//! hendelse of it folded into the citizen's and the staff's view of a case, as the projections do: a fagsystem's
//! file, valid or not, must never panic the projection.
#![no_main]

use digisos_projections::sakvisning::SakState;
use digisos_schema::digisos_soker::DigisosSoker;
use digisos_schema::events::{Fingerprint, HendelseRegistrert, SakEvent};
use digisos_schema::validate::{DocumentKind, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if validate(DocumentKind::DigisosSoker, &value).is_ok() {
        if let Ok(soker) = serde_json::from_value::<DigisosSoker>(value.clone()) {
            let _ = soker.filreferanser();
        }
    }
    // The projection folds whatever hendelser were recorded (the schema was checked at the edge, but the fold must
    // not rely on it).
    let Some(hendelser) = value.get("hendelser").and_then(|h| h.as_array()) else { return };
    let mut state = SakState::default();
    for (i, hendelse) in hendelser.iter().enumerate() {
        let event = SakEvent::HendelseRegistrert(HendelseRegistrert {
            fingerprint: Fingerprint::of_json(hendelse),
            forekomst: 0,
            hendelse: hendelse.clone(),
        });
        state.apply(&event, i as u64);
    }
    let _ = state.innsyn();
    let _ = state.nav();
});
