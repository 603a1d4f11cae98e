//! Validation of incoming documents against the real JSON Schemas of the formats.
//!
//! The service accepts four families of JSON from outside: the søknad (`soknad.json`), its attachment list
//! (`vedlegg.json`), the fagsystem's case file (`digisos-soker.json`) and the Fiks IO message bodies. Each is
//! checked by a real JSON Schema validator (the `jsonschema` crate) against the schemas Nav and KS publish,
//! embedded in this crate (`embedded.rs`), never against a hand-written imitation of them.
//!
//! Shape:
//! - The Nav schemas are draft-06 files that `$ref` each other by relative path. They are all put into one
//!   registry under a fixed base URI, so a relative `$ref` resolves to the embedded file, and nothing is
//!   ever fetched (the retriever refuses everything; the crate is built without its HTTP and file resolvers).
//! - One [`Validator`] per [`DocumentKind`] is compiled on first use and kept for the life of the process.
//! - Patterns are ECMA-262 regular expressions, as JSON Schema says; the `jsonschema` crate translates them
//!   (an unescaped `.` matches any character except the ECMA line terminators `\n`, `\r`, U+2028, U+2029,
//!   and `$` matches only at the very end), which is how the reference validators (everit, ajv, and the
//!   Rhino-based one Nav's own tests use) read the Tidspunkt pattern.
//! - The jsonschema2pojo keywords in the Nav files (`javaType`, `extends`, `typeNameForExtends`) are unknown
//!   keywords to a validator and are ignored, as the draft demands. Unknown instance fields are allowed,
//!   because the schemas allow them; nothing here adds `additionalProperties: false`.
//! - Failures come back as [`Problem`]s, each a JSON path and an English sentence (`problems.rs`).

mod embedded;
mod path;
mod problems;

use std::sync::LazyLock;

use jsonschema::{Draft, PatternOptions, Registry, Retrieve, Uri};
use serde_json::Value;

pub use problems::Problem;

/// The base URI under which the embedded Nav schema files are registered. The `.invalid` top-level domain
/// can never resolve (RFC 2606), and the retriever refuses every URI anyway; it only gives relative `$ref`s
/// something hierarchical to resolve against.
const BASE_URI: &str = "https://schemas.fiks-digisos.invalid/json/";

/// Folder (below `schema/json/`) of the KS Fiks IO message schemas; these are compiled one by one.
const FIKS_IO_FOLDER: &str = "fiks-io/";

/// A kind of document the service receives, each with its own schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// `soknad.json`, the søknad itself (`JsonSoknad`).
    Soknad,
    /// `vedlegg.json`, the list of attachments of a søknad or ettersendelse (`JsonVedleggSpesifikasjon`).
    Vedlegg,
    /// `digisos-soker.json`, the fagsystem's case file with all hendelser.
    DigisosSoker,
    /// Fiks IO message `no.nav.digisos.soknad.v1` (to the fagsystem: a new søknad).
    FiksIoSoknad,
    /// Fiks IO message `no.nav.digisos.ettersendelse.v1` (to the fagsystem: an ettersendelse).
    FiksIoEttersendelse,
    /// Fiks IO receipt `no.nav.digisos.soknad.mottatt.v1` (from the fagsystem; the body is an empty object).
    FiksIoSoknadMottatt,
    /// Fiks IO receipt `no.nav.digisos.ettersendelse.mottatt.v1` (from the fagsystem; an empty object).
    FiksIoEttersendelseMottatt,
}

impl DocumentKind {
    /// Every kind, for tests and start-up checks.
    pub const ALL: [DocumentKind; 7] = [
        DocumentKind::Soknad,
        DocumentKind::Vedlegg,
        DocumentKind::DigisosSoker,
        DocumentKind::FiksIoSoknad,
        DocumentKind::FiksIoEttersendelse,
        DocumentKind::FiksIoSoknadMottatt,
        DocumentKind::FiksIoEttersendelseMottatt,
    ];

    /// The embedded schema file (path below `schema/json/`), or `None` for the receipts, which KS
    /// publishes without a schema.
    pub fn schema_file(self) -> Option<&'static str> {
        match self {
            DocumentKind::Soknad => Some("soknad/soknad.json"),
            DocumentKind::Vedlegg => Some("vedlegg/vedleggSpesifikasjon.json"),
            DocumentKind::DigisosSoker => Some("digisos/soker/digisos-soker.json"),
            DocumentKind::FiksIoSoknad => Some("fiks-io/no.nav.digisos.soknad.v1/no.nav.digisos.soknad.v1.schema.json"),
            DocumentKind::FiksIoEttersendelse => {
                Some("fiks-io/no.nav.digisos.ettersendelse.v1/no.nav.digisos.ettersendelse.v1.schema.json")
            }
            DocumentKind::FiksIoSoknadMottatt | DocumentKind::FiksIoEttersendelseMottatt => None,
        }
    }

    /// The name the format goes by (file name or Fiks IO message type), for messages and logs.
    pub fn format_name(self) -> &'static str {
        match self {
            DocumentKind::Soknad => "soknad.json",
            DocumentKind::Vedlegg => "vedlegg.json",
            DocumentKind::DigisosSoker => "digisos-soker.json",
            DocumentKind::FiksIoSoknad => "no.nav.digisos.soknad.v1",
            DocumentKind::FiksIoEttersendelse => "no.nav.digisos.ettersendelse.v1",
            DocumentKind::FiksIoSoknadMottatt => "no.nav.digisos.soknad.mottatt.v1",
            DocumentKind::FiksIoEttersendelseMottatt => "no.nav.digisos.ettersendelse.mottatt.v1",
        }
    }
}

/// Checks `instance` against the schema of `kind`; on failure, every problem found, each with its JSON path.
pub fn validate(kind: DocumentKind, instance: &Value) -> Result<(), Vec<Problem>> {
    Validator::for_kind(kind).validate(instance)
}

/// The paths (below `schema/json/`) of all embedded schema files.
pub fn embedded_schema_files() -> impl Iterator<Item = &'static str> {
    embedded::FILES.iter().map(|(path, _)| *path)
}

/// A schema compiled once and used for any number of documents.
pub struct Validator {
    compiled: jsonschema::Validator,
}

/// Why [`Validator::for_schema_file`] could not give a validator.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// No embedded schema file has that path.
    #[error("no embedded schema file {0}")]
    UnknownFile(String),
    /// The embedded file is not JSON or not a schema the validator can compile.
    #[error("embedded schema file {file} does not compile: {reason}")]
    Invalid {
        /// The schema file.
        file: String,
        /// What the JSON parser or the schema compiler said.
        reason: String,
    },
}

impl Validator {
    /// The validator of one document kind, compiled on first use and then shared.
    pub fn for_kind(kind: DocumentKind) -> &'static Validator {
        static SOKNAD: LazyLock<Validator> = LazyLock::new(|| compile_kind(DocumentKind::Soknad));
        static VEDLEGG: LazyLock<Validator> = LazyLock::new(|| compile_kind(DocumentKind::Vedlegg));
        static DIGISOS_SOKER: LazyLock<Validator> = LazyLock::new(|| compile_kind(DocumentKind::DigisosSoker));
        static FIKS_IO_SOKNAD: LazyLock<Validator> = LazyLock::new(|| compile_kind(DocumentKind::FiksIoSoknad));
        static FIKS_IO_ETTERSENDELSE: LazyLock<Validator> =
            LazyLock::new(|| compile_kind(DocumentKind::FiksIoEttersendelse));
        static FIKS_IO_MOTTATT: LazyLock<Validator> = LazyLock::new(|| compile_kind(DocumentKind::FiksIoSoknadMottatt));
        match kind {
            DocumentKind::Soknad => &SOKNAD,
            DocumentKind::Vedlegg => &VEDLEGG,
            DocumentKind::DigisosSoker => &DIGISOS_SOKER,
            DocumentKind::FiksIoSoknad => &FIKS_IO_SOKNAD,
            DocumentKind::FiksIoEttersendelse => &FIKS_IO_ETTERSENDELSE,
            DocumentKind::FiksIoSoknadMottatt | DocumentKind::FiksIoEttersendelseMottatt => &FIKS_IO_MOTTATT,
        }
    }

    /// Compiles any embedded schema file (path below `schema/json/`), e.g. one part such as
    /// `digisos/soker/parts/hendelse/utbetaling.json`, with its `$ref`s resolved among the embedded files.
    /// Not cached: meant for tests and tools, not for the request path (use [`Validator::for_kind`]).
    pub fn for_schema_file(file: &str) -> Result<Validator, SchemaError> {
        let text = embedded::FILES
            .iter()
            .find(|(path, _)| *path == file)
            .map(|(_, text)| *text)
            .ok_or_else(|| SchemaError::UnknownFile(file.to_owned()))?;
        let invalid = |reason: String| SchemaError::Invalid { file: file.to_owned(), reason };
        let schema: Value = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let options = jsonschema::options()
            .with_retriever(EmbeddedOnly)
            .with_pattern_options(PatternOptions::regex())
            .should_validate_formats(false);
        let compiled = if file.starts_with(FIKS_IO_FOLDER) {
            // Draft-07 files with their own (shared!) `$id` and no `$ref`s: compiled alone.
            options.with_draft(Draft::Draft7).build(&schema)
        } else {
            let registry = nav_registry().map_err(|e| invalid(e.to_string()))?;
            options
                .with_draft(Draft::Draft6)
                .with_registry(registry)
                .with_base_uri(format!("{BASE_URI}{file}"))
                .build(&schema)
        }
        .map_err(|e| invalid(e.to_string()))?;
        Ok(Validator { compiled })
    }

    /// Checks `instance`; on failure, every problem found, each with its JSON path, in document order.
    pub fn validate(&self, instance: &Value) -> Result<(), Vec<Problem>> {
        if self.compiled.is_valid(instance) {
            return Ok(());
        }
        Err(problems::collect(self.compiled.iter_errors(instance), instance))
    }
}

/// Compiles the validator of `kind`. The schemas are compiled into the binary, so a failure here is a
/// defect of this crate (caught by its tests), not something an input can cause.
fn compile_kind(kind: DocumentKind) -> Validator {
    let result = match kind.schema_file() {
        Some(file) => Validator::for_schema_file(file),
        None => receipt_validator(),
    };
    match result {
        Ok(validator) => validator,
        Err(e) => panic!("embedded schema of {} must compile: {e}", kind.format_name()),
    }
}

/// The Fiks IO receipts carry an empty JSON object; any object is accepted (extra fields are tolerated, as
/// everywhere in these formats).
fn receipt_validator() -> Result<Validator, SchemaError> {
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .with_retriever(EmbeddedOnly)
        .build(&serde_json::json!({ "type": "object" }))
        .map(|compiled| Validator { compiled })
        .map_err(|e| SchemaError::Invalid { file: "(receipt)".to_owned(), reason: e.to_string() })
}

/// All embedded Nav schema files in one registry, each under `BASE_URI` + its path, built once.
fn nav_registry() -> Result<&'static Registry<'static>, &'static str> {
    static REGISTRY: LazyLock<Result<Registry<'static>, String>> = LazyLock::new(|| {
        let mut resources = Vec::new();
        for (path, text) in embedded::FILES {
            if path.starts_with(FIKS_IO_FOLDER) {
                continue;
            }
            let contents: Value = serde_json::from_str(text).map_err(|e| format!("{path} is not JSON: {e}"))?;
            resources.push((format!("{BASE_URI}{path}"), contents));
        }
        Registry::new()
            .draft(Draft::Draft6)
            .retriever(EmbeddedOnly)
            .retrieve_known_draft_meta_schemas(false)
            .extend(resources)
            .and_then(|builder| builder.prepare())
            .map_err(|e| e.to_string())
    });
    REGISTRY.as_ref().map_err(String::as_str)
}

/// A retriever that retrieves nothing: every schema the validators need is embedded and registered up
/// front, so a request for anything else is a broken `$ref`, reported at compile time of the validator.
struct EmbeddedOnly;

impl Retrieve for EmbeddedOnly {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("{uri} is not an embedded schema; nothing is fetched at run time").into())
    }
}
