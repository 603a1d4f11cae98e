//! Which token issuers the service trusts, for which kind of caller, and under which rules.
//!
//! The operator lists the issuers in `DIGISOS_ISSUERS` as JSON (one object per issuer, shape on
//! [`IssuerSpec`]). Each entry is parsed into an [`IssuerConfig`] at start-up and refused loudly if anything is
//! missing, unknown or contradictory, because a half-understood issuer configuration is how tokens get accepted
//! that should not be. Development mode (`DIGISOS_DEV_MODE=true`) adds the built-in issuer; without it that
//! issuer does not exist.

use std::collections::BTreeSet;

use clap::Args;
use clap::builder::BoolishValueParser;
use reqwest::Url;
use serde::Deserialize;

use super::dev_issuer::DevIssuerError;
use super::{CallerKind, NAV_ORGNR, Orgnr};

/// The ID-porten levels accepted for citizens unless configured otherwise ("high", and its old name).
pub const DEFAULT_ACCEPTED_ACR: [&str; 2] = ["idporten-loa-high", "Level4"];
/// The claim holding roles in admin tokens unless configured otherwise (Entra ID app roles).
pub const DEFAULT_ROLE_CLAIM: &str = "roles";

/// Identity settings of the `serve` command.
#[derive(Args, Clone, Debug)]
pub struct AuthConfig {
    /// The accepted token issuers, as a JSON array of issuer objects: `[{"name": "idporten", "kind": "citizen",
    /// "issuer": "https://idporten.no", "jwksUri": "https://idporten.no/jwks.json", "audience": ["…"]}, …]`.
    /// Kinds: citizen (acceptedAcr), nav-staff (requiredGroup), maskinporten (requiredScope, navOrgnr),
    /// admin (adminRole, roleClaim). Keys come from jwksUri or discoveryUrl.
    #[arg(long, env = "DIGISOS_ISSUERS", default_value = "[]")]
    pub issuers: String,

    /// Development mode: the service runs its own token issuer (key in the data folder) and `digisos token`
    /// mints tokens it accepts. Never in production.
    #[arg(long, env = "DIGISOS_DEV_MODE", default_value = "false", num_args = 0..=1,
          default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub dev_mode: bool,
}

impl AuthConfig {
    /// The configured issuers, parsed and checked.
    pub fn issuer_configs(&self) -> Result<Vec<IssuerConfig>, AuthConfigError> {
        parse_issuers(&self.issuers)
    }
}

/// One issuer as written in `DIGISOS_ISSUERS` (JSON, camelCase; unknown fields are refused).
///
/// ```json
/// {
///   "name": "entra",                          // a short name for logs: a-z, 0-9, '-' and '_'
///   "kind": "nav-staff",                      // citizen | nav-staff | maskinporten | admin
///   "issuer": "https://login.microsoftonline.com/<tenant>/v2.0",   // the exact `iss` of its tokens
///   "discoveryUrl": "https://login.microsoftonline.com/<tenant>/v2.0/.well-known/openid-configuration",
///   "jwksUri": null,                          // exactly one of jwksUri and discoveryUrl
///   "audience": ["<client id>"],              // a string or an array; `aud` must hold one of them
///   "requiredGroup": "<group object id>",     // nav-staff: the group in `groups` that grants access
///   "acceptedAcr": ["idporten-loa-high", "Level4"],   // citizen (this is the default)
///   "requiredScope": "ks:fiks",               // maskinporten: must be in the space-separated `scope`
///   "navOrgnr": ["889640782"],                // maskinporten: these consumers are Nav systems (the default)
///   "adminRole": "digisos-admin",             // admin: the role that makes an administrator
///   "roleClaim": "roles",                     // admin: the claim holding roles (default `roles`)
///   "allowHttp": false                        // fetch keys over plain http (only loopback is allowed otherwise)
/// }
/// ```
///
/// When several entries share an `issuer` and its keys (one Entra ID tenant for staff and for admins), they are
/// tried in the order given and the first whose rules accept the token decides.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IssuerSpec {
    /// A short name for logs and metrics.
    pub name: String,
    /// The kind of caller its tokens identify.
    pub kind: IssuerKind,
    /// The exact `iss` claim of its tokens.
    pub issuer: String,
    /// Where its JSON Web Key Set is.
    pub jwks_uri: Option<String>,
    /// Its OpenID Connect discovery document (gives the JWKS address).
    pub discovery_url: Option<String>,
    /// The accepted `aud` values (a string or an array).
    pub audience: OneOrMany,
    /// Citizen: accepted `acr` values.
    pub accepted_acr: Option<Vec<String>>,
    /// Nav staff: the group id that grants access.
    pub required_group: Option<String>,
    /// Maskinporten: the scope that must be present.
    pub required_scope: Option<String>,
    /// Maskinporten: organisation numbers whose tokens are Nav systems.
    pub nav_orgnr: Option<Vec<String>>,
    /// Admin: the role that makes an administrator.
    pub admin_role: Option<String>,
    /// Admin: the claim holding roles.
    pub role_claim: Option<String>,
    /// Allow fetching keys over plain http from a host other than loopback.
    #[serde(default)]
    pub allow_http: bool,
}

/// A JSON value that may be one string or an array of strings.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One value.
    One(String),
    /// Several values.
    Many(Vec<String>),
}

/// The kind of caller an issuer's tokens identify.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssuerKind {
    /// ID-porten or TokenX: citizens.
    Citizen,
    /// Entra ID: Nav support staff.
    NavStaff,
    /// Maskinporten: Nav systems and kommune fagsystemer.
    Maskinporten,
    /// Administrators.
    Admin,
}

/// Where an issuer's keys come from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// A JWKS document at this address.
    Jwks(Url),
    /// An OpenID Connect discovery document whose `jwks_uri` gives the keys.
    Discovery(Url),
    /// Keys held in the process (the development issuer).
    Fixed(serde_json::Value),
}

/// What the claims of an issuer's tokens must satisfy, per kind.
#[derive(Clone, Debug)]
pub enum KindRules {
    /// `pid` is a valid personal number and `acr` one of these.
    Citizen {
        /// Accepted `acr` values.
        accepted_acr: Vec<String>,
    },
    /// `NAVident` is valid and `groups` contains this group.
    NavStaff {
        /// The group id that grants access.
        required_group: String,
    },
    /// `consumer` is `0192:<orgnr>` and `scope` contains this scope.
    Maskinporten {
        /// The scope that must be present.
        required_scope: String,
        /// Consumers that are Nav systems; any other is a fagsystem.
        nav_orgnr: BTreeSet<Orgnr>,
    },
    /// The role claim contains the admin role.
    Admin {
        /// The claim holding roles.
        role_claim: String,
        /// The role that makes an administrator.
        admin_role: String,
    },
    /// The development issuer: the kind is read from which identity claim the token carries.
    Dev,
}

impl KindRules {
    /// The caller kinds tokens under these rules can identify.
    pub fn kinds(&self) -> &'static [CallerKind] {
        match self {
            Self::Citizen { .. } => &[CallerKind::Citizen],
            Self::NavStaff { .. } => &[CallerKind::NavStaff],
            Self::Maskinporten { .. } => &[CallerKind::NavSystem, CallerKind::Fagsystem],
            Self::Admin { .. } => &[CallerKind::Admin],
            Self::Dev => &[
                CallerKind::Citizen,
                CallerKind::NavStaff,
                CallerKind::NavSystem,
                CallerKind::Fagsystem,
                CallerKind::Admin,
            ],
        }
    }
}

/// One trusted issuer, checked.
#[derive(Clone, Debug)]
pub struct IssuerConfig {
    /// The short name for logs.
    pub name: String,
    /// The exact `iss` of its tokens.
    pub issuer: String,
    /// Where its keys come from.
    pub keys: KeySource,
    /// The accepted `aud` values (at least one).
    pub audience: Vec<String>,
    /// What its tokens' claims must satisfy.
    pub rules: KindRules,
}

/// Why the identity configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// `DIGISOS_ISSUERS` is not a JSON array of issuer objects.
    #[error("DIGISOS_ISSUERS is not a JSON array of issuer objects: {0}")]
    Json(String),
    /// One issuer entry is incomplete or contradictory.
    #[error("issuer {name:?} in DIGISOS_ISSUERS: {problem}")]
    Issuer {
        /// The entry's name (or its position).
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The development issuer's key could not be loaded or created.
    #[error(transparent)]
    DevIssuer(#[from] DevIssuerError),
    /// The HTTP client for fetching keys could not be built.
    #[error("cannot build the HTTP client for fetching keys: {0}")]
    Http(String),
}

/// Parses the `DIGISOS_ISSUERS` JSON into checked issuer configurations.
pub fn parse_issuers(json: &str) -> Result<Vec<IssuerConfig>, AuthConfigError> {
    let text = if json.trim().is_empty() { "[]" } else { json };
    let specs: Vec<IssuerSpec> = serde_json::from_str(text).map_err(|e| AuthConfigError::Json(e.to_string()))?;
    let mut names = BTreeSet::new();
    let mut configs = Vec::with_capacity(specs.len());
    for spec in specs {
        let config = spec.check()?;
        if !names.insert(config.name.clone()) {
            return Err(AuthConfigError::Issuer { name: config.name, problem: "the name is used twice".into() });
        }
        configs.push(config);
    }
    Ok(configs)
}

impl IssuerSpec {
    /// Checks the entry and turns it into an [`IssuerConfig`].
    pub fn check(self) -> Result<IssuerConfig, AuthConfigError> {
        let name = self.name.clone();
        let fail = |problem: String| AuthConfigError::Issuer { name: name.clone(), problem };
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 64
            && self.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(fail("name must be 1 to 64 characters of a-z, 0-9, '-' and '_'".into()));
        }
        if self.name == super::dev_issuer::DEV_ISSUER_NAME || self.issuer == super::dev_issuer::DEV_ISS {
            return Err(fail("the name and issuer digisos-dev are reserved for development mode".into()));
        }
        if self.issuer.trim().is_empty() {
            return Err(fail("issuer (the exact iss of its tokens) is required".into()));
        }
        let keys = match (&self.jwks_uri, &self.discovery_url) {
            (Some(u), None) => KeySource::Jwks(check_url(u, self.allow_http).map_err(&fail)?),
            (None, Some(u)) => KeySource::Discovery(check_url(u, self.allow_http).map_err(&fail)?),
            _ => return Err(fail("give exactly one of jwksUri and discoveryUrl".into())),
        };
        let audience: Vec<String> = match self.audience {
            OneOrMany::One(a) => vec![a],
            OneOrMany::Many(a) => a,
        };
        if audience.is_empty() || audience.iter().any(|a| a.trim().is_empty()) {
            return Err(fail("audience must name at least one non-empty accepted aud".into()));
        }
        let foreign = |field: &str, present: bool| {
            if present { Err(fail(format!("{field} does not apply to kind {:?}", self.kind))) } else { Ok(()) }
        };
        let rules = match self.kind {
            IssuerKind::Citizen => {
                foreign("requiredGroup", self.required_group.is_some())?;
                foreign("requiredScope/navOrgnr", self.required_scope.is_some() || self.nav_orgnr.is_some())?;
                foreign("adminRole/roleClaim", self.admin_role.is_some() || self.role_claim.is_some())?;
                let accepted_acr =
                    self.accepted_acr.unwrap_or_else(|| DEFAULT_ACCEPTED_ACR.iter().map(|s| s.to_string()).collect());
                if accepted_acr.is_empty() {
                    return Err(fail("acceptedAcr must not be empty".into()));
                }
                KindRules::Citizen { accepted_acr }
            }
            IssuerKind::NavStaff => {
                foreign("acceptedAcr", self.accepted_acr.is_some())?;
                foreign("requiredScope/navOrgnr", self.required_scope.is_some() || self.nav_orgnr.is_some())?;
                foreign("adminRole/roleClaim", self.admin_role.is_some() || self.role_claim.is_some())?;
                match self.required_group {
                    Some(g) if !g.trim().is_empty() => KindRules::NavStaff { required_group: g },
                    _ => return Err(fail("requiredGroup (the group id that grants access) is required".into())),
                }
            }
            IssuerKind::Maskinporten => {
                foreign("acceptedAcr", self.accepted_acr.is_some())?;
                foreign("requiredGroup", self.required_group.is_some())?;
                foreign("adminRole/roleClaim", self.admin_role.is_some() || self.role_claim.is_some())?;
                let required_scope = match self.required_scope {
                    Some(s) if !s.trim().is_empty() && !s.contains(' ') => s,
                    _ => return Err(fail("requiredScope (one scope, e.g. ks:fiks) is required".into())),
                };
                let nav = self.nav_orgnr.unwrap_or_else(|| vec![NAV_ORGNR.to_string()]);
                let nav_orgnr = nav
                    .iter()
                    .map(|o| Orgnr::parse(o).map_err(|e| fail(format!("navOrgnr {o:?}: {e}"))))
                    .collect::<Result<BTreeSet<_>, _>>()?;
                KindRules::Maskinporten { required_scope, nav_orgnr }
            }
            IssuerKind::Admin => {
                foreign("acceptedAcr", self.accepted_acr.is_some())?;
                foreign("requiredGroup", self.required_group.is_some())?;
                foreign("requiredScope/navOrgnr", self.required_scope.is_some() || self.nav_orgnr.is_some())?;
                let admin_role = match self.admin_role {
                    Some(r) if !r.trim().is_empty() => r,
                    _ => return Err(fail("adminRole (the role that makes an administrator) is required".into())),
                };
                let role_claim = self.role_claim.unwrap_or_else(|| DEFAULT_ROLE_CLAIM.to_string());
                KindRules::Admin { role_claim, admin_role }
            }
        };
        Ok(IssuerConfig { name: self.name, issuer: self.issuer, keys, audience, rules })
    }
}

/// Parses a key URL: https, or http to loopback (tests, sidecars) or when explicitly allowed.
pub(crate) fn check_url(text: &str, allow_http: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http || is_loopback(&url) => Ok(url),
        "http" => Err(format!("{text:?}: keys must be fetched over https (set allowHttp to permit http)")),
        other => Err(format!("{text:?}: unsupported scheme {other}")),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> Result<IssuerConfig, AuthConfigError> {
        parse_issuers(&format!("[{json}]")).map(|mut v| v.remove(0))
    }

    #[test]
    fn a_citizen_issuer_gets_the_default_acr_levels() {
        let c = one(r#"{"name":"idporten","kind":"citizen","issuer":"https://idporten.no",
                        "jwksUri":"https://idporten.no/jwks.json","audience":"nav-sosialhjelp"}"#)
        .unwrap();
        assert_eq!(c.audience, ["nav-sosialhjelp"]);
        assert!(matches!(c.rules, KindRules::Citizen { ref accepted_acr } if accepted_acr == &DEFAULT_ACCEPTED_ACR));
        assert!(matches!(c.keys, KeySource::Jwks(_)));
    }

    #[test]
    fn maskinporten_defaults_to_navs_orgnr_and_needs_a_scope() {
        let c = one(r#"{"name":"mp","kind":"maskinporten","issuer":"https://maskinporten.no/",
                        "discoveryUrl":"https://maskinporten.no/.well-known/oauth-authorization-server",
                        "audience":["digisos"],"requiredScope":"ks:fiks"}"#)
        .unwrap();
        let KindRules::Maskinporten { nav_orgnr, .. } = c.rules else { panic!("kind") };
        assert!(nav_orgnr.contains(&Orgnr::parse(NAV_ORGNR).unwrap()));
        let err = one(r#"{"name":"mp","kind":"maskinporten","issuer":"x","jwksUri":"https://x/jwks",
                          "audience":"a"}"#)
        .unwrap_err();
        assert!(err.to_string().contains("requiredScope"), "{err}");
    }

    #[test]
    fn contradictory_incomplete_or_unknown_settings_are_refused() {
        let cases = [
            // a field of another kind
            r#"{"name":"e","kind":"nav-staff","issuer":"x","jwksUri":"https://x/j","audience":"a","requiredGroup":"g","requiredScope":"s"}"#,
            // a staff issuer without the access group
            r#"{"name":"e","kind":"nav-staff","issuer":"x","jwksUri":"https://x/j","audience":"a"}"#,
            // both key sources
            r#"{"name":"e","kind":"admin","issuer":"x","jwksUri":"https://x/j","discoveryUrl":"https://x/d","audience":"a","adminRole":"r"}"#,
            // plain http to a remote host
            r#"{"name":"e","kind":"admin","issuer":"x","jwksUri":"http://example.com/j","audience":"a","adminRole":"r"}"#,
            // a typo in a field name
            r#"{"name":"e","kind":"admin","issuer":"x","jwksUri":"https://x/j","audience":"a","adminrole":"r"}"#,
            // no audience
            r#"{"name":"e","kind":"admin","issuer":"x","jwksUri":"https://x/j","audience":[],"adminRole":"r"}"#,
            // the reserved development issuer
            r#"{"name":"e","kind":"admin","issuer":"digisos-dev","jwksUri":"https://x/j","audience":"a","adminRole":"r"}"#,
        ];
        for json in cases {
            assert!(one(json).is_err(), "accepted: {json}");
        }
    }

    #[test]
    fn http_is_allowed_to_loopback_or_when_asked() {
        assert!(check_url("http://127.0.0.1:8080/jwks", false).is_ok());
        assert!(check_url("http://localhost/jwks", false).is_ok());
        assert!(check_url("http://mock-oauth2:8080/jwks", false).is_err());
        assert!(check_url("http://mock-oauth2:8080/jwks", true).is_ok());
        assert!(check_url("file:///etc/passwd", true).is_err());
    }

    #[test]
    fn dev_mode_takes_only_clear_yes_or_no_values() {
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            auth: AuthConfig,
        }
        let parse = |args: &[&str]| Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()));
        assert!(parse(&["--dev-mode"]).unwrap().auth.dev_mode);
        assert!(parse(&["--dev-mode", "true"]).unwrap().auth.dev_mode);
        assert!(!parse(&["--dev-mode", "false"]).unwrap().auth.dev_mode);
        assert!(parse(&["--dev-mode", "ture"]).is_err(), "a typo must not switch development mode on");
    }

    #[test]
    fn an_empty_setting_means_no_issuers() {
        assert!(parse_issuers("").unwrap().is_empty());
        assert!(parse_issuers("[]").unwrap().is_empty());
        assert!(parse_issuers("{}").is_err());
    }
}
