//! The events of a case stream (`sak-<fiksDigisosId>`): [`SakEvent`] and one payload struct per event.
//!
//! A case begins with [`SoknadMottatt`] (Nav's søknad) or [`PapirsakOpprettet`] (the kommune's `/ny`); only
//! these two carry the case's identity (kommune, fiksOrgId, the søker), every later event is read in the
//! context of its stream. Deliveries to the kommune's mailbox live on the case stream too, so accepting a
//! søknad and queueing its delivery is one atomic append.
//!
//! The fagsystem's `digisos-soker.json` is recorded as a diff: one [`HendelseRegistrert`] per hendelse that
//! is new, one [`HendelseFjernet`] per hendelse that disappeared, then [`DigisosSokerOppdatert`] for the
//! file's envelope. Identical hendelser may occur more than once in a file, so each carries its
//! fingerprint plus `forekomst`, the 0-based number of the copy: `(fingerprint, forekomst)` is unique among
//! the hendelser present at any time, and a removal always takes the highest copy.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{DecodeError, DokumentInfo, Fingerprint, versioned_events};
use crate::Fnr;
use crate::digisos_soker::Avsender;
use crate::types::{Enhetsnummer, FiksDigisosId, FiksOrgId, Kommunenummer, NavEksternRefId, Tidspunkt};
use crate::vedlegg::JsonVedleggSpesifikasjon;

/// The id of one delivery to the kommune's mailbox (a søknad or an ettersendelse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeveranseId(pub Uuid);

impl std::fmt::Display for LeveranseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

/// What a delivery carries (Fiks's `SOKNAD` | `ETTERSENDELSE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Leveransetype {
    /// A new søknad.
    Soknad,
    /// An ettersendelse to an existing case.
    Ettersendelse,
}

/// Nav's søknad was accepted (answered 202): the case exists from here on (`originalSoknadNAV`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoknadMottatt {
    /// The case id.
    pub fiks_digisos_id: FiksDigisosId,
    /// The receiving kommune.
    pub kommunenummer: Kommunenummer,
    /// The kommune's Fiks organisation, whose fagsystem owns the case.
    pub fiks_org_id: FiksOrgId,
    /// Nav's reference for the søknad; the idempotency key of the submission.
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// The applicant. Personal data.
    pub soker_fnr: Fnr,
    /// The NAV office the søknad was sent to (`tilleggsinformasjon.enhetsnummer`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enhetsnummer: Option<Enhetsnummer>,
    /// `soknad.json` as stored (`originalSoknadNAV.metadata`).
    pub metadata: DokumentInfo,
    /// `vedlegg.json` as stored (`originalSoknadNAV.vedleggMetadata`).
    pub vedlegg_metadata: DokumentInfo,
    /// The content of `vedlegg.json`, which labels the files. Personal data (file names).
    pub vedlegg_spesifikasjon: JsonVedleggSpesifikasjon,
    /// The søknad PDF (the first file of the request).
    pub soknad_dokument: DokumentInfo,
    /// The other files, in request order.
    pub vedlegg: Vec<DokumentInfo>,
    /// When Nav's request was accepted.
    pub timestamp_sendt: Tidspunkt,
    /// SHA-256 of the canonical submission (documents and file contents, not ids or times).
    pub fingerprint: Fingerprint,
}

/// The kommune created a case without a Nav søknad (`POST /{fiksOrgId}/ny`, a paper søknad).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PapirsakOpprettet {
    /// The case id.
    pub fiks_digisos_id: FiksDigisosId,
    /// The kommune.
    pub kommunenummer: Kommunenummer,
    /// The kommune's Fiks organisation.
    pub fiks_org_id: FiksOrgId,
    /// The applicant. Personal data.
    pub soker_fnr: Fnr,
    /// When the case was created.
    pub tidspunkt: Tidspunkt,
}

/// The citizen sent more documents to the case (`ettersendtInfoNAV.ettersendelser[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EttersendelseMottatt {
    /// Nav's reference for this ettersendelse; its idempotency key.
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// `vedlegg.json` as stored.
    pub vedlegg_metadata: DokumentInfo,
    /// The content of `vedlegg.json`. Personal data (file names).
    pub vedlegg_spesifikasjon: JsonVedleggSpesifikasjon,
    /// The files, in request order.
    pub vedlegg: Vec<DokumentInfo>,
    /// When Nav's request was accepted.
    pub timestamp_sendt: Tidspunkt,
    /// SHA-256 of the canonical ettersendelse (documents and file contents, not ids or times).
    pub fingerprint: Fingerprint,
}

/// A søknad or ettersendelse was put in the kommune's mailbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeveranseOpprettet {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Søknad or ettersendelse.
    pub leveransetype: Leveransetype,
    /// The `navEksternRefId` of the søknad or ettersendelse it carries (`eksternRef`).
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// The mailbox: the kommune's Fiks organisation.
    pub fiks_org_id: FiksOrgId,
    /// When it was put there.
    pub tidspunkt: Tidspunkt,
    /// For a kommune that receives over Fiks IO: the message the hub publishes to its account. The delivery
    /// waits outside the mailbox until the fagsystem answers it or [`LeveranseTilMottak`] hands it over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiks_io: Option<FiksIoSending>,
}

/// One Fiks IO message of a delivery: where it goes and the id it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FiksIoSending {
    /// The receiving account (queue `fiksio.konto.<kontoId>`).
    pub konto_id: Uuid,
    /// The message's `melding-id`, which the fagsystem's receipt names in `svarPaMelding`.
    pub melding_id: Uuid,
}

/// Why a Fiks IO delivery went to the mailbox instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Fallbackgrunn {
    /// No receipt came before the hub's deadline.
    Tidsfrist,
    /// The broker dead-lettered the message after too many failed deliveries (never acked, or requeued).
    Leveringsgrense,
    /// The fagsystem rejected the message (a nack without requeue).
    Avvist,
    /// The message expired on the queue (broker TTL).
    Utlopt,
    /// The kommune no longer names a Fiks IO account with a usable certificate, or the channel is off.
    Ukonfigurert,
    /// An ettersendelse to a paper case: there is no søknad message for its `soknadLeveranseId` to name.
    Papirsak,
    /// The hub could not build or store the message (a file unreadable, say), again and again.
    Meldingsfeil,
}

/// A Fiks IO delivery was not answered and is now offered in the kommune's mailbox (as Fiks falls back to
/// SvarUt).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeveranseTilMottak {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Why.
    pub grunn: Fallbackgrunn,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// A delivery not confirmed in time was offered again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeveranseTilbudtIgjen {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Which offer this is: 2 for the first repeat, and so on.
    pub forsok: u32,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem confirmed receipt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeveranseKvittert {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem could not handle a delivery; Nav and the citizen see the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeveranseAvvist {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// The fagsystem's reason, as written. Personal data (free text).
    pub arsak: String,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem uploaded a file to the case (`POST /{fiksOrgId}/{digisosId}/filer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DokumentLastetOpp {
    /// The file. Its `filnavn` is personal data.
    pub dokument: DokumentInfo,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem deleted a file it had uploaded and no longer references.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DokumentSlettet {
    /// The file's id.
    pub dokumentlager_dokument_id: Uuid,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// A hendelse of `digisos-soker.json` that was not recorded before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HendelseRegistrert {
    /// SHA-256 of the hendelse's canonical JSON.
    pub fingerprint: Fingerprint,
    /// Which copy of an identical hendelse this is, from 0.
    pub forekomst: u32,
    /// The hendelse as the fagsystem sent it (all fields, also unknown ones). Personal data.
    pub hendelse: Value,
}

/// A recorded hendelse that the latest `digisos-soker.json` no longer contains.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HendelseFjernet {
    /// The fingerprint of the hendelse.
    pub fingerprint: Fingerprint,
    /// Which copy went: always the highest one present.
    pub forekomst: u32,
}

/// The case's `digisos-soker.json` changed; this is its envelope (`digisosSoker` of the real API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DigisosSokerOppdatert {
    /// The whole file as stored (`digisosSoker.metadata`).
    pub metadata: DokumentInfo,
    /// The format version the fagsystem wrote.
    pub version: String,
    /// The fagsystem that wrote it.
    pub avsender: Avsender,
    /// How many hendelser the file holds.
    pub antall_hendelser: u32,
    /// When it was received (`timestampSistOppdatert`).
    pub tidspunkt: Tidspunkt,
}

/// `DELETE /{fiksOrgId}/{digisosId}`: every status update is gone (the case is as before the first
/// update: `digisosSoker` null); the files stay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusoppdateringerSlettet {
    /// How many hendelser were removed.
    pub antall_hendelser: u32,
    /// When.
    pub tidspunkt: Tidspunkt,
}

/// The case itself was deleted (retention or erasure); every later request for it is answered 410.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SakSlettet {
    /// Why, for the operator (no personal data).
    pub arsak: String,
    /// When.
    pub tidspunkt: Tidspunkt,
}

versioned_events!(
    /// Every event of a case stream.
    SakEvent upcast upcast_sak {
        /// A søknad from Nav created the case (boxed: by far the largest payload).
        SoknadMottatt(Box<SoknadMottatt>) = v 1,
            personal ["/sokerFnr", "/vedleggSpesifikasjon", "/soknadDokument/filnavn", "/vedlegg/*/filnavn"],
        /// The kommune created the case (paper søknad).
        PapirsakOpprettet(PapirsakOpprettet) = v 1, personal ["/sokerFnr"],
        /// The citizen sent more documents.
        EttersendelseMottatt(EttersendelseMottatt) = v 1, personal ["/vedleggSpesifikasjon", "/vedlegg/*/filnavn"],
        /// A delivery was put in the kommune's mailbox.
        LeveranseOpprettet(LeveranseOpprettet) = v 1, personal [],
        /// A delivery was offered again.
        LeveranseTilbudtIgjen(LeveranseTilbudtIgjen) = v 1, personal [],
        /// A Fiks IO delivery fell back to the mailbox.
        LeveranseTilMottak(LeveranseTilMottak) = v 1, personal [],
        /// The fagsystem confirmed a delivery.
        LeveranseKvittert(LeveranseKvittert) = v 1, personal [],
        /// The fagsystem rejected a delivery.
        LeveranseAvvist(LeveranseAvvist) = v 1, personal ["/arsak"],
        /// The fagsystem uploaded a file.
        DokumentLastetOpp(DokumentLastetOpp) = v 1, personal ["/dokument/filnavn"],
        /// The fagsystem deleted a file.
        DokumentSlettet(DokumentSlettet) = v 1, personal [],
        /// A new hendelse in `digisos-soker.json`.
        HendelseRegistrert(HendelseRegistrert) = v 1, personal ["/hendelse"],
        /// A hendelse left `digisos-soker.json`.
        HendelseFjernet(HendelseFjernet) = v 1, personal [],
        /// The envelope of the latest `digisos-soker.json`.
        DigisosSokerOppdatert(DigisosSokerOppdatert) = v 1, personal [],
        /// All status updates were deleted.
        StatusoppdateringerSlettet(StatusoppdateringerSlettet) = v 1, personal [],
        /// The case was deleted.
        SakSlettet(SakSlettet) = v 1, personal [],
    }
);

/// Turns the JSON of an older version of a case event into the JSON of the current version, or `None`
/// when no upcaster exists. Every event is at v1 today; a v2 adds an arm such as
/// `("SoknadMottatt", 1) => Some(Cow::Owned(soknad_mottatt_v1_to_v2(data)?))`.
fn upcast_sak<'a>(name: &str, version: u32, data: &'a Value) -> Result<Option<Cow<'a, Value>>, DecodeError> {
    let _ = (name, version, data);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kvittert() -> SakEvent {
        SakEvent::LeveranseKvittert(LeveranseKvittert {
            leveranse_id: LeveranseId(Uuid::nil()),
            tidspunkt: Tidspunkt::parse("2024-01-02T03:04:05.678Z").expect("t"),
        })
    }

    #[test]
    fn events_are_stored_under_versioned_names_and_decode_back() {
        let event = kvittert();
        assert_eq!(event.event_type(), "LeveranseKvittert.v1");
        let data = event.data().expect("json");
        assert_eq!(
            data,
            json!({"leveranseId": "00000000-0000-0000-0000-000000000000", "tidspunkt": "2024-01-02T03:04:05.678Z"})
        );
        assert_eq!(SakEvent::decode("LeveranseKvittert.v1", &data).ok(), Some(event));
        assert!(SakEvent::EVENT_TYPES.contains(&"SoknadMottatt.v1"));
        assert_eq!(SakEvent::EVENT_TYPES.len(), 15);
    }

    #[test]
    fn unknown_newer_and_malformed_types_and_bad_payloads_are_refused() {
        let data = kvittert().data().expect("json");
        assert!(matches!(SakEvent::decode("KommuneKonfigurert.v1", &data), Err(DecodeError::UnknownType(_))));
        assert!(matches!(
            SakEvent::decode("LeveranseKvittert.v2", &data),
            Err(DecodeError::NewerVersion { known: 1, .. })
        ));
        assert!(matches!(SakEvent::decode("LeveranseKvittert", &data), Err(DecodeError::MalformedType(_))));
        assert!(matches!(SakEvent::decode("LeveranseKvittert.v1", &json!({})), Err(DecodeError::Payload { .. })));
    }

    #[test]
    fn personal_fields_are_declared_per_event_type() {
        assert_eq!(SakEvent::personal_fields("PapirsakOpprettet.v1"), ["/sokerFnr"]);
        assert_eq!(SakEvent::personal_fields("HendelseRegistrert.v1"), ["/hendelse"]);
        assert!(SakEvent::personal_fields("LeveranseKvittert.v1").is_empty());
        assert!(SakEvent::personal_fields("Nonsense").is_empty());
    }
}
