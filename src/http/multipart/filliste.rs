//! Matching the uploaded files of a søknad or an ettersendelse to the `filer` lists of their `vedlegg.json`.
//!
//! The real API matches by `filnavn` (DOMAIN.md C.3), and so does Nav's innsyn when it labels the files. The
//! rule here:
//! - every uploaded file must be listed: it takes the first listing of the same `filnavn` not yet taken (so
//!   files of the same name are matched in order);
//! - except the PDFs Nav generates besides the vedlegg, which `vedlegg.json` does not list: the first file of a
//!   søknad (the søknad PDF, whatever its name), and files named `Soknad.pdf`, `Soknad-juridisk.pdf`,
//!   `Brukerkvittering.pdf` or `ettersendelse.pdf`. Such a file still takes a listing of its name if there is one;
//! - every listed file must be uploaded: a `vedlegg.json` that names a file the request does not carry would
//!   describe documents the case does not have; in Nav's v2 flow the files not in the request are looked up in
//!   the mellomlagring of the same `navEksternRefId` instead ([`Filliste::untaken`], matched by the handler);
//! - a listing's `sha512` is checked against the bytes when it is a real SHA-512 (128 hex digits); Nav's own
//!   test files carry placeholders, which are let through.
//!
//! Problems never quote a file name: file names are personal data. They name the part and the JSON path.

use digisos_schema::events::Sha512;
use digisos_schema::vedlegg::JsonVedleggSpesifikasjon;

use crate::http::error::Problem;

/// The PDFs Nav generates and sends besides the listed vedlegg.
pub const GENERATED_PDFS: [&str; 4] =
    ["Soknad.pdf", "Soknad-juridisk.pdf", "Brukerkvittering.pdf", "ettersendelse.pdf"];

/// One file named in `vedlegg.json`.
#[derive(Debug)]
struct Listing {
    filnavn: String,
    sha512: Option<Sha512>,
    /// `$.vedlegg[i].filer[j]`.
    path: String,
    vedlegg_index: usize,
    taken: bool,
}

/// A file `vedlegg.json` lists that the request did not carry (a v2 request finds it in mellomlagring).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedFile {
    /// The listed name. Personal data.
    pub filnavn: String,
    /// The listed SHA-512, when it is a real one.
    pub sha512: Option<Sha512>,
    /// Where it is listed: `<part>: $.vedlegg[i].filer[j]`.
    pub path: String,
    /// The `vedlegg` entry it belongs to.
    pub vedlegg_index: usize,
}

/// The outcome of admitting one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Admitted {
    /// The SHA-512 the listing declares, when it is a real one.
    pub sha512: Option<Sha512>,
    /// Where that SHA-512 is written (`$.vedlegg[i].filer[j].sha512`), for the message when it does not match.
    pub sha512_path: Option<String>,
    /// The `vedlegg` entry the file belongs to; `None` for a generated PDF that is not listed.
    pub vedlegg_index: Option<usize>,
}

/// The files `vedlegg.json` lists, taken one by one as the uploads arrive.
#[derive(Debug)]
pub struct Filliste {
    part: String,
    listings: Vec<Listing>,
}

impl Filliste {
    /// The listings of a `vedlegg.json` that arrived in the part named `part`.
    pub fn new(part: &str, spec: &JsonVedleggSpesifikasjon) -> Self {
        let mut listings = Vec::new();
        for (i, vedlegg) in spec.vedlegg.iter().enumerate() {
            for (j, fil) in vedlegg.filer.iter().enumerate() {
                let Some(filnavn) = fil.filnavn.clone() else { continue };
                listings.push(Listing {
                    filnavn,
                    sha512: fil.sha512.as_deref().and_then(|s| Sha512::parse(s).ok()),
                    path: format!("$.vedlegg[{i}].filer[{j}]"),
                    vedlegg_index: i,
                    taken: false,
                });
            }
        }
        Filliste { part: part.to_owned(), listings }
    }

    /// Admits the file described by the metadata part `metadata_part`, or says why it is not listed.
    /// `generated` says that the file is the søknad PDF, which needs no listing whatever its name.
    pub fn admit(&mut self, metadata_part: &str, filnavn: &str, generated: bool) -> Result<Admitted, Problem> {
        if let Some(listing) = self.listings.iter_mut().find(|l| !l.taken && l.filnavn == filnavn) {
            listing.taken = true;
            return Ok(Admitted {
                sha512: listing.sha512.clone(),
                sha512_path: listing.sha512.as_ref().map(|_| format!("{}: {}.sha512", self.part, listing.path)),
                vedlegg_index: Some(listing.vedlegg_index),
            });
        }
        if generated || GENERATED_PDFS.contains(&filnavn) {
            return Ok(Admitted::default());
        }
        let listed = self.listings.iter().any(|l| l.filnavn == filnavn);
        let message = if listed {
            format!("the file is uploaded more times than {} lists it", self.part)
        } else {
            format!(
                "the file is not listed in {} ($.vedlegg[*].filer[*].filnavn); every file must be, except the \
                 søknad PDF and the generated {}",
                self.part,
                GENERATED_PDFS.join(", ")
            )
        };
        Err(Problem { path: format!("{metadata_part}: $.filnavn"), message })
    }

    /// The listed files no upload took, for a v2 request that takes them from mellomlagring.
    pub fn untaken(&self) -> Vec<ListedFile> {
        self.listings
            .iter()
            .filter(|l| !l.taken)
            .map(|l| ListedFile {
                filnavn: l.filnavn.clone(),
                sha512: l.sha512.clone(),
                path: format!("{}: {}", self.part, l.path),
                vedlegg_index: l.vedlegg_index,
            })
            .collect()
    }

    /// The listed files no upload took.
    pub fn not_uploaded(&self) -> Vec<Problem> {
        self.listings
            .iter()
            .filter(|l| !l.taken)
            .map(|l| Problem {
                path: format!("{}: {}.filnavn", self.part, l.path),
                message: "is listed, but no file of this name was uploaded".to_owned(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn liste(doc: serde_json::Value) -> Filliste {
        Filliste::new("vedleggJson", &serde_json::from_value(doc).expect("vedlegg.json"))
    }

    #[test]
    fn files_of_the_same_name_take_their_listings_in_order() {
        let sha = "a".repeat(128);
        let mut liste = liste(json!({"vedlegg": [
            {"filer": [{"filnavn": "a.pdf", "sha512": sha}]},
            {"filer": [{"filnavn": "a.pdf", "sha512": "placeholder"}]}
        ]}));
        let first = liste.admit("m:0", "a.pdf", false).expect("listed");
        assert_eq!(first.vedlegg_index, Some(0));
        assert_eq!(first.sha512_path.as_deref(), Some("vedleggJson: $.vedlegg[0].filer[0].sha512"));
        let second = liste.admit("m:1", "a.pdf", false).expect("listed twice");
        assert_eq!((second.vedlegg_index, second.sha512), (Some(1), None));
        let third = liste.admit("m:2", "a.pdf", false).expect_err("only listed twice");
        assert!(third.message.contains("more times"), "{third:?}");
        assert!(liste.not_uploaded().is_empty());
    }

    #[test]
    fn generated_pdfs_need_no_listing_but_other_files_do() {
        let mut liste = liste(json!({"vedlegg": [{"filer": [{"filnavn": "b.png"}]}]}));
        assert_eq!(liste.admit("m:0", "whatever.pdf", true), Ok(Admitted::default()));
        assert_eq!(liste.admit("m:1", "Brukerkvittering.pdf", false), Ok(Admitted::default()));
        let refused = liste.admit("m:2", "c.png", false).expect_err("not listed");
        assert_eq!(refused.path, "m:2: $.filnavn");
        assert!(!refused.message.contains("c.png"), "file names are personal data: {refused:?}");
        assert_eq!(liste.not_uploaded()[0].path, "vedleggJson: $.vedlegg[0].filer[0].filnavn");
    }
}
