//! The compiled `exempt_images` list, indexed so that an image costs one hash look-up
//! plus a scan of the entries that have wildcards in their name, and remembering each
//! verdict so that an image seen before costs one look-up in all.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};

use hashbrown::HashTable;

use crate::cache::same_bytes;

use super::{ImagePattern, ImageRef, ImageRefError};

/// How many verdicts are remembered before the memory starts over. A cluster runs far
/// fewer distinct images than this; the bound only keeps a flood of one-off names from
/// growing the instance's memory.
const REMEMBERED_IMAGES: usize = 8192;

/// What an image, as written in the pod, was judged to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judged {
    /// Exempt by the entry at this index of the settings list (see [`ImageExemptions::entry`]).
    Exempt(usize),
    NotExempt,
    /// Not an image reference at all.
    Invalid(ImageRefError),
    /// Not UTF-8 text, so no image either; shown to the user as a missing image.
    NotText,
}

#[derive(Debug, Default, Clone)]
pub struct ImageExemptions {
    patterns: Vec<ImagePattern>,
    /// Entries without wildcards in registry or path, by `registry/repository`.
    by_name: HashMap<String, Vec<usize>>,
    /// Entries with a wildcard in the registry or path, tried in order.
    wildcard: Vec<usize>,
    /// Verdicts by image bytes as written. Images repeat across requests (every replica,
    /// every rollout, every pod of a DaemonSet) and a policy instance serves many requests,
    /// so judging a pod of known images costs a hash look-up per container, without even
    /// checking the text for UTF-8 again. The verdict depends only on the bytes and these
    /// entries, so remembering it changes nothing.
    judged: RefCell<Remembered>,
}

/// Verdicts by image bytes. A `HashMap<Box<[u8]>, _>` compares keys with `memcmp`, a byte
/// loop on wasm32 that took as long as hashing; here keys are compared word by word.
/// The hash stays std's keyed SipHash: the images come from requests, so a hash an
/// attacker could collide would turn each look-up into a scan of every remembered image.
#[derive(Debug, Default, Clone)]
struct Remembered {
    hasher: RandomState,
    table: HashTable<(Box<[u8]>, Judged)>,
}

/// The keyed hash of an image. The bytes are written once, without the length prefix that
/// `hash_one(&[u8])` adds: SipHash already mixes the total length into its last block, and
/// the second write cost 1-2 % of judging a pod of 300 known images (make bench).
fn hash_image(hasher: &RandomState, image: &[u8]) -> u64 {
    let mut state = hasher.build_hasher();
    state.write(image);
    state.finish()
}

impl Remembered {
    fn get(&self, image: &[u8]) -> Option<&Judged> {
        let hash = hash_image(&self.hasher, image);
        self.table
            .find(hash, |(known, _)| same_bytes(known, image))
            .map(|(_, judged)| judged)
    }

    fn insert(&mut self, image: &[u8], judged: Judged) {
        if self.table.len() >= REMEMBERED_IMAGES {
            self.table.clear();
        }
        let hasher = &self.hasher;
        self.table.insert_unique(
            hash_image(hasher, image),
            (image.into(), judged),
            |(known, _)| hash_image(hasher, known),
        );
    }
}

impl ImageExemptions {
    pub fn new(patterns: Vec<ImagePattern>) -> Self {
        let mut exemptions = ImageExemptions::default();
        for (index, pattern) in patterns.iter().enumerate() {
            match pattern.literal_name() {
                Some(name) => exemptions.by_name.entry(name).or_default().push(index),
                None => exemptions.wildcard.push(index),
            }
        }
        exemptions.patterns = patterns;
        exemptions
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The entry at `index` of the settings list.
    pub fn entry(&self, index: usize) -> Option<&ImagePattern> {
        self.patterns.get(index)
    }

    /// Judges the image written as `image` (the raw bytes of the pod's `image` field).
    pub fn judge(&self, image: &[u8]) -> Judged {
        if let Some(known) = self
            .judged
            .try_borrow()
            .ok()
            .and_then(|judged| judged.get(image).cloned())
        {
            return known;
        }
        let judged = match std::str::from_utf8(image) {
            Err(_) => Judged::NotText,
            Ok(text) => match text.parse::<ImageRef>() {
                Ok(parsed) => self
                    .find_index(&parsed)
                    .map_or(Judged::NotExempt, Judged::Exempt),
                Err(e) => Judged::Invalid(e),
            },
        };
        if let Ok(mut memory) = self.judged.try_borrow_mut() {
            memory.insert(image, judged.clone());
        }
        judged
    }

    /// The entry that exempts a parsed image, if any.
    pub fn find(&self, image: &ImageRef) -> Option<&ImagePattern> {
        self.find_index(image)
            .and_then(|index| self.patterns.get(index))
    }

    fn find_index(&self, image: &ImageRef) -> Option<usize> {
        let entry = |index: &usize| self.patterns.get(*index).map(|p| (*index, p));
        self.by_name
            .get(image.name())
            .and_then(|indexed| {
                indexed
                    .iter()
                    .filter_map(entry)
                    .find(|(_, pattern)| pattern.rule_admits(image))
            })
            .or_else(|| {
                self.wildcard
                    .iter()
                    .filter_map(entry)
                    .find(|(_, pattern)| pattern.matches(image))
            })
            .map(|(index, _)| index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exemptions(entries: &[&str]) -> ImageExemptions {
        ImageExemptions::new(entries.iter().map(|e| e.parse().unwrap()).collect())
    }

    #[test]
    fn indexed_and_wildcard_entries_are_both_found() {
        let ex = exemptions(&[
            "nginx:1.27",
            "quay.io/cilium/*",
            "registry.k8s.io/kube-proxy",
        ]);
        let found = |image: &str| {
            ex.find(&image.parse().unwrap())
                .map(|p| p.as_str().to_owned())
        };
        assert_eq!(found("nginx:1.27").as_deref(), Some("nginx:1.27"));
        assert_eq!(
            found("quay.io/cilium/operator:v1").as_deref(),
            Some("quay.io/cilium/*")
        );
        assert_eq!(
            found("registry.k8s.io/kube-proxy:v1.30.0").as_deref(),
            Some("registry.k8s.io/kube-proxy")
        );
        assert_eq!(found("nginx:1.28"), None);
    }

    #[test]
    fn remembered_verdicts_match_fresh_ones() {
        let ex = exemptions(&["quay.io/cilium/*", "nginx:1.27"]);
        for image in [
            "quay.io/cilium/cilium:v1",
            "nginx:1.27",
            "nginx:1.28",
            "Bad Image",
        ] {
            let first = ex.judge(image.as_bytes());
            let again = ex.judge(image.as_bytes());
            assert_eq!(first, again, "{image}");
        }
        assert_eq!(ex.judge(b"quay.io/cilium/cilium:v1"), Judged::Exempt(0));
        assert_eq!(
            ex.entry(0).map(ImagePattern::as_str),
            Some("quay.io/cilium/*")
        );
        assert_eq!(ex.judge(b"nginx:1.28"), Judged::NotExempt);
        assert!(matches!(ex.judge(b"Bad Image"), Judged::Invalid(_)));
    }

    #[test]
    fn bytes_that_are_not_text_are_no_image() {
        let ex = exemptions(&["nginx"]);
        assert_eq!(ex.judge(b"nginx\xff"), Judged::NotText);
        assert_eq!(ex.judge(b"nginx\xff"), Judged::NotText);
    }

    #[test]
    fn verdicts_stay_right_when_the_memory_starts_over() {
        let ex = exemptions(&["registry.example/app*"]);
        for round in 0..2 {
            for i in 0..REMEMBERED_IMAGES + 10 {
                let image = format!("registry.example/app{i}:{round}");
                assert_eq!(ex.judge(image.as_bytes()), Judged::Exempt(0), "{image}");
            }
            assert_eq!(ex.judge(b"registry.example/other:1"), Judged::NotExempt);
        }
        let remembered = ex.judged.borrow().table.len();
        assert!(remembered <= REMEMBERED_IMAGES, "{remembered}");
    }

    #[test]
    fn several_entries_for_one_repository_are_all_tried() {
        let ex = exemptions(&["nginx:1.26", "nginx:1.27"]);
        assert!(ex.find(&"nginx:1.27".parse().unwrap()).is_some());
        assert!(ex.find(&"nginx:1.25".parse().unwrap()).is_none());
    }
}
