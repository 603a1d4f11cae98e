//! The case fold: a case's events folded into the citizen's view ([`InnsynSak`], DOMAIN.md B.5), the Nav
//! support staff's reduced view ([`NavSak`], DOMAIN.md D), and the prefill of a new søknad from an earlier
//! one ([`utkast_fra`], DOMAIN.md C.4), plus the kort-søknad rule ([`kvalifiserer_for_kort`]).
//!
//! Pure code: no database, no clock. A projection keeps one [`SakState`] per case (as JSON between
//! batches), feeds it the case stream's events with [`SakState::apply`], and stores the views it computes;
//! the only time-dependent rule (tasks from the søknad are shown for 30 days) is applied when the view is read,
//! with [`InnsynSak::at`]. The views are async-graphql output types, so the GraphQL schema is these structs.
//!
//! Files: `state.rs` (what is remembered, and `apply`), `fold.rs` (B.5's fold, shared by both views),
//! `innsyn.rs` and `nav.rs` (the two views), `digisos_sak.rs` (the case as the Fiks REST read API returns it,
//! `DigisosSak`, DOMAIN.md A.5), `typer.rs` (shared enums and document links), `utkast.rs` (the prefill).

mod digisos_sak;
mod fold;
mod innsyn;
mod nav;
mod state;
mod typer;
mod utkast;

#[cfg(test)]
mod tests;

use chrono::{DateTime, Duration, NaiveDate, Utc};

pub use digisos_sak::{
    DigisosSak, DigisosSoker, DokumentInfoDto, Ettersendelse, EttersendtInfoNav, JsonDokument, JsonDokumenttype,
    OriginalSoknadNav, Tilleggsinformasjon, Ufullstendig,
};
pub use fold::{DEFAULT_SAKSREFERANSE, DEFAULT_SAKSTITTEL};
pub use innsyn::{
    Historikk, Historikktype, InnsynDelsak, InnsynDokument, InnsynDokumentasjonkrav, InnsynForelopigSvar,
    InnsynLeveranse, InnsynLeveransestatus, InnsynLeveransetype, InnsynOppgave, InnsynSak, InnsynUtbetaling,
    InnsynVedtak, InnsynVilkar, OPPGAVER_FRA_SOKNAD_DAGER,
};
pub use nav::{
    NavDelsak, NavDokumentasjonkrav, NavOppgave, NavSak, NavUtbetaling, NavVedlegg, NavVedtak, NavVideresending,
    NavVilkar,
};
pub use state::{SakIdentitet, SakState};
pub use typer::{
    Dokumentkilde, Dokumentlenke, Kravstatus, Lagringssted, NEDLASTING, Saksstatus, Soknadsstatus, Utbetalingsstatus,
    Vedtaksutfall,
};
pub use utkast::{
    Opplysningskilde, SoknadUtkast, Utgiftsdel, UtkastAdresse, UtkastBarn, UtkastBosituasjon, UtkastFamilie,
    UtkastJaNei, UtkastKontonummer, UtkastNavn, UtkastPersonalia, UtkastSivilstatus, UtkastTekst, UtkastUtgift,
    utkast_fra,
};

/// How far back a paid utbetaling makes the citizen eligible for a kort søknad, in days.
pub const KORT_UTBETALT_DAGER: i64 = 50;
/// How far ahead a planned utbetaling makes the citizen eligible for a kort søknad, in days.
pub const KORT_PLANLAGT_DAGER: i64 = 14;

/// DOMAIN.md C.4 kort-søknad rule: true when some case of `saker` in `kommunenummer` has an UTBETALT utbetaling with
/// utbetalingsdato within the last 50 days of `now`, or a PLANLAGT_UTBETALING with forfallsdato within the next 14 days.
///
/// Days are calendar days in UTC and both ends count: paid exactly 50 days ago, or due exactly 14 days from
/// today, qualifies; paid today or due today qualifies too.
pub fn kvalifiserer_for_kort(saker: &[InnsynSak], kommunenummer: &str, now: DateTime<Utc>) -> bool {
    let idag = now.date_naive();
    let dato = |d: &Option<String>| d.as_deref().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
    saker.iter().filter(|s| s.kommunenummer == kommunenummer).flat_map(|s| &s.utbetalinger).any(|u| match u.status {
        Utbetalingsstatus::Utbetalt => {
            dato(&u.utbetalingsdato).is_some_and(|d| d <= idag && idag - d <= Duration::days(KORT_UTBETALT_DAGER))
        }
        Utbetalingsstatus::PlanlagtUtbetaling => {
            dato(&u.forfallsdato).is_some_and(|d| d >= idag && d - idag <= Duration::days(KORT_PLANLAGT_DAGER))
        }
        _ => false,
    })
}
