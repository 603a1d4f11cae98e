//! Read model `mellomlagring`: which mellomlagringer hold files, how many, and since when unchanged, folded from
//! the `mellomlagring-<digest>` streams. Its one reader is the sweep of mellomlagring left behind (a søknad never
//! sent), which asks for those unchanged for longer than the configured age ([`utlopte`]) and empties each by a
//! command on its stream, so the decision is always made on the stream itself, never on this table alone.

use async_trait::async_trait;
use digisos_schema::events::{MellomlagringEvent, is_mellomlagring_stream};

use crate::envelope::EventEnvelope;
use crate::projection::{ApplyError, Projection, ReadDb, ReadError, Tx};
use crate::sql::{Arg, Conn};

/// The projection's name.
pub const NAME: &str = "mellomlagring";

const LAGRET: &str = "
INSERT INTO mellomlagring (version, stream, antall_filer, sist_endret_ms) VALUES ($1, $2, 1, $3)
ON CONFLICT (version, stream) DO UPDATE
   SET antall_filer = mellomlagring.antall_filer + 1,
       sist_endret_ms = CASE WHEN excluded.sist_endret_ms > mellomlagring.sist_endret_ms
                             THEN excluded.sist_endret_ms ELSE mellomlagring.sist_endret_ms END";
const SLETTET: &str = "
UPDATE mellomlagring
   SET antall_filer = antall_filer - 1,
       sist_endret_ms = CASE WHEN $3 > sist_endret_ms THEN $3 ELSE sist_endret_ms END
 WHERE version = $1 AND stream = $2";
const TOMT: &str = "DELETE FROM mellomlagring WHERE version = $1 AND stream = $2";
const TOM_RAD: &str = "DELETE FROM mellomlagring WHERE version = $1 AND stream = $2 AND antall_filer <= 0";
const PURGE: &str = "
DELETE FROM mellomlagring WHERE (version, stream) IN
  (SELECT version, stream FROM mellomlagring WHERE version = $1 LIMIT $2)";
const UTLOPTE: &str = "
SELECT stream FROM mellomlagring
 WHERE version = (SELECT active_version FROM projection_state WHERE name = 'mellomlagring')
   AND sist_endret_ms < $1
 ORDER BY sist_endret_ms LIMIT $2";

/// The `mellomlagring` projection.
#[derive(Debug, Clone, Copy, Default)]
pub struct MellomlagringProjection;

#[async_trait]
impl Projection for MellomlagringProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        1
    }

    async fn apply(&self, batch: &[EventEnvelope], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
        let mut conn = Conn::from(tx);
        for event in batch {
            if !is_mellomlagring_stream(&event.stream) {
                continue;
            }
            let decoded = MellomlagringEvent::decode(&event.event_type, &event.data)
                .map_err(|e| ApplyError::event(event, e.to_string()))?;
            let version = Arg::Int(i64::from(model_version));
            let stream = Arg::Text(event.stream.clone());
            match decoded {
                MellomlagringEvent::FilMellomlagret(f) => {
                    let ms = Arg::Int(f.tidspunkt.instant().timestamp_millis());
                    conn.execute(LAGRET, &[version, stream, ms]).await?;
                }
                MellomlagringEvent::MellomlagretFilSlettet(s) => {
                    let ms = Arg::Int(s.tidspunkt.instant().timestamp_millis());
                    conn.execute(SLETTET, &[version.clone(), stream.clone(), ms]).await?;
                    conn.execute(TOM_RAD, &[version, stream]).await?;
                }
                MellomlagringEvent::MellomlagringTomt(_) => {
                    conn.execute(TOMT, &[version, stream]).await?;
                }
            }
        }
        Ok(())
    }

    async fn purge(&self, model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
        Conn::from(tx).execute(PURGE, &[Arg::Int(i64::from(model_version)), Arg::Int(i64::from(limit))]).await
    }
}

/// The streams of mellomlagringer that hold files and have not changed since `before_ms` (epoch milliseconds),
/// oldest first, at most `limit`.
pub async fn utlopte(db: &ReadDb, before_ms: i64, limit: u32) -> Result<Vec<String>, ReadError> {
    let limit = i64::from(limit);
    let rows: Vec<(String,)> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(UTLOPTE).bind(before_ms).bind(limit).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(UTLOPTE).bind(before_ms).bind(limit).fetch_all(pool).await?,
    };
    Ok(rows.into_iter().map(|(stream,)| stream).collect())
}
