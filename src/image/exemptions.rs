//! The `exempt_images` entries of one request, and the verdict on an image.

use std::cell::OnceCell;

use super::pattern::EntryRegistry;
use super::{ImagePattern, ImageRef, ImageRefError};
use crate::entries::{Entries, EntryError};

/// What an image written without a registry host means to the runtime, and so whether an
/// entry may exempt it (the `short_names` setting).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ShortNames {
    /// containerd's reading, on AKS, EKS and GKE: Docker Hub, so `nginx` is
    /// `docker.io/library/nginx` and matched as such.
    #[default]
    DockerHub,
    /// CRI-O's, with short-name aliases or more than one search registry in
    /// `registries.conf`: the runtime picks the registry, and whoever can push that name to
    /// an earlier one chooses what runs, so no entry vouches for a short name.
    NotExempt,
}

/// What an image, as written in the pod, was judged to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageVerdict<'e> {
    /// Exempt by the entry at `index` of the settings list, written as `entry`.
    Exempt {
        index: usize,
        entry: &'e str,
    },
    NotExempt,
    /// Written without a registry host, under `short_names: not-exempt`.
    ShortName,
    /// Not an image reference at all.
    Invalid(ImageRefError),
    /// Not UTF-8 text, so no image either; shown to the user as a missing image.
    NotText,
}

/// The entries, in the order the settings list them. An image is matched against them in
/// that order and exempted by the first that matches. An entry whose registry differs is
/// passed over on its text, unchecked ([`EntryRegistry`]); any other is checked before it
/// is matched, and if it is refused, the image is judged by nothing else.
#[derive(Debug, Clone)]
pub struct ImageExemptions<'s> {
    entries: Entries<'s, ImagePattern<'s>>,
    short_names: ShortNames,
    /// The registry of each entry, read from the texts when the first image is judged.
    registries: OnceCell<Vec<EntryRegistry>>,
}

impl<'s> ImageExemptions<'s> {
    pub fn new(entries: Entries<'s, ImagePattern<'s>>, short_names: ShortNames) -> Self {
        ImageExemptions {
            entries,
            short_names,
            registries: OnceCell::new(),
        }
    }

    pub fn entries(&self) -> &Entries<'s, ImagePattern<'s>> {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Judges the image written as `image` (the raw bytes of the pod's `image` field), or
    /// says which refused entry stood in the way.
    pub fn verdict(&self, image: &[u8]) -> Result<ImageVerdict<'_>, EntryError> {
        let Ok(text) = std::str::from_utf8(image) else {
            return Ok(ImageVerdict::NotText);
        };
        let parsed = match ImageRef::parse(text) {
            Ok(parsed) => parsed,
            Err(e) => return Ok(ImageVerdict::Invalid(e)),
        };
        if self.short_names == ShortNames::NotExempt && parsed.is_short_name() {
            return Ok(ImageVerdict::ShortName);
        }
        let registries = self.registries.get_or_init(|| {
            self.entries
                .texts()
                .map(|(_, entry)| EntryRegistry::of(entry))
                .collect()
        });
        for ((index, entry), registry) in self.entries.texts().zip(registries) {
            if !registry.could_match(entry, &parsed) {
                continue;
            }
            if let Some(checked) = self.entries.checked(index) {
                if checked?.matches(&parsed) {
                    return Ok(ImageVerdict::Exempt { index, entry });
                }
            }
        }
        Ok(ImageVerdict::NotExempt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exemptions(entries: &[&str]) -> ImageExemptions<'static> {
        ImageExemptions::new(Entries::of("exempt_images", entries), ShortNames::DockerHub)
    }

    /// Under `not-exempt`, no entry exempts an image written without a registry host, a
    /// short-name entry included; the same image written with its host is judged as before.
    #[test]
    fn short_names_are_not_exempt_when_the_runtime_picks_their_registry() {
        let entries = ["nginx", "docker.io/cilium/*", "quay.io/cilium/*"];
        let ex = ImageExemptions::new(
            Entries::of("exempt_images", &entries),
            ShortNames::NotExempt,
        );
        for image in [
            "nginx",
            "nginx:1.27",
            "library/nginx",
            "cilium/cilium:v1.15.1",
        ] {
            assert_eq!(
                ex.verdict(image.as_bytes()),
                Ok(ImageVerdict::ShortName),
                "{image}"
            );
            assert!(
                matches!(
                    exemptions(&entries).verdict(image.as_bytes()),
                    Ok(ImageVerdict::Exempt { .. })
                ),
                "{image}"
            );
        }
        for (image, index) in [
            ("docker.io/library/nginx:1.27", 0),
            ("docker.io/cilium/cilium:v1.15.1", 1),
            ("quay.io/cilium/cilium:v1.15.1", 2),
            ("index.docker.io/nginx", 0),
        ] {
            assert_eq!(
                ex.verdict(image.as_bytes()),
                Ok(ImageVerdict::Exempt {
                    index,
                    entry: entries[index]
                }),
                "{image}"
            );
        }
        // An image that is no reference stays invalid, whatever the setting.
        assert!(matches!(ex.verdict(b"NGINX"), Ok(ImageVerdict::Invalid(_))));
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
            Ok(ImageVerdict::Exempt { entry, .. }) => Some(entry.to_owned()),
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
            Ok(ImageVerdict::Exempt {
                index: 0,
                entry: "quay.io/cilium/*"
            })
        );
        assert_eq!(
            ex.verdict(b"nginx:1.27"),
            Ok(ImageVerdict::Exempt {
                index: 1,
                entry: "nginx:1.27"
            })
        );
        assert_eq!(ex.verdict(b"nginx:1.28"), Ok(ImageVerdict::NotExempt));
        assert!(matches!(
            ex.verdict(b"Bad Image"),
            Ok(ImageVerdict::Invalid(_))
        ));
    }

    #[test]
    fn bytes_that_are_not_text_are_no_image() {
        let ex = exemptions(&["nginx"]);
        assert_eq!(ex.verdict(b"nginx\xff"), Ok(ImageVerdict::NotText));
    }

    #[test]
    fn several_entries_for_one_repository_are_all_tried() {
        let ex = exemptions(&["nginx:1.26", "nginx:1.27"]);
        assert_eq!(
            ex.verdict(b"nginx:1.27"),
            Ok(ImageVerdict::Exempt {
                index: 1,
                entry: "nginx:1.27"
            })
        );
        assert_eq!(ex.verdict(b"nginx:1.25"), Ok(ImageVerdict::NotExempt));
    }

    /// An entry on another registry is passed over unchecked; one that could match is
    /// checked first, and if refused, the image is judged by nothing else, not even an
    /// entry after it that would exempt it.
    #[test]
    fn entries_are_checked_only_where_they_could_match() {
        let ex = exemptions(&["quay.io/Bad/Path", "docker.io/Bad/*", "nginx"]);
        let refused = ex.verdict(b"nginx").unwrap_err();
        assert_eq!((refused.key, refused.index), ("exempt_images", 1));
        assert_eq!(refused.entry, "docker.io/Bad/*");
        assert!(
            refused.problem.contains("invalid repository name"),
            "{}",
            refused.problem
        );
        assert_eq!(
            ex.verdict(b"ghcr.io/acme/agent"),
            Ok(ImageVerdict::NotExempt)
        );
    }

    /// References built from pieces that exercise the registry rules: Docker Hub written
    /// every way, hosts in other cases, ports, IPv6, `localhost`, and globs in the host.
    fn reference(wildcards: bool) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let registries = prop::sample::select(vec![
            "",
            "docker.io/",
            "index.docker.io/",
            "Docker.io/",
            "quay.io/",
            "QUAY.io/",
            "eu.gcr.io/",
            "localhost/",
            "localhost:5000/",
            "[fd00::1]:5000/",
            "registry.k8s.io/",
            "*.gcr.io/",
            "quay.*/",
            "registry.k8s.io:443/",
        ]);
        let paths = prop::sample::select(vec![
            "nginx",
            "library/nginx",
            "cilium/cilium",
            "cilium/*",
            "**",
            "acme/**/agent",
            "a.b/c",
        ]);
        let tags = prop::sample::select(vec!["", ":1.27", ":v1.*", ":latest"]);
        (registries, paths, tags).prop_filter_map("wildcards", move |(r, p, t)| {
            let text = format!("{r}{p}{t}");
            (wildcards || !text.contains('*')).then_some(text)
        })
    }

    proptest::proptest! {
        /// Checking entries only where they could match changes no verdict: with valid
        /// entries, the first entry that matches is the one the eager scan finds.
        #[test]
        fn checking_where_entries_could_match_changes_no_verdict(
            entries in proptest::collection::vec(reference(true), 1..6),
            image in reference(false),
        ) {
            let valid: Vec<&String> = entries
                .iter()
                .filter(|e| e.parse::<ImagePattern>().is_ok())
                .collect();
            let lazy = exemptions(&valid.iter().map(|e| e.as_str()).collect::<Vec<_>>());
            let Ok(parsed) = ImageRef::parse(&image) else {
                return Ok(());
            };
            let eager = valid
                .iter()
                .position(|e| e.parse::<ImagePattern>().is_ok_and(|p| p.matches(&parsed)))
                .map_or(ImageVerdict::NotExempt, |index| ImageVerdict::Exempt {
                    index,
                    entry: valid[index].as_str(),
                });
            proptest::prop_assert_eq!(lazy.verdict(image.as_bytes()), Ok(eager));
            for entry in &valid {
                if entry.parse::<ImagePattern>().is_ok_and(|p| p.matches(&parsed)) {
                    proptest::prop_assert!(
                        EntryRegistry::of(entry).could_match(entry, &parsed),
                        "{entry} {image}"
                    );
                }
            }
        }
    }
}
