//! Specification of the case fold: the real `komplett.json` folded field by field, then one test per rule of
//! DOMAIN.md B.5, the staff view's redactions, the kort rule and the prefill.

use chrono::{DateTime, Duration, Utc};
use digisos_schema::Fnr;
use digisos_schema::events::{
    DigisosSokerOppdatert, DokumentInfo, DokumentLastetOpp, EttersendelseMottatt, Fingerprint, HendelseFjernet,
    HendelseRegistrert, LeveranseId, LeveranseKvittert, LeveranseOpprettet, Leveransetype, PapirsakOpprettet, SakEvent,
    SakSlettet, Sha512, SoknadMottatt, StatusoppdateringerSlettet,
};
use digisos_schema::types::{Enhetsnummer, FiksDigisosId, FiksOrgId, Kommunenummer, NavEksternRefId, Tidspunkt};
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;

const SAK_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const ORG_ID: &str = "11415cd1-e26d-499a-8421-751457dfcbd5";
const SENDT: &str = "2018-10-04T13:00:00.000Z";
const PDF_ID: &str = "00000000-0000-0000-0000-00000000a001";
const STROM_ID: &str = "00000000-0000-0000-0000-00000000a002";

fn t(s: &str) -> Tidspunkt {
    Tidspunkt::parse(s).expect("tidspunkt")
}

fn now(s: &str) -> DateTime<Utc> {
    t(s).instant()
}

fn fil(id: &str, filnavn: &str) -> DokumentInfo {
    DokumentInfo {
        dokumentlager_dokument_id: Uuid::parse_str(id).expect("uuid"),
        filnavn: filnavn.into(),
        mimetype: "application/pdf".into(),
        storrelse: 1234,
        sha512: Sha512::of_bytes(filnavn.as_bytes()),
    }
}

fn spesifikasjon(v: Value) -> JsonVedleggSpesifikasjon {
    serde_json::from_value(v).expect("vedlegg.json")
}

fn url(id: &str) -> Option<String> {
    Some(format!("/digisos/api/v1/dokumentlager/nedlasting/{id}"))
}

fn lenke(id: &str) -> Dokumentlenke {
    Dokumentlenke { url: url(id), lagringssted: Lagringssted::Dokumentlager, id: id.into(), nr: None }
}

/// A case under construction: applies events with increasing revisions and tracks hendelse copies.
struct Sak {
    state: SakState,
    revisjon: u64,
    hendelser: Vec<Fingerprint>,
}

impl Sak {
    fn ny() -> Self {
        Sak { state: SakState::default(), revisjon: 0, hendelser: Vec::new() }
    }

    /// A søknad sent at [`SENDT`] to NAV-kontor 0301, with a strom invoice uploaded and a lønnsslipp required.
    fn soknad() -> Self {
        Self::soknad_med(json!({"vedlegg": [
            {"type": "faktura", "tilleggsinfo": "strom", "status": "LastetOpp",
             "filer": [{"filnavn": "strom.pdf", "sha512": "ab"}]},
            {"type": "lonnslipp", "tilleggsinfo": "arbeid", "status": "VedleggKreves", "filer": []},
            {"type": "annet", "tilleggsinfo": "annet", "status": "VedleggKreves", "filer": []}
        ]}))
    }

    fn soknad_med(vedlegg: Value) -> Self {
        let mut sak = Sak::ny();
        sak.apply(SakEvent::SoknadMottatt(Box::new(SoknadMottatt {
            fiks_digisos_id: FiksDigisosId::parse(SAK_ID).expect("id"),
            kommunenummer: Kommunenummer::parse("0301").expect("k"),
            fiks_org_id: FiksOrgId::parse(ORG_ID).expect("org"),
            nav_ekstern_ref_id: NavEksternRefId::parse("ref-1").expect("ref"),
            soker_fnr: Fnr::parse("01017012343").expect("fnr"),
            enhetsnummer: Some(Enhetsnummer::parse("0301").expect("e")),
            metadata: fil("00000000-0000-0000-0000-00000000b001", "soknad.json"),
            vedlegg_metadata: fil("00000000-0000-0000-0000-00000000b002", "vedlegg.json"),
            vedlegg_spesifikasjon: spesifikasjon(vedlegg),
            soknad_dokument: fil(PDF_ID, "soknad.pdf"),
            vedlegg: vec![fil(STROM_ID, "strom.pdf")],
            timestamp_sendt: t(SENDT),
            fingerprint: Fingerprint::of_bytes(b"soknad"),
        })));
        sak
    }

    fn papir() -> Self {
        let mut sak = Sak::ny();
        sak.apply(SakEvent::PapirsakOpprettet(PapirsakOpprettet {
            fiks_digisos_id: FiksDigisosId::parse(SAK_ID).expect("id"),
            kommunenummer: Kommunenummer::parse("0301").expect("k"),
            fiks_org_id: FiksOrgId::parse(ORG_ID).expect("org"),
            soker_fnr: Fnr::parse("01017012343").expect("fnr"),
            tidspunkt: t(SENDT),
        }));
        sak
    }

    fn apply(&mut self, event: SakEvent) {
        self.state.apply(&event, self.revisjon);
        self.revisjon += 1;
    }

    fn hendelse(&mut self, hendelse: Value) {
        let fingerprint = Fingerprint::of_json(&hendelse);
        let forekomst = self.hendelser.iter().filter(|f| **f == fingerprint).count();
        self.hendelser.push(fingerprint.clone());
        let forekomst = u32::try_from(forekomst).expect("few");
        self.apply(SakEvent::HendelseRegistrert(HendelseRegistrert { fingerprint, forekomst, hendelse }));
    }

    fn fjern(&mut self, hendelse: &Value) {
        let fingerprint = Fingerprint::of_json(hendelse);
        let i = self.hendelser.iter().rposition(|f| *f == fingerprint).expect("present");
        self.hendelser.remove(i);
        let forekomst = self.hendelser.iter().filter(|f| **f == fingerprint).count();
        let forekomst = u32::try_from(forekomst).expect("few");
        self.apply(SakEvent::HendelseFjernet(HendelseFjernet { fingerprint, forekomst }));
    }

    fn ettersendelse(&mut self, tidspunkt: &str, vedlegg: Value, filer: Vec<DokumentInfo>) {
        self.apply(SakEvent::EttersendelseMottatt(EttersendelseMottatt {
            nav_ekstern_ref_id: NavEksternRefId::parse(&format!("ref-e{}", self.revisjon)).expect("ref"),
            vedlegg_metadata: fil("00000000-0000-0000-0000-00000000b003", "vedlegg.json"),
            vedlegg_spesifikasjon: spesifikasjon(vedlegg),
            vedlegg: filer,
            timestamp_sendt: t(tidspunkt),
            fingerprint: Fingerprint::of_bytes(tidspunkt.as_bytes()),
        }));
    }

    fn innsyn(&self) -> InnsynSak {
        self.state.innsyn().expect("visible")
    }
}

fn status(tid: &str, status: &str) -> Value {
    json!({"type": "soknadsStatus", "hendelsestidspunkt": tid, "status": status})
}

fn etterspurt(tid: &str, dokumenter: Value) -> Value {
    json!({"type": "dokumentasjonEtterspurt", "hendelsestidspunkt": tid, "dokumenter": dokumenter})
}

fn utbetaling(tid: &str, felter: Value) -> Value {
    let mut h = json!({"type": "utbetaling", "hendelsestidspunkt": tid, "utbetalingsreferanse": "U1"});
    if let (Some(h), Some(felter)) = (h.as_object_mut(), felter.as_object()) {
        h.extend(felter.clone());
    }
    h
}

fn formater() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/formats/soknadsosialhjelp-filformat/src/test/resources/json")
}

fn les(relativ: &str) -> Value {
    let tekst = std::fs::read_to_string(formater().join(relativ)).expect("test file");
    serde_json::from_str(&tekst).expect("json")
}

fn komplett() -> Sak {
    let mut sak = Sak::soknad();
    let leveranse = LeveranseId(Uuid::parse_str("00000000-0000-0000-0000-00000000c001").expect("uuid"));
    sak.apply(SakEvent::LeveranseOpprettet(LeveranseOpprettet {
        leveranse_id: leveranse,
        leveransetype: Leveransetype::Soknad,
        nav_ekstern_ref_id: NavEksternRefId::parse("ref-1").expect("ref"),
        fiks_org_id: FiksOrgId::parse(ORG_ID).expect("org"),
        tidspunkt: t("2018-10-04T13:00:01.000Z"),
        fiks_io: None,
    }));
    sak.apply(SakEvent::LeveranseKvittert(LeveranseKvittert {
        leveranse_id: leveranse,
        tidspunkt: t("2018-10-04T13:05:00.000Z"),
    }));
    sak.apply(SakEvent::DokumentLastetOpp(DokumentLastetOpp {
        dokument: fil("12345678-9abc-def0-1234-56789abcdef0", "vedtak.pdf"),
        tidspunkt: t("2018-10-12T13:00:00.000Z"),
    }));
    let fil_json = les("digisos/soker/komplett.json");
    for h in fil_json["hendelser"].as_array().expect("hendelser") {
        sak.hendelse(h.clone());
    }
    sak.apply(SakEvent::DigisosSokerOppdatert(DigisosSokerOppdatert {
        metadata: fil("00000000-0000-0000-0000-00000000b004", "digisos-soker.json"),
        version: "1.0.0".into(),
        avsender: serde_json::from_value(fil_json["avsender"].clone()).expect("avsender"),
        antall_hendelser: 18,
        tidspunkt: t("2018-10-13T14:00:00.000Z"),
    }));
    sak.ettersendelse(
        "2018-10-15T10:00:00.000Z",
        json!({"vedlegg": [{"type": "Strømfaktura", "tilleggsinfo": "For periode 01.01.2019 til 01.02.2019",
            "status": "LastetOpp", "filer": [{"filnavn": "faktura-jan.pdf", "sha512": "cd"}],
            "hendelseType": "dokumentasjonEtterspurt", "hendelseReferanse": "dokumentreferanse1"}]}),
        vec![fil("00000000-0000-0000-0000-00000000a003", "faktura-jan.pdf")],
    );
    sak
}

fn historikk(tid: &str, r#type: Historikktype, tekst: &str, dokument: Option<Dokumentlenke>) -> Historikk {
    Historikk { tidspunkt: tid.into(), r#type, tekst: tekst.into(), dokument }
}

#[test]
fn komplett_json_folds_into_the_whole_citizen_view() {
    let sak = komplett();
    let expected = InnsynSak {
        fiks_digisos_id: SAK_ID.into(),
        kommunenummer: "0301".into(),
        soknad_opprettet: SENDT.into(),
        sist_oppdatert: "2018-10-15T10:00:00.000Z".into(),
        papirsoknad: false,
        status: Soknadsstatus::Ferdigbehandlet,
        nav_kontor: Some("0315".into()),
        soknad_sendt: Some(SENDT.into()),
        soknad_pdf: Some(lenke(PDF_ID)),
        forelopig_svar: Some(InnsynForelopigSvar {
            tidspunkt: "2018-10-12T07:37:00.134Z".into(),
            brev: lenke("12345678-9abc-def0-1234-56789abcdeb1"),
        }),
        historikk: vec![
            historikk(
                SENDT,
                Historikktype::SoknadSendt,
                "Søknaden med vedlegg er sendt til NAV-kontor 0301.",
                Some(lenke(PDF_ID)),
            ),
            historikk(
                "2018-10-04T13:37:00.134Z",
                Historikktype::SoknadMottatt,
                "Søknaden med vedlegg er mottatt ved NAV-kontor 0301.",
                None,
            ),
            historikk(
                "2018-10-04T13:42:00.134Z",
                Historikktype::SoknadVideresendt,
                "Søknaden med vedlegg er videresendt og mottatt ved NAV-kontor 0314.",
                None,
            ),
            historikk(
                "2018-10-08T21:47:00.134Z",
                Historikktype::SoknadVideresendt,
                "Søknaden med vedlegg er videresendt og mottatt ved NAV-kontor 0315.",
                None,
            ),
            historikk(
                "2018-10-10T13:42:00.134Z",
                Historikktype::SoknadUnderBehandling,
                "Søknaden er under behandling.",
                None,
            ),
            historikk(
                "2018-10-11T13:42:00.134Z",
                Historikktype::DokumentasjonEtterspurt,
                "Du har fått et brev om dokumentasjon vi trenger. Se oppgavene dine.",
                Some(lenke("12345678-9abc-def0-1234-56789abcdea1")),
            ),
            historikk(
                "2018-10-12T07:37:00.134Z",
                Historikktype::ForelopigSvar,
                "Du har fått et brev om saksbehandlingstiden for søknaden din.",
                Some(lenke("12345678-9abc-def0-1234-56789abcdeb1")),
            ),
            historikk(
                "2018-10-12T13:37:00.134Z",
                Historikktype::SakFerdigbehandlet,
                "En sak i søknaden din er ferdigbehandlet.",
                Some(lenke("12345678-9abc-def0-1234-56789abcdef0")),
            ),
            historikk(
                "2018-10-12T13:37:00.134Z",
                Historikktype::SoknadFerdigbehandlet,
                "Søknaden er ferdigbehandlet.",
                None,
            ),
            historikk(
                "2018-10-12T13:37:00.134Z",
                Historikktype::SakKanIkkeViseStatus,
                "Vi kan ikke vise status for «KVP» på nav.no.",
                None,
            ),
            historikk(
                "2018-10-12T13:37:00.134Z",
                Historikktype::OppgaverOppdatert,
                "Dine oppgaver er oppdatert. Les mer i vedtaket.",
                None,
            ),
            historikk(
                "2018-10-12T13:37:00.134Z",
                Historikktype::OppgaverOppdatert,
                "Dine oppgaver er oppdatert. Les mer i vedtaket.",
                None,
            ),
        ],
        saker: vec![
            InnsynDelsak {
                referanse: "SAK1".into(),
                tittel: "Nødhjelp".into(),
                status: Saksstatus::Ferdigbehandlet,
                vedtak: vec![InnsynVedtak {
                    utfall: Some(Vedtaksutfall::Innvilget),
                    tidspunkt: "2018-10-12T13:37:00.134Z".into(),
                    vedtaksbrev: lenke("12345678-9abc-def0-1234-56789abcdef0"),
                }],
            },
            InnsynDelsak { referanse: "SAK2".into(), tittel: "KVP".into(), status: Saksstatus::IkkeInnsyn, vedtak: vec![] },
        ],
        oppgaver: vec![
            InnsynOppgave {
                dokumenttype: "Strømfaktura".into(),
                tilleggsinformasjon: Some("For periode 01.01.2019 til 01.02.2019".into()),
                innsendelsesfrist: Some("2018-10-20T07:37:00.134Z".into()),
                dokumentreferanse: Some("dokumentreferanse1".into()),
                etterspurt: "2018-10-11T13:42:00.134Z".into(),
                er_levert: true,
                fra_soknad: false,
            },
            InnsynOppgave {
                dokumenttype: "Kopi av depositumskonto".into(),
                tilleggsinformasjon: Some("Signert av både deg og utleier".into()),
                innsendelsesfrist: Some("2018-10-20T07:37:30.000Z".into()),
                dokumentreferanse: None,
                etterspurt: "2018-10-11T13:42:00.134Z".into(),
                er_levert: false,
                fra_soknad: false,
            },
        ],
        vilkar: vec![InnsynVilkar {
            referanse: "vilkar2".into(),
            saksreferanse: Some("SAK1".into()),
            tittel: Some("Søke bostøtte".into()),
            beskrivelse: Some(
                "Du har nylig flyttet og kan ha rett på statlig bostøtte. Du må søke bostøtte hos Husbanken innen 1. april på husbanken.no/bostotte/ .".into(),
            ),
            utbetalingsreferanser: vec!["UTBETALINGNR1SAK2".into()],
            sist_endret: "2018-10-13T13:37:00.134Z".into(),
        }],
        dokumentasjonkrav: vec![],
        utbetalinger: vec![InnsynUtbetaling {
            referanse: "UTBETALINGNR1SAK2".into(),
            saksreferanse: "SAK2".into(),
            status: Utbetalingsstatus::PlanlagtUtbetaling,
            belop: 5000.0,
            beskrivelse: Some("strøm".into()),
            forfallsdato: Some("2018-10-11".into()),
            utbetalingsdato: None,
            stoppet_dato: None,
            fom: Some("2018-10-11".into()),
            tom: Some("2018-10-13".into()),
            annen_mottaker: true,
            mottaker: None,
            kontonummer: None,
            utbetalingsmetode: Some("kontooverføring".into()),
            vilkarreferanser: vec!["vilkar2".into()],
            dokumentasjonkravreferanser: vec![],
        }],
        dokumenter: vec![
            InnsynDokument {
                dokumentlager_dokument_id: PDF_ID.into(),
                filnavn: "soknad.pdf".into(),
                storrelse: 1234,
                mimetype: "application/pdf".into(),
                kilde: Dokumentkilde::Soknad,
                r#type: None,
                tilleggsinfo: None,
                tidspunkt: SENDT.into(),
                url: url(PDF_ID).expect("url"),
            },
            InnsynDokument {
                dokumentlager_dokument_id: STROM_ID.into(),
                filnavn: "strom.pdf".into(),
                storrelse: 1234,
                mimetype: "application/pdf".into(),
                kilde: Dokumentkilde::SoknadVedlegg,
                r#type: Some("faktura".into()),
                tilleggsinfo: Some("strom".into()),
                tidspunkt: SENDT.into(),
                url: url(STROM_ID).expect("url"),
            },
            InnsynDokument {
                dokumentlager_dokument_id: "12345678-9abc-def0-1234-56789abcdef0".into(),
                filnavn: "vedtak.pdf".into(),
                storrelse: 1234,
                mimetype: "application/pdf".into(),
                kilde: Dokumentkilde::Fagsystem,
                r#type: None,
                tilleggsinfo: None,
                tidspunkt: "2018-10-12T13:00:00.000Z".into(),
                url: url("12345678-9abc-def0-1234-56789abcdef0").expect("url"),
            },
            InnsynDokument {
                dokumentlager_dokument_id: "00000000-0000-0000-0000-00000000a003".into(),
                filnavn: "faktura-jan.pdf".into(),
                storrelse: 1234,
                mimetype: "application/pdf".into(),
                kilde: Dokumentkilde::Ettersendelse,
                r#type: Some("Strømfaktura".into()),
                tilleggsinfo: Some("For periode 01.01.2019 til 01.02.2019".into()),
                tidspunkt: "2018-10-15T10:00:00.000Z".into(),
                url: url("00000000-0000-0000-0000-00000000a003").expect("url"),
            },
        ],
        leveranser: vec![InnsynLeveranse {
            leveranse_id: "00000000-0000-0000-0000-00000000c001".into(),
            r#type: InnsynLeveransetype::Soknad,
            nav_ekstern_ref_id: "ref-1".into(),
            status: InnsynLeveransestatus::Bekreftet,
            arsak: None,
            opprettet: "2018-10-04T13:00:01.000Z".into(),
            besvart: Some("2018-10-04T13:05:00.000Z".into()),
        }],
    };
    let actual = sak.innsyn();
    // Part by part first, for a readable failure; then the whole.
    assert_eq!(actual.historikk, expected.historikk);
    assert_eq!(actual.saker, expected.saker);
    assert_eq!(actual.oppgaver, expected.oppgaver);
    assert_eq!(actual.vilkar, expected.vilkar);
    assert_eq!(actual.utbetalinger, expected.utbetalinger);
    assert_eq!(actual.dokumenter, expected.dokumenter);
    assert_eq!(actual, expected);
    assert_eq!(sak.state.sist_endret(), Some("2018-10-15T10:00:00.000Z"));
    let identitet = sak.state.identitet().expect("identity");
    assert_eq!(identitet.soker_fnr, "01017012343");
    assert_eq!(identitet.fiks_org_id, ORG_ID);
    assert!(!identitet.papirsoknad);
}

#[test]
fn komplett_json_folds_into_the_staff_view() {
    let nav = komplett().state.nav().expect("visible");
    assert_eq!(nav.status, Soknadsstatus::Ferdigbehandlet);
    assert_eq!(nav.mottatt.as_deref(), Some("2018-10-04T13:37:00.134Z"));
    assert_eq!(nav.nav_kontor.as_deref(), Some("0315"));
    assert_eq!(
        nav.videresendt,
        vec![
            NavVideresending { tidspunkt: "2018-10-04T13:42:00.134Z".into(), nav_kontor: "0314".into() },
            NavVideresending { tidspunkt: "2018-10-08T21:47:00.134Z".into(), nav_kontor: "0315".into() },
        ]
    );
    assert_eq!(nav.forelopig_svar.as_deref(), Some("2018-10-12T07:37:00.134Z"));
    assert_eq!(nav.sist_endret, "2018-10-15T10:00:00.000Z");
    assert_eq!(nav.saker.len(), 2);
    assert_eq!(nav.saker[0].opprettet, "2018-10-12T13:37:00.134Z");
    assert_eq!(nav.saker[0].avsluttet.as_deref(), Some("2018-10-12T13:37:00.134Z"));
    assert_eq!(nav.saker[0].vedtak[0].utfall, Some(Vedtaksutfall::Innvilget));
    assert_eq!(nav.saker[1].avsluttet, None);
    let antall: Vec<_> = nav.oppgaver.iter().map(|o| (o.dokumenttype.as_str(), o.antall_filer)).collect();
    assert_eq!(antall, [("Strømfaktura", 1), ("Kopi av depositumskonto", 0)]);
    let krav: Vec<_> =
        nav.dokumentasjonkrav.iter().map(|k| (k.referanse.as_str(), k.status, k.frist.as_deref())).collect();
    assert_eq!(
        krav,
        [
            ("dokumentasjonkrav2", Kravstatus::Annullert, Some("2018-02-28T23:59:59.000Z")),
            ("dokumentasjonkrav1", Kravstatus::LevertTidligere, None),
        ]
    );
    assert_eq!(nav.dokumentasjonkrav[0].sakstittel.as_deref(), Some("Nødhjelp"));
    let vilkar: Vec<_> = nav.vilkar.iter().map(|v| (v.referanse.as_str(), v.status)).collect();
    assert_eq!(vilkar, [("vilkar1", Kravstatus::Annullert), ("vilkar2", Kravstatus::Relevant)]);
    assert_eq!(nav.vilkar[1].utbetalingsreferanser, ["UTBETALINGNR1SAK2"]);
    assert_eq!(nav.utbetalinger[0].kontonummer.as_deref(), Some("76940512057"));
    assert_eq!(nav.utbetalinger[0].annen_mottaker, Some(true));
    let vedlegg: Vec<_> = nav.vedlegg.iter().map(|v| (v.r#type.as_deref(), v.kilde, v.antall_filer)).collect();
    assert_eq!(
        vedlegg,
        [(Some("faktura"), Dokumentkilde::SoknadVedlegg, 1), (Some("Strømfaktura"), Dokumentkilde::Ettersendelse, 1)]
    );
}

#[test]
fn staff_view_never_contains_a_url_or_a_file_name() {
    let nav = komplett().state.nav().expect("visible");
    let text = serde_json::to_string(&nav).expect("json");
    for forbidden in
        ["url", "Url", "filnavn", "/digisos/api", "nedlasting", ".pdf", "12345678-9abc-def0-1234-56789abcdef0"]
    {
        assert!(!text.contains(forbidden), "{forbidden} in {text}");
    }
}

#[test]
fn every_valid_digisos_soker_file_folds_without_panicking() {
    let mappe = formater().join("digisos/soker");
    let mut filer = 0;
    for entry in std::fs::read_dir(&mappe).expect("folder") {
        let path = entry.expect("entry").path();
        let Some(tekst) = std::fs::read_to_string(&path).ok() else { continue };
        let Ok(fil) = serde_json::from_str::<Value>(&tekst) else { continue };
        let mut sak = Sak::soknad();
        for h in fil["hendelser"].as_array().into_iter().flatten() {
            sak.hendelse(h.clone());
        }
        let view = sak.innsyn();
        assert!(sak.state.nav().is_some());
        if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("feil-")) {
            assert_ne!(view.status, Soknadsstatus::Sendt, "{path:?}");
        }
        filer += 1;
    }
    assert!(filer >= 3, "found {filer} files");
}

#[test]
fn tie_puts_mottatt_before_under_behandling_and_utbetaling_before_vilkar_and_dokumentasjonkrav() {
    let mut sak = Sak::soknad();
    let tid = "2019-01-01T10:00:00.000Z";
    sak.hendelse(json!({"type": "vilkar", "hendelsestidspunkt": tid, "vilkarreferanse": "V1",
        "utbetalingsreferanse": ["U1"], "status": "RELEVANT"}));
    sak.hendelse(json!({"type": "dokumentasjonkrav", "hendelsestidspunkt": tid, "dokumentasjonkravreferanse": "K1",
        "utbetalingsreferanse": ["U1"], "status": "RELEVANT"}));
    sak.hendelse(utbetaling(tid, json!({})));
    sak.hendelse(status(tid, "UNDER_BEHANDLING"));
    sak.hendelse(status(tid, "MOTTATT"));
    let typer: Vec<_> = fold::sorterte_hendelser(&sak.state).iter().map(|h| h.data.type_name().to_owned()).collect();
    assert_eq!(typer, ["soknadsStatus", "utbetaling", "soknadsStatus", "vilkar", "dokumentasjonkrav"]);
    let view = sak.innsyn();
    assert_eq!(view.status, Soknadsstatus::UnderBehandling);
    let historikk: Vec<_> = view.historikk.iter().map(|h| h.r#type).collect();
    assert_eq!(
        historikk,
        [
            Historikktype::SoknadSendt,
            Historikktype::SoknadMottatt,
            Historikktype::SoknadUnderBehandling,
            Historikktype::OppgaverOppdatert
        ]
    );
    assert_eq!(view.utbetalinger[0].vilkarreferanser, ["V1"]);
    assert_eq!(view.utbetalinger[0].dokumentasjonkravreferanser, ["K1"]);
}

#[test]
fn hendelser_apply_by_time_not_by_registration() {
    let mut sak = Sak::soknad();
    sak.hendelse(status("2019-01-02T10:00:00.000Z", "UNDER_BEHANDLING"));
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    assert_eq!(sak.innsyn().status, Soknadsstatus::UnderBehandling);
}

#[test]
fn dokumentasjon_etterspurt_replaces_the_task_list_and_an_empty_list_says_no_more_is_needed() {
    let mut sak = Sak::soknad();
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    let frist = "2019-02-01T10:00:00.000Z";
    sak.hendelse(etterspurt(
        "2019-01-02T10:00:00.000Z",
        json!([{"dokumenttype": "A", "innsendelsesfrist": frist}, {"dokumenttype": "B", "innsendelsesfrist": frist}]),
    ));
    sak.hendelse(etterspurt("2019-01-03T10:00:00.000Z", json!([{"dokumenttype": "C", "innsendelsesfrist": frist}])));
    let typer: Vec<_> = sak.innsyn().oppgaver.iter().map(|o| o.dokumenttype.clone()).collect();
    assert_eq!(typer, ["C"]);
    assert!(!sak.innsyn().historikk.iter().any(|h| h.r#type == Historikktype::DokumentasjonIkkeLengerNodvendig));

    sak.hendelse(etterspurt("2019-01-04T10:00:00.000Z", json!([])));
    let view = sak.innsyn();
    assert!(view.oppgaver.is_empty());
    let siste = view.historikk.last().expect("entry");
    assert_eq!(siste.r#type, Historikktype::DokumentasjonIkkeLengerNodvendig);
    assert_eq!(siste.tidspunkt, "2019-01-04T10:00:00.000Z");
    assert_eq!(siste.tekst, "Vi trenger ikke lenger dokumentasjonen vi har bedt om.");

    // A second empty list after an empty one says nothing new.
    sak.hendelse(etterspurt("2019-01-05T10:00:00.000Z", json!([])));
    let antall =
        sak.innsyn().historikk.iter().filter(|h| h.r#type == Historikktype::DokumentasjonIkkeLengerNodvendig).count();
    assert_eq!(antall, 1);
}

#[test]
fn no_history_entry_for_an_emptied_task_list_when_the_soknad_is_not_processed() {
    let mut sak = Sak::soknad();
    let frist = "2019-02-01T10:00:00.000Z";
    sak.hendelse(etterspurt("2019-01-02T10:00:00.000Z", json!([{"dokumenttype": "A", "innsendelsesfrist": frist}])));
    sak.hendelse(status("2019-01-03T10:00:00.000Z", "BEHANDLES_IKKE"));
    sak.hendelse(etterspurt("2019-01-04T10:00:00.000Z", json!([])));
    let view = sak.innsyn();
    assert!(view.oppgaver.is_empty());
    assert!(!view.historikk.iter().any(|h| h.r#type == Historikktype::DokumentasjonIkkeLengerNodvendig));
}

#[test]
fn ferdigbehandlet_is_shown_as_under_behandling_while_a_sak_is_under_behandling_without_vedtak() {
    let mut sak = Sak::soknad();
    sak.hendelse(json!({"type": "saksStatus", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z", "referanse": "S1",
        "tittel": "Nødhjelp"}));
    sak.hendelse(status("2019-01-02T10:00:00.000Z", "FERDIGBEHANDLET"));
    let view = sak.innsyn();
    assert_eq!(view.status, Soknadsstatus::UnderBehandling);
    assert_eq!(view.saker[0].status, Saksstatus::UnderBehandling);

    sak.hendelse(json!({"type": "vedtakFattet", "hendelsestidspunkt": "2019-01-03T10:00:00.000Z",
        "saksreferanse": "S1", "utfall": "AVSLATT",
        "vedtaksfil": {"referanse": {"type": "svarut", "id": "12345678-9abc-def0-1234-56789abcdef1", "nr": 2}}}));
    let view = sak.innsyn();
    assert_eq!(view.status, Soknadsstatus::Ferdigbehandlet);
    assert_eq!(view.saker[0].status, Saksstatus::Ferdigbehandlet);
    let brev = &view.saker[0].vedtak[0].vedtaksbrev;
    assert_eq!(brev.url, None);
    assert_eq!(
        (brev.lagringssted, brev.id.as_str(), brev.nr),
        (Lagringssted::Svarut, "12345678-9abc-def0-1234-56789abcdef1", Some(2))
    );
    assert_eq!(view.historikk.last().map(|h| h.tekst.as_str()), Some("«Nødhjelp» er ferdigbehandlet."));
}

#[test]
fn feilregistrert_saker_are_hidden_and_do_not_hold_the_status_back() {
    let mut sak = Sak::soknad();
    sak.hendelse(json!({"type": "saksStatus", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z", "referanse": "S1"}));
    sak.hendelse(json!({"type": "saksStatus", "hendelsestidspunkt": "2019-01-02T10:00:00.000Z", "referanse": "S1",
        "status": "FEILREGISTRERT"}));
    sak.hendelse(status("2019-01-03T10:00:00.000Z", "FERDIGBEHANDLET"));
    let view = sak.innsyn();
    assert!(view.saker.is_empty());
    assert_eq!(view.status, Soknadsstatus::Ferdigbehandlet);
    assert!(sak.state.nav().expect("nav").saker.is_empty());
}

#[test]
fn kontonummer_is_shown_only_when_the_citizen_is_explicitly_the_payee() {
    let mut sak = Sak::soknad();
    let tid = "2019-01-01T10:00:00.000Z";
    sak.hendelse(utbetaling(
        tid,
        json!({"utbetalingsreferanse": "EGEN", "annenMottaker": false, "kontonummer": "12345678903"}),
    ));
    sak.hendelse(utbetaling(
        tid,
        json!({"utbetalingsreferanse": "ANNEN", "annenMottaker": true, "kontonummer": "12345678903"}),
    ));
    sak.hendelse(utbetaling(tid, json!({"utbetalingsreferanse": "UKJENT", "kontonummer": "12345678903"})));
    let view = sak.innsyn();
    let vist: Vec<_> =
        view.utbetalinger.iter().map(|u| (u.referanse.as_str(), u.annen_mottaker, u.kontonummer.as_deref())).collect();
    assert_eq!(vist, [("EGEN", false, Some("12345678903")), ("ANNEN", true, None), ("UKJENT", true, None)]);
    let nav = sak.state.nav().expect("nav");
    assert!(nav.utbetalinger.iter().all(|u| u.kontonummer.as_deref() == Some("12345678903")));
}

#[test]
fn utbetaling_defaults_status_and_belop_and_records_the_stop_date() {
    let mut sak = Sak::soknad();
    sak.hendelse(utbetaling("2019-01-01T10:00:00.000Z", json!({})));
    let u = &sak.innsyn().utbetalinger[0];
    assert_eq!((u.status, u.belop, u.stoppet_dato.as_deref()), (Utbetalingsstatus::PlanlagtUtbetaling, 0.0, None));
    sak.hendelse(utbetaling("2019-01-05T10:00:00.000Z", json!({"status": "STOPPET", "belop": 12.5})));
    sak.hendelse(utbetaling(
        "2019-01-07T10:00:00.000Z",
        json!({"status": "STOPPET", "belop": 12.5, "beskrivelse": "x"}),
    ));
    let view = sak.innsyn();
    assert_eq!(view.utbetalinger.len(), 1, "upsert by referanse");
    let u = &view.utbetalinger[0];
    assert_eq!((u.status, u.belop, u.stoppet_dato.as_deref()), (Utbetalingsstatus::Stoppet, 12.5, Some("2019-01-05")));
    sak.hendelse(utbetaling("2019-01-08T10:00:00.000Z", json!({"status": "ANNULLERT"})));
    assert!(sak.innsyn().utbetalinger.is_empty());
    assert_eq!(sak.state.nav().expect("nav").utbetalinger[0].status, Utbetalingsstatus::Annullert);
}

#[test]
fn deprecated_statuses_read_as_relevant_and_annullert_or_levert_tidligere_are_not_shown() {
    let mut sak = Sak::soknad();
    let tid = "2019-01-01T10:00:00.000Z";
    for (referanse, status) in [("V1", "OPPFYLT"), ("V2", "IKKE_OPPFYLT"), ("V3", "ANNULLERT"), ("V4", "RELEVANT")] {
        sak.hendelse(
            json!({"type": "vilkar", "hendelsestidspunkt": tid, "vilkarreferanse": referanse, "status": status}),
        );
    }
    for (referanse, status, frist) in [
        ("K1", "OPPFYLT", "2019-03-01T00:00:00.000Z"),
        ("K2", "IKKE_OPPFYLT", "2019-02-01T00:00:00.000Z"),
        ("K3", "ANNULLERT", "2019-01-15T00:00:00.000Z"),
        ("K4", "LEVERT_TIDLIGERE", "2019-01-15T00:00:00.000Z"),
    ] {
        sak.hendelse(
            json!({"type": "dokumentasjonkrav", "hendelsestidspunkt": tid, "dokumentasjonkravreferanse": referanse,
            "status": status, "frist": frist}),
        );
    }
    sak.hendelse(json!({"type": "dokumentasjonkrav", "hendelsestidspunkt": tid, "dokumentasjonkravreferanse": "K5"}));
    let view = sak.innsyn();
    let vilkar: Vec<_> = view.vilkar.iter().map(|v| v.referanse.as_str()).collect();
    assert_eq!(vilkar, ["V1", "V2", "V4"]);
    let krav: Vec<_> = view.dokumentasjonkrav.iter().map(|k| k.referanse.as_str()).collect();
    assert_eq!(krav, ["K2", "K1", "K5"], "sorted by frist, without frist last");
}

#[test]
fn vedtak_and_utbetalinger_without_a_known_sak_go_to_the_default_sak() {
    let mut sak = Sak::soknad();
    sak.hendelse(utbetaling("2019-01-01T10:00:00.000Z", json!({})));
    sak.hendelse(utbetaling(
        "2019-01-01T10:00:00.000Z",
        json!({"utbetalingsreferanse": "U2", "saksreferanse": "UKJENT"}),
    ));
    sak.hendelse(
        json!({"type": "vedtakFattet", "hendelsestidspunkt": "2019-01-02T10:00:00.000Z", "saksreferanse": "NY",
        "vedtaksfil": {"referanse": {"type": "dokumentlager", "id": "12345678-9abc-def0-1234-56789abcdef1"}}}),
    );
    sak.hendelse(status("2019-01-03T10:00:00.000Z", "FERDIGBEHANDLET"));
    let view = sak.innsyn();
    let saker: Vec<_> = view.saker.iter().map(|s| (s.referanse.as_str(), s.tittel.as_str(), s.status)).collect();
    assert_eq!(
        saker,
        [
            ("NY", DEFAULT_SAKSTITTEL, Saksstatus::Ferdigbehandlet),
            (DEFAULT_SAKSREFERANSE, DEFAULT_SAKSTITTEL, Saksstatus::UnderBehandling)
        ]
    );
    assert!(view.utbetalinger.iter().all(|u| u.saksreferanse == DEFAULT_SAKSREFERANSE));
    assert_eq!(view.status, Soknadsstatus::Ferdigbehandlet, "the implicit default sak does not hold the status back");
}

#[test]
fn removing_a_hendelse_takes_its_effect_back() {
    let mut sak = Sak::soknad();
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    let for_ = sak.innsyn();
    let ny = status("2019-01-02T10:00:00.000Z", "UNDER_BEHANDLING");
    sak.hendelse(ny.clone());
    assert_eq!(sak.innsyn().status, Soknadsstatus::UnderBehandling);
    sak.fjern(&ny);
    assert_eq!(sak.innsyn(), for_);
}

#[test]
fn identical_hendelser_are_counted_by_copy() {
    let mut sak = Sak::soknad();
    let h = json!({"type": "dokumentasjonkrav", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z",
        "dokumentasjonkravreferanse": "K1"});
    sak.hendelse(h.clone());
    sak.hendelse(h.clone());
    let antall = |s: &Sak| s.innsyn().historikk.iter().filter(|x| x.r#type == Historikktype::OppgaverOppdatert).count();
    assert_eq!(antall(&sak), 2);
    sak.fjern(&h);
    assert_eq!(antall(&sak), 1);
}

#[test]
fn deleting_the_status_updates_returns_the_case_to_sent() {
    let fresh = Sak::soknad().innsyn();
    let mut sak = Sak::soknad();
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    sak.hendelse(utbetaling("2019-01-01T10:00:00.000Z", json!({})));
    sak.apply(SakEvent::StatusoppdateringerSlettet(StatusoppdateringerSlettet {
        antall_hendelser: 2,
        tidspunkt: t("2019-01-05T10:00:00.000Z"),
    }));
    let view = sak.innsyn();
    assert_eq!(view.sist_oppdatert, "2019-01-05T10:00:00.000Z");
    assert_eq!(InnsynSak { sist_oppdatert: fresh.sist_oppdatert.clone(), ..view }, fresh);
    assert_eq!(fresh.status, Soknadsstatus::Sendt);
}

#[test]
fn er_levert_needs_an_upload_of_the_same_type_and_tilleggsinfo_after_the_task() {
    let mut sak = Sak::soknad();
    let opplasting = |tilleggsinfo: &str| {
        json!({"vedlegg": [{"type": "husleie", "tilleggsinfo": tilleggsinfo, "status": "LastetOpp",
            "filer": [{"filnavn": "a.pdf"}, {"filnavn": "b.pdf"}]}]})
    };
    sak.ettersendelse("2019-01-01T10:00:00.000Z", opplasting("kontrakt"), vec![]);
    sak.hendelse(etterspurt(
        "2019-01-02T10:00:00.000Z",
        json!([{"dokumenttype": "husleie", "tilleggsinformasjon": "kontrakt", "innsendelsesfrist": "2019-02-01T10:00:00.000Z"}]),
    ));
    assert!(!sak.innsyn().oppgaver[0].er_levert, "uploaded before the task");
    sak.ettersendelse("2019-01-03T10:00:00.000Z", opplasting("annet"), vec![]);
    assert!(!sak.innsyn().oppgaver[0].er_levert, "other tilleggsinfo");
    sak.ettersendelse(
        "2019-01-04T10:00:00.000Z",
        json!({"vedlegg": [{"type": "husleie", "tilleggsinfo": "kontrakt", "status": "VedleggAlleredeSendt"}]}),
        vec![],
    );
    assert!(!sak.innsyn().oppgaver[0].er_levert, "not uploaded");
    sak.ettersendelse("2019-01-05T10:00:00.000Z", opplasting("kontrakt"), vec![]);
    assert!(sak.innsyn().oppgaver[0].er_levert);
    assert_eq!(sak.state.nav().expect("nav").oppgaver[0].antall_filer, 2);
}

#[test]
fn tasks_from_the_soknad_are_shown_for_30_days_and_only_until_the_kommune_asks() {
    let mut sak = Sak::soknad();
    let view = sak.innsyn();
    let oppgaver: Vec<_> = view.oppgaver.iter().map(|o| (o.dokumenttype.as_str(), o.fra_soknad)).collect();
    assert_eq!(oppgaver, [("lonnslipp", true)], "annet/annet and uploaded ones are not tasks");
    assert_eq!(view.oppgaver[0].tilleggsinformasjon.as_deref(), Some("arbeid"));
    let sendt = now(SENDT);
    let dag29 = sendt + Duration::days(30) - Duration::milliseconds(1);
    assert_eq!(view.clone().at(dag29).oppgaver.len(), 1);
    assert!(view.clone().at(sendt + Duration::days(30)).oppgaver.is_empty());
    assert!(sak.state.nav().expect("nav").at(sendt + Duration::days(30)).oppgaver.is_empty());

    sak.ettersendelse(
        "2018-10-05T10:00:00.000Z",
        json!({"vedlegg": [{"type": "lonnslipp", "tilleggsinfo": "arbeid", "status": "LastetOpp", "filer": [{"filnavn": "l.pdf"}]}]}),
        vec![],
    );
    assert!(sak.innsyn().oppgaver[0].er_levert);

    sak.hendelse(etterspurt("2018-10-06T10:00:00.000Z", json!([])));
    assert!(sak.innsyn().at(sendt).oppgaver.is_empty(), "an empty request also ends them");
}

#[test]
fn kort_rule_counts_utbetalt_within_50_days_and_planlagt_within_14_days_in_the_same_kommune() {
    let idag = now("2024-03-31T12:00:00.000Z");
    let sak_med = |status: &str, felt: &str, dato: &str| {
        let mut sak = Sak::soknad();
        sak.hendelse(utbetaling("2024-01-01T10:00:00.000Z", json!({"status": status, felt: dato})));
        sak.innsyn()
    };
    let kort = |saker: &[InnsynSak]| kvalifiserer_for_kort(saker, "0301", idag);
    // 2024-03-31 minus 50 days is 2024-02-10; plus 14 days is 2024-04-14.
    assert!(kort(&[sak_med("UTBETALT", "utbetalingsdato", "2024-02-10")]));
    assert!(!kort(&[sak_med("UTBETALT", "utbetalingsdato", "2024-02-09")]));
    assert!(kort(&[sak_med("UTBETALT", "utbetalingsdato", "2024-03-31")]));
    assert!(!kort(&[sak_med("UTBETALT", "utbetalingsdato", "2024-04-01")]), "paid in the future is not paid");
    assert!(kort(&[sak_med("PLANLAGT_UTBETALING", "forfallsdato", "2024-04-14")]));
    assert!(!kort(&[sak_med("PLANLAGT_UTBETALING", "forfallsdato", "2024-04-15")]));
    assert!(kort(&[sak_med("PLANLAGT_UTBETALING", "forfallsdato", "2024-03-31")]));
    assert!(!kort(&[sak_med("PLANLAGT_UTBETALING", "forfallsdato", "2024-03-30")]), "overdue is not coming");
    assert!(!kort(&[sak_med("STOPPET", "utbetalingsdato", "2024-03-30")]));
    assert!(!kort(&[sak_med("UTBETALT", "forfallsdato", "2024-03-30")]), "forfallsdato does not count for UTBETALT");
    assert!(!kvalifiserer_for_kort(&[sak_med("UTBETALT", "utbetalingsdato", "2024-03-30")], "5001", idag));
    assert!(!kort(&[]));
}

#[test]
fn empty_and_deleted_cases_are_hidden() {
    let mut papir = Sak::papir();
    assert_eq!(papir.state.innsyn(), None, "neither søknad nor status file");
    assert_eq!(papir.state.nav(), None);
    papir.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    papir.hendelse(
        json!({"type": "tildeltNavKontor", "hendelsestidspunkt": "2019-01-01T11:00:00.000Z", "navKontor": "0312"}),
    );
    let view = papir.innsyn();
    assert!(view.papirsoknad);
    assert_eq!((view.soknad_pdf, view.soknad_sendt), (None, None));
    assert_eq!(view.nav_kontor.as_deref(), Some("0312"));
    assert_eq!(view.historikk[0].r#type, Historikktype::SoknadMottatt);
    assert_eq!(view.historikk[1].r#type, Historikktype::SoknadTildeltKontor);

    let mut sak = Sak::soknad();
    assert!(sak.state.innsyn().is_some());
    sak.apply(SakEvent::SakSlettet(SakSlettet { arsak: "retention".into(), tidspunkt: t("2030-01-01T00:00:00.000Z") }));
    assert!(sak.state.slettet());
    assert_eq!(sak.state.innsyn(), None);
    assert_eq!(sak.state.nav(), None);
    assert!(sak.state.identitet().is_some());
    sak.hendelse(status("2030-01-02T10:00:00.000Z", "MOTTATT"));
    assert_eq!(sak.state.innsyn(), None, "nothing revives a deleted case");
}

#[test]
fn tildelt_nav_kontor_is_ignored_for_the_current_or_original_office() {
    let mut sak = Sak::soknad();
    sak.hendelse(
        json!({"type": "tildeltNavKontor", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z", "navKontor": "0301"}),
    );
    let view = sak.innsyn();
    assert_eq!(view.historikk.len(), 1);
    assert_eq!(view.nav_kontor.as_deref(), Some("0301"));
}

#[test]
fn unreadable_and_unknown_hendelser_are_skipped() {
    let mut sak = Sak::soknad();
    sak.hendelse(json!({"type": "soknadsStatus", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z", "status": 7}));
    sak.hendelse(
        json!({"type": "utbetaling", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z", "utbetalingsreferanse": ["x"]}),
    );
    sak.hendelse(json!({"type": "utbetaling", "hendelsestidspunkt": "i går", "utbetalingsreferanse": "U9"}));
    sak.hendelse(json!({"type": "nyHendelse", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z", "felt": {"a": 1}}));
    sak.hendelse(json!({"hendelsestidspunkt": "2019-01-01T10:00:00.000Z"}));
    sak.hendelse(json!("not an object"));
    sak.hendelse(json!({"type": "rammevedtak", "hendelsestidspunkt": "2019-01-01T10:00:00.000Z",
        "rammevedtaksreferanse": "R1", "belop": 100}));
    sak.hendelse(
        json!({"type": "soknadsStatus", "hendelsestidspunkt": "2019-01-02T10:00:00.000Z", "status": "MOTTATT",
        "ukjentFelt": true}),
    );
    let view = sak.innsyn();
    assert_eq!(view.status, Soknadsstatus::Mottatt);
    assert!(view.utbetalinger.is_empty());
    assert_eq!(view.historikk.len(), 2);
}

#[test]
fn replayed_events_are_ignored() {
    let mut sak = Sak::soknad();
    let h = status("2019-01-01T10:00:00.000Z", "MOTTATT");
    let event = SakEvent::HendelseRegistrert(HendelseRegistrert {
        fingerprint: Fingerprint::of_json(&h),
        forekomst: 0,
        hendelse: h.clone(),
    });
    sak.state.apply(&event, 5);
    let etter = sak.state.clone();
    let fjern = SakEvent::HendelseFjernet(HendelseFjernet { fingerprint: Fingerprint::of_json(&h), forekomst: 0 });
    sak.state.apply(&fjern, 5);
    sak.state.apply(&fjern, 3);
    assert_eq!(sak.state, etter);
    sak.state.apply(&fjern, 6);
    assert_eq!(sak.state.innsyn().map(|v| v.status), Some(Soknadsstatus::Sendt));
}

#[test]
fn sak_state_round_trips_through_json_unchanged() {
    let state = komplett().state;
    let json = serde_json::to_value(&state).expect("json");
    let back: SakState = serde_json::from_value(json.clone()).expect("back");
    assert_eq!(back, state);
    assert_eq!(serde_json::to_value(&back).expect("json"), json);
    let tom: SakState = serde_json::from_value(json!({})).expect("empty");
    assert_eq!(tom, SakState::default());
}

#[test]
fn views_round_trip_through_json() {
    let sak = komplett();
    let innsyn = sak.innsyn();
    let back: InnsynSak = serde_json::from_value(serde_json::to_value(&innsyn).expect("json")).expect("back");
    assert_eq!(back, innsyn);
    let json = serde_json::to_value(&innsyn).expect("json");
    assert_eq!(json["historikk"][0]["type"], "SOKNAD_SENDT");
    assert_eq!(json["utbetalinger"][0]["status"], "PLANLAGT_UTBETALING");
    assert_eq!(json["soknadPdf"]["url"], url(PDF_ID).expect("url"));
    let nav = sak.state.nav().expect("nav");
    let back: NavSak = serde_json::from_value(serde_json::to_value(&nav).expect("json")).expect("back");
    assert_eq!(back, nav);
}

#[test]
fn prefill_takes_personalia_family_housing_and_expenses_from_the_earlier_soknad() {
    let soknad = les("soknad/brukerdata.json");
    let utkast = utkast_fra(&soknad);
    let p = &utkast.personalia;
    let navn = p.navn.as_ref().expect("navn");
    assert_eq!(
        (navn.fornavn.as_deref(), navn.mellomnavn.as_deref(), navn.etternavn.as_deref(), navn.kilde),
        (Some("Ola"), Some("Mellom"), Some("Nordmann"), Opplysningskilde::System)
    );
    assert!(navn.fra_tidligere_soknad);
    let konto = p.kontonummer.as_ref().expect("konto");
    assert_eq!(
        (konto.verdi.as_deref(), konto.har_ikke_konto, konto.kilde),
        (Some("12345678903"), Some(false), Opplysningskilde::Bruker)
    );
    assert_eq!(p.telefonnummer.as_ref().map(|t| t.verdi.as_str()), Some("+4711122333"));
    assert_eq!(p.statsborgerskap, None);
    let folk = p.folkeregistrert_adresse.as_ref().expect("adresse");
    assert_eq!(
        (folk.r#type.as_str(), folk.gatenavn.as_deref(), folk.husnummer.as_deref()),
        ("gateadresse", Some("En vei"), Some("99"))
    );
    let opphold = p.oppholdsadresse.as_ref().expect("opphold");
    assert_eq!(opphold.adresselinjer, ["Under en bro i Oslo"]);
    assert_eq!(opphold.adresse_valg.as_deref(), Some("soknad"));
    assert_eq!(p.postadresse.as_ref().and_then(|a| a.postboks.as_deref()), Some("42"));

    let f = &utkast.familie;
    let sivil = f.sivilstatus.as_ref().expect("sivilstatus");
    assert_eq!(sivil.status, "gift");
    assert_eq!(sivil.ektefelle_navn.as_ref().and_then(|n| n.fornavn.as_deref()), Some("Kari"));
    assert_eq!(sivil.ektefelle_fodselsdato.as_deref(), Some("1991-11-30"));
    assert_eq!(f.har_forsorgerplikt.as_ref().map(|h| h.verdi), Some(true));
    assert_eq!(f.barnebidrag.as_ref().map(|b| b.verdi.as_str()), Some("betaler"));
    let barn: Vec<_> = f
        .barn
        .iter()
        .map(|b| {
            (
                b.mellomnavn.as_deref(),
                b.fodselsdato.as_deref(),
                b.bor_sammen_med.as_ref().map(|x| x.verdi),
                b.samvarsgrad,
            )
        })
        .collect();
    assert_eq!(
        barn,
        [(None, Some("2010-01-01"), Some(false), Some(20)), (Some("Den Andre"), Some("2011-10-30"), Some(true), None)]
    );
    let bo = utkast.bosituasjon.as_ref().expect("bosituasjon");
    assert_eq!((bo.botype.as_deref(), bo.antall_personer), (Some("annet"), Some(3)));

    assert_eq!(utkast.utgifter.len(), 11 + 6);
    let forste = &utkast.utgifter[0];
    assert_eq!((forste.del, forste.r#type.as_str(), forste.belop), (Utgiftsdel::Opplysninger, "strom", Some(5600.0)));
    let siste = utkast.utgifter.last().expect("utgift");
    assert_eq!((siste.del, siste.r#type.as_str(), siste.tittel.as_deref()), (Utgiftsdel::Oversikt, "sfo", Some("SFO")));

    let text = serde_json::to_string(&utkast).expect("json");
    assert!(!text.contains("12345678901") && !text.contains("00000000000") && !text.contains("personIdentifikator"));
}

#[test]
fn prefill_skips_utdatert_protected_and_malformed_values() {
    let soknad = json!({"data": {
        "personalia": {
            "personIdentifikator": {"kilde": "system", "verdi": "12345678901"},
            "navn": {"kilde": "system", "fornavn": "Ola"},
            "telefonnummer": {"kilde": "utdatert", "verdi": "+4711122333"},
            "kontonummer": {"kilde": "bruker", "verdi": 12},
            "statsborgerskap": {"verdi": "NOR"},
            "postadresse": "feil"
        },
        "familie": {
            "sivilstatus": {"kilde": "system", "status": "gift", "ektefelleHarDiskresjonskode": true,
                "ektefelle": {"navn": {"fornavn": "Skjult"}}},
            "forsorgerplikt": {"ansvar": [{"barn": {"kilde": "system", "harDiskresjonskode": true, "navn": {"fornavn": "Skjult"}}},
                {"barn": {"kilde": "system", "navn": {"fornavn": "Vist"}}, "samvarsgrad": {"kilde": "utdatert", "verdi": 10}}, 7]}
        },
        "bosituasjon": {"kilde": "utdatert", "botype": "leier"},
        "okonomi": {"opplysninger": {"utgift": [{"kilde": "utdatert", "type": "strom", "belop": 1},
            {"kilde": "bruker", "type": "husleie", "belop": "mye"}, {"kilde": "bruker"}]},
            "oversikt": {"utgift": "feil"}}
    }});
    let utkast = utkast_fra(&soknad);
    assert!(utkast.personalia.navn.is_some());
    assert_eq!(utkast.personalia.telefonnummer, None);
    assert_eq!(utkast.personalia.kontonummer.and_then(|k| k.verdi).as_deref(), Some("12"));
    assert_eq!(utkast.personalia.statsborgerskap, None, "no kilde");
    assert_eq!(utkast.personalia.postadresse, None);
    let sivil = utkast.familie.sivilstatus.expect("sivilstatus");
    assert_eq!((sivil.ektefelle_navn, sivil.ektefelle_fodselsdato), (None, None));
    let barn: Vec<_> = utkast.familie.barn.iter().map(|b| (b.fornavn.as_deref(), b.samvarsgrad)).collect();
    assert_eq!(barn, [(Some("Vist"), None)]);
    assert_eq!(utkast.bosituasjon, None);
    let utgifter: Vec<_> = utkast.utgifter.iter().map(|u| (u.r#type.as_str(), u.belop)).collect();
    assert_eq!(utgifter, [("husleie", None)]);
    assert!(!serde_json::to_string(&utkast_fra(&soknad)).expect("json").contains("Skjult"));
    assert_eq!(utkast_fra(&json!(null)).utgifter.len(), 0);
}

#[test]
fn views_form_one_graphql_schema_with_documented_fields() {
    struct Query;
    #[async_graphql::Object]
    impl Query {
        async fn innsyn(&self) -> Option<InnsynSak> {
            None
        }
        async fn nav(&self) -> Option<NavSak> {
            None
        }
        async fn utkast(&self) -> Option<SoknadUtkast> {
            None
        }
    }
    let schema =
        async_graphql::Schema::build(Query, async_graphql::EmptyMutation, async_graphql::EmptySubscription).finish();
    let sdl = schema.sdl();
    for expected in [
        "type InnsynSak",
        "type NavSak",
        "type SoknadUtkast",
        "enum Soknadsstatus",
        "UNDER_BEHANDLING",
        "fiksDigisosId: String!",
        "kontonummer: String",
        "fraTidligereSoknad: Boolean!",
        "Relative download path",
    ] {
        assert!(sdl.contains(expected), "{expected} missing from\n{sdl}");
    }
}

fn ms(s: &str) -> i64 {
    now(s).timestamp_millis()
}

fn oppdatert(sak: &mut Sak, id: &str, tidspunkt: &str) {
    sak.apply(SakEvent::DigisosSokerOppdatert(DigisosSokerOppdatert {
        metadata: fil(id, "digisos-soker.json"),
        version: "1.0.0".into(),
        avsender: serde_json::from_value(json!({"systemnavn": "Test", "systemversjon": "1"})).expect("avsender"),
        antall_hendelser: 1,
        tidspunkt: t(tidspunkt),
    }));
}

#[test]
fn digisos_sak_of_a_nav_soknad_carries_every_document_id_and_epoch_ms_timestamps() {
    let sak = komplett().state.digisos_sak().expect("complete").expect("shown");
    let json = serde_json::to_value(&sak).expect("json");
    assert_eq!(
        json,
        json!({
            "fiksDigisosId": SAK_ID,
            "sokerFnr": "01017012343",
            "fiksOrgId": ORG_ID,
            "kommunenummer": "0301",
            "sistEndret": ms("2018-10-15T10:00:00.000Z"),
            "originalSoknadNAV": {
                "navEksternRefId": "ref-1",
                "metadata": "00000000-0000-0000-0000-00000000b001",
                "vedleggMetadata": "00000000-0000-0000-0000-00000000b002",
                "soknadDokument": {"filnavn": "soknad.pdf", "dokumentlagerDokumentId": PDF_ID, "storrelse": 1234},
                "vedlegg": [{"filnavn": "strom.pdf", "dokumentlagerDokumentId": STROM_ID, "storrelse": 1234}],
                "timestampSendt": ms(SENDT),
            },
            "ettersendtInfoNAV": {"ettersendelser": [{
                "navEksternRefId": "ref-e23",
                "vedleggMetadata": "00000000-0000-0000-0000-00000000b003",
                "vedlegg": [{
                    "filnavn": "faktura-jan.pdf",
                    "dokumentlagerDokumentId": "00000000-0000-0000-0000-00000000a003",
                    "storrelse": 1234
                }],
                "timestampSendt": ms("2018-10-15T10:00:00.000Z"),
            }]},
            "digisosSoker": {
                "metadata": "00000000-0000-0000-0000-00000000b004",
                "dokumenter": [{
                    "filnavn": "vedtak.pdf",
                    "dokumentlagerDokumentId": "12345678-9abc-def0-1234-56789abcdef0",
                    "storrelse": 1234
                }],
                "timestampSistOppdatert": ms("2018-10-13T14:00:00.000Z"),
            },
            "tilleggsinformasjon": {"enhetsnummer": "0301"},
        })
    );
}

#[test]
fn a_paper_case_has_null_for_nav_parts_and_is_shown_once_it_has_a_status() {
    let mut sak = Sak::papir();
    assert_eq!(sak.state.digisos_sak(), Ok(None), "nothing published yet");
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    oppdatert(&mut sak, "00000000-0000-0000-0000-00000000b010", "2019-01-01T10:00:01.000Z");
    let json = serde_json::to_value(sak.state.digisos_sak().expect("complete").expect("shown")).expect("json");
    assert_eq!(json["originalSoknadNAV"], Value::Null);
    assert_eq!(json["ettersendtInfoNAV"], Value::Null);
    assert_eq!(json["tilleggsinformasjon"], Value::Null);
    assert_eq!(json["digisosSoker"]["metadata"], "00000000-0000-0000-0000-00000000b010");
    assert_eq!(json["digisosSoker"]["dokumenter"], json!([]));
}

#[test]
fn timestamp_sist_oppdatert_is_later_for_every_new_file_even_within_one_millisecond() {
    let mut sak = Sak::soknad();
    assert_eq!(sak.state.digisos_sak().expect("complete").expect("shown").digisos_soker, None);
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    oppdatert(&mut sak, "00000000-0000-0000-0000-00000000b010", "2019-01-01T10:00:01.000Z");
    oppdatert(&mut sak, "00000000-0000-0000-0000-00000000b011", "2019-01-01T10:00:01.000Z");
    let stamp = |sak: &Sak| sak.state.digisos_sak().unwrap().unwrap().digisos_soker.map(|d| d.timestamp_sist_oppdatert);
    assert_eq!(stamp(&sak), Some(ms("2019-01-01T10:00:01.000Z") + 1));
    sak.apply(SakEvent::StatusoppdateringerSlettet(StatusoppdateringerSlettet {
        antall_hendelser: 1,
        tidspunkt: t("2019-01-01T10:00:01.000Z"),
    }));
    assert_eq!(stamp(&sak), None, "no file after the deletion");
    sak.hendelse(status("2019-01-01T10:00:00.000Z", "MOTTATT"));
    oppdatert(&mut sak, "00000000-0000-0000-0000-00000000b012", "2019-01-01T10:00:01.000Z");
    assert_eq!(stamp(&sak), Some(ms("2019-01-01T10:00:01.000Z") + 2), "still later than every earlier file");
}

#[test]
fn json_dokument_finds_the_json_documents_and_nothing_else() {
    let mut sak = komplett();
    let finn =
        |sak: &Sak, id: &str| sak.state.json_dokument(Uuid::parse_str(id).expect("uuid")).map(|d| d.dokumenttype);
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b001"), Some(JsonDokumenttype::Soknad));
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b002"), Some(JsonDokumenttype::Vedlegg));
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b003"), Some(JsonDokumenttype::Vedlegg));
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b004"), Some(JsonDokumenttype::DigisosSoker));
    for file in [PDF_ID, STROM_ID, "00000000-0000-0000-0000-00000000a003", "12345678-9abc-def0-1234-56789abcdef0"] {
        assert_eq!(finn(&sak, file), None, "{file} is a file, not a JSON document");
    }
    oppdatert(&mut sak, "00000000-0000-0000-0000-00000000b005", "2019-01-01T10:00:00.000Z");
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b004"), None, "an earlier digisos-soker.json");
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b005"), Some(JsonDokumenttype::DigisosSoker));
    sak.apply(SakEvent::SakSlettet(SakSlettet { arsak: "test".into(), tidspunkt: t("2019-02-01T10:00:00.000Z") }));
    assert_eq!(finn(&sak, "00000000-0000-0000-0000-00000000b001"), None, "a deleted case has no documents");
    assert_eq!(sak.state.digisos_sak(), Ok(None));
}

#[test]
fn a_state_written_before_the_document_ids_existed_is_incomplete_not_wrong() {
    let mut json = serde_json::to_value(&komplett().state).expect("json");
    json["soknad"].as_object_mut().expect("soknad").remove("metadata");
    let old: SakState = serde_json::from_value(json).expect("an older state still decodes");
    assert_eq!(old.digisos_sak(), Err(Ufullstendig));
    let mut json = serde_json::to_value(&komplett().state).expect("json");
    json.as_object_mut().expect("state").remove("digisosSoker");
    let old: SakState = serde_json::from_value(json).expect("an older state still decodes");
    assert_eq!(old.digisos_sak(), Err(Ufullstendig));
}
