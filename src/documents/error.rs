//! What can go wrong with stored documents, and how each failure is answered.
//!
//! The store's own failures ([`DocumentError`]) are kept apart from the failures of the stream being uploaded
//! ([`UploadError::Source`]), because the source's errors (a broken multipart body, a client that went away)
//! carry their own status, and the caller knows best how to name them. Messages here never name a file: the
//! caller knows which part of a request the bytes came from and says so in its own message.

use axum::http::StatusCode;

use digisos_schema::events::Sha512;

/// A failure of the document store or of a check on the bytes given to it.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// More bytes than the limit a file. Nothing was kept.
    #[error("larger than the limit of {limit} bytes a file")]
    TooLarge {
        /// The limit in force, in bytes.
        limit: u64,
    },
    /// The declared size is not the number of bytes received. Nothing was kept.
    #[error("the declared size {declared} does not match the {received} bytes received")]
    SizeMismatch {
        /// What the sender said.
        declared: u64,
        /// What arrived.
        received: u64,
    },
    /// The declared SHA-512 is not the hash of the bytes received. Nothing was kept.
    #[error("the declared sha512 {declared} does not match the sha512 {received} of the bytes received")]
    Sha512Mismatch {
        /// What the sender said.
        declared: Sha512,
        /// The hash of what arrived.
        received: Sha512,
    },
    /// No document with that hash is stored.
    #[error("no document with sha512 {0} is stored")]
    NotFound(Sha512),
    /// The configuration names a store that cannot be opened (bad URL, unknown scheme, missing folder).
    #[error("the document store cannot be opened: {0}")]
    Config(String),
    /// The object store failed (disk, network, permissions).
    #[error("the document store failed: {0}")]
    Store(#[from] object_store::Error),
}

impl DocumentError {
    /// The HTTP status this failure is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            DocumentError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DocumentError::SizeMismatch { .. } | DocumentError::Sha512Mismatch { .. } => StatusCode::BAD_REQUEST,
            DocumentError::NotFound(_) => StatusCode::NOT_FOUND,
            DocumentError::Config(_) | DocumentError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// A failed streamed upload: either the stream being read failed, or the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError<E> {
    /// Reading the bytes failed (a malformed body, a client that went away). Nothing was kept.
    #[error("reading the upload failed: {0}")]
    Source(E),
    /// The bytes broke a limit or a declaration, or the store failed. Nothing was kept.
    #[error(transparent)]
    Document(#[from] DocumentError),
}
