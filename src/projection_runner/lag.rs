//! How far behind each projection is, for `/internal/isready` and metrics.
//!
//! One entry per live version of each projection (the active one, and the one being rebuilt, if any), computed
//! on demand from the database, so every instance reports the same numbers whichever of them leads:
//! events behind (a bounded count after the checkpoint), seconds behind (age of the oldest unprocessed event),
//! a failure the projection is stuck on, and on PostgreSQL whether committed events are held back behind an open
//! transaction, with the oldest open write transaction in the cluster (the usual culprit: any write transaction
//! holds the feed's horizon back, see EVENTSTORE.md).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::builds::{self, BuildStatus, Failure};
use super::{Entry, Inner};
use crate::eventstore::Position;
use crate::eventstore::open::Database;

/// Counting stops here: "at least this many" is all a health check needs, and the count stays cheap.
pub const EVENTS_BEHIND_CAP: i64 = 10_000;

/// The lag of one version of one projection.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionLag {
    /// The projection.
    pub name: String,
    /// The read model's version (`None` before the projection first ran).
    pub version: Option<i32>,
    /// Whether readers use this version or it is being rebuilt (`None` before the projection first ran).
    pub status: Option<BuildStatus>,
    /// The position of the last event applied.
    pub checkpoint: Position,
    /// Events applied to this version so far.
    pub applied: u64,
    /// Committed events after the checkpoint, counted up to [`EVENTS_BEHIND_CAP`].
    pub events_behind: u64,
    /// Whether `events_behind` stopped at the cap (there are at least that many).
    pub events_behind_capped: bool,
    /// How long ago the oldest unprocessed event was recorded (0 when none is waiting).
    pub seconds_behind: f64,
    /// PostgreSQL: committed events after the checkpoint wait behind a transaction that is still open.
    pub held_back_by_open_transaction: bool,
    /// PostgreSQL: the oldest open write transaction in the cluster, if any.
    pub oldest_open_transaction: Option<OpenTransaction>,
    /// The event this version is stuck on, if any.
    pub failure: Option<Failure>,
    /// The instance that last took the lead.
    pub leader: Option<String>,
    /// Whether this process leads the projection.
    pub leading_here: bool,
    /// Why the report could not be computed, if it could not.
    pub problem: Option<String>,
}

/// An open write transaction (one with a transaction id): it holds the feed's horizon back while it lasts.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenTransaction {
    /// Its server process.
    pub pid: i32,
    /// How long it has been open, in seconds.
    pub seconds: f64,
    /// The client's application name.
    pub application_name: Option<String>,
}

impl ProjectionLag {
    fn empty(name: &str, leading_here: bool) -> Self {
        Self {
            name: name.to_owned(),
            version: None,
            status: None,
            checkpoint: Position::default(),
            applied: 0,
            events_behind: 0,
            events_behind_capped: false,
            seconds_behind: 0.0,
            held_back_by_open_transaction: false,
            oldest_open_transaction: None,
            failure: None,
            leader: None,
            leading_here,
            problem: None,
        }
    }
}

/// The report for every projection of `inner`.
pub(super) async fn report(inner: &Inner) -> Vec<ProjectionLag> {
    let mut out = Vec::new();
    for entry in &inner.entries {
        let name = entry.projection.name();
        match report_one(inner, entry).await {
            Ok(mut lags) => out.append(&mut lags),
            Err(e) => {
                let leading = entry.shared.leading.load(std::sync::atomic::Ordering::SeqCst);
                out.push(ProjectionLag { problem: Some(e.to_string()), ..ProjectionLag::empty(name, leading) });
            }
        }
    }
    out
}

async fn report_one(inner: &Inner, entry: &Entry) -> Result<Vec<ProjectionLag>, sqlx::Error> {
    let name = entry.projection.name();
    let leading_here = entry.shared.leading.load(std::sync::atomic::Ordering::SeqCst);
    let Some((_, leader)) = builds::state(&inner.database, name).await? else {
        let not_started = ProjectionLag::empty(name, leading_here);
        let (behind, capped, seconds, held) = feed_lag(&inner.database, Position::default()).await?;
        return Ok(vec![ProjectionLag {
            events_behind: behind,
            events_behind_capped: capped,
            seconds_behind: seconds,
            held_back_by_open_transaction: held,
            ..not_started
        }]);
    };
    let oldest = oldest_open_transaction(&inner.database).await?;
    let mut out = Vec::new();
    for build in builds::load(&inner.database, name).await? {
        if build.status == BuildStatus::Retired {
            continue;
        }
        let (behind, capped, seconds, held) = feed_lag(&inner.database, build.checkpoint).await?;
        out.push(ProjectionLag {
            name: name.to_owned(),
            version: Some(build.version),
            status: Some(build.status),
            checkpoint: build.checkpoint,
            applied: u64::try_from(build.applied).unwrap_or(0),
            events_behind: behind,
            events_behind_capped: capped,
            seconds_behind: seconds,
            held_back_by_open_transaction: held,
            oldest_open_transaction: oldest.clone(),
            failure: build.failure,
            leader: leader.clone(),
            leading_here,
            problem: None,
        });
    }
    Ok(out)
}

/// Events after `after`: (count up to the cap, whether capped, age of the oldest in seconds, held back).
async fn feed_lag(db: &Database, after: Position) -> Result<(u64, bool, f64, bool), sqlx::Error> {
    let (commit, prepare) = builds::columns(after);
    let (count, seconds, held) = match db {
        Database::Postgres(pool) => {
            let row = sqlx::query(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM es_events e
                          WHERE (e.tx, e.seq) > ($1::bigint::text::xid8, $2) ORDER BY e.tx, e.seq LIMIT $3) x) AS behind,
                        (SELECT EXTRACT(EPOCH FROM (now() - e.recorded_at))::float8 FROM es_events e
                          WHERE (e.tx, e.seq) > ($1::bigint::text::xid8, $2) ORDER BY e.tx, e.seq LIMIT 1) AS seconds,
                        -- Every checkpoint lies below the horizon it was read under, so any event at or past the
                        -- horizon is after it: one backward index probe, whatever the statistics say.
                        coalesce((SELECT max(tx) FROM es_events)
                                 >= pg_snapshot_xmin(pg_current_snapshot()), false) AS held",
            )
            .bind(commit)
            .bind(prepare)
            .bind(EVENTS_BEHIND_CAP)
            .fetch_one(pool)
            .await?;
            (
                row.try_get::<i64, _>("behind")?,
                row.try_get::<Option<f64>, _>("seconds")?.unwrap_or(0.0),
                row.try_get("held")?,
            )
        }
        Database::Sqlite { read, .. } => {
            // Every SQLite position is (0, n): a checkpoint with a larger first part is past all of them.
            if commit > 0 {
                return Ok((0, false, 0.0, false));
            }
            let row = sqlx::query(
                "SELECT (SELECT count(*) FROM (SELECT 1 FROM es_events WHERE position > ?1 LIMIT ?2)) AS behind,
                        (SELECT recorded_at FROM es_events WHERE position > ?1 ORDER BY position LIMIT 1) AS oldest",
            )
            .bind(prepare)
            .bind(EVENTS_BEHIND_CAP)
            .fetch_one(read)
            .await?;
            let oldest: Option<DateTime<Utc>> = row.try_get("oldest")?;
            let seconds = oldest.map_or(0.0, |t| (Utc::now() - t).as_seconds_f64().max(0.0));
            (row.try_get::<i64, _>("behind")?, seconds, false)
        }
    };
    Ok((u64::try_from(count).unwrap_or(0), count >= EVENTS_BEHIND_CAP, seconds.max(0.0), held))
}

/// PostgreSQL: the oldest transaction in the cluster that has a transaction id (has written), other than ours.
async fn oldest_open_transaction(db: &Database) -> Result<Option<OpenTransaction>, sqlx::Error> {
    let Database::Postgres(pool) = db else { return Ok(None) };
    let row = sqlx::query(
        "SELECT pid, EXTRACT(EPOCH FROM (now() - xact_start))::float8 AS seconds, application_name
           FROM pg_stat_activity
          WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
          ORDER BY age(backend_xid) DESC
          LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    row.map(|row| {
        Ok(OpenTransaction {
            pid: row.try_get("pid")?,
            seconds: row.try_get::<Option<f64>, _>("seconds")?.unwrap_or(0.0).max(0.0),
            application_name: row.try_get::<Option<String>, _>("application_name")?.filter(|a| !a.is_empty()),
        })
    })
    .transpose()
}
