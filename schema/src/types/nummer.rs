//! Kommunenummer and NAV enhetsnummer: the two four-digit routing keys.
//!
//! Both are exactly four ASCII digits with leading zeros kept (`0301` Oslo; `0314` NAV Sagene). They are
//! stored as text, not numbers, because the leading zero is part of the identifier. The enhetsnummer was
//! six digits in early versions of `digisos-soker.json`; today the schema demands four (DOMAIN.md A.9).

use serde::{Deserialize, Serialize};

use super::{ParseError, quoted, text_type};

fn four_digits(field: &'static str, input: &str) -> Result<[u8; 4], ParseError> {
    match input.as_bytes() {
        bytes @ [_, _, _, _] if bytes.iter().all(u8::is_ascii_digit) => Ok([bytes[0], bytes[1], bytes[2], bytes[3]]),
        _ => Err(ParseError::new(field, format!("must be exactly 4 digits (0-9), got {}", quoted(input)))),
    }
}

/// A kommunenummer (SSB's municipality number): exactly 4 digits, e.g. `0301`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kommunenummer([u8; 4]);

impl Kommunenummer {
    /// Parses a kommunenummer: exactly four ASCII digits, nothing else (no spaces, no sign).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        four_digits("kommunenummer", input).map(Kommunenummer)
    }

    /// The four digits as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

text_type!(Kommunenummer);

/// A NAV office number (NORG2 enhetsnummer, the `navKontor` of `tildeltNavKontor`): exactly 4 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Enhetsnummer([u8; 4]);

/// The same number under the name `digisos-soker.json` gives it.
pub type NavKontor = Enhetsnummer;

impl Enhetsnummer {
    /// Parses an enhetsnummer: exactly four ASCII digits (the six-digit numbers of old files are refused).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        four_digits("enhetsnummer", input).map(Enhetsnummer)
    }

    /// The four digits as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

text_type!(Enhetsnummer);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kommunenummer_is_four_digits_with_leading_zero_kept() {
        let oslo = Kommunenummer::parse("0301").expect("valid");
        assert_eq!(oslo.as_str(), "0301");
        assert_eq!(oslo.to_string(), "0301");
        assert_eq!(serde_json::to_string(&oslo).expect("json"), "\"0301\"");
        assert_eq!(Kommunenummer::parse("5001").map(String::from), Ok("5001".to_owned()));
    }

    #[test]
    fn kommunenummer_of_other_length_or_characters_is_refused() {
        for bad in ["", "301", "03011", " 0301", "0301 ", "03a1", "-301", "０３０１", "+301"] {
            let err = Kommunenummer::parse(bad).expect_err(bad);
            assert_eq!(err.field(), "kommunenummer");
            assert!(err.to_string().starts_with("kommunenummer must be exactly 4 digits"), "{err}");
        }
    }

    #[test]
    fn enhetsnummer_is_exactly_four_digits() {
        assert_eq!(Enhetsnummer::parse("0314").map(|e| e.to_string()), Ok("0314".to_owned()));
        for bad in ["314", "12345", "031401", "abcd", ""] {
            let err = NavKontor::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("must be exactly 4 digits"), "{err}");
        }
    }

    #[test]
    fn serde_refuses_invalid_numbers_with_the_rule_in_the_message() {
        let err = serde_json::from_str::<Enhetsnummer>("\"12345\"").expect_err("5 digits");
        assert!(err.to_string().contains("enhetsnummer must be exactly 4 digits"), "{err}");
        assert!(serde_json::from_str::<Kommunenummer>("301").is_err(), "a number is not text");
        assert_eq!(
            serde_json::from_str::<Kommunenummer>("\"1103\"").map(|k| k.to_string()).ok(),
            Some("1103".to_owned())
        );
    }
}
