//! Writing the case views: the states of a batch's cases loaded in one query, one upsert per case.
//!
//! The two tables have the same columns, so their statements are written once as templates (`concat!` keeps
//! them `'static`, which sqlx 0.9 requires). Loading by a list of ids needs each backend's JSON-array function;
//! every other statement is the same text on both.

use serde_json::Value;

use super::{Visning, pos_i64};
use crate::envelope::EventEnvelope;
use crate::projection::ApplyError;
use crate::sakvisning::SakState;
use crate::sql::{Arg, Conn};

/// The statements of one of the two tables.
#[derive(Debug, Clone, Copy)]
pub(super) struct Table {
    load_pg: &'static str,
    load_sqlite: &'static str,
    upsert: &'static str,
    purge: &'static str,
}

macro_rules! table {
    ($t:literal) => {
        Table {
            // Driven from the id list: one primary-key probe per id (the inner query matches the whole key, so it
            // is planned as an index lookup whatever the statistics say). `IN (SELECT jsonb_array_elements_text(…))` let the planner scan the version being rebuilt
            // for every batch once its statistics were stale, and a rebuild became quadratic.
            load_pg: concat!(
                "SELECT s.fiks_digisos_id, s.state, s.revision, s.opprettet_commit, s.opprettet_prepare
                   FROM jsonb_array_elements_text($2::jsonb) AS ids (id)
                   CROSS JOIN LATERAL (SELECT * FROM ",
                $t,
                " t WHERE t.version = $1 AND t.fiks_digisos_id = ids.id LIMIT 1) AS s"
            ),
            load_sqlite: concat!(
                "SELECT fiks_digisos_id, state, revision, opprettet_commit, opprettet_prepare FROM ",
                $t,
                " WHERE version = $1 AND fiks_digisos_id IN (SELECT value FROM json_each($2))"
            ),
            upsert: concat!(
                "INSERT INTO ",
                $t,
                " (version, fiks_digisos_id, soker_fnr, kommunenummer, fiks_org_id, sist_endret_ms, revision,
                   opprettet_commit, opprettet_prepare, pos_commit, pos_prepare, state, view)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                 ON CONFLICT (version, fiks_digisos_id) DO UPDATE SET
                   soker_fnr = excluded.soker_fnr, kommunenummer = excluded.kommunenummer,
                   fiks_org_id = excluded.fiks_org_id, sist_endret_ms = excluded.sist_endret_ms,
                   revision = excluded.revision, pos_commit = excluded.pos_commit,
                   pos_prepare = excluded.pos_prepare, state = excluded.state, view = excluded.view"
            ),
            purge: concat!(
                "DELETE FROM ",
                $t,
                " WHERE (version, fiks_digisos_id) IN (SELECT version, fiks_digisos_id FROM ",
                $t,
                " WHERE version = $1 LIMIT $2)"
            ),
        }
    };
}

const INNSYN: Table = table!("innsyn_sak");
const NAVSUPPORT: Table = table!("navsupport_sak");

impl Table {
    pub(super) fn of(visning: Visning) -> Self {
        match visning {
            Visning::Innsyn => INNSYN,
            Visning::Navsupport => NAVSUPPORT,
        }
    }
}

/// A case's stored state.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct Stored {
    fiks_digisos_id: String,
    pub(super) state: String,
    pub(super) revision: i64,
    pub(super) opprettet_commit: i64,
    pub(super) opprettet_prepare: i64,
}

/// The stored states of the cases `ids`, by id.
pub(super) async fn load(
    conn: &mut Conn<'_>,
    table: Table,
    version: i32,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Stored>, ApplyError> {
    let ids = Value::from(ids.to_vec()).to_string();
    let args = [Arg::Int(i64::from(version)), Arg::Text(ids)];
    let rows: Vec<Stored> = match conn {
        Conn::Postgres(_) => conn.fetch_all(table.load_pg, &args).await?,
        Conn::Sqlite(_) => conn.fetch_all(table.load_sqlite, &args).await?,
    };
    Ok(rows.into_iter().map(|row| (row.fiks_digisos_id.clone(), row)).collect())
}

/// One case's row after a batch.
#[derive(Debug)]
pub(super) struct Row {
    args: Vec<Arg>,
}

impl Row {
    /// The row of case `id` with `state` after `last` (the last event applied); `opprettet` is the position of the
    /// case's first event.
    pub(super) fn new(
        id: &str,
        state: &SakState,
        visning: Visning,
        last: &EventEnvelope,
        opprettet: (i64, i64),
    ) -> Result<Self, ApplyError> {
        let encode = |what: &str, r: serde_json::Result<String>| {
            r.map_err(|e| ApplyError::event(last, format!("the {what} does not encode: {e}")))
        };
        let view = match visning {
            Visning::Innsyn => state.innsyn().map(|v| encode("view", serde_json::to_string(&v))).transpose()?,
            Visning::Navsupport => state.nav().map(|v| encode("view", serde_json::to_string(&v))).transpose()?,
        };
        let identitet = state.identitet();
        let sist_endret_ms = state
            .sist_endret()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map_or(0, |t| t.timestamp_millis());
        let args = vec![
            Arg::Text(id.to_owned()),
            Arg::OptText(identitet.map(|i| i.soker_fnr.to_string())),
            // A deleted case leaves the kommune's case list (the list selects by kommunenummer).
            Arg::OptText(identitet.filter(|_| !state.slettet()).map(|i| i.kommunenummer.to_string())),
            Arg::OptText(identitet.map(|i| i.fiks_org_id.to_string())),
            Arg::Int(sist_endret_ms),
            Arg::Int(last.revision_i64()),
            Arg::Int(opprettet.0),
            Arg::Int(opprettet.1),
            Arg::Int(pos_i64(last.position.commit)),
            Arg::Int(pos_i64(last.position.prepare)),
            Arg::Text(encode("state", serde_json::to_string(state))?),
            Arg::OptText(view),
        ];
        Ok(Self { args })
    }
}

/// Writes `rows` into version `version`.
pub(super) async fn upsert(conn: &mut Conn<'_>, table: Table, version: i32, rows: &[Row]) -> Result<(), ApplyError> {
    for row in rows {
        let mut args = Vec::with_capacity(row.args.len() + 1);
        args.push(Arg::Int(i64::from(version)));
        args.extend(row.args.iter().cloned());
        conn.execute(table.upsert, &args).await?;
    }
    Ok(())
}

/// Deletes up to `limit` rows of version `version`.
pub(super) async fn purge(conn: &mut Conn<'_>, table: Table, version: i32, limit: u32) -> Result<u64, ApplyError> {
    conn.execute(table.purge, &[Arg::Int(i64::from(version)), Arg::Int(i64::from(limit))]).await
}
