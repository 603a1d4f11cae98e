//! The container inside a Fiks IO message: an ASiC-E (ETSI EN 319 162-1) zip signed with CAdES, as KS's
//! clients write it with difi's `asic` library (FIKS_IO.md §2, "Inside the container"):
//!
//! - `mimetype` first, stored uncompressed, holding `application/vnd.etsi.asic-e+zip`;
//! - the payload files, the first of them the root file;
//! - `META-INF/asicmanifest.xml`, naming every payload file with its SHA-256 digest;
//! - `META-INF/signature-<uuid>.p7s`, a detached CMS SignedData over the manifest (CAdES-BES: OpenSSL adds the
//!   signing-certificate-v2 attribute), with the signer's certificate.

use std::collections::HashSet;
use std::io::{Cursor, Write};

use base64::Engine;
use openssl::cms::{CMSOptions, CmsContentInfo};
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

/// The ASiC-E media type, the content of the `mimetype` entry.
pub const MIMETYPE: &str = "application/vnd.etsi.asic-e+zip";
/// The manifest's entry name (difi asic's `CadesAsicWriter`, KS's .NET client).
pub const MANIFEST: &str = "META-INF/asicmanifest.xml";
/// OpenSSL's flag for CAdES signed attributes (the signing-certificate-v2 attribute), `CMS_CADES` in `cms.h`;
/// the `openssl` crate does not name it.
const CMS_CADES: u32 = 0x10_0000;

/// One payload file of a container.
#[derive(Debug, Clone, Copy)]
pub struct Fil<'a> {
    /// The entry name.
    pub navn: &'a str,
    /// Its media type, written into the manifest.
    pub mimetype: &'a str,
    /// Its bytes.
    pub innhold: &'a [u8],
}

/// The key pair a container is signed with: the hub's Fiks IO signing certificate.
#[derive(Clone)]
pub struct Signerer {
    pub certificate: X509,
    pub key: PKey<Private>,
}

impl std::fmt::Debug for Signerer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signerer").field("subject", &self.certificate.subject_name()).finish_non_exhaustive()
    }
}

/// Why a container could not be written.
#[derive(Debug, thiserror::Error)]
pub enum AsiceFeil {
    #[error("two payload files are both called {0:?}")]
    DuplicateName(String),
    #[error("a payload file may not be called {0:?} (reserved by ASiC-E)")]
    ReservedName(String),
    #[error("the zip could not be written: {0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("the zip could not be written: {0}")]
    Io(#[from] std::io::Error),
    #[error("the manifest could not be signed: {0}")]
    Signature(#[from] openssl::error::ErrorStack),
}

/// The signed container of `filer` (the first is the root file).
pub fn skriv(filer: &[Fil<'_>], signerer: &Signerer) -> Result<Vec<u8>, AsiceFeil> {
    let mut seen = HashSet::new();
    for fil in filer {
        if fil.navn == "mimetype" || fil.navn.starts_with("META-INF/") {
            return Err(AsiceFeil::ReservedName(fil.navn.to_owned()));
        }
        if !seen.insert(fil.navn) {
            return Err(AsiceFeil::DuplicateName(fil.navn.to_owned()));
        }
    }
    let signature_name = format!("META-INF/signature-{}.p7s", Uuid::new_v4());
    let manifest = manifest(filer, &signature_name);
    let flags =
        CMSOptions::DETACHED | CMSOptions::BINARY | CMSOptions::NOSMIMECAP | CMSOptions::from_bits_retain(CMS_CADES);
    let signature =
        CmsContentInfo::sign(Some(&signerer.certificate), Some(&signerer.key), None, Some(&manifest), flags)?
            .to_der()?;

    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated).large_file(false);
    zip.start_file("mimetype", stored)?;
    zip.write_all(MIMETYPE.as_bytes())?;
    for fil in filer {
        zip.start_file(fil.navn, deflated)?;
        zip.write_all(fil.innhold)?;
    }
    zip.start_file(MANIFEST, deflated)?;
    zip.write_all(&manifest)?;
    zip.start_file(signature_name.as_str(), deflated)?;
    zip.write_all(&signature)?;
    Ok(zip.finish()?.into_inner())
}

/// The ASiC manifest (namespace of ETSI EN 319 162-1 v1.2.1, SHA-256 digests as xmlenc names them).
fn manifest(filer: &[Fil<'_>], signature_name: &str) -> Vec<u8> {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<asic:ASiCManifest \
         xmlns:asic=\"http://uri.etsi.org/02918/v1.2.1#\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\">\n",
    );
    xml.push_str(&format!(
        "  <asic:SigReference URI=\"{}\" MimeType=\"application/x-pkcs7-signature\"/>\n",
        escape(signature_name)
    ));
    for (i, fil) in filer.iter().enumerate() {
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(fil.innhold));
        let root = if i == 0 { " Rootfile=\"true\"" } else { "" };
        xml.push_str(&format!(
            "  <asic:DataObjectReference URI=\"{}\" MimeType=\"{}\"{root}>\n    <ds:DigestMethod \
             Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\n    <ds:DigestValue>{digest}</ds:DigestValue>\n  \
             </asic:DataObjectReference>\n",
            escape(fil.navn),
            escape(fil.mimetype)
        ));
    }
    xml.push_str("</asic:ASiCManifest>\n");
    xml.into_bytes()
}

/// `value` as XML attribute text.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn signerer() -> Signerer {
        let (certificate, key) =
            crate::kryptering::config::self_signed("fiks-digisos test signer", 2048, 1).expect("key pair");
        Signerer { certificate, key }
    }

    #[test]
    fn mimetype_comes_first_stored_and_without_extra_fields() {
        let filer = [Fil { navn: "a.json", mimetype: "application/json", innhold: b"{}" }];
        let bytes = skriv(&filer, &signerer()).expect("writes");
        // Local file header: signature, version, flags, method (0 = stored) at 8, name length at 26, extra
        // length at 28, name at 30.
        assert_eq!(&bytes[..4], b"PK\x03\x04");
        assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 0);
        assert_eq!(u16::from_le_bytes([bytes[26], bytes[27]]), 8);
        assert_eq!(u16::from_le_bytes([bytes[28], bytes[29]]), 0);
        assert_eq!(&bytes[30..38], b"mimetype");
        assert_eq!(&bytes[38..38 + MIMETYPE.len()], MIMETYPE.as_bytes());
    }

    #[test]
    fn the_manifest_names_each_file_with_its_digest_and_the_signature() {
        let filer = [
            Fil { navn: "meta.json", mimetype: "application/json", innhold: b"{\"a\":1}" },
            Fil { navn: "Søknad & vedlegg.pdf", mimetype: "application/pdf", innhold: b"%PDF-1.7" },
        ];
        let bytes = skriv(&filer, &signerer()).expect("writes");
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
        let names: Vec<String> = zip.file_names().map(|n| n.expect("a name").into_owned()).collect();
        let signature = names.iter().find(|n| n.starts_with("META-INF/signature-")).expect("a signature").clone();
        let mut manifest = String::new();
        zip.by_name(MANIFEST).expect("manifest").read_to_string(&mut manifest).expect("utf-8");
        assert!(manifest.contains(&format!("<asic:SigReference URI=\"{signature}\"")));
        assert!(manifest.contains("URI=\"meta.json\" MimeType=\"application/json\" Rootfile=\"true\""));
        assert!(manifest.contains("URI=\"Søknad &amp; vedlegg.pdf\" MimeType=\"application/pdf\">"));
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(b"%PDF-1.7"));
        assert!(manifest.contains(&format!("<ds:DigestValue>{digest}</ds:DigestValue>")));
        let mut pdf = Vec::new();
        zip.by_name("Søknad & vedlegg.pdf").expect("the pdf").read_to_end(&mut pdf).expect("reads");
        assert_eq!(pdf, b"%PDF-1.7");
    }

    #[test]
    fn duplicate_and_reserved_names_are_refused() {
        let a = Fil { navn: "a.pdf", mimetype: "application/pdf", innhold: b"1" };
        assert!(matches!(skriv(&[a, a], &signerer()), Err(AsiceFeil::DuplicateName(n)) if n == "a.pdf"));
        let m = Fil { navn: "META-INF/x", mimetype: "text/plain", innhold: b"1" };
        assert!(matches!(skriv(&[m], &signerer()), Err(AsiceFeil::ReservedName(_))));
    }
}
