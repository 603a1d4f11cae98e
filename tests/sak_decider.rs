//! The case (DigisosSak) and kommune Deciders as specifications: given these events, when this command,
//! then these events (or this rejection). No database, no HTTP; real format files from
//! `shared/formats` where a document is needed. One file per group of commands.

#[path = "sak_decider/support.rs"]
mod support;

#[path = "sak_decider/filer.rs"]
mod filer;
#[path = "sak_decider/innsending.rs"]
mod innsending;
#[path = "sak_decider/kommune.rs"]
mod kommune;
#[path = "sak_decider/leveranse.rs"]
mod leveranse;
#[path = "sak_decider/livslop.rs"]
mod livslop;
#[path = "sak_decider/oppdatering.rs"]
mod oppdatering;
