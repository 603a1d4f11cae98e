//! The small parts of an upload: JSON documents and file metadata, read whole (under a cap), parsed, and
//! checked, each problem named by part and JSON path (`soknadJson: $.data.personalia…`).
//!
//! `soknadJson` and `vedleggJson` are checked against the real JSON Schemas (`digisos_schema::validate`); the
//! two shapes the schemas do not cover, `tilleggsinformasjonJson` and the file metadata `{filnavn, mimetype,
//! storrelse}`, are checked here field by field. Values are not echoed back (file names are personal data).

use axum::extract::multipart::Field;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use serde_json::Value;

use digisos_schema::types::Enhetsnummer;
use digisos_schema::validate::{DocumentKind, validate};

use super::names::PartRef;
use super::{FilMetadata, Tilleggsinformasjon, body_error};
use crate::http::error::{ApiError, Problem};

/// Reads a part whole, refusing it (413) past `cap` bytes.
pub async fn read_small(field: &mut Field<'_>, part: &PartRef, cap: usize) -> Result<Bytes, ApiError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| body_error(Some(part), e))? {
        if buf.len() + chunk.len() > cap {
            return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, format!("{part} is larger than {cap} bytes")));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Parses a part as JSON.
pub fn parse_json(part: &PartRef, bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        ApiError::invalid_document(
            format!("{part} is not JSON"),
            vec![Problem { path: format!("{}: $", part.label()), message: e.to_string() }],
        )
    })
}

/// Checks a document against its JSON Schema, naming each problem by part and path.
pub fn check_schema(part: &PartRef, kind: DocumentKind, value: &Value) -> Result<(), ApiError> {
    validate(kind, value).map_err(|problems| {
        ApiError::invalid_document(
            format!("{part} is not a valid {}", kind.format_name()),
            problems
                .into_iter()
                .map(|p| Problem { path: format!("{}: {}", part.label(), p.path), message: p.message })
                .collect(),
        )
    })
}

/// Reads a schema-valid document into its typed model.
pub fn typed<T: serde::de::DeserializeOwned>(part: &PartRef, kind: DocumentKind, value: &Value) -> Result<T, ApiError> {
    serde_json::from_value(value.clone()).map_err(|e| {
        ApiError::invalid_document(
            format!("{part} cannot be read as {}", kind.format_name()),
            vec![Problem { path: format!("{}: $", part.label()), message: e.to_string() }],
        )
    })
}

/// Reads `tilleggsinformasjonJson`: `{"enhetsnummer": "<4 digits>"}`; the number may be absent or null.
pub fn tilleggsinformasjon(part: &PartRef, value: &Value) -> Result<Tilleggsinformasjon, ApiError> {
    let problem = |path: &str, message: &str| {
        ApiError::invalid_document(
            format!("{part} is not a valid tilleggsinformasjon"),
            vec![Problem { path: format!("{}: {path}", part.label()), message: message.to_owned() }],
        )
    };
    let Value::Object(fields) = value else {
        return Err(problem("$", "must be an object {\"enhetsnummer\": \"…\"}"));
    };
    let enhetsnummer = match fields.get("enhetsnummer") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(Enhetsnummer::parse(s).map_err(|_| problem("$.enhetsnummer", "must be exactly 4 digits"))?)
        }
        Some(_) => return Err(problem("$.enhetsnummer", "must be a string of 4 digits")),
    };
    Ok(Tilleggsinformasjon { enhetsnummer })
}

/// Reads file metadata `{filnavn, mimetype, storrelse}` (all required; extra fields are ignored).
pub fn fil_metadata(part: &PartRef, bytes: &[u8]) -> Result<FilMetadata, ApiError> {
    let value = parse_json(part, bytes)?;
    let label = part.label();
    let mut problems = Vec::new();
    let mut problem = |field: &str, message: String| {
        problems.push(Problem { path: format!("{label}: $.{field}"), message });
    };
    let Value::Object(fields) = &value else {
        return Err(ApiError::invalid_document(
            format!("{part} is not file metadata"),
            vec![Problem {
                path: format!("{label}: $"),
                message: "must be an object {filnavn, mimetype, storrelse}".into(),
            }],
        ));
    };
    let mut text = |field: &str| match fields.get(field) {
        None => {
            problem(field, format!("required property \"{field}\" is missing"));
            None
        }
        Some(Value::String(s)) if s.trim().is_empty() => {
            problem(field, "must not be blank".into());
            None
        }
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problem(field, "must be a string".into());
            None
        }
    };
    let filnavn = text("filnavn");
    let mimetype = text("mimetype");
    let storrelse = match fields.get("storrelse") {
        None => {
            problem("storrelse", "required property \"storrelse\" is missing".into());
            None
        }
        Some(Value::Number(n)) if n.as_u64().is_some() => n.as_u64(),
        Some(_) => {
            problem("storrelse", "must be the file's size in bytes, a whole number of at least 0".into());
            None
        }
    };
    match (filnavn, mimetype, storrelse) {
        (Some(filnavn), Some(mimetype), Some(storrelse)) if problems.is_empty() => {
            Ok(FilMetadata { filnavn, mimetype, storrelse })
        }
        _ => Err(ApiError::invalid_document(format!("{part} is not valid file metadata"), problems)),
    }
}
