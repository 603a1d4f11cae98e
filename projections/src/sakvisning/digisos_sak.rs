//! [`DigisosSak`]: a case as the Fiks REST read API answers it (DOMAIN.md A.5), built from the fold's
//! [`SakState`], and the JSON documents of a case that the API serves by id ([`SakState::json_dokument`]).
//!
//! Nav's innsyn-api and modia-api read this with jackson-module-kotlin into `DigisosSak` of
//! sosialhjelp-common-api, whose fields have no defaults: every non-nullable field must be present and
//! non-null, or the client's whole request fails. So the nullable parts are whole objects that are `null`
//! (`originalSoknadNAV` of a paper case, `ettersendtInfoNAV` without ettersendelser, `digisosSoker` before the
//! first status update, `tilleggsinformasjon` without a NAV office), never objects with null fields; the
//! timestamps are epoch milliseconds. `DokumentInfo` is the three fields the clients read, not the hub's own
//! (which also has the media type and checksum). Extra fields would be ignored by the clients (Jackson 3's
//! default), but none are sent.
//!
//! The JSON documents are `soknad.json` (`originalSoknadNAV.metadata`), the `vedlegg.json` of the søknad and
//! of each ettersendelse (`vedleggMetadata`), and the *current* `digisos-soker.json` (`digisosSoker.metadata`);
//! an earlier `digisos-soker.json` is not served (Fiks keeps only the latest, DOMAIN.md G). PDFs and
//! attachments are never among them: those are downloaded from the document store, by the citizen only.

use digisos_schema::events::DokumentInfo;
use serde::Serialize;
use uuid::Uuid;

use super::state::{Innsending, SakState};

/// A case as `GET /digisos/api/v1/soknader/{digisosId}` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigisosSak {
    /// The case id.
    pub fiks_digisos_id: String,
    /// The applicant. Personal data.
    pub soker_fnr: String,
    /// The kommune's Fiks organisation.
    pub fiks_org_id: String,
    /// The receiving kommune.
    pub kommunenummer: String,
    /// When anything about the case last changed, in milliseconds since the epoch.
    pub sist_endret: i64,
    /// Nav's søknad; null for a case the kommune created (paper søknad).
    #[serde(rename = "originalSoknadNAV")]
    pub original_soknad_nav: Option<OriginalSoknadNav>,
    /// The citizen's ettersendelser; null when there are none.
    #[serde(rename = "ettersendtInfoNAV")]
    pub ettersendt_info_nav: Option<EttersendtInfoNav>,
    /// The fagsystem's current status file; null until its first update (and after its updates were deleted).
    pub digisos_soker: Option<DigisosSoker>,
    /// The NAV office the søknad was sent to; null when none was given (and for a paper case).
    pub tilleggsinformasjon: Option<Tilleggsinformasjon>,
}

/// `originalSoknadNAV`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginalSoknadNav {
    /// Nav's reference for the søknad.
    pub nav_ekstern_ref_id: String,
    /// The document id of `soknad.json`.
    pub metadata: String,
    /// The document id of `vedlegg.json`.
    pub vedlegg_metadata: String,
    /// The søknad PDF.
    pub soknad_dokument: DokumentInfoDto,
    /// The other files, in the order Nav sent them.
    pub vedlegg: Vec<DokumentInfoDto>,
    /// When the søknad was accepted, in milliseconds since the epoch.
    pub timestamp_sendt: i64,
}

/// `ettersendtInfoNAV`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EttersendtInfoNav {
    /// The ettersendelser, in arrival order.
    pub ettersendelser: Vec<Ettersendelse>,
}

/// One ettersendelse.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ettersendelse {
    /// Nav's reference for the ettersendelse.
    pub nav_ekstern_ref_id: String,
    /// The document id of its `vedlegg.json`.
    pub vedlegg_metadata: String,
    /// Its files, in the order Nav sent them.
    pub vedlegg: Vec<DokumentInfoDto>,
    /// When it was accepted, in milliseconds since the epoch.
    pub timestamp_sendt: i64,
}

/// `digisosSoker`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DigisosSoker {
    /// The document id of the current `digisos-soker.json`.
    pub metadata: String,
    /// The files the fagsystem has uploaded to the case and not deleted, in upload order.
    pub dokumenter: Vec<DokumentInfoDto>,
    /// When the current file was received, in milliseconds since the epoch; later for every new file (clients
    /// cache the file under it).
    pub timestamp_sist_oppdatert: i64,
}

/// `tilleggsinformasjon`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tilleggsinformasjon {
    /// The NAV office (4 digits).
    pub enhetsnummer: Option<String>,
}

/// `DokumentInfo` as the clients read it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DokumentInfoDto {
    /// The file name as the sender gave it. Personal data.
    pub filnavn: String,
    /// The document's id.
    pub dokumentlager_dokument_id: String,
    /// Size in bytes.
    pub storrelse: u64,
}

impl From<&DokumentInfo> for DokumentInfoDto {
    fn from(d: &DokumentInfo) -> Self {
        Self {
            filnavn: d.filnavn.clone(),
            dokumentlager_dokument_id: d.dokumentlager_dokument_id.hyphenated().to_string(),
            storrelse: d.storrelse,
        }
    }
}

/// Which JSON document of a case an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonDokumenttype {
    /// The søknad's `soknad.json`.
    Soknad,
    /// The `vedlegg.json` of the søknad or of an ettersendelse.
    Vedlegg,
    /// The current `digisos-soker.json`.
    DigisosSoker,
}

impl JsonDokumenttype {
    /// The document's file name.
    pub fn filnavn(self) -> &'static str {
        match self {
            Self::Soknad => "soknad.json",
            Self::Vedlegg => "vedlegg.json",
            Self::DigisosSoker => "digisos-soker.json",
        }
    }
}

/// A JSON document of a case: what it is and where its bytes are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JsonDokument<'a> {
    /// Which document.
    pub dokumenttype: JsonDokumenttype,
    /// Its stored blob (`sha512` finds the bytes).
    pub dokument: &'a DokumentInfo,
}

/// The state lacks a document id `DigisosSak` must carry: it was written by an older version of the
/// projection, whose rebuild has not caught up yet. A transient condition; the reader should retry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the case's stored state predates the document ids of DigisosSak; the read model is being rebuilt")]
pub struct Ufullstendig;

fn ms(t: &digisos_schema::types::Tidspunkt) -> i64 {
    t.instant().timestamp_millis()
}

fn id_of(d: &DokumentInfo) -> String {
    d.dokumentlager_dokument_id.hyphenated().to_string()
}

impl SakState {
    /// The case as `DigisosSak`; `Ok(None)` while the case is not shown (deleted, or a paper case the kommune has
    /// published nothing for yet: the same rule as the citizen's view).
    pub fn digisos_sak(&self) -> Result<Option<DigisosSak>, Ufullstendig> {
        if !self.synlig() {
            return Ok(None);
        }
        let Some(identitet) = &self.identitet else { return Ok(None) };
        let original_soknad_nav = self.soknad.as_ref().map(original_soknad).transpose()?;
        let ettersendelser = self.ettersendelser.iter().map(ettersendelse).collect::<Result<Vec<_>, _>>()?;
        let digisos_soker = self.digisos_soker.as_ref().map(|d| DigisosSoker {
            metadata: id_of(&d.metadata),
            dokumenter: self.fagsystem_dokumenter.iter().map(|f| DokumentInfoDto::from(&f.dokument)).collect(),
            timestamp_sist_oppdatert: d.sist_oppdatert_ms,
        });
        if self.har_digisos_soker && digisos_soker.is_none() {
            return Err(Ufullstendig);
        }
        let tilleggsinformasjon = self
            .soknad
            .as_ref()
            .and_then(|s| s.enhetsnummer.clone())
            .map(|enhetsnummer| Tilleggsinformasjon { enhetsnummer: Some(enhetsnummer) });
        Ok(Some(DigisosSak {
            fiks_digisos_id: identitet.fiks_digisos_id.clone(),
            soker_fnr: identitet.soker_fnr.clone(),
            fiks_org_id: identitet.fiks_org_id.clone(),
            kommunenummer: identitet.kommunenummer.clone(),
            sist_endret: self.sist_endret.as_ref().map_or(0, ms),
            original_soknad_nav,
            ettersendt_info_nav: (!ettersendelser.is_empty()).then_some(EttersendtInfoNav { ettersendelser }),
            digisos_soker,
            tilleggsinformasjon,
        }))
    }

    /// The JSON document of the case with document id `id`, while the case is shown; `None` for any other id
    /// (a PDF, an attachment, an earlier `digisos-soker.json`, another case's document).
    pub fn json_dokument(&self, id: Uuid) -> Option<JsonDokument<'_>> {
        if !self.synlig() {
            return None;
        }
        let er = |d: &&DokumentInfo| d.dokumentlager_dokument_id == id;
        let soknad = self.soknad.as_ref();
        let funnet = soknad
            .and_then(|s| s.metadata.as_ref())
            .filter(er)
            .map(|d| (JsonDokumenttype::Soknad, d))
            .or_else(|| {
                soknad
                    .into_iter()
                    .chain(&self.ettersendelser)
                    .filter_map(|i| i.vedlegg_metadata.as_ref())
                    .find(er)
                    .map(|d| (JsonDokumenttype::Vedlegg, d))
            })
            .or_else(|| {
                self.digisos_soker.as_ref().map(|d| &d.metadata).filter(er).map(|d| (JsonDokumenttype::DigisosSoker, d))
            });
        funnet.map(|(dokumenttype, dokument)| JsonDokument { dokumenttype, dokument })
    }
}

fn original_soknad(s: &Innsending) -> Result<OriginalSoknadNav, Ufullstendig> {
    let (Some(metadata), Some(vedlegg_metadata), Some(soknad_dokument)) =
        (&s.metadata, &s.vedlegg_metadata, &s.soknad_dokument)
    else {
        return Err(Ufullstendig);
    };
    Ok(OriginalSoknadNav {
        nav_ekstern_ref_id: s.nav_ekstern_ref_id.clone(),
        metadata: id_of(metadata),
        vedlegg_metadata: id_of(vedlegg_metadata),
        soknad_dokument: soknad_dokument.into(),
        vedlegg: s.vedlegg.iter().map(DokumentInfoDto::from).collect(),
        timestamp_sendt: ms(&s.timestamp_sendt),
    })
}

fn ettersendelse(e: &Innsending) -> Result<Ettersendelse, Ufullstendig> {
    let vedlegg_metadata = e.vedlegg_metadata.as_ref().ok_or(Ufullstendig)?;
    Ok(Ettersendelse {
        nav_ekstern_ref_id: e.nav_ekstern_ref_id.clone(),
        vedlegg_metadata: id_of(vedlegg_metadata),
        vedlegg: e.vedlegg.iter().map(DokumentInfoDto::from).collect(),
        timestamp_sendt: ms(&e.timestamp_sendt),
    })
}
