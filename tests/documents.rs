//! The document store over a local folder (a fresh temporary folder per test) and by URL.
//!
//! S3, GCS and Azure cannot be tested here: they need their services and credentials. Their test stops at
//! parsing a URL into a store, which needs no network.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use clap::Parser;
use futures::{StreamExt, TryStreamExt, stream};

use digisos_schema::events::Sha512;
use fiks_digisos::documents::{
    DEFAULT_MAX_FILE_BYTES, DocumentError, DocumentStore, DocumentsConfig, Expected, StoredBlob, UploadError,
};

/// Every file below `dir` (the store's blobs and anything an upload left behind).
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(folder) = todo.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() { todo.push(path) } else { found.push(path) }
        }
    }
    found
}

fn local(max_file_bytes: u64) -> (tempfile::TempDir, DocumentStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = DocumentStore::local(dir.path(), max_file_bytes).expect("local store");
    (dir, store)
}

/// `total` bytes of a repeating pattern, in chunks of `chunk`.
fn chunks(total: usize, chunk: usize) -> Vec<Bytes> {
    let bytes: Vec<u8> = (0..total).map(|i| (i % 251) as u8).collect();
    bytes.chunks(chunk).map(Bytes::copy_from_slice).collect()
}

fn ok_stream(parts: Vec<Bytes>) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::iter(parts.into_iter().map(Ok))
}

/// An endless stream of 1 KiB chunks that counts how many were pulled.
fn endless(pulled: Arc<AtomicUsize>) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    stream::repeat_with(move || {
        pulled.fetch_add(1, Ordering::SeqCst);
        Ok(Bytes::from(vec![7u8; 1024]))
    })
}

#[tokio::test]
async fn put_stores_bytes_under_their_sha512_and_get_returns_them() {
    let (dir, store) = local(DEFAULT_MAX_FILE_BYTES);
    let blob = store.put(Bytes::from_static(b"%PDF-1.7 soknad")).await.expect("put");
    assert_eq!(blob, StoredBlob { sha512: Sha512::of_bytes(b"%PDF-1.7 soknad"), size: 15 });
    assert!(store.exists(&blob.sha512).await.expect("exists"));
    assert_eq!(store.get(&blob.sha512).await.expect("get"), Bytes::from_static(b"%PDF-1.7 soknad"));
    let hex = blob.sha512.as_str();
    assert_eq!(files_under(dir.path()), vec![dir.path().join("sha512").join(&hex[..2]).join(hex)]);
    let streamed: Vec<Bytes> =
        store.get_stream(&blob.sha512).await.expect("stream").stream.try_collect().await.expect("read");
    assert_eq!(streamed.concat(), b"%PDF-1.7 soknad");
}

#[tokio::test]
async fn unknown_blob_does_not_exist_and_get_says_not_found() {
    let (_dir, store) = local(DEFAULT_MAX_FILE_BYTES);
    let unknown = Sha512::of_bytes(b"never stored");
    assert!(!store.exists(&unknown).await.expect("exists"));
    assert!(matches!(store.get(&unknown).await, Err(DocumentError::NotFound(h)) if h == unknown));
    assert!(matches!(store.get_stream(&unknown).await, Err(DocumentError::NotFound(_))));
}

#[tokio::test]
async fn putting_the_same_bytes_again_returns_the_same_blob_without_writing() {
    use std::os::unix::fs::MetadataExt;
    let (dir, store) = local(DEFAULT_MAX_FILE_BYTES);
    let first = store.put(Bytes::from_static(b"same")).await.expect("put");
    let written = files_under(dir.path());
    let inode = std::fs::metadata(&written[0]).expect("metadata").ino();
    let again = store.put(Bytes::from_static(b"same")).await.expect("put again");
    let parts = vec![Bytes::from_static(b"sa"), Bytes::from_static(b"me")];
    let streamed = store.put_stream(ok_stream(parts), &Expected::default()).await.expect("put_stream");
    assert_eq!(streamed, first);
    assert_eq!(again, first);
    assert_eq!(files_under(dir.path()), written);
    // Every write goes through a new file renamed into place, so an unchanged inode means no second write.
    assert_eq!(std::fs::metadata(&written[0]).expect("metadata").ino(), inode);
}

#[tokio::test]
async fn small_and_large_streams_are_stored_whole_and_verified() {
    let (dir, store) = local(1024 * 1024);
    // Spool 4 KiB: the 3 KiB file is written in one go, the 200 KiB one streams through a temporary object.
    let store = store.with_spool_bytes(4096);
    for total in [3 * 1024, 200 * 1024] {
        let parts = chunks(total, 1000);
        let whole = parts.concat();
        let expected = Expected { size: Some(total as u64), sha512: Some(Sha512::of_bytes(&whole)) };
        let blob = store.put_stream(ok_stream(parts), &expected).await.expect("stored");
        assert_eq!(blob, StoredBlob::of_bytes(&whole));
        assert_eq!(store.get(&blob.sha512).await.expect("get"), whole);
    }
    assert_eq!(files_under(dir.path()).len(), 2, "two blobs, no temporary objects left");
    assert!(!dir.path().join("uploads").exists() || files_under(&dir.path().join("uploads")).is_empty());
}

#[tokio::test]
async fn a_part_over_the_limit_is_refused_after_one_chunk_too_many_and_leaves_nothing() {
    for spool in [1024 * 1024, 2048] {
        let (dir, store) = local(10 * 1024);
        let store = store.with_spool_bytes(spool);
        let pulled = Arc::new(AtomicUsize::new(0));
        // An endless part: if the store read it whole, this test would never end.
        let result = store.put_stream(endless(pulled.clone()), &Expected::default()).await;
        assert!(matches!(result, Err(UploadError::Document(DocumentError::TooLarge { limit: 10240 }))), "{result:?}");
        assert_eq!(pulled.load(Ordering::SeqCst), 11, "10 KiB fit, the 11th KiB is one byte too many");
        assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new(), "spool {spool}: nothing left behind");
    }
}

#[tokio::test]
async fn a_declared_size_over_the_limit_is_refused_before_reading() {
    let (_dir, store) = local(10 * 1024);
    let pulled = Arc::new(AtomicUsize::new(0));
    let expected = Expected { size: Some(10 * 1024 + 1), sha512: None };
    let result = store.put_stream(endless(pulled.clone()), &expected).await;
    assert!(matches!(result, Err(UploadError::Document(DocumentError::TooLarge { .. }))), "{result:?}");
    assert_eq!(pulled.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_size_that_does_not_match_the_declared_one_is_refused_with_both_numbers_and_leaves_nothing() {
    for (declared, total, spool) in [(1200, 1187, 1 << 20), (1000, 1187, 1 << 20), (5000, 9000, 2048)] {
        let (dir, store) = local(64 * 1024);
        let store = store.with_spool_bytes(spool);
        let expected = Expected { size: Some(declared), sha512: None };
        let result = store.put_stream(ok_stream(chunks(total, 100)), &expected).await;
        match result {
            Err(UploadError::Document(DocumentError::SizeMismatch { declared: d, received })) => {
                assert_eq!((d, received), (declared, total as u64));
            }
            other => panic!("expected a size mismatch, got {other:?}"),
        }
        assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
    }
}

#[tokio::test]
async fn a_sha512_that_does_not_match_the_bytes_is_refused_and_leaves_nothing() {
    for spool in [1 << 20, 512] {
        let (dir, store) = local(64 * 1024);
        let store = store.with_spool_bytes(spool);
        let declared = Sha512::of_bytes(b"other bytes");
        let expected = Expected { size: None, sha512: Some(declared.clone()) };
        let parts = chunks(3000, 100);
        let actual = Sha512::of_bytes(&parts.concat());
        let result = store.put_stream(ok_stream(parts), &expected).await;
        match result {
            Err(UploadError::Document(DocumentError::Sha512Mismatch { declared: d, received })) => {
                assert_eq!((d, received), (declared, actual));
            }
            other => panic!("expected a sha512 mismatch, got {other:?}"),
        }
        assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
    }
}

#[tokio::test]
async fn a_failing_source_is_reported_as_its_own_error_and_leaves_nothing() {
    let (dir, store) = local(64 * 1024);
    let store = store.with_spool_bytes(512);
    let parts = chunks(2000, 100).into_iter().map(Ok).chain([Err("client went away")]);
    let result = store.put_stream(stream::iter(parts), &Expected::default()).await;
    assert!(matches!(result, Err(UploadError::Source("client went away"))), "{result:?}");
    assert_eq!(files_under(dir.path()), Vec::<PathBuf>::new());
}

#[tokio::test]
async fn stale_uploads_are_swept() {
    let (dir, store) = local(64 * 1024);
    std::fs::create_dir_all(dir.path().join("uploads")).expect("mkdir");
    std::fs::write(dir.path().join("uploads").join("left-by-a-crash"), b"partial").expect("write");
    let kept = store.put(Bytes::from_static(b"a blob")).await.expect("put");
    assert_eq!(store.remove_stale_uploads(std::time::Duration::from_secs(3600)).await.expect("sweep"), 0);
    assert_eq!(store.remove_stale_uploads(std::time::Duration::ZERO).await.expect("sweep"), 1);
    assert_eq!(files_under(dir.path()).len(), 1);
    assert!(store.exists(&kept.sha512).await.expect("exists"));
}

#[test]
fn dokument_info_carries_the_blob_and_a_fresh_id_each_time() {
    let blob = StoredBlob::of_bytes(b"vedtak");
    let first = blob.dokument_info("vedtak.pdf", "application/pdf");
    let second = blob.dokument_info("vedtak.pdf", "application/pdf");
    assert_ne!(first.dokumentlager_dokument_id, second.dokumentlager_dokument_id);
    assert_eq!((first.storrelse, &first.sha512, first.filnavn.as_str()), (6, &blob.sha512, "vedtak.pdf"));
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    documents: DocumentsConfig,
}

#[test]
fn configuration_defaults_to_a_folder_in_the_data_dir_with_nav_limits() {
    let cli = Cli::try_parse_from(["digisos"]).expect("defaults");
    assert_eq!(cli.documents, DocumentsConfig::default());
    assert_eq!((cli.documents.max_file_bytes, cli.documents.max_files_per_request), (10 * 1024 * 1024, 30));
    let data = tempfile::tempdir().expect("temp dir");
    let store = cli.documents.open(data.path()).expect("open");
    assert_eq!(store.location(), data.path().join("documents").display().to_string());
    assert!(data.path().join("documents").is_dir());
    assert!(Cli::try_parse_from(["digisos", "--max-file-bytes", "0"]).is_err(), "a zero limit is refused");
    assert!(Cli::try_parse_from(["digisos", "--max-files-per-request", "0"]).is_err());
}

#[tokio::test]
async fn folder_paths_file_urls_and_memory_urls_open_stores() {
    let data = tempfile::tempdir().expect("temp dir");
    let folder = data.path().join("by-path");
    let url = url::Url::from_directory_path(data.path().join("by-url")).expect("file url");
    for spec in [folder.display().to_string(), url.to_string(), "memory://".to_owned()] {
        let config = DocumentsConfig { documents_url: Some(spec.clone()), ..DocumentsConfig::default() };
        let store = config.open(data.path()).unwrap_or_else(|e| panic!("{spec}: {e}"));
        let blob = store.put(Bytes::from_static(b"x")).await.expect("put");
        assert!(store.exists(&blob.sha512).await.expect("exists"), "{spec}");
    }
    assert!(folder.join("sha512").is_dir() && data.path().join("by-url").join("sha512").is_dir());
}

#[test]
fn cloud_urls_parse_into_stores_without_network() {
    // S3 needs no credentials until the first request; the location is logged without secrets.
    let config = DocumentsConfig {
        documents_url: Some("s3://digisos-documents/prod/blobs".into()),
        ..DocumentsConfig::default()
    };
    let store = config.open(Path::new("/nonexistent")).expect("s3 store");
    assert_eq!(store.location(), "s3://digisos-documents/prod/blobs");
    assert_eq!(store.max_file_bytes(), DEFAULT_MAX_FILE_BYTES);
    for url in ["gs://digisos-documents/prod", "https://account.blob.core.windows.net/container/prod"] {
        let config = DocumentsConfig { documents_url: Some(url.into()), ..DocumentsConfig::default() };
        assert_eq!(config.open(Path::new("/nonexistent")).expect(url).location(), url);
    }
    // Azure's short form needs the account from the environment (AZURE_STORAGE_ACCOUNT_NAME).
    let azure = DocumentsConfig { documents_url: Some("az://container/prod".into()), ..DocumentsConfig::default() };
    let err = azure.open(Path::new("/nonexistent")).expect_err("no account configured");
    assert!(err.to_string().contains("Account must be specified"), "{err}");
    let unknown =
        DocumentsConfig { documents_url: Some("ftp://user:secret@example.org/x".into()), ..DocumentsConfig::default() };
    let err = unknown.open(Path::new("/nonexistent")).expect_err("ftp is no object store");
    assert!(matches!(err, DocumentError::Config(_)), "{err}");
    assert!(err.to_string().contains("not a supported store") && !err.to_string().contains("secret"), "{err}");
}

#[tokio::test]
async fn chunked_reads_of_a_large_blob_come_back_in_order() {
    let (_dir, store) = local(1024 * 1024);
    let whole = chunks(300 * 1024, 300 * 1024).concat();
    let blob = store.put(Bytes::from(whole.clone())).await.expect("put");
    let read = store.get_stream(&blob.sha512).await.expect("stream");
    assert_eq!(read.size, whole.len() as u64);
    let parts: Vec<Bytes> = read.stream.map(|c| c.expect("chunk")).collect().await;
    assert_eq!(parts.concat(), whole);
}
