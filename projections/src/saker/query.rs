//! Reading the case views. Every query selects the active version of its projection in the same statement, and
//! scopes rows by the caller's identity in SQL (the citizen's fnr, the fagsystem's organisations), never by
//! filtering afterwards.

use serde::de::DeserializeOwned;

use crate::projection::{ReadDb, ReadError};
use crate::sakvisning::{InnsynSak, NavSak, SakState};

/// How far back Nav support may look: cases changed within the last 15 months (DOMAIN.md D).
pub const NAV_VINDU_MANEDER: u32 = 15;

/// The oldest `sist_endret` Nav support may see at `now`, in milliseconds since the epoch.
pub fn nav_vindu_start(now: chrono::DateTime<chrono::Utc>) -> i64 {
    now.checked_sub_months(chrono::Months::new(NAV_VINDU_MANEDER)).unwrap_or(now).timestamp_millis()
}

/// A case in a kommune's case list (what the fagsystem sees of its own cases here; the whole case is in its
/// mailbox and its own system).
#[derive(Debug, Clone, PartialEq, serde::Serialize, async_graphql::SimpleObject)]
#[serde(rename_all = "camelCase")]
pub struct KommuneSak {
    /// The case id (`fiksDigisosId`).
    pub fiks_digisos_id: String,
    /// The kommune the case belongs to (4 digits).
    pub kommunenummer: String,
    /// The case as the citizen sees it on nav.no (the kommune's check of what it has published); null while the
    /// citizen sees nothing of it (a paper case without any status yet).
    pub innsyn: Option<InnsynSak>,
}

/// Nav support's view of a case together with whose case it is, for the audit record written before it is shown.
#[derive(Debug, Clone, PartialEq)]
pub struct NavSakRad {
    /// The citizen. Personal data.
    pub soker_fnr: String,
    /// When the case last changed (milliseconds since the epoch), for the 15-month window.
    pub sist_endret_ms: i64,
    /// The view.
    pub sak: NavSak,
}

/// A case's fold state and whose case it is, for the Fiks REST read API (which builds `DigisosSak` and finds
/// the case's JSON documents from the state, see [`SakState::digisos_sak`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SakTilstand {
    /// The case id.
    pub fiks_digisos_id: String,
    /// The citizen. Personal data.
    pub soker_fnr: String,
    /// When the case last changed (milliseconds since the epoch), for the 15-month window.
    pub sist_endret_ms: i64,
    /// The fold's state.
    pub state: SakState,
}

/// A case whose view changed, for the live-update feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndretSak {
    /// The case id.
    pub fiks_digisos_id: String,
    /// The citizen, when known. Personal data.
    pub soker_fnr: Option<String>,
    /// The feed position of the change (commit, prepare).
    pub posisjon: (i64, i64),
}

const MINE: &str = "
SELECT view FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
   AND soker_fnr = $1 AND view IS NOT NULL
 ORDER BY sist_endret_ms DESC, fiks_digisos_id LIMIT $2";

const EN: &str = "
SELECT view FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
   AND fiks_digisos_id = $1 AND soker_fnr = $2 AND view IS NOT NULL";

const NAV_MINE: &str = "
SELECT soker_fnr, sist_endret_ms, view FROM navsupport_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'navsupport')
   AND soker_fnr = $1 AND sist_endret_ms >= $2 AND view IS NOT NULL
 ORDER BY sist_endret_ms DESC, fiks_digisos_id LIMIT $3";

const NAV_EN: &str = "
SELECT soker_fnr, sist_endret_ms, view FROM navsupport_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'navsupport')
   AND fiks_digisos_id = $1 AND view IS NOT NULL AND soker_fnr IS NOT NULL";

// The fold states for the REST read API. Lists hold the shown cases only (`view IS NOT NULL`: not deleted, and a
// paper case only once the kommune has published a status); one case is read whatever its state, so that a
// deleted case answers 410 rather than 404.
const TILSTANDER: &str = "
SELECT fiks_digisos_id, soker_fnr, sist_endret_ms, state FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
   AND soker_fnr = $1 AND view IS NOT NULL
 ORDER BY sist_endret_ms DESC, fiks_digisos_id LIMIT $2";

const TILSTAND: &str = "
SELECT fiks_digisos_id, soker_fnr, sist_endret_ms, state FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
   AND fiks_digisos_id = $1 AND soker_fnr = $2";

// Several cases by id, each a primary-key probe driven from the id list (as the projection's own load).
const TILSTANDER_MED_ID_PG: &str = "
SELECT s.fiks_digisos_id, s.soker_fnr, s.sist_endret_ms, s.state
  FROM jsonb_array_elements_text($2::jsonb) AS ids (id)
  CROSS JOIN LATERAL (
       SELECT t.fiks_digisos_id, t.soker_fnr, t.sist_endret_ms, t.state FROM innsyn_sak t
        WHERE t.version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
          AND t.fiks_digisos_id = ids.id AND t.soker_fnr = $1 LIMIT 1) AS s";
const TILSTANDER_MED_ID_SQLITE: &str = "
SELECT fiks_digisos_id, soker_fnr, sist_endret_ms, state FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
   AND soker_fnr = $1 AND fiks_digisos_id IN (SELECT value FROM json_each($2))";

const NAV_TILSTANDER: &str = "
SELECT fiks_digisos_id, soker_fnr, sist_endret_ms, state FROM navsupport_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'navsupport')
   AND soker_fnr = $1 AND sist_endret_ms >= $2 AND view IS NOT NULL
 ORDER BY sist_endret_ms DESC, fiks_digisos_id LIMIT $3";

const NAV_TILSTAND: &str = "
SELECT fiks_digisos_id, soker_fnr, sist_endret_ms, state FROM navsupport_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'navsupport')
   AND fiks_digisos_id = $1 AND soker_fnr IS NOT NULL";

// SQLite (no LATERAL): one kommune per statement, read newest first from the index `innsyn_sak_kommune` (only the
// tie-break on the id is sorted, and the sort stops at the page size), merged in Rust. `IN (SELECT value FROM
// json_each(…))` sorted every case of the kommuner for each page.
const KOMMUNE_EN_SQLITE: &str = "
SELECT fiks_digisos_id, kommunenummer, view, opprettet_commit, opprettet_prepare FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn') AND kommunenummer = $1
 ORDER BY opprettet_commit DESC, opprettet_prepare DESC, fiks_digisos_id LIMIT $2";
const KOMMUNE_EN_ETTER_SQLITE: &str = "
SELECT fiks_digisos_id, kommunenummer, view, opprettet_commit, opprettet_prepare FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn') AND kommunenummer = $1
   AND opprettet_commit <= $2 AND (opprettet_commit, opprettet_prepare, fiks_digisos_id) < ($2, $3, $4)
 ORDER BY opprettet_commit DESC, opprettet_prepare DESC, fiks_digisos_id LIMIT $5";
const KOMMUNE_CURSOR_SQLITE: &str = "
SELECT opprettet_commit, opprettet_prepare, fiks_digisos_id FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn') AND fiks_digisos_id = $1";

// PostgreSQL: driven from the list of kommuner, each read newest first from the index `innsyn_sak_kommune` and
// cut at the page size, then merged. `kommunenummer IN (SELECT jsonb_array_elements_text(…))` was planned as a
// sequential scan and sort of every case of the version (the soak found it: 140 ms at 17,000 cases, growing with
// the table).
macro_rules! kommune_select_pg {
    ($cursor_join:literal, $cursor_cond:literal) => {
        concat!(
            "SELECT s.fiks_digisos_id, s.kommunenummer, s.view
               FROM (SELECT DISTINCT jsonb_array_elements_text($1::jsonb) AS nr) k",
            $cursor_join,
            " CROSS JOIN LATERAL (
                 SELECT t.fiks_digisos_id, t.kommunenummer, t.view, t.opprettet_commit, t.opprettet_prepare
                   FROM innsyn_sak t
                  WHERE t.version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
                    AND t.kommunenummer = k.nr",
            $cursor_cond,
            " ORDER BY t.opprettet_commit DESC, t.opprettet_prepare DESC, t.fiks_digisos_id LIMIT $2
               ) s
              ORDER BY s.opprettet_commit DESC, s.opprettet_prepare DESC, s.fiks_digisos_id LIMIT $2"
        )
    };
}

const KOMMUNE_PG: &str = kommune_select_pg!("", "");
// The cursor is the last case of the previous page; the order is by the case's first event, which never changes.
// It is looked up once (an unknown cursor gives an empty page), and `opprettet_commit <= …` lets the index scan
// start at it instead of filtering every newer case.
const KOMMUNE_ETTER_PG: &str = kommune_select_pg!(
    " CROSS JOIN (SELECT a.opprettet_commit AS c, a.opprettet_prepare AS p, a.fiks_digisos_id AS id
                    FROM innsyn_sak a
                   WHERE a.version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
                     AND a.fiks_digisos_id = $3) cur",
    " AND t.opprettet_commit <= cur.c
      AND (t.opprettet_commit, t.opprettet_prepare, t.fiks_digisos_id) < (cur.c, cur.p, cur.id)"
);

const ENDREDE: &str = "
SELECT fiks_digisos_id, soker_fnr, pos_commit, pos_prepare FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
   AND (pos_commit, pos_prepare) > ($1, $2)
 ORDER BY pos_commit, pos_prepare LIMIT $3";

const SISTE: &str = "
SELECT pos_commit, pos_prepare FROM innsyn_sak
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'innsyn')
 ORDER BY pos_commit DESC, pos_prepare DESC LIMIT 1";

fn decode<T: DeserializeOwned>(table: &str, json: &str) -> Result<T, ReadError> {
    serde_json::from_str(json).map_err(|e| ReadError::Corrupt(format!("{table}.view: {e}")))
}

/// The citizen `fnr`'s visible cases, most recently changed first, at most `first`.
pub async fn innsyn_saker_for_soker(db: &ReadDb, fnr: &str, first: u32) -> Result<Vec<InnsynSak>, ReadError> {
    let first = i64::from(first);
    let rows: Vec<(String,)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(MINE).bind(fnr).bind(first).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(MINE).bind(fnr).bind(first).fetch_all(pool).await?,
    };
    rows.iter().map(|(view,)| decode("innsyn_sak", view)).collect()
}

/// Case `id` if it is visible and belongs to citizen `fnr`; `None` both when it does not exist and when it is
/// someone else's (the caller cannot tell the two apart).
pub async fn innsyn_sak(db: &ReadDb, id: &str, fnr: &str) -> Result<Option<InnsynSak>, ReadError> {
    let row: Option<(String,)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(EN).bind(id).bind(fnr).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(EN).bind(id).bind(fnr).fetch_optional(pool).await?,
    };
    row.map(|(view,)| decode("innsyn_sak", &view)).transpose()
}

/// Nav support's view of citizen `fnr`'s cases changed at or after `since_ms`, most recent first, at most `first`.
pub async fn nav_saker_for_soker(
    db: &ReadDb,
    fnr: &str,
    since_ms: i64,
    first: u32,
) -> Result<Vec<NavSakRad>, ReadError> {
    let first = i64::from(first);
    let rows: Vec<(String, i64, String)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(NAV_MINE).bind(fnr).bind(since_ms).bind(first).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(NAV_MINE).bind(fnr).bind(since_ms).bind(first).fetch_all(pool).await?,
    };
    rows.into_iter()
        .map(|(soker_fnr, sist_endret_ms, view)| {
            Ok(NavSakRad { soker_fnr, sist_endret_ms, sak: decode("navsupport_sak", &view)? })
        })
        .collect()
}

/// Nav support's view of case `id`, with its citizen.
pub async fn nav_sak(db: &ReadDb, id: &str) -> Result<Option<NavSakRad>, ReadError> {
    let row: Option<(String, i64, String)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(NAV_EN).bind(id).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(NAV_EN).bind(id).fetch_optional(pool).await?,
    };
    row.map(|(soker_fnr, sist_endret_ms, view)| {
        Ok(NavSakRad { soker_fnr, sist_endret_ms, sak: decode("navsupport_sak", &view)? })
    })
    .transpose()
}

type TilstandRad = (String, String, i64, String);

fn tilstand(
    table: &str,
    (fiks_digisos_id, soker_fnr, sist_endret_ms, state): TilstandRad,
) -> Result<SakTilstand, ReadError> {
    let state = serde_json::from_str(&state).map_err(|e| ReadError::Corrupt(format!("{table}.state: {e}")))?;
    Ok(SakTilstand { fiks_digisos_id, soker_fnr, sist_endret_ms, state })
}

/// The fold states of citizen `fnr`'s shown cases, most recently changed first, at most `first`.
pub async fn innsyn_tilstander(db: &ReadDb, fnr: &str, first: u32) -> Result<Vec<SakTilstand>, ReadError> {
    let first = i64::from(first);
    let rows: Vec<TilstandRad> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(TILSTANDER).bind(fnr).bind(first).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(TILSTANDER).bind(fnr).bind(first).fetch_all(pool).await?,
    };
    rows.into_iter().map(|r| tilstand("innsyn_sak", r)).collect()
}

/// The fold state of case `id` if it belongs to citizen `fnr`, also when it is deleted or not shown; `None` both
/// when it does not exist and when it is someone else's (the caller cannot tell the two apart).
pub async fn innsyn_tilstand(db: &ReadDb, id: &str, fnr: &str) -> Result<Option<SakTilstand>, ReadError> {
    let row: Option<TilstandRad> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(TILSTAND).bind(id).bind(fnr).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(TILSTAND).bind(id).bind(fnr).fetch_optional(pool).await?,
    };
    row.map(|r| tilstand("innsyn_sak", r)).transpose()
}

/// The fold states of those of the cases `ids` that belong to citizen `fnr` (in no particular order; unknown ids
/// and other people's cases are simply absent).
pub async fn innsyn_tilstander_med_id(db: &ReadDb, fnr: &str, ids: &[String]) -> Result<Vec<SakTilstand>, ReadError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::Value::from(ids.to_vec()).to_string();
    let rows: Vec<TilstandRad> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(TILSTANDER_MED_ID_PG).bind(fnr).bind(ids).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(TILSTANDER_MED_ID_SQLITE).bind(fnr).bind(ids).fetch_all(pool).await?,
    };
    rows.into_iter().map(|r| tilstand("innsyn_sak", r)).collect()
}

/// The fold states (Nav support's read model) of citizen `fnr`'s shown cases changed at or after `since_ms`, most
/// recent first, at most `first`.
pub async fn nav_tilstander(db: &ReadDb, fnr: &str, since_ms: i64, first: u32) -> Result<Vec<SakTilstand>, ReadError> {
    let first = i64::from(first);
    let rows: Vec<TilstandRad> = match db {
        ReadDb::Postgres(pool) => {
            sqlx::query_as(NAV_TILSTANDER).bind(fnr).bind(since_ms).bind(first).fetch_all(pool).await?
        }
        ReadDb::Sqlite(pool) => {
            sqlx::query_as(NAV_TILSTANDER).bind(fnr).bind(since_ms).bind(first).fetch_all(pool).await?
        }
    };
    rows.into_iter().map(|r| tilstand("navsupport_sak", r)).collect()
}

/// The fold state (Nav support's read model) of case `id`, with its citizen, also when it is deleted.
pub async fn nav_tilstand(db: &ReadDb, id: &str) -> Result<Option<SakTilstand>, ReadError> {
    let row: Option<TilstandRad> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(NAV_TILSTAND).bind(id).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(NAV_TILSTAND).bind(id).fetch_optional(pool).await?,
    };
    row.map(|r| tilstand("navsupport_sak", r)).transpose()
}

/// The cases of the kommuner `kommunenummer`, newest case first, at most `first`, after case `after` (the last id
/// of the previous page) when given.
pub async fn kommune_saker(
    db: &ReadDb,
    kommunenummer: &[String],
    after: Option<&str>,
    first: u32,
) -> Result<Vec<KommuneSak>, ReadError> {
    let orgs = serde_json::Value::from(kommunenummer.to_vec()).to_string();
    let first = i64::from(first);
    let rows: Vec<(String, String, Option<String>)> = match (db, after) {
        (ReadDb::Postgres(pool), None) => sqlx::query_as(KOMMUNE_PG).bind(orgs).bind(first).fetch_all(pool).await?,
        (ReadDb::Postgres(pool), Some(after)) => {
            sqlx::query_as(KOMMUNE_ETTER_PG).bind(orgs).bind(first).bind(after).fetch_all(pool).await?
        }
        (ReadDb::Sqlite(pool), after) => {
            let cursor: Option<(i64, i64, String)> = match after {
                None => None,
                Some(after) => match sqlx::query_as(KOMMUNE_CURSOR_SQLITE).bind(after).fetch_optional(pool).await? {
                    Some(cursor) => Some(cursor),
                    // An unknown cursor: an empty page, as on PostgreSQL.
                    None => return Ok(Vec::new()),
                },
            };
            let mut numbers: Vec<&String> = kommunenummer.iter().collect();
            numbers.sort();
            numbers.dedup();
            let mut merged: Vec<(String, String, Option<String>, i64, i64)> = Vec::new();
            for nr in numbers {
                let part: Vec<(String, String, Option<String>, i64, i64)> = match &cursor {
                    None => sqlx::query_as(KOMMUNE_EN_SQLITE).bind(nr).bind(first).fetch_all(pool).await?,
                    Some((c, p, id)) => {
                        let query = sqlx::query_as(KOMMUNE_EN_ETTER_SQLITE).bind(nr).bind(c).bind(p).bind(id);
                        query.bind(first).fetch_all(pool).await?
                    }
                };
                merged.extend(part);
            }
            // The order of the SQL: newest first, then by id (SQLite compares text bytewise, as `str` does).
            merged.sort_by(|a, b| (b.3, b.4).cmp(&(a.3, a.4)).then_with(|| a.0.cmp(&b.0)));
            merged.truncate(usize::try_from(first).unwrap_or(usize::MAX));
            merged.into_iter().map(|(id, nr, view, _, _)| (id, nr, view)).collect()
        }
    };
    rows.into_iter()
        .map(|(fiks_digisos_id, kommunenummer, view)| {
            let innsyn = view.map(|v| decode("innsyn_sak", &v)).transpose()?;
            Ok(KommuneSak { fiks_digisos_id, kommunenummer, innsyn })
        })
        .collect()
}

/// Up to `limit` cases whose citizen view changed after feed position `after`, in feed order.
pub async fn endrede_saker(db: &ReadDb, after: (i64, i64), limit: u32) -> Result<Vec<EndretSak>, ReadError> {
    let limit = i64::from(limit);
    let rows: Vec<(String, Option<String>, i64, i64)> = match db {
        ReadDb::Postgres(pool) => {
            sqlx::query_as(ENDREDE).bind(after.0).bind(after.1).bind(limit).fetch_all(pool).await?
        }
        ReadDb::Sqlite(pool) => sqlx::query_as(ENDREDE).bind(after.0).bind(after.1).bind(limit).fetch_all(pool).await?,
    };
    Ok(rows
        .into_iter()
        .map(|(fiks_digisos_id, soker_fnr, c, p)| EndretSak { fiks_digisos_id, soker_fnr, posisjon: (c, p) })
        .collect())
}

/// The feed position of the latest change to any citizen view, `(0, 0)` when there is none.
pub async fn siste_endring(db: &ReadDb) -> Result<(i64, i64), ReadError> {
    let row: Option<(i64, i64)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(SISTE).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SISTE).fetch_optional(pool).await?,
    };
    Ok(row.unwrap_or((0, 0)))
}
