//! Where the decryption keys come from: PEM files named in configuration, or in development mode a key pair the
//! service creates once in its data folder (`dokumentlager/key.pem`, `dokumentlager/certificate.pem`).
//!
//! Rotation: publish a new certificate by configuring it as the current one and moving the old pair to the
//! `previous` settings with the end of its grace period. Senders that fetched the old certificate before the
//! switch keep being decrypted until then; after it their files are refused with a message that says to fetch
//! the certificate again.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509NameBuilder};

use super::Kryptering;

/// The key settings of `digisos serve`.
#[derive(Args, Clone, Debug, Default)]
pub struct KrypteringConfig {
    /// PEM file with the X.509 certificate senders encrypt files for (published at
    /// `/digisos/api/v1/dokumentlager-public-key`). Required outside development mode.
    #[arg(long, env = "DIGISOS_DOKUMENTLAGER_CERT")]
    pub dokumentlager_cert: Option<PathBuf>,

    /// PEM file with the certificate's private key (PKCS#8 or PKCS#1). Required outside development mode.
    #[arg(long, env = "DIGISOS_DOKUMENTLAGER_KEY")]
    pub dokumentlager_key: Option<PathBuf>,

    /// PEM file with a rotated-out certificate that still decrypts until `--dokumentlager-previous-until`.
    #[arg(long, env = "DIGISOS_DOKUMENTLAGER_PREVIOUS_CERT", requires_all = ["dokumentlager_previous_key", "dokumentlager_previous_until"])]
    pub dokumentlager_previous_cert: Option<PathBuf>,

    /// PEM file with the rotated-out certificate's private key.
    #[arg(long, env = "DIGISOS_DOKUMENTLAGER_PREVIOUS_KEY", requires = "dokumentlager_previous_cert")]
    pub dokumentlager_previous_key: Option<PathBuf>,

    /// The end of the rotated-out key's grace period (RFC 3339, e.g. `2027-01-31T00:00:00Z`).
    #[arg(long, env = "DIGISOS_DOKUMENTLAGER_PREVIOUS_UNTIL", requires = "dokumentlager_previous_cert")]
    pub dokumentlager_previous_until: Option<DateTime<Utc>>,

    /// Whether a file part that is not CMS EnvelopedData is refused (400). Default: refused outside development
    /// mode, taken in development mode.
    #[arg(long, env = "DIGISOS_REQUIRE_ENCRYPTED_FILES")]
    pub require_encrypted_files: Option<bool>,
}

/// The development key pair's folder below the data folder.
const DEV_FOLDER: &str = "dokumentlager";

impl KrypteringConfig {
    /// The key ring: the configured PEM files, or in development mode the data folder's pair (created on first
    /// start).
    pub fn open(&self, data_dir: &Path, dev_mode: bool) -> anyhow::Result<Kryptering> {
        let require = self.require_encrypted_files.unwrap_or(!dev_mode);
        let current = match (&self.dokumentlager_cert, &self.dokumentlager_key) {
            (Some(cert), Some(key)) => read_pair(cert, key)?,
            (None, None) if dev_mode => development_pair(&data_dir.join(DEV_FOLDER))?,
            (None, None) => bail!(
                "DIGISOS_DOKUMENTLAGER_CERT and DIGISOS_DOKUMENTLAGER_KEY must name the PEM files of the certificate \
                 senders encrypt files for, and its private key (development mode creates a pair by itself)"
            ),
            _ => bail!("DIGISOS_DOKUMENTLAGER_CERT and DIGISOS_DOKUMENTLAGER_KEY must be set together"),
        };
        let mut previous = Vec::new();
        if let (Some(cert), Some(key), Some(until)) =
            (&self.dokumentlager_previous_cert, &self.dokumentlager_previous_key, self.dokumentlager_previous_until)
        {
            let (cert, key) = read_pair(cert, key)?;
            previous.push((cert, key, until));
        }
        Kryptering::new(current, previous, require)
    }
}

/// Reads a certificate and its key, and checks that they belong together.
pub fn read_pair(cert: &Path, key_file: &Path) -> anyhow::Result<(X509, PKey<Private>)> {
    let cert_pem = std::fs::read(cert).with_context(|| format!("cannot read the certificate {}", cert.display()))?;
    let key_pem =
        std::fs::read(key_file).with_context(|| format!("cannot read the private key {}", key_file.display()))?;
    let certificate =
        X509::from_pem(&cert_pem).with_context(|| format!("{} is not a PEM X.509 certificate", cert.display()))?;
    let key = PKey::private_key_from_pem(&key_pem)
        .with_context(|| format!("{} is not a PEM private key", key_file.display()))?;
    if !certificate.public_key()?.public_eq(&key) {
        bail!("the private key {} does not belong to the certificate {}", key_file.display(), cert.display());
    }
    Ok((certificate, key))
}

/// The development pair in `folder`, created (RSA 2048, self-signed, ten years) when it is not there yet.
pub fn development_pair(folder: &Path) -> anyhow::Result<(X509, PKey<Private>)> {
    let cert_path = folder.join("certificate.pem");
    let key_path = folder.join("key.pem");
    if cert_path.exists() && key_path.exists() {
        return read_pair(&cert_path, &key_path);
    }
    std::fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    let (certificate, key) = self_signed("fiks-digisos development dokumentlager", 2048, 3650)?;
    write_private(&key_path, &key.private_key_to_pem_pkcs8()?)?;
    std::fs::write(&cert_path, certificate.to_pem()?)
        .with_context(|| format!("cannot write {}", cert_path.display()))?;
    tracing::info!(folder = %folder.display(), "created the development key pair for encrypted uploads");
    Ok((certificate, key))
}

/// A new RSA key of `bits` and a self-signed certificate for it, valid `days` from now.
pub fn self_signed(common_name: &str, bits: u32, days: u32) -> anyhow::Result<(X509, PKey<Private>)> {
    let key = PKey::from_rsa(Rsa::generate(bits)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", common_name)?;
    let name = name.build();
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    builder.set_pubkey(&key)?;
    let (not_before, not_after) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(days)?);
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.append_extension(BasicConstraints::new().build()?)?;
    builder.append_extension(KeyUsage::new().key_encipherment().data_encipherment().build()?)?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(&key, MessageDigest::sha256())?;
    Ok((builder.build(), key))
}

/// Writes a private key readable by the owner only.
fn write_private(path: &Path, pem: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(pem).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
