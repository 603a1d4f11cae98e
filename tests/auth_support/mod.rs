//! Test issuers for the identity tests: real keys (RSA 2048 and EC P-256), JWKS served over real HTTP by a
//! small axum server per issuer, and an [`Authenticator`] configured through the same JSON the operator writes.
//!
//! RSA key generation is slow in debug builds, so the RSA keys are generated once per test binary.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fiks_digisos::auth::issuers::parse_issuers;
use fiks_digisos::auth::{Authenticator, Caller, DevIssuer, VerifyOptions};
use fiks_digisos::http::caller::{AdminCaller, CitizenCaller, FagsystemCaller, NavStaffCaller, NavSystemCaller};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

/// The staff access group in the test Entra ID configuration.
pub const STAFF_GROUP: &str = "0000-GA-Modia_Sosialhjelp_NKS";
/// A valid (synthetic) personal number.
pub const FNR: &str = "01817012309";

/// A signing key with its public JWK.
#[derive(Clone)]
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    encoding: EncodingKey,
    pub jwk: Value,
    /// The public key as PEM (for the HMAC confusion attack).
    pub public_pem: String,
}

fn rsa_keys() -> &'static [rsa::RsaPrivateKey] {
    static KEYS: OnceLock<Vec<rsa::RsaPrivateKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..2).map(|_| rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation")).collect()
    })
}

impl TestKey {
    /// The `index`-th (0 or 1) RSA key of this test binary, signing with `alg` (RS256 or PS256).
    pub fn rsa(index: usize, kid: &str, alg: Algorithm) -> Self {
        let key = &rsa_keys()[index];
        let pem = key.to_pkcs1_pem(LineEnding::LF).unwrap();
        let public = rsa::RsaPublicKey::from(key);
        let public_pem = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_pem(&public, LineEnding::LF).unwrap();
        let jwk = json!({
            "kty": "RSA", "kid": kid, "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
        });
        Self { kid: kid.into(), alg, encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), jwk, public_pem }
    }

    /// A fresh EC P-256 key signing ES256.
    pub fn ec(kid: &str) -> Self {
        let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
        let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let point = key.public_key().to_encoded_point(false);
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        });
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
            jwk,
            public_pem: String::new(),
        }
    }

    /// Signs `claims` with this key, its algorithm and its kid.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(claims, self.alg, Some(&self.kid))
    }

    /// Signs `claims` with this key under another header algorithm or kid.
    pub fn sign_as(&self, claims: &Value, alg: Algorithm, kid: Option<&str>) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_string);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// A JWKS (and discovery) server on a random loopback port, counting JWKS fetches.
pub struct KeyServer {
    pub base: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
}

impl KeyServer {
    /// Starts serving `keys` at `/jwks` and a discovery document naming `iss` at
    /// `/.well-known/openid-configuration`.
    pub async fn start(iss: &str, keys: &[&TestKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Mutex::new(keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()));
        let hits = Arc::new(AtomicUsize::new(0));
        let (k, h) = (shared.clone(), hits.clone());
        let discovery = json!({"issuer": iss, "jwks_uri": format!("{base}/jwks")});
        let router = Router::new()
            .route(
                "/jwks",
                get(move || {
                    h.fetch_add(1, Ordering::SeqCst);
                    let keys = k.lock().unwrap().clone();
                    async move { Json(json!({ "keys": keys })) }
                }),
            )
            .route("/.well-known/openid-configuration", get(move || async move { Json(discovery) }));
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Self { base, keys: shared, hits }
    }

    /// Replaces the published keys (a rotation).
    pub fn publish(&self, keys: &[&TestKey]) {
        *self.keys.lock().unwrap() = keys.iter().map(|k| k.jwk.clone()).collect();
    }

    /// How many times the JWKS was fetched.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// One test issuer: its `iss`, accepted audience, key and server.
pub struct TestIssuer {
    pub iss: String,
    pub aud: String,
    pub key: TestKey,
    pub server: KeyServer,
}

impl TestIssuer {
    async fn start(iss: &str, aud: &str, key: TestKey) -> Self {
        let server = KeyServer::start(iss, &[&key]).await;
        Self { iss: iss.into(), aud: aud.into(), key, server }
    }

    /// Claims valid now for five minutes, with `extra` merged in (a `null` removes a claim).
    pub fn claims(&self, extra: Value) -> Value {
        claims(&self.iss, &self.aud, extra)
    }

    /// A token signed by this issuer's key with `extra` claims.
    pub fn token(&self, extra: Value) -> String {
        self.key.sign(&self.claims(extra))
    }
}

/// `iss`, `aud`, `iat`, `nbf` and `exp` (five minutes) with `extra` merged in; `null` values remove claims.
pub fn claims(iss: &str, aud: &str, extra: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut c = json!({"iss": iss, "aud": aud, "iat": now, "nbf": now - 1, "exp": now + 300, "sub": "subject"});
    let (Value::Object(map), Value::Object(extra)) = (&mut c, extra) else { return c };
    for (k, v) in extra {
        if v.is_null() {
            map.remove(&k);
        } else {
            map.insert(k, v);
        }
    }
    c
}

/// Valid identity claims for each issuer kind.
pub fn citizen_claims() -> Value {
    json!({"pid": FNR, "acr": "idporten-loa-high"})
}
pub fn staff_claims() -> Value {
    json!({"NAVident": "Z123456", "groups": ["other-group", STAFF_GROUP]})
}
pub fn system_claims(orgnr: &str) -> Value {
    json!({"consumer": {"authority": "iso6523-actorid-upis", "ID": format!("0192:{orgnr}")}, "scope": "openid ks:fiks"})
}
pub fn admin_claims() -> Value {
    json!({"roles": ["digisos-admin"], "sub": "admin-subject"})
}

/// Four issuers of four kinds, each with its own key server, and an authenticator trusting them.
pub struct World {
    pub idporten: TestIssuer,
    pub entra: TestIssuer,
    pub maskinporten: TestIssuer,
    pub admin: TestIssuer,
    pub auth: Arc<Authenticator>,
}

impl World {
    /// Starts the issuers; keys may be re-fetched at once (no rate limit) unless `min_refetch` says otherwise.
    pub async fn start(min_refetch: Duration, dev: Option<Arc<DevIssuer>>) -> Self {
        Self::start_with(VerifyOptions { min_refetch_interval: min_refetch, ..VerifyOptions::default() }, dev).await
    }

    /// Starts the issuers with these verification options.
    pub async fn start_with(options: VerifyOptions, dev: Option<Arc<DevIssuer>>) -> Self {
        let idporten = TestIssuer::start("https://idporten.test", "nav-sosialhjelp", TestKey::ec("idporten-1")).await;
        let entra = TestIssuer::start(
            "https://login.test/tenant/v2.0",
            "digisos-client-id",
            TestKey::rsa(0, "entra-1", Algorithm::RS256),
        )
        .await;
        let maskinporten =
            TestIssuer::start("https://maskinporten.test/", "https://digisos.test", TestKey::ec("mp-1")).await;
        let admin =
            TestIssuer::start("https://admin.test", "digisos-admin-api", TestKey::rsa(1, "admin-1", Algorithm::PS256))
                .await;
        let config = json!([
            {"name": "idporten", "kind": "citizen", "issuer": idporten.iss, "audience": idporten.aud,
             "jwksUri": format!("{}/jwks", idporten.server.base)},
            {"name": "entra", "kind": "nav-staff", "issuer": entra.iss, "audience": [entra.aud],
             "discoveryUrl": format!("{}/.well-known/openid-configuration", entra.server.base),
             "requiredGroup": STAFF_GROUP},
            {"name": "maskinporten", "kind": "maskinporten", "issuer": maskinporten.iss, "audience": maskinporten.aud,
             "jwksUri": format!("{}/jwks", maskinporten.server.base), "requiredScope": "ks:fiks"},
            {"name": "admin", "kind": "admin", "issuer": admin.iss, "audience": admin.aud,
             "jwksUri": format!("{}/jwks", admin.server.base), "adminRole": "digisos-admin"},
        ]);
        let issuers = parse_issuers(&config.to_string()).unwrap();
        let auth = Arc::new(Authenticator::new(issuers, dev, options).unwrap());
        Self { idporten, entra, maskinporten, admin, auth }
    }
}

/// A tiny application on a random port whose routes each need one kind of caller; returns its base URL.
pub async fn serve_app(auth: Option<Arc<Authenticator>>) -> String {
    let mut router = Router::new()
        .route("/citizen", get(|CitizenCaller(fnr): CitizenCaller| async move { fnr.expose().to_string() }))
        .route("/staff", get(|NavStaffCaller(ident): NavStaffCaller| async move { ident.to_string() }))
        .route("/nav-system", get(|NavSystemCaller(orgnr): NavSystemCaller| async move { orgnr.to_string() }))
        .route("/fagsystem", get(|FagsystemCaller(orgnr): FagsystemCaller| async move { orgnr.to_string() }))
        .route("/admin", get(|AdminCaller(subject): AdminCaller| async move { subject }))
        .route(
            "/any",
            get(|caller: Caller, again: Caller| async move { format!("{}|{}", caller.kind(), again.kind()) }),
        );
    if let Some(auth) = auth {
        router = router.layer(Extension(auth));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// GETs `path` with the bearer token (if any) and returns the status and the body.
pub async fn get_with(base: &str, path: &str, token: Option<&str>) -> (u16, String, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new().get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.text().await.unwrap(), headers)
}
