//! Streamed uploads with a hard size limit, checked against what the sender declared.
//!
//! The name of a blob is the hash of its bytes, known only after the last byte. So an upload is hashed as it
//! streams, and where the bytes wait meanwhile depends on their size:
//! - up to the spool size (5 MiB by default) they wait in memory and are written in one request under their
//!   name once hashed: most files of a søknad are small, and one write is cheaper than a multipart upload;
//! - past it they stream into a temporary object under `uploads/<uuid>` (an object-store multipart upload, so
//!   memory stays bounded), which is renamed to its name at the end.
//!
//! Every refusal (past the limit, a size or hash that does not match the declaration, a source that fails)
//! aborts the temporary object, so a refused upload leaves nothing behind. The limit is enforced on the bytes,
//! not on a declared size: reading stops at the first chunk past it. When the bytes outgrow a declared size
//! the upload is doomed, but reading goes on (discarding, up to the limit) so the refusal can say how many
//! bytes there were. If the process dies mid-upload, the temporary object stays; [`DocumentStore::
//! remove_stale_uploads`] clears such leftovers (S3 additionally keeps incomplete multipart uploads until a
//! bucket lifecycle rule removes them).

use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use sha2::Digest;
use uuid::Uuid;

use super::{DEFAULT_SPOOL_BYTES, DocumentError, DocumentStore, StoredBlob, UPLOADS, UploadError};
use digisos_schema::events::Sha512;

/// How many object-store parts may be in flight at once for one upload.
const PARTS_IN_FLIGHT: usize = 4;

/// What the sender declared about a file; each given value is checked against the bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// The size the sender declared (`storrelse`), in bytes.
    pub size: Option<u64>,
    /// The SHA-512 the sender declared (from `vedlegg.json`).
    pub sha512: Option<Sha512>,
}

/// Where the bytes of an upload wait until their hash is known.
enum Sink {
    /// Small so far: in memory.
    Memory { chunks: Vec<Bytes>, len: usize },
    /// Large: streaming into a temporary object.
    Temporary { path: Path, writer: WriteMultipart },
    /// Doomed (more bytes than declared): counted, not kept.
    Discard,
}

impl Sink {
    /// Gives up the bytes so far, removing a temporary object.
    async fn abort(self) {
        if let Sink::Temporary { path, writer } = self
            && let Err(e) = writer.abort().await
        {
            tracing::warn!(%path, error = %e, "could not abort a refused upload; it will be swept later");
        }
    }
}

impl DocumentStore {
    /// Stores a file as it streams in, refusing it past the size limit or when it does not match `expected`.
    ///
    /// On success the blob is stored under its SHA-512 (written once: the same bytes again write nothing). On any
    /// failure nothing is left behind, and the caller gets either the source's own error or a [`DocumentError`].
    pub async fn put_stream<S, E>(&self, stream: S, expected: &Expected) -> Result<StoredBlob, UploadError<E>>
    where
        S: Stream<Item = Result<Bytes, E>>,
    {
        let limit = self.max_file_bytes;
        if expected.size.is_some_and(|declared| declared > limit) {
            return Err(DocumentError::TooLarge { limit }.into());
        }
        let mut stream = std::pin::pin!(stream);
        let mut sink = Sink::Memory { chunks: Vec::new(), len: 0 };
        let mut hasher = sha2::Sha512::new();
        let mut size: u64 = 0;
        while let Some(item) = stream.next().await {
            let chunk = match item {
                Ok(chunk) => chunk,
                Err(e) => {
                    sink.abort().await;
                    return Err(UploadError::Source(e));
                }
            };
            size += chunk.len() as u64;
            if size > limit {
                sink.abort().await;
                return Err(DocumentError::TooLarge { limit }.into());
            }
            if expected.size.is_some_and(|declared| size > declared) && !matches!(sink, Sink::Discard) {
                sink.abort().await;
                sink = Sink::Discard;
            }
            hasher.update(&chunk);
            sink = match self.push(sink, chunk).await {
                Ok(sink) => sink,
                Err(e) => return Err(e.into()),
            };
        }
        let sha512 = Sha512::parse(&hex::encode(hasher.finalize())).expect("a SHA-512 digest is 128 hex digits");
        let blob = StoredBlob { sha512, size };
        if let Some(declared) = expected.size.filter(|declared| *declared != size) {
            sink.abort().await;
            return Err(DocumentError::SizeMismatch { declared, received: size }.into());
        }
        if let Some(declared) = expected.sha512.as_ref().filter(|declared| **declared != blob.sha512) {
            sink.abort().await;
            return Err(DocumentError::Sha512Mismatch { declared: declared.clone(), received: blob.sha512 }.into());
        }
        match sink {
            Sink::Memory { chunks, .. } => self.put_named(&blob, chunks.into_iter().collect::<PutPayload>()).await?,
            Sink::Temporary { path, writer } => {
                // A failed completion is aborted by the object store itself (or swept as a stale upload).
                writer.finish().await.map_err(DocumentError::from)?;
                self.promote(&path, &blob).await?;
            }
            Sink::Discard => {
                // Only a size past the declared one discards, and that was refused above.
                return Err(DocumentError::SizeMismatch {
                    declared: expected.size.unwrap_or_default(),
                    received: size,
                }
                .into());
            }
        }
        Ok(blob)
    }

    /// Adds a chunk to the sink, moving from memory to a temporary object when the spool size is passed. On a
    /// store failure the sink is aborted before the error is returned.
    async fn push(&self, sink: Sink, chunk: Bytes) -> Result<Sink, DocumentError> {
        match sink {
            Sink::Memory { mut chunks, len } if len + chunk.len() <= self.spool_bytes => {
                let len = len + chunk.len();
                chunks.push(chunk);
                Ok(Sink::Memory { chunks, len })
            }
            Sink::Memory { chunks, .. } => {
                let path = self.prefix.clone().join(UPLOADS).join(Uuid::new_v4().to_string());
                let upload = self.store.put_multipart(&path).await?;
                let mut writer = WriteMultipart::new_with_chunk_size(upload, DEFAULT_SPOOL_BYTES);
                for spooled in chunks {
                    writer.put(spooled);
                }
                self.write(Sink::Temporary { path, writer }, chunk).await
            }
            Sink::Temporary { .. } => self.write(sink, chunk).await,
            Sink::Discard => Ok(Sink::Discard),
        }
    }

    /// Writes a chunk to a temporary object, waiting while too many parts are in flight.
    async fn write(&self, sink: Sink, chunk: Bytes) -> Result<Sink, DocumentError> {
        let Sink::Temporary { path, mut writer } = sink else {
            return Ok(sink);
        };
        writer.put(chunk);
        match writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
            Ok(()) => Ok(Sink::Temporary { path, writer }),
            Err(e) => {
                Sink::Temporary { path, writer }.abort().await;
                Err(e.into())
            }
        }
    }

    /// Moves a completed temporary object to the blob's name (or drops it when the blob is already there).
    async fn promote(&self, temporary: &Path, blob: &StoredBlob) -> Result<(), DocumentError> {
        let path = self.blob_path(&blob.sha512);
        let moved = if self.holds(blob, &path).await? {
            self.store.delete(temporary).await
        } else {
            self.store.rename(temporary, &path).await
        };
        if let Err(e) = moved {
            if let Err(cleanup) = self.store.delete(temporary).await {
                tracing::warn!(path = %temporary, error = %cleanup, "could not remove a temporary upload");
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Removes temporary uploads older than `age` (left by a process that stopped mid-upload); returns how many.
    /// Run it with an age well above the longest upload (an hour, say), so no upload in progress is touched.
    pub async fn remove_stale_uploads(&self, age: Duration) -> Result<usize, DocumentError> {
        let folder = self.prefix.clone().join(UPLOADS);
        let age = chrono::Duration::from_std(age).ok();
        let Some(cutoff) = age.and_then(|age| chrono::Utc::now().checked_sub_signed(age)) else {
            return Ok(0);
        };
        let stale: Vec<Path> = self
            .store
            .list(Some(&folder))
            .try_filter_map(|meta| async move { Ok((meta.last_modified <= cutoff).then_some(meta.location)) })
            .try_collect()
            .await?;
        for path in &stale {
            match self.store.delete(path).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(stale.len())
    }
}
