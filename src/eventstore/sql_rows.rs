//! Conversions the SQL backends share when they read rows: SQL's signed integers to the store's unsigned ones,
//! and a row that cannot be decoded to a typed error.

use super::StoreError;

/// A read limit as SQL's `bigint`.
pub(crate) fn limit(max: usize) -> i64 {
    i64::try_from(max).unwrap_or(i64::MAX)
}

/// A stored revision or position part; a negative one means the database holds something we did not write.
pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Backend(format!("negative value {value} in the event store")))
}

/// A row whose columns do not decode.
pub(crate) fn decode_err(e: sqlx::Error) -> StoreError {
    StoreError::Backend(format!("cannot decode an event row: {e}"))
}
