//! A closed-loop load generator: N callers each run one operation after the other for a fixed time.
//!
//! Closed loop (a caller starts its next operation when the previous one returned) is how the service's request
//! handlers use the store, and it is what pgbench does, so the figures compare. A warm-up runs first and is not
//! counted; then only operations that *completed* inside the measured window count. Any failed or hung operation
//! ends the measurement with an error: a benchmark that silently measures errors is worse than none.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The longest a single operation may take before the run is abandoned.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The latencies of the operations one run of [`closed_loop`] completed in its window.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sample {
    /// Callers running at once.
    pub callers: usize,
    /// The length of the measured window.
    pub window: Duration,
    /// One entry per operation completed in the window.
    pub latencies: Vec<Duration>,
    /// Operations completed in all, warm-up included (to relate counters read before and after to operations).
    pub completed: u64,
}

/// What one or more samples of the same workload found together.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Callers running at once.
    pub callers: usize,
    /// Operations completed in the measured windows.
    pub operations: u64,
    /// The measured windows, added up.
    pub window: Duration,
    /// Median latency of the counted operations.
    pub p50: Duration,
    /// 99th percentile latency of the counted operations.
    pub p99: Duration,
}

impl Measurement {
    /// Combines samples taken at different times (for example before and after the workload it is compared with,
    /// so that drift during the run affects both alike).
    pub fn of(samples: &[Sample]) -> Self {
        let mut latencies: Vec<Duration> = samples.iter().flat_map(|s| s.latencies.iter().copied()).collect();
        latencies.sort_unstable();
        let at = |q: f64| {
            let index = ((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1));
            latencies.get(index).copied().unwrap_or_default()
        };
        Self {
            callers: samples.iter().map(|s| s.callers).max().unwrap_or(0),
            operations: latencies.len() as u64,
            window: samples.iter().map(|s| s.window).sum(),
            p50: at(0.50),
            p99: at(0.99),
        }
    }

    /// Completed operations per second.
    pub fn per_second(&self) -> f64 {
        self.operations as f64 / self.window.as_secs_f64().max(f64::EPSILON)
    }
}

/// Runs `op(caller, n)` in `callers` concurrent loops (`n` counts each caller's calls from 0, warm-up included)
/// for `warmup` and then for `window`, and records the operations that completed in the window.
pub async fn closed_loop<F, Fut>(callers: usize, warmup: Duration, window: Duration, op: F) -> Result<Sample, String>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut tasks = tokio::task::JoinSet::new();
    for caller in 0..callers.max(1) {
        let op = op.clone();
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while Instant::now() < end {
                let began = Instant::now();
                match tokio::time::timeout(OPERATION_TIMEOUT, op(caller, n)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => return Err(format!("caller {caller}, operation {n}: {e}")),
                    Err(_) => {
                        return Err(format!("caller {caller}, operation {n}: no answer in {OPERATION_TIMEOUT:?}"));
                    }
                }
                let done = Instant::now();
                if done >= start && done <= end {
                    latencies.push(done - began);
                }
                n += 1;
            }
            Ok((latencies, n))
        });
    }
    let (mut latencies, mut completed) = (Vec::new(), 0);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok((mine, count))) => {
                latencies.extend(mine);
                completed += count;
            }
            Ok(Err(e)) => return Err(e),
            Err(e) => return Err(format!("a caller task failed: {e}")),
        }
    }
    Ok(Sample { callers: callers.max(1), window, latencies, completed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_caller_runs_and_only_the_window_is_counted() {
        let seen = Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
        let record = seen.clone();
        let measured = closed_loop(3, Duration::from_millis(20), Duration::from_millis(60), move |caller, _| {
            let record = record.clone();
            async move {
                record.lock().map_err(|e| e.to_string())?.insert(caller);
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok(())
            }
        })
        .await
        .expect("a measurement");
        assert_eq!(measured.callers, 3);
        assert!(!measured.latencies.is_empty());
        assert!(measured.completed >= measured.latencies.len() as u64, "the warm-up completes operations too");
        let combined = Measurement::of(&[measured.clone(), measured.clone()]);
        assert_eq!(combined.operations, 2 * measured.latencies.len() as u64);
        assert_eq!(combined.window, Duration::from_millis(120), "windows add up");
        assert!(combined.p50 <= combined.p99);
        assert_eq!(seen.lock().expect("lock").len(), 3, "every caller ran");
    }

    #[tokio::test]
    async fn a_failing_operation_ends_the_measurement_with_its_error() {
        let outcome = closed_loop(2, Duration::ZERO, Duration::from_secs(5), |caller, n| async move {
            tokio::task::yield_now().await;
            if caller == 1 && n == 3 { Err("boom".to_string()) } else { Ok(()) }
        })
        .await;
        assert_eq!(outcome, Err("caller 1, operation 3: boom".to_string()));
    }
}
