//! Fiks Dokumentlager for large messages (FIKS_IO.md §2, "Large payloads"): a message whose encrypted body is
//! over [`GRENSE`] goes out with an empty body and the header `dokumentlager-id`. The body (the same CMS
//! EnvelopedData a small message carries) is a blob in the document store, named in `fiksio_dokumentlager`, and
//! served at `GET /dokumentlager/nedlasting/{id}` to the receiving account's integration for the message's TTL
//! plus [`ETTER_TTL`]; then the publisher's sweep deletes the row and the blob.
//!
//! Each publish stores its own body under a new id (a re-sent message is encrypted again, with a new content
//! key), so a sweep never deletes a blob another message still names. The blob is encrypted for the kommune's
//! certificate: the hub cannot read it back, and it holds nothing in clear.

use std::time::Duration;

use digisos_projections::ReadDb;
use digisos_schema::events::Sha512;
use uuid::Uuid;

use crate::documents::DocumentStore;
use crate::eventstore::open::Database;

/// Bodies larger than this (5 MB, as Fiks IO) go by the dokumentlager.
pub const GRENSE: usize = 5 * 1024 * 1024;

/// How long a stored body outlives its message's TTL (Fiks IO: 24 h).
pub const ETTER_TTL: Duration = Duration::from_secs(24 * 3600);

/// The download path, below which the id follows (`DokumentlagerConfiguration.DownloadPath` of KS's client).
pub const NEDLASTING: &str = "/dokumentlager/nedlasting";

/// One stored body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lagret {
    /// The `dokumentlager-id`.
    pub id: Uuid,
    /// The account the message went to: only its integration may download it.
    pub konto_id: Uuid,
    /// The blob.
    pub sha512: Sha512,
    /// Its size in bytes.
    pub storrelse: u64,
    /// When it is deleted (ms since the epoch).
    pub utloper_ms: i64,
}

/// Stores `body` of a message to `konto_id` with time to live `ttl`; its `dokumentlager-id`. The blob is written
/// before the row, so a row always names a blob.
pub async fn lagre(
    database: &Database,
    documents: &DocumentStore,
    konto_id: Uuid,
    body: Vec<u8>,
    ttl: Duration,
) -> anyhow::Result<Uuid> {
    let blob = documents.put(bytes::Bytes::from(body)).await?;
    let id = Uuid::new_v4();
    let utloper_ms = now_ms().saturating_add(i64::try_from((ttl + ETTER_TTL).as_millis()).unwrap_or(i64::MAX));
    const SQL: &str =
        "INSERT INTO fiksio_dokumentlager (id, konto_id, sha512, storrelse, utloper_ms) VALUES ($1, $2, $3, $4, $5)";
    let (id_text, konto, sha512, size) =
        (id.to_string(), konto_id.to_string(), blob.sha512.as_str().to_owned(), i64::try_from(blob.size)?);
    match database {
        Database::Postgres(pool) => {
            sqlx::query(SQL).bind(id_text).bind(konto).bind(sha512).bind(size).bind(utloper_ms).execute(pool).await?;
        }
        Database::Sqlite { write, .. } => {
            sqlx::query(SQL).bind(id_text).bind(konto).bind(sha512).bind(size).bind(utloper_ms).execute(write).await?;
        }
    }
    Ok(id)
}

/// The stored body `id`, unless it is unknown or past its time.
pub async fn finn(read: &ReadDb, id: Uuid) -> anyhow::Result<Option<Lagret>> {
    const SQL: &str =
        "SELECT konto_id, sha512, storrelse, utloper_ms FROM fiksio_dokumentlager WHERE id = $1 AND utloper_ms > $2";
    let (id_text, now) = (id.to_string(), now_ms());
    let row: Option<(String, String, i64, i64)> = match read {
        ReadDb::Postgres(pool) => sqlx::query_as(SQL).bind(id_text).bind(now).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SQL).bind(id_text).bind(now).fetch_optional(pool).await?,
    };
    let Some((konto, sha512, storrelse, utloper_ms)) = row else { return Ok(None) };
    Ok(Some(Lagret {
        id,
        konto_id: Uuid::parse_str(&konto)?,
        sha512: Sha512::parse(&sha512)?,
        storrelse: u64::try_from(storrelse)?,
        utloper_ms,
    }))
}

/// Deletes every stored body whose time is up at `at` (the sweep passes now), blob first and then its row (a
/// crash in between leaves a row that the next sweep takes again); how many.
pub async fn rydd(
    database: &Database,
    documents: &DocumentStore,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<usize> {
    const SELECT: &str = "SELECT id, sha512 FROM fiksio_dokumentlager WHERE utloper_ms <= $1 LIMIT 1000";
    const DELETE: &str = "DELETE FROM fiksio_dokumentlager WHERE id = $1";
    let now = at.timestamp_millis();
    let rows: Vec<(String, String)> = match database {
        Database::Postgres(pool) => sqlx::query_as(SELECT).bind(now).fetch_all(pool).await?,
        Database::Sqlite { read, .. } => sqlx::query_as(SELECT).bind(now).fetch_all(read).await?,
    };
    for (id, sha512) in &rows {
        documents.delete(&Sha512::parse(sha512)?).await?;
        match database {
            Database::Postgres(pool) => {
                sqlx::query(DELETE).bind(id).execute(pool).await?;
            }
            Database::Sqlite { write, .. } => {
                sqlx::query(DELETE).bind(id).execute(write).await?;
            }
        }
    }
    Ok(rows.len())
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
