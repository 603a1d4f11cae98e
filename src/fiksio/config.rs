//! The settings of the Fiks IO channel. Without `DIGISOS_FIKS_IO_AMQP_URL` the channel is off: every delivery
//! waits in the REST mailbox, whatever a kommune's configuration names.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use uuid::Uuid;

use super::Kanal;
use super::asice::Signerer;
use crate::kryptering::config::{development_pair, read_pair};

/// The Fiks IO settings of `digisos serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct FiksIoConfig {
    /// The RabbitMQ broker the hub publishes Fiks IO messages to, e.g. `amqp://digisos:secret@mq:5672/%2f`
    /// (`amqps://` is not built in yet: run the hub beside the broker or behind a TLS tunnel). Unset: the
    /// channel is off.
    #[arg(long, env = "DIGISOS_FIKS_IO_AMQP_URL")]
    pub fiks_io_amqp_url: Option<String>,

    /// The hub's own Fiks IO account (`avsender-id` of every message, `mottakerKontoId` of every receipt).
    /// Required with the URL outside development mode; development mode keeps one in the data folder.
    #[arg(long, env = "DIGISOS_FIKS_IO_KONTO_ID")]
    pub fiks_io_konto_id: Option<Uuid>,

    /// PEM file with the certificate the hub signs each message's ASiC-E with (the virksomhetssertifikat).
    #[arg(long, env = "DIGISOS_FIKS_IO_SIGNING_CERT", requires = "fiks_io_signing_key")]
    pub fiks_io_signing_cert: Option<PathBuf>,

    /// PEM file with the signing certificate's private key.
    #[arg(long, env = "DIGISOS_FIKS_IO_SIGNING_KEY", requires = "fiks_io_signing_cert")]
    pub fiks_io_signing_key: Option<PathBuf>,

    /// A Fiks IO delivery without a `…mottatt.v1` receipt after this many seconds falls back to the mailbox; it
    /// is also the messages' TTL on the queue (`expiration`).
    #[arg(long, env = "DIGISOS_FIKS_IO_DEADLINE_SECS", default_value_t = 7200,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub fiks_io_deadline_secs: u64,
}

/// The development files below the data folder.
const DEV_FOLDER: &str = "fiksio";

impl FiksIoConfig {
    /// The channel, or `None` when it is off.
    pub fn open(&self, data_dir: &Path, dev_mode: bool) -> anyhow::Result<Option<Kanal>> {
        let Some(url) = self.fiks_io_amqp_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let folder = data_dir.join(DEV_FOLDER);
        let konto_id = match self.fiks_io_konto_id {
            Some(id) => id,
            None if dev_mode => development_konto(&folder)?,
            None => bail!("DIGISOS_FIKS_IO_KONTO_ID must name the hub's Fiks IO account when the channel is on"),
        };
        let (certificate, key) = match (&self.fiks_io_signing_cert, &self.fiks_io_signing_key) {
            (Some(cert), Some(key)) => read_pair(cert, key)?,
            _ if dev_mode => development_pair(&folder)?,
            _ => bail!(
                "DIGISOS_FIKS_IO_SIGNING_CERT and DIGISOS_FIKS_IO_SIGNING_KEY must name the certificate the hub signs \
                 Fiks IO messages with, and its key"
            ),
        };
        Ok(Some(Kanal::new(
            url.to_owned(),
            konto_id,
            Signerer { certificate, key },
            Duration::from_secs(self.fiks_io_deadline_secs),
        )))
    }
}

/// The development account id in `folder/konto-id`, created when it is not there yet.
fn development_konto(folder: &Path) -> anyhow::Result<Uuid> {
    let path = folder.join("konto-id");
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Uuid::parse_str(text.trim()).with_context(|| format!("{} does not hold a UUID", path.display()));
    }
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let id = Uuid::new_v4();
    std::fs::write(&path, id.to_string()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}
