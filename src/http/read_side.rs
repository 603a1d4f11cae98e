//! The read side as handlers see it: the read models' database and the projection runner that fills them.
//!
//! It travels as a request extension rather than a field of [`super::AppState`], so the write side can be
//! served (and tested) without it; `serve` always attaches it. A handler that needs read models takes
//! [`ReadSide`] in its signature and gets a clear 503 where it is missing.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use digisos_projections::ReadDb;

use super::error::ApiError;
use crate::eventstore::Position;
use crate::projection_runner::ProjectionRunner;

/// The request header a client sends back (the `x-digisos-position` of a command's answer) to be answered only
/// once the read models have reached that position.
pub const MIN_POSITION_HEADER: &str = "x-digisos-min-position";

/// The read models and their runner.
#[derive(Clone)]
pub struct ReadSide {
    /// Where the read models are.
    pub db: ReadDb,
    /// What fills them.
    pub runner: Arc<ProjectionRunner>,
    /// How long a read waits for the read models to reach a position it was asked to see.
    pub max_wait: Duration,
    /// Which cases changed, for live updates.
    pub live: Arc<crate::projection_runner::change_feed::ChangeFeed>,
}

impl ReadSide {
    /// The read side over `db`, filled by `runner`; reads wait at most `max_wait` for a position.
    pub fn new(db: ReadDb, runner: Arc<ProjectionRunner>, max_wait: Duration) -> Self {
        Self { db, runner, max_wait, live: Arc::default() }
    }

    /// Waits until projection `name` has reached the position named by the request's
    /// `x-digisos-min-position` header, if any (read-your-writes); 400 on a malformed header, 503 on timeout.
    pub async fn catch_up(&self, name: &str, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(value) = headers.get(MIN_POSITION_HEADER) else {
            return Ok(());
        };
        let position: Position =
            value.to_str().ok().and_then(|v| v.parse().ok()).ok_or_else(|| {
                ApiError::bad_request(format!("{MIN_POSITION_HEADER} must be two numbers joined by '-'"))
            })?;
        self.runner
            .wait_for(name, position, self.max_wait)
            .await
            .map(|_| ())
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, format!("read model not caught up: {e}")))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ReadSide {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<ReadSide>()
            .cloned()
            .ok_or_else(|| ApiError::unavailable("the read models are not available in this process"))
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for ReadSide {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<ReadSide>().cloned())
    }
}

/// Attaches the read side to every request of `router`.
pub fn with_read_side(router: Router, read_side: ReadSide) -> Router {
    router.layer(axum::Extension(read_side))
}
