//! Writing the `kommune` read model: one upsert per batch, the batch passed as a JSON array of rows.
//!
//! The SQL is written once per backend and is static (sqlx 0.9 refuses built strings). PostgreSQL unpacks the
//! rows with `jsonb_to_recordset`, SQLite with `json_each`; both upsert on `(version, kommunenummer)` only when
//! the incoming stream revision is newer, then rewrite the NAV offices of the touched kommuner from the rows
//! as stored, so the office table always agrees with the row that won.

use digisos_schema::events::KommuneKonfigurert;
use serde::Serialize;

use crate::projection::{ApplyError, Tx};

/// One kommune's row as the upsert receives it (field names are the column names).
#[derive(Debug, Serialize)]
pub(super) struct Row {
    kommunenummer: String,
    fiks_org_id: String,
    fagsystem_orgnr: serde_json::Value,
    pub(super) nav_enheter: serde_json::Value,
    kan_motta_soknader: bool,
    kan_oppdatere_status: bool,
    har_midlertidig_deaktivert_mottak: bool,
    har_midlertidig_deaktivert_oppdateringer: bool,
    har_nks_tilgang: bool,
    kontaktpersoner: serde_json::Value,
    behandlingsansvarlig: Option<String>,
    fiks_io_konto_id: Option<String>,
    fiks_io_sertifikat: Option<String>,
    fiks_io_integrasjon_id: Option<String>,
    fiks_io_passord_hash: Option<String>,
    sist_endret: String,
    pub(super) revision: i64,
}

impl Row {
    /// The row of a configuration event found at stream revision `revision`.
    pub(super) fn new(event: &KommuneKonfigurert, revision: i64) -> Self {
        let k = &event.konfigurasjon;
        let json = |value: serde_json::Result<serde_json::Value>| value.unwrap_or(serde_json::Value::Null);
        Self {
            kommunenummer: event.kommunenummer.as_str().to_owned(),
            fiks_org_id: k.fiks_org_id.to_string(),
            fagsystem_orgnr: json(serde_json::to_value(&k.fagsystem_orgnr)),
            nav_enheter: json(serde_json::to_value(&k.nav_enheter)),
            kan_motta_soknader: k.kan_motta_soknader,
            kan_oppdatere_status: k.kan_oppdatere_status,
            har_midlertidig_deaktivert_mottak: k.har_midlertidig_deaktivert_mottak,
            har_midlertidig_deaktivert_oppdateringer: k.har_midlertidig_deaktivert_oppdateringer,
            har_nks_tilgang: k.har_nks_tilgang,
            kontaktpersoner: json(serde_json::to_value(&k.kontaktpersoner)),
            behandlingsansvarlig: k.behandlingsansvarlig.clone(),
            fiks_io_konto_id: k.fiks_io_konto_id.map(|id| id.to_string()),
            fiks_io_sertifikat: k.fiks_io_sertifikat.clone(),
            fiks_io_integrasjon_id: k.fiks_io_integrasjon.as_ref().map(|i| i.integrasjon_id.to_string()),
            fiks_io_passord_hash: k.fiks_io_integrasjon.as_ref().map(|i| i.passord_hash.clone()),
            sist_endret: event.tidspunkt.as_str().to_owned(),
            revision,
        }
    }
}

const PG_UPSERT: &str = "
INSERT INTO kommuneinfo AS k (version, kommunenummer, fiks_org_id, fagsystem_orgnr, nav_enheter,
       kan_motta_soknader, kan_oppdatere_status, har_midlertidig_deaktivert_mottak,
       har_midlertidig_deaktivert_oppdateringer, har_nks_tilgang, kontaktpersoner, behandlingsansvarlig,
       sist_endret, revision, fiks_io_konto_id, fiks_io_sertifikat, fiks_io_integrasjon_id, fiks_io_passord_hash)
SELECT $1, r.kommunenummer, r.fiks_org_id, r.fagsystem_orgnr, r.nav_enheter, r.kan_motta_soknader,
       r.kan_oppdatere_status, r.har_midlertidig_deaktivert_mottak, r.har_midlertidig_deaktivert_oppdateringer,
       r.har_nks_tilgang, r.kontaktpersoner, r.behandlingsansvarlig, r.sist_endret, r.revision,
       r.fiks_io_konto_id, r.fiks_io_sertifikat, r.fiks_io_integrasjon_id, r.fiks_io_passord_hash
  FROM jsonb_to_recordset($2) AS r (kommunenummer text, fiks_org_id uuid, fagsystem_orgnr jsonb,
       nav_enheter jsonb, kan_motta_soknader boolean, kan_oppdatere_status boolean,
       har_midlertidig_deaktivert_mottak boolean, har_midlertidig_deaktivert_oppdateringer boolean,
       har_nks_tilgang boolean, kontaktpersoner jsonb, behandlingsansvarlig text, sist_endret text,
       revision bigint, fiks_io_konto_id text, fiks_io_sertifikat text, fiks_io_integrasjon_id text,
       fiks_io_passord_hash text)
ON CONFLICT (version, kommunenummer) DO UPDATE SET
       fiks_org_id = excluded.fiks_org_id, fagsystem_orgnr = excluded.fagsystem_orgnr,
       nav_enheter = excluded.nav_enheter, kan_motta_soknader = excluded.kan_motta_soknader,
       kan_oppdatere_status = excluded.kan_oppdatere_status,
       har_midlertidig_deaktivert_mottak = excluded.har_midlertidig_deaktivert_mottak,
       har_midlertidig_deaktivert_oppdateringer = excluded.har_midlertidig_deaktivert_oppdateringer,
       har_nks_tilgang = excluded.har_nks_tilgang, kontaktpersoner = excluded.kontaktpersoner,
       behandlingsansvarlig = excluded.behandlingsansvarlig, sist_endret = excluded.sist_endret,
       revision = excluded.revision, fiks_io_konto_id = excluded.fiks_io_konto_id,
       fiks_io_sertifikat = excluded.fiks_io_sertifikat, fiks_io_integrasjon_id = excluded.fiks_io_integrasjon_id,
       fiks_io_passord_hash = excluded.fiks_io_passord_hash
 WHERE k.revision < excluded.revision";

const PG_DELETE_ENHETER: &str =
    "DELETE FROM kommuneinfo_enheter WHERE version = $1 AND kommunenummer = ANY($2::text[])";

const PG_INSERT_ENHETER: &str = "
INSERT INTO kommuneinfo_enheter (version, enhetsnummer, kommunenummer)
SELECT k.version, e.enhet, k.kommunenummer
  FROM kommuneinfo k CROSS JOIN LATERAL jsonb_array_elements_text(k.nav_enheter) AS e (enhet)
 WHERE k.version = $1 AND k.kommunenummer = ANY($2::text[])
ON CONFLICT DO NOTHING";

// `WHERE true` keeps SQLite from reading `ON CONFLICT` as part of the SELECT's join.
const SQLITE_UPSERT: &str = "
INSERT INTO kommuneinfo (version, kommunenummer, fiks_org_id, fagsystem_orgnr, nav_enheter,
       kan_motta_soknader, kan_oppdatere_status, har_midlertidig_deaktivert_mottak,
       har_midlertidig_deaktivert_oppdateringer, har_nks_tilgang, kontaktpersoner, behandlingsansvarlig,
       sist_endret, revision, fiks_io_konto_id, fiks_io_sertifikat, fiks_io_integrasjon_id, fiks_io_passord_hash)
SELECT ?1, r.value ->> '$.kommunenummer', r.value ->> '$.fiks_org_id', r.value -> '$.fagsystem_orgnr',
       r.value -> '$.nav_enheter', r.value ->> '$.kan_motta_soknader', r.value ->> '$.kan_oppdatere_status',
       r.value ->> '$.har_midlertidig_deaktivert_mottak', r.value ->> '$.har_midlertidig_deaktivert_oppdateringer',
       r.value ->> '$.har_nks_tilgang', r.value -> '$.kontaktpersoner', r.value ->> '$.behandlingsansvarlig',
       r.value ->> '$.sist_endret', r.value ->> '$.revision', r.value ->> '$.fiks_io_konto_id',
       r.value ->> '$.fiks_io_sertifikat', r.value ->> '$.fiks_io_integrasjon_id', r.value ->> '$.fiks_io_passord_hash'
  FROM json_each(?2) AS r
 WHERE true
ON CONFLICT (version, kommunenummer) DO UPDATE SET
       fiks_org_id = excluded.fiks_org_id, fagsystem_orgnr = excluded.fagsystem_orgnr,
       nav_enheter = excluded.nav_enheter, kan_motta_soknader = excluded.kan_motta_soknader,
       kan_oppdatere_status = excluded.kan_oppdatere_status,
       har_midlertidig_deaktivert_mottak = excluded.har_midlertidig_deaktivert_mottak,
       har_midlertidig_deaktivert_oppdateringer = excluded.har_midlertidig_deaktivert_oppdateringer,
       har_nks_tilgang = excluded.har_nks_tilgang, kontaktpersoner = excluded.kontaktpersoner,
       behandlingsansvarlig = excluded.behandlingsansvarlig, sist_endret = excluded.sist_endret,
       revision = excluded.revision, fiks_io_konto_id = excluded.fiks_io_konto_id,
       fiks_io_sertifikat = excluded.fiks_io_sertifikat, fiks_io_integrasjon_id = excluded.fiks_io_integrasjon_id,
       fiks_io_passord_hash = excluded.fiks_io_passord_hash
 WHERE kommuneinfo.revision < excluded.revision";

const SQLITE_DELETE_ENHETER: &str =
    "DELETE FROM kommuneinfo_enheter WHERE version = ?1 AND kommunenummer IN (SELECT value FROM json_each(?2))";

const SQLITE_INSERT_ENHETER: &str = "
INSERT OR IGNORE INTO kommuneinfo_enheter (version, enhetsnummer, kommunenummer)
SELECT k.version, e.value, k.kommunenummer
  FROM kommuneinfo k, json_each(k.nav_enheter) AS e
 WHERE k.version = ?1 AND k.kommunenummer IN (SELECT value FROM json_each(?2))";

/// Upserts `rows` into version `model_version` and rewrites their NAV offices.
pub(super) async fn upsert(rows: &[Row], model_version: i32, tx: Tx<'_>) -> Result<(), ApplyError> {
    let kommuner: Vec<String> = rows.iter().map(|r| r.kommunenummer.clone()).collect();
    let rows_json = serde_json::to_value(rows).map_err(|e| ApplyError::Database(sqlx::Error::Encode(e.into())))?;
    match tx {
        Tx::Postgres(conn) => {
            sqlx::query(PG_UPSERT).bind(model_version).bind(&rows_json).execute(&mut *conn).await?;
            sqlx::query(PG_DELETE_ENHETER).bind(model_version).bind(&kommuner).execute(&mut *conn).await?;
            sqlx::query(PG_INSERT_ENHETER).bind(model_version).bind(&kommuner).execute(&mut *conn).await?;
        }
        Tx::Sqlite(conn) => {
            let kommuner = serde_json::Value::from(kommuner).to_string();
            sqlx::query(SQLITE_UPSERT).bind(model_version).bind(rows_json.to_string()).execute(&mut *conn).await?;
            sqlx::query(SQLITE_DELETE_ENHETER).bind(model_version).bind(&kommuner).execute(&mut *conn).await?;
            sqlx::query(SQLITE_INSERT_ENHETER).bind(model_version).bind(&kommuner).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// Deletes up to `limit` rows of each table of version `model_version`.
pub(super) async fn purge(model_version: i32, limit: u32, tx: Tx<'_>) -> Result<u64, ApplyError> {
    let limit = i64::from(limit);
    let deleted = match tx {
        Tx::Postgres(conn) => {
            let enheter = sqlx::query(
                "DELETE FROM kommuneinfo_enheter WHERE (version, enhetsnummer, kommunenummer) IN
                   (SELECT version, enhetsnummer, kommunenummer FROM kommuneinfo_enheter WHERE version = $1 LIMIT $2)",
            )
            .bind(model_version)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
            let kommuner = sqlx::query(
                "DELETE FROM kommuneinfo WHERE (version, kommunenummer) IN
                   (SELECT version, kommunenummer FROM kommuneinfo WHERE version = $1 LIMIT $2)",
            )
            .bind(model_version)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
            enheter.rows_affected() + kommuner.rows_affected()
        }
        Tx::Sqlite(conn) => {
            let enheter = sqlx::query(
                "DELETE FROM kommuneinfo_enheter WHERE rowid IN
                   (SELECT rowid FROM kommuneinfo_enheter WHERE version = ?1 LIMIT ?2)",
            )
            .bind(model_version)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
            let kommuner = sqlx::query(
                "DELETE FROM kommuneinfo WHERE rowid IN (SELECT rowid FROM kommuneinfo WHERE version = ?1 LIMIT ?2)",
            )
            .bind(model_version)
            .bind(limit)
            .execute(&mut *conn)
            .await?;
            enheter.rows_affected() + kommuner.rows_affected()
        }
    };
    Ok(deleted)
}
