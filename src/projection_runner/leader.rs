//! Leader election: exactly one instance runs each projection; the others stand by and take over when it dies.
//!
//! PostgreSQL: a session advisory lock per projection (`pg_try_advisory_lock`) on a connection of its own, opened
//! outside the pool and kept for as long as this instance leads (or stands by: the same connection retries the
//! lock, so standing by costs no reconnects). The lock lives exactly as long as that session: when the process
//! dies or its connection drops, PostgreSQL releases it and a standby's next attempt succeeds. The leader checks
//! its session periodically and stops leading when it is gone. Locks are in PostgreSQL's one-key (bigint) space,
//! which the event store's two-key stream locks never meet.
//!
//! SQLite: the embedded default runs one service process, so an in-process lock (per database file and
//! projection) is enough. Should a second process (say `digisos projections rebuild` beside a running service)
//! project the same SQLite file, both may apply batches, but the checkpoint's compare-and-set makes every batch
//! commit once: the loser's transaction changes nothing and it reloads.
//!
//! Either way the checkpoint's compare-and-set is the real fence; the lock only keeps instances from wasting work.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

use crate::eventstore::open::Database;

/// How long a liveness check of the lock's session may take before leadership counts as lost.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Projections led in this process on each SQLite file.
static LOCAL_LEADERS: LazyLock<Mutex<HashSet<(PathBuf, String)>>> = LazyLock::new(Default::default);

/// One projection's place in the election: standing by or leading.
pub(crate) struct Seat {
    database: Database,
    name: &'static str,
    key: i64,
    state: SeatState,
}

enum SeatState {
    Idle,
    /// PostgreSQL: the dedicated session; `leading` when it holds the lock.
    Session {
        conn: PgConnection,
        leading: bool,
    },
    /// SQLite: this process leads while the entry is in [`LOCAL_LEADERS`].
    Local((PathBuf, String)),
}

impl Seat {
    /// A seat for projection `name` on `database`, not yet leading.
    pub fn new(database: Database, name: &'static str) -> Self {
        Self { database, name, key: lock_key(name), state: SeatState::Idle }
    }

    /// Tries to take the lead; `Ok(false)` when another instance leads.
    pub async fn try_lead(&mut self) -> Result<bool, sqlx::Error> {
        match &self.database {
            Database::Postgres(pool) => {
                if !matches!(self.state, SeatState::Session { .. }) {
                    let options = (*pool.connect_options()).clone().application_name("digisos projection leader");
                    let conn = PgConnection::connect_with(&options).await?;
                    self.state = SeatState::Session { conn, leading: false };
                }
                let SeatState::Session { conn, leading } = &mut self.state else { return Ok(false) };
                match sqlx::query_scalar::<_, bool>("SELECT pg_try_advisory_lock($1)")
                    .bind(self.key)
                    .fetch_one(&mut *conn)
                    .await
                {
                    Ok(got) => {
                        *leading = got;
                        Ok(got)
                    }
                    Err(e) => {
                        // A broken session: open a new one next time.
                        self.state = SeatState::Idle;
                        Err(e)
                    }
                }
            }
            Database::Sqlite { write, .. } => {
                let file = write.connect_options().get_filename().to_path_buf();
                let file = std::fs::canonicalize(&file).unwrap_or(file);
                let entry = (file, self.name.to_owned());
                let mut leaders = LOCAL_LEADERS.lock().map_err(|_| sqlx::Error::PoolClosed)?;
                if leaders.insert(entry.clone()) {
                    self.state = SeatState::Local(entry);
                    Ok(true)
                } else {
                    Ok(matches!(&self.state, SeatState::Local(held) if *held == entry))
                }
            }
        }
    }

    /// Whether this seat still leads: on PostgreSQL, whether the lock's session still answers.
    pub async fn still_leading(&mut self) -> bool {
        match &mut self.state {
            SeatState::Session { conn, leading: true } => {
                let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&mut *conn);
                let alive = matches!(tokio::time::timeout(CHECK_TIMEOUT, ping).await, Ok(Ok(1)));
                if !alive {
                    self.state = SeatState::Idle;
                }
                alive
            }
            SeatState::Local(_) => true,
            _ => false,
        }
    }

    /// Gives up the lead (and, on PostgreSQL, the session). Other instances can take over at once.
    pub async fn release(&mut self) {
        match std::mem::replace(&mut self.state, SeatState::Idle) {
            SeatState::Session { mut conn, leading } => {
                if leading {
                    let unlock = sqlx::query("SELECT pg_advisory_unlock($1)").bind(self.key).execute(&mut conn).await;
                    if let Err(e) = unlock {
                        tracing::debug!(projection = self.name, error = %e, "advisory unlock failed; closing the session");
                    }
                }
                let _ = conn.close().await;
            }
            SeatState::Local(entry) => forget_local(&entry),
            SeatState::Idle => {}
        }
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        // A dropped PostgreSQL session releases its lock by itself; the in-process entry must be removed by hand.
        if let SeatState::Local(entry) = &self.state {
            forget_local(entry);
        }
    }
}

fn forget_local(entry: &(PathBuf, String)) {
    if let Ok(mut leaders) = LOCAL_LEADERS.lock() {
        leaders.remove(entry);
    }
}

/// The advisory lock key of projection `name`: the first 8 bytes of SHA-256 over a fixed prefix and the name.
pub(super) fn lock_key(name: &str) -> i64 {
    let digest = Sha256::digest(format!("digisos projection leader:{name}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
