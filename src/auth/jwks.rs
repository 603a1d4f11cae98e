//! Each issuer's signing keys: fetched over HTTP (a JWKS document, directly or through OpenID Connect
//! discovery), cached, and re-fetched when a token names a key id the cache does not know.
//!
//! Issuers rotate keys by publishing the new one before signing with it, so an unknown `kid` is the signal to
//! look again. Anyone can send a token with a made-up `kid`, though, so re-fetching is rate-limited per issuer
//! (at most one attempt per `min_refetch` interval; concurrent requests for the same refresh wait for one fetch
//! instead of each starting their own). Keys past their maximum age are re-fetched in the background while still
//! in use, so a retired key drops out without a request waiting on the issuer. A failed fetch keeps the keys
//! already known. Only keys that can verify an allowed algorithm are kept: RSA of at least 2048 bits (RS256,
//! PS256) and EC P-256 (ES256); symmetric keys in a JWKS are ignored, so an HMAC secret can never come in
//! through this door.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use reqwest::Url;
use serde_json::Value;

use super::issuers::{KeySource, check_url};

/// The largest JWKS or discovery document accepted, in bytes.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// The smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// The family of a verification key, which decides the algorithms it may verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    /// RSA: RS256 and PS256.
    Rsa,
    /// EC on P-256: ES256.
    EcP256,
}

/// One key from an issuer's JWKS, ready to verify.
pub(crate) struct VerifyKey {
    /// The key itself.
    pub(crate) key: DecodingKey,
    /// What kind of key it is.
    pub(crate) family: KeyFamily,
    /// The algorithm the JWKS pins the key to, if it does.
    pub(crate) alg: Option<Algorithm>,
}

impl VerifyKey {
    /// Whether this key may verify a token signed with `alg`.
    pub(crate) fn accepts(&self, alg: Algorithm) -> bool {
        let family_ok = matches!(
            (self.family, alg),
            (KeyFamily::Rsa, Algorithm::RS256 | Algorithm::PS256) | (KeyFamily::EcP256, Algorithm::ES256)
        );
        family_ok && self.alg.is_none_or(|pinned| pinned == alg)
    }
}

/// Keys by `kid`.
pub(crate) type KeyMap = HashMap<String, Arc<VerifyKey>>;

/// Why keys could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The request failed (connection, timeout, TLS).
    #[error("request to {url} failed: {detail}")]
    Http {
        /// Where.
        url: String,
        /// What happened.
        detail: String,
    },
    /// The server answered with a non-success status.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// Where.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The document is larger than allowed.
    #[error("{url} sent more than {MAX_DOCUMENT_BYTES} bytes")]
    TooLarge {
        /// Where.
        url: String,
    },
    /// The document is not the JSON expected.
    #[error("{0}")]
    Document(String),
}

/// Reads the usable keys of a JWKS document (`{"keys": [...]}`), skipping those that cannot verify an allowed
/// algorithm or carry no `kid`.
pub(crate) fn parse_jwks(doc: &Value) -> Result<KeyMap, JwksError> {
    let keys = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| JwksError::Document("the JWKS has no \"keys\" array".into()))?;
    let mut out = KeyMap::new();
    for jwk in keys {
        let Some(kid) = jwk.get("kid").and_then(Value::as_str).filter(|k| !k.is_empty() && k.len() <= 256) else {
            continue;
        };
        match parse_key(jwk) {
            Some(key) => {
                if out.insert(kid.to_string(), Arc::new(key)).is_some() {
                    tracing::warn!(target: "auth", %kid, "a JWKS lists the same kid twice; the last one is used");
                }
            }
            None => tracing::debug!(target: "auth", %kid, "JWKS key skipped: not a usable signing key"),
        }
    }
    Ok(out)
}

fn parse_key(jwk: &Value) -> Option<VerifyKey> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if field("use").is_some_and(|u| u != "sig") {
        return None;
    }
    let alg = match field("alg") {
        None => None,
        Some("RS256") => Some(Algorithm::RS256),
        Some("PS256") => Some(Algorithm::PS256),
        Some("ES256") => Some(Algorithm::ES256),
        Some(_) => return None,
    };
    let key = match field("kty")? {
        "RSA" => {
            let (n, e) = (field("n")?, field("e")?);
            let modulus = URL_SAFE_NO_PAD.decode(n).ok()?;
            if bit_length(&modulus) < MIN_RSA_BITS {
                return None;
            }
            VerifyKey { key: DecodingKey::from_rsa_components(n, e).ok()?, family: KeyFamily::Rsa, alg }
        }
        "EC" if field("crv")? == "P-256" => {
            let (x, y) = (field("x")?, field("y")?);
            if URL_SAFE_NO_PAD.decode(x).ok()?.len() != 32 || URL_SAFE_NO_PAD.decode(y).ok()?.len() != 32 {
                return None;
            }
            VerifyKey { key: DecodingKey::from_ec_components(x, y).ok()?, family: KeyFamily::EcP256, alg }
        }
        _ => return None,
    };
    let consistent = alg.is_none_or(|a| key.accepts(a));
    consistent.then_some(key)
}

fn bit_length(be: &[u8]) -> usize {
    match be.iter().position(|b| *b != 0) {
        Some(i) => (be.len() - i - 1) * 8 + (8 - be[i].leading_zeros() as usize),
        None => 0,
    }
}

/// What a refresh did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refresh {
    /// Keys were fetched and replaced.
    Fetched,
    /// Not attempted: fixed keys, or the last attempt was too recent.
    Skipped,
    /// The fetch failed; the previous keys stay.
    Failed,
}

#[derive(Default)]
struct CacheState {
    keys: Arc<KeyMap>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
    failing: bool,
}

/// The cached keys of one issuer.
pub(crate) struct JwksCache {
    issuer_name: String,
    iss: String,
    source: KeySource,
    http: reqwest::Client,
    state: RwLock<CacheState>,
    refresh_lock: tokio::sync::Mutex<()>,
    min_refetch: Duration,
    max_age: Duration,
}

impl JwksCache {
    /// A cache for one issuer; fixed keys are parsed now, remote ones fetched on first use.
    pub(crate) fn new(
        issuer_name: &str,
        iss: &str,
        source: KeySource,
        http: reqwest::Client,
        min_refetch: Duration,
        max_age: Duration,
    ) -> Result<Self, JwksError> {
        let mut state = CacheState::default();
        if let KeySource::Fixed(doc) = &source {
            state.keys = Arc::new(parse_jwks(doc)?);
            state.fetched_at = Some(Instant::now());
        }
        Ok(Self {
            issuer_name: issuer_name.to_string(),
            iss: iss.to_string(),
            source,
            http,
            state: RwLock::new(state),
            refresh_lock: tokio::sync::Mutex::new(()),
            min_refetch,
            max_age,
        })
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, CacheState> {
        self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, CacheState> {
        self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn is_remote(&self) -> bool {
        !matches!(self.source, KeySource::Fixed(_))
    }

    /// The key with this id, if the cache holds it.
    pub(crate) fn get(&self, kid: &str) -> Option<Arc<VerifyKey>> {
        self.read().keys.get(kid).cloned()
    }

    /// Whether the keys are older than the maximum age and no fetch is under way or was just attempted.
    pub(crate) fn wants_background_refresh(&self) -> bool {
        let stale = {
            let state = self.read();
            state.fetched_at.is_some_and(|t| t.elapsed() >= self.max_age)
                && state.last_attempt.is_none_or(|t| t.elapsed() >= self.min_refetch)
        };
        self.is_remote() && stale && self.refresh_lock.try_lock().is_ok()
    }

    /// Whether the issuer's keys are not known to be current: never fetched, or the last fetch failed.
    pub(crate) fn is_unavailable(&self) -> bool {
        let state = self.read();
        self.is_remote() && (state.fetched_at.is_none() || state.failing)
    }

    /// Fetches the keys again unless fixed or attempted within the last `min_refetch`.
    pub(crate) async fn refresh(&self) -> Refresh {
        if !self.is_remote() {
            return Refresh::Skipped;
        }
        let _one_at_a_time = self.refresh_lock.lock().await;
        if self.read().last_attempt.is_some_and(|t| t.elapsed() < self.min_refetch) {
            return Refresh::Skipped;
        }
        self.write().last_attempt = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                tracing::info!(target: "auth", issuer = %self.issuer_name, keys = keys.len(), "signing keys fetched");
                if keys.is_empty() {
                    tracing::warn!(target: "auth", issuer = %self.issuer_name, "the issuer publishes no usable signing key");
                }
                let mut state = self.write();
                state.keys = Arc::new(keys);
                state.fetched_at = Some(Instant::now());
                state.failing = false;
                Refresh::Fetched
            }
            Err(err) => {
                tracing::warn!(target: "auth", issuer = %self.issuer_name, error = %err, "fetching signing keys failed; keeping the keys already known");
                self.write().failing = true;
                Refresh::Failed
            }
        }
    }

    async fn fetch(&self) -> Result<KeyMap, JwksError> {
        let jwks_url = match &self.source {
            KeySource::Fixed(_) => return Err(JwksError::Document("fixed keys are not fetched".into())),
            KeySource::Jwks(url) => url.clone(),
            KeySource::Discovery(url) => {
                let doc = self.get_json(url).await?;
                let issuer = doc.get("issuer").and_then(Value::as_str).unwrap_or_default();
                if issuer != self.iss {
                    return Err(JwksError::Document(format!(
                        "the discovery document at {url} names issuer {issuer:?}, not the configured {:?}",
                        self.iss
                    )));
                }
                let jwks_uri = doc
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .ok_or_else(|| JwksError::Document(format!("the discovery document at {url} has no jwks_uri")))?;
                check_url(jwks_uri, url.scheme() == "http").map_err(JwksError::Document)?
            }
        };
        parse_jwks(&self.get_json(&jwks_url).await?)
    }

    async fn get_json(&self, url: &Url) -> Result<Value, JwksError> {
        let http = |e: reqwest::Error| JwksError::Http { url: url.to_string(), detail: e.to_string() };
        let mut response = self
            .http
            .get(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(http)?;
        if !response.status().is_success() {
            return Err(JwksError::Status { url: url.to_string(), status: response.status().as_u16() });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(http)? {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(JwksError::TooLarge { url: url.to_string() });
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|e| JwksError::Document(format!("{url} is not JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    #[test]
    fn symmetric_small_foreign_and_encryption_keys_are_skipped() {
        let small_n = URL_SAFE_NO_PAD.encode([0xffu8; 128]);
        let doc = json!({"keys": [
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "rsa1024", "n": small_n, "e": "AQAB"},
            {"kty": "EC", "kid": "enc", "use": "enc", "crv": "P-256", "x": P256_X, "y": P256_Y},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": P256_X, "y": P256_Y},
            {"kty": "EC", "kid": "pinned-wrong", "alg": "RS256", "crv": "P-256", "x": P256_X, "y": P256_Y},
            {"kty": "EC", "crv": "P-256", "x": P256_X, "y": P256_Y},
            {"kty": "EC", "kid": "good", "use": "sig", "crv": "P-256", "x": P256_X, "y": P256_Y},
        ]});
        let keys = parse_jwks(&doc).unwrap();
        assert_eq!(keys.keys().collect::<Vec<_>>(), ["good"]);
        let good = &keys["good"];
        assert!(good.accepts(Algorithm::ES256));
        assert!(!good.accepts(Algorithm::RS256) && !good.accepts(Algorithm::HS256));
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(parse_jwks(&json!({"kid": "x"})).is_err());
    }

    #[test]
    fn rsa_modulus_bit_length_ignores_leading_zeros() {
        assert_eq!(bit_length(&[0, 0, 0x80]), 8);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(&[0; 4]), 0);
    }
}
