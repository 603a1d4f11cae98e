//! The projection runner on PostgreSQL and SQLite: read-model rows from events, rows and checkpoint committed
//! together, one leader across instances with takeover and no double application, waiting for a position,
//! rebuilding without downtime, and a poison event reported rather than skipped.
//!
//! Each check is an async function of the backend; the macro below runs it on a fresh database of each. Nothing
//! waits by sleeping a guessed time: tests wait for a position or poll a condition with a bounded patience.

mod projections_runner {
    pub mod fixtures;
    pub mod kommune_model;
    pub mod rebuild;
    pub mod runner;
    pub mod support;
}

use projections_runner::support::Backend;
use projections_runner::{kommune_model, rebuild, runner};

macro_rules! on_both_backends {
    ($($module:ident :: $check:ident),* $(,)?) => {
        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    $module::$check(Backend::Postgres).await;
                }
            )*
        }
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    $module::$check(Backend::Sqlite).await;
                }
            )*
        }
    };
}

on_both_backends!(
    kommune_model::configured_kommuner_become_rows_with_exact_values,
    kommune_model::wait_for_resolves_at_a_position_and_times_out_with_a_clear_error,
    kommune_model::poison_event_is_reported_in_lag_and_never_skipped,
    runner::failed_apply_commits_neither_its_rows_nor_the_checkpoint,
    runner::catching_up_in_full_batches_applies_each_event_once_and_stops_at_a_failing_batch,
    runner::only_one_of_two_instances_leads_and_the_other_takes_over_without_reapplying,
    runner::raising_the_logic_version_rebuilds_and_deletes_the_old_version,
    rebuild::rebuild_keeps_reads_working_and_equals_the_live_model_row_for_row,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_open_write_transaction_holding_the_feed_back_is_reported_in_lag() {
    runner::open_write_transaction_holding_the_feed_back_is_reported_in_lag().await;
}
