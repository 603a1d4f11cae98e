//! Part names: what each name means in each kind of request, which file part a metadata part announces, and
//! how a part is named in a message.
//!
//! A v2 file part is named by its file name, and file names are personal data, so a message shows a part's
//! name only when it looks like one of the API's own names (a short identifier without a dot); otherwise it
//! names the part by its position.

use std::fmt;

/// Which request is being read; each accepts its own JSON parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new søknad: `tilleggsinformasjonJson`, `soknadJson`, `vedleggJson`, then files.
    Soknad,
    /// A v2 søknad: as [`Mode::Soknad`], its generated PDFs as `metadata` (or `metadata<i>`) followed by a part
    /// named by the file's name; the vedlegg its `vedleggJson` lists come from mellomlagring.
    SoknadV2,
    /// An ettersendelse: `vedlegg.json` (or `vedleggJson`), then files.
    Ettersendelse,
    /// A v2 ettersendelse: `vedlegg.json` alone (files, if any, as in v1); the listed files come from
    /// mellomlagring.
    EttersendelseV2,
    /// The fagsystem's files: metadata and file parts only, paired by order.
    Filer,
    /// One or more files into mellomlagring: `metadata`, then the file in a part of any name (`files` in Nav's
    /// current client, the file's own name in the earlier one).
    Mellomlagring,
}

impl Mode {
    /// Whether the request is a søknad (v1 or v2).
    pub fn is_soknad(self) -> bool {
        matches!(self, Mode::Soknad | Mode::SoknadV2)
    }

    /// Whether the request is an ettersendelse (v1 or v2).
    pub fn is_ettersendelse(self) -> bool {
        matches!(self, Mode::Ettersendelse | Mode::EttersendelseV2)
    }

    /// Whether the listed vedlegg may be in mellomlagring instead of the request (v2).
    pub fn takes_from_mellomlagring(self) -> bool {
        matches!(self, Mode::SoknadV2 | Mode::EttersendelseV2)
    }

    /// Whether files are matched to a `vedlegg.json`.
    pub fn has_filliste(self) -> bool {
        self.is_soknad() || self.is_ettersendelse()
    }
}

/// The JSON documents a request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonSlot {
    /// `tilleggsinformasjonJson`.
    Tilleggsinformasjon,
    /// `soknadJson`.
    Soknad,
    /// `vedleggJson` / `vedlegg.json`.
    Vedlegg,
}

impl JsonSlot {
    /// The name the real API gives the part.
    pub fn part_name(self, mode: Mode) -> &'static str {
        match (self, mode) {
            (JsonSlot::Tilleggsinformasjon, _) => "tilleggsinformasjonJson",
            (JsonSlot::Soknad, _) => "soknadJson",
            (JsonSlot::Vedlegg, Mode::Ettersendelse | Mode::EttersendelseV2) => "vedlegg.json",
            (JsonSlot::Vedlegg, _) => "vedleggJson",
        }
    }
}

/// Which part must follow a metadata part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilePart {
    /// Exactly this name (`dokument:<i>` after `vedleggSpesifikasjon:<i>` or `metadata:<i>`; `dokument` after
    /// `metadata`).
    Named(String),
    /// Any name that is not one of the API's own (v2 `metadata<i>` is followed by a part named by its file
    /// name; the fagsystem's clients pair by order whatever the names).
    Any,
}

/// What a part's name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartKind {
    /// One of the request's JSON documents.
    Json(JsonSlot),
    /// File metadata `{filnavn, mimetype, storrelse}`, announcing the file part that must follow.
    Metadata(FilePart),
    /// A file part `dokument:<i>` or `dokument`, which must follow its metadata part.
    Dokument,
    /// None of the API's names.
    Other,
}

/// What `name` means in a request of `mode`.
pub fn classify(mode: Mode, name: &str) -> PartKind {
    let json = match name {
        "tilleggsinformasjonJson" if mode.is_soknad() => Some(JsonSlot::Tilleggsinformasjon),
        "soknadJson" if mode.is_soknad() => Some(JsonSlot::Soknad),
        "vedleggJson" if mode.has_filliste() => Some(JsonSlot::Vedlegg),
        "vedlegg.json" if mode.is_ettersendelse() => Some(JsonSlot::Vedlegg),
        _ => None,
    };
    if let Some(slot) = json {
        return PartKind::Json(slot);
    }
    if name == "dokument" || indexed(name, "dokument:").is_some() {
        return PartKind::Dokument;
    }
    if name == "metadata" {
        // Nav's v2 søknad and its mellomlagring client name the file part after the file; KS's client (one file)
        // names it `dokument`.
        return match mode {
            Mode::SoknadV2 | Mode::Mellomlagring => PartKind::Metadata(FilePart::Any),
            _ => PartKind::Metadata(FilePart::Named("dokument".to_owned())),
        };
    }
    if let Some(i) = indexed(name, "vedleggSpesifikasjon:").or_else(|| indexed(name, "metadata:")) {
        return PartKind::Metadata(FilePart::Named(format!("dokument:{i}")));
    }
    if indexed(name, "metadata").is_some() {
        return PartKind::Metadata(FilePart::Any);
    }
    PartKind::Other
}

/// The metadata part that should have come before the file part `name` (for the message when it did not).
pub fn metadata_name_for(name: &str) -> String {
    match indexed(name, "dokument:") {
        Some(i) => format!("vedleggSpesifikasjon:{i}"),
        None => "metadata".to_owned(),
    }
}

/// The digits after `prefix`, when `name` is `prefix` followed by one or more ASCII digits.
fn indexed<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix).filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
}

/// A part as messages name it: by its name when that is safe to show, else by its position.
#[derive(Debug, Clone)]
pub struct PartRef {
    /// 1-based position in the body.
    pub position: usize,
    /// The part's name (`name=` of its `Content-Disposition`).
    pub name: String,
}

impl PartRef {
    /// Whether the name can be shown in a message: a short identifier of the API's kind, not a file name.
    fn name_is_showable(&self) -> bool {
        self.name.len() <= 40
            && !self.name.is_empty()
            && self.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'_' || b == b'-')
            || matches!(self.name.as_str(), "vedlegg.json")
    }
}

impl PartRef {
    /// The part's name when it can be shown, else `#<position>`: the prefix of a problem's path.
    pub fn label(&self) -> String {
        if self.name_is_showable() { self.name.clone() } else { format!("#{}", self.position) }
    }
}

impl fmt::Display for PartRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.name_is_showable() {
            write!(f, "part {}", self.name)
        } else {
            write!(f, "part #{} (its name is not shown; it may be a file name)", self.position)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_names_announce_their_file_part() {
        let named = |s: &str| PartKind::Metadata(FilePart::Named(s.to_owned()));
        assert_eq!(classify(Mode::Soknad, "vedleggSpesifikasjon:3"), named("dokument:3"));
        assert_eq!(classify(Mode::Filer, "metadata:0"), named("dokument:0"));
        assert_eq!(classify(Mode::Filer, "metadata"), named("dokument"));
        assert_eq!(classify(Mode::Soknad, "metadata1"), PartKind::Metadata(FilePart::Any));
        assert_eq!(classify(Mode::Soknad, "dokument:2"), PartKind::Dokument);
        assert_eq!(classify(Mode::Soknad, "vedleggSpesifikasjon:x"), PartKind::Other);
        assert_eq!(classify(Mode::Ettersendelse, "soknadJson"), PartKind::Other);
        assert_eq!(classify(Mode::Ettersendelse, "vedlegg.json"), PartKind::Json(JsonSlot::Vedlegg));
        assert_eq!(classify(Mode::Filer, "vedleggJson"), PartKind::Other);
        assert_eq!(classify(Mode::SoknadV2, "metadata"), PartKind::Metadata(FilePart::Any));
        assert_eq!(classify(Mode::Mellomlagring, "metadata"), PartKind::Metadata(FilePart::Any));
        assert_eq!(classify(Mode::Mellomlagring, "files"), PartKind::Other);
        assert_eq!(classify(Mode::SoknadV2, "soknadJson"), PartKind::Json(JsonSlot::Soknad));
        assert_eq!(classify(Mode::EttersendelseV2, "vedlegg.json"), PartKind::Json(JsonSlot::Vedlegg));
        assert_eq!(classify(Mode::Mellomlagring, "vedleggJson"), PartKind::Other);
    }

    #[test]
    fn file_like_names_are_not_shown() {
        let part = |name: &str| PartRef { position: 4, name: name.to_owned() }.to_string();
        assert_eq!(part("dokument:2"), "part dokument:2");
        assert_eq!(part("vedlegg.json"), "part vedlegg.json");
        assert!(part("Ola Nordmann lønn.pdf").starts_with("part #4"));
    }
}
