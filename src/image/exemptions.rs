//! The compiled `exempt_images` list, indexed so that an image costs one hash look-up
//! plus a scan of the entries that have wildcards in their name.

use std::collections::HashMap;

use super::{ImagePattern, ImageRef};

#[derive(Debug, Default, Clone)]
pub struct ImageExemptions {
    /// Entries without wildcards in registry or path, keyed by `registry/repository`.
    by_name: HashMap<String, Vec<ImagePattern>>,
    /// Entries with a wildcard in the registry or path, tried in order.
    wildcard: Vec<ImagePattern>,
}

impl ImageExemptions {
    pub fn new(patterns: Vec<ImagePattern>) -> Self {
        let mut exemptions = ImageExemptions::default();
        for pattern in patterns {
            match pattern.literal_name() {
                Some(name) => exemptions.by_name.entry(name).or_default().push(pattern),
                None => exemptions.wildcard.push(pattern),
            }
        }
        exemptions
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty() && self.wildcard.is_empty()
    }

    /// The entry that exempts `image`, if any.
    pub fn find(&self, image: &ImageRef) -> Option<&ImagePattern> {
        self.by_name
            .get(image.name())
            .and_then(|entries| entries.iter().find(|entry| entry.rule_admits(image)))
            .or_else(|| self.wildcard.iter().find(|entry| entry.matches(image)))
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
    fn several_entries_for_one_repository_are_all_tried() {
        let ex = exemptions(&["nginx:1.26", "nginx:1.27"]);
        assert!(ex.find(&"nginx:1.27".parse().unwrap()).is_some());
        assert!(ex.find(&"nginx:1.25".parse().unwrap()).is_none());
    }
}
