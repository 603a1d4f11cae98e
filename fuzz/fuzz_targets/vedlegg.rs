//! `vedlegg.json` as the submit and ettersendelse endpoints read it: JSON, the JSON Schema, the typed model.
#![no_main]

use digisos_schema::validate::{DocumentKind, validate};
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if validate(DocumentKind::Vedlegg, &value).is_ok() {
        if let Ok(spesifikasjon) = serde_json::from_value::<JsonVedleggSpesifikasjon>(value) {
            let _ = spesifikasjon.filer().count();
        }
    }
});
