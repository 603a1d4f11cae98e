//! The audit trail of Nav staff access to a person's data (sporingslogg).
//!
//! Every staff read of a person's data, and every refusal, is recorded before any data is returned: the
//! handler calls [`AuditLog::record`] first and fails the read if it errors, so there is no access without a
//! record. The record is an event (`StaffAccessRecorded.v1` on the stream `audit-<NAVident>`), durable once the
//! append returns, and a projection can show each citizen who at Nav has looked at their cases. After the
//! append, the same record goes as one ArcSight CEF line to the `audit` log target, in the format Nav's own
//! modia-api writes (DOMAIN.md D), for the security operations' log pipeline. That target is the only log
//! line that carries the personal number in plain text.
//!
//! Nav support also reads through the Fiks REST endpoints (`/digisos/api/v1/nav/soknader/…`, DOMAIN.md A.7), as
//! Nav's modia-api does: with Nav's own Maskinporten identity, not the employee's token. Such a call carries no
//! NAVident (modia-api records the employee in its own audit trail and sends the same `sporingsId`, so the two
//! trails can be joined, as Fiks Audit does it), so it is recorded as [`SystemAccess`]: the Nav system's
//! organisation number, the `sporingsId` and the rest of the record, as `SystemAccessRecorded.v1` on the stream
//! `audit-system-<orgnr>`, and as a CEF line whose `suid` is the organisation number and whose `cs3` says that
//! the caller is a Nav system. A separate event type rather than a NAVident-less `StaffAccessRecorded`, so that
//! no reader of staff records ever meets a record without an employee.

use std::fmt::Write as _;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::{Fnr, NavIdent, Orgnr};
use crate::eventstore::{DynEventStore, ExpectedRevision, NewEvent, StoreError, StreamName};
use crate::metrics::AppendOutcome;

/// The log target of the CEF lines; route it to the audit sink, not to ordinary logs.
pub const AUDIT_TARGET: &str = "audit";
/// The event type of an access record.
pub const STAFF_ACCESS_RECORDED: &str = "StaffAccessRecorded.v1";
/// The event type of an access record of a Nav system (Maskinporten, no NAVident).
pub const SYSTEM_ACCESS_RECORDED: &str = "SystemAccessRecorded.v1";

/// Whether the access was granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    /// Granted: data was (about to be) returned.
    Permit,
    /// Refused (protected or skjermet person, outside the time window, …).
    Deny,
}

/// The caller's trace id for one staff lookup (`sporingsId`): 1 to 100 characters of `A-Z a-z 0-9 - _ . :`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SporingsId(String);

impl SporingsId {
    /// Parses a sporingsId (Nav sends a UUID).
    pub fn parse(s: &str) -> Result<Self, AuditError> {
        let ok = !s.is_empty()
            && s.len() <= 100
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        if ok { Ok(Self(s.to_string())) } else { Err(AuditError::InvalidSporingsId) }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SporingsId {
    type Error = AuditError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SporingsId> for String {
    fn from(value: SporingsId) -> Self {
        value.0
    }
}

/// One staff access to a person's data, as the handler knows it.
#[derive(Clone, Debug)]
pub struct StaffAccess {
    /// Who looked (from the verified token).
    pub navident: NavIdent,
    /// Whose data.
    pub fnr: Fnr,
    /// What was asked for, e.g. `soknader:list` or `soknad:read` (the CEF title).
    pub what: String,
    /// The caller's trace id.
    pub sporings_id: SporingsId,
    /// Granted or refused.
    pub decision: Decision,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The request id (`x-request-id`), if any.
    pub call_id: Option<String>,
}

/// The event's payload, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaffAccessRecorded {
    /// Who looked.
    pub navident: NavIdent,
    /// Whose data.
    pub fnr: Fnr,
    /// What was asked for.
    pub what: String,
    /// When (UTC, milliseconds).
    pub when: DateTime<Utc>,
    /// The caller's trace id.
    pub sporings_id: SporingsId,
    /// Granted or refused.
    pub decision: Decision,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The request id, if any.
    pub call_id: Option<String>,
}

/// One access to a person's data by one of Nav's systems on behalf of an employee it does not name (the Fiks
/// REST staff endpoints, called with Nav's Maskinporten identity).
#[derive(Clone, Debug)]
pub struct SystemAccess {
    /// Which Nav system looked: the organisation number of its verified Maskinporten token.
    pub orgnr: Orgnr,
    /// Whose data.
    pub fnr: Fnr,
    /// What was asked for (the CEF title).
    pub what: String,
    /// The caller's trace id: what joins this record to the employee in Nav's own audit trail.
    pub sporings_id: SporingsId,
    /// Granted or refused.
    pub decision: Decision,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The request id (`x-request-id`), if any.
    pub call_id: Option<String>,
}

/// The payload of `SystemAccessRecorded.v1`, as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemAccessRecorded {
    /// Which Nav system looked.
    pub orgnr: Orgnr,
    /// Whose data.
    pub fnr: Fnr,
    /// What was asked for.
    pub what: String,
    /// When (UTC, milliseconds).
    pub when: DateTime<Utc>,
    /// The caller's trace id.
    pub sporings_id: SporingsId,
    /// Granted or refused.
    pub decision: Decision,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// The request id, if any.
    pub call_id: Option<String>,
}

/// Why an access could not be recorded (the read must then fail).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The sporingsId is empty, too long or has characters outside the allowed set.
    #[error("sporingsId must be 1 to 100 characters of A-Z a-z 0-9 - _ . :")]
    InvalidSporingsId,
    /// The event store refused or failed the append.
    #[error("the access could not be recorded: {0}")]
    Store(#[from] StoreError),
    /// The record could not be serialized.
    #[error("the access record could not be serialized: {0}")]
    Serialize(String),
}

/// Records staff access durably, then as a CEF line.
#[derive(Clone)]
pub struct AuditLog {
    store: DynEventStore,
}

impl AuditLog {
    /// An audit log writing to this store.
    pub fn new(store: DynEventStore) -> Self {
        Self { store }
    }

    /// The stream holding one employee's access records.
    pub fn stream_for(navident: &NavIdent) -> Result<StreamName, StoreError> {
        StreamName::parse(format!("audit-{navident}"))
    }

    /// The stream holding one Nav system's access records.
    pub fn stream_for_system(orgnr: &Orgnr) -> Result<StreamName, StoreError> {
        StreamName::parse(format!("audit-system-{orgnr}"))
    }

    /// Appends the record of a Nav system's access and then logs it to the `audit` target, as [`Self::record`].
    pub async fn record_system(&self, entry: &SystemAccess) -> Result<(), AuditError> {
        let event_id = Uuid::now_v7();
        let record = SystemAccessRecorded {
            orgnr: entry.orgnr.clone(),
            fnr: entry.fnr.clone(),
            what: entry.what.clone(),
            when: Utc::now().trunc_subsecs(3),
            sporings_id: entry.sporings_id.clone(),
            decision: entry.decision,
            method: entry.method.clone(),
            path: entry.path.clone(),
            call_id: entry.call_id.clone(),
        };
        let data = serde_json::to_value(&record).map_err(|e| AuditError::Serialize(e.to_string()))?;
        let stream = Self::stream_for_system(&entry.orgnr)?;
        let event = access_event(SYSTEM_ACCESS_RECORDED, data, event_id, &entry.sporings_id);
        self.append_then_log(&stream, event, &entry.sporings_id, record.decision, system_cef_line(&record, event_id))
            .await
    }

    /// Appends one access record to `stream`, then writes its CEF line to the `audit` target (WARN for a refusal).
    /// An append that fails is logged without personal data and returned: the caller must not answer with data.
    async fn append_then_log(
        &self,
        stream: &StreamName,
        event: NewEvent,
        sporings_id: &SporingsId,
        decision: Decision,
        line: String,
    ) -> Result<(), AuditError> {
        let started = std::time::Instant::now();
        let appended = self.store.append(stream, ExpectedRevision::Any, vec![event]).await;
        let outcome = if appended.is_ok() { AppendOutcome::Ok } else { AppendOutcome::Error };
        crate::metrics::record_append("tilgangslogg", outcome, 1, started.elapsed());
        if let Err(err) = appended {
            tracing::error!(
                target: "auth", stream = %stream, sporings_id = %sporings_id.as_str(), error = %err,
                "an access could not be recorded; the read is refused"
            );
            return Err(err.into());
        }
        match decision {
            Decision::Permit => tracing::info!(target: AUDIT_TARGET, "{line}"),
            Decision::Deny => tracing::warn!(target: AUDIT_TARGET, "{line}"),
        }
        Ok(())
    }

    /// Appends the record and then logs it to the `audit` target. Returns an error if the append failed, in
    /// which case the caller must not return the data.
    pub async fn record(&self, entry: &StaffAccess) -> Result<(), AuditError> {
        let event_id = Uuid::now_v7();
        let record = StaffAccessRecorded {
            navident: entry.navident.clone(),
            fnr: entry.fnr.clone(),
            what: entry.what.clone(),
            when: Utc::now().trunc_subsecs(3),
            sporings_id: entry.sporings_id.clone(),
            decision: entry.decision,
            method: entry.method.clone(),
            path: entry.path.clone(),
            call_id: entry.call_id.clone(),
        };
        let data = serde_json::to_value(&record).map_err(|e| AuditError::Serialize(e.to_string()))?;
        let stream = Self::stream_for(&entry.navident)?;
        let event = access_event(STAFF_ACCESS_RECORDED, data, event_id, &entry.sporings_id);
        self.append_then_log(&stream, event, &entry.sporings_id, record.decision, cef_line(&record, event_id)).await
    }
}

/// An access record as the event appended to its audit stream, carrying the `sporingsId` in its metadata.
fn access_event(event_type: &str, data: serde_json::Value, event_id: Uuid, sporings_id: &SporingsId) -> NewEvent {
    NewEvent::new(event_type, data).with_id(event_id).with_metadata(json!({ "sporingsId": sporings_id.as_str() }))
}

/// The record as one ArcSight CEF line:
/// `CEF:0|fiks-digisos|sporingslogg|1.0|audit:access|<title>|INFO|end=… suid=… duid=… sproc=… dproc=… request=…
/// requestMethod=… flexString1=Permit flexString1Label=Decision cs5=<sporingsId> cs5Label=fiksRequestId`.
/// `sproc` is the request id (or the event id), `dproc` this service; WARN marks a refusal.
pub fn cef_line(record: &StaffAccessRecorded, event_id: Uuid) -> String {
    let line = CefLine {
        suid: record.navident.as_str(),
        fnr: &record.fnr,
        what: &record.what,
        when: record.when,
        sporings_id: &record.sporings_id,
        decision: record.decision,
        method: &record.method,
        path: &record.path,
        call_id: record.call_id.as_deref(),
    };
    line.render(event_id, &[])
}

/// A Nav system's record as one CEF line: as [`cef_line`], with the organisation number as `suid`, followed by
/// `cs3=nav-system cs3Label=callerKind` (no employee is known; `cs5`, the sporingsId, leads to them in Nav's
/// own trail).
pub fn system_cef_line(record: &SystemAccessRecorded, event_id: Uuid) -> String {
    let line = CefLine {
        suid: record.orgnr.as_str(),
        fnr: &record.fnr,
        what: &record.what,
        when: record.when,
        sporings_id: &record.sporings_id,
        decision: record.decision,
        method: &record.method,
        path: &record.path,
        call_id: record.call_id.as_deref(),
    };
    line.render(event_id, &[("cs3", "nav-system"), ("cs3Label", "callerKind")])
}

/// The fields of a CEF line, whoever looked.
struct CefLine<'a> {
    suid: &'a str,
    fnr: &'a Fnr,
    what: &'a str,
    when: DateTime<Utc>,
    sporings_id: &'a SporingsId,
    decision: Decision,
    method: &'a str,
    path: &'a str,
    call_id: Option<&'a str>,
}

impl CefLine<'_> {
    fn render(&self, event_id: Uuid, extra: &[(&str, &str)]) -> String {
        let (severity, decision) = match self.decision {
            Decision::Permit => ("INFO", "Permit"),
            Decision::Deny => ("WARN", "Deny"),
        };
        let call_id = self.call_id.map_or_else(|| event_id.to_string(), str::to_string);
        let line = format!("CEF:0|fiks-digisos|sporingslogg|1.0|audit:access|{}|{severity}|", cef_header(self.what));
        let mut fields = vec![
            ("end", self.when.timestamp_millis().to_string()),
            ("suid", self.suid.to_string()),
            ("duid", self.fnr.expose().to_string()),
            ("sproc", call_id),
            ("dproc", "fiks-digisos".to_string()),
            ("request", self.path.to_string()),
            ("requestMethod", self.method.to_string()),
            ("flexString1", decision.to_string()),
            ("flexString1Label", "Decision".to_string()),
        ];
        fields.extend(extra.iter().map(|(k, v)| (*k, (*v).to_string())));
        fields.push(("cs5", self.sporings_id.as_str().to_string()));
        fields.push(("cs5Label", "fiksRequestId".to_string()));
        extension(line, &fields)
    }
}

fn extension(mut line: String, fields: &[(&str, String)]) -> String {
    for (i, (key, value)) in fields.iter().enumerate() {
        let sep = if i == 0 { "" } else { " " };
        let _ = write!(line, "{sep}{key}={}", cef_extension(value));
    }
    line
}

/// Escapes a CEF header field: backslash and pipe; line breaks become spaces (a header is one line).
pub fn cef_header(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '\r' | '\n' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes a CEF extension value: backslash and equals; line breaks as `\n`/`\r`.
pub fn cef_extension(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '=' => out.push_str("\\="),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn record(decision: Decision, what: &str, path: &str) -> StaffAccessRecorded {
        StaffAccessRecorded {
            navident: NavIdent::parse("Z123456").unwrap(),
            fnr: Fnr::parse("01017012343").unwrap(),
            what: what.into(),
            when: Utc.timestamp_millis_opt(1_700_000_000_123).unwrap(),
            sporings_id: SporingsId::parse("5f0e6c1a-0000-4000-8000-000000000001").unwrap(),
            decision,
            method: "POST".into(),
            path: path.into(),
            call_id: Some("req-1".into()),
        }
    }

    #[test]
    fn a_permit_is_an_info_line_in_the_modia_format() {
        let line =
            cef_line(&record(Decision::Permit, "soknader:list", "/digisos/api/v1/nav/soknader/soknader"), Uuid::nil());
        assert_eq!(
            line,
            "CEF:0|fiks-digisos|sporingslogg|1.0|audit:access|soknader:list|INFO|end=1700000000123 suid=Z123456 \
             duid=01017012343 sproc=req-1 dproc=fiks-digisos request=/digisos/api/v1/nav/soknader/soknader \
             requestMethod=POST flexString1=Permit flexString1Label=Decision \
             cs5=5f0e6c1a-0000-4000-8000-000000000001 cs5Label=fiksRequestId"
        );
    }

    #[test]
    fn a_nav_systems_record_names_its_orgnr_and_kind_in_the_cef_line() {
        let record = SystemAccessRecorded {
            orgnr: Orgnr::parse("889640782").unwrap(),
            fnr: Fnr::parse("01017012343").unwrap(),
            what: "navSaker".into(),
            when: Utc.timestamp_millis_opt(1_700_000_000_123).unwrap(),
            sporings_id: SporingsId::parse("5f0e6c1a-0000-4000-8000-000000000001").unwrap(),
            decision: Decision::Permit,
            method: "POST".into(),
            path: "/digisos/api/v1/nav/soknader/soknader".into(),
            call_id: None,
        };
        let line = system_cef_line(&record, Uuid::nil());
        assert_eq!(
            line,
            "CEF:0|fiks-digisos|sporingslogg|1.0|audit:access|navSaker|INFO|end=1700000000123 suid=889640782 \
             duid=01017012343 sproc=00000000-0000-0000-0000-000000000000 dproc=fiks-digisos \
             request=/digisos/api/v1/nav/soknader/soknader requestMethod=POST flexString1=Permit \
             flexString1Label=Decision cs3=nav-system cs3Label=callerKind \
             cs5=5f0e6c1a-0000-4000-8000-000000000001 cs5Label=fiksRequestId"
        );
    }

    #[test]
    fn a_deny_is_a_warn_line() {
        let line = cef_line(&record(Decision::Deny, "soknad:read", "/x"), Uuid::nil());
        assert!(line.contains("|audit:access|soknad:read|WARN|"), "{line}");
        assert!(line.contains(" flexString1=Deny "), "{line}");
    }

    #[test]
    fn pipes_backslashes_equals_and_newlines_cannot_forge_fields() {
        let line = cef_line(&record(Decision::Permit, "a|b\\c\nd", "/p?x=1 suid=Z999999\nCEF:0|forged"), Uuid::nil());
        assert!(line.contains("|audit:access|a\\|b\\\\c d|INFO|"), "{line}");
        assert!(line.contains("request=/p?x\\=1 suid\\=Z999999\\nCEF:0|forged "), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn sporings_id_allows_uuids_and_refuses_spaces_and_overlong_values() {
        assert!(SporingsId::parse("5f0e6c1a-0000-4000-8000-000000000001").is_ok());
        for bad in ["", "has space", "a=b", &"x".repeat(101)] {
            assert!(SporingsId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_event_payload_uses_camel_case_and_uppercase_decisions() {
        let v = serde_json::to_value(record(Decision::Deny, "w", "/p")).unwrap();
        assert_eq!(v["decision"], "DENY");
        assert_eq!(v["sporingsId"], "5f0e6c1a-0000-4000-8000-000000000001");
        assert_eq!(v["fnr"], "01017012343");
        assert_eq!(v["when"], "2023-11-14T22:13:20.123Z");
    }
}
