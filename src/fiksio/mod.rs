//! Fiks IO: push delivery of søknader and ettersendelser to a kommune's fagsystem over AMQP (RabbitMQ), as
//! Fiks Digisos delivers them (FIKS_IO.md). A kommune whose configuration names a Fiks IO account
//! (`fiksIoKontoId` and its certificate) gets each delivery as a message on `fiksio.konto.<kontoId>`; its
//! fagsystem answers with `no.nav.digisos.soknad.mottatt.v1` (or `ettersendelse.mottatt.v1`) through
//! `POST /fiks-io/api/v1/send`, which confirms the delivery as the mailbox's `kvittering` does. A message not
//! answered by the deadline, or dead-lettered by the broker, falls back to the REST mailbox.
//!
//! - [`asice`]: the signed ASiC-E container; [`cms`]: its RSA-OAEP CMS envelope; [`melding`]: headers,
//!   properties, metadata and body of one message.
//! - [`utsending`]: the publisher, an outbox that follows the event log: a delivery is published after its
//!   events commit, with publisher confirms, from a checkpoint that moves only past confirmed messages (so a
//!   crash re-publishes, never loses). One instance publishes at a time (the projections' leader lock).
//!   Dead-lettered messages come back to the hub, which falls back to the mailbox.
//! - [`dokumentlager`]: bodies over 5 MB, kept in the document store and downloaded by the fagsystem.
//! - [`config`]: the settings. Without `DIGISOS_FIKS_IO_AMQP_URL` the channel is off.

pub mod asice;
pub mod cms;
pub mod config;
pub mod dokumentlager;
pub mod integrasjon;
pub mod melding;
pub mod utsending;

use std::sync::Arc;
use std::time::Duration;

use digisos_schema::events::{FiksIoSending, KommuneKonfigurasjon};
use uuid::Uuid;

pub use config::FiksIoConfig;

/// The queue dead-lettered messages of every account go to; the hub consumes it.
pub const DEAD_LETTER_QUEUE: &str = "fiksio.digisos.dodeletter";

/// How many failed deliveries of a message the broker allows before it dead-letters it (Fiks IO: 3).
pub const DELIVERY_ATTEMPTS: u32 = 3;

struct Inner {
    amqp_url: String,
    konto_id: Uuid,
    signerer: asice::Signerer,
    deadline: Duration,
}

/// The Fiks IO channel when it is on: the broker, the hub's account and signing key, the deadline.
#[derive(Clone)]
pub struct Kanal {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Kanal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kanal")
            .field("konto_id", &self.inner.konto_id)
            .field("deadline", &self.inner.deadline)
            .finish_non_exhaustive()
    }
}

impl Kanal {
    /// A channel to the broker at `amqp_url`, as account `konto_id`, signing with `signerer`.
    pub fn new(amqp_url: String, konto_id: Uuid, signerer: asice::Signerer, deadline: Duration) -> Self {
        Self { inner: Arc::new(Inner { amqp_url, konto_id, signerer, deadline }) }
    }

    /// The hub's own account.
    pub fn konto_id(&self) -> Uuid {
        self.inner.konto_id
    }

    /// The broker's URL (with its credentials: never log it).
    pub fn amqp_url(&self) -> &str {
        &self.inner.amqp_url
    }

    /// The signing key pair.
    pub fn signerer(&self) -> &asice::Signerer {
        &self.inner.signerer
    }

    /// How long a message waits for its receipt before the mailbox takes over; also its TTL on the queue.
    pub fn deadline(&self) -> Duration {
        self.inner.deadline
    }

    /// The Fiks IO message a new delivery to a kommune with `konfigurasjon` goes out as, with a new
    /// `melding-id`; `None` when the kommune receives in the mailbox.
    pub fn sending(&self, konfigurasjon: &KommuneKonfigurasjon) -> Option<FiksIoSending> {
        let konto_id = konfigurasjon.fiks_io_konto_id?;
        konfigurasjon.fiks_io_sertifikat.as_ref()?;
        Some(FiksIoSending { konto_id, melding_id: Uuid::new_v4() })
    }
}

/// [`Kanal::sending`] when the channel is on.
pub fn sending(kanal: Option<&Kanal>, konfigurasjon: &KommuneKonfigurasjon) -> Option<FiksIoSending> {
    kanal.and_then(|k| k.sending(konfigurasjon))
}
