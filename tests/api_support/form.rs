//! A `multipart/form-data` body written part by part, as `tests/multipart.rs` does: the bytes are exactly what
//! a client would send, and a test can also send the malformed shapes a server must refuse.

use serde_json::{Value, json};

/// The boundary of every [`Form`].
pub const BOUNDARY: &str = "digisos-api-test-5e21b7";

/// A multipart body under construction.
#[derive(Debug, Clone, Default)]
pub struct Form {
    body: Vec<u8>,
}

impl Form {
    /// An empty form.
    pub fn new() -> Self {
        Form::default()
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

    /// A JSON part sent as Nav sends it: text/plain, no file name.
    pub fn json(self, name: &str, value: &Value) -> Self {
        self.part(&format!("name=\"{name}\""), "text/plain;charset=UTF-8", value.to_string().as_bytes())
    }

    /// A part of raw text (e.g. JSON that does not parse).
    pub fn text(self, name: &str, text: &str) -> Self {
        self.part(&format!("name=\"{name}\""), "text/plain;charset=UTF-8", text.as_bytes())
    }

    /// A file part with a file name.
    pub fn file(self, name: &str, filnavn: &str, bytes: &[u8]) -> Self {
        self.part(&format!("name=\"{name}\"; filename=\"{filnavn}\""), "application/octet-stream", bytes)
    }

    /// Metadata `{filnavn, mimetype, storrelse}` under `name`.
    pub fn metadata(self, name: &str, filnavn: &str, storrelse: usize) -> Self {
        self.json(name, &json!({"filnavn": filnavn, "mimetype": "application/pdf", "storrelse": storrelse}))
    }

    /// Nav's pair `vedleggSpesifikasjon:<i>` + `dokument:<i>`, with the right size.
    pub fn pair(self, i: usize, filnavn: &str, bytes: &[u8]) -> Self {
        let meta = format!("vedleggSpesifikasjon:{i}");
        self.metadata(&meta, filnavn, bytes.len()).file(&format!("dokument:{i}"), filnavn, bytes)
    }

    /// The finished body, with the closing boundary.
    pub fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        self.body
    }
}
