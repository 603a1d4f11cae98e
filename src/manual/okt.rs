//! The session middleware of the `/kommune` pages: the session cookie becomes the request's bearer token before
//! the access rules run, and a refusal on the way (the access rule's 401/403, the fallback's 404, all JSON)
//! becomes an HTML page with the same status, since a person reads these answers.

use axum::extract::Request;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::Value;

use super::maler::feilside;
use super::{COOKIE as SESSION_COOKIE, ROOT};

/// The largest error body read back to be shown as a page.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// For `/kommune` paths: copies the session cookie into `Authorization: Bearer` when the request has no
/// `Authorization` header, and answers a JSON error from the layers inside as an HTML page. Other paths pass
/// untouched, so the REST API never accepts a cookie.
pub async fn okt(mut request: Request, next: Next) -> Response {
    if !under_root(request.uri().path()) {
        return next.run(request).await;
    }
    if !request.headers().contains_key(AUTHORIZATION)
        && let Some(value) = session_token(request.headers()).and_then(|t| bearer(&t))
    {
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    let response = next.run(request).await;
    as_page(response).await
}

fn under_root(path: &str) -> bool {
    path == ROOT || path.strip_prefix(ROOT).is_some_and(|rest| rest.starts_with('/'))
}

fn bearer(token: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).ok()
}

/// The session cookie's value, from any `Cookie` header.
pub(super) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, value)| *name == SESSION_COOKIE && !value.is_empty())
        .map(|(_, value)| value.to_owned())
}

async fn as_page(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || !is_json {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), MAX_ERROR_BODY).await.unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|body| body["message"].as_str().map(str::to_owned))
        .unwrap_or_default();
    feilside(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_under_the_root_are_pages() {
        assert!(under_root("/kommune"));
        assert!(under_root("/kommune/login"));
        assert!(!under_root("/kommunex"));
        assert!(!under_root("/digisos/api/v1/kommune"));
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; digisos_kommune=abc.def.ghi; b=2"));
        assert_eq!(session_token(&headers).as_deref(), Some("abc.def.ghi"));
        let mut empty = HeaderMap::new();
        empty.append(COOKIE, HeaderValue::from_static("digisos_kommune=; other=x"));
        assert_eq!(session_token(&empty), None);
    }
}
