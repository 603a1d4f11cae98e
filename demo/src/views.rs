//! What the citizen and a Nav support employee see of the case, read over GraphQL and written as a few lines.
//!
//! Each read sends the position of the step's last command (`x-digisos-min-position`), so it shows the step's
//! own effect (read-your-writes), never an older view. Each staff lookup carries its own `sporingsId` and is
//! recorded in the audit trail, which the citizen sees at the end (`innsynslogg`).

use serde_json::{Value, json};

/// The citizen's view of one case.
pub const SAK: &str = "query($id: String!) { sak(fiksDigisosId: $id) {
    fiksDigisosId status navKontor
    saker { tittel status vedtak { utfall vedtaksbrev { url } } }
    oppgaver { dokumenttype tilleggsinformasjon innsendelsesfrist erLevert fraSoknad }
    utbetalinger { status belop utbetalingsdato }
    leveranser { type status }
    dokumenter { filnavn }
} }";

/// Nav support's reduced view of one case.
pub const NAV_SAK: &str = "query($id: String!, $sporingsId: String!) {
  navSak(fiksDigisosId: $id, sporingsId: $sporingsId) {
    status navKontor mottatt
    saker { tittel status vedtak { utfall } }
    oppgaver { dokumenttype antallFiler }
    utbetalinger { status belop }
    vedlegg { type kilde antallFiler }
} }";

/// The citizen's log of staff lookups.
pub const INNSYNSLOGG: &str = "{ innsynslogg(first: 100) { tidspunkt navIdent enhet hva innsynGitt } }";

/// The variables of [`SAK`].
pub fn sak_variables(id: &str) -> Value {
    json!({"id": id})
}

/// `2025-01-31T12:34:56.789Z` as `2025-01-31 12:34`; anything shorter as is.
pub fn short_time(tidspunkt: &str) -> String {
    match tidspunkt.get(..16) {
        Some(start) => start.replacen('T', " ", 1),
        None => tidspunkt.to_owned(),
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("-")
}

fn list(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Kroner without needless decimals (`7500`, `7500.5`).
pub fn kroner(value: &Value) -> String {
    match value.as_f64() {
        Some(v) if v.fract() == 0.0 => format!("{v:.0} kr"),
        Some(v) => format!("{v:.2} kr"),
        None => "? kr".to_owned(),
    }
}

/// The citizen's view (the `sak` object) as lines.
pub fn citizen_lines(sak: &Value) -> Vec<String> {
    let saker: Vec<String> = list(&sak["saker"])
        .iter()
        .map(|s| {
            let vedtak: Vec<&str> = list(&s["vedtak"]).iter().map(|v| text(&v["utfall"])).collect();
            let vedtak = if vedtak.is_empty() { String::new() } else { format!(", vedtak {}", vedtak.join("+")) };
            format!("sak \"{}\" {}{vedtak}", text(&s["tittel"]), text(&s["status"]))
        })
        .collect();
    let mut first = format!("status {} · NAV-kontor {}", text(&sak["status"]), text(&sak["navKontor"]));
    for s in &saker {
        first.push_str(" · ");
        first.push_str(s);
    }
    let oppgaver: Vec<String> = list(&sak["oppgaver"])
        .iter()
        .map(|o| {
            let mut what = text(&o["dokumenttype"]).to_owned();
            if let Some(info) = o["tilleggsinformasjon"].as_str() {
                what.push_str(&format!(" ({info})"));
            }
            let due = o["innsendelsesfrist"].as_str().map(|f| format!(", due {}", short_time(f))).unwrap_or_default();
            let from = if o["fraSoknad"] == true { ", from the søknad" } else { "" };
            let done = if o["erLevert"] == true { "sent" } else { "not sent yet" };
            format!("{what}{due}{from}: {done}")
        })
        .collect();
    let oppgaver = if oppgaver.is_empty() { "none".to_owned() } else { oppgaver.join("; ") };
    let utbetalinger: Vec<String> = list(&sak["utbetalinger"])
        .iter()
        .map(|u| {
            let dato = u["utbetalingsdato"].as_str().map(|d| format!(" on {d}")).unwrap_or_default();
            format!("{} {}{dato}", kroner(&u["belop"]), text(&u["status"]))
        })
        .collect();
    let utbetalinger = if utbetalinger.is_empty() { "none".to_owned() } else { utbetalinger.join(", ") };
    let leveranser: Vec<String> =
        list(&sak["leveranser"]).iter().map(|l| format!("{} {}", text(&l["type"]), text(&l["status"]))).collect();
    vec![
        first,
        format!("open tasks: {oppgaver}"),
        format!(
            "payments: {utbetalinger} · deliveries to the kommune: {} · {} documents",
            leveranser.join(", "),
            list(&sak["dokumenter"]).len()
        ),
    ]
}

/// Nav support's view (the `navSak` object) as one or two lines.
pub fn staff_lines(sak: &Value, sporings_id: &str) -> Vec<String> {
    let mottatt = sak["mottatt"].as_str().map(|m| format!(" · received {}", short_time(m))).unwrap_or_default();
    let saker: Vec<String> = list(&sak["saker"])
        .iter()
        .map(|s| {
            let vedtak: Vec<&str> = list(&s["vedtak"]).iter().map(|v| text(&v["utfall"])).collect();
            let vedtak = if vedtak.is_empty() { String::new() } else { format!(", vedtak {}", vedtak.join("+")) };
            format!("sak \"{}\" {}{vedtak}", text(&s["tittel"]), text(&s["status"]))
        })
        .collect();
    let mut first = format!("status {} · NAV-kontor {}{mottatt}", text(&sak["status"]), text(&sak["navKontor"]));
    for s in &saker {
        first.push_str(" · ");
        first.push_str(s);
    }
    let oppgaver = list(&sak["oppgaver"]).len();
    let sendt: u64 = list(&sak["oppgaver"]).iter().filter_map(|o| o["antallFiler"].as_u64()).sum();
    let utbetalinger: Vec<String> =
        list(&sak["utbetalinger"]).iter().map(|u| format!("{} {}", kroner(&u["belop"]), text(&u["status"]))).collect();
    let utbetalinger = if utbetalinger.is_empty() { "none".to_owned() } else { utbetalinger.join(", ") };
    let vedlegg: u64 = list(&sak["vedlegg"]).iter().filter_map(|v| v["antallFiler"].as_u64()).sum();
    vec![
        first,
        format!(
            "{oppgaver} task(s), {sendt} file(s) sent for them · payments: {utbetalinger} · {vedlegg} attachment \
             file(s), no contents [lookup audited, sporingsId {sporings_id}]"
        ),
    ]
}

/// One row of the innsynslogg as a line.
pub fn innsynslogg_line(row: &Value) -> String {
    let gitt = if row["innsynGitt"] == true { "shown" } else { "refused" };
    format!(
        "{}  {} ({})  {}  {gitt}",
        short_time(text(&row["tidspunkt"])),
        text(&row["navIdent"]),
        text(&row["enhet"]),
        text(&row["hva"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_citizen_view_names_status_tasks_payments_and_deliveries() {
        let sak = json!({
            "status": "UNDER_BEHANDLING", "navKontor": "0315",
            "saker": [{"tittel": "Livsopphold", "status": "FERDIGBEHANDLET", "vedtak": [{"utfall": "INNVILGET"}]}],
            "oppgaver": [{"dokumenttype": "Strømfaktura", "tilleggsinformasjon": "For mai",
                          "innsendelsesfrist": "2025-06-01T10:00:00.000Z", "erLevert": false, "fraSoknad": false}],
            "utbetalinger": [{"status": "UTBETALT", "belop": 7500.0, "utbetalingsdato": "2025-05-20"}],
            "leveranser": [{"type": "SOKNAD", "status": "BEKREFTET"}],
            "dokumenter": [{}, {}]
        });
        let lines = citizen_lines(&sak).join("\n");
        for part in [
            "status UNDER_BEHANDLING",
            "sak \"Livsopphold\" FERDIGBEHANDLET, vedtak INNVILGET",
            "Strømfaktura (For mai), due 2025-06-01 10:00: not sent yet",
            "7500 kr UTBETALT on 2025-05-20",
            "SOKNAD BEKREFTET",
        ] {
            assert!(lines.contains(part), "{part:?} missing from {lines}");
        }
    }

    #[test]
    fn the_staff_view_counts_without_contents() {
        let sak = json!({"status": "MOTTATT", "navKontor": "0315", "mottatt": "2025-05-01T08:00:00.000Z",
                         "saker": [], "oppgaver": [], "utbetalinger": [],
                         "vedlegg": [{"antallFiler": 1}, {"antallFiler": 2}]});
        let lines = staff_lines(&sak, "demo-1").join("\n");
        assert!(lines.contains("status MOTTATT · NAV-kontor 0315 · received 2025-05-01 08:00"), "{lines}");
        assert!(lines.contains("3 attachment file(s)") && lines.contains("sporingsId demo-1"), "{lines}");
    }
}
