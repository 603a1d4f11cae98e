//! The typed models against the real corpus: every valid `digisos-soker.json` test file (and every valid
//! part file) reads into the typed model and writes back every known field unchanged; the søknad and
//! vedlegg models read Nav's test files. Files come from `shared/formats` beside the repository.

use std::fs;
use std::path::{Path, PathBuf};

use digisos_schema::digisos_soker::{
    Avsender, DigisosSoker, Filreferanse, Hendelse, HendelseData, SoknadsStatusVerdi, UtbetalingStatus,
};
use digisos_schema::soknad::{JsonSoknad, Soknadstype};
use digisos_schema::validate::{DocumentKind, validate};
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn resources() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/formats/soknadsosialhjelp-filformat/src/test/resources/json")
}

/// The valid (not `feil-*`/`ikkegyldig*`) JSON files of `dir`, recursively when `deep`.
fn valid_files(dir: &Path, deep: bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if path.is_dir() {
            if deep {
                found.extend(valid_files(&path, true));
            }
        } else if name.ends_with(".json")
            && !name.starts_with("feil-")
            && !name.starts_with("ikkegyldig")
            && !name.starts_with('_')
        {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).expect("readable")).expect("JSON")
}

/// Asserts that `written` holds nothing that `original` does not, with equal values: the model wrote back
/// only fields it read, unchanged (unknown fields may have been dropped, nothing may have been altered).
fn assert_subset(written: &Value, original: &Value, at: &str) {
    match (written, original) {
        (Value::Object(w), Value::Object(o)) => {
            for (key, value) in w {
                let there = o.get(key).unwrap_or_else(|| panic!("{at}.{key} was invented"));
                assert_subset(value, there, &format!("{at}.{key}"));
            }
        }
        (Value::Array(w), Value::Array(o)) => {
            assert_eq!(w.len(), o.len(), "{at}: array length changed");
            for (i, (w, o)) in w.iter().zip(o).enumerate() {
                assert_subset(w, o, &format!("{at}[{i}]"));
            }
        }
        (w, o) => assert_eq!(w, o, "{at} changed"),
    }
}

/// Reads `original` into `T`, writes it back, and checks nothing known was lost or changed.
fn round_trip<T: DeserializeOwned + Serialize>(original: &Value, file: &Path) -> (T, Value) {
    let typed: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{} does not read into the model: {e}", file.display()));
    let written = serde_json::to_value(&typed).expect("serializable");
    assert_subset(&written, original, "$");
    (typed, written)
}

#[test]
fn every_valid_digisos_soker_file_reads_into_the_model_without_loss() {
    let dir = resources().join("digisos/soker");
    let files = valid_files(&dir, false);
    assert!(files.iter().any(|f| f.ends_with("komplett.json")), "{files:?}");
    for file in files {
        let original = read(&file);
        assert_eq!(validate(DocumentKind::DigisosSoker, &original), Ok(()));
        let (soker, mut written): (DigisosSoker, _) = round_trip(&original, &file);
        assert!(!soker.hendelser.is_empty());
        // Only the two unknown top-level fields of kan-ha-nye-felter.json may be missing.
        let mut expected = original.clone();
        if let Some(fields) = expected.as_object_mut() {
            fields.retain(|key, _| matches!(key.as_str(), "version" | "avsender" | "hendelser"));
        }
        written.as_object_mut().expect("object").sort_keys();
        assert_eq!(written, expected, "{}", file.display());
    }
}

#[test]
fn komplett_json_reads_into_every_known_hendelse_type_with_its_fields() {
    let file = resources().join("digisos/soker/komplett.json");
    let soker: DigisosSoker = serde_json::from_value(read(&file)).expect("komplett.json");
    let types: Vec<&str> = soker.hendelser.iter().map(|h| h.data.type_name()).collect();
    for expected in [
        "soknadsStatus",
        "tildeltNavKontor",
        "dokumentasjonEtterspurt",
        "forelopigSvar",
        "vedtakFattet",
        "saksStatus",
        "utbetaling",
        "vilkar",
        "dokumentasjonkrav",
    ] {
        assert!(types.contains(&expected), "{expected} missing from {types:?}");
    }
    assert!(
        !soker.hendelser.iter().any(|h| matches!(h.data, HendelseData::Ukjent(_))),
        "every type in komplett.json is known"
    );
    let first = &soker.hendelser[0];
    assert_eq!(first.hendelsestidspunkt.as_str(), "2018-10-04T13:37:00.134Z");
    assert!(matches!(&first.data, HendelseData::SoknadsStatus(s) if s.status == SoknadsStatusVerdi::Mottatt));
    let tildelt = soker.hendelser.iter().find_map(|h| match &h.data {
        HendelseData::TildeltNavKontor(t) => Some(t.nav_kontor.as_str()),
        _ => None,
    });
    assert_eq!(tildelt, Some("0314"));
    let utbetaling = soker
        .hendelser
        .iter()
        .find_map(|h| match &h.data {
            HendelseData::Utbetaling(u) => Some(u),
            _ => None,
        })
        .expect("an utbetaling");
    assert_eq!(utbetaling.status, Some(UtbetalingStatus::PlanlagtUtbetaling));
    assert_eq!(utbetaling.belop.as_ref().map(|b| b.kroner()), Some(5000.0));
    assert_eq!(utbetaling.forfallsdato.map(|d| d.to_string()).as_deref(), Some("2018-10-11"));
    let svarut = soker.filreferanser().into_iter().filter(|r| matches!(r, Filreferanse::Svarut { nr: 1, .. })).count();
    assert_eq!(svarut, 3, "one svarut attachment each on dokumentasjonEtterspurt, forelopigSvar, vedtakFattet");
}

#[test]
fn every_valid_part_file_reads_into_its_part_model_without_loss() {
    let parts = resources().join("digisos/soker/parts");
    let mut checked = 0;
    for file in valid_files(&parts.join("hendelse"), true) {
        let _: (Hendelse, _) = round_trip(&read(&file), &file);
        checked += 1;
    }
    for file in valid_files(&parts.join("filreferanse"), true) {
        let _: (Filreferanse, _) = round_trip(&read(&file), &file);
        checked += 1;
    }
    for file in valid_files(&parts.join("avsender"), true) {
        let _: (Avsender, _) = round_trip(&read(&file), &file);
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} part files found");
}

fn soker_with(hendelse: Value) -> Value {
    json!({
        "version": "1.0.0",
        "avsender": {"systemnavn": "Fagsystem", "systemversjon": "9"},
        "hendelser": [
            {"type": "soknadsStatus", "hendelsestidspunkt": "2018-10-04T13:37:00.134Z", "status": "MOTTATT"},
            hendelse
        ]
    })
}

#[test]
fn unknown_hendelse_types_and_codes_are_kept_not_refused() {
    let doc = soker_with(
        json!({"type": "klageStatus", "hendelsestidspunkt": "2024-05-01T10:00:00.0Z", "klageId": "K1", "nested": {"a": [1]}}),
    );
    let soker: DigisosSoker = serde_json::from_value(doc.clone()).expect("unknown type tolerated");
    match &soker.hendelser[1].data {
        HendelseData::Ukjent(ukjent) => {
            assert_eq!(ukjent.type_name, "klageStatus");
            assert_eq!(ukjent.felter["klageId"], "K1");
        }
        other => panic!("expected Ukjent, got {other:?}"),
    }
    assert_eq!(serde_json::to_value(&soker).expect("json"), doc);

    let doc = soker_with(
        json!({"type": "soknadsStatus", "hendelsestidspunkt": "2024-05-01T10:00:00.0Z", "status": "VIDERESENDT"}),
    );
    let soker: DigisosSoker = serde_json::from_value(doc.clone()).expect("unknown code tolerated");
    assert!(
        matches!(&soker.hendelser[1].data, HendelseData::SoknadsStatus(s) if s.status == SoknadsStatusVerdi::Annen("VIDERESENDT".into()))
    );
    assert_eq!(serde_json::to_value(&soker).expect("json"), doc);
}

#[test]
fn rammevedtak_and_amounts_round_trip_exactly() {
    let doc = soker_with(
        json!({"type": "rammevedtak", "hendelsestidspunkt": "2018-10-12T13:37:00.134Z", "rammevedtaksreferanse": "R1", "saksreferanse": "SAK1", "beskrivelse": "strøm", "belop": 1234.5, "fom": "2018-10-01", "tom": "2018-12-31"}),
    );
    let soker: DigisosSoker = serde_json::from_value(doc.clone()).expect("rammevedtak");
    assert!(
        matches!(&soker.hendelser[1].data, HendelseData::Rammevedtak(r) if r.belop.as_ref().map(|b| b.kroner()) == Some(1234.5))
    );
    assert_eq!(serde_json::to_value(&soker).expect("json"), doc);
}

#[test]
fn the_model_refuses_what_it_cannot_represent_with_a_clear_message() {
    let bad_office = soker_with(
        json!({"type": "tildeltNavKontor", "hendelsestidspunkt": "2018-10-04T13:37:00.134Z", "navKontor": "12345"}),
    );
    let err = serde_json::from_value::<DigisosSoker>(bad_office).expect_err("5 digits");
    assert!(err.to_string().contains("enhetsnummer must be exactly 4 digits"), "{err}");
    let no_time = soker_with(json!({"type": "soknadsStatus", "status": "MOTTATT"}));
    let err = serde_json::from_value::<DigisosSoker>(no_time).expect_err("no hendelsestidspunkt");
    assert!(err.to_string().contains("hendelsestidspunkt"), "{err}");
    let odd_time = soker_with(
        json!({"type": "soknadsStatus", "hendelsestidspunkt": "2018-10-04T13:37:00X134Z", "status": "MOTTATT"}),
    );
    let err = serde_json::from_value::<DigisosSoker>(odd_time).expect_err("no instant");
    assert!(err.to_string().contains("tidspunkt must be a UTC time"), "{err}");
}

#[test]
fn every_valid_soknad_file_reads_into_the_light_model_and_writes_back_whole() {
    let files = valid_files(&resources().join("soknad"), false);
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let original = read(&file);
        let soknad: JsonSoknad = serde_json::from_value(original.clone()).expect("soknad");
        assert_eq!(soknad.person_identifikator, "12345678901");
        assert_eq!(serde_json::to_value(&soknad).expect("json"), original, "{}", file.display());
    }
    let systemdata: JsonSoknad =
        serde_json::from_value(read(&resources().join("soknad/systemdata.json"))).expect("systemdata");
    assert_eq!(systemdata.mottaker.kommunenummer().map(|k| k.map(|k| k.to_string())), Ok(Some("1161".to_owned())));
    assert_eq!(systemdata.mottaker.enhetsnummer().map(|e| e.map(|e| e.to_string())), Ok(Some("1161".to_owned())));
    assert_eq!(systemdata.mottaker.nav_enhetsnavn.as_deref(), Some("Eiganes og Tasta, Stavanger kommune"));
    assert_eq!(systemdata.soknadstype, Soknadstype::Standard);
    assert_eq!(systemdata.innsendingstidspunkt.map(|t| t.to_string()).as_deref(), Some("2018-10-04T13:37:00.134Z"));
    let minimal: JsonSoknad = serde_json::from_value(read(&resources().join("soknad/minimal.json"))).expect("minimal");
    assert!(minimal.mottaker.kommunenummer().is_err(), "an empty kommunenummer is kept as text, refused when parsed");
}

#[test]
fn a_kort_soknad_is_recognised() {
    let mut doc = read(&resources().join("soknad/systemdata.json"));
    doc["data"]["soknadstype"] = json!("kort");
    let soknad: JsonSoknad = serde_json::from_value(doc).expect("kort");
    assert_eq!(soknad.soknadstype, Soknadstype::Kort);
}

#[test]
fn every_valid_vedlegg_file_reads_into_the_model_without_loss() {
    let files = valid_files(&resources().join("vedlegg"), false);
    assert!(files.len() >= 5, "{files:?}");
    for file in files {
        let (spec, _): (JsonVedleggSpesifikasjon, _) = round_trip(&read(&file), &file);
        assert!(spec.filer().all(|(_, fil)| fil.filnavn.is_some() || fil.sha512.is_some()));
    }
}
