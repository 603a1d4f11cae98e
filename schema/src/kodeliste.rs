//! Open code lists: enums that name the known values and keep any other value as text.
//!
//! The formats say new codes may be added at any time and consumers must not break on them (DOMAIN.md
//! G.11; "ukjente statusverdier skal ikke hindre visning"). A closed Rust enum would refuse a file the
//! moment a fagsystem starts sending a new status; `#[serde(other)]` would accept it but lose the value.
//! So each list here is an enum of the known codes plus `Annen(String)`, read from and written to the plain
//! JSON string, round-tripping every value unchanged. Whether a code is *allowed* is the JSON Schema's
//! business (`crate::validate`), not the model's.

/// Declares an open code list: `kodeliste!(Name { Variant = "code", … })`.
macro_rules! kodeliste {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $code:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
            /// A code this version does not know, kept as sent.
            Annen(String),
        }

        impl $name {
            /// The code as it is written in the JSON.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $code,)+
                    $name::Annen(code) => code,
                }
            }

            /// The value for a code; unknown codes become `Annen`.
            pub fn from_code(code: &str) -> Self {
                match code {
                    $($code => $name::$variant,)+
                    other => $name::Annen(other.to_owned()),
                }
            }

            /// Whether the code is one this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Annen(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($name::from_code(&code))
            }
        }
    };
}
pub(crate) use kodeliste;

#[cfg(test)]
mod tests {
    kodeliste!(
        /// A list for the test.
        Farge {
            /// Red.
            Rod = "ROD",
            /// Blue.
            Bla = "BLA",
        }
    );

    #[test]
    fn known_codes_become_variants_and_unknown_codes_are_kept() {
        let known: Farge = serde_json::from_str("\"ROD\"").expect("known");
        assert_eq!(known, Farge::Rod);
        assert!(known.is_known());
        let unknown: Farge = serde_json::from_str("\"GRONN\"").expect("unknown");
        assert_eq!(unknown, Farge::Annen("GRONN".to_owned()));
        assert_eq!(serde_json::to_string(&unknown).expect("json"), "\"GRONN\"");
        assert_eq!(Farge::Bla.to_string(), "BLA");
    }

    #[test]
    fn escaped_codes_are_read_too() {
        let unknown: Farge = serde_json::from_str(r#""R\u00d8D""#).expect("escaped");
        assert_eq!(unknown.as_str(), "RØD");
    }
}
