//! Hand-made documents, each wrong in one known way, proving the validator is a real JSON Schema validator
//! and not one tuned to the upstream corpus: each must be refused with a problem at the expected JSON path,
//! and each near miss that the schema allows must be accepted.

use digisos_schema::validate::{DocumentKind, Problem, Validator, validate};
use serde_json::{Value, json};

fn soker(hendelser: Value) -> Value {
    json!({
        "version": "1.0.0",
        "avsender": {"systemnavn": "Testsystemet", "systemversjon": "1.0.0"},
        "hendelser": hendelser,
    })
}

fn mottatt() -> Value {
    json!({"type": "soknadsStatus", "hendelsestidspunkt": "2018-10-04T13:37:00.134Z", "status": "MOTTATT"})
}

fn with(mut base: Value, field: &str, value: Value) -> Value {
    base[field] = value;
    base
}

fn problems(kind: DocumentKind, doc: &Value) -> Vec<Problem> {
    match validate(kind, doc) {
        Ok(()) => panic!("{} should be refused: {doc}", kind.format_name()),
        Err(problems) => problems,
    }
}

/// Asserts a problem at exactly `path` whose message contains `words`, and returns all problems.
fn refused_at(kind: DocumentKind, doc: &Value, path: &str, words: &str) -> Vec<Problem> {
    let problems = problems(kind, doc);
    assert!(
        problems.iter().any(|p| p.path == path && p.message.contains(words)),
        "expected a problem at {path} mentioning {words:?}, got {problems:#?}"
    );
    problems
}

fn accepted(kind: DocumentKind, doc: &Value) {
    assert_eq!(validate(kind, doc), Ok(()), "{doc}");
}

fn tildelt(nav_kontor: &str) -> Value {
    json!({"type": "tildeltNavKontor", "hendelsestidspunkt": "2018-10-04T13:42:00.134Z", "navKontor": nav_kontor})
}

#[test]
fn nav_kontor_must_have_exactly_four_digits() {
    accepted(DocumentKind::DigisosSoker, &soker(json!([mottatt(), tildelt("0314")])));
    for wrong in ["12345", "030", "123456", "1234567", "03a4", ""] {
        let doc = soker(json!([mottatt(), tildelt(wrong)]));
        let found = refused_at(DocumentKind::DigisosSoker, &doc, "$.hendelser[1].navKontor", "4 digits");
        assert_eq!(found.len(), 1, "only the precise problem, not a generic oneOf one: {found:#?}");
    }
}

#[test]
fn tidspunkt_without_a_fraction_is_refused() {
    for wrong in ["2018-10-04T13:37:00Z", "2018-10-04T13:37:00.Z", "2018-10-04T13:37:00.134+01:00", "2018-10-04"] {
        let doc = soker(json!([with(mottatt(), "hendelsestidspunkt", json!(wrong))]));
        refused_at(DocumentKind::DigisosSoker, &doc, "$.hendelser[0].hendelsestidspunkt", "fractional seconds");
    }
}

#[test]
fn tidspunkt_dot_matches_any_character_but_a_line_terminator_as_in_ecma_262() {
    // The upstream pattern leaves the dot unescaped; ECMA-262 (and so everit, ajv and Nav's Rhino-based
    // validator) lets it match any character except \n, \r, U+2028 and U+2029, and `$` only at the end.
    for allowed in [
        "2018-10-04T13:37:00.134Z",
        "2018-10-04T13:37:00,134Z",
        "2018-10-04T13:37:00X134Z",
        "2018-10-04T13:37:00.123456789Z",
        "2018-10-04T13:37:00.1Z",
    ] {
        accepted(DocumentKind::DigisosSoker, &soker(json!([with(mottatt(), "hendelsestidspunkt", json!(allowed))])));
    }
    for refused in [
        "2018-10-04T13:37:00\n134Z",
        "2018-10-04T13:37:00\r134Z",
        "2018-10-04T13:37:00\u{2028}134Z",
        "2018-10-04T13:37:00\u{2029}134Z",
        "2018-10-04T13:37:00.134Z\n",
    ] {
        let doc = soker(json!([with(mottatt(), "hendelsestidspunkt", json!(refused))]));
        refused_at(DocumentKind::DigisosSoker, &doc, "$.hendelser[0].hendelsestidspunkt", "pattern");
    }
}

#[test]
fn missing_version_is_reported_at_the_version_path() {
    let mut doc = soker(json!([mottatt()]));
    doc.as_object_mut().expect("object").remove("version");
    refused_at(DocumentKind::DigisosSoker, &doc, "$.version", "required property \"version\" is missing");
}

#[test]
fn version_of_the_wrong_type_or_form_is_refused() {
    refused_at(
        DocumentKind::DigisosSoker,
        &with(soker(json!([mottatt()])), "version", json!(1)),
        "$.version",
        "must be a string, but is an integer",
    );
    refused_at(
        DocumentKind::DigisosSoker,
        &with(soker(json!([mottatt()])), "version", json!("1.0")),
        "$.version",
        "version number",
    );
    accepted(DocumentKind::DigisosSoker, &with(soker(json!([mottatt()])), "version", json!("12.0.3-beta+abc123")));
}

#[test]
fn unknown_hendelse_type_is_reported_at_its_type_and_nowhere_else() {
    let doc = soker(
        json!([mottatt(), {"type": "nyStatus", "hendelsestidspunkt": "2018-10-04T13:37:00.134Z", "status": "MOTTATT"}]),
    );
    let found = refused_at(DocumentKind::DigisosSoker, &doc, "$.hendelser[1].type", "\"nyStatus\" is not one of");
    assert_eq!(found.len(), 1, "{found:#?}");
}

#[test]
fn kontonummer_with_ten_digits_is_refused_in_an_utbetaling() {
    let utbetaling = |konto: &str| json!({"type": "utbetaling", "hendelsestidspunkt": "2018-10-12T13:37:00.134Z", "utbetalingsreferanse": "U1", "kontonummer": konto, "belop": 5000.5});
    accepted(DocumentKind::DigisosSoker, &soker(json!([mottatt(), utbetaling("12345678901")])));
    refused_at(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), utbetaling("1234567890")])),
        "$.hendelser[1].kontonummer",
        "exactly 11 digits",
    );
}

#[test]
fn empty_hendelser_are_refused() {
    refused_at(DocumentKind::DigisosSoker, &soker(json!([])), "$.hendelser", "at least 1 item");
}

#[test]
fn every_problem_of_a_document_is_reported_not_only_the_first() {
    let mut doc = soker(json!([mottatt(), tildelt("12345"), with(mottatt(), "status", json!("MOTTAT"))]));
    doc["avsender"].as_object_mut().expect("object").remove("systemnavn");
    let found = problems(DocumentKind::DigisosSoker, &doc);
    let paths: Vec<&str> = found.iter().map(|p| p.path.as_str()).collect();
    for expected in ["$.avsender.systemnavn", "$.hendelser[1].navKontor", "$.hendelser[2].status"] {
        assert!(paths.contains(&expected), "{expected} missing from {found:#?}");
    }
    assert_eq!(found.len(), 3, "{found:#?}");
}

#[test]
fn filreferanse_problems_are_found_inside_the_right_shape() {
    let vedtak = |referanse: Value| json!({"type": "vedtakFattet", "hendelsestidspunkt": "2018-10-12T13:37:00.134Z", "saksreferanse": "SAK1", "vedtaksfil": {"referanse": referanse}});
    let id = "12345678-9abc-def0-1234-56789abcdef0";
    accepted(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), vedtak(json!({"type": "dokumentlager", "id": id}))])),
    );
    accepted(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), vedtak(json!({"type": "svarut", "id": id, "nr": 2}))])),
    );
    let upper = json!({"type": "dokumentlager", "id": id.to_uppercase()});
    refused_at(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), vedtak(upper)])),
        "$.hendelser[1].vedtaksfil.referanse.id",
        "lowercase",
    );
    let no_nr = json!({"type": "svarut", "id": id});
    refused_at(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), vedtak(no_nr)])),
        "$.hendelser[1].vedtaksfil.referanse.nr",
        "required property \"nr\"",
    );
    let unknown = json!({"type": "sharepoint", "id": id});
    refused_at(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), vedtak(unknown)])),
        "$.hendelser[1].vedtaksfil.referanse.type",
        "\"sharepoint\" is not one of",
    );
    let no_saksreferanse = json!({"type": "vedtakFattet", "hendelsestidspunkt": "2018-10-12T13:37:00.134Z", "vedtaksfil": {"referanse": {"type": "dokumentlager", "id": id}}});
    refused_at(
        DocumentKind::DigisosSoker,
        &soker(json!([mottatt(), no_saksreferanse])),
        "$.hendelser[1].saksreferanse",
        "required",
    );
}

#[test]
fn unknown_fields_are_tolerated_everywhere() {
    let mut hendelse = tildelt("0314");
    hendelse["nyttFelt"] = json!({"noe": [1, 2]});
    let mut doc = soker(json!([mottatt(), hendelse]));
    doc["klager"] = json!([]);
    doc["avsender"]["miljo"] = json!("test");
    accepted(DocumentKind::DigisosSoker, &doc);
}

#[test]
fn a_document_that_is_not_an_object_is_refused_at_the_root() {
    refused_at(DocumentKind::DigisosSoker, &json!([]), "$", "must be an object, but is an array");
    refused_at(DocumentKind::Vedlegg, &json!("vedlegg"), "$", "must be an object, but is a string");
}

fn soknad() -> Value {
    json!({
        "version": "1.0.11",
        "data": {
            "personalia": {
                "personIdentifikator": {"kilde": "system", "verdi": "01010112345"},
                "navn": {"kilde": "system", "fornavn": "Kari", "mellomnavn": "", "etternavn": "Nordmann"},
                "kontonummer": {"kilde": "bruker", "verdi": "12345678903"}
            },
            "begrunnelse": {"kilde": "bruker", "hvaSokesOm": "Mat"},
            "okonomi": {"opplysninger": {"utbetaling": []}, "oversikt": {"inntekt": []}},
            "familie": {"forsorgerplikt": {}}
        },
        "mottaker": {"kommunenummer": "0301", "enhetsnummer": "0314", "navEnhetsnavn": "NAV Sagene"},
        "driftsinformasjon": {"inntektFraSkatteetatenFeilet": false},
        "kompatibilitet": []
    })
}

#[test]
fn soknad_problems_are_reported_at_their_nested_paths() {
    accepted(DocumentKind::Soknad, &soknad());
    let mut ten_digits = soknad();
    ten_digits["data"]["personalia"]["kontonummer"]["verdi"] = json!("1234567890");
    refused_at(DocumentKind::Soknad, &ten_digits, "$.data.personalia.kontonummer.verdi", "exactly 11 digits");
    let mut bruker_kilde = soknad();
    bruker_kilde["data"]["personalia"]["personIdentifikator"]["kilde"] = json!("bruker");
    refused_at(
        DocumentKind::Soknad,
        &bruker_kilde,
        "$.data.personalia.personIdentifikator.kilde",
        "\"bruker\" is not one of \"system\"",
    );
    let mut no_mottaker = soknad();
    no_mottaker.as_object_mut().expect("object").remove("mottaker");
    refused_at(DocumentKind::Soknad, &no_mottaker, "$.mottaker", "required");
    let mut bad_time = soknad();
    bad_time["innsendingstidspunkt"] = json!("2018-10-04T13:37:00Z");
    refused_at(DocumentKind::Soknad, &bad_time, "$.innsendingstidspunkt", "fractional seconds");
}

#[test]
fn adresse_problems_are_found_inside_the_shape_its_type_names() {
    let validator = Validator::for_schema_file("soknad/parts/adresse.json").expect("adresse schema");
    let gate = json!({"kilde": "system", "type": "gateadresse", "gatenavn": "Gata", "husnummer": "1"});
    assert_eq!(validator.validate(&gate), Ok(()));
    let mut wrong = gate.clone();
    wrong["husnummer"] = json!(1);
    let found = validator.validate(&wrong).expect_err("husnummer must be a string");
    assert!(found.iter().any(|p| p.path == "$.husnummer"), "{found:#?}");
}

#[test]
fn vedlegg_json_problems_are_reported_at_their_paths() {
    let vedlegg = |hendelse_type: &str| json!({"vedlegg": [{"type": "faktura", "tilleggsinfo": "strom", "status": "LastetOpp", "filer": [{"filnavn": "a.pdf", "sha512": "00"}], "hendelseType": hendelse_type}]});
    accepted(DocumentKind::Vedlegg, &vedlegg("dokumentasjonkrav"));
    accepted(DocumentKind::Vedlegg, &json!({"vedlegg": [{"status": "EnNyStatus", "filer": []}]}));
    refused_at(DocumentKind::Vedlegg, &vedlegg("annet"), "$.vedlegg[0].hendelseType", "\"annet\" is not one of");
    refused_at(
        DocumentKind::Vedlegg,
        &json!({"vedlegg": [{"filer": [{"filnavn": 7}]}]}),
        "$.vedlegg[0].filer[0].filnavn",
        "must be a string",
    );
}

#[test]
fn fiks_io_messages_are_checked_against_the_ks_catalogue() {
    let id = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    accepted(DocumentKind::FiksIoSoknad, &json!({"eksternRef": "110004PCC", "digisosId": id}));
    refused_at(
        DocumentKind::FiksIoSoknad,
        &json!({"eksternRef": "x", "digisosId": id.to_uppercase()}),
        "$.digisosId",
        "lowercase",
    );
    refused_at(DocumentKind::FiksIoSoknad, &json!({"digisosId": id}), "$.eksternRef", "required");
    refused_at(
        DocumentKind::FiksIoEttersendelse,
        &json!({"eksternRef": "x", "digisosId": id}),
        "$.soknadLeveranseId",
        "required",
    );
    let ettersendelse =
        json!({"eksternRef": "x", "digisosId": id, "soknadLeveranseId": {"sendtKanal": "EPOST", "id": id}});
    refused_at(
        DocumentKind::FiksIoEttersendelse,
        &ettersendelse,
        "$.soknadLeveranseId.sendtKanal",
        "\"EPOST\" is not one of",
    );
    accepted(DocumentKind::FiksIoSoknadMottatt, &json!({}));
    accepted(DocumentKind::FiksIoEttersendelseMottatt, &json!({"ekstra": true}));
    refused_at(DocumentKind::FiksIoSoknadMottatt, &json!([]), "$", "must be an object");
}

#[test]
fn free_text_values_are_not_echoed_in_problem_messages() {
    let mut doc = soknad();
    doc["data"]["personalia"]["kontonummer"]["verdi"] = json!("9999 88 77777");
    let found = problems(DocumentKind::Soknad, &doc);
    assert!(found.iter().all(|p| !p.message.contains("9999")), "{found:#?}");
}
