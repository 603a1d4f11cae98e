//! Configuration of the document store, and opening the store a URL names.
//!
//! One setting picks the backend, `DIGISOS_DOCUMENTS_URL`:
//! - unset: a folder `documents` in the data folder (the embedded default; nothing to install);
//! - a folder path or `file:///absolute/folder`: that folder, created if missing;
//! - `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` (and the other spellings `object_store`
//!   knows, such as `https://account.blob.core.windows.net/container`): the cloud store, with credentials,
//!   region and endpoint from the usual `AWS_*`, `GOOGLE_*` and `AZURE_*` environment variables (only those
//!   prefixes are passed on, so an unrelated variable such as `TOKEN` or `ENDPOINT` cannot configure the store);
//! - `memory://`: in memory, gone with the process (tests, demonstrations).
//!
//! The cloud backends cannot be tested here (they need their services); their test stops at parsing a URL into
//! a store, which needs no network.

use std::path::Path as FsPath;
use std::sync::Arc;

use clap::Args;
use clap::builder::RangedU64ValueParser;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use url::Url;

use super::{DocumentError, DocumentStore};

/// Default largest file, in bytes: 10 MiB, as Nav's own limit.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// Default largest number of files in one upload request.
pub const DEFAULT_MAX_FILES_PER_REQUEST: usize = 30;

/// Prefixes of the environment variables handed to the cloud backends as configuration.
const CLOUD_ENV_PREFIXES: [&str; 3] = ["AWS_", "GOOGLE_", "AZURE_"];

/// Where documents are kept and how large uploads may be.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct DocumentsConfig {
    /// Where documents are kept: a folder, `file:///…`, `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` or `memory://`. Default: the folder `documents` in the data folder.
    #[arg(long = "documents-url", env = "DIGISOS_DOCUMENTS_URL")]
    pub documents_url: Option<String>,

    /// The largest file an upload may carry, in bytes (larger files are refused with 413).
    #[arg(long, env = "DIGISOS_MAX_FILE_BYTES", default_value_t = DEFAULT_MAX_FILE_BYTES,
          value_parser = RangedU64ValueParser::<u64>::new().range(1..))]
    pub max_file_bytes: u64,

    /// The most files one upload request may carry (more are refused with 413).
    #[arg(long, env = "DIGISOS_MAX_FILES_PER_REQUEST", default_value_t = DEFAULT_MAX_FILES_PER_REQUEST,
          value_parser = RangedU64ValueParser::<usize>::new().range(1..))]
    pub max_files_per_request: usize,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig {
            documents_url: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            max_files_per_request: DEFAULT_MAX_FILES_PER_REQUEST,
        }
    }
}

impl DocumentsConfig {
    /// Opens the configured store; without a URL, the folder `documents` in `data_dir`.
    pub fn open(&self, data_dir: &FsPath) -> Result<DocumentStore, DocumentError> {
        match self.documents_url.as_deref().map(str::trim).filter(|url| !url.is_empty()) {
            None => open_local(&data_dir.join("documents"), self.max_file_bytes),
            Some(url) => open_url(url, self.max_file_bytes),
        }
    }
}

/// Opens the store a URL (or a plain folder path) names.
pub(super) fn open_url(spec: &str, max_file_bytes: u64) -> Result<DocumentStore, DocumentError> {
    let Ok(url) = Url::parse(spec) else {
        // No scheme: a folder path.
        return open_local(FsPath::new(spec), max_file_bytes);
    };
    match url.scheme() {
        "file" => {
            let folder = url
                .to_file_path()
                .map_err(|()| DocumentError::Config(format!("{spec} does not name an absolute local folder")))?;
            open_local(&folder, max_file_bytes)
        }
        "memory" => Ok(DocumentStore::in_memory(max_file_bytes)),
        _ => {
            let location = without_secrets(&url);
            let (store, prefix) = object_store::parse_url_opts(&url, cloud_env()).map_err(|e| match e {
                object_store::Error::Generic { store: "URL", .. } | object_store::Error::NotImplemented { .. } => {
                    DocumentError::Config(format!(
                        "{location} is not a supported store; use a folder, file://, s3://, gs://, az:// or memory://"
                    ))
                }
                // The URL may carry credentials; the message gets the location without them.
                other => DocumentError::Config(format!("{location}: {}", other.to_string().replace(spec, &location))),
            })?;
            Ok(DocumentStore::new(Arc::from(store), prefix, location, max_file_bytes))
        }
    }
}

/// Opens (creating it if missing) a store in a local folder, syncing each write to disk before reporting it:
/// an event may name a blob as soon as the write returns, so the blob must survive a crash from then on.
pub(super) fn open_local(folder: &FsPath, max_file_bytes: u64) -> Result<DocumentStore, DocumentError> {
    std::fs::create_dir_all(folder)
        .map_err(|e| DocumentError::Config(format!("cannot create the documents folder {}: {e}", folder.display())))?;
    let store = LocalFileSystem::new_with_prefix(folder)
        .map_err(|e| DocumentError::Config(format!("cannot use the documents folder {}: {e}", folder.display())))?
        .with_fsync(true)
        .with_automatic_cleanup(true);
    Ok(DocumentStore::new(Arc::new(store), Path::default(), folder.display().to_string(), max_file_bytes))
}

/// The cloud configuration in the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`), skipping non-Unicode values.
fn cloud_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(key, value)| Some((key.into_string().ok()?, value.into_string().ok()?)))
        .filter(|(key, _)| CLOUD_ENV_PREFIXES.iter().any(|prefix| key.starts_with(prefix)))
        .collect()
}

/// The URL for logs: scheme, host and path, without user, password or query (which may carry keys).
fn without_secrets(url: &Url) -> String {
    format!("{}://{}{}", url.scheme(), url.host_str().unwrap_or_default(), url.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_in_logs_carry_no_credentials() {
        let url = Url::parse("s3://key:secret@bucket/prefix?sig=abc").expect("url");
        assert_eq!(without_secrets(&url), "s3://bucket/prefix");
    }
}
