//! The query root: one field per question an audience asks. Each field has a guard naming its audience (deny by
//! default), reads rows scoped by the caller's identity in SQL, and waits for its read model to reach the
//! position the request asked for.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{ComplexObject, Context, Object, SimpleObject};
use chrono::Utc;
use digisos_projections::innsynslogg::{self, InnsynsloggRad};
use digisos_projections::kommune::{KommuneInfo, alle_kommuner};
use digisos_projections::saker::{self, KommuneSak};
use digisos_projections::sakvisning::{InnsynSak, NavSak, SoknadUtkast, kvalifiserer_for_kort, utkast_fra};
use digisos_projections::{ReadDb, ReadError};
use digisos_schema::events::{SakEvent, sak_stream};
use digisos_schema::types::{FiksDigisosId, Kommunenummer};

use super::context::{
    CITIZEN, FAGSYSTEM, NAV_STAFF, Only, audit, citizen, deps, error, read_model, request, unavailable,
};
use crate::auth::{Caller, Decision, Fnr, SporingsId, StaffAccess};
use crate::eventstore::StreamName;

/// The most items any list returns.
pub const MAX_FIRST: i32 = 100;

/// The query root.
pub struct Query;

#[Object]
impl Query {
    /// The signed-in citizen's own cases, the most recently changed first. Cases with neither a søknad nor any
    /// status from the kommune are not shown. At most `first` (1–100) cases.
    #[graphql(guard = "Only(CITIZEN)")]
    async fn mine_saker(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> async_graphql::Result<Vec<InnsynSak>> {
        let fnr = citizen(ctx)?;
        let db = read_model(ctx, saker::INNSYN).await?;
        let saker = saker::innsyn_saker_for_soker(db, fnr.expose(), count(first)).await.map_err(unavailable)?;
        let now = Utc::now();
        Ok(saker.into_iter().map(|s| s.at(now)).collect())
    }

    /// One of the signed-in citizen's cases in full, with its documents and download links. `null` when no such
    /// case exists for this citizen (whether it does not exist at all or is someone else's).
    #[graphql(guard = "Only(CITIZEN)")]
    async fn sak(&self, ctx: &Context<'_>, fiks_digisos_id: String) -> async_graphql::Result<Option<InnsynSak>> {
        let fnr = citizen(ctx)?;
        let id = parse_id(&fiks_digisos_id)?;
        let db = read_model(ctx, saker::INNSYN).await?;
        let sak = saker::innsyn_sak(db, &id.to_string(), fnr.expose()).await.map_err(unavailable)?;
        Ok(sak.map(|s| s.at(Utc::now())))
    }

    /// Who at Nav has looked at the signed-in citizen's cases, the latest first (at most `first`, 1–100).
    #[graphql(guard = "Only(CITIZEN)")]
    async fn innsynslogg(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> async_graphql::Result<Vec<InnsynsloggRad>> {
        let fnr = citizen(ctx)?;
        let db = read_model(ctx, innsynslogg::NAME).await?;
        innsynslogg::innsynslogg(db, fnr.expose(), count(first)).await.map_err(unavailable)
    }

    /// A draft for a new søknad to `kommunenummer`, prefilled from the citizen's latest søknad (personalia,
    /// family, housing, expenses; each marked as taken from the earlier søknad), and whether the citizen
    /// qualifies for the short søknad (`KORT`): a case in the same kommune with a payment made in the last 50
    /// days or planned within the next 14.
    #[graphql(guard = "Only(CITIZEN)")]
    async fn ny_soknad_utkast(
        &self,
        ctx: &Context<'_>,
        kommunenummer: String,
    ) -> async_graphql::Result<NySoknadUtkast> {
        let fnr = citizen(ctx)?;
        let kommune =
            Kommunenummer::parse(&kommunenummer).map_err(|e| error("BAD_USER_INPUT", format!("kommunenummer: {e}")))?;
        let db = read_model(ctx, saker::INNSYN).await?;
        let saker = saker::innsyn_saker_for_soker(db, fnr.expose(), count(MAX_FIRST)).await.map_err(unavailable)?;
        let now = Utc::now();
        let kort = kvalifiserer_for_kort(&saker, kommune.as_str(), now);
        let mut utkast = None;
        let mut basert_pa = None;
        // The latest Nav søknad (not a paper case) is the one to take answers from.
        for sak in saker.iter().filter(|s| !s.papirsoknad) {
            if let Some(soknad) = original_soknad(ctx, &sak.fiks_digisos_id).await? {
                utkast = Some(utkast_fra(&soknad));
                basert_pa = Some(sak.fiks_digisos_id.clone());
                break;
            }
        }
        Ok(NySoknadUtkast {
            kommunenummer: kommune.as_str().to_owned(),
            soknadstype: if kort { Soknadstype::Kort } else { Soknadstype::Standard },
            basert_pa_fiks_digisos_id: basert_pa,
            utkast,
        })
    }

    /// Nav support: the reduced view of a person's cases changed within the last 15 months, the most recently
    /// changed first. `sporingsId` (Nav's trace id for this lookup) is required; the lookup is recorded in the
    /// audit trail and shown to the citizen before any data is returned.
    #[graphql(guard = "Only(NAV_STAFF)")]
    async fn nav_saker(
        &self,
        ctx: &Context<'_>,
        fnr: String,
        sporings_id: String,
        #[graphql(default = 50, validator(minimum = 1, maximum = 100))] first: i32,
    ) -> async_graphql::Result<Vec<NavSak>> {
        let fnr = Fnr::parse(&fnr).map_err(|e| error("BAD_USER_INPUT", format!("fnr: {e}")))?;
        let sporings_id = parse_sporings_id(&sporings_id)?;
        record(ctx, &fnr, "navSaker", sporings_id, Decision::Permit).await?;
        let db = read_model(ctx, saker::NAVSUPPORT).await?;
        let since = window_start();
        let rows = saker::nav_saker_for_soker(db, fnr.expose(), since, count(first)).await.map_err(unavailable)?;
        let now = Utc::now();
        Ok(rows.into_iter().map(|r| r.sak.at(now)).collect())
    }

    /// Nav support: the reduced view of one case. `null` when the case does not exist. A case unchanged for
    /// more than 15 months is refused (and the refusal recorded). Audited like `navSaker`.
    #[graphql(guard = "Only(NAV_STAFF)")]
    async fn nav_sak(
        &self,
        ctx: &Context<'_>,
        fiks_digisos_id: String,
        sporings_id: String,
    ) -> async_graphql::Result<Option<NavSak>> {
        let id = parse_id(&fiks_digisos_id)?;
        let sporings_id = parse_sporings_id(&sporings_id)?;
        let db = read_model(ctx, saker::NAVSUPPORT).await?;
        let Some(row) = saker::nav_sak(db, &id.to_string()).await.map_err(unavailable)? else { return Ok(None) };
        let fnr = Fnr::parse(&row.soker_fnr).map_err(|_| unavailable("a stored fnr does not parse"))?;
        let what = format!("navSak {id}");
        if row.sist_endret_ms < window_start() {
            record(ctx, &fnr, &what, sporings_id, Decision::Deny).await?;
            return Err(error(
                "FORBIDDEN",
                "the case has not changed for more than 15 months; Nav support may not see it",
            ));
        }
        record(ctx, &fnr, &what, sporings_id, Decision::Permit).await?;
        Ok(Some(row.sak.at(Utc::now())))
    }

    /// A kommune's fagsystem: the cases of the kommuner whose configuration names the caller's organisation as
    /// fagsystem, newest case first. Page with `after` (the `sluttMarkor` of the previous page).
    #[graphql(guard = "Only(FAGSYSTEM)")]
    async fn kommune_saker(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50, validator(minimum = 1, maximum = 100))] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<KommuneSakSide> {
        let Caller::Fagsystem { orgnr } = &request(ctx)?.caller else { return Err(super::context::forbidden()) };
        if let Some(after) = &after {
            parse_id(after)?;
        }
        let db = read_model(ctx, saker::INNSYN).await?;
        let kommuner: Vec<String> = alle_kommuner(db)
            .await
            .map_err(unavailable)?
            .into_iter()
            .filter(|k| k.konfigurasjon.fagsystem_orgnr.contains(orgnr))
            .map(|k| k.kommunenummer.as_str().to_owned())
            .collect();
        if kommuner.is_empty() {
            return Ok(KommuneSakSide { saker: Vec::new(), slutt_markor: None, har_flere: false });
        }
        let mut saker =
            saker::kommune_saker(db, &kommuner, after.as_deref(), count(first) + 1).await.map_err(unavailable)?;
        let har_flere = saker.len() > count(first) as usize;
        saker.truncate(count(first) as usize);
        let slutt_markor = saker.last().map(|s| s.fiks_digisos_id.clone());
        Ok(KommuneSakSide {
            saker: saker.into_iter().map(|sak| KommuneSakNode { sak }).collect(),
            slutt_markor,
            har_flere,
        })
    }
}

/// Whether the new søknad is the short or the standard one.
#[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Soknadstype {
    /// The short søknad (fewer questions, fewer documents): the citizen has a recent or planned payment.
    Kort,
    /// The ordinary søknad.
    Standard,
}

/// A draft for a new søknad.
#[derive(SimpleObject, Debug)]
pub struct NySoknadUtkast {
    /// The kommune the søknad is for.
    pub kommunenummer: String,
    /// `KORT` when the citizen qualifies for the short søknad in this kommune, else `STANDARD`.
    pub soknadstype: Soknadstype,
    /// The case whose søknad the answers were taken from; `null` when the citizen has no earlier søknad.
    pub basert_pa_fiks_digisos_id: Option<String>,
    /// The prefilled answers; `null` when the citizen has no earlier søknad.
    pub utkast: Option<SoknadUtkast>,
}

/// One page of a kommune's cases.
#[derive(SimpleObject, Debug)]
pub struct KommuneSakSide {
    /// The cases of this page, newest case first.
    pub saker: Vec<KommuneSakNode>,
    /// Pass as `after` to get the next page; `null` on an empty page.
    pub slutt_markor: Option<String>,
    /// Whether there are more cases after this page.
    pub har_flere: bool,
}

/// A case of the kommune's list.
#[derive(SimpleObject, Debug)]
#[graphql(complex)]
pub struct KommuneSakNode {
    /// The case.
    #[graphql(flatten)]
    pub sak: KommuneSak,
}

#[ComplexObject]
impl KommuneSakNode {
    /// The kommune's configuration in Fiks Digisos (loaded once per request for all cases of the page).
    async fn kommune(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Kommune>> {
        let loader = ctx.data::<DataLoader<KommuneLoader>>()?;
        loader.load_one(self.sak.kommunenummer.clone()).await.map_err(|e| unavailable(&*e))
    }
}

/// A kommune's switches in Fiks Digisos (`KommuneInfo`).
#[derive(SimpleObject, Debug, Clone)]
pub struct Kommune {
    /// The kommune (4 digits).
    pub kommunenummer: String,
    /// Whether the kommune takes digital søknader.
    pub kan_motta_soknader: bool,
    /// Whether the kommune's fagsystem publishes status to the citizen.
    pub kan_oppdatere_status: bool,
    /// Whether taking søknader is paused.
    pub har_midlertidig_deaktivert_mottak: bool,
    /// Whether status updates are paused.
    pub har_midlertidig_deaktivert_oppdateringer: bool,
    /// Whether Nav Kontaktsenter may see the kommune's cases.
    pub har_nks_tilgang: bool,
}

impl From<KommuneInfo> for Kommune {
    fn from(info: KommuneInfo) -> Self {
        let k = info.konfigurasjon;
        Self {
            kommunenummer: info.kommunenummer.as_str().to_owned(),
            kan_motta_soknader: k.kan_motta_soknader,
            kan_oppdatere_status: k.kan_oppdatere_status,
            har_midlertidig_deaktivert_mottak: k.har_midlertidig_deaktivert_mottak,
            har_midlertidig_deaktivert_oppdateringer: k.har_midlertidig_deaktivert_oppdateringer,
            har_nks_tilgang: k.har_nks_tilgang,
        }
    }
}

/// Loads kommune configurations by kommunenummer, batched within one request. Created per request: a loader
/// caches, and a cache shared between requests would outlive a configuration change.
pub struct KommuneLoader {
    db: ReadDb,
}

impl KommuneLoader {
    /// A loader over the read models.
    pub fn new(db: ReadDb) -> Self {
        Self { db }
    }
}

impl Loader<String> for KommuneLoader {
    type Value = Kommune;
    type Error = Arc<ReadError>;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Kommune>, Self::Error> {
        let alle = alle_kommuner(&self.db).await.map_err(Arc::new)?;
        Ok(alle
            .into_iter()
            .filter(|k| keys.iter().any(|key| key == k.kommunenummer.as_str()))
            .map(|k| (k.kommunenummer.as_str().to_owned(), Kommune::from(k)))
            .collect())
    }
}

fn count(first: i32) -> u32 {
    u32::try_from(first.clamp(1, MAX_FIRST)).unwrap_or(1)
}

fn parse_id(id: &str) -> async_graphql::Result<FiksDigisosId> {
    FiksDigisosId::parse(id).map_err(|e| error("BAD_USER_INPUT", format!("fiksDigisosId: {e}")))
}

fn parse_sporings_id(id: &str) -> async_graphql::Result<SporingsId> {
    SporingsId::parse(id).map_err(|e| error("BAD_USER_INPUT", format!("sporingsId: {e}")))
}

/// The oldest `sist_endret` Nav support may see, in milliseconds since the epoch (the 15 months of DOMAIN.md D,
/// shared with the REST staff endpoints).
fn window_start() -> i64 {
    saker::nav_vindu_start(Utc::now())
}

/// Records a staff lookup before anything is returned; a failed record fails the lookup.
async fn record(
    ctx: &Context<'_>,
    fnr: &Fnr,
    what: &str,
    sporings_id: SporingsId,
    decision: Decision,
) -> async_graphql::Result<()> {
    let info = request(ctx)?;
    let Caller::NavStaff { navident } = &info.caller else { return Err(super::context::forbidden()) };
    let entry = StaffAccess {
        navident: navident.clone(),
        fnr: fnr.clone(),
        what: what.to_owned(),
        sporings_id,
        decision,
        method: "POST".to_owned(),
        path: "/graphql".to_owned(),
        call_id: info.request_id.clone(),
    };
    audit(ctx)?.record(&entry).await.map_err(|e| {
        tracing::error!(error = %e, "a staff lookup could not be recorded; refused");
        error("UNAVAILABLE", "the lookup could not be recorded in the audit trail, so it is refused")
    })
}

/// The `soknad.json` of case `id` as Nav sent it, from the case's first event and the document store.
async fn original_soknad(ctx: &Context<'_>, id: &str) -> async_graphql::Result<Option<serde_json::Value>> {
    let deps = deps(ctx)?;
    let Ok(id) = FiksDigisosId::parse(id) else { return Ok(None) };
    let stream = StreamName::parse(sak_stream(id)).map_err(unavailable)?;
    let events = deps.store.read_stream(&stream, 0, 1).await.map_err(unavailable)?;
    let Some(first) = events.first() else { return Ok(None) };
    let Ok(SakEvent::SoknadMottatt(soknad)) = SakEvent::decode(&first.event_type, &first.data) else {
        return Ok(None);
    };
    let bytes = deps.documents.get(&soknad.metadata.sha512).await.map_err(unavailable)?;
    Ok(serde_json::from_slice(&bytes).ok())
}
