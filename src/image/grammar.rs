//! The image reference grammar of `distribution/reference`, the one the container runtime
//! applies, read by hand in one left-to-right pass.
//!
//! Why not `oci_spec::distribution::Reference`: it matches a large regular expression,
//! which brings the `regex` crate and its Unicode tables into the wasm (policy.wasm went
//! from 1.46 MB with it to well under the 500 KB budget without it) and costs a regex
//! search per image on the request path. `oci-spec` stays the reference implementation:
//! the tests check that both agree on what is valid and how it is split.
//!
//! The same reader parses `exempt_images` entries with `*` allowed wherever a letter or
//! digit could stand, so entries and images obey one grammar and one set of Docker Hub
//! defaults.

const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
const DOCKER_HUB_OFFICIAL_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
/// `distribution/reference` limits the repository path to 255 characters.
const MAX_REPOSITORY_LEN: usize = 255;
/// A tag is one word character and up to 127 more.
const MAX_TAG_LEN: usize = 128;

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    #[error("is empty")]
    Empty,
    #[error("has an invalid repository name: path components are lowercase letters and digits, separated by '.', '_', '__' or dashes")]
    InvalidName,
    #[error("has a repository name longer than {MAX_REPOSITORY_LEN} characters")]
    NameTooLong,
    #[error("has an invalid tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")]
    InvalidTag,
    #[error("has an invalid digest: expected ALGORITHM:HEX, such as sha256: and 64 hex digits")]
    InvalidDigest,
    #[error("has a digest of the wrong length for its algorithm")]
    DigestLength,
    #[error("has an unsupported digest algorithm; sha256, sha384 and sha512 are supported")]
    DigestAlgorithm,
}

/// Whether `*` may stand where a letter or digit can: in entries, not in images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wildcards {
    Refused,
    Allowed,
}

impl Wildcards {
    fn alnum(self, c: u8, lower_only: bool) -> bool {
        let letter = if lower_only {
            c.is_ascii_lowercase()
        } else {
            c.is_ascii_alphabetic()
        };
        letter || c.is_ascii_digit() || (self == Wildcards::Allowed && c == b'*')
    }
}

/// A reference split into its parts, normalised the way the runtime resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parts<'s> {
    /// The registry host (and port), lowercased: hosts are case-insensitive.
    pub registry: String,
    pub repository: String,
    /// `latest` when neither tag nor digest is written, as the runtime assumes.
    pub tag: Option<&'s str>,
    /// Whether the tag was written, rather than assumed.
    pub tag_written: bool,
    pub digest: Option<&'s str>,
}

/// Parses `reference` as `[registry/]path[:tag][@digest]`.
pub fn parse(reference: &str, wildcards: Wildcards) -> Result<Parts<'_>, GrammarError> {
    if reference.is_empty() {
        return Err(GrammarError::Empty);
    }
    let (name_and_tag, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(check_digest(digest)?)),
        None => (reference, None),
    };
    // A colon after the last slash starts the tag; one before it is a registry port.
    let last_slash = name_and_tag.rfind('/').map_or(0, |at| at + 1);
    let (name, tag) = match name_and_tag
        .get(last_slash..)
        .and_then(|last| last.find(':'))
    {
        Some(colon) => {
            let at = last_slash + colon;
            let name = name_and_tag.get(..at).ok_or(GrammarError::InvalidName)?;
            let tag = name_and_tag.get(at + 1..).ok_or(GrammarError::InvalidTag)?;
            (name, Some(check_tag(tag, wildcards)?))
        }
        None => (name_and_tag, None),
    };
    let (registry, repository) = split_registry(name, wildcards)?;
    if repository.len() > MAX_REPOSITORY_LEN {
        return Err(GrammarError::NameTooLong);
    }
    let tag_written = tag.is_some();
    let tag = match (tag, digest) {
        (None, None) => Some(DEFAULT_TAG),
        (tag, _) => tag,
    };
    Ok(Parts {
        registry,
        repository,
        tag,
        tag_written,
        digest,
    })
}

/// Splits the name into registry and repository, applying Docker Hub's defaults.
///
/// The first component is a registry when it looks like a host (has a dot or a port, or
/// is `localhost`), as `distribution/reference` decides; otherwise the image is on Docker
/// Hub, and a single component is an official image under `library/`. The host is
/// lowercased before the Docker Hub check, so `Docker.io/nginx` is `library/nginx` too.
fn split_registry(name: &str, wildcards: Wildcards) -> Result<(String, String), GrammarError> {
    let (registry, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            // The grammar lets a first component be a host or a path component; either
            // way, a dot or a port makes it the registry.
            if !is_host(first, wildcards) && !is_path_component(first, wildcards) {
                return Err(GrammarError::InvalidName);
            }
            (first.to_ascii_lowercase(), rest)
        }
        _ => (DOCKER_HUB.to_owned(), name),
    };
    if !path.split('/').all(|c| is_path_component(c, wildcards)) {
        return Err(GrammarError::InvalidName);
    }
    let registry = if registry == DOCKER_HUB_LEGACY {
        DOCKER_HUB.to_owned()
    } else {
        registry
    };
    let repository = if registry == DOCKER_HUB && !path.contains('/') {
        format!("{DOCKER_HUB_OFFICIAL_NAMESPACE}/{path}")
    } else {
        path.to_owned()
    };
    Ok((registry, repository))
}

/// `label(.label)*(:port)?`, each label letters, digits and inner dashes.
fn is_host(host: &str, wildcards: Wildcards) -> bool {
    let (labels, port) = match host.split_once(':') {
        Some((labels, port)) => (labels, Some(port)),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    let label_ok = |label: &str| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(&first), Some(&last)) => {
                wildcards.alnum(first, false)
                    && wildcards.alnum(last, false)
                    && bytes
                        .iter()
                        .all(|&c| wildcards.alnum(c, false) || c == b'-')
            }
            _ => false,
        }
    };
    port_ok && labels.split('.').all(label_ok)
}

/// `[a-z0-9]+` runs joined by one separator each: `.`, `_`, `__`, or any run of `-`.
fn is_path_component(component: &str, wildcards: Wildcards) -> bool {
    let bytes = component.as_bytes();
    let mut i = 0;
    loop {
        // An alphanumeric run, at least one character.
        let start = i;
        while bytes.get(i).is_some_and(|&c| wildcards.alnum(c, true)) {
            i += 1;
        }
        if i == start {
            return false;
        }
        // A separator, or the end.
        match bytes.get(i) {
            None => return true,
            Some(b'.') => i += 1,
            Some(b'_') => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            Some(b'-') => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            Some(_) => return false,
        }
    }
}

fn check_tag(tag: &str, wildcards: Wildcards) -> Result<&str, GrammarError> {
    let word = |c: u8| wildcards.alnum(c, false) || c == b'_';
    let bytes = tag.as_bytes();
    let valid = bytes.first().is_some_and(|&c| word(c))
        && bytes.len() <= MAX_TAG_LEN
        && bytes.iter().all(|&c| word(c) || c == b'.' || c == b'-');
    if valid {
        Ok(tag)
    } else {
        Err(GrammarError::InvalidTag)
    }
}

/// `algorithm:hex`, with the hex length the algorithm produces. Wildcards never apply:
/// a digest entry names one exact content.
fn check_digest(digest: &str) -> Result<&str, GrammarError> {
    let (algorithm, hex) = digest.split_once(':').ok_or(GrammarError::InvalidDigest)?;
    let algorithm_ok = algorithm.split(['-', '_', '+', '.']).all(|part| {
        let bytes = part.as_bytes();
        bytes.first().is_some_and(u8::is_ascii_alphabetic)
            && bytes.iter().all(u8::is_ascii_alphanumeric)
    });
    if !algorithm_ok || hex.len() < 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(GrammarError::InvalidDigest);
    }
    let expected = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return Err(GrammarError::DigestAlgorithm),
    };
    if hex.len() == expected {
        Ok(digest)
    } else {
        Err(GrammarError::DigestLength)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::distribution::Reference;
    use proptest::prelude::*;
    use rstest::rstest;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// What `oci-spec` makes of a reference, after the host lowercasing we add.
    fn oracle(reference: &str) -> Option<(String, String, Option<String>, Option<String>)> {
        let parsed = Reference::try_from(reference).ok()?;
        let mut registry = parsed.registry().to_ascii_lowercase();
        let mut repository = parsed.repository().to_owned();
        if registry == DOCKER_HUB_LEGACY {
            registry = DOCKER_HUB.to_owned();
        }
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        Some((
            registry,
            repository,
            parsed.tag().map(str::to_owned),
            parsed.digest().map(str::to_owned),
        ))
    }

    fn ours(reference: &str) -> Option<(String, String, Option<String>, Option<String>)> {
        let parts = parse(reference, Wildcards::Refused).ok()?;
        Some((
            parts.registry,
            parts.repository,
            parts.tag.map(str::to_owned),
            parts.digest.map(str::to_owned),
        ))
    }

    #[rstest]
    #[case("nginx")]
    #[case("nginx:1.27")]
    #[case("library/nginx")]
    #[case("docker.io/library/nginx:latest")]
    #[case("index.docker.io/nginx")]
    #[case("Registry.K8s.IO/kube-proxy:v1.30.0")]
    #[case("localhost/app")]
    #[case("localhost:5000/app:dev")]
    #[case("localhost:5000")]
    #[case("test.com:tag")]
    #[case("foo_bar.com:8080")]
    #[case("foo/foo_bar.com:8080")]
    #[case("a.b-c.d:443/x/y/z")]
    #[case("ghcr.io/a__b/c--d/e.f:V1_2-3")]
    #[case(&format!("nginx@{DIGEST}"))]
    #[case(&format!("quay.io/x/y:v1@{DIGEST}"))]
    #[case("nginx@sha512:0123")]
    #[case("nginx@md5:0123456789abcdef0123456789abcdef")]
    #[case("nginx:")]
    #[case(":tag")]
    #[case("/nginx")]
    #[case("nginx/")]
    #[case("a//b")]
    #[case("-a/b")]
    #[case("a-/b")]
    #[case("a___b")]
    #[case("a..b")]
    #[case("UPPER")]
    #[case("host.io:port/x")]
    #[case("nginx:.tag")]
    #[case("nginx:-tag")]
    #[case("nginx@@sha256:abc")]
    fn agrees_with_oci_spec(#[case] reference: &str) {
        assert_eq!(ours(reference), oracle(reference), "{reference:?}");
    }

    #[test]
    fn uppercase_docker_hub_namespace_is_refused_as_the_runtime_does() {
        // oci-spec takes `Foo` for a registry-less first component; the runtime refuses
        // an uppercase repository, and so do we, which can only deny, never exempt.
        assert!(oracle("Foo/bar").is_some());
        assert_eq!(ours("Foo/bar"), None);
    }

    #[test]
    fn wildcards_stand_where_letters_can() {
        let parts = parse("*.gcr.io/team-*/**:v1.*", Wildcards::Allowed).unwrap();
        assert_eq!(parts.registry, "*.gcr.io");
        assert_eq!(parts.repository, "team-*/**");
        assert_eq!(parts.tag, Some("v1.*"));
        assert!(parts.tag_written);
        assert!(parse("team-*/x", Wildcards::Refused).is_err());
    }

    /// Both parsers agree, except that we also refuse an uppercase Docker Hub path, as the
    /// runtime does.
    fn agrees(reference: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let ours = ours(reference);
        let oracle = oracle(reference);
        if let (None, Some((_, repository, _, _))) = (&ours, &oracle) {
            prop_assert!(
                repository.chars().any(|c| c.is_ascii_uppercase()),
                "{reference:?}"
            );
        } else {
            prop_assert_eq!(ours, oracle, "{:?}", reference);
        }
        Ok(())
    }

    proptest! {
        /// Over strings built from the characters the grammar cares about.
        #[test]
        fn agrees_with_oci_spec_on_generated_references(
            reference in "[a-zA-Z0-9._:/@-]{0,40}"
        ) {
            agrees(&reference)?;
        }

        #[test]
        fn agrees_with_oci_spec_on_plausible_references(
            registry in prop::option::of("[a-zA-Z0-9]{1,5}(\\.[a-z0-9-]{1,4}){0,2}(:[0-9]{1,4})?"),
            path in "[a-z0-9]{1,4}([._-]{1,2}[a-z0-9]{1,3}){0,2}(/[a-z0-9]{1,4}){0,2}",
            tag in prop::option::of("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,8}"),
            digest in prop::option::of("sha256:[0-9a-f]{64}"),
        ) {
            let mut reference = registry.map(|r| format!("{r}/")).unwrap_or_default();
            reference.push_str(&path);
            if let Some(tag) = tag { reference.push(':'); reference.push_str(&tag); }
            if let Some(digest) = digest { reference.push('@'); reference.push_str(&digest); }
            agrees(&reference)?;
        }
    }
}
