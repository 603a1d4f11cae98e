//! Reading the `mottak` read model. Every query selects the active version in the same statement
//! (`projection_state.active_version` of `mottak`), so a read during a rebuild sees one whole version. The SQL is
//! the same on both backends (see `write.rs` on parameters).

use serde::Serialize;
use serde_json::Value;

use crate::projection::{ReadDb, ReadError};

/// How a delivery stands (Fiks's delivery status, DOMAIN.md A.3, with the fagsystem's rejection added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Leveransestatus {
    /// In the mailbox, not confirmed.
    Sendt,
    /// The fagsystem confirmed receipt.
    Bekreftet,
    /// The fagsystem could not handle it.
    Avvist,
}

/// One delivery of the mailbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Leveranse {
    /// The delivery's id.
    pub leveranse_id: String,
    /// The mailbox.
    pub fiks_org_id: String,
    /// The receiving kommune.
    pub kommunenummer: String,
    /// The case.
    pub fiks_digisos_id: String,
    /// `SOKNAD` or `ETTERSENDELSE`.
    pub kind: String,
    /// The forsendelse's `navEksternRefId` (`eksternRef`).
    pub nav_ekstern_ref_id: String,
    /// How it stands.
    pub status: Leveransestatus,
    /// The fagsystem's reason, when rejected.
    pub arsak: Option<String>,
    /// When it was put in the mailbox.
    pub created: String,
    /// When it was last offered.
    pub sist_tilbudt: String,
    /// How many times it was offered (1 at first).
    pub attempts: i64,
    /// The files: `[{filnavn, mimetype, storrelse, dokumentlagerDokumentId}]`.
    pub filer: Value,
    /// For an ettersendelse: the delivery of the case's søknad, when there is one.
    pub soknad_leveranse_id: Option<String>,
    /// `FIKS_IO` while out on Fiks IO, `MOTTAK` in the mailbox.
    pub kanal: String,
    /// The Fiks IO message's id, for a delivery published over Fiks IO.
    pub melding_id: Option<String>,
}

/// A downloadable document and the case that decides who may fetch it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dokument {
    /// The case.
    pub fiks_digisos_id: String,
    /// The file name as sent.
    pub filnavn: String,
    /// The declared media type.
    pub mimetype: String,
    /// Size in bytes.
    pub storrelse: i64,
    /// SHA-512 of the bytes (the blob's name in the document store).
    pub sha512: String,
    /// The case's Fiks organisation.
    pub fiks_org_id: String,
    /// The case's kommune.
    pub kommunenummer: String,
    /// The case's citizen. Personal data.
    pub soker_fnr: String,
    /// Whether the case was deleted.
    pub slettet: bool,
}

/// A delivery still waiting for its receipt, for the redelivery timer.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueLeveranse {
    /// The delivery.
    pub leveranse_id: String,
    /// Its case.
    pub fiks_digisos_id: String,
    /// When it was last offered (for one out on Fiks IO: when it was created).
    pub sist_tilbudt: String,
    /// `FIKS_IO` while out on Fiks IO (the deadline applies), `MOTTAK` in the mailbox (redelivery applies).
    pub kanal: String,
    /// The log position of its creation (commit, prepare): the cursor of the next page.
    pub pos: (i64, i64),
}

type LeveranseColumns = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
);

macro_rules! leveranse_select {
    ($tail:literal) => {
        concat!(
            "SELECT l.leveranse_id, l.fiks_org_id, l.kommunenummer, l.fiks_digisos_id, l.kind, l.nav_ekstern_ref_id,
                    l.status, l.arsak, l.created, l.sist_tilbudt, l.attempts, l.filer,
                    (SELECT s.leveranse_id FROM mottak_leveranse s
                      WHERE s.version = l.version AND s.fiks_digisos_id = l.fiks_digisos_id AND s.kind = 'SOKNAD'
                        AND l.kind = 'ETTERSENDELSE' ORDER BY s.pos_commit, s.pos_prepare LIMIT 1),
                    l.kanal, l.melding_id
               FROM mottak_leveranse l
              WHERE l.version = (SELECT active_version FROM projection_state WHERE name = 'mottak') ",
            $tail
        )
    };
}

const SELECT_VENTENDE: &str = leveranse_select!(
    "AND l.fiks_org_id = $1 AND l.status = 'SENDT' AND l.kanal = 'MOTTAK'
     ORDER BY l.pos_commit, l.pos_prepare LIMIT $2"
);

const SELECT_VENTENDE_ETTER: &str = leveranse_select!(
    "AND l.fiks_org_id = $1 AND l.status = 'SENDT' AND l.kanal = 'MOTTAK'
     AND (l.pos_commit, l.pos_prepare) > (SELECT a.pos_commit, a.pos_prepare FROM mottak_leveranse a
                                            WHERE a.version = l.version AND a.leveranse_id = $2)
     ORDER BY l.pos_commit, l.pos_prepare LIMIT $3"
);

const SELECT_EN: &str = leveranse_select!("AND l.leveranse_id = $1");

const SELECT_MELDING: &str = leveranse_select!("AND l.melding_id = $1");

const SELECT_DOKUMENT: &str = "
SELECT d.fiks_digisos_id, d.filnavn, d.mimetype, d.storrelse, d.sha512, s.fiks_org_id, s.kommunenummer,
       s.soker_fnr, s.slettet
  FROM mottak_dokument d
  JOIN mottak_sak s ON s.version = d.version AND s.fiks_digisos_id = d.fiks_digisos_id
 WHERE d.version = (SELECT active_version FROM projection_state WHERE name = 'mottak') AND d.dokumentlager_id = $1";

const SELECT_OVERDUE: &str = "
SELECT l.leveranse_id, l.fiks_digisos_id, l.sist_tilbudt, l.kanal, l.pos_commit, l.pos_prepare
  FROM mottak_leveranse l
 WHERE l.version = (SELECT active_version FROM projection_state WHERE name = 'mottak') AND l.status = 'SENDT'
   AND (l.pos_commit > $2 OR (l.pos_commit = $2 AND l.pos_prepare > $3))
 ORDER BY l.pos_commit, l.pos_prepare LIMIT $1";

/// Up to `first` deliveries of mailbox `fiks_org_id` that wait for their receipt, oldest first, starting after
/// delivery `after` when given (a cursor: the last id of the previous page).
pub async fn ventende_leveranser(
    db: &ReadDb,
    fiks_org_id: &str,
    after: Option<&str>,
    first: u32,
) -> Result<Vec<Leveranse>, ReadError> {
    let first = i64::from(first);
    let rows: Vec<LeveranseColumns> = match (db, after) {
        (ReadDb::Postgres(pool), None) => {
            sqlx::query_as(SELECT_VENTENDE).bind(fiks_org_id).bind(first).fetch_all(pool).await?
        }
        (ReadDb::Sqlite(pool), None) => {
            sqlx::query_as(SELECT_VENTENDE).bind(fiks_org_id).bind(first).fetch_all(pool).await?
        }
        (ReadDb::Postgres(pool), Some(after)) => {
            sqlx::query_as(SELECT_VENTENDE_ETTER).bind(fiks_org_id).bind(after).bind(first).fetch_all(pool).await?
        }
        (ReadDb::Sqlite(pool), Some(after)) => {
            sqlx::query_as(SELECT_VENTENDE_ETTER).bind(fiks_org_id).bind(after).bind(first).fetch_all(pool).await?
        }
    };
    rows.into_iter().map(decode_leveranse).collect()
}

/// One delivery, whatever its status.
pub async fn leveranse(db: &ReadDb, leveranse_id: &str) -> Result<Option<Leveranse>, ReadError> {
    let row: Option<LeveranseColumns> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(SELECT_EN).bind(leveranse_id).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SELECT_EN).bind(leveranse_id).fetch_optional(pool).await?,
    };
    row.map(decode_leveranse).transpose()
}

/// The delivery whose Fiks IO message is `melding_id` (what a receipt's `svarPaMelding` names).
pub async fn leveranse_for_melding(db: &ReadDb, melding_id: &str) -> Result<Option<Leveranse>, ReadError> {
    let row: Option<LeveranseColumns> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(SELECT_MELDING).bind(melding_id).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SELECT_MELDING).bind(melding_id).fetch_optional(pool).await?,
    };
    row.map(decode_leveranse).transpose()
}

/// The document `dokumentlager_id` and its case.
pub async fn dokument(db: &ReadDb, dokumentlager_id: &str) -> Result<Option<Dokument>, ReadError> {
    type Columns = (String, String, String, i64, String, String, String, String, i64);
    let row: Option<Columns> = match db {
        ReadDb::Postgres(pool) => sqlx::query_as(SELECT_DOKUMENT).bind(dokumentlager_id).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as(SELECT_DOKUMENT).bind(dokumentlager_id).fetch_optional(pool).await?,
    };
    Ok(row.map(|c| Dokument {
        fiks_digisos_id: c.0,
        filnavn: c.1,
        mimetype: c.2,
        storrelse: c.3,
        sha512: c.4,
        fiks_org_id: c.5,
        kommunenummer: c.6,
        soker_fnr: c.7,
        slettet: c.8 != 0,
    }))
}

/// Up to `limit` deliveries of every mailbox that wait for their receipt, oldest first, after the delivery
/// created at `after` (the previous page's last [`OverdueLeveranse::pos`]; `None` from the start).
pub async fn leveranser_til_ny_levering(
    db: &ReadDb,
    after: Option<(i64, i64)>,
    limit: u32,
) -> Result<Vec<OverdueLeveranse>, ReadError> {
    let limit = i64::from(limit);
    let (commit, prepare) = after.unwrap_or((-1, -1));
    let rows: Vec<(String, String, String, String, i64, i64)> = match db {
        ReadDb::Postgres(pool) => {
            sqlx::query_as(SELECT_OVERDUE).bind(limit).bind(commit).bind(prepare).fetch_all(pool).await?
        }
        ReadDb::Sqlite(pool) => {
            sqlx::query_as(SELECT_OVERDUE).bind(limit).bind(commit).bind(prepare).fetch_all(pool).await?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(leveranse_id, fiks_digisos_id, sist_tilbudt, kanal, c, p)| OverdueLeveranse {
            leveranse_id,
            fiks_digisos_id,
            sist_tilbudt,
            kanal,
            pos: (c, p),
        })
        .collect())
}

fn decode_leveranse(c: LeveranseColumns) -> Result<Leveranse, ReadError> {
    let status = match c.6.as_str() {
        "SENDT" => Leveransestatus::Sendt,
        "BEKREFTET" => Leveransestatus::Bekreftet,
        "AVVIST" => Leveransestatus::Avvist,
        other => return Err(ReadError::Corrupt(format!("mottak_leveranse.status: {other}"))),
    };
    let filer = serde_json::from_str(&c.11).map_err(|e| ReadError::Corrupt(format!("mottak_leveranse.filer: {e}")))?;
    Ok(Leveranse {
        leveranse_id: c.0,
        fiks_org_id: c.1,
        kommunenummer: c.2,
        fiks_digisos_id: c.3,
        kind: c.4,
        nav_ekstern_ref_id: c.5,
        status,
        arsak: c.7,
        created: c.8,
        sist_tilbudt: c.9,
        attempts: c.10,
        filer,
        soknad_leveranse_id: c.12,
        kanal: c.13,
        melding_id: c.14,
    })
}
