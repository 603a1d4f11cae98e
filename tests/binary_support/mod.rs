//! The `digisos` binary as a child process, for the tests that break things on purpose (`crash.rs`,
//! `outage.rs`): start it with an environment, find the address it prints, wait until it is ready, kill it with
//! SIGKILL or stop it with SIGTERM, and mint tokens from the development key in its data folder.
//!
//! The child's stdout and stderr go to a log file in the test's folder (a pipe nobody reads would block the
//! service once full); a test that fails prints where that file is.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fiks_digisos::auth::dev_issuer::{DevIssuer, DevRole};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_digisos");

/// How long a test waits for the service to print its address or report ready (a guard against hanging).
pub const START_PATIENCE: Duration = Duration::from_secs(60);

/// A running service.
pub struct Service {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Where its output goes.
    pub log: PathBuf,
}

impl Service {
    /// Starts the binary in development mode with `data_dir`, `database_url` and `extra` settings, on a free
    /// port; returns once it has printed the address it listens on.
    pub fn start(data_dir: &Path, database_url: &str, extra: &[(&str, &str)], log: &Path) -> Service {
        let out = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("open the service log");
        let err = out.try_clone().expect("clone the log handle");
        let start_offset = out.metadata().map(|m| m.len()).unwrap_or(0);
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DIGISOS_DATA_DIR", data_dir)
            .env("DIGISOS_LISTEN", "127.0.0.1:0")
            .env("DIGISOS_DEV_MODE", "true")
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        for (name, value) in extra {
            cmd.env(name, value);
        }
        let mut child = cmd.spawn().expect("spawn digisos");
        let deadline = Instant::now() + START_PATIENCE;
        loop {
            let text = std::fs::read(log).unwrap_or_default();
            let text = String::from_utf8_lossy(&text[start_offset as usize..]).into_owned();
            if let Some(line) = text.lines().find(|l| l.starts_with("fiks-digisos listening on ")) {
                let base = line
                    .split_whitespace()
                    .find(|w| w.starts_with("http://"))
                    .unwrap_or_else(|| panic!("no address in the banner {line:?}"))
                    .to_owned();
                return Service { child, base, log: log.to_owned() };
            }
            if let Some(status) = child.try_wait().expect("wait on digisos") {
                panic!("digisos exited with {status} before listening; its output:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "digisos did not listen within {START_PATIENCE:?}; log {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap the process.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (at most 30 s) for the process to exit; returns whether it exited successfully.
    pub fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(sent.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait on digisos") {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("digisos did not stop within 30 s of SIGTERM; log {}", self.log.display());
    }

    /// Whether the process has exited (without reaping a live one).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// `GET /internal/isready`: status and body.
    pub async fn readiness(&self, client: &reqwest::Client) -> Option<(u16, serde_json::Value)> {
        let response = client.get(format!("{}/internal/isready", self.base)).send().await.ok()?;
        let status = response.status().as_u16();
        Some((status, response.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// Waits until `/internal/isready` answers 200; panics after `patience` with the last answer.
    pub async fn wait_ready(&self, client: &reqwest::Client, patience: Duration) {
        let deadline = Instant::now() + patience;
        let mut last = None;
        while Instant::now() < deadline {
            last = self.readiness(client).await;
            if matches!(last, Some((200, _))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("digisos not ready within {patience:?}: {last:?}; log {}", self.log.display());
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // A test that panics must not leave the service running.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Mints development tokens with the key in a data folder (the service in development mode trusts it).
pub struct Tokens(DevIssuer);

impl Tokens {
    /// Loads (or creates, before the service first starts) the development key of `data_dir`.
    pub fn new(data_dir: &Path) -> Tokens {
        Tokens(DevIssuer::load_or_create(data_dir).expect("the development key"))
    }

    /// A token for `role`, valid for an hour.
    pub fn mint(&self, role: DevRole) -> String {
        self.0.mint(&role, Duration::from_secs(3600)).expect("mint a development token")
    }

    /// A citizen's token.
    pub fn citizen(&self, fnr: &str) -> String {
        self.mint(DevRole::Citizen(fnr.parse().expect("a valid fødselsnummer")))
    }

    /// A fagsystem's token.
    pub fn fagsystem(&self, orgnr: &str) -> String {
        self.mint(DevRole::Fagsystem(orgnr.parse().expect("a valid orgnr")))
    }

    /// The administrator's token.
    pub fn admin(&self) -> String {
        self.mint(DevRole::Admin)
    }
}
