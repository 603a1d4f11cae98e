//! Token verification, end to end: real keys, JWKS served over HTTP by a local server per issuer, and the caller
//! extractors driven through a small axum application over real HTTP.

mod auth_support;

use std::sync::Arc;
use std::time::Duration;

use auth_support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use fiks_digisos::auth::{AuthError, Caller, CallerKind, DevIssuer, DevRole, Fnr, NavIdent, Orgnr, VerifyOptions};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

async fn world() -> World {
    World::start(Duration::ZERO, None).await
}

/// Asserts that `token` is refused on `/any` with 401 and the message and code of `expected`.
async fn assert_refused(world: &World, token: &str, expected: AuthError) {
    assert_eq!(world.auth.verify(token).await.unwrap_err(), expected);
    let base = serve_app(Some(world.auth.clone())).await;
    let (status, body, headers) = get_with(&base, "/any", Some(token)).await;
    assert_eq!(status, 401, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["message"], expected.to_string());
    assert_eq!(body["errorCode"], expected.code());
    assert_eq!(body["status"], 401);
    assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert!(!body.to_string().contains(token), "the body must not echo the token");
}

#[tokio::test]
async fn a_valid_citizen_token_yields_the_citizen_with_the_pid() {
    let w = world().await;
    let a = w.auth.verify(&w.idporten.token(citizen_claims())).await.unwrap();
    assert_eq!(a.caller, Caller::Citizen { fnr: Fnr::parse(FNR).unwrap() });
    assert_eq!(a.issuer, "idporten");
}

#[tokio::test]
async fn the_old_level4_acr_is_accepted_for_citizens() {
    let w = world().await;
    let token = w.idporten.token(json!({"pid": FNR, "acr": "Level4"}));
    assert!(matches!(w.auth.verify(&token).await, Ok(a) if a.caller.kind() == CallerKind::Citizen));
}

#[tokio::test]
async fn a_valid_entra_token_found_through_discovery_yields_nav_staff_rs256() {
    let w = world().await;
    let a = w.auth.verify(&w.entra.token(staff_claims())).await.unwrap();
    assert_eq!(a.caller, Caller::NavStaff { navident: NavIdent::parse("Z123456").unwrap() });
}

#[tokio::test]
async fn a_maskinporten_token_of_navs_orgnr_yields_a_nav_system() {
    let w = world().await;
    let a = w.auth.verify(&w.maskinporten.token(system_claims("889640782"))).await.unwrap();
    assert_eq!(a.caller, Caller::NavSystem { orgnr: Orgnr::parse("889640782").unwrap() });
}

#[tokio::test]
async fn a_maskinporten_token_of_another_orgnr_yields_that_fagsystem() {
    let w = world().await;
    let a = w.auth.verify(&w.maskinporten.token(system_claims("958935420"))).await.unwrap();
    assert_eq!(a.caller, Caller::Fagsystem { orgnr: Orgnr::parse("958935420").unwrap() });
}

#[tokio::test]
async fn an_admin_token_with_the_role_yields_admin_ps256() {
    let w = world().await;
    let a = w.auth.verify(&w.admin.token(admin_claims())).await.unwrap();
    assert_eq!(a.caller, Caller::Admin { subject: "admin-subject".into() });
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let w = world().await;
    let now = chrono::Utc::now().timestamp();
    let token = w.idporten.token(json!({"pid": FNR, "acr": "Level4", "iat": now - 900, "exp": now - 120}));
    assert_refused(&w, &token, AuthError::Expired).await;
}

#[tokio::test]
async fn a_token_not_yet_valid_is_refused() {
    let w = world().await;
    let now = chrono::Utc::now().timestamp();
    let token =
        w.entra.token(json!({"NAVident": "Z123456", "groups": [STAFF_GROUP], "nbf": now + 300, "exp": now + 900}));
    assert_refused(&w, &token, AuthError::NotYetValid).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let w = world().await;
    let token = w.idporten.token(json!({"pid": FNR, "acr": "Level4", "aud": "some-other-service"}));
    assert_refused(&w, &token, AuthError::AudienceNotAccepted).await;
    let no_aud = w.idporten.token(json!({"pid": FNR, "acr": "Level4", "aud": null}));
    assert_refused(&w, &no_aud, AuthError::MissingClaim("aud".into())).await;
}

#[tokio::test]
async fn a_token_from_an_unknown_issuer_is_refused() {
    let w = world().await;
    let stranger = TestKey::ec("stranger-1");
    let token = stranger.sign(&claims("https://evil.test", "nav-sosialhjelp", citizen_claims()));
    assert_refused(&w, &token, AuthError::UnknownIssuer).await;
    // Even claiming a trusted iss does not help a key no trusted issuer published.
    let token = stranger.sign(&w.idporten.claims(citizen_claims()));
    assert_refused(&w, &token, AuthError::UnknownIssuer).await;
}

#[tokio::test]
async fn a_token_signed_by_one_issuers_key_claiming_another_issuer_is_refused() {
    let w = world().await;
    // Maskinporten's key, with Entra ID's iss and audience and staff claims.
    let token = w.maskinporten.key.sign(&w.entra.claims(staff_claims()));
    assert_refused(&w, &token, AuthError::IssuerMismatch).await;
}

#[tokio::test]
async fn alg_none_is_refused_before_any_key_is_fetched() {
    let w = world().await;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"idporten-1"}"#);
    let payload = URL_SAFE_NO_PAD.encode(w.idporten.claims(citizen_claims()).to_string());
    let token = format!("{header}.{payload}.");
    assert_refused(&w, &token, AuthError::AlgorithmNone).await;
    assert_eq!(w.idporten.server.hits(), 0, "no key lookup for an unsigned token");
}

#[tokio::test]
async fn hs256_with_a_guessed_secret_or_the_public_key_as_secret_is_refused() {
    let w = world().await;
    let claims = w.entra.claims(staff_claims());
    for secret in [b"secret".as_slice(), w.entra.key.public_pem.as_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(w.entra.key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_refused(&w, &token, AuthError::HmacRefused("HS256".into())).await;
    }
    assert_eq!(w.entra.server.hits(), 0, "no key lookup for an HMAC token");
}

#[tokio::test]
async fn a_citizen_token_without_pid_or_with_too_low_acr_is_refused() {
    let w = world().await;
    let no_pid = w.idporten.token(json!({"acr": "idporten-loa-high"}));
    assert_refused(&w, &no_pid, AuthError::MissingClaim("pid".into())).await;
    let low = w.idporten.token(json!({"pid": FNR, "acr": "idporten-loa-substantial"}));
    let expected = AuthError::AcrTooLow { accepted: "idporten-loa-high, Level4".into() };
    assert_refused(&w, &low, expected).await;
    let no_acr = w.idporten.token(json!({"pid": FNR}));
    assert_refused(&w, &no_acr, AuthError::MissingClaim("acr".into())).await;
}

#[tokio::test]
async fn a_staff_token_without_the_access_group_is_refused() {
    let w = world().await;
    let token = w.entra.token(json!({"NAVident": "Z123456", "groups": ["some-other-group"]}));
    assert_refused(&w, &token, AuthError::MissingGroup).await;
    let overage = w.entra.token(json!({"NAVident": "Z123456", "_claim_names": {"groups": "src1"}}));
    assert_refused(&w, &overage, AuthError::MissingGroup).await;
}

#[tokio::test]
async fn a_maskinporten_token_without_the_scope_is_refused() {
    let w = world().await;
    let mut claims = system_claims("958935420");
    claims["scope"] = json!("openid ks:fiks.read");
    assert_refused(&w, &w.maskinporten.token(claims), AuthError::MissingScope("ks:fiks".into())).await;
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature() {
    let w = world().await;
    let token = w.idporten.token(citizen_claims());
    let forged = w.idporten.claims(json!({"pid": "01017012343", "acr": "idporten-loa-high"}));
    let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert_refused(&w, &parts.join("."), AuthError::BadSignature).await;
}

#[tokio::test]
async fn an_ec_key_cannot_verify_a_token_labelled_rs256() {
    let w = world().await;
    let rsa = TestKey::rsa(0, "x", Algorithm::RS256);
    // Signed by an RSA key, but naming the EC key's kid.
    let token = rsa.sign_as(&w.idporten.claims(citizen_claims()), Algorithm::RS256, Some("idporten-1"));
    assert_refused(&w, &token, AuthError::AlgorithmKeyMismatch).await;
}

#[tokio::test]
async fn after_a_key_rotation_the_new_kid_is_accepted_and_the_retired_one_refused() {
    let w = world().await;
    let old_token = w.idporten.token(citizen_claims());
    assert!(w.auth.verify(&old_token).await.is_ok());
    let new_key = TestKey::ec("idporten-2");
    w.idporten.server.publish(&[&new_key]);
    let new_token = new_key.sign(&w.idporten.claims(citizen_claims()));
    assert!(w.auth.verify(&new_token).await.is_ok(), "the new kid is fetched and accepted");
    assert_refused(&w, &old_token, AuthError::UnknownIssuer).await;
}

#[tokio::test]
async fn keys_past_their_age_are_refetched_in_the_background_so_a_retired_key_drops_out() {
    let options =
        VerifyOptions { min_refetch_interval: Duration::ZERO, max_key_age: Duration::ZERO, ..VerifyOptions::default() };
    let w = World::start_with(options, None).await;
    let old_token = w.idporten.token(citizen_claims());
    assert!(w.auth.verify(&old_token).await.is_ok());
    let fetches = w.idporten.server.hits();
    w.idporten.server.publish(&[&TestKey::ec("idporten-2")]);
    // Still in the cache, so accepted at once; the request does not wait for the issuer.
    assert!(w.auth.verify(&old_token).await.is_ok());
    for _ in 0..500 {
        if w.idporten.server.hits() > fetches {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(w.idporten.server.hits() > fetches, "the stale keys were fetched again");
    let mut outcome = w.auth.verify(&old_token).await;
    for _ in 0..500 {
        if outcome.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        outcome = w.auth.verify(&old_token).await;
    }
    assert_eq!(outcome.unwrap_err(), AuthError::UnknownIssuer);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_does_not_hammer_the_issuers() {
    let w = World::start(Duration::from_secs(3600), None).await;
    assert!(w.auth.verify(&w.idporten.token(citizen_claims())).await.is_ok());
    let bogus: Vec<String> =
        (0..25).map(|i| TestKey::ec(&format!("bogus-{i}")).sign(&w.idporten.claims(citizen_claims()))).collect();
    let results = futures::future::join_all(bogus.iter().map(|t| w.auth.verify(t))).await;
    assert!(results.iter().all(|r| r == &Err(AuthError::UnknownIssuer)));
    for issuer in [&w.idporten, &w.entra, &w.maskinporten, &w.admin] {
        assert_eq!(issuer.server.hits(), 1, "{}: one fetch at start, none for bogus kids", issuer.iss);
    }
}

#[tokio::test]
async fn an_unreachable_issuer_makes_an_unknown_kid_a_503_not_a_401() {
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", dead.local_addr().unwrap());
    drop(dead);
    let config =
        json!([{"name": "down", "kind": "citizen", "issuer": "https://down.test", "audience": "a", "jwksUri": url}]);
    let issuers = fiks_digisos::auth::issuers::parse_issuers(&config.to_string()).unwrap();
    let auth = fiks_digisos::auth::Authenticator::new(issuers, None, Default::default()).unwrap();
    let token = TestKey::ec("k").sign(&claims("https://down.test", "a", citizen_claims()));
    let err = auth.verify(&token).await.unwrap_err();
    assert_eq!(err, AuthError::KeysUnavailable);
    assert_eq!(err.status(), 503);
}

#[tokio::test]
async fn dev_issuer_tokens_for_every_role_are_accepted_only_in_development_mode() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Arc::new(DevIssuer::load_or_create(dir.path()).unwrap());
    let with_dev = World::start(Duration::ZERO, Some(dev.clone())).await;
    let without_dev = world().await;
    let roles = [
        (DevRole::Citizen(Fnr::parse(FNR).unwrap()), Caller::Citizen { fnr: Fnr::parse(FNR).unwrap() }),
        (
            DevRole::NavStaff(NavIdent::parse("Z123456").unwrap()),
            Caller::NavStaff { navident: NavIdent::parse("Z123456").unwrap() },
        ),
        (DevRole::NavSystem, Caller::NavSystem { orgnr: Orgnr::parse("889640782").unwrap() }),
        (
            DevRole::Fagsystem(Orgnr::parse("958935420").unwrap()),
            Caller::Fagsystem { orgnr: Orgnr::parse("958935420").unwrap() },
        ),
        (DevRole::Admin, Caller::Admin { subject: "dev-admin".into() }),
    ];
    for (role, expected) in roles {
        let token = dev.mint(&role, Duration::from_secs(600)).unwrap();
        let a = with_dev.auth.verify(&token).await.unwrap();
        assert_eq!((a.caller, a.issuer.as_str()), (expected, "digisos-dev"));
        assert_eq!(without_dev.auth.verify(&token).await.unwrap_err(), AuthError::UnknownIssuer);
    }
    assert!(without_dev.auth.dev_issuer().is_none());
}

#[tokio::test]
async fn the_extractors_give_each_route_its_caller_and_refuse_other_kinds_with_403() {
    let w = world().await;
    let base = serve_app(Some(w.auth.clone())).await;
    let citizen = w.idporten.token(citizen_claims());
    let staff = w.entra.token(staff_claims());
    let cases = [
        ("/citizen", w.idporten.token(citizen_claims()), FNR.to_string()),
        ("/staff", staff.clone(), "Z123456".to_string()),
        ("/nav-system", w.maskinporten.token(system_claims("889640782")), "889640782".to_string()),
        ("/fagsystem", w.maskinporten.token(system_claims("958935420")), "958935420".to_string()),
        ("/admin", w.admin.token(admin_claims()), "admin-subject".to_string()),
        ("/any", staff.clone(), "nav-staff|nav-staff".to_string()),
    ];
    for (path, token, expected) in cases {
        let (status, body, _) = get_with(&base, path, Some(&token)).await;
        assert_eq!((status, body), (200, expected), "{path}");
    }
    let (status, body, _) = get_with(&base, "/citizen", Some(&staff)).await;
    assert_eq!(status, 403, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["errorCode"], "WRONG_CALLER");
    assert_eq!(body["message"], "this endpoint serves citizen callers; the token identifies a nav-staff caller");
    let (status, _, _) = get_with(&base, "/admin", Some(&citizen)).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_request_without_a_token_gets_a_401_in_the_fiks_error_shape() {
    let w = world().await;
    let base = serve_app(Some(w.auth.clone())).await;
    let (status, body, headers) = get_with(&base, "/citizen", None).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], r#"Bearer realm="digisos""#);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["status"], 401);
    assert_eq!(body["error"], "Unauthorized");
    assert_eq!(body["path"], "/citizen");
    assert_eq!(body["errorCode"], "MISSING_TOKEN");
    assert!(body["timestamp"].as_i64().is_some_and(|t| t > 1_600_000_000_000));
    assert!(body["errorId"].as_str().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()));
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Bearer")));
}

#[tokio::test]
async fn a_route_without_verification_wired_in_refuses_rather_than_lets_through() {
    let w = world().await;
    let base = serve_app(None).await;
    let (status, body, _) = get_with(&base, "/citizen", Some(&w.idporten.token(citizen_claims()))).await;
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("AUTH_NOT_CONFIGURED"));
}
