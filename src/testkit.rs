//! Helpers for tests that need a real PostgreSQL: a fresh, empty database per test.
//!
//! Tests run in parallel and must not see each other's rows, so each creates its own database
//! `digisos_test_<uuid>` on the server at `DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! and drops it at the end. A test that panics before calling [`FreshPostgres::drop`] still gets its database
//! dropped, by a best-effort clean-up on a helper thread.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{AssertSqlSafe, Connection};
use uuid::Uuid;

/// The server tests use when `DATABASE_URL` is unset or not a PostgreSQL URL.
pub const DEFAULT_SERVER_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database created for one test, dropped by [`FreshPostgres::drop`] (or, failing that, when it goes out of
/// scope).
#[derive(Debug)]
pub struct FreshPostgres {
    server_url: String,
    name: String,
    url: String,
    dropped: bool,
}

impl FreshPostgres {
    /// Creates a new, empty database on the server at `DATABASE_URL`.
    pub async fn create() -> Result<Self, sqlx::Error> {
        let server_url = server_url();
        let name = format!("digisos_test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server_url).await?;
        // The name is ours (a prefix and hex digits), so formatting it into the statement is safe.
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
        admin.close().await?;
        let url = with_database(&server_url, &name);
        Ok(Self { server_url, name, url, dropped: false })
    }

    /// The URL of the new database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The new database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Connection options for the new database.
    pub fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        PgConnectOptions::from_str(&self.url)
    }

    /// Drops the database, ending any connection still open to it.
    pub async fn drop(mut self) {
        self.dropped = true;
        if let Err(e) = drop_database(&self.server_url, &self.name).await {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

impl Drop for FreshPostgres {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        let (server_url, name) = (self.server_url.clone(), self.name.clone());
        // Dropping happens outside any runtime we could borrow (maybe while unwinding): use a thread of our own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
            if let Ok(runtime) = runtime
                && let Err(e) = runtime.block_on(drop_database(&server_url, &name))
            {
                eprintln!("could not drop test database {name}: {e}");
            }
        });
        let _ = cleanup.join();
    }
}

async fn drop_database(server_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(server_url).await?;
    sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut admin).await?;
    admin.close().await
}

/// The server URL tests use: `DATABASE_URL` if it names PostgreSQL, else [`DEFAULT_SERVER_URL`].
pub fn server_url() -> String {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url,
        _ => DEFAULT_SERVER_URL.to_owned(),
    }
}

/// `url` with its database replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_is_replaced_and_parameters_kept() {
        assert_eq!(with_database("postgres://u@h:5432/postgres", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgres://u@h:5432", "x"), "postgres://u@h:5432/x");
        assert_eq!(with_database("postgresql://u@h/db?sslmode=disable", "x"), "postgresql://u@h/x?sslmode=disable");
    }
}
