//! The settings as administrators write them: two lists of entries, and how images written
//! without a registry host are read.
//!
//! `validate_settings` reads them and checks every entry, and refuses the settings if any
//! entry is refused; policy-server serves no settings it refused. A request reads them
//! only when a pod spec uses the host network, and checks an entry only where a decision
//! could rest on it ([`crate::entries`]).

use std::borrow::Cow;
use std::cell::OnceCell;

use serde::{Deserialize, Deserializer};

use crate::entries::{Entries, EntryError};
use crate::image::{ImageExemptions, ShortNames};
use crate::limits::MAX_ENTRIES;
use crate::namespace::NamespaceExemptions;

pub const EXEMPT_NAMESPACES: &str = "exempt_namespaces";
pub const EXEMPT_IMAGES: &str = "exempt_images";
pub const SHORT_NAMES: &str = "short_names";
/// The values of `short_names`, as written.
pub const SHORT_NAMES_DOCKER_HUB: &str = "docker-hub";
pub const SHORT_NAMES_NOT_EXEMPT: &str = "not-exempt";

/// The settings document, its entries borrowed from the settings bytes unless they have
/// escapes. Unknown keys are refused: a typo such as `exempt_namespace` must not silently
/// exempt nothing.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings<'s> {
    #[serde(default, borrow, deserialize_with = "null_as_empty")]
    exempt_namespaces: Vec<Cow<'s, str>>,
    #[serde(default, borrow, deserialize_with = "null_as_empty")]
    exempt_images: Vec<Cow<'s, str>>,
    #[serde(default, deserialize_with = "short_names")]
    short_names: ShortNames,
}

/// `short_names`: `docker-hub` (also for `null`, as Helm values write an emptied field) or
/// `not-exempt`; anything else is refused, with both values named.
fn short_names<'de, D: Deserializer<'de>>(deserializer: D) -> Result<ShortNames, D::Error> {
    struct Value;
    impl<'de> serde::de::Visitor<'de> for Value {
        type Value = ShortNames;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "\"{SHORT_NAMES_DOCKER_HUB}\" (the default) or \"{SHORT_NAMES_NOT_EXEMPT}\""
            )
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<ShortNames, E> {
            match value {
                SHORT_NAMES_DOCKER_HUB => Ok(ShortNames::DockerHub),
                SHORT_NAMES_NOT_EXEMPT => Ok(ShortNames::NotExempt),
                other => Err(E::invalid_value(serde::de::Unexpected::Str(other), &self)),
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<ShortNames, E> {
            Ok(ShortNames::DockerHub)
        }
    }
    deserializer.deserialize_any(Value)
}

/// Helm values and Rancher forms write an emptied list as `null`; it means "no entries".
fn null_as_empty<'de: 's, 's, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Cow<'s, str>>, D::Error> {
    #[derive(Deserialize)]
    struct Entries<'s>(#[serde(borrow)] Vec<Cow<'s, str>>);
    Ok(Option::<Entries>::deserialize(deserializer)?.map_or_else(Vec::new, |e| e.0))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The document is not an object of two string lists; the text names the key.
    #[error("{0}")]
    Malformed(String),
    /// Every entry that was refused, so one round trip fixes them all.
    #[error("{}", describe_entry_errors(.0))]
    Entries(Vec<EntryError>),
    /// A list longer than [`MAX_ENTRIES`].
    #[error("{key} has {count} entries; at most {MAX_ENTRIES} are allowed, which bounds the work of every request")]
    TooManyEntries { key: &'static str, count: usize },
}

impl From<EntryError> for SettingsError {
    fn from(error: EntryError) -> Self {
        SettingsError::Entries(vec![error])
    }
}

/// What the settings exempt: the two lists, their entries checked when first used.
#[derive(Debug, Clone)]
pub struct Exemptions<'s> {
    pub namespaces: NamespaceExemptions<'s>,
    pub images: ImageExemptions<'s>,
}

impl<'s> Exemptions<'s> {
    /// Reads the settings JSON without checking the entries: an object of two lists of
    /// strings, each at most [`MAX_ENTRIES`] long. `null` and `{}` mean no exemptions.
    pub fn unchecked(settings: &'s [u8]) -> Result<Self, SettingsError> {
        let raw: RawSettings = match serde_json::from_slice::<Option<RawSettings>>(settings) {
            Ok(raw) => raw.unwrap_or_default(),
            // Read again, tracking the path, only to say where the document is wrong.
            Err(_) => return Err(SettingsError::Malformed(describe_malformed(settings))),
        };
        for (key, count) in [
            (EXEMPT_NAMESPACES, raw.exempt_namespaces.len()),
            (EXEMPT_IMAGES, raw.exempt_images.len()),
        ] {
            if count > MAX_ENTRIES {
                return Err(SettingsError::TooManyEntries { key, count });
            }
        }
        Ok(Exemptions {
            namespaces: NamespaceExemptions::new(Entries::new(
                EXEMPT_NAMESPACES,
                raw.exempt_namespaces,
            )),
            images: ImageExemptions::new(
                Entries::new(EXEMPT_IMAGES, raw.exempt_images),
                raw.short_names,
            ),
        })
    }

    /// Reads the settings and checks every entry: what `validate_settings` accepts.
    pub fn checked(settings: &'s [u8]) -> Result<Self, SettingsError> {
        let exemptions = Self::unchecked(settings)?;
        let mut errors = exemptions.namespaces.entries().check_all();
        errors.extend(exemptions.images.entries().check_all());
        if errors.is_empty() {
            Ok(exemptions)
        } else {
            Err(SettingsError::Entries(errors))
        }
    }
}

/// The settings of one request, read the first time they are consulted.
///
/// Most requests (no pod spec on the host network) never need the settings: they are not
/// even parsed then. When they are needed and cannot be read, the request is rejected.
pub struct LazyExemptions<'s> {
    raw: &'s [u8],
    read: OnceCell<Result<Exemptions<'s>, SettingsError>>,
}

/// All refused entries, each with its key, index and text.
fn describe_entry_errors(errors: &[EntryError]) -> String {
    let described: Vec<String> = errors
        .iter()
        .map(|e| format!("{}[{}] \"{}\" {}", e.key, e.index, e.entry, e.problem))
        .collect();
    described.join("; ")
}

/// The message for a settings document that is not an object of two string lists, with
/// the path of the offending value (cold path: the document is read a second time).
fn describe_malformed(settings: &[u8]) -> String {
    let mut deserializer = serde_json::Deserializer::from_slice(settings);
    match serde_path_to_error::deserialize::<_, Option<RawSettings>>(&mut deserializer) {
        Err(e) => {
            let path = e.path().to_string();
            if path.is_empty() || path == "." {
                format!("settings: {}", e.inner())
            } else {
                format!("{path}: {}", e.inner())
            }
        }
        Ok(_) => match deserializer.end() {
            // Text after the settings document.
            Err(e) => format!("settings: {e}"),
            Ok(()) => "settings: the document could not be read".to_owned(),
        },
    }
}

impl<'s> LazyExemptions<'s> {
    pub fn new(raw: &'s [u8]) -> Self {
        LazyExemptions {
            raw,
            read: OnceCell::new(),
        }
    }

    /// The settings, or why they cannot be read.
    pub fn get(&self) -> Result<&Exemptions<'s>, &SettingsError> {
        self.read
            .get_or_init(|| Exemptions::unchecked(self.raw))
            .as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn error(settings: &str) -> String {
        Exemptions::checked(settings.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[rstest]
    #[case::empty_object("{}")]
    #[case::null("null")]
    #[case::null_lists(r#"{"exempt_namespaces": null, "exempt_images": null}"#)]
    #[case::empty_lists(r#"{"exempt_namespaces": [], "exempt_images": []}"#)]
    fn no_exemptions(#[case] settings: &str) {
        let ex = Exemptions::checked(settings.as_bytes()).unwrap();
        assert!(ex.images.is_empty());
        assert_eq!(ex.namespaces.find("kube-system"), Ok(None));
    }

    #[test]
    fn valid_settings_compile() {
        let ex = Exemptions::checked(
            br#"{"exempt_namespaces": ["kube-system", "monitoring-*"],
                 "exempt_images": ["registry.k8s.io/kube-proxy", "quay.io/cilium/*"]}"#,
        )
        .unwrap();
        assert_eq!(
            ex.namespaces.find("monitoring-prod"),
            Ok(Some("monitoring-*"))
        );
        assert_eq!(
            ex.images.verdict(b"quay.io/cilium/cilium:v1.15"),
            Ok(crate::image::ImageVerdict::Exempt {
                index: 1,
                entry: "quay.io/cilium/*"
            })
        );
    }

    #[rstest]
    #[case::absent("", true)]
    #[case::null(r#", "short_names": null"#, true)]
    #[case::docker_hub(r#", "short_names": "docker-hub""#, true)]
    #[case::not_exempt(r#", "short_names": "not-exempt""#, false)]
    fn short_names_read_as_one_of_two_values(#[case] short_names: &str, #[case] exempt: bool) {
        let settings = format!(r#"{{"exempt_images": ["nginx"]{short_names}}}"#);
        let ex = Exemptions::checked(settings.as_bytes()).unwrap();
        let verdict = ex.images.verdict(b"nginx:1.27");
        assert_eq!(
            matches!(
                verdict,
                Ok(crate::image::ImageVerdict::Exempt { index: 0, .. })
            ),
            exempt,
            "{settings}: {verdict:?}"
        );
    }

    #[rstest]
    #[case::other_word(r#"{"short_names": "crio"}"#, "string \"crio\"")]
    #[case::case(r#"{"short_names": "Not-Exempt"}"#, "string \"Not-Exempt\"")]
    #[case::boolean(r#"{"short_names": true}"#, "boolean `true`")]
    #[case::list(r#"{"short_names": ["not-exempt"]}"#, "sequence")]
    fn short_names_refuses_any_other_value_naming_both(#[case] settings: &str, #[case] got: &str) {
        let message = error(settings);
        assert!(message.starts_with("short_names: invalid "), "{message}");
        assert!(message.contains(got), "{message}");
        assert!(
            message.contains("expected \"docker-hub\" (the default) or \"not-exempt\""),
            "{message}"
        );
    }

    #[test]
    fn unknown_key_is_named() {
        let message = error(r#"{"exempt_namespace": ["kube-system"]}"#);
        assert!(message.contains("exempt_namespace`"), "{message}");
        assert!(message.contains("exempt_namespaces"), "{message}");
    }

    #[rstest]
    #[case::string_not_list(r#"{"exempt_images": "nginx"}"#, "exempt_images")]
    #[case::number_entry(r#"{"exempt_namespaces": ["a", 5]}"#, "exempt_namespaces[1]")]
    #[case::object_settings(r#"{"exempt_images": {"nginx": true}}"#, "exempt_images")]
    fn wrong_types_name_the_key(#[case] settings: &str, #[case] key: &str) {
        let message = error(settings);
        assert!(message.starts_with(key), "{message}");
    }

    #[test]
    fn not_an_object() {
        assert!(error(r#"["kube-system"]"#).contains("invalid type"));
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let message = error(r#"{"exempt_images": ["nginx"], "exempt_images": []}"#);
        assert!(message.contains("duplicate field"), "{message}");
    }

    #[rstest]
    #[case::empty_namespace(
        r#"{"exempt_namespaces": [""]}"#,
        r#"exempt_namespaces[0] "" is empty"#
    )]
    #[case::bare_star_namespace(
        r#"{"exempt_namespaces": ["*"]}"#,
        r#"exempt_namespaces[0] "*" matches every namespace"#
    )]
    #[case::uppercase_namespace(
        r#"{"exempt_namespaces": ["ok", "Kube-System"]}"#,
        r#"exempt_namespaces[1] "Kube-System" contains 'K'"#
    )]
    #[case::long_namespace(&format!(r#"{{"exempt_namespaces": ["{}"]}}"#, "a".repeat(64)), "longer than the 63")]
    #[case::empty_image(r#"{"exempt_images": [""]}"#, r#"exempt_images[0] "" is empty"#)]
    #[case::bare_star_image(
        r#"{"exempt_images": ["*"]}"#,
        r#"exempt_images[0] "*" matches every image"#
    )]
    #[case::bare_double_star_image(
        r#"{"exempt_images": ["**"]}"#,
        r#"exempt_images[0] "**" matches every image"#
    )]
    #[case::invalid_image(
        r#"{"exempt_images": ["nginx", "Nginx:latest"]}"#,
        r#"exempt_images[1] "Nginx:latest" is not a valid image reference or pattern"#
    )]
    fn refused_entries_are_named(#[case] settings: &str, #[case] expected: &str) {
        let message = error(settings);
        assert!(message.contains(expected), "{message}");
    }

    #[test]
    fn a_list_may_have_at_most_128_entries() {
        let entries = |n: usize| -> Vec<String> { (0..n).map(|i| format!("team-{i}")).collect() };
        let settings = |n| serde_json::json!({"exempt_namespaces": entries(n)}).to_string();
        assert!(Exemptions::checked(settings(MAX_ENTRIES).as_bytes()).is_ok());
        let message = error(&settings(MAX_ENTRIES + 1));
        assert_eq!(
            message,
            "exempt_namespaces has 129 entries; at most 128 are allowed, which bounds the work of every request"
        );
    }

    #[test]
    fn every_refused_entry_is_reported() {
        let message = error(r#"{"exempt_namespaces": ["*"], "exempt_images": ["", "ok", "**"]}"#);
        assert!(message.contains("exempt_namespaces[0]"), "{message}");
        assert!(message.contains("exempt_images[0]"), "{message}");
        assert!(message.contains("exempt_images[2]"), "{message}");
        assert!(!message.contains("exempt_images[1]"), "{message}");
    }
}
