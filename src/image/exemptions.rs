//! The `exempt_images` entries of one request, and the verdict on an image.

use super::{ImagePattern, ImageRef, ImageRefError};

/// What an image, as written in the pod, was judged to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageVerdict {
    /// Exempt by the entry at this index of the settings list (see [`ImageExemptions::entry`]).
    Exempt(usize),
    NotExempt,
    /// Not an image reference at all.
    Invalid(ImageRefError),
    /// Not UTF-8 text, so no image either; shown to the user as a missing image.
    NotText,
}

/// The entries, in the order the settings list them. An image is matched against them in
/// that order and exempted by the first that matches; an entry whose registry differs is
/// passed over after comparing the hosts.
#[derive(Debug, Default, Clone)]
pub struct ImageExemptions<'s> {
    patterns: Vec<ImagePattern<'s>>,
}

impl<'s> ImageExemptions<'s> {
    pub fn new(patterns: Vec<ImagePattern<'s>>) -> Self {
        ImageExemptions { patterns }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The entry at `index` of the settings list.
    pub fn entry(&self, index: usize) -> Option<&ImagePattern<'s>> {
        self.patterns.get(index)
    }

    /// Judges the image written as `image` (the raw bytes of the pod's `image` field).
    pub fn verdict(&self, image: &[u8]) -> ImageVerdict {
        let Ok(text) = std::str::from_utf8(image) else {
            return ImageVerdict::NotText;
        };
        match ImageRef::parse(text) {
            Ok(parsed) => self
                .patterns
                .iter()
                .position(|pattern| pattern.matches(&parsed))
                .map_or(ImageVerdict::NotExempt, ImageVerdict::Exempt),
            Err(e) => ImageVerdict::Invalid(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exemptions(entries: &[&str]) -> ImageExemptions<'static> {
        ImageExemptions::new(entries.iter().map(|e| e.parse().unwrap()).collect())
    }

    #[test]
    fn the_first_entry_that_matches_is_named() {
        let ex = exemptions(&[
            "nginx:1.27",
            "quay.io/cilium/*",
            "registry.k8s.io/kube-proxy",
            "quay.io/cilium/cilium",
        ]);
        let found = |image: &str| match ex.verdict(image.as_bytes()) {
            ImageVerdict::Exempt(index) => ex.entry(index).map(|p| p.as_str().to_owned()),
            _ => None,
        };
        assert_eq!(found("nginx:1.27").as_deref(), Some("nginx:1.27"));
        assert_eq!(
            found("quay.io/cilium/cilium:v1").as_deref(),
            Some("quay.io/cilium/*")
        );
        assert_eq!(
            found("registry.k8s.io/kube-proxy:v1.30.0").as_deref(),
            Some("registry.k8s.io/kube-proxy")
        );
        assert_eq!(found("nginx:1.28"), None);
    }

    #[test]
    fn verdicts_name_the_entry_or_the_problem() {
        let ex = exemptions(&["quay.io/cilium/*", "nginx:1.27"]);
        assert_eq!(
            ex.verdict(b"quay.io/cilium/cilium:v1"),
            ImageVerdict::Exempt(0)
        );
        assert_eq!(
            ex.entry(0).map(ImagePattern::as_str),
            Some("quay.io/cilium/*")
        );
        assert_eq!(ex.verdict(b"nginx:1.27"), ImageVerdict::Exempt(1));
        assert_eq!(ex.verdict(b"nginx:1.28"), ImageVerdict::NotExempt);
        assert!(matches!(ex.verdict(b"Bad Image"), ImageVerdict::Invalid(_)));
    }

    #[test]
    fn bytes_that_are_not_text_are_no_image() {
        let ex = exemptions(&["nginx"]);
        assert_eq!(ex.verdict(b"nginx\xff"), ImageVerdict::NotText);
    }

    #[test]
    fn several_entries_for_one_repository_are_all_tried() {
        let ex = exemptions(&["nginx:1.26", "nginx:1.27"]);
        assert_eq!(ex.verdict(b"nginx:1.27"), ImageVerdict::Exempt(1));
        assert_eq!(ex.verdict(b"nginx:1.25"), ImageVerdict::NotExempt);
    }
}
