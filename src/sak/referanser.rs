//! Finding the `dokumentlager` file references in hendelser, each with its JSON path.
//!
//! The rule "every referenced dokumentlager file must be uploaded to this case" (DOMAIN.md A.4) and the
//! rule "a file the current digisos-soker.json references cannot be deleted" both need every reference.
//! They are found by walking the hendelse's JSON rather than through the typed model, for two reasons: the
//! walk sees references in hendelse types this version does not know (kept as `Ukjent`) and in fields added
//! later, and it yields the exact path of each (`$.hendelser[3].vedtaksfil.referanse.id`) for the problem
//! report. A reference is any object below the hendelse whose `type` is `"dokumentlager"` (the
//! `filreferanse` shape); the hendelse object itself has a hendelse type there, never that one.

use serde_json::Value;
use uuid::Uuid;

/// One `dokumentlager` reference: the path of its `id` and the id, if it is a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Referanse {
    /// JSONPath of the `id` field.
    pub path: String,
    /// The id; `None` when it is not a UUID string.
    pub id: Option<Uuid>,
}

/// Every `dokumentlager` reference inside `hendelse`, whose own path is `path` (arrays in order, object
/// keys in the order the JSON map keeps them).
pub(super) fn dokumentlager_referanser(hendelse: &Value, path: &str) -> Vec<Referanse> {
    let mut found = Vec::new();
    children(hendelse, path, &mut found);
    found
}

fn children(value: &Value, path: &str, found: &mut Vec<Referanse>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                walk(child, &child_key(path, key), found);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

fn walk(value: &Value, path: &str, found: &mut Vec<Referanse>) {
    if let Value::Object(map) = value
        && map.get("type").and_then(Value::as_str) == Some("dokumentlager")
    {
        let id = map.get("id").and_then(Value::as_str).and_then(|id| Uuid::try_parse(id).ok());
        found.push(Referanse { path: child_key(path, "id"), id });
        return;
    }
    children(value, path, found);
}

/// `path.key`, or `path['key']` when the key is not an identifier (RFC 9535 notation).
fn child_key(path: &str, key: &str) -> String {
    let identifier = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if identifier {
        format!("{path}.{key}")
    } else {
        format!("{path}['{}']", key.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_found_with_their_paths_in_known_and_unknown_hendelser() {
        let vedtak = json!({
            "type": "vedtakFattet",
            "vedtaksfil": {"referanse": {"type": "dokumentlager", "id": "12345678-9abc-def0-1234-56789abcdef0"}},
            "vedlegg": [
                {"tittel": "a", "referanse": {"type": "svarut", "id": "12345678-9abc-def0-1234-56789abcdef1", "nr": 1}},
                {"tittel": "b", "referanse": {"type": "dokumentlager", "id": "not-a-uuid"}}
            ]
        });
        let mut found = dokumentlager_referanser(&vedtak, "$.hendelser[3]");
        found.sort_by(|a, b| a.path.cmp(&b.path));
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].path, "$.hendelser[3].vedlegg[1].referanse.id");
        assert_eq!(found[0].id, None);
        assert_eq!(found[1].path, "$.hendelser[3].vedtaksfil.referanse.id");
        assert!(found[1].id.is_some());

        let ukjent = json!({"type": "klageMottatt", "brev fra": {"type": "dokumentlager", "id": "12345678-9abc-def0-1234-56789abcdef2"}});
        let found = dokumentlager_referanser(&ukjent, "$.hendelser[0]");
        assert_eq!(found[0].path, "$.hendelser[0]['brev fra'].id");
    }
}
