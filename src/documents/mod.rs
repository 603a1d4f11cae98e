//! The document store: the bytes of every file a case holds (søknad PDFs, vedlegg, the fagsystem's letters and
//! vedtak, and the JSON documents themselves), kept in an object store.
//!
//! Shape:
//! - Content-addressed. A blob is stored once under the SHA-512 of its bytes (`sha512/<first 2 hex>/<128 hex>`,
//!   lowercase, the hash `vedlegg.json` uses), so storing the same bytes again writes nothing, and a blob can be
//!   checked against its name. The two-hex fan-out keeps folders small on a local disk.
//! - No ownership here. Which case a blob belongs to, under which `dokumentlagerDokumentId` and file name, is
//!   metadata in the case's events ([`DokumentInfo`], built by [`StoredBlob::dokument_info`]); the same bytes sent
//!   to two cases are one blob and two documents. Authorising a download is therefore the read side's job.
//! - Uploads are streamed with a hard size limit ([`DocumentStore::put_stream`], `upload.rs`): a file larger than
//!   the limit is refused after reading one byte past it, and nothing is left behind.
//! - A blob that was stored for a request that was then refused stays, unreferenced. It is harmless (no event
//!   names it) and would be found again by the same bytes; deleting it could race with a second request that
//!   stores the same content and succeeds.
//! - Any backend `object_store` offers, chosen by URL (`config.rs`): a local folder by default, S3, GCS or Azure
//!   Blob Storage in production. Only the local folder and the in-memory store can be tested here: S3, GCS and
//!   Azure need their services and credentials, so their tests stop at parsing the URL into a store.

mod config;
mod error;
mod upload;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::Serialize;
use uuid::Uuid;

use digisos_schema::events::{DokumentInfo, Sha512};

pub use config::{DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES_PER_REQUEST, DocumentsConfig};
pub use error::{DocumentError, UploadError};
pub use upload::Expected;

/// The store's folder for blobs, below the configured prefix.
const BLOBS: &str = "sha512";
/// The store's folder for uploads in progress, below the configured prefix.
const UPLOADS: &str = "uploads";
/// Uploads up to this size are hashed in memory and written in one request; larger ones are streamed to a
/// temporary object first. 5 MiB is the smallest part S3 accepts in a multipart upload.
pub const DEFAULT_SPOOL_BYTES: usize = 5 * 1024 * 1024;

/// A blob in the store: its content hash and size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct StoredBlob {
    /// SHA-512 of the bytes (128 lowercase hex digits): the blob's name.
    pub sha512: Sha512,
    /// Size in bytes.
    pub size: u64,
}

impl StoredBlob {
    /// The blob of these bytes (hash and size), without storing anything.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        StoredBlob { sha512: Sha512::of_bytes(bytes), size: bytes.len() as u64 }
    }

    /// The event metadata for this blob as a new document of a case, under a fresh `dokumentlagerDokumentId`.
    pub fn dokument_info(&self, filnavn: impl Into<String>, mimetype: impl Into<String>) -> DokumentInfo {
        self.dokument_info_with_id(Uuid::new_v4(), filnavn, mimetype)
    }

    /// The event metadata for this blob as the document `id` of a case.
    pub fn dokument_info_with_id(
        &self,
        id: Uuid,
        filnavn: impl Into<String>,
        mimetype: impl Into<String>,
    ) -> DokumentInfo {
        DokumentInfo {
            dokumentlager_dokument_id: id,
            filnavn: filnavn.into(),
            mimetype: mimetype.into(),
            storrelse: self.size,
            sha512: self.sha512.clone(),
        }
    }
}

/// A stored blob being read: its size and its bytes as they arrive.
pub struct BlobStream {
    /// Size in bytes.
    pub size: u64,
    /// The bytes, in order.
    pub stream: BoxStream<'static, Result<Bytes, DocumentError>>,
}

impl fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlobStream").field("size", &self.size).finish_non_exhaustive()
    }
}

/// The document store: content-addressed blobs in an object store, with a size limit on uploads.
#[derive(Clone)]
pub struct DocumentStore {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    max_file_bytes: u64,
    spool_bytes: usize,
    /// Where the blobs live, for logs (no credentials).
    location: String,
}

impl fmt::Debug for DocumentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentStore")
            .field("location", &self.location)
            .field("max_file_bytes", &self.max_file_bytes)
            .finish_non_exhaustive()
    }
}

impl DocumentStore {
    /// A store over any object store, its blobs below `prefix`; `location` names it in logs.
    pub fn new(store: Arc<dyn ObjectStore>, prefix: Path, location: impl Into<String>, max_file_bytes: u64) -> Self {
        DocumentStore { store, prefix, max_file_bytes, spool_bytes: DEFAULT_SPOOL_BYTES, location: location.into() }
    }

    /// A store in a local folder (created if missing), with every write synced to disk before it is reported.
    pub fn local(folder: &std::path::Path, max_file_bytes: u64) -> Result<Self, DocumentError> {
        config::open_local(folder, max_file_bytes)
    }

    /// A store in memory, gone with the process: for tests and demonstrations.
    pub fn in_memory(max_file_bytes: u64) -> Self {
        DocumentStore::new(Arc::new(object_store::memory::InMemory::new()), Path::default(), "memory", max_file_bytes)
    }

    /// The same store with another size below which uploads are hashed in memory before they are written.
    pub fn with_spool_bytes(mut self, spool_bytes: usize) -> Self {
        self.spool_bytes = spool_bytes;
        self
    }

    /// The largest file an upload may carry, in bytes.
    pub fn max_file_bytes(&self) -> u64 {
        self.max_file_bytes
    }

    /// Where the blobs live (a folder, or a URL without credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Stores bytes already in memory (a JSON document the hub keeps) and names them. Storing the same bytes
    /// again writes nothing. The size limit for uploads does not apply: the caller has the bytes already.
    pub async fn put(&self, bytes: Bytes) -> Result<StoredBlob, DocumentError> {
        let blob = StoredBlob::of_bytes(&bytes);
        self.put_named(&blob, PutPayload::from(bytes)).await?;
        Ok(blob)
    }

    /// Whether a blob with this hash is stored.
    pub async fn exists(&self, sha512: &Sha512) -> Result<bool, DocumentError> {
        match self.store.head(&self.blob_path(sha512)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of a blob, whole.
    pub async fn get(&self, sha512: &Sha512) -> Result<Bytes, DocumentError> {
        let result = self.store.get(&self.blob_path(sha512)).await.map_err(|e| not_found_as(e, sha512))?;
        result.bytes().await.map_err(|e| not_found_as(e, sha512))
    }

    /// The bytes of a blob as a stream, for answering a download without holding the file in memory.
    pub async fn get_stream(&self, sha512: &Sha512) -> Result<BlobStream, DocumentError> {
        let result = self.store.get(&self.blob_path(sha512)).await.map_err(|e| not_found_as(e, sha512))?;
        let size = result.meta.size;
        let stream = result.into_stream().map(|chunk| chunk.map_err(DocumentError::from)).boxed();
        Ok(BlobStream { size, stream })
    }

    /// Deletes a blob; one already gone is no error. Only for blobs nothing else names (a content hash is
    /// shared by every file with the same bytes).
    pub async fn delete(&self, sha512: &Sha512) -> Result<(), DocumentError> {
        match self.store.delete(&self.blob_path(sha512)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Where a blob lives in the object store.
    fn blob_path(&self, sha512: &Sha512) -> Path {
        let hex = sha512.as_str();
        self.prefix.clone().join(BLOBS).join(&hex[..2]).join(hex)
    }

    /// Writes `payload` (whose name is `blob`) unless a blob of that name and size is already there.
    async fn put_named(&self, blob: &StoredBlob, payload: PutPayload) -> Result<(), DocumentError> {
        let path = self.blob_path(&blob.sha512);
        if self.holds(blob, &path).await? {
            return Ok(());
        }
        self.store.put(&path, payload).await?;
        Ok(())
    }

    /// Whether `path` already holds `blob`. An object of another size under a content hash cannot be that
    /// content (a write interrupted by hand, a disk fault); it is reported and then overwritten.
    async fn holds(&self, blob: &StoredBlob, path: &Path) -> Result<bool, DocumentError> {
        match self.store.head(path).await {
            Ok(meta) if meta.size == blob.size => Ok(true),
            Ok(meta) => {
                tracing::warn!(
                    sha512 = %blob.sha512, stored = meta.size, expected = blob.size,
                    "stored blob has the wrong size; writing it again"
                );
                Ok(false)
            }
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}

/// Maps the object store's "not found" to [`DocumentError::NotFound`] for this hash.
fn not_found_as(err: object_store::Error, sha512: &Sha512) -> DocumentError {
    match err {
        object_store::Error::NotFound { .. } => DocumentError::NotFound(sha512.clone()),
        other => other.into(),
    }
}
