//! Counts and times every GraphQL root field (`digisos_graphql_fields_total`,
//! `digisos_graphql_field_duration_seconds` in [`crate::metrics`]): the field's schema name, never its alias, and
//! whether it answered an error. Nested fields are not counted (one series per root field keeps the label set
//! small, and a root field's time includes everything below it).

use std::sync::Arc;
use std::time::Instant;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::{ServerResult, Value};

/// The extension's factory, added to the schema in [`super::schema`].
pub struct FieldMetrics;

impl ExtensionFactory for FieldMetrics {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldMetricsExtension)
    }
}

struct FieldMetricsExtension;

#[async_trait::async_trait]
impl Extension for FieldMetricsExtension {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        if info.path_node.parent.is_some() {
            return next.run(ctx, info).await;
        }
        let field = info.name.to_owned();
        let started = Instant::now();
        let answer = next.run(ctx, info).await;
        crate::metrics::record_graphql_field(&field, answer.is_ok(), started.elapsed());
        answer
    }
}
