//! A `multipart/form-data` body written part by part, as Nav's client sends a søknad or an ettersendelse: JSON
//! parts as `text/plain` without a file name, then per file the pair `vedleggSpesifikasjon:<i>` (its metadata)
//! and `dokument:<i>` (its bytes).
//!
//! Why the benchmark does not use reqwest's multipart form (the demo does): a load generator writes each body
//! once, before the measured window, and sends it as bytes (a cheap `Bytes` clone per request); a reqwest form is
//! consumed by the request that sends it and cannot be cloned, so it would be built inside the window and
//! measured as the service's cost.

use serde_json::{Value, json};

/// The boundary of every [`Form`].
pub const BOUNDARY: &str = "digisos-form-5b1c9e";

/// A multipart body under construction.
#[derive(Debug, Clone, Default)]
pub struct Form {
    body: Vec<u8>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Self::default()
    }

    /// One part with its disposition parameters (`name="x"; filename="y"`), content type and bytes.
    pub fn part(mut self, disposition: &str, content_type: &str, bytes: &[u8]) -> Self {
        let head = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; {disposition}\r\nContent-Type: {content_type}\r\n\r\n"
        );
        self.body.extend_from_slice(head.as_bytes());
        self.body.extend_from_slice(bytes);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// A JSON part as Nav sends it: `text/plain`, no file name.
    pub fn json(self, name: &str, value: &Value) -> Self {
        self.part(&format!("name=\"{name}\""), "text/plain;charset=UTF-8", value.to_string().as_bytes())
    }

    /// Nav's file pair: `vedleggSpesifikasjon:<i>` (`{filnavn, mimetype, storrelse}`) and `dokument:<i>`.
    pub fn file(self, i: usize, filnavn: &str, mimetype: &str, bytes: &[u8]) -> Self {
        let metadata = json!({"filnavn": filnavn, "mimetype": mimetype, "storrelse": bytes.len()});
        self.json(&format!("vedleggSpesifikasjon:{i}"), &metadata).part(
            &format!("name=\"dokument:{i}\"; filename=\"{filnavn}\""),
            "application/octet-stream",
            bytes,
        )
    }

    /// [`Self::file`] for a PDF.
    pub fn pair(self, i: usize, filnavn: &str, bytes: &[u8]) -> Self {
        self.file(i, filnavn, "application/pdf", bytes)
    }

    /// The finished body, with the closing boundary.
    pub fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.body
    }

    /// The content type of every [`Form`]'s body.
    pub fn content_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }
}
