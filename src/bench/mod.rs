//! The benchmarks behind `digisos-bench` (one subcommand each; `append` is the first).
//!
//! A benchmark here measures, in one run, what we built against the simplest thing that does the same work on the
//! same machine (a raw INSERT, a single caller), and prints the ratio: absolute figures move between machines
//! and runs, ratios measured side by side do not. Each benchmark brings its own scratch databases and removes
//! them, sends traffic only to the servers it is given (127.0.0.1 by default), and bounds every wait.
//!
//! - [`load`]: the closed-loop load generator (N callers, a fixed time, completed operations counted);
//! - [`scratch`]: throw-away PostgreSQL databases and SQLite files;
//! - [`report`]: the machine, Markdown tables, and the section of `BENCHMARKS.md` a run rewrites;
//! - [`append`]: append throughput, PostgreSQL and SQLite.

pub mod append;
pub mod load;
pub mod report;
pub mod scratch;
