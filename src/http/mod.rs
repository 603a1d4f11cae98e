//! What every HTTP edge of the hub shares: the application state, access rules ([`access::AccessRouter`]: each
//! route carries an explicit rule), the callers as extractors, the one error shape, multipart uploads, the read
//! side as handlers see it, and the operational endpoints. The edges themselves (`crate::api`, `crate::graphql`,
//! `crate::manual`) build on this module, and `crate::app` puts them together; nothing here imports them.

pub mod access;
pub mod caller;
pub mod error;
pub mod health;
pub mod multipart;
pub mod read_side;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;

use crate::auth::Authenticator;
use crate::documents::DocumentStore;
use crate::eventstore::DynEventStore;
use crate::kryptering::Kryptering;
use multipart::UploadLimits;

/// What every handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// The event store.
    pub store: DynEventStore,
    /// Token verification for every caller.
    pub auth: Arc<Authenticator>,
    /// Where the files of cases are kept.
    pub documents: DocumentStore,
    /// The limits of one upload request (files a request, part sizes).
    pub upload_limits: UploadLimits,
    /// The keys encrypted uploads are decrypted with, and whether plain files are taken.
    pub kryptering: Kryptering,
    /// The Fiks IO channel, when it is on (`DIGISOS_FIKS_IO_AMQP_URL`).
    pub fiks_io: Option<crate::fiksio::Kanal>,
}

/// The response header that carries the event-store position a command produced (read-your-writes: send it back
/// on a query to be answered only once the read models have reached it).
pub const POSITION_HEADER: &str = "x-digisos-position";

/// Limits applied to every request.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// The largest request body, in bytes.
    pub max_body_bytes: usize,
    /// The longest a request may take before it is answered 408.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024 * 1024, request_timeout: Duration::from_secs(60) }
    }
}
