//! Counts and times every GraphQL query's root fields (`digisos_graphql_fields_total`,
//! `digisos_graphql_field_duration_seconds` in [`crate::metrics`]): the field's schema name, never its alias, and
//! whether it answered an error.
//!
//! It looks at a request twice, never per field: when the document is parsed it notes the root fields of each
//! operation (name and response key), and when the operation has run it records each of them with the
//! operation's time and an error if one of the answer's errors lies under that field's response key. A hook on
//! every resolved field would cost an allocation per field of every answer (BENCHMARKS.md, query). A root field
//! inside a fragment spread is not counted; subscriptions are not (they do not execute as one operation).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery};
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationDefinition, Selection};
use async_graphql::{PathSegment, Response, ServerResult, Variables};

/// The extension's factory, added to the schema in [`super::schema`] before the others, so it sees every parsed
/// document (also one the parse cache answers).
pub struct FieldMetrics;

impl ExtensionFactory for FieldMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldMetricsExtension::default())
    }
}

/// One operation's root fields: `(operation name, [(response key, field name)])`.
type Roots = Vec<(Option<String>, Vec<(String, String)>)>;

#[derive(Default)]
struct FieldMetricsExtension {
    roots: Mutex<Roots>,
}

fn root_fields(operation: &OperationDefinition) -> Vec<(String, String)> {
    operation
        .selection_set
        .node
        .items
        .iter()
        .filter_map(|item| match &item.node {
            Selection::Field(field) => {
                let name = field.node.name.node.to_string();
                let key = field.node.alias.as_ref().map_or_else(|| name.clone(), |a| a.node.to_string());
                Some((key, name))
            }
            Selection::InlineFragment(_) | Selection::FragmentSpread(_) => None,
        })
        .collect()
}

#[async_trait::async_trait]
impl Extension for FieldMetricsExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        let roots: Roots = match &document.operations {
            DocumentOperations::Single(op) => vec![(None, root_fields(&op.node))],
            DocumentOperations::Multiple(ops) => {
                ops.iter().map(|(name, op)| (Some(name.to_string()), root_fields(&op.node))).collect()
            }
        };
        *self.roots.lock().unwrap_or_else(PoisonError::into_inner) = roots;
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let started = Instant::now();
        let response = next.run(ctx, operation_name).await;
        let elapsed = started.elapsed();
        let roots = std::mem::take(&mut *self.roots.lock().unwrap_or_else(PoisonError::into_inner));
        let fields = match roots.len() {
            1 => roots.into_iter().next().map(|(_, fields)| fields),
            _ => roots.into_iter().find(|(name, _)| name.as_deref() == operation_name).map(|(_, fields)| fields),
        };
        for (key, name) in fields.unwrap_or_default() {
            let failed =
                response.errors.iter().any(|e| matches!(e.path.first(), Some(PathSegment::Field(f)) if *f == key));
            crate::metrics::record_graphql_field(&name, !failed, elapsed);
        }
        response
    }
}
