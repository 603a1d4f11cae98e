//! Reading the `kommune` read model. Every query selects the active version in the same statement
//! (`projection_state.active_version` of `kommune`), so a read during a rebuild sees one whole version.

use digisos_schema::Orgnr;
use digisos_schema::events::{FiksIoIntegrasjon, KommuneKonfigurasjon, Kontaktpersoner};
use digisos_schema::types::{Enhetsnummer, FiksOrgId, Kommunenummer, Tidspunkt};
use serde::Serialize;

use crate::projection::{ReadDb, ReadError};

/// A kommune's configuration as the read model holds it: DOMAIN.md A.6's `KommuneInfo` plus its Fiks
/// organisation, fagsystem organisations and NAV offices.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KommuneInfo {
    /// The kommune.
    pub kommunenummer: Kommunenummer,
    /// Its whole configuration (switches, `fiksOrgId`, fagsystem orgnrs, NAV offices, contacts).
    pub konfigurasjon: KommuneKonfigurasjon,
    /// When the configuration last changed.
    pub sist_endret: Tidspunkt,
}

/// The columns every query selects, as text and booleans on both backends.
type Columns = (
    String,
    String,
    String,
    String,
    bool,
    bool,
    bool,
    bool,
    bool,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

macro_rules! select_columns {
    ($cast:literal) => {
        concat!(
            "SELECT k.kommunenummer, k.fiks_org_id",
            $cast,
            ", k.fagsystem_orgnr",
            $cast,
            ", k.nav_enheter",
            $cast,
            ", k.kan_motta_soknader, k.kan_oppdatere_status, k.har_midlertidig_deaktivert_mottak,
               k.har_midlertidig_deaktivert_oppdateringer, k.har_nks_tilgang, k.kontaktpersoner",
            $cast,
            ", k.behandlingsansvarlig, k.sist_endret, k.fiks_io_konto_id, k.fiks_io_sertifikat,
                    k.fiks_io_integrasjon_id, k.fiks_io_passord_hash
               FROM kommuneinfo k
              WHERE k.version = (SELECT active_version FROM projection_state WHERE name = 'kommune')"
        )
    };
}

const PG_SELECT_ONE: &str = concat!(select_columns!("::text"), " AND k.kommunenummer = $1");
const PG_SELECT_ALL: &str = concat!(select_columns!("::text"), " ORDER BY k.kommunenummer");
const PG_SELECT_ORG: &str =
    concat!(select_columns!("::text"), " AND k.fiks_org_id = $1::uuid ORDER BY k.kommunenummer");
const PG_SELECT_KONTO: &str = concat!(select_columns!("::text"), " AND k.fiks_io_konto_id = $1");
const SQLITE_SELECT_KONTO: &str = concat!(select_columns!(""), " AND k.fiks_io_konto_id = ?1");
const PG_SELECT_INTEGRASJON: &str = concat!(select_columns!("::text"), " AND k.fiks_io_integrasjon_id = $1");
const SQLITE_SELECT_INTEGRASJON: &str = concat!(select_columns!(""), " AND k.fiks_io_integrasjon_id = ?1");
const SQLITE_SELECT_ONE: &str = concat!(select_columns!(""), " AND k.kommunenummer = ?1");
const SQLITE_SELECT_ALL: &str = concat!(select_columns!(""), " ORDER BY k.kommunenummer");
const SQLITE_SELECT_ORG: &str = concat!(select_columns!(""), " AND k.fiks_org_id = ?1 ORDER BY k.kommunenummer");

/// The configuration of `kommunenummer`, or `None` when it is not configured.
pub async fn kommune_info(db: &ReadDb, kommunenummer: Kommunenummer) -> Result<Option<KommuneInfo>, ReadError> {
    let row = match db {
        ReadDb::Postgres(pool) => {
            sqlx::query_as::<_, Columns>(PG_SELECT_ONE).bind(kommunenummer.as_str()).fetch_optional(pool).await?
        }
        ReadDb::Sqlite(pool) => {
            sqlx::query_as::<_, Columns>(SQLITE_SELECT_ONE).bind(kommunenummer.as_str()).fetch_optional(pool).await?
        }
    };
    row.map(decode).transpose()
}

/// The kommune whose Fiks IO account is `konto_id`, if any (an account belongs to one kommune: the admin API
/// refuses a second).
pub async fn kommune_for_konto(db: &ReadDb, konto_id: uuid::Uuid) -> Result<Option<KommuneInfo>, ReadError> {
    let id = konto_id.to_string();
    let row = match db {
        ReadDb::Postgres(pool) => sqlx::query_as::<_, Columns>(PG_SELECT_KONTO).bind(&id).fetch_optional(pool).await?,
        ReadDb::Sqlite(pool) => {
            sqlx::query_as::<_, Columns>(SQLITE_SELECT_KONTO).bind(&id).fetch_optional(pool).await?
        }
    };
    row.map(decode).transpose()
}

/// The kommune whose Fiks IO integration is `integrasjon_id` (the broker login's username), if any.
pub async fn kommune_for_integrasjon(
    db: &ReadDb,
    integrasjon_id: uuid::Uuid,
) -> Result<Option<KommuneInfo>, ReadError> {
    let id = integrasjon_id.to_string();
    let row = match db {
        ReadDb::Postgres(pool) => {
            sqlx::query_as::<_, Columns>(PG_SELECT_INTEGRASJON).bind(&id).fetch_optional(pool).await?
        }
        ReadDb::Sqlite(pool) => {
            sqlx::query_as::<_, Columns>(SQLITE_SELECT_INTEGRASJON).bind(&id).fetch_optional(pool).await?
        }
    };
    row.map(decode).transpose()
}

/// Every configured kommune, by kommunenummer.
pub async fn alle_kommuner(db: &ReadDb) -> Result<Vec<KommuneInfo>, ReadError> {
    let rows = match db {
        ReadDb::Postgres(pool) => sqlx::query_as::<_, Columns>(PG_SELECT_ALL).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as::<_, Columns>(SQLITE_SELECT_ALL).fetch_all(pool).await?,
    };
    rows.into_iter().map(decode).collect()
}

/// The kommuner the Fiks organisation `fiks_org_id` stands for (the scope of a fagsystem path), by kommunenummer.
pub async fn kommuner_for_fiks_org(db: &ReadDb, fiks_org_id: FiksOrgId) -> Result<Vec<KommuneInfo>, ReadError> {
    let id = fiks_org_id.to_string();
    let rows = match db {
        ReadDb::Postgres(pool) => sqlx::query_as::<_, Columns>(PG_SELECT_ORG).bind(&id).fetch_all(pool).await?,
        ReadDb::Sqlite(pool) => sqlx::query_as::<_, Columns>(SQLITE_SELECT_ORG).bind(&id).fetch_all(pool).await?,
    };
    rows.into_iter().map(decode).collect()
}

/// The kommuner NAV office `enhet` routes to, by kommunenummer: normally one, none when no kommune lists the
/// office, several only when configurations conflict (the write side refuses to create that).
pub async fn kommuner_for_nav_enhet(db: &ReadDb, enhet: Enhetsnummer) -> Result<Vec<Kommunenummer>, ReadError> {
    let numbers: Vec<String> = match db {
        ReadDb::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT e.kommunenummer FROM kommuneinfo_enheter e
                  WHERE e.version = (SELECT active_version FROM projection_state WHERE name = 'kommune')
                    AND e.enhetsnummer = $1
                  ORDER BY e.kommunenummer",
            )
            .bind(enhet.as_str())
            .fetch_all(pool)
            .await?
        }
        ReadDb::Sqlite(pool) => {
            sqlx::query_scalar(
                "SELECT e.kommunenummer FROM kommuneinfo_enheter e
                  WHERE e.version = (SELECT active_version FROM projection_state WHERE name = 'kommune')
                    AND e.enhetsnummer = ?1
                  ORDER BY e.kommunenummer",
            )
            .bind(enhet.as_str())
            .fetch_all(pool)
            .await?
        }
    };
    numbers.iter().map(|n| Kommunenummer::parse(n).map_err(|e| ReadError::Corrupt(e.to_string()))).collect()
}

fn decode(columns: Columns) -> Result<KommuneInfo, ReadError> {
    let (kommunenummer, fiks_org_id, fagsystem_orgnr, nav_enheter, mottak, status, mottak_av, status_av, nks) =
        (columns.0, columns.1, columns.2, columns.3, columns.4, columns.5, columns.6, columns.7, columns.8);
    let (kontaktpersoner, behandlingsansvarlig, sist_endret) = (columns.9, columns.10, columns.11);
    let corrupt = |what: &str, e: &dyn std::fmt::Display| ReadError::Corrupt(format!("kommuneinfo.{what}: {e}"));
    let kommunenummer = Kommunenummer::parse(&kommunenummer).map_err(|e| corrupt("kommunenummer", &e))?;
    let konfigurasjon = KommuneKonfigurasjon {
        fiks_org_id: FiksOrgId::parse(&fiks_org_id).map_err(|e| corrupt("fiks_org_id", &e))?,
        fagsystem_orgnr: serde_json::from_str::<Vec<Orgnr>>(&fagsystem_orgnr)
            .map_err(|e| corrupt("fagsystem_orgnr", &e))?,
        nav_enheter: serde_json::from_str::<Vec<Enhetsnummer>>(&nav_enheter).map_err(|e| corrupt("nav_enheter", &e))?,
        kan_motta_soknader: mottak,
        kan_oppdatere_status: status,
        har_midlertidig_deaktivert_mottak: mottak_av,
        har_midlertidig_deaktivert_oppdateringer: status_av,
        har_nks_tilgang: nks,
        kontaktpersoner: serde_json::from_str::<Kontaktpersoner>(&kontaktpersoner)
            .map_err(|e| corrupt("kontaktpersoner", &e))?,
        behandlingsansvarlig,
        fiks_io_konto_id: columns
            .12
            .as_deref()
            .map(uuid::Uuid::parse_str)
            .transpose()
            .map_err(|e| corrupt("fiks_io_konto_id", &e))?,
        fiks_io_sertifikat: columns.13,
        fiks_io_integrasjon: match (columns.14, columns.15) {
            (Some(id), Some(passord_hash)) => Some(FiksIoIntegrasjon {
                integrasjon_id: uuid::Uuid::parse_str(&id).map_err(|e| corrupt("fiks_io_integrasjon_id", &e))?,
                passord_hash,
            }),
            _ => None,
        },
    };
    let sist_endret = Tidspunkt::parse(&sist_endret).map_err(|e| corrupt("sist_endret", &e))?;
    Ok(KommuneInfo { kommunenummer, konfigurasjon, sist_endret })
}
