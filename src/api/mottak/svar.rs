//! A delivery as the fagsystem sees it: the Fiks IO message (type and body, DOMAIN.md A.3) and its files, each
//! with the path to download it.

use digisos_projections::mottak::{Leveranse, Leveransestatus};
use serde_json::{Value, json};

use crate::api::PREFIX;

/// The JSON of one delivery.
pub(super) fn leveranse(l: &Leveranse) -> Value {
    let (meldingstype, melding) = if l.kind == "ETTERSENDELSE" {
        let soknad = l.soknad_leveranse_id.as_ref().map(|id| json!({"sendtKanal": "FIKS_IO", "id": id}));
        (
            "no.nav.digisos.ettersendelse.v1",
            json!({"eksternRef": l.nav_ekstern_ref_id, "digisosId": l.fiks_digisos_id, "soknadLeveranseId": soknad}),
        )
    } else {
        ("no.nav.digisos.soknad.v1", json!({"eksternRef": l.nav_ekstern_ref_id, "digisosId": l.fiks_digisos_id}))
    };
    let filer: Vec<Value> = l
        .filer
        .as_array()
        .map(|filer| {
            filer
                .iter()
                .map(|f| {
                    let mut f = f.clone();
                    let id = f["dokumentlagerDokumentId"].as_str().unwrap_or_default().to_owned();
                    f["nedlastingPath"] = json!(format!("{PREFIX}/dokumentlager/nedlasting/{id}"));
                    f
                })
                .collect()
        })
        .unwrap_or_default();
    let status = match l.status {
        Leveransestatus::Sendt => "SENDT",
        Leveransestatus::Bekreftet => "BEKREFTET",
        Leveransestatus::Avvist => "AVVIST",
    };
    json!({
        "leveranseId": l.leveranse_id,
        "kind": l.kind,
        "meldingstype": meldingstype,
        "melding": melding,
        "eksternRef": l.nav_ekstern_ref_id,
        "digisosId": l.fiks_digisos_id,
        "kommunenummer": l.kommunenummer,
        "status": status,
        "arsak": l.arsak,
        "opprettet": l.created,
        "sistTilbudt": l.sist_tilbudt,
        "antallForsok": l.attempts,
        "filer": filer,
    })
}
