//! Identifiers of people and organisations: the citizen's personal number ([`Fnr`]), the Nav employee's id
//! ([`NavIdent`]) and the organisation number ([`Orgnr`]).
//!
//! They are parsed once at the edge (token claims, request bodies) so the rest of the program cannot hold an
//! invalid one. A personal number is personal data: [`Fnr`]'s `Debug` and `Display` mask it, so a stray
//! `tracing::info!(?caller)` does not leak it; the digits come out only through [`Fnr::expose`] (or serde,
//! for storage and the wire), which makes every plain-text use visible in the code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentError {
    /// A personal number that is not 11 digits with a plausible date and valid control digits.
    #[error("not a valid fødselsnummer/D-nummer: expected 11 digits with a valid date and mod-11 control digits")]
    InvalidFnr,
    /// A Nav employee id that is not one letter followed by six digits.
    #[error("not a valid NAVident: expected one capital letter followed by 6 digits (e.g. Z123456)")]
    InvalidNavIdent,
    /// An organisation number that is not 9 digits with a valid mod-11 control digit.
    #[error("not a valid organisasjonsnummer: expected 9 digits with a valid mod-11 control digit")]
    InvalidOrgnr,
}

/// The mod-11 control digit over `digits` with `weights`, or `None` when the remainder makes it 10 (no valid
/// number has that).
fn mod11(digits: &[u8], weights: &[u32]) -> Option<u8> {
    let sum: u32 = digits.iter().zip(weights).map(|(d, w)| u32::from(*d) * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        k => u8::try_from(k).ok(),
    }
}

/// The digits of `s` if it is exactly `n` ASCII digits.
fn digits<const N: usize>(s: &str) -> Option<[u8; N]> {
    let bytes = s.as_bytes();
    if bytes.len() != N || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = b - b'0';
    }
    Some(out)
}

/// A Norwegian personal number: fødselsnummer, D-nummer (day + 40) or a synthetic test number (month + 40 as
/// in Nav's test data, or month + 80 as in Skatteetaten's), always with valid mod-11 control digits.
///
/// `Debug` and `Display` show only the birth-date part (`010170*****`); [`Fnr::expose`] gives the digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fnr(String);

impl Fnr {
    /// Parses a personal number, refusing anything but 11 digits with a plausible date and valid control
    /// digits.
    pub fn parse(s: &str) -> Result<Self, IdentError> {
        let d = digits::<11>(s).ok_or(IdentError::InvalidFnr)?;
        let day = d[0] * 10 + d[1];
        let month = d[2] * 10 + d[3];
        let day_ok = (1..=31).contains(&day) || (41..=71).contains(&day);
        let month_ok = [0u8, 40, 80].iter().any(|off| month > *off && month - off <= 12);
        let k1 = mod11(&d[..9], &[3, 7, 6, 1, 8, 9, 4, 5, 2]);
        let k2 = mod11(&d[..10], &[5, 4, 3, 2, 7, 6, 5, 4, 3, 2]);
        if day_ok && month_ok && k1 == Some(d[9]) && k2 == Some(d[10]) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdentError::InvalidFnr)
        }
    }

    /// The 11 digits in plain text. Use only where the number must leave the process (storage, the wire,
    /// the audit log), never in ordinary logs.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same as [`Fnr::expose`], for APIs that expect `as_str`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with everything after the birth date hidden: `010170*****`.
    pub fn masked(&self) -> String {
        format!("{}*****", &self.0[..6])
    }
}

impl fmt::Display for Fnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0[..6])?;
        f.write_str("*****")
    }
}

impl fmt::Debug for Fnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fnr({self})")
    }
}

impl FromStr for Fnr {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Fnr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Fnr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A Nav employee's id (the `NAVident` claim of Entra ID tokens): one capital letter and six digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NavIdent(String);

impl NavIdent {
    /// Parses a NAVident such as `Z123456`.
    pub fn parse(s: &str) -> Result<Self, IdentError> {
        let b = s.as_bytes();
        if b.len() == 7 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdentError::InvalidNavIdent)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NavIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for NavIdent {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for NavIdent {
    type Error = IdentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<NavIdent> for String {
    fn from(value: NavIdent) -> Self {
        value.0
    }
}

/// A Norwegian organisation number (organisasjonsnummer): nine digits, the last a mod-11 control digit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Orgnr(String);

impl Orgnr {
    /// Parses an organisation number such as `958935420`.
    pub fn parse(s: &str) -> Result<Self, IdentError> {
        let d = digits::<9>(s).ok_or(IdentError::InvalidOrgnr)?;
        if mod11(&d[..8], &[3, 2, 7, 6, 5, 4, 3, 2]) == Some(d[8]) {
            Ok(Self(s.to_owned()))
        } else {
            Err(IdentError::InvalidOrgnr)
        }
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Orgnr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Orgnr {
    type Err = IdentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Orgnr {
    type Error = IdentError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Orgnr> for String {
    fn from(value: Orgnr) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnr_with_valid_control_digits_is_accepted() {
        for ok in ["01017012343", "01127012381", "31129912319"] {
            assert!(Fnr::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn d_numbers_and_synthetic_test_numbers_are_accepted() {
        assert!(Fnr::parse("41817012483").is_ok(), "D-nummer with synthetic month");
        assert!(Fnr::parse("01817012309").is_ok(), "Skatteetaten synthetic (month + 80)");
        assert!(Fnr::parse("21458012366").is_ok(), "Nav synthetic (month + 40)");
    }

    #[test]
    fn fnr_with_wrong_control_digits_length_or_date_is_refused() {
        for bad in [
            "12345678910", // control digits wrong (the README's old example)
            "12345678911", // control digits right, but month 34 is no month
            "01017012344",
            "0101701234",
            "010170123433",
            "0101701234a",
            " 1017012343",
            "",
        ] {
            assert_eq!(Fnr::parse(bad), Err(IdentError::InvalidFnr), "{bad:?}");
        }
    }

    #[test]
    fn fnr_debug_and_display_are_masked_and_expose_gives_the_digits() {
        let fnr = Fnr::parse("01017012343").unwrap();
        assert_eq!(fnr.to_string(), "010170*****");
        assert_eq!(format!("{fnr:?}"), "Fnr(010170*****)");
        assert_eq!(format!("{:?}", Some(&fnr)), "Some(Fnr(010170*****))");
        assert_eq!(fnr.expose(), "01017012343");
        assert_eq!(fnr.masked(), "010170*****");
    }

    #[test]
    fn fnr_serde_is_the_plain_string_and_refuses_invalid_numbers() {
        let fnr: Fnr = serde_json::from_str("\"01017012343\"").unwrap();
        assert_eq!(serde_json::to_string(&fnr).unwrap(), "\"01017012343\"");
        assert!(serde_json::from_str::<Fnr>("\"12345678910\"").is_err());
    }

    #[test]
    fn navident_is_one_capital_letter_and_six_digits() {
        assert!(NavIdent::parse("Z123456").is_ok());
        for bad in ["z123456", "Z12345", "Z1234567", "ZZ23456", "1234567", "Å123456"] {
            assert_eq!(NavIdent::parse(bad), Err(IdentError::InvalidNavIdent), "{bad}");
        }
        assert!(serde_json::from_str::<NavIdent>("\"X1\"").is_err());
    }

    #[test]
    fn orgnr_needs_a_valid_mod11_control_digit() {
        assert!(Orgnr::parse("958935420").is_ok());
        assert!(Orgnr::parse("889640782").is_ok(), "Nav's organisation number");
        for bad in ["958935421", "95893542", "9589354200", "95893542a"] {
            assert_eq!(Orgnr::parse(bad), Err(IdentError::InvalidOrgnr), "{bad}");
        }
    }
}
