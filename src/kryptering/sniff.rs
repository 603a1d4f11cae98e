//! Telling a CMS EnvelopedData message from a plain file by its first bytes.
//!
//! A message is a DER `ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY }`
//! whose `contentType` is `id-envelopedData` (1.2.840.113549.1.7.3). Reading the SEQUENCE header and comparing
//! the OID's bytes is enough to decide; no plain PDF, image or office file starts this way, while a DER file of
//! another kind (a certificate, a signature) has another first element and stays a plain file.

/// `06 09 2A 86 48 86 F7 0D 01 07 03`: OBJECT IDENTIFIER 1.2.840.113549.1.7.3.
const ENVELOPED_DATA_OID: [u8; 11] = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03];

/// How many leading bytes [`is_enveloped_data`] needs at most.
pub const SNIFF_BYTES: usize = 2 + 4 + ENVELOPED_DATA_OID.len();

/// Whether `start` (the first bytes of a part, at least [`SNIFF_BYTES`] of them when the part is that long)
/// begins a DER `ContentInfo` of type EnvelopedData. BER's indefinite length (`0x80`) is taken too: some
/// streaming CMS writers use it.
pub fn is_enveloped_data(start: &[u8]) -> bool {
    let [0x30, first, rest @ ..] = start else { return false };
    let after_length = match *first {
        0x80 => rest,
        n if n < 0x80 => rest,
        n => {
            let count = usize::from(n & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return false;
            }
            &rest[count..]
        }
    };
    after_length.starts_with(&ENVELOPED_DATA_OID)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enveloped_data_headers_are_recognised_in_every_length_form() {
        let oid = ENVELOPED_DATA_OID;
        assert!(is_enveloped_data(&[&[0x30, 0x82, 0x01, 0x00][..], &oid].concat()));
        assert!(is_enveloped_data(&[&[0x30, 0x7f][..], &oid].concat()));
        assert!(is_enveloped_data(&[&[0x30, 0x80][..], &oid].concat()));
        assert!(is_enveloped_data(&[&[0x30, 0x84, 0, 0, 1, 0][..], &oid].concat()));
    }

    #[test]
    fn plain_files_and_other_der_are_not_messages() {
        assert!(!is_enveloped_data(b"%PDF-1.7\n"));
        assert!(!is_enveloped_data(&[0x89, b'P', b'N', b'G']));
        assert!(!is_enveloped_data(&[]));
        // A certificate: SEQUENCE { SEQUENCE { ... } }.
        assert!(!is_enveloped_data(&[0x30, 0x82, 0x03, 0x00, 0x30, 0x82, 0x02, 0x00, 0xa0, 0x03]));
        // SignedData (1.2.840.113549.1.7.2) is another type.
        let mut signed = ENVELOPED_DATA_OID;
        signed[10] = 0x02;
        assert!(!is_enveloped_data(&[&[0x30, 0x82, 0x01, 0x00][..], &signed].concat()));
        // A length of more than four bytes is no file this service takes.
        assert!(!is_enveloped_data(&[&[0x30, 0x85, 0, 0, 0, 1, 0][..], &ENVELOPED_DATA_OID].concat()));
    }
}
