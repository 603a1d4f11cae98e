//! Read model `innsynslogg`: for each citizen, every lookup of their data by Nav staff, from the audit records
//! (`StaffAccessRecorded.v1` on the `audit-<NAVident>` streams, written before any staff read returns data).
//!
//! The citizen sees who looked (the employee's NAV ident), when, what was looked at, and whether access was
//! granted. A refused lookup is shown too: it is an attempt to see the citizen's data, which they have a right
//! to know about.
//!
//! Lookups through the Fiks REST staff endpoints come with Nav's system identity and no NAVident
//! (`SystemAccessRecorded.v1` on the `audit-system-<orgnr>` streams); they are shown with `Nav-system <orgnr>`
//! in place of the ident, since the hub does not know which employee it was (Nav's own trail does, under the
//! same `sporingsId`).

use async_trait::async_trait;
use serde::Deserialize;

use crate::envelope::EventEnvelope;
use crate::projection::{ApplyError, Projection, ReadDb, ReadError, Tx};
use crate::sql::{Arg, Conn};

/// The projection's name.
pub const NAME: &str = "innsynslogg";
/// The event type it reads.
pub const STAFF_ACCESS_RECORDED: &str = "StaffAccessRecorded.v1";
/// The event type of a Nav system's lookup, which it reads too.
pub const SYSTEM_ACCESS_RECORDED: &str = "SystemAccessRecorded.v1";
const AUDIT_STREAM_PREFIX: &str = "audit-";

/// The fields of an access record this model needs (the record is written by `fiks_digisos::auth::audit`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    /// Absent in a system record.
    #[serde(default)]
    navident: Option<String>,
    /// A system record's Nav organisation number.
    #[serde(default)]
    orgnr: Option<String>,
    fnr: String,
    what: String,
    when: chrono::DateTime<chrono::Utc>,
    decision: String,
}

/// One staff lookup of the citizen's data.
#[derive(Debug, Clone, PartialEq, serde::Serialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct InnsynsloggRad {
    /// When the lookup happened (UTC, ISO 8601 with milliseconds).
    pub tidspunkt: String,
    /// The NAV ident of the employee who looked (e.g. `Z990001`).
    pub nav_ident: String,
    /// The unit the employee works for. Nav support (Nav Kontaktsenter) is the only staff with access here.
    pub enhet: String,
    /// What was looked at, in words (e.g. "Listen over sakene dine", "Sak 3fa85f64-…").
    pub hva: String,
    /// Whether the employee was given access; `false` means the lookup was refused and nothing was shown.
    pub innsyn_gitt: bool,
}

/// The `innsynslogg` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct InnsynsloggProjection;

const INSERT: &str = "
INSERT INTO innsynslogg (version, event_id, soker_fnr, tidspunkt, navident, hva, beslutning, pos_commit, pos_prepare)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (version, event_id) DO NOTHING";

const PURGE: &str = "
DELETE FROM innsynslogg WHERE (version, event_id) IN
  (SELECT version, event_id FROM innsynslogg WHERE version = $1 LIMIT $2)";

const SELECT: &str = "
SELECT tidspunkt, navident, hva, beslutning FROM innsynslogg
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsynslogg') AND soker_fnr = $1
 ORDER BY pos_commit DESC, pos_prepare DESC LIMIT $2";

#[async_trait]
impl Projection for InnsynsloggProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    /// 2: system lookups (`SystemAccessRecorded.v1`) are shown too; a rebuild picks up any that an older
    /// instance skipped.
    fn version(&self) -> u32 {
        2
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        let mut conn = Conn::from(tx);
        for event in batch {
            let kjent = event.event_type == STAFF_ACCESS_RECORDED || event.event_type == SYSTEM_ACCESS_RECORDED;
            if !event.stream.starts_with(AUDIT_STREAM_PREFIX) || !kjent {
                continue;
            }
            let record: Record = serde_json::from_value(event.data.clone())
                .map_err(|e| ApplyError::event(event, format!("access record does not decode: {e}")))?;
            let hvem = match (record.navident, record.orgnr) {
                (Some(navident), _) => navident,
                (None, Some(orgnr)) => format!("Nav-system {orgnr}"),
                (None, None) => return Err(ApplyError::event(event, "access record names neither navident nor orgnr")),
            };
            let args = [
                Arg::Int(i64::from(model_version)),
                Arg::Text(event.event_id.to_string()),
                Arg::Text(record.fnr),
                Arg::Text(record.when.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                Arg::Text(hvem),
                Arg::Text(record.what),
                Arg::Text(record.decision),
                Arg::Int(i64::try_from(event.position.commit).unwrap_or(i64::MAX)),
                Arg::Int(i64::try_from(event.position.prepare).unwrap_or(i64::MAX)),
            ];
            conn.execute(INSERT, &args).await?;
        }
        Ok(())
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        Conn::from(tx).execute(PURGE, &[Arg::Int(i64::from(model_version)), Arg::Int(i64::from(limit))]).await
    }
}

/// The staff lookups of citizen `fnr`'s data, newest first, at most `first`.
pub async fn innsynslogg(db: &ReadDb, fnr: &str, first: u32) -> Result<Vec<InnsynsloggRad>, ReadError> {
    let first = i64::from(first);
    let rows: Vec<(String, String, String, String)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(SELECT).bind(fnr).bind(first).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SELECT).bind(fnr).bind(first).fetch_all(pool).await?,
    };
    Ok(rows
        .into_iter()
        .map(|(tidspunkt, nav_ident, hva, beslutning)| InnsynsloggRad {
            tidspunkt,
            nav_ident,
            enhet: "Nav Kontaktsenter".to_owned(),
            hva,
            innsyn_gitt: beslutning == "PERMIT",
        })
        .collect())
}
