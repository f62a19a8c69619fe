//! `*` wildcards over one string: the matcher behind namespace entries, and behind each
//! segment and tag of an image entry (the image side splits on `/` first, so a star there
//! can never cross a path boundary).
//!
//! Written by hand because the only wildcard we support is `*`; a glob crate would bring
//! `?`, classes and escapes that users could write by accident, plus code size in the wasm.

use std::fmt;

/// A pattern in which `*` matches any run of characters, including none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    /// The pattern as written: `*` never appears inside a piece.
    source: String,
    /// The literal text between stars. `["monitoring-", ""]` for `monitoring-*`.
    pieces: Vec<String>,
}

impl Glob {
    /// Compiles a pattern. Every string is a valid glob; callers decide which are sensible.
    pub fn new(pattern: &str) -> Self {
        Glob {
            source: pattern.to_owned(),
            pieces: pattern.split('*').map(str::to_owned).collect(),
        }
    }

    /// Whether the pattern has no star, so it matches exactly one string.
    pub fn is_literal(&self) -> bool {
        self.pieces.len() == 1
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Total length of the literal pieces: the shortest string the glob can match.
    pub fn literal_len(&self) -> usize {
        self.pieces.iter().map(String::len).sum()
    }

    /// Whether the glob matches the whole of `text`.
    ///
    /// Star-only globs need no backtracking: anchoring the first and last pieces and
    /// taking the leftmost occurrence of each middle piece finds a match whenever one
    /// exists, in time linear in the text for each piece.
    pub fn matches(&self, text: &str) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else {
            return text.is_empty();
        };
        let Some((last, middle)) = rest.split_last() else {
            // No star: the single piece is the whole pattern.
            return first == text;
        };
        if text.len() < self.literal_len() || !text.starts_with(first.as_str()) {
            return false;
        }
        let Some(mut remaining) = text.get(first.len()..) else {
            return false;
        };
        for piece in middle {
            match remaining.find(piece.as_str()) {
                Some(at) => match remaining.get(at + piece.len()..) {
                    Some(after) => remaining = after,
                    None => return false,
                },
                None => return false,
            }
        }
        remaining.ends_with(last.as_str())
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;
    use rstest::rstest;

    #[rstest]
    #[case::exact("kube-system", "kube-system", true)]
    #[case::exact_is_not_prefix("kube-system", "kube-system-evil", false)]
    #[case::exact_is_not_suffix("system", "kube-system", false)]
    #[case::trailing_star("monitoring-*", "monitoring-prod", true)]
    #[case::trailing_star_needs_its_literal("monitoring-*", "monitoring", false)]
    #[case::trailing_star_matches_empty("monitoring-*", "monitoring-", true)]
    #[case::leading_star("*-system", "kube-system", true)]
    #[case::middle_star("team-*-prod", "team-a-prod", true)]
    #[case::middle_star_anchors_both_ends("team-*-prod", "team-a-prod-2", false)]
    #[case::overlapping_pieces("a*ab", "aab", true)]
    #[case::overlap_not_double_counted("ab*ba", "aba", false)]
    #[case::two_stars("*a*", "bab", true)]
    #[case::star_alone("*", "", true)]
    fn matches(#[case] pattern: &str, #[case] text: &str, #[case] expected: bool) {
        assert_eq!(
            Glob::new(pattern).matches(text),
            expected,
            "{pattern} ~ {text}"
        );
    }

    #[test]
    fn literal_only_without_star() {
        assert!(Glob::new("nginx").is_literal());
        assert!(!Glob::new("ngin*").is_literal());
    }
}
