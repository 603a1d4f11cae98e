//! `GET /dokumentlager/nedlasting/{dokumentlagerId}`: the body of a Fiks IO message over 5 MB, as KS's clients
//! download it (`DokumentlagerHandler.Download`): the fagsystem's bearer token and the headers `IntegrasjonId` and
//! `IntegrasjonPassord` of the receiving account's integration; the answer is the encrypted body (the same CMS
//! bytes a small message carries), `application/octet-stream` with its length. An unknown or expired id is 404;
//! another account's integration is 403.

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use uuid::Uuid;

use super::tilgang::integrasjon_for_konto;
use crate::api::edge::path_error;
use crate::fiksio::dokumentlager;
use crate::http::AppState;
use crate::http::caller::FagsystemCaller;
use crate::http::error::ApiError;
use crate::http::read_side::ReadSide;

#[utoipa::path(
    get,
    path = "/dokumentlager/nedlasting/{dokumentlagerId}",
    tag = "fiks-io",
    operation_id = "fiks_io_dokumentlager_nedlasting",
    summary = "Download the body of a Fiks IO message over 5 MB",
    description = "The body of a Fiks IO message too large to travel over AMQP (over 5 MB; the message carries \
        only its `dokumentlager-id` header), as KS's clients download it (`DokumentlagerHandler.Download`): with \
        the fagsystem's bearer token and the `IntegrasjonId` / `IntegrasjonPassord` headers of the receiving \
        account's integration. The answer is the encrypted body, the same CMS bytes a small message carries. \
        A file is kept for a limited time; after that its id answers 404. A read only: repeating it is harmless.",
    params(
        ("dokumentlagerId" = uuid::Uuid, Path, description = "The message's `dokumentlager-id`."),
        ("IntegrasjonId" = String, Header, description = "The id of the kommune's Fiks IO integration (issued by \
            the admin API), as KS's clients send it."),
        ("IntegrasjonPassord" = String, Header, description = "The password of that integration."),
    ),
    responses(
        (status = 200, description = "The encrypted message body, with its `Content-Length`.", body = Vec<u8>,
            content_type = "application/octet-stream"),
        (status = 400, description = "`dokumentlagerId` is not a UUID."),
        (status = 403, description = "The token is not a fagsystem's, or the integration, its password or the \
            token's organisation does not fit the file's account."),
        (status = 404, description = "No such file: unknown, or past its time."),
        (status = 503, description = "The dokumentlager or the document store is unavailable; retry shortly."),
    )
)]
pub(super) async fn nedlasting(
    State(state): State<AppState>,
    FagsystemCaller(orgnr): FagsystemCaller,
    read: ReadSide,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(path_error)?;
    let id =
        Uuid::parse_str(&id).map_err(|_| ApiError::bad_request("path parameter dokumentlagerId must be a UUID"))?;
    let lagret = dokumentlager::finn(&read.db, id).await.map_err(|e| {
        tracing::error!(error = format!("{e:#}"), "fiks io: the dokumentlager table failed");
        ApiError::unavailable("the dokumentlager is not available")
    })?;
    let Some(lagret) = lagret else {
        return Err(ApiError::not_found(format!("no dokumentlager file {id}: unknown, or past its time")));
    };
    integrasjon_for_konto(&read, &headers, ("the file's account", lagret.konto_id), &orgnr).await?;
    let blob = state.documents.get_stream(&lagret.sha512).await.map_err(ApiError::from)?;
    let mut response = Body::from_stream(blob.stream.map_err(std::io::Error::other)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(blob.size));
    tracing::info!(dokumentlager = %id, konto = %lagret.konto_id, bytes = blob.size, "fiks io: dokumentlager download");
    Ok(response)
}
