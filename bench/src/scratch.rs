//! Throw-away databases for a benchmark run: a fresh PostgreSQL database, a fresh SQLite file.
//!
//! A benchmark must not measure leftovers of an earlier run (bloated tables, warm caches of other data) nor
//! leave its rows behind, so each run creates its own and removes it, also when the run fails. Removal is an
//! explicit async call (`drop(self)`): callers run the benchmark, then always remove, then report the outcome.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection};
use uuid::Uuid;

/// The PostgreSQL server used when none is configured.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long creating or dropping a database may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// A database created for one run on a PostgreSQL server.
#[derive(Debug)]
pub struct ScratchPostgres {
    server: PgConnectOptions,
    name: String,
    url: String,
}

impl ScratchPostgres {
    /// Creates `digisos_bench_<random>` on the server at `server_url` (a `postgres://` URL naming any database the
    /// user may connect to).
    pub async fn create(server_url: &str) -> Result<Self, String> {
        let server: PgConnectOptions =
            server_url.parse().map_err(|e| format!("invalid PostgreSQL URL {server_url:?}: {e}"))?;
        let name = format!("digisos_bench_{}", Uuid::new_v4().simple());
        // The name is ours (a prefix and hex digits), so formatting it into the statement is safe.
        admin(&server, format!("CREATE DATABASE {name}")).await?;
        let url = server.clone().database(&name).to_url_lossy().to_string();
        Ok(Self { server, name, url })
    }

    /// The new database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, ending connections still open to it; or, once [`defer_removal`] was called, leaves
    /// that to [`remove_retired`] (dropping a database unlinks its files, with the cost
    /// [`ScratchSqlite::drop`] describes).
    pub async fn drop(self) -> Result<(), String> {
        if DEFER.load(std::sync::atomic::Ordering::Relaxed) {
            retire(Retired::Postgres(Box::new(self)));
            return Ok(());
        }
        self.drop_now().await
    }

    async fn drop_now(self) -> Result<(), String> {
        admin(&self.server, format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).await
    }
}

async fn admin(server: &PgConnectOptions, statement: String) -> Result<(), String> {
    let work = async {
        let mut conn = PgConnection::connect_with(server).await.map_err(|e| format!("cannot connect: {e}"))?;
        sqlx::query(AssertSqlSafe(statement.clone())).execute(&mut conn).await.map_err(|e| e.to_string())?;
        conn.close().await.map_err(|e| e.to_string())
    };
    match tokio::time::timeout(ADMIN_TIMEOUT, work).await {
        Ok(outcome) => outcome.map_err(|e| format!("{statement}: {e}")),
        Err(_) => Err(format!("{statement}: no answer in {ADMIN_TIMEOUT:?}")),
    }
}

/// A folder in the system's temporary directory holding one run's SQLite files.
#[derive(Debug)]
pub struct ScratchSqlite {
    folder: PathBuf,
}

impl ScratchSqlite {
    /// Creates an empty folder `digisos-bench-<random>` under the temporary directory.
    pub async fn create() -> Result<Self, String> {
        let folder = std::env::temp_dir().join(format!("digisos-bench-{}", Uuid::new_v4().simple()));
        tokio::fs::create_dir_all(&folder).await.map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        Ok(Self { folder })
    }

    /// The URL of a database file `name` in the folder (created on first use).
    pub fn url(&self, name: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.folder.join(name).display())
    }

    /// The folder (its file system decides how fast `synchronous=FULL` commits are).
    pub fn folder(&self) -> &std::path::Path {
        &self.folder
    }

    /// Removes the folder, or once the benchmark's command line asked for it ([`defer_removal`]) retires it: it is
    /// then removed with every other retired one when the benchmark ends ([`remove_retired`]), not now.
    ///
    /// On ext4 without a journal (this machine's root file system) a mass deletion makes every file created in the
    /// next minutes scan the inodes deleted recently (`recently_deleted` under `find_inode_bit`, which skips an
    /// inode freed less than 5 s, or 305 s while its table block is dirty, ago): in a profile of the v2 submit
    /// ladder that ran right after the v1 ladder's clean-up, creating the blob files took 22 % of the process.
    /// Removing each run's folder at once would charge the next measurement for it.
    pub async fn drop(self) -> Result<(), String> {
        if DEFER.load(std::sync::atomic::Ordering::Relaxed) {
            retire(Retired::Folder(self.folder));
            return Ok(());
        }
        remove_folder(&self.folder).await
    }
}

async fn remove_folder(folder: &std::path::Path) -> Result<(), String> {
    tokio::fs::remove_dir_all(folder).await.map_err(|e| format!("cannot remove {}: {e}", folder.display()))
}

/// Whether [`ScratchSqlite::drop`] and [`ScratchPostgres::drop`] retire instead of removing.
static DEFER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on scratch folders are retired, to be removed by [`remove_retired`] (the benchmark binary's first
/// step; its tests remove their folders at once).
pub fn defer_removal() {
    DEFER.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// A scratch folder or database whose removal waits for [`remove_retired`].
enum Retired {
    Folder(PathBuf),
    Postgres(Box<ScratchPostgres>),
}

/// What [`ScratchSqlite::drop`] and [`ScratchPostgres::drop`] retired, still on disk.
static RETIRED: std::sync::Mutex<Vec<Retired>> = std::sync::Mutex::new(Vec::new());

fn retire(scratch: Retired) {
    RETIRED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(scratch);
}

/// Removes every retired scratch folder and database; the benchmark's last step, whatever its outcome.
pub async fn remove_retired() -> Result<(), String> {
    let retired = std::mem::take(&mut *RETIRED.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    let mut failures = Vec::new();
    for scratch in retired {
        let removed = match scratch {
            Retired::Folder(folder) => remove_folder(&folder).await,
            Retired::Postgres(database) => database.drop_now().await,
        };
        if let Err(e) = removed {
            failures.push(e);
        }
    }
    if failures.is_empty() { Ok(()) } else { Err(failures.join("; ")) }
}
