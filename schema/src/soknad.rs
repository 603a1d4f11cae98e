//! A light model of `soknad.json` (`JsonSoknad`, DOMAIN.md C.2): the few fields the hub acts on, plus the
//! whole document as it came.
//!
//! The hub does not interpret a søknad; it routes it, checks that it is the caller's own, and stores it for
//! the kommune. So only the routing and ownership fields are typed, and the full JSON is kept next to them
//! ([`JsonSoknad::dokument`]) and written back unchanged, so nothing the kommune needs is lost through
//! this model. The mottaker fields are plain text in the schema; typed accessors parse them when needed.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::kodeliste::kodeliste;
use crate::types::{Enhetsnummer, Kommunenummer, ParseError, Tidspunkt};

kodeliste!(
    /// The kind of søknad (`data.soknadstype`); absent means standard.
    Soknadstype {
        /// A short søknad for people with a recent payment (fewer questions).
        Kort = "kort",
        /// The full søknad.
        Standard = "standard",
    }
);

/// The parts of a `soknad.json` the hub needs, and the whole document.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonSoknad {
    /// Format version, e.g. `1.0.11`.
    pub version: String,
    /// The applicant's fødselsnummer or D-nummer as written (`data.personalia.personIdentifikator.verdi`);
    /// parse it with `crate::Fnr` to compare with the caller.
    pub person_identifikator: String,
    /// Who the søknad is addressed to.
    pub mottaker: Mottaker,
    /// Kort or standard; `Standard` when the field is absent.
    pub soknadstype: Soknadstype,
    /// When Nav sent it, if given.
    pub innsendingstidspunkt: Option<Tidspunkt>,
    /// The whole document as received.
    pub dokument: Value,
}

/// The receiver of a søknad (`mottaker`), as written; all fields are optional text in the schema.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Mottaker {
    /// The receiving kommune.
    #[serde(default)]
    pub kommunenummer: Option<String>,
    /// The NAV office.
    #[serde(default)]
    pub enhetsnummer: Option<String>,
    /// The NAV office's name.
    #[serde(default)]
    pub nav_enhetsnavn: Option<String>,
}

impl Mottaker {
    /// The kommunenummer, parsed; `Ok(None)` when absent.
    pub fn kommunenummer(&self) -> Result<Option<Kommunenummer>, ParseError> {
        self.kommunenummer.as_deref().map(Kommunenummer::parse).transpose()
    }

    /// The enhetsnummer, parsed; `Ok(None)` when absent.
    pub fn enhetsnummer(&self) -> Result<Option<Enhetsnummer>, ParseError> {
        self.enhetsnummer.as_deref().map(Enhetsnummer::parse).transpose()
    }
}

/// Just the fields read from the document; the rest of it is kept as a `Value`.
#[derive(Deserialize)]
struct Felter {
    version: String,
    data: Data,
    mottaker: Mottaker,
    #[serde(default, rename = "innsendingstidspunkt")]
    innsendingstidspunkt: Option<Tidspunkt>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Data {
    #[serde(default)]
    soknadstype: Option<Soknadstype>,
    personalia: Personalia,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Personalia {
    person_identifikator: PersonIdentifikator,
}

#[derive(Deserialize)]
struct PersonIdentifikator {
    verdi: String,
}

impl JsonSoknad {
    /// Reads the hub's fields from a søknad document and keeps the document.
    pub fn from_value(dokument: Value) -> serde_json::Result<Self> {
        let felter = Felter::deserialize(&dokument)?;
        Ok(JsonSoknad {
            version: felter.version,
            person_identifikator: felter.data.personalia.person_identifikator.verdi,
            mottaker: felter.mottaker,
            soknadstype: felter.data.soknadstype.unwrap_or(Soknadstype::Standard),
            innsendingstidspunkt: felter.innsendingstidspunkt,
            dokument,
        })
    }
}

impl<'de> Deserialize<'de> for JsonSoknad {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let dokument = Value::deserialize(deserializer)?;
        JsonSoknad::from_value(dokument).map_err(serde::de::Error::custom)
    }
}

impl Serialize for JsonSoknad {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.dokument.serialize(serializer)
    }
}
