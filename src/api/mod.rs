//! The REST API under `/digisos/api/v1`, with the paths of the real Fiks Digisos API (DOMAIN.md A) so that a
//! client written for it needs as little change as possible.
//!
//! Each audience has its own module, and each module adds its routes with their access rules through
//! [`AccessRouter`]; handlers name the caller they serve in their signature.

pub mod admin;
pub mod dokumenter;
pub mod dokumentlager_nokkel;
pub mod edge;
pub mod fagsystem;
pub mod fiks_io;
pub mod innsyn;
pub mod mellomlagring;
pub mod mottak;
pub mod nav;
pub mod nav_soknader;
pub mod nav_system;
pub mod openapi;

use crate::http::AppState;
use crate::http::access::AccessRouter;

/// The prefix of every REST path.
pub const PREFIX: &str = "/digisos/api/v1";

/// Adds every REST route to `router`; `state` gives the limits some routes are built with (upload body limits).
pub fn routes(router: AccessRouter<AppState>, state: &AppState) -> AccessRouter<AppState> {
    let router = admin::routes(router);
    let router = nav_system::routes(router);
    let router = nav_soknader::routes(router);
    let router = innsyn::routes(router);
    let router = fagsystem::routes(router, state);
    let router = mottak::routes(router);
    let router = fiks_io::routes(router);
    let router = dokumenter::routes(router);
    let router = dokumentlager_nokkel::routes(router);
    let router = mellomlagring::routes(router, state);
    nav::routes(router, state)
}
