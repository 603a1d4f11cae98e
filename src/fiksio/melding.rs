//! One outgoing Fiks IO message of a delivery (FIKS_IO.md §2 and §4): its AMQP headers and properties, the
//! Digisos metadata file, and the body (the signed ASiC-E of the metadata and Nav's files, encrypted for the
//! receiving account).

use std::collections::HashSet;
use std::time::Duration;

use digisos_schema::events::{DokumentInfo, FiksIoSending, LeveranseId, Leveransetype};
use digisos_schema::types::{FiksDigisosId, NavEksternRefId};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use openssl::x509::X509Ref;
use serde_json::json;
use uuid::Uuid;

use super::asice::{self, Fil, Signerer};
use super::cms::encrypt_oaep;

/// The Digisos message types (protocol `no.nav.digisos.fagsystem.v1`).
pub const SOKNAD_V1: &str = "no.nav.digisos.soknad.v1";
/// An ettersendelse.
pub const ETTERSENDELSE_V1: &str = "no.nav.digisos.ettersendelse.v1";
/// The fagsystem's receipt of a søknad.
pub const SOKNAD_MOTTATT_V1: &str = "no.nav.digisos.soknad.mottatt.v1";
/// The fagsystem's receipt of an ettersendelse.
pub const ETTERSENDELSE_MOTTATT_V1: &str = "no.nav.digisos.ettersendelse.mottatt.v1";

/// The metadata file's name in the container: the name Fiks Digisos gives it over SvarUt (FIKS_IO.md §4; the
/// Fiks IO name is not documented), first, as the root file.
pub const METADATA_FIL: &str = "forsendelseMetadata.json";

/// The prefix of custom headers (`headere` of a send), which the clients strip.
pub const EGENDEFINERT: &str = "egendefinert-header.";

/// The queue of a Fiks IO account.
pub fn queue_name(konto_id: Uuid) -> String {
    format!("fiksio.konto.{konto_id}")
}

/// What the ettersendelse names as the søknad's delivery (`soknadLeveranseId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SoknadLeveranse {
    /// `FIKS_IO` or `SVARUT`; the hub sends `FIKS_IO` (its mailbox stands where Fiks uses SvarUt).
    pub sendt_kanal: &'static str,
    /// The Fiks IO `melding-id` of the søknad's message, or its delivery id when it went by the mailbox.
    pub id: Uuid,
}

/// Everything one message is made of.
#[derive(Debug, Clone)]
pub struct Utgaende {
    /// The account and the message id.
    pub sending: FiksIoSending,
    /// The delivery (`klientMeldingId`, the same on every re-send).
    pub leveranse_id: LeveranseId,
    /// Søknad or ettersendelse.
    pub leveransetype: Leveransetype,
    /// Nav's reference (`eksternRef`).
    pub nav_ekstern_ref_id: NavEksternRefId,
    /// The case (`digisosId`).
    pub fiks_digisos_id: FiksDigisosId,
    /// For an ettersendelse: the søknad's delivery.
    pub soknad_leveranse: Option<SoknadLeveranse>,
}

impl Utgaende {
    /// The message type.
    pub fn meldingstype(&self) -> &'static str {
        match self.leveransetype {
            Leveransetype::Soknad => SOKNAD_V1,
            Leveransetype::Ettersendelse => ETTERSENDELSE_V1,
        }
    }

    /// The metadata file: `{eksternRef, digisosId}`, and for an ettersendelse `soknadLeveranseId`.
    pub fn metadata(&self) -> Vec<u8> {
        let mut body = json!({
            "eksternRef": self.nav_ekstern_ref_id.as_str(),
            "digisosId": self.fiks_digisos_id.to_string(),
        });
        if self.leveransetype == Leveransetype::Ettersendelse {
            let id = self.soknad_leveranse.map_or(self.leveranse_id.0, |s| s.id);
            let kanal = self.soknad_leveranse.map_or("FIKS_IO", |s| s.sendt_kanal);
            body["soknadLeveranseId"] = json!({"sendtKanal": kanal, "id": id.to_string()});
        }
        body.to_string().into_bytes()
    }

    /// The AMQP properties: persistent, the TTL in `expiration`, and the Fiks IO headers, every value an AMQP
    /// long string (KS's .NET client reads each header as UTF-8 bytes); `dokumentlager-id` when the body is in
    /// the dokumentlager (and the message's own body empty).
    pub fn properties(&self, avsender: Uuid, ttl: Duration, dokumentlager: Option<Uuid>) -> BasicProperties {
        let mut headers = FieldTable::default();
        let mut put = |name: &str, value: String| {
            headers.insert(ShortString::from(name), AMQPValue::LongString(LongString::from(value)));
        };
        put("melding-id", self.sending.melding_id.to_string());
        put("type", self.meldingstype().to_owned());
        put("avsender-id", avsender.to_string());
        put(&format!("{EGENDEFINERT}klientMeldingId"), self.leveranse_id.to_string());
        if let Some(id) = dokumentlager {
            put("dokumentlager-id", id.to_string());
        }
        BasicProperties::default()
            .with_delivery_mode(2)
            .with_expiration(ShortString::from(ttl.as_millis().to_string()))
            .with_headers(headers)
    }

    /// The body: the ASiC-E of the metadata file and `filer` (each with its bytes), signed by `signerer`, as
    /// CMS EnvelopedData for `mottaker`. CPU work: call it on a blocking thread.
    pub fn body(
        &self,
        filer: &[(DokumentInfo, bytes::Bytes)],
        signerer: &Signerer,
        mottaker: &X509Ref,
    ) -> Result<Vec<u8>, MeldingFeil> {
        let metadata = self.metadata();
        let navn = entry_names(filer);
        let mut innhold = vec![Fil { navn: METADATA_FIL, mimetype: "application/json", innhold: &metadata }];
        for ((info, bytes), navn) in filer.iter().zip(&navn) {
            innhold.push(Fil { navn, mimetype: &info.mimetype, innhold: bytes });
        }
        let container = asice::skriv(&innhold, signerer)?;
        Ok(encrypt_oaep(mottaker, &container)?)
    }
}

/// Entry names for Nav's files: each file's own name, made unique with its document id where two share one,
/// and never one the container reserves.
fn entry_names(filer: &[(DokumentInfo, bytes::Bytes)]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::from([METADATA_FIL.to_owned()]);
    filer
        .iter()
        .map(|(info, _)| {
            let mut navn = info.filnavn.replace(['/', '\\'], "_");
            if navn.is_empty() || navn == "mimetype" || seen.contains(&navn) {
                navn = format!("{}-{navn}", info.dokumentlager_dokument_id);
            }
            seen.insert(navn.clone());
            navn
        })
        .collect()
}

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MeldingFeil {
    #[error(transparent)]
    Asice(#[from] asice::AsiceFeil),
    #[error("the body could not be encrypted for the account's certificate: {0}")]
    Kryptering(#[from] openssl::error::ErrorStack),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utgaende(leveransetype: Leveransetype, soknad_leveranse: Option<SoknadLeveranse>) -> Utgaende {
        Utgaende {
            sending: FiksIoSending { konto_id: Uuid::from_u128(1), melding_id: Uuid::from_u128(2) },
            leveranse_id: LeveranseId(Uuid::from_u128(3)),
            leveransetype,
            nav_ekstern_ref_id: NavEksternRefId::parse("11000001").expect("ref"),
            fiks_digisos_id: FiksDigisosId::from_uuid(Uuid::from_u128(4)),
            soknad_leveranse,
        }
    }

    #[test]
    fn a_soknad_names_its_reference_and_case_only() {
        let m = utgaende(Leveransetype::Soknad, None);
        let metadata: serde_json::Value = serde_json::from_slice(&m.metadata()).expect("json");
        assert_eq!(metadata, json!({"eksternRef": "11000001", "digisosId": "00000000-0000-0000-0000-000000000004"}));
        assert_eq!(m.meldingstype(), SOKNAD_V1);
    }

    #[test]
    fn an_ettersendelse_names_the_soknads_message() {
        let soknad = SoknadLeveranse { sendt_kanal: "FIKS_IO", id: Uuid::from_u128(9) };
        let m = utgaende(Leveransetype::Ettersendelse, Some(soknad));
        let metadata: serde_json::Value = serde_json::from_slice(&m.metadata()).expect("json");
        assert_eq!(
            metadata["soknadLeveranseId"],
            json!({"sendtKanal": "FIKS_IO", "id": "00000000-0000-0000-0000-000000000009"})
        );
        assert_eq!(m.meldingstype(), ETTERSENDELSE_V1);
    }

    #[test]
    fn every_header_is_a_long_string_and_the_ttl_is_in_milliseconds() {
        let m = utgaende(Leveransetype::Soknad, None);
        let props = m.properties(Uuid::from_u128(7), Duration::from_secs(90), None);
        assert_eq!(props.expiration().as_ref().map(|e| e.as_str().to_owned()), Some("90000".to_owned()));
        assert_eq!(*props.delivery_mode(), Some(2));
        let headers = props.headers().as_ref().expect("headers");
        let text = |name: &str| match headers.inner().get(name) {
            Some(AMQPValue::LongString(s)) => String::from_utf8(s.as_bytes().to_vec()).expect("utf-8"),
            other => panic!("{name} is {other:?}"),
        };
        assert_eq!(text("melding-id"), "00000000-0000-0000-0000-000000000002");
        assert_eq!(text("type"), SOKNAD_V1);
        assert_eq!(text("avsender-id"), "00000000-0000-0000-0000-000000000007");
        assert_eq!(text("egendefinert-header.klientMeldingId"), "00000000-0000-0000-0000-000000000003");
        assert_eq!(headers.inner().len(), 4);
        let offloaded = m.properties(Uuid::from_u128(7), Duration::from_secs(90), Some(Uuid::from_u128(8)));
        let headers = offloaded.headers().as_ref().expect("headers");
        assert_eq!(
            headers.inner().get("dokumentlager-id"),
            Some(&AMQPValue::LongString(LongString::from("00000000-0000-0000-0000-000000000008")))
        );
        assert_eq!(headers.inner().len(), 5);
    }

    #[test]
    fn files_that_share_a_name_get_distinct_entries() {
        let info = |id: u128, navn: &str| DokumentInfo {
            dokumentlager_dokument_id: Uuid::from_u128(id),
            filnavn: navn.to_owned(),
            mimetype: "application/pdf".to_owned(),
            storrelse: 1,
            sha512: digisos_schema::events::Sha512::of_bytes(b"x"),
        };
        let filer = vec![
            (info(1, "a.pdf"), bytes::Bytes::new()),
            (info(2, "a.pdf"), bytes::Bytes::new()),
            (info(3, METADATA_FIL), bytes::Bytes::new()),
        ];
        let navn = entry_names(&filer);
        assert_eq!(navn[0], "a.pdf");
        assert_eq!(navn[1], format!("{}-a.pdf", Uuid::from_u128(2)));
        assert_eq!(navn[2], format!("{}-{METADATA_FIL}", Uuid::from_u128(3)));
    }
}
