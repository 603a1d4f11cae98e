//! The JSON Schema files of the Nav and KS formats, embedded in the binary.
//!
//! Each entry is `(path below schema/json, file contents)`. The files are copies of the upstream schemas
//! (`schema/json/SOURCES.md`); embedding them means validation never touches the disk or the network, and a
//! build always validates against exactly the schemas it was built with. `tests/formats.rs` checks that
//! this list and the folder agree, so a file added to the folder without an entry here fails the tests.

/// One `FILES` entry: the path and the text of `schema/json/<path>`, read at compile time.
macro_rules! entry {
    ($path:literal) => {
        ($path, include_str!(concat!("../../json/", $path)))
    };
}

/// Every embedded schema file: its path below `schema/json/` and its text.
pub(crate) const FILES: &[(&str, &str)] = &[
    entry!("digisos/soker/digisos-soker.json"),
    entry!("digisos/soker/parts/avsender.json"),
    entry!("digisos/soker/parts/filreferanse.json"),
    entry!("digisos/soker/parts/filreferanse/dokumentlager.json"),
    entry!("digisos/soker/parts/filreferanse/svarut.json"),
    entry!("digisos/soker/parts/forvaltningsbrev.json"),
    entry!("digisos/soker/parts/hendelse.json"),
    entry!("digisos/soker/parts/hendelse/dokumentasjonEtterspurt.json"),
    entry!("digisos/soker/parts/hendelse/dokumentasjonkrav.json"),
    entry!("digisos/soker/parts/hendelse/forelopigSvar.json"),
    entry!("digisos/soker/parts/hendelse/rammevedtak.json"),
    entry!("digisos/soker/parts/hendelse/saksStatus.json"),
    entry!("digisos/soker/parts/hendelse/soknadsStatus.json"),
    entry!("digisos/soker/parts/hendelse/tildeltNavKontor.json"),
    entry!("digisos/soker/parts/hendelse/utbetaling.json"),
    entry!("digisos/soker/parts/hendelse/vedtakFattet.json"),
    entry!("digisos/soker/parts/hendelse/vilkar.json"),
    entry!("digisos/soker/parts/vedlegg.json"),
    entry!("digisos/soker/parts/version.json"),
    entry!("fiks-io/no.nav.digisos.ettersendelse.v1/no.nav.digisos.ettersendelse.v1.schema.json"),
    entry!("fiks-io/no.nav.digisos.soknad.v1/no.nav.digisos.soknad.v1.schema.json"),
    entry!("soknad/arbeid/forhold.json"),
    entry!("soknad/arbeid/kommentarTilArbeidsforhold.json"),
    entry!("soknad/arbeid/situasjon.json"),
    entry!("soknad/bostotte/bostotte.json"),
    entry!("soknad/bostotte/sak.json"),
    entry!("soknad/familie/barn.json"),
    entry!("soknad/familie/borSammenMed.json"),
    entry!("soknad/familie/erFolkeregistrertSammen.json"),
    entry!("soknad/familie/folkeregistrertMedEktefelleAvviksforklaring.json"),
    entry!("soknad/familie/harDeltBosted.json"),
    entry!("soknad/familie/harForsorgerplikt.json"),
    entry!("soknad/familie/samvarsgrad.json"),
    entry!("soknad/familie/sivilstatus.json"),
    entry!("soknad/okonomi/opplysninger/utbetaling.json"),
    entry!("soknad/parts/adresse.json"),
    entry!("soknad/parts/adresse/gateadresse.json"),
    entry!("soknad/parts/adresse/matrikkeladresse.json"),
    entry!("soknad/parts/adresse/postboks.json"),
    entry!("soknad/parts/adresse/ustrukturert.json"),
    entry!("soknad/parts/adresseValg.json"),
    entry!("soknad/parts/kilde.json"),
    entry!("soknad/parts/kildeBruker.json"),
    entry!("soknad/parts/kildeSystem.json"),
    entry!("soknad/parts/mottaker.json"),
    entry!("soknad/parts/navn.json"),
    entry!("soknad/parts/personIdentifikatorVerdi.json"),
    entry!("soknad/parts/version.json"),
    entry!("soknad/personalia/kontonummer.json"),
    entry!("soknad/personalia/nordiskBorger.json"),
    entry!("soknad/personalia/personIdentifikator.json"),
    entry!("soknad/personalia/sokernavn.json"),
    entry!("soknad/personalia/statsborgerskap.json"),
    entry!("soknad/personalia/telefonnummer.json"),
    entry!("soknad/soknad.json"),
    entry!("types/dato.json"),
    entry!("types/organisasjon.json"),
    entry!("types/tidspunkt.json"),
    entry!("vedlegg/vedleggSpesifikasjon.json"),
];
