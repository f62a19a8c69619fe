//! Image references, normalised the way the container runtime resolves them, so that two
//! spellings of one image can never be judged differently.

use std::borrow::Cow;
use std::fmt;

use super::grammar::{self, GrammarError, Parts, Registry, Wildcards};

/// Why an image string is not a reference the runtime could pull.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRefError {
    #[error("is not a valid image reference: it {0}")]
    Grammar(#[from] GrammarError),
    /// `sha256:…`, or bare hex: the runtime looks it up among the images already on the
    /// node, by ID or ID prefix, whatever repository they were pulled from.
    #[error("is an image ID, not an image reference: the container runtime runs whichever image on the node has that ID, pulled from any repository")]
    ImageId,
}

/// An image reference as the runtime resolves it, borrowed from the text: `nginx` is
/// `docker.io/library/nginx:latest`. Two spellings of one image compare equal.
#[derive(Debug, Clone)]
pub struct ImageRef<'a> {
    parts: Parts<'a>,
    /// The registry host in lowercase, for matching; empty for Docker Hub.
    host: Cow<'a, str>,
    /// The repository's path segments, `library` of official images first: split once,
    /// since an image is compared with every entry.
    segments: Vec<&'a str>,
}

impl<'a> ImageRef<'a> {
    /// Reads an image as the runtime would: an image ID, or text outside the grammar, is an
    /// error. Allocates only for a registry host written with uppercase letters.
    pub fn parse(image: &'a str) -> Result<Self, ImageRefError> {
        if grammar::is_image_id(image) {
            return Err(ImageRefError::ImageId);
        }
        let parts = grammar::parse(image, Wildcards::Refused)?;
        let host = parts.host().unwrap_or_default();
        Ok(ImageRef {
            segments: parts.segments().collect(),
            parts,
            host,
        })
    }

    /// The registry host in lowercase; `None` for Docker Hub.
    pub fn host(&self) -> Option<&str> {
        match self.parts.registry {
            Registry::DockerHub => None,
            Registry::Host(_) => Some(&self.host),
        }
    }

    /// Whether the image was written without a registry host (`nginx`, `cilium/cilium`).
    pub fn is_short_name(&self) -> bool {
        self.parts.short_name
    }

    /// The path segments, `library` of official images first.
    pub fn segments(&self) -> &[&'a str] {
        &self.segments
    }

    /// The registry as the runtime names it (`docker.io` for Docker Hub).
    pub fn registry(&self) -> Cow<'a, str> {
        self.parts.registry_name()
    }

    /// The repository as the runtime names it (`library/nginx` for `nginx`).
    pub fn repository(&self) -> Cow<'a, str> {
        self.parts.repository_name()
    }

    /// The tag the runtime pulls: `latest` when neither tag nor digest is written.
    pub fn tag(&self) -> Option<&'a str> {
        self.parts.effective_tag()
    }

    pub fn digest(&self) -> Option<&'a str> {
        self.parts.digest
    }
}

// Two spellings of one image compare equal when they agree on everything
// `ImagePattern::matches` reads: the host, the path segments, the tag and the digest. The
// properties hold the printed form to that, so the message's normalised image is the image
// the entries were matched against.
#[cfg(any(test, feature = "test-support"))]
impl PartialEq for ImageRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.host() == other.host()
            && self.segments() == other.segments()
            && self.tag() == other.tag()
            && self.digest() == other.digest()
    }
}

impl fmt::Display for ImageRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry(), self.repository())?;
        if let Some(tag) = self.tag() {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = self.digest() {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn image(s: &str) -> ImageRef<'_> {
        ImageRef::parse(s).unwrap()
    }

    #[rstest]
    #[case::official_image("nginx", "docker.io/library/nginx:latest")]
    #[case::user_image("user/app:1.0", "docker.io/user/app:1.0")]
    #[case::explicit_hub("docker.io/library/nginx:latest", "docker.io/library/nginx:latest")]
    #[case::legacy_hub("index.docker.io/nginx", "docker.io/library/nginx:latest")]
    #[case::registry_case(
        "Registry.K8s.IO/kube-proxy:v1.30.0",
        "registry.k8s.io/kube-proxy:v1.30.0"
    )]
    // distribution/reference rewrites Docker Hub names only on the lowercase host.
    #[case::hub_case_short_name("Docker.IO/nginx", "Docker.IO/nginx:latest")]
    #[case::legacy_hub_case("Index.Docker.io/nginx", "Index.Docker.io/nginx:latest")]
    #[case::ipv6_registry("[FD00::1]:5000/platform/agent:v1", "[fd00::1]:5000/platform/agent:v1")]
    #[case::registry_port("localhost:5000/app", "localhost:5000/app:latest")]
    #[case::digest_only(&format!("nginx@{DIGEST}"), &format!("docker.io/library/nginx@{DIGEST}"))]
    #[case::tag_and_digest(&format!("nginx:1.27@{DIGEST}"), &format!("docker.io/library/nginx:1.27@{DIGEST}"))]
    fn normalises_like_the_runtime(#[case] written: &str, #[case] normalised: &str) {
        assert_eq!(image(written).to_string(), normalised);
    }

    #[test]
    fn splits_registry_and_repository() {
        let image = image("quay.io/prometheus/node-exporter:v1.8.2");
        assert_eq!(image.registry(), "quay.io");
        assert_eq!(image.repository(), "prometheus/node-exporter");
        assert_eq!(image.tag(), Some("v1.8.2"));
        assert_eq!(image.digest(), None);
    }

    #[rstest]
    #[case::empty("")]
    #[case::uppercase_repository("NGINX")]
    #[case::space("nginx latest")]
    #[case::short_digest("nginx@sha256:abc")]
    #[case::trailing_colon("nginx:")]
    fn invalid_references_are_errors(#[case] written: &str) {
        assert!(ImageRef::parse(written).is_err(), "{written:?}");
    }

    #[rstest]
    #[case::full_id(&DIGEST.to_owned())]
    #[case::id_prefix("sha256:0123456789ab")]
    #[case::sha512_id("sha512:0123")]
    #[case::bare_full_id(&DIGEST["sha256:".len()..])]
    #[case::bare_id_prefix("0123456789ab")]
    #[case::bare_short_hex("cafe")]
    fn image_ids_are_not_references(#[case] written: &str) {
        assert_eq!(ImageRef::parse(written).err(), Some(ImageRefError::ImageId));
    }

    #[rstest]
    #[case::hex_with_tag("cafe:1.0")]
    #[case::hex_under_library("library/cafe")]
    #[case::hex_with_registry("docker.io/library/cafe")]
    #[case::not_only_hex("coffee")]
    #[case::hex_with_digest(&format!("cafe@{DIGEST}"))]
    fn names_that_only_look_like_ids_are_references(#[case] written: &str) {
        assert!(ImageRef::parse(written).is_ok(), "{written:?}");
    }
}
