//! An open-loop load generator: operations started at a fixed rate, whether or not earlier ones have returned.
//!
//! A service is offered requests at the rate its clients send them, not at the rate it answers, so the
//! latency of each operation is counted from the moment it was *due* to start: when the service falls behind,
//! the queueing shows in the latencies instead of silently lowering the offered rate (coordinated omission).
//! Failed operations are counted, not fatal: at a rate the service cannot sustain, errors are a finding.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::load::{Measurement, Sample};

/// The longest one operation may take before it counts as failed.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// The most operations in flight at once; beyond it the generator skips starts and counts them as failed.
pub const MAX_IN_FLIGHT: usize = 4096;

/// What one run of [`open_loop`] found.
#[derive(Clone, Debug, Default)]
pub struct RateSample {
    /// The offered rate, per second.
    pub target: f64,
    /// How long operations were started.
    pub window: Duration,
    /// From the operation's due time to its successful end, one entry per success.
    pub latencies: Vec<Duration>,
    /// Operations that failed, timed out or could not be started.
    pub errors: u64,
    /// The first failure's message.
    pub first_error: Option<String>,
    /// From the first due time to the last operation's end.
    pub elapsed: Duration,
}

impl RateSample {
    /// The latencies as a [`Measurement`] (p50, p99) over the window.
    pub fn measurement(&self) -> Measurement {
        Measurement::of(&[Sample {
            callers: 1,
            window: self.window,
            latencies: self.latencies.clone(),
            completed: self.latencies.len() as u64,
        }])
    }

    /// Successful operations per second, from the first start to the last end.
    pub fn achieved(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.max(self.window).as_secs_f64().max(f64::EPSILON)
    }
}

/// Starts `op(k)` every `1 / rate` seconds for `window` (k counts from 0), waits for all of them, and returns
/// their latencies.
pub async fn open_loop<F, Fut>(rate: f64, window: Duration, op: F) -> RateSample
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now();
    let end = start + window;
    let mut tasks = tokio::task::JoinSet::new();
    let mut sample = RateSample { target: rate, window, ..RateSample::default() };
    let mut k = 0u64;
    loop {
        let due = start + interval.mul_f64(k as f64);
        if due >= end {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        while let Some(done) = tasks.try_join_next() {
            record(&mut sample, done);
        }
        if tasks.len() >= MAX_IN_FLIGHT {
            sample.errors += 1;
            sample.first_error.get_or_insert_with(|| format!("more than {MAX_IN_FLIGHT} operations in flight"));
        } else {
            let op = op.clone();
            tasks.spawn(async move {
                let outcome = match tokio::time::timeout(OPERATION_TIMEOUT, op(k)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(format!("no answer in {OPERATION_TIMEOUT:?}")),
                };
                outcome.map(|()| Instant::now() - due)
            });
        }
        k += 1;
    }
    while let Some(done) = tasks.join_next().await {
        record(&mut sample, done);
    }
    sample.elapsed = start.elapsed();
    sample
}

fn record(sample: &mut RateSample, done: Result<Result<Duration, String>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(latency)) => sample.latencies.push(latency),
        Ok(Err(e)) => {
            sample.errors += 1;
            sample.first_error.get_or_insert(e);
        }
        Err(e) => {
            sample.errors += 1;
            sample.first_error.get_or_insert_with(|| format!("an operation task failed: {e}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn operations_start_at_the_rate_and_failures_are_counted() {
        let sample = open_loop(200.0, Duration::from_millis(100), |k| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if k == 3 { Err("boom".to_string()) } else { Ok(()) }
        })
        .await;
        assert_eq!(sample.latencies.len() as u64 + sample.errors, 20, "one start every 5 ms for 100 ms");
        assert_eq!(sample.errors, 1);
        assert_eq!(sample.first_error.as_deref(), Some("boom"));
        assert!(sample.latencies.iter().all(|l| *l >= Duration::from_millis(1)));
        assert!(sample.achieved() > 0.0);
    }
}
