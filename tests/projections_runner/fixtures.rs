//! Projections made for the tests: one that records every application as a row (so a test can count them and
//! make one fail on purpose), and a wrapper that lets a rebuild of the kommune model advance only as far as the
//! test allows.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use async_trait::async_trait;
use digisos_projections::kommune::KommuneProjection;
use digisos_projections::{ApplyError, EventEnvelope, Projection, Tx};
use fiks_digisos::eventstore::open::Database;

/// The type of event [`Counting`] refuses while its switch is on.
pub const BOOM: &str = "Boom.v1";

/// Writes one row per event it applies into `test_applications`, and fails a batch holding a [`BOOM`] event
/// (after writing its rows) while `fail` is on.
pub struct Counting {
    pub version: u32,
    pub fail: Arc<AtomicBool>,
}

impl Counting {
    pub fn new(version: u32) -> Arc<Self> {
        Arc::new(Self { version, fail: Arc::new(AtomicBool::new(false)) })
    }

    /// Creates the table it writes to.
    pub async fn create_table(database: &Database) {
        let result = match database {
            Database::Postgres(pool) => sqlx::query(
                "CREATE TABLE test_applications (version integer, commit_pos bigint, prepare_pos bigint, event_type text)",
            )
            .execute(pool)
            .await
            .map(|_| ()),
            Database::Sqlite { write, .. } => sqlx::query(
                "CREATE TABLE test_applications (version INTEGER, commit_pos INTEGER, prepare_pos INTEGER, event_type TEXT)",
            )
            .execute(write)
            .await
            .map(|_| ()),
        };
        result.unwrap_or_else(|e| panic!("cannot create test_applications: {e}"));
    }

    /// (rows, distinct positions) of version `version`.
    pub async fn count(database: &Database, version: i32) -> (i64, i64) {
        let result = match database {
            Database::Postgres(pool) => {
                sqlx::query_as::<_, (i64, i64)>(
                    "SELECT count(*), count(DISTINCT (commit_pos, prepare_pos))
                       FROM test_applications WHERE version = $1",
                )
                .bind(version)
                .fetch_one(pool)
                .await
            }
            Database::Sqlite { read, .. } => {
                sqlx::query_as::<_, (i64, i64)>(
                    "SELECT count(*), count(DISTINCT commit_pos || '-' || prepare_pos)
                       FROM test_applications WHERE version = ?1",
                )
                .bind(version)
                .fetch_one(read)
                .await
            }
        };
        result.unwrap_or_else(|e| panic!("cannot count test_applications: {e}"))
    }
}

#[async_trait]
impl Projection for Counting {
    fn name(&self) -> &'static str {
        "counting"
    }

    fn version(&self) -> u32 {
        self.version
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        let pos = |e: &EventEnvelope| (i64::try_from(e.position.commit), i64::try_from(e.position.prepare));
        match tx {
            Tx::Postgres(conn) => {
                for event in batch {
                    let (Ok(c), Ok(p)) = pos(event) else { return Err(ApplyError::event(event, "position")) };
                    sqlx::query("INSERT INTO test_applications VALUES ($1, $2, $3, $4)")
                        .bind(model_version)
                        .bind(c)
                        .bind(p)
                        .bind(&event.event_type)
                        .execute(&mut *conn)
                        .await?;
                }
            }
            Tx::Sqlite(conn) => {
                for event in batch {
                    let (Ok(c), Ok(p)) = pos(event) else { return Err(ApplyError::event(event, "position")) };
                    sqlx::query("INSERT INTO test_applications VALUES (?1, ?2, ?3, ?4)")
                        .bind(model_version)
                        .bind(c)
                        .bind(p)
                        .bind(&event.event_type)
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
        match batch.iter().find(|e| e.event_type == BOOM) {
            Some(boom) if self.fail.load(Ordering::SeqCst) => Err(ApplyError::event(boom, "boom (on purpose)")),
            _ => Ok(()),
        }
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        let done = match tx {
            Tx::Postgres(conn) => sqlx::query(
                "DELETE FROM test_applications WHERE ctid IN
                       (SELECT ctid FROM test_applications WHERE version = $1 LIMIT $2)",
            )
            .bind(model_version)
            .bind(i64::from(limit))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
            Tx::Sqlite(conn) => sqlx::query(
                "DELETE FROM test_applications WHERE rowid IN
                       (SELECT rowid FROM test_applications WHERE version = ?1 LIMIT ?2)",
            )
            .bind(model_version)
            .bind(i64::from(limit))
            .execute(&mut *conn)
            .await?
            .rows_affected(),
        };
        Ok(done)
    }
}

/// The kommune projection, except that versions from 2 on (a rebuild) apply a batch only while the test has
/// granted budget; without budget the batch fails, and the runner backs off and retries it. The live version 1
/// is never held up.
pub struct Throttled {
    pub budget: Arc<AtomicI64>,
}

#[async_trait]
impl Projection for Throttled {
    fn name(&self) -> &'static str {
        KommuneProjection.name()
    }

    fn version(&self) -> u32 {
        KommuneProjection.version()
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        if model_version >= 2 && self.budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
            self.budget.fetch_add(1, Ordering::SeqCst);
            return Err(ApplyError::event(&batch[0], "the test has not let the rebuild go further yet"));
        }
        KommuneProjection.apply(batch, model_version, tx).await
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        KommuneProjection.purge(model_version, limit, tx).await
    }
}

/// Every row of both kommune tables of version `version`, as text, in key order (to compare versions row for row).
pub async fn kommune_rows(database: &Database, version: i32) -> Vec<String> {
    let result: Result<Vec<String>, sqlx::Error> = match database {
        Database::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT (to_jsonb(k) - 'version')::text FROM kommuneinfo k WHERE version = $1
                 UNION ALL
                 SELECT (to_jsonb(e) - 'version')::text FROM kommuneinfo_enheter e WHERE version = $1
                 ORDER BY 1",
            )
            .bind(version)
            .fetch_all(pool)
            .await
        }
        Database::Sqlite { read, .. } => {
            sqlx::query_scalar(
                "SELECT json_array(kommunenummer, fiks_org_id, fagsystem_orgnr, nav_enheter, kan_motta_soknader,
                        kan_oppdatere_status, har_midlertidig_deaktivert_mottak,
                        har_midlertidig_deaktivert_oppdateringer, har_nks_tilgang, kontaktpersoner,
                        behandlingsansvarlig, sist_endret, revision)
                   FROM kommuneinfo WHERE version = ?1
                 UNION ALL
                 SELECT json_array(enhetsnummer, kommunenummer) FROM kommuneinfo_enheter WHERE version = ?1
                 ORDER BY 1",
            )
            .bind(version)
            .fetch_all(read)
            .await
        }
    };
    result.unwrap_or_else(|e| panic!("cannot read kommune rows: {e}"))
}
