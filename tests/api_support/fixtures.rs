//! Test data: valid identities, a kommune configuration, and søknader and ettersendelser built from the real
//! test files of the format (`shared/formats/soknadsosialhjelp-filformat/src/test/resources/json`), with a
//! valid fødselsnummer in place of the files' invalid placeholder.

use digisos_schema::events::Sha512;
use serde_json::{Value, json};

use super::Form;

const RESOURCES: &str = "../shared/formats/soknadsosialhjelp-filformat/src/test/resources/json";

/// A citizen (valid control digits).
pub const FNR: &str = "01017012343";
/// Another citizen (valid control digits).
pub const OTHER_FNR: &str = "02028010047";
/// The kommune the tests configure.
pub const KOMMUNE: &str = "0301";
/// A NAV office routed to [`KOMMUNE`].
pub const ENHET: &str = "0315";
/// A NAV office not routed to [`KOMMUNE`].
pub const FOREIGN_ENHET: &str = "1161";
/// [`KOMMUNE`]'s Fiks organisation.
pub const FIKS_ORG_ID: &str = "11415cd1-e26d-499a-8421-751457dfcbd5";
/// The organisation allowed to act as [`KOMMUNE`]'s fagsystem.
pub const FAGSYSTEM_ORGNR: &str = "958935420";

/// A test file of the format, as JSON.
pub fn resource(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(RESOURCES).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_str(&text).expect("test file is JSON")
}

/// A configuration that takes søknader and status updates, with [`ENHET`] routed to the kommune.
pub fn kommune_config() -> Value {
    json!({
        "fiksOrgId": FIKS_ORG_ID,
        "fagsystemOrgnr": [FAGSYSTEM_ORGNR],
        "navEnheter": [ENHET, "0316"],
        "kanMottaSoknader": true,
        "kanOppdatereStatus": true,
        "harMidlertidigDeaktivertMottak": false,
        "harMidlertidigDeaktivertOppdateringer": false,
        "harNksTilgang": true,
        "kontaktpersoner": {"fagansvarligEpost": ["fag@kommune.no"], "tekniskAnsvarligEpost": ["it@kommune.no"]}
    })
}

/// A valid søknad of citizen `fnr` to [`KOMMUNE`]/[`ENHET`]: the format's `soknad/systemdata.json`.
pub fn soknad_json(fnr: &str) -> Value {
    let mut soknad = resource("soknad/systemdata.json");
    soknad["data"]["personalia"]["personIdentifikator"]["verdi"] = json!(fnr);
    soknad["mottaker"]["kommunenummer"] = json!(KOMMUNE);
    soknad["mottaker"]["enhetsnummer"] = json!(ENHET);
    soknad
}

/// `n` bytes of a file (a PDF header and a pattern that differs by `seed`).
pub fn file_bytes(n: usize, seed: u8) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes.truncate(n);
    bytes
}

/// The five files `vedlegg/gyldig_standard.json` lists, each with its own bytes.
pub fn standard_vedlegg() -> Vec<(&'static str, Vec<u8>)> {
    [
        "lonn1-u95sfdgt.png",
        "DCIM567-a43sgfg.jpg",
        "barnehagefaktura-ytr64564.pdf",
        "fotball-ytr64564.pdf",
        "skikurs2017-08-01-med-langt-filnavn-564rftrfdserf-ytr64564.pdf",
    ]
    .into_iter()
    .enumerate()
    .map(|(i, name)| (name, file_bytes(500 + 100 * i, i as u8 + 1)))
    .collect()
}

/// A whole søknad request: `tilleggsinformasjonJson` (when `enhetsnummer` is given), `soknadJson`,
/// `vedleggJson` (`vedlegg/gyldig_standard.json`), the søknad PDF `pdf`, and the five listed files.
pub fn soknad_form(soknad: &Value, enhetsnummer: Option<&str>, pdf: &[u8]) -> Form {
    soknad_form_with_files(soknad, enhetsnummer, pdf, &standard_vedlegg())
}

/// [`soknad_form`] with other bytes for the five files of `vedlegg/gyldig_standard.json` (same names, in order).
pub fn soknad_form_with_files(
    soknad: &Value,
    enhetsnummer: Option<&str>,
    pdf: &[u8],
    files: &[(&str, Vec<u8>)],
) -> Form {
    let mut form = Form::new();
    if let Some(enhet) = enhetsnummer {
        form = form.json("tilleggsinformasjonJson", &json!({"enhetsnummer": enhet}));
    }
    form = form.json("soknadJson", soknad).json("vedleggJson", &resource("vedlegg/gyldig_standard.json")).pair(
        0,
        "Soknad.pdf",
        pdf,
    );
    for (i, (name, bytes)) in files.iter().enumerate() {
        form = form.pair(i + 1, name, bytes);
    }
    form
}

/// The usual søknad of `fnr`, sent to [`ENHET`].
pub fn standard_soknad(fnr: &str) -> Form {
    soknad_form(&soknad_json(fnr), Some(ENHET), &file_bytes(2000, 0))
}

/// An ettersendelse: `vedlegg/gyldig_komplett.json` (the first file's `sha512` made real), its four files and
/// the generated `ettersendelse.pdf`; `seed` varies the bytes.
pub fn ettersendelse_form(seed: u8) -> Form {
    let first = file_bytes(900, seed);
    let mut vedlegg = resource("vedlegg/gyldig_komplett.json");
    vedlegg["vedlegg"][0]["filer"][0]["sha512"] = json!(Sha512::of_bytes(&first).as_str());
    let names = ["endaenfil-u95sdfght.png", "DCIM6666-ae94343bc.jpg", "yeyeye-u95sdfght.png", "alalla-ae94343bc.jpg"];
    let mut form = Form::new().json("vedlegg.json", &vedlegg).pair(0, names[0], &first);
    for (i, name) in names.iter().enumerate().skip(1) {
        form = form.pair(i, name, &file_bytes(100 * i, seed.wrapping_add(i as u8)));
    }
    form.pair(names.len(), "ettersendelse.pdf", &file_bytes(50, seed))
}
