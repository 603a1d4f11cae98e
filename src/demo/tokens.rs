//! The demo's tokens: given on the command line for a real deployment, or minted with the development issuer's
//! key from the service's data folder (the service must then run in development mode with that folder).
//!
//! Before minting, the key is compared with the one the service publishes at `/dev-issuer/jwks.json`, so a
//! wrong data folder or a service outside development mode is one clear message instead of a 401 later.

use std::path::Path;
use std::time::Duration;

use super::DemoArgs;
use super::api::{Api, ApiFailure};
use crate::auth::dev_issuer::{DevIssuer, DevRole, JWKS_PATH, KEY_FILE};
use crate::auth::{Fnr, NavIdent, Orgnr};

/// How long minted tokens live: long enough for a demo against a slow deployment.
const TTL: Duration = Duration::from_secs(3600);

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
pub async fn resolve(args: &DemoArgs, api: &Api) -> Result<Tokens, ApiFailure> {
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
            None => dev_issuer(&args.data_dir, api).await.ok(),
        }
    } else {
        Some(dev_issuer(&args.data_dir, api).await.map_err(|why| {
            ApiFailure::Unexpected(format!(
                "no token given for {} and none can be minted: {why}. Either run the demo against a service in \
                 development mode (DIGISOS_DEV_MODE=true) with --data-dir (DIGISOS_DATA_DIR) naming its data \
                 folder, or pass every token: --citizen-token, --nav-token, --staff-token, --fagsystem-token",
                missing.join(", ")
            ))
        })?)
    };
    let mint = |given: &Option<String>, role: DevRole| -> Result<String, ApiFailure> {
        match (given, &issuer) {
            (Some(token), _) => Ok(token.trim().to_owned()),
            (None, Some(issuer)) => issuer
                .mint(&role, TTL)
                .map_err(|e| ApiFailure::Unexpected(format!("cannot mint a development token: {e}"))),
            (None, None) => Err(ApiFailure::Unexpected("no development issuer to mint a token with".into())),
        }
    };
    let identity = |what: &str, e: &dyn std::fmt::Display| ApiFailure::Unexpected(format!("{what}: {e}"));
    let fnr = Fnr::parse(&args.fnr).map_err(|e| identity("--fnr", &e))?;
    let navident = NavIdent::parse(&args.navident).map_err(|e| identity("--navident", &e))?;
    let orgnr = Orgnr::parse(&args.fagsystem_orgnr).map_err(|e| identity("--fagsystem-orgnr", &e))?;
    Ok(Tokens {
        citizen: mint(&args.citizen_token, DevRole::Citizen(fnr))?,
        nav: mint(&args.nav_token, DevRole::NavSystem)?,
        staff: mint(&args.staff_token, DevRole::NavStaff(navident))?,
        fagsystem: mint(&args.fagsystem_token, DevRole::Fagsystem(orgnr))?,
        admin: match &args.admin_token {
            Some(token) => Some(token.trim().to_owned()),
            None => issuer.as_ref().and_then(|i| i.mint(&DevRole::Admin, TTL).ok()),
        },
        minted_from: issuer.map(|i| i.key_path().to_path_buf()),
    })
}

/// The development issuer of `data_dir`, if its key exists and is the one the service at `api` trusts.
async fn dev_issuer(data_dir: &Path, api: &Api) -> Result<DevIssuer, String> {
    let key = data_dir.join(KEY_FILE);
    if !key.exists() {
        return Err(format!("there is no development issuer key at {}", key.display()));
    }
    let issuer = DevIssuer::load_or_create(data_dir).map_err(|e| e.to_string())?;
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
