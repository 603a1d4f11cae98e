//! fiks-digisos: the hub that carries søknader om økonomisk sosialhjelp from Nav to the kommune, takes the
//! kommune's case updates back, and lets the citizen and Nav support staff follow the case.
//!
//! The service is event-sourced CQRS: commands append immutable events to an [`eventstore`]; projections build
//! read models; REST and GraphQL serve them to verified callers. See `README.md` for the layout.

pub mod api;
pub mod app;
pub mod auth;
pub mod commands;
pub mod config;
pub mod dev_start;
pub mod documents;
pub mod eventstore;
pub mod fiksio;
pub mod graphql;
pub mod http;
pub mod kryptering;
pub mod manual;
pub mod mellomlagring;
pub mod metrics;
pub mod projection_runner;
pub mod sak;
pub mod server;
pub mod telemetry;
pub mod testkit;
