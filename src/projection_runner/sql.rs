//! A thin layer that runs the runner's bookkeeping SQL on either backend.
//!
//! The bookkeeping (checkpoints, versions, failures, leadership notes) is the same logic on PostgreSQL and
//! SQLite; only placeholders and a few functions differ. So each statement is a [`Sql`] pair of static strings
//! (sqlx 0.9 takes no others), its arguments a slice of [`Arg`], and the logic is written once against [`Conn`].

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};

use crate::eventstore::open::Database;

/// One statement in both dialects.
#[derive(Clone, Copy)]
pub(super) struct Sql {
    pub pg: &'static str,
    pub sqlite: &'static str,
}

/// An argument of a statement.
pub(super) enum Arg<'a> {
    I32(i32),
    I64(i64),
    Text(&'a str),
    OptText(Option<&'a str>),
    OptI64(Option<i64>),
    Time(DateTime<Utc>),
}

/// A connection (or an open transaction) on either backend.
pub(super) enum Conn<'a> {
    Pg(&'a mut PgConnection),
    Lite(&'a mut SqliteConnection),
}

/// An open transaction. PostgreSQL: a plain `BEGIN` on the pool; SQLite: `BEGIN IMMEDIATE` on the single write
/// connection, so the write lock is taken up front and the transaction never fails to upgrade halfway.
pub(super) enum Txn {
    Pg(sqlx::Transaction<'static, Postgres>),
    Lite(sqlx::Transaction<'static, Sqlite>),
}

/// A pooled connection for reads outside a transaction (SQLite: from the read-only pool).
pub(super) enum Pooled {
    Pg(sqlx::pool::PoolConnection<Postgres>),
    Lite(sqlx::pool::PoolConnection<Sqlite>),
}

impl Txn {
    /// Begins a bookkeeping transaction.
    pub async fn begin(db: &Database) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Database::Postgres(pool) => Self::Pg(pool.begin().await?),
            Database::Sqlite { write, .. } => Self::Lite(write.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    /// Begins a projector transaction: as [`Txn::begin`], and on PostgreSQL without waiting for the disk at commit
    /// (`synchronous_commit = off`): the rows and their checkpoint are kept or lost together, and a lost tail is
    /// simply projected again.
    pub async fn begin_projector(db: &Database) -> Result<Self, sqlx::Error> {
        let mut txn = Self::begin(db).await?;
        if let Self::Pg(tx) = &mut txn {
            sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut **tx).await?;
        }
        Ok(txn)
    }

    /// The transaction's connection, for bookkeeping statements.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Pg(tx) => Conn::Pg(tx),
            Self::Lite(tx) => Conn::Lite(tx),
        }
    }

    /// The transaction as a projection writes through it.
    pub fn projection_tx(&mut self) -> digisos_projections::Tx<'_> {
        match self {
            Self::Pg(tx) => digisos_projections::Tx::Postgres(tx),
            Self::Lite(tx) => digisos_projections::Tx::Sqlite(tx),
        }
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Pg(tx) => tx.commit().await,
            Self::Lite(tx) => tx.commit().await,
        }
    }

    /// Rolls back (dropping the transaction would too, later; this does it now).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Pg(tx) => tx.rollback().await,
            Self::Lite(tx) => tx.rollback().await,
        }
    }
}

impl Pooled {
    /// A connection for reading.
    pub async fn acquire(db: &Database) -> Result<Self, sqlx::Error> {
        Ok(match db {
            Database::Postgres(pool) => Self::Pg(pool.acquire().await?),
            Database::Sqlite { read, .. } => Self::Lite(read.acquire().await?),
        })
    }

    /// The connection.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Pg(c) => Conn::Pg(c),
            Self::Lite(c) => Conn::Lite(c),
        }
    }
}

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::I32(v) => query.bind(*v),
                Arg::I64(v) => query.bind(*v),
                Arg::Text(v) => query.bind(*v),
                Arg::OptText(v) => query.bind(*v),
                Arg::OptI64(v) => query.bind(*v),
                Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

impl Conn<'_> {
    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<u64, sqlx::Error> {
        Ok(match self {
            Self::Pg(c) => bind_all!(sqlx::query(sql.pg), args).execute(&mut **c).await?.rows_affected(),
            Self::Lite(c) => bind_all!(sqlx::query(sql.sqlite), args).execute(&mut **c).await?.rows_affected(),
        })
    }

    /// Runs a query and decodes every row as `T` (a tuple of types both backends decode).
    pub async fn fetch_all<T>(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<Vec<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        match self {
            Self::Pg(c) => bind_all!(sqlx::query_as::<_, T>(sql.pg), args).fetch_all(&mut **c).await,
            Self::Lite(c) => bind_all!(sqlx::query_as::<_, T>(sql.sqlite), args).fetch_all(&mut **c).await,
        }
    }

    /// Runs a query that returns at most one row.
    pub async fn fetch_optional<T>(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<Option<T>, sqlx::Error>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        match self {
            Self::Pg(c) => bind_all!(sqlx::query_as::<_, T>(sql.pg), args).fetch_optional(&mut **c).await,
            Self::Lite(c) => bind_all!(sqlx::query_as::<_, T>(sql.sqlite), args).fetch_optional(&mut **c).await,
        }
    }
}
