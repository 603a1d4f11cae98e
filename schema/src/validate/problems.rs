//! Turning the validator's errors into [`Problem`]s a caller can act on.
//!
//! Two things make raw JSON Schema errors poor answers, and this module fixes both:
//! - `oneOf`. A hendelse, a filreferanse and an adresse are each "one of" several shapes told apart by their
//!   `type` field. A raw validator says only "not valid under any of the schemas listed in oneOf" at the
//!   hendelse. Here the branches whose `type` does not match are set aside, and when exactly one is left its
//!   own errors are reported instead (so a 5-digit `navKontor` is reported at `$.hendelser[2].navKontor`).
//!   An unknown or missing `type` is reported by the sibling `type`/`required` checks, so the generic
//!   `oneOf` message is dropped whenever a more precise problem lies at or below its path. An `anyOf`
//!   (the sivilstatus rules) is treated the same way, its branch told apart by a code field such as
//!   `status` when there is no `type`.
//! - Wording. Messages are written here in plain English and do not echo free-text values back (a document
//!   may carry a fødselsnummer or an account number, and problems end up in responses and logs); code-list
//!   values are echoed, because a caller needs to see which code was refused.
//!
//! A missing required property is reported at the path of the property itself (`$.version`), not at the
//! object that lacks it, so each problem's path names the field to fix.

use std::fmt;

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::Location;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::path::{is_within, json_path, push_key};

/// One reason a document was refused: where (a JSONPath such as `$.hendelser[2].navKontor`, `$` being the
/// whole document) and what is wrong, in English.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Problem {
    /// JSONPath (RFC 9535) of the offending value, or of the missing property.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// A problem plus whether it is only the generic "matches none of the shapes" fallback.
struct Found {
    problem: Problem,
    generic: bool,
}

/// All problems of a failed validation, most precise first in document order, without duplicates.
pub(crate) fn collect<'a>(errors: impl Iterator<Item = ValidationError<'a>>, root: &Value) -> Vec<Problem> {
    let mut found = Vec::new();
    for error in errors {
        push(&error, root, &mut found);
    }
    let precise: Vec<String> = found.iter().filter(|f| !f.generic).map(|f| f.problem.path.clone()).collect();
    let mut problems: Vec<Problem> = Vec::new();
    for f in found {
        let covered = f.generic && precise.iter().any(|p| is_within(p, &f.problem.path));
        if !covered && !problems.contains(&f.problem) {
            problems.push(f.problem);
        }
    }
    problems
}

fn push(error: &ValidationError<'_>, root: &Value, out: &mut Vec<Found>) {
    let at = error.instance_path();
    let problem = |message: String| Found { problem: Problem { path: json_path(at, root), message }, generic: false };
    let message = match error.kind() {
        ValidationErrorKind::OneOfNotValid { context } | ValidationErrorKind::AnyOf { context } => {
            match select_branch(context, at) {
                Some(branch) => branch.iter().for_each(|e| push(e, root, out)),
                None => out.push(Found {
                    generic: true,
                    ..problem(format!(
                        "does not match any of the {} allowed shapes (check its \"type\" and required fields)",
                        context.len()
                    ))
                }),
            }
            return;
        }
        ValidationErrorKind::Required { property } => {
            let mut path = json_path(at, root);
            let name = property.as_str().unwrap_or_default();
            push_key(&mut path, name);
            out.push(Found {
                problem: Problem { path, message: format!("required property \"{name}\" is missing") },
                generic: false,
            });
            return;
        }
        ValidationErrorKind::Type { kind } => {
            format!("must be {}, but is {}", expected_types(kind), type_of(error.instance()))
        }
        ValidationErrorKind::Enum { options } => match echoable(error.instance()) {
            Some(value) => format!("{value} is not one of {}", list(options)),
            None => format!("must be one of {}", list(options)),
        },
        ValidationErrorKind::Constant { expected_value } => format!("must be {expected_value}"),
        ValidationErrorKind::Pattern { pattern } => pattern_message(pattern),
        ValidationErrorKind::MinItems { limit } => format!("must have at least {limit} item(s)"),
        ValidationErrorKind::MaxItems { limit } => format!("must have at most {limit} item(s)"),
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} character(s) long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} character(s) long")
        }
        ValidationErrorKind::Minimum { limit } => format!("must be at least {limit}"),
        ValidationErrorKind::Maximum { limit } => format!("must be at most {limit}"),
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the allowed shapes, so its kind is ambiguous".to_owned()
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            format!("has properties that are not allowed: {}", unexpected.join(", "))
        }
        _ => error.masked().to_string(),
    };
    out.push(problem(message));
}

/// The one branch of a failed `oneOf`/`anyOf` that was meant for this object, if it can be told.
///
/// First by the `type` field (a branch refusing this object's `type` is for another kind of object); failing
/// that, by any code-list field directly on the object (the `anyOf` of a sivilstatus picks its branch by
/// `status`). `None` when no branch or several branches remain.
fn select_branch<'e, 'v>(
    branches: &'e [Vec<ValidationError<'v>>],
    at: &Location,
) -> Option<&'e Vec<ValidationError<'v>>> {
    let only = |refuses: &dyn Fn(&ValidationError<'_>) -> bool| {
        let mut left = branches.iter().filter(|b| !b.iter().any(refuses));
        match (left.next(), left.next()) {
            (Some(branch), None) => Some(branch),
            _ => None,
        }
    };
    let type_path = at.join("type");
    only(&|e| is_code_check(e) && *e.instance_path() == type_path)
        .or_else(|| only(&|e| is_code_check(e) && e.instance_path().segments().count() == at.segments().count() + 1))
}

/// Whether `error` comes from an `enum` or `const`, i.e. refuses a code value.
fn is_code_check(error: &ValidationError<'_>) -> bool {
    matches!(error.kind(), ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. })
}

/// The message for a failed `pattern`, with a readable description for the patterns of these formats.
fn pattern_message(pattern: &str) -> String {
    const TIDSPUNKT: &str =
        "^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9][0-9]*Z$";
    const DATO: &str = "^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$";
    const VERSION: &str = r"^[0-9]+\.[0-9]+\.[0-9]+(-[a-zA-Z0-9]+)?(\+[a-zA-Z0-9]+)?$";
    let digits = |n: usize| format!("^{}$", "[0-9]".repeat(n));
    let hex = |n: usize| "[0-9a-f]".repeat(n);
    let uuid = format!("^{}-{}-{}-{}-{}$", hex(8), hex(4), hex(4), hex(4), hex(12));
    let what = if pattern == TIDSPUNKT {
        "must be a UTC time with fractional seconds, like 2018-10-04T13:37:00.134Z".to_owned()
    } else if pattern == DATO {
        "must be a date written YYYY-MM-DD".to_owned()
    } else if pattern == VERSION {
        "must be a version number like 1.2.3 (semantic versioning)".to_owned()
    } else if pattern == uuid || pattern == "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$" {
        "must be a UUID in lowercase, like 3fa85f64-5717-4562-b3fc-2c963f66afa6".to_owned()
    } else if let Some(n) = (1..=20).find(|n| pattern == digits(*n)) {
        format!("must be exactly {n} digits")
    } else {
        return format!("does not match the required pattern {pattern}");
    };
    format!("{what} (pattern {pattern})")
}

fn expected_types(kind: &TypeKind) -> String {
    match kind {
        TypeKind::Single(t) => article(&t.to_string()),
        TypeKind::Multiple(set) => set.iter().map(|t| article(&t.to_string())).collect::<Vec<_>>().join(" or "),
    }
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn article(type_name: &str) -> String {
    match type_name {
        "null" => "null".to_owned(),
        "integer" | "array" | "object" => format!("an {type_name}"),
        other => format!("a {other}"),
    }
}

/// A code-list value short enough to quote back; longer strings and non-strings are not echoed.
fn echoable(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.chars().count() <= 40 && !s.chars().any(char::is_control) => {
            Some(Value::String(s.clone()).to_string())
        }
        _ => None,
    }
}

fn list(options: &Value) -> String {
    match options {
        Value::Array(items) => items.iter().map(Value::to_string).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_known_patterns_are_described_in_words() {
        assert!(pattern_message("^[0-9][0-9][0-9][0-9]$").starts_with("must be exactly 4 digits"));
        assert!(pattern_message(&format!("^{}$", "[0-9]".repeat(11))).starts_with("must be exactly 11 digits"));
        assert!(pattern_message("^x$").starts_with("does not match the required pattern ^x$"));
    }

    #[test]
    fn long_or_multiline_values_are_not_echoed() {
        assert_eq!(echoable(&Value::String("x".repeat(41))), None);
        assert_eq!(echoable(&Value::String("a\nb".into())), None);
        assert_eq!(echoable(&Value::String("MOTTAT".into())), Some("\"MOTTAT\"".into()));
    }
}
