//! Writing the `mottak` read model: one statement per event, in feed order, inside the runner's transaction.
//!
//! A delivery row is built from two events (the søknad or ettersendelse carries the files, `LeveranseOpprettet`
//! names the delivery), which may arrive in different batches; the files therefore wait in `mottak_innsending`
//! and the delivery is inserted from there with `INSERT … SELECT`. The mailbox sees a few events per case, so a
//! statement per event is cheap next to the case's own appends, and it keeps every rule in one obvious SQL line.
//!
//! The SQL text is the same on both backends: ids, times and JSON are text columns, and parameters are written
//! `$n` in the order of first use, which SQLite reads as named parameters numbered by first appearance.

use crate::projection::{ApplyError, Tx};
pub(super) use crate::sql::{Arg, Conn};

/// A case seen for the first time (søknad or paper case).
pub(super) const INSERT_SAK: &str = "
INSERT INTO mottak_sak (version, fiks_digisos_id, fiks_org_id, kommunenummer, soker_fnr)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (version, fiks_digisos_id) DO NOTHING";

/// The case was deleted.
pub(super) const SLETT_SAK: &str = "UPDATE mottak_sak SET slettet = 1 WHERE version = $1 AND fiks_digisos_id = $2";

/// The files of a søknad or ettersendelse, until its delivery row is made.
pub(super) const INSERT_INNSENDING: &str = "
INSERT INTO mottak_innsending (version, fiks_digisos_id, nav_ekstern_ref_id, filer)
VALUES ($1, $2, $3, $4)
ON CONFLICT (version, fiks_digisos_id, nav_ekstern_ref_id) DO NOTHING";

/// A delivery, from its case and the files of the forsendelse it carries.
pub(super) const INSERT_LEVERANSE: &str = "
INSERT INTO mottak_leveranse (version, leveranse_id, fiks_org_id, kommunenummer, fiks_digisos_id, kind,
       nav_ekstern_ref_id, status, arsak, created, sist_tilbudt, attempts, filer, pos_commit, pos_prepare, kanal,
       melding_id)
SELECT $1, $2, $3, s.kommunenummer, s.fiks_digisos_id, $4, i.nav_ekstern_ref_id, 'SENDT', NULL, $5, $5, 1,
       i.filer, $6, $7, $8, $9
  FROM mottak_sak s
  JOIN mottak_innsending i ON i.version = s.version AND i.fiks_digisos_id = s.fiks_digisos_id
 WHERE s.version = $1 AND s.fiks_digisos_id = $10 AND i.nav_ekstern_ref_id = $11
ON CONFLICT (version, leveranse_id) DO NOTHING";

// The version as an init-plan value in the two updates below: as a plain parameter, a rebuild's version (absent
// from statistics taken before the rebuild) let PostgreSQL's planner pick `mottak_leveranse_ko` (which starts with
// `version`) and filter every rebuilt delivery by id, instead of the primary key (see `saker/write.rs`).

/// A delivery was offered again.
pub(super) const TILBUDT_IGJEN: &str = "
UPDATE mottak_leveranse SET attempts = $1, sist_tilbudt = $2
 WHERE version = (SELECT CAST($3 AS integer)) AND leveranse_id = $4";

/// A Fiks IO delivery fell back to the mailbox: offered there from now on.
pub(super) const TIL_MOTTAK: &str = "
UPDATE mottak_leveranse SET kanal = 'MOTTAK', sist_tilbudt = $1
 WHERE version = (SELECT CAST($2 AS integer)) AND leveranse_id = $3";

/// A delivery was confirmed or rejected.
pub(super) const BESVART: &str = "
UPDATE mottak_leveranse SET status = $1, arsak = $2 WHERE version = (SELECT CAST($3 AS integer)) AND leveranse_id = $4";

/// A downloadable document of a case.
pub(super) const INSERT_DOKUMENT: &str = "
INSERT INTO mottak_dokument (version, dokumentlager_id, fiks_digisos_id, filnavn, mimetype, storrelse, sha512)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (version, dokumentlager_id) DO NOTHING";

/// The fagsystem deleted a file.
pub(super) const SLETT_DOKUMENT: &str = "
DELETE FROM mottak_dokument WHERE version = $1 AND dokumentlager_id = $2 AND fiks_digisos_id = $3";

/// Deletes up to `limit` rows of each table of version `model_version`.
pub(super) async fn purge(model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
    let mut conn = Conn::from(tx);
    let args = [Arg::Int(i64::from(model_version)), Arg::Int(i64::from(limit))];
    let mut deleted = 0;
    for sql in PURGE {
        deleted += conn.execute(sql, &args).await?;
    }
    Ok(deleted)
}

// Each table's primary key, so one statement serves both backends (no rowid, no ctid).
const PURGE: [&str; 4] = [
    "DELETE FROM mottak_sak WHERE (version, fiks_digisos_id) IN
       (SELECT version, fiks_digisos_id FROM mottak_sak WHERE version = $1 LIMIT $2)",
    "DELETE FROM mottak_innsending WHERE (version, fiks_digisos_id, nav_ekstern_ref_id) IN
       (SELECT version, fiks_digisos_id, nav_ekstern_ref_id FROM mottak_innsending WHERE version = $1 LIMIT $2)",
    "DELETE FROM mottak_leveranse WHERE (version, leveranse_id) IN
       (SELECT version, leveranse_id FROM mottak_leveranse WHERE version = $1 LIMIT $2)",
    "DELETE FROM mottak_dokument WHERE (version, dokumentlager_id) IN
       (SELECT version, dokumentlager_id FROM mottak_dokument WHERE version = $1 LIMIT $2)",
];
