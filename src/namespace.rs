//! Namespace exemptions: exact names, or globs in which `*` matches any run of characters.

use std::borrow::Cow;

use crate::entries::{Entries, Entry, EntryError};
use crate::glob;

/// Kubernetes namespace names are RFC 1123 labels: at most 63 characters.
const MAX_NAMESPACE_LEN: usize = 63;

/// Why a namespace entry can never match a namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamespacePatternError {
    #[error("is empty")]
    Empty,
    #[error("matches every namespace; list the namespaces to exempt instead")]
    MatchesEverything,
    #[error("contains {0:?}; namespace names are lowercase letters, digits and '-' (and '*' here as a wildcard)")]
    InvalidCharacter(char),
    #[error("is longer than the {MAX_NAMESPACE_LEN} characters a namespace name can have")]
    TooLong,
    #[error("starts or ends with '-', which no namespace name does")]
    DashAtEdge,
}

/// One entry of `exempt_namespaces`, checked so that it can match some valid namespace,
/// borrowed from the settings where it can be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespacePattern<'s>(Cow<'s, str>);

impl<'s> NamespacePattern<'s> {
    /// Checks an entry.
    pub fn new(entry: Cow<'s, str>) -> Result<Self, NamespacePatternError> {
        if entry.is_empty() {
            return Err(NamespacePatternError::Empty);
        }
        if entry.chars().all(|c| c == '*') {
            return Err(NamespacePatternError::MatchesEverything);
        }
        if let Some(bad) = entry
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '*'))
        {
            return Err(NamespacePatternError::InvalidCharacter(bad));
        }
        if glob::literal_len(&entry) > MAX_NAMESPACE_LEN {
            return Err(NamespacePatternError::TooLong);
        }
        // Nothing can stand before a leading dash or after a trailing one, star or not.
        if entry.starts_with('-') || entry.ends_with('-') {
            return Err(NamespacePatternError::DashAtEdge);
        }
        Ok(NamespacePattern(entry))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for NamespacePattern<'static> {
    type Err = NamespacePatternError;

    fn from_str(entry: &str) -> Result<Self, Self::Err> {
        NamespacePattern::new(Cow::Owned(entry.to_owned()))
    }
}

impl<'s> Entry<'s> for NamespacePattern<'s> {
    fn check(text: Cow<'s, str>) -> Result<Self, String> {
        NamespacePattern::new(text).map_err(|e| e.to_string())
    }
}

/// All namespace entries, tried in order. A scan, not a hash set: the list is short, and
/// std's hashing asks the host for random bytes in every fresh instance.
#[derive(Debug, Clone)]
pub struct NamespaceExemptions<'s> {
    entries: Entries<'s, NamespacePattern<'s>>,
}

impl<'s> NamespaceExemptions<'s> {
    pub fn new(entries: Entries<'s, NamespacePattern<'s>>) -> Self {
        NamespaceExemptions { entries }
    }

    pub fn entries(&self) -> &Entries<'s, NamespacePattern<'s>> {
        &self.entries
    }

    /// The first entry that exempts `namespace`, if any, or the error of the entry that
    /// would. The empty namespace (a cluster-scoped object) is never exempt: no valid entry
    /// can match it.
    ///
    /// An entry's text is matched as written first, which is what a checked entry does
    /// (checking changes nothing in it), so only the entry that matches is checked.
    pub fn find(&self, namespace: &str) -> Result<Option<&str>, EntryError> {
        if namespace.is_empty() {
            return Ok(None);
        }
        for (index, text) in self.entries.texts() {
            if glob::matches(text, namespace) {
                if let Some(checked) = self.entries.checked(index) {
                    return checked.map(|pattern| Some(pattern.as_str()));
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn exemptions(entries: &[&str]) -> NamespaceExemptions<'static> {
        NamespaceExemptions::new(Entries::of("exempt_namespaces", entries))
    }

    #[rstest]
    #[case::exact_name("kube-system", "kube-system", true)]
    #[case::exact_name_is_not_a_prefix_match("kube-system", "kube-system-evil", false)]
    #[case::exact_name_is_case_sensitive_input("kube-system", "Kube-System", false)]
    #[case::glob_suffix("monitoring-*", "monitoring-prod", true)]
    #[case::glob_needs_the_dash("monitoring-*", "monitoring", false)]
    #[case::glob_is_anchored_at_the_start("monitoring-*", "evil-monitoring-prod", false)]
    #[case::glob_prefix("*-system", "calico-system", true)]
    fn entry_matching(#[case] entry: &str, #[case] namespace: &str, #[case] exempt: bool) {
        assert_eq!(
            exemptions(&[entry]).find(namespace).unwrap().is_some(),
            exempt
        );
    }

    #[test]
    fn cluster_scoped_objects_are_never_namespace_exempt() {
        assert_eq!(exemptions(&["*-system", "default"]).find(""), Ok(None));
    }

    #[test]
    fn find_names_the_entry_that_matched() {
        assert_eq!(
            exemptions(&["default", "team-*"]).find("team-a"),
            Ok(Some("team-*"))
        );
    }

    /// Only the entry that would exempt the namespace is checked; if it is refused, the
    /// namespace is not exempt by it, and the error says which entry it is.
    #[test]
    fn only_the_matching_entry_is_checked() {
        let ex = exemptions(&["Bad-Entry", "team-*", "team-a*"]);
        assert_eq!(ex.find("team-a"), Ok(Some("team-*")));
        let refused = exemptions(&["team-*", "Team-*"]);
        assert_eq!(refused.find("other"), Ok(None));
        let matching_but_refused = exemptions(&["team-", "team-*"]);
        let error = matching_but_refused.find("team-").unwrap_err();
        assert_eq!((error.index, error.entry.as_str()), (0, "team-"));
    }

    #[rstest]
    #[case::empty("", NamespacePatternError::Empty)]
    #[case::bare_star("*", NamespacePatternError::MatchesEverything)]
    #[case::double_star("**", NamespacePatternError::MatchesEverything)]
    #[case::uppercase("Kube-System", NamespacePatternError::InvalidCharacter('K'))]
    #[case::dot("kube.system", NamespacePatternError::InvalidCharacter('.'))]
    #[case::slash("kube/system", NamespacePatternError::InvalidCharacter('/'))]
    #[case::space(" kube-system", NamespacePatternError::InvalidCharacter(' '))]
    #[case::too_long(&"a".repeat(64), NamespacePatternError::TooLong)]
    #[case::leading_dash("-system", NamespacePatternError::DashAtEdge)]
    #[case::trailing_dash("kube-", NamespacePatternError::DashAtEdge)]
    fn entries_that_can_never_match_are_refused(
        #[case] entry: &str,
        #[case] error: NamespacePatternError,
    ) {
        assert_eq!(entry.parse::<NamespacePattern>(), Err(error));
    }

    #[rstest]
    #[case("a".repeat(63))]
    #[case("team-*".to_owned())]
    #[case("*-system".to_owned())]
    fn valid_entries_parse(#[case] entry: String) {
        assert!(entry.parse::<NamespacePattern>().is_ok());
    }
}
