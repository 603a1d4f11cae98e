//! `soknad.json` as the submit endpoint reads it: JSON, the real JSON Schema, then the hub's typed fields. Any
//! input must give a value or an error, never a panic.
#![no_main]

use digisos_schema::soknad::JsonSoknad;
use digisos_schema::validate::{DocumentKind, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if validate(DocumentKind::Soknad, &value).is_ok() {
        if let Ok(soknad) = serde_json::from_value::<JsonSoknad>(value.clone()) {
            let _ = soknad.mottaker.kommunenummer();
            let _ = soknad.mottaker.enhetsnummer();
        }
    }
    // The prefill of a new søknad reads any stored søknad, valid or not.
    let _ = digisos_projections::sakvisning::utkast_fra(&value);
});
