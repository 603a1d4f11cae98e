//! Encrypted files as a sender makes them, for the tests of encrypted uploads: CMS EnvelopedData (AES-256-CBC
//! content, RSAES-OAEP with SHA-256 and MGF1-SHA-256 key transport) written by the `openssl` command line, an
//! implementation independent of the service's own decryption code, in both encodings a sender uses:
//!
//! - [`Encoding::Der`]: definite lengths (`openssl cms -encrypt -binary … -outform DER`);
//! - [`Encoding::Streamed`]: BER with indefinite lengths, as a streaming encoder writes it (BouncyCastle's
//!   `CMSEnvelopedDataStreamGenerator`, which Nav uses; here `openssl cms -encrypt -stream`).
//!
//! Also: key pairs made with `openssl req` (a certificate of another service, or the keys of a rotation), the
//! hub's published certificate fetched over HTTP, a deterministic way to damage a message, and a restart of a
//! [`TestApp`] with another key ring (e.g. one that refuses plain files, as outside development mode).

use std::path::{Path, PathBuf};
use std::process::Command;

use fiks_digisos::http::multipart::UploadLimits;
use fiks_digisos::http::read_side::with_read_side;
use fiks_digisos::http::{AppState, HttpLimits};
use fiks_digisos::kryptering::Kryptering;

use super::{MAX_FILE_BYTES, PREFIX, TestApp};

/// The path of the hub's certificate, below [`PREFIX`].
pub const PUBLIC_KEY_PATH: &str = "/dokumentlager-public-key";

/// `OBJECT IDENTIFIER 1.2.840.113549.1.7.3` (id-envelopedData), DER.
pub const ENVELOPED_DATA_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03];
/// `OBJECT IDENTIFIER 1.2.840.113549.1.1.7` (id-RSAES-OAEP), DER.
pub const RSAES_OAEP_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07];
/// `OBJECT IDENTIFIER 2.16.840.1.101.3.4.1.42` (aes256-CBC), DER.
pub const AES_256_CBC_OID: [u8; 11] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
/// `OBJECT IDENTIFIER 2.16.840.1.101.3.4.2.1` (sha256), DER: the OAEP hash and MGF1's hash.
pub const SHA256_OID: [u8; 11] = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

/// How a message is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// DER: every length definite.
    Der,
    /// BER with indefinite lengths, as a streaming encoder writes it.
    Streamed,
}

/// A key pair in PEM files.
#[derive(Debug, Clone)]
pub struct KeyPair {
    /// The self-signed X.509 certificate, PEM.
    pub cert_pem: PathBuf,
    /// Its private key, PEM (PKCS#8, as `openssl req` writes it).
    pub key_pem: PathBuf,
}

impl KeyPair {
    /// The certificate, DER-encoded.
    pub fn cert_der(&self) -> Vec<u8> {
        let out = self.cert_pem.with_extension("der");
        openssl(&["x509", "-in", path(&self.cert_pem), "-outform", "DER", "-out", path(&out)]);
        std::fs::read(&out).expect("read the DER certificate")
    }
}

/// Runs `openssl` with `args`; panics with its output unless it succeeds.
pub fn openssl(args: &[&str]) -> Vec<u8> {
    let output = Command::new("openssl").args(args).output().expect("the openssl command line is installed");
    assert!(output.status.success(), "openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
    output.stdout
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temporary path")
}

/// A new RSA 2048 key and a self-signed certificate for it (`CN=<name>`), as `<name>.cert.pem` and
/// `<name>.key.pem` in `dir`.
pub fn key_pair(dir: &Path, name: &str) -> KeyPair {
    let cert_pem = dir.join(format!("{name}.cert.pem"));
    let key_pem = dir.join(format!("{name}.key.pem"));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        path(&key_pem),
        "-out",
        path(&cert_pem),
        "-days",
        "2",
        "-subj",
        &format!("/CN={name}"),
    ]);
    KeyPair { cert_pem, key_pem }
}

/// `plaintext` encrypted for the DER certificate `cert_der` (as the hub publishes it).
pub fn encrypt(cert_der: &[u8], plaintext: &[u8], encoding: Encoding) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let der = dir.path().join("recipient.der");
    let pem = dir.path().join("recipient.pem");
    std::fs::write(&der, cert_der).expect("write the certificate");
    openssl(&["x509", "-inform", "DER", "-in", path(&der), "-out", path(&pem)]);
    encrypt_for_pem(&pem, plaintext, encoding)
}

/// `plaintext` encrypted for the PEM certificate at `cert_pem`.
pub fn encrypt_for_pem(cert_pem: &Path, plaintext: &[u8], encoding: Encoding) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain");
    let enc = dir.path().join("enc");
    std::fs::write(&plain, plaintext).expect("write the plaintext");
    let mut args = vec!["cms", "-encrypt", "-binary"];
    if encoding == Encoding::Streamed {
        args.push("-stream");
    }
    args.extend([
        "-aes-256-cbc",
        "-recip",
        path(cert_pem),
        "-keyopt",
        "rsa_padding_mode:oaep",
        "-keyopt",
        "rsa_oaep_md:sha256",
        "-keyopt",
        "rsa_mgf1_md:sha256",
        "-outform",
        "DER",
        "-in",
        path(&plain),
        "-out",
        path(&enc),
    ]);
    openssl(&args);
    let message = std::fs::read(&enc).expect("read the message");
    // The message is what the tests claim it is: EnvelopedData, AES-256-CBC, RSAES-OAEP with SHA-256.
    let contains = |oid: &[u8]| message.windows(oid.len()).any(|w| w == oid);
    assert_eq!(message[0], 0x30, "a SEQUENCE");
    assert!(contains(&ENVELOPED_DATA_OID) && contains(&RSAES_OAEP_OID) && contains(&AES_256_CBC_OID));
    assert!(contains(&SHA256_OID), "OAEP with SHA-256");
    match encoding {
        Encoding::Der => assert_ne!(message[1], 0x80, "DER has definite lengths"),
        Encoding::Streamed => assert_eq!(message[1], 0x80, "the streamed form has an indefinite outer length"),
    }
    message
}

/// `message` (DER, of a plaintext of at least 16 bytes) with the last byte of its next-to-last ciphertext
/// block flipped: it still parses and names its recipient, but the last block's padding byte decrypts to
/// `p ^ 0xff` (above 16), so AES-CBC decryption fails, every time.
pub fn damage(message: &[u8]) -> Vec<u8> {
    assert_ne!(message[1], 0x80, "damage takes a DER message, whose encrypted content is at its end");
    let mut damaged = message.to_vec();
    let at = damaged.len() - 17;
    damaged[at] ^= 0xff;
    damaged
}

/// The hub's certificate as `GET /digisos/api/v1/dokumentlager-public-key` answers it (asserts 200).
pub async fn published_certificate(app: &TestApp) -> Vec<u8> {
    let url = format!("{}{PREFIX}{PUBLIC_KEY_PATH}", app.base);
    let response = app.client().get(url).send().await.expect("the app answers");
    assert_eq!(response.status().as_u16(), 200);
    response.bytes().await.expect("body").to_vec()
}

impl TestApp {
    /// Serves the same stores, issuer and read side again with `kryptering` in place of development mode's key
    /// pair, on a new port (`base` changes); the previous server stops.
    pub async fn restart_with_kryptering(&mut self, kryptering: Kryptering) {
        self.server.abort();
        let _ = (&mut self.server).await;
        let upload_limits = UploadLimits::default();
        let limits =
            HttpLimits { max_body_bytes: upload_limits.max_body_bytes(MAX_FILE_BYTES), ..HttpLimits::default() };
        let state = AppState {
            store: self.store.clone(),
            auth: self.auth.clone(),
            documents: self.documents.clone(),
            upload_limits,
            kryptering,
            fiks_io: None,
        };
        let app = with_read_side(fiks_digisos::app::app(state, &limits), self.read_side.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        self.base = format!("http://{}", listener.local_addr().expect("addr"));
        self.server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
    }
}
