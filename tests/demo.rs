//! `digisos demo` as a new operator runs it: against the service binary started for real (SQLite, development
//! mode, a temporary data folder, a free port), as a child process of its own. It completes every step and
//! shows the final statuses; it configures a kommune that is not configured yet; and when it cannot get tokens it
//! stops with a non-zero exit naming the step and what to do.

mod binary_support;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

use binary_support::Service;
use digisos_demo::STEPS;

const BIN: &str = env!("CARGO_BIN_EXE_digisos");

/// Starts the service in development mode on SQLite in `data_dir`, on a free port; its log goes to
/// `<data_dir>/service.log`.
fn start(data_dir: &Path) -> Service {
    let database_url = format!("sqlite://{}?mode=rwc", data_dir.join("digisos.db").display());
    Service::start(data_dir, &database_url, &[], &data_dir.join("service.log"))
}

/// Runs `digisos demo --url <service> <args>` with nothing from the test's environment but PATH.
fn demo(service: &Service, args: &[&str]) -> Output {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(["demo", "--url", &service.base])
        .args(args)
        .output()
        .expect("run digisos demo")
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn service_log(data_dir: &Path) -> String {
    let mut log = String::new();
    if let Ok(mut file) = std::fs::File::open(data_dir.join("service.log")) {
        let _ = file.read_to_string(&mut log);
    }
    log.lines().rev().take(20).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
}

#[test]
fn the_demo_completes_every_step_and_shows_the_final_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(dir.path());
    let data_dir = dir.path().to_str().expect("a UTF-8 path");
    let output = demo(&service, &["--data-dir", data_dir]);
    let (stdout, stderr) = text(&output);
    assert!(
        output.status.success(),
        "the demo failed ({:?})\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- service log (tail)\n{}",
        output.status,
        service_log(dir.path())
    );
    for (i, (_, title)) in STEPS.iter().enumerate() {
        let heading = format!("[{}/{}] {title}", i + 1, STEPS.len());
        assert!(stdout.contains(&heading), "step {heading:?} is not shown:\n{stdout}");
    }
    for seen in [
        // After submission, both audiences see the søknad SENDT.
        "citizen sees:   status SENDT · NAV-kontor 0315",
        "Nav staff sees: status SENDT",
        "levertFagsystem = true",
        "citizen sees:   status MOTTATT",
        "status UNDER_BEHANDLING · NAV-kontor 0315 · sak \"Livsopphold\" UNDER_BEHANDLING",
        "Strømfaktura (For siste måned)",
        ": not sent yet",
        ": sent",
        "deliveries to the kommune: SOKNAD BEKREFTET, ETTERSENDELSE BEKREFTET",
        // The final statuses, as both see them.
        "citizen sees:   status FERDIGBEHANDLET · NAV-kontor 0315 · sak \"Livsopphold\" FERDIGBEHANDLET, vedtak INNVILGET",
        "Nav staff sees: status FERDIGBEHANDLET",
        "payments: 7500 kr UTBETALT",
        "the citizen downloads the vedtak letter",
        "Nav Kontaktsenter",
    ] {
        assert!(stdout.contains(seen), "{seen:?} is not in the output:\n{stdout}");
    }
    let last = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or_default();
    assert!(last.starts_with("Demo complete: søknad ") && last.contains(" is FERDIGBEHANDLET; "), "{last}");
    // Nine staff lookups (one after each step from the submission to the payment), all in the citizen's log.
    assert!(last.contains("; 9 staff lookup(s)"), "{last}");
    assert!(!stdout.contains(fiks_digisos::auth::token_cli::EXAMPLE_FNR), "the fødselsnummer is printed masked");
}

#[test]
fn the_demo_configures_a_kommune_that_is_not_configured() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(dir.path());
    let data_dir = dir.path().to_str().expect("a UTF-8 path");
    let output = demo(&service, &["--data-dir", data_dir, "--kommunenummer", "4601", "--enhet", "1201"]);
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "the demo failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(stdout.contains("kommune 4601 was not configured: configured it as admin"), "{stdout}");
    assert!(stdout.contains("status FERDIGBEHANDLET · NAV-kontor 1201"), "{stdout}");

    // A second run finds it configured and reads its mailbox from the configuration.
    let again = demo(&service, &["--data-dir", data_dir, "--kommunenummer", "4601", "--enhet", "1201"]);
    let (stdout, stderr) = text(&again);
    assert!(again.status.success(), "the second run failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    assert!(!stdout.contains("was not configured"), "{stdout}");
}

#[test]
fn without_tokens_the_demo_fails_naming_the_step_and_the_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(dir.path());
    let elsewhere = tempfile::tempdir().unwrap();
    let output = demo(&service, &["--data-dir", elsewhere.path().to_str().expect("a UTF-8 path")]);
    let (stdout, stderr) = text(&output);
    assert!(!output.status.success(), "the demo cannot succeed without tokens:\n{stdout}");
    assert!(stderr.contains("demo step 1/12 \"service\" failed"), "{stderr}");
    assert!(stderr.contains("there is no development issuer key"), "{stderr}");
    assert!(stderr.contains("--citizen-token"), "the remedy names the flags: {stderr}");
    assert!(!elsewhere.path().join("dev-issuer-key.pem").exists(), "the demo never creates a key of its own");
}
