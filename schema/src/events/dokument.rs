//! A stored document as the events record it: [`DokumentInfo`] and its content hash [`Sha512`].
//!
//! The bytes live in the document store; events carry only what identifies and describes them. The field
//! names follow the real API's `DokumentInfo` (`filnavn`, `dokumentlagerDokumentId`, `storrelse`), plus the
//! `mimetype` the upload declared and the SHA-512 of the stored bytes (the hash `vedlegg.json` uses), so a
//! reader can check a download and the store can keep one copy per content.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::fingerprint::lower_hex;
use crate::types::{ParseError, quoted};

/// A SHA-512 digest, written as 128 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha512(String);

impl Sha512 {
    /// Parses 128 hex digits (either case; kept in lowercase).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.len() == 128 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Sha512(input.to_ascii_lowercase()))
        } else {
            Err(ParseError::new("sha512", format!("must be 128 hex digits (SHA-512), got {}", quoted(input))))
        }
    }

    /// The SHA-512 of some bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Sha512(lower_hex(&sha2::Sha512::digest(bytes)))
    }

    /// The 128 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::types::text_type!(Sha512);

/// One stored document of a case: a file Nav or the fagsystem sent, or a JSON document the hub stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DokumentInfo {
    /// The document's id in the document store (`dokumentlagerDokumentId`), unique within the case.
    pub dokumentlager_dokument_id: Uuid,
    /// The file name as the sender gave it. Personal data (names often carry the person's name).
    pub filnavn: String,
    /// The media type the sender declared, e.g. `application/pdf`.
    pub mimetype: String,
    /// Size in bytes.
    pub storrelse: u64,
    /// SHA-512 of the stored bytes.
    pub sha512: Sha512,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha512_of_bytes_is_lowercase_hex_and_parses_back() {
        let h = Sha512::of_bytes(b"abc");
        assert!(h.as_str().starts_with("ddaf35a193617aba"), "{h}");
        assert_eq!(h.as_str().len(), 128);
        assert_eq!(Sha512::parse(&h.as_str().to_uppercase()), Ok(h));
        assert!(Sha512::parse("sha512sha512").is_err());
    }

    #[test]
    fn dokument_info_uses_the_real_api_field_names() {
        let info = DokumentInfo {
            dokumentlager_dokument_id: Uuid::nil(),
            filnavn: "vedtak.pdf".into(),
            mimetype: "application/pdf".into(),
            storrelse: 3,
            sha512: Sha512::of_bytes(b"pdf"),
        };
        let json = serde_json::to_value(&info).expect("json");
        assert_eq!(json["dokumentlagerDokumentId"], "00000000-0000-0000-0000-000000000000");
        assert_eq!(json["storrelse"], 3);
        assert_eq!(serde_json::from_value::<DokumentInfo>(json).ok(), Some(info));
    }
}
