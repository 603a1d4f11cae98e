//! Typed model of `vedlegg.json` (`JsonVedleggSpesifikasjon`, DOMAIN.md C.3): the list of attachments Nav
//! sends with a søknad or an ettersendelse.
//!
//! The hub uses it to match the uploaded file parts to their entries (by `filnavn`), to check each file's
//! SHA-512, and to link an upload back to the hendelse that asked for it (`hendelseType` +
//! `hendelseReferanse`). Every field is optional in the schema, so it is optional here; `type`,
//! `tilleggsinfo` and `status` are open code lists the schema itself leaves open.

use serde::{Deserialize, Serialize};

use crate::kodeliste::kodeliste;

kodeliste!(
    /// Whether an attachment was uploaded (`vedlegg[].status`); unknown values must not block.
    VedleggStatus {
        /// The files are in this forsendelse.
        LastetOpp = "LastetOpp",
        /// Required, not yet sent (no files).
        VedleggKreves = "VedleggKreves",
        /// Already sent earlier (no files).
        VedleggAlleredeSendt = "VedleggAlleredeSendt",
    }
);

kodeliste!(
    /// What made the citizen upload the attachment (`vedlegg[].hendelseType`).
    VedleggHendelseType {
        /// A `dokumentasjonEtterspurt` hendelse; `hendelseReferanse` is its `dokumentreferanse`.
        DokumentasjonEtterspurt = "dokumentasjonEtterspurt",
        /// A `dokumentasjonkrav` hendelse; `hendelseReferanse` is its referanse.
        Dokumentasjonkrav = "dokumentasjonkrav",
        /// A requirement derived from the søknad itself.
        Soknad = "soknad",
        /// The citizen's own choice.
        Bruker = "bruker",
    }
);

/// The whole `vedlegg.json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JsonVedleggSpesifikasjon {
    /// One entry per attachment (a set of files that belong together, e.g. the pages of a statement).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vedlegg: Vec<JsonVedlegg>,
}

/// One attachment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JsonVedlegg {
    /// Kind of attachment (`faktura`, `lonnslipp`, `annet`, …; an open list).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub vedleggstype: Option<String>,
    /// Sub-kind (`strom`, `arbeid`, `annet`, …; an open list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tilleggsinfo: Option<String>,
    /// Uploaded, required or already sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VedleggStatus>,
    /// The files (empty unless `LastetOpp`; an absent list reads as empty and an empty one is not written).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filer: Vec<JsonFil>,
    /// What made the citizen upload it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hendelse_type: Option<VedleggHendelseType>,
    /// The reference of that hendelse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hendelse_referanse: Option<String>,
    /// The klage the attachment belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub klage_id: Option<String>,
}

/// One file of an attachment.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct JsonFil {
    /// File name; matches the name of the uploaded file part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filnavn: Option<String>,
    /// Lowercase hex SHA-512 of the plaintext file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha512: Option<String>,
}

impl JsonVedleggSpesifikasjon {
    /// Every file named in the list, with the attachment it belongs to, in document order.
    pub fn filer(&self) -> impl Iterator<Item = (&JsonVedlegg, &JsonFil)> {
        self.vedlegg.iter().flat_map(|vedlegg| vedlegg.filer.iter().map(move |fil| (vedlegg, fil)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn vedlegg_json_reads_known_and_unknown_codes_and_ignores_extra_fields() {
        let doc = json!({"vedlegg": [
            {"type": "faktura", "tilleggsinfo": "strom", "status": "LastetOpp",
             "filer": [{"filnavn": "a.pdf", "sha512": "ab"}, {"filnavn": "b.pdf", "sha512": "cd"}],
             "hendelseType": "dokumentasjonkrav", "hendelseReferanse": "K1", "nytt": 1},
            {"type": "annet", "tilleggsinfo": "annet", "status": "EnNyStatus", "filer": []}
        ], "ekstra": true});
        let spec: JsonVedleggSpesifikasjon = serde_json::from_value(doc).expect("valid");
        assert_eq!(spec.vedlegg[0].status, Some(VedleggStatus::LastetOpp));
        assert_eq!(spec.vedlegg[0].hendelse_type, Some(VedleggHendelseType::Dokumentasjonkrav));
        assert_eq!(spec.vedlegg[1].status, Some(VedleggStatus::Annen("EnNyStatus".into())));
        let names: Vec<_> = spec.filer().filter_map(|(_, f)| f.filnavn.as_deref()).collect();
        assert_eq!(names, ["a.pdf", "b.pdf"]);
        let back = serde_json::to_value(&spec).expect("json");
        assert_eq!(back["vedlegg"][0]["type"], "faktura");
        assert_eq!(back["vedlegg"][0]["hendelseReferanse"], "K1");
    }
}
