//! The events of fiks-digisos: what the write side appends and every projection reads.
//!
//! Two kinds of streams (DESIGN.md "Write side"):
//! - `sak-<fiksDigisosId>`: one case, from the søknad (or the paper case) to its deletion ([`SakEvent`]);
//! - `kommune-<kommunenummer>`: one kommune's configuration ([`KommuneEvent`]);
//! - `mellomlagring-<digest>`: the files Nav stores ahead of a v2 søknad or ettersendelse ([`MellomlagringEvent`]).
//!
//! Shape, and why:
//! - **Versioned type names.** Each event is stored under `<Name>.v<n>` (`SoknadMottatt.v1`). The payload
//!   structs are always the *current* shape; [`SakEvent::decode`] reads any version it knows and runs older
//!   ones through an upcaster first (`upcast_sak` in `sak.rs`), so stored events are never rewritten and
//!   readers only ever see one shape. Today every event is at v1, so the upcasters are empty, but they are
//!   the place: a v2 adds a variant arm there that turns v1 JSON into v2 JSON.
//! - **Serde in the formats' words.** Fields are camelCase and Norwegian where the Nav/KS formats use the
//!   word (`navEksternRefId`, `dokumentlagerDokumentId`, `timestampSendt`), so a projection can hand them out
//!   with little mapping.
//! - **Personal data is declared.** Each event type lists the JSON Pointers of its fields that hold
//!   personal data ([`SakEvent::personal_fields`]); those fields also say so in their doc comment
//!   ("Personal data."). Crypto-shredding can encrypt exactly these with a per-person key later, without
//!   guessing.
//! - **No time, no randomness inside.** Every timestamp and id in an event comes from the command; the
//!   events only record what was decided.

mod dokument;
mod fingerprint;
mod kommune;
mod mellomlagring;
mod sak;

pub use dokument::{DokumentInfo, Sha512};
pub use fingerprint::{Fingerprint, canonical_json};
pub use kommune::{FiksIoIntegrasjon, KommuneEvent, KommuneKonfigurasjon, KommuneKonfigurert, Kontaktpersoner};
pub use mellomlagring::{
    FilMellomlagret, MELLOMLAGRING_STREAM_PREFIX, MellomlagretFilSlettet, MellomlagringEvent, MellomlagringTomt,
    TomtArsak, is_mellomlagring_stream, mellomlagring_stream,
};
pub use sak::{
    DigisosSokerOppdatert, DokumentLastetOpp, DokumentSlettet, EttersendelseMottatt, Fallbackgrunn, FiksIoSending,
    HendelseFjernet, HendelseRegistrert, LeveranseAvvist, LeveranseId, LeveranseKvittert, LeveranseOpprettet,
    LeveranseTilMottak, LeveranseTilbudtIgjen, Leveransetype, PapirsakOpprettet, SakEvent, SakSlettet, SoknadMottatt,
    StatusoppdateringerSlettet,
};

use crate::types::{FiksDigisosId, Kommunenummer};

/// The prefix of case stream names.
pub const SAK_STREAM_PREFIX: &str = "sak-";
/// The prefix of kommune configuration stream names.
pub const KOMMUNE_STREAM_PREFIX: &str = "kommune-";

/// The name of a case's stream: `sak-<fiksDigisosId>`.
pub fn sak_stream(id: FiksDigisosId) -> String {
    format!("{SAK_STREAM_PREFIX}{id}")
}

/// The case id of a case stream name, or `None` for any other stream.
pub fn sak_id_of_stream(stream: &str) -> Option<FiksDigisosId> {
    stream.strip_prefix(SAK_STREAM_PREFIX).and_then(|id| FiksDigisosId::parse(id).ok())
}

/// The name of a kommune's configuration stream: `kommune-<kommunenummer>`.
pub fn kommune_stream(kommunenummer: Kommunenummer) -> String {
    format!("{KOMMUNE_STREAM_PREFIX}{kommunenummer}")
}

/// The kommunenummer of a kommune stream name, or `None` for any other stream.
pub fn kommunenummer_of_stream(stream: &str) -> Option<Kommunenummer> {
    stream.strip_prefix(KOMMUNE_STREAM_PREFIX).and_then(|k| Kommunenummer::parse(k).ok())
}

/// Why a stored event could not be read as a current event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The type name is not `<Name>.v<version>` with a version from 1.
    #[error("event type {0:?} is not of the form <Name>.v<version>")]
    MalformedType(String),
    /// No event of this name exists (in this kind of stream).
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// A version newer than this build knows: written by a newer release.
    #[error("event type {event_type:?} is newer than this release reads (up to v{known})")]
    NewerVersion {
        /// The stored type name.
        event_type: String,
        /// The newest version this build knows.
        known: u32,
    },
    /// An older version with no upcaster: a defect of this crate.
    #[error("event type {event_type:?} has no upcaster to v{current}")]
    NoUpcaster {
        /// The stored type name.
        event_type: String,
        /// The current version.
        current: u32,
    },
    /// The payload does not have the shape of its type.
    #[error("event type {event_type:?} has a payload of the wrong shape: {source}")]
    Payload {
        /// The stored type name.
        event_type: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

/// Splits `Name.vN` into its name and version.
fn split_type(event_type: &str) -> Result<(&str, u32), DecodeError> {
    let malformed = || DecodeError::MalformedType(event_type.chars().take(100).collect());
    let (name, version) = event_type.rsplit_once(".v").ok_or_else(malformed)?;
    let digits_only = !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit());
    match version.parse::<u32>() {
        Ok(v) if digits_only && v >= 1 && !name.is_empty() => Ok((name, v)),
        _ => Err(malformed()),
    }
}

/// Declares an event enum whose variants are stored under versioned type names, with `event_type`,
/// `data`, `decode` (through the given upcaster) and the personal-data table.
macro_rules! versioned_events {
    (
        $(#[$doc:meta])*
        $enum:ident upcast $upcast:path {
            $( $(#[$vdoc:meta])* $variant:ident ( $payload:ty ) = v $version:literal, personal [ $($ptr:literal),* ], )+
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $enum {
            $( $(#[$vdoc])* $variant($payload), )+
        }

        impl $enum {
            /// Every current type name, e.g. for a subscription filter.
            pub const EVENT_TYPES: &'static [&'static str] =
                &[$( concat!(stringify!($variant), ".v", stringify!($version)), )+];

            /// The versioned type name the event is stored under, e.g. `SoknadMottatt.v1`.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $( $enum::$variant(_) => concat!(stringify!($variant), ".v", stringify!($version)), )+
                }
            }

            /// The payload as JSON, to store next to [`Self::event_type`].
            pub fn data(&self) -> Result<serde_json::Value, serde_json::Error> {
                match self {
                    $( $enum::$variant(payload) => serde_json::to_value(payload), )+
                }
            }

            /// Reads a stored event of any known version, upcasting older versions to the current shape.
            pub fn decode(event_type: &str, data: &serde_json::Value) -> Result<Self, $crate::events::DecodeError> {
                use $crate::events::DecodeError;
                let (name, version) = $crate::events::split_type(event_type)?;
                match name {
                    $(
                        stringify!($variant) => {
                            let current: u32 = $version;
                            let data = if version == current {
                                std::borrow::Cow::Borrowed(data)
                            } else if version > current {
                                return Err(DecodeError::NewerVersion { event_type: event_type.to_owned(), known: current });
                            } else {
                                $upcast(name, version, data)?.ok_or_else(|| DecodeError::NoUpcaster {
                                    event_type: event_type.to_owned(),
                                    current,
                                })?
                            };
                            <$payload as serde::Deserialize>::deserialize(&*data)
                                .map($enum::$variant)
                                .map_err(|source| DecodeError::Payload { event_type: event_type.to_owned(), source })
                        }
                    )+
                    _ => Err(DecodeError::UnknownType(event_type.chars().take(100).collect())),
                }
            }

            /// JSON Pointers (into [`Self::data`]) of the fields of `event_type` that hold personal data;
            /// `*` stands for every element of an array. Empty for types without personal data or unknown.
            pub fn personal_fields(event_type: &str) -> &'static [&'static str] {
                let name = $crate::events::split_type(event_type).map(|(name, _)| name).unwrap_or_default();
                match name {
                    $( stringify!($variant) => &[$($ptr),*], )+
                    _ => &[],
                }
            }
        }
    };
}
pub(crate) use versioned_events;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_split_into_name_and_version() {
        assert_eq!(split_type("SoknadMottatt.v1").ok(), Some(("SoknadMottatt", 1)));
        assert_eq!(split_type("A.b.v12").ok(), Some(("A.b", 12)));
        for bad in ["SoknadMottatt", "SoknadMottatt.v", "SoknadMottatt.v0", ".v1", "X.v+1", "X.v1a", "X.V1"] {
            assert!(matches!(split_type(bad), Err(DecodeError::MalformedType(_))), "{bad}");
        }
    }

    #[test]
    fn stream_names_round_trip() {
        let id = FiksDigisosId::parse("3fa85f64-5717-4562-b3fc-2c963f66afa6").expect("id");
        assert_eq!(sak_stream(id), "sak-3fa85f64-5717-4562-b3fc-2c963f66afa6");
        assert_eq!(sak_id_of_stream(&sak_stream(id)), Some(id));
        assert_eq!(sak_id_of_stream("kommune-0301"), None);
        let k = Kommunenummer::parse("0301").expect("k");
        assert_eq!(kommune_stream(k), "kommune-0301");
        assert_eq!(kommunenummer_of_stream("kommune-0301"), Some(k));
        assert_eq!(kommunenummer_of_stream("sak-0301"), None);
    }
}
