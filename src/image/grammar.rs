//! The image reference grammar of `distribution/reference`, the one the container runtime
//! applies, read by hand in one left-to-right pass.
//!
//! distribution's grammar ([`reference.go`, lines 4-26][grammar], with the expressions of
//! [`regexp.go`][regexp] and the Docker Hub rules of [`normalize.go`][normalize], all at
//! commit `0965666a6ade2e06035fe352e38344be1e68951a`), and where this reader differs:
//!
//! ```text
//! reference         := name [ ":" tag ] [ "@" digest ]
//! name              := [domain '/'] remote-name
//! domain            := host [':' port-number]
//! host              := domain-name | IPv4address | \[ IPv6address \]
//! domain-name       := domain-component ['.' domain-component]*
//! domain-component  := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number       := /[0-9]+/
//! path-component    := alpha-numeric [separator alpha-numeric]*
//! path              := path-component ['/' path-component]*
//! alpha-numeric     := /[a-z0-9]+/
//! separator         := /[_.]|__|[-]+/
//! tag               := /[\w][\w.-]{0,127}/
//! digest            := digest-algorithm ":" digest-hex
//! digest-algorithm  := component [ /[+.-_]/ component ]*, component := /[A-Za-z][A-Za-z0-9]*/
//! digest-hex        := /[0-9a-fA-F]{32,}/
//! identifier        := /[a-f0-9]{64}/
//! ```
//!
//! - **Where the domain ends** (`splitDockerDomain`): the first component is the domain when
//!   it is `localhost`, or has a `.` or a `:`, or has an uppercase letter. Otherwise the name
//!   is on Docker Hub, and a single component is `library/NAME`; `index.docker.io` is
//!   `docker.io`.
//! - *Differs, denies only:* a first component with an uppercase letter but no `.` or `:`
//!   (`Foo/bar`) is a domain to distribution; here it is a Docker Hub path, which no
//!   uppercase path is, so the reference is refused and no entry exempts it.
//! - *Differs, denies only:* a first component with a `.` or `:` that is not a valid `domain`
//!   (`a_b.gcr.io`: `_` is in no domain component) is refused. distribution then matches the
//!   whole name as a path with no domain at all, and containerd, which splits the name it
//!   gets back at the first `/`, pulls from the host `a_b.gcr.io` anyway; neither reading is
//!   one an entry could safely vouch for.
//! - *Differs, denies only:* hosts and repository paths longer than 255 characters, digests
//!   of other algorithms than sha256, sha384 and sha512 (go-digest knows no others), and
//!   digests in uppercase hex (go-digest refuses them) are refused; strings that are image
//!   IDs (`identifier`, `sha256:…`, or a prefix of one) are told apart by [`is_image_id`].
//! - **The policy's extension**, for `exempt_images` entries only ([`Wildcards::Allowed`]):
//!   `*` may stand wherever a letter or digit of a domain component, a path component or a
//!   tag could, and `**` (two of them, as a whole path segment) is read by the entry's own
//!   matching as any number of segments. A digest never has wildcards.
//!
//! Why not `oci_spec::distribution::Reference`: it matches a large regular expression,
//! which brings the `regex` crate and its Unicode tables into the wasm (about three times
//! the module's size; docs/performance.md has the figures) and costs a regex search per
//! image on the request path. `oci-spec` stays the reference implementation:
//! the tests check that both agree on what is valid and how it is split, except where
//! marked above.
//!
//! The same reader parses `exempt_images` entries, so entries and images obey one grammar
//! and one set of Docker Hub defaults.
//!
//! [grammar]: https://github.com/distribution/reference/blob/0965666a6ade2e06035fe352e38344be1e68951a/reference.go#L4-L26
//! [regexp]: https://github.com/distribution/reference/blob/0965666a6ade2e06035fe352e38344be1e68951a/regexp.go#L41-L108
//! [normalize]: https://github.com/distribution/reference/blob/0965666a6ade2e06035fe352e38344be1e68951a/normalize.go#L143-L191

use crate::ascii;
use std::borrow::Cow;

const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_LEGACY: &str = "index.docker.io";
const DOCKER_HUB_OFFICIAL_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
/// `RepositoryNameTotalLengthMax` of distribution's `reference.go` (line 62 at the commit
/// the module cites).
const MAX_REPOSITORY_LEN: usize = 255;
/// A DNS name has at most 253 characters; with a port, or an IPv6 address in brackets, a
/// registry host is well under this. Longer ones are refused before anything is compared.
const MAX_HOST_LEN: usize = 255;
/// A tag is one word character and up to 127 more.
const MAX_TAG_LEN: usize = 128;
/// The longest valid reference: host, repository, tag and a sha512 digest, each at its
/// limit. Anything longer is refused before it is read further.
pub const MAX_REFERENCE_LEN: usize =
    MAX_HOST_LEN + 1 + MAX_REPOSITORY_LEN + 1 + MAX_TAG_LEN + 1 + "sha512:".len() + 128;

/// Why a string is not an image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrammarError {
    #[error("is empty")]
    Empty,
    #[error("has an invalid repository name: path components are lowercase letters and digits, separated by '.', '_', '__' or dashes")]
    InvalidName,
    #[error("has an invalid registry host: its first component has a '.' or a ':', so the runtime pulls from it as a host, but a host is labels of letters, digits and inner '-', separated by '.', with an optional ':PORT'")]
    InvalidHost,
    #[error("has a repository name longer than {MAX_REPOSITORY_LEN} characters")]
    NameTooLong,
    #[error("has a registry host longer than {MAX_HOST_LEN} characters")]
    HostTooLong,
    #[error("is longer than {MAX_REFERENCE_LEN} characters, more than any valid reference")]
    TooLong,
    #[error("has an invalid tag: up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'")]
    InvalidTag,
    #[error("has an invalid digest: expected ALGORITHM:HEX, such as sha256: and 64 hex digits")]
    InvalidDigest,
    #[error("has uppercase hex digits in its digest; digests are written in lowercase")]
    DigestCase,
    #[error("has a digest of the wrong length for its algorithm")]
    DigestLength,
    #[error("has an unsupported digest algorithm; sha256, sha384 and sha512 are supported")]
    DigestAlgorithm,
}

/// Whether the container runtime takes `reference` for an image ID, or the prefix of one,
/// rather than for a repository to pull.
///
/// containerd's CRI looks `sha256:HEX` (any length of HEX) up among local image IDs, and
/// falls back to an ID-prefix look-up for a name it finds no local image for; CRI-O tries
/// a string of three or more characters as an ID prefix before anything else. Either way
/// the pod runs whatever image on the node has that ID, pulled by any earlier pod from any
/// repository, so a repository entry must never vouch for it. These are the forms:
/// `ALGORITHM:…` with a digest algorithm and no `/` or `@`, and bare lowercase hex.
pub fn is_image_id(reference: &str) -> bool {
    if ascii::contains(reference, b'/') || ascii::contains(reference, b'@') {
        return false;
    }
    match ascii::split_once(reference, b':') {
        Some((algorithm, _)) => matches!(algorithm, "sha256" | "sha384" | "sha512"),
        None => {
            !reference.is_empty()
                && reference
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        }
    }
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

/// Where an image is pulled from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registry<'s> {
    /// Docker Hub: no host written, or `docker.io` or `index.docker.io` written in lowercase.
    DockerHub,
    /// Any other host, with its port, as written. Host names are case-insensitive.
    Host(&'s str),
}

/// A reference split into its parts, borrowed from the text, with what the runtime adds
/// to it (the `library/` of official images, the `latest` tag) kept as facts rather than
/// written out: parsing allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts<'s> {
    pub registry: Registry<'s>,
    /// A single path component on Docker Hub, which the runtime reads as `library/NAME`.
    pub official: bool,
    /// No registry host written (`nginx`, `cilium/cilium`): a short name, which containerd
    /// pulls from Docker Hub and CRI-O resolves through its aliases and search registries.
    pub short_name: bool,
    /// The repository path as written, without that `library/`.
    pub path: &'s str,
    /// The tag as written.
    pub tag: Option<&'s str>,
    pub digest: Option<&'s str>,
}

impl<'s> Parts<'s> {
    /// The tag the runtime pulls: the one written, or `latest` when neither tag nor digest
    /// is written.
    pub fn effective_tag(&self) -> Option<&'s str> {
        match (self.tag, self.digest) {
            (None, None) => Some(DEFAULT_TAG),
            (tag, _) => tag,
        }
    }

    /// The repository's path segments, `library` first for an official image.
    pub fn segments(&self) -> impl DoubleEndedIterator<Item = &'s str> {
        path_segments(self.official, self.path)
    }

    /// The registry host as matching compares it ([`host_key`]); `None` for Docker Hub.
    pub fn host(&self) -> Option<Cow<'s, str>> {
        match self.registry {
            Registry::DockerHub => None,
            Registry::Host(host) => Some(host_key(host)),
        }
    }

    /// The registry as the runtime names it: `docker.io` for Docker Hub, other hosts as
    /// matching compares them, except one that differs from Docker Hub's only in case, kept
    /// as written (lowercased, it would read as Docker Hub, which it is not to the runtime).
    pub fn registry_name(&self) -> Cow<'s, str> {
        match self.registry {
            Registry::DockerHub => DOCKER_HUB.into(),
            Registry::Host(host) if is_docker_hub_in_other_case(host) => host.into(),
            Registry::Host(host) => host_key(host),
        }
    }

    /// The repository as the runtime names it: `library/nginx` for `nginx`.
    pub fn repository_name(&self) -> std::borrow::Cow<'s, str> {
        if self.official {
            format!("{DOCKER_HUB_OFFICIAL_NAMESPACE}/{}", self.path).into()
        } else {
            self.path.into()
        }
    }
}

/// The one normalisation of a registry host, which image references and `exempt_images`
/// entries both go through before they are compared: lowercase, as host names are
/// case-insensitive (the Docker Hub rewriting, which applies to the lowercase host only,
/// has happened in [`parse`] already). Borrowed unless the host has an uppercase letter.
pub fn host_key(host: &str) -> Cow<'_, str> {
    if host.bytes().any(|c| c.is_ascii_uppercase()) {
        Cow::Owned(host.to_ascii_lowercase())
    } else {
        Cow::Borrowed(host)
    }
}

/// Whether `host`, as written, has the [`host_key`] `key`, without allocating.
pub fn has_host_key(host: &str, key: &str) -> bool {
    host.eq_ignore_ascii_case(key)
}

/// The path segments of a repository written as `path`, `library` first for an official
/// image, as the runtime reads them.
pub fn path_segments(official: bool, path: &str) -> impl DoubleEndedIterator<Item = &str> {
    let official = official.then_some(DOCKER_HUB_OFFICIAL_NAMESPACE);
    official.into_iter().chain(ascii::split(path, b'/'))
}

/// Where `part`, a slice of `whole`, lies in it.
pub fn span_in(whole: &str, part: &str) -> std::ops::Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

/// `Docker.io` and the like: a host that is Docker Hub's but for case.
fn is_docker_hub_in_other_case(host: &str) -> bool {
    (host.eq_ignore_ascii_case(DOCKER_HUB) || host.eq_ignore_ascii_case(DOCKER_HUB_LEGACY))
        && host != DOCKER_HUB
        && host != DOCKER_HUB_LEGACY
}

/// Where the separators that end the name lie, found in one scan: the first `@` starts
/// the digest, and a `:` after the last `/` before it starts the tag (one before a `/` is
/// a registry port).
struct Separators {
    at_sign: Option<usize>,
    tag_colon: Option<usize>,
}

/// The first component of a reference and the slash after it, if that component names a
/// registry: it has a dot or a port, or is `localhost`, as `splitDockerDomain` decides
/// (the uppercase case the module doc marks aside). Reads only up to the first `/` (or the
/// `@` of a digest, before which no slash means no registry).
fn registry_component(reference: &str) -> Option<(&str, usize)> {
    let mut host_like = false;
    for (at, byte) in reference.bytes().enumerate() {
        match byte {
            b'/' => {
                let first = reference.get(..at)?;
                return (host_like || first == "localhost").then_some((first, at));
            }
            b'@' => return None,
            b'.' | b':' => host_like = true,
            _ => {}
        }
    }
    None
}

impl Separators {
    fn find(reference: &str) -> Self {
        let mut found = Separators {
            at_sign: None,
            tag_colon: None,
        };
        for (at, byte) in reference.bytes().enumerate() {
            match byte {
                b'@' => {
                    found.at_sign = Some(at);
                    break;
                }
                b'/' => found.tag_colon = None,
                b':' => {
                    found.tag_colon.get_or_insert(at);
                }
                _ => {}
            }
        }
        found
    }
}

/// Parses `reference` as `[registry/]path[:tag][@digest]`.
///
/// One scan finds where the name ends; each part is then checked once. This runs for every
/// `exempt_images` entry and every distinct image of a pod on the host network, on every
/// such request, so it avoids the repeated searches of `split_once` and friends.
pub fn parse(reference: &str, wildcards: Wildcards) -> Result<Parts<'_>, GrammarError> {
    if reference.is_empty() {
        return Err(GrammarError::Empty);
    }
    if reference.len() > MAX_REFERENCE_LEN {
        return Err(GrammarError::TooLong);
    }
    let separators = Separators::find(reference);
    let name_end = separators.at_sign.unwrap_or(reference.len());
    let digest = match separators.at_sign {
        Some(at) => Some(check_digest(reference.get(at + 1..).unwrap_or_default())?),
        None => None,
    };
    let (name, tag) = match separators.tag_colon {
        Some(colon) => {
            let name = reference.get(..colon).ok_or(GrammarError::InvalidName)?;
            let tag = reference
                .get(colon + 1..name_end)
                .ok_or(GrammarError::InvalidTag)?;
            (name, Some(check_tag(tag, wildcards)?))
        }
        None => (
            reference.get(..name_end).ok_or(GrammarError::InvalidName)?,
            None,
        ),
    };
    let (registry, short_name, path) = split_registry(name, wildcards)?;
    let official = registry == Registry::DockerHub && !ascii::contains(path, b'/');
    let repository_len = path.len()
        + if official {
            DOCKER_HUB_OFFICIAL_NAMESPACE.len() + 1
        } else {
            0
        };
    if repository_len > MAX_REPOSITORY_LEN {
        return Err(GrammarError::NameTooLong);
    }
    Ok(Parts {
        registry,
        official,
        short_name,
        path,
        tag,
        digest,
    })
}

/// The registry `reference` names, decided as [`parse`] decides it but without checking
/// anything: for a reference that parses, the same registry [`parse`] gives.
pub fn registry_of(reference: &str) -> Registry<'_> {
    match registry_component(reference) {
        Some((first, _)) if first != DOCKER_HUB && first != DOCKER_HUB_LEGACY => {
            Registry::Host(first)
        }
        _ => Registry::DockerHub,
    }
}

/// Splits the name into registry and repository path, and says whether no registry was
/// written.
///
/// The first component is a registry when it looks like a host (has a dot or a port, or
/// is `localhost`), and then it must be a valid host; otherwise the image is on Docker Hub,
/// and a single component is an official image under `library/`.
///
/// The Docker Hub rewriting (`index.docker.io` to `docker.io`, a single component to
/// `library/…`) applies to the host exactly as `splitDockerDomain` compares it, in
/// lowercase: the runtime pulls `Docker.io/nginx` from the host `Docker.io` and the
/// repository `nginx`, which is not the official `library/nginx`.
fn split_registry(
    name: &str,
    wildcards: Wildcards,
) -> Result<(Registry<'_>, bool, &str), GrammarError> {
    let (registry, short_name, path) = match registry_component(name) {
        Some((first, slash)) => {
            if first.len() > MAX_HOST_LEN {
                return Err(GrammarError::HostTooLong);
            }
            // A dot or a port makes it the registry, and then it must be a `domain`: one
            // that is only a path component (`a_b.gcr.io`) is refused (see the module doc).
            if !is_host(first, wildcards) {
                return Err(GrammarError::InvalidHost);
            }
            let rest = name.get(slash + 1..).unwrap_or_default();
            if first == DOCKER_HUB || first == DOCKER_HUB_LEGACY {
                (Registry::DockerHub, false, rest)
            } else {
                (Registry::Host(first), false, rest)
            }
        }
        _ => (Registry::DockerHub, true, name),
    };
    if !is_path(path, wildcards) {
        return Err(GrammarError::InvalidName);
    }
    Ok((registry, short_name, path))
}

/// Splits `host[:port]` at the port's colon. An IPv6 host is bracketed, and the colons
/// inside its brackets are part of the address.
pub fn split_port(registry: &str) -> (&str, Option<&str>) {
    let after_host = if registry.starts_with('[') {
        ascii::find(registry, b']').map_or(registry.len(), |at| at + 1)
    } else {
        ascii::find(registry, b':').unwrap_or(registry.len())
    };
    match (registry.get(..after_host), registry.get(after_host..)) {
        (Some(host), Some(rest)) if !rest.is_empty() => match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            // Text after an IPv6 address that is no port: the caller refuses the host.
            None => (registry, None),
        },
        _ => (registry, None),
    }
}

/// `domain`: `host(:port)?`, where the host is `domain-component(.domain-component)*`
/// (letters, digits and inner dashes) or an IPv6 address in brackets.
fn is_host(host: &str, wildcards: Wildcards) -> bool {
    let (labels, port) = split_port(host);
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    if let Some(address) = labels
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
    {
        // No wildcards in an address: an entry names one IPv6 registry exactly.
        return port_ok
            && !address.is_empty()
            && address.bytes().all(|c| c.is_ascii_hexdigit() || c == b':');
    }
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
    port_ok && ascii::split(labels, b'.').all(label_ok)
}

/// Path components separated by `/`, each `[a-z0-9]+` runs joined by one separator each:
/// `.`, `_`, `__`, or any run of `-`. Checked in one pass over the whole path.
fn is_path(path: &str, wildcards: Wildcards) -> bool {
    let bytes = path.as_bytes();
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
        // A separator within the component, the start of the next component, or the end.
        match bytes.get(i) {
            None => return true,
            Some(b'/' | b'.') => i += 1,
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
    let (algorithm, hex) = ascii::split_once(digest, b':').ok_or(GrammarError::InvalidDigest)?;
    let algorithm_ok = algorithm
        .as_bytes()
        .split(|c| matches!(c, b'-' | b'_' | b'+' | b'.'))
        .all(|part| {
            part.first().is_some_and(u8::is_ascii_alphabetic)
                && part.iter().all(u8::is_ascii_alphanumeric)
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
    if hex.len() != expected {
        return Err(GrammarError::DigestLength);
    }
    // go-digest encodes these algorithms in lowercase hex and refuses anything else, so an
    // uppercase digest names no content: refused in images and entries alike.
    if hex.bytes().any(|c| c.is_ascii_uppercase()) {
        return Err(GrammarError::DigestCase);
    }
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::distribution::Reference;
    use proptest::prelude::*;
    use rstest::rstest;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// What `oci-spec` makes of a reference, with `distribution/reference`'s Docker Hub
    /// normalisation (on the host as written) and then the host lowercasing we add.
    fn oracle(reference: &str) -> Option<(String, String, Option<String>, Option<String>)> {
        let parsed = Reference::try_from(reference).ok()?;
        let mut registry = parsed.registry().to_owned();
        let mut repository = parsed.repository().to_owned();
        if registry == DOCKER_HUB_LEGACY {
            registry = DOCKER_HUB.to_owned();
        }
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        let hub_in_other_case = registry != DOCKER_HUB
            && (registry.eq_ignore_ascii_case(DOCKER_HUB)
                || registry.eq_ignore_ascii_case(DOCKER_HUB_LEGACY));
        if !hub_in_other_case {
            registry.make_ascii_lowercase();
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
            parts.registry_name().into_owned(),
            parts.repository_name().into_owned(),
            parts.effective_tag().map(str::to_owned),
            parts.digest.map(str::to_owned),
        ))
    }

    fn names(parts: &Parts<'_>) -> (String, String) {
        (
            parts.registry_name().into_owned(),
            parts.repository_name().into_owned(),
        )
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
    #[case("Docker.io/nginx")]
    #[case("Index.Docker.io/nginx")]
    #[case("[fd00::1]")]
    #[case("[fd00::1]:5000")]
    #[case("[fd00::1]x/agent")]
    #[case("[]/agent")]
    #[case("[::g]/agent")]
    #[case(&format!("a/{}", "b".repeat(253)))]
    #[case(&format!("a/{}", "b".repeat(254)))]
    #[case(&"b".repeat(248))]
    fn agrees_with_oci_spec(#[case] reference: &str) {
        assert_eq!(ours(reference), oracle(reference), "{reference:?}");
    }

    #[test]
    fn an_uppercase_first_component_without_a_dot_is_refused() {
        // distribution reads `Foo` as a domain (an uppercase namespace cannot be on Docker
        // Hub), and oci-spec as a Docker Hub path in uppercase. We refuse the reference,
        // which can only deny, never exempt.
        assert!(oracle("Foo/bar").is_some());
        assert_eq!(ours("Foo/bar"), None);
        assert_eq!(
            parse("Foo/bar", Wildcards::Allowed),
            Err(GrammarError::InvalidName)
        );
    }

    /// A first component with a `.` or `:` is the registry, and must be a domain: `_` is in
    /// no domain component, so these name no host an entry could vouch for. oci-spec reads
    /// the first three as hosts; with a port, the whole name fails its expression.
    #[rstest]
    #[case("a_b.gcr.io/google-containers/pause", true)]
    #[case("602401143452.dkr.ecr.a_b.amazonaws.com/amazon-k8s-cni:v1.18.0", true)]
    #[case("a__b.example.com/x", true)]
    #[case("registry_1:5000/x", false)]
    #[case("a_b.gcr.io:443/x", false)]
    fn a_registry_host_is_a_domain_as_distribution_defines_it(
        #[case] reference: &str,
        #[case] read_by_oci_spec: bool,
    ) {
        assert_eq!(oracle(reference).is_some(), read_by_oci_spec, "{reference}");
        assert_eq!(
            parse(reference, Wildcards::Refused),
            Err(GrammarError::InvalidHost)
        );
        assert_eq!(
            parse(reference, Wildcards::Allowed),
            Err(GrammarError::InvalidHost)
        );
    }

    #[rstest]
    #[case("a-b.gcr.io/x", "a-b.gcr.io")]
    #[case("A-B.Example.COM:5000/x", "a-b.example.com:5000")]
    #[case("1.2.3.4/x", "1.2.3.4")]
    #[case("a--b.example.com/x", "a--b.example.com")]
    #[case("localhost/x", "localhost")]
    fn domains_of_every_valid_shape_are_hosts(#[case] reference: &str, #[case] registry: &str) {
        let parts = parse(reference, Wildcards::Refused).unwrap();
        assert_eq!(parts.registry_name(), registry);
    }

    #[rstest]
    #[case("-a.example.com/x")]
    #[case("a-.example.com/x")]
    #[case("a..example.com/x")]
    #[case(".example.com/x")]
    #[case("example.com./x")]
    #[case("example.com:/x")]
    #[case("example.com:8a/x")]
    fn hosts_outside_the_domain_grammar_are_refused(#[case] reference: &str) {
        assert!(parse(reference, Wildcards::Refused).is_err(), "{reference}");
        assert!(parse(reference, Wildcards::Allowed).is_err(), "{reference}");
    }

    #[test]
    fn uppercase_digests_are_refused_as_go_digest_refuses_them() {
        let upper = DIGEST.to_ascii_uppercase().replace("SHA256", "sha256");
        assert_eq!(
            parse(&format!("nginx@{upper}"), Wildcards::Refused),
            Err(GrammarError::DigestCase)
        );
        assert_eq!(
            parse(&format!("nginx@{upper}"), Wildcards::Allowed),
            Err(GrammarError::DigestCase)
        );
        assert!(parse(&format!("nginx@{DIGEST}"), Wildcards::Refused).is_ok());
    }

    #[test]
    fn ipv6_registries_are_hosts_as_distribution_has_them() {
        // oci-spec's expression predates IPv6 hosts and refuses these; distribution/reference
        // (and so the runtime) reads a bracketed address as the registry.
        for (reference, registry, repository) in [
            (
                "[fd00::1]:5000/platform/agent",
                "[fd00::1]:5000",
                "platform/agent",
            ),
            ("[FD00::1]/agent:v1", "[fd00::1]", "agent"),
        ] {
            assert_eq!(oracle(reference), None, "{reference}");
            let parts = parse(reference, Wildcards::Refused).unwrap();
            assert_eq!(names(&parts), (registry.to_owned(), repository.to_owned()));
        }
        for invalid in [
            "[fd00::1]x/agent",
            "[]/agent",
            "[::g]/agent",
            "[fd00::1]:/agent",
        ] {
            assert!(parse(invalid, Wildcards::Allowed).is_err(), "{invalid}");
        }
    }

    #[test]
    fn docker_hub_is_recognised_only_in_lowercase() {
        let parts = parse("Docker.io/nginx", Wildcards::Refused).unwrap();
        assert_eq!(parts.registry, Registry::Host("Docker.io"));
        assert_eq!(names(&parts), ("Docker.io".to_owned(), "nginx".to_owned()));
        let parts = parse("DOCKER.IO/library/nginx", Wildcards::Refused).unwrap();
        assert_eq!(parts.registry, Registry::Host("DOCKER.IO"));
        let parts = parse("index.docker.io/nginx", Wildcards::Refused).unwrap();
        assert_eq!(parts.registry, Registry::DockerHub);
        assert_eq!(
            names(&parts),
            ("docker.io".to_owned(), "library/nginx".to_owned())
        );
    }

    #[rstest]
    #[case("nginx", true)]
    #[case("nginx:1.27", true)]
    #[case("library/nginx", true)]
    #[case("cilium/cilium:v1.15.1", true)]
    #[case("docker.io/library/nginx", false)]
    #[case("docker.io/nginx", false)]
    #[case("index.docker.io/nginx", false)]
    #[case("quay.io/cilium/cilium", false)]
    #[case("localhost/app", false)]
    #[case("localhost:5000/app", false)]
    fn a_short_name_is_one_written_without_a_registry_host(
        #[case] reference: &str,
        #[case] short_name: bool,
    ) {
        let parts = parse(reference, Wildcards::Refused).unwrap();
        assert_eq!(parts.short_name, short_name, "{reference}");
    }

    #[test]
    fn nothing_longer_than_the_longest_valid_reference_is_read() {
        let longest = format!(
            "{}.io/{}:{}@sha512:{}",
            "h".repeat(MAX_HOST_LEN - 3),
            "r".repeat(MAX_REPOSITORY_LEN),
            "t".repeat(MAX_TAG_LEN),
            "0".repeat(128)
        );
        assert_eq!(longest.len(), MAX_REFERENCE_LEN);
        assert!(parse(&longest, Wildcards::Refused).is_ok());
        let longer = format!("{longest}0");
        assert_eq!(
            parse(&longer, Wildcards::Refused),
            Err(GrammarError::TooLong)
        );
    }

    #[test]
    fn a_registry_host_is_at_most_255_characters() {
        let host = format!("{}.example.com", "a".repeat(MAX_HOST_LEN));
        assert_eq!(
            parse(&format!("{host}/agent"), Wildcards::Refused),
            Err(GrammarError::HostTooLong)
        );
    }

    #[test]
    fn a_repository_name_is_at_most_255_characters() {
        let at_limit = format!("registry.example.com/{}", "a".repeat(MAX_REPOSITORY_LEN));
        assert!(parse(&at_limit, Wildcards::Refused).is_ok());
        let over = format!(
            "registry.example.com/{}",
            "a".repeat(MAX_REPOSITORY_LEN + 1)
        );
        assert_eq!(
            parse(&over, Wildcards::Refused),
            Err(GrammarError::NameTooLong)
        );
        // On Docker Hub the `library/` the runtime adds counts, as distribution counts it.
        let official = "a".repeat(MAX_REPOSITORY_LEN - "library/".len() + 1);
        assert_eq!(
            parse(&official, Wildcards::Allowed),
            Err(GrammarError::NameTooLong)
        );
    }

    #[test]
    fn wildcards_stand_where_letters_can() {
        let parts = parse("*.gcr.io/team-*/**:v1.*", Wildcards::Allowed).unwrap();
        assert_eq!(parts.registry, Registry::Host("*.gcr.io"));
        assert_eq!(parts.path, "team-*/**");
        assert_eq!(parts.tag, Some("v1.*"));
        assert!(parse("team-*/x", Wildcards::Refused).is_err());
    }

    /// Both parsers agree, except where the module doc marks that we refuse what oci-spec
    /// reads: an uppercase Docker Hub path, and a registry that is not a domain.
    fn agrees(reference: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let ours = ours(reference);
        let oracle = oracle(reference);
        if let (None, Some((registry, repository, _, _))) = (&ours, &oracle) {
            let host = registry.split(':').next().unwrap_or_default();
            prop_assert!(
                repository.chars().any(|c| c.is_ascii_uppercase()) || host.contains('_'),
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
