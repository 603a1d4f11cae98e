//! What the demo sends: a valid søknad, the attachment lists, the fagsystem's hendelser, and small real PDFs.
//!
//! The søknad is the format's own valid test file `soknad/systemdata.json` (navikt/soknadsosialhjelp-filformat,
//! MIT), copied into `data/soknad.json` so the binary carries it from any clone; the demo fills in the citizen's
//! fødselsnummer, the kommune, the NAV office and the time. Everything else is built here, in the shapes the JSON
//! Schemas of the format describe.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde_json::{Value, json};

/// The format's valid test søknad, embedded.
const SOKNAD: &str = include_str!("data/soknad.json");

/// The attachment the søknad carries (besides its PDF).
pub const HUSLEIEKONTRAKT: &str = "husleiekontrakt.pdf";
/// The file the citizen sends later, answering the kommune's request.
pub const STROMFAKTURA: &str = "stromfaktura.pdf";
/// The document type the kommune asks for (and the ettersendelse answers with).
pub const ETTERSPURT_TYPE: &str = "Strømfaktura";
/// The detail of the document the kommune asks for.
pub const ETTERSPURT_INFO: &str = "For siste måned";
/// The kommune's reference of the requested document.
pub const ETTERSPURT_REFERANSE: &str = "demo-stromfaktura";
/// The kommune's reference of the one sak of the demo.
pub const SAKSREFERANSE: &str = "SAK1";
/// The sak's title.
pub const SAKSTITTEL: &str = "Livsopphold";
/// The amount paid out.
pub const BELOP: f64 = 7500.0;

/// A `tidspunkt` as the formats write it (UTC, milliseconds, `Z`).
pub fn tidspunkt(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The søknad of citizen `fnr` to `kommunenummer`'s NAV office `enhet`, sent now.
pub fn soknad(fnr: &str, kommunenummer: &str, enhet: &str) -> Result<Value, serde_json::Error> {
    let mut soknad: Value = serde_json::from_str(SOKNAD)?;
    soknad["data"]["personalia"]["personIdentifikator"]["verdi"] = json!(fnr);
    soknad["mottaker"] = json!({
        "kommunenummer": kommunenummer, "enhetsnummer": enhet, "navEnhetsnavn": format!("NAV {enhet} (demo)")
    });
    soknad["innsendingstidspunkt"] = json!(tidspunkt(Utc::now()));
    Ok(soknad)
}

/// The søknad's `vedlegg.json`: the rental contract, uploaded, and an electricity bill the citizen still owes
/// (which the citizen then sees as an open task from the søknad).
pub fn soknad_vedlegg() -> Value {
    json!({"vedlegg": [
        {"type": "husleiekontrakt", "tilleggsinfo": "husleiekontrakt", "status": "LastetOpp",
         "hendelseType": "soknad", "filer": [{"filnavn": HUSLEIEKONTRAKT}]},
        {"type": "faktura", "tilleggsinfo": "strom", "status": "VedleggKreves", "hendelseType": "soknad", "filer": []}
    ]})
}

/// The ettersendelse's `vedlegg.json`: the requested document, answering the kommune's request by its reference.
pub fn ettersendelse_vedlegg(sha512: &str) -> Value {
    json!({"vedlegg": [
        {"type": ETTERSPURT_TYPE, "tilleggsinfo": ETTERSPURT_INFO, "status": "LastetOpp",
         "hendelseType": "dokumentasjonEtterspurt", "hendelseReferanse": ETTERSPURT_REFERANSE,
         "filer": [{"filnavn": STROMFAKTURA, "sha512": sha512}]}
    ]})
}

/// The envelope of a status update around the whole history so far.
pub fn digisos_soker(hendelser: &[Value]) -> Value {
    json!({
        "type": "no.nav.digisos.digisos.soker.v1",
        "sak": {"soker": {
            "version": "1.0.0",
            "avsender": {"systemnavn": "fiks-digisos demo", "systemversjon": env!("CARGO_PKG_VERSION")},
            "hendelser": hendelser,
        }}
    })
}

/// `soknadsStatus`.
pub fn soknads_status(status: &str, at: DateTime<Utc>) -> Value {
    json!({"type": "soknadsStatus", "hendelsestidspunkt": tidspunkt(at), "status": status})
}

/// `saksStatus` of the demo's sak.
pub fn saks_status(status: &str, at: DateTime<Utc>) -> Value {
    json!({"type": "saksStatus", "hendelsestidspunkt": tidspunkt(at), "referanse": SAKSREFERANSE,
           "tittel": SAKSTITTEL, "status": status})
}

/// `dokumentasjonEtterspurt`: the electricity bill, due in a week.
pub fn dokumentasjon_etterspurt(at: DateTime<Utc>) -> Value {
    json!({
        "type": "dokumentasjonEtterspurt", "hendelsestidspunkt": tidspunkt(at),
        "dokumenter": [{"dokumenttype": ETTERSPURT_TYPE, "tilleggsinformasjon": ETTERSPURT_INFO,
                        "innsendelsesfrist": tidspunkt(at + Duration::days(7)),
                        "dokumentreferanse": ETTERSPURT_REFERANSE}]
    })
}

/// `vedtakFattet`: granted, with the letter stored in the hub's document store as `dokumentlager_id`.
pub fn vedtak_fattet(dokumentlager_id: &str, at: DateTime<Utc>) -> Value {
    json!({
        "type": "vedtakFattet", "hendelsestidspunkt": tidspunkt(at), "saksreferanse": SAKSREFERANSE,
        "utfall": "INNVILGET", "vedtaksfil": {"referanse": {"type": "dokumentlager", "id": dokumentlager_id}},
        "vedlegg": []
    })
}

/// `utbetaling`: [`BELOP`] paid today to the citizen's account, for this month.
pub fn utbetaling(at: DateTime<Utc>) -> Value {
    let today = at.date_naive();
    let fom = today.with_day(1).unwrap_or(today);
    json!({
        "type": "utbetaling", "hendelsestidspunkt": tidspunkt(at), "utbetalingsreferanse": "demo-utbetaling-1",
        "saksreferanse": SAKSREFERANSE, "status": "UTBETALT", "belop": BELOP, "beskrivelse": SAKSTITTEL,
        "utbetalingsdato": today.to_string(), "fom": fom.to_string(), "tom": (fom + Duration::days(27)).to_string(),
        "annenMottaker": false, "mottaker": "Ola Nordmann", "kontonummer": "12345678903",
        "utbetalingsmetode": "kontooverføring"
    })
}

/// A one-page PDF (PDF 1.4, Helvetica) showing `lines`: a real document a viewer opens, built without a PDF
/// library. Characters outside Latin-1 are written as `?`.
pub fn pdf(lines: &[&str]) -> Vec<u8> {
    let mut text = b"BT /F1 14 Tf 72 770 Td 20 TL".to_vec();
    for line in lines {
        text.extend_from_slice(b" (");
        for c in line.chars() {
            match c {
                '(' | ')' | '\\' => text.extend_from_slice(&[b'\\', c as u8]),
                c if (c as u32) < 256 => text.push(c as u32 as u8),
                _ => text.push(b'?'),
            }
        }
        text.extend_from_slice(b") Tj T*");
    }
    text.extend_from_slice(b" ET");
    let mut content = format!("<< /Length {} >>\nstream\n", text.len()).into_bytes();
    content.extend_from_slice(&text);
    content.extend_from_slice(b"\nendstream");
    let objects: [Vec<u8>; 5] = [
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> \
          /Contents 5 0 R >>"
            .to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        content,
    ];
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(object);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pdf_has_a_correct_cross_reference_table() {
        let pdf = pdf(&["Søknad om økonomisk sosialhjelp", "a (parenthesis) and \\ backslash"]);
        let text = String::from_utf8_lossy(&pdf);
        assert!(pdf.starts_with(b"%PDF-1.4") && text.ends_with("%%EOF\n"));
        let startxref: usize = text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(pdf[startxref..].starts_with(b"xref\n0 6\n"));
        let table = String::from_utf8_lossy(&pdf[startxref..]);
        for (i, line) in table.lines().skip(3).take(5).enumerate() {
            let offset: usize = line[..10].parse().unwrap();
            assert!(pdf[offset..].starts_with(format!("{} 0 obj", i + 1).as_bytes()), "object {}", i + 1);
        }
        assert!(pdf.windows(3).any(|w| w == b"S\xF8k"), "ø is written in WinAnsi (Latin-1)");
        assert!(text.contains("a \\(parenthesis\\) and \\\\ backslash"));
    }

    #[test]
    fn the_soknad_is_the_citizens_and_goes_to_the_office() {
        let soknad = soknad("01817012309", "0301", "0315").unwrap();
        assert_eq!(soknad["data"]["personalia"]["personIdentifikator"]["verdi"], "01817012309");
        assert_eq!(soknad["mottaker"]["enhetsnummer"], "0315");
    }

    #[test]
    fn every_document_the_demo_sends_passes_its_json_schema() {
        use digisos_schema::validate::{DocumentKind, validate};
        let now = Utc::now();
        let soknad = soknad("01817012309", "0301", "0315").unwrap();
        assert_eq!(validate(DocumentKind::Soknad, &soknad), Ok(()));
        assert_eq!(validate(DocumentKind::Vedlegg, &soknad_vedlegg()), Ok(()));
        assert_eq!(validate(DocumentKind::Vedlegg, &ettersendelse_vedlegg("x")), Ok(()));
        let hendelser = [
            soknads_status("MOTTATT", now),
            saks_status("UNDER_BEHANDLING", now),
            dokumentasjon_etterspurt(now),
            vedtak_fattet("3fa85f64-5717-4562-b3fc-2c963f66afa6", now),
            soknads_status("FERDIGBEHANDLET", now),
            utbetaling(now),
        ];
        let file = digisos_soker(&hendelser);
        assert_eq!(validate(DocumentKind::DigisosSoker, &file["sak"]["soker"]), Ok(()));
    }
}
