//! Givens for the case Decider tests: real format files, valid identifiers, and `when`, which decides a
//! command on a history and checks that every event it produces survives the trip through JSON.

use digisos_schema::Fnr;
use digisos_schema::events::{DokumentInfo, LeveranseId, SakEvent, Sha512};
use digisos_schema::soknad::JsonSoknad;
use digisos_schema::types::{FiksOrgId, Kommunenummer, NavEksternRefId, Tidspunkt};
use digisos_schema::vedlegg::{JsonFil, JsonVedlegg, JsonVedleggSpesifikasjon};
use fiks_digisos::sak::{
    Ettersend, Rejection, SakCommand, SubmitSoknad, UpdateDigisosSoker, UploadFiles, decide, replay, sak_id_for_soknad,
};
use serde_json::Value;
use uuid::Uuid;

/// The test files of Nav's format repository.
pub const RESOURCES: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/formats/soknadsosialhjelp-filformat/src/test/resources/json");

/// A test file, parsed.
pub fn resource(path: &str) -> Value {
    let full = format!("{RESOURCES}/{path}");
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// `komplett.json`: 18 hendelser, five dokumentlager references.
pub fn komplett() -> Value {
    resource("digisos/soker/komplett.json")
}

/// The dokumentlager ids `komplett.json` references.
pub const KOMPLETT_FILER: [&str; 5] = [
    "12345678-9abc-def0-1234-56789abcdea1",
    "12345678-9abc-def0-1234-56789abcdea2",
    "12345678-9abc-def0-1234-56789abcdeb1",
    "12345678-9abc-def0-1234-56789abcdeb2",
    "12345678-9abc-def0-1234-56789abcdef0",
];

/// A time, `n` seconds into the test day.
pub fn t(n: u32) -> Tidspunkt {
    Tidspunkt::parse(&format!("2024-05-01T10:{:02}:{:02}.000Z", n / 60, n % 60)).expect("time")
}

/// The citizen of the tests.
pub fn soker() -> Fnr {
    Fnr::parse("01017012343").expect("valid fnr")
}

/// Another citizen.
pub fn annen_person() -> Fnr {
    Fnr::parse("15028534571").expect("valid fnr")
}

/// Oslo.
pub fn kommune() -> Kommunenummer {
    Kommunenummer::parse("0301").expect("kommunenummer")
}

/// Oslo's Fiks organisation.
pub fn org() -> FiksOrgId {
    FiksOrgId::parse("11415cd1-e26d-499a-8421-751457dfcbd5").expect("org")
}

/// Another kommune's Fiks organisation.
pub fn annen_org() -> FiksOrgId {
    FiksOrgId::parse("22415cd1-e26d-499a-8421-751457dfcbd5").expect("org")
}

/// Nav's reference of the søknad.
pub fn soknad_ref() -> NavEksternRefId {
    NavEksternRefId::parse("110004PCC").expect("ref")
}

/// A reference by text.
pub fn ekstern_ref(text: &str) -> NavEksternRefId {
    NavEksternRefId::parse(text).expect("ref")
}

/// A delivery id.
pub fn leveranse(n: u128) -> LeveranseId {
    LeveranseId(Uuid::from_u128(0x1e7e_0000 + n))
}

/// A stored document with id `id` and content `innhold`.
pub fn dok_med_id(id: Uuid, filnavn: &str, innhold: &str) -> DokumentInfo {
    DokumentInfo {
        dokumentlager_dokument_id: id,
        filnavn: filnavn.to_owned(),
        mimetype: if filnavn.ends_with(".json") { "application/json" } else { "application/pdf" }.to_owned(),
        storrelse: innhold.len() as u64,
        sha512: Sha512::of_bytes(innhold.as_bytes()),
    }
}

/// A stored document with a small numeric id.
pub fn dok(n: u128, filnavn: &str) -> DokumentInfo {
    dok_med_id(Uuid::from_u128(n), filnavn, filnavn)
}

/// `soknad/minimal.json`, made the søker's and addressed to Oslo.
pub fn soknad_json() -> JsonSoknad {
    let mut doc = resource("soknad/minimal.json");
    doc["data"]["personalia"]["personIdentifikator"]["verdi"] = soker().expose().into();
    doc["mottaker"]["kommunenummer"] = "0301".into();
    doc["mottaker"]["enhetsnummer"] = "0314".into();
    JsonSoknad::from_value(doc).expect("søknad")
}

/// A `vedlegg.json` naming `filer`.
pub fn vedlegg_spec(filer: &[&DokumentInfo]) -> JsonVedleggSpesifikasjon {
    JsonVedleggSpesifikasjon {
        vedlegg: vec![JsonVedlegg {
            vedleggstype: Some("annet".into()),
            tilleggsinfo: Some("annet".into()),
            status: Some(digisos_schema::vedlegg::VedleggStatus::LastetOpp),
            filer: filer
                .iter()
                .map(|f| JsonFil { filnavn: Some(f.filnavn.clone()), sha512: Some(f.sha512.to_string()) })
                .collect(),
            ..JsonVedlegg::default()
        }],
    }
}

/// Nav's søknad with one attachment (documents 1 to 4).
pub fn submit() -> SubmitSoknad {
    let vedlegg = dok(4, "husleie.pdf");
    SubmitSoknad {
        fiks_digisos_id: sak_id_for_soknad(&soknad_ref()),
        kommunenummer: kommune(),
        fiks_org_id: org(),
        nav_ekstern_ref_id: soknad_ref(),
        soker_fnr: soker(),
        enhetsnummer: Some("0314".parse().expect("enhet")),
        soknad: soknad_json(),
        soknad_metadata: dok(1, "soknad.json"),
        vedlegg_spesifikasjon: vedlegg_spec(&[&vedlegg]),
        vedlegg_metadata: dok(2, "vedlegg.json"),
        soknad_dokument: dok(3, "Soknad.pdf"),
        vedlegg: vec![vedlegg],
        leveranse_id: leveranse(1),
        fiks_io: None,
        tidspunkt: t(0),
    }
}

/// An ettersendelse with one file (documents 10 and 11).
pub fn ettersend(nav_ref: &str) -> Ettersend {
    let fil = dok(11, "lonnslipp.pdf");
    Ettersend {
        kommunenummer: kommune(),
        innsender: soker(),
        nav_ekstern_ref_id: ekstern_ref(nav_ref),
        vedlegg_spesifikasjon: vedlegg_spec(&[&fil]),
        vedlegg_metadata: dok(10, "vedlegg.json"),
        vedlegg: vec![fil],
        leveranse_id: leveranse(2),
        fiks_io: None,
        tidspunkt: t(30),
    }
}

/// An update with `dokument` as `digisos-soker.json`.
pub fn oppdatering(dokument: Value) -> UpdateDigisosSoker {
    UpdateDigisosSoker { fiks_org_id: org(), metadata: dok(100, "digisos-soker.json"), dokument, tidspunkt: t(60) }
}

/// The upload of the files `komplett.json` references.
pub fn last_opp_komplett_filer() -> UploadFiles {
    let filer = KOMPLETT_FILER
        .iter()
        .map(|id| dok_med_id(Uuid::parse_str(id).expect("uuid"), &format!("{id}.pdf"), id))
        .collect();
    UploadFiles { fiks_org_id: org(), filer, tidspunkt: t(40) }
}

/// Decides `command` after `given`; every event decided must decode back from its stored form.
pub fn when(given: &[SakEvent], command: impl Into<SakCommand>) -> Result<Vec<SakEvent>, Rejection> {
    let result = decide(&replay(given), command.into());
    if let Ok(events) = &result {
        for event in events {
            let data = event.data().expect("event serializes");
            let back = SakEvent::decode(event.event_type(), &data).expect("event decodes");
            assert_eq!(&back, event, "{} must round-trip through JSON", event.event_type());
        }
    }
    result
}

/// `given` followed by what `command` decides, which must be accepted.
pub fn then_given(given: &[SakEvent], command: impl Into<SakCommand>) -> Vec<SakEvent> {
    let mut history = given.to_vec();
    history.extend(when(given, command).expect("command accepted"));
    history
}

/// A case opened by [`submit`].
pub fn soknad_mottatt() -> Vec<SakEvent> {
    then_given(&[], submit())
}

/// A case opened by [`submit`], with the files of `komplett.json` uploaded.
pub fn med_komplett_filer() -> Vec<SakEvent> {
    then_given(&soknad_mottatt(), last_opp_komplett_filer())
}

/// A case whose first update was `komplett.json`.
pub fn med_komplett() -> Vec<SakEvent> {
    then_given(&med_komplett_filer(), oppdatering(komplett()))
}

/// The event types of a decision, for compact assertions.
pub fn types(events: &[SakEvent]) -> Vec<&'static str> {
    events.iter().map(SakEvent::event_type).collect()
}

/// The paths of a rejection's problems.
pub fn paths(rejection: &Rejection) -> Vec<&str> {
    rejection.problems().iter().map(|p| p.path.as_str()).collect()
}
