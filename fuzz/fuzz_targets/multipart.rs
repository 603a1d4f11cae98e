//! The multipart reader of the submit endpoint: arbitrary bytes as a `multipart/form-data` body (fixed boundary)
//! read by `read_soknad` into an in-memory document store. Any body must give an upload or an error (400/413),
//! never a panic or unbounded memory.
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{FromRequest, Multipart};
use axum::http::Request;
use fiks_digisos::documents::DocumentStore;
use fiks_digisos::http::multipart::{UploadLimits, read_soknad};
use fiks_digisos::kryptering::Kryptering;
use libfuzzer_sys::fuzz_target;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("a runtime"))
}

fn kryptering() -> &'static Kryptering {
    static KRYPTERING: OnceLock<Kryptering> = OnceLock::new();
    KRYPTERING.get_or_init(|| Kryptering::generated(false).expect("a key pair"))
}

fuzz_target!(|data: &[u8]| {
    let body = bytes::Bytes::copy_from_slice(data);
    runtime().block_on(async move {
        let request = Request::builder()
            .method("POST")
            .header("content-type", "multipart/form-data; boundary=fuzzgrense")
            .body(Body::from(body))
            .expect("a request");
        let Ok(multipart) = Multipart::from_request(request, &()).await else { return };
        let store = DocumentStore::in_memory(64 * 1024);
        let _ = read_soknad(multipart, &store, &UploadLimits::default(), kryptering()).await;
    });
});
