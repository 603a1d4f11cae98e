//! The walk over the parts of one upload, in order: JSON documents first, then metadata/file pairs, each file
//! streamed into the document store as it arrives.
//!
//! A small state machine: between files the reader expects a JSON document or a metadata part; after a
//! metadata part it expects exactly that file's part. Everything a file can be refused for without its bytes
//! (too many files, a declared size past the limit, a name `vedlegg.json` does not list) is refused at its
//! metadata part, before a byte of the file is read. The first refusal ends the walk: the rest of the body is
//! not read, and nothing but already stored (unreferenced, content-addressed) blobs remains of the request.

use axum::extract::Multipart;
use axum::extract::multipart::Field;
use axum::http::StatusCode;
use bytes::Bytes;
use futures::StreamExt;

use digisos_schema::soknad::JsonSoknad;
use digisos_schema::validate::DocumentKind;
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;

use super::filliste::{Admitted, Filliste, ListedFile};
use super::json::{check_schema, fil_metadata, parse_json, read_small, tilleggsinformasjon, typed};
use super::names::{FilePart, JsonSlot, Mode, PartKind, PartRef, classify, metadata_name_for};
use super::{FilMetadata, JsonPart, Tilleggsinformasjon, UploadLimits, UploadedFile, body_error};
use crate::documents::{DocumentError, DocumentStore, Expected, UploadError};
use crate::http::error::{ApiError, Problem};
use crate::kryptering::{Kryptering, SNIFF_BYTES, cms_overhead, is_enveloped_data};

/// Everything one upload carried, before the request kind's own checks of what is required.
#[derive(Debug, Default)]
pub struct Collected {
    /// `tilleggsinformasjonJson`, when sent.
    pub tilleggsinformasjon: Option<JsonPart<Tilleggsinformasjon>>,
    /// `soknadJson`, when sent.
    pub soknad: Option<JsonPart<JsonSoknad>>,
    /// `vedleggJson` / `vedlegg.json`, when sent.
    pub vedlegg: Option<JsonPart<JsonVedleggSpesifikasjon>>,
    /// The files, in request order.
    pub files: Vec<UploadedFile>,
    /// For a v2 request: the files `vedlegg.json` lists that the request did not carry.
    pub untaken: Vec<ListedFile>,
}

/// A metadata part read, its file part not yet.
struct Pending {
    meta: PartRef,
    file_part: FilePart,
    metadata: FilMetadata,
    admitted: Admitted,
}

/// The walk's state.
struct Walk<'a> {
    mode: Mode,
    store: &'a DocumentStore,
    limits: &'a UploadLimits,
    kryptering: &'a Kryptering,
    collected: Collected,
    filliste: Option<Filliste>,
}

/// Reads every part of an upload of kind `mode`, storing files as they arrive.
pub async fn collect(
    mode: Mode,
    mut multipart: Multipart,
    store: &DocumentStore,
    limits: &UploadLimits,
    kryptering: &Kryptering,
) -> Result<Collected, ApiError> {
    let mut walk = Walk { mode, store, limits, kryptering, collected: Collected::default(), filliste: None };
    let mut pending: Option<Pending> = None;
    let mut position = 0;
    while let Some(field) = multipart.next_field().await.map_err(|e| body_error(None, e))? {
        position += 1;
        let part = PartRef { position, name: field.name().unwrap_or_default().to_owned() };
        if part.name.is_empty() {
            return Err(ApiError::bad_request(format!(
                "part #{position} has no name; each part needs Content-Disposition: form-data; name=\"…\""
            )));
        }
        let kind = classify(mode, &part.name);
        if let Some(pending) = pending.take() {
            follows(&pending, &part, &kind)?;
            let file = walk.file(field, part, pending).await?;
            walk.collected.files.push(file);
            continue;
        }
        pending = match kind {
            PartKind::Json(slot) => {
                walk.json(field, &part, slot).await?;
                None
            }
            PartKind::Metadata(file_part) => Some(walk.metadata(field, part, file_part).await?),
            PartKind::Other if mode == Mode::Filer => Some(walk.metadata(field, part, FilePart::Any).await?),
            PartKind::Dokument => {
                return Err(ApiError::bad_request(format!(
                    "{part} has no preceding {}: each file's metadata {{filnavn, mimetype, storrelse}} must come \
                     right before it",
                    metadata_name_for(&part.name)
                )));
            }
            PartKind::Other => return Err(unexpected(mode, &part)),
        };
    }
    if let Some(pending) = pending {
        let expected = match &pending.file_part {
            FilePart::Named(name) => format!("its file part {name}"),
            FilePart::Any => "its file part".to_owned(),
        };
        return Err(ApiError::bad_request(format!("{} has no file after it; {expected} is missing", pending.meta)));
    }
    if walk.filliste.is_none() && mode.has_filliste() {
        // A request without files (a v2 ettersendelse carries only `vedlegg.json`): its listings still count.
        if let Some(vedlegg) = &walk.collected.vedlegg {
            walk.filliste = Some(Filliste::new(&vedlegg.part, &vedlegg.typed));
        }
    }
    if let Some(filliste) = &walk.filliste {
        if mode.takes_from_mellomlagring() {
            walk.collected.untaken = filliste.untaken();
        } else {
            let missing = filliste.not_uploaded();
            if !missing.is_empty() {
                return Err(ApiError::invalid_document("files listed in vedlegg.json were not uploaded", missing));
            }
        }
    }
    Ok(walk.collected)
}

impl Walk<'_> {
    /// Reads, checks and stores one JSON document.
    async fn json(&mut self, mut field: Field<'_>, part: &PartRef, slot: JsonSlot) -> Result<(), ApiError> {
        let name = slot.part_name(self.mode);
        if !self.collected.files.is_empty() {
            return Err(ApiError::bad_request(format!("{part} must come before the files")));
        }
        let taken = match slot {
            JsonSlot::Tilleggsinformasjon => self.collected.tilleggsinformasjon.is_some(),
            JsonSlot::Soknad => self.collected.soknad.is_some(),
            JsonSlot::Vedlegg => self.collected.vedlegg.is_some(),
        };
        if taken {
            return Err(ApiError::bad_request(format!("{part}: the request carries {name} more than once")));
        }
        let bytes = read_small(&mut field, part, self.limits.max_json_bytes).await?;
        let value = parse_json(part, &bytes)?;
        let stored = |blob| (part.name.clone(), blob);
        match slot {
            JsonSlot::Tilleggsinformasjon => {
                let typed = tilleggsinformasjon(part, &value)?;
                let (part, blob) = stored(self.store.put(bytes).await?);
                self.collected.tilleggsinformasjon = Some(JsonPart { part, value, typed, blob });
            }
            JsonSlot::Soknad => {
                check_schema(part, DocumentKind::Soknad, &value)?;
                let typed = typed(part, DocumentKind::Soknad, &value)?;
                let (part, blob) = stored(self.store.put(bytes).await?);
                self.collected.soknad = Some(JsonPart { part, value, typed, blob });
            }
            JsonSlot::Vedlegg => {
                check_schema(part, DocumentKind::Vedlegg, &value)?;
                let typed = typed(part, DocumentKind::Vedlegg, &value)?;
                let (part, blob) = stored(self.store.put(bytes).await?);
                self.collected.vedlegg = Some(JsonPart { part, value, typed, blob });
            }
        }
        Ok(())
    }

    /// Reads a metadata part and decides whether its file may follow.
    async fn metadata(
        &mut self,
        mut field: Field<'_>,
        part: PartRef,
        file_part: FilePart,
    ) -> Result<Pending, ApiError> {
        let max_files = self.limits.max_files;
        if self.collected.files.len() >= max_files {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("{part}: more than {max_files} files in one request; send them in several requests"),
            ));
        }
        if self.mode.has_filliste() && self.filliste.is_none() {
            self.filliste = Some(self.filliste_before_files(&part)?);
        }
        let bytes = read_small(&mut field, &part, self.limits.max_metadata_bytes).await?;
        let metadata = fil_metadata(&part, &bytes)?;
        // An encrypted file may declare its ciphertext's size (Nav's upload service does), which is up to the CMS
        // overhead above the plaintext's: such a declaration is let through here and checked on the bytes, and a
        // plain file declared over the limit is refused at its first bytes (`file`).
        let limit = self.store.max_file_bytes();
        if metadata.storrelse > limit.saturating_add(cms_overhead(limit)) {
            return Err(too_large_declared(&part, metadata.storrelse, limit));
        }
        let soknad_pdf = self.mode.is_soknad() && self.collected.files.is_empty();
        let admitted = match &mut self.filliste {
            Some(filliste) => filliste.admit(&part.label(), &metadata.filnavn, soknad_pdf).map_err(|problem| {
                ApiError::invalid_document(format!("{part}: file not in vedlegg.json"), vec![problem])
            })?,
            None => Admitted::default(),
        };
        Ok(Pending { meta: part, file_part, metadata, admitted })
    }

    /// The `vedlegg.json` list the files are matched to; every required JSON part must have come by now.
    fn filliste_before_files(&self, part: &PartRef) -> Result<Filliste, ApiError> {
        if self.mode.is_soknad() && self.collected.soknad.is_none() {
            return Err(missing_before_files(self.mode, JsonSlot::Soknad, Some(part)));
        }
        match &self.collected.vedlegg {
            Some(vedlegg) => Ok(Filliste::new(&vedlegg.part, &vedlegg.typed)),
            None => Err(missing_before_files(self.mode, JsonSlot::Vedlegg, Some(part))),
        }
    }

    /// Streams a file part into the store, checking it against its metadata and its `vedlegg.json` listing.
    ///
    /// A part that is CMS EnvelopedData is read whole (OpenSSL decrypts a message in one piece; the size limit
    /// plus the CMS overhead bounds it), decrypted, and its plaintext stored and checked; a plain part streams
    /// through, unless the service requires encryption.
    async fn file(&mut self, mut field: Field<'_>, part: PartRef, pending: Pending) -> Result<UploadedFile, ApiError> {
        let Pending { meta, metadata, admitted, .. } = pending;
        let expected = Expected { size: Some(metadata.storrelse), sha512: admitted.sha512.clone() };
        let mut head: Vec<Bytes> = Vec::new();
        let mut head_len = 0;
        while head_len < SNIFF_BYTES {
            match field.next().await {
                Some(chunk) => {
                    let chunk = chunk.map_err(|e| body_error(Some(&part), e))?;
                    head_len += chunk.len();
                    head.push(chunk);
                }
                None => break,
            }
        }
        let start: Vec<u8> = head.iter().flat_map(|c| c.iter().copied()).take(SNIFF_BYTES).collect();
        let stored = if is_enveloped_data(&start) {
            // The message may be the declared size (the ciphertext's) or that plus the CMS overhead (the
            // plaintext's), never more; room for it is reserved in the process's budget before it is read.
            let declared = metadata.storrelse.saturating_add(cms_overhead(metadata.storrelse));
            let limit =
                declared.min(self.store.max_file_bytes().saturating_add(cms_overhead(self.store.max_file_bytes())));
            let _room = self.kryptering.reserve(limit).await;
            let mut message = Vec::with_capacity(usize::try_from(limit).unwrap_or(usize::MAX).min(16 * 1024 * 1024));
            head.iter().for_each(|c| message.extend_from_slice(c));
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(|e| body_error(Some(&part), e))?;
                if (message.len() + chunk.len()) as u64 > limit {
                    return Err(ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "{part} is larger than its metadata declares or than the limit of {} bytes a file \
                             (encrypted)",
                            self.store.max_file_bytes()
                        ),
                    ));
                }
                message.extend_from_slice(&chunk);
            }
            let ciphertext_len = message.len() as u64;
            let plaintext = self.kryptering.decrypt_blocking(message).await.map_err(|e| {
                ApiError::bad_request(format!("{part} could not be decrypted: {e}")).with_code("DEKRYPTERING")
            })?;
            // Nav's søknad backend declares the plaintext's size; its upload service declares the ciphertext's
            // (research of sosialhjelp-upload). Either is the truth about this part: the plaintext is what is kept.
            let mut expected = expected;
            if expected.size == Some(ciphertext_len) {
                expected.size = Some(plaintext.len() as u64);
            }
            let once = futures::stream::once(async move {
                Ok::<_, axum::extract::multipart::MultipartError>(Bytes::from(plaintext))
            });
            self.store.put_stream(once, &expected).await
        } else if metadata.storrelse > self.store.max_file_bytes() {
            return Err(too_large_declared(&meta, metadata.storrelse, self.store.max_file_bytes()));
        } else if self.kryptering.requires_encryption() {
            return Err(ApiError::bad_request(format!(
                "{part} is not encrypted: this service takes files only as CMS EnvelopedData (AES-256-CBC, \
                 RSAES-OAEP with SHA-256) for the certificate at GET /digisos/api/v1/dokumentlager-public-key"
            ))
            .with_code("IKKE_KRYPTERT"));
        } else {
            let rest = futures::stream::iter(head.into_iter().map(Ok)).chain(field);
            self.store.put_stream(rest, &expected).await
        };
        let blob = match stored {
            Ok(blob) => blob,
            Err(UploadError::Source(e)) => return Err(body_error(Some(&part), e)),
            Err(UploadError::Document(DocumentError::TooLarge { limit })) => {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("{part} is larger than the limit of {limit} bytes a file"),
                ));
            }
            Err(UploadError::Document(DocumentError::SizeMismatch { declared, received })) => {
                return Err(ApiError::invalid_document(
                    format!("{part}: metadata storrelse {declared} does not match the {received} bytes received"),
                    vec![Problem {
                        path: format!("{}: $.storrelse", meta.label()),
                        message: format!("is {declared}, but the file part has {received} bytes"),
                    }],
                ));
            }
            Err(UploadError::Document(DocumentError::Sha512Mismatch { received, .. })) => {
                return Err(ApiError::invalid_document(
                    format!("{part}: the sha512 vedlegg.json gives for this file does not match the bytes received"),
                    vec![Problem {
                        path: admitted.sha512_path.unwrap_or_else(|| format!("{}: $", meta.label())),
                        message: format!("does not match the SHA-512 of the bytes received ({received})"),
                    }],
                ));
            }
            Err(UploadError::Document(other)) => return Err(other.into()),
        };
        Ok(UploadedFile {
            metadata_part: meta.name,
            part: part.name,
            metadata,
            blob,
            vedlegg_index: admitted.vedlegg_index,
        })
    }
}

/// A file declared larger than the limit a file: 413, at its metadata part.
fn too_large_declared(meta: &PartRef, declared: u64, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("{meta} declares a file of {declared} bytes; the limit is {limit} bytes a file"),
    )
}

/// Checks that `part` is the file part `pending` announced.
fn follows(pending: &Pending, part: &PartRef, kind: &PartKind) -> Result<(), ApiError> {
    match &pending.file_part {
        FilePart::Named(name) if part.name != *name => Err(ApiError::bad_request(format!(
            "{} must be followed by its file part {name}, but the next part is {part}",
            pending.meta
        ))),
        FilePart::Any if !matches!(kind, PartKind::Other | PartKind::Dokument) => Err(ApiError::bad_request(format!(
            "{} must be followed by its file part, but the next part is {part}",
            pending.meta
        ))),
        _ => Ok(()),
    }
}

/// A required JSON part missing (before the first file, or from the whole request).
pub fn missing_before_files(mode: Mode, slot: JsonSlot, first_file: Option<&PartRef>) -> ApiError {
    let name = slot.part_name(mode);
    let message = match first_file {
        Some(part) => format!("{part} came before the required part {name}; the JSON parts come first"),
        None => format!("the required part {name} is missing"),
    };
    ApiError::invalid_document(message, vec![Problem { path: name.to_owned(), message: "is required".to_owned() }])
}

/// A part whose name means nothing in this request.
fn unexpected(mode: Mode, part: &PartRef) -> ApiError {
    let expected = match mode {
        Mode::Soknad => {
            "tilleggsinformasjonJson, soknadJson, vedleggJson, then vedleggSpesifikasjon:<i> + dokument:<i> per file"
        }
        Mode::SoknadV2 => {
            "tilleggsinformasjonJson, soknadJson, vedleggJson, then metadata + a part named by the file per \
             generated PDF"
        }
        Mode::Ettersendelse => "vedlegg.json, then vedleggSpesifikasjon:<i> + dokument:<i> per file",
        Mode::EttersendelseV2 => "vedlegg.json (the files come from mellomlagring)",
        Mode::Filer => "metadata + file part per file",
        Mode::Mellomlagring => "metadata ({filnavn, mimetype, storrelse}) + the file's part, per file",
    };
    ApiError::bad_request(format!("unexpected {part}; this request takes {expected}"))
}
