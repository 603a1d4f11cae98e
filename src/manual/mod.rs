//! The kommune's manual web pages under `/kommune` (issue 6 item 5): a staff member of a kommune without a
//! fagsystem integration logs in with the organisation's fagsystem token, sees the waiting deliveries of the
//! mailbox, opens one, downloads its files, and confirms receipt or rejects it with a reason.
//!
//! The pages are server-rendered HTML (askama templates in `templates/manual/`, HTML-escaped by default, inline
//! CSS, no JavaScript). They are another face of the REST mailbox, not a second implementation: every route
//! is registered through [`AccessRouter`] with its rule, mailbox access and the confirm/reject commands are the
//! REST mailbox's own functions ([`crate::api::mottak`]), and downloads go through the REST download handler.
//!
//! **Session.** `POST /kommune/login` verifies the pasted token with the [`crate::auth::Authenticator`] and,
//! for a fagsystem token only, stores it in an `HttpOnly; SameSite=Strict; Path=/kommune` cookie (`Secure`
//! unless development mode), valid as long as the token. The middleware [`okt`] copies that cookie into
//! `Authorization: Bearer` for `/kommune` paths when the request has no such header, so the access rules
//! verify it exactly like a REST caller's token; the token itself is the session, nothing is kept server-side.
//!
//! **CSRF.** Three layers: the cookie is `SameSite=Strict`; every form that acts (confirm, reject) carries a
//! per-session token in a hidden field, derived from the session token by SHA-256 (a page on another site can
//! neither read the cookie nor compute it), checked before anything else; and a browser's `Sec-Fetch-Site`
//! (or else `Origin`) must say the form came from this origin, which also guards login and logout.
//!
//! **Files.** A file is user input: its name is escaped everywhere, and the download is sent as an attachment
//! with `Content-Security-Policy: sandbox` and `nosniff`, so a file that claims to be HTML never runs as a page
//! of this origin, where the session cookie would go with its requests.

mod csrf;
mod maler;
mod okt;
mod sider;

use axum::http::Method;
use axum::routing::{get, post};

use crate::api::fagsystem::FAGSYSTEM;
use crate::http::AppState;
use crate::http::access::{AccessRouter, Rule};

pub use okt::okt;

/// The root of the manual pages; the session cookie is scoped to it.
pub const ROOT: &str = "/kommune";
/// The session cookie's name.
pub const COOKIE: &str = "digisos_kommune";
/// The hidden form field that carries the per-session CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// Adds the manual pages' routes.
pub fn routes(router: AccessRouter<AppState>) -> AccessRouter<AppState> {
    router
        .route(&[Method::GET], "/kommune", get(sider::innlogging), Rule::Public)
        .route(&[Method::POST], "/kommune/login", post(sider::logg_inn), Rule::Public)
        .route(&[Method::POST], "/kommune/logout", post(sider::logg_ut), Rule::Public)
        .route(&[Method::GET], "/kommune/organisasjoner", get(sider::organisasjoner), FAGSYSTEM)
        .route(&[Method::GET], "/kommune/{fiksOrgId}/mottak", get(sider::mottak), FAGSYSTEM)
        .route(&[Method::GET], "/kommune/{fiksOrgId}/mottak/{leveranseId}", get(sider::leveranse), FAGSYSTEM)
        .route(&[Method::POST], "/kommune/{fiksOrgId}/mottak/{leveranseId}/kvitter", post(sider::kvitter), FAGSYSTEM)
        .route(&[Method::POST], "/kommune/{fiksOrgId}/mottak/{leveranseId}/avvis", post(sider::avvis), FAGSYSTEM)
        .route(&[Method::GET], "/kommune/{fiksOrgId}/dokument/{dokumentlagerId}", get(sider::dokument), FAGSYSTEM)
}
