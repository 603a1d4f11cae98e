//! The events of a mellomlagring (`mellomlagring-<id>`): the files Nav stores for a søknad or ettersendelse
//! while the citizen is still filling it in (DOMAIN.md A.2), and their end: taken into the case by the v2
//! submission, deleted by Nav, or swept after a configured age.
//!
//! The stream is named by a digest of the `navEksternRefId` ([`mellomlagring_stream`]), not the reference
//! itself: a reference may hold characters a stream name may not, and the name then says nothing of the
//! søknad. Each stored file records the reference, so a reader knows whose it is.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest;
use uuid::Uuid;

use super::{DecodeError, Sha512, versioned_events};
use crate::types::{FiksDigisosId, NavEksternRefId, Tidspunkt};

/// The prefix of mellomlagring stream names.
pub const MELLOMLAGRING_STREAM_PREFIX: &str = "mellomlagring-";

/// The stream of the mellomlagring of `nav_ekstern_ref_id`: `mellomlagring-<uuid>`, the UUID taken from the
/// SHA-256 of the reference.
pub fn mellomlagring_stream(nav_ekstern_ref_id: &NavEksternRefId) -> String {
    let digest = sha2::Sha256::new()
        .chain_update(b"fiks-digisos/mellomlagring/navEksternRefId\0")
        .chain_update(nav_ekstern_ref_id.as_str().as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    format!("{MELLOMLAGRING_STREAM_PREFIX}{}", uuid::Builder::from_custom_bytes(bytes).into_uuid().hyphenated())
}

/// Whether `stream` is a mellomlagring stream.
pub fn is_mellomlagring_stream(stream: &str) -> bool {
    stream.starts_with(MELLOMLAGRING_STREAM_PREFIX)
}

/// One file stored in mellomlagring (`POST /mellomlagring/{navEksternRefId}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilMellomlagret {
    /// The søknad or ettersendelse the file is for.
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// The file's id in the mellomlagring (`filId`), minted by the command.
    pub fil_id: Uuid,
    /// The file name Nav gave. Personal data.
    pub filnavn: String,
    /// The declared media type.
    pub mimetype: String,
    /// The size of the stored (decrypted) bytes.
    pub storrelse: u64,
    /// The SHA-512 of the stored bytes: the document store's name for them.
    pub sha512: Sha512,
    /// When it was stored.
    pub tidspunkt: Tidspunkt,
}

/// One file deleted by Nav (`DELETE /mellomlagring/{navEksternRefId}/{filId}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MellomlagretFilSlettet {
    /// The file.
    pub fil_id: Uuid,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// Why a mellomlagring was emptied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TomtArsak {
    /// Nav deleted all files (`DELETE /mellomlagring/{navEksternRefId}`).
    Slettet,
    /// The v2 søknad or ettersendelse took the files into its case.
    Sendt,
    /// Left behind longer than the configured age, and swept.
    Utlopt,
}

/// Every file of the mellomlagring is gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MellomlagringTomt {
    /// Why.
    pub arsak: TomtArsak,
    /// The case the files went to, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiks_digisos_id: Option<FiksDigisosId>,
    /// How many files were removed.
    pub antall_filer: u32,
    /// When.
    pub tidspunkt: Tidspunkt,
}

versioned_events!(
    /// An event of a mellomlagring stream.
    MellomlagringEvent upcast upcast_mellomlagring {
        FilMellomlagret(FilMellomlagret) = v 1, personal ["/filnavn"],
        MellomlagretFilSlettet(MellomlagretFilSlettet) = v 1, personal [],
        MellomlagringTomt(MellomlagringTomt) = v 1, personal [],
    }
);

fn upcast_mellomlagring<'a>(name: &str, version: u32, data: &'a Value) -> Result<Option<Cow<'a, Value>>, DecodeError> {
    let _ = (name, version, data);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_name_is_a_digest_of_the_reference_and_a_valid_stream_name() {
        let a = NavEksternRefId::parse("110004PCC").expect("ref");
        let b = NavEksternRefId::parse("110004PCD").expect("ref");
        let name = mellomlagring_stream(&a);
        assert!(name.starts_with(MELLOMLAGRING_STREAM_PREFIX) && !name.contains("110004PCC"), "{name}");
        assert_eq!(name, mellomlagring_stream(&a), "stable");
        assert_ne!(name, mellomlagring_stream(&b));
        assert!(is_mellomlagring_stream(&name) && !is_mellomlagring_stream("sak-x"));
        assert!(name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }

    #[test]
    fn file_names_are_declared_personal() {
        assert_eq!(MellomlagringEvent::personal_fields("FilMellomlagret.v1"), ["/filnavn"]);
        assert_eq!(MellomlagringEvent::EVENT_TYPES.len(), 3);
    }
}
