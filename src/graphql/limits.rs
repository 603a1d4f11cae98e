//! Limits on what one GraphQL document may ask for, besides async-graphql's own depth and complexity limits:
//! the number of aliased fields (aliases let one request run the same costly field many times); and a cache of
//! parsed documents, since nav.no, Nav's support tools and a kommune's fagsystem send the same few queries over and
//! over and parsing was about a tenth of a request's CPU (BENCHMARKS.md, query).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

/// Documents longer than this are parsed every time (bounds the cache's memory with [`CACHE_ENTRIES`]).
pub const CACHE_MAX_QUERY_BYTES: usize = 8 * 1024;
/// The most parsed documents kept; when full, the cache starts over.
pub const CACHE_ENTRIES: usize = 256;

/// Parses a document once per query text and refuses one with more than `max_aliases` aliased fields (in all its
/// operations and fragments).
///
/// Only documents that parsed and passed the alias limit are kept, so a cached document has passed it; everything
/// after parsing (validation, depth and complexity limits, variables, guards) runs on every request as before.
pub struct DocumentLimits {
    max_aliases: usize,
    cache: Arc<DocumentCache>,
}

impl DocumentLimits {
    /// A limit of `max_aliases`, with an empty cache.
    pub fn new(max_aliases: usize) -> Self {
        Self { max_aliases, cache: Arc::new(DocumentCache::new(CACHE_ENTRIES, CACHE_MAX_QUERY_BYTES)) }
    }
}

impl ExtensionFactory for DocumentLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(DocumentLimitsExtension { max_aliases: self.max_aliases, cache: self.cache.clone() })
    }
}

/// Parsed documents by query text, bounded in entries and in the length of a text.
pub struct DocumentCache {
    entries: Mutex<HashMap<Arc<str>, ExecutableDocument>>,
    capacity: usize,
    max_query_bytes: usize,
}

impl DocumentCache {
    /// At most `capacity` documents, none of a text longer than `max_query_bytes`.
    pub fn new(capacity: usize, max_query_bytes: usize) -> Self {
        Self { entries: Mutex::new(HashMap::new()), capacity, max_query_bytes }
    }

    /// The parsed document of `query`, if kept.
    pub fn get(&self, query: &str) -> Option<ExecutableDocument> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(query).cloned()
    }

    /// Keeps `document` as the parse of `query` (unless the text is too long); a full cache starts over, so a
    /// caller sending ever new texts costs a parse each, as without a cache, and never more memory.
    pub fn insert(&self, query: &str, document: &ExecutableDocument) {
        if query.len() > self.max_query_bytes || self.capacity == 0 {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(query) {
            entries.clear();
        }
        entries.insert(Arc::from(query), document.clone());
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

struct DocumentLimitsExtension {
    max_aliases: usize,
    cache: Arc<DocumentCache>,
}

#[async_trait::async_trait]
impl Extension for DocumentLimitsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        // An automatic persisted query arrives parsed (by the APQ extension) with an empty text: it is checked,
        // but never looked up or kept by its (empty) text, which would hand one hash's document to another.
        let by_text = !query.is_empty();
        if by_text && let Some(document) = self.cache.get(query) {
            return Ok(document);
        }
        let document = next.run(ctx, query, variables).await?;
        let aliases = count_aliases(&document);
        if aliases > self.max_aliases {
            return Err(ServerError::new(
                format!("the query uses {aliases} aliases; at most {} are allowed", self.max_aliases),
                None,
            ));
        }
        if by_text {
            self.cache.insert(query, &document);
        }
        Ok(document)
    }
}

/// How many fields of `document` carry an alias.
pub fn count_aliases(document: &ExecutableDocument) -> usize {
    let operations: usize = match &document.operations {
        DocumentOperations::Single(op) => in_set(&op.node.selection_set.node),
        DocumentOperations::Multiple(ops) => ops.values().map(|op| in_set(&op.node.selection_set.node)).sum(),
    };
    let fragments: usize = document.fragments.values().map(|f| in_set(&f.node.selection_set.node)).sum();
    operations + fragments
}

fn in_set(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(field) => usize::from(field.node.alias.is_some()) + in_set(&field.node.selection_set.node),
            Selection::InlineFragment(fragment) => in_set(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, value};

    use super::*;

    struct Q;

    #[Object]
    impl Q {
        async fn a(&self) -> i32 {
            1
        }
    }

    #[tokio::test]
    async fn a_document_over_the_alias_limit_is_refused_every_time_and_never_kept() {
        let limits = DocumentLimits::new(2);
        let cache = limits.cache.clone();
        let schema = Schema::build(Q, EmptyMutation, EmptySubscription).extension(limits).finish();
        for _ in 0..2 {
            let response = schema.execute("{ x: a y: a z: a }").await;
            assert_eq!(response.errors.len(), 1);
            assert!(response.errors[0].message.contains("3 aliases"), "{:?}", response.errors);
        }
        assert!(cache.is_empty());
        for _ in 0..2 {
            let response = schema.execute("{ x: a y: a }").await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            assert_eq!(response.data, value!({"x": 1, "y": 1}), "the cached document answers as the parsed one");
        }
        assert_eq!(cache.len(), 1, "one text, parsed once and kept");
        let broken = schema.execute("{ a ").await;
        assert!(!broken.errors.is_empty());
        assert_eq!(cache.len(), 1, "a syntax error is not kept");
    }

    #[test]
    fn the_cache_is_bounded_in_entries_and_in_text_length() {
        let document = async_graphql::parser::parse_query("{ a }").expect("parses");
        let cache = DocumentCache::new(2, 10);
        cache.insert("{ a }", &document);
        cache.insert("{ a  }", &document);
        assert_eq!(cache.len(), 2);
        cache.insert("{ a   }", &document);
        assert_eq!(cache.len(), 1, "full: starts over with the new text");
        assert!(cache.get("{ a   }").is_some() && cache.get("{ a }").is_none());
        cache.insert("{ a            }", &document);
        assert!(cache.get("{ a            }").is_none(), "longer than 10 bytes: not kept");
    }
}
