//! The contract of fiks-digisos: identifiers and formats that cross the edge of the service.
//!
//! This crate knows no database and no HTTP; the service (`src/`) and the projections depend on it.

pub mod digisos_soker;
pub mod events;
mod kodeliste;
pub mod soknad;
pub mod types;
pub mod validate;
pub mod vedlegg;

pub mod fnr;

pub use fnr::{Fnr, IdentError, NavIdent, Orgnr};
