//! Cross-site request forgery: the per-session form token and the browser's own word on where a form came from.
//!
//! The form token is `SHA-256("digisos-kommune-csrf:" + session token)` in hex. It needs no server state, it
//! changes with every login, and only someone who holds the session token can compute it: a page on another
//! site can read neither the `HttpOnly` cookie nor this site's pages. The origin check uses `Sec-Fetch-Site`
//! where the browser sends it (every current browser does) and `Origin` otherwise; a client that sends neither
//! (not a browser, so not a forgery victim) passes it.

use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN};
use sha2::{Digest, Sha256};

use crate::http::error::ApiError;

/// The token this request's session must put in its forms, or `None` without a bearer token.
pub(super) fn token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(b"digisos-kommune-csrf:");
    hasher.update(token.trim().as_bytes());
    Some(hex::encode(hasher.finalize()))
}

/// Checks a submitted form: it came from this origin and carries this session's token. 403 otherwise.
pub(super) fn check(headers: &HeaderMap, submitted: &str) -> Result<(), ApiError> {
    same_origin(headers)?;
    let expected = token(headers).ok_or_else(|| ApiError::forbidden("the form has no session; log in again"))?;
    if !equal(expected.as_bytes(), submitted.as_bytes()) {
        return Err(ApiError::forbidden(
            "the form's security token does not belong to this session; reload the page and try again",
        ));
    }
    Ok(())
}

/// The browser says the request came from a page of this origin (or was typed by the user). 403 otherwise.
pub(super) fn same_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let refused = || ApiError::forbidden("the form was sent from another site and is refused");
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.to_str() {
            Ok("same-origin") | Ok("none") => Ok(()),
            _ => Err(refused()),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    let origin_host =
        origin.to_str().ok().and_then(|o| o.split_once("://")).map(|(_, rest)| rest.trim_end_matches('/'));
    match (origin_host, host) {
        (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
        _ => Err(refused()),
    }
}

/// Compares in time that does not depend on where the first difference is.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    #[test]
    fn the_form_token_follows_the_session_token() {
        let a = token(&headers(&[("authorization", "Bearer aaa.bbb.ccc")])).expect("a token");
        let b = token(&headers(&[("authorization", "Bearer aaa.bbb.ddd")])).expect("a token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert!(check(&headers(&[("authorization", "Bearer aaa.bbb.ccc")]), &a).is_ok());
        assert!(check(&headers(&[("authorization", "Bearer aaa.bbb.ccc")]), &b).is_err());
        assert!(check(&HeaderMap::new(), &a).is_err(), "no session, no form");
    }

    #[test]
    fn a_cross_site_form_is_refused_and_a_same_origin_one_passes() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-site")])).is_err());
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(same_origin(&headers(&[("origin", "https://evil.example"), ("host", "digisos.no")])).is_err());
        assert!(same_origin(&headers(&[("origin", "null"), ("host", "digisos.no")])).is_err());
        assert!(same_origin(&headers(&[("origin", "https://digisos.no"), ("host", "digisos.no")])).is_ok());
        assert!(same_origin(&HeaderMap::new()).is_ok(), "a client that is not a browser");
    }
}
