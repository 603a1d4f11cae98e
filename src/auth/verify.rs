//! Token verification across several issuers at once.
//!
//! The order of checks is the point of this file. The header is read first, by hand: `alg: none`, HMAC and any
//! algorithm outside RS256/ES256/PS256 are refused before a key is looked up, and a token without `kid` goes no
//! further. The key found by `kid` then decides the issuer (each key is bound to the issuer that published it),
//! so a token signed by one issuer cannot claim to be from another: its `iss` and `aud` must match the issuer
//! that owns the key. Only then do the kind rules of that issuer turn the claims into a [`Caller`].

use std::sync::Arc;
use std::time::Duration;

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};

use super::dev_issuer::{DEV_AUDIENCE, DEV_ISS, DEV_ISSUER_NAME, DevIssuer};
use super::issuers::{AuthConfig, AuthConfigError, IssuerConfig, KeySource, KindRules};
use super::jwks::{JwksCache, Refresh, VerifyKey};
use super::{AuthError, Authenticated, Caller};

/// The largest token accepted, in bytes (Entra ID tokens with many groups run to a few kilobytes).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Tuning of verification and key caching.
#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Allowed clock skew for `exp` and `nbf`.
    pub leeway: Duration,
    /// The least time between two fetches of one issuer's keys (bounds re-fetches caused by unknown `kid`s).
    pub min_refetch_interval: Duration,
    /// Keys older than this are fetched again on the next request.
    pub max_key_age: Duration,
    /// Timeout of one key fetch.
    pub http_timeout: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            leeway: Duration::from_secs(30),
            min_refetch_interval: Duration::from_secs(10),
            max_key_age: Duration::from_secs(3600),
            http_timeout: Duration::from_secs(10),
        }
    }
}

struct Issuer {
    name: String,
    iss: String,
    audience: Vec<String>,
    rules: KindRules,
    keys: Arc<JwksCache>,
}

/// Verifies bearer tokens against the configured issuers (and the development issuer, when given).
pub struct Authenticator {
    issuers: Vec<Issuer>,
    dev: Option<Arc<DevIssuer>>,
    leeway: u64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.issuers.iter().map(|i| i.name.as_str()).collect();
        f.debug_struct("Authenticator").field("issuers", &names).finish()
    }
}

impl Authenticator {
    /// The authenticator for the service from its configuration: the configured issuers, plus the development
    /// issuer (its key loaded or created in `data_dir`) when development mode is on, in which case it warns
    /// loudly.
    pub fn from_config(config: &AuthConfig, data_dir: &std::path::Path) -> Result<Self, AuthConfigError> {
        let issuers = config.issuer_configs()?;
        let dev = if config.dev_mode {
            let dev = DevIssuer::load_or_create(data_dir)?;
            tracing::warn!(
                key = %dev.key_path().display(),
                "DEVELOPMENT MODE: the built-in token issuer is on and anyone with `digisos token` can mint tokens \
                 for any role; never run this in production (unset DIGISOS_DEV_MODE)"
            );
            Some(Arc::new(dev))
        } else {
            None
        };
        if issuers.is_empty() && dev.is_none() {
            tracing::warn!(
                "no token issuers configured (DIGISOS_ISSUERS) and development mode is off: every request that needs a caller will be refused"
            );
        }
        Self::new(issuers, dev, VerifyOptions::default())
    }

    /// An authenticator for these issuers; `dev` adds the development issuer (and only then does it exist).
    pub fn new(
        configs: Vec<IssuerConfig>,
        dev: Option<Arc<DevIssuer>>,
        options: VerifyOptions,
    ) -> Result<Self, AuthConfigError> {
        let http = reqwest::Client::builder()
            .timeout(options.http_timeout)
            .connect_timeout(options.http_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("fiks-digisos/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AuthConfigError::Http(e.to_string()))?;
        let mut all = configs;
        if let Some(dev) = &dev {
            all.push(IssuerConfig {
                name: DEV_ISSUER_NAME.to_string(),
                issuer: DEV_ISS.to_string(),
                keys: KeySource::Fixed(dev.jwks()),
                audience: vec![DEV_AUDIENCE.to_string()],
                rules: KindRules::Dev,
            });
        }
        let issuers = all
            .into_iter()
            .map(|c| {
                let keys = JwksCache::new(
                    &c.name,
                    &c.issuer,
                    c.keys,
                    http.clone(),
                    options.min_refetch_interval,
                    options.max_key_age,
                )
                .map_err(|e| AuthConfigError::Issuer { name: c.name.clone(), problem: e.to_string() })?;
                Ok(Issuer { name: c.name, iss: c.issuer, audience: c.audience, rules: c.rules, keys: Arc::new(keys) })
            })
            .collect::<Result<Vec<_>, AuthConfigError>>()?;
        Ok(Self { issuers, dev, leeway: options.leeway.as_secs() })
    }

    /// The development issuer, when development mode is on.
    pub fn dev_issuer(&self) -> Option<&Arc<DevIssuer>> {
        self.dev.as_ref()
    }

    /// Fetches every issuer's keys now (at start-up), so the first requests do not wait; failures are logged
    /// and retried on demand.
    pub async fn warm_up(&self) {
        futures::future::join_all(self.issuers.iter().map(|i| i.keys.refresh())).await;
    }

    /// The caller named by the request's `Authorization: Bearer …` header.
    pub async fn authenticate_headers(&self, headers: &HeaderMap) -> Result<Caller, AuthError> {
        self.authenticate(headers).await.map(|a| a.caller)
    }

    /// The verified token of the request's `Authorization: Bearer …` header.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Authenticated, AuthError> {
        let mut values = headers.get_all(AUTHORIZATION).iter();
        let value = values.next().ok_or(AuthError::MissingToken)?;
        if values.next().is_some() {
            return Err(AuthError::MalformedHeader);
        }
        let text = value.to_str().map_err(|_| AuthError::MalformedHeader)?;
        let (scheme, token) = text.split_once(' ').ok_or(AuthError::MalformedHeader)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(AuthError::MalformedHeader);
        }
        self.verify(token.trim()).await
    }

    /// Verifies one token (from a header, or a WebSocket's `connection_init`).
    pub async fn verify(&self, token: &str) -> Result<Authenticated, AuthError> {
        let result = self.verify_inner(token).await;
        match &result {
            Ok(a) => tracing::debug!(target: "auth", issuer = %a.issuer, caller = %a.caller.kind(), "token accepted"),
            Err(e) => tracing::info!(target: "auth", reason = e.code(), "token refused"),
        }
        result
    }

    async fn verify_inner(&self, token: &str) -> Result<Authenticated, AuthError> {
        let (alg, kid) = read_header(token)?;
        let candidates = self.candidates(&kid).await?;
        let mut best: Option<AuthError> = None;
        for (issuer, key) in candidates {
            let outcome = if key.accepts(alg) {
                self.check(issuer, &key, alg, token)
            } else {
                Err(AuthError::AlgorithmKeyMismatch)
            };
            match outcome {
                Ok(authenticated) => return Ok(authenticated),
                // An error found after the signature verified says more than one from a key that did not fit.
                Err(e) if best.as_ref().is_none_or(|b| !signature_verified(b) && signature_verified(&e)) => {
                    best = Some(e)
                }
                Err(_) => {}
            }
        }
        Err(best.unwrap_or(AuthError::UnknownIssuer))
    }

    /// The issuers holding a key with this id (usually one), fetching keys when the id is unknown.
    async fn candidates(&self, kid: &str) -> Result<Vec<(&Issuer, Arc<VerifyKey>)>, AuthError> {
        let found = self.lookup(kid);
        if !found.is_empty() {
            // Keys past their age are re-fetched in the background, so a retired key drops out without making
            // this request wait on an issuer that may be slow.
            for issuer in self.issuers.iter().filter(|i| i.keys.wants_background_refresh()) {
                let keys = issuer.keys.clone();
                tokio::spawn(async move { keys.refresh().await });
            }
            return Ok(found);
        }
        // An unknown kid: perhaps a rotation. Each issuer's refresh is rate-limited, so bogus kids cost little.
        let outcomes = futures::future::join_all(self.issuers.iter().map(|i| i.keys.refresh())).await;
        let found = self.lookup(kid);
        if !found.is_empty() {
            return Ok(found);
        }
        let unavailable = self.issuers.iter().any(|i| i.keys.is_unavailable());
        if unavailable || outcomes.contains(&Refresh::Failed) {
            return Err(AuthError::KeysUnavailable);
        }
        Err(AuthError::UnknownIssuer)
    }

    fn lookup(&self, kid: &str) -> Vec<(&Issuer, Arc<VerifyKey>)> {
        self.issuers.iter().filter_map(|i| i.keys.get(kid).map(|k| (i, k))).collect()
    }

    fn check(&self, issuer: &Issuer, key: &VerifyKey, alg: Algorithm, token: &str) -> Result<Authenticated, AuthError> {
        let mut validation = Validation::new(alg);
        validation.leeway = self.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[issuer.iss.as_str()]);
        validation.set_audience(&issuer.audience);
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation).map_err(map_jwt_error)?;
        let claims = data.claims;
        // jsonwebtoken accepts an array `iss` that merely contains ours; an issuer names itself with one string.
        if claims.get("iss").and_then(Value::as_str) != Some(issuer.iss.as_str()) {
            return Err(AuthError::IssuerMismatch);
        }
        let exp =
            claims.get("exp").and_then(|e| e.as_i64().or_else(|| e.as_f64().map(|f| f as i64))).ok_or_else(|| {
                AuthError::InvalidClaim { claim: "exp".into(), reason: "expected whole seconds since the epoch".into() }
            })?;
        let expires_at = DateTime::<Utc>::from_timestamp(exp, 0).ok_or(AuthError::Expired)?;
        let caller = issuer.rules.caller(&claims)?;
        Ok(Authenticated { caller, issuer: issuer.name.clone(), expires_at })
    }
}

/// Whether an error could only have been found after the signature verified.
fn signature_verified(e: &AuthError) -> bool {
    !matches!(e, AuthError::BadSignature | AuthError::AlgorithmKeyMismatch | AuthError::MalformedToken)
}

fn map_jwt_error(e: jsonwebtoken::errors::Error) -> AuthError {
    match e.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::IssuerMismatch,
        ErrorKind::InvalidAudience => AuthError::AudienceNotAccepted,
        ErrorKind::MissingRequiredClaim(c) => AuthError::MissingClaim(c.clone()),
        ErrorKind::InvalidClaimFormat(c) => AuthError::InvalidClaim { claim: c.clone(), reason: "wrong format".into() },
        ErrorKind::InvalidAlgorithm => AuthError::AlgorithmKeyMismatch,
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            tracing::warn!(target: "auth", error = %e, "a published key could not be used to verify");
            AuthError::BadSignature
        }
        _ => AuthError::MalformedToken,
    }
}

/// Reads the algorithm and key id from the token's header, refusing unsigned, HMAC and unlisted algorithms
/// before anything else happens.
fn read_header(token: &str) -> Result<(Algorithm, String), AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::MalformedToken);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::MalformedToken);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| AuthError::MalformedToken)?;
    let Ok(Value::Object(header)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(AuthError::MalformedToken);
    };
    let alg = header.get("alg").and_then(Value::as_str).ok_or(AuthError::MalformedToken)?;
    let alg = match alg {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "PS256" => Algorithm::PS256,
        a if a.eq_ignore_ascii_case("none") => return Err(AuthError::AlgorithmNone),
        a if a.len() <= 16 && a.to_ascii_uppercase().starts_with("HS") => {
            return Err(AuthError::HmacRefused(printable(a)));
        }
        a => return Err(AuthError::AlgorithmNotAllowed(printable(a))),
    };
    // A critical header extension we do not understand must not be ignored (RFC 7515, 4.1.11).
    if header.contains_key("crit") {
        return Err(AuthError::MalformedToken);
    }
    let kid = match header.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= 256 => k.clone(),
        _ => return Err(AuthError::MissingKeyId),
    };
    Ok((alg, kid))
}

/// Up to 16 printable ASCII characters of a value from the token, for a message.
fn printable(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_graphic()).take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn unsigned_hmac_and_unlisted_algorithms_are_refused_from_the_header_alone() {
        let cases = [
            (r#"{"alg":"none","kid":"k"}"#, AuthError::AlgorithmNone),
            (r#"{"alg":"NONE","kid":"k"}"#, AuthError::AlgorithmNone),
            (r#"{"alg":"HS256","kid":"k"}"#, AuthError::HmacRefused("HS256".into())),
            (r#"{"alg":"RS512","kid":"k"}"#, AuthError::AlgorithmNotAllowed("RS512".into())),
            (r#"{"alg":"EdDSA","kid":"k"}"#, AuthError::AlgorithmNotAllowed("EdDSA".into())),
            (r#"{"alg":"RS256"}"#, AuthError::MissingKeyId),
            (r#"{"alg":"RS256","kid":"k","crit":["b64"]}"#, AuthError::MalformedToken),
            (r#"{"kid":"k"}"#, AuthError::MalformedToken),
        ];
        for (header, expected) in cases {
            assert_eq!(read_header(&token_with_header(header)), Err(expected), "{header}");
        }
        assert_eq!(
            read_header(&token_with_header(r#"{"alg":"ES256","kid":"k1"}"#)),
            Ok((Algorithm::ES256, "k1".into()))
        );
    }

    #[test]
    fn tokens_that_are_not_three_parts_are_malformed() {
        for bad in ["", "a.b", "a.b.c.d", "!!.e30.c2ln", &"a".repeat(MAX_TOKEN_BYTES + 1)] {
            assert_eq!(read_header(bad), Err(AuthError::MalformedToken), "{bad:.20}");
        }
    }

    #[test]
    fn messages_never_carry_more_than_a_short_printable_alg() {
        let header = format!(r#"{{"alg":"X{}","kid":"k"}}"#, "\\n".repeat(50));
        let Err(AuthError::AlgorithmNotAllowed(alg)) = read_header(&token_with_header(&header)) else {
            panic!("expected AlgorithmNotAllowed")
        };
        assert!(alg.len() <= 16 && alg.chars().all(|c| c.is_ascii_graphic()));
    }
}
