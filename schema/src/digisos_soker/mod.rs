//! Typed model of `digisos-soker.json`, the case file a kommune's fagsystem sends (DOMAIN.md B).
//!
//! The fagsystem re-sends the whole file on every change; the service diffs it against what it recorded and
//! the projections fold the hendelser into the citizen's view. Both want typed hendelser, so this is the
//! file as Rust types: the envelope ([`DigisosSoker`]), one struct per hendelse type ([`hendelser`]), and
//! the shared parts ([`Filreferanse`], [`Forvaltningsbrev`], [`Vedlegg`]).
//!
//! Tolerance, as the format demands: unknown fields are ignored, code values this version does not know
//! are kept as text (see `kodeliste.rs`), and a hendelse `type` this version does not know becomes
//! [`HendelseData::Ukjent`] with its fields kept, instead of failing the whole file. Every known field
//! round-trips unchanged: optional lists are `Option<Vec<_>>` so that an absent list and an empty one stay
//! apart, amounts stay JSON numbers, times keep their text.
//!
//! Validation against the schema is separate (`crate::validate`); a file should be validated first, then
//! parsed. The model is stricter than the schema in one way only: times must have a real instant (see
//! [`Tidspunkt`]).

pub mod hendelser;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::types::Tidspunkt;
pub use hendelser::*;

/// The whole `digisos-soker.json`: format version, sending system, and every hendelse so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigisosSoker {
    /// Format version (semver) the fagsystem wrote, e.g. `1.0.0`.
    pub version: String,
    /// The fagsystem that wrote the file.
    pub avsender: Avsender,
    /// All hendelser, in the order the file lists them (not necessarily by time).
    pub hendelser: Vec<Hendelse>,
}

/// The system that produced the file, kept for troubleshooting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Avsender {
    /// Name of the fagsystem.
    pub systemnavn: String,
    /// Version of the fagsystem.
    pub systemversjon: String,
}

/// One hendelse: when it happened and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Hendelse {
    /// When it happened (`hendelsestidspunkt`).
    pub hendelsestidspunkt: Tidspunkt,
    /// The hendelse's type and its own fields.
    pub data: HendelseData,
}

/// The ten hendelse types of the format, plus any type this version does not know.
#[derive(Debug, Clone, PartialEq)]
pub enum HendelseData {
    /// `tildeltNavKontor`: another NAV office handles the søknad.
    TildeltNavKontor(TildeltNavKontor),
    /// `soknadsStatus`: the søknad's status changed.
    SoknadsStatus(SoknadsStatus),
    /// `vedtakFattet`: a decision was made in a sak.
    VedtakFattet(VedtakFattet),
    /// `dokumentasjonEtterspurt`: the caseworker asks for documents (replaces the open list).
    DokumentasjonEtterspurt(DokumentasjonEtterspurt),
    /// `forelopigSvar`: a preliminary answer was sent.
    ForelopigSvar(ForelopigSvar),
    /// `saksStatus`: a sak was created or changed.
    SaksStatus(SaksStatus),
    /// `utbetaling`: a payment, planned or made.
    Utbetaling(Utbetaling),
    /// `vilkar`: a condition attached to the decision.
    Vilkar(Vilkar),
    /// `dokumentasjonkrav`: documentation required for a payment.
    Dokumentasjonkrav(Dokumentasjonkrav),
    /// `rammevedtak`: a framework decision (not shown to citizens).
    Rammevedtak(Rammevedtak),
    /// A hendelse type this version does not know, kept whole.
    Ukjent(UkjentHendelse),
}

/// A hendelse of an unknown type, with its fields (other than `type` and `hendelsestidspunkt`) as sent.
#[derive(Debug, Clone, PartialEq)]
pub struct UkjentHendelse {
    /// The `type` as sent.
    pub type_name: String,
    /// Every other field as sent.
    pub felter: Map<String, Value>,
}

impl HendelseData {
    /// The `type` value of this hendelse as written in the file.
    pub fn type_name(&self) -> &str {
        match self {
            HendelseData::TildeltNavKontor(_) => "tildeltNavKontor",
            HendelseData::SoknadsStatus(_) => "soknadsStatus",
            HendelseData::VedtakFattet(_) => "vedtakFattet",
            HendelseData::DokumentasjonEtterspurt(_) => "dokumentasjonEtterspurt",
            HendelseData::ForelopigSvar(_) => "forelopigSvar",
            HendelseData::SaksStatus(_) => "saksStatus",
            HendelseData::Utbetaling(_) => "utbetaling",
            HendelseData::Vilkar(_) => "vilkar",
            HendelseData::Dokumentasjonkrav(_) => "dokumentasjonkrav",
            HendelseData::Rammevedtak(_) => "rammevedtak",
            HendelseData::Ukjent(ukjent) => &ukjent.type_name,
        }
    }

    fn from_fields(type_name: &str, fields: Map<String, Value>) -> serde_json::Result<Self> {
        fn read<T: serde::de::DeserializeOwned>(fields: Map<String, Value>) -> serde_json::Result<T> {
            serde_json::from_value(Value::Object(fields))
        }
        Ok(match type_name {
            "tildeltNavKontor" => HendelseData::TildeltNavKontor(read(fields)?),
            "soknadsStatus" => HendelseData::SoknadsStatus(read(fields)?),
            "vedtakFattet" => HendelseData::VedtakFattet(read(fields)?),
            "dokumentasjonEtterspurt" => HendelseData::DokumentasjonEtterspurt(read(fields)?),
            "forelopigSvar" => HendelseData::ForelopigSvar(read(fields)?),
            "saksStatus" => HendelseData::SaksStatus(read(fields)?),
            "utbetaling" => HendelseData::Utbetaling(read(fields)?),
            "vilkar" => HendelseData::Vilkar(read(fields)?),
            "dokumentasjonkrav" => HendelseData::Dokumentasjonkrav(read(fields)?),
            "rammevedtak" => HendelseData::Rammevedtak(read(fields)?),
            other => HendelseData::Ukjent(UkjentHendelse { type_name: other.to_owned(), felter: fields }),
        })
    }

    fn to_fields(&self) -> serde_json::Result<Map<String, Value>> {
        let value = match self {
            HendelseData::TildeltNavKontor(h) => serde_json::to_value(h),
            HendelseData::SoknadsStatus(h) => serde_json::to_value(h),
            HendelseData::VedtakFattet(h) => serde_json::to_value(h),
            HendelseData::DokumentasjonEtterspurt(h) => serde_json::to_value(h),
            HendelseData::ForelopigSvar(h) => serde_json::to_value(h),
            HendelseData::SaksStatus(h) => serde_json::to_value(h),
            HendelseData::Utbetaling(h) => serde_json::to_value(h),
            HendelseData::Vilkar(h) => serde_json::to_value(h),
            HendelseData::Dokumentasjonkrav(h) => serde_json::to_value(h),
            HendelseData::Rammevedtak(h) => serde_json::to_value(h),
            HendelseData::Ukjent(h) => Ok(Value::Object(h.felter.clone())),
        }?;
        match value {
            Value::Object(fields) => Ok(fields),
            _ => Err(serde_json::Error::custom("a hendelse serializes to an object")),
        }
    }
}

impl<'de> Deserialize<'de> for Hendelse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut fields = Map::<String, Value>::deserialize(deserializer)?;
        let type_name = match fields.remove("type") {
            Some(Value::String(type_name)) => type_name,
            Some(_) => return Err(D::Error::custom("hendelse field `type` must be a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        let hendelsestidspunkt = fields
            .remove("hendelsestidspunkt")
            .ok_or_else(|| D::Error::missing_field("hendelsestidspunkt"))
            .and_then(|value| Tidspunkt::deserialize(value).map_err(D::Error::custom))?;
        let data = HendelseData::from_fields(&type_name, fields)
            .map_err(|e| D::Error::custom(format!("hendelse {type_name}: {e}")))?;
        Ok(Hendelse { hendelsestidspunkt, data })
    }
}

impl Serialize for Hendelse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let fields = self.data.to_fields().map_err(S::Error::custom)?;
        let mut map = serializer.serialize_map(Some(fields.len() + 2))?;
        map.serialize_entry("type", self.data.type_name())?;
        map.serialize_entry("hendelsestidspunkt", &self.hendelsestidspunkt)?;
        for (key, value) in &fields {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Where a file the fagsystem refers to is kept (`referanse`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Filreferanse {
    /// A file uploaded to this case in Fiks Dokumentlager (`/filer`); must exist on the case.
    Dokumentlager {
        /// The dokumentlager id of the file.
        id: Uuid,
    },
    /// A file in a SvarUt forsendelse; not checked by Fiks, the fagsystem keeps it downloadable.
    Svarut {
        /// The SvarUt forsendelse id.
        id: Uuid,
        /// The file's number in the forsendelse, from 1.
        nr: i64,
    },
}

/// A letter (PDF) the citizen may be shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forvaltningsbrev {
    /// Where the letter is.
    pub referanse: Filreferanse,
}

/// An attachment to a letter or vedtak, with a title to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vedlegg {
    /// Title to show as the link text.
    pub tittel: String,
    /// Where the attachment is.
    pub referanse: Filreferanse,
}

impl DigisosSoker {
    /// Every file reference in the file, in document order (letters, vedtak files, attachments), e.g. to
    /// check that each `dokumentlager` file exists on the case.
    pub fn filreferanser(&self) -> Vec<&Filreferanse> {
        let mut found = Vec::new();
        for hendelse in &self.hendelser {
            match &hendelse.data {
                HendelseData::VedtakFattet(h) => {
                    found.push(&h.vedtaksfil.referanse);
                    found.extend(vedlegg_referanser(&h.vedlegg));
                }
                HendelseData::DokumentasjonEtterspurt(h) => {
                    found.extend(h.forvaltningsbrev.iter().map(|b| &b.referanse));
                    found.extend(vedlegg_referanser(&h.vedlegg));
                }
                HendelseData::ForelopigSvar(h) => {
                    found.push(&h.forvaltningsbrev.referanse);
                    found.extend(vedlegg_referanser(&h.vedlegg));
                }
                _ => {}
            }
        }
        found
    }
}

fn vedlegg_referanser(vedlegg: &Option<Vec<Vedlegg>>) -> impl Iterator<Item = &Filreferanse> {
    vedlegg.iter().flatten().map(|v| &v.referanse)
}
