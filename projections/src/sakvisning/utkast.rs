//! Prefill for a new søknad from the citizen's latest `soknad.json` ([`utkast_fra`]): personalia, family,
//! housing and expenses, each value marked as taken from the earlier søknad.
//!
//! Marking: every prefilled value is its own object carrying `kilde` (who gave the value in the earlier
//! søknad: the citizen or a register) and `fraTidligereSoknad: true`, so a form that mixes these values with
//! fresh register data can tell them apart field by field. Values the earlier søknad marked `utdatert` (no
//! longer relevant) are left out, as are values without a readable `kilde`.
//!
//! What is never copied: the applicant's `personIdentifikator` (the resolver knows the person), nor any
//! other person's identity number; family members with `harDiskresjonskode` (protected address) are left out
//! entirely. The document is read leniently: missing parts and fields of an unexpected JSON type are
//! skipped, never an error.

use async_graphql::{Enum, SimpleObject};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who gave a value in the earlier søknad.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Opplysningskilde {
    /// The citizen typed it.
    Bruker,
    /// It came from a register (and the citizen may have corrected it).
    System,
}

/// A new søknad prefilled from the citizen's latest søknad.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SoknadUtkast {
    /// Name, account, phone, citizenship and addresses.
    pub personalia: UtkastPersonalia,
    /// Marital status and children.
    pub familie: UtkastFamilie,
    /// Housing; null when the earlier søknad had none.
    pub bosituasjon: Option<UtkastBosituasjon>,
    /// Expenses, in the earlier søknad's order: first `okonomi.opplysninger.utgift`, then
    /// `okonomi.oversikt.utgift`.
    pub utgifter: Vec<UtkastUtgift>,
}

/// Personalia from the earlier søknad.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastPersonalia {
    /// Name; null when absent.
    pub navn: Option<UtkastNavn>,
    /// Account number, or that the citizen has none; null when absent.
    pub kontonummer: Option<UtkastKontonummer>,
    /// Phone number (E.164, e.g. `+4799999999`); null when absent.
    pub telefonnummer: Option<UtkastTekst>,
    /// Citizenship (ISO 3166 alpha-3, e.g. `NOR`); null when absent.
    pub statsborgerskap: Option<UtkastTekst>,
    /// Address in the population register; null when absent.
    pub folkeregistrert_adresse: Option<UtkastAdresse>,
    /// Where the citizen lives; null when absent.
    pub oppholdsadresse: Option<UtkastAdresse>,
    /// Where the citizen gets mail; null when absent.
    pub postadresse: Option<UtkastAdresse>,
}

/// A text value.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastTekst {
    /// The value.
    pub verdi: String,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// A yes/no value.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastJaNei {
    /// The value.
    pub verdi: bool,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// A person's name.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastNavn {
    /// First name; null when absent.
    pub fornavn: Option<String>,
    /// Middle name; null when absent.
    pub mellomnavn: Option<String>,
    /// Last name; null when absent.
    pub etternavn: Option<String>,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// The account for payments.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastKontonummer {
    /// The account number (11 digits); null when absent.
    pub verdi: Option<String>,
    /// True when the citizen said they have no account; null when not said.
    pub har_ikke_konto: Option<bool>,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// An address; which fields are set depends on `type`.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastAdresse {
    /// `gateadresse`, `matrikkeladresse`, `postboks` or `ustrukturert`.
    pub r#type: String,
    /// Street name (gateadresse).
    pub gatenavn: Option<String>,
    /// House number (gateadresse).
    pub husnummer: Option<String>,
    /// House letter (gateadresse).
    pub husbokstav: Option<String>,
    /// Flat number, e.g. `H0101` (gateadresse).
    pub bolignummer: Option<String>,
    /// PO box (postboks).
    pub postboks: Option<String>,
    /// Gårdsnummer (matrikkeladresse).
    pub gaardsnummer: Option<String>,
    /// Bruksnummer (matrikkeladresse).
    pub bruksnummer: Option<String>,
    /// Festenummer (matrikkeladresse).
    pub festenummer: Option<String>,
    /// Seksjonsnummer (matrikkeladresse).
    pub seksjonsnummer: Option<String>,
    /// Undernummer (matrikkeladresse).
    pub undernummer: Option<String>,
    /// The address lines of an unstructured address, in order (ustrukturert).
    pub adresselinjer: Vec<String>,
    /// Postal code.
    pub postnummer: Option<String>,
    /// Postal town.
    pub poststed: Option<String>,
    /// Kommune (4 digits).
    pub kommunenummer: Option<String>,
    /// Country (ISO 3166 alpha-3).
    pub landkode: Option<String>,
    /// Which address the citizen chose as oppholdsadresse: `folkeregistrert`, `midlertidig` or `soknad`.
    pub adresse_valg: Option<String>,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// Family from the earlier søknad.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastFamilie {
    /// Marital status; null when absent.
    pub sivilstatus: Option<UtkastSivilstatus>,
    /// Whether the citizen supports children; null when absent.
    pub har_forsorgerplikt: Option<UtkastJaNei>,
    /// Child support: `betaler`, `mottar`, `begge` or `ingen`; null when absent.
    pub barnebidrag: Option<UtkastTekst>,
    /// The children the citizen supports, in the earlier søknad's order (protected children left out).
    pub barn: Vec<UtkastBarn>,
}

/// Marital status.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastSivilstatus {
    /// `gift`, `ugift`, `samboer`, `enke`, `skilt` or `separert`.
    pub status: String,
    /// The spouse's name; null when absent or protected.
    pub ektefelle_navn: Option<UtkastNavn>,
    /// The spouse's date of birth (dato); null when absent or protected.
    pub ektefelle_fodselsdato: Option<String>,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// A child the citizen supports.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastBarn {
    /// First name; null when absent.
    pub fornavn: Option<String>,
    /// Middle name; null when absent.
    pub mellomnavn: Option<String>,
    /// Last name; null when absent.
    pub etternavn: Option<String>,
    /// Date of birth (dato); null when absent.
    pub fodselsdato: Option<String>,
    /// Whether the child lives with the citizen; null when absent.
    pub bor_sammen_med: Option<UtkastJaNei>,
    /// Share of time with the citizen in percent (0–100); null when absent.
    pub samvarsgrad: Option<i32>,
    /// Who gave the child's identity in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// Housing.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastBosituasjon {
    /// `eier`, `leier`, `kommunal`, `ingen`, `institusjon`, `krisesenter`, `fengsel`, `venner`, `foreldre`,
    /// `familie` or `annet`; null when absent.
    pub botype: Option<String>,
    /// How many people live in the household; null when absent.
    pub antall_personer: Option<i32>,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// Which part of the earlier søknad's economy an expense came from.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Utgiftsdel {
    /// `okonomi.opplysninger.utgift`: bills and one-off expenses.
    Opplysninger,
    /// `okonomi.oversikt.utgift`: regular monthly expenses.
    Oversikt,
}

/// One expense.
#[derive(SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtkastUtgift {
    /// Where in the søknad it came from.
    pub del: Utgiftsdel,
    /// The expense code (`husleie`, `strom`, `barnehage`, …; an open list).
    pub r#type: String,
    /// The title shown with it; null when absent.
    pub tittel: Option<String>,
    /// Amount in kroner; null when absent.
    pub belop: Option<f64>,
    /// Who gave it in the earlier søknad.
    pub kilde: Opplysningskilde,
    /// Always true: the value is taken from the earlier søknad.
    pub fra_tidligere_soknad: bool,
}

/// Prefill for a new søknad from the citizen's latest søknad.json (the raw JsonSoknad value).
pub fn utkast_fra(soknad: &Value) -> SoknadUtkast {
    let data = &soknad["data"];
    let personalia = &data["personalia"];
    let familie = &data["familie"];
    let mut utgifter = utgifter(&data["okonomi"]["opplysninger"]["utgift"], Utgiftsdel::Opplysninger);
    utgifter.extend(utgifter_fra(&data["okonomi"]["oversikt"]["utgift"], Utgiftsdel::Oversikt));
    SoknadUtkast {
        personalia: UtkastPersonalia {
            navn: navn(&personalia["navn"], kilde(&personalia["navn"])),
            kontonummer: kontonummer(&personalia["kontonummer"]),
            telefonnummer: tekstverdi(&personalia["telefonnummer"]),
            statsborgerskap: tekstverdi(&personalia["statsborgerskap"]),
            folkeregistrert_adresse: adresse(&personalia["folkeregistrertAdresse"]),
            oppholdsadresse: adresse(&personalia["oppholdsadresse"]),
            postadresse: adresse(&personalia["postadresse"]),
        },
        familie: UtkastFamilie {
            sivilstatus: sivilstatus(&familie["sivilstatus"]),
            har_forsorgerplikt: ja_nei(&familie["forsorgerplikt"]["harForsorgerplikt"]),
            barnebidrag: tekstverdi(&familie["forsorgerplikt"]["barnebidrag"]),
            barn: familie["forsorgerplikt"]["ansvar"].as_array().into_iter().flatten().filter_map(barn).collect(),
        },
        bosituasjon: bosituasjon(&data["bosituasjon"]),
        utgifter,
    }
}

fn utgifter(liste: &Value, del: Utgiftsdel) -> Vec<UtkastUtgift> {
    utgifter_fra(liste, del).collect()
}

fn utgifter_fra(liste: &Value, del: Utgiftsdel) -> impl Iterator<Item = UtkastUtgift> + '_ {
    liste.as_array().into_iter().flatten().filter_map(move |u| {
        Some(UtkastUtgift {
            del,
            r#type: tekst(&u["type"])?,
            tittel: tekst(&u["tittel"]),
            belop: u["belop"].as_f64(),
            kilde: kilde(u)?,
            fra_tidligere_soknad: true,
        })
    })
}

/// The `kilde` of a value: `bruker` or `system`; `None` for `utdatert`, absent or unknown.
fn kilde(verdi: &Value) -> Option<Opplysningskilde> {
    match verdi["kilde"].as_str()? {
        "bruker" => Some(Opplysningskilde::Bruker),
        "system" => Some(Opplysningskilde::System),
        _ => None,
    }
}

/// A text, or a number written as text; `None` for anything else or an empty text.
fn tekst(verdi: &Value) -> Option<String> {
    match verdi {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn tekstverdi(verdi: &Value) -> Option<UtkastTekst> {
    Some(UtkastTekst { verdi: tekst(&verdi["verdi"])?, kilde: kilde(verdi)?, fra_tidligere_soknad: true })
}

fn ja_nei(verdi: &Value) -> Option<UtkastJaNei> {
    Some(UtkastJaNei { verdi: verdi["verdi"].as_bool()?, kilde: kilde(verdi)?, fra_tidligere_soknad: true })
}

fn navn(navn: &Value, kilde: Option<Opplysningskilde>) -> Option<UtkastNavn> {
    let ut = UtkastNavn {
        fornavn: tekst(&navn["fornavn"]),
        mellomnavn: tekst(&navn["mellomnavn"]),
        etternavn: tekst(&navn["etternavn"]),
        kilde: kilde?,
        fra_tidligere_soknad: true,
    };
    (ut.fornavn.is_some() || ut.mellomnavn.is_some() || ut.etternavn.is_some()).then_some(ut)
}

fn kontonummer(konto: &Value) -> Option<UtkastKontonummer> {
    let ut = UtkastKontonummer {
        verdi: tekst(&konto["verdi"]),
        har_ikke_konto: konto["harIkkeKonto"].as_bool(),
        kilde: kilde(konto)?,
        fra_tidligere_soknad: true,
    };
    (ut.verdi.is_some() || ut.har_ikke_konto.is_some()).then_some(ut)
}

fn adresse(a: &Value) -> Option<UtkastAdresse> {
    Some(UtkastAdresse {
        r#type: tekst(&a["type"])?,
        gatenavn: tekst(&a["gatenavn"]),
        husnummer: tekst(&a["husnummer"]),
        husbokstav: tekst(&a["husbokstav"]),
        bolignummer: tekst(&a["bolignummer"]),
        postboks: tekst(&a["postboks"]),
        gaardsnummer: tekst(&a["gaardsnummer"]),
        bruksnummer: tekst(&a["bruksnummer"]),
        festenummer: tekst(&a["festenummer"]),
        seksjonsnummer: tekst(&a["seksjonsnummer"]),
        undernummer: tekst(&a["undernummer"]),
        adresselinjer: a["adresse"].as_array().into_iter().flatten().filter_map(tekst).collect(),
        postnummer: tekst(&a["postnummer"]),
        poststed: tekst(&a["poststed"]),
        kommunenummer: tekst(&a["kommunenummer"]),
        landkode: tekst(&a["landkode"]),
        adresse_valg: tekst(&a["adresseValg"]),
        kilde: kilde(a)?,
        fra_tidligere_soknad: true,
    })
}

fn sivilstatus(s: &Value) -> Option<UtkastSivilstatus> {
    let kilde = kilde(s)?;
    let beskyttet = s["ektefelleHarDiskresjonskode"].as_bool() == Some(true);
    let ektefelle = if beskyttet { &Value::Null } else { &s["ektefelle"] };
    Some(UtkastSivilstatus {
        status: tekst(&s["status"])?,
        ektefelle_navn: navn(&ektefelle["navn"], Some(kilde)),
        ektefelle_fodselsdato: tekst(&ektefelle["fodselsdato"]),
        kilde,
        fra_tidligere_soknad: true,
    })
}

fn barn(ansvar: &Value) -> Option<UtkastBarn> {
    let barn = &ansvar["barn"];
    if barn["harDiskresjonskode"].as_bool() == Some(true) {
        return None;
    }
    Some(UtkastBarn {
        fornavn: tekst(&barn["navn"]["fornavn"]),
        mellomnavn: tekst(&barn["navn"]["mellomnavn"]),
        etternavn: tekst(&barn["navn"]["etternavn"]),
        fodselsdato: tekst(&barn["fodselsdato"]),
        bor_sammen_med: ja_nei(&ansvar["borSammenMed"]),
        samvarsgrad: kilde(&ansvar["samvarsgrad"])
            .and(ansvar["samvarsgrad"]["verdi"].as_i64())
            .and_then(|v| i32::try_from(v).ok()),
        kilde: kilde(barn)?,
        fra_tidligere_soknad: true,
    })
}

fn bosituasjon(b: &Value) -> Option<UtkastBosituasjon> {
    let ut = UtkastBosituasjon {
        botype: tekst(&b["botype"]),
        antall_personer: b["antallPersoner"].as_i64().and_then(|v| i32::try_from(v).ok()),
        kilde: kilde(b)?,
        fra_tidligere_soknad: true,
    };
    (ut.botype.is_some() || ut.antall_personer.is_some()).then_some(ut)
}
