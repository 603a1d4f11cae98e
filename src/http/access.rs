//! Deny by default: every route is registered together with its access rule, and one middleware enforces it.
//!
//! Routes are added through [`AccessRouter`], which records `(method, path) -> Rule` beside the axum route. The
//! middleware runs after routing, looks the matched route up, and refuses with 403 any route that has no rule,
//! whoever calls it: a route merged in some other way cannot be reached by accident. For a rule that names caller
//! kinds, the middleware verifies the bearer token once, checks the kind, and puts the [`Caller`] into the
//! request's extensions, where the typed extractors of [`super::caller`] find it. Handlers then name the caller they
//! need in their signature, so a handler cannot forget to check.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use super::error::ApiError;
use crate::auth::{Authenticator, Caller, CallerKind};

/// Who may call a route.
#[derive(Clone, Copy, Debug)]
pub enum Rule {
    /// Anyone, without a token (health, the development issuer's keys).
    Public,
    /// A verified caller of one of these kinds.
    Callers(&'static [CallerKind]),
}

type RuleTable = HashMap<(Method, String), Rule>;

/// An axum router that will not take a route without an access rule.
pub struct AccessRouter<S> {
    router: Router<S>,
    rules: RuleTable,
}

impl<S: Clone + Send + Sync + 'static> Default for AccessRouter<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Clone + Send + Sync + 'static> AccessRouter<S> {
    /// An empty router.
    pub fn new() -> Self {
        Self { router: Router::new(), rules: HashMap::new() }
    }

    /// Adds a route for one or more methods, all under the same rule.
    pub fn route(mut self, methods: &[Method], path: &'static str, handler: MethodRouter<S>, rule: Rule) -> Self {
        for method in methods {
            let previous = self.rules.insert((method.clone(), path.to_string()), rule);
            assert!(previous.is_none(), "access rule for {method} {path} registered twice");
        }
        self.router = self.router.route(path, handler);
        self
    }

    /// The routes and their rules, for tests that check every route against the authorization table.
    pub fn rules(&self) -> Vec<(Method, String, Rule)> {
        let mut all: Vec<_> = self.rules.iter().map(|((m, p), r)| (m.clone(), p.clone(), *r)).collect();
        all.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
        all
    }

    /// Merges a router built elsewhere (a crate's, which registers its own paths) and gives each of `paths` the
    /// rule `rule` for `methods`; a path it serves that is not named stays closed.
    pub fn merge_with_rule(mut self, other: Router<S>, methods: &[Method], paths: &[String], rule: Rule) -> Self {
        for path in paths {
            for method in methods {
                let previous = self.rules.insert((method.clone(), path.clone()), rule);
                assert!(previous.is_none(), "access rule for {method} {path} registered twice");
            }
        }
        self.router = self.router.merge(other);
        self
    }

    /// Merges routes that were built without rules (they stay unreachable unless a rule names them).
    pub fn merge_unruled(mut self, other: Router<S>) -> Self {
        self.router = self.router.merge(other);
        self
    }

    /// The finished router: the rule table enforced on every matched route.
    pub fn finish(self, auth: Arc<Authenticator>) -> Router<S> {
        let guard = Arc::new(Guard { rules: self.rules, auth });
        self.router.layer(axum::middleware::from_fn_with_state(guard, enforce))
    }
}

struct Guard {
    rules: RuleTable,
    auth: Arc<Authenticator>,
}

async fn enforce(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let Some(path) = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()) else {
        // No route matched: the fallback answers (404), nothing is exposed.
        return next.run(request).await;
    };
    let rule = guard.rules.get(&(request.method().clone(), path.clone())).copied().or_else(|| {
        // HEAD is answered by the GET handler; it gets the GET rule.
        (request.method() == Method::HEAD).then(|| guard.rules.get(&(Method::GET, path.clone())).copied()).flatten()
    });
    match rule {
        None => {
            tracing::warn!(method = %request.method(), route = %path, "route without an access rule refused");
            ApiError::forbidden("this endpoint has no access rule and is closed").into_response()
        }
        Some(Rule::Public) => next.run(request).await,
        Some(Rule::Callers(kinds)) => match guard.auth.authenticate_headers(request.headers()).await {
            // GraphQL clients read refusals from `errors` (see `ApiError::into_graphql_response`).
            Err(err) if path.starts_with("/graphql") => ApiError::from(err).into_graphql_response(),
            Err(err) => ApiError::from(err).with_path(request.uri().path()).into_response(),
            Ok(caller) if !kinds.contains(&caller.kind()) => {
                tracing::info!(caller = %caller.kind(), route = %path, "caller kind not allowed on route");
                ApiError::forbidden(format!("a {} caller may not use this endpoint", caller.kind())).into_response()
            }
            Ok(caller) => {
                request.extensions_mut().insert::<Caller>(caller);
                next.run(request).await
            }
        },
    }
}
