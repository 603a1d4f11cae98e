//! Statements that run unchanged on both backends: the read models keep ids, times and JSON in text columns and
//! write parameters as `$n` in the order of first use, which SQLite reads as named parameters numbered by first
//! appearance. [`Conn`] binds a list of [`Arg`]s to such a statement on whichever backend the transaction is.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, PgConnection, SqliteConnection};

use crate::projection::{ApplyError, Tx};

/// One bound value.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    /// An integer column.
    Int(i64),
    /// A text column.
    Text(String),
    /// A nullable text column.
    OptText(Option<String>),
}

/// The transaction, with statements that bind [`Arg`]s on either backend.
pub(crate) enum Conn<'a> {
    Postgres(&'a mut PgConnection),
    Sqlite(&'a mut SqliteConnection),
}

impl<'a> From<Tx<'a>> for Conn<'a> {
    fn from(tx: Tx<'a>) -> Self {
        match tx {
            Tx::Postgres(conn) => Conn::Postgres(conn),
            Tx::Sqlite(conn) => Conn::Sqlite(conn),
        }
    }
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Int(v) => query.bind(*v),
                Arg::Text(v) => query.bind(v.clone()),
                Arg::OptText(v) => query.bind(v.clone()),
            };
        }
        query
    }};
}

impl Conn<'_> {
    /// Runs `sql` with `args`; returns the rows it touched.
    pub(crate) async fn execute(&mut self, sql: &'static str, args: &[Arg]) -> Result<u64, ApplyError> {
        let affected = match self {
            Conn::Postgres(conn) => bind_all!(sqlx::query(sql), args).execute(&mut **conn).await?.rows_affected(),
            Conn::Sqlite(conn) => bind_all!(sqlx::query(sql), args).execute(&mut **conn).await?.rows_affected(),
        };
        Ok(affected)
    }

    /// Runs the query `sql` with `args` and returns its rows.
    pub(crate) async fn fetch_all<T>(&mut self, sql: &'static str, args: &[Arg]) -> Result<Vec<T>, ApplyError>
    where
        T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
    {
        let rows = match self {
            Conn::Postgres(conn) => bind_all!(sqlx::query_as(sql), args).fetch_all(&mut **conn).await?,
            Conn::Sqlite(conn) => bind_all!(sqlx::query_as(sql), args).fetch_all(&mut **conn).await?,
        };
        Ok(rows)
    }
}
