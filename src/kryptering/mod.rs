//! End-to-end encrypted uploads (DOMAIN.md A.1): every file Nav or a fagsystem sends may arrive as CMS
//! EnvelopedData (RFC 5652; AES-256-CBC content, RSAES-OAEP with SHA-256 and MGF1-SHA-256 key transport) for the
//! certificate the hub publishes at `GET /digisos/api/v1/dokumentlager-public-key`. The hub decrypts it with
//! OpenSSL's CMS implementation (the `openssl` crate; no cryptography of our own) and stores the plaintext.
//!
//! - [`Kryptering`] is the key ring: the current key pair (whose certificate is published) and, after a
//!   rotation, the previous ones until their grace period ends. The recipient info of a message names the
//!   certificate it was encrypted for, so each key is tried only where it matches.
//! - [`config`] reads the keys: PEM files from configuration, or in development mode a key pair created once in
//!   the data folder.
//! - [`sniff`] tells an encrypted part from a plain file by its first bytes (a DER `ContentInfo` whose type is
//!   `envelopedData`), so that a plain PDF is never mistaken for a message and the other way round.
//!
//! Outside development mode an unencrypted file part is refused (configurable), as Fiks refuses them; in
//! development mode both are taken, so a developer can send a file with curl.

pub mod config;
mod sniff;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use openssl::cms::CmsContentInfo;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

pub use config::KrypteringConfig;
pub use sniff::{SNIFF_BYTES, is_enveloped_data};

/// The largest CMS overhead a file of `limit` bytes may carry on top of its plaintext: the recipient infos (one
/// wrapped key per recipient), the algorithm parameters, the padding, the headers, and for a streamed (BER)
/// message the headers of its content chunks (BouncyCastle writes 1000-byte chunks: about 0.4 %).
pub fn cms_overhead(limit: u64) -> u64 {
    limit / 200 + 64 * 1024
}

/// How many bytes of encrypted parts the whole process holds at once while it decrypts them (OpenSSL decrypts a
/// message in one piece, with a few copies of it): a part waits for its share before it is read, so many
/// concurrent uploads cannot exhaust memory.
pub const DECRYPTION_BUDGET_BYTES: u64 = 128 * 1024 * 1024;

/// One key pair of the ring.
struct Nokkel {
    certificate: X509,
    key: PKey<Private>,
    /// For a rotated-out key: it decrypts until then. `None` for the current key.
    until: Option<DateTime<Utc>>,
}

struct Inner {
    /// The current key first, then rotated-out keys.
    keys: Vec<Nokkel>,
    /// The current certificate as DER, as published.
    certificate_der: Vec<u8>,
    /// Whether an unencrypted file part is refused.
    require_encrypted: bool,
    /// [`DECRYPTION_BUDGET_BYTES`] in KiB permits.
    budget: Arc<tokio::sync::Semaphore>,
}

/// The hub's decryption keys and the rule for plain files.
#[derive(Clone)]
pub struct Kryptering {
    inner: Arc<Inner>,
}

impl fmt::Debug for Kryptering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Kryptering")
            .field("keys", &self.inner.keys.len())
            .field("require_encrypted", &self.inner.require_encrypted)
            .finish_non_exhaustive()
    }
}

/// Why an encrypted part could not be read. The messages name no key material and no content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DekrypteringsFeil {
    /// No key of the ring is a recipient of the message (encrypted for another certificate, or for a key whose
    /// grace period has ended).
    #[error(
        "it is not encrypted for this service's certificate (fetch it from GET /digisos/api/v1/dokumentlager-public-key)"
    )]
    NoRecipient,
    /// A recipient matched, but the message does not decrypt (damaged, or not EnvelopedData after all).
    #[error("it is CMS EnvelopedData but does not decrypt: {0}")]
    Damaged(String),
}

impl Kryptering {
    /// A ring of `current` (published) and rotated-out keys with the ends of their grace periods.
    pub fn new(
        current: (X509, PKey<Private>),
        previous: Vec<(X509, PKey<Private>, DateTime<Utc>)>,
        require_encrypted: bool,
    ) -> anyhow::Result<Self> {
        let certificate_der = current.0.to_der()?;
        let mut keys = vec![Nokkel { certificate: current.0, key: current.1, until: None }];
        keys.extend(previous.into_iter().map(|(certificate, key, until)| Nokkel {
            certificate,
            key,
            until: Some(until),
        }));
        let budget = Arc::new(tokio::sync::Semaphore::new((DECRYPTION_BUDGET_BYTES / 1024) as usize));
        Ok(Self { inner: Arc::new(Inner { keys, certificate_der, require_encrypted, budget }) })
    }

    /// A ring of one fresh key pair kept in memory only (RSA 2048): for tests and tools that run the upload
    /// readers without a data folder.
    pub fn generated(require_encrypted: bool) -> anyhow::Result<Self> {
        let pair = config::self_signed("fiks-digisos ephemeral dokumentlager", 2048, 1)?;
        Self::new(pair, Vec::new(), require_encrypted)
    }

    /// The published certificate, DER-encoded (what `dokumentlager-public-key` answers).
    pub fn certificate_der(&self) -> &[u8] {
        &self.inner.certificate_der
    }

    /// Whether an unencrypted file part is refused.
    pub fn requires_encryption(&self) -> bool {
        self.inner.require_encrypted
    }

    /// Reserves room for an encrypted part of `bytes` in the process's decryption budget, waiting while other
    /// parts use it; the room is given back when the permit is dropped.
    pub async fn reserve(&self, bytes: u64) -> tokio::sync::OwnedSemaphorePermit {
        let kib = bytes.div_ceil(1024).clamp(1, DECRYPTION_BUDGET_BYTES / 1024) as u32;
        // The semaphore is never closed, so acquiring only waits.
        match self.inner.budget.clone().acquire_many_owned(kib).await {
            Ok(permit) => permit,
            Err(_) => unreachable!("the decryption budget is never closed"),
        }
    }

    /// [`Self::decrypt`] on a blocking thread (RSA and AES of a whole file are CPU work that must not hold up the
    /// request threads).
    pub async fn decrypt_blocking(&self, message: Vec<u8>) -> Result<Vec<u8>, DekrypteringsFeil> {
        let ring = self.clone();
        tokio::task::spawn_blocking(move || ring.decrypt(&message))
            .await
            .unwrap_or_else(|e| Err(DekrypteringsFeil::Damaged(format!("the decryption task failed: {e}"))))
    }

    /// The plaintext of a CMS EnvelopedData message (DER or BER) encrypted for one of the ring's live keys.
    pub fn decrypt(&self, message: &[u8]) -> Result<Vec<u8>, DekrypteringsFeil> {
        let now = Utc::now();
        let mut damaged = None;
        for nokkel in self.inner.keys.iter().filter(|k| k.until.is_none_or(|until| now < until)) {
            // Whatever an earlier OpenSSL call on this thread left in the error queue is not this message's.
            drop(openssl::error::ErrorStack::get());
            // Parsed anew for each key: OpenSSL's CMS_decrypt consumes the decrypted content key.
            let cms = CmsContentInfo::from_der(message).map_err(|e| DekrypteringsFeil::Damaged(reason(&e)))?;
            match cms.decrypt(&nokkel.key, &nokkel.certificate) {
                Ok(plaintext) => return Ok(plaintext),
                // A key the message names but that does not decrypt it: the message is damaged, whatever the
                // other keys say.
                Err(e) if !no_matching_recipient(&e) => damaged = Some(reason(&e)),
                Err(_) => {}
            }
        }
        Err(damaged.map_or(DekrypteringsFeil::NoRecipient, DekrypteringsFeil::Damaged))
    }
}

/// Whether OpenSSL found no recipient info for the certificate. OpenSSL 3's `CMS_decrypt` fails with an empty
/// error queue when recipient infos of the key's type exist but none names the certificate (it raises "no matching
/// recipient" only when none is of the key's type); a recipient that matched and failed always leaves a reason.
fn no_matching_recipient(stack: &openssl::error::ErrorStack) -> bool {
    stack.errors().is_empty()
        || stack.errors().iter().any(|e| e.reason().is_some_and(|r| r.contains("no matching recipient")))
}

/// OpenSSL's reasons, joined (library reasons only: they carry no content).
fn reason(stack: &openssl::error::ErrorStack) -> String {
    let reasons: Vec<&str> = stack.errors().iter().filter_map(|e| e.reason()).collect();
    if reasons.is_empty() { "unknown error".to_owned() } else { reasons.join("; ") }
}
