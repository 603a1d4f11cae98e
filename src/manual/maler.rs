//! The pages' templates (`templates/manual/*.html`, askama: checked at compile time, every value HTML-escaped)
//! and how a page or a failure becomes a response: `text/html` with headers that keep the pages out of frames
//! and caches and allow no script at all.

use askama::Template;
use axum::http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_FRAME_OPTIONS};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::error::ApiError;

/// No script, no foreign content, forms only to this site, never in a frame.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The login page.
#[derive(Template)]
#[template(path = "manual/innlogging.html")]
pub(super) struct Innlogging {
    /// Why the last attempt was refused.
    pub feil: Option<String>,
    /// Development mode: the page says how to mint a token.
    pub utviklingsmodus: bool,
}

/// One organisation the caller acts for.
pub(super) struct Organisasjon {
    /// Its Fiks organisation id.
    pub fiks_org_id: String,
    /// Its kommuner, comma-separated.
    pub kommuner: String,
}

/// The organisations a logged-in fagsystem acts for.
#[derive(Template)]
#[template(path = "manual/organisasjoner.html")]
pub(super) struct Organisasjoner {
    /// The caller's organisation number.
    pub orgnr: String,
    /// Its organisations.
    pub organisasjoner: Vec<Organisasjon>,
}

/// One row of the mailbox.
pub(super) struct Rad {
    /// The delivery.
    pub leveranse_id: String,
    /// "Søknad" or "Ettersendelse".
    pub type_tekst: &'static str,
    /// The case.
    pub sak: String,
    /// The kommune.
    pub kommunenummer: String,
    /// When it came, for people.
    pub mottatt: String,
    /// How many times it was offered.
    pub forsok: i64,
    /// How many files it has.
    pub antall_filer: usize,
}

/// The waiting deliveries of one mailbox.
#[derive(Template)]
#[template(path = "manual/mottak.html")]
pub(super) struct Mottak {
    /// The mailbox.
    pub fiks_org_id: String,
    /// Its waiting deliveries, oldest first.
    pub rader: Vec<Rad>,
    /// What the last action did.
    pub melding: Option<&'static str>,
    /// The query of the next page, when there is one.
    pub neste: Option<String>,
}

/// One file of a delivery.
pub(super) struct Fil {
    /// The file name as sent (user input).
    pub filnavn: String,
    /// The declared media type (user input).
    pub mimetype: String,
    /// The size, for people.
    pub storrelse: String,
    /// Where to download it.
    pub lenke: String,
}

/// One delivery, with its files and the forms that answer it.
#[derive(Template)]
#[template(path = "manual/leveranse.html")]
pub(super) struct LeveransePage {
    /// The mailbox.
    pub fiks_org_id: String,
    /// The delivery.
    pub leveranse_id: String,
    /// "Søknad" or "Ettersendelse".
    pub type_tekst: &'static str,
    /// The case.
    pub sak: String,
    /// Nav's reference.
    pub ekstern_ref: String,
    /// The kommune.
    pub kommunenummer: String,
    /// When it came, for people.
    pub mottatt: String,
    /// When it was last offered, for people.
    pub sist_tilbudt: String,
    /// How many times it was offered.
    pub forsok: i64,
    /// How it stands, for people.
    pub status_tekst: &'static str,
    /// Still waiting: the forms are shown.
    pub venter: bool,
    /// The reason of a rejection.
    pub arsak: Option<String>,
    /// The files.
    pub filer: Vec<Fil>,
    /// The form token of this session.
    pub csrf: String,
    /// Why the last form was refused.
    pub feil: Option<String>,
    /// The reason typed into a refused form, shown again.
    pub arsak_utkast: String,
    /// The longest reason the case takes.
    pub maks_arsak: usize,
}

/// A failure, for people.
#[derive(Template)]
#[template(path = "manual/feil.html")]
pub(super) struct Feilside {
    /// The status code.
    pub status: u16,
    /// The heading.
    pub tittel: &'static str,
    /// What happened, in the service's words (never personal data).
    pub detaljer: String,
    /// Not logged in: the page offers the login.
    pub logg_inn: bool,
}

/// A rendered page with `status` and the headers every page carries.
pub(super) fn side(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => with_headers(status, html),
        Err(e) => {
            tracing::error!(error = %e, "a manual page could not be rendered");
            let mut response = (StatusCode::INTERNAL_SERVER_ERROR, "Siden kunne ikke vises.").into_response();
            response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
    }
}

fn with_headers(status: StatusCode, html: String) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The error page for `status` with the service's `message`.
pub(super) fn feilside(status: StatusCode, message: String) -> Response {
    let tittel = match status {
        StatusCode::BAD_REQUEST => "Forespørselen kunne ikke behandles",
        StatusCode::UNAUTHORIZED => "Du er ikke logget inn",
        StatusCode::FORBIDDEN => "Du har ikke tilgang",
        StatusCode::NOT_FOUND => "Fant ikke det du lette etter",
        StatusCode::CONFLICT => "Handlingen strider mot det som allerede er registrert",
        StatusCode::GONE => "Saken er slettet",
        StatusCode::SERVICE_UNAVAILABLE => "Tjenesten er ikke tilgjengelig akkurat nå",
        _ if status.is_server_error() => "Noe gikk galt hos oss",
        _ => "Forespørselen ble avvist",
    };
    let page =
        Feilside { status: status.as_u16(), tittel, detaljer: message, logg_inn: status == StatusCode::UNAUTHORIZED };
    side(status, &page)
}

/// A failure of a page handler: the service's error, answered as an HTML page with its status.
#[derive(Debug)]
pub(super) struct Feil(pub ApiError);

impl From<ApiError> for Feil {
    fn from(error: ApiError) -> Self {
        Self(error)
    }
}

impl IntoResponse for Feil {
    fn into_response(self) -> Response {
        let ApiError { status, message, .. } = self.0;
        if status.is_server_error() {
            tracing::error!(status = status.as_u16(), detail = %message, "manual page failed");
        } else {
            tracing::info!(status = status.as_u16(), detail = %message, "manual page refused");
        }
        feilside(status, message)
    }
}
