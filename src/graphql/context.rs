//! What a resolver knows about its request: the verified caller, the read side, and the position the client
//! asked to see (read-your-writes), plus the guard that keeps each root field to its audience.

use async_graphql::{Context, ErrorExtensions, Guard};
use digisos_projections::ReadDb;

use crate::auth::{AuditLog, Caller, CallerKind, Fnr};
use crate::documents::DocumentStore;
use crate::eventstore::{DynEventStore, Position};
use crate::http::read_side::ReadSide;

/// The service parts resolvers use; one per request (or per WebSocket connection).
#[derive(Clone)]
pub struct Deps {
    /// The read models and their runner.
    pub read: ReadSide,
    /// The event store (for the audit trail and the original søknad).
    pub store: DynEventStore,
    /// The document store (the søknad's JSON, for prefill).
    pub documents: DocumentStore,
}

/// Who asks, and what the request carried besides its query.
#[derive(Clone, Debug)]
pub struct RequestInfo {
    /// The verified caller.
    pub caller: Caller,
    /// The `x-digisos-min-position` the client sent: read models are read only once they have reached it.
    pub min_position: Option<Position>,
    /// The request id (`x-request-id`), for the audit record.
    pub request_id: Option<String>,
}

/// A GraphQL error with a machine-readable `extensions.code`.
pub fn error(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message.into()).extend_with(|_, e| e.set("code", code))
}

/// The caller is not of a kind that may use this field.
pub fn forbidden() -> async_graphql::Error {
    error("FORBIDDEN", "this field is not available to the caller")
}

/// The request's caller.
pub fn request<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a RequestInfo> {
    ctx.data::<RequestInfo>().map_err(|_| error("UNAUTHENTICATED", "no verified caller"))
}

/// The service parts.
pub fn deps<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Deps> {
    ctx.data::<Deps>().map_err(|_| error("UNAVAILABLE", "the read models are not available in this process"))
}

/// The citizen's personal number, or a refusal for any other caller.
pub fn citizen<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Fnr> {
    match &request(ctx)?.caller {
        Caller::Citizen { fnr } => Ok(fnr),
        _ => Err(forbidden()),
    }
}

/// The read-model database, once read model `name` has reached the position the request asked for.
pub async fn read_model<'a>(ctx: &Context<'a>, name: &str) -> async_graphql::Result<&'a ReadDb> {
    let deps = deps(ctx)?;
    if let Some(position) = request(ctx)?.min_position {
        deps.read.runner.wait_for(name, position, deps.read.max_wait).await.map_err(|e| {
            error("NOT_CAUGHT_UP", format!("read model {name} did not reach position {position} in time: {e}"))
        })?;
    }
    Ok(&deps.read.db)
}

/// A read-model failure as the client sees it (details go to the log, not to the client).
pub fn unavailable(e: impl std::fmt::Display) -> async_graphql::Error {
    tracing::error!(error = %e, "a read-model query failed");
    error("UNAVAILABLE", "the read model is not available; try again")
}

/// The audit log on this request's store.
pub fn audit(ctx: &Context<'_>) -> async_graphql::Result<AuditLog> {
    Ok(AuditLog::new(deps(ctx)?.store.clone()))
}

/// Lets a root field run only for the listed kinds of caller (deny by default: every root field has one).
pub struct Only(pub &'static [CallerKind]);

/// Citizens only.
pub const CITIZEN: &[CallerKind] = &[CallerKind::Citizen];
/// Nav support staff only.
pub const NAV_STAFF: &[CallerKind] = &[CallerKind::NavStaff];
/// Kommune fagsystemer only.
pub const FAGSYSTEM: &[CallerKind] = &[CallerKind::Fagsystem];

impl Guard for Only {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let kind = request(ctx)?.caller.kind();
        if self.0.contains(&kind) { Ok(()) } else { Err(forbidden()) }
    }
}
