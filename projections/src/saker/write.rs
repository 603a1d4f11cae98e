//! Writing the case views: the states of a batch's cases loaded in one query, and written in one statement on
//! PostgreSQL (the batch's rows as arrays, `unnest`ed: a round trip per case made a rebuild slow), one upsert per
//! case on SQLite (in-process: a statement costs no round trip there).
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
    upsert_many_pg: &'static str,
    purge: &'static str,
}

macro_rules! table {
    ($t:literal) => {
        Table {
            // Driven from the id list: one primary-key probe per id. Two traps, both making a rebuild quadratic
            // once the table had statistics from before the rebuild began (autovacuum's ANALYZE; here the scale
            // benchmark's): `IN (SELECT jsonb_array_elements_text(…))` scanned the version being rebuilt for every
            // batch, and with the version as a plain parameter the planner, believing that version empty, chose any
            // index starting with `version` (`innsyn_sak_pos`) and filtered every rebuilt row by id (16 ms per id
            // at 33,000 rows). As an init-plan value the version is unknown when planning, so only the primary key
            // looks cheap.
            load_pg: concat!(
                "SELECT s.fiks_digisos_id, s.state, s.revision, s.opprettet_commit, s.opprettet_prepare
                   FROM jsonb_array_elements_text($2::jsonb) AS ids (id)
                   CROSS JOIN LATERAL (SELECT * FROM ",
                $t,
                " t WHERE t.version = (SELECT $1::integer) AND t.fiks_digisos_id = ids.id LIMIT 1) AS s"
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
            // The same upsert for a whole batch, its columns as arrays (one element per case; the batch holds each
            // case once, so no row meets itself in ON CONFLICT).
            upsert_many_pg: concat!(
                "INSERT INTO ",
                $t,
                " (version, fiks_digisos_id, soker_fnr, kommunenummer, fiks_org_id, sist_endret_ms, revision,
                   opprettet_commit, opprettet_prepare, pos_commit, pos_prepare, state, view)
                 SELECT $1, r.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[],
                                             $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::text[],
                                             $13::text[]) AS r
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
    id: String,
    soker_fnr: Option<String>,
    kommunenummer: Option<String>,
    fiks_org_id: Option<String>,
    /// `sist_endret_ms`, `revision`, `opprettet_commit`, `opprettet_prepare`, `pos_commit`, `pos_prepare`.
    numbers: [i64; 6],
    state: String,
    view: Option<String>,
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
        Ok(Self {
            id: id.to_owned(),
            soker_fnr: identitet.map(|i| i.soker_fnr.to_string()),
            // A deleted case leaves the kommune's case list (the list selects by kommunenummer).
            kommunenummer: identitet.filter(|_| !state.slettet()).map(|i| i.kommunenummer.to_string()),
            fiks_org_id: identitet.map(|i| i.fiks_org_id.to_string()),
            numbers: [
                sist_endret_ms,
                last.revision_i64(),
                opprettet.0,
                opprettet.1,
                pos_i64(last.position.commit),
                pos_i64(last.position.prepare),
            ],
            state: encode("state", serde_json::to_string(state))?,
            view,
        })
    }

    /// The upsert's arguments, in its order.
    fn args(&self, version: i32) -> Vec<Arg> {
        let mut args = vec![
            Arg::Int(i64::from(version)),
            Arg::Text(self.id.clone()),
            Arg::OptText(self.soker_fnr.clone()),
            Arg::OptText(self.kommunenummer.clone()),
            Arg::OptText(self.fiks_org_id.clone()),
        ];
        args.extend(self.numbers.iter().map(|n| Arg::Int(*n)));
        args.push(Arg::Text(self.state.clone()));
        args.push(Arg::OptText(self.view.clone()));
        args
    }
}

/// Writes `rows` into version `version`.
pub(super) async fn upsert(conn: &mut Conn<'_>, table: Table, version: i32, rows: &[Row]) -> Result<(), ApplyError> {
    if rows.is_empty() {
        return Ok(());
    }
    if let Conn::Postgres(pg) = conn {
        let texts = |f: fn(&Row) -> Option<&String>| rows.iter().map(|r| f(r).cloned()).collect::<Vec<_>>();
        let mut query = sqlx::query(table.upsert_many_pg)
            .bind(version)
            .bind(rows.iter().map(|r| r.id.clone()).collect::<Vec<_>>())
            .bind(texts(|r| r.soker_fnr.as_ref()))
            .bind(texts(|r| r.kommunenummer.as_ref()))
            .bind(texts(|r| r.fiks_org_id.as_ref()));
        for i in 0..6 {
            query = query.bind(rows.iter().map(|r| r.numbers[i]).collect::<Vec<_>>());
        }
        query
            .bind(rows.iter().map(|r| r.state.clone()).collect::<Vec<_>>())
            .bind(texts(|r| r.view.as_ref()))
            .execute(&mut **pg)
            .await?;
        return Ok(());
    }
    for row in rows {
        conn.execute(table.upsert, &row.args(version)).await?;
    }
    Ok(())
}

/// Deletes up to `limit` rows of version `version`.
pub(super) async fn purge(conn: &mut Conn<'_>, table: Table, version: i32, limit: u32) -> Result<u64, ApplyError> {
    conn.execute(table.purge, &[Arg::Int(i64::from(version)), Arg::Int(i64::from(limit))]).await
}
