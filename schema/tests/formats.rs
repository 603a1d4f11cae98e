//! The validator against the real corpus: every test file Nav ships with its formats, and the KS Fiks IO
//! examples, read from `shared/formats` beside the repository (`<repo>/../shared`, also in CI).
//!
//! Nav's own test (`TestDataFiles.kt` in `navikt/soknadsosialhjelp-filformat`) decides the schema of a test
//! file from its folder, and so does this one: a file directly in a format's folder is checked against the
//! format's top-level schema; a file in `<format>/<dir…>/<name>/` against the part schema
//! `<format schema folder>/<dir…>/<name>.json`. Files named `feil-*` or `ikkegyldig*` must be refused, all
//! others accepted; names starting with `_` are skipped, as upstream does.

use std::fs;
use std::path::{Path, PathBuf};

use digisos_schema::validate::{DocumentKind, Validator, embedded_schema_files, validate};
use serde_json::Value;

fn formats_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/formats")
}

fn test_resources() -> PathBuf {
    formats_dir().join("soknadsosialhjelp-filformat/src/test/resources/json")
}

/// Each format folder below `src/test/resources/json`, its schema folder below `schema/json`, and its
/// top-level schema file.
const FORMATS: &[(&str, &str, &str)] = &[
    ("digisos/soker", "digisos/soker", "digisos/soker/digisos-soker.json"),
    ("soknad", "soknad", "soknad/soknad.json"),
    ("vedlegg", "vedlegg", "vedlegg/vedleggSpesifikasjon.json"),
];

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
}

fn is_negative(name: &str) -> bool {
    name.starts_with("feil-") || name.starts_with("ikkegyldig")
}

/// The schema file (below `schema/json`) for a test file, decided by the folder it lives in.
fn schema_for(file: &Path) -> String {
    let relative = file.strip_prefix(test_resources()).expect("file below the resources");
    let folder = relative.parent().expect("file in a folder");
    let folder = folder.to_string_lossy().replace('\\', "/");
    for (test_folder, schema_folder, top_level) in FORMATS {
        if folder == *test_folder {
            return (*top_level).to_owned();
        }
        if let Some(part) = folder.strip_prefix(&format!("{test_folder}/")) {
            return format!("{schema_folder}/{part}.json");
        }
    }
    panic!("no format known for test folder {folder}");
}

#[test]
fn every_upstream_test_file_is_judged_as_its_name_says() {
    let files = json_files(&test_resources());
    assert!(files.len() > 50, "expected the whole corpus, found {} files", files.len());
    let mut wrong = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for file in &files {
        let name = file.file_name().expect("file name").to_string_lossy().into_owned();
        if name.starts_with('_') {
            continue;
        }
        let schema = schema_for(file);
        let validator = Validator::for_schema_file(&schema)
            .unwrap_or_else(|e| panic!("schema {schema} for {}: {e}", file.display()));
        let outcome = validator.validate(&read_json(file));
        match (is_negative(&name), outcome) {
            (false, Ok(())) => accepted += 1,
            (true, Err(problems)) => {
                assert!(!problems.is_empty(), "{name}: refused without a problem");
                refused += 1;
            }
            (false, Err(problems)) => {
                wrong.push(format!("{} against {schema} should be accepted: {problems:?}", file.display()))
            }
            (true, Ok(())) => wrong.push(format!("{} against {schema} should be refused", file.display())),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(accepted > 0 && refused > 0, "{accepted} accepted, {refused} refused");
}

#[test]
fn every_top_level_test_file_is_judged_by_its_document_kind_too() {
    for (test_folder, _, top_level) in FORMATS {
        let kind = DocumentKind::ALL
            .into_iter()
            .find(|k| k.schema_file() == Some(*top_level))
            .expect("a kind for each format");
        let dir = test_resources().join(test_folder);
        for file in json_files(&dir).iter().filter(|f| f.parent() == Some(dir.as_path())) {
            let name = file.file_name().expect("file name").to_string_lossy().into_owned();
            let outcome = validate(kind, &read_json(file));
            assert_eq!(outcome.is_err(), is_negative(&name), "{name}: {outcome:?}");
        }
    }
}

#[test]
fn fiks_io_examples_are_accepted_by_their_message_schemas() {
    let catalogue = formats_dir().join("fiks-io-meldingstype-katalog/schema");
    let kinds = [
        ("no.nav.digisos.soknad.v1", DocumentKind::FiksIoSoknad),
        ("no.nav.digisos.ettersendelse.v1", DocumentKind::FiksIoEttersendelse),
        ("no.nav.digisos.soknad.mottatt.v1", DocumentKind::FiksIoSoknadMottatt),
        ("no.nav.digisos.ettersendelse.mottatt.v1", DocumentKind::FiksIoEttersendelseMottatt),
    ];
    for (message_type, kind) in kinds {
        assert_eq!(kind.format_name(), message_type);
        let examples = json_files(&catalogue.join(message_type).join("examples"));
        assert!(!examples.is_empty(), "no examples for {message_type}");
        for example in examples {
            let outcome = validate(kind, &read_json(&example));
            assert_eq!(outcome, Ok(()), "{}", example.display());
        }
    }
}

#[test]
fn the_embedded_schemas_are_the_files_of_the_schema_folder() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("json");
    let mut on_disk: Vec<String> = json_files(&root)
        .iter()
        .map(|f| f.strip_prefix(&root).expect("below json/").to_string_lossy().replace('\\', "/"))
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = embedded_schema_files().map(str::to_owned).collect();
    embedded.sort();
    assert_eq!(embedded, on_disk);
}

#[test]
fn the_embedded_schemas_are_byte_for_byte_the_shared_copies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("json");
    for file in embedded_schema_files() {
        let original = match file.strip_prefix("fiks-io/") {
            Some(rest) => formats_dir().join("fiks-io-meldingstype-katalog/schema").join(rest),
            None => formats_dir().join("soknadsosialhjelp-filformat/json").join(file),
        };
        let copy = fs::read(root.join(file)).expect("embedded copy");
        let upstream = fs::read(&original).unwrap_or_else(|e| panic!("{}: {e}", original.display()));
        assert!(copy == upstream, "{file} differs from {}", original.display());
    }
}

#[test]
fn every_document_kind_and_every_embedded_schema_compiles() {
    for kind in DocumentKind::ALL {
        // Compiling happens on first use; an empty object is enough to force it.
        let _ = validate(kind, &serde_json::json!({}));
    }
    for file in embedded_schema_files() {
        if let Err(e) = Validator::for_schema_file(file) {
            panic!("{file}: {e}");
        }
    }
}
