//! Domain types for the values that cross the edge of the service: parse, don't validate.
//!
//! Each type can only be built through `parse` (or `FromStr`/`TryFrom`, or serde, which all go through
//! `parse`), so code that holds one never has to check it again. Every refusal is a [`ParseError`] that
//! names the field and the rule in plain English. Serde reads and writes each type as the plain JSON string
//! of the formats, so the types can stand directly in the models of `soknad.json`, `vedlegg.json` and
//! `digisos-soker.json`.
//!
//! Personal identifiers (`Fnr`) live in `crate::fnr`; these are the case, office and time identifiers.

mod identifiers;
mod nummer;
mod tid;

pub use identifiers::{FiksDigisosId, FiksOrgId, NavEksternRefId};
pub use nummer::{Enhetsnummer, Kommunenummer, NavKontor};
pub use tid::{Dato, Tidspunkt};

use std::fmt;

/// Why a text is not a valid value of a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {rule}")]
pub struct ParseError {
    field: &'static str,
    rule: String,
}

impl ParseError {
    /// A refusal of `field` (the name the formats use, e.g. `kommunenummer`) for breaking `rule`.
    pub(crate) fn new(field: &'static str, rule: impl Into<String>) -> Self {
        ParseError { field, rule: rule.into() }
    }

    /// The field that was refused, as the formats name it.
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The rule it breaks, e.g. "must be exactly 4 digits, got \"123\"".
    pub fn rule(&self) -> &str {
        &self.rule
    }
}

/// A refused input, quoted for an error message and cut short if long (these identifiers carry no
/// personal data, so echoing them helps the caller find the mistake).
pub(crate) fn quoted(input: &str) -> impl fmt::Display + '_ {
    struct Quoted<'a>(&'a str);
    impl fmt::Display for Quoted<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            const MAX: usize = 70;
            if self.0.chars().count() <= MAX {
                write!(f, "{:?}", self.0)
            } else {
                let head: String = self.0.chars().take(MAX).collect();
                write!(f, "{head:?}…")
            }
        }
    }
    Quoted(input)
}

/// Implements the string plumbing shared by the text-backed types: `Display`, `FromStr`, `TryFrom<String>`,
/// `TryFrom<&str>`, `From<T> for String`, `AsRef<str>`. The type must have `parse(&str) -> Result<Self,
/// ParseError>` and `as_str(&self) -> &str`.
macro_rules! text_type {
    ($t:ty) => {
        impl ::std::fmt::Display for $t {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::std::str::FromStr for $t {
            type Err = $crate::types::ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                <$t>::parse(s)
            }
        }
        impl TryFrom<String> for $t {
            type Error = $crate::types::ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                <$t>::parse(&s)
            }
        }
        impl TryFrom<&str> for $t {
            type Error = $crate::types::ParseError;
            fn try_from(s: &str) -> Result<Self, Self::Error> {
                <$t>::parse(s)
            }
        }
        impl From<$t> for String {
            fn from(value: $t) -> String {
                value.as_str().to_owned()
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
    };
}
pub(crate) use text_type;
