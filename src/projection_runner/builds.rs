//! The runner's bookkeeping: which versions of a projection's read model exist, their checkpoints and
//! failures, which version readers use, and the moves between them (bootstrap, rebuild request, switch, forget).
//!
//! Tables `projection_state` (one row per projection: `active_version`) and `projection_builds` (one row per
//! version: status, checkpoint, failure), see `migrations/*/0100_projections.sql`. Each change that involves more
//! than one row runs in one transaction that first locks the projection's state row (PostgreSQL `FOR UPDATE`;
//! SQLite's `BEGIN IMMEDIATE` already excludes other writers), so a rebuild request and a switch never interleave.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::sql::{Arg, Conn, Pooled, Sql, Txn};
use crate::eventstore::Position;
use crate::eventstore::open::Database;

/// Where a version of a read model stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BuildStatus {
    /// Being built from position zero beside the active version; readers do not see it yet.
    Building,
    /// The version readers use.
    Active,
    /// Replaced; its rows are being deleted.
    Retired,
}

/// An event a projection could not apply (the runner retries it with back-off and never skips it).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// The offending event's position, when known.
    pub position: Option<Position>,
    /// What went wrong.
    pub message: String,
    /// How many attempts have failed at this position.
    pub attempts: u32,
    /// When the first of those attempts failed.
    pub since: Option<DateTime<Utc>>,
}

/// One version of a projection's read model.
#[derive(Clone, Debug)]
pub(super) struct Build {
    pub version: i32,
    pub logic_version: i32,
    pub status: BuildStatus,
    pub checkpoint: Position,
    pub applied: i64,
    pub failure: Option<Failure>,
}

type BuildRow = (i32, i32, String, i64, i64, i64, Option<String>, Option<i64>, Option<i64>, i32, Option<DateTime<Utc>>);

const LOAD: Sql = Sql {
    pg: "SELECT version, logic_version, status, commit_pos, prepare_pos, applied, error, error_commit, error_prepare,
                error_attempts, error_since
           FROM projection_builds WHERE name = $1 ORDER BY version",
    sqlite: "SELECT version, logic_version, status, commit_pos, prepare_pos, applied, error, error_commit,
                    error_prepare, error_attempts, error_since
               FROM projection_builds WHERE name = ?1 ORDER BY version",
};

/// Every version of projection `name`, oldest first.
pub(super) async fn load(db: &Database, name: &str) -> Result<Vec<Build>, sqlx::Error> {
    let mut conn = Pooled::acquire(db).await?;
    load_in(&mut conn.conn(), name).await
}

async fn load_in(conn: &mut Conn<'_>, name: &str) -> Result<Vec<Build>, sqlx::Error> {
    let rows: Vec<BuildRow> = conn.fetch_all(LOAD, &[Arg::Text(name)]).await?;
    rows.into_iter().map(decode_build).collect()
}

fn decode_build(row: BuildRow) -> Result<Build, sqlx::Error> {
    let (version, logic_version, status, commit, prepare, applied, error, error_commit, error_prepare, attempts, since) =
        row;
    let status = match status.as_str() {
        "building" => BuildStatus::Building,
        "active" => BuildStatus::Active,
        "retired" => BuildStatus::Retired,
        other => return Err(sqlx::Error::Decode(format!("unknown projection build status {other:?}").into())),
    };
    let failure = error.map(|message| Failure {
        position: error_commit.zip(error_prepare).and_then(|(c, p)| position(c, p).ok()),
        message,
        attempts: u32::try_from(attempts).unwrap_or(0),
        since,
    });
    Ok(Build { version, logic_version, status, checkpoint: position(commit, prepare)?, applied, failure })
}

/// A position read from the database.
pub(super) fn position(commit: i64, prepare: i64) -> Result<Position, sqlx::Error> {
    match (u64::try_from(commit), u64::try_from(prepare)) {
        (Ok(c), Ok(p)) => Ok(Position::new(c, p)),
        _ => Err(sqlx::Error::Decode(format!("negative checkpoint {commit}-{prepare}").into())),
    }
}

/// A position as the database stores it (feed positions come from `bigint` columns, so they always fit).
pub(super) fn columns(p: Position) -> (i64, i64) {
    (i64::try_from(p.commit).unwrap_or(i64::MAX), i64::try_from(p.prepare).unwrap_or(i64::MAX))
}

const ACTIVE_CHECKPOINT: Sql = Sql {
    pg: "SELECT b.commit_pos, b.prepare_pos FROM projection_state s
           JOIN projection_builds b ON b.name = s.name AND b.version = s.active_version
          WHERE s.name = $1",
    sqlite: "SELECT b.commit_pos, b.prepare_pos FROM projection_state s
               JOIN projection_builds b ON b.name = s.name AND b.version = s.active_version
              WHERE s.name = ?1",
};

/// The checkpoint of the version readers use, or `None` before the projection first ran.
pub(super) async fn active_checkpoint(db: &Database, name: &str) -> Result<Option<Position>, sqlx::Error> {
    let mut conn = Pooled::acquire(db).await?;
    let row: Option<(i64, i64)> = conn.conn().fetch_optional(ACTIVE_CHECKPOINT, &[Arg::Text(name)]).await?;
    row.map(|(c, p)| position(c, p)).transpose()
}

const STATE: Sql = Sql {
    pg: "SELECT active_version, leader FROM projection_state WHERE name = $1",
    sqlite: "SELECT active_version, leader FROM projection_state WHERE name = ?1",
};

const LOCK_STATE: Sql = Sql {
    pg: "SELECT active_version, leader FROM projection_state WHERE name = $1 FOR UPDATE",
    sqlite: "SELECT active_version, leader FROM projection_state WHERE name = ?1",
};

/// The active version and the instance that last took the lead, or `None` before the projection first ran.
pub(super) async fn state(db: &Database, name: &str) -> Result<Option<(i32, Option<String>)>, sqlx::Error> {
    let mut conn = Pooled::acquire(db).await?;
    conn.conn().fetch_optional(STATE, &[Arg::Text(name)]).await
}

const INSERT_STATE: Sql = Sql {
    pg: "INSERT INTO projection_state (name, active_version) VALUES ($1, 1) ON CONFLICT (name) DO NOTHING",
    sqlite: "INSERT INTO projection_state (name, active_version) VALUES (?1, 1) ON CONFLICT (name) DO NOTHING",
};

const INSERT_FIRST_BUILD: Sql = Sql {
    pg: "INSERT INTO projection_builds (name, version, logic_version, status)
         SELECT $1, 1, $2, 'active' WHERE NOT EXISTS (SELECT 1 FROM projection_builds WHERE name = $1)
         ON CONFLICT DO NOTHING",
    sqlite: "INSERT INTO projection_builds (name, version, logic_version, status)
             SELECT ?1, 1, ?2, 'active' WHERE NOT EXISTS (SELECT 1 FROM projection_builds WHERE name = ?1)
             ON CONFLICT DO NOTHING",
};

const INSERT_BUILD: Sql = Sql {
    pg: "INSERT INTO projection_builds (name, version, logic_version, status) VALUES ($1, $2, $3, 'building')",
    sqlite: "INSERT INTO projection_builds (name, version, logic_version, status) VALUES (?1, ?2, ?3, 'building')",
};

const SET_STATUS: Sql = Sql {
    pg: "UPDATE projection_builds SET status = $3, updated_at = $4 WHERE name = $1 AND version = $2",
    sqlite: "UPDATE projection_builds SET status = ?3, updated_at = ?4 WHERE name = ?1 AND version = ?2",
};

/// Makes sure projection `name` has its state row and a first (active) version, and starts a rebuild when the
/// active version was built by older logic than `logic_version`. Returns the version being rebuilt, if any.
pub(super) async fn ensure(db: &Database, name: &str, logic_version: u32) -> Result<Option<i32>, sqlx::Error> {
    let mut txn = Txn::begin(db).await?;
    let rebuilding = request_in(&mut txn.conn(), name, logic_version, false).await?;
    txn.commit().await?;
    Ok(rebuilding)
}

/// Starts a rebuild of projection `name` (the next version, built from position zero beside the active one).
/// When one is already under way with logic at least `logic_version`, returns that one instead.
pub(super) async fn request_rebuild(db: &Database, name: &str, logic_version: u32) -> Result<i32, sqlx::Error> {
    let mut txn = Txn::begin(db).await?;
    let version = request_in(&mut txn.conn(), name, logic_version, true).await?;
    txn.commit().await?;
    version.ok_or_else(|| sqlx::Error::Protocol("a forced rebuild request created no version".into()))
}

async fn request_in(conn: &mut Conn<'_>, name: &str, logic: u32, force: bool) -> Result<Option<i32>, sqlx::Error> {
    let logic = i32::try_from(logic).unwrap_or(i32::MAX);
    conn.execute(INSERT_STATE, &[Arg::Text(name)]).await?;
    conn.fetch_optional::<(i32, Option<String>)>(LOCK_STATE, &[Arg::Text(name)]).await?;
    conn.execute(INSERT_FIRST_BUILD, &[Arg::Text(name), Arg::I32(logic)]).await?;
    let builds = load_in(conn, name).await?;
    let now = Utc::now();
    if let Some(building) = builds.iter().find(|b| b.status == BuildStatus::Building) {
        if building.logic_version >= logic {
            return Ok(Some(building.version));
        }
        // Built by older logic than ours: give it up and start over.
        let args = [Arg::Text(name), Arg::I32(building.version), Arg::Text("retired"), Arg::Time(now)];
        conn.execute(SET_STATUS, &args).await?;
    }
    let active_logic = builds.iter().find(|b| b.status == BuildStatus::Active).map_or(0, |b| b.logic_version);
    if !force && active_logic >= logic {
        return Ok(None);
    }
    let next = builds.iter().map(|b| b.version).max().unwrap_or(0) + 1;
    conn.execute(INSERT_BUILD, &[Arg::Text(name), Arg::I32(next), Arg::I32(logic)]).await?;
    Ok(Some(next))
}

const ADVANCE: Sql = Sql {
    pg: "UPDATE projection_builds SET commit_pos = $3, prepare_pos = $4, applied = applied + $5, updated_at = $8,
            error = CASE WHEN error_commit IS NULL OR error_commit < $3 OR (error_commit = $3 AND error_prepare <= $4)
                         THEN NULL ELSE error END,
            error_attempts = CASE WHEN error_commit IS NULL OR error_commit < $3
                                       OR (error_commit = $3 AND error_prepare <= $4) THEN 0 ELSE error_attempts END,
            error_since = CASE WHEN error_commit IS NULL OR error_commit < $3
                                    OR (error_commit = $3 AND error_prepare <= $4) THEN NULL ELSE error_since END,
            error_commit = CASE WHEN error_commit IS NULL OR error_commit < $3
                                     OR (error_commit = $3 AND error_prepare <= $4) THEN NULL ELSE error_commit END,
            error_prepare = CASE WHEN error_commit IS NULL OR error_commit < $3
                                      OR (error_commit = $3 AND error_prepare <= $4) THEN NULL ELSE error_prepare END
          WHERE name = $1 AND version = $2 AND commit_pos = $6 AND prepare_pos = $7 AND status <> 'retired'",
    sqlite: "UPDATE projection_builds SET commit_pos = ?3, prepare_pos = ?4, applied = applied + ?5, updated_at = ?8,
            error = CASE WHEN error_commit IS NULL OR error_commit < ?3 OR (error_commit = ?3 AND error_prepare <= ?4)
                         THEN NULL ELSE error END,
            error_attempts = CASE WHEN error_commit IS NULL OR error_commit < ?3
                                       OR (error_commit = ?3 AND error_prepare <= ?4) THEN 0 ELSE error_attempts END,
            error_since = CASE WHEN error_commit IS NULL OR error_commit < ?3
                                    OR (error_commit = ?3 AND error_prepare <= ?4) THEN NULL ELSE error_since END,
            error_commit = CASE WHEN error_commit IS NULL OR error_commit < ?3
                                     OR (error_commit = ?3 AND error_prepare <= ?4) THEN NULL ELSE error_commit END,
            error_prepare = CASE WHEN error_commit IS NULL OR error_commit < ?3
                                      OR (error_commit = ?3 AND error_prepare <= ?4) THEN NULL ELSE error_prepare END
          WHERE name = ?1 AND version = ?2 AND commit_pos = ?6 AND prepare_pos = ?7 AND status <> 'retired'",
};

/// Moves the checkpoint of version `version` from `from` to `to` (compare-and-set), counting `applied` events
/// and clearing a failure the new checkpoint has passed. `false` when the checkpoint was not at `from` (another
/// instance moved it, or the version was retired): the caller must roll back.
pub(super) async fn advance(
    conn: &mut Conn<'_>,
    name: &str,
    version: i32,
    from: Position,
    to: Position,
    applied: usize,
) -> Result<bool, sqlx::Error> {
    let ((from_c, from_p), (to_c, to_p)) = (columns(from), columns(to));
    let applied = i64::try_from(applied).unwrap_or(i64::MAX);
    let args = [
        Arg::Text(name),
        Arg::I32(version),
        Arg::I64(to_c),
        Arg::I64(to_p),
        Arg::I64(applied),
        Arg::I64(from_c),
        Arg::I64(from_p),
        Arg::Time(Utc::now()),
    ];
    Ok(conn.execute(ADVANCE, &args).await? == 1)
}

const RECORD_FAILURE: Sql = Sql {
    pg: "UPDATE projection_builds SET error = $3, error_commit = $4, error_prepare = $5, updated_at = $6,
            error_attempts = CASE WHEN error IS NOT NULL AND error_commit IS NOT DISTINCT FROM $4
                                       AND error_prepare IS NOT DISTINCT FROM $5 THEN error_attempts + 1 ELSE 1 END,
            error_since = CASE WHEN error IS NOT NULL AND error_commit IS NOT DISTINCT FROM $4
                                    AND error_prepare IS NOT DISTINCT FROM $5 THEN error_since ELSE $6 END
          WHERE name = $1 AND version = $2",
    sqlite: "UPDATE projection_builds SET error = ?3, error_commit = ?4, error_prepare = ?5, updated_at = ?6,
            error_attempts = CASE WHEN error IS NOT NULL AND error_commit IS ?4 AND error_prepare IS ?5
                                  THEN error_attempts + 1 ELSE 1 END,
            error_since = CASE WHEN error IS NOT NULL AND error_commit IS ?4 AND error_prepare IS ?5
                               THEN error_since ELSE ?6 END
          WHERE name = ?1 AND version = ?2",
};

/// Records that version `version` failed to apply the event at `at` (or a batch, when `None`).
pub(super) async fn record_failure(
    db: &Database,
    name: &str,
    version: i32,
    at: Option<Position>,
    message: &str,
) -> Result<(), sqlx::Error> {
    let (commit, prepare) = at.map(columns).unzip();
    let mut txn = Txn::begin(db).await?;
    let args = [
        Arg::Text(name),
        Arg::I32(version),
        Arg::Text(message),
        Arg::OptI64(commit),
        Arg::OptI64(prepare),
        Arg::Time(Utc::now()),
    ];
    txn.conn().execute(RECORD_FAILURE, &args).await?;
    txn.commit().await
}

const SET_ACTIVE_VERSION: Sql = Sql {
    pg: "UPDATE projection_state SET active_version = $2, updated_at = $3 WHERE name = $1",
    sqlite: "UPDATE projection_state SET active_version = ?2, updated_at = ?3 WHERE name = ?1",
};

/// Switches readers of projection `name` from version `from` to version `to`, if `to` is still being built and
/// has caught up with `from` (its checkpoint is at or past `from`'s). Returns `to`'s checkpoint when it switched.
pub(super) async fn switch(db: &Database, name: &str, from: i32, to: i32) -> Result<Option<Position>, sqlx::Error> {
    let mut txn = Txn::begin(db).await?;
    let mut conn = txn.conn();
    let state: Option<(i32, Option<String>)> = conn.fetch_optional(LOCK_STATE, &[Arg::Text(name)]).await?;
    let builds = load_in(&mut conn, name).await?;
    let find = |version| builds.iter().find(|b| b.version == version);
    let (Some((active, _)), Some(old), Some(new)) = (state, find(from), find(to)) else {
        return Ok(None);
    };
    let ready = active == from
        && old.status == BuildStatus::Active
        && new.status == BuildStatus::Building
        && new.checkpoint >= old.checkpoint;
    if !ready {
        return Ok(None);
    }
    let now = Utc::now();
    conn.execute(SET_STATUS, &[Arg::Text(name), Arg::I32(from), Arg::Text("retired"), Arg::Time(now)]).await?;
    conn.execute(SET_STATUS, &[Arg::Text(name), Arg::I32(to), Arg::Text("active"), Arg::Time(now)]).await?;
    conn.execute(SET_ACTIVE_VERSION, &[Arg::Text(name), Arg::I32(to), Arg::Time(now)]).await?;
    let checkpoint = new.checkpoint;
    txn.commit().await?;
    Ok(Some(checkpoint))
}

const FORGET: Sql = Sql {
    pg: "DELETE FROM projection_builds WHERE name = $1 AND version = $2 AND status = 'retired'",
    sqlite: "DELETE FROM projection_builds WHERE name = ?1 AND version = ?2 AND status = 'retired'",
};

/// Deletes the bookkeeping of a retired version whose rows are gone.
pub(super) async fn forget(db: &Database, name: &str, version: i32) -> Result<(), sqlx::Error> {
    let mut txn = Txn::begin(db).await?;
    txn.conn().execute(FORGET, &[Arg::Text(name), Arg::I32(version)]).await?;
    txn.commit().await
}

const SET_LEADER: Sql = Sql {
    pg: "UPDATE projection_state SET leader = $2, leader_since = $3, updated_at = $3 WHERE name = $1",
    sqlite: "UPDATE projection_state SET leader = ?2, leader_since = ?3, updated_at = ?3 WHERE name = ?1",
};

/// Notes which instance leads projection `name` (for operators; the lock itself is the truth).
pub(super) async fn set_leader(db: &Database, name: &str, instance: &str) -> Result<(), sqlx::Error> {
    let mut txn = Txn::begin(db).await?;
    txn.conn().execute(SET_LEADER, &[Arg::Text(name), Arg::OptText(Some(instance)), Arg::Time(Utc::now())]).await?;
    txn.commit().await
}
