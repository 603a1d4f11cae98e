//! Case and organisation identifiers: `fiksDigisosId`, `fiksOrgId` (UUIDs minted by Fiks) and Nav's
//! `navEksternRefId` (a string Nav chooses per forsendelse).
//!
//! The UUIDs are accepted only in the hyphenated 36-character form, in either case (Java's
//! `UUID.fromString` is case-insensitive, and these arrive in URL paths), and always written back in
//! lowercase, the form the formats' patterns demand. The braced, URN and 32-digit forms are refused: they
//! never occur in the real API and would give one case several spellings.
//!
//! `navEksternRefId` rule (the formats give none; this is ours, see [`NavEksternRefId::parse`]): 1 to 64
//! characters, printable ASCII (`!` to `~`), none of `/ \ ? # %`, and not `.` or `..`. It travels as a
//! URL path segment, so it must survive one unchanged: no separators, no escapes, no dot segments. Nav's
//! real values fit easily: a UUID (36), a UUID plus a 4-digit ettersendelse suffix (40), or KS's examples
//! such as `110004PCC`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ParseError, quoted, text_type};

fn parse_uuid(field: &'static str, input: &str) -> Result<Uuid, ParseError> {
    let hyphenated =
        input.len() == 36 && input.char_indices().all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-'));
    match Uuid::try_parse(input) {
        Ok(uuid) if hyphenated => Ok(uuid),
        _ => Err(ParseError::new(
            field,
            format!("must be a UUID like 3fa85f64-5717-4562-b3fc-2c963f66afa6, got {}", quoted(input)),
        )),
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(Uuid);

        impl $name {
            /// Parses the hyphenated UUID form, either case.
            pub fn parse(input: &str) -> Result<Self, ParseError> {
                parse_uuid($field, input).map($name)
            }

            /// Wraps a UUID that is already known to be this identifier (e.g. read back from storage).
            pub fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid)
            }

            /// The UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = ParseError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                $name::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.to_string()
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

uuid_id!(
    /// The case id Fiks gives a søknad (and all its ettersendelser): `fiksDigisosId` / `digisosId`.
    FiksDigisosId,
    "fiksDigisosId"
);

uuid_id!(
    /// A kommune as a Fiks organisation; it scopes every fagsystem path (`/{fiksOrgId}/…`).
    FiksOrgId,
    "fiksOrgId"
);

impl FiksDigisosId {
    /// A new random case id (version 4, as Fiks mints them).
    pub fn generate() -> Self {
        FiksDigisosId(Uuid::new_v4())
    }
}

/// Nav's reference for one forsendelse (a søknad or an ettersendelse): `navEksternRefId` / `eksternRef`.
/// Unique per forsendelse; the idempotency key of submissions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NavEksternRefId(String);

impl NavEksternRefId {
    /// The longest reference accepted, in characters.
    pub const MAX_LEN: usize = 64;

    /// Parses a reference: 1 to 64 printable ASCII characters (`!`..`~`), none of `/ \ ? # %`, and not
    /// `.` or `..`, so that it is one URL path segment as it stands.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let refuse = |rule: String| Err(ParseError::new("navEksternRefId", rule));
        if input.is_empty() {
            return refuse("must not be empty".to_owned());
        }
        if input.len() > Self::MAX_LEN {
            return refuse(format!("must be at most {} characters, got {}", Self::MAX_LEN, input.chars().count()));
        }
        if let Some(bad) = input.chars().find(|c| !c.is_ascii_graphic() || matches!(c, '/' | '\\' | '?' | '#' | '%')) {
            return refuse(format!(
                "may hold only printable ASCII without spaces and without / \\ ? # %, found {bad:?} in {}",
                quoted(input)
            ));
        }
        if input == "." || input == ".." {
            return refuse(format!("must not be the path segment {}", quoted(input)));
        }
        Ok(NavEksternRefId(input.to_owned()))
    }

    /// The reference as Nav sent it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_type!(NavEksternRefId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_ids_accept_the_hyphenated_form_and_write_lowercase() {
        let id = FiksDigisosId::parse("3FA85F64-5717-4562-B3FC-2C963F66AFA6").expect("upper case");
        assert_eq!(id.to_string(), "3fa85f64-5717-4562-b3fc-2c963f66afa6");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"3fa85f64-5717-4562-b3fc-2c963f66afa6\"");
        let org: FiksOrgId = "11415cd1-e26d-499a-8421-751457dfcbd5".parse().expect("lower");
        assert_eq!(FiksOrgId::from_uuid(org.as_uuid()), org);
    }

    #[test]
    fn uuid_ids_refuse_other_forms_with_the_field_named() {
        for bad in [
            "",
            "3fa85f64571745629b3fc2c963f66afa6",
            "3fa85f6457174562b3fc2c963f66afa6",
            "{3fa85f64-5717-4562-b3fc-2c963f66afa6}",
            "urn:uuid:3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "3fa85f64-5717-4562-b3fc-2c963f66afag",
            "3fa85f645-717-4562-b3fc-2c963f66afa6",
            " 3fa85f64-5717-4562-b3fc-2c963f66afa6",
        ] {
            let err = FiksDigisosId::parse(bad).expect_err(bad);
            assert!(err.to_string().starts_with("fiksDigisosId must be a UUID"), "{err}");
        }
        let err = serde_json::from_str::<FiksOrgId>("\"nope\"").expect_err("not a uuid");
        assert!(err.to_string().contains("fiksOrgId must be a UUID"), "{err}");
    }

    #[test]
    fn generated_case_ids_are_distinct_version_4_uuids() {
        let (a, b) = (FiksDigisosId::generate(), FiksDigisosId::generate());
        assert_ne!(a, b);
        assert_eq!(a.as_uuid().get_version_num(), 4);
        assert_eq!(FiksDigisosId::parse(&a.to_string()), Ok(a));
    }

    #[test]
    fn nav_ekstern_ref_id_accepts_nav_and_ks_shapes() {
        for good in [
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "3fa85f64-5717-4562-b3fc-2c963f66afa60001",
            "110004PCC",
            "a",
            "ref_1.2~x:y",
            &"x".repeat(64),
        ] {
            let id = NavEksternRefId::parse(good).expect(good);
            assert_eq!(id.as_str(), good);
        }
    }

    #[test]
    fn nav_ekstern_ref_id_refuses_empty_long_and_path_breaking_values() {
        let cases = [
            ("", "must not be empty"),
            (&*"x".repeat(65), "at most 64 characters, got 65"),
            ("a/b", "found '/'"),
            ("a b", "found ' '"),
            ("a%2Fb", "found '%'"),
            ("a?b", "found '?'"),
            ("a#b", "found '#'"),
            ("a\\b", "found '\\\\'"),
            ("søknad", "found 'ø'"),
            ("tab\t", "found '\\t'"),
            ("..", "must not be the path segment"),
            (".", "must not be the path segment"),
        ];
        for (bad, words) in cases {
            let err = NavEksternRefId::parse(bad).expect_err(bad);
            assert_eq!(err.field(), "navEksternRefId");
            assert!(err.rule().contains(words), "{bad:?}: {err}");
        }
    }

    #[test]
    fn nav_ekstern_ref_id_serde_is_the_plain_string() {
        let id: NavEksternRefId = serde_json::from_str("\"110004PCC\"").expect("valid");
        assert_eq!(serde_json::to_string(&id).expect("json"), "\"110004PCC\"");
        assert!(serde_json::from_str::<NavEksternRefId>("\"\"").is_err());
    }
}
