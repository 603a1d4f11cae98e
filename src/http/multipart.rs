//! Reading the multipart uploads of the real API: a søknad, an ettersendelse, and the fagsystem's files.
//!
//! The parts are read in order, as the real API demands, and each file is streamed into the document store as
//! it arrives (never held whole in memory). The reader returns typed parts, or the first problem as an
//! [`ApiError`] naming the part and, for JSON documents, the JSON path. It runs before any command: a refused
//! request appends no event, though files stored before the refusal stay as unreferenced blobs (harmless,
//! content-addressed; see [`crate::documents`]).
//!
//! Accepted shapes (DOMAIN.md A.2, A.4):
//! - søknad ([`read_soknad`]): optional `tilleggsinformasjonJson` (`{"enhetsnummer": "<4 digits>"}`),
//!   `soknadJson` and `vedleggJson` (required, in any order, before the files), then per file a metadata part
//!   followed by its file part; the first file is the søknad PDF.
//! - ettersendelse ([`read_ettersendelse`]): `vedlegg.json` (or `vedleggJson`), then file pairs.
//! - v2 søknad and ettersendelse ([`read_soknad_v2`], [`read_ettersendelse_v2`]): as v1, the generated PDFs as
//!   `metadata` + a part named by the file, and the listed vedlegg not in the request left for mellomlagring.
//! - fagsystem files ([`read_filer`]): file pairs only.
//! - mellomlagring ([`read_mellomlagring`]): `metadata` + a part of any name, per file.
//!
//! Every file part may be CMS EnvelopedData for the hub's certificate ([`crate::kryptering`]): it is decrypted
//! and its plaintext is what is checked and stored.
//!
//! File pairs. A metadata part is JSON `{filnavn, mimetype, storrelse}` (all required, extra fields ignored).
//! Its names and the file part each one announces:
//! - `vedleggSpesifikasjon:<i>` (Nav) or `metadata:<i>` (KS's Java client): then exactly `dokument:<i>`;
//! - `metadata` (KS's client, one file): then exactly `dokument`;
//! - `metadata<i>` (Nav's v2 søknad): then one part with any name (v2 names it by its file name);
//! - for the fagsystem's files only, any other name pairs by position: odd parts are metadata, even parts
//!   files, whatever their names, as long as a file part is not itself named like metadata.
//!
//! Rules, each refusal with its status:
//! - 400: a part without a name, an unknown part name (søknad, ettersendelse), a JSON part after the files or
//!   twice, a required JSON part missing, a JSON part that is not JSON or not valid against its schema
//!   (problems at `<part>: <JSON path>`), invalid metadata, a file part without its metadata part before it
//!   or a metadata part without its file after it, a file whose size is not the declared `storrelse`, a file
//!   not listed in `vedlegg.json` or a listed file not uploaded, a `sha512` in `vedlegg.json` that does not
//!   match the bytes (see `multipart/filliste.rs` for the matching rule), a request without files.
//! - 413: a file larger than the limit a file (declared or actual), more files than the limit a request, a
//!   JSON or metadata part past its cap, a body past the route's body limit. Limits are 413, not 400, because
//!   the request is well-formed and only too large for this service: a client fixes it by sending less (in
//!   several requests), not by changing its format.
//!
//! axum applies its own default body limit (2 MB) to the multipart extractor; routes using this reader must
//! lift it with [`body_limit`], or every larger upload is refused before the reader sees it.

mod filliste;
mod json;
mod names;
mod read;

use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Request};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::Value;

use digisos_schema::events::DokumentInfo;
use digisos_schema::soknad::JsonSoknad;
use digisos_schema::types::Enhetsnummer;
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;

use crate::documents::{DocumentStore, DocumentsConfig, StoredBlob};
use crate::http::error::ApiError;
use crate::kryptering::Kryptering;
pub use filliste::{GENERATED_PDFS, ListedFile};
use names::{JsonSlot, Mode, PartRef};

/// Default cap on one JSON document part (`soknadJson`, `vedleggJson`, …), in bytes.
pub const DEFAULT_MAX_JSON_BYTES: usize = 2 * 1024 * 1024;
/// Default cap on one file metadata part, in bytes.
pub const DEFAULT_MAX_METADATA_BYTES: usize = 16 * 1024;

/// The limits of one upload request besides the size limit a file, which the document store holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadLimits {
    /// The most files one request may carry.
    pub max_files: usize,
    /// The largest JSON document part, in bytes.
    pub max_json_bytes: usize,
    /// The largest metadata part, in bytes.
    pub max_metadata_bytes: usize,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits::from_config(&DocumentsConfig::default())
    }
}

impl UploadLimits {
    /// The limits the configuration sets (files a request), with the default caps on JSON and metadata parts.
    pub fn from_config(config: &DocumentsConfig) -> Self {
        UploadLimits {
            max_files: config.max_files_per_request,
            max_json_bytes: DEFAULT_MAX_JSON_BYTES,
            max_metadata_bytes: DEFAULT_MAX_METADATA_BYTES,
        }
    }

    /// The largest body a request within these limits can have, with files of at most `max_file_bytes`.
    pub fn max_body_bytes(&self, max_file_bytes: u64) -> usize {
        const PART_OVERHEAD: u64 = 1024;
        let file = max_file_bytes.saturating_add(self.max_metadata_bytes as u64).saturating_add(2 * PART_OVERHEAD);
        let files = file.saturating_mul(self.max_files as u64);
        let json = (self.max_json_bytes as u64 + PART_OVERHEAD).saturating_mul(3);
        usize::try_from(files.saturating_add(json)).unwrap_or(usize::MAX)
    }
}

/// The axum body limit for an upload route: lifts axum's 2 MB default to what these limits allow.
pub fn body_limit(limits: &UploadLimits, max_file_bytes: u64) -> DefaultBodyLimit {
    DefaultBodyLimit::max(limits.max_body_bytes(max_file_bytes))
}

/// The metadata part of a file: `{filnavn, mimetype, storrelse}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilMetadata {
    /// The file name as the sender gave it (personal data).
    pub filnavn: String,
    /// The declared media type.
    pub mimetype: String,
    /// The declared size in bytes, checked against the bytes received.
    pub storrelse: u64,
}

/// A file received and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadedFile {
    /// The name of its metadata part (`vedleggSpesifikasjon:0`).
    pub metadata_part: String,
    /// The name of its file part (`dokument:0`; for a v2 søknad, its file name).
    pub part: String,
    /// What the metadata part said (the size is checked).
    pub metadata: FilMetadata,
    /// The stored bytes.
    pub blob: StoredBlob,
    /// Which entry of `vedlegg.json` (`$.vedlegg[i]`) lists it; `None` for a generated PDF that is not listed,
    /// and for the fagsystem's files.
    pub vedlegg_index: Option<usize>,
}

impl UploadedFile {
    /// The event metadata of this file as a new document of a case, under a fresh `dokumentlagerDokumentId`.
    pub fn dokument_info(&self) -> DokumentInfo {
        self.blob.dokument_info(self.metadata.filnavn.clone(), self.metadata.mimetype.clone())
    }
}

/// A JSON document part: the document as received, its typed model, and its stored bytes.
#[derive(Debug, Clone, Serialize)]
pub struct JsonPart<T> {
    /// The part's name (`soknadJson`, `vedlegg.json`, …).
    pub part: String,
    /// The document as received.
    pub value: Value,
    /// The typed model.
    pub typed: T,
    /// The bytes exactly as received, stored.
    pub blob: StoredBlob,
}

impl<T> JsonPart<T> {
    /// The event metadata of this document as a new document of a case (`soknad.json`, `vedlegg.json`).
    pub fn dokument_info(&self, filnavn: &str) -> DokumentInfo {
        self.blob.dokument_info(filnavn, "application/json")
    }
}

/// `tilleggsinformasjonJson`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tilleggsinformasjon {
    /// The NAV office the søknad was sent to, when given.
    pub enhetsnummer: Option<Enhetsnummer>,
}

/// A søknad as received.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SoknadUpload {
    /// `tilleggsinformasjonJson`, when sent.
    pub tilleggsinformasjon: Option<JsonPart<Tilleggsinformasjon>>,
    /// `soknadJson`, schema-valid.
    pub soknad: JsonPart<JsonSoknad>,
    /// `vedleggJson`, schema-valid.
    pub vedlegg: JsonPart<JsonVedleggSpesifikasjon>,
    /// The first file: the søknad PDF.
    pub soknad_pdf: UploadedFile,
    /// The other files, in request order.
    pub filer: Vec<UploadedFile>,
    /// v2: the files `vedleggJson` lists that are to be taken from mellomlagring (empty for v1).
    pub fra_mellomlagring: Vec<ListedFile>,
}

/// An ettersendelse as received.
#[derive(Debug, Clone, Serialize)]
pub struct EttersendelseUpload {
    /// `vedlegg.json`, schema-valid.
    pub vedlegg: JsonPart<JsonVedleggSpesifikasjon>,
    /// The files, in request order (at least one in v1).
    pub filer: Vec<UploadedFile>,
    /// v2: the files `vedlegg.json` lists that are to be taken from mellomlagring (empty for v1).
    pub fra_mellomlagring: Vec<ListedFile>,
}

/// The fagsystem's files as received.
#[derive(Debug, Clone, Serialize)]
pub struct FilerUpload {
    /// The files, in request order (at least one).
    pub filer: Vec<UploadedFile>,
}

/// Reads a søknad (`POST /soknader/{kommunenummer}/{navEksternRefId}`).
pub async fn read_soknad(
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<SoknadUpload, ApiError> {
    soknad_of(Mode::Soknad, multipart, store, limits, kryptering).await
}

/// Reads a v2 søknad (`POST /digisos/api/v2/soknader/{kommunenummer}/{navEksternRefId}`): the generated PDFs in
/// the request, the listed vedlegg left for mellomlagring ([`SoknadUpload::fra_mellomlagring`]).
pub async fn read_soknad_v2(
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<SoknadUpload, ApiError> {
    soknad_of(Mode::SoknadV2, multipart, store, limits, kryptering).await
}

async fn soknad_of(
    mode: Mode,
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<SoknadUpload, ApiError> {
    let collected = read::collect(mode, multipart, store, limits, kryptering).await?;
    let missing = |slot| read::missing_before_files(mode, slot, None);
    let soknad = collected.soknad.ok_or_else(|| missing(JsonSlot::Soknad))?;
    let vedlegg = collected.vedlegg.ok_or_else(|| missing(JsonSlot::Vedlegg))?;
    let mut files = collected.files.into_iter();
    let soknad_pdf = files.next().ok_or_else(|| {
        ApiError::bad_request(match mode {
            Mode::SoknadV2 => "the søknad carries no files; the first file (metadata + Soknad.pdf) is the søknad PDF",
            _ => "the søknad carries no files; the first file (vedleggSpesifikasjon:0 + dokument:0) is the søknad PDF",
        })
    })?;
    Ok(SoknadUpload {
        tilleggsinformasjon: collected.tilleggsinformasjon,
        soknad,
        vedlegg,
        soknad_pdf,
        filer: files.collect(),
        fra_mellomlagring: collected.untaken,
    })
}

/// Reads an ettersendelse (`POST /soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}`).
pub async fn read_ettersendelse(
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<EttersendelseUpload, ApiError> {
    ettersendelse_of(Mode::Ettersendelse, multipart, store, limits, kryptering).await
}

/// Reads a v2 ettersendelse (`POST /digisos/api/v2/soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}`):
/// `vedlegg.json`, whose files are left for mellomlagring.
pub async fn read_ettersendelse_v2(
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<EttersendelseUpload, ApiError> {
    ettersendelse_of(Mode::EttersendelseV2, multipart, store, limits, kryptering).await
}

async fn ettersendelse_of(
    mode: Mode,
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<EttersendelseUpload, ApiError> {
    let collected = read::collect(mode, multipart, store, limits, kryptering).await?;
    let vedlegg = collected.vedlegg.ok_or_else(|| read::missing_before_files(mode, JsonSlot::Vedlegg, None))?;
    if collected.files.is_empty() && collected.untaken.is_empty() {
        return Err(ApiError::bad_request("the ettersendelse carries no files"));
    }
    Ok(EttersendelseUpload { vedlegg, filer: collected.files, fra_mellomlagring: collected.untaken })
}

/// Reads the fagsystem's files (`POST /{fiksOrgId}/{digisosId}/filer`).
pub async fn read_filer(
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<FilerUpload, ApiError> {
    let collected = read::collect(Mode::Filer, multipart, store, limits, kryptering).await?;
    if collected.files.is_empty() {
        return Err(ApiError::bad_request("the upload carries no files (a metadata part followed by a file part)"));
    }
    Ok(FilerUpload { filer: collected.files })
}

/// Reads files into mellomlagring (`POST /mellomlagring/{navEksternRefId}`): `metadata` then the file's part,
/// once or more.
pub async fn read_mellomlagring(
    multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<FilerUpload, ApiError> {
    let collected = read::collect(Mode::Mellomlagring, multipart, store, limits, kryptering).await?;
    if collected.files.is_empty() {
        return Err(ApiError::bad_request("the upload carries no file (a part metadata followed by the file's part)"));
    }
    Ok(FilerUpload { filer: collected.files })
}

/// The multipart extractor with the API's error shape: a body that is not `multipart/form-data` with a
/// boundary is answered 400 like every other refusal.
#[derive(Debug)]
pub struct MultipartBody(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for MultipartBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Multipart::from_request(req, state).await.map(MultipartBody).map_err(|rejection| {
            ApiError::bad_request(format!(
                "the body must be multipart/form-data with a boundary ({})",
                rejection.body_text()
            ))
        })
    }
}

/// A failure to read the multipart body itself: 413 past the body limit, otherwise 400.
fn body_error(part: Option<&PartRef>, err: MultipartError) -> ApiError {
    if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than this endpoint accepts");
    }
    let at = part.map(|p| format!(" in {p}")).unwrap_or_default();
    ApiError::bad_request(format!("the multipart body could not be read{at}: {}", err.body_text()))
}
