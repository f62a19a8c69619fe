//! Entries of `exempt_images`: a repository, a tag or a digest, possibly with `*` and `**`,
//! checked at most once per request and then matched against images as written, without
//! being compiled into anything: policy-server makes a fresh instance for every request, so
//! whatever an entry were compiled into would be built again for every request.
//!
//! Matching an image against an entry takes time linear in the two lengths: `*` is matched
//! by [`glob::matches`] (linear), and an entry has at most one `**`, whose segments before it
//! are matched from the front of the image's path and those after it from the back.

use std::borrow::Cow;
use std::ops::Range;
use std::str::FromStr;

use super::grammar::{self, GrammarError, Registry, Wildcards};
use super::ImageRef;
use crate::entries::Entry;
use crate::{ascii, glob};

/// Why an `exempt_images` entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImagePatternError {
    #[error("is empty")]
    Empty,
    #[error("matches every image; list the images to exempt instead")]
    MatchesEverything,
    #[error("has a '*' in its digest; a digest entry must name one exact digest")]
    WildcardInDigest,
    #[error(
        "has '**' inside a segment; '**' must be a whole path segment, as in 'ghcr.io/org/**'"
    )]
    AnyDepthInsideSegment,
    #[error("has more than one '**'; an entry may have one, which keeps matching linear in the length of the image")]
    SecondAnyDepth,
    #[error("is an image ID; the runtime runs whichever image on the node has that ID, so an entry names a repository instead, pinned by digest if need be (REPO@sha256:…)")]
    ImageId,
    #[error("is not a valid image reference or pattern: it {0}")]
    Invalid(#[from] GrammarError),
}

/// What an entry demands of the tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReferenceRule {
    /// `REPO`: any tag or digest.
    Any,
    /// `REPO:TAG`, the tag a glob: that tag and no digest. With `repo:tag@digest` the
    /// runtime pulls the digest, which the tag does not pin, so a tag entry must not vouch
    /// for it.
    Tag(Range<usize>),
    /// `REPO@DIGEST`, with or without a tag: exactly that content.
    Digest(Range<usize>),
}

/// A checked `exempt_images` entry: the text as the administrator wrote it, borrowed from
/// the settings where it can be, and where its parts lie in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePattern<'s> {
    source: Cow<'s, str>,
    /// The registry host (`None` for Docker Hub), lowercased once here when written with
    /// uppercase letters; where it lies in `source` otherwise.
    host: Option<Host>,
    /// A single path component on Docker Hub, which the runtime reads as `library/NAME`.
    official: bool,
    /// The repository path as written, without that `library/`.
    path: Range<usize>,
    /// Among the path segments (`library` counted), the position of the one `**`.
    any_depth: Option<usize>,
    /// How many path segments there are, `library` and `**` counted.
    segments: usize,
    rule: ReferenceRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Host {
    Written(Range<usize>),
    Lowercased(String),
}

impl<'s> ImagePattern<'s> {
    /// Checks an entry, keeping its text.
    pub fn new(source: Cow<'s, str>) -> Result<Self, ImagePatternError> {
        let entry: &str = &source;
        if entry.is_empty() {
            return Err(ImagePatternError::Empty);
        }
        if entry.bytes().all(|c| c == b'*' || c == b'/') {
            return Err(ImagePatternError::MatchesEverything);
        }
        if grammar::is_image_id(entry) {
            return Err(ImagePatternError::ImageId);
        }
        // `**` passes the grammar as two wildcard characters; a leading one is never a
        // registry (no dot, no port), so `**/agent` is `docker.io/**/agent`.
        let parts = match grammar::parse(entry, Wildcards::Allowed) {
            Ok(parts) => parts,
            // What is wrong with the wildcards says more than the grammar error they cause.
            Err(e) => return Err(wildcard_problem(entry).unwrap_or(ImagePatternError::Invalid(e))),
        };
        // Entries rarely have `**`: one scan rules it out.
        if entry.as_bytes().windows(2).any(|pair| pair == b"**") {
            if let Some(problem) = wildcard_problem(entry) {
                return Err(problem);
            }
        }
        let span = |part: &str| grammar::span_in(entry, part);
        let host = match (parts.registry, parts.host()) {
            (Registry::Host(written), Some(Cow::Borrowed(_))) => Some(Host::Written(span(written))),
            (_, Some(Cow::Owned(key))) => Some(Host::Lowercased(key)),
            _ => None,
        };
        let rule = match (parts.digest, parts.tag) {
            (Some(digest), _) => ReferenceRule::Digest(span(digest)),
            (None, Some(tag)) => ReferenceRule::Tag(span(tag)),
            (None, None) => ReferenceRule::Any,
        };
        let (mut any_depth, mut segments) = (None, 0);
        for (at, segment) in parts.segments().enumerate() {
            if segment == "**" {
                any_depth = Some(at);
            }
            segments = at + 1;
        }
        let (official, path) = (parts.official, span(parts.path));
        Ok(ImagePattern {
            host,
            official,
            path,
            any_depth,
            segments,
            rule,
            source,
        })
    }

    /// The entry as the administrator wrote it.
    #[cfg(any(test, feature = "test-support"))]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    fn text(&self, span: &Range<usize>) -> &str {
        self.source.get(span.clone()).unwrap_or_default()
    }

    /// The registry host in lowercase; `None` for Docker Hub.
    fn host(&self) -> Option<&str> {
        match &self.host {
            None => None,
            Some(Host::Written(span)) => Some(self.text(span)),
            Some(Host::Lowercased(host)) => Some(host),
        }
    }

    /// The path segments, `library` of official images first.
    fn segments(&self) -> impl DoubleEndedIterator<Item = &str> {
        grammar::path_segments(self.official, self.text(&self.path))
    }

    /// Whether this entry exempts the image.
    pub fn matches(&self, image: &ImageRef<'_>) -> bool {
        self.registry_admits(image) && self.path_admits(image) && self.rule_admits(image)
    }

    /// Whether the registries agree: Docker Hub with Docker Hub, a host with a host, label
    /// by label. A `*` stays within one label of the host and never reaches the port, so
    /// `*.gcr.io` is `eu.gcr.io`, not `evil.eu.gcr.io`, and `registry.example.c*` is not
    /// `registry.example.com:5000`.
    fn registry_admits(&self, image: &ImageRef<'_>) -> bool {
        match (self.host(), image.host()) {
            (None, None) => true,
            (Some(pattern), Some(host)) => host_matches(pattern, host),
            _ => false,
        }
    }

    fn path_admits(&self, image: &ImageRef<'_>) -> bool {
        let image_segments = image.segments();
        let count = image_segments.len();
        match self.any_depth {
            None => {
                count == self.segments
                    && self
                        .segments()
                        .zip(image_segments)
                        .all(|(pattern, segment)| glob::matches(pattern, segment))
            }
            // `**` stands for any number of whole segments, none included: the segments
            // before it match the front of the image's path, those after it the back.
            Some(before) => {
                let after = self.segments - before - 1;
                count >= before + after
                    && self
                        .segments()
                        .take(before)
                        .zip(image_segments)
                        .all(|(pattern, segment)| glob::matches(pattern, segment))
                    && self
                        .segments()
                        .rev()
                        .take(after)
                        .zip(image_segments.iter().rev())
                        .all(|(pattern, segment)| glob::matches(pattern, segment))
            }
        }
    }

    /// Whether the tag or digest rule holds.
    fn rule_admits(&self, image: &ImageRef<'_>) -> bool {
        match &self.rule {
            ReferenceRule::Any => true,
            ReferenceRule::Tag(tag) => {
                image.digest().is_none()
                    && image
                        .tag()
                        .is_some_and(|written| glob::matches(self.text(tag), written))
            }
            ReferenceRule::Digest(digest) => image.digest() == Some(self.text(digest)),
        }
    }
}

/// What is wrong with an entry's wildcards, if anything: a `*` in the digest, a `**` that is
/// not a whole path segment, or more than one `**`.
fn wildcard_problem(entry: &str) -> Option<ImagePatternError> {
    let (name_and_tag, digest) = ascii::split_once(entry, b'@').unwrap_or((entry, ""));
    if ascii::contains(digest, b'*') {
        return Some(ImagePatternError::WildcardInDigest);
    }
    let mut any_depths = 0;
    for segment in ascii::split(name_and_tag, b'/') {
        if segment == "**" {
            any_depths += 1;
        } else if segment.as_bytes().windows(2).any(|pair| pair == b"**") {
            return Some(ImagePatternError::AnyDepthInsideSegment);
        }
    }
    (any_depths > 1).then_some(ImagePatternError::SecondAnyDepth)
}

/// Whether a lowercase host pattern matches a lowercase `host[:port]`: the same port, and
/// the same number of labels, each matched by its glob. IPv6 addresses have no wildcards.
fn host_matches(pattern: &str, host: &str) -> bool {
    if glob::is_literal(pattern) {
        return pattern == host;
    }
    let (pattern_host, pattern_port) = grammar::split_port(pattern);
    let (image_host, image_port) = grammar::split_port(host);
    if pattern_port != image_port {
        return false;
    }
    let mut labels = ascii::split(image_host, b'.');
    ascii::split(pattern_host, b'.').all(|label_pattern| {
        labels
            .next()
            .is_some_and(|label| glob::matches(label_pattern, label))
    }) && labels.next().is_none()
}

/// The registry an entry names, read from its text without checking the entry: enough to
/// tell that an entry cannot exempt an image on another registry, so that it need not be
/// checked for that image. Read once per entry and request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryRegistry {
    DockerHub,
    /// A host without `*`, where it lies in the entry.
    Host(Range<usize>),
    /// A host with `*`: only the checked entry can tell.
    HostGlob,
}

impl EntryRegistry {
    /// The registry of the entry written as `entry`, as `grammar::registry_of` decides it.
    pub fn of(entry: &str) -> Self {
        match grammar::registry_of(entry) {
            Registry::DockerHub => EntryRegistry::DockerHub,
            Registry::Host(host) if glob::is_literal(host) => {
                EntryRegistry::Host(grammar::span_in(entry, host))
            }
            Registry::Host(_) => EntryRegistry::HostGlob,
        }
    }

    /// Whether the entry written as `entry`, whose registry this is, could exempt the
    /// image: `false` only when the entry, checked, would not match either, because the
    /// registries differ. [`ImagePattern::matches`] requires the same registry, and a host
    /// without `*` equal to the image's lowercase host once lowercased itself.
    pub fn could_match(&self, entry: &str, image: &ImageRef<'_>) -> bool {
        match (self, image.host()) {
            (EntryRegistry::DockerHub, None) => true,
            (EntryRegistry::Host(span), Some(image_host)) => entry
                .get(span.clone())
                .is_some_and(|host| grammar::has_host_key(host, image_host)),
            (EntryRegistry::HostGlob, Some(_)) => true,
            _ => false,
        }
    }
}

impl<'s> Entry<'s> for ImagePattern<'s> {
    fn check(text: Cow<'s, str>) -> Result<Self, String> {
        ImagePattern::new(text).map_err(|e| e.to_string())
    }
}

impl FromStr for ImagePattern<'static> {
    type Err = ImagePatternError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        ImagePattern::new(Cow::Owned(entry.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const OTHER_DIGEST: &str =
        "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

    fn matches(entry: &str, image: &str) -> bool {
        let pattern: ImagePattern = entry.parse().unwrap();
        let image = ImageRef::parse(image).unwrap();
        pattern.matches(&image)
    }

    #[rstest]
    #[case::repo_any_tag(
        "registry.k8s.io/kube-proxy",
        "registry.k8s.io/kube-proxy:v1.30.0",
        true
    )]
    #[case::repo_any_digest("registry.k8s.io/kube-proxy", &format!("registry.k8s.io/kube-proxy@{DIGEST}"), true)]
    #[case::repo_is_not_a_prefix_match(
        "registry.k8s.io/kube-proxy",
        "registry.k8s.io/kube-proxy-evil:v1",
        false
    )]
    #[case::repo_is_not_a_parent_match(
        "registry.k8s.io/kube-proxy",
        "registry.k8s.io/kube-proxy/evil:v1",
        false
    )]
    #[case::official_name_is_not_any_namespace("nginx", "docker.io/evil/nginx:latest", false)]
    #[case::official_name_matches_long_form("nginx", "docker.io/library/nginx:1.27", true)]
    #[case::long_form_matches_short_image("docker.io/library/nginx", "nginx", true)]
    #[case::other_registry_same_path("registry.k8s.io/kube-proxy", "evil.io/kube-proxy:v1", false)]
    #[case::registry_suffix_lookalike(
        "registry.k8s.io/kube-proxy",
        "registry.k8s.io.evil.com/kube-proxy",
        false
    )]
    #[case::registry_case_is_ignored(
        "registry.k8s.io/kube-proxy",
        "REGISTRY.k8s.io/kube-proxy:v1",
        true
    )]
    #[case::tag_exact(
        "quay.io/prometheus/node-exporter:v1.8.2",
        "quay.io/prometheus/node-exporter:v1.8.2",
        true
    )]
    #[case::tag_other(
        "quay.io/prometheus/node-exporter:v1.8.2",
        "quay.io/prometheus/node-exporter:v1.8.3",
        false
    )]
    #[case::tag_entry_refuses_digest_image(
        "quay.io/prometheus/node-exporter:v1.8.2",
        &format!("quay.io/prometheus/node-exporter:v1.8.2@{DIGEST}"),
        false
    )]
    #[case::untagged_image_is_latest("nginx:latest", "nginx", true)]
    #[case::untagged_image_is_not_other_tag("nginx:1.27", "nginx", false)]
    #[case::digest_exact(&format!("busybox@{DIGEST}"), &format!("busybox@{DIGEST}"), true)]
    #[case::digest_with_any_tag(&format!("busybox@{DIGEST}"), &format!("busybox:1.36@{DIGEST}"), true)]
    #[case::digest_other(&format!("busybox@{DIGEST}"), &format!("busybox@{OTHER_DIGEST}"), false)]
    #[case::digest_entry_refuses_tag_only(&format!("busybox@{DIGEST}"), "busybox:1.36", false)]
    #[case::digest_entry_with_tag(&format!("busybox:1.36@{DIGEST}"), &format!("busybox@{DIGEST}"), true)]
    #[case::glob_segment("docker.io/cilium/*", "cilium/cilium:v1.15", true)]
    #[case::glob_segment_does_not_cross_slash("docker.io/cilium/*", "docker.io/cilium/a/b", false)]
    #[case::glob_segment_is_not_a_namespace_prefix(
        "docker.io/cilium/*",
        "docker.io/cilium-evil/x",
        false
    )]
    #[case::glob_tag(
        "quay.io/prometheus/node-exporter:v1.8.*",
        "quay.io/prometheus/node-exporter:v1.8.2",
        true
    )]
    #[case::glob_tag_other_minor(
        "quay.io/prometheus/node-exporter:v1.8.*",
        "quay.io/prometheus/node-exporter:v1.9.0",
        false
    )]
    #[case::glob_tag_refuses_digest(
        "quay.io/prometheus/node-exporter:v1.8.*",
        &format!("quay.io/prometheus/node-exporter:v1.8.2@{DIGEST}"),
        false
    )]
    #[case::any_depth_one("ghcr.io/acme/**", "ghcr.io/acme/agent:1", true)]
    #[case::any_depth_many("ghcr.io/acme/**", "ghcr.io/acme/a/b/c:1", true)]
    #[case::any_depth_other_org("ghcr.io/acme/**", "ghcr.io/acme-evil/agent:1", false)]
    #[case::any_depth_in_the_middle("ghcr.io/**/agent", "ghcr.io/a/b/agent:1", true)]
    #[case::any_depth_in_the_middle_needs_the_end(
        "ghcr.io/**/agent",
        "ghcr.io/a/b/agent-evil:1",
        false
    )]
    #[case::registry_glob(
        "*.gcr.io/google-containers/pause",
        "eu.gcr.io/google-containers/pause:3.9",
        true
    )]
    #[case::leading_any_depth_is_docker_hub("**/agent", "docker.io/acme/agent", true)]
    #[case::leading_any_depth_is_only_docker_hub("**/agent", "quay.io/acme/agent", false)]
    #[case::registry_glob_stays_in_registry("*.gcr.io/pause", "eu.gcr.io/x/pause", false)]
    #[case::registry_glob_stays_in_one_label(
        "*.gcr.io/google-containers/pause",
        "evil.eu.gcr.io/google-containers/pause:3.9",
        false
    )]
    #[case::registry_glob_inside_a_label(
        "602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni",
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.18.0",
        true
    )]
    #[case::registry_glob_does_not_cross_dots(
        "602401143452.dkr.ecr.*.amazonaws.com/amazon-k8s-cni",
        "602401143452.dkr.ecr.evil.s3.amazonaws.com/amazon-k8s-cni:v1.18.0",
        false
    )]
    #[case::registry_glob_does_not_reach_the_port(
        "registry.example.c*/agent",
        "registry.example.com:5000/agent",
        false
    )]
    #[case::registry_port_must_be_the_same(
        "*.example.com:5000/agent",
        "eu.example.com:5001/agent",
        false
    )]
    #[case::registry_glob_with_port("*.example.com:5000/agent", "eu.example.com:5000/agent", true)]
    #[case::ipv6_registry(
        "[fd00::1]:5000/platform/agent",
        "[FD00::1]:5000/platform/agent:v1",
        true
    )]
    #[case::ipv6_registry_other_port(
        "[fd00::1]:5000/platform/agent",
        "[fd00::1]:5001/platform/agent:v1",
        false
    )]
    #[case::docker_hub_mixed_case_is_not_official(
        "docker.io/library/nginx",
        "Docker.io/nginx",
        false
    )]
    fn entry_matches_image(#[case] entry: &str, #[case] image: &str, #[case] expected: bool) {
        assert_eq!(matches(entry, image), expected, "{entry} ~ {image}");
    }

    #[rstest]
    #[case::empty("", ImagePatternError::Empty)]
    #[case::bare_star("*", ImagePatternError::MatchesEverything)]
    #[case::bare_double_star("**", ImagePatternError::MatchesEverything)]
    #[case::star_slash_star("**/*", ImagePatternError::MatchesEverything)]
    #[case::glob_in_digest("nginx@sha256:*", ImagePatternError::WildcardInDigest)]
    #[case::image_id(
        "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ImagePatternError::ImageId
    )]
    #[case::bare_hex_id(
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ImagePatternError::ImageId
    )]
    #[case::uppercase_digest(
        "busybox@sha256:0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF",
        ImagePatternError::Invalid(GrammarError::DigestCase)
    )]
    #[case::two_any_depths("ghcr.io/**/tools/**/agent", ImagePatternError::SecondAnyDepth)]
    #[case::double_star_inside_segment(
        "ghcr.io/acme/a**",
        ImagePatternError::AnyDepthInsideSegment
    )]
    fn refused_entries(#[case] entry: &str, #[case] error: ImagePatternError) {
        assert_eq!(entry.parse::<ImagePattern>().err(), Some(error));
    }

    #[rstest]
    #[case::uppercase_repository("docker.io/Library/nginx")]
    #[case::space("nginx latest")]
    #[case::bad_digest("nginx@sha256:abc")]
    #[case::double_colon("nginx::1")]
    fn invalid_entries_are_refused(#[case] entry: &str) {
        assert!(entry.parse::<ImagePattern>().is_err(), "{entry:?}");
    }
}
