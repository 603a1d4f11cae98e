//! The commands a case takes: [`SakCommand`].
//!
//! A command is a request already parsed at the edge: its identifiers are domain types, its documents have
//! passed JSON Schema validation, its files are stored and described by [`DokumentInfo`] (with the size and
//! SHA-512 checked against the bytes). What is left for the decider are the rules that need the case's
//! history. Every command carries its time (`tidspunkt`) and every id it mints (the case id, the delivery
//! id), so `decide` stays pure and a retried command decides the same way.
//!
//! Commands from a fagsystem carry the `fiksOrgId` of the request path; the decider checks that the case
//! belongs to it. That the caller may act for that `fiksOrgId` at all is the shell's check.

use digisos_schema::Fnr;
use digisos_schema::events::{DokumentInfo, Fallbackgrunn, FiksIoSending, LeveranseId};
use digisos_schema::soknad::JsonSoknad;
use digisos_schema::types::{Enhetsnummer, FiksDigisosId, FiksOrgId, Kommunenummer, NavEksternRefId, Tidspunkt};
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;
use serde_json::Value;
use uuid::Uuid;

/// Everything a case can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum SakCommand {
    /// Nav submits a new søknad (`POST /soknader/{kommunenummer}/{navEksternRefId}`); boxed, it is large.
    SubmitSoknad(Box<SubmitSoknad>),
    /// Nav sends more documents to the case (`POST /soknader/{kommunenummer}/{fiksDigisosId}/{navEksternRefId}`).
    Ettersend(Ettersend),
    /// The kommune creates a case for a paper søknad (`POST /{fiksOrgId}/ny`).
    CreatePapersak(CreatePapersak),
    /// The fagsystem sends the whole `digisos-soker.json` (`POST /{fiksOrgId}/{digisosId}`).
    UpdateDigisosSoker(UpdateDigisosSoker),
    /// The fagsystem uploads files (`POST /{fiksOrgId}/{digisosId}/filer`).
    UploadFiles(UploadFiles),
    /// The fagsystem deletes files (`DELETE /{fiksOrgId}/{digisosId}/filer?filIder=…`).
    DeleteFiles(DeleteFiles),
    /// The fagsystem deletes all status updates (`DELETE /{fiksOrgId}/{digisosId}`).
    DeleteCase(DeleteCase),
    /// The fagsystem confirms receipt of a delivery (`…/mottak/{leveranseId}/kvittering`).
    ConfirmDelivery(ConfirmDelivery),
    /// The fagsystem cannot handle a delivery (`…/mottak/{leveranseId}/avvis`).
    RejectDelivery(RejectDelivery),
    /// The mailbox offers an unconfirmed delivery again (a timer in the shell).
    OfferDeliveryAgain(OfferDeliveryAgain),
    /// A Fiks IO delivery was not answered in time or was dead-lettered: the mailbox takes it over.
    FallBackToMailbox(FallBackToMailbox),
    /// The case itself is deleted (retention or erasure); afterwards it answers 410.
    EraseCase(EraseCase),
}

/// A new søknad with its documents.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmitSoknad {
    /// The id for the new case (deterministic per `navEksternRefId`, see [`super::sak_id_for_soknad`]).
    pub fiks_digisos_id: FiksDigisosId,
    /// The kommune of the path.
    pub kommunenummer: Kommunenummer,
    /// The kommune's Fiks organisation, resolved from its configuration.
    pub fiks_org_id: FiksOrgId,
    /// Nav's reference of the path.
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// The citizen in the token (`pid`); the søknad must be theirs.
    pub soker_fnr: Fnr,
    /// `tilleggsinformasjonJson.enhetsnummer`, when given.
    pub enhetsnummer: Option<Enhetsnummer>,
    /// `soknad.json`.
    pub soknad: JsonSoknad,
    /// Where `soknad.json` was stored.
    pub soknad_metadata: DokumentInfo,
    /// `vedlegg.json`.
    pub vedlegg_spesifikasjon: JsonVedleggSpesifikasjon,
    /// Where `vedlegg.json` was stored.
    pub vedlegg_metadata: DokumentInfo,
    /// The first file: the søknad PDF.
    pub soknad_dokument: DokumentInfo,
    /// The other files, in request order.
    pub vedlegg: Vec<DokumentInfo>,
    /// The id of the delivery to the kommune.
    pub leveranse_id: LeveranseId,
    /// The Fiks IO message the delivery goes out as, when the kommune receives over Fiks IO (its account and
    /// a new `melding-id`); `None` for the mailbox.
    pub fiks_io: Option<FiksIoSending>,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// More documents for an existing case.
#[derive(Debug, Clone, PartialEq)]
pub struct Ettersend {
    /// The kommune of the path; must be the case's.
    pub kommunenummer: Kommunenummer,
    /// The citizen in the token; must be the case's søker.
    pub innsender: Fnr,
    /// Nav's reference for this ettersendelse.
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// `vedlegg.json`.
    pub vedlegg_spesifikasjon: JsonVedleggSpesifikasjon,
    /// Where `vedlegg.json` was stored.
    pub vedlegg_metadata: DokumentInfo,
    /// The files, in request order (at least one).
    pub vedlegg: Vec<DokumentInfo>,
    /// The id of the delivery to the kommune.
    pub leveranse_id: LeveranseId,
    /// The Fiks IO message the delivery goes out as, when the kommune receives over Fiks IO (its account and
    /// a new `melding-id`); `None` for the mailbox.
    pub fiks_io: Option<FiksIoSending>,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// A case without a Nav søknad.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePapersak {
    /// The id for the new case (fresh, [`FiksDigisosId::generate`]).
    pub fiks_digisos_id: FiksDigisosId,
    /// The kommune the `fiksOrgId` of the path belongs to.
    pub kommunenummer: Kommunenummer,
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// `sokerFnr` of the query.
    pub soker_fnr: Fnr,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem's whole case file.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateDigisosSoker {
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// `sak.soker` of the body: the `digisos-soker.json` document, schema-valid.
    pub dokument: Value,
    /// Where the document was stored (it becomes `digisosSoker.metadata` if anything changed).
    pub metadata: DokumentInfo,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Files from the fagsystem, to be referenced by later updates.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadFiles {
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// The stored files, in request order (at least one).
    pub filer: Vec<DokumentInfo>,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Files the fagsystem wants gone.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteFiles {
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// `filIder` of the query, in order.
    pub fil_ider: Vec<Uuid>,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Delete all status updates of the case.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteCase {
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem received a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfirmDelivery {
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// The fagsystem cannot handle a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectDelivery {
    /// The `fiksOrgId` of the path.
    pub fiks_org_id: FiksOrgId,
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Why, for Nav and the citizen (required, not blank).
    pub arsak: String,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Offer an unconfirmed delivery again.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferDeliveryAgain {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Hand an unanswered Fiks IO delivery over to the mailbox.
#[derive(Debug, Clone, PartialEq)]
pub struct FallBackToMailbox {
    /// The delivery.
    pub leveranse_id: LeveranseId,
    /// Why.
    pub grunn: Fallbackgrunn,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

/// Delete the case itself.
#[derive(Debug, Clone, PartialEq)]
pub struct EraseCase {
    /// Why, for the operator (no personal data).
    pub arsak: String,
    /// Now.
    pub tidspunkt: Tidspunkt,
}

macro_rules! into_command {
    ($($variant:ident),+) => {
        $(
            impl From<$variant> for SakCommand {
                fn from(command: $variant) -> Self {
                    SakCommand::$variant(command)
                }
            }
        )+
    };
}

impl From<SubmitSoknad> for SakCommand {
    fn from(command: SubmitSoknad) -> Self {
        SakCommand::SubmitSoknad(Box::new(command))
    }
}

into_command!(
    Ettersend,
    CreatePapersak,
    UpdateDigisosSoker,
    UploadFiles,
    DeleteFiles,
    DeleteCase,
    ConfirmDelivery,
    RejectDelivery,
    OfferDeliveryAgain,
    FallBackToMailbox,
    EraseCase
);
