//! The events of a kommune's configuration stream (`kommune-<kommunenummer>`): [`KommuneEvent`].
//!
//! The configuration is Fiks Konfigurasjon's job in the real system; here it is an aggregate of its own, set
//! whole by `PUT /admin/kommuner/{kommunenummer}`. Each change records the full new configuration
//! ([`KommuneKonfigurert`]), not a patch: a kommune has one small configuration, and a reader then needs only
//! the latest event. [`KommuneKonfigurasjon`] is also meant as the body of that PUT, so its field names are
//! the ones of the real `KommuneInfo` (DOMAIN.md A.6) where they exist.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{DecodeError, versioned_events};
use crate::Orgnr;
use crate::types::{Enhetsnummer, FiksOrgId, Kommunenummer, Tidspunkt};

/// Who to contact at the kommune (`KommuneInfo.kontaktpersoner`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Kontaktpersoner {
    /// E-mail addresses of those responsible for the service. Personal data.
    #[serde(default)]
    pub fagansvarlig_epost: Vec<String>,
    /// E-mail addresses of those responsible for the integration. Personal data.
    #[serde(default)]
    pub teknisk_ansvarlig_epost: Vec<String>,
}

/// A kommune's configuration: its Fiks organisation, who may act for it, where søknader route to it, and
/// the switches of `KommuneInfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KommuneKonfigurasjon {
    /// The kommune's Fiks organisation; scopes every fagsystem path. Fixed once set.
    pub fiks_org_id: FiksOrgId,
    /// The organisation numbers allowed to act as the kommune's fagsystem (the kommune or its vendor).
    #[serde(default)]
    pub fagsystem_orgnr: Vec<Orgnr>,
    /// The NAV offices whose søknader go to this kommune.
    #[serde(default)]
    pub nav_enheter: Vec<Enhetsnummer>,
    /// The kommune takes digital søknader and ettersendelser.
    pub kan_motta_soknader: bool,
    /// The kommune's fagsystem sends status updates (innsyn).
    pub kan_oppdatere_status: bool,
    /// Mottak is switched off for now.
    pub har_midlertidig_deaktivert_mottak: bool,
    /// Status updates are switched off for now.
    pub har_midlertidig_deaktivert_oppdateringer: bool,
    /// Nav Kontaktsenter may read the kommune's cases.
    pub har_nks_tilgang: bool,
    /// Contact people.
    #[serde(default)]
    pub kontaktpersoner: Kontaktpersoner,
    /// The responsible kommune in a vertskommune arrangement, when not this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub behandlingsansvarlig: Option<String>,
    /// The kommune's Fiks IO account: when set, søknader and ettersendelser are pushed to its queue
    /// (`fiksio.konto.<kontoId>`) instead of waiting in the mailbox, which stays the fallback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiks_io_konto_id: Option<uuid::Uuid>,
    /// The account's X.509 certificate (PEM), which the hub encrypts each message for. Required with
    /// `fiksIoKontoId`; the katalog's `offentligNokkel` upload replaces it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiks_io_sertifikat: Option<String>,
    /// The Fiks IO integration that may log in to the broker and consume the account's queue. Issued by the
    /// admin API (`POST /admin/kommuner/{kommunenummer}/fiks-io/integrasjon`), never taken from a PUT body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fiks_io_integrasjon: Option<FiksIoIntegrasjon>,
}

/// A Fiks IO integration's credentials as the hub keeps them: the id and an Argon2id hash (PHC string) of its
/// password; the password itself is shown once, when issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FiksIoIntegrasjon {
    /// The integration id: the broker username.
    pub integrasjon_id: uuid::Uuid,
    /// Argon2id of the integration password.
    pub passord_hash: String,
}

/// A kommune's configuration was created or changed; the event holds all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KommuneKonfigurert {
    /// The kommune.
    pub kommunenummer: Kommunenummer,
    /// The whole configuration from now on.
    pub konfigurasjon: KommuneKonfigurasjon,
    /// When.
    pub tidspunkt: Tidspunkt,
}

versioned_events!(
    /// Every event of a kommune configuration stream.
    KommuneEvent upcast upcast_kommune {
        /// The configuration was set.
        KommuneKonfigurert(KommuneKonfigurert) = v 1,
            personal ["/konfigurasjon/kontaktpersoner/fagansvarligEpost/*",
                      "/konfigurasjon/kontaktpersoner/tekniskAnsvarligEpost/*"],
    }
);

/// Upcasts older kommune events to the current shape; none exist yet (see `upcast_sak` in `sak.rs`).
fn upcast_kommune<'a>(name: &str, version: u32, data: &'a Value) -> Result<Option<Cow<'a, Value>>, DecodeError> {
    let _ = (name, version, data);
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn konfigurasjon_reads_the_put_body_with_defaults_for_lists() {
        let body = json!({
            "fiksOrgId": "11415cd1-e26d-499a-8421-751457dfcbd5",
            "navEnheter": ["0314", "0315"],
            "fagsystemOrgnr": ["958935420"],
            "kanMottaSoknader": true, "kanOppdatereStatus": true,
            "harMidlertidigDeaktivertMottak": false, "harMidlertidigDeaktivertOppdateringer": false,
            "harNksTilgang": true
        });
        let konfig: KommuneKonfigurasjon = serde_json::from_value(body).expect("valid");
        assert_eq!(konfig.nav_enheter.len(), 2);
        assert!(konfig.kontaktpersoner.fagansvarlig_epost.is_empty());
        let event = KommuneEvent::KommuneKonfigurert(KommuneKonfigurert {
            kommunenummer: Kommunenummer::parse("0301").expect("k"),
            konfigurasjon: konfig,
            tidspunkt: Tidspunkt::parse("2024-01-01T00:00:00.000Z").expect("t"),
        });
        let data = event.data().expect("json");
        assert_eq!(KommuneEvent::decode(event.event_type(), &data).ok(), Some(event));
        assert_eq!(KommuneEvent::personal_fields("KommuneKonfigurert.v1").len(), 2);
    }

    #[test]
    fn konfigurasjon_without_a_switch_is_refused() {
        let body = json!({"fiksOrgId": "11415cd1-e26d-499a-8421-751457dfcbd5", "kanMottaSoknader": true});
        assert!(serde_json::from_value::<KommuneKonfigurasjon>(body).is_err());
    }
}
