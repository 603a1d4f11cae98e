//! Content fingerprints: SHA-256 over a canonical JSON text.
//!
//! Two things are compared by content rather than by bytes. A resubmitted søknad must be recognised as
//! the same søknad (idempotency on `navEksternRefId`), and a hendelse in a re-sent `digisos-soker.json`
//! must be recognised as one already recorded (the diff). Senders do not promise byte-identical JSON, so
//! the hash is taken over a canonical text in which the accidents of serialization are gone:
//! - object keys sorted (by Unicode code point) and no whitespace;
//! - strings escaped the way `serde_json` writes them (one spelling per string);
//! - numbers by value: `5000`, `5000.0`, `5000.00` and `5e3` are one number. An integer-valued number
//!   within ±2^53 is written as an integer, any other as the shortest text that reads back to the same
//!   `f64`. (Precision beyond an `f64` is not kept by the model either.)
//!
//! Array order is kept: order inside a hendelse is content. (Which hendelse comes first in the file is
//! not, and the diff treats the hendelser as a multiset for that reason; see `src/sak`.)

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

use crate::types::{ParseError, quoted};

/// A SHA-256 content fingerprint, written as 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a JSON value: SHA-256 of its [`canonical_json`] text.
    pub fn of_json(value: &Value) -> Self {
        Self::of_bytes(canonical_json(value).as_bytes())
    }

    /// The SHA-256 of some bytes.
    pub fn of_bytes(bytes: &[u8]) -> Self {
        Fingerprint(lower_hex(&Sha256::digest(bytes)))
    }

    /// Parses 64 hex digits (either case; kept in lowercase).
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        if input.len() == 64 && input.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Fingerprint(input.to_ascii_lowercase()))
        } else {
            Err(ParseError::new("fingerprint", format!("must be 64 hex digits (SHA-256), got {}", quoted(input))))
        }
    }

    /// The 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

crate::types::text_type!(Fingerprint);

/// Lowercase hex of some bytes.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The canonical JSON text of a value (see the module comment for the rules).
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_canonical(item, out);
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    // Serializing a &str cannot fail; the fallback keeps the function total without a panic path.
    match serde_json::to_string(s) {
        Ok(text) => out.push_str(&text),
        Err(_) => out.push_str("\"\""),
    }
}

fn write_number(n: &Number, out: &mut String) {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if let Some(i) = n.as_i64() {
        let _ = write!(out, "{i}");
    } else if let Some(u) = n.as_u64() {
        let _ = write!(out, "{u}");
    } else if let Some(f) = n.as_f64() {
        if f.is_finite() && f.fract() == 0.0 && f.abs() < EXACT {
            // Exact: |f| < 2^53 and integral, so the cast neither truncates nor rounds.
            #[allow(clippy::cast_possible_truncation)]
            let i = f as i64;
            let _ = write!(out, "{i}");
        } else {
            let _ = write!(out, "{f:?}");
        }
    } else {
        let _ = write!(out, "{n}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_order_whitespace_and_number_spelling_do_not_change_the_fingerprint() {
        let a: Value = serde_json::from_str(r#"{"b": 5000.00, "a": [1, {"y": 2, "x": "ø"}]}"#).expect("a");
        let b: Value = serde_json::from_str(r#"{"a":[1,{"x":"ø","y":2.0}],"b":5e3}"#).expect("b");
        assert_eq!(canonical_json(&a), r#"{"a":[1,{"x":"ø","y":2}],"b":5000}"#);
        assert_eq!(Fingerprint::of_json(&a), Fingerprint::of_json(&b));
    }

    #[test]
    fn array_order_and_values_change_the_fingerprint() {
        assert_ne!(Fingerprint::of_json(&json!([1, 2])), Fingerprint::of_json(&json!([2, 1])));
        assert_ne!(Fingerprint::of_json(&json!({"a": "1"})), Fingerprint::of_json(&json!({"a": 1})));
        assert_ne!(Fingerprint::of_json(&json!({"a": 0.1})), Fingerprint::of_json(&json!({"a": 0.10000001})));
        assert_eq!(canonical_json(&json!({"a": 0.1, "b": -0.0, "c": null})), r#"{"a":0.1,"b":0,"c":null}"#);
    }

    #[test]
    fn fingerprint_is_lowercase_sha256_hex_and_parses_back() {
        let f = Fingerprint::of_bytes(b"abc");
        assert_eq!(f.as_str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(Fingerprint::parse(&f.as_str().to_uppercase()), Ok(f.clone()));
        assert_eq!(serde_json::to_value(&f).expect("json"), json!(f.as_str()));
        assert!(Fingerprint::parse("abc").is_err());
        assert!(Fingerprint::parse(&"g".repeat(64)).is_err());
    }
}
