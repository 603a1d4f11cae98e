//! The benchmarks behind `digisos-bench` (one subcommand each, and `all` of them in one run).
//!
//! A benchmark here measures, in one run, what we built against the simplest thing that does the same work on the
//! same machine (a raw INSERT, a plain handler, reading without applying), and prints the ratio: absolute figures
//! move between machines and runs, ratios measured side by side do not. Each benchmark brings its own scratch
//! databases and removes them, sends traffic only to the servers it is given (127.0.0.1 by default), and bounds
//! every wait. The scenarios that talk HTTP run the whole service in the benchmark's process ([`app`]).
//!
//! - [`load`]: the closed-loop load generator (N callers, a fixed time, completed operations counted);
//! - [`rate`]: the open-loop load generator (operations started at a fixed rate);
//! - [`scratch`]: throw-away PostgreSQL databases and SQLite files;
//! - [`report`]: the machine, Markdown tables, and the section of `BENCHMARKS.md` a run rewrites;
//! - [`app`], [`client`], [`seed`], [`common`]: the in-process service, what is sent to it, seeded cases, shared
//!   options and formatting;
//! - scenarios: [`append`], [`submit`], [`freshness`], [`query`], [`scale`], [`rebuild`], [`fiks_io`]; [`suite`]
//!   runs them;
//! - [`soak`]: the service as a child process under a long steady load (memory and p99 over time; not in `all`).

pub mod app;
pub mod append;
pub mod client;
pub mod common;
pub mod fiks_io;
pub mod form;
pub mod freshness;
pub mod load;
pub mod query;
pub mod rate;
pub mod rebuild;
pub mod report;
pub mod scale;
pub mod scratch;
pub mod seed;
pub mod soak;
pub mod submit;
pub mod suite;
