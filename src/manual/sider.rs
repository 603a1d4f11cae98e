//! The page handlers. Each takes the caller the access rule verified (from the session cookie, see
//! [`super::okt`]), asks the REST mailbox's own functions whether that fagsystem acts for the organisation of
//! the path, and renders the answer; actions run the REST mailbox's commands and redirect (303) to the mailbox,
//! naming the command's position so the list is read only once it shows the action.

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::rejection::{FormRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use digisos_projections::kommune::alle_kommuner;
use digisos_projections::mottak::{Leveranse, Leveransestatus};
use digisos_schema::types::FiksOrgId;
use serde::Deserialize;
use uuid::Uuid;

use super::maler::{Feil, Fil, Innlogging, LeveransePage, Mottak, Organisasjon, Organisasjoner, Rad, side};
use super::{COOKIE, ROOT, csrf};
use crate::api::edge::{param, path_error};
use crate::api::fagsystem::tilgang::kommuner_for_fagsystem;
use crate::api::mottak::{MAX_PAGE, avvis_leveranse, bekreft, leveranse_i_mottak, ventende};
use crate::auth::Caller;
use crate::eventstore::Position;
use crate::http::AppState;
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::{MIN_POSITION_HEADER, ReadSide};
use crate::sak::MAX_ARSAK_LEN;

type Side = Result<Response, Feil>;

/// `GET /kommune`: the login form.
pub(super) async fn innlogging(State(state): State<AppState>) -> Response {
    side(StatusCode::OK, &Innlogging { feil: None, utviklingsmodus: state.auth.dev_issuer().is_some() })
}

/// The login form.
#[derive(Debug, Deserialize)]
pub(super) struct LoginSkjema {
    #[serde(default)]
    token: String,
}

/// `POST /kommune/login`: a fagsystem token becomes the session cookie; anything else is refused on the form.
pub(super) async fn logg_inn(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<LoginSkjema>, FormRejection>,
) -> Side {
    csrf::same_origin(&headers)?;
    let dev = state.auth.dev_issuer().is_some();
    let refused =
        |status: StatusCode, feil: String| side(status, &Innlogging { feil: Some(feil), utviklingsmodus: dev });
    let Ok(Form(skjema)) = form else {
        return Ok(refused(StatusCode::BAD_REQUEST, "Skjemaet kunne ikke leses. Prøv igjen.".into()));
    };
    let token = skjema.token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return Ok(refused(StatusCode::BAD_REQUEST, "Lim inn et token for å logge inn.".into()));
    }
    let authenticated = match state.auth.verify(token).await {
        Ok(a) => a,
        Err(e) => return Ok(refused(e.status(), format!("Tokenet ble ikke godtatt: {e}."))),
    };
    if !matches!(authenticated.caller, Caller::Fagsystem { .. }) {
        let kind = authenticated.caller.kind();
        let feil = format!(
            "Tokenet tilhører en {kind}-bruker. Her logger du inn med kommunens fagsystemtoken \
             (Maskinporten-token for organisasjonen som er fagsystem for kommunen)."
        );
        return Ok(refused(StatusCode::FORBIDDEN, feil));
    }
    let max_age = (authenticated.expires_at - Utc::now()).num_seconds().max(0);
    let secure = if dev { "" } else { "; Secure" };
    let cookie = format!("{COOKIE}={token}; Path={ROOT}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    let cookie = HeaderValue::from_str(&cookie).map_err(|_| ApiError::bad_request("the token has invalid bytes"))?;
    let mut response = se_annet(&format!("{ROOT}/organisasjoner"));
    response.headers_mut().insert(SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /kommune/logout`: the cookie is cleared (the token itself stays valid until it expires).
pub(super) async fn logg_ut(State(state): State<AppState>, headers: HeaderMap) -> Side {
    csrf::same_origin(&headers)?;
    let secure = if state.auth.dev_issuer().is_some() { "" } else { "; Secure" };
    let cookie = format!("{COOKIE}=; Path={ROOT}; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    let mut response = se_annet(ROOT);
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// `GET /kommune/organisasjoner`: the Fiks organisations the caller acts for, each checked like a mailbox path.
pub(super) async fn organisasjoner(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
) -> Side {
    let kommuner = alle_kommuner(&read.db).await.map_err(|e| {
        tracing::error!(error = %e, "the kommune read model failed");
        ApiError::unavailable("the kommune register is not available")
    })?;
    let mut kandidater = BTreeMap::new();
    for info in kommuner.iter().filter(|k| k.konfigurasjon.fagsystem_orgnr.contains(&orgnr)) {
        kandidater.insert(info.konfigurasjon.fiks_org_id.to_string(), info.konfigurasjon.fiks_org_id);
    }
    let mut organisasjoner = Vec::new();
    for (id, fiks_org_id) in kandidater {
        match kommuner_for_fagsystem(&read, &state.store, fiks_org_id, &orgnr).await {
            Ok(tillatt) => {
                let kommuner: Vec<String> = tillatt.iter().map(|(k, _)| k.to_string()).collect();
                organisasjoner.push(Organisasjon { fiks_org_id: id, kommuner: kommuner.join(", ") });
            }
            // The read model was ahead of or behind the kommune stream: the stream decides.
            Err(e) if e.status == StatusCode::FORBIDDEN => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(side(StatusCode::OK, &Organisasjoner { orgnr: orgnr.to_string(), organisasjoner }))
}

/// The mailbox page's query: what the last action did and its position (read-your-writes), and paging.
#[derive(Debug, Deserialize)]
pub(super) struct MottakQuery {
    melding: Option<String>,
    posisjon: Option<String>,
    etter: Option<Uuid>,
}

/// `GET /kommune/{fiksOrgId}/mottak`: the waiting deliveries, oldest first, a page of [`MAX_PAGE`].
pub(super) async fn mottak(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<MottakQuery>, axum::extract::rejection::QueryRejection>,
) -> Side {
    let Path(fiks_org_id) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let Query(query) = query.map_err(|_| ApiError::bad_request("the page's query could not be read"))?;
    let mut headers = headers;
    if let Some(posisjon) = &query.posisjon {
        let position: Position =
            posisjon.parse().map_err(|_| ApiError::bad_request("posisjon must be two numbers joined by '-'"))?;
        let value = HeaderValue::from_str(&position.to_string()).map_err(|_| ApiError::internal())?;
        headers.insert(MIN_POSITION_HEADER, value);
    }
    let leveranser = ventende(&state, &read, &headers, &orgnr, fiks_org_id, query.etter, MAX_PAGE).await?;
    let neste = (leveranser.len() == MAX_PAGE as usize)
        .then(|| leveranser.last().map(|l| format!("etter={}", l.leveranse_id)))
        .flatten();
    let melding = match query.melding.as_deref() {
        Some("kvittert") => Some("Mottaket er kvittert. Leveransen er fjernet fra listen."),
        Some("avvist") => Some("Leveransen er avvist med årsaken du oppga."),
        _ => None,
    };
    let rader = leveranser
        .iter()
        .map(|l| Rad {
            leveranse_id: l.leveranse_id.clone(),
            type_tekst: type_tekst(l),
            sak: l.fiks_digisos_id.clone(),
            kommunenummer: l.kommunenummer.clone(),
            mottatt: tidspunkt(&l.created),
            forsok: l.attempts,
            antall_filer: l.filer.as_array().map_or(0, Vec::len),
        })
        .collect();
    Ok(side(StatusCode::OK, &Mottak { fiks_org_id: fiks_org_id.to_string(), rader, melding, neste }))
}

/// `GET /kommune/{fiksOrgId}/mottak/{leveranseId}`: one delivery (any status) with its files and forms.
pub(super) async fn leveranse(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Side {
    let (fiks_org_id, leveranse_id) = ids(path)?;
    let leveranse = leveranse_i_mottak(&state, &read, &headers, &orgnr, fiks_org_id, leveranse_id).await?;
    Ok(side(StatusCode::OK, &leveranse_page(&leveranse, &headers, None)))
}

/// The confirm form: only the session's form token.
#[derive(Debug, Deserialize)]
pub(super) struct KvitterSkjema {
    #[serde(default)]
    csrf: String,
}

/// `POST …/mottak/{leveranseId}/kvitter`: confirms receipt with the REST receipt's command, then back to the list.
pub(super) async fn kvitter(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<KvitterSkjema>, FormRejection>,
) -> Side {
    let Form(skjema) = form.map_err(|_| ApiError::bad_request("the form could not be read"))?;
    csrf::check(&headers, &skjema.csrf)?;
    let (fiks_org_id, leveranse_id) = ids(path)?;
    let leveranse = leveranse_i_mottak(&state, &read, &headers, &orgnr, fiks_org_id, leveranse_id).await?;
    let position = bekreft(&state, &headers, &leveranse).await?;
    Ok(tilbake_til_mottak(fiks_org_id, "kvittert", position))
}

/// The reject form: the session's form token and the reason.
#[derive(Debug, Deserialize)]
pub(super) struct AvvisSkjema {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    arsak: String,
}

/// `POST …/mottak/{leveranseId}/avvis`: rejects with the REST rejection's command; a blank reason is refused on
/// the delivery's page (400) before anything is recorded.
pub(super) async fn avvis(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    form: Result<Form<AvvisSkjema>, FormRejection>,
) -> Side {
    let Form(skjema) = form.map_err(|_| ApiError::bad_request("the form could not be read"))?;
    csrf::check(&headers, &skjema.csrf)?;
    let (fiks_org_id, leveranse_id) = ids(path)?;
    let leveranse = leveranse_i_mottak(&state, &read, &headers, &orgnr, fiks_org_id, leveranse_id).await?;
    let arsak = skjema.arsak.trim();
    let feil = if arsak.is_empty() {
        Some("Du må skrive en årsak for å avvise leveransen. Ingenting er endret.".to_owned())
    } else if arsak.chars().count() > MAX_ARSAK_LEN {
        Some(format!("Årsaken kan være høyst {MAX_ARSAK_LEN} tegn. Ingenting er endret."))
    } else {
        None
    };
    if let Some(feil) = feil {
        let mut page = leveranse_page(&leveranse, &headers, Some(feil));
        page.arsak_utkast = skjema.arsak.clone();
        return Ok(side(StatusCode::BAD_REQUEST, &page));
    }
    let position = avvis_leveranse(&state, &headers, &leveranse, arsak.to_owned()).await?;
    Ok(tilbake_til_mottak(fiks_org_id, "avvist", position))
}

/// `GET /kommune/{fiksOrgId}/dokument/{dokumentlagerId}`: a file of the organisation's mailbox, through the REST
/// download (its access check and streaming), sent as an attachment that cannot run as a page.
pub(super) async fn dokument(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    caller: Caller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Side {
    let Path((fiks_org_id, id)) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    kommuner_for_fagsystem(&read, &state.store, fiks_org_id, &orgnr).await?;
    let not_found = || ApiError::not_found("no such document");
    let parsed = Uuid::parse_str(&id).map_err(|_| not_found())?;
    let doc = digisos_projections::mottak::dokument(&read.db, &parsed.hyphenated().to_string()).await.map_err(|e| {
        tracing::error!(error = %e, "the mottak read model failed");
        ApiError::unavailable("the document index is not available")
    })?;
    if doc.is_some_and(|d| d.fiks_org_id != fiks_org_id.to_string()) {
        return Err(not_found().into());
    }
    let mut response = crate::api::dokumenter::last_ned(State(state), caller, read, headers, Ok(Path(id))).await?;
    let headers = response.headers_mut();
    if let Some(disposition) = headers.get(CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()) {
        let attachment = disposition.replacen("inline", "attachment", 1);
        if let Ok(value) = HeaderValue::from_str(&attachment) {
            headers.insert(CONTENT_DISPOSITION, value);
        }
    }
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox; default-src 'none'"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn ids(path: Result<Path<(String, String)>, PathRejection>) -> Result<(FiksOrgId, Uuid), ApiError> {
    let Path((fiks_org_id, leveranse_id)) = path.map_err(path_error)?;
    let fiks_org_id = param(&fiks_org_id, FiksOrgId::parse)?;
    let leveranse_id = Uuid::parse_str(&leveranse_id)
        .map_err(|_| ApiError::bad_request("path parameter leveranseId must be a UUID"))?;
    Ok((fiks_org_id, leveranse_id))
}

fn leveranse_page(l: &Leveranse, headers: &HeaderMap, feil: Option<String>) -> LeveransePage {
    let filer = l
        .filer
        .as_array()
        .map(|filer| {
            filer
                .iter()
                .map(|f| {
                    let text = |key: &str| f[key].as_str().unwrap_or_default().to_owned();
                    Fil {
                        filnavn: text("filnavn"),
                        mimetype: text("mimetype"),
                        storrelse: storrelse(f["storrelse"].as_i64().unwrap_or(0)),
                        lenke: format!("{ROOT}/{}/dokument/{}", l.fiks_org_id, text("dokumentlagerDokumentId")),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let status_tekst = match l.status {
        Leveransestatus::Sendt => "Venter på kvittering",
        Leveransestatus::Bekreftet => "Kvittert",
        Leveransestatus::Avvist => "Avvist",
    };
    LeveransePage {
        fiks_org_id: l.fiks_org_id.clone(),
        leveranse_id: l.leveranse_id.clone(),
        type_tekst: type_tekst(l),
        sak: l.fiks_digisos_id.clone(),
        ekstern_ref: l.nav_ekstern_ref_id.clone(),
        kommunenummer: l.kommunenummer.clone(),
        mottatt: tidspunkt(&l.created),
        sist_tilbudt: tidspunkt(&l.sist_tilbudt),
        forsok: l.attempts,
        status_tekst,
        venter: l.status == Leveransestatus::Sendt,
        arsak: l.arsak.clone(),
        filer,
        csrf: csrf::token(headers).unwrap_or_default(),
        feil,
        arsak_utkast: String::new(),
        maks_arsak: MAX_ARSAK_LEN,
    }
}

fn type_tekst(l: &Leveranse) -> &'static str {
    if l.kind == "ETTERSENDELSE" { "Ettersendelse" } else { "Søknad" }
}

/// `2026-11-27T11:55:37.123Z` as `27.11.2026 kl. 11:55 UTC`; anything else as it is.
fn tidspunkt(text: &str) -> String {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => t.with_timezone(&Utc).format("%d.%m.%Y kl. %H:%M UTC").to_string(),
        Err(_) => text.to_owned(),
    }
}

/// A size for people, with a decimal comma: `532 B`, `12,3 kB`, `4,0 MB`.
fn storrelse(bytes: i64) -> String {
    match bytes {
        b if b < 1000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} kB", b as f64 / 1000.0).replace('.', ","),
        b => format!("{:.1} MB", b as f64 / 1_000_000.0).replace('.', ","),
    }
}

fn se_annet(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn tilbake_til_mottak(fiks_org_id: FiksOrgId, melding: &str, position: Option<Position>) -> Response {
    let posisjon = position.map(|p| format!("&posisjon={p}")).unwrap_or_default();
    se_annet(&format!("{ROOT}/{fiks_org_id}/mottak?melding={melding}{posisjon}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_times_read_as_norwegian() {
        assert_eq!(storrelse(532), "532 B");
        assert_eq!(storrelse(12_345), "12,3 kB");
        assert_eq!(storrelse(4_000_000), "4,0 MB");
        assert_eq!(tidspunkt("2026-11-27T11:55:37.123Z"), "27.11.2026 kl. 11:55 UTC");
        assert_eq!(tidspunkt("not a time"), "not a time");
    }
}
