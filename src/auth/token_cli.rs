//! `digisos token`: mints a development token for one role with the development issuer's key.
//!
//! It reads (or creates) the key in the data folder, the same one the service uses in development mode, and
//! prints only the token on stdout so `TOKEN=$(digisos token --role citizen --fnr …)` works. Identities are
//! checked like the verifier checks them: a personal number with wrong control digits is refused here with a
//! valid synthetic example, rather than minted into a token the service would then refuse.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::dev_issuer::{DevIssuer, DevIssuerError, DevRole};
use super::{Fnr, NavIdent, Orgnr};

/// A synthetic personal number (Skatteetaten's test scheme: month + 80) for examples: no real person has it.
pub const EXAMPLE_FNR: &str = "01817012309";

/// The roles `digisos token` can mint for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleName {
    /// A citizen (needs --fnr).
    Citizen,
    /// A Nav support employee (needs --navident).
    NavStaff,
    /// One of Nav's systems.
    NavSystem,
    /// A kommune's fagsystem (needs --orgnr).
    Fagsystem,
    /// An administrator.
    Admin,
}

/// Arguments of `digisos token`.
#[derive(Args, Clone, Debug)]
pub struct TokenArgs {
    /// The role to mint a token for.
    #[arg(long, value_enum)]
    pub role: RoleName,
    /// The citizen's personal number (11 digits, valid control digits), for --role citizen.
    #[arg(long)]
    pub fnr: Option<String>,
    /// The employee's NAVident (e.g. Z123456), for --role nav-staff.
    #[arg(long)]
    pub navident: Option<String>,
    /// The fagsystem's organisation number (9 digits), for --role fagsystem.
    #[arg(long)]
    pub orgnr: Option<String>,
    /// How long the token is valid, in minutes (1 to 1440).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=1440))]
    pub ttl_minutes: u64,
    /// The data folder holding the development issuer's key (created if absent).
    #[arg(long, env = "DIGISOS_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

/// Why no token was minted.
#[derive(Debug, thiserror::Error)]
pub enum TokenCommandError {
    /// The arguments do not describe one identity.
    #[error("{0}")]
    Usage(String),
    /// The key could not be loaded or the token signed.
    #[error(transparent)]
    Issuer(#[from] DevIssuerError),
}

impl TokenArgs {
    /// The role these arguments describe, with its identity parsed.
    pub fn dev_role(&self) -> Result<DevRole, TokenCommandError> {
        let usage = |m: String| TokenCommandError::Usage(m);
        let only = |flag: &str, given: bool, role: &str| {
            if given { Err(usage(format!("{flag} is only for --role {role}"))) } else { Ok(()) }
        };
        only("--fnr", self.fnr.is_some() && self.role != RoleName::Citizen, "citizen")?;
        only("--navident", self.navident.is_some() && self.role != RoleName::NavStaff, "nav-staff")?;
        only("--orgnr", self.orgnr.is_some() && self.role != RoleName::Fagsystem, "fagsystem")?;
        Ok(match self.role {
            RoleName::Citizen => {
                let fnr = self.fnr.as_deref().ok_or_else(|| {
                    usage(format!("--role citizen needs --fnr <11 digits>, e.g. --fnr {EXAMPLE_FNR} (synthetic)"))
                })?;
                DevRole::Citizen(Fnr::parse(fnr).map_err(|_| {
                    usage(format!(
                        "--fnr is not a valid fødselsnummer or D-nummer (11 digits, a real date, valid mod-11 \
                         control digits); for a synthetic test person use e.g. --fnr {EXAMPLE_FNR}"
                    ))
                })?)
            }
            RoleName::NavStaff => {
                let ident = self
                    .navident
                    .as_deref()
                    .ok_or_else(|| usage("--role nav-staff needs --navident, e.g. --navident Z123456".into()))?;
                DevRole::NavStaff(NavIdent::parse(ident).map_err(|e| usage(format!("--navident: {e}")))?)
            }
            RoleName::NavSystem => DevRole::NavSystem,
            RoleName::Fagsystem => {
                let orgnr = self
                    .orgnr
                    .as_deref()
                    .ok_or_else(|| usage("--role fagsystem needs --orgnr, e.g. --orgnr 958935420".into()))?;
                DevRole::Fagsystem(Orgnr::parse(orgnr).map_err(|e| usage(format!("--orgnr: {e}")))?)
            }
            RoleName::Admin => DevRole::Admin,
        })
    }

    /// Mints the token (creating the key if absent) and returns it.
    pub fn run(&self) -> Result<String, TokenCommandError> {
        let role = self.dev_role()?;
        let issuer = DevIssuer::load_or_create(&self.data_dir)?;
        Ok(issuer.mint(&role, Duration::from_secs(self.ttl_minutes * 60))?)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        token: TokenArgs,
    }

    fn args(list: &[&str]) -> TokenArgs {
        Cli::try_parse_from(std::iter::once("digisos-token").chain(list.iter().copied())).unwrap().token
    }

    #[test]
    fn the_readme_example_fnr_is_refused_with_a_valid_suggestion() {
        let err = args(&["--role", "citizen", "--fnr", "12345678910"]).dev_role().unwrap_err();
        assert!(err.to_string().contains(EXAMPLE_FNR), "{err}");
        assert!(Fnr::parse(EXAMPLE_FNR).is_ok());
    }

    #[test]
    fn each_role_parses_its_identity_and_refuses_flags_of_others() {
        assert!(matches!(args(&["--role", "nav-staff", "--navident", "Z123456"]).dev_role(), Ok(DevRole::NavStaff(_))));
        assert!(matches!(args(&["--role", "fagsystem", "--orgnr", "958935420"]).dev_role(), Ok(DevRole::Fagsystem(_))));
        assert!(matches!(args(&["--role", "nav-system"]).dev_role(), Ok(DevRole::NavSystem)));
        assert!(matches!(args(&["--role", "admin"]).dev_role(), Ok(DevRole::Admin)));
        assert!(args(&["--role", "admin", "--fnr", EXAMPLE_FNR]).dev_role().is_err());
        assert!(args(&["--role", "fagsystem"]).dev_role().is_err());
        assert!(args(&["--role", "nav-staff", "--navident", "z123456"]).dev_role().is_err());
    }

    #[test]
    fn ttl_is_bounded_to_a_day() {
        let parse = |ttl: &str| {
            Cli::try_parse_from(["t", "--role", "admin", "--ttl-minutes", ttl]).map(|c| c.token.ttl_minutes)
        };
        assert_eq!(parse("1440").unwrap(), 1440);
        assert!(parse("0").is_err() && parse("1441").is_err());
    }
}
