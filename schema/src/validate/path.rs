//! JSON paths of problems, in the JSONPath notation of RFC 9535.
//!
//! The validator reports instance locations as JSON Pointers (`/hendelser/2/navKontor`). Callers of the API
//! get JSONPath instead (`$.hendelser[2].navKontor`): it is what "JSON path" means to most integrators, reads
//! the same as the code that would access the field, and tells an array index (`[2]`) from an object key
//! (`['2']`). A pointer segment of digits is ambiguous between the two, so the path is resolved against the
//! document itself.
//!
//! Rendering: the root is `$`; a key that is an identifier (`[A-Za-z_][A-Za-z0-9_]*`) is written `.key`,
//! any other key `['key']` with `\\`, `\'` and control characters escaped as RFC 9535 normalized paths do;
//! an array index is `[n]`.

use std::fmt::Write;

use jsonschema::paths::{Location, LocationSegment};
use serde_json::Value;

/// The JSONPath of `location` inside `root`.
pub(crate) fn json_path(location: &Location, root: &Value) -> String {
    let mut path = String::from("$");
    let mut current = Some(root);
    for segment in location.segments() {
        match segment {
            LocationSegment::Index(index) => match current {
                Some(Value::Array(items)) => {
                    let _ = write!(path, "[{index}]");
                    current = items.get(index);
                }
                other => {
                    let key = index.to_string();
                    push_key(&mut path, &key);
                    current = other.and_then(|value| value.get(&key));
                }
            },
            LocationSegment::Property(key) => {
                push_key(&mut path, &key);
                current = current.and_then(|value| value.get(key.as_ref()));
            }
        }
    }
    path
}

/// Appends one object key to a JSONPath.
pub(crate) fn push_key(path: &mut String, key: &str) {
    if is_identifier(key) {
        path.push('.');
        path.push_str(key);
        return;
    }
    path.push_str("['");
    for c in key.chars() {
        match c {
            '\'' => path.push_str("\\'"),
            '\\' => path.push_str("\\\\"),
            '\u{8}' => path.push_str("\\b"),
            '\u{c}' => path.push_str("\\f"),
            '\n' => path.push_str("\\n"),
            '\r' => path.push_str("\\r"),
            '\t' => path.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(path, "\\u{:04x}", u32::from(c));
            }
            c => path.push(c),
        }
    }
    path.push_str("']");
}

/// Whether `path` is `ancestor` itself or lies below it.
pub(crate) fn is_within(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor).is_some_and(|rest| rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn location(pointer: &str) -> Location {
        pointer.split('/').filter(|s| !s.is_empty()).map(|s| LocationSegment::Property(s.to_owned().into())).collect()
    }

    #[test]
    fn root_is_a_dollar_sign() {
        assert_eq!(json_path(&Location::new(), &json!({})), "$");
    }

    #[test]
    fn array_indexes_and_identifier_keys_use_brackets_and_dots() {
        let doc = json!({"hendelser": [{}, {}, {"navKontor": "12345"}]});
        assert_eq!(json_path(&location("/hendelser/2/navKontor"), &doc), "$.hendelser[2].navKontor");
    }

    #[test]
    fn a_numeric_object_key_is_quoted_not_taken_for_an_index() {
        let doc = json!({"2": {"a b": 1}});
        assert_eq!(json_path(&location("/2/a b"), &doc), "$['2']['a b']");
    }

    #[test]
    fn quotes_and_backslashes_in_keys_are_escaped() {
        let mut path = String::from("$");
        push_key(&mut path, "it's\\");
        assert_eq!(path, r"$['it\'s\\']");
    }

    #[test]
    fn within_means_same_or_below_never_a_longer_sibling_name() {
        assert!(is_within("$.hendelser[0].type", "$.hendelser[0]"));
        assert!(is_within("$.a", "$.a"));
        assert!(is_within("$.a", "$"));
        assert!(!is_within("$.ab", "$.a"));
        assert!(!is_within("$.hendelser[10]", "$.hendelser[1]"));
    }
}
