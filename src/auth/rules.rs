//! From verified claims to a [`Caller`]: the rules of each kind of issuer.
//!
//! These run only after the signature, `iss`, `aud` and times have been checked. Each kind reads its identity
//! claim (`pid`, `NAVident`, `consumer`, a role) and the claim that grants access (`acr`, `groups`, `scope`), and
//! refuses with the precise reason. Claim values are parsed into domain types here, so a caller never holds an
//! invalid personal or organisation number.

use serde_json::{Map, Value};

use super::NAV_ORGNR;
use super::dev_issuer::{DEV_ADMIN_ROLE, DEV_SCOPE, DEV_STAFF_GROUP};
use super::issuers::{DEFAULT_ACCEPTED_ACR, DEFAULT_ROLE_CLAIM, KindRules};
use super::{AuthError, Caller, Fnr, NavIdent, Orgnr};

/// The ISO 6523 authority Maskinporten names in `consumer`; `0192` is the Norwegian organisation register.
const CONSUMER_AUTHORITY: &str = "iso6523-actorid-upis";

type Claims = Map<String, Value>;

impl KindRules {
    /// The caller these claims identify, or why they do not identify one.
    pub(crate) fn caller(&self, claims: &Claims) -> Result<Caller, AuthError> {
        match self {
            Self::Citizen { accepted_acr } => citizen(claims, accepted_acr),
            Self::NavStaff { required_group } => nav_staff(claims, required_group),
            Self::Maskinporten { required_scope, nav_orgnr } => {
                maskinporten(claims, required_scope, |o| nav_orgnr.contains(o))
            }
            Self::Admin { role_claim, admin_role } => admin(claims, role_claim, admin_role),
            Self::Dev => dev(claims),
        }
    }
}

fn string_claim<'a>(claims: &'a Claims, name: &str) -> Result<&'a str, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Err(AuthError::MissingClaim(name.to_string())),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(invalid(name, "expected a string")),
    }
}

fn invalid(claim: &str, reason: &str) -> AuthError {
    AuthError::InvalidClaim { claim: claim.to_string(), reason: reason.to_string() }
}

fn citizen<S: AsRef<str>>(claims: &Claims, accepted_acr: &[S]) -> Result<Caller, AuthError> {
    let pid = string_claim(claims, "pid")?;
    // The claim value is not echoed: it is a personal number.
    let fnr = Fnr::parse(pid).map_err(|_| invalid("pid", "not a valid fødselsnummer or D-nummer"))?;
    let acr = string_claim(claims, "acr")?;
    if !accepted_acr.iter().any(|a| a.as_ref() == acr) {
        let accepted = accepted_acr.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
        return Err(AuthError::AcrTooLow { accepted });
    }
    Ok(Caller::Citizen { fnr })
}

fn nav_staff(claims: &Claims, required_group: &str) -> Result<Caller, AuthError> {
    let navident = NavIdent::parse(string_claim(claims, "NAVident")?)
        .map_err(|_| invalid("NAVident", "expected one capital letter and 6 digits"))?;
    // Entra ID leaves `groups` out when a user has too many (group overage); that is no access here.
    let in_group = match claims.get("groups") {
        Some(Value::Array(groups)) => groups.iter().any(|g| g.as_str() == Some(required_group)),
        _ => false,
    };
    if !in_group {
        return Err(AuthError::MissingGroup);
    }
    Ok(Caller::NavStaff { navident })
}

fn maskinporten(claims: &Claims, required_scope: &str, is_nav: impl Fn(&Orgnr) -> bool) -> Result<Caller, AuthError> {
    let consumer = match claims.get("consumer") {
        None | Some(Value::Null) => return Err(AuthError::MissingClaim("consumer".into())),
        Some(Value::Object(c)) => c,
        Some(_) => return Err(invalid("consumer", "expected an object with authority and ID")),
    };
    if consumer.get("authority").and_then(Value::as_str) != Some(CONSUMER_AUTHORITY) {
        return Err(invalid("consumer", "authority must be iso6523-actorid-upis"));
    }
    let id = consumer.get("ID").and_then(Value::as_str).unwrap_or_default();
    let orgnr = id
        .strip_prefix("0192:")
        .and_then(|o| Orgnr::parse(o).ok())
        .ok_or_else(|| invalid("consumer", "ID must be 0192:<organisasjonsnummer>"))?;
    let scopes = match claims.get("scope") {
        Some(Value::String(s)) => s.as_str(),
        None | Some(Value::Null) => "",
        Some(_) => return Err(invalid("scope", "expected a space-separated string")),
    };
    if !scopes.split(' ').any(|s| s == required_scope) {
        return Err(AuthError::MissingScope(required_scope.to_string()));
    }
    if is_nav(&orgnr) { Ok(Caller::NavSystem { orgnr }) } else { Ok(Caller::Fagsystem { orgnr }) }
}

fn admin(claims: &Claims, role_claim: &str, admin_role: &str) -> Result<Caller, AuthError> {
    let has_role = match claims.get(role_claim) {
        Some(Value::Array(roles)) => roles.iter().any(|r| r.as_str() == Some(admin_role)),
        Some(Value::String(roles)) => roles.split(' ').any(|r| r == admin_role),
        _ => false,
    };
    if !has_role {
        return Err(AuthError::MissingAdminRole);
    }
    let subject = match claims.get("NAVident").and_then(Value::as_str) {
        Some(ident) => ident.to_string(),
        None => string_claim(claims, "sub")?.to_string(),
    };
    if subject.is_empty() || subject.len() > 256 {
        return Err(invalid("sub", "expected 1 to 256 characters"));
    }
    Ok(Caller::Admin { subject })
}

/// The development issuer mints every kind; the identity claim present says which rules apply, and a token
/// carrying two identities is refused rather than guessed at.
fn dev(claims: &Claims) -> Result<Caller, AuthError> {
    let has = |name: &str| claims.get(name).is_some_and(|v| !v.is_null());
    let markers = [has("pid"), has("NAVident"), has("consumer"), has(DEFAULT_ROLE_CLAIM)];
    if markers.iter().filter(|m| **m).count() != 1 {
        return Err(AuthError::AmbiguousIdentity);
    }
    if markers[0] {
        citizen(claims, &DEFAULT_ACCEPTED_ACR)
    } else if markers[1] {
        nav_staff(claims, DEV_STAFF_GROUP)
    } else if markers[2] {
        maskinporten(claims, DEV_SCOPE, |o| o.as_str() == NAV_ORGNR)
    } else {
        admin(claims, DEFAULT_ROLE_CLAIM, DEV_ADMIN_ROLE)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn claims(v: Value) -> Claims {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn citizen_needs_a_valid_pid_and_an_accepted_acr() {
        let rules = KindRules::Citizen { accepted_acr: vec!["idporten-loa-high".into()] };
        let ok = rules.caller(&claims(json!({"pid": "01017012343", "acr": "idporten-loa-high"}))).unwrap();
        assert_eq!(ok, Caller::Citizen { fnr: Fnr::parse("01017012343").unwrap() });
        let low = rules.caller(&claims(json!({"pid": "01017012343", "acr": "idporten-loa-substantial"})));
        assert!(matches!(low, Err(AuthError::AcrTooLow { .. })));
        let bad = rules.caller(&claims(json!({"pid": "12345678910", "acr": "idporten-loa-high"}))).unwrap_err();
        assert!(!bad.to_string().contains("12345678910"), "the message must not echo the number: {bad}");
        let none = rules.caller(&claims(json!({"sub": "x", "acr": "idporten-loa-high"})));
        assert_eq!(none, Err(AuthError::MissingClaim("pid".into())));
    }

    #[test]
    fn maskinporten_consumer_must_be_an_iso6523_orgnr_and_scope_must_match_exactly() {
        let rules = KindRules::Maskinporten {
            required_scope: "ks:fiks".into(),
            nav_orgnr: [Orgnr::parse(NAV_ORGNR).unwrap()].into(),
        };
        let c = |id: &str, scope: &str| {
            rules.caller(&claims(json!({
                "consumer": {"authority": "iso6523-actorid-upis", "ID": id}, "scope": scope
            })))
        };
        assert!(matches!(c("0192:889640782", "ks:fiks"), Ok(Caller::NavSystem { .. })));
        assert!(matches!(c("0192:958935420", "openid ks:fiks"), Ok(Caller::Fagsystem { .. })));
        assert!(matches!(c("0192:958935420", "ks:fiks:extra"), Err(AuthError::MissingScope(_))));
        assert!(matches!(c("0088:958935420", "ks:fiks"), Err(AuthError::InvalidClaim { .. })));
        assert!(matches!(c("0192:958935421", "ks:fiks"), Err(AuthError::InvalidClaim { .. })));
    }

    #[test]
    fn dev_tokens_with_two_identities_are_refused() {
        let both = claims(json!({"pid": "01017012343", "acr": "idporten-loa-high", "NAVident": "Z123456"}));
        assert_eq!(KindRules::Dev.caller(&both), Err(AuthError::AmbiguousIdentity));
        assert_eq!(KindRules::Dev.caller(&claims(json!({"sub": "x"}))), Err(AuthError::AmbiguousIdentity));
    }

    #[test]
    fn admin_role_may_be_an_array_or_a_space_separated_string() {
        let rules = KindRules::Admin { role_claim: "roles".into(), admin_role: "digisos-admin".into() };
        let arr = rules.caller(&claims(json!({"roles": ["x", "digisos-admin"], "sub": "abc"}))).unwrap();
        assert_eq!(arr, Caller::Admin { subject: "abc".into() });
        assert!(rules.caller(&claims(json!({"roles": "x digisos-admin", "NAVident": "Z123456"}))).is_ok());
        assert_eq!(rules.caller(&claims(json!({"roles": ["x"], "sub": "abc"}))), Err(AuthError::MissingAdminRole));
    }
}
