//! What the scenarios after `append` share: the command-line options choosing the databases, a latency summary,
//! and the formatting of figures and goals in the reports.

use std::time::Duration;

use clap::Args;

use super::app::Backend;
use super::report::WriteArgs;
use super::scratch::DEFAULT_POSTGRES_URL;

/// Which databases a scenario runs on, and where its report goes.
#[derive(Args, Clone, Debug)]
pub struct Targets {
    /// The PostgreSQL server to create the scratch database on (default: postgres@127.0.0.1:5432).
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Skip PostgreSQL.
    #[arg(long)]
    pub no_postgres: bool,

    /// Skip SQLite.
    #[arg(long)]
    pub no_sqlite: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub out: WriteArgs,
}

impl Targets {
    /// The server URL: the configured one if it is PostgreSQL's, else the local default.
    pub fn postgres_server(&self) -> String {
        match &self.database_url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => url.clone(),
            _ => DEFAULT_POSTGRES_URL.to_string(),
        }
    }

    /// The backends to run on, PostgreSQL first.
    pub fn backends(&self) -> Vec<Backend> {
        let mut out = Vec::new();
        if !self.no_postgres {
            out.push(Backend::Postgres);
        }
        if !self.no_sqlite {
            out.push(Backend::Sqlite);
        }
        out
    }
}

/// Median, 99th percentile and maximum of a set of latencies.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// How many latencies.
    pub count: usize,
    /// The median.
    pub p50: Duration,
    /// The 99th percentile.
    pub p99: Duration,
    /// The largest.
    pub max: Duration,
}

impl Summary {
    /// Summarises `latencies` (in any order).
    pub fn of(latencies: &[Duration]) -> Self {
        let mut sorted = latencies.to_vec();
        sorted.sort_unstable();
        let at = |q: f64| {
            let index = ((sorted.len() as f64 * q) as usize).min(sorted.len().saturating_sub(1));
            sorted.get(index).copied().unwrap_or_default()
        };
        Self { count: sorted.len(), p50: at(0.50), p99: at(0.99), max: sorted.last().copied().unwrap_or_default() }
    }
}

/// A duration in milliseconds for a table (`1.2 ms`).
pub fn millis(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 { format!("{ms:.1} ms") } else { format!("{ms:.0} ms") }
}

/// `"<goal>: met"` or `"<goal>: MISSED (<shortfall>)"`.
pub fn goal(text: &str, met: bool, shortfall: &str) -> String {
    if met { format!("{text}: met") } else { format!("{text}: MISSED ({shortfall})") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_gives_median_tail_and_maximum() {
        let latencies: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let s = Summary::of(&latencies);
        assert_eq!(
            (s.count, s.p50, s.p99, s.max),
            (100, Duration::from_millis(51), Duration::from_millis(100), Duration::from_millis(100))
        );
        assert_eq!(Summary::of(&[]), Summary::default());
        assert_eq!(millis(Duration::from_micros(1500)), "1.5 ms");
        assert_eq!(goal("≤ 50 ms", false, "2x"), "≤ 50 ms: MISSED (2x)");
    }
}
