//! The envelope of a Fiks IO message body: CMS EnvelopedData (RFC 5652) with AES-256-CBC content encryption
//! and RSAES-OAEP key transport (SHA-256, MGF1-SHA-256, empty label) to the receiving account's certificate,
//! as KS's clients write it (FIKS_IO.md §2, "Body encryption").
//!
//! OpenSSL does the cryptography. The `openssl` crate's safe `CmsContentInfo::encrypt` cannot choose the key
//! transport padding (it gives PKCS#1 v1.5), so this module makes the few OpenSSL 3 calls that do, in one
//! place: `CMS_encrypt` with `CMS_PARTIAL`, `CMS_add1_recipient_cert` with `CMS_KEY_PARAM`, the recipient's key
//! context set to OAEP, then `CMS_final`. Every pointer is checked and owned as documented by OpenSSL.

use std::ffi::{c_int, c_uint, c_void};
use std::ptr;

use foreign_types::{ForeignType, ForeignTypeRef};
use openssl::cms::CmsContentInfo;
use openssl::error::ErrorStack;
use openssl::x509::X509Ref;

/// OpenSSL's opaque recipient info.
#[repr(C)]
struct CmsRecipientInfo {
    _opaque: [u8; 0],
}

// Functions of libcrypto 3 (linked by openssl-sys) that openssl-sys does not declare.
unsafe extern "C" {
    fn CMS_add1_recipient_cert(
        cms: *mut openssl_sys::CMS_ContentInfo,
        recip: *mut openssl_sys::X509,
        flags: c_uint,
    ) -> *mut CmsRecipientInfo;
    fn CMS_RecipientInfo_get0_pkey_ctx(ri: *mut CmsRecipientInfo) -> *mut openssl_sys::EVP_PKEY_CTX;
    fn CMS_final(
        cms: *mut openssl_sys::CMS_ContentInfo,
        data: *mut openssl_sys::BIO,
        dcont: *mut openssl_sys::BIO,
        flags: c_uint,
    ) -> c_int;
    fn EVP_PKEY_CTX_set_rsa_oaep_md(ctx: *mut openssl_sys::EVP_PKEY_CTX, md: *const openssl_sys::EVP_MD) -> c_int;
}

/// `plaintext` as DER CMS EnvelopedData for the holder of `recipient`'s private key (an RSA certificate).
pub fn encrypt_oaep(recipient: &X509Ref, plaintext: &[u8]) -> Result<Vec<u8>, ErrorStack> {
    // Whatever an earlier call on this thread left in OpenSSL's error queue is not ours.
    drop(ErrorStack::get());
    let len = c_int::try_from(plaintext.len()).map_err(|_| ErrorStack::get())?;
    let flags = openssl_sys::CMS_BINARY | openssl_sys::CMS_PARTIAL;
    // SAFETY: every pointer comes from OpenSSL and is checked for null before use. `cms` is owned by the
    // `CmsContentInfo` wrapper from the moment it exists, so it is freed on every path; the recipient info and
    // its key context belong to `cms`; the memory BIO reads `plaintext`, which outlives it, and is freed here.
    unsafe {
        let cms = openssl_sys::CMS_encrypt(ptr::null_mut(), ptr::null_mut(), openssl_sys::EVP_aes_256_cbc(), flags);
        if cms.is_null() {
            return Err(ErrorStack::get());
        }
        let cms = CmsContentInfo::from_ptr(cms);
        let ri = CMS_add1_recipient_cert(cms.as_ptr(), recipient.as_ptr(), openssl_sys::CMS_KEY_PARAM);
        if ri.is_null() {
            return Err(ErrorStack::get());
        }
        let ctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
        if ctx.is_null()
            || openssl_sys::EVP_PKEY_CTX_set_rsa_padding(ctx, openssl_sys::RSA_PKCS1_OAEP_PADDING) <= 0
            || EVP_PKEY_CTX_set_rsa_oaep_md(ctx, openssl_sys::EVP_sha256()) <= 0
            || openssl_sys::EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, openssl_sys::EVP_sha256()) <= 0
        {
            return Err(ErrorStack::get());
        }
        let bio = openssl_sys::BIO_new_mem_buf(plaintext.as_ptr().cast::<c_void>(), len);
        if bio.is_null() {
            return Err(ErrorStack::get());
        }
        let done = CMS_final(cms.as_ptr(), bio, ptr::null_mut(), openssl_sys::CMS_BINARY);
        openssl_sys::BIO_free_all(bio);
        if done <= 0 {
            return Err(ErrorStack::get());
        }
        cms.to_der()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kryptering::Kryptering;

    #[test]
    fn the_hubs_own_key_ring_decrypts_what_encrypt_oaep_writes() {
        let ring = Kryptering::generated(true).expect("key ring");
        let certificate = openssl::x509::X509::from_der(ring.certificate_der()).expect("certificate");
        let message = encrypt_oaep(&certificate, b"the plaintext").expect("encrypts");
        assert!(crate::kryptering::is_enveloped_data(&message));
        assert_eq!(ring.decrypt(&message).expect("decrypts"), b"the plaintext");
    }

    #[test]
    fn the_key_transport_is_rsa_oaep_with_sha256() {
        let ring = Kryptering::generated(true).expect("key ring");
        let certificate = openssl::x509::X509::from_der(ring.certificate_der()).expect("certificate");
        let message = encrypt_oaep(&certificate, b"x").expect("encrypts");
        // id-RSAES-OAEP (1.2.840.113549.1.1.7), id-sha256 (2.16.840.1.101.3.4.2.1) and aes256-CBC
        // (2.16.840.1.101.3.4.1.42), as DER object identifiers.
        let oaep = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x07];
        let sha256 = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
        let aes256cbc = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
        for oid in [&oaep[..], &sha256[..], &aes256cbc[..]] {
            assert!(message.windows(oid.len()).any(|w| w == oid), "the message names {oid:02x?}");
        }
    }
}
