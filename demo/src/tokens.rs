//! The demo's tokens: given on the command line for a real deployment, or minted with the development issuer's
//! key from the service's data folder (the service must then run in development mode with that folder).
//!
//! Before minting, the key is compared with the one the service publishes at `/dev-issuer/jwks.json`, so a
//! wrong data folder or a service outside development mode is one clear message instead of a 401 later.
//!
//! The demo is a client of the service and does not link it: the development issuer comes from whoever runs the
//! demo ([`DevIssuers`]; `digisos demo` passes the service's own, see `src/main.rs`).

use std::path::Path;
use std::time::Duration;

use super::DemoArgs;
use super::api::{Api, ApiFailure};

/// How long minted tokens live: long enough for a demo against a slow deployment.
const TTL: Duration = Duration::from_secs(3600);
/// Where a service in development mode publishes its issuer's keys.
pub const JWKS_PATH: &str = "/dev-issuer/jwks.json";

/// A party of the flow a development token is minted for.
#[derive(Debug, Clone, Copy)]
pub enum Party<'a> {
    /// The citizen with this fødselsnummer (`--fnr`).
    Citizen(&'a str),
    /// Nav's system.
    NavSystem,
    /// A Nav support employee with this NAVident (`--navident`).
    NavStaff(&'a str),
    /// The kommune's fagsystem with this organisation number (`--fagsystem-orgnr`).
    Fagsystem(&'a str),
    /// An administrator.
    Admin,
}

/// A development issuer's key.
pub trait DevIssuer {
    /// The key's id, as the service's JWKS names it.
    fn kid(&self) -> &str;
    /// Where the key was read from.
    fn key_path(&self) -> &Path;
    /// A token for `party`, valid for `ttl`; the error names the argument that is wrong.
    fn mint(&self, party: Party<'_>, ttl: Duration) -> Result<String, String>;
}

/// Finds the development issuer of a service's data folder.
pub trait DevIssuers: Sync {
    /// The issuer whose key is in `data_dir`; an error saying why when there is none.
    fn load(&self, data_dir: &Path) -> Result<Box<dyn DevIssuer + Send + Sync>, String>;
}

/// The tokens of the parties of the flow.
#[derive(Clone)]
pub struct Tokens {
    /// The citizen (submits through Nav, sends the ettersendelse, follows the case).
    pub citizen: String,
    /// Nav's system (asks which kommuner take søknader, and whether a søknad reached the kommune).
    pub nav: String,
    /// A Nav support employee.
    pub staff: String,
    /// The kommune's fagsystem.
    pub fagsystem: String,
    /// An administrator, when one is at hand (needed only to configure a kommune that is not configured).
    pub admin: Option<String>,
    /// Where minted tokens came from (`None` when all were given).
    pub minted_from: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens").field("admin", &self.admin.is_some()).field("minted_from", &self.minted_from).finish()
    }
}

/// The tokens the arguments give, the missing ones minted with the development issuer.
pub async fn resolve(args: &DemoArgs, api: &Api, issuers: &dyn DevIssuers) -> Result<Tokens, ApiFailure> {
    let missing: Vec<&str> = [
        ("--citizen-token", &args.citizen_token),
        ("--nav-token", &args.nav_token),
        ("--staff-token", &args.staff_token),
        ("--fagsystem-token", &args.fagsystem_token),
    ]
    .into_iter()
    .filter(|(_, token)| token.is_none())
    .map(|(flag, _)| flag)
    .collect();
    let issuer = if missing.is_empty() {
        // Every party's token was given; an admin token is minted only if this is a development service.
        match &args.admin_token {
            Some(_) => None,
            None => dev_issuer(&args.data_dir, api, issuers).await.ok(),
        }
    } else {
        Some(dev_issuer(&args.data_dir, api, issuers).await.map_err(|why| {
            ApiFailure::Unexpected(format!(
                "no token given for {} and none can be minted: {why}. Either run the demo against a service in \
                 development mode (DIGISOS_DEV_MODE=true) with --data-dir (DIGISOS_DATA_DIR) naming its data \
                 folder, or pass every token: --citizen-token, --nav-token, --staff-token, --fagsystem-token",
                missing.join(", ")
            ))
        })?)
    };
    let mint = |given: &Option<String>, party: Party<'_>| -> Result<String, ApiFailure> {
        match (given, &issuer) {
            (Some(token), _) => Ok(token.trim().to_owned()),
            (None, Some(issuer)) => issuer
                .mint(party, TTL)
                .map_err(|e| ApiFailure::Unexpected(format!("cannot mint a development token: {e}"))),
            (None, None) => Err(ApiFailure::Unexpected("no development issuer to mint a token with".into())),
        }
    };
    Ok(Tokens {
        citizen: mint(&args.citizen_token, Party::Citizen(&args.fnr))?,
        nav: mint(&args.nav_token, Party::NavSystem)?,
        staff: mint(&args.staff_token, Party::NavStaff(&args.navident))?,
        fagsystem: mint(&args.fagsystem_token, Party::Fagsystem(&args.fagsystem_orgnr))?,
        admin: match &args.admin_token {
            Some(token) => Some(token.trim().to_owned()),
            None => issuer.as_ref().and_then(|i| i.mint(Party::Admin, TTL).ok()),
        },
        minted_from: issuer.map(|i| i.key_path().to_path_buf()),
    })
}

/// The development issuer of `data_dir`, if its key exists and is the one the service at `api` trusts.
async fn dev_issuer(
    data_dir: &Path,
    api: &Api,
    issuers: &dyn DevIssuers,
) -> Result<Box<dyn DevIssuer + Send + Sync>, String> {
    let issuer = issuers.load(data_dir)?;
    let key = issuer.key_path().to_path_buf();
    let reply = api
        .send("the development issuer's keys", reqwest::Method::GET, JWKS_PATH, None, None, None)
        .await
        .map_err(|e| e.to_string())?;
    if reply.status == 404 {
        return Err(format!(
            "the service at {} is not in development mode ({JWKS_PATH} answers 404), so it refuses minted tokens",
            api.base()
        ));
    }
    let jwks = reply.expect(200, "the development issuer's keys").map_err(|e| e.to_string())?.json();
    let kids: Vec<&str> =
        jwks["keys"].as_array().map(|ks| ks.iter().filter_map(|k| k["kid"].as_str()).collect()).unwrap_or_default();
    if !kids.contains(&issuer.kid()) {
        return Err(format!(
            "the key {} is not the one the service at {} signs with (another data folder?)",
            key.display(),
            api.base()
        ));
    }
    Ok(issuer)
}
