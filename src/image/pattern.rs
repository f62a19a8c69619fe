//! Entries of `exempt_images`: a repository, a tag or a digest, possibly with `*` and `**`.

use std::fmt;
use std::str::FromStr;

use super::grammar::{self, GrammarError, Wildcards};
use super::ImageRef;
use crate::glob::Glob;

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
    #[error("is an image ID; the runtime runs whichever image on the node has that ID, so an entry names a repository instead, pinned by digest if need be (REPO@sha256:…)")]
    ImageId,
    #[error("is not a valid image reference or pattern: it {0}")]
    Invalid(#[from] GrammarError),
}

/// The registry of an entry: `*` matches within one DNS label of the host, never across a
/// dot or into the port, so `*.gcr.io` is `eu.gcr.io` and not `evil.eu.gcr.io`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RegistryPattern {
    /// As normalised by the grammar (lowercased); the index key of literal entries.
    source: String,
    labels: Vec<Glob>,
    port: Option<String>,
}

impl RegistryPattern {
    fn new(registry: &str) -> Self {
        let (host, port) = grammar::split_port(registry);
        RegistryPattern {
            source: registry.to_owned(),
            labels: host.split('.').map(Glob::new).collect(),
            port: port.map(str::to_owned),
        }
    }

    fn is_literal(&self) -> bool {
        self.labels.iter().all(Glob::is_literal)
    }

    fn matches(&self, registry: &str) -> bool {
        let (host, port) = grammar::split_port(registry);
        if port != self.port.as_deref() {
            return false;
        }
        let mut labels = host.split('.');
        self.labels
            .iter()
            .all(|glob| labels.next().is_some_and(|label| glob.matches(label)))
            && labels.next().is_none()
    }
}

/// One step of a repository path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PathSegment {
    /// One segment; `*` stays within it.
    One(Glob),
    /// `**`: any number of whole segments.
    AnyDepth,
}

/// What an entry demands of the tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReferenceRule {
    /// `REPO`: any tag or digest.
    Any,
    /// `REPO:TAG`: that tag and no digest. With `repo:tag@digest` the runtime pulls the
    /// digest, which the tag does not pin, so a tag entry must not vouch for it.
    Tag(Glob),
    /// `REPO@DIGEST`, with or without a tag: exactly that content.
    Digest(String),
}

/// A parsed `exempt_images` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImagePattern {
    source: String,
    registry: RegistryPattern,
    path: Vec<PathSegment>,
    rule: ReferenceRule,
}

impl ImagePattern {
    /// The entry as the administrator wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// `registry/repository` when neither contains a wildcard: such entries are indexed by
    /// it, so matching them is a hash look-up.
    pub(super) fn literal_name(&self) -> Option<String> {
        if !self.registry.is_literal() {
            return None;
        }
        let mut name = self.registry.source.clone();
        for segment in &self.path {
            match segment {
                PathSegment::One(glob) if glob.is_literal() => {
                    name.push('/');
                    name.push_str(glob.as_str());
                }
                _ => return None,
            }
        }
        Some(name)
    }

    pub fn matches(&self, image: &ImageRef) -> bool {
        self.registry.matches(image.registry())
            && path_matches(&self.path, image.repository())
            && self.rule_admits(image)
    }

    /// Whether the tag or digest rule holds; enough on its own for indexed entries.
    pub(super) fn rule_admits(&self, image: &ImageRef) -> bool {
        match &self.rule {
            ReferenceRule::Any => true,
            ReferenceRule::Tag(tag) => {
                image.digest().is_none() && image.tag().is_some_and(|t| tag.matches(t))
            }
            ReferenceRule::Digest(digest) => image.digest() == Some(digest.as_str()),
        }
    }
}

/// Whether the `/`-separated `repository` matches the path pattern.
fn path_matches(pattern: &[PathSegment], repository: &str) -> bool {
    if !pattern.contains(&PathSegment::AnyDepth) {
        // One segment per step, and no segment left over: no allocation on this path,
        // which every wildcard entry without `**` takes.
        let mut segments = repository.split('/');
        for step in pattern {
            match (step, segments.next()) {
                (PathSegment::One(glob), Some(segment)) if glob.matches(segment) => {}
                _ => return false,
            }
        }
        return segments.next().is_none();
    }
    let segments: Vec<&str> = repository.split('/').collect();
    // `reachable[j]`: the pattern steps seen so far can consume exactly the first j
    // segments. Quadratic at worst, never exponential, however many `**` an entry has.
    let mut reachable = vec![false; segments.len() + 1];
    if let Some(start) = reachable.first_mut() {
        *start = true;
    }
    for step in pattern {
        let mut next = vec![false; segments.len() + 1];
        match step {
            PathSegment::AnyDepth => {
                let mut seen = false;
                for (from, to) in reachable.iter().zip(next.iter_mut()) {
                    seen |= *from;
                    *to = seen;
                }
            }
            PathSegment::One(glob) => {
                for ((from, to), segment) in
                    reachable.iter().zip(next.iter_mut().skip(1)).zip(&segments)
                {
                    *to = *from && glob.matches(segment);
                }
            }
        }
        reachable = next;
    }
    reachable.last().copied().unwrap_or(false)
}

impl FromStr for ImagePattern {
    type Err = ImagePatternError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        if entry.is_empty() {
            return Err(ImagePatternError::Empty);
        }
        if entry.chars().all(|c| c == '*' || c == '/') {
            return Err(ImagePatternError::MatchesEverything);
        }
        let (name_and_tag, digest) = entry.split_once('@').unwrap_or((entry, ""));
        if digest.contains('*') {
            return Err(ImagePatternError::WildcardInDigest);
        }
        if name_and_tag
            .split('/')
            .any(|segment| segment != "**" && segment.contains("**"))
        {
            return Err(ImagePatternError::AnyDepthInsideSegment);
        }
        // `**` passes the grammar as two wildcard characters; a leading one is never a
        // registry (no dot, no port), so `**/agent` is `docker.io/**/agent`.
        if grammar::is_image_id(entry) {
            return Err(ImagePatternError::ImageId);
        }
        let parts = grammar::parse(entry, Wildcards::Allowed)?;
        let mut path = Vec::new();
        for segment in parts.repository.split('/') {
            if segment == "**" {
                // `**/**` means no more than `**`: keep one, so matching stays simple.
                if path.last() != Some(&PathSegment::AnyDepth) {
                    path.push(PathSegment::AnyDepth);
                }
            } else {
                path.push(PathSegment::One(Glob::new(segment)));
            }
        }
        let rule = match (parts.digest, parts.tag) {
            (Some(digest), _) => ReferenceRule::Digest(digest.to_owned()),
            (None, Some(tag)) if parts.tag_written => ReferenceRule::Tag(Glob::new(tag)),
            (None, _) => ReferenceRule::Any,
        };
        Ok(ImagePattern {
            source: entry.to_owned(),
            registry: RegistryPattern::new(&parts.registry),
            path,
            rule,
        })
    }
}

impl fmt::Display for ImagePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
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
        let image: ImageRef = image.parse().unwrap();
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
    #[case::double_star_inside_segment(
        "ghcr.io/acme/a**",
        ImagePatternError::AnyDepthInsideSegment
    )]
    fn refused_entries(#[case] entry: &str, #[case] error: ImagePatternError) {
        assert_eq!(entry.parse::<ImagePattern>(), Err(error));
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
