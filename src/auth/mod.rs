//! Who is calling: every request's bearer token becomes one typed [`Caller`], or is refused with a reason.
//!
//! The files follow the path of a token. [`issuers`] is the configuration (which issuers are trusted, for which
//! kind of caller, with which rules); [`jwks`] fetches and caches each issuer's signing keys; [`verify`] checks a
//! token (the key found by `kid` decides the issuer, then that issuer's `iss`, `aud`, times and kind rules) and
//! `rules` turns its claims into a caller; `crate::http::caller` makes that an axum extractor so a handler
//! names the caller it needs in its signature. [`dev_issuer`] is the built-in issuer of development mode, and [`audit`]
//! the durable trail of Nav staff access to a person's data.
//!
//! Identity comes from the verified token only, never from an argument, and a person's number never reaches an
//! ordinary log line: [`Fnr`] masks itself, and the full number goes only to the `audit` log target.

pub mod audit;
pub mod dev_issuer;
pub mod issuers;
pub mod jwks;
pub(crate) mod rules;
pub mod token_cli;
pub mod verify;

use std::fmt;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
pub use digisos_schema::{Fnr, NavIdent, Orgnr};

/// Nav's organisation number (Arbeids- og velferdsetaten): Maskinporten tokens from it are Nav systems.
pub const NAV_ORGNR: &str = "889640782";

pub use audit::{AuditError, AuditLog, Decision, SporingsId, StaffAccess, SystemAccess};
pub use dev_issuer::{DevIssuer, DevRole};
pub use issuers::{AuthConfig, AuthConfigError, IssuerConfig, IssuerKind};
pub use token_cli::TokenArgs;
pub use verify::{Authenticator, VerifyOptions};

/// A verified caller: who the token says is calling, after every check passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A citizen (ID-porten/TokenX token with `pid` at a high enough `acr`).
    Citizen {
        /// The citizen's personal number, from the `pid` claim.
        fnr: Fnr,
    },
    /// A Nav support employee (Entra ID token with `NAVident` and the access group).
    NavStaff {
        /// The employee's id, from the `NAVident` claim.
        navident: NavIdent,
    },
    /// One of Nav's own systems (Maskinporten token whose `consumer` is a Nav organisation number).
    NavSystem {
        /// The Nav organisation number in the token.
        orgnr: Orgnr,
    },
    /// A kommune's fagsystem, or its vendor (Maskinporten token of another organisation).
    Fagsystem {
        /// The organisation number in the token's `consumer` claim.
        orgnr: Orgnr,
    },
    /// An administrator (a token carrying the configured admin role).
    Admin {
        /// Who: the `NAVident` claim if present, else `sub`.
        subject: String,
    },
}

impl Caller {
    /// The kind of caller, for access rules and logs (it carries no personal data).
    pub fn kind(&self) -> CallerKind {
        match self {
            Self::Citizen { .. } => CallerKind::Citizen,
            Self::NavStaff { .. } => CallerKind::NavStaff,
            Self::NavSystem { .. } => CallerKind::NavSystem,
            Self::Fagsystem { .. } => CallerKind::Fagsystem,
            Self::Admin { .. } => CallerKind::Admin,
        }
    }
}

/// The kinds of caller, without their identities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallerKind {
    /// See [`Caller::Citizen`].
    Citizen,
    /// See [`Caller::NavStaff`].
    NavStaff,
    /// See [`Caller::NavSystem`].
    NavSystem,
    /// See [`Caller::Fagsystem`].
    Fagsystem,
    /// See [`Caller::Admin`].
    Admin,
}

impl CallerKind {
    /// The kind's name as used in messages and on the command line (`nav-staff`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Citizen => "citizen",
            Self::NavStaff => "nav-staff",
            Self::NavSystem => "nav-system",
            Self::Fagsystem => "fagsystem",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for CallerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verified token: the caller plus what the transport needs (a WebSocket closes when the token expires).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// Who is calling.
    pub caller: Caller,
    /// The configured name of the issuer whose key signed the token.
    pub issuer: String,
    /// When the token stops being valid (its `exp`).
    pub expires_at: DateTime<Utc>,
}

/// Why a request has no verified caller, or the wrong one. The messages say why without echoing the token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("no bearer token: send the header 'Authorization: Bearer <token>'")]
    MissingToken,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be 'Bearer <token>'")]
    MalformedHeader,
    /// Not three base64url parts with a JSON header, or too large.
    #[error("the token is not a well-formed signed JWT")]
    MalformedToken,
    /// `alg: none`.
    #[error("unsigned tokens (alg none) are not accepted")]
    AlgorithmNone,
    /// An HMAC algorithm (shared secrets are never accepted).
    #[error("HMAC-signed tokens ({0}) are not accepted; tokens must be signed with RS256, ES256 or PS256")]
    HmacRefused(String),
    /// Any other algorithm outside the allowed list.
    #[error("signing algorithm {0} is not accepted; tokens must be signed with RS256, ES256 or PS256")]
    AlgorithmNotAllowed(String),
    /// The header names an algorithm the key with that `kid` is not for.
    #[error("the token's algorithm does not match its signing key")]
    AlgorithmKeyMismatch,
    /// No `kid` in the header.
    #[error("the token has no key id (kid) in its header")]
    MissingKeyId,
    /// No accepted issuer publishes a key with the token's `kid`.
    #[error("unknown issuer: the token is not signed by a key of any accepted issuer")]
    UnknownIssuer,
    /// The key was not found and some issuer's keys could not be fetched: the token may be fine.
    #[error("the signing keys of an accepted issuer could not be fetched; try again shortly")]
    KeysUnavailable,
    /// The signature does not verify with the key named by `kid`.
    #[error("invalid signature")]
    BadSignature,
    /// The `iss` claim is not the issuer whose key signed the token.
    #[error("issuer mismatch: the token's iss is not the issuer whose key signed it")]
    IssuerMismatch,
    /// The `aud` claim holds none of the issuer's accepted audiences.
    #[error("audience not accepted")]
    AudienceNotAccepted,
    /// `exp` has passed (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is still in the future (beyond the leeway).
    #[error("token not yet valid (nbf is in the future)")]
    NotYetValid,
    /// A claim the issuer's rules need is absent.
    #[error("the token lacks the required claim {0}")]
    MissingClaim(String),
    /// A claim is present but not usable.
    #[error("the token's claim {claim} is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The citizen logged in at too low a level.
    #[error("authentication level too low: acr must be one of {accepted}")]
    AcrTooLow {
        /// The accepted values, comma-separated.
        accepted: String,
    },
    /// A Nav staff token without the group that grants access.
    #[error("the token does not carry the group that grants Nav staff access")]
    MissingGroup,
    /// A Maskinporten token without the required scope.
    #[error("the token lacks the required scope {0}")]
    MissingScope(String),
    /// An admin-issuer token without the admin role.
    #[error("the token lacks the admin role")]
    MissingAdminRole,
    /// A development token that carries no identity, or more than one kind.
    #[error("the token must carry exactly one identity: pid, NAVident, consumer or the admin role")]
    AmbiguousIdentity,
    /// A verified caller of another kind than the endpoint serves.
    #[error("this endpoint serves {needed} callers; the token identifies a {got} caller")]
    WrongCaller {
        /// The kind the endpoint serves.
        needed: CallerKind,
        /// The kind the token identifies.
        got: CallerKind,
    },
    /// The route has no authentication wired in (a programming error, refused rather than let through).
    #[error("this endpoint has no caller verification configured")]
    NotConfigured,
}

impl AuthError {
    /// The HTTP status: 401 for a missing or bad token, 403 for a good token of the wrong kind, 503 when keys
    /// could not be fetched, 500 for a route without verification.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::WrongCaller { .. } => StatusCode::FORBIDDEN,
            Self::KeysUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// A stable machine-readable code for the body's `errorCode`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "MISSING_TOKEN",
            Self::MalformedHeader => "MALFORMED_AUTHORIZATION_HEADER",
            Self::MalformedToken => "MALFORMED_TOKEN",
            Self::AlgorithmNone | Self::HmacRefused(_) | Self::AlgorithmNotAllowed(_) => "ALGORITHM_NOT_ACCEPTED",
            Self::AlgorithmKeyMismatch => "ALGORITHM_KEY_MISMATCH",
            Self::MissingKeyId => "MISSING_KEY_ID",
            Self::UnknownIssuer => "UNKNOWN_ISSUER",
            Self::KeysUnavailable => "KEYS_UNAVAILABLE",
            Self::BadSignature => "INVALID_SIGNATURE",
            Self::IssuerMismatch => "ISSUER_MISMATCH",
            Self::AudienceNotAccepted => "AUDIENCE_NOT_ACCEPTED",
            Self::Expired => "TOKEN_EXPIRED",
            Self::NotYetValid => "TOKEN_NOT_YET_VALID",
            Self::MissingClaim(_) => "MISSING_CLAIM",
            Self::InvalidClaim { .. } => "INVALID_CLAIM",
            Self::AcrTooLow { .. } => "ACR_TOO_LOW",
            Self::MissingGroup => "MISSING_GROUP",
            Self::MissingScope(_) => "MISSING_SCOPE",
            Self::MissingAdminRole => "MISSING_ADMIN_ROLE",
            Self::AmbiguousIdentity => "AMBIGUOUS_IDENTITY",
            Self::WrongCaller { .. } => "WRONG_CALLER",
            Self::NotConfigured => "AUTH_NOT_CONFIGURED",
        }
    }
}
